-- A feed is right or it is refused: page() reads a partition by a direct
-- index scan only when the index of the expected name has exactly the
-- expected definition (key columns, order, operator class, predicate,
-- validity). A partition attached by hand, whose indexes have the right names
-- but the wrong shapes, is read through its plan instead, with the same rows
-- as SQL over the log, and page_plans() says so.
--
-- Regression: such a partition made page() return rows oldest first, repeat
-- rows on the next page, or return 1 of 5 rows, and page_plans() showed
-- direct scans.
BEGIN;
SELECT plan(19);
SET LOCAL TIME ZONE 'UTC';

SELECT activity.register_type('fs.event', recipient => 'optional') IS NOT NULL AS registered \g /dev/null
CREATE TABLE activity_partitions.activities_p20460101 (LIKE activity.activities INCLUDING DEFAULTS);
-- named like the feed indexes, shaped otherwise
CREATE INDEX activities_p20460101_feed_idx                -- ascending
    ON activity_partitions.activities_p20460101 (workspace_id, occurred_at, id);
CREATE INDEX activities_p20460101_subject_idx             -- partial on a type
    ON activity_partitions.activities_p20460101 (workspace_id, subject_type, subject_id, occurred_at DESC, id DESC)
    WHERE type = 'fs.other';
CREATE INDEX activities_p20460101_initiator_idx           -- partial on a range of initiators
    ON activity_partitions.activities_p20460101 (workspace_id, initiator_id, occurred_at DESC, id DESC)
    WHERE initiator_id > 'u2';
CREATE INDEX activities_p20460101_recipient_idx           -- another operator class
    ON activity_partitions.activities_p20460101 (workspace_id, recipient_id text_pattern_ops, occurred_at DESC, id DESC)
    WHERE recipient_id IS NOT NULL;
CREATE INDEX activities_p20460101_time_idx                -- a bound that leaves rows out
    ON activity_partitions.activities_p20460101 (occurred_at DESC, id DESC)
    WHERE occurred_at > '2046-01-03';
ALTER TABLE activity.activities ATTACH PARTITION activity_partitions.activities_p20460101
    FOR VALUES FROM ('2046-01-01') TO ('2046-02-01');
SELECT activity._add_validation('activity_partitions.activities_p20460101') \g /dev/null
INSERT INTO activity.activities (workspace_id, type, initiator_id, recipient_id, subject_type, subject_id, occurred_at)
SELECT 'fs-ws', 'fs.event', 'u' || g, 'r1', 'post', 'p1', timestamptz '2046-01-01' + g * interval '1 day'
FROM generate_series(1, 5) g;

