-- activity.record(): defaults, completion, and every validation rule of the
-- ingestion trigger (src/ingest.c), each with its SQLSTATE. A refused
-- activity is never written.
SET TIME ZONE 'UTC';
SET datestyle = 'ISO, YMD';

\i test/sql/include/expect_error.sql

SELECT name FROM activity.register_type('rec.plain');
SELECT name FROM activity.register_type('rec.award', recipient => 'required');
SELECT name FROM activity.register_type('rec.post', recipient => 'forbidden');
SELECT name FROM activity.register_platform('x');  -- a one-character platform
SELECT name FROM activity.register_type('rec.chat', platforms => '{discord,slack}');
SELECT name FROM activity.register_type('rec.human', actor_types => '{user}');
SELECT name FROM activity.register_type('REC_LINK', actor_types => '{system}');

---------------------------------------------------------------------------
-- Accepted activities, and how the row is completed
---------------------------------------------------------------------------
BEGIN;
SELECT activity.record('rec-ws', 'rec.plain', 'u1') AS id \gset
SELECT id = :'id' AS returned_id, workspace_id, platform, type, version, actor_type, initiator_id,
       recipient_id, subject_type, subject_id, caused_by, metadata,
       occurred_at = now() AS occurred_now, recorded_at = now() AS recorded_now,
       abs(extract(epoch FROM activity.uuidv7_time(id) - clock_timestamp())) < 60 AS uuidv7_now
FROM activity.activities WHERE id = :'id';
ROLLBACK;

-- every argument given
SELECT activity.record('rec-ws', 'rec.chat', 'u1', '{"message_id": "m-1", "n": [1, 2, {"x": null}]}',
                       recipient_id => 'u2', actor_type => 'agent', version => 0,
                       occurred_at => '2031-03-04 05:06:07.123456+00', platform => 'slack',
                       subject_type => 'channel', subject_id => 'c-1') AS chat_id \gset
SELECT workspace_id, platform, type, version, actor_type, initiator_id, recipient_id,
       subject_type, subject_id, caused_by, metadata, occurred_at
FROM activity.activities WHERE id = :'chat_id';

-- NULL metadata is stored as {}; NULL occurred_at means now(); NULL version the latest (0)
BEGIN;
SELECT activity.record('rec-ws', 'rec.plain', 'u1', NULL, occurred_at => NULL, version => NULL) AS id \gset
SELECT metadata, version, occurred_at = now() AS occurred_now FROM activity.activities WHERE id = :'id';
ROLLBACK;

-- system actors need no initiator; a synthetic event points at its cause
SELECT activity.record('rec-ws', 'REC_LINK', NULL, '{"rule": "links"}', actor_type => 'system',
                       caused_by => :'chat_id', occurred_at => '2031-03-04 05:06:08+00') AS link_id \gset
SELECT type, actor_type, initiator_id, caused_by = :'chat_id' AS caused_by_chat
FROM activity.activities WHERE id = :'link_id';
-- the cause may be recorded in the same statement
SELECT activity.record('rec-ws', 'REC_LINK', NULL, actor_type => 'system', occurred_at => '2031-03-04 05:06:10+00',
                       caused_by => activity.record('rec-ws', 'rec.plain', 'u1', occurred_at => '2031-03-04 05:06:09+00'))
       IS NOT NULL AS nested_cause;
-- and the cause may live in the default partition (an outlier date)
SELECT activity.record('rec-ws', 'REC_LINK', NULL, actor_type => 'system', occurred_at => '2031-03-04 05:06:12+00',
                       caused_by => activity.record('rec-ws', 'rec.plain', 'u1', occurred_at => '1990-01-01'))
       IS NOT NULL AS cause_in_default_partition;

-- causes with known ids, in a range partition and in the default partition
INSERT INTO activity.activities (id, workspace_id, type, initiator_id, occurred_at) VALUES
    ('01890000-0000-7000-8000-00000000c0de', 'rec-ws', 'rec.plain', 'u1', '2031-03-04'),
    ('01890000-0000-7000-8000-00000000c1de', 'rec-ws', 'rec.plain', 'u1', '2090-03-04');

