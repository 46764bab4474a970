-- The extension with monthly partitions and the 10 event types of the
-- validation benchmarks (no JSON Schema yet: validation_schemas.sql registers
-- them), with their twins without JSON Schema: shared by validation_schema.sql
-- (validation.sh) and feed_schema.sql (feed.sh).
-- psql variables: hist_start, until (timestamptz literals)
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

CREATE EXTENSION activity;
SELECT activity.configure(partition_interval => '1 month') \g /dev/null
SET activity.max_lock_hold = '10min';   -- every partition in one call: nobody writes yet
SELECT count(*) AS partitions_created
FROM activity.create_partitions(:'hist_start'::timestamptz, :'until'::timestamptz) \g /dev/null

-- 10 event types of the three seed systems (forum, community chat, issue tracker)
-- the universal types they map to (supported on every platform)
SELECT count(*) AS universal_types_registered FROM (
    SELECT activity.register_universal_type(u) FROM unnest('{USER_JOIN,CHAT_MESSAGE_DELETE}'::text[]) u) t \g /dev/null
SELECT count(*) AS types_registered FROM (
    SELECT activity.register_type('post.created', 'A post was published')
    UNION ALL SELECT activity.register_type('comment.created', 'A comment was written')
    UNION ALL SELECT activity.register_type('reaction.added', 'Someone reacted to a post')
    UNION ALL SELECT activity.register_type('topic.created', 'A topic was opened')
    UNION ALL SELECT activity.register_type('award.given', 'An award was given to a member', recipient => 'required')
    UNION ALL SELECT activity.register_type('user.followed', 'A member followed another', recipient => 'required')
    UNION ALL SELECT activity.register_type('member.joined', 'A member joined', universal_type => 'USER_JOIN',
                                            recipient => 'forbidden')
    UNION ALL SELECT activity.register_type('site.auth.login_failure', 'A sign-in failed', recipient => 'forbidden',
                                            actor_types => '{user,system}')
    UNION ALL SELECT activity.register_type('issue.updated', 'An issue was changed', actor_types => '{user,agent}')
    UNION ALL SELECT activity.register_type('CHAT_MESSAGE_DELETE', 'A chat message was deleted',
                                            universal_type => 'CHAT_MESSAGE_DELETE',
                                            platforms => '{discord,telegram,slack}')
) t \g /dev/null

CREATE SCHEMA bench;

-- Variant (d) of validation.sh loads the same events as types that have no
-- JSON Schema: a twin of each type, with the same rules, named ns.<type>
-- (NS_<TYPE> for upper snake case names); the second COPY file carries them.
CREATE FUNCTION bench.noschema_name(name text)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT
AS $$ SELECT CASE WHEN name ~ '^[A-Z]' THEN 'NS_' || name ELSE 'ns.' || name END $$;

SELECT count(*) AS twins_registered
FROM activity.event_types t,
     LATERAL activity.register_type(bench.noschema_name(t.name), t.description, t.universal_type,
                                    t.recipient, t.platforms, t.actor_types) \g /dev/null
