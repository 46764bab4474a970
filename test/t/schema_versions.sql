-- Schema versions registered in one session are enforced in every other
-- session from its next statement (backend caches are invalidated), and
-- concurrent registrations of one type get distinct, consecutive versions.
--
-- dblink sessions commit: the type name is unique to the run.
\set QUIET 1
\ir include/dblink.psql
SET TIME ZONE 'UTC';
SELECT 'sv_' || substr(md5(random()::text || clock_timestamp()::text), 1, 10) AS tag \gset
BEGIN;
SELECT plan(7);

\o /dev/null
SELECT pg_temp.connect('admin');
SELECT pg_temp.connect('app');
SELECT pg_temp.connect('admin2');
\o

CREATE FUNCTION pg_temp.q(conn text, sql text) RETURNS text
LANGUAGE sql AS $$ SELECT x FROM dblink(conn, sql) AS t(x text) $$;
CREATE FUNCTION pg_temp.rec(conn text, type text, metadata text, args text DEFAULT '') RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    RETURN pg_temp.q(conn, format('SELECT activity.record(%L, %L, ''u'', %L%s)::text',
                                  'sv-ws', type, metadata, args));
EXCEPTION WHEN OTHERS THEN
    RETURN 'error: ' || SQLERRM;
END;
$$;

SELECT pg_temp.q('admin', format('SELECT activity.register_type(%L)::text', :'tag' || '.post')) \g /dev/null
-- the app session warms its cache: no schema yet, anything goes (version 0)
SELECT is(pg_temp.q('app', format($$SELECT activity.record('sv-ws', %L, 'u', '{"x": 1}')::text IS NOT NULL$$, :'tag' || '.post')),
          't', 'before any schema, any object is accepted');

-- admin registers version 1; app's very next statement enforces it
SELECT is(pg_temp.q('admin', format($$SELECT activity.register_schema(%L, '{"required": ["post_id"]}')::text$$, :'tag' || '.post')),
          '1', 'admin registers version 1');
SELECT matches(pg_temp.rec('app', :'tag' || '.post', '{"x": 1}'),
               'metadata does not match schema version 1',
               'the other session enforces version 1 at once');

-- inside an open transaction, too
SELECT pg_temp.q('app', 'BEGIN; SELECT 1') \g /dev/null
SELECT pg_temp.q('admin', format($$SELECT activity.register_schema(%L, '{"required": ["post_id"], "properties": {"feed": {"type": "string"}}}')::text$$,
                                 :'tag' || '.post')) \g /dev/null
SELECT pg_temp.q('app', format($$SELECT activity.record('sv-ws', %L, 'u', '{"post_id": "p"}')::text$$, :'tag' || '.post')) \g /dev/null
SELECT is(pg_temp.q('app', format($$SELECT max(version)::text FROM activity.activities WHERE type = %L$$, :'tag' || '.post')),
          '2', 'an open transaction records with version 2 from its next statement');
SELECT pg_temp.q('app', 'COMMIT; SELECT 1') \g /dev/null

-- retirement reaches the other session too
SELECT pg_temp.q('admin', format($$SELECT (activity.retire_schema(%L, 1)).version::text$$, :'tag' || '.post')) \g /dev/null
SELECT matches(pg_temp.rec('app', :'tag' || '.post', '{"post_id": "p"}', ', version => 1'),
               'is retired', 'a retired version is refused by the other session at once');

-- two sessions register at the same time: versions 3 and 4, one each
SELECT dblink_send_query('admin', format($$SELECT activity.register_schema(%L, '{"required": ["post_id"]}', 'none')$$, :'tag' || '.post')) \g /dev/null
SELECT dblink_send_query('admin2', format($$SELECT activity.register_schema(%L, '{"required": ["post_id"]}', 'none')$$, :'tag' || '.post')) \g /dev/null
SELECT set_eq(
    $$SELECT v FROM dblink_get_result('admin') AS t(v int) UNION ALL SELECT v FROM dblink_get_result('admin2') AS t(v int)$$,
    ARRAY[3, 4], 'concurrent registrations get distinct consecutive versions');
SELECT is((SELECT count(*)::int FROM activity.schemas WHERE type = :'tag' || '.post'), 4,
          'four versions are registered');

\o /dev/null
SELECT dblink_disconnect('admin'), dblink_disconnect('app'), dblink_disconnect('admin2');
\o
SELECT * FROM finish();
ROLLBACK;
