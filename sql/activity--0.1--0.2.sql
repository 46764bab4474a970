-- activity 0.1 -> 0.2: JSON Schemas for activity metadata
\echo Use "ALTER EXTENSION activity UPDATE TO '0.2'" to load this file. \quit

--------------------------------------------------------------------------------
-- The activity.jsonschema type
--------------------------------------------------------------------------------
CREATE TYPE activity.jsonschema;

CREATE FUNCTION activity.jsonschema_in(cstring) RETURNS activity.jsonschema
AS 'MODULE_PATHNAME', 'activity_jsonschema_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION activity.jsonschema_out(activity.jsonschema) RETURNS cstring
AS 'MODULE_PATHNAME', 'activity_jsonschema_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION activity.jsonschema_recv(internal) RETURNS activity.jsonschema
AS 'MODULE_PATHNAME', 'activity_jsonschema_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION activity.jsonschema_send(activity.jsonschema) RETURNS bytea
AS 'MODULE_PATHNAME', 'activity_jsonschema_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION activity.jsonschema_in(cstring) IS
    'Text input of activity.jsonschema: parses, meta-validates and compiles a JSON Schema';
COMMENT ON FUNCTION activity.jsonschema_out(activity.jsonschema) IS
    'Text output of activity.jsonschema: the schema as written (normalized as jsonb)';
COMMENT ON FUNCTION activity.jsonschema_recv(internal) IS
    'Binary input of activity.jsonschema: a version byte and the schema text, compiled like text input';
COMMENT ON FUNCTION activity.jsonschema_send(activity.jsonschema) IS
    'Binary output of activity.jsonschema: a version byte and the schema text';

CREATE TYPE activity.jsonschema (
    INPUT = activity.jsonschema_in,
    OUTPUT = activity.jsonschema_out,
    RECEIVE = activity.jsonschema_recv,
    SEND = activity.jsonschema_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = extended
);
COMMENT ON TYPE activity.jsonschema IS
    'A JSON Schema (2020-12), meta-validated and stored compiled for validation';

CREATE FUNCTION activity.jsonschema_to_jsonb(activity.jsonschema) RETURNS jsonb
AS 'MODULE_PATHNAME', 'activity_jsonschema_to_jsonb' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION activity.jsonschema_to_jsonb(activity.jsonschema) IS
    'The schema as a jsonb document';
CREATE CAST (activity.jsonschema AS jsonb)
    WITH FUNCTION activity.jsonschema_to_jsonb(activity.jsonschema) AS ASSIGNMENT;
-- jsonb -> jsonschema goes through text input, which compiles
CREATE CAST (jsonb AS activity.jsonschema) WITH INOUT AS ASSIGNMENT;

--------------------------------------------------------------------------------
-- Validation
--------------------------------------------------------------------------------
CREATE FUNCTION activity.is_valid(document jsonb, schema activity.jsonschema)
RETURNS boolean
AS 'MODULE_PATHNAME', 'activity_is_valid'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION activity.is_valid(jsonb, activity.jsonschema) IS
    'Whether the document satisfies the JSON Schema';

CREATE FUNCTION activity.validation_errors(document jsonb, schema activity.jsonschema)
RETURNS TABLE (path text, keyword text, message text)
AS 'MODULE_PATHNAME', 'activity_validation_errors'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
ROWS 5;
COMMENT ON FUNCTION activity.validation_errors(jsonb, activity.jsonschema) IS
    'Every violation of the JSON Schema by the document: JSON pointer of the value, keyword, message';
COMMENT ON CAST (activity.jsonschema AS jsonb) IS 'The schema as a jsonb document';
COMMENT ON CAST (jsonb AS activity.jsonschema) IS 'Compiles a jsonb document as a JSON Schema';

--------------------------------------------------------------------------------
-- Versioned schemas of event types
--------------------------------------------------------------------------------
CREATE TABLE activity.schemas (
    type text NOT NULL REFERENCES activity.event_types (name) ON UPDATE CASCADE,
    version int2 NOT NULL CONSTRAINT schemas_version_check CHECK (version >= 1),
    schema activity.jsonschema NOT NULL,
    compatibility text NOT NULL
        CONSTRAINT schemas_compatibility_check CHECK (compatibility IN
            ('none', 'backward', 'forward', 'full',
             'backward_transitive', 'forward_transitive', 'full_transitive')),
    retired_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (type, version)
);
COMMENT ON TABLE activity.schemas IS
    'Versioned JSON Schemas of activity metadata, one row per (type, version); versions are immutable';
COMMENT ON COLUMN activity.schemas.type IS 'The event type';
COMMENT ON COLUMN activity.schemas.version IS 'Version number, from 1, in registration order';
COMMENT ON COLUMN activity.schemas.schema IS 'The JSON Schema that metadata of this version must satisfy';
COMMENT ON COLUMN activity.schemas.compatibility IS 'The compatibility mode this version was checked with';
COMMENT ON COLUMN activity.schemas.retired_at IS
    'When the version was retired: activities recorded later may no longer use it';
COMMENT ON COLUMN activity.schemas.created_at IS 'When the version was registered';

