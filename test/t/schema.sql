-- The extension's schema objects: schemas, tables, columns, types,
-- functions (with argument types, return types, volatility), operator,
-- triggers, indexes, pg_dump configuration, and a COMMENT on everything.
BEGIN;
SELECT plan(150);

-- schemas
SELECT has_schema('activity');
SELECT has_schema('activity_partitions');
SELECT has_extension('activity', 'activity');

-- tables
SELECT has_table('activity', 'activities', 'table activity.activities exists');
SELECT is_partitioned('activity', 'activities', 'activity.activities is partitioned');
SELECT has_table('activity', 'event_types', 'table activity.event_types exists');
SELECT has_table('activity', 'settings', 'table activity.settings exists');
SELECT has_table('activity_partitions', 'activities_default', 'the default partition exists');
SELECT is_partition_of('activity_partitions', 'activities_default', 'activity', 'activities',
                       'activities_default is a partition of activity.activities');
SELECT is(pg_get_expr(c.relpartbound, c.oid), 'DEFAULT', 'activities_default is the DEFAULT partition')
FROM pg_class c WHERE c.oid = 'activity_partitions.activities_default'::regclass;
SELECT is(pg_get_partkeydef('activity.activities'::regclass), 'RANGE (occurred_at)', 'partitioned by range of occurred_at');

-- columns of the log, in order, with their types
SELECT columns_are('activity', 'activities', ARRAY[
    'id', 'workspace_id', 'platform', 'type', 'version', 'actor_type', 'initiator_id', 'recipient_id',
    'subject_type', 'subject_id', 'caused_by', 'metadata', 'occurred_at', 'recorded_at', 'function_type', 'xact_id']);
SELECT is(array_agg(attname::text ORDER BY attnum),
          '{id,workspace_id,platform,type,version,actor_type,initiator_id,recipient_id,subject_type,subject_id,caused_by,metadata,occurred_at,recorded_at,function_type,xact_id}'::text[],
          'the columns of activity.activities are in the documented order')
FROM pg_attribute WHERE attrelid = 'activity.activities'::regclass AND attnum > 0 AND NOT attisdropped;
SELECT col_type_is('activity', 'activities', c, t, format('activities.%s is %s', c, t))
FROM (VALUES ('id', 'uuid'), ('workspace_id', 'text'), ('platform', 'text'), ('type', 'text'),
             ('version', 'smallint'), ('actor_type', 'text'), ('initiator_id', 'text'),
             ('recipient_id', 'text'), ('subject_type', 'text'), ('subject_id', 'text'),
             ('caused_by', 'uuid'), ('metadata', 'jsonb'), ('occurred_at', 'timestamp with time zone'),
             ('recorded_at', 'timestamp with time zone'), ('function_type', 'text'), ('xact_id', 'xid8')) v(c, t);
SELECT col_not_null('activity', 'activities', c, format('activities.%s is NOT NULL', c))
FROM unnest('{id,workspace_id,type,version,actor_type,metadata,occurred_at,recorded_at}'::name[]) c;
SELECT col_is_null('activity', 'activities', c, format('activities.%s is nullable', c))
FROM unnest('{platform,initiator_id,recipient_id,subject_type,subject_id,caused_by,function_type}'::name[]) c;
SELECT col_default_is('activity', 'activities', 'id', 'activity.uuidv7()', 'id defaults to a UUIDv7');
SELECT col_default_is('activity', 'activities', 'actor_type', 'user'::text, 'actor_type defaults to user');
SELECT col_default_is('activity', 'activities', 'metadata', '{}'::jsonb, 'metadata defaults to {}');
SELECT col_default_is('activity', 'activities', 'xact_id', 'pg_current_xact_id()', 'xact_id defaults to the writing transaction');

-- registry and settings columns
SELECT columns_are('activity', 'event_types', ARRAY[
    'name', 'description', 'universal_type', 'recipient', 'platforms', 'actor_types', 'created_at', 'updated_at', 'history', 'subject_type',
    'function_types', 'caused_by']);
