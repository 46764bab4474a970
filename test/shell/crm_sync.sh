#!/usr/bin/env bash
# TAP test: the CRM sync example (examples/crm-sync) on a real client, under
# crashes. A consumer of the change feed, the worker (node-postgres) pushing
# batches of 50 over HTTP to the stand-in CRM on the loopback interface, which
# upserts by event id and fails 5% of the requests on purpose (half of them
# after storing the batch, the answer lost). For about 24 s five sessions
# write: record(), INSERTs (some of 60 rows, more than a batch), COPY, events
# of 1990 and 2090 (the default partition, moved out of it by
# create_partitions() meanwhile), transactions that roll back, savepoints
# rolled back inside committed transactions, transactions left open for a
# second or for twelve. Meanwhile the CRM is killed (kill -9) and restarted,
# the worker too, the worker's connection is terminated by the server, and
# both are killed at once. Once the writers stop and the consumer has caught
# up, the CRM must hold every committed event exactly once, identical in
# every column, and no event of a transaction rolled back; deliveries of an
# event more than once are counted and allowed. The worker stops cleanly on
# SIGTERM.
# Needs Node.js >= 18 and npm (Debian: apt-get install nodejs npm) and a
# server reachable through the PG* environment variables.
set -uo pipefail
cd "$(dirname "$0")/../.."
ex=examples/crm-sync
db=activity_crm_sync_test
work=$(mktemp -d)
n=0
failed=0
ok() { n=$((n + 1)); if [ "$1" = "$2" ]; then echo "ok $n - $3"; else failed=$((failed + 1)); echo "not ok $n - $3"; echo "#   got: '$1'"; echo "#   expected: '$2'"; fi; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" -c "$1"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# yes/no: is "$1" below "$2" (integers)
below() { if [ "$1" -lt "$2" ]; then echo yes; else echo "no ($1 >= $2)"; fi; }
# wait_until SECONDS COMMAND...: poll (every 100 ms) until COMMAND succeeds
wait_until() {
    local limit=$(( $(now_ms) + $1 * 1000 )); shift
    while [ "$(now_ms)" -lt "$limit" ]; do "$@" && echo yes && return 0; sleep 0.1; done
    echo no
}
alive() { kill -0 "$1" 2>/dev/null; }
# CRM_SYNC_KEEP=1 keeps the database and the files (logs, the CRM's file) of a
# failed run
cleanup() {
    local p
    for p in ${worker:-} ${worker_b:-} ${stub:-} ${bg_pids:-}; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    if [ -n "${CRM_SYNC_KEEP:-}" ] && [ "$failed" -gt 0 ]; then
        echo "# kept: database $db, files in $work"
        return
    fi
    dropdb --if-exists --force "$db" >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT
bg_pids=
worker=
worker_b=
stub=
plan=26
echo "1..$plan"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "not ok 1 - node and npm are installed"
    echo "# the CRM sync example needs Node.js (>= 18) and npm: on Debian, apt-get install nodejs npm"
    for i in $(seq 2 $plan); do echo "not ok $i - # node and npm are missing"; done
    exit 1
fi
ok "$(node -e 'console.log(+process.versions.node.split(".")[0] >= 18)')" true "node (>= 18) and npm are installed"

# the pinned dependencies (examples/crm-sync/package-lock.json), unless the
# very versions are installed already
status=0
want=$(node -p 'require("./'$ex'/package-lock.json").packages["node_modules/pg"].version')
have=$(node -p 'require("./'$ex'/node_modules/pg/package.json").version' 2>/dev/null)
if [ "$have" != "$want" ]; then
    log=$(npm ci --prefix "$ex" --no-audit --no-fund --silent 2>&1) || status=$?
    [ "$status" -eq 0 ] || echo "$log" | sed 's/^/# /'
fi
ok "$status $(node -p 'require("./'$ex'/node_modules/pg/package.json").version' 2>/dev/null)" "0 $want" \
   "the example's dependencies are installed (npm ci in $ex: pg $want)"

dropdb --if-exists --force "$db" >/dev/null 2>&1
createdb "$db"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" >/dev/null <<'SQL'
CREATE EXTENSION activity;
SELECT activity.register_type('post.created');
SELECT * FROM activity.maintain();
SELECT activity.create_consumer('crm');
SQL

# --- the CRM and the worker ---------------------------------------------------
# The CRM's state lives in $work/crm.jsonl across its restarts; its first start
# takes a free port, later ones the same.
port=0
started() { [ "$(grep -c "$2" "$1" 2>/dev/null)" -ge "$3" ]; }
# start_stub / start_worker: start one (its pid in $stub / $worker) and wait
# until it listens / has connected: $up is then yes, else no
start_stub() {
    local before; before=$(grep -c 'listening on' "$work/stub.log" 2>/dev/null)
    node "$ex/crm-stub.js" --port "$port" --data "$work/crm.jsonl" --fail-rate 0.05 >>"$work/stub.log" 2>&1 &
    stub=$!
    up=$(wait_until 10 started "$work/stub.log" 'listening on' $((before + 1)))
}
start_worker() {
    local before; before=$(grep -c 'connected to PostgreSQL' "$work/worker.log" 2>/dev/null)
    PGDATABASE=$db node "$ex/worker.js" --consumer crm --url "http://127.0.0.1:$port/events" --batch 50 \
        --idle-ms 100 --max-backoff-ms 1000 --timeout-ms 5000 >>"$work/worker.log" 2>&1 &
    worker=$!
    up=$(wait_until 10 started "$work/worker.log" 'connected to PostgreSQL' $((before + 1)))
}
# GET a path of the CRM; /events is printed one event a line
crm_get() {
    node -e '
      require("http").get(process.argv[1], (res) => {
        let body = ""; res.setEncoding("utf8");
        res.on("data", (c) => body += c);
        res.on("end", () => {
          const doc = JSON.parse(body);
          console.log(Array.isArray(doc) ? doc.map((x) => JSON.stringify(x)).join("\n") : JSON.stringify(doc));
        });
      }).on("error", (e) => { console.error(e.message); process.exit(1); });' "http://127.0.0.1:$port$1"
}
state_field() { crm_get /state | node -e 'let s = ""; process.stdin.on("data", (c) => s += c).on("end", () => console.log(JSON.parse(s)[process.argv[1]]))' "$1"; }
crm_stored() { state_field stored 2>/dev/null || echo 0; }
stub_loaded() { tail -n 1 "$work/stub.log" | grep -oE '[0-9]+ events' | cut -d' ' -f1; }
worker_connections() { grep -c 'connected to PostgreSQL' "$work/worker.log"; }

start_stub; s1=$up
port=$(grep -oE '127\.0\.0\.1:[0-9]+' "$work/stub.log" | head -n 1 | cut -d: -f2)
start_worker; s2=$up
ok "$s1 $s2" "yes yes" "the CRM stub listens on 127.0.0.1:$port and the worker has connected"

# --- the writers ---------------------------------------------------------------
# Writers 1-4 loop for $duration s; initiator ids starting "rb-" are only ever
# written by transactions (or savepoints) that roll back.
duration=24
start=$(now_ms)
writers_end=$(( start + duration * 1000 ))
at() { local t=$(( start + $1 * 1000 - $(now_ms) )); [ "$t" -gt 0 ] && sleep "$(printf '%d.%03d' $((t / 1000)) $((t % 1000)))"; }
# psql paces the loop (pg_sleep) and quits at the end (\if, \q), whatever
# bash wrote ahead into the pipe.
writer() {
    local w=$1 i=0 m
    while [ "$(now_ms)" -lt "$writers_end" ]; do
        i=$((i + 1))
        echo "SELECT clock_timestamp() < to_timestamp($writers_end / 1000.0) AS go \gset"
        printf '%s\n' '\if :go' '\else' '\q' '\endif'
        m="jsonb_build_object('w', $w, 'i', $i, 's', E'é ✓ \"q\" \\\\ b\\n')"
        case $((i % 8)) in
        0) echo "SELECT activity.record('ws$w', 'post.created', 'w$w-$i', $m);" ;;
        1) echo "BEGIN;"
           echo "INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at, metadata) VALUES
                 ('ws$w', 'post.created', 'w$w-$i-now', now(), $m),
                 ('ws$w', 'post.created', 'w$w-$i-1990', '1990-05-0$((i % 9 + 1)) 12:00+00', $m),
                 ('ws$w', 'post.created', 'w$w-$i-2090', '2090-05-0$((i % 9 + 1)) 12:00+00', $m);"
           echo "COMMIT;" ;;
        2) echo "BEGIN;"
           echo "INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at) VALUES
                 ('ws$w', 'post.created', 'rb-w$w-$i-a', now()), ('ws$w', 'post.created', 'rb-w$w-$i-b', '1990-05-20');"
           echo "ROLLBACK;" ;;
        3) echo "BEGIN;"
           echo "SELECT activity.record('ws$w', 'post.created', 'w$w-$i-a');"
           echo "SAVEPOINT s;"
           echo "SELECT activity.record('ws$w', 'post.created', 'rb-w$w-$i-sp');"
           echo "ROLLBACK TO SAVEPOINT s;"
           echo "SELECT activity.record('ws$w', 'post.created', 'w$w-$i-b', occurred_at => '2090-05-20');"
           echo "COMMIT;" ;;
        4) echo "INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at, metadata)
                 SELECT 'ws$w', 'post.created', 'w$w-$i-g' || g, now() - g * interval '1 minute', $m FROM generate_series(1, 60) g;" ;;
        5) echo "COPY activity.activities (workspace_id, type, initiator_id, occurred_at) FROM STDIN;"
           printf 'ws%s\tpost.created\tw%s-%s-c%s\t%s\n' "$w" "$w" "$i" 1 '1990-05-10 00:00+00' "$w" "$w" "$i" 2 '2090-05-10 00:00+00' \
                  "$w" "$w" "$i" 3 "$(date -u '+%Y-%m-%d %H:%M:%S+00')"
           echo '\.' ;;
        6) echo "BEGIN;"
           echo "SELECT activity.record('ws$w', 'post.created', 'w$w-$i-open1');"
           echo "SELECT pg_sleep(0.8);"
           echo "SELECT activity.record('ws$w', 'post.created', 'w$w-$i-open2');"
           echo "COMMIT;" ;;
        7) echo "BEGIN;"
           echo "SELECT activity.record('ws$w', 'post.created', 'rb-w$w-$i-r');"
           echo "SELECT pg_sleep(0.3);"
           echo "ROLLBACK;" ;;
        esac
        echo "SELECT pg_sleep(0.1);"
    done
}
for w in 1 2 3 4; do
    ( writer "$w" | psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" >/dev/null 2>"$work/writer$w.err"
      echo "${PIPESTATUS[1]}" >"$work/writer$w.rc" ) &
    bg_pids="$bg_pids $!"
