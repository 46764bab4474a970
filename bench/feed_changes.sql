-- bench/feed.sh: a consumer reads its next page of the change feed; its
-- position moves on when the transaction commits.
-- pgbench variables: consumer, page
BEGIN;
SELECT * FROM activity.changes(:consumer, :page);
COMMIT;
