-- Do the C trigger (with the registered schemas) and the hand-written PL/pgSQL
-- trigger accept and refuse the same rows? Each case is inserted into
-- activity.activities and into bench.plpgsql_activities and rolled back.
-- Prints one line per case that the two disagree on (or that goes against its
-- expectation), then: cases|expected outcomes by C|expected outcomes by PL/pgSQL
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

-- NULL when the row is accepted, else "SQLSTATE: message"
CREATE FUNCTION bench.try_insert(tbl regclass, r jsonb)
RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        EXECUTE format('INSERT INTO %s (workspace_id, platform, type, actor_type, initiator_id, recipient_id,'
                       ' subject_type, subject_id, metadata, occurred_at)'
                       ' SELECT workspace_id, platform, type, actor_type, initiator_id, recipient_id,'
                       ' subject_type, subject_id, metadata, now()'
                       ' FROM jsonb_to_record($1) AS x(workspace_id text, platform text, type text, actor_type text,'
                       ' initiator_id text, recipient_id text, subject_type text, subject_id text, metadata jsonb)', tbl)
            USING r;
        RAISE EXCEPTION 'accepted' USING ERRCODE = 'P0099';
    EXCEPTION
        WHEN SQLSTATE 'P0099' THEN
            RETURN NULL;
        WHEN OTHERS THEN
            RETURN SQLSTATE || ': ' || SQLERRM;
    END;
END;
$$;

CREATE TEMP TABLE cases (n serial, valid boolean, what text, base text, patch jsonb);
-- base rows, valid for their type; a case is its base row with "patch" merged
-- in (a "metadata" key in patch replaces the whole metadata)
CREATE TEMP TABLE bases (base text PRIMARY KEY, r jsonb);
INSERT INTO bases VALUES
('post', '{"workspace_id": "ws-0001", "type": "post.created", "actor_type": "user", "initiator_id": "user-1",
          "subject_type": "post", "subject_id": "p-1",
          "metadata": {"post_id": "p-1", "topic_id": "t-1", "title": "A title", "raw_length": 10,
                       "category": "help", "tags": ["postgres", "sql"]}}'),
('comment', '{"workspace_id": "ws-0001", "type": "comment.created", "actor_type": "user", "initiator_id": "user-1",
             "metadata": {"comment_id": "c-2", "post_id": "p-1", "excerpt": "Thanks", "reply_to": "c-1"}}'),
('reaction', '{"workspace_id": "ws-0001", "type": "reaction.added", "actor_type": "user", "initiator_id": "user-1",
              "metadata": {"post_id": "p-1", "emoji": "tada"}}'),
('topic', '{"workspace_id": "ws-0001", "type": "topic.created", "actor_type": "user", "initiator_id": "user-1",
           "metadata": {"topic_id": "t-1", "title": "Release notes", "category": "announcements"}}'),
('award', '{"workspace_id": "ws-0001", "type": "award.given", "actor_type": "user", "initiator_id": "user-1",
           "recipient_id": "user-2",
           "metadata": {"award_id": "a-1", "award_name": "Mentor", "points": 50, "reason": "Helpful answers"}}'),
('follow', '{"workspace_id": "ws-0001", "type": "user.followed", "actor_type": "user", "initiator_id": "user-1",
            "recipient_id": "user-2", "metadata": {"source": "profile"}}'),
('join', '{"workspace_id": "ws-0001", "type": "member.joined", "actor_type": "user", "initiator_id": "user-1",
          "metadata": {"via": "invite", "invite_code": "a1B2c3D4"}}'),
('login', '{"workspace_id": "ws-0001", "type": "site.auth.login_failure", "actor_type": "user", "initiator_id": "user-1",
           "metadata": {"reason": "locked", "ip": "192.168.10.1", "user_agent": "curl/8.0", "attempt": 3,
                        "client": {"os": "linux", "app_version": "3.12.1"}}}'),
('issue', '{"workspace_id": "ws-0001", "type": "issue.updated", "actor_type": "agent", "initiator_id": "bot-1",
           "subject_type": "issue", "subject_id": "i-1",
           "metadata": {"issue_id": "i-1", "changes": {"status": {"from": "open", "to": "done"}},
                        "due_at": "2026-12-01T10:00:00Z"}}'),
('chat', '{"workspace_id": "ws-0001", "type": "CHAT_MESSAGE_DELETE", "platform": "discord", "actor_type": "user",
          "initiator_id": "user-1",
          "metadata": {"message_id": "m-1", "channel_id": "ch-1", "deleted_by": "moderator", "original_length": 12}}');

