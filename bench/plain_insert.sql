-- The same event written by hand into the unvalidated baseline table: same
-- values, same generated jsonb, a UUIDv7 id, version 0, no trigger.
\set r random(1, 100)
\set w case when :r <= 30 then 1 when :r <= 50 then 2 when :r <= 60 then 3 when :r <= 85 then random(4, 23) else random(24, 1023) end
\set t random(1, 8)
\set u random(1, 100000)
\set p random(1, 10000000)
INSERT INTO bench.plain_activities
    (id, workspace_id, type, version, actor_type, initiator_id, recipient_id,
     metadata, occurred_at, recorded_at)
VALUES (
    activity.uuidv7(),
    'ws-' || lpad(:w::text, 4, '0'),
    (ARRAY['award.given', 'user.followed', 'post.created', 'comment.created',
           'reaction.added', 'topic.created', 'post.edited', 'issue.created'])[:t::int],
    0, 'user',
    'user-' || :u::int,
    CASE WHEN :t::int <= 2 THEN 'user-' || (:u::int + 1) END,
    jsonb_build_object('post_id', :p::int, 'title', 'Post title ' || :p::int,
                       'topic_id', :p::int / 100, 'raw_length', :p::int % 5000),
    now(), now())
RETURNING id;
