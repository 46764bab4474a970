-- Backend-local caches are invalidated across sessions: a type registered
-- or changed in one session is seen by another session's very next
-- statement (also inside an open transaction), and a partition created or
-- dropped in one session is seen by another session's page().
--
-- dblink sessions commit: the names used are unique to the run, and the
-- registered types are removed at the end.
\set QUIET 1
\ir include/dblink.psql
SET TIME ZONE 'UTC';
SELECT 'r' || substr(md5(random()::text || clock_timestamp()::text), 1, 10) AS tag,
       2200 + floor(random() * 700)::int AS year \gset
SELECT set_config('activity_test.workspace', 'cache-' || :'tag', false) \g /dev/null
BEGIN;
SELECT plan(19);

\o /dev/null
SELECT pg_temp.connect('admin');
SELECT pg_temp.connect('app');
\o

-- q(session, sql): run a query in a session, return its single text value
CREATE FUNCTION pg_temp.q(conn text, sql text) RETURNS text
LANGUAGE sql AS $$ SELECT x FROM dblink(conn, sql) AS t(x text) $$;
-- rec(type, more args): record in the "app" session
CREATE FUNCTION pg_temp.rec(type text, args text DEFAULT '') RETURNS text
LANGUAGE sql AS $$
    SELECT pg_temp.q('app', format('SELECT activity.record(%L, %L, ''u''%s)::text',
                                   current_setting('activity_test.workspace'), type, args))
$$;

-- reg(type, more args): register in the "admin" session
CREATE FUNCTION pg_temp.reg(type text, args text DEFAULT '') RETURNS text
LANGUAGE sql AS $$
    SELECT pg_temp.q('admin', format('SELECT activity.register_type(%L%s)::text', type, args))
$$;

-- the app session's cache is warm: it has recorded before
SELECT lives_ok(format('SELECT pg_temp.reg(%L)', 'cache_' || :'tag' || '.known'),
                'admin registers a type');
SELECT ok(pg_temp.rec('cache_' || :'tag' || '.known') IS NOT NULL, 'app records it (its registry cache is now loaded)');

-- a new type, registered by admin, is accepted by app right after
SELECT throws_ok(format('SELECT pg_temp.rec(%L)', 'cache_' || :'tag' || '.fresh'),
                 '23503', format('unknown activity type "%s"', 'cache_' || :'tag' || '.fresh'),
                 'app refuses a type nobody registered');
SELECT lives_ok(format('SELECT pg_temp.reg(%L)', 'cache_' || :'tag' || '.fresh'),
                'admin registers that type');
SELECT ok(pg_temp.rec('cache_' || :'tag' || '.fresh') IS NOT NULL, 'app accepts it at its next statement');

-- a changed rule applies at once
SELECT lives_ok(format('SELECT pg_temp.reg(%L, %L)', 'cache_' || :'tag' || '.fresh', ', recipient => ''required'''),
                'admin makes the recipient required');
SELECT throws_ok(format('SELECT pg_temp.rec(%L)', 'cache_' || :'tag' || '.fresh'),
                 '23502', format('activity type "%s" requires a recipient_id', 'cache_' || :'tag' || '.fresh'),
                 'app refuses an activity without recipient right after');
SELECT ok(pg_temp.rec('cache_' || :'tag' || '.fresh', ', recipient_id => ''r''') IS NOT NULL, 'and accepts one with a recipient');
SELECT lives_ok(format('SELECT pg_temp.reg(%L, %L)', 'cache_' || :'tag' || '.fresh', ', platforms => ''{discord}'', actor_types => ''{agent}'', recipient => ''optional'''),
                'admin limits the type to discord agents');
SELECT throws_ok(format('SELECT pg_temp.rec(%L, %L)', 'cache_' || :'tag' || '.fresh', ', actor_type => ''agent'''),
                 '23502', format('platform of an activity of type "%s" must not be null', 'cache_' || :'tag' || '.fresh'),
                 'app requires the platform right after');
SELECT ok(pg_temp.rec('cache_' || :'tag' || '.fresh', ', actor_type => ''agent'', platform => ''discord''') IS NOT NULL,
          'and accepts a discord agent');

-- inside an open transaction of the app session too
SELECT lives_ok($$SELECT dblink_exec('app', 'BEGIN')$$, 'app opens a transaction');
SELECT ok(pg_temp.rec('cache_' || :'tag' || '.known') IS NOT NULL, 'app records in it');
SELECT lives_ok(format('SELECT pg_temp.reg(%L)', 'cache_' || :'tag' || '.intx'),
                'admin registers another type meanwhile');
SELECT ok(pg_temp.rec('cache_' || :'tag' || '.intx') IS NOT NULL, 'app accepts it within its open transaction');
SELECT lives_ok($$SELECT dblink_exec('app', 'COMMIT')$$, 'app commits');

-- a deleted type is refused at once
SELECT lives_ok(format('SELECT dblink_exec(''admin'', %L)', format('DELETE FROM activity.event_types WHERE name = %L', 'cache_' || :'tag' || '.intx')),
                'admin deletes that type from the registry');
SELECT throws_ok(format('SELECT pg_temp.rec(%L)', 'cache_' || :'tag' || '.intx'),
                 '23503', format('unknown activity type "%s"', 'cache_' || :'tag' || '.intx'),
                 'app refuses it right after');

-- the partition list: app pages, admin creates a partition that takes rows
-- out of the default partition and drops an empty one, app pages again
\o /dev/null
SELECT pg_temp.rec('cache_' || :'tag' || '.known', format(', occurred_at => %L', make_timestamptz(:year, m, 15, 0, 0, 0, 'UTC')))
FROM generate_series(1, 6) m;
SELECT pg_temp.q('app', format('SELECT count(*)::text FROM activity.page(%L, NULL, 200)', 'cache-' || :'tag'));
SELECT pg_temp.q('admin', format('SELECT count(*)::text FROM activity.create_partitions(%L, %L)',
                                 make_timestamptz(:year, 2, 1, 0, 0, 0, 'UTC'), make_timestamptz(:year, 5, 1, 0, 0, 0, 'UTC')));
SELECT pg_temp.q('admin', format('SELECT count(*)::text FROM activity.create_partitions(%L, %L)',
                                 make_timestamptz(:year + 1, 1, 1, 0, 0, 0, 'UTC'), make_timestamptz(:year + 1, 2, 1, 0, 0, 0, 'UTC')));
SELECT pg_temp.q('app', format('SELECT count(*)::text FROM activity.page(%L, NULL, 200)', 'cache-' || :'tag'));
SELECT dblink_exec('admin', format('DROP TABLE activity_partitions.activities_p%s0101', :year + 1));
\o
SELECT is(pg_temp.q('app', format($$SELECT string_agg(to_char(occurred_at, 'MM'), ',' ORDER BY ordinality)
                                    FROM activity.page(%L, NULL, 200) WITH ORDINALITY WHERE occurred_at >= %L$$, 'cache-' || :'tag', make_timestamptz(:year, 1, 1, 0, 0, 0, 'UTC'))),
          '06,05,04,03,02,01',
          'app''s page() sees the new partitions (rows moved out of the default partition) and not the dropped one');

-- clean up the registry
\o /dev/null
SELECT dblink_exec('admin', format('DELETE FROM activity.event_types WHERE name LIKE %L', 'cache\_' || :'tag' || '.%'));
SELECT dblink_disconnect('admin');
SELECT dblink_disconnect('app');
\o

SELECT * FROM finish();
ROLLBACK;
