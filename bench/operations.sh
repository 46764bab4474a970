#!/usr/bin/env bash
# Benchmark of the operations of issue #14: the hash chain, retention by rule
# and erasure, on a scratch database (the 10 event types of feed.sh, monthly
# partitions over MONTHS months):
#   1 ingestion    record() and plain INSERT (pgbench, one event per
#                  transaction: feed_record.sql, feed_insert.sql) and COPY of
#                  COPY_ROWS events, with configure(hash_chain => false)
#                  against configure(hash_chain => true), maintain() having
#                  chained the rows already in the log before each run with
#                  the chain on; adjacent pairs, alternating which goes first;
#                  ratio chain on / chain off. Target: >= 0.95 (within noise:
#                  no inserting transaction touches the chain).
#   2 the chain    CHAIN_ROWS new events in an emptied log (CHAIN_TXNS
#                  transactions), then: activity._extend_chain() called
#                  directly (superuser) in a rolled-back transaction,
#                  EXTEND_ROUNDS times; maintain() with the chain off and then
#                  on over the same state (on: it chains them, 'chained' step):
#                  events/s = CHAIN_ROWS / (on - off). Target: >= 100,000
#                  events/s. Then verify() over them, VERIFY_ROUNDS times
#                  (no problem expected): events/s, no target.
#   4 redact()     (run third) one member with ~CHAIN_ROWS / REDACT_EVERY * 1.3
#                  events in that log: redact(its workspace, member, reason) and
#                  redact(NULL, member, reason), each REDACT_ROUNDS times in
#                  rolled-back transactions: ms, no target.
#   3 retention    (run last) RET_ROWS events of one type (the twin without
#                  schema of RET_TYPE), all older than RET_KEEP, added and
#                  chained; add_retention(RET_KEEP, {twin}); then pgbench INSERT
#                  (feed_insert.sql, -c CLIENTS, every transaction logged) runs,
#                  and after RET_BEFORE seconds maintain() deletes them: rows/s,
#                  and the INSERT rate before, during and after it, the longest
#                  INSERT, the tps second by second (a stall would show as
#                  seconds without commits), the WAL written and the wait events
#                  of the sessions meanwhile. Baseline: the same rows again,
#                  deleted by one hand-written DELETE (superuser) while the
#                  INSERTs run the same way. No target.
# See bench/README.md.
#
#   bash bench/operations.sh                               # full run (~5 min on 2 cores)
#   QUICK=1 bash bench/operations.sh                       # a try (~40 s): smaller, 1 pair, no load wait
#   KEEP=1 RESULTS_FILE=/tmp/ops.md bash bench/operations.sh   # keep the database, save the tables
#
# Environment (defaults in brackets; QUICK=1 changes those marked *):
#   PGDATABASE [activity_ops_bench]  the scratch database (dropped first if this
#                                script created it, refused otherwise)
#   MAINT_DB [postgres]          database to connect to for CREATE/DROP DATABASE
#   MONTHS [12]                  months of history (monthly partitions, + 3 ahead)
#   PHASES ["ingest copy chain redact retention"]  the parts measured (the data of
#                                chain, redact and retention is always made)
#   CLIENTS [2]                  pgbench clients (and threads) for record() / INSERT
#   INGEST_SECONDS* [10]         length of each record() / INSERT run
#   PAIRS* [3]                   adjacent off/on pairs of each ingestion path
#   COPY_ROWS* [100000]          events in the COPY file (also the history of part 1
#                                and the source of every generated event)
#   CHAIN_ROWS* [200000]         new events chained in part 2 (the log of part 4)
#   CHAIN_TXNS [10]              transactions they are written in
#   EXTEND_ROUNDS [2]            direct _extend_chain() runs (rolled back); the median
#   VERIFY_ROUNDS [2]            verify() runs; the median
#   REDACT_EVERY [260]           every REDACT_EVERY-th new event is the member's as
#                                initiator, and the one half-way as recipient
#   REDACT_ROUNDS* [3]           runs of each redact() call (rolled back); the median
#   RET_ROWS* [100000]           events deleted by the retention rule
#   RET_TYPE [comment.created]   their type's twin without schema (ns.comment.created)
#   RET_KEEP ['30 days']         the rule's keep
#   RET_BEFORE* [10]             seconds of INSERT before maintain() starts
#   RET_AFTER* [5]               seconds of INSERT after it ends
#   LOAD_MAX* [2]                before each part, wait until the 1-minute load
#   LOAD_WAIT [60]               average is below LOAD_MAX, polling every 15 s, for
#                                at most LOAD_WAIT seconds (then run anyway, and say so)
#   KEEP [0]                     1: keep the database and the COPY file
#   RESULTS_FILE []              also write the final tables to this file
#   PGBENCH [$(pg_config --bindir)/pgbench]
# libpq variables (PGHOST, PGPORT, PGUSER, ...) are honoured. The server must
# be on this machine (it writes and reads the COPY file) and the role a
# superuser (COPY from a server file; TRUNCATE of the log under
# session_replication_role = replica; _extend_chain() called directly).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export PGDATESTYLE=ISO PGTZ=UTC
export PGDATABASE=${PGDATABASE:-activity_ops_bench}
MAINT_DB=${MAINT_DB:-postgres}
QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
    INGEST_SECONDS=${INGEST_SECONDS:-3}; PAIRS=${PAIRS:-1}; COPY_ROWS=${COPY_ROWS:-20000}
    CHAIN_ROWS=${CHAIN_ROWS:-40000}; REDACT_ROUNDS=${REDACT_ROUNDS:-1}; RET_ROWS=${RET_ROWS:-20000}
    RET_BEFORE=${RET_BEFORE:-4}; RET_AFTER=${RET_AFTER:-2}; LOAD_MAX=${LOAD_MAX:-99}