done
# writer 5: one transaction open for 12 s, across the crashes below
( psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" >/dev/null 2>"$work/writer5.err" <<'SQL'
BEGIN;
INSERT INTO activity.activities (workspace_id, type, initiator_id)
SELECT 'ws5', 'post.created', 'long-a' || g FROM generate_series(1, 10) g;
SELECT pg_sleep(12);
INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
SELECT 'ws5', 'post.created', 'long-b' || g, '1990-05-15' FROM generate_series(1, 10) g;
COMMIT;
SQL
  echo $? >"$work/writer5.rc" ) &
bg_pids="$bg_pids $!"

# --- the crashes -----------------------------------------------------------------
writers_running() { local f; for f in 1 2 3 4; do [ -e "$work/writer$f.rc" ] && return 1; done; return 0; }
crashes_mid_run=yes
mid_run() { writers_running || crashes_mid_run="no (writers done before: $1)"; }

at 4
before_kill=$(crm_stored)
mid_run "the CRM killed"
kill -9 "$stub"; wait "$stub" 2>/dev/null
echo "# t=4s: the CRM (holding $before_kill events) killed with SIGKILL"
at 7
start_stub; r1=$up
loaded1=$(stub_loaded)
echo "# t=7s: the CRM restarted, $loaded1 events read back from its file"
ok "$(below 0 "$before_kill") $r1 $(below "$((before_kill - 1))" "${loaded1:-0}")" "yes yes yes" \
   "the CRM, killed with events stored, restarts and reads them back from its file"

