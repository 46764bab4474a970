'use strict';
// Every public function of the activity extension, called from node-postgres
// (pg, pinned in package-lock.json). Run: node --test drivers.test.js
//
// Each call passes native JavaScript values the way an application does,
// with pg's default parameter handling and server-side parameters
// (client.query(text, values), the extended protocol): pg sends every value
// as text with no type (OID 0, `unknown`), so the server gives each parameter
// the type the function expects: strings, numbers, null, Date (a timestamp
// with its offset), arrays (an array literal), objects (JSON.stringify) and
// Buffer (sent in binary, read by the type's receive function). A cursor is
// read back from page() as a string and sent back as one.
//
// Calls an application makes run as a role with only the privileges README's
// "Privileges" lists (USAGE on schema activity, INSERT and SELECT on
// activity.activities); maintenance and registry calls as the owner set with
// activity.set_owner(); set_owner() itself as the superuser.
//
// Environment: libpq's (PGHOST, PGPORT, PGDATABASE; PGUSER the superuser),
// DRIVERS_OWNER and DRIVERS_APP (role names; both LOGIN, created by
// test/shell/drivers.sh) with DRIVERS_OWNER_PASSWORD and DRIVERS_APP_PASSWORD
// (pg_virtualenv's clusters authenticate TCP connections by password). The database needs CREATE EXTENSION activity and
// examples/catalogue.sql. Each test is named "<object>: <call>"; the wrapper
// groups them by object.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Client } = require('pg');

const OWNER = process.env.DRIVERS_OWNER || 'activity_drivers_owner';
const APP = process.env.DRIVERS_APP || 'activity_drivers_app';
const SUPER = process.env.PGUSER || 'postgres';

const W = 'node-ws';                         // this driver's workspace
const TYPE_A = 'node.widget.created';        // registered, with schema versions
const TYPE_J = 'node.member.joined';         // mapped to a universal type
const TYPE_R = 'node.widget.retired';        // its schema versions get retired
const TYPE_P = 'node.widget.shared';         // registered for some platforms, then for any
const CONSUMER = 'node_drivers';
const NOW = Date.now();
const ago = (ms) => new Date(NOW - ms);
const MINUTE = 60e3;
const HOUR = 3600e3;
const DAY = 86400e3;

const SCHEMA_V1 = { type: 'object', properties: { n: { type: 'integer', minimum: 0 } }, required: ['n'] };
// each later version adds an optional property: backward compatible
const SCHEMA_V2 = { ...SCHEMA_V1, properties: { ...SCHEMA_V1.properties, label: { type: 'string' } } };
const SCHEMA_V3 = { ...SCHEMA_V1, properties: { ...SCHEMA_V2.properties, tags: { type: 'array' } } };
const BREAKING = { type: 'object', required: ['n', 'm'] };
const CHECK = { type: 'object', properties: { n: { type: 'integer', minimum: 0 } }, additionalProperties: false };
const GOOD = { n: 3 };
const BAD = { n: -1, x: true };
const ERRORS = [{ path: '/n', keyword: 'minimum' }, { path: '/x', keyword: 'additionalProperties' }];

let su;
let owner;
let app;
const connect = async (user, password) => {
  // no password: pg takes PGPASSWORD, as libpq does
  const c = new Client({ user, password, application_name: 'activity-drivers-node' });
  await c.connect();
  return c;
};
before(async () => {
  su = await connect(SUPER);
  owner = await connect(OWNER, process.env.DRIVERS_OWNER_PASSWORD);
  app = await connect(APP, process.env.DRIVERS_APP_PASSWORD);
});
after(async () => {
  for (const c of [su, owner, app]) if (c) await c.end();
});

const rows = async (client, text, values = []) => (await client.query(text, values)).rows;
const one = async (client, text, values = []) => (await client.query(text, values)).rows[0];
const isUuid = (s) => typeof s === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(s);

// --- ownership and the registry (the owner role) --------------------------------

test('activity.set_owner: the owner role as a string (regrole), positional, as the superuser', async () => {
  await one(su, 'SELECT activity.set_owner($1)', [OWNER]);
  const r = await one(su, "SELECT tableowner FROM pg_tables WHERE schemaname = 'activity' AND tablename = 'event_types'");
  assert.equal(r.tableowner, OWNER);
});

test('activity.set_owner: named notation (owner => $1), again: nothing changes', async () => {
  await one(su, 'SELECT activity.set_owner(owner => $1)', [OWNER]);
  const r = await one(su, "SELECT nspowner::regrole::text AS o FROM pg_namespace WHERE nspname = 'activity'");
  assert.equal(r.o, OWNER);
});

test('activity.register_platform: positional strings, then named notation with null, as the owner', async () => {
  let r = await one(owner, 'SELECT name, description, builtin FROM activity.register_platform($1, $2)', ['web', 'The web app']);
  assert.deepEqual(r, { name: 'web', description: 'The web app', builtin: false });
  r = await one(owner, 'SELECT name, description FROM activity.register_platform(name => $1, description => $2)', ['api', null]);
  assert.deepEqual(r, { name: 'api', description: null });
  await assert.rejects(one(owner, 'SELECT activity.register_platform($1)', ['Web']), { code: '22023' });
});

test('activity.register_universal_type: a string array of platforms, and null for all', async () => {
  let r = await one(owner, 'SELECT name, platforms FROM activity.register_universal_type($1, $2, $3)',
    ['NODE_WIDGET_SHARE', 'A widget was shared', ['web', 'api']]);
  assert.deepEqual(r, { name: 'NODE_WIDGET_SHARE', platforms: ['api', 'web'] });
  r = await one(owner, 'SELECT platforms FROM activity.register_universal_type(name => $1, platforms => $2)', ['NODE_WIDGET_SHARE', []]);
  assert.equal(r.platforms, null);
  await assert.rejects(one(owner, 'SELECT activity.register_universal_type($1, platforms => $2)', ['NODE_X', ['discrod']]),
    { code: '23503' });
});

test('activity.register_type: positional strings, null and arrays (platforms, actor_types), as the owner', async () => {
  let r = await one(owner, 'SELECT name, recipient, platforms, actor_types FROM activity.register_type($1, $2, $3, $4, $5, $6)',
    [TYPE_P, 'A widget was shared (node-postgres).', null, 'optional', ['web', 'api'], ['user', 'agent']]);
  assert.deepEqual(r, { name: TYPE_P, recipient: 'optional', platforms: ['api', 'web'], actor_types: ['agent', 'user'] });
  r = await one(owner, 'SELECT name, platforms, actor_types FROM activity.register_type($1, $2)',
    [TYPE_A, 'A widget was created (node-postgres).']);
  assert.deepEqual(r, { name: TYPE_A, platforms: null, actor_types: ['agent', 'system', 'user'] });
});

test('activity.register_type: named notation; an empty array (platforms => []) allows any platform', async () => {
  let r = await one(owner, 'SELECT name, universal_type, recipient FROM activity.register_type('
    + 'name => $1, description => $2, universal_type => $3, recipient => $4, platforms => $5)',
  [TYPE_J, 'A member joined (node-postgres).', 'USER_JOIN', 'forbidden', null]);
  assert.deepEqual(r, { name: TYPE_J, universal_type: 'USER_JOIN', recipient: 'forbidden' });
  r = await one(owner, 'SELECT platforms FROM activity.register_type($1, platforms => $2)', [TYPE_P, []]);
  assert.equal(r.platforms, null);
  await one(owner, 'SELECT activity.register_type(name => $1)', [TYPE_R]);
});

