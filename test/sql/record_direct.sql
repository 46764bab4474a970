-- activity.record() writes its row itself when the log is as the extension
-- made it (src/ingest.c, record_directly()), and through the executor's
-- INSERT otherwise. Either way the row, its index entries, its id in
-- activity.event_ids and every rule are the same; whatever the extension did
-- not make (a trigger, a constraint, row-level security, a privilege on
-- columns only) is honoured as an INSERT honours it.
SET TIME ZONE 'UTC';
SET datestyle = 'ISO, YMD';

\i test/sql/include/expect_error.sql

-- one transaction, rolled back at the end: the log keeps nothing of this test
BEGIN;

CREATE EXTENSION IF NOT EXISTS amcheck;
SELECT name FROM activity.register_type('rd.note');
SELECT name FROM activity.register_type('rd.cause');
SELECT activity.register_schema('rd.cause', '{"type": "object", "required": ["n"]}') IS NOT NULL AS schema_registered;
SELECT name FROM activity.register_type('rd.effect', caused_by => '{rd.cause}', function_types => '{rdFilter}');

---------------------------------------------------------------------------
-- The row: every column as the INSERT would store it, xact_id included
---------------------------------------------------------------------------
INSERT INTO activity.activities (workspace_id, type, initiator_id) VALUES ('rd-ws', 'rd.note', 'u0')
RETURNING tableoid::regclass AS insert_part \gset
SELECT activity.record('rd-ws', 'rd.cause', 'u1', '{"n": 1}', recipient_id => 'u2', platform => 'discord',
                       subject_type => 'post', subject_id => 'p-1',
                       id => '01900000-0000-7000-8000-000000000001') AS cause \gset
SELECT activity.record('rd-ws', 'rd.effect', NULL, '{}', actor_type => 'system', caused_by => :'cause',
                       function_type => 'rdFilter') AS effect \gset
SELECT type, version, actor_type, initiator_id, recipient_id, platform, subject_type, subject_id,
       caused_by = :'cause' AS points_at_cause, function_type, metadata,
       occurred_at = now() AS occurred_now, recorded_at = now() AS recorded_now,
       xact_id = pg_current_xact_id() AS written_by_this_transaction,
       tableoid = :'insert_part'::regclass AS where_an_insert_goes
FROM activity.activities WHERE id IN (:'cause', :'effect') ORDER BY type;
-- registered once each, with their occurred_at
SELECT count(*) AS registered FROM activity.event_ids e JOIN activity.activities a USING (id, occurred_at)
WHERE e.id IN (:'cause', :'effect');
-- visible to the next command of the same statement's transaction, found by page()
SELECT count(*) AS on_the_feed FROM activity.page('rd-ws', types => '{rd.effect}', caused_by => :'cause');

-- rules: each refused with the message an INSERT gets, nothing written
SELECT pg_temp.expect_error($$SELECT activity.record('rd-ws', 'rd.cause', 'u1', '{}')$$);
SELECT pg_temp.expect_error($$SELECT activity.record('rd-ws', 'rd.effect', actor_type => 'system', caused_by => '01900000-0000-7000-8000-00000000dead', function_type => 'rdFilter')$$);
SELECT pg_temp.expect_error($$SELECT activity.record('rd-other', 'rd.effect', actor_type => 'system', caused_by => '01900000-0000-7000-8000-000000000001', function_type => 'rdFilter')$$);
SELECT pg_temp.expect_error(format($$SELECT activity.record('rd-ws', 'rd.effect', actor_type => 'system', caused_by => %L, function_type => 'rdFilter', id => %L)$$, :'cause', :'cause'));
SELECT pg_temp.expect_error(format($$SELECT activity.record('rd-ws', 'rd.note', id => %L)$$, :'cause'));
SELECT pg_temp.expect_error($$SELECT activity.record('rd-ws', 'rd.unknown')$$);
SELECT pg_temp.expect_error($$SELECT activity.record('rd-ws', 'rd.note', actor_type => NULL)$$);
SELECT count(*) AS rows_of_rd_ws FROM activity.activities WHERE workspace_id IN ('rd-ws', 'rd-other');

