-- The bundled catalogue: the event types of the three systems the product
-- documents describe, registered with activity.register_type().
-- Idempotent: running it again changes nothing.

-- Community platform activity logs (seed 000/001)
SELECT activity.register_type(t.name, t.description, recipient => t.recipient)
FROM (VALUES
    ('award.given', 'An award was given to a member.', 'required'),
    ('badge.given', 'A badge was given to a member.', 'required'),
    ('calendar_event.user_registered', 'A member registered for a calendar event.', 'optional'),
    ('calendar_event.user_unregistered', 'A member unregistered from a calendar event.', 'optional'),
    ('comment.created', 'A member commented on a post.', 'optional'),
    ('comment.deleted', 'A comment was deleted.', 'optional'),
    ('comment.edited', 'A comment was edited.', 'optional'),
    ('credential.given', 'A credential was given to a member.', 'required'),
    ('journey.completed', 'A member completed a journey.', 'forbidden'),
    ('milestone.completed', 'A member completed a milestone.', 'forbidden'),
    ('poll.created', 'A poll was created.', 'forbidden'),
    ('poll.vote_added', 'A member voted on a poll.', 'forbidden'),
    ('post.created', 'A member created a new post.', 'forbidden'),
    ('post.deleted', 'A post was deleted.', 'optional'),
    ('post.edited', 'A post was edited.', 'optional'),
    ('site.auth.login_failure', 'An authentication attempt on the companion site failed.', 'forbidden'),
    ('site.auth.login_success', 'A member successfully authenticated on the companion site.', 'forbidden'),
    ('slack_message.created', 'A top-level Slack message was posted in a community channel.', 'optional'),
    ('slack_message.threaded_reply.created', 'A threaded reply was posted in a community channel.', 'optional'),
    ('slack_reaction.added', 'An emoji reaction was added to a Slack message.', 'optional'),
    ('slack_reaction.removed', 'An emoji reaction was removed from a Slack message.', 'optional'),
    ('workspace.user_joined', 'A user joined the Slack workspace.', 'forbidden')
) AS t(name, description, recipient);

