#!/usr/bin/env bash
# Benchmark of the change feed (activity.changes(), changes_since()):
# 1. what the feed costs ingestion: record(), plain INSERT, validated and
#    unvalidated COPY into activity.activities in two databases set up
#    identically, one of them without the feed's pointers (its table
#    activity.feed_batches dropped: the log then keeps none), measured in
#    adjacent pairs;
# 2. how fast the feed reads: READ_ROWS events drained by changes() and
#    changes_since() in pages, against hand-written keyset pages on
#    (xact_id, id) and one SELECT of all of them.
# See bench/README.md.
#
#   bash bench/feed.sh                                    # full run (~12 min on 2 cores)
#   PAIRS=1 INGEST_SECONDS=2 COPY_ROWS=5000 READ_ROWS=20000 READ_ROUNDS=1 LOAD_MAX=99 bash bench/feed.sh   # a try
#   KEEP=1 RESULTS_FILE=/tmp/feed.md bash bench/feed.sh   # keep both databases, save the tables
#
# Environment (defaults in brackets):
#   PGDATABASE [activity_feed_bench]  the database with the feed; the one without
#                                it is PGDATABASE_nofeed (both dropped first if this
#                                script created them, refused otherwise)
#   MAINT_DB [postgres]          database to connect to for CREATE/DROP DATABASE
#   MONTHS [36]                  months of history (monthly partitions)
#   CLIENTS [2]                  pgbench clients (and threads) for record() / INSERT
#   INGEST_SECONDS [10]          length of each record() / INSERT run
#   ASYNC [1]                    1: also record() / INSERT with synchronous_commit = off
#   ASYNC_PAIRS [3]              pairs of each of those (no target applies)
#   COPY_ROWS [50000]            events in each COPY file
#   PAIRS [5]                    adjacent with/without pairs of each ingestion path
#   READ_ROWS [200000]           events loaded for the readers
#   READ_TXNS [10]               transactions they are loaded in
#   PAGE [1000]                  events per page (changes(), changes_since(), keyset)
#   READ_ROUNDS [3]              timed drains of each reader (the best is reported)
#   READ_SLOW [30]               a reader whose drain took longer (seconds) is not run again
#   READ_LIVE [1]                1: also the "live" scenario (READ_ROWS more events with
#                                occurred_at = now(), all in the current partition)
#   DIAG [1]                     1: also drain changes() and changes_since() once with
#                                plan_cache_mode = force_generic_plan (a diagnostic, no target)
#   PHASES ["ingest copy read"]  the parts to run: record()/INSERT, COPY, reading
#   LOAD_MAX [0.7]               before each phase, wait until the 1-minute load
#   LOAD_WAIT [1200]             average is below LOAD_MAX, polling every 15 s, for
#                                at most LOAD_WAIT seconds (then run anyway, and say so)
#   KEEP [0]                     1: keep both databases and the COPY files
#   RESULTS_FILE []              also write the final tables to this file
#   PGBENCH [$(pg_config --bindir)/pgbench]
# libpq variables (PGHOST, PGPORT, PGUSER, ...) are honoured. The server must
# be on this machine (it writes and reads the COPY files) and the role a
# superuser (COPY from a server file, pg_read_file('/proc/self/stat')).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export PGDATESTYLE=ISO PGTZ=UTC
export PGDATABASE=${PGDATABASE:-activity_feed_bench}
DB_WITH=$PGDATABASE
DB_WITHOUT=${PGDATABASE}_nofeed
MAINT_DB=${MAINT_DB:-postgres}
MONTHS=${MONTHS:-36}
CLIENTS=${CLIENTS:-2}
INGEST_SECONDS=${INGEST_SECONDS:-10}
ASYNC=${ASYNC:-1}
ASYNC_PAIRS=${ASYNC_PAIRS:-3}
COPY_ROWS=${COPY_ROWS:-50000}
PAIRS=${PAIRS:-5}
READ_ROWS=${READ_ROWS:-200000}
READ_TXNS=${READ_TXNS:-10}
PAGE=${PAGE:-1000}
READ_ROUNDS=${READ_ROUNDS:-3}
READ_SLOW=${READ_SLOW:-30}
READ_LIVE=${READ_LIVE:-1}
DIAG=${DIAG:-1}
PHASES=${PHASES:-"ingest copy read"}
LOAD_MAX=${LOAD_MAX:-0.7}
LOAD_WAIT=${LOAD_WAIT:-1200}
KEEP=${KEEP:-0}
RESULTS_FILE=${RESULTS_FILE:-}
PGBENCH=${PGBENCH:-$(pg_config --bindir 2>/dev/null)/pgbench}
[ -x "$PGBENCH" ] || PGBENCH=$(command -v pgbench)
MARKER='scratch database of activity bench/feed.sh'
# the columns of the COPY files (validation_generate.sql): all but caused_by and xact_id
COLS='id, workspace_id, platform, type, version, actor_type, initiator_id, recipient_id, subject_type, subject_id, metadata, occurred_at, recorded_at'
[ $((READ_ROWS % READ_TXNS)) = 0 ] || { echo "READ_ROWS must be a multiple of READ_TXNS" >&2; exit 1; }

LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/activity-feed.XXXXXX")
chmod 755 "$LOGDIR"
mkdir "$LOGDIR/data"
chmod 777 "$LOGDIR/data"        # the server writes the COPY files here
FILE=$LOGDIR/data/events.copy                # validated: types with a JSON Schema, version 1
NV_FILE=$LOGDIR/data/events_noversion.copy   # (written by the generator, not used)
NS_FILE=$LOGDIR/data/events_noschema.copy    # unvalidated: the twin types without schema, version 0
START=$(date +%s)

. "$HERE/lib.sh"   # log, q, qm, calc, meets, pgb, median, list, wait_quiet, build_id, fresh_database, machine_description, server_description
best_max() { tr ' ' '\n' | grep . | sort -g | tail -n 1; }

# --- two fresh databases ---------------------------------------------------------
cleanup_more() {
    qm -v db="$DB_WITHOUT" -v marker="$MARKER" <<'SQL' || true
SELECT format('DROP DATABASE %I WITH (FORCE)', datname) FROM pg_database
WHERE datname = :'db' AND shobj_description(oid, 'pg_database') = :'marker' \gexec
SQL
    rm -f "$FILE" "$NV_FILE" "$NS_FILE"
}
existing=$(qm -v db="$DB_WITHOUT" <<< "SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname = :'db'")
if [ -n "$existing" ] && [ "$existing" != "$MARKER" ]; then
    echo "database \"$DB_WITHOUT\" exists and was not created by this script; refusing to drop it" >&2
    exit 1
fi
fresh_database "kept databases $DB_WITH and $DB_WITHOUT and the COPY files in $LOGDIR/data (KEEP=1); logs in $LOGDIR" \
               "dropped databases $DB_WITH and $DB_WITHOUT and the COPY files; logs in $LOGDIR"

