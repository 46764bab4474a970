#!/usr/bin/env bash
# TAP test: the workspace activity API example (examples/workspace-api), seed
# 002's HTTP endpoints on a real server (Fastify, node-postgres), run by its
# own tests (node --test, examples/workspace-api/test/*.test.js) over HTTP on
# the loopback interface: both endpoints, limit/offset/cursor/actor_type and
# their errors, 401 and 404 (another tenant's workspace shows nothing of it),
# the JSON shape, 50 clients paging by cursor while writers insert, SIGTERM,
# and the row-level security that confines the API's role to the token's
# workspace. Each node test is one TAP line here.
#
# This script makes its own database, activity_workspace_api_test, with the
# extension, examples/catalogue.sql and examples/workspace-api/schema.sql, and
# the API's role, activity_workspace_api_test_role (LOGIN, a random password:
# the server logs in as it, over whatever connection the PG* variables say),
# and drops both at the end. WORKSPACE_API_KEEP=1 keeps them after a failure.
# Needs Node.js >= 20 and npm (Debian: apt-get install nodejs npm) and a
# server reachable through the PG* environment variables as a superuser.
set -uo pipefail
cd "$(dirname "$0")/../.."
ex=examples/workspace-api
db=activity_workspace_api_test
restored=${db}_restored
role=activity_workspace_api_test_role
tests=20        # the node tests in $ex/test/*.test.js
plan=$((tests + 6))
n=0
failed=0
ok() { n=$((n + 1)); if [ "$1" = "$2" ]; then echo "ok $n - $3"; else failed=$((failed + 1)); echo "not ok $n - $3"; echo "#   got: '$1'"; echo "#   expected: '$2'"; fi; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" -c "$1"; }
work=$(mktemp -d)
cleanup() {
    if [ -n "${WORKSPACE_API_KEEP:-}" ] && [ "$failed" -gt 0 ]; then
        echo "# kept: database $db, role $role, files in $work"
        return
    fi
    dropdb --if-exists --force "$db" >/dev/null 2>&1
    dropdb --if-exists --force "$restored" >/dev/null 2>&1
    psql -X -q -d postgres -c "DROP ROLE IF EXISTS $role" >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT
echo "1..$plan"
start=$(date +%s)

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "not ok 1 - node and npm are installed"
    echo "# the workspace API example needs Node.js (>= 20) and npm: on Debian, apt-get install nodejs npm"
    for i in $(seq 2 $plan); do echo "not ok $i - # node and npm are missing"; done
    exit 1
fi
ok "$(node -e 'console.log(+process.versions.node.split(".")[0] >= 20)')" true "node (>= 20) and npm are installed"

# the pinned dependencies (package-lock.json), unless the very versions are
# installed already
versions() {  # the installed versions of pg and fastify, or of the lock file with "lock"
    node -e '
      const [dir, from] = process.argv.slice(1);
      const v = (name) => { try {
        return from === "lock" ? require(`./${dir}/package-lock.json`).packages[`node_modules/${name}`].version
                               : require(`./${dir}/node_modules/${name}/package.json`).version;
      } catch { return "none"; } };
      console.log(`pg ${v("pg")}, fastify ${v("fastify")}`);' "$ex" "${1:-installed}"
}
want=$(versions lock)
status=0
if [ "$(versions)" != "$want" ]; then
    log=$(npm ci --prefix "$ex" --no-audit --no-fund --silent 2>&1) || status=$?
    [ "$status" -eq 0 ] || echo "$log" | sed 's/^/# /'
fi
ok "$status $(versions)" "0 $want" "the example's dependencies are installed (npm ci in $ex: $want)"

# the database and the API's role
dropdb --if-exists --force "$db" >/dev/null 2>&1
dropdb --if-exists --force "$restored" >/dev/null 2>&1
psql -X -q -d postgres -c "DROP ROLE IF EXISTS $role" >/dev/null 2>&1
password=$(node -e 'console.log(require("crypto").randomBytes(18).toString("hex"))')
setup=$( { createdb "$db" &&
           psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c 'CREATE EXTENSION activity' -c 'SELECT count(*) FROM activity.maintain()' \
                -f examples/catalogue.sql -v api_role="$role" -f "$ex/schema.sql" >/dev/null &&
           psql -X -q -v ON_ERROR_STOP=1 -d "$db" -v role="$role" -v pw="$password" <<'SQL'
ALTER ROLE :"role" PASSWORD :'pw';
SQL
       } 2>&1 ) || echo "$setup" | sed 's/^/# /'
ok "$(q "SELECT rolcanlogin AND NOT rolsuper AND NOT rolbypassrls FROM pg_roles WHERE rolname = '$role'") $(q "SELECT relrowsecurity FROM pg_class WHERE oid = 'activity.activities'::regclass")" \
   "t t" "database $db with the extension, the catalogue and schema.sql; role $role (LOGIN, not superuser, no BYPASSRLS); row-level security on the log"

# the node tests, one TAP line each
t0=$(date +%s)
PGDATABASE=$db WORKSPACE_API_TEST_PGUSER=$role WORKSPACE_API_TEST_PGPASSWORD=$password \
    timeout 300 node --test --test-reporter=tap "$ex"/test/*.test.js >"$work/node.tap" 2>&1
node_status=$?
elapsed=$(( $(date +%s) - t0 ))
ran=0
while IFS= read -r line; do
    case "$line" in
    "ok "*|"not ok "*)
        ran=$((ran + 1))
        [ "$ran" -le "$tests" ] || continue
        name=${line#*ok * - }
        if [ "${line#not }" = "$line" ]; then
            ok pass pass "$name"
        else
            ok fail pass "$name"
            # the failure's report, as comments
            awk -v t="$line" 'found && /^(not )?ok [0-9]+ - / { exit } found { print "#   " $0 } $0 == t { found = 1 }' "$work/node.tap" | head -n 40
        fi ;;
    esac
done < <(grep -E '^(not )?ok [0-9]+ - ' "$work/node.tap")
grep -E '^# (tests|pass|fail|cancelled|duration_ms) ' "$work/node.tap" | paste -sd' ' | sed 's/^/# node --test: /'
grep -E '^# [0-9]+ walks' "$work/node.tap" | head -n 1
if [ "$ran" -ne "$tests" ]; then
    echo "# node --test ran $ran tests, $tests expected (status $node_status); its last lines:"
    tail -n 30 "$work/node.tap" | sed 's/^/#   /'
    while [ "$ran" -lt "$tests" ]; do ran=$((ran + 1)); ok missing ran "node test $ran ran"; done
fi
ok "$node_status" 0 "node --test exits 0 (in $elapsed s)"

# pg_dump keeps the API role's grant on the log, and (PostgreSQL 15) not the
# log's policy nor its ENABLE ROW LEVEL SECURITY (an extension's table): in a
# restored database the server must refuse to start until schema.sql runs
# again, and then the role reads nothing without a token.
as_api() { PGUSER=$role PGPASSWORD=$password psql -X -q -At -v ON_ERROR_STOP=1 -d "$restored" -c "$1" 2>&1; }
createdb "$restored" && pg_dump -d "$db" | psql -X -q -d "$restored" >"$work/restore.log" 2>&1
rls_kept=$(psql -X -At -d "$restored" -c "SELECT relrowsecurity FROM pg_class WHERE oid = 'activity.activities'::regclass")
echo "# restored, before schema.sql runs again: row-level security on the log: $rls_kept; rows the API role reads without a token: $(as_api "SELECT count(*) FROM activity.activities")"
if [ "$rls_kept" = f ]; then
    refused=$(cd "$ex" && PGDATABASE=$restored PGUSER=$role PGPASSWORD=$password PORT=0 timeout 20 node server.js 2>&1 | grep -c 'row-level security does not apply')
    ok "$refused" 1 "in a restored database without the log's row-level security, the server refuses to start"
else
    ok "$(as_api "SELECT count(*) FROM activity.activities")" 0 "in a restored database the log's row-level security holds"
fi
psql -X -q -v ON_ERROR_STOP=1 -d "$restored" -v api_role="$role" -f "$ex/schema.sql" >/dev/null 2>"$work/schema-again.log"
ok "$? $(as_api "SELECT row_security_active('activity.activities'), count(*) FROM activity.activities")" "0 t|0" \
   "schema.sql runs again after the restore: the API role is under row-level security and reads nothing without a token"

total=$(( $(date +%s) - start ))
echo "# $total s in all"
if [ "$n" -ne "$plan" ]; then echo "# planned $plan tests, ran $n"; exit 1; fi
[ "$failed" -eq 0 ]
