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
SELECT plan(53);

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

-- a subject rule too (and capture's property list, from the same cache)
SELECT ok(pg_temp.reg('cache_' || :'tag' || '.about') IS NOT NULL AND pg_temp.rec('cache_' || :'tag' || '.about') IS NOT NULL,
          'app records a type with no subject rule');
SELECT lives_ok(format('SELECT pg_temp.reg(%L, %L)', 'cache_' || :'tag' || '.about', ', subject_type => ''doc'''),
                'admin makes the type about docs');
SELECT throws_ok(format('SELECT pg_temp.rec(%L)', 'cache_' || :'tag' || '.about'),
                 '23514', format('an activity of type "%s" must be about a subject of type "doc"', 'cache_' || :'tag' || '.about'),
                 'app refuses one without a doc subject right after');
SELECT ok(pg_temp.rec('cache_' || :'tag' || '.about', ', subject_type => ''doc'', subject_id => ''d1''') IS NOT NULL,
          'and accepts one about a doc');

-- platforms and universal types too: registered by admin, known to app at
-- its next statement
SELECT ok(pg_temp.reg('cache_' || :'tag' || '.plat') IS NOT NULL, 'admin registers a type for any platform');
SELECT throws_ok(format('SELECT pg_temp.rec(%L, %L)', 'cache_' || :'tag' || '.plat', format(', platform => %L', 'cp_' || :'tag')),
                 '23503', format('unknown platform "%s"', 'cp_' || :'tag'),
                 'app refuses a platform nobody registered');
SELECT lives_ok(format('SELECT pg_temp.q(%L, %L)', 'admin', format('SELECT activity.register_platform(%L)::text', 'cp_' || :'tag')),
                'admin registers that platform');
SELECT ok(pg_temp.rec('cache_' || :'tag' || '.plat', format(', platform => %L', 'cp_' || :'tag')) IS NOT NULL,
          'app accepts it at its next statement');
\o /dev/null
SELECT pg_temp.q('app', format('SELECT activity.universal_type(%L)', 'cache_' || :'tag' || '.plat'));
SELECT pg_temp.q('admin', format('SELECT activity.register_universal_type(%L)::text', 'CACHE_' || upper(:'tag')));
SELECT pg_temp.reg('cache_' || :'tag' || '.plat', format(', universal_type => %L', 'CACHE_' || upper(:'tag')));
\o
SELECT is(pg_temp.q('app', format('SELECT activity.universal_type(%L)', 'cache_' || :'tag' || '.plat')),
          'CACHE_' || upper(:'tag'), 'app maps the type onto the universal type registered since');

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

-- A schema registered by another session applies at once, also in a
-- transaction whose snapshot is older than the registration (REPEATABLE
-- READ, SERIALIZABLE): the registry is read with a fresh snapshot, never the
-- transaction's. (A stale registry used to store metadata breaking the new
-- schema as version 0.)
SELECT lives_ok(format('SELECT pg_temp.reg(%L)', 'cache_' || :'tag' || '.rr'), 'admin registers a type without schema');
SELECT ok(pg_temp.rec('cache_' || :'tag' || '.rr', ', metadata => ''{}''') IS NOT NULL, 'app records it (version 0)');
SELECT lives_ok($$SELECT dblink_exec('app', 'BEGIN ISOLATION LEVEL REPEATABLE READ')$$, 'app opens a REPEATABLE READ transaction ...');
SELECT is(pg_temp.q('app', 'SELECT count(*)::text FROM activity.event_types WHERE name = ''nothing'''), '0', '... and takes its snapshot');
SELECT lives_ok(format($$SELECT pg_temp.q('admin', %L)$$,
                       format('SELECT activity.register_schema(%L, %L)::text', 'cache_' || :'tag' || '.rr', '{"required": ["x"]}')),
                'admin registers a schema requiring "x"');
SELECT throws_ok(format('SELECT pg_temp.rec(%L, %L)', 'cache_' || :'tag' || '.rr', ', metadata => ''{}'''),
                 '23514', format('metadata does not match schema version 1 of activity type "%s"', 'cache_' || :'tag' || '.rr'),
                 'app, in REPEATABLE READ, checks metadata against the new schema');
SELECT lives_ok($$SELECT dblink_exec('app', 'ROLLBACK')$$, 'app rolls back');
SELECT lives_ok($$SELECT dblink_exec('app', 'BEGIN ISOLATION LEVEL SERIALIZABLE')$$, 'app opens a SERIALIZABLE transaction ...');
SELECT is(pg_temp.q('app', 'SELECT count(*)::text FROM activity.event_types WHERE name = ''nothing'''), '0', '... and takes its snapshot');
SELECT lives_ok(format($$SELECT pg_temp.q('admin', %L)$$,
                       format('SELECT activity.register_schema(%L, %L)::text', 'cache_' || :'tag' || '.rr',
                              '{"required": ["x"], "properties": {"y": {"type": "integer"}}}')),
                'admin registers version 2');
SELECT pg_temp.rec('cache_' || :'tag' || '.rr', ', metadata => ''{"x": 1}''') AS serializable_id \gset
SELECT is(pg_temp.q('app', format('SELECT version::text FROM activity.activities WHERE id = %L', :'serializable_id')),
          '2', 'app, in SERIALIZABLE, records the new latest version');
