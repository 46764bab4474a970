-- Every feed shape page() serves is an index seek in every partition it
-- reads: on partitions large enough that the planner would otherwise scan
-- and sort, activity.page_plans() shows an index scan on the feed's index and
-- no Seq Scan or Sort, for every shape, filter and direction, both for the
-- direct index scans page() runs and (activity.direct_scans = off) for the
-- cached plans of the same queries, as EXPLAIN prints them; a time window
-- leaves out the partitions outside it.
BEGIN;
SELECT plan(69);
SET LOCAL TIME ZONE 'UTC';
SELECT setseed(0.77);

\o /dev/null
SELECT activity.register_universal_type('FP_USER_JOIN');
SELECT activity.register_type(t, universal_type => u, platforms => p, recipient => r, actor_types => '{user,agent,system}')
FROM (VALUES ('fp.post.created', NULL, NULL, 'optional'), ('fp.post.edited', NULL, NULL, 'optional'),
             ('fp.award.given', NULL, NULL, 'required'),
             ('FP_DISCORD_JOIN', 'FP_USER_JOIN', '{discord}'::text[], 'optional'),
             ('FP_SLACK_JOIN', 'FP_USER_JOIN', '{slack}', 'optional')) v(t, u, p, r);
SELECT activity.create_partitions('2045-01-01', '2045-04-01');
-- 240,000 rows in three monthly partitions and 30,000 outliers in the
-- default partition; 200 workspaces, 500 actors, 2,000 entities
INSERT INTO activity.activities (workspace_id, type, actor_type, initiator_id, recipient_id,
                                 subject_type, subject_id, platform, occurred_at)
SELECT 'fp-' || (g % 200), t.type, (ARRAY['user', 'agent', 'system'])[1 + g % 3],
       CASE WHEN g % 3 = 2 THEN NULL ELSE 'u' || (g % 500) END,
       CASE WHEN t.type = 'fp.award.given' THEN 'm' || (g % 300) END,
       CASE WHEN t.type LIKE 'fp.post.%' THEN 'post' END,
       CASE WHEN t.type LIKE 'fp.post.%' THEN 'p' || (g % 2000) END,
       CASE WHEN t.type = 'FP_DISCORD_JOIN' THEN 'discord' WHEN t.type = 'FP_SLACK_JOIN' THEN 'slack' END,
       CASE WHEN g % 9 = 0 THEN timestamptz '2090-01-01' + g * interval '1 minute'
            ELSE timestamptz '2045-01-01' + (g % 240000) * interval '30 seconds' END
FROM generate_series(1, 270000) g
CROSS JOIN LATERAL (SELECT (ARRAY['fp.post.created', 'fp.post.edited', 'fp.award.given',
                                  'FP_DISCORD_JOIN', 'FP_SLACK_JOIN'])[1 + (g / 3) % 5] AS type) t;
ANALYZE activity.activities;
\o

SELECT cmp_ok((SELECT count(*) FROM activity.activities a
               WHERE a.tableoid = 'activity_partitions.activities_default'::regclass AND workspace_id LIKE 'fp-%'),
              '>=', 30000::bigint, 'the default partition holds 30,000 of the rows');

