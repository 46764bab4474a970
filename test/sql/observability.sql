-- Observability (issue #14): the view partition_stats, default_partition_rows(),
-- the runs of maintain() recorded in maintenance_runs (a failed one too), and
-- maintenance_due(). Dates are relative to now(): output shows counts,
-- booleans, and months counted from the current one. Everything that would
-- leave a partition behind (a recent row moved out of the default partition)
-- runs in a transaction that is rolled back; the rows committed here
-- (workspace obs-ws) leave at the end through a keep-0 retention rule.
SET TIME ZONE 'UTC';
SET datestyle = 'ISO, YMD';
SET activity.max_lock_hold = '10min';
\set VERBOSITY terse
\i test/sql/include/expect_error.sql

SELECT name FROM activity.register_type('obs.event');
SELECT coalesce(max(removal), 0) AS removals_before FROM activity.feed_removals \gset
-- the current interval and 3 ahead have their partitions (whichever test ran first)
SELECT count(*) FILTER (WHERE action = 'failed') AS failed FROM activity.maintain();

-- months counted from the current one
CREATE FUNCTION pg_temp.month(k int) RETURNS timestamptz
LANGUAGE sql STABLE AS $$ SELECT activity.partition_start(now()) + make_interval(months => k) $$;
CREATE FUNCTION pg_temp.months_from_now(t timestamptz) RETURNS int
LANGUAGE sql STABLE AS $$
    SELECT ((extract(year FROM t) * 12 + extract(month FROM t))
            - (extract(year FROM now()) * 12 + extract(month FROM now())))::int
$$;

-- rows of workspace obs-ws: 5 now, one of them with 100 kB of metadata
-- (TOAST); and in the default partition, outside the partitions maintain()
-- keeps (3 months back, 3 ahead): 3 in 1961, 2 just before (month -4), 2 a
-- year before that (month -15), 2 just after (months +4 and +5), 4 in 2163
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at, metadata)
SELECT 'obs-ws', 'obs.event', 'u' || g, now(),
       CASE WHEN g = 1 THEN jsonb_build_object('blob', (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 3200) i))
            ELSE '{}' END
FROM generate_series(1, 5) g;
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
SELECT 'obs-ws', 'obs.event', 'outlier', d
FROM unnest(ARRAY['1961-07-15 00:00+00', '1961-07-16 00:00+00', '1961-07-17 00:00+00',
                  pg_temp.month(-4) + interval '3 days', pg_temp.month(-4) + interval '4 days',
                  pg_temp.month(-15) + interval '3 days', pg_temp.month(-15) + interval '4 days',
                  pg_temp.month(4) + interval '3 days', pg_temp.month(5) + interval '4 days',
                  '2163-09-15 00:00+00', '2163-09-16 00:00+00', '2163-09-17 00:00+00', '2163-09-18 00:00+00']::timestamptz[]) d;
SELECT tableoid = 'activity_partitions.activities_default'::regclass AS in_default,
       tableoid::regclass::text = (SELECT partition::text FROM activity.partitions()
                                   WHERE lower = activity.partition_start(now())) AS in_current_month,
       count(*)
FROM activity.activities WHERE workspace_id = 'obs-ws' GROUP BY 1, 2 ORDER BY 1, 2;
SELECT partition::text AS current_partition FROM activity.partitions() WHERE lower = activity.partition_start(now()) \gset

---------------------------------------------------------------------------
-- partition_stats: a row per partition, sizes that add up
---------------------------------------------------------------------------
SELECT count(*) = (SELECT count(*) FROM activity.partitions()) AS one_row_per_partition,
       count(DISTINCT partition) = count(*) AS no_partition_twice,
       count(*) FILTER (WHERE is_default) AS default_partitions,
       bool_and(lower IS NULL AND upper IS NULL) FILTER (WHERE is_default) AS default_unbounded,
       bool_and(lower < upper) FILTER (WHERE NOT is_default) AS ranges_bounded,
       bool_and(index_bytes > 0) AS every_partition_indexed,
       bool_and(heap_bytes >= 0 AND toast_bytes >= 0) AS no_negative_size,
       bool_and(total_bytes >= heap_bytes + index_bytes + toast_bytes) AS total_covers_heap_index_toast
