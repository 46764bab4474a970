-- Schema of bench/feed.sh: the extension with monthly partitions, the 10
-- event types of bench/validation_schema.sql and their twins without JSON
-- Schema (ns.<type>, bench.noschema_name()), as validation.sh has them, but
-- without its equivalent tables (feed.sh compares activity.activities with
-- itself, with and without the change feed's index). validation_schemas.sql
-- then registers the JSON Schemas, validation_generate.sql writes the COPY
-- files.
-- psql variables: hist_start, until (timestamptz literals)
\ir validation_types.sql
