#!/usr/bin/env bash
# Benchmark of the analytics and search functions, and of what the metadata
# index and the synthetic-event rules cost ingestion. On a scratch database
# with a generated year of traffic (analytics_schema.sql: ~ROWS events over 12
# months plus the 4 weeks before, with a daily rhythm, in 521 workspaces;
# the busy one, ws-0001, holds ~100,000 events of the year over 12 types):
#   1 counts()     activity.counts(ws-0001, since, until, '1 day') over the year,
#                  by type, by universal_type, and by type in America/Los_Angeles,
#                  against the hand-written GROUP BY on the log; same rows first
#                  (md5 of the ordered rows). Target: < 20 ms.
#   2 bursts()     activity.bursts(ws-0001, since, until) (hourly, by type),
#                  "by" => 'universal_type', activity.anomalies(); rows returned.
#                  Target: bursts() < 100 ms.
#   3 search       page(ws, member_id => m) against the hand-written UNION of the
#                  actor and recipient keyset queries (and a UNION ALL variant);
#                  page(ws, metadata => doc) for a rare post id and a common feed
#                  label, with the GIN metadata index (configure(metadata_index),
#                  pending_steps()), against WHERE metadata @> doc ORDER BY ...
#                  LIMIT 51 (and the same with custom plans only); first pages
#                  and a page DEEP rows deep (cursor found beforehand); same rows
#                  first. No target.
#   4 GIN cost     ingestion into a partition with the GIN metadata index and
#                  into one without (two premade, empty partitions, in adjacent
#                  pairs, alternating which goes first): INSERT ... SELECT of
#                  BATCH events per transaction (-c 1), and one record() per
#                  transaction (-c CLIENTS), every run the same number of
#                  transactions (sized from a warm-up, so that both partitions
#                  grow alike); rows/s, with / without. And the size
#                  of the GIN indexes of the loaded log against its heap and its
#                  other indexes.
#   5 pairs        a CHAT_MESSAGE_DELETE and the synthetic MODERATION_LINK it
#                  caused (caused_by, function_type linkFilter, actor system), two
#                  record() calls in one transaction, against the same two rows
#                  by plain INSERTs into a table with the columns and indexes of a
#                  partition and no trigger or constraint (and into the same
#                  table partitioned like the log); -c CLIENTS, PAIRS rounds
#                  alternating the order, every run the same number of
#                  transactions (the tables grow alike), then ASYNC_PAIRS with
#                  synchronous_commit = off. Target: record / plain >= 0.9.
# Every timed query runs under pgbench -M prepared with its values as
# variables (-D), as an application runs it. See bench/README.md.
#
#   bash bench/analytics.sh                               # full run (~9 min on 2 cores)
#   QUICK=1 bash bench/analytics.sh                       # a try (~1 min): 60,000 events, 1 s runs, 1 round
#   PARTS="bursts pairs" bash bench/analytics.sh          # some parts only (the data is always made)
#   KEEP=1 RESULTS_FILE=/tmp/a.md bash bench/analytics.sh # keep the database, save the section
#
# Environment (defaults in brackets; QUICK=1 changes those marked *):
#   PGDATABASE [activity_analytics_bench]  the scratch database (dropped first if
#                                this script created it, refused otherwise)
#   MAINT_DB [postgres]          database to connect to for CREATE/DROP DATABASE
#   ROWS* [400000]               events of the year, all workspaces (+ ~7.7% for the
#                                4 weeks before); ws-0001 gets 25%
#   PARTS ["counts bursts search gin pairs"]  the parts measured
#   SECONDS_PER_RUN* [3]         length of each timed read run (counts, bursts, pages)
#                                (not SECONDS: bash's own variable)
#   WARMUP_SECONDS* [1]          untimed run of each read query before its first timed one
#   ROUNDS* [3]                  timed runs of each read query, order alternating; the median
#   DEEP [300]                   depth of the deep pages (member timeline, common metadata)
#   INGEST_SECONDS* [5]          length of each ingestion run (parts gin and pairs)
#   PAIRS* [6]                   adjacent with/without pairs (gin), rounds (pairs)
#   ASYNC_PAIRS* [4]             rounds of the pairs with synchronous_commit = off
#   BATCH [10000]                events per INSERT ... SELECT transaction (gin)
#   CLIENTS [2]                  pgbench clients (and threads) for single-row ingestion
#   LOAD_MAX* [1.5]              before each part, wait until the 1-minute load average
#   LOAD_WAIT [300]              is below LOAD_MAX, polling every 15 s, at most LOAD_WAIT
#                                seconds (then run anyway, and say so)
#   KEEP [0]                     1: keep the database
#   RESULTS_FILE []              also write the results section to this file
#   PGBENCH [$(pg_config --bindir)/pgbench]
# libpq variables (PGHOST, PGPORT, PGUSER, ...) are honoured; the role must be
# allowed to create databases and the extension. Requires perl (to write the
# variables' values into the queries of the checks and of the logged plans).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
# timestamps travel as text between psql and pgbench: one unambiguous format;
# UTC also for date_trunc('day', ...) in the hand-written counts
export PGDATESTYLE=ISO PGTZ=UTC
export PGDATABASE=${PGDATABASE:-activity_analytics_bench}
MAINT_DB=${MAINT_DB:-postgres}
QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
    ROWS=${ROWS:-60000}; SECONDS_PER_RUN=${SECONDS_PER_RUN:-1}; WARMUP_SECONDS=${WARMUP_SECONDS:-0}
    ROUNDS=${ROUNDS:-1}; INGEST_SECONDS=${INGEST_SECONDS:-2}; PAIRS=${PAIRS:-1}; ASYNC_PAIRS=${ASYNC_PAIRS:-1}
    LOAD_MAX=${LOAD_MAX:-99}
fi
ROWS=${ROWS:-400000}
PARTS=${PARTS:-"counts bursts search gin pairs"}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-3}
WARMUP_SECONDS=${WARMUP_SECONDS:-1}
ROUNDS=${ROUNDS:-3}
DEEP=${DEEP:-300}
INGEST_SECONDS=${INGEST_SECONDS:-5}
PAIRS=${PAIRS:-6}
ASYNC_PAIRS=${ASYNC_PAIRS:-4}
BATCH=${BATCH:-10000}
CLIENTS=${CLIENTS:-2}
LOAD_MAX=${LOAD_MAX:-1.5}
LOAD_WAIT=${LOAD_WAIT:-300}
KEEP=${KEEP:-0}
RESULTS_FILE=${RESULTS_FILE:-}
PGBENCH=${PGBENCH:-$(pg_config --bindir 2>/dev/null)/pgbench}
[ -x "$PGBENCH" ] || PGBENCH=$(command -v pgbench)
MARKER='scratch database of activity bench/analytics.sh'
WS=ws-0001                      # the busy workspace (25% of the events)
LIMIT=50
TARGET_COUNTS_MS=20             # counts(): a year of day buckets of the busy workspace
TARGET_BURSTS_MS=100            # bursts(): a year of the busy workspace
TARGET_PAIRS=0.9                # record() pair rows/s / plain INSERT pair rows/s

LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/activity-analytics.XXXXXX")
mkdir -p "$LOGDIR/scripts"
START=$(date +%s)

. "$HERE/lib.sh"   # log, q, qm, calc, meets, pgb, median, list, wait_quiet, quiet_summary, build_id, fresh_database, machine_description, server_description

for p in $PARTS; do
    case $p in counts|bursts|search|gin|pairs) ;; *) echo "unknown part $p (counts bursts search gin pairs)" >&2; exit 1 ;; esac
done
has_part() { [[ " $PARTS " == *" $1 "* ]]; }
for v in PAIRS ASYNC_PAIRS; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "$v must be at least 1, not '${!v}'" >&2; exit 1; }
done
command -v perl >/dev/null || { echo "perl is required" >&2; exit 1; }

