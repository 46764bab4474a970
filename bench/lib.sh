# Shared by the benchmark scripts (run.sh, validation.sh, feeds.sh): helpers,
# and the scratch database each script creates and drops. Sourced, not run.
#
# The caller sets, before sourcing: START (date +%s at the start), PGDATABASE
# (exported), MAINT_DB, KEEP, MARKER (the comment that marks a database as
# created by the script).

log() { printf '[%4ds] %s\n' $(( $(date +%s) - START )) "$*" >&2; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }           # in $PGDATABASE
qm() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$MAINT_DB" "$@"; }
now_ns() { date +%s%N; }
calc() { awk "BEGIN { printf \"%.${2:-2}f\", $1 }"; }
# "yes"/"no": is $1 <= $2 (or >= with $3 = ge, < with $3 = lt)?
meets() { awk -v a="$1" -v b="$2" -v op="${3:-le}" 'BEGIN { ok = (op == "ge") ? (a >= b) : (op == "lt") ? (a < b) : (a <= b); print ok ? "yes" : "**no**" }'; }

# pgb NAME PGBENCH-ARGS...: runs pgbench -n -M prepared (PGBENCH: its path),
# keeps its output in $LOGDIR/NAME.log, exits on a failure or an aborted
# client; sets TPS and LAT (ms, latency average).
pgb() {
    local name=$1 out; shift
    if ! out=$("$PGBENCH" -n -M prepared "$@" 2>&1); then
        echo "$out" >&2; echo "pgbench $name failed" >&2; exit 1
    fi
    printf '%s\n' "$out" > "$LOGDIR/$name.log"
    if grep -q 'aborted' <<<"$out"; then echo "$out" >&2; echo "pgbench $name aborted" >&2; exit 1; fi
    TPS=$(awk '/^tps = /{ print $3; exit }' <<<"$out")
    LAT=$(awk '/^latency average = /{ print $4; exit }' <<<"$out")
}