test('activity.register_schema: the schema as an object, positional', async () => {
  const r = await one(owner, 'SELECT activity.register_schema($1, $2) AS v', [TYPE_A, SCHEMA_V1]);
  assert.ok(Number.isInteger(r.v) && r.v >= 1, r);
});

test('activity.register_schema: the schema as a JSON string, named notation and compatibility', async () => {
  const r = await one(owner, 'SELECT activity.register_schema(type => $1, schema => $2, compatibility => $3) AS v',
    [TYPE_A, JSON.stringify(SCHEMA_V2), 'backward']);
  assert.ok(r.v >= 2, r);
  const r3 = await one(owner, 'SELECT activity.register_schema($1, $2, $3) AS v', [TYPE_A, SCHEMA_V3, 'none']);
  assert.equal(r3.v, r.v + 1);
});

test('activity.compatibility_problems: the schema as an object, positional and named', async () => {
  let r = await rows(owner, 'SELECT version, direction, change FROM activity.compatibility_problems($1, $2, $3)',
    [TYPE_A, BREAKING, 'backward']);
  assert.ok(r.length >= 1 && r.every((x) => Number.isInteger(x.version) && x.direction && x.change), JSON.stringify(r));
  r = await rows(owner, 'SELECT change FROM activity.compatibility_problems(type => $1, schema => $2, compatibility => $3)',
    [TYPE_A, JSON.stringify(BREAKING), 'full']);
  assert.ok(r.length >= 1);
});

test('activity.retire_schema: positional string and number', async () => {
  const { v } = await one(owner, 'SELECT activity.register_schema($1, $2) AS v', [TYPE_R, SCHEMA_V1]);
  const r = await one(owner, 'SELECT type, version, retired_at FROM activity.retire_schema($1, $2)', [TYPE_R, v]);
  assert.equal(r.type, TYPE_R);
  assert.equal(r.version, v);
  assert.ok(r.retired_at instanceof Date);
});

test('activity.retire_schema: named notation (type => $1, version => $2), the version as a string', async () => {
  const { v } = await one(owner, 'SELECT activity.register_schema($1, $2, $3) AS v', [TYPE_R, SCHEMA_V2, 'none']);
  const r = await one(owner, 'SELECT version, retired_at IS NOT NULL AS retired FROM activity.retire_schema(type => $1, version => $2)',
    [TYPE_R, String(v)]);
  assert.deepEqual(r, { version: v, retired: true });
});

test('activity.restore_row_security: as the owner, nothing to restore', async () => {
  const r = await owner.query('SELECT object, restored FROM activity.restore_row_security()');
  assert.deepEqual(r.rows, []);
});

test('activity.universal_type: a string, as the application role', async () => {
  assert.equal((await one(app, 'SELECT activity.universal_type($1) AS u', ['discord:guildMemberAdd'])).u, 'USER_JOIN');
  assert.equal((await one(app, 'SELECT activity.universal_type(type => $1) AS u', [TYPE_J])).u, 'USER_JOIN');
  assert.equal((await one(app, 'SELECT activity.universal_type($1) AS u', [null])).u, null);
});

// --- JSON Schema validation (the application role) --------------------------------------

test('activity.is_valid: document and schema as objects, positional', async () => {
  assert.equal((await one(app, 'SELECT activity.is_valid($1, $2) AS ok', [GOOD, CHECK])).ok, true);
  assert.equal((await one(app, 'SELECT activity.is_valid($1, $2) AS ok', [BAD, CHECK])).ok, false);
});

test('activity.is_valid: named notation (document => $1, schema => $2), objects and JSON strings', async () => {
  assert.equal((await one(app, 'SELECT activity.is_valid(document => $1, schema => $2) AS ok', [GOOD, JSON.stringify(CHECK)])).ok, true);
  assert.equal((await one(app, 'SELECT activity.is_valid(schema => $2, document => $1) AS ok', [JSON.stringify(BAD), CHECK])).ok, false);
});

test('activity.is_valid: a prepared statement (name), three times', async () => {
  for (const [doc, want] of [[GOOD, true], [BAD, false], [GOOD, true]]) {
    const r = await app.query({ name: 'drivers-is-valid', text: 'SELECT activity.is_valid($1, $2) AS ok', values: [doc, CHECK] });
    assert.equal(r.rows[0].ok, want);
  }
});

test('activity.validation_errors: document and schema as objects, positional and named', async () => {
  let r = await rows(app, 'SELECT path, keyword FROM activity.validation_errors($1, $2) ORDER BY path', [BAD, CHECK]);
  assert.deepEqual(r, ERRORS);
  r = await rows(app, 'SELECT path, keyword FROM activity.validation_errors(document => $1, schema => $2) ORDER BY path',
    [JSON.stringify(BAD), JSON.stringify(CHECK)]);
  assert.deepEqual(r, ERRORS);
});

test('activity.jsonschema_in: a schema object, called directly', async () => {
  const r = await one(app, 'SELECT activity.jsonschema_in($1) AS s', [CHECK]);
  assert.deepEqual(JSON.parse(r.s), CHECK);
});

test('activity.jsonschema_out: a schema object, called directly; a stored schema read back as a string', async () => {
  assert.deepEqual(JSON.parse((await one(app, 'SELECT activity.jsonschema_out($1) AS s', [CHECK])).s), CHECK);
  const r = await one(owner, 'SELECT schema FROM activity.schemas WHERE type = $1 ORDER BY version LIMIT 1', [TYPE_A]);
  assert.equal(typeof r.schema, 'string');
  assert.deepEqual(JSON.parse(r.schema), SCHEMA_V1);
});

test('activity.jsonschema_send: a schema object, called directly: format 1 and the text (a Buffer)', async () => {
  const r = await one(app, 'SELECT activity.jsonschema_send($1) AS b', [CHECK]);
  assert.ok(Buffer.isBuffer(r.b) && r.b[0] === 1);
  assert.deepEqual(JSON.parse(r.b.subarray(1).toString()), CHECK);
});

test('activity.jsonschema_recv: a schema sent as a Buffer (binary, untyped: the type\'s receive function)', async () => {
  const bin = Buffer.concat([Buffer.from([1]), Buffer.from(JSON.stringify(CHECK))]);
  assert.equal((await one(app, 'SELECT activity.is_valid($1, $2) AS ok', [BAD, bin])).ok, false);
});

test('activity.jsonschema_to_jsonb: a schema object', async () => {
  assert.deepEqual((await one(app, 'SELECT activity.jsonschema_to_jsonb($1) AS j', [CHECK])).j, CHECK);
});

// --- recording (the application role) ------------------------------------------------------

const ids = {};

test('activity.record: positional strings and an object (metadata), returns a uuid string', async () => {
  const r = await one(app, 'SELECT activity.record($1, $2, $3, $4) AS id', [W, TYPE_A, 'node-ada', { n: 1, label: 'first' }]);
  assert.ok(isUuid(r.id), r.id);
  ids.first = r.id;
});

test('activity.record: every argument named: uuid string id, Date, number version, null', async () => {
  const given = (await one(app, 'SELECT activity.uuidv7() AS u')).u;
  const r = await one(app, `SELECT activity.record(workspace_id => $1, type => $2, initiator_id => $3, metadata => $4,
                                                  recipient_id => $5, actor_type => $6, version => $7, occurred_at => $8,
                                                  platform => $9, subject_type => $10, subject_id => $11, caused_by => $12,
                                                  id => $13) AS id`,
  [W, 'issue.created', 'node-bot', { title: 'Broken', identifier: 'ENG-1' }, null, 'agent', 1, ago(HOUR), null,
    'issue', 'ENG-1', null, given]);
  assert.equal(r.id, given);
  ids.issue = given;
});

