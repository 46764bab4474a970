-- bench/analytics.sh, metadata index cost: one transaction of :batch events
-- (INSERT ... SELECT into activity.activities, validated row by row), all in
-- the partition that now() + :shift falls in (a premade, empty one: the
-- script runs this against a partition with the GIN metadata index and one
-- without, in turn), in time order within the batch. Comments, reactions and
-- chat messages across the 521 workspaces, metadata as in the loaded
-- history: {"post_id", "feed", "tags"} (analytics_schema.sql).
\set s random(0, 100000000)
INSERT INTO activity.activities (workspace_id, platform, type, version, actor_type, initiator_id,
                                 subject_type, subject_id, metadata, occurred_at)
SELECT 'ws-' || lpad(w::text, 4, '0'),
       CASE WHEN k = 2 THEN 'discord' END,
       -- (E'\x3a' is a colon: pgbench takes a colon and a name for one of its variables, even in quotes)
       (ARRAY['comment.created', 'reaction.added', E'discord\x3amessageCreate'])[1 + k],
       0, 'user', 'm-' || u,
       CASE WHEN k < 2 THEN 'post' END,
       CASE WHEN k < 2 THEN 'p-' || (w * 100000 + p) END,
       jsonb_build_object('post_id', 'p-' || (w * 100000 + p),
                          'feed', CASE WHEN f < 4 THEN 'general' ELSE (ARRAY['help', 'announcements', 'random', 'showcase'])[1 + f % 4] END,
                          'tags', to_jsonb((ARRAY['help', 'bug', 'feature', 'question', 'meta', 'showcase', 'news', 'event',
                                                  'guide', 'offtopic', 'release', 'feedback'])[1 + t : 1 + t + f % 3])),
       now() + :shift::interval + g * interval '1 microsecond'
FROM (SELECT g, g % 3 AS k, 1 + (:s::int + g * 7919) % 521 AS w, (:s::int / 7 + g * 104729) % 3000 AS u,
             (:s::int / 3 + g * 31) % 40000 AS p, (:s::int + g) % 10 AS f, (:s::int / 11 + g * 13) % 12 AS t
      FROM generate_series(1, :batch::int) g) x;
