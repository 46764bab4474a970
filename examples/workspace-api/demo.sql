-- Demo data for the workspace activity API: two workspaces, a token each,
-- and issues written the way the issue tracker writes them, with their
-- activity captured by activity.track() (seed 002's "Activity Logger
-- automatically captures events"): each INSERT and UPDATE of api.issues
-- records issue.created / issue.updated in the same transaction, as the
-- actor the application names in activity.actor_id / activity.actor_type.
-- Run after schema.sql, as its administrator:
--   psql -X -v ON_ERROR_STOP=1 -d DB -f examples/workspace-api/demo.sql
-- The tokens are for trying it out only: real ones are random
-- (node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))")
-- and only their SHA-256 is stored.

-- the tracker's issues are captured (updated_at changes on every write:
-- not a change worth an activity, so only these columns are compared)
SELECT activity.track('api.issues', 'issue', events => '{created,updated}',
                      columns => '{identifier,title,status,assignee_id}');

BEGIN;
INSERT INTO api.workspaces (id, name) VALUES ('acme', 'Acme'), ('globex', 'Globex');
INSERT INTO api.tokens (token_sha256, workspace_id, description) VALUES
    (sha256(convert_to('demo-token-acme', 'UTF8')), 'acme', 'demo'),
    (sha256(convert_to('demo-token-globex', 'UTF8')), 'globex', 'demo');

-- what the tracker does for each request: name the actor, write the issue
SET LOCAL activity.actor_type = 'user';
SET LOCAL activity.actor_id = 'user-ada';
INSERT INTO api.issues (id, workspace_id, identifier, title, status)
VALUES ('iss-acme-1', 'acme', 'ENG-1', 'Login page times out', 'backlog');
SET LOCAL activity.actor_type = 'agent';
SET LOCAL activity.actor_id = 'triage-bot';
INSERT INTO api.issues (id, workspace_id, identifier, title, status)
VALUES ('iss-acme-2', 'acme', 'ENG-2', 'Export to CSV', 'backlog');
UPDATE api.issues SET assignee_id = 'user-bob', updated_at = now() WHERE id = 'iss-acme-1';
SET LOCAL activity.actor_type = 'user';
SET LOCAL activity.actor_id = 'user-bob';
UPDATE api.issues SET status = 'in_progress', updated_at = now() WHERE id = 'iss-acme-1';
SET LOCAL activity.actor_id = 'user-ada';
UPDATE api.issues SET title = 'Export to CSV and JSON', updated_at = now() WHERE id = 'iss-acme-2';
-- nothing tracked changes: nothing is recorded
UPDATE api.issues SET updated_at = now() WHERE id = 'iss-acme-2';
SET LOCAL activity.actor_id = 'user-hank';
INSERT INTO api.issues (id, workspace_id, identifier, title, status)
VALUES ('iss-globex-1', 'globex', 'OPS-1', 'Rotate the certificates', 'backlog');
UPDATE api.issues SET status = 'todo', updated_at = now() WHERE id = 'iss-globex-1';
COMMIT;
