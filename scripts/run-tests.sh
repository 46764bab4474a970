#!/usr/bin/env bash
# Runs inside a cluster set up by scripts/test.sh (PGHOST, PGPORT, PGUSER set).
set -uo pipefail
cd "$(dirname "$0")/.."
passed=0
failed=0

echo "== pg_regress (test/sql, test/expected)"
rm -rf results regression.diffs regression.out
make -s PG_CONFIG="$PG_CONFIG" installcheck > /tmp/activity-regress.log 2>&1
regress_status=$?
cat /tmp/activity-regress.log
n_ok=$(grep -Ec '^(ok [0-9]+ +- |(test|     ) .* \.\.\. ok )' /tmp/activity-regress.log || true)
n_bad=$(grep -Ec '^(not ok [0-9]+ +- |(test|     ) .* \.\.\. FAILED )' /tmp/activity-regress.log || true)
if [ "$regress_status" -ne 0 ]; then
    [ -f regression.diffs ] && cat regression.diffs
    [ "$n_bad" -gt 0 ] || n_bad=1
fi
passed=$((passed + n_ok)); failed=$((failed + n_bad))

echo "== pgTAP (test/t)"
db=activity_tap
dropdb --if-exists "$db" >/dev/null 2>&1
createdb "$db"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" \
    -c 'CREATE EXTENSION pgtap; CREATE EXTENSION dblink; CREATE EXTENSION activity;'
pg_prove -d "$db" test/t/*.sql > /tmp/activity-prove.log 2>&1
prove_status=$?
cat /tmp/activity-prove.log
n_ok=$(grep -Ec '^test/t/.*\.sql \.+ ok' /tmp/activity-prove.log || true)
n_files=$(ls test/t/*.sql | wc -l)
passed=$((passed + n_ok)); failed=$((failed + n_files - n_ok))
if [ "$prove_status" -ne 0 ] && [ "$n_ok" -eq "$n_files" ]; then failed=$((failed + 1)); fi

echo "== shell TAP tests (test/shell)"
prove test/shell/*.sh > /tmp/activity-shell.log 2>&1
shell_status=$?
cat /tmp/activity-shell.log
n_ok=$(grep -Ec '^test/shell/.*\.sh \.+ ok' /tmp/activity-shell.log || true)
n_files=$(ls test/shell/*.sh | wc -l)
passed=$((passed + n_ok)); failed=$((failed + n_files - n_ok))
if [ "$shell_status" -ne 0 ] && [ "$n_ok" -eq "$n_files" ]; then failed=$((failed + 1)); fi

echo "== summary: test files of pg_regress, pgTAP and shell TAP"
echo "$passed passed, $failed failed"
[ -n "${ACTIVITY_SUMMARY_FILE:-}" ] && echo "$passed passed, $failed failed" > "$ACTIVITY_SUMMARY_FILE"
[ "$failed" -eq 0 ]
