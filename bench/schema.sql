-- Benchmark schema: the extension with monthly partitions and ~20 event types,
-- and bench.plain_activities, the same table without validation.
-- psql variables: hist_start, until (timestamptz literals)
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

CREATE EXTENSION activity;
SELECT activity.configure(partition_interval => '1 month') \g /dev/null
SET activity.max_lock_hold = '10min';   -- every partition in one call: nobody writes yet
SELECT count(*) AS partitions_created
FROM activity.create_partitions(:'hist_start'::timestamptz, :'until'::timestamptz);

-- ~20 event types from the three seed systems
-- the universal types they map to (supported on every platform)
SELECT count(*) AS universal_types_registered FROM (
    SELECT activity.register_universal_type(u) FROM unnest('{USER_JOIN,USER_LEAVE,CHAT_MESSAGE_DELETE,MODERATION_LINK}'::text[]) u) t \g /dev/null
SELECT count(*) AS types_registered FROM (
    SELECT activity.register_type('post.created', 'A post was published')
    UNION ALL SELECT activity.register_type('post.edited', 'A post was edited')
    UNION ALL SELECT activity.register_type('post.deleted', 'A post was deleted')
    UNION ALL SELECT activity.register_type('comment.created', 'A comment was written')
    UNION ALL SELECT activity.register_type('comment.deleted', 'A comment was deleted')
    UNION ALL SELECT activity.register_type('topic.created', 'A topic was opened')
    UNION ALL SELECT activity.register_type('topic.closed', 'A topic was closed')
    UNION ALL SELECT activity.register_type('reaction.added', 'Someone reacted to a post')
    UNION ALL SELECT activity.register_type('award.given', 'An award was given to a member', recipient => 'required')
    UNION ALL SELECT activity.register_type('user.followed', 'A member followed another', recipient => 'required')
    UNION ALL SELECT activity.register_type('user.mentioned', 'A member was mentioned', recipient => 'required')
    UNION ALL SELECT activity.register_type('member.joined', 'A member joined', universal_type => 'USER_JOIN', recipient => 'forbidden')
    UNION ALL SELECT activity.register_type('member.left', 'A member left', universal_type => 'USER_LEAVE', recipient => 'forbidden')
    UNION ALL SELECT activity.register_type('site.auth.login', 'A member signed in', recipient => 'forbidden')
    UNION ALL SELECT activity.register_type('site.auth.login_failure', 'A sign-in failed', recipient => 'forbidden',
                                            actor_types => '{user,system}')
    UNION ALL SELECT activity.register_type('issue.created', 'An issue was opened', actor_types => '{user,agent}')
    UNION ALL SELECT activity.register_type('issue.status_changed', 'An issue changed status', actor_types => '{user,agent}')
    UNION ALL SELECT activity.register_type('discord.guild_member_add', 'Discord member joined', universal_type => 'USER_JOIN',
                                            recipient => 'forbidden', platforms => '{discord}')
    UNION ALL SELECT activity.register_type('telegram.chat_member_joined', 'Telegram member joined', universal_type => 'USER_JOIN',
                                            recipient => 'forbidden', platforms => '{telegram}')
    UNION ALL SELECT activity.register_type('CHAT_MESSAGE_DELETE', 'A chat message was deleted', universal_type => 'CHAT_MESSAGE_DELETE',
                                            platforms => '{discord,telegram,slack}')
    UNION ALL SELECT activity.register_type('MODERATION_LINK', 'Synthetic: a moderation action on a link',
                                            universal_type => 'MODERATION_LINK', actor_types => '{system}',
                                            caused_by => '{CHAT_MESSAGE_DELETE}')
) t;

-- The baseline: same columns, defaults, partition bounds (plus a DEFAULT
-- partition) and indexes as activity.activities, but no trigger at all.
-- activity.activities has on every partition (the DEFAULT one included) the
-- index of each feed page() serves (activity._index_definitions()), and
-- keeps ids unique in activity.event_ids; the baseline has what a
-- hand-written log would: a primary key (id, occurred_at) and the same feed
-- indexes, declared on the parent, so every partition gets them too.
CREATE SCHEMA bench;
CREATE TABLE bench.plain_activities (
    id uuid NOT NULL DEFAULT activity.uuidv7(),
    workspace_id text NOT NULL,
    platform text,
    type text NOT NULL,
    version int2 NOT NULL,
    actor_type text NOT NULL DEFAULT 'user',
    initiator_id text,
    recipient_id text,
    subject_type text,
    subject_id text,
    caused_by uuid,
    metadata jsonb NOT NULL DEFAULT '{}',
    occurred_at timestamptz NOT NULL DEFAULT now(),
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id, occurred_at)
) PARTITION BY RANGE (occurred_at);
-- workspace feed
CREATE INDEX plain_activities_feed_idx
    ON bench.plain_activities (workspace_id, occurred_at DESC, id DESC) INCLUDE (type);
-- entity feed
CREATE INDEX plain_activities_subject_idx
    ON bench.plain_activities (workspace_id, subject_type, subject_id, occurred_at DESC, id DESC)
    WHERE subject_id IS NOT NULL;
