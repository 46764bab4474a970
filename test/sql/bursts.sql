-- counts() by every key and in a time zone; bursts() and anomalies() on
-- six weeks of realistic background traffic: nothing on the background
-- alone, then each of the seeds' cases injected (a failed-login storm, an
-- agent flood, a join raid, a moderation spike) is found, and only it.
SET TIME ZONE 'UTC';
SET datestyle = 'ISO, YMD';

\i test/sql/include/expect_error.sql

SELECT count(*) AS universal_types FROM (
    SELECT activity.register_universal_type(u)
    FROM unnest('{USER_JOIN,CHAT_MESSAGE,CHAT_MESSAGE_DELETE,MODERATION_LINK,USER_BAN}'::text[]) u) s;
SELECT count(*) AS types FROM (
    SELECT activity.register_type(t) FROM unnest('{bu.post.created,bu.comment.created,site.auth.login_success,site.auth.login_failure,bu.issue.updated}'::text[]) t
    UNION ALL SELECT activity.register_type('discord:guildMemberAdd', universal_type => 'USER_JOIN')
    UNION ALL SELECT activity.register_type('discord:messageCreate', universal_type => 'CHAT_MESSAGE')
    UNION ALL SELECT activity.register_type('CHAT_MESSAGE_DELETE', universal_type => 'CHAT_MESSAGE_DELETE', platforms => '{discord}')
    UNION ALL SELECT activity.register_type('MODERATION_LINK', universal_type => 'MODERATION_LINK', actor_types => '{system}',
                                            function_types => '{linkFilter}', caused_by => '{CHAT_MESSAGE_DELETE}')) s;
SELECT count(*) AS partitions FROM activity.create_partitions('2050-12-01', '2051-03-01');

---------------------------------------------------------------------------
-- Six weeks of background: each type at its own hourly rate, higher in the
-- day than at night, the count of each hour drawn around its rate (normal
-- approximation of a Poisson count); members, agents and moderators drawn
-- from their pools. Deterministic (setseed).
---------------------------------------------------------------------------
SELECT setseed(0.42);
CREATE TEMP TABLE rates (type text, actor text, base float8, pool int, prefix text, platform text);
INSERT INTO rates VALUES
    ('bu.post.created', 'user', 6, 300, 'm', NULL),
    ('bu.comment.created', 'user', 15, 300, 'm', NULL),
    ('site.auth.login_success', 'user', 10, 300, 'm', NULL),
    ('site.auth.login_failure', 'user', 1.5, 300, 'm', NULL),
    ('discord:guildMemberAdd', 'user', 2, 1000000, 'new', 'discord'),
    ('discord:messageCreate', 'user', 20, 300, 'm', 'discord'),
    ('bu.issue.updated', 'agent', 3, 3, 'agent-', NULL),
    ('CHAT_MESSAGE_DELETE', 'user', 1, 5, 'mod-', 'discord');
CREATE TEMP TABLE background AS
SELECT r.type, r.actor, r.platform, r.prefix || floor(random() * r.pool)::int AS who,
       h + random() * interval '1 hour' AS at
FROM generate_series('2051-01-01 00:00+00'::timestamptz, '2051-02-11 23:00+00', '1 hour') h
CROSS JOIN rates r
CROSS JOIN LATERAL (SELECT r.base * (1 + 0.7 * sin(2 * pi() * (extract(hour FROM h) - 9) / 24)) AS lam) l
CROSS JOIN LATERAL generate_series(1, greatest(0, round(l.lam + sqrt(l.lam) * sqrt(-2 * ln(1 - random()))
                                                            * cos(2 * pi() * random())))::int);
INSERT INTO activity.activities (workspace_id, type, actor_type, initiator_id, platform, occurred_at)
SELECT 'bu-ws', type, actor, who, platform, at FROM background;
SELECT count(*) AS background_events, min(occurred_at) AS first, max(occurred_at) AS last
FROM activity.activities WHERE workspace_id = 'bu-ws';

