#!/usr/bin/env bash
# TAP test: the change feed under concurrency. For about 20 s (FEED_TEST_SECONDS)
# ten writer sessions write: short transactions, autocommit record()s, long
# transactions (open for seconds while the others commit; some roll back),
# transactions that roll back, savepoints rolled back (also 80 subtransactions
# in one transaction), transactions that fail, DO blocks that COMMIT and
# ROLLBACK, COPY batches, a backfill, transactions of 800 rows; occurred_at
# now, last month, last year, 1990 and 2090. Meanwhile maintenance creates
# the partitions of last year month by month and runs maintain(), moving rows
# out of the default partition, and three readers read continuously, each
# call in its own transaction, some calls rolled back (their events must come
# again):
#   c_all       named consumer, no filter, read by two sessions at once
#   c_ws1_posts named consumer, workspace ws1 and types post.*, read by one
#               session (some calls in REPEATABLE READ)
#   stateless   changes_since() with types comment.added and post.deleted,
#               its position kept in a shell variable (some answers "lost":
#               the position not kept, so the events must come again)
# After the writers stop, each reader is drained. For each, its events, in
# the order of its committed calls, must be exactly the committed events of
# the log its filter selects (none written before it started), each once;
# none of a rolled-back transaction or savepoint; each transaction's events
# one run, in id order; within a call in (xact_id, id) order but for at most
# one new batch; a call that came back short delivered every event committed
# before it began; and if some snapshot saw T1 committed and not T2 (xid of
# T1 < xid of T2), T1 came first. Each writer's acknowledged events are in the
# log; a last maintenance changes no row, and delivers nothing again.
# Then one interleaving, three times: readers (changes() and changes_since())
# waiting for the default partition while maintenance, having moved rows of
# a committed, unread transaction out of it, commits: they must get them.
# Needs a server reachable through the PG* environment variables.
set -uo pipefail
db=activity_feed_conc_test
work=$(mktemp -d)
run_secs=${FEED_TEST_SECONDS:-20}
n=0
failed=0
planned=45
ok() { n=$((n + 1)); if [ "$1" = "$2" ]; then echo "ok $n - $3"; else failed=$((failed + 1)); echo "not ok $n - $3"; echo "#   got: '$1'"; echo "#   expected: '$2'"; fi; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" -c "$1"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
cleanup() {
    local p
    touch "$work/stop"
    for p in ${bg_pids:-}; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    if [ -n "${FEED_TEST_KEEP:-}" ]; then echo "# kept $work and database $db"; else
        dropdb --if-exists --force "$db" >/dev/null 2>&1; rm -rf "$work"; fi
}
trap cleanup EXIT
bg_pids=

echo "1..$planned"
dropdb --if-exists "$db" >/dev/null 2>&1
createdb "$db"

ly=$(( $(date -u +%Y) - 1 ))   # last year: its partitions are made during the run
psql -X -q -v ON_ERROR_STOP=1 -d "$db" >/dev/null <<SQL
CREATE EXTENSION activity;
SELECT activity.register_type('post.created');
SELECT activity.register_type('post.deleted');
SELECT activity.register_type('comment.added');
SELECT * FROM activity.maintain();
-- rows from before the readers start: never delivered
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
SELECT 'ws' || (1 + g % 3), (ARRAY['post.created', 'post.deleted', 'comment.added'])[1 + g % 3], 'pre-' || g,
       CASE g % 4 WHEN 0 THEN now() WHEN 1 THEN timestamptz '1990-03-03 00:00+00' + g * interval '1 hour'
                  WHEN 2 THEN timestamptz '2090-03-03 00:00+00' + g * interval '1 hour'
                  ELSE timestamptz '$ly-01-01 00:00+00' + g * interval '1 day' END
FROM generate_series(1, 300) g;
-- the test's own helpers and results
CREATE SCHEMA feedtest;
CREATE TABLE feedtest.ctl (stop boolean NOT NULL);
INSERT INTO feedtest.ctl VALUES (false);
CREATE FUNCTION feedtest.ws() RETURNS text LANGUAGE sql VOLATILE
    AS \$\$ SELECT (ARRAY['ws1', 'ws2', 'ws3'])[1 + floor(random() * 3)::int] \$\$;
CREATE FUNCTION feedtest.typ() RETURNS text LANGUAGE sql VOLATILE
    AS \$\$ SELECT (ARRAY['post.created', 'post.deleted', 'comment.added'])[1 + floor(random() * 3)::int] \$\$;
-- now, last month (maintain() makes its partition), last year (the
-- maintenance session makes its partitions), 1990 and 2090 (stay in the
-- default partition)
CREATE FUNCTION feedtest.occ() RETURNS timestamptz LANGUAGE sql VOLATILE AS \$\$
    SELECT CASE WHEN r < 0.35 THEN now()
                WHEN r < 0.45 THEN date_trunc('month', now()) - interval '10 days' - random() * interval '5 days'
                WHEN r < 0.55 THEN timestamptz '1990-01-01 00:00+00' + random() * interval '300 days'
                WHEN r < 0.65 THEN timestamptz '2090-01-01 00:00+00' + random() * interval '300 days'
                ELSE timestamptz '$ly-01-01 00:00+00' + random() * interval '364 days' END
    FROM (SELECT random() AS r) s
\$\$;
SELECT activity.create_consumer('c_all');
SELECT activity.create_consumer('c_ws1_posts', workspace_id => 'ws1', types => ARRAY['post.*']);
SQL
spos=$(q "SELECT activity.feed_position()")
# the events each reader must get (over activity.activities l)
f_c_all="true"
f_c_ws1_posts="l.workspace_id = 'ws1' AND l.type LIKE 'post.%'"
f_stateless="l.type IN ('comment.added', 'post.deleted')"

################################################################################
# The writers: generated psql scripts, each stops starting transactions at
# :deadline; "ack N" after each commit of N events; "rbid <uuid>" for events
# of transactions or savepoints rolled back; initiator_id "rb-..." for those,
# "wK-..." for the others
################################################################################
deadline_check() {
    printf '%s\n' "SELECT clock_timestamp() >= :'deadline'::timestamptz AS done \\gset" '\if :done' '\q' '\endif'
}
# ins PREFIX ROWS [RETURNING]: INSERT ... SELECT of ROWS random events
ins() {
    echo "INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
SELECT feedtest.ws(), feedtest.typ(), '$1-' || g, feedtest.occ() FROM generate_series(1, $2) g${3:+ RETURNING 'rbid ' || id};"
}
rec() { echo "SELECT activity.record(feedtest.ws(), feedtest.typ(), '$1', occurred_at => feedtest.occ()) IS NOT NULL;"; }
rec_rb() { echo "SELECT 'rbid ' || activity.record(feedtest.ws(), feedtest.typ(), '$1', occurred_at => feedtest.occ());"; }
pause() { echo "SELECT pg_sleep($1);"; }
# wait for the next multiple of 6 s (+ offset) of the wall clock: the long
# transactions are open from about 0.3 to 4 s of each 6 s, leaving
# maintenance a window without them
align() { echo "SELECT pg_sleep((6 - mod(extract(epoch FROM clock_timestamp())::numeric, 6)) + $1);"; }
now_ts=$(date -u '+%Y-%m-%d %H:%M:%S+00')
rand_ts() { # sets ts (no subshell: the scripts are generated quickly)
    case $((RANDOM % 5)) in
        0|1) ts=$now_ts ;;
        2) printf -v ts '1990-%02d-%02d 10:%02d:00+00' $((1 + RANDOM % 12)) $((1 + RANDOM % 28)) $((RANDOM % 60)) ;;
        3) printf -v ts '2090-%02d-%02d 10:%02d:00+00' $((1 + RANDOM % 12)) $((1 + RANDOM % 28)) $((RANDOM % 60)) ;;
        4) printf -v ts '%s-%02d-%02d %02d:%02d:00+00' "$ly" $((1 + RANDOM % 12)) $((1 + RANDOM % 28)) $((RANDOM % 24)) $((RANDOM % 60)) ;;
    esac
}
wss=(ws1 ws2 ws3); types=(post.created post.deleted comment.added)
copy_rows() { # PREFIX ROWS
    local j ts
    echo "COPY activity.activities (workspace_id, type, initiator_id, occurred_at) FROM STDIN;"
    for ((j = 1; j <= $2; j++)); do
        rand_ts
        printf '%s\t%s\t%s-%s\t%s\n' "${wss[RANDOM % 3]}" "${types[RANDOM % 3]}" "$1" "$j" "$ts"
    done
    echo '\.'
}

