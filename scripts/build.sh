#!/usr/bin/env bash
# Build and install the extension into the PostgreSQL found by PG_CONFIG.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
make -s PG_CONFIG="$PG_CONFIG" clean
make -s PG_CONFIG="$PG_CONFIG"
$SUDO make -s PG_CONFIG="$PG_CONFIG" install
