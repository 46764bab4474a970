#!/usr/bin/env bash
# TAP test: retention rules never stall the log, and remove exactly what they
# expire.
# Scenario 1: a long transaction has read an old partition every row of
# which a rule expires (ACCESS SHARE on it, held for seconds). maintain()
# under activity.lock_timeout = 300ms must not wait for it: it reports the
# drop skipped within a fraction of a second, drops another such partition
# nobody reads, and leaves every row the rule keeps as it was; once the
# transaction has ended, a later maintain() drops the partition. The ids of
# the rows gone leave activity.event_ids with them.
# Scenario 2: a rule expires 200,000 rows spread over three partitions that
# also hold rows it keeps, so they are deleted in batches (ROW EXCLUSIVE),
# not dropped. A writer inserts all along (statement_timeout 2s): into the
# current partition, into the very partitions being deleted from, rows the
# rule keeps and rows it expires. No insert waits more than about a second,
# pg_locks never shows the writer waiting, and the counts are exact: every
# row the writer inserted is there but the expired ones (deleted by that run
# or, written after it read, by the next), every expired row is gone, every
# row kept is identical.
# Needs a server reachable through the PG* environment variables.
set -uo pipefail
db=activity_rlock_test
work=$(mktemp -d)
n=0
todo=
ok() {
    local t=${todo:+ # TODO $todo}
    n=$((n + 1))
    if [ "$1" = "$2" ]; then echo "ok $n - $3$t"; else echo "not ok $n - $3$t"; echo "#   got: '$1'"; echo "#   expected: '$2'"; fi
}
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" -c "$1"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# yes/no: is "$1" below "$2" (integers)
below() { if [ "$1" -lt "$2" ]; then echo yes; else echo "no ($1 >= $2)"; fi; }
# wait_for SQL EXPECTED: poll (every 50 ms, at most 10 s) until SQL returns EXPECTED
wait_for() {
    local i
    for i in $(seq 1 200); do
        [ "$(q "$1" 2>/dev/null)" = "$2" ] && echo yes && return 0
        sleep 0.05
    done
    echo no
}
# longest statement of a psql run with \timing on, in whole milliseconds
max_time() { grep -E '^Time: ' "$1" | awk '{ t = int($2); if (t > m) m = t } END { print m + 0 }'; }
n_timed() { grep -cE '^Time: ' "$1"; }
# does the session named $1 hold (granted) lock mode $2 on relation $3?
holds() {
    echo "SELECT count(*) > 0 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
          WHERE a.application_name = '$1' AND l.mode = '$2' AND l.granted
            AND l.relation = '$3'::regclass"
}
cleanup() {
    local p
    for p in ${bg_pids:-}; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    dropdb --if-exists --force "$db" >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT
bg_pids=

echo "1..28"
dropdb --if-exists "$db" >/dev/null 2>&1
createdb "$db"

# Months (UTC): partitions from nine months ago to four ahead. Scenario 1
# uses the months nine to seven months ago (m9, m8, m7), scenario 2 those
# six to four months ago (every row there older than 30 days whatever today
# is).
cur=$(date -u +%Y-%m-01)
month() { q "SELECT to_char(date '$cur' + interval '$1 months', 'YYYY-MM-DD')"; }
m9=$(month -9); m8=$(month -8); m7=$(month -7); m6=$(month -6); m4=$(month -4); m3=$(month -3)
p9="activity_partitions.activities_p${m9//-/}"
p8="activity_partitions.activities_p${m8//-/}"
p7="activity_partitions.activities_p${m7//-/}"
# audit.read rows in the partition of a month: old_rows MONTH
old_rows() {
    q "INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
       SELECT 'ws' || (g % 3), 'audit.read', 'a' || g, '$1 00:00+00'::timestamptz + g * interval '20 minutes'
       FROM generate_series(1, 1000) g" >/dev/null
}

psql -X -q -v ON_ERROR_STOP=1 -d "$db" >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION activity;
SELECT activity.register_type(t) FROM unnest('{post.created,audit.read,bulk.imported}'::text[]) t;
SELECT count(*) FROM activity.create_partitions(date '$cur' - interval '9 months', date '$cur' + interval '4 months');
-- recent rows of every type
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
SELECT 'ws' || (g % 3), (ARRAY['post.created', 'audit.read', 'bulk.imported'])[1 + g % 3], 'r' || g, now() - g * interval '5 minutes'
FROM generate_series(1, 3000) g;
-- an outlier a rule expires, in the default partition
SELECT activity.record('ws1', 'audit.read', 'old', occurred_at => '1990-05-05');
SQL

# every row, identical in every column; each id registered once
rows="SELECT count(*) || ' ' || md5(string_agg(a::text, E'\n' ORDER BY id)) FROM activity.activities a"
ids_once="SELECT (SELECT count(*) FROM activity.event_ids) = count(*)
                 AND count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM activity.event_ids e WHERE e.id = a.id)) = 0
          FROM activity.activities a"

