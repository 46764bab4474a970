-- Hand-written first page on the baseline table (no position yet).
-- Variables (pgbench -D): ws
SELECT id, workspace_id, platform, type, version, actor_type, initiator_id,
       recipient_id, subject_type, subject_id, caused_by, metadata,
       occurred_at, recorded_at
FROM bench.plain_activities
WHERE workspace_id = :ws
ORDER BY occurred_at DESC, id DESC
LIMIT 50;