test('activity.record: a retry with the same id returns it and records nothing', async () => {
  const r = await one(app, 'SELECT activity.record($1, $2, $3, $4, subject_type => $5, subject_id => $6, id => $7, actor_type => $8) AS id',
    [W, 'issue.created', 'node-bot', { title: 'Broken', identifier: 'ENG-1' }, 'issue', 'ENG-1', ids.issue, 'agent']);
  assert.equal(r.id, ids.issue);
  assert.equal((await one(app, 'SELECT count(*)::int AS n FROM activity.activities WHERE id = $1', [ids.issue])).n, 1);
});

test('activity.record: caused_by a uuid string, actor_type system, initiator null, platform and recipient', async () => {
  await one(app, 'SELECT activity.record($1, $2, $3, $4, platform => $5, recipient_id => $6) AS id',
    [W, 'discord:guildMemberAdd', 'node-cy', {}, 'discord', 'node-inviter']);
  const { id: deleted } = await one(app, 'SELECT activity.record($1, $2, $3, $4, platform => $5) AS id',
    [W, 'discord:messageDelete', 'node-mod', { message_id: 'm-1' }, 'discord']);
  const r = await one(app, 'SELECT activity.record($1, $2, $3, $4, actor_type => $5, caused_by => $6, function_type => $7) AS id',
    [W, 'MODERATION_LINK', null, { rule: 'links' }, 'system', deleted, 'linkFilter']);
  assert.equal((await one(app, 'SELECT caused_by FROM activity.activities WHERE id = $1', [r.id])).caused_by, deleted);
  await one(app, 'SELECT activity.record($1, $2, $3, $4, recipient_id => $5)', [W, 'award.given', 'node-ada', { award: 'Helpful' }, 'node-bob']);
  await one(app, 'SELECT activity.record($1, $2, $3)', [W, TYPE_J, 'node-dee']);
});

test('activity.record: occurred_at an ISO string, metadata null, version a string', async () => {
  const r = await one(app, 'SELECT activity.record($1, $2, $3, $4, occurred_at => $5) AS id',
    [W, TYPE_J, 'node-eve', null, '2002-02-03T04:05:06Z']);
  const row = await one(app, "SELECT metadata, occurred_at < '2003-01-01' AS old FROM activity.activities WHERE id = $1", [r.id]);
  assert.deepEqual(row, { metadata: {}, old: true });
  await one(app, 'SELECT activity.record($1, $2, $3, $4, version => $5)', [W, TYPE_A, 'node-v1', { n: 2 }, '1']);
});

test('activity.record: a prepared statement (name), three calls', async () => {
  for (let i = 0; i < 3; i++) {
    const r = await app.query({
      name: 'drivers-record',
      text: 'SELECT activity.record($1, $2, $3, $4, occurred_at => $5) AS id',
      values: [W, TYPE_A, `node-prep-${i}`, { n: i }, ago((5 - i) * MINUTE)],
    });
    assert.ok(isUuid(r.rows[0].id));
  }
});

test('activity.activities: INSERT with parameters (an object as metadata, a Date)', async () => {
  await one(app, 'INSERT INTO activity.activities (workspace_id, type, initiator_id, metadata, occurred_at) '
    + 'VALUES ($1, $2, $3, $4, $5), ($6, $7, $8, $9, $10)',
  [W, TYPE_A, 'node-ins-1', { n: 4 }, ago(2 * MINUTE), W, TYPE_A, 'node-ins-2', JSON.stringify({ n: 5 }), ago(MINUTE)]);
  const r = await one(app, 'SELECT count(*)::int AS n FROM activity.activities WHERE workspace_id = $1 AND initiator_id = ANY($2)',
    [W, ['node-ins-1', 'node-ins-2']]);
  assert.equal(r.n, 2);
});

// --- feeds (the application role) -------------------------------------------------------

let page1 = [];

test('activity.page: positional workspace, named "limit"; cursor read back as a string', async () => {
  const r = await rows(app, 'SELECT id, cursor, has_more FROM activity.page($1, "limit" => $2)', [W, 3]);
  assert.equal(r.length, 3);
  assert.ok(r.every((x) => typeof x.cursor === 'string' && x.cursor.length === 51), JSON.stringify(r));
  assert.equal(r[2].has_more, true);
  page1 = r;
});

test('activity.page: named notation, the cursor sent back as a string (workspace_id => $1, after => $2, "limit" => $3)', async () => {
  const r = await rows(app, 'SELECT id FROM activity.page(workspace_id => $1, after => $2, "limit" => $3)', [W, page1[2].cursor, 3]);
  const all = await rows(app, 'SELECT id FROM activity.page($1, "limit" => $2)', [W, 6]);
  assert.deepEqual([...page1, ...r].map((x) => x.id), all.map((x) => x.id));
});

test('activity.page: positional (workspace, cursor string, limit as a number and as a string)', async () => {
  let r = await rows(app, 'SELECT id FROM activity.page($1, $2, $3)', [W, page1[0].cursor, 2]);
  assert.deepEqual(r.map((x) => x.id), page1.slice(1, 3).map((x) => x.id));
  r = await rows(app, 'SELECT id FROM activity.page($1, $2, $3)', [W, page1[0].cursor, '2']);
  assert.equal(r.length, 2);
});

test('activity.page: after null, filters as arrays, Dates and strings (types, actor_types, since, until, direction)', async () => {
  const r = await rows(app, `SELECT type, actor_type FROM activity.page($1, after => $2, types => $3, actor_types => $4,
                                                                     since => $5, until => $6, direction => $7)`,
  [W, null, ['node.*', 'issue.created'], ['user', 'agent'], ago(DAY), new Date(NOW + DAY), 'asc']);
  assert.ok(r.length >= 5 && r.every((x) => [TYPE_A, TYPE_J, 'issue.created'].includes(x.type)), JSON.stringify(r));
  assert.deepEqual(await rows(app, 'SELECT id FROM activity.page($1, types => $2)', [W, []]), []);
});

test('activity.page: entity, actor, recipient, universal-type and platform feeds; every workspace (null)', async () => {
  assert.deepEqual(await rows(app, 'SELECT id FROM activity.page($1, subject_type => $2, subject_id => $3)', [W, 'issue', 'ENG-1']),
    [{ id: ids.issue }]);
  assert.equal((await rows(app, 'SELECT id FROM activity.page($1, initiator_id => $2)', [W, 'node-bot'])).length, 1);
  assert.equal((await rows(app, 'SELECT id FROM activity.page($1, recipient_id => $2)', [W, 'node-bob'])).length, 1);
  assert.equal((await rows(app, 'SELECT id FROM activity.page($1, universal_types => $2, platforms => $3)',
    [W, ['USER_JOIN'], ['discord']])).length, 1);
  const r = await rows(app, 'SELECT workspace_id FROM activity.page($1, types => $2, "limit" => $3)', [null, [TYPE_A], 200]);
  assert.ok(r.length >= 5 && r.every((x) => x.workspace_id === W), JSON.stringify(r));
});