INSERT INTO cases (valid, what, base, patch) VALUES
-- accepted: the base rows, and valid variations
(true, 'post.created as generated', 'post', '{}'),
(true, 'comment.created as generated', 'comment', '{}'),
(true, 'reaction.added as generated', 'reaction', '{}'),
(true, 'topic.created as generated', 'topic', '{}'),
(true, 'award.given as generated', 'award', '{}'),
(true, 'user.followed as generated', 'follow', '{}'),
(true, 'member.joined as generated', 'join', '{}'),
(true, 'site.auth.login_failure as generated', 'login', '{}'),
(true, 'issue.updated as generated', 'issue', '{}'),
(true, 'CHAT_MESSAGE_DELETE as generated', 'chat', '{}'),
(true, 'post.created: required properties only', 'post', '{"metadata": {"post_id": "p-1", "topic_id": "t-1", "title": "x"}}'),
(true, 'post.created: raw_length 7.0 is an integer', 'post', '{"metadata": {"post_id": "p-1", "topic_id": "t-1", "title": "x", "raw_length": 7.0}}'),
(true, 'post.created: title of 200 characters', 'post', jsonb_build_object('metadata', jsonb_build_object('post_id', 'p-1', 'topic_id', 't-1', 'title', repeat('é', 200)))),
(true, 'reaction.added: extra property (open schema)', 'reaction', '{"metadata": {"post_id": "p-1", "emoji": "+1", "source": "mobile"}}'),
(true, 'site.auth.login_failure: system actor, no initiator', 'login', '{"actor_type": "system", "initiator_id": null}'),
(true, 'issue.updated: due_at with offset and fraction', 'issue', '{"metadata": {"issue_id": "i-1", "changes": {"priority": {"from": "p3", "to": "p0"}}, "due_at": "2026-12-01T10:00:00.250+02:00"}}'),
(true, 'CHAT_MESSAGE_DELETE on slack', 'chat', '{"platform": "slack"}'),
-- refused: the registry's rules
(false, 'unknown type', 'post', '{"type": "post.published"}'),
(false, 'empty workspace_id', 'post', '{"workspace_id": ""}'),
(false, 'invalid actor_type', 'post', '{"actor_type": "robot"}'),
(false, 'user actor without initiator', 'post', '{"initiator_id": null}'),
(false, 'subject_type without subject_id', 'post', '{"subject_id": null}'),
(false, 'award.given without recipient', 'award', '{"recipient_id": null}'),
(false, 'member.joined with a recipient', 'join', '{"recipient_id": "user-2"}'),
(false, 'site.auth.login_failure by an agent', 'login', '{"actor_type": "agent"}'),
(false, 'issue.updated by the system', 'issue', '{"actor_type": "system", "initiator_id": null}'),
(false, 'CHAT_MESSAGE_DELETE without platform', 'chat', '{"platform": null}'),
(false, 'CHAT_MESSAGE_DELETE on irc', 'chat', '{"platform": "irc"}'),
(false, 'metadata is an array', 'post', '{"metadata": [1, 2]}'),
-- refused: the schemas
(false, 'post.created: title missing', 'post', '{"metadata": {"post_id": "p-1", "topic_id": "t-1"}}'),
(false, 'post.created: post_id does not match ^p-[0-9]+$', 'post', '{"metadata": {"post_id": "42", "topic_id": "t-1", "title": "x"}}'),
(false, 'post.created: post_id is a number', 'post', '{"metadata": {"post_id": 42, "topic_id": "t-1", "title": "x"}}'),
(false, 'post.created: title of 201 characters', 'post', jsonb_build_object('metadata', jsonb_build_object('post_id', 'p-1', 'topic_id', 't-1', 'title', repeat('x', 201)))),
(false, 'post.created: empty title', 'post', '{"metadata": {"post_id": "p-1", "topic_id": "t-1", "title": ""}}'),
(false, 'post.created: additional property', 'post', '{"metadata": {"post_id": "p-1", "topic_id": "t-1", "title": "x", "author": "u-1"}}'),
(false, 'post.created: raw_length -1', 'post', '{"metadata": {"post_id": "p-1", "topic_id": "t-1", "title": "x", "raw_length": -1}}'),
(false, 'post.created: raw_length 1.5', 'post', '{"metadata": {"post_id": "p-1", "topic_id": "t-1", "title": "x", "raw_length": 1.5}}'),
(false, 'post.created: category not in enum', 'post', '{"metadata": {"post_id": "p-1", "topic_id": "t-1", "title": "x", "category": "news"}}'),
(false, 'post.created: tag with upper case', 'post', '{"metadata": {"post_id": "p-1", "topic_id": "t-1", "title": "x", "tags": ["Postgres"]}}'),
(false, 'post.created: tag of 31 characters', 'post', jsonb_build_object('metadata', jsonb_build_object('post_id', 'p-1', 'topic_id', 't-1', 'title', 'x', 'tags', jsonb_build_array(repeat('a', 31))))),
(false, 'post.created: 11 tags', 'post', '{"metadata": {"post_id": "p-1", "topic_id": "t-1", "title": "x", "tags": ["a","b","c","d","e","f","g","h","i","j","k"]}}'),
(false, 'post.created: tag is a number', 'post', '{"metadata": {"post_id": "p-1", "topic_id": "t-1", "title": "x", "tags": [1]}}'),
(false, 'comment.created: reply_to "42"', 'comment', '{"metadata": {"comment_id": "c-2", "post_id": "p-1", "reply_to": "42"}}'),
(false, 'comment.created: excerpt of 281 characters', 'comment', jsonb_build_object('metadata', jsonb_build_object('comment_id', 'c-2', 'post_id', 'p-1', 'excerpt', repeat('x', 281)))),
(false, 'reaction.added: emoji not in enum', 'reaction', '{"metadata": {"post_id": "p-1", "emoji": "thumbs"}}'),
(false, 'reaction.added: post_id missing', 'reaction', '{"metadata": {"emoji": "tada"}}'),
(false, 'topic.created: category missing', 'topic', '{"metadata": {"topic_id": "t-1", "title": "x"}}'),
(false, 'award.given: points 0', 'award', '{"metadata": {"award_id": "a-1", "award_name": "Mentor", "points": 0}}'),
(false, 'award.given: points 1001', 'award', '{"metadata": {"award_id": "a-1", "award_name": "Mentor", "points": 1001}}'),
(false, 'award.given: points "10"', 'award', '{"metadata": {"award_id": "a-1", "award_name": "Mentor", "points": "10"}}'),
(false, 'user.followed: source not in enum', 'follow', '{"metadata": {"source": "feed"}}'),
(false, 'member.joined: invite_code "abc"', 'join', '{"metadata": {"via": "invite", "invite_code": "abc"}}'),
(false, 'site.auth.login_failure: ip 10.0.0.256', 'login', '{"metadata": {"reason": "locked", "ip": "10.0.0.256"}}'),
(false, 'site.auth.login_failure: attempt 0', 'login', '{"metadata": {"reason": "locked", "ip": "10.0.0.1", "attempt": 0}}'),
(false, 'site.auth.login_failure: client.arch not allowed', 'login', '{"metadata": {"reason": "locked", "ip": "10.0.0.1", "client": {"os": "linux", "arch": "x64"}}}'),
(false, 'site.auth.login_failure: client.app_version "3.1"', 'login', '{"metadata": {"reason": "locked", "ip": "10.0.0.1", "client": {"os": "linux", "app_version": "3.1"}}}'),
(false, 'issue.updated: no changes', 'issue', '{"metadata": {"issue_id": "i-1", "changes": {}}}'),
(false, 'issue.updated: status.to not in enum', 'issue', '{"metadata": {"issue_id": "i-1", "changes": {"status": {"from": "open", "to": "unknown"}}}}'),
(false, 'issue.updated: status.to missing', 'issue', '{"metadata": {"issue_id": "i-1", "changes": {"status": {"from": "open"}}}}'),
(false, 'issue.updated: due_at "tomorrow"', 'issue', '{"metadata": {"issue_id": "i-1", "changes": {"status": {"from": "open", "to": "done"}}, "due_at": "tomorrow"}}'),
(false, 'issue.updated: additional property', 'issue', '{"metadata": {"issue_id": "i-1", "changes": {"status": {"from": "open", "to": "done"}}, "title": "x"}}'),
(false, 'CHAT_MESSAGE_DELETE: deleted_by not in enum', 'chat', '{"metadata": {"message_id": "m-1", "channel_id": "ch-1", "deleted_by": "admin"}}'),
(false, 'CHAT_MESSAGE_DELETE: channel_id "general"', 'chat', '{"metadata": {"message_id": "m-1", "channel_id": "general", "deleted_by": "bot"}}');

CREATE TEMP TABLE outcomes AS
SELECT c.n, c.valid, c.what,
       bench.try_insert('activity.activities', b.r || c.patch) AS c_error,
       bench.try_insert('bench.plpgsql_activities', b.r || c.patch) AS plpgsql_error
FROM cases c JOIN bases b USING (base)
ORDER BY c.n;

SELECT format('case %s (%s): C %s, PL/pgSQL %s', n, what,
              coalesce(c_error, 'accepted'), coalesce(plpgsql_error, 'accepted'))
FROM outcomes
WHERE (c_error IS NULL) <> valid OR (plpgsql_error IS NULL) <> valid;

SELECT count(*), count(*) FILTER (WHERE (c_error IS NULL) = valid),
       count(*) FILTER (WHERE (plpgsql_error IS NULL) = valid),
       count(*) FILTER (WHERE valid)
FROM outcomes;