gen_short() { # w1, w2: short transactions and autocommit record()s
    local w=$1 i k
    for i in $(seq 1 2000); do
        deadline_check
        case $((RANDOM % 3)) in
            0) rec "$w-$i"; echo '\echo ack 1' ;;
            1) echo "BEGIN;"; rec "$w-$i-r"; ins "$w-$i" 3; echo "COMMIT;"; echo '\echo ack 4' ;;
            2) k=$((1 + RANDOM % 8)); echo "BEGIN;"; ins "$w-$i" $k; echo "COMMIT;"; echo "\\echo ack $k" ;;
        esac
        pause "0.0$((2 + RANDOM % 4))"
    done
}
gen_long_commit() { # w3: a long transaction in each 6 s, committed
    local w=$1 i
    for i in $(seq 1 100); do
        align 0.3
        deadline_check
        echo "BEGIN;"; rec "$w-$i-a"; ins "$w-$i-b" 5
        pause 3.5
        ins "$w-$i-c" 5; rec "$w-$i-d"
        echo "COMMIT;"; echo '\echo ack 12'
    done
}
gen_long_mixed() { # w4: long transactions, every other one rolled back; some take their xid late
    local w=$1 i
    for i in $(seq 1 100); do
        align 0.5
        deadline_check
        if [ $((i % 2)) -eq 1 ]; then
            echo "BEGIN;"; pause 1; ins "$w-$i-a" 3; pause 2.5; ins "$w-$i-b" 3; echo "COMMIT;"; echo '\echo ack 6'
        else
            echo "BEGIN;"; ins "rb-$w-$i-a" 3 r; pause 3; rec_rb "rb-$w-$i-b"; echo "ROLLBACK;"
        fi
    done
}
gen_rollback() { # w5: rolled-back transactions between committed ones
    local w=$1 i
    for i in $(seq 1 2000); do
        deadline_check
        echo "BEGIN;"; rec_rb "rb-$w-$i-a"; ins "rb-$w-$i-b" 3 r
        [ $((i % 10)) -eq 0 ] && pause 1
        echo "ROLLBACK;"
        echo "BEGIN;"; ins "$w-$i" 2; echo "COMMIT;"; echo '\echo ack 2'
        pause 0.05
    done
}
gen_savepoints() { # w6: savepoints rolled back and released; 80 subtransactions in one
    local w=$1 i
    for i in $(seq 1 2000); do
        deadline_check
        case $((i % 4)) in
            0|1) echo "BEGIN;"; ins "$w-$i-a" 1
                 echo "SAVEPOINT s1;"; rec_rb "rb-$w-$i-b"; ins "rb-$w-$i-c" 2 r; echo "ROLLBACK TO SAVEPOINT s1;"
                 ins "$w-$i-d" 1
                 echo "SAVEPOINT s2;"; ins "$w-$i-e" 2; echo "RELEASE SAVEPOINT s2;"
                 echo "SAVEPOINT s3;"; echo "SAVEPOINT s4;"; ins "rb-$w-$i-f" 1 r; echo "RELEASE SAVEPOINT s4;"; echo "ROLLBACK TO SAVEPOINT s3;"
                 echo "COMMIT;"; echo '\echo ack 4' ;;
            2)   # the transaction's first write is in a savepoint rolled back
                 echo "BEGIN;"; echo "SAVEPOINT s1;"; ins "rb-$w-$i-a" 2 r; echo "ROLLBACK TO SAVEPOINT s1;"
                 echo "SAVEPOINT s2;"; ins "$w-$i-b" 2; echo "RELEASE SAVEPOINT s2;"
                 echo "COMMIT;"; echo '\echo ack 2' ;;
            3)   if [ $((i % 20)) -eq 3 ]; then
                     # 80 subtransactions (overflowing the subxid cache), one in 4 rolled back
                     echo "DO \$\$ BEGIN FOR i IN 1 .. 80 LOOP BEGIN
  INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
  VALUES (feedtest.ws(), feedtest.typ(), CASE WHEN i % 4 = 0 THEN 'rb-' ELSE '' END || '$w-$i-' || i, feedtest.occ());
  IF i % 4 = 0 THEN RAISE EXCEPTION 'undo'; END IF;
