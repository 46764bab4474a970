#!/usr/bin/env bash
# Benchmark of the activity extension against the same work done by hand on an
# equivalent unvalidated table, in one run. See bench/README.md.
#
#   bash bench/run.sh                       # full run, ROWS=1000000 (~8 min on 2 cores)
#   ROWS=200000 bash bench/run.sh           # quicker
#   KEEP=1 bash bench/run.sh                # keep the database afterwards
#
# Environment (defaults in brackets):
#   PGDATABASE [activity_bench]  database to create (dropped first if it is one
#                                this script created, refused otherwise)
#   MAINT_DB [postgres]          database to connect to for CREATE/DROP DATABASE
#   ROWS [1000000]               generated history rows
#   MONTHS [36]                  months of history (monthly partitions)
#   CLIENTS [2]                  pgbench clients (and threads) for ingestion
#   INGEST_SECONDS [20]          duration of each ingestion run
#   INGEST_ROUNDS [2]            alternating record()/INSERT rounds (mean reported)
#   PAGE_SECONDS [10]            duration of each page measurement
#   WARMUP_SECONDS [2]           untimed pgbench run before each page measurement
#   DEPTHS ["0 1000 10000 100000"] feed depths to page at in the busiest workspace
#   TAIL_DEPTHS ["0 100"]        feed depths to page at in a small workspace
#   KEEP [0]                     1: keep the database
#   RESULTS_FILE []              also write the final table to this file
#   PGBENCH [$(pg_config --bindir)/pgbench]
# libpq variables (PGHOST, PGPORT, PGUSER, ...) are honoured.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# timestamps travel as text between psql and pgbench: one unambiguous format
export PGDATESTYLE=ISO PGTZ=UTC
export PGDATABASE=${PGDATABASE:-activity_bench}
MAINT_DB=${MAINT_DB:-postgres}
ROWS=${ROWS:-1000000}
MONTHS=${MONTHS:-36}
CLIENTS=${CLIENTS:-2}
INGEST_SECONDS=${INGEST_SECONDS:-20}
INGEST_ROUNDS=${INGEST_ROUNDS:-2}
PAGE_SECONDS=${PAGE_SECONDS:-10}
WARMUP_SECONDS=${WARMUP_SECONDS:-2}
DEPTHS=${DEPTHS:-"0 1000 10000 100000"}
KEEP=${KEEP:-0}
RESULTS_FILE=${RESULTS_FILE:-}
PGBENCH=${PGBENCH:-$(pg_config --bindir 2>/dev/null)/pgbench}
[ -x "$PGBENCH" ] || PGBENCH=$(command -v pgbench)
MARKER='scratch database of activity bench/run.sh'
WS=ws-0001                      # the busiest workspace (30% of the rows)
TAIL_WS=ws-1023                 # a workspace of the long tail (~0.015% of the rows)
TAIL_DEPTHS=${TAIL_DEPTHS:-"0 100"}

LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/activity-bench.XXXXXX")
START=$(date +%s)

. "$HERE/lib.sh"   # log, q, qm, now_ns, calc, meets, pgb, fresh_database, machine_description, server_description

# --- fresh database ---------------------------------------------------------
fresh_database "kept database $PGDATABASE (KEEP=1); pgbench logs in $LOGDIR" \
               "dropped database $PGDATABASE; pgbench logs in $LOGDIR"

