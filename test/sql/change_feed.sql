-- (Runs last, see the Makefile: its retention run removes old rows of
-- other tests.)
-- The change feed: named consumers (create_consumer(), changes(),
-- drop_consumer(), accept_gap(), the view consumers), the stateless
-- changes_since() / feed_position(), and xact_id, the order they read by.
-- (Concurrent writers, long transactions and killed workers:
-- test/shell/feed_concurrency.sh and test/shell/crm_sync.sh.)
\set VERBOSITY terse
\i test/sql/include/expect_error.sql
SELECT count(*) AS types FROM (
    SELECT activity.register_type('cf.post.created') UNION ALL SELECT activity.register_type('cf.post.deleted')
    UNION ALL SELECT activity.register_type('cf.login')) t;
-- (an earlier test may have made them already)
SELECT count(*) >= 0 AS maintained FROM activity.maintain();
SELECT count(*) AS current_partition FROM activity.partitions() WHERE lower = activity.partition_start(now());

-- an event recorded before any consumer exists
SELECT activity.record('cf-a', 'cf.login', 'early') IS NOT NULL AS recorded;

---------------------------------------------------------------------------
-- Consumers: from now, from the beginning, filtered by workspace and types
---------------------------------------------------------------------------
SELECT name, workspace_id, types, delivered FROM activity.create_consumer('crm');
SELECT name, types FROM activity.create_consumer('all', start => 'beginning', types => '{cf.*}');
SELECT name, workspace_id FROM activity.create_consumer('only-b', workspace_id => 'cf-b');
SELECT name, types FROM activity.create_consumer('posts', types => '{cf.post.*}');
SELECT name, reading_whole_log, lag_events, gap_events FROM activity.consumers ORDER BY name;

-- events in three transactions, dated now, 1990, 2090 and last year
SELECT activity.record('cf-a', 'cf.post.created', 'u1') IS NOT NULL AS recorded;
BEGIN;
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at) VALUES
    ('cf-b', 'cf.post.created', 'u2', '1990-05-05'), ('cf-b', 'cf.login', 'u2', '2090-05-05');
SELECT activity.record('cf-a', 'cf.post.deleted', 'u3', occurred_at => now() - interval '1 year') IS NOT NULL AS recorded;
COMMIT;
COPY activity.activities (workspace_id, type, initiator_id) FROM STDIN;
fd-b	cf.post.created	u4
fd-a	cf.login	u5
\.
-- a rolled-back transaction and a rolled-back subtransaction
BEGIN;
SELECT activity.record('cf-a', 'cf.login', 'rolled-back') IS NOT NULL AS recorded;
ROLLBACK;
BEGIN;
SAVEPOINT s;
SELECT activity.record('cf-a', 'cf.login', 'rolled-back-sub') IS NOT NULL AS recorded;
ROLLBACK TO s;
SELECT activity.record('cf-a', 'cf.login', 'kept-sub') IS NOT NULL AS recorded;
COMMIT;

-- in commit order (transaction, then id), each committed event once
SELECT workspace_id, type, initiator_id, occurred_at < now() - interval '6 months' AS old
FROM activity.changes('crm');
SELECT count(*) AS nothing_more FROM activity.changes('crm');
-- the filtered consumers read their part
SELECT workspace_id, type, initiator_id FROM activity.changes('only-b');
SELECT workspace_id, type, initiator_id FROM activity.changes('posts');
-- from the beginning: the log as it was first (by occurred_at), then the rest in commit order
SELECT initiator_id FROM activity.changes('all', 2);
SELECT initiator_id FROM activity.changes('all', 2);
SELECT initiator_id FROM activity.changes('all', 100);
SELECT name, delivered, last_read_events, lag_events FROM activity.consumers ORDER BY name;

-- the position moves only when the reading transaction commits
SELECT activity.record('cf-a', 'cf.login', 'again') IS NOT NULL AS recorded;
BEGIN;
SELECT initiator_id FROM activity.changes('crm');
ROLLBACK;
SELECT name, lag_events FROM activity.consumers WHERE name = 'crm';
BEGIN;
SELECT initiator_id FROM activity.changes('crm');
COMMIT;
SELECT count(*) AS nothing_more FROM activity.changes('crm');

-- a transaction's own uncommitted events are not read by it (they come once it commits)
BEGIN;
SELECT activity.record('cf-a', 'cf.login', 'own') IS NOT NULL AS recorded;
SELECT initiator_id FROM activity.changes('crm');
ROLLBACK;
SELECT count(*) AS none_after_rollback FROM activity.changes('crm');