at 10
mid_run "the worker killed"
kill -9 "$worker"; wait "$worker" 2>/dev/null
echo "# t=10s: the worker killed with SIGKILL"
at 11
# a second worker on the same consumer for 3 s: the two take turns
PGDATABASE=$db node "$ex/worker.js" --consumer crm --url "http://127.0.0.1:$port/events" --batch 50 \
    --idle-ms 100 --max-backoff-ms 1000 --timeout-ms 5000 --verbose >"$work/worker-b.log" 2>&1 &
worker_b=$!
at 12
start_worker
ok "$up" yes "the worker, killed, restarts and connects"

at 13
# rows of 1990-05 and 2090-05 move out of the default partition while they
# are read (and written)
# are read (and written); a step the writers keep waiting is skipped and
# done by the next call
parts_made() { [ "$(q "SELECT to_regclass('activity_partitions.activities_p19900501') IS NOT NULL
                          AND to_regclass('activity_partitions.activities_p20900501') IS NOT NULL")" = t ]; }
calls=0
while ! parts_made && [ "$calls" -lt 10 ]; do
    calls=$((calls + 1))
    q "SET activity.lock_timeout = '2s';
       SELECT count(*) FROM activity.create_partitions('1990-05-01 00:00+00', '1990-06-01 00:00+00');
       SELECT count(*) FROM activity.create_partitions('2090-05-01 00:00+00', '2090-06-01 00:00+00');
       SELECT pg_sleep(1)" >/dev/null   # commit late: readers planned meanwhile must still see the moved rows
