-- Audited erasure (issue #14): activity.redact() puts a random pseudonym in
-- the member's place in every column and metadata string (value or object
-- key), takes out the metadata its schema marks "x-personal" where the
-- member is initiator or recipient (all of it where the schema marks none
-- or the type has no schema), changes nothing else, records the erasure in
-- activity.redactions without the member's id, and once the partitions are
-- vacuumed no heap tuple and no index entry of any partition holds the id.
-- (The hash chain over redacted rows: hash_chain.sql.)
SET TIME ZONE 'UTC';
SET datestyle = 'ISO, YMD';
\set VERBOSITY terse
\i test/sql/include/expect_error.sql
CREATE EXTENSION IF NOT EXISTS pageinspect;
-- (the removals retention tells the change feed about, taken back at the end)
SELECT coalesce(max(removal), 0) AS removals_before FROM activity.feed_removals \gset

-- The bytes of a string as pageinspect prints them ('6d 2d 61 ...')
CREATE FUNCTION pg_temp.hex_bytes(s text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT rtrim(regexp_replace(encode(convert_to(s, 'UTF8'), 'hex'), '(..)', '\1 ', 'g'))
$$;
-- Per btree index of every partition of the log (the default one included):
-- its items, on every page but the metapage, whose data holds a string
CREATE FUNCTION pg_temp.index_items_holding(needle text)
RETURNS TABLE (index regclass, items bigint)
LANGUAGE sql SET client_min_messages = warning AS $$
    SELECT x.indexrelid::regclass, count(*)
    FROM activity.partitions() p
    JOIN pg_index x ON x.indrelid = p.partition
    JOIN pg_class c ON c.oid = x.indexrelid
    JOIN pg_am am ON am.oid = c.relam AND am.amname = 'btree'
    CROSS JOIN LATERAL generate_series(1, pg_relation_size(x.indexrelid) / current_setting('block_size')::int - 1) b
    CROSS JOIN LATERAL bt_page_items(x.indexrelid::regclass::text, b) i
    WHERE position(pg_temp.hex_bytes(needle) IN i.data) > 0
    GROUP BY 1
$$;
-- Per partition of the log: its heap tuples (live or dead, any version)
-- whose data holds a string
CREATE FUNCTION pg_temp.heap_tuples_holding(needle text)
RETURNS TABLE (partition regclass, tuples bigint)
LANGUAGE sql AS $$
    SELECT p.partition, count(*)
    FROM activity.partitions() p
    CROSS JOIN LATERAL generate_series(0, pg_relation_size(p.partition) / current_setting('block_size')::int - 1) b
    CROSS JOIN LATERAL heap_page_items(get_raw_page(p.partition::text, b)) h
    WHERE position(convert_to(needle, 'UTF8') IN h.t_data) > 0
    GROUP BY 1
$$;

---------------------------------------------------------------------------
-- Types: one whose schema marks properties personal (one of them nested),
-- one whose schema marks none, one without schema
---------------------------------------------------------------------------
SELECT name FROM activity.register_type('red.profile');
SELECT name FROM activity.register_type('red.note');
SELECT name FROM activity.register_type('red.free');
SELECT activity.register_schema('red.profile', '{
    "type": "object",
    "properties": {
        "email": {"type": "string", "x-personal": true},
        "plan": {"type": "string"},
        "address": {"type": "object",
                    "properties": {"street": {"type": "string", "x-personal": true},
                                   "city": {"type": "string"}}}}}') AS profile_v1;
SELECT activity.register_schema('red.note', '{"type": "object", "properties": {"text": {"type": "string"}}}') AS note_v1;
SELECT partition FROM activity.create_partitions('2046-03-01', '2046-05-01');
-- (no autovacuum there: this test says when they are vacuumed and analyzed)
ALTER TABLE activity_partitions.activities_p20460301 SET (autovacuum_enabled = false);
ALTER TABLE activity_partitions.activities_p20460401 SET (autovacuum_enabled = false);

---------------------------------------------------------------------------
-- Events: m-alice as initiator, recipient, subject, in metadata (as a value,
-- in an array, as an object key), in two range partitions and the default
-- one; events of other members (near misses: M-Alice, m-alicia); the same
-- member in another workspace
---------------------------------------------------------------------------
CREATE TEMP TABLE red_rows (label text PRIMARY KEY, id uuid NOT NULL);
INSERT INTO red_rows VALUES
    -- initiator, schema with personal fields: email and address.street go, the id in "by" is replaced
    ('a1', activity.record('red-a', 'red.profile', 'm-alice',
           '{"email": "alice@example.com", "plan": "pro", "address": {"street": "1 Main St", "city": "Paris"}, "by": "m-alice"}',
           occurred_at => '2046-03-02')),
    -- recipient, schema that marks nothing: metadata becomes {}
    ('a2', activity.record('red-a', 'red.note', 'm-bob', '{"text": "hello alice"}', recipient_id => 'm-alice',
           occurred_at => '2046-03-03')),
    -- initiator, type without schema: metadata becomes {}
    ('a3', activity.record('red-a', 'red.free', 'm-alice', '{"color": "blue"}', occurred_at => '2046-03-04')),
    -- subject only (default partition, old outlier): metadata kept
    ('a4', activity.record('red-a', 'red.free', 'm-bob', '{"x": 1}', subject_type => 'member', subject_id => 'm-alice',
           occurred_at => '1995-03-03')),
    -- mentioned as a value and in an array: replaced, the rest kept
    ('a5', activity.record('red-a', 'red.free', 'm-bob', '{"assignee": "m-alice", "list": ["m-carol", "m-alice"], "n": 3}',
           occurred_at => '2046-04-03')),
    -- mentioned as an object key, and as a value deeper down
    ('a6', activity.record('red-a', 'red.free', 'm-carol', '{"votes": {"m-alice": 1, "m-carol": 2}, "poll": {"by": ["m-alice"]}}',
           occurred_at => '2046-04-04')),
    -- recipient of someone else's profile event: its personal fields go too
    ('a7', activity.record('red-a', 'red.profile', 'm-carol', '{"email": "carol@example.com", "plan": "team"}',
           recipient_id => 'm-alice', occurred_at => '2046-04-05')),
    -- initiator, default partition (future outlier)
    ('a8', activity.record('red-a', 'red.note', 'm-alice', '{"text": "later"}', occurred_at => '2099-01-01')),
    -- mentioned only (not a party): the personal fields of m-dave's profile stay
    ('a9', activity.record('red-a', 'red.profile', 'm-dave', '{"email": "dave@example.com", "plan": "free", "referrer": "m-alice"}',
           occurred_at => '2046-03-07')),
    -- other members: unchanged
    ('o1', activity.record('red-a', 'red.free', 'm-bob', '{"assignee": "m-carol"}', occurred_at => '2046-03-05')),
    ('o2', activity.record('red-a', 'red.profile', 'M-Alice', '{"email": "x@example.com", "plan": "pro"}', occurred_at => '2046-03-06')),
    ('o3', activity.record('red-a', 'red.free', 'm-carol', '{"note": "m-alicia"}', recipient_id => 'm-bob',
           subject_type => 'member', subject_id => 'm-dave', occurred_at => '2046-04-06')),
    ('o4', activity.record('red-a', 'red.profile', 'm-alicia', '{"email": "alicia@example.com"}', occurred_at => '1990-01-01')),
    -- another member mentioned only as an object key (erased below)
    ('k1', activity.record('red-a', 'red.free', 'm-carol', '{"votes": {"m-erin": 1, "m-carol": 2}, "n": [1, "x"]}',
           occurred_at => '2046-04-07')),
    -- the same member in another workspace
    ('b1', activity.record('red-b', 'red.free', 'm-alice', '{"k": "m-alice"}', occurred_at => '2046-03-10')),
    ('b2', activity.record('red-b', 'red.note', 'm-bob', '{"text": "hi"}', recipient_id => 'm-alice', occurred_at => '2046-04-10')),
    ('b3', activity.record('red-b', 'red.free', 'm-bob', '{}', occurred_at => '2046-04-11'));
-- many events of other members in the March partition: VACUUM of a table
-- where few pages hold dead rows may skip its indexes (PostgreSQL's
-- INDEX_CLEANUP auto), which must not leave the id in them
INSERT INTO activity.activities (workspace_id, type, initiator_id, metadata, occurred_at)
SELECT 'red-bulk', 'red.free', 'm-bulk-' || g, jsonb_build_object('g', g), timestamptz '2046-03-01' + g * interval '1 minute'
FROM generate_series(1, 10000) g;
SELECT workspace_id, count(*) FROM activity.activities WHERE workspace_id LIKE 'red-%' GROUP BY 1 ORDER BY 1;
SELECT pg_relation_size('activity_partitions.activities_p20460301') / current_setting('block_size')::int > 100 AS march_over_100_pages;

-- the rows as they were; "involved": the member is in a column or a
-- metadata string
CREATE TEMP TABLE red_before AS
SELECT a.id, a.workspace_id, a.initiator_id, a.recipient_id, a.tableoid::regclass AS partition, md5(a::text) AS digest,
       md5(row(a.id, a.workspace_id, a.platform, a.type, a.version, a.actor_type, a.subject_type, a.caused_by,
               a.occurred_at, a.recorded_at, a.function_type, a.xact_id)::text) AS fixed_digest,
       coalesce('m-alice' IN (a.initiator_id, a.recipient_id, a.subject_id), false)
         OR a.metadata::text LIKE '%"m-alice"%' AS involved
FROM activity.activities a WHERE a.workspace_id LIKE 'red-%';
SELECT workspace_id, count(*) FILTER (WHERE involved) AS involved, count(*) FILTER (WHERE NOT involved) AS others
FROM red_before GROUP BY 1 ORDER BY 1;
-- the index scan sees the member's entries before
SELECT count(*) > 0 AS indexes_hold_alice_before FROM pg_temp.index_items_holding('m-alice');
-- and so do the planner's statistics, once the partitions are analyzed (as
-- autovacuum does) and the log itself (as ANALYZE of the database does):
-- most common values of the member's columns and of metadata
ANALYZE activity_partitions.activities_p20460301, activity_partitions.activities_p20460401, activity_partitions.activities_default;
ANALYZE activity.activities;
SELECT count(*) > 0 AS statistics_hold_alice_before
FROM pg_stats
WHERE schemaname IN ('activity', 'activity_partitions') AND tablename LIKE 'activities%'
  AND (most_common_vals::text LIKE '%m-alice%' OR histogram_bounds::text LIKE '%m-alice%'
       OR most_common_vals::text LIKE '%alice@example.com%' OR histogram_bounds::text LIKE '%alice@example.com%');

