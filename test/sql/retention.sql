-- Retention rules (issue #14): add_retention(), remove_retention(), the
-- table retention_rules, retention_preview(), and maintain() applying them:
-- by type, by workspace, a rule whose cutoff falls inside a partition, whole
-- partitions dropped when every row of them expired, keep 0, batches
-- (activity.retention_max_rows), change feed consumers told of what they had
-- not read, and the hash chain marking removed entries. Every removal is
-- checked against a snapshot of the whole log taken before it: exactly the
-- rows that should go are gone, every other row (of every workspace) stays.
-- Dates are relative to now(); output shows counts, booleans and partitions
-- named by their distance in months from the current one ('month -5').
-- Workspaces are 'ret-*', types 'ret.*'; at the end every row, rule,
-- consumer, chain entry and feed removal of this test is gone again.
SET TIME ZONE 'UTC';
SET datestyle = 'ISO, YMD';
SET activity.max_lock_hold = '10min';   -- partitions created and dropped in one run whatever the machine's speed
\set VERBOSITY terse
\i test/sql/include/expect_error.sql

SELECT count(*) AS types FROM (
    SELECT activity.register_type('ret.auth.login') UNION ALL SELECT activity.register_type('ret.auth.logout')
    UNION ALL SELECT activity.register_type('ret.page.view') UNION ALL SELECT activity.register_type('ret.misc.note')
    UNION ALL SELECT activity.register_type('ret.misc.ping')) t;

-- what this test leaves behind is checked against these at the end
SELECT coalesce(max(removal), 0) AS removals_before FROM activity.feed_removals \gset
SELECT count(*) AS rules_before FROM activity.retention_rules;
SELECT count(*) AS chain_entries_before, (SELECT count(*) FROM activity.hash_chain_key) AS chain_keys_before
FROM activity.hash_chain;

-- a partition named by its distance in months from the current one
CREATE FUNCTION pg_temp.label(p text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p = 'activity_partitions.activities_default' THEN 'default'
                WHEN p ~ '^activity_partitions\.activities_p\d{8}$'
                THEN 'month ' || ((extract(year FROM d) * 12 + extract(month FROM d))
                                  - (extract(year FROM now()) * 12 + extract(month FROM now())))::int
                ELSE p END
    FROM (SELECT to_date(substring(p FROM '\d{8}$'), 'YYYYMMDD') AS d) x
$$;
-- the partition of the month "k" months from the current one
CREATE FUNCTION pg_temp.part(k int) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT 'activity_partitions.activities_p'
           || to_char((activity.partition_start(now()) + make_interval(months => k)) AT TIME ZONE 'UTC', 'YYYYMMDD')
$$;
-- the whole log, before a removal
CREATE TEMP TABLE snap (id uuid, workspace_id text, type text, occurred_at timestamptz, part text);
CREATE FUNCTION pg_temp.take_snap() RETURNS bigint
LANGUAGE sql AS $$
    TRUNCATE snap;
    INSERT INTO snap SELECT a.id, a.workspace_id, a.type, a.occurred_at, a.tableoid::regclass::text
    FROM activity.activities a;
    SELECT count(*) FROM snap;
$$;
-- after it: "expected" is the condition (on the snapshot's row s) of the
-- rows that should have gone
CREATE FUNCTION pg_temp.removed(expected text)
RETURNS TABLE (should_go bigint, gone bigint, wrongly_gone bigint, wrongly_kept bigint, others_unchanged boolean)
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE format(
        'SELECT count(*) FILTER (WHERE %1$s),
                count(*) FILTER (WHERE a.id IS NULL),
                count(*) FILTER (WHERE a.id IS NULL AND NOT (%1$s)),
                count(*) FILTER (WHERE a.id IS NOT NULL AND (%1$s)),
                count(*) FILTER (WHERE a.id IS NULL AND s.workspace_id NOT LIKE %2$L) = 0
                AND (SELECT count(*) FROM activity.activities x WHERE x.workspace_id NOT LIKE %2$L)
                    = count(*) FILTER (WHERE s.workspace_id NOT LIKE %2$L)
         FROM snap s LEFT JOIN activity.activities a ON a.id = s.id', expected, 'ret-%');
END;
$$;
-- this test's workspaces (verify() reads one, or the whole log)
CREATE FUNCTION pg_temp.workspaces() RETURNS text[]
LANGUAGE sql AS $$ SELECT '{ret-ta,ret-tb,ret-half,ret-drop,ret-zero,ret-zero-other,ret-batch}'::text[] $$;
-- a run of maintain(), its retention steps shown stably
CREATE FUNCTION pg_temp.steps(run text)
RETURNS TABLE (action text, partition text, "rows" bigint, detail text)
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE format(
        'SELECT r.action, pg_temp.label(r.partition), r."rows",
                regexp_replace(regexp_replace(regexp_replace(r.detail, ''rule \d+'', ''rule N'', ''g''),
                                              ''keep @ [^,)]*, workspace ret-half'', ''keep <computed>, workspace ret-half''),
                               '' \(about \d+ rows\)'', '''')
         FROM %I r WHERE r.action IN (''dropped'', ''deleted'', ''deferred'', ''skipped'', ''failed'')
         ORDER BY 1, 2', run);
END;
$$;

---------------------------------------------------------------------------
-- add_retention(), remove_retention(), the rules listed
---------------------------------------------------------------------------
SELECT keep, types, workspace_id, created_by = current_user AS by_me
FROM activity.add_retention('90 days', '{ret.auth.*}');
SELECT rule_id AS api_types_rule FROM activity.retention_rules WHERE types = '{ret.auth.*}' \gset
-- the same types (in any order, repeated) and workspace: the keep changes, no new rule
SELECT rule_id = :api_types_rule AS same_rule, keep, types FROM activity.add_retention('120 days', '{ret.auth.*,ret.auth.*}');
SELECT rule_id <> :api_types_rule AS new_rule, keep, types, workspace_id
FROM activity.add_retention('1 year', '{ret.page.view,ret.auth.*}');
SELECT rule_id AS api_pair_rule FROM activity.retention_rules WHERE types = '{ret.auth.*,ret.page.view}' \gset
SELECT rule_id = :api_pair_rule AS same_rule, keep, types
FROM activity.add_retention('2 years', '{ret.auth.*,ret.page.view}');
-- a workspace, with and without types: other rules
SELECT keep, types, workspace_id FROM activity.add_retention('1 day', workspace_id => 'ret-api');
SELECT keep, types, workspace_id FROM activity.add_retention('0', '{ret.auth.*}', 'ret-api');
SELECT keep, types, workspace_id FROM activity.add_retention('1 day', workspace_id => 'ret-api');
SELECT keep, types, workspace_id, created_by = current_user AS by_me, created_at <= now() AS created_at_ok
FROM activity.retention_rules ORDER BY rule_id;
SELECT rule_id AS api_ws_rule FROM activity.retention_rules WHERE workspace_id = 'ret-api' AND types IS NULL \gset
SELECT activity.remove_retention(:api_ws_rule) AS removed;
SELECT activity.remove_retention(:api_ws_rule) AS removed_again;
SELECT activity.remove_retention(-1) AS removed_unknown;
SELECT count(*) AS removed_all FROM activity.retention_rules r, activity.remove_retention(r.rule_id) x WHERE x;
SELECT count(*) AS rules_left FROM activity.retention_rules;

-- errors, each with its SQLSTATE; none writes a rule
SELECT label, pg_temp.expect_error(sql) AS error
FROM (VALUES
    ('keep NULL',          $$SELECT activity.add_retention(NULL, '{ret.auth.*}')$$),
    ('keep negative',      $$SELECT activity.add_retention('-1 day', '{ret.auth.*}')$$),
    ('keep negative mixed',$$SELECT activity.add_retention('1 mon -40 days', '{ret.auth.*}')$$),
    ('no scope',           $$SELECT activity.add_retention('30 days')$$),
    ('no scope, NULLs',    $$SELECT activity.add_retention('30 days', NULL, NULL)$$),
    ('empty workspace',    $$SELECT activity.add_retention('30 days', workspace_id => '')$$),
    ('bad type pattern',   $$SELECT activity.add_retention('30 days', '{ret.*.login}')$$),
    ('bad type suffix',    $$SELECT activity.add_retention('30 days', '{ret.auth*}')$$),
    ('empty type',         $$SELECT activity.add_retention('30 days', '{""}')$$),
    ('NULL type',          $$SELECT activity.add_retention('30 days', '{NULL}')$$),
    -- an empty list names no type: not "every type of the workspace" (NULL)
    ('empty types',        $$SELECT activity.add_retention('30 days', '{}', 'ret-api')$$),
    ('empty types, no ws', $$SELECT activity.add_retention('30 days', '{}')$$)
) t(label, sql);
SELECT count(*) AS rules_after_errors FROM activity.retention_rules;
-- the hint points at the whole log's retention
CREATE FUNCTION pg_temp.hint(sql text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    h text;
BEGIN
    EXECUTE sql;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS h = PG_EXCEPTION_HINT;
    RETURN h;
END;
$$;
SELECT pg_temp.hint($$SELECT activity.add_retention('30 days')$$) AS no_scope_hint;
-- only the owner of the log manages rules
CREATE ROLE ret_nonowner;
GRANT USAGE ON SCHEMA activity TO ret_nonowner;
SELECT rule_id AS owner_rule FROM activity.add_retention('30 days', '{ret.page.view}') \gset
SET ROLE ret_nonowner;
SELECT label, pg_temp.expect_error(sql) AS error
FROM (VALUES
    ('add as non-owner',    $$SELECT activity.add_retention('30 days', '{ret.auth.*}')$$),
    ('change as non-owner', $$SELECT activity.add_retention('1 day', '{ret.page.view}')$$),
    ('remove as non-owner', $$SELECT activity.remove_retention($$ || :owner_rule || $$)$$),
    ('read the rules',      $$SELECT count(*) FROM activity.retention_rules$$)
) t(label, sql);
RESET ROLE;
SELECT keep, types FROM activity.retention_rules ORDER BY rule_id;
SELECT activity.remove_retention(:owner_rule) AS removed;
REVOKE USAGE ON SCHEMA activity FROM ret_nonowner;
DROP ROLE ret_nonowner;

---------------------------------------------------------------------------
-- The rows: months are counted from the current one (partition_start(now()))
---------------------------------------------------------------------------
-- real partitions for months -5, -7 and -8 (maintain() makes none that old)
SELECT action, pg_temp.label(partition) AS partition, "rows"
FROM activity.create_partitions(activity.partition_start(now()) - interval '8 months',
                                activity.partition_start(now()) - interval '6 months');
SELECT action, pg_temp.label(partition) AS partition, "rows"
FROM activity.create_partitions(activity.partition_start(now()) - interval '5 months',
                                activity.partition_start(now()) - interval '4 months');

-- types: auth and page rows of two workspaces, 3 of each type and workspace
-- at each age: now, 20 days, months -2, -3 (waiting in the default partition
-- until maintain() makes their partitions), -9 and -14 (outliers: they stay
-- in the default partition)
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
SELECT w, t, 'u' || g, d
FROM unnest('{ret-ta,ret-tb}'::text[]) w,
     unnest('{ret.auth.login,ret.auth.logout,ret.page.view}'::text[]) t,
     unnest(ARRAY[now(), now() - interval '20 days',
                  activity.partition_start(now()) - interval '2 months' + interval '10 days',
                  activity.partition_start(now()) - interval '3 months' + interval '10 days',
                  activity.partition_start(now()) - interval '9 months' + interval '10 days',
                  activity.partition_start(now()) - interval '14 months' + interval '10 days']) d,
     generate_series(1, 3) g;
-- half a partition: month -5, days 1 to 13 and 17 to 27
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
SELECT 'ret-half', 'ret.misc.note', 'u' || g,
       activity.partition_start(now()) - interval '5 months' + make_interval(days => g) + interval '6 hours'
FROM generate_series(1, 27) g WHERE g NOT BETWEEN 14 AND 16;
-- whole partitions: month -7 notes only; month -8 notes and one ping
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
SELECT 'ret-drop', 'ret.misc.note', 'u' || g,
       activity.partition_start(now()) - make_interval(months => m) + make_interval(days => g)
FROM generate_series(7, 8) m, generate_series(1, 10) g;
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
VALUES ('ret-drop', 'ret.misc.ping', 'last', activity.partition_start(now()) - interval '8 months' + interval '20 days');
-- keep 0: the same rows in two workspaces, from 1985 to 2150, in range
-- partitions (months -5, 0, +2) and the default partition (1985, 2150)
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
SELECT w, t, 'u', d
FROM unnest('{ret-zero,ret-zero-other}'::text[]) w,
     unnest('{ret.misc.note,ret.misc.ping}'::text[]) t,
     unnest(ARRAY['1985-03-03 00:00+00', activity.partition_start(now()) - interval '5 months' + interval '20 days',
                  now(), now() + interval '2 months', '2150-07-01 00:00+00']::timestamptz[]) d;
-- batches: 6 rows in month -5, 6 in the default partition (1980)
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
SELECT 'ret-batch', 'ret.misc.note', 'u' || g,
       CASE WHEN g <= 6 THEN activity.partition_start(now()) - interval '5 months' + interval '2 days'
            ELSE timestamptz '1980-01-01 00:00+00' + make_interval(days => g) END
FROM generate_series(1, 12) g;
SELECT workspace_id, count(*) FROM activity.activities WHERE workspace_id LIKE 'ret-%' GROUP BY 1 ORDER BY 1;

-- change feed consumers: one of workspace ret-ta and one of ret-batch, from
-- the beginning (they have read nothing), and one from now (it has read
-- everything there is)
SELECT name, workspace_id FROM activity.create_consumer('ret-ta-feed', 'beginning', 'ret-ta');
SELECT name, workspace_id FROM activity.create_consumer('ret-batch-feed', 'beginning', 'ret-batch');
SELECT name, workspace_id FROM activity.create_consumer('ret-caught-up', 'now');

---------------------------------------------------------------------------
-- The hash chain, turned on before any rule: the first run chains the
-- whole log (and makes the partitions of months -2 and -3 for the rows
-- waiting for them)
---------------------------------------------------------------------------
SELECT hash_chain FROM activity.configure(hash_chain => true);
SELECT count(*) AS log_rows FROM activity.activities \gset
CREATE TEMP TABLE run_chain AS SELECT * FROM activity.maintain();
SELECT action, pg_temp.label(partition) AS partition, "rows" FROM run_chain
WHERE action = 'created' AND pg_temp.label(partition) IN ('month -2', 'month -3') ORDER BY 2;
SELECT "rows" = :log_rows AS chained_the_whole_log FROM run_chain WHERE action = 'chained';
SELECT count(*) AS steps_other_than_expected FROM run_chain
WHERE action NOT IN ('created', 'chained') OR (action = 'created' AND pg_temp.label(partition) NOT IN
      ('month -3', 'month -2', 'month -1', 'month 0', 'month 1', 'month 2', 'month 3'));
-- (the chain's activities, each with the reason of the 'removed' entry
-- retention appended for it, if any)
CREATE TEMP VIEW chain_events AS
SELECT h.workspace_id, h.id, r.reason AS removed
FROM activity.hash_chain h
LEFT JOIN (SELECT DISTINCT ON (u.id) u.id, m.reason
           FROM activity.hash_chain m CROSS JOIN LATERAL unnest(m.ids) u(id)
           WHERE m.kind = 'removed' ORDER BY u.id, m.seq) r ON r.id = h.id
WHERE h.kind = 'event';
SELECT count(*) = :log_rows AS chain_entries, count(*) FILTER (WHERE removed IS NOT NULL) AS removed
FROM pg_temp.chain_events;
SELECT count(*) AS problems FROM activity.verify();

---------------------------------------------------------------------------
-- A type rule: {ret.auth.*} keep 30 days, over rows of several months
---------------------------------------------------------------------------
SELECT keep, types, workspace_id FROM activity.add_retention('30 days', '{ret.auth.*}');
SELECT rule_id AS types_rule FROM activity.retention_rules WHERE types = '{ret.auth.*}' \gset
-- the preview counts what a hand-written query counts, and removes nothing
SELECT p.keep, p.types, p.workspace_id, p.estimated, p.partitions,
       abs(extract(epoch FROM p.cutoff - (now() - interval '30 days'))) < 1 AS cutoff_30_days_ago,
       p."rows" = h.n AS rows_as_counted, p."rows",
       p.oldest = h.oldest AS oldest_ok, p.newest = h.newest AS newest_ok
FROM activity.retention_preview() p,
     (SELECT count(*) AS n, min(occurred_at) AS oldest, max(occurred_at) AS newest FROM activity.activities
      WHERE type LIKE 'ret.auth.%' AND occurred_at < now() - interval '30 days') h
WHERE p.rule_id = :types_rule;
SELECT pg_temp.take_snap() > 0 AS snapped;
SELECT workspace_id, type, count(*) AS before FROM snap WHERE workspace_id LIKE 'ret-t%' GROUP BY 1, 2 ORDER BY 1, 2;
CREATE TEMP TABLE run_types AS SELECT * FROM activity.maintain();
SELECT * FROM pg_temp.steps('run_types');
SELECT * FROM pg_temp.removed($$s.type LIKE 'ret.auth.%' AND s.occurred_at < now() - interval '30 days'$$);
SELECT workspace_id, type, count(*) AS after FROM activity.activities WHERE workspace_id LIKE 'ret-t%' GROUP BY 1, 2 ORDER BY 1, 2;
SELECT sum("rows") = (SELECT count(*) FROM snap s WHERE NOT EXISTS (SELECT 1 FROM activity.activities a WHERE a.id = s.id))
       AS deleted_as_reported
FROM run_types WHERE action = 'deleted';
-- the run is recorded as it returned it
SELECT m.deleted = (SELECT sum("rows") FROM run_types WHERE action = 'deleted') AS recorded_deleted,
       m.dropped, m.deferred, m.error,
       m.steps = (SELECT jsonb_agg(to_jsonb(r)) FROM run_types r) AS recorded_steps
FROM activity.maintenance_runs m ORDER BY run_id DESC LIMIT 1;
-- the ids of the rows deleted are released
SELECT count(*) AS ids_left_of_deleted_rows FROM snap s JOIN activity.event_ids e ON e.id = s.id
WHERE NOT EXISTS (SELECT 1 FROM activity.activities a WHERE a.id = s.id);
-- nothing more to do for the rule
SELECT count(*) AS previewed_now FROM activity.retention_preview() WHERE rule_id = :types_rule AND "rows" > 0;
SELECT count(*) AS second_run_retention_steps FROM activity.maintain() WHERE action IN ('dropped', 'deleted', 'deferred');

-- the consumer that had not read them is told, and stopped until it accepts
-- the gap; the one that had read everything is not
SELECT name, gap_events, gap_events = (SELECT count(*) FROM snap s WHERE s.workspace_id = 'ret-ta'
                                       AND NOT EXISTS (SELECT 1 FROM activity.activities a WHERE a.id = s.id)) AS as_removed
FROM activity.consumers WHERE name LIKE 'ret-%' ORDER BY name;
SELECT regexp_replace(pg_temp.expect_error($$SELECT * FROM activity.changes('ret-ta-feed')$$), ' DETAIL: .*', '') AS refused;
SELECT activity.accept_gap('ret-ta-feed') = (SELECT count(*) FROM snap s WHERE s.workspace_id = 'ret-ta'
       AND NOT EXISTS (SELECT 1 FROM activity.activities a WHERE a.id = s.id)) AS accepted_as_many;
SELECT count(*) = (SELECT count(*) FROM activity.activities WHERE workspace_id = 'ret-ta') AS reads_what_is_left
FROM activity.changes('ret-ta-feed', 10000);
SELECT name, gap_events FROM activity.consumers WHERE name = 'ret-ta-feed';
SELECT activity.drop_consumer('ret-ta-feed');

-- later runs: a row written since with an old date (a backfill) goes, its
-- other-typed neighbour stays; a shorter keep (the same rule) takes the rows
-- it now expires, the newer ones stay
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at) VALUES
    ('ret-ta', 'ret.auth.login', 'backfill', activity.partition_start(now()) - interval '11 months' + interval '3 days'),
    ('ret-ta', 'ret.page.view', 'backfill', activity.partition_start(now()) - interval '11 months' + interval '3 days');
-- (the consumer from now reads them: it has read everything)
SELECT count(*) AS read_by_caught_up FROM activity.changes('ret-caught-up', 10000);
SELECT pg_temp.take_snap() > 0 AS snapped;
CREATE TEMP TABLE run_backfill AS SELECT * FROM activity.maintain();
SELECT * FROM pg_temp.steps('run_backfill');
SELECT * FROM pg_temp.removed($$s.type LIKE 'ret.auth.%' AND s.occurred_at < now() - interval '30 days'$$);
SELECT rule_id = :types_rule AS same_rule, keep FROM activity.add_retention('15 days', '{ret.auth.*}');
SELECT pg_temp.take_snap() > 0 AS snapped;
CREATE TEMP TABLE run_shorter AS SELECT * FROM activity.maintain();
SELECT action, count(*) AS steps, sum("rows") AS "rows" FROM run_shorter WHERE action IN ('deleted', 'deferred', 'dropped') GROUP BY 1;
SELECT * FROM pg_temp.removed($$s.type LIKE 'ret.auth.%' AND s.occurred_at < now() - interval '15 days'$$);
SELECT workspace_id, type, count(*) AS after FROM activity.activities WHERE workspace_id LIKE 'ret-t%' GROUP BY 1, 2 ORDER BY 1, 2;

-- the chain: the rows deleted are listed by a 'removed' entry (naming the
-- rule), the others not; verify() finds nothing wrong
SELECT count(*) FILTER (WHERE h.removed IS NOT NULL) AS marked_removed,
       count(*) FILTER (WHERE (a.id IS NULL) <> (h.removed IS NOT NULL)) AS marked_wrongly,
       bool_and(h.removed ~ '^deleted by retention rule \d+ at ') FILTER (WHERE h.removed IS NOT NULL) AS says_by_what
FROM pg_temp.chain_events h LEFT JOIN activity.activities a ON a.id = h.id
WHERE h.workspace_id LIKE 'ret-%';
SELECT count(*) AS problems FROM unnest(pg_temp.workspaces()) w, activity.verify(w);

---------------------------------------------------------------------------
-- A rule whose cutoff falls in the middle of a partition: month -5 of
-- workspace ret-half, cutoff on day 16 (keep computed from now())
---------------------------------------------------------------------------
SELECT now() - (activity.partition_start(now()) - interval '5 months' + interval '15 days') AS half_keep \gset
SELECT types, workspace_id FROM activity.add_retention(:'half_keep', workspace_id => 'ret-half');
SELECT rule_id AS half_rule FROM activity.retention_rules WHERE workspace_id = 'ret-half' \gset
SELECT p."rows", p."rows" = (SELECT count(*) FROM activity.activities WHERE workspace_id = 'ret-half'
                              AND occurred_at < now() - :'half_keep'::interval) AS rows_as_counted,
       p.cutoff >= activity.partition_start(now()) - interval '5 months' + interval '15 days' AS cutoff_on_day_16
FROM activity.retention_preview() p WHERE p.rule_id = :half_rule;
SELECT pg_temp.take_snap() > 0 AS snapped;
SELECT tableoid::regclass::text = pg_temp.part(-5) AS in_month_5, occurred_at < activity.partition_start(now())
       - interval '5 months' + interval '15 days' AS before_cutoff, count(*)
FROM activity.activities WHERE workspace_id = 'ret-half' GROUP BY 1, 2 ORDER BY 1, 2;
CREATE TEMP TABLE run_half AS SELECT * FROM activity.maintain();
SELECT * FROM pg_temp.steps('run_half');
SELECT * FROM pg_temp.removed($$s.workspace_id = 'ret-half'
                                AND s.occurred_at < activity.partition_start(now()) - interval '5 months' + interval '15 days'$$);
SELECT tableoid::regclass::text = pg_temp.part(-5) AS in_month_5, occurred_at < activity.partition_start(now())
       - interval '5 months' + interval '15 days' AS before_cutoff, count(*)
FROM activity.activities WHERE workspace_id = 'ret-half' GROUP BY 1, 2 ORDER BY 1, 2;
SELECT count(*) AS partition_kept FROM activity.partitions() WHERE partition::text = pg_temp.part(-5);

---------------------------------------------------------------------------
-- Whole partitions: month -7 holds only rows the rule expires, and is
-- dropped; month -8 holds one row of another type, and is kept
---------------------------------------------------------------------------
SELECT types, workspace_id FROM activity.add_retention('30 days', '{ret.misc.note}', 'ret-drop');
SELECT pg_temp.take_snap() > 0 AS snapped;
SELECT (SELECT array_agg(pg_temp.label(x) ORDER BY x) FROM unnest(p.partitions) x) AS partitions, p."rows"
FROM activity.retention_preview() p WHERE p.workspace_id = 'ret-drop';
SELECT pg_temp.label(tableoid::regclass::text) AS partition, type, count(*)
FROM activity.activities WHERE workspace_id = 'ret-drop' GROUP BY 1, 2 ORDER BY 1, 2;
CREATE TEMP TABLE run_drop AS SELECT * FROM activity.maintain();
SELECT * FROM pg_temp.steps('run_drop');
SELECT * FROM pg_temp.removed($$s.workspace_id = 'ret-drop' AND s.type = 'ret.misc.note'$$);
SELECT pg_temp.label(tableoid::regclass::text) AS partition, type, count(*)
FROM activity.activities WHERE workspace_id = 'ret-drop' GROUP BY 1, 2 ORDER BY 1, 2;
SELECT pg_temp.label(x) AS partition, EXISTS (SELECT 1 FROM activity.partitions() p WHERE p.partition::text = x) AS exists
FROM unnest(ARRAY[pg_temp.part(-8), pg_temp.part(-7), pg_temp.part(-5)]) x ORDER BY 1;
-- recorded: the drop among the run's steps
SELECT m.dropped, m.deleted, jsonb_path_query_array(m.steps, '$[*] ? (@.action == "dropped").partition') = to_jsonb(ARRAY[pg_temp.part(-7)]) AS dropped_step,
       (SELECT e ->> 'detail' FROM jsonb_array_elements(m.steps) e WHERE e ->> 'action' = 'dropped') AS detail
FROM activity.maintenance_runs m ORDER BY run_id DESC LIMIT 1;
-- change feed: the drop is logged for stateless positions
SELECT regexp_replace(what, 'p\d{8}', 'pYYYYMMDD') AS what, "rows" >= 1 AS has_rows
FROM activity.feed_removals WHERE removal > :removals_before AND what LIKE 'partition %' ORDER BY removal;
-- the ids of the dropped rows are released too (every id left has its row)
SELECT count(*) AS ids_left_of_removed_rows FROM snap s JOIN activity.event_ids e ON e.id = s.id
WHERE NOT EXISTS (SELECT 1 FROM activity.activities a WHERE a.id = s.id);
-- the chain: the dropped rows are listed by a 'removed' entry
SELECT count(*) FILTER (WHERE h.removed IS NOT NULL) AS marked_removed,
       count(*) FILTER (WHERE (a.id IS NULL) <> (h.removed IS NOT NULL)) AS marked_wrongly
FROM pg_temp.chain_events h LEFT JOIN activity.activities a ON a.id = h.id
WHERE h.workspace_id = 'ret-drop';
SELECT count(*) AS problems FROM unnest(pg_temp.workspaces()) w, activity.verify(w);

---------------------------------------------------------------------------
-- keep 0 with a workspace: every row of it goes, future-dated ones too;
-- the other workspace's identical rows stay
---------------------------------------------------------------------------
SELECT keep, workspace_id FROM activity.add_retention('0', workspace_id => 'ret-zero');
SELECT p.cutoff IS NULL AS no_cutoff, p."rows", p.oldest = '1985-03-03 00:00+00' AS oldest_1985, p.newest = '2150-07-01 00:00+00' AS newest_2150
FROM activity.retention_preview() p WHERE p.workspace_id = 'ret-zero';
SELECT pg_temp.take_snap() > 0 AS snapped;
CREATE TEMP TABLE run_zero AS SELECT * FROM activity.maintain();
SELECT * FROM pg_temp.steps('run_zero');
SELECT * FROM pg_temp.removed($$s.workspace_id = 'ret-zero'$$);
SELECT workspace_id, count(*), count(*) FILTER (WHERE occurred_at > now()) AS future
FROM activity.activities WHERE workspace_id LIKE 'ret-zero%' GROUP BY 1 ORDER BY 1;

---------------------------------------------------------------------------
-- Batches: at most activity.retention_max_rows rows a run; the rest is
-- deferred to the next run, which goes on
---------------------------------------------------------------------------
SELECT workspace_id FROM activity.add_retention('30 days', workspace_id => 'ret-batch');
SELECT pg_temp.take_snap() > 0 AS snapped;
SET activity.retention_max_rows = 5;
CREATE TEMP TABLE run_batch1 AS SELECT * FROM activity.maintain();
SELECT DISTINCT action, detail FROM pg_temp.steps('run_batch1') WHERE action = 'deferred';
SELECT (SELECT sum("rows") FROM run_batch1 WHERE action = 'deleted') AS deleted,
       EXISTS (SELECT 1 FROM run_batch1 WHERE action = 'deferred') AS deferred,
       (SELECT count(*) FROM activity.activities WHERE workspace_id = 'ret-batch') AS left;
SELECT deleted, deferred FROM activity.maintenance_runs ORDER BY run_id DESC LIMIT 1;
CREATE TEMP TABLE run_batch2 AS SELECT * FROM activity.maintain();
SELECT (SELECT sum("rows") FROM run_batch2 WHERE action = 'deleted') AS deleted,
       EXISTS (SELECT 1 FROM run_batch2 WHERE action = 'deferred') AS deferred,
       (SELECT count(*) FROM activity.activities WHERE workspace_id = 'ret-batch') AS left;
CREATE TEMP TABLE run_batch3 AS SELECT * FROM activity.maintain();
SELECT (SELECT sum("rows") FROM run_batch3 WHERE action = 'deleted') AS deleted,
       EXISTS (SELECT 1 FROM run_batch3 WHERE action = 'deferred') AS deferred,
       (SELECT count(*) FROM activity.activities WHERE workspace_id = 'ret-batch') AS left;
RESET activity.retention_max_rows;
SELECT * FROM pg_temp.removed($$s.workspace_id = 'ret-batch'$$);
-- its consumer is told of each row once: 12, however many runs it took
SELECT name, gap_events FROM activity.consumers WHERE name = 'ret-batch-feed';
SELECT activity.drop_consumer('ret-batch-feed');
-- the consumer that had read everything was never told of a gap
SELECT name, gap_events FROM activity.consumers WHERE name = 'ret-caught-up';
SELECT activity.drop_consumer('ret-caught-up');

---------------------------------------------------------------------------
-- The whole log's retention in the preview: a row with rule_id NULL, whole
-- partitions estimated, the default partition's rows counted
---------------------------------------------------------------------------
ANALYZE activity.activities;
SELECT retention FROM activity.configure(retention => '6 months');
SELECT p.keep, p.types, p.workspace_id,
       abs(extract(epoch FROM p.cutoff - (now() - interval '6 months'))) < 1 AS cutoff_6_months_ago,
       p.partitions = (SELECT array_agg(x.partition::text ORDER BY x.lower) FROM activity.partitions() x
                       WHERE NOT x.is_default AND x.upper <= now() - interval '6 months') AS partitions_as_listed,
       pg_temp.part(-8) = ANY (p.partitions) AS month_8_listed,
       p.estimated,
       p."rows" = (SELECT sum(c.reltuples)::bigint FROM activity.partitions() x JOIN pg_class c ON c.oid = x.partition
                   WHERE NOT x.is_default AND x.upper <= now() - interval '6 months')
                + (SELECT count(*) FROM activity_partitions.activities_default WHERE occurred_at < now() - interval '6 months')
         AS rows_as_counted
FROM activity.retention_preview() p WHERE p.rule_id IS NULL;
SELECT count(*) FILTER (WHERE rule_id IS NULL) AS whole_log_rows, count(*) FILTER (WHERE rule_id IS NOT NULL) AS rule_rows
FROM activity.retention_preview();
SELECT retention FROM activity.configure(keep_forever => true);
SELECT count(*) AS whole_log_row_gone FROM activity.retention_preview() WHERE rule_id IS NULL;

---------------------------------------------------------------------------
-- The chain after all of it, then off
---------------------------------------------------------------------------
SELECT count(*) FILTER (WHERE h.removed IS NOT NULL AND h.workspace_id LIKE 'ret-%') AS marked_removed,
       count(*) FILTER (WHERE h.removed IS NOT NULL AND h.workspace_id NOT LIKE 'ret-%') AS others_marked_removed,
       count(*) FILTER (WHERE (a.id IS NULL) <> (h.removed IS NOT NULL)) AS marked_wrongly
FROM pg_temp.chain_events h LEFT JOIN activity.activities a ON a.id = h.id;
SELECT count(*) AS problems FROM activity.verify();
SELECT hash_chain FROM activity.configure(hash_chain => false);

---------------------------------------------------------------------------
-- Clean up: the rules go; the rows left go by keep 0 rules (the partitions
-- of the past that only this test's rows filled are dropped with them)
---------------------------------------------------------------------------
SELECT count(*) AS rules_removed FROM activity.retention_rules r, activity.remove_retention(r.rule_id) x WHERE x;
SELECT count(*) AS zero_rules FROM unnest('{ret-ta,ret-tb,ret-half,ret-drop,ret-zero-other,ret-batch}'::text[]) w,
       activity.add_retention('0', workspace_id => w);
SELECT pg_temp.take_snap() > 0 AS snapped;
SELECT count(*) FILTER (WHERE action = 'failed') AS failed FROM activity.maintain();
SELECT * FROM pg_temp.removed($$s.workspace_id LIKE 'ret-%'$$);
SELECT count(*) AS rules_removed FROM activity.retention_rules r, activity.remove_retention(r.rule_id) x WHERE x;
SELECT count(*) AS past_partitions_of_this_test FROM activity.partitions()
WHERE partition::text IN (pg_temp.part(-8), pg_temp.part(-7), pg_temp.part(-5), pg_temp.part(-3), pg_temp.part(-2));
-- the chain, and what the feed was told (change_feed, run later, reads it)
DELETE FROM activity.hash_chain;
DELETE FROM activity.hash_chain_state;
DELETE FROM activity.hash_chain_key;
DELETE FROM activity.feed_removals WHERE removal > :removals_before;
SELECT count(*) AS rows_left FROM activity.activities WHERE workspace_id LIKE 'ret-%';
SELECT count(*) AS rules_left FROM activity.retention_rules;
SELECT count(*) AS consumers_left FROM activity.consumers WHERE name LIKE 'ret-%';
SELECT hash_chain, retention FROM activity.settings;
