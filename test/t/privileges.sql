-- An application role with the privileges the README recommends ("grant
-- INSERT/SELECT on activity.activities and EXECUTE on record/page to
-- application roles; keep maintain, create_partitions, configure for the
-- owner") can record, insert and page, and cannot change the log, the
-- registry or the partitions.
--
-- Regression (fixed): with exactly these grants, record() and INSERT used to
-- fail with "permission denied for table event_types" when the session's
-- registry cache was loaded as the application role, and page() with
-- "permission denied for schema activity_partitions". The extension's
-- internal reads now run as the table owner.
BEGIN;
SELECT plan(18);
SET LOCAL TIME ZONE 'UTC';

CREATE ROLE activity_test_app;
GRANT USAGE ON SCHEMA activity TO activity_test_app;
GRANT INSERT, SELECT ON activity.activities TO activity_test_app;
GRANT EXECUTE ON FUNCTION activity.record(text, text, text, jsonb, text, text, integer, timestamptz, text, text, text, uuid, uuid),
                          activity.page(text, activity.cursor, integer, text, text, text, text, text[], text[], text[], text[], timestamp with time zone, timestamp with time zone, text) TO activity_test_app;
SELECT activity.register_type('priv.event') IS NOT NULL AS registered \g /dev/null
SELECT activity.create_partitions('2042-01-01', '2042-02-01') \g /dev/null

-- registering made every session's registry cache stale: the next lookup
-- reloads it, here as the application role
SET LOCAL ROLE activity_test_app;
SELECT lives_ok($$SELECT activity.record('priv-ws', 'priv.event', 'u1', occurred_at => '2042-01-05')$$,
                'the application role can record()');
SELECT lives_ok($$INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
                  VALUES ('priv-ws', 'priv.event', 'u1', '1990-01-05')$$,
                'the application role can INSERT');
SELECT lives_ok($$SELECT * FROM activity.page('priv-ws')$$, 'the application role can page()');
SELECT lives_ok($$SELECT count(*) FROM activity.activities WHERE workspace_id = 'priv-ws'$$,
                'the application role can read the log');
SELECT throws_ok($$UPDATE activity.activities SET initiator_id = 'x' WHERE workspace_id = 'priv-ws'$$, '42501', NULL,
                 'the application role cannot UPDATE');
SELECT throws_ok($$DELETE FROM activity.activities WHERE workspace_id = 'priv-ws'$$, '42501', NULL,
                 'the application role cannot DELETE');
SELECT throws_ok($$SELECT activity.register_type('priv.other')$$, '42501', NULL,
                 'the application role cannot register types');
SELECT throws_ok($$SELECT activity.create_partitions('2042-02-01', '2042-03-01')$$, '42501', NULL,
                 'the application role cannot create partitions');
SELECT throws_ok($$SELECT activity.configure(premake => 5)$$, '42501', NULL,
                 'the application role cannot change the settings');
-- Only the owner's own session can store rows without validation (a
-- restore): activity.restoring does nothing for another role, nor through a
-- SECURITY DEFINER function the owner wrote for it, whether that function
-- writes through the log or straight into a partition
SET LOCAL activity.restoring = on;
SELECT throws_ok($$INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
                   VALUES ('priv-ws', 'priv.unknown', 'u1', '2042-01-05')$$, '23503', 'unknown activity type "priv.unknown"',
                 'activity.restoring does not let the application role skip validation');
RESET ROLE;
CREATE FUNCTION pg_temp.api_insert(type text) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    INSERT INTO activity.activities (workspace_id, type, version, initiator_id, occurred_at)
    VALUES ('priv-ws', type, 0, 'u1', '2042-01-06')
$$;
CREATE FUNCTION pg_temp.api_insert_partition(type text) RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    INSERT INTO activity_partitions.activities_p20420101 (workspace_id, type, version, initiator_id, occurred_at)
    VALUES ('priv-ws', type, 0, 'u1', '2042-01-06')
$$;
GRANT EXECUTE ON FUNCTION pg_temp.api_insert(text), pg_temp.api_insert_partition(text) TO activity_test_app;
SET LOCAL ROLE activity_test_app;
SELECT throws_ok($$SELECT pg_temp.api_insert('priv.unknown')$$, '23503', 'unknown activity type "priv.unknown"',
                 'a SECURITY DEFINER function of the owner, writing through the log, validates what the application role passes');
SELECT throws_ok($$SELECT pg_temp.api_insert_partition('priv.unknown')$$, '23503', 'unknown activity type "priv.unknown"',
                 'a SECURITY DEFINER function of the owner, writing straight into a partition, validates too');
RESET ROLE;
RESET activity.restoring;
-- the owner's own session may: straight into a partition (as pg_restore
-- does; test/sql/ingest_paths.sql), though not in a transaction that has
-- written through the log, as this one has ...
SAVEPOINT restoring;
SELECT throws_ok($$INSERT INTO activity_partitions.activities_p20420101 (workspace_id, type, version, initiator_id, occurred_at)
                  VALUES ('priv-ws', 'priv.restored', 0, 'u1', '2042-01-07')$$, '23503', 'unknown activity type "priv.restored"',
                 'the owner''s rows are checked in a transaction that wrote through the log');
-- ... or with activity.restoring on
SET LOCAL activity.restoring = on;
SELECT lives_ok($$INSERT INTO activity.activities (workspace_id, type, version, initiator_id, occurred_at)
                  VALUES ('priv-ws', 'priv.restored', 0, 'u1', '2042-01-07')$$,
                'and through the log with activity.restoring on (pg_restore --data-only of a root-loaded dump)');
ROLLBACK TO SAVEPOINT restoring;

-- maintain() moves rows out of the default partition as they are, even when
-- a rule has changed since they were recorded; a new row is checked by the
-- rule of today
SELECT activity.record('priv-ws', 'priv.event', 'u1', jsonb_build_object('text', repeat('x', 3000)),
                       occurred_at => '2043-03-05') IS NOT NULL AS recorded \g /dev/null
SET LOCAL activity.max_metadata_bytes = 1024;
SELECT throws_ok($$SELECT activity.record('priv-ws', 'priv.event', 'u1', jsonb_build_object('text', repeat('x', 3000)),
                                          occurred_at => '2043-03-06')$$,
                 '54000', 'metadata of an activity is too large', 'a new row over the lowered size limit is refused');
SELECT lives_ok($$SELECT activity.create_partitions('2043-03-01', '2043-04-01')$$,
                'the owner''s maintenance moves a row recorded under the older limit');
SELECT is((SELECT a.tableoid::regclass::text FROM activity.activities a
           WHERE workspace_id = 'priv-ws' AND occurred_at = '2043-03-05'),
          'activity_partitions.activities_p20430301', 'the row moved into its new partition');
SELECT is((SELECT count(*) FROM activity.activities WHERE workspace_id = 'priv-ws' AND occurred_at < '2043-01-01'), 2::bigint,
          'what the application role recorded is there');

SELECT * FROM finish();
ROLLBACK;