EXCEPTION WHEN raise_exception THEN NULL; END; END LOOP; END \$\$;"
                     echo '\echo ack 60'
                 else
                     echo "BEGIN;"; echo "SAVEPOINT s1;"; ins "$w-$i-a" 3; echo "RELEASE SAVEPOINT s1;"; echo "COMMIT;"; echo '\echo ack 3'
                 fi ;;
        esac
        pause 0.03
    done
}
gen_copy() { # w7: COPY batches, some in a transaction rolled back
    local w=$1 i k
    for i in $(seq 1 1000); do
        deadline_check
        k=$((20 + RANDOM % 80))
        case $((i % 4)) in
            0) copy_rows "$w-$i" $k; echo "\\echo ack $k" ;;
            1) echo "BEGIN;"; copy_rows "$w-$i-a" $k; copy_rows "$w-$i-b" 10; echo "COMMIT;"; echo "\\echo ack $((k + 10))" ;;
            2) echo "BEGIN;"; copy_rows "$w-$i" $k; echo "COMMIT;"; echo "\\echo ack $k" ;;
            3) echo "BEGIN;"; copy_rows "rb-$w-$i" $k; echo "ROLLBACK;" ;;
        esac
        pause 0.1
    done
}
gen_backfill() { # w8: last year's events, some batches rolled back
    local w=$1 i k
    for i in $(seq 1 1000); do
        deadline_check
        k=$((20 + RANDOM % 60))
        local p="$w-$i" end="COMMIT"
        [ $((i % 5)) -eq 0 ] && p="rb-$w-$i" && end="ROLLBACK"
        echo "BEGIN;"
        echo "INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
SELECT feedtest.ws(), feedtest.typ(), '$p-' || g, timestamptz '$ly-01-01 00:00+00' + random() * interval '364 days'
FROM generate_series(1, $k) g;"
        echo "$end;"
        [ "$end" = COMMIT ] && echo "\\echo ack $k"
        pause 0.1
    done
}
gen_do_errors() { # w9: DO blocks that COMMIT and ROLLBACK; transactions that fail
    local w=$1 i
    for i in $(seq 1 1000); do
        deadline_check
        echo "DO \$\$ BEGIN FOR i IN 1 .. 10 LOOP
  INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
  SELECT feedtest.ws(), feedtest.typ(), CASE WHEN i % 3 = 0 THEN 'rb-' ELSE '' END || '$w-$i-' || i || '-' || g, feedtest.occ()
  FROM generate_series(1, 2) g;
  IF i % 3 = 0 THEN ROLLBACK; ELSE COMMIT; END IF;
  PERFORM pg_sleep(0.01);
END LOOP; END \$\$;"
        echo '\echo ack 14'
        echo '\set ON_ERROR_STOP off'
        echo "BEGIN;"; rec_rb "rb-$w-$i-x"; echo "SELECT 1 / 0;"; echo "COMMIT;"
        echo "BEGIN;"; ins "$w-$i-y" 1; echo "SAVEPOINT s;"; rec_rb "rb-$w-$i-z"; echo "SELECT 1 / 0;"
        echo "ROLLBACK TO SAVEPOINT s;"; ins "$w-$i-w" 1; echo "COMMIT;"
        echo '\set ON_ERROR_STOP on'
        echo '\echo ack 2'
        pause 0.1
    done
}
gen_big() { # w10: transactions of 800 events (read over several calls), autocommit record()s
    local w=$1 i j
    for i in $(seq 1 200); do
        deadline_check
        if [ $((i % 2)) -eq 1 ]; then
            echo "BEGIN;"; ins "$w-$i-a" 800; echo "COMMIT;"; echo '\echo ack 800'
        else
            echo "BEGIN;"; ins "$w-$i-a" 400; pause 1.5; ins "$w-$i-b" 400; echo "COMMIT;"; echo '\echo ack 800'
        fi
        for j in $(seq 1 10); do rec "$w-$i-r$j"; echo '\echo ack 1'; pause 0.1; done
    done
}
gen_short w1 >"$work/w1.sql"; gen_short w2 >"$work/w2.sql"
gen_long_commit w3 >"$work/w3.sql"; gen_long_mixed w4 >"$work/w4.sql"
gen_rollback w5 >"$work/w5.sql"; gen_savepoints w6 >"$work/w6.sql"
gen_copy w7 >"$work/w7.sql"; gen_backfill w8 >"$work/w8.sql"
gen_do_errors w9 >"$work/w9.sql"; gen_big w10 >"$work/w10.sql"
writers="w1 w2 w3 w4 w5 w6 w7 w8 w9 w10"

# the observer: a snapshot every 50 ms, for the order check
{
    for i in $(seq 1 3000); do
        echo "SELECT stop FROM feedtest.ctl \\gset"; echo '\if :stop'; echo '\q'; echo '\endif'
        echo "SELECT pg_current_snapshot();"; pause 0.05
    done
} >"$work/observer.sql"

