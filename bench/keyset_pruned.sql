-- Hand-written keyset page on the baseline table, with the redundant
-- "occurred_at <= ts" that lets the executor prune newer partitions.
-- Variables (pgbench -D): ws, ts, id (the position of the last row seen)
SELECT id, workspace_id, platform, type, version, actor_type, initiator_id,
       recipient_id, subject_type, subject_id, caused_by, metadata,
       occurred_at, recorded_at
FROM bench.plain_activities
WHERE workspace_id = :ws
  AND occurred_at <= :ts::timestamptz
  AND (occurred_at, id) < (:ts::timestamptz, :id::uuid)
ORDER BY occurred_at DESC, id DESC
LIMIT 50;
