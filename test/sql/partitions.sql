-- Partition maintenance: partition_start(), create_partitions(), partitions(),
-- maintain(), configure() and retention; outlier dates stay in the default
-- partition and never create partitions. Output that depends on today's date
-- is shown as counts and invariants only; everything that changes settings or
-- drops data runs in a transaction that is rolled back.
SET TIME ZONE 'UTC';
SET datestyle = 'ISO, YMD';

\i test/sql/include/expect_error.sql

-- partitions of this test's years only
CREATE FUNCTION pg_temp.parts(lo timestamptz, hi timestamptz)
RETURNS TABLE (partition regclass, lower timestamptz, upper timestamptz, rows bigint)
LANGUAGE sql AS $$
    SELECT p.partition, p.lower, p.upper,
           (SELECT count(*) FROM activity.activities a WHERE a.tableoid = p.partition)
    FROM activity.partitions() p
    WHERE NOT p.is_default AND p.lower >= lo AND p.upper <= hi
    ORDER BY p.lower
$$;

SELECT name FROM activity.register_type('pt.event');

---------------------------------------------------------------------------
-- Settings: none stored until configure() is called; defaults apply
---------------------------------------------------------------------------
SELECT count(*) AS settings_rows FROM activity.settings;
SELECT * FROM activity._settings();

-- partition_start(): UTC-aligned start of the interval holding a timestamp
SELECT ts, activity.partition_start(ts) AS monthly
FROM unnest('{2035-03-15 12:00+00, 2035-03-01 00:00+00, 2035-02-28 23:59:59.999999+00,
              2035-03-01 00:30+01, 2035-12-31 23:00-05, 1990-07-04 00:00+00}'::timestamptz[]) ts;
