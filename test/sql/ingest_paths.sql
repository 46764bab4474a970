-- Every ingestion path (INSERT, multi-row INSERT, INSERT ... SELECT, COPY FROM
-- STDIN, COPY in CSV, inserts into a partition directly, record()) goes through
-- the same validation trigger, completes rows the same way, and writes nothing
-- of a statement that has a bad row.
SET TIME ZONE 'UTC';
SET datestyle = 'ISO, YMD';

\i test/sql/include/expect_error.sql

-- COPY run by the server from a program that prints the given text, so that
-- the SQLSTATE of a refused COPY can be shown (psql sets no error variables
-- for COPY FROM STDIN). The data travels base64-encoded: no shell quoting.
CREATE FUNCTION pg_temp.copy_error(target text, options text, data text) RETURNS text
LANGUAGE sql AS $$
    SELECT pg_temp.expect_error(format('COPY %s FROM PROGRAM %L %s', target,
        'echo ' || translate(encode(convert_to(data, 'UTF8'), 'base64'), E'\n', '') || ' | base64 -d',
        options))
$$;

SELECT name FROM activity.register_type('ip.plain');
SELECT name FROM activity.register_type('ip.award', recipient => 'required');
SELECT name FROM activity.register_type('ip.post', recipient => 'forbidden');
SELECT name FROM activity.register_type('ip.chat', platforms => '{discord}');
SELECT name FROM activity.register_type('IP_LINK', actor_types => '{system}');

-- ranges for this test: 2032-01 and 2032-02 get partitions, the rest of the
-- dates used here (1990, 2032-03, 2090) stay in the default partition
SELECT partition, lower, upper FROM activity.create_partitions('2032-01-01', '2032-03-01');

---------------------------------------------------------------------------
-- Accepted rows, completed the same way on every path
---------------------------------------------------------------------------
-- plain INSERT, omitted columns take their defaults
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
VALUES ('ip-ws', 'ip.plain', 'insert', '2032-01-10 10:00:00+00');
-- explicit NULLs for id, version, metadata and recorded_at are completed by the trigger
INSERT INTO activity.activities (id, workspace_id, type, version, initiator_id, metadata, occurred_at, recorded_at)
VALUES (NULL, 'ip-ws', 'ip.plain', NULL, 'insert-nulls', NULL, '2032-01-10 11:00:00+00', NULL);
-- a multi-row INSERT over a range partition, the default partition and outliers
INSERT INTO activity.activities (workspace_id, type, initiator_id, recipient_id, platform, occurred_at) VALUES
    ('ip-ws', 'ip.award', 'multi', 'u2', NULL, '2032-02-10 10:00:00+00'),
    ('ip-ws', 'ip.chat', 'multi', NULL, 'discord', '2032-03-10 10:00:00+00'),
    ('ip-ws', 'ip.plain', 'multi', NULL, NULL, '1990-01-01 00:00:00+00'),
    ('ip-ws', 'ip.plain', 'multi', NULL, NULL, '2090-12-31 23:59:59+00');