---------------------------------------------------------------------------
-- Errors: nothing changes
---------------------------------------------------------------------------
SELECT label, pg_temp.expect_error(sql) AS error
FROM (VALUES
    ('member NULL',           $$SELECT activity.redact('red-a', NULL, 'red ticket 0')$$),
    ('member empty',          $$SELECT activity.redact('red-a', '', 'red ticket 0')$$),
    ('reason NULL',           $$SELECT activity.redact('red-a', 'm-alice', NULL)$$),
    ('reason blank',          $$SELECT activity.redact('red-a', 'm-alice', '  ')$$),
    ('reason names member',   $$SELECT activity.redact('red-a', 'm-alice', 'request of m-alice')$$),
    ('workspace empty',       $$SELECT activity.redact('', 'm-alice', 'red ticket 0')$$)
) t(label, sql);
-- a role that does not own the log
CREATE ROLE red_app;
GRANT USAGE ON SCHEMA activity TO red_app;
SET ROLE red_app;
SELECT pg_temp.expect_error($$SELECT activity.redact('red-a', 'm-alice', 'red ticket 0')$$) AS not_owner;
SELECT pg_temp.expect_error($$SELECT activity.redact(NULL, 'm-alice', 'red ticket 0')$$) AS not_owner_all;
RESET ROLE;
REVOKE USAGE ON SCHEMA activity FROM red_app;
DROP ROLE red_app;
SELECT count(*) AS recorded_erasures FROM activity.redactions WHERE reason LIKE 'red ticket%';
SELECT count(*) FILTER (WHERE b.digest IS DISTINCT FROM md5(a::text)) AS rows_changed_by_errors
FROM red_before b LEFT JOIN activity.activities a ON a.id = b.id;

