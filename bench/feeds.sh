#!/usr/bin/env bash
# Benchmark of every feed shape of activity.page() against the best
# hand-written keyset SQL and OFFSET on an equivalent plain table with the same
# indexes, at several depths, and of activity.counts() against a hand-written
# GROUP BY. See bench/README.md.
#
#   bash bench/feeds.sh                     # full run, ROWS=1000000 (~20 min on 2 cores)
#   ROWS=200000 PAGE_SECONDS=1 bash bench/feeds.sh   # quicker
#   KEEP=1 bash bench/feeds.sh              # keep the database afterwards
#
# Environment (defaults in brackets):
#   PGDATABASE [activity_feeds_bench]  database to create (dropped first if it
#                                is one this script created, refused otherwise)
#   MAINT_DB [postgres]          database to connect to for CREATE/DROP DATABASE
#   ROWS [1000000]               generated history rows
#   MONTHS [36]                  months of history (monthly partitions)
#   PAGE_SECONDS [3]             duration of each timed pgbench run
#   WARMUP_SECONDS [1]           untimed pgbench run before the first timed run of each query
#   ROUNDS [2]                   timed runs of page() and of each keyset query per
#                                point, in alternating order (the best is reported)
#   DEPTHS ["0 1000 10000 100000"] depths to page at (those the feed has rows for)
#   LAST_PAGE [1]                1: also page at depth rows - 50 of a feed shorter
#                                than the largest depth (its last full page)
#   SHAPES [all]                 the feeds to measure, by number ("1 2 12")
#   KEEP [0]                     1: keep the database
#   RESULTS_FILE []              also write the final tables to this file
#   PGBENCH [$(pg_config --bindir)/pgbench]
# libpq variables (PGHOST, PGPORT, PGUSER, ...) are honoured.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# timestamps travel as text between psql and pgbench: one unambiguous format
export PGDATESTYLE=ISO PGTZ=UTC
export PGDATABASE=${PGDATABASE:-activity_feeds_bench}
MAINT_DB=${MAINT_DB:-postgres}
ROWS=${ROWS:-1000000}
MONTHS=${MONTHS:-36}
PAGE_SECONDS=${PAGE_SECONDS:-3}
WARMUP_SECONDS=${WARMUP_SECONDS:-1}
ROUNDS=${ROUNDS:-2}
DEPTHS=${DEPTHS:-"0 1000 10000 100000"}
LAST_PAGE=${LAST_PAGE:-1}
SHAPES=${SHAPES:-"1 2 3 4 5 6 7 8 9 10 11 12"}
KEEP=${KEEP:-0}
RESULTS_FILE=${RESULTS_FILE:-}
PGBENCH=${PGBENCH:-$(pg_config --bindir 2>/dev/null)/pgbench}
[ -x "$PGBENCH" ] || PGBENCH=$(command -v pgbench)
MARKER='scratch database of activity bench/feeds.sh'
WS=ws-0001                      # the busiest workspace (30% of the rows)
LIMIT=50                        # rows per page
TARGET_KEYSET=1.15              # page() / best hand-written keyset, every shape and depth
TARGET_DEPTH=1.5                # page() at depth 100k / depth 0
TARGET_COUNTS_MS=100            # counts() of a day-bucketed year of the busy workspace

LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/activity-feeds.XXXXXX")
mkdir "$LOGDIR/scripts"
START=$(date +%s)

. "$HERE/lib.sh"   # log, q, qm, now_ns, calc, meets, pgb, fresh_database, machine_description, server_description

# --- fresh database ---------------------------------------------------------
fresh_database "kept database $PGDATABASE (KEEP=1); pgbench logs in $LOGDIR" \
               "dropped database $PGDATABASE; pgbench logs in $LOGDIR"

