#!/usr/bin/env bash
# TAP test: the fuzz harness (tools/fuzz), the short form: about a minute with
# a fixed seed, shared among its three fuzzers — random schemas and documents
# checked against Ajv (JSON Schema 2020-12) as the oracle, mutated cursors fed
# to ::activity.cursor and page(), random calls of every public function.
# Zero disagreements, zero internal errors (XX000), zero crashes, zero
# timeouts. The long form (>= 1M cases) is in tools/fuzz/README.md.
# Needs Node.js >= 18 and npm (Debian: apt-get install nodejs npm), a server
# reachable through the PG* environment variables, and a superuser.
# FUZZ_SEED and FUZZ_SECONDS override the seed (1) and the budget (60 s).
set -uo pipefail
cd "$(dirname "$0")/../.."
seed=${FUZZ_SEED:-1}
seconds=${FUZZ_SECONDS:-60}
n=0
ok() { n=$((n + 1)); if [ "$1" = "$2" ]; then echo "ok $n - $3"; else echo "not ok $n - $3"; echo "#   got: '$1'"; echo "#   expected: '$2'"; fi; }
echo "1..11"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "not ok 1 - node and npm are installed"
    echo "# the fuzz harness needs Node.js (>= 18) and npm: on Debian, apt-get install nodejs npm"
    for i in 2 3 4 5 6 7 8 9 10 11; do echo "not ok $i - # node and npm are missing"; done
    exit 1
fi
ok "$(node -e 'console.log(+process.versions.node.split(".")[0] >= 18)')" true "node (>= 18) and npm are installed"

# the pinned dependencies (tools/fuzz/package-lock.json)
status=0
if [ ! -d tools/fuzz/node_modules/ajv ] || [ ! -d tools/fuzz/node_modules/pg ]; then
    log=$(npm ci --prefix tools/fuzz --no-audit --no-fund --silent 2>&1) || status=$?
    [ "$status" -eq 0 ] || echo "$log" | sed 's/^/# /'
fi
ok "$status" 0 "the harness's dependencies are installed (npm ci --prefix tools/fuzz)"

out=$(node tools/fuzz/fuzz.js --seed "$seed" --seconds "$seconds" --db activity_fuzz_test --out "${TMPDIR:-/tmp}/activity-fuzz-out" 2>&1)
status=$?
echo "$out" | sed 's/^/# /'
final=$(grep -E '^fuzz: [0-9]+ cases' <<< "$out" | tail -n 1)
count() { grep -oE "[0-9]+ $1" <<< "$final" | cut -d' ' -f1; }
ok "$status" 0 "the fuzzer ran to the end and found nothing (seed $seed, $seconds s)"
for f in schemas cursors calls; do
    c=$(grep -E "^$f: [0-9]+ cases" <<< "$out" | grep -oE '^[a-z]+: [0-9]+' | cut -d' ' -f2)
    ok "$([ "${c:-0}" -gt 0 ] && echo yes || echo "no: ${c:-no} cases")" yes "the $f fuzzer ran cases"
done
ok "$(count disagreements)" 0 "no disagreement (Ajv's verdicts, validation_errors(), cursors and pages against plain SQL)"
ok "$(count 'internal errors')" 0 "no internal error (XX000-XX002)"
ok "$(count crashes)" 0 "no crash (every session alive, pg_postmaster_start_time unchanged)"
ok "$(count timeouts)" 0 "no call that outlived statement_timeout (57014) unexplained"
ok "$(count 'unexpected errors')" 0 "no unexpected SQLSTATE (cursors: only 22P02, 22P03, 22023)"
