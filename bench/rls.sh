#!/usr/bin/env bash
# Benchmark of activity.page() under a row-level security policy against
# page() without one. The log (activity.activities) of a scratch database
# gets ROWS events over 12 monthly partitions, row-level security and a
# policy for one application role (TENANT_ROLE) keyed by a session setting:
#   USING (workspace_id = current_setting('bench.workspace', true))
# The table owner (a superuser here) has no policy: page() reads the
# partitions by direct index scans, as the owner. The tenant role does:
# page() reads through the parent, as the caller, one cached plan per
# partition, so that the policy filters every row.
# Measured at four points, each with pgbench -M prepared -c 1, the setting
# given to every session by PGOPTIONS='-c bench.workspace=<ws>' (no SET per
# transaction):
#   big first     the first page (50) of the busiest workspace (30% of the rows)
#   small first   the first page of a small workspace (SMALL_WS, ~ROWS/3600 rows)
#   big deep      the busiest workspace at depth DEEP (a cursor found beforehand)
#   small last    the small workspace's last page (depth rows - 50: page() reads
#                 to the end of its feed, every partition)
# by five callers/queries, in turn, ROUNDS rounds (owner and tenant adjacent,
# alternating which goes first):
#   (i)   owner   SELECT * FROM activity.page(:ws, :cursor, 50), as the owner
#   (ii)  tenant  the same, as TENANT_ROLE (pgbench -U) under the policy
#   (iii) tenant keyset  SELECT * FROM activity.activities WHERE workspace_id = :ws
#                 AND (occurred_at, id) < (:ts, :id) ORDER BY occurred_at DESC, id DESC
#                 LIMIT 51, as TENANT_ROLE under the policy (rls_keyset*.sql)
#   (iv)  owner keyset   the same as the owner (no policy)
#   (v)   owner, activity.direct_scans = off: page() as the owner through cached
#                 plans of the partitions instead of direct scans (a diagnostic:
#                 it separates "plans instead of direct scans" from "the policy")
# Target: (ii) / (i), ratio of the latencies, <= 1.2 at every point.
# Before timing, each point's pages are checked to be the same rows for all
# five. Diagnostics in the log directory (plans.<point>.txt): page_plans()
# as the tenant, EXPLAIN (ANALYZE, BUFFERS) of the per-partition query page()
# runs under the policy and of the hand-written query (generic plans), and
# the number of partitions whose indexes one page() call scanned, by caller.
# See bench/README.md.
#
#   bash bench/rls.sh                                        # full run (~7 min on 2 cores)
#   ROWS=200000 DEEP=20000 PAGE_SECONDS=1 ROUNDS=1 LOAD_MAX=99 bash bench/rls.sh   # a try (~1 min)
#   KEEP=1 RESULTS_FILE=/tmp/rls.md bash bench/rls.sh        # keep the database, save the tables
#
# Environment (defaults in brackets):
#   PGDATABASE [activity_rls_bench]  the scratch database (dropped first if this
#                                script created it, refused otherwise)
#   MAINT_DB [postgres]          database to connect to for CREATE/DROP DATABASE
#   TENANT_ROLE [bench_tenant]   the tenant role: created (LOGIN) if missing, dropped
#                                at the end unless KEEP=1 (if nothing else needs it)
#   ROWS [500000]                events over 12 months, 200 workspaces (rls_schema.sql)
#   SMALL_WS [ws-100]            the small workspace (ws-021 .. ws-200)
#   DEEP [100000]                depth of the deep page of the busiest workspace (ws-001)
#   PAGE_SECONDS [5]             length of each timed pgbench run
#   WARMUP_SECONDS [1]           untimed run of each before its first timed one
#   ROUNDS [3]                   timed runs of each, per point; latency: median
#   POINTS ["big_first small_first big_deep small_last"]
#   LOAD_MAX [0.7]               before each point, wait until the 1-minute load
#   LOAD_WAIT [1200]             average is below LOAD_MAX, polling every 15 s, for
#                                at most LOAD_WAIT seconds (then run anyway, and say so)
#   KEEP [0]                     1: keep the database and the role
#   RESULTS_FILE []              also write the final tables to this file
#   PGBENCH [$(pg_config --bindir)/pgbench]
# libpq variables (PGHOST, PGPORT, PGUSER, ...) are honoured. PGUSER must be a
# superuser (it creates the extension and the role, and is the owner whose
# page() no policy applies to); TENANT_ROLE must be able to connect without a
# password (trust or peer on the socket, or a .pgpass entry).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
# timestamps travel as text between psql and pgbench: one unambiguous format
export PGDATESTYLE=ISO PGTZ=UTC
export PGDATABASE=${PGDATABASE:-activity_rls_bench}
MAINT_DB=${MAINT_DB:-postgres}
TENANT_ROLE=${TENANT_ROLE:-bench_tenant}
ROWS=${ROWS:-500000}
SMALL_WS=${SMALL_WS:-ws-100}
BIG_WS=ws-001
DEEP=${DEEP:-100000}
PAGE_SECONDS=${PAGE_SECONDS:-5}
WARMUP_SECONDS=${WARMUP_SECONDS:-1}
ROUNDS=${ROUNDS:-3}
POINTS=${POINTS:-"big_first small_first big_deep small_last"}
LOAD_MAX=${LOAD_MAX:-0.7}
LOAD_WAIT=${LOAD_WAIT:-1200}
KEEP=${KEEP:-0}
RESULTS_FILE=${RESULTS_FILE:-}
PGBENCH=${PGBENCH:-$(pg_config --bindir 2>/dev/null)/pgbench}
[ -x "$PGBENCH" ] || PGBENCH=$(command -v pgbench)
MARKER='scratch database of activity bench/rls.sh'
TARGET=1.2
OWNER=$(psql -X -At -d "$MAINT_DB" -c 'SELECT current_user')

LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/activity-rls.XXXXXX")
START=$(date +%s)

. "$HERE/lib.sh"   # log, q, qm, calc, meets, pgb, median, list, wait_quiet, build_id, fresh_database, machine_description, server_description

[ "$(qm -c 'SELECT rolsuper FROM pg_roles WHERE rolname = current_user')" = t ] || { echo "PGUSER must be a superuser" >&2; exit 1; }

# --- which build is measured (other work may install a new one meanwhile) ---------
BUILD_START=$(build_id)
HEAD_START=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || true)
log "extension build: $BUILD_START"

# --- the database and the tenant role ----------------------------------------------
cleanup_more() {
    qm -v role="$TENANT_ROLE" <<'SQL' >/dev/null 2>&1 || log "role $TENANT_ROLE not dropped (another database still grants it something)"
DROP ROLE IF EXISTS :"role";
SQL
}
fresh_database "kept database $PGDATABASE and role $TENANT_ROLE (KEEP=1); logs in $LOGDIR" \
               "dropped database $PGDATABASE (and role $TENANT_ROLE); logs in $LOGDIR"
qm -v role="$TENANT_ROLE" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'role') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SQL
[ "$(qm -v role="$TENANT_ROLE" <<< "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = :'role'")" = f ] \
    || { echo "role $TENANT_ROLE is a superuser or bypasses row-level security" >&2; exit 1; }
