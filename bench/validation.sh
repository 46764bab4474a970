#!/usr/bin/env bash
# Benchmark of JSON Schema validation at ingestion: COPY of ROWS generated
# events into activity.activities (validated by the C trigger against the
# registered schemas), into an equivalent table without validation, into an
# equivalent table validated by a hand-written PL/pgSQL trigger, and into
# activity.activities while the types have no schema. See bench/README.md.
#
#   bash bench/validation.sh                  # full run, ROWS=1000000 (~8 min on 2 cores)
#   ROWS=200000 ROUNDS=2 bash bench/validation.sh   # quicker
#   BREAKDOWN=0 bash bench/validation.sh      # only the four main variants (~3 min)
#
# Environment (defaults in brackets):
#   PGDATABASE [activity_validation_bench]  database to create (dropped first if
#                                this script created it, refused otherwise)
#   MAINT_DB [postgres]          database to connect to for CREATE/DROP DATABASE
#   ROWS [1000000]               generated events in each COPY file
#   MONTHS [36]                  months of history (monthly partitions)
#   ROUNDS [3]                   rounds, each running every variant once (the best run is reported)
#   BREAKDOWN [1]                1: also run the variants that show where the time goes
#   PAIRS [0]                    after the rounds, this many adjacent pairs of (b) and (a),
#                                each pair in alternating order: the median of the pairs'
#                                ratios is robust to the machine's slow spells, which last
#                                longer than one COPY but shorter than a round
#   KEEP [0]                     1: keep the database and the COPY files
#   RESULTS_FILE []              also write the final tables to this file
# libpq variables (PGHOST, PGPORT, PGUSER, ...) are honoured. The server must
# be on this machine: it writes and reads the COPY file (COPY ... TO/FROM file,
# which needs a superuser or pg_write_server_files/pg_read_server_files).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export PGDATESTYLE=ISO PGTZ=UTC
export PGDATABASE=${PGDATABASE:-activity_validation_bench}
MAINT_DB=${MAINT_DB:-postgres}
ROWS=${ROWS:-1000000}
MONTHS=${MONTHS:-36}
ROUNDS=${ROUNDS:-3}
BREAKDOWN=${BREAKDOWN:-1}
PAIRS=${PAIRS:-0}
KEEP=${KEEP:-0}
RESULTS_FILE=${RESULTS_FILE:-}
MARKER='scratch database of activity bench/validation.sh'
# Every column but caused_by (NULL); the second list without version
COLS='id, workspace_id, platform, type, version, actor_type, initiator_id, recipient_id, subject_type, subject_id, metadata, occurred_at, recorded_at'
COLS_NOVERSION='id, workspace_id, platform, type, actor_type, initiator_id, recipient_id, subject_type, subject_id, metadata, occurred_at, recorded_at'

LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/activity-validation.XXXXXX")
chmod 755 "$LOGDIR"
mkdir "$LOGDIR/data"
chmod 777 "$LOGDIR/data"        # the server writes the COPY file here
FILE=$LOGDIR/data/events.copy                # the events, version 1
NV_FILE=$LOGDIR/data/events_noversion.copy   # the same without the version column
NS_FILE=$LOGDIR/data/events_noschema.copy    # the same, as the twin types without schema
START=$(date +%s)

. "$HERE/lib.sh"   # log, q, qm, calc, meets, fresh_database, machine_description, server_description

# --- fresh database ---------------------------------------------------------
cleanup_more() { rm -f "$FILE" "$NV_FILE" "$NS_FILE"; }
fresh_database "kept database $PGDATABASE and the COPY files in $LOGDIR/data (KEEP=1); logs in $LOGDIR" \
               "dropped database $PGDATABASE and the COPY files; logs in $LOGDIR"

