#!/usr/bin/env bash
# TAP test: pg_dump / pg_restore of a log whose operations (issue #14) are in
# use: the hash chain on and chained, retention rules (which dropped a whole
# partition and deleted rows in batches), an erasure, runs of
# maintain() recorded, and a few events written after the last run (not
# chained yet). In every restore mode restore_modes.sh uses (custom format
# serial and -j 4, directory format -j 4, plain SQL, sections in order,
# --data-only into an existing extension, a full dump loaded through the
# log, a non-superuser restore) the restored database has
# - every event once, identical in every column (nothing lost, nothing twice);
# - activity.retention_rules, activity.redactions, activity.maintenance_runs
#   and activity.hash_chain identical;
# - a chain that verify() finds intact, alone and against the digests kept
#   from the source (chain_digest() as jsonb);
# and maintenance goes on there: the chain's position names the source
# database, so the first maintain() reads the whole log again and chains
# only what is not chained (the source's unchained events, then new ones);
# an erasure there, and a restored retention rule deleting a row, keep the
# chain intact; every event is chained once and each workspace's seq has no
# gap.
# Last: a restore into another cluster (a throwaway one made here, when
# initdb is at hand) whose transaction ids are behind the source's: the
# restored rows' xact_ids are in its future. verify() must not take an event
# written there for one "inserted" into the chained past, and maintain() must
# go on chaining once the cluster's transaction ids pass the source's.
# Tests marked TODO are known bugs of the extension (see their names).
# Needs a server reachable through the PG* environment variables.
set -uo pipefail
src=activity_opsr_src
work=$(mktemp -d)
n=0
todo=
ok() {
    local t=${todo:+ # TODO $todo}
    n=$((n + 1))
    if [ "$1" = "$2" ]; then echo "ok $n - $3$t"; else echo "not ok $n - $3$t"; echo "#   got: '$1'"; echo "#   expected: '$2'"; fi
}
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
# qd DB SQL: SQL (read from stdin) with the source's digests in :'digests'
qd() { psql -X -q -At -v ON_ERROR_STOP=1 -v digests="$src_digests" -d "$1" <<< "$2"; }
fresh() { dropdb --if-exists "$1" >/dev/null 2>&1; createdb "$1"; }
dbs="$src"
c2_dir=
cleanup() {
    local db
    for db in $dbs; do dropdb --if-exists "$db" >/dev/null 2>&1; done
    psql -X -q -d postgres -c "DROP ROLE IF EXISTS activity_opsr_restorer" >/dev/null 2>&1
    [ -n "$c2_dir" ] && as_owner "$bindir/pg_ctl" -D "$c2_dir/data" -m immediate stop >/dev/null 2>&1
    rm -rf "$work" ${c2_dir:+"$c2_dir"}
}
trap cleanup EXIT

# what must come back identical: every event once, and the tables of the
# operations
# (every column but xact_id: a restored row is the restoring transaction's)
rows="SELECT count(*) || ' ' || count(DISTINCT id) || ' ' || md5(string_agg((to_jsonb(a) - 'xact_id')::text, E'\n' ORDER BY id)) FROM activity.activities a"
table_sig() { echo "SELECT count(*) || ' ' || md5(coalesce(string_agg(t::text, E'\n' ORDER BY $2), '')) FROM $1 t"; }
rules=$(table_sig activity.retention_rules rule_id)
redactions=$(table_sig activity.redactions redaction_id)
runs=$(table_sig activity.maintenance_runs run_id)
chain=$(table_sig activity.hash_chain "workspace_id, seq")
# verify()'s problems, if any ('' when intact)
problems="SELECT coalesce(string_agg(problem || ' ' || coalesce(workspace, '') || '/' || coalesce(seq::text, ''), ', '), '')
          FROM activity.verify()"
problems_digests="SELECT coalesce(string_agg(problem || ' ' || coalesce(workspace, '') || '/' || coalesce(seq::text, ''), ', '), '')
                  FROM activity.verify(digests => :'digests'::jsonb);"
# every event of the log in the chain, none twice, each workspace's seq
# 1..n without a gap: "unchained twice gaps"
chain_sound="SELECT (SELECT count(*) FROM activity.activities a WHERE NOT EXISTS (SELECT 1 FROM activity.hash_chain h WHERE h.kind = 'event' AND h.id = a.id))
                    || ' ' || (SELECT count(*) - count(DISTINCT id) FROM activity.hash_chain WHERE kind = 'event')
                    || ' ' || (SELECT count(*) FROM (SELECT 1 FROM activity.hash_chain GROUP BY workspace_id
                                                     HAVING min(seq) <> 1 OR max(seq) <> count(*)) g)"

plan=147
echo "1..$plan"
fresh "$src"
cur=$(date -u +%Y-%m-01)
m5=$(q "$src" "SELECT to_char(date '$cur' - interval '5 months', 'YYYY-MM-DD')")
p5="activity_partitions.activities_p${m5//-/}"
psql -X -q -v ON_ERROR_STOP=1 -d "$src" >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION activity;
-- transaction ids ahead of a new cluster's (for the restore into another
-- cluster below): 3000 transactions
DO \$\$ BEGIN FOR i IN 1 .. 3000 LOOP PERFORM pg_current_xact_id(); COMMIT; END LOOP; END \$\$;
SELECT activity.configure(premake => 2, hash_chain => true);
SELECT count(*) FROM activity.create_partitions(date '$cur' - interval '5 months', date '$cur' + interval '3 months');
SELECT activity.register_type('post.created');
SELECT activity.register_type('auth.login');
SELECT activity.register_schema('post.created', '{"properties": {"n": {"type": "integer"}, "to": {"type": "string"},
                                                  "email": {"type": "string", "x-personal": true}}}');