log "schema: $ROWS events over 12 monthly partitions, 200 workspaces; row-level security, policy for $TENANT_ROLE"
q -v rows="$ROWS" -v role="$TENANT_ROLE" -f "$HERE/rls_schema.sql" > "$LOGDIR/schema.log"
N_PARTS=$(q -c "SELECT count(*) FROM pg_partition_tree('activity.activities') WHERE isleaf")
SIZE=$(q -c "SELECT pg_size_pretty(sum(pg_total_relation_size(relid))) FROM pg_partition_tree('activity.activities')")
N_BIG=$(q -c "SELECT count(*) FROM activity.activities WHERE workspace_id = '$BIG_WS'")
N_SMALL=$(q -c "SELECT count(*) FROM activity.activities WHERE workspace_id = '$SMALL_WS'")
N_WS=$(q -c "SELECT count(DISTINCT workspace_id) FROM activity.activities")
log "$N_PARTS partitions, $SIZE; $BIG_WS: $N_BIG rows, $SMALL_WS: $N_SMALL rows, $N_WS workspaces"
if [ "$N_SMALL" -le 50 ] && [[ " $POINTS " == *" small_last "* ]]; then
    log "$SMALL_WS has $N_SMALL rows, not more than a page: point small_last skipped"
    POINTS=$(sed 's/small_last//' <<< "$POINTS")
fi

# as_tenant WS [psql args]: psql as the tenant, the workspace set for the session
as_tenant() { local ws=$1; shift; PGOPTIONS="${PGOPTIONS:-} -c bench.workspace=$ws" q -U "$TENANT_ROLE" "$@"; }
# the policy is in force: the tenant sees its workspace's rows and no other
[ "$(as_tenant "$SMALL_WS" -c "SELECT count(*) FILTER (WHERE workspace_id = '$SMALL_WS') || '/' || count(*) FROM activity.activities")" = "$N_SMALL/$N_SMALL" ] \
    || { echo "the policy does not restrict $TENANT_ROLE to $SMALL_WS" >&2; exit 1; }

# --- the points --------------------------------------------------------------------
declare -A P_WS P_DEPTH P_CURSOR P_TS P_ID P_DESC
for p in $POINTS; do
    case $p in
        big_first)   P_WS[$p]=$BIG_WS;   P_DEPTH[$p]=0;                   P_DESC[$p]="$BIG_WS ($N_BIG rows), first page" ;;
        small_first) P_WS[$p]=$SMALL_WS; P_DEPTH[$p]=0;                   P_DESC[$p]="$SMALL_WS ($N_SMALL rows), first page" ;;
        big_deep)    P_WS[$p]=$BIG_WS;   P_DEPTH[$p]=$DEEP;               P_DESC[$p]="$BIG_WS, depth $DEEP" ;;
        small_last)  P_WS[$p]=$SMALL_WS; P_DEPTH[$p]=$((N_SMALL - 50));   P_DESC[$p]="$SMALL_WS, last page (depth $((N_SMALL - 50)))" ;;
        *) echo "unknown point $p" >&2; exit 1 ;;
    esac
    if [ "${P_DEPTH[$p]}" -gt 0 ]; then
        P_CURSOR[$p]=$(q -c "SELECT bench.cursor_at('${P_WS[$p]}', ${P_DEPTH[$p]})")
        IFS='|' read -r P_TS[$p] P_ID[$p] < <(q -c "SELECT occurred_at, id FROM activity.cursor_info('${P_CURSOR[$p]}')")
        log "$p: cursor at depth ${P_DEPTH[$p]} of ${P_WS[$p]}: (${P_TS[$p]}, ${P_ID[$p]})"
    fi
done

# page_sql POINT: the page() call; keyset_sql POINT: the hand-written query (literals)
page_sql() {
    if [ "${P_DEPTH[$1]}" = 0 ]; then echo "SELECT * FROM activity.page('${P_WS[$1]}', NULL, 50)"
    else echo "SELECT * FROM activity.page('${P_WS[$1]}', '${P_CURSOR[$1]}', 50)"; fi
}
keyset_sql() {
    if [ "${P_DEPTH[$1]}" = 0 ]; then echo "SELECT * FROM activity.activities WHERE workspace_id = '${P_WS[$1]}' ORDER BY occurred_at DESC, id DESC LIMIT 51"
    else echo "SELECT * FROM activity.activities WHERE workspace_id = '${P_WS[$1]}' AND (occurred_at, id) < ('${P_TS[$1]}'::timestamptz, '${P_ID[$1]}'::uuid) ORDER BY occurred_at DESC, id DESC LIMIT 51"; fi
}

