#!/usr/bin/env bash
# TAP test: maintenance never stalls writers or readers, and loses nothing.
# Three sessions at once: a long reader (a BI query holding ACCESS SHARE on
# every partition, the default one included) or a long COPY (holding ROW
# EXCLUSIVE on the log), maintenance under activity.lock_timeout = 300ms,
# and a writer / reader under statement_timeout = 2s (record(), INSERT,
# COPY and page(), rows for the month maintenance is creating among them).
# Maintenance must give up within its timeout and report the step skipped;
# every insert and page() must go through, none held longer than about a
# second; a later run does the step, moving every row of that month (the
# writer's too) out of the default partition; and every row is still there,
# identical in every column, with its id registered once.
# A control run with a longer timeout shows that the reader really blocks
# maintenance (it cannot have ACCESS EXCLUSIVE on the log for the attach
# while the reader reads it) and that only the timeout bounds its wait.
# Scenario 3: a transaction that reads the default partition (page()) and
# then inserts, while maintenance waits for the log and then wants the
# default partition: no deadlock, the event is not refused.
# Needs a server reachable through the PG* environment variables.
set -uo pipefail
db=activity_mlock_test
work=$(mktemp -d)
n=0
ok() { n=$((n + 1)); if [ "$1" = "$2" ]; then echo "ok $n - $3"; else echo "not ok $n - $3"; echo "#   got: '$1'"; echo "#   expected: '$2'"; fi; }
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
# statements timed in a psql run with \timing on
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
    dropdb --if-exists "$db" >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT
bg_pids=

echo "1..68"
dropdb --if-exists "$db" >/dev/null 2>&1
createdb "$db"

# Months (UTC), computed once: cur is this month; m1, six months ago, gets
# its partition from create_partitions() (scenario 1); m2, two months ago,
# from maintain() (scenario 2, premake 3). Partitions exist from last month
# to cur + 3, so maintain() has nothing else to create, and record()'s now()
# has a partition even if the month turns during the test.
cur=$(q "SELECT to_char(date_trunc('month', now() AT TIME ZONE 'UTC'), 'YYYY-MM-DD')")
month() { q "SELECT to_char(date '$cur' + interval '$1 months', 'YYYY-MM-DD')"; }
m1=$(month -6); m1_end=$(month -5); m2=$(month -2); m2_end=$(month -1)
p1="activity_partitions.activities_p${m1//-/}"
p2="activity_partitions.activities_p${m2//-/}"
in_m1="occurred_at >= '$m1 00:00+00' AND occurred_at < '$m1_end 00:00+00'"
in_m2="occurred_at >= '$m2 00:00+00' AND occurred_at < '$m2_end 00:00+00'"

psql -X -q -v ON_ERROR_STOP=1 -d "$db" >/dev/null <<SQL
CREATE EXTENSION activity;
SELECT activity.register_type('post.created');
SELECT * FROM activity.create_partitions(date '$cur' - interval '1 month', date '$cur' + interval '4 months');
-- last month: rows in a range partition
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at, metadata)
SELECT 'ws' || (g % 3), 'post.created', 'u' || g, date '$cur' - interval '1 month' + g * interval '10 minutes',
       jsonb_build_object('n', g)
FROM generate_series(1, 1000) g;
-- a backfill of m1 and rows of m2, waiting in the default partition
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at, metadata)
SELECT 'ws' || (g % 3), 'post.created', 'b' || g, '$m1 00:00+00'::timestamptz + g * interval '5 minutes',
       jsonb_build_object('n', g)
FROM generate_series(1, 5000) g;
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at, metadata)
SELECT 'wsb', 'post.created', 'c' || g, '$m2 00:00+00'::timestamptz + g * interval '10 minutes',
       jsonb_build_object('n', g)
FROM generate_series(1, 2000) g;
-- outliers
SELECT activity.record('ws1', 'post.created', 'old', occurred_at => '1990-05-05');
SELECT activity.record('ws1', 'post.created', 'future', occurred_at => '2090-05-05');
SQL