---------------------------------------------------------------------------
-- Erasure in one workspace
---------------------------------------------------------------------------
SET client_min_messages = warning;   -- (its NOTICE names the random pseudonym)
SELECT activity.redact('red-a', 'm-alice', 'red ticket 1') AS redacted \gset
RESET client_min_messages;
SELECT :redacted AS redacted;
SELECT pseudonym FROM activity.redactions WHERE reason = 'red ticket 1' \gset
-- the number returned is exactly the rows changed, the rows that involved the member
SELECT count(*) FILTER (WHERE b.digest <> md5(a::text)) = :redacted AS returned_rows_changed,
       count(*) FILTER (WHERE b.involved AND b.workspace_id = 'red-a') = :redacted AS returned_rows_involved,
       count(*) FILTER (WHERE b.involved AND b.workspace_id = 'red-a' AND b.digest = md5(a::text)) AS involved_unchanged,
       count(*) FILTER (WHERE NOT (b.involved AND b.workspace_id = 'red-a') AND b.digest <> md5(a::text)) AS others_changed,
       count(*) FILTER (WHERE a.id IS NULL) AS rows_lost
FROM red_before b LEFT JOIN activity.activities a ON a.id = b.id;
-- the rows of other members, and the other workspace, are as they were
SELECT b.workspace_id, md5(string_agg(b.digest, ',' ORDER BY b.id)) = md5(string_agg(md5(a::text), ',' ORDER BY b.id)) AS unchanged
FROM red_before b JOIN activity.activities a ON a.id = b.id
WHERE NOT (b.involved AND b.workspace_id = 'red-a')
GROUP BY 1 ORDER BY 1;
-- the redacted rows keep everything but the member's columns and metadata:
-- id, time, type, version, xact_id (the change feed's order) ...
SELECT count(*) FILTER (WHERE b.fixed_digest = md5(row(a.id, a.workspace_id, a.platform, a.type, a.version, a.actor_type, a.subject_type,
                                                       a.caused_by, a.occurred_at, a.recorded_at, a.function_type, a.xact_id)::text))
       AS kept_their_other_columns,
       count(*) FILTER (WHERE a.tableoid::regclass = b.partition) AS stayed_in_their_partition
FROM red_before b JOIN activity.activities a ON a.id = b.id
WHERE b.involved AND b.workspace_id = 'red-a';
-- ... and each what it should (pseudonym shown as <P>)
SELECT r.label, a.initiator_id = :'pseudonym' AS initiator_p, a.recipient_id = :'pseudonym' AS recipient_p,
       a.subject_id = :'pseudonym' AS subject_p, replace(a.metadata::text, :'pseudonym', '<P>') AS metadata
FROM red_rows r JOIN activity.activities a ON a.id = r.id
ORDER BY r.label;

-- one pseudonym for every row of the erasure, random-looking, not the id
SELECT :'pseudonym' ~ '^redacted:[0-9a-f]{20}$' AS pseudonym_format;
SELECT count(DISTINCT v) AS pseudonyms
FROM activity.activities a,
     LATERAL (SELECT unnest(ARRAY[a.initiator_id, a.recipient_id, a.subject_id])
              UNION ALL SELECT m[1] FROM regexp_matches(a.metadata::text, '(redacted:[0-9a-f]{20})', 'g') m) x(v)
WHERE a.workspace_id = 'red-a' AND v LIKE 'redacted:%';
-- feeds and counts add up: per initiator and per recipient, the member's
-- count before is the pseudonym's after
SELECT (SELECT string_agg(k || '=' || n, ', ' ORDER BY k) FROM (
            SELECT 'initiator ' || initiator_id AS k, count(*) AS n FROM red_before WHERE workspace_id = 'red-a' GROUP BY 1
            UNION ALL
            SELECT 'recipient ' || recipient_id, count(*) FROM red_before WHERE workspace_id = 'red-a' AND recipient_id IS NOT NULL GROUP BY 1) s)
     = (SELECT string_agg(k || '=' || n, ', ' ORDER BY k) FROM (
            SELECT 'initiator ' || replace(initiator_id, :'pseudonym', 'm-alice') AS k, count(*) AS n
            FROM activity.activities WHERE workspace_id = 'red-a' GROUP BY 1
            UNION ALL
            SELECT 'recipient ' || replace(recipient_id, :'pseudonym', 'm-alice'), count(*)
            FROM activity.activities WHERE workspace_id = 'red-a' AND recipient_id IS NOT NULL GROUP BY 1) s) AS counts_add_up;
-- the feeds return the rows, the member's under the pseudonym
SELECT (SELECT count(*) FROM activity.page('red-a', "limit" => 200)) AS page_rows,
       (SELECT count(*) FROM activity.activity_log WHERE workspace_id = 'red-a') AS activity_log_rows,
       (SELECT count(*) FROM activity.page('red-a', "limit" => 200, initiator_id => :'pseudonym')) AS pseudonym_initiated,
       (SELECT count(*) FROM activity.page('red-a', "limit" => 200, recipient_id => :'pseudonym')) AS pseudonym_received,
       (SELECT count(*) FROM activity.page('red-a', "limit" => 200, member_id => 'm-alice')) AS member_rows_left;
SELECT count(*) AS red_a_before FROM red_before WHERE workspace_id = 'red-a';

-- the erasure is recorded once, with the number returned and the partitions
-- changed, and no column of it holds the member's id
SELECT count(*) AS erasures, bool_and(r.events = :redacted) AS events_as_returned,
       bool_and(r.workspace_id = 'red-a') AS workspace, bool_and(r.redacted_by = current_user) AS by_me,
       bool_and(r.pseudonym = :'pseudonym') AS pseudonym,
       bool_and(row_to_json(r)::text NOT LIKE '%m-alice%') AS no_member_id
FROM activity.redactions r WHERE r.reason = 'red ticket 1';
SELECT p.partition
FROM activity.redactions r, unnest(r.partitions) p(partition)
WHERE r.reason = 'red ticket 1'
ORDER BY 1;
SELECT string_agg(DISTINCT partition::text, ',' ORDER BY partition::text) AS partitions_of_involved_rows
FROM red_before WHERE involved AND workspace_id = 'red-a';

-- nothing left to erase there; a member without events: 0, still recorded
SET client_min_messages = warning;
SELECT activity.redact('red-a', 'm-alice', 'red ticket 2') AS again,
       activity.redact('red-a', 'm-nobody', 'red ticket 3') AS nobody;
RESET client_min_messages;
SELECT reason, events, partitions FROM activity.redactions WHERE reason IN ('red ticket 2', 'red ticket 3') ORDER BY 1;

---------------------------------------------------------------------------
-- Erasure in every workspace (NULL): the other workspace's rows too, under
-- another pseudonym
---------------------------------------------------------------------------
SET client_min_messages = warning;
SELECT activity.redact(NULL, 'm-alice', 'red ticket 4') AS redacted_all \gset
RESET client_min_messages;
SELECT :redacted_all AS redacted_all;
SELECT pseudonym AS pseudonym_all FROM activity.redactions WHERE reason = 'red ticket 4' \gset
SELECT workspace_id IS NULL AS all_workspaces, events = :redacted_all AS events_as_returned,
       pseudonym <> :'pseudonym' AS new_pseudonym, pseudonym ~ '^redacted:[0-9a-f]{20}$' AS pseudonym_format
FROM activity.redactions WHERE reason = 'red ticket 4';
SELECT r.label, a.initiator_id = :'pseudonym_all' AS initiator_p, a.recipient_id = :'pseudonym_all' AS recipient_p,
       replace(a.metadata::text, :'pseudonym_all', '<P2>') AS metadata
FROM red_rows r JOIN activity.activities a ON a.id = r.id
WHERE r.label LIKE 'b%'
ORDER BY r.label;
SELECT count(*) FILTER (WHERE b.digest <> md5(a::text) AND b.workspace_id = 'red-b') = :redacted_all AS returned_rows_changed,
       count(*) FILTER (WHERE NOT b.involved AND b.digest <> md5(a::text)) AS others_changed
FROM red_before b JOIN activity.activities a ON a.id = b.id;

---------------------------------------------------------------------------
-- A member mentioned only as an object key (beside numbers and arrays)
---------------------------------------------------------------------------
SET client_min_messages = warning;
SELECT activity.redact('red-a', 'm-erin', 'red ticket 5') AS redacted_key;
RESET client_min_messages;
\set pseudonym_key ''
SELECT pseudonym AS pseudonym_key FROM activity.redactions WHERE reason = 'red ticket 5' \gset
SELECT r.label, replace(a.metadata::text, :'pseudonym_key', '<P3>') AS metadata
FROM red_rows r JOIN activity.activities a ON a.id = r.id
WHERE r.label = 'k1';
SELECT count(*) AS rows_naming_erin FROM activity.activities a WHERE row_to_json(a)::text LIKE '%m-erin%';

---------------------------------------------------------------------------
-- No column and no index of any partition holds the id once the partitions
-- changed are vacuumed, as the erasure's NOTICE and activity.redactions say
---------------------------------------------------------------------------
-- the old row versions and their index entries are still there until then
SELECT count(*) > 0 AS dead_versions_hold_alice FROM pg_temp.heap_tuples_holding('m-alice');
SELECT count(*) > 0 AS dead_index_entries_hold_alice FROM pg_temp.index_items_holding('m-alice');
SELECT DISTINCT format('VACUUM %s', p) FROM activity.redactions r, unnest(r.partitions) p
WHERE r.reason LIKE 'red ticket%' ORDER BY 1 \gexec
-- the rows (every column, as the log returns them)
SELECT count(*) AS rows_naming_alice FROM activity.activities a WHERE row_to_json(a)::text LIKE '%m-alice%';
-- every tuple of every partition's heap, dead versions included
SELECT * FROM pg_temp.heap_tuples_holding('m-alice');
-- every item of every btree index page of every partition
SELECT * FROM pg_temp.index_items_holding('m-alice');
-- nor do the planner's statistics of the log and its partitions (pg_stats
-- shows them to every role that may read the columns): neither the id nor
-- the personal data erased with it
SELECT tablename, attname
FROM pg_stats
WHERE schemaname IN ('activity', 'activity_partitions') AND tablename LIKE 'activities%'
  AND (most_common_vals::text LIKE '%m-alice%' OR histogram_bounds::text LIKE '%m-alice%'
       OR most_common_vals::text LIKE '%alice@example.com%' OR histogram_bounds::text LIKE '%alice@example.com%')
