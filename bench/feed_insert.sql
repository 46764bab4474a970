-- The same event as feed_record.sql written by a plain INSERT INTO
-- activity.activities, for bench/feed.sh: same values, same generated jsonb,
-- a UUIDv7 id, version 1 (the row carries its version: the completion
-- trigger does not fire); the validation constraint checks it as it checks
-- record()'s rows, xact_id is its column default.
\set r random(1, 100)
\set w case when :r <= 30 then 1 when :r <= 50 then 2 when :r <= 60 then 3 when :r <= 85 then random(4, 23) else random(24, 1023) end
\set t random(1, 4)
\set u random(1, 100000)
\set p random(1, 10000000)
INSERT INTO activity.activities
    (id, workspace_id, type, version, actor_type, initiator_id, recipient_id,
     metadata, occurred_at, recorded_at)
VALUES (
    activity.uuidv7(),
    'ws-' || lpad(:w::text, 4, '0'),
    (ARRAY['post.created', 'comment.created', 'reaction.added', 'user.followed'])[:t::int],
    1, 'user',
    'user-' || :u::int,
    CASE WHEN :t::int = 4 THEN 'user-' || (:u::int + 1) END,
    CASE :t::int
    WHEN 1 THEN jsonb_build_object('post_id', 'p-' || :p::int, 'topic_id', 't-' || :p::int / 100,
                                   'title', 'Post title ' || :p::int, 'raw_length', :p::int % 5000)
    WHEN 2 THEN jsonb_build_object('comment_id', 'c-' || :p::int, 'post_id', 'p-' || :p::int / 3,
                                   'excerpt', 'Thanks, that worked for me after I raised work_mem.')
    WHEN 3 THEN jsonb_build_object('post_id', 'p-' || :p::int / 3, 'emoji', 'heart')
    ELSE jsonb_build_object('source', 'profile') END,
    now(), now())
RETURNING id;