# every row, identical in every column; rows written by the sessions of this
# test have an initiator_id starting with "w"
rows="SELECT count(*) || ' ' || md5(string_agg(a::text, E'\n' ORDER BY id)) FROM activity.activities a"
old_rows="$rows WHERE initiator_id !~ '^w'"
ids_once="SELECT (SELECT count(*) FROM activity.event_ids) = count(*)
                 AND count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM activity.event_ids e WHERE e.id = a.id)) = 0
          FROM activity.activities a"
before=$(q "$rows")
ok "$(q "SELECT count(*) FILTER (WHERE $in_m1) || ' ' || count(*) FILTER (WHERE $in_m2) || ' ' || count(*)
         FROM activity_partitions.activities_default")" "5000 2000 7002" \
   "setup: 5000 rows of $m1, 2000 of $m2 and 2 outliers wait in the default partition"

################################################################################
# Scenario 1: a long reader, maintenance, a writer
################################################################################
# Session A: a BI query holding ACCESS SHARE on every partition for 8 s
PGAPPNAME=mlock_reader psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" >"$work/reader.out" 2>"$work/reader.err" <<'SQL' &
BEGIN;
SELECT count(*) FROM activity.activities;
SELECT pg_sleep(8);
COMMIT;
SQL
reader=$!; bg_pids="$bg_pids $reader"
ok "$(wait_for "$(holds mlock_reader AccessShareLock activity_partitions.activities_default)" t)" yes \
   "the long reader holds ACCESS SHARE on the default partition"
reader_start=$(now_ms)

# Session C: a writer under statement_timeout = 2s, about 3 s long: record()
# and INSERT of rows for this month and for m1 (which go to the default
# partition), a COPY, and page() of a feed in a range partition and of one
# only in the default partition
k=40
{
    echo "SET statement_timeout = '2s';"
    echo '\timing on'
    echo "COPY activity.activities (workspace_id, type, initiator_id, occurred_at) FROM STDIN;"
    for i in 1 2 3; do printf 'ws1\tpost.created\tw1-copy%s\t%s 12:00:00+00\n' "$i" "$m1"; done
    for i in 4 5; do printf 'ws1\tpost.created\tw1-copy%s\t%s\n' "$i" "$(date -u '+%Y-%m-%d %H:%M:%S+00')"; done
    echo '\.'
    for i in $(seq 1 $k); do
        echo "SELECT activity.record('ws1', 'post.created', 'w1-now$i') IS NOT NULL;"
        echo "SELECT activity.record('ws2', 'post.created', 'w1-old$i', occurred_at => '$m1 00:00+00'::timestamptz + interval '$i hours') IS NOT NULL;"
        echo "INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)"
        echo "VALUES ('ws2', 'post.created', 'w1-ins$i', now()), ('ws0', 'post.created', 'w1-insold$i', '$m1 00:00+00'::timestamptz + interval '$i hours 30 minutes');"
        echo "SELECT 'page ' || count(*) FROM activity.page('ws1', \"limit\" => 20);"
        echo "SELECT 'page ' || count(*) FROM activity.page('wsb', \"limit\" => 20);"
        echo "SELECT pg_sleep(0.05);"
    done
} >"$work/writer.sql"
w1_rows=$((5 + 4 * k)); w1_m1_rows=$((3 + 2 * k)); w1_statements=$((1 + 6 * k))
( PGAPPNAME=mlock_writer psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" -f "$work/writer.sql" >"$work/writer.out" 2>"$work/writer.err"
  echo $? >"$work/writer.rc"; now_ms >"$work/writer.end" ) &
writer=$!; bg_pids="$bg_pids $writer"
writer_start=$(now_ms)
sleep 0.5

