-- bench/feed.sh: the stateless change feed, a page at a time; the last row
-- (no event) carries the position the next call reads from (\aset keeps the
-- last row's columns: next_position).
-- pgbench variables: next_position (the first position), page
SELECT (c.event).*, c.position AS next_position FROM activity.changes_since(:next_position, :page) c \aset
