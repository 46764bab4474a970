-- The change feed's pointers (src/feed.c, activity.feed_batches): every row
-- a committed transaction wrote has exactly one, written with it; rows of a
-- rolled-back transaction or subtransaction have none; rows that maintain()
-- moves or redact() rewrites keep theirs. (What consumers read through them:
-- change_feed.sql, test/shell/feed_concurrency.sh.)
\set VERBOSITY terse
SELECT count(*) AS types FROM (SELECT activity.register_type('fp.x')) t;
SELECT count(*) >= 0 AS maintained FROM activity.maintain();

-- a new session whose first use of the extension is inside a subtransaction
-- (the library is loaded there): a rollback of it still takes its pointers
\c
SET client_min_messages = warning;
BEGIN;
SAVEPOINT s;
INSERT INTO activity.activities (workspace_id, type, version, initiator_id)
SELECT 'fp-7', 'fp.x', 0, 'gone' FROM generate_series(1, 10) g;
ROLLBACK TO s;
INSERT INTO activity.activities (workspace_id, type, version, initiator_id)
SELECT 'fp-7', 'fp.x', 0, 'kept' FROM generate_series(1, 3) g;
COMMIT;
RESET client_min_messages;
SELECT count(*) AS kept_rows, (SELECT sum(cardinality(b.ids)) FROM activity.feed_batches b WHERE b.xact_id = max(a.xact_id)) AS pointers
FROM activity.activities a WHERE a.workspace_id = 'fp-7';

-- every pointer of the rows of one workspace, against the rows themselves:
-- the rows without one, the pointers without a row, the pointers to a row
-- of another transaction, and rows pointed at twice
CREATE FUNCTION pg_temp.pointer_problems(ws text)
RETURNS TABLE (rows bigint, without_pointer bigint, dangling bigint, other_xact bigint, twice bigint)
LANGUAGE sql AS $$
    WITH p AS (
        SELECT b.xact_id, u.o, u.i FROM activity.feed_batches b CROSS JOIN LATERAL unnest(b.occurred_at, b.ids) u(o, i)
    ), r AS (SELECT a.* FROM activity.activities a WHERE a.workspace_id = ws)
    SELECT (SELECT count(*) FROM r),
           (SELECT count(*) FROM r WHERE NOT EXISTS (SELECT 1 FROM p WHERE p.i = r.id AND p.o = r.occurred_at)),
           (SELECT count(*) FROM p WHERE p.xact_id IN (SELECT xact_id FROM r)
                                       AND NOT EXISTS (SELECT 1 FROM activity.activities a WHERE a.id = p.i)),
           (SELECT count(*) FROM p JOIN r ON r.id = p.i WHERE p.xact_id <> r.xact_id),
           (SELECT count(*) FROM (SELECT p.i FROM p JOIN r ON r.id = p.i GROUP BY p.i HAVING count(*) > 1) d)
$$;

-- one record(): one batch of one pointer
SELECT activity.record('fp-1', 'fp.x', 'u1') IS NOT NULL AS recorded;
SELECT cardinality(b.ids) AS pointers, b.batch, b.xact_id = a.xact_id AS its_transaction
FROM activity.activities a JOIN activity.feed_batches b ON b.xact_id = a.xact_id
WHERE a.workspace_id = 'fp-1';

-- 200 rows in one INSERT: batches of 64 (the last one at commit)
INSERT INTO activity.activities (workspace_id, type, version, initiator_id)
SELECT 'fp-2', 'fp.x', 0, 'u' || g FROM generate_series(1, 200) g;
SELECT b.batch, cardinality(b.ids) AS pointers, cardinality(b.occurred_at) = cardinality(b.ids) AS paired
FROM activity.feed_batches b WHERE b.xact_id = (SELECT DISTINCT xact_id FROM activity.activities WHERE workspace_id = 'fp-2')
ORDER BY b.batch;
SELECT * FROM pg_temp.pointer_problems('fp-2');

-- a rolled-back transaction leaves no batch
SELECT count(*) AS batches_before FROM activity.feed_batches \gset
BEGIN;
INSERT INTO activity.activities (workspace_id, type, version, initiator_id)
SELECT 'fp-3', 'fp.x', 0, 'u' || g FROM generate_series(1, 100) g;
SELECT count(*) > :batches_before AS batch_written_mid_transaction FROM activity.feed_batches;
ROLLBACK;
SELECT count(*) - :batches_before AS batches_after_rollback FROM activity.feed_batches;