-- INSERT ... SELECT
INSERT INTO activity.activities (workspace_id, type, initiator_id, metadata, occurred_at)
SELECT 'ip-ws', 'ip.plain', 'select', jsonb_build_object('n', g), '2032-01-01'::timestamptz + g * interval '1 day'
FROM generate_series(1, 40) g;
-- INSERT ... SELECT of outliers
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
SELECT 'ip-ws', 'ip.plain', 'select-outlier', d
FROM unnest('{1990-06-01, 1990-06-02, 2090-06-01}'::timestamptz[]) d;
-- COPY FROM STDIN, text format
COPY activity.activities (workspace_id, type, initiator_id, recipient_id, platform, actor_type, metadata, occurred_at) FROM STDIN;
ip-ws	ip.plain	copy	\N	\N	user	{"k": "v"}	2032-01-20 10:00:00+00
ip-ws	ip.award	copy	u9	\N	agent	{}	2032-02-20 10:00:00+00
ip-ws	ip.chat	copy	\N	discord	user	{"m": [1, 2]}	2032-03-20 10:00:00+00
ip-ws	IP_LINK	\N	\N	\N	system	{}	1990-02-02 02:02:02+00
ip-ws	ip.plain	copy	\N	\N	user	{}	2090-02-02 02:02:02+00
\.
-- COPY, CSV format
COPY activity.activities (workspace_id, type, initiator_id, occurred_at) FROM STDIN (FORMAT csv, HEADER true);
workspace_id,type,initiator_id,occurred_at
ip-ws,ip.plain,csv,2032-01-21 10:00:00+00
ip-ws,ip.plain,csv,1990-03-03 03:03:03+00
\.
-- record()
SELECT activity.record('ip-ws', 'ip.plain', 'record', occurred_at => '2032-01-22 10:00:00+00') IS NOT NULL AS recorded;
SELECT activity.record('ip-ws', 'ip.plain', 'record', occurred_at => '1990-04-04 04:04:04+00') IS NOT NULL AS recorded;
SELECT activity.record('ip-ws', 'ip.plain', 'record', occurred_at => '2090-04-04 04:04:04+00') IS NOT NULL AS recorded;
-- straight into a partition: the trigger is cloned onto every partition
INSERT INTO activity_partitions.activities_p20320101 (workspace_id, type, initiator_id, occurred_at)
VALUES ('ip-ws', 'ip.plain', 'partition', '2032-01-23 10:00:00+00');
INSERT INTO activity_partitions.activities_default (workspace_id, type, initiator_id, occurred_at)
VALUES ('ip-ws', 'ip.plain', 'partition', '2090-05-05 05:05:05+00');

-- every row accepted, completed, and placed by its date
SELECT initiator_id AS path,
       count(*) AS n,
       bool_and(activity.uuidv7_time(id) IS NOT NULL) AS uuidv7_ids,
       bool_and(version = 0) AS version_0,
       bool_and(metadata IS NOT NULL AND jsonb_typeof(metadata) = 'object') AS metadata_object,
       bool_and(recorded_at IS NOT NULL) AS recorded_at_set,
       count(*) FILTER (WHERE tableoid = 'activity_partitions.activities_default'::regclass) AS in_default,
       count(*) FILTER (WHERE tableoid <> 'activity_partitions.activities_default'::regclass) AS in_ranges
FROM activity.activities WHERE workspace_id = 'ip-ws'
GROUP BY 1 ORDER BY 1 NULLS FIRST;
-- every row is in the partition that covers its date
SELECT p.partition, p.lower, p.upper, count(a.id) AS rows
FROM activity.partitions() p
LEFT JOIN activity.activities a ON a.tableoid = p.partition AND a.workspace_id = 'ip-ws'
WHERE p.is_default OR p.lower >= '2032-01-01' AND p.upper <= '2032-03-01'
GROUP BY 1, 2, 3 ORDER BY p.lower NULLS LAST;
SELECT count(*) AS misplaced
FROM activity.activities a JOIN activity.partitions() p ON a.tableoid = p.partition
WHERE a.workspace_id = 'ip-ws' AND NOT p.is_default
  AND NOT (a.occurred_at >= p.lower AND a.occurred_at < p.upper);
SELECT count(*) AS default_rows_with_a_range_partition
FROM activity_partitions.activities_default d JOIN activity.partitions() p
  ON NOT p.is_default AND d.occurred_at >= p.lower AND d.occurred_at < p.upper
WHERE d.workspace_id = 'ip-ws';
-- the explicit NULLs were completed
SELECT activity.uuidv7_time(id) IS NOT NULL AS id_set, version, metadata, recorded_at IS NOT NULL AS recorded_at_set
FROM activity.activities WHERE initiator_id = 'insert-nulls';

---------------------------------------------------------------------------
-- The same bad row gets the same error on every path
---------------------------------------------------------------------------
CREATE TEMP TABLE cases (
    label text, workspace_id text, type text, actor_type text, initiator_id text,
    recipient_id text, platform text, subject_type text, subject_id text,
    version int2, metadata jsonb, occurred_at timestamptz, caused_by uuid);