-- under every supported interval (configure() and partition_start() in
-- separate statements: partition_start() is STABLE and reads the settings)
CREATE FUNCTION pg_temp.starts(ts timestamptz)
RETURNS TABLE ("interval" interval, start timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    i interval;
BEGIN
    FOREACH i IN ARRAY '{1 day, 7 days, 1 mon, 2 mons, 3 mons, 4 mons, 6 mons, 1 year}'::interval[] LOOP
        PERFORM activity.configure(partition_interval => i);
        "interval" := i;
        start := activity.partition_start(ts);
        RETURN NEXT;
    END LOOP;
END;
$$;
BEGIN;
SELECT a."interval", a.start AS start_of_2035_05_15_1234, b.start AS start_of_2035_12_31_2359
FROM pg_temp.starts('2035-05-15 12:34:56+00') a JOIN pg_temp.starts('2035-12-31 23:59:59+00') b USING ("interval");
ROLLBACK;

---------------------------------------------------------------------------
-- create_partitions()
---------------------------------------------------------------------------
SELECT partition, lower, upper FROM activity.create_partitions('2035-01-01', '2035-04-01');
-- again: nothing to do
SELECT count(*) AS created_again FROM activity.create_partitions('2035-01-01', '2035-04-01');
-- unaligned bounds are widened to whole intervals; existing ones are skipped
SELECT partition, lower, upper FROM activity.create_partitions('2035-02-15', '2035-05-02');
-- a gap between existing partitions is filled
SELECT partition FROM activity.create_partitions('2035-07-01', '2035-08-01');
SELECT partition, lower, upper FROM activity.create_partitions('2035-01-01', '2035-09-01');
SELECT * FROM pg_temp.parts('2035-01-01', '2036-01-01');

-- every partition gets its primary key, feed index and TRUNCATE guard
SELECT p.partition,
       (SELECT array_agg(c.relname::text ORDER BY c.relname) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
         WHERE i.indrelid = p.partition) AS indexes,
       (SELECT array_agg(t.tgname::text ORDER BY t.tgname) FROM pg_trigger t WHERE t.tgrelid = p.partition) AS triggers
FROM pg_temp.parts('2035-01-01', '2035-03-01') p;

-- argument errors
SELECT label, pg_temp.expect_error(sql) AS error
FROM (VALUES
    ('since NULL',        $$SELECT * FROM activity.create_partitions(NULL, '2035-01-01')$$),
    ('until NULL',        $$SELECT * FROM activity.create_partitions('2035-01-01', NULL)$$),
    ('since -infinity',   $$SELECT * FROM activity.create_partitions('-infinity', '2035-01-01')$$),
    ('until infinity',    $$SELECT * FROM activity.create_partitions('2035-01-01', 'infinity')$$),
    ('since = until',     $$SELECT * FROM activity.create_partitions('2035-01-01', '2035-01-01')$$),
    ('since > until',     $$SELECT * FROM activity.create_partitions('2035-02-01', '2035-01-01')$$)
) t(label, sql);

-- Rows waiting in the default partition move into a partition created for them
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
SELECT 'pt-ws', 'pt.event', 'u' || g, '2035-10-01'::timestamptz + g * interval '7 hours'
FROM generate_series(0, 199) g;
SELECT count(*) AS n, md5(string_agg(a::text, ',' ORDER BY id)) AS digest
FROM activity.activities a WHERE workspace_id = 'pt-ws' \gset before_
SELECT a.tableoid::regclass AS stored_in, count(*) FROM activity.activities a WHERE workspace_id = 'pt-ws' GROUP BY 1;
SELECT partition, lower, upper FROM activity.create_partitions('2035-10-01', '2036-01-01');
SELECT a.tableoid::regclass AS stored_in, count(*), min(occurred_at), max(occurred_at)
FROM activity.activities a WHERE workspace_id = 'pt-ws' GROUP BY 1 ORDER BY 3;
SELECT count(*) = :before_n AS same_count,
       md5(string_agg(a::text, ',' ORDER BY id)) = :'before_digest' AS same_rows
FROM activity.activities a WHERE workspace_id = 'pt-ws';
-- the moved-into partition is a full partition: guarded, validated, paged
SELECT pg_temp.expect_error($$DELETE FROM activity_partitions.activities_p20351001$$) AS delete_moved;
SELECT pg_temp.expect_error($$INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
                              VALUES ('pt-ws', 'pt.nope', 'u', '2035-10-05')$$) AS insert_moved;
SELECT count(*) AS paged, count(DISTINCT id) AS distinct_paged FROM activity.page('pt-ws', NULL, 200);

-- A partition interval change applies to new partitions; existing ones bound
-- the new ones (no overlap, no gap)
BEGIN;
SELECT partition_interval FROM activity.configure(partition_interval => '1 day');
SELECT partition, lower, upper FROM activity.create_partitions('2036-06-10', '2036-06-12');
SELECT partition_interval FROM activity.configure(partition_interval => '1 month');
SELECT partition, lower, upper FROM activity.create_partitions('2036-06-01', '2036-08-01');
SELECT partition_interval FROM activity.configure(partition_interval => '7 days');
SELECT partition, lower, upper FROM activity.create_partitions('2036-09-01', '2036-09-15');
ROLLBACK;

---------------------------------------------------------------------------
-- Outliers: accepted on every path, kept in the default partition, never
-- the cause of a partition
---------------------------------------------------------------------------
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
VALUES ('pt-out', 'pt.event', 'insert', '1990-01-01'), ('pt-out', 'pt.event', 'insert', '2090-12-31');
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
SELECT 'pt-out', 'pt.event', 'insert-select', make_timestamptz(y, 6, 1, 0, 0, 0, 'UTC')
FROM generate_series(1900, 1999) y;
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
SELECT 'pt-out', 'pt.event', 'insert-select', make_timestamptz(y, 6, 1, 0, 0, 0, 'UTC')
FROM generate_series(2080, 2179) y;
COPY activity.activities (workspace_id, type, initiator_id, occurred_at) FROM STDIN;
pt-out	pt.event	copy	1990-05-05 05:05:05+00
pt-out	pt.event	copy	2090-05-05 05:05:05+00
\.
SELECT activity.record('pt-out', 'pt.event', 'record', occurred_at => '1990-02-02') IS NOT NULL AS recorded;
SELECT activity.record('pt-out', 'pt.event', 'record', occurred_at => '2090-02-02') IS NOT NULL AS recorded;
SELECT initiator_id AS path, count(*) AS n,
       bool_and(tableoid = 'activity_partitions.activities_default'::regclass) AS all_in_default
FROM activity.activities WHERE workspace_id = 'pt-out' GROUP BY 1 ORDER BY 1;

---------------------------------------------------------------------------
-- maintain(): depends on today's date, so only invariants are shown
---------------------------------------------------------------------------
BEGIN;
SELECT count(*) AS partitions_before FROM activity.partitions() \gset
CREATE TEMP TABLE maintained AS SELECT * FROM activity.maintain();
-- it creates at most the current interval and "premake" (3) more, all in the
-- near future, whatever the outliers
SELECT count(*) <= 4 AS at_most_4_created,
       coalesce(bool_and(action = 'created'), true) AS only_created,
       coalesce(bool_and(lower >= activity.partition_start(now())
                         AND upper <= activity.partition_start(now()) + interval '4 months'), true) AS all_near_now
FROM maintained;
SELECT count(*) - :partitions_before = (SELECT count(*) FROM maintained) AS partitions_added_as_reported
FROM activity.partitions();
-- afterwards the current interval and the next 3 are covered, contiguously
SELECT count(*) AS covering_now_and_3_ahead,
       bool_and(p.upper = (SELECT min(q.lower) FROM activity.partitions() q WHERE q.lower >= p.upper)
                OR p.upper = activity.partition_start(now()) + interval '4 months') AS contiguous
FROM activity.partitions() p
WHERE NOT p.is_default AND p.lower >= activity.partition_start(now())
  AND p.upper <= activity.partition_start(now()) + interval '4 months';
-- a second run has nothing to do
SELECT count(*) AS second_run FROM activity.maintain();
-- outliers are still in the default partition
SELECT count(*) AS outliers_in_default FROM activity_partitions.activities_default WHERE workspace_id = 'pt-out';
-- a recent row waiting in the default partition (2 intervals old) gets its
-- partition; an older one (5 intervals old) does not
CREATE TEMP TABLE stamps AS
SELECT activity.partition_start(now()) - interval '2 months' + interval '3 days' AS recent,
       activity.partition_start(now()) - interval '5 months' + interval '3 days' AS old;
SELECT count(*) AS partitions_before FROM activity.partitions() \gset
SELECT count(*) AS recent_partitions_existing FROM activity.partitions(), stamps
WHERE NOT is_default AND lower <= stamps.recent AND upper > stamps.recent \gset
SELECT :recent_partitions_existing AS recent_partition_exists;
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
SELECT 'pt-recent', 'pt.event', 'recent', recent FROM stamps
UNION ALL SELECT 'pt-recent', 'pt.event', 'old', old FROM stamps;
SELECT count(*) AS created FROM activity.maintain();
SELECT a.initiator_id, a.tableoid = 'activity_partitions.activities_default'::regclass AS in_default
FROM activity.activities a WHERE workspace_id = 'pt-recent' ORDER BY 1;
-- the month between the recent partition and today holds no row: it gets no
-- partition (maintain() never creates one that no row needs)
SELECT count(*) AS partitions_from_recent_to_ahead,
       count(*) = 5 AS exactly_5
FROM activity.partitions() p, stamps
WHERE NOT p.is_default AND p.lower >= activity.partition_start(stamps.recent)
  AND p.upper <= activity.partition_start(now()) + interval '4 months';
ROLLBACK;

-- bounded: 200 outlier years produced no partition at all
SELECT count(*) AS partitions_before_2000_or_after_2079
FROM activity.partitions() WHERE NOT is_default AND (lower < '2000-01-01' OR upper > '2080-01-01');

---------------------------------------------------------------------------
-- configure() and retention
---------------------------------------------------------------------------
BEGIN;
SELECT * FROM activity.configure(premake => 2, retention => '6 months');
SELECT count(*) AS settings_rows FROM activity.settings;
SELECT * FROM activity.configure();
SELECT * FROM activity.configure(keep_forever => true);
SELECT * FROM activity.configure(partition_interval => '1 year', premake => 366);
SELECT * FROM activity.configure(partition_interval => '12 months');
SELECT * FROM activity.configure(partition_interval => '1 week');
ROLLBACK;
SELECT label, pg_temp.expect_error(sql) AS error
FROM (VALUES
    ('retention and keep_forever', $$SELECT activity.configure(retention => '1 year', keep_forever => true)$$),
    ('interval 2 days',            $$SELECT activity.configure(partition_interval => '2 days')$$),
    ('interval 30 days',           $$SELECT activity.configure(partition_interval => '30 days')$$),
    ('interval 5 months',          $$SELECT activity.configure(partition_interval => '5 months')$$),
    ('interval 1 month 1 day',     $$SELECT activity.configure(partition_interval => '1 month 1 day')$$),
    ('interval 1 hour',            $$SELECT activity.configure(partition_interval => '1 hour')$$),
    ('interval 2 years',           $$SELECT activity.configure(partition_interval => '2 years')$$),
    ('interval -1 month',          $$SELECT activity.configure(partition_interval => '-1 month')$$),
    ('premake 0',                  $$SELECT activity.configure(premake => 0)$$),
    ('premake 367',                $$SELECT activity.configure(premake => 367)$$),
    ('retention 0',                $$SELECT activity.configure(retention => '0')$$),
    ('retention -1 day',           $$SELECT activity.configure(retention => '-1 day')$$),
    ('settings row written directly', $$INSERT INTO activity.settings VALUES (true, '5 days', 3, NULL)$$),
    ('a second settings row',      $$INSERT INTO activity.settings VALUES (false, '1 month', 3, NULL)$$)
) t(label, sql);
SELECT count(*) AS settings_rows_after_errors FROM activity.settings;

-- Retention drops whole partitions older than now() - retention and the
-- default partition's rows that are older too; nothing newer
BEGIN;
SET LOCAL activity.max_lock_hold = '10min';   -- creations and drops in one transaction
SELECT count(*) >= 12 AS made_the_last_12_months
FROM activity.create_partitions(activity.partition_start(now()) - interval '12 months', now());
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
SELECT 'pt-ret', 'pt.event', CASE WHEN g > 6 THEN 'expired' ELSE 'kept' END,
       activity.partition_start(now()) - make_interval(months => g) + interval '1 day'
FROM generate_series(0, 12) g;
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at) VALUES
    ('pt-ret', 'pt.event', 'expired-outlier', '1990-01-01'),
    ('pt-ret', 'pt.event', 'kept-outlier', '2090-01-01');