# Session B: maintenance, while the reader holds its locks and the writer writes
b_start=$(now_ms)
b_out=$(psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" -F '|' 2>&1 <<SQL
SET activity.lock_timeout = '300ms';
SELECT action, partition, coalesce("rows"::text, 'null'), detail FROM activity.create_partitions('$m1 00:00+00', '$m1_end 00:00+00');
SQL
)
b_end=$(now_ms)
reader_still=$(q "$(holds mlock_reader AccessShareLock activity_partitions.activities_default)")
b_ms=$((b_end - b_start))
echo "# maintenance returned in ${b_ms} ms while the reader held its locks"
ok "$(below "$b_ms" 2500)" yes "maintenance returns within 2.5 s although the reader holds its locks for 8 s"
ok "$(echo "$b_out" | cut -d'|' -f1-3)" "skipped|$p1|null" "maintenance reports the partition of $m1 skipped, no rows moved"
case "$b_out" in
    *"lock"*"(activity.lock_timeout is 300ms); a later run creates it"*) why=yes ;;
    *) why="no: $b_out" ;;
esac
ok "$why" yes "its detail says the lock was not granted within activity.lock_timeout"
ok "$reader_still" t "the reader still held its locks when maintenance gave up"
ok "$(q "SELECT to_regclass('$p1') IS NULL")" t "the partition of $m1 does not exist yet"
ok "$(q "$old_rows")" "$before" "after the skipped step every row is there, identical in every column"
ok "$(q "SELECT count(*) FROM activity_partitions.activities_default WHERE $in_m1 AND initiator_id !~ '^w'")" 5000 \
   "the rows of $m1 still wait in the default partition"

wait "$writer"
ok "$(cat "$work/writer.rc")" 0 "the writer's session ends without error"
ok "$(grep -c . "$work/writer.err")" 0 "the writer got no error and no warning (statement_timeout 2s never hit)"
ok "$(n_timed "$work/writer.out")" "$w1_statements" "every statement of the writer ran"
w_max=$(max_time "$work/writer.out")
echo "# the writer's longest statement took ${w_max} ms"
ok "$(below "$w_max" 1500)" yes "no insert, COPY or page() of the writer waited more than 1.5 s"
ok "$(grep -c '^page 20$' "$work/writer.out")" "$((2 * k))" "every page() of the writer returned a full page"
ok "$(q "SELECT count(*) || ' ' || count(*) FILTER (WHERE $in_m1) FROM activity.activities WHERE initiator_id ~ '^w1-'")" \
   "$w1_rows $w1_m1_rows" "every row the writer inserted is there ($w1_rows, $w1_m1_rows of them for $m1)"
w_end=$(cat "$work/writer.end")
echo "# the writer ran for $((w_end - writer_start)) ms"
overlap=no; [ "$writer_start" -lt "$b_start" ] && [ "$w_end" -gt "$b_end" ] && overlap=yes
ok "$overlap" yes "the writer was writing all along while maintenance ran"

# Control: with a longer timeout, maintenance keeps trying, the reader still
# in its way: it waits for ACCESS EXCLUSIVE on the log, which the reader's
# ACCESS SHARE holds back, for activity.lock_timeout (PGAPPNAME for the
# polling: B2's pid)
b2_start=$(now_ms)
PGAPPNAME=mlock_maint_wait psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" -F '|' >"$work/b2.out" 2>&1 <<SQL &
SET activity.lock_timeout = '1500ms';
SELECT action, coalesce("rows"::text, 'null') FROM activity.create_partitions('$m1 00:00+00', '$m1_end 00:00+00');
SQL
b2=$!; bg_pids="$bg_pids $b2"
ok "$(wait_for "SELECT (SELECT string_agg(l.mode, ',') FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                        WHERE a.application_name = 'mlock_maint_wait' AND NOT l.granted
                          AND l.relation = 'activity.activities'::regclass)" "AccessExclusiveLock")" yes \
   "control: while the reader is in its way, maintenance waits for ACCESS EXCLUSIVE on the log (for the attach)"
wait "$b2"
b2_ms=$(( $(now_ms) - b2_start ))
echo "# control: with activity.lock_timeout = 1500ms maintenance returned after ${b2_ms} ms"
ok "$(cat "$work/b2.out")" "skipped|null" "control: it too gives up and skips the step"
ok "$(below 1400 "$b2_ms")" yes "control: it waited its whole timeout for the reader, so only the timeout bounds the wait"