SELECT pg_catalog.pg_extension_config_dump('activity.schemas', '');

CREATE TRIGGER schemas_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON activity.schemas
    FOR EACH STATEMENT EXECUTE FUNCTION activity._registry_changed();

-- Versions are immutable: only retirement may be recorded on one.
CREATE FUNCTION activity._schemas_immutable()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'schema version % of activity type "%" cannot be deleted', OLD.version, OLD.type
            USING ERRCODE = '0A000',
                  HINT = 'Retire it with activity.retire_schema() instead.';
    END IF;
    IF (NEW.type, NEW.version, NEW.schema::jsonb, NEW.compatibility, NEW.created_at)
       IS DISTINCT FROM (OLD.type, OLD.version, OLD.schema::jsonb, OLD.compatibility, OLD.created_at)
       OR (OLD.retired_at IS NOT NULL AND NEW.retired_at IS DISTINCT FROM OLD.retired_at) THEN
        RAISE EXCEPTION 'schema version % of activity type "%" is immutable', OLD.version, OLD.type
            USING ERRCODE = '0A000',
                  HINT = 'Register a new version with activity.register_schema().';
    END IF;
    RETURN NEW;
END;
$$;
COMMENT ON FUNCTION activity._schemas_immutable() IS
    'Internal: refuses changes to a registered schema version other than retiring it';
CREATE TRIGGER schemas_immutable
    BEFORE UPDATE OR DELETE ON activity.schemas
    FOR EACH ROW EXECUTE FUNCTION activity._schemas_immutable();