done
ok "$(parts_made && echo yes) $(q "SELECT count(*) FROM activity_partitions.activities_default
                                   WHERE occurred_at >= '1990-05-01 00:00+00' AND occurred_at < '1990-06-01 00:00+00'")" "yes 0" \
   "create_partitions() moves the rows of 1990-05 and 2090-05 out of the default partition meanwhile ($calls calls)"

at 14
kill -TERM "$worker_b"; wait "$worker_b"; b_rc=$?; worker_b=
b_events=$(grep -oE 'delivered [0-9]+ events' "$work/worker-b.log" | awk '{ s += $2 } END { print s + 0 }')
echo "# t=11-14s: a second worker on the consumer delivered $b_events events alongside the first"
ok "$b_rc $(grep -c 'connected to PostgreSQL' "$work/worker-b.log") $(tail -n 1 "$work/worker-b.log" | grep -c stopped)" "0 1 1" \
   "a second worker on the same consumer runs alongside the first and stops on SIGTERM with status 0"

at 15
mid_run "the worker's connection terminated"
c_before=$(worker_connections)
terminated=$(q "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                WHERE datname = '$db' AND application_name = 'crm-sync:crm'")
reconnected=$(wait_until 10 started "$work/worker.log" 'connected to PostgreSQL' $((c_before + 1)))
ok "$terminated $reconnected $(alive "$worker" && echo alive)" "1 yes alive" \
   "the worker's connection, terminated by the server, is made again by the same process"

