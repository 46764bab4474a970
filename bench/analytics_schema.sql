-- bench/analytics.sh's schema and data: the extension, 4 universal types and
-- 12 event types, monthly partitions from the month of :h0 to 5 months after
-- the current one, and a generated history of the year [:y0, :y1) plus the 4
-- weeks before it (:h0 = :y0 - 28 days, the history bursts() compares the
-- first weeks of the year with), about :rows events in the year.
--
-- Traffic: every hour, each type at its own rate (weights below, in events
-- per hour for all workspaces together: :rows / 8760 * weight / sum of
-- weights), higher in the day than at night (a sine over the day, peak at
-- 15:00 UTC, +-60%) and lower at weekends (x0.8, weekdays x1.08), the count
-- of each hour drawn around its rate (normal approximation of a Poisson
-- count, as test/sql/bursts.sql). Each event then goes to a workspace:
-- ws-0001 (BUSY_WS) 25% (~100,000 events of the year at 400,000), ws-0002 ..
-- ws-0021 45% together, ws-0022 .. ws-0521 30%.
--
-- Members: initiator_id m-<n> drawn from 3000 members per workspace with a
-- heavy head (n = 3000 * random()^3); awards and follows go from a member to
-- another (recipient_id, drawn the same way: a head member receives as much
-- as it gives, and sometimes awards itself). Agents agent-1..3, moderators
-- mod-1..5, new members new-<n>.
-- Metadata: posts, comments, reactions, awards and chat messages carry
-- {"post_id": "p-<workspace><post>", "feed": "general" (40%) | "help" |
-- "announcements" | "random" | "showcase", "tags": [1 to 3 of 12 tags]};
-- logins a client, deletions a message and reason, agents an issue.
-- Half of the CHAT_MESSAGE_DELETE events have their synthetic
-- MODERATION_LINK (caused_by, function_type linkFilter) 2 seconds later.
-- Ids are UUIDv7 built from occurred_at; rows inserted in time order through
-- the validation (INSERT ... SELECT into activity.activities). Deterministic
-- except for the ids' random bits.
-- psql variables: rows, h0, y0, y1 (timestamptz literals)
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

CREATE EXTENSION activity;
SET activity.max_lock_hold = '10min';   -- every partition in one call: nobody writes yet
SELECT count(*) AS partitions_created
FROM activity.create_partitions(date_trunc('month', :'h0'::timestamptz), date_trunc('month', now()) + interval '5 months') \g /dev/null

-- universal types first, then the types mapped onto them
SELECT count(*) FROM (
    SELECT activity.register_universal_type('USER_JOIN', 'A user joined the property.')
    UNION ALL SELECT activity.register_universal_type('CHAT_MESSAGE', 'A chat message was sent.')
    UNION ALL SELECT activity.register_universal_type('CHAT_MESSAGE_DELETE', 'A chat message was deleted.', platforms => '{discord}')
    UNION ALL SELECT activity.register_universal_type('MODERATION_LINK', 'A moderation action on a link.')) s \g /dev/null
SELECT count(*) FROM (
    SELECT activity.register_type('post.created', 'A post was published', subject_type => 'post')
    UNION ALL SELECT activity.register_type('comment.created', 'A comment was written', subject_type => 'post')
    UNION ALL SELECT activity.register_type('reaction.added', 'Someone reacted to a post', subject_type => 'post')
    UNION ALL SELECT activity.register_type('award.given', 'An award was given to a member', recipient => 'required')
    UNION ALL SELECT activity.register_type('user.followed', 'A member followed another', recipient => 'required')
    UNION ALL SELECT activity.register_type('site.auth.login', 'A member signed in', recipient => 'forbidden')
    UNION ALL SELECT activity.register_type('site.auth.login_failure', 'A sign-in failed', recipient => 'forbidden',
                                            actor_types => '{user,system}')
    UNION ALL SELECT activity.register_type('issue.updated', 'An issue was updated', actor_types => '{user,agent}')
    UNION ALL SELECT activity.register_type('discord:guildMemberAdd', 'Discord: a member joined', universal_type => 'USER_JOIN',
                                            recipient => 'forbidden')
    UNION ALL SELECT activity.register_type('discord:messageCreate', 'Discord: a message was sent', universal_type => 'CHAT_MESSAGE')
    UNION ALL SELECT activity.register_type('CHAT_MESSAGE_DELETE', 'A chat message was deleted', universal_type => 'CHAT_MESSAGE_DELETE',
                                            platforms => '{discord}')
    UNION ALL SELECT activity.register_type('MODERATION_LINK', 'A message was deleted by link filtering',
                                            universal_type => 'MODERATION_LINK', actor_types => '{system}',
                                            function_types => '{linkFilter}', caused_by => '{CHAT_MESSAGE_DELETE}')) s \g /dev/null