# inline TEXT VARS: TEXT with every :name replaced by the quoted value of name
# in VARS (lines name=value); "::" casts are left alone (as bench/feeds.sh)
read -r -d '' INLINE_PL <<'PERL' || true
my ($t, $vars) = @ARGV;
my %v;
for (split /\n/, $vars) { next unless length; my ($k, $x) = split /=/, $_, 2; $v{$k} = $x; }
$t =~ s{(?<!:):([A-Za-z_][A-Za-z0-9_]*)}{
    exists $v{$1} or die "analytics.sh: no value for :$1\n";
    (my $q = $v{$1}) =~ s/'/''/g; "'$q'" }ge;
$t =~ s/;\s*$//;
print $t;
PERL
inline() { perl -e "$INLINE_PL" "$1" "$2"; }
# prepared TEXT VARS: PREPARE s AS TEXT with $1, $2... for the variables, then
# EXPLAIN (ANALYZE) EXECUTE s(values) twice... under force_generic_plan: the
# generic plan pgbench may switch to after 5 executions
read -r -d '' PREPARE_PL <<'PERL' || true
my ($t, $vars) = @ARGV;
my (%v, %n, @args);
for (split /\n/, $vars) { next unless length; my ($k, $x) = split /=/, $_, 2; $v{$k} = $x; }
$t =~ s{(?<!:):([A-Za-z_][A-Za-z0-9_]*)}{
    exists $v{$1} or die "analytics.sh: no value for :$1\n";
    unless ($n{$1}) { (my $q = $v{$1}) =~ s/'/''/g; push @args, "'$q'"; $n{$1} = scalar @args; }
    '$' . $n{$1} }ge;
$t =~ s/;\s*$//;
my $a = @args ? "(" . join(', ', @args) . ")" : "";
print "SET plan_cache_mode = force_generic_plan;\nPREPARE s AS $t;\nEXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE s$a;\n";
PERL
prepared() { perl -e "$PREPARE_PL" "$1" "$2"; }
# scans PLAN-TEXT(stdin): "Index Scan *_initiator_idx x14, Seq Scan x5": the
# scans of a plan, partitions' names folded
read -r -d '' SCANS_PL <<'PERL' || true
my %c;
while (<STDIN>) {
    next unless /(Index Only Scan|Index Scan|Bitmap Index Scan|Seq Scan)(?: Backward)? (?:using|on) (\S+)/;
    my ($k, $n) = ($1, $2);
    if ($k eq 'Seq Scan') { $n = ''; } else { $n =~ s/^activities_(?:p\d+|default)_/*_/; $n = " $n"; }
    $c{"$k$n"}++;
}
print join(', ', map { "$_ \x{d7}$c{$_}" } sort keys %c) || '(none)';
PERL
scans() { perl -CO -e "$SCANS_PL"; }
dargs() { # VARS -> "-D name=value" arguments, one per line (read into an array)
    while IFS= read -r kv; do [ -n "$kv" ] && printf -- '-D\n%s\n' "$kv"; done <<< "$1"
}

# --- which build is measured (other work may install a new one meanwhile) ---------
BUILD_START=$(build_id)
HEAD_START=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || true)
log "extension build: $BUILD_START"

# --- data ----------------------------------------------------------------------------
fresh_database "kept database $PGDATABASE (KEEP=1); logs in $LOGDIR" \
               "dropped database $PGDATABASE; logs in $LOGDIR"
IFS='|' read -r Y1 Y0 H0 < <(qm -c "SELECT d, d - interval '1 year', d - interval '1 year' - interval '28 days'
                                    FROM (SELECT date_trunc('day', now()) AS d) s")
log "data: ~$ROWS events over [$Y0, $Y1) and the 4 weeks before (from $H0), 521 workspaces; $WS 25%"
T0=$(date +%s%N)
q -v rows="$ROWS" -v h0="$H0" -v y0="$Y0" -v y1="$Y1" -f "$HERE/analytics_schema.sql" > "$LOGDIR/schema.log"
LOAD_S=$(calc "($(date +%s%N) - $T0) / 1e9" 1)
IFS='|' read -r N_ALL N_YEAR N_BUSY N_BUSY_YEAR N_WS N_PARTS N_TYPES SIZE < <(q -c "
    SELECT (SELECT count(*) FROM activity.activities),
           (SELECT count(*) FROM activity.activities WHERE occurred_at >= '$Y0' AND occurred_at < '$Y1'),
           (SELECT count(*) FROM activity.activities WHERE workspace_id = '$WS'),
           (SELECT count(*) FROM activity.activities WHERE workspace_id = '$WS' AND occurred_at >= '$Y0' AND occurred_at < '$Y1'),
           (SELECT count(DISTINCT workspace_id) FROM activity.activities),
           (SELECT count(*) FROM activity.partitions()),
           (SELECT count(DISTINCT type) FROM activity.activities WHERE workspace_id = '$WS'),
           (SELECT pg_size_pretty(sum(pg_total_relation_size(relid))) FROM pg_partition_tree('activity.activities'))")
log "loaded in ${LOAD_S}s (generation, validated INSERT ... SELECT, VACUUM ANALYZE): $N_ALL events ($N_YEAR in the year), $N_WS workspaces, $N_PARTS partitions, $SIZE; $WS: $N_BUSY ($N_BUSY_YEAR in the year, $N_TYPES types)"
BASE_VARS="ws=$WS"$'\n'"since=$Y0"$'\n'"until=$Y1"

# --- timing helpers --------------------------------------------------------------------
declare -A Q_SQL Q_LABEL Q_VARS Q_OPTS RUNS SAME NROWS PLAN
# define NAME LABEL VARS SQL [PGOPTIONS]: a read query for pgbench (with :vars)
define() {
    Q_LABEL[$1]=$2; Q_VARS[$1]=$3; Q_SQL[$1]=$4; Q_OPTS[$1]=${5:-}
    printf '%s;\n' "$4" > "$LOGDIR/scripts/$1.sql"
}
# run_q NAME [warmup]: one pgbench -c 1 run of the query; latency appended to RUNS[NAME]
run_q() {
    local n=$1 k a=()
    mapfile -t a < <(dargs "${Q_VARS[$n]}")
    if [ "${2:-}" = warmup ]; then
        [ "$WARMUP_SECONDS" -gt 0 ] || return 0
        PGOPTIONS="${PGOPTIONS:-} ${Q_OPTS[$n]}" pgb "$n.warmup" -c 1 -j 1 -T "$WARMUP_SECONDS" -f "$LOGDIR/scripts/$n.sql" "${a[@]}"
        return 0
    fi
    k=$(( $(wc -w <<< "${RUNS[$n]:-}") + 1 ))
    PGOPTIONS="${PGOPTIONS:-} ${Q_OPTS[$n]}" pgb "$n.$k" -c 1 -j 1 -T "$SECONDS_PER_RUN" -f "$LOGDIR/scripts/$n.sql" "${a[@]}"
    RUNS[$n]="${RUNS[$n]:-} $LAT"
}
# time_set "NAMES": a warm-up of each, then ROUNDS rounds, the order reversed every other round
time_set() {
    local names=$1 order r n
    for n in $names; do run_q "$n" warmup; done
    for r in $(seq 1 "$ROUNDS"); do
        order=$names
        [ $((r % 2)) = 0 ] && order=$(tr ' ' '\n' <<< "$names" | grep . | tac | tr '\n' ' ')
        for n in $order; do run_q "$n"; done
    done
    for n in $names; do log "  $n: $(ms "$n") ms [$(list "${RUNS[$n]}")]"; done
}
ms() { median <<< "${RUNS[$1]}" | xargs printf '%.3f'; }
# sql_of NAME: the query with its values written in
sql_of() { inline "${Q_SQL[$1]}" "${Q_VARS[$1]}"; }
# explain NAME FILE: EXPLAIN (ANALYZE, BUFFERS) of the query with literals (a custom plan), and of its
# generic plan; the scans of the plan pgbench most likely ran in PLAN[NAME]
explain() {
    local n=$1 f=$2
    {
        echo "-- $n: ${Q_LABEL[$n]}"
        echo "-- custom plan (values as literals)"
        PGOPTIONS="${PGOPTIONS:-} ${Q_OPTS[$n]}" q -c "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) $(sql_of "$n")" 2>&1 || true
        echo "-- generic plan"
        prepared "${Q_SQL[$n]}" "${Q_VARS[$n]}" | q 2>&1 || true
        echo
    } >> "$f"
}

declare -A R   # results, by name
SUMMARY=()

# --- 1: counts() -------------------------------------------------------------------------
if has_part counts; then
    wait_quiet counts
    log "1. counts(): $WS over [$Y0, $Y1), 1-day buckets"
    W="workspace_id = :ws AND occurred_at >= :since::timestamptz AND occurred_at < :until::timestamptz"
    define counts_type "activity.counts(ws, since, until, '1 day')" "$BASE_VARS" \
        "SELECT * FROM activity.counts(:ws, :since::timestamptz, :until::timestamptz, '1 day')"
    define hand_type "SELECT date_trunc('day', occurred_at), type, count(*) FROM activity.activities WHERE workspace_id = ... AND occurred_at >= ... AND occurred_at < ... GROUP BY 1, 2" "$BASE_VARS" \
        "SELECT date_trunc('day', occurred_at) AS bucket, type AS key, count(*) AS n FROM activity.activities WHERE $W GROUP BY 1, 2"
    define counts_universal "activity.counts(ws, since, until, '1 day', \"by\" => 'universal_type')" "$BASE_VARS" \
        "SELECT * FROM activity.counts(:ws, :since::timestamptz, :until::timestamptz, '1 day', \"by\" => 'universal_type')"
    define hand_universal "the same joined to activity.event_types: ... t.universal_type ... LEFT JOIN activity.event_types t ON t.name = a.type ... GROUP BY 1, 2" "$BASE_VARS" \
        "SELECT date_trunc('day', a.occurred_at) AS bucket, t.universal_type AS key, count(*) AS n FROM activity.activities a LEFT JOIN activity.event_types t ON t.name = a.type WHERE a.$(sed 's/ AND occurred_at/ AND a.occurred_at/g' <<< "$W") GROUP BY 1, 2"
    define counts_la "activity.counts(ws, since, until, '1 day', tz => 'America/Los_Angeles')" "$BASE_VARS" \
        "SELECT * FROM activity.counts(:ws, :since::timestamptz, :until::timestamptz, '1 day', tz => 'America/Los_Angeles')"
    define hand_la "SELECT date_trunc('day', occurred_at, 'America/Los_Angeles'), type, count(*) ... GROUP BY 1, 2" "$BASE_VARS" \
        "SELECT date_trunc('day', occurred_at, 'America/Los_Angeles') AS bucket, type AS key, count(*) AS n FROM activity.activities WHERE $W GROUP BY 1, 2"
    # same rows? (md5 of the rows, ordered)
    for pair in "counts_type hand_type" "counts_universal hand_universal" "counts_la hand_la"; do
        read -r a b <<< "$pair"
        ra=$(q -F ' ' -c "SELECT count(*), md5(string_agg(r::text, ',' ORDER BY r::text)) FROM ($(sql_of "$a")) r")
        rb=$(q -F ' ' -c "SELECT count(*), md5(string_agg(r::text, ',' ORDER BY r::text)) FROM ($(sql_of "$b")) r")
        NROWS[$a]=${ra%% *}; NROWS[$b]=${rb%% *}
        if [ "$ra" = "$rb" ]; then SAME[$a]="same ${ra%% *} rows"
        else
            SAME[$a]="**MISMATCH**: ${ra%% *} rows against ${rb%% *}"
            log "MISMATCH: $a ($ra) and $b ($rb); rows in $LOGDIR/mismatch.$a.txt"
            { echo "-- $a"; q -c "$(sql_of "$a") ORDER BY 1, 2"; echo "-- $b"; q -c "$(sql_of "$b") ORDER BY 1, 2"; } > "$LOGDIR/mismatch.$a.txt" 2>&1 || true
        fi
        log "  $a / $b: ${SAME[$a]}"
        explain "$b" "$LOGDIR/plans.counts.txt"
        PLAN[$b]=$(q -c "EXPLAIN (COSTS OFF) $(sql_of "$b")" | scans)
    done
    time_set "counts_type hand_type counts_universal hand_universal counts_la hand_la"
fi

# --- 2: bursts() -------------------------------------------------------------------------
if has_part bursts; then
    wait_quiet bursts
    log "2. bursts(): $WS over [$Y0, $Y1)"
    define bursts_type "activity.bursts(ws, since, until) (1 hour, by type, against the same hour of the 4 previous weeks)" "$BASE_VARS" \
        "SELECT * FROM activity.bursts(:ws, :since::timestamptz, :until::timestamptz)"
    define bursts_universal "activity.bursts(ws, since, until, \"by\" => 'universal_type')" "$BASE_VARS" \
        "SELECT * FROM activity.bursts(:ws, :since::timestamptz, :until::timestamptz, \"by\" => 'universal_type')"
    define anomalies "activity.anomalies(ws, since, until) (4 bursts() checks)" "$BASE_VARS" \
        "SELECT * FROM activity.anomalies(:ws, :since::timestamptz, :until::timestamptz)"
    define bursts_type_wm "diagnostic: bursts(ws, since, until) with work_mem = 64MB (PGOPTIONS)" "$BASE_VARS" \
        "SELECT * FROM activity.bursts(:ws, :since::timestamptz, :until::timestamptz)" "-c work_mem=64MB"
    for n in bursts_type bursts_universal anomalies; do
        NROWS[$n]=$(q -c "SELECT count(*) FROM ($(sql_of "$n")) r")
        q -c "$(sql_of "$n")" > "$LOGDIR/rows.$n.txt"
        log "  $n: ${NROWS[$n]} rows"
    done
    NROWS[bursts_type_wm]=${NROWS[bursts_type]}
    # where the time goes: the statements inside bursts(), by auto_explain (diagnostic)
    { echo "-- auto_explain of $(sql_of bursts_type), work_mem default then 64MB"
      q 2>&1 <<SQL || true
LOAD 'auto_explain';
SET auto_explain.log_min_duration = 0; SET auto_explain.log_nested_statements = on;
SET auto_explain.log_analyze = on; SET auto_explain.log_buffers = on; SET auto_explain.log_timing = on;
SET client_min_messages = log;
$(sql_of bursts_type) \\g /dev/null
SET work_mem = '64MB';
$(sql_of bursts_type) \\g /dev/null
SQL
    } | sed -E 's/\{("[0-9: -]+",){20}[^}]*\}/{...timestamps...}/g' > "$LOGDIR/plans.bursts.txt"
    time_set "bursts_type bursts_universal anomalies bursts_type_wm"
fi

# --- 3: search -----------------------------------------------------------------------------
COLS='id, workspace_id, platform, type, version, actor_type, initiator_id, recipient_id, subject_type, subject_id, caused_by, metadata, occurred_at, recorded_at, function_type'
ORD='ORDER BY occurred_at DESC, id DESC'
if has_part search; then
    wait_quiet search
    log "3. search: building the GIN metadata indexes (configure(metadata_index => true), pending_steps())"
    T0=$(date +%s%N)
    q <<'SQL' > "$LOGDIR/gin_build.log"
SELECT metadata_index FROM activity.configure(metadata_index => true);
SELECT statement FROM activity.pending_steps() \gexec
ANALYZE activity.activities;
SQL
    GIN_BUILD_S=$(calc "($(date +%s%N) - $T0) / 1e9" 1)
    N_GIN=$(q -c "SELECT count(*) FROM pg_indexes WHERE schemaname = 'activity_partitions' AND indexname LIKE '%\_metadata\_idx'")
    log "  $N_GIN GIN indexes built (and ANALYZE) in ${GIN_BUILD_S}s"
    # the member: the most active of the busy workspace (initiated + received)
    IFS='|' read -r MEMBER MEMBER_ROWS < <(q -c "
        SELECT m, count(*) FROM (SELECT initiator_id AS m FROM activity.activities WHERE workspace_id = '$WS' AND initiator_id LIKE 'm-%'
                                 UNION ALL
                                 SELECT recipient_id FROM activity.activities WHERE workspace_id = '$WS' AND recipient_id IS NOT NULL
                                   AND recipient_id IS DISTINCT FROM initiator_id) s
        GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1")
    MEMBER_RECEIVED=$(q -c "SELECT count(*) FROM activity.activities WHERE workspace_id = '$WS' AND recipient_id = '$MEMBER'")
    # the rare document: a post id of the busy workspace with the number of rows closest to 5
    IFS='|' read -r RARE_POST RARE_ROWS < <(q -c "
        SELECT metadata->>'post_id', count(*) FROM activity.activities WHERE workspace_id = '$WS' AND metadata ? 'post_id'
        GROUP BY 1 ORDER BY abs(count(*) - 5), 1 LIMIT 1")
    RARE_DOC="{\"post_id\": \"$RARE_POST\"}"
    COMMON_DOC='{"feed": "general"}'
    COMMON_ROWS=$(q -c "SELECT count(*) FROM activity.activities WHERE workspace_id = '$WS' AND metadata @> '$COMMON_DOC'")
    COMMON_ALL=$(q -c "SELECT count(*) FROM activity.activities WHERE metadata @> '$COMMON_DOC'")
    log "  member $MEMBER: $MEMBER_ROWS rows ($MEMBER_RECEIVED received); rare $RARE_DOC: $RARE_ROWS rows; common $COMMON_DOC: $COMMON_ROWS rows ($COMMON_ALL in all workspaces)"
    cursor_vars() { # page() call with $1 $2; prints cursor=..., ts=..., id=... of depth DEEP
        local c t i
        IFS='|' read -r c t i < <(q -v call="$1" -v depth="$DEEP" <<< "SELECT * FROM bench.cursor_at(:'call', :'depth')")
        printf 'cursor=%s\nts=%s\nid=%s' "$c" "$t" "$i"
    }
    MV="ws=$WS"$'\n'"member=$MEMBER"
    MDV="$MV"$'\n'"$(cursor_vars "activity.page('$WS', \$1, \$2, member_id => '$MEMBER')")"
    RV="ws=$WS"$'\n'"doc=$RARE_DOC"
    CV="ws=$WS"$'\n'"doc=$COMMON_DOC"
    CDV="$CV"$'\n'"$(cursor_vars "activity.page('$WS', \$1, \$2, metadata => '$COMMON_DOC')")"
    KS='AND (occurred_at, id) < (:ts::timestamptz, :id::uuid)'
    mem_union() { # keyset-condition, UNION or UNION ALL
        local second="recipient_id = :member"
        [ "$2" = "UNION ALL" ] && second="$second AND initiator_id IS DISTINCT FROM :member"
        echo "(SELECT $COLS FROM activity.activities WHERE workspace_id = :ws AND initiator_id = :member $1 $ORD LIMIT 51) $2 (SELECT $COLS FROM activity.activities WHERE workspace_id = :ws AND $second $1 $ORD LIMIT 51) $ORD LIMIT 51"
    }
    # the points: name, description, depth, variables, kind
    declare -A P_DESC P_DEPTH P_VARS P_KIND P_Q P_TOTAL
    point() { P_DESC[$1]=$2; P_DEPTH[$1]=$3; P_VARS[$1]=$4; P_KIND[$1]=$5; }
    declare -A P_SHORT=([member_first]="member timeline first page" [member_deep]="deep" [rare_first]="rare post id" [common_first]="common feed label first page" [common_deep]="deep")
    POINTS=(member_first member_deep rare_first common_first common_deep)
    point member_first "member timeline of $MEMBER in $WS ($MEMBER_ROWS rows), first page" 0 "$MV" member
    point member_deep "member timeline of $MEMBER, depth $DEEP" "$DEEP" "$MDV" member
    point rare_first "metadata $RARE_DOC in $WS ($RARE_ROWS rows), first (only) page" 0 "$RV" meta
    point common_first "metadata $COMMON_DOC in $WS ($COMMON_ROWS rows; $COMMON_ALL in all workspaces), first page" 0 "$CV" meta
    point common_deep "metadata $COMMON_DOC in $WS, depth $DEEP" "$DEEP" "$CDV" meta
    for p in "${POINTS[@]}"; do
        depth=${P_DEPTH[$p]}; vars=${P_VARS[$p]}; kind=${P_KIND[$p]}
        after=NULL; ks=''
        if [ "$depth" != 0 ]; then after=':cursor::activity.cursor'; ks=$KS; fi
        if [ "$kind" = member ]; then
            define "$p.page" "activity.page(ws, after, 50, member_id => m)" "$vars" "SELECT * FROM activity.page(:ws, $after, $LIMIT, member_id => :member)"
            define "$p.union" "hand-written: (initiator keyset LIMIT 51) UNION (recipient keyset LIMIT 51) ORDER BY ... LIMIT 51" "$vars" "$(mem_union "$ks" UNION)"
            define "$p.union_all" "hand-written: the same with UNION ALL, the second branch AND initiator_id IS DISTINCT FROM m" "$vars" "$(mem_union "$ks" "UNION ALL")"
            P_Q[$p]="$p.page $p.union $p.union_all"
            P_TOTAL[$p]=$MEMBER_ROWS
        else
            define "$p.page" "activity.page(ws, after, 50, metadata => doc)" "$vars" "SELECT * FROM activity.page(:ws, $after, $LIMIT, metadata => :doc::jsonb)"
            define "$p.hand" "hand-written: WHERE workspace_id = \$1 AND metadata @> \$2 [keyset] ORDER BY occurred_at DESC, id DESC LIMIT 51" "$vars" \
                "SELECT $COLS FROM activity.activities WHERE workspace_id = :ws AND metadata @> :doc::jsonb $ks $ORD LIMIT 51"
            define "$p.hand_custom" "the same, plan_cache_mode = force_custom_plan (PGOPTIONS): planned for each document" "$vars" \
                "${Q_SQL[$p.hand]}" "-c plan_cache_mode=force_custom_plan"
            P_Q[$p]="$p.page $p.hand $p.hand_custom"
            if [ "$p" = rare_first ]; then P_TOTAL[$p]=$RARE_ROWS; else P_TOTAL[$p]=$COMMON_ROWS; fi
        fi
        want=$(( P_TOTAL[$p] - depth )); [ "$want" -gt "$LIMIT" ] && want=$LIMIT
        # same rows? page()'s 50 against the first 50 of each hand-written query (all columns, in order)
        same="same $want rows"; ref=
        for n in ${P_Q[$p]}; do
            got=$(PGOPTIONS="${PGOPTIONS:-} ${Q_OPTS[$n]}" q -F ' ' -c "SELECT count(*), md5(string_agg(ROW($COLS)::text, ',' $ORD)) FROM (SELECT $COLS FROM ($(sql_of "$n")) s $ORD LIMIT $LIMIT) r")
            [ -n "$ref" ] || ref=$got
            if [ "$got" != "$ref" ] || [ "${got%% *}" != "$want" ]; then
                same="**MISMATCH** (see the log)"
                log "MISMATCH at $p: $n gives $got, ${P_Q[$p]%% *} gives $ref, expected $want rows: $(sql_of "$n")"
            fi
        done
        SAME[$p]=$same
        log "  $p: ${P_DESC[$p]}: $same"
        # plans: page_plans() of page(), EXPLAIN of the hand-written ones
        f=$LOGDIR/plans.$p.txt
        pp_args="'$WS', $( [ "$depth" = 0 ] && echo NULL || echo "'$(sed -n 's/^cursor=//p' <<< "$vars")'"), $LIMIT"
        if [ "$kind" = member ]; then pp_args="$pp_args, member_id => '$MEMBER'"; else pp_args="$pp_args, metadata => '$(sed -n 's/^doc=//p' <<< "$vars")'"; fi
        { echo "-- $p: ${P_DESC[$p]}"; echo "-- activity.page_plans($pp_args)"; q -c "SELECT partition, plan FROM activity.page_plans($pp_args)"; echo; } > "$f" 2>&1
        PLAN[$p.page]=$(q -c "SELECT plan FROM activity.page_plans($pp_args)" | scans)
        for n in ${P_Q[$p]}; do
            [ "$n" = "$p.page" ] && continue
            explain "$n" "$f"
            PLAN[$n]=$(PGOPTIONS="${PGOPTIONS:-} ${Q_OPTS[$n]}" q -c "EXPLAIN (COSTS OFF) $(sql_of "$n")" | scans)
            if [ -n "${Q_OPTS[$n]}" ]; then PLAN[$n.generic]="(custom plans only)"
            else PLAN[$n.generic]=$(prepared "${Q_SQL[$n]}" "${Q_VARS[$n]}" | sed 's/ANALYZE, BUFFERS, //' | q | scans); fi
        done
        log "  plans: page() ${PLAN[$p.page]}"
    done
    for p in "${POINTS[@]}"; do time_set "${P_Q[$p]}"; done
fi

# --- 4: the GIN metadata index: size, and ingestion with and without ----------------------
gin_name() { echo "activity_partitions.$(q -c "SELECT c.relname FROM pg_class c WHERE c.oid = '$1'::regclass")_metadata_idx"; }
if has_part gin; then
    wait_quiet gin
    log "4. the GIN metadata index: size, ingestion with and without"
    if [ "$(q -c "SELECT count(*) FROM activity.pending_steps()")" != 0 ] || [ "$(q -c "SELECT metadata_index FROM activity.settings")" != t ]; then
        q <<'SQL' > "$LOGDIR/gin_build.log"
SELECT metadata_index FROM activity.configure(metadata_index => true);
SELECT statement FROM activity.pending_steps() \gexec
ANALYZE activity.activities;
SQL
    fi
    # sizes of the loaded log (before any ingestion below): every partition
    IFS='|' read -r S_TABLE S_BTREE S_GIN S_IDS B_TABLE B_BTREE B_GIN < <(q -c "
        WITH leaves AS (SELECT relid FROM pg_partition_tree('activity.activities') WHERE isleaf),
             idx AS (SELECT i.indexrelid, c.relname FROM pg_index i JOIN leaves l ON l.relid = i.indrelid JOIN pg_class c ON c.oid = i.indexrelid),
             s AS (SELECT (SELECT sum(pg_table_size(relid)) FROM leaves) AS t,
                          (SELECT sum(pg_relation_size(indexrelid)) FROM idx WHERE relname NOT LIKE '%\_metadata\_idx') AS b,
                          (SELECT sum(pg_relation_size(indexrelid)) FROM idx WHERE relname LIKE '%\_metadata\_idx') AS g)
        SELECT pg_size_pretty(t), pg_size_pretty(b), pg_size_pretty(g), pg_size_pretty(pg_total_relation_size('activity.event_ids')), t, b, g FROM s")
    GIN_PER_ROW=$(calc "$B_GIN / $N_ALL" 0)
    log "  loaded log: table $S_TABLE, the 7 btree indexes $S_BTREE, GIN $S_GIN ($GIN_PER_ROW bytes/event), activity.event_ids $S_IDS"
    # two premade, empty partitions: A keeps its GIN index, B loses it
    IFS='|' read -r PA PA_LO PB PB_LO < <(q -c "
        SELECT a.partition, a.lower, b.partition, b.lower FROM activity.partitions() a, activity.partitions() b
        WHERE a.lower = date_trunc('month', now()) + interval '2 months' AND b.lower = date_trunc('month', now()) + interval '3 months'")
    [ -n "$PB" ] || { echo "the partitions 2 and 3 months ahead are missing" >&2; exit 1; }
    [ "$(q -c "SELECT count(*) FROM $PA") $(q -c "SELECT count(*) FROM $PB")" = "0 0" ] || { echo "$PA or $PB is not empty" >&2; exit 1; }
    GIN_B=$(gin_name "$PB")
    q -c "DROP INDEX IF EXISTS $GIN_B"
    [ "$(q -c "SELECT count(*) FROM pg_indexes WHERE schemaname = 'activity_partitions' AND indexname = '$(q -c "SELECT relname FROM pg_class WHERE oid = '$PA'::regclass")_metadata_idx'")" = 1 ] \
        || { echo "$PA has no GIN metadata index" >&2; exit 1; }
    # occurred_at = now() + shift: a day into the partition, moving on with the clock
    SHIFT_A=$(q -c "SELECT ('$PA_LO'::timestamptz + interval '1 day') - now()")
    SHIFT_B=$(q -c "SELECT ('$PB_LO'::timestamptz + interval '1 day') - now()")
    log "  with the index: $PA (occurred_at = now() + $SHIFT_A); without: $PB (now() + $SHIFT_B, its GIN index dropped)"
    declare -A ING
    # ingest WHAT(batch|record) SIDE(with|without) TX [warmup]: one run of TX transactions
    # (per client), prints rows/s (run in $(...): the caller appends to ING). Both sides run
    # the same number of transactions, so that the two partitions grow alike.
    ingest() {
        local what=$1 side=$2 tx=$3 shift name
        if [ "$side" = with ]; then shift=$SHIFT_A; else shift=$SHIFT_B; fi
        q -c CHECKPOINT
        name="gin.$what.$side.$(( $(wc -w <<< "${ING[$what.$side]:-}") + 1 ))"
        [ "${4:-}" = warmup ] && name="gin.$what.$side.warmup"
        if [ "$what" = batch ]; then
            pgb "$name" -c 1 -j 1 -t "$tx" -f "$HERE/analytics_batch.sql" -D shift="$shift" -D batch="$BATCH"
            calc "$TPS * $BATCH" 0
        else
            pgb "$name" -c "$CLIENTS" -j "$CLIENTS" -t "$tx" -f "$HERE/analytics_record.sql" -D shift="$shift"
            calc "$TPS" 0
        fi
    }
    declare -A ING_TX
    for what in batch record; do
        # warm-up of both sides, and the number of transactions of a run: about INGEST_SECONDS
        # at the rate of the warm-up with the index
        if [ "$what" = batch ]; then w=2; else w=200; fi
        a=$(ingest "$what" with "$w" warmup); b=$(ingest "$what" without "$w" warmup)
        if [ "$what" = batch ]; then ING_TX[$what]=$(calc "$a * $INGEST_SECONDS / $BATCH" 0)
        else ING_TX[$what]=$(calc "$a * $INGEST_SECONDS / $CLIENTS" 0); fi
        [ "${ING_TX[$what]}" -ge "$w" ] || ING_TX[$what]=$w
        log "  $what warm-up: with $a rows/s, without $b rows/s; runs of ${ING_TX[$what]} transactions$([ "$what" = record ] && echo " per client")"
        for i in $(seq 1 "$PAIRS"); do
            if [ $((i % 2)) = 1 ]; then a=$(ingest "$what" with "${ING_TX[$what]}"); b=$(ingest "$what" without "${ING_TX[$what]}")
            else b=$(ingest "$what" without "${ING_TX[$what]}"); a=$(ingest "$what" with "${ING_TX[$what]}"); fi
            ING[$what.with]="${ING[$what.with]:-} $a"; ING[$what.without]="${ING[$what.without]:-} $b"
            ING[$what.ratio]="${ING[$what.ratio]:-} $(calc "$a / $b" 3)"
            log "  $what pair $i: with $a rows/s, without $b rows/s, ratio $(calc "$a / $b" 3)"
        done
    done
    # after the ingestion: partition A (with) against B (without)
    IFS='|' read -r PA_ROWS PA_TABLE PA_BTREE PA_GIN PB_ROWS PB_TABLE PB_BTREE < <(q -c "
        SELECT (SELECT count(*) FROM $PA), pg_size_pretty(pg_table_size('$PA')),
               pg_size_pretty((SELECT sum(pg_relation_size(indexrelid)) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                               WHERE i.indrelid = '$PA'::regclass AND c.relname NOT LIKE '%\_metadata\_idx')),
               pg_size_pretty(pg_relation_size('$(gin_name "$PA")')),
               (SELECT count(*) FROM $PB), pg_size_pretty(pg_table_size('$PB')), pg_size_pretty(pg_indexes_size('$PB'))")
    log "  after: $PA $PA_ROWS rows, table $PA_TABLE, btrees $PA_BTREE, GIN $PA_GIN; $PB $PB_ROWS rows, table $PB_TABLE, btrees $PB_BTREE"
fi

# --- 5: synthetic pairs --------------------------------------------------------------------
if has_part pairs; then
    wait_quiet pairs
    log "5. synthetic pairs: record() x2 against plain INSERT x2, -c $CLIENTS"
    # the default configuration: no GIN index on the partition written to
    CUR=$(q -c "SELECT partition FROM activity.partitions() WHERE NOT is_default AND now() >= lower AND now() < upper")
    q -c "SELECT metadata_index FROM activity.configure(metadata_index => false)" >/dev/null
    q -c "SET client_min_messages = warning" -c "DROP INDEX IF EXISTS $(gin_name "$CUR")"
    q > "$LOGDIR/pairs_schema.log" <<SQL
SET client_min_messages = warning;
DROP TABLE IF EXISTS bench.plain_pairs, bench.plain_parted;
-- the columns, defaults and indexes of the partition record() writes to; no trigger, no constraint
CREATE TABLE bench.plain_pairs (LIKE $CUR INCLUDING DEFAULTS INCLUDING INDEXES);
-- the same, partitioned like the log (as bench/schema.sql's baseline)
CREATE TABLE bench.plain_parted (LIKE $CUR INCLUDING DEFAULTS INCLUDING INDEXES) PARTITION BY RANGE (occurred_at);
CREATE TABLE bench.plain_parted_default PARTITION OF bench.plain_parted DEFAULT;
SELECT format('CREATE TABLE bench.%I PARTITION OF bench.plain_parted FOR VALUES FROM (%L) TO (%L)',
              'plain_parted_p' || to_char(lower AT TIME ZONE 'UTC', 'YYYYMMDD'), lower, upper)
FROM activity.partitions() WHERE NOT is_default \\gexec
SQL
    idx_defs() { q -c "SELECT string_agg(d, '; ' ORDER BY d) FROM (SELECT regexp_replace(pg_get_indexdef(indexrelid), '^CREATE (UNIQUE )?INDEX \\S+ ON \\S+ ', '\\1') AS d FROM pg_index WHERE indrelid = '$1'::regclass) s"; }
    [ "$(idx_defs "$CUR")" = "$(idx_defs bench.plain_pairs)" ] || { echo "bench.plain_pairs's indexes differ from $CUR's" >&2; exit 1; }
    [ "$(idx_defs "$CUR")" = "$(idx_defs "bench.plain_parted_p$(q -c "SELECT to_char(lower AT TIME ZONE 'UTC', 'YYYYMMDD') FROM activity.partitions() WHERE partition = '$CUR'::regclass")")" ] \
        || { echo "bench.plain_parted's indexes differ from $CUR's" >&2; exit 1; }
    N_IDX=$(q -c "SELECT count(*) FROM pg_index WHERE indrelid = '$CUR'::regclass")
    IDX_LIST=$(q -c "SELECT string_agg(regexp_replace(c.relname, '^activities_p[0-9]+_', ''), ', ' ORDER BY c.relname) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = '$CUR'::regclass")
    sed 's/bench\.plain_pairs/bench.plain_parted/g' "$HERE/analytics_pair_plain.sql" > "$LOGDIR/scripts/pair_parted.sql"
    declare -A PR PCHECK
    # pair MODE(sync|async) VARIANT(record|plain|parted) TX [warmup]: one run of TX transactions
    # per client (the same for the three, so that their tables grow alike); rows/s appended
    # to PR[MODE.VARIANT], the rows written checked against the transactions
    pair() {
        local mode=$1 v=$2 tx=$3 script table before after k name opts="${PGOPTIONS:-}" done_tx
        case $v in
            record) script=$HERE/analytics_pair_record.sql; table=$CUR ;;
            plain)  script=$HERE/analytics_pair_plain.sql;  table=bench.plain_pairs ;;
            parted) script=$LOGDIR/scripts/pair_parted.sql; table=bench.plain_parted ;;
        esac
        [ "$mode" = async ] && opts="$opts -c synchronous_commit=off"
        q -c CHECKPOINT
        before=$(q -c "SELECT count(*) FROM $table")
        k=$(( $(wc -w <<< "${PR[$mode.$v]:-}") + 1 ))
        name="pairs.$mode.$v.$k"; [ "${4:-}" = warmup ] && name="pairs.$mode.$v.warmup"
        PGOPTIONS=$opts pgb "$name" -c "$CLIENTS" -j "$CLIENTS" -t "$tx" -f "$script"
        after=$(q -c "SELECT count(*) FROM $table")
        done_tx=$(awk '/number of transactions actually processed/ { split($NF, a, "/"); print a[1]; exit }' "$LOGDIR/$name.log")
        if [ "${4:-}" = warmup ]; then PR[$mode.$v.warmup]=$(calc "2 * $TPS" 0); return; fi
        if [ $((after - before)) = $((2 * done_tx)) ]; then PCHECK[$mode.$v]="${PCHECK[$mode.$v]:-} ok"
        else PCHECK[$mode.$v]="${PCHECK[$mode.$v]:-} BAD"; log "  $mode $v run $k: $((after - before)) rows for $done_tx transactions"; fi
        PR[$mode.$v]="${PR[$mode.$v]:-} $(calc "2 * $TPS" 0)"
    }
    declare -A PAIR_TX
    for mode in sync async; do
        n=$PAIRS; [ "$mode" = async ] && n=$ASYNC_PAIRS
        for v in record plain parted; do pair "$mode" "$v" 200 warmup; done
        PAIR_TX[$mode]=$(calc "${PR[$mode.record.warmup]} / 2 * $INGEST_SECONDS / $CLIENTS" 0)
        [ "${PAIR_TX[$mode]}" -ge 200 ] || PAIR_TX[$mode]=200
        log "  $mode warm-up: rows/s record ${PR[$mode.record.warmup]}, plain ${PR[$mode.plain.warmup]}, partitioned ${PR[$mode.parted.warmup]}; runs of ${PAIR_TX[$mode]} transactions per client"
        for i in $(seq 1 "$n"); do
            if [ $((i % 2)) = 1 ]; then order="record plain parted"; else order="parted plain record"; fi
            for v in $order; do pair "$mode" "$v" "${PAIR_TX[$mode]}"; done
            last() { awk '{ print $NF }' <<< "${PR[$mode.$1]}"; }
            PR[$mode.ratio]="${PR[$mode.ratio]:-} $(calc "$(last record) / $(last plain)" 3)"
            PR[$mode.ratio_parted]="${PR[$mode.ratio_parted]:-} $(calc "$(last record) / $(last parted)" 3)"
            log "  $mode round $i: rows/s record $(last record), plain $(last plain), partitioned $(last parted); record / plain $(calc "$(last record) / $(last plain)" 3)"
        done
    done
    # the rows recorded are what they should be: the effect points at its cause, same workspace
    q -c "ANALYZE $CUR"
    PAIR_ROWS_OK=$(q -c "SELECT count(*) FILTER (WHERE e.caused_by = c.id AND c.workspace_id = e.workspace_id AND c.type = 'CHAT_MESSAGE_DELETE'
                                                  AND e.function_type = 'linkFilter' AND e.actor_type = 'system')
                                 || ' of ' || count(*)
                         FROM $CUR e LEFT JOIN $CUR c ON c.id = e.caused_by WHERE e.type = 'MODERATION_LINK' AND e.occurred_at >= '$Y1'")
    log "  MODERATION_LINK rows recorded with their cause: $PAIR_ROWS_OK"
fi

# --- results -----------------------------------------------------------------------------------
MACHINE=$(machine_description)
BUILD_END=$(build_id)
EXT_NOTE="installed files: $BUILD_START"
if [ "$BUILD_END" != "$BUILD_START" ]; then EXT_NOTE="$EXT_NOTE; **a new build was installed during the run**: $BUILD_END"
else EXT_NOTE="$EXT_NOTE, the same at the end of the run"; fi
if git -C "$REPO" rev-parse --short HEAD >/dev/null 2>&1; then
    EXT_NOTE="$EXT_NOTE; repository at commit $(git -C "$REPO" rev-parse --short HEAD)"
    [ "$HEAD_START" = "$(git -C "$REPO" rev-parse --short HEAD)" ] || EXT_NOTE="$EXT_NOTE (at $HEAD_START when the run started)"
    [ -z "$(git -C "$REPO" status --porcelain -- sql src 2>/dev/null)" ] || EXT_NOTE="$EXT_NOTE, with uncommitted changes in sql/ or src/"
    if cmp -s "$SHAREDIR/activity--0.1--0.2.sql" "$REPO/sql/activity--0.1--0.2.sql"; then EXT_NOTE="$EXT_NOTE; the installed SQL is the working tree's"
    else EXT_NOTE="$EXT_NOTE; the installed SQL is not the working tree's"; fi
fi
SERVER=$(server_description shared_buffers work_mem synchronous_commit jit plan_cache_mode gin_pending_list_limit max_wal_size)
mt() { median <<< "$1" | xargs printf '%.0f'; }
m3() { median <<< "$1" | xargs printf '%.3f'; }
DATE=$(date -u '+%Y-%m-%d %H:%M')

# the one-line summary of the targets
if has_part counts; then
    worst=$(for n in counts_type counts_universal counts_la; do ms "$n"; echo; done | sort -g | tail -n 1)
    SUMMARY+=("counts() $(ms counts_type) ms by type, at most $worst ms ($(meets "$worst" "$TARGET_COUNTS_MS" lt | sed 's/yes/target < 20 ms met/; s/\*\*no\*\*/target < 20 ms **not met**/'))")
fi
if has_part bursts; then
    SUMMARY+=("bursts() $(ms bursts_type) ms ($(meets "$(ms bursts_type)" "$TARGET_BURSTS_MS" lt | sed 's/yes/target < 100 ms met/; s/\*\*no\*\*/target < 100 ms **not met**/'))")
fi
if has_part pairs; then
    SUMMARY+=("synthetic pairs record() / INSERT $(m3 "${PR[sync.ratio]}") ($(meets "$(m3 "${PR[sync.ratio]}")" "$TARGET_PAIRS" ge | sed 's/yes/target >= 0.9 met/; s/\*\*no\*\*/target >= 0.9 **not met**/')), $(m3 "${PR[async.ratio]}") with synchronous_commit = off")
fi
if has_part gin; then
    SUMMARY+=("GIN metadata index: ingestion $(m3 "${ING[batch.ratio]}") (batches) and $(m3 "${ING[record.ratio]}") (record()) of the rate without it, $S_GIN for $S_TABLE of table")
fi
if has_part search; then
    SUMMARY+=("search pages, page() / the best hand-written query: $(for p in "${POINTS[@]}"; do b=$(for n in ${P_Q[$p]#* }; do ms "$n"; echo; done | sort -g | head -n 1); printf '%s %s, ' "${P_SHORT[$p]}" "$(calc "$(ms "$p.page") / $b" 2)"; done | sed 's/, $//')")
fi

{
echo "## Analytics and search (bench/analytics.sh), $DATE UTC: $(printf '%s; ' "${SUMMARY[@]}" | sed 's/; $//')"
echo
echo "| | |"
echo "|---|---|"
echo "| machine | $MACHINE |"
echo "| PostgreSQL | $SERVER |"
echo "| extension build | $EXT_NOTE |"
echo "| data | analytics_schema.sql: $N_ALL events ($N_YEAR in the year [$Y0, $Y1), the rest the 4 weeks before), hourly counts per type with a daily rhythm (±60%, peak 15:00 UTC) and weekends ×0.8; $N_WS workspaces: $WS $N_BUSY events ($N_BUSY_YEAR in the year, $N_TYPES types), ws-0002..0021 45%, 500 small 30%; 12 registered types over 4 universal types; members with a heavy head, awards and follows member to member; metadata {post_id, feed, tags}; $N_PARTS partitions (monthly + DEFAULT), $SIZE; loaded by a validated INSERT ... SELECT and VACUUM (ANALYZE) in ${LOAD_S}s |"
echo "| method | reads: pgbench -M prepared -c 1, values as variables (-D), a ${WARMUP_SECONDS}s warm-up then $ROUNDS runs of ${SECONDS_PER_RUN}s per query, the order reversed every other round; ms = pgbench's latency average (client round trip included), the median of the runs; same rows checked before timing (md5 of the ordered rows). Ingestion: pgbench -M prepared, runs of a fixed number of transactions, the same for each side (about ${INGEST_SECONDS}s at the rate of an untimed warm-up of the extension's side), so that the tables written grow alike, each after a CHECKPOINT; adjacent pairs alternating which goes first; ratio: the median of the pairs' ratios |"
echo "| load average (1 min) at the start of each part | $(quiet_summary) |"
echo "| run | $(( $(date +%s) - START ))s in total; logs, plans and pgbench scripts in $LOGDIR |"
echo
if has_part counts; then
    echo "### 1. counts(): $WS, a year of 1-day buckets ($N_BUSY_YEAR events)"
    echo
    echo "| query | ms | rows | same rows as the hand-written? | hand-written plan (scans) |"
    echo "|---|---:|---:|---|---|"
    for pair in "counts_type hand_type" "counts_universal hand_universal" "counts_la hand_la"; do
        read -r a b <<< "$pair"
        echo "| \`${Q_LABEL[$a]}\` | $(ms "$a") | ${NROWS[$a]} | ${SAME[$a]} | |"
        echo "| hand-written: \`${Q_LABEL[$b]}\` | $(ms "$b") | ${NROWS[$b]} | | ${PLAN[$b]} |"
    done
    echo
    echo "| | value | target | met |"
    echo "|---|---:|---:|---|"
    for n in counts_type counts_universal counts_la; do
        echo "| ${Q_LABEL[$n]}, ms | $(ms "$n") | < $TARGET_COUNTS_MS | $(meets "$(ms "$n")" "$TARGET_COUNTS_MS" lt) |"
    done
    echo "| counts() / hand-written, by type · by universal_type · Los Angeles | $(calc "$(ms counts_type) / $(ms hand_type)") · $(calc "$(ms counts_universal) / $(ms hand_universal)") · $(calc "$(ms counts_la) / $(ms hand_la)") | — | — |"
    echo
    echo "Every run, ms: $(for n in counts_type hand_type counts_universal hand_universal counts_la hand_la; do printf '%s %s; ' "$n" "$(list "${RUNS[$n]}")"; done | sed 's/; $//')."
    echo
fi
if has_part bursts; then
    echo "### 2. bursts() and anomalies(): $WS over the year (its history: the 4 weeks before)"
    echo
    echo "| query | ms | rows returned | target | met |"
    echo "|---|---:|---:|---:|---|"
    echo "| \`${Q_LABEL[bursts_type]}\` | $(ms bursts_type) | ${NROWS[bursts_type]} | < $TARGET_BURSTS_MS | $(meets "$(ms bursts_type)" "$TARGET_BURSTS_MS" lt) |"
    echo "| \`${Q_LABEL[bursts_universal]}\` | $(ms bursts_universal) | ${NROWS[bursts_universal]} | (< $TARGET_BURSTS_MS) | $(meets "$(ms bursts_universal)" "$TARGET_BURSTS_MS" lt) |"
    echo "| \`${Q_LABEL[anomalies]}\` | $(ms anomalies) | ${NROWS[anomalies]} | — | — |"
    echo "| ${Q_LABEL[bursts_type_wm]} | $(ms bursts_type_wm) | ${NROWS[bursts_type_wm]} | — | — |"
    echo
    echo "Rows returned on background-only traffic (default min_count 10, min_score 4) are in \`rows.*.txt\`; the statements inside bursts(), by auto_explain, in \`plans.bursts.txt\`. Every run, ms: $(for n in bursts_type bursts_universal anomalies bursts_type_wm; do printf '%s %s; ' "$n" "$(list "${RUNS[$n]}")"; done | sed 's/; $//')."
    echo
fi
if has_part search; then
    echo "### 3. Search pages of $LIMIT: member timeline and metadata containment ($N_GIN GIN metadata indexes, built with ANALYZE in ${GIN_BUILD_S}s)"
    echo
    echo "| point | query | ms per page | plan (scans; page(): page_plans(); hand-written: custom plan / generic plan) | page() / this |"
    echo "|---|---|---:|---|---:|"
    for p in "${POINTS[@]}"; do
        for n in ${P_Q[$p]}; do
            if [ "$n" = "$p.page" ]; then
                echo "| ${P_DESC[$p]}: ${SAME[$p]} | \`${Q_LABEL[$n]}\` | $(ms "$n") | ${PLAN[$n]} | |"
            else
                echo "| | ${Q_LABEL[$n]} | $(ms "$n") | ${PLAN[$n]} / ${PLAN[$n.generic]} | $(calc "$(ms "$p.page") / $(ms "$n")") |"
            fi
        done
    done
    echo
    echo "Every run, ms: $(for p in "${POINTS[@]}"; do for n in ${P_Q[$p]}; do printf '%s %s; ' "$n" "$(list "${RUNS[$n]}")"; done; done | sed 's/; $//'). Plans in \`plans.<point>.txt\`."
    echo
fi
if has_part gin; then
    echo "### 4. The GIN metadata index (jsonb_path_ops, fastupdate on): size and ingestion"
    echo
    echo "| loaded log ($N_ALL events, $N_PARTS partitions) | size | per event | GIN / this |"
    echo "|---|---:|---:|---:|"
    echo "| tables (heap, TOAST, maps: pg_table_size) | $S_TABLE | $(calc "$B_TABLE / $N_ALL" 0) B | $(calc "$B_GIN / $B_TABLE") |"
    echo "| the 7 btree indexes of the partitions | $S_BTREE | $(calc "$B_BTREE / $N_ALL" 0) B | $(calc "$B_GIN / $B_BTREE") |"
    echo "| GIN metadata indexes (right after CREATE INDEX) | $S_GIN | $GIN_PER_ROW B | |"
    echo "| activity.event_ids (table and index) | $S_IDS | | |"
    echo
    echo "| ingestion into an empty partition | rows/s with the GIN index | rows/s without | with / without (median of the pairs) | each pair |"
    echo "|---|---:|---:|---:|---|"
    echo "| INSERT ... SELECT of $BATCH events per transaction, -c 1, runs of ${ING_TX[batch]} transactions (analytics_batch.sql) | $(mt "${ING[batch.with]}") | $(mt "${ING[batch.without]}") | $(m3 "${ING[batch.ratio]}") ($PAIRS pairs) | $(list "${ING[batch.ratio]}") |"
    echo "| one record() per transaction, -c $CLIENTS -j $CLIENTS, runs of ${ING_TX[record]} transactions per client (analytics_record.sql) | $(mt "${ING[record.with]}") | $(mt "${ING[record.without]}") | $(m3 "${ING[record.ratio]}") ($PAIRS pairs) | $(list "${ING[record.ratio]}") |"
    echo
    echo "With: $PA ($PA_ROWS rows after the runs: table $PA_TABLE, btrees $PA_BTREE, GIN $PA_GIN, pending list included); without: $PB (its GIN index dropped; $PB_ROWS rows: table $PB_TABLE, btrees $PB_BTREE). Rows in the current partition's time order (occurred_at = now() + a shift into the partition)."
    echo
fi
if has_part pairs; then
    echo "### 5. Synthetic pairs: CHAT_MESSAGE_DELETE and the MODERATION_LINK it caused, one transaction (-c $CLIENTS -j $CLIENTS; runs of ${PAIR_TX[sync]} transactions per client, ${PAIR_TX[async]} with synchronous_commit = off)"
    echo
    echo "| synchronous_commit | record() pair rows/s | plain INSERT pair rows/s | record / plain (median of the rounds) | each round | target | met | partitioned plain INSERT rows/s | record / partitioned | rows = 2 × transactions |"
    echo "|---|---:|---:|---:|---|---:|---|---:|---:|---|"
    for mode in sync async; do
        n=$PAIRS; label=on; tgt=">= $TARGET_PAIRS"; met=$(meets "$(m3 "${PR[sync.ratio]}")" "$TARGET_PAIRS" ge)
        [ "$mode" = async ] && { n=$ASYNC_PAIRS; label="off (PGOPTIONS)"; tgt="—"; met="—"; }
        chk=$(for v in record plain parted; do printf '%s %s/%s; ' "$v" "$(grep -o ok <<< "${PCHECK[$mode.$v]}" | wc -l)" "$(wc -w <<< "${PCHECK[$mode.$v]}")"; done | sed 's/; $//')
        echo "| $label | $(mt "${PR[$mode.record]}") | $(mt "${PR[$mode.plain]}") | $(m3 "${PR[$mode.ratio]}") ($n rounds) | $(list "${PR[$mode.ratio]}") | $tgt | $met | $(mt "${PR[$mode.parted]}") | $(m3 "${PR[$mode.ratio_parted]}") | $chk |"
    done
    echo
    echo "record(): \`analytics_pair_record.sql\` (MODERATION_LINK registered with caused_by => '{CHAT_MESSAGE_DELETE}', function_types => '{linkFilter}', actor_types => '{system}'; CHAT_MESSAGE_DELETE with platforms '{discord}'), into $CUR (no GIN index: metadata_index off). Plain: \`analytics_pair_plain.sql\` into bench.plain_pairs, \`CREATE TABLE ... (LIKE $CUR INCLUDING DEFAULTS INCLUDING INDEXES)\`: the same $N_IDX indexes ($IDX_LIST; checked), no trigger, no constraint, no id registry (activity.event_ids) and no partition routing; partitioned: the same table partitioned like the log (bench/schema.sql's baseline). MODERATION_LINK rows with their cause, same workspace, linkFilter, system: $PAIR_ROWS_OK."
    echo
fi
} > "$LOGDIR/results.md"

cat "$LOGDIR/results.md"
if [ -n "$RESULTS_FILE" ]; then cp "$LOGDIR/results.md" "$RESULTS_FILE"; fi
log "done in $(( $(date +%s) - START ))s; logs in $LOGDIR"
