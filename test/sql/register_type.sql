-- activity.register_type(): names, attributes, errors, updates, and the
-- registry cache seen by the ingestion trigger
SET TIME ZONE 'UTC';
SET datestyle = 'ISO, YMD';

\i test/sql/include/expect_error.sql

-- the platforms and universal types these tests name (both are checked:
-- test/sql/type_tiers.sql)
SELECT count(*) AS registered FROM (SELECT activity.register_platform(p) FROM unnest('{forum,site}'::text[]) p) s;
SELECT count(*) AS registered FROM (SELECT activity.register_universal_type(u)
                                    FROM unnest('{CHAT_MESSAGE_CREATE,POST_CREATE,USER_JOIN}'::text[]) u) s;

-- Both naming styles are accepted: lower-case dotted and upper snake case
SELECT name, description, universal_type, recipient, platforms, actor_types
FROM activity.register_type('slack_message.threaded_reply.created', 'A threaded reply in Slack',
                            'CHAT_MESSAGE_CREATE', 'optional', '{slack}', '{user,agent}');
SELECT name, description, universal_type, recipient, platforms, actor_types
FROM activity.register_type('USER_JOIN');
SELECT name, recipient, platforms, actor_types
FROM activity.register_type(name => 'post.created', recipient => 'forbidden');
SELECT name FROM activity.register_type('a');
SELECT name FROM activity.register_type('A');
SELECT name FROM activity.register_type('site.auth.login_failure');
SELECT name FROM activity.register_type('post2.v2_created');
SELECT name FROM activity.register_type('CHAT_MESSAGE_DELETE');
SELECT name FROM activity.register_type('MODERATION_LINK2');
SELECT name FROM activity.register_type('USER_2FA');
-- 128 characters is the longest name
SELECT length(name) FROM activity.register_type('x' || repeat('y', 127));

-- Any other name is refused, and nothing is registered
SELECT count(*) AS types_before FROM activity.event_types \gset
SELECT format('%-22s', coalesce(name, '(null)')) AS name,
       pg_temp.expect_error(format('SELECT activity.register_type(%L)', name)) AS error
FROM (VALUES
    (NULL), (''), ('Post.created'), ('post.Created'), ('post..created'), ('post.'), ('.post'),
    ('post created'), ('post-created'), ('1post'), ('post.1created'), ('_post'), ('post.created!'),
    ('USER__JOIN'), ('USER_'), ('_USER'), ('USER_join'), ('User_Join'), ('USER.JOIN'), ('2FA_USER'),
    ('post.created_USER'), ('pöst.created'), ('post.created.')
) t(name);
SELECT regexp_replace(pg_temp.expect_error(format('SELECT activity.register_type(%L)', 'x' || repeat('y', 128))),
                      'xy+', 'xyyy...') AS too_long_129;
SELECT count(*) = :types_before AS nothing_registered FROM activity.event_types;

-- Universal types are upper snake case
SELECT name, universal_type FROM activity.register_type('ut.ok', universal_type => 'USER_JOIN');
SELECT format('%-18s', ut) AS universal_type,
       pg_temp.expect_error(format('SELECT activity.register_type(%L, universal_type => %L)', 'ut.bad', ut)) AS error
FROM (VALUES ('user_join'), ('User_Join'), ('USER__JOIN'), ('USER_'), ('user.join'), ('1USER')) t(ut);

-- Recipient rule: required, forbidden or optional
SELECT name, recipient FROM activity.register_type('rcpt.required', recipient => 'required');
SELECT format('%-10s', coalesce(r, '(null)')) AS recipient,
       pg_temp.expect_error(format('SELECT activity.register_type(%L, recipient => %L)', 'rcpt.bad', r)) AS error
FROM (VALUES (''), ('Required'), ('always'), ('none')) t(r);

-- Platforms: NULL (any platform) or a non-empty list of non-empty names;
-- duplicates are removed and the list is sorted
SELECT name, platforms FROM activity.register_type('plat.many', platforms => '{telegram,discord,telegram}');
SELECT name, platforms FROM activity.register_type('plat.any', platforms => NULL);
SELECT format('%-16s', p::text) AS platforms,
       pg_temp.expect_error(format('SELECT activity.register_type(%L, platforms => %L)', 'plat.bad', p)) AS error
