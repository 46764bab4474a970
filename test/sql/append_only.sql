-- The log is append-only: UPDATE, DELETE and TRUNCATE are refused on the
-- parent table and on every partition (range partitions, partitions made by
-- moving rows out of the default partition, the default partition itself),
-- whichever statement form is used. Nothing changes.
SET TIME ZONE 'UTC';
SET datestyle = 'ISO, YMD';

\i test/sql/include/expect_error.sql

SELECT name FROM activity.register_type('ao.event');
-- a range partition made empty, rows in it, rows in the default partition,
-- then a partition made by moving rows out of the default partition
SELECT partition FROM activity.create_partitions('2033-01-01', '2033-02-01');
INSERT INTO activity.activities (id, workspace_id, type, initiator_id, occurred_at) VALUES
    ('01890000-0000-7000-8000-00000000a001', 'ao-ws', 'ao.event', 'u1', '2033-01-10'),
    ('01890000-0000-7000-8000-00000000a002', 'ao-ws', 'ao.event', 'u2', '2033-01-11'),
    ('01890000-0000-7000-8000-00000000a003', 'ao-ws', 'ao.event', 'u3', '2033-05-10'),
    ('01890000-0000-7000-8000-00000000a004', 'ao-ws', 'ao.event', 'u4', '1990-05-10'),
    ('01890000-0000-7000-8000-00000000a005', 'ao-ws', 'ao.event', 'u5', '2090-05-10');
SELECT partition FROM activity.create_partitions('2033-05-01', '2033-06-01');
SELECT id, a.tableoid::regclass AS partition FROM activity.activities a WHERE workspace_id = 'ao-ws' ORDER BY id;

SELECT count(*) AS n, md5(string_agg(a::text, ',' ORDER BY id)) AS digest
FROM activity.activities a WHERE workspace_id = 'ao-ws' \gset before_

-- every partition carries the guards, the completion trigger and the
-- validation constraint, NOT VALID (it checks every row written, never the
-- rows already there: a restore does not judge them again)
SELECT count(*) >= 3 AS several_partitions,
       count(*) = count(*) FILTER (WHERE guards = '{activities_append_only,activities_caused_by,activities_complete,activities_no_truncate}') AS all_guarded,
       bool_and(EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conrelid = s.partition
                        AND c.conname = 'activities_valid' AND c.contype = 'c' AND NOT c.convalidated)) AS all_validated
FROM (SELECT p.partition, array_agg(t.tgname::text ORDER BY t.tgname) AS guards
      FROM activity.partitions() p
      LEFT JOIN pg_trigger t ON t.tgrelid = p.partition AND t.tgname LIKE 'activities\_%' AND t.tgenabled = 'O'
      GROUP BY p.partition) s;

SELECT label, pg_temp.expect_error(sql) AS error
FROM (VALUES
    ('UPDATE parent',                  $$UPDATE activity.activities SET initiator_id = 'x' WHERE workspace_id = 'ao-ws'$$),
    ('UPDATE parent, one row',         $$UPDATE activity.activities SET metadata = '{"a": 1}' WHERE id = '01890000-0000-7000-8000-00000000a002'$$),
    ('UPDATE moving a row',            $$UPDATE activity.activities SET occurred_at = '2033-05-11' WHERE id = '01890000-0000-7000-8000-00000000a001'$$),
    ('UPDATE default partition row',   $$UPDATE activity.activities SET type = 'ao.event' WHERE id = '01890000-0000-7000-8000-00000000a004'$$),
    ('DELETE parent',                  $$DELETE FROM activity.activities WHERE workspace_id = 'ao-ws'$$),
    ('DELETE parent, outlier',         $$DELETE FROM activity.activities WHERE id = '01890000-0000-7000-8000-00000000a005'$$),
    ('DELETE ... RETURNING',           $$DELETE FROM activity.activities WHERE workspace_id = 'ao-ws' RETURNING id$$),
    ('DELETE in a CTE',                $$WITH d AS (DELETE FROM activity.activities WHERE workspace_id = 'ao-ws' RETURNING 1) SELECT count(*) FROM d$$),
    ('TRUNCATE parent',                $$TRUNCATE activity.activities$$),
    ('TRUNCATE ONLY parent',           $$TRUNCATE ONLY activity.activities$$),
    ('UPDATE range partition',         $$UPDATE activity_partitions.activities_p20330101 SET initiator_id = 'x'$$),
    ('DELETE range partition',         $$DELETE FROM activity_partitions.activities_p20330101$$),
    ('TRUNCATE range partition',       $$TRUNCATE activity_partitions.activities_p20330101$$),
    ('UPDATE moved-into partition',    $$UPDATE activity_partitions.activities_p20330501 SET initiator_id = 'x'$$),
    ('DELETE moved-into partition',    $$DELETE FROM activity_partitions.activities_p20330501$$),
    ('TRUNCATE moved-into partition',  $$TRUNCATE activity_partitions.activities_p20330501$$),
    ('UPDATE default partition',       $$UPDATE activity_partitions.activities_default SET initiator_id = 'x' WHERE workspace_id = 'ao-ws'$$),
    ('DELETE default partition',       $$DELETE FROM activity_partitions.activities_default WHERE workspace_id = 'ao-ws'$$),
    ('TRUNCATE default partition',     $$TRUNCATE activity_partitions.activities_default$$),
    ('TRUNCATE several',               $$TRUNCATE activity_partitions.activities_p20330101, activity_partitions.activities_default$$),
    ('MERGE ... UPDATE',               $$MERGE INTO activity.activities a USING (SELECT '01890000-0000-7000-8000-00000000a001'::uuid AS id) s ON a.id = s.id
                                         WHEN MATCHED THEN UPDATE SET initiator_id = 'x'$$),
    ('MERGE ... DELETE',               $$MERGE INTO activity.activities a USING (SELECT '01890000-0000-7000-8000-00000000a003'::uuid AS id) s ON a.id = s.id
                                         WHEN MATCHED THEN DELETE$$),
    ('ON CONFLICT DO UPDATE (partition)', $$INSERT INTO activity_partitions.activities_p20330101 (id, workspace_id, type, initiator_id, occurred_at)
                                         VALUES ('01890000-0000-7000-8000-00000000a001', 'ao-ws', 'ao.event', 'u1', '2033-01-10')
                                         ON CONFLICT (workspace_id, occurred_at, id) DO UPDATE SET initiator_id = 'x'$$)
) t(label, sql);