at 18
mid_run "the CRM and the worker killed together"
kill -9 "$stub" "$worker"; wait "$stub" "$worker" 2>/dev/null
echo "# t=18s: the CRM and the worker killed together"
at 19
start_worker; w2=$up
at 21
start_stub; s3=$up
ok "$w2 $s3" "yes yes" "both restart, the worker first, retrying until the CRM is back"
ok "$crashes_mid_run" yes "every crash happened while the writers were writing"

# --- the end ---------------------------------------------------------------------
for f in 1 2 3 4 5; do
    while [ ! -e "$work/writer$f.rc" ]; do sleep 0.1; done
done
writers_done=$(now_ms)
echo "# the writers wrote for $(( (writers_done - start) / 1000 )) s"
cat "$work"/writer{1,2,3,4,5}.err | head -n 10 | sed "s/^/# /"
ok "$(cat "$work"/writer{1,2,3,4,5}.rc | paste -sd' ') $(cat "$work"/writer{1,2,3,4,5}.err | grep -c .)" "0 0 0 0 0 0" \
   "every writer's session ended without error"
events=$(q "SELECT count(*) FROM activity.activities")
echo "# the log holds $events events"
ok "$(q "SELECT count(*) FILTER (WHERE initiator_id ~ '^rb-') || ' ' ||
                count(*) FILTER (WHERE initiator_id ~ '^long-') || ' ' ||
                (count(*) FILTER (WHERE occurred_at < '2000-01-01') > 0) || ' ' ||
                (count(*) FILTER (WHERE occurred_at > '2080-01-01') > 0) || ' ' || (count(*) > 1000)
         FROM activity.activities")" "0 20 true true true" \
   "the log holds the writers' events (over 1000, of 1990 and 2090, the long transaction's 20), none rolled back"

caught_up() { [ "$(q "SELECT lag_events FROM activity.consumers WHERE name = 'crm'")" = 0 ]; }
ok "$(wait_until 40 caught_up)" yes "the consumer catches up (activity.consumers.lag_events = 0)"
echo "# caught up $(( ($(now_ms) - writers_done) / 1000 )) s after the writers stopped"
ok "$(q "SELECT delivered FROM activity.consumers WHERE name = 'crm'")" "$events" \
   "the consumer's delivered counter equals the events in the log: each read once by a committed batch"

kill -TERM "$worker"
t0=$(now_ms)
wait "$worker"; worker_rc=$?
stop_ms=$(( $(now_ms) - t0 ))
worker=
ok "$worker_rc $(below "$stop_ms" 5000) $(tail -n 1 "$work/worker.log" | grep -c 'stopped')" "0 yes 1" \
   "the worker stops on SIGTERM, exit status 0, in ${stop_ms} ms"
ok "$(q "SELECT count(*) FROM activity.changes('crm')")" 0 "changes() has nothing more for it"

