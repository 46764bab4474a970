-- Search: page(member_id => ...) (what a member initiated or received, two
-- index seeks merged) and page(metadata => ...) (containment, a bitmap
-- scan of the metadata index where the log has one), each checked against
-- plain SQL over the log, paged to the end in both directions.
SET TIME ZONE 'UTC';
SET datestyle = 'ISO, YMD';

\i test/sql/include/expect_error.sql

SELECT count(*) AS types FROM (
    SELECT activity.register_type('se.post'), activity.register_type('se.award', recipient => 'required')) s;
SELECT count(*) AS partitions FROM activity.create_partitions('2052-01-01', '2052-04-01');
-- 3,000 activities over three months and the default partition (1999), in
-- two workspaces; every fourth an award from one member to another (se-u13 to
-- se-u16 only receive), some to themselves
INSERT INTO activity.activities (workspace_id, type, initiator_id, recipient_id, metadata, occurred_at)
SELECT 'se-ws' || ((g / 4) % 2), CASE WHEN g % 4 = 0 THEN 'se.award' ELSE 'se.post' END,
       'se-u' || (g % 13), CASE WHEN g % 4 = 0 THEN 'se-u' || (g % 17) END,
       jsonb_build_object('post_id', 'p' || (g % 100), 'feed', (ARRAY['general', 'news', 'help'])[1 + g % 3],
                          'tags', jsonb_build_array('t' || (g % 5), 't' || (g % 7))),
       CASE WHEN g % 50 = 0 THEN '1999-01-01'::timestamptz ELSE '2052-01-01'::timestamptz END + g * interval '40 minutes'
FROM generate_series(1, 3000) g;

-- walk(args, where, direction): page() to the end by cursors, against SQL
CREATE FUNCTION pg_temp.walk(args text, cond text, dir text DEFAULT 'desc') RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    c activity.cursor;
    got uuid[] := '{}';
    want uuid[];
    r record;
    more boolean := true;
BEGIN
    WHILE more LOOP
        more := false;
        FOR r IN EXECUTE format('SELECT id, cursor, has_more FROM activity.page(%s, after => $1, "limit" => 7, direction => %L)',
                                args, dir) USING c LOOP
            got := got || r.id;
            c := r.cursor;
            more := r.has_more;
        END LOOP;
    END LOOP;
    EXECUTE format('SELECT coalesce(array_agg(id ORDER BY occurred_at %s, id %s), ''{}'') FROM activity.activities WHERE %s',
                   dir, dir, cond) INTO want;
    RETURN CASE WHEN got = want THEN 'same ' || cardinality(got) || ' rows' ELSE 'DIFFERENT: ' || cardinality(got) || ' vs ' || cardinality(want) END;
END;
$$;

---------------------------------------------------------------------------
-- A member's timeline
---------------------------------------------------------------------------
SELECT label, pg_temp.walk(args, cond, dir) AS result
FROM (VALUES
    ('member',                $$'se-ws0', member_id => 'se-u4'$$, $$workspace_id = 'se-ws0' AND (initiator_id = 'se-u4' OR recipient_id = 'se-u4')$$, 'desc'),
    ('member, oldest first',  $$'se-ws0', member_id => 'se-u4'$$, $$workspace_id = 'se-ws0' AND (initiator_id = 'se-u4' OR recipient_id = 'se-u4')$$, 'asc'),
    ('member, awards only',   $$'se-ws1', member_id => 'se-u3', types => '{se.award}'$$, $$workspace_id = 'se-ws1' AND type = 'se.award' AND (initiator_id = 'se-u3' OR recipient_id = 'se-u3')$$, 'desc'),
    ('member, a window',      $$'se-ws1', member_id => 'se-u3', since => '2052-02-01', until => '2052-02-15'$$,
     $$workspace_id = 'se-ws1' AND (initiator_id = 'se-u3' OR recipient_id = 'se-u3') AND occurred_at >= '2052-02-01' AND occurred_at < '2052-02-15'$$, 'desc'),
    ('member who only received', $$'se-ws0', member_id => 'se-u15'$$, $$workspace_id = 'se-ws0' AND (initiator_id = 'se-u15' OR recipient_id = 'se-u15')$$, 'desc'),
    ('no such member',        $$'se-ws0', member_id => 'nobody'$$, $$false$$, 'desc'),
    ('member, every workspace', $$NULL, member_id => 'se-u4'$$, $$initiator_id = 'se-u4' OR recipient_id = 'se-u4'$$, 'desc')
) AS t(label, args, cond, dir);
-- an award a member gave themself is in their timeline once
SELECT count(*) AS self_awards, count(DISTINCT id) AS distinct_ids
FROM activity.page('se-ws0', member_id => 'se-u4', "limit" => 200) WHERE initiator_id = 'se-u4' AND recipient_id = 'se-u4';
-- two index seeks per partition, merged: its initiator feed and its recipient feed
SELECT DISTINCT regexp_replace(plan, 'activities_p[0-9]+|activities_default', 'P', 'g') AS plan
FROM activity.page_plans('se-ws0', member_id => 'se-u4');
SELECT pg_temp.expect_error($$SELECT * FROM activity.page('se-ws0', member_id => 'se-u4', initiator_id => 'se-u5')$$) AS with_initiator;
SELECT pg_temp.expect_error($$SELECT * FROM activity.page('se-ws0', member_id => 'se-u4', recipient_id => 'se-u5')$$) AS with_recipient;
-- the cursor binds the member
SELECT cursor AS c FROM activity.page('se-ws0', member_id => 'se-u4', "limit" => 1) \gset
SELECT pg_temp.expect_error(format($$SELECT * FROM activity.page('se-ws0', member_id => 'se-u5', after => %L)$$, :'c')) AS other_member;

