#!/usr/bin/env bash
# Benchmark of seed 002's HTTP API (examples/workspace-api): the latency of a
# page served over HTTP (Fastify, node-postgres, keep-alive, one client),
# against the very SQL it runs, run by pgbench as the same database role with
# the same token setting:
#
#   BEGIN READ ONLY;
#   SELECT api.authenticate(:token);                 -- the row-level security setting
#   [SELECT EXISTS (... api.issues ...);]            -- the issue endpoint
#   SELECT row_to_json(...) ... FROM activity.page(...) | workspace_activity(...);
#   COMMIT;
#
# (the statements are taken from examples/workspace-api/app.js, not copied).
# Pages of 50 rows: the workspace's first page, a page by cursor DEPTH rows
# deep, the same page by offset, an issue's first page; then the requests per
# second of CONCURRENCY clients on the deep cursor page. p50 and p95 of each,
# the median of ROUNDS rounds in alternating order, and HTTP / SQL. See
# bench/README.md.
#
#   bash bench/api.sh                                       # full run (~3 minutes on 2 cores)
#   ROWS=20000 OTHER_ROWS=20000 DEPTH=2000 REQUESTS=300 ROUNDS=1 LOAD_MAX=99 bash bench/api.sh   # a try
#   KEEP=1 RESULTS_FILE=/tmp/api.md bash bench/api.sh       # keep the database, save the table
#
# Environment (defaults in brackets):
#   PGDATABASE [activity_api_bench]  the scratch database (dropped first if this
#                                script created it, refused otherwise)
#   MAINT_DB [postgres]          database to connect to for CREATE/DROP DATABASE and roles
#   ROWS [200000]                events in the measured workspace (ws-00), over MONTHS months
#   OTHER_ROWS [200000]          events in the 9 other workspaces (row-level security hides them)
#   MONTHS [12]                  months of history (monthly partitions)
#   ISSUES [ROWS / 1000, at most 200]  issues of ws-00; about 80% of its events are about one
#   DEPTH [10000]                rows before the deep page (a multiple of 200)
#   REQUESTS [500]               measured requests (or transactions) per case and round
#   WARMUP [100]                 requests (transactions) before those, not measured
#   ROUNDS [3]                   rounds; HTTP first in odd rounds, SQL first in even ones
#   CONCURRENCY [8]              clients of the throughput case (and pgbench -c)
#   POOL_MAX [10]                the server's PG_POOL_MAX
#   LOAD_MAX [0.7], LOAD_WAIT [900]  wait until the 1-minute load average is below
#                                LOAD_MAX (polling every 15 s, at most LOAD_WAIT s; then run anyway, and say so)
#   KEEP [0]                     1: keep the database and the role
#   RESULTS_FILE []              also write the final table to this file
#   PGBENCH [$(pg_config --bindir)/pgbench]
# libpq variables (PGHOST, PGPORT, PGUSER, ...) are honoured; the role must be
# a superuser (it creates the extension and the API's role). Needs Node.js >= 20
# and npm (the example's dependencies are installed with npm ci if missing).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
EX=$(cd "$HERE/../examples/workspace-api" && pwd)
export PGDATESTYLE=ISO PGTZ=UTC
export PGDATABASE=${PGDATABASE:-activity_api_bench}
MAINT_DB=${MAINT_DB:-postgres}
ROWS=${ROWS:-200000}
OTHER_ROWS=${OTHER_ROWS:-200000}
MONTHS=${MONTHS:-12}
ISSUES=${ISSUES:-$(( ROWS / 1000 < 1 ? 1 : (ROWS / 1000 > 200 ? 200 : ROWS / 1000) ))}
DEPTH=${DEPTH:-10000}
REQUESTS=${REQUESTS:-500}
WARMUP=${WARMUP:-100}
ROUNDS=${ROUNDS:-3}
CONCURRENCY=${CONCURRENCY:-8}
POOL_MAX=${POOL_MAX:-10}
LOAD_MAX=${LOAD_MAX:-0.7}
LOAD_WAIT=${LOAD_WAIT:-900}
KEEP=${KEEP:-0}
RESULTS_FILE=${RESULTS_FILE:-}
PGBENCH=${PGBENCH:-$(pg_config --bindir 2>/dev/null)/pgbench}
[ -x "$PGBENCH" ] || PGBENCH=$(command -v pgbench)
MARKER='scratch database of activity bench/api.sh'
ROLE=${PGDATABASE}_role
[ $((DEPTH % 200)) = 0 ] && [ "$DEPTH" -gt 0 ] || { echo "DEPTH must be a positive multiple of 200" >&2; exit 1; }
[ "$DEPTH" -lt "$ROWS" ] || { echo "DEPTH must be below ROWS" >&2; exit 1; }

LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/activity-api.XXXXXX")
START=$(date +%s)
SERVER_PID=

. "$HERE/lib.sh"   # log, q, qm, calc, fresh_database, machine_description, server_description
# percentile P of the numbers on stdin (nearest rank)
percentile() { sort -g | awk -v p="$1" '{ v[NR] = $1 } END { i = int(p / 100 * NR + 0.999999); if (i < 1) i = 1; print v[i] }'; }

command -v node >/dev/null && command -v npm >/dev/null || { echo "needs Node.js (>= 20) and npm" >&2; exit 1; }
versions() {
    node -e '
      const [dir, from] = process.argv.slice(1);
      const v = (name) => { try {
        return from === "lock" ? require(`${dir}/package-lock.json`).packages[`node_modules/${name}`].version
                               : require(`${dir}/node_modules/${name}/package.json`).version;
      } catch { return "none"; } };
      console.log(`fastify ${v("fastify")}, pg ${v("pg")}`);' "$EX" "${1:-installed}"
}
if [ "$(versions)" != "$(versions lock)" ]; then
    log "npm ci in $EX"
    npm ci --prefix "$EX" --no-audit --no-fund --silent
fi

# --- the scratch database, the API's role ------------------------------------------
stop_server() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=; fi
    return 0
}
cleanup_more() {
    qm -c "DROP ROLE IF EXISTS \"$ROLE\"" >/dev/null 2>&1 || true
}
fresh_database "kept database $PGDATABASE and role $ROLE (KEEP=1); logs in $LOGDIR" \
               "dropped database $PGDATABASE and role $ROLE; logs in $LOGDIR"
# the server stops on every exit, KEEP=1 or not; then lib.sh's cleanup, with
# the exit status
trap 'rc=$?; stop_server; (exit $rc); cleanup' EXIT
trap 'exit 130' INT TERM
qm -c "DROP ROLE IF EXISTS \"$ROLE\"" >/dev/null
PASSWORD=$(node -e 'console.log(require("crypto").randomBytes(18).toString("hex"))')
TOKEN=$(node -e 'console.log(require("crypto").randomBytes(32).toString("base64url"))')

log "schema: the extension, $MONTHS months of partitions, the catalogue, schema.sql (role $ROLE)"
q -v months="$MONTHS" -c "CREATE EXTENSION activity" >/dev/null
for _ in 1 2 3; do
    q -c "SELECT count(*) FROM activity.create_partitions(now() - make_interval(months => $MONTHS), now() + interval '3 months')" >/dev/null
done
q -f "$EX/../catalogue.sql" >/dev/null
q -v api_role="$ROLE" -f "$EX/schema.sql" >/dev/null
q -v role="$ROLE" -v pw="$PASSWORD" <<'SQL'
ALTER ROLE :"role" PASSWORD :'pw';
SQL

log "data: $ROWS events in ws-00 ($ISSUES issues), $OTHER_ROWS in ws-01..ws-09"
t0=$(now_ns)
q -v rows="$ROWS" -v other_rows="$OTHER_ROWS" -v months="$MONTHS" -v issues="$ISSUES" -v token="$TOKEN" <<'SQL'
SELECT activity.register_type('workspace.member_added', 'A member was added to the workspace.',
                              recipient => 'forbidden', actor_types => '{user,agent,system}') IS NOT NULL AS ok \gset
