// The two endpoints over HTTP: parameters, paging by offset and by cursor,
// the actor_type filter, authentication, tenant isolation, the JSON shape.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./helpers');

let admin;
let server;
let acme;     // the main workspace: 230 events
let globex;   // another tenant, with its own events
let empty;    // a workspace without events
const N = 230;

before(async () => {
  admin = h.adminPool();
  await h.registerTypes(admin);
  acme = await h.createWorkspace(admin, 'acme');
  globex = await h.createWorkspace(admin, 'globex');
  empty = await h.createWorkspace(admin, 'empty', 1);
  await h.createEvents(admin, acme, N);
  await h.createEvents(admin, globex, 40);
  server = await h.startServer();
});

after(async () => {
  if (server) assert.equal(await server.stop(), 0, 'the server exits 0 on SIGTERM');
  await admin?.end();
});

const wsPath = (ws) => `/api/v1/workspaces/${encodeURIComponent(ws.id)}/activity`;
const issuePath = (ws, issue) => `/api/v1/workspaces/${encodeURIComponent(ws.id)}/issues/${encodeURIComponent(issue)}/activity`;
const ids = (res) => res.body.data.map((e) => e.id);

function assertPage(res, wsId, { limit, offset = 0 }) {
  assert.equal(res.status, 200, res.text);
  assert.match(res.headers.get('content-type'), /^application\/json/);
  assert.deepEqual(Object.keys(res.body).sort(), ['data', 'limit', 'next_cursor', 'offset']);
  assert.equal(res.body.limit, limit);
  assert.equal(res.body.offset, offset);
  assert.ok(res.body.next_cursor === null || typeof res.body.next_cursor === 'string');
  assert.ok(Array.isArray(res.body.data));
  assert.ok(res.body.data.length <= limit);
  for (const e of res.body.data) assert.deepEqual(h.entryProblems(e, wsId), [], JSON.stringify(e));
  assert.equal(h.strictlyDescending(res.body.data), -1, 'rows in strictly descending (created_at, id) order');
}

test('workspace endpoint: default limit 50, newest first, users and agents only', async () => {
  const expected = await h.expectedIds(admin, acme.id);
  assert.ok(expected.length > 150 && expected.length < N, `users' and agents' events: ${expected.length} of ${N}`);
  const res = await h.get(server, wsPath(acme), acme.token);
  assertPage(res, acme.id, { limit: 50 });
  assert.deepEqual(ids(res), expected.slice(0, 50));
  assert.equal(typeof res.body.next_cursor, 'string', 'the first page carries a cursor to the next');
  assert.equal(res.headers.get('cache-control'), 'no-store');
});

test('issue endpoint: the activities about one issue', async () => {
  for (const issue of acme.issues) {
    const expected = await h.expectedIds(admin, acme.id, { issueId: issue });
    assert.ok(expected.length > 20);
    const res = await h.get(server, `${issuePath(acme, issue)}?limit=200`, acme.token);
    assertPage(res, acme.id, { limit: 200 });
    assert.deepEqual(ids(res), expected);
    for (const e of res.body.data) {
      assert.equal(e.issue_id, issue);
      assert.match(e.action, /^issue\./);
    }
    assert.equal(res.body.next_cursor, null, 'the only page has no next cursor');
  }
});

test('limit 1 and 200; limit 0, 201, abc, -1, 1.5, repeated: 400', async () => {
  const expected = await h.expectedIds(admin, acme.id);
  const one = await h.get(server, `${wsPath(acme)}?limit=1`, acme.token);
  assertPage(one, acme.id, { limit: 1 });
  assert.deepEqual(ids(one), expected.slice(0, 1));
  const max = await h.get(server, `${wsPath(acme)}?limit=200`, acme.token);
  assertPage(max, acme.id, { limit: 200 });
  assert.deepEqual(ids(max), expected.slice(0, 200));
  assert.equal(typeof max.body.next_cursor, 'string');
  for (const bad of ['0', '201', 'abc', '-1', '1.5', '1e2', '99999999999', '50&limit=60']) {
    const res = await h.get(server, `${wsPath(acme)}?limit=${bad}`, acme.token);
    assert.equal(res.status, 400, `limit=${bad}: ${res.text}`);
    assert.equal(res.body.error.code, 'invalid_parameter');
    assert.match(res.body.error.message, /limit/);
  }
  for (const bad of ['-1', 'x', '2147483648']) {
    const res = await h.get(server, `${wsPath(acme)}?offset=${bad}`, acme.token);
    assert.equal(res.status, 400, `offset=${bad}: ${res.text}`);
    assert.match(res.body.error.message, /offset/);
  }
  const bad = await h.get(server, `${issuePath(acme, acme.issues[0])}?limit=201`, acme.token);
  assert.equal(bad.status, 400);
});

