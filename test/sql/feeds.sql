-- activity.page() for every feed shape: workspace, entity (subject), actor
-- (initiator), recipient and all workspaces; filters by types (names and
-- ".*" prefixes), universal types, actor types, platforms and a time window;
-- newest and oldest first. Each feed, walked page by page through cursors,
-- must return exactly the rows (and the order) of the same query written by
-- hand; a cursor replayed with another shape is refused.
SET TIME ZONE 'UTC';
SET datestyle = 'ISO, YMD';
\i test/sql/include/expect_error.sql

SELECT name FROM activity.register_type('fd.post.created') \g /dev/null
SELECT name FROM activity.register_type('fd.post.edited', actor_types => '{user,agent}') \g /dev/null
SELECT name FROM activity.register_type('fd.comment.created') \g /dev/null
SELECT name FROM activity.register_type('fd.award.given', recipient => 'required', actor_types => '{user,system}') \g /dev/null
SELECT name FROM activity.register_universal_type('FD_USER_JOIN') \g /dev/null
SELECT name FROM activity.register_universal_type('FD_USER_LEAVE') \g /dev/null
SELECT name FROM activity.register_type('FD_DISCORD_JOIN', universal_type => 'FD_USER_JOIN', platforms => '{discord}') \g /dev/null
SELECT name FROM activity.register_type('FD_SLACK_JOIN', universal_type => 'FD_USER_JOIN', platforms => '{slack}') \g /dev/null
SELECT name FROM activity.register_type('FD_SLACK_LEAVE', universal_type => 'FD_USER_LEAVE', platforms => '{slack}') \g /dev/null
SELECT count(*) AS partitions FROM activity.create_partitions('2044-01-01', '2044-07-01');

-- 400 activities over six monthly partitions and the default partition
-- (1990 and 2090 outliers), two workspaces, every shape of row; some share
-- an occurred_at (ties broken by id)
SELECT setseed(0.25) \g /dev/null
INSERT INTO activity.activities (workspace_id, type, actor_type, initiator_id, recipient_id,
                                 subject_type, subject_id, platform, occurred_at)
SELECT CASE WHEN g % 5 = 0 THEN 'fd-other' ELSE 'fd-ws' END,
       t.type,
       CASE WHEN t.type = 'fd.post.edited' AND g % 3 = 0 THEN 'agent'
            WHEN t.type = 'fd.award.given' AND g % 4 = 0 THEN 'system' ELSE 'user' END,
       CASE WHEN t.type = 'fd.award.given' AND g % 4 = 0 THEN NULL ELSE 'u' || (g % 4) END,
       CASE WHEN t.type = 'fd.award.given' THEN 'm' || (g % 3) END,
       CASE WHEN t.type LIKE 'fd.post.%' OR t.type = 'fd.comment.created' THEN 'post' END,
       CASE WHEN t.type LIKE 'fd.post.%' OR t.type = 'fd.comment.created' THEN 'p' || (g % 6) END,
       CASE WHEN t.type LIKE 'FD_DISCORD%' THEN 'discord' WHEN t.type LIKE 'FD_SLACK%' THEN 'slack' END,
       CASE WHEN g % 50 = 7 THEN timestamptz '1990-06-01' + g * interval '1 hour'
            WHEN g % 50 = 8 THEN timestamptz '2090-06-01' + g * interval '1 hour'
            ELSE timestamptz '2044-01-01' + (g / 2) * interval '10 hours' END
FROM generate_series(1, 400) g
CROSS JOIN LATERAL (SELECT (ARRAY['fd.post.created', 'fd.post.edited', 'fd.comment.created', 'fd.award.given',
                                  'FD_DISCORD_JOIN', 'FD_SLACK_JOIN', 'FD_SLACK_LEAVE'])[1 + (g * 7 + g / 7) % 7] AS type) t;
SELECT a.tableoid::regclass AS partition, count(*)
FROM activity.activities a WHERE workspace_id LIKE 'fd-%' GROUP BY 1 ORDER BY 1;

-- walk(args, lim): every page of activity.page(<args>, "limit" => lim),
-- following each page's last cursor; the ids in order
CREATE FUNCTION pg_temp.walk(args text, lim int) RETURNS uuid[]
LANGUAGE plpgsql AS $$
DECLARE
    c activity.cursor;
    ids uuid[] := '{}';
    r record;
    more boolean := true;
    n int;
BEGIN
    WHILE more LOOP
        n := 0;
        more := false;
        FOR r IN EXECUTE format('SELECT id, cursor, has_more FROM activity.page(%s, after => $1, "limit" => %s)', args, lim) USING c LOOP
            ids := ids || r.id;
            c := r.cursor;
            more := r.has_more;
            n := n + 1;
        END LOOP;
        IF n > lim THEN RAISE EXCEPTION 'page longer than its limit'; END IF;
    END LOOP;
    RETURN ids;
END;
$$;
-- expected(cond, dir): the ids the hand-written query returns
CREATE FUNCTION pg_temp.expected(cond text, dir text) RETURNS uuid[]
LANGUAGE plpgsql AS $$
DECLARE
    ids uuid[];