CREATE SCHEMA bench;
SELECT setseed(0.23) \g /dev/null
CREATE UNLOGGED TABLE bench.rates (type text PRIMARY KEY, weight float8, platform text, actor_type text);
INSERT INTO bench.rates VALUES
    ('post.created', 8, NULL, 'user'),
    ('comment.created', 20, NULL, 'user'),
    ('reaction.added', 15, NULL, 'user'),
    ('award.given', 4, NULL, 'user'),
    ('user.followed', 3, NULL, 'user'),
    ('site.auth.login', 12, NULL, 'user'),
    ('site.auth.login_failure', 1.5, NULL, 'user'),
    ('issue.updated', 3, NULL, 'agent'),
    ('discord:guildMemberAdd', 2, 'discord', 'user'),
    ('discord:messageCreate', 25, 'discord', 'user'),
    ('CHAT_MESSAGE_DELETE', 1.5, 'discord', 'user');

CREATE UNLOGGED TABLE bench.staging AS
WITH cells AS (
    SELECT h, r.type, r.platform, r.actor_type,
           :rows / 8760.0 * r.weight / (SELECT sum(weight) FROM bench.rates)
               * (1 + 0.6 * sin(2 * pi() * (extract(hour FROM h AT TIME ZONE 'UTC') - 9) / 24))
               * CASE WHEN extract(isodow FROM h AT TIME ZONE 'UTC') >= 6 THEN 0.8 ELSE 1.08 END AS lam
    FROM generate_series(:'h0'::timestamptz, :'y1'::timestamptz - interval '1 hour', interval '1 hour') h
    CROSS JOIN bench.rates r
), ev AS (
    SELECT c.h + random() * interval '1 hour' AS occurred_at, c.type, c.platform, c.actor_type,
           random() AS r_ws, random() AS r_a, random() AS r_b, random() AS r_c, (random() * 1000000)::int AS n,
           md5(random()::text) AS bits
    FROM cells c
    CROSS JOIN LATERAL generate_series(1, greatest(0, round(c.lam + sqrt(c.lam) * sqrt(-2 * ln(1 - random()))
                                                                       * cos(2 * pi() * random())))::int)
), w AS (
    SELECT ev.*, CASE WHEN r_ws < 0.25 THEN 1 WHEN r_ws < 0.70 THEN 2 + n % 20 ELSE 22 + n % 500 END AS wsn
    FROM ev
)
SELECT overlay(overlay(overlay(bits PLACING lpad(to_hex(floor(extract(epoch FROM occurred_at) * 1000)::bigint), 12, '0') FROM 1)
                       PLACING '7' FROM 13)
               PLACING substr('89ab', 1 + (n % 4), 1) FROM 17)::uuid AS id,
       'ws-' || lpad(wsn::text, 4, '0') AS workspace_id,
       platform, type, actor_type,
       CASE WHEN actor_type = 'agent' THEN 'agent-' || (1 + n % 3)
            WHEN type = 'discord:guildMemberAdd' THEN 'new-' || n
            WHEN type = 'CHAT_MESSAGE_DELETE' THEN 'mod-' || (1 + n % 5)
            ELSE 'm-' || floor(3000 * r_a ^ 3)::int END AS initiator_id,
       CASE WHEN type IN ('award.given', 'user.followed') THEN 'm-' || floor(3000 * r_b ^ 3)::int END AS recipient_id,
       CASE WHEN type IN ('post.created', 'comment.created', 'reaction.added') THEN 'post' END AS subject_type,
       CASE WHEN type IN ('post.created', 'comment.created', 'reaction.added')
            THEN 'p-' || (wsn * 100000 + floor(40000 * r_c ^ 1.5)::int) END AS subject_id,
       CASE WHEN type IN ('post.created', 'comment.created', 'reaction.added', 'award.given', 'discord:messageCreate')
            THEN jsonb_build_object(
                     'post_id', 'p-' || (wsn * 100000 + floor(40000 * r_c ^ 1.5)::int),
                     'feed', CASE WHEN n % 10 < 4 THEN 'general' ELSE (ARRAY['help', 'announcements', 'random', 'showcase'])[1 + (n / 10) % 4] END,
                     'tags', to_jsonb((ARRAY['help', 'bug', 'feature', 'question', 'meta', 'showcase', 'news', 'event',
                                             'guide', 'offtopic', 'release', 'feedback'])[1 + (n / 40) % 12 : 1 + (n / 40) % 12 + (n / 480) % 3]))
                 || CASE type WHEN 'award.given' THEN jsonb_build_object('award', (ARRAY['gold', 'silver', 'helpful'])[1 + n % 3])
                              WHEN 'reaction.added' THEN jsonb_build_object('emoji', (ARRAY['+1', 'heart', 'laugh', 'eyes'])[1 + n % 4])
                              WHEN 'discord:messageCreate' THEN jsonb_build_object('channel_id', 'c-' || n % 40)
                              ELSE '{}'::jsonb END
            WHEN type LIKE 'site.auth.%' THEN jsonb_build_object('client', (ARRAY['web', 'ios', 'android'])[1 + n % 3])
            WHEN type = 'issue.updated' THEN jsonb_build_object('issue', 'ENG-' || n % 5000, 'changes', jsonb_build_object('status', 'in_progress'))
            WHEN type = 'CHAT_MESSAGE_DELETE' THEN jsonb_build_object('message_id', 'msg-' || n, 'channel_id', 'c-' || n % 40, 'reason', 'link')
            WHEN type = 'discord:guildMemberAdd' THEN jsonb_build_object('invite', 'inv-' || n % 300)
            ELSE '{}'::jsonb END AS metadata,
       NULL::uuid AS caused_by,
       NULL::text AS function_type,
       occurred_at