INSERT INTO cases VALUES
    ('workspace null',        NULL,    'ip.plain', 'user',   'u1', NULL, NULL, NULL, NULL, NULL, '{}', '2032-01-05', NULL),
    ('workspace empty',       '',      'ip.plain', 'user',   'u1', NULL, NULL, NULL, NULL, NULL, '{}', '2032-01-05', NULL),
    ('workspace too long',    repeat('w', 1025), 'ip.plain', 'user', 'u1', NULL, NULL, NULL, NULL, NULL, '{}', '2032-01-05', NULL),
    ('type null',             'ip-ws', NULL,       'user',   'u1', NULL, NULL, NULL, NULL, NULL, '{}', '2032-01-05', NULL),
    ('type unknown',          'ip-ws', 'ip.nope',  'user',   'u1', NULL, NULL, NULL, NULL, NULL, '{}', '2032-01-05', NULL),
    ('actor_type null',       'ip-ws', 'ip.plain', NULL,     'u1', NULL, NULL, NULL, NULL, NULL, '{}', '2032-01-05', NULL),
    ('actor_type invalid',    'ip-ws', 'ip.plain', 'bot',    'u1', NULL, NULL, NULL, NULL, NULL, '{}', '2032-01-05', NULL),
    ('actor_type not allowed','ip-ws', 'IP_LINK',  'agent',  'u1', NULL, NULL, NULL, NULL, NULL, '{}', '2032-01-05', NULL),
    ('initiator null',        'ip-ws', 'ip.plain', 'user',   NULL, NULL, NULL, NULL, NULL, NULL, '{}', '2032-01-05', NULL),
    ('initiator empty',       'ip-ws', 'ip.plain', 'user',   '',   NULL, NULL, NULL, NULL, NULL, '{}', '2032-01-05', NULL),
    ('recipient required',    'ip-ws', 'ip.award', 'user',   'u1', NULL, NULL, NULL, NULL, NULL, '{}', '2032-01-05', NULL),
    ('recipient forbidden',   'ip-ws', 'ip.post',  'user',   'u1', 'u2', NULL, NULL, NULL, NULL, '{}', '2032-01-05', NULL),
    ('platform missing',      'ip-ws', 'ip.chat',  'user',   'u1', NULL, NULL, NULL, NULL, NULL, '{}', '2032-01-05', NULL),
    ('platform not allowed',  'ip-ws', 'ip.chat',  'user',   'u1', NULL, 'slack', NULL, NULL, NULL, '{}', '2032-01-05', NULL),
    ('platform empty',        'ip-ws', 'ip.plain', 'user',   'u1', NULL, '',   NULL, NULL, NULL, '{}', '2032-01-05', NULL),
    ('subject half',          'ip-ws', 'ip.plain', 'user',   'u1', NULL, NULL, 'issue', NULL, NULL, '{}', '2032-01-05', NULL),
    ('subject_id too long',   'ip-ws', 'ip.plain', 'user',   'u1', NULL, NULL, 'issue', repeat('s', 1025), NULL, '{}', '2032-01-05', NULL),
    ('occurred_at infinity',  'ip-ws', 'ip.plain', 'user',   'u1', NULL, NULL, NULL, NULL, NULL, '{}', 'infinity', NULL),
    ('occurred_at -infinity', 'ip-ws', 'ip.plain', 'user',   'u1', NULL, NULL, NULL, NULL, NULL, '{}', '-infinity', NULL),
    ('version unknown',       'ip-ws', 'ip.plain', 'user',   'u1', NULL, NULL, NULL, NULL, 3,    '{}', '2032-01-05', NULL),
    ('metadata array',        'ip-ws', 'ip.plain', 'user',   'u1', NULL, NULL, NULL, NULL, NULL, '[]', '2032-01-05', NULL),
    ('metadata string',       'ip-ws', 'ip.plain', 'user',   'u1', NULL, NULL, NULL, NULL, NULL, '"x"', '2032-01-05', NULL),
    ('metadata too large',    'ip-ws', 'ip.plain', 'user',   'u1', NULL, NULL, NULL, NULL, NULL, jsonb_build_object('x', repeat('x', 300000)), '2032-01-05', NULL),
    ('caused_by unknown',     'ip-ws', 'IP_LINK',  'system', NULL, NULL, NULL, NULL, NULL, NULL, '{}', '2032-01-05', '01890000-0000-7000-8000-00000000dead'),
    ('bad row dated 1990',    'ip-ws', 'ip.nope',  'user',   'u1', NULL, NULL, NULL, NULL, NULL, '{}', '1990-01-05', NULL),
    ('bad row dated 2090',    'ip-ws', 'ip.nope',  'user',   'u1', NULL, NULL, NULL, NULL, NULL, '{}', '2090-01-05', NULL);