################################################################################
# Scenario 1: partitions every row of which a rule expires
################################################################################
q "SELECT count(*) FROM activity.add_retention('30 days', '{audit.*}')" >/dev/null
expired1="type = 'audit.read' AND occurred_at < now() - interval '30 days'"
kept1=$(q "$rows WHERE NOT ($expired1)")

# nobody reads the partition of m7: it is dropped, its ids released
old_rows "$m7"
ok "$(q "SELECT count(*) FROM $p7")|$(q "SELECT count(*) FROM activity.activities WHERE $expired1")" "1000|1001" \
   "setup: 1000 rows in the partition of $m7, all expired by the rule, and an expired outlier"
out=$(q "SET activity.lock_timeout = '300ms';
         SELECT action || '|' || coalesce(partition, '') FROM activity.maintain()" 2>&1)
ok "$(echo "$out" | grep -cxF "dropped|$p7")|$(q "SELECT to_regclass('$p7') IS NULL")|$(q "SELECT count(*) FROM activity.activities WHERE $expired1")" "1|t|0" \
   "maintain() drops the partition of $m7 and deletes the outlier"
ok "$(q "$rows WHERE NOT ($expired1)")" "$kept1" "every row the rule keeps is there, identical in every column"
ok "$(q "$ids_once")" t "the ids of the rows dropped left activity.event_ids, and only those"
todo=

# a long transaction has read the partition of m8 (m9's, expired too, nobody reads)
old_rows "$m8"; old_rows "$m9"
ok "$(q "SELECT count(*) FROM $p8")|$(q "SELECT count(*) FROM $p9")|$(q "SELECT count(*) FROM activity.activities WHERE $expired1")" "1000|1000|2000" \
   "setup: 1000 rows in each of the partitions of $m8 and $m9, all expired by the rule"
# Session A: BEGIN; SELECT count(*) FROM the partition of m8; ... kept open 5 s
PGAPPNAME=rlock_reader psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" >"$work/reader.out" 2>"$work/reader.err" <<SQL &
BEGIN;
SELECT count(*) FROM $p8;
SELECT pg_sleep(5);
COMMIT;
SQL
reader=$!; bg_pids="$bg_pids $reader"
ok "$(wait_for "$(holds rlock_reader AccessShareLock "$p8")" t)" yes "the long transaction holds ACCESS SHARE on the partition of $m8"

b_start=$(now_ms)
b_out=$(psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" -F '|' 2>&1 <<SQL
SET activity.lock_timeout = '300ms';
SELECT action, partition, coalesce("rows"::text, 'null'), detail FROM activity.maintain();
SQL
)
b_ms=$(( $(now_ms) - b_start ))
reader_still=$(q "$(holds rlock_reader AccessShareLock "$p8")")
echo "# maintain() returned in ${b_ms} ms while the transaction held the partition"
echo "$b_out" | sed 's/^/#   /'
ok "$(below "$b_ms" 5000)" yes "maintain() returns in less than 5 s, not waiting for the transaction"
ok "$(echo "$b_out" | grep -F "|$p8|" | grep '^skipped|' | cut -d'|' -f1-3)" "skipped|$p8|null" \
   "it reports the drop of the partition of $m8 skipped"
case "$(echo "$b_out" | grep -F "|$p8|" | grep '^skipped|')" in
    *"lock timeout (activity.lock_timeout is 300ms); a later run drops it") why=yes ;;
    *) why="no: $b_out" ;;
esac
ok "$why" yes "its detail says the lock was not granted within activity.lock_timeout"
ok "$reader_still" t "the transaction still held the partition when maintain() returned"
ok "$(echo "$b_out" | grep -F "|$p9|" | cut -d'|' -f1 | head -1)|$(q "SELECT to_regclass('$p9') IS NULL")" "dropped|t" \
   "the partition of $m9, which nobody reads, is dropped all the same"
