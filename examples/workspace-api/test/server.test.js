// The server process: it refuses to run where row-level security would not
// apply to it, stops cleanly on SIGTERM with requests under way, answers 503
// when its pool is exhausted, and runs under SET ROLE; and the database
// keeps tenants apart on its own, whatever SQL the API's role runs.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const pg = require('pg');
const h = require('./helpers');

let admin;
let ws;
let other;

before(async () => {
  admin = h.adminPool();
  await h.registerTypes(admin);
  ws = await h.createWorkspace(admin, 'life');
  other = await h.createWorkspace(admin, 'life-other');
  await h.createEvents(admin, ws, 60);
  await h.createEvents(admin, other, 60);
});

after(async () => {
  await admin?.end();
});

const adminLogin = () => ({ PGUSER: process.env.PGUSER || '', PGPASSWORD: process.env.PGPASSWORD || '' });

test('refuses to start as a role that row-level security does not apply to (the administrator)', async () => {
  const { rows } = await admin.query('SELECT row_security_active(\'activity.activities\') AS active');
  assert.equal(rows[0].active, false, 'the administrator is exempt from the policies');
  await assert.rejects(h.startServer(adminLogin()), (err) => {
    assert.equal(err.code, 1, 'exit status 1');
    assert.match(err.logs.join('\n'), /row-level security does not apply/);
    return true;
  });
});

test('SIGTERM: the requests under way are answered, then the process exits 0 and the port closes', async () => {
  // one connection: the requests queue for it; the signal comes once the
  // server has received all of them (it logs each request it receives)
  const server = await h.startServer({ PG_POOL_MAX: '1', LOG_REQUESTS: '1' });
  const path = `/api/v1/workspaces/${ws.id}/activity?limit=200`;
  let answered = 0;
  const requests = Array.from({ length: 30 }, () => h.get(server, path, ws.token).finally(() => { answered++; }));
  const received = () => server.logs.filter((l) => /"msg":"incoming request"/.test(l)).length;
  for (const t0 = Date.now(); received() < 30 && Date.now() - t0 < 10000;) await new Promise((r) => setTimeout(r, 1));
  assert.equal(received(), 30, 'the server received the 30 requests');
  const pending = 30 - answered;
  const signalled = Date.now();
  server.proc.kill('SIGTERM');
  const results = await Promise.allSettled(requests);
  const code = await server.exited;
  assert.equal(code, 0);
  assert.ok(Date.now() - signalled < 5000);
  assert.ok(pending > 0, 'some requests were under way at the signal');
  const statuses = results.map((r) => (r.status === 'fulfilled' ? r.value.status : r.reason.cause?.code || r.reason.message));
  assert.deepEqual(statuses, Array(30).fill(200), `every request received before the signal got its page (${pending} under way)`);
  assert.ok(server.logs.some((l) => /"msg":"stopped"/.test(l)), server.logs.join('\n'));
  const refused = await new Promise((resolve) => {
    const s = net.connect(server.port, '127.0.0.1');
    s.on('connect', () => { s.destroy(); resolve(false); });
    s.on('error', () => resolve(true));
  });
  assert.ok(refused, 'nothing listens on the port any more');
});

test('an exhausted pool answers 503 with Retry-After, in the API\'s error shape, and recovers', async () => {
  // one connection, 600 requests at once, none waiting more than 250 ms for it
  const server = await h.startServer({ PG_POOL_MAX: '1', PG_CONNECT_TIMEOUT_MS: '250' });
  try {
    const path = `/api/v1/workspaces/${ws.id}/activity?limit=200`;
    const results = await Promise.all(Array.from({ length: 600 }, () => h.get(server, path, ws.token)));
    const by = {};
    for (const r of results) by[r.status] = (by[r.status] || 0) + 1;
    assert.ok(by[200] > 0 && by[503] > 0 && by[200] + by[503] === 600, JSON.stringify(by));
    const busy = results.find((r) => r.status === 503);
    assert.deepEqual(busy.body.error.code, 'unavailable');
    assert.equal(busy.headers.get('retry-after'), '1');
    assert.ok(!/timeout|pool|connect/i.test(busy.body.error.message), 'no internals in the message');
    assert.equal((await h.get(server, path, ws.token)).status, 200);
  } finally {
    assert.equal(await server.stop(), 0);
  }
});