-- about four months of posts in 3 workspaces and of logins in 2
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at, metadata)
SELECT 'ws' || (g % 3), 'post.created', 'u' || (g % 40), now() - g * interval '55 minutes',
       jsonb_build_object('n', g, 'to', 'u' || (g % 50), 'email', 'u' || (g % 40) || '@example.org')
FROM generate_series(1, 3000) g;
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
SELECT 'ws' || (g % 2), 'auth.login', 'u' || (g % 40), now() - g * interval '4 hours'
FROM generate_series(1, 600) g;
-- the partition of five months ago holds logins only
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
SELECT 'ws0', 'auth.login', 'u' || (g % 40), '$m5 00:00+00'::timestamptz + g * interval '2 hours'
FROM generate_series(1, 200) g;
-- outliers in the default partition
SELECT activity.record('ws1', 'post.created', 'old', '{"n": 0}', occurred_at => '1990-05-05');
SELECT activity.record('ws0', 'post.created', 'future', '{"n": 0}', occurred_at => '2090-05-05');
SELECT activity.record('ws1', 'auth.login', 'old', occurred_at => '1995-05-05');
SELECT count(*) FROM activity.maintain();
-- logins are kept 30 days (every row of the partition of five months ago
-- expires: it is dropped whole), workspace ws2 60 days
SELECT activity.add_retention('30 days', '{auth.*}');
SELECT activity.add_retention('60 days', workspace_id => 'ws2');
SELECT activity.redact('ws1', 'u7', 'ticket 1');
SELECT count(*) FROM activity.maintain();
SELECT activity.record('ws' || (g % 3), 'post.created', 'n' || g, jsonb_build_object('n', g)) FROM generate_series(1, 30) g;
SELECT count(*) FROM activity.maintain();
-- written after the last run: not chained yet when the dump is taken
SELECT activity.record('ws' || (g % 3), 'post.created', 'late' || g, jsonb_build_object('n', g)) FROM generate_series(1, 5) g;
SQL
src_rows=$(q "$src" "$rows")
src_events=$(q "$src" "SELECT count(*) FROM activity.activities")
src_rules=$(q "$src" "$rules")
src_redactions=$(q "$src" "$redactions")
src_runs=$(q "$src" "$runs")
src_chain=$(q "$src" "$chain")
src_chain_n=$(q "$src" "SELECT count(*) FROM activity.hash_chain WHERE kind = 'event'")
src_runs_n=$(q "$src" "SELECT count(*) FROM activity.maintenance_runs")
src_redactions_n=$(q "$src" "SELECT count(*) FROM activity.redactions")
src_digests=$(q "$src" "SELECT jsonb_agg(d ORDER BY d.workspace) FROM activity.chain_digest() d")
src_max_xact=$(q "$src" "SELECT max(xact_id) FROM activity.activities")