-- subtransactions: a rolled-back one takes its pointers with it (those kept
-- in memory, and a batch it wrote), a released one keeps them, nested too
BEGIN;
SELECT activity.record('fp-4', 'fp.x', 'kept-1') IS NOT NULL AS recorded;
SAVEPOINT a;
SELECT activity.record('fp-4', 'fp.x', 'gone-1') IS NOT NULL AS recorded;
ROLLBACK TO a;
SAVEPOINT b;
-- (more than a batch: one is written inside the subtransaction)
INSERT INTO activity.activities (workspace_id, type, version, initiator_id)
SELECT 'fp-4', 'fp.x', 0, 'gone-2' FROM generate_series(1, 70) g;
ROLLBACK TO b;
SAVEPOINT c;
INSERT INTO activity.activities (workspace_id, type, version, initiator_id)
SELECT 'fp-4', 'fp.x', 0, 'kept-2' FROM generate_series(1, 70) g;
SAVEPOINT d;
SELECT activity.record('fp-4', 'fp.x', 'kept-3') IS NOT NULL AS recorded;
SAVEPOINT e;
SELECT activity.record('fp-4', 'fp.x', 'gone-3') IS NOT NULL AS recorded;
ROLLBACK TO e;
RELEASE d;
RELEASE c;
SELECT activity.record('fp-4', 'fp.x', 'kept-4') IS NOT NULL AS recorded;
COMMIT;
SELECT initiator_id, count(*) FROM activity.activities WHERE workspace_id = 'fp-4' GROUP BY 1 ORDER BY 1;
SELECT * FROM pg_temp.pointer_problems('fp-4');
SELECT sum(cardinality(b.ids)) AS pointers
FROM activity.feed_batches b WHERE b.xact_id = (SELECT DISTINCT xact_id FROM activity.activities WHERE workspace_id = 'fp-4');

-- COPY
COPY activity.activities (workspace_id, type, version, initiator_id, occurred_at) FROM stdin;
fp-5	fp.x	0	c1	2026-01-05 10:00:00+00
fp-5	fp.x	0	c2	1977-03-01 10:00:00+00
fp-5	fp.x	0	c3	2090-01-01 00:00:00+00
\.
SELECT * FROM pg_temp.pointer_problems('fp-5');

-- rows maintain() moves out of the default partition keep their pointer
-- (and get no second one): dated in an interval without a partition
SELECT count(*) AS in_default FROM activity_partitions.activities_default WHERE workspace_id = 'fp-5';
-- (rolled back: other tests do not expect that partition)
BEGIN;
SELECT count(*) AS batches_before FROM activity.feed_batches \gset
SELECT count(*) > 0 AS created FROM activity.create_partitions('1977-03-01', '1977-03-02');
SELECT count(*) AS in_default FROM activity_partitions.activities_default WHERE workspace_id = 'fp-5';
SELECT count(*) - :batches_before AS new_batches FROM activity.feed_batches;
SELECT * FROM pg_temp.pointer_problems('fp-5');

-- a pointer finds its row wherever it went: through the log, by (occurred_at, id)
SELECT a.tableoid::regclass AS now_in, count(*) AS found
FROM activity.feed_batches b CROSS JOIN LATERAL unnest(b.occurred_at, b.ids) u(o, i)
JOIN activity.activities a ON a.occurred_at = u.o AND a.id = u.i
WHERE a.workspace_id = 'fp-5' GROUP BY 1 ORDER BY 1;
ROLLBACK;

-- an index an administrator adds to the table gets its entries too (an
-- expression and a predicate: through the executor's index machinery)
BEGIN;
CREATE INDEX feed_batches_size_idx ON activity.feed_batches ((cardinality(ids))) WHERE batch > 1;
INSERT INTO activity.activities (workspace_id, type, version, initiator_id)
SELECT 'fp-8', 'fp.x', 0, 'u' || g FROM generate_series(1, 150) g;
CREATE EXTENSION IF NOT EXISTS amcheck;
SELECT bt_index_check('activity.feed_batches_size_idx', true) IS NOT NULL AS size_index_intact,
       bt_index_check('activity.feed_batches_pkey', true) IS NOT NULL AS key_intact;
SET LOCAL enable_seqscan = off;
SELECT count(*) AS batches_by_the_index FROM activity.feed_batches
WHERE cardinality(ids) = 64 AND batch > 1 AND xact_id = pg_current_xact_id();
ROLLBACK;

-- the pointers are the log's: a role that may insert writes them without
-- any privilege on the table, and may not write them by hand
CREATE ROLE fp_writer;
GRANT USAGE ON SCHEMA activity TO fp_writer;
GRANT INSERT ON activity.activities TO fp_writer;
GRANT EXECUTE ON FUNCTION activity.record(text, text, text, jsonb, text, text, int, timestamptz, text, text, text, uuid, uuid, text) TO fp_writer;
SET ROLE fp_writer;
SELECT activity.record('fp-6', 'fp.x', 'w1') IS NOT NULL AS recorded;
INSERT INTO activity.feed_batches VALUES ('1', 1, '{}', '{}');
RESET ROLE;
SELECT * FROM pg_temp.pointer_problems('fp-6');
REVOKE ALL ON activity.activities FROM fp_writer;
REVOKE ALL ON FUNCTION activity.record(text, text, text, jsonb, text, text, int, timestamptz, text, text, text, uuid, uuid, text) FROM fp_writer;
REVOKE ALL ON SCHEMA activity FROM fp_writer;
DROP ROLE fp_writer;