-- nothing changed
SELECT count(*) = :before_n AS same_count,
       md5(string_agg(a::text, ',' ORDER BY id)) = :'before_digest' AS same_rows
FROM activity.activities a WHERE workspace_id = 'ao-ws';

-- the error in full, as a client sees it
\set VERBOSITY default
UPDATE activity.activities SET initiator_id = 'x' WHERE id = '01890000-0000-7000-8000-00000000a001';
TRUNCATE activity.activities;

-- row triggers fire per row: a statement that matches no row does nothing and succeeds
UPDATE activity.activities SET initiator_id = 'x' WHERE workspace_id = 'ao-nobody';
DELETE FROM activity.activities WHERE false;

-- MERGE may insert: the inserted row is validated like any other
SELECT pg_temp.expect_error($$MERGE INTO activity.activities a USING (SELECT 'ao-merge' AS w) s ON a.workspace_id = s.w
                              WHEN NOT MATCHED THEN INSERT (workspace_id, type, initiator_id, occurred_at) VALUES (s.w, 'ao.nope', 'u1', '2033-01-12')$$) AS merge_insert_bad;
MERGE INTO activity.activities a USING (SELECT 'ao-merge' AS w) s ON a.workspace_id = s.w
WHEN NOT MATCHED THEN INSERT (workspace_id, type, initiator_id, occurred_at) VALUES (s.w, 'ao.event', 'u1', '2033-01-12');
SELECT workspace_id, type, version, metadata FROM activity.activities WHERE workspace_id = 'ao-merge';


---------------------------------------------------------------------------
-- DROP never deletes events silently: DROP EXTENSION, DROP SCHEMA of the
-- log's schemas and DROP TABLE of a partition are refused while they would
-- delete events, saying how many and how to proceed
---------------------------------------------------------------------------
SELECT count(*) AS events_before FROM activity.activities \gset
SELECT regexp_replace(pg_temp.expect_error(sql), '\d+ events', 'N events', 'g') AS error
FROM (VALUES ($$DROP EXTENSION activity$$),
             ($$DROP EXTENSION IF EXISTS activity CASCADE$$),
             ($$DROP SCHEMA activity_partitions CASCADE$$),
             ($$DROP SCHEMA activity CASCADE$$),
             ($$DROP TABLE activity_partitions.activities_p20330101$$)) t(sql);
-- the counts are exact
SELECT substring(pg_temp.expect_error($$DROP EXTENSION activity$$) FROM 'delete (\d+) events')::bigint = :events_before AS extension_count_exact,
       substring(pg_temp.expect_error($$DROP TABLE activity_partitions.activities_p20330101$$) FROM 'delete (\d+) events')::bigint
         = (SELECT count(*) FROM activity_partitions.activities_p20330101) AS partition_count_exact;
-- the hint, as a client sees it
\set VERBOSITY default
DROP TABLE activity_partitions.activities_p20330101;
\set VERBOSITY terse
-- deliberately, in one transaction (rolled back here)
BEGIN;
SET LOCAL activity.drop_events = on;
DROP TABLE activity_partitions.activities_p20330101;
SELECT count(*) < :events_before AS partition_dropped FROM activity.activities;
ROLLBACK;
BEGIN;
SET LOCAL activity.drop_events = on;
DROP EXTENSION activity;
SELECT count(*) AS extension_gone FROM pg_extension WHERE extname = 'activity';
ROLLBACK;
-- nothing was lost
SELECT count(*) = :events_before AS same_count FROM activity.activities;
-- an empty partition can be dropped as any table
CREATE TABLE activity_partitions.ao_empty (LIKE activity.activities INCLUDING DEFAULTS);
ALTER TABLE activity_partitions.ao_empty ADD CONSTRAINT activities_valid CHECK (
    activity._valid_activity(id, workspace_id, platform, type, version, actor_type, initiator_id, recipient_id,
                             subject_type, subject_id, caused_by, metadata, occurred_at, recorded_at, function_type,
                             xact_id)) NOT VALID;
ALTER TABLE activity.activities ATTACH PARTITION activity_partitions.ao_empty FOR VALUES FROM ('2045-01-01') TO ('2045-02-01');
DROP TABLE activity_partitions.ao_empty;
