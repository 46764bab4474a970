-- Schema of bench/validation.sh: the extension with monthly partitions and 10
-- event types (no JSON Schema yet: validation_schemas.sql registers them),
-- and two equivalent tables with the same columns, partitions and indexes:
--   bench.plain_activities    no trigger at all (the "no validation" baseline)
--   bench.plpgsql_activities  a hand-written PL/pgSQL BEFORE INSERT trigger
--                             (validation_plpgsql.sql) checking the same rules
-- psql variables: hist_start, until (timestamptz literals)
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

CREATE EXTENSION activity;
SELECT activity.configure(partition_interval => '1 month') \g /dev/null
SET activity.max_lock_hold = '10min';   -- every partition in one call: nobody writes yet
SELECT count(*) AS partitions_created
FROM activity.create_partitions(:'hist_start'::timestamptz, :'until'::timestamptz) \g /dev/null

-- 10 event types of the three seed systems (forum, community chat, issue tracker)
SELECT count(*) AS types_registered FROM (
    SELECT activity.register_type('post.created', 'A post was published')
    UNION ALL SELECT activity.register_type('comment.created', 'A comment was written')
    UNION ALL SELECT activity.register_type('reaction.added', 'Someone reacted to a post')
    UNION ALL SELECT activity.register_type('topic.created', 'A topic was opened')
    UNION ALL SELECT activity.register_type('award.given', 'An award was given to a member', recipient => 'required')
    UNION ALL SELECT activity.register_type('user.followed', 'A member followed another', recipient => 'required')
    UNION ALL SELECT activity.register_type('member.joined', 'A member joined', universal_type => 'USER_JOIN',
                                            recipient => 'forbidden')
    UNION ALL SELECT activity.register_type('site.auth.login_failure', 'A sign-in failed', recipient => 'forbidden',
                                            actor_types => '{user,system}')
    UNION ALL SELECT activity.register_type('issue.updated', 'An issue was changed', actor_types => '{user,agent}')
    UNION ALL SELECT activity.register_type('CHAT_MESSAGE_DELETE', 'A chat message was deleted',
                                            universal_type => 'CHAT_MESSAGE_DELETE',
                                            platforms => '{discord,telegram,slack}')
) t \g /dev/null

CREATE SCHEMA bench;

-- Variant (d) of validation.sh loads the same events as types that have no
-- JSON Schema: a twin of each type, with the same rules, named ns.<type>
-- (NS_<TYPE> for upper snake case names); the second COPY file carries them.
CREATE FUNCTION bench.noschema_name(name text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT
AS $$ SELECT CASE WHEN name ~ '^[A-Z]' THEN 'NS_' || name ELSE 'ns.' || name END $$;

SELECT count(*) AS twins_registered
FROM activity.event_types t,
     LATERAL activity.register_type(bench.noschema_name(t.name), t.description, t.universal_type,
                                    t.recipient, t.platforms, t.actor_types) \g /dev/null

-- The equivalent tables: the columns and defaults of activity.activities
-- (version also gets the default 1, which the C trigger would give it: the
-- COPY does not carry it), the same partition bounds plus a DEFAULT partition with the
-- same extra occurred_at index, and on every partition the same two indexes,
-- PK (id, occurred_at) and (workspace_id, occurred_at DESC, id DESC).
CREATE FUNCTION bench.create_equivalent(name text)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    p record;
BEGIN
    EXECUTE format($f$
        CREATE TABLE bench.%1$I (
            id uuid NOT NULL DEFAULT activity.uuidv7(),
            workspace_id text NOT NULL,
            platform text,
            type text NOT NULL,
            version int2 NOT NULL DEFAULT 1,
            actor_type text NOT NULL DEFAULT 'user',
            initiator_id text,
            recipient_id text,
            subject_type text,
            subject_id text,
            caused_by uuid,
            metadata jsonb NOT NULL DEFAULT '{}',
            occurred_at timestamptz NOT NULL DEFAULT now(),
            recorded_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (id, occurred_at)
        ) PARTITION BY RANGE (occurred_at)$f$, name);
    EXECUTE format('CREATE INDEX %I ON bench.%I (workspace_id, occurred_at DESC, id DESC) INCLUDE (type)', name || '_feed_idx', name);
    EXECUTE format('CREATE INDEX ON bench.%I (workspace_id, subject_type, subject_id, occurred_at DESC, id DESC) WHERE subject_id IS NOT NULL', name);
    EXECUTE format('CREATE INDEX ON bench.%I (workspace_id, initiator_id, occurred_at DESC, id DESC) WHERE initiator_id IS NOT NULL', name);
    EXECUTE format('CREATE INDEX ON bench.%I (workspace_id, recipient_id, occurred_at DESC, id DESC) WHERE recipient_id IS NOT NULL', name);
    EXECUTE format('CREATE INDEX ON bench.%I (occurred_at DESC, id DESC) WHERE occurred_at > ''-infinity''::timestamptz', name);
    EXECUTE format('CREATE TABLE bench.%I PARTITION OF bench.%I DEFAULT', name || '_default', name);
    FOR p IN SELECT * FROM activity.partitions() WHERE NOT is_default LOOP
        EXECUTE format('CREATE TABLE bench.%I PARTITION OF bench.%I FOR VALUES FROM (%L) TO (%L)',
                       name || '_p' || to_char(p.lower AT TIME ZONE 'UTC', 'YYYYMMDD'), name, p.lower, p.upper);
    END LOOP;
    -- Sanity: the same partition bounds as activity.activities, and the same
    -- number of indexes but the primary key, which activity.activities'
    -- partitions do not have (activity.event_ids keeps ids unique), and the
    -- change feed's (xact_id, id) index, which a plain table has no use for.
    IF (SELECT array_agg(pg_get_expr(c.relpartbound, c.oid) ORDER BY 1)
          FROM pg_partition_tree('activity.activities') t JOIN pg_class c ON c.oid = t.relid WHERE t.isleaf)
       IS DISTINCT FROM
       (SELECT array_agg(pg_get_expr(c.relpartbound, c.oid) ORDER BY 1)
          FROM pg_partition_tree(format('bench.%I', name)::regclass) t JOIN pg_class c ON c.oid = t.relid WHERE t.isleaf)
       OR (SELECT count(*) FROM pg_partition_tree('activity.activities') t JOIN pg_index i ON i.indrelid = t.relid
           WHERE t.isleaf AND pg_get_indexdef(i.indexrelid) !~ 'USING btree \(xact_id, id\)$')
          + (SELECT count(*) FROM pg_partition_tree('activity.activities') t WHERE t.isleaf)
          IS DISTINCT FROM
          (SELECT count(*) FROM pg_partition_tree(format('bench.%I', name)::regclass) t JOIN pg_index i ON i.indrelid = t.relid WHERE t.isleaf)
    THEN
        RAISE EXCEPTION 'bench.% differs from activity.activities (partitions or indexes)', name;
    END IF;
END;
$$;

SELECT bench.create_equivalent('plain_activities');
SELECT bench.create_equivalent('plpgsql_activities');
-- like activity.activities, version has no default: the trigger fills it
ALTER TABLE bench.plpgsql_activities ALTER version DROP DEFAULT;