wait "$reader"; reader_rc=$?
ok "$reader_rc|$(cat "$work/reader.out")|$(cat "$work/reader.err")" "0|${before%% *}|" \
   "the reader's query ends without error and counts the rows of its snapshot"
reader_ms=$(( $(now_ms) - reader_start ))
echo "# the reader held its locks for ${reader_ms} ms"

# A later run, the reader gone: the step is done, the writer's rows of m1 moved too
ok "$(q "SET activity.lock_timeout = '300ms';
         SELECT action || ' ' || partition || ' ' || \"rows\" FROM activity.create_partitions('$m1 00:00+00', '$m1_end 00:00+00')")" \
   "created $p1 $((5000 + w1_m1_rows))" "a later run creates the partition of $m1, moving in all its $((5000 + w1_m1_rows)) rows"
ok "$(q "SELECT count(*) FROM activity_partitions.activities_default WHERE $in_m1")" 0 "no row of $m1 is left in the default partition"
ok "$(q "SELECT count(*) FROM ONLY $p1")" "$((5000 + w1_m1_rows))" "they are all in the new partition"
ok "$(q "$old_rows")" "$before" "every row that was there before is there, identical in every column"
ok "$(q "SELECT count(*) FROM activity.activities")" "$(( ${before%% *} + w1_rows ))" \
   "the log holds the rows from before plus the writer's, nothing lost"

################################################################################
# Scenario 2: a long COPY, maintenance, a reader and writer
################################################################################
# Session D: a COPY whose transaction lasts 5 s (ROW EXCLUSIVE on the log),
# with rows for m2 (the default partition) and for this month
{
    echo "BEGIN;"
    echo "COPY activity.activities (workspace_id, type, initiator_id, occurred_at) FROM STDIN;"
    for i in $(seq 1 30); do printf 'wsb\tpost.created\tw2-copyold%s\t%s 06:%02d:00+00\n' "$i" "$m2" "$i"; done
    for i in $(seq 1 20); do printf 'ws1\tpost.created\tw2-copy%s\t%s\n' "$i" "$(date -u '+%Y-%m-%d %H:%M:%S+00')"; done
    echo '\.'
    echo "SELECT pg_sleep(5);"
    echo "COMMIT;"
} >"$work/copy.sql"
( PGAPPNAME=mlock_copy psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" -f "$work/copy.sql" >"$work/copy.out" 2>"$work/copy.err"
  echo $? >"$work/copy.rc" ) &
copy=$!; bg_pids="$bg_pids $copy"
copy_sleeping=$(wait_for "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'mlock_copy' AND wait_event = 'PgSleep'" 1)
ok "$copy_sleeping $(q "$(holds mlock_copy RowExclusiveLock activity.activities)")" "yes t" \
   "the long COPY has sent its rows and holds ROW EXCLUSIVE on the log"
# rows of the session below (initiator_id w3-...) aside
rows2="$rows WHERE initiator_id !~ '^w3-'"
before2=$(q "$rows2")

# Session E: page() and inserts under statement_timeout = 2s, about 4 s long
k2=60
{
    echo "SET statement_timeout = '2s';"
    echo '\timing on'
    for i in $(seq 1 $k2); do
        echo "SELECT 'page ' || count(*) FROM activity.page('wsb', \"limit\" => 20);"
        echo "SELECT 'page ' || count(*) FROM activity.page('ws1', \"limit\" => 20);"
        echo "SELECT activity.record('wsb', 'post.created', 'w3-old$i', occurred_at => '$m2 00:00+00'::timestamptz + interval '$i hours 7 minutes') IS NOT NULL;"
        echo "SELECT pg_sleep(0.05);"
    done
} >"$work/reader2.sql"
( PGAPPNAME=mlock_reader2 psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" -f "$work/reader2.sql" >"$work/reader2.out" 2>"$work/reader2.err"
  echo $? >"$work/reader2.rc"; now_ms >"$work/reader2.end" ) &
