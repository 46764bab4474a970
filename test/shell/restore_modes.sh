#!/usr/bin/env bash
# TAP test: every restore mode brings back every event, identical in every
# column, with the registry, schema versions (retired too) and settings:
# custom format serial and -j 4, directory format -j 4, plain SQL through
# psql, --data-only into a database where the extension exists, and
# --section=pre-data/data/post-data in order, and a restore by a role that
# is not a superuser. The log holds rows written
# under rules that changed since, rows of retired schema versions and of
# version 0 from before the type had a schema, a default-partition row whose
# cause lies in a range partition, and rows dated 1990 and 2090. Restored
# rows are not judged again; ordinary inserts afterwards are.
# Needs a server reachable through the PG* environment variables.
set -uo pipefail
src=activity_restore_src
work=$(mktemp -d)
n=0
ok() { n=$((n + 1)); if [ "$1" = "$2" ]; then echo "ok $n - $3"; else echo "not ok $n - $3"; echo "#   got: '$1'"; echo "#   expected: '$2'"; fi; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
fresh() { dropdb --if-exists "$1" >/dev/null 2>&1; createdb "$1"; }
first_line() { psql -X -q -At -d "$1" -c "$2" 2>&1 | head -1; }

# what must come back identical: every column of every row, and the registry
# every column but xact_id: a restored row is the restoring transaction's
rows="SELECT count(*) || ' ' || md5(string_agg((to_jsonb(a) - 'xact_id')::text, E'\n' ORDER BY id)) FROM activity.activities a"
registry="SELECT md5(concat((SELECT string_agg(t::text, E'\n' ORDER BY name) FROM activity.event_types t),
                            (SELECT string_agg(format('%s %s %s %s %s', type, version, schema::text, compatibility, retired_at), E'\n' ORDER BY type, version) FROM activity.schemas),
                            (SELECT string_agg(s::text, E'\n') FROM activity.settings s)))"
feed="SELECT md5(string_agg(id::text || cursor::text, ',')) FROM activity.page('ws1', \"limit\" => 200)"

echo "1..65"
fresh "$src"
psql -X -q -v ON_ERROR_STOP=1 -d "$src" >/dev/null <<'SQL'
CREATE EXTENSION activity;
SELECT activity.configure(premake => 2, retention => '100 years');
SELECT * FROM activity.create_partitions('2026-01-01', '2026-07-01');
SELECT activity.register_type('badge.given', recipient => 'optional');
SELECT activity.register_type('post.created');
SELECT activity.register_type('MODERATION_LINK', actor_types => '{system}');
-- 6 months of events in 6 partitions, 3 workspaces
INSERT INTO activity.activities (workspace_id, type, initiator_id, recipient_id, occurred_at, metadata)
SELECT 'ws' || (g % 3), CASE WHEN g % 4 = 0 THEN 'badge.given' ELSE 'post.created' END, 'u' || g,
       CASE WHEN g % 4 = 0 THEN 'r' || g END,
       '2026-01-01'::timestamptz + g * interval '1 hour', jsonb_build_object('n', g)
FROM generate_series(1, 4000) g;
-- outliers in the default partition, one of them a synthetic event whose
-- cause lies in a range partition
SELECT activity.record('ws1', 'post.created', 'old', occurred_at => '1990-05-05');
SELECT activity.record('ws1', 'post.created', 'future', occurred_at => '2090-05-05');
SELECT activity.record('ws1', 'MODERATION_LINK', NULL, actor_type => 'system', occurred_at => '2090-02-02',
                       caused_by => (SELECT id FROM activity.activities WHERE initiator_id = 'u7'));
-- the rules change after the rows were written: badge.given forbids recipients
SELECT activity.register_type('badge.given', recipient => 'forbidden');
-- post.created rows of version 0 from before it had a schema, then versions
-- 1 and 2, version 1 retired since
SELECT activity.register_schema('post.created', '{"required": ["n"]}');
SELECT activity.record('ws1', 'post.created', 'v1', '{"n": 1}', occurred_at => '2026-03-03');
SELECT activity.register_schema('post.created', '{"required": ["n"], "properties": {"m": {"type": "integer"}}}');
SELECT activity.retire_schema('post.created', 1);
SELECT activity.record('ws1', 'post.created', 'v2', '{"n": 2, "m": 3}', occurred_at => '2026-03-04');
SQL
ok "$(q "$src" "SELECT count(*) FROM activity_partitions.activities_default")" 3 "the source holds 3 outliers in its default partition"
ok "$(q "$src" "SELECT count(*) FROM activity.activities WHERE type = 'badge.given' AND recipient_id IS NOT NULL")" 1000 \
   "the source holds 1000 rows that today's rule of badge.given would refuse"
