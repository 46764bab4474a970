-- bench/analytics.sh, synthetic pairs by hand: the same two rows as
-- analytics_pair_record.sql by plain INSERTs into bench.plain_pairs (the
-- columns, defaults and indexes of a partition of the log, no trigger, no
-- constraint); the second row points at the first one's id, unchecked.
-- (analytics.sh runs it also against bench.plain_parted, partitioned like the log.)
\set w random(1, 521)
\set u random(1, 5)
\set p random(1, 100000000)
BEGIN;
INSERT INTO bench.plain_pairs
    (id, workspace_id, platform, type, version, actor_type, initiator_id, metadata, occurred_at, recorded_at)
VALUES (activity.uuidv7(), 'ws-' || lpad(:w::text, 4, '0'), 'discord', 'CHAT_MESSAGE_DELETE', 0, 'user', 'mod-' || :u,
        jsonb_build_object('message_id', 'msg-' || :p, 'channel_id', 'c-' || (:p::int % 40), 'reason', 'link'),
        now(), now())
RETURNING id AS cause \gset
INSERT INTO bench.plain_pairs
    (id, workspace_id, platform, type, version, actor_type, initiator_id, caused_by, metadata, occurred_at, recorded_at, function_type)
VALUES (activity.uuidv7(), 'ws-' || lpad(:w::text, 4, '0'), 'discord', 'MODERATION_LINK', 0, 'system', NULL, :cause::uuid,
        jsonb_build_object('message_id', 'msg-' || :p, 'rule', 'link-filter'),
        now(), now(), 'linkFilter')
RETURNING id;
COMMIT;
