#!/usr/bin/env bash
# TAP test: a schema that another session registers in the middle of a long
# COPY applies to the rows the COPY writes after it was committed: no session
# validates against a stale registry, not even halfway through a statement.
# Each row is ~70 kB, so that the client sends them one by one, 0.1 s apart.
# Needs a server reachable through the PG* environment variables.
set -uo pipefail
db=activity_registry_copy
n=0
ok() { n=$((n + 1)); if [ "$1" = "$2" ]; then echo "ok $n - $3"; else echo "not ok $n - $3"; echo "#   got: '$1'"; echo "#   expected: '$2'"; fi; }
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" -c "$1"; }
pad=$(head -c 70000 /dev/zero | tr '\0' 'a')
# slow_copy TYPE METADATA_PREFIX: 20 rows, one every 0.1 s, version omitted
slow_copy() {
    {
        echo "COPY activity.activities (workspace_id, type, initiator_id, metadata) FROM STDIN;"
        for i in $(seq 1 20); do
            printf 'ws\t%s\tu%s\t{%s"pad": "%s"}\n' "$1" "$i" "$2" "$pad"
            sleep 0.1
        done
        echo '\.'
    } | psql -X -q -v ON_ERROR_STOP=1 -d "$db" 2>&1
}

echo "1..6"
dropdb --if-exists "$db" >/dev/null 2>&1
createdb "$db"
q "CREATE EXTENSION activity; SELECT activity.register_type('copy.valid'); SELECT activity.register_type('copy.invalid')" >/dev/null

# rows that satisfy the schema registered halfway: the first ones get
# version 0 (no schema yet), the later ones version 1
slow_copy copy.valid '"x": 1, ' > /tmp/activity_copy_valid.out &
copy=$!
sleep 1
q "SELECT activity.register_schema('copy.valid', '{\"required\": [\"x\"]}')" >/dev/null
wait $copy
ok "$?" 0 "the COPY of valid rows succeeds"
ok "$(q "SELECT count(*) FROM activity.activities WHERE type = 'copy.valid'")" 20 "all 20 rows are in the log"
ok "$(q "SELECT count(*) > 0 AND count(*) < 20 FROM activity.activities WHERE type = 'copy.valid' AND version = 1")" t \
   "the rows written after the registration got version 1, the ones before version 0"
ok "$(q "SELECT bool_and(version = 0) FROM (SELECT version, initiator_id FROM activity.activities WHERE type = 'copy.valid'
                                          ORDER BY substr(initiator_id, 2)::int LIMIT 3) s")" t \
   "the first rows (sent before the registration) got version 0"

# rows that break the schema registered halfway: the COPY fails at the first
# row written after the registration, and nothing of it is stored
slow_copy copy.invalid '' > /tmp/activity_copy_invalid.out &
copy=$!
sleep 1
q "SELECT activity.register_schema('copy.invalid', '{\"required\": [\"x\"]}')" >/dev/null
wait $copy
ok "$(grep -c 'metadata does not match schema version 1 of activity type "copy.invalid"' /tmp/activity_copy_invalid.out)" 1 \
   "the COPY of rows lacking \"x\" is refused by the schema registered halfway"
ok "$(q "SELECT count(*) FROM activity.activities WHERE type = 'copy.invalid'")" 0 "none of its rows is stored"

dropdb "$db"
rm -f /tmp/activity_copy_valid.out /tmp/activity_copy_invalid.out
