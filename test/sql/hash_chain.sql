-- The hash chain (issue #14): configure(hash_chain => true) and maintain()
-- chain every activity, per workspace, in the change feed's order;
-- verify() finds each kind of tampering a superuser can do (a row edited,
-- deleted, inserted with an old transaction id, reordered; the chain table
-- edited or cut; a deletion or edit passed off as retention's or an
-- erasure's; the whole chain rewritten consistently, caught by the digests
-- kept outside), and nothing after an erasure, retention, rows moved
-- between partitions, or rows not chained yet.
SET TIME ZONE 'UTC';
SET datestyle = 'ISO, YMD';
\set VERBOSITY terse
\i test/sql/include/expect_error.sql

CREATE TEMP TABLE hc_rows (label text PRIMARY KEY, id uuid NOT NULL UNIQUE);
-- verify()'s rows for this test's workspaces (or the one given), each
-- event named by its label here ('other': not one of them), the details
-- without ids and times. (verify() of the whole log, which holds the rows
-- of the tests before, runs a few times only: it reads every row.)
CREATE FUNCTION pg_temp.problems(ws text DEFAULT NULL, digests jsonb DEFAULT NULL)
RETURNS TABLE (workspace text, seq bigint, event text, problem text, detail text)
LANGUAGE sql AS $$
    SELECT v.workspace, v.seq, CASE WHEN v.event_id IS NOT NULL THEN coalesce(r.label, 'other') END, v.problem,
           regexp_replace(regexp_replace(regexp_replace(v.detail, '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<id>', 'g'),
                                         ' \([-0-9]+ [0-9:.+]+\)', '', 'g'),
                          'erasure [0-9]+', 'erasure <n>', 'g')
    FROM unnest(CASE WHEN ws IS NULL THEN '{hc-a,hc-b}'::text[] ELSE ARRAY[ws] END) w,
         activity.verify(w, digests) v LEFT JOIN pg_temp.hc_rows r ON r.id = v.event_id
    ORDER BY 1, 2, 3, 4
$$;
-- appends an entry to a workspace's chain as someone without the key can:
-- any digest, linked to the last entry as the chain links them
CREATE FUNCTION pg_temp.append_entry(ws text, kind text, id uuid, ids uuid[], reason text, redaction bigint,
                                     redacted_digest bytea, digest bytea)
RETURNS bigint
LANGUAGE sql AS $$
    INSERT INTO activity.hash_chain (workspace_id, seq, kind, id, ids, digest, chain, reason, redaction, redacted_digest)
    SELECT ws, h.seq + 1, append_entry.kind, append_entry.id, append_entry.ids, append_entry.digest,
           activity._chain_step(h.chain, append_entry.digest), append_entry.reason, append_entry.redaction,
           append_entry.redacted_digest
    FROM activity.hash_chain h WHERE h.workspace_id = ws ORDER BY h.seq DESC LIMIT 1
    RETURNING seq
$$;
-- the digest of a removed or redacted entry, as one who has the key makes it
CREATE FUNCTION pg_temp.mark_digest(kind text, id uuid, ids uuid[], reason text, redaction bigint, redacted_digest bytea)
RETURNS bytea
LANGUAGE sql AS $$
    SELECT activity._mark_digest(k.key, kind, id, ids, reason, redaction, redacted_digest) FROM activity.hash_chain_key k
$$;
-- an activity's digest as it is now, with the key
CREATE FUNCTION pg_temp.event_digest(event uuid)
RETURNS bytea
LANGUAGE sql AS $$
    SELECT activity._event_digest(k.key, a.id, a.workspace_id, a.platform, a.type, a.version, a.actor_type,
                                  a.initiator_id, a.recipient_id, a.subject_type, a.subject_id, a.caused_by,
                                  a.metadata, a.occurred_at, a.recorded_at, a.function_type)
    FROM activity.activities a, activity.hash_chain_key k WHERE a.id = event
$$;
-- every link of a workspace's chain computed again, as one who rewrites it does
CREATE FUNCTION pg_temp.relink(ws text)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    e record;
    link bytea := activity._chain_genesis(ws);
    n bigint := 0;
BEGIN
    FOR e IN SELECT h.seq, h.digest FROM activity.hash_chain h WHERE h.workspace_id = ws ORDER BY h.seq LOOP
        link := activity._chain_step(link, e.digest);
        UPDATE activity.hash_chain h SET chain = link WHERE h.workspace_id = ws AND h.seq = e.seq;
        n := n + 1;
    END LOOP;
    RETURN n;
END;
$$;
-- what this test changes outside its rows, put back at the end
SELECT count(*) AS settings_before FROM activity.settings \gset
SELECT coalesce(max(removal), 0) AS removals_before FROM activity.feed_removals \gset

---------------------------------------------------------------------------
-- Before the chain is turned on
---------------------------------------------------------------------------
SELECT pg_temp.expect_error($$SELECT * FROM activity.verify()$$) AS verify_before;
SELECT count(*) AS digests_before FROM activity.chain_digest();
SELECT count(*) AS due_before FROM activity.maintenance_due() WHERE what = 'extend hash chain';

SELECT name FROM activity.register_type('hc.event');
SELECT count(*) AS partitions FROM activity.create_partitions('2047-01-01', '2047-03-01');
-- hc-a: five events in a range partition; hc-b: one in the default
-- partition, two in another range partition
INSERT INTO hc_rows VALUES
    ('a1', activity.record('hc-a', 'hc.event', 'hc-m1', '{"n": 1}', occurred_at => '2047-01-01')),
    ('a2', activity.record('hc-a', 'hc.event', 'hc-m2', '{"n": 2}', occurred_at => '2047-01-02')),
    ('a3', activity.record('hc-a', 'hc.event', 'hc-m2', '{"n": 3, "about": "hc-m1"}', recipient_id => 'hc-m1', occurred_at => '2047-01-03')),
    ('a4', activity.record('hc-a', 'hc.event', 'hc-m3', '{"n": 4}', occurred_at => '2047-01-04')),
    ('a5', activity.record('hc-a', 'hc.event', 'hc-m3', '{"n": 5}', occurred_at => '2047-01-05')),
    ('b1', activity.record('hc-b', 'hc.event', 'hc-m4', '{"n": 1}', occurred_at => '1997-01-01')),
    ('b2', activity.record('hc-b', 'hc.event', 'hc-m4', '{"n": 2}', occurred_at => '2047-02-01')),
    ('b3', activity.record('hc-b', 'hc.event', 'hc-m5', '{"n": 3}', occurred_at => '2047-02-02'));

---------------------------------------------------------------------------
-- Turned on: a key, and a position that reads the whole log first;
-- maintain() chains every row there is
---------------------------------------------------------------------------
SELECT hash_chain FROM activity.configure(hash_chain => true);
SELECT count(*) AS keys, bool_and(length(key) >= 32) AS key_long_enough FROM activity.hash_chain_key;
-- turning it on again changes neither the key nor the position
SELECT key AS hc_key FROM activity.hash_chain_key \gset
SELECT hash_chain FROM activity.configure(hash_chain => true);
SELECT key = :'hc_key' AS same_key, count(*) OVER () AS keys FROM activity.hash_chain_key;
SELECT count(*) AS due FROM activity.maintenance_due() WHERE what = 'extend hash chain';
SELECT count(*) AS log_rows FROM activity.activities \gset
SELECT "rows" = :log_rows AS chained_the_whole_log FROM activity.maintain() WHERE action = 'chained';
SELECT chained = :log_rows AS run_recorded FROM activity.maintenance_runs ORDER BY run_id DESC LIMIT 1;
SELECT count(*) = :log_rows AS an_entry_per_row, count(DISTINCT id) = :log_rows AS each_row_once,
       bool_and(kind = 'event') AS all_events,
       bool_and(length(digest) = 32 AND length(chain) = 32) AS sha256
FROM activity.hash_chain;
-- every workspace's chain numbered from 1 without a gap
SELECT count(*) AS workspaces_with_gaps FROM (
    SELECT workspace_id FROM activity.hash_chain GROUP BY 1 HAVING min(seq) <> 1 OR max(seq) <> count(*)) g;
-- the entries hold the row's id, time and transaction
SELECT r.label, h.workspace_id, h.seq, h.occurred_at = a.occurred_at AS same_time, h.xact_id = a.xact_id AS same_xact
FROM hc_rows r JOIN activity.hash_chain h ON h.id = r.id JOIN activity.activities a ON a.id = r.id
ORDER BY r.label;
-- intact: no problem
SELECT * FROM pg_temp.problems();
-- a second run has nothing to chain
SELECT count(*) AS chained_again FROM activity.maintain() WHERE action = 'chained';

-- chain_digest(): each workspace's last link, to keep outside
SELECT count(*) = (SELECT count(DISTINCT workspace_id) FROM activity.activities) AS one_per_workspace,
       bool_and(chain ~ '^[0-9a-f]{64}$') AS hex_sha256
FROM activity.chain_digest();
SELECT workspace, seq FROM activity.chain_digest() WHERE workspace LIKE 'hc-%' ORDER BY 1;
SELECT workspace, seq FROM activity.chain_digest('hc-b');
SELECT count(*) AS unknown_workspace FROM activity.chain_digest('hc-nope');
SELECT jsonb_agg(d) AS digests FROM activity.chain_digest() d \gset
-- the digests match; no problem in the whole log either
SELECT count(*) AS problems_in_the_log FROM activity.verify(digests => :'digests');
SELECT * FROM pg_temp.problems('hc-a', :'digests');
SELECT label, pg_temp.expect_error(sql) AS error
FROM (VALUES
    ('digests an object', $$SELECT * FROM activity.verify(digests => '{"workspace": "hc-a"}')$$),
    ('digests a string',  $$SELECT * FROM activity.verify(digests => '"x"')$$),
    ('digests empty',     $$SELECT * FROM activity.verify(digests => '[]')$$)
) t(label, sql);

---------------------------------------------------------------------------
-- Tampering as a superuser can, each undone afterwards
---------------------------------------------------------------------------
-- a) a row edited, the append-only guard disabled
BEGIN;
ALTER TABLE activity.activities DISABLE TRIGGER activities_append_only;
SET LOCAL session_replication_role = replica;
SET LOCAL activity.restoring = on;
UPDATE activity.activities SET metadata = '{"n": 20}' WHERE id = (SELECT id FROM hc_rows WHERE label = 'a2');
SELECT * FROM pg_temp.problems();
-- only the workspace asked for
SELECT count(*) AS in_hc_b FROM activity.verify('hc-b');
-- and in the whole log, that one only
SELECT count(*) AS problems_in_the_log, count(*) FILTER (WHERE event_id = (SELECT id FROM hc_rows WHERE label = 'a2')) AS a2
FROM activity.verify();
ROLLBACK;

