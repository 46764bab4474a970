-- Tenant isolation with row-level security on activity.activities: every
-- read path (page() and page_plans(), workspace_activity(),
-- issue_activity(), counts(), the activity_log view, the change feed)
-- honours the policies of the caller; writes are held to the policies'
-- WITH CHECK; nothing of another tenant leaks through a cursor or an error.
-- Two ways to key a tenant: a session setting (one application role for
-- every tenant) and a role per tenant.
SET TIME ZONE 'UTC';
SET datestyle = 'ISO, YMD';
\i test/sql/include/expect_error.sql

SELECT name FROM activity.register_type('ti.note', subject_type => 'doc') \g /dev/null
SELECT name FROM activity.register_type('ti.login', actor_types => '{user,system}') \g /dev/null
-- three months of partitions and the default one (1990, 2090)
SELECT count(*) > 0 AS partitions FROM activity.create_partitions('2033-01-01', '2033-04-01');
INSERT INTO activity.activities (id, workspace_id, type, actor_type, initiator_id, subject_type, subject_id, occurred_at)
SELECT ('01890000-0000-7000-9a00-' || lpad(to_hex(g), 12, '0'))::uuid,
       CASE WHEN g % 2 = 0 THEN 'ti-a' ELSE 'ti-b' END, 'ti.note', CASE WHEN g % 5 = 0 THEN 'agent' ELSE 'user' END,
       'u' || g % 7, 'doc', 'D' || g % 3, timestamptz '2033-01-01' + g * interval '7 hours'
FROM generate_series(1, 300) g;
INSERT INTO activity.activities (id, workspace_id, type, actor_type, initiator_id, occurred_at) VALUES
    ('01890000-0000-7000-9a00-00000000f001', 'ti-a', 'ti.login', 'user', 'u1', '1990-06-01'),
    ('01890000-0000-7000-9a00-00000000f002', 'ti-b', 'ti.login', 'user', 'u2', '1990-06-02'),
    ('01890000-0000-7000-9a00-00000000f003', 'ti-a', 'ti.login', 'system', NULL, '2090-01-01'),
    ('01890000-0000-7000-9a00-00000000f004', 'ti-b', 'ti.login', 'user', 'u3', '2090-01-02');
SELECT workspace_id, count(*) FROM activity.activities WHERE workspace_id LIKE 'ti-%' GROUP BY 1 ORDER BY 1;

-- one application role for every tenant, keyed by a setting; a role per
-- tenant, keyed by the role's name (ti_tenant_a reads ti-a)
CREATE ROLE ti_app;
CREATE ROLE ti_tenant_a;
GRANT USAGE ON SCHEMA activity TO ti_app, ti_tenant_a;
GRANT SELECT, INSERT ON activity.activities TO ti_app, ti_tenant_a;
GRANT SELECT ON activity.activity_log TO ti_app, ti_tenant_a;
ALTER TABLE activity.activities ENABLE ROW LEVEL SECURITY;
CREATE POLICY ti_by_setting ON activity.activities TO ti_app
    USING (workspace_id = current_setting('ti.workspace', true))
    WITH CHECK (workspace_id = current_setting('ti.workspace', true));
CREATE POLICY ti_by_role ON activity.activities TO ti_tenant_a
    USING (workspace_id = 'ti-' || substr(current_user, 11));

