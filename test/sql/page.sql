-- activity.page(): newest-first keyset pages over range partitions and the
-- default partition, cursors, has_more, argument errors
SET TIME ZONE 'UTC';
SET datestyle = 'ISO, YMD';

\i test/sql/include/expect_error.sql

-- Page through a whole feed, "lim" rows at a time, following each page's last cursor
CREATE FUNCTION pg_temp.walk(ws text, lim int)
RETURNS TABLE (page int, pos int, id uuid, occurred_at timestamptz, initiator_id text, has_more boolean)
LANGUAGE plpgsql AS $$
DECLARE
    c activity.cursor;
    r record;
    more boolean := true;
BEGIN
    page := 0;
    WHILE more LOOP
        page := page + 1;
        pos := 0;
        more := false;
        FOR r IN SELECT * FROM activity.page(ws, c, lim) LOOP
            pos := pos + 1;
            id := r.id; occurred_at := r.occurred_at; initiator_id := r.initiator_id; has_more := r.has_more;
            c := r.cursor;
            more := r.has_more;
            RETURN NEXT;
        END LOOP;
        IF page > 10000 THEN
            RAISE EXCEPTION 'runaway walk';
        END IF;
    END LOOP;
END;
$$;

SELECT name FROM activity.register_type('pg.event');
SELECT partition, lower, upper FROM activity.create_partitions('2034-03-01', '2034-06-01');

-- Rows in three range partitions and, older, newer and far out, in the
-- default partition; three rows share one timestamp (ordered by id), and
-- another workspace is interleaved everywhere.
-- The two at the ends of the timestamp range are rows as a restore brings
-- them back (0.1 accepted such dates; a new row must be in the years 1 to
-- 9999): the feeds still walk them.
SET activity.restoring = on;
INSERT INTO activity.activities (id, workspace_id, type, version, initiator_id, occurred_at) VALUES
    ('01890000-0000-7000-8000-000000000101', 'pg-ws', 'pg.event', 0, 'bc-4713',  '4713-11-24 00:00:00+00 BC'),
    ('01890000-0000-7000-8000-00000000010d', 'pg-ws', 'pg.event', 0, 'max',      '294276-12-31 23:59:59.999999+00');
RESET activity.restoring;
-- (a restore brings their ids back too)
INSERT INTO activity.event_ids (id, occurred_at)
SELECT id, occurred_at FROM activity.activities WHERE initiator_id IN ('bc-4713', 'max');
INSERT INTO activity.activities (id, workspace_id, type, initiator_id, occurred_at) VALUES
    ('01890000-0000-7000-8000-000000000102', 'pg-ws', 'pg.event', 'y1990',    '1990-01-01 00:00:00+00'),
    ('01890000-0000-7000-8000-000000000103', 'pg-ws', 'pg.event', 'jan',      '2034-01-15 00:00:00+00'),
    ('01890000-0000-7000-8000-000000000104', 'pg-ws', 'pg.event', 'feb',      '2034-02-15 00:00:00+00'),
    ('01890000-0000-7000-8000-000000000105', 'pg-ws', 'pg.event', 'mar-1',    '2034-03-01 00:00:00+00'),
    ('01890000-0000-7000-8000-000000000106', 'pg-ws', 'pg.event', 'mar-2',    '2034-03-31 23:59:59.999999+00'),
    ('01890000-0000-7000-8000-000000000107', 'pg-ws', 'pg.event', 'apr-tie-a','2034-04-10 12:00:00+00'),
    ('01890000-0000-7000-8000-000000000109', 'pg-ws', 'pg.event', 'apr-tie-c','2034-04-10 12:00:00+00'),
    ('01890000-0000-7000-8000-000000000108', 'pg-ws', 'pg.event', 'apr-tie-b','2034-04-10 12:00:00+00'),
    ('01890000-0000-7000-8000-00000000010a', 'pg-ws', 'pg.event', 'may',      '2034-05-20 00:00:00+00'),
    ('01890000-0000-7000-8000-00000000010b', 'pg-ws', 'pg.event', 'jul',      '2034-07-01 00:00:00+00'),
    ('01890000-0000-7000-8000-00000000010c', 'pg-ws', 'pg.event', 'y2090',    '2090-01-01 00:00:00+00');
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
SELECT 'pg-other', 'pg.event', 'other', d
FROM unnest('{1990-01-02, 2034-01-16, 2034-03-15, 2034-04-10 12:00, 2034-05-21, 2034-07-02, 2090-01-02}'::timestamptz[]) d;