fi
MONTHS=${MONTHS:-12}
PHASES=${PHASES:-"ingest copy chain redact retention"}
CLIENTS=${CLIENTS:-2}
INGEST_SECONDS=${INGEST_SECONDS:-10}
PAIRS=${PAIRS:-3}
COPY_ROWS=${COPY_ROWS:-100000}
CHAIN_ROWS=${CHAIN_ROWS:-200000}
CHAIN_TXNS=${CHAIN_TXNS:-10}
EXTEND_ROUNDS=${EXTEND_ROUNDS:-2}
VERIFY_ROUNDS=${VERIFY_ROUNDS:-2}
REDACT_EVERY=${REDACT_EVERY:-260}
REDACT_ROUNDS=${REDACT_ROUNDS:-3}
RET_ROWS=${RET_ROWS:-100000}
RET_TYPE=${RET_TYPE:-comment.created}
RET_KEEP=${RET_KEEP:-30 days}
RET_BEFORE=${RET_BEFORE:-10}
RET_AFTER=${RET_AFTER:-5}
LOAD_MAX=${LOAD_MAX:-2}
LOAD_WAIT=${LOAD_WAIT:-60}
KEEP=${KEEP:-0}
RESULTS_FILE=${RESULTS_FILE:-}
PGBENCH=${PGBENCH:-$(pg_config --bindir 2>/dev/null)/pgbench}
[ -x "$PGBENCH" ] || PGBENCH=$(command -v pgbench)
MARKER='scratch database of activity bench/operations.sh'
MEMBER=member-erased
MEMBER_WS=ws-0002
TARGET_INGEST=0.95
TARGET_CHAIN=100000
# the columns of the COPY file (validation_generate.sql): all but caused_by and xact_id
COLS='id, workspace_id, platform, type, version, actor_type, initiator_id, recipient_id, subject_type, subject_id, metadata, occurred_at, recorded_at'
[ $((CHAIN_ROWS % CHAIN_TXNS)) = 0 ] || { echo "CHAIN_ROWS must be a multiple of CHAIN_TXNS" >&2; exit 1; }
for p in $PHASES; do
    case $p in ingest|copy|chain|redact|retention) ;; *) echo "unknown part $p (ingest copy chain redact retention)" >&2; exit 1 ;; esac
done
has() { [[ " $PHASES " == *" $1 "* ]]; }

LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/activity-operations.XXXXXX")
chmod 755 "$LOGDIR"
mkdir "$LOGDIR/data"
chmod 777 "$LOGDIR/data"        # the server writes the COPY files here
FILE=$LOGDIR/data/events.copy                # validated: types with a JSON Schema, version 1
NV_FILE=$LOGDIR/data/events_noversion.copy   # (written by the generator, not used)
NS_FILE=$LOGDIR/data/events_noschema.copy    # (written by the generator, not used)
START=$(date +%s)

. "$HERE/lib.sh"   # log, q, qm, calc, meets, pgb, median, list, wait_quiet, quiet_summary, build_id, fresh_database, machine_description, server_description

cleanup_more() { rm -f "$FILE" "$NV_FILE" "$NS_FILE"; }
fresh_database "kept database $PGDATABASE and the COPY file in $LOGDIR/data (KEEP=1); logs in $LOGDIR" \
               "dropped database $PGDATABASE and the COPY file; logs in $LOGDIR"

# timed NAME SQL: runs SQL in one psql session, "\timing on" in place of
# its line "--timed": the statements before it must print nothing, the one
# after it is timed (a ROLLBACK may follow); its output in $LOGDIR/NAME.log;
# sets SECS (the timed statement's seconds) and OUT (what it printed).
timed() {
    local name=$1 sql=$2 out=$LOGDIR/$1.log
    psql -X -q -At -v ON_ERROR_STOP=1 > "$out" 2>&1 <<< "${sql/--timed/\\timing on}" \
        || { cat "$out" >&2; echo "$name failed" >&2; exit 1; }
    SECS=$(awk '/^Time: / { printf "%.4f", $2 / 1000; exit }' "$out")
    [ -n "$SECS" ] || { cat "$out" >&2; echo "$name: no timing" >&2; exit 1; }
    OUT=$(grep -v '^Time: ' "$out" | grep -v '^\(NOTICE\|HINT\|DETAIL\|WARNING\):' || true)
}
set_chain() {   # on | off
    local v=false; [ "$1" = on ] && v=true
    [ "$(q -c "SELECT hash_chain FROM activity.configure(hash_chain => $v)")" = "$([ "$1" = on ] && echo t || echo f)" ] \
        || { echo "configure(hash_chain => $v) did not take" >&2; exit 1; }
}
# maintain_steps: runs maintain(); prints "action rows" lines; exits on a failed run
maintain_steps() {
    local out
    out=$(q -F ' ' -c "SELECT action, coalesce(\"rows\", 0) FROM activity.maintain()")
    if grep -q '^failed' <<< "$out"; then echo "maintain() failed: $out" >&2; exit 1; fi
    printf '%s\n' "$out"
}
steps_rows() { awk -v a="$1" '$1 == a { n += $2 } END { print n + 0 }'; }   # ACTION < steps
unchained() { q -c "SELECT count(*) FROM activity.activities a WHERE NOT EXISTS (SELECT 1 FROM activity.hash_chain h WHERE h.id = a.id)"; }
empty_log() {   # the log, its ids and the chain emptied (the chain's position and key stay)
    q -c 'SET session_replication_role = replica' -c 'TRUNCATE activity.activities' \
      -c 'TRUNCATE activity.event_ids' -c 'TRUNCATE activity.hash_chain' >/dev/null
}

