-- bench/capture.sh's schema: the extension, the bundled catalogue
-- (issue.created / issue.updated / issue.deleted, with JSON Schemas, about
-- subjects of type 'issue', actors users and agents), partitions for the
-- current months, and two identical application tables of :rows issues,
-- one of them tracked. Loaded before track(): the initial rows record
-- nothing. Ids 'I' || 9 digits (1 .. :rows; new ones from app.issue_ids),
-- so that a range of ids is a range of rows.
-- psql variables: rows, workspaces, catalogue (the path of examples/catalogue.sql)
\set ON_ERROR_STOP 1
CREATE EXTENSION activity;
\i :catalogue
SELECT count(*) AS partitions FROM activity.create_partitions(now() - interval '1 month', now() + interval '2 months') \g /dev/null

CREATE SCHEMA app;
CREATE TABLE app.issues_plain (
    id text PRIMARY KEY,
    workspace_id text NOT NULL,
    identifier text,
    title text,
    status text,
    estimate int,
    updated_at timestamptz);
CREATE TABLE app.issues_tracked (LIKE app.issues_plain INCLUDING ALL);
INSERT INTO app.issues_plain
SELECT 'I' || lpad(g::text, 9, '0'), 'ws-' || lpad((1 + g % :workspaces)::text, 4, '0'),
       'ENG-' || g, 'Issue number ' || g, 'open', g % 8, now() - (g % 1000) * interval '1 hour'
FROM generate_series(1, :rows) g;
INSERT INTO app.issues_tracked SELECT * FROM app.issues_plain;
CREATE SEQUENCE app.issue_ids START :rows;
SELECT setval('app.issue_ids', :rows) \g /dev/null

SELECT activity.track('app.issues_tracked', 'issue') \g /dev/null
VACUUM (ANALYZE) app.issues_plain, app.issues_tracked;