# --- schema, data ---------------------------------------------------------------
read -r HIST_START HIST_END UNTIL < <(q -F ' ' -c "SELECT extract(epoch FROM now() - make_interval(months => $MONTHS)),
                                                          extract(epoch FROM now()),
                                                          extract(epoch FROM now() + interval '3 months')")
ts() { q -c "SELECT to_timestamp($1)"; }
HIST_START=$(ts "$HIST_START"); HIST_END=$(ts "$HIST_END"); UNTIL=$(ts "$UNTIL")
log "schema: 10 types, $MONTHS months of monthly partitions, equivalent tables"
q -v hist_start="$HIST_START" -v until="$UNTIL" -f "$HERE/validation_schema.sql" >/dev/null
q -f "$HERE/validation_plpgsql.sql"
q -f "$HERE/validation_generic_plpgsql.sql"

log "generating $ROWS events into $FILE, $NV_FILE and $NS_FILE"
q -v rows="$ROWS" -v hist_start="$HIST_START" -v hist_end="$HIST_END" -v file="$FILE" -v noversion_file="$NV_FILE" -v noschema_file="$NS_FILE" \
  -f "$HERE/validation_generate.sql"
FILE_MB=$(calc "$(stat -c %s "$FILE") / 1048576" 0)

# --- one COPY -------------------------------------------------------------------
# copy_into LABEL TABLE [FILE [CHECK [COLUMNS]]]: empty TABLE, CHECKPOINT,
# then COPY FILE (default: the events) into it, as COLUMNS (default: $COLS);
# CHECK, a query, must then return ROWS.
# Appends to SECS[LABEL] the COPY's seconds (psql \timing), to CPU[LABEL] the
# CPU seconds the backend spent in it (user + system, from its
# /proc/self/stat read before and after by pg_read_file), to WAL[LABEL] the
# WAL bytes it wrote, and to MEMKB[LABEL] the peak growth of the backend's
# anonymous memory (RssAnon, sampled every 0.2 s from outside); checks the
# row count.
declare -A SECS CPU WAL MEMKB
TICKS=$(getconf CLK_TCK)
anon_kb() {     # pid; sets KB (0 once the process is gone)
    local k v rest
    KB=0
    while read -r k v rest; do
        if [ "$k" = RssAnon: ]; then KB=$v; return; fi
    done 2>/dev/null < "/proc/$1/status" || true
}
copy_into() {
    local label=$1 table=$2 file=${3:-$FILE} check=${4:-"SELECT count(*) FROM $2"} cols=${5:-$COLS}
    local out pid job base peak n secs stats cpu wal
    n=$(( $(wc -w <<< "${SECS[$label]:-}") + 1 ))
    out=$LOGDIR/copy.$label.$n.log
    # TRUNCATE: session_replication_role = replica silences the extension's
    # append-only guard (and every other trigger) for this one statement
    # (and the id registry, which validation fills)
    q -c 'SET session_replication_role = replica' -c "TRUNCATE $table" \
      -c "DO 'BEGIN IF to_regclass(''activity.event_ids'') IS NOT NULL THEN TRUNCATE activity.event_ids; END IF; END'" \
      -c CHECKPOINT
    psql -X -q -At -v ON_ERROR_STOP=1 > "$out" 2>&1 <<SQL &
${PRE_SQL:-}
\timing on
SELECT pg_backend_pid();
SELECT pg_current_wal_insert_lsn() AS lsn0, btrim(pg_read_file('/proc/self/stat'), E'\n') AS stat0 \gset
COPY $table ($cols) FROM '$file';
SELECT 'stats', pg_wal_lsn_diff(pg_current_wal_insert_lsn(), :'lsn0'), :'stat0', btrim(pg_read_file('/proc/self/stat'), E'\n');
${POST_SQL:-}
SQL
    job=$!
    pid=
    while [ -z "$pid" ] && kill -0 "$job" 2>/dev/null; do
        pid=$(head -n 1 "$out" | grep -E '^[0-9]+$' || true)
        [ -n "$pid" ] || sleep 0.02
    done
    base=0; peak=0
    if [ -n "$pid" ]; then
        anon_kb "$pid"; base=$KB; peak=$KB
        while kill -0 "$job" 2>/dev/null; do
            anon_kb "$pid"
            [ "$KB" -gt "$peak" ] && peak=$KB
            sleep 0.2
        done
    fi
    if ! wait "$job"; then
        cat "$out" >&2; echo "COPY into $table failed" >&2; exit 1
    fi
    secs=$(awk '/^Time: / { if (++n == 3) printf "%.3f", $2 / 1000 }' "$out")
    stats=$(grep '^stats|' "$out")
    wal=$(cut -d'|' -f2 <<< "$stats")
    cpu=$(awk -F'|' -v hz="$TICKS" '{ split($3, a, " "); split($4, b, " ");
                                      printf "%.2f", (b[14] + b[15] - a[14] - a[15]) / hz }' <<< "$stats")
    [ "$(q -c "$check")" = "$ROWS" ] || { echo "after the COPY into $table: $check did not return $ROWS" >&2; exit 1; }
    SECS[$label]="${SECS[$label]:-} $secs"
    CPU[$label]="${CPU[$label]:-} $cpu"
    WAL[$label]="${WAL[$label]:-} $wal"
    MEMKB[$label]="${MEMKB[$label]:-} $(( peak - base ))"
    log "  $label: COPY into $table ${secs}s ($(calc "$ROWS / $secs" 0) rows/s), backend CPU ${cpu}s, WAL $(calc "$wal / $ROWS" 0) B/row, memory +$(( (peak - base) / 1024 )) MB"
}
# Interference from outside (this kind of machine slows down by 10-30% for
# tens of seconds at a time) only ever makes a run slower: the best run of
# each variant is its measurement. Memory and WAL: the median.
best() { tr ' ' '\n' | grep . | sort -g | head -n 1; }
best_secs() { best <<< "${SECS[$1]}"; }
best_rate() { calc "$ROWS / $(best_secs "$1")" 0; }
best_cpu() { calc "$(best <<< "${CPU[$1]}") * 1e6 / $ROWS"; }          # µs/row
med_wal() { calc "$(median <<< "${WAL[$1]}") / $ROWS" 0; }             # bytes/row
med_mb() { calc "$(median <<< "${MEMKB[$1]}") / 1024" 0; }
runs() { local s out=; for s in ${SECS[$1]}; do out="$out${out:+, }$s"; done; echo "$out"; }

# --- schemas, and do both validators agree? ---------------------------------------
log "registering the 10 JSON Schemas; checking that the C and PL/pgSQL validators agree"
q -f "$HERE/validation_schemas.sql"
AGREE=$(q -f "$HERE/validation_cases.sql" | tee "$LOGDIR/cases.log" | tail -n 1)
IFS='|' read -r N_CASES C_OK PL_OK N_VALID_CASES <<< "$AGREE"
if [ "$C_OK" != "$N_CASES" ] || [ "$PL_OK" != "$N_CASES" ]; then
    cat "$LOGDIR/cases.log" >&2; echo "the validators disagree with the expected outcomes" >&2; exit 1
fi
# the generic PL/pgSQL validator agrees with the C one (stops on a disagreement)
GENERIC=$(q -f "$HERE/validation_generic_cases.sql" | tee "$LOGDIR/generic_cases.log" | tail -n 1)
IFS='|' read -r G_N G_VALID _ G_DIFF <<< "$GENERIC"

# --- breakdown: where the time goes -----------------------------------------------
# Variants of the baseline (b), each adding one thing; see README.md.
BD_LABELS="single when_false noop_plpgsql_set check_c check_schema flat_plain"
if [ "$BREAKDOWN" = 1 ]; then
    log "breakdown tables"
    q >/dev/null <<'SQL'
SET client_min_messages = warning;
-- multi-insert off, nothing else: a volatile default on a column the COPY
-- does not carry makes COPY insert row by row
SELECT bench.create_equivalent('single_activities');
ALTER TABLE bench.single_activities ALTER caused_by SET DEFAULT CASE WHEN random() < 0 THEN activity.uuidv7() END;
-- a BEFORE ROW trigger that never fires (its WHEN clause is false for every
-- row of the file, as activity.activities' completion trigger is for rows
-- that carry their version): what its mere presence costs
SELECT bench.create_equivalent('when_false_activities');
CREATE FUNCTION bench.return_new() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
CREATE TRIGGER never BEFORE INSERT ON bench.when_false_activities
    FOR EACH ROW WHEN (NEW.version IS NULL OR NEW.metadata IS NULL OR NEW.id IS NULL OR NEW.recorded_at IS NULL
                       OR NEW.workspace_id IS NULL OR NEW.type IS NULL OR NEW.actor_type IS NULL OR NEW.occurred_at IS NULL)
    EXECUTE FUNCTION bench.return_new();
-- a PL/pgSQL trigger that fires for every row and only sets a column (what
-- filling in a version costs, done the cheapest way in PL/pgSQL)
CREATE FUNCTION bench.set_version() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN NEW.version := 1; RETURN NEW; END';
SELECT bench.create_equivalent('noop_plpgsql_set_activities');
CREATE TRIGGER noop BEFORE INSERT ON bench.noop_plpgsql_set_activities
    FOR EACH ROW EXECUTE FUNCTION bench.set_version();
-- the extension's validation constraint alone, no trigger at all (COPY
-- keeps its multi-insert batches): what activity.activities would cost
-- without its completion trigger
SELECT bench.create_equivalent('check_c_activities');
ALTER TABLE bench.check_c_activities ADD CONSTRAINT valid CHECK (
    activity._valid_activity(id, workspace_id, platform, type, version, actor_type,
                             initiator_id, recipient_id, subject_type, subject_id,
                             metadata, occurred_at, recorded_at));