\o /dev/null
SELECT dblink_exec('app', 'SAVEPOINT before_bad_row');
\o
SELECT throws_ok(format('SELECT pg_temp.rec(%L, %L)', 'cache_' || :'tag' || '.rr', ', metadata => ''{"x": 1, "y": "no"}'''),
                 '23514', format('metadata does not match schema version 2 of activity type "%s"', 'cache_' || :'tag' || '.rr'),
                 'and checks it against version 2');
\o /dev/null
SELECT dblink_exec('app', 'ROLLBACK TO SAVEPOINT before_bad_row');
\o
SELECT is(dblink_exec('app', 'COMMIT'), 'COMMIT', 'app commits');
SELECT is(pg_temp.q('app', format($$SELECT string_agg(version::text, ',' ORDER BY recorded_at) FROM activity.activities
                                    WHERE type = %L$$, 'cache_' || :'tag' || '.rr')),
          '0,2', 'the log holds the version-0 row from before the schema and the version-2 row, nothing else');
-- and in READ COMMITTED inside an open transaction, statement by statement
SELECT lives_ok($$SELECT dblink_exec('app', 'BEGIN')$$, 'app opens a READ COMMITTED transaction');
SELECT lives_ok(format('SELECT pg_temp.reg(%L)', 'cache_' || :'tag' || '.rc'), 'admin registers another type');
SELECT ok(pg_temp.rec('cache_' || :'tag' || '.rc') IS NOT NULL, 'app records it');
SELECT lives_ok(format($$SELECT pg_temp.q('admin', %L)$$,
                       format('SELECT activity.register_schema(%L, %L)::text', 'cache_' || :'tag' || '.rc', '{"required": ["x"]}')),
                'admin gives it a schema');
SELECT throws_ok(format('SELECT pg_temp.rec(%L)', 'cache_' || :'tag' || '.rc'),
                 '23514', format('metadata does not match schema version 1 of activity type "%s"', 'cache_' || :'tag' || '.rc'),
                 'app''s next statement checks against it');
SELECT lives_ok($$SELECT dblink_exec('app', 'ROLLBACK')$$, 'app rolls back');

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

-- record() writes its row itself while the log is as the extension made it;
-- a trigger another session adds to the log applies to app's very next
-- record(), and stops applying once dropped
\o /dev/null
SELECT pg_temp.rec('cache_' || :'tag' || '.known');
SELECT dblink_exec('admin', format($f$CREATE FUNCTION public.cache_%s_mark() RETURNS trigger LANGUAGE plpgsql AS
    $b$ BEGIN NEW.metadata := NEW.metadata || '{"marked": true}'; RETURN NEW; END $b$$f$, :'tag'));
SELECT dblink_exec('admin', format('CREATE TRIGGER cache_%s_mark BEFORE INSERT ON activity.activities FOR EACH ROW EXECUTE FUNCTION public.cache_%s_mark()', :'tag', :'tag'));
\o
SELECT pg_temp.rec('cache_' || :'tag' || '.known') AS marked_id \gset
\o /dev/null
SELECT dblink_exec('admin', format('DROP TRIGGER cache_%s_mark ON activity.activities', :'tag'));
SELECT dblink_exec('admin', format('DROP FUNCTION public.cache_%s_mark()', :'tag'));
\o
SELECT pg_temp.rec('cache_' || :'tag' || '.known') AS unmarked_id \gset
SELECT is(pg_temp.q('admin', format($$SELECT string_agg(coalesce(metadata->>'marked', 'no'), ',' ORDER BY id)
                                     FROM activity.activities WHERE id IN (%L, %L)$$, :'marked_id', :'unmarked_id')),
          'true,no', 'a trigger another session adds to the log fires for app''s next record(), and not once dropped');
SELECT is(pg_temp.q('admin', format($$SELECT count(*)::text FROM activity.activities WHERE id IN (%L, %L)$$, :'marked_id', :'unmarked_id')),
          '2', '... each of those record()s stored its event once');

-- counts() reads the feed indexes while every partition has one: an index
-- another session drops sends app's next counts() to the SQL
SELECT is(pg_temp.q('app', 'SELECT activity._index_counts_possible()::text'), 'true',
          'app''s counts() reads the feed indexes');
\o /dev/null
SELECT dblink_exec('admin', format('DROP INDEX activity_partitions.activities_p%s0201_feed_idx', :year));
\o
SELECT is(pg_temp.q('app', 'SELECT activity._index_counts_possible()::text'), 'false',
          'a feed index dropped by another session: app''s next counts() takes the SQL');
\o /dev/null
SELECT dblink_exec('admin', format(d.definition, '')) FROM activity._index_definitions(format('activity_partitions.activities_p%s0201', :year)::regclass) d
WHERE d.name LIKE '%\_feed\_idx';
\o
SELECT is(pg_temp.q('app', 'SELECT activity._index_counts_possible()::text'), 'true',
          '... and the indexes again once that session has built it anew');

-- clean up the registry
\o /dev/null
-- (types with schema versions stay: they cannot be deleted)
SELECT dblink_exec('admin', format('DELETE FROM activity.event_types t WHERE name LIKE %L
                                    AND NOT EXISTS (SELECT 1 FROM activity.schemas s WHERE s.type = t.name)', 'cache\_' || :'tag' || '.%'));
SELECT dblink_exec('admin', format('DELETE FROM activity.platforms WHERE name = %L', 'cp_' || :'tag'));
SELECT dblink_exec('admin', format('DELETE FROM activity.universal_types WHERE name = %L', 'CACHE_' || upper(:'tag')));
SELECT dblink_disconnect('admin');
SELECT dblink_disconnect('app');
\o

SELECT * FROM finish();
ROLLBACK;