SELECT count(*) AS rows_before FROM activity.activities WHERE workspace_id = 'pt-ret';
SELECT retention FROM activity.configure(retention => '6 months');
SELECT count(*) AS default_rows_to_expire FROM activity_partitions.activities_default
WHERE occurred_at < now() - interval '6 months' \gset
CREATE TEMP TABLE retained AS SELECT * FROM activity.maintain();
-- the default partition's expired rows are deleted, and counted
SELECT action, partition, count(*), sum("rows") = :default_rows_to_expire AS all_expired_rows_counted
FROM retained WHERE action = 'expired' GROUP BY 1, 2 ORDER BY 1;
-- the ids of the rows gone are released, and only those: every id left has its row
SELECT count(*) AS id_release_steps FROM retained WHERE action = 'ids released' AND "rows" > 0;
SELECT (SELECT count(*) FROM activity.event_ids) = (SELECT count(*) FROM activity.activities) AS as_many_ids_as_rows,
       NOT EXISTS (SELECT 1 FROM activity.activities a WHERE NOT EXISTS (SELECT 1 FROM activity.event_ids e WHERE e.id = a.id)) AS every_row_has_its_id;
-- dropped partitions are reported by name
SELECT count(*) AS dropped, bool_and(partition ~ '^activity_partitions\.activities_p\d{8}$') AS named
FROM retained WHERE action = 'dropped';
SELECT bool_and(upper <= now() - interval '6 months') AS dropped_only_expired FROM retained WHERE action = 'dropped';
SELECT initiator_id, count(*) FROM activity.activities WHERE workspace_id = 'pt-ret' GROUP BY 1 ORDER BY 1;
SELECT count(*) AS partitions_wholly_older_than_retention
FROM activity.partitions() WHERE NOT is_default AND upper <= now() - interval '6 months';
SELECT count(*) AS default_rows_older_than_retention
FROM activity_partitions.activities_default WHERE occurred_at < now() - interval '6 months';
-- with retention, the number of range partitions up to today is bounded
SELECT count(*) <= 7 AS at_most_7_partitions_up_to_now
FROM activity.partitions() WHERE NOT is_default AND lower < now();
-- a second run has nothing left to do
SELECT count(*) AS second_run FROM activity.maintain();
ROLLBACK;