reader2=$!; bg_pids="$bg_pids $reader2"
reader2_start=$(now_ms)
sleep 0.3

# Session B: maintain() while the COPY's transaction is open
b_start=$(now_ms)
b_out=$(psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" -F '|' 2>&1 <<SQL
SET activity.lock_timeout = '300ms';
SELECT action, partition, coalesce("rows"::text, 'null'), detail FROM activity.maintain();
SQL
)
b_end=$(now_ms)
copy_still=$(q "$(holds mlock_copy RowExclusiveLock activity.activities)")
b_ms=$((b_end - b_start))
echo "# maintain() returned in ${b_ms} ms while the COPY's transaction was open"
ok "$(below "$b_ms" 2500)" yes "maintain() returns within 2.5 s although the COPY's transaction lasts 5 s"
ok "$(echo "$b_out" | grep -F "|$p2|" | cut -d'|' -f1-3)" "skipped|$p2|null" \
   "maintain() reports the partition of $m2 skipped"
case "$(echo "$b_out" | grep -F "|$p2|")" in
    *"lock timeout"*"(activity.lock_timeout is 300ms); a later run creates it") why=yes ;;
    *) why="no: $b_out" ;;
esac
ok "$why" yes "its detail says the lock was not granted within activity.lock_timeout"
ok "$(echo "$b_out" | grep -vc '^skipped|')" 0 "maintain() did nothing else meanwhile"
ok "$copy_still" t "the COPY's transaction was still open when maintain() gave up"
ok "$(q "$rows2")" "$before2" "after the skipped step every row is there, identical in every column"

wait "$reader2"
ok "$(cat "$work/reader2.rc")|$(grep -c . "$work/reader2.err")|$(n_timed "$work/reader2.out")|$(grep -c '^page 20$' "$work/reader2.out")" \
   "0|0|$((4 * k2))|$((2 * k2))" "every page() and insert during maintain() succeeded (statement_timeout 2s never hit)"
r2_max=$(max_time "$work/reader2.out")
echo "# the longest page() or insert during maintain() took ${r2_max} ms"
ok "$(below "$r2_max" 1500)" yes "none of them waited more than 1.5 s"
r2_end=$(cat "$work/reader2.end")
overlap=no; [ "$reader2_start" -lt "$b_start" ] && [ "$r2_end" -gt "$b_end" ] && overlap=yes
ok "$overlap" yes "they ran all along while maintain() ran"

