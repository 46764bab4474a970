#!/usr/bin/env bash
# TAP test: every upgrade path from 0.1 ends with the same objects as a
# fresh install of the default version, and keeps the data.
set -uo pipefail
fresh=activity_upgrade_fresh
old=activity_upgrade_old
n=0
ok() { n=$((n + 1)); if [ "$1" = "$2" ]; then echo "ok $n - $3"; else echo "not ok $n - $3"; echo "#   got: '$1'"; echo "#   expected: '$2'"; fi; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
members="SELECT string_agg(pg_describe_object(classid, objid, objsubid), E'\n' ORDER BY 1)
         FROM pg_depend WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
           AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'activity')"
comments="SELECT count(*) FROM pg_depend d WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
            AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'activity')
            AND classid IN ('pg_proc'::regclass, 'pg_type'::regclass, 'pg_class'::regclass)
            AND obj_description(objid, (SELECT relname FROM pg_class WHERE oid = classid)) IS NULL
            AND NOT (classid = 'pg_type'::regclass AND EXISTS (SELECT 1 FROM pg_type t WHERE t.oid = objid AND (t.typelem <> 0 OR t.typrelid <> 0)))"

echo "1..10"
for db in $fresh $old; do dropdb --if-exists "$db" >/dev/null 2>&1; createdb "$db"; done
q "$fresh" "CREATE EXTENSION activity"
q "$old" "CREATE EXTENSION activity VERSION '0.1'"
q "$old" "SELECT activity.register_type('post.created')" >/dev/null
q "$old" "SELECT activity.record('ws', 'post.created', 'u') FROM generate_series(1, 10)" >/dev/null
# the new library with 0.1's objects, before ALTER EXTENSION UPDATE: 0.1's
# page() (its log has no function_type yet) still pages
ok "$(q "$old" "SELECT count(*) FROM activity.page('ws', NULL, 50)")" "10" "the library pages a 0.1 log before the update"
q "$old" "ALTER EXTENSION activity UPDATE"
ok "$(q "$old" "SELECT extversion FROM pg_extension WHERE extname = 'activity'")" \
   "$(q "$fresh" "SELECT extversion FROM pg_extension WHERE extname = 'activity'")" "0.1 updates to the default version"
ok "$(q "$old" "$members")" "$(q "$fresh" "$members")" "the updated extension has exactly the objects of a fresh install"
ok "$(q "$old" "SELECT count(*) FROM activity.page('ws', \"limit\" => 50)")" "10" "data recorded before the update is still paged"
ok "$(q "$old" "SELECT activity.is_valid('{\"a\": 1}', '{\"required\": [\"a\"]}')")" "t" "functions added by the update work"
# the hash chain over a 0.1 log (its rows have no xact_id): maintain()
# chains every one of them, verify() finds them intact, and an edit shows
q "$old" "SELECT activity.configure(hash_chain => true)" >/dev/null
q "$old" "SELECT count(*) FROM activity.maintain()" >/dev/null
ok "$(q "$old" "SELECT count(*) FROM activity.hash_chain h JOIN activity.activities a USING (id) WHERE a.xact_id IS NULL")" "10" \
   "the chain takes in the rows a 0.1 log recorded before the update"
ok "$(q "$old" "SELECT count(*) FROM activity.verify()")" "0" "verify() finds them intact"
ok "$(q "$old" "BEGIN; SET LOCAL session_replication_role = replica; SET LOCAL activity.restoring = on;
               UPDATE activity.activities SET initiator_id = 'forged' WHERE id = (SELECT id FROM activity.hash_chain ORDER BY seq LIMIT 1);
               SELECT string_agg(problem, ',') FROM activity.verify(); ROLLBACK")" "edited" \
   "an edit of one of them as a superuser is reported"
ok "$(q "$fresh" "$comments")" "0" "every function, type and table of the extension has a comment"
ok "$(q "$fresh" "DROP EXTENSION activity; SELECT count(*) FROM pg_extension WHERE extname = 'activity'")" "0" \
   "DROP EXTENSION of an empty log needs no confirmation"
dropdb "$fresh"; dropdb "$old"
