#!/usr/bin/env bash
# Benchmark of capture (activity.track()): what recording an application
# table's writes as activities costs those writes. Two identical tables of
# issues in one scratch database, app.issues_plain (no trigger) and
# app.issues_tracked (SELECT activity.track('app.issues_tracked', 'issue')),
# the same pgbench scripts on each, in adjacent pairs plain/tracked
# alternating which goes first:
#   (a) update   one row per transaction: a random issue's title or status
#                (chosen at random), changed (toggled: every UPDATE changes
#                something, so every one is captured)
#   (b) insert   one new issue per transaction (issue.created validates its
#                title and identifier against the catalogue's schema)
#   (c) multi    one UPDATE of MULTI consecutive issues (an id range) per
#                transaction, reported per row
#   (d) (a) and (b) again with synchronous_commit = off (ASYNC=1): without
#       the WAL flush of each commit, the CPU cost shows; no target
#   (e) hand     tracked (a) against (a) by hand: the plain table's UPDATE and
#                a record() call of the same activity in the same statement
#                (WITH u AS (UPDATE ... RETURNING ...) SELECT activity.record(...)
#                FROM u), with and without synchronous_commit (ASYNC_PAIRS pairs)
# Then (DIAG=1) where a captured row's time goes, in one session: DIAG_ROWS
# rows updated by one statement, plain, with a no-op PL/pgSQL trigger,
# tracked, by hand with record() per row, by hand with one INSERT ... SELECT.
# The issue's target: tracked (a) within 2x a plain trigger-free UPDATE.
# After each run the activities the run recorded are counted and checked:
# tracked, one issue.updated (issue.created) per row the run updated
# (inserted), as counted by pg_stat_user_tables and by pgbench's
# transactions; plain, none.
# See bench/README.md.
#
#   bash bench/capture.sh                                       # full run (~11 min of runs on 2 cores, ~28 with the waits)
#   ROWS=5000 SECONDS_PER_RUN=2 PAIRS=1 ASYNC_PAIRS=1 LOAD_MAX=99 bash bench/capture.sh   # a try (~30 s)
#   KEEP=1 RESULTS_FILE=/tmp/capture.md bash bench/capture.sh   # keep the database, save the tables
#
# Environment (defaults in brackets):
#   PGDATABASE [activity_capture_bench]  the scratch database (dropped first if
#                                this script created it, refused otherwise)
#   MAINT_DB [postgres]          database to connect to for CREATE/DROP DATABASE
#   ROWS [100000]                issues in each table (ids I000000001 ..)
#   WORKSPACES [50]              workspaces they are spread over
#   CLIENTS [2]                  pgbench clients (and threads); each updates its own
#                                ROWS/CLIENTS issues, so that clients never wait for
#                                each other's row locks
#   SECONDS_PER_RUN [10]         length of each pgbench run
#   PAIRS [5]                    adjacent plain/tracked pairs of each path
#   MULTI [50]                   rows of each multi-row UPDATE
#   PATHS ["update insert multi hand"]  the paths measured (hand: (e) below)
#   DIAG [1]                     1: also the per-row breakdown (below)
#   DIAG_ROWS [5000]             rows of each UPDATE of the breakdown
#   DIAG_REPEAT [5]              its rounds (after one warm-up round); the median
#   ASYNC [1]                    1: also update and insert with synchronous_commit = off
#   ASYNC_PAIRS [3]              pairs of each of those
#   ACTOR [u1]                   activity.actor_id of the pgbench sessions (PGOPTIONS)
#   LOAD_MAX [0.7]               before each path, wait until the 1-minute load
#   LOAD_WAIT [1200]             average is below LOAD_MAX, polling every 15 s, for
#                                at most LOAD_WAIT seconds (then run anyway, and say so)
#   KEEP [0]                     1: keep the database
#   RESULTS_FILE []              also write the final tables to this file
#   PGBENCH [$(pg_config --bindir)/pgbench]
# libpq variables (PGHOST, PGPORT, PGUSER, ...) are honoured; the role must be
# allowed to create databases and the extension. The actor is set for the
# whole session with PGOPTIONS='-c activity.actor_id=...' (a placeholder
# until the extension's library loads, which then takes its value), so that
# no SET runs per transaction.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
export PGDATESTYLE=ISO PGTZ=UTC
export PGDATABASE=${PGDATABASE:-activity_capture_bench}
MAINT_DB=${MAINT_DB:-postgres}
ROWS=${ROWS:-100000}
WORKSPACES=${WORKSPACES:-50}
CLIENTS=${CLIENTS:-2}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
PAIRS=${PAIRS:-5}
MULTI=${MULTI:-50}
PATHS=${PATHS:-"update insert multi hand"}
DIAG=${DIAG:-1}
DIAG_ROWS=${DIAG_ROWS:-5000}
DIAG_REPEAT=${DIAG_REPEAT:-5}
ASYNC=${ASYNC:-1}
ASYNC_PAIRS=${ASYNC_PAIRS:-3}
ACTOR=${ACTOR:-u1}
LOAD_MAX=${LOAD_MAX:-0.7}
LOAD_WAIT=${LOAD_WAIT:-1200}
KEEP=${KEEP:-0}
RESULTS_FILE=${RESULTS_FILE:-}
PGBENCH=${PGBENCH:-$(pg_config --bindir 2>/dev/null)/pgbench}
[ -x "$PGBENCH" ] || PGBENCH=$(command -v pgbench)
MARKER='scratch database of activity bench/capture.sh'
CHUNK=$((ROWS / CLIENTS))
[ "$CHUNK" -ge "$MULTI" ] || { echo "ROWS / CLIENTS must be at least MULTI" >&2; exit 1; }
[ "$ROWS" -lt 900000000 ] || { echo "ROWS must be below 900000000 (9-digit ids)" >&2; exit 1; }

LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/activity-capture.XXXXXX")
mkdir "$LOGDIR/scripts"
START=$(date +%s)

. "$HERE/lib.sh"   # log, q, qm, calc, meets, pgb, median, list, wait_quiet, build_id, fresh_database, machine_description, server_description

# --- which build is measured (other work may install a new one meanwhile) ---------
BUILD_START=$(build_id)
HEAD_START=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || true)
log "extension build: $BUILD_START"

# --- the database --------------------------------------------------------------------
fresh_database "kept database $PGDATABASE (KEEP=1); logs in $LOGDIR" "dropped database $PGDATABASE; logs in $LOGDIR"
log "schema: $ROWS issues in app.issues_plain and app.issues_tracked, the latter tracked"
q -v rows="$ROWS" -v workspaces="$WORKSPACES" -v catalogue="$REPO/examples/catalogue.sql" -f "$HERE/capture_schema.sql" > "$LOGDIR/schema.log"
[ "$(q -c "SELECT count(*) FROM activity.tracked WHERE \"table\" = 'app.issues_tracked'::regclass AND enabled")" = 1 ] \
    || { echo "app.issues_tracked is not tracked" >&2; exit 1; }
[ "$(q -c "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'app.issues_plain'::regclass")" = 0 ] \
    || { echo "app.issues_plain has a trigger" >&2; exit 1; }
# the actor by PGOPTIONS reaches the capture (the GUC is a placeholder until
# the library loads): one captured UPDATE, rolled back
export PGOPTIONS="${PGOPTIONS:-} -c activity.actor_id=$ACTOR"
got=$(q <<'SQL'
BEGIN;
UPDATE app.issues_tracked SET estimate = estimate + 1 WHERE id = 'I000000001';
SELECT initiator_id || '/' || actor_type FROM activity.activities WHERE type = 'issue.updated' AND subject_id = 'I000000001';
ROLLBACK;
SQL
)
[ "$got" = "$ACTOR/user" ] || { echo "PGOPTIONS -c activity.actor_id=$ACTOR: the captured activity has actor '$got'" >&2; exit 1; }
log "PGOPTIONS='-c activity.actor_id=$ACTOR': captured as initiator $ACTOR, actor_type user"

