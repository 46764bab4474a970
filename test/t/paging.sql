-- Paging to the end returns every row exactly once in (occurred_at DESC,
-- id DESC) order: over range partitions and the default partition, with
-- ties, at every page size, while new rows arrive between pages (newer,
-- older, tied with the cursor), and while partitions are created under the
-- reader. has_more semantics; a cursor is bound to its workspace.
BEGIN;
SELECT plan(28);
SET LOCAL TIME ZONE 'UTC';
SELECT setseed(0.4242);

\o /dev/null
SELECT activity.register_type('tp.event');
SELECT activity.create_partitions('2041-01-01', '2041-07-01');

-- 1200 rows from 2040-10 to 2041-09: before, inside and after the range
-- partitions (the ends in the default partition); timestamps on a coarse
-- grid so that many rows tie; plus outliers and other workspaces' rows.
INSERT INTO activity.activities (workspace_id, type, initiator_id, metadata, occurred_at)
SELECT 'tp-ws', 'tp.event', 'u' || (g % 17), jsonb_build_object('g', g),
       '2040-10-01'::timestamptz + floor(random() * 360) * interval '1 day' + floor(random() * 3) * interval '1 hour'
FROM generate_series(1, 1200) g;
INSERT INTO activity.activities (workspace_id, type, initiator_id, metadata, occurred_at)
SELECT 'tp-ws', 'tp.event', 'outlier', jsonb_build_object('g', -g), d
FROM unnest('{1990-01-01, 1990-01-01, 2090-01-01, 2090-01-01, 1500-06-06}'::timestamptz[]) WITH ORDINALITY t(d, g);
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
SELECT 'tp-' || (g % 3), 'tp.event', 'noise', '2040-10-01'::timestamptz + g * interval '7 hours'
FROM generate_series(1, 600) g;
\o

-- walk(ws, lim): every row of a walk, with its page number and has_more
CREATE FUNCTION pg_temp.walk(ws text, lim int)
RETURNS TABLE (n int, page int, id uuid, occurred_at timestamptz, has_more boolean)
LANGUAGE plpgsql AS $$
DECLARE
    c activity.cursor;
    r record;
    more boolean := true;
BEGIN
    n := 0;
    page := 0;
    WHILE more LOOP
        page := page + 1;
        more := false;
        FOR r IN SELECT * FROM activity.page(ws, c, lim) LOOP
            n := n + 1;
            id := r.id; occurred_at := r.occurred_at; has_more := r.has_more;
            c := r.cursor;
            more := r.has_more;
            RETURN NEXT;
        END LOOP;
    END LOOP;
END;
$$;

CREATE TEMP VIEW expected AS
SELECT id FROM activity.activities WHERE workspace_id = 'tp-ws' ORDER BY occurred_at DESC, id DESC;

SELECT ok((SELECT count(*) FROM activity.activities a WHERE workspace_id = 'tp-ws'
            AND a.tableoid = 'activity_partitions.activities_default'::regclass) > 100
          AND (SELECT count(*) FROM activity.activities a WHERE workspace_id = 'tp-ws'
            AND a.tableoid <> 'activity_partitions.activities_default'::regclass) > 100,
          'the feed spans the default partition and range partitions');
SELECT ok((SELECT count(*) FROM (SELECT occurred_at FROM activity.activities WHERE workspace_id = 'tp-ws'
                                 GROUP BY 1 HAVING count(*) > 1) s) > 50,
          'many rows share their occurred_at');

SELECT results_eq(format('SELECT id FROM pg_temp.walk(''tp-ws'', %s) ORDER BY n', lim), 'SELECT id FROM expected',
                  format('paging %s rows at a time returns every row once, newest first, ties by id', lim))
FROM unnest('{1, 7, 50, 199, 200}'::int[]) lim;

SELECT results_eq(
    $$SELECT id, workspace_id, platform, type, version, actor_type, initiator_id, recipient_id, subject_type,
             subject_id, caused_by, metadata, occurred_at, recorded_at FROM activity.page('tp-ws', NULL, 200)$$,
    $$SELECT id, workspace_id, platform, type, version, actor_type, initiator_id, recipient_id, subject_type,
             subject_id, caused_by, metadata, occurred_at, recorded_at FROM activity.activities
      WHERE workspace_id = 'tp-ws' ORDER BY occurred_at DESC, id DESC LIMIT 200$$,
    'a page carries the stored rows, every column');