-- b) a row deleted
BEGIN;
SET LOCAL session_replication_role = replica;
DELETE FROM activity.activities WHERE id = (SELECT id FROM hc_rows WHERE label = 'a3');
SELECT * FROM pg_temp.problems();
ROLLBACK;

-- c) a row inserted into a partition directly, a copy of another with a
-- new id and the old xact_id: written, it claims, before the chain's last
-- extension
BEGIN;
SET LOCAL session_replication_role = replica;
SET LOCAL activity.restoring = on;
INSERT INTO hc_rows VALUES ('copy', '01ac0000-0000-7000-8000-0000000000c1');
INSERT INTO activity_partitions.activities_p20470101
SELECT (SELECT id FROM hc_rows WHERE label = 'copy'), workspace_id, platform, type, version, actor_type, initiator_id,
       recipient_id, subject_type, subject_id, caused_by, metadata, occurred_at + interval '1 hour', recorded_at,
       function_type, xact_id
FROM activity.activities WHERE id = (SELECT id FROM hc_rows WHERE label = 'a4');
SELECT * FROM pg_temp.problems();
ROLLBACK;
-- ... or with no xact_id, or one of a transaction to come
BEGIN;
SET LOCAL session_replication_role = replica;
SET LOCAL activity.restoring = on;
INSERT INTO hc_rows VALUES ('copy', '01ac0000-0000-7000-8000-0000000000c1'), ('copy2', '01ac0000-0000-7000-8000-0000000000c2');
INSERT INTO activity_partitions.activities_p20470101
SELECT r.id, a.workspace_id, a.platform, a.type, a.version, a.actor_type, a.initiator_id, a.recipient_id, a.subject_type,
       a.subject_id, a.caused_by, a.metadata, a.occurred_at + interval '1 hour', a.recorded_at, a.function_type,
       CASE r.label WHEN 'copy' THEN NULL ELSE (pg_current_xact_id()::text::bigint + 1000)::text::xid8 END
