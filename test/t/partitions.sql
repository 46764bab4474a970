-- Partition maintenance invariants that depend on today's date (checked
-- relative to now()), bounded partition counts whatever the outliers, and
-- concurrent maintain() calls. Everything is rolled back except what the two
-- dblink sessions of the first test commit (maintain() of the current period).
\set QUIET 1
-- three years of partitions in one call below
SET activity.max_lock_hold = '10min';
\ir include/dblink.psql
SELECT plan(17);

-- concurrent maintain() calls queue on an advisory lock and both succeed
\o /dev/null
SELECT pg_temp.connect('m1');
SELECT pg_temp.connect('m2');
SELECT dblink_send_query('m1', 'SELECT count(*) FROM activity.maintain()');
SELECT dblink_send_query('m2', 'SELECT count(*) FROM activity.maintain()');
\o
SELECT is(pg_temp.finish('m1') || ' ' || pg_temp.finish('m2'), 'OK OK', 'two maintain() at once both succeed');


BEGIN;
SET LOCAL TIME ZONE 'UTC';

\o /dev/null
SELECT activity.register_type('tp.part');
\o

-- maintain(): the current interval and "premake" more, then nothing to do
SELECT lives_ok($$CREATE TEMP TABLE m1 AS SELECT * FROM activity.maintain()$$, 'maintain() runs');
SELECT is((SELECT count(*) FROM activity.maintain()), 0::bigint, 'a second maintain() has nothing to do');
SELECT is((SELECT count(*) FROM activity.partitions() p
           WHERE NOT p.is_default AND p.lower >= activity.partition_start(now())
             AND p.upper <= activity.partition_start(now()) + interval '4 months'),
          4::bigint, 'the current month and the 3 ahead have partitions');
SELECT is((SELECT count(*) FROM activity.partitions() p
           WHERE NOT p.is_default AND p.lower >= activity.partition_start(now()) + interval '4 months'
             AND p.lower < activity.partition_start(now()) + interval '12 months'),
          0::bigint, 'nothing beyond "premake" is made');

-- outliers: rows over a thousand different years (those no partition
-- covers yet) create no partition
CREATE TEMP TABLE parts_before AS SELECT partition FROM activity.partitions();
CREATE TEMP TABLE outliers AS
SELECT make_timestamptz(y, 6, 15, 0, 0, 0, 'UTC') AS ts
FROM generate_series(1000, 3999, 3) y
WHERE NOT EXISTS (SELECT FROM activity.partitions() p WHERE NOT p.is_default AND p.upper > make_timestamptz(y, 1, 1, 0, 0, 0, 'UTC')
                                                      AND p.lower < make_timestamptz(y + 1, 1, 1, 0, 0, 0, 'UTC'))
  AND y NOT BETWEEN extract(year FROM now())::int - 1 AND extract(year FROM now())::int + 1;
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
SELECT 'tp-out', 'tp.part', 'u', ts FROM outliers;
SELECT ok((SELECT count(*) FROM activity.activities WHERE workspace_id = 'tp-out') = (SELECT count(*) FROM outliers)
          AND (SELECT count(*) FROM outliers) > 900, 'outliers over more than 900 years are accepted');
SELECT is_empty($$SELECT * FROM activity.maintain()$$, 'maintain() creates no partition for them');
SELECT is_empty($$SELECT partition FROM activity.partitions() EXCEPT SELECT partition FROM parts_before$$,
                'the set of partitions is unchanged');
SELECT is((SELECT count(*) FROM activity_partitions.activities_default WHERE workspace_id = 'tp-out'),
          (SELECT count(*) FROM outliers), 'they all wait in the default partition');
SELECT is((SELECT count(*) FROM activity.page('tp-out', NULL, 200)), 200::bigint, 'and are in the feed');

-- a retention of 12 months with premake 3 keeps at most 17 partitions up to
-- "premake" ahead, even after a backfill created partitions 3 years back
SELECT lives_ok($$SELECT activity.create_partitions(activity.partition_start(now()) - interval '36 months', now())$$,
                'backfill partitions for the last 3 years');
SELECT lives_ok($$SELECT activity.configure(retention => '12 months')$$, 'configure a retention of 12 months');
SELECT lives_ok($$CREATE TEMP TABLE m2 AS SELECT * FROM activity.maintain()$$, 'maintain() applies it');
SELECT cmp_ok((SELECT count(*) FROM activity.partitions() p
               WHERE NOT p.is_default AND p.upper <= activity.partition_start(now()) + interval '4 months'),
              '<=', 17::bigint, 'at most 17 range partitions are kept up to "premake" ahead');
SELECT is((SELECT count(*) FROM activity_partitions.activities_default
           WHERE workspace_id = 'tp-out' AND occurred_at < now() - interval '12 months'),
          0::bigint, 'outliers older than the retention left the default partition');

-- the limit of create_partitions(), checked before anything is created
SELECT throws_ok($$SELECT activity.create_partitions('1900-01-01', '2100-01-01')$$, '54000', 'too many partitions requested',
                 'create_partitions() refuses more than 1000 partitions');
SELECT is((SELECT count(*) FROM activity.partitions() WHERE lower < '2000-01-01'), 0::bigint,
          '... and creates none of them');

SELECT * FROM finish();
ROLLBACK;
