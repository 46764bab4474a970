-- Several sessions record at once (activity.record(), INSERT, INSERT ...
-- SELECT; dates of now, of a far year whose partitions are being created
-- meanwhile, 1990 and 2090) while another session runs activity.maintain()
-- and activity.create_partitions() and a third one pages. Afterwards every
-- row is there exactly once, in the right partition, and paging returns
-- every row exactly once.
--
-- dblink sessions commit, so this file cannot roll back: it uses workspace
-- ids unique to the run and a random far-future year (2200..2899) for the
-- partitions it creates.
\set QUIET 1
\ir include/dblink.psql
SET TIME ZONE 'UTC';
SELECT 'conc-' || substr(md5(random()::text || clock_timestamp()::text), 1, 12) AS prefix,
       2200 + floor(random() * 700)::int AS year \gset

SELECT plan(25);

\o /dev/null
SELECT activity.register_type('conc.event', 'Concurrency test event');

-- a writer: 2000 iterations, each committed; 2250 rows
CREATE FUNCTION pg_temp.writer_sql(ws text, y int) RETURNS text
LANGUAGE sql AS $f$
SELECT format($w$
DO $$
DECLARE
    ws text := %L;
    ts timestamptz;
BEGIN
    FOR i IN 1 .. 2000 LOOP
        ts := make_timestamptz(%s, 1 + i %% 12, 1 + i %% 27, i %% 24, 0, 0, 'UTC');
        CASE i %% 8
        WHEN 0 THEN
            PERFORM activity.record(ws, 'conc.event', 'w', jsonb_build_object('i', i),
                                    occurred_at => make_timestamptz(1990, 1 + i %% 12, 1 + i %% 28, 0, 0, 0, 'UTC'));
        WHEN 1 THEN
            PERFORM activity.record(ws, 'conc.event', 'w', jsonb_build_object('i', i),
                                    occurred_at => make_timestamptz(2090, 1 + i %% 12, 1 + i %% 28, 0, 0, 0, 'UTC'));
        WHEN 2 THEN
            INSERT INTO activity.activities (workspace_id, type, initiator_id, metadata, occurred_at)
            VALUES (ws, 'conc.event', 'w', jsonb_build_object('i', i), ts);
        WHEN 3 THEN
            INSERT INTO activity.activities (workspace_id, type, initiator_id, metadata, occurred_at)
            SELECT ws, 'conc.event', 'w', jsonb_build_object('i', i, 'j', j), CASE j WHEN 1 THEN ts ELSE now() END
            FROM generate_series(1, 2) j;
        WHEN 4 THEN
            PERFORM activity.record(ws, 'conc.event', 'w', jsonb_build_object('i', i));
        ELSE
            PERFORM activity.record(ws, 'conc.event', 'w', jsonb_build_object('i', i), occurred_at => ts);
        END CASE;
        COMMIT;
    END LOOP;
END
$$
$w$, ws, y)
$f$;

-- the maintainer: maintain() every 50 ms, and one more month of the far
-- year every third round (moving the rows that wait for it in the default
-- partition), then the whole year
CREATE FUNCTION pg_temp.maintainer_sql(y int) RETURNS text
LANGUAGE sql AS $f$
SELECT format($m$
DO $$
DECLARE
    m timestamptz;
BEGIN
    FOR k IN 0 .. 35 LOOP
        PERFORM activity.maintain();
        IF k %% 3 = 0 THEN
            m := make_timestamptz(%1$s, 1 + k / 3, 1, 0, 0, 0, 'UTC');
            PERFORM activity.create_partitions(m, m + interval '1 month');
        END IF;
        COMMIT;
        PERFORM pg_sleep(0.05);
    END LOOP;
    -- the whole year, a call per transaction until nothing is deferred
    -- (each call keeps the writers out for at most activity.max_lock_hold)
    FOR k IN 1 .. 100 LOOP
        EXIT WHEN NOT EXISTS (SELECT 1 FROM activity.create_partitions(make_timestamptz(%1$s, 1, 1, 0, 0, 0, 'UTC'),
                                                                       make_timestamptz(%1$s + 1, 1, 1, 0, 0, 0, 'UTC'))
                              WHERE action = 'deferred');
        COMMIT;
    END LOOP;
END
$$
$m$, y)
$f$;