# --- the pgbench scripts (one per path and table: a table name cannot be a parameter) ---
# Each client works in its own CHUNK of ids (client_id * CHUNK + 1 ..).
for t in plain tracked; do
    cat > "$LOGDIR/scripts/update.$t.sql" <<SQL
-- (a) one row: a random issue of this client's range, its title or its status changed
\\set n :client_id * $CHUNK + random(1, $CHUNK)
\\if random(0, 1) = 1
UPDATE app.issues_$t SET title = CASE WHEN right(title, 1) = '!' THEN left(title, -1) ELSE title || '!' END
WHERE id = 'I' || lpad((:n)::text, 9, '0');
\\else
UPDATE app.issues_$t SET status = CASE status WHEN 'open' THEN 'in_progress' ELSE 'open' END
WHERE id = 'I' || lpad((:n)::text, 9, '0');
\\endif
SQL
    cat > "$LOGDIR/scripts/insert.$t.sql" <<SQL
-- (b) one new issue
INSERT INTO app.issues_$t (id, workspace_id, identifier, title, status, estimate, updated_at)
SELECT 'I' || lpad(n::text, 9, '0'), 'ws-' || lpad((1 + n % $WORKSPACES)::text, 4, '0'),
       'ENG-' || n, 'New issue ' || n, 'open', (n % 8)::int, now()
FROM (SELECT nextval('app.issue_ids') AS n) s;
SQL
    cat > "$LOGDIR/scripts/multi.$t.sql" <<SQL
-- (c) $MULTI consecutive issues of this client's range, their status changed
\\set s :client_id * $CHUNK + random(1, $((CHUNK - MULTI + 1)))
\\set e :s + $MULTI
UPDATE app.issues_$t SET status = CASE status WHEN 'open' THEN 'in_progress' ELSE 'open' END
WHERE id >= 'I' || lpad((:s)::text, 9, '0') AND id < 'I' || lpad((:e)::text, 9, '0');
SQL
done
# (e) by hand: (a)'s UPDATE on the plain table and the activity the capture
# would record (the same type, metadata, actor and subject) by a record()
# call in the same statement
cat > "$LOGDIR/scripts/update.hand.sql" <<SQL
-- (e) (a) by hand: the UPDATE, and record() of its change in the same statement
\\set n :client_id * $CHUNK + random(1, $CHUNK)
\\if random(0, 1) = 1
WITH u AS (UPDATE app.issues_plain SET title = CASE WHEN right(title, 1) = '!' THEN left(title, -1) ELSE title || '!' END
           WHERE id = 'I' || lpad((:n)::text, 9, '0') RETURNING id, workspace_id, title)
SELECT activity.record(u.workspace_id, 'issue.updated', '$ACTOR',
                       jsonb_build_object('changes', jsonb_build_object('title', jsonb_build_object(
                           'new', u.title, 'old', CASE WHEN right(u.title, 1) = '!' THEN left(u.title, -1) ELSE u.title || '!' END))),
                       actor_type => 'user', subject_type => 'issue', subject_id => u.id, occurred_at => clock_timestamp())
FROM u;
\\else
WITH u AS (UPDATE app.issues_plain SET status = CASE status WHEN 'open' THEN 'in_progress' ELSE 'open' END
           WHERE id = 'I' || lpad((:n)::text, 9, '0') RETURNING id, workspace_id, status)
SELECT activity.record(u.workspace_id, 'issue.updated', '$ACTOR',
                       jsonb_build_object('changes', jsonb_build_object('status', jsonb_build_object(
                           'new', u.status, 'old', CASE u.status WHEN 'open' THEN 'in_progress' ELSE 'open' END))),
                       actor_type => 'user', subject_type => 'issue', subject_id => u.id, occurred_at => clock_timestamp())
FROM u;
\\endif
SQL

