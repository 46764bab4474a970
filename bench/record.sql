-- Ingest through the extension: one validated activity per transaction.
-- Workspace skew matches the loaded data: 3 busy workspaces get 60% of the
-- events, 20 medium ones 25%, a tail of 1000 small ones 15%.
-- Types 1-2 require a recipient; the others take none here.
\set r random(1, 100)
\set w case when :r <= 30 then 1 when :r <= 50 then 2 when :r <= 60 then 3 when :r <= 85 then random(4, 23) else random(24, 1023) end
\set t random(1, 8)
\set u random(1, 100000)
\set p random(1, 10000000)
SELECT activity.record(
    'ws-' || lpad(:w::text, 4, '0'),
    (ARRAY['award.given', 'user.followed', 'post.created', 'comment.created',
           'reaction.added', 'topic.created', 'post.edited', 'issue.created'])[:t::int],
    'user-' || :u::int,
    jsonb_build_object('post_id', :p::int, 'title', 'Post title ' || :p::int,
                       'topic_id', :p::int / 100, 'raw_length', :p::int % 5000),
    CASE WHEN :t::int <= 2 THEN 'user-' || (:u::int + 1) END);