-- the background alone: no check fires in its last 11 days (each judged
-- against the same hours of the 4 weeks before), nor a generic burst
SELECT * FROM activity.anomalies('bu-ws', '2051-02-01', '2051-02-12');
SELECT by_, count(*) AS bursts
FROM unnest('{type,universal_type,initiator_id,actor_type,platform,function_type}'::text[]) by_,
     LATERAL activity.bursts('bu-ws', '2051-02-01', '2051-02-12', "by" => by_) b
GROUP BY by_ ORDER BY by_;

---------------------------------------------------------------------------
-- The seeds' cases, injected into the background
---------------------------------------------------------------------------
-- a failed-login storm: one member, 40 failures in one hour
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
SELECT 'bu-ws', 'site.auth.login_failure', 'm42', '2051-02-03 03:00+00'::timestamptz + g * interval '80 seconds'
FROM generate_series(1, 40) g;
-- an agent flood: one agent, 300 issue updates in an hour
INSERT INTO activity.activities (workspace_id, type, actor_type, initiator_id, occurred_at)
SELECT 'bu-ws', 'bu.issue.updated', 'agent', 'agent-2', '2051-02-05 14:00+00'::timestamptz + g * interval '11 seconds'
FROM generate_series(1, 300) g;
-- a join raid: 250 new accounts joining within an hour
INSERT INTO activity.activities (workspace_id, type, initiator_id, platform, occurred_at)
SELECT 'bu-ws', 'discord:guildMemberAdd', 'raider-' || g, 'discord', '2051-02-07 20:00+00'::timestamptz + g * interval '14 seconds'
FROM generate_series(1, 250) g;
-- a moderation spike: 60 link-filter deletions, each with its synthetic MODERATION_LINK
WITH d AS (
    INSERT INTO activity.activities (workspace_id, type, actor_type, initiator_id, platform, occurred_at)
    SELECT 'bu-ws', 'CHAT_MESSAGE_DELETE', 'user', 'mod-1', 'discord', '2051-02-09 10:00+00'::timestamptz + g * interval '55 seconds'
    FROM generate_series(1, 60) g
    RETURNING id, occurred_at)
INSERT INTO activity.activities (workspace_id, type, actor_type, function_type, platform, caused_by, occurred_at)
SELECT 'bu-ws', 'MODERATION_LINK', 'system', 'linkFilter', 'discord', d.id, d.occurred_at + interval '1 second' FROM d;

-- each is found by its check, at its hour, and nothing else is
SELECT "check", bucket, key, n, round(expected::numeric, 2) AS expected, score >= 4 AS score_at_least_4
FROM activity.anomalies('bu-ws', '2051-02-01', '2051-02-12');
-- bursts() by type finds the same hours (the failed logins as a type too)
SELECT bucket, key, n, round(expected::numeric, 2) AS expected, round(score::numeric, 1) AS score
FROM activity.bursts('bu-ws', '2051-02-01', '2051-02-12');
-- in another time zone, the same bursts in local buckets
SELECT bucket AT TIME ZONE 'Asia/Kolkata' AS local_bucket, key, n
FROM activity.bursts('bu-ws', '2051-02-01', '2051-02-12', tz => 'Asia/Kolkata', types => '{site.auth.*}', "by" => 'initiator_id');
-- a lower threshold, by day, against the same weekday of the previous weeks
SELECT bucket, key, n FROM activity.bursts('bu-ws', '2051-02-01', '2051-02-12', bucket => '1 day', "by" => 'universal_type',
                                           min_score => 3);

---------------------------------------------------------------------------
-- counts(): every key, and buckets in a time zone
---------------------------------------------------------------------------
SELECT "by", key, sum(n) AS n
FROM unnest('{type,universal_type,function_type,platform,actor_type}'::text[]) "by",
     LATERAL activity.counts('bu-ws', '2051-02-09', '2051-02-10', '1 day', "by") c