SELECT count(*) AS rows_before FROM activity.activities \gset
WITH errors AS (
    SELECT label,
           pg_temp.expect_error(format(
               'INSERT INTO activity.activities (workspace_id, type, actor_type, initiator_id, recipient_id, platform,'
               ' subject_type, subject_id, version, metadata, occurred_at, caused_by)'
               ' VALUES (%L, %L, %L, %L, %L, %L, %L, %L, %L, %L, %L, %L)',
               workspace_id, type, actor_type, initiator_id, recipient_id, platform,
               subject_type, subject_id, version, metadata, occurred_at, caused_by)) AS via_insert,
           pg_temp.expect_error(format(
               'INSERT INTO activity.activities (workspace_id, type, actor_type, initiator_id, recipient_id, platform,'
               ' subject_type, subject_id, version, metadata, occurred_at, caused_by)'
               ' SELECT workspace_id, type, actor_type, initiator_id, recipient_id, platform,'
               ' subject_type, subject_id, version, metadata, occurred_at, caused_by FROM cases WHERE label = %L',
               label)) AS via_insert_select,
           pg_temp.expect_error(format(
               'SELECT activity.record(%L, %L, %L, %L, %L, %L, %L, %L, %L, %L, %L, %L)',
               workspace_id, type, initiator_id, metadata, recipient_id, actor_type, version, occurred_at,
               platform, subject_type, subject_id, caused_by)) AS via_record
    FROM cases
)
SELECT label, via_insert AS error,
       via_insert_select = via_insert AS same_insert_select,
       via_record = via_insert AS same_record
FROM errors;
SELECT count(*) - :rows_before AS rows_written FROM activity.activities;

---------------------------------------------------------------------------
-- One bad row refuses the whole statement
---------------------------------------------------------------------------
SELECT count(*) AS rows_before FROM activity.activities \gset
-- multi-row INSERT, the bad row last
SELECT pg_temp.expect_error($$
    INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at) VALUES
        ('ip-batch', 'ip.plain', 'u1', '2032-01-05'),
        ('ip-batch', 'ip.plain', 'u1', '1990-01-05'),
        ('ip-batch', 'ip.plain', 'u1', '2090-01-05'),
        ('ip-batch', 'ip.award', 'u1', '2032-01-06')$$) AS multi_row_insert;
-- INSERT ... SELECT of 1000 rows, row 999 bad
SELECT pg_temp.expect_error($$
    INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
    SELECT 'ip-batch', CASE WHEN g = 999 THEN 'ip.nope' ELSE 'ip.plain' END, 'u' || g,
           '2032-01-01'::timestamptz + g * interval '1 hour'
    FROM generate_series(1, 1000) g$$) AS insert_select_1000;
-- INSERT ... SELECT, the bad row is an outlier
SELECT pg_temp.expect_error($$
    INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
    SELECT 'ip-batch', 'ip.plain', CASE WHEN g = 3 THEN '' ELSE 'u' END, d
    FROM unnest('{2032-01-05, 1990-01-05, 2090-01-05}'::timestamptz[]) WITH ORDINALITY AS t(d, g)$$) AS insert_select_outlier;