---------------------------------------------------------------------------
-- Metadata containment
---------------------------------------------------------------------------
-- without a metadata index: the feed is walked and filtered
SELECT label, pg_temp.walk(args, cond) AS result
FROM (VALUES
    ('a post',          $$'se-ws0', metadata => '{"post_id": "p8"}'$$, $$workspace_id = 'se-ws0' AND metadata @> '{"post_id": "p8"}'$$),
    ('a feed and a tag', $$'se-ws1', metadata => '{"feed": "news", "tags": ["t3"]}'$$, $$workspace_id = 'se-ws1' AND metadata @> '{"feed": "news", "tags": ["t3"]}'$$),
    ('nothing',          $$'se-ws0', metadata => '{"post_id": "p8", "feed": "nope"}'$$, $$false$$),
    ('empty document',   $$'se-ws0', metadata => '{}'$$, $$workspace_id = 'se-ws0'$$)
) AS t(label, args, cond);
SELECT DISTINCT regexp_replace(plan, 'activities_p[0-9]+|activities_default', 'P', 'g') AS plan
FROM activity.page_plans('se-ws0', metadata => '{"post_id": "p8"}');
-- opting in: maintain() gives new partitions the index, and lists the
-- statements that build it on the others (online, CREATE INDEX CONCURRENTLY)
SELECT partition_interval, metadata_index FROM activity.configure(metadata_index => true);
SELECT count(*) AS index_builds FROM activity.pending_steps()
WHERE statement ~ '_(p2052[0-9]+|default)_metadata_idx ON .* USING gin \(metadata jsonb_path_ops\)';
SELECT statement FROM activity.pending_steps() WHERE statement ~ '_(p2052[0-9]+|default)_metadata_idx' \gexec
ANALYZE activity.activities;
SELECT label, pg_temp.walk(args, cond) AS result
FROM (VALUES
    ('a post',          $$'se-ws0', metadata => '{"post_id": "p8"}'$$, $$workspace_id = 'se-ws0' AND metadata @> '{"post_id": "p8"}'$$),
    ('a feed and a tag', $$'se-ws1', metadata => '{"feed": "news", "tags": ["t3"]}'$$, $$workspace_id = 'se-ws1' AND metadata @> '{"feed": "news", "tags": ["t3"]}'$$),
    ('with a type',      $$'se-ws1', metadata => '{"feed": "help"}', types => '{se.award}'$$, $$workspace_id = 'se-ws1' AND type = 'se.award' AND metadata @> '{"feed": "help"}'$$),
    ('every workspace',  $$NULL, metadata => '{"post_id": "p9"}'$$, $$metadata @> '{"post_id": "p9"}'$$)
) AS t(label, args, cond);
-- a walk of the feed with a budget (a document most events contain is
-- found soonest so), then index seeks: a bitmap scan of each partition's
-- metadata index, never a sequential scan
SELECT bool_and(plan ~ '^Index Scan using \S+_feed_idx .*\(direct, limit \$3\).*at most 100 \+ 4 x limit entries.*Bitmap Index Scan'
                AND plan !~ 'Seq Scan') AS every_partition_walks_then_bitmap_scans,
       count(*) FILTER (WHERE plan ~ 'Bitmap Index Scan on activities_p[0-9]+_metadata_idx') AS monthly_partitions_by_metadata_index,
       count(*) AS partitions
FROM activity.page_plans('se-ws0', metadata => '{"post_id": "p8"}', since => '2052-01-01')
WHERE partition::text ~ '_(p2052[0-9]+|default)$';
-- a rare document: the walk runs out of budget in the newest partition and
-- the index serves the rest of it and the older ones; a common one is found
-- by the walk alone; both the same rows as SQL, paged to the end
SELECT label, pg_temp.walk(args, cond, dir) AS result
FROM (VALUES
    ('rare, newest first',   $$'se-ws0', metadata => '{"post_id": "p8", "feed": "help"}'$$,
     $$workspace_id = 'se-ws0' AND metadata @> '{"post_id": "p8", "feed": "help"}'$$, 'desc'),
    ('rare, oldest first',   $$'se-ws0', metadata => '{"post_id": "p8", "feed": "help"}'$$,
     $$workspace_id = 'se-ws0' AND metadata @> '{"post_id": "p8", "feed": "help"}'$$, 'asc'),
    ('common, oldest first', $$'se-ws1', metadata => '{"feed": "news"}'$$,
     $$workspace_id = 'se-ws1' AND metadata @> '{"feed": "news"}'$$, 'asc')
) AS t(label, args, cond, dir);
SELECT metadata_index FROM activity.configure(metadata_index => false);
