-- Behaviour of the API through pgTAP: every refusal has its SQLSTATE and
-- message (throws_ok), refused rows are never written (is), accepted ones
-- are completed (results_eq). The pg_regress tests show the same rules
-- with their full messages and details.
BEGIN;
SELECT plan(72);
SET LOCAL TIME ZONE 'UTC';

SELECT lives_ok($$SELECT activity.register_type('val.plain')$$, 'register a plain type');
SELECT lives_ok($$SELECT activity.register_type('val.award', recipient => 'required')$$, 'register a type that needs a recipient');
SELECT lives_ok($$SELECT activity.register_type('val.post', recipient => 'forbidden')$$, 'register a type that takes no recipient');
SELECT lives_ok($$SELECT activity.register_type('val.chat', platforms => '{discord}')$$, 'register a platform type');
SELECT lives_ok($$SELECT activity.register_type('VAL_LINK', actor_types => '{system}')$$, 'register a system-only type');
SELECT lives_ok($$SELECT activity.register_type('slack_message.threaded_reply.created')$$, 'a dotted name with underscores is accepted');
SELECT lives_ok($$SELECT activity.register_type('USER_JOIN')$$, 'an upper snake case name is accepted');

CREATE TEMP TABLE counts AS SELECT count(*) AS n FROM activity.activities;

-- record(): every rule
SELECT throws_ok($$SELECT activity.record(NULL, 'val.plain', 'u')$$, '23502', 'workspace_id of an activity must not be null');
SELECT throws_ok($$SELECT activity.record('', 'val.plain', 'u')$$, '23514', 'workspace_id of an activity must not be empty');
SELECT throws_ok($$SELECT activity.record(repeat('w', 1025), 'val.plain', 'u')$$, '22001', 'workspace_id of an activity is too long');
SELECT throws_ok($$SELECT activity.record('val-ws', NULL, 'u')$$, '23502', 'type of an activity must not be null');
SELECT throws_ok($$SELECT activity.record('val-ws', 'val.nope', 'u')$$, '23503', 'unknown activity type "val.nope"');
SELECT throws_ok($$SELECT activity.record('val-ws', 'val.plain', 'u', actor_type => NULL)$$, '23502', 'actor_type of an activity must not be null');
SELECT throws_ok($$SELECT activity.record('val-ws', 'val.plain', 'u', actor_type => 'robot')$$, '23514', 'invalid actor_type "robot"');
SELECT throws_ok($$SELECT activity.record('val-ws', 'VAL_LINK', 'u')$$, '23514', 'actor_type "user" may not record activity type "VAL_LINK"');
SELECT throws_ok($$SELECT activity.record('val-ws', 'val.plain', NULL)$$, '23502', 'initiator_id of an activity must not be null');
SELECT throws_ok($$SELECT activity.record('val-ws', 'val.plain', NULL, actor_type => 'agent')$$, '23502', 'initiator_id of an activity must not be null');
SELECT throws_ok($$SELECT activity.record('val-ws', 'val.plain', '')$$, '23514', 'initiator_id of an activity must not be empty');
SELECT throws_ok($$SELECT activity.record('val-ws', 'val.award', 'u')$$, '23502', 'activity type "val.award" requires a recipient_id');
SELECT throws_ok($$SELECT activity.record('val-ws', 'val.post', 'u', recipient_id => 'r')$$, '23514', 'activity type "val.post" does not take a recipient_id');
SELECT throws_ok($$SELECT activity.record('val-ws', 'val.award', 'u', recipient_id => repeat('r', 1025))$$, '22001', 'recipient_id of an activity is too long');
SELECT throws_ok($$SELECT activity.record('val-ws', 'val.chat', 'u')$$, '23502', 'platform of an activity of type "val.chat" must not be null');
SELECT throws_ok($$SELECT activity.record('val-ws', 'val.chat', 'u', platform => 'slack')$$, '23514', 'platform "slack" does not support activity type "val.chat"');
SELECT throws_ok($$SELECT activity.record('val-ws', 'val.plain', 'u', platform => '')$$, '23514', 'platform of an activity must not be empty');
SELECT throws_ok($$SELECT activity.record('val-ws', 'val.plain', 'u', subject_type => 'issue')$$, '23514', 'subject_type and subject_id of an activity must be given together');
SELECT throws_ok($$SELECT activity.record('val-ws', 'val.plain', 'u', subject_id => 'i-1')$$, '23514', 'subject_type and subject_id of an activity must be given together');
SELECT throws_ok($$SELECT activity.record('val-ws', 'val.plain', 'u', subject_type => 'issue', subject_id => '')$$, '23514', 'subject_id of an activity must not be empty');
SELECT throws_ok($$SELECT activity.record('val-ws', 'val.plain', 'u', occurred_at => 'infinity')$$, '23514', 'occurred_at of an activity must be a finite timestamp');
SELECT throws_ok($$SELECT activity.record('val-ws', 'val.plain', 'u', occurred_at => '-infinity')$$, '23514', 'occurred_at of an activity must be a finite timestamp');
SELECT throws_ok($$SELECT activity.record('val-ws', 'val.plain', 'u', version => 1)$$, '23503', 'activity type "val.plain" has no schema version 1');
SELECT throws_ok($$SELECT activity.record('val-ws', 'val.plain', 'u', version => 40000)$$, '22003', 'version 40000 is out of range');
SELECT throws_ok($$SELECT activity.record('val-ws', 'val.plain', 'u', '[]')$$, '23514', 'metadata of an activity must be a JSON object, not array');
SELECT throws_ok($$SELECT activity.record('val-ws', 'val.plain', 'u', '"s"')$$, '23514', 'metadata of an activity must be a JSON object, not string');
SELECT throws_ok($$SELECT activity.record('val-ws', 'val.plain', 'u', jsonb_build_object('x', repeat('x', 300000)))$$, '54000', 'metadata of an activity is too large');
SET LOCAL activity.max_metadata_bytes = 64;
SELECT throws_ok($$SELECT activity.record('val-ws', 'val.plain', 'u', jsonb_build_object('x', repeat('x', 100)))$$, '54000', 'metadata of an activity is too large');
RESET activity.max_metadata_bytes;
SET LOCAL activity.max_metadata_depth = 2;
SELECT throws_ok($$SELECT activity.record('val-depth', 'val.plain', 'u', '{"a": {"b": {"c": 1}}}')$$, '54000', 'metadata of an activity is nested too deeply',
                 'metadata nested deeper than activity.max_metadata_depth is refused');