-- the reader: walks the writers' feeds to the end, 100 rows a page, and
-- fails if a page is ever out of (occurred_at, id) descending order
CREATE FUNCTION pg_temp.reader_sql(prefix text) RETURNS text
LANGUAGE sql AS $f$
SELECT format($r$
DO $$
DECLARE
    c activity.cursor;
    r record;
    prev_ts timestamptz;
    prev_id uuid;
    more boolean;
    n int;
BEGIN
    FOR k IN 1 .. 16 LOOP
        c := NULL;
        prev_ts := 'infinity';
        prev_id := 'ffffffff-ffff-ffff-ffff-ffffffffffff';
        more := true;
        n := 0;
        WHILE more LOOP
            more := false;
            FOR r IN SELECT * FROM activity.page(%L || '-w' || (1 + k %% 4), c, 100) LOOP
                IF NOT ((r.occurred_at, r.id) < (prev_ts, prev_id)) THEN
                    RAISE EXCEPTION 'page out of order after %% rows', n;
                END IF;
                prev_ts := r.occurred_at;
                prev_id := r.id;
                c := r.cursor;
                more := r.has_more;
                n := n + 1;
            END LOOP;
        END LOOP;
        COMMIT;
        PERFORM pg_sleep(0.05);
    END LOOP;
END
$$
$r$, prefix)
$f$;

SELECT pg_temp.connect(name) FROM unnest('{w1,w2,w3,w4,maint,reader}'::text[]) name;
SELECT dblink_exec(name, 'SET synchronous_commit = off') FROM unnest('{w1,w2,w3,w4}'::text[]) name;
SELECT dblink_send_query(name, pg_temp.writer_sql(:'prefix' || '-' || name, :year))
FROM unnest('{w1,w2,w3,w4}'::text[]) name;
SELECT dblink_send_query('maint', pg_temp.maintainer_sql(:year));
SELECT dblink_send_query('reader', pg_temp.reader_sql(:'prefix'));
\o

SELECT is(pg_temp.finish('w1'), 'OK', 'writer 1 recorded 2000 times without an error');
SELECT is(pg_temp.finish('w2'), 'OK', 'writer 2 recorded 2000 times without an error');
SELECT is(pg_temp.finish('w3'), 'OK', 'writer 3 recorded 2000 times without an error');
SELECT is(pg_temp.finish('w4'), 'OK', 'writer 4 recorded 2000 times without an error');
SELECT is(pg_temp.finish('maint'), 'OK', 'maintain() and create_partitions() ran meanwhile without an error');
SELECT is(pg_temp.finish('reader'), 'OK', 'pages read meanwhile were always in keyset order');

-- exact counts
SELECT results_eq(
    format($$SELECT workspace_id, count(*) FROM activity.activities
             WHERE workspace_id LIKE %L GROUP BY 1 ORDER BY 1$$, :'prefix' || '-%'),
    format($$VALUES (%L, 2250::bigint), (%L, 2250::bigint), (%L, 2250::bigint), (%L, 2250::bigint)$$,
           :'prefix' || '-w1', :'prefix' || '-w2', :'prefix' || '-w3', :'prefix' || '-w4'),
    'every workspace has exactly its 2250 rows');
SELECT is(count(DISTINCT id), count(*), 'no id is duplicated')
FROM activity.activities WHERE workspace_id LIKE :'prefix' || '-%';
SELECT is(count(DISTINCT (workspace_id, metadata->>'i', metadata->>'j')), 9000::bigint,
          'every recorded event is there once (workspace, iteration, row of the batch)')
FROM activity.activities WHERE workspace_id LIKE :'prefix' || '-%';

-- where the rows are
SELECT is(count(*), 12::bigint, 'the twelve months of the far year were created')
FROM activity.partitions()
WHERE NOT is_default AND lower >= make_timestamptz(:year, 1, 1, 0, 0, 0, 'UTC')
  AND upper <= make_timestamptz(:year + 1, 1, 1, 0, 0, 0, 'UTC');
SELECT is(count(*), 0::bigint, 'no row of the far year is left in the default partition')
FROM activity_partitions.activities_default
WHERE workspace_id LIKE :'prefix' || '-%' AND occurred_at >= make_timestamptz(:year, 1, 1, 0, 0, 0, 'UTC')
  AND occurred_at < make_timestamptz(:year + 1, 1, 1, 0, 0, 0, 'UTC');
SELECT is(count(*) FILTER (WHERE a.tableoid = 'activity_partitions.activities_default'::regclass), 2000::bigint,
          'the 1990 and 2090 outliers (500 per workspace) are all in the default partition')