test('activity.page: a prepared statement (name), following the cursor page by page', async () => {
  let after = null;
  const seen = [];
  for (let i = 0; i < 4; i++) {
    const r = await app.query({
      name: 'drivers-page',
      text: 'SELECT id, cursor FROM activity.page(workspace_id => $1, after => $2, "limit" => $3)',
      values: [W, after, 2],
    });
    seen.push(...r.rows.map((x) => x.id));
    after = r.rows[r.rows.length - 1].cursor;
  }
  const all = await rows(app, 'SELECT id FROM activity.page($1, "limit" => $2)', [W, 8]);
  assert.deepEqual(seen, all.map((x) => x.id));
});

test('activity.page_plans: positional string, cursor string and number, as the owner', async () => {
  let r = await rows(owner, 'SELECT partition, plan FROM activity.page_plans($1, $2, $3)', [W, page1[0].cursor, 10]);
  assert.ok(r.length >= 1 && r.every((x) => typeof x.plan === 'string' && x.plan), JSON.stringify(r));
  r = await rows(owner, 'SELECT plan FROM activity.page_plans($1, types => $2, actor_types => $3)', [W, [TYPE_A], ['user']]);
  assert.ok(r.length >= 1);
});

test('activity.page_plans: named notation with Dates', async () => {
  const r = await rows(owner, 'SELECT plan FROM activity.page_plans(workspace_id => $1, since => $2, until => $3, direction => $4)',
    [W, ago(DAY), new Date(NOW), 'asc']);
  assert.ok(r.length >= 1);
});

test('activity.workspace_activity: positional string and numbers', async () => {
  const r = await rows(app, 'SELECT id, action, actor_id, details, created_at FROM activity.workspace_activity($1, $2, $3)', [W, 3, 1]);
  assert.equal(r.length, 3);
  assert.ok(typeof r[0].details === 'object' && r[0].created_at instanceof Date);
});

test('activity.workspace_activity: named "limit", "offset" and actor_type', async () => {
  const r = await rows(app, 'SELECT actor_type FROM activity.workspace_activity($1, "limit" => $2, "offset" => $3, actor_type => $4)',
    [W, 50, 0, 'agent']);
  assert.deepEqual(r, [{ actor_type: 'agent' }]);
});

test('activity.issue_activity: positional strings', async () => {
  assert.deepEqual(await rows(app, 'SELECT id, issue_id FROM activity.issue_activity($1, $2)', [W, 'ENG-1']),
    [{ id: ids.issue, issue_id: 'ENG-1' }]);
});

test('activity.issue_activity: named notation with numbers and null', async () => {
  const r = await rows(app, 'SELECT action FROM activity.issue_activity(workspace_id => $1, issue_id => $2, "limit" => $3, '
    + '"offset" => $4, actor_type => $5)', [W, 'ENG-1', 10, 0, null]);
  assert.deepEqual(r, [{ action: 'issue.created' }]);
});

test('activity.counts: positional string and Dates', async () => {
  const r = await rows(app, 'SELECT bucket, key, n FROM activity.counts($1, $2, $3)', [W, ago(2 * DAY), new Date(NOW + DAY)]);
  assert.ok(r.some((x) => x.key === TYPE_A && Number(x.n) >= 5) && r[0].bucket instanceof Date, JSON.stringify(r));
});

test('activity.counts: bucket a string (interval), "by" named; workspace null', async () => {
  let r = await rows(app, 'SELECT key, n FROM activity.counts($1, $2, $3, $4, "by" => $5)',
    [W, ago(2 * DAY), new Date(NOW + DAY), '6 hours', 'universal_type']);
  assert.ok(r.some((x) => x.key === 'USER_JOIN'), JSON.stringify(r));
  r = await rows(app, 'SELECT n FROM activity.counts(workspace_id => $1, since => $2, until => $3, bucket => $4)',
    [null, ago(2 * DAY), new Date(NOW + DAY), '1 hour']);
  assert.ok(r.length >= 1);
});

test('activity.counts: "by" function_type and tz named', async () => {
  const r = await rows(app, 'SELECT key, n FROM activity.counts($1, $2, $3, "by" => $4, tz => $5)',
    [W, ago(2 * DAY), new Date(NOW + DAY), 'function_type', 'Europe/Paris']);
  assert.ok(r.some((x) => x.key === 'linkFilter'), JSON.stringify(r));
});

test('activity.bursts: Dates, an interval string, numbers and arrays', async () => {
  const r = await rows(app, 'SELECT bucket, key, n, expected, score FROM activity.bursts($1, $2, $3, $4, "by" => $5, '
    + 'min_count => $6, min_score => $7, types => $8)',
  [W, ago(2 * DAY), new Date(NOW + DAY), '1 hour', 'type', 1, -1000, [TYPE_A]]);
  assert.ok(r.length >= 1 && r.every((x) => x.key === TYPE_A && x.bucket instanceof Date && typeof x.score === 'number'),
    JSON.stringify(r));
  await assert.rejects(rows(app, 'SELECT * FROM activity.bursts($1, $2, $3, tz => $4)', [W, ago(DAY), new Date(NOW), 'Mars/Olympus']),
    { code: '22023' });
});

test('activity.anomalies: named arguments; nothing unusual in this workspace', async () => {
  const r = await rows(app, 'SELECT "check", bucket, key, n FROM activity.anomalies(workspace_id => $1, since => $2, until => $3)',
    [W, ago(2 * DAY), new Date(NOW + DAY)]);
  assert.deepEqual(r, []);
});

test('activity.activity_log: SELECT with parameters, as the application role', async () => {
  const r = await rows(app, 'SELECT type, universal_type FROM activity.activity_log WHERE workspace_id = $1 AND type = $2',
    [W, 'discord:guildMemberAdd']);
  assert.deepEqual(r, [{ type: 'discord:guildMemberAdd', universal_type: 'USER_JOIN' }]);
});

// --- cursors (the application role) ----------------------------------------------------------

test('activity.cursor_info: a cursor as a string, positional and named', async () => {
  const r = await one(app, 'SELECT format_version, direction, occurred_at, id, query_hash FROM activity.cursor_info($1)', [page1[0].cursor]);
  assert.equal(r.direction, 'desc');
  assert.equal(r.id, page1[0].id);
  assert.ok(r.occurred_at instanceof Date && typeof r.query_hash === 'string');
  assert.equal((await one(app, 'SELECT id FROM activity.cursor_info(cursor => $1)', [page1[0].cursor])).id, page1[0].id);
});

test('activity.cursor_eq: two strings', async () => {
  assert.equal((await one(app, 'SELECT activity.cursor_eq($1, $2) AS e', [page1[0].cursor, page1[0].cursor])).e, true);
  assert.equal((await one(app, 'SELECT activity.cursor_eq($1, $2) AS e', [page1[0].cursor, page1[1].cursor])).e, false);
});

test('activity.cursor_in: a string, called directly', async () => {
  assert.equal((await one(app, 'SELECT activity.cursor_in($1) AS c', [page1[0].cursor])).c, page1[0].cursor);
});

test('activity.cursor_out: a string, called directly', async () => {
  assert.equal((await one(app, 'SELECT activity.cursor_out($1) AS c', [page1[0].cursor])).c, page1[0].cursor);
});

test('activity.cursor_send: a string, called directly: the binary form (a Buffer of 38 bytes)', async () => {
  const r = await one(app, 'SELECT activity.cursor_send($1) AS b', [page1[0].cursor]);
  assert.ok(Buffer.isBuffer(r.b) && r.b.length === 38);
});

