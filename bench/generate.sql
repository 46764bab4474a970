-- Generated history: :rows events over [hist_start, hist_end), in time order,
-- valid for the registered types. Workspaces are skewed: ws-0001..ws-0003
-- hold 30/20/10% of the events, ws-0004..ws-0023 25% together, and the tail
-- ws-0024..ws-1023 the remaining 15%. Ids are UUIDv7 built from occurred_at
-- (as an import of past events would have). Deterministic except for ids.
-- psql variables: rows, hist_start, hist_end
\set ON_ERROR_STOP 1
SELECT setseed(0.42) \g /dev/null

CREATE UNLOGGED TABLE bench.type_mix AS
SELECT row_number() OVER () AS slot, t.name, t.recipient, t.platforms, t.actor_types
FROM (VALUES ('post.created', 4), ('post.edited', 2), ('post.deleted', 1),
             ('comment.created', 6), ('comment.deleted', 1), ('topic.created', 1),
             ('topic.closed', 1), ('reaction.added', 5), ('award.given', 1),
             ('user.followed', 2), ('user.mentioned', 2), ('member.joined', 1),
             ('member.left', 1), ('site.auth.login', 3), ('site.auth.login_failure', 1),
             ('issue.created', 1), ('issue.status_changed', 2), ('discord.guild_member_add', 1),
             ('telegram.chat_member_joined', 1), ('CHAT_MESSAGE_DELETE', 1),
             ('MODERATION_LINK', 1)) AS m(name, weight)
CROSS JOIN LATERAL generate_series(1, m.weight)
JOIN activity.event_types t ON t.name = m.name;

CREATE UNLOGGED TABLE bench.staging AS
WITH g AS (
    SELECT i,
           random() AS r_ws, random() AS r_type, random() AS r_misc,
           (random() * 10000000)::int AS n,
           (random() * 100000)::int AS u,
           :'hist_start'::timestamptz
               + random() * (:'hist_end'::timestamptz - :'hist_start'::timestamptz) AS occurred_at,
           md5(random()::text) AS bits
    FROM generate_series(1, :rows) i
), r AS (
    SELECT g.*,
           CASE WHEN r_ws < 0.30 THEN 1 WHEN r_ws < 0.50 THEN 2 WHEN r_ws < 0.60 THEN 3
                WHEN r_ws < 0.85 THEN 4 + n % 20 ELSE 24 + n % 1000 END AS wsn,
           m.name AS type, m.recipient, m.platforms,
           CASE WHEN m.actor_types = '{system}' THEN 'system'
                WHEN 'agent' = ANY (m.actor_types) AND m.name LIKE 'issue.%' AND r_misc < 0.2 THEN 'agent'
                ELSE 'user' END AS actor_type
    FROM g
    JOIN bench.type_mix m ON m.slot = 1 + floor(g.r_type * (SELECT count(*) FROM bench.type_mix))::int
)
SELECT overlay(overlay(overlay(bits PLACING lpad(to_hex(floor(extract(epoch FROM occurred_at) * 1000)::bigint), 12, '0') FROM 1)
                       PLACING '7' FROM 13)
               PLACING substr('89ab', 1 + (u % 4), 1) FROM 17)::uuid AS id,
       'ws-' || lpad(wsn::text, 4, '0') AS workspace_id,
       CASE WHEN platforms IS NULL THEN NULL
            ELSE platforms[1 + (n % cardinality(platforms))] END AS platform,
       type,
       0::int2 AS version,
       actor_type,
       CASE WHEN actor_type = 'system' THEN NULL ELSE 'user-' || u END AS initiator_id,
       CASE WHEN recipient = 'required' OR (recipient = 'optional' AND r_misc < 0.3)
            THEN 'user-' || ((u * 7919) % 100000) END AS recipient_id,
       CASE split_part(type, '.', 1)
            WHEN 'post' THEN 'post' WHEN 'comment' THEN 'comment'
            WHEN 'topic' THEN 'topic' WHEN 'issue' THEN 'issue' END AS subject_type,
       CASE split_part(type, '.', 1)
            WHEN 'post' THEN (n / 3)::text WHEN 'comment' THEN n::text
            WHEN 'topic' THEN (n / 100)::text WHEN 'issue' THEN (n / 1000)::text END AS subject_id,
       NULL::uuid AS caused_by,
       CASE split_part(type, '.', 1)
            WHEN 'post' THEN jsonb_build_object('post_id', n / 3, 'topic_id', n / 100,
                                                'title', 'Post title ' || n, 'raw_length', n % 5000)
            WHEN 'comment' THEN jsonb_build_object('comment_id', n, 'post_id', n / 3,
                                                   'excerpt', 'Comment excerpt number ' || n)
            WHEN 'issue' THEN jsonb_build_object('issue_id', n / 1000, 'from', 'open', 'to', 'in_progress')
            WHEN 'site' THEN jsonb_build_object('ip', '10.' || (n % 256) || '.' || (u % 256) || '.1',
                                                'user_agent', 'Mozilla/5.0 (bench)')
            ELSE jsonb_build_object('entity_id', n, 'reason', 'generated', 'score', u % 100)
       END AS metadata,
       occurred_at,
       occurred_at + (r_misc * interval '2 seconds') AS recorded_at
FROM r
ORDER BY occurred_at, id;