# --- schema and data: those of run.sh -----------------------------------------
read -r HIST_START HIST_END UNTIL < <(q -F ' ' -c "SELECT extract(epoch FROM now() - make_interval(months => $MONTHS)),
                                                          extract(epoch FROM now()),
                                                          extract(epoch FROM now() + interval '3 months')")
ts() { q -c "SELECT to_timestamp($1)"; }
HIST_START=$(ts "$HIST_START"); HIST_END=$(ts "$HIST_END"); UNTIL=$(ts "$UNTIL")
log "schema: $MONTHS months of monthly partitions from $HIST_START until $UNTIL"
q -v hist_start="$HIST_START" -v until="$UNTIL" -f "$HERE/schema.sql" >/dev/null
q -f "$HERE/feeds_schema.sql"
log "generating $ROWS rows"
q -v rows="$ROWS" -v hist_start="$HIST_START" -v hist_end="$HIST_END" -f "$HERE/generate.sql"
log "loading activity.activities and bench.plain_activities (INSERT ... SELECT)"
q -c 'INSERT INTO activity.activities SELECT * FROM bench.staging'
q -c 'INSERT INTO bench.plain_activities SELECT * FROM bench.staging'
q -c 'DROP TABLE bench.staging, bench.type_mix'
log "VACUUM ANALYZE"
q -c 'VACUUM (ANALYZE) activity.activities' -c 'VACUUM (ANALYZE) bench.plain_activities'

read -r N_ACT N_PLAIN N_WS N_PARTS N_IDX SIZE_ACT SIZE_PLAIN < <(q -F ' ' <<SQL
SELECT (SELECT count(*) FROM activity.activities),
       (SELECT count(*) FROM bench.plain_activities),
       (SELECT count(DISTINCT workspace_id) FROM bench.plain_activities),
       (SELECT count(*) FROM activity.partitions() WHERE NOT is_default),
       (SELECT count(*) FROM pg_index WHERE indrelid = 'activity_partitions.activities_default'::regclass),
       (SELECT replace(pg_size_pretty(sum(pg_total_relation_size(relid))), ' ', '&nbsp;')
          FROM pg_partition_tree('activity.activities')),
       (SELECT replace(pg_size_pretty(sum(pg_total_relation_size(relid))), ' ', '&nbsp;')
          FROM pg_partition_tree('bench.plain_activities'))
SQL
)
SIZE_ACT=${SIZE_ACT//&nbsp;/ }; SIZE_PLAIN=${SIZE_PLAIN//&nbsp;/ }
[ "$N_ACT" = "$ROWS" ] && [ "$N_PLAIN" = "$ROWS" ] || { echo "row counts differ: $N_ACT / $N_PLAIN / $ROWS" >&2; exit 1; }

# --- the feed shapes ----------------------------------------------------------------
# Each shape is the page() call and the hand-written WHERE clause, both written
# with pgbench variables (:name), and the values of those variables. pgbench
# passes them as parameters (-M prepared); the checks and the plans in the log
# use the same text with the values inlined as literals (inline below).
log "picking the feeds' values"
IFS='|' read -r TAIL_WS TAIL_ROWS < <(q -c "SELECT workspace_id, count(*) FROM bench.plain_activities
    WHERE workspace_id >= 'ws-0024' GROUP BY 1 ORDER BY abs(count(*) - 150), 1 LIMIT 1")
IFS='|' read -r ENT_WS ENT_ST ENT_SID ENT_ROWS < <(q -c "SELECT workspace_id, subject_type, subject_id, count(*)
    FROM bench.plain_activities WHERE subject_id IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 4 DESC, 1, 2, 3 LIMIT 1")
IFS='|' read -r ACTOR ACTOR_ROWS < <(q -c "SELECT initiator_id, count(*) FROM bench.plain_activities
    WHERE workspace_id = '$WS' AND initiator_id IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1")
IFS='|' read -r REC_WS RECIPIENT REC_ROWS < <(q -c "SELECT workspace_id, recipient_id, count(*) FROM bench.plain_activities
    WHERE recipient_id IS NOT NULL GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT 1")
POST_TYPES=$(q -c "SELECT '{' || string_agg(name, ',' ORDER BY name) || '}' FROM activity.event_types WHERE name LIKE 'post.%'")
JOIN_TYPES=$(q -c "SELECT '{' || string_agg(name, ',' ORDER BY name) || '}' FROM activity.event_types WHERE universal_type = 'USER_JOIN'")
# three whole months, ending three months before the last month of history
IFS='|' read -r WIN_SINCE WIN_UNTIL < <(q -c "SELECT m - interval '6 months', m - interval '3 months'
    FROM (SELECT date_trunc('month', max(occurred_at)) AS m FROM bench.plain_activities) s")
# counts(): the last whole year of days of the busy workspace
IFS='|' read -r YEAR_SINCE YEAR_UNTIL < <(q -c "SELECT d - interval '1 year', d
    FROM (SELECT date_trunc('day', max(occurred_at)) AS d FROM bench.plain_activities WHERE workspace_id = '$WS') s")

log "picked: small workspace $TAIL_WS ($TAIL_ROWS rows); entity $ENT_ST $ENT_SID in $ENT_WS ($ENT_ROWS rows); actor $ACTOR in $WS ($ACTOR_ROWS rows); recipient $RECIPIENT in $REC_WS ($REC_ROWS rows); post.* = $POST_TYPES; USER_JOIN = $JOIN_TYPES; window [$WIN_SINCE, $WIN_UNTIL); counts() year [$YEAR_SINCE, $YEAR_UNTIL)"

declare -A S_LABEL S_WS S_ARGS S_WHERE S_DIR S_VARS S_ROWS S_DEPTHS S_NOTE
ALL_SHAPES=()
# shape NUMBER LABEL WS_EXPR PAGE_ARGS WHERE DIRECTION [name=value...]
shape() {
    local n=$1
    S_LABEL[$n]=$2; S_WS[$n]=$3; S_ARGS[$n]=$4; S_WHERE[$n]=$5; S_DIR[$n]=$6
    shift 6
    S_VARS[$n]=$(printf '%s\n' "$@")
    ALL_SHAPES+=("$n")
}
shape 1 "workspace $WS, newest first" \
      ":ws" "" "workspace_id = :ws" desc ws="$WS"
shape 2 "workspace $WS, oldest first" \
      ":ws" ", direction => 'asc'" "workspace_id = :ws" asc ws="$WS"
shape 3 "small workspace $TAIL_WS" \
      ":ws" "" "workspace_id = :ws" desc ws="$TAIL_WS"
shape 4 "entity $ENT_ST $ENT_SID in $ENT_WS" \
      ":ws" ", subject_type => :st, subject_id => :sid" "workspace_id = :ws AND subject_type = :st AND subject_id = :sid" desc \
      ws="$ENT_WS" st="$ENT_ST" sid="$ENT_SID"
shape 5 "actor $ACTOR in $WS" \
      ":ws" ", initiator_id => :actor" "workspace_id = :ws AND initiator_id = :actor" desc ws="$WS" actor="$ACTOR"
shape 6 "recipient $RECIPIENT in $REC_WS" \
      ":ws" ", recipient_id => :recipient" "workspace_id = :ws AND recipient_id = :recipient" desc \
      ws="$REC_WS" recipient="$RECIPIENT"
shape 7 "$WS, types {post.*}" \
      ":ws" ", types => :types::text[]" "workspace_id = :ws AND type = ANY (:types_x::text[])" desc \
      ws="$WS" types='{post.*}' types_x="$POST_TYPES"
shape 8 "$WS, universal_types {USER_JOIN}" \
      ":ws" ", universal_types => :utypes::text[]" "workspace_id = :ws AND type = ANY (:utypes_x::text[])" desc \
      ws="$WS" utypes='{USER_JOIN}' utypes_x="$JOIN_TYPES"
shape 9 "$WS, actor_types {agent}" \
      ":ws" ", actor_types => :atypes::text[]" "workspace_id = :ws AND actor_type = ANY (:atypes::text[])" desc \
      ws="$WS" atypes='{agent}'
shape 10 "$WS, platforms {discord}" \
      ":ws" ", platforms => :platforms::text[]" "workspace_id = :ws AND platform = ANY (:platforms::text[])" desc \
      ws="$WS" platforms='{discord}'
shape 11 "$WS, 3 months: since ${WIN_SINCE%% *}, until ${WIN_UNTIL%% *}" \
      ":ws" ", since => :since::timestamptz, until => :until::timestamptz" \
      "workspace_id = :ws AND occurred_at >= :since::timestamptz AND occurred_at < :until::timestamptz" desc \
      ws="$WS" since="$WIN_SINCE" until="$WIN_UNTIL"
shape 12 "all workspaces" \
      "NULL" "" "occurred_at > '-infinity'::timestamptz" desc
S_NOTE[4]="the busiest (subject_type, subject_id) of any workspace"
S_NOTE[5]="the busiest initiator_id of $WS"
S_NOTE[6]="the busiest (workspace_id, recipient_id)"
S_NOTE[7]="hand-written: the prefix expanded from the registry, $POST_TYPES"
S_NOTE[8]="hand-written: the types mapped to USER_JOIN, $JOIN_TYPES"
S_NOTE[12]="hand-written: occurred_at > '-infinity', the predicate of the partial time index, which the query must name to use it"

# inline TEXT VARS: TEXT with every :name replaced by the quoted value of name
# in VARS (lines name=value); "::" casts are left alone.
read -r -d '' INLINE_PL <<'PERL' || true
my ($t, $vars) = @ARGV;
my %v;
for (split /\n/, $vars) { next unless length; my ($k, $x) = split /=/, $_, 2; $v{$k} = $x; }
$t =~ s{(?<!:):([A-Za-z_][A-Za-z0-9_]*)}{
    exists $v{$1} or die "feeds.sh: no value for :$1\n";
    (my $q = $v{$1}) =~ s/'/''/g; "'$q'" }ge;
print $t;
PERL
inline() { perl -e "$INLINE_PL" "$1" "$2"; }
# prepared TEXT VARS: "PREPARE s AS TEXT" with $1, $2... for the variables,
# then "EXECUTE s(values)", for EXPLAIN of the generic plan.
read -r -d '' PREPARE_PL <<'PERL' || true
my ($t, $vars) = @ARGV;
my (%v, %n, @args);
for (split /\n/, $vars) { next unless length; my ($k, $x) = split /=/, $_, 2; $v{$k} = $x; }
$t =~ s{(?<!:):([A-Za-z_][A-Za-z0-9_]*)}{
    exists $v{$1} or die "feeds.sh: no value for :$1\n";
    unless ($n{$1}) { (my $q = $v{$1}) =~ s/'/''/g; push @args, "'$q'"; $n{$1} = scalar @args; }
    '$' . $n{$1} }ge;
$t =~ s/;\s*$//;
print "DEALLOCATE ALL;\nPREPARE s AS $t;\nEXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE s", (@args ? "(" . join(', ', @args) . ")" : ""), ";\n";
PERL
prepared() { perl -e "$PREPARE_PL" "$1" "$2"; }

COLS='id, workspace_id, platform, type, version, actor_type, initiator_id, recipient_id, subject_type, subject_id, caused_by, metadata, occurred_at, recorded_at'
# page_sql SHAPE first|after: the page() call (after: with :cursor)
page_call() {
    local after=NULL
    [ "$2" = after ] && after=':cursor::activity.cursor'
    echo "activity.page(${S_WS[$1]}, $after, $LIMIT${S_ARGS[$1]})"
}
# hand_sql SHAPE first|row|pruned|offset|position [SELECT list]: the hand-written query
hand_sql() {
    local n=$1 kind=$2 cols=${3:-$COLS} where=${S_WHERE[$1]} order lt le
    if [ "${S_DIR[$n]}" = asc ]; then order='occurred_at, id'; lt='>'; le='>='
    else order='occurred_at DESC, id DESC'; lt='<'; le='<='; fi
    case $kind in
        first)    echo "SELECT $cols FROM bench.plain_activities WHERE $where ORDER BY $order LIMIT $LIMIT" ;;
        row)      echo "SELECT $cols FROM bench.plain_activities WHERE $where AND (occurred_at, id) $lt (:ts::timestamptz, :id::uuid) ORDER BY $order LIMIT $LIMIT" ;;
        pruned)   echo "SELECT $cols FROM bench.plain_activities WHERE $where AND occurred_at $le :ts::timestamptz AND (occurred_at, id) $lt (:ts::timestamptz, :id::uuid) ORDER BY $order LIMIT $LIMIT" ;;
        offset)   echo "SELECT $cols FROM bench.plain_activities WHERE $where ORDER BY $order OFFSET :depth::bigint LIMIT $LIMIT" ;;
        position) echo "SELECT $cols FROM bench.plain_activities WHERE $where ORDER BY $order OFFSET :depth::bigint - 1 LIMIT 1" ;;
    esac
}
# the pgbench scripts of a shape, in $LOGDIR/scripts
write_scripts() {
    local n=$1 d=$LOGDIR/scripts/feed$1
    echo "SELECT * FROM $(page_call "$n" first);" > "$d.page_first.sql"
    echo "SELECT * FROM $(page_call "$n" after);" > "$d.page.sql"
    echo "$(hand_sql "$n" first);" > "$d.keyset_first.sql"
    echo "$(hand_sql "$n" row);" > "$d.keyset.sql"
    echo "$(hand_sql "$n" pruned);" > "$d.keyset_pruned.sql"
    echo "$(hand_sql "$n" offset);" > "$d.offset.sql"
}

# --- measuring ------------------------------------------------------------------------
# One point: a shape at a depth. Every query gets a warm-up, then ROUNDS timed
# runs, page() and the keyset queries alternating (forward, then backward), so
# that a slow spell of the machine falls on all of them; the best run of each
# is reported. OFFSET (no target) runs once.
declare -A PAGE KEYSET KEYSET_PRUNED OFFSETMS CHECK RUNS_LOG
# timed NAME SCRIPT VARS: best of the runs so far into BEST[NAME]
declare -A BEST
time_query() {  # key, name, script, round, -D args...
    local key=$1 name=$2 script=$3 round=$4; shift 4
    if [ "$round" = 1 ] && [ "$WARMUP_SECONDS" -gt 0 ]; then
        pgb "$key.$name.warmup" -c 1 -j 1 -T "$WARMUP_SECONDS" -f "$script" "$@"
    fi
    pgb "$key.$name.r$round" -c 1 -j 1 -T "$PAGE_SECONDS" -f "$script" "$@"
    RUNS_LOG[$key.$name]="${RUNS_LOG[$key.$name]:-}${RUNS_LOG[$key.$name]:+ }$LAT"
    if [ -z "${BEST[$key.$name]:-}" ] || awk -v a="$LAT" -v b="${BEST[$key.$name]}" 'BEGIN { exit !(a < b) }'; then
        BEST[$key.$name]=$LAT
    fi
}
measure_shape() {
    local n=$1 d c t i key vars rows depths maxd last r qn queries check_sql pos_ok dargs=()
    vars=${S_VARS[$n]}
    while IFS= read -r kv; do [ -n "$kv" ] && dargs+=(-D "$kv"); done <<< "$vars"
    write_scripts "$n"
    rows=$(q -c "SELECT count(*) FROM bench.plain_activities WHERE $(inline "${S_WHERE[$n]}" "$vars")")
    S_ROWS[$n]=$rows
    # the depths: those the feed has rows after, and its last full page
    depths=""; maxd=0
    for d in $DEPTHS; do
        [ "$d" -gt "$maxd" ] && maxd=$d
        if [ "$d" = 0 ] || [ "$d" -lt "$rows" ]; then depths="$depths $d"; fi
    done
    last=$(( rows - LIMIT ))
    if [ "$LAST_PAGE" = 1 ] && [ "$rows" -lt "$maxd" ] && [ "$last" -gt 0 ] && ! grep -qw -- "$last" <<< "$depths"; then
        depths="$depths $last"
    fi
    depths=$(tr ' ' '\n' <<< "$depths" | grep . | sort -n | uniq | tr '\n' ' ')
    S_DEPTHS[$n]=$depths
    log "feed $n: ${S_LABEL[$n]}: $rows rows; depths $depths"
    # the cursors, by walking page() 200 rows at a time
    declare -A CUR=() TS=() ID=()
    local walk_call
    walk_call=$(inline "activity.page(${S_WS[$n]}, \$1, \$2${S_ARGS[$n]})" "$vars")
    while IFS='|' read -r d c t i; do
        CUR[$d]=$c; TS[$d]=$t; ID[$d]=$i
    done < <(q -v call="$walk_call" -v depths="{$(tr -s ' ' ',' <<< "${depths# }" | sed 's/,$//')}" \
               <<< "SELECT * FROM bench.feed_cursors(:'call', :'depths')")
    for d in $depths; do
        key=$n:$d
        if [ "$d" != 0 ] && [ -z "${CUR[$d]:-}" ]; then
            log "  depth $d: no cursor (the walk with page() ended early)"; CHECK[$key]=MISMATCH; continue
        fi
        local pvars=$vars$'\n'"depth=$d"
        [ "$d" != 0 ] && pvars=$pvars$'\n'"cursor=${CUR[$d]}"$'\n'"ts=${TS[$d]}"$'\n'"id=${ID[$d]}"
        # correctness: page(), both keyset queries and OFFSET return the same
        # rows, and the cursor is the position of the d-th row
        if [ "$d" = 0 ]; then
            check_sql="WITH p AS (SELECT ARRAY(SELECT x.id FROM $(page_call "$n" first) WITH ORDINALITY x ORDER BY x.ordinality) AS ids),
                            k AS (SELECT ARRAY($(hand_sql "$n" first id)) AS ids),
                            o AS (SELECT ARRAY($(hand_sql "$n" offset id)) AS ids)
                       SELECT CASE WHEN cardinality(p.ids) > 0 AND p.ids = k.ids AND p.ids = o.ids
                                   THEN 'same ' || cardinality(p.ids) || ' rows' ELSE 'MISMATCH' END FROM p, k, o"
        else
            check_sql="WITH p AS (SELECT ARRAY(SELECT x.id FROM $(page_call "$n" after) WITH ORDINALITY x ORDER BY x.ordinality) AS ids),
                            k AS (SELECT ARRAY($(hand_sql "$n" row id)) AS ids),
                            kp AS (SELECT ARRAY($(hand_sql "$n" pruned id)) AS ids),
                            o AS (SELECT ARRAY($(hand_sql "$n" offset id)) AS ids),
                            pos AS (SELECT ARRAY($(hand_sql "$n" position 'occurred_at = :ts::timestamptz AND id = :id::uuid')) AS ok)
                       SELECT CASE WHEN cardinality(p.ids) > 0 AND p.ids = k.ids AND p.ids = kp.ids AND p.ids = o.ids
                                        AND pos.ok = '{t}'
                                   THEN 'same ' || cardinality(p.ids) || ' rows' ELSE 'MISMATCH' END FROM p, k, kp, o, pos"
        fi
        check_sql=$(inline "$check_sql" "$pvars")
        CHECK[$key]=$(q -c "$check_sql")
        if [ "${CHECK[$key]}" = MISMATCH ]; then
            log "  feed $n depth $d: page(), keyset and OFFSET return different rows!"
            printf '%s\n' "$check_sql" > "$LOGDIR/mismatch.feed$n.d$d.sql"
        fi
        # plans, for the log: the hand-written queries' generic and custom
        # plans, and the plans page() runs in the first partitions it reads
        {
            local kind
            for kind in $( [ "$d" = 0 ] && echo first || echo row pruned ); do
                echo "-- hand-written ($kind), generic plan"
                q -c 'SET plan_cache_mode = force_generic_plan' -f <(prepared "$(hand_sql "$n" "$kind")" "$pvars") 2>&1 || true
                echo "-- hand-written ($kind), custom plan"
                q -c "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) $(inline "$(hand_sql "$n" "$kind")" "$pvars")" 2>&1 || true
            done
            echo "-- page_plans(): the first 3 partitions"
            q -c "SELECT partition, plan FROM $(inline "$(page_call "$n" "$( [ "$d" = 0 ] && echo first || echo after )")" "$pvars" \
                   | sed 's/^activity\.page(/activity.page_plans(/') LIMIT 3" 2>&1 || true
        } > "$LOGDIR/plans.feed$n.d$d.txt"

        # timing
        local pd=()
        [ "$d" != 0 ] && pd=(-D cursor="${CUR[$d]}" -D ts="${TS[$d]}" -D id="${ID[$d]}")
        if [ "$d" = 0 ]; then queries="page:page_first keyset:keyset_first"
        else queries="page:page keyset:keyset keyset_pruned:keyset_pruned"; fi
        for r in $(seq 1 "$ROUNDS"); do
            local order=$queries
            [ $((r % 2)) = 0 ] && order=$(tr ' ' '\n' <<< "$queries" | tac | tr '\n' ' ')
            for qn in $order; do
                time_query "feed$n.d$d" "${qn%%:*}" "$LOGDIR/scripts/feed$n.${qn#*:}.sql" "$r" "${dargs[@]}" "${pd[@]}"
            done
        done
        time_query "feed$n.d$d" offset "$LOGDIR/scripts/feed$n.offset.sql" 1 "${dargs[@]}" -D depth="$d"
        PAGE[$key]=${BEST[feed$n.d$d.page]}
        KEYSET[$key]=${BEST[feed$n.d$d.keyset]}
        KEYSET_PRUNED[$key]=${BEST[feed$n.d$d.keyset_pruned]:-${KEYSET[$key]}}
        OFFSETMS[$key]=${BEST[feed$n.d$d.offset]}
        log "  depth $d: page() ${PAGE[$key]} ms [${RUNS_LOG[feed$n.d$d.page]}], keyset ${KEYSET[$key]} [${RUNS_LOG[feed$n.d$d.keyset]}], pruned ${KEYSET_PRUNED[$key]} [${RUNS_LOG[feed$n.d$d.keyset_pruned]:-=}], OFFSET ${OFFSETMS[$key]}; ${CHECK[$key]}"
    done
}
for n in $SHAPES; do
    [ -n "${S_LABEL[$n]:-}" ] || { echo "no feed shape $n (1..12)" >&2; exit 1; }
    measure_shape "$n"
done

# --- counts() -------------------------------------------------------------------------
log "counts(): $WS from $YEAR_SINCE until $YEAR_UNTIL, 1-day buckets"
CVARS="ws=$WS"$'\n'"since=$YEAR_SINCE"$'\n'"until=$YEAR_UNTIL"
CWHERE="workspace_id = :ws AND occurred_at >= :since::timestamptz AND occurred_at < :until::timestamptz"
declare -A C_SQL C_LABEL C_MS C_ROWS C_SUM
C_SQL[counts_type]="SELECT * FROM activity.counts(:ws, :since::timestamptz, :until::timestamptz, '1 day')"
C_SQL[hand_type]="SELECT date_trunc('day', occurred_at) AS bucket, type AS key, count(*) AS n FROM bench.plain_activities WHERE $CWHERE GROUP BY 1, 2 ORDER BY 1, 2"
C_SQL[counts_universal]="SELECT * FROM activity.counts(:ws, :since::timestamptz, :until::timestamptz, '1 day', \"by\" => 'universal_type')"
C_SQL[hand_universal]="SELECT s.bucket, t.universal_type AS key, sum(s.n)::bigint AS n FROM (SELECT date_trunc('day', occurred_at) AS bucket, type, count(*) AS n FROM bench.plain_activities WHERE $CWHERE GROUP BY 1, 2) s LEFT JOIN activity.event_types t ON t.name = s.type GROUP BY 1, 2 ORDER BY 1, 2"
C_LABEL[counts_type]="activity.counts($WS, since, until, '1 day')"
C_LABEL[hand_type]="hand-written: SELECT date_trunc('day', occurred_at), type, count(*) ... GROUP BY 1, 2 ORDER BY 1, 2"
C_LABEL[counts_universal]="activity.counts($WS, since, until, '1 day', \"by\" => 'universal_type')"
C_LABEL[hand_universal]="hand-written: the same per type, then joined to activity.event_types and summed per universal_type"
C_ORDER="counts_type hand_type counts_universal hand_universal"
CDARGS=(-D ws="$WS" -D since="$YEAR_SINCE" -D until="$YEAR_UNTIL")
YEAR_ROWS=$(q -c "SELECT count(*) FROM bench.plain_activities WHERE $(inline "$CWHERE" "$CVARS")")
for c in $C_ORDER; do
    echo "${C_SQL[$c]};" > "$LOGDIR/scripts/$c.sql"
    read -r C_ROWS[$c] C_SUM[$c] < <(q -F ' ' -c "SELECT count(*), md5(string_agg(concat_ws('|', bucket, key, n), ',' ORDER BY bucket, key))
                                               FROM ($(inline "${C_SQL[$c]}" "$CVARS")) s")
    q -c "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) $(inline "${C_SQL[$c]}" "$CVARS")" > "$LOGDIR/plans.$c.txt" 2>&1 || true
done
for r in $(seq 1 "$ROUNDS"); do
    order=$C_ORDER
    [ $((r % 2)) = 0 ] && order=$(tr ' ' '\n' <<< "$C_ORDER" | tac | tr '\n' ' ')
    for c in $order; do
        time_query counts "$c" "$LOGDIR/scripts/$c.sql" "$r" "${CDARGS[@]}"
    done
done
for c in $C_ORDER; do
    C_MS[$c]=${BEST[counts.$c]}
    log "  $c: ${C_MS[$c]} ms [${RUNS_LOG[counts.$c]}], ${C_ROWS[$c]} rows"
done
same() { if [ "${C_SUM[$1]}" = "${C_SUM[$2]}" ]; then echo "same ${C_ROWS[$1]} rows"; else echo MISMATCH; fi; }

# --- results ----------------------------------------------------------------------------
MACHINE=$(machine_description)
SERVER=$(server_description shared_buffers work_mem synchronous_commit jit max_wal_size)
best() { awk -v a="$1" -v b="$2" 'BEGIN { print (a < b) ? a : b }'; }
depth_label() { # shape, depth
    if [ "$2" != 0 ] && [ "$2" = $(( ${S_ROWS[$1]} - LIMIT )) ] && ! grep -qw -- "$2" <<< "$DEPTHS"; then echo "$2 (last)"; else echo "$2"; fi
}
{
echo "## activity feeds benchmark — $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "| | |"
echo "|---|---|"
echo "| machine | $MACHINE |"
echo "| PostgreSQL | $SERVER |"
echo "| data | $ROWS rows in each table (generate.sql), $N_WS workspaces (ws-0001..0003: 30/20/10% of the rows, 20 medium: 25%, 1000 small: 15%), $N_PARTS monthly partitions + DEFAULT, $MONTHS months of history; the same $N_IDX indexes on every partition of both tables (checked by schema.sql) |"
echo "| size | activity.activities $SIZE_ACT, bench.plain_activities $SIZE_PLAIN (heap + indexes) |"
echo "| method | pages of $LIMIT rows; pgbench -M prepared -c 1; per point and query a ${WARMUP_SECONDS}s warm-up, then $ROUNDS timed runs of ${PAGE_SECONDS}s, page() and the keyset queries alternating; the best run reported (OFFSET: one run); ms = pgbench latency average |"
echo "| run | $(( $(date +%s) - START ))s in total |"
echo
echo "### Feeds"
echo
echo "| # | feed | page() arguments | hand-written WHERE (bench.plain_activities) | rows |"
echo "|---|---|---|---|---:|"
for n in $SHAPES; do
    note=${S_NOTE[$n]:-}
    echo "| $n | ${S_LABEL[$n]}${note:+ ($note)} | \`$(inline "${S_WS[$n]}${S_ARGS[$n]}" "${S_VARS[$n]}")\` | \`$(inline "${S_WHERE[$n]}" "${S_VARS[$n]}")\` | ${S_ROWS[$n]} |"
done
echo
echo "### Page time, ms per page of $LIMIT"
echo
echo "| # | feed | depth | activity.page() | keyset, row comparison | keyset + occurred_at <= ts | hand-written keyset (best) | OFFSET | same rows? |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---|"
for n in $SHAPES; do
    for d in ${S_DEPTHS[$n]}; do
        k=$n:$d
        [ -n "${PAGE[$k]:-}" ] || { echo "| $n | ${S_LABEL[$n]} | $d | — | — | — | — | — | ${CHECK[$k]:-—} |"; continue; }
        echo "| $n | ${S_LABEL[$n]} | $(depth_label "$n" "$d") | ${PAGE[$k]} | ${KEYSET[$k]} | ${KEYSET_PRUNED[$k]} | $(best "${KEYSET[$k]}" "${KEYSET_PRUNED[$k]}") | ${OFFSETMS[$k]} | ${CHECK[$k]} |"
    done
done
echo
echo "At depth 0 both hand-written columns are the same query (no position yet). For feed 2 (oldest first) the keyset queries use (occurred_at, id) > position, occurred_at >= ts and ORDER BY occurred_at, id. \"(last)\": the feed's last $LIMIT rows, for which page() reads to the end of the feed to find that nothing follows."
echo
echo "### counts(): $WS, [$YEAR_SINCE, $YEAR_UNTIL), 1-day buckets ($YEAR_ROWS events)"
echo
echo "| query | ms | result |"
echo "|---|---:|---|"
echo "| ${C_LABEL[counts_type]} | ${C_MS[counts_type]} | ${C_ROWS[counts_type]} rows |"
echo "| ${C_LABEL[hand_type]} | ${C_MS[hand_type]} | $(same hand_type counts_type) |"
echo "| ${C_LABEL[counts_universal]} | ${C_MS[counts_universal]} | ${C_ROWS[counts_universal]} rows |"
echo "| ${C_LABEL[hand_universal]} | ${C_MS[hand_universal]} | $(same hand_universal counts_universal) |"
echo
echo "### Ratios"
echo
echo "| ratio | value | target | met |"
echo "|---|---:|---:|---|"
for n in $SHAPES; do
    for d in ${S_DEPTHS[$n]}; do
        k=$n:$d
        [ -n "${PAGE[$k]:-}" ] || continue
        R=$(calc "${PAGE[$k]} / $(best "${KEYSET[$k]}" "${KEYSET_PRUNED[$k]}")")
        echo "| page() / best hand-written keyset, feed $n, depth $(depth_label "$n" "$d") | $R | <= $TARGET_KEYSET | $(meets "$R" "$TARGET_KEYSET") |"
    done
done
for n in $SHAPES; do
    if [ -n "${PAGE[$n:100000]:-}" ] && [ -n "${PAGE[$n:0]:-}" ]; then
        R=$(calc "${PAGE[$n:100000]} / ${PAGE[$n:0]}"); echo "| page(): depth 100000 / depth 0, feed $n | $R | <= $TARGET_DEPTH | $(meets "$R" "$TARGET_DEPTH") |"
    fi
done
echo "| counts() ms, by type | ${C_MS[counts_type]} | < $TARGET_COUNTS_MS | $(meets "${C_MS[counts_type]}" "$TARGET_COUNTS_MS" lt) |"
echo "| counts() ms, by universal_type | ${C_MS[counts_universal]} | < $TARGET_COUNTS_MS | $(meets "${C_MS[counts_universal]}" "$TARGET_COUNTS_MS" lt) |"
R=$(calc "${C_MS[counts_type]} / ${C_MS[hand_type]}"); echo "| counts() / hand-written GROUP BY, by type | $R | — | — |"
R=$(calc "${C_MS[counts_universal]} / ${C_MS[hand_universal]}"); echo "| counts() / hand-written GROUP BY, by universal_type | $R | — | — |"
for n in $SHAPES; do
    if [ -n "${PAGE[$n:100000]:-}" ]; then
        R=$(calc "${OFFSETMS[$n:100000]} / ${PAGE[$n:100000]}" 1); echo "| OFFSET / page(), feed $n depth 100000 | $R | — | — |"
    fi
done
} > "$LOGDIR/results.md"

cat "$LOGDIR/results.md"
if [ -n "$RESULTS_FILE" ]; then cp "$LOGDIR/results.md" "$RESULTS_FILE"; fi
log "done in $(( $(date +%s) - START ))s"
