-- The COPY file of bench/validation.sh: :rows events of the 10 types of
-- validation_schema.sql over [hist_start, hist_end), in time order, each valid
-- for its type (recipient rule, actor types, platforms) and its JSON Schema,
-- with the optional properties present in part of the rows. Workspaces are
-- skewed as in generate.sql. Ids are UUIDv7 built from occurred_at (an import
-- of past events). The file carries every column except caused_by (NULL),
-- version 1 included: events carry the version of their payload (seed 001).
-- noversion_file holds the same events without the version column (the
-- extension fills in the type's latest version), and noschema_file the same
-- events with the types renamed to their twins without schema
-- (bench.noschema_name()), version 0.
-- psql variables: rows, hist_start, hist_end, file, noversion_file,
-- noschema_file (written by the server)
\set ON_ERROR_STOP 1
SELECT setseed(0.42) \g /dev/null

CREATE UNLOGGED TABLE bench.events AS
WITH mix AS (
    SELECT row_number() OVER () AS slot, m.name
    FROM (VALUES ('post.created', 3), ('comment.created', 5), ('reaction.added', 4),
                 ('topic.created', 1), ('award.given', 1), ('user.followed', 2),
                 ('member.joined', 1), ('site.auth.login_failure', 1), ('issue.updated', 2),
                 ('CHAT_MESSAGE_DELETE', 1)) AS m(name, weight)
    CROSS JOIN LATERAL generate_series(1, m.weight)
), g AS (
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
           m.name AS type,
           CASE WHEN m.name = 'site.auth.login_failure' AND r_misc < 0.1 THEN 'system'
                WHEN m.name = 'issue.updated' AND r_misc < 0.2 THEN 'agent'
                ELSE 'user' END AS actor_type
    FROM g
    JOIN mix m ON m.slot = 1 + floor(g.r_type * (SELECT count(*) FROM mix))::int
)
SELECT overlay(overlay(overlay(bits PLACING lpad(to_hex(floor(extract(epoch FROM occurred_at) * 1000)::bigint), 12, '0') FROM 1)
                       PLACING '7' FROM 13)
               PLACING substr('89ab', 1 + (u % 4), 1) FROM 17)::uuid AS id,
       'ws-' || lpad(wsn::text, 4, '0') AS workspace_id,
       CASE WHEN type = 'CHAT_MESSAGE_DELETE' THEN (ARRAY['discord', 'telegram', 'slack'])[1 + n % 3] END AS platform,
       type,
       actor_type,
       CASE WHEN actor_type = 'system' THEN NULL ELSE 'user-' || u END AS initiator_id,
       CASE WHEN type IN ('award.given', 'user.followed')
              OR (type IN ('reaction.added', 'comment.created') AND r_misc < 0.5)
            THEN 'user-' || ((u * 7919) % 100000) END AS recipient_id,
       CASE type WHEN 'post.created' THEN 'post' WHEN 'comment.created' THEN 'comment'
                 WHEN 'reaction.added' THEN 'post' WHEN 'topic.created' THEN 'topic'
                 WHEN 'issue.updated' THEN 'issue' WHEN 'CHAT_MESSAGE_DELETE' THEN 'message' END AS subject_type,
       CASE type WHEN 'post.created' THEN 'p-' || (n / 3) WHEN 'comment.created' THEN 'c-' || n
                 WHEN 'reaction.added' THEN 'p-' || (n / 3) WHEN 'topic.created' THEN 't-' || (n / 100)
                 WHEN 'issue.updated' THEN 'i-' || (n / 1000) WHEN 'CHAT_MESSAGE_DELETE' THEN 'm-' || n END AS subject_id,
       CASE type
       WHEN 'post.created' THEN
           jsonb_build_object('post_id', 'p-' || (n / 3), 'topic_id', 't-' || (n / 100),
                              'title', 'How do I ' || (ARRAY['index', 'partition', 'vacuum', 'tune', 'back up'])[1 + n % 5]
                                       || ' a table of ' || (n % 900 + 100) || ' million rows?',
                              'raw_length', n % 5000,
                              'category', (ARRAY['general', 'announcements', 'help', 'showcase', 'meta'])[1 + u % 5])
           || CASE n % 4 WHEN 0 THEN '{}'
                         WHEN 1 THEN '{"tags": ["postgres"]}'
                         WHEN 2 THEN '{"tags": ["postgres", "performance"]}'
                         ELSE '{"tags": ["help", "sql", "indexes"]}' END::jsonb
       WHEN 'comment.created' THEN
           jsonb_build_object('comment_id', 'c-' || n, 'post_id', 'p-' || (n / 3),
                              'excerpt', 'Thanks, that worked for me after I raised work_mem to ' || (n % 64 + 4) || ' MB.')
           || CASE WHEN r_misc < 0.3 THEN jsonb_build_object('reply_to', 'c-' || (n - 1 - u % 50)) ELSE '{}' END
       WHEN 'reaction.added' THEN
           jsonb_build_object('post_id', 'p-' || (n / 3),
                              'emoji', (ARRAY['+1', 'heart', 'laugh', 'tada', 'eyes', 'rocket'])[1 + u % 6])
       WHEN 'topic.created' THEN
           jsonb_build_object('topic_id', 't-' || (n / 100),
                              'title', 'Release notes ' || (n % 20) || '.' || (u % 10),
                              'category', (ARRAY['general', 'announcements', 'help', 'showcase', 'meta'])[1 + u % 5])
       WHEN 'award.given' THEN
           jsonb_build_object('award_id', 'a-' || (n % 500),
                              'award_name', (ARRAY['Helpful', 'Insightful', 'First Post', 'Bug Hunter', 'Mentor'])[1 + u % 5],
                              'points', 1 + n % 1000)
           || CASE WHEN r_misc < 0.5 THEN '{"reason": "For a detailed answer in the help category"}' ELSE '{}' END::jsonb
       WHEN 'user.followed' THEN
           jsonb_build_object('source', (ARRAY['profile', 'suggestion', 'search', 'mention'])[1 + u % 4])
       WHEN 'member.joined' THEN
           CASE WHEN u % 4 = 0 THEN jsonb_build_object('via', 'invite', 'invite_code', substr(bits, 20, 8))
                ELSE jsonb_build_object('via', (ARRAY['link', 'sso', 'import'])[1 + u % 3]) END
       WHEN 'site.auth.login_failure' THEN
           jsonb_build_object('reason', (ARRAY['bad_password', 'unknown_user', 'locked', 'mfa_failed'])[1 + u % 4],
                              'ip', '10.' || (n % 256) || '.' || (u % 256) || '.' || (n % 200 + 1),
                              'user_agent', 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
                              'attempt', 1 + n % 5,
                              'client', jsonb_build_object('os', (ARRAY['linux', 'macos', 'windows', 'ios', 'android'])[1 + n % 5],
                                                           'app_version', '3.' || (n % 20) || '.' || (u % 10)))
       WHEN 'issue.updated' THEN
           jsonb_build_object('issue_id', 'i-' || (n / 1000),
                              'changes', CASE WHEN r_misc < 0.6
                                              THEN '{"status": {"from": "open", "to": "in_progress"}}'::jsonb
                                              ELSE '{"status": {"from": "review", "to": "done"}, "priority": {"from": "p2", "to": "p1"}}'::jsonb END)
           || CASE WHEN u % 3 = 0
                   THEN jsonb_build_object('due_at', to_char((occurred_at + interval '14 days') AT TIME ZONE 'UTC',
                                                             'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
                   ELSE '{}' END
       ELSE -- CHAT_MESSAGE_DELETE
           jsonb_build_object('message_id', 'm-' || n, 'channel_id', 'ch-' || (n % 300),
                              'deleted_by', (ARRAY['author', 'moderator', 'bot'])[1 + u % 3],
                              'original_length', n % 2000)
           || CASE WHEN u % 3 = 1 THEN '{"reason": "spam link"}' ELSE '{}' END::jsonb
       END AS metadata,
       occurred_at,
       occurred_at + (r_misc * interval '2 seconds') AS recorded_at
FROM r
ORDER BY occurred_at, id;

-- in the table's order (no synchronized scan starting mid-table)
SET synchronize_seqscans = off;
COPY (SELECT id, workspace_id, platform, type, 1::int2 AS version, actor_type, initiator_id, recipient_id,
             subject_type, subject_id, metadata, occurred_at, recorded_at
      FROM bench.events) TO :'file';
COPY bench.events TO :'noversion_file';
COPY (SELECT id, workspace_id, platform, bench.noschema_name(type), 0::int2 AS version, actor_type, initiator_id, recipient_id,
             subject_type, subject_id, metadata, occurred_at, recorded_at
      FROM bench.events) TO :'noschema_file';
DROP TABLE bench.events;
