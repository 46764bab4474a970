#!/usr/bin/env bash
# TAP test: every call is bounded, whatever a role passes. Each "bomb" that
# once exhausted the server (exponential validation, quadratic schema
# compilation, loops that ignored cancel, an unbounded regex cache) now ends
# with a clean error or a result, within its statement_timeout, and the
# backend's peak memory (VmHWM, read from /proc by the backend itself) grows
# by less than a stated bound. Also: a timeout or cancel in the middle of such
# work is reported as 57014 within a fraction of a second.
# Needs a server reachable through the PG* environment variables, a
# superuser (pg_read_file of /proc/self/status) and Linux.
set -uo pipefail
db=activity_bounds
n=0
ok() { n=$((n + 1)); if [ "$1" = "$2" ]; then echo "ok $n - $3"; else echo "not ok $n - $3"; echo "#   got: '$1'"; echo "#   expected: '$2'"; fi; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" -c "$1"; }
dropdb --if-exists "$db" >/dev/null 2>&1
createdb "$db"
trap 'dropdb --if-exists --force "$db" >/dev/null 2>&1' EXIT

# bomb TIMEOUT SQL: runs SQL (psql, one session) under statement_timeout
# TIMEOUT; sets STATE (the SQLSTATE of its error, or "ok"), MS (elapsed
# milliseconds), MB (growth of the backend's peak resident memory, MB) and
# OUT (its last output line).
bomb() {
    local out
    out=$(psql -X -q -At -d "$db" -v VERBOSITY=sqlstate 2>&1 <<SQL
SELECT substring(pg_read_file('/proc/self/status') from 'VmHWM:\s*(\d+)') AS hwm0 \gset
SET statement_timeout = '$1';
\timing on
$2
\timing off
RESET statement_timeout;
SELECT 'hwm ' || (substring(pg_read_file('/proc/self/status') from 'VmHWM:\s*(\d+)')::int - :hwm0) / 1024;
SQL
)
    STATE=$(grep -oE '^ERROR:  [0-9A-Z]{5}' <<< "$out" | head -n 1 | cut -c9-)
    STATE=${STATE:-ok}
    MS=$(grep -oE '^Time: [0-9]+' <<< "$out" | tail -n 1 | cut -c7-)
    MB=$(grep -oE '^hwm -?[0-9]+' <<< "$out" | cut -c5-)
    OUT=$(grep -vE '^(Time: |hwm |ERROR: |SET|RESET)' <<< "$out" | tail -n 1)
}
# within MS_MAX MB_MAX: MS and MB under bounds
within() { [ -n "$MS" ] && [ -n "$MB" ] && [ "$MS" -lt "$1" ] && [ "$MB" -lt "$2" ] && echo yes || echo "no: ${MS:-?} ms, ${MB:-?} MB"; }

echo "1..30"
q "CREATE EXTENSION activity" >/dev/null

# --- exponential validation: allOf applies a $ref twice per level, 40 levels ---
# (2^40 applications of the leaf to the same value)
q "CREATE TABLE bombs (name text PRIMARY KEY, schema jsonb)" >/dev/null
q "INSERT INTO bombs SELECT 'exp_' || leaf, jsonb_build_object('\$ref', '#/\$defs/d0', '\$defs',
       jsonb_object_agg('d' || i, CASE WHEN i < 40 THEN jsonb_build_object('allOf', jsonb_build_array(
           jsonb_build_object('\$ref', '#/\$defs/d' || (i + 1)), jsonb_build_object('\$ref', '#/\$defs/d' || (i + 1))))
           ELSE jsonb_build_object('type', leaf) END))
   FROM generate_series(0, 40) i, (VALUES ('number'), ('string'), ('object')) l(leaf) GROUP BY leaf" >/dev/null