test('offset paging lists every row once, in order', async () => {
  for (const [path, expected] of [
    [wsPath(acme), await h.expectedIds(admin, acme.id)],
    [issuePath(acme, acme.issues[1]), await h.expectedIds(admin, acme.id, { issueId: acme.issues[1] })],
  ]) {
    const listed = [];
    for (let offset = 0; offset < expected.length + 50; offset += 50) {
      const res = await h.get(server, `${path}?limit=50&offset=${offset}`, acme.token);
      assertPage(res, acme.id, { limit: 50, offset });
      if (offset > 0) assert.equal(res.body.next_cursor, null, 'offset pages carry no cursor');
      listed.push(...ids(res));
    }
    assert.deepEqual(listed, expected);
  }
  const beyond = await h.get(server, `${wsPath(acme)}?offset=100000`, acme.token);
  assertPage(beyond, acme.id, { limit: 50, offset: 100000 });
  assert.deepEqual(beyond.body.data, []);
});

test('cursor paging: a full walk equals the offset listing, on both endpoints and with a filter', async () => {
  const cases = [
    [wsPath(acme), '', {}],
    [wsPath(acme), '&actor_type=agent', { actorType: 'agent' }],
    [issuePath(acme, acme.issues[2]), '', { issueId: acme.issues[2] }],
    [issuePath(acme, acme.issues[0]), '&actor_type=user', { issueId: acme.issues[0], actorType: 'user' }],
  ];
  for (const [path, extra, filter] of cases) {
    for (const limit of [7, 50]) {
      const pages = await h.walk(server, path, acme.token, limit, extra);
      for (const p of pages) assertPage(p, acme.id, { limit });
      const walked = pages.flatMap(ids);
      assert.deepEqual(walked, await h.expectedIds(admin, acme.id, filter), `${path}${extra} limit ${limit}`);
      // the offset listing of the same feed
      const listed = [];
      for (let offset = 0; offset < walked.length + limit; offset += limit) {
        listed.push(...ids(await h.get(server, `${path}?limit=${limit}&offset=${offset}${extra}`, acme.token)));
      }
      assert.deepEqual(walked, listed);
      assert.ok(pages.slice(0, -1).every((p) => p.body.data.length === limit && p.body.next_cursor));
      assert.equal(pages.at(-1).body.next_cursor, null);
    }
  }
});

test('actor_type filter: user, agent; anything else 400', async () => {
  for (const actorType of ['user', 'agent']) {
    const res = await h.get(server, `${wsPath(acme)}?limit=200&actor_type=${actorType}`, acme.token);
    assertPage(res, acme.id, { limit: 200 });
    assert.ok(res.body.data.length > 10);
    assert.ok(res.body.data.every((e) => e.actor_type === actorType));
    assert.deepEqual(ids(res), (await h.expectedIds(admin, acme.id, { actorType })).slice(0, 200));
    const off = await h.get(server, `${wsPath(acme)}?limit=20&offset=20&actor_type=${actorType}`, acme.token);
    assert.deepEqual(ids(off), ids(res).slice(20, 40));
  }
  for (const bad of ['system', 'USER', 'robot', '', 'user&actor_type=agent']) {
    const res = await h.get(server, `${wsPath(acme)}?actor_type=${bad}`, acme.token);
    assert.equal(res.status, 400, `actor_type=${bad}: ${res.text}`);
    assert.equal(res.body.error.code, 'invalid_parameter');
  }
});

test('the system\'s activities are not listed (seed 002: users and agents)', async () => {
  const { rows } = await admin.query(`SELECT count(*)::int AS n FROM activity.activities
                                      WHERE workspace_id = $1 AND actor_type = 'system'`, [acme.id]);
  assert.ok(rows[0].n > 0, 'the fixture has system activities');
  const walked = (await h.walk(server, wsPath(acme), acme.token, 200)).flatMap((p) => p.body.data);
  assert.ok(walked.every((e) => e.actor_type !== 'system'));
  assert.equal(walked.length, (await h.expectedIds(admin, acme.id)).length);
});

