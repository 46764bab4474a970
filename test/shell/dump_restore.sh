#!/usr/bin/env bash
# TAP test: pg_dump / pg_restore keep the registry, the settings, every
# partition and every row, and the restored log still validates and pages.
# Needs a server reachable through the PG* environment variables.
set -uo pipefail
src=activity_dump_src
dst=activity_dump_dst
n=0
ok() { n=$((n + 1)); if [ "$1" = "$2" ]; then echo "ok $n - $3"; else echo "not ok $n - $3"; echo "#   got: '$1'"; echo "#   expected: '$2'"; fi; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }

echo "1..23"
dropdb --if-exists "$src" >/dev/null 2>&1; dropdb --if-exists "$dst" >/dev/null 2>&1
psql -X -q -d postgres -c 'DROP ROLE IF EXISTS dr_tenant' -c 'DROP ROLE IF EXISTS dr_gone' >/dev/null 2>&1
psql -X -q -d postgres -c 'CREATE ROLE dr_tenant' -c 'CREATE ROLE dr_gone' >/dev/null
createdb "$src" && createdb "$dst"
psql -X -q -v ON_ERROR_STOP=1 -d "$src" >/dev/null <<'SQL'
CREATE EXTENSION activity;
SELECT activity.configure(premake => 2, retention => '100 years');
SELECT * FROM activity.create_partitions('2026-01-01', '2026-04-01');
SELECT activity.register_type('post.created', recipient => 'forbidden');
SELECT activity.register_type('MODERATION_LINK', actor_types => '{system}');
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at, metadata)
SELECT 'ws' || (g % 3), 'post.created', 'u' || g, '2026-01-01'::timestamptz + g * interval '3 hours',
       jsonb_build_object('n', g)
FROM generate_series(1, 500) g;
-- outliers in the default partition
SELECT activity.record('ws1', 'post.created', 'old', occurred_at => '1990-05-05');
SELECT activity.record('ws1', 'post.created', 'future', occurred_at => '2090-05-05');
SELECT activity.record('ws1', 'MODERATION_LINK', NULL, actor_type => 'system', occurred_at => '2026-02-02',
                       caused_by => (SELECT id FROM activity.activities WHERE initiator_id = 'u7'));