-- the JSON Schema validation alone: activity.is_valid() against each type's
-- compiled schema, in a CHECK, no trigger
SELECT bench.create_equivalent('check_schema_activities');
DO $$
DECLARE
    schemas text := '';
    s record;
BEGIN
    FOR s IN SELECT t.name, sc.schema::text AS schema
             FROM activity.event_types t JOIN activity.schemas sc ON sc.type = t.name AND sc.version = 1
             ORDER BY t.name LOOP
        schemas := schemas || format(' WHEN %L THEN %L::activity.jsonschema', s.name, s.schema);
    END LOOP;
    EXECUTE format($f$ALTER TABLE bench.check_schema_activities ADD CONSTRAINT valid CHECK (
        activity.is_valid(metadata, CASE type %s END))$f$, schemas);
END;
$$;
-- without partitions: one heap with the same six indexes, no trigger
CREATE TABLE bench.flat_plain_activities (LIKE bench.plain_activities INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE bench.flat_plain_activities ADD PRIMARY KEY (id, occurred_at);
CREATE INDEX ON bench.flat_plain_activities (workspace_id, occurred_at DESC, id DESC) INCLUDE (type);
CREATE INDEX ON bench.flat_plain_activities (workspace_id, subject_type, subject_id, occurred_at DESC, id DESC) WHERE subject_id IS NOT NULL;
CREATE INDEX ON bench.flat_plain_activities (workspace_id, initiator_id, occurred_at DESC, id DESC) WHERE initiator_id IS NOT NULL;
CREATE INDEX ON bench.flat_plain_activities (workspace_id, recipient_id, occurred_at DESC, id DESC) WHERE recipient_id IS NOT NULL;
CREATE INDEX ON bench.flat_plain_activities (occurred_at DESC, id DESC) WHERE occurred_at > '-infinity'::timestamptz;
SQL
fi

# --- the runs ----------------------------------------------------------------------
# Every round runs every variant once, starting one further down the list each
# round, so that a slow spell of the machine hits different variants.
#   (a) validated   activity.activities, schemas registered: validated, version 1 in the file
#   (a') nover      the same, the file without version: the extension fills it in
#   (b) plain       the baseline, no trigger
#   (c) plpgsql     the hand-written PL/pgSQL trigger
#   (d) noschema    activity.activities, the twin types without schema: version 0
#   (e) noids       (a) with the id registry (activity.event_ids) switched off:
#                   what storing every id once costs
run_variant() {
    case $1 in
        noids)     q -c 'ALTER TABLE activity.event_ids RENAME TO event_ids_off'
                   copy_into noids activity.activities "$FILE" \
                       "SELECT count(*) FROM activity.activities WHERE version = 1"
                   q -c 'ALTER TABLE activity.event_ids_off RENAME TO event_ids' ;;
        validated) copy_into validated activity.activities "$FILE" \
                       "SELECT count(*) FROM activity.activities WHERE version = 1" ;;
        nover)     copy_into nover activity.activities "$NV_FILE" \
                       "SELECT count(*) FROM activity.activities WHERE version = 1" "$COLS_NOVERSION" ;;
        noschema)  copy_into noschema activity.activities "$NS_FILE" \
                       "SELECT count(*) FROM activity.activities WHERE version = 0" ;;
        plain)     copy_into plain bench.plain_activities ;;
        plpgsql)   copy_into plpgsql bench.plpgsql_activities ;;
        # the owner's COPY straight into a table other than the log is taken
        # as written (a restore); written in a transaction that wrote through
        # the log, its rows are validated like the log's
        check_c)   PRE_SQL="BEGIN; INSERT INTO activity.activities SELECT * FROM activity.activities WHERE false;" \
                   POST_SQL="COMMIT;" copy_into check_c bench.check_c_activities
                   q -c 'SET session_replication_role = replica' -c "TRUNCATE bench.check_c_activities" ;;
        *)         copy_into "$1" "bench.$1_activities"
                   q -c 'SET session_replication_role = replica' -c "TRUNCATE bench.$1_activities" ;;
    esac
}
VARIANTS="validated nover plain plpgsql noschema noids"
[ "$BREAKDOWN" = 1 ] && VARIANTS="$VARIANTS $BD_LABELS"
read -r -a VLIST <<< "$VARIANTS"
NV=${#VLIST[@]}
for r in $(seq 1 "$ROUNDS"); do
    log "round $r/$ROUNDS: $NV variants"
    for ((i = 0; i < NV; i++)); do
        run_variant "${VLIST[$(( (i + (r - 1) * 3) % NV ))]}"
    done
done
# adjacent pairs: (b) then (a), (a) then (b), ...
PAIR_RATIOS=
for p in $(seq 1 "$PAIRS"); do
    log "pair $p/$PAIRS"
    if [ $((p % 2)) -eq 1 ]; then first=plain; second=validated; else first=validated; second=plain; fi
    run_variant "$first"; run_variant "$second"
    last() { awk '{ print $NF }' <<< "${SECS[$1]}"; }
    PAIR_RATIOS="$PAIR_RATIOS $(calc "$(last plain) / $(last validated)" 3)"
done

# --- the validation alone, in SELECTs over the same documents -------------------
log "validation alone: C, hand-written PL/pgSQL, generic PL/pgSQL over the same $ROWS documents"
q -v file="$FILE" -v cols="$COLS" -v rows="$ROWS" -v runs="$ROUNDS" \
  -f "$HERE/validation_alone.sql" > "$LOGDIR/alone.md" 2> "$LOGDIR/alone.log"

SIZE_ACT=$(q -c "SELECT pg_size_pretty(sum(pg_total_relation_size(relid))) FROM pg_partition_tree('activity.activities')")
SIZE_PLAIN=$(q -c "SELECT pg_size_pretty(sum(pg_total_relation_size(relid))) FROM pg_partition_tree('bench.plain_activities')")

# --- results ----------------------------------------------------------------------
MACHINE=$(machine_description)
SERVER=$(server_description shared_buffers max_wal_size synchronous_commit wal_level jit)
N_PARTS=$(q -c "SELECT count(*) FROM activity.partitions() WHERE NOT is_default")
V=$(best_rate validated); VN=$(best_rate nover); P=$(best_rate plain); L=$(best_rate plpgsql); D=$(best_rate noschema); NI=$(best_rate noids)
# ratio NUM DEN: rows/s of NUM / rows/s of DEN (best runs)
ratio() { calc "$(best_secs "$2") / $(best_secs "$1")" "${3:-2}"; }
# over LABEL BASE: backend CPU µs/row of LABEL beyond BASE (best runs)
over() { calc "$(best_cpu "$1") - $(best_cpu "$2")"; }

{
echo "## activity validation benchmark — $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "| | |"
echo "|---|---|"
echo "| machine | $MACHINE |"
echo "| PostgreSQL | $SERVER |"
echo "| data | $ROWS events of 10 types (one JSON Schema each), $FILE_MB MB COPY text file, in occurred_at order over $MONTHS months; $N_PARTS monthly partitions + DEFAULT, each with the five feed indexes (activity.activities: the workspace feed index unique, no primary key, ids in activity.event_ids; the equivalent tables: PK (id, occurred_at) and the same five, non-unique); $SIZE_ACT loaded (heap + indexes, activity.activities), $SIZE_PLAIN (baseline) |"
echo "| method | COPY table (13 columns: all but caused_by; (a') 12, without version) FROM the server-side file, into an emptied table after a CHECKPOINT; $ROUNDS rounds, each running every variant once in rotating order, the best run of each reported (all are listed); seconds: psql \\timing; CPU: user + system time of the backend (/proc/self/stat) during the COPY; WAL: bytes written by the COPY (median); memory: peak growth of the backend's RssAnon during the COPY, sampled every 0.2 s (median) |"
echo "| agreement | $N_CASES rows ($N_VALID_CASES valid, $((N_CASES - N_VALID_CASES)) breaking one rule each): the extension and the PL/pgSQL trigger accept and refuse the same ones |"
echo "| generic validator | $G_N schema/document pairs covering every keyword and format ($G_VALID valid): the generic PL/pgSQL validator and activity.is_valid() disagree on $G_DIFF |"
echo "| run | $(( $(date +%s) - START ))s in total |"
echo
echo "### COPY of $ROWS events"
echo
echo "| | target table | rows/s | seconds per run | backend CPU µs/row | WAL bytes/row | backend memory growth |"
echo "|---|---|---:|---|---:|---:|---:|"
echo "| (a) | activity.activities: C check constraint, metadata validated against the JSON Schemas; rows carry their version | $V | $(runs validated) | $(best_cpu validated) | $(med_wal validated) | $(med_mb validated) MB |"
echo "| (a') | activity.activities, the same events without their version: the completion trigger fills it in for every row, then the check constraint | $VN | $(runs nover) | $(best_cpu nover) | $(med_wal nover) | $(med_mb nover) MB |"
echo "| (b) | equivalent table, no trigger (no validation) | $P | $(runs plain) | $(best_cpu plain) | $(med_wal plain) | $(med_mb plain) MB |"
echo "| (c) | equivalent table, hand-written PL/pgSQL trigger, same rules | $L | $(runs plpgsql) | $(best_cpu plpgsql) | $(med_wal plpgsql) | $(med_mb plpgsql) MB |"
echo "| (d) | activity.activities, the same events as twin types without schema (ns.post.created, ...: a second file, version 0): the check constraint without JSON Schemas | $D | $(runs noschema) | $(best_cpu noschema) | $(med_wal noschema) | $(med_mb noschema) MB |"
echo "| (e) | activity.activities as (a), with the id registry switched off (activity.event_ids renamed away): ids not stored once | $NI | $(runs noids) | $(best_cpu noids) | $(med_wal noids) | $(med_mb noids) MB |"
echo
echo "| ratio | value | target | met |"
echo "|---|---:|---:|---|"
R=$(ratio validated plain); echo "| validated (a) / unvalidated (b), rows/s | $R | >= 0.8 | $(meets "$R" 0.8 ge) |"
if [ "$PAIRS" -gt 0 ]; then
    R=$(median <<< "$PAIR_RATIOS")
    echo "| validated (a) / unvalidated (b), median of $PAIRS adjacent pairs (each: $(echo $PAIR_RATIOS | sed 's/ /, /g')) | $R | >= 0.8 | $(meets "$R" 0.8 ge) |"
fi
R=$(ratio nover plain); echo "| validated, version filled in (a') / unvalidated (b), rows/s | $R | — | — |"
R=$(ratio validated plpgsql 1); echo "| validated (a) / PL/pgSQL (c), rows/s (whole COPY; the 20× target applies to the validation alone, below) | $R | — | — |"
R=$(ratio noschema plain); echo "| check constraint without schemas (d) / unvalidated (b), rows/s | $R | — | — |"
R=$(ratio plain plpgsql); echo "| unvalidated (b) / PL/pgSQL (c), rows/s: the most (a) / (c) could be if validation cost nothing | $R | — | — |"
R=$(ratio validated noids); echo "| the id rule: validated (a) / the same without the id registry (e), rows/s | $R | — | — |"
echo
echo "Backend CPU per row added to (b): (d) $(over noschema plain) µs, (a) $(over validated plain) µs, (a') $(over nover plain) µs, (c) $(over plpgsql plain) µs; the schema validation itself, (a) − (d): $(over validated noschema) µs; storing each id once, (a) − (e): $(over validated noids) µs."
if [ "$BREAKDOWN" = 1 ]; then
    row() { echo "| $3 | $(best_rate "$1") | $(best_cpu "$1") | $(over "$1" "$2") | $(med_wal "$1") | $(med_mb "$1") MB |"; }
    echo
    echo "### Where the time goes: the same COPY into variants of the baseline"
    echo
    echo "Best of $ROUNDS runs each, in the same rounds as the variants above. \"over (b)\": backend CPU per row beyond (b)."
    echo
    echo "| target table | rows/s | backend CPU µs/row | over (b) | WAL bytes/row | backend memory growth |"
    echo "|---|---:|---:|---:|---:|---:|"
    row plain plain "(b) partitioned, no trigger: COPY batches rows (multi-insert)"
    row single plain "partitioned, no trigger, multi-insert off (volatile default on caused_by)"
    row when_false plain "partitioned, a BEFORE ROW trigger whose WHEN clause is false for every row (multi-insert off)"
    row noop_plpgsql_set plain "partitioned, PL/pgSQL trigger NEW.version := 1; RETURN NEW, every row"
    row check_schema plain "partitioned, no trigger, CHECK: activity.is_valid(metadata, the type's schema)"
    row check_c plain "partitioned, no trigger, CHECK: activity._valid_activity(...), the extension's constraint"
    row validated plain "(a) activity.activities: the same constraint and the completion trigger (WHEN false: multi-insert off)"
    row noschema plain "(d) activity.activities, twin types without schema"
    row nover plain "(a') activity.activities, version omitted: the completion trigger fires for every row"
    row flat_plain plain "not partitioned, no trigger"
fi
echo
cat "$LOGDIR/alone.md"
} > "$LOGDIR/results.md"

cat "$LOGDIR/results.md"
if [ -n "$RESULTS_FILE" ]; then cp "$LOGDIR/results.md" "$RESULTS_FILE"; fi
log "done in $(( $(date +%s) - START ))s"
