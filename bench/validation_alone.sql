-- The validation work alone: the metadata of the events of validation.sh's
-- COPY file validated in SELECTs, without COPY, heap or index work, by
--   (0) nobody: the same scan and join, no validation (the baseline),
--   (1) activity.is_valid(metadata, the type's compiled schema), in C,
--   (2) bench.metadata_ok_plpgsql(type, metadata): the hand-written PL/pgSQL
--       rules of validation_plpgsql.sql (the trigger's schema rules),
--   (3) bench.jsonschema_is_valid_plpgsql(schema, metadata): the generic
--       PL/pgSQL interpreter of validation_generic_plpgsql.sql,
-- over the same rows, and prints a markdown table: seconds, µs per document
-- above (0), and the ratio of each PL/pgSQL validator's time above (0) to
-- C's, against the target of 20.
--
-- Runs against the database validation.sh builds: the schemas registered
-- (validation_schemas.sql), validation_plpgsql.sql and
-- validation_generic_plpgsql.sql loaded, and the COPY file there.
--
-- psql variables:
--   file   (required) the COPY file of validation_generate.sql, as the server
--          sees it (COPY ... FROM file: superuser or pg_read_server_files)
--   cols   the file's columns, in order, comma-separated (validation.sh's
--          COLS; default: id, workspace_id, platform, type, version,
--          actor_type, initiator_id, recipient_id, subject_type, subject_id,
--          metadata, occurred_at, recorded_at); only type and metadata are
--          kept
--   runs   (default 3) runs of each variant; the best one is reported
--   rows   (optional) the number of events the file must hold
--   sample (default 10) documents of each type that the agreement check
--          mutates
-- e.g. (-q: no command tags in the output)
--   psql -X -q -v ON_ERROR_STOP=1 -v file=/tmp/.../events.copy -v cols="$COLS" \
--        -v rows=1000000 -v runs=3 -f bench/validation_alone.sql
-- The table goes to standard output, a line per run to standard error.
--
-- Method. The events' (type, metadata) are loaded into an unlogged staging
-- table (frozen, analyzed), the types' latest schemas into a small table, as
-- jsonb and as activity.jsonschema (stored plain: no per-row decompression).
-- Every variant is one
--   SELECT count(*) FILTER (WHERE <validator>) FROM docs JOIN schemas USING (type)
-- (the same plan: a hash join, the 10 schemas inside); parallel query and JIT
-- are off, so that every variant runs the same way in one backend. Each
-- round runs every variant once, each round starting one further down the
-- list; the time of a run is clock_timestamp() around its EXECUTE, and the
-- best run of each variant is reported (interference only slows a run down),
-- with the backend's minor page faults during that run (/proc/self/stat; "?"
-- unless the role may read server files): PostgreSQL 15's regular
-- expression engine mallocs and frees its work space at every match, and
-- in some states of the backend's heap glibc gives it back to the kernel
-- every time, which costs the PL/pgSQL validators up to 40% more (seen at
-- top level in a fresh session: 70,000 faults per 100,000 documents for (3),
-- none in this script's session). Every run must find every document valid,
-- or the script stops: a broken validator cannot look fast. Before the
-- timing, the agreement check: the first :sample documents of each type, and
-- every mutation of them (each value replaced by each of a list of others,
-- removed; a member or an item added), validated by the three validators; the
-- script stops if the generic validator and C disagree on any, and reports
-- where the hand-written rules disagree with C (they check date-time by
-- regular expression only, and their jsonpath for tags, in lax mode, unwraps
-- an array item: ["a", ["b"]] passes).
\set ON_ERROR_STOP 1
\if :{?file}
\else
    \warn 'validation_alone.sql: set the psql variable file (the COPY file of validation_generate.sql)'
    DO $$ BEGIN RAISE EXCEPTION 'validation_alone.sql: stopped, no file'; END $$;
\endif
\if :{?cols}
\else
    \set cols 'id, workspace_id, platform, type, version, actor_type, initiator_id, recipient_id, subject_type, subject_id, metadata, occurred_at, recorded_at'
\endif
\if :{?runs}
\else
    \set runs 3
\endif
\if :{?rows}
\else
    \set rows -1
\endif
\if :{?sample}
\else
    \set sample 10
\endif
\pset format unaligned
\pset tuples_only on
\pset footer off
SET client_min_messages = warning;
SET max_parallel_workers_per_gather = 0;
SET jit = off;

-- --- the documents and the schemas ---------------------------------------------
DROP TABLE IF EXISTS bench.alone_copy, bench.alone_docs, bench.alone_schemas;
-- the columns of the COPY file (:cols), as text but metadata; only type and
-- metadata are kept
SELECT 'type' = ANY (c) AND 'metadata' = ANY (c) AS cols_ok,
       format('CREATE UNLOGGED TABLE bench.alone_copy (%s)',
              (SELECT string_agg(format('%I %s', x, CASE x WHEN 'metadata' THEN 'jsonb' ELSE 'text' END), ', ' ORDER BY n)
               FROM unnest(c) WITH ORDINALITY AS u(x, n))) AS create_copy
FROM (SELECT string_to_array(regexp_replace(:'cols', '\s', '', 'g'), ',') AS c) x \gset
\if :cols_ok
\else
    \warn 'validation_alone.sql: cols (':cols') must name type and metadata'
    DO $$ BEGIN RAISE EXCEPTION 'validation_alone.sql: stopped, no type or metadata in cols'; END $$;
\endif
:create_copy;
COPY bench.alone_copy FROM :'file';
CREATE UNLOGGED TABLE bench.alone_docs AS SELECT type, metadata FROM bench.alone_copy;
DROP TABLE bench.alone_copy;
VACUUM (FREEZE, ANALYZE) bench.alone_docs;

-- each type's latest schema, as jsonb (for the generic validator) and
-- compiled (for C); plain storage, and the compiled schema compiled again
-- from its text (activity.schemas keeps some of them compressed, and
-- INSERT ... SELECT would copy them compressed): no run decompresses a schema
-- per row
CREATE UNLOGGED TABLE bench.alone_schemas (
    type text PRIMARY KEY,
    schema jsonb NOT NULL,
    compiled activity.jsonschema NOT NULL);
ALTER TABLE bench.alone_schemas ALTER schema SET STORAGE PLAIN, ALTER compiled SET STORAGE PLAIN;
INSERT INTO bench.alone_schemas
SELECT DISTINCT ON (type) type, schema::jsonb, schema::text::activity.jsonschema
FROM activity.schemas
ORDER BY type, version DESC;
ANALYZE bench.alone_schemas;

SELECT count(*) AS n_docs,
       count(*) FILTER (WHERE s.type IS NULL) AS without_schema,
       (SELECT count(*) FILTER (WHERE pg_column_compression(schema) IS NOT NULL
                                   OR pg_column_compression(compiled) IS NOT NULL)
        FROM bench.alone_schemas) AS compressed_schemas
FROM bench.alone_docs d LEFT JOIN bench.alone_schemas s USING (type) \gset
SELECT :n_docs > 0 AND (:rows < 0 OR :n_docs = :rows) AND :without_schema = 0 AND :compressed_schemas = 0 AS staging_ok \gset
\if :staging_ok
\else
    \warn 'validation_alone.sql: ':n_docs' documents loaded (expected ':rows'), ':without_schema' of a type without schema, ':compressed_schemas' compressed schemas'
    DO $$ BEGIN RAISE EXCEPTION 'validation_alone.sql: stopped, the staging tables are not as expected'; END $$;
\endif

-- --- agreement ------------------------------------------------------------------
-- the values that replace each value of the sample documents in turn
CREATE TEMP TABLE alone_replacements (value) AS
VALUES ('42'::jsonb), ('1.5'), ('-1'), ('0'), ('1'), ('7.0'), ('100'), ('1000'), ('1001'),
       ('""'), ('"x"'), ('"X-1"'), ('"p-1"'), ('"open"'), ('"p1"'), ('null'), ('true'), ('[]'), ('{}'),
       ('["postgres"]'), ('[1]'), ('{"from": "open", "to": "done"}'), ('{"os": "linux", "arch": "x64"}'),
       ('"2026-12-01T10:00:00Z"'), ('"2026-02-30T10:00:00Z"'), ('"10.0.0.1"'), ('"10.0.0.01"'), ('"1.2.3"'),
       (to_jsonb(repeat('é', 200))), (to_jsonb(repeat('é', 201))), (to_jsonb(repeat('a', 31))),
       (to_jsonb(repeat('x', 600)));
CREATE TEMP TABLE alone_agreement AS
WITH RECURSIVE sample AS (
    SELECT type, metadata
    FROM (SELECT type, metadata, row_number() OVER (PARTITION BY type) AS rn FROM bench.alone_docs) x
    WHERE rn <= :sample
), paths (type, metadata, path, value) AS (
    SELECT type, metadata, '{}'::text[], metadata FROM sample
    UNION ALL
    SELECT p.type, p.metadata, p.path || e.k, e.v
    FROM paths p,
         LATERAL (SELECT o.key, o.value FROM jsonb_each(CASE WHEN jsonb_typeof(p.value) = 'object' THEN p.value END) o
                  UNION ALL
                  SELECT (a.n - 1)::text, a.value
                  FROM jsonb_array_elements(CASE WHEN jsonb_typeof(p.value) = 'array' THEN p.value END)
                       WITH ORDINALITY AS a(value, n)) AS e(k, v)
), docs (type, metadata) AS (
    SELECT type, metadata FROM sample
    UNION
    SELECT p.type, jsonb_set(p.metadata, p.path, r.value)              -- a value replaced
    FROM paths p CROSS JOIN alone_replacements r WHERE p.path <> '{}'
    UNION
    SELECT type, metadata #- path FROM paths WHERE path <> '{}'        -- a value removed
    UNION
    SELECT type, jsonb_set(metadata, path || '{zz_extra}'::text[], '"x"') -- a member added
    FROM paths WHERE jsonb_typeof(value) = 'object'
    UNION
    SELECT type, jsonb_set(metadata, path || '{99}'::text[], '"x"')       -- an item added
    FROM paths WHERE jsonb_typeof(value) = 'array'
)
SELECT d.type, d.metadata,
       activity.is_valid(d.metadata, s.compiled) AS c,
       coalesce(bench.metadata_ok_plpgsql(d.type, d.metadata), false) AS hand,
       bench.jsonschema_is_valid_plpgsql(s.schema, d.metadata) AS generic
FROM docs d JOIN bench.alone_schemas s USING (type);

SELECT count(*) AS agree_n,
       count(*) FILTER (WHERE c) AS agree_valid,
       count(*) FILTER (WHERE generic IS DISTINCT FROM c) AS generic_disagree,
       count(*) FILTER (WHERE hand IS DISTINCT FROM c) AS hand_disagree,
       count(*) FILTER (WHERE generic IS DISTINCT FROM c) > 0 AS generic_disagrees,
       (SELECT count(*) FROM alone_replacements) AS n_replacements
FROM alone_agreement \gset
\if :generic_disagrees
    \warn 'validation_alone.sql: the generic PL/pgSQL validator and C disagree on ':generic_disagree' documents:'
    \pset tuples_only off
    SELECT type, metadata, c, generic FROM alone_agreement WHERE generic IS DISTINCT FROM c LIMIT 20 \g /dev/stderr
    DO $$ BEGIN RAISE EXCEPTION 'validation_alone.sql: stopped, the generic validator disagrees with C'; END $$;
\endif
-- where the hand-written rules and C disagree: one example per type (the
-- whole document, shortened)
SELECT coalesce(string_agg(format('`%s` %s (C: %s, hand-written: %s)', type, left(metadata::text, 150),
                                  CASE WHEN c THEN 'valid' ELSE 'invalid' END,
                                  CASE WHEN hand THEN 'valid' ELSE 'invalid' END), '; ' ORDER BY type), 'none') AS hand_examples
FROM (SELECT DISTINCT ON (type) * FROM alone_agreement WHERE hand IS DISTINCT FROM c
      ORDER BY type, length(metadata::text), metadata::text) x \gset

-- --- timing ---------------------------------------------------------------------
CREATE TEMP TABLE alone_variants (variant int PRIMARY KEY, label text, validator text);
INSERT INTO alone_variants VALUES
(0, '(0) baseline: the same scan and join, no validation (`metadata IS NOT NULL`)', 'd.metadata IS NOT NULL'),
(1, '(1) C: `activity.is_valid(metadata, compiled schema)`', 'activity.is_valid(d.metadata, s.compiled)'),
(2, '(2) hand-written PL/pgSQL rules: `bench.metadata_ok_plpgsql(type, metadata)`', 'bench.metadata_ok_plpgsql(d.type, d.metadata)'),
(3, '(3) generic PL/pgSQL validator: `bench.jsonschema_is_valid_plpgsql(schema, metadata)`', 'bench.jsonschema_is_valid_plpgsql(s.schema, d.metadata)');
CREATE TEMP TABLE alone_runs (variant int, round int, secs float8, faults bigint);

-- the minor page faults of this backend so far (/proc/self/stat, field 10),
-- NULL if it may not read server files
CREATE FUNCTION pg_temp.alone_faults()
RETURNS bigint
LANGUAGE sql AS $$
    SELECT CASE WHEN (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
                     OR pg_has_role(current_user, 'pg_read_server_files', 'MEMBER')
                THEN split_part(pg_read_file('/proc/self/stat'), ' ', 10)::bigint END
$$;

-- runs rounds of every variant (each round starting one further down the
-- list); stops unless every run counts expected valid documents
CREATE FUNCTION pg_temp.alone_measure(runs int, expected bigint)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    nv int := (SELECT count(*) FROM alone_variants);
    r int;
    i int;
    v alone_variants;
    f0 bigint;
    f1 bigint;
    t0 timestamptz;
    t1 timestamptz;
    valid bigint;
BEGIN
    PERFORM set_config('client_min_messages', 'notice', true);
    FOR r IN 1 .. runs LOOP
        FOR i IN 0 .. nv - 1 LOOP
            SELECT * INTO v FROM alone_variants WHERE variant = (i + r - 1) % nv;
            f0 := pg_temp.alone_faults();
            t0 := clock_timestamp();
            EXECUTE format('SELECT count(*) FILTER (WHERE %s) FROM bench.alone_docs d JOIN bench.alone_schemas s USING (type)',
                           v.validator)
               INTO valid;
            t1 := clock_timestamp();
            f1 := pg_temp.alone_faults();
            IF valid <> expected THEN
                RAISE EXCEPTION 'validation_alone.sql: variant (%) found % valid documents of %', v.variant, valid, expected;
            END IF;
            INSERT INTO alone_runs VALUES (v.variant, r, extract(epoch FROM t1 - t0), f1 - f0);
            RAISE NOTICE 'validation alone: round %/%, variant (%): % s, % page faults', r, runs, v.variant,
                round(extract(epoch FROM t1 - t0)::numeric, 3), coalesce((f1 - f0)::text, '?');
        END LOOP;
    END LOOP;
END;
$$;
SELECT pg_temp.alone_measure(:runs, :n_docs) \g /dev/null

-- --- results --------------------------------------------------------------------
CREATE TEMP TABLE alone_results AS
SELECT v.variant, v.label,
       min(r.secs) AS best,
       (array_agg(r.faults ORDER BY r.secs))[1] AS best_faults,
       string_agg(to_char(r.secs, 'FM9999990.000'), ', ' ORDER BY r.round) AS all_runs
FROM alone_variants v JOIN alone_runs r USING (variant)
GROUP BY v.variant, v.label;

\echo '### Validation alone: ':n_docs' documents'
\echo
SELECT format('The (type, metadata) of the %s events of the COPY file, in an unlogged table; each variant is `SELECT count(*) FILTER (WHERE <validator>) FROM docs JOIN schemas USING (type)` (a hash join with the table of the types'' schemas); runs of each: %s, in rotating order, the best reported; one backend, max_parallel_workers_per_gather = 0, jit = off; every run found all %s documents valid.',
              :n_docs, :runs, :n_docs);
\echo
\echo '| variant | seconds (best) | seconds per run | µs per document above (0) | ratio to C: time above (0), / (1) | page faults, best run |'
\echo '|---|---:|---|---:|---:|---:|'
SELECT format('| %s | %s | %s | %s | %s | %s |', r.label, to_char(r.best, 'FM9999990.000'), r.all_runs,
              CASE WHEN r.variant = 0 THEN '—' ELSE to_char((r.best - b.best) * 1e6 / :n_docs, 'FM9999990.00') END,
              CASE WHEN r.variant = 0 THEN '—' ELSE to_char((r.best - b.best) / nullif(c.best - b.best, 0), 'FM9999990.0') END,
              coalesce(r.best_faults::text, '?'))
FROM alone_results r, alone_results b, alone_results c
WHERE b.variant = 0 AND c.variant = 1
ORDER BY r.variant;
\echo
\echo '| ratio | value | target | met |'
\echo '|---|---:|---:|---|'
SELECT format('| %s / C (1), validation time above the baseline (0) | %s | >= 20 | %s |',
              CASE r.variant WHEN 3 THEN 'generic PL/pgSQL validator (3)' ELSE 'hand-written PL/pgSQL rules (2)' END,
              to_char(ratio, 'FM9999990.0'), CASE WHEN ratio >= 20 THEN 'yes' ELSE '**no**' END)
FROM (SELECT r.variant, (r.best - b.best) / nullif(c.best - b.best, 0) AS ratio
      FROM alone_results r, alone_results b, alone_results c
      WHERE b.variant = 0 AND c.variant = 1 AND r.variant IN (2, 3)) r
ORDER BY r.variant DESC;
\echo
SELECT format('Agreement, before the timing: %s documents (the first %s of each type, and every mutation of them: each value replaced by each of %s others, or removed; a member or an item added), %s valid for C; the generic validator agrees with C on all of them; the hand-written rules disagree with C on %s%s.',
              :agree_n, :sample, :n_replacements, :agree_valid, :hand_disagree,
              CASE WHEN :hand_disagree > 0 THEN ', e.g. ' || :'hand_examples' ELSE '' END);

DROP TABLE bench.alone_docs, bench.alone_schemas;