test('cursors: corrupted, truncated, of another feed, or with an offset: 400', async () => {
  const first = await h.get(server, `${wsPath(acme)}?limit=5`, acme.token);
  const cursor = first.body.next_cursor;
  assert.equal(cursor.length, 51);
  const flip = (s, i) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
  for (const bad of [flip(cursor, 20), flip(cursor, 50), cursor.slice(0, 40), `${cursor}A`, 'AAAA', 'not a cursor!', 'x'.repeat(300)]) {
    const res = await h.get(server, `${wsPath(acme)}?cursor=${encodeURIComponent(bad)}`, acme.token);
    assert.equal(res.status, 400, `cursor ${bad}: ${res.text}`);
    assert.equal(res.body.error.code, 'invalid_parameter');
    assert.match(res.body.error.message, /cursor/);
  }
  // a cursor of the workspace feed replayed on an issue, or with another filter
  for (const path of [`${issuePath(acme, acme.issues[0])}?cursor=${cursor}`, `${wsPath(acme)}?actor_type=user&cursor=${cursor}`]) {
    const res = await h.get(server, path, acme.token);
    assert.equal(res.status, 400, res.text);
    assert.match(res.body.error.message, /cursor/);
  }
  const both = await h.get(server, `${wsPath(acme)}?cursor=${cursor}&offset=5`, acme.token);
  assert.equal(both.status, 400);
  assert.match(both.body.error.message, /cursor and offset/);
  const zero = await h.get(server, `${wsPath(acme)}?cursor=${cursor}&offset=0&limit=5`, acme.token);
  assert.equal(zero.status, 200, 'offset=0 with a cursor is the cursor');
  assert.deepEqual(ids(zero), (await h.expectedIds(admin, acme.id)).slice(5, 10));
});

test('401: no token, a malformed header, an unknown token', async () => {
  const cases = [
    [null, {}],
    [null, { authorization: 'Basic YWxhZGRpbjpvcGVuc2VzYW1l' }],
    [null, { authorization: 'Bearer' }],
    [`${acme.token}x`, {}],
    [h.newToken(), {}],
    [globex.token.slice(0, -1), {}],
  ];
  for (const path of [wsPath(acme), issuePath(acme, acme.issues[0]), `${wsPath(acme)}?limit=0`]) {
    for (const [token, headers] of cases) {
      const res = await h.get(server, path, token, headers);
      assert.equal(res.status, 401, `${path} ${token} ${JSON.stringify(headers)}: ${res.text}`);
      assert.equal(res.body.error.code, 'unauthorized');
      assert.match(res.headers.get('www-authenticate'), /^Bearer/);
      assert.ok(!res.text.includes(acme.id));
    }
  }
});

test('404: an unknown workspace and another tenant\'s look alike, and show nothing of it', async () => {
  const globexIds = await h.expectedIds(admin, globex.id);
  assert.ok(globexIds.length > 10);
  const secrets = [globex.id, ...globex.issues, ...globexIds, 'actor-', 'Title'];
  const responses = [];
  for (const path of [wsPath(globex), `${wsPath(globex)}?limit=200`, `${wsPath(globex)}?offset=10`,
                      issuePath(globex, globex.issues[0]), `${wsPath(globex)}?limit=0`,
                      `/api/v1/workspaces/no-such-workspace/activity`, `/api/v1/workspaces/no-such-workspace/issues/x/activity`]) {
    const res = await h.get(server, path, acme.token);
    assert.equal(res.status, 404, `${path}: ${res.text}`);
    assert.equal(res.body.error.code, 'not_found');
    for (const s of secrets) assert.ok(!res.text.includes(s), `${path} shows ${s}`);
    responses.push(res.text);
  }
  assert.equal(new Set(responses).size, 1, `one answer for all: ${[...new Set(responses)]}`);
  // a cursor of globex's feed, with acme's token on acme's workspace: refused, nothing of globex
  const g = await h.get(server, `${wsPath(globex)}?limit=3`, globex.token);
  assert.equal(g.status, 200);
  const res = await h.get(server, `${wsPath(acme)}?cursor=${g.body.next_cursor}`, acme.token);
  assert.equal(res.status, 400);
  for (const s of secrets) assert.ok(!res.text.includes(s));
  // an issue of another workspace through acme's own workspace: 404
  const cross = await h.get(server, issuePath(acme, globex.issues[0]), acme.token);
  assert.equal(cross.status, 404);
  assert.match(cross.body.error.message, /issue/);
  // an unknown issue of acme: 404 too
  assert.equal((await h.get(server, issuePath(acme, 'no-such-issue'), acme.token)).status, 404);
  // and the other tenant sees only its own
  const own = await h.get(server, `${wsPath(globex)}?limit=200`, globex.token);
  assertPage(own, globex.id, { limit: 200 });
  assert.deepEqual(ids(own), globexIds);
});

