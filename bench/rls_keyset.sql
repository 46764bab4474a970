-- bench/rls.sh: hand-written keyset page of a workspace feed on the log itself
-- (under the caller's policies), after a position, limit + 1 rows as page() reads.
-- Variables (pgbench -D): ws, ts, id (the position: activity.cursor_info() of the cursor)
SELECT * FROM activity.activities
WHERE workspace_id = :ws
  AND (occurred_at, id) < (:ts::timestamptz, :id::uuid)
ORDER BY occurred_at DESC, id DESC
LIMIT 51;