################################################################################
# The readers. Files (fields separated by "|"):
#   R.calls  reader|consumer|call|limit|events|delivered before|delivered after|ending|snapshot
#   R.deliv  reader|consumer|call|seq|id|xact_id|initiator_id|ending
# ending is COMMIT, ROLLBACK (changes() rolled back) or LOST (changes_since()
# answer not kept); the snapshot is taken before the call, in its transaction
################################################################################
last_n=0
# named_call READER CONSUMER CALL LIMIT ENDING [ISOLATION]
named_call() {
    local r=$1 c=$2 k=$3 lim=$4 end=$5 iso=${6:-READ COMMITTED} out
    out=$(psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" 2>>"$work/$r.err" <<SQL
BEGIN ISOLATION LEVEL $iso;
SELECT 'S|' || pg_current_snapshot();
SELECT 'E|' || id || '|' || xact_id || '|' || initiator_id FROM activity.changes('$c', $lim);
SELECT 'D|' || delivered FROM activity.feed_consumers WHERE name = '$c';
$end;
SQL
)
    if [ $? -ne 0 ]; then echo "$k $iso" >>"$work/$r.failed"; last_n=-1; return 1; fi
    last_n=$(printf '%s\n' "$out" | awk -F'|' -v r="$r" -v c="$c" -v k="$k" -v lim="$lim" -v end="$end" \
                 -v calls="$work/$r.calls" -v del="$work/$r.deliv" '
        $1 == "S" { snap = $2 }
        $1 == "E" { m++; print r "|" c "|" k "|" m "|" $2 "|" $3 "|" $4 "|" end >> del }
        $1 == "D" { d = $2 }
        END { print r "|" c "|" k "|" lim "|" m + 0 "|" d - m "|" d "|" end "|" snap >> calls; print m + 0 }')
}
named_loop() { # READER CONSUMER: until the stop file
    local r=$1 c=$2 k=0 lim end iso
    while [ ! -e "$work/stop" ]; do
        k=$((k + 1))
        if [ $((RANDOM % 4)) -eq 0 ]; then lim=$((1 + RANDOM % 20)); else lim=$((50 + RANDOM % 150)); fi
        end=COMMIT; { [ $((RANDOM % 8)) -eq 0 ] || [ $((k % 8)) -eq 3 ]; } && end=ROLLBACK
        iso="READ COMMITTED"; [ "$c" = c_ws1_posts ] && [ $((RANDOM % 6)) -eq 0 ] && iso="REPEATABLE READ"
        named_call "$r" "$c" "$k" "$lim" "$end" "$iso"
        sleep 0.0$((1 + RANDOM % 4))
    done
    echo "$k" >"$work/$r.k"
}
# the stateless reader keeps its position and count in files (its loop runs
# in a subshell; the drain goes on from where it ended)
echo "$spos" >"$work/stateless.pos"; echo 0 >"$work/stateless.count"
stateless_call() { # CALL LIMIT ENDING
    local k=$1 lim=$2 end=$3 pos cnt out
    pos=$(cat "$work/stateless.pos"); cnt=$(cat "$work/stateless.count")
    out=$(psql -X -q -At -v ON_ERROR_STOP=1 -v pos="$pos" -v lim="$lim" -d "$db" 2>>"$work/stateless.err" <<'SQL'
SELECT 'S|' || pg_current_snapshot();
SELECT CASE WHEN event IS NULL THEN 'P|' || position
            ELSE 'E|' || (event).id || '|' || (event).xact_id || '|' || (event).initiator_id END
FROM activity.changes_since(:'pos', :lim, types => ARRAY['comment.added', 'post.deleted']);
SQL
)
    if [ $? -ne 0 ]; then echo "$k" >>"$work/stateless.failed"; last_n=-1; return 1; fi
    printf '%s\n' "$out" | awk -F'|' -v k="$k" -v lim="$lim" -v end="$end" -v cnt="$cnt" \
        -v calls="$work/stateless.calls" -v del="$work/stateless.deliv" -v posf="$work/stateless.newpos" '
        $1 == "S" { snap = $2 }
        $1 == "E" { m++; if (p != "") bad = 1; print "stateless|stateless|" k "|" m "|" $2 "|" $3 "|" $4 "|" end >> del }
        $1 == "P" { if (p != "") bad = 1; p = $2 }
        END { if (p == "") bad = 1
              print "stateless|stateless|" k "|" lim "|" m + 0 "|" cnt "|" cnt + m "|" end "|" snap >> calls
              print m + 0 > (posf ".n"); print p > posf; if (bad) print k >> (posf ".bad") }'
    last_n=$(cat "$work/stateless.newpos.n")
    if [ "$end" = COMMIT ]; then
        cp "$work/stateless.newpos" "$work/stateless.pos"; echo $((cnt + last_n)) >"$work/stateless.count"
    fi
}
stateless_loop() {
    local k=0 lim end
    while [ ! -e "$work/stop" ]; do
        k=$((k + 1))
        if [ $((RANDOM % 4)) -eq 0 ]; then lim=$((1 + RANDOM % 20)); else lim=$((50 + RANDOM % 150)); fi
        end=COMMIT; { [ $((RANDOM % 8)) -eq 0 ] || [ $((k % 8)) -eq 3 ]; } && end=LOST
        stateless_call "$k" "$lim" "$end"
        sleep 0.0$((1 + RANDOM % 4))
    done
    echo "$k" >"$work/stateless.k"
}
# the maintenance session: last year's partitions one month after the other
# (moving its rows out of the default partition), and maintain()
maint_loop() {
    local i=1 out m
    while [ ! -e "$work/stop" ]; do
        if [ $i -le 12 ]; then
            m=$(printf '%s-%02d-01 00:00+00' "$ly" $i)
            out=$(q "SELECT action || '|' || coalesce(\"rows\"::text, '') FROM activity.create_partitions('$m', timestamptz '$m' + interval '1 month')" 2>>"$work/maint.err")
            echo "$(now_ms)|create_partitions $i|$(echo $out)" >>"$work/maint.log"
            case "$out" in created*) i=$((i + 1)) ;; esac
        fi
        out=$(q "SELECT action || '|' || coalesce(\"rows\"::text, '') FROM activity.maintain()" 2>>"$work/maint.err")
        echo "$(now_ms)|maintain|$(echo $out)" >>"$work/maint.log"
        sleep 0.3
    done
}

################################################################################
# The run
################################################################################
deadline=$(q "SELECT clock_timestamp() + interval '$run_secs seconds'")
start=$(now_ms)
PGAPPNAME=feed_observer psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" -f "$work/observer.sql" >"$work/observer.out" 2>"$work/observer.err" &
bg_pids="$bg_pids $!"
named_loop c_all_a c_all & bg_pids="$bg_pids $!"; readers="$!"
named_loop c_all_b c_all & bg_pids="$bg_pids $!"; readers="$readers $!"
named_loop c_ws1_posts c_ws1_posts & bg_pids="$bg_pids $!"; readers="$readers $!"
stateless_loop & bg_pids="$bg_pids $!"; readers="$readers $!"
maint_loop & bg_pids="$bg_pids $!"; maint=$!
wpids=
for w in $writers; do
    ( PGAPPNAME=feed_$w psql -X -q -At -v ON_ERROR_STOP=1 -v deadline="$deadline" -d "$db" -f "$work/$w.sql" \
          >"$work/$w.out" 2>"$work/$w.err"
      echo $? >"$work/$w.rc"; now_ms >"$work/$w.end" ) &
    bg_pids="$bg_pids $!"; wpids="$wpids $!"
done


for p in $wpids; do wait "$p"; done
writers_ms=$(( $(now_ms) - start ))
touch "$work/stop"
q "UPDATE feedtest.ctl SET stop = true" >/dev/null
for p in $readers $maint; do wait "$p"; done
wait
bg_pids=
echo "# writers ran for ${writers_ms} ms; readers made $(cat "$work"/c_all_a.k) + $(cat "$work"/c_all_b.k) (c_all), $(cat "$work"/c_ws1_posts.k) (c_ws1_posts), $(cat "$work"/stateless.k) (stateless) calls"