-- Workspace activity API (seed 002): issue actions by users and agents
-- (each about an issue: subject_type 'issue' and the issue's id as subject_id)
SELECT activity.register_type('issue.created', 'An issue was created.', recipient => 'forbidden',
                              actor_types => '{user,agent}', subject_type => 'issue');
SELECT activity.register_type('issue.updated', 'An issue was modified.', recipient => 'forbidden',
                              actor_types => '{user,agent}', subject_type => 'issue');
SELECT activity.register_type('issue.deleted', 'An issue was deleted.', recipient => 'forbidden',
                              actor_types => '{user,agent}', subject_type => 'issue');

-- Moderation bot analytics (seed 003): three tiers of types.
-- The universal types, each with the platforms that support it (the seed's
-- "Supported" column: All, or Discord only)
SELECT activity.register_universal_type(u.name, u.description, u.platforms)
FROM (VALUES
    ('USER_JOIN', 'A user joined the property.', NULL::text[]),
    ('USER_REMOVE', 'A user was removed from the property, or left it.', NULL),
    ('USER_BAN', 'A user was banned from the property by the platform.', NULL),
    ('USER_BAN_REMOVE', 'A user ban was removed.', '{discord}'),
    ('USER_UPDATE', 'A member updated visible attributes of their account, or was updated.', NULL),
    ('CHAT_MESSAGE', 'A chat message was created.', NULL),
    ('CHAT_MESSAGE_DELETE', 'A chat message was deleted.', '{discord}'),
    ('CHANNEL_CREATE', 'A channel or thread was created.', '{discord}'),
    ('CHANNEL_DELETE', 'A channel or thread was deleted.', '{discord}'),
    ('VERIFICATION_SUCCESS', 'Synthetic: a user completed the verification flow.', NULL),
    ('VERIFICATION_FAILURE', 'Synthetic: a user failed the verification flow.', NULL),
    ('PROPERTY_UPDATE', 'The settings of the property on its platform changed.', NULL),
    ('PROPERTY_INVITE_CREATE', 'An invite to join the property was created.', '{discord}'),
    ('PROPERTY_INVITE_DELETE', 'An invite to join the property was deleted.', '{discord}'),
    ('MODERATION_LINK', 'Synthetic: a chat message was deleted by link filtering.', NULL),
    ('SECURITY_EVENT', 'Synthetic: a security violation was detected on the property.', NULL)
) AS u(name, description, platforms);

-- ... recorded as such (the seed's event_type). The synthetic ones are
-- recorded by the bot's own functions (the function type) as the system;
-- MODERATION_LINK accompanies the CHAT_MESSAGE_DELETE that caused it.
SELECT activity.register_type(t.name, t.description, universal_type => t.name,
                              platforms => t.platforms, actor_types => t.actors,
                              function_types => t.functions, caused_by => t.causes)
FROM (VALUES
    ('USER_JOIN', 'A user joined the property.', NULL::text[], '{user}'::text[], NULL::text[], NULL::text[]),
    ('USER_REMOVE', 'A user was removed from the property, or left it.', NULL, '{user,agent}', NULL, NULL),
    ('USER_BAN', 'A user was banned from the property by the platform.', NULL, '{user,agent}', NULL, NULL),
    ('USER_BAN_REMOVE', 'A user ban was removed.', '{discord}', '{user,agent}', NULL, NULL),
    ('USER_UPDATE', 'A member updated visible attributes of their account, or was updated.', NULL, '{user,agent}', NULL, NULL),
    ('CHAT_MESSAGE', 'A chat message was created.', NULL, '{user,agent}', NULL, NULL),
    ('CHAT_MESSAGE_DELETE', 'A chat message was deleted.', '{discord}', '{user,agent,system}', NULL, NULL),
    ('CHANNEL_CREATE', 'A channel or thread was created.', '{discord}', '{user,agent}', NULL, NULL),
    ('CHANNEL_DELETE', 'A channel or thread was deleted.', '{discord}', '{user,agent}', NULL, NULL),
    ('VERIFICATION_SUCCESS', 'Synthetic: a user completed the verification flow.', NULL, '{system}', '{verificationFlow}', NULL),
    ('VERIFICATION_FAILURE', 'Synthetic: a user failed the verification flow.', NULL, '{system}', '{verificationFlow}', NULL),
    ('PROPERTY_UPDATE', 'The settings of the property on its platform changed.', NULL, '{user,agent}', NULL, NULL),
    ('PROPERTY_INVITE_CREATE', 'An invite to join the property was created.', '{discord}', '{user,agent}', NULL, NULL),
    ('PROPERTY_INVITE_DELETE', 'An invite to join the property was deleted.', '{discord}', '{user,agent}', NULL, NULL),
    ('MODERATION_LINK', 'Synthetic: a chat message was deleted by link filtering.', NULL, '{system}',
     '{linkFilter}', '{CHAT_MESSAGE_DELETE}'),
    ('SECURITY_EVENT', 'Synthetic: a security violation was detected on the property.', NULL, '{system}',
     '{impersonationScan,integrationAudit,exploitDetection}', NULL)
) AS t(name, description, platforms, actors, functions, causes);

-- ... and the platform-specific types, named as each platform's framework
-- names the event (discord.js, the Telegram Bot API, Twitch EventSub, Bukkit,
-- the Slack Events API), mapped onto the universal types their platform
-- supports. (Twitch's channel.unban maps onto nothing: USER_BAN_REMOVE is
-- supported on Discord only.)
SELECT activity.register_type(t.name, t.description, universal_type => t.universal)
FROM (VALUES
    ('discord:guildMemberAdd', 'Discord: a member joined the server.', 'USER_JOIN'),
    ('discord:guildMemberRemove', 'Discord: a member left or was kicked.', 'USER_REMOVE'),
    ('discord:guildBanAdd', 'Discord: a member was banned.', 'USER_BAN'),
    ('discord:guildBanRemove', 'Discord: a ban was lifted.', 'USER_BAN_REMOVE'),
    ('discord:guildMemberUpdate', 'Discord: a member''s nickname, roles or avatar changed.', 'USER_UPDATE'),
    ('discord:messageCreate', 'Discord: a message was posted.', 'CHAT_MESSAGE'),
    ('discord:messageDelete', 'Discord: a message was deleted.', 'CHAT_MESSAGE_DELETE'),
    ('discord:channelCreate', 'Discord: a channel was created.', 'CHANNEL_CREATE'),
    ('discord:channelDelete', 'Discord: a channel was deleted.', 'CHANNEL_DELETE'),
    ('discord:threadCreate', 'Discord: a thread was created.', 'CHANNEL_CREATE'),
    ('discord:threadDelete', 'Discord: a thread was deleted.', 'CHANNEL_DELETE'),
    ('discord:guildUpdate', 'Discord: the server''s settings changed.', 'PROPERTY_UPDATE'),
    ('discord:inviteCreate', 'Discord: an invite was created.', 'PROPERTY_INVITE_CREATE'),
    ('discord:inviteDelete', 'Discord: an invite was deleted.', 'PROPERTY_INVITE_DELETE'),
    ('telegram:new_chat_members', 'Telegram: users entered the chat.', 'USER_JOIN'),
    ('telegram:left_chat_member', 'Telegram: a user left or was removed from the chat.', 'USER_REMOVE'),
    ('telegram:banChatMember', 'Telegram: a user was banned from the chat.', 'USER_BAN'),
    ('telegram:message', 'Telegram: a message was posted.', 'CHAT_MESSAGE'),
    ('telegram:new_chat_title', 'Telegram: the chat was renamed.', 'PROPERTY_UPDATE'),
    ('twitch:channel.follow', 'Twitch: a user followed the channel.', 'USER_JOIN'),
    ('twitch:channel.ban', 'Twitch: a user was banned from the channel.', 'USER_BAN'),
    ('twitch:channel.unban', 'Twitch: a ban was lifted.', NULL),
    ('twitch:channel.chat.message', 'Twitch: a chat message was sent.', 'CHAT_MESSAGE'),
    ('twitch:channel.update', 'Twitch: the channel''s title or category changed.', 'PROPERTY_UPDATE'),
    ('minecraft:PlayerJoinEvent', 'Minecraft: a player joined the server.', 'USER_JOIN'),
    ('minecraft:PlayerQuitEvent', 'Minecraft: a player left the server.', 'USER_REMOVE'),
    ('minecraft:PlayerKickEvent', 'Minecraft: a player was kicked.', 'USER_REMOVE'),
    ('minecraft:AsyncPlayerChatEvent', 'Minecraft: a player sent a chat message.', 'CHAT_MESSAGE'),
    ('slack:member_joined_channel', 'Slack: a user joined a channel.', 'USER_JOIN'),
    ('slack:member_left_channel', 'Slack: a user left a channel.', 'USER_REMOVE'),
    ('slack:user_change', 'Slack: a user''s profile changed.', 'USER_UPDATE'),
    ('slack:message', 'Slack: a message was posted.', 'CHAT_MESSAGE')
) AS t(name, description, universal);

-- Metadata schemas (version 1) for some of them. register_schema() adds a
-- version on every call, so they are registered only where none exists yet.
SELECT activity.register_schema(t.name, t.schema::activity.jsonschema)
FROM (VALUES
    ('post.created', '{"type": "object",
                       "properties": {"post_id": {"type": "string"},
                                      "title": {"type": "string", "maxLength": 300},
                                      "feed": {"type": "string"}},
                       "required": ["post_id", "title"]}'),
    ('award.given', '{"type": "object",
                      "properties": {"award": {"type": "string", "minLength": 1}},
                      "required": ["award"], "additionalProperties": false}'),
    ('issue.created', '{"type": "object",
                        "properties": {"title": {"type": "string", "maxLength": 200},
                                       "identifier": {"type": "string", "pattern": "^[A-Z]+-[0-9]+$"}},
                        "required": ["title", "identifier"]}'),
    ('issue.updated', '{"type": "object",
                        "properties": {"changes": {"type": "object", "minProperties": 1}},
                        "required": ["changes"]}'),
    ('issue.deleted', '{"type": "object",
                        "properties": {"title": {"type": "string"},
                                       "identifier": {"type": "string"}}}')
) AS t(name, schema)
WHERE NOT EXISTS (SELECT 1 FROM activity.schemas s WHERE s.type = t.name);
