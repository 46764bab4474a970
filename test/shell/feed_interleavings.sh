#!/usr/bin/env bash
# TAP test: change feed interleavings of two sessions that a single-session
# regress test cannot show.
# 1. A transaction that reads a consumer, then writes events and commits:
#    those events come in a later call (its own transaction was left out of
#    pg_current_snapshot(), so they once counted as read before they existed).
# 2. A REPEATABLE READ transaction whose snapshot is older than a stateless
#    position reads nothing from it and does not move it back (it once
#    returned an older position, from which an event came twice).
# 3. A long transaction holds back only its own events, and the view
#    activity.consumers names it while the consumer waits for it.
# Needs a server reachable through the PG* environment variables.
set -uo pipefail
db=activity_feed_interleavings
n=0
ok() { n=$((n + 1)); if [ "$1" = "$2" ]; then echo "ok $n - $3"; else echo "not ok $n - $3"; echo "#   got: '$1'"; echo "#   expected: '$2'"; fi; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" -c "$1"; }
work=$(mktemp -d)
cleanup() { wait 2>/dev/null; dropdb --if-exists "$db" >/dev/null 2>&1; rm -rf "$work"; }
trap cleanup EXIT

echo "1..8"
dropdb --if-exists "$db" >/dev/null 2>&1
createdb "$db"
psql -X -q -v ON_ERROR_STOP=1 -d "$db" >/dev/null <<'SQL'
CREATE EXTENSION activity;
SELECT activity.register_type('post.created');
SELECT count(*) FROM activity.maintain();
SELECT activity.create_consumer('c');
SQL

# 1. A writes E1, B commits "other", A reads (gets "other" only), A writes E2, commits
psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" >"$work/a.out" 2>&1 <<'SQL' &
BEGIN;
INSERT INTO activity.activities (workspace_id, type, initiator_id) VALUES ('ws1', 'post.created', 'E1-before');
SELECT pg_sleep(1);
SELECT 'A read: ' || coalesce(string_agg(initiator_id, ',' ORDER BY initiator_id), '') FROM activity.changes('c');
INSERT INTO activity.activities (workspace_id, type, initiator_id) VALUES ('ws1', 'post.created', 'E2-after');
COMMIT;
SQL
a=$!
sleep 0.3
q "INSERT INTO activity.activities (workspace_id, type, initiator_id) VALUES ('ws1', 'post.created', 'other')"
wait "$a"
ok "$(grep '^A read' "$work/a.out")" "A read: other" \
   "a transaction reading the feed gets what others committed, not its own uncommitted events"
ok "$(q "SELECT string_agg(initiator_id, ',' ORDER BY initiator_id) FROM activity.changes('c')")" "E1-before,E2-after" \
   "its events, written before and after its read, come once it has committed"
ok "$(q "SELECT lag_events || ' ' || delivered FROM activity.consumers")" "0 3" "nothing left, 3 delivered"

# 2. RR snapshot R taken; E committed; p2 read past E; R reads from p2
p1=$(q "SELECT activity.feed_position()")
psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" >"$work/r.out" 2>&1 <<SQL &
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT 1;
SELECT pg_sleep(1.5);
\set p2 \`cat $work/p2\`
SELECT 'R read ' || count(*) FILTER (WHERE position IS NULL) FROM activity.changes_since(:'p2');
SELECT 'R position ' || position FROM activity.changes_since(:'p2') WHERE position IS NOT NULL;
COMMIT;
SQL
r=$!
sleep 0.3
q "INSERT INTO activity.activities (workspace_id, type, initiator_id) VALUES ('ws1', 'post.created', 'E')"
q "SELECT position FROM activity.changes_since('$p1') WHERE position IS NOT NULL" >"$work/p2"
wait "$r"
ok "$(grep '^R read' "$work/r.out")" "R read 0" "a snapshot older than the position reads nothing from it"
ok "$(grep '^R position' "$work/r.out" | sed 's/^R position //')" "$(cat "$work/p2")" "... and keeps the position as it was, not moved back"

# 3. a long transaction L writes an event and stays open; others commit
q "SELECT count(*) FROM activity.changes('c')" >/dev/null   # what scenario 2 wrote
psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" >/dev/null 2>&1 <<'SQL' &
SET application_name = 'feed_long_writer';
BEGIN;
INSERT INTO activity.activities (workspace_id, type, initiator_id) VALUES ('ws1', 'post.created', 'long');
SELECT pg_sleep(3);
COMMIT;
SQL
l=$!
sleep 0.5
q "INSERT INTO activity.activities (workspace_id, type, initiator_id) VALUES ('ws1', 'post.created', 'short')"
ok "$(q "SELECT string_agg(initiator_id, ',') FROM activity.changes('c')")" "short" \
   "events committed after a long transaction began are read while it is open"
ok "$(q "SELECT (SELECT pid FROM pg_stat_activity WHERE application_name = 'feed_long_writer') = ANY (waiting_for_pids)
                AND waiting_since IS NOT NULL FROM activity.consumers WHERE name = 'c'")" t \
   "activity.consumers names the open transaction the consumer waits for"
wait "$l"
ok "$(q "SELECT string_agg(initiator_id, ',') FROM activity.changes('c')")" "long" \
   "its event comes once it commits"