-- the whole feed in one page: newest first, ties by id descending
SELECT p.ordinality AS pos, p.occurred_at, p.initiator_id, a.tableoid::regclass AS stored_in, p.has_more
FROM activity.page('pg-ws', NULL, 200) WITH ORDINALITY p JOIN activity.activities a USING (id)
ORDER BY p.ordinality;

-- three at a time: every row exactly once, in the same order
SELECT page, pos, occurred_at, initiator_id, has_more FROM pg_temp.walk('pg-ws', 3);
-- every page size from 1 to 14 walks the same sequence
SELECT lim, count(*) AS rows, count(DISTINCT id) AS distinct_rows,
       array_agg(initiator_id ORDER BY page, pos) = (SELECT array_agg(initiator_id) FROM activity.page('pg-ws', NULL, 200)) AS same_order,
       max(page) AS pages
FROM generate_series(1, 14) lim, pg_temp.walk('pg-ws', lim)
GROUP BY lim ORDER BY lim;
-- and it is the order of (occurred_at, id) descending
SELECT array_agg(id) = (SELECT array_agg(id ORDER BY occurred_at DESC, id DESC) FROM activity.activities WHERE workspace_id = 'pg-ws')
       AS keyset_order
FROM activity.page('pg-ws', NULL, 200);

-- has_more: true while rows remain beyond the page, the same on every row of a page
SELECT "limit", count(*) AS rows, bool_and(has_more) AS all_true, bool_or(has_more) AS any_true
FROM generate_series(11, 15) AS "limit", activity.page('pg-ws', NULL, "limit")
GROUP BY 1 ORDER BY 1;
-- after the last row: an empty page
SELECT count(*) AS rows_after_last
FROM activity.page('pg-ws', (SELECT cursor FROM activity.page('pg-ws', NULL, 200) OFFSET 12), 10);
-- after the second row of the tie: the third row of the tie comes next
SELECT initiator_id, has_more
FROM activity.page('pg-ws', (SELECT cursor FROM activity.page('pg-ws', NULL, 200) WHERE initiator_id = 'apr-tie-b'), 2);

-- workspaces without rows
SELECT count(*) AS unknown_workspace FROM activity.page('pg-nobody');
SELECT count(*) AS empty_workspace FROM activity.page('');
-- the default limit is 50
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
SELECT 'pg-many', 'pg.event', 'u' || g, '2034-04-01'::timestamptz + g * interval '1 minute'
FROM generate_series(1, 260) g;
SELECT count(*) AS default_limit, bool_and(has_more) AS has_more FROM activity.page('pg-many');
SELECT count(*) AS limit_200, bool_and(has_more) AS has_more FROM activity.page('pg-many', NULL, 200);
SELECT count(*) AS limit_1, bool_and(has_more) AS has_more FROM activity.page('pg-many', "limit" => 1);
SELECT count(*) AS rows, count(DISTINCT id) AS distinct_rows, max(page) AS pages FROM pg_temp.walk('pg-many', 200);
-- callable in the select list too
SELECT (activity.page('pg-ws', NULL, 2)).initiator_id;

-- argument errors
SELECT label, pg_temp.expect_error(sql) AS error
FROM (VALUES
    ('direction sideways', $$SELECT * FROM activity.page('pg-ws', direction => 'sideways')$$),
    ('limit 0',        $$SELECT * FROM activity.page('pg-ws', NULL, 0)$$),
    ('limit -1',       $$SELECT * FROM activity.page('pg-ws', NULL, -1)$$),
    ('limit 201',      $$SELECT * FROM activity.page('pg-ws', NULL, 201)$$),
    ('limit 500',      $$SELECT * FROM activity.page('pg-ws', NULL, 500)$$),
    ('limit NULL',     $$SELECT * FROM activity.page('pg-ws', NULL, NULL)$$),
    ('cursor of another workspace', $$SELECT * FROM activity.page('pg-other', (SELECT cursor FROM activity.page('pg-ws', NULL, 1)))$$),
    ('not a cursor',   $$SELECT * FROM activity.page('pg-ws', 'not-a-cursor')$$)
) t(label, sql);