RESET activity.max_metadata_depth;
SELECT throws_ok($$SELECT activity.record('val-ws', 'VAL_LINK', NULL, actor_type => 'system', caused_by => '01890000-0000-7000-8000-00000000dead')$$,
                 '23503', 'caused_by 01890000-0000-7000-8000-00000000dead is not an activity of workspace "val-ws"');

-- the same rules on plain INSERT, INSERT ... SELECT and a partition
SELECT throws_ok($$INSERT INTO activity.activities (workspace_id, type, initiator_id) VALUES ('val-ws', 'val.nope', 'u')$$,
                 '23503', 'unknown activity type "val.nope"', 'INSERT is validated');
SELECT throws_ok($$INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at)
                   SELECT 'val-ws', CASE WHEN g = 50 THEN 'val.award' ELSE 'val.plain' END, 'u', '2041-01-01'::timestamptz + g * interval '1 day'
                   FROM generate_series(1, 100) g$$,
                 '23502', 'activity type "val.award" requires a recipient_id', 'INSERT ... SELECT is validated row by row');
SELECT throws_ok($$INSERT INTO activity_partitions.activities_default (workspace_id, type, initiator_id, occurred_at)
                   VALUES ('val-ws', 'val.plain', NULL, '1990-01-01')$$,
                 '23502', 'initiator_id of an activity must not be null', 'INSERT into the default partition is validated');
SELECT throws_ok($$INSERT INTO activity.activities (workspace_id, type, initiator_id, occurred_at) VALUES ('val-ws', 'val.plain', 'u', NULL)$$,
                 '23502', 'occurred_at of an activity must not be null', 'an explicit NULL occurred_at is refused on INSERT');

SELECT is((SELECT count(*) FROM activity.activities WHERE workspace_id <> 'val-depth'), (SELECT n FROM counts),
          'no refused activity was written');

-- accepted rows are completed
SELECT lives_ok($$INSERT INTO activity.activities (id, workspace_id, type, version, initiator_id, metadata, occurred_at, recorded_at)
                  VALUES (NULL, 'val-ok', 'val.plain', NULL, 'u', NULL, '2041-02-02', NULL)$$, 'NULL id, version, metadata, recorded_at are accepted');
SELECT results_eq(
    $$SELECT activity.uuidv7_time(id) IS NOT NULL, version, metadata, recorded_at = now() FROM activity.activities WHERE workspace_id = 'val-ok'$$,
    $$VALUES (true, 0::int2, '{}'::jsonb, true)$$,
    'and completed: a UUIDv7, version 0, {} and the transaction time');
SELECT is(activity.record('val-ok', 'VAL_LINK', NULL, actor_type => 'system',
                          caused_by => (SELECT id FROM activity.activities WHERE workspace_id = 'val-ok')) IS NOT NULL, true,
          'a system activity with no initiator, caused by an activity of its workspace');
SELECT is(activity.record('val-ok', 'val.chat', 'u', platform => 'discord', occurred_at => '1990-01-01') IS NOT NULL, true,
          'an activity dated 1990 is accepted');
