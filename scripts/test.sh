#!/usr/bin/env bash
# The whole test suite: installs what it needs, builds and installs the
# extension, starts a throwaway cluster (Debian's pg_virtualenv) and runs the
# pg_regress and pgTAP suites in it. Ends with "N passed, N failed"; exits
# non-zero when anything failed.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
bash scripts/build.sh
# pg_virtualenv runs the clusters as "postgres"; the build tree must be readable
exec pg_virtualenv -v "$PGVER" bash scripts/run-tests.sh