test('activity.cursor_recv: the binary form sent back as a Buffer (binary, untyped: the type\'s receive function)', async () => {
  const { b } = await one(app, 'SELECT activity.cursor_send($1) AS b', [page1[0].cursor]);
  const r = await rows(app, 'SELECT id FROM activity.page($1, after => $2, "limit" => $3)', [W, b, 2]);
  assert.deepEqual(r.map((x) => x.id), page1.slice(1, 3).map((x) => x.id));
});

test('activity.uuidv7: no argument, returns a uuid string', async () => {
  const r = await one(app, 'SELECT activity.uuidv7() AS a, activity.uuidv7() AS b');
  assert.ok(isUuid(r.a) && r.a < r.b && r.a[14] === '7', JSON.stringify(r));
});

test('activity.uuidv7_time: a uuid string, positional and named', async () => {
  const { u } = await one(app, 'SELECT activity.uuidv7() AS u');
  const { t } = await one(app, 'SELECT activity.uuidv7_time($1) AS t', [u]);
  assert.ok(t instanceof Date && Math.abs(t - Date.now()) < 60e3, t);
  assert.deepEqual((await one(app, 'SELECT activity.uuidv7_time(id => $1) AS t', [u])).t, t);
});

test('activity.partition_start: a Date, an ISO string, named', async () => {
  const want = new Date('2024-05-01T00:00:00Z');
  assert.deepEqual((await one(app, 'SELECT activity.partition_start($1) AS p', [new Date('2024-05-17T12:00:00Z')])).p, want);
  assert.deepEqual((await one(app, 'SELECT activity.partition_start(ts => $1) AS p', ['2024-05-17T12:00:00Z'])).p, want);
});

// --- the change feed ------------------------------------------------------------------

test('activity.feed_position: positional string and named, as the application role', async () => {
  const { p } = await one(app, 'SELECT activity.feed_position($1) AS p', ['beginning']);
  assert.ok(typeof p === 'string' && p);
  assert.ok((await one(app, 'SELECT activity.feed_position(start => $1) AS p', ['now'])).p);
});

test('activity.changes_since: positional string, number, string, array and boolean, as the application role', async () => {
  const { p } = await one(app, 'SELECT activity.feed_position($1) AS p', ['beginning']);
  const r = await rows(app, 'SELECT (event).id, (event).workspace_id, position FROM activity.changes_since($1, $2, $3, $4, $5)',
    [p, 1000, W, ['node.*'], false]);
  const events = r.filter((x) => x.position === null);
  assert.ok(events.length >= 5 && events.every((x) => x.workspace_id === W), JSON.stringify(r));
  assert.ok(r[r.length - 1].position);
});

test('activity.changes_since: named notation (since, "limit", workspace_id, types, accept_gap)', async () => {
  const { p } = await one(app, 'SELECT activity.feed_position() AS p');
  await one(app, 'SELECT activity.record($1, $2, $3, $4)', [W, TYPE_A, 'node-feed', { n: 9 }]);
  const r = await rows(app, 'SELECT (event).initiator_id, position FROM activity.changes_since(since => $1, "limit" => $2, '
    + 'workspace_id => $3, types => $4, accept_gap => $5)', [p, 10, W, [TYPE_A], false]);
  assert.deepEqual(r.filter((x) => x.position === null).map((x) => x.initiator_id), ['node-feed']);
});

test('activity.create_consumer: named notation with an array, positional with nulls, as the owner', async () => {
  const r = await one(owner, 'SELECT name FROM activity.create_consumer($1, start => $2, workspace_id => $3, types => $4)',
    [CONSUMER, 'beginning', W, ['node.*']]);
  assert.equal(r.name, CONSUMER);
  await one(owner, 'SELECT activity.create_consumer($1, $2, $3, $4)', [`${CONSUMER}_2`, 'now', null, null]);
});

test('activity.changes: positional string and number, as the application role', async () => {
  const r = await rows(app, 'SELECT id, workspace_id, type, metadata FROM activity.changes($1, $2)', [CONSUMER, 1000]);
  assert.ok(r.length >= 5 && r.every((x) => x.workspace_id === W && typeof x.metadata === 'object'), JSON.stringify(r));
});

test('activity.changes: named "limit", as the application role', async () => {
  await one(app, 'SELECT activity.record($1, $2, $3, $4)', [W, TYPE_A, 'node-changes', { n: 10 }]);
  const r = await rows(app, 'SELECT initiator_id FROM activity.changes(consumer => $1, "limit" => $2)', [CONSUMER, 10]);
  assert.deepEqual(r, [{ initiator_id: 'node-changes' }]);
});

test('activity.consumers: SELECT with a parameter, as the owner', async () => {
  const r = await one(owner, 'SELECT name, lag_events FROM activity.consumers WHERE name = $1', [CONSUMER]);
  assert.deepEqual(r, { name: CONSUMER, lag_events: '0' });
});

test('activity.accept_gap: a string, as the owner', async () => {
  assert.equal((await one(owner, 'SELECT activity.accept_gap($1) AS n', [CONSUMER])).n, '0');
});

test('activity.drop_consumer: positional and named, as the owner', async () => {
  assert.equal((await one(owner, 'SELECT activity.drop_consumer($1) AS d', [CONSUMER])).d, true);
  assert.equal((await one(owner, 'SELECT activity.drop_consumer(name => $1) AS d', [`${CONSUMER}_2`])).d, true);
});

// --- capture (the application role, owning its tables) ---------------------------------

const registerSubject = async (subject) => {
  for (const event of ['created', 'updated', 'deleted']) {
    await one(owner, 'SELECT activity.register_type($1, subject_type => $2)', [`${subject}.${event}`, subject]);
  }
};
const captured = (subject) => rows(app, 'SELECT type, subject_id, metadata FROM activity.activities '
  + 'WHERE workspace_id = $1 AND subject_type = $2 ORDER BY occurred_at', [W, subject]);

test('activity.track: a table name as a string (regclass) and a string, positional, as the application role owning the table', async () => {
  await registerSubject('nodetask');
  await app.query("CREATE TABLE drivers_app.node_tasks (id text PRIMARY KEY, workspace_id text NOT NULL, title text, status text DEFAULT 'open')");
  await one(app, 'SELECT activity.track($1, $2)', ['drivers_app.node_tasks', 'nodetask']);
  await app.query('INSERT INTO drivers_app.node_tasks (id, workspace_id, title) VALUES ($1, $2, $3)', ['T-1', W, 'Write docs']);
  await app.query('UPDATE drivers_app.node_tasks SET status = $1 WHERE id = $2', ['done', 'T-1']);
  assert.deepEqual((await captured('nodetask')).map((x) => [x.type, x.subject_id]),
    [['nodetask.created', 'T-1'], ['nodetask.updated', 'T-1']]);
});

test('activity.track: named notation with names (name) and arrays (name[], text[])', async () => {
  await registerSubject('nodenote');
  await app.query('CREATE TABLE drivers_app.node_notes (key text PRIMARY KEY, ws text NOT NULL, body text, status text)');
  await one(app, 'SELECT activity.track("table" => $1, subject_type => $2, workspace_column => $3, subject_id_column => $4, '
    + 'columns => $5, events => $6)', ['drivers_app.node_notes', 'nodenote', 'ws', 'key', ['status'], ['created', 'updated']]);
  await app.query('INSERT INTO drivers_app.node_notes VALUES ($1, $2, $3, $4)', ['N-1', W, 'hello', 'draft']);
  await app.query('UPDATE drivers_app.node_notes SET body = $1 WHERE key = $2', ['not tracked', 'N-1']);
  await app.query('UPDATE drivers_app.node_notes SET status = $1 WHERE key = $2', ['final', 'N-1']);
  await app.query('DELETE FROM drivers_app.node_notes WHERE key = $1', ['N-1']);
  assert.deepEqual((await captured('nodenote')).slice(1).map((x) => [x.type, x.metadata]),
    [['nodenote.updated', { changes: { status: { old: 'draft', new: 'final' } } }]]);
});