-- index_seeks(args): every plan page(args) would run is an index scan, with
-- no Seq Scan and no Sort anywhere
CREATE FUNCTION pg_temp.index_seeks(args text, direct text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    n int := 0;
BEGIN
    PERFORM set_config('activity.direct_scans', direct, true);
    FOR r IN EXECUTE format('SELECT partition, plan FROM activity.page_plans(%s)', args) LOOP
        n := n + 1;
        IF r.plan ~ 'Seq Scan|Sort|Bitmap' OR r.plan !~ 'Index (Only )?Scan' THEN
            RETURN format('%s: %s', r.partition, r.plan);
        END IF;
    END LOOP;
    RETURN CASE WHEN n = 0 THEN 'no plan' ELSE 'index seeks' END;
END;
$$;

SELECT is(pg_temp.index_seeks(args, direct), 'index seeks',
          label || CASE direct WHEN 'on' THEN ' (direct scans)' ELSE ' (cached plans, EXPLAIN)' END)
FROM (VALUES
    ('workspace feed',                          $$'fp-7'$$),
    ('workspace feed, oldest first',            $$'fp-7', direction => 'asc'$$),
    ('entity feed',                             $$'fp-7', subject_type => 'post', subject_id => 'p7'$$),
    ('entity feed, oldest first',               $$'fp-7', subject_type => 'post', subject_id => 'p7', direction => 'asc'$$),
    ('actor feed',                              $$'fp-7', initiator_id => 'u7'$$),
    ('actor feed, oldest first',                $$'fp-7', initiator_id => 'u7', direction => 'asc'$$),
    ('recipient feed',                          $$'fp-7', recipient_id => 'm7'$$),
    ('recipient feed, oldest first',            $$'fp-7', recipient_id => 'm7', direction => 'asc'$$),
    ('all workspaces',                          $$NULL$$),
    ('all workspaces, oldest first',            $$NULL, direction => 'asc'$$),
    ('workspace, types',                        $$'fp-7', types => '{fp.award.given,FP_SLACK_JOIN}'$$),
    ('workspace, type prefix',                  $$'fp-7', types => '{fp.post.*}'$$),
    ('workspace, universal types',              $$'fp-7', universal_types => '{FP_USER_JOIN}'$$),
    ('workspace, actor types',                  $$'fp-7', actor_types => '{agent,system}'$$),
    ('workspace, platforms',                    $$'fp-7', platforms => '{discord}'$$),
    ('workspace, window',                       $$'fp-7', since => '2045-02-03', until => '2045-03-04'$$),
    ('workspace, window, oldest first',         $$'fp-7', since => '2045-02-03', until => '2045-03-04', direction => 'asc'$$),
    ('entity feed, types and window',           $$'fp-7', subject_type => 'post', subject_id => 'p7', types => '{fp.post.edited}', since => '2045-01-10'$$),
    ('actor feed, actor types and platforms',   $$'fp-7', initiator_id => 'u7', actor_types => '{user}', platforms => '{slack}'$$),
    ('recipient feed, window',                  $$'fp-7', recipient_id => 'm7', until => '2045-03-01'$$),
    ('all workspaces, types',                   $$NULL, types => '{fp.post.*}'$$),
    ('all workspaces, universal types, window', $$NULL, universal_types => '{FP_USER_JOIN}', since => '2045-02-01', until => '2045-02-15'$$),
    ('all workspaces, actor types',             $$NULL, actor_types => '{agent}', direction => 'asc'$$),
    ('all workspaces, entity',                  $$NULL, subject_type => 'post', subject_id => 'p7'$$),
    ('all workspaces, actor',                   $$NULL, initiator_id => 'u7'$$),
    ('all workspaces, recipient',               $$NULL, recipient_id => 'm7'$$),
    ('every filter at once',                    $$'fp-7', subject_type => 'post', subject_id => 'p7', initiator_id => 'u7', types => '{fp.post.*}', actor_types => '{user}', platforms => '{discord}', since => '2045-01-05', until => '2045-03-05', direction => 'asc'$$)
) AS t(label, args)
CROSS JOIN (VALUES ('on'), ('off')) d(direct);
RESET activity.direct_scans;

-- which index serves which feed
SELECT matches((SELECT string_agg(plan, ' ') FROM activity.page_plans('fp-7', subject_type => 'post', subject_id => 'p7')),
               '_subject_idx', 'the entity feed seeks the entity index');
SELECT matches((SELECT string_agg(plan, ' ') FROM activity.page_plans('fp-7', initiator_id => 'u7')),
               '_initiator_idx', 'the actor feed seeks the actor index');
SELECT matches((SELECT string_agg(plan, ' ') FROM activity.page_plans('fp-7', recipient_id => 'm7')),
               '_recipient_idx', 'the recipient feed seeks the recipient index');
SELECT matches((SELECT string_agg(plan, ' ') FROM activity.page_plans('fp-7')),
               '_feed_idx', 'the workspace feed seeks the feed index');
SELECT matches((SELECT string_agg(plan, ' ') FROM activity.page_plans(NULL)),
               '_time_idx', 'the all-workspaces listing seeks the time index');
-- the time index is partial (occurred_at > '-infinity', true of every row):
-- only the all-workspaces listing names its predicate, so a workspace's feed,
-- however sparse, never scans it filtering on the workspace
SELECT is((SELECT count(*) FROM (
               SELECT plan FROM activity.page_plans('fp-7')
               UNION ALL SELECT plan FROM activity.page_plans('fp-nobody')
               UNION ALL SELECT plan FROM activity.page_plans('fp-7', types => '{fp.award.given}', direction => 'asc')
               UNION ALL SELECT plan FROM activity.page_plans('fp-7', platforms => '{slack}', since => '2045-01-03')) p
           WHERE plan ~ '_time_idx'), 0::bigint,
          'no workspace feed reads the time index');
SELECT is(pg_get_indexdef('activity_partitions.activities_p20450101_time_idx'::regclass),
          'CREATE INDEX activities_p20450101_time_idx ON activity_partitions.activities_p20450101 USING btree (occurred_at DESC, id DESC) WHERE (occurred_at > ''-infinity''::timestamp with time zone)',
          'the time index is partial on a condition every row meets');

-- a time window prunes partitions: page() reads the default partition and
-- only the range partitions that overlap the window (and, from a cursor,
-- only those at or beyond it)
SELECT is(array_agg(partition::text ORDER BY partition::text),
          '{activity_partitions.activities_default,activity_partitions.activities_p20450201}',
          'a window inside February reads February and the default partition')
FROM activity.page_plans('fp-7', since => '2045-02-03', until => '2045-02-20');
SELECT ok(bool_and(p.upper > '2045-02-03' OR p.is_default) AND bool_or(p.lower = '2045-03-01') AND NOT bool_or(p.lower = '2045-01-01'),
          'since 2045-02-03 reads February and later, not January, and the default partition')
FROM activity.page_plans('fp-7', since => '2045-02-03', direction => 'asc') pp JOIN activity.partitions() p USING (partition);
SELECT ok(bool_and(p.lower < '2045-02-01' OR p.is_default) AND bool_or(p.lower = '2045-01-01'),
          'until 2045-02-01 reads January, no partition after it, and the default partition')
FROM activity.page_plans('fp-7', until => '2045-02-01') pp JOIN activity.partitions() p USING (partition);
SELECT is((SELECT count(*) FROM activity.page_plans('fp-7', since => '2045-03-01', until => '2045-03-01')), 0::bigint,
          'an empty window reads nothing');
SELECT ok(bool_and(p.lower < '2045-03-01' OR p.is_default) AND bool_or(p.lower = '2045-02-01') AND bool_or(p.lower = '2045-01-01'),
          'from a cursor in February, newest first, the walk reads February and older, not March')
FROM activity.page_plans('fp-7', after => (SELECT cursor FROM activity.page('fp-7', until => '2045-02-11', "limit" => 1)),
                         until => '2045-02-11') pp JOIN activity.partitions() p USING (partition);
SELECT ok(bool_and(p.upper > '2045-02-10' OR p.is_default) AND bool_or(p.lower = '2045-03-01') AND NOT bool_or(p.lower = '2045-01-01'),
          'from a cursor in February, oldest first, the walk reads February and newer, not January')
FROM activity.page_plans('fp-7', after => (SELECT cursor FROM activity.page('fp-7', since => '2045-02-10', "limit" => 1, direction => 'asc')),
                         since => '2045-02-10', direction => 'asc') pp JOIN activity.partitions() p USING (partition);
SELECT is((SELECT count(*) FROM activity.page('fp-7', since => '2045-02-03', until => '2045-02-20', "limit" => 200)),
          (SELECT least(count(*), 200) FROM activity.activities WHERE workspace_id = 'fp-7'
           AND occurred_at >= '2045-02-03' AND occurred_at < '2045-02-20'),
          'and the window''s page holds the window''s rows');

SELECT * FROM finish();
ROLLBACK;
