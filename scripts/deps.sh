#!/usr/bin/env bash
# Install what building and testing the extension needs, on Debian/Ubuntu.
# Sourced by scripts/demo.sh and scripts/test.sh. Does nothing when every
# package is already installed.
PGVER=${PGVER:-15}
# (python3-psycopg: psycopg 3 for test/drivers/python, run by /usr/bin/python3)
packages=(make gcc "postgresql-$PGVER" "postgresql-server-dev-$PGVER"
          "postgresql-$PGVER-pgtap" libtap-parser-sourcehandler-pgtap-perl postgresql-common python3
          python3-psycopg)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# the fuzz harness (tools/fuzz, test/shell/fuzz.sh) and the driver tests
# (test/drivers/node, test/shell/drivers.sh) run on Node.js: Debian's unless
# a node and npm are already on the PATH
extra=()
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    extra=(nodejs npm)
    missing+=("${extra[@]}")
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "== installing: ${missing[*]}"
    SUDO=
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    # the server and its headers come together so that they always match
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends \
        "${packages[@]}" "${extra[@]}"
fi
export PG_CONFIG=/usr/lib/postgresql/$PGVER/bin/pg_config
export PATH=/usr/lib/postgresql/$PGVER/bin:$PATH
