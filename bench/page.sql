-- A page of a workspace feed through the extension, after a cursor.
-- Variables (pgbench -D): ws, cursor (an activity.cursor returned by page())
SELECT * FROM activity.page(:ws, :cursor::activity.cursor, 50);