SELECT col_is_pk('activity', 'event_types', 'name', 'event_types is keyed by name');
SELECT col_type_is('activity', 'event_types', 'platforms', 'text[]', 'event_types.platforms is text[]');
SELECT col_type_is('activity', 'event_types', 'actor_types', 'text[]', 'event_types.actor_types is text[]');
SELECT columns_are('activity', 'settings', ARRAY['singleton', 'partition_interval', 'premake', 'retention', 'metadata_index', 'hash_chain']);
SELECT columns_are('activity', 'platforms', ARRAY['name', 'description', 'builtin', 'created_at']);
SELECT columns_are('activity', 'universal_types', ARRAY['name', 'description', 'platforms', 'created_at', 'updated_at']);
SELECT set_eq($$SELECT name FROM activity.platforms WHERE builtin$$, ARRAY['discord', 'minecraft', 'slack', 'telegram', 'twitch'],
              'the five platforms of the product documents are built in');
SELECT is((SELECT extcondition[array_position(extconfig, 'activity.platforms'::regclass)] FROM pg_extension WHERE extname = 'activity'),
          'WHERE NOT builtin', 'pg_dump keeps the platforms registered after CREATE EXTENSION, which makes the built-in ones');
SELECT col_type_is('activity', 'settings', 'partition_interval', 'interval', 'settings.partition_interval is interval');

-- the cursor type and its operator
SELECT has_type('activity', 'cursor', 'type activity.cursor exists');
SELECT is(t.typlen::int, -1, 'activity.cursor is variable length') FROM pg_type t WHERE t.oid = 'activity.cursor'::regtype;
SELECT has_operator('activity.cursor', 'activity', '=', 'activity.cursor', 'boolean',
                    'operator activity.= (cursor, cursor) exists');

-- functions, with argument types and results
SELECT has_function('activity', f, a, format('function activity.%s(%s) exists', f, array_to_string(a, ', ')))
FROM (VALUES
    ('uuidv7', '{}'::name[]),
    ('uuidv7_time', '{uuid}'),
    ('cursor_in', '{cstring}'),
    ('cursor_out', '{activity.cursor}'),
    ('cursor_recv', '{internal}'),
    ('cursor_send', '{activity.cursor}'),
    ('cursor_eq', '{activity.cursor,activity.cursor}'),
    ('cursor_info', '{activity.cursor}'),
    ('register_type', '{text,text,text,text,text[],text[],text,text[],text[]}'),
    ('record', '{text,text,text,jsonb,text,text,integer,"timestamp with time zone",text,text,text,uuid,uuid,text}'),
    ('page', '{text,activity.cursor,integer,text,text,text,text,text[],text[],text[],text[],"timestamp with time zone","timestamp with time zone",text,text[],uuid,text,jsonb}'),
    ('partition_start', '{"timestamp with time zone"}'),
    ('partitions', '{}'),
    ('create_partitions', '{"timestamp with time zone","timestamp with time zone"}'),
    ('maintain', '{}'),
    ('configure', '{interval,integer,interval,boolean,boolean,boolean}'),
    ('register_platform', '{text,text}'),
    ('add_retention', '{interval,text[],text}'),
    ('remove_retention', '{integer}'),
    ('retention_preview', '{}'),
    ('redact', '{text,text,text}'),
    ('verify', '{text,jsonb}'),
    ('chain_digest', '{text}'),
    ('default_partition_rows', '{}'),
    ('maintenance_due', '{}'),
    ('register_universal_type', '{text,text,text[]}')
) v(f, a);
SELECT function_returns('activity', 'uuidv7', '{}'::name[], 'uuid');
SELECT function_returns('activity', 'uuidv7_time', '{uuid}'::name[], 'timestamp with time zone');
SELECT function_returns('activity', 'record',
    '{text,text,text,jsonb,text,text,integer,"timestamp with time zone",text,text,text,uuid,uuid,text}'::name[], 'uuid');
