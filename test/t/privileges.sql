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
SELECT plan(29);
SET LOCAL TIME ZONE 'UTC';

CREATE ROLE activity_test_app;
GRANT USAGE ON SCHEMA activity TO activity_test_app;
GRANT INSERT, SELECT ON activity.activities TO activity_test_app;
GRANT EXECUTE ON FUNCTION activity.record(text, text, text, jsonb, text, text, integer, timestamptz, text, text, text, uuid, uuid, text),
                          activity.page(text, activity.cursor, integer, text, text, text, text, text[], text[], text[], text[], timestamp with time zone, timestamp with time zone, text, text[], uuid, text, jsonb) TO activity_test_app;
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

-- Internal functions are not for applications: none is executable by
-- PUBLIC but those the public functions (running with the caller's rights)
-- and the validation constraint call, and the capture trigger (CREATE
-- TRIGGER, in activity.track(), needs EXECUTE on it) and what it calls
SELECT is((SELECT string_agg(p.proname, ', ' ORDER BY p.proname) FROM pg_proc p
           WHERE p.pronamespace = 'activity'::regnamespace AND p.proname LIKE '\_%'
             AND (p.proacl IS NULL OR EXISTS (SELECT 1 FROM aclexplode(p.proacl) a
                                              WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE'))),
          '_bucket_bounds, _bucket_bursts, _bucket_counts, _bucket_expr, _bursts, _capture, _chain, _chain_genesis, _chain_links, _chain_step, _changes_chunk, _check_limit, _check_offset_args, _columns, _counts, _current_snapshot, _cursor_from_bytea, _event_digest, _feed_filters, _feed_indexes, _group_key, _incarnation, _index_counts_possible, _interval_supported, _intervals_between, _mark_digest, _mentions, _narrowing_changes, _next_xact, _owns_log, _personal_paths, '
          '_position, _position_text, _redact_metadata, _replace_strings, _retention_condition, _retention_cutoff, _row_changes, _row_estimate, _row_fields, _schema_properties, _settings, _snapshot_covers, _type_matches, _type_prefixes, _type_subject, _unknown_platforms, _unread, _valid_activity, _xact_chunk',
          'the only internal functions PUBLIC may execute are the ones public functions, the validation constraint and the capture trigger call');
SET LOCAL ROLE activity_test_app;
SELECT throws_ok($$SELECT activity._expire_default(now())$$, '42501', NULL,
                 'the application role cannot run a maintenance step (_expire_default)');
SELECT throws_ok($$SELECT activity._move_rows('activity_partitions.activities_default', now(), now())$$, '42501', NULL,
                 '... nor _move_rows');
SELECT throws_ok($$SELECT activity._delete_expired('activity_partitions.activities_default', now(), NULL, NULL, 10, 'x')$$, '42501', NULL,
                 '... nor _delete_expired (retention rules)');
SELECT throws_ok($$SELECT activity._redact_rows('activity_partitions.activities_default', NULL, 'u1', 'x', 1)$$, '42501', NULL,
                 '... nor _redact_rows (erasure)');
SELECT throws_ok($$SELECT activity.redact(NULL, 'u1', 'ticket 1')$$, '42501', NULL,
                 'the application role cannot erase a member');
SELECT throws_ok($$SELECT activity.add_retention('1 day', '{priv.*}')$$, '42501', NULL,
                 'the application role cannot add a retention rule');
RESET ROLE;
-- the validation constraint, called on its own, registers an id only for a
-- role that may insert into the log
CREATE ROLE activity_test_reader;
GRANT USAGE ON SCHEMA activity TO activity_test_reader;
GRANT SELECT ON activity.activities TO activity_test_reader;
SET LOCAL ROLE activity_test_reader;
SELECT throws_ok($$SELECT activity._valid_activity('01890000-0000-7000-8000-0000000be001', 'priv-ws', NULL, 'priv.event', 0::int2,
                                                   'user', 'u1', NULL, NULL, NULL, NULL, '{}', '2042-01-05', now(), NULL, pg_current_xact_id())$$,
                 '42501', 'permission denied to record activities',
                 'a role without INSERT on the log cannot register an id by calling the validation constraint');
RESET ROLE;
SELECT is((SELECT count(*) FROM activity.event_ids WHERE id = '01890000-0000-7000-8000-0000000be001'), 0::bigint,
          '... and no id was registered');
-- the owner of the log (activity.set_owner()) may run the maintenance steps
CREATE ROLE activity_test_owner;
SELECT activity.set_owner('activity_test_owner') \g /dev/null
SELECT ok(has_function_privilege('activity_test_owner', 'activity._create_partitions(timestamptz, timestamptz, boolean)', 'EXECUTE')
          AND has_function_privilege('activity_test_owner', 'activity._move_rows(regclass, timestamptz, timestamptz)', 'EXECUTE'),
          'set_owner() lets the new owner run the maintenance steps');
SET LOCAL ROLE activity_test_owner;
SELECT lives_ok($$SELECT activity.create_partitions('2044-01-01', '2044-02-01')$$, '... and it creates partitions');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