BEGIN
    EXECUTE format('SELECT coalesce(array_agg(id ORDER BY occurred_at %s, id %s), ''{}'') FROM activity.activities
                    WHERE workspace_id LIKE ''fd-%%'' AND %s', dir, dir, cond) INTO ids;
    RETURN ids;
END;
$$;

CREATE TEMP TABLE cases (n serial, label text, args text, cond text, dir text);
INSERT INTO cases (label, args, cond, dir) VALUES
    ('workspace',                 $$'fd-ws'$$,                                   $$workspace_id = 'fd-ws'$$, 'DESC'),
    ('workspace, oldest first',   $$'fd-ws', direction => 'asc'$$,               $$workspace_id = 'fd-ws'$$, 'ASC'),
    ('entity',                    $$'fd-ws', subject_type => 'post', subject_id => 'p2'$$,
                                  $$workspace_id = 'fd-ws' AND subject_type = 'post' AND subject_id = 'p2'$$, 'DESC'),
    ('entity, oldest first',      $$'fd-ws', subject_type => 'post', subject_id => 'p2', direction => 'ASC'$$,
                                  $$workspace_id = 'fd-ws' AND subject_type = 'post' AND subject_id = 'p2'$$, 'ASC'),
    ('actor',                     $$'fd-ws', initiator_id => 'u1'$$,             $$workspace_id = 'fd-ws' AND initiator_id = 'u1'$$, 'DESC'),
    ('recipient',                 $$'fd-ws', recipient_id => 'm2'$$,             $$workspace_id = 'fd-ws' AND recipient_id = 'm2'$$, 'DESC'),
    ('all workspaces (in 2044)',  $$NULL, since => '2044-01-01', until => '2045-01-01'$$,
                                  $$occurred_at >= '2044-01-01' AND occurred_at < '2045-01-01'$$, 'DESC'),
    ('all workspaces, oldest first', $$NULL, since => '2044-01-01', until => '2045-01-01', direction => 'asc'$$,
                                  $$occurred_at >= '2044-01-01' AND occurred_at < '2045-01-01'$$, 'ASC'),
    ('types',                     $$'fd-ws', types => '{fd.comment.created,FD_SLACK_LEAVE}'$$,
                                  $$workspace_id = 'fd-ws' AND type IN ('fd.comment.created', 'FD_SLACK_LEAVE')$$, 'DESC'),
    ('type prefix',               $$'fd-ws', types => '{fd.post.*}'$$,           $$workspace_id = 'fd-ws' AND type LIKE 'fd.post.%'$$, 'DESC'),
    ('prefix and name',           $$'fd-ws', types => '{fd.post.*,fd.award.given}'$$,
                                  $$workspace_id = 'fd-ws' AND (type LIKE 'fd.post.%' OR type = 'fd.award.given')$$, 'DESC'),
    ('universal types',           $$'fd-ws', universal_types => '{FD_USER_JOIN}'$$,
                                  $$workspace_id = 'fd-ws' AND type IN ('FD_DISCORD_JOIN', 'FD_SLACK_JOIN')$$, 'DESC'),
    ('universal types and types', $$'fd-ws', universal_types => '{FD_USER_JOIN}', types => '{FD_SLACK_JOIN,fd.post.created}'$$,
                                  $$workspace_id = 'fd-ws' AND type = 'FD_SLACK_JOIN'$$, 'DESC'),
    ('actor types',               $$'fd-ws', actor_types => '{agent,system}'$$,  $$workspace_id = 'fd-ws' AND actor_type IN ('agent', 'system')$$, 'DESC'),
    ('platforms',                 $$'fd-ws', platforms => '{slack}'$$,           $$workspace_id = 'fd-ws' AND platform = 'slack'$$, 'DESC'),
    ('time window',               $$'fd-ws', since => '2044-02-10', until => '2044-04-03 10:00'$$,
                                  $$workspace_id = 'fd-ws' AND occurred_at >= '2044-02-10' AND occurred_at < '2044-04-03 10:00'$$, 'DESC'),
    ('time window, oldest first', $$'fd-ws', since => '2044-02-10', until => '2044-04-03 10:00', direction => 'asc'$$,
                                  $$workspace_id = 'fd-ws' AND occurred_at >= '2044-02-10' AND occurred_at < '2044-04-03 10:00'$$, 'ASC'),
    ('since only (default partition rows after it)', $$'fd-ws', since => '2044-06-01'$$,
                                  $$workspace_id = 'fd-ws' AND occurred_at >= '2044-06-01'$$, 'DESC'),
    ('until only (1990 rows)',    $$'fd-ws', until => '2044-01-05'$$,            $$workspace_id = 'fd-ws' AND occurred_at < '2044-01-05'$$, 'DESC'),
    ('everything combined',       $$NULL, types => '{fd.post.*}', actor_types => '{user}', initiator_id => 'u2', since => '2044-01-15', until => '2044-06-01', direction => 'asc'$$,
                                  $$type LIKE 'fd.post.%' AND actor_type = 'user' AND initiator_id = 'u2' AND occurred_at >= '2044-01-15' AND occurred_at < '2044-06-01'$$, 'ASC'),
    ('entity of all workspaces',  $$NULL, subject_type => 'post', subject_id => 'p0', since => '2044-01-01'$$,
                                  $$subject_type = 'post' AND subject_id = 'p0' AND occurred_at >= '2044-01-01'$$, 'DESC'),
    ('unknown type: nothing',     $$'fd-ws', types => '{fd.nope}'$$,             $$false$$, 'DESC'),
    ('prefix matching nothing',   $$'fd-ws', types => '{fd.nope.*}'$$,           $$false$$, 'DESC'),
    ('empty types: nothing',      $$'fd-ws', types => '{}'$$,                    $$false$$, 'DESC'),
    ('empty window: nothing',     $$'fd-ws', since => '2044-03-01', until => '2044-03-01'$$, $$false$$, 'DESC');
SELECT label, cardinality(pg_temp.expected(cond, dir)) AS rows,
       pg_temp.walk(args, 7) = pg_temp.expected(cond, dir) AS same_rows_in_order,
       pg_temp.walk(args, 200) = pg_temp.expected(cond, dir) AS same_in_one_page
FROM cases ORDER BY n;
-- the same through the cached plans instead of direct index scans
SET activity.direct_scans = off;
SELECT count(*) AS shapes,
       count(*) FILTER (WHERE pg_temp.walk(args, 7) = pg_temp.expected(cond, dir)
                          AND pg_temp.walk(args, 200) = pg_temp.expected(cond, dir)) AS same_through_plans
FROM cases;
RESET activity.direct_scans;

-- the first rows of a filtered feed, as an app shows them
SELECT occurred_at, type, actor_type, initiator_id, subject_id, has_more
FROM activity.page('fd-ws', "limit" => 4, types => '{fd.post.*}', actor_types => '{agent}', direction => 'asc');

-- a cursor carries its query's shape: replayed with another workspace,
-- filter, window or direction it is refused; with the same, accepted
SELECT cursor AS c FROM activity.page('fd-ws', "limit" => 1, types => '{fd.post.*}', since => '2044-02-01') \gset
SELECT label, pg_temp.expect_error(format('SELECT count(*) FROM activity.page(%s, after => %L)', args, :'c')) AS result
FROM (VALUES
    ('same query',            $$'fd-ws', types => '{fd.post.*}', since => '2044-02-01'$$),
    ('another workspace',     $$'fd-other', types => '{fd.post.*}', since => '2044-02-01'$$),
    ('all workspaces',        $$NULL, types => '{fd.post.*}', since => '2044-02-01'$$),
    ('no filter',             $$'fd-ws'$$),
    ('another type',          $$'fd-ws', types => '{fd.post.created}', since => '2044-02-01'$$),
    ('another window',        $$'fd-ws', types => '{fd.post.*}', since => '2044-02-02'$$),
    ('an extra filter',       $$'fd-ws', types => '{fd.post.*}', since => '2044-02-01', platforms => '{slack}'$$),
    ('the other direction',   $$'fd-ws', types => '{fd.post.*}', since => '2044-02-01', direction => 'asc'$$)
) AS t(label, args);
-- a cursor of 0.1's page() (a workspace, no filter, newest first) stays valid
SELECT cursor AS c0 FROM activity.page('fd-ws', "limit" => 1) \gset
SELECT activity.cursor_info(:'c0') IS NOT NULL AS readable,
       (SELECT count(*) FROM activity.page('fd-ws', :'c0', 200)) AS rest;

-- argument errors
SELECT label, pg_temp.expect_error(sql) AS error
FROM (VALUES
    ('subject_type alone',   $$SELECT * FROM activity.page('fd-ws', subject_type => 'post')$$),
    ('subject_id alone',     $$SELECT * FROM activity.page('fd-ws', subject_id => 'p1')$$),
    ('star in the middle',   $$SELECT * FROM activity.page('fd-ws', types => '{fd.*.created}')$$),
    ('star alone',           $$SELECT * FROM activity.page('fd-ws', types => '{*}')$$),
    ('prefix without dot',   $$SELECT * FROM activity.page('fd-ws', types => '{fd*}')$$),
    ('NULL type',            $$SELECT * FROM activity.page('fd-ws', types => '{fd.post.created,NULL}')$$),
    ('NULL universal type',  $$SELECT * FROM activity.page('fd-ws', universal_types => '{NULL}')$$),
    ('bad actor type',       $$SELECT * FROM activity.page('fd-ws', actor_types => '{robot}')$$),
    ('NULL actor type',      $$SELECT * FROM activity.page('fd-ws', actor_types => '{user,NULL}')$$),
    ('NULL platform',        $$SELECT * FROM activity.page('fd-ws', platforms => '{NULL}')$$),
    ('direction NULL',       $$SELECT * FROM activity.page('fd-ws', direction => NULL)$$),
    ('direction up',         $$SELECT * FROM activity.page('fd-ws', direction => 'up')$$)
) AS t(label, sql);
