-- OFFSET paging on the baseline table (the seed-002 limit/offset contract).
-- Variables (pgbench -D): ws, depth (rows to skip)
SELECT id, workspace_id, platform, type, version, actor_type, initiator_id,
       recipient_id, subject_type, subject_id, caused_by, metadata,
       occurred_at, recorded_at
FROM bench.plain_activities
WHERE workspace_id = :ws
ORDER BY occurred_at DESC, id DESC
OFFSET :depth::bigint
LIMIT 50;