-- limits that are just allowed: 1024-byte identifiers (bytes, not characters), 1 character
SELECT activity.record(repeat('w', 1024), 'rec.plain', repeat('i', 1024), occurred_at => '2031-03-05') IS NOT NULL AS ascii_1024;
SELECT activity.record(repeat('é', 512), 'rec.plain', 'u', occurred_at => '2031-03-05') IS NOT NULL AS utf8_1024_bytes;
SELECT activity.record('w', 'rec.plain', 'u', recipient_id => 'r', platform => 'x',
                       subject_type => 's', subject_id => 'i', occurred_at => '2031-03-05') IS NOT NULL AS one_character_ids;
-- the entity feed's key at its limit, 2048 bytes of random (incompressible)
-- text, fits its index
SELECT activity.record(left(ws, 1024), 'rec.plain', 'u', subject_type => left(st, 512), subject_id => left(si, 512),
                       occurred_at => '2031-03-05') IS NOT NULL AS subject_key_2048_bytes
FROM (SELECT string_agg(md5(g::text), '') AS ws, string_agg(md5((g + 100)::text), '') AS st,
             string_agg(md5((g + 200)::text), '') AS si FROM generate_series(1, 40) g) r;
-- occurred_at at the ends of its range; counts() works on them in every bucket
SELECT activity.record('rec-ends', 'rec.plain', 'u', occurred_at => '0001-01-01 00:00:00+00') IS NOT NULL AS year_1,
       activity.record('rec-ends', 'rec.plain', 'u', occurred_at => '9999-12-31 23:59:59.999999+00') IS NOT NULL AS year_9999;
SELECT b.bucket, count(*) AS buckets, sum(n) AS events
FROM unnest(ARRAY['1 minute', '1 hour', '1 day', '1 week', '1 month', '3 months', '1 year', '6 hours']) WITH ORDINALITY b(bucket, o),
     LATERAL activity.counts('rec-ends', '0001-01-01 00:00:00+00', '10000-01-01 00:00:00+00', b.bucket::interval) c
GROUP BY b.bucket, b.o ORDER BY b.o;
-- a type with a platform list, and a type without one (any platform or none)
SELECT activity.record('rec-ws', 'rec.chat', 'u1', platform => 'discord', occurred_at => '2031-03-05') IS NOT NULL AS listed_platform;
SELECT activity.record('rec-ws', 'rec.plain', 'u1', platform => 'telegram', occurred_at => '2031-03-05') IS NOT NULL AS any_platform;
-- version 0 while a type has no schema
SELECT activity.record('rec-ws', 'rec.plain', 'u1', version => 0, occurred_at => '2031-03-05') IS NOT NULL AS version_0;
-- a large, deep payload within the default limits
SELECT activity.record('rec-ws', 'rec.plain', 'u1',
                       jsonb_build_object('text', repeat('x', 200000)), occurred_at => '2031-03-05') IS NOT NULL AS payload_200kb;

