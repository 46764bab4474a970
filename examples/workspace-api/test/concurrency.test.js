// 50 clients walking pages by cursor at once while writers insert into the
// same workspace (new events, backdated events inside the range being
// walked, batches, rolled-back transactions): every page is well-formed, no
// walk returns a row twice, every walk is in strictly descending
// (created_at, id) order, holds every row committed before it began and no
// row that is not the workspace's (or that a rollback took back).
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./helpers');

const CLIENTS = 50;
const WALKS_PER_CLIENT = 3;
const WRITERS = 3;

let admin;
let server;
let ws;
let other;

before(async () => {
  admin = h.adminPool(WRITERS + 3);
  await h.registerTypes(admin);
  ws = await h.createWorkspace(admin, 'busy', 4);
  other = await h.createWorkspace(admin, 'busy-other', 1);
  await h.createEvents(admin, ws, 300);
  await h.createEvents(admin, other, 50);
  server = await h.startServer({ PG_POOL_MAX: '10' });
});

after(async () => {
  if (server) assert.equal(await server.stop(), 0, 'the server exits 0 on SIGTERM');
  await admin?.end();
});

// One writer: until stop() is called, one of four kinds of write at a time.
function writer(n, stats, stopped) {
  const issue = () => ws.issues[Math.floor(Math.random() * ws.issues.length)];
  return (async () => {
    for (let i = 0; !stopped(); i++) {
      const kind = i % 4;
      if (kind === 0) {        // a new event, now
        await admin.query(`SELECT activity.record($1, 'issue.updated', $2, '{"changes": {"status": "done"}}',
                                                  actor_type => $3, subject_type => 'issue', subject_id => $4)`,
                          [ws.id, `writer-${n}`, i % 3 ? 'user' : 'agent', issue()]);
        stats.committed++;
      } else if (kind === 1) { // backdated, inside the range the walkers read
        await admin.query(`SELECT activity.record($1, 'issue.updated', $2, '{"changes": {"late": true}}',
                                                  actor_type => 'agent', subject_type => 'issue', subject_id => $3,
                                                  occurred_at => timestamptz '2026-09-01 00:00+00' + random() * interval '60 hours')`,
                          [ws.id, `writer-${n}`, issue()]);
        stats.committed++;
      } else if (kind === 2) { // a batch of 5 in one transaction, one of them by the system
        await admin.query(`INSERT INTO activity.activities (workspace_id, type, actor_type, initiator_id, subject_type, subject_id, metadata, occurred_at)
                           SELECT $1, CASE WHEN g = 5 THEN 'workspace.member_added' ELSE 'issue.created' END,
                                  CASE WHEN g = 5 THEN 'system' ELSE 'user' END,
                                  CASE WHEN g = 5 THEN NULL ELSE $2 END,
                                  CASE WHEN g = 5 THEN NULL ELSE 'issue' END, CASE WHEN g = 5 THEN NULL ELSE $3 END,
                                  jsonb_build_object('title', 'Batch', 'identifier', 'ENG-' || g),
                                  now() - g * interval '3 hours'
                           FROM generate_series(1, 5) g`, [ws.id, `writer-${n}`, issue()]);
        stats.committed += 5;
      } else {                 // written, then rolled back: never listed
        const client = await admin.connect();
        try {
          await client.query('BEGIN');
          await client.query(`SELECT activity.record($1, 'issue.updated', 'rolled-back', '{"changes": {"x": 1}}',
                                                     subject_type => 'issue', subject_id => $2)`, [ws.id, issue()]);
          await new Promise((r) => setTimeout(r, 5));
          await client.query('ROLLBACK');
        } finally {
          client.release();
        }
        stats.rolledBack++;
      }
    }
  })();
}

