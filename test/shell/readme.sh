#!/usr/bin/env bash
# TAP test: every ```sql block of README.md runs, in order, in a fresh
# database; the only errors are the ones the README shows as "-- ERROR:".
set -uo pipefail
cd "$(dirname "$0")/../.."
db=activity_readme
dropdb --if-exists "$db" >/dev/null 2>&1
# the README creates roles "app" and "tenant_api"; roles are cluster-wide
psql -X -q -d postgres -c 'DROP ROLE IF EXISTS app' -c 'DROP ROLE IF EXISTS tenant_api' >/dev/null 2>&1
createdb "$db"
tmp=$(mktemp -d)
python3 - "$tmp" <<'PY'
import re, sys
text = open("README.md").read()
blocks = re.findall(r"```sql\n(.*?)```", text, re.S)
for i, b in enumerate(blocks):
    open(f"{sys.argv[1]}/{i:03d}.sql", "w").write(b)
PY
n=0
total=$(ls "$tmp"/*.sql | wc -l)
echo "1..$total"
for f in "$tmp"/*.sql; do
    n=$((n + 1))
    out=$(psql -X -q -d "$db" -v ON_ERROR_STOP=0 -f "$f" 2>&1 >/dev/null)
    got=$(echo "$out" | grep -E '^psql:.*ERROR:' | sed -E 's/^psql:[^:]*:[0-9]+: //' || true)
    want=$(grep -E '^-- ERROR:' "$f" | sed -E 's/^-- //' || true)
    first=$(grep -vE '^\s*(--|$)' "$f" | head -1 | cut -c1-60)
    if [ "$got" = "$want" ]; then
        echo "ok $n - README block $n runs: $first"
    else
        echo "not ok $n - README block $n runs: $first"
        echo "$out" | sed 's/^/#   /'
    fi
done
rm -rf "$tmp"
dropdb "$db"
psql -X -q -d postgres -c 'DROP ROLE IF EXISTS app' -c 'DROP ROLE IF EXISTS tenant_api' >/dev/null 2>&1
