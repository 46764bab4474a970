#!/usr/bin/env bash
# TAP test: every public function of the extension is callable from the two
# drivers applications use, with their default parameter typing:
# node-postgres (test/drivers/node, pg pinned in its package-lock.json) and
# psycopg 3 (test/drivers/python, Debian's python3-psycopg). Each suite calls
# every public function (and reads the public views) the way an application
# does: native values (objects/dicts for JSON, strings, numbers, arrays,
# dates, null), positional and named notation, server-side parameters; a
# cursor read back from page() and sent back as it was read; psycopg also
# prepared, with binary results and with binary parameters. The calls an
# application makes run as a role holding only what README's "Privileges"
# lists; maintenance as the owner given by activity.set_owner().
#
# One TAP line per public function (or view) per driver: ok when every test
# of that driver's suite naming it passed (a test makes one or a few calls);
# a function no test names fails, so a new function needs its tests here.
# The failing tests are listed under each line with the server's error.
# Needs Node.js >= 18.15 and npm, /usr/bin/python3 with python3-psycopg
# (scripts/deps.sh installs them) and a server reachable through the PG*
# environment variables, as a superuser.
set -uo pipefail
cd "$(dirname "$0")/../.."
db=activity_drivers_test
owner=activity_drivers_owner
app=activity_drivers_app
node_dir=test/drivers/node
py_suite=test/drivers/python/test_drivers.py
# Debian's interpreter, which has python3-psycopg: a bare python3 may be a
# pyenv shim (/root/.pyenv/shims/python3) for an interpreter without it
python=/usr/bin/python3
work=$(mktemp -d)
start=$(date +%s)
n=0
failed=0
ok() { n=$((n + 1)); if [ "$1" = "$2" ]; then echo "ok $n - $3"; else failed=$((failed + 1)); echo "not ok $n - $3"; echo "#   got: '$1'"; echo "#   expected: '$2'"; fi; }
# tap CONDITION DESCRIPTION: one line, no diagnostics (the caller prints them)
tap() { n=$((n + 1)); if [ "$1" = yes ]; then echo "ok $n - $2"; else failed=$((failed + 1)); echo "not ok $n - $2"; fi; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" -c "$1"; }
cleanup() {
    if [ -n "${DRIVERS_KEEP:-}" ] && [ "$failed" -gt 0 ]; then
        echo "# kept: database $db, roles $owner and $app, files in $work"
        return
    fi
    dropdb --if-exists --force "$db" >/dev/null 2>&1
    psql -X -q -d postgres -c "DROP ROLE IF EXISTS $app" -c "DROP ROLE IF EXISTS $owner" >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT

# --- what the suites need ----------------------------------------------------------
tools=yes
node_ok=$(node -e 'const [a, b] = process.versions.node.split(".").map(Number); console.log(a > 18 || (a === 18 && b >= 15))' 2>/dev/null)
command -v npm >/dev/null 2>&1 || node_ok=no
ok "${node_ok:-no}" true "node (>= 18.15, for node --test's TAP reporter) and npm are installed"
[ "$node_ok" = true ] || tools=no
py_version=$("$python" -c 'import psycopg; print(psycopg.__version__.split(".")[0])' 2>/dev/null)
ok "${py_version:-none}" 3 "$python imports psycopg 3 (Debian: apt-get install python3-psycopg)"
[ "$py_version" = 3 ] || tools=no
if [ "$tools" = no ]; then
    echo "# node, npm or psycopg 3 missing: scripts/deps.sh installs them"
    echo "1..$n"
    exit 1
fi

# the pinned dependencies, unless the very versions are installed already
status=0
want=$(node -p 'require("./'$node_dir'/package-lock.json").packages["node_modules/pg"].version')
have=$(node -p 'require("./'$node_dir'/node_modules/pg/package.json").version' 2>/dev/null)
if [ "$have" != "$want" ]; then
    log=$(npm ci --prefix "$node_dir" --no-audit --no-fund --silent 2>&1) || status=$?
    [ "$status" -eq 0 ] || echo "$log" | sed 's/^/# /'
fi
ok "$status $(node -p 'require("./'$node_dir'/node_modules/pg/package.json").version' 2>/dev/null)" "0 $want" \
   "the node suite's dependencies are installed (npm ci in $node_dir: pg $want)"

# --- the database and the roles ------------------------------------------------------
# (passwords: pg_virtualenv's clusters authenticate TCP connections by password)
owner_pw=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
app_pw=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
dropdb --if-exists --force "$db" >/dev/null 2>&1
psql -X -q -d postgres -c "DROP ROLE IF EXISTS $app" -c "DROP ROLE IF EXISTS $owner" >/dev/null 2>&1
status=0
{ psql -X -q -v ON_ERROR_STOP=1 -d postgres \
       -c "CREATE ROLE $owner LOGIN PASSWORD '$owner_pw'" -c "CREATE ROLE $app LOGIN PASSWORD '$app_pw'" &&
  createdb "$db" &&
  psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "CREATE EXTENSION activity" -f examples/catalogue.sql &&
  # the application role: exactly what README's "Privileges" lists, and
  # the grants it lists for a role that reads a change feed consumer
  # (and a schema of its own, for the tables it captures with track())
  psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "GRANT USAGE ON SCHEMA activity TO $app" \
       -c "GRANT INSERT, SELECT ON activity.activities TO $app" \
       -c "GRANT SELECT ON activity.feed_removals, activity.feed_batches TO $app" \
       -c "GRANT SELECT, UPDATE, INSERT, DELETE ON activity.feed_consumers TO $app" \
       -c "CREATE SCHEMA drivers_app AUTHORIZATION $app"; } >/dev/null 2>"$work/setup.err" || status=$?
sed 's/^/# /' "$work/setup.err"
ok "$status" 0 "database $db with the extension and examples/catalogue.sql; roles $owner (set_owner) and $app (USAGE on activity, INSERT and SELECT on activity.activities, its own schema drivers_app)"

# the public objects: functions not named _..., the views, and the log
q "SELECT DISTINCT 'activity.' || p.proname FROM pg_proc p
   WHERE p.pronamespace = 'activity'::regnamespace AND p.proname NOT LIKE '\\_%'
   UNION SELECT 'activity.' || c.relname FROM pg_class c
   WHERE c.relnamespace = 'activity'::regnamespace AND c.relkind = 'v'
   UNION SELECT 'activity.activities' ORDER BY 1" >"$work/objects"
echo "# $(wc -l <"$work/objects") public functions and views"

# --- the suites -------------------------------------------------------------------
export PGDATABASE=$db DRIVERS_OWNER=$owner DRIVERS_APP=$app DRIVERS_OWNER_PASSWORD=$owner_pw DRIVERS_APP_PASSWORD=$app_pw
t0=$(date +%s)
timeout 120 "$python" "$py_suite" >"$work/psycopg.tap" 2>"$work/psycopg.err"
echo "# psycopg suite: exit status $?, $(( $(date +%s) - t0 )) s"
t0=$(date +%s)
(cd "$node_dir" && timeout 120 node --test --test-reporter=tap drivers.test.js) >"$work/node-postgres.tap" 2>"$work/node-postgres.err"
echo "# node-postgres suite: exit status $?, $(( $(date +%s) - t0 )) s"

# Each suite's TAP: a line "ok N - <object>: <calls>" per test (node's TAP
# reporter may nest them, indented, under a line for the file, and follows
# each with YAML diagnostics; the psycopg suite prints "#   " lines under a
# failure). results: driver, ok|not ok, object, test; diag: each failing
# test with the server's error.
parse() {    # parse DRIVER FILE
    awk -v driver="$1" -v out="$work/results" -v diag="$work/diag.$1" '
        function indent(s) { match(s, /^ */); return RLENGTH }
        /^ *(not )?ok [0-9]+ - activity\.[a-z_0-9]+: / {
            status = ($0 ~ /^ *not /) ? "not ok" : "ok"
            name = $0; sub(/^ *(not )?ok [0-9]+ - /, "", name)
            obj = name; sub(/: .*/, "", obj)
            print driver "\t" status "\t" obj "\t" name >> out
            if (status == "not ok") print "@@ " name >> diag
            keep = (status == "not ok"); inkey = 0; next
        }
        !keep { next }
        /^#   / { print substr($0, 5) >> diag; next }
        # node: the YAML keys error, code, expected and actual, with their
        # continuation lines (more indented), not the stack
        /^ *[A-Za-z_]+:/ && (!inkey || indent($0) <= keyindent) {
            inkey = ($0 ~ /^ *(error|code|expected|actual):/); keyindent = indent($0)
        }
        inkey && indent($0) >= keyindent && $0 !~ /^ *\.\.\.$/ { print substr($0, keyindent + 1) >> diag; next }
        /^ *(\.\.\.|# Subtest)/ { keep = 0; inkey = 0 }
    ' "$2"
}
: >"$work/results"
for d in psycopg node-postgres; do
    : >"$work/diag.$d"
    parse "$d" "$work/$d.tap"
    if [ -s "$work/$d.err" ]; then
        echo "# $d suite, stderr:"; head -n 20 "$work/$d.err" | sed 's/^/#   /'
    fi
done

# the failing tests of one object, with their diagnostics
failures() {    # failures DRIVER OBJECT
    awk -v obj="$2: " '
        /^@@ / { show = (index(substr($0, 4), obj) == 1); if (show) print "#   not ok: " substr($0, 4); next }
        show { print "#     " $0 }
    ' "$work/diag.$1" | head -n 40
}

for d in psycopg node-postgres; do
    total=$(awk -F'\t' -v d="$d" '$1 == d' "$work/results" | wc -l)
    # (the largest plan: node's nested output ends with a plan of 1 file)
    planned=$(grep -oE '^ *1\.\.[0-9]+' "$work/$d.tap" | tr -d ' ' | cut -c4- | sort -n | tail -n 1)
    ok "$total" "${planned:-no plan}" "$d: the suite ran every test to its end ($total tests)"
    while read -r obj; do
        calls=$(awk -F'\t' -v d="$d" -v o="$obj" '$1 == d && $3 == o' "$work/results" | wc -l)
        bad=$(awk -F'\t' -v d="$d" -v o="$obj" '$1 == d && $3 == o && $2 == "not ok"' "$work/results" | wc -l)
        if [ "$calls" -eq 0 ]; then
            tap no "$d: $obj (no test of the $d suite calls it: add one)"
        else
            what="$calls test$([ "$calls" -eq 1 ] || echo s)"
            [ "$bad" -eq 0 ] || what="$what, $bad failing"
            tap "$([ "$bad" -eq 0 ] && echo yes)" "$d: $obj ($what)"
            [ "$bad" -eq 0 ] || failures "$d" "$obj"
        fi
    done <"$work/objects"
    # a test naming no public function or view (renamed, removed, misspelt)
    stray=$(awk -F'\t' -v d="$d" '$1 == d { print $3 }' "$work/results" | sort -u | grep -vxFf "$work/objects" | paste -sd' ')
    ok "${stray:-none}" none "$d: every test names a public function or view"
done

elapsed=$(( $(date +%s) - start ))
ok "$([ "$elapsed" -lt 60 ] && echo yes || echo "no ($elapsed s)")" yes "the run took under 60 s ($elapsed s)"
echo "1..$n"
[ "$failed" -eq 0 ]