FROM activity.partition_stats;
-- every partition holding rows has heap bytes; their lower and upper are
-- those of partitions()
SELECT bool_and(s.heap_bytes > 0) AS heap_where_rows
FROM activity.partition_stats s WHERE EXISTS (SELECT 1 FROM activity.activities a WHERE a.tableoid = s.partition);
SELECT count(*) AS bounds_differing FROM activity.partition_stats s JOIN activity.partitions() p USING (partition)
WHERE s.lower IS DISTINCT FROM p.lower OR s.upper IS DISTINCT FROM p.upper OR s.is_default <> p.is_default;
-- the current month's partition: the large metadata is in its TOAST table
SELECT heap_bytes > 0 AS heap, index_bytes > 0 AS indexes, toast_bytes > 0 AS toast,
       total_bytes >= heap_bytes + index_bytes + toast_bytes AS total_covers
FROM activity.partition_stats WHERE partition::text = :'current_partition';
-- row_estimate: NULL until analyzed (a partition just created), then the
-- rows; last_analyze and last_vacuum once done
BEGIN;
SELECT action FROM activity.create_partitions('2063-04-01', '2063-05-01');
SELECT partition, row_estimate, heap_bytes, index_bytes > 0 AS indexes, last_vacuum, last_analyze
FROM activity.partition_stats WHERE lower = '2063-04-01';
ROLLBACK;
VACUUM activity_partitions.activities_default;
ANALYZE activity_partitions.activities_default;   -- (after: VACUUM skips all-visible pages and estimates)
SELECT row_estimate = (SELECT count(*) FROM activity_partitions.activities_default) AS estimate_is_count,
       last_analyze IS NOT NULL AS analyzed, last_vacuum IS NOT NULL AS vacuumed,
       last_analyze <= now() AND last_vacuum <= now() AS in_the_past
FROM activity.partition_stats WHERE is_default;

---------------------------------------------------------------------------
-- default_partition_rows(): per interval, how many rows, how far outside
-- the partitions maintain() keeps (in intervals: -1 the month before the
-- oldest it keeps, 1 the month after the newest) and what will happen
---------------------------------------------------------------------------
-- (the rows of these intervals are this test's only, in whatever database)
SELECT pg_temp.months_from_now(d.lower) AS month, d."rows", d.intervals_away, d.status
FROM activity.default_partition_rows() d
WHERE d.lower IN (pg_temp.month(-15), pg_temp.month(-4), pg_temp.month(4), pg_temp.month(5))
ORDER BY d.lower;
SELECT d.lower, d."rows", d.oldest, d.newest, sign(d.intervals_away) AS side, d.status
FROM activity.default_partition_rows() d
WHERE d.lower IN ('1961-07-01 00:00+00', '2163-09-01 00:00+00')
ORDER BY d.lower;
-- far away, the distance is counted in intervals too (months: 12 a year)
SELECT d.lower, d.intervals_away = CASE WHEN d.lower < now()
                                        THEN pg_temp.months_from_now(d.lower) + 3
                                        ELSE pg_temp.months_from_now(d.lower) - 3 END AS intervals_exact
FROM activity.default_partition_rows() d
WHERE d.lower IN ('1961-07-01 00:00+00', '2163-09-01 00:00+00')
ORDER BY d.lower;
-- every row of the default partition is in one interval or another, counted
-- as a hand-written query counts them
SELECT sum(d."rows") = (SELECT count(*) FROM activity_partitions.activities_default) AS every_row
FROM activity.default_partition_rows() d;
SELECT count(*) AS intervals_counted_differently
FROM activity.default_partition_rows() d
FULL JOIN (SELECT activity.partition_start(occurred_at) AS lower, count(*) AS n, min(occurred_at) AS oldest,
                  max(occurred_at) AS newest
           FROM activity_partitions.activities_default GROUP BY 1) h ON h.lower = d.lower
WHERE d."rows" IS DISTINCT FROM h.n OR d.oldest IS DISTINCT FROM h.oldest OR d.newest IS DISTINCT FROM h.newest
   OR d.upper IS DISTINCT FROM (SELECT activity.partition_start(h.lower + interval '40 days'));
-- with a retention of the whole log, the rows older than it are said to expire
BEGIN;
SELECT retention FROM activity.configure(retention => '50 years');
SELECT d.lower, d.status FROM activity.default_partition_rows() d
WHERE d.lower IN ('1961-07-01 00:00+00', '2163-09-01 00:00+00') ORDER BY d.lower;
ROLLBACK;

-- rows at the ends of the timestamp range, as a restore of a 0.1 log brings
-- them back (page.sql has them too): counted like any other
BEGIN;
SET LOCAL activity.restoring = on;
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at) VALUES
    ('obs-ws', 'obs.event', 'edge', '4713-11-24 00:00:00+00 BC'),
    ('obs-ws', 'obs.event', 'edge', '294276-12-31 23:59:59.999999+00');