-- the extension keeps the log's row-level security as statements, which a
-- restore runs again (pg_dump does not dump it: the table is the extension's)
SELECT object, statement FROM activity.row_security ORDER BY run_order, object;
-- restore_row_security(): nothing to do, all of it is in effect
SELECT * FROM activity.restore_row_security();

-- what each tenant may see, as the table's owner reads it
CREATE TEMP TABLE expected AS
SELECT workspace_id, id, occurred_at FROM activity.activities WHERE workspace_id LIKE 'ti-%';
GRANT SELECT ON expected TO PUBLIC;

SET ROLE ti_app;
SET ti.workspace = 'ti-a';
-- page(): the tenant's own feed, whole, in order, through every partition
-- and the default one; another tenant's feed is empty, not an error
WITH RECURSIVE walk AS (
    SELECT 1 AS n, p.id, p.occurred_at, p.cursor, p.has_more
    FROM activity.page('ti-a', "limit" => 7) p
    UNION ALL
    SELECT w.n + 1, p.id, p.occurred_at, p.cursor, p.has_more
    FROM (SELECT DISTINCT ON (n) n, cursor, has_more FROM walk ORDER BY n DESC, occurred_at, id) w,
         LATERAL activity.page('ti-a', w.cursor, 7) p
    WHERE w.has_more
)
SELECT count(*) AS walked, count(DISTINCT id) AS distinct_ids,
       count(*) = (SELECT count(*) FROM expected WHERE workspace_id = 'ti-a') AS all_of_them,
       min(occurred_at) AS oldest, max(occurred_at) AS newest
FROM walk;
SELECT count(*) AS other_tenant FROM activity.page('ti-b', "limit" => 200);
SELECT count(*) AS all_workspaces_listing, count(*) FILTER (WHERE workspace_id <> 'ti-a') AS of_others
FROM activity.page(NULL, "limit" => 200, types => '{ti.note,ti.login}');
-- the same rows as a plain query under the policy, for each filter shape
SELECT (SELECT array_agg(id ORDER BY occurred_at DESC, id DESC) FROM activity.page('ti-a', "limit" => 200, subject_type => 'doc', subject_id => 'D1'))
     = (SELECT array_agg(id ORDER BY occurred_at DESC, id DESC) FROM activity.activities WHERE subject_id = 'D1') AS subject_feed_matches,
       (SELECT array_agg(id ORDER BY occurred_at, id) FROM activity.page('ti-a', "limit" => 200, initiator_id => 'u3', direction => 'asc'))
     = (SELECT array_agg(id ORDER BY occurred_at, id) FROM activity.activities WHERE initiator_id = 'u3') AS initiator_asc_matches,
       (SELECT count(*) FROM activity.page('ti-a', "limit" => 200, actor_types => '{agent}', since => '2033-02-01', until => '2033-03-01'))
     = (SELECT count(*) FROM activity.activities WHERE actor_type = 'agent' AND occurred_at >= '2033-02-01' AND occurred_at < '2033-03-01') AS window_matches;
-- page_plans(): the plans page() runs under the policy: through the log,
-- one partition each (a partition's index; which one depends on its
-- statistics: here its few rows fit in one page)
SELECT partition, plan ~ ('Index Scan using ' || split_part(partition::text, '.', 2) || '_(feed|time)_idx') AS by_its_index,
       plan ~ 'current_setting' AS policy, plan !~ 'Append' AS one_partition
FROM activity.page_plans('ti-a', "limit" => 7, since => '2033-01-01', until => '2033-04-01');
-- a cursor of another tenant's feed does not open it
SET ti.workspace = 'ti-b';
SELECT cursor AS b_cursor FROM activity.page('ti-b', "limit" => 1) \gset
SET ti.workspace = 'ti-a';
SELECT pg_temp.expect_error(format('SELECT * FROM activity.page(%L, %L)', 'ti-b', :'b_cursor')) AS b_cursor_under_a;
SELECT pg_temp.expect_error(format('SELECT * FROM activity.page(%L, %L)', 'ti-a', :'b_cursor')) AS b_cursor_on_a_feed;
SELECT count(*) AS b_cursor_pages_nothing FROM activity.page('ti-b', :'b_cursor', 200);

-- seed 002's functions, counts() and the view: the tenant's rows only
SELECT count(*) AS workspace_activity_a FROM activity.workspace_activity('ti-a', 200);
SELECT count(*) AS workspace_activity_b FROM activity.workspace_activity('ti-b', 200);
SELECT count(*) AS issue_like_b FROM activity.issue_activity('ti-b', 'D1', 200);
SELECT sum(n) AS counted_a FROM activity.counts('ti-a', '1900-01-01', '2100-01-01', '1 month');
SELECT sum(n) AS counted_all_workspaces FROM activity.counts(NULL, '1900-01-01', '2100-01-01', '1 month') WHERE key LIKE 'ti.%';
-- (counts by type read the indexes only where no policy applies: here the
-- SQL counts, under the policy)
SELECT count(*) AS counted_b FROM activity.counts('ti-b', '1900-01-01', '2100-01-01', '1 month');
SELECT count(*) AS bursts_b FROM activity.bursts('ti-b', '2033-01-01', '2033-04-01', min_count => 1, min_score => -1000);
SELECT count(*) > 0 AS bursts_a_scored FROM activity.bursts('ti-a', '2033-01-01', '2033-04-01', min_count => 1, min_score => -1000);
-- member timelines and metadata search: the tenant's rows only
SELECT count(*) = (SELECT count(*) FROM expected e JOIN activity.activities a USING (id)
                   WHERE e.workspace_id = 'ti-a' AND a.initiator_id = 'u3') AS member_a_own_rows
FROM activity.page('ti-a', member_id => 'u3', "limit" => 200);
SELECT count(*) AS member_b FROM activity.page('ti-b', member_id => 'u3', "limit" => 200);
SELECT count(*) AS metadata_b FROM activity.page('ti-b', metadata => '{}', "limit" => 200);
SELECT count(*) = (SELECT count(*) FROM expected WHERE workspace_id = 'ti-a') AS view_is_own_rows,
       count(*) FILTER (WHERE workspace_id <> 'ti-a') AS view_of_others
FROM activity.activity_log WHERE workspace_id LIKE 'ti-%';

-- writes: WITH CHECK holds record() and INSERT to the tenant's (PostgreSQL
-- refuses COPY FROM under row-level security); nothing is written by a
-- refused one
SELECT activity.record('ti-a', 'ti.login', 'u9', occurred_at => '2033-02-02') IS NOT NULL AS recorded_own;
SELECT label, pg_temp.expect_error(sql) AS error
FROM (VALUES
    ('record()', $$SELECT activity.record('ti-b', 'ti.login', 'u9', occurred_at => '2033-02-02')$$),
    ('INSERT',   $$INSERT INTO activity.activities (workspace_id, type, actor_type, initiator_id) VALUES ('ti-b', 'ti.login', 'user', 'u9')$$),
    -- a retry naming another tenant's activity: refused without saying whose
    ('retry of b''s id', $$SELECT activity.record('ti-a', 'ti.login', 'u9', id => '01890000-0000-7000-9a00-00000000f002')$$),
    -- a cause in another tenant's workspace: as if it did not exist
    ('caused_by b', $$SELECT activity.record('ti-a', 'ti.login', 'u9', caused_by => '01890000-0000-7000-9a00-00000000f002')$$),
    ('caused_by none', $$SELECT activity.record('ti-a', 'ti.login', 'u9', caused_by => '01890000-0000-7000-9a00-00000000ffff')$$)
) AS t(label, sql);
-- row_security = off: PostgreSQL's own refusal, not a bypass
SET row_security = off;
SELECT pg_temp.expect_error($$SELECT * FROM activity.page('ti-a')$$) AS page_with_row_security_off;
RESET row_security;