read -r HIST_START HIST_END UNTIL < <(q -F ' ' -c "SELECT extract(epoch FROM now() - make_interval(months => $MONTHS)),
                                                          extract(epoch FROM now()),
                                                          extract(epoch FROM now() + interval '3 months')")
ts() { q -c "SELECT to_timestamp($1)"; }
HIST_START=$(ts "$HIST_START"); HIST_END=$(ts "$HIST_END"); UNTIL=$(ts "$UNTIL")
BUILD_START=$(build_id)
HEAD_START=$(git -C "$HERE/.." rev-parse --short HEAD 2>/dev/null || true)
log "extension build: $BUILD_START"
log "schema: 10 types and their 10 twins without schema, $MONTHS months of monthly partitions"
q -v hist_start="$HIST_START" -v until="$UNTIL" -f "$HERE/operations_schema.sql" >/dev/null
q -f "$HERE/validation_schemas.sql" >/dev/null
log "generating $COPY_ROWS events into $FILE"
q -v rows="$COPY_ROWS" -v hist_start="$HIST_START" -v hist_end="$HIST_END" -v file="$FILE" -v noversion_file="$NV_FILE" \
  -v noschema_file="$NS_FILE" -f "$HERE/validation_generate.sql" >/dev/null
rm -f "$NV_FILE" "$NS_FILE"
q -v file="$FILE" -v cols="$COLS" -v type="$RET_TYPE" -f "$HERE/operations_source.sql" >/dev/null
FILE_MB=$(calc "$(stat -c %s "$FILE") / 1048576" 1)
N_PARTS=$(q -c "SELECT count(*) FROM activity.partitions()")
RET_TWIN=$(q -c "SELECT bench.noschema_name('$RET_TYPE')")

# --- 1. ingestion, chain off and on ---------------------------------------------------
declare -A RATE RATIOS
HIST_CHAIN_NOTE=
# one_ingest LABEL MODE SCRIPT: appends rows/s to RATE[LABEL.MODE]
one_ingest() {
    local label=$1 mode=$2 n k steps
    k=$label.$mode
    n=$(( $(wc -w <<< "${RATE[$k]:-}") + 1 ))
    set_chain "$mode"
    steps=$(maintain_steps)
    if [ "$mode" = on ] && [ "$(unchained)" != 0 ]; then echo "rows left unchained before $k" >&2; exit 1; fi
    # (the rows just chained would otherwise wake autovacuum during the run)
    q -c 'VACUUM (ANALYZE) activity.hash_chain' -c CHECKPOINT
    pgb "$k.$n" -c "$CLIENTS" -j "$CLIENTS" -T "$INGEST_SECONDS" -f "$HERE/$3"
    RATE[$k]="${RATE[$k]:-} $(calc "$TPS" 0)"
    log "  $k: $(calc "$TPS" 0) rows/s (latency $LAT ms; maintain() before it chained $(steps_rows chained <<< "$steps"))"
}
# one_copy LABEL MODE FILE: empties the log, maintain(), CHECKPOINT, then COPY
# FILE into it; appends rows/s to RATE[LABEL.MODE]
one_copy() {
    local label=$1 mode=$2 file=$3 n k
    k=$label.$mode
    n=$(( $(wc -w <<< "${RATE[$k]:-}") + 1 ))
    empty_log
    set_chain "$mode"
    maintain_steps >/dev/null
    q -c CHECKPOINT
    timed "$k.$n" "--timed
COPY activity.activities ($COLS) FROM '$file';"
    [ "$(q -c 'SELECT count(*) FROM activity.activities')" = "$COPY_ROWS" ] || { echo "COPY ($k): wrong row count" >&2; exit 1; }
    RATE[$k]="${RATE[$k]:-} $(calc "$COPY_ROWS / $SECS" 0)"
    log "  $k: ${SECS}s, $(calc "$COPY_ROWS / $SECS" 0) rows/s"
}
# pairs PATH KIND ARG: PAIRS adjacent off/on pairs, alternating which goes
# first; appends each pair's ratio on/off to RATIOS[PATH]
last() { awk '{ print $NF }' <<< "$1"; }
pairs() {
    local path=$1 kind=$2 arg=$3 p
    for p in $(seq 1 "$PAIRS"); do
        log "$path: pair $p/$PAIRS"
        if [ $((p % 2)) = 1 ]; then
            "one_$kind" "$path" off "$arg"; "one_$kind" "$path" on "$arg"
        else
            "one_$kind" "$path" on "$arg"; "one_$kind" "$path" off "$arg"
        fi
        RATIOS[$path]="${RATIOS[$path]:-} $(calc "$(last "${RATE[$path.on]}") / $(last "${RATE[$path.off]}")" 3)"
    done
}
INGEST_PATHS=
if has ingest || has copy; then
    log "1. ingestion: the COPY file as history, the chain turned on and extended over it"
    q -c "COPY activity.activities ($COLS) FROM '$FILE'"
    q -c 'VACUUM (ANALYZE) activity.activities'
    set_chain on
    timed hist_chain "--timed
SELECT action, coalesce(\"rows\", 0) FROM activity.maintain();"
    HIST_CHAIN_NOTE="the history's $(steps_rows chained <<< "${OUT//|/ }") events chained by one maintain() in ${SECS}s"
    log "  $HIST_CHAIN_NOTE"
fi
if has ingest; then
    wait_quiet "record() / INSERT"
    pairs record ingest feed_record.sql
    pairs insert ingest feed_insert.sql
    INGEST_PATHS="record insert"
fi
if has copy; then
    wait_quiet "COPY"
    pairs copy copy "$FILE"
    INGEST_PATHS="$INGEST_PATHS copy"
fi

# --- data of parts 2 to 4: CHAIN_ROWS new events in an emptied log -------------------
log "the log emptied; $CHAIN_ROWS new events in $CHAIN_TXNS transactions (the member $MEMBER in $MEMBER_WS: every ${REDACT_EVERY}th)"
empty_log
set_chain on
maintain_steps >/dev/null      # the chain's position: now
PER_TXN=$((CHAIN_ROWS / CHAIN_TXNS))
T0=$(now_ns)
for t in $(seq 1 "$CHAIN_TXNS"); do
    q -v lo=$(( (t - 1) * PER_TXN )) -v hi=$(( t * PER_TXN - 1 )) -v every="$REDACT_EVERY" \
      -v member="$MEMBER" -v member_ws="$MEMBER_WS" -f "$HERE/operations_events.sql" >/dev/null
done
LOAD_S=$(calc "($(now_ns) - $T0) / 1e9" 1)
q -c 'VACUUM (ANALYZE) activity.activities'
read -r N_LOG N_LOG_PARTS N_WS MEMBER_ROWS MEMBER_INIT < <(q -F ' ' -c "
    SELECT count(*), count(DISTINCT tableoid), count(DISTINCT workspace_id),
           count(*) FILTER (WHERE initiator_id = '$MEMBER' OR recipient_id = '$MEMBER'),
           count(*) FILTER (WHERE initiator_id = '$MEMBER') FROM activity.activities")
[ "$N_LOG" = "$CHAIN_ROWS" ] || { echo "loaded $N_LOG events, not $CHAIN_ROWS" >&2; exit 1; }
log "  loaded in ${LOAD_S}s: $N_LOG events over $N_LOG_PARTS partitions, $N_WS workspaces; $MEMBER: $MEMBER_ROWS ($MEMBER_INIT as initiator)"

# --- 2. extending and verifying the chain ---------------------------------------------
declare -A TIMES
EXTEND_OK=yes
if has chain; then
    wait_quiet "chain"
    for r in $(seq 1 "$EXTEND_ROUNDS"); do
        q -c 'VACUUM activity.hash_chain'
        timed "extend.$r" "BEGIN;
--timed
SELECT activity._extend_chain(1000000);
ROLLBACK;"
        [ "$OUT" = "$CHAIN_ROWS" ] || { EXTEND_OK="**no**: $OUT"; log "  _extend_chain() returned $OUT, not $CHAIN_ROWS"; }
        TIMES[extend]="${TIMES[extend]:-} $SECS"
        log "  _extend_chain(), rolled back, run $r: ${SECS}s ($OUT events)"
    done
    q -c 'VACUUM activity.hash_chain'
fi
# maintain() with the chain off then on, over the same state (on: it chains them)
set_chain off
timed maintain_off "--timed
SELECT action, coalesce(\"rows\", 0) FROM activity.maintain();"
T_OFF=$SECS
set_chain on
timed maintain_on "--timed
SELECT action, coalesce(\"rows\", 0) FROM activity.maintain();"
T_ON=$SECS
N_CHAINED=$(steps_rows chained <<< "${OUT//|/ }")
[ "$N_CHAINED" = "$CHAIN_ROWS" ] || { echo "maintain() chained $N_CHAINED events, not $CHAIN_ROWS" >&2; exit 1; }
[ "$(unchained)" = 0 ] || { echo "events left unchained" >&2; exit 1; }
log "  maintain(): chain off ${T_OFF}s, chain on ${T_ON}s ($N_CHAINED chained)"
N_VERIFIED=$(q -c 'SELECT count(*) FROM activity.hash_chain')
PROBLEMS=
if has chain; then
    for r in $(seq 1 "$VERIFY_ROUNDS"); do
        timed "verify.$r" "--timed
SELECT count(*) FROM activity.verify();"
        PROBLEMS="$PROBLEMS $OUT"
        TIMES[verify]="${TIMES[verify]:-} $SECS"
        log "  verify(), run $r: ${SECS}s, $OUT problems"
    done
fi

# --- 4. redact() -----------------------------------------------------------------------
declare -A REDACTED
if has redact; then
    wait_quiet "redact()"
    for r in $(seq 1 "$REDACT_ROUNDS"); do
        for call in ws all; do
            if [ "$call" = ws ]; then w="'$MEMBER_WS'"; else w=NULL; fi
            q -c 'VACUUM activity.activities' -c 'VACUUM activity.hash_chain'
            timed "redact.$call.$r" "BEGIN;
--timed
SELECT activity.redact($w, '$MEMBER', 'bench ticket $r');
ROLLBACK;"
            REDACTED[$call]="${REDACTED[$call]:-} $OUT"
            TIMES[redact.$call]="${TIMES[redact.$call]:-} $SECS"
            log "  redact($w, ...), run $r: ${SECS}s, $OUT events"
        done
    done
fi

# --- 3. retention by rule, with inserts going on ---------------------------------------
# concurrent KEY SETUP TIMED: pgbench INSERT (feed_insert.sql, -c CLIENTS)
# runs, every transaction logged (-l: its latency and the epoch it ended at)
# and second by second (-P 1); after RET_BEFORE s, the statement TIMED runs
# in one psql session (after SETUP, which prints nothing), while the active
# sessions' wait events are sampled every ~50 ms; pgbench stops RET_AFTER s
# after it. Sets C_*[KEY]: its seconds and output, the INSERT tps before
# (the first 2 s of pgbench left out), during and after it, the longest
# latencies, the INSERTs slower than 100 ms, the tps second by second, WAL,
# the waits.
declare -A C_SECS C_OUT C_BEFORE C_DURING C_AFTER C_MAXLAT C_SLOW C_PERSEC C_WAL C_WAITS
concurrent() {
    local key=$1 setup=$2 timed_sql=$3 pb_log=$LOGDIR/$1.insert.log waits=$LOGDIR/$1.waits pb_pid sampler_pid
    local t_a lsn_a win t0 t1 wal_during wal_before r tps_b tps_d tps_a mlb mld slow nd nw wal_tx
    q -c CHECKPOINT
    "$PGBENCH" -n -M prepared -c "$CLIENTS" -j "$CLIENTS" -T $((RET_BEFORE + 600)) -P 1 --progress-timestamp \
        -l --log-prefix="$LOGDIR/$key.tx" -f "$HERE/feed_insert.sql" > "$pb_log" 2>&1 &
    pb_pid=$!
    sleep 2
    t_a=$(date +%s.%N)
    lsn_a=$(q -c 'SELECT pg_current_wal_insert_lsn()')
    sleep $((RET_BEFORE - 2))
    rm -f "$LOGDIR/$key.stop"
    ( while [ ! -e "$LOGDIR/$key.stop" ]; do
          q -F ' ' -c "SELECT extract(epoch FROM clock_timestamp()),
                              CASE WHEN backend_type <> 'client backend' THEN replace(backend_type, ' ', '_')
                                   WHEN application_name = 'pgbench' THEN 'INSERT' ELSE 'statement' END,
                              coalesce(wait_event_type || ':' || wait_event, 'CPU')
                       FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid()" || true
          sleep 0.05
      done ) > "$waits" 2>&1 &
    sampler_pid=$!
    timed "$key" "$setup
SELECT pg_current_wal_insert_lsn() AS lsn0, extract(epoch FROM clock_timestamp()) AS t0 \\gset
--timed
$timed_sql
SELECT 'window', :'t0', extract(epoch FROM clock_timestamp()), pg_wal_lsn_diff(pg_current_wal_insert_lsn(), :'lsn0'), pg_wal_lsn_diff(:'lsn0', '$lsn_a');"
    touch "$LOGDIR/$key.stop"
    wait "$sampler_pid" || true
    C_SECS[$key]=$SECS
    win=$(grep '^window|' <<< "$OUT")
    C_OUT[$key]=$(grep -v '^window|' <<< "$OUT" || true)
    IFS='|' read -r _ t0 t1 wal_during wal_before <<< "$win"
    sleep "$RET_AFTER"
    # (a background job of a script ignores SIGINT; the transaction log's
    # last buffered lines, a fraction of a second of the after window, are lost)
    kill -TERM "$pb_pid" 2>/dev/null || true
    wait "$pb_pid" 2>/dev/null || true
    if grep -qi 'abort\|error' "$pb_log"; then cat "$pb_log" >&2; echo "pgbench during $key failed" >&2; exit 1; fi
    read -r tps_b tps_d tps_a mlb mld slow nd nw < <(cat "$LOGDIR/$key".tx.* | awk -v s="$t0" -v e="$t1" -v b="$RET_BEFORE" -v a="$RET_AFTER" -v ta="$t_a" '
        { t = $5 + $6 / 1e6; lat = $3 / 1000
          if (t >= ta && t < s) nw++
          if (t >= s - (b - 2) && t < s) { nb++; if (lat > mb) mb = lat }
          else if (t >= s && t <= e) { nd++; if (lat > md) md = lat; if (lat > 100) slow++ }
          else if (t > e && t <= e + a - 1) na++ }
        END { printf "%.0f %.0f %.0f %.1f %.1f %d %d %d\n", nb / (b - 2), nd / (e - s), na / (a - 1), mb, md, slow, nd, nw }')
    C_BEFORE[$key]=$tps_b; C_DURING[$key]=$tps_d; C_AFTER[$key]=$tps_a
    C_MAXLAT[$key]="$mlb · $mld"; C_SLOW[$key]="$slow of $nd"
    # the seconds around it, from -P 1 (each line: the second before its timestamp)
    C_PERSEC[$key]=$(awk -v s="$t0" -v e="$t1" '/^progress: / && $2 > s - 3 && $2 - 1 < e + 3 {
        in_ = ($2 > s && $2 - 1 < e); printf "%s%s%.0f%s", sep, in_ ? "**" : "", $4, in_ ? "**" : ""; sep = ", " }' "$pb_log")
    # WAL: all of it while the statement ran, and what the INSERTs wrote per transaction before it
    wal_tx=$(calc "$wal_before / $nw" 0)
    C_WAL[$key]="$(calc "$wal_during / 1048576" 1) MB ($(calc "$wal_during / 1048576 / ($t1 - $t0)" 1) MB/s), of which about $(calc "($wal_during - $nd * $wal_tx) / 1048576" 1) MB the statement's (the INSERTs wrote $wal_tx bytes a transaction before it)"
    # what the sessions waited on while it ran: share of the samples, per kind of session
    C_WAITS[$key]=$(awk -v s="$t0" -v e="$t1" 'NF == 3 && $1 >= s && $1 <= e { n[$2]++; w[$2 " " $3]++ }
        END { for (k in w) { split(k, p, " "); printf "%s %.0f %s\n", p[1], 100 * w[k] / n[p[1]], p[2] } }' "$waits" \
        | sort -k1,1 -k2,2nr | awk '{ if ($1 != cur) { printf "%s%s: ", (cur ? "; " : ""), $1; cur = $1; sep = "" } printf "%s%s %s%%", sep, $3, $2; sep = ", " }')
    log "  $key: ${SECS}s; INSERT tps before ${C_BEFORE[$key]}, during ${C_DURING[$key]}, after ${C_AFTER[$key]}; per second: ${C_PERSEC[$key]}"
    log "  $key: waits ${C_WAITS[$key]}; WAL ${C_WAL[$key]}"
}
RET_OK=
if has retention; then
    log "3. retention: $RET_ROWS events of $RET_TWIN older than $RET_KEEP, chained"
    BEFORE_TS=$(q -c "SELECT now() - interval '$RET_KEEP' - interval '5 days'")
    expiring() {
        q -v rows="$RET_ROWS" -v twin="$RET_TWIN" -v hist_start="$HIST_START" -v before="$BEFORE_TS" \
          -f "$HERE/operations_expiring.sql" >/dev/null
    }
    expiring
    timed ret_chain "--timed
SELECT action, coalesce(\"rows\", 0) FROM activity.maintain();"
    RET_CHAIN_NOTE="$(steps_rows chained <<< "${OUT//|/ }") events chained by one maintain() in ${SECS}s"
    log "  $RET_CHAIN_NOTE"
    q -c 'VACUUM (ANALYZE) activity.activities' -c 'VACUUM (ANALYZE) activity.hash_chain'
    RULE=$(q -c "SELECT rule_id FROM activity.add_retention('$RET_KEEP', ARRAY['$RET_TWIN'])")
    read -r PREVIEW RET_PARTS < <(q -F ' ' -c "SELECT p.\"rows\", (SELECT count(DISTINCT tableoid) FROM activity.activities WHERE type = '$RET_TWIN')
                                              FROM activity.retention_preview() p WHERE p.rule_id = $RULE")
    [ "$PREVIEW" = "$RET_ROWS" ] || { echo "retention_preview(): $PREVIEW rows, not $RET_ROWS" >&2; exit 1; }
    N_LOG_RET=$(q -c 'SELECT count(*) FROM activity.activities')
    wait_quiet "retention"
    # (activity.chain_max_rows = 1: this run leaves the inserts going on to
    # the next run's chain, so that its time is the deletion's)
    concurrent retention "SET activity.chain_max_rows = 1;" "SELECT action, coalesce(\"rows\", 0) FROM activity.maintain();"
    RET_DELETED=$(steps_rows deleted <<< "${C_OUT[retention]//|/ }")
    RET_STEPS=$(tr '\n' ';' <<< "${C_OUT[retention]//|/ }" | sed 's/;$//; s/;/; /g')
    LEFT=$(q -c "SELECT count(*) FROM activity.activities WHERE type = '$RET_TWIN'")
    # the chain's record of the removal: entries of kind 'removed' appended,
    # one per workspace and deletion step (a batch of up to 10,000 rows),
    # each listing the chained activities it removed; every one of them once
    read -r REMOVED_ENTRIES REMOVED_IDS REMOVED_DISTINCT < <(q -F ' ' -c "SELECT count(DISTINCT (h.workspace_id, h.seq)), count(u.id), count(DISTINCT u.id)
        FROM activity.hash_chain h CROSS JOIN LATERAL unnest(h.ids) u(id) WHERE h.kind = 'removed'")
    RET_OK="$RET_DELETED deleted, $LEFT left, $REMOVED_IDS activities listed in $REMOVED_ENTRIES entries of kind 'removed' appended to the chain"
    [ "$RET_DELETED" = "$RET_ROWS" ] && [ "$LEFT" = 0 ] && [ "$REMOVED_IDS" = "$RET_ROWS" ] \
        && [ "$REMOVED_DISTINCT" = "$RET_ROWS" ] || RET_OK="**$RET_OK**"
    log "  maintain(): $RET_OK"
    q -c "SELECT activity.remove_retention($RULE)" >/dev/null
    # The baseline: the same rows again (same generator, new ids), deleted by
    # one hand-written DELETE as superuser (session_replication_role =
    # replica silences the append-only guard): no chain entries, no feed
    # notice, no batches, no id registry kept
    log "  baseline: the same $RET_ROWS events again, deleted by a hand-written DELETE"
    expiring
    q -c 'VACUUM (ANALYZE) activity.activities'
    concurrent by_hand "SET session_replication_role = replica;" \
        "DELETE FROM activity.activities a WHERE a.type = '$RET_TWIN' AND a.occurred_at < now() - interval '$RET_KEEP';"
    LEFT_HAND=$(q -c "SELECT count(*) FROM activity.activities WHERE type = '$RET_TWIN'")
    [ "$LEFT_HAND" = 0 ] || { echo "the hand-written DELETE left $LEFT_HAND rows" >&2; exit 1; }
fi

# --- results ---------------------------------------------------------------------------
MACHINE=$(machine_description)
REPO=$(cd "$HERE/.." && pwd)
EXT_NOTE=$(build_note)
SERVER=$(server_description shared_buffers max_wal_size synchronous_commit wal_level jit)
med_rate() { median <<< "${RATE[$1]}" | xargs printf '%.0f'; }
med() { median <<< "$1"; }
secs_list() { local s out=; for s in $1; do out="$out${out:+, }$(calc "$s" 3)"; done; echo "$out"; }

{
echo "## activity operations benchmark — $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "| | |"
echo "|---|---|"
echo "| machine | $MACHINE |"
echo "| PostgreSQL | $SERVER |"
echo "| database | 10 event types with JSON Schemas and their 10 twins without; $N_PARTS monthly partitions ($MONTHS months of history + 3) + DEFAULT; events generated by validation_generate.sql ($COPY_ROWS in the COPY file, $FILE_MB MB, occurred_at over the $MONTHS months) |"
echo "| 1. ingestion | history: the COPY file, then configure(hash_chain => true) and maintain() ($HIST_CHAIN_NOTE). Each run: configure(hash_chain => off or on), maintain() (with the chain on it chains what the previous runs wrote: every row of the log is chained when the run starts, checked), CHECKPOINT; record() / INSERT: pgbench -M prepared -c $CLIENTS -j $CLIENTS -T $INGEST_SECONDS, one event per transaction (feed_record.sql, feed_insert.sql); COPY: the log, its ids and the chain emptied (TRUNCATE as superuser), then COPY of the $COPY_ROWS events FROM a server file, psql \\timing. $PAIRS adjacent off/on pairs of each, alternating which goes first; rows/s: median of the runs; ratio: median of the pairs' ratios |"
echo "| 2.–4. data | the log, its ids and the chain emptied, then $CHAIN_ROWS new events (copies of the file's with new ids and the file's occurred_at, over $N_LOG_PARTS partitions, $N_WS workspaces) in $CHAIN_TXNS transactions of $PER_TXN (${LOAD_S}s), VACUUM (ANALYZE). The member $MEMBER: $MEMBER_ROWS of them, all in $MEMBER_WS ($MEMBER_INIT as initiator, the others as recipient) |"
echo "| extension build | $EXT_NOTE |"
echo "| load average (1 min) at the start of each part | $(quiet_summary) |"
echo "| run | $(( $(date +%s) - START ))s in total; logs in $LOGDIR |"
echo
if [ -n "$INGEST_PATHS" ]; then
echo "### 1. Ingestion with the hash chain off and on"
echo
echo "| path | rows/s chain off | rows/s chain on | on / off, median of the pairs | each pair | target | met |"
echo "|---|---:|---:|---:|---|---:|---|"
row() {     # path label
    local r
    r=$(med "${RATIOS[$1]}")
    echo "| $2 | $(med_rate "$1.off") | $(med_rate "$1.on") | $(calc "$r" 3) ($(wc -w <<< "${RATIOS[$1]}") pairs) | $(list "${RATIOS[$1]}") | >= $TARGET_INGEST | $(meets "$r" "$TARGET_INGEST" ge) |"
}
has ingest && row record "(a) SELECT activity.record(...), one event per transaction"
has ingest && row insert "(b) INSERT INTO activity.activities, one row per transaction"
has copy && row copy "(c) COPY of $COPY_ROWS events (validated types)"
echo
echo "Every run, rows/s: $(for k in $INGEST_PATHS; do printf '%s off %s, on %s; ' "$k" "$(list "${RATE[$k.off]}")" "$(list "${RATE[$k.on]}")"; done | sed 's/; $//')."
echo
fi
echo "### 2. Extending and verifying the hash chain: $CHAIN_ROWS new events"
echo
echo "| measurement | seconds | events/s | target | met |"
echo "|---|---:|---:|---:|---|"
if has chain; then
    e=$(med "${TIMES[extend]}")
    echo "| \`BEGIN; SELECT activity._extend_chain(1000000); ROLLBACK;\` as superuser, median of $EXTEND_ROUNDS (each: $(secs_list "${TIMES[extend]}") s; returned $CHAIN_ROWS: $EXTEND_OK) | $(calc "$e" 3) | $(calc "$CHAIN_ROWS / $e" 0) | >= $TARGET_CHAIN | $(meets "$(calc "$CHAIN_ROWS / $e" 0)" "$TARGET_CHAIN" ge) |"
fi
M_RATE=$(calc "$CHAIN_ROWS / ($T_ON - $T_OFF)" 0)
echo "| \`maintain()\` with the chain on (step 'chained', $N_CHAINED events: $(calc "$T_ON" 3) s) − \`maintain()\` with the chain off over the same state ($(calc "$T_OFF" 3) s) | $(calc "$T_ON - $T_OFF" 3) | $M_RATE | >= $TARGET_CHAIN | $(meets "$M_RATE" "$TARGET_CHAIN" ge) |"
if has chain; then
    v=$(med "${TIMES[verify]}")
    echo "| \`SELECT count(*) FROM activity.verify()\` over the whole log and chain ($N_VERIFIED events), median of $VERIFY_ROUNDS (each: $(secs_list "${TIMES[verify]}") s; problems found: $(list "$PROBLEMS")) | $(calc "$v" 3) | $(calc "$N_VERIFIED / $v" 0) | — | — |"
fi
echo
if has retention; then
echo "### 3. Retention by rule: $RET_ROWS events of $RET_TWIN deleted by maintain(), INSERTs going on"
echo
echo "add_retention('$RET_KEEP', '{$RET_TWIN}'): retention_preview() $PREVIEW rows in $RET_PARTS partitions of a log of $N_LOG_RET events, all chained ($RET_CHAIN_NOTE); VACUUM (ANALYZE), CHECKPOINT. While pgbench INSERT (feed_insert.sql, -c $CLIENTS -j $CLIENTS, -l, -P 1) ran, after ${RET_BEFORE}s, one maintain() with activity.chain_max_rows = 1 in its session (the inserts going on are chained by the next run, so that its time is the deletion's): steps $RET_STEPS; $RET_OK. Baseline: the same $RET_ROWS events inserted again (new ids), VACUUM (ANALYZE), CHECKPOINT, then with pgbench INSERT running the same way, one hand-written \`DELETE FROM activity.activities a WHERE a.type = '$RET_TWIN' AND a.occurred_at < now() - interval '$RET_KEEP'\` as superuser (session_replication_role = replica: no append-only guard, no chain entries, no feed notice, no batches)."
echo
echo "| measurement | maintain() | hand-written DELETE |"
echo "|---|---:|---:|"
crow() { echo "| $1 | $2 | $3 |"; }
crow "seconds (psql \\timing)" "$(calc "${C_SECS[retention]}" 3)" "$(calc "${C_SECS[by_hand]}" 3)"
crow "rows deleted / s" "$(calc "$RET_DELETED / ${C_SECS[retention]}" 0)" "$(calc "$RET_ROWS / ${C_SECS[by_hand]}" 0)"
crow "INSERT tps before it (transactions ended in the $((RET_BEFORE - 2)) s before it, the first 2 s of pgbench left out)" "${C_BEFORE[retention]}" "${C_BEFORE[by_hand]}"
crow "INSERT tps during it (transactions ended while it ran / its duration)" "${C_DURING[retention]}" "${C_DURING[by_hand]}"
crow "INSERT tps after it (the $((RET_AFTER - 1)) s after it)" "${C_AFTER[retention]}" "${C_AFTER[by_hand]}"
crow "during / before" "$(calc "${C_DURING[retention]} / ${C_BEFORE[retention]}" 2)" "$(calc "${C_DURING[by_hand]} / ${C_BEFORE[by_hand]}" 2)"
crow "longest INSERT latency before it · during it, ms" "${C_MAXLAT[retention]}" "${C_MAXLAT[by_hand]}"
crow "INSERTs that took more than 100 ms during it" "${C_SLOW[retention]}" "${C_SLOW[by_hand]}"
crow "INSERT tps second by second around it (pgbench -P 1; in bold the seconds it overlaps)" "${C_PERSEC[retention]}" "${C_PERSEC[by_hand]}"
crow "WAL written while it ran, all sessions" "${C_WAL[retention]}" "${C_WAL[by_hand]}"
crow "what the active sessions waited on while it ran (pg_stat_activity every ~50 ms, share of each kind's samples; CPU: no wait event)" "${C_WAITS[retention]}" "${C_WAITS[by_hand]}"
echo
fi
if has redact; then
echo "### 4. redact(): a member with $MEMBER_ROWS events in a log of $N_LOG"
echo
echo "| call (in a transaction rolled back, after a VACUUM) | events changed | ms, median of $REDACT_ROUNDS | each run, ms |"
echo "|---|---:|---:|---|"
ms_list() { local s out=; for s in $1; do out="$out${out:+, }$(calc "$s * 1000" 0)"; done; echo "$out"; }
echo "| \`activity.redact('$MEMBER_WS', '$MEMBER', 'bench ticket N')\` | $(list "$(tr ' ' '\n' <<< "${REDACTED[ws]}" | sort -u | tr '\n' ' ')") | $(calc "$(med "${TIMES[redact.ws]}") * 1000" 0) | $(ms_list "${TIMES[redact.ws]}") |"
echo "| \`activity.redact(NULL, '$MEMBER', 'bench ticket N')\` (every workspace) | $(list "$(tr ' ' '\n' <<< "${REDACTED[all]}" | sort -u | tr '\n' ' ')") | $(calc "$(med "${TIMES[redact.all]}") * 1000" 0) | $(ms_list "${TIMES[redact.all]}") |"
echo
fi
} > "$LOGDIR/results.md"

cat "$LOGDIR/results.md"
if [ -n "$RESULTS_FILE" ]; then cp "$LOGDIR/results.md" "$RESULTS_FILE"; fi
log "done in $(( $(date +%s) - START ))s"