-- an activity cannot be its own cause
SELECT pg_temp.expect_error($$
    INSERT INTO activity.activities (id, workspace_id, type, actor_type, initiator_id, occurred_at, caused_by) VALUES
        ('01890000-0000-7000-8000-0000000000ab', 'ip-batch', 'IP_LINK', 'system', NULL, '2032-01-05', '01890000-0000-7000-8000-0000000000ab')$$) AS caused_by_itself;
-- COPY: the bad row (line 3) refuses the whole COPY
COPY activity.activities (workspace_id, type, initiator_id, occurred_at) FROM STDIN;
ip-batch	ip.plain	u1	2032-01-05 00:00:00+00
ip-batch	ip.plain	u2	1990-01-05 00:00:00+00
ip-batch	ip.plain	\N	2032-01-05 00:00:00+00
ip-batch	ip.plain	u4	2090-01-05 00:00:00+00
\.
-- COPY: the bad row is the last one, a 2090 outlier
COPY activity.activities (workspace_id, type, initiator_id, occurred_at) FROM STDIN (FORMAT csv);
ip-batch,ip.plain,u1,2032-01-05 00:00:00+00
ip-batch,ip.plain,u2,1990-01-05 00:00:00+00
ip-batch,ip.nope,u3,2090-01-05 00:00:00+00
\.
-- COPY: metadata that is not an object
COPY activity.activities (workspace_id, type, initiator_id, metadata, occurred_at) FROM STDIN;
ip-batch	ip.plain	u1	{}	2032-01-05 00:00:00+00
ip-batch	ip.plain	u1	[1]	2032-01-05 00:00:00+00
\.
-- COPY: an explicit NULL occurred_at
COPY activity.activities (workspace_id, type, initiator_id, occurred_at) FROM STDIN;
ip-batch	ip.plain	u1	\N
\.
-- Straight into a partition, rows are validated unless the log's owner
-- writes them in its own session, as pg_restore does (they were validated
-- when first written): a role that was granted INSERT on a partition is
-- checked like any other
BEGIN;
CREATE ROLE ip_loader;
GRANT USAGE ON SCHEMA activity, activity_partitions TO ip_loader;
GRANT INSERT ON activity_partitions.activities_default, activity_partitions.activities_p20320101 TO ip_loader;
SET LOCAL ROLE ip_loader;
SELECT pg_temp.expect_error($$
    INSERT INTO activity_partitions.activities_default (workspace_id, type, version, initiator_id, occurred_at)
    VALUES ('ip-batch', 'ip.award', 0, 'u1', '2090-01-05')$$) AS other_role_into_default;
SELECT pg_temp.expect_error($$
    INSERT INTO activity_partitions.activities_p20320101 (workspace_id, type, version, initiator_id, occurred_at)
    VALUES ('ip-batch', 'ip.nope', 0, 'u1', '2032-01-05')$$) AS other_role_into_range_partition;
RESET ROLE;
-- the owner's COPY of restored rows, each carrying its version: stored as written
COPY activity_partitions.activities_default (workspace_id, type, version, initiator_id, occurred_at) FROM STDIN;
ip-batch	ip.plain	0	u1	2090-01-05 00:00:00+00
ip-batch	ip.award	0	u1	2090-01-05 00:00:00+00
\.
SELECT type, recipient_id FROM activity_partitions.activities_default WHERE workspace_id = 'ip-batch' ORDER BY type;
-- but once the transaction has written through the log, every row is checked
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at) VALUES ('ip-batch', 'ip.plain', 'u1', '2032-01-05');
SELECT pg_temp.expect_error($$
    INSERT INTO activity_partitions.activities_default (workspace_id, type, version, initiator_id, occurred_at)
    VALUES ('ip-batch', 'ip.award', 0, 'u1', '2090-01-05')$$) AS owner_after_writing_through_the_log;
