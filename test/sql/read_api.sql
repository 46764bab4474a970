-- The read side beyond page(): the activity_log view with universal types,
-- and seed 002's offset-paged workspace_activity() / issue_activity() with
-- its field names and argument rules.
SET TIME ZONE 'UTC';
SET datestyle = 'ISO, YMD';
\i test/sql/include/expect_error.sql

SELECT name FROM activity.register_type('ra.issue.created') \g /dev/null
SELECT name FROM activity.register_type('ra.issue.updated', actor_types => '{user,agent}') \g /dev/null
SELECT name FROM activity.register_universal_type('USER_JOIN') \g /dev/null
SELECT name FROM activity.register_type('ra.discord.join', universal_type => 'USER_JOIN', platforms => '{discord}') \g /dev/null
SELECT name FROM activity.register_type('ra.slack.join', universal_type => 'USER_JOIN', platforms => '{slack}') \g /dev/null

INSERT INTO activity.activities (id, workspace_id, type, actor_type, initiator_id, subject_type, subject_id, platform, metadata, occurred_at) VALUES
    ('01890000-0000-7000-8000-00000000aa01', 'ra-ws', 'ra.issue.created', 'user',  'u1', 'issue', 'ISS-1', NULL, '{"title": "Crash", "identifier": "ISS-1"}', '2034-01-01 10:00'),
    ('01890000-0000-7000-8000-00000000aa02', 'ra-ws', 'ra.issue.updated', 'agent', 'bot', 'issue', 'ISS-1', NULL, '{"status": "done"}', '2034-01-01 11:00'),
    ('01890000-0000-7000-8000-00000000aa03', 'ra-ws', 'ra.issue.created', 'user',  'u2', 'issue', 'ISS-2', NULL, '{"title": "Typo", "identifier": "ISS-2"}', '2034-01-01 12:00'),
    ('01890000-0000-7000-8000-00000000aa04', 'ra-ws', 'ra.discord.join', 'user',  'u3', NULL, NULL, 'discord', '{}', '2034-01-01 13:00'),
    ('01890000-0000-7000-8000-00000000aa05', 'ra-ws', 'ra.slack.join',   'user',  'u4', NULL, NULL, 'slack', '{}', '2034-01-01 13:00'),
    ('01890000-0000-7000-8000-00000000aa06', 'ra-ws', 'ra.issue.updated', 'user',  'u1', 'issue', 'ISS-1', NULL, '{"title": "Crash on save"}', '1990-01-01 00:00'),
    ('01890000-0000-7000-8000-00000000aa07', 'ra-other', 'ra.issue.created', 'user', 'u9', 'issue', 'ISS-1', NULL, '{}', '2034-01-01 10:30');

-- the view: readable columns, the universal type of each row
SELECT occurred_at, workspace_id, type, universal_type, actor_type, initiator_id, subject_type, subject_id, platform
FROM activity.activity_log WHERE workspace_id = 'ra-ws' ORDER BY occurred_at, id;
-- BI: joins by universal type across platforms
SELECT universal_type, count(*) FROM activity.activity_log
WHERE workspace_id = 'ra-ws' AND universal_type IS NOT NULL GROUP BY universal_type;
SELECT activity.universal_type('ra.slack.join') AS mapped, activity.universal_type('ra.issue.created') AS unmapped,
       activity.universal_type('ra.no.such.type') AS unknown, activity.universal_type(NULL) AS null_type;
-- a type registered (or re-registered) later is seen by the view at once
SELECT name FROM activity.register_universal_type('ISSUE_CREATE') \g /dev/null
SELECT name FROM activity.register_type('ra.issue.created', universal_type => 'ISSUE_CREATE') \g /dev/null
SELECT DISTINCT type, universal_type FROM activity.activity_log WHERE type = 'ra.issue.created';