-- New rows between pages: a row newer than the cursor is not shown again
-- later, a row older than the cursor is, a row tied with the cursor's
-- timestamp is placed by its id.
CREATE TEMP TABLE seen AS SELECT * FROM activity.page('pg-ws', NULL, 4);
SELECT initiator_id FROM seen;
INSERT INTO activity.activities (id, workspace_id, type, initiator_id, occurred_at) VALUES
    ('01890000-0000-7000-8000-000000000201', 'pg-ws', 'pg.event', 'new-newest', '2095-01-01'),
    ('01890000-0000-7000-8000-000000000202', 'pg-ws', 'pg.event', 'new-in-may', '2034-05-25'),
    ('01890000-0000-7000-8000-000000000203', 'pg-ws', 'pg.event', 'new-old',    '1995-01-01'),
    ('01890000-0000-7000-8000-00000000010f', 'pg-ws', 'pg.event', 'new-tie-after',  '2034-05-20 00:00:00+00'),
    ('01890000-0000-7000-8000-000000000100', 'pg-ws', 'pg.event', 'new-tie-before', '2034-05-20 00:00:00+00');
-- the rest of the feed after the 4th row ("may")
SELECT page, pos, initiator_id, has_more FROM (
    SELECT 1 AS page, row_number() OVER () AS pos, initiator_id, has_more
    FROM activity.page('pg-ws', (SELECT cursor FROM seen OFFSET 3), 200)
) s;

-- A partition created between pages (rows move out of the default
-- partition) changes nothing for the reader.
CREATE TEMP TABLE walked AS SELECT 1 AS part, p.* FROM activity.page('pg-ws', NULL, 9) p;
SELECT partition FROM activity.create_partitions('2034-01-01', '2034-03-01');
SELECT partition FROM activity.create_partitions('2034-07-01', '2034-08-01');
INSERT INTO walked SELECT 2, p.* FROM activity.page('pg-ws', (SELECT cursor FROM walked OFFSET 8), 200) p;
SELECT count(*) AS rows, count(DISTINCT id) AS distinct_rows,
       (SELECT count(*) FROM activity.activities WHERE workspace_id = 'pg-ws') AS in_table,
       array_agg(id ORDER BY part, occurred_at DESC, id DESC) =
       (SELECT array_agg(id ORDER BY occurred_at DESC, id DESC) FROM activity.activities WHERE workspace_id = 'pg-ws') AS in_order
FROM walked;
SELECT a.initiator_id, a.tableoid::regclass AS now_stored_in
FROM activity.activities a WHERE workspace_id = 'pg-ws' AND initiator_id IN ('jan', 'feb', 'jul') ORDER BY occurred_at;

-- Partitions that come and go (rolled back, dropped and re-created) do not
-- confuse the page function's per-partition plans.
BEGIN;
SELECT partition FROM activity.create_partitions('2034-09-01', '2034-10-01');
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
VALUES ('pg-ws', 'pg.event', 'sep-rolled-back', '2034-09-09');
SELECT initiator_id FROM activity.page('pg-ws', NULL, 200) WHERE initiator_id LIKE 'sep%';
ROLLBACK;
SELECT count(*) AS rows, count(*) FILTER (WHERE initiator_id LIKE 'sep%') AS sep_rows FROM activity.page('pg-ws', NULL, 200);
SELECT partition FROM activity.create_partitions('2034-09-01', '2034-10-01');
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
VALUES ('pg-ws', 'pg.event', 'sep-1', '2034-09-09');
SELECT initiator_id FROM activity.page('pg-ws', NULL, 200) WHERE initiator_id LIKE 'sep%';
-- an empty partition may be dropped by its owner; paging still works, and a
-- new partition under the same name is read too
SELECT partition FROM activity.create_partitions('2034-11-01', '2034-12-01');
SELECT count(*) AS rows FROM activity.page('pg-ws', NULL, 200);
DROP TABLE activity_partitions.activities_p20341101;
SELECT count(*) AS rows FROM activity.page('pg-ws', NULL, 200);
SELECT partition FROM activity.create_partitions('2034-11-01', '2034-12-01');
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
VALUES ('pg-ws', 'pg.event', 'nov-1', '2034-11-11');
SELECT initiator_id FROM activity.page('pg-ws', NULL, 200) WHERE initiator_id LIKE 'nov%';
SELECT count(*) AS rows, count(DISTINCT id) AS distinct_rows FROM pg_temp.walk('pg-ws', 5);