---------------------------------------------------------------------------
-- Refused activities: one line per rule, "SQLSTATE: message DETAIL: detail"
---------------------------------------------------------------------------
SELECT count(*) AS rows_before FROM activity.activities \gset
SELECT label, pg_temp.expect_error('SELECT activity.record(' || args || ')') AS error
FROM (VALUES
    -- workspace_id
    ('workspace null',                 $$NULL, 'rec.plain', 'u1'$$),
    ('workspace empty',                $$'', 'rec.plain', 'u1'$$),
    ('workspace 1025 bytes',           $$repeat('w', 1025), 'rec.plain', 'u1'$$),
    ('workspace 513 x 2 bytes',        $$repeat('é', 513), 'rec.plain', 'u1'$$),
    -- type
    ('type null',                      $$'rec-ws', NULL, 'u1'$$),
    ('type unknown',                   $$'rec-ws', 'rec.nope', 'u1'$$),
    ('type unknown, case differs',     $$'rec-ws', 'REC.PLAIN', 'u1'$$),
    ('type empty',                     $$'rec-ws', '', 'u1'$$),
    ('type 300 characters',            $$'rec-ws', repeat('t', 300), 'u1'$$),
    ('type 100 x 2 bytes, clipped at a character', $$'rec-ws', repeat('é', 100), 'u1'$$),
    -- actor_type
    ('actor_type null',                $$'rec-ws', 'rec.plain', 'u1', actor_type => NULL$$),
    ('actor_type invalid',             $$'rec-ws', 'rec.plain', 'u1', actor_type => 'robot'$$),
    ('actor_type wrong case',          $$'rec-ws', 'rec.plain', 'u1', actor_type => 'User'$$),
    ('actor_type empty',               $$'rec-ws', 'rec.plain', 'u1', actor_type => ''$$),
    ('actor_type 100 characters',      $$'rec-ws', 'rec.plain', 'u1', actor_type => repeat('a', 100)$$),
    ('actor_type not allowed (agent)', $$'rec-ws', 'rec.human', 'u1', actor_type => 'agent'$$),
    ('actor_type not allowed (user)',  $$'rec-ws', 'REC_LINK', 'u1'$$),
    -- initiator_id
    ('initiator null, user',           $$'rec-ws', 'rec.plain', NULL$$),
    ('initiator null, agent',          $$'rec-ws', 'rec.plain', NULL, actor_type => 'agent'$$),
    ('initiator empty',                $$'rec-ws', 'rec.plain', ''$$),
    ('initiator empty, system',        $$'rec-ws', 'rec.plain', '', actor_type => 'system'$$),
    ('initiator 1025 bytes',           $$'rec-ws', 'rec.plain', repeat('i', 1025)$$),
    -- recipient_id
    ('recipient required',             $$'rec-ws', 'rec.award', 'u1'$$),
    ('recipient forbidden',            $$'rec-ws', 'rec.post', 'u1', recipient_id => 'u2'$$),
    ('recipient empty',                $$'rec-ws', 'rec.award', 'u1', recipient_id => ''$$),
    ('recipient 1025 bytes',           $$'rec-ws', 'rec.plain', 'u1', recipient_id => repeat('r', 1025)$$),
    -- platform
    ('platform not listed',            $$'rec-ws', 'rec.chat', 'u1', platform => 'telegram'$$),
    ('platform wrong case',            $$'rec-ws', 'rec.chat', 'u1', platform => 'Slack'$$),
    ('platform null, type lists some', $$'rec-ws', 'rec.chat', 'u1'$$),
    ('platform empty',                 $$'rec-ws', 'rec.plain', 'u1', platform => ''$$),
    ('platform 1025 bytes',            $$'rec-ws', 'rec.plain', 'u1', platform => repeat('p', 1025)$$),
    -- subject
    ('subject_type without id',        $$'rec-ws', 'rec.plain', 'u1', subject_type => 'issue'$$),
    ('subject_id without type',        $$'rec-ws', 'rec.plain', 'u1', subject_id => 'i-1'$$),
    ('subject_type empty',             $$'rec-ws', 'rec.plain', 'u1', subject_type => '', subject_id => 'i-1'$$),
    ('subject_id empty',               $$'rec-ws', 'rec.plain', 'u1', subject_type => 'issue', subject_id => ''$$),
    ('subject_id 1025 bytes',          $$'rec-ws', 'rec.plain', 'u1', subject_type => 'issue', subject_id => repeat('s', 1025)$$),
    ('workspace, subject_type and subject_id 1024 bytes each',
                                       $$repeat('w', 1024), 'rec.plain', 'u1', subject_type => repeat('t', 1024), subject_id => repeat('s', 1024)$$),
    ('... 2049 bytes together',        $$repeat('w', 1024), 'rec.plain', 'u1', subject_type => 'i', subject_id => repeat('s', 1024)$$),
    -- occurred_at
    ('occurred_at infinity',           $$'rec-ws', 'rec.plain', 'u1', occurred_at => 'infinity'$$),
    ('occurred_at -infinity',          $$'rec-ws', 'rec.plain', 'u1', occurred_at => '-infinity'$$),
    ('occurred_at 4714 BC',            $$'rec-ws', 'rec.plain', 'u1', occurred_at => '4714-11-24 00:00:00+00 BC'$$),
    ('occurred_at 1 BC',               $$'rec-ws', 'rec.plain', 'u1', occurred_at => '0001-12-31 23:59:59.999999+00 BC'$$),
    ('occurred_at 10000-01-01',        $$'rec-ws', 'rec.plain', 'u1', occurred_at => '10000-01-01 00:00:00+00'$$),
    -- version
    ('version 1 (no schema)',          $$'rec-ws', 'rec.plain', 'u1', version => 1$$),
    ('version 32767',                  $$'rec-ws', 'rec.plain', 'u1', version => 32767$$),
    ('version -1',                     $$'rec-ws', 'rec.plain', 'u1', version => -1$$),
    ('version 32768',                  $$'rec-ws', 'rec.plain', 'u1', version => 32768$$),
    -- metadata
    ('metadata array',                 $$'rec-ws', 'rec.plain', 'u1', '[1, 2]'$$),
    ('metadata empty array',           $$'rec-ws', 'rec.plain', 'u1', '[]'$$),
    ('metadata string',                $$'rec-ws', 'rec.plain', 'u1', '"text"'$$),
    ('metadata number',                $$'rec-ws', 'rec.plain', 'u1', '42'$$),
    ('metadata boolean',               $$'rec-ws', 'rec.plain', 'u1', 'true'$$),
    ('metadata JSON null',             $$'rec-ws', 'rec.plain', 'u1', 'null'$$),
    ('metadata over 256kB',            $$'rec-ws', 'rec.plain', 'u1', jsonb_build_object('text', repeat('x', 262144))$$),
    -- caused_by
    ('caused_by unknown',              $$'rec-ws', 'REC_LINK', NULL, actor_type => 'system', caused_by => '01890000-0000-7000-8000-00000000dead'$$),
    ('caused_by other workspace',      $$'rec-other', 'REC_LINK', NULL, actor_type => 'system', caused_by => '01890000-0000-7000-8000-00000000c0de'$$),
    ('caused_by other workspace, same id in default partition',
                                       $$'rec-other', 'REC_LINK', NULL, actor_type => 'system', caused_by => '01890000-0000-7000-8000-00000000c1de'$$)
) t(label, args);
SELECT count(*) - :rows_before AS rows_written_by_refused_calls FROM activity.activities;

