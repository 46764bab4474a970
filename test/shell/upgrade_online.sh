#!/usr/bin/env bash
# TAP test: the upgrade from 0.1 holds its exclusive locks for about a second
# whatever the log's size, and the work that grows with the data runs online
# afterwards (README: Upgrades). A 0.1 log of about 200,000 rows (4 partitions
# over 10,000 rows, one of exactly 10,000, small and empty ones, outliers of
# 1990 and 2090 in the default partition, an id stored twice as 0.1 allowed)
# is upgraded while a session records events and after a long reader made a
# first attempt fail on its lock timeout. Checked: the upgrade reads at most
# the 10,001 rows of its size probe from a big partition and takes no longer
# than on a log with 10x fewer rows; until activity.pending_steps() has run,
# page() (cursors included, and a 0.1 cursor continued) returns what 0.1
# returned, and every feed matches SQL over the log; after the steps (one of
# them interrupted and rerun), every partition has its indexes and every id
# is registered, so a duplicate of an id from before the upgrade is refused.
# Needs a server reachable through the PG* environment variables.
set -uo pipefail
db=activity_upg_online
small=activity_upg_online_small
work=$(mktemp -d)
export PGTZ=UTC
n=0
ok() { n=$((n + 1)); if [ "$1" = "$2" ]; then echo "ok $n - $3"; else echo "not ok $n - $3"; echo "#   got: '$1'"; echo "#   expected: '$2'"; fi; }
# below(value, bound, description): value < bound (integers)
below() { ok "$([ "$1" -lt "$2" ] && echo "below $2" || echo "$1")" "below $2" "$3"; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
now_ns() { date +%s%N; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
# wait_for(db, query, expected): poll for up to 15 s
wait_for() { for _ in $(seq 150); do [ "$(q "$1" "$2")" = "$3" ] && return 0; sleep 0.1; done; return 1; }
bg_pids=()
cleanup() {
    touch "$work/stop"
    for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    dropdb --if-exists --force "$db" >/dev/null 2>&1
    dropdb --if-exists --force "$small" >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT

echo "1..53"

# The month the data is placed around, fixed once (UTC, as partitions are)
m0=$(q postgres "SELECT date_trunc('month', now())")

# load(db, divisor): the 0.1 log, big partitions divided by divisor
load() {
    local d=$2
    psql -X -q -At -v ON_ERROR_STOP=1 -v m0="$m0" -d "$1" >/dev/null <<SQL
CREATE EXTENSION activity VERSION '0.1';
SELECT activity.register_type('post.created');
SELECT activity.register_type('badge.given', recipient => 'required');
SELECT activity.register_type('issue.closed');
-- monthly partitions from 4 months back to 5 ahead
SELECT count(*) FROM activity.create_partitions(:'m0'::timestamptz - interval '4 months',
                                                :'m0'::timestamptz + interval '6 months');
CREATE FUNCTION pg_temp.fill(base timestamptz, month_offset int, n int) RETURNS void LANGUAGE sql AS \$\$
INSERT INTO activity.activities (workspace_id, type, initiator_id, recipient_id, subject_type, subject_id,
                                 metadata, occurred_at)
SELECT 'ws' || (g % 5), (ARRAY['post.created', 'badge.given', 'issue.closed'])[1 + g % 3],
       'u' || (g % 97), CASE WHEN g % 3 = 1 THEN 'r' || (g % 89) END,
       CASE WHEN g % 3 = 2 THEN 'issue' END, CASE WHEN g % 3 = 2 THEN 'i' || (g % 83) END,
       jsonb_build_object('n', g, 'month', month_offset),
       base + make_interval(months => month_offset) + (g::float8 / n) * interval '27 days'
FROM generate_series(1, n) g
\$\$;
SELECT pg_temp.fill(:'m0', -4, 10000 / $d);
SELECT pg_temp.fill(:'m0', -3, 10001 / $d);
SELECT pg_temp.fill(:'m0', -2, 85000 / $d);
SELECT pg_temp.fill(:'m0', -1, 85000 / $d);
SELECT pg_temp.fill(:'m0', 0, 12000 / $d);
SELECT pg_temp.fill(:'m0', 1, 30);
-- outliers in the default partition
SELECT activity.record('ws1', 'post.created', 'old', occurred_at => '1990-05-05');
SELECT activity.record('ws1', 'post.created', 'future', occurred_at => '2090-05-05');
SELECT activity.record('ws2', 'issue.closed', 'old', occurred_at => '1990-01-01',
                       subject_type => 'issue', subject_id => 'i11');
-- 0.1 let a retry with another occurred_at store an id twice: a row of
-- month -1 again in month +1
INSERT INTO activity.activities (id, workspace_id, type, initiator_id, metadata, occurred_at)
SELECT id, workspace_id, 'post.created', 'retry', '{}', occurred_at + interval '2 months'
FROM activity.activities WHERE metadata = '{"n": 7, "month": -1}';
SQL
}
s=$(now_ns)
for d in "$db" "$small"; do dropdb --if-exists "$d" >/dev/null 2>&1; createdb "$d"; done
load "$db" 1; rc1=$?
load "$small" 10; rc2=$?
ok "$rc1 $rc2" "0 0" "a 0.1 log is loaded into $db and $small"
echo "# loaded in $(ms_since "$s") ms"

# the partitions over 10,000 rows, and what 0.1 shows before the upgrade
big=$(q "$db" "SELECT string_agg(partition::text, ' ' ORDER BY partition::text) FROM activity.partitions() p
               WHERE (SELECT count(*) FROM activity.activities a WHERE a.tableoid = p.partition) > 10000")
big_arr="'{${big// /,}}'::regclass[]"
ok "$(q "$db" "SELECT count(*) FILTER (WHERE n > 10000) || ' partitions over 10000 rows with ' || sum(n) FILTER (WHERE n > 10000)
                      || ', 1 of ' || max(n) FILTER (WHERE n <= 10000) || ', ' || count(*) FILTER (WHERE n = 0) || ' empty, '
                      || sum(n) FILTER (WHERE is_default) || ' in the default one; ' || sum(n) || ' rows'
               FROM (SELECT p.is_default, (SELECT count(*) FROM activity.activities a WHERE a.tableoid = p.partition) n
                     FROM activity.partitions() p) s")" \
   "4 partitions over 10000 rows with 192001, 1 of 10000, 4 empty, 3 in the default one; 202035 rows" \
   "the 0.1 log: 202,035 rows, 192,001 of them in 4 partitions over 10,000 rows"

# (0.1's columns: 0.2 adds xact_id, NULL for the rows 0.1 wrote)
rows="SELECT count(*) || ' ' || md5(string_agg(row(a.id, a.workspace_id, a.platform, a.type, a.version, a.actor_type,
        a.initiator_id, a.recipient_id, a.subject_type, a.subject_id, a.caused_by, a.metadata, a.occurred_at,
        a.recorded_at)::text, E'\n' ORDER BY id, occurred_at)) FROM activity.activities a
      WHERE workspace_id <> 'ws_live'"
first_page="SELECT md5(string_agg(id || ' ' || cursor, ',' ORDER BY ordinality)) FROM activity.page(:ws, NULL, 200) WITH ORDINALITY"
psql -X -q -d "$db" -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
-- every row of a feed, page by page, following the cursors (filters as SQL text)
CREATE FUNCTION public.walk(ws text, lim int, filters text DEFAULT '', max_pages int DEFAULT NULL)
RETURNS TABLE (n int, id uuid, cur text) LANGUAGE plpgsql AS $$
DECLARE
    c activity.cursor;
    more boolean := true;
    pages int := 0;
    r record;
BEGIN
    n := 0;
    WHILE more AND (max_pages IS NULL OR pages < max_pages) LOOP
        more := false;
        pages := pages + 1;
        IF pages > 5000 THEN
            RAISE EXCEPTION 'the walk does not end';
        END IF;
        FOR r IN EXECUTE format('SELECT p.id, p.cursor, p.has_more FROM activity.page(%L, $1, %s%s) p', ws, lim, filters)
                 USING c LOOP
            n := n + 1; id := r.id; cur := r.cursor::text; c := r.cursor; more := r.has_more;
            RETURN NEXT;
        END LOOP;
    END LOOP;
END;
$$;
SQL
walk() { echo "SELECT count(*) || ' ' || md5(string_agg(id || ' ' || cur, ',' ORDER BY n)) FROM public.walk($1)"; }
walk_ids() { echo "SELECT count(*) || ' ' || md5(string_agg(id::text, ',' ORDER BY n)) FROM public.walk($1)"; }
truth() { echo "SELECT count(*) || ' ' || md5(string_agg(id::text, ',' ORDER BY occurred_at DESC, id DESC)) FROM activity.activities WHERE $1"; }
page() { q "$db" "${first_page//:ws/$1}"; }

rows_01=$(q "$db" "$rows")
page_ws1_01=$(page "'ws1'")
page_ws2_01=$(page "'ws2'")
cursor_01=$(q "$db" "SELECT cursor FROM activity.page('ws1', NULL, 200) WITH ORDINALITY ORDER BY ordinality DESC LIMIT 1")
page2_01=$(q "$db" "SELECT md5(string_agg(id || ' ' || cursor, ',' ORDER BY ordinality)) FROM activity.page('ws1', '$cursor_01', 200) WITH ORDINALITY")
walk_ws1_01=$(q "$db" "$(walk "'ws1', 200")")
walk_ws3_01=$(q "$db" "$(walk "'ws3', 200")")
ok "$(q "$db" "$(walk_ids "'ws1', 200")") $(q "$db" "$(walk_ids "'ws3', 200")")" \
   "$(q "$db" "$(truth "workspace_id = 'ws1'")") $(q "$db" "$(truth "workspace_id = 'ws3'")")" \
   "0.1: paging through ws1 (outliers included) and ws3 returns every row in feed order"

# --- The upgrade, while a session records events ------------------------------
# The writer records an event about every 20 ms, each in its own transaction,
# under statement_timeout = 3s, tagged with the phase it was sent in.
set_phase() { echo "$1" >"$work/phase.new"; mv "$work/phase.new" "$work/phase"; }
set_phase before
( echo "SET statement_timeout = '3s';"; echo '\timing on'
  while [ ! -e "$work/stop" ]; do
      read -r phase <"$work/phase"
      echo "SELECT activity.record('ws_live', 'post.created', 'writer-$phase') IS NOT NULL;"
      sleep 0.02
  done ) | PGAPPNAME=activity_upg_writer psql -X -q -At -d "$db" >"$work/writer.out" 2>"$work/writer.err" &
writer=$!; bg_pids+=("$writer")
wait_for "$db" "SELECT count(*) > 5 FROM activity.activities WHERE workspace_id = 'ws_live'" t

# A long reader: the upgrade must fail on its lock timeout, not queue
# everyone behind the reader.
PGAPPNAME=activity_upg_reader psql -X -q -At -d "$db" -c "BEGIN" -c "SELECT count(*) FROM activity.activities" \
    -c "SELECT pg_sleep(7)" -c "COMMIT" >"$work/reader.out" 2>&1 &
reader=$!; bg_pids+=("$reader")
wait_for "$db" "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'activity_upg_reader'
                AND state = 'active' AND query LIKE '%pg_sleep%'" 1

s=$(now_ns)
err=$(PGOPTIONS='-c lock_timeout=500ms' psql -X -q -At -d "$db" -c "ALTER EXTENSION activity UPDATE" 2>&1)
t_caller=$(ms_since "$s")
ok "$err" "ERROR:  canceling statement due to lock timeout" \
   "behind a long reader, ALTER EXTENSION fails with a lock timeout error (caller's lock_timeout = 500ms)"
below "$t_caller" 900 "... after the caller's lock_timeout, not the upgrade's 1s (took $t_caller ms)"
s=$(now_ns)
err=$(psql -X -q -At -d "$db" -c "ALTER EXTENSION activity UPDATE" 2>&1)
t_default=$(ms_since "$s")
ok "$err" "ERROR:  canceling statement due to lock timeout" \
   "behind a long reader, ALTER EXTENSION with no lock_timeout set fails with a lock timeout error"
ok "$([ "$t_default" -ge 950 ] && [ "$t_default" -lt 2500 ] && echo "1 to 2.5 s" || echo "$t_default ms")" "1 to 2.5 s" \
   "... after the upgrade's own 1s lock_timeout, long before the reader ends (took $t_default ms)"
ok "$(q "$db" "SELECT extversion || ' ' || (to_regclass('activity.event_ids') IS NULL) FROM pg_extension WHERE extname = 'activity'")" \
   "0.1 true" "after the failed attempts the extension is still at 0.1, nothing of 0.2 left behind"
ok "$(q "$db" "$rows")" "$rows_01" "after the failed attempts every row is there, identical"
wait "$reader"
ok "$? $(awk -v base="${rows_01%% *}" 'NR == 1 { print ($1 > base) ? "counted" : $0 }' "$work/reader.out")" "0 counted" \
   "the long reader ran to its end undisturbed"

# The same upgrade of a log with 10x fewer rows in its big partitions
s=$(now_ns)
q "$small" "ALTER EXTENSION activity UPDATE"
t_small=$(ms_since "$s")

# Now it succeeds. In its transaction, pg_stat_xact_user_tables tells how many
# rows it read from each partition and how many ids it registered.
reads="SELECT string_agg(s.relname || '=' || (s.seq_tup_read + coalesce(s.idx_tup_fetch, 0)), ' ' ORDER BY s.relname)
       FROM pg_stat_xact_user_tables s WHERE s.relid = ANY ($big_arr)"
s=$(now_ns)
out=$(psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" -c "BEGIN" -c "ALTER EXTENSION activity UPDATE" -c "$reads" \
           -c "SELECT n_tup_ins FROM pg_stat_xact_user_tables WHERE relid = 'activity.event_ids'::regclass" -c "COMMIT" 2>&1)
rc=$?
t_upgrade=$(ms_since "$s")
set_phase between
echo "# upgrade: $t_upgrade ms for $db, $t_small ms for $small (10x fewer rows); failed attempts: $t_caller ms, $t_default ms"
version="SELECT extversion FROM pg_extension WHERE extname = 'activity'"
ok "$rc $(q "$db" "$version") $(q "$small" "$version")" "0 0.2 0.2" \
   "after the reader ended, ALTER EXTENSION activity UPDATE succeeds while the writer goes on (and in $small)"
below "$t_upgrade" 3000 "the upgrade of about 200,000 rows takes less than 3 s ($t_upgrade ms)"
below "$t_upgrade" $((t_small + 1000)) "... no more than 1 s longer than with 10x fewer rows ($t_small ms)"
read_big=$(echo "$out" | sed -n 1p)
ok "$(for kv in $read_big; do [ "${kv##*=}" -le 10001 ] || echo "$kv"; done)" "" \
   "the upgrade read at most 10,001 rows of each big partition, none of their indexes built ($read_big)"
# (the writer's rows fall in a big partition, unless the month ended meanwhile)
small_rows=$(q "$db" "SELECT count(*) FROM activity.activities WHERE tableoid <> ALL ($big_arr) AND workspace_id <> 'ws_live'")
writer_small=$(q "$db" "SELECT count(*) FROM activity.activities WHERE tableoid <> ALL ($big_arr) AND workspace_id = 'ws_live'")
ins=$(echo "$out" | sed -n 2p)
ok "$([ "${ins:-0}" -ge "$small_rows" ] && [ "${ins:-0}" -le $((small_rows + writer_small)) ] && echo "$small_rows" || echo "$ins")" "$small_rows" \
   "the upgrade registered the ids of the small partitions' $small_rows rows, none of the big ones'"

# --- Between the upgrade and the online steps -----------------------------------
expected_steps=$(for p in $big; do echo "$p build index 6"; echo "$p drop outdated index 1"; echo "$p register ids 1"; echo "$p rename index 1"; done)
ok "$(q "$db" "SELECT partition || ' ' || step || ' ' || count(*) FROM activity.pending_steps()
               GROUP BY partition, step ORDER BY step, partition::text")" \
   "$(echo "$expected_steps" | sort -k2,3 -s)" "pending_steps(): for each big partition, 6 index builds (one replaces 0.1's feed index: drop, rename), an id registration, nothing else"
ok "$(q "$db" "SELECT count(*) FROM activity.pending_steps() WHERE step = 'build index'
               AND statement ~ '^CREATE INDEX CONCURRENTLY IF NOT EXISTS activities_p[0-9]+_(subject|initiator|recipient|time)_idx ON activity_partitions\.activities_p[0-9]+ '")" \
   16 "... the builds are CREATE INDEX CONCURRENTLY of the subject, initiator, recipient and time indexes"
ok "$(q "$db" "SELECT count(*) FROM pg_indexes WHERE schemaname = 'activity_partitions'
               AND (schemaname || '.' || tablename)::regclass = ANY ($big_arr)
               AND indexname ~ '_(subject|initiator|recipient|time)_idx$'")" 0 \
   "the big partitions have none of those indexes yet"
ok "$(q "$db" "SELECT count(*) FROM activity.partitions() p
               WHERE p.partition <> ALL ($big_arr)
                 AND (SELECT count(*) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
                      WHERE x.indrelid = p.partition AND x.indisvalid
                        AND i.relname ~ '_(feed_idx|subject_idx|initiator_idx|recipient_idx|time_idx|caused_by_idx)$') = 6
                 AND (SELECT count(*) FROM pg_index x WHERE x.indrelid = p.partition) = 6
                 AND (SELECT x.indisunique AND x.indisreplident FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
                      WHERE x.indrelid = p.partition AND i.relname ~ '_feed_idx$')")" 7 \
   "the 7 other partitions (small, empty, default) got their 6 indexes in the upgrade, the unique feed index as replica identity, 0.1's primary key dropped"
ok "$(q "$db" "SELECT count(*) FROM activity.partitions() p WHERE p.partition = ANY ($big_arr)
               AND EXISTS (SELECT 1 FROM pg_index x WHERE x.indrelid = p.partition AND x.indisprimary)")" 4 \
   "the big partitions keep 0.1's primary key (their ids are not registered yet)"
# an event of a big partition, its id not registered yet, is found through that key
read -r ob_id ob_ws ob_type < <(q "$db" "SELECT id, min(workspace_id), min(type) FROM activity.activities a
                                          WHERE tableoid = ANY ($big_arr) AND workspace_id <> 'ws_live'
                                          GROUP BY id HAVING count(*) = 1 ORDER BY id LIMIT 1" | tr '|' ' ')
ok "$(psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" -c BEGIN \
        -c "SELECT activity.record('$ob_ws', '$ob_type', 'retry', id => '$ob_id') = '$ob_id'" \
        -c "SELECT activity.record('$ob_ws', 'post.created', 'effect', caused_by => '$ob_id') IS NOT NULL" \
        -c "SELECT count(*) FROM activity.activities WHERE id = '$ob_id'" -c ROLLBACK 2>&1 | tr '\n' ' ')" "t t 1 " \
   "an event of a big partition before its ids are registered: record(id => it) returns it, storing nothing, and it is accepted as a cause"
ok "$(psql -X -q -At -v VERBOSITY=sqlstate -d "$db" -c "SELECT activity.record('ws_other', 'post.created', 'effect', caused_by => '$ob_id')" 2>&1) $(psql -X -q -At -v VERBOSITY=sqlstate -d "$db" -c "SELECT activity.record('ws_other', '$ob_type', 'retry', id => '$ob_id')" 2>&1)" \
   "ERROR:  23503 ERROR:  23505" "... but not as another workspace's cause (23503), nor recorded again in another workspace (23505)"
ok "$(q "$db" "SELECT action || ' ' || \"rows\" FROM activity.maintain() WHERE action = 'pending'")" "pending 36" \
   "maintain() reports 36 pending steps (4 big partitions: 6 index builds, a drop, a rename, an id registration)"
registered="EXISTS (SELECT 1 FROM activity.event_ids e WHERE e.id = a.id AND e.occurred_at = a.occurred_at)"
ok "$(q "$db" "SELECT count(*) FILTER (WHERE a.tableoid <> ALL ($big_arr) AND NOT $registered) || ' '
                      || count(*) FILTER (WHERE a.tableoid = ANY ($big_arr) AND $registered)
               FROM activity.activities a WHERE a.workspace_id <> 'ws_live'")" "0 0" \
   "every row of the small partitions has its id registered, no row of the big ones yet"
ok "$(q "$db" "$rows")" "$rows_01" "after the upgrade every row is there, identical (count and md5)"
ok "$(page "'ws1'") $(page "'ws2'")" "$page_ws1_01 $page_ws2_01" \
   "0.2 before the steps: page(ws1) and page(ws2), limit 200, return the rows and cursors 0.1 returned"
ok "$(q "$db" "SELECT md5(string_agg(id || ' ' || cursor, ',' ORDER BY ordinality)) FROM activity.page('ws1', '$cursor_01', 200) WITH ORDINALITY")" \
   "$page2_01" "... a cursor 0.1 returned continues with the rows 0.1 returned next"
ok "$(q "$db" "$(walk "'ws1', 200")") $(q "$db" "$(walk "'ws3', 200")")" "$walk_ws1_01 $walk_ws3_01" \
   "... paging through ws1 and ws3 returns every row and cursor 0.1 returned"

# filtered feeds (new in 0.2): big partitions are read through plans for now
declare -A feed truth_of
feeds=(initiator recipient subject all)
feed[initiator]="'ws1', 50, ', initiator_id => ''u5'''";            truth_of[initiator]="workspace_id = 'ws1' AND initiator_id = 'u5'"
feed[recipient]="'ws2', 50, ', recipient_id => ''r7'''";            truth_of[recipient]="workspace_id = 'ws2' AND recipient_id = 'r7'"
feed[subject]="'ws2', 50, ', subject_type => ''issue'', subject_id => ''i11'''"
truth_of[subject]="workspace_id = 'ws2' AND subject_type = 'issue' AND subject_id = 'i11'"
feed[all]="NULL, 200, ', until => ''$m0''', 5"
truth_of[all]="id IN (SELECT id FROM activity.activities WHERE occurred_at < '$m0' ORDER BY occurred_at DESC, id DESC LIMIT 1000)"
feeds_now() { for f in "${feeds[@]}"; do q "$db" "$(walk "${feed[$f]}")"; done; }
feeds_truth() { for f in "${feeds[@]}"; do echo "$(q "$db" "$(walk_ids "${feed[$f]}")") = $(q "$db" "$(truth "${truth_of[$f]}")")"; done; }
via_plans="SELECT string_agg(p.partition::text, ' ' ORDER BY p.partition::text) FROM activity.page_plans('ws1', initiator_id => 'u5') p
           WHERE p.plan NOT LIKE '%(direct, %'"
ok "$(q "$db" "$via_plans")" "$big" "page_plans(): an initiator feed reads the big partitions through plans, the others by direct index scans"
ok "$(feeds_truth | awk '{ print ($1 == $4 && $2 == $5 && $1 > 100) ? "same" : $0 }' | sort -u)" "same" \
   "... the initiator, recipient, subject and all-workspaces feeds return the rows SQL finds, in feed order"
feeds_between=$(feeds_now)
ok "$(q "$db" "SELECT count(*) || ' ' || count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM activity.event_ids e WHERE e.id = a.id))
               FROM activity.activities a WHERE initiator_id = 'writer-between'" | awk '{ print ($1 > 10) ? "many " $2 : $0 }')" "many 0" \
   "rows recorded after the upgrade (before the steps) are there, their ids registered"