# --- correctness: the same rows for every caller -------------------------------------
declare -A SAME
ids() { echo "SELECT count(*) || ' ' || md5(string_agg(id::text, ',' ORDER BY occurred_at DESC, id DESC)) FROM ($1) s"; }
for p in $POINTS; do
    ws=${P_WS[$p]}
    a=$(q -c "$(ids "$(page_sql "$p")")")
    b=$(as_tenant "$ws" -c "$(ids "$(page_sql "$p")")")
    # the keyset reads limit + 1 rows: its first 50 are the page
    c=$(as_tenant "$ws" -c "$(ids "SELECT * FROM ($(keyset_sql "$p")) k ORDER BY occurred_at DESC, id DESC LIMIT 50")")
    d=$(q -c "$(ids "SELECT * FROM ($(keyset_sql "$p")) k ORDER BY occurred_at DESC, id DESC LIMIT 50")")
    e=$(PGOPTIONS="${PGOPTIONS:-} -c activity.direct_scans=off" q -c "$(ids "$(page_sql "$p")")")
    want=$(q -c "SELECT least(50, count(*) - ${P_DEPTH[$p]}) FROM activity.activities WHERE workspace_id = '$ws'")
    if [ "$a" = "$b" ] && [ "$a" = "$c" ] && [ "$a" = "$d" ] && [ "$a" = "$e" ] && [ "${a%% *}" = "$want" ]; then
        SAME[$p]="same $want rows"
    else
        SAME[$p]="**MISMATCH** (see the log)"
        log "MISMATCH at $p: owner $a, tenant $b, tenant keyset $c, owner keyset $d, owner without direct scans $e"
    fi
    log "$p: ${SAME[$p]}"
done