test('API_DB_ROLE: logged in as the administrator, SET ROLE to the API role at connection: isolated all the same', async () => {
  const server = await h.startServer({ ...adminLogin(), API_DB_ROLE: h.API_ROLE });
  try {
    const mine = await h.get(server, `/api/v1/workspaces/${ws.id}/activity?limit=200`, ws.token);
    assert.equal(mine.status, 200);
    assert.deepEqual(mine.body.data.map((e) => e.id), await h.expectedIds(admin, ws.id));
    assert.equal((await h.get(server, `/api/v1/workspaces/${other.id}/activity`, ws.token)).status, 404);
  } finally {
    assert.equal(await server.stop(), 0);
  }
});

// The server's own checks aside: the API's role, given one workspace's
// token, reads nothing of another's by any query, and cannot write.
test('the database isolates tenants by itself: the API role with a token reads only its workspace', async () => {
  const env = { user: h.API_ROLE };
  if (process.env.WORKSPACE_API_TEST_PGPASSWORD) env.password = process.env.WORKSPACE_API_TEST_PGPASSWORD;
  const client = new pg.Client(env);
  await client.connect();
  try {
    const one = async (sql, params) => (await client.query(sql, params)).rows;
    assert.deepEqual(await one('SELECT count(*)::int AS n FROM activity.activities'), [{ n: 0 }], 'no token: no row');
    assert.deepEqual(await one('SELECT count(*)::int AS n FROM api.issues'), [{ n: 0 }]);
    await client.query('BEGIN');
    assert.deepEqual(await one('SELECT api.authenticate($1) AS ws', [ws.token]), [{ ws: ws.id }]);
    const seen = await one('SELECT DISTINCT workspace_id FROM activity.activities');
    assert.deepEqual(seen, [{ workspace_id: ws.id }]);
    assert.deepEqual(await one('SELECT count(*)::int AS n FROM activity.activities WHERE workspace_id = $1', [other.id]), [{ n: 0 }]);
    assert.deepEqual(await one('SELECT count(*)::int AS n FROM activity.workspace_activity($1, 200)', [other.id]), [{ n: 0 }]);
    assert.deepEqual(await one('SELECT count(*)::int AS n FROM activity.issue_activity($1, $2, 200)', [other.id, other.issues[0]]), [{ n: 0 }]);
    assert.deepEqual(await one(`SELECT count(*)::int AS n FROM activity.page($1, "limit" => 200)`, [other.id]), [{ n: 0 }]);
    // page() over every workspace: only the token's
    assert.deepEqual(await one(`SELECT DISTINCT workspace_id FROM activity.page(NULL, "limit" => 200)`), [{ workspace_id: ws.id }]);
    assert.deepEqual(await one('SELECT DISTINCT workspace_id FROM activity.activity_log'), [{ workspace_id: ws.id }]);
    assert.deepEqual(await one('SELECT count(*)::int AS n FROM api.issues WHERE workspace_id <> $1', [ws.id]), [{ n: 0 }]);
    await client.query('COMMIT');
    // the token table itself is out of reach, and so is writing
    for (const sql of ['SELECT * FROM api.tokens',
                       `SELECT activity.record('${ws.id}', 'issue.created', 'x', '{"title": "t", "identifier": "ENG-1"}',
                                               subject_type => 'issue', subject_id => 'x')`,
                       `INSERT INTO api.issues (workspace_id, identifier, title) VALUES ('${ws.id}', 'ENG-99', 't')`]) {
      await assert.rejects(client.query(sql), (err) => err.code === '42501', sql);
    }
    // a setting of another transaction is gone
    assert.deepEqual(await one('SELECT count(*)::int AS n FROM activity.activities'), [{ n: 0 }]);
    assert.deepEqual(await one(`SELECT current_setting('api.token', true) AS t`), [{ t: '' }]);
  } finally {
    await client.end();
  }
});
