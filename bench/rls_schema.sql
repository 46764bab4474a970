-- bench/rls.sh's schema: the extension, one type, 12 monthly partitions
-- (the current month and the 11 before it) and the default one, :rows
-- events over those 12 months across 200 workspaces, skewed: ws-001 30%,
-- ws-002 15%, ws-003 10%, ws-004..ws-020 40% together, the tail
-- ws-021..ws-200 5% (about :rows / 3600 each). Inserted in time order
-- (as ingestion writes them), ids UUIDv7 built from occurred_at. Then the
-- tenant role, its grants and policy, and row-level security on the log.
-- Deterministic except for ids.
-- psql variables: rows, role (the tenant role, created by rls.sh)
\set ON_ERROR_STOP 1
CREATE EXTENSION activity;
SELECT name FROM activity.register_type('note.created', 'A note was written.', actor_types => '{user,agent}',
                                        subject_type => 'note') \g /dev/null
SELECT count(*) FROM activity.create_partitions(date_trunc('month', now()) - interval '11 months',
                                                date_trunc('month', now()) + interval '1 month') \g /dev/null
CREATE SCHEMA bench;
SELECT setseed(0.17) \g /dev/null
CREATE UNLOGGED TABLE bench.staging AS
WITH g AS (
    SELECT i, random() AS r_ws, (random() * 10000000)::int AS n, (random() * 100000)::int AS u,
           date_trunc('month', now()) - interval '11 months'
               + random() * (now() - (date_trunc('month', now()) - interval '11 months')) AS occurred_at,
           md5(random()::text) AS bits
    FROM generate_series(1, :rows) i
), w AS (
    SELECT g.*, CASE WHEN r_ws < 0.30 THEN 1 WHEN r_ws < 0.45 THEN 2 WHEN r_ws < 0.55 THEN 3
                     WHEN r_ws < 0.95 THEN 4 + n % 17 ELSE 21 + n % 180 END AS wsn
    FROM g
)
SELECT overlay(overlay(overlay(bits PLACING lpad(to_hex(floor(extract(epoch FROM occurred_at) * 1000)::bigint), 12, '0') FROM 1)
                       PLACING '7' FROM 13)
               PLACING substr('89ab', 1 + (u % 4), 1) FROM 17)::uuid AS id,
       'ws-' || lpad(wsn::text, 3, '0') AS workspace_id,
       'note.created' AS type,
       CASE WHEN u % 10 = 0 THEN 'agent' ELSE 'user' END AS actor_type,
       'user-' || (u % 5000) AS initiator_id,
       'note' AS subject_type,
       (n / 100)::text AS subject_id,
       jsonb_build_object('note_id', n / 100, 'title', 'Note ' || n, 'length', n % 5000) AS metadata,
       occurred_at
FROM w
ORDER BY occurred_at, id;
INSERT INTO activity.activities (id, workspace_id, type, actor_type, initiator_id, subject_type, subject_id, metadata, occurred_at)
SELECT id, workspace_id, type, actor_type, initiator_id, subject_type, subject_id, metadata, occurred_at
FROM bench.staging ORDER BY occurred_at, id;
DROP TABLE bench.staging;
VACUUM (ANALYZE) activity.activities;

-- the tenant: one application role for every workspace, keyed by a setting
GRANT USAGE ON SCHEMA activity TO :"role";
GRANT SELECT ON activity.activities TO :"role";
ALTER TABLE activity.activities ENABLE ROW LEVEL SECURITY;
CREATE POLICY bench_by_setting ON activity.activities TO :"role"
    USING (workspace_id = current_setting('bench.workspace', true));

-- the cursor of the d-th row of a workspace's feed, found by paging it with
-- page() itself, 200 rows a call (as bench/schema.sql's bench.page_cursors)
CREATE FUNCTION bench.cursor_at(ws text, depth int)
RETURNS activity.cursor
LANGUAGE plpgsql AS $$
DECLARE
    cur activity.cursor := NULL;
    seen int := 0;
    got int;
    r record;
BEGIN
    WHILE seen < depth LOOP
        got := 0;
        FOR r IN SELECT p.cursor FROM activity.page(ws, cur, least(200, depth - seen)) p LOOP
            cur := r.cursor;
            got := got + 1;
        END LOOP;
        EXIT WHEN got = 0;
        seen := seen + got;
    END LOOP;
    IF seen < depth THEN
        RAISE EXCEPTION 'workspace % has only % rows, not %', ws, seen, depth;
    END IF;
    RETURN cur;
END;
$$;