src_rows=$(q "$src" "$rows")
src_max_xact=$(q "$src" "SELECT max(xact_id) FROM activity.activities")
# no restored row keeps the source's xact_id: each is a transaction of the
# restore (all later than the source's, in this cluster), so that a change
# feed consumer of the new database gets it once
xacts="SELECT count(*) FILTER (WHERE xact_id IS NULL OR xact_id <= '$src_max_xact'::xid8) FROM activity.activities"
src_registry=$(q "$src" "$registry")
src_feed=$(q "$src" "$feed")

# check(db, mode): the restored database against the source, 6 tests
check() {
    local db=$1 mode=$2
    ok "$(q "$db" "$rows")|$(q "$db" "$xacts")" "$src_rows|0" \
       "$mode: every event, identical in every column, xact_id the restore's"
    ok "$(q "$db" "$registry")" "$src_registry" "$mode: registry, schema versions (retired too) and settings"
    ok "$(q "$db" "$feed")" "$src_feed" "$mode: the feed pages identically, cursors included"
    ok "$(first_line "$db" "INSERT INTO activity.activities (workspace_id, type, initiator_id) VALUES ('ws1', 'nope', 'u')")" \
       'ERROR:  unknown activity type "nope"' "$mode: an ordinary insert of an unknown type is refused"
    ok "$(first_line "$db" "SELECT activity.record('ws1', 'badge.given', 'u', recipient_id => 'r')")" \
       'ERROR:  activity type "badge.given" does not take a recipient_id' "$mode: an ordinary insert is checked by today's rules"
    ok "$(q "$db" "SELECT activity.record('ws1', 'post.created', 'after', '{\"n\": 5}') IS NOT NULL")" t \
       "$mode: an ordinary valid insert is accepted"
}

pg_dump -Fc -f "$work/log.dump" "$src"
ok "$?" 0 "pg_dump -Fc succeeds"

dst=activity_restore_serial; fresh $dst
pg_restore --exit-on-error -d $dst "$work/log.dump" 2>"$work/err"
ok "$?" 0 "custom format, serial: pg_restore --exit-on-error succeeds"
check $dst "custom serial"

dst=activity_restore_parallel; fresh $dst
pg_restore --exit-on-error -j 4 -d $dst "$work/log.dump" 2>"$work/err"
ok "$?" 0 "custom format, -j 4: pg_restore --exit-on-error succeeds"
check $dst "custom -j 4"

dst=activity_restore_directory; fresh $dst
pg_dump -Fd -j 4 -f "$work/log.dir" "$src" && pg_restore --exit-on-error -j 4 -d $dst "$work/log.dir" 2>"$work/err"
ok "$?" 0 "directory format, -j 4: pg_dump and pg_restore succeed"
sed 's/^/# /' "$work/err"
check $dst "directory -j 4"

dst=activity_restore_plain; fresh $dst
pg_dump -Fp "$src" | psql -X -q -v ON_ERROR_STOP=1 -d $dst >/dev/null 2>"$work/err"
ok "$?" 0 "plain SQL through psql -v ON_ERROR_STOP=1 succeeds"
check $dst "plain SQL"

dst=activity_restore_sections; fresh $dst
pg_restore --exit-on-error --section=pre-data -d $dst "$work/log.dump" 2>"$work/err" &&
pg_restore --exit-on-error --section=data -d $dst "$work/log.dump" 2>>"$work/err" &&
pg_restore --exit-on-error --section=post-data -d $dst "$work/log.dump" 2>>"$work/err"
ok "$?" 0 "--section=pre-data, data, post-data in order succeed"
check $dst "sections"

# into a database where the extension already exists: a data-only dump that
# loads through the log, restored by the owner with activity.restoring on
dst=activity_restore_dataonly; fresh $dst
q $dst "CREATE EXTENSION activity"
pg_dump -Fc --data-only --load-via-partition-root -f "$work/data.dump" "$src" &&
PGOPTIONS='-c activity.restoring=on' pg_restore --exit-on-error -d $dst "$work/data.dump" 2>"$work/err"
ok "$?" 0 "--data-only (dumped with --load-via-partition-root) into an existing extension succeeds"
ok "$(q $dst "SELECT count(*) FROM activity_partitions.activities_default")" 4005 \
   "data-only: every row waits in the default partition of the new database"