---------------------------------------------------------------------------
-- activity.max_lock_hold: every partition attached keeps inserts out of the
-- log until the transaction ends, so once a transaction has held the log
-- that long the rest of the range is deferred to the next call. A call in a
-- new transaction always makes one partition; a subtransaction rolled back
-- releases its lock and is not counted.
---------------------------------------------------------------------------
SHOW activity.max_lock_hold;
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
SELECT 'pt-hold', 'pt.event', 'u' || g, timestamptz '2039-01-15 00:00+00' + g * interval '1 month'
FROM generate_series(0, 2) g;
BEGIN;
SET LOCAL activity.max_lock_hold = 0;
SELECT action, partition, lower, upper, "rows" FROM activity.create_partitions('2039-01-01', '2039-04-01');
-- the same transaction: everything deferred, and said why
SELECT action, partition, lower, upper, "rows",
       detail ~ '^this transaction has kept inserts out of the log for [0-9]+ ms, attaching or dropping partitions \(activity.max_lock_hold is 0\); the next call creates the partitions of this range still missing$' AS detail_says_why
FROM activity.create_partitions('2039-01-01', '2039-04-01');
ROLLBACK;
BEGIN;
SET LOCAL activity.max_lock_hold = 0;
SAVEPOINT before;
SELECT action, lower FROM activity.create_partitions('2039-01-01', '2039-03-01');
ROLLBACK TO before;
SELECT action, lower FROM activity.create_partitions('2039-01-01', '2039-03-01');
ROLLBACK;
-- one transaction per call: each makes one partition, moving its rows in
SET activity.max_lock_hold = 0;
SELECT action, lower, upper, "rows" FROM activity.create_partitions('2039-01-01', '2039-04-01');
SELECT action, lower, upper, "rows" FROM activity.create_partitions('2039-01-01', '2039-04-01');
SELECT action, lower, upper, "rows" FROM activity.create_partitions('2039-01-01', '2039-04-01');
SELECT count(*) AS nothing_left FROM activity.create_partitions('2039-01-01', '2039-04-01');
RESET activity.max_lock_hold;
SELECT tableoid::regclass AS partition, count(*) FROM activity.activities WHERE workspace_id = 'pt-hold' GROUP BY 1 ORDER BY 1;
SELECT label, pg_temp.expect_error(sql) AS error
FROM (VALUES
    ('max_lock_hold -1',   $$SET activity.max_lock_hold = -1$$),
    ('max_lock_hold 2 days', $$SET activity.max_lock_hold = '2 days'$$)
) t(label, sql);

