-- Versioned schemas of event types: register_schema() with compatibility
-- modes, ingestion against (type, version) on every path, retirement, and
-- immutability of registered versions.
SET TIME ZONE 'UTC';
CREATE FUNCTION pg_temp.expect_error(sql text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    st text; msg text; det text;
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
    RETURN st || ': ' || msg || coalesce(E'\nDETAIL: ' || nullif(det, ''), '');
END;
$$;

SELECT name FROM activity.register_type('sch.post');
SELECT name FROM activity.register_type('sch.free');

-- a type without schema takes any object, as version 0
SELECT activity.record('sch-ws', 'sch.free', 'u', '{"anything": [1, 2]}', occurred_at => '2030-01-01') AS id \gset
SELECT version FROM activity.activities WHERE id = :'id';

-- version 1
SELECT activity.register_schema('sch.post', '{
    "type": "object",
    "properties": {"post_id": {"type": "string"}, "title": {"type": "string", "maxLength": 20}},
    "required": ["post_id"],
    "additionalProperties": false}') AS v1;
-- version omitted: the latest
SELECT activity.record('sch-ws', 'sch.post', 'u', '{"post_id": "p-1", "title": "Hello"}', occurred_at => '2030-01-02') AS id \gset
SELECT version FROM activity.activities WHERE id = :'id';
-- refused metadata: the first violation, with its pointer and rule
SELECT pg_temp.expect_error($$SELECT activity.record('sch-ws', 'sch.post', 'u', '{"title": "Hello"}')$$);
SELECT pg_temp.expect_error($$SELECT activity.record('sch-ws', 'sch.post', 'u', '{"post_id": "p-1", "title": "a title far too long for it"}')$$);
SELECT pg_temp.expect_error($$SELECT activity.record('sch-ws', 'sch.post', 'u', '{"post_id": "p-1", "extra": 1}')$$);
SELECT pg_temp.expect_error($$SELECT activity.record('sch-ws', 'sch.post', 'u', '{"post_id": "p-1"}', version => 2)$$);
SELECT pg_temp.expect_error($$SELECT activity.record('sch-ws', 'sch.post', 'u', '{"post_id": "p-1"}', version => 0)$$);
-- ... whatever recorded_at it claims: only a restore keeps version-0 rows of
-- a type that has a schema now (rows are not judged again when restored:
-- test/shell/restore_modes.sh)
SELECT pg_temp.expect_error($$INSERT INTO activity.activities (workspace_id, type, initiator_id, metadata, version, occurred_at, recorded_at)
                              VALUES ('sch-ws', 'sch.post', 'u', '{"no": "schema"}', 0, '2030-01-02', '2020-01-01')$$);
-- plain INSERT and COPY are checked the same way
SELECT pg_temp.expect_error($$INSERT INTO activity.activities (workspace_id, type, initiator_id, metadata)
                              VALUES ('sch-ws', 'sch.post', 'u', '{"post_id": 1}')$$);
COPY activity.activities (workspace_id, type, initiator_id, metadata, occurred_at) FROM STDIN;
sch-ws	sch.post	u	{"post_id": "p-2"}	2030-01-03 00:00:00+00
\.
\set VERBOSITY terse
COPY activity.activities (workspace_id, type, initiator_id, metadata, occurred_at) FROM STDIN;
sch-ws	sch.post	u	{"post_id": "p-3"}	2030-01-03 00:00:00+00
sch-ws	sch.post	u	{"post_id": false}	2030-01-03 00:00:00+00
\.
\set VERBOSITY default
SELECT count(*) AS sch_post_rows FROM activity.activities WHERE type = 'sch.post';

-- version 2 adds an optional property to a closed schema: backward compatible
SELECT activity.register_schema('sch.post', '{
    "type": "object",
    "properties": {"post_id": {"type": "string"}, "title": {"type": "string", "maxLength": 20},
                   "feed": {"type": "string"}},
    "required": ["post_id"],
    "additionalProperties": false}') AS v2;
SELECT activity.record('sch-ws', 'sch.post', 'u', '{"post_id": "p-4", "feed": "news"}', occurred_at => '2030-01-04') AS id \gset
SELECT version FROM activity.activities WHERE id = :'id';
-- old clients keep working with version 1, under version 1's rules
SELECT activity.record('sch-ws', 'sch.post', 'u', '{"post_id": "p-5"}', version => 1, occurred_at => '2030-01-05') AS id \gset
SELECT version FROM activity.activities WHERE id = :'id';
SELECT pg_temp.expect_error($$SELECT activity.record('sch-ws', 'sch.post', 'u', '{"post_id": "p-6", "feed": "x"}', version => 1)$$);

-- breaking changes are refused, each named with its pointer
SELECT pg_temp.expect_error($$SELECT activity.register_schema('sch.post', '{
    "type": "object",
    "properties": {"post_id": {"type": "integer"}, "title": {"type": "string", "maxLength": 10}},
    "required": ["post_id", "title"],
    "additionalProperties": false}')$$);
SELECT * FROM activity.compatibility_problems('sch.post', '{"properties": {"post_id": {"enum": ["a"]}}, "minProperties": 1}', 'full_transitive')
ORDER BY version, direction, change;
SELECT count(*) AS forward_ok FROM activity.compatibility_problems('sch.post', '{
    "type": "object",
    "properties": {"post_id": {"type": "string"}, "title": {"type": "string", "maxLength": 20}},
    "required": ["post_id"], "additionalProperties": false}', 'forward');
SELECT pg_temp.expect_error($$SELECT activity.register_schema('sch.post', '{}', 'sideways')$$);
SELECT pg_temp.expect_error($$SELECT activity.register_schema('sch.nope', '{}')$$);
SELECT pg_temp.expect_error($$SELECT activity.register_schema('sch.post', NULL)$$);
SELECT pg_temp.expect_error($$SELECT activity.register_schema('sch.post', '{"foo": 1}')$$);
-- "none" accepts anything
SELECT activity.register_schema('sch.post', '{"type": "object", "required": ["post_id", "title"]}', compatibility => 'none') AS v3;

-- retirement: version 1 is refused from now on
SELECT version, retired_at IS NOT NULL AS retired FROM activity.retire_schema('sch.post', 1);
SELECT regexp_replace(pg_temp.expect_error($$SELECT activity.record('sch-ws', 'sch.post', 'u', '{"post_id": "p-7"}', version => 1)$$),
                      'retired at .*', 'retired at <now>.');
-- ... whatever recorded_at it claims (restored rows keep retired versions)
SELECT regexp_replace(pg_temp.expect_error($$INSERT INTO activity.activities (workspace_id, type, initiator_id, metadata, version, occurred_at, recorded_at)
                              VALUES ('sch-ws', 'sch.post', 'u', '{"post_id": "p-8"}', 1, '2030-01-06', '2020-01-01')$$),
                      'retired at .*', 'retired at <then>.');
SELECT pg_temp.expect_error($$SELECT activity.retire_schema('sch.post', 9)$$);

-- versions are immutable
SELECT pg_temp.expect_error($$UPDATE activity.schemas SET schema = '{}' WHERE type = 'sch.post' AND version = 2$$);
SELECT pg_temp.expect_error($$UPDATE activity.schemas SET retired_at = NULL WHERE type = 'sch.post' AND version = 1$$);
SELECT pg_temp.expect_error($$DELETE FROM activity.schemas WHERE type = 'sch.post'$$);
SELECT type, version, compatibility, retired_at IS NOT NULL AS retired FROM activity.schemas WHERE type LIKE 'sch.%' ORDER BY 1, 2;
SELECT version, count(*) FROM activity.activities WHERE type = 'sch.post' GROUP BY 1 ORDER BY 1;
