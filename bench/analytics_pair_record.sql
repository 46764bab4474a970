-- bench/analytics.sh, synthetic pairs through the extension: a chat message
-- deletion and the MODERATION_LINK it caused, in one transaction (seed 003).
-- MODERATION_LINK is registered with caused_by => '{CHAT_MESSAGE_DELETE}',
-- function_types => '{linkFilter}', actor_types => '{system}': record()
-- checks that the cause is an activity of the same workspace of that type,
-- that the function type and actor type are allowed.
\set w random(1, 521)
\set u random(1, 5)
\set p random(1, 100000000)
BEGIN;
SELECT activity.record(
    'ws-' || lpad(:w::text, 4, '0'), 'CHAT_MESSAGE_DELETE', 'mod-' || :u,
    jsonb_build_object('message_id', 'msg-' || :p, 'channel_id', 'c-' || (:p::int % 40), 'reason', 'link'),
    platform => 'discord') AS cause \gset
SELECT activity.record(
    'ws-' || lpad(:w::text, 4, '0'), 'MODERATION_LINK', NULL,
    jsonb_build_object('message_id', 'msg-' || :p, 'rule', 'link-filter'),
    actor_type => 'system', platform => 'discord', caused_by => :cause::uuid, function_type => 'linkFilter');
COMMIT;