ok "$(q "SELECT pg_column_size(schema) < 4000 FROM bombs WHERE name = 'exp_number'")" t "the exponential schema is under 4 kB"
bomb 10s "SELECT activity.is_valid('1', (SELECT schema FROM bombs WHERE name = 'exp_number')::activity.jsonschema);"
ok "$STATE" 54000 "is_valid() on it stops at activity.max_validation_steps with 54000"
ok "$(within 5000 64)" yes "... in less than 5 s, the backend's peak memory growing less than 64 MB"
bomb 10s "SELECT count(*) FROM activity.validation_errors('1', (SELECT schema FROM bombs WHERE name = 'exp_string')::activity.jsonschema);"
ok "$STATE $OUT" "ok 100" "validation_errors() of a value breaking the leaf: stops at activity.max_validation_errors (100 rows)"
ok "$(within 5000 64)" yes "... in less than 5 s, under 64 MB"
bomb 10s "SET activity.max_validation_errors = 5; SELECT count(*) FROM activity.validation_errors('1', (SELECT schema FROM bombs WHERE name = 'exp_string')::activity.jsonschema);"
ok "$STATE $OUT" "ok 5" "activity.max_validation_errors = 5: 5 rows"
# registered, it bounds every insert of its type
q "SELECT activity.register_type('bomb.exp'); SELECT activity.register_schema('bomb.exp', (SELECT schema FROM bombs WHERE name = 'exp_object')::activity.jsonschema)" >/dev/null
bomb 10s "SELECT activity.record('ws', 'bomb.exp', 'u', metadata => '{}');"
ok "$STATE" 54000 "record() of a type with that schema registered: refused with 54000, not stalled"
ok "$(q "SELECT count(*) FROM activity.activities")" 0 "... and nothing written"
# cancel in the middle: the step budget raised, statement_timeout stops it
bomb 500ms "SET activity.max_validation_steps = 2000000000; SELECT activity.is_valid('1', (SELECT schema FROM bombs WHERE name = 'exp_number')::activity.jsonschema);"
ok "$STATE" 57014 "with the budget raised, statement_timeout = 500ms stops validation with 57014"
ok "$(within 1500 64)" yes "... within a fraction of a second of the timeout"

# --- schema compilation ---
# long property names nested 400 deep (each name 2,000 bytes: 800 kB): the
# JSON pointer of each subschema is as long as the path to it
bomb 10s "SELECT pg_column_size(s::activity.jsonschema) > 0 FROM (SELECT (repeat('{\"properties\": {\"' || repeat('n', 2000) || '\": ', 400) || '{}' || repeat('}}', 400))::jsonb AS s) x;"
ok "$STATE $OUT" "ok t" "a schema of 400 nested properties with 2,000-byte names (800 kB) compiles"
ok "$(within 5000 64)" yes "... in less than 5 s, under 64 MB (each subschema kept its full path before: quadratic)"
# 1.5 MB of nested properties (75,000 levels): deeper than the server's stack
# allows, a clean 54001 (from parsing or from compiling), not gigabytes
bomb 10s "SELECT pg_column_size(s::activity.jsonschema) > 0 FROM (SELECT (repeat('{\"properties\": {\"a\": ', 75000) || '{}' || repeat('}}', 75000))::jsonb AS s) x;"
ok "$STATE" 54001 "1.5 MB of properties nested 75,000 deep: refused with 54001 (stack depth)"
ok "$(within 5000 64)" yes "... in less than 5 s, under 64 MB (it took 3.4 GB)"
# a "not" nest 4,000 deep
bomb 10s "SELECT pg_column_size(s::activity.jsonschema) > 0 FROM (SELECT (repeat('{\"not\": ', 4000) || '{}' || repeat('}', 4000))::jsonb AS s) x;"
ok "$STATE $OUT" "ok t" "a not nest 4,000 deep compiles"
ok "$(within 5000 48)" yes "... in less than 5 s, under 48 MB"
# 32,000 $refs
bomb 5s "SELECT activity.is_valid('1', s::activity.jsonschema) FROM (SELECT jsonb_build_object('\$defs', '{\"x\": {\"type\": \"number\"}}'::jsonb, 'allOf', jsonb_agg(jsonb_build_object('\$ref', '#/\$defs/x'))) AS s FROM generate_series(1, 32000)) x;"
ok "$STATE $OUT" "ok t" "a schema of 32,000 \$refs compiles and validates"
ok "$(within 3000 160)" yes "... in less than 3 s, under 160 MB (building the 1 MB jsonb of 32,000 objects takes 45 MB; each compiled subschema about 200 bytes)"
# "required" with 60,000 names
bomb 5s "SELECT activity.is_valid('{}', jsonb_build_object('required', jsonb_agg('p' || g))::activity.jsonschema) FROM generate_series(1, 60000) g;"
ok "$STATE $OUT" "ok f" "\"required\" with 60,000 names compiles and validates"
ok "$(within 3000 64)" yes "... in less than 3 s, under 64 MB"
bomb 5s "SELECT jsonb_build_object('required', jsonb_agg('p' || (g % 59999)))::activity.jsonschema FROM generate_series(1, 60000) g;"
ok "$STATE" 22P02 "... and with one name repeated among them, it is refused (22P02)"
# a $ref whose percent-decoding has a NUL byte names nothing
bomb 5s "SELECT '{\"\$defs\": {\"a\": {}}, \"\$ref\": \"#/\$defs/a%00b\"}'::activity.jsonschema;"
ok "$STATE" 22P02 "a \$ref containing %00 is refused (22P02), not bound to another schema"