ORDER BY 1, 2;
-- the same scans find a member who was not erased (they can fail)
SELECT count(*) > 0 AS heap_holds_bob FROM pg_temp.heap_tuples_holding('m-bob');
SELECT index FROM pg_temp.index_items_holding('m-bob') ORDER BY 1;
-- ... and the near misses are still there
SELECT initiator_id, count(*) FROM activity.activities WHERE initiator_id IN ('M-Alice', 'm-alicia') GROUP BY 1 ORDER BY 1;

---------------------------------------------------------------------------
-- Clean up: the rows go by retention, the rules and erasures with them
---------------------------------------------------------------------------
SELECT count(*) AS red_rows FROM activity.activities WHERE workspace_id LIKE 'red-%' \gset
SELECT count(*) AS rules FROM (
    SELECT activity.add_retention('0', workspace_id => w) FROM unnest(ARRAY['red-a', 'red-b', 'red-bulk']) w) r;
SELECT sum("rows") = :red_rows AS deleted_all FROM activity.maintain() WHERE action = 'deleted';
SELECT count(*) AS red_rows_left FROM activity.activities WHERE workspace_id LIKE 'red-%';
SELECT bool_and(activity.remove_retention(rule_id)) AS rules_removed
FROM activity.retention_rules WHERE workspace_id IN ('red-a', 'red-b', 'red-bulk');
DROP TABLE activity_partitions.activities_p20460301, activity_partitions.activities_p20460401;
DELETE FROM activity.redactions WHERE reason LIKE 'red ticket%';
-- (change_feed, run later, lists the removals)
DELETE FROM activity.feed_removals WHERE removal > :removals_before;
DROP EXTENSION pageinspect;