SELECT is(activity.record('val-ok', 'val.award', 'u', recipient_id => 'r', occurred_at => '2090-01-01') IS NOT NULL, true,
          'an activity dated 2090 is accepted');
SELECT is((SELECT count(*) FROM activity_partitions.activities_default WHERE workspace_id = 'val-ok' AND occurred_at IN ('1990-01-01', '2090-01-01')),
          2::bigint, 'outliers land in the default partition');

-- append-only
SELECT throws_ok($$UPDATE activity.activities SET initiator_id = 'x' WHERE workspace_id = 'val-ok'$$, '0A000', 'UPDATE is not allowed on the activity log');
SELECT throws_ok($$DELETE FROM activity.activities WHERE workspace_id = 'val-ok'$$, '0A000', 'DELETE is not allowed on the activity log');
SELECT throws_ok($$TRUNCATE activity.activities$$, '0A000', 'TRUNCATE is not allowed on the activity log');
SELECT throws_ok($$DELETE FROM activity_partitions.activities_default WHERE workspace_id = 'val-ok'$$, '0A000', 'DELETE is not allowed on the activity log');
SELECT throws_ok($$TRUNCATE activity_partitions.activities_default$$, '0A000', 'TRUNCATE is not allowed on the activity log');
SELECT is((SELECT count(*) FROM activity.activities WHERE workspace_id = 'val-ok'), 4::bigint, 'nothing was changed or removed');

-- register_type()
SELECT throws_ok($$SELECT activity.register_type(NULL)$$, '22004', 'event type name must not be null');
SELECT throws_ok($$SELECT activity.register_type('Post.Created')$$, '22023', 'invalid event type name "Post.Created"');
SELECT throws_ok($$SELECT activity.register_type('post.created.')$$, '22023', 'invalid event type name "post.created."');
SELECT throws_ok($$SELECT activity.register_type('USER__JOIN')$$, '22023', 'invalid event type name "USER__JOIN"');
SELECT throws_ok($$SELECT activity.register_type('val.x', universal_type => 'user_join')$$, '22023', 'invalid universal type "user_join"');
SELECT throws_ok($$SELECT activity.register_type('val.x', recipient => 'always')$$, '22023', 'invalid recipient rule "always"');
SELECT throws_ok($$SELECT activity.register_type('val.x', platforms => '{""}')$$, '22023', 'invalid platforms {""}');
SELECT throws_ok($$SELECT activity.register_type('val.x', actor_types => '{bot}')$$, '22023', 'invalid actor types {bot}');
SELECT activity.register_platform(p) IS NOT NULL FROM unnest('{a,b}'::text[]) p \g /dev/null
SELECT results_eq(
    $$SELECT recipient, platforms, actor_types FROM activity.register_type('val.plain', recipient => 'required', platforms => '{b,a,b}', actor_types => '{user}')$$,
    $$VALUES ('required'::text, '{a,b}'::text[], '{user}'::text[])$$,
    're-registering updates a type (platforms deduplicated and sorted)');
SELECT throws_ok($$SELECT activity.record('val-ws', 'val.plain', 'u', platform => 'a')$$, '23502', 'activity type "val.plain" requires a recipient_id',
                 'the update applies at once');

-- page() and cursors
SELECT throws_ok($$SELECT * FROM activity.page('val-ok', direction => NULL)$$, '22004', 'direction must not be null');
SELECT throws_ok($$SELECT * FROM activity.page('val-ok', NULL, 0)$$, '22023', 'limit must be between 1 and 200, not 0');
SELECT throws_ok($$SELECT * FROM activity.page('val-ok', NULL, 201)$$, '22023', 'limit must be between 1 and 200, not 201');
SELECT throws_ok($$SELECT * FROM activity.page('val-ok', NULL, NULL)$$, '22004', 'limit must not be null');
SELECT throws_ok($$SELECT * FROM activity.page('val-other', (SELECT cursor FROM activity.page('val-ok', NULL, 1)))$$,
                 '22023', 'cursor does not belong to this query');
SELECT throws_ok($$SELECT 'AAAA'::activity.cursor$$, '22P02', 'invalid activity cursor: "AAAA"');
SELECT throws_ok(format('SELECT %L::activity.cursor',
                        overlay(c::text PLACING CASE WHEN substr(c::text, 20, 1) = 'A' THEN 'B' ELSE 'A' END FROM 20 FOR 1)),
                 '22P02', NULL, 'a cursor with one character changed is refused')
FROM (SELECT cursor AS c FROM activity.page('val-ok', NULL, 1)) s;
SELECT is((SELECT count(*) FROM activity.page('val-ok')), 4::bigint, 'page() returns the workspace''s rows');

SELECT * FROM finish();
ROLLBACK;
