#!/usr/bin/env bash
# The main job: installs what it needs, builds and installs the extension,
# starts a throwaway cluster, loads the bundled catalogue and sample events
# and prints a paged feed.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
bash scripts/build.sh
exec pg_virtualenv -v "$PGVER" psql -X -f examples/demo.sql
