#!/usr/bin/env bash
# Developer check: run the pg_regress and pgTAP suites against a throwaway
# postgres started under valgrind memcheck, then list the errors reported in
# stack frames of activity.so. Slow (minutes). Needs the extension installed.
# REGRESS="a b" runs only those pg_regress tests; TAP=0 skips the pgTAP suite.
set -uo pipefail
cd "$(dirname "$0")/.."
bin=/usr/lib/postgresql/${PGVER:-15}/bin
dir=$(mktemp -d /tmp/activity-vg.XXXXXX)
chown postgres "$dir"
port=${PORT:-5499}
su postgres -c "$bin/initdb -A trust -D $dir/data >/dev/null"
su postgres -c "valgrind --quiet --trace-children=yes --track-origins=yes --read-var-info=no \
    --suppressions=$PWD/tools/valgrind.supp --log-file=$dir/vg.%p.log \
    $bin/postgres -D $dir/data -p $port -k $dir -c max_connections=20 -c autovacuum=off" &
for i in $(seq 1 300); do $bin/pg_isready -q -h "$dir" -p $port && break; sleep 1; done
export PGHOST=$dir PGPORT=$port PGUSER=postgres
make -s installcheck ${REGRESS:+REGRESS="$REGRESS"} || true
if [ "${TAP:-1}" != 0 ]; then
    createdb activity_tap
    psql -X -q -d activity_tap -c 'CREATE EXTENSION pgtap; CREATE EXTENSION dblink; CREATE EXTENSION activity;'
    pg_prove -d activity_tap test/t/*.sql || true
fi
su postgres -c "$bin/pg_ctl -D $dir/data -m fast stop" >/dev/null
echo "== valgrind reports involving activity.so:"
grep -l "activity.so" "$dir"/vg.*.log | while read -r f; do cat "$f"; done
echo "== files: $dir"