GROUP BY 1, 2 ORDER BY 1, 2;
SELECT key, n FROM activity.counts('bu-ws', '2051-02-03 03:00', '2051-02-03 04:00', '1 hour', 'initiator_id')
ORDER BY n DESC, key LIMIT 3;
-- days in Los Angeles begin at 08:00 UTC (the bucket is that instant)
SELECT bucket, sum(n) AS n FROM activity.counts('bu-ws', '2051-02-09 08:00', '2051-02-11 08:00', '1 day', tz => 'America/Los_Angeles')
GROUP BY 1 ORDER BY 1;
SELECT (SELECT sum(n) FROM activity.counts('bu-ws', '2051-02-09 08:00', '2051-02-11 08:00', '1 day', tz => 'America/Los_Angeles'))
     = (SELECT count(*) FROM activity.activities WHERE workspace_id = 'bu-ws'
        AND occurred_at >= '2051-02-09 08:00' AND occurred_at < '2051-02-11 08:00') AS every_event_counted_once;
-- fixed-length buckets in a zone with a half-hour offset
SELECT bucket, sum(n) AS n FROM activity.counts('bu-ws', '2051-02-09 00:00', '2051-02-09 12:00', '6 hours', tz => 'Asia/Kolkata')
GROUP BY 1 ORDER BY 1;

---------------------------------------------------------------------------
-- Errors
---------------------------------------------------------------------------
SELECT format('%-22s', label) AS label, pg_temp.expect_error(sql) AS error
FROM (VALUES
    ('counts: by',          $$SELECT * FROM activity.counts('bu-ws', '2051-02-01', '2051-02-02', "by" => 'metadata')$$),
    ('counts: by null',     $$SELECT * FROM activity.counts('bu-ws', '2051-02-01', '2051-02-02', "by" => NULL)$$),
    ('counts: tz',          $$SELECT * FROM activity.counts('bu-ws', '2051-02-01', '2051-02-02', tz => 'Mars/Olympus')$$),
    ('counts: tz null',     $$SELECT * FROM activity.counts('bu-ws', '2051-02-01', '2051-02-02', tz => NULL)$$),
    ('bursts: workspace',   $$SELECT * FROM activity.bursts(NULL, '2051-02-01', '2051-02-02')$$),
    ('bursts: since null',  $$SELECT * FROM activity.bursts('bu-ws', NULL, '2051-02-02')$$),
    ('bursts: a month',     $$SELECT * FROM activity.bursts('bu-ws', '2051-02-01', '2051-02-02', bucket => '1 month')$$),
    ('bursts: period',      $$SELECT * FROM activity.bursts('bu-ws', '2051-02-01', '2051-02-02', bucket => '5 hours')$$),
    ('bursts: baseline',    $$SELECT * FROM activity.bursts('bu-ws', '2051-02-01', '2051-02-02', baseline => 0)$$),
    ('bursts: min_count',   $$SELECT * FROM activity.bursts('bu-ws', '2051-02-01', '2051-02-02', min_count => 0)$$),
    ('bursts: two years',   $$SELECT * FROM activity.bursts('bu-ws', '2049-01-01', '2051-02-02')$$),
    ('bursts: type pattern', $$SELECT * FROM activity.bursts('bu-ws', '2051-02-01', '2051-02-02', types => '{site*}')$$),
    ('bursts: NULL actor',  $$SELECT * FROM activity.bursts('bu-ws', '2051-02-01', '2051-02-02', actor_types => '{NULL}')$$),
    ('bursts: tz',          $$SELECT * FROM activity.bursts('bu-ws', '2051-02-01', '2051-02-02', tz => 'nowhere')$$)
) AS t(label, sql);

---------------------------------------------------------------------------
-- counts() by type reads the feed indexes alone (activity._bucket_counts);
-- its buckets are exactly those of the SQL over the log, across the clock
-- changes of zones with daylight saving time (one of them by 30 minutes),
-- in partitions and in the default partition
---------------------------------------------------------------------------
SELECT count(*) AS partitions FROM activity.create_partitions('2053-01-01', '2053-07-01');
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
SELECT 'bu-dst', CASE WHEN g % 3 = 0 THEN 'bu.post.created' ELSE 'bu.comment.created' END, 'm1',
       '2053-01-01'::timestamptz + g * interval '53 minutes'
