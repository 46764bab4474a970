-- Does the generic PL/pgSQL validator (validation_generic_plpgsql.sql) agree
-- with the extension's C validator, activity.is_valid(), beyond what the 10
-- schemas of the benchmark use? Pairs (schema, document) exercising every
-- keyword the generic validator implements (type arrays, integer, enum and
-- const on containers and numbers, code-point lengths, patterns, numeric
-- bounds, multipleOf, patternProperties, additionalProperties as a schema,
-- propertyNames, dependent*, prefixItems, contains, uniqueItems, the
-- applicators, $ref with escapes, boolean schemas) and every format it
-- asserts, valid and invalid values. Needs the extension and
-- validation_generic_plpgsql.sql; prints the pairs the two disagree on, then
-- pairs|valid for C|valid for the generic validator|disagreements, and fails
-- (ON_ERROR_STOP) on any disagreement.
--   psql -X -q -At -v ON_ERROR_STOP=1 -f bench/validation_generic_cases.sql
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

CREATE TEMP TABLE generic_cases (n serial, schema jsonb, doc jsonb);
INSERT INTO generic_cases (schema, doc) VALUES
('{"type": ["string","null"]}', '"a"'), ('{"type": ["string","null"]}', 'null'), ('{"type": ["string","null"]}', '1'),
('{"type": "integer"}', '1.0'), ('{"type": "integer"}', '1.5'), ('{"type": "number"}', '1'), ('{"type": "integer"}', '"1"'),
('{"type": "boolean"}', 'false'), ('{"type": "null"}', 'false'), ('{"type": "object"}', '[]'), ('{"type": "array"}', '[]'),
('{"enum": [1, "a", [1,2], {"x": 1}]}', '1.0'), ('{"enum": [1, "a", [1,2], {"x": 1}]}', '[1,2]'), ('{"enum": [1, "a", [1,2], {"x": 1}]}', '[1]'),
('{"enum": [1, "a", [1,2], {"x": 1}]}', '{"x": 1.00}'), ('{"enum": [1, "a", [1,2], {"x": 1}]}', '{"x": 1, "y": 2}'), ('{"enum": [[1,2]]}', '1'),
('{"enum": [null]}', 'null'), ('{"enum": [false]}', '0'),
('{"const": {"a": [1, 2]}}', '{"a": [1, 2.0]}'), ('{"const": {"a": [1, 2]}}', '{"a": [2, 1]}'), ('{"const": null}', 'null'), ('{"const": 0}', 'false'),
('{"minLength": 2, "maxLength": 3}', '"éé"'), ('{"minLength": 2, "maxLength": 3}', '"é"'), ('{"minLength": 2, "maxLength": 3}', '"éééé"'), ('{"maxLength": 3}', '12345'),
('{"pattern": "b+"}', '"abbc"'), ('{"pattern": "^b+$"}', '"abbc"'), ('{"pattern": "[[:alpha:]]"}', '"é"'),
('{"minimum": 1, "maximum": 3}', '0.999'), ('{"minimum": 1, "maximum": 3}', '3'), ('{"exclusiveMinimum": 1}', '1'), ('{"exclusiveMaximum": 1}', '0.5'),
('{"multipleOf": 0.1}', '0.3'), ('{"multipleOf": 0.1}', '0.35'), ('{"multipleOf": 3}', '-9'),
('{"required": ["a","b"]}', '{"a":1}'), ('{"required": ["a","b"]}', '{"a":1,"b":null}'), ('{"required": ["a"]}', '[1]'),
('{"properties": {"a": {"type":"string"}}, "patternProperties": {"^x-": {"type":"integer"}}, "additionalProperties": {"type":"boolean"}}', '{"a":"s","x-1":2,"z":true}'),
('{"properties": {"a": {"type":"string"}}, "patternProperties": {"^x-": {"type":"integer"}}, "additionalProperties": {"type":"boolean"}}', '{"a":"s","x-1":2.5}'),
('{"properties": {"a": {"type":"string"}}, "patternProperties": {"^x-": {"type":"integer"}}, "additionalProperties": {"type":"boolean"}}', '{"z":1}'),
('{"patternProperties": {"a": {"minimum": 5}, "b": {"maximum": 6}}}', '{"ab": 7}'),
('{"propertyNames": {"maxLength": 2}}', '{"ab": 1}'), ('{"propertyNames": {"maxLength": 2}}', '{"abc": 1}'),
('{"minProperties": 2}', '{"a":1}'), ('{"maxProperties": 1}', '{"a":1,"b":2}'),
('{"dependentRequired": {"a": ["b"]}}', '{"a":1}'), ('{"dependentRequired": {"a": ["b"]}}', '{"c":1}'),
('{"dependentSchemas": {"a": {"required": ["b"]}}}', '{"a":1}'), ('{"dependentSchemas": {"a": {"required": ["b"]}}}', '{"a":1,"b":1}'),
('{"prefixItems": [{"type":"string"}], "items": {"type":"integer"}}', '["a", 1, 2]'), ('{"prefixItems": [{"type":"string"}], "items": {"type":"integer"}}', '[1]'),
('{"prefixItems": [{"type":"string"}], "items": false}', '["a", 1]'), ('{"prefixItems": [{"type":"string"}], "items": false}', '["a"]'),
('{"contains": {"type":"integer"}}', '["a"]'), ('{"contains": {"type":"integer"}, "minContains": 2, "maxContains": 3}', '[1, 2, "a"]'),
('{"contains": {"type":"integer"}, "minContains": 2, "maxContains": 3}', '[1, 2, 3, 4]'), ('{"contains": {"type":"integer"}, "minContains": 0}', '[]'),
('{"minItems": 1, "maxItems": 2}', '[]'), ('{"uniqueItems": true}', '[1, 1.0]'), ('{"uniqueItems": true}', '[{"a":1}, {"a":2}]'), ('{"uniqueItems": true}', '[[1],[1]]'),
('{"allOf": [{"minimum": 1}, {"maximum": 2}]}', '3'), ('{"anyOf": [{"type":"string"}, {"minimum": 5}]}', '4'), ('{"anyOf": [{"type":"string"}, {"minimum": 5}]}', '"x"'),
('{"oneOf": [{"type":"integer"}, {"minimum": 5}]}', '6'), ('{"oneOf": [{"type":"integer"}, {"minimum": 5}]}', '5.5'), ('{"oneOf": [{"type":"integer"}, {"minimum": 5}]}', '1.5'),
('{"not": {"type":"null"}}', 'null'), ('{"if": {"minimum": 5}, "then": {"multipleOf": 2}, "else": {"maximum": 0}}', '7'),
('{"if": {"minimum": 5}, "then": {"multipleOf": 2}, "else": {"maximum": 0}}', '8'), ('{"if": {"minimum": 5}, "then": {"multipleOf": 2}, "else": {"maximum": 0}}', '3'),
('{"$defs": {"pos": {"minimum": 0}}, "properties": {"a": {"$ref": "#/$defs/pos"}}}', '{"a": -1}'),
('{"$defs": {"pos": {"minimum": 0}}, "properties": {"a": {"$ref": "#/$defs/pos"}}}', '{"a": 1}'),
('{"type": "object", "properties": {"next": {"$ref": "#"}, "v": {"type": "integer"}}}', '{"v": 1, "next": {"v": 2, "next": {"v": "x"}}}'),
('{"type": "object", "properties": {"next": {"$ref": "#"}, "v": {"type": "integer"}}}', '{"v": 1, "next": {"v": 2, "next": {}}}'),
('{"$defs": {"a/b": {"type": "string"}, "c%d": {"type": "integer"}}, "properties": {"x": {"$ref": "#/$defs/a~1b"}, "y": {"$ref": "#/$defs/c%25d"}}}', '{"x": "s", "y": 1}'),
('{"$defs": {"a/b": {"type": "string"}, "c%d": {"type": "integer"}}, "properties": {"x": {"$ref": "#/$defs/a~1b"}, "y": {"$ref": "#/$defs/c%25d"}}}', '{"x": 1}'),
('{"$defs": {"a/b": {"type": "string"}, "c%d": {"type": "integer"}}, "properties": {"x": {"$ref": "#/$defs/a~1b"}, "y": {"$ref": "#/$defs/c%25d"}}}', '{"y": "s"}'),
('true', '1'), ('false', '1'), ('{"properties": {"a": false}}', '{"a": 1}'), ('{"properties": {"a": false}}', '{"b": 1}'),
('{"items": {"$ref": "#/$defs/i"}, "$defs": {"i": {"type": "integer"}}}', '[1, 2]'), ('{"items": {"$ref": "#/$defs/i"}, "$defs": {"i": {"type": "integer"}}}', '[1, "2"]');