INSERT INTO api.workspaces (id, name) SELECT 'ws-' || lpad(g::text, 2, '0'), 'Workspace ' || g FROM generate_series(0, 9) g;
INSERT INTO api.issues (id, workspace_id, identifier, title)
SELECT 'ws-' || lpad(w::text, 2, '0') || '-issue-' || g, 'ws-' || lpad(w::text, 2, '0'), 'ENG-' || g, 'Issue ' || g
FROM generate_series(0, 9) w, generate_series(1, :issues) g;
INSERT INTO api.tokens (token_sha256, workspace_id, description) VALUES (sha256(convert_to(:'token', 'UTF8')), 'ws-00', 'bench');
-- every 5th event is about no issue (a member added, by the system half the
-- time); the others are issue.created / issue.updated by users and agents
-- (1 in 4), each about one of the workspace's issues; newest last
INSERT INTO activity.activities (workspace_id, type, actor_type, initiator_id, subject_type, subject_id, metadata, occurred_at)
SELECT ws,
       CASE WHEN g % 5 = 4 THEN 'workspace.member_added' WHEN g % 3 = 0 THEN 'issue.created' ELSE 'issue.updated' END,
       CASE WHEN g % 5 = 4 AND g % 2 = 0 THEN 'system' WHEN g % 4 = 1 THEN 'agent' ELSE 'user' END,
       CASE WHEN g % 5 = 4 AND g % 2 = 0 THEN NULL ELSE 'member-' || (g % 97) END,
       CASE WHEN g % 5 = 4 THEN NULL ELSE 'issue' END,
       CASE WHEN g % 5 = 4 THEN NULL ELSE ws || '-issue-' || (1 + g % :issues) END,
       CASE WHEN g % 5 = 4 THEN jsonb_build_object('member', 'member-' || g)
            WHEN g % 3 = 0 THEN jsonb_build_object('title', 'Issue number ' || g, 'identifier', 'ENG-' || g)
            ELSE jsonb_build_object('changes', jsonb_build_object('status', 'in_progress', 'assignee_id', 'member-' || (g % 13))) END,
       now() - make_interval(months => :months) + (g::float8 / n) * (now() - (now() - make_interval(months => :months)))
FROM (SELECT 'ws-00' AS ws, g, :rows AS n FROM generate_series(1, :rows) g
      UNION ALL
      SELECT 'ws-' || lpad((1 + g % 9)::text, 2, '0'), g, :other_rows FROM generate_series(1, :other_rows) g) s;