test(`${CLIENTS} clients walking by cursor while ${WRITERS} writers insert`, async (t) => {
  const problems = [];
  const note = (msg) => { if (problems.length < 20) problems.push(msg); };
  const stats = { committed: 0, rolledBack: 0, pages: 0, walks: 0, rows: 0 };
  let stop = false;
  const writers = Array.from({ length: WRITERS }, (_, n) => writer(n, stats, () => stop));

  const variants = [
    { path: `/api/v1/workspaces/${ws.id}/activity`, extra: '', filter: {} },
    { path: `/api/v1/workspaces/${ws.id}/activity`, extra: '&actor_type=agent', filter: { actorType: 'agent' } },
    { path: `/api/v1/workspaces/${ws.id}/activity`, extra: '&actor_type=user', filter: { actorType: 'user' } },
    { path: `/api/v1/workspaces/${ws.id}/issues/${ws.issues[0]}/activity`, extra: '', filter: { issueId: ws.issues[0] } },
    { path: `/api/v1/workspaces/${ws.id}/issues/${ws.issues[1]}/activity`, extra: '&actor_type=agent',
      filter: { issueId: ws.issues[1], actorType: 'agent' } },
  ];

  const client = async (c) => {
    for (let w = 0; w < WALKS_PER_CLIENT; w++) {
      const v = variants[(c + w) % variants.length];
      const limit = 5 + Math.floor(Math.random() * 56);
      const before = new Set(await h.expectedIds(admin, ws.id, v.filter));
      const seen = new Set();
      const rows = [];
      let cursor = null;
      for (let p = 0; p < 10000; p++) {
        const res = await h.get(server, `${v.path}?limit=${limit}${v.extra}${cursor ? `&cursor=${cursor}` : ''}`, ws.token);
        stats.pages++;
        if (res.status !== 200 || !res.body || !Array.isArray(res.body.data)) {
          note(`client ${c}: status ${res.status}: ${res.text.slice(0, 200)}`);
          return;
        }
        const b = res.body;
        if (b.limit !== limit || b.offset !== 0 || b.data.length > limit) note(`client ${c}: page header ${JSON.stringify({ ...b, data: b.data.length })}`);
        if (b.next_cursor !== null && b.data.length !== limit) note(`client ${c}: a short page with a next cursor`);
        for (const e of b.data) {
          const pr = h.entryProblems(e, ws.id);
          if (pr.length) note(`client ${c}: ${pr.join(', ')}`);
          if (v.filter.actorType && e.actor_type !== v.filter.actorType) note(`client ${c}: actor_type ${e.actor_type}`);
          if (v.filter.issueId && e.issue_id !== v.filter.issueId) note(`client ${c}: issue_id ${e.issue_id}`);
          if (e.actor_id === 'rolled-back') note(`client ${c}: a rolled-back event ${e.id}`);
          if (seen.has(e.id)) note(`client ${c}: ${e.id} twice in one walk`);
          seen.add(e.id);
          rows.push(e);
        }
        if (b.next_cursor === null) break;
        cursor = b.next_cursor;
      }
      const at = h.strictlyDescending(rows);
      if (at !== -1) note(`client ${c}: out of order at row ${at}: ${rows[at - 1].created_at} ${rows[at - 1].id} then ${rows[at].created_at} ${rows[at].id}`);
      const missing = [...before].filter((id) => !seen.has(id));
      if (missing.length) note(`client ${c}: ${missing.length} rows committed before the walk are missing, e.g. ${missing[0]}`);
      const after = new Set(await h.expectedIds(admin, ws.id, v.filter));
      const foreign = [...seen].filter((id) => !after.has(id));
      if (foreign.length) note(`client ${c}: ${foreign.length} rows that are not the feed's, e.g. ${foreign[0]}`);
      stats.walks++;
      stats.rows += rows.length;
    }
  };

  const started = Date.now();
  try {
    await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
  } finally {
    stop = true;
    await Promise.all(writers);
  }
  const seconds = (Date.now() - started) / 1000;
  t.diagnostic(`${stats.walks} walks, ${stats.pages} pages, ${stats.rows} rows in ${seconds.toFixed(1)} s; ` +
               `writers: ${stats.committed} events committed, ${stats.rolledBack} rolled back`);
  assert.deepEqual(problems, []);
  assert.equal(stats.walks, CLIENTS * WALKS_PER_CLIENT);
  assert.ok(stats.committed > 20, `the writers wrote while the clients walked (${stats.committed})`);
  // the other tenant was never touched: its rows are its own
  const res = await h.get(server, `/api/v1/workspaces/${other.id}/activity?limit=200`, other.token);
  assert.deepEqual(res.body.data.map((e) => e.id), await h.expectedIds(admin, other.id));
});