-- formats: valid and invalid values of each
INSERT INTO generic_cases (schema, doc)
SELECT jsonb_build_object('format', f), to_jsonb(v)
FROM (VALUES
 ('date-time', '2024-02-29T23:59:60Z'), ('date-time', '2023-02-29T10:00:00Z'), ('date-time', '2024-02-29T10:00:00.5+02:00'),
 ('date-time', '2024-12-31T23:59:60+01:00'), ('date-time', '2024-12-31T22:59:60-01:00'), ('date-time', '2024-12-31t00:00:00z'),
 ('date-time', '2024-12-31T24:00:00Z'), ('date-time', '2024-12-31T10:00:00'), ('date-time', '2024-12-31 10:00:00Z'), ('date-time', '2024-12-31T10:00:00.Z'),
 ('date-time', '2024-12-31T10:00:00+0200'), ('date-time', '2024-04-31T10:00:00Z'), ('date-time', '1900-02-29T10:00:00Z'), ('date-time', '2000-02-29T10:00:00Z'),
 ('date-time', '２024-12-31T10:00:00Z'), ('date-time', '2024-12-31T10:00:00+24:00'),
 ('date', '2024-02-29'), ('date', '2024-13-01'), ('date', '2024-1-01'), ('date', '2024-00-10'), ('date', '2024-01-00'),
 ('time', '10:00:00Z'), ('time', '10:00:00'), ('time', '23:59:60Z'), ('time', '10:60:00Z'), ('time', '00:00:00.123456-12:30'),
 ('uuid', '0190f5b2-1c2d-7e3f-8a4b-5c6d7e8f9a0b'), ('uuid', '0190F5B2-1C2D-7E3F-8A4B-5C6D7E8F9A0B'), ('uuid', '0190f5b21c2d7e3f8a4b5c6d7e8f9a0b'), ('uuid', '0190f5b2-1c2d-7e3f-8a4b-5c6d7e8f9a0g'),
 ('ipv4', '0.0.0.0'), ('ipv4', '255.255.255.255'), ('ipv4', '256.1.1.1'), ('ipv4', '01.1.1.1'), ('ipv4', '1.1.1'), ('ipv4', '1.1.1.1.'), ('ipv4', '1.1.1.1.1'), ('ipv4', ''),
 ('ipv6', '::'), ('ipv6', '::1'), ('ipv6', '1::'), ('ipv6', '1:2:3:4:5:6:7:8'), ('ipv6', '1:2:3:4:5:6:7:8:9'), ('ipv6', '1:2:3:4:5:6:7'), ('ipv6', '1::2::3'),
 ('ipv6', ':::'), ('ipv6', '1:::2'), ('ipv6', ':1'), ('ipv6', '1:'), ('ipv6', '::ffff:192.168.1.1'), ('ipv6', '::192.168.1.1'), ('ipv6', '1:2:3:4:5:6:1.2.3.4'),
 ('ipv6', '1:2:3:4:5:6:7:1.2.3.4'), ('ipv6', '1:2:3:4:5::1.2.3.4'), ('ipv6', '1.2.3.4'), ('ipv6', '1.2.3.4::'), ('ipv6', '::a1.2.3.4'), ('ipv6', '12345::'),
 ('ipv6', 'fe80::1%eth0'), ('ipv6', '1:2:3:4:5:6:7::'), ('ipv6', '::1:2:3:4:5:6:7'), ('ipv6', '::1:2:3:4:5:6:7:8'), ('ipv6', ':'), ('ipv6', '1'), ('ipv6', '::1.2.3'),
 ('email', 'a@b.c'), ('email', 'a.b@c'), ('email', '.a@b'), ('email', 'a.@b'), ('email', 'a..b@c'), ('email', '"a b"@c'), ('email', '"a\"b"@c'), ('email', '"\"@c'),
 ('email', '"a@b"@c'), ('email', 'a@[1.2.3.4]'), ('email', 'a@[IPv6:::1]'), ('email', 'a@[IPv6:]'), ('email', 'a@['), ('email', 'a@b-.c'), ('email', 'a@-b.c'),
 ('email', 'a@b.'), ('email', 'a@'), ('email', '@b'), ('email', 'é@b'), ('email', 'a@é'), ('email', '"é"@b'), ('email', '"\é"@b'), ('email', '"a"b"@c'), ('email', '""@c'),
 ('email', 'a@b@c'), ('email', 'a+tag@example.com'), ('email', 'a@' || repeat('a', 64) || '.com'), ('email', 'a@' || repeat('a.', 127) || 'a'),
 ('uri', 'https://example.com/a?b=c#d'), ('uri', 'mailto:a@b'), ('uri', 'urn:isbn:123'), ('uri', '/relative'), ('uri', 'http://[::1]:8080/'), ('uri', 'http://[::1]x/'),
 ('uri', 'http://[::1/'), ('uri', 'http://user:pw@host:80/p'), ('uri', 'http://host:8a/'), ('uri', 'http://host:/'), ('uri', 'http://ho st/'), ('uri', 'http://h/%zz'),
 ('uri', 'http://h/%41'), ('uri', 'http://h/a#b#c'), ('uri', 'http://h/a?b?c#d?e'), ('uri', 'a:'), ('uri', '1a:b'), ('uri', 'http://a@b@c/'), ('uri', 'http://h/é'),
 ('uri', 'http://h:1:2/'), ('uri', 'http://'), ('uri', 'http:///a'), ('uri', 'http://h/a b'), ('uri', 'http://h/[x]'), ('uri', 'x+y.z-w://h')
) AS f(f, v);
CREATE TEMP TABLE generic_outcomes AS
SELECT n, schema, doc,
       activity.is_valid(doc, schema::activity.jsonschema) AS c,
       bench.jsonschema_is_valid_plpgsql(schema, doc) AS generic
FROM generic_cases;

SELECT format('case %s: schema %s, document %s: C %s, generic %s', n, schema, doc, c, generic)
FROM generic_outcomes WHERE generic IS DISTINCT FROM c ORDER BY n;

SELECT count(*), count(*) FILTER (WHERE c), count(*) FILTER (WHERE generic),
       count(*) FILTER (WHERE generic IS DISTINCT FROM c)
FROM generic_outcomes;

SELECT count(*) FILTER (WHERE generic IS DISTINCT FROM c) = 0 AS generic_agrees FROM generic_outcomes \gset
\if :generic_agrees
\else
    DO $$ BEGIN RAISE EXCEPTION 'the generic PL/pgSQL validator disagrees with activity.is_valid()'; END $$;
\endif