# --- diagnostics: plans, and the partitions one call reads ---------------------------
# parts_read ROLE WS SQL [GUC=VALUE]: partitions whose indexes one call
# (after a first one, so that plans are cached) scanned, and index scans in
# all (pg_stat_user_indexes; pg_stat_force_next_flush() makes the session's
# counts visible to itself). As a superuser session, SET ROLE for the tenant.
parts_read() {
    local role=$1 ws=$2 sql=$3 guc=${4:-}
    psql -X -q -At -v ON_ERROR_STOP=1 <<SQL 2>&1 | tail -n 1
SET bench.workspace = '$ws';
${guc:+SET $guc;}
SET ROLE "$role";
$sql \\g /dev/null
RESET ROLE;
SELECT pg_stat_force_next_flush() \\g /dev/null
CREATE TEMP TABLE s0 AS SELECT indexrelid, relid, idx_scan FROM pg_stat_user_indexes WHERE schemaname = 'activity_partitions';
SET ROLE "$role";
$sql \\g /dev/null
RESET ROLE;
SELECT pg_stat_force_next_flush() \\g /dev/null
SELECT pg_stat_clear_snapshot() \\g /dev/null
SELECT count(DISTINCT s.relid) || ' partitions, ' || coalesce(sum(s.idx_scan - s0.idx_scan), 0) || ' index scans'
FROM pg_stat_user_indexes s JOIN s0 USING (indexrelid) WHERE s.idx_scan > s0.idx_scan;
SQL
}
declare -A PARTS
for p in $POINTS; do
    ws=${P_WS[$p]}
    f=$LOGDIR/plans.$p.txt
    PARTS[$p.owner]=$(parts_read "$OWNER" "$ws" "$(page_sql "$p")")
    PARTS[$p.tenant]=$(parts_read "$TENANT_ROLE" "$ws" "$(page_sql "$p")")
    PARTS[$p.owner_plans]=$(parts_read "$OWNER" "$ws" "$(page_sql "$p")" "activity.direct_scans = off")
    PARTS[$p.tenant_keyset]=$(parts_read "$TENANT_ROLE" "$ws" "$(keyset_sql "$p")")
    PARTS[$p.owner_keyset]=$(parts_read "$OWNER" "$ws" "$(keyset_sql "$p")")
    log "$p: read by one call: owner page() ${PARTS[$p.owner]}; tenant page() ${PARTS[$p.tenant]}; tenant keyset ${PARTS[$p.tenant_keyset]}"
    # the start of the walk: the partition of the cursor, or the newest one
    if [ "${P_DEPTH[$p]}" = 0 ]; then pos="'infinity'::timestamptz, 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid"
    else pos="'${P_TS[$p]}'::timestamptz, '${P_ID[$p]}'::uuid"; fi
    read -r lo hi < <(q -F ' ' -c "SELECT extract(epoch FROM date_trunc('month', least(now(), (${pos%%,*})))), extract(epoch FROM date_trunc('month', least(now(), (${pos%%,*}))) + interval '1 month')")
    {
        echo "-- $p: ${P_DESC[$p]}"
        echo "-- activity.page_plans() as $TENANT_ROLE (bench.workspace = $ws): the plans page() runs under the policy"
        as_tenant "$ws" -c "SELECT partition, plan FROM activity.page_plans('$ws', $( [ "${P_DEPTH[$p]}" = 0 ] && echo NULL || echo "'${P_CURSOR[$p]}'"), 50)"
        echo
        echo "-- the same, as the owner (no policy: direct index scans)"
        q -c "SELECT partition, plan FROM activity.page_plans('$ws', $( [ "${P_DEPTH[$p]}" = 0 ] && echo NULL || echo "'${P_CURSOR[$p]}'"), 50)"
        echo
        echo "-- the per-partition query page() runs under the policy (src/partitions.c feed_sql(), FEED_RLS), for the partition"
        echo "-- the walk starts in, generic plan, as $TENANT_ROLE, executed twice (the second shown)"
        as_tenant "$ws" <<SQL
SET plan_cache_mode = force_generic_plan;
PREPARE part(text, timestamptz, uuid, bigint) AS
SELECT id, workspace_id, platform, type, version, actor_type, initiator_id, recipient_id, subject_type, subject_id,
       caused_by, metadata, occurred_at, recorded_at
FROM activity.activities
WHERE occurred_at >= to_timestamp($lo) AND occurred_at < to_timestamp($hi)
  AND (occurred_at, id) < (\$2, \$3)
  AND workspace_id = \$1 AND workspace_id >= \$1 AND workspace_id <= \$1
ORDER BY occurred_at DESC, id DESC LIMIT \$4;
EXPLAIN (ANALYZE, BUFFERS) EXECUTE part('$ws', $pos, 51) \\g /dev/null
EXPLAIN (ANALYZE, BUFFERS) EXECUTE part('$ws', $pos, 51);
SQL
        echo
        echo "-- the hand-written keyset query as $TENANT_ROLE, generic plan"
        as_tenant "$ws" <<SQL
SET plan_cache_mode = force_generic_plan;
PREPARE k(text, timestamptz, uuid) AS
SELECT * FROM activity.activities WHERE workspace_id = \$1 AND (occurred_at, id) < (\$2, \$3)
ORDER BY occurred_at DESC, id DESC LIMIT 51;
EXPLAIN (ANALYZE, BUFFERS) EXECUTE k('$ws', $pos) \\g /dev/null
EXPLAIN (ANALYZE, BUFFERS) EXECUTE k('$ws', $pos);
SQL
        echo
        echo "-- the hand-written keyset query as $TENANT_ROLE, custom plan (literals)"
        as_tenant "$ws" -c "EXPLAIN (ANALYZE, BUFFERS) $(keyset_sql "$p")"
    } > "$f" 2>&1
