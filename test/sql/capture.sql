-- Capture (activity.track()): an application table's inserts, updates and
-- deletes become activities in the same transaction, with the fields the
-- type's schema names, exactly the changed fields (old and new values), the
-- workspace, subject and actor; validated like any activity, and a refused
-- one fails the application's statement.
SET TIME ZONE 'UTC';
SET datestyle = 'ISO, YMD';
\i test/sql/include/expect_error.sql

SELECT name FROM activity.register_type('cap_issue.created', subject_type => 'cap_issue', actor_types => '{user,agent}') \g /dev/null
SELECT name FROM activity.register_type('cap_issue.updated', subject_type => 'cap_issue', actor_types => '{user,agent}') \g /dev/null
SELECT name FROM activity.register_type('cap_issue.deleted', subject_type => 'cap_issue') \g /dev/null
SELECT activity.register_schema('cap_issue.created', '{"type": "object",
    "properties": {"title": {"type": "string", "maxLength": 20}, "identifier": {"type": "string", "pattern": "^[A-Z]+-[0-9]+$"}},
    "required": ["title", "identifier"]}');
SELECT activity.register_schema('cap_issue.updated', '{"type": "object",
    "properties": {"changes": {"type": "object", "minProperties": 1}}, "required": ["changes"]}');

CREATE SCHEMA cap;
CREATE TABLE cap.issues (
    id text PRIMARY KEY, ws text, identifier text, title text,
    status text NOT NULL DEFAULT 'open', estimate int, labels text[], secret text);
SELECT activity.track('cap.issues', 'cap_issue', workspace_column => 'ws');
SELECT * FROM activity.tracked;

-- inserts: one activity per row, with the fields of the created type's schema
SET activity.actor_id = 'u1';
INSERT INTO cap.issues (id, ws, identifier, title, estimate, secret) VALUES
    ('I1', 'cap-w', 'ENG-1', 'Crash', 3, 's3cret'), ('I2', 'cap-w', 'ENG-2', 'Typo', NULL, NULL),
    ('I3', 'cap-v', 'OPS-1', 'Disk', 1, NULL);