run2="(SELECT min(run_id) FROM activity.maintenance_runs WHERE steps @> '[{\"action\": \"dropped\"}]')"
ok "$(q "$src" "SELECT to_regclass('$p5') IS NULL")|$(q "$src" "SELECT string_agg(DISTINCT CASE WHEN x ->> 'action' = 'dropped' THEN 'dropped ' || (x ->> 'partition')
                                                                         ELSE 'deleted by ' || substring(x ->> 'detail' from 'retention rule [0-9]+') END, ',')
                                                      FROM activity.maintenance_runs r, jsonb_array_elements(r.steps) x
                                                      WHERE r.run_id = $run2 AND x ->> 'action' IN ('dropped', 'deleted')")" \
   "t|deleted by retention rule 1,deleted by retention rule 2,dropped $p5" \
   "setup: a run dropped the partition of $m5 (every row expired by a rule) and deleted rows of both rules"
ok "$(q "$src" "SELECT count(*) FILTER (WHERE type = 'auth.login' AND occurred_at < now() - interval '30 days')
                       + count(*) FILTER (WHERE workspace_id = 'ws2' AND occurred_at < now() - interval '60 days')
                 FROM activity.activities")" 0 \
   "setup: no event the rules expire is left in the source"
ok "$(q "$src" "SELECT events > 0 FROM activity.redactions")|$(q "$src" "SELECT count(*) > 0 FROM activity.hash_chain WHERE kind = 'redacted'")|$(q "$src" "SELECT count(*) > 0 FROM activity.hash_chain WHERE kind = 'removed'")" \
   "t|t|t" "setup: the chain holds the erasure's entries (redacted digests) and retention's (the events removed)"
ok "$(q "$src" "SELECT count(*) FROM activity.activities a WHERE NOT EXISTS (SELECT 1 FROM activity.hash_chain h WHERE h.kind = 'event' AND h.id = a.id)")" 5 \
   "setup: the 5 events written after the last maintain() are not chained"
ok "$(q "$src" "$problems")" "" "setup: verify() finds the source's chain intact"