done

# --- timing ----------------------------------------------------------------------------
VARIANTS=(owner tenant tenant_keyset owner_keyset owner_plans)
declare -A LATS TPSS RATIOS
# run_one POINT VARIANT KEY SECONDS [warmup]: one pgbench run; appends
# latency to LATS[KEY], tps to TPSS[KEY] (not for a warm-up)
run_one() {
    local p=$1 v=$2 key=$3 script ws=${P_WS[$1]} user=$OWNER opts="${PGOPTIONS:-} -c bench.workspace=${P_WS[$1]}" k
    local -a vars=(-D ws="$ws")
    case $v in
        owner|tenant|owner_plans)
            if [ "${P_DEPTH[$p]}" = 0 ]; then script=$HERE/page_first.sql
            else script=$HERE/page.sql; vars+=(-D cursor="${P_CURSOR[$p]}"); fi ;;
        *)
            if [ "${P_DEPTH[$p]}" = 0 ]; then script=$HERE/rls_keyset_first.sql
            else script=$HERE/rls_keyset.sql; vars+=(-D ts="${P_TS[$p]}" -D id="${P_ID[$p]}"); fi ;;
    esac
    [[ $v == tenant* ]] && user=$TENANT_ROLE
    [ "$v" = owner_plans ] && opts="$opts -c activity.direct_scans=off"
    k=$(( $(wc -w <<< "${LATS[$key]:-}") + 1 ))
    PGOPTIONS=$opts pgb "$key.$k" -U "$user" -c 1 -j 1 -T "$4" -f "$script" "${vars[@]}"
    if [ "${5:-}" != warmup ]; then
        LATS[$key]="${LATS[$key]:-} $LAT"
        TPSS[$key]="${TPSS[$key]:-} $(calc "$TPS" 0)"
    else
        LATS[$key.warmup]=$LAT
    fi
}
for p in $POINTS; do
    wait_quiet "$p"
    for v in "${VARIANTS[@]}"; do run_one "$p" "$v" "$p.$v" "$WARMUP_SECONDS" warmup; done
    for r in $(seq 1 "$ROUNDS"); do
        if [ $((r % 2)) = 1 ]; then order=(owner tenant tenant_keyset owner_keyset owner_plans)
        else order=(tenant owner owner_plans owner_keyset tenant_keyset); fi
        for v in "${order[@]}"; do run_one "$p" "$v" "$p.$v" "$PAGE_SECONDS"; done
        RATIOS[$p]="${RATIOS[$p]:-} $(calc "$(awk '{ print $NF }' <<< "${LATS[$p.tenant]}") / $(awk '{ print $NF }' <<< "${LATS[$p.owner]}")" 3)"
        log "$p, round $r/$ROUNDS: ms per page: $(for v in "${VARIANTS[@]}"; do printf '%s %s; ' "$v" "$(awk '{ print $NF }' <<< "${LATS[$p.$v]}")"; done)tenant / owner $(awk '{ print $NF }' <<< "${RATIOS[$p]}")"
    done
done

# --- results ---------------------------------------------------------------------------
MACHINE=$(machine_description)
EXT_NOTE=$(build_note)
SERVER=$(server_description shared_buffers work_mem random_page_cost jit plan_cache_mode)
med() { median <<< "$1"; }
ml() { med "${LATS[$1]}" | xargs printf '%.3f'; }
mt() { med "${TPSS[$1]}" | xargs printf '%.0f'; }