FROM activity.activities a, hc_rows r
WHERE a.id = (SELECT id FROM hc_rows WHERE label = 'a4') AND r.label IN ('copy', 'copy2');
SELECT * FROM pg_temp.problems();
ROLLBACK;

-- d) two rows reordered: their times swapped
BEGIN;
ALTER TABLE activity.activities DISABLE TRIGGER activities_append_only;
SET LOCAL session_replication_role = replica;
SET LOCAL activity.restoring = on;
UPDATE activity.activities a SET occurred_at = o.occurred_at
FROM hc_rows x, hc_rows y, activity.activities o
WHERE (x.label, y.label) IN (('a4', 'a5'), ('a5', 'a4')) AND a.id = x.id AND o.id = y.id;
SELECT * FROM pg_temp.problems();
ROLLBACK;

-- e) the chain table edited: an entry's digest ...
BEGIN;
UPDATE activity.hash_chain SET digest = sha256('forged'::bytea) WHERE workspace_id = 'hc-a' AND seq = 2;
SELECT * FROM pg_temp.problems();
ROLLBACK;
-- ... an entry's link ...
BEGIN;
UPDATE activity.hash_chain SET chain = sha256('forged'::bytea) WHERE workspace_id = 'hc-a' AND seq = 2;
SELECT * FROM pg_temp.problems();
ROLLBACK;
-- ... an entry deleted (its row is then in the log unchained)
BEGIN;
DELETE FROM activity.hash_chain WHERE workspace_id = 'hc-a' AND seq = 3;
SELECT * FROM pg_temp.problems();
ROLLBACK;