-- a role per tenant
RESET ROLE;
SET ROLE ti_tenant_a;
SELECT count(*) AS role_sees, count(*) FILTER (WHERE workspace_id <> 'ti-a') AS role_sees_others
FROM activity.page(NULL, "limit" => 200, types => '{ti.note,ti.login}');
SELECT count(*) AS role_reads_b FROM activity.page('ti-b', "limit" => 200);
-- the plans cached for ti_app are not reused for another role
SELECT count(*) AS role_pages_a FROM activity.page('ti-a', "limit" => 200);
RESET ROLE;

-- the change feed: a tenant's consumer reads the tenant's events only
SELECT name FROM activity.create_consumer('ti-feed', start => 'beginning');
GRANT SELECT, UPDATE ON activity.feed_consumers TO ti_app;
GRANT SELECT ON activity.feed_removals, activity.feed_batches TO ti_app;
SET ROLE ti_app;
SET ti.workspace = 'ti-b';
SELECT count(*) AS changes_b, count(*) FILTER (WHERE workspace_id <> 'ti-b') AS changes_of_others
FROM activity.changes('ti-feed', 100000);
SELECT count(*) AS changes_since_b, count(*) FILTER (WHERE (event).workspace_id <> 'ti-b') AS changes_since_of_others
FROM activity.changes_since(activity.feed_position('beginning'), 100000) WHERE position IS NULL;
RESET ROLE;

-- as the owner (exempt from the policies): everything, and nothing was
-- written by the refused writes
SELECT workspace_id, count(*) FROM activity.activities WHERE workspace_id LIKE 'ti-%' GROUP BY 1 ORDER BY 1;

-- the event triggers keeping activity.row_security in step fire for every
-- ALTER TABLE and policy command of every role: one that cannot look in
-- schema activity still runs its own
CREATE ROLE ti_other;
CREATE SCHEMA ti_other AUTHORIZATION ti_other;
SET ROLE ti_other;
CREATE TABLE ti_other.t (a int);
ALTER TABLE ti_other.t ADD COLUMN b int;
ALTER TABLE ti_other.t ENABLE ROW LEVEL SECURITY;
CREATE POLICY p ON ti_other.t USING (true);
ALTER POLICY p ON ti_other.t USING (a > 0);
DROP POLICY p ON ti_other.t;
SELECT pg_temp.expect_error('SELECT count(*) FROM activity.row_security') AS row_security_is_not_theirs;
RESET ROLE;
DROP SCHEMA ti_other CASCADE;
DROP ROLE ti_other;

SELECT activity.drop_consumer('ti-feed');
DROP POLICY ti_by_setting ON activity.activities;
DROP POLICY ti_by_role ON activity.activities;
ALTER TABLE activity.activities DISABLE ROW LEVEL SECURITY;
SELECT count(*) AS row_security_statements_left FROM activity.row_security;
REVOKE ALL ON activity.feed_consumers, activity.feed_removals, activity.feed_batches, activity.activities, activity.activity_log FROM ti_app, ti_tenant_a;
REVOKE USAGE ON SCHEMA activity FROM ti_app, ti_tenant_a;
DROP ROLE ti_app;
DROP ROLE ti_tenant_a;