FROM generate_series(1, 9900) g;
SELECT tz, bucket,
       (SELECT array_agg(c ORDER BY c.bucket, c.key)::text
        FROM activity.counts('bu-dst', '2053-01-01', '2054-01-01', bucket, 'type', tz) c)
     = (SELECT array_agg(ROW(b AT TIME ZONE tz, type, n)::record ORDER BY b AT TIME ZONE tz, type)::text
        FROM (SELECT CASE bucket WHEN '1 hour' THEN date_trunc('hour', occurred_at AT TIME ZONE tz)
                                 WHEN '1 day' THEN date_trunc('day', occurred_at AT TIME ZONE tz)
                                 WHEN '1 month' THEN date_trunc('month', occurred_at AT TIME ZONE tz)
                                 ELSE date_bin(bucket, occurred_at AT TIME ZONE tz, '2001-01-01') END AS b,
                     type, count(*) AS n
              FROM activity.activities WHERE workspace_id = 'bu-dst' GROUP BY 1, 2) s) AS same_as_sql
FROM unnest('{America/Los_Angeles,Europe/Paris,Australia/Lord_Howe,Asia/Kolkata,UTC}'::text[]) tz,
     unnest('{1 hour,1 day,1 month,6 hours,15 minutes}'::interval[]) bucket
ORDER BY 1, 2;
-- ... and once the pages are all-visible (no heap visited)
VACUUM activity.activities;
SELECT bucket,
       (SELECT array_agg(c ORDER BY c.bucket, c.key)::text
        FROM activity.counts('bu-dst', '2053-01-01', '2054-01-01', bucket, 'universal_type', 'America/Los_Angeles') c)
     = (SELECT array_agg(ROW(b AT TIME ZONE 'America/Los_Angeles', NULL::text, n)::record
                         ORDER BY b AT TIME ZONE 'America/Los_Angeles')::text
        FROM (SELECT date_trunc(CASE bucket WHEN '1 hour' THEN 'hour' ELSE 'day' END, occurred_at AT TIME ZONE 'America/Los_Angeles') AS b,
                     count(*) AS n
              FROM activity.activities WHERE workspace_id = 'bu-dst' GROUP BY 1) s) AS same_as_sql
FROM unnest('{1 hour,1 day}'::interval[]) bucket;

-- bursts() by type or universal type without a type filter is counted and
-- scored in C (activity._bucket_bursts()); the SQL (here forced by an
-- actor_types filter that keeps every row) scores every bucket alike
SELECT "by", tz,
       (SELECT array_agg(b ORDER BY b.bucket, b.key)::text
        FROM activity.bursts('bu-ws', '2051-02-01', '2051-02-12', "by" => "by", tz => tz, min_count => 1, min_score => -1000) b)
     = (SELECT array_agg(b ORDER BY b.bucket, b.key)::text
        FROM activity.bursts('bu-ws', '2051-02-01', '2051-02-12', "by" => "by", tz => tz, min_count => 1, min_score => -1000,
                             actor_types => '{user,agent,system}') b) AS same_as_sql,
       (SELECT count(*) FROM activity.bursts('bu-ws', '2051-02-01', '2051-02-12', "by" => "by", tz => tz,
                                             min_count => 1, min_score => -1000)) AS buckets_scored
FROM unnest('{type,universal_type}'::text[]) "by", unnest('{UTC,America/Los_Angeles}'::text[]) tz
ORDER BY 1, 2;
SELECT (SELECT array_agg(b ORDER BY b.bucket, b.key)::text
        FROM activity.bursts('bu-ws', '2051-02-01', '2051-02-12', "by" => 'universal_type', universal_types => '{USER_JOIN,CHAT_MESSAGE}',
                             min_count => 1, min_score => -1000) b)
     = (SELECT array_agg(b ORDER BY b.bucket, b.key)::text
        FROM activity.bursts('bu-ws', '2051-02-01', '2051-02-12', "by" => 'universal_type', universal_types => '{USER_JOIN,CHAT_MESSAGE}',
                             min_count => 1, min_score => -1000, actor_types => '{user,agent,system}') b) AS filtered_same_as_sql;