VACUUM (ANALYZE) activity.activities;
VACUUM (ANALYZE) api.issues;
SQL
log "loaded in $(calc "($(now_ns) - $t0) / 1e9" 1) s"
read -r N_PARTS USER_AGENT_ROWS ISSUE_ROWS < <(q -F ' ' -c "
    SELECT (SELECT count(*) FROM activity.partitions()),
           (SELECT count(*) FROM activity.activities WHERE workspace_id = 'ws-00' AND actor_type IN ('user', 'agent')),
           (SELECT count(*) FROM activity.activities WHERE workspace_id = 'ws-00' AND subject_type = 'issue' AND subject_id = 'ws-00-issue-1')")

# the cursor DEPTH rows deep, by paging with page() itself, 200 rows a call
CURSOR=$(q -v depth="$DEPTH" <<'SQL'
WITH RECURSIVE w(n, c) AS (
    SELECT 0, NULL::activity.cursor
    UNION ALL
    SELECT w.n + 200, p.cursor
    FROM w, LATERAL (SELECT cursor FROM activity.page('ws-00', after => w.c, "limit" => 200, actor_types => '{user,agent}')
                     OFFSET 199 LIMIT 1) p
    WHERE w.n < :depth)
SELECT c FROM w WHERE n = :depth;
SQL
)
[ "$ISSUE_ROWS" -gt 50 ] || { echo "issue ws-00-issue-1 has $ISSUE_ROWS events, not a page of 50: fewer ISSUES" >&2; exit 1; }
[ ${#CURSOR} = 51 ] || { echo "no cursor at depth $DEPTH: '$CURSOR'" >&2; exit 1; }

# --- the server ------------------------------------------------------------------------
log "server: examples/workspace-api as $ROLE (PG_POOL_MAX=$POOL_MAX)"
(cd "$EX" && exec env PGUSER="$ROLE" PGPASSWORD="$PASSWORD" PORT=0 HOST=127.0.0.1 LOG_LEVEL=info PG_POOL_MAX="$POOL_MAX" \
     node server.js >"$LOGDIR/server.log" 2>&1) &
SERVER_PID=$!
for _ in $(seq 100); do grep -q '"msg":"listening"' "$LOGDIR/server.log" 2>/dev/null && break; sleep 0.1; done
PORT=$(grep '"msg":"listening"' "$LOGDIR/server.log" | head -n 1 | sed -E 's/.*"port":([0-9]+).*/\1/')
[ -n "$PORT" ] || { cat "$LOGDIR/server.log" >&2; echo "the server did not start" >&2; exit 1; }
BASE="http://127.0.0.1:$PORT/api/v1/workspaces/ws-00"

# the cases: name, URL, the SQL's statement names in app.js and their parameters
# (words for eval: a SQL literal is quoted twice)
declare -A URL SQLNAME SQLARGS LABEL
CASES=(first deep_cursor deep_offset issue_first)
LABEL[first]="workspace, first page (page())"
URL[first]="$BASE/activity?limit=50"
SQLNAME[first]=page;            SQLARGS[first]=":ws NULL 50 NULL NULL \"'{user,agent}'\""
LABEL[deep_cursor]="workspace, $DEPTH rows deep by cursor (page())"
URL[deep_cursor]="$BASE/activity?limit=50&cursor=$CURSOR"
SQLNAME[deep_cursor]=page;      SQLARGS[deep_cursor]=":ws :cursor 50 NULL NULL \"'{user,agent}'\""
LABEL[deep_offset]="workspace, offset $DEPTH (workspace_activity())"
URL[deep_offset]="$BASE/activity?limit=50&offset=$DEPTH"
SQLNAME[deep_offset]=workspaceOffset; SQLARGS[deep_offset]=":ws 50 $DEPTH NULL"
LABEL[issue_first]="issue, first page (page(subject))"
URL[issue_first]="$BASE/issues/ws-00-issue-1/activity?limit=50"
SQLNAME[issue_first]=page;      SQLARGS[issue_first]=":ws NULL 50 \"'issue'\" :issue \"'{user,agent}'\""

# app.js's statement with its $n replaced by pgbench variables or literals
statement() {  # NAME ARGS...
    node -e '
      const { SQL } = require(process.argv[1]);
      const [name, ...args] = process.argv.slice(2);
      let text = SQL[name].text;
      for (let i = args.length; i >= 1; i--) text = text.split("$" + i).join(args[i - 1]);
      console.log(text.replace(/\s+/g, " ").trim() + ";");' "$EX/app.js" "$@"
}
for c in "${CASES[@]}"; do
    {
        echo "BEGIN READ ONLY;"
        statement authenticate :token
        [ "$c" = issue_first ] && statement issueExists :ws :issue
        # shellcheck disable=SC2086
        eval "statement ${SQLNAME[$c]} ${SQLARGS[$c]}"
        echo "COMMIT;"
    } >"$LOGDIR/$c.sql"
done

# the same rows both ways: the cursor page and the offset page, HTTP and SQL
http_ids() { node -e '
  require("http").get(process.argv[1], { headers: { authorization: "Bearer " + process.argv[2] } }, (res) => {
    let b = ""; res.on("data", (c) => b += c); res.on("end", () => console.log(JSON.parse(b).data.map((e) => e.id).join(" ")));
  });' "$1" "$TOKEN"; }
SAME=yes
[ "$(http_ids "${URL[deep_cursor]}")" = "$(http_ids "${URL[deep_offset]}")" ] || SAME="**no: cursor and offset pages differ**"
sql_ids=$(q -c "SELECT string_agg(id::text, ' ' ORDER BY occurred_at DESC, id DESC) FROM (
                  SELECT id, occurred_at FROM activity.activities WHERE workspace_id = 'ws-00' AND actor_type IN ('user', 'agent')
                  ORDER BY occurred_at DESC, id DESC LIMIT 50 OFFSET $DEPTH) x")
[ "$(http_ids "${URL[deep_offset]}")" = "$sql_ids" ] || SAME="**no: the HTTP page is not the log's rows $DEPTH deep**"
log "the deep page by cursor, by offset and by plain SQL: the same rows? $SAME"

pgbench_run() {  # CASE CLIENTS TRANSACTIONS LOGPREFIX: pgbench as the API's role
    PGUSER=$ROLE PGPASSWORD=$PASSWORD "$PGBENCH" -n -M prepared -c "$2" -j "$(( $2 < 2 ? 1 : 2 ))" -t "$3" -r \
        -D ws=ws-00 -D issue=ws-00-issue-1 -D token="$TOKEN" -D cursor="$CURSOR" \
        -f "$LOGDIR/$1.sql" ${4:+-l --log-prefix="$4"} 2>&1
}

# --- the quiet machine -------------------------------------------------------------------
waited=0
load=$(cut -d' ' -f1 /proc/loadavg)
while awk -v l="$load" -v m="$LOAD_MAX" 'BEGIN { exit !(l >= m) }' && [ "$waited" -lt "$LOAD_WAIT" ]; do
    [ $((waited % 60)) = 0 ] && log "load average $load (>= $LOAD_MAX): waiting"
    sleep 15; waited=$((waited + 15)); load=$(cut -d' ' -f1 /proc/loadavg)
done
if awk -v l="$load" -v m="$LOAD_MAX" 'BEGIN { exit !(l >= m) }'; then
    LOAD_NOTE="**$load: not below $LOAD_MAX after ${waited}s, run anyway**"
else
    LOAD_NOTE="$load (after ${waited}s of waiting)"
fi
log "load average $load: measuring"

# --- the measurements ------------------------------------------------------------------------
declare -A HP50 HP95 SP50 SP95 SQ BYTES
measure_http() {  # CASE ROUND
    local out
    out=$(node "$HERE/api_client.js" --url "${URL[$1]}" --token "$TOKEN" --requests "$REQUESTS" --warmup "$WARMUP" --expect-rows 50) \
        || { echo "HTTP $1 failed: $out" >&2; exit 1; }
    echo "$out" >"$LOGDIR/http.$1.$2.json"
    HP50[$1]+=" $(node -p "JSON.parse(process.argv[1]).p50_ms" "$out")"
    HP95[$1]+=" $(node -p "JSON.parse(process.argv[1]).p95_ms" "$out")"
    BYTES[$1]=$(node -p "JSON.parse(process.argv[1]).bytes" "$out")
}
measure_sql() {  # CASE ROUND
    local out prefix="$LOGDIR/pgb.$1.$2" lat
    out=$(pgbench_run "$1" 1 $((WARMUP + REQUESTS)) "$prefix") || { echo "$out" >&2; echo "pgbench $1 failed" >&2; exit 1; }
    echo "$out" >"$prefix.out"
    grep -q aborted <<<"$out" && { echo "$out" >&2; exit 1; }
    # per-transaction latencies (µs, 3rd column), the warm-up's left out
    lat=$(awk -v w="$WARMUP" '$2 >= w { print $3 / 1000 }' "$prefix".[0-9]*)
    SP50[$1]+=" $(percentile 50 <<<"$lat")"
    SP95[$1]+=" $(percentile 95 <<<"$lat")"
    # pgbench -r: the mean latency of the data statement alone (the one that calls activity.*)
    SQ[$1]+=" $(awk '/statement latencies/ { s = 1; next } s && /activity\.(page|workspace_activity|issue_activity)/ { print $1; exit }' <<<"$out")"
}
for r in $(seq "$ROUNDS"); do
    log "round $r of $ROUNDS"
    for c in "${CASES[@]}"; do
        if [ $((r % 2)) = 1 ]; then measure_http "$c" "$r"; measure_sql "$c" "$r"; else measure_sql "$c" "$r"; measure_http "$c" "$r"; fi
    done
done

log "throughput: $CONCURRENCY clients on the deep cursor page"
TP_HTTP=$(node "$HERE/api_client.js" --url "${URL[deep_cursor]}" --token "$TOKEN" --requests $((REQUESTS * 4)) --warmup "$WARMUP" \
               --concurrency "$CONCURRENCY" --expect-rows 50)
TP_HTTP_RPS=$(node -p "JSON.parse(process.argv[1]).rps" "$TP_HTTP")
TP_HTTP_P95=$(node -p "JSON.parse(process.argv[1]).p95_ms" "$TP_HTTP")
out=$(pgbench_run deep_cursor "$CONCURRENCY" $((REQUESTS * 4 / CONCURRENCY)) "")
echo "$out" >"$LOGDIR/pgb.throughput.out"
TP_SQL_TPS=$(awk '/^tps = /{ print $3; exit }' <<<"$out")
TP_SQL_LAT=$(awk '/^latency average = /{ print $4; exit }' <<<"$out")

stop_server
SERVER_STOP=$(tail -n 1 "$LOGDIR/server.log" | grep -c '"msg":"stopped"' || true)

# --- the results -------------------------------------------------------------------------------
{
    echo "## activity workspace API benchmark — $(date -u '+%Y-%m-%d %H:%M') UTC"
    echo
    echo "- machine: $(machine_description)"
    echo "- server: $(server_description shared_buffers jit work_mem)"
    echo "- the API: examples/workspace-api, Node.js $(node --version), $(versions); PG_POOL_MAX=$POOL_MAX; commit $(git -C "$HERE/.." rev-parse --short HEAD 2>/dev/null || echo '?')"
    echo "- data: ws-00 holds $ROWS events over $MONTHS months ($USER_AGENT_ROWS by users and agents, the rest by the system), issue ws-00-issue-1 $ISSUE_ROWS; $OTHER_ROWS events in 9 other workspaces; $N_PARTS partitions; row-level security on the log (schema.sql's policy)"
    echo "- each case: $REQUESTS requests (transactions) after $WARMUP of warm-up, one client, keep-alive (HTTP) or one connection (pgbench -M prepared, as $ROLE, the same statements as the server); median of $ROUNDS rounds; load average at the start $LOAD_NOTE"
    echo "- the deep page by cursor, by offset and by plain SQL: the same rows? $SAME"
    echo
    echo "| page of 50 | HTTP p50 ms | HTTP p95 ms | SQL p50 ms | SQL p95 ms | of which the page query, mean ms | HTTP / SQL p50 | HTTP / SQL p95 | response bytes |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    for c in "${CASES[@]}"; do
        hp50=$(median <<<"${HP50[$c]}"); hp95=$(median <<<"${HP95[$c]}")
        sp50=$(median <<<"${SP50[$c]}"); sp95=$(median <<<"${SP95[$c]}"); sq=$(median <<<"${SQ[$c]}")
        echo "| ${LABEL[$c]} | $(calc "$hp50" 3) | $(calc "$hp95" 3) | $(calc "$sp50" 3) | $(calc "$sp95" 3) | $(calc "$sq" 3) | $(calc "$hp50 / $sp50") | $(calc "$hp95 / $sp95") | ${BYTES[$c]} |"
    done
    echo
    echo "| $CONCURRENCY clients, the deep cursor page | HTTP | SQL (pgbench -c $CONCURRENCY -j 2) | HTTP / SQL |"
    echo "|---|---:|---:|---:|"
    echo "| pages per second | $(calc "$TP_HTTP_RPS" 0) | $(calc "$TP_SQL_TPS" 0) | $(calc "$TP_HTTP_RPS / $TP_SQL_TPS") |"
    echo "| latency, ms | p95 $TP_HTTP_P95 | mean $TP_SQL_LAT | |"
    echo
    echo "Rounds (p50 ms, HTTP / SQL): $(for c in "${CASES[@]}"; do printf '%s:%s /%s; ' "$c" "${HP50[$c]}" "${SP50[$c]}"; done)"
    echo "The server stopped cleanly on SIGTERM: $([ "$SERVER_STOP" = 1 ] && echo yes || echo '**no**')."
} >"$LOGDIR/results.md"
cat "$LOGDIR/results.md"
[ -n "$RESULTS_FILE" ] && cp "$LOGDIR/results.md" "$RESULTS_FILE"
log "done"
