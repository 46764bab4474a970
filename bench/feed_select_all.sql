-- bench/feed.sh: every event of the feed in one plain SELECT (no order, no
-- pages): what reading those rows costs at the least.
-- pgbench variables: lo, hi (the load's first and last transactions)
SELECT * FROM activity.activities WHERE xact_id BETWEEN :lo::xid8 AND :hi::xid8;