SELECT function_returns('activity', 'register_type', '{text,text,text,text,text[],text[],text,text[],text[]}'::name[], 'activity.event_types');
SELECT function_returns('activity', 'page', '{text,activity.cursor,integer,text,text,text,text,text[],text[],text[],text[],"timestamp with time zone","timestamp with time zone",text,text[],uuid,text,jsonb}'::name[], 'setof record');
SELECT function_returns('activity', 'configure', '{interval,integer,interval,boolean,boolean,boolean}'::name[], 'activity.settings');
SELECT function_returns('activity', 'add_retention', '{interval,text[],text}'::name[], 'activity.retention_rules');
SELECT function_returns('activity', 'redact', '{text,text,text}'::name[], 'bigint');
SELECT is(pg_get_function_arguments('activity.add_retention(interval, text[], text)'::regprocedure),
          'keep interval, types text[] DEFAULT NULL::text[], workspace_id text DEFAULT NULL::text',
          'add_retention() argument names and defaults');
SELECT is(pg_get_function_arguments('activity.verify(text, jsonb)'::regprocedure),
          'workspace_id text DEFAULT NULL::text, digests jsonb DEFAULT NULL::jsonb',
          'verify() argument names and defaults');
SELECT is(pg_get_function_result('activity.verify(text, jsonb)'::regprocedure),
          'TABLE(workspace text, seq bigint, event_id uuid, problem text, detail text)',
          'verify() returns one row per problem');
SELECT is(pg_get_function_result('activity.page(text, activity.cursor, integer, text, text, text, text, text[], text[], text[], text[], timestamp with time zone, timestamp with time zone, text, text[], uuid, text, jsonb)'::regprocedure),
          'TABLE(id uuid, workspace_id text, platform text, type text, version smallint, actor_type text, initiator_id text, recipient_id text, subject_type text, subject_id text, caused_by uuid, metadata jsonb, occurred_at timestamp with time zone, recorded_at timestamp with time zone, function_type text, cursor activity.cursor, has_more boolean)',
          'page() returns the log columns, a cursor and has_more');
SELECT is(pg_get_function_arguments('activity.record(text,text,text,jsonb,text,text,integer,timestamp with time zone,text,text,text,uuid,uuid,text)'::regprocedure),
          'workspace_id text, type text, initiator_id text DEFAULT NULL::text, metadata jsonb DEFAULT ''{}''::jsonb, recipient_id text DEFAULT NULL::text, actor_type text DEFAULT ''user''::text, version integer DEFAULT NULL::integer, occurred_at timestamp with time zone DEFAULT NULL::timestamp with time zone, platform text DEFAULT NULL::text, subject_type text DEFAULT NULL::text, subject_id text DEFAULT NULL::text, caused_by uuid DEFAULT NULL::uuid, id uuid DEFAULT NULL::uuid, function_type text DEFAULT NULL::text',
          'record() argument names and defaults');
SELECT is(pg_get_function_arguments('activity.page(text, activity.cursor, integer, text, text, text, text, text[], text[], text[], text[], timestamp with time zone, timestamp with time zone, text, text[], uuid, text, jsonb)'::regprocedure),
          'workspace_id text, after activity.cursor DEFAULT NULL::activity.cursor, "limit" integer DEFAULT 50, subject_type text DEFAULT NULL::text, subject_id text DEFAULT NULL::text, initiator_id text DEFAULT NULL::text, recipient_id text DEFAULT NULL::text, types text[] DEFAULT NULL::text[], universal_types text[] DEFAULT NULL::text[], actor_types text[] DEFAULT NULL::text[], platforms text[] DEFAULT NULL::text[], since timestamp with time zone DEFAULT NULL::timestamp with time zone, until timestamp with time zone DEFAULT NULL::timestamp with time zone, direction text DEFAULT ''desc''::text, function_types text[] DEFAULT NULL::text[], caused_by uuid DEFAULT NULL::uuid, member_id text DEFAULT NULL::text, metadata jsonb DEFAULT NULL::jsonb',
          'page() argument names and defaults');