# --- the runs ------------------------------------------------------------------------
declare -A RATE RATIOS LATS WAL_B CHECKS
SANITY_FAIL=0
# tupstat TABLE COLUMN: the table's n_tup_upd / n_tup_ins
tupstat() { q -c "SELECT pg_stat_clear_snapshot(); SELECT $2 FROM pg_stat_user_tables WHERE relid = 'app.$1'::regclass" | tail -n 1; }
# one_run LABEL PATH VARIANT: one pgbench run of PATH's script for VARIANT
# (plain, tracked, hand); appends rows/s to RATE[LABEL], ms per row to
# LATS[LABEL], WAL bytes per row to WAL_B[LABEL], and checks the activities
# it recorded
one_run() {
    local label=$1 path=$2 v=$3 t n per col type t0 lsn0 s0 s1 txns rows acts want waited
    t=$v; [ "$v" = hand ] && t=plain
    n=$(( $(wc -w <<< "${RATE[$label]:-}") + 1 ))
    per=1; [ "$path" = multi ] && per=$MULTI
    col=n_tup_upd; type=issue.updated
    [ "$path" = insert ] && { col=n_tup_ins; type=issue.created; }
    q -c 'VACUUM app.issues_plain, app.issues_tracked' -c CHECKPOINT
    s0=$(tupstat "issues_$t" "$col")
    read -r t0 lsn0 < <(q -F ' ' -c 'SELECT extract(epoch FROM clock_timestamp()), pg_current_wal_insert_lsn()')
    pgb "$label.$n" -c "$CLIENTS" -j "$CLIENTS" -T "$SECONDS_PER_RUN" -f "$LOGDIR/scripts/$path.$v.sql"
    txns=$(awk '/^number of transactions actually processed: / { split($6, a, "/"); print a[1]; exit }' "$LOGDIR/$label.$n.log")
    rows=$((txns * per))
    WAL_B[$label]="${WAL_B[$label]:-} $(q -c "SELECT round(pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '$lsn0') / greatest($rows, 1))")"
    RATE[$label]="${RATE[$label]:-} $(calc "$TPS * $per" 0)"
    LATS[$label]="${LATS[$label]:-} $(calc "$LAT / $per" 4)"
    # the backends' statistics reach the shared counters when they exit
    waited=0
    while s1=$(tupstat "issues_$t" "$col"); [ $((s1 - s0)) -lt "$rows" ] && [ "$waited" -lt 20 ]; do sleep 0.5; waited=$((waited + 1)); done
    acts=$(q -c "SELECT count(*) FROM activity.activities WHERE occurred_at > '-infinity' AND occurred_at >= to_timestamp($t0) AND type = '$type'")
    want=$rows; [ "$v" = plain ] && want=0
    if [ "$acts" = "$want" ] && [ $((s1 - s0)) = "$rows" ]; then
        CHECKS[$label]="${CHECKS[$label]:-} ok"
    else
        CHECKS[$label]="${CHECKS[$label]:-} MISMATCH"
        SANITY_FAIL=1
        log "  MISMATCH: $label: $txns transactions, $rows rows, $col +$((s1 - s0)), $acts $type activities (expected $want)"
    fi
    log "  $label: $(calc "$TPS * $per" 0) rows/s ($txns transactions, latency $LAT ms), $col +$((s1 - s0)), $acts $type activities"
}
last() { awk '{ print $NF }' <<< "$1"; }
# pairs PATH LABEL NPAIRS [BASELINE]: adjacent BASELINE (plain)/tracked
# pairs, alternating which goes first; appends each pair's baseline/tracked
# rows/s ratio ("x slower") to RATIOS[LABEL]
declare -A BASE
pairs() {
    local path=$1 label=$2 np=$3 b=${4:-plain} p
    BASE[$label]=$b
    for p in $(seq 1 "$np"); do
        log "$label: pair $p/$np"
        if [ $((p % 2)) = 1 ]; then
            one_run "$label.base" "$path" "$b"; one_run "$label.tracked" "$path" tracked
        else
            one_run "$label.tracked" "$path" tracked; one_run "$label.base" "$path" "$b"
        fi
        RATIOS[$label]="${RATIOS[$label]:-} $(calc "$(last "${RATE[$label.base]}") / $(last "${RATE[$label.tracked]}")" 3)"
    done
}
has() { [[ " $PATHS " == *" $1 "* ]]; }
LABELS=
for path in update insert multi; do
    has "$path" || continue
    wait_quiet "$path"
    pairs "$path" "$path" "$PAIRS"
    LABELS="$LABELS $path"