FROM w;
-- the synthetic effects: half of the deletions were the link filter's
INSERT INTO bench.staging
SELECT overlay(overlay(overlay(md5(s.id::text) PLACING lpad(to_hex(floor(extract(epoch FROM s.occurred_at + interval '2 seconds') * 1000)::bigint), 12, '0') FROM 1)
                       PLACING '7' FROM 13)
               PLACING '8' FROM 17)::uuid,
       s.workspace_id, 'discord', 'MODERATION_LINK', 'system', NULL, NULL, NULL, NULL,
       jsonb_build_object('message_id', s.metadata->>'message_id', 'rule', 'link-filter'),
       s.id, 'linkFilter', s.occurred_at + interval '2 seconds'
FROM bench.staging s
WHERE s.type = 'CHAT_MESSAGE_DELETE' AND get_byte(decode(md5(s.id::text), 'hex'), 0) < 128
  AND s.occurred_at + interval '2 seconds' < :'y1'::timestamptz;

INSERT INTO activity.activities (id, workspace_id, platform, type, version, actor_type, initiator_id, recipient_id,
                                 subject_type, subject_id, metadata, caused_by, function_type, occurred_at)
SELECT id, workspace_id, platform, type, 0, actor_type, initiator_id, recipient_id,
       subject_type, subject_id, metadata, caused_by, function_type, occurred_at
FROM bench.staging ORDER BY occurred_at, id;
DROP TABLE bench.staging, bench.rates;
VACUUM (ANALYZE) activity.activities;

-- The cursors of a feed at given depths, found by paging with page() itself,
-- 200 rows a call (bench/feeds_schema.sql's bench.feed_cursors): the cursor at
-- depth d is the one of the d-th row, so that page(..., after => it) starts
-- at row d + 1. "call" is the page() call with $1 for "after" and $2 for
-- "limit", e.g. activity.page('ws-0001', $1, $2, member_id => 'm-3').
CREATE FUNCTION bench.cursor_at(call text, depth int)
RETURNS TABLE (page_cursor activity.cursor, occurred_at timestamptz, id uuid)
LANGUAGE plpgsql AS $$
DECLARE
    cur activity.cursor := NULL;
    seen int := 0;
    got int;
    r record;
BEGIN
    WHILE seen < depth LOOP
        got := 0;
        FOR r IN EXECUTE format('SELECT p.cursor FROM %s p', call) USING cur, least(200, depth - seen) LOOP
            cur := r.cursor;
            got := got + 1;
        END LOOP;
        EXIT WHEN got = 0;
        seen := seen + got;
    END LOOP;
    IF seen < depth THEN
        RAISE EXCEPTION '% has only % rows, not %', call, seen, depth;
    END IF;
    page_cursor := cur;
    SELECT i.occurred_at, i.id INTO occurred_at, id FROM activity.cursor_info(cur) i;
    RETURN NEXT;
END;
$$;