wait "$copy"
ok "$(cat "$work/copy.rc")|$(cat "$work/copy.err")" "0|" "the long COPY commits without error"
feed="SELECT (SELECT md5(string_agg(id::text || cursor::text, ',')) FROM activity.page('wsb', \"limit\" => 200))
           || (SELECT md5(string_agg(id::text || cursor::text, ',')) FROM activity.page('wsb', \"limit\" => 200, direction => 'asc'))"
feed_before=$(q "$feed")

# A later run, the COPY committed: the step is done, with the COPY's rows of m2
m2_rows=$((2000 + 30 + k2))
ok "$(q "SET activity.lock_timeout = '300ms';
         SELECT string_agg(action || ' ' || partition || ' ' || \"rows\", ', ') FROM activity.maintain() WHERE partition = '$p2'")" \
   "created $p2 $m2_rows" "a later maintain() creates the partition of $m2, moving in all its $m2_rows rows"
ok "$(q "SELECT string_agg(initiator_id, ',' ORDER BY occurred_at) FROM activity_partitions.activities_default")" "old,future" \
   "only the outliers are left in the default partition"
ok "$(q "$old_rows")" "$before" "every row that was there before is there, identical in every column"
ok "$(q "SELECT count(*) FROM activity.activities")" "$(( ${before%% *} + w1_rows + 50 + k2 ))" \
   "the log holds the rows from before plus every row written meanwhile, nothing lost"
ok "$(q "$ids_once")" t "every id is registered once in activity.event_ids"
ok "$(q "$feed")" "$feed_before" "the feed of a workspace pages identically before and after its rows moved"

################################################################################
# Scenario 3: no deadlock with a transaction that read the default partition
################################################################################
# X holds ROW EXCLUSIVE on the log for 1.5 s; maintenance (lock timeout 3 s,
# longer than X) queues for SHARE behind it; W reads the default partition (page()) and,
# 1.2 s later, inserts, so its insert queues behind maintenance's SHARE while
# it holds ACCESS SHARE on the default partition, which maintenance needs
# once X commits. Had maintenance waited for that lock, W's deadlock check
# (deadlock_timeout 500ms, run once, after the cycle has formed) would refuse
# W's event as the deadlock victim.
m3=$(month -4); m3_end=$(month -3)
q "INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
   SELECT 'wsd', 'post.created', 'd' || g, '$m3 00:00+00'::timestamptz + g * interval '1 hour' FROM generate_series(1, 100) g" >/dev/null
before3=$(q "$rows")
( PGAPPNAME=mlock_x psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" >"$work/x.out" 2>&1 <<SQL
BEGIN;
INSERT INTO activity.activities (workspace_id, type, initiator_id) VALUES ('wsd', 'post.created', 'w4-x');
SELECT pg_sleep(1.5);
COMMIT;
SQL
  echo $? >"$work/x.rc" ) &
x=$!; bg_pids="$bg_pids $x"
wait_for "$(holds mlock_x RowExclusiveLock activity.activities)" t >/dev/null
( PGAPPNAME=mlock_w psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" >"$work/w.out" 2>"$work/w.err" <<SQL
SET deadlock_timeout = '500ms';
SET statement_timeout = '5s';
BEGIN;
SELECT count(*) FROM activity.page('wsd', "limit" => 20);
SELECT pg_sleep(1.2);
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at) VALUES ('wsd', 'post.created', 'w4-w', '$m3 12:34+00');
COMMIT;
SQL
  echo $? >"$work/w.rc" ) &
w=$!; bg_pids="$bg_pids $w"
sleep 0.1
b3=$(q "SET activity.lock_timeout = '3s';
        SELECT action FROM activity.create_partitions('$m3 00:00+00', '$m3_end 00:00+00')" 2>&1)
wait "$x"; wait "$w"
ok "$(cat "$work/x.rc")|$(cat "$work/w.rc")|$(cat "$work/w.err")" "0|0|" \
   "the transaction that read the default partition and then inserted commits: no deadlock, no event refused"
case "$b3" in created|skipped) b3ok=yes ;; *) b3ok="no: $b3" ;; esac
ok "$b3ok" yes "maintenance created the partition or skipped it, without error ($b3)"
ok "$(q "SELECT count(*) FROM activity.activities WHERE initiator_id IN ('w4-x', 'w4-w')")" 2 "both events are in the log"
ok "$(q "$rows WHERE initiator_id NOT IN ('w4-x', 'w4-w')")" "$before3" "every other row is there, identical"
# whichever way it went, a later run leaves no row of that month in the default partition
q "SELECT count(*) FROM activity.create_partitions('$m3 00:00+00', '$m3_end 00:00+00')" >/dev/null
ok "$(q "SELECT count(*) FROM activity_partitions.activities_default WHERE occurred_at >= '$m3 00:00+00' AND occurred_at < '$m3_end 00:00+00'")" 0 \
   "a later run moves every row of that month out of the default partition"
ok "$(q "$ids_once")" t "every id is registered once in activity.event_ids"

################################################################################
# Scenario 4: a backfill's partitions, 240 of them, while a writer writes
################################################################################
# Every partition attached keeps inserts out of the log until the
# transaction ends; one create_partitions() call must stop after
# activity.max_lock_hold (1 s by default) and report the rest deferred, so
# the writer (statement_timeout 3s) never waits much longer than that.
# Called again, each call its own transaction, until nothing is deferred:
# every partition made, every backfilled row moved into its partition.
q "INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
   SELECT 'wsf', 'post.created', 'f' || g, timestamptz '2000-01-01 00:00+00' + g * interval '3 days'
   FROM generate_series(0, 2430) g" >/dev/null
