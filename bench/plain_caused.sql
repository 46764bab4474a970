-- The same pair written by hand into the baseline table: the second row
-- points at the first one's id, with no check.
\set r random(1, 100)
\set w case when :r <= 30 then 1 when :r <= 50 then 2 when :r <= 60 then 3 when :r <= 85 then random(4, 23) else random(24, 1023) end
\set u random(1, 100000)
\set p random(1, 10000000)
BEGIN;
INSERT INTO bench.plain_activities
    (id, workspace_id, platform, type, version, actor_type, initiator_id, metadata, occurred_at, recorded_at)
VALUES (activity.uuidv7(), 'ws-' || lpad(:w::text, 4, '0'), 'discord', 'CHAT_MESSAGE_DELETE', 0, 'user',
        'user-' || :u::int,
        jsonb_build_object('message_id', :p::int, 'channel_id', :p::int % 1000, 'reason', 'spam'),
        now(), now())
RETURNING id AS cause \gset
INSERT INTO bench.plain_activities
    (id, workspace_id, platform, type, version, actor_type, initiator_id, caused_by, metadata, occurred_at, recorded_at)
VALUES (activity.uuidv7(), 'ws-' || lpad(:w::text, 4, '0'), 'discord', 'MODERATION_LINK', 0, 'system',
        NULL, :cause::uuid,
        jsonb_build_object('message_id', :p::int, 'rule', 'link-filter'),
        now(), now())
RETURNING id;
COMMIT;