-- What makes "new" refuse a document that "old" accepts, one change per row,
-- for the supported keywords. Conservative: where acceptance cannot be
-- proved (a changed pattern, a changed composition), the change is reported.
-- Adding a property that "old" did not describe is not a breaking change,
-- even when "old" was open (see README: departure from Confluent's rules).
CREATE FUNCTION activity._narrowing_changes(old jsonb, new jsonb, loc text DEFAULT '#')
RETURNS SETOF text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k text;
    old_types text[];
    new_types text[];
    t text;
    i int;
BEGIN
    IF old = new OR new = 'true' OR old = 'false' OR new = '{}' THEN
        RETURN;
    END IF;
    IF new = 'false' THEN
        RETURN NEXT format('%s: the schema now refuses every value', loc);
        RETURN;
    END IF;
    IF jsonb_typeof(old) = 'boolean' THEN
        old := '{}';
    END IF;

    -- type
    IF new ? 'type' THEN
        new_types := CASE jsonb_typeof(new -> 'type') WHEN 'array'
                     THEN ARRAY(SELECT jsonb_array_elements_text(new -> 'type')) ELSE ARRAY[new ->> 'type'] END;
        old_types := CASE WHEN NOT old ? 'type' THEN '{null,boolean,object,array,number,string}'
                          WHEN jsonb_typeof(old -> 'type') = 'array'
                          THEN ARRAY(SELECT jsonb_array_elements_text(old -> 'type')) ELSE ARRAY[old ->> 'type'] END;
        FOREACH t IN ARRAY old_types LOOP
            IF NOT (t = ANY (new_types) OR (t = 'integer' AND 'number' = ANY (new_types))) THEN
                RETURN NEXT format('%s: type no longer allows %s', loc, t);
            END IF;
        END LOOP;
    END IF;

    -- lower bounds that rose, upper bounds that fell
    FOREACH k IN ARRAY ARRAY['minLength', 'minItems', 'minProperties', 'minimum', 'exclusiveMinimum', 'minContains'] LOOP
        IF new ? k AND (NOT old ? k OR (new ->> k)::numeric > (old ->> k)::numeric) THEN
            RETURN NEXT format('%s/%s: raised to %s (was %s)', loc, k, new -> k, coalesce(old ->> k, 'absent'));
        END IF;
    END LOOP;
    FOREACH k IN ARRAY ARRAY['maxLength', 'maxItems', 'maxProperties', 'maximum', 'exclusiveMaximum', 'maxContains'] LOOP
        IF new ? k AND (NOT old ? k OR (new ->> k)::numeric < (old ->> k)::numeric) THEN
            RETURN NEXT format('%s/%s: lowered to %s (was %s)', loc, k, new -> k, coalesce(old ->> k, 'absent'));
        END IF;
    END LOOP;
    IF new ? 'multipleOf' AND (NOT old ? 'multipleOf'
                               OR (old ->> 'multipleOf')::numeric % (new ->> 'multipleOf')::numeric <> 0) THEN
        RETURN NEXT format('%s/multipleOf: now %s (was %s)', loc, new -> 'multipleOf', coalesce(old ->> 'multipleOf', 'absent'));
    END IF;
    IF (new -> 'uniqueItems') = 'true' AND (old -> 'uniqueItems') IS DISTINCT FROM 'true' THEN
        RETURN NEXT format('%s/uniqueItems: now required', loc);
    END IF;

    -- values
    IF new ? 'enum' THEN
        IF NOT old ? 'enum' AND NOT old ? 'const' THEN
            RETURN NEXT format('%s/enum: added', loc);
        ELSE
            FOR k IN SELECT e::text FROM jsonb_array_elements(coalesce(old -> 'enum', jsonb_build_array(old -> 'const'))) e
                     WHERE NOT (new -> 'enum') @> jsonb_build_array(e) LOOP
                RETURN NEXT format('%s/enum: no longer allows %s', loc, k);
            END LOOP;
        END IF;
    END IF;
    IF new ? 'const' AND (old -> 'const') IS DISTINCT FROM (new -> 'const') THEN
        RETURN NEXT format('%s/const: now %s', loc, new -> 'const');
    END IF;
    FOREACH k IN ARRAY ARRAY['pattern', 'format'] LOOP
        IF new ? k AND (old -> k) IS DISTINCT FROM (new -> k) THEN
            RETURN NEXT format('%s/%s: now %s (was %s)', loc, k, new -> k, coalesce(old ->> k, 'absent'));
        END IF;
    END LOOP;

    -- objects
    FOR k IN SELECT jsonb_array_elements_text(coalesce(new -> 'required', '[]'))
             EXCEPT SELECT jsonb_array_elements_text(coalesce(old -> 'required', '[]')) LOOP
        RETURN NEXT format('%s/required: property "%s" is now required', loc, k);
    END LOOP;
    FOR k IN SELECT jsonb_object_keys(coalesce(new -> 'properties', '{}')) LOOP
        IF old -> 'properties' ? k THEN
            RETURN QUERY SELECT * FROM activity._narrowing_changes(old -> 'properties' -> k, new -> 'properties' -> k,
                                                                   loc || '/properties/' || replace(replace(k, '~', '~0'), '/', '~1'));
        ELSIF old ? 'additionalProperties' AND jsonb_typeof(old -> 'additionalProperties') = 'object' THEN
            RETURN QUERY SELECT * FROM activity._narrowing_changes(old -> 'additionalProperties', new -> 'properties' -> k,
                                                                   loc || '/properties/' || replace(replace(k, '~', '~0'), '/', '~1'));
        END IF;
    END LOOP;
    IF new ? 'additionalProperties' AND (new -> 'additionalProperties') IS DISTINCT FROM (old -> 'additionalProperties') THEN
        IF new -> 'additionalProperties' = 'false' THEN
            IF NOT old ? 'additionalProperties' OR old -> 'additionalProperties' <> 'false' THEN
                RETURN NEXT format('%s/additionalProperties: closed', loc);
            END IF;
        ELSE
            RETURN QUERY SELECT * FROM activity._narrowing_changes(coalesce(old -> 'additionalProperties', 'true'),
                                                                   new -> 'additionalProperties', loc || '/additionalProperties');
        END IF;
    END IF;
    IF new -> 'additionalProperties' = 'false' THEN
        FOR k IN SELECT jsonb_object_keys(coalesce(old -> 'properties', '{}'))
                 EXCEPT SELECT jsonb_object_keys(coalesce(new -> 'properties', '{}')) LOOP
            RETURN NEXT format('%s/properties/%s: removed from a closed object', loc, k);
        END LOOP;
    END IF;
    IF new ? 'dependentRequired' AND (old -> 'dependentRequired') IS DISTINCT FROM (new -> 'dependentRequired') THEN
        FOR k IN SELECT key FROM jsonb_each(new -> 'dependentRequired') d
                 WHERE NOT coalesce(old -> 'dependentRequired' -> d.key, '[]') @> d.value LOOP
            RETURN NEXT format('%s/dependentRequired/%s: requires more properties', loc, k);
        END LOOP;
    END IF;

    -- arrays
    IF new ? 'items' THEN
        RETURN QUERY SELECT * FROM activity._narrowing_changes(coalesce(old -> 'items', 'true'), new -> 'items', loc || '/items');
    END IF;
    IF new ? 'prefixItems' THEN
        FOR i IN 0 .. jsonb_array_length(new -> 'prefixItems') - 1 LOOP
            RETURN QUERY SELECT * FROM activity._narrowing_changes(
                coalesce(old -> 'prefixItems' -> i, old -> 'items', 'true'), new -> 'prefixItems' -> i,
                loc || '/prefixItems/' || i);
        END LOOP;
    END IF;
    IF new ? 'contains' AND (old -> 'contains') IS DISTINCT FROM (new -> 'contains') THEN
        RETURN NEXT format('%s/contains: changed', loc);
    END IF;

    -- what cannot be compared structurally
    FOREACH k IN ARRAY ARRAY['allOf', 'anyOf', 'oneOf', 'not', 'if', 'then', 'else', '$ref', '$defs',
                             'patternProperties', 'propertyNames', 'dependentSchemas'] LOOP
        IF new ? k AND (old -> k) IS DISTINCT FROM (new -> k) THEN
            RETURN NEXT format('%s/%s: changed (compatibility of this keyword is not analysed)', loc, k);
        END IF;
    END LOOP;
END;
$$;
COMMENT ON FUNCTION activity._narrowing_changes(jsonb, jsonb, text) IS
    'Internal: the changes that make schema "new" refuse metadata that schema "old" accepts, with their JSON pointers';

CREATE FUNCTION activity.compatibility_problems(
    type text,
    schema activity.jsonschema,
    compatibility text DEFAULT 'backward')
RETURNS TABLE (version int2, direction text, change text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    mode text := lower(compatibility_problems.compatibility);
    v record;
    latest int2;
BEGIN
    IF mode IS NULL OR mode NOT IN ('none', 'backward', 'forward', 'full',
                                    'backward_transitive', 'forward_transitive', 'full_transitive') THEN
        RAISE EXCEPTION 'invalid compatibility mode "%"', coalesce(compatibility_problems.compatibility, 'NULL')
            USING ERRCODE = '22023',
                  DETAIL = 'The modes are none, backward, forward, full, backward_transitive, forward_transitive and full_transitive.';
    END IF;
    IF mode = 'none' THEN
        RETURN;
    END IF;
    SELECT max(s.version) INTO latest FROM activity.schemas s WHERE s.type = compatibility_problems.type;
    FOR v IN SELECT s.version, s.schema::jsonb AS doc FROM activity.schemas s
             WHERE s.type = compatibility_problems.type
               AND (mode LIKE '%_transitive' OR s.version = latest)
             ORDER BY s.version
    LOOP
        IF mode LIKE 'backward%' OR mode LIKE 'full%' THEN
            RETURN QUERY SELECT v.version, 'backward'::text, c
                         FROM activity._narrowing_changes(v.doc, schema::jsonb) c;
        END IF;
        IF mode LIKE 'forward%' OR mode LIKE 'full%' THEN
            RETURN QUERY SELECT v.version, 'forward'::text, c
                         FROM activity._narrowing_changes(schema::jsonb, v.doc) c;
        END IF;
    END LOOP;
END;
$$;
COMMENT ON FUNCTION activity.compatibility_problems(text, activity.jsonschema, text) IS
    'The breaking changes a new schema for the type would make under a compatibility mode, per earlier version';

CREATE FUNCTION activity.register_schema(
    type text,
    schema activity.jsonschema,
    compatibility text DEFAULT 'backward')
RETURNS int
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    next_version int;
    problems text;
BEGIN
    IF type IS NULL OR schema IS NULL THEN
        RAISE EXCEPTION 'type and schema must not be null' USING ERRCODE = '22004';
    END IF;
    -- one registration per type at a time
    PERFORM 1 FROM activity.event_types t WHERE t.name = register_schema.type FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown activity type "%"', register_schema.type
            USING ERRCODE = '23503', HINT = 'Register the type first with activity.register_type().';
    END IF;
    SELECT string_agg(format('version %s (%s): %s', p.version, p.direction, p.change), E'\n')
      INTO problems
      FROM activity.compatibility_problems(register_schema.type, register_schema.schema,
                                           register_schema.compatibility) p;
    IF problems IS NOT NULL THEN
        RAISE EXCEPTION 'schema for activity type "%" is not % compatible', register_schema.type,
                        lower(register_schema.compatibility)
            USING ERRCODE = '23514',
                  DETAIL = problems,
                  HINT = 'Register it with compatibility => ''none'' to accept the change anyway.';
    END IF;
    SELECT coalesce(max(s.version), 0) + 1 INTO next_version
      FROM activity.schemas s WHERE s.type = register_schema.type;
    IF next_version > 32767 THEN
        RAISE EXCEPTION 'activity type "%" has too many schema versions', register_schema.type
            USING ERRCODE = '54000';
    END IF;
    INSERT INTO activity.schemas (type, version, schema, compatibility)
    VALUES (register_schema.type, next_version, register_schema.schema, lower(register_schema.compatibility));
    RETURN next_version;
END;
$$;
COMMENT ON FUNCTION activity.register_schema(text, activity.jsonschema, text) IS
    'Registers the next schema version of an event type after checking compatibility; returns the version number';

CREATE FUNCTION activity.retire_schema(type text, version int)
RETURNS activity.schemas
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    result activity.schemas;
BEGIN
    UPDATE activity.schemas s SET retired_at = coalesce(s.retired_at, now())
     WHERE s.type = retire_schema.type AND s.version = retire_schema.version
    RETURNING * INTO result;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'activity type "%" has no schema version %', retire_schema.type, retire_schema.version
            USING ERRCODE = '23503';
    END IF;
    RETURN result;
END;
$$;
COMMENT ON FUNCTION activity.retire_schema(text, int) IS
    'Retires a schema version: activities recorded from now on may no longer use it; older ones stay valid';

--------------------------------------------------------------------------------
-- Validation in a CHECK constraint
--------------------------------------------------------------------------------
-- 0.1 validated and completed every row in one BEFORE INSERT trigger. A
-- BEFORE ROW trigger makes COPY insert row by row and costs a copy and a
-- rebuild of every row; a CHECK constraint costs neither (bench/RESULTS.md).
-- The rules now live in the constraint activities_valid; a trigger fires only
-- for rows with a NULL to complete (an omitted version above all), and the
-- caused_by rule, which looks at other rows, runs after the statement's rows
-- are in place, as a foreign key does.
CREATE FUNCTION activity._valid_activity(
    workspace_id text, platform text, type text, version int2, actor_type text,
    initiator_id text, recipient_id text, subject_type text, subject_id text,
    metadata jsonb, occurred_at timestamptz, recorded_at timestamptz)
RETURNS boolean
AS 'MODULE_PATHNAME', 'activity_valid_activity'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION activity._valid_activity(text, text, text, int2, text, text, text, text, text, jsonb, timestamptz, timestamptz) IS
    'Internal: the CHECK constraint of activity.activities; true, or the error of the first rule the row breaks';

CREATE FUNCTION activity._complete()
RETURNS trigger
AS 'MODULE_PATHNAME', 'activity_complete'
LANGUAGE C;
COMMENT ON FUNCTION activity._complete() IS
    'Internal: BEFORE INSERT trigger that fills in an omitted version, metadata, id or recorded_at';

CREATE FUNCTION activity._check_caused_by()
RETURNS trigger
AS 'MODULE_PATHNAME', 'activity_check_caused_by'
LANGUAGE C;
COMMENT ON FUNCTION activity._check_caused_by() IS
    'Internal: AFTER INSERT trigger checking that caused_by names an activity of the same workspace';

DROP TRIGGER activities_validate ON activity.activities;
DROP FUNCTION activity._validate();

-- The rows already in the log passed the same rules when they were recorded
-- (by 0.1's trigger): they are trusted, not checked again, so that a rule
-- changed since cannot make the upgrade fail. Adding the constraint still
-- reads the whole log once.
SELECT set_config('activity.trust_existing_rows', 'on', true);
ALTER TABLE activity.activities ADD CONSTRAINT activities_valid CHECK (
    activity._valid_activity(workspace_id, platform, type, version, actor_type,
                             initiator_id, recipient_id, subject_type, subject_id,
                             metadata, occurred_at, recorded_at));
SELECT set_config('activity.trust_existing_rows', 'off', true);

-- maintain() moves rows out of the default partition without checking them
-- again (they were checked when they were recorded)
CREATE OR REPLACE FUNCTION activity._create_partition(lower timestamptz, upper timestamptz)
RETURNS regclass
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET datestyle = 'ISO, YMD'
SET timezone = 'UTC'
AS $$
DECLARE
    part_name text := 'activities_p' || to_char(lower AT TIME ZONE 'UTC', 'YYYYMMDD');
    part regclass;
    moved bigint;
BEGIN
    -- Rows of the default partition inside [lower, upper) would make a plain
    -- CREATE ... PARTITION OF fail: move them first, with the default detached
    -- (a detached default carries no row triggers, so its rows can be deleted).
    -- Lock first, so that rows still being inserted (uncommitted) into the
    -- default partition are committed and seen by the check below.
    LOCK TABLE ONLY activity.activities IN ACCESS EXCLUSIVE MODE;
    LOCK TABLE activity_partitions.activities_default IN ACCESS EXCLUSIVE MODE;
    PERFORM 1 FROM activity_partitions.activities_default
        WHERE occurred_at >= lower AND occurred_at < upper LIMIT 1;
    IF FOUND THEN
        ALTER TABLE activity.activities DETACH PARTITION activity_partitions.activities_default;
        EXECUTE format('CREATE TABLE activity_partitions.%I (LIKE activity.activities INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                       part_name);
        -- the rows were validated when they were recorded: they move as they are
        PERFORM set_config('activity.trust_existing_rows', 'on', true);
        EXECUTE format('INSERT INTO activity_partitions.%I SELECT * FROM activity_partitions.activities_default'
                       ' WHERE occurred_at >= $1 AND occurred_at < $2', part_name)
            USING lower, upper;
        PERFORM set_config('activity.trust_existing_rows', 'off', true);
        GET DIAGNOSTICS moved = ROW_COUNT;
        DELETE FROM activity_partitions.activities_default
            WHERE occurred_at >= lower AND occurred_at < upper;
        part := format('activity_partitions.%I', part_name)::regclass;
        PERFORM activity._index_partition(part);
        EXECUTE format('ALTER TABLE activity.activities ATTACH PARTITION %s'
                       ' FOR VALUES FROM (%L) TO (%L)', part, lower, upper);
        ALTER TABLE activity.activities ATTACH PARTITION activity_partitions.activities_default DEFAULT;
        RAISE DEBUG 'activity: moved % rows from the default partition into %', moved, part_name;
    ELSE
        EXECUTE format('CREATE TABLE activity_partitions.%I PARTITION OF activity.activities'
                       ' FOR VALUES FROM (%L) TO (%L)', part_name, lower, upper);
        part := format('activity_partitions.%I', part_name)::regclass;
        PERFORM activity._index_partition(part);
    END IF;
    RETURN part;
END;
$$;

CREATE TRIGGER activities_complete
    BEFORE INSERT ON activity.activities
    FOR EACH ROW
    WHEN (NEW.version IS NULL OR NEW.metadata IS NULL OR NEW.id IS NULL OR NEW.recorded_at IS NULL
          OR NEW.workspace_id IS NULL OR NEW.type IS NULL OR NEW.actor_type IS NULL OR NEW.occurred_at IS NULL)
    EXECUTE FUNCTION activity._complete();
CREATE TRIGGER activities_caused_by
    AFTER INSERT ON activity.activities
    FOR EACH ROW
    WHEN (NEW.caused_by IS NOT NULL)
    EXECUTE FUNCTION activity._check_caused_by();

--------------------------------------------------------------------------------
-- The read side for BI tools, DBAs and seed 002's API
--------------------------------------------------------------------------------
CREATE FUNCTION activity.universal_type(type text)
RETURNS text
AS 'MODULE_PATHNAME', 'activity_universal_type'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION activity.universal_type(text) IS
    'The universal type (USER_JOIN, ...) a registered event type maps to; NULL if none or unregistered';

-- A plain view with readable columns. On PostgreSQL 15 and later it runs with
-- the privileges of its caller (security_invoker), so row-level security on
-- the log applies through it as it does to the table.
DO $$
BEGIN
    EXECUTE format($v$
        CREATE VIEW activity.activity_log %s AS
        SELECT a.occurred_at, a.workspace_id, a.type,
               activity.universal_type(a.type) AS universal_type,
               a.actor_type, a.initiator_id, a.recipient_id, a.subject_type, a.subject_id,
               a.platform, a.metadata, a.version, a.id, a.caused_by, a.recorded_at
        FROM activity.activities a$v$,
        CASE WHEN current_setting('server_version_num')::int >= 150000
             THEN 'WITH (security_invoker = true)' ELSE '' END);
END;
$$;
COMMENT ON VIEW activity.activity_log IS
    'The activity log for BI tools and psql: every activity with its universal type';
-- the view's columns carry the table's comments
DO $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT a.attname, d.description
             FROM pg_attribute a JOIN pg_description d
               ON d.objoid = a.attrelid AND d.objsubid = a.attnum AND d.classoid = 'pg_class'::regclass
             WHERE a.attrelid = 'activity.activities'::regclass AND a.attnum > 0 AND NOT a.attisdropped
    LOOP
        EXECUTE format('COMMENT ON COLUMN activity.activity_log.%I IS %L', c.attname, c.description);
    END LOOP;
END;
$$;
COMMENT ON COLUMN activity.activity_log.universal_type IS
    'Universal type of the event type (activity.event_types.universal_type), NULL if none';

-- Seed 002's contract: offset paging over a workspace's feed, or an issue's,
-- with its field names. Keyset paging (activity.page) is the fast path.
-- (SQL functions: their output columns share names with their arguments,
-- which PL/pgSQL does not allow.)
CREATE FUNCTION activity._check_offset_args(
    workspace_id text, "limit" int, "offset" int,
    issue_id text DEFAULT NULL, has_issue boolean DEFAULT false)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    IF workspace_id IS NULL THEN
        RAISE EXCEPTION 'workspace_id must not be null' USING ERRCODE = '22004';
    END IF;
    IF has_issue AND issue_id IS NULL THEN
        RAISE EXCEPTION 'issue_id must not be null' USING ERRCODE = '22004';
    END IF;
    IF "limit" IS NULL THEN
        RAISE EXCEPTION 'limit must not be null' USING ERRCODE = '22004';
    END IF;
    IF "limit" < 1 OR "limit" > 200 THEN
        RAISE EXCEPTION 'limit must be between 1 and 200, not %', "limit" USING ERRCODE = '22023';
    END IF;
    IF "offset" IS NULL THEN
        RAISE EXCEPTION 'offset must not be null' USING ERRCODE = '22004';
    END IF;
    IF "offset" < 0 THEN
        RAISE EXCEPTION 'offset must not be negative, not %', "offset" USING ERRCODE = '22023';
    END IF;
END;
$$;
COMMENT ON FUNCTION activity._check_offset_args(text, int, int, text, boolean) IS
    'Internal: checks the arguments of workspace_activity() and issue_activity()';

CREATE FUNCTION activity.workspace_activity(
    workspace_id text,
    "limit" int DEFAULT 50,
    "offset" int DEFAULT 0)
RETURNS TABLE (
    id uuid,
    workspace_id text,
    issue_id text,
    actor_type text,
    actor_id text,
    action text,
    details jsonb,
    created_at timestamptz)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT activity._check_offset_args($1, $2, $3);
    SELECT a.id, a.workspace_id, CASE WHEN a.subject_type = 'issue' THEN a.subject_id END,
           a.actor_type, a.initiator_id, a.type, a.metadata, a.occurred_at
    FROM activity.activities a
    WHERE a.workspace_id = $1
    ORDER BY a.occurred_at DESC, a.id DESC
    LIMIT $2 OFFSET $3;
$$;
COMMENT ON FUNCTION activity.workspace_activity(text, int, int) IS
    'Seed 002''s workspace activity: a workspace''s feed newest first, by limit (1..200) and offset; activity.page() pages in constant time';

CREATE FUNCTION activity.issue_activity(
    workspace_id text,
    issue_id text,
    "limit" int DEFAULT 50,
    "offset" int DEFAULT 0)
RETURNS TABLE (
    id uuid,
    workspace_id text,
    issue_id text,
    actor_type text,
    actor_id text,
    action text,
    details jsonb,
    created_at timestamptz)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT activity._check_offset_args($1, $3, $4, $2, true);
    SELECT a.id, a.workspace_id, a.subject_id, a.actor_type, a.initiator_id, a.type, a.metadata, a.occurred_at
    FROM activity.activities a
    WHERE a.workspace_id = $1 AND a.subject_type = 'issue' AND a.subject_id = $2
    ORDER BY a.occurred_at DESC, a.id DESC
    LIMIT $3 OFFSET $4;
$$;
COMMENT ON FUNCTION activity.issue_activity(text, text, int, int) IS
    'Seed 002''s issue activity: the activities about one issue (subject_type ''issue''), newest first, by limit (1..200) and offset';

--------------------------------------------------------------------------------
-- Every feed an index seek: page() with filters, and the indexes it seeks
--------------------------------------------------------------------------------
-- Per partition, next to the workspace feed index: the entity, actor and
-- recipient feeds of a workspace (partial: only rows that have one) and the
-- all-workspaces listing by time. (page() with a workspace of 390 rows in 36
-- partitions of 780,000: 16 ms when its generic plans could pick a plain time
-- index and filter on the workspace, 0.2 ms on the feed index.)
CREATE FUNCTION activity._index_partition_feeds(part regclass)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    name text := (SELECT c.relname FROM pg_class c WHERE c.oid = part);
BEGIN
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s (workspace_id, subject_type, subject_id, occurred_at DESC, id DESC)'
                   ' WHERE subject_id IS NOT NULL', name || '_subject_idx', part);
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s (workspace_id, initiator_id, occurred_at DESC, id DESC)'
                   ' WHERE initiator_id IS NOT NULL', name || '_initiator_idx', part);
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s (workspace_id, recipient_id, occurred_at DESC, id DESC)'
                   ' WHERE recipient_id IS NOT NULL', name || '_recipient_idx', part);
    -- partial on a condition every row meets (occurred_at is finite), so that
    -- only queries that name it, page()'s all-workspaces listing, use it: the
    -- planner would otherwise take it for a sparse workspace's feed too
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s (occurred_at DESC, id DESC)'
                   ' WHERE occurred_at > ''-infinity''::timestamptz', name || '_time_idx', part);
