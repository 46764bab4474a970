-- Ingest through the extension: a chat message deletion and the synthetic
-- MODERATION_LINK event it caused, in one transaction (seed 003). The second
-- record() passes caused_by, which the trigger checks: it must name an
-- activity of the same workspace. Workspace skew as in record.sql.
\set r random(1, 100)
\set w case when :r <= 30 then 1 when :r <= 50 then 2 when :r <= 60 then 3 when :r <= 85 then random(4, 23) else random(24, 1023) end
\set u random(1, 100000)
\set p random(1, 10000000)
BEGIN;
SELECT activity.record(
    'ws-' || lpad(:w::text, 4, '0'), 'CHAT_MESSAGE_DELETE', 'user-' || :u::int,
    jsonb_build_object('message_id', :p::int, 'channel_id', :p::int % 1000, 'reason', 'spam'),
    platform => 'discord') AS cause \gset
SELECT activity.record(
    'ws-' || lpad(:w::text, 4, '0'), 'MODERATION_LINK', NULL,
    jsonb_build_object('message_id', :p::int, 'rule', 'link-filter'),
    actor_type => 'system', platform => 'discord', caused_by => :cause::uuid);
COMMIT;
