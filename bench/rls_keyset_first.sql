-- bench/rls.sh: hand-written first page of a workspace feed on the log itself
-- (under the caller's policies), limit + 1 rows as page() reads.
-- Variables (pgbench -D): ws
SELECT * FROM activity.activities
WHERE workspace_id = :ws
ORDER BY occurred_at DESC, id DESC
LIMIT 51;