# --- 1, 2: extension, partitions, types, baseline table ----------------------
read -r HIST_START HIST_END UNTIL < <(q -F ' ' -c "SELECT extract(epoch FROM now() - make_interval(months => $MONTHS)),
                                                          extract(epoch FROM now()),
                                                          extract(epoch FROM now() + interval '3 months')")
ts() { q -c "SELECT to_timestamp($1)"; }
HIST_START=$(ts "$HIST_START"); HIST_END=$(ts "$HIST_END"); UNTIL=$(ts "$UNTIL")
log "schema: $MONTHS months of monthly partitions from $HIST_START until $UNTIL"
q -v hist_start="$HIST_START" -v until="$UNTIL" -f "$HERE/schema.sql" >/dev/null

# --- 3: load -----------------------------------------------------------------
log "generating $ROWS rows"
q -v rows="$ROWS" -v hist_start="$HIST_START" -v hist_end="$HIST_END" -f "$HERE/generate.sql"

load() {    # table; prints seconds
    local t0 t1
    q -c CHECKPOINT
    t0=$(now_ns)
    q -c "INSERT INTO $1 SELECT * FROM bench.staging"
    t1=$(now_ns)
    calc "($t1 - $t0) / 1e9" 3
}
log "loading activity.activities (INSERT ... SELECT, validated)"
LOAD_ACT=$(load activity.activities)
log "loading bench.plain_activities (INSERT ... SELECT, no trigger)"
LOAD_PLAIN=$(load bench.plain_activities)
log "load: activity ${LOAD_ACT}s, plain ${LOAD_PLAIN}s"
q -c 'DROP TABLE bench.staging, bench.type_mix'
log "VACUUM ANALYZE"
q -c 'VACUUM (ANALYZE) activity.activities' -c 'VACUUM (ANALYZE) bench.plain_activities'

read -r N_ACT N_PLAIN N_WS N_WS_ROWS N_PARTS SIZE_ACT SIZE_PLAIN < <(q -F ' ' <<SQL
SELECT (SELECT count(*) FROM activity.activities),
       (SELECT count(*) FROM bench.plain_activities),
       (SELECT count(DISTINCT workspace_id) FROM bench.plain_activities),
       (SELECT count(*) FROM bench.plain_activities WHERE workspace_id = '$WS'),
       (SELECT count(*) FROM activity.partitions() WHERE NOT is_default),
       (SELECT replace(pg_size_pretty(sum(pg_total_relation_size(relid))), ' ', '&nbsp;')
          FROM pg_partition_tree('activity.activities')),
       (SELECT replace(pg_size_pretty(sum(pg_total_relation_size(relid))), ' ', '&nbsp;')
          FROM pg_partition_tree('bench.plain_activities'))
SQL
)
SIZE_ACT=${SIZE_ACT//&nbsp;/ }; SIZE_PLAIN=${SIZE_PLAIN//&nbsp;/ }
[ "$N_ACT" = "$ROWS" ] && [ "$N_PLAIN" = "$ROWS" ] || { echo "row counts differ: $N_ACT / $N_PLAIN / $ROWS" >&2; exit 1; }

# --- 5: pages (before ingestion, so both tables still hold the same rows) ----
page_ms() { # name, script, -D args...; prints ms per page
    local name=$1 script=$2; shift 2
    if [ "$WARMUP_SECONDS" -gt 0 ]; then
        pgb "$name.warmup" -c 1 -j 1 -T "$WARMUP_SECONDS" -f "$HERE/$script" "$@"
    fi
    pgb "$name" -c 1 -j 1 -T "$PAGE_SECONDS" -f "$HERE/$script" "$@"
    log "  $name: $LAT ms/page ($(calc "$TPS" 0) pages/s)"
    echo "$LAT"
}

# Results are keyed "workspace:depth".
declare -A PAGE KEYSET KEYSET_PRUNED OFFSETMS CURSOR POS_TS POS_ID CHECK
measure() { # workspace, "depths", with_offset (1/0); appends to MEASURED_<...>
    local ws=$1 depths=$2 with_offset=$3 d k cur c t i rows
    rows=$(q -c "SELECT count(*) FROM bench.plain_activities WHERE workspace_id = '$ws'")
    log "cursors of $ws ($rows rows) at depths $depths, by paging with page()"
    while IFS='|' read -r d c t i; do
        CURSOR[$ws:$d]=$c; POS_TS[$ws:$d]=$t; POS_ID[$ws:$d]=$i
    done < <(q -c "SELECT at_depth, page_cursor, (activity.cursor_info(page_cursor)).occurred_at,
                          (activity.cursor_info(page_cursor)).id
                   FROM bench.page_cursors('$ws', '{$(tr ' ' ',' <<<"$depths")}')")
    for d in $depths; do
        k=$ws:$d
        if [ "$d" != 0 ] && [ -z "${CURSOR[$k]:-}" ]; then
            log "depth $d is beyond the $rows rows of $ws: skipped"
            continue
        fi
        MEASURED+=("$k")
        # Correctness: page(), the keyset query and OFFSET return the same
        # rows, and the cursor is the position of the d-th row.
        if [ "$d" = 0 ]; then cur=NULL; else cur="'${CURSOR[$k]}'"; fi
        CHECK[$k]=$(q <<SQL
WITH p AS (SELECT array_agg(id ORDER BY n) AS ids
             FROM activity.page('$ws', $cur, 50) WITH ORDINALITY AS x(id, workspace_id, platform, type, version,
                  actor_type, initiator_id, recipient_id, subject_type, subject_id, caused_by, metadata,
                  occurred_at, recorded_at, cursor, has_more, n)),
     o AS (SELECT array_agg(id) AS ids FROM (
             SELECT id FROM bench.plain_activities WHERE workspace_id = '$ws'
             ORDER BY occurred_at DESC, id DESC OFFSET $d LIMIT 50) s),
     k AS (SELECT array_agg(id) AS ids FROM (
             SELECT id FROM bench.plain_activities WHERE workspace_id = '$ws'
                AND ($d = 0 OR (occurred_at <= '${POS_TS[$k]:-infinity}' AND
                                (occurred_at, id) < ('${POS_TS[$k]:-infinity}', '${POS_ID[$k]:-ffffffff-ffff-ffff-ffff-ffffffffffff}')))
             ORDER BY occurred_at DESC, id DESC LIMIT 50) s),
     pos AS (SELECT (occurred_at, id) AS pos FROM bench.plain_activities WHERE workspace_id = '$ws'
             ORDER BY occurred_at DESC, id DESC OFFSET greatest($d - 1, 0) LIMIT 1)
SELECT CASE WHEN cardinality(p.ids) > 0 AND p.ids = o.ids AND p.ids = k.ids
             AND ($d = 0 OR (SELECT pos FROM pos) = ('${POS_TS[$k]:-infinity}'::timestamptz, '${POS_ID[$k]:-ffffffff-ffff-ffff-ffff-ffffffffffff}'::uuid))
            THEN 'same ' || cardinality(p.ids) || ' rows' ELSE 'MISMATCH' END
FROM p, o, k
SQL
)
        [ "${CHECK[$k]}" != MISMATCH ] || log "$ws depth $d: page(), keyset and OFFSET return different rows!"

        log "$ws, depth $d"
        if [ "$d" = 0 ]; then
            PAGE[$k]=$(page_ms "page.$ws.d$d" page_first.sql -D ws="$ws")
            KEYSET[$k]=$(page_ms "keyset.$ws.d$d" keyset_first.sql -D ws="$ws")
            KEYSET_PRUNED[$k]=${KEYSET[$k]}     # no position yet: nothing to prune
        else
            PAGE[$k]=$(page_ms "page.$ws.d$d" page.sql -D ws="$ws" -D cursor="${CURSOR[$k]}")
            KEYSET[$k]=$(page_ms "keyset.$ws.d$d" keyset.sql -D ws="$ws" -D ts="${POS_TS[$k]}" -D id="${POS_ID[$k]}")
            KEYSET_PRUNED[$k]=$(page_ms "keyset_pruned.$ws.d$d" keyset_pruned.sql \
                                -D ws="$ws" -D ts="${POS_TS[$k]}" -D id="${POS_ID[$k]}")
            # the generic plans, and page() once its per-partition plans are cached
            q > "$LOGDIR/plans.$ws.d$d.txt" <<SQL
SET plan_cache_mode = force_generic_plan;
PREPARE k(text, timestamptz, uuid) AS SELECT * FROM bench.plain_activities WHERE workspace_id = \$1
  AND (occurred_at, id) < (\$2, \$3) ORDER BY occurred_at DESC, id DESC LIMIT 50;
PREPARE kp(text, timestamptz, uuid) AS SELECT * FROM bench.plain_activities WHERE workspace_id = \$1
  AND occurred_at <= \$2 AND (occurred_at, id) < (\$2, \$3) ORDER BY occurred_at DESC, id DESC LIMIT 50;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE k('$ws', '${POS_TS[$k]}', '${POS_ID[$k]}');
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE kp('$ws', '${POS_TS[$k]}', '${POS_ID[$k]}');
SELECT count(*) FROM activity.page('$ws', '${CURSOR[$k]}', 50) \\g /dev/null
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT * FROM activity.page('$ws', '${CURSOR[$k]}', 50);
SQL
        fi
        if [ "$with_offset" = 1 ]; then
            OFFSETMS[$k]=$(page_ms "offset.$ws.d$d" offset.sql -D ws="$ws" -D depth="$d")
        fi
    done
}
MEASURED=()
measure "$WS" "$DEPTHS" 1
MEASURED_BUSY=("${MEASURED[@]}")
MEASURED=()
measure "$TAIL_WS" "$TAIL_DEPTHS" 0
MEASURED_TAIL=("${MEASURED[@]}")
N_TAIL_ROWS=$(q -c "SELECT count(*) FROM bench.plain_activities WHERE workspace_id = '$TAIL_WS'")

# --- 4: ingestion --------------------------------------------------------------
ingest() {  # name, script; sets TPS
    q -c CHECKPOINT
    pgb "$1" -c "$CLIENTS" -j "$CLIENTS" -T "$INGEST_SECONDS" -f "$HERE/$2"
    log "  $1: $(calc "$TPS" 0) transactions/s (latency $LAT ms)"
}
# Rounds alternate record() and plain INSERT, and which of them goes first, so
# that drift (checkpoints, autovacuum, disk) hits both alike; rows/s is the
# mean over the rounds.
ingest_rounds() {   # log name suffix, label; sets R_REC, R_PLAIN
    local r
    R_REC=0; R_PLAIN=0
    for r in $(seq 1 "$INGEST_ROUNDS"); do
        log "ingestion round $r/$INGEST_ROUNDS$2: $CLIENTS clients, ${INGEST_SECONDS}s each"
        if [ $((r % 2)) = 1 ]; then
            ingest "record$1.r$r" record.sql;             R_REC=$(calc "$R_REC + $TPS / $INGEST_ROUNDS")
            ingest "plain_insert$1.r$r" plain_insert.sql; R_PLAIN=$(calc "$R_PLAIN + $TPS / $INGEST_ROUNDS")
        else
            ingest "plain_insert$1.r$r" plain_insert.sql; R_PLAIN=$(calc "$R_PLAIN + $TPS / $INGEST_ROUNDS")
            ingest "record$1.r$r" record.sql;             R_REC=$(calc "$R_REC + $TPS / $INGEST_ROUNDS")
        fi
    done
}
ingest_rounds "" ""
REC=$R_REC; PLAIN=$R_PLAIN
# A deletion and the synthetic event it caused (caused_by is checked), two
# rows per transaction.
log "ingestion of caused pairs: $CLIENTS clients, ${INGEST_SECONDS}s each"
ingest record_caused record_caused.sql; REC_CAUSED=$(calc "$TPS * 2")
ingest plain_caused plain_caused.sql;   PLAIN_CAUSED=$(calc "$TPS * 2")
# Without the WAL flush at each commit: the CPU cost of validation.
export PGOPTIONS="${PGOPTIONS:-} -c synchronous_commit=off"
ingest_rounds .async " (synchronous_commit = off)"
REC_ASYNC=$R_REC; PLAIN_ASYNC=$R_PLAIN
PGOPTIONS=${PGOPTIONS% -c synchronous_commit=off}

# --- 6: results ----------------------------------------------------------------
MACHINE=$(machine_description)
SERVER=$(server_description shared_buffers work_mem synchronous_commit jit max_wal_size)
LAST=${MEASURED_BUSY[${#MEASURED_BUSY[@]}-1]}
FIRST=${MEASURED_BUSY[0]}
best() { awk -v a="$1" -v b="$2" 'BEGIN { print (a < b) ? a : b }'; }

{
echo "## activity benchmark — $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "| | |"
echo "|---|---|"
echo "| machine | $MACHINE |"
echo "| PostgreSQL | $SERVER |"
echo "| data | $ROWS rows in each table, $N_WS workspaces (ws-0001..0003: 30/20/10% of the rows, 20 medium: 25%, 1000 small: 15%), $N_PARTS monthly partitions + DEFAULT, $MONTHS months of history |"
echo "| size | activity.activities $SIZE_ACT, bench.plain_activities $SIZE_PLAIN (heap + indexes) |"
echo "| pages | 50 rows; pgbench -M prepared -c 1, ${PAGE_SECONDS}s per point after ${WARMUP_SECONDS}s warm-up; ms = pgbench latency average |"
echo "| ingestion | pgbench -M prepared -c $CLIENTS -j $CLIENTS -T $INGEST_SECONDS, one event per transaction, mean of $INGEST_ROUNDS alternating rounds |"
echo "| run | $(( $(date +%s) - START ))s in total |"
echo
echo "### Load: $ROWS rows by INSERT ... SELECT from a staging table, indexes in place"
echo
echo "| table | seconds | rows/s |"
echo "|---|---:|---:|"
echo "| activity.activities (validation constraint + completion trigger) | $LOAD_ACT | $(calc "$ROWS / $LOAD_ACT" 0) |"
echo "| bench.plain_activities (no trigger) | $LOAD_PLAIN | $(calc "$ROWS / $LOAD_PLAIN" 0) |"
echo
echo "### Ingestion: one event per transaction"
echo
echo "| path | rows/s, synchronous_commit on | rows/s, synchronous_commit off |"
echo "|---|---:|---:|"
echo "| SELECT activity.record(...) | $(calc "$REC" 0) | $(calc "$REC_ASYNC" 0) |"
echo "| INSERT INTO bench.plain_activities ... RETURNING id | $(calc "$PLAIN" 0) | $(calc "$PLAIN_ASYNC" 0) |"
echo "| record() of a CHAT_MESSAGE_DELETE + its synthetic MODERATION_LINK (caused_by checked), per transaction | $(calc "$REC_CAUSED" 0) | |"
echo "| the same two rows by INSERT (caused_by unchecked) | $(calc "$PLAIN_CAUSED" 0) | |"
echo
echo "### Page time, ms per page of 50"
echo
echo "| workspace (rows) | depth | activity.page() | keyset, row comparison | keyset + occurred_at <= ts | hand-written keyset (best) | OFFSET | same rows? |"
echo "|---|---:|---:|---:|---:|---:|---:|---|"
for k in "${MEASURED_BUSY[@]}" "${MEASURED_TAIL[@]}"; do
    ws=${k%%:*}; d=${k#*:}
    if [ "$ws" = "$WS" ]; then n=$N_WS_ROWS; else n=$N_TAIL_ROWS; fi
    echo "| $ws ($n) | $d | ${PAGE[$k]} | ${KEYSET[$k]} | ${KEYSET_PRUNED[$k]} | $(best "${KEYSET[$k]}" "${KEYSET_PRUNED[$k]}") | ${OFFSETMS[$k]:-—} | ${CHECK[$k]} |"
done
echo
echo "At depth 0 both hand-written columns are the same query (no position yet: WHERE workspace_id = \$1 ORDER BY ... LIMIT 50)."
echo
echo "### Ratios"
echo
echo "| ratio | value | target | met |"
echo "|---|---:|---:|---|"
R=$(calc "$REC / $PLAIN"); echo "| ingestion: record() / plain INSERT, rows/s | $R | >= 0.8 | $(meets "$R" 0.8 ge) |"
R=$(calc "$REC_ASYNC / $PLAIN_ASYNC"); echo "| ingestion, synchronous_commit off: record() / plain INSERT | $R | — | — |"
R=$(calc "$REC_CAUSED / $PLAIN_CAUSED"); echo "| ingestion of caused pairs: record() / plain INSERT | $R | — | — |"
R=$(calc "$LOAD_ACT / $LOAD_PLAIN"); echo "| load time: activity / plain | $R | — | — |"
R=$(calc "${PAGE[$LAST]} / ${PAGE[$FIRST]}"); echo "| page(): depth ${LAST#*:} / depth ${FIRST#*:} | $R | <= 1.5 | $(meets "$R" 1.5) |"
for k in "${MEASURED_BUSY[@]}" "${MEASURED_TAIL[@]}"; do
    R=$(calc "${PAGE[$k]} / $(best "${KEYSET[$k]}" "${KEYSET_PRUNED[$k]}")")
    if [ "${k%%:*}" = "$WS" ]; then
        echo "| page() / hand-written keyset, ${k%%:*} depth ${k#*:} | $R | <= 1.2 | $(meets "$R" 1.2) |"
    else
        echo "| page() / hand-written keyset, ${k%%:*} depth ${k#*:} (small workspace) | $R | — | — |"
    fi
done
R=$(calc "${OFFSETMS[$LAST]} / ${OFFSETMS[$FIRST]}" 1); echo "| OFFSET: depth ${LAST#*:} / depth ${FIRST#*:} | $R | — | — |"
R=$(calc "${OFFSETMS[$LAST]} / ${PAGE[$LAST]}" 1); echo "| OFFSET / page(), depth ${LAST#*:} | $R | — | — |"
} > "$LOGDIR/results.md"

cat "$LOGDIR/results.md"
if [ -n "$RESULTS_FILE" ]; then cp "$LOGDIR/results.md" "$RESULTS_FILE"; fi
log "done in $(( $(date +%s) - START ))s"