-- seed 002: the workspace's activity, newest first, its field names
SELECT * FROM activity.workspace_activity('ra-ws');
SELECT id, action, created_at FROM activity.workspace_activity('ra-ws', "limit" => 2);
SELECT id, action, created_at FROM activity.workspace_activity('ra-ws', "limit" => 2, "offset" => 2);
SELECT count(*) AS past_the_end FROM activity.workspace_activity('ra-ws', "offset" => 100);
SELECT count(*) AS unknown_workspace FROM activity.workspace_activity('ra-none');
-- an issue's activity: only that issue of that workspace
SELECT * FROM activity.issue_activity('ra-ws', 'ISS-1');
SELECT id, action FROM activity.issue_activity('ra-ws', 'ISS-1', 1, 1);
-- offset paging and keyset paging return the same feed
SELECT array_agg(w.id ORDER BY w.ord) = array_agg(p.id ORDER BY p.ord) AS same_order
FROM (SELECT id, row_number() OVER () AS ord FROM activity.workspace_activity('ra-ws', 200)) w
JOIN (SELECT id, row_number() OVER () AS ord FROM activity.page('ra-ws', NULL, 200)) p USING (ord);

-- argument errors
SELECT label, pg_temp.expect_error(sql) AS error
FROM (VALUES
    ('limit 0',            $$SELECT * FROM activity.workspace_activity('ra-ws', 0)$$),
    ('limit 201',          $$SELECT * FROM activity.workspace_activity('ra-ws', 201)$$),
    ('limit null',         $$SELECT * FROM activity.workspace_activity('ra-ws', NULL)$$),
    ('offset negative',    $$SELECT * FROM activity.workspace_activity('ra-ws', 10, -1)$$),
    ('offset null',        $$SELECT * FROM activity.workspace_activity('ra-ws', 10, NULL)$$),
    ('workspace null',     $$SELECT * FROM activity.workspace_activity(NULL)$$),
    ('issue: workspace null', $$SELECT * FROM activity.issue_activity(NULL, 'ISS-1')$$),
    ('issue: issue null',  $$SELECT * FROM activity.issue_activity('ra-ws', NULL)$$),
    ('issue: limit 500',   $$SELECT * FROM activity.issue_activity('ra-ws', 'ISS-1', 500)$$),
    ('issue: offset -5',   $$SELECT * FROM activity.issue_activity('ra-ws', 'ISS-1', 50, -5)$$)
) AS t(label, sql);

-- seed 002's actors are users and agents: a system activity (no actor_id)
-- is not listed; actor_type filters one of them
SELECT name FROM activity.register_type('ra.issue.archived', subject_type => 'issue') \g /dev/null
INSERT INTO activity.activities (id, workspace_id, type, actor_type, initiator_id, subject_type, subject_id, occurred_at) VALUES
    ('01890000-0000-7000-8000-00000000aa08', 'ra-ws', 'ra.issue.archived', 'system', NULL, 'issue', 'ISS-1', '2034-01-01 14:00');
SELECT id, actor_type, actor_id, action FROM activity.workspace_activity('ra-ws');
SELECT count(*) AS system_rows_in_the_log FROM activity.activities WHERE workspace_id = 'ra-ws' AND actor_type = 'system';
SELECT id, actor_type, action FROM activity.workspace_activity('ra-ws', actor_type => 'agent');
SELECT id, actor_type, action FROM activity.workspace_activity('ra-ws', 10, 1, 'user');
SELECT id, actor_type, action FROM activity.issue_activity('ra-ws', 'ISS-1', actor_type => 'user');
SELECT id, actor_type, action FROM activity.issue_activity('ra-ws', 'ISS-1', actor_type => 'agent');
SELECT count(*) AS issue_rows_all_actors FROM activity.issue_activity('ra-ws', 'ISS-1');
SELECT label, pg_temp.expect_error(sql) AS error
FROM (VALUES
    ('actor system',       $$SELECT * FROM activity.workspace_activity('ra-ws', actor_type => 'system')$$),
    ('actor empty',        $$SELECT * FROM activity.workspace_activity('ra-ws', actor_type => '')$$),
    ('issue: actor User',  $$SELECT * FROM activity.issue_activity('ra-ws', 'ISS-1', actor_type => 'User')$$),
    -- checked before anything is read, even for a workspace without rows
    ('empty ws, bad actor', $$SELECT * FROM activity.workspace_activity('ra-none', actor_type => 'bot')$$)
) AS t(label, sql);