test('activity.tracked: SELECT with a parameter, as the application role', async () => {
  const r = await rows(app, 'SELECT "table"::text AS t, subject_type, workspace_column, columns, events FROM activity.tracked '
    + 'WHERE subject_type = ANY($1) ORDER BY 1', [['nodetask', 'nodenote']]);
  assert.deepEqual(r, [
    { t: 'drivers_app.node_notes', subject_type: 'nodenote', workspace_column: 'ws', columns: ['status'], events: ['created', 'updated'] },
    { t: 'drivers_app.node_tasks', subject_type: 'nodetask', workspace_column: 'workspace_id', columns: null, events: ['created', 'updated', 'deleted'] },
  ]);
});

test('activity.untrack: a table name as a string (regclass), positional and named', async () => {
  assert.equal((await one(app, 'SELECT activity.untrack($1) AS u', ['drivers_app.node_tasks'])).u, true);
  assert.equal((await one(app, 'SELECT activity.untrack("table" => $1) AS u', ['drivers_app.node_notes'])).u, true);
  assert.equal((await one(app, 'SELECT activity.untrack($1) AS u', ['drivers_app.node_notes'])).u, false);
});

// --- partitions and settings (the owner) -----------------------------------------------

test('activity.configure: named number, interval strings and boolean', async () => {
  let r = await one(owner, 'SELECT premake, retention::text FROM activity.configure(premake => $1, retention => $2)', [3, '100 years']);
  assert.deepEqual(r, { premake: 3, retention: '100 years' });
  r = await one(owner, 'SELECT retention FROM activity.configure(partition_interval => $1, keep_forever => $2)', ['1 month', true]);
  assert.equal(r.retention, null);
});

test('activity.maintain: no argument', async () => {
  const r = await rows(owner, 'SELECT action, partition FROM activity.maintain()');
  assert.ok(r.every((x) => x.action !== 'skipped'), JSON.stringify(r));
});

test('activity.create_partitions: Dates positional, ISO strings named', async () => {
  const r = await rows(owner, 'SELECT action FROM activity.create_partitions($1, $2)',
    [new Date('2002-01-01T00:00:00Z'), new Date('2002-03-01T00:00:00Z')]);
  assert.ok(r.every((x) => x.action === 'created'), JSON.stringify(r));
  assert.equal((await rows(owner, 'SELECT 1 FROM activity.partitions() WHERE lower = $1', [new Date('2002-02-01T00:00:00Z')])).length, 1);
  await rows(owner, 'SELECT * FROM activity.create_partitions(since => $1, until => $2)', ['2002-01-01T00:00:00Z', '2002-03-01T00:00:00Z']);
});

test('activity.partitions: no argument; partition (regclass) read as a string', async () => {
  const r = await rows(owner, 'SELECT partition, lower, upper, is_default FROM activity.partitions()');
  assert.ok(r[r.length - 1].is_default === true && typeof r[0].partition === 'string', JSON.stringify(r));
});

test('activity.register_ids: a partition name as a string (regclass), positional and named', async () => {
  const { part } = await one(owner, 'SELECT partition::text AS part FROM activity.partitions() WHERE lower = $1',
    [new Date('2002-02-01T00:00:00Z')]);
  const r = await one(owner, 'SELECT registered, already_registered FROM activity.register_ids($1)', [part]);
  assert.ok(r.registered === '0' && Number(r.already_registered) >= 1, JSON.stringify(r));   // the event of 2002-02-03
  await one(owner, 'SELECT * FROM activity.register_ids(part => $1)', [part]);
});

test('activity.pending_steps: no argument', async () => {
  assert.deepEqual(await rows(owner, 'SELECT partition, step, statement FROM activity.pending_steps()'), []);
});

test('activity.type_history: SELECT with a parameter, as the owner', async () => {
  const r = await rows(owner, 'SELECT change, schema_version FROM activity.type_history WHERE type = $1 ORDER BY at', [TYPE_R]);
  assert.equal(r.filter((x) => x.change === 'schema retired').length, 2, JSON.stringify(r));
});

// --- operations: retention rules, erasure, the hash chain (the owner) -----------------------
// Maintenance runs as the owner: these functions refuse other roles (42501).
// Their own workspaces, so that retention and erasure touch nothing else.

const OPS_W = 'node-ops';                    // rows dated 2102 (the default partition), removed by a retention rule
const CHAIN_W = 'node-chain';                // an activity the hash chain takes in
const ERASE_W = 'node-erase';                // a member erased
const ERASE_W2 = 'node-erase-2';             // the same member elsewhere: an erasure in every workspace
const TYPE_O = 'node.ops.noted';             // no schema: an erased party's metadata becomes {}
const TYPE_X = 'node.ops.profile';           // a schema marking properties "x-personal"
const FUTURE = new Date('2102-01-05T00:00:00Z');   // later than maintain() makes partitions for
const ops = {};

test('activity.default_partition_rows: rows dated 2102 wait in the default partition, later than maintain() makes partitions for', async () => {
  await one(owner, 'SELECT activity.register_type($1, $2)', [TYPE_O, 'A note (node-postgres operations).']);
  for (let i = 0; i < 3; i++) {
    await one(app, 'SELECT activity.record($1, $2, $3, $4, occurred_at => $5)',
      [OPS_W, TYPE_O, 'node-ops', { i }, new Date(FUTURE.getTime() + i * HOUR)]);
  }
  const r = await rows(owner, 'SELECT rows, oldest, newest, intervals_away, status FROM activity.default_partition_rows() '
    + 'WHERE lower = $1', [new Date('2102-01-01T00:00:00Z')]);
  assert.equal(r.length, 1);
  assert.deepEqual([r[0].rows, r[0].oldest, r[0].newest], ['3', FUTURE, new Date(FUTURE.getTime() + 2 * HOUR)]);
  assert.ok(r[0].intervals_away > 0 && r[0].status.startsWith('later than maintain() makes partitions for'), JSON.stringify(r));
});

test('activity.partition_stats: SELECT with a Date parameter, as the owner; sizes are bigint strings, the estimate follows ANALYZE', async () => {
  const feb = new Date('2002-02-01T00:00:00Z');
  const { part } = await one(owner, 'SELECT partition::text AS part FROM activity.partitions() WHERE lower = $1', [feb]);
  await owner.query(`ANALYZE ${part}`);
  const r = await one(owner, 'SELECT partition, upper, is_default, row_estimate, heap_bytes, index_bytes, toast_bytes, total_bytes '
    + 'FROM activity.partition_stats WHERE lower = $1', [feb]);
  assert.deepEqual([r.partition, r.upper, r.is_default, r.row_estimate],
    [part, new Date('2002-03-01T00:00:00Z'), false, '1']);   // the event of 2002-02-03
  const bytes = [r.heap_bytes, r.index_bytes, r.toast_bytes, r.total_bytes];
  assert.ok(bytes.every((b) => /^\d+$/.test(b)) && BigInt(r.total_bytes) >= BigInt(r.heap_bytes) + BigInt(r.index_bytes),
    JSON.stringify(r));
  // one row a partition, the default one included
  const n = await one(owner, 'SELECT count(*)::int AS n, count(*) FILTER (WHERE is_default)::int AS d FROM activity.partition_stats');
  assert.deepEqual(n, { n: (await one(owner, 'SELECT count(*)::int AS n FROM activity.partitions()')).n, d: 1 });
});

