-- activity 0.1: validated, append-only activity logs with keyset-paged feeds
\echo Use "CREATE EXTENSION activity" to load this file. \quit

--------------------------------------------------------------------------------
-- Schemas
--
-- The extension lives in schema "activity" (the control file's schema). The
-- monthly partitions that maintain() creates live in "activity_partitions": they
-- are ordinary tables, not extension members, so pg_dump dumps their definition
-- and data like any user table. The schema name also sorts after "activity",
-- which makes pg_dump restore the registry before the log rows that refer to it.
--------------------------------------------------------------------------------
CREATE SCHEMA activity_partitions;
COMMENT ON SCHEMA activity_partitions IS
    'Partitions of activity.activities, created and dropped by activity.maintain()';

--------------------------------------------------------------------------------
-- UUIDv7
--------------------------------------------------------------------------------
CREATE FUNCTION activity.uuidv7()
RETURNS uuid
AS 'MODULE_PATHNAME', 'activity_uuidv7'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION activity.uuidv7() IS
    'A new RFC 9562 UUIDv7: time-ordered, and strictly increasing within a session';

CREATE FUNCTION activity.uuidv7_time(id uuid)
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'activity_uuidv7_time'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION activity.uuidv7_time(uuid) IS
    'The creation time (millisecond precision) embedded in a UUIDv7; NULL for other UUID versions';

--------------------------------------------------------------------------------
-- The cursor type
--------------------------------------------------------------------------------
CREATE TYPE activity.cursor;

CREATE FUNCTION activity.cursor_in(cstring) RETURNS activity.cursor
AS 'MODULE_PATHNAME', 'activity_cursor_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION activity.cursor_out(activity.cursor) RETURNS cstring
AS 'MODULE_PATHNAME', 'activity_cursor_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION activity.cursor_recv(internal) RETURNS activity.cursor
AS 'MODULE_PATHNAME', 'activity_cursor_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION activity.cursor_send(activity.cursor) RETURNS bytea
AS 'MODULE_PATHNAME', 'activity_cursor_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE activity.cursor (
    INPUT = activity.cursor_in,
    OUTPUT = activity.cursor_out,
    RECEIVE = activity.cursor_recv,
    SEND = activity.cursor_send,
    INTERNALLENGTH = VARIABLE,
    STORAGE = plain
);
COMMENT ON FUNCTION activity.cursor_in(cstring) IS 'Text input of activity.cursor: checks length, alphabet, checksum and format version';
COMMENT ON FUNCTION activity.cursor_out(activity.cursor) IS 'Text output of activity.cursor: unpadded URL-safe base64';
COMMENT ON FUNCTION activity.cursor_recv(internal) IS 'Binary input of activity.cursor: the raw bytes, checked like text input';
COMMENT ON FUNCTION activity.cursor_send(activity.cursor) IS 'Binary output of activity.cursor: the raw bytes';
COMMENT ON TYPE activity.cursor IS
    'Opaque keyset position in a feed returned by activity.page(): versioned, checksummed, URL-safe';

CREATE FUNCTION activity.cursor_eq(activity.cursor, activity.cursor) RETURNS bool
AS 'MODULE_PATHNAME', 'activity_cursor_eq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OPERATOR = (
    LEFTARG = activity.cursor, RIGHTARG = activity.cursor,
    PROCEDURE = activity.cursor_eq, COMMUTATOR = =,
    RESTRICT = eqsel, JOIN = eqjoinsel
);
COMMENT ON FUNCTION activity.cursor_eq(activity.cursor, activity.cursor) IS
    'Whether two cursors denote the same position of the same query';
COMMENT ON OPERATOR activity.= (activity.cursor, activity.cursor) IS
    'Whether two cursors denote the same position of the same query';

CREATE FUNCTION activity.cursor_info(
    cursor activity.cursor,
    OUT format_version int,
    OUT direction text,
    OUT occurred_at timestamptz,
    OUT id uuid,
    OUT query_hash bigint)