SELECT volatility_is('activity', 'uuidv7', '{}'::name[], 'volatile');
SELECT volatility_is('activity', 'uuidv7_time', '{uuid}'::name[], 'immutable');
SELECT volatility_is('activity', 'record',
    '{text,text,text,jsonb,text,text,integer,"timestamp with time zone",text,text,text,uuid,uuid,text}'::name[], 'volatile');
SELECT volatility_is('activity', 'page', '{text,activity.cursor,integer,text,text,text,text,text[],text[],text[],text[],"timestamp with time zone","timestamp with time zone",text,text[],uuid,text,jsonb}'::name[], 'stable');
SELECT is_strict('activity', 'uuidv7_time', '{uuid}'::name[]);
SELECT isnt_strict('activity', 'record',
    '{text,text,text,jsonb,text,text,integer,"timestamp with time zone",text,text,text,uuid,uuid,text}'::name[],
    'record() is not strict (NULL arguments mean defaults or are validated)');
SELECT isnt_strict('activity', 'page', '{text,activity.cursor,integer,text,text,text,text,text[],text[],text[],text[],"timestamp with time zone","timestamp with time zone",text,text[],uuid,text,jsonb}'::name[],
    'page() is not strict (a NULL cursor means the first page)');
SELECT function_lang_is('activity', 'record',
    '{text,text,text,jsonb,text,text,integer,"timestamp with time zone",text,text,text,uuid,uuid,text}'::name[], 'c');
SELECT function_lang_is('activity', 'page', '{text,activity.cursor,integer,text,text,text,text,text[],text[],text[],text[],"timestamp with time zone","timestamp with time zone",text,text[],uuid,text,jsonb}'::name[], 'c');
SELECT is(count(*), 0::bigint, 'no function of the extension is SECURITY DEFINER')
FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'activity'
WHERE p.prosecdef;

-- triggers
SELECT col_has_check('activity_partitions', 'activities_default', ARRAY['id', 'workspace_id', 'platform', 'type', 'version', 'actor_type',
                      'initiator_id', 'recipient_id', 'subject_type', 'subject_id', 'caused_by', 'metadata', 'occurred_at', 'recorded_at', 'function_type', 'xact_id']::name[],
                      'the validation constraint covers every column a rule reads');
SELECT is((SELECT pg_get_constraintdef(oid) FROM pg_constraint
           WHERE conrelid = 'activity_partitions.activities_default'::regclass AND conname = 'activities_valid'),
          'CHECK (activity._valid_activity(id, workspace_id, platform, type, version, actor_type, initiator_id, recipient_id, subject_type, subject_id, caused_by, metadata, occurred_at, recorded_at, function_type, xact_id)) NOT VALID',
          'validation is the CHECK constraint activities_valid of each partition, NOT VALID (rows are not judged again)');
SELECT is((SELECT count(*) FROM pg_constraint WHERE conrelid = 'activity.activities'::regclass AND contype = 'c'),
          0::bigint, 'activity.activities itself has no CHECK constraint (partitions carry it, so that a restore does not re-judge rows)');