-- the truth: SQL over the log
CREATE FUNCTION pg_temp.truth(cond text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
    EXECUTE format('SELECT string_agg(initiator_id, '','' ORDER BY occurred_at DESC, id DESC) FROM activity.activities WHERE %s', cond)
    INTO r;
    RETURN r;
END;
$$;
-- page() walked to the end, 2 rows a page
CREATE FUNCTION pg_temp.walk(ws text, subject_type text DEFAULT NULL, subject_id text DEFAULT NULL,
                             initiator_id text DEFAULT NULL, recipient_id text DEFAULT NULL) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    c activity.cursor;
    r record;
    out text[] := '{}';
    more boolean := true;
BEGIN
    WHILE more LOOP
        more := false;
        FOR r IN SELECT * FROM activity.page(ws, c, 2, subject_type, subject_id, initiator_id, recipient_id) LOOP
            out := out || r.initiator_id;
            c := r.cursor;
            more := r.has_more;
        END LOOP;
    END LOOP;
    RETURN array_to_string(out, ',');
END;
$$;
-- is the hand-made partition read through its plan (not a direct scan)?
CREATE FUNCTION pg_temp.through_plan(ws text, subject_type text DEFAULT NULL, subject_id text DEFAULT NULL,
                                     initiator_id text DEFAULT NULL, recipient_id text DEFAULT NULL) RETURNS boolean
LANGUAGE sql AS $$
    SELECT bool_and(plan !~ '\(direct') AND count(*) = 1
    FROM activity.page_plans(ws, NULL, 2, subject_type, subject_id, initiator_id, recipient_id)
    WHERE partition = 'activity_partitions.activities_p20460101'::regclass
$$;

SELECT is(pg_temp.walk('fs-ws'), pg_temp.truth($$workspace_id = 'fs-ws'$$),
          'an ascending index named as the workspace feed index: the feed is newest first, each row once');
SELECT is(pg_temp.walk('fs-ws'), 'u5,u4,u3,u2,u1', '... all 5 rows');
SELECT ok(pg_temp.through_plan('fs-ws'), '... and page_plans() shows the partition read through its plan');
SELECT is(pg_temp.walk('fs-ws', 'post', 'p1'), pg_temp.truth($$workspace_id = 'fs-ws' AND subject_type = 'post' AND subject_id = 'p1'$$),
          'a subject index partial on a type: the entity feed has every row');
SELECT ok(pg_temp.through_plan('fs-ws', 'post', 'p1'), '... read through the plan');
SELECT is(pg_temp.walk('fs-ws', initiator_id => 'u1'), 'u1',
          'an initiator index partial on a range of initiators: the actor feed of one outside it has its row');
SELECT ok(pg_temp.through_plan('fs-ws', initiator_id => 'u1'), '... read through the plan');
SELECT is(pg_temp.walk('fs-ws', recipient_id => 'r1'), pg_temp.truth($$workspace_id = 'fs-ws' AND recipient_id = 'r1'$$),
          'a recipient index of another operator class: the recipient feed has every row');
SELECT ok(pg_temp.through_plan('fs-ws', recipient_id => 'r1'), '... read through the plan');
SELECT is((SELECT string_agg(initiator_id, ',') FROM activity.page(NULL, NULL, 10, since => '2046-01-01', until => '2046-02-01')
           WHERE workspace_id = 'fs-ws'),
          'u5,u4,u3,u2,u1', 'a time index with a bound: the all-workspaces listing has the rows outside the bound');
SELECT ok(pg_temp.through_plan(NULL), '... read through the plan');

-- indexes of the expected shapes (what create_partitions() builds) are read directly
DROP INDEX activity_partitions.activities_p20460101_feed_idx, activity_partitions.activities_p20460101_initiator_idx;
SELECT ok(NOT activity._index_counts_possible(), 'a partition without its workspace feed index: counts() takes the SQL');
CREATE UNIQUE INDEX activities_p20460101_feed_idx
    ON activity_partitions.activities_p20460101 (workspace_id, occurred_at DESC, id DESC) INCLUDE (type);
SELECT ok(activity._index_counts_possible(), '... the feed indexes once every partition has its own');
-- what the last call found is forgotten when an index goes
SAVEPOINT gone;
DROP INDEX activity_partitions.activities_p20460101_feed_idx;
SELECT ok(NOT activity._index_counts_possible(), '... the SQL again once one is dropped (the answer kept is forgotten)');
ROLLBACK TO SAVEPOINT gone;
CREATE INDEX activities_p20460101_initiator_idx
    ON activity_partitions.activities_p20460101 (workspace_id, initiator_id, occurred_at DESC, id DESC)
    WHERE initiator_id IS NOT NULL;
SELECT ok(NOT pg_temp.through_plan('fs-ws'), 'the workspace feed index rebuilt as defined: a direct scan');
SELECT is(pg_temp.walk('fs-ws'), 'u5,u4,u3,u2,u1', '... with the same rows');
SELECT ok(NOT pg_temp.through_plan('fs-ws', initiator_id => 'u1'), 'the initiator index rebuilt as defined: a direct scan');
SELECT is(pg_temp.walk('fs-ws', initiator_id => 'u1'), 'u1', '... with the same row');
-- an index being built (not valid yet) is not used
UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'activity_partitions.activities_p20460101_feed_idx'::regclass;
SELECT ok(pg_temp.through_plan('fs-ws'), 'an invalid index (CREATE INDEX CONCURRENTLY under way): read through the plan');

SELECT * FROM finish();
ROLLBACK;