-- has_more
SELECT is((SELECT count(DISTINCT (page, has_more)) FROM pg_temp.walk('tp-ws', 50)),
          (SELECT max(page)::bigint FROM pg_temp.walk('tp-ws', 50)),
          'has_more is the same on every row of a page');
SELECT results_eq(
    $$SELECT has_more, count(DISTINCT page) FROM pg_temp.walk('tp-ws', 50) GROUP BY 1 ORDER BY 1$$,
    $$VALUES (false, 1::bigint), (true, 24::bigint)$$,
    'has_more is true on every page but the last (1205 rows: 24 full pages, then 5)');
CREATE TEMP TABLE ten AS
SELECT activity.record('tp-ten', 'tp.event', 'u', occurred_at => '2041-03-01'::timestamptz + g * interval '1 minute') AS id
FROM generate_series(1, 10) g;
SELECT is((SELECT bool_or(has_more) FROM activity.page('tp-ten', NULL, 10)), false, 'exactly "limit" rows left: has_more is false');
SELECT is((SELECT bool_and(has_more) FROM activity.page('tp-ten', NULL, 9)), true, 'one more row than "limit": has_more is true');
SELECT is((SELECT count(*) FROM activity.page('tp-ten', (SELECT cursor FROM activity.page('tp-ten', NULL, 10) OFFSET 9), 10)),
          0::bigint, 'the page after the last row is empty');
SELECT is((SELECT count(*) FROM activity.page('tp-none')), 0::bigint, 'a workspace without rows has an empty feed');