-- f) the chain rewritten consistently, which only the digests kept outside
-- reveal: the last rows deleted with their entries (the chain cut short) ...
BEGIN;
SET LOCAL session_replication_role = replica;
DELETE FROM activity.activities WHERE id IN (SELECT id FROM hc_rows WHERE label IN ('a4', 'a5'));
DELETE FROM activity.hash_chain WHERE id IN (SELECT id FROM hc_rows WHERE label IN ('a4', 'a5'));
SELECT * FROM pg_temp.problems();
SELECT * FROM pg_temp.problems(digests => :'digests');
SELECT * FROM pg_temp.problems('hc-b', :'digests');
ROLLBACK;
-- ... or a row edited and its digest and every link after it recomputed
-- with the key (which a superuser can read)
BEGIN;
ALTER TABLE activity.activities DISABLE TRIGGER activities_append_only;
SET LOCAL session_replication_role = replica;
SET LOCAL activity.restoring = on;
UPDATE activity.activities SET metadata = '{"n": 20}' WHERE id = (SELECT id FROM hc_rows WHERE label = 'a2');
UPDATE activity.hash_chain SET digest = pg_temp.event_digest(id) WHERE id = (SELECT id FROM hc_rows WHERE label = 'a2');
SELECT pg_temp.relink('hc-a') AS entries_relinked;
SELECT * FROM pg_temp.problems();
SELECT * FROM pg_temp.problems(digests => :'digests');
ROLLBACK;

