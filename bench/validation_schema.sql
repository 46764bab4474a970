-- Schema of bench/validation.sh: the extension with monthly partitions and 10
-- event types (no JSON Schema yet: validation_schemas.sql registers them),
-- and two equivalent tables with the same columns, partitions and indexes:
--   bench.plain_activities    no trigger at all (the "no validation" baseline)
--   bench.plpgsql_activities  a hand-written PL/pgSQL BEFORE INSERT trigger
--                             (validation_plpgsql.sql) checking the same rules
-- psql variables: hist_start, until (timestamptz literals)
\ir validation_types.sql

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
