-- Demo data for the workspace activity API: two workspaces, a token each,
-- issues, and their activity recorded with activity.record() by users and
-- an agent. Run after schema.sql, as its administrator:
--   psql -X -v ON_ERROR_STOP=1 -d DB -f examples/workspace-api/demo.sql
-- The tokens are for trying it out only: real ones are random
-- (node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))")
-- and only their SHA-256 is stored.

BEGIN;
INSERT INTO api.workspaces (id, name) VALUES ('acme', 'Acme'), ('globex', 'Globex');
INSERT INTO api.tokens (token_sha256, workspace_id, description) VALUES
    (sha256(convert_to('demo-token-acme', 'UTF8')), 'acme', 'demo'),
    (sha256(convert_to('demo-token-globex', 'UTF8')), 'globex', 'demo');
INSERT INTO api.issues (id, workspace_id, identifier, title, status) VALUES
    ('iss-acme-1', 'acme', 'ENG-1', 'Login page times out', 'in_progress'),
    ('iss-acme-2', 'acme', 'ENG-2', 'Export to CSV', 'backlog'),
    ('iss-globex-1', 'globex', 'OPS-1', 'Rotate the certificates', 'todo');

SELECT activity.record(w, 'issue.created', who, jsonb_build_object('title', title, 'identifier', ident),
                       actor_type => actor, subject_type => 'issue', subject_id => issue,
                       occurred_at => now() - ago)
FROM (VALUES
    ('acme', 'iss-acme-1', 'ENG-1', 'Login page times out', 'user-ada', 'user', interval '3 hours'),
    ('acme', 'iss-acme-2', 'ENG-2', 'Export to CSV', 'triage-bot', 'agent', interval '2 hours'),
    ('globex', 'iss-globex-1', 'OPS-1', 'Rotate the certificates', 'user-hank', 'user', interval '1 hour')
) AS t(w, issue, ident, title, who, actor, ago);

SELECT activity.record(w, 'issue.updated', who, jsonb_build_object('changes', changes),
                       actor_type => actor, subject_type => 'issue', subject_id => issue,
                       occurred_at => now() - ago)
FROM (VALUES
    ('acme', 'iss-acme-1', 'triage-bot', 'agent', '{"assignee_id": "user-bob"}'::jsonb, interval '150 minutes'),
    ('acme', 'iss-acme-1', 'user-bob', 'user', '{"status": "in_progress"}', interval '90 minutes'),
    ('acme', 'iss-acme-2', 'user-ada', 'user', '{"title": "Export to CSV and JSON"}', interval '30 minutes'),
    ('globex', 'iss-globex-1', 'user-hank', 'user', '{"status": "todo"}', interval '20 minutes')
) AS t(w, issue, who, actor, changes, ago);
COMMIT;