done
if has hand; then
    wait_quiet "hand"
    pairs update hand "$ASYNC_PAIRS" hand
    LABELS="$LABELS hand"
fi
if [ "$ASYNC" = 1 ]; then
    export PGOPTIONS="$PGOPTIONS -c synchronous_commit=off"
    for path in update insert hand; do
        has "$path" || continue
        wait_quiet "$path, synchronous_commit = off"
        if [ "$path" = hand ]; then pairs update hand_async "$ASYNC_PAIRS" hand
        else pairs "$path" "${path}_async" "$ASYNC_PAIRS"; fi
        LABELS="$LABELS ${path}_async"
    done
    PGOPTIONS=${PGOPTIONS% -c synchronous_commit=off}
fi

# --- where a captured row's time goes (one session, no pgbench) ----------------------
# DIAG_ROWS rows updated by one statement, DIAG_REPEAT times each, in turn,
# synchronous_commit = off; the median time per row of: the plain UPDATE; the
# same on a copy of the table with a no-op PL/pgSQL AFTER ROW trigger; the
# tracked UPDATE; by hand, the plain UPDATE and record() per row in one
# statement; by hand, the plain UPDATE and one INSERT ... SELECT of the same
# activities into activity.activities.
declare -A DIAG_US
if [ "$DIAG" = 1 ]; then
    wait_quiet "per-row breakdown"
    q <<'SQL'
