-- bench/analytics.sh, metadata index cost: one record() per transaction, a
-- comment with the loaded history's metadata ({"post_id", "feed", "tags"}),
-- at now() + :shift (the partition measured: with or without the GIN
-- metadata index), in one of the 521 workspaces.
\set w random(1, 521)
\set u random(0, 2999)
\set p random(0, 39999)
\set f random(0, 9)
\set t random(0, 11)
SELECT activity.record(
    'ws-' || lpad(:w::text, 4, '0'), 'comment.created', 'm-' || :u,
    jsonb_build_object('post_id', 'p-' || (:w::int * 100000 + :p::int),
                       'feed', CASE WHEN :f::int < 4 THEN 'general' ELSE (ARRAY['help', 'announcements', 'random', 'showcase'])[1 + :f::int % 4] END,
                       'tags', to_jsonb((ARRAY['help', 'bug', 'feature', 'question', 'meta', 'showcase', 'news', 'event',
                                               'guide', 'offtopic', 'release', 'feedback'])[1 + :t::int : 1 + :t::int + :f::int % 3])),
    subject_type => 'post', subject_id => 'p-' || (:w::int * 100000 + :p::int),
    occurred_at => now() + :shift::interval);