---------------------------------------------------------------------------
-- Partition bounds do not depend on the session's TimeZone or DateStyle.
-- Regression: partition bounds are read and written as text; they must not
-- depend on the session's DateStyle or on a zone whose abbreviation is
-- ambiguous (IST: India or Israel). Bounds stay UTC-aligned.
---------------------------------------------------------------------------
BEGIN;
SET LOCAL TIME ZONE 'America/New_York';
SELECT partition, to_char(lower AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS lower_utc,
       to_char(upper AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS upper_utc
FROM activity.create_partitions('2037-01-01 00:00+00', '2037-02-01 00:00+00');
SET LOCAL datestyle = 'SQL, DMY';
SET LOCAL TIME ZONE 'Asia/Kolkata';
SELECT partition, to_char(lower AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS lower_utc,
       to_char(upper AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS upper_utc
FROM activity.create_partitions('2037-02-01 00:00+00', '2037-03-01 00:00+00');
SELECT partition, to_char(lower AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS lower_utc,
       to_char(upper AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS upper_utc
FROM activity.partitions() WHERE partition::text LIKE '%p2037%';
SET LOCAL datestyle = 'ISO, YMD';
SET LOCAL TIME ZONE 'UTC';
SELECT partition, lower, upper FROM activity.partitions() WHERE partition::text LIKE '%p2037%';
ROLLBACK;

---------------------------------------------------------------------------
-- A log published for logical replication (a CDC pipeline): the rows that
-- create_partitions() moves out of the default partition are deleted there,
-- which a published table allows only with a replica identity. Each
-- partition's is its unique workspace feed index (partitions have no
-- primary key: activity.event_ids keeps ids unique).
---------------------------------------------------------------------------
BEGIN;
SET LOCAL client_min_messages = error;   -- "wal_level is insufficient" when not logical
CREATE PUBLICATION activity_cdc FOR TABLE activity.activities WITH (publish_via_partition_root = true);
RESET client_min_messages;
SELECT name FROM activity.register_type('cdc.event');
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
SELECT 'cdc-ws', 'cdc.event', 'u' || g, timestamptz '2038-03-01 00:00+00' + g * interval '1 hour' FROM generate_series(1, 5) g;
SELECT count(*) AS in_default FROM activity_partitions.activities_default WHERE workspace_id = 'cdc-ws';
SELECT action, partition, "rows" FROM activity.create_partitions('2038-03-01', '2038-04-01');
SELECT tableoid::regclass AS partition, count(*) FROM activity.activities WHERE workspace_id = 'cdc-ws' GROUP BY 1;
SELECT c.relname AS partition, i.relname AS replica_identity, x.indisunique AS is_unique
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid
WHERE x.indisreplident AND c.relname IN ('activities_default', 'activities_p20380301')
ORDER BY 1;
SELECT count(*) AS primary_keys FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid
WHERE x.indisprimary AND c.relnamespace = 'activity_partitions'::regnamespace;
ROLLBACK;
