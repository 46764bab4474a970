-- The workspace activity API's own schema, its database role and the
-- row-level security that keeps each token inside its workspace.
--
--   psql -X -v ON_ERROR_STOP=1 -d DB -f examples/workspace-api/schema.sql                    # role workspace_api
--   psql -X -v ON_ERROR_STOP=1 -d DB -v api_role=my_api -f examples/workspace-api/schema.sql
--
-- Run once per database, by a superuser (or the owner of activity.activities
-- with CREATEROLE), after CREATE EXTENSION activity; examples/catalogue.sql
-- registers the issue.* types that the writers record. It creates:
--
--   schema api: api.workspaces, api.issues, api.tokens (SHA-256 hashes of the
--     tokens, never the tokens), api.token_workspace() and api.authenticate();
--   the role :api_role, LOGIN without a password (give it one, or use
--     certificates); an existing role of that name is used, and refused if it
--     is a superuser, has BYPASSRLS or has the privileges of the log's owner;
--   row-level security on activity.activities, api.workspaces and api.issues
--     with policies for :api_role: it sees only the rows of the workspace of
--     the token set in the current transaction
--     (SELECT api.authenticate(token), or set_config('api.token', token, true)),
--     and no row at all when no valid token is set.
--
-- The API role gets SELECT and nothing else: even a bug in the server, or SQL
-- injected through it, can neither read another workspace nor write.
--
-- Idempotent: run it again after a restore if you like. pg_dump does not
-- dump the policies nor the ENABLE ROW LEVEL SECURITY of a table that belongs
-- to an extension; the activity extension keeps them as data
-- (activity.row_security) and a restore sets them up again. Should they be
-- missing all the same (a restore with --disable-triggers: run
-- SELECT activity.restore_row_security()), the server refuses to start:
-- row_security_active() is false for its role.
--
-- Enabling row-level security on activity.activities makes the log
-- default-deny for every role other than its owner, superusers and BYPASSRLS
-- roles: another application role that reads or writes the log needs a
-- policy of its own, e.g.
--   CREATE POLICY app_all ON activity.activities TO app USING (true) WITH CHECK (true);

\if :{?api_role}
\else
\set api_role workspace_api
\endif

BEGIN;

SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'api_role') AS create_role \gset
\if :create_role
CREATE ROLE :"api_role" LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
\endif
COMMENT ON ROLE :"api_role" IS 'The workspace activity API (examples/workspace-api): reads one workspace per request, under row-level security';

-- an existing role must not escape the policies (psql variables do not reach
-- into a DO block: the name goes through a setting of this transaction)
SELECT set_config('api.setup_role', :'api_role', true) IS NOT NULL AS ok \gset
DO $$
DECLARE
    r pg_roles;
BEGIN
    SELECT * INTO STRICT r FROM pg_roles WHERE rolname = current_setting('api.setup_role');
    IF r.rolsuper OR r.rolbypassrls THEN
        RAISE EXCEPTION 'role "%" is a superuser or has BYPASSRLS: row-level security would not apply to it', r.rolname
            USING ERRCODE = '42501';
    END IF;
    IF pg_has_role(r.oid, (SELECT relowner FROM pg_class WHERE oid = 'activity.activities'::regclass), 'USAGE') THEN
        RAISE EXCEPTION 'role "%" has the privileges of the owner of activity.activities: row-level security would not apply to it', r.rolname
            USING ERRCODE = '42501';
    END IF;
END;
$$;

CREATE SCHEMA IF NOT EXISTS api;
COMMENT ON SCHEMA api IS 'The workspace activity API (examples/workspace-api): workspaces, issues, API tokens';

CREATE TABLE IF NOT EXISTS api.workspaces (
    id text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$'),
    name text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE api.workspaces IS 'The tenants; id is the workspace_id of their activities';

CREATE TABLE IF NOT EXISTS api.issues (
    id text PRIMARY KEY DEFAULT gen_random_uuid()::text,
    workspace_id text NOT NULL REFERENCES api.workspaces,
    identifier text NOT NULL CHECK (identifier ~ '^[A-Z]+-[0-9]+$'),
    title text NOT NULL CHECK (length(title) <= 200),
    status text NOT NULL DEFAULT 'backlog' CHECK (status IN ('backlog', 'todo', 'in_progress', 'done', 'canceled')),
    assignee_id text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workspace_id, identifier)
);
COMMENT ON TABLE api.issues IS 'Issues; id is the subject_id of their activities (subject_type ''issue''), identifier (ENG-12) is for people';

CREATE TABLE IF NOT EXISTS api.tokens (
    token_sha256 bytea PRIMARY KEY CHECK (length(token_sha256) = 32),
    workspace_id text NOT NULL REFERENCES api.workspaces ON DELETE CASCADE,
    description text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS tokens_workspace_id_idx ON api.tokens (workspace_id);
COMMENT ON TABLE api.tokens IS 'API tokens, by the SHA-256 of their UTF-8 text: sha256(convert_to(token, ''UTF8'')); each opens one workspace';

-- The workspace of the token set in the current transaction, or NULL.
-- SECURITY DEFINER: the API role cannot read api.tokens, only ask this.
CREATE OR REPLACE FUNCTION api.token_workspace()
RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT t.workspace_id FROM api.tokens t
    WHERE t.token_sha256 = sha256(convert_to(nullif(current_setting('api.token', true), ''), 'UTF8'));
$$;
COMMENT ON FUNCTION api.token_workspace() IS
    'The workspace of the token in the setting api.token (set with api.authenticate()), NULL for none or an unknown token';

-- Sets the request's token for the rest of the transaction and returns its
-- workspace (NULL: unknown token). One statement, so that the setting is in
-- place before the lookup.
CREATE OR REPLACE FUNCTION api.authenticate(token text)
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM set_config('api.token', coalesce(token, ''), true);
    RETURN api.token_workspace();
END;
$$;
COMMENT ON FUNCTION api.authenticate(text) IS
    'Sets api.token for the current transaction (the row-level security policies read it) and returns the token''s workspace, or NULL';

-- Row-level security: the API role sees one workspace, the token's.
ALTER TABLE activity.activities ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS workspace_api_tenant ON activity.activities;
CREATE POLICY workspace_api_tenant ON activity.activities FOR SELECT TO :"api_role"
    USING (workspace_id = api.token_workspace());
ALTER TABLE api.workspaces ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS workspace_api_tenant ON api.workspaces;
CREATE POLICY workspace_api_tenant ON api.workspaces FOR SELECT TO :"api_role"
    USING (id = api.token_workspace());
ALTER TABLE api.issues ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS workspace_api_tenant ON api.issues;
CREATE POLICY workspace_api_tenant ON api.issues FOR SELECT TO :"api_role"
    USING (workspace_id = api.token_workspace());

-- What the API role may do: read the log (README, "Privileges"), call the
-- read functions, read its own schema's tables, and nothing else.
GRANT USAGE ON SCHEMA activity TO :"api_role";
GRANT SELECT ON activity.activities TO :"api_role";
GRANT EXECUTE ON FUNCTION activity.page, activity.workspace_activity, activity.issue_activity TO :"api_role";
GRANT USAGE ON SCHEMA api TO :"api_role";
GRANT SELECT ON api.workspaces, api.issues TO :"api_role";
REVOKE EXECUTE ON FUNCTION api.token_workspace(), api.authenticate(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.token_workspace(), api.authenticate(text) TO :"api_role";

COMMIT;