ROLLBACK;
-- the same refused COPYs, run by the server, with their SQLSTATE
SELECT label, pg_temp.copy_error(target, options, data) AS error
FROM (VALUES
    ('bad line 3 of 4', 'activity.activities (workspace_id, type, initiator_id, occurred_at)', '',
     E'ip-batch\tip.plain\tu1\t2032-01-05 00:00:00+00\nip-batch\tip.plain\tu2\t1990-01-05 00:00:00+00\n'
     || E'ip-batch\tip.plain\t\\N\t2032-01-05 00:00:00+00\nip-batch\tip.plain\tu4\t2090-01-05 00:00:00+00\n'),
    ('csv, bad last line (2090)', 'activity.activities (workspace_id, type, initiator_id, occurred_at)', '(FORMAT csv)',
     E'ip-batch,ip.plain,u1,2032-01-05 00:00:00+00\nip-batch,ip.plain,u2,1990-01-05 00:00:00+00\nip-batch,ip.nope,u3,2090-01-05 00:00:00+00\n'),
    ('metadata not an object', 'activity.activities (workspace_id, type, initiator_id, metadata, occurred_at)', '',
     E'ip-batch\tip.plain\tu1\t{}\t2032-01-05 00:00:00+00\nip-batch\tip.plain\tu1\t[1]\t2032-01-05 00:00:00+00\n'),
    ('occurred_at NULL', 'activity.activities (workspace_id, type, initiator_id, occurred_at)', '',
     E'ip-batch\tip.plain\tu1\t\\N\n')
) t(label, target, options, data);
-- and a good one, to show the helper does load rows (rolled back)
BEGIN;
SELECT pg_temp.copy_error('activity.activities (workspace_id, type, initiator_id, occurred_at)', '',
                          E'ip-batch\tip.plain\tu1\t2032-01-05 00:00:00+00\nip-batch\tip.plain\tu2\t1990-01-05 00:00:00+00\n') AS good_copy;
SELECT count(*) AS loaded FROM activity.activities WHERE workspace_id = 'ip-batch';
ROLLBACK;
-- INSERT into a range partition directly is validated too
SELECT pg_temp.expect_error($$
    INSERT INTO activity_partitions.activities_p20320101 (workspace_id, type, initiator_id, occurred_at)
    VALUES ('ip-batch', 'ip.plain', 'u1', '2032-01-05'), ('ip-batch', 'ip.nope', 'u1', '2032-01-05')$$) AS into_range_partition;
-- a row outside a partition's range is refused when inserted into that
-- partition (PostgreSQL reports it this way because the validation trigger is
-- a BEFORE trigger cloned from the parent)
SELECT pg_temp.expect_error($$
    INSERT INTO activity_partitions.activities_p20320101 (workspace_id, type, initiator_id, occurred_at)
    VALUES ('ip-batch', 'ip.plain', 'u1', '2032-05-05')$$) AS outside_partition_range;
SELECT pg_temp.expect_error($$
    INSERT INTO activity_partitions.activities_default (workspace_id, type, initiator_id, occurred_at)
    VALUES ('ip-batch', 'ip.plain', 'u1', '2032-01-05')$$) AS default_row_of_a_range_partition;
-- nothing of any of these statements was written
SELECT count(*) - :rows_before AS rows_written FROM activity.activities;
SELECT count(*) AS ip_batch_rows FROM activity.activities WHERE workspace_id = 'ip-batch';