read -r HIST_START HIST_END UNTIL < <(q -F ' ' -c "SELECT extract(epoch FROM now() - make_interval(months => $MONTHS)),
                                                          extract(epoch FROM now()),
                                                          extract(epoch FROM now() + interval '3 months')")
ts() { q -c "SELECT to_timestamp($1)"; }
HIST_START=$(ts "$HIST_START"); HIST_END=$(ts "$HIST_END"); UNTIL=$(ts "$UNTIL")
BUILD_START=$(build_id)
HEAD_START=$(git -C "$HERE/.." rev-parse --short HEAD 2>/dev/null || true)
log "extension build: $BUILD_START"
log "schema: 10 types and their 10 twins without schema, $MONTHS months of monthly partitions"
q -v hist_start="$HIST_START" -v until="$UNTIL" -f "$HERE/feed_schema.sql" >/dev/null
q -f "$HERE/validation_schemas.sql"
log "generating $COPY_ROWS events into $FILE and $NS_FILE"
q -v rows="$COPY_ROWS" -v hist_start="$HIST_START" -v hist_end="$HIST_END" -v file="$FILE" -v noversion_file="$NV_FILE" \
  -v noschema_file="$NS_FILE" -f "$HERE/validation_generate.sql"
rm -f "$NV_FILE"
FILE_MB=$(calc "$(stat -c %s "$FILE") / 1048576" 1)

# The database without the feed: a copy of the one with it, then its table of
# pointers, activity.feed_batches, dropped (the validation constraint keeps
# no pointer where that table does not exist). The xact_id column, its default
# (pg_current_xact_id()) and the validation constraint's comparison of it
# with the writing transaction stay: they cannot be taken out.
log "database $DB_WITHOUT: a copy of $DB_WITH without the feed's pointers"
qm -v db="$DB_WITHOUT" -v marker="$MARKER" <<'SQL'
SELECT format('DROP DATABASE %I WITH (FORCE)', datname) FROM pg_database
WHERE datname = :'db' AND shobj_description(oid, 'pg_database') = :'marker' \gexec
SQL
qm -v db="$DB_WITHOUT" -v tmpl="$DB_WITH" -v marker="$MARKER" <<'SQL'
CREATE DATABASE :"db" TEMPLATE :"tmpl";
COMMENT ON DATABASE :"db" IS :'marker';
SQL
q -d "$DB_WITHOUT" <<'SQL'
ALTER EXTENSION activity DROP TABLE activity.feed_batches;
DROP TABLE activity.feed_batches;
SQL
read -r N_PARTS N_IDX_WITH HAS_WITH < <(q -F ' ' -d "$DB_WITH" -c "
    SELECT count(DISTINCT p.partition), count(*), to_regclass('activity.feed_batches') IS NOT NULL
    FROM activity.partitions() p JOIN pg_index i ON i.indrelid = p.partition")
read -r N_IDX_WITHOUT HAS_WITHOUT < <(q -F ' ' -d "$DB_WITHOUT" -c "
    SELECT count(*), to_regclass('activity.feed_batches') IS NOT NULL
    FROM activity.partitions() p JOIN pg_index i ON i.indrelid = p.partition")
if [ "$HAS_WITH" != t ] || [ "$HAS_WITHOUT" != f ] || [ "$N_IDX_WITH" != "$N_IDX_WITHOUT" ]; then
    echo "the databases are not as expected: $N_PARTS partitions; with: $N_IDX_WITH indexes, activity.feed_batches $HAS_WITH; without: $N_IDX_WITHOUT, $HAS_WITHOUT" >&2
    exit 1
fi
log "$N_PARTS partitions, $N_IDX_WITH indexes on them in both; activity.feed_batches only in $DB_WITH"

# --- 1. ingestion, with and without ------------------------------------------------
declare -A RATE RATIOS CPU_US WAL_B
# one_ingest LABEL DB SCRIPT: appends rows/s to RATE[LABEL]
one_ingest() {
    local n
    n=$(( $(wc -w <<< "${RATE[$1]:-}") + 1 ))
    q -d "$2" -c CHECKPOINT
    pgb "$1.$n" -c "$CLIENTS" -j "$CLIENTS" -T "$INGEST_SECONDS" -f "$HERE/$3" "$2"
    RATE[$1]="${RATE[$1]:-} $(calc "$TPS" 0)"
    log "  $1 ($2): $(calc "$TPS" 0) rows/s (latency $LAT ms)"
}
# one_copy LABEL DB FILE: empties activity.activities, CHECKPOINT, then
# COPY FILE into it; appends rows/s to RATE[LABEL], backend CPU µs/row to
# CPU_US[LABEL], WAL bytes/row to WAL_B[LABEL]
TICKS=$(getconf CLK_TCK)
TRUNCATE_POINTERS="DO \$\$ BEGIN IF to_regclass('activity.feed_batches') IS NOT NULL THEN TRUNCATE activity.feed_batches; END IF; END \$\$"
one_copy() {
    local label=$1 db=$2 file=$3 n out secs stats
    n=$(( $(wc -w <<< "${RATE[$label]:-}") + 1 ))
    out=$LOGDIR/$label.$n.log
    # session_replication_role = replica silences the log's append-only
    # guard for the TRUNCATE; the id registry and the feed's pointers (where
    # they are kept) are emptied with it
    q -d "$db" -c 'SET session_replication_role = replica' -c 'TRUNCATE activity.activities' \
      -c 'TRUNCATE activity.event_ids' -c "$TRUNCATE_POINTERS" -c CHECKPOINT
    psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" > "$out" 2>&1 <<SQL || { cat "$out" >&2; echo "COPY into $db failed" >&2; exit 1; }
SELECT pg_current_wal_insert_lsn() AS lsn0, btrim(pg_read_file('/proc/self/stat'), E'\n') AS stat0 \gset
\timing on
COPY activity.activities ($COLS) FROM '$file';
\timing off
SELECT 'stats', pg_wal_lsn_diff(pg_current_wal_insert_lsn(), :'lsn0'), :'stat0', btrim(pg_read_file('/proc/self/stat'), E'\n');
SQL
    secs=$(awk '/^Time: / { printf "%.3f", $2 / 1000; exit }' "$out")
    stats=$(grep '^stats|' "$out")
    [ "$(q -d "$db" -c 'SELECT count(*) FROM activity.activities')" = "$COPY_ROWS" ] || { echo "COPY into $db: wrong row count" >&2; exit 1; }
    RATE[$label]="${RATE[$label]:-} $(calc "$COPY_ROWS / $secs" 0)"
    CPU_US[$label]="${CPU_US[$label]:-} $(awk -F'|' -v hz="$TICKS" -v rows="$COPY_ROWS" '{ split($3, a, " "); split($4, b, " ");
                                      printf "%.2f", (b[14] + b[15] - a[14] - a[15]) / hz * 1e6 / rows }' <<< "$stats")"
    WAL_B[$label]="${WAL_B[$label]:-} $(calc "$(cut -d'|' -f2 <<< "$stats") / $COPY_ROWS" 0)"
    log "  $label ($db): ${secs}s, $(calc "$COPY_ROWS / $secs" 0) rows/s"
}
# pairs PATH KIND ARG: PAIRS adjacent pairs of PATH.with / PATH.without
# (KIND ingest: ARG is the pgbench script; copy: the file), alternating
# which goes first; appends each pair's ratio with/without to RATIOS[PATH]
last() { awk '{ print $NF }' <<< "$1"; }
pairs() {
    local path=$1 kind=$2 arg=$3 np=${4:-$PAIRS} p
    for p in $(seq 1 "$np"); do
        log "$path: pair $p/$np"
        if [ $((p % 2)) = 1 ]; then
            "one_$kind" "$path.with" "$DB_WITH" "$arg"; "one_$kind" "$path.without" "$DB_WITHOUT" "$arg"
        else
            "one_$kind" "$path.without" "$DB_WITHOUT" "$arg"; "one_$kind" "$path.with" "$DB_WITH" "$arg"
        fi
        RATIOS[$path]="${RATIOS[$path]:-} $(calc "$(last "${RATE[$path.with]}") / $(last "${RATE[$path.without]}")" 3)"
    done
}

has() { [[ " $PHASES " == *" $1 "* ]]; }
INGEST_PATHS=
if has ingest; then
wait_quiet "record() / INSERT"
INGEST_PATHS="record insert"
pairs record ingest feed_record.sql
pairs insert ingest feed_insert.sql
fi
if has ingest && [ "$ASYNC" = 1 ]; then
    export PGOPTIONS="${PGOPTIONS:-} -c synchronous_commit=off"
    pairs record_async ingest feed_record.sql "$ASYNC_PAIRS"
    pairs insert_async ingest feed_insert.sql "$ASYNC_PAIRS"
    PGOPTIONS=${PGOPTIONS% -c synchronous_commit=off}
    INGEST_PATHS="$INGEST_PATHS record_async insert_async"
fi
if has copy; then
wait_quiet "COPY"
pairs copy_validated copy "$FILE"
pairs copy_unvalidated copy "$NS_FILE"
INGEST_PATHS="$INGEST_PATHS copy_validated copy_unvalidated"
fi

# --- 2. reading ----------------------------------------------------------------------
SCENARIOS=
SLOW_NOTE=
if has read; then
# In the database with the feed: history first (the validated COPY file, so
# the feed's rows are not the whole table), then two scenarios, each: its
# consumers and a stateless position, then READ_ROWS new events in
# READ_TXNS transactions, copies of the file's events with new ids, in its
# order:
#   spread  with the file's occurred_at, over the MONTHS months: every
#           partition gets some (an import, a backfill);
#   live    occurred_at = now(): all in the current partition (live ingestion).
log "reading: history ($COPY_ROWS events)"
q -c 'SET session_replication_role = replica' -c 'TRUNCATE activity.activities' -c 'TRUNCATE activity.event_ids' \
  -c 'TRUNCATE activity.feed_batches'
q -c "COPY activity.activities ($COLS) FROM '$FILE'"
# the hand-written readers' index: what a reader of keyset pages on
# (xact_id, id) builds without the extension (the feed itself needs none)
q -c 'CREATE INDEX IF NOT EXISTS bench_xact_id_idx ON activity.activities (xact_id, id)'
q <<SQL
CREATE UNLOGGED TABLE bench.read_file (id uuid, workspace_id text, platform text, type text, version int2, actor_type text,
    initiator_id text, recipient_id text, subject_type text, subject_id text, metadata jsonb,
    occurred_at timestamptz, recorded_at timestamptz);
COPY bench.read_file ($COLS) FROM '$FILE';
CREATE UNLOGGED TABLE bench.read_src AS
SELECT row_number() OVER (ORDER BY occurred_at, id) - 1 AS n, * FROM bench.read_file;
CREATE UNIQUE INDEX ON bench.read_src (n);
DROP TABLE bench.read_file;
SQL
PER_TXN=$((READ_ROWS / READ_TXNS))
PAGES=$(( (READ_ROWS + PAGE - 1) / PAGE ))
SCENARIOS="spread"
[ "$READ_LIVE" = 1 ] && SCENARIOS="spread live"

# The timed readers, each under pgbench -M prepared -c 1 (which fetches
# every row and formats none), READ_ROUNDS rounds in rotating order:
#   changes        BEGIN; SELECT * FROM activity.changes(consumer, PAGE); COMMIT;  PAGES times
#                  (a consumer per round, all created before the load)
#   changes_since  SELECT (c.event).*, c.position FROM activity.changes_since(pos, PAGE) c;  PAGES times,
#                  the position carried from each call's last row to the next (\aset)
#   keyset         SELECT * ... WHERE xact_id <= hi AND (xact_id, id) > (last page's last row)
#                  ORDER BY xact_id, id LIMIT PAGE;  PAGES times (\aset), through an
#                  index on (xact_id, id) made for it (bench_xact_id_idx)
#   select_all     SELECT * ... WHERE xact_id BETWEEN lo AND hi;  3 times, the mean
# read_run READER KEY CONSUMER: one timed drain of the current scenario (P0,
# XACT_LO, XACT_HI); appends events/s to EPS[KEY], sets SECS_R[KEY]
declare -A EPS SECS_R CHECK JIT_NOTE N_FEED_PARTS
SLOW_NOTE=
read_run() {
    local n secs reader=$1 key=$2 cons=$3 k
    k=$(( $(wc -w <<< "${EPS[$key]:-}") + 1 ))
    case $reader in
        changes)
            pgb "read.$key.$k" -c 1 -j 1 -t "$PAGES" -f "$HERE/feed_changes.sql" -D consumer="$cons" -D page="$PAGE"
            n=$(q -c "SELECT delivered FROM activity.feed_consumers WHERE name = '$cons'")
            [ "$n" = "$READ_ROWS" ] || { echo "consumer $cons was delivered $n events, not $READ_ROWS" >&2; exit 1; }
            [ "$(q -c "BEGIN; SELECT count(*) FROM activity.changes('$cons', $PAGE); ROLLBACK;" | head -n 1)" = 0 ] \
                || { echo "consumer $cons has events left" >&2; exit 1; }
            secs=$(calc "$PAGES * $LAT / 1000" 4) ;;
        changes_since)
            pgb "read.$key.$k" -c 1 -j 1 -t "$PAGES" -f "$HERE/feed_changes_since.sql" -D next_position="$P0" -D page="$PAGE"
            secs=$(calc "$PAGES * $LAT / 1000" 4) ;;
        keyset)
            pgb "read.$key.$k" -c 1 -j 1 -t "$PAGES" -f "$HERE/feed_keyset.sql" \
                -D k_xact_id="$XACT_LO" -D k_id=00000000-0000-0000-0000-000000000000 -D hi="$XACT_HI" -D page="$PAGE"
            secs=$(calc "$PAGES * $LAT / 1000" 4) ;;
        select_all)
            pgb "read.$key.$k" -c 1 -j 1 -t 3 -f "$HERE/feed_select_all.sql" -D lo="$XACT_LO" -D hi="$XACT_HI"
            secs=$(calc "$LAT / 1000" 4) ;;
    esac
    EPS[$key]="${EPS[$key]:-} $(calc "$READ_ROWS / $secs" 0)"
    SECS_R[$key]=$secs
    log "  $key, run $k: $(calc "$READ_ROWS / $secs" 0) events/s (${secs}s)"
}