-- g) a row deleted and a 'removed' entry appended for it, as retention
-- appends one: without the key its digest cannot be made ...
BEGIN;
SET LOCAL session_replication_role = replica;
DELETE FROM activity.activities WHERE id = (SELECT id FROM hc_rows WHERE label = 'a3');
SELECT pg_temp.append_entry('hc-a', 'removed', NULL, ARRAY[(SELECT id FROM hc_rows WHERE label = 'a3')], 'retention',
                            NULL, NULL, sha256('forged'::bytea)) AS appended;
SELECT * FROM pg_temp.problems();
ROLLBACK;
-- h) ... nor that of a 'redacted' entry for a row edited
BEGIN;
ALTER TABLE activity.activities DISABLE TRIGGER activities_append_only;
SET LOCAL session_replication_role = replica;
SET LOCAL activity.restoring = on;
SET LOCAL client_min_messages = warning;
SELECT activity.redact('hc-a', 'hc-nobody', 'hc ticket 0') AS no_rows;
RESET client_min_messages;
UPDATE activity.activities SET metadata = '{"n": 20}' WHERE id = (SELECT id FROM hc_rows WHERE label = 'a2');
SELECT pg_temp.append_entry('hc-a', 'redacted', (SELECT id FROM hc_rows WHERE label = 'a2'), NULL, NULL,
                            (SELECT redaction_id FROM activity.redactions WHERE reason = 'hc ticket 0'),
                            sha256('forged'::bytea), sha256('forged'::bytea)) AS appended;
SELECT * FROM pg_temp.problems();
ROLLBACK;
-- (one who has the key can append such entries: the chain then says, for
-- all to see, that the row was removed or redacted; the digests kept before
-- cover only the entries before)
BEGIN;
SET LOCAL session_replication_role = replica;
DELETE FROM activity.activities WHERE id = (SELECT id FROM hc_rows WHERE label = 'a3');
SELECT pg_temp.append_entry('hc-a', 'removed', NULL, ARRAY[(SELECT id FROM hc_rows WHERE label = 'a3')], 'retention', NULL, NULL,
                            pg_temp.mark_digest('removed', NULL, ARRAY[(SELECT id FROM hc_rows WHERE label = 'a3')], 'retention', NULL, NULL))
       AS appended;
SELECT * FROM pg_temp.problems(digests => :'digests');
SELECT h.seq, h.kind, r.label FROM activity.hash_chain h, unnest(h.ids) x(id) JOIN hc_rows r ON r.id = x.id
WHERE h.workspace_id = 'hc-a' AND h.kind = 'removed';
ROLLBACK;

-- all undone: intact again
SELECT * FROM pg_temp.problems(digests => :'digests');

---------------------------------------------------------------------------
-- An erasure keeps the chain verifiable
---------------------------------------------------------------------------
SET client_min_messages = warning;
SELECT activity.redact('hc-a', 'hc-m1', 'hc ticket 1') AS redacted;
RESET client_min_messages;
-- each row changed gets a 'redacted' entry, appended: the digest of its new
-- content under the erasure's number; its own entry stays as it was
SELECT r.label, m.seq, m.redaction = (SELECT redaction_id FROM activity.redactions WHERE reason = 'hc ticket 1') AS this_erasure,
       m.redacted_digest = pg_temp.event_digest(r.id) AS digest_of_now, m.redacted_digest <> e.digest AS not_the_old_digest