-- updates: exactly the columns that changed, old and new; none when nothing did
UPDATE cap.issues SET status = 'done', estimate = 5 WHERE id = 'I1';
UPDATE cap.issues SET status = status, title = title;
UPDATE cap.issues SET labels = '{bug}' WHERE ws = 'cap-w';
-- an agent, then deletes (a type without schema: the row's tracked columns)
SET activity.actor_type = 'agent';
SET activity.actor_id = 'triage-bot';
UPDATE cap.issues SET estimate = NULL WHERE id = 'I1';
DELETE FROM cap.issues WHERE id = 'I3';
SELECT workspace_id, type, actor_type, initiator_id, subject_type, subject_id, metadata
FROM activity.activities WHERE type LIKE 'cap\_issue.%' ORDER BY occurred_at, id;
-- in the application's transaction: a rollback takes the activities with it
BEGIN;
UPDATE cap.issues SET title = 'Crash!' WHERE id = 'I1';
SELECT count(*) AS inside FROM activity.activities WHERE type = 'cap_issue.updated' AND metadata @> '{"changes": {"title": {}}}';
ROLLBACK;
SELECT count(*) AS after_rollback FROM activity.activities WHERE type = 'cap_issue.updated' AND metadata @> '{"changes": {"title": {}}}';

-- a capture the log refuses fails the application's statement, whole
RESET activity.actor_type;
SET activity.actor_id = 'u1';
SELECT label, pg_temp.expect_error(sql) AS error
FROM (VALUES
    ('bad identifier',  $$INSERT INTO cap.issues (id, ws, identifier, title) VALUES ('I4', 'cap-w', 'ENG-4', 'ok'), ('I5', 'cap-w', 'eng 5', 'bad')$$),
    ('title too long',  $$INSERT INTO cap.issues (id, ws, identifier, title) VALUES ('I6', 'cap-w', 'ENG-6', repeat('x', 21))$$),
    ('no workspace',    $$UPDATE cap.issues SET ws = NULL WHERE id = 'I1'$$),
    ('system may not',  $$UPDATE cap.issues SET title = 'x' WHERE id = 'I2'$$)
) AS t(label, sql)
WHERE label <> 'system may not' OR set_config('activity.actor_id', '', false) = '';
SELECT id, ws FROM cap.issues ORDER BY id;
SELECT count(*) AS cap_activities FROM activity.activities WHERE type LIKE 'cap\_issue.%';
SET activity.actor_id = 'u1';

-- a row moved to another workspace: recorded in the new one
UPDATE cap.issues SET ws = 'cap-v' WHERE id = 'I2';
SELECT workspace_id, type, metadata FROM activity.activities WHERE type = 'cap_issue.updated' AND subject_id = 'I2'
ORDER BY occurred_at DESC, id DESC LIMIT 1;
UPDATE cap.issues SET ws = 'cap-w' WHERE id = 'I2';

-- only some columns, only some events; calling track() again replaces it
SELECT activity.track('cap.issues', 'cap_issue', workspace_column => 'ws', columns => '{status,title}', events => '{updated}');
SELECT "table", columns, events FROM activity.tracked;
INSERT INTO cap.issues (id, ws, identifier, title) VALUES ('I7', 'cap-w', 'ENG-7', 'Quiet');
UPDATE cap.issues SET secret = 'new', estimate = 8 WHERE id = 'I7';
UPDATE cap.issues SET secret = 'newer', status = 'doing' WHERE id = 'I7';
DELETE FROM cap.issues WHERE id = 'I7';
SELECT type, subject_id, metadata FROM activity.activities WHERE subject_id = 'I7' ORDER BY occurred_at, id;

-- untrack() stops it
SELECT activity.untrack('cap.issues') AS untracked, activity.untrack('cap.issues') AS again;
UPDATE cap.issues SET title = 'Untracked' WHERE id = 'I1';
SELECT count(*) AS after_untrack FROM activity.activities WHERE metadata @> '{"changes": {"title": {"new": "Untracked"}}}';
SELECT count(*) AS tracked FROM activity.tracked;

-- what track() refuses
SELECT name FROM activity.register_type('cap_other.created', subject_type => 'cap_thing') \g /dev/null
CREATE VIEW cap.v AS SELECT * FROM cap.issues;
SELECT label, pg_temp.expect_error(sql) AS error
FROM (VALUES
    ('a view',          $$SELECT activity.track('cap.v', 'cap_issue', 'ws')$$),
    ('the log',         $$SELECT activity.track('activity.activities', 'cap_issue')$$),
    ('no such column',  $$SELECT activity.track('cap.issues', 'cap_issue', 'workspace')$$),
    ('no such tracked', $$SELECT activity.track('cap.issues', 'cap_issue', 'ws', columns => '{title,colour}')$$),
    ('unregistered',    $$SELECT activity.track('cap.issues', 'cap_ticket', 'ws')$$),
    ('other subject',   $$SELECT activity.track('cap.issues', 'cap_other', 'ws', events => '{created}')$$),
    ('bad events',      $$SELECT activity.track('cap.issues', 'cap_issue', 'ws', events => '{created,archived}')$$),
    ('no events',       $$SELECT activity.track('cap.issues', 'cap_issue', 'ws', events => '{}')$$),
    ('null subject',    $$SELECT activity.track('cap.issues', NULL, 'ws')$$)
) AS t(label, sql);
SELECT count(*) AS tracked_after_refusals FROM activity.tracked;

-- a partitioned application table; the capture runs as the role that
-- writes, which needs to be allowed to write the log
CREATE TABLE cap.comments (id text, ws text NOT NULL, issue text, body text, PRIMARY KEY (ws, id)) PARTITION BY LIST (ws);
CREATE TABLE cap.comments_w PARTITION OF cap.comments FOR VALUES IN ('cap-w');
SELECT name FROM activity.register_type('cap_comment.created', subject_type => 'cap_comment') \g /dev/null
SELECT activity.track('cap.comments', 'cap_comment', 'ws', events => '{created}');
CREATE ROLE cap_writer;
GRANT USAGE ON SCHEMA cap TO cap_writer;
GRANT INSERT ON cap.comments TO cap_writer;
SET ROLE cap_writer;
SELECT pg_temp.expect_error($$INSERT INTO cap.comments VALUES ('C1', 'cap-w', 'I1', 'hello')$$) AS without_log_privileges;
RESET ROLE;
GRANT USAGE ON SCHEMA activity TO cap_writer;
GRANT INSERT ON activity.activities TO cap_writer;
SET ROLE cap_writer;
INSERT INTO cap.comments VALUES ('C1', 'cap-w', 'I1', 'hello');
RESET ROLE;
SELECT type, subject_id, metadata FROM activity.activities WHERE type = 'cap_comment.created';

DROP TABLE cap.comments;
REVOKE ALL ON activity.activities FROM cap_writer;
REVOKE USAGE ON SCHEMA activity FROM cap_writer;
DROP SCHEMA cap CASCADE;
DROP ROLE cap_writer;
RESET activity.actor_id;