rcs=; for w in $writers; do rcs="$rcs$(cat "$work/$w.rc")"; done
ok "$rcs" 0000000000 "every writer session ends without error"
errs=0; for w in w1 w2 w3 w4 w5 w6 w7 w8 w10; do errs=$((errs + $(grep -c . "$work/$w.err"))); done
ok "$errs" 0 "no writer but w9 wrote anything to stderr"
ok "$(grep -c 'ERROR' "$work/w9.err")|$(grep -vc 'ERROR:  division by zero' "$work/w9.err")|$(grep -c '^ack 2$' "$work/w9.out")" \
   "$(( 2 * $(grep -c '^ack 2$' "$work/w9.out") ))|0|$(grep -c '^ack 2$' "$work/w9.out")" \
   "w9's only errors are its two divisions by zero per round"
# (a REPEATABLE READ call whose snapshot predates a partition maintenance
# attached is refused, 40001, with its hint and context: it would miss the
# rows the attach moved)
partition_errs=$(cat "$work"/*.err 2>/dev/null | grep -c "ERROR:  the log's partitions changed after this transaction's snapshot")
ok "$(cat "$work"/*.err 2>/dev/null | grep -v -e 'division by zero' \
        -e "ERROR:  the log's partitions changed after this transaction's snapshot" \
        -e '^HINT:  Retry the transaction (the change feed reads with a snapshot taken after' \
        -e '^CONTEXT:  PL/pgSQL function activity._changes_chunk' -e '^PL/pgSQL function activity.changes' | grep -c .)" 0 \
   "no reader, maintenance or observer session got an error or a warning (but 40001 for a REPEATABLE READ snapshot older than a partition)"
ok "$(cat "$work"/*.failed 2>/dev/null | grep -vc 'REPEATABLE READ')" 0 "no call of a reader failed (but for serialization in REPEATABLE READ)"
ok "$(cat "$work"/*.failed 2>/dev/null | grep -c .)" "$partition_errs" \
   "no call in REPEATABLE READ failed (one reader per consumer) but those refused for a snapshot older than a partition ($partition_errs)"

# drain each reader until a call comes back empty
drain() { # READER CONSUMER|stateless BASE (call numbers from BASE + 1)
    local k=$3 i
    for i in $(seq 1 1000); do
        k=$((k + 1))
        if [ "$2" = stateless ]; then stateless_call "$k" 500 COMMIT; else named_call "$1" "$2" "$k" 500 COMMIT; fi
        [ "$last_n" = 0 ] && echo yes && return
        [ "$last_n" -lt 0 ] && echo "no: call failed" && return
    done
    echo "no: not empty after 1000 calls"
}
ok "$(drain c_all_drain c_all 100000)" yes "c_all is drained (a call comes back empty)"
ok "$(drain c_ws1_posts_drain c_ws1_posts 100000)" yes "c_ws1_posts is drained"
ok "$(drain stateless stateless 100000)" yes "the stateless reader is drained"

# the rows written meanwhile, and the work maintenance did during the run
acks=0; for w in $writers; do acks=$((acks + $(grep '^ack ' "$work/$w.out" | awk '{ s += $2 } END { print s + 0 }'))); done
per_writer_ok=yes
for w in $writers; do
    a=$(grep '^ack ' "$work/$w.out" | awk '{ s += $2 } END { print s + 0 }')
    l=$(q "SELECT count(*) FROM activity.activities WHERE initiator_id LIKE '$w-%'")
    [ "$a" = "$l" ] || per_writer_ok="no: $w acknowledged $a events, the log has $l"
done
ok "$per_writer_ok" yes "each writer's acknowledged events ($acks in all) are in the log, no more"
grep -h '^rbid ' "$work"/w*.out | cut -c6- >"$work/rbids"
ok "$(q "SELECT count(*) FROM activity.activities WHERE initiator_id LIKE 'rb-%'")" 0 "no event of a transaction or savepoint rolled back is in the log"
moved=$(grep '|create_partitions' "$work/maint.log" | grep -o 'created|[0-9]*' | awk -F'|' '{ s += $2 } END { print s + 0 }')
made=$(grep '|create_partitions' "$work/maint.log" | grep -c 'created|')
skipped=$(grep -c 'skipped|' "$work/maint.log")
mmoved=$(grep '|maintain|' "$work/maint.log" | grep -o 'created|[0-9]*' | awk -F'|' '{ s += $2 } END { print s + 0 }')
echo "# maintenance during the run: $made partitions of $ly made moving $moved rows, maintain() moved $mmoved rows, $skipped steps skipped"
ok "$(test "$made" -ge 2 && test "$moved" -gt 0 && echo yes)" yes "maintenance made partitions of last year during the run, moving rows out of the default partition"

# last maintenance: every partition of last year and maintain(), until
# nothing is left to do: no row changes, nothing is delivered again
rows="SELECT count(*) || ' ' || md5(string_agg(a::text, E'\n' ORDER BY id)) FROM activity.activities a"
before=$(q "$rows")
for i in $(seq 1 20); do
    out=$(q "SELECT action FROM activity.create_partitions('$ly-01-01 00:00+00', '$((ly + 1))-01-01 00:00+00')
             UNION ALL SELECT action FROM activity.maintain()" 2>&1)
    echo "$out" | grep -qE 'skipped|deferred|ERROR' || break
done
ok "$(q "$rows")" "$before" "a last maintenance moves rows but changes none: the log is identical, every column"
ok "$(q "SELECT count(*) FROM activity_partitions.activities_default
         WHERE occurred_at >= '2000-01-01 00:00+00' AND occurred_at < '2080-01-01 00:00+00'")" 0 \
   "only the events of 1990 and 2090 are left in the default partition"
ok "$(q "SELECT count(*) FROM activity.partitions() WHERE lower >= '$ly-01-01 00:00+00' AND upper <= '$((ly + 1))-01-01 00:00+00'")" 12 \
   "last year has its 12 partitions"
ok "$(drain c_all_drain c_all 200000)|$(drain c_ws1_posts_drain c_ws1_posts 200000)|$(drain stateless stateless 200000)" "yes|yes|yes" \
   "after it, every reader's next call is empty: no moved row is delivered again"

################################################################################
# The checks
################################################################################
mkdir "$work/check"
cat "$work"/*.calls >"$work/check/calls"; cat "$work"/*.deliv >"$work/check/deliv"
grep -E '^[0-9]+:[0-9]+:' "$work/observer.out" >"$work/check/snaps"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" >/dev/null <<SQL
CREATE TABLE feedtest.calls (reader text, consumer text, call int, lim int, n int, d_before bigint, d_after bigint,
                             ending text, snap pg_snapshot);
CREATE TABLE feedtest.deliv (reader text, consumer text, call int, seq int, id uuid, xact_id xid8, initiator_id text, ending text);
CREATE TABLE feedtest.rbids (id uuid);
CREATE TABLE feedtest.snaps (snap pg_snapshot);
\copy feedtest.calls FROM '$work/check/calls' WITH (DELIMITER '|')
\copy feedtest.deliv FROM '$work/check/deliv' WITH (DELIMITER '|')
\copy feedtest.rbids FROM '$work/rbids'
\copy feedtest.snaps FROM '$work/check/snaps'
INSERT INTO feedtest.snaps SELECT snap FROM feedtest.calls;
-- each reader's stream: the events of its committed calls, each at its
-- place in the count of events delivered (activity.feed_consumers.delivered)
CREATE TABLE feedtest.stream AS
SELECT d.consumer, d.id, d.xact_id, d.initiator_id, d.call, d.reader, d.seq, c.d_before + d.seq AS pos
FROM feedtest.deliv d JOIN feedtest.calls c USING (reader, call)
WHERE d.ending = 'COMMIT';
-- what each must get: the committed events its filter selects, but those
-- written before it started
CREATE TABLE feedtest.expected AS
SELECT 'c_all' AS consumer, l.id, l.xact_id FROM activity.activities l WHERE l.initiator_id NOT LIKE 'pre-%' AND $f_c_all
UNION ALL
SELECT 'c_ws1_posts', l.id, l.xact_id FROM activity.activities l WHERE l.initiator_id NOT LIKE 'pre-%' AND $f_c_ws1_posts
UNION ALL
SELECT 'stateless', l.id, l.xact_id FROM activity.activities l WHERE l.initiator_id NOT LIKE 'pre-%' AND $f_stateless;
-- each transaction of a stream: where its events are, and in how many of
-- the snapshots taken (by the readers before each call, and by the
-- observer) it was committed: a transaction seen by more snapshots than
-- another committed before it (snapshots are taken one after the other,
-- and a transaction once seen committed is seen so by every later one)
CREATE TABLE feedtest.snap_xmax AS SELECT pg_snapshot_xmax(snap) AS top FROM feedtest.snaps;
CREATE TABLE feedtest.snap_xip AS SELECT x FROM feedtest.snaps, pg_snapshot_xip(snap) x;
CREATE TABLE feedtest.xacts AS
WITH t AS (SELECT consumer, xact_id, min(pos) AS minp, max(pos) AS maxp, count(*) AS n
           FROM feedtest.stream GROUP BY 1, 2),
-- snapshots whose xmax is above each transaction's xid: all of them but
-- those with xmax <= xid (counted in the order of xids, snapshots first)
k AS (SELECT xact_id, (SELECT count(*) FROM feedtest.snap_xmax) - ran AS above
      FROM (SELECT key AS xact_id, is_xact, count(*) FILTER (WHERE NOT is_xact) OVER (ORDER BY key, is_xact) AS ran
            FROM (SELECT top AS key, false AS is_xact FROM feedtest.snap_xmax
                  UNION ALL SELECT DISTINCT xact_id, true FROM t) e) r
      WHERE is_xact),
i AS (SELECT x AS xact_id, count(*) AS running FROM feedtest.snap_xip GROUP BY x)
SELECT t.*, k.above - coalesce(i.running, 0) AS seen_by
FROM t JOIN k USING (xact_id) LEFT JOIN i USING (xact_id);
CREATE INDEX ON feedtest.xacts (consumer, xact_id);
CREATE INDEX ON feedtest.stream (consumer, id);
CREATE INDEX ON feedtest.calls (reader, call);
ANALYZE feedtest.calls; ANALYZE feedtest.deliv; ANALYZE feedtest.stream; ANALYZE feedtest.expected; ANALYZE feedtest.xacts;
SQL
consumers="c_all c_ws1_posts stateless"
each() { # SQL with :c for the consumer -> "c_all=x c_ws1_posts=y stateless=z"
    local c lit out=
    for c in $consumers; do lit="'$c'"; out="$out $c=$(q "${1//:c/$lit}")"; done
    echo "${out# }"
}
all() { echo "c_all=$1 c_ws1_posts=$1 stateless=$1"; }

delivered=$(each "SELECT count(*) FROM feedtest.stream WHERE consumer = :c")
expected=$(each "SELECT count(*) FROM feedtest.expected WHERE consumer = :c")
echo "# events delivered in committed calls: $delivered"
echo "# committed events the readers' filters select: $expected"
ok "$(each "SELECT count(*) > 100 FROM feedtest.expected WHERE consumer = :c")" "$(all t)" "each reader has more than 100 events to get"
ok "$(each "SELECT count(*) - count(DISTINCT id) FROM feedtest.stream WHERE consumer = :c")" "$(all 0)" \
   "no event is delivered twice to a reader"
ok "$(each "SELECT count(*) FROM (SELECT id FROM feedtest.expected WHERE consumer = :c
                                  EXCEPT SELECT id FROM feedtest.stream WHERE consumer = :c) x")" "$(all 0)" \
   "every committed event a reader's filter selects is delivered to it"
ok "$(each "SELECT count(*) FROM (SELECT id FROM feedtest.stream WHERE consumer = :c
                                  EXCEPT SELECT id FROM feedtest.expected WHERE consumer = :c) x")" "$(all 0)" \
   "nothing else is delivered: no event outside its filter, none written before it started"
ok "$delivered" "$expected" "so each reader got exactly its committed events, each once"
ok "$(q "SELECT count(*) FROM feedtest.deliv WHERE initiator_id LIKE 'rb-%' OR initiator_id LIKE 'pre-%'")" 0 \
   "no event of a rolled-back transaction or savepoint, none of before the start, is delivered (nor read)"
ok "$(q "SELECT (SELECT count(*) > 20 FROM feedtest.rbids) AND NOT EXISTS (SELECT 1 FROM feedtest.rbids r JOIN feedtest.deliv d USING (id))
                AND NOT EXISTS (SELECT 1 FROM feedtest.rbids r JOIN activity.activities a USING (id))")" t \
   "none of the $(grep -c . "$work/rbids") ids returned in rolled-back transactions and savepoints is delivered, nor in the log"
ok "$(q "SELECT count(*) FROM feedtest.deliv d JOIN activity.activities a USING (id) WHERE d.xact_id IS DISTINCT FROM a.xact_id")|$(q "SELECT count(*) FROM activity.activities WHERE xact_id IS NULL")" "0|0" \
   "every event carries its transaction's xact_id, as delivered"
ok "$(each "SELECT count(*) = count(DISTINCT pos) AND coalesce(max(pos), 0) = count(*) AND min(pos) = 1
            FROM feedtest.stream WHERE consumer = :c")" "$(all t)" \
   "the committed calls of each reader deliver one run of events after the other (counted by activity.feed_consumers.delivered)"
ok "$(q "SELECT string_agg(c.name || '=' || c.delivered || '/' || c.lag_events || '/' || (c.gap_events IS NULL), ' ' ORDER BY c.name)
         FROM activity.consumers c")" \
   "c_all=$(q "SELECT count(*) FROM feedtest.stream WHERE consumer = 'c_all'")/0/true c_ws1_posts=$(q "SELECT count(*) FROM feedtest.stream WHERE consumer = 'c_ws1_posts'")/0/true" \
   "activity.consumers: delivered counts each event once, no lag, no gap"
ok "$(each "SELECT count(*) FROM feedtest.xacts WHERE consumer = :c AND maxp - minp + 1 <> n")" "$(all 0)" \
   "the events of a transaction are delivered together, one after the other"
ok "$(each "SELECT count(*) FROM (SELECT id, lag(id) OVER (PARTITION BY xact_id ORDER BY pos) AS prev
                                   FROM feedtest.stream WHERE consumer = :c) s WHERE id < prev")" "$(all 0)" \
   "within a transaction, in id order"
# within a call, (xact_id, id) goes up but where the call reads on into a
# new batch (at most once: the batch under way, then one up to now)
descents="SELECT reader, call, count(*) FILTER (WHERE (xact_id, id) < (pxact, pid)) AS d
          FROM (SELECT reader, call, xact_id, id, lag(xact_id) OVER w AS pxact, lag(id) OVER w AS pid
                FROM feedtest.deliv WHERE consumer = :c WINDOW w AS (PARTITION BY reader, call ORDER BY seq)) s
          GROUP BY reader, call"
ok "$(each "SELECT coalesce(max(d), 0) <= 1 FROM ($descents) x")" "$(all t)" \
   "within each call (committed or not) rows come in (xact_id, id) order, but for at most one new batch"
echo "# calls that read on into a second batch with a lower xact_id: $(each "SELECT count(*) FILTER (WHERE d = 1) FROM ($descents) x")"
ok "$(each "SELECT count(*) FROM feedtest.calls c JOIN feedtest.xacts x ON x.consumer = c.consumer
                 AND x.maxp > c.d_after AND x.xact_id < pg_snapshot_xmax(c.snap)
            WHERE c.consumer = :c AND c.ending = 'COMMIT' AND c.n < c.lim AND pg_visible_in_snapshot(x.xact_id, c.snap)")" "$(all 0)" \
   "a call that comes back short has delivered every event committed before it began: none comes later"
echo "# snapshots for the order check: $(q "SELECT count(*) FROM feedtest.snaps")"
# pairs T1, T2 where T1 has the lower xid but comes after T2
inversions="FROM feedtest.xacts t1 JOIN feedtest.xacts t2 ON t2.consumer = t1.consumer AND t1.xact_id < t2.xact_id AND t1.minp > t2.maxp
            WHERE t1.consumer = :c"
ok "$(each "SELECT count(*) $inversions AND t1.seen_by > t2.seen_by")" "$(all 0)" \
   "commit order: if a snapshot saw T1 committed and not T2 (T1's xid lower), T1's events came before T2's"
# (a reader that lags behind reads a long transaction with those that
# overtook it, in one batch, in xid order: only one that keeps up sees them
# overtaken)
overtaken=$(each "SELECT count(DISTINCT t1.xact_id) $inversions")
echo "# transactions overtaken by later ones: $overtaken"
ok "$(echo "$overtaken" | grep -qE '=[1-9]' && echo yes)" yes \
   "(readers got transactions that were overtaken: committed after later ones, delivered after them)"
ok "$(q "SELECT count(*) FROM (SELECT * FROM feedtest.xacts WHERE consumer = 'c_all' ORDER BY random() LIMIT 200) x
         WHERE x.seen_by <> (SELECT count(*) FROM feedtest.snaps s WHERE pg_visible_in_snapshot(x.xact_id, s.snap))")" 0 \
   "(the number of snapshots that saw a transaction committed is counted right)"
ok "$(each "SELECT count(*) FROM feedtest.deliv r WHERE r.consumer = :c AND r.ending <> 'COMMIT'
            AND NOT EXISTS (SELECT 1 FROM feedtest.stream s JOIN feedtest.calls c ON c.reader = r.reader AND c.call = r.call
                            WHERE s.consumer = r.consumer AND s.id = r.id AND s.pos > c.d_before)")" "$(all 0)" \
   "every event of a rolled-back (or lost) read comes again in a later committed call"
echo "# events read in rolled-back or lost calls: $(each "SELECT count(*) FROM feedtest.deliv WHERE consumer = :c AND ending <> 'COMMIT'")"
ok "$(q "SELECT count(*) FROM feedtest.calls WHERE n > lim")|$(cat "$work/stateless.newpos.bad" 2>/dev/null | grep -c .)" "0|0" \
   "no call returns more than its limit; changes_since() ends each answer with one position row"
ok "$(each "SELECT count(*) FILTER (WHERE n = lim) > 0 AND count(*) FILTER (WHERE n BETWEEN 1 AND lim - 1) > 0
            FROM feedtest.calls WHERE consumer = :c AND ending = 'COMMIT'")" "$(all t)" \
   "(each reader made full calls and short ones)"
ok "$(q "SELECT count(DISTINCT reader) FILTER (WHERE reader IN ('c_all_a', 'c_all_b')) FROM feedtest.stream WHERE consumer = 'c_all'")" 2 \
   "(c_all's events were delivered to both of its sessions)"
kinds="SELECT count(*) FILTER (WHERE a.occurred_at < '2000-01-01') > 0 AND count(*) FILTER (WHERE a.occurred_at > '2080-01-01') > 0
              AND count(*) FILTER (WHERE a.occurred_at >= '$ly-01-01' AND a.occurred_at < '$((ly + 1))-01-01') > 0
              AND count(*) FILTER (WHERE a.occurred_at > now() - interval '1 hour' AND a.occurred_at < now() + interval '1 hour') > 0
       FROM feedtest.stream s JOIN activity.activities a USING (id) WHERE s.consumer = :c"
ok "$(each "$kinds")" "$(all t)" "(each reader got events of 1990, 2090, last year and now)"
ok "$(q "SELECT count(DISTINCT split_part(initiator_id, '-', 1)) FROM feedtest.stream WHERE consumer = 'c_all'")" 10 \
   "(c_all got events of all ten writers)"
ok "$(q "SELECT count(*) FILTER (WHERE ending = 'ROLLBACK' AND n > 0) > 0 AND count(*) FILTER (WHERE ending = 'LOST' AND n > 0) > 0
         FROM feedtest.calls")" t \
   "(some reads with events were rolled back or lost)"
big="SELECT xact_id FROM activity.activities WHERE initiator_id LIKE 'w10-%' GROUP BY xact_id HAVING count(*) = 800"
ok "$(q "SELECT count(*) > 0 AND bool_and(k > 1) FROM (SELECT count(DISTINCT (reader, call)) AS k FROM feedtest.stream
         WHERE consumer = 'c_all' AND xact_id IN ($big) GROUP BY xact_id) x")" t \
   "(each transaction of 800 events is read over several calls)"
################################################################################
# The same, one interleaving at a time: readers that wait for the default
# partition while maintenance, having moved rows of one transaction out of
# it into a new partition, commits
################################################################################
wait_for() { # SQL EXPECTED: poll (every 50 ms, at most 10 s) until SQL returns EXPECTED
    local i
    for i in $(seq 1 200); do
        [ "$(q "$1" 2>/dev/null)" = "$2" ] && echo yes && return 0
        sleep 0.05
    done
    echo no
}
# three rounds, a month of 1995 each
q "SELECT activity.create_consumer('c_move')" >/dev/null
mpos=$(q "SELECT activity.feed_position()")
waited=; got_named=; got_stateless=; want=
for r in 5 6 7; do
    q "INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
       VALUES ('ws1', 'post.created', 'move$r-1', '1995-0$r-10 00:00+00'), ('ws1', 'post.created', 'move$r-2', '1995-0$r-11 00:00+00'),
              ('ws1', 'post.created', 'move$r-3', '1995-0$r-12 00:00+00'), ('ws1', 'post.created', 'move$r-4', now()),
              ('ws1', 'post.created', 'move$r-5', now())" >/dev/null
    want="$want move$r-1 move$r-2 move$r-3 move$r-4 move$r-5"
    ( PGAPPNAME=feed_move_maint psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" >>"$work/move_maint.out" 2>&1 <<SQL
BEGIN;
SELECT action || ' ' || "rows" FROM activity.create_partitions('1995-0$r-01 00:00+00', '1995-0$((r + 1))-01 00:00+00');
SELECT pg_sleep(1.5);
COMMIT;
SQL
    ) &
    mm=$!; bg_pids="$bg_pids $mm"
    wait_for "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
              WHERE a.application_name = 'feed_move_maint' AND l.granted AND l.mode = 'AccessExclusiveLock'
                AND l.relation = 'activity_partitions.activities_default'::regclass" 1 >/dev/null
    ( PGAPPNAME=feed_move_reader psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" \
          -c "SELECT initiator_id FROM activity.changes('c_move')" >"$work/move_named.out" 2>&1 ) &
    mr1=$!; bg_pids="$bg_pids $mr1"
    ( echo "SELECT coalesce('E ' || (event).initiator_id, 'P ' || position) FROM activity.changes_since(:'pos')" |
          PGAPPNAME=feed_move_reader psql -X -q -At -v ON_ERROR_STOP=1 -v pos="$mpos" -d "$db" >"$work/move_stateless.out" 2>&1 ) &
    mr2=$!; bg_pids="$bg_pids $mr2"
    waited="$waited $(wait_for "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                                WHERE a.application_name = 'feed_move_reader' AND NOT l.granted" 2)"
    wait "$mm"; wait "$mr1"; wait "$mr2"
    # what they returned, and what the next call returns
    got_named="$got_named $(cat "$work/move_named.out") $(q "SELECT initiator_id FROM activity.changes('c_move')")"
    mpos=$(grep '^P ' "$work/move_stateless.out" | cut -c3-)
    got_stateless="$got_stateless $(grep '^E ' "$work/move_stateless.out" | cut -c3-)"
    out=$(echo "SELECT coalesce('E ' || (event).initiator_id, 'P ' || position) FROM activity.changes_since(:'pos')" |
              psql -X -q -At -v ON_ERROR_STOP=1 -v pos="$mpos" -d "$db")
    mpos=$(echo "$out" | grep '^P ' | cut -c3-)
    got_stateless="$got_stateless $(echo "$out" | grep '^E ' | cut -c3-)"
done
echo "# maintenance: $(tr '\n' ' ' <"$work/move_maint.out")"
sorted() { echo $(printf '%s\n' $1 | sort); }
ok "$(echo $waited)" "yes yes yes" \
   "interleaving: in each round both readers wait for the default partition while maintenance, rows moved, has not committed"
ok "$(sorted "$got_named")" "$(sorted "$want")" \
   "interleaving: changes() delivers the rows maintenance moved meanwhile (in that call or the next), with the others of their transaction"
ok "$(sorted "$got_stateless")" "$(sorted "$want")" \
   "interleaving: so does changes_since()"

# while a long transaction is open, a consumer that has read past it waits
# for it and says so (activity.consumers.waiting_for_pids), and gets its
# activity when it commits. (Checked here, on a quiet log: during the run the
# readers may lag more than the few seconds a long transaction stays open.)
q "SELECT activity.create_consumer('c_wait')" >/dev/null
( PGAPPNAME=feed_long psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" -c "BEGIN" \
      -c "SELECT activity.record('ws1', 'post.created', 'long-1') IS NOT NULL" -c "SELECT pg_sleep(4)" -c "COMMIT" \
      >"$work/long.out" 2>&1 ) &
lp=$!; bg_pids="$bg_pids $lp"
long_open=$(wait_for "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'feed_long' AND backend_xid IS NOT NULL" 1)
# a later transaction completes: a snapshot's running list holds only the
# transactions below its xmax, one past the latest completed
q "SELECT pg_current_xact_id()" >/dev/null
read_before=$(q "SELECT count(*) FROM activity.changes('c_wait')")
waiting=$(q "SELECT EXISTS (SELECT 1 FROM activity.consumers c JOIN pg_stat_activity a ON a.pid = ANY (c.waiting_for_pids)
                            WHERE c.name = 'c_wait' AND a.application_name = 'feed_long')")
wait "$lp"
read_after=$(q "SELECT string_agg(initiator_id, ',') FROM activity.changes('c_wait')")
ok "$long_open $read_before $waiting $read_after" "yes 0 t long-1" \
   "while a long transaction is open, activity.consumers shows a consumer waiting for its session; its activity comes when it commits"

[ "$n" -eq "$planned" ] || { echo "# ran $n tests, planned $planned"; exit 1; }
[ "$failed" -eq 0 ] || { echo "# failed $failed of $n"; exit 1; }
exit 0
