-- Seed 003's three tiers of types on platforms that are checked: the
-- platform registry, universal types with the platforms that support them,
-- platform-specific type names as the platforms spell them, function types,
-- and the cause rule of synthetic events on every ingest path.
SET TIME ZONE 'UTC';
SET datestyle = 'ISO, YMD';

\i test/sql/include/expect_error.sql

---------------------------------------------------------------------------
-- Platforms
---------------------------------------------------------------------------
-- the five of the product documents are built in
SELECT name, builtin FROM activity.platforms WHERE builtin ORDER BY name;
SELECT name, description, builtin FROM activity.register_platform('tt_forum', 'A web forum');
-- again: only the description changes ('' clears it, NULL keeps it)
SELECT name, description FROM activity.register_platform('tt_forum');
SELECT name, description FROM activity.register_platform('tt_forum', '');
SELECT label, pg_temp.expect_error(sql) AS error
FROM (VALUES
    ('null name',         $$SELECT activity.register_platform(NULL)$$),
    ('upper case',        $$SELECT activity.register_platform('Discord')$$),
    ('a dash',            $$SELECT activity.register_platform('my-forum')$$),
    ('65 characters',     $$SELECT activity.register_platform(repeat('p', 65))$$),
    ('built in, changed', $$SELECT activity.register_platform('discord', 'Mine now')$$)
) AS t(label, sql);
-- a built-in platform registered again without a description is no error
SELECT name, builtin FROM activity.register_platform('discord');

---------------------------------------------------------------------------
-- Universal types and the platforms that support them
---------------------------------------------------------------------------
SELECT name, platforms FROM activity.register_universal_type('TT_JOIN', 'A user joined');
SELECT name, platforms FROM activity.register_universal_type('TT_UNBAN', 'A ban was lifted', platforms => '{discord}');
SELECT name, platforms FROM activity.register_universal_type('TT_DELETE', 'A message was deleted',
                                                             platforms => '{discord,tt_forum,discord}');
SELECT name, platforms FROM activity.register_universal_type('TT_LINK', 'Synthetic: removed by the link filter');
SELECT label, pg_temp.expect_error(sql) AS error
FROM (VALUES
    ('null name',         $$SELECT activity.register_universal_type(NULL)$$),
    ('lower case',        $$SELECT activity.register_universal_type('tt_join')$$),
    ('misspelt platform', $$SELECT activity.register_universal_type('TT_X', platforms => '{discrod}')$$),
    ('null platform',     $$SELECT activity.register_universal_type('TT_X', platforms => '{NULL}')$$)
) AS t(label, sql);

---------------------------------------------------------------------------
-- Types: names as the platforms spell them, mapped onto supported universal types
---------------------------------------------------------------------------
SELECT name, universal_type, platforms
FROM activity.register_type('discord:guildMemberAdd', universal_type => 'TT_JOIN');
SELECT name, universal_type, platforms
FROM activity.register_type('discord:guildBanRemove', universal_type => 'TT_UNBAN');
SELECT name, universal_type, platforms
FROM activity.register_type('discord:messageDelete', universal_type => 'TT_DELETE', actor_types => '{user,system}');
SELECT name, universal_type, platforms
FROM activity.register_type('minecraft:PlayerJoinEvent', universal_type => 'TT_JOIN');
SELECT name, universal_type, platforms
FROM activity.register_type('twitch:channel.chat.message');
SELECT name, universal_type, platforms
FROM activity.register_type('telegram:new_chat_members', universal_type => 'TT_JOIN');
SELECT name, universal_type, platforms
FROM activity.register_type('tt.forum.post_deleted', universal_type => 'TT_DELETE', platforms => '{tt_forum}');
-- a type named as its universal type, on every platform it supports
SELECT name, universal_type, platforms
FROM activity.register_type('TT_DELETE', universal_type => 'TT_DELETE', platforms => '{discord,tt_forum}');
SELECT format('%-32s', label) AS label, pg_temp.expect_error(sql) AS error
FROM (VALUES
    ('misspelt universal type',       $$SELECT activity.register_type('tt.a', universal_type => 'TT_JION')$$),
    ('Telegram onto a Discord-only',  $$SELECT activity.register_type('telegram:chatMemberUnbanned', universal_type => 'TT_UNBAN')$$),
    ('any platform onto Discord-only', $$SELECT activity.register_type('tt.unban', universal_type => 'TT_UNBAN')$$),
    ('misspelt platform',             $$SELECT activity.register_type('tt.b', platforms => '{discrod}')$$),
    ('unknown platform prefix',       $$SELECT activity.register_type('discrod:guildMemberAdd')$$),
    ('prefix, another platform',      $$SELECT activity.register_type('discord:ttMessageCreate', platforms => '{slack}')$$),
    ('prefix, two platforms',         $$SELECT activity.register_type('discord:ttMessageCreate', platforms => '{discord,slack}')$$),
    ('prefix upper case',             $$SELECT activity.register_type('Discord:ttMessageCreate')$$),
    ('nothing after the prefix',      $$SELECT activity.register_type('discord:')$$),
    ('no prefix',                     $$SELECT activity.register_type(':messageCreate')$$),
    ('digit first',                   $$SELECT activity.register_type('discord:1message')$$),
    ('a space',                       $$SELECT activity.register_type('discord:message create')$$),
    ('two colons',                    $$SELECT activity.register_type('discord:a:b')$$),
    ('narrowing a universal type',    $$SELECT activity.register_universal_type('TT_JOIN', platforms => '{discord}')$$)
) AS t(label, sql);
-- the universal type narrows once no type mapped onto it would be stranded
SELECT name, platforms FROM activity.register_universal_type('TT_UNBAN', platforms => '{discord,tt_forum}');
SELECT name, platforms FROM activity.register_universal_type('TT_UNBAN', platforms => '{discord}');
-- nothing was registered by the refused calls
SELECT count(*) AS refused_types_registered FROM activity.event_types
WHERE name IN ('tt.a', 'telegram:chatMemberUnbanned', 'tt.unban', 'tt.b', 'discord:ttMessageCreate');