todo=
ok "$(q "$rows WHERE NOT ($expired1)")" "$kept1" "every row the rule keeps is there, identical in every column"
echo "# rows left in the partition of $m8 after the skipped drop: $(q "SELECT count(*) FROM $p8")"

wait "$reader"
ok "$?|$(cat "$work/reader.out")|$(cat "$work/reader.err")" "0|1000|" "the long transaction ends without error, having counted its 1000 rows"

# a later run, the transaction gone, drops the partition
out=$(q "SET activity.lock_timeout = '300ms';
         SELECT action || '|' || coalesce(partition, '') FROM activity.maintain()" 2>&1)
ok "$(echo "$out" | grep -cxF "dropped|$p8")|$(q "SELECT to_regclass('$p8') IS NULL")" "1|t" \
   "a later maintain() drops the partition of $m8"
todo=
ok "$(q "SELECT count(*) FROM activity.activities WHERE $expired1")" 0 "every row the rule expires is gone"
ok "$(q "$rows WHERE NOT ($expired1)")" "$kept1" "every row it keeps is there, identical in every column"

################################################################################
# Scenario 2: 200,000 rows deleted in batches while a writer inserts
################################################################################
# bulk.imported rows: 200,000 from m6 to m3 (expired), with post.created
# rows in the same partitions (kept), so that no partition is dropped whole
psql -X -q -v ON_ERROR_STOP=1 -d "$db" >/dev/null <<SQL
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
SELECT 'ws' || (g % 4), 'bulk.imported', 'b' || (g % 100), '$m6 00:00+00'::timestamptz + g * interval '35 seconds'
FROM generate_series(1, 200000) g;
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
SELECT 'ws' || (g % 4), 'post.created', 'p' || g, '$m6 00:00+00'::timestamptz + g * interval '1 hour'
FROM generate_series(1, 2000) g;
VACUUM ANALYZE activity.activities;
SQL
expired2="type = 'bulk.imported' AND occurred_at < now() - interval '30 days'"
ok "$(q "SELECT count(*) FROM activity.activities WHERE $expired2")|$(q "SELECT count(DISTINCT tableoid) FROM activity.activities WHERE $expired2")|$(q "SELECT max(occurred_at) < '$m3 00:00+00' FROM activity.activities WHERE initiator_id ~ '^[bp]'")" \
   "200000|3|t" "setup: 200,000 rows the next rule expires, in 3 partitions, among rows it keeps"
kept2=$(q "$rows WHERE NOT ($expired2) AND initiator_id !~ '^w'")
q "SELECT count(*) FROM activity.add_retention('30 days', '{bulk.*}')" >/dev/null

# the writer: about 4 s of single-row inserts under statement_timeout 2s,
# each printing its commit time (ms since the epoch): now and into the
# partition of m4, rows the rule keeps (w-keep*) and rows it expires (w-exp*)
k=100
{
    echo "SET statement_timeout = '2s';"
    echo '\timing on'
    for i in $(seq 1 $k); do
        echo "SELECT 'at ' || (extract(epoch FROM clock_timestamp()) * 1000)::bigint FROM (SELECT activity.record('ws1', 'post.created', 'w-keep-now$i')) x;"
        echo "INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at) VALUES
              ('ws2', 'post.created', 'w-keep-old$i', '$m4 00:00+00'::timestamptz + interval '$i hours'),
              ('ws3', 'bulk.imported', 'w-keep-new$i', now() - interval '1 day');"
        echo "INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at) VALUES
              ('ws0', 'bulk.imported', 'w-exp$i', '$m4 00:00+00'::timestamptz + interval '$i hours 5 minutes');"
        echo "SELECT pg_sleep(0.03);"
    done
} >"$work/writer.sql"
w_keep=$((3 * k)); w_exp=$k; w_statements=$((4 * k))
( PGAPPNAME=rlock_writer psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" -f "$work/writer.sql" >"$work/writer.out" 2>"$work/writer.err"
  echo $? >"$work/writer.rc"; now_ms >"$work/writer.end" ) &
writer=$!; bg_pids="$bg_pids $writer"
writer_start=$(now_ms)
# a sampler: the writer's locks not granted, every 20 ms, until told to stop
( while [ ! -e "$work/stop" ]; do
      psql -X -q -At -d "$db" -c "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                                  WHERE a.application_name = 'rlock_writer' AND NOT l.granted" 2>/dev/null
      sleep 0.02
  done >"$work/waits" ) &
sampler=$!; bg_pids="$bg_pids $sampler"
sleep 0.5

b_start=$(now_ms)
b_out=$(q "SELECT action || '|' || coalesce(partition, '') || '|' || coalesce(\"rows\"::text, '') || '|' || coalesce(detail, '')
           FROM activity.maintain()" 2>&1)
b_end=$(now_ms)
echo "# maintain() deleted for $((b_end - b_start)) ms while the writer inserted"
echo "$b_out" | sed 's/^/#   /'
ok "$(echo "$b_out" | grep '^deleted|' | grep -c '|retention rule 2 (keep 30 days, types {bulk.\*})$')|$(echo "$b_out" | grep -c '^dropped|')" "3|0" \
   "maintain() deletes the rule's rows in the 3 partitions (none dropped whole)"
ok "$(echo "$b_out" | awk -F'|' '$1 == "deleted" && $4 ~ /^retention rule 2 / { s += $3 } END { print (s >= 200000) ? "yes" : "no: " s }')" yes \
   "it deletes at least the 200,000 rows expired before it ran"

wait "$writer"
touch "$work/stop"; wait "$sampler"
ok "$(cat "$work/writer.rc")|$(grep -c . "$work/writer.err")|$(n_timed "$work/writer.out")" "0|0|$w_statements" \
   "every insert of the writer succeeded (statement_timeout 2s never hit)"
w_max=$(max_time "$work/writer.out")
echo "# the writer's longest statement took ${w_max} ms"
ok "$(below "$w_max" 1000)" yes "no insert waited a second"
ok "$(sort -n "$work/waits" | tail -1)" 0 "pg_locks never showed the writer waiting for a lock ($(grep -c . "$work/waits") samples)"
during=$(grep -oE '^at [0-9]+' "$work/writer.out" | awk -v s="$b_start" -v e="$b_end" '$2 >= s && $2 <= e' | wc -l)
echo "# $during of the writer's record() calls returned while maintain() ran"
ok "$(below 2 "$during")|$([ "$writer_start" -lt "$b_start" ] && [ "$(cat "$work/writer.end")" -gt "$b_end" ] && echo yes)" "yes|yes" \
   "the writer inserted before, during and after maintain()"

echo "# $(q "SELECT count(*) FROM activity.activities WHERE initiator_id ~ '^w-exp'") of the writer's $w_exp expired rows are left for the next run"
# rows the writer expired after the run read them: the next run deletes
# them (those written since the last run, read by transaction id)
q "SELECT count(*) FROM activity.maintain()" >/dev/null
ok "$(q "SELECT count(*) FROM activity.activities WHERE $expired2")" 0 "after the next maintain() every row the rule expires is gone, the writer's too"
ok "$(q "SELECT count(*) FROM activity.activities WHERE initiator_id ~ '^w-keep'")|$(q "SELECT count(DISTINCT initiator_id) FROM activity.activities WHERE initiator_id ~ '^w-keep'")" \
   "$w_keep|$w_keep" "every row the writer inserted that the rule keeps is there, once ($w_keep)"
ok "$(q "$rows WHERE NOT ($expired2) AND initiator_id !~ '^w'")" "$kept2" "every other row the rule keeps is there, identical in every column"
ok "$(q "SELECT sum(deleted) FROM activity.maintenance_runs WHERE run_id > (SELECT max(run_id) - 2 FROM activity.maintenance_runs)")" \
   "$((200000 + w_exp))" "the two runs record 200,000 + $w_exp rows deleted"
# (scenario 1 may have left the ids of dropped partitions behind: see there)
ok "$(q "SELECT count(*) FROM activity.event_ids e WHERE e.occurred_at >= '$m6 00:00+00' AND e.occurred_at < '$m3 00:00+00'
                   AND NOT EXISTS (SELECT 1 FROM activity.activities a WHERE a.id = e.id)")|$(q "SELECT count(*) FROM activity.activities a
                   WHERE NOT EXISTS (SELECT 1 FROM activity.event_ids e WHERE e.id = a.id)")" "0|0" \
   "the ids of the rows deleted left activity.event_ids, every row left has its id there"