-- rules are checked in order: the first broken one is reported
SELECT pg_temp.expect_error($$SELECT activity.record(NULL, 'rec.nope', NULL, '[]', actor_type => 'robot')$$) AS first_rule;
SELECT pg_temp.expect_error($$SELECT activity.record('rec-ws', 'rec.award', NULL, '[]')$$) AS initiator_before_recipient;

-- an error inside a transaction rolls back that transaction's activities
BEGIN;
SELECT activity.record('rec-tx', 'rec.plain', 'u1', occurred_at => '2031-03-05') IS NOT NULL AS first_ok;
SELECT activity.record('rec-tx', 'rec.award', 'u1', occurred_at => '2031-03-05');
ROLLBACK;
SELECT count(*) AS rec_tx_rows FROM activity.activities WHERE workspace_id = 'rec-tx';

---------------------------------------------------------------------------
-- Metadata limits are settings (superuser only)
---------------------------------------------------------------------------
SHOW activity.max_metadata_bytes;
SHOW activity.max_metadata_depth;
SET activity.max_metadata_bytes = 64;
SELECT activity.record('rec-lim', 'rec.plain', 'u1', '{"a": "b"}', occurred_at => '2031-03-05') IS NOT NULL AS small_ok;
SELECT pg_temp.expect_error($$SELECT activity.record('rec-lim', 'rec.plain', 'u1', jsonb_build_object('text', repeat('x', 100)), occurred_at => '2031-03-05')$$) AS over_64_bytes;
SET activity.max_metadata_bytes = '1kB';
SELECT activity.record('rec-lim', 'rec.plain', 'u1', jsonb_build_object('text', repeat('x', 900)), occurred_at => '2031-03-05') IS NOT NULL AS under_1kb;
SELECT pg_temp.expect_error($$SELECT activity.record('rec-lim', 'rec.plain', 'u1', jsonb_build_object('text', repeat('x', 1100)), occurred_at => '2031-03-05')$$) AS over_1kb;
RESET activity.max_metadata_bytes;
SELECT pg_temp.expect_error($$SET activity.max_metadata_bytes = 63$$) AS bytes_below_min;
SELECT pg_temp.expect_error($$SET activity.max_metadata_bytes = '65MB'$$) AS bytes_above_max;
SELECT pg_temp.expect_error($$SET activity.max_metadata_depth = 0$$) AS depth_below_min;
SELECT pg_temp.expect_error($$SET activity.max_metadata_depth = 1001$$) AS depth_above_max;
SELECT pg_temp.expect_error($$SET activity.no_such_setting = 1$$) AS reserved_prefix;
BEGIN;
CREATE ROLE regress_activity_plain;
SET LOCAL ROLE regress_activity_plain;
SELECT pg_temp.expect_error($$SET activity.max_metadata_bytes = '1MB'$$) AS not_superuser_bytes;
SELECT pg_temp.expect_error($$SET activity.max_metadata_depth = 100$$) AS not_superuser_depth;
ROLLBACK;
SELECT count(*) AS rec_lim_rows FROM activity.activities WHERE workspace_id = 'rec-lim';

