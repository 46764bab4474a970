-- bench/operations.sh: :rows events of the twin without JSON Schema of one
-- type (bench.src_type's, cycled), with new ids, their occurred_at moved
-- into [hist_start, before): all older than the retention rule's keep, in
-- every partition of the history but the last ones. One transaction.
-- psql variables: rows, twin (the twin type's name), hist_start, before
\set ON_ERROR_STOP 1
INSERT INTO activity.activities (workspace_id, platform, type, version, actor_type, initiator_id, recipient_id,
                                 subject_type, subject_id, metadata, occurred_at, recorded_at)
SELECT s.workspace_id, s.platform, :'twin', 0::int2, s.actor_type, s.initiator_id, s.recipient_id,
       s.subject_type, s.subject_id, s.metadata, o.occurred_at, o.occurred_at
FROM generate_series(0, :rows - 1) g(k)
JOIN bench.src_type s ON s.n = g.k % (SELECT count(*) FROM bench.src_type)
CROSS JOIN LATERAL (SELECT :'hist_start'::timestamptz
                           + (s.occurred_at - :'hist_start'::timestamptz)
                             * (extract(epoch FROM :'before'::timestamptz - :'hist_start'::timestamptz)
                                / extract(epoch FROM (SELECT max(occurred_at) FROM bench.src_type) - :'hist_start'::timestamptz + interval '1 second'))
                           AS occurred_at) o
ORDER BY g.k;