SET LOCAL activity.restoring = off;
SELECT count(*) AS intervals, sum("rows") AS "rows",
       bool_and(intervals_away < 0 AND status LIKE 'older than %') FILTER (WHERE oldest < '0001-01-01') AS first_older,
       bool_and(intervals_away > 0 AND status LIKE 'later than %') FILTER (WHERE newest > '10000-01-01') AS last_later
FROM activity.default_partition_rows() WHERE oldest < '0001-01-01' OR newest > '10000-01-01';
SELECT sum("rows") = (SELECT count(*) FROM activity_partitions.activities_default) AS every_row
FROM activity.default_partition_rows();
SELECT count(*) FILTER (WHERE what = 'last run') AS last_run, count(*) FILTER (WHERE what = 'create partition') AS create_partition
FROM activity.maintenance_due();
ROLLBACK;

---------------------------------------------------------------------------
-- maintenance_runs and maintenance_due(): a recent row waiting in the
-- default partition is due to move; maintain() moves it, and its run is
-- recorded as it returned it (rolled back: no partition of the past stays)
---------------------------------------------------------------------------
-- never run
BEGIN;
DELETE FROM activity.maintenance_runs;
SELECT due_at, what, detail FROM activity.maintenance_due() WHERE what = 'last run';
ROLLBACK;

BEGIN;
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
VALUES ('obs-ws', 'obs.event', 'recent', pg_temp.month(-2) + interval '3 days'),
       ('obs-ws', 'obs.event', 'recent', pg_temp.month(-2) + interval '4 days');
SELECT tableoid = 'activity_partitions.activities_default'::regclass AS waiting, count(*)
FROM activity.activities WHERE initiator_id = 'recent' GROUP BY 1;
SELECT pg_temp.months_from_now(lower) AS month, "rows", intervals_away, status
FROM activity.default_partition_rows() WHERE lower = pg_temp.month(-2);
SELECT what, due_at = now() AS due_now,
       detail = format('%s rows of the default partition into partitions of their own',
                       (SELECT sum("rows") FROM activity.default_partition_rows() WHERE intervals_away = 0)) AS detail_counts
FROM activity.maintenance_due() WHERE what = 'move rows';
CREATE TEMP TABLE obs_run AS SELECT * FROM activity.maintain();
SELECT action, pg_temp.months_from_now(lower) AS month, "rows" FROM obs_run WHERE lower = pg_temp.month(-2);
SELECT m.created = (SELECT count(*) FROM obs_run WHERE action = 'created') AS created_as_returned,
       m.moved = (SELECT coalesce(sum("rows"), 0) FROM obs_run WHERE action = 'created') AS moved_as_returned,
       m.moved >= 2 AS moved_ours,
       m.dropped, m.deleted, m.skipped, m.deferred, m.error,
       m.run_by = current_user AS by_me, m.started_at <= m.finished_at AS timed,
       m.steps = (SELECT coalesce(jsonb_agg(to_jsonb(r)), '[]') FROM obs_run r) AS steps_as_returned
FROM activity.maintenance_runs m ORDER BY m.run_id DESC LIMIT 1;
SELECT tableoid::regclass::text = (SELECT partition::text FROM activity.partitions() WHERE lower = pg_temp.month(-2)) AS moved
FROM activity.activities WHERE initiator_id = 'recent' GROUP BY 1;
-- due now: the last run (as recorded), the next partition to create
SELECT what, due_at = (SELECT finished_at FROM activity.maintenance_runs ORDER BY run_id DESC LIMIT 1) AS at_its_end,
       regexp_replace(detail, '^run \d+: \d+ created', 'run N: <n> created') AS detail