-- Nesting depth: the top-level object is depth 1; objects and arrays count.
-- activity.max_metadata_depth counts every level of nesting (54000 beyond it).
SET activity.max_metadata_depth = 2;
SELECT activity.record('rec-depth', 'rec.plain', 'u1', '{"a": {"b": 1}, "c": [1, 2]}', occurred_at => '2031-03-05') IS NOT NULL AS depth_2_ok;
SELECT label, pg_temp.expect_error(format($$SELECT activity.record('rec-depth', 'rec.plain', 'u1', %L, occurred_at => '2031-03-05')$$, doc)) AS error
FROM (VALUES
    ('object in object in object', '{"a": {"b": {"c": 1}}}'),
    ('array in array in object',   '{"a": [[1]]}'),
    ('empty object at depth 3',    '{"a": {"b": {}}}'),
    ('deep after shallow keys',    '{"x": 1, "y": {"z": 2}, "a": [{"b": [0]}]}')
) t(label, doc);
SET activity.max_metadata_depth = 1;
SELECT activity.record('rec-depth', 'rec.plain', 'u1', '{"a": 1, "b": "x"}', occurred_at => '2031-03-05') IS NOT NULL AS depth_1_ok;
SELECT pg_temp.expect_error($$SELECT activity.record('rec-depth', 'rec.plain', 'u1', '{"a": {}}', occurred_at => '2031-03-05')$$) AS depth_2_refused;
RESET activity.max_metadata_depth;
-- default 32: 32 levels pass, 33 do not
SELECT activity.record('rec-depth', 'rec.plain', 'u1', (repeat('{"a": ', 31) || '1' || repeat('}', 31))::jsonb, occurred_at => '2031-03-05') IS NOT NULL AS depth_31_ok;
SELECT activity.record('rec-depth', 'rec.plain', 'u1', (repeat('{"a": ', 32) || '1' || repeat('}', 32))::jsonb, occurred_at => '2031-03-05') IS NOT NULL AS depth_32_ok;
SELECT pg_temp.expect_error($$SELECT activity.record('rec-depth', 'rec.plain', 'u1', (repeat('{"a": ', 33) || '1' || repeat('}', 33))::jsonb, occurred_at => '2031-03-05')$$) AS depth_33_refused;
SELECT pg_temp.expect_error($$SELECT activity.record('rec-depth', 'rec.plain', 'u1', ('{"a": ' || repeat('[', 5000) || repeat(']', 5000) || '}')::jsonb, occurred_at => '2031-03-05')$$) AS depth_5001_refused;
-- only the payloads within the limits were written
SELECT count(*) AS rec_depth_rows FROM activity.activities WHERE workspace_id = 'rec-depth';