-- actor feed
CREATE INDEX plain_activities_initiator_idx
    ON bench.plain_activities (workspace_id, initiator_id, occurred_at DESC, id DESC)
    WHERE initiator_id IS NOT NULL;
-- recipient feed
CREATE INDEX plain_activities_recipient_idx
    ON bench.plain_activities (workspace_id, recipient_id, occurred_at DESC, id DESC)
    WHERE recipient_id IS NOT NULL;
-- every workspace: partial on a condition every row meets (occurred_at is
-- finite), as in activity.activities, so that only a query that names the
-- condition uses it (the all-workspaces listing); the DEFAULT partition's
-- only time index
CREATE INDEX plain_activities_time_idx
    ON bench.plain_activities (occurred_at DESC, id DESC)
    WHERE occurred_at > '-infinity'::timestamptz;
CREATE TABLE bench.plain_activities_default PARTITION OF bench.plain_activities DEFAULT;

DO $$
DECLARE
    p record;
BEGIN
    FOR p IN SELECT * FROM activity.partitions() WHERE NOT is_default LOOP
        EXECUTE format('CREATE TABLE bench.%I PARTITION OF bench.plain_activities FOR VALUES FROM (%L) TO (%L)',
                       'plain_activities_p' || to_char(p.lower AT TIME ZONE 'UTC', 'YYYYMMDD'),
                       p.lower, p.upper);
    END LOOP;
END;
$$;

-- Sanity: the two tables have the same partition bounds, and every partition
-- of both the same indexes (definitions with the table and index names taken
-- out).
DO $$
BEGIN
    IF (SELECT array_agg(pg_get_expr(c.relpartbound, c.oid) ORDER BY 1)
          FROM pg_partition_tree('activity.activities') t JOIN pg_class c ON c.oid = t.relid WHERE t.isleaf)
       IS DISTINCT FROM
       (SELECT array_agg(pg_get_expr(c.relpartbound, c.oid) ORDER BY 1)
          FROM pg_partition_tree('bench.plain_activities') t JOIN pg_class c ON c.oid = t.relid WHERE t.isleaf)
    THEN
        RAISE EXCEPTION 'baseline partitions differ from activity.activities';
    END IF;
    -- (activity.activities' partitions have no primary key: activity.event_ids
    -- keeps ids unique; its workspace feed index is unique, the baseline's not;
    -- the change feed's (xact_id, id) index has no counterpart in a plain
    -- table: its cost is part of what the extension does)
    IF (SELECT array_agg(x.bound || ': ' || x.def ORDER BY x.bound, x.def) FROM (
            SELECT pg_get_expr(c.relpartbound, c.oid) AS bound,
                   regexp_replace(pg_get_indexdef(i.indexrelid), '^CREATE (UNIQUE )?INDEX \S+ ON \S+ ', '') AS def
            FROM pg_partition_tree('activity.activities') t JOIN pg_class c ON c.oid = t.relid
            JOIN pg_index i ON i.indrelid = t.relid WHERE t.isleaf
              AND pg_get_indexdef(i.indexrelid) !~ 'USING btree \(xact_id, id\)$'
            UNION ALL
            SELECT pg_get_expr(c.relpartbound, c.oid), 'USING btree (id, occurred_at)'
            FROM pg_partition_tree('activity.activities') t JOIN pg_class c ON c.oid = t.relid WHERE t.isleaf) x)
       IS DISTINCT FROM
       (SELECT array_agg(x.bound || ': ' || x.def ORDER BY x.bound, x.def) FROM (
            SELECT pg_get_expr(c.relpartbound, c.oid) AS bound,
                   regexp_replace(pg_get_indexdef(i.indexrelid), '^CREATE (UNIQUE )?INDEX \S+ ON \S+ ', '') AS def
            FROM pg_partition_tree('bench.plain_activities') t JOIN pg_class c ON c.oid = t.relid
            JOIN pg_index i ON i.indrelid = t.relid WHERE t.isleaf) x)
    THEN
        RAISE EXCEPTION 'baseline indexes differ from activity.activities';
    END IF;
END;
$$;

-- The cursors of activity.page() at given depths of a workspace's feed, found
-- by paging with page() itself (200 rows a call): the cursor at depth d is
-- the one of the d-th row, so page(ws, after => it) starts at row d + 1.
CREATE FUNCTION bench.page_cursors(ws text, depths int[])
RETURNS TABLE (at_depth int, page_cursor activity.cursor)
LANGUAGE plpgsql AS $$
DECLARE
    cur activity.cursor := NULL;
    seen int := 0;
    target int;
    got int;
    r record;
BEGIN
    FOREACH target IN ARRAY (SELECT array_agg(d ORDER BY d) FROM unnest(depths) d) LOOP
        WHILE seen < target LOOP
            got := 0;
            FOR r IN SELECT p.cursor FROM activity.page(ws, cur, least(200, target - seen)) p LOOP
                cur := r.cursor;
                got := got + 1;
            END LOOP;
            EXIT WHEN got = 0;
            seen := seen + got;
        END LOOP;
        IF seen = target THEN
            at_depth := target;
            page_cursor := cur;
            RETURN NEXT;
        END IF;
    END LOOP;
END;
$$;