# check DB MODE: the restored database against the source, then maintenance
# there (15 tests)
check() {
    local db=$1 mode=$2 out u3
    ok "$(q "$db" "$rows")|$(q "$db" "SELECT count(*) FILTER (WHERE xact_id IS NULL OR xact_id <= '$src_max_xact'::xid8) FROM activity.activities")" \
       "$src_rows|0" "$mode: every event once, identical in every column, xact_id the restore's"
    ok "$(q "$db" "$rules")" "$src_rules" "$mode: activity.retention_rules restored identical"
    ok "$(q "$db" "$redactions")" "$src_redactions" "$mode: activity.redactions restored identical"
    ok "$(q "$db" "$runs")" "$src_runs" "$mode: activity.maintenance_runs restored identical"
    ok "$(q "$db" "$chain")" "$src_chain" "$mode: activity.hash_chain restored identical"
    ok "$(q "$db" "$problems")" "" "$mode: verify() finds the restored chain intact"
    ok "$(qd "$db" "$problems_digests")" "" "$mode: ... and so does verify() with the digests kept from the source"

    # maintenance there: new events, one of them a login 40 days old (which
    # the restored rule deletes before it is chained), an erasure, a run;
    # more events, another run
    q "$db" "SELECT activity.record(w, 'post.created', 'd' || g, jsonb_build_object('n', g, 'to', 'u3'))
             FROM generate_series(1, 10) g, unnest('{ws0,ws1,wsnew}'::text[]) w" >/dev/null
    q "$db" "SELECT activity.record('ws0', 'auth.login', 'u3', occurred_at => now() - interval '40 days')" >/dev/null
    u3=$(q "$db" "SELECT count(*) FROM activity.activities WHERE workspace_id = 'ws0'
                    AND ('u3' IN (initiator_id, recipient_id, subject_id) OR metadata::text ~ '\"u3\"')")
    q "$db" "SELECT activity.redact('ws0', 'u3', 'ticket 2')" >/dev/null 2>&1
    out=$(q "$db" "SELECT action || ' ' || coalesce(\"rows\"::text, '') || ' ' || coalesce(detail, '') FROM activity.maintain()" 2>&1)
    q "$db" "SELECT activity.record(w, 'post.created', 'e' || g, jsonb_build_object('n', g))
             FROM generate_series(1, 5) g, unnest('{ws2,wsnew}'::text[]) w" >/dev/null
    out="$out
$(q "$db" "SELECT action || ' ' || coalesce(\"rows\"::text, '') || ' ' || coalesce(detail, '') FROM activity.maintain()" 2>&1)"
    ok "$(echo "$out" | grep -c 'failed\|WARNING\|ERROR')|$(q "$db" "SELECT count(*) FROM activity.maintenance_runs WHERE error IS NOT NULL")" "0|0" \
       "$mode: two maintain() runs there succeed"
    [ -z "$(echo "$out" | grep 'failed\|WARNING\|ERROR')" ] || echo "$out" | sed 's/^/#   /'
    ok "$(echo "$out" | grep '^deleted ' | grep -c '^deleted 1 retention rule 1 ')|$(q "$db" "SELECT count(*) FROM activity.activities WHERE type = 'auth.login' AND occurred_at < now() - interval '30 days'")" \
       "1|0" "$mode: the restored rule deletes the expired login written there"
    ok "$(q "$db" "SELECT count(*) || ' ' || count(DISTINCT id) FROM activity.activities")" "$((src_events + 40)) $((src_events + 40))" \
       "$mode: the log holds the restored events and the 40 new ones, each once"
    ok "$(q "$db" "$chain_sound")" "0 0 0" "$mode: every event is chained, none twice, each workspace's seq without a gap"
    ok "$(q "$db" "SELECT count(*) FROM activity.hash_chain WHERE kind = 'event'")" "$((src_chain_n + 45))" \
       "$mode: the chain holds the restored links, the source's 5 unchained events and the 40 new ones"
    ok "$(q "$db" "$problems")" "" "$mode: verify() finds the chain intact after maintenance, an erasure and retention there"
    ok "$(qd "$db" "$problems_digests")" "" "$mode: ... and so does verify() with the digests kept from the source"
    ok "$(q "$db" "SELECT count(*) || ' ' || count(*) FILTER (WHERE error IS NULL) FROM activity.maintenance_runs")|$(q "$db" "SELECT count(*) || ' ' || sum(events) FILTER (WHERE reason = 'ticket 2') FROM activity.redactions")" \
       "$((src_runs_n + 2)) $((src_runs_n + 2))|$((src_redactions_n + 1)) $u3" \
       "$mode: the runs and the erasure there are recorded after the restored ones (restored sequences)"
}

pg_dump -Fc -f "$work/log.dump" "$src"
ok "$?" 0 "pg_dump -Fc succeeds"

dst=activity_opsr_serial; dbs="$dbs $dst"; fresh $dst
pg_restore --exit-on-error -d $dst "$work/log.dump" 2>"$work/err"
ok "$?" 0 "custom format, serial: pg_restore --exit-on-error succeeds"
check $dst "custom serial"
# (activity.maintenance_runs.chained: "activities added to the hash chain")
ok "$(q $dst "SELECT sum(chained) FROM (SELECT chained FROM activity.maintenance_runs ORDER BY run_id DESC LIMIT 2) r")" 45 \
   "custom serial: the two runs there report 45 events chained, those they added to the chain"
todo=

dst=activity_opsr_parallel; dbs="$dbs $dst"; fresh $dst
pg_restore --exit-on-error -j 4 -d $dst "$work/log.dump" 2>"$work/err"
ok "$?" 0 "custom format, -j 4: pg_restore --exit-on-error succeeds"
check $dst "custom -j 4"

dst=activity_opsr_directory; dbs="$dbs $dst"; fresh $dst
pg_dump -Fd -j 4 -f "$work/log.dir" "$src" && pg_restore --exit-on-error -j 4 -d $dst "$work/log.dir" 2>"$work/err"
ok "$?" 0 "directory format, -j 4: pg_dump and pg_restore succeed"
check $dst "directory -j 4"

dst=activity_opsr_plain; dbs="$dbs $dst"; fresh $dst
pg_dump -Fp "$src" | psql -X -q -v ON_ERROR_STOP=1 -d $dst >/dev/null 2>"$work/err"
ok "$?" 0 "plain SQL through psql -v ON_ERROR_STOP=1 succeeds"
check $dst "plain SQL"

dst=activity_opsr_sections; dbs="$dbs $dst"; fresh $dst
pg_restore --exit-on-error --section=pre-data -d $dst "$work/log.dump" 2>"$work/err" &&
pg_restore --exit-on-error --section=data -d $dst "$work/log.dump" 2>>"$work/err" &&
pg_restore --exit-on-error --section=post-data -d $dst "$work/log.dump" 2>>"$work/err"
ok "$?" 0 "--section=pre-data, data, post-data in order succeed"
check $dst "sections"

# into a database where the extension exists already (the chain off there):
# a data-only dump that loads through the log, with activity.restoring on
dst=activity_opsr_dataonly; dbs="$dbs $dst"; fresh $dst
q $dst "CREATE EXTENSION activity"
pg_dump -Fc --data-only --load-via-partition-root -f "$work/data.dump" "$src" &&
PGOPTIONS='-c activity.restoring=on' pg_restore --exit-on-error -d $dst "$work/data.dump" 2>"$work/err"
ok "$?" 0 "--data-only (dumped with --load-via-partition-root) into an existing extension succeeds"
check $dst "data-only"

dst=activity_opsr_viaroot; dbs="$dbs $dst"; fresh $dst
pg_dump -Fc --load-via-partition-root -f "$work/root.dump" "$src" &&
PGOPTIONS='-c activity.restoring=on' pg_restore --exit-on-error -d $dst "$work/root.dump" 2>"$work/err"
ok "$?" 0 "a full dump made with --load-via-partition-root restores with activity.restoring on"
check $dst "via the root"

# a non-superuser owner of the log restores everything but the schema and
# the extension, and maintains the log (a password: pg_virtualenv's clusters
# authenticate TCP connections by password)
dst=activity_opsr_nonsuper; dbs="$dbs $dst"; fresh $dst
psql -X -q -d postgres -c "DROP ROLE IF EXISTS activity_opsr_restorer" \
     -c "CREATE ROLE activity_opsr_restorer LOGIN PASSWORD 'activity-opsr'" >/dev/null 2>&1
q $dst "CREATE EXTENSION activity; SELECT activity.set_owner('activity_opsr_restorer')" >/dev/null
pg_restore -l "$work/log.dump" | grep -Ev '(SCHEMA - activity|EXTENSION - activity|COMMENT - EXTENSION activity) ' > "$work/list"
PGPASSWORD=activity-opsr pg_restore -U activity_opsr_restorer --no-owner --exit-on-error -L "$work/list" -d $dst "$work/log.dump" 2>"$work/err"
ok "$?" 0 "a non-superuser owner of the log restores with --no-owner --exit-on-error -L"
sed 's/^/# /' "$work/err"
PGUSER=activity_opsr_restorer PGPASSWORD=activity-opsr check $dst "non-superuser"

# a tampered digest is caught (the comparison with the kept digests is not
# vacuous)
ok "$(psql -X -q -At -v ON_ERROR_STOP=1 -v digests="$(sed -E 's/"chain": "(.)/"chain": "\1x/' <<< "$src_digests")" -d activity_opsr_serial \
        <<< "SELECT DISTINCT problem FROM activity.verify(digests => :'digests'::jsonb)")" "digest mismatch" \
   "control: verify() with a kept digest altered reports a digest mismatch"

################################################################################
# A restore into another cluster, whose transaction ids are behind the source's
################################################################################
# a throwaway cluster (as postgres when run as root), reachable by its
# socket only
bindir=$(${PG_CONFIG:-pg_config} --bindir 2>/dev/null)
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
skip=
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
    skip="initdb not found"
else
    c2_dir=$(mktemp -d /tmp/activity-opsr.XXXXXX)
    [ "$(id -u)" = 0 ] && chown postgres "$c2_dir"
    if ! as_owner "$bindir/initdb" -A trust -U postgres -D "$c2_dir/data" >"$work/initdb.log" 2>&1 ||
       ! as_owner "$bindir/pg_ctl" -D "$c2_dir/data" -l "$c2_dir/log" -w \
             -o "-c listen_addresses='' -k $c2_dir -p 5432" start >/dev/null 2>&1; then
        skip="no throwaway cluster: $(tail -1 "$work/initdb.log")"
    fi
fi
if [ -n "$skip" ]; then
    for i in $(seq $((n + 1)) $plan); do echo "ok $i # skip $skip"; done
    exit 0
fi
c2() { PGHOST=$c2_dir PGPORT=5432 PGUSER=postgres PGPASSWORD= PGDATABASE= "$@"; }
dst=activity_opsr_other
c2 createdb $dst
ok "$(c2 q $dst "SELECT pg_current_xact_id() < '$src_max_xact'::xid8")" t \
   "other cluster: its transaction ids are behind those of the source's rows"
c2 pg_restore --exit-on-error -d $dst "$work/log.dump" 2>"$work/err"
ok "$?" 0 "other cluster: pg_restore --exit-on-error succeeds"
ok "$(c2 q $dst "$rows")|$(c2 q $dst "SELECT count(*) FILTER (WHERE xact_id IS NULL OR xact_id >= pg_current_xact_id()) FROM activity.activities")" \
   "$src_rows|0" "other cluster: every event once, identical in every column, xact_id the restore's (none in this cluster's future)"
# a change feed consumer started from the beginning there, read now and
# again after the cluster's transaction ids have passed the source's
c2 q $dst "SELECT activity.create_consumer('c_other', start => 'beginning')" >/dev/null
c2 q $dst "SELECT id FROM activity.changes('c_other', 100000)" >"$work/feed_other.ids"
ok "$(c2 q $dst "$chain")|$(c2 q $dst "$rules")|$(c2 q $dst "$redactions")|$(c2 q $dst "$runs")" \
   "$src_chain|$src_rules|$src_redactions|$src_runs" "other cluster: the chain, rules, erasures and runs restored identical"
ok "$(c2 q $dst "$problems")" "" "other cluster: verify() finds the restored chain intact"

# an event written there before the first maintain(): written after the
# chain's last extension (in the source), it is not "inserted"
c2 q $dst "SELECT activity.record('ws1', 'post.created', 'o1', '{\"n\": 1}')" >/dev/null
ok "$(c2 q $dst "$problems")" "" "other cluster: an event written there before any maintain() is not reported inserted"
out=$(c2 q $dst "SELECT action FROM activity.maintain()" 2>&1)
ok "$(echo "$out" | grep -c 'failed\|WARNING')|$(c2 q $dst "$problems")|$(c2 q $dst "$chain_sound")" "0||0 0 0" \
   "other cluster: the first maintain() chains the rest, verify() finds the chain intact"

# the cluster's transaction ids pass those of the source's rows; new events
c2 q $dst "DO \$\$ BEGIN WHILE pg_current_xact_id() <= '$src_max_xact'::xid8 LOOP COMMIT; END LOOP; END \$\$" >/dev/null
c2 q $dst "SELECT activity.record(w, 'post.created', 'o' || g, jsonb_build_object('n', g))
           FROM generate_series(2, 11) g, unnest('{ws0,ws1}'::text[]) w" >/dev/null
out=$(c2 q $dst "SELECT action || ' ' || coalesce(detail, '') FROM activity.maintain()" 2>&1)
ok "$(echo "$out" | grep -c 'failed\|WARNING')|$(c2 q $dst "SELECT count(*) FROM activity.maintenance_runs WHERE error IS NOT NULL")" "0|0" \
   "other cluster: maintain() succeeds once the cluster's transaction ids pass the source's"
c2 q $dst "SELECT id FROM activity.changes('c_other', 100000)" >>"$work/feed_other.ids"
ok "$(sort "$work/feed_other.ids" | uniq -d | wc -l)|$(wc -l < "$work/feed_other.ids")|$(c2 q $dst "SELECT count(*) FROM activity.activities")" \
   "0|$(c2 q $dst "SELECT count(*) FROM activity.activities")|$(c2 q $dst "SELECT count(*) FROM activity.activities")" \
   "other cluster: a consumer from the beginning gets every event once, restored ones included, after the cluster's ids pass the source's"
[ -z "$(echo "$out" | grep 'failed\|WARNING')" ] || echo "$out" | sed 's/^/#   /'
ok "$(c2 q $dst "$chain_sound")|$(c2 q $dst "SELECT count(*) FROM activity.hash_chain WHERE kind = 'event'")" "0 0 0|$((src_chain_n + 5 + 21))" \
   "other cluster: every event is chained once, the 21 written there too, each workspace's seq without a gap"
todo=
ok "$(c2 q $dst "$problems")|$(c2 qd $dst "$problems_digests")" "|" \
   "other cluster: verify() finds the chain intact, alone and against the source's digests"