-- a savepoint rolled back takes its row and its id with it
SAVEPOINT s;
SELECT activity.record('rd-ws', 'rd.cause', 'u1', '{"n": 2}', id => '01900000-0000-7000-8000-000000000002') AS gone \gset
ROLLBACK TO SAVEPOINT s;
SELECT count(*) AS row_left FROM activity.activities WHERE id = :'gone';
SELECT count(*) AS id_left FROM activity.event_ids WHERE id = :'gone';
-- and a cause rolled back is not found by its effect
SELECT pg_temp.expect_error(format($$SELECT activity.record('rd-ws', 'rd.effect', actor_type => 'system', caused_by => %L, function_type => 'rdFilter')$$, :'gone'));

-- outside every partition: the default partition, as for an INSERT
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at) VALUES ('rd-ws', 'rd.note', 'u0', '1980-01-01 00:00:00+00')
RETURNING tableoid::regclass AS insert_part \gset
SELECT activity.record('rd-ws', 'rd.note', 'u1', occurred_at => '1980-01-01 00:00:00+00') AS old \gset
SELECT tableoid::regclass AS stored_in, tableoid = :'insert_part'::regclass AS where_an_insert_goes
FROM activity.activities WHERE id = :'old';

---------------------------------------------------------------------------
-- Index entries: every heap tuple of every partition is in each of its
-- B-tree indexes (partial ones by their predicate), checked by amcheck
---------------------------------------------------------------------------
SELECT activity.record('rd-ws', 'rd.note', 'u' || g, jsonb_build_object('g', g),
                       occurred_at => now() - g * interval '7 days',
                       caused_by => CASE WHEN g % 3 = 0 THEN :'cause'::uuid END) IS NOT NULL AS recorded
FROM generate_series(1, 60) g
GROUP BY 1;
-- (bt_index_check() raises an error for a heap tuple missing from the index)
SELECT count(*) > 0 AS btree_indexes_checked
FROM (SELECT bt_index_check(i.indexrelid, true)
      FROM pg_index i
      JOIN pg_class c ON c.oid = i.indexrelid
      JOIN pg_am am ON am.oid = c.relam AND am.amname = 'btree'
      WHERE i.indrelid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'activity.activities'::regclass)) s;
-- the same rows found through the indexes alone
SET enable_seqscan = off;
SELECT count(*) AS by_workspace FROM activity.activities WHERE workspace_id = 'rd-ws' AND type = 'rd.note';
SELECT count(*) AS by_cause FROM activity.activities WHERE caused_by = :'cause';
RESET enable_seqscan;
-- and a GIN index, as configure(metadata_index => true) makes (here on the
-- partition of 1980, the default one)
SELECT format('CREATE INDEX rd_gin ON %s USING gin (metadata jsonb_path_ops)', :'insert_part') \gexec
SELECT activity.record('rd-ws', 'rd.note', 'u1', '{"rd": "needle"}', occurred_at => '1980-01-01 00:00:00+00') AS needle \gset
SELECT EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
               WHERE i.indrelid = a.tableoid AND am.amname = 'gin') AS its_partition_has_a_gin_index
FROM activity.activities a WHERE a.id = :'needle';
SET enable_seqscan = off;
SET enable_indexscan = off;
SELECT count(*) AS found_by_the_gin_index FROM activity.activities WHERE metadata @> '{"rd": "needle"}';
RESET enable_seqscan;
RESET enable_indexscan;

---------------------------------------------------------------------------
-- What the extension did not make is honoured
---------------------------------------------------------------------------
-- another trigger on the log fires, once per row
CREATE TABLE rd_fired (id uuid);
CREATE FUNCTION rd_note_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rd_fired VALUES (NEW.id);
    RETURN NULL;
