-- Sample events for the bundled catalogue, in three workspaces.
-- Dates are relative to now() so that the demo's feed looks current.

-- A community (seed 001)
SELECT activity.record('community-acme', 'post.created', 'member-ada',
                       '{"post_id": "p-1", "title": "Welcome, everyone!", "feed": "announcements"}',
                       occurred_at => now() - interval '3 days', subject_type => 'post', subject_id => 'p-1');
SELECT activity.record('community-acme', 'comment.created', 'member-bob',
                       '{"post_id": "p-1", "comment_id": "c-1"}',
                       occurred_at => now() - interval '2 days', subject_type => 'post', subject_id => 'p-1');
SELECT activity.record('community-acme', 'award.given', 'member-ada', '{"award": "Helpful"}',
                       recipient_id => 'member-bob', occurred_at => now() - interval '1 day');
SELECT activity.record('community-acme', 'site.auth.login_failure', 'member-eve',
                       '{"reason": "invalid_credentials", "method": "password"}',
                       occurred_at => now() - interval '5 hours');
SELECT activity.record('community-acme', 'site.auth.login_success', 'member-eve',
                       occurred_at => now() - interval '4 hours');
SELECT activity.record('community-acme', 'post.edited', 'member-ada',
                       '{"post_id": "p-1", "title": "Welcome, everyone! (updated)"}',
                       occurred_at => now() - interval '3 hours', subject_type => 'post', subject_id => 'p-1');
SELECT activity.record('community-acme', 'slack_message.threaded_reply.created', 'member-bob',
                       '{"channel_id": "C0GENERAL", "channel_name": "general",
                         "message_ts": "1700000000.000100", "thread_ts": "1699990000.000200"}',
                       platform => 'slack', occurred_at => now() - interval '2 hours');
-- an imported event from years ago, and one scheduled far ahead: both kept
SELECT activity.record('community-acme', 'journey.completed', 'member-ada',
                       '{"journey_id": "j-1", "name": "Onboarding 2015"}',
                       occurred_at => '2015-06-01 12:00+00');

-- A workspace with an issue tracker (seed 002): humans and agents
SELECT activity.record('ws-42', 'issue.created', 'user-7', '{"title": "Export fails", "identifier": "ENG-1"}',
                       occurred_at => now() - interval '90 minutes', subject_type => 'issue', subject_id => 'ENG-1');
SELECT activity.record('ws-42', 'issue.updated', 'triage-bot', '{"changes": {"priority": "high"}}',
                       actor_type => 'agent', occurred_at => now() - interval '80 minutes',
                       subject_type => 'issue', subject_id => 'ENG-1');

-- A moderated Discord property (seed 003): a deletion and its synthetic companion
WITH deleted AS (
    SELECT activity.record('property-9', 'discord:messageDelete', 'mod-1', '{"message_id": "m-77"}',
                           platform => 'discord', occurred_at => now() - interval '30 minutes') AS id
)
SELECT activity.record('property-9', 'MODERATION_LINK', NULL, '{"rule": "link filter", "url": "http://spam.example"}',
                       actor_type => 'system', platform => 'discord', caused_by => deleted.id,
                       function_type => 'linkFilter',
                       occurred_at => now() - interval '30 minutes')
FROM deleted;