END;
$$;
COMMENT ON FUNCTION activity._index_partition_feeds(regclass) IS
    'Internal: creates the entity, actor, recipient and time indexes of a partition';

CREATE OR REPLACE FUNCTION activity._index_partition(part regclass)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    name text := (SELECT c.relname FROM pg_class c WHERE c.oid = part);
BEGIN
    EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I PRIMARY KEY (id, occurred_at)', part, name || '_pkey');
    EXECUTE format('CREATE INDEX %I ON %s (workspace_id, occurred_at DESC, id DESC) INCLUDE (type)', name || '_feed_idx', part);
    PERFORM activity._index_partition_feeds(part);
    EXECUTE format('CREATE TRIGGER activities_no_truncate BEFORE TRUNCATE ON %s'
                   ' FOR EACH STATEMENT EXECUTE FUNCTION activity._append_only()', part);
END;
$$;

-- the partitions that exist already; their workspace feed index gains the
-- type, so that counts() reads the index alone (index-only scans)
SELECT activity._index_partition_feeds(p.partition) FROM activity.partitions() p;
DO $$
DECLARE
    p record;
    name text;
BEGIN
    FOR p IN SELECT pp.partition, c.relname FROM activity.partitions() pp JOIN pg_class c ON c.oid = pp.partition LOOP
        name := p.relname || '_feed_idx';
        EXECUTE format('DROP INDEX IF EXISTS activity_partitions.%I', name);
        EXECUTE format('CREATE INDEX %I ON %s (workspace_id, occurred_at DESC, id DESC) INCLUDE (type)', name, p.partition);
    END LOOP;