---------------------------------------------------------------------------
-- Recording: platforms registered, universal types supported
---------------------------------------------------------------------------
BEGIN;
SELECT count(*) AS before FROM activity.activities \gset
SELECT label, pg_temp.expect_error(sql) AS error
FROM (VALUES
    ('misspelt platform',      $$SELECT activity.record('tt-ws', 'tt.forum.post_deleted', 'u1', platform => 'discrod')$$),
    ('unregistered platform',  $$SELECT activity.record('tt-ws', 'twitch:channel.chat.message', 'u1', platform => 'youtube')$$),
    ('not one of the type''s',  $$SELECT activity.record('tt-ws', 'TT_DELETE', 'u1', platform => 'slack')$$),
    ('platform-specific, no platform', $$SELECT activity.record('tt-ws', 'discord:guildMemberAdd', 'u1')$$)
) AS t(label, sql);
SELECT count(*) - :before AS written_by_refused FROM activity.activities;
SELECT activity.record('tt-ws', 'discord:guildMemberAdd', 'u1', platform => 'discord', occurred_at => '2033-01-01 10:00') IS NOT NULL AS discord_join;
SELECT activity.record('tt-ws', 'minecraft:PlayerJoinEvent', 'steve', platform => 'minecraft', occurred_at => '2033-01-01 10:01') IS NOT NULL AS minecraft_join;
SELECT type, activity.universal_type(type), platform FROM activity.page('tt-ws', universal_types => '{TT_JOIN}');
-- type patterns end in ".*" or ":*" (a platform's types)
SELECT type FROM activity.page('tt-ws', types => '{discord:*}');
-- the record-time check holds even against a registry edited by hand
-- (register_type() would have refused the mapping)
UPDATE activity.event_types SET universal_type = 'TT_UNBAN' WHERE name = 'tt.forum.post_deleted';
SELECT pg_temp.expect_error($$SELECT activity.record('tt-ws', 'tt.forum.post_deleted', 'u1', platform => 'tt_forum')$$) AS edited_registry;
ROLLBACK;

-- Rows written straight into the registry tables obey the name rule too
SELECT split_part(pg_temp.expect_error($$INSERT INTO activity.event_types (name) VALUES ('discord:a b')$$), ' DETAIL: ', 1) AS direct_bad_name;
SELECT split_part(pg_temp.expect_error($$INSERT INTO activity.platforms (name) VALUES ('Bad')$$), ' DETAIL: ', 1) AS direct_bad_platform;
SELECT split_part(pg_temp.expect_error($$INSERT INTO activity.universal_types (name) VALUES ('bad')$$), ' DETAIL: ', 1) AS direct_bad_universal;

---------------------------------------------------------------------------
-- Function types: the function that recorded an activity
---------------------------------------------------------------------------
SELECT name, function_types FROM activity.register_type('tt.verified', actor_types => '{system}',
                                                         function_types => '{verificationFlow,verify.retry,verificationFlow}');
SELECT name FROM activity.register_type('tt.note');
SELECT format('%-28s', label) AS label, pg_temp.expect_error(sql) AS error
FROM (VALUES
    ('register: a space',          $$SELECT activity.register_type('tt.x', function_types => '{log message}')$$),
    ('register: a NULL',           $$SELECT activity.register_type('tt.x', function_types => '{NULL}')$$),
    ('register: 129 characters',   $$SELECT activity.register_type('tt.x', function_types => ARRAY[repeat('f', 129)])$$),
    ('record: not listed',         $$SELECT activity.record('tt-fn', 'tt.verified', NULL, actor_type => 'system', function_type => 'linkFilter')$$),
    ('record: none, type lists',   $$SELECT activity.record('tt-fn', 'tt.verified', NULL, actor_type => 'system')$$),
    ('record: empty',              $$SELECT activity.record('tt-fn', 'tt.note', 'u1', function_type => '')$$),
    ('record: 129 bytes',          $$SELECT activity.record('tt-fn', 'tt.note', 'u1', function_type => repeat('f', 129))$$)
) AS t(label, sql);
BEGIN;
SELECT activity.record('tt-fn', 'tt.verified', NULL, actor_type => 'system', function_type => 'verificationFlow',
                       occurred_at => '2033-02-01') IS NOT NULL AS listed;
-- a type without a list takes any function type, or none
SELECT activity.record('tt-fn', 'tt.note', 'u1', function_type => 'notes.add', occurred_at => '2033-02-02') IS NOT NULL AS any_function;
SELECT activity.record('tt-fn', 'tt.note', 'u1', occurred_at => '2033-02-03') IS NOT NULL AS no_function;
INSERT INTO activity.activities (workspace_id, type, actor_type, function_type, occurred_at)
VALUES ('tt-fn', 'tt.verified', 'system', 'verify.retry', '2033-02-04');
SELECT type, function_type FROM activity.page('tt-fn', direction => 'asc');
SELECT type, function_type FROM activity.page('tt-fn', function_types => '{verificationFlow,verify.retry}');
SELECT function_type, count(*) FROM activity.activity_log WHERE workspace_id = 'tt-fn' GROUP BY 1 ORDER BY 1;
ROLLBACK;

---------------------------------------------------------------------------
-- Synthetic events: a cause of given types or universal types
---------------------------------------------------------------------------
SELECT name, caused_by FROM activity.register_type('TT_LINK', universal_type => 'TT_LINK', actor_types => '{system}',
                                                   caused_by => '{TT_DELETE}');
SELECT name, caused_by FROM activity.register_type('tt.after_join', actor_types => '{system}',
                                                   caused_by => '{discord:guildMemberAdd,minecraft:PlayerJoinEvent}');
SELECT format('%-24s', label) AS label, pg_temp.expect_error(sql) AS error
FROM (VALUES
    ('unknown cause',        $$SELECT activity.register_type('tt.y', caused_by => '{TT_DELTE}')$$),
    ('NULL cause',           $$SELECT activity.register_type('tt.y', caused_by => '{NULL}')$$),
    ('empty cause',          $$SELECT activity.register_type('tt.y', caused_by => '{""}')$$)
) AS t(label, sql);
-- its own type may cause it (a chain of the same kind)
SELECT name, caused_by FROM activity.register_type('tt.chain', caused_by => '{tt.chain,tt.note}');

BEGIN;
SELECT count(*) AS before FROM activity.activities \gset
-- causes: a Discord deletion (universal type TT_DELETE), a forum deletion
-- (also TT_DELETE), a join, and a note (none of the rule's types)
SELECT activity.record('tt-syn', 'discord:messageDelete', 'mod', platform => 'discord', occurred_at => '2033-03-01 10:00') AS del_discord \gset
SELECT activity.record('tt-syn', 'tt.forum.post_deleted', 'mod', platform => 'tt_forum', occurred_at => '2033-03-01 10:01') AS del_forum \gset
SELECT activity.record('tt-syn', 'discord:guildMemberAdd', 'u2', platform => 'discord', occurred_at => '2033-03-01 10:02') AS joined \gset
SELECT activity.record('tt-other', 'discord:messageDelete', 'mod', platform => 'discord', occurred_at => '2033-03-01 10:03') AS del_other_ws \gset
SELECT format('%-28s', label) AS label, regexp_replace(pg_temp.expect_error(sql), '[0-9a-f-]{36}', '<id>') AS error
FROM (VALUES
    ('no cause',                  $$SELECT activity.record('tt-syn', 'TT_LINK', NULL, actor_type => 'system')$$),
    ('cause of another type',     format($$SELECT activity.record('tt-syn', 'TT_LINK', NULL, actor_type => 'system', caused_by => %L)$$, :'joined')),
    ('cause of another workspace', format($$SELECT activity.record('tt-syn', 'TT_LINK', NULL, actor_type => 'system', caused_by => %L)$$, :'del_other_ws')),
    ('cause that does not exist', $$SELECT activity.record('tt-syn', 'TT_LINK', NULL, actor_type => 'system', caused_by => '01890000-0000-7000-8000-00000000dead')$$),
    ('INSERT without a cause',    $$INSERT INTO activity.activities (workspace_id, type, actor_type, occurred_at) VALUES ('tt-syn', 'TT_LINK', 'system', '2033-03-02')$$),
    ('rule by type: wrong type',  format($$SELECT activity.record('tt-syn', 'tt.after_join', NULL, actor_type => 'system', caused_by => %L)$$, :'del_discord'))
) AS t(label, sql);
SELECT count(*) - :before - 4 AS written_by_refused FROM activity.activities;
-- accepted: the cause's universal type (two platforms), or its type
SELECT activity.record('tt-syn', 'TT_LINK', NULL, actor_type => 'system', caused_by => :'del_discord',
                       platform => 'discord', occurred_at => '2033-03-01 10:00:01') IS NOT NULL AS by_universal_discord;
SELECT activity.record('tt-syn', 'TT_LINK', NULL, actor_type => 'system', caused_by => :'del_forum',
                       platform => 'tt_forum', occurred_at => '2033-03-01 10:01:01') IS NOT NULL AS by_universal_forum;
SELECT activity.record('tt-syn', 'tt.after_join', NULL, actor_type => 'system', caused_by => :'joined',
                       occurred_at => '2033-03-01 10:02:01') IS NOT NULL AS by_type;
-- drilling from a cause to what it caused
SELECT type, platform FROM activity.page('tt-syn', caused_by => :'del_discord');
SELECT type FROM activity.page('tt-syn', caused_by => :'joined');
SELECT count(*) AS effects_of_a_join FROM activity.page('tt-syn', caused_by => :'joined', types => '{TT_LINK}');
-- a chain: a note causes a chain event, which causes the next
SELECT activity.record('tt-syn', 'tt.note', 'u3', occurred_at => '2033-03-01 11:00') AS note \gset
SELECT activity.record('tt-syn', 'tt.chain', 'u3', caused_by => :'note', occurred_at => '2033-03-01 11:01') AS chain1 \gset
SELECT activity.record('tt-syn', 'tt.chain', 'u3', caused_by => :'chain1', occurred_at => '2033-03-01 11:02') IS NOT NULL AS chained;
COMMIT;

-- an index seek: every partition the drill may read is read through its
-- caused_by index (a direct scan), never a walk of the workspace's feed
SELECT DISTINCT regexp_replace(plan, 'activities_p[0-9]+|activities_default', 'P', 'g') AS plan
FROM activity.page_plans('tt-syn', caused_by => '01890000-0000-7000-8000-00000000dead');
-- the cursor binds the cause: another cause's cursor is refused
SELECT cursor AS c1 FROM activity.page('tt-syn', caused_by => :'del_discord') \gset
SELECT pg_temp.expect_error(format($$SELECT * FROM activity.page('tt-syn', caused_by => %L, after => %L)$$,
                                   :'del_forum', :'c1')) AS other_cause;
SELECT count(*) AS same_cause_next_page FROM activity.page('tt-syn', caused_by => :'del_discord', after => :'c1');

-- COPY carrying both a cause and its synthetic event: accepted, in either
-- order (the rule is checked once the statement's rows are in place)
CREATE TEMP TABLE before_copy AS SELECT count(*) AS n FROM activity.activities;
COPY activity.activities (id, workspace_id, type, actor_type, initiator_id, platform, caused_by, occurred_at) FROM STDIN;
01890000-0000-7000-8000-0000000cc002	tt-copy	TT_LINK	system	\N	discord	01890000-0000-7000-8000-0000000cc001	2033-04-01 10:00:01
01890000-0000-7000-8000-0000000cc001	tt-copy	discord:messageDelete	user	mod	discord	\N	2033-04-01 10:00:00
\.
SELECT type, caused_by FROM activity.activities WHERE workspace_id = 'tt-copy' ORDER BY occurred_at;
-- ... and refused whole when a synthetic event's cause is of another type
-- (the join), or missing from the COPY: nothing of it is written
COPY activity.activities (id, workspace_id, type, actor_type, initiator_id, platform, caused_by, occurred_at) FROM STDIN;
01890000-0000-7000-8000-0000000cc003	tt-copy	discord:guildMemberAdd	user	u9	discord	\N	2033-04-02 10:00:00
01890000-0000-7000-8000-0000000cc004	tt-copy	TT_LINK	system	\N	discord	01890000-0000-7000-8000-0000000cc003	2033-04-02 10:00:01
\.
COPY activity.activities (id, workspace_id, type, actor_type, initiator_id, platform, caused_by, occurred_at) FROM STDIN;
01890000-0000-7000-8000-0000000cc005	tt-copy	discord:messageDelete	user	mod	discord	\N	2033-04-03 10:00:00
01890000-0000-7000-8000-0000000cc006	tt-copy	TT_LINK	system	\N	discord	\N	2033-04-03 10:00:01
\.
SELECT (SELECT count(*) FROM activity.activities) - n AS rows_added_by_the_three_copies FROM before_copy;

-- INSERT ... SELECT of a cause and its effect in one statement
WITH c AS (SELECT activity.uuidv7() AS id)
INSERT INTO activity.activities (id, workspace_id, type, actor_type, initiator_id, platform, caused_by, occurred_at)
SELECT c.id, 'tt-copy', 'discord:messageDelete', 'user', 'mod', 'discord', NULL::uuid, '2033-04-04 10:00'::timestamptz FROM c
UNION ALL
SELECT activity.uuidv7(), 'tt-copy', 'TT_LINK', 'system', NULL, 'discord', c.id, '2033-04-04 10:00:01' FROM c;
SELECT type, count(*) FROM activity.activities WHERE workspace_id = 'tt-copy' GROUP BY type ORDER BY type;

-- a rule changed later is in the type's history, and applies at once
SELECT name, caused_by, function_types FROM activity.register_type('TT_LINK', function_types => '{linkFilter}');
SELECT regexp_replace(pg_temp.expect_error(format($$SELECT activity.record('tt-syn', 'TT_LINK', NULL, actor_type => 'system', caused_by => %L)$$,
                                                  :'del_discord')), '[0-9a-f-]{36}', '<id>') AS function_now_required;
-- the rules in the history of the type
SELECT change, details -> 'caused_by' AS caused_by, details -> 'function_types' AS function_types
FROM activity.type_history WHERE type = 'tt.verified' OR type = 'TT_LINK' ORDER BY type, at;

-- A cause written earlier in the same transaction is found without a query
-- (remembered when validated), its workspace checked all the same; one
-- rolled back with its savepoint is not found
BEGIN;
SELECT activity.record('tt-sp', 'discord:messageDelete', 'mod', platform => 'discord') AS sp_cause \gset
SELECT activity.record('tt-sp', 'TT_LINK', NULL, actor_type => 'system', function_type => 'linkFilter',
                       caused_by => :'sp_cause') IS NOT NULL AS cause_of_this_transaction;
SELECT regexp_replace(pg_temp.expect_error(format($$SELECT activity.record('tt-sp2', 'TT_LINK', NULL, actor_type => 'system',
                                                  function_type => 'linkFilter', caused_by => %L)$$, :'sp_cause')),
                      '[0-9a-f-]{36}', '<id>') AS another_workspace;
SAVEPOINT s1;
SELECT activity.record('tt-sp', 'discord:messageDelete', 'mod', platform => 'discord') AS sp_gone \gset
ROLLBACK TO SAVEPOINT s1;
SELECT regexp_replace(pg_temp.expect_error(format($$SELECT activity.record('tt-sp', 'TT_LINK', NULL, actor_type => 'system',
                                                  function_type => 'linkFilter', caused_by => %L)$$, :'sp_gone')),
                      '[0-9a-f-]{36}', '<id>') AS rolled_back_cause;
SELECT activity.record('tt-sp', 'TT_LINK', NULL, actor_type => 'system', function_type => 'linkFilter',
                       caused_by => :'sp_cause') IS NOT NULL AS still_found_by_query;
ROLLBACK;