FROM (VALUES ('{NULL}'::text[]), ('{discord,NULL}'), ('{""}'), ('{discord,""}')) t(p);

-- Actor types: a non-empty subset of {user, agent, system}, deduplicated and sorted
SELECT name, actor_types FROM activity.register_type('act.sys', actor_types => '{system,system}');
SELECT name, actor_types FROM activity.register_type('act.two', actor_types => '{user,agent}');
SELECT format('%-16s', coalesce(a::text, '(null)')) AS actor_types,
       pg_temp.expect_error(format('SELECT activity.register_type(%L, actor_types => %L)', 'act.bad', a)) AS error
FROM (VALUES ('{}'::text[]), ('{bot}'), ('{user,bot}'), ('{USER}'), ('{user,NULL}'), ('{""}')) t(a);

-- Subject type: a name without spaces; kept when omitted, removed with '',
-- each change in the type's history
SELECT name, subject_type FROM activity.register_type('subj.about', subject_type => 'issue');
SELECT name, subject_type FROM activity.register_type('subj.about', description => 'About an issue');
SELECT format('%-12s', left(s, 12)) AS subject_type,
       pg_temp.expect_error(format('SELECT activity.register_type(%L, subject_type => %L)', 'subj.bad', s)) AS error
FROM (VALUES ('an issue'), (repeat('x', 129)), (E'tab\there')) t(s);
SELECT name, subject_type FROM activity.register_type('subj.about', subject_type => 'ticket');
SELECT name, subject_type FROM activity.register_type('subj.about', subject_type => '');
SELECT change, details -> 'subject_type' AS subject_type FROM activity.type_history
WHERE type = 'subj.about' ORDER BY at, details::text;
SELECT split_part(pg_temp.expect_error($$UPDATE activity.event_types SET subject_type = '' WHERE name = 'subj.about'$$), ' DETAIL: ', 1) AS direct_empty_subject;

SELECT count(*) AS refused_types_registered FROM activity.event_types
WHERE name IN ('ut.bad', 'rcpt.bad', 'plat.bad', 'act.bad', 'subj.bad');

-- Re-registering updates the attributes and keeps created_at
SELECT created_at AS created_before, updated_at AS updated_before
FROM activity.event_types WHERE name = 'post.created' \gset
SELECT name, description, universal_type, recipient, platforms, actor_types
FROM activity.register_type('post.created', 'A post was created', 'POST_CREATE', 'optional', '{site,forum}', '{user}');
SELECT created_at = :'created_before' AS created_at_kept,
       updated_at > :'updated_before' AS updated_at_moved
FROM activity.event_types WHERE name = 'post.created';
-- re-registering with the very same attributes changes nothing
SELECT updated_at AS updated_before FROM activity.event_types WHERE name = 'post.created' \gset
SELECT name, description, universal_type, recipient, platforms, actor_types
FROM activity.register_type('post.created', 'A post was created', 'POST_CREATE', 'optional', '{forum,site}', '{user}');
SELECT updated_at = :'updated_before' AS updated_at_unchanged
FROM activity.event_types WHERE name = 'post.created';
-- attributes left out are kept: register_type() as "make sure it exists"
-- changes nothing
SELECT updated_at AS updated_before FROM activity.event_types WHERE name = 'post.created' \gset
SELECT name, description, universal_type, recipient, platforms, actor_types
FROM activity.register_type('post.created');
SELECT updated_at = :'updated_before' AS updated_at_unchanged
FROM activity.event_types WHERE name = 'post.created';
-- one attribute changes only that attribute
SELECT name, description, universal_type, recipient, platforms, actor_types
FROM activity.register_type('post.created', recipient => 'forbidden');
-- '' and '{}' clear a value: no description, no universal type, any platform
SELECT name, description, universal_type, recipient, platforms, actor_types
FROM activity.register_type('post.created', description => '', universal_type => '', platforms => '{}');
-- a new type takes the defaults for what is not given
SELECT name, description, universal_type, recipient, platforms, actor_types
FROM activity.register_type('defaults.only', recipient => NULL, actor_types => NULL);
SELECT count(*) AS rows_for_post_created FROM activity.event_types WHERE name = 'post.created';