SELECT has_trigger('activity', 'activities', 'activities_through_log', 'the through-the-log statement trigger is on activity.activities');
SELECT trigger_is('activity', 'activities', 'activities_through_log', 'activity', '_through_log');
SELECT has_trigger('activity', 'activities', 'activities_complete', 'the completion trigger is on activity.activities');
SELECT trigger_is('activity', 'activities', 'activities_complete', 'activity', '_complete');
SELECT has_trigger('activity', 'activities', 'activities_caused_by', 'the caused_by trigger is on activity.activities');
SELECT trigger_is('activity', 'activities', 'activities_caused_by', 'activity', '_check_caused_by');
SELECT has_trigger('activity', 'activities', 'activities_append_only', 'the append-only trigger is on activity.activities');
SELECT trigger_is('activity', 'activities', 'activities_append_only', 'activity', '_append_only');
SELECT has_trigger('activity', 'activities', 'activities_no_truncate', 'the TRUNCATE guard is on activity.activities');
SELECT trigger_is('activity', 'activities', 'activities_no_truncate', 'activity', '_append_only');
SELECT has_trigger('activity', 'event_types', 'event_types_changed', 'the registry invalidation trigger is on event_types');
SELECT trigger_is('activity', 'event_types', 'event_types_changed', 'activity', '_registry_changed');
SELECT trigger_is('activity', 'platforms', 'platforms_changed', 'activity', '_registry_changed');
SELECT trigger_is('activity', 'universal_types', 'universal_types_changed', 'activity', '_registry_changed');
SELECT triggers_are('activity_partitions', 'activities_default',
    ARRAY['activities_complete', 'activities_caused_by', 'activities_append_only', 'activities_no_truncate'],
    'the default partition carries the completion, caused_by, append-only and TRUNCATE triggers');
SELECT ok(EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = 'activity_partitions.activities_default'::regclass
                  AND conname = 'activities_valid' AND conislocal AND NOT convalidated),
          'the default partition carries its own validation constraint, NOT VALID');
SELECT is(pg_get_triggerdef(oid),
          'CREATE TRIGGER activities_complete BEFORE INSERT ON activity.activities FOR EACH ROW WHEN (((new.version IS NULL) OR (new.metadata IS NULL) OR (new.id IS NULL) OR (new.recorded_at IS NULL) OR (new.workspace_id IS NULL) OR (new.type IS NULL) OR (new.actor_type IS NULL) OR (new.occurred_at IS NULL) OR (new.xact_id IS DISTINCT FROM pg_current_xact_id()))) EXECUTE FUNCTION activity._complete()',
          'completion is a BEFORE INSERT row trigger fired only for rows with a NULL to complete or refuse')
FROM pg_trigger WHERE tgrelid = 'activity.activities'::regclass AND tgname = 'activities_complete';
SELECT is(pg_get_triggerdef(oid),
          'CREATE TRIGGER activities_caused_by AFTER INSERT ON activity.activities FOR EACH ROW WHEN ((new.caused_by IS NOT NULL)) EXECUTE FUNCTION activity._check_caused_by()',
          'caused_by is checked by an AFTER INSERT row trigger fired only for rows that have one')
FROM pg_trigger WHERE tgrelid = 'activity.activities'::regclass AND tgname = 'activities_caused_by';
SELECT ok(pg_get_triggerdef(oid) ~ 'BEFORE DELETE OR UPDATE ON activity.activities FOR EACH ROW',
          'the append-only guard is a BEFORE UPDATE OR DELETE row trigger')
FROM pg_trigger WHERE tgrelid = 'activity.activities'::regclass AND tgname = 'activities_append_only';
SELECT ok(pg_get_triggerdef(oid) ~ 'BEFORE TRUNCATE ON activity.activities FOR EACH STATEMENT',
          'the TRUNCATE guard is a BEFORE TRUNCATE statement trigger')
FROM pg_trigger WHERE tgrelid = 'activity.activities'::regclass AND tgname = 'activities_no_truncate';
SELECT is(count(*), 0::bigint, 'every trigger of the extension is enabled')
FROM pg_trigger WHERE tgrelid IN ('activity.activities'::regclass, 'activity.event_types'::regclass,
                                   'activity_partitions.activities_default'::regclass)
  AND NOT tgisinternal AND tgenabled <> 'O';