-- a batch larger than the limit is read in several calls, none skipped
INSERT INTO activity.activities (workspace_id, type, initiator_id)
SELECT 'cf-c', 'cf.login', 'bulk' || g FROM generate_series(1, 25) g;
SELECT count(*) FROM activity.changes('crm', 10);
SELECT count(*) FROM activity.changes('crm', 10);
SELECT count(*) FROM activity.changes('crm', 10);
SELECT count(*) AS nothing_more FROM activity.changes('crm', 10);

---------------------------------------------------------------------------
-- maintain() moving rows between partitions delivers nothing again
---------------------------------------------------------------------------
SELECT activity.record('cf-a', 'cf.login', 'backfill', occurred_at => '2031-03-03') IS NOT NULL AS recorded;
SELECT initiator_id FROM activity.changes('crm');
SELECT action, "rows" >= 1 AS moved_it FROM activity.create_partitions('2031-03-01 00:00+00', '2031-04-01 00:00+00');
SELECT xact_id IS NOT NULL AS kept_its_xact_id, tableoid::regclass FROM activity.activities WHERE initiator_id = 'backfill';
SELECT count(*) AS nothing_again FROM activity.changes('crm');

---------------------------------------------------------------------------
-- xact_id is the log's: no other value is taken
---------------------------------------------------------------------------
SELECT pg_temp.expect_error($$INSERT INTO activity.activities (workspace_id, type, initiator_id, xact_id) VALUES ('cf-a', 'cf.login', 'x', '5')$$) AS forged;
SELECT pg_temp.expect_error($$INSERT INTO activity.activities (workspace_id, type, initiator_id, xact_id) VALUES ('cf-a', 'cf.login', 'x', NULL)$$) AS null_xact;
SELECT pg_temp.expect_error($$INSERT INTO activity.activities SELECT * FROM activity.activities WHERE initiator_id = 'u1'$$) AS copied_row;
SELECT count(*) AS nothing_written FROM activity.changes('crm');

---------------------------------------------------------------------------
-- The stateless feed
---------------------------------------------------------------------------
SELECT activity.feed_position() AS pos \gset
\set pos0 :pos
SELECT activity.record('cf-d', 'cf.login', 's1') IS NOT NULL AS recorded;
SELECT activity.record('cf-d', 'cf.login', 's2') IS NOT NULL AS recorded;
SELECT (event).initiator_id, position IS NOT NULL AS has_position FROM activity.changes_since(:'pos', 1);
SELECT position AS pos FROM activity.changes_since(:'pos', 1) WHERE position IS NOT NULL \gset
SELECT (event).initiator_id, position IS NOT NULL AS has_position FROM activity.changes_since(:'pos');
SELECT position AS pos FROM activity.changes_since(:'pos') WHERE position IS NOT NULL \gset
SELECT count(*) AS only_the_position_row FROM activity.changes_since(:'pos');
SELECT (event).initiator_id FROM activity.changes_since(:'pos0', workspace_id => 'cf-d') WHERE position IS NULL;
SELECT count(*) AS other_workspace FROM activity.changes_since(:'pos0', workspace_id => 'cf-x') WHERE position IS NULL;

---------------------------------------------------------------------------
-- Errors
---------------------------------------------------------------------------
SELECT label, pg_temp.expect_error(sql) AS error
FROM (VALUES
    ('unknown consumer',      $$SELECT * FROM activity.changes('nope')$$),
    ('consumer exists',       $$SELECT activity.create_consumer('crm')$$),
    ('bad consumer name',     $$SELECT activity.create_consumer('no spaces')$$),
    ('null consumer name',    $$SELECT activity.create_consumer(NULL)$$),
    ('bad start',             $$SELECT activity.create_consumer('x', start => 'yesterday')$$),
    ('bad type pattern',      $$SELECT activity.create_consumer('x', types => '{cf.*.x}')$$),
    ('empty type',            $$SELECT activity.create_consumer('x', types => '{""}')$$),
    ('limit 0',               $$SELECT * FROM activity.changes('crm', 0)$$),
    ('limit NULL',            $$SELECT * FROM activity.changes('crm', NULL)$$),
    ('limit too large',       $$SELECT * FROM activity.changes('crm', 100001)$$),
    ('drop unknown',          $$SELECT activity.drop_consumer('nope')$$),
    ('accept_gap unknown',    $$SELECT activity.accept_gap('nope')$$),
    ('position NULL',         $$SELECT * FROM activity.changes_since(NULL)$$),
    ('position garbage',      $$SELECT * FROM activity.changes_since('garbage')$$),
    ('position bad snapshot', $$SELECT * FROM activity.changes_since('a2;1/1;x:y:;2026-01-01 00:00:00+00;;;;;;;;0')$$),
    ('position inconsistent', $$SELECT * FROM activity.changes_since('a2;1/1;10:10:;2026-01-01 00:00:00+00;;;5;3.1;;;;0')$$),
    ('feed_position bad',     $$SELECT activity.feed_position('later')$$)
) t(label, sql);
-- a position from another database (a restore, pg_upgrade)
SELECT pg_temp.expect_error(format($$SELECT * FROM activity.changes_since(%L)$$,
       regexp_replace(:'pos', '^a2;[0-9]+/', 'a2;12345/'))) ~ '^55000: change feed position is from another database DETAIL: The position was taken in database 12345/' AS other_database;