-- Every change of a type's rules is kept, with its time and role, and
-- listed with the schema versions in activity.type_history
SELECT change, by = current_user AS by_me, at = now() AS at_now, details
FROM activity.type_history WHERE type = 'post.created' ORDER BY at, change DESC;
SELECT jsonb_array_length(history) AS history_entries FROM activity.event_types WHERE name = 'post.created';
BEGIN;
SELECT activity.register_schema('defaults.only', '{"type": "object"}') AS version;
SELECT version FROM activity.retire_schema('defaults.only', 1);
SELECT type, change, schema_version, details FROM activity.type_history WHERE type = 'defaults.only'
ORDER BY at, schema_version NULLS FIRST, change = 'schema retired';
-- a type with schema versions can be neither deleted nor renamed
SELECT pg_temp.expect_error($$DELETE FROM activity.event_types WHERE name = 'defaults.only'$$) AS delete_with_schemas;
SELECT pg_temp.expect_error($$UPDATE activity.event_types SET name = 'defaults.renamed' WHERE name = 'defaults.only'$$) AS rename_with_schemas;
ROLLBACK;

-- The table's own constraints refuse bad rows written directly (the detail,
-- which shows the failing row with its timestamps, is left out)
SELECT split_part(pg_temp.expect_error($$INSERT INTO activity.event_types (name) VALUES ('Bad.Name')$$), ' DETAIL: ', 1) AS direct_bad_name;
SELECT split_part(pg_temp.expect_error($$INSERT INTO activity.event_types (name, recipient) VALUES ('direct.rcpt', 'maybe')$$), ' DETAIL: ', 1) AS direct_bad_recipient;
SELECT split_part(pg_temp.expect_error($$INSERT INTO activity.event_types (name, actor_types) VALUES ('direct.act', '{bot}')$$), ' DETAIL: ', 1) AS direct_bad_actor;
SELECT split_part(pg_temp.expect_error($$INSERT INTO activity.event_types (name, platforms) VALUES ('direct.plat', '{}')$$), ' DETAIL: ', 1) AS direct_bad_platforms;
SELECT split_part(pg_temp.expect_error($$INSERT INTO activity.event_types (name, universal_type) VALUES ('direct.ut', 'join')$$), ' DETAIL: ', 1) AS direct_bad_universal;

-- A registration takes effect at once in this session, also inside one
-- transaction: the ingestion trigger's registry cache is invalidated.
SELECT pg_temp.expect_error($$SELECT activity.record('rt-ws', 'late.type', 'u1', occurred_at => '2031-01-01')$$) AS before_registration;
SELECT name FROM activity.register_type('late.type');
SELECT activity.record('rt-ws', 'late.type', 'u1', occurred_at => '2031-01-01') IS NOT NULL AS after_registration;
BEGIN;
SELECT name, recipient FROM activity.register_type('late.type', recipient => 'required');
SELECT pg_temp.expect_error($$SELECT activity.record('rt-ws', 'late.type', 'u1', occurred_at => '2031-01-01')$$) AS now_required;
SELECT activity.record('rt-ws', 'late.type', 'u1', recipient_id => 'u2', occurred_at => '2031-01-01') IS NOT NULL AS with_recipient;
ROLLBACK;
-- the rolled back change is forgotten too
SELECT activity.record('rt-ws', 'late.type', 'u1', occurred_at => '2031-01-01') IS NOT NULL AS optional_again;
-- changes to the registry table made without register_type() are seen as well
UPDATE activity.event_types SET actor_types = '{agent}' WHERE name = 'late.type';
SELECT pg_temp.expect_error($$SELECT activity.record('rt-ws', 'late.type', 'u1', occurred_at => '2031-01-01')$$) AS user_no_longer_allowed;
DELETE FROM activity.event_types WHERE name = 'late.type';
SELECT pg_temp.expect_error($$SELECT activity.record('rt-ws', 'late.type', 'u1', occurred_at => '2031-01-01', actor_type => 'agent')$$) AS deleted_type;

-- The registry is dumped by pg_dump (extension configuration tables)
SELECT u.oid::regclass AS config_table, u.cond AS dump_condition
FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS u(oid, cond)
WHERE e.extname = 'activity'
ORDER BY u.oid::regclass::text;