FROM activity.maintenance_due() WHERE what = 'last run';
SELECT count(*) AS move_rows FROM activity.maintenance_due() WHERE what = 'move rows';
-- the first interval without a partition is month +4: due when it is
-- "premake" (3) months ahead, at the start of month +1
SELECT what, detail = format('for %s onwards', pg_temp.month(4)) AS first_missing, due_at = pg_temp.month(1) AS due
FROM activity.maintenance_due() WHERE what = 'create partition';
-- a retention rule: due when its oldest activity expires (keep 0: now)
SELECT keep FROM activity.add_retention('100 years', workspace_id => 'obs-ws');
SELECT what, due_at, regexp_replace(detail, 'rule \d+', 'rule N') AS detail
FROM activity.maintenance_due() WHERE what = 'retention';
SELECT keep FROM activity.add_retention('0', workspace_id => 'obs-ws');
SELECT what, due_at = now() AS due_now, regexp_replace(detail, 'rule \d+', 'rule N') AS detail
FROM activity.maintenance_due() WHERE what = 'retention';
-- and the whole log's retention: the oldest partition goes when all of it
-- is older than the retention
SELECT retention FROM activity.configure(retention => '1 year');
SELECT what, due_at = greatest(now(), (SELECT min(upper) FROM activity.partitions() WHERE NOT is_default) + interval '1 year') AS due,
       detail ~ '^drop activity_partitions\.activities_p\d{8} \(retention @ 1 year\)$' AS names_it
FROM activity.maintenance_due() WHERE what = 'retention' AND detail LIKE 'drop %';
ROLLBACK;
SELECT count(*) AS recent_rows_gone_with_the_rollback FROM activity.activities WHERE initiator_id = 'recent';

---------------------------------------------------------------------------
-- A failed run: recorded with its error, a WARNING, one 'failed' row; what
-- it had done (moving the recent rows into a new partition) is undone. The
-- failure: a rule add_retention() would refuse, written into the table
-- directly (a damaged restore, a hand edit).
---------------------------------------------------------------------------
BEGIN;
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
VALUES ('obs-ws', 'obs.event', 'recent', pg_temp.month(-2) + interval '3 days');
INSERT INTO activity.retention_rules (keep, types) VALUES ('1 day', '{obs.*.broken}');
SELECT action, partition, lower, upper, "rows", detail FROM activity.maintain();
SELECT created, moved, dropped, deleted, error, steps, run_by = current_user AS by_me
FROM activity.maintenance_runs ORDER BY run_id DESC LIMIT 1;
SELECT tableoid = 'activity_partitions.activities_default'::regclass AS still_waiting
FROM activity.activities WHERE initiator_id = 'recent';
SELECT count(*) AS partition_of_month_minus_2 FROM activity.partitions() WHERE lower = pg_temp.month(-2);
DELETE FROM activity.retention_rules WHERE types = '{obs.*.broken}';
SELECT what, regexp_replace(detail, '^run \d+', 'run N') AS detail
FROM activity.maintenance_due() WHERE what = 'last run';
ROLLBACK;

---------------------------------------------------------------------------
-- Clean up: this test's rows leave by a keep-0 rule
---------------------------------------------------------------------------
SELECT keep, workspace_id FROM activity.add_retention('0', workspace_id => 'obs-ws');
SELECT action, count(*) AS steps, sum("rows") AS "rows" FROM activity.maintain()
WHERE action IN ('deleted', 'dropped', 'deferred', 'failed') GROUP BY 1;
SELECT count(*) AS rows_left FROM activity.activities WHERE workspace_id = 'obs-ws';
SELECT count(*) AS rules_removed FROM activity.retention_rules r, activity.remove_retention(r.rule_id) x
WHERE r.workspace_id = 'obs-ws' AND x;
-- (change_feed, run later, lists the removals)
DELETE FROM activity.feed_removals WHERE removal > :removals_before;
SELECT count(*) AS rules_left FROM activity.retention_rules;
SELECT count(*) AS settings_rows FROM activity.settings;