before4=$(q "$rows")
k4=150
{
    echo "SET statement_timeout = '3s';"
    echo '\timing on'
    for i in $(seq 1 $k4); do
        echo "SELECT activity.record('ws1', 'post.created', 'w5-now$i') IS NOT NULL;"
        echo "SELECT activity.record('wsf', 'post.created', 'w5-old$i', occurred_at => timestamptz '2000-01-01 12:00+00' + interval '$((i * 47)) days') IS NOT NULL;"
        echo "SELECT pg_sleep(0.05);"
    done
} >"$work/writer4.sql"
( PGAPPNAME=mlock_writer4 psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" -f "$work/writer4.sql" >"$work/writer4.out" 2>"$work/writer4.err"
  echo $? >"$work/writer4.rc"; now_ms >"$work/writer4.end" ) &
writer4=$!; bg_pids="$bg_pids $writer4"
writer4_start=$(now_ms)
sleep 0.3
calls=0; first_ms=; first_out=; longest=0; deferred=1
b4_start=$(now_ms)
while [ "$deferred" -gt 0 ] && [ "$calls" -lt 100 ]; do
    calls=$((calls + 1))
    t0=$(now_ms)
    out=$(q "SELECT action || '|' || coalesce(lower::text, '') || '|' || coalesce(upper::text, '') || '|' || coalesce(detail, '')
             FROM activity.create_partitions('2000-01-01 00:00+00', '2020-01-01 00:00+00')" 2>&1)
    t=$(( $(now_ms) - t0 ))
    [ "$t" -gt "$longest" ] && longest=$t
    [ -z "$first_ms" ] && first_ms=$t && first_out=$out
    deferred=$(echo "$out" | grep -c '^deferred|')
done
b4_end=$(now_ms)
echo "# $calls calls of create_partitions() made the 240 partitions; the first took ${first_ms} ms, the longest ${longest} ms"
ok "$(echo "$first_out" | grep -c '^created|') $(echo "$first_out" | grep -c '^deferred|')" \
   "$(echo "$first_out" | grep -c '^created|') 1" "the first call reports the rest of the range deferred"
case "$(echo "$first_out" | grep '^deferred|')" in
    "deferred|"*"|2020-01-01 00:00:00+00|this transaction has kept inserts out of the log for "*" ms, attaching or dropping partitions (activity.max_lock_hold is 1s); the next call creates the partitions of this range still missing") why=yes ;;
    *) why="no: $(echo "$first_out" | grep '^deferred|')" ;;
esac
ok "$why" yes "the deferred row gives the range left, up to the end of the range asked for, and says why"
ok "$(below "$longest" 2000)" yes "no call held the log for much more than activity.max_lock_hold"
ok "$(below 1 "$calls")" yes "the limit split the work: it took more than one call ($calls)"
ok "$deferred" 0 "the last call deferred nothing"
ok "$(q "SELECT count(*) FROM activity.partitions() WHERE lower >= '2000-01-01 00:00+00' AND upper <= '2020-01-01 00:00+00'")" 240 \
   "all 240 partitions of the range exist"
wait "$writer4"
ok "$(cat "$work/writer4.rc")|$(grep -c . "$work/writer4.err")|$(n_timed "$work/writer4.out")" "0|0|$((3 * k4))" \
   "every insert of the writer succeeded (statement_timeout 3s never hit)"
w4_max=$(max_time "$work/writer4.out")
echo "# the writer's longest insert took ${w4_max} ms"
ok "$(below "$w4_max" 1800)" yes "no insert waited much more than activity.max_lock_hold (1 s)"
overlap=no; [ "$writer4_start" -lt "$b4_start" ] && [ "$(cat "$work/writer4.end")" -gt "$b4_end" ] && overlap=yes
ok "$overlap" yes "the writer was writing all along while the partitions were made"
ok "$(q "SELECT count(*) FROM activity_partitions.activities_default WHERE occurred_at >= '2000-01-01 00:00+00' AND occurred_at < '2020-01-01 00:00+00'")" 0 \
   "no row of the range is left in the default partition"