# what the CRM holds, into the database to compare
crm_get /events >"$work/crm-events.jsonl"
crm_get /state >"$work/crm-state.json"
echo "# the CRM's state: $(cat "$work/crm-state.json")"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" >/dev/null <<SQL
CREATE TABLE crm_events (doc jsonb);
\copy crm_events (doc) FROM '$work/crm-events.jsonl' WITH (FORMAT csv, QUOTE E'\x01', DELIMITER E'\x02')
\\set state \`cat '$work/crm-state.json'\`
CREATE TABLE crm_state AS SELECT :'state'::jsonb AS s;
CREATE TABLE crm_file (doc jsonb);
\copy crm_file (doc) FROM '$work/crm.jsonl' WITH (FORMAT csv, QUOTE E'\x01', DELIMITER E'\x02')
CREATE VIEW crm AS SELECT r.*, (c.doc->>'received')::int AS received FROM crm_events c,
    jsonb_populate_record(NULL::activity.activities, c.doc->'event') r;
SQL
ok "$(q "SELECT count(*) FROM crm")" "$events" "the CRM holds as many events as the log ($events)"
ok "$(q "SELECT count(*) FROM (SELECT id FROM activity.activities EXCEPT SELECT id FROM crm) x")" 0 \
   "every event of the log is in the CRM"
# the first events missing, if any, with their transaction's other events
q "SELECT '#   missing: ' || a.initiator_id || ' ' || a.occurred_at || ' xact ' || a.xact_id || ' ' || a.tableoid::regclass
          || ' (its transaction: ' || (SELECT count(*) FROM activity.activities b WHERE b.xact_id = a.xact_id) || ' events, '
          || (SELECT count(*) FROM activity.activities b JOIN crm c ON c.id = b.id WHERE b.xact_id = a.xact_id) || ' in the CRM)'
   FROM activity.activities a WHERE NOT EXISTS (SELECT 1 FROM crm c WHERE c.id = a.id) ORDER BY a.xact_id, a.id LIMIT 10"
ok "$(q "SELECT count(*) FROM (SELECT id FROM crm EXCEPT SELECT id FROM activity.activities) x")" 0 \
   "the CRM holds no event that is not in the log"
ok "$(q "SELECT count(*) FROM crm WHERE initiator_id ~ '^rb-'") $(q "SELECT count(*) FROM crm_file WHERE doc->'event'->>'initiator_id' ~ '^rb-'")" "0 0" \
   "no event of a rolled-back transaction or savepoint was ever sent"
ok "$(q "SELECT count(*) || ' ' || count(DISTINCT id) FROM crm")" "$events $events" "the CRM stores every id once (upsert)"
ok "$(q "SELECT count(*) FROM crm c JOIN activity.activities a ON a.id = c.id
         WHERE (c.id, c.workspace_id, c.platform, c.type, c.version, c.actor_type, c.initiator_id, c.recipient_id,
                c.subject_type, c.subject_id, c.caused_by, c.metadata, c.occurred_at, c.recorded_at, c.function_type,
                c.xact_id)
               IS DISTINCT FROM a")" 0 \
   "every event in the CRM is identical to the log's in every column (timestamps to the microsecond, metadata)"
ok "$(q "SELECT (SELECT sum(received) FROM crm) || ' ' || (SELECT count(*) FROM crm_file) || ' ' ||
                (SELECT count(DISTINCT doc->'event'->>'id') FROM crm_file)")" \
   "$(q "SELECT (s->>'deliveries') || ' ' || (s->>'deliveries') || ' ' || (s->>'stored') FROM crm_state")" \
   "the CRM's counts agree with its file: one line per delivery, its distinct ids the events stored"
dups=$(q "SELECT sum(received) - count(*) || ' duplicate deliveries, ' || count(*) FILTER (WHERE received > 1)
                 || ' ids received more than once (at most ' || max(received) || ' times)' FROM crm")
echo "# $dups; $(q "SELECT s->>'injected_failures_since_start' FROM crm_state") requests failed on purpose by the CRM since its last start"
ok "$(q "SELECT sum(received) >= count(*) AND min(received) >= 1 FROM crm")" t "every event was delivered at least once ($dups)"
retries=$(grep -c 'batch failed' "$work/worker.log")
recoveries=$(grep -c 'recovered after' "$work/worker.log")
echo "# the worker retried $retries times, recovered $recoveries times; its failures:"
grep -oE 'retrying in [0-9]+ ms: .*' "$work/worker.log" | sed -E 's/retrying in [0-9]+ ms: //; s/\(backend pid [0-9]+\)//; s/ [0-9]+ ms/ N ms/' \
    | sort | uniq -c | sort -rn | head -n 8 | sed 's/^/#   /'
ok "$(below 0 "$retries") $(below 0 "$recoveries")" "yes yes" "the worker retried failed batches and recovered"

elapsed=$(( ($(now_ms) - start) / 1000 ))
echo "# $elapsed s from the writers' start to the end"
ok "$(below "$elapsed" 90)" yes "the run took under 90 s"

if [ "$n" -ne "$plan" ]; then echo "# planned $plan tests, ran $n"; exit 1; fi
[ "$failed" -eq 0 ]