# An interrupted step: CREATE INDEX CONCURRENTLY cancelled while it waits for
# a transaction that holds a lock on the partition leaves an invalid index.
part=$(echo "$big" | cut -d' ' -f3)
psql -X -q -At -d "$db" -c "BEGIN" -c "LOCK TABLE $part IN ROW EXCLUSIVE MODE" -c "SELECT pg_sleep(2)" -c "COMMIT" \
    >/dev/null 2>&1 &
locker=$!; bg_pids+=("$locker")
wait_for "$db" "SELECT count(*) FROM pg_locks WHERE relation = '$part'::regclass AND mode = 'RowExclusiveLock' AND granted" 1
stmt=$(q "$db" "SELECT statement FROM activity.pending_steps() WHERE partition = '$part'::regclass AND step = 'build index' LIMIT 1")
err=$(PGOPTIONS='-c statement_timeout=500ms' psql -X -q -At -d "$db" -c "$stmt" 2>&1)
wait "$locker"
ok "$err | $(q "$db" "SELECT step FROM activity.pending_steps() WHERE partition = '$part'::regclass LIMIT 1")" \
   "ERROR:  canceling statement due to statement timeout | drop invalid index" \
   "a cancelled CREATE INDEX CONCURRENTLY leaves an invalid index, which pending_steps() drops first"
