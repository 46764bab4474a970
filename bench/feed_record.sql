-- Ingestion through record(), one event per transaction, for bench/feed.sh:
-- four of the types of feed_schema.sql, each with a JSON Schema its metadata
-- is validated against. Workspace skew as in record.sql.
\set r random(1, 100)
\set w case when :r <= 30 then 1 when :r <= 50 then 2 when :r <= 60 then 3 when :r <= 85 then random(4, 23) else random(24, 1023) end
\set t random(1, 4)
\set u random(1, 100000)
\set p random(1, 10000000)
SELECT activity.record(
    'ws-' || lpad(:w::text, 4, '0'),
    (ARRAY['post.created', 'comment.created', 'reaction.added', 'user.followed'])[:t::int],
    'user-' || :u::int,
    CASE :t::int
    WHEN 1 THEN jsonb_build_object('post_id', 'p-' || :p::int, 'topic_id', 't-' || :p::int / 100,
                                   'title', 'Post title ' || :p::int, 'raw_length', :p::int % 5000)
    WHEN 2 THEN jsonb_build_object('comment_id', 'c-' || :p::int, 'post_id', 'p-' || :p::int / 3,
                                   'excerpt', 'Thanks, that worked for me after I raised work_mem.')
    WHEN 3 THEN jsonb_build_object('post_id', 'p-' || :p::int / 3, 'emoji', 'heart')
    ELSE jsonb_build_object('source', 'profile') END,
    CASE WHEN :t::int = 4 THEN 'user-' || (:u::int + 1) END);
