#!/usr/bin/env bash
# The whole test suite: installs what it needs, builds and installs the
# extension, starts a throwaway cluster (Debian's pg_virtualenv) and runs the
# pg_regress and pgTAP suites in it. Ends with "N passed, N failed"; exits
# non-zero when anything failed.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
bash scripts/build.sh
summary=$(mktemp)
status=0
ACTIVITY_SUMMARY_FILE=$summary pg_virtualenv -v "$PGVER" bash scripts/run-tests.sh || status=$?
# the summary comes last, after pg_virtualenv's own messages
if [ -s "$summary" ]; then cat "$summary"; else echo "0 passed, 1 failed"; status=1; fi
rm -f "$summary"
exit "$status"