ok "$(feeds_now)" "$feeds_between" "... meanwhile every feed still returns the same rows and cursors"

# --- The online steps, while the writer goes on ----------------------------------
set_phase steps
s=$(now_ns)
echo 'SELECT statement FROM activity.pending_steps() \gexec' |
    psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" >"$work/steps.out" 2>"$work/steps.err"
rc=$?
t_steps=$(ms_since "$s")
set_phase after
echo "# online steps: $t_steps ms"
ok "$rc $(cat "$work/steps.err")" "0 " "SELECT statement FROM activity.pending_steps() \\gexec runs every step without error"
ok "$(q "$db" "SELECT count(*) FROM activity.pending_steps()")" 0 "then pending_steps() is empty"
ok "$(q "$db" "SELECT count(*) FROM activity.maintain() WHERE action = 'pending'")" 0 "... and maintain() reports nothing pending"
ok "$(q "$db" "SELECT count(*) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
               WHERE x.indrelid = ANY ($big_arr) AND x.indisvalid
                 AND i.relname ~ '_(pkey|feed_idx|subject_idx|initiator_idx|recipient_idx|time_idx)$'")" 24 \
   "every big partition has its 6 indexes, valid"
ok "$(q "$db" "SELECT count(*) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
               WHERE i.relnamespace = 'activity_partitions'::regnamespace AND NOT x.indisvalid")" 0 "no invalid index is left"