-- indexes of the default partition: the feed seek, unique, its replica
-- identity; no primary key (activity.event_ids keeps ids unique)
SELECT has_index('activity_partitions', 'activities_default', 'activities_default_feed_idx',
                 ARRAY['workspace_id', 'occurred_at', 'id', 'type'], 'the default partition has the feed index');
SELECT hasnt_index('activity_partitions', 'activities_default', 'activities_default_pkey',
                   'the default partition has no primary key (0.1 had (id, occurred_at))');
SELECT is(pg_get_indexdef('activity_partitions.activities_default_feed_idx'::regclass),
          'CREATE UNIQUE INDEX activities_default_feed_idx ON activity_partitions.activities_default USING btree (workspace_id, occurred_at DESC, id DESC) INCLUDE (type)',
          'the feed index is unique (workspace_id, occurred_at DESC, id DESC), with the type for counts()');
SELECT is((SELECT i.indisreplident FROM pg_index i WHERE i.indexrelid = 'activity_partitions.activities_default_feed_idx'::regclass),
          true, 'the feed index is the default partition''s replica identity');

-- pg_dump keeps the registry, the settings and the default partition's rows
SELECT set_eq(
    $$SELECT unnest(extconfig)::regclass::text FROM pg_extension WHERE extname = 'activity'$$,
    ARRAY['activity.event_ids', 'activity.event_types', 'activity.feed_consumers', 'activity.feed_removals', 'activity.feed_removals_removal_seq',
          'activity.pending_ids', 'activity.platforms', 'activity.row_security', 'activity.schemas', 'activity.settings', 'activity.universal_types',
          'activity.maintenance_runs', 'activity.maintenance_runs_run_id_seq', 'activity.retention_rules',
          'activity.retention_rules_rule_id_seq', 'activity.redactions', 'activity.redactions_redaction_id_seq',
          'activity.hash_chain', 'activity.hash_chain_key', 'activity.hash_chain_state',
          'activity_partitions.activities_default'],
    'configuration tables dumped by pg_dump');

-- GUCs (defined when the library is loaded, i.e. on first use in a session)
SELECT ok(activity.uuidv7() IS NOT NULL, 'the library loads on first use, without preloading');
SELECT is(current_setting('activity.max_metadata_bytes'), '256kB', 'activity.max_metadata_bytes defaults to 256kB');
SELECT is(current_setting('activity.max_metadata_depth'), '32', 'activity.max_metadata_depth defaults to 32');
SELECT is((SELECT context FROM pg_settings WHERE name = 'activity.max_metadata_bytes'), 'superuser',
          'activity.max_metadata_bytes can be set by superusers only');

-- comments: every member of the extension, and every column of its tables
SELECT is_empty(
    $$SELECT pg_describe_object(d.classid, d.objid, 0)
      FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'activity'
      WHERE d.deptype = 'e' AND obj_description(d.objid, d.classid::regclass::name) IS NULL
      ORDER BY 1$$,
    'every object of the extension has a COMMENT');
SELECT is_empty(
    $$SELECT c.oid::regclass::text || '.' || a.attname
      FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'activity'
      JOIN pg_class c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid AND NOT c.relispartition AND c.relkind <> 'S'
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      WHERE d.deptype = 'e' AND col_description(c.oid, a.attnum) IS NULL
      ORDER BY 1$$,
    'every column of the extension''s tables has a COMMENT');
SELECT isnt(obj_description('activity_partitions'::regnamespace, 'pg_namespace'), NULL,
            'schema activity_partitions has a COMMENT');
SELECT isnt(obj_description('activity.cursor'::regtype, 'pg_type'), NULL, 'type activity.cursor has a COMMENT');
SELECT isnt(obj_description('activity.activities'::regclass, 'pg_class'), NULL, 'table activity.activities has a COMMENT');

-- the extension needs no preloading
SELECT unalike(current_setting('shared_preload_libraries'), '%activity%',
               'the tests run without activity in shared_preload_libraries');

SELECT * FROM finish();
ROLLBACK;