END;
$$;

DROP FUNCTION activity.page(text, activity.cursor, int);
CREATE FUNCTION activity.page(
    workspace_id text,
    after activity.cursor DEFAULT NULL,
    "limit" int DEFAULT 50,
    subject_type text DEFAULT NULL,
    subject_id text DEFAULT NULL,
    initiator_id text DEFAULT NULL,
    recipient_id text DEFAULT NULL,
    types text[] DEFAULT NULL,
    universal_types text[] DEFAULT NULL,
    actor_types text[] DEFAULT NULL,
    platforms text[] DEFAULT NULL,
    since timestamptz DEFAULT NULL,
    until timestamptz DEFAULT NULL,
    direction text DEFAULT 'desc')
RETURNS TABLE (
    id uuid,
    workspace_id text,
    platform text,
    type text,
    version int2,
    actor_type text,
    initiator_id text,
    recipient_id text,
    subject_type text,
    subject_id text,
    caused_by uuid,
    metadata jsonb,
    occurred_at timestamptz,
    recorded_at timestamptz,
    cursor activity.cursor,
    has_more boolean)
AS 'MODULE_PATHNAME', 'activity_page'
LANGUAGE C STABLE
ROWS 50;
COMMENT ON FUNCTION activity.page(text, activity.cursor, int, text, text, text, text, text[], text[], text[], text[], timestamptz, timestamptz, text) IS
    'One page of a feed (a workspace''s, an entity''s, an actor''s, a recipient''s, or every workspace''s), filtered, newest or oldest first; pass the last row''s cursor as "after" to get the next page';