maintained=$(q $dst "SELECT coalesce(sum(\"rows\"), 0) FROM activity.create_partitions('2026-01-01', '2026-07-01')")
ok "$maintained" 4002 "data-only: create_partitions() moves the 4002 rows of 2026 into their partitions"
check $dst "data-only"

# the same with --disable-triggers, into a database with a change feed
# consumer: no trigger fires and the rows keep the source's xact_id, yet the
# consumer gets each of them once, when the restore commits (the validation
# constraint gives every restored row a pointer of the restoring transaction)
dst=activity_restore_notriggers; fresh $dst
q $dst "CREATE EXTENSION activity"
q $dst "SELECT activity.create_consumer('before_restore')" >/dev/null
# (--disable-triggers names each partition the dump has)
q $dst "SELECT count(*) FROM activity.create_partitions('2026-01-01', '2026-07-01')" >/dev/null
PGOPTIONS='-c activity.restoring=on' pg_restore --exit-on-error --disable-triggers -d $dst "$work/data.dump" 2>"$work/err"
ok "$?" 0 "--data-only --disable-triggers into an existing extension with a consumer succeeds"
sed 's/^/# /' "$work/err"
source_xacts="SELECT md5(string_agg(DISTINCT xact_id::text, ',')) FROM activity.activities"
ok "$(q $dst "$rows")|$(q $dst "$source_xacts")" "$(q $src "$rows")|$(q $src "$source_xacts")" \
   "--disable-triggers: every row back, identical, with the source's xact_id"
ok "$(psql -X -q -At -d $dst -c "BEGIN" -c "SELECT count(*) || ' ' || count(DISTINCT id) FROM activity.changes('before_restore', 100000)" -c "COMMIT")|$(psql -X -q -At -d $dst -c "BEGIN" -c "SELECT count(*) FROM activity.changes('before_restore', 100000)" -c "COMMIT")" \
   "4005 4005|0" "--disable-triggers: the consumer created before the restore gets each restored row once"


# a full dump that loads through the log (--load-via-partition-root): its
# rows come before the partitions' constraints, so it is restored with
# activity.restoring on
dst=activity_restore_viaroot; fresh $dst
pg_dump -Fc --load-via-partition-root -f "$work/root.dump" "$src" &&
PGOPTIONS='-c activity.restoring=on' pg_restore --exit-on-error -d $dst "$work/root.dump" 2>"$work/err"
ok "$?" 0 "a full dump made with --load-via-partition-root restores with activity.restoring on"
sed 's/^/# /' "$work/err"
check $dst "via the root"

# a non-superuser restore: a superuser installs the extension and hands the
# log to the restoring role, which restores everything but the schema and
# the extension themselves
dst=activity_restore_nonsuper; fresh $dst
# (a password: pg_virtualenv's clusters authenticate TCP connections by password)
psql -X -q -d postgres -c "DROP ROLE IF EXISTS activity_restorer" \
     -c "CREATE ROLE activity_restorer LOGIN PASSWORD 'activity-restorer'" >/dev/null 2>&1
q $dst "CREATE EXTENSION activity; SELECT activity.set_owner('activity_restorer')" >/dev/null
pg_restore -l "$work/log.dump" | grep -Ev '(SCHEMA - activity|EXTENSION - activity|COMMENT - EXTENSION activity) ' > "$work/list"
PGPASSWORD=activity-restorer pg_restore -U activity_restorer --no-owner --exit-on-error -L "$work/list" -d $dst "$work/log.dump" 2>"$work/err"
ok "$?" 0 "a non-superuser owner of the log restores with --no-owner --exit-on-error -L (schema and extension left out)"
sed 's/^/# /' "$work/err"
check $dst "non-superuser"
ok "$(PGPASSWORD=activity-restorer psql -X -q -At -U activity_restorer -d $dst -c "SELECT count(*) >= 0 FROM activity.maintain()")" t \
   "non-superuser: the restoring role runs maintain()"

for db in $src activity_restore_viaroot activity_restore_nonsuper activity_restore_serial activity_restore_parallel activity_restore_directory \
          activity_restore_plain activity_restore_sections activity_restore_dataonly; do
    dropdb --if-exists "$db"
done
rm -rf "$work"
psql -X -q -d postgres -c "DROP ROLE IF EXISTS activity_restorer" >/dev/null
