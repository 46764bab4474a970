-- The activity.jsonschema type: input meta-validates and compiles (every
-- refusal names the keyword and its JSON pointer, SQLSTATE 22P02), output
-- prints the schema back, and is_valid() / validation_errors() validate.
CREATE FUNCTION pg_temp.expect_error(sql text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    st text; msg text;
BEGIN
    EXECUTE sql;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    RETURN st || ': ' || msg;
END;
$$;

---------------------------------------------------------------------------
-- Input and output
---------------------------------------------------------------------------
SELECT '{"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}'::activity.jsonschema;
SELECT 'true'::activity.jsonschema, 'false'::activity.jsonschema, '{}'::activity.jsonschema;
-- annotations are accepted and kept
SELECT '{"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "https://example.com/post",
         "title": "t", "description": "d", "$comment": "c", "default": 1, "examples": [1],
         "deprecated": false, "readOnly": true, "writeOnly": false}'::activity.jsonschema;
-- casts to and from jsonb
SELECT ('{"minimum": 1}'::jsonb::activity.jsonschema)::jsonb -> 'minimum' AS minimum;

---------------------------------------------------------------------------
-- Meta-validation: each refusal names the keyword and where it is
---------------------------------------------------------------------------
SELECT pg_temp.expect_error(format('SELECT %L::activity.jsonschema', s)) FROM (VALUES
    ('not json'),
    ('1'),
    ('{"properties": {"a": 1}}'),
    ('{"foo": 1}'),
    ('{"properties": {"a": {"unevaluatedProperties": false}}}'),
    ('{"type": "strin"}'),
    ('{"type": ["string", "string"]}'),
    ('{"type": []}'),
    ('{"type": 1}'),
    ('{"minLength": -1}'),
    ('{"minLength": 1.5}'),
    ('{"maxItems": "3"}'),
    ('{"minimum": "0"}'),
    ('{"multipleOf": 0}'),
    ('{"multipleOf": -2}'),
    ('{"required": "a"}'),
    ('{"required": ["a", "a"]}'),
    ('{"required": [1]}'),
    ('{"enum": 1}'),
    ('{"uniqueItems": 1}'),
    ('{"allOf": []}'),
    ('{"anyOf": {}}'),
    ('{"items": 1}'),
    ('{"additionalProperties": "no"}'),
    ('{"pattern": "(("}'),
    ('{"pattern": "^\\p{Letter}+$"}'),
    ('{"patternProperties": {"[": {}}}'),
    ('{"format": "hostname"}'),
    ('{"format": 1}'),
    ('{"$ref": "#/$defs/missing"}'),
    ('{"$ref": "other.json"}'),
    ('{"$ref": "#/properties"}'),
    ('{"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}'),
    ('{"allOf": [{"$ref": "#"}]}'),
    ('{"$schema": "http://json-schema.org/draft-07/schema#"}'),
    ('{"properties": {"a": {"$schema": "https://json-schema.org/draft/2020-12/schema"}}}'),
    ('{"items": {"$id": "x"}}'),
    ('{"title": 1}'),
    ('{"readOnly": "yes"}'),
    ('{"dependentRequired": {"a": "b"}}')
) AS t(s);

-- a recursive schema through properties is fine: each step descends
SELECT '{"$defs": {"node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/node"}}}},
         "$ref": "#/$defs/node"}'::activity.jsonschema IS NOT NULL AS recursive_ok;

---------------------------------------------------------------------------
-- Validation
---------------------------------------------------------------------------
CREATE TEMP TABLE s AS SELECT '{
    "type": "object",
    "properties": {
        "post_id": {"type": "string", "pattern": "^p-[0-9]+$"},
        "title": {"type": "string", "minLength": 1, "maxLength": 10},
        "score": {"type": "integer", "minimum": 0, "exclusiveMaximum": 100, "multipleOf": 5},
        "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": true, "maxItems": 3},
        "at": {"type": "string", "format": "date-time"},
        "a/b~c": {"const": true},
        "kind": {"enum": ["post", "poll", 1.0]}
    },
    "required": ["post_id", "title"],
    "additionalProperties": false
}'::activity.jsonschema AS schema;

SELECT activity.is_valid('{"post_id": "p-1", "title": "Hello"}', schema) FROM s;
SELECT activity.is_valid('{"post_id": "p-1", "title": "Hello", "score": 95, "tags": ["a", "b"],
                           "at": "2026-11-23T10:00:00Z", "a/b~c": true, "kind": 1}', schema) FROM s;
SELECT activity.is_valid('{"post_id": "x"}', schema) FROM s;
-- every violation, with the JSON pointer of the value (RFC 6901 escapes)
SELECT e.* FROM s, activity.validation_errors('{
    "post_id": 7, "title": "", "score": 101.5, "tags": ["a", "a", 3, "d"],
    "at": "yesterday", "a/b~c": false, "kind": "note", "extra": null}', schema) e
ORDER BY e.path, e.keyword;
SELECT count(*) AS no_errors FROM s, activity.validation_errors('{"post_id": "p-1", "title": "Hi"}', schema);

-- type: integer accepts 1.0, number accepts both
SELECT activity.is_valid('1.0', '{"type": "integer"}'), activity.is_valid('1.5', '{"type": "integer"}'),
       activity.is_valid('1.5', '{"type": ["integer", "number"]}'), activity.is_valid('null', '{"type": "null"}');
-- boolean schemas, and false under a property
SELECT activity.is_valid('{"a": 1}', 'true'), activity.is_valid('{"a": 1}', 'false'),
       activity.is_valid('{"a": 1}', '{"properties": {"a": false}}');
