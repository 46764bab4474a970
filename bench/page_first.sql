-- First page of a workspace feed through the extension (no cursor).
-- Variables (pgbench -D): ws
SELECT * FROM activity.page(:ws, NULL, 50);