test('activity.add_retention: keep an interval string, types an array (text[]), workspace a string; named notation with the keep read back changes the same rule', async () => {
  const r = await one(owner, 'SELECT rule_id, keep, types, workspace_id, created_by FROM activity.add_retention($1, $2, $3)',
    ['30 days', [TYPE_O], OPS_W]);
  assert.deepEqual([r.keep.toPostgres(), r.types, r.workspace_id, r.created_by], ['30 days', [TYPE_O], OPS_W, OWNER]);
  ops.typedRule = r.rule_id;
  // the interval read back (a postgres-interval object) is sent back as its toPostgres()
  const again = await one(owner, 'SELECT rule_id, keep FROM activity.add_retention(keep => $1, types => $2, workspace_id => $3)',
    [r.keep, [TYPE_O], OPS_W]);
  assert.deepEqual([again.rule_id, again.keep.toPostgres()], [r.rule_id, '30 days']);
  const longer = await one(owner, 'SELECT rule_id, keep::text FROM activity.add_retention($1, types => $2, workspace_id => $3)',
    ['90 days', [TYPE_O], OPS_W]);
  assert.deepEqual(longer, { rule_id: r.rule_id, keep: '90 days' });
});

test('activity.add_retention: as the application role, refused (42501); neither types nor workspace (null, null) refused (22023)', async () => {
  await assert.rejects(one(app, 'SELECT activity.add_retention($1, $2, $3)', ['1 day', null, OPS_W]), { code: '42501' });
  await assert.rejects(one(owner, 'SELECT activity.add_retention($1, $2, $3)', ['1 day', null, null]), { code: '22023' });
});

test('activity.add_retention: types an empty array ([], as page() takes it: no type) never makes a rule for every type', async () => {
  // refused (22023), or a rule that removes nothing; not types null, which is
  // every type of the workspace
  let r;
  try {
    r = await one(owner, 'SELECT rule_id, types FROM activity.add_retention($1, $2, $3)', ['1 day', [], `${OPS_W}-empty`]);
  } catch (e) {
    assert.equal(e.code, '22023', e.message);
    return;
  }
  await one(owner, 'SELECT activity.remove_retention($1)', [r.rule_id]);
  assert.deepEqual(r.types, []);
});

test('activity.retention_preview: no argument; a rule\'s rows (keep \'0\': all of its workspace) are the ones recorded', async () => {
  ops.wsRule = (await one(owner, 'SELECT rule_id FROM activity.add_retention($1, workspace_id => $2)', ['0', OPS_W])).rule_id;
  const r = await rows(owner, 'SELECT rule_id, keep::text, types, workspace_id, cutoff, rows, estimated, oldest, newest, partitions '
    + 'FROM activity.retention_preview() WHERE rule_id = ANY($1) ORDER BY rule_id', [[ops.typedRule, ops.wsRule]]);
  const [typed, ws] = r;
  // keep 0: every activity of the rule, the cutoff null
  assert.deepEqual(ws, { rule_id: ops.wsRule, keep: '00:00:00', types: null, workspace_id: OPS_W, cutoff: null, rows: '3',
    estimated: false, oldest: FUTURE, newest: new Date(FUTURE.getTime() + 2 * HOUR), partitions: null });
  // the typed rule keeps 90 days: none of its rows (dated 2102) goes
  assert.deepEqual([typed.rule_id, typed.keep, typed.types, typed.rows, typed.estimated], [ops.typedRule, '90 days', [TYPE_O], '0', false]);
  assert.ok(Math.abs(typed.cutoff - (Date.now() - 90 * DAY)) < MINUTE, typed.cutoff);
});

test('activity.maintenance_due: no argument: the last run, the next partition, the retention rule due now', async () => {
  const r = await rows(owner, 'SELECT due_at, what, detail FROM activity.maintenance_due()');
  assert.equal(r[0].what, 'last run');
  assert.ok(r[0].detail.startsWith('run '), JSON.stringify(r[0]));
  assert.ok(r.some((x) => x.what === 'create partition' && x.due_at instanceof Date), JSON.stringify(r));
  const due = r.filter((x) => x.what === 'retention' && x.detail.startsWith(`rule ${ops.wsRule} (keep `));
  assert.equal(due.length, 1, JSON.stringify(r));
  assert.ok(due[0].due_at <= new Date(Date.now() + 5e3), JSON.stringify(due));
});

test('activity.maintain: applies the retention rule (action \'deleted\', its rows) and records the run in activity.maintenance_runs', async () => {
  const r = await rows(owner, 'SELECT action, partition, rows, detail FROM activity.maintain()');
  assert.deepEqual(r.filter((x) => x.action === 'deleted' && x.detail.startsWith(`retention rule ${ops.wsRule} (`)).map((x) => x.rows),
    ['3']);
  assert.equal((await one(owner, 'SELECT count(*)::int AS n FROM activity.activities WHERE workspace_id = $1', [OPS_W])).n, 0);
  const run = await one(owner, 'SELECT run_by, deleted, error, steps FROM activity.maintenance_runs ORDER BY run_id DESC LIMIT 1');
  assert.deepEqual([run.run_by, run.deleted, run.error, run.steps.length], [OWNER, '3', null, r.length]);
});

test('activity.remove_retention: a number, positional and named (as a string); a rule removed already gives false', async () => {
  assert.equal((await one(owner, 'SELECT activity.remove_retention($1) AS r', [ops.typedRule])).r, true);
  assert.equal((await one(owner, 'SELECT activity.remove_retention(rule_id => $1) AS r', [String(ops.wsRule)])).r, true);
  assert.equal((await one(owner, 'SELECT activity.remove_retention($1) AS r', [ops.wsRule])).r, false);
  assert.deepEqual(await rows(owner, 'SELECT rule_id FROM activity.retention_rules WHERE workspace_id = $1', [OPS_W]), []);
});

test('activity.configure: hash_chain => true (a boolean, named) turns the hash chain on', async () => {
  const r = await one(owner, 'SELECT hash_chain, retention FROM activity.configure(hash_chain => $1)', [true]);
  assert.deepEqual(r, { hash_chain: true, retention: null });
});

test('activity.maintain: extends the hash chain (action \'chained\'): every activity is chained; the run counts them', async () => {
  const { id } = await one(app, 'SELECT activity.record($1, $2, $3) AS id', [CHAIN_W, TYPE_O, 'node-ops']);
  const r = await rows(owner, 'SELECT action, rows FROM activity.maintain()');
  const chained = r.filter((x) => x.action === 'chained').reduce((s, x) => s + Number(x.rows), 0);
  assert.ok(chained >= 1, JSON.stringify(r));
  assert.deepEqual(await one(owner, 'SELECT workspace_id, seq FROM activity.hash_chain WHERE id = $1', [id]),
    { workspace_id: CHAIN_W, seq: '1' });
  assert.equal((await one(owner, 'SELECT count(*)::int AS n FROM activity.activities a '
    + 'WHERE NOT EXISTS (SELECT 1 FROM activity.hash_chain h WHERE h.id = a.id)')).n, 0);
  assert.equal((await one(owner, 'SELECT chained FROM activity.maintenance_runs ORDER BY run_id DESC LIMIT 1')).chained, String(chained));
});