# For the results tables: the machine, and the server with the given settings.
machine_description() {
    local mem cpu
    mem=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
    cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
    echo "$(nproc) cores ($(uname -m), $cpu), $mem RAM, $(uname -s) $(uname -r)"
}
server_description() {  # setting names...
    local pgver extver settings names
    names=$(printf "'%s', " "$@"); names=${names%, }
    pgver=$(q -c "SELECT split_part(version(), ' (', 1)")
    extver=$(q -c "SELECT extversion FROM pg_extension WHERE extname = 'activity'")
    settings=$(q -c "SELECT string_agg(name || '=' || current_setting(name), ', ' ORDER BY name) FROM pg_settings
                     WHERE name IN ($names)")
    echo "$pgver, activity $extver; server defaults: $settings"
}

# fresh_database KEPT_MESSAGE DROPPED_MESSAGE
# Creates $PGDATABASE, marked with the comment $MARKER, after dropping it if
# it exists with that mark (and refusing to, and exiting, if it exists without
# it). From then on, on exit (success or failure), the database is dropped
# unless KEEP=1, then the function cleanup_more is called if the caller
# defined one, and one of the two messages is logged; the exit status is kept.
fresh_database() {
    CLEANUP_KEPT_MESSAGE=$1
    CLEANUP_DROPPED_MESSAGE=$2
    # (psql interpolates :'db' in scripts read from stdin, not in -c commands)
    if [ -n "$(qm -v db="$PGDATABASE" <<< "SELECT 1 FROM pg_database WHERE datname = :'db'")" ]; then
        local existing
        existing=$(qm -v db="$PGDATABASE" <<< "SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname = :'db'")
        if [ "$existing" != "$MARKER" ]; then
            echo "database \"$PGDATABASE\" exists and was not created by this script; refusing to drop it" >&2
            exit 1
        fi
        qm -v db="$PGDATABASE" <<< 'DROP DATABASE :"db" WITH (FORCE)'
    fi
    trap cleanup EXIT
    qm -v db="$PGDATABASE" -v marker="$MARKER" <<'SQL'
CREATE DATABASE :"db";
COMMENT ON DATABASE :"db" IS :'marker';
SQL
}
cleanup() {
    local rc=$?
    if [ "$KEEP" = 1 ]; then
        log "$CLEANUP_KEPT_MESSAGE"
    else
        qm -v db="$PGDATABASE" <<< 'DROP DATABASE IF EXISTS :"db" WITH (FORCE)' || true
        if declare -F cleanup_more >/dev/null; then cleanup_more; fi
        log "$CLEANUP_DROPPED_MESSAGE"
    fi
    exit $rc
}

# median of the numbers on stdin (space or newline separated); list "a b" -> "a, b"
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
list() { local s out=; for s in $1; do out="$out${out:+, }$s"; done; echo "$out"; }

# wait_quiet PHASE: waits until the 1-minute load average is below LOAD_MAX
# (polling every 15 s, at most LOAD_WAIT seconds); notes the load the phase
# started at in QUIET[PHASE]; quiet_summary prints them all.
declare -A QUIET
QUIET_ORDER=()
wait_quiet() {
    QUIET_ORDER+=("$1")
    local waited=0 load
    load=$(cut -d' ' -f1 /proc/loadavg)
    while awk -v l="$load" -v m="$LOAD_MAX" 'BEGIN { exit !(l >= m) }'; do
        if [ "$waited" -ge "$LOAD_WAIT" ]; then
            log "load average still $load after ${waited}s: running $1 anyway"
            QUIET[$1]="**$load: not below $LOAD_MAX after ${waited}s, run anyway**"
            return
        fi
        [ $((waited % 60)) = 0 ] && log "load average $load (>= $LOAD_MAX): waiting before $1"
        sleep 15; waited=$((waited + 15))
        load=$(cut -d' ' -f1 /proc/loadavg)
    done
    QUIET[$1]="$load (after ${waited}s of waiting)"
    log "load average $load: $1"
}
quiet_summary() { for k in "${QUIET_ORDER[@]}"; do printf '%s: %s; ' "$k" "${QUIET[$k]}"; done | sed 's/; $//'; }

# which build of the extension is measured: other work may install a new one
# at any time (a database keeps the SQL objects of the build installed when it
# was created; the C library is loaded by each new session)
SHAREDIR=$(pg_config --sharedir 2>/dev/null)/extension
PKGLIBDIR=$(pg_config --pkglibdir 2>/dev/null)
# The build a run measured, for its results: the installed files at its start
# ($BUILD_START) and end, the repository's commit ($REPO, $HEAD_START) and
# whether the installed SQL is the working tree's
build_note() {
    local note="installed files: $BUILD_START" end
    end=$(build_id)
    if [ "$end" != "$BUILD_START" ]; then
        note="$note; **a new build was installed during the run**: $end"
    else
        note="$note, the same at the end of the run"
    fi
    if git -C "$REPO" rev-parse --short HEAD >/dev/null 2>&1; then
        note="$note; repository at commit $(git -C "$REPO" rev-parse --short HEAD)"
        [ "$HEAD_START" = "$(git -C "$REPO" rev-parse --short HEAD)" ] || note="$note (at $HEAD_START when the run started)"
        if [ -n "$(git -C "$REPO" status --porcelain -- sql src 2>/dev/null)" ]; then
            note="$note, with uncommitted changes in sql/ or src/"
        fi
        if cmp -s "$SHAREDIR/activity--0.1--0.2.sql" "$REPO/sql/activity--0.1--0.2.sql"; then
            note="$note; the installed SQL is the working tree's"
        else
            note="$note; the installed SQL is not the working tree's"
        fi
    fi
    echo "$note"
}

build_id() {
    echo "SQL $(md5sum < "$SHAREDIR/activity--0.1--0.2.sql" 2>/dev/null | cut -c1-8) of $(date -u -r "$SHAREDIR/activity--0.1--0.2.sql" '+%H:%M:%S' 2>/dev/null),"\
         "activity.so $(md5sum < "$PKGLIBDIR/activity.so" 2>/dev/null | cut -c1-8) of $(date -u -r "$PKGLIBDIR/activity.so" '+%H:%M:%S' 2>/dev/null) UTC"
}