{
echo "## activity page() under row-level security — $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "| | |"
echo "|---|---|"
echo "| machine | $MACHINE |"
echo "| PostgreSQL | $SERVER |"
echo "| data | $ROWS events (rls_schema.sql) over 12 months, $N_PARTS partitions (12 monthly + DEFAULT), $SIZE; $N_WS workspaces, skewed: $BIG_WS $N_BIG rows (30%), ws-002 15%, ws-003 10%, 17 medium 40%, 180 small 5% ($SMALL_WS: $N_SMALL rows); VACUUM (ANALYZE) |"
echo "| policy | \`ALTER TABLE activity.activities ENABLE ROW LEVEL SECURITY; CREATE POLICY bench_by_setting ON activity.activities TO $TENANT_ROLE USING (workspace_id = current_setting('bench.workspace', true))\`; $TENANT_ROLE: LOGIN, USAGE on schema activity, SELECT on activity.activities; the owner: $OWNER (superuser: no policy applies) |"
echo "| runs | pgbench -M prepared -c 1 -T $PAGE_SECONDS per run (after one untimed run of ${WARMUP_SECONDS}s each), the owner's or $TENANT_ROLE's sessions (-U), \`PGOPTIONS='-c bench.workspace=<ws>'\` for all; values as pgbench variables (-D: ws, cursor, ts, id); $ROUNDS rounds per point, the five in turn, owner and tenant adjacent and alternating which goes first; latency: pgbench's average per page (client round trip included), median of the rounds; ratio: median of the rounds' tenant/owner ratios |"
echo "| extension build | $EXT_NOTE |"
echo "| load average (1 min) at the start of each point | $(quiet_summary) |"
echo "| run | $(( $(date +%s) - START ))s in total |"
echo
echo "### Page time, ms per page of 50 (tps in brackets)"
echo
echo "| point | (i) page() as the owner (no policy: direct scans) | (ii) page() as $TENANT_ROLE under the policy | (iii) hand-written keyset as $TENANT_ROLE under the policy | (iv) hand-written keyset as the owner | (v) page() as the owner, direct_scans = off | (ii) / (i), median of the rounds | each round | target | met | (ii) / (iii) | same rows? |"
echo "|---|---:|---:|---:|---:|---:|---:|---|---:|---|---:|---|"
for p in $POINTS; do
    r=$(med "${RATIOS[$p]}")
    echo "| ${P_DESC[$p]} | $(ml "$p.owner") ($(mt "$p.owner")) | $(ml "$p.tenant") ($(mt "$p.tenant")) | $(ml "$p.tenant_keyset") ($(mt "$p.tenant_keyset")) | $(ml "$p.owner_keyset") ($(mt "$p.owner_keyset")) | $(ml "$p.owner_plans") ($(mt "$p.owner_plans")) | $(calc "$r" 2) | $(list "${RATIOS[$p]}") | <= $TARGET | $(meets "$r" "$TARGET") | $(calc "$(ml "$p.tenant") / $(ml "$p.tenant_keyset")" 2) | ${SAME[$p]} |"
done
echo
echo "### What one call reads: partitions whose indexes it scanned, and index scans (pg_stat_user_indexes, a call after a first one)"
echo
echo "| point | (i) owner page() | (ii) tenant page() | (iii) tenant keyset | (iv) owner keyset | (v) owner page(), direct_scans = off |"
echo "|---|---|---|---|---|---|"
for p in $POINTS; do
    echo "| ${P_DESC[$p]} | ${PARTS[$p.owner]} | ${PARTS[$p.tenant]} | ${PARTS[$p.tenant_keyset]} | ${PARTS[$p.owner_keyset]} | ${PARTS[$p.owner_plans]} |"
done
echo
echo "Every round, ms per page: $(for p in $POINTS; do printf '%s: ' "$p"; for v in "${VARIANTS[@]}"; do printf '%s %s, ' "$v" "$(list "${LATS[$p.$v]}")"; done; printf '; '; done | sed 's/, ; /; /g; s/; $//')."
} > "$LOGDIR/results.md"

cat "$LOGDIR/results.md"
if [ -n "$RESULTS_FILE" ]; then cp "$LOGDIR/results.md" "$RESULTS_FILE"; fi
log "done in $(( $(date +%s) - START ))s; plans and pgbench logs in $LOGDIR"