-- a type about issues cannot be recorded about anything else, so an
-- issue's feed cannot miss one of its activities
SELECT label, pg_temp.expect_error(sql) AS error
FROM (VALUES
    ('no subject',      $$SELECT activity.record('ra-ws', 'ra.issue.archived', 'u1')$$),
    ('subject Issue',   $$SELECT activity.record('ra-ws', 'ra.issue.archived', 'u1', subject_type => 'Issue', subject_id => 'ISS-1')$$),
    ('subject project', $$INSERT INTO activity.activities (workspace_id, type, actor_type, initiator_id, subject_type, subject_id)
                          VALUES ('ra-ws', 'ra.issue.archived', 'user', 'u1', 'project', 'P-1')$$),
    ('COPY, no subject', $$COPY activity.activities (workspace_id, type, actor_type, initiator_id) FROM PROGRAM 'printf "ra-ws\tra.issue.archived\tuser\tu1\n"'$$)
) AS t(label, sql);
SELECT count(*) AS archived_rows FROM activity.activities WHERE type = 'ra.issue.archived';
SELECT activity.record('ra-ws', 'ra.issue.archived', 'u1', subject_type => 'issue', subject_id => 'ISS-2',
                       occurred_at => '2034-01-01 15:00') IS NOT NULL AS recorded;
SELECT action, issue_id FROM activity.issue_activity('ra-ws', 'ISS-2');
-- the rule is removed with ''; then any subject (or none) is accepted again
SELECT subject_type IS NULL AS removed FROM activity.register_type('ra.issue.archived', subject_type => '');
SELECT activity.record('ra-ws', 'ra.issue.archived', 'u1', occurred_at => '2034-01-01 16:00') IS NOT NULL AS recorded_without_subject;

-- counts(): per bucket and type, since inclusive, until exclusive
INSERT INTO activity.activities (workspace_id, type, actor_type, initiator_id, platform, occurred_at)
SELECT 'ra-count', t, 'user', 'u', p, ts::timestamptz
FROM (VALUES ('ra.discord.join', 'discord', '2034-02-01 00:00'), ('ra.discord.join', 'discord', '2034-02-01 23:59:59'),
             ('ra.slack.join', 'slack', '2034-02-01 12:00'), ('ra.issue.created', NULL, '2034-02-02 00:00'),
             ('ra.slack.join', 'slack', '2034-02-03 00:00'), ('ra.slack.join', 'slack', '2034-01-31 23:59:59')) v(t, p, ts);
SELECT * FROM activity.counts('ra-count', '2034-02-01', '2034-02-03');
SELECT * FROM activity.counts('ra-count', '2034-02-01', '2034-02-03', "by" => 'universal_type');
SELECT * FROM activity.counts('ra-count', '2034-02-01', '2034-02-03', bucket => '12 hours');
SELECT * FROM activity.counts('ra-count', '2034-01-01', '2035-01-01', bucket => '1 month');
SELECT sum(n) AS all_workspaces_feb_1 FROM activity.counts(NULL, '2034-02-01', '2034-02-02')
WHERE key LIKE 'ra.%';
SELECT count(*) AS empty_window FROM activity.counts('ra-count', '2034-02-01', '2034-02-01');
SELECT label, pg_temp.expect_error(sql) AS error
FROM (VALUES
    ('since null',       $$SELECT * FROM activity.counts('ra-count', NULL, '2034-02-03')$$),
    ('until null',       $$SELECT * FROM activity.counts('ra-count', '2034-02-01', NULL)$$),
    ('bucket null',      $$SELECT * FROM activity.counts('ra-count', '2034-02-01', '2034-02-03', NULL)$$),
    ('bucket zero',      $$SELECT * FROM activity.counts('ra-count', '2034-02-01', '2034-02-03', '0 seconds')$$),
    ('bucket negative',  $$SELECT * FROM activity.counts('ra-count', '2034-02-01', '2034-02-03', '-1 day')$$),
    ('bucket 2 months',  $$SELECT * FROM activity.counts('ra-count', '2034-02-01', '2034-02-03', '2 months')$$),
    ('by metadata',      $$SELECT * FROM activity.counts('ra-count', '2034-02-01', '2034-02-03', "by" => 'metadata')$$),
    ('by null',          $$SELECT * FROM activity.counts('ra-count', '2034-02-01', '2034-02-03', "by" => NULL)$$)
) AS t(label, sql);