ok "$(q "$rows WHERE initiator_id !~ '^w5-'")" "$before4" "every row that was there before is there, identical in every column"
ok "$(q "SELECT count(*) FROM activity.activities WHERE initiator_id ~ '^w5-'")" "$((2 * k4))" "and every row the writer wrote"
ok "$(q "$ids_once")" t "every id is registered once in activity.event_ids"

# Control: with the limit lifted, one call over 360 partitions keeps an
# insert waiting for all of them
( q "SET activity.max_lock_hold = '10min';
     SELECT count(*) FROM activity.create_partitions('2020-01-01 00:00+00', '2050-01-01 00:00+00')" >"$work/c4.out" 2>&1 ) &
c4=$!; bg_pids="$bg_pids $c4"
wait_for "SELECT count(*) > 0 FROM pg_locks WHERE locktype = 'relation' AND mode = 'AccessExclusiveLock' AND granted
          AND relation = 'activity.activities'::regclass" t >/dev/null
t0=$(now_ms)
q "SELECT activity.record('ws1', 'post.created', 'w5-control') IS NOT NULL" >/dev/null
c4_ms=$(( $(now_ms) - t0 ))
wait "$c4"
echo "# control: with activity.max_lock_hold = 10min an insert waited ${c4_ms} ms"
ok "$(below 1800 "$c4_ms")" yes "control: without the limit an insert waits for the whole call"

################################################################################
# Scenario 5: retention drops as many partitions as activity.max_lock_hold allows
################################################################################
# A retention of 20 years expires the partitions of 2000 to about 2006: with
# max_lock_hold = 0 a maintain() call drops one and defers the others, each
# named; calls in their own transactions drop them all. Only rows older
# than the retention go, every one of them, and their ids with them.
cutoff=$(q "SELECT now() - interval '20 years'")
expired_parts=$(q "SELECT count(*) FROM activity.partitions() WHERE NOT is_default AND upper <= '$cutoff'")
expired_rows=$(q "SELECT count(*) FROM activity.activities a JOIN activity.partitions() p ON p.partition = a.tableoid
                  WHERE NOT p.is_default AND p.upper <= '$cutoff'")
kept=$(q "$rows WHERE tableoid NOT IN (SELECT partition FROM activity.partitions() WHERE NOT is_default AND upper <= '$cutoff')
              AND NOT (tableoid = 'activity_partitions.activities_default'::regclass AND occurred_at < '$cutoff')")
q "SELECT activity.configure(retention => '20 years')" >/dev/null
out5=$(q "SET activity.max_lock_hold = 0;
          SELECT action || '|' || coalesce(partition, '') || '|' || coalesce(detail, '') FROM activity.maintain()" 2>&1)
ok "$(echo "$out5" | grep -c '^dropped|') $(echo "$out5" | grep -c '^deferred|')" "1 $((expired_parts - 1))" \
   "maintain() under max_lock_hold = 0 drops one of the $expired_parts expired partitions and defers the others"
case "$(echo "$out5" | grep '^deferred|' | head -1)" in
    "deferred|activity_partitions.activities_p"*"|this transaction has kept inserts out of the log for "*"(activity.max_lock_hold is 0); the next call drops it") why=yes ;;
    *) why="no: $out5" ;;
esac
ok "$why" yes "each deferred drop names its partition and says why"
for i in $(seq 1 20); do
    out5=$(q "SELECT action FROM activity.maintain() WHERE action IN ('dropped', 'deferred', 'skipped')" 2>&1)
    echo "$out5" | grep -q '^deferred$' || break
done
ok "$(q "SELECT count(*) FROM activity.partitions() WHERE NOT is_default AND upper <= '$cutoff'")" 0 \
   "later calls drop every expired partition"
ok "$(q "$rows")" "$kept" "every row newer than the retention is there, identical; only older ones went"
ok "$(q "$ids_once")" t "the ids of the rows dropped are released, and only those"
ok "$(below 0 "$expired_rows")" yes "($expired_rows rows expired)"
