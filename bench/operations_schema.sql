-- Schema of bench/operations.sh: the extension with monthly partitions, the
-- 10 event types of bench/validation_schema.sql and their twins without JSON
-- Schema (ns.<type>, bench.noschema_name()), as feed.sh has them (no
-- equivalent tables: operations.sh compares the log with itself, the hash
-- chain off and on). validation_schemas.sql then registers the JSON Schemas,
-- validation_generate.sql writes the COPY files, operations_source.sql reads
-- one back as the source of the generated events.
-- psql variables: hist_start, until (timestamptz literals)
\ir validation_types.sql