FROM activity.activities a
WHERE workspace_id LIKE :'prefix' || '-%' AND extract(year FROM occurred_at) IN (1990, 2090);
SELECT is(count(*), 0::bigint, 'no row is in a range partition that does not cover its date')
FROM activity.activities a JOIN activity.partitions() p ON p.partition = a.tableoid
WHERE a.workspace_id LIKE :'prefix' || '-%' AND NOT p.is_default
  AND NOT (a.occurred_at >= p.lower AND a.occurred_at < p.upper);
SELECT is(count(*), 0::bigint, 'no row waits in the default partition while a range partition covers its date')
FROM activity_partitions.activities_default d JOIN activity.partitions() p
  ON NOT p.is_default AND d.occurred_at >= p.lower AND d.occurred_at < p.upper
WHERE d.workspace_id LIKE :'prefix' || '-%';
SELECT ok(count(*) BETWEEN 4 AND 5, 'maintain() made the current interval and the 3 ahead (and nothing more)')
FROM activity.partitions() p
WHERE NOT p.is_default AND p.upper > now() AND p.lower < now() + interval '5 months';

-- paging to the end returns every row exactly once, in order
CREATE FUNCTION pg_temp.walk(ws text, lim int) RETURNS SETOF uuid
LANGUAGE plpgsql AS $$
DECLARE
    c activity.cursor;
    r record;
    more boolean := true;
BEGIN
    WHILE more LOOP
        more := false;
        FOR r IN SELECT * FROM activity.page(ws, c, lim) LOOP
            RETURN NEXT r.id;
            c := r.cursor;
            more := r.has_more;
        END LOOP;
    END LOOP;
END;
$$;
SELECT is(
    (SELECT array_agg(id) FROM pg_temp.walk(:'prefix' || '-' || w, 200) id),
    (SELECT array_agg(id ORDER BY occurred_at DESC, id DESC) FROM activity.activities
      WHERE workspace_id = :'prefix' || '-' || w),
    format('paging %s to the end (200 a page) returns its 2250 rows once each, newest first', w))
FROM unnest('{w1,w2,w3,w4}'::text[]) w;
SELECT is(
    (SELECT count(DISTINCT id) FROM pg_temp.walk(:'prefix' || '-w1', 7) id),
    2250::bigint,
    'paging w1 7 rows at a time also returns 2250 distinct rows');
SELECT is(
    (SELECT count(*) FROM pg_temp.walk(:'prefix' || '-w2', 1) id),
    2250::bigint,
    'paging w2 one row at a time returns 2250 rows');

-- Maintenance while an ingesting transaction is still open. A session has
-- inserted (not yet committed) a row dated in a month that has no partition,
-- so the row sits in the default partition; another session creates that
-- month's partition and has to wait for the first one's lock.
-- Regression (fixed): create_partitions() used to check the default partition
-- before taking the table lock, miss the uncommitted row and fail with 23514
-- "updated partition constraint for default partition would be violated".
-- Maintenance must succeed and the row end up in its partition.
\o /dev/null
SELECT pg_temp.connect('ingest');
SELECT pg_temp.connect('maint2');
SELECT dblink_exec('ingest', 'BEGIN');
SELECT dblink_exec('ingest', format(
    $$INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at) VALUES (%L, 'conc.event', 'late', %L)$$,
    :'prefix' || '-race', make_timestamptz(:year + 1, 3, 10, 0, 0, 0, 'UTC')));
SELECT dblink_send_query('maint2', format('SELECT count(*) FROM activity.create_partitions(%L, %L)',
    make_timestamptz(:year + 1, 3, 1, 0, 0, 0, 'UTC'), make_timestamptz(:year + 1, 4, 1, 0, 0, 0, 'UTC')));
SELECT pg_sleep(0.3);
SELECT dblink_exec('ingest', 'COMMIT');
SELECT dblink_disconnect('ingest');
\o
SELECT is(pg_temp.finish('maint2'), 'OK',
          'create_partitions() succeeds while an open transaction holds a row of that range in the default partition');
SELECT is(count(*), 1::bigint, 'the row of the open transaction is kept')
FROM activity.activities WHERE workspace_id = :'prefix' || '-race';
SELECT is(count(*), 1::bigint, 'its partition was created')
FROM activity.partitions() WHERE lower = make_timestamptz(:year + 1, 3, 1, 0, 0, 0, 'UTC');
SELECT isnt(a.tableoid::regclass, 'activity_partitions.activities_default'::regclass, 'the row is in its partition')
FROM activity.activities a WHERE workspace_id = :'prefix' || '-race';

SELECT * FROM finish();