END;
$$;
CREATE TRIGGER rd_audit AFTER INSERT ON activity.activities FOR EACH ROW EXECUTE FUNCTION rd_note_insert();
SELECT activity.record('rd-ws', 'rd.note', 'u1') AS with_trigger \gset
SELECT count(*) AS trigger_fired FROM rd_fired WHERE id = :'with_trigger';
DROP TRIGGER rd_audit ON activity.activities;

-- another CHECK constraint refuses the row
ALTER TABLE activity.activities ADD CONSTRAINT rd_no_banned CHECK (workspace_id <> 'rd-banned');
SELECT regexp_replace(split_part(pg_temp.expect_error($$SELECT activity.record('rd-banned', 'rd.note', 'u1')$$), ' DETAIL', 1),
                      'relation "[^"]*"', 'relation "<partition>"') AS error;
ALTER TABLE activity.activities DROP CONSTRAINT rd_no_banned;

-- a disabled extension trigger stays disabled, as for an INSERT (the cause
-- check is the AFTER trigger's; the owner turned it off)
ALTER TABLE activity.activities DISABLE TRIGGER activities_caused_by;
SELECT activity.record('rd-ws', 'rd.note', 'u1', caused_by => '01900000-0000-7000-8000-00000000dead') IS NOT NULL AS unchecked_cause_stored;
ALTER TABLE activity.activities ENABLE TRIGGER activities_caused_by;
SELECT pg_temp.expect_error($$SELECT activity.record('rd-ws', 'rd.note', 'u1', caused_by => '01900000-0000-7000-8000-00000000dead')$$);

-- row-level security on the log: its INSERT policy decides
CREATE ROLE rd_writer;  -- (rolled back with the rest)
GRANT USAGE ON SCHEMA activity TO rd_writer;
GRANT SELECT, INSERT ON activity.activities TO rd_writer;
ALTER TABLE activity.activities ENABLE ROW LEVEL SECURITY;
CREATE POLICY rd_read ON activity.activities FOR SELECT TO rd_writer USING (true);
CREATE POLICY rd_write ON activity.activities FOR INSERT TO rd_writer WITH CHECK (workspace_id = 'rd-ws');
SET ROLE rd_writer;
SELECT activity.record('rd-ws', 'rd.note', 'u1') IS NOT NULL AS allowed_by_policy;
SELECT pg_temp.expect_error($$SELECT activity.record('rd-elsewhere', 'rd.note', 'u1')$$);
RESET ROLE;
DROP POLICY rd_read ON activity.activities;
DROP POLICY rd_write ON activity.activities;
ALTER TABLE activity.activities DISABLE ROW LEVEL SECURITY;

-- INSERT granted on the columns record() writes only: refused by the
-- validation, on either path (it registers the id: INSERT on the table)
REVOKE INSERT ON activity.activities FROM rd_writer;
GRANT INSERT (id, workspace_id, type, initiator_id, metadata, recipient_id, actor_type, version, occurred_at,
              platform, subject_type, subject_id, caused_by, function_type) ON activity.activities TO rd_writer;
SET ROLE rd_writer;
SELECT pg_temp.expect_error($$SELECT activity.record('rd-ws', 'rd.note', 'u1')$$);
RESET ROLE;
-- and no INSERT at all: refused
REVOKE ALL ON activity.activities FROM rd_writer;
SET ROLE rd_writer;
SELECT pg_temp.expect_error($$SELECT activity.record('rd-ws', 'rd.note', 'u1')$$);
RESET ROLE;

-- session_replication_role = replica: as for an INSERT, no trigger fires
-- (the validation constraint still judges the row)
SET session_replication_role = replica;
SELECT pg_temp.expect_error($$SELECT activity.record('rd-ws', 'rd.cause', 'u1', '{}')$$);
SELECT activity.record('rd-ws', 'rd.note', 'u1', caused_by => '01900000-0000-7000-8000-00000000dead') IS NOT NULL AS replica_stores_unchecked_cause;
RESET session_replication_role;

-- the log's rows of this test, by how they were written
SELECT count(*) AS rows_of_rd_ws FROM activity.activities WHERE workspace_id = 'rd-ws';
ROLLBACK;
