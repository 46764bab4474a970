-- Helpers of feeds.sh, loaded after schema.sql.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

-- The cursors of a feed at given depths, found by paging with page() itself,
-- 200 rows a call (fewer for the last call before a depth): the cursor at
-- depth d is the one of the d-th row, so that page(..., after => it) starts
-- at row d + 1. "call" is the page() call of the feed with $1 for "after"
-- and $2 for "limit", e.g.
--   activity.page('ws-0001', $1, $2, initiator_id => 'user-42', direction => 'asc')
-- Depths beyond the feed's end are left out; depth 0 has no cursor.
CREATE FUNCTION bench.feed_cursors(call text, depths int[])
RETURNS TABLE (at_depth int, page_cursor activity.cursor, occurred_at timestamptz, id uuid)
LANGUAGE plpgsql AS $$
DECLARE
    cur activity.cursor := NULL;
    seen int := 0;
    target int;
    got int;
    r record;
BEGIN
    FOREACH target IN ARRAY (SELECT coalesce(array_agg(DISTINCT d ORDER BY d), '{}') FROM unnest(depths) d WHERE d > 0) LOOP
        WHILE seen < target LOOP
            got := 0;
            FOR r IN EXECUTE format('SELECT p.cursor FROM %s p', call) USING cur, least(200, target - seen) LOOP
                cur := r.cursor;
                got := got + 1;
            END LOOP;
            EXIT WHEN got = 0;
            seen := seen + got;
        END LOOP;
        EXIT WHEN seen < target;
        at_depth := target;
        page_cursor := cur;
        SELECT i.occurred_at, i.id INTO occurred_at, id FROM activity.cursor_info(cur) i;
        RETURN NEXT;
    END LOOP;
END;
$$;
