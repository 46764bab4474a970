-- bench/operations.sh: one transaction of new events, numbers lo..hi of the
-- run: copies of bench.src's events (cycled, in its order) with new ids
-- (the column default) and the source's occurred_at, so spread over every
-- partition of the history. Every :every-th event (number k, k % every = 0)
-- gets the bench member as its initiator, and the one half-way between as
-- its recipient (where the source has one: the type's recipient rule holds);
-- the member's events are all in workspace :member_ws.
-- psql variables: lo, hi, every, member, member_ws
\set ON_ERROR_STOP 1
INSERT INTO activity.activities (workspace_id, platform, type, version, actor_type, initiator_id, recipient_id,
                                 subject_type, subject_id, metadata, occurred_at, recorded_at)
SELECT CASE WHEN m.as_initiator OR m.as_recipient THEN :'member_ws' ELSE s.workspace_id END,
       s.platform, s.type, s.version, s.actor_type,
       CASE WHEN m.as_initiator THEN :'member' ELSE s.initiator_id END,
       CASE WHEN m.as_recipient THEN :'member' ELSE s.recipient_id END,
       s.subject_type, s.subject_id, s.metadata, s.occurred_at, s.recorded_at
FROM generate_series(:lo::bigint, :hi::bigint) g(k)
JOIN bench.src s ON s.n = g.k % (SELECT count(*) FROM bench.src)
CROSS JOIN LATERAL (SELECT g.k % :every = 0 AND s.initiator_id IS NOT NULL AS as_initiator,
                           g.k % :every = :every / 2 AND s.recipient_id IS NOT NULL AS as_recipient) m
ORDER BY g.k;
