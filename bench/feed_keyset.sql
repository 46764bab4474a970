-- bench/feed.sh: the best hand-written equivalent of the change feed's
-- pages, once every event is committed: keyset pages on (xact_id, id), the
-- order of an index on (xact_id, id) the script builds for it (the feed itself
-- needs none); \aset keeps the last row's columns
-- (k_xact_id, k_id: where the next page starts).
-- pgbench variables: k_xact_id, k_id (the first page: the load's first
-- transaction and the nil UUID), hi (the load's last transaction), page
SELECT * FROM activity.activities
WHERE xact_id <= :hi::xid8 AND (xact_id, id) > (:k_xact_id::xid8, :k_id::uuid)
ORDER BY xact_id, id
LIMIT :page \aset k_