# uniqueItems over 1,000,000 items: sorted, not compared pairwise
bomb 10s "SELECT activity.is_valid(jsonb_agg(g), '{\"uniqueItems\": true}') FROM generate_series(1, 1000000) g;"
ok "$STATE $OUT" "ok t" "uniqueItems over 1,000,000 distinct items answers"
ok "$(within 8000 400)" yes "... in less than 8 s, under 400 MB (the document itself is 10 MB, its items 40 MB)"

# --- feeds ---
bomb 5s "SELECT count(*) FROM activity.page('ws', types => (SELECT array_agg('t' || g) FROM generate_series(1, 100000) g));"
ok "$STATE $OUT" "ok 0" "page(types => 100,000 names) answers"
ok "$(within 3000 64)" yes "... in less than 3 s, under 64 MB"

# pg_terminate_backend acts within a fraction of a second in the middle of a
# long validation (the step budget raised)
psql -X -q -At -d "$db" -v VERBOSITY=sqlstate > /dev/null 2>&1 <<'SQL' &
SET activity.max_validation_steps = 2000000000;
SET application_name = 'bounds-victim';
SELECT activity.is_valid('1', (SELECT schema FROM bombs WHERE name = 'exp_number')::activity.jsonschema);
SQL
victim=$!
for _ in $(seq 100); do
    [ "$(q "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'bounds-victim' AND state = 'active'")" = 1 ] && break
    sleep 0.05
done
sleep 0.5
start=$(date +%s%N)
q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'bounds-victim'" >/dev/null
gone=
for _ in $(seq 200); do
    if [ "$(q "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'bounds-victim'")" = 0 ]; then gone=$(( ($(date +%s%N) - start) / 1000000 )); break; fi
    sleep 0.01
done
wait "$victim"
ok "$([ -n "$gone" ] && [ "$gone" -lt 1000 ] && echo yes || echo "no: ${gone:-not gone after 2 s} ms")" yes \
   "pg_terminate_backend ends a validation in progress within a second"


# --- regular expressions ---
bomb 5s "SELECT '{\"pattern\": \"(a+)\\\\1\"}'::activity.jsonschema;"
ok "$STATE" 22P02 "a pattern with a back-reference is refused (22P02)"
# a timeout while the regex compiler works (it stops with "too complex"
# after about 0.3 s of work on this pattern) is reported as a timeout
bomb 50ms "SELECT '{\"pattern\": \"((a{1,100}){1,100}){1,100}\"}'::activity.jsonschema;"
ok "$STATE" 57014 "statement_timeout while a pattern compiles: 57014, not \"invalid regular expression\""
# the cache: 2,000 distinct patterns in one session, under a 256 kB cache
bomb 60s "SET activity.regex_cache_size = '256kB';
SELECT count(*) FROM generate_series(1, 2000) g
WHERE activity.is_valid('\"abc\"', jsonb_build_object('pattern', '^(a|b)' || g || '.*c\$')::activity.jsonschema);
SELECT count(*) FILTER (WHERE name = 'activity regex') < 2000
       AND sum(total_bytes) < 2 * 256 * 1024
FROM pg_backend_memory_contexts WHERE name IN ('activity regex cache', 'activity regex');"
ok "$STATE $OUT" "ok t" "2,000 patterns with activity.regex_cache_size = 256kB: the cache, visible in pg_backend_memory_contexts, stays under it"