-- a named consumer restored into another database reads the whole log again
UPDATE activity.feed_consumers SET position = regexp_replace(position, '^a2;[0-9]+/', 'a2;12345/') WHERE name = 'only-b';
SELECT count(*) = (SELECT count(*) FROM activity.activities WHERE workspace_id = 'cf-b') AS its_whole_workspace_again
FROM activity.changes('only-b', 1000);
SELECT name, reset_at IS NOT NULL AS was_reset, reset_detail ~ 'its position was from database 12345/' AS says_why
FROM activity.consumers WHERE name = 'only-b';

---------------------------------------------------------------------------
-- Retention meets consumers: a partition dropped with events a consumer
-- has not read stops that consumer with a clear error until accept_gap()
---------------------------------------------------------------------------
BEGIN;
SET LOCAL activity.max_lock_hold = '10min';
SELECT count(*) > 0 AS made FROM activity.create_partitions(activity.partition_start(now() - interval '3 years'),
                                                            activity.partition_start(now() - interval '3 years') + interval '1 month');
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
SELECT 'cf-r', 'cf.login', 'old' || g, now() - interval '3 years' + g * interval '1 minute' FROM generate_series(1, 5) g;
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
VALUES ('cf-r', 'cf.login', 'old-outlier', '1990-01-01');
COMMIT;
SELECT count(*) AS read_by_crm FROM activity.changes('crm');    -- crm reads them; posts does not want them
SELECT retention FROM activity.configure(retention => '2 years');
SELECT DISTINCT action FROM activity.maintain() WHERE action IN ('dropped', 'expired') ORDER BY 1;
SELECT name, gap_events FROM activity.consumers ORDER BY name;
SELECT regexp_replace(regexp_replace(pg_temp.expect_error($$SELECT * FROM activity.changes('all')$$),
       '\d{4}-\d\d-\d\d [0-9:.+]+', '<time>', 'g'), 'p\d{8}', 'pYYYYMMDD') AS all_stopped;
SELECT count(*) AS crm_reads_on FROM activity.changes('crm');
SELECT activity.accept_gap('all') AS accepted;
SELECT count(*) >= 0 AS all_reads_on FROM activity.changes('all');
SELECT what ~ '^(partition activity_partitions\.activities_p\d{8} dropped|rows of the default partition expired)$' AS logged
FROM activity.feed_removals ORDER BY removal;
-- a stateless position taken before the removal is told too
SELECT pg_temp.expect_error(format($$SELECT * FROM activity.changes_since(%L)$$, activity._position_text(
       ROW(activity._incarnation(), '1:1:'::pg_snapshot, now(), NULL, NULL, NULL, NULL, NULL, false, NULL, NULL, 0))))
       ~ '^55000: retention removed activities this position may not have read DETAIL: 2 removal\(s\) of about \d+ activities since the position was taken\.$' AS stateless_gap;
SELECT count(*) >= 1 AS with_accept_gap FROM activity.changes_since(activity._position_text(
       ROW(activity._incarnation(), '1:1:'::pg_snapshot, now(), NULL, NULL, NULL, NULL, NULL, false, NULL, NULL, 0)), accept_gap => true);
SELECT keep_forever FROM activity.configure(keep_forever => true);

-- an application role with the grants the README lists reads a consumer;
-- without them it is refused
CREATE ROLE cf_app;
GRANT USAGE ON SCHEMA activity TO cf_app;
GRANT SELECT ON activity.activities, activity.feed_removals, activity.feed_batches TO cf_app;
SET ROLE cf_app;
SELECT pg_temp.expect_error($$SELECT * FROM activity.changes('crm')$$) AS without_consumer_grants;
RESET ROLE;
GRANT SELECT, UPDATE ON activity.feed_consumers TO cf_app;
SELECT activity.record('cf-a', 'cf.login', 'for-the-app') IS NOT NULL AS recorded;
SET ROLE cf_app;
SELECT initiator_id FROM activity.changes('crm');
SELECT pg_temp.expect_error($$SELECT activity.create_consumer('app-made')$$) AS create_needs_insert;
RESET ROLE;
REVOKE ALL ON activity.feed_consumers, activity.feed_removals, activity.feed_batches, activity.activities FROM cf_app;
REVOKE ALL ON SCHEMA activity FROM cf_app;
DROP ROLE cf_app;

-- dropping a consumer
SELECT activity.drop_consumer('posts');
SELECT name FROM activity.consumers ORDER BY name;