FROM hc_rows r JOIN activity.hash_chain e ON e.id = r.id AND e.kind = 'event'
JOIN activity.hash_chain m ON m.id = r.id AND m.kind = 'redacted'
ORDER BY 1;
SELECT * FROM pg_temp.problems(digests => :'digests');
SELECT count(*) AS problems_in_the_log FROM activity.verify(digests => :'digests');
SELECT jsonb_agg(d) AS digests_after_erasure FROM activity.chain_digest() d \gset
-- a redacted row edited afterwards is still seen ...
BEGIN;
ALTER TABLE activity.activities DISABLE TRIGGER activities_append_only;
SET LOCAL session_replication_role = replica;
SET LOCAL activity.restoring = on;
UPDATE activity.activities SET metadata = '{"n": 10}' WHERE id = (SELECT id FROM hc_rows WHERE label = 'a1');
SELECT * FROM pg_temp.problems();
ROLLBACK;
-- ... and so is an erasure that activity.redactions does not know ...
BEGIN;
DELETE FROM activity.redactions WHERE reason = 'hc ticket 1';
SELECT * FROM pg_temp.problems();
ROLLBACK;
-- ... and the 'redacted' entries edited: without the key, by the entry's
-- digest; with it (the row edited again, its entry and every link after it
-- made again), by the digests kept after the erasure
BEGIN;
UPDATE activity.hash_chain SET redacted_digest = sha256('forged'::bytea)
WHERE kind = 'redacted' AND id = (SELECT id FROM hc_rows WHERE label = 'a1');
SELECT * FROM pg_temp.problems();
ROLLBACK;
BEGIN;
ALTER TABLE activity.activities DISABLE TRIGGER activities_append_only;
SET LOCAL session_replication_role = replica;
SET LOCAL activity.restoring = on;
UPDATE activity.activities SET metadata = '{"n": 10}' WHERE id = (SELECT id FROM hc_rows WHERE label = 'a1');
UPDATE activity.hash_chain
   SET redacted_digest = pg_temp.event_digest(id),
       digest = pg_temp.mark_digest(kind, id, ids, reason, redaction, pg_temp.event_digest(id))
 WHERE kind = 'redacted' AND id = (SELECT id FROM hc_rows WHERE label = 'a1');
SELECT pg_temp.relink('hc-a') AS entries_relinked;
SELECT * FROM pg_temp.problems();
SELECT * FROM pg_temp.problems(digests => :'digests_after_erasure');
ROLLBACK;

---------------------------------------------------------------------------
-- Retention removing chained rows: recorded in the chain, not a problem
---------------------------------------------------------------------------
SELECT rule_id AS hc_rule FROM activity.add_retention('0', workspace_id => 'hc-b') \gset
SELECT sum("rows") AS deleted FROM activity.maintain() WHERE action = 'deleted';
SELECT count(*) AS hc_b_rows FROM activity.activities WHERE workspace_id = 'hc-b';
-- a 'removed' entry appended per deletion, naming the rows, and why
SELECT h.seq, h.kind, array_agg(r.label ORDER BY r.label) AS rows, regexp_replace(regexp_replace(h.reason, ' at .*$', ''), '\d+', 'N') AS reason
FROM activity.hash_chain h, unnest(h.ids) x(id) JOIN hc_rows r ON r.id = x.id
WHERE h.workspace_id = 'hc-b' AND h.kind = 'removed'
GROUP BY h.seq, h.kind, h.reason ORDER BY 1;
SELECT activity.remove_retention(:hc_rule) AS rule_removed;
SELECT * FROM pg_temp.problems(digests => :'digests');
-- those entries deleted: the rows are missing
BEGIN;
DELETE FROM activity.hash_chain WHERE workspace_id = 'hc-b' AND kind = 'removed';
SELECT * FROM pg_temp.problems();
ROLLBACK;