CREATE TABLE app.issues_noop (LIKE app.issues_plain INCLUDING ALL);
INSERT INTO app.issues_noop SELECT * FROM app.issues_plain;
CREATE FUNCTION app.noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE TRIGGER noop AFTER INSERT OR UPDATE OR DELETE ON app.issues_noop FOR EACH ROW EXECUTE FUNCTION app.noop();
VACUUM (ANALYZE) app.issues_noop;
SQL
    TOGGLE="status = CASE status WHEN 'open' THEN 'in_progress' ELSE 'open' END"
    RANGE="id >= 'I000000001' AND id <= 'I' || lpad('$DIAG_ROWS', 9, '0')"
    META="jsonb_build_object('changes', jsonb_build_object('status', jsonb_build_object('new', u.status, 'old', CASE u.status WHEN 'open' THEN 'in_progress' ELSE 'open' END)))"
    declare -A DIAG_SQL=(
        [plain]="UPDATE app.issues_plain SET $TOGGLE WHERE $RANGE"
        [noop]="UPDATE app.issues_noop SET $TOGGLE WHERE $RANGE"
        [tracked]="UPDATE app.issues_tracked SET $TOGGLE WHERE $RANGE"
        [hand_record]="WITH u AS (UPDATE app.issues_plain SET $TOGGLE WHERE $RANGE RETURNING id, workspace_id, status)
SELECT count(activity.record(u.workspace_id, 'issue.updated', '$ACTOR', $META, actor_type => 'user', subject_type => 'issue', subject_id => u.id, occurred_at => clock_timestamp())) FROM u"
        [hand_insert]="WITH u AS (UPDATE app.issues_plain SET $TOGGLE WHERE $RANGE RETURNING id, workspace_id, status)
INSERT INTO activity.activities (workspace_id, type, actor_type, initiator_id, metadata, subject_type, subject_id, occurred_at)
SELECT u.workspace_id, 'issue.updated', 'user', '$ACTOR', $META, 'issue', u.id, clock_timestamp() FROM u")
    DIAG_ORDER=(plain noop tracked hand_record hand_insert)
    {
        echo "SET synchronous_commit = off;"
        echo "\\timing on"
        for r in $(seq 0 "$DIAG_REPEAT"); do     # round 0: warm-up, not counted
            for k in "${DIAG_ORDER[@]}"; do echo "\\echo $r $k"; echo "${DIAG_SQL[$k]};"; done
            echo "VACUUM app.issues_plain, app.issues_noop, app.issues_tracked;"
        done
    } > "$LOGDIR/diag.sql"
    psql -X -v ON_ERROR_STOP=1 -f "$LOGDIR/diag.sql" > "$LOGDIR/diag.log" 2>&1 || { cat "$LOGDIR/diag.log" >&2; exit 1; }
    for k in "${DIAG_ORDER[@]}"; do
        DIAG_US[$k]=$(awk -v k="$k" '$2 == k && $1 > 0 { want = 1; next } want && /^Time: / { print $2; want = 0 }' "$LOGDIR/diag.log" \
                      | median | awk -v n="$DIAG_ROWS" '{ printf "%.1f", $1 * 1000 / n }')
        log "  per row, $k: ${DIAG_US[$k]} µs"
    done
fi

# --- results -------------------------------------------------------------------------
MACHINE=$(machine_description)
EXT_NOTE=$(build_note)
SERVER=$(server_description shared_buffers max_wal_size synchronous_commit wal_level jit)
N_ACT=$(q -c 'SELECT count(*) FROM activity.activities')
SIZE_ACT=$(q -c "SELECT pg_size_pretty(sum(pg_total_relation_size(relid))) FROM pg_partition_tree('activity.activities')")
N_PARTS=$(q -c "SELECT count(*) FROM pg_partition_tree('activity.activities') WHERE isleaf")
TARGET=2
med() { median <<< "$1"; }
okcount() { echo "$(grep -o ok <<< "$1" | wc -l)/$(wc -w <<< "$1") ok"; }
TOTAL_FAIL=$SANITY_FAIL

{
echo "## activity capture benchmark — $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "| | |"
echo "|---|---|"
echo "| machine | $MACHINE |"
echo "| PostgreSQL | $SERVER |"
echo "| tables | app.issues_plain and app.issues_tracked, identical (id text primary key, workspace_id, identifier, title, status, estimate, updated_at), $ROWS issues each over $WORKSPACES workspaces; app.issues_tracked with \`activity.track('app.issues_tracked', 'issue')\` (the trigger activity_capture, AFTER INSERT OR UPDATE OR DELETE FOR EACH ROW: PL/pgSQL _capture() → record()); examples/catalogue.sql's issue.created / issue.updated / issue.deleted with their JSON Schemas; $N_PARTS partitions of the log (create_partitions(now() - 1 month, now() + 2 months)); at the end $N_ACT activities, $SIZE_ACT |"
echo "| runs | pgbench -M prepared -c $CLIENTS -j $CLIENTS -T $SECONDS_PER_RUN, \`PGOPTIONS='-c activity.actor_id=$ACTOR'\` (no SET per transaction), each client in its own range of $CHUNK issues; VACUUM of both tables and a CHECKPOINT before each run; $PAIRS adjacent pairs baseline/tracked of each of (a), (b), (c) measured, $ASYNC_PAIRS of (d) and (e), alternating which goes first; rows/s: median of the runs; × slower: median of the pairs' baseline/tracked ratios |"
echo "| extension build | $EXT_NOTE |"
echo "| load average (1 min) at the start of each path | $(quiet_summary) |"
echo "| run | $(( $(date +%s) - START ))s in total |"
echo
echo "### Capture overhead: the same writes on a plain and on a tracked table"
echo
echo "| path | baseline | rows/s baseline | rows/s tracked | × slower (baseline / tracked, median of the pairs) | each pair | added per row (ms of latency) | WAL bytes/row baseline / tracked | target | met | activities recorded = rows written? |"
echo "|---|---|---:|---:|---:|---|---:|---:|---:|---|---|"
row() {     # label text target
    local r t m chk b
    r=$(med "${RATIOS[$1]}")
    if [ "$3" = — ]; then t=—; m="— ($(awk -v r="$r" -v g="$TARGET" 'BEGIN { print (r <= g) ? "within" : "beyond" }') ${TARGET}×)"
    else t="<= $3"; m=$(meets "$r" "$3"); fi
    b="the plain table (no trigger)"; [ "${BASE[$1]}" = hand ] && b="by hand: the plain table's UPDATE + record() in one statement"
    chk="baseline $(okcount "${CHECKS[$1.base]}"), tracked $(okcount "${CHECKS[$1.tracked]}")"
    echo "| $2 | $b | $(med "${RATE[$1.base]}" | xargs printf '%.0f') | $(med "${RATE[$1.tracked]}" | xargs printf '%.0f') | $(calc "$r" 2)× ($(wc -w <<< "${RATIOS[$1]}") pairs) | $(list "${RATIOS[$1]}") | $(calc "$(med "${LATS[$1.tracked]}") - $(med "${LATS[$1.base]}")" 4) | $(med "${WAL_B[$1.base]}" | xargs printf '%.0f') / $(med "${WAL_B[$1.tracked]}" | xargs printf '%.0f') | $t | $m | $chk |"
}
for l in $LABELS; do
    case $l in
        update) row update "(a) UPDATE of one issue (title or status), one row per transaction" "$TARGET" ;;
        insert) row insert "(b) INSERT of one new issue, one row per transaction" — ;;
        multi) row multi "(c) UPDATE of $MULTI issues by an id range, one statement per transaction, per row" — ;;
        hand) row hand "(e) (a) against the same by hand" — ;;
        update_async) row update_async "(d) (a) with synchronous_commit = off (no WAL flush per commit: the CPU cost shows)" — ;;
        insert_async) row insert_async "(d) (b) with synchronous_commit = off" — ;;
        hand_async) row hand_async "(e) (a) against the same by hand, synchronous_commit = off" — ;;
    esac