test('an empty workspace: no data, no cursor', async () => {
  const res = await h.get(server, wsPath(empty), empty.token);
  assertPage(res, empty.id, { limit: 50 });
  assert.deepEqual(res.body, { data: [], limit: 50, offset: 0, next_cursor: null });
  const issue = await h.get(server, issuePath(empty, empty.issues[0]), empty.token);
  assert.deepEqual(issue.body, { data: [], limit: 50, offset: 0, next_cursor: null });
});

test('JSON shape: the 8 fields, their types, created_at to the microsecond in UTC, details as stored', async () => {
  const { rows } = await admin.query(`
    SELECT id::text, workspace_id, subject_type, subject_id, actor_type, initiator_id, type, metadata::text,
           to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at
    FROM activity.activities WHERE workspace_id = $1 AND actor_type <> 'system'
    ORDER BY occurred_at DESC, id DESC`, [acme.id]);
  const res = await h.get(server, `${wsPath(acme)}?limit=200`, acme.token);
  assertPage(res, acme.id, { limit: 200 });
  const byId = new Map(rows.map((r) => [r.id, r]));
  let withIssue = 0;
  let withoutIssue = 0;
  for (const e of res.body.data) {
    const r = byId.get(e.id);
    assert.ok(r, e.id);
    assert.equal(e.workspace_id, r.workspace_id);
    assert.equal(e.issue_id, r.subject_type === 'issue' ? r.subject_id : null);
    if (e.issue_id === null) withoutIssue++; else withIssue++;
    assert.equal(e.actor_type, r.actor_type);
    assert.equal(e.actor_id, r.initiator_id);
    assert.equal(e.action, r.type);
    assert.deepEqual(e.details, JSON.parse(r.metadata));
    assert.equal(e.created_at, r.created_at);
    assert.equal(new Date(e.created_at).toISOString(), `${e.created_at.slice(0, 23)}Z`, 'ISO-8601 UTC, as JavaScript reads it');
  }
  assert.ok(withIssue > 0 && withoutIssue > 0, 'both kinds of rows: with and without an issue');
  // microseconds: rows 1.234567 s apart keep their digits
  assert.ok(res.body.data.some((e) => !/\.\d{3}000Z$/.test(e.created_at)));
  // large numbers in details come through as stored, digit for digit
  assert.ok(res.text.includes('12345678901234567890123'));
});

test('a row recorded within the same millisecond as another sorts by its microseconds', async () => {
  const ws = await h.createWorkspace(admin, 'micro', 1);
  await admin.query(`SELECT activity.record($1, 'issue.updated', 'u', '{"changes": {"n": 1}}', subject_type => 'issue', subject_id => $2,
                                            occurred_at => '2026-10-01 12:00:00.123001+00')`, [ws.id, ws.issues[0]]);
  await admin.query(`SELECT activity.record($1, 'issue.updated', 'u', '{"changes": {"n": 2}}', subject_type => 'issue', subject_id => $2,
                                            occurred_at => '2026-10-01 12:00:00.123999+00')`, [ws.id, ws.issues[0]]);
  await admin.query(`SELECT activity.record($1, 'issue.updated', 'u', '{"changes": {"n": 3}}', subject_type => 'issue', subject_id => $2,
                                            occurred_at => '2026-10-01 12:00:00.123500+00')`, [ws.id, ws.issues[0]]);
  const res = await h.get(server, wsPath(ws), ws.token);
  assertPage(res, ws.id, { limit: 50 });
  assert.deepEqual(res.body.data.map((e) => e.created_at),
                   ['2026-10-01T12:00:00.123999Z', '2026-10-01T12:00:00.123500Z', '2026-10-01T12:00:00.123001Z']);
  assert.deepEqual(res.body.data.map((e) => e.details.changes.n), [2, 3, 1]);
});

test('other methods and paths: JSON errors', async () => {
  const res = await h.get(server, '/api/v1/workspaces', acme.token);
  assert.equal(res.status, 404);
  assert.equal(res.body.error.code, 'not_found');
  const post = await fetch(`${server.url}${wsPath(acme)}`, { method: 'POST', headers: { authorization: `Bearer ${acme.token}` } });
  assert.equal(post.status, 404);
  assert.equal((await post.json()).error.code, 'not_found');
});
