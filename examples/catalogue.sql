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

-- Moderation bot analytics (seed 003): universal types, recorded as such
SELECT activity.register_type(t.name, t.description, universal_type => t.name,
                              platforms => t.platforms, actor_types => t.actors)
FROM (VALUES
    ('USER_JOIN', 'A user joined the property.', NULL::text[], '{user}'::text[]),
    ('USER_REMOVE', 'A user was removed from the property, or left it.', NULL, '{user,agent}'),
    ('USER_BAN', 'A user was banned from the property by the platform.', NULL, '{user,agent}'),
    ('USER_BAN_REMOVE', 'A user ban was removed.', '{discord}', '{user,agent}'),
    ('USER_UPDATE', 'A member updated visible attributes of their account, or was updated.', NULL, '{user,agent}'),
    ('CHAT_MESSAGE', 'A chat message was created.', NULL, '{user,agent}'),
    ('CHAT_MESSAGE_DELETE', 'A chat message was deleted.', '{discord}', '{user,agent,system}'),
    ('CHANNEL_CREATE', 'A channel or thread was created.', '{discord}', '{user,agent}'),
    ('CHANNEL_DELETE', 'A channel or thread was deleted.', '{discord}', '{user,agent}'),
    ('VERIFICATION_SUCCESS', 'Synthetic: a user completed the verification flow.', NULL, '{system}'),
    ('VERIFICATION_FAILURE', 'Synthetic: a user failed the verification flow.', NULL, '{system}'),
    ('PROPERTY_UPDATE', 'The settings of the property on its platform changed.', NULL, '{user,agent}'),
    ('PROPERTY_INVITE_CREATE', 'An invite to join the property was created.', '{discord}', '{user,agent}'),
    ('PROPERTY_INVITE_DELETE', 'An invite to join the property was deleted.', '{discord}', '{user,agent}'),
    ('MODERATION_LINK', 'Synthetic: a chat message was deleted by link filtering.', NULL, '{system}'),
    ('SECURITY_EVENT', 'Synthetic: a security violation was detected on the property.', NULL, '{system}')
) AS t(name, description, platforms, actors);

-- ... and platform-specific types mapped onto them
SELECT activity.register_type(t.name, t.description, universal_type => t.universal,
                              platforms => t.platforms)
FROM (VALUES
    ('discord.guild_member_add', 'Discord: a member joined the server.', 'USER_JOIN', '{discord}'::text[]),
    ('discord.message_create', 'Discord: a message was posted.', 'CHAT_MESSAGE', '{discord}'),
    ('discord.message_delete', 'Discord: a message was deleted.', 'CHAT_MESSAGE_DELETE', '{discord}'),
    ('telegram.chat_member_joined', 'Telegram: a user entered the chat.', 'USER_JOIN', '{telegram}'),
    ('telegram.message', 'Telegram: a message was posted.', 'CHAT_MESSAGE', '{telegram}'),
    ('slack.member_joined_channel', 'Slack: a user joined a channel.', 'USER_JOIN', '{slack}')
) AS t(name, description, universal, platforms);

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
