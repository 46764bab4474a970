-- activity 0.1 -> 0.2: JSON Schemas for activity metadata
\echo Use "ALTER EXTENSION activity UPDATE TO '0.2'" to load this file. \quit

-- Every lock this upgrade takes is waited for at most lock_timeout (1s
-- unless the caller set one): behind a long query the upgrade fails with a
-- clear error instead of queueing the application behind it, and can simply
-- be run again. Work that grows with the log is not done here (see the end).
SELECT set_config('activity_upgrade.lock_timeout', current_setting('lock_timeout'), true);
SELECT set_config('lock_timeout', CASE current_setting('lock_timeout') WHEN '0' THEN '1s'
                                       ELSE current_setting('lock_timeout') END, true);
-- The locks it needs on the log (its partitions included) and the registry,
-- all first: waiting for one never happens while holding another.
LOCK TABLE activity.activities, activity.event_types, activity.settings IN ACCESS EXCLUSIVE MODE;

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
-- jsonb, json and text -> jsonschema go through text input, which compiles.
-- Implicit, so that a schema sent as jsonb or json (psycopg's Jsonb/Json) or
-- as text (a driver's string) finds the functions that take a schema;
-- jsonschema -> jsonb stays assignment-only, so no expression is ambiguous.
CREATE CAST (jsonb AS activity.jsonschema) WITH INOUT AS IMPLICIT;
CREATE CAST (json AS activity.jsonschema) WITH INOUT AS IMPLICIT;
CREATE CAST (text AS activity.jsonschema) WITH INOUT AS IMPLICIT;

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
COMMENT ON CAST (json AS activity.jsonschema) IS 'Compiles a json document as a JSON Schema';
COMMENT ON CAST (text AS activity.jsonschema) IS 'Compiles the text of a JSON document as a JSON Schema';

--------------------------------------------------------------------------------
-- Versioned schemas of event types
--------------------------------------------------------------------------------
-- No foreign key to activity.event_types: pg_restore -j may load the two
-- tables' rows in either order. register_schema() checks the type, and a
-- type with schema versions can be neither deleted nor renamed (below).
CREATE TABLE activity.schemas (
    type text NOT NULL,
    version int2 NOT NULL CONSTRAINT schemas_version_check CHECK (version >= 1),
    schema activity.jsonschema NOT NULL,
    compatibility text NOT NULL
        CONSTRAINT schemas_compatibility_check CHECK (compatibility IN
            ('none', 'backward', 'forward', 'full',
             'backward_transitive', 'forward_transitive', 'full_transitive')),
    retired_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by name NOT NULL DEFAULT current_user,
    retired_by name,
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
COMMENT ON COLUMN activity.schemas.created_by IS 'The role that registered the version';
COMMENT ON COLUMN activity.schemas.retired_by IS 'The role that retired the version';

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
    IF (NEW.type, NEW.version, NEW.schema::jsonb, NEW.compatibility, NEW.created_at, NEW.created_by)
       IS DISTINCT FROM (OLD.type, OLD.version, OLD.schema::jsonb, OLD.compatibility, OLD.created_at, OLD.created_by)
       OR (OLD.retired_at IS NOT NULL AND (NEW.retired_at, NEW.retired_by) IS DISTINCT FROM (OLD.retired_at, OLD.retired_by)) THEN
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

--------------------------------------------------------------------------------
-- The rules of a type: changed only where asked, every change kept
--------------------------------------------------------------------------------
-- Each registry row keeps the history of its rules (who changed what, when),
-- so that a restore brings it back with the row instead of recording the
-- restore as a change.
ALTER TABLE activity.event_types ADD COLUMN history jsonb NOT NULL DEFAULT '[]';
-- A type about one kind of subject (issue.created is about an issue) says
-- so: its activities must carry that subject_type and a subject_id, so that
-- the subject's feed (issue_activity(), page(subject_type, subject_id))
-- cannot miss one recorded as 'Issue' or without a subject.
ALTER TABLE activity.event_types ADD COLUMN subject_type text
    CONSTRAINT event_types_subject_type_check CHECK (subject_type <> '' AND length(subject_type) <= 128);
COMMENT ON COLUMN activity.event_types.subject_type IS
    'The subject_type every activity of this type must carry, with a subject_id (NULL: any subject, or none)';
-- Seed 003's third tier of types: the function that recorded an entry
-- (function_type). A type may list the functions allowed to record it.
ALTER TABLE activity.event_types ADD COLUMN function_types text[]
    CONSTRAINT event_types_function_types_check CHECK (array_position(function_types, NULL) IS NULL AND cardinality(function_types) > 0);
COMMENT ON COLUMN activity.event_types.function_types IS
    'Function types (the public names of the functions that record it) allowed to record this type; NULL means any, including none';
-- Synthetic events: a type may require a cause, of given types or universal
-- types (MODERATION_LINK is caused by a CHAT_MESSAGE_DELETE).
ALTER TABLE activity.event_types ADD COLUMN caused_by text[]
    CONSTRAINT event_types_caused_by_check CHECK (array_position(caused_by, NULL) IS NULL AND cardinality(caused_by) > 0);
COMMENT ON COLUMN activity.event_types.caused_by IS
    'If set, every activity of this type must have a caused_by: an activity of the same workspace whose type or universal type is one of these';
COMMENT ON COLUMN activity.event_types.history IS
    'Every change of the type''s rules, oldest first: {"at", "by", "change": "registered" or "changed", "rules" or "changes"}';
UPDATE activity.event_types t SET history = jsonb_build_array(jsonb_build_object(
    'at', t.created_at, 'by', NULL, 'change', 'registered',
    'rules', jsonb_build_object('description', t.description, 'universal_type', t.universal_type,
                                'recipient', t.recipient, 'platforms', t.platforms, 'actor_types', t.actor_types,
                                'subject_type', t.subject_type, 'function_types', t.function_types,
                                'caused_by', t.caused_by)));

CREATE FUNCTION activity._event_types_history()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    old_rules jsonb;
    new_rules jsonb := jsonb_build_object('description', NEW.description, 'universal_type', NEW.universal_type,
                                          'recipient', NEW.recipient, 'platforms', NEW.platforms,
                                          'actor_types', NEW.actor_types, 'subject_type', NEW.subject_type,
                                          'function_types', NEW.function_types, 'caused_by', NEW.caused_by);
    changes jsonb;
BEGIN
    IF TG_OP = 'INSERT' THEN
        -- a restored row brings its history; a new type starts one
        IF NEW.history = '[]' THEN
            NEW.history := jsonb_build_array(jsonb_build_object(
                'at', now(), 'by', current_user, 'change', 'registered', 'rules', new_rules));
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.name IS DISTINCT FROM OLD.name AND EXISTS (SELECT 1 FROM activity.schemas s WHERE s.type = OLD.name) THEN
        RAISE EXCEPTION 'activity type "%" has schema versions and cannot be renamed', OLD.name
            USING ERRCODE = '23503';
    END IF;
    old_rules := jsonb_build_object('description', OLD.description, 'universal_type', OLD.universal_type,
                                    'recipient', OLD.recipient, 'platforms', OLD.platforms,
                                    'actor_types', OLD.actor_types, 'subject_type', OLD.subject_type,
                                    'function_types', OLD.function_types, 'caused_by', OLD.caused_by);
    SELECT jsonb_object_agg(n.key, jsonb_build_object('old', old_rules -> n.key, 'new', n.value))
      INTO changes
      FROM jsonb_each(new_rules) n
     WHERE n.value IS DISTINCT FROM old_rules -> n.key;
    IF changes IS NOT NULL AND NEW.history = OLD.history THEN
        NEW.history := OLD.history || jsonb_build_array(jsonb_build_object(
            'at', now(), 'by', current_user, 'change', 'changed', 'changes', changes));
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END;
$$;
COMMENT ON FUNCTION activity._event_types_history() IS
    'Internal: keeps the history of a type''s rules in its registry row, and refuses renaming a type that has schema versions';
CREATE TRIGGER event_types_history
    BEFORE INSERT OR UPDATE ON activity.event_types
    FOR EACH ROW EXECUTE FUNCTION activity._event_types_history();

CREATE FUNCTION activity._event_types_referenced()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM activity.schemas s WHERE s.type = OLD.name) THEN
        RAISE EXCEPTION 'activity type "%" has schema versions and cannot be deleted', OLD.name
            USING ERRCODE = '23503',
                  HINT = 'Its activities and schema versions stay valid; stop recording it instead.';
    END IF;
    RETURN OLD;
END;
$$;
COMMENT ON FUNCTION activity._event_types_referenced() IS
    'Internal: refuses deleting a type that has schema versions';
CREATE TRIGGER event_types_referenced
    BEFORE DELETE ON activity.event_types
    FOR EACH ROW EXECUTE FUNCTION activity._event_types_referenced();

--------------------------------------------------------------------------------
-- Three tiers of types on platforms that are checked (seed 003)
--------------------------------------------------------------------------------
-- Seed 003 gives every entry three tiers of types: the platform-specific
-- type (the name in the platform's own framework: discord:guildMemberAdd),
-- the universal type it maps to (USER_JOIN, supported on "All" platforms or
-- on Discord only) and the function type (the function that recorded it).
-- Platforms and universal types are registered, and checked: 'discrod', a
-- universal type USER_JION, or a Telegram type mapped onto the Discord-only
-- USER_BAN_REMOVE are refused.

-- The platforms an activity may come from. The five the product documents
-- use are built in; pg_dump carries only the others (CREATE EXTENSION
-- brings the built-in ones back).
CREATE TABLE activity.platforms (
    name text PRIMARY KEY
        CONSTRAINT platforms_name_check CHECK (name ~ '^[a-z][a-z0-9_]*$' AND length(name) <= 64),
    description text,
    builtin boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE activity.platforms IS
    'Registered platforms (discord, slack, ...): an activity''s platform, and every platform a type names, must be one of them';
COMMENT ON COLUMN activity.platforms.name IS 'Platform name: lower-case letters, digits and _, as recorded in activities.platform';
COMMENT ON COLUMN activity.platforms.description IS 'What the platform is, for people';
COMMENT ON COLUMN activity.platforms.builtin IS 'Shipped with the extension (not dumped: CREATE EXTENSION makes it)';
COMMENT ON COLUMN activity.platforms.created_at IS 'When the platform was registered';
INSERT INTO activity.platforms (name, description, builtin) VALUES
    ('discord', 'Discord servers', true),
    ('minecraft', 'Minecraft servers', true),
    ('slack', 'Slack workspaces', true),
    ('telegram', 'Telegram chats and channels', true),
    ('twitch', 'Twitch channels', true);
SELECT pg_catalog.pg_extension_config_dump('activity.platforms', 'WHERE NOT builtin');
-- A 0.1 registry may name other platforms: they stay usable.
DO $$
DECLARE
    bad text;
BEGIN
    SELECT p INTO bad FROM activity.event_types, unnest(platforms) p
    WHERE NOT (p ~ '^[a-z][a-z0-9_]*$' AND length(p) <= 64) LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'activity type platforms must be lower-case names from 0.2 on; "%" is not', bad
            USING ERRCODE = '22023',
                  HINT = 'Change the platforms of the types that name it with activity.register_type(), then update again.';
    END IF;
    INSERT INTO activity.platforms (name)
    SELECT DISTINCT p FROM activity.event_types, unnest(platforms) p
    ON CONFLICT DO NOTHING;
END;
$$;

CREATE TRIGGER platforms_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON activity.platforms
    FOR EACH STATEMENT EXECUTE FUNCTION activity._registry_changed();

-- Universal types, each with the platforms that support it (NULL: all).
CREATE TABLE activity.universal_types (
    name text PRIMARY KEY
        CONSTRAINT universal_types_name_check CHECK (name ~ '^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$' AND length(name) <= 128),
    description text,
    platforms text[]
        CONSTRAINT universal_types_platforms_check CHECK (array_position(platforms, NULL) IS NULL AND cardinality(platforms) > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE activity.universal_types IS
    'Registered universal types (USER_JOIN, ...): standard events shared by platforms, each with the platforms that support it';
COMMENT ON COLUMN activity.universal_types.name IS 'Universal type name, upper snake case';
COMMENT ON COLUMN activity.universal_types.description IS 'What happened, for people';
COMMENT ON COLUMN activity.universal_types.platforms IS
    'Platforms that support this universal type; NULL means all (seed 003''s "All")';
COMMENT ON COLUMN activity.universal_types.created_at IS 'When the universal type was registered';
COMMENT ON COLUMN activity.universal_types.updated_at IS 'When it was last changed';
SELECT pg_catalog.pg_extension_config_dump('activity.universal_types', '');
-- those a 0.1 registry maps to, supported on all platforms
INSERT INTO activity.universal_types (name)
SELECT DISTINCT universal_type FROM activity.event_types WHERE universal_type IS NOT NULL;

CREATE TRIGGER universal_types_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON activity.universal_types
    FOR EACH STATEMENT EXECUTE FUNCTION activity._registry_changed();

CREATE FUNCTION activity.register_platform(name text, description text DEFAULT NULL)
RETURNS activity.platforms
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    result activity.platforms;
BEGIN
    IF name IS NULL THEN
        RAISE EXCEPTION 'platform name must not be null' USING ERRCODE = '22004';
    END IF;
    IF NOT (name ~ '^[a-z][a-z0-9_]*$' AND length(name) <= 64) THEN
        RAISE EXCEPTION 'invalid platform name "%"', left(name, 64)
            USING ERRCODE = '22023',
                  DETAIL = 'A platform name is lower-case letters, digits and _, starting with a letter, at most 64 characters (discord).';
    END IF;
    IF EXISTS (SELECT 1 FROM activity.platforms p WHERE p.name = register_platform.name AND p.builtin)
       AND description IS NOT NULL THEN
        RAISE EXCEPTION 'platform "%" is built in and cannot be changed', name
            USING ERRCODE = '42501';
    END IF;
    INSERT INTO activity.platforms AS p (name, description)
    VALUES (register_platform.name, nullif(register_platform.description, ''))
    ON CONFLICT ON CONSTRAINT platforms_pkey DO UPDATE
        SET description = CASE WHEN register_platform.description IS NULL THEN p.description
                               ELSE nullif(register_platform.description, '') END
    RETURNING * INTO result;
    RETURN result;
END;
$$;
COMMENT ON FUNCTION activity.register_platform(text, text) IS
    'Registers a platform activities may come from, or changes its description; returns its registry row';

-- The platforms of a list that are not registered, for error messages
CREATE FUNCTION activity._unknown_platforms(names text[])
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT string_agg(format('"%s"', n), ', ' ORDER BY n)
    FROM unnest(names) n
    WHERE NOT EXISTS (SELECT 1 FROM activity.platforms p WHERE p.name = n)
$$;
COMMENT ON FUNCTION activity._unknown_platforms(text[]) IS
    'Internal: the names of a list that are not registered platforms, or NULL';

CREATE FUNCTION activity.register_universal_type(
    name text,
    description text DEFAULT NULL,
    platforms text[] DEFAULT NULL)
RETURNS activity.universal_types
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    result activity.universal_types;
    new_platforms text[] := (SELECT array_agg(DISTINCT p ORDER BY p) FROM unnest(register_universal_type.platforms) p);
    unknown text;
    conflict record;
BEGIN
    IF name IS NULL THEN
        RAISE EXCEPTION 'universal type name must not be null' USING ERRCODE = '22004';
    END IF;
    IF NOT (name ~ '^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$' AND length(name) <= 128) THEN
        RAISE EXCEPTION 'invalid universal type "%"', left(name, 64)
            USING ERRCODE = '22023',
                  DETAIL = 'A universal type is upper snake case of at most 128 characters, such as USER_JOIN.';
    END IF;
    IF array_position(platforms, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'invalid platforms %', platforms
            USING ERRCODE = '22023', DETAIL = 'platforms is a list of registered platforms, or ''{}'' for all.';
    END IF;
    unknown := activity._unknown_platforms(new_platforms);
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION 'unknown platform %', unknown
            USING ERRCODE = '23503', HINT = 'Register it first with activity.register_platform().';
    END IF;
    PERFORM FROM activity.universal_types u WHERE u.name = register_universal_type.name FOR UPDATE;
    -- narrowing the support must not strand a type mapped onto it
    IF cardinality(new_platforms) > 0 THEN
        SELECT t.name, t.platforms INTO conflict
        FROM activity.event_types t
        WHERE t.universal_type = register_universal_type.name
          AND (t.platforms IS NULL OR NOT t.platforms <@ new_platforms)
        ORDER BY t.name LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'activity type "%" maps onto universal type "%" on platforms it would no longer support',
                            conflict.name, name
                USING ERRCODE = '23503',
                      DETAIL = format('Type "%s" is registered for %s.', conflict.name,
                                      coalesce('platforms ' || array_to_string(conflict.platforms, ', '), 'any platform')),
                      HINT = 'Narrow the type''s platforms with activity.register_type() first.';
        END IF;
    END IF;
    INSERT INTO activity.universal_types AS u (name, description, platforms)
    VALUES (register_universal_type.name, nullif(register_universal_type.description, ''), nullif(new_platforms, '{}'))
    ON CONFLICT ON CONSTRAINT universal_types_pkey DO UPDATE
        SET description = CASE WHEN register_universal_type.description IS NULL THEN u.description
                               ELSE nullif(register_universal_type.description, '') END,
            platforms = CASE WHEN register_universal_type.platforms IS NULL THEN u.platforms
                             ELSE nullif(new_platforms, '{}') END,
            updated_at = now()
    RETURNING * INTO result;
    RETURN result;
END;
$$;
COMMENT ON FUNCTION activity.register_universal_type(text, text, text[]) IS
    'Registers a universal type with the platforms that support it (''{}'' or omitted for a new one: all), or changes what is given; returns its registry row';

-- The third tier on each activity: the function that recorded it. (Added
-- here, before xact_id, so that the table's columns keep the order of the
-- C description, src/activity.h.)
ALTER TABLE activity.activities ADD COLUMN function_type text;
COMMENT ON COLUMN activity.activities.function_type IS
    'Function type: the public name of the function that recorded the activity (seed 003: logMessageDelete); NULL if not given';

-- Type names: lower-case dotted (native: post.created), upper snake case
-- (named as a universal type: USER_JOIN), or a registered platform and the
-- name as that platform's framework spells it (discord:guildMemberAdd,
-- minecraft:PlayerJoinEvent): the platform prefix keeps a name such as
-- "message" (Slack's and Telegram's) unambiguous.
ALTER TABLE activity.event_types DROP CONSTRAINT event_types_name_check;
ALTER TABLE activity.event_types ADD CONSTRAINT event_types_name_check CHECK (
    name ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$'
    OR name ~ '^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$'
    OR name ~ '^[a-z][a-z0-9_]*:[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$');
COMMENT ON COLUMN activity.event_types.name IS
    'Type name: lower-case dotted (post.created), upper snake case (USER_JOIN), or platform:name as the platform spells it (discord:guildMemberAdd)';

DROP FUNCTION activity.register_type(text, text, text, text, text[], text[]);
CREATE FUNCTION activity.register_type(
    name text,
    description text DEFAULT NULL,
    universal_type text DEFAULT NULL,
    recipient text DEFAULT NULL,
    platforms text[] DEFAULT NULL,
    actor_types text[] DEFAULT NULL,
    subject_type text DEFAULT NULL,
    function_types text[] DEFAULT NULL,
    caused_by text[] DEFAULT NULL)
RETURNS activity.event_types
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    result activity.event_types;
    old activity.event_types;
    qualifier text := substring(name FROM '^([a-z][a-z0-9_]*):');
    -- '' and '{}' clear a value; NULL (omitted) keeps it
    given_platforms text[] := (SELECT array_agg(DISTINCT p ORDER BY p) FROM unnest(register_type.platforms) p);
    given_actors text[] := (SELECT array_agg(DISTINCT a ORDER BY a) FROM unnest(register_type.actor_types) a);
    given_functions text[] := (SELECT array_agg(DISTINCT f ORDER BY f) FROM unnest(register_type.function_types) f);
    given_causes text[] := (SELECT array_agg(DISTINCT c ORDER BY c) FROM unnest(register_type.caused_by) c);
    new_universal text;
    new_platforms text[];
    new_functions text[];
    new_causes text[];
    support text[];
    unknown text;
BEGIN
    IF name IS NULL THEN
        RAISE EXCEPTION 'event type name must not be null' USING ERRCODE = '22004';
    END IF;
    IF NOT (name ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$'
            OR name ~ '^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$'
            OR name ~ '^[a-z][a-z0-9_]*:[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$') THEN
        RAISE EXCEPTION 'invalid event type name "%"', left(name, 130)
            USING ERRCODE = '22023',
                  DETAIL = 'A type name is lower-case words separated by dots (post.created), upper snake case (USER_JOIN), '
                           'or a platform and the name as the platform spells it (discord:guildMemberAdd).';
    END IF;
    IF length(name) > 128 THEN
        RAISE EXCEPTION 'event type name "%" is too long', left(name, 130)
            USING ERRCODE = '22023', DETAIL = 'Type names are at most 128 characters.';
    END IF;
    IF qualifier IS NOT NULL AND NOT EXISTS (SELECT 1 FROM activity.platforms p WHERE p.name = qualifier) THEN
        RAISE EXCEPTION 'unknown platform "%" in event type name "%"', qualifier, name
            USING ERRCODE = '23503', HINT = 'Register it first with activity.register_platform().';
    END IF;
    IF universal_type <> '' AND universal_type !~ '^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$' THEN
        RAISE EXCEPTION 'invalid universal type "%"', left(universal_type, 130)
            USING ERRCODE = '22023',
                  DETAIL = 'A universal type is upper snake case, such as USER_JOIN ('''' removes it).';
    END IF;
    IF recipient NOT IN ('required', 'forbidden', 'optional') THEN
        RAISE EXCEPTION 'invalid recipient rule "%"', recipient
            USING ERRCODE = '22023',
                  DETAIL = 'The recipient rule is one of required, forbidden or optional.';
    END IF;
    IF array_position(platforms, NULL) IS NOT NULL OR array_position(platforms, '') IS NOT NULL THEN
        RAISE EXCEPTION 'invalid platforms %', platforms
            USING ERRCODE = '22023',
                  DETAIL = 'platforms is a list of registered platforms, or ''{}'' for any platform.';
    END IF;
    IF subject_type <> '' AND (length(subject_type) > 128 OR subject_type !~ '^[[:graph:]]+$') THEN
        RAISE EXCEPTION 'invalid subject type "%"', left(subject_type, 64)
            USING ERRCODE = '22023',
                  DETAIL = 'A subject type is a name without spaces of at most 128 characters, such as issue ('''' removes the rule).';
    END IF;
    IF cardinality(actor_types) = 0 OR NOT actor_types <@ '{user,agent,system}'::text[] THEN
        RAISE EXCEPTION 'invalid actor types %', actor_types
            USING ERRCODE = '22023',
                  DETAIL = 'actor_types is a non-empty list drawn from user, agent and system.';
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(function_types) f
               WHERE f IS NULL OR NOT (f ~ '^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$' AND length(f) <= 128)) THEN
        RAISE EXCEPTION 'invalid function types %', left(function_types::text, 200)
            USING ERRCODE = '22023',
                  DETAIL = 'A function type is the public name of a function (logMessageDelete, moderation.link_filter) '
                           'of at most 128 characters; ''{}'' allows any.';
    END IF;
    IF array_position(caused_by, NULL) IS NOT NULL OR array_position(caused_by, '') IS NOT NULL THEN
        RAISE EXCEPTION 'invalid caused_by %', caused_by
            USING ERRCODE = '22023',
                  DETAIL = 'caused_by is a list of type or universal type names, or ''{}'' for no rule.';
    END IF;

    -- the type as it will be: what is given, and the rest as registered
    -- (a new type takes the defaults)
    SELECT * INTO old FROM activity.event_types t WHERE t.name = register_type.name FOR UPDATE;
    new_universal := CASE WHEN register_type.universal_type IS NULL THEN old.universal_type
                          ELSE nullif(register_type.universal_type, '') END;
    new_platforms := CASE WHEN register_type.platforms IS NOT NULL THEN nullif(given_platforms, '{}')
                          WHEN old.name IS NOT NULL THEN old.platforms
                          WHEN qualifier IS NOT NULL THEN ARRAY[qualifier] END;
    new_functions := CASE WHEN register_type.function_types IS NULL THEN old.function_types
                          ELSE nullif(given_functions, '{}') END;
    new_causes := CASE WHEN register_type.caused_by IS NULL THEN old.caused_by
                       ELSE nullif(given_causes, '{}') END;

    unknown := activity._unknown_platforms(new_platforms);
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION 'unknown platform %', unknown
            USING ERRCODE = '23503', HINT = 'Register it first with activity.register_platform().';
    END IF;
    IF qualifier IS NOT NULL AND new_platforms IS DISTINCT FROM ARRAY[qualifier] THEN
        RAISE EXCEPTION 'activity type "%" is a % type: its platforms must be {%}', name, qualifier, qualifier
            USING ERRCODE = '22023',
                  DETAIL = 'The platform in a type''s name is the one platform that may record it.';
    END IF;
    IF new_universal IS NOT NULL THEN
        SELECT u.platforms INTO support FROM activity.universal_types u WHERE u.name = new_universal;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'unknown universal type "%"', new_universal
                USING ERRCODE = '23503',
                      HINT = 'Register it first with activity.register_universal_type().';
        END IF;
        IF support IS NOT NULL AND (new_platforms IS NULL OR NOT new_platforms <@ support) THEN
            RAISE EXCEPTION 'universal type "%" is not supported on %', new_universal,
                            coalesce('platform ' || (SELECT string_agg(p, ', ' ORDER BY p) FROM unnest(new_platforms) p
                                                     WHERE p <> ALL (support)),
                                     'every platform')
                USING ERRCODE = '23514',
                      DETAIL = format('Universal type "%s" is supported on: %s.', new_universal, array_to_string(support, ', ')),
                      HINT = CASE WHEN new_platforms IS NULL
                                  THEN format('Register type "%s" for those platforms only (platforms => ''{%s}'').',
                                              name, array_to_string(support, ','))
                                  ELSE 'Map it onto a universal type its platforms support, or none.' END;
        END IF;
    END IF;
    SELECT string_agg(format('"%s"', c), ', ' ORDER BY c) INTO unknown
    FROM unnest(new_causes) c
    WHERE c <> register_type.name
      AND NOT EXISTS (SELECT 1 FROM activity.event_types t WHERE t.name = c)
      AND NOT EXISTS (SELECT 1 FROM activity.universal_types u WHERE u.name = c);
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION 'caused_by names %, neither a registered type nor a universal type', unknown
            USING ERRCODE = '23503',
                  HINT = 'Register the cause''s type (activity.register_type()) or universal type first.';
    END IF;

    INSERT INTO activity.event_types AS t
        (name, description, universal_type, recipient, platforms, actor_types, subject_type,
         function_types, caused_by)
    VALUES (register_type.name, nullif(register_type.description, ''), new_universal,
            coalesce(register_type.recipient, 'optional'),
            new_platforms,
            coalesce(given_actors, '{agent,system,user}'),
            nullif(register_type.subject_type, ''),
            new_functions, new_causes)
    ON CONFLICT ON CONSTRAINT event_types_pkey DO UPDATE
        SET description = CASE WHEN register_type.description IS NULL THEN t.description
                               ELSE nullif(register_type.description, '') END,
            universal_type = new_universal,
            recipient = coalesce(register_type.recipient, t.recipient),
            platforms = new_platforms,
            actor_types = coalesce(given_actors, t.actor_types),
            subject_type = CASE WHEN register_type.subject_type IS NULL THEN t.subject_type
                                ELSE nullif(register_type.subject_type, '') END,
            function_types = new_functions,
            caused_by = new_causes
    RETURNING * INTO result;
    RETURN result;
END;
$$;
COMMENT ON FUNCTION activity.register_type(text, text, text, text, text[], text[], text, text[], text[]) IS
    'Registers an event type, or changes the rules given (and only those) of a registered one; '''' or ''{}'' clears a value; returns its registry row';

-- The seeds' "Versions" page: what changed in each type, and when
CREATE VIEW activity.type_history AS
SELECT t.name AS type, (h ->> 'at')::timestamptz AS at, h ->> 'by' AS by, h ->> 'change' AS change,
       NULL::int2 AS schema_version, coalesce(h -> 'changes', h -> 'rules') AS details
FROM activity.event_types t CROSS JOIN LATERAL jsonb_array_elements(t.history) h
UNION ALL
SELECT s.type, s.created_at, s.created_by, 'schema registered', s.version,
       jsonb_build_object('compatibility', s.compatibility, 'schema', s.schema::jsonb)
FROM activity.schemas s
UNION ALL
SELECT s.type, s.retired_at, s.retired_by, 'schema retired', s.version, NULL
FROM activity.schemas s WHERE s.retired_at IS NOT NULL;
COMMENT ON VIEW activity.type_history IS
    'Every change of every event type: registration, each change of its rules (old and new values), each schema version registered or retired, with time and role';
COMMENT ON COLUMN activity.type_history.type IS 'The event type';
COMMENT ON COLUMN activity.type_history.at IS 'When the change was made';
COMMENT ON COLUMN activity.type_history.by IS 'The role that made it (NULL for types registered before 0.2)';
COMMENT ON COLUMN activity.type_history.change IS 'registered, changed, schema registered or schema retired';
COMMENT ON COLUMN activity.type_history.schema_version IS 'The schema version registered or retired';
COMMENT ON COLUMN activity.type_history.details IS
    'The rules at registration; for a change, each changed rule with its old and new value; for a schema, its compatibility mode and the schema';

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
    UPDATE activity.schemas s SET retired_at = coalesce(s.retired_at, now()),
                                  retired_by = CASE WHEN s.retired_at IS NULL THEN current_user ELSE s.retired_by END
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
-- The one description of the columns, the feed filters and their indexes
-- (src/activity.h, src/columns.c), as SQL sees it: the install script
-- builds from it, and the test "descriptions" holds the rest to it.
CREATE FUNCTION activity._columns()
RETURNS TABLE (ord int, name text, type regtype)
AS 'MODULE_PATHNAME', 'activity_columns_sql'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION activity._columns() IS
    'Internal: the columns of an activity as the C code describes them, in the order of the table, page() and the validation constraint';
CREATE FUNCTION activity._feed_filters()
RETURNS TABLE (ord int, argument text, "column" text, kind text, type regtype, param int, condition text)
AS 'MODULE_PATHNAME', 'activity_feed_filters_sql'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION activity._feed_filters() IS
    'Internal: the filters of page() as the C code describes them: argument, column, condition and its parameter in a feed plan';
CREATE FUNCTION activity._feed_indexes()
RETURNS TABLE (suffix text, "unique" boolean, columns text[], body text)
AS 'MODULE_PATHNAME', 'activity_feed_indexes_sql'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION activity._feed_indexes() IS
    'Internal: the feed indexes of each partition as the C code expects them (name suffix, uniqueness, leading columns then occurred_at, id, and the CREATE INDEX text after ON partition)';

-- Its arguments are the columns in the order of activity._columns() (the
-- C description, src/activity.h), then xact_id; the test "descriptions"
-- holds this signature to it.
CREATE FUNCTION activity._valid_activity(
    id uuid, workspace_id text, platform text, type text, version int2, actor_type text,
    initiator_id text, recipient_id text, subject_type text, subject_id text, caused_by uuid,
    metadata jsonb, occurred_at timestamptz, recorded_at timestamptz, function_type text, xact_id xid8)
RETURNS boolean
AS 'MODULE_PATHNAME', 'activity_valid_activity'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION activity._valid_activity(uuid, text, text, text, int2, text, text, text, text, text, uuid, jsonb, timestamptz, timestamptz, text, xid8) IS
    'Internal: the CHECK constraint of each partition; true, or the error of the first rule the row breaks; registers the id in activity.event_ids';

CREATE FUNCTION activity._complete()
RETURNS trigger
AS 'MODULE_PATHNAME', 'activity_complete'
LANGUAGE C;
COMMENT ON FUNCTION activity._complete() IS
    'Internal: BEFORE INSERT trigger that fills in an omitted version, metadata, id or recorded_at, and gives a restored row the restoring transaction''s xact_id';

CREATE FUNCTION activity._check_caused_by()
RETURNS trigger
AS 'MODULE_PATHNAME', 'activity_check_caused_by'
LANGUAGE C;
COMMENT ON FUNCTION activity._check_caused_by() IS
    'Internal: AFTER INSERT trigger checking that caused_by names an activity of the same workspace';

DROP TRIGGER activities_validate ON activity.activities;
DROP FUNCTION activity._validate();

-- (activities_complete is created with the change feed's xact_id, below)
CREATE TRIGGER activities_caused_by
    AFTER INSERT ON activity.activities
    FOR EACH ROW
    WHEN (NEW.caused_by IS NOT NULL)
    EXECUTE FUNCTION activity._check_caused_by();

-- Every id once: a unique index on the partitioned log must include
-- occurred_at, so a retry carrying another occurred_at would be stored twice.
-- This table holds every id under one unique index; the validation of each
-- row written registers its id here (src/ids.c).
CREATE TABLE activity.event_ids (
    id uuid PRIMARY KEY,
    occurred_at timestamptz NOT NULL
);
COMMENT ON TABLE activity.event_ids IS
    'Every activity id, once, with its occurred_at: the unique index that partitions cannot have; kept by validation and retention';
COMMENT ON COLUMN activity.event_ids.id IS 'An activity id';
COMMENT ON COLUMN activity.event_ids.occurred_at IS 'The occurred_at of that activity, which says its partition';
SELECT pg_catalog.pg_extension_config_dump('activity.event_ids', '');
REVOKE ALL ON activity.event_ids FROM PUBLIC;

DROP FUNCTION activity.record(text, text, text, jsonb, text, text, int, timestamptz, text, text, text, uuid);
CREATE FUNCTION activity.record(
    workspace_id text,
    type text,
    initiator_id text DEFAULT NULL,
    metadata jsonb DEFAULT '{}',
    recipient_id text DEFAULT NULL,
    actor_type text DEFAULT 'user',
    version int DEFAULT NULL,
    occurred_at timestamptz DEFAULT NULL,
    platform text DEFAULT NULL,
    subject_type text DEFAULT NULL,
    subject_id text DEFAULT NULL,
    caused_by uuid DEFAULT NULL,
    id uuid DEFAULT NULL,
    function_type text DEFAULT NULL)
RETURNS uuid
AS 'MODULE_PATHNAME', 'activity_record'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION activity.record(text, text, text, jsonb, text, text, int, timestamptz, text, text, text, uuid, uuid, text) IS
    'Records one activity and returns its id; occurred_at defaults to now(), version to the type''s latest; with an id, a retry of an activity already recorded returns its id and records nothing';

-- Rows are judged when they are written, not again when they are restored:
-- the rules may have changed since. A statement trigger on the log (not
-- cloned to partitions) marks transactions that write through the log; in
-- the others, rows written straight into a partition by the owner's own
-- session (pg_restore) are stored as they are (README: Backup and restore).
CREATE FUNCTION activity._through_log()
RETURNS trigger
AS 'MODULE_PATHNAME', 'activity_through_log'
LANGUAGE C;
COMMENT ON FUNCTION activity._through_log() IS
    'Internal: BEFORE INSERT statement trigger marking a transaction that writes through activity.activities';
CREATE TRIGGER activities_through_log
    BEFORE INSERT ON activity.activities
    FOR EACH STATEMENT EXECUTE FUNCTION activity._through_log();

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
               activity.universal_type(a.type) AS universal_type, a.function_type,
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

-- Drivers pass a cursor back as they got it: as text (a string parameter
-- typed text, as psycopg's %b sends it) or, from binary results, as its raw
-- bytes (bytea). Both are checked like the type's own input.
CREATE CAST (text AS activity.cursor) WITH INOUT AS IMPLICIT;
CREATE FUNCTION activity._cursor_from_bytea(bytea) RETURNS activity.cursor
AS 'MODULE_PATHNAME', 'activity_cursor_from_bytea' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION activity._cursor_from_bytea(bytea) IS
    'Internal: the cast of a cursor''s raw bytes (binary output) back to activity.cursor, checked like binary input';
CREATE CAST (bytea AS activity.cursor) WITH FUNCTION activity._cursor_from_bytea(bytea) AS IMPLICIT;
COMMENT ON CAST (text AS activity.cursor) IS 'A cursor from its text form (checked like its input)';
COMMENT ON CAST (bytea AS activity.cursor) IS 'A cursor from its raw bytes (its binary output; checked like its binary input)';

-- Seed 002's contract: offset paging over a workspace's feed, or an issue's,
-- with its field names. Keyset paging (activity.page) is the fast path.
-- The contract's actors are users and agents: activities of the system
-- (actor_type 'system', no actor_id) are left out, and are in page() and
-- the activity_log view. An issue's activities are those about subject
-- ('issue', issue_id); types about issues say so (register_type(...,
-- subject_type => 'issue')), so none of theirs can be recorded otherwise.
-- (SQL functions: their output columns share names with their arguments,
-- which PL/pgSQL does not allow.)
CREATE FUNCTION activity._check_offset_args(
    workspace_id text, "limit" int, "offset" int,
    issue_id text DEFAULT NULL, has_issue boolean DEFAULT false,
    actor_type text DEFAULT NULL)
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
    IF actor_type NOT IN ('user', 'agent') THEN
        RAISE EXCEPTION 'actor_type must be user or agent, not "%"', left(actor_type, 64) USING ERRCODE = '22023';
    END IF;
END;
$$;
COMMENT ON FUNCTION activity._check_offset_args(text, int, int, text, boolean, text) IS
    'Internal: checks the arguments of workspace_activity() and issue_activity()';

CREATE FUNCTION activity.workspace_activity(
    workspace_id text,
    "limit" int DEFAULT 50,
    "offset" int DEFAULT 0,
    actor_type text DEFAULT NULL)
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
    SELECT activity._check_offset_args($1, $2, $3, actor_type => $4);
    SELECT a.id, a.workspace_id, CASE WHEN a.subject_type = 'issue' THEN a.subject_id END,
           a.actor_type, a.initiator_id, a.type, a.metadata, a.occurred_at
    FROM activity.activities a
    WHERE a.workspace_id = $1
      AND a.actor_type = ANY (CASE WHEN $4 IS NULL THEN '{user,agent}'::text[] ELSE ARRAY[$4] END)
    ORDER BY a.occurred_at DESC, a.id DESC
    LIMIT $2 OFFSET $3;
$$;
COMMENT ON FUNCTION activity.workspace_activity(text, int, int, text) IS
    'Seed 002''s workspace activity: a workspace''s activities by users and agents, newest first, by limit (1..200) and offset, optionally of one actor type; activity.page() pages in constant time';

CREATE FUNCTION activity.issue_activity(
    workspace_id text,
    issue_id text,
    "limit" int DEFAULT 50,
    "offset" int DEFAULT 0,
    actor_type text DEFAULT NULL)
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
    SELECT activity._check_offset_args($1, $3, $4, $2, true, $5);
    SELECT a.id, a.workspace_id, a.subject_id, a.actor_type, a.initiator_id, a.type, a.metadata, a.occurred_at
    FROM activity.activities a
    WHERE a.workspace_id = $1 AND a.subject_type = 'issue' AND a.subject_id = $2
      AND a.actor_type = ANY (CASE WHEN $5 IS NULL THEN '{user,agent}'::text[] ELSE ARRAY[$5] END)
    ORDER BY a.occurred_at DESC, a.id DESC
    LIMIT $3 OFFSET $4;
$$;
COMMENT ON FUNCTION activity.issue_activity(text, text, int, int, text) IS
    'Seed 002''s issue activity: the activities by users and agents about one issue (subject_type ''issue''), newest first, by limit (1..200) and offset, optionally of one actor type';

--------------------------------------------------------------------------------
-- Every feed an index seek: page() with filters, and the indexes it seeks
--------------------------------------------------------------------------------
-- (the indexes each feed seeks are defined with the partitions, at the end)

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
    direction text DEFAULT 'desc',
    function_types text[] DEFAULT NULL,
    caused_by uuid DEFAULT NULL,
    member_id text DEFAULT NULL,
    metadata jsonb DEFAULT NULL)
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
    function_type text,
    cursor activity.cursor,
    has_more boolean)
AS 'MODULE_PATHNAME', 'activity_page'
LANGUAGE C STABLE
ROWS 50;
COMMENT ON FUNCTION activity.page(text, activity.cursor, int, text, text, text, text, text[], text[], text[], text[], timestamptz, timestamptz, text, text[], uuid, text, jsonb) IS
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
    direction text DEFAULT 'desc',
    function_types text[] DEFAULT NULL,
    caused_by uuid DEFAULT NULL,
    member_id text DEFAULT NULL,
    metadata jsonb DEFAULT NULL)
RETURNS TABLE (partition regclass, plan text)
AS 'MODULE_PATHNAME', 'activity_page_plans'
LANGUAGE C STABLE;
COMMENT ON FUNCTION activity.page_plans(text, activity.cursor, int, text, text, text, text, text[], text[], text[], text[], timestamptz, timestamptz, text, text[], uuid, text, jsonb) IS
    'How page() reads each partition it may read for the same arguments: its direct index scan, or the plan it runs instead';

--------------------------------------------------------------------------------
-- Dashboards and anomaly monitoring: counts per time bucket, and bursts
--------------------------------------------------------------------------------
-- The grouping keys of counts() and bursts() ("by"): a column of the log,
-- or universal_type (the registry's, from the type).
CREATE FUNCTION activity._group_key(by_ text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF by_ IS NULL OR by_ NOT IN ('type', 'universal_type', 'function_type', 'platform', 'actor_type',
                                  'initiator_id', 'recipient_id') THEN
        RAISE EXCEPTION 'by must be one of type, universal_type, function_type, platform, actor_type, initiator_id or recipient_id, not %',
                        coalesce(quote_literal(by_), 'NULL')
            USING ERRCODE = '22023';
    END IF;
    RETURN CASE by_ WHEN 'universal_type' THEN 'a.type' ELSE 'a.' || by_ END;
END;
$$;
COMMENT ON FUNCTION activity._group_key(text) IS
    'Internal: the column a "by" argument of counts() and bursts() groups on (universal_type: the type, mapped after grouping)';

-- The local bucket of a.occurred_at in time zone tz, as SQL: calendar units
-- by date_trunc, any other fixed length by date_bin from 2001-01-01 00:00
-- local time (a Monday). Checks tz and the bucket.
CREATE FUNCTION activity._bucket_expr(bucket_length interval, tz text, calendar boolean DEFAULT true)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    unit text;
BEGIN
    IF bucket_length IS NULL THEN
        RAISE EXCEPTION 'bucket must not be null' USING ERRCODE = '22004';
    END IF;
    IF tz IS NULL THEN
        RAISE EXCEPTION 'tz must not be null' USING ERRCODE = '22004';
    END IF;
    BEGIN
        PERFORM now() AT TIME ZONE tz;
    EXCEPTION WHEN invalid_parameter_value OR feature_not_supported THEN
        RAISE EXCEPTION 'invalid time zone "%"', left(tz, 64)
            USING ERRCODE = '22023', HINT = 'A time zone is a name of pg_timezone_names (Europe/Paris) or an offset (+02).';
    END;
    unit := CASE WHEN calendar THEN
                 CASE bucket_length WHEN '1 minute' THEN 'minute' WHEN '1 hour' THEN 'hour' WHEN '1 day' THEN 'day'
                                    WHEN '1 week' THEN 'week' WHEN '1 month' THEN 'month' WHEN '3 months' THEN 'quarter'
                                    WHEN '1 year' THEN 'year' END END;
    IF unit IS NOT NULL THEN
        RETURN format('date_trunc(%L, a.occurred_at AT TIME ZONE %L)', unit, tz);
    END IF;
    IF bucket_length <= interval '0' OR extract(month FROM bucket_length) <> 0 OR extract(year FROM bucket_length) <> 0
       OR (NOT calendar AND extract(day FROM bucket_length) <> 0 AND bucket_length <> interval '1 day') THEN
        RAISE EXCEPTION 'bucket must be a positive interval of fixed length%, not %',
                        CASE WHEN calendar THEN ', or 1 month, 3 months or 1 year' ELSE '' END, bucket_length
            USING ERRCODE = '22023';
    END IF;
    IF current_setting('server_version_num')::int < 140000 THEN
        RAISE EXCEPTION 'bucket % needs PostgreSQL 14 or later (date_bin)', bucket_length
            USING ERRCODE = '0A000';
    END IF;
    RETURN format('date_bin(%L::interval, a.occurred_at AT TIME ZONE %L, %L::timestamp)',
                  bucket_length, tz, '2001-01-01 00:00');
END;
$$;
COMMENT ON FUNCTION activity._bucket_expr(interval, text, boolean) IS
    'Internal: the SQL of the local time bucket of an activity for counts() and bursts(); checks the bucket and the time zone';

-- The buckets from the one holding since to the one holding until, for the
-- counts from the indexes: bounds (instants, ascending) and labels (each
-- one's local start). A local bucket is the instants from the first whose
-- local time is its start (the earlier one when a clock goes back and that
-- time happens twice) to the next one's; a start that does not exist (the
-- clock went forward past it) is no bucket. Buckets of whole hours keep a
-- repeated hour whole, so that these are the buckets the SQL cuts.
CREATE FUNCTION activity._bucket_bounds(bucket_expr text, since timestamptz, until timestamptz,
                                        bucket_length interval, tz text,
                                        OUT bounds timestamptz[], OUT labels timestamp[])
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    EXECUTE format($q$
        SELECT array_agg(f ORDER BY f), array_agg(label ORDER BY f)
        FROM (SELECT f, max(l) AS label
              FROM (SELECT l, CASE WHEN ((l AT TIME ZONE $3) - interval '1 hour') AT TIME ZONE $3 >= l
                                   THEN (l AT TIME ZONE $3) - interval '1 hour' ELSE l AT TIME ZONE $3 END AS f
                    FROM generate_series(%s, $2 AT TIME ZONE $3 + $4, $4) l) s
              GROUP BY f) t$q$,
        replace(bucket_expr, 'a.occurred_at', '$1'))
    INTO bounds, labels USING since, until, tz, bucket_length;
END;
$$;
COMMENT ON FUNCTION activity._bucket_bounds(text, timestamptz, timestamptz, interval, text) IS
    'Internal: the bounds and local labels of the buckets counts() and bursts() count from the feed indexes';

-- (the work is in PL/pgSQL, which cannot name an argument and an output
-- column alike, as counts() does: "bucket")
CREATE FUNCTION activity._counts(ws text, since timestamptz, until timestamptz, bucket_length interval, by_ text,
                                 tz text DEFAULT 'UTC')
RETURNS TABLE (b timestamptz, k text, c bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    key_col text := activity._group_key(by_);
    bucket_expr text := activity._bucket_expr(bucket_length, tz);
    bounds timestamptz[];
    labels timestamptz[];
BEGIN
    IF since IS NULL OR until IS NULL THEN
        RAISE EXCEPTION 'since and until must not be null' USING ERRCODE = '22004';
    END IF;
    -- By type, for a workspace: counted from the workspace feed index alone
    -- (activity._bucket_counts(), C), into buckets whose bounds are cut here,
    -- as the SQL below would cut them (activity._bucket_bounds(); buckets of
    -- less than an hour take the SQL); under row-level security, or where a
    -- partition lacks the index, by the SQL.
    IF ws IS NOT NULL AND by_ IN ('type', 'universal_type') AND until > since
       AND (extract(epoch FROM bucket_length)::numeric % 3600 = 0
            OR extract(month FROM bucket_length) <> 0 OR extract(year FROM bucket_length) <> 0)
       -- at most 100,000 buckets (a month counts as 28 days here)
       AND extract(epoch FROM until - since) / extract(epoch FROM justify_days(bucket_length) - interval '2 days' * (extract(year FROM bucket_length) * 12 + extract(month FROM bucket_length))) <= 100000
       AND activity._index_counts_possible() THEN
        SELECT bb.bounds, (SELECT array_agg(u.l AT TIME ZONE tz ORDER BY u.i) FROM unnest(bb.labels) WITH ORDINALITY u(l, i))
        INTO bounds, labels
        FROM activity._bucket_bounds(bucket_expr, since, until, bucket_length, tz) bb;
        IF cardinality(bounds) BETWEEN 2 AND 100001 AND by_ = 'type' THEN
            -- (one row per bucket and type, sorted already)
            RETURN QUERY
                SELECT labels[c.bucket], c.type, c.n
                FROM activity._bucket_counts(ws, since, until, bounds) c
                ORDER BY 1, 2;
            RETURN;
        ELSIF cardinality(bounds) BETWEEN 2 AND 100001 THEN
            -- (summed per universal type in C, sorted already)
            RETURN QUERY
                SELECT labels[c.bucket], c.type, c.n
                FROM activity._bucket_counts(ws, since, until, bounds, true) c
                ORDER BY 1, 2;
            RETURN;
        END IF;
    END IF;
    -- per key (the type, for universal_type), then mapped; the workspace
    -- feed index holds the type, so counts by type read the index alone
    RETURN QUERY EXECUTE format($q$
        WITH per_key AS (
            SELECT %s AS b, %s AS k, count(*) AS c
            FROM activity.activities a
            WHERE %s a.occurred_at >= $2 AND a.occurred_at < $3
            GROUP BY 1, 2)
        SELECT b AT TIME ZONE $4, %s AS k, sum(c)::bigint
        FROM per_key
        GROUP BY 1, 2
        ORDER BY 1, 2$q$,
        bucket_expr, key_col,
        CASE WHEN ws IS NULL THEN '' ELSE 'a.workspace_id = $1 AND' END,
        CASE by_ WHEN 'universal_type' THEN 'activity.universal_type(k)' ELSE 'k' END)
    USING ws, since, until, tz;
END;
$$;
CREATE FUNCTION activity._bucket_counts(ws text, since timestamptz, until timestamptz, bounds timestamptz[],
                                        by_universal boolean DEFAULT false)
RETURNS TABLE (bucket int, type text, n bigint)
AS 'MODULE_PATHNAME', 'activity_bucket_counts'
LANGUAGE C STABLE;
COMMENT ON FUNCTION activity._bucket_counts(text, timestamptz, timestamptz, timestamptz[], boolean) IS
    'Internal: counts of a workspace''s activities per bucket [bounds[i], bounds[i+1]) and type (or universal type), read from the workspace feed indexes alone';
CREATE FUNCTION activity._bucket_bursts(ws text, since timestamptz, until timestamptz, bounds timestamptz[],
                                        labels timestamp[], window_start timestamp, period interval, baseline int,
                                        min_count int, min_score float8, by_universal boolean, universal_types text[])
RETURNS TABLE (bucket int, key text, n bigint, expected float8, score float8)
AS 'MODULE_PATHNAME', 'activity_bucket_bursts'
LANGUAGE C STABLE;
COMMENT ON FUNCTION activity._bucket_bursts(text, timestamptz, timestamptz, timestamptz[], timestamp[], timestamp, interval, int, int, float8, boolean, text[]) IS
    'Internal: bursts() by type or universal type, counted from the workspace feed indexes and scored in C';
CREATE FUNCTION activity._index_counts_possible()
RETURNS boolean
AS 'MODULE_PATHNAME', 'activity_index_counts_possible'
LANGUAGE C STABLE;
COMMENT ON FUNCTION activity._index_counts_possible() IS
    'Internal: whether activity._bucket_counts() can count for the caller (no row-level security applies, every partition has its workspace feed index)';

COMMENT ON FUNCTION activity._counts(text, timestamptz, timestamptz, interval, text, text) IS
    'Internal: the work of activity.counts()';

CREATE FUNCTION activity.counts(
    workspace_id text,
    since timestamptz,
    until timestamptz,
    bucket interval DEFAULT '1 day',
    "by" text DEFAULT 'type',
    tz text DEFAULT 'UTC')
RETURNS TABLE (bucket timestamptz, key text, n bigint)
LANGUAGE sql STABLE
AS $$ SELECT * FROM activity._counts($1, $2, $3, $4, $5, $6) $$;
COMMENT ON FUNCTION activity.counts(text, timestamptz, timestamptz, interval, text, text) IS
    'Event counts per time bucket (in time zone tz) and type, universal type, function type, platform, actor type, initiator or recipient, for a workspace (NULL: all) and a window [since, until)';

-- Bursts: buckets whose count is far above the same key's history.
-- The baseline of bucket b is the same slot in the "baseline" previous
-- periods (by default the same hour of the 4 previous weeks, in local
-- time); a slot without events counts 0. With m and s² the mean and the
-- variance of those counts:
--     expected = m,  score = (n - m) / sqrt(s² + m + 1)
-- the z-score of n against the history, its variance widened by m (a
-- count's own Poisson noise, so that a key with a steady history is not
-- flagged for a little more than usual) and by 1 (a key with no history is
-- flagged from min_count events on, not from its first). A bucket is a
-- burst when n >= min_count and score >= min_score.
CREATE FUNCTION activity._bursts(ws text, since timestamptz, until timestamptz, bucket_length interval, by_ text,
                                 tz text, period interval, baseline int, min_count int, min_score float8,
                                 types text[], universal_types text[], actor_types text[])
RETURNS TABLE (b timestamptz, k text, c bigint, e float8, z float8)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    key_col text := activity._group_key(by_);
    bucket_expr text := activity._bucket_expr(bucket_length, tz, false);
    prefixes text[] := activity._type_prefixes(types);
    lo timestamptz;
    bounds timestamptz[];
    labels timestamp[];
    source text;
BEGIN
    IF ws IS NULL THEN
        RAISE EXCEPTION 'workspace_id must not be null' USING ERRCODE = '22004';
    END IF;
    IF since IS NULL OR until IS NULL THEN
        RAISE EXCEPTION 'since and until must not be null' USING ERRCODE = '22004';
    END IF;
    IF until - since > interval '366 days' THEN
        RAISE EXCEPTION 'the window of bursts() is at most 366 days, not %', until - since USING ERRCODE = '22023';
    END IF;
    IF period IS NULL OR period <= interval '0' OR extract(month FROM period) <> 0 OR extract(year FROM period) <> 0
       OR extract(epoch FROM period) < extract(epoch FROM bucket_length)
       OR extract(epoch FROM period)::numeric % extract(epoch FROM bucket_length)::numeric <> 0 THEN
        RAISE EXCEPTION 'period must be a fixed length that is a multiple of the bucket (%), not %', bucket_length, period
            USING ERRCODE = '22023';
    END IF;
    IF baseline IS NULL OR baseline NOT BETWEEN 1 AND 52 THEN
        RAISE EXCEPTION 'baseline must be between 1 and 52 periods, not %', baseline USING ERRCODE = '22023';
    END IF;
    IF min_count IS NULL OR min_count < 1 OR min_score IS NULL THEN
        RAISE EXCEPTION 'min_count must be at least 1 and min_score not null' USING ERRCODE = '22023';
    END IF;
    IF array_position(universal_types, NULL) IS NOT NULL OR array_position(actor_types, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'universal_types and actor_types must not contain NULL' USING ERRCODE = '22004';
    END IF;
    -- the window and its history, per local bucket, type and key: by type,
    -- from the workspace feed indexes alone (as counts() does), else in SQL
    lo := since - baseline * period - bucket_length;
    IF by_ IN ('type', 'universal_type') AND actor_types IS NULL
       AND extract(epoch FROM bucket_length)::numeric % 3600 = 0
       AND extract(epoch FROM until - lo) / extract(epoch FROM bucket_length) <= 100000
       AND activity._index_counts_possible() THEN
        SELECT bb.bounds, bb.labels INTO bounds, labels
        FROM activity._bucket_bounds(bucket_expr, lo, until, bucket_length, tz) bb;
    END IF;
    -- by type or universal type without a type filter: counted and scored
    -- in C (activity._bucket_bursts()), as the SQL below does it
    IF cardinality(bounds) BETWEEN 2 AND 100001 AND types IS NULL THEN
        RETURN QUERY
            SELECT labels[x.bucket] AT TIME ZONE tz, x.key, x.n, x.expected, x.score
            FROM activity._bucket_bursts(ws, lo, until, bounds, labels, since AT TIME ZONE tz, period, baseline,
                                         min_count, min_score, by_ = 'universal_type', universal_types) x
            ORDER BY 1, 5 DESC, 2;
        RETURN;
    END IF;
    IF cardinality(bounds) BETWEEN 2 AND 100001 THEN
        source := $s$
            SELECT $14[c.bucket] AS b, c.type AS t, c.type AS k, c.n AS c
            FROM activity._bucket_counts($1, $15, $3, $13) c
            WHERE $7::text[] IS NULL OR activity._type_matches(c.type, $7)$s$;
    ELSE
        source := format($s$
            SELECT %s AS b, a.type AS t, %s AS k, count(*) AS c
            FROM activity.activities a
            WHERE a.workspace_id = $1
              AND a.occurred_at >= $15 AND a.occurred_at < $3
              AND ($7::text[] IS NULL OR activity._type_matches(a.type, $7))
              AND ($9::text[] IS NULL OR a.actor_type = ANY ($9))
            GROUP BY 1, 2, 3$s$, bucket_expr, key_col);
    END IF;
    RETURN QUERY EXECUTE format($q$
        WITH per_key AS (%1$s),
        counted AS MATERIALIZED (
            SELECT b, %3$s AS k, sum(c) AS c
            FROM per_key
            WHERE $8::text[] IS NULL OR activity.universal_type(t) = ANY ($8)
            GROUP BY 1, 2),
        -- each candidate (in the window, at least min_count) with the same
        -- slot of each of the previous periods: a hash join, not a window
        -- over every bucket of the history (no key is '': NULL keys join as '')
        scored AS (
            SELECT x.b, x.k, x.c,
                   coalesce(sum(h.c), 0)::float8 / $5 AS m,
                   coalesce(sum(h.c * h.c), 0)::float8 / $5 AS m2
            FROM counted x
            CROSS JOIN generate_series(1, $5) i
            LEFT JOIN counted h ON coalesce(h.k, '') = coalesce(x.k, '') AND h.b = x.b - i * $4
            WHERE x.b >= $2 AT TIME ZONE $10 AND x.c >= $11
            GROUP BY x.b, x.k, x.c)
        SELECT b AT TIME ZONE $10, k, c::bigint, m,
               (c - m) / sqrt(greatest(m2 - m * m, 0) + m + 1)
        FROM scored
        WHERE (c - m) / sqrt(greatest(m2 - m * m, 0) + m + 1) >= $12
        ORDER BY 1, 5 DESC, 2$q$,
        source, NULL,
        CASE by_ WHEN 'universal_type' THEN 'activity.universal_type(k)' ELSE 'k' END)
    USING ws, since, until, period, baseline, bucket_length, prefixes, universal_types, actor_types, tz,
          min_count, min_score, bounds, labels, lo;
END;
$$;
COMMENT ON FUNCTION activity._bursts(text, timestamptz, timestamptz, interval, text, text, interval, int, int, float8, text[], text[], text[]) IS
    'Internal: the work of activity.bursts()';

CREATE FUNCTION activity.bursts(
    workspace_id text,
    since timestamptz,
    until timestamptz,
    bucket interval DEFAULT '1 hour',
    "by" text DEFAULT 'type',
    tz text DEFAULT 'UTC',
    period interval DEFAULT '1 week',
    baseline int DEFAULT 4,
    min_count int DEFAULT 10,
    min_score float8 DEFAULT 4,
    types text[] DEFAULT NULL,
    universal_types text[] DEFAULT NULL,
    actor_types text[] DEFAULT NULL)
RETURNS TABLE (bucket timestamptz, key text, n bigint, expected float8, score float8)
LANGUAGE sql STABLE
AS $$ SELECT * FROM activity._bursts($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) $$;
COMMENT ON FUNCTION activity.bursts(text, timestamptz, timestamptz, interval, text, text, interval, int, int, float8, text[], text[], text[]) IS
    'Anomaly monitoring: the buckets of a workspace''s window where the count per key is far above the same slot of the previous periods (score = (n - expected) / sqrt(variance + expected + 1))';

-- The seeds' ready-made checks, over the last day by default
CREATE FUNCTION activity.anomalies(
    workspace_id text,
    since timestamptz DEFAULT now() - interval '1 day',
    until timestamptz DEFAULT now(),
    tz text DEFAULT 'UTC')
RETURNS TABLE ("check" text, bucket timestamptz, key text, n bigint, expected float8, score float8)
LANGUAGE sql STABLE
AS $$
    SELECT 'failed logins per member', b.* FROM activity.bursts($1, $2, $3, '1 hour', 'initiator_id', $4,
                                                               types => '{site.auth.login_failure}') b
    UNION ALL
    SELECT 'agent flood', b.* FROM activity.bursts($1, $2, $3, '1 hour', 'initiator_id', $4, actor_types => '{agent}') b
    UNION ALL
    SELECT 'join raid', b.* FROM activity.bursts($1, $2, $3, '1 hour', 'universal_type', $4,
                                                universal_types => '{USER_JOIN}') b
    UNION ALL
    SELECT 'moderation spike', b.* FROM activity.bursts($1, $2, $3, '1 hour', 'universal_type', $4,
        universal_types => '{MODERATION_LINK,CHAT_MESSAGE_DELETE,USER_BAN,USER_REMOVE,SECURITY_EVENT}') b
    ORDER BY 2, 1, 6 DESC
$$;
COMMENT ON FUNCTION activity.anomalies(text, timestamptz, timestamptz, text) IS
    'The ready-made anomaly checks of the seeds (failed logins per member, agent floods, join raids, moderation spikes), each activity.bursts() by the hour against the same hour of the 4 previous weeks';

--------------------------------------------------------------------------------
-- Partitions: each one carries its validation constraint and feed indexes
--------------------------------------------------------------------------------
-- The validation constraint activities_valid is on each partition, NOT
-- VALID, rather than on activity.activities: NOT VALID still checks every
-- row written, but never the rows already there. So adding it to a
-- partition is instant (the upgrade from 0.1 does not read the log), and
-- pg_dump restores it after the partition's rows (rows are judged when they
-- are written, not re-judged by a restore against today's rules).

-- Search by metadata (page(metadata => ...)) reads a GIN index of each
-- partition's metadata where the log has one: opt-in, as it costs ingestion
-- and disk (bench/RESULTS.md); without it, a search walks the feed.
ALTER TABLE activity.settings ADD COLUMN metadata_index boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN activity.settings.metadata_index IS
    'Whether maintain() gives every partition a GIN index of metadata (jsonb_path_ops), which page(metadata => ...) searches';
-- The hash chain (activity.verify()) is opt-in too: maintain() extends it.
ALTER TABLE activity.settings ADD COLUMN hash_chain boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN activity.settings.hash_chain IS
    'Whether maintain() extends the hash chain over activities, which activity.verify() checks';
CREATE OR REPLACE FUNCTION activity._settings()
RETURNS activity.settings
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce((SELECT s FROM activity.settings s),
                    ROW(true, '1 month', 3, NULL, false, false)::activity.settings)
$$;

DROP FUNCTION activity.configure(interval, int, interval, boolean);
CREATE FUNCTION activity.configure(
    partition_interval interval DEFAULT NULL,
    premake int DEFAULT NULL,
    retention interval DEFAULT NULL,
    keep_forever boolean DEFAULT false,
    metadata_index boolean DEFAULT NULL,
    hash_chain boolean DEFAULT NULL)
RETURNS activity.settings
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    result activity.settings;
BEGIN
    IF keep_forever AND retention IS NOT NULL THEN
        RAISE EXCEPTION 'retention and keep_forever cannot both be given' USING ERRCODE = '22023';
    END IF;
    IF partition_interval IS NOT NULL AND NOT activity._interval_supported(partition_interval) THEN
        RAISE EXCEPTION 'unsupported partition interval "%"', partition_interval
            USING ERRCODE = '22023',
                  DETAIL = 'Supported intervals are 1 day, 7 days, 1, 2, 3, 4 or 6 months, and 1 year.';
    END IF;
    IF premake IS NOT NULL AND premake NOT BETWEEN 1 AND 366 THEN
        RAISE EXCEPTION 'premake must be between 1 and 366, not %', premake USING ERRCODE = '22023';
    END IF;
    IF retention IS NOT NULL AND retention <= '0'::interval THEN
        RAISE EXCEPTION 'retention must be positive, not %', retention USING ERRCODE = '22023';
    END IF;
    result := activity._settings();
    result.partition_interval := coalesce(configure.partition_interval, result.partition_interval);
    result.premake := coalesce(configure.premake, result.premake);
    result.retention := CASE WHEN keep_forever THEN NULL ELSE coalesce(configure.retention, result.retention) END;
    result.metadata_index := coalesce(configure.metadata_index, result.metadata_index);
    result.hash_chain := coalesce(configure.hash_chain, result.hash_chain);
    INSERT INTO activity.settings AS s VALUES (result.*)
    ON CONFLICT (singleton) DO UPDATE
        SET partition_interval = excluded.partition_interval,
            premake = excluded.premake,
            retention = excluded.retention,
            metadata_index = excluded.metadata_index,
            hash_chain = excluded.hash_chain;
    -- the chain's key, and its position: the whole log first
    IF result.hash_chain THEN
        INSERT INTO activity.hash_chain_key (key)
        VALUES (sha256(convert_to(gen_random_uuid()::text || gen_random_uuid()::text || clock_timestamp()::text, 'UTF8')))
        ON CONFLICT (singleton) DO NOTHING;
        INSERT INTO activity.hash_chain_state (position) VALUES (activity.feed_position('beginning'))
        ON CONFLICT (singleton) DO NOTHING;
    END IF;
    RETURN result;
END;
$$;
COMMENT ON FUNCTION activity.configure(interval, int, interval, boolean, boolean, boolean) IS
    'Changes the partitioning, retention, search and hash chain settings read by activity.maintain(); NULL arguments keep the current value';

-- The indexes of a partition, each feed one index seek (page(), counts()).
-- Per partition, next to the workspace feed index: the entity, actor and
-- recipient feeds of a workspace (partial: only rows that have one) and the
-- all-workspaces listing by time, partial on a condition every row meets so
-- that only queries that name it use it (the planner took a plain time index
-- for a sparse workspace's feed: 16 ms instead of 0.2 ms on the feed index).
CREATE FUNCTION activity._index_definitions(part regclass)
RETURNS TABLE (name text, definition text)
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.relname || d.suffix,
           format('CREATE %sINDEX%%s %s ON %s %s', d.kind, quote_ident(c.relname || d.suffix), part, d.body)
    FROM pg_class c,
         -- the feed indexes, as the C code describes them (src/columns.c)
         (SELECT f.suffix, CASE WHEN f."unique" THEN 'UNIQUE ' ELSE '' END, f.body
          FROM activity._feed_indexes() f
          UNION ALL
          -- metadata search, where the log has opted in
          SELECT '_metadata_idx', '', 'USING gin (metadata jsonb_path_ops)'
          WHERE (activity._settings()).metadata_index)
         AS d(suffix, kind, body)
    WHERE c.oid = part
$$;
COMMENT ON FUNCTION activity._index_definitions(regclass) IS
    'Internal: name and CREATE INDEX statement (with a %s for options such as CONCURRENTLY) of each feed index of a partition';

CREATE FUNCTION activity._add_validation(part regclass)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- every column, as the C description orders them, then xact_id
    EXECUTE format('ALTER TABLE %s ADD CONSTRAINT activities_valid CHECK (activity._valid_activity(%s, xact_id)) NOT VALID',
                   part, (SELECT string_agg(quote_ident(c.name), ', ' ORDER BY c.ord) FROM activity._columns() c));
END;
$$;
COMMENT ON FUNCTION activity._add_validation(regclass) IS
    'Internal: adds the validation constraint activities_valid to a partition (NOT VALID: rows already there are not judged again)';

-- Feed indexes, replica identity and TRUNCATE guard of a table about to
-- become a partition (TRUNCATE triggers are not inherited). No primary key
-- (id, occurred_at), as 0.1 had: activity.event_ids keeps every id once
-- (with its occurred_at, which names the partition and the feed index entry
-- of an id), and a second unique index per row costs ingestion as much as
-- the registry does (bench/RESULTS.md).
CREATE OR REPLACE FUNCTION activity._index_partition(part regclass)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d record;
BEGIN
    FOR d IN SELECT * FROM activity._index_definitions(part) LOOP
        EXECUTE format(d.definition, '');
    END LOOP;
    PERFORM activity._set_replica_identity(part);
    EXECUTE format('CREATE TRIGGER activities_no_truncate BEFORE TRUNCATE ON %s'
                   ' FOR EACH STATEMENT EXECUTE FUNCTION activity._append_only()', part);
END;
$$;
COMMENT ON FUNCTION activity._index_partition(regclass) IS
    'Internal: creates the feed indexes, replica identity and TRUNCATE guard of a new partition';

-- Logical replication (a CDC pipeline) needs each partition's replica
-- identity for the deletes maintenance does (rows moved out of the default
-- partition): the unique workspace feed index.
CREATE FUNCTION activity._set_replica_identity(part regclass)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s REPLICA IDENTITY USING INDEX %I', part,
                   (SELECT c.relname FROM pg_class c WHERE c.oid = part) || '_feed_idx');
END;
$$;
COMMENT ON FUNCTION activity._set_replica_identity(regclass) IS
    'Internal: makes the unique workspace feed index the replica identity of a partition';

-- Partitions whose ids an upgrade from 0.1 left to register in
-- activity.event_ids (online, activity.pending_steps())
CREATE TABLE activity.pending_ids (
    partition text PRIMARY KEY
);
COMMENT ON TABLE activity.pending_ids IS
    'Partitions of a log upgraded from 0.1 whose ids are not yet registered in activity.event_ids';
COMMENT ON COLUMN activity.pending_ids.partition IS 'The partition, schema-qualified';
SELECT pg_catalog.pg_extension_config_dump('activity.pending_ids', '');

CREATE FUNCTION activity.register_ids(part regclass)
RETURNS TABLE (registered bigint, already_registered bigint)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    total bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM activity.partitions() p WHERE p.partition = part) THEN
        RAISE EXCEPTION '% is not a partition of activity.activities', part USING ERRCODE = '42809';
    END IF;
    EXECUTE format('SELECT count(*) FROM %s', part) INTO total;
    EXECUTE format('INSERT INTO activity.event_ids (id, occurred_at) SELECT id, occurred_at FROM %s'
                   ' ON CONFLICT (id) DO NOTHING', part);
    GET DIAGNOSTICS registered = ROW_COUNT;
    already_registered := total - registered;
    DELETE FROM activity.pending_ids p WHERE p.partition = part::text;
    RETURN NEXT;
END;
$$;
COMMENT ON FUNCTION activity.register_ids(regclass) IS
    'Registers the ids of a partition in activity.event_ids (after an upgrade from 0.1); already_registered counts ids there before, a repeated id among them';

CREATE FUNCTION activity.pending_steps()
RETURNS TABLE (partition regclass, step text, statement text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
    WITH defs AS (
        SELECT p.partition, d.name, d.definition,
               -- the index of that name, valid; "outdated" when it is 0.1's
               -- workspace feed index, without the type that counts() reads
               (SELECT NOT (d.name LIKE '%\_feed\_idx' AND x.indnatts <> 4)
                  FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
                 WHERE x.indrelid = p.partition AND i.relname = d.name AND x.indisvalid) AS current_ok,
               EXISTS (SELECT 1 FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
                       WHERE x.indrelid = p.partition AND i.relname = d.name || '_new' AND x.indisvalid) AS has_new
        FROM activity.partitions() p
        CROSS JOIN LATERAL activity._index_definitions(p.partition) d
    ), steps AS (
        -- an index an interrupted CREATE INDEX CONCURRENTLY left invalid goes first
        SELECT p.partition, 1 AS ord, i.relname::text AS name, 'drop invalid index' AS step,
               format('DROP INDEX CONCURRENTLY IF EXISTS activity_partitions.%I', i.relname) AS statement
        FROM activity.partitions() p
        JOIN pg_index x ON x.indrelid = p.partition AND NOT x.indisvalid
        JOIN pg_class i ON i.oid = x.indexrelid
        UNION ALL
        -- a missing index is built
        SELECT partition, 2, name, 'build index', format(definition, ' CONCURRENTLY IF NOT EXISTS')
        FROM defs WHERE current_ok IS NULL AND NOT has_new
        UNION ALL
        -- an outdated one is replaced: the new one built beside it, the old
        -- one dropped, the new one renamed (page() reads the partition
        -- through a plan for the moment the name is missing)
        SELECT partition, 2, name, 'build index',
               format(replace(definition, quote_ident(name), quote_ident(name || '_new')), ' CONCURRENTLY IF NOT EXISTS')
        FROM defs WHERE current_ok = false AND NOT has_new
        UNION ALL
        SELECT partition, 3, name, 'drop outdated index', format('DROP INDEX CONCURRENTLY IF EXISTS activity_partitions.%I', name)
        FROM defs WHERE current_ok = false
        UNION ALL
        SELECT partition, 4, name, 'rename index',
               format('ALTER INDEX IF EXISTS activity_partitions.%I RENAME TO %I', name || '_new', name)
        FROM defs WHERE (current_ok = false OR current_ok IS NULL) AND (has_new OR current_ok = false)
        UNION ALL
        SELECT p.partition, 5, NULL, 'register ids', format('SELECT * FROM activity.register_ids(%L)', p.partition::text)
        FROM activity.partitions() p
        WHERE p.partition::text IN (SELECT q.partition FROM activity.pending_ids q)
    )
    SELECT partition, step, statement FROM steps ORDER BY partition::text, ord, name
$$;
COMMENT ON FUNCTION activity.pending_steps() IS
    'Work an upgrade left to do online, as statements to run one by one outside a transaction block: SELECT statement FROM activity.pending_steps() \gexec';

--------------------------------------------------------------------------------
-- The change feed: every committed activity, to each consumer, in commit order
--------------------------------------------------------------------------------
-- Each row carries the transaction that wrote it (xact_id, its column
-- default; the validation constraint refuses any other value). A position
-- is a pair of snapshots: every activity whose transaction is visible in
-- the later one and not in the earlier one has committed in between, and
-- is read in (xact_id, id) order, the position moving on within that batch
-- with the last (xact_id, id) read. A transaction still open when a batch is
-- taken is in its snapshot's list of running transactions: its activities
-- come in the batch in which it is seen committed, whatever their
-- occurred_at, however long it stayed open. Nothing is read twice and
-- nothing skipped, whatever the number of concurrent writers; rows moved
-- between partitions by maintain() keep their xact_id. (PgQ's design.)
ALTER TABLE activity.activities ADD COLUMN xact_id xid8;
ALTER TABLE activity.activities ALTER COLUMN xact_id SET DEFAULT pg_catalog.pg_current_xact_id();
COMMENT ON COLUMN activity.activities.xact_id IS
    'The transaction that wrote the row (pg_current_xact_id(), set by the log): the change feed''s order; NULL for rows written by 0.1';
-- A row restored (or copied from a 0.1 log) carries another transaction's
-- xact_id, of its own cluster or none: the completion trigger makes it the
-- restoring transaction's, so that a consumer gets it once, when the restore
-- commits (a source cluster's xact_id could otherwise be read as a later
-- transaction of this one, or as one read already)
CREATE TRIGGER activities_complete
    BEFORE INSERT ON activity.activities
    FOR EACH ROW
    WHEN (NEW.version IS NULL OR NEW.metadata IS NULL OR NEW.id IS NULL OR NEW.recorded_at IS NULL
          OR NEW.workspace_id IS NULL OR NEW.type IS NULL OR NEW.actor_type IS NULL OR NEW.occurred_at IS NULL
          OR NEW.xact_id IS DISTINCT FROM pg_catalog.pg_current_xact_id())
    EXECUTE FUNCTION activity._complete();

CREATE FUNCTION activity._incarnation()
RETURNS text
AS 'MODULE_PATHNAME', 'activity_incarnation'
LANGUAGE C STABLE;
COMMENT ON FUNCTION activity._incarnation() IS
    'Internal: the cluster''s system identifier and this database''s OID, which a feed position is valid for';

-- A position, as activity._changes_chunk() reads and writes it
CREATE TYPE activity._feed_position AS (
    incarnation text,
    from_snap pg_snapshot,      -- everything visible in it has been read
    from_at timestamptz,        -- when it was taken
    to_snap pg_snapshot,        -- the batch being read: visible in it, not in from_snap
    to_at timestamptz,
    after_xact xid8,            -- the batch read up to pointer after_n of
    after_batch int,            -- batch after_batch of transaction after_xact
    after_n int,
    boot boolean,               -- reading the log as it was at from_snap first
    boot_occurred_at timestamptz,  -- ... read up to (boot_occurred_at, boot_id)
    boot_id uuid,
    removals bigint             -- retention removals known to this position
);
COMMENT ON TYPE activity._feed_position IS 'Internal: a change feed position, parsed';

CREATE TABLE activity.feed_removals (
    removal bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    removed_at timestamptz NOT NULL DEFAULT now(),
    what text NOT NULL,
    "rows" bigint NOT NULL,
    max_xact_id xid8 NOT NULL
);
COMMENT ON TABLE activity.feed_removals IS
    'Activities retention removed that a change feed position may not have read yet (one row per partition dropped or expiry)';
COMMENT ON COLUMN activity.feed_removals.removal IS 'Number of the removal';
COMMENT ON COLUMN activity.feed_removals.removed_at IS 'When';
COMMENT ON COLUMN activity.feed_removals.what IS 'The partition dropped or the rows expired';
COMMENT ON COLUMN activity.feed_removals."rows" IS 'About how many activities';
COMMENT ON COLUMN activity.feed_removals.max_xact_id IS 'The latest transaction among them: positions taken before it may not have read them';
COMMENT ON SEQUENCE activity.feed_removals_removal_seq IS 'Numbers of activity.feed_removals';
SELECT pg_catalog.pg_extension_config_dump('activity.feed_removals', '');
SELECT pg_catalog.pg_extension_config_dump('activity.feed_removals_removal_seq', '');
REVOKE ALL ON activity.feed_removals FROM PUBLIC;

-- The rows each transaction wrote, as pointers (occurred_at, id), written by
-- the validation constraint's C function some 64 at a time and at commit
-- (src/feed.c): one heap row and one key per 64 activities instead of an
-- index entry per activity. Not dumped: a restore's rows get the restoring
-- transaction's xact_id and their own pointers.
CREATE TABLE activity.feed_batches (
    xact_id xid8 NOT NULL,
    batch int NOT NULL,
    occurred_at timestamptz[] NOT NULL,
    ids uuid[] NOT NULL,
    PRIMARY KEY (xact_id, batch)
);
COMMENT ON TABLE activity.feed_batches IS
    'The change feed''s pointers: the activities each transaction wrote, some 64 to a row (written by the log, read by changes())';
COMMENT ON COLUMN activity.feed_batches.xact_id IS 'The transaction that wrote them (their xact_id)';
COMMENT ON COLUMN activity.feed_batches.batch IS 'Number of the batch within the transaction';
COMMENT ON COLUMN activity.feed_batches.occurred_at IS 'Their occurred_at, in the order of ids';
COMMENT ON COLUMN activity.feed_batches.ids IS 'Their ids';
REVOKE ALL ON activity.feed_batches FROM PUBLIC;

CREATE FUNCTION activity._position_text(p activity._feed_position)
RETURNS text
LANGUAGE sql IMMUTABLE
SET datestyle = 'ISO, YMD'
SET timezone = 'UTC'
AS $$
    SELECT concat_ws(';', 'a2', p.incarnation, p.from_snap, p.from_at, coalesce(p.to_snap::text, ''),
                     coalesce(p.to_at::text, ''), coalesce(p.after_xact::text, ''),
                     coalesce(p.after_batch || '.' || p.after_n, ''),
                     CASE WHEN p.boot THEN 'b' ELSE '' END, coalesce(p.boot_occurred_at::text, ''),
                     coalesce(p.boot_id::text, ''), p.removals)
$$;
COMMENT ON FUNCTION activity._position_text(activity._feed_position) IS
    'Internal: a change feed position as the text changes_since() takes';

CREATE FUNCTION activity._position(token text)
RETURNS activity._feed_position
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
SET datestyle = 'ISO, YMD'
SET timezone = 'UTC'
AS $$
DECLARE
    f text[] := string_to_array(token, ';');
    p activity._feed_position;
BEGIN
    IF token IS NULL THEN
        RAISE EXCEPTION 'position must not be null' USING ERRCODE = '22004',
            HINT = 'Start with activity.feed_position() (from now) or activity.feed_position(''beginning'').';
    END IF;
    IF cardinality(f) <> 12 OR f[1] <> 'a2' OR f[9] NOT IN ('', 'b')
       OR f[2] !~ '^[0-9]+/[0-9]+$' OR f[8] !~ '^([0-9]{1,9}[.][0-9]{1,9})?$' OR f[12] !~ '^[0-9]{1,18}$' THEN
        RAISE EXCEPTION 'invalid change feed position "%"', left(token, 200) USING ERRCODE = '22P02',
            DETAIL = 'A position is the text activity.feed_position() or activity.changes_since() returned.';
    END IF;
    BEGIN
        p := ROW(f[2], f[3]::pg_snapshot, f[4]::timestamptz, nullif(f[5], '')::pg_snapshot, nullif(f[6], '')::timestamptz,
                 nullif(f[7], '')::xid8, nullif(split_part(f[8], '.', 1), '')::int, nullif(split_part(f[8], '.', 2), '')::int,
                 f[9] = 'b', nullif(f[10], '')::timestamptz,
                 nullif(f[11], '')::uuid, f[12]::bigint);
    EXCEPTION WHEN data_exception THEN
        RAISE EXCEPTION 'invalid change feed position "%"', left(token, 200) USING ERRCODE = '22P02',
            DETAIL = SQLERRM;
    END;
    IF (p.to_snap IS NULL) <> (p.to_at IS NULL) OR (p.after_xact IS NULL) <> (p.after_batch IS NULL)
       OR (p.after_xact IS NOT NULL AND p.to_snap IS NULL)
       OR (p.boot_occurred_at IS NULL) <> (p.boot_id IS NULL) OR (p.boot_id IS NOT NULL AND NOT p.boot)
       OR (p.to_snap IS NOT NULL AND pg_snapshot_xmax(p.to_snap) < pg_snapshot_xmax(p.from_snap)) THEN
        RAISE EXCEPTION 'invalid change feed position "%"', left(token, 200) USING ERRCODE = '22P02',
            DETAIL = 'Its parts do not fit together.';
    END IF;
    RETURN p;
END;
$$;
COMMENT ON FUNCTION activity._position(text) IS
    'Internal: parses and checks a change feed position';

-- The snapshot a position takes: pg_current_snapshot(), with the calling
-- transaction among the running ones (pg_current_snapshot() leaves it out:
-- its rows would count as read before it has committed them)
CREATE FUNCTION activity._current_snapshot()
RETURNS pg_snapshot
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN me IS NULL OR me >= pg_snapshot_xmax(s) OR me IN (SELECT pg_snapshot_xip(s)) THEN s
                ELSE format('%s:%s:%s', least(pg_snapshot_xmin(s), me), pg_snapshot_xmax(s),
                            (SELECT string_agg(x::text, ',' ORDER BY x)
                             FROM (SELECT pg_snapshot_xip(s) AS x UNION SELECT me) u))::pg_snapshot END
    FROM (SELECT pg_current_snapshot() AS s, pg_current_xact_id_if_assigned() AS me) v
$$;
COMMENT ON FUNCTION activity._current_snapshot() IS
    'Internal: pg_current_snapshot() with the calling transaction among the running ones';

-- Does snapshot "newer" see everything "older" sees? (A REPEATABLE READ
-- transaction, or a standby behind, may read with a snapshot older than a
-- position: it must not read on from it, nor move it back.)
CREATE FUNCTION activity._snapshot_covers(newer pg_snapshot, older pg_snapshot)
RETURNS boolean
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_snapshot_xmax(newer) >= pg_snapshot_xmax(older)
       AND NOT EXISTS (SELECT 1 FROM pg_snapshot_xip(newer) x
                       WHERE x < pg_snapshot_xmax(older) AND pg_visible_in_snapshot(x, older))
$$;
COMMENT ON FUNCTION activity._snapshot_covers(pg_snapshot, pg_snapshot) IS
    'Internal: does a snapshot see every transaction another one sees';

-- Where a new reader starts: 'now' (what commits from now on) or
-- 'beginning' (every activity in the log, then what commits from now on)
CREATE FUNCTION activity.feed_position(start text DEFAULT 'now')
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF start IS NULL OR start NOT IN ('now', 'beginning') THEN
        RAISE EXCEPTION 'start must be ''now'' or ''beginning'', not %', coalesce(quote_literal(start), 'NULL')
            USING ERRCODE = '22023';
    END IF;
    RETURN activity._position_text(ROW(activity._incarnation(), activity._current_snapshot(), clock_timestamp(),
                                       NULL, NULL, NULL, NULL, NULL, start = 'beginning', NULL, NULL,
                                       coalesce((SELECT max(r.removal) FROM activity.feed_removals r), 0)));
END;
$$;
COMMENT ON FUNCTION activity.feed_position(text) IS
    'A change feed position for activity.changes_since(): ''now'' (activities committed from now on) or ''beginning'' (every activity of the log first)';

-- The type filter of a feed: entries as in page() (an entry ending in .*
-- is a prefix), as LIKE patterns (a.type LIKE ANY (patterns))
CREATE FUNCTION activity._type_prefixes(types text[])
RETURNS text[]
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t text;
    out text[] := '{}';
BEGIN
    IF types IS NULL THEN
        RETURN NULL;
    END IF;
    FOREACH t IN ARRAY types LOOP
        IF t IS NULL OR t = '' THEN
            RAISE EXCEPTION 'types must not contain NULL or empty entries' USING ERRCODE = '22023';
        END IF;
        IF strpos(rtrim(t, '*'), '*') > 0 OR (t LIKE '%*' AND t NOT LIKE '%.*' AND t NOT LIKE '%:*') THEN
            RAISE EXCEPTION 'invalid type pattern "%"', t USING ERRCODE = '22023',
                HINT = 'An entry is a type name or a prefix ending in ".*" or ":*", e.g. ''post.*'' or ''discord:*''.';
        END IF;
        out := out || (replace(replace(replace(CASE WHEN t LIKE '%*' THEN left(t, -1) ELSE t END,
                                               '\', '\\'), '%', '\%'), '_', '\_')
                       || CASE WHEN t LIKE '%*' THEN '%' ELSE '' END);
    END LOOP;
    RETURN out;
END;
$$;
COMMENT ON FUNCTION activity._type_prefixes(text[]) IS
    'Internal: a feed''s type filter as LIKE patterns';

CREATE FUNCTION activity._type_matches(type text, prefixes text[])
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT prefixes IS NULL OR type LIKE ANY (prefixes)
$$;
COMMENT ON FUNCTION activity._type_matches(text, text[]) IS
    'Internal: does a type match a feed''s type filter';

CREATE TYPE activity.feed_change AS (event activity.activities, position text);
COMMENT ON TYPE activity.feed_change IS 'A row of changes_since(): an activity, or (last) no activity and the position to read from next';

-- The transaction after "after" (NULL: the first) whose activities a batch
-- from from_snap to to_snap reads: committed at to_snap, not at from_snap
-- (running at from_snap, or begun since), with pointers; NULL if none
CREATE FUNCTION activity._next_xact(from_snap pg_snapshot, to_snap pg_snapshot, after xid8)
RETURNS xid8
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT least(
        (SELECT min(r.x) FROM pg_snapshot_xip(from_snap) r(x)
         WHERE (after IS NULL OR r.x > after) AND pg_visible_in_snapshot(r.x, to_snap)
           AND EXISTS (SELECT 1 FROM activity.feed_batches b WHERE b.xact_id = r.x)),
        (SELECT min(b.xact_id) FROM activity.feed_batches b
         WHERE b.xact_id >= pg_snapshot_xmax(from_snap) AND (after IS NULL OR b.xact_id > after)
           AND b.xact_id < pg_snapshot_xmax(to_snap) AND pg_visible_in_snapshot(b.xact_id, to_snap)))
$$;
COMMENT ON FUNCTION activity._next_xact(pg_snapshot, pg_snapshot, xid8) IS
    'Internal: the next transaction a change feed batch reads';

-- Up to max_rows activities of one transaction, through its pointers, from
-- after pointer from_n of batch from_batch (NULL: from the start), one
-- batch of pointers at a time (a transaction of a million rows is never
-- read whole); done when they are all read, else (last_batch, last_n) is the
-- pointer of the last activity returned
CREATE FUNCTION activity._xact_chunk(x xid8, from_batch int, from_n int, max_rows int, workspace text, prefixes text[],
                                     OUT events activity.activities[], OUT last_batch int, OUT last_n int,
                                     OUT done boolean)
-- VOLATILE: each query takes its snapshot once it holds its locks. (STABLE,
-- it would read with its caller's snapshot, taken before a wait for
-- maintain() attaching a partition: the plan, made after, prunes the
-- default partition the rows were in when that snapshot was taken, and
-- misses them. test/shell/feed_concurrency.sh lost 2 to 4 events a run.)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET enable_sort = off
SET jit = off
-- planned once per session (a custom plan over every partition at each
-- call would cost more than the reading)
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    batches int[];
    sizes int[];
    want int;
    part activity.activities[];
    bs int[];
    ns bigint[];
    k int;
BEGIN
    events := '{}';
    last_batch := from_batch; last_n := from_n;
    done := false;
    LOOP
        -- the next batches, as many as the rows still wanted fill (and one)
        want := (max_rows - cardinality(events)) / 64 + 2;
        SELECT coalesce(array_agg(f.batch ORDER BY f.batch), '{}'), coalesce(array_agg(cardinality(f.ids) ORDER BY f.batch), '{}')
          INTO batches, sizes
        FROM (SELECT f.batch, f.ids FROM activity.feed_batches f
              WHERE f.xact_id = x AND f.batch >= coalesce(last_batch, 0)
              ORDER BY f.xact_id, f.batch LIMIT want) f;
        IF cardinality(batches) = 0 THEN
            done := true;
            RETURN;
        END IF;
        -- each pointer's row, through its partition's time index (rows
        -- retention removed are gone; rows maintain() moved are found in
        -- their new partition)
        SELECT coalesce(array_agg(a ORDER BY f.batch, u.n), '{}'),
               coalesce(array_agg(f.batch ORDER BY f.batch, u.n), '{}'),
               coalesce(array_agg(u.n ORDER BY f.batch, u.n), '{}')
          INTO part, bs, ns
        FROM activity.feed_batches f
        CROSS JOIN LATERAL unnest(f.occurred_at, f.ids) WITH ORDINALITY u(o, i, n)
        JOIN activity.activities a ON a.occurred_at = u.o AND a.id = u.i AND a.occurred_at > '-infinity'
        WHERE f.xact_id = x AND f.batch = ANY (batches)
          AND (f.batch > coalesce(last_batch, -1) OR u.n > coalesce(last_n, 0))
          AND (workspace IS NULL OR a.workspace_id = workspace)
          AND (prefixes IS NULL OR a.type LIKE ANY (prefixes));
        k := max_rows - cardinality(events);
        IF cardinality(part) >= k THEN
            events := events || part[1:k];
            last_batch := bs[k]; last_n := ns[k];
            RETURN;
        END IF;
        events := events || part;
        last_batch := batches[cardinality(batches)]; last_n := sizes[cardinality(sizes)];
        IF cardinality(batches) < want THEN
            done := true;
            RETURN;
        END IF;
    END LOOP;
END;
$$;
COMMENT ON FUNCTION activity._xact_chunk(xid8, int, int, int, text, text[]) IS
    'Internal: up to max_rows activities of one transaction, read through its change feed pointers';

-- The core of the feed: up to max_rows activities after a position (few:
-- they are gathered in an array, a set operation, not row by row), and the
-- position after them.
CREATE FUNCTION activity._changes_chunk(pos activity._feed_position, max_rows int, workspace text, prefixes text[],
                                        OUT events activity.activities[], OUT next_pos activity._feed_position)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
-- read in index order, never sorted: a batch may be one transaction of a
-- million rows, of which a call reads 500 (the planner, not knowing, would
-- sort them all)
SET enable_sort = off
SET enable_bitmapscan = off
-- (which makes a sort cost enough for JIT, 300 ms of compiling a query of
-- microseconds)
SET jit = off
-- planned once per session: a custom plan of each query over every
-- partition at every call was 30% of the time (3.5 ms a plan over 41
-- partitions); no parameter here prunes partitions
SET plan_cache_mode = force_generic_plan
SET datestyle = 'ISO, YMD'
SET timezone = 'UTC'
AS $$
DECLARE
    now_snap pg_snapshot := activity._current_snapshot();
    x xid8;
    x_done boolean := false;
    chunk record;
BEGIN
    -- The whole-log pass continues from (boot_occurred_at, boot_id) in two
    -- steps: the rest of that instant (occurred_at = c1 AND id > c2), then
    -- occurred_at > c1. A row comparison (k1, k2) > (c1, c2) beside another
    -- bound on occurred_at would make the index scan start at that other
    -- bound, and read again from there at every call.
    events := '{}';
    next_pos := pos;
    -- Rows are fetched by their pointers, and a pointer's occurred_at
    -- prunes every partition but its own. A partition maintain() attached
    -- (moving its rows out of the default partition) after the snapshot a
    -- query reads with, but before that query was planned, would hide them:
    -- the plan goes to the new partition, where the snapshot does not see
    -- them yet. So the log is held (ACCESS SHARE: an attach waits for this
    -- transaction, and this waits for an attach under way) before any
    -- query of it; and a snapshot taken before the log's partitions last
    -- changed (REPEATABLE READ) is refused, to be retried.
    LOCK TABLE ONLY activity.activities IN ACCESS SHARE MODE;
    IF (SELECT count(*) FROM pg_catalog.pg_inherits i WHERE i.inhparent = 'activity.activities'::regclass)
       <> (SELECT count(*) FROM pg_catalog.pg_partition_tree('activity.activities') t WHERE t.level = 1) THEN
        RAISE EXCEPTION 'the log''s partitions changed after this transaction''s snapshot'
            USING ERRCODE = '40001',
                  HINT = 'Retry the transaction (the change feed reads with a snapshot taken after the last partition was attached).';
    END IF;
    -- a snapshot older than the position reads nothing and keeps it
    IF NOT activity._snapshot_covers(now_snap, coalesce(pos.to_snap, pos.from_snap)) THEN
        RETURN;
    END IF;

    -- reading the whole log first: what was visible at from_snap, by
    -- (occurred_at, id); rows of later transactions come in the batches
    IF pos.boot THEN
        IF pos.boot_id IS NOT NULL THEN
            SELECT coalesce(array_agg(s.a ORDER BY (s.a).id), '{}') INTO events
            FROM (SELECT a FROM activity.activities a
                  WHERE a.occurred_at > '-infinity' AND a.occurred_at = pos.boot_occurred_at AND a.id > pos.boot_id
                    AND (a.xact_id IS NULL OR pg_visible_in_snapshot(a.xact_id, pos.from_snap)
                         OR a.xact_id >= pg_snapshot_xmax(pg_current_snapshot()))
                    AND (workspace IS NULL OR a.workspace_id = workspace)
                    AND (prefixes IS NULL OR a.type LIKE ANY (prefixes))
                  ORDER BY a.occurred_at, a.id
                  LIMIT max_rows) s;
        END IF;
        IF cardinality(events) < max_rows THEN
            SELECT events || coalesce(array_agg(s.a ORDER BY (s.a).occurred_at, (s.a).id), '{}') INTO events
            FROM (SELECT a FROM activity.activities a
                  WHERE a.occurred_at > '-infinity' AND a.occurred_at > coalesce(pos.boot_occurred_at, '-infinity')
                    AND (a.xact_id IS NULL OR pg_visible_in_snapshot(a.xact_id, pos.from_snap)
                         OR a.xact_id >= pg_snapshot_xmax(pg_current_snapshot()))
                    AND (workspace IS NULL OR a.workspace_id = workspace)
                    AND (prefixes IS NULL OR a.type LIKE ANY (prefixes))
                  ORDER BY a.occurred_at, a.id
                  LIMIT max_rows - cardinality(events)) s;
        END IF;
        IF cardinality(events) >= max_rows THEN
            pos.boot_occurred_at := events[max_rows].occurred_at; pos.boot_id := events[max_rows].id;
            next_pos := pos;
            RETURN;
        END IF;
        pos.boot := false; pos.boot_occurred_at := NULL; pos.boot_id := NULL;
    END IF;

    -- at most two batches: the one under way, then one up to now
    FOR pass IN 1 .. 2 LOOP
        IF pos.to_snap IS NULL THEN
            IF now_snap::text = pos.from_snap::text THEN
                EXIT;   -- nothing committed since
            END IF;
            pos.to_snap := now_snap; pos.to_at := clock_timestamp();
            pos.after_xact := NULL; pos.after_batch := NULL; pos.after_n := NULL;
        END IF;
        -- the batch's transactions in xact_id order (those running at
        -- from_snap seen committed at to_snap, then those begun since),
        -- each read through its pointers, from where the position is
        x := pos.after_xact;
        LOOP
            EXIT WHEN cardinality(events) >= max_rows;
            IF x IS NULL OR x_done THEN
                x := activity._next_xact(pos.from_snap, pos.to_snap, x);
                EXIT WHEN x IS NULL;
                pos.after_xact := x; pos.after_batch := NULL; pos.after_n := NULL;
                x_done := false;
            END IF;
            chunk := activity._xact_chunk(x, pos.after_batch, pos.after_n, max_rows - cardinality(events),
                                          workspace, prefixes);
            events := events || chunk.events;
            x_done := chunk.done;
            pos.after_batch := chunk.last_batch; pos.after_n := chunk.last_n;
        END LOOP;
        IF x IS NOT NULL THEN
            -- (a transaction read to its end: the next call starts after it)
            IF x_done OR pos.after_batch IS NULL THEN
                pos.after_batch := 2147483647; pos.after_n := 0;
            END IF;
            EXIT;
        END IF;
        -- the batch is read: its snapshot is the new start
        pos.from_snap := pos.to_snap; pos.from_at := pos.to_at;
        pos.to_snap := NULL; pos.to_at := NULL;
        pos.after_xact := NULL; pos.after_batch := NULL; pos.after_n := NULL;
        x_done := false;
    END LOOP;
    next_pos := pos;
END;
$$;
COMMENT ON FUNCTION activity._changes_chunk(activity._feed_position, int, text, text[]) IS
    'Internal: up to max_rows activities after a change feed position, and the position after them';

CREATE FUNCTION activity._check_limit(n int)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
    IF n IS NULL OR n < 1 OR n > 100000 THEN
        RAISE EXCEPTION 'limit must be between 1 and 100000, not %', coalesce(n::text, 'NULL') USING ERRCODE = '22023';
    END IF;
END;
$$;
COMMENT ON FUNCTION activity._check_limit(int) IS 'Internal: checks the limit of changes() and changes_since()';

-- The stateless feed, for readers that keep their own position (a hot
-- standby among them)
CREATE FUNCTION activity.changes_since(since text, "limit" int DEFAULT 1000,
                                       workspace_id text DEFAULT NULL, types text[] DEFAULT NULL,
                                       accept_gap boolean DEFAULT false)
RETURNS SETOF activity.feed_change
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    pos activity._feed_position := activity._position(since);
    gap record;
    prefixes text[];
    chunk record;
    want int;
    left_to_read int := "limit";
BEGIN
    PERFORM activity._check_limit("limit");
    IF pos.incarnation <> activity._incarnation() THEN
        RAISE EXCEPTION 'change feed position is from another database'
            USING ERRCODE = '55000',
                  DETAIL = format('The position was taken in database %s, this is %s (a restore or pg_upgrade makes a new one): its transaction ids mean nothing here.',
                                  pos.incarnation, activity._incarnation()),
                  HINT = 'Read again from activity.feed_position(''beginning'') and let the receiver ignore the events it has (by id).';
    END IF;
    SELECT count(*) AS n, sum(r."rows") AS "rows", max(r.removal) AS last INTO gap
    FROM activity.feed_removals r
    WHERE r.removal > pos.removals AND r.max_xact_id >= pg_snapshot_xmin(pos.from_snap);
    IF gap.n > 0 AND NOT accept_gap THEN
        RAISE EXCEPTION 'retention removed activities this position may not have read'
            USING ERRCODE = '55000',
                  DETAIL = format('%s removal(s) of about %s activities since the position was taken.', gap.n, gap."rows"),
                  HINT = 'Recover them from elsewhere, then call again with accept_gap => true.';
    END IF;
    pos.removals := coalesce((SELECT max(r.removal) FROM activity.feed_removals r), pos.removals);
    prefixes := activity._type_prefixes(types);
    -- in chunks of at most 500 (memory stays bounded whatever the limit)
    LOOP
        want := least(left_to_read, 500);
        chunk := activity._changes_chunk(pos, want, workspace_id, prefixes);
        RETURN QUERY SELECT e::activity.activities, NULL::text FROM unnest(chunk.events) e;
        pos := chunk.next_pos;
        left_to_read := left_to_read - cardinality(chunk.events);
        EXIT WHEN left_to_read = 0 OR cardinality(chunk.events) < want;
    END LOOP;
    RETURN NEXT ROW(NULL, activity._position_text(pos))::activity.feed_change;
END;
$$;
COMMENT ON FUNCTION activity.changes_since(text, int, text, text[], boolean) IS
    'The stateless change feed: activities committed after a position, in commit order, then a row with no event and the position to pass next';

-- Named consumers keep their position in the database
CREATE TABLE activity.feed_consumers (
    name text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9_.:-]{1,128}$'),
    workspace_id text,
    types text[],
    position text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by name NOT NULL DEFAULT current_user,
    last_read_at timestamptz,
    last_read_events int,
    delivered bigint NOT NULL DEFAULT 0,
    gap_events bigint,
    gap_detail text,
    reset_at timestamptz,
    reset_detail text
);
COMMENT ON TABLE activity.feed_consumers IS
    'Change feed consumers and their positions (activity.create_consumer(), activity.changes(); see the view activity.consumers)';
COMMENT ON COLUMN activity.feed_consumers.name IS 'The consumer''s name';
COMMENT ON COLUMN activity.feed_consumers.workspace_id IS 'Only activities of this workspace (NULL: all)';
COMMENT ON COLUMN activity.feed_consumers.types IS 'Only activities of these types, as in page() (NULL: all)';
COMMENT ON COLUMN activity.feed_consumers.position IS 'Its position: what it has read (a change feed position)';
COMMENT ON COLUMN activity.feed_consumers.created_at IS 'When it was created';
COMMENT ON COLUMN activity.feed_consumers.created_by IS 'Who created it';
COMMENT ON COLUMN activity.feed_consumers.last_read_at IS 'When activity.changes() last moved its position';
COMMENT ON COLUMN activity.feed_consumers.last_read_events IS 'How many activities that call returned';
COMMENT ON COLUMN activity.feed_consumers.delivered IS 'Activities delivered in committed calls, all told';
COMMENT ON COLUMN activity.feed_consumers.gap_events IS 'Activities retention removed before it read them';
COMMENT ON COLUMN activity.feed_consumers.gap_detail IS 'What removed them, and when';
COMMENT ON COLUMN activity.feed_consumers.reset_at IS 'When it started reading the whole log again';
COMMENT ON COLUMN activity.feed_consumers.reset_detail IS 'Why';
SELECT pg_catalog.pg_extension_config_dump('activity.feed_consumers', '');
REVOKE ALL ON activity.feed_consumers FROM PUBLIC;

CREATE FUNCTION activity.create_consumer(name text, start text DEFAULT 'now',
                                         workspace_id text DEFAULT NULL, types text[] DEFAULT NULL)
RETURNS activity.feed_consumers
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c activity.feed_consumers;
BEGIN
    IF name IS NULL OR name !~ '^[A-Za-z0-9_.:-]{1,128}$' THEN
        RAISE EXCEPTION 'invalid consumer name %', coalesce(quote_literal(name), 'NULL') USING ERRCODE = '22023',
            HINT = 'A consumer name has 1 to 128 letters, digits, "_", ".", ":" or "-".';
    END IF;
    PERFORM activity._type_prefixes(types);
    INSERT INTO activity.feed_consumers AS f (name, workspace_id, types, position)
    VALUES (create_consumer.name, create_consumer.workspace_id, create_consumer.types, activity.feed_position(start))
    RETURNING f.* INTO c;
    RETURN c;
EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION 'consumer "%" already exists', name USING ERRCODE = '42710';
END;
$$;
COMMENT ON FUNCTION activity.create_consumer(text, text, text, text[]) IS
    'Registers a change feed consumer reading from ''now'' or the ''beginning'', optionally only one workspace and some types';

CREATE FUNCTION activity.drop_consumer(name text)
RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM activity.feed_consumers f WHERE f.name = drop_consumer.name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'consumer "%" does not exist', name USING ERRCODE = '42704';
    END IF;
    RETURN true;
END;
$$;
COMMENT ON FUNCTION activity.drop_consumer(text) IS 'Removes a change feed consumer';

CREATE FUNCTION activity.changes(consumer text, "limit" int DEFAULT 1000)
RETURNS SETOF activity.activities
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c activity.feed_consumers;
    pos activity._feed_position;
    prefixes text[];
    chunk record;
    want int;
    n int := 0;
    next_position text;
BEGIN
    PERFORM activity._check_limit("limit");
    -- one reader of a consumer at a time: another waits for this
    -- transaction, then reads on from where it ends
    SELECT * INTO c FROM activity.feed_consumers f WHERE f.name = consumer FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'consumer "%" does not exist', consumer USING ERRCODE = '42704',
            HINT = 'Create it with activity.create_consumer().';
    END IF;
    IF c.gap_events IS NOT NULL THEN
        RAISE EXCEPTION 'consumer "%" has not read % activities that retention removed', consumer, c.gap_events
            USING ERRCODE = '55000', DETAIL = c.gap_detail,
                  HINT = format('Recover them from elsewhere, then SELECT activity.accept_gap(%L) to read on.', consumer);
    END IF;
    pos := activity._position(c.position);
    IF pos.incarnation <> activity._incarnation() THEN
        -- restored into another database or cluster: transaction ids of
        -- the old one mean nothing here; everything again (the receiver
        -- ignores what it has by id)
        RAISE WARNING 'consumer "%" reads the whole log again: its position is from another database', consumer
            USING DETAIL = format('The position was taken in database %s, this is %s.', pos.incarnation, activity._incarnation());
        UPDATE activity.feed_consumers f SET reset_at = now(),
               reset_detail = format('reading the whole log again: its position was from database %s', pos.incarnation)
        WHERE f.name = consumer;
        pos := activity._position(activity.feed_position('beginning'));
    END IF;
    pos.removals := coalesce((SELECT max(x.removal) FROM activity.feed_removals x), pos.removals);
    prefixes := activity._type_prefixes(c.types);
    -- in chunks of at most 500 (memory stays bounded whatever the limit)
    LOOP
        want := least("limit" - n, 500);
        chunk := activity._changes_chunk(pos, want, c.workspace_id, prefixes);
        RETURN QUERY SELECT * FROM unnest(chunk.events);
        pos := chunk.next_pos;
        n := n + cardinality(chunk.events);
        EXIT WHEN n >= "limit" OR cardinality(chunk.events) < want;
    END LOOP;
    -- (an empty poll that moved nothing writes nothing)
    next_position := activity._position_text(pos);
    IF n > 0 OR next_position <> c.position THEN
        UPDATE activity.feed_consumers f
           SET position = next_position, last_read_at = now(), last_read_events = n,
               delivered = f.delivered + n
         WHERE f.name = consumer;
    END IF;
END;
$$;
COMMENT ON FUNCTION activity.changes(text, int) IS
    'The next activities of a consumer, in commit order; its position moves on when the calling transaction commits';

CREATE FUNCTION activity.accept_gap(consumer text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
BEGIN
    SELECT f.gap_events INTO n FROM activity.feed_consumers f WHERE f.name = consumer FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'consumer "%" does not exist', consumer USING ERRCODE = '42704';
    END IF;
    UPDATE activity.feed_consumers f SET gap_events = NULL, gap_detail = NULL WHERE f.name = consumer;
    RETURN coalesce(n, 0);
END;
$$;
COMMENT ON FUNCTION activity.accept_gap(text) IS
    'Lets a consumer read on after retention removed activities it had not read; returns how many';

-- How many activities of one table a position has not read (retention
-- counts them before removing them); "cond" narrows the rows
CREATE FUNCTION activity._unread(pos activity._feed_position, tab regclass, cond text DEFAULT 'true',
                                 workspace text DEFAULT NULL, prefixes text[] DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET datestyle = 'ISO, YMD'
SET timezone = 'UTC'
AS $$
DECLARE
    n bigint;
BEGIN
    EXECUTE format(
        -- not yet read by the whole-log pass (a read of the rows after it)
        'SELECT (SELECT count(*) FROM %1$s a WHERE $5 AND (%2$s) AND ($7 IS NULL OR a.workspace_id = $7)'
        '        AND activity._type_matches(a.type, $8) AND ($6 IS NULL OR (a.occurred_at, a.id) > ($6, $9))'
        '        AND (a.xact_id IS NULL OR pg_visible_in_snapshot(a.xact_id, $1)))'
        -- written by a transaction committed since from_snap, and not yet
        -- read in the batch under way (a read of their pointers)
        ' + (SELECT count(*) FROM activity.feed_batches b'
        '    CROSS JOIN LATERAL unnest(b.occurred_at, b.ids) WITH ORDINALITY u(o, i, n)'
        '    JOIN %1$s a ON a.occurred_at = u.o AND a.id = u.i AND a.occurred_at > ''-infinity'''
        '    WHERE b.xact_id >= pg_snapshot_xmin($1) AND NOT pg_visible_in_snapshot(b.xact_id, $1)'
        '      AND NOT coalesce($2 IS NOT NULL AND pg_visible_in_snapshot(b.xact_id, $2)'
        '                       AND (b.xact_id < $3 OR (b.xact_id = $3 AND (b.batch < $4 OR (b.batch = $4 AND u.n <= $10)))), false)'
        '      AND (%2$s) AND ($7 IS NULL OR a.workspace_id = $7) AND activity._type_matches(a.type, $8))',
        tab, cond)
    INTO n
    USING pos.from_snap, pos.to_snap, pos.after_xact, pos.after_batch, pos.boot, pos.boot_occurred_at,
          workspace, prefixes, pos.boot_id, pos.after_n;
    RETURN n;
END;
$$;
COMMENT ON FUNCTION activity._unread(activity._feed_position, regclass, text, text, text[]) IS
    'Internal: how many activities of a table (matching a condition) a change feed position has not read';

-- Called by retention before it removes activities: each consumer that has
-- not read some of them is told (changes() then refuses until
-- accept_gap()), and the removal is logged for stateless positions
CREATE FUNCTION activity._note_removal(tab regclass, cond text, what text, estimate bigint, known_max xid8 DEFAULT NULL,
                                     max_is_known boolean DEFAULT false)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c activity.feed_consumers;
    n bigint;
    max_xact xid8;
BEGIN
    -- the latest transaction among them (a read of the rows, unless the
    -- caller knows it; the rows are estimated, not counted)
    max_xact := known_max;
    IF NOT max_is_known THEN
        EXECUTE format('SELECT max(a.xact_id) FROM %s a WHERE %s', tab, cond) INTO max_xact;
    END IF;
    IF max_xact IS NOT NULL THEN
        INSERT INTO activity.feed_removals (what, "rows", max_xact_id) VALUES (what, greatest(estimate, 1), max_xact);
    END IF;
    FOR c IN SELECT * FROM activity.feed_consumers FOR UPDATE LOOP
        n := activity._unread(activity._position(c.position), tab, cond, c.workspace_id, activity._type_prefixes(c.types));
        IF n > 0 THEN
            UPDATE activity.feed_consumers f
               SET gap_events = coalesce(f.gap_events, 0) + n,
                   gap_detail = concat_ws('; ', f.gap_detail, format('%s at %s: %s unread', what, now(), n))
             WHERE f.name = c.name;
        END IF;
    END LOOP;
END;
$$;
COMMENT ON FUNCTION activity._note_removal(regclass, text, text, bigint, xid8, boolean) IS
    'Internal: records, before retention removes activities, the consumers that had not read them';

-- Consumers, their lag, and what they wait for
CREATE VIEW activity.consumers AS
SELECT c.name, c.workspace_id, c.types, c.created_at, c.created_by,
       c.last_read_at, c.last_read_events, c.delivered,
       p.boot AS reading_whole_log,
       CASE WHEN p.incarnation = activity._incarnation()
            THEN activity._unread(p, 'activity.activities', 'true', c.workspace_id, activity._type_prefixes(c.types)) END AS lag_events,
       now() - p.from_at AS lag_time,
       p.from_at AS read_up_to,
       (SELECT array_agg(s.pid ORDER BY s.xact_start) FROM pg_stat_activity s
         WHERE s.backend_xid IN (SELECT xid(x) FROM pg_snapshot_xip(p.from_snap) x)) AS waiting_for_pids,
       (SELECT min(s.xact_start) FROM pg_stat_activity s
         WHERE s.backend_xid IN (SELECT xid(x) FROM pg_snapshot_xip(p.from_snap) x)) AS waiting_since,
       c.gap_events, c.gap_detail, c.reset_at, c.reset_detail, c.position
FROM activity.feed_consumers c
CROSS JOIN LATERAL activity._position(c.position) p;
COMMENT ON COLUMN activity.consumers.name IS 'The consumer''s name';
COMMENT ON COLUMN activity.consumers.workspace_id IS 'Only activities of this workspace (NULL: all)';
COMMENT ON COLUMN activity.consumers.types IS 'Only activities of these types, as in page() (NULL: all)';
COMMENT ON COLUMN activity.consumers.created_at IS 'When it was created';
COMMENT ON COLUMN activity.consumers.created_by IS 'Who created it';
COMMENT ON COLUMN activity.consumers.last_read_at IS 'When activity.changes() last moved its position (committed)';
COMMENT ON COLUMN activity.consumers.last_read_events IS 'How many activities that call returned';
COMMENT ON COLUMN activity.consumers.delivered IS 'Activities delivered in committed calls, all told';
COMMENT ON COLUMN activity.consumers.reading_whole_log IS 'Still reading the log as it was when it started from the beginning';
COMMENT ON COLUMN activity.consumers.lag_events IS 'Committed activities it has not read yet (counted: costs a scan of them)';
COMMENT ON COLUMN activity.consumers.lag_time IS 'How long ago the snapshot it has read everything up to was taken';
COMMENT ON COLUMN activity.consumers.read_up_to IS 'When that snapshot was taken';
COMMENT ON COLUMN activity.consumers.waiting_for_pids IS 'Sessions whose transactions were open at that snapshot and still are: their activities come when they commit';
COMMENT ON COLUMN activity.consumers.waiting_since IS 'When the oldest of those transactions began';
COMMENT ON COLUMN activity.consumers.gap_events IS 'Activities retention removed before it read them (changes() refuses until activity.accept_gap())';
COMMENT ON COLUMN activity.consumers.gap_detail IS 'What removed them, and when';
COMMENT ON COLUMN activity.consumers.reset_at IS 'When it started reading the whole log again (its position was from another database: a restore)';
COMMENT ON COLUMN activity.consumers.reset_detail IS 'Why';
COMMENT ON COLUMN activity.consumers.position IS 'Its position (as activity.changes_since() takes it)';
COMMENT ON VIEW activity.consumers IS
    'Change feed consumers: position, lag in activities and in time, last read, the open transactions whose activities they wait for, gaps';

--------------------------------------------------------------------------------
-- Capture: an application table's inserts, updates and deletes as activities
--------------------------------------------------------------------------------
-- activity.track() attaches one trigger, activity_capture, to the table; its
-- argument is the capture's settings (a JSON object), so that the trigger
-- needs no lookup
-- and a dump of the table brings the capture back with it. The view
-- activity.tracked lists them from pg_trigger. Each row written becomes an
-- activity recorded through record(), as the role that wrote the row, in
-- the same transaction: validated like any other, and a refused one fails
-- the application's statement.

-- The names of the properties of the latest schema of a type, or NULL if the
-- type has none (from the registry cache: no privilege on activity.schemas
-- needed, no query per captured row)
CREATE FUNCTION activity._schema_properties(type text)
RETURNS text[]
LANGUAGE c STABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'activity_schema_properties';
COMMENT ON FUNCTION activity._schema_properties(text) IS
    'Internal: the property names of the latest schema of a type (capture records those of the row)';

-- The subject_type rule of a type: NULL if the type is not registered, ''
-- if it has none (from the registry cache, like _schema_properties)
CREATE FUNCTION activity._type_subject(type text)
RETURNS text
LANGUAGE c STABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'activity_type_subject';
COMMENT ON FUNCTION activity._type_subject(text) IS
    'Internal: the subject_type rule of a type, '''' if none, NULL if the type is not registered (for activity.track())';

-- What the trigger records of a row, from to_jsonb() of OLD and NEW: the
-- changed columns of an update, the named ones of an insert or delete (C:
-- no query per row, so that every step of the trigger is a simple expression)
CREATE FUNCTION activity._row_changes(old jsonb, new jsonb, columns text[])
RETURNS jsonb
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'activity_row_changes';
COMMENT ON FUNCTION activity._row_changes(jsonb, jsonb, text[]) IS
    'Internal: {"<column>": {"old", "new"}} for each column (each key of new if columns is empty) whose value differs; NULL if none';
CREATE FUNCTION activity._row_fields("row" jsonb, keys text[], skip text[])
RETURNS jsonb
LANGUAGE c IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'activity_row_fields';
COMMENT ON FUNCTION activity._row_fields(jsonb, text[], text[]) IS
    'Internal: the fields of a row named in keys (all but those in skip if keys is NULL), without missing and null ones';

CREATE FUNCTION activity._capture()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    -- the trigger's argument (activity.track())
    settings jsonb := TG_ARGV[0]::jsonb;
    subject_type text := settings ->> 'subject_type';
    workspace_column text := settings ->> 'workspace_column';
    subject_id_column text := settings ->> 'subject_id_column';
    tracked text[] := (settings ->> 'columns')::text[];
    row_any jsonb;
    type text;
    details jsonb;
    actor_id text := nullif(current_setting('activity.actor_id', true), '');
    actor_type text := coalesce(nullif(current_setting('activity.actor_type', true), ''),
                                CASE WHEN actor_id IS NULL THEN 'system' ELSE 'user' END);
    recorded uuid;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        row_any := to_jsonb(NEW);
        -- exactly the tracked columns that changed, old and new values (a
        -- row moved to another workspace, or given another id, included)
        details := activity._row_changes(to_jsonb(OLD), row_any, tracked);
        IF details IS NULL THEN
            RETURN NULL;        -- nothing tracked changed: nothing happened
        END IF;
        details := jsonb_build_object('changes', details);
        type := subject_type || '.updated';
    ELSE
        row_any := CASE TG_OP WHEN 'INSERT' THEN to_jsonb(NEW) ELSE to_jsonb(OLD) END;
        type := subject_type || CASE TG_OP WHEN 'INSERT' THEN '.created' ELSE '.deleted' END;
        -- the fields the type's schema names (the tracked ones if it has none,
        -- every one but the workspace and the id if none is listed)
        details := activity._row_fields(row_any,
                                        coalesce(activity._schema_properties(type), nullif(tracked, '{}')),
                                        ARRAY[workspace_column, subject_id_column]);
    END IF;
    recorded := activity.record(row_any ->> workspace_column, type, actor_id, details,
                                actor_type => actor_type, subject_type => subject_type,
                                subject_id => row_any ->> subject_id_column, occurred_at => clock_timestamp());
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION activity._capture() IS
    'Internal: the trigger activity.track() attaches: records each row inserted, updated or deleted as an activity';

CREATE FUNCTION activity.track(
    "table" regclass,
    subject_type text,
    workspace_column name DEFAULT 'workspace_id',
    subject_id_column name DEFAULT 'id',
    columns name[] DEFAULT NULL,
    events text[] DEFAULT '{created,updated,deleted}')
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c name;
    e text;
    rule text;
    ops text[];
BEGIN
    IF "table" IS NULL OR subject_type IS NULL OR workspace_column IS NULL OR subject_id_column IS NULL OR events IS NULL THEN
        RAISE EXCEPTION 'table, subject_type, workspace_column, subject_id_column and events must not be null'
            USING ERRCODE = '22004';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_class r WHERE r.oid = "table" AND r.relkind IN ('r', 'p')) THEN
        RAISE EXCEPTION '"%" is not a table', "table" USING ERRCODE = '42809';
    END IF;
    IF (SELECT r.relnamespace FROM pg_class r WHERE r.oid = "table") = 'activity'::regnamespace
       OR (SELECT r.relnamespace FROM pg_class r WHERE r.oid = "table") = to_regnamespace('activity_partitions') THEN
        RAISE EXCEPTION 'the tables of the extension cannot be tracked' USING ERRCODE = '42809';
    END IF;
    IF cardinality(events) = 0 OR NOT events <@ '{created,updated,deleted}'::text[]
       OR array_position(events, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'invalid events %', events
            USING ERRCODE = '22023', DETAIL = 'events is a non-empty list drawn from created, updated and deleted.';
    END IF;
    FOREACH c IN ARRAY ARRAY[workspace_column, subject_id_column] || coalesce(columns, '{}') LOOP
        IF c IS NULL OR NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = "table" AND a.attname = c
                                                                    AND a.attnum > 0 AND NOT a.attisdropped) THEN
            RAISE EXCEPTION 'column % of "%" does not exist', coalesce(quote_ident(c), 'NULL'), "table"
                USING ERRCODE = '42703';
        END IF;
    END LOOP;
    -- every activity it records must be possible: registered types about
    -- this subject (or about any)
    FOREACH e IN ARRAY events LOOP
        -- from the registry cache: the caller needs no privilege on the registry
        rule := activity._type_subject(track.subject_type || '.' || e);
        IF rule IS NULL THEN
            RAISE EXCEPTION 'activity type "%" is not registered', subject_type || '.' || e
                USING ERRCODE = '23503',
                      HINT = format('Register it first: SELECT activity.register_type(%L, subject_type => %L);',
                                    subject_type || '.' || e, subject_type);
        END IF;
        IF rule <> '' AND rule <> subject_type THEN
            RAISE EXCEPTION 'activity type "%" is about subjects of type "%", not "%"', subject_type || '.' || e, rule, subject_type
                USING ERRCODE = '22023';
        END IF;
        ops := ops || CASE e WHEN 'created' THEN 'INSERT' WHEN 'updated' THEN 'UPDATE' ELSE 'DELETE' END;
    END LOOP;
    IF EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = "table" AND g.tgname = 'activity_capture') THEN
        EXECUTE format('DROP TRIGGER activity_capture ON %s', "table");
    END IF;
    EXECUTE format('CREATE TRIGGER activity_capture AFTER %s ON %s FOR EACH ROW EXECUTE FUNCTION activity._capture(%L)',
                   array_to_string(ops, ' OR '), "table",
                   jsonb_build_object('subject_type', subject_type, 'workspace_column', workspace_column,
                                      'subject_id_column', subject_id_column,
                                      'columns', coalesce(columns, '{}')::text[]::text)::text);
END;
$$;
COMMENT ON FUNCTION activity.track(regclass, text, name, name, name[], text[]) IS
    'Captures the inserts, updates and deletes of an application table as activities <subject_type>.created/.updated/.deleted, in the same transaction; calling it again replaces the capture';

CREATE FUNCTION activity.untrack("table" regclass)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = "table" AND g.tgname = 'activity_capture') THEN
        RETURN false;
    END IF;
    EXECUTE format('DROP TRIGGER activity_capture ON %s', "table");
    RETURN true;
END;
$$;
COMMENT ON FUNCTION activity.untrack(regclass) IS
    'Stops capturing an application table''s changes (activity.track()); false if it was not tracked';

CREATE VIEW activity.tracked AS
SELECT g.tgrelid::regclass AS "table",
       a ->> 'subject_type' AS subject_type, (a ->> 'workspace_column')::name AS workspace_column,
       (a ->> 'subject_id_column')::name AS subject_id_column,
       nullif((a ->> 'columns')::text[], '{}') AS columns,
       array_remove(ARRAY[CASE WHEN g.tgtype & 4 <> 0 THEN 'created' END,
                          CASE WHEN g.tgtype & 16 <> 0 THEN 'updated' END,
                          CASE WHEN g.tgtype & 8 <> 0 THEN 'deleted' END], NULL) AS events,
       g.tgenabled <> 'D' AS enabled
FROM pg_trigger g
-- its one argument, NUL-terminated
CROSS JOIN LATERAL (SELECT convert_from(substr(g.tgargs, 1, length(g.tgargs) - 1), 'UTF8')::jsonb AS a) args
WHERE g.tgname = 'activity_capture' AND g.tgfoid = 'activity._capture()'::regprocedure AND g.tgnargs = 1
  AND NOT g.tgisinternal;
COMMENT ON VIEW activity.tracked IS 'The application tables whose changes are captured as activities (activity.track())';
COMMENT ON COLUMN activity.tracked."table" IS 'The application table';
COMMENT ON COLUMN activity.tracked.subject_type IS 'The subject type of its activities; their types are <subject_type>.created, .updated, .deleted';
COMMENT ON COLUMN activity.tracked.workspace_column IS 'The column that holds a row''s workspace';
COMMENT ON COLUMN activity.tracked.subject_id_column IS 'The column that holds a row''s id (the subject_id of its activities)';
COMMENT ON COLUMN activity.tracked.columns IS 'The columns whose changes are recorded (NULL: all)';
COMMENT ON COLUMN activity.tracked.events IS 'Which of created, updated and deleted are recorded';
COMMENT ON COLUMN activity.tracked.enabled IS 'False if the trigger was disabled (ALTER TABLE ... DISABLE TRIGGER activity_capture)';

--------------------------------------------------------------------------------
-- Maintenance that never stalls the application
--------------------------------------------------------------------------------
-- Every step takes the weakest lock PostgreSQL allows and waits for it at
-- most activity.lock_timeout; a step whose lock is not granted is skipped,
-- reported, and done by a later run. A new partition is built as a plain
-- table (rows moved in from the default partition under ROW EXCLUSIVE
-- locks, indexes built where nobody waits for them), then attached, which
-- holds ACCESS EXCLUSIVE on the log and on the default partition for as
-- long as it takes to move rows that arrived meanwhile and to check that
-- none is left: milliseconds while the default partition holds only
-- outliers.
CREATE FUNCTION activity._lock_timeout()
RETURNS text
AS 'MODULE_PATHNAME', 'activity_lock_timeout_setting'
LANGUAGE C STABLE;
COMMENT ON FUNCTION activity._lock_timeout() IS
    'Internal: activity.lock_timeout as a value for lock_timeout';

-- Each partition attached or dropped (ACCESS EXCLUSIVE on the log) keeps
-- inserts and reads waiting until the transaction ends. Maintenance notes when
-- it first held the log in this transaction and defers the rest of its work
-- once activity.max_lock_hold has passed since: one call never keeps
-- inserts waiting for hundreds of partitions.
CREATE FUNCTION activity._max_lock_hold()
RETURNS text
AS 'MODULE_PATHNAME', 'activity_max_lock_hold_setting'
LANGUAGE C STABLE;
COMMENT ON FUNCTION activity._max_lock_hold() IS
    'Internal: activity.max_lock_hold as an interval';

CREATE FUNCTION activity._log_held()
RETURNS void
AS 'MODULE_PATHNAME', 'activity_log_held'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION activity._log_held() IS
    'Internal: notes that this transaction now holds a lock on the log that makes inserts wait';

CREATE FUNCTION activity._log_held_for()
RETURNS interval
AS 'MODULE_PATHNAME', 'activity_log_held_for'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION activity._log_held_for() IS
    'Internal: how long this transaction has held a lock on the log that makes inserts wait (NULL: none)';

-- the report of work deferred for activity.max_lock_hold
CREATE FUNCTION activity._deferred_detail(what text)
RETURNS text
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format('this transaction has kept inserts out of the log for %s ms, attaching or dropping partitions '
                  '(activity.max_lock_hold is %s); the next call %s',
                  round(extract(epoch FROM activity._log_held_for()) * 1000), current_setting('activity.max_lock_hold'), what)
$$;
COMMENT ON FUNCTION activity._deferred_detail(text) IS
    'Internal: the detail of a step deferred for activity.max_lock_hold';

CREATE FUNCTION activity._move_rows(target regclass, lower timestamptz, upper timestamptz)
RETURNS bigint
AS 'MODULE_PATHNAME', 'activity_move_rows'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION activity._move_rows(regclass, timestamptz, timestamptz) IS
    'Internal: moves the rows of the default partition in [lower, upper) into a table about to become their partition';

CREATE FUNCTION activity._expire_default(before timestamptz)
RETURNS bigint
AS 'MODULE_PATHNAME', 'activity_expire_default'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION activity._expire_default(timestamptz) IS
    'Internal: deletes the rows of the default partition that occurred before a time (retention)';

-- (both check that their caller owns the log, as DDL on it would)

DROP FUNCTION activity.maintain();
DROP FUNCTION activity.create_partitions(timestamptz, timestamptz);
DROP FUNCTION activity._create_partition(timestamptz, timestamptz);

-- Create partition [lower, upper): a plain table first, rows of the default
-- partition moved in, indexed, then attached. Raises lock_not_available
-- when a lock is not granted within activity.lock_timeout (the caller's
-- subtransaction then undoes it all).
CREATE FUNCTION activity._create_partition(lower timestamptz, upper timestamptz)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET datestyle = 'ISO, YMD'
SET timezone = 'UTC'
AS $$
DECLARE
    part_name text := 'activities_p' || to_char(lower AT TIME ZONE 'UTC', 'YYYYMMDD');
    part regclass;
    moved bigint;
    caller_timeout text := current_setting('lock_timeout');
    deadline timestamptz;
BEGIN
    EXECUTE format('CREATE TABLE activity_partitions.%I (LIKE activity.activities INCLUDING DEFAULTS)', part_name);
    part := format('activity_partitions.%I', part_name)::regclass;
    -- the rows waiting for it, moved without blocking anyone
    moved := activity._move_rows(part, lower, upper);
    PERFORM activity._index_partition(part);
    -- the bounds as a constraint, so that ATTACH need not read the table
    EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I CHECK (occurred_at >= %L AND occurred_at < %L)',
                   part, part_name || '_bounds', lower, upper);

    -- The one step that waits for others, never longer than
    -- activity.lock_timeout. ACCESS EXCLUSIVE on the log, for the moment
    -- of the attach: a query planned with the partitions before it, whose
    -- snapshot is taken after it (a statement of a function, a portal), would
    -- see the rows gone from the default partition and not the partition
    -- they are in (a change feed consumer would skip them for good); and an
    -- insert under way that routed a row of [lower, upper) to the default
    -- partition would fail after it. Readers and writers wait for it at
    -- most activity.max_lock_hold.
    PERFORM set_config('lock_timeout', activity._lock_timeout(), true);
    LOCK TABLE ONLY activity.activities IN ACCESS EXCLUSIVE MODE;
    PERFORM activity._log_held();
    PERFORM set_config('lock_timeout', caller_timeout, true);
    -- The default partition is never waited for while the log is held: a
    -- transaction that has read it and now inserts waits for our lock, so
    -- waiting for it would be a deadlock (the deadlock detector would then
    -- refuse that transaction's event). Tried without waiting, again every
    -- 10 ms, until activity.lock_timeout has passed.
    deadline := clock_timestamp() + activity._lock_timeout()::interval;
    LOOP
        BEGIN
            LOCK TABLE activity_partitions.activities_default IN ACCESS EXCLUSIVE MODE NOWAIT;
            EXIT;
        EXCEPTION WHEN lock_not_available THEN
            IF clock_timestamp() >= deadline THEN
                RAISE;
            END IF;
        END;
        PERFORM pg_sleep(0.01);
    END LOOP;
    -- rows that reached the default partition meanwhile (inserts into it
    -- now wait, for as long as the attach takes)
    moved := moved + activity._move_rows(part, lower, upper);
    PERFORM activity._add_validation(part);
    EXECUTE format('ALTER TABLE activity.activities ATTACH PARTITION %s FOR VALUES FROM (%L) TO (%L)',
                   part, lower, upper);
    EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', part, part_name || '_bounds');
    RETURN moved;
END;
$$;
COMMENT ON FUNCTION activity._create_partition(timestamptz, timestamptz) IS
    'Internal: creates one range partition, moving into it the rows of the default partition it covers; returns how many';

-- Create the missing partitions of [since, until) (aligned on the partition
-- interval, clipped to partitions that exist), each in its own
-- subtransaction, so that one whose lock is not granted is reported as
-- skipped and the others are still made. "only_needed": only ranges that
-- rows of the default partition need.
CREATE FUNCTION activity._create_partitions(since timestamptz, until timestamptz, only_needed boolean)
RETURNS TABLE (action text, partition text, lower timestamptz, upper timestamptz, "rows" bigint, detail text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
SET datestyle = 'ISO, YMD'
SET timezone = 'UTC'
AS $$
DECLARE
    step interval := (activity._settings()).partition_interval;
    c timestamptz := activity.partition_start(since);
    hi timestamptz;
    moved bigint;
    -- the range partitions there are, read once (the caller holds the
    -- maintenance lock; reading them for each interval made a call over
    -- hundreds of partitions quadratic): bounds in order, never overlapping
    los timestamptz[];
    his timestamptz[];
    i int := 1;
BEGIN
    SELECT coalesce(array_agg(coalesce(p.lower, '-infinity') ORDER BY p.lower NULLS FIRST), '{}'),
           coalesce(array_agg(coalesce(p.upper, 'infinity') ORDER BY p.lower NULLS FIRST), '{}')
      INTO los, his
      FROM activity.partitions() p WHERE NOT p.is_default;
    WHILE c < until LOOP
        WHILE i <= cardinality(los) AND his[i] <= c LOOP
            i := i + 1;
        END LOOP;
        -- already covered: skip to the end of the partition holding c
        IF i <= cardinality(los) AND los[i] <= c THEN
            c := his[i];
            CONTINUE;
        END IF;
        -- the next aligned boundary, or the next existing partition if sooner
        hi := (activity.partition_start(c) AT TIME ZONE 'UTC' + step) AT TIME ZONE 'UTC';
        IF i <= cardinality(los) THEN
            hi := least(hi, los[i]);
        END IF;
        IF only_needed AND NOT EXISTS (SELECT 1 FROM activity_partitions.activities_default d
                                       WHERE d.occurred_at >= c AND d.occurred_at < hi) THEN
            c := hi;
            CONTINUE;
        END IF;
        -- inserts have waited long enough in this transaction: the rest
        -- is left to the next call
        IF activity._log_held_for() >= activity._max_lock_hold()::interval THEN
            action := 'deferred'; partition := NULL; lower := c; upper := until; "rows" := NULL;
            detail := activity._deferred_detail('creates the partitions of this range still missing');
            RETURN NEXT;
            RETURN;
        END IF;
        BEGIN
            moved := activity._create_partition(c, hi);
            action := 'created'; detail := NULL;
        EXCEPTION WHEN lock_not_available OR deadlock_detected THEN
            moved := NULL;
            action := 'skipped';
            detail := format('%s (activity.lock_timeout is %s); a later run creates it', SQLERRM, activity._lock_timeout());
        END;
        partition := format('activity_partitions.%I', 'activities_p' || to_char(c AT TIME ZONE 'UTC', 'YYYYMMDD'));
        lower := c; upper := hi; "rows" := moved;
        RETURN NEXT;
        c := hi;
    END LOOP;
END;
$$;
COMMENT ON FUNCTION activity._create_partitions(timestamptz, timestamptz, boolean) IS
    'Internal: creates the missing partitions of a range, each in a subtransaction, reporting those skipped for a lock';

CREATE FUNCTION activity.create_partitions(since timestamptz, until timestamptz)
RETURNS TABLE (action text, partition text, lower timestamptz, upper timestamptz, "rows" bigint, detail text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET datestyle = 'ISO, YMD'
SET timezone = 'UTC'
AS $$
DECLARE
    step interval := (activity._settings()).partition_interval;
    c timestamptz;
    n int := 0;
BEGIN
    IF since IS NULL OR until IS NULL THEN
        RAISE EXCEPTION 'since and until must not be null' USING ERRCODE = '22004';
    END IF;
    IF NOT isfinite(since) OR NOT isfinite(until) THEN
        RAISE EXCEPTION 'since and until must be finite timestamps' USING ERRCODE = '22023';
    END IF;
    IF since >= until THEN
        RAISE EXCEPTION 'since (%) must be earlier than until (%)', since, until USING ERRCODE = '22023';
    END IF;
    -- refuse a runaway range before creating anything
    c := activity.partition_start(since);
    WHILE c < until LOOP
        n := n + 1;
        IF n > 1000 THEN
            RAISE EXCEPTION 'too many partitions requested'
                USING ERRCODE = '54000',
                      DETAIL = format('[%s, %s) spans more than 1000 partitions of %s.', since, until, step);
        END IF;
        c := (c AT TIME ZONE 'UTC' + step) AT TIME ZONE 'UTC';
    END LOOP;
    -- one maintenance at a time; ingestion goes on meanwhile
    IF NOT pg_try_advisory_xact_lock('activity.activities'::regclass::oid::bigint) THEN
        RAISE EXCEPTION 'another activity.maintain() or activity.create_partitions() is running'
            USING ERRCODE = '55P03', HINT = 'Run it again when that one has finished.';
    END IF;
    RETURN QUERY SELECT * FROM activity._create_partitions(since, until, false);
END;
$$;
COMMENT ON FUNCTION activity.create_partitions(timestamptz, timestamptz) IS
    'Creates the missing partitions covering [since, until), e.g. before a backfill, moving in rows waiting in the default partition; reports each partition created or skipped';

CREATE FUNCTION activity._maintain()
RETURNS TABLE (action text, partition text, lower timestamptz, upper timestamptz, "rows" bigint, detail text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET datestyle = 'ISO, YMD'
SET timezone = 'UTC'
SET jit = off
AS $$
DECLARE
    cfg activity.settings := activity._settings();
    caller_timeout text := current_setting('lock_timeout');
    current_start timestamptz := activity.partition_start(now());
    horizon timestamptz := current_start;
    recent timestamptz := current_start;
    expired_before timestamptz;
    removed boolean := false;
    p record;
    n bigint;
BEGIN
    IF NOT pg_try_advisory_xact_lock('activity.activities'::regclass::oid::bigint) THEN
        action := 'skipped';
        detail := 'another activity.maintain() or activity.create_partitions() is running';
        RETURN NEXT;
        RETURN;
    END IF;
    FOR i IN 1 .. cfg.premake + 1 LOOP
        horizon := (horizon AT TIME ZONE 'UTC' + cfg.partition_interval) AT TIME ZONE 'UTC';
    END LOOP;
    FOR i IN 1 .. cfg.premake LOOP
        recent := (recent AT TIME ZONE 'UTC' - cfg.partition_interval) AT TIME ZONE 'UTC';
    END LOOP;
    IF cfg.retention IS NOT NULL THEN
        expired_before := now() - cfg.retention;
    END IF;

    -- Partitions for the current interval and "premake" ahead; and for
    -- recent rows (at most "premake" intervals old) waiting in the default
    -- partition. Older and later outliers stay in the default partition, so
    -- a stray date never creates decades of partitions, and no range gets an
    -- empty partition that no row needs.
    RETURN QUERY SELECT * FROM activity._create_partitions(current_start, horizon, false);
    RETURN QUERY SELECT * FROM activity._create_partitions(greatest(recent, coalesce(activity.partition_start(expired_before), recent)),
                                                           current_start, true);

    -- a partition attached by hand without the validation constraint
    FOR p IN SELECT pp.partition FROM activity.partitions() pp
              WHERE NOT EXISTS (SELECT 1 FROM pg_constraint k
                                WHERE k.conrelid = pp.partition AND k.conname = 'activities_valid' AND k.contype = 'c')
    LOOP
        BEGIN
            PERFORM set_config('lock_timeout', activity._lock_timeout(), true);
            PERFORM activity._add_validation(p.partition);
            PERFORM set_config('lock_timeout', caller_timeout, true);
            action := 'validation added'; detail := NULL;
        EXCEPTION WHEN lock_not_available OR deadlock_detected THEN
            action := 'skipped'; detail := format('adding its validation constraint: %s', SQLERRM);
        END;
        partition := p.partition::text; lower := NULL; upper := NULL; "rows" := NULL;
        RETURN NEXT;
    END LOOP;

    IF expired_before IS NOT NULL THEN
        -- Retention: whole partitions leave (dropping one needs ACCESS
        -- EXCLUSIVE on the log, for a moment, if granted in time) ...
        FOR p IN SELECT pp.partition, pp.lower, pp.upper, c.reltuples
                 FROM activity.partitions() pp JOIN pg_class c ON c.oid = pp.partition
                 WHERE NOT pp.is_default AND pp.upper <= expired_before
        LOOP
            partition := p.partition::text; lower := p.lower; upper := p.upper;
            IF activity._log_held_for() >= activity._max_lock_hold()::interval THEN
                action := 'deferred'; "rows" := NULL;
                detail := activity._deferred_detail('drops it');
                RETURN NEXT;
                CONTINUE;
            END IF;
            BEGIN
                PERFORM set_config('lock_timeout', activity._lock_timeout(), true);
                -- change feed consumers that have not read its rows are told
                PERFORM activity._note_removal(p.partition, 'true', format('partition %s dropped', p.partition),
                                               activity._row_estimate(p.partition));
                EXECUTE format('SELECT activity._chain_removed(ARRAY(SELECT a.id FROM %s a), $1)', p.partition)
                   USING format('partition %s dropped by retention at %s', p.partition, now());
                PERFORM set_config('activity.drop_events', 'on', true);
                EXECUTE format('DROP TABLE %s', p.partition);
                PERFORM activity._log_held();
                PERFORM set_config('activity.drop_events', 'off', true);
                PERFORM set_config('lock_timeout', caller_timeout, true);
                action := 'dropped'; "rows" := NULL; removed := true;
                detail := CASE WHEN p.reltuples >= 0 THEN format('about %s rows', p.reltuples::bigint) END;
            EXCEPTION WHEN lock_not_available OR deadlock_detected THEN
                action := 'skipped'; "rows" := NULL;
                detail := format('%s (activity.lock_timeout is %s); a later run drops it', SQLERRM, activity._lock_timeout());
            END;
            RETURN NEXT;
        END LOOP;
        -- ... and so do the default partition's outliers older than that,
        -- deleted under ROW EXCLUSIVE locks
        PERFORM activity._note_removal('activity_partitions.activities_default',
                                       format('a.occurred_at < %L', expired_before),
                                       'rows of the default partition expired',
                                       (SELECT count(*) FROM activity_partitions.activities_default d
                                        WHERE d.occurred_at < expired_before));
        n := activity._expire_default(expired_before);
        IF n > 0 THEN
            action := 'expired'; partition := 'activity_partitions.activities_default';
            lower := NULL; upper := expired_before; "rows" := n; detail := NULL; removed := true;
            RETURN NEXT;
        END IF;
        -- the ids of the rows gone: those older than every row left (read
        -- only when this run removed rows)
        n := 0;
        IF removed THEN
            DELETE FROM activity.event_ids e
             WHERE e.occurred_at < least(expired_before, (SELECT min(pp.lower) FROM activity.partitions() pp
                                                          WHERE NOT pp.is_default));
            GET DIAGNOSTICS n = ROW_COUNT;
        END IF;
        IF n > 0 THEN
            action := 'ids released'; partition := 'activity.event_ids';
            lower := NULL; upper := expired_before; "rows" := n; detail := NULL;
            RETURN NEXT;
        END IF;
    END IF;

    -- retention by type and by workspace
    RETURN QUERY SELECT * FROM activity._apply_retention_rules(expired_before);

    -- the hash chain, over what was committed since the last run
    IF cfg.hash_chain THEN
        n := activity._extend_chain(coalesce(current_setting('activity.chain_max_rows', true), '1000000')::bigint);
        IF n > 0 THEN
            action := 'chained'; partition := 'activity.hash_chain'; lower := NULL; upper := NULL; "rows" := n;
            detail := NULL;
            RETURN NEXT;
        END IF;
    END IF;

    -- what an upgrade left to do online
    SELECT count(*) INTO n FROM activity.pending_steps();
    IF n > 0 THEN
        action := 'pending'; partition := NULL; lower := NULL; upper := NULL; "rows" := n;
        detail := format('%s steps left by an upgrade, to run online: SELECT statement FROM activity.pending_steps() \gexec', n);
        RETURN NEXT;
    END IF;
END;
$$;
COMMENT ON FUNCTION activity._maintain() IS
    'Internal: the work of activity.maintain(), which records it: creates partitions ahead of time and for recent rows waiting in the default partition, and applies retention, never waiting longer than activity.lock_timeout for a lock';

-- maintain() records every run in activity.maintenance_runs, failed ones
-- too: what it did is returned only once it has all been done
CREATE FUNCTION activity.maintain()
RETURNS TABLE (action text, partition text, lower timestamptz, upper timestamptz, "rows" bigint, detail text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET timezone = 'UTC'
SET jit = off
AS $$
DECLARE
    started timestamptz := clock_timestamp();
    steps jsonb := '[]';
    err text;
    this_run bigint;
BEGIN
    BEGIN
        SELECT coalesce(jsonb_agg(to_jsonb(m) ORDER BY m.n), '[]') INTO steps
          FROM activity._maintain() WITH ORDINALITY m(action, partition, lower, upper, "rows", detail, n);
    EXCEPTION WHEN OTHERS THEN
        -- (all it did is undone; a cancel or statement_timeout is not caught)
        err := format('%s (SQLSTATE %s)', SQLERRM, SQLSTATE);
    END;
    steps := (SELECT coalesce(jsonb_agg(e - 'n'), '[]') FROM jsonb_array_elements(steps) e);
    INSERT INTO activity.maintenance_runs AS r (started_at, finished_at, created, moved, dropped, deleted, built, chained,
                                                skipped, deferred, error, steps)
    SELECT started, clock_timestamp(),
           count(*) FILTER (WHERE e ->> 'action' = 'created'),
           coalesce(sum((e ->> 'rows')::bigint) FILTER (WHERE e ->> 'action' = 'created'), 0),
           count(*) FILTER (WHERE e ->> 'action' = 'dropped'),
           coalesce(sum((e ->> 'rows')::bigint) FILTER (WHERE e ->> 'action' IN ('expired', 'deleted')), 0),
           count(*) FILTER (WHERE e ->> 'action' = 'validation added'),
           coalesce(sum((e ->> 'rows')::bigint) FILTER (WHERE e ->> 'action' = 'chained'), 0),
           count(*) FILTER (WHERE e ->> 'action' = 'skipped'),
           count(*) FILTER (WHERE e ->> 'action' = 'deferred'),
           err, steps
    FROM jsonb_array_elements(steps) e
    RETURNING r.run_id INTO this_run;
    -- the last 10,000 runs are kept, and those of the last 90 days
    DELETE FROM activity.maintenance_runs r
     WHERE r.started_at < now() - interval '90 days' AND r.run_id <= this_run - 10000;
    IF err IS NOT NULL THEN
        RAISE WARNING 'activity.maintain() failed: %', err
            USING DETAIL = format('Run %s is recorded in activity.maintenance_runs; what it had done was undone.', this_run);
        action := 'failed'; partition := NULL; lower := NULL; upper := NULL; "rows" := NULL; detail := err;
        RETURN NEXT;
        RETURN;
    END IF;
    RETURN QUERY SELECT x.action, x.partition, x.lower, x.upper, x."rows", x.detail
                 FROM jsonb_populate_recordset(NULL::activity._maintenance_step, steps) x;
END;
$$;
COMMENT ON FUNCTION activity.maintain() IS
    'Creates partitions ahead of time and for recent rows waiting in the default partition, applies retention (the whole log''s and its rules), extends the hash chain, never waiting longer than activity.lock_timeout for a lock; reports each step and records the run in activity.maintenance_runs';


-- Who owns the log owns everything maintenance and a restore touch: the
-- schemas, the log and its partitions, the registry. A superuser installs the
-- extension (C functions, an event trigger) and may then hand the log to the
-- role that runs maintenance and restores.
CREATE FUNCTION activity.set_owner(owner regrole)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t regclass;
BEGIN
    IF owner IS NULL THEN
        RAISE EXCEPTION 'owner must not be null' USING ERRCODE = '22004';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.oid = owner) THEN
        RAISE EXCEPTION 'role with OID % does not exist', owner::oid USING ERRCODE = '42704';
    END IF;
    EXECUTE format('ALTER SCHEMA activity OWNER TO %s', owner);
    EXECUTE format('ALTER SCHEMA activity_partitions OWNER TO %s', owner);
    FOR t IN SELECT unnest(ARRAY['activity.activities', 'activity.event_types', 'activity.schemas',
                                 'activity.settings', 'activity.event_ids', 'activity.pending_ids',
                                 'activity.feed_consumers', 'activity.feed_removals', 'activity.feed_batches',
                                 'activity.row_security',
                                 'activity.platforms', 'activity.universal_types', 'activity.maintenance_runs',
                                 'activity.retention_rules', 'activity.redactions', 'activity.hash_chain',
                                 'activity.hash_chain_key', 'activity.hash_chain_state']::regclass[])
             UNION ALL SELECT p.partition FROM activity.partitions() p
    LOOP
        EXECUTE format('ALTER TABLE %s OWNER TO %s', t, owner);
    END LOOP;
    FOR t IN SELECT unnest(ARRAY['activity.activity_log', 'activity.type_history', 'activity.consumers',
                                 'activity.tracked', 'activity.partition_stats']::regclass[])
    LOOP
        EXECUTE format('ALTER VIEW %s OWNER TO %s', t, owner);
    END LOOP;
    -- the maintenance steps maintain() and create_partitions() run, and the
    -- trigger functions a new partition gets (creating a trigger needs EXECUTE)
    EXECUTE format('GRANT EXECUTE ON FUNCTION activity._index_partition(regclass), activity._index_definitions(regclass), '
                   'activity._add_validation(regclass), activity._set_replica_identity(regclass), activity._lock_timeout(), '
                   'activity._max_lock_hold(), activity._log_held(), activity._log_held_for(), activity._deferred_detail(text), '
                   'activity._note_removal(regclass, text, text, bigint, xid8, boolean), '
                   'activity._move_rows(regclass, timestamptz, timestamptz), activity._expire_default(timestamptz), '
                   'activity._create_partition(timestamptz, timestamptz), '
                   'activity._create_partitions(timestamptz, timestamptz, boolean), '
                   'activity._append_only(), activity._complete(), activity._check_caused_by(), '
                   'activity._row_security_now(), activity._row_security_run(text, text), '
                   'activity._maintain(), activity._apply_retention_rules(timestamptz), '
                   'activity._delete_expired(regclass, timestamptz, text, text[], int, text, timestamptz, xid8, timestamptz, uuid), '
                   'activity._redact_rows(regclass, text, text, text, bigint), activity._extend_chain(bigint), '
                   'activity._chain_append(activity._chain_entry[]), activity._chain_removed(uuid[], text), '
                   'activity._chain_redacted(bigint, uuid[], bytea[]), activity._chain_links_after(text[], bytea[]), '
                   'activity._chained_ids(uuid[]) TO %s', owner);
END;
$$;
COMMENT ON FUNCTION activity.set_owner(regrole) IS
    'Makes a role the owner of the log, its partitions, its registry, its views and its schemas (it may then run maintenance and restores); run by a superuser';

--------------------------------------------------------------------------------
-- DROP never deletes events silently
--------------------------------------------------------------------------------
-- DROP EXTENSION activity, DROP SCHEMA activity / activity_partitions and
-- DROP TABLE of a partition are refused while they would delete events,
-- unless the transaction sets activity.drop_events = on.
CREATE FUNCTION activity._guard_drop()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'activity_guard_drop'
LANGUAGE C;
COMMENT ON FUNCTION activity._guard_drop() IS
    'Internal: event trigger refusing a DROP that would delete events, unless activity.drop_events is on';
CREATE EVENT TRIGGER activity_guard_drop ON ddl_command_start
    WHEN TAG IN ('DROP EXTENSION', 'DROP SCHEMA', 'DROP TABLE')
    EXECUTE FUNCTION activity._guard_drop();
COMMENT ON EVENT TRIGGER activity_guard_drop IS
    'Refuses DROP EXTENSION activity, DROP SCHEMA of its schemas and DROP TABLE of a partition while they would delete events';

--------------------------------------------------------------------------------
-- Row-level security survives pg_dump
--------------------------------------------------------------------------------
-- pg_dump does not dump the definition of a table that belongs to an
-- extension, and with it go its ENABLE / FORCE ROW LEVEL SECURITY and its
-- policies (it keeps the grants): a restored log would be open to every role
-- that was confined to a workspace. So the extension keeps them as data:
-- activity.row_security holds the statements that set them up, kept in step
-- with the catalog by an event trigger, and dumped with the data; restoring
-- its rows runs the statements (a trigger), so a restore brings the
-- isolation back with the events. A policy that cannot be created in the
-- restored database (a role missing) is reported with a WARNING; row-level
-- security is enabled all the same, so the log stays closed to the roles it
-- was closed to rather than open.
CREATE TABLE activity.row_security (
    object text PRIMARY KEY,
    statement text NOT NULL,
    run_order int NOT NULL
);
COMMENT ON TABLE activity.row_security IS
    'The row-level security of activity.activities (enabled, forced, each policy) as the statements that set it up: kept in step with the catalog, dumped with the data and run again by a restore';
COMMENT ON COLUMN activity.row_security.object IS '''row level security'', ''force row level security'' or ''policy <name>''';
COMMENT ON COLUMN activity.row_security.statement IS 'The statement that sets it up';
COMMENT ON COLUMN activity.row_security.run_order IS 'The order to run them in (enabling first)';
SELECT pg_catalog.pg_extension_config_dump('activity.row_security', '');
REVOKE ALL ON activity.row_security FROM PUBLIC;

-- the row-level security of the log now, as statements
CREATE FUNCTION activity._row_security_now()
RETURNS TABLE (object text, statement text, run_order int)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT 'row level security', 'ALTER TABLE activity.activities ENABLE ROW LEVEL SECURITY', 1
    FROM pg_class c WHERE c.oid = 'activity.activities'::regclass AND c.relrowsecurity
    UNION ALL
    SELECT 'force row level security', 'ALTER TABLE activity.activities FORCE ROW LEVEL SECURITY', 2
    FROM pg_class c WHERE c.oid = 'activity.activities'::regclass AND c.relforcerowsecurity
    UNION ALL
    -- (pg_get_expr qualifies every name outside pg_catalog: the search_path above)
    SELECT 'policy ' || p.polname,
           format('CREATE POLICY %I ON activity.activities AS %s FOR %s TO %s', p.polname,
                  CASE WHEN p.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END,
                  CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                                WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
                  (SELECT string_agg(CASE WHEN r = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(r)) END, ', ' ORDER BY r)
                   FROM unnest(p.polroles) r))
           || coalesce(' USING (' || pg_get_expr(p.polqual, p.polrelid) || ')', '')
           || coalesce(' WITH CHECK (' || pg_get_expr(p.polwithcheck, p.polrelid) || ')', ''),
           3
    FROM pg_policy p WHERE p.polrelid = 'activity.activities'::regclass
$$;
COMMENT ON FUNCTION activity._row_security_now() IS
    'Internal: the row-level security of activity.activities, as the statements that set it up';

-- the event triggers: after a command that changed the log's table or one
-- of its policies, the table holds the catalog's state again. Any other
-- command (every ALTER TABLE of every role fires them) returns at once.
CREATE FUNCTION activity._row_security_sync()
RETURNS event_trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- by name only: the role running the command may have no right to look
    -- in schema activity (and then cannot have changed the log)
    IF TG_EVENT = 'sql_drop' THEN
        IF NOT EXISTS (SELECT 1 FROM pg_event_trigger_dropped_objects() d
                       WHERE d.object_type = 'policy' AND d.object_identity LIKE '% on activity.activities') THEN
            RETURN;
        END IF;
    ELSIF NOT EXISTS (SELECT 1 FROM pg_event_trigger_ddl_commands() c
                      WHERE (c.object_type = 'table' AND c.object_identity = 'activity.activities')
                         OR (c.object_type = 'policy' AND c.object_identity LIKE '% on activity.activities')) THEN
        RETURN;
    END IF;
    -- a statement run by _row_security_apply() (a restore) is what the
    -- table already says; the extension itself being dropped or created
    IF pg_trigger_depth() > 0 OR to_regclass('activity.activities') IS NULL
       OR to_regclass('activity.row_security') IS NULL THEN
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM activity._row_security_now() n FULL JOIN activity.row_security t USING (object)
               WHERE n.statement IS DISTINCT FROM t.statement) THEN
        DELETE FROM activity.row_security;
        INSERT INTO activity.row_security (object, statement, run_order)
        SELECT object, statement, run_order FROM activity._row_security_now();
    END IF;
END;
$$;
COMMENT ON FUNCTION activity._row_security_sync() IS
    'Internal: event trigger keeping activity.row_security in step with the log''s row-level security';
CREATE EVENT TRIGGER activity_row_security ON ddl_command_end
    WHEN TAG IN ('CREATE POLICY', 'ALTER POLICY', 'ALTER TABLE')
    EXECUTE FUNCTION activity._row_security_sync();
COMMENT ON EVENT TRIGGER activity_row_security IS
    'Keeps activity.row_security in step with the row-level security of activity.activities (pg_dump does not dump it)';
CREATE EVENT TRIGGER activity_row_security_drop ON sql_drop
    WHEN TAG IN ('DROP POLICY')
    EXECUTE FUNCTION activity._row_security_sync();
COMMENT ON EVENT TRIGGER activity_row_security_drop IS
    'Keeps activity.row_security in step when a policy of activity.activities is dropped';

-- run one statement of the table unless it is in effect already
CREATE FUNCTION activity._row_security_run(object text, statement text)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM activity._row_security_now() n WHERE n.object = _row_security_run.object) THEN
        RETURN false;
    END IF;
    IF object LIKE 'policy %' THEN
        BEGIN
            EXECUTE statement;
        EXCEPTION WHEN OTHERS THEN
            -- the log stays under row-level security: closed to the roles
            -- the policy opened it to, not open to every role
            RAISE WARNING 'row-level security of activity.activities: % could not be restored: %', object, SQLERRM
                USING DETAIL = 'The statement was: ' || statement,
                      HINT = 'Create what it needs (a role, a function) and run SELECT activity.restore_row_security().';
            RETURN false;
        END;
    ELSE
        EXECUTE statement;
    END IF;
    RETURN true;
END;
$$;
COMMENT ON FUNCTION activity._row_security_run(text, text) IS
    'Internal: runs a statement of activity.row_security unless what it sets up is in effect';

CREATE FUNCTION activity._row_security_apply()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM activity._row_security_run(NEW.object, NEW.statement);
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION activity._row_security_apply() IS
    'Internal: a row of activity.row_security restored (pg_restore) sets up what it says';
CREATE TRIGGER row_security_apply AFTER INSERT ON activity.row_security
    FOR EACH ROW EXECUTE FUNCTION activity._row_security_apply();

CREATE FUNCTION activity.restore_row_security()
RETURNS TABLE (object text, restored boolean)
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT t.object, activity._row_security_run(t.object, t.statement)
    FROM activity.row_security t ORDER BY t.run_order, t.object
$$;
COMMENT ON FUNCTION activity.restore_row_security() IS
    'Sets up the row-level security activity.row_security holds (what a restore does by itself, unless its triggers were disabled); returns each object and whether it was set up now';

-- the state at installation (an upgraded log may have policies already)
INSERT INTO activity.row_security (object, statement, run_order)
SELECT object, statement, run_order FROM activity._row_security_now();

--------------------------------------------------------------------------------
-- Operations: maintenance runs, retention rules, erasure, the hash chain
--------------------------------------------------------------------------------

-- Every run of activity.maintain(), kept for the people who run the log: what
-- it did and what it could not do, and why
CREATE TYPE activity._maintenance_step AS (action text, partition text, lower timestamptz, upper timestamptz,
                                           "rows" bigint, detail text);
COMMENT ON TYPE activity._maintenance_step IS 'Internal: a step of activity.maintain(), as it returns them';

CREATE TABLE activity.maintenance_runs (
    run_id bigserial PRIMARY KEY,
    started_at timestamptz NOT NULL,
    finished_at timestamptz NOT NULL,
    run_by name NOT NULL DEFAULT current_user,
    created int NOT NULL DEFAULT 0,
    moved bigint NOT NULL DEFAULT 0,
    dropped int NOT NULL DEFAULT 0,
    deleted bigint NOT NULL DEFAULT 0,
    built int NOT NULL DEFAULT 0,
    chained bigint NOT NULL DEFAULT 0,
    skipped int NOT NULL DEFAULT 0,
    deferred int NOT NULL DEFAULT 0,
    error text,
    steps jsonb NOT NULL DEFAULT '[]'
);
COMMENT ON TABLE activity.maintenance_runs IS
    'Every run of activity.maintain() (the last 10,000, and at least 90 days): when, by whom, what it did and what it skipped';
COMMENT ON COLUMN activity.maintenance_runs.run_id IS 'Number of the run';
COMMENT ON COLUMN activity.maintenance_runs.started_at IS 'When it started';
COMMENT ON COLUMN activity.maintenance_runs.finished_at IS 'When it finished';
COMMENT ON COLUMN activity.maintenance_runs.run_by IS 'The role that ran it';
COMMENT ON COLUMN activity.maintenance_runs.created IS 'Partitions created';
COMMENT ON COLUMN activity.maintenance_runs.moved IS 'Rows moved out of the default partition into a partition created for them';
COMMENT ON COLUMN activity.maintenance_runs.dropped IS 'Partitions dropped by retention';
COMMENT ON COLUMN activity.maintenance_runs.deleted IS 'Rows deleted by retention (rules, and the default partition''s expired rows)';
COMMENT ON COLUMN activity.maintenance_runs.built IS 'Validation constraints added';
COMMENT ON COLUMN activity.maintenance_runs.chained IS 'Activities added to the hash chain';
COMMENT ON COLUMN activity.maintenance_runs.skipped IS 'Steps skipped (a lock not granted in time, another run under way); see steps';
COMMENT ON COLUMN activity.maintenance_runs.deferred IS 'Steps left to the next run (activity.max_lock_hold, the per-run limits); see steps';
COMMENT ON COLUMN activity.maintenance_runs.error IS 'The error that ended the run, if one did (what it had done was undone)';
COMMENT ON COLUMN activity.maintenance_runs.steps IS 'Every row the run returned, as a JSON array';
COMMENT ON SEQUENCE activity.maintenance_runs_run_id_seq IS 'Numbers of activity.maintenance_runs';
CREATE INDEX maintenance_runs_started_at_idx ON activity.maintenance_runs (started_at);
SELECT pg_catalog.pg_extension_config_dump('activity.maintenance_runs', '');
SELECT pg_catalog.pg_extension_config_dump('activity.maintenance_runs_run_id_seq', '');
REVOKE ALL ON activity.maintenance_runs FROM PUBLIC;

-- About how many rows a partition holds: its statistics, or a count where
-- it was never analyzed
CREATE FUNCTION activity._row_estimate(part regclass)
RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint := (SELECT c.reltuples::bigint FROM pg_class c WHERE c.oid = part);
BEGIN
    IF n IS NULL OR n < 0 THEN
        EXECUTE format('SELECT count(*) FROM %s', part) INTO n;
    END IF;
    RETURN n;
END;
$$;
COMMENT ON FUNCTION activity._row_estimate(regclass) IS
    'Internal: about how many rows a partition holds (its statistics, or a count if it was never analyzed)';

-- Retention by type and by workspace, beside the whole log's
CREATE TABLE activity.retention_rules (
    rule_id serial PRIMARY KEY,
    keep interval NOT NULL CONSTRAINT retention_rules_keep_check CHECK (keep >= '0'::interval),
    types text[],
    workspace_id text,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by name NOT NULL DEFAULT current_user,
    applied_before timestamptz,
    applied_xmin xid8,
    applied_in text,
    CONSTRAINT retention_rules_scope_check CHECK (types IS NOT NULL OR workspace_id IS NOT NULL)
);
COMMENT ON TABLE activity.retention_rules IS
    'Retention rules: activity.maintain() removes the activities of the types and workspace a rule names once they are older than its keep';
COMMENT ON COLUMN activity.retention_rules.rule_id IS 'Number of the rule (activity.remove_retention() takes it)';
COMMENT ON COLUMN activity.retention_rules.keep IS 'How long its activities are kept, by occurred_at (0: none is kept)';
COMMENT ON COLUMN activity.retention_rules.types IS 'Types or patterns as in page(), e.g. {site.auth.*} (NULL: every type)';
COMMENT ON COLUMN activity.retention_rules.workspace_id IS 'The workspace (NULL: every workspace)';
COMMENT ON COLUMN activity.retention_rules.created_at IS 'When the rule was added or last changed';
COMMENT ON COLUMN activity.retention_rules.created_by IS 'The role that did it';
COMMENT ON COLUMN activity.retention_rules.applied_before IS
    'maintain() has removed its activities that occurred before this, as of its last complete run';
COMMENT ON COLUMN activity.retention_rules.applied_xmin IS
    'The oldest transaction running at that run: later ones may have written older activities, read by the next run';
COMMENT ON COLUMN activity.retention_rules.applied_in IS
    'The database that run was in (after a restore elsewhere, the next run reads everything again)';
COMMENT ON SEQUENCE activity.retention_rules_rule_id_seq IS 'Numbers of activity.retention_rules';
SELECT pg_catalog.pg_extension_config_dump('activity.retention_rules', '');
SELECT pg_catalog.pg_extension_config_dump('activity.retention_rules_rule_id_seq', '');
REVOKE ALL ON activity.retention_rules FROM PUBLIC;

CREATE FUNCTION activity.add_retention(keep interval, types text[] DEFAULT NULL, workspace_id text DEFAULT NULL)
RETURNS activity.retention_rules
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    result activity.retention_rules;
BEGIN
    IF keep IS NULL THEN
        RAISE EXCEPTION 'keep must not be null' USING ERRCODE = '22004';
    END IF;
    IF keep < '0'::interval THEN
        RAISE EXCEPTION 'keep must not be negative, not %', keep USING ERRCODE = '22023';
    END IF;
    IF types IS NULL AND workspace_id IS NULL THEN
        RAISE EXCEPTION 'a retention rule needs types or a workspace_id'
            USING ERRCODE = '22023',
                  HINT = 'The whole log''s retention is activity.configure(retention => ...).';
    END IF;
    IF workspace_id = '' THEN
        RAISE EXCEPTION 'workspace_id must not be empty' USING ERRCODE = '22023';
    END IF;
    IF cardinality(types) = 0 THEN
        RAISE EXCEPTION 'types must not be empty'
            USING ERRCODE = '22023', HINT = 'Leave types NULL for every type of the workspace.';
    END IF;
    IF types IS NOT NULL THEN
        PERFORM activity._type_prefixes(types);     -- checks the patterns
        SELECT array_agg(DISTINCT t ORDER BY t) INTO types FROM unnest(types) t;
    END IF;
    IF NOT activity._owns_log() THEN
        RAISE EXCEPTION 'permission denied to add a retention rule'
            USING ERRCODE = '42501', DETAIL = 'Only the owner of activity.activities may run maintenance.';
    END IF;
    LOCK TABLE activity.retention_rules IN SHARE ROW EXCLUSIVE MODE;
    UPDATE activity.retention_rules r
       SET keep = add_retention.keep, created_at = now(), created_by = current_user
     WHERE r.types IS NOT DISTINCT FROM add_retention.types
       AND r.workspace_id IS NOT DISTINCT FROM add_retention.workspace_id
    RETURNING * INTO result;
    IF NOT FOUND THEN
        INSERT INTO activity.retention_rules (keep, types, workspace_id)
        VALUES (keep, types, workspace_id)
        RETURNING * INTO result;
    END IF;
    RETURN result;
END;
$$;
COMMENT ON FUNCTION activity.add_retention(interval, text[], text) IS
    'Adds a retention rule (or changes the keep of the rule with the same types and workspace): activity.maintain() removes matching activities older than keep';

CREATE FUNCTION activity.remove_retention(rule_id int)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT activity._owns_log() THEN
        RAISE EXCEPTION 'permission denied to remove a retention rule'
            USING ERRCODE = '42501', DETAIL = 'Only the owner of activity.activities may run maintenance.';
    END IF;
    DELETE FROM activity.retention_rules r WHERE r.rule_id = remove_retention.rule_id;
    RETURN FOUND;
END;
$$;
COMMENT ON FUNCTION activity.remove_retention(int) IS
    'Removes a retention rule; returns whether there was one';

CREATE FUNCTION activity._owns_log()
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_has_role(current_user, c.relowner, 'USAGE')
    FROM pg_class c WHERE c.oid = 'activity.activities'::regclass
$$;
COMMENT ON FUNCTION activity._owns_log() IS 'Internal: whether the current role owns the log (or is a member of its owner)';

-- The time before which a rule's activities go: keep 0 means all of them,
-- dated in the future too
CREATE FUNCTION activity._retention_cutoff(keep interval)
RETURNS timestamptz
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN keep = '0'::interval THEN 'infinity'::timestamptz ELSE now() - keep END
$$;
COMMENT ON FUNCTION activity._retention_cutoff(interval) IS
    'Internal: the occurred_at before which a retention rule removes activities';

-- One rule's rows, as a condition on "a"
CREATE FUNCTION activity._retention_condition(r activity.retention_rules, aged boolean DEFAULT true)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format('(%s%s%s)', CASE WHEN aged THEN format('a.occurred_at < %L::timestamptz', activity._retention_cutoff(r.keep)) ELSE 'true' END,
                  CASE WHEN r.workspace_id IS NOT NULL THEN format(' AND a.workspace_id = %L', r.workspace_id) ELSE '' END,
                  CASE WHEN r.types IS NOT NULL THEN format(' AND a.type LIKE ANY (%L::text[])', activity._type_prefixes(r.types)) ELSE '' END)
$$;
COMMENT ON FUNCTION activity._retention_condition(activity.retention_rules, boolean) IS
    'Internal: the SQL condition on a row "a" that a retention rule removes (aged false: of its types and workspace, whatever their age)';

-- What retention would remove now: the whole log's retention (rule_id NULL:
-- whole partitions, and the default partition's expired rows), then each
-- rule. Rows are counted (the whole partitions estimated), which reads them.
CREATE FUNCTION activity.retention_preview()
RETURNS TABLE (rule_id int, keep interval, types text[], workspace_id text, cutoff timestamptz,
               "rows" bigint, estimated boolean, oldest timestamptz, newest timestamptz, partitions text[])
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
    cfg activity.settings := activity._settings();
    r activity.retention_rules;
    p record;
    n bigint;
BEGIN
    IF cfg.retention IS NOT NULL THEN
        rule_id := NULL; keep := cfg.retention; types := NULL; workspace_id := NULL;
        cutoff := now() - cfg.retention;
        -- whole partitions: estimated, or counted where never analyzed
        "rows" := 0; estimated := false; partitions := NULL; oldest := NULL; newest := NULL;
        FOR p IN SELECT pp.partition, pp.lower, pp.upper, c.reltuples
                 FROM activity.partitions() pp JOIN pg_class c ON c.oid = pp.partition
                 WHERE NOT pp.is_default AND pp.upper <= cutoff ORDER BY pp.lower
        LOOP
            IF p.reltuples >= 0 THEN
                n := p.reltuples::bigint; estimated := estimated OR n > 0;
            ELSE
                EXECUTE format('SELECT count(*) FROM %s', p.partition) INTO n;
            END IF;
            "rows" := "rows" + n;
            partitions := coalesce(partitions, '{}') || p.partition::text;
            oldest := least(oldest, p.lower); newest := greatest(newest, p.upper);
        END LOOP;
        SELECT count(*), least(oldest, min(d.occurred_at)),
               CASE WHEN count(*) > 0 THEN greatest(newest, max(d.occurred_at)) ELSE newest END
          INTO n, oldest, newest
          FROM activity_partitions.activities_default d WHERE d.occurred_at < cutoff;
        "rows" := "rows" + n;
        RETURN NEXT;
    END IF;
    FOR r IN SELECT * FROM activity.retention_rules x ORDER BY x.rule_id LOOP
        rule_id := r.rule_id; keep := r.keep; types := r.types; workspace_id := r.workspace_id;
        -- (keep 0: every activity of the rule, cutoff NULL; drivers read no 'infinity')
        cutoff := nullif(activity._retention_cutoff(r.keep), 'infinity'); estimated := false; partitions := NULL;
        EXECUTE format('SELECT count(*), min(a.occurred_at), max(a.occurred_at) FROM activity.activities a WHERE %s',
                       activity._retention_condition(r))
           INTO "rows", oldest, newest;
        RETURN NEXT;
    END LOOP;
END;
$$;
COMMENT ON FUNCTION activity.retention_preview() IS
    'What retention would remove if activity.maintain() ran now: per rule (rule_id NULL: the whole log''s retention), the activities and their time range (cutoff NULL: keep 0, all of them)';

CREATE FUNCTION activity._delete_expired(part regclass, before timestamptz, workspace text, prefixes text[],
                                         batch int, removal text, newer_than timestamptz DEFAULT NULL,
                                         since_xact xid8 DEFAULT NULL, through_at timestamptz DEFAULT NULL,
                                         through_id uuid DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'activity_delete_expired'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION activity._delete_expired(regclass, timestamptz, text, text[], int, text, timestamptz, xid8, timestamptz, uuid) IS
    'Internal: deletes a batch of a partition''s rows that a retention rule removes';

-- Retention rules, applied by maintain(): first whole partitions every row of
-- which some rule (or the whole log's retention) removes, dropped as the
-- whole log's retention drops them; then each rule's rows, deleted in
-- batches under ROW EXCLUSIVE locks (inserts go on), at most
-- activity.retention_max_rows a run
CREATE FUNCTION activity._apply_retention_rules(expired_before timestamptz)
RETURNS TABLE (action text, partition text, lower timestamptz, upper timestamptz, "rows" bigint, detail text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET datestyle = 'ISO, YMD'
SET timezone = 'UTC'
SET jit = off
AS $$
DECLARE
    caller_timeout text := current_setting('lock_timeout');
    batch constant int := 10000;
    max_rows constant bigint := coalesce(current_setting('activity.retention_max_rows', true), '1000000')::bigint;
    pause constant float8 := extract(epoch FROM coalesce(nullif(current_setting('activity.retention_pause', true), ''),
                                                         '50ms')::interval);
    budget bigint := max_rows;
    r activity.retention_rules;
    p record;
    cond text;
    any_cond text;
    snap pg_snapshot;
    n bigint;
    total bigint;
    keeps boolean;
    max_xact xid8;
    since_max xid8;
    since_days timestamptz[];
    has_rows boolean;
    cutoff timestamptz;
    incremental boolean;
    lo timestamptz;
    hi timestamptz;
    since xid8;
    left_whole regclass[] := '{}';
    matching bigint;
    through_at timestamptz;
    through_id uuid;
    part_cond text;
    batches int := 0;
    more boolean;
BEGIN
    SELECT string_agg(activity._retention_condition(x), ' OR ') INTO any_cond FROM activity.retention_rules x;
    IF any_cond IS NULL THEN
        RETURN;
    END IF;
    IF expired_before IS NOT NULL THEN
        any_cond := any_cond || format(' OR a.occurred_at < %L::timestamptz', expired_before);
    END IF;

    -- whole partitions of the past
    FOR p IN SELECT pp.partition, pp.lower, pp.upper, c.reltuples
             FROM activity.partitions() pp JOIN pg_class c ON c.oid = pp.partition
             WHERE NOT pp.is_default AND pp.upper <= now()
             ORDER BY pp.lower
    LOOP
        snap := pg_current_snapshot();
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s a), EXISTS (SELECT 1 FROM %s a WHERE NOT (%s))',
                       p.partition, p.partition, any_cond)
           INTO has_rows, keeps;
        CONTINUE WHEN keeps OR NOT has_rows;
        -- the latest transaction among its rows (read before the lock; those
        -- written since come below)
        EXECUTE format('SELECT max(a.xact_id) FROM %s a', p.partition) INTO max_xact;
        partition := p.partition::text; lower := p.lower; upper := p.upper; "rows" := NULL;
        IF activity._log_held_for() >= activity._max_lock_hold()::interval THEN
            action := 'deferred'; detail := activity._deferred_detail('drops it');
            left_whole := left_whole || p.partition;
            RETURN NEXT;
            CONTINUE;
        END IF;
        BEGIN
            PERFORM set_config('lock_timeout', activity._lock_timeout(), true);
            -- (ONLY: not the other partitions, which a reader may hold)
            EXECUTE format('LOCK TABLE ONLY activity.activities, %s IN ACCESS EXCLUSIVE MODE', p.partition);
            PERFORM activity._log_held();
            -- rows written since the check (through the change feed's
            -- pointers of the transactions since): one a rule keeps saves
            -- the partition
            EXECUTE format('SELECT coalesce(bool_or(NOT (%s)), false), max(a.xact_id) FROM activity.feed_batches b'
                           ' CROSS JOIN LATERAL unnest(b.occurred_at, b.ids) u(o, i)'
                           ' JOIN %s a ON a.occurred_at = u.o AND a.id = u.i AND a.occurred_at > ''-infinity'''
                           ' WHERE b.xact_id >= pg_snapshot_xmin($1) AND u.o >= $2 AND u.o < $3',
                           any_cond, p.partition)
               USING snap, p.lower, p.upper INTO keeps, since_max;
            IF keeps THEN
                RAISE EXCEPTION USING ERRCODE = 'AC001';
            END IF;
            PERFORM activity._note_removal(p.partition, 'true', format('partition %s dropped by retention rules', p.partition),
                                           activity._row_estimate(p.partition), greatest(max_xact, since_max), true);
            EXECUTE format('SELECT activity._chain_removed(ARRAY(SELECT a.id FROM %s a), $1)', p.partition)
               USING format('partition %s dropped by retention rules at %s', p.partition, now());
            -- their ids are released (a read of the partition, not of every id)
            EXECUTE format('DELETE FROM activity.event_ids e USING %s a WHERE e.id = a.id', p.partition);
            PERFORM set_config('activity.drop_events', 'on', true);
            EXECUTE format('DROP TABLE %s', p.partition);
            PERFORM set_config('activity.drop_events', 'off', true);
            PERFORM set_config('lock_timeout', caller_timeout, true);
            action := 'dropped';
            detail := format('every row expired by retention rules%s',
                             CASE WHEN p.reltuples >= 0 THEN format(' (about %s rows)', p.reltuples::bigint) END);
        EXCEPTION
            WHEN lock_not_available OR deadlock_detected THEN
                action := 'skipped';
                detail := format('%s (activity.lock_timeout is %s); a later run drops it', SQLERRM, activity._lock_timeout());
                -- (its rows are left to that drop, not deleted one by one)
                left_whole := left_whole || p.partition;
            WHEN SQLSTATE 'AC001' THEN
                CONTINUE;   -- a row a rule keeps arrived meanwhile: its rows are deleted below
        END;
        RETURN NEXT;
    END LOOP;

    -- rows, rule by rule. A rule read everything before its cutoff once;
    -- since, each run reads only what moved past the cutoff since the last
    -- run (a range of the time index) and what was written since then (in
    -- the partitions the change feed's pointers of the transactions since
    -- point into), not every old partition again
    FOR r IN SELECT * FROM activity.retention_rules x ORDER BY x.rule_id LOOP
        cutoff := activity._retention_cutoff(r.keep);
        snap := pg_current_snapshot();
        incremental := r.applied_before IS NOT NULL AND r.applied_in = activity._incarnation();
        FOR pass IN 1 .. CASE WHEN incremental THEN 2 ELSE 1 END LOOP
            IF pass = 1 THEN
                lo := CASE WHEN incremental THEN r.applied_before END; hi := cutoff; since := NULL;
            ELSE
                lo := NULL; hi := least(r.applied_before, cutoff); since := r.applied_xmin;
                -- the days rows written since then are dated (a read of the
                -- pointers, not of the partitions)
                since_days := ARRAY(SELECT DISTINCT date_trunc('day', u.o, 'UTC')
                                    FROM activity.feed_batches b CROSS JOIN LATERAL unnest(b.occurred_at) u(o)
                                    WHERE b.xact_id >= since AND u.o < hi);
            END IF;
            CONTINUE WHEN lo >= hi;
            cond := activity._retention_condition(r, false)
                    || format(' AND a.occurred_at < %L::timestamptz', hi)
                    || CASE WHEN lo IS NOT NULL THEN format(' AND a.occurred_at >= %L::timestamptz', lo) ELSE '' END
                    || CASE WHEN since IS NOT NULL THEN format(' AND a.xact_id >= %L::xid8', since) ELSE '' END;
            FOR p IN SELECT pp.partition, pp.lower, pp.upper, pp.is_default FROM activity.partitions() pp
                     WHERE (pp.is_default OR (pp.lower < hi AND (lo IS NULL OR pp.upper > lo)))
                       AND pp.partition <> ALL (left_whole)
                       AND (since IS NULL OR pp.is_default
                            OR EXISTS (SELECT 1 FROM unnest(since_days) d
                                       WHERE d < pp.upper AND d + interval '1 day' > pp.lower))
                     ORDER BY pp.is_default, pp.lower
            LOOP
                EXECUTE format('SELECT count(*) FROM %s a WHERE %s', p.partition, cond) INTO n;
                CONTINUE WHEN n = 0;
                partition := p.partition::text; lower := p.lower; upper := p.upper;
                through_at := NULL; through_id := NULL; part_cond := cond; more := false;
                -- more than this run may delete: the oldest of them, in
                -- (occurred_at, id) order, so that what consumers are told is
                -- what goes
                IF n > budget AND budget > 0 THEN
                    EXECUTE format('SELECT a.occurred_at, a.id FROM %s a WHERE %s ORDER BY a.occurred_at, a.id OFFSET $1 - 1 LIMIT 1',
                                   p.partition, cond)
                       USING budget INTO through_at, through_id;
                    part_cond := cond || format(' AND (a.occurred_at < %L::timestamptz OR (a.occurred_at = %L::timestamptz AND a.id <= %L::uuid))',
                                                through_at, through_at, through_id);
                    n := budget;
                    more := true;
                END IF;
                IF budget <= 0 THEN
                    action := 'deferred'; "rows" := n;
                    detail := format('retention rule %s: activity.retention_max_rows (%s) rows deleted already; the next run goes on',
                                     r.rule_id, max_rows);
                    RETURN NEXT;
                    RETURN;
                END IF;
                -- change feed consumers that have not read them are told
                PERFORM activity._note_removal(p.partition, part_cond,
                                               format('rows of %s deleted by retention rule %s', p.partition, r.rule_id), n);
                matching := n;
                total := 0;
                LOOP
                    -- inserts' commits wait behind the WAL a batch writes: a
                    -- pause between two batches leaves them most of their rate
                    IF batches > 0 THEN
                        PERFORM pg_sleep(pause);
                    END IF;
                    n := activity._delete_expired(p.partition, hi, r.workspace_id, activity._type_prefixes(r.types),
                                                  batch, format('deleted by retention rule %s at %s', r.rule_id, now()), lo, since,
                                                  through_at, through_id);
                    batches := batches + 1;
                    total := total + n;
                    EXIT WHEN n < batch;
                END LOOP;
                budget := budget - total;
                action := 'deleted'; "rows" := total;
                detail := format('retention rule %s (keep %s%s%s)', r.rule_id, r.keep,
                                 CASE WHEN r.types IS NOT NULL THEN format(', types %s', r.types) ELSE '' END,
                                 CASE WHEN r.workspace_id IS NOT NULL THEN format(', workspace %s', r.workspace_id) ELSE '' END);
                RETURN NEXT;
                -- the limit reached before this partition's last row: the next
                -- run goes on (and reads this rule's range again)
                IF more THEN
                    EXECUTE format('SELECT count(*) FROM %s a WHERE %s', p.partition, cond) INTO n;
                    action := 'deferred'; "rows" := n;
                    detail := format('retention rule %s: activity.retention_max_rows (%s) rows deleted already; the next run goes on',
                                     r.rule_id, max_rows);
                    RETURN NEXT;
                    RETURN;
                END IF;
            END LOOP;
        END LOOP;
        -- (a run stopped by activity.retention_max_rows returned above, and
        -- one that left a partition to a later drop goes no further: the
        -- next one reads this rule's range again)
        CONTINUE WHEN cardinality(left_whole) > 0;
        UPDATE activity.retention_rules x
           SET applied_before = cutoff, applied_xmin = pg_snapshot_xmin(snap), applied_in = activity._incarnation()
         WHERE x.rule_id = r.rule_id;
    END LOOP;
END;
$$;
COMMENT ON FUNCTION activity._apply_retention_rules(timestamptz) IS
    'Internal: maintain()''s retention by rule: whole partitions where every row expired, then rows in batches';

--------------------------------------------------------------------------------
-- Audited erasure
--------------------------------------------------------------------------------
CREATE TABLE activity.redactions (
    redaction_id bigserial PRIMARY KEY,
    redacted_at timestamptz NOT NULL DEFAULT now(),
    redacted_by name NOT NULL DEFAULT current_user,
    reason text NOT NULL,
    workspace_id text,
    pseudonym text NOT NULL,
    events bigint NOT NULL DEFAULT 0,
    partitions text[] NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE activity.redactions IS
    'Every erasure done by activity.redact(): when, by whom, why, where and how many activities; never the member''s id';
COMMENT ON COLUMN activity.redactions.redaction_id IS 'Number of the erasure';
COMMENT ON COLUMN activity.redactions.redacted_at IS 'When';
COMMENT ON COLUMN activity.redactions.redacted_by IS 'The role that did it';
COMMENT ON COLUMN activity.redactions.reason IS 'Why, as given (e.g. the request''s ticket number; it must not name the member)';
COMMENT ON COLUMN activity.redactions.workspace_id IS 'The workspace (NULL: every workspace)';
COMMENT ON COLUMN activity.redactions.pseudonym IS 'The random pseudonym that took the member''s place (it cannot be traced back to the id)';
COMMENT ON COLUMN activity.redactions.events IS 'How many activities were changed';
COMMENT ON COLUMN activity.redactions.partitions IS 'The partitions changed (VACUUM them to remove the old row versions and index entries)';
COMMENT ON SEQUENCE activity.redactions_redaction_id_seq IS 'Numbers of activity.redactions';
SELECT pg_catalog.pg_extension_config_dump('activity.redactions', '');
SELECT pg_catalog.pg_extension_config_dump('activity.redactions_redaction_id_seq', '');
REVOKE ALL ON activity.redactions FROM PUBLIC;

-- The paths of the properties a schema marks personal ("x-personal": true),
-- through nested "properties"
CREATE FUNCTION activity._personal_paths(schema jsonb, prefix text[] DEFAULT '{}')
RETURNS SETOF text[]
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT prefix || p.key
    FROM jsonb_each(CASE WHEN jsonb_typeof(schema -> 'properties') = 'object' THEN schema -> 'properties' ELSE '{}' END) p
    WHERE jsonb_typeof(p.value) = 'object' AND p.value -> 'x-personal' = 'true'
    UNION ALL
    SELECT activity._personal_paths(p.value, prefix || p.key)
    FROM jsonb_each(CASE WHEN jsonb_typeof(schema -> 'properties') = 'object' THEN schema -> 'properties' ELSE '{}' END) p
    WHERE jsonb_typeof(p.value) = 'object' AND (p.value -> 'x-personal') IS DISTINCT FROM 'true'
      AND p.value ? 'properties'
$$;
COMMENT ON FUNCTION activity._personal_paths(jsonb, text[]) IS
    'Internal: the paths of the properties a JSON Schema marks "x-personal": true';

-- Does a document hold this string, as a value or a key?
CREATE FUNCTION activity._mentions(doc jsonb, member text)
RETURNS boolean
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT strpos(doc::text, to_jsonb(member)::text) > 0
       AND (jsonb_path_exists(doc, 'strict $.** ? (@ == $m)', jsonb_build_object('m', member))
            OR jsonb_path_exists(doc, 'strict $.** ? (@.type() == "object").keyvalue() ? (@.key == $m)',
                                 jsonb_build_object('m', member)))
$$;
COMMENT ON FUNCTION activity._mentions(jsonb, text) IS
    'Internal: whether a JSON document holds a string as a value or an object key';

-- A document with every string equal to member, value or key, replaced
CREATE FUNCTION activity._replace_strings(doc jsonb, member text, pseudonym text)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    result jsonb;
BEGIN
    CASE jsonb_typeof(doc)
    WHEN 'string' THEN
        RETURN CASE WHEN doc #>> '{}' = member THEN to_jsonb(pseudonym) ELSE doc END;
    WHEN 'object' THEN
        SELECT coalesce(jsonb_object_agg(CASE WHEN e.key = member THEN pseudonym ELSE e.key END,
                                         activity._replace_strings(e.value, member, pseudonym)), '{}')
          INTO result FROM jsonb_each(doc) e;
        RETURN result;
    WHEN 'array' THEN
        SELECT coalesce(jsonb_agg(activity._replace_strings(e.value, member, pseudonym) ORDER BY e.n), '[]')
          INTO result FROM jsonb_array_elements(doc) WITH ORDINALITY e(value, n);
        RETURN result;
    ELSE
        RETURN doc;
    END CASE;
END;
$$;
COMMENT ON FUNCTION activity._replace_strings(jsonb, text, text) IS
    'Internal: a JSON document with a string replaced wherever it is a value or an object key';

-- The metadata of an activity after an erasure: where the member is its
-- initiator or recipient, without the fields its schema marks personal (the
-- whole payload where the schema marks none, or the type has no schema);
-- and with the member's id replaced wherever it appears
CREATE FUNCTION activity._redact_metadata(type text, version smallint, metadata jsonb, member text, pseudonym text,
                                          party boolean)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    paths text[][];
    path text[];
    s jsonb;
BEGIN
    IF party THEN
        SELECT x.schema::jsonb INTO s FROM activity.schemas x WHERE x.type = _redact_metadata.type AND x.version = _redact_metadata.version;
        IF s IS NULL THEN
            metadata := '{}';
        ELSE
            FOR path IN SELECT activity._personal_paths(s) LOOP
                paths := coalesce(paths, '{}') || ARRAY[array_to_string(path, E'\x1f')];
                metadata := metadata #- path;
            END LOOP;
            IF paths IS NULL THEN
                metadata := '{}';
            END IF;
        END IF;
    END IF;
    IF activity._mentions(metadata, member) THEN
        metadata := activity._replace_strings(metadata, member, pseudonym);
    END IF;
    RETURN metadata;
END;
$$;
COMMENT ON FUNCTION activity._redact_metadata(text, smallint, jsonb, text, text, boolean) IS
    'Internal: an activity''s metadata once a member is erased from it';

CREATE FUNCTION activity._redact_rows(part regclass, workspace text, member text, pseudonym text, redaction bigint)
RETURNS bigint
AS 'MODULE_PATHNAME', 'activity_redact_rows'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION activity._redact_rows(regclass, text, text, text, bigint) IS
    'Internal: erases a member from the rows of one partition';

CREATE FUNCTION activity.redact(workspace_id text, member_id text, reason text)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
    rec activity.redactions;
    p record;
    part text;
    n bigint;
    total bigint := 0;
    parts text[] := '{}';
BEGIN
    IF member_id IS NULL OR member_id = '' THEN
        RAISE EXCEPTION 'member_id must not be null or empty' USING ERRCODE = '22004';
    END IF;
    IF reason IS NULL OR btrim(reason) = '' THEN
        RAISE EXCEPTION 'an erasure needs a reason'
            USING ERRCODE = '22004', HINT = 'Give the request''s reference, e.g. a ticket number; not the member''s id.';
    END IF;
    IF strpos(reason, member_id) > 0 THEN
        RAISE EXCEPTION 'the reason must not contain the member''s id'
            USING ERRCODE = '22023', DETAIL = 'activity.redactions keeps the reason, and no personal data.';
    END IF;
    IF workspace_id = '' THEN
        RAISE EXCEPTION 'workspace_id must not be empty (NULL: every workspace)' USING ERRCODE = '22023';
    END IF;
    IF NOT activity._owns_log() THEN
        RAISE EXCEPTION 'permission denied to redact activities'
            USING ERRCODE = '42501', DETAIL = 'Only the owner of activity.activities may run maintenance.';
    END IF;
    INSERT INTO activity.redactions (reason, workspace_id, pseudonym)
    VALUES (reason, workspace_id, 'redacted:' || left(replace(gen_random_uuid()::text, '-', ''), 20))
    RETURNING * INTO rec;
    FOR p IN SELECT pp.partition FROM activity.partitions() pp ORDER BY pp.is_default, pp.lower LOOP
        n := activity._redact_rows(p.partition, workspace_id, member_id, rec.pseudonym, rec.redaction_id);
        IF n > 0 THEN
            total := total + n;
            parts := parts || p.partition::text;
        END IF;
    END LOOP;
    UPDATE activity.redactions r SET events = total, partitions = parts WHERE r.redaction_id = rec.redaction_id;
    IF total > 0 THEN
        -- the planner's statistics (pg_stats' most common values) may hold
        -- the id too: taken again from the rows as they are now
        -- and every VACUUM of them, autovacuum's too, cleans their indexes
        -- (PostgreSQL skips that where few pages hold dead rows, which would
        -- leave the id in index entries)
        FOREACH part IN ARRAY parts LOOP
            EXECUTE format('ANALYZE %s', part::regclass);
            EXECUTE format('ALTER TABLE %s SET (vacuum_index_cleanup = on)', part::regclass);
        END LOOP;
        -- (and the log's own, where it was analyzed as a whole: every
        -- partition is sampled again)
        IF EXISTS (SELECT 1 FROM pg_stats s WHERE s.schemaname = 'activity' AND s.tablename = 'activities') THEN
            ANALYZE activity.activities;
        END IF;
        RAISE NOTICE 'erased from % activities as %', total, rec.pseudonym
            USING HINT = format('Run VACUUM %s once this commits: until then their old versions, in the tables '
                                'and their indexes, still hold the id; '
                                'VACUUM FULL rewrites the files, so that not even the space VACUUM frees holds its bytes.',
                                array_to_string(parts, ', '));
    END IF;
    RETURN total;
END;
$$;
COMMENT ON FUNCTION activity.redact(text, text, text) IS
    'Erases a member (an erasure request): their id becomes a random pseudonym in every column and their personal metadata goes, in one workspace or all; recorded in activity.redactions; returns how many activities changed';

--------------------------------------------------------------------------------
-- The hash chain
--------------------------------------------------------------------------------
-- Opt-in (configure(hash_chain => true)). Each activity's digest is SHA-256
-- of a secret key and its content; each workspace's chain links the digests
-- in the order the change feed delivers them (commit order). maintain()
-- extends it, never an inserting transaction. Retention and erasure keep the
-- activities' entries and append their own to the chain: a 'removed' entry
-- (which activity, why) and a 'redacted' entry (which activity, which
-- erasure, the digest of its new content), so that deleting an activity or
-- editing one and calling it removed or redacted breaks the chain too.
CREATE TABLE activity.hash_chain_key (
    singleton boolean PRIMARY KEY DEFAULT true CONSTRAINT hash_chain_key_singleton CHECK (singleton),
    key bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE activity.hash_chain_key IS
    'The secret mixed into every activity''s digest (so that a digest kept after an erasure reveals nothing); made when the chain is first turned on';
COMMENT ON COLUMN activity.hash_chain_key.singleton IS 'Always true: one key';
COMMENT ON COLUMN activity.hash_chain_key.key IS 'The secret (32 random bytes)';
COMMENT ON COLUMN activity.hash_chain_key.created_at IS 'When it was made';
SELECT pg_catalog.pg_extension_config_dump('activity.hash_chain_key', '');
REVOKE ALL ON activity.hash_chain_key FROM PUBLIC;

CREATE TABLE activity.hash_chain (
    workspace_id text NOT NULL,
    seq bigint NOT NULL,
    kind text NOT NULL DEFAULT 'event' CONSTRAINT hash_chain_kind_check CHECK (kind IN ('event', 'removed', 'redacted')),
    id uuid,
    ids uuid[],
    occurred_at timestamptz,
    xact_id xid8,
    digest bytea NOT NULL,
    chain bytea NOT NULL,
    chained_at timestamptz NOT NULL DEFAULT now(),
    reason text,
    redaction bigint,
    redacted_digest bytea,
    PRIMARY KEY (workspace_id, seq),
    CONSTRAINT hash_chain_entry_check CHECK (CASE kind WHEN 'removed' THEN ids IS NOT NULL AND id IS NULL
                                                       ELSE id IS NOT NULL AND ids IS NULL END)
);
-- an activity is chained once; an erasure's entries, found by activity
CREATE UNIQUE INDEX hash_chain_id_idx ON activity.hash_chain (id) WHERE kind = 'event';
CREATE INDEX hash_chain_redacted_idx ON activity.hash_chain (id) WHERE kind = 'redacted';
COMMENT ON TABLE activity.hash_chain IS
    'The hash chain: per workspace, each activity''s digest linked to the one before (activity.verify() checks it against the log)';
COMMENT ON COLUMN activity.hash_chain.workspace_id IS 'The workspace';
COMMENT ON COLUMN activity.hash_chain.seq IS 'Position in the workspace''s chain, from 1';
COMMENT ON COLUMN activity.hash_chain.kind IS 'event (an activity chained), removed (retention removed it) or redacted (an erasure changed it)';
COMMENT ON COLUMN activity.hash_chain.id IS 'The activity (event and redacted entries)';
COMMENT ON COLUMN activity.hash_chain.ids IS 'The activities of the workspace retention removed in one step (removed entries)';
COMMENT ON COLUMN activity.hash_chain.occurred_at IS 'The activity''s occurred_at when chained (event and redacted entries)';
COMMENT ON COLUMN activity.hash_chain.xact_id IS 'Its xact_id when chained (events)';
COMMENT ON COLUMN activity.hash_chain.digest IS 'Events: SHA-256 of the key and the activity''s content (activity._event_digest()); removed and redacted: of the key and the entry''s columns (activity._mark_digest())';
COMMENT ON COLUMN activity.hash_chain.chain IS 'SHA-256 of the previous entry''s chain and this digest';
COMMENT ON COLUMN activity.hash_chain.chained_at IS 'When the entry was appended';
COMMENT ON COLUMN activity.hash_chain.reason IS 'removed: by what, when';
COMMENT ON COLUMN activity.hash_chain.redaction IS 'redacted: the erasure (activity.redactions)';
COMMENT ON COLUMN activity.hash_chain.redacted_digest IS 'redacted: the digest of the activity''s content after it';
SELECT pg_catalog.pg_extension_config_dump('activity.hash_chain', '');
REVOKE ALL ON activity.hash_chain FROM PUBLIC;

CREATE TABLE activity.hash_chain_state (
    singleton boolean PRIMARY KEY DEFAULT true CONSTRAINT hash_chain_state_singleton CHECK (singleton),
    position text NOT NULL,
    extended_at timestamptz
);
COMMENT ON TABLE activity.hash_chain_state IS
    'Internal: how far the hash chain has read the change feed';
COMMENT ON COLUMN activity.hash_chain_state.singleton IS 'Always true: one position';
COMMENT ON COLUMN activity.hash_chain_state.position IS 'The change feed position the chain has read up to';
COMMENT ON COLUMN activity.hash_chain_state.extended_at IS 'When maintain() last extended the chain';
SELECT pg_catalog.pg_extension_config_dump('activity.hash_chain_state', '');
REVOKE ALL ON activity.hash_chain_state FROM PUBLIC;

-- An activity's digest, and a link of the chain (src/chain.c says exactly
-- what they hash, so that an auditor can recompute them)
CREATE FUNCTION activity._event_digest(key bytea, id uuid, workspace_id text, platform text, type text,
                                       version smallint, actor_type text, initiator_id text, recipient_id text,
                                       subject_type text, subject_id text, caused_by uuid, metadata jsonb,
                                       occurred_at timestamptz, recorded_at timestamptz, function_type text)
RETURNS bytea
AS 'MODULE_PATHNAME', 'activity_event_digest'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION activity._event_digest(bytea, uuid, text, text, text, smallint, text, text, text, text, text, uuid,
                                           jsonb, timestamptz, timestamptz, text) IS
    'Internal: an activity''s digest for the hash chain (SHA-256 of the key and its columns but xact_id)';

CREATE FUNCTION activity._chain_step(state bytea, digest bytea)
RETURNS bytea
AS 'MODULE_PATHNAME', 'activity_chain_step'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION activity._chain_step(bytea, bytea) IS 'Internal: the next link of the hash chain (SHA-256 of the link and the digest)';

-- (strict, without an initial state: the first value, the previous link,
-- is the state)
CREATE AGGREGATE activity._chain(bytea) (sfunc = activity._chain_step, stype = bytea);
COMMENT ON AGGREGATE activity._chain(bytea) IS 'Internal: links digests after a first link';

CREATE FUNCTION activity._chain_genesis(workspace_id text)
RETURNS bytea
LANGUAGE sql IMMUTABLE
AS $$ SELECT pg_catalog.sha256(pg_catalog.convert_to('activity hash chain|' OPERATOR(pg_catalog.||) workspace_id, 'UTF8')) $$;
COMMENT ON FUNCTION activity._chain_genesis(text) IS 'Internal: the link before a workspace''s first activity';

-- An entry to append to the chain
CREATE TYPE activity._chain_entry AS (workspace_id text, kind text, id uuid, ids uuid[], occurred_at timestamptz,
                                      xact_id xid8, digest bytea, reason text, redaction bigint, redacted_digest bytea);
COMMENT ON TYPE activity._chain_entry IS 'Internal: an entry activity._chain_append() appends';

-- The digest of a removed or redacted entry: what it says, under the key
CREATE FUNCTION activity._mark_digest(key bytea, kind text, id uuid, ids uuid[], reason text, redaction bigint,
                                      redacted_digest bytea)
RETURNS bytea
LANGUAGE sql IMMUTABLE
AS $$
    SELECT pg_catalog.sha256(key OPERATOR(pg_catalog.||)
                             pg_catalog.convert_to(pg_catalog.format('activity-mark-1|%s|%s|%s|%L|%s|', kind, id, ids, reason, redaction), 'UTF8')
                             OPERATOR(pg_catalog.||) coalesce(redacted_digest, '\x'::bytea))
$$;
COMMENT ON FUNCTION activity._mark_digest(bytea, text, uuid, uuid[], text, bigint, bytea) IS
    'Internal: the digest of a removed or redacted entry of the hash chain';

CREATE FUNCTION activity._chain_links(workspaces text[], digests bytea[], head_workspaces text[], head_seqs bigint[],
                                      head_chains bytea[], OUT seqs bigint[], OUT chains bytea[])
RETURNS record
AS 'MODULE_PATHNAME', 'activity_chain_links'
LANGUAGE C IMMUTABLE;
COMMENT ON FUNCTION activity._chain_links(text[], bytea[], text[], bigint[], bytea[]) IS
    'Internal: the positions and links of a batch of entries after their workspaces'' last entries (src/chain.c)';

-- The positions and links of a batch of entries, in order, after the last
-- entry of each workspace (one appender at a time: this locks the chain)
CREATE FUNCTION activity._chain_links_after(workspaces text[], digests bytea[], OUT seqs bigint[], OUT chains bytea[])
RETURNS record
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
-- (each workspace's last entry by its primary key, whatever the chain's
-- statistics say: a chain analyzed empty was read whole for each workspace
-- of each batch)
SET enable_seqscan = off
SET enable_bitmapscan = off
AS $$
DECLARE
    hw text[];
    hs bigint[];
    hc bytea[];
BEGIN
    LOCK TABLE activity.hash_chain IN SHARE ROW EXCLUSIVE MODE;
    SELECT coalesce(array_agg(w.ws), '{}'), coalesce(array_agg(h.seq), '{}'), coalesce(array_agg(h.chain), '{}')
      INTO hw, hs, hc
      FROM (SELECT DISTINCT x.ws FROM unnest(workspaces) x(ws)) w
      JOIN LATERAL (SELECT c.seq, c.chain FROM activity.hash_chain c
                    WHERE c.workspace_id = w.ws ORDER BY c.seq DESC LIMIT 1) h ON true;
    SELECT l.seqs, l.chains INTO seqs, chains FROM activity._chain_links(workspaces, digests, hw, hs, hc) l;
END;
$$;
COMMENT ON FUNCTION activity._chain_links_after(text[], bytea[]) IS
    'Internal: locks the hash chain and links a batch of entries after their workspaces'' last entries';

-- Appends entries to their workspaces' chains, in order: each links to the
-- one before (one appender at a time)
CREATE FUNCTION activity._chain_append(entries activity._chain_entry[])
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
    links record;
    n bigint;
BEGIN
    IF coalesce(cardinality(entries), 0) = 0 THEN
        RETURN 0;
    END IF;
    links := activity._chain_links_after(ARRAY(SELECT e.workspace_id FROM unnest(entries) e),
                                         ARRAY(SELECT e.digest FROM unnest(entries) e));
    INSERT INTO activity.hash_chain (workspace_id, seq, kind, id, ids, occurred_at, xact_id, digest, chain, reason,
                                     redaction, redacted_digest)
    SELECT e.workspace_id, l.seq, e.kind, e.id, e.ids, e.occurred_at, e.xact_id, e.digest, l.chain, e.reason,
           e.redaction, e.redacted_digest
    FROM unnest(entries) WITH ORDINALITY e
    JOIN unnest(links.seqs, links.chains) WITH ORDINALITY l(seq, chain, o) ON l.o = e.ordinality;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END;
$$;
COMMENT ON FUNCTION activity._chain_append(activity._chain_entry[]) IS
    'Internal: appends entries to the hash chain, each linked to the one before in its workspace';

-- Retention removed these activities: each chained one gets a 'removed'
-- entry (called by the statement that deletes them, or before a drop);
-- returns how many ids it was given
CREATE FUNCTION activity._chain_removed(removed_ids uuid[], why text)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
-- (index probes of the chain, whatever its statistics say)
SET enable_seqscan = off
SET enable_bitmapscan = off
AS $$
DECLARE
    k bytea := (SELECT x.key FROM activity.hash_chain_key x);
BEGIN
    IF k IS NOT NULL AND cardinality(removed_ids) > 0 THEN
        PERFORM activity._chain_append(ARRAY(
            SELECT ROW(g.workspace_id, 'removed', NULL, g.ids, NULL, NULL,
                       activity._mark_digest(k, 'removed', NULL, g.ids, why, NULL, NULL), why, NULL, NULL)::activity._chain_entry
            FROM (SELECT h.workspace_id, array_agg(h.id ORDER BY h.id) AS ids
                  FROM activity.hash_chain h
                  WHERE h.kind = 'event' AND h.id = ANY (removed_ids)
                  GROUP BY h.workspace_id) g
            ORDER BY g.workspace_id));
    END IF;
    RETURN coalesce(cardinality(removed_ids), 0);
END;
$$;
COMMENT ON FUNCTION activity._chain_removed(uuid[], text) IS
    'Internal: appends to the hash chain, for each workspace, a removed entry listing the chained activities retention removes';

-- An erasure changed these activities (ids and the digests of their new
-- content, in the same order): each chained one gets a 'redacted' entry;
-- returns how many ids it was given
CREATE FUNCTION activity._chain_redacted(erasure bigint, changed_ids uuid[], digests bytea[])
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
SET enable_bitmapscan = off
AS $$
DECLARE
    k bytea := (SELECT x.key FROM activity.hash_chain_key x);
BEGIN
    IF k IS NOT NULL AND cardinality(changed_ids) > 0 THEN
        PERFORM activity._chain_append(ARRAY(
            SELECT ROW(h.workspace_id, 'redacted', h.id, NULL, h.occurred_at, NULL,
                       activity._mark_digest(k, 'redacted', h.id, NULL, NULL, erasure, r.digest), NULL, erasure,
                       r.digest)::activity._chain_entry
            FROM unnest(changed_ids, digests) r(id, digest)
            JOIN activity.hash_chain h ON h.kind = 'event' AND h.id = r.id
            ORDER BY h.workspace_id, h.seq));
    END IF;
    RETURN coalesce(cardinality(changed_ids), 0);
END;
$$;
COMMENT ON FUNCTION activity._chain_redacted(bigint, uuid[], bytea[]) IS
    'Internal: appends a redacted entry to the hash chain for each chained activity an erasure changed';

-- Chains what the change feed has delivered since the chain's position, up
-- to max_rows activities; returns how many. Only maintain() calls it.
-- Which of these activities are chained already (index probes, whatever
-- the chain's statistics say: a plan that scanned the chain once per
-- activity took minutes, and no cancel stopped it)
CREATE FUNCTION activity._chained_ids(candidates uuid[])
RETURNS uuid[]
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off
SET enable_bitmapscan = off
AS $$
    SELECT coalesce(array_agg(c.id), '{}') FROM activity.hash_chain c WHERE c.kind = 'event' AND c.id = ANY (candidates)
$$;
COMMENT ON FUNCTION activity._chained_ids(uuid[]) IS 'Internal: which of these activities the hash chain holds';

CREATE FUNCTION activity._extend_chain(max_rows bigint)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
    st activity.hash_chain_state;
    k bytea;
    pos activity._feed_position;
    chunk record;
    chained uuid[];
    links record;
    ws_a text[];
    id_a uuid[];
    oc_a timestamptz[];
    xa_a xid8[];
    dg_a bytea[];
    read_rows bigint := 0;
    total bigint := 0;
BEGIN
    SELECT * INTO st FROM activity.hash_chain_state FOR UPDATE;
    SELECT x.key INTO k FROM activity.hash_chain_key x;
    IF st IS NULL OR k IS NULL THEN
        RETURN 0;
    END IF;
    pos := activity._position(st.position);
    -- a restore into another database: the whole log again (what is chained
    -- already is skipped)
    IF pos.incarnation <> activity._incarnation() THEN
        pos := activity._position(activity.feed_position('beginning'));
    END IF;
    LOOP
        SELECT * INTO chunk FROM activity._changes_chunk(pos, least(10000, max_rows - read_rows)::int, NULL, NULL);
        pos := chunk.next_pos;
        EXIT WHEN cardinality(chunk.events) = 0;
        read_rows := read_rows + cardinality(chunk.events);
        -- what is chained already is skipped: after a restore into another
        -- database the feed reads the log again, and restored rows carry
        -- transaction ids of the old cluster, which this one's may reach
        chained := activity._chained_ids(ARRAY(SELECT e.id FROM unnest(chunk.events) e));
        SELECT array_agg(e.workspace_id ORDER BY e.ordinality), array_agg(e.id ORDER BY e.ordinality),
               array_agg(e.occurred_at ORDER BY e.ordinality), array_agg(e.xact_id ORDER BY e.ordinality),
               array_agg(activity._event_digest(k, e.id, e.workspace_id, e.platform, e.type, e.version, e.actor_type,
                                                e.initiator_id, e.recipient_id, e.subject_type, e.subject_id,
                                                e.caused_by, e.metadata, e.occurred_at, e.recorded_at,
                                                e.function_type) ORDER BY e.ordinality)
          INTO ws_a, id_a, oc_a, xa_a, dg_a
          FROM unnest(chunk.events) WITH ORDINALITY e
         WHERE cardinality(chained) = 0 OR NOT (e.id = ANY (chained));
        CONTINUE WHEN ws_a IS NULL;
        links := activity._chain_links_after(ws_a, dg_a);
        INSERT INTO activity.hash_chain (workspace_id, seq, id, occurred_at, xact_id, digest, chain)
        SELECT * FROM unnest(ws_a, links.seqs, id_a, oc_a, xa_a, dg_a, links.chains);
        total := total + cardinality(ws_a);
        EXIT WHEN read_rows >= max_rows;
    END LOOP;
    UPDATE activity.hash_chain_state s SET position = activity._position_text(pos), extended_at = now();
    RETURN total;
END;
$$;
COMMENT ON FUNCTION activity._extend_chain(bigint) IS
    'Internal: extends the hash chain over the activities committed since it was last extended (maintain() calls it)';

-- The links to keep outside the database: each workspace's last link. Given
-- back to verify(), they catch a rewrite of the whole chain.
CREATE FUNCTION activity.chain_digest(workspace_id text DEFAULT NULL)
RETURNS TABLE (workspace text, seq bigint, chain text, chained_at timestamptz)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT DISTINCT ON (h.workspace_id) h.workspace_id, h.seq, encode(h.chain, 'hex'), h.chained_at
    FROM activity.hash_chain h
    WHERE chain_digest.workspace_id IS NULL OR h.workspace_id = chain_digest.workspace_id
    ORDER BY h.workspace_id, h.seq DESC
$$;
COMMENT ON FUNCTION activity.chain_digest(text) IS
    'The last link of each workspace''s hash chain, to keep outside the database and give back to activity.verify(digests => ...)';

-- Checks the chain against itself, the log, and digests kept outside
CREATE FUNCTION activity.verify(workspace_id text DEFAULT NULL, digests jsonb DEFAULT NULL)
RETURNS TABLE (workspace text, seq bigint, event_id uuid, problem text, detail text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
    k bytea := (SELECT x.key FROM activity.hash_chain_key x);
    st activity.hash_chain_state := (SELECT s FROM activity.hash_chain_state s);
    pos activity._feed_position;
    ws text := verify.workspace_id;   -- (its rows say "workspace": an OUT parameter cannot share an IN one's name)
BEGIN
    IF k IS NULL OR st IS NULL THEN
        RAISE EXCEPTION 'the hash chain is not on'
            USING ERRCODE = '55000', HINT = 'Turn it on with activity.configure(hash_chain => true); activity.maintain() then builds it.';
    END IF;
    IF digests IS NOT NULL AND jsonb_typeof(digests) <> 'array' THEN
        RAISE EXCEPTION 'digests must be a JSON array of activity.chain_digest() rows, not %', jsonb_typeof(digests)
            USING ERRCODE = '22023';
    END IF;
    pos := activity._position(st.position);
    RETURN QUERY
    WITH chain AS (
        -- each entry, with the link it should have after the one before
        SELECT c.*, activity._chain_step(coalesce(c.prev_chain, activity._chain_genesis(c.workspace_id)), c.digest) AS expected
        FROM (SELECT h.*, lag(h.chain) OVER w AS prev_chain, lag(h.seq) OVER w AS prev_seq
              FROM activity.hash_chain h
              WHERE ws IS NULL OR h.workspace_id = ws
              WINDOW w AS (PARTITION BY h.workspace_id ORDER BY h.seq)) c
    ), marks AS (
        -- the last entry retention or an erasure appended for each activity
        SELECT DISTINCT ON (m.id) m.*
        FROM (SELECT c.id, c.kind, c.seq, c.redaction, c.redacted_digest FROM chain c WHERE c.kind = 'redacted'
              UNION ALL
              SELECT u.id, c.kind, c.seq, NULL, NULL FROM chain c CROSS JOIN LATERAL unnest(c.ids) u(id)
              WHERE c.kind = 'removed') m
        ORDER BY m.id, m.seq DESC
    ), log AS (
        SELECT a.*, activity._event_digest(k, a.id, a.workspace_id, a.platform, a.type, a.version, a.actor_type,
                                           a.initiator_id, a.recipient_id, a.subject_type, a.subject_id,
                                           a.caused_by, a.metadata, a.occurred_at, a.recorded_at,
                                           a.function_type) AS digest
        FROM activity.activities a
        WHERE ws IS NULL OR a.workspace_id = ws
    ), problems AS (
        -- the chain itself: each link from the one before, and what each
        -- removed or redacted entry says under its digest
        SELECT c.workspace_id, c.seq, c.id AS event_id, 'chain broken'::text AS problem,
               CASE WHEN c.seq <> coalesce(c.prev_seq, 0) + 1
                    THEN format('entry %s follows entry %s: entries of the chain were deleted', c.seq, coalesce(c.prev_seq, 0))
                    WHEN c.chain <> c.expected
                    THEN format('entry %s does not link to entry %s: the chain was edited', c.seq, c.prev_seq)
                    ELSE format('entry %s (%s) does not match its digest: the chain was edited', c.seq, c.kind) END AS detail
        FROM chain c
        WHERE c.seq <> coalesce(c.prev_seq, 0) + 1
           OR c.chain <> c.expected
           OR (c.kind <> 'event' AND c.digest <> activity._mark_digest(k, c.kind, c.id, c.ids, c.reason, c.redaction, c.redacted_digest))
        UNION ALL
        -- each chained activity against the log, as retention or an erasure
        -- left it
        SELECT c.workspace_id, c.seq, c.id,
               CASE WHEN l.id IS NULL THEN 'deleted' WHEN m.kind = 'removed' THEN 'inserted' ELSE 'edited' END,
               CASE WHEN l.id IS NULL THEN format('activity %s (%s) is not in the log, and no retention removed it', c.id, c.occurred_at)
                    WHEN m.kind = 'removed' THEN format('activity %s is in the log again after retention removed it (entry %s)', c.id, m.seq)
                    WHEN m.kind = 'redacted' AND NOT EXISTS (SELECT 1 FROM activity.redactions r WHERE r.redaction_id = m.redaction)
                    THEN format('activity %s was changed by erasure %s, which activity.redactions does not know', c.id, m.redaction)
                    ELSE format('activity %s does not match its digest%s', c.id,
                                CASE WHEN m.kind = 'redacted' THEN format(' after erasure %s (entry %s)', m.redaction, m.seq) ELSE '' END) END
        FROM chain c
        LEFT JOIN marks m ON m.id = c.id
        LEFT JOIN log l ON l.id = c.id
        WHERE c.kind = 'event'
          AND CASE WHEN m.kind = 'removed' THEN l.id IS NOT NULL
                   ELSE l.id IS NULL
                        OR l.digest <> CASE WHEN m.kind = 'redacted' THEN m.redacted_digest ELSE c.digest END
                        OR (m.kind = 'redacted' AND NOT EXISTS (SELECT 1 FROM activity.redactions r WHERE r.redaction_id = m.redaction)) END
        UNION ALL
        -- activities of the chained past that are not in the chain
        SELECT l.workspace_id, NULL, l.id, 'inserted',
               format('activity %s (%s) is in the log but not in the chain, though written before the chain''s last extension',
                      l.id, l.occurred_at)
        FROM log l
        WHERE NOT pos.boot AND pos.incarnation = activity._incarnation()   -- (after a restore: once maintain() re-read the log)
          AND (l.xact_id IS NULL OR pg_visible_in_snapshot(l.xact_id, pos.from_snap)
               OR l.xact_id >= pg_snapshot_xmax(pg_current_snapshot()))
          AND NOT EXISTS (SELECT 1 FROM activity.hash_chain h WHERE h.kind = 'event' AND h.id = l.id)
        UNION ALL
        -- digests kept outside
        SELECT d.workspace, d.seq, h.id, 'digest mismatch',
               CASE WHEN h.seq IS NULL THEN format('entry %s of the chain, whose digest was kept, is gone', d.seq)
                    ELSE format('entry %s of the chain is not the one whose digest was kept: the chain was rewritten', d.seq) END
        FROM jsonb_to_recordset(coalesce(digests, '[]')) AS d(workspace text, seq bigint, chain text)
        LEFT JOIN activity.hash_chain h ON h.workspace_id = d.workspace AND h.seq = d.seq
        WHERE (ws IS NULL OR d.workspace = ws)
          AND (h.seq IS NULL OR encode(h.chain, 'hex') <> d.chain)
    )
    SELECT p.workspace_id, p.seq, p.event_id, p.problem, p.detail
    FROM problems p
    ORDER BY p.workspace_id, p.seq NULLS LAST, p.event_id;
END;
$$;
COMMENT ON FUNCTION activity.verify(text, jsonb) IS
    'Checks the hash chain against itself, the log, and digests kept outside (from activity.chain_digest()): one row per problem (edited, deleted, inserted, chain broken, digest mismatch), none when intact';

--------------------------------------------------------------------------------
-- Observability
--------------------------------------------------------------------------------
CREATE VIEW activity.partition_stats AS
SELECT p.partition, p.lower, p.upper, p.is_default,
       CASE WHEN c.reltuples >= 0 THEN c.reltuples::bigint END AS row_estimate,
       pg_relation_size(c.oid) AS heap_bytes,
       pg_indexes_size(c.oid) AS index_bytes,
       CASE WHEN c.reltoastrelid <> 0 THEN pg_total_relation_size(c.reltoastrelid) ELSE 0 END AS toast_bytes,
       pg_total_relation_size(c.oid) AS total_bytes,
       greatest(s.last_vacuum, s.last_autovacuum) AS last_vacuum,
       greatest(s.last_analyze, s.last_autoanalyze) AS last_analyze
FROM activity.partitions() p
JOIN pg_class c ON c.oid = p.partition
LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid;
COMMENT ON VIEW activity.partition_stats IS
    'Each partition of the log: bounds, row estimate (NULL until analyzed), bytes of heap, indexes and TOAST, last vacuum and analyze';
COMMENT ON COLUMN activity.partition_stats.partition IS 'The partition';
COMMENT ON COLUMN activity.partition_stats.lower IS 'Its lower bound (inclusive; NULL for the default partition)';
COMMENT ON COLUMN activity.partition_stats.upper IS 'Its upper bound (exclusive; NULL for the default partition)';
COMMENT ON COLUMN activity.partition_stats.is_default IS 'Whether it is the default partition';
COMMENT ON COLUMN activity.partition_stats.row_estimate IS 'Rows, as estimated by the last VACUUM or ANALYZE (NULL: never)';
COMMENT ON COLUMN activity.partition_stats.heap_bytes IS 'Bytes of its table';
COMMENT ON COLUMN activity.partition_stats.index_bytes IS 'Bytes of its indexes';
COMMENT ON COLUMN activity.partition_stats.toast_bytes IS 'Bytes of its TOAST table and index (large metadata)';
COMMENT ON COLUMN activity.partition_stats.total_bytes IS 'All of it';
COMMENT ON COLUMN activity.partition_stats.last_vacuum IS 'When it was last vacuumed (by hand or autovacuum)';
COMMENT ON COLUMN activity.partition_stats.last_analyze IS 'When it was last analyzed';

-- The rows waiting in the default partition, by the partition interval they
-- fall in and how far that is from the partitions maintain() keeps
-- How many partition intervals from one interval's start to a later one's
-- (months counted as months, not as 30 days)
CREATE FUNCTION activity._intervals_between(a timestamptz, b timestamptz, width interval)
RETURNS int
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN extract(year FROM width) * 12 + extract(month FROM width) > 0
                THEN (((extract(year FROM b AT TIME ZONE 'UTC') - extract(year FROM a AT TIME ZONE 'UTC')) * 12
                       + extract(month FROM b AT TIME ZONE 'UTC') - extract(month FROM a AT TIME ZONE 'UTC'))
                      / (extract(year FROM width) * 12 + extract(month FROM width)))::int
                ELSE round(extract(epoch FROM b - a) / extract(epoch FROM width))::int END
$$;
COMMENT ON FUNCTION activity._intervals_between(timestamptz, timestamptz, interval) IS
    'Internal: the number of partition intervals between the starts of two intervals';

CREATE FUNCTION activity.default_partition_rows()
RETURNS TABLE (lower timestamptz, upper timestamptz, "rows" bigint, oldest timestamptz, newest timestamptz,
               intervals_away int, status text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
SET datestyle = 'ISO, YMD'
SET timezone = 'UTC'
AS $$
DECLARE
    cfg activity.settings := activity._settings();
    current_start timestamptz := activity.partition_start(now());
    recent timestamptz := current_start;
    horizon timestamptz := current_start;
BEGIN
    FOR i IN 1 .. cfg.premake + 1 LOOP
        horizon := (horizon AT TIME ZONE 'UTC' + cfg.partition_interval) AT TIME ZONE 'UTC';
    END LOOP;
    FOR i IN 1 .. cfg.premake LOOP
        recent := (recent AT TIME ZONE 'UTC' - cfg.partition_interval) AT TIME ZONE 'UTC';
    END LOOP;
    RETURN QUERY
    SELECT g.lower,
           -- (the last interval of the timestamp range has no end)
           CASE WHEN g.lower < '290000-01-01' THEN (g.lower AT TIME ZONE 'UTC' + cfg.partition_interval) AT TIME ZONE 'UTC'
                ELSE 'infinity' END,
           g.n, g.oldest, g.newest,
           CASE WHEN g.lower < recent THEN -activity._intervals_between(g.lower, recent, cfg.partition_interval)
                WHEN g.lower >= horizon THEN 1 + activity._intervals_between(horizon, g.lower, cfg.partition_interval)
                ELSE 0 END,
           CASE WHEN cfg.retention IS NOT NULL AND g.newest < now() - cfg.retention
                THEN 'expired: the next maintain() deletes them'
                WHEN g.lower >= recent AND g.lower < horizon
                THEN 'the next maintain() moves them into a partition of their own'
                WHEN g.lower < recent
                THEN 'older than maintain() makes partitions for: activity.create_partitions() moves them'
                ELSE 'later than maintain() makes partitions for: activity.create_partitions() moves them' END
    FROM (SELECT activity.partition_start(d.occurred_at) AS lower, count(*) AS n,
                 min(d.occurred_at) AS oldest, max(d.occurred_at) AS newest
          FROM activity_partitions.activities_default d
          WHERE d.occurred_at > '-infinity' AND d.occurred_at < 'infinity'
          GROUP BY 1) g
    UNION ALL
    SELECT NULL, NULL, count(*), min(d.occurred_at), max(d.occurred_at), NULL, 'dated -infinity or infinity: they stay here'
    FROM activity_partitions.activities_default d
    WHERE NOT (d.occurred_at > '-infinity' AND d.occurred_at < 'infinity')
    HAVING count(*) > 0
    ORDER BY 1 NULLS LAST;
END;
$$;
COMMENT ON FUNCTION activity.default_partition_rows() IS
    'The rows waiting in the default partition, per partition interval: how many, how far outside the partitions maintain() keeps (in intervals; 0: inside), and what will happen to them';

-- What maintenance has to do next, and when
CREATE FUNCTION activity.maintenance_due()
RETURNS TABLE (due_at timestamptz, what text, detail text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
SET datestyle = 'ISO, YMD'
SET timezone = 'UTC'
SET jit = off
AS $$
DECLARE
    cfg activity.settings := activity._settings();
    last_run activity.maintenance_runs;
    horizon timestamptz := activity.partition_start(now());
    missing timestamptz;
    r activity.retention_rules;
    t timestamptz;
    n bigint;
    pos activity._feed_position;
BEGIN
    SELECT * INTO last_run FROM activity.maintenance_runs m ORDER BY m.run_id DESC LIMIT 1;
    due_at := last_run.finished_at; what := 'last run';
    detail := CASE WHEN last_run IS NULL THEN 'maintain() has never run (since 0.2)'
                   WHEN last_run.error IS NOT NULL THEN format('run %s failed: %s', last_run.run_id, last_run.error)
                   ELSE format('run %s: %s created, %s dropped, %s rows deleted, %s chained, %s skipped, %s deferred',
                               last_run.run_id, last_run.created, last_run.dropped, last_run.deleted, last_run.chained,
                               last_run.skipped, last_run.deferred) END;
    RETURN NEXT;
    -- the first interval from now on without its partition
    FOR i IN 0 .. cfg.premake + 1 LOOP
        IF NOT EXISTS (SELECT 1 FROM activity.partitions() p WHERE NOT p.is_default AND p.lower <= horizon AND p.upper > horizon) THEN
            missing := horizon;
            EXIT;
        END IF;
        horizon := (horizon AT TIME ZONE 'UTC' + cfg.partition_interval) AT TIME ZONE 'UTC';
    END LOOP;
    due_at := CASE WHEN missing IS NULL THEN horizon - (cfg.partition_interval * (cfg.premake + 1))
                   WHEN missing <= activity.partition_start(now()) THEN now()
                   ELSE greatest(now(), missing - cfg.partition_interval * cfg.premake) END;
    what := 'create partition';
    detail := format('for %s onwards', coalesce(missing, horizon));
    RETURN NEXT;
    -- rows the default partition holds for recent intervals
    SELECT sum(d."rows") INTO n FROM activity.default_partition_rows() d WHERE d.intervals_away = 0;
    IF n > 0 THEN
        due_at := now(); what := 'move rows'; detail := format('%s rows of the default partition into partitions of their own', n);
        RETURN NEXT;
    END IF;
    -- retention of the whole log: the oldest partition
    IF cfg.retention IS NOT NULL THEN
        SELECT p.upper + cfg.retention, format('drop %s (retention %s)', p.partition, cfg.retention) INTO due_at, detail
          FROM activity.partitions() p WHERE NOT p.is_default ORDER BY p.lower LIMIT 1;
        IF FOUND THEN
            due_at := greatest(due_at, now()); what := 'retention';
            RETURN NEXT;
        END IF;
    END IF;
    -- each rule: when its oldest activity expires
    FOR r IN SELECT * FROM activity.retention_rules x ORDER BY x.rule_id LOOP
        EXECUTE format('SELECT min(a.occurred_at) FROM activity.activities a WHERE %s',
                       activity._retention_condition(r, false))
           INTO t;
        CONTINUE WHEN t IS NULL;
        due_at := CASE WHEN r.keep = '0'::interval THEN now() ELSE greatest(now(), t + r.keep) END;
        what := 'retention';
        detail := format('rule %s (keep %s) removes its oldest activity, of %s', r.rule_id, r.keep, t);
        RETURN NEXT;
    END LOOP;
    -- the hash chain
    IF cfg.hash_chain THEN
        SELECT (activity._position(s.position)).* INTO pos FROM activity.hash_chain_state s;
        IF FOUND THEN
            due_at := now(); what := 'extend hash chain';
            detail := CASE WHEN pos.incarnation = activity._incarnation()
                           THEN format('%s activities to chain', activity._unread(pos, 'activity.activities'))
                           ELSE 'the whole log (restored into this database): chained activities are skipped' END;
            RETURN NEXT;
        END IF;
    END IF;
    SELECT count(*) INTO n FROM activity.pending_steps();
    IF n > 0 THEN
        due_at := now(); what := 'pending steps';
        detail := format('%s steps left by an upgrade: SELECT statement FROM activity.pending_steps() \gexec', n);
        RETURN NEXT;
    END IF;
END;
$$;
COMMENT ON FUNCTION activity.maintenance_due() IS
    'What maintenance has to do next and when: the last run, the next partition to create, rows to move, retention by the whole log and by rule, the hash chain, upgrade steps';

--------------------------------------------------------------------------------
-- The partitions of a 0.1 log
--------------------------------------------------------------------------------
-- Nothing here reads the log: its rows were checked when written (the
-- constraints are NOT VALID); the feed indexes of partitions with rows are
-- built, and their ids registered, online afterwards
-- (activity.pending_steps(); page() reads a partition without its indexes
-- through a plan meanwhile).
DO $$
DECLARE
    p record;
    d record;
    n bigint;
BEGIN
    FOR p IN SELECT pp.partition, c.relname FROM activity.partitions() pp JOIN pg_class c ON c.oid = pp.partition LOOP
        PERFORM activity._add_validation(p.partition);
        -- partitions made ahead of time (empty) and small ones are done now;
        -- the others online afterwards
        EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM %s LIMIT 10001) x', p.partition) INTO n;
        IF n <= 10000 THEN
            -- 0.1's workspace feed index lacks the type that counts() reads
            EXECUTE format('DROP INDEX IF EXISTS activity_partitions.%I', p.relname || '_feed_idx');
            FOR d IN SELECT * FROM activity._index_definitions(p.partition) LOOP
                EXECUTE format(d.definition, ' IF NOT EXISTS');
            END LOOP;
            EXECUTE format('INSERT INTO activity.event_ids (id, occurred_at) SELECT id, occurred_at FROM %s'
                           ' ON CONFLICT (id) DO NOTHING', p.partition);
            -- its ids registered, 0.1's primary key is redundant
            PERFORM activity._set_replica_identity(p.partition);
            EXECUTE format('ALTER TABLE %s DROP CONSTRAINT IF EXISTS %I', p.partition, p.relname || '_pkey');
        ELSE
            INSERT INTO activity.pending_ids VALUES (p.partition::text);
        END IF;
    END LOOP;
    -- the default partition's time index replaces 0.1's occurred_at index
    IF to_regclass('activity_partitions.activities_default_time_idx') IS NOT NULL THEN
        DROP INDEX IF EXISTS activity_partitions.activities_default_occurred_at_idx;
    END IF;
END;
$$;

--------------------------------------------------------------------------------
-- Internal functions are not for applications
--------------------------------------------------------------------------------
-- Trigger and event trigger functions are called by PostgreSQL, which checks
-- no privilege when it fires them; the maintenance steps are for the log's
-- owner (activity.set_owner() grants them). Left executable, as the
-- functions that use them run with their caller's rights: _valid_activity
-- (the validation constraint: every role that inserts calls it, and it
-- registers ids only for roles that may insert into the log), _counts,
-- _bursts, _group_key, _bucket_expr, _bucket_bounds, _bucket_counts, _bucket_bursts and
-- _index_counts_possible
-- (counts(), bursts(); the last two check the caller's SELECT on the log), _check_offset_args (workspace_activity(), issue_activity()),
-- _narrowing_changes (register_schema()), _unknown_platforms (register_type(),
-- register_universal_type()), _settings and _interval_supported;
-- _capture (activity.track()'s CREATE TRIGGER needs EXECUTE on it),
-- _schema_properties, _type_subject, _row_changes and _row_fields (capture
-- and track() call them), and
-- _cursor_from_bytea (a cast).
REVOKE EXECUTE ON FUNCTION
    activity._registry_changed(), activity._append_only(), activity._schemas_immutable(),
    activity._event_types_history(), activity._event_types_referenced(), activity._complete(),
    activity._check_caused_by(), activity._through_log(), activity._guard_drop(),
    activity._index_partition(regclass), activity._index_definitions(regclass),
    activity._add_validation(regclass), activity._set_replica_identity(regclass), activity._lock_timeout(),
    activity._max_lock_hold(), activity._log_held(), activity._log_held_for(), activity._deferred_detail(text),
    activity._note_removal(regclass, text, text, bigint, xid8, boolean),
    activity._move_rows(regclass, timestamptz, timestamptz), activity._expire_default(timestamptz),
    activity._create_partition(timestamptz, timestamptz), activity._create_partitions(timestamptz, timestamptz, boolean),
    activity._row_security_now(), activity._row_security_sync(), activity._row_security_run(text, text),
    activity._row_security_apply(), activity._maintain(), activity._apply_retention_rules(timestamptz),
    activity._delete_expired(regclass, timestamptz, text, text[], int, text, timestamptz, xid8, timestamptz, uuid),
    activity._redact_rows(regclass, text, text, text, bigint), activity._extend_chain(bigint),
    activity._chain_append(activity._chain_entry[]), activity._chain_removed(uuid[], text),
    activity._chain_redacted(bigint, uuid[], bytea[]), activity._chain_links_after(text[], bytea[]),
    activity._chained_ids(uuid[])
FROM PUBLIC;

-- Readable by every role: the views run with their caller's rights
-- (activity_log reads the log under its row-level security; tracked reads
-- pg_trigger), and the settings are what partition_start() computes from.
GRANT SELECT ON activity.activity_log, activity.tracked, activity.settings TO PUBLIC;

-- Row estimates of the set-returning functions maintenance queries join: the
-- default 1000 made pending_steps() and maintain() cost enough for JIT, which
-- then spent 1-2 s compiling them on every call (tools/fuzz found it)
ALTER FUNCTION activity.partitions() ROWS 100;
ALTER FUNCTION activity._index_definitions(regclass) ROWS 5;

SELECT set_config('lock_timeout', current_setting('activity_upgrade.lock_timeout'), true);