AS 'MODULE_PATHNAME', 'activity_cursor_info'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION activity.cursor_info(activity.cursor) IS
    'What a cursor holds: its format version, direction, the (occurred_at, id) position and the hash of the query it is bound to';

--------------------------------------------------------------------------------
-- Registry
--------------------------------------------------------------------------------
CREATE TABLE activity.event_types (
    name text PRIMARY KEY
        CONSTRAINT event_types_name_check CHECK (
            name ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$'
            OR name ~ '^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$'),
    description text,
    universal_type text
        CONSTRAINT event_types_universal_type_check CHECK (universal_type ~ '^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$'),
    recipient text NOT NULL DEFAULT 'optional'
        CONSTRAINT event_types_recipient_check CHECK (recipient IN ('required', 'forbidden', 'optional')),
    platforms text[]
        CONSTRAINT event_types_platforms_check CHECK (array_position(platforms, NULL) IS NULL AND cardinality(platforms) > 0),
    actor_types text[] NOT NULL DEFAULT '{user,agent,system}'
        CONSTRAINT event_types_actor_types_check CHECK (
            actor_types <@ '{user,agent,system}'::text[] AND cardinality(actor_types) > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE activity.event_types IS
    'Registered event types; an activity of an unregistered type is refused';
COMMENT ON COLUMN activity.event_types.name IS
    'Type name: lower-case dotted (post.created) or upper snake case (USER_JOIN)';
COMMENT ON COLUMN activity.event_types.description IS 'What happened, for people';
COMMENT ON COLUMN activity.event_types.universal_type IS
    'Cross-platform type this platform-specific type maps to (USER_JOIN, CHAT_MESSAGE_DELETE, ...)';
COMMENT ON COLUMN activity.event_types.recipient IS
    'Whether recipient_id is required, forbidden or optional for this type';
COMMENT ON COLUMN activity.event_types.platforms IS
    'Platforms that may record this type; NULL means any platform, including none';
COMMENT ON COLUMN activity.event_types.actor_types IS
    'Actor types (user, agent, system) allowed to initiate this type';
COMMENT ON COLUMN activity.event_types.created_at IS 'When the type was first registered';
COMMENT ON COLUMN activity.event_types.updated_at IS 'When the type was last registered or changed';

SELECT pg_catalog.pg_extension_config_dump('activity.event_types', '');

-- Interval equality treats '1 mon' and '30 days' alike: compare the fields.
CREATE FUNCTION activity._interval_supported(i interval)
RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT extract(hour FROM i) = 0 AND extract(minute FROM i) = 0 AND extract(second FROM i) = 0
       AND ((extract(day FROM i) = 0
             AND extract(year FROM i) * 12 + extract(month FROM i) IN (1, 2, 3, 4, 6, 12))
         OR (extract(year FROM i) = 0 AND extract(month FROM i) = 0 AND extract(day FROM i) IN (1, 7)))
$$;
COMMENT ON FUNCTION activity._interval_supported(interval) IS
    'Internal: whether an interval can be a partition width (1 or 7 days, 1, 2, 3, 4, 6 or 12 months)';

CREATE TABLE activity.settings (
    singleton boolean PRIMARY KEY DEFAULT true CONSTRAINT settings_singleton CHECK (singleton),
    partition_interval interval NOT NULL DEFAULT '1 month'
        CONSTRAINT settings_interval_check CHECK (activity._interval_supported(partition_interval)),
    premake int NOT NULL DEFAULT 3
        CONSTRAINT settings_premake_check CHECK (premake BETWEEN 1 AND 366),
    retention interval
        CONSTRAINT settings_retention_check CHECK (retention > '0'::interval)
);
-- No row until activity.configure() writes one: pg_dump then restores only
-- settings that were changed, without colliding with a row made at install.

CREATE FUNCTION activity._settings()
RETURNS activity.settings
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce((SELECT s FROM activity.settings s),
                    ROW(true, '1 month', 3, NULL)::activity.settings)
$$;
COMMENT ON FUNCTION activity._settings() IS
    'Internal: the settings row, or the defaults when activity.configure() was never called';
COMMENT ON TABLE activity.settings IS
    'Partitioning and retention settings read by activity.maintain(); change them with activity.configure()';
COMMENT ON COLUMN activity.settings.singleton IS 'Always true: the table has at most one row';
COMMENT ON COLUMN activity.settings.partition_interval IS
    'Width of each partition: 1 day, 7 days, 1, 2, 3, 4 or 6 months, or 1 year (bounds in UTC)';
COMMENT ON COLUMN activity.settings.premake IS
    'How many partitions maintain() keeps ready beyond the current one';
COMMENT ON COLUMN activity.settings.retention IS
    'Partitions whose whole range is older than now() - retention are dropped by maintain(); NULL keeps everything';

SELECT pg_catalog.pg_extension_config_dump('activity.settings', '');

-- Registry changes must reach every session's cache: this statement trigger
-- sends a relcache invalidation for the table, which the C caches listen to.
CREATE FUNCTION activity._registry_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'activity_registry_changed'
LANGUAGE C;
COMMENT ON FUNCTION activity._registry_changed() IS
    'Internal: invalidates every session''s registry cache after a change to a registry table';

CREATE TRIGGER event_types_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON activity.event_types
    FOR EACH STATEMENT EXECUTE FUNCTION activity._registry_changed();

--------------------------------------------------------------------------------
-- The log
--------------------------------------------------------------------------------
CREATE TABLE activity.activities (
    id uuid NOT NULL DEFAULT activity.uuidv7(),
    workspace_id text NOT NULL,
    platform text,
    type text NOT NULL,
    version int2 NOT NULL,
    actor_type text NOT NULL DEFAULT 'user',
    initiator_id text,
    recipient_id text,
    subject_type text,
    subject_id text,
    caused_by uuid,
    metadata jsonb NOT NULL DEFAULT '{}',
    occurred_at timestamptz NOT NULL DEFAULT now(),
    recorded_at timestamptz NOT NULL DEFAULT now()
) PARTITION BY RANGE (occurred_at);

COMMENT ON TABLE activity.activities IS
    'The activity log: append-only, validated on insert, partitioned by occurred_at';
COMMENT ON COLUMN activity.activities.id IS 'UUIDv7 assigned at ingestion unless given';
COMMENT ON COLUMN activity.activities.workspace_id IS 'Tenant: workspace, community or property';
COMMENT ON COLUMN activity.activities.platform IS 'Platform the event came from (slack, discord, ...); NULL for native events';
COMMENT ON COLUMN activity.activities.type IS 'Registered event type (activity.event_types.name)';
COMMENT ON COLUMN activity.activities.version IS 'Schema version of metadata; 0 when the type has no schema';
COMMENT ON COLUMN activity.activities.actor_type IS 'user, agent or system (synthetic events)';
COMMENT ON COLUMN activity.activities.initiator_id IS 'Who performed the action; NULL only for system actors';
COMMENT ON COLUMN activity.activities.recipient_id IS 'Who the action was aimed at, per the type''s recipient rule';
COMMENT ON COLUMN activity.activities.subject_type IS 'Kind of entity the activity is about (issue, post, ...)';
COMMENT ON COLUMN activity.activities.subject_id IS 'Id of the entity the activity is about';
COMMENT ON COLUMN activity.activities.caused_by IS 'For synthetic events: id of the activity, in the same workspace, that triggered this one';
COMMENT ON COLUMN activity.activities.metadata IS 'Validated JSON object payload with point-in-time facts';
COMMENT ON COLUMN activity.activities.occurred_at IS 'When it happened: the feed order and the partition key';
COMMENT ON COLUMN activity.activities.recorded_at IS 'When it was ingested';

-- Indexes are created on each partition rather than on the parent: the parent
-- is an extension member, and indexes inherited from it would be created a
-- second time by a pg_dump restore (which dumps the partitions' own).
CREATE FUNCTION activity._index_partition(part regclass)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    name text := (SELECT c.relname FROM pg_class c WHERE c.oid = part);
BEGIN
    EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I PRIMARY KEY (id, occurred_at)', part, name || '_pkey');
    EXECUTE format('CREATE INDEX %I ON %s (workspace_id, occurred_at DESC, id DESC)', name || '_feed_idx', part);
    EXECUTE format('CREATE TRIGGER activities_no_truncate BEFORE TRUNCATE ON %s'
                   ' FOR EACH STATEMENT EXECUTE FUNCTION activity._append_only()', part);
END;
$$;
COMMENT ON FUNCTION activity._index_partition(regclass) IS
    'Internal: creates the primary key, feed index and TRUNCATE guard of a new partition';

-- Every row not covered by a range partition lands here: events from before
-- the oldest or after the newest partition, and everything recorded before
-- the first activity.maintain(). It is an extension member whose data pg_dump
-- keeps; maintain() moves rows out of it once their partition exists.
CREATE TABLE activity_partitions.activities_default
    PARTITION OF activity.activities DEFAULT;
CREATE INDEX activities_default_occurred_at_idx
    ON activity_partitions.activities_default (occurred_at);
COMMENT ON TABLE activity_partitions.activities_default IS
    'Catch-all partition: outlier dates and events recorded before their partition existed';

SELECT pg_catalog.pg_extension_config_dump('activity_partitions.activities_default', '');

-- The single validation point of every ingestion path
CREATE FUNCTION activity._validate()
RETURNS trigger
AS 'MODULE_PATHNAME', 'activity_validate'
LANGUAGE C;
COMMENT ON FUNCTION activity._validate() IS
    'Internal: BEFORE INSERT trigger that validates and completes every activity row';

CREATE TRIGGER activities_validate
    BEFORE INSERT ON activity.activities
    FOR EACH ROW EXECUTE FUNCTION activity._validate();

CREATE FUNCTION activity._append_only()
RETURNS trigger
AS 'MODULE_PATHNAME', 'activity_append_only'
LANGUAGE C;
COMMENT ON FUNCTION activity._append_only() IS
    'Internal: refuses UPDATE, DELETE and TRUNCATE on the activity log';

CREATE TRIGGER activities_append_only
    BEFORE UPDATE OR DELETE ON activity.activities
    FOR EACH ROW EXECUTE FUNCTION activity._append_only();
CREATE TRIGGER activities_no_truncate
    BEFORE TRUNCATE ON activity.activities
    FOR EACH STATEMENT EXECUTE FUNCTION activity._append_only();
-- TRUNCATE triggers are not inherited: each partition gets its own.
SELECT activity._index_partition('activity_partitions.activities_default');

--------------------------------------------------------------------------------
-- Registration
--------------------------------------------------------------------------------
CREATE FUNCTION activity.register_type(
    name text,
    description text DEFAULT NULL,
    universal_type text DEFAULT NULL,
    recipient text DEFAULT 'optional',
    platforms text[] DEFAULT NULL,
    actor_types text[] DEFAULT '{user,agent,system}')
RETURNS activity.event_types
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    result activity.event_types;
BEGIN
    IF name IS NULL THEN
        RAISE EXCEPTION 'event type name must not be null' USING ERRCODE = '22004';
    END IF;
    IF NOT (name ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$'
            OR name ~ '^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$') THEN
        RAISE EXCEPTION 'invalid event type name "%"', name
            USING ERRCODE = '22023',
                  DETAIL = 'A type name is lower-case words separated by dots (post.created) or upper snake case (USER_JOIN).';
    END IF;
    IF length(name) > 128 THEN
        RAISE EXCEPTION 'event type name "%" is too long', name
            USING ERRCODE = '22023', DETAIL = 'Type names are at most 128 characters.';
    END IF;
    IF universal_type IS NOT NULL AND universal_type !~ '^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$' THEN
        RAISE EXCEPTION 'invalid universal type "%"', universal_type
            USING ERRCODE = '22023',
                  DETAIL = 'A universal type is upper snake case, such as USER_JOIN.';
    END IF;
    IF recipient IS NULL OR recipient NOT IN ('required', 'forbidden', 'optional') THEN
        RAISE EXCEPTION 'invalid recipient rule "%"', coalesce(recipient, 'NULL')
            USING ERRCODE = '22023',
                  DETAIL = 'The recipient rule is one of required, forbidden or optional.';
    END IF;
    IF platforms IS NOT NULL AND (cardinality(platforms) = 0 OR array_position(platforms, NULL) IS NOT NULL
                                  OR array_position(platforms, '') IS NOT NULL) THEN
        RAISE EXCEPTION 'invalid platforms %', platforms
            USING ERRCODE = '22023',
                  DETAIL = 'platforms is NULL (any platform) or a non-empty list of non-empty names.';
    END IF;
    IF actor_types IS NULL OR cardinality(actor_types) = 0
       OR NOT actor_types <@ '{user,agent,system}'::text[] THEN
        RAISE EXCEPTION 'invalid actor types %', coalesce(actor_types::text, 'NULL')
            USING ERRCODE = '22023',
                  DETAIL = 'actor_types is a non-empty list drawn from user, agent and system.';
    END IF;

    INSERT INTO activity.event_types AS t
        (name, description, universal_type, recipient, platforms, actor_types)
    VALUES (register_type.name, register_type.description, register_type.universal_type,
            register_type.recipient,
            (SELECT array_agg(DISTINCT p ORDER BY p) FROM unnest(register_type.platforms) p),
            (SELECT array_agg(DISTINCT a ORDER BY a) FROM unnest(register_type.actor_types) a))
    ON CONFLICT ON CONSTRAINT event_types_pkey DO UPDATE
        SET description = excluded.description,
            universal_type = excluded.universal_type,
            recipient = excluded.recipient,
            platforms = excluded.platforms,
            actor_types = excluded.actor_types,
            updated_at = now()
        WHERE (t.description, t.universal_type, t.recipient, t.platforms, t.actor_types)
              IS DISTINCT FROM
              (excluded.description, excluded.universal_type, excluded.recipient,
               excluded.platforms, excluded.actor_types)
    RETURNING * INTO result;

    IF result IS NULL THEN
        -- registered before with exactly these attributes: nothing changed
        SELECT * INTO result FROM activity.event_types t WHERE t.name = register_type.name;
    END IF;
    RETURN result;
END;
$$;
COMMENT ON FUNCTION activity.register_type(text, text, text, text, text[], text[]) IS
    'Registers an event type, or updates the attributes of a registered one; returns its registry row';

--------------------------------------------------------------------------------
-- Ingestion
--------------------------------------------------------------------------------
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
    caused_by uuid DEFAULT NULL)
RETURNS uuid
AS 'MODULE_PATHNAME', 'activity_record'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION activity.record(text, text, text, jsonb, text, text, int, timestamptz, text, text, text, uuid) IS
    'Records one activity and returns its id; occurred_at defaults to now(), version to the type''s latest';

--------------------------------------------------------------------------------
-- Paging
--------------------------------------------------------------------------------
CREATE FUNCTION activity.page(
    workspace_id text,
    after activity.cursor DEFAULT NULL,
    "limit" int DEFAULT 50)
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
COMMENT ON FUNCTION activity.page(text, activity.cursor, int) IS
    'One page of a workspace''s feed, newest first; pass the last row''s cursor as "after" to get the next page';

--------------------------------------------------------------------------------
-- Partition maintenance
--------------------------------------------------------------------------------
CREATE FUNCTION activity.partition_start(ts timestamptz)
RETURNS timestamptz
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
        WHEN s.partition_interval = '1 day' THEN
            date_trunc('day', ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
        WHEN s.partition_interval = '7 days' THEN
            date_trunc('week', ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
        ELSE
            (date_trunc('year', ts AT TIME ZONE 'UTC')
             + make_interval(months => ((extract(month FROM ts AT TIME ZONE 'UTC')::int - 1)
                                        / (extract(year FROM s.partition_interval)::int * 12
                                           + extract(month FROM s.partition_interval)::int))
                                       * (extract(year FROM s.partition_interval)::int * 12
                                          + extract(month FROM s.partition_interval)::int)))
            AT TIME ZONE 'UTC'
        END
    FROM activity._settings() s
$$;
COMMENT ON FUNCTION activity.partition_start(timestamptz) IS
    'Start (UTC-aligned) of the partition interval that contains ts under the current settings';

CREATE FUNCTION activity.partitions()
RETURNS TABLE (partition regclass, lower timestamptz, upper timestamptz, is_default boolean)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
SET datestyle = 'ISO, YMD'
SET timezone = 'UTC'
AS $$
    SELECT c.oid::regclass,
           CASE WHEN b.bound ~ 'FROM \(MINVALUE\)' THEN NULL
                ELSE substring(b.bound FROM 'FROM \(''([^'']*)''\)')::timestamptz END,
           CASE WHEN b.bound ~ 'TO \(MAXVALUE\)' THEN NULL
                ELSE substring(b.bound FROM 'TO \(''([^'']*)''\)')::timestamptz END,
           b.bound = 'DEFAULT'
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    CROSS JOIN LATERAL (SELECT pg_get_expr(c.relpartbound, c.oid) AS bound) b
    WHERE i.inhparent = 'activity.activities'::regclass
    ORDER BY b.bound = 'DEFAULT',
             substring(b.bound FROM 'FROM \(''([^'']*)''\)')::timestamptz NULLS FIRST
$$;
COMMENT ON FUNCTION activity.partitions() IS
    'The partitions of activity.activities with their [lower, upper) bounds, oldest first, the default partition last';

-- Create the partition [lower, upper), moving into it any rows of the default
-- partition that belong to it. Caller holds the maintenance lock.
CREATE FUNCTION activity._create_partition(lower timestamptz, upper timestamptz)
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
        EXECUTE format('INSERT INTO activity_partitions.%I SELECT * FROM activity_partitions.activities_default'
                       ' WHERE occurred_at >= $1 AND occurred_at < $2', part_name)
            USING lower, upper;
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
COMMENT ON FUNCTION activity._create_partition(timestamptz, timestamptz) IS
    'Internal: creates one range partition and moves into it the rows of the default partition it covers';

CREATE FUNCTION activity.create_partitions(since timestamptz, until timestamptz)
RETURNS TABLE (partition regclass, lower timestamptz, upper timestamptz)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET datestyle = 'ISO, YMD'
SET timezone = 'UTC'
AS $$
DECLARE
    step interval := (activity._settings()).partition_interval;
    c timestamptz;
    hi timestamptz;
    covering timestamptz;
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
    PERFORM pg_advisory_xact_lock('activity.activities'::regclass::oid::bigint);

    c := activity.partition_start(since);
    WHILE c < until LOOP
        -- already covered: skip to the end of the partition holding c
        SELECT p.upper INTO covering FROM activity.partitions() p
         WHERE NOT p.is_default AND coalesce(p.lower, '-infinity') <= c
           AND coalesce(p.upper, 'infinity') > c;
        IF FOUND THEN
            c := coalesce(covering, 'infinity');
            CONTINUE;
        END IF;
        -- the next aligned boundary, or the next existing partition if sooner
        hi := (activity.partition_start(c) AT TIME ZONE 'UTC' + step) AT TIME ZONE 'UTC';
        hi := least(hi, (SELECT min(p.lower) FROM activity.partitions() p
                         WHERE NOT p.is_default AND p.lower > c));
        partition := activity._create_partition(c, hi);
        lower := c;
        upper := hi;
        RETURN NEXT;
        c := hi;
    END LOOP;
END;
$$;
COMMENT ON FUNCTION activity.create_partitions(timestamptz, timestamptz) IS
    'Creates the missing partitions covering [since, until), e.g. before a backfill, moving in rows waiting in the default partition';

CREATE FUNCTION activity.maintain()
RETURNS TABLE (action text, partition regclass, lower timestamptz, upper timestamptz)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET datestyle = 'ISO, YMD'
SET timezone = 'UTC'
AS $$
DECLARE
    cfg activity.settings;
    current_start timestamptz;
    horizon timestamptz;
    recent timestamptz;
    oldest timestamptz;
    expired_before timestamptz;
    p record;
    n bigint;
BEGIN
    PERFORM pg_advisory_xact_lock('activity.activities'::regclass::oid::bigint);
    cfg := activity._settings();

    current_start := activity.partition_start(now());
    horizon := current_start;
    recent := current_start;
    FOR i IN 1 .. cfg.premake + 1 LOOP
        horizon := (horizon AT TIME ZONE 'UTC' + cfg.partition_interval) AT TIME ZONE 'UTC';
    END LOOP;
    FOR i IN 1 .. cfg.premake LOOP
        recent := (recent AT TIME ZONE 'UTC' - cfg.partition_interval) AT TIME ZONE 'UTC';
    END LOOP;
    IF cfg.retention IS NOT NULL THEN
        expired_before := now() - cfg.retention;
    END IF;

    -- Partitions run contiguously from the oldest existing one (or the current
    -- interval) to "premake" intervals ahead. Rows that wait in the default
    -- partition get theirs only when they are at most "premake" intervals old:
    -- older or later outliers stay in the default partition, so a stray date
    -- never creates decades of partitions.
    SELECT min(pp.lower) INTO oldest FROM activity.partitions() pp WHERE NOT pp.is_default;
    oldest := least(coalesce(oldest, current_start), current_start,
                    (SELECT activity.partition_start(min(d.occurred_at))
                       FROM activity_partitions.activities_default d
                      WHERE d.occurred_at >= recent AND d.occurred_at < horizon));
    IF expired_before IS NOT NULL THEN
        oldest := greatest(oldest, activity.partition_start(expired_before));
    END IF;

    FOR p IN SELECT * FROM activity.create_partitions(oldest, horizon) LOOP
        action := 'created'; partition := p.partition; lower := p.lower; upper := p.upper;
        RETURN NEXT;
    END LOOP;

    IF expired_before IS NULL THEN
        RETURN;
    END IF;

    -- Retention: whole partitions leave, and so do outliers of the default
    -- partition older than the retention period.
    FOR p IN SELECT * FROM activity.partitions() pp
              WHERE NOT pp.is_default AND pp.upper <= expired_before
    LOOP
        EXECUTE format('DROP TABLE %s', p.partition);
        action := 'dropped'; partition := p.partition; lower := p.lower; upper := p.upper;
        RETURN NEXT;
    END LOOP;
    PERFORM 1 FROM activity_partitions.activities_default d WHERE d.occurred_at < expired_before LIMIT 1;
    IF FOUND THEN
        LOCK TABLE activity.activities IN ACCESS EXCLUSIVE MODE;
        ALTER TABLE activity.activities DETACH PARTITION activity_partitions.activities_default;
        DELETE FROM activity_partitions.activities_default d WHERE d.occurred_at < expired_before;
        GET DIAGNOSTICS n = ROW_COUNT;
        ALTER TABLE activity.activities ATTACH PARTITION activity_partitions.activities_default DEFAULT;
        action := 'expired ' || n || ' rows';
        partition := 'activity_partitions.activities_default'::regclass;
        lower := NULL; upper := expired_before;
        RETURN NEXT;
    END IF;
END;
$$;
COMMENT ON FUNCTION activity.maintain() IS
    'Creates partitions ahead of time and for recent rows waiting in the default partition, and applies retention; safe to run from cron while events arrive';

CREATE FUNCTION activity.configure(
    partition_interval interval DEFAULT NULL,
    premake int DEFAULT NULL,
    retention interval DEFAULT NULL,
    keep_forever boolean DEFAULT false)
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
    INSERT INTO activity.settings AS s VALUES (result.*)
    ON CONFLICT (singleton) DO UPDATE
        SET partition_interval = excluded.partition_interval,
            premake = excluded.premake,
            retention = excluded.retention;
    RETURN result;
END;
$$;
COMMENT ON FUNCTION activity.configure(interval, int, interval, boolean) IS
    'Changes partitioning and retention settings; arguments left NULL keep their value';