# 0.1's feed index lacks INCLUDE (type): the upgrade replaces it in small
# partitions, the online steps in big ones
todo_feed=$(q "$db" "SELECT count(*) FROM pg_indexes WHERE schemaname = 'activity_partitions' AND indexname LIKE '%\_feed\_idx'
                     AND indexdef NOT LIKE '%INCLUDE (type)'")
ok "$todo_feed" 0 "every partition's feed index is the one 0.2 defines, INCLUDE (type)"
ok "$(q "$db" "$via_plans")" "" "page_plans(): every partition is now read by a direct index scan"
ok "$(feeds_now)" "$feeds_between" "the filtered feeds return the same rows and cursors as before the steps"
ok "$(page "'ws1'") $(page "'ws2'") $(q "$db" "$(walk "'ws1', 200")") $(q "$db" "$(walk "'ws3', 200")")" \
   "$page_ws1_01 $page_ws2_01 $walk_ws1_01 $walk_ws3_01" \
   "page(ws1), page(ws2) and paging through ws1 and ws3 return what 0.1 returned"
ok "$(q "$db" "$rows")" "$rows_01" "every row from before the upgrade is there, identical"

# every id registered
ok "$(q "$db" "SELECT (SELECT count(DISTINCT id) FROM activity.activities) - (SELECT count(*) FROM activity.event_ids)")" 0 \
   "activity.event_ids holds as many ids as the log has distinct ids"
ok "$(q "$db" "SELECT count(*) FROM activity.activities a WHERE NOT EXISTS (SELECT 1 FROM activity.event_ids e WHERE e.id = a.id)")" 0 \
   "every row's id is in activity.event_ids"
ok "$(q "$db" "SELECT count(*) - count(DISTINCT id) FROM activity.activities")" 1 \
   "the id 0.1 stored twice is still stored twice: nothing was lost"
old_id=$(q "$db" "SELECT id FROM activity.activities WHERE metadata = '{\"n\": 5, \"month\": -2}'")
err=$(psql -X -q -At -v VERBOSITY=sqlstate -d "$db" -c "INSERT INTO activity.activities (id, workspace_id, type, initiator_id, occurred_at)
                                                         VALUES ('$old_id', 'ws0', 'post.created', 'dup', '$m0'::timestamptz + interval '2 months')" 2>&1)
ok "$err" "ERROR:  23505" "an INSERT of an id from before the upgrade, with another occurred_at, is refused with 23505"
ok "$(q "$db" "SELECT count(*) FROM activity.activities WHERE id = '$old_id'")" 1 "... and not stored"

# the writer: every event it recorded is there, and registered
touch "$work/stop"
wait "$writer"
recorded=$(grep -c '^t$' "$work/writer.out")
max_ms=$(sed -n 's/^Time: \([0-9]*\)\..*/\1/p' "$work/writer.out" | sort -n | tail -1)
echo "# writer: $recorded events, the slowest took ${max_ms:-?} ms"
ok "$(grep -c -E 'ERROR|FATAL|server closed' "$work/writer.err")" 0 "no record() of the writer failed (statement_timeout 3s) through the upgrade attempts and steps"
ok "$(q "$db" "SELECT string_agg(phase, ' ' ORDER BY phase) FROM (SELECT DISTINCT initiator_id AS phase FROM activity.activities
                                                                   WHERE workspace_id = 'ws_live') p")" \
   "writer-after writer-before writer-between writer-steps" "the writer recorded before, between, during and after the steps"
ok "$(q "$db" "SELECT count(*) FROM activity.activities WHERE workspace_id = 'ws_live'")" "$recorded" \
   "every event the writer recorded is in the log"
ok "$(q "$db" "SELECT count(*) FROM activity.activities a WHERE workspace_id = 'ws_live' AND $registered")" "$recorded" \
   "... and its id registered"
ok "$(q "$db" "SELECT count(*) FROM activity.activities")" "$(( ${rows_01%% *} + recorded ))" \
   "the log holds the rows from before the upgrade and the writer's, no more, no fewer"