read_scenario() {   # spread | live
    local sc=$1 c r t i rd xacts= occ mid midn mid_x mid_i n_feed cn
    # consumers: bench (live: bench_live), then _2, _3, ... (one per round),
    # _check, _generic
    cn=bench; [ "$sc" = spread ] || cn=bench_$sc
    CONSUMERS=
    for r in $(seq 1 "$READ_ROUNDS"); do
        c=$cn; [ "$r" = 1 ] || c=${cn}_$r
        CONSUMERS="$CONSUMERS $c"
        q -c "SELECT activity.create_consumer('$c')" >/dev/null
    done
    q -c "SELECT activity.create_consumer('${cn}_check')" >/dev/null
    [ "$DIAG" = 1 ] && q -c "SELECT activity.create_consumer('${cn}_generic')" >/dev/null
    P0=$(q -c "SELECT activity.feed_position()")
    if [ "$sc" = live ]; then occ="now(), now()"; else occ="s.occurred_at, s.recorded_at"; fi
    log "reading, $sc: $READ_ROWS events in $READ_TXNS transactions"
    for t in $(seq 1 "$READ_TXNS"); do
        xacts="$xacts $(q <<SQL
BEGIN;
INSERT INTO activity.activities (workspace_id, platform, type, version, actor_type, initiator_id, recipient_id,
                                 subject_type, subject_id, metadata, occurred_at, recorded_at)
SELECT s.workspace_id, s.platform, s.type, s.version, s.actor_type, s.initiator_id, s.recipient_id,
       s.subject_type, s.subject_id, s.metadata, $occ
FROM generate_series($(( (t - 1) * PER_TXN )), $(( t * PER_TXN - 1 ))) g(k)
JOIN bench.read_src s ON s.n = g.k % $COPY_ROWS
ORDER BY g.k;
SELECT pg_current_xact_id();
COMMIT;
SQL
)"
    done
    XACT_LO=$(tr ' ' '\n' <<< "$xacts" | grep . | sort -g | head -n 1)
    XACT_HI=$(tr ' ' '\n' <<< "$xacts" | grep . | sort -g | tail -n 1)
    q -c 'VACUUM (ANALYZE) activity.activities'
    read -r n_feed N_FEED_PARTS[$sc] < <(q -F ' ' -c "
        SELECT count(*), count(DISTINCT tableoid) FROM activity.activities WHERE xact_id BETWEEN '$XACT_LO' AND '$XACT_HI'")
    [ "$n_feed" = "$READ_ROWS" ] || { echo "loaded $n_feed events, not $READ_ROWS" >&2; exit 1; }

    # Correctness, before any timing (which also sets every hint bit): a
    # consumer (sc_check), changes_since() from the position taken with the
    # consumers, and the keyset pages return the same READ_ROWS events in
    # the same order, (xact_id, id): the load's transactions committed one
    # after the other.
    log "reading, $sc: do changes(), changes_since() and the keyset pages return the same $READ_ROWS events?"
    CHECK[$sc]=$(q -v p0="$P0" -v page="$PAGE" -v lo="$XACT_LO" -v hi="$XACT_HI" -v cons="${cn}_check" <<'SQL'
SET jit = off;   -- (a check, not a measurement)
CREATE TEMP TABLE got (reader text, n bigint, id uuid);
SELECT set_config('bench.p0', :'p0', false), set_config('bench.page', :'page', false),
       set_config('bench.lo', :'lo', false), set_config('bench.hi', :'hi', false),
       set_config('bench.consumer', :'cons', false) \g /dev/null
DO $$
DECLARE
    page int := current_setting('bench.page')::int;
    pos text := current_setting('bench.p0');
    k int;
    n bigint := 0;
    kx xid8 := current_setting('bench.lo')::xid8;
    ki uuid := '00000000-0000-0000-0000-000000000000';
    r record;
BEGIN
    LOOP    -- changes(): in one transaction, the consumer's position moves on at each call
        INSERT INTO got SELECT 'changes', n + row_number() OVER (), c.id
                        FROM activity.changes(current_setting('bench.consumer'), page) c;
        GET DIAGNOSTICS k = ROW_COUNT;
        EXIT WHEN k = 0;
        n := n + k;
    END LOOP;
    n := 0;
    LOOP    -- changes_since(): the position is the last row's
        k := 0;
        FOR r IN SELECT * FROM activity.changes_since(pos, page) LOOP
            IF r.position IS NULL THEN
                n := n + 1; k := k + 1;
                INSERT INTO got VALUES ('changes_since', n, (r.event).id);
            ELSE
                pos := r.position;
            END IF;
        END LOOP;
        EXIT WHEN k = 0;
    END LOOP;
    n := 0;
    LOOP    -- keyset pages
        k := 0;
        FOR r IN SELECT a.xact_id, a.id FROM activity.activities a
                 WHERE a.xact_id <= current_setting('bench.hi')::xid8 AND (a.xact_id, a.id) > (kx, ki)
                 ORDER BY a.xact_id, a.id LIMIT page LOOP
            n := n + 1; k := k + 1;
            INSERT INTO got VALUES ('keyset', n, r.id);
            kx := r.xact_id; ki := r.id;
        END LOOP;
        EXIT WHEN k = 0;
    END LOOP;
END;
$$;
WITH expected AS (
    SELECT count(*) AS n, array_agg(id ORDER BY xact_id, id) AS ids FROM activity.activities
    WHERE xact_id BETWEEN :'lo' AND :'hi'
), readers AS (
    SELECT reader, count(*) AS n, array_agg(id ORDER BY n) AS ids FROM got GROUP BY reader
)
SELECT string_agg(format('%s: %s', r.reader,
           CASE WHEN g.ids = e.ids THEN 'same ' || e.n || ' events, same order'
                ELSE 'MISMATCH (' || coalesce(g.n, 0) || ' events)' END), '; ' ORDER BY r.reader)
FROM (VALUES ('changes'), ('changes_since'), ('keyset')) r(reader)
CROSS JOIN expected e
LEFT JOIN readers g USING (reader);
SQL
)
    log "  ${CHECK[$sc]}"
    case ${CHECK[$sc]} in *MISMATCH*) echo "the readers disagree: ${CHECK[$sc]}" >&2; exit 1 ;; esac

    # The plans changes_since() runs, once its plans are cached (6 calls
    # first), from the middle of the feed; the hand-written page from the
    # same place; the whole SELECT.
    midn=$((READ_ROWS / 2 > 100000 ? 100000 : READ_ROWS / 2))
    mid=$(q -c "SELECT position FROM activity.changes_since('$P0', $midn) WHERE event IS NULL")
    read -r mid_x mid_i < <(q -F ' ' -c "SELECT xact_id, id FROM activity.activities WHERE xact_id BETWEEN '$XACT_LO' AND '$XACT_HI'
                                         ORDER BY xact_id, id OFFSET $((midn - 1)) LIMIT 1")
    {
        echo "-- changes_since() from the middle of the feed: the plans of its queries (auto_explain, after 6 calls)"
        q 2>&1 <<SQL
SELECT count(*) FROM activity.changes_since('$mid', $PAGE);
SELECT count(*) FROM activity.changes_since('$mid', $PAGE);
SELECT count(*) FROM activity.changes_since('$mid', $PAGE);
SELECT count(*) FROM activity.changes_since('$mid', $PAGE);
SELECT count(*) FROM activity.changes_since('$mid', $PAGE);
SELECT count(*) FROM activity.changes_since('$mid', $PAGE);
LOAD 'auto_explain';
SET auto_explain.log_min_duration = 0;
SET auto_explain.log_analyze = on;
SET auto_explain.log_buffers = on;
SET auto_explain.log_timing = on;
SET auto_explain.log_nested_statements = on;
SET auto_explain.log_level = notice;
SET client_min_messages = notice;
SELECT count(*) FROM activity.changes_since('$mid', $PAGE);
SQL
        echo
        echo "-- the hand-written keyset page from the same place"
        q 2>&1 <<SQL
EXPLAIN (ANALYZE, BUFFERS) SELECT * FROM activity.activities
WHERE xact_id <= '$XACT_HI' AND (xact_id, id) > ('$mid_x'::xid8, '$mid_i'::uuid) ORDER BY xact_id, id LIMIT $PAGE;
SQL
        echo
        echo "-- one SELECT of all the feed's rows"
        q 2>&1 <<SQL
EXPLAIN (ANALYZE, BUFFERS) SELECT * FROM activity.activities WHERE xact_id BETWEEN '$XACT_LO' AND '$XACT_HI';
SQL
    } > "$LOGDIR/plans.$sc.txt"
    # what JIT compilation cost that changes_since() call
    JIT_NOTE[$sc]=$(awk '/^-- the hand-written/ { exit } /Timing: Generation/ { for (i = 1; i <= NF; i++) if ($i == "Total") { t += $(i + 1); n++ } }
                         END { if (n) printf "%d statements JIT-compiled in one changes_since() call of %d events, %.1f ms of compilation in all", n, '"$PAGE"', t;
                               else printf "no statement JIT-compiled in one changes_since() call" }' "$LOGDIR/plans.$sc.txt")
    log "  ${JIT_NOTE[$sc]}"

    wait_quiet "reading, $sc"
    for r in $(seq 1 "$READ_ROUNDS"); do
        log "reading, $sc, round $r/$READ_ROUNDS"
        for ((i = 0; i < ${#READERS[@]}; i++)); do
            rd=${READERS[$(( (i + r - 1) % ${#READERS[@]} ))]}
            # a reader whose first drain took more than READ_SLOW seconds is not run again
            if [ "$r" -gt 1 ] && awk -v s="${SECS_R[$sc.$rd]}" -v m="$READ_SLOW" 'BEGIN { exit !(s > m) }'; then
                [ "$r" = 2 ] && SLOW_NOTE="$SLOW_NOTE $sc: $rd;"
                continue
            fi
            read_run "$rd" "$sc.$rd" "$(awk -v r="$r" '{ print $r }' <<< "$CONSUMERS")"
        done
    done
    # Diagnostic: the same two functions with plan_cache_mode =
    # force_generic_plan in the session (PGOPTIONS): what planning their
    # queries at each call costs (PL/pgSQL keeps custom plans when the
    # planner finds them cheaper than the generic one).
    if [ "$DIAG" = 1 ]; then
        log "reading, $sc: with plan_cache_mode = force_generic_plan in the session (diagnostic)"
        export PGOPTIONS="${PGOPTIONS:-} -c plan_cache_mode=force_generic_plan"
        read_run changes "$sc.changes_generic" "${cn}_generic"
        read_run changes_since "$sc.changes_since_generic" -
        PGOPTIONS=${PGOPTIONS% -c plan_cache_mode=force_generic_plan}
    fi
}
READERS=(changes changes_since keyset select_all)
for sc in $SCENARIOS; do
    read_scenario "$sc"
done
q -c 'DROP TABLE bench.read_src'
read -r N_ALL SIZE_ALL < <(q -F ' ' -c "SELECT count(*), (SELECT replace(pg_size_pretty(sum(pg_total_relation_size(relid))), ' ', '_')
                                                       FROM pg_partition_tree('activity.activities')) FROM activity.activities")
SIZE_ALL=${SIZE_ALL//_/ }
fi

# --- 3. results ------------------------------------------------------------------------
MACHINE=$(machine_description)
REPO=$(cd "$HERE/.." && pwd)
EXT_NOTE=$(build_note)
SERVER=$(server_description shared_buffers max_wal_size synchronous_commit wal_level jit)
med_rate() { median <<< "${RATE[$1]}" | xargs printf '%.0f'; }
med_of() { median <<< "$1"; }
EP_BEST() { best_max <<< "${EPS[$1]}"; }
TARGET_ING=0.95
TARGET_READ=100000

{
echo "## activity change feed benchmark — $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "| | |"
echo "|---|---|"
echo "| machine | $MACHINE |"
echo "| PostgreSQL | $SERVER |"
echo "| databases | $DB_WITH (the feed) and $DB_WITHOUT, a copy of it (CREATE DATABASE ... TEMPLATE) with the feed's ingestion work removed: its table of pointers activity.feed_batches dropped (the log then keeps none; $N_IDX_WITH indexes on the partitions in both). Not removed, in both: the xact_id column, its default pg_current_xact_id() and the validation constraint's comparison of it with the writing transaction. 10 event types with JSON Schemas and their 10 twins without; $N_PARTS monthly partitions ($MONTHS months of history + 3) + DEFAULT |"
echo "| ingestion | record() / INSERT: pgbench -M prepared -c $CLIENTS -j $CLIENTS -T $INGEST_SECONDS, one event per transaction (feed_record.sql, feed_insert.sql), after a CHECKPOINT; COPY: $COPY_ROWS events ($FILE_MB MB, validation_generate.sql; occurred_at over $MONTHS months) FROM a server file into the emptied log after a CHECKPOINT, psql \\timing; $PAIRS adjacent pairs with/without of each ($ASYNC_PAIRS with synchronous_commit = off), alternating which goes first; rows/s: median of the runs; ratio: median of the pairs' ratios |"
if has read; then echo "| reading | $COPY_ROWS events of history, then each scenario ($SCENARIOS): its consumers and position, $READ_ROWS events in $READ_TXNS transactions of $PER_TXN (INSERT ... SELECT of copies of the COPY file's events, new ids), VACUUM (ANALYZE), a correctness check; at the end $N_ALL rows, $SIZE_ALL (heap + indexes). Each reader under pgbench -M prepared -c 1 (rows fetched, not formatted), pages of $PAGE; $READ_ROUNDS rounds in rotating order, the best reported |"; fi
echo "| extension build | $EXT_NOTE |"
echo "| load average (1 min) at the start of each phase | $(quiet_summary) |"
echo "| run | $(( $(date +%s) - START ))s in total |"
echo
if [ -n "$INGEST_PATHS" ]; then
echo "### Ingestion with and without the change feed"
echo
echo "| path | rows/s with the feed | rows/s without | with / without, median of the pairs | each pair | target | met |"
echo "|---|---:|---:|---:|---|---:|---|"
row() {     # path label target
    local r t m
    r=$(med_of "${RATIOS[$1]}")
    if [ "$3" = — ]; then t=—; m=—; else t=">= $3"; m=$(meets "$r" "$3" ge); fi
    echo "| $2 | $(med_rate "$1.with") | $(med_rate "$1.without") | $(calc "$r" 3) ($(wc -w <<< "${RATIOS[$1]}") pairs) | $(list "${RATIOS[$1]}") | $t | $m |"
}
if has ingest; then
    row record "(a) SELECT activity.record(...), one event per transaction" "$TARGET_ING"
    row insert "(b) INSERT INTO activity.activities, one row per transaction" "$TARGET_ING"
fi
if has ingest && [ "$ASYNC" = 1 ]; then
    row record_async "(a) record(), synchronous_commit = off (without the WAL flush of each commit: the CPU cost shows)" —
    row insert_async "(b) INSERT, synchronous_commit = off" —
fi
if has copy; then
    row copy_validated "(c) COPY of $COPY_ROWS events, validated (types with JSON Schemas)" "$TARGET_ING"
    row copy_unvalidated "(d) COPY of $COPY_ROWS events, unvalidated (the twin types without schema)" "$TARGET_ING"
fi
echo
if has copy; then echo "COPY, backend CPU µs/row (median) with / without the feed: validated $(med_of "${CPU_US[copy_validated.with]}") / $(med_of "${CPU_US[copy_validated.without]}"), unvalidated $(med_of "${CPU_US[copy_unvalidated.with]}") / $(med_of "${CPU_US[copy_unvalidated.without]}"); WAL bytes/row (median): validated $(med_of "${WAL_B[copy_validated.with]}") / $(med_of "${WAL_B[copy_validated.without]}"), unvalidated $(med_of "${WAL_B[copy_unvalidated.with]}") / $(med_of "${WAL_B[copy_unvalidated.without]}")."; fi
echo "Every run, rows/s: $(for k in $INGEST_PATHS; do printf '%s with %s, without %s; ' "$k" "$(list "${RATE[$k.with]}")" "$(list "${RATE[$k.without]}")"; done | sed 's/; $//')."
fi
echo
for sc in $SCENARIOS; do
    if [ "$sc" = live ]; then
        what="live: occurred_at = now(), all in the current partition (${N_FEED_PARTS[$sc]})"
    else
        what="spread: the file's occurred_at, over ${N_FEED_PARTS[$sc]} partitions"
    fi
    echo "### Reading $READ_ROWS events, pages of $PAGE — $what"
    echo
    echo "| reader | events/s (best) | each round | changes() / this | same events? |"
    echo "|---|---:|---|---:|---|"
    C=$(EP_BEST "$sc.changes")
    rrow() { echo "| $2 | $(EP_BEST "$1") | $(list "${EPS[$1]}") | $(calc "$C / $(EP_BEST "$1")" 2) | $3 |"; }
    same() { grep -o "$1: [^;]*" <<< "${CHECK[$sc]}" | sed "s/^$1: //"; }
    cn=bench; [ "$sc" = spread ] || cn=bench_$sc
    rrow "$sc.changes" "\`BEGIN; SELECT * FROM activity.changes('$cn', $PAGE); COMMIT;\` × $PAGES (a consumer per round)" "$(same changes)"
    rrow "$sc.changes_since" "\`SELECT (c.event).*, c.position FROM activity.changes_since(:pos, $PAGE) c\` × $PAGES, the position carried" "$(same changes_since)"
    rrow "$sc.keyset" "hand-written keyset: \`SELECT * FROM activity.activities WHERE xact_id <= :hi AND (xact_id, id) > (:x, :id) ORDER BY xact_id, id LIMIT $PAGE\` × $PAGES" "$(same keyset)"
    rrow "$sc.select_all" "one \`SELECT * FROM activity.activities WHERE xact_id BETWEEN :lo AND :hi\`" "the same rows (counted)"
    if [ "$DIAG" = 1 ]; then
        rrow "$sc.changes_generic" "diagnostic: changes() as above, \`plan_cache_mode = force_generic_plan\` in the session (once)" "(delivered: $READ_ROWS)"
        rrow "$sc.changes_since_generic" "diagnostic: changes_since() as above, \`plan_cache_mode = force_generic_plan\` (once)" "—"
    fi
    echo
    echo "Plans (plans.$sc.txt): ${JIT_NOTE[$sc]} (server jit=$(q -c 'SHOW jit'), jit_above_cost=$(q -c 'SHOW jit_above_cost'))."
    echo
done
[ -z "$SLOW_NOTE" ] || { echo "Run once only (the first drain took more than ${READ_SLOW}s):$SLOW_NOTE"; echo; }
if has read; then
echo "| ratio | value | target | met |"
echo "|---|---:|---:|---|"
fi
for sc in $SCENARIOS; do
    C=$(EP_BEST "$sc.changes")
    echo "| $sc: changes(), events/s | $C | >= $TARGET_READ | $(meets "$C" "$TARGET_READ" ge) |"
    echo "| $sc: changes_since(), events/s | $(EP_BEST "$sc.changes_since") | — | — |"
    echo "| $sc: changes() / hand-written keyset pages | $(calc "$C / $(EP_BEST "$sc.keyset")" 2) | — | — |"
    echo "| $sc: changes() / one SELECT of all the rows | $(calc "$C / $(EP_BEST "$sc.select_all")" 2) | — | — |"
    echo "| $sc: changes_since() / hand-written keyset pages | $(calc "$(EP_BEST "$sc.changes_since") / $(EP_BEST "$sc.keyset")" 2) | — | — |"
done
} > "$LOGDIR/results.md"

cat "$LOGDIR/results.md"
if [ -n "$RESULTS_FILE" ]; then cp "$LOGDIR/results.md" "$RESULTS_FILE"; fi
log "done in $(( $(date +%s) - START ))s; plans in $LOGDIR/plans.*.txt"
