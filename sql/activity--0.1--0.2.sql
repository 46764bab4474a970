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