---------------------------------------------------------------------------
-- New rows: not a problem until chained; then chained by later runs, each
-- workspace's numbers going on without a gap
---------------------------------------------------------------------------
INSERT INTO hc_rows VALUES ('a6', activity.record('hc-a', 'hc.event', 'hc-m2', '{"n": 6}', occurred_at => '2047-01-06'));
INSERT INTO hc_rows VALUES ('b4', activity.record('hc-b', 'hc.event', 'hc-m4', '{"n": 4}', occurred_at => '2047-02-04'));
SELECT count(*) AS chained_yet FROM activity.hash_chain WHERE id IN (SELECT id FROM hc_rows WHERE label IN ('a6', 'b4'));
SELECT * FROM pg_temp.problems(digests => :'digests');
SELECT detail FROM activity.maintenance_due() WHERE what = 'extend hash chain';
SELECT "rows" AS chained FROM activity.maintain() WHERE action = 'chained';
-- a row of a later partition waiting in the default partition, chained,
-- then moved into its partition (same row, same xact_id)
INSERT INTO hc_rows VALUES ('a7', activity.record('hc-a', 'hc.event', 'hc-m2', '{"n": 7}', occurred_at => '2047-06-15'));
SELECT "rows" AS chained FROM activity.maintain() WHERE action = 'chained';
SELECT action, "rows" FROM activity.create_partitions('2047-06-01', '2047-07-01');
SELECT tableoid::regclass AS partition FROM activity.activities WHERE id = (SELECT id FROM hc_rows WHERE label = 'a7');
SELECT r.label, h.seq FROM hc_rows r JOIN activity.hash_chain h ON h.id = r.id AND h.kind = 'event'
WHERE r.label IN ('a6', 'a7', 'b4') ORDER BY 1;
SELECT workspace_id, count(*) AS entries, min(seq), max(seq), count(*) FILTER (WHERE kind = 'event') AS events,
       count(*) FILTER (WHERE kind = 'removed') AS removed, count(*) FILTER (WHERE kind = 'redacted') AS redacted
FROM activity.hash_chain WHERE workspace_id LIKE 'hc-%' GROUP BY 1 ORDER BY 1;
SELECT workspace, seq FROM activity.chain_digest() WHERE workspace LIKE 'hc-%' ORDER BY 1;
-- the digests kept before still verify (the chain only grew), the new ones too
SELECT * FROM pg_temp.problems(digests => :'digests');
SELECT jsonb_agg(d) AS digests FROM activity.chain_digest() d \gset
SELECT * FROM pg_temp.problems(digests => :'digests');
SELECT count(*) AS problems_in_the_log FROM activity.verify(digests => :'digests');

---------------------------------------------------------------------------
-- Turned off: maintain() chains no more. Clean up (the chain, its key and
-- position, the rows) so that the tests after this one start without it.
---------------------------------------------------------------------------
SELECT hash_chain FROM activity.configure(hash_chain => false);
INSERT INTO hc_rows VALUES ('a8', activity.record('hc-a', 'hc.event', 'hc-m2', '{"n": 8}', occurred_at => '2047-01-08'));
SELECT count(*) AS chained FROM activity.maintain() WHERE action = 'chained';
SELECT count(*) AS due FROM activity.maintenance_due() WHERE what = 'extend hash chain';
SELECT count(*) AS rules FROM (
    SELECT activity.add_retention('0', workspace_id => w) FROM unnest(ARRAY['hc-a', 'hc-b']) w) r;
SELECT sum("rows") AS deleted FROM activity.maintain() WHERE action = 'deleted';
SELECT bool_and(activity.remove_retention(rule_id)) AS rules_removed
FROM activity.retention_rules WHERE workspace_id IN ('hc-a', 'hc-b');
SELECT count(*) AS hc_rows_left FROM activity.activities WHERE workspace_id LIKE 'hc-%';
DROP TABLE activity_partitions.activities_p20470101, activity_partitions.activities_p20470201,
           activity_partitions.activities_p20470601;
DELETE FROM activity.redactions WHERE reason LIKE 'hc ticket%';
DELETE FROM activity.hash_chain;
DELETE FROM activity.hash_chain_state;
DELETE FROM activity.hash_chain_key;
SELECT pg_temp.expect_error($$SELECT * FROM activity.verify()$$) AS verify_after;
-- (observability and partitions, run later, expect no settings row;
-- change_feed lists the removals)
DELETE FROM activity.settings WHERE :settings_before = 0;
DELETE FROM activity.feed_removals WHERE removal > :removals_before;
SELECT count(*) AS settings_rows FROM activity.settings;
SELECT count(*) AS rules_left FROM activity.retention_rules WHERE workspace_id LIKE 'hc-%';
