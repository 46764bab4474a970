#!/usr/bin/env bash
# Developer check: sqlsmith (random SQL from the catalog, the extension's
# functions, types and operators included) against a throwaway server with the
# extension, a registry and a few thousand events. Reports the queries that
# crashed the server or raised an internal error (XX000, XX001, XX002) in the
# extension's code (the server log's LOCATION names one of src/*.c); any other
# error is sqlsmith's random SQL being refused, which is fine. Internal errors
# PostgreSQL itself raises on such SQL (e.g. "invalid INTERVAL typmod" when
# interval() is called with a random typmod) are counted apart.
#
#   bash tools/sqlsmith.sh                 # 20,000 queries, seed 1
#   QUERIES=200000 SEED=7 bash tools/sqlsmith.sh
#
# Needs root (installs sqlsmith with apt-get if missing; runs the server as
# postgres) and the extension installed. Ends with a summary line; exits
# non-zero on a crash or an internal error. Last result: tools/README.md.
set -uo pipefail
cd "$(dirname "$0")/.."
QUERIES=${QUERIES:-20000}
SEED=${SEED:-1}
bin=/usr/lib/postgresql/${PGVER:-15}/bin
port=${PORT:-5496}
command -v sqlsmith >/dev/null || { apt-get update -qq && apt-get install -y -qq sqlsmith >/dev/null; } || {
    echo "sqlsmith is not installed and could not be installed" >&2; exit 2; }
dir=$(mktemp -d /tmp/activity-sqlsmith.XXXXXX)
chown postgres "$dir"
cleanup() { su postgres -c "$bin/pg_ctl -D $dir/data -m immediate stop" >/dev/null 2>&1; }
trap cleanup EXIT
su postgres -c "$bin/initdb -A trust -D $dir/data >/dev/null"
# every error logged with its SQLSTATE first, the statement after it
su postgres -c "$bin/pg_ctl -D $dir/data -l $dir/server.log -w -o \"-p $port -k $dir \
    -c log_line_prefix='%e ' -c log_error_verbosity=verbose -c log_min_error_statement=error \
    -c statement_timeout=5s\" start" >/dev/null
export PGHOST=$dir PGPORT=$port PGUSER=postgres
createdb smith
psql -X -q -v ON_ERROR_STOP=1 -d smith <<'SQL'
CREATE EXTENSION activity;
SELECT activity.register_type(t, recipient => 'optional') FROM unnest('{post.created,award.given,site.auth.login}'::text[]) t;
SELECT activity.register_schema('post.created', '{"type": "object", "properties": {"title": {"type": "string", "maxLength": 80}}}');
SELECT count(*) FROM activity.create_partitions(now() - interval '3 months', now() + interval '2 months');
INSERT INTO activity.activities (workspace_id, type, initiator_id, recipient_id, subject_type, subject_id, metadata, occurred_at)
SELECT 'ws' || (g % 7), (ARRAY['post.created', 'award.given', 'site.auth.login'])[1 + g % 3], 'u' || (g % 50),
       CASE WHEN g % 3 = 1 THEN 'r' || (g % 9) END, 'post', 'p' || (g % 30),
       CASE WHEN g % 3 = 0 THEN jsonb_build_object('title', 'post ' || g) ELSE '{}' END,
       now() - (g % 90) * interval '1 day' - g * interval '1 second'
FROM generate_series(1, 3000) g;
SQL
start=$(date +%s)
sqlsmith --target="host=$dir port=$port user=postgres dbname=smith" --seed="$SEED" --max-queries="$QUERIES" \
    --exclude-catalog > "$dir/sqlsmith.out" 2>&1
rc=$?
crashes=$(grep -c "terminated by signal" "$dir/server.log")
# an internal error's LOCATION line: in the extension's code, or PostgreSQL's
ours=$(cd src && ls *.c | paste -sd'|')
internal=$(grep -E '^XX00[012] LOCATION: ' "$dir/server.log" | grep -cE ", ($ours):[0-9]+$")
core=$(grep -E '^XX00[012] LOCATION: ' "$dir/server.log" | grep -cvE ", ($ours):[0-9]+$")
echo "sqlsmith: exit $rc after $(( $(date +%s) - start ))s; last lines:"
tail -n 5 "$dir/sqlsmith.out"
if [ "$crashes" -gt 0 ] || [ "$internal" -gt 0 ]; then
    echo "== crashes and internal errors (server log):"
    grep -E -B1 -A3 "terminated by signal|^XX00[012] LOCATION: .*, ($ours):" "$dir/server.log" | head -100
fi
echo "PostgreSQL's own internal errors on sqlsmith's SQL: $core"
grep -E '^XX00[012] ERROR: ' "$dir/server.log" | sort | uniq -c | sed 's/^/  /'
echo "sqlsmith: $QUERIES queries, seed $SEED: $crashes crashes, $internal internal errors in the extension (logs in $dir)"
trap - EXIT
cleanup
[ "$crashes" -eq 0 ] && [ "$internal" -eq 0 ]