---------------------------------------------------------------------------
-- Client-chosen ids: an id is stored once, whatever occurred_at or
-- workspace a retry carries, on every path
---------------------------------------------------------------------------
SELECT count(*) AS rows_before FROM activity.activities WHERE workspace_id IN ('ip-ids', 'ip-other') \gset
INSERT INTO activity.activities (id, workspace_id, type, initiator_id, occurred_at)
VALUES ('01890000-0000-7000-8000-0000000000ff', 'ip-ids', 'ip.plain', 'u1', '2032-01-07');
SELECT label, pg_temp.expect_error(sql) AS error
FROM (VALUES
    ('same occurred_at',      $$INSERT INTO activity.activities (id, workspace_id, type, initiator_id, occurred_at)
                                VALUES ('01890000-0000-7000-8000-0000000000ff', 'ip-ids', 'ip.plain', 'u1', '2032-01-07')$$),
    ('another partition',     $$INSERT INTO activity.activities (id, workspace_id, type, initiator_id, occurred_at)
                                VALUES ('01890000-0000-7000-8000-0000000000ff', 'ip-ids', 'ip.plain', 'u1', '2032-01-08')$$),
    ('the default partition', $$INSERT INTO activity.activities (id, workspace_id, type, initiator_id, occurred_at)
                                VALUES ('01890000-0000-7000-8000-0000000000ff', 'ip-ids', 'ip.plain', 'u1', '2090-01-07')$$),
    ('another workspace',     $$INSERT INTO activity.activities (id, workspace_id, type, initiator_id, occurred_at)
                                VALUES ('01890000-0000-7000-8000-0000000000ff', 'ip-other', 'ip.plain', 'u1', '2032-01-07')$$),
    ('twice in one INSERT',   $$INSERT INTO activity.activities (id, workspace_id, type, initiator_id, occurred_at)
                                VALUES ('01890000-0000-7000-8000-0000000000fe', 'ip-ids', 'ip.plain', 'u1', '2090-01-07'),
                                       ('01890000-0000-7000-8000-0000000000fe', 'ip-ids', 'ip.plain', 'u1', '1990-01-07')$$),
    ('ON CONFLICT DO NOTHING', $$INSERT INTO activity.activities (id, workspace_id, type, initiator_id, occurred_at)
                                VALUES ('01890000-0000-7000-8000-0000000000ff', 'ip-ids', 'ip.plain', 'u1', '2032-01-09')
                                ON CONFLICT DO NOTHING$$),
    ('record() of another type', $$SELECT activity.record('ip-ids', 'ip.chat', 'u1', platform => 'discord',
                                                          id => '01890000-0000-7000-8000-0000000000ff')$$),
    ('record() of another workspace', $$SELECT activity.record('ip-other', 'ip.plain', 'u1',
                                                               id => '01890000-0000-7000-8000-0000000000ff')$$)
) t(label, sql);
SELECT pg_temp.copy_error('activity.activities (id, workspace_id, type, initiator_id, occurred_at)', '',
    E'01890000-0000-7000-8000-0000000000ff\tip-ids\tip.plain\tu1\t2033-01-07 00:00:00+00\n') AS copy;
-- record() with an id is the way to retry: it returns the id and records nothing
SELECT activity.record('ip-ids', 'ip.plain', 'u1', occurred_at => '2032-01-10',
                       id => '01890000-0000-7000-8000-0000000000ff') AS retried;
SELECT activity.record('ip-ids', 'ip.plain', 'u1', occurred_at => '2032-01-10',
                       id => '01890000-0000-7000-8000-0000000000fd') AS first_time;
SELECT activity.record('ip-ids', 'ip.plain', 'u1', occurred_at => '2090-01-10',
                       id => '01890000-0000-7000-8000-0000000000fd') AS retried_with_another_time;
SELECT count(*) - :rows_before AS rows_written,
       count(DISTINCT id) = count(*) AS ids_unique
FROM activity.activities WHERE workspace_id IN ('ip-ids', 'ip-other');
SELECT id, occurred_at FROM activity.event_ids
WHERE id IN ('01890000-0000-7000-8000-0000000000ff', '01890000-0000-7000-8000-0000000000fe', '01890000-0000-7000-8000-0000000000fd')
ORDER BY id;

---------------------------------------------------------------------------
-- caused_by is checked once the statement's rows are in place, as a foreign
-- key is: a statement (or a COPY of a log) may carry an event and the
-- synthetic events it caused, in any order
---------------------------------------------------------------------------
INSERT INTO activity.activities (id, workspace_id, type, actor_type, initiator_id, occurred_at, caused_by) VALUES
    (DEFAULT, 'ip-same', 'IP_LINK', 'system', NULL, '2032-01-05', '01890000-0000-7000-8000-0000000000ba'),
    ('01890000-0000-7000-8000-0000000000ba', 'ip-same', 'ip.plain', 'user', 'u1', '2032-01-05', NULL);