CREATE FUNCTION activity.page_plans(
    workspace_id text,
    after activity.cursor DEFAULT NULL,
    "limit" int DEFAULT 50,
    subject_type text DEFAULT NULL,
    subject_id text DEFAULT NULL,
    initiator_id text DEFAULT NULL,
    recipient_id text DEFAULT NULL,
    types text[] DEFAULT NULL,
    universal_types text[] DEFAULT NULL,
    actor_types text[] DEFAULT NULL,
    platforms text[] DEFAULT NULL,
    since timestamptz DEFAULT NULL,
    until timestamptz DEFAULT NULL,
    direction text DEFAULT 'desc')
RETURNS TABLE (partition regclass, plan text)
AS 'MODULE_PATHNAME', 'activity_page_plans'
LANGUAGE C STABLE;
COMMENT ON FUNCTION activity.page_plans(text, activity.cursor, int, text, text, text, text, text[], text[], text[], text[], timestamptz, timestamptz, text) IS
    'How page() reads each partition it may read for the same arguments: its direct index scan, or the plan it runs instead';

-- the default partition's time index replaces its occurred_at index
DROP INDEX activity_partitions.activities_default_occurred_at_idx;

--------------------------------------------------------------------------------
-- Dashboards: event counts per time bucket
--------------------------------------------------------------------------------
-- (the work is in PL/pgSQL, which cannot name an argument and an output
-- column alike, as counts() does: "bucket")
CREATE FUNCTION activity._counts(ws text, since timestamptz, until timestamptz, bucket_length interval, by_ text)
RETURNS TABLE (b timestamptz, k text, c bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
SET timezone = 'UTC'
AS $$
DECLARE
    bucket_expr text;
    unit text;
BEGIN
    IF $2 IS NULL OR $3 IS NULL THEN
        RAISE EXCEPTION 'since and until must not be null' USING ERRCODE = '22004';
    END IF;
    IF $4 IS NULL THEN
        RAISE EXCEPTION 'bucket must not be null' USING ERRCODE = '22004';
    END IF;
    IF $5 IS NULL OR $5 NOT IN ('type', 'universal_type') THEN
        RAISE EXCEPTION 'by must be ''type'' or ''universal_type'', not %', coalesce(quote_literal($5), 'NULL')
            USING ERRCODE = '22023';
    END IF;
    -- calendar units (in UTC) by date_trunc, any other fixed length by date_bin
    unit := CASE $4 WHEN '1 minute' THEN 'minute' WHEN '1 hour' THEN 'hour' WHEN '1 day' THEN 'day'
                    WHEN '1 week' THEN 'week' WHEN '1 month' THEN 'month' WHEN '3 months' THEN 'quarter'
                    WHEN '1 year' THEN 'year' END;
    IF unit IS NOT NULL THEN
        bucket_expr := format('date_trunc(%L, a.occurred_at)', unit);
    ELSIF $4 <= interval '0' OR extract(month FROM $4) <> 0 OR extract(year FROM $4) <> 0 THEN
        RAISE EXCEPTION 'bucket must be a positive interval of fixed length, or 1 month, 3 months or 1 year, not %', $4
            USING ERRCODE = '22023';
    ELSIF current_setting('server_version_num')::int >= 140000 THEN
        -- buckets aligned on 2001-01-01 00:00 UTC, a Monday
        bucket_expr := format('date_bin(%L::interval, a.occurred_at, %L::timestamptz)', $4, '2001-01-01 00:00+00');
    ELSE
        RAISE EXCEPTION 'bucket % needs PostgreSQL 14 or later (date_bin)', $4
            USING ERRCODE = '0A000';
    END IF;
    RETURN QUERY EXECUTE format($q$
        WITH per_type AS (
            SELECT %s AS b, a.type AS t, count(*) AS c
            FROM activity.activities a
            WHERE %s a.occurred_at >= $2 AND a.occurred_at < $3
            GROUP BY 1, 2)
        SELECT b, %s AS k, sum(c)::bigint
        FROM per_type
        GROUP BY 1, 2
        ORDER BY 1, 2$q$,
        bucket_expr,
        CASE WHEN $1 IS NULL THEN '' ELSE 'a.workspace_id = $1 AND' END,
        CASE $5 WHEN 'type' THEN 't' ELSE 'activity.universal_type(t)' END)
    USING $1, $2, $3;
END;
$$;
COMMENT ON FUNCTION activity._counts(text, timestamptz, timestamptz, interval, text) IS
    'Internal: the work of activity.counts()';

CREATE FUNCTION activity.counts(
    workspace_id text,
    since timestamptz,
    until timestamptz,
    bucket interval DEFAULT '1 day',
    "by" text DEFAULT 'type')
RETURNS TABLE (bucket timestamptz, key text, n bigint)
LANGUAGE sql STABLE
AS $$ SELECT * FROM activity._counts($1, $2, $3, $4, $5) $$;
COMMENT ON FUNCTION activity.counts(text, timestamptz, timestamptz, interval, text) IS
    'Event counts per time bucket (UTC) and type or universal type, for a workspace (NULL: all) and a window [since, until)';