-- code points, not bytes
SELECT activity.is_valid('"héllo"', '{"maxLength": 5}') AS five_code_points;
-- applicators
SELECT activity.is_valid('5', '{"anyOf": [{"minimum": 10}, {"maximum": 6}]}') AS any_of,
       activity.is_valid('5', '{"oneOf": [{"minimum": 1}, {"maximum": 6}]}') AS one_of_two_match,
       activity.is_valid('5', '{"not": {"type": "integer"}}') AS not_integer,
       activity.is_valid('{"a": 1}', '{"if": {"required": ["a"]}, "then": {"required": ["b"]}}') AS if_then;
SELECT * FROM activity.validation_errors('5', '{"oneOf": [{"minimum": 1}, {"maximum": 6}]}');
SELECT * FROM activity.validation_errors('[1, "x"]', '{"prefixItems": [{"type": "integer"}], "items": false}');
SELECT * FROM activity.validation_errors('[1, 2]', '{"contains": {"type": "string"}}');
SELECT * FROM activity.validation_errors('{"a": 1}', '{"dependentRequired": {"a": ["b", "c"]}}');
SELECT * FROM activity.validation_errors('{"ab": 1}', '{"propertyNames": {"maxLength": 1}}');
-- recursion through $ref follows the document
SELECT * FROM activity.validation_errors('{"next": {"next": {"next": 1}}}',
    '{"$defs": {"node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/node"}}}}, "$ref": "#/$defs/node"}');

-- formats are asserted
SELECT f, v, activity.is_valid(to_jsonb(v), jsonb_build_object('format', f)::activity.jsonschema)
FROM (VALUES ('date-time', '2026-11-23T10:00:00+01:00'), ('date-time', '2026-11-23 10:00:00'),
             ('date', '2024-02-29'), ('date', '2023-02-29'),
             ('time', '23:59:60Z'), ('time', '12:00:60Z'),
             ('uuid', '01a207b5-517c-71dd-b2d5-46e15e5be6fd'), ('uuid', '01a207b5517c71ddb2d546e15e5be6fd'),
             ('email', 'ada@example.com'), ('email', 'ada..b@example.com'),
             ('uri', 'https://example.com/a?b=c#d'), ('uri', '/relative/path'),
             ('ipv4', '192.168.0.1'), ('ipv4', '192.168.0.256'),
             ('ipv6', '2001:db8::1'), ('ipv6', '2001:db8:::1')) AS t(f, v);
-- non-strings pass format, as the spec says
SELECT activity.is_valid('42', '{"format": "email"}') AS number_is_not_checked;
-- an email's local part is at most 64 bytes, the address at most 254 (RFC 5321)
SELECT length(v) AS len, activity.is_valid(to_jsonb(v), '{"format": "email"}') AS valid
FROM (VALUES (repeat('a', 64) || '@example.com'), (repeat('a', 65) || '@example.com'),
             ('a@' || repeat('b', 63) || '.' || repeat('c', 63) || '.' || repeat('d', 63) || '.' || repeat('e', 60)),
             ('a@' || repeat('b', 63) || '.' || repeat('c', 63) || '.' || repeat('d', 63) || '.' || repeat('e', 61)),
             (repeat('a', 10000000) || '@example.com')) AS t(v);

---------------------------------------------------------------------------
-- Hostile input: bounded, clear errors
---------------------------------------------------------------------------
-- a deeply nested document against a recursive schema: fine to 1000 levels,
-- beyond the server's stack a clean error (54001), never a crash
SELECT activity.is_valid((repeat('[', 1000) || repeat(']', 1000))::jsonb, '{"items": {"$ref": "#"}}') AS deep_ok;
SELECT activity.is_valid((repeat('[', 1000) || '1' || repeat(']', 1000))::jsonb,
                         '{"items": {"$ref": "#"}, "type": "array"}') AS deep_scalar_refused;
SELECT pg_temp.expect_error($$SELECT activity.is_valid((repeat('[', 100000) || repeat(']', 100000))::jsonb,
                                                       '{"items": {"$ref": "#"}}')$$);
-- catastrophic backtracking patterns are no problem for PostgreSQL's regex engine
SELECT activity.is_valid(to_jsonb(repeat('a', 5000) || '!'), '{"pattern": "^(a+)+$"}') AS no_backtracking;
-- uniqueItems sorts the items (n log n), rather than comparing every pair
SELECT activity.is_valid((SELECT jsonb_agg(g) FROM generate_series(1, 200000) g), '{"uniqueItems": true}') AS distinct_200000;
SELECT * FROM activity.validation_errors((SELECT jsonb_agg(g % 199999) FROM generate_series(1, 200000) g), '{"uniqueItems": true}');
-- the pair reported is the first a pairwise scan would find: the least i, then j
SELECT * FROM activity.validation_errors('[1, 2, 3, 2, 1.0, {"a": [1]}, {"a": [1.0]}]', '{"uniqueItems": true}');
SELECT * FROM activity.validation_errors('[{"a": 1}, [1], "1", 1, true, null, {"a": 2}, [1, 2], "x", null]', '{"uniqueItems": true}');
-- many subschemas
SELECT (SELECT '{"anyOf": [' || string_agg('{"const": ' || g || '}', ',') || ']}' FROM generate_series(1, 10000) g)::activity.jsonschema IS NOT NULL AS big_schema_ok;
SELECT pg_temp.expect_error($$SELECT (SELECT '{"anyOf": [' || string_agg('{}', ',') || ']}' FROM generate_series(1, 70000))::activity.jsonschema$$);
-- NULLs
SELECT activity.is_valid(NULL, '{}'), activity.is_valid('{}', NULL), NULL::activity.jsonschema;