COPY activity.activities (id, workspace_id, type, version, actor_type, initiator_id, occurred_at, caused_by) FROM STDIN;
01890000-0000-7000-8000-0000000000bb	ip-same	ip.plain	0	user	u1	2032-01-06 00:00:00+00	\N
01890000-0000-7000-8000-0000000000bc	ip-same	IP_LINK	0	system	\N	2032-01-06 00:00:00+00	01890000-0000-7000-8000-0000000000bb
\.
SELECT type, caused_by FROM activity.activities WHERE workspace_id = 'ip-same' ORDER BY occurred_at, type;
-- but the cause must be there when the statement ends
SELECT pg_temp.copy_error('activity.activities (workspace_id, type, version, actor_type, initiator_id, occurred_at, caused_by)', '',
    E'ip-same\tIP_LINK\t0\tsystem\t\\N\t2032-01-06 00:00:00+00\t01890000-0000-7000-8000-0000000000ee\n') AS copy_caused_by_missing;

---------------------------------------------------------------------------
-- A partition attached by hand, with another column order and a dropped
-- column, is validated and completed like the others
---------------------------------------------------------------------------
BEGIN;
CREATE TABLE activity_partitions.hand_made (
    junk int, xact_id xid8 DEFAULT pg_current_xact_id(), occurred_at timestamptz NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now(),
    metadata jsonb NOT NULL DEFAULT '{}', caused_by uuid, subject_id text, subject_type text,
    recipient_id text, initiator_id text, actor_type text NOT NULL DEFAULT 'user', version int2 NOT NULL,
    type text NOT NULL, platform text, workspace_id text NOT NULL, function_type text,
    id uuid NOT NULL DEFAULT activity.uuidv7());
ALTER TABLE activity_partitions.hand_made DROP COLUMN junk;
ALTER TABLE activity.activities ATTACH PARTITION activity_partitions.hand_made FOR VALUES FROM ('2038-01-01') TO ('2038-02-01');
-- while a partition lacks the validation constraint, the log refuses every
-- write through it (its rows would not be checked) ...
SELECT pg_temp.expect_error($$SELECT activity.record('ip-hand', 'ip.plain', 'u1')$$) AS unvalidated_partition;
-- ... and so it does when the constraint calls the validator on other columns
ALTER TABLE activity_partitions.hand_made ADD CONSTRAINT activities_valid CHECK (
    activity._valid_activity(id, workspace_id, platform, type, version, actor_type,
                             initiator_id, initiator_id, subject_type, subject_id, caused_by,
                             metadata, occurred_at, recorded_at, function_type, xact_id)) NOT VALID;
SELECT pg_temp.expect_error($$SELECT activity.record('ip-hand', 'ip.plain', 'u1')$$) AS wrong_constraint;
ALTER TABLE activity_partitions.hand_made DROP CONSTRAINT activities_valid;
-- maintain() adds it
SELECT action, partition FROM activity.maintain() WHERE action = 'validation added';
INSERT INTO activity.activities (id, workspace_id, type, version, initiator_id, recipient_id, metadata, occurred_at, recorded_at)
VALUES (NULL, 'ip-hand', 'ip.award', NULL, 'u1', 'u2', NULL, '2038-01-05', NULL),
       (DEFAULT, 'ip-hand', 'ip.plain', DEFAULT, 'u1', NULL, '{"a": 1}', '1990-01-05', DEFAULT);
SELECT activity.record('ip-hand', 'ip.chat', 'u1', platform => 'discord', occurred_at => '2038-01-06') IS NOT NULL AS recorded;
SELECT a.tableoid::regclass AS stored_in, type, activity.uuidv7_time(id) IS NOT NULL AS id_set, version, actor_type,
       initiator_id, recipient_id, platform, metadata, occurred_at, recorded_at = now() AS recorded_now
FROM activity.activities a WHERE workspace_id = 'ip-hand' ORDER BY occurred_at;
SELECT pg_temp.expect_error($$INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
                              VALUES ('ip-hand', 'ip.award', 'u1', '2038-01-07')$$) AS refused;
SELECT count(*) AS paged FROM activity.page('ip-hand');
ROLLBACK;