-- versioned schemas: rows of a version retired since then must restore
SELECT activity.register_schema('post.created', '{"required": ["n"]}');
SELECT activity.record('ws2', 'post.created', 'v1', '{"n": 1}', occurred_at => '2026-03-03');
SELECT activity.register_schema('post.created', '{"required": ["n"], "properties": {"m": {"type": "integer"}}}');
SELECT activity.retire_schema('post.created', 1);
SELECT activity.record('ws2', 'post.created', 'v2', '{"n": 2, "m": 3}', occurred_at => '2026-03-04');
-- a captured application table (activity.track())
SELECT activity.register_type('task.created', subject_type => 'task');
SELECT activity.register_type('task.updated', subject_type => 'task');
CREATE TABLE public.tasks (id text PRIMARY KEY, workspace_id text NOT NULL, title text);
SELECT activity.track('public.tasks', 'task', events => '{created,updated}');
INSERT INTO public.tasks VALUES ('T1', 'ws1', 'one'), ('T2', 'ws2', 'two');
-- tenant isolation: row-level security on the log (pg_dump does not dump
-- it, the table being the extension's: the extension keeps it as data)
GRANT USAGE ON SCHEMA activity TO dr_tenant;
GRANT SELECT ON activity.activities TO dr_tenant;
ALTER TABLE activity.activities ENABLE ROW LEVEL SECURITY;
CREATE POLICY dr_ws1 ON activity.activities FOR SELECT TO dr_tenant USING (workspace_id = 'ws1');
CREATE POLICY dr_gone ON activity.activities FOR SELECT TO dr_gone USING (true);
-- seed 003's registries: a platform of our own, a universal type it
-- supports, a type named as that platform spells it, function types
SELECT activity.register_platform('forum', 'Our forum');
SELECT activity.register_universal_type('POST_NEW', platforms => '{forum,discord}');
SELECT activity.register_type('forum:postNew', universal_type => 'POST_NEW', function_types => '{forumHook}');
SELECT activity.record('ws1', 'forum:postNew', 'u9', platform => 'forum', function_type => 'forumHook',
                       occurred_at => '2026-02-03');
-- a change feed consumer that has read everything
SELECT activity.create_consumer('crm', start => 'beginning');
SELECT count(*) FROM activity.changes('crm', 10000);
SQL
ok "$(q "$src" "SELECT count(*) FROM activity.changes('crm')")" 0 "the source's consumer has read every event"

pg_dump -Fc -f /tmp/activity_dump_test.dump "$src"
ok "$?" 0 "pg_dump succeeds"
# a role the dump names is gone from the cluster the restore runs in
q "$src" "DROP POLICY dr_gone ON activity.activities" >/dev/null
psql -X -q -d postgres -c 'DROP ROLE dr_gone' >/dev/null
# (--verbose: pg_restore shows the server's warnings only then)
pg_restore --verbose --exit-on-error -d "$dst" /tmp/activity_dump_test.dump 2>/tmp/activity_restore.err
ok "$?$(grep -c "ERROR" /tmp/activity_restore.err)" 00 "pg_restore --exit-on-error succeeds without errors"

ok "$(q "$dst" 'SELECT count(*) FROM activity.activities')" "$(q "$src" 'SELECT count(*) FROM activity.activities')" "every row is restored"
ok "$(q "$dst" "SELECT count(*) FROM activity_partitions.activities_default WHERE type LIKE 'post.%'")" "2" "outliers are restored into the default partition"
ok "$(q "$dst" 'SELECT string_agg(name, $$,$$ ORDER BY name) FROM activity.event_types WHERE name !~ $$:$$')" "MODERATION_LINK,post.created,task.created,task.updated" "the registry is restored"
ok "$(q "$dst" "SELECT string_agg(name || CASE WHEN builtin THEN '*' ELSE '' END, ',' ORDER BY name) FROM activity.platforms")|$(q "$dst" "SELECT name || ' ' || array_to_string(platforms, ',') FROM activity.universal_types")|$(q "$dst" "SELECT universal_type || ' ' || array_to_string(function_types, ',') FROM activity.event_types WHERE name = 'forum:postNew'")" \
   "discord*,forum,minecraft*,slack*,telegram*,twitch*|POST_NEW discord,forum|POST_NEW forumHook" \
   "platforms (the built-in ones once, ours with them), universal types and the type's rules are restored"
ok "$(q "$dst" "SELECT count(*) FROM activity.activities WHERE platform = 'forum' AND function_type = 'forumHook'")|$(q "$dst" "BEGIN; SELECT activity.record('ws1', 'forum:postNew', 'u9', platform => 'forum', function_type => 'forumHook') IS NOT NULL; ROLLBACK")" \
   "1|t" "the event of our platform is restored with its function type, and the restored registry accepts another (rolled back)"
ok "$(q "$dst" 'SELECT string_agg(version || CASE WHEN retired_at IS NOT NULL THEN $$ retired$$ ELSE $$$$ END, $$,$$ ORDER BY version) FROM activity.schemas')" "1 retired,2" "schema versions and their retirement are restored"
ok "$(q "$dst" 'SELECT premake || $$ $$ || retention FROM activity.settings')" "2 100 years" "the settings are restored"
page="SELECT md5(string_agg(id::text || cursor::text, ',')) FROM activity.page('ws1', \"limit\" => 200)"
ok "$(q "$dst" "$page")" "$(q "$src" "$page")" "the restored feed pages identically, cursors included"
err=$(psql -X -q -At -d "$dst" -c "INSERT INTO activity.activities (workspace_id, type, initiator_id) VALUES ('ws1', 'nope', 'u')" 2>&1)
ok "$(echo "$err" | head -1)" 'ERROR:  unknown activity type "nope"' "the restored log still validates"

# row-level security is restored: enabled, the policy whose role exists,
# and a warning for the other; the log stays closed to the tenant's role
ok "$(q "$dst" "SELECT relrowsecurity FROM pg_class WHERE oid = 'activity.activities'::regclass")" t \
   "row-level security on the log is restored"
ok "$(q "$dst" "SELECT string_agg(polname, ',') FROM pg_policy WHERE polrelid = 'activity.activities'::regclass")" dr_ws1 \
   "its policy is restored"
ok "$(grep -c 'WARNING:  row-level security of activity.activities: policy dr_gone could not be restored: role "dr_gone" does not exist' /tmp/activity_restore.err)" 1 \
   "a policy whose role is missing is reported by a warning"
rls="SET ROLE dr_tenant; SELECT count(*) || ' ' || count(*) FILTER (WHERE workspace_id <> 'ws1') FROM activity.activities"
ok "$(q "$dst" "$rls")" "$(q "$src" "SELECT count(*) || ' 0' FROM activity.activities WHERE workspace_id = 'ws1'")" \
   "the tenant's role reads its workspace only, as before the dump"
ok "$(psql -X -q -At -d "$dst" -c "SET ROLE dr_tenant" -c "SELECT count(*) FROM activity.page('ws2', \"limit\" => 200)")" 0 \
   "page() honours the restored policy"

# the capture is restored with its table, and works
ok "$(q "$dst" 'SELECT "table" || $$ $$ || subject_type || $$ $$ || events::text FROM activity.tracked')" \
   "tasks task {created,updated}" "the capture of the application table is restored"
ok "$(q "$dst" "SELECT count(*) FROM activity.activities WHERE subject_type = 'task'")" 2 \
   "the captured activities are restored once (restoring the table captured nothing again)"

# the consumer is restored with its position, which names the source
# database: its transaction ids mean nothing here, so it reads every event
# again (at least once, never a gap), with a warning, and then only new ones
ok "$(q "$dst" "SELECT count(*) FROM activity.feed_consumers WHERE name = 'crm'")" 1 "the consumer is restored"
out=$(psql -X -q -At -v ON_ERROR_STOP=1 -v VERBOSITY=terse -d "$dst" -c "SELECT count(*) FROM activity.changes('crm', 10000)" 2>&1)
ok "$out" "WARNING:  consumer \"crm\" reads the whole log again: its position is from another database
$(q "$src" 'SELECT count(*) FROM activity.activities')" "after the restore it reads every event again, with a warning"
q "$dst" "SELECT activity.record('ws1', 'post.created', 'after-restore', '{\"n\": 1}')" >/dev/null
ok "$(q "$dst" "SELECT string_agg(initiator_id, ',') FROM activity.changes('crm', 10000)")" "after-restore" \
   "then only what is recorded after the restore"

q "$dst" "UPDATE public.tasks SET title = 'uno' WHERE id = 'T1'" >/dev/null
ok "$(q "$dst" "SELECT metadata::text FROM activity.activities WHERE type = 'task.updated'")" \
   '{"changes": {"title": {"new": "uno", "old": "one"}}}' "the restored capture records an update"

[ -n "${DR_KEEP:-}" ] || { dropdb "$src"; dropdb "$dst"; rm -f /tmp/activity_dump_test.dump; }
psql -X -q -d postgres -c 'DROP ROLE IF EXISTS dr_tenant' >/dev/null
