-- Paging through every feed shape end to end, while another session commits
-- new activities between pages, returns each matching row exactly once, in
-- order: rows that arrive ahead of the cursor (in the walk's direction) are
-- returned, rows that arrive behind it are not, rows that do not match the
-- filter never are.
\set QUIET 1
\ir include/dblink.psql
SET TIME ZONE 'UTC';
SELECT 'fw' || substr(md5(random()::text || clock_timestamp()::text), 1, 8) AS tag \gset
SELECT set_config('activity_test.tag', :'tag', false) \g /dev/null

-- committed before the test, so that the writer session sees them: types,
-- the 2046 partitions, and 600 rows of the run's own workspaces
\o /dev/null
SELECT activity.register_universal_type('FW_USER_JOIN');
SELECT activity.register_type(t, universal_type => u, platforms => p, recipient => r, actor_types => '{user,agent,system}')
FROM (VALUES ('fw.post.created', NULL, NULL, 'optional'), ('fw.post.edited', NULL, NULL, 'optional'),
             ('fw.award.given', NULL, NULL, 'required'),
             ('FW_DISCORD_JOIN', 'FW_USER_JOIN', '{discord}'::text[], 'optional'),
             ('FW_SLACK_JOIN', 'FW_USER_JOIN', '{slack}', 'optional')) v(t, u, p, r);
SELECT activity.create_partitions('2046-01-01', '2046-07-01');
INSERT INTO activity.activities (workspace_id, type, actor_type, initiator_id, recipient_id,
                                 subject_type, subject_id, platform, occurred_at)
SELECT :'tag' || '-' || (g % 2), t.type, (ARRAY['user', 'agent'])[1 + (g / 2) % 2], 'u' || (g % 3),
       CASE WHEN t.type = 'fw.award.given' THEN 'm' || (g % 2) END,
       CASE WHEN t.type LIKE 'fw.post.%' THEN 'post' END,
       CASE WHEN t.type LIKE 'fw.post.%' THEN 'p' || (g % 3) END,
       CASE WHEN t.type = 'FW_DISCORD_JOIN' THEN 'discord' WHEN t.type = 'FW_SLACK_JOIN' THEN 'slack' END,
       CASE WHEN g % 40 = 0 THEN timestamptz '2090-03-01' + g * interval '1 hour'
            ELSE timestamptz '2046-01-01' + (g / 2) * interval '7 hours' END
FROM generate_series(1, 600) g
CROSS JOIN LATERAL (SELECT (ARRAY['fw.post.created', 'fw.post.edited', 'fw.award.given',
                                  'FW_DISCORD_JOIN', 'FW_SLACK_JOIN'])[1 + g % 5] AS type) t;
SELECT pg_temp.connect('writer');
\o

BEGIN;
SELECT plan(16);
CREATE TEMP TABLE arrivals (id uuid, behind boolean);

-- walk(args, cond, dir, rec): page through page(args) 9 rows at a time; after
-- every page, the writer commits two rows that match (rec: the arguments of
-- record() for one), one ahead of the cursor and one behind it, and one that
-- does not match, ahead. Returns whether the walk returned exactly the rows
-- matching cond now, less those that arrived behind the cursor, in order.
CREATE FUNCTION pg_temp.walk(args text, cond text, dir text, rec text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    ws text := current_setting('activity_test.tag');
    c activity.cursor;
    r record;
    got uuid[] := '{}';
    want uuid[];
    more boolean := true;
    last_ts timestamptz;
    step interval := CASE dir WHEN 'asc' THEN interval '1 minute' ELSE interval '-1 minute' END;
    k int := 0;
BEGIN
    args := replace(args, 'WS', quote_literal(ws || '-0'));
    cond := replace(cond, 'WS', quote_literal(ws || '-0'));
    rec := replace(rec, 'WS', quote_literal(ws || '-0'));
    TRUNCATE arrivals;
    WHILE more LOOP
        more := false;
        FOR r IN EXECUTE format('SELECT id, occurred_at, cursor, has_more FROM activity.page(%s, after => $1, "limit" => 9, direction => %L)',
                                args, dir) USING c LOOP
            got := got || r.id;
            c := r.cursor;
            last_ts := r.occurred_at;
            more := r.has_more;
        END LOOP;
        IF more AND k < 30 THEN
            k := k + 1;
            INSERT INTO arrivals
            SELECT x::uuid, behind FROM (VALUES
                (pg_temp.q_one(format('SELECT activity.record(%s, occurred_at => %L)::text', rec, last_ts + step)), false),
                (pg_temp.q_one(format('SELECT activity.record(%s, occurred_at => %L)::text', rec, last_ts - step)), true),
                (pg_temp.q_one(format('SELECT activity.record(%L, %L, %L, occurred_at => %L)::text',
                                      ws || '-1', 'fw.post.created', 'u9', last_ts + step)), false)) v(x, behind);
        END IF;
    END LOOP;
    -- (the all-workspaces feed also sees other runs' rows, if any)
    EXECUTE format('SELECT coalesce(array_agg(id ORDER BY occurred_at %s, id %s), ''{}'') FROM activity.activities a
                    WHERE (workspace_id LIKE %L OR %L) AND (%s) AND id NOT IN (SELECT id FROM arrivals WHERE behind)',
                   dir, dir, ws || '-%', args LIKE 'NULL%', cond) INTO want;
    IF k < 3 THEN
        RAISE EXCEPTION 'only % pages in the walk of %: too short to test arrivals', k, args;
    END IF;
    IF got <> want THEN
        RAISE NOTICE 'walk % %: got % rows, want %', args, dir, cardinality(got), cardinality(want);
    END IF;
    RETURN got = want AND (SELECT count(*) FROM arrivals a WHERE a.id = ANY (got) AND NOT behind) > 0;
END;
$$;
-- q_one(sql): run sql in the writer session (it commits), return its value
CREATE FUNCTION pg_temp.q_one(sql text) RETURNS text
LANGUAGE sql AS $$ SELECT x FROM dblink('writer', sql) AS t(x text) $$;

SELECT ok(pg_temp.walk(args, cond, dir, rec), label || ', ' || dir)
FROM (VALUES
    ('workspace feed',    $$WS$$,                                        $$workspace_id = WS$$,
                          $$WS, 'fw.post.edited', 'u1'$$),
    ('entity feed',       $$WS, subject_type => 'post', subject_id => 'p1'$$,
                          $$workspace_id = WS AND subject_type = 'post' AND subject_id = 'p1'$$,
                          $$WS, 'fw.post.edited', 'u2', subject_type => 'post', subject_id => 'p1'$$),
    ('actor feed',        $$WS, initiator_id => 'u1'$$,                  $$workspace_id = WS AND initiator_id = 'u1'$$,
                          $$WS, 'fw.post.created', 'u1'$$),
    ('recipient feed',    $$WS, recipient_id => 'm0'$$,                  $$workspace_id = WS AND recipient_id = 'm0'$$,
                          $$WS, 'fw.award.given', 'u2', recipient_id => 'm0'$$),
    ('types',             $$WS, types => '{fw.post.*}', actor_types => '{agent}'$$,
                          $$workspace_id = WS AND type LIKE 'fw.post.%' AND actor_type = 'agent'$$,
                          $$WS, 'fw.post.created', 'bot', actor_type => 'agent'$$),
    ('universal types',   $$WS, universal_types => '{FW_USER_JOIN}', platforms => '{slack}'$$,
                          $$workspace_id = WS AND type = 'FW_SLACK_JOIN'$$,
                          $$WS, 'FW_SLACK_JOIN', 'u3', platform => 'slack'$$),
    ('window',            $$WS, since => '2046-02-01', until => '2046-03-15'$$,
                          $$workspace_id = WS AND occurred_at >= '2046-02-01' AND occurred_at < '2046-03-15'$$,
                          $$WS, 'fw.post.edited', 'u1'$$),
    ('all workspaces',    $$NULL, types => '{fw.award.given}'$$,         $$type = 'fw.award.given'$$,
                          $$WS, 'fw.award.given', 'u2', recipient_id => 'm1'$$)
) AS t(label, args, cond, rec)
CROSS JOIN (VALUES ('desc'), ('asc')) d(dir);

SELECT * FROM finish();
ROLLBACK;
SELECT dblink_disconnect('writer') \g /dev/null