-- New rows arriving between pages. After each page: one row newer than
-- anything, one in the already-read range, one tied with the cursor's time
-- and a greater id (already read), one tied with a smaller id (still to be
-- read), one older than the cursor (still to be read).
CREATE TEMP TABLE before_walk AS SELECT id, occurred_at FROM activity.activities WHERE workspace_id = 'tp-ws';
CREATE TEMP TABLE arrived (id uuid, should_appear boolean);
CREATE FUNCTION pg_temp.walk_with_arrivals(ws text, lim int)
RETURNS TABLE (n int, id uuid, occurred_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    c activity.cursor;
    r record;
    more boolean := true;
    last_ts timestamptz;
    k int := 0;
BEGIN
    n := 0;
    WHILE more LOOP
        more := false;
        FOR r IN SELECT * FROM activity.page(ws, c, lim) LOOP
            n := n + 1;
            id := r.id; occurred_at := r.occurred_at;
            c := r.cursor;
            last_ts := r.occurred_at;
            more := r.has_more;
            RETURN NEXT;
        END LOOP;
        IF more THEN
            k := k + 1;
            INSERT INTO arrived
            SELECT activity.record(ws, 'tp.event', 'new', jsonb_build_object('k', k, 'what', what),
                                   occurred_at => ts), appear
            FROM (VALUES ('newest', '2099-01-01'::timestamptz + k * interval '1 second', false),
                         ('read range', last_ts + interval '1 second', false),
                         ('older', last_ts - interval '1 second', true),
                         ('far older', last_ts - interval '30 days', true)) v(what, ts, appear);
            -- tied with the cursor: ids chosen around the cursor's id
            INSERT INTO activity.activities (id, workspace_id, type, initiator_id, occurred_at)
            VALUES (('ffffffff-ffff-7fff-bfff-' || lpad(to_hex(k), 12, '0'))::uuid, ws, 'tp.event', 'tie-after', last_ts),
                   (('00000000-0000-7000-8000-' || lpad(to_hex(k), 12, '0'))::uuid, ws, 'tp.event', 'tie-before', last_ts);
            INSERT INTO arrived VALUES
                (('ffffffff-ffff-7fff-bfff-' || lpad(to_hex(k), 12, '0'))::uuid, false),
                (('00000000-0000-7000-8000-' || lpad(to_hex(k), 12, '0'))::uuid, true);
        END IF;
    END LOOP;
END;
$$;
CREATE TEMP TABLE walked AS SELECT * FROM pg_temp.walk_with_arrivals('tp-ws', 40);
SELECT ok((SELECT count(*) FROM arrived) > 100, 'rows arrived between the pages');
SELECT is((SELECT count(*) FROM walked), (SELECT count(DISTINCT id) FROM walked), 'no row was returned twice');
SELECT is_empty($$SELECT id FROM before_walk EXCEPT SELECT id FROM walked$$, 'every row that existed before the walk was returned');
SELECT is_empty($$SELECT id FROM arrived WHERE should_appear EXCEPT SELECT id FROM walked$$,
                'every row that arrived behind the cursor (older, or tied with a smaller id) was returned');
SELECT is_empty($$SELECT id FROM arrived WHERE NOT should_appear INTERSECT SELECT id FROM walked$$,
                'no row that arrived ahead of the cursor (newer, or tied with a greater id) was returned');
SELECT is((SELECT count(*) FROM (SELECT (occurred_at, id) < lag((occurred_at, id)) OVER (ORDER BY n) AS ok FROM walked) s WHERE NOT ok),
          0::bigint, 'the walk is in strictly descending (occurred_at, id) order');
SELECT results_eq('SELECT id FROM pg_temp.walk(''tp-ws'', 200) ORDER BY n', 'SELECT id FROM expected',
                  'a new walk returns the old and the new rows, once each, in order');

-- Partitions created (and rows moved out of the default partition) between pages
CREATE TEMP TABLE walked2 (n serial, id uuid, occurred_at timestamptz);
CREATE FUNCTION pg_temp.walk_with_maintenance(ws text, lim int) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    c activity.cursor;
    r record;
    more boolean := true;
    pages int := 0;
BEGIN
    WHILE more LOOP
        more := false;
        FOR r IN SELECT * FROM activity.page(ws, c, lim) LOOP
            INSERT INTO walked2 (id, occurred_at) VALUES (r.id, r.occurred_at);
            c := r.cursor;
            more := r.has_more;
        END LOOP;
        pages := pages + 1;
        IF pages = 3 THEN
            PERFORM activity.create_partitions('2041-07-01', '2041-10-01');   -- rows behind the cursor move
        ELSIF pages = 10 THEN
            PERFORM activity.create_partitions('2040-10-01', '2041-01-01');   -- rows ahead of the cursor move
        END IF;
    END LOOP;
END;
$$;
SELECT lives_ok($$SELECT pg_temp.walk_with_maintenance('tp-ws', 60)$$, 'paging while partitions are created under the reader');
SELECT results_eq('SELECT id FROM walked2 ORDER BY n', 'SELECT id FROM expected',
                  'the walk still returned every row once, in order');
SELECT is((SELECT count(*) FROM activity_partitions.activities_default WHERE workspace_id = 'tp-ws'
            AND occurred_at >= '2040-10-01' AND occurred_at < '2041-10-01'), 0::bigint,
          'the rows of the new partitions left the default partition');

-- cursors
SELECT throws_ok($$SELECT * FROM activity.page('tp-0', (SELECT cursor FROM activity.page('tp-ws', NULL, 1)))$$,
                 '22023', 'cursor does not belong to this query', 'a cursor of another workspace is refused');
SELECT throws_ok($$SELECT * FROM activity.page('TP-WS', (SELECT cursor FROM activity.page('tp-ws', NULL, 1)))$$,
                 '22023', 'cursor does not belong to this query', 'workspace ids are case sensitive');
SELECT is((SELECT array_agg(id) FROM activity.page('tp-ws', (SELECT cursor FROM activity.page('tp-ws', NULL, 7) OFFSET 6), 5)),
          (SELECT array_agg(id) FROM (SELECT id FROM expected OFFSET 7 LIMIT 5) s),
          'a cursor is independent of the page size');
SELECT is((SELECT count(*) FROM activity.page('tp-ws', (SELECT cursor FROM activity.page('tp-ws', NULL, 200) OFFSET 199)::text::activity.cursor, 200)),
          200::bigint, 'a cursor survives its text form');

SELECT * FROM finish();
ROLLBACK;