done
echo
echo "\"added per row\": the median latency per row, tracked minus baseline (pgbench's average latency of a transaction, divided by its rows; $CLIENTS clients). The issue's target (\"within 2× a plain trigger-free UPDATE\") is for (a); the other paths show where capture stands against the same bound. \"activities recorded = rows written?\": after each run, the activities of the run's type (issue.updated, issue.created) counted in the log equal the rows the run updated or inserted (pg_stat_user_tables, and pgbench's transactions × rows) for the tracked table and by hand, and are none for the plain table (ok: runs that passed)."
echo
echo "Every run, rows/s: $(for k in $LABELS; do printf '%s baseline %s, tracked %s; ' "$k" "$(list "${RATE[$k.base]}")" "$(list "${RATE[$k.tracked]}")"; done | sed 's/; $//')."
if [ "$DIAG" = 1 ]; then
echo
echo "### Where a captured row's time goes: one UPDATE of $DIAG_ROWS rows, one session, synchronous_commit = off"
echo
echo "| statement | µs per row (median of $DIAG_REPEAT) | over the plain UPDATE |"
echo "|---|---:|---:|"
drow() { echo "| $2 | ${DIAG_US[$1]} | $(calc "${DIAG_US[$1]} - ${DIAG_US[plain]}" 1) |"; }
drow plain "plain UPDATE (status toggled)"
drow noop "the same on a copy with a no-op PL/pgSQL AFTER ROW trigger"
drow tracked "the same on the tracked table (capture: _capture() → record())"
drow hand_record "by hand: \`WITH u AS (UPDATE ... RETURNING ...) SELECT count(activity.record(...)) FROM u\`, the same activities"
drow hand_insert "by hand: \`WITH u AS (UPDATE ... RETURNING ...) INSERT INTO activity.activities (...) SELECT ... FROM u\`, the same activities"
fi
} > "$LOGDIR/results.md"

cat "$LOGDIR/results.md"
if [ -n "$RESULTS_FILE" ]; then cp "$LOGDIR/results.md" "$RESULTS_FILE"; fi
log "done in $(( $(date +%s) - START ))s; logs and pgbench scripts in $LOGDIR"
[ "$TOTAL_FAIL" = 0 ] || { echo "some runs did not record one activity per row written (see above)" >&2; exit 1; }