test('activity.chain_digest: no argument, and a workspace (a string, named): each workspace\'s last link, 64 hex digits', async () => {
  const r = await rows(owner, 'SELECT workspace, seq, chain, chained_at FROM activity.chain_digest()');
  assert.ok(r.length >= 1 && r.every((x) => /^[0-9a-f]{64}$/.test(x.chain) && x.chained_at instanceof Date), JSON.stringify(r));
  const mine = r.filter((x) => x.workspace === W);
  assert.equal(mine.length, 1);
  assert.equal(mine[0].seq, (await one(owner, 'SELECT count(*) AS n FROM activity.activities WHERE workspace_id = $1', [W])).n);
  assert.deepEqual(await rows(owner, 'SELECT workspace, seq, chain, chained_at FROM activity.chain_digest(workspace_id => $1)', [W]), mine);
});

test('activity.verify: no argument: [] after configure(hash_chain => true) and maintain()', async () => {
  assert.deepEqual(await rows(owner, 'SELECT workspace, seq, event_id, problem, detail FROM activity.verify()'), []);
});

test('activity.verify: chain_digest()\'s rows kept (jsonb read as an array) and passed back as JSON.stringify(array), named; an altered one is a \'digest mismatch\'', async () => {
  // (pg sends a JavaScript array as a PostgreSQL array literal: a JSON array
  // goes as a string)
  const { kept } = await one(owner, 'SELECT jsonb_agg(d) AS kept FROM activity.chain_digest() d');
  assert.ok(Array.isArray(kept) && kept.some((d) => d.workspace === W), JSON.stringify(kept));
  assert.deepEqual(await rows(owner, 'SELECT problem FROM activity.verify(digests => $1)', [JSON.stringify(kept)]), []);
  assert.deepEqual(await rows(owner, 'SELECT problem FROM activity.verify(workspace_id => $1, digests => $2)', [W, JSON.stringify(kept)]), []);
  const altered = kept.map((d) => (d.workspace === W ? { ...d, chain: '0'.repeat(64) } : d));
  const r = await rows(owner, 'SELECT workspace, seq, problem FROM activity.verify($1, $2)', [null, JSON.stringify(altered)]);
  assert.deepEqual(r, [{ workspace: W, seq: String(kept.find((d) => d.workspace === W).seq), problem: 'digest mismatch' }]);
});

// activities naming a member: initiator, recipient, in another's metadata
// (value and key); one not naming it
const eraseFixture = async (workspace, member) => {
  const record = 'SELECT activity.record($1, $2, $3, $4, recipient_id => $5) AS id';
  const made = [];
  for (const [initiator, metadata, recipient] of [[member, { n: 1, note: 'mine' }, null], ['node-bob', { n: 2 }, member],
    ['node-bob', { n: 3, about: member, [member]: true }, null], ['node-bob', { n: 4 }, null]]) {
    made.push((await one(app, record, [workspace, TYPE_O, initiator, metadata, recipient])).id);
  }
  return made;
};

test('activity.redact: positional strings (workspace, member, reason) return the events changed (a bigint string); the member becomes a pseudonym', async () => {
  const made = await eraseFixture(ERASE_W, 'node-zoe');
  await rows(owner, 'SELECT * FROM activity.maintain()');   // chained before the erasure
  assert.equal((await one(owner, 'SELECT activity.redact($1, $2, $3) AS n', [ERASE_W, 'node-zoe', 'ticket NODE-1'])).n, '3');
  const red = await one(owner, 'SELECT pseudonym, events, partitions FROM activity.redactions WHERE reason = $1', ['ticket NODE-1']);
  assert.ok(/^redacted:[0-9a-f]{20}$/.test(red.pseudonym) && red.events === '3' && red.partitions.length >= 1, JSON.stringify(red));
  const p = red.pseudonym;
  const got = new Map((await rows(app, 'SELECT id, initiator_id, recipient_id, metadata FROM activity.activities WHERE workspace_id = $1',
    [ERASE_W])).map((x) => [x.id, [x.initiator_id, x.recipient_id, x.metadata]]));
  assert.deepEqual(made.map((id) => got.get(id)), [
    [p, null, {}],                      // a party: no schema, no metadata left
    ['node-bob', p, {}],
    ['node-bob', null, { n: 3, about: p, [p]: true }],
    ['node-bob', null, { n: 4 }],
  ]);
  ops.eraseIds = made;
});

test('activity.redact: named notation, workspace_id null: every workspace', async () => {
  await eraseFixture(ERASE_W, 'node-kim');
  await eraseFixture(ERASE_W2, 'node-kim');
  assert.equal((await one(owner, 'SELECT activity.redact(workspace_id => $1, member_id => $2, reason => $3) AS n',
    [null, 'node-kim', 'ticket NODE-2'])).n, '6');
  assert.deepEqual(await one(owner, 'SELECT workspace_id, events FROM activity.redactions WHERE reason = $1', ['ticket NODE-2']),
    { workspace_id: null, events: '6' });
});

test('activity.redact: as the application role, refused (42501); a reason naming the member (22023) and none (22004) refused', async () => {
  await assert.rejects(one(app, 'SELECT activity.redact($1, $2, $3)', [ERASE_W, 'node-zoe', 'ticket NODE-3']), { code: '42501' });
  await assert.rejects(one(owner, 'SELECT activity.redact($1, $2, $3)', [ERASE_W, 'node-zoe', 'request of node-zoe']), { code: '22023' });
  await assert.rejects(one(owner, 'SELECT activity.redact($1, $2, $3)', [ERASE_W, 'node-zoe', null]), { code: '22004' });
});

test('activity.redact: an erased initiator\'s metadata loses the properties its schema marks "x-personal": true (nested too), keeps the rest', async () => {
  await one(owner, 'SELECT activity.register_type($1, $2)', [TYPE_X, 'A profile changed (node-postgres operations).']);
  await one(owner, 'SELECT activity.register_schema($1, $2)', [TYPE_X, {
    type: 'object',
    properties: {
      n: { type: 'integer' },
      email: { type: 'string', 'x-personal': true },
      address: { type: 'object', properties: { street: { type: 'string', 'x-personal': true }, city: { type: 'string' } } },
    },
  }]);
  const { id } = await one(app, 'SELECT activity.record($1, $2, $3, $4) AS id',
    [ERASE_W, TYPE_X, 'node-lou', { n: 1, email: 'lou@example.com', address: { street: '1 Main St', city: 'Lyon' } }]);
  assert.equal((await one(owner, 'SELECT activity.redact($1, $2, $3) AS n', [ERASE_W, 'node-lou', 'ticket NODE-4'])).n, '1');
  assert.deepEqual((await one(app, 'SELECT metadata FROM activity.activities WHERE id = $1', [id])).metadata,
    { n: 1, address: { city: 'Lyon' } });
});

test('activity.verify: a workspace (a string), after redact(): [] (the chain keeps the redacted digests)', async () => {
  assert.deepEqual(await rows(owner, 'SELECT workspace, seq, event_id, problem FROM activity.verify($1)', [ERASE_W]), []);
  assert.equal((await one(owner, 'SELECT count(*)::int AS n FROM activity.hash_chain WHERE id = ANY($1) AND redaction IS NOT NULL',
    [ops.eraseIds])).n, 3);
  await rows(owner, 'SELECT * FROM activity.maintain()');
  assert.deepEqual(await rows(owner, 'SELECT workspace, seq, event_id, problem FROM activity.verify()'), []);
});
