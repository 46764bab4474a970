// Shared by the tests: the server as a child process on a free loopback
// port, HTTP requests, an administrator's pool and the fixtures.
//
// Environment:
//   PG* (libpq's variables)       an administrator (a superuser, or the log's
//                                 owner with rights on schema api): fixtures and writers
//   WORKSPACE_API_TEST_PGUSER     the API's role, as the server logs in [workspace_api]
//   WORKSPACE_API_TEST_PGPASSWORD its password, if the server needs one
// The database must have the extension, examples/catalogue.sql and
// schema.sql loaded (test/shell/workspace_api.sh does all of it).
'use strict';

const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const path = require('node:path');
const readline = require('node:readline');
const pg = require('pg');

const SERVER = path.join(__dirname, '..', 'server.js');
const API_ROLE = process.env.WORKSPACE_API_TEST_PGUSER || 'workspace_api';

// The server's environment: the API role instead of the administrator.
function serverEnv(extra = {}) {
  const env = { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', PGUSER: API_ROLE };
  delete env.PGPASSWORD;
  if (process.env.WORKSPACE_API_TEST_PGPASSWORD) env.PGPASSWORD = process.env.WORKSPACE_API_TEST_PGPASSWORD;
  delete env.NODE_TEST_CONTEXT; // the server is no test
  return { ...env, ...extra };
}

// Starts server.js; resolves once it listens (or rejects when it exits
// first). Returns { url, port, proc, logs, exited (a promise of the exit
// code), stop(signal) }.
function startServer(extraEnv = {}) {
  const proc = spawn(process.execPath, [SERVER], { env: serverEnv(extraEnv), stdio: ['ignore', 'pipe', 'pipe'] });
  const logs = [];
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve(code ?? signal)));
  return new Promise((resolve, reject) => {
    let listening = false;
    const onLine = (line) => {
      logs.push(line);
      let entry;
      try { entry = JSON.parse(line); } catch { return; }
      if (!listening && entry.msg === 'listening') {
        listening = true;
        const url = `http://127.0.0.1:${entry.port}`;
        resolve({
          url, port: entry.port, proc, logs, exited,
          stop: async (signal = 'SIGTERM') => { proc.kill(signal); return exited; },
        });
      }
    };
    readline.createInterface({ input: proc.stdout }).on('line', onLine);
    readline.createInterface({ input: proc.stderr }).on('line', (line) => logs.push(line));
    exited.then((code) => {
      if (!listening) reject(Object.assign(new Error(`server exited (${code}) before listening:\n${logs.join('\n')}`), { code, logs }));
    });
  });
}

// GET path with a bearer token (null: no Authorization header); the body
// parsed when it is JSON.
async function get(server, urlPath, token, headers = {}) {
  const h = { ...headers };
  if (token !== null && token !== undefined) h.authorization = `Bearer ${token}`;
  const res = await fetch(server.url + urlPath, { headers: h });
  const text = await res.text();
  let body;
  try { body = JSON.parse(text); } catch { body = undefined; }
  return { status: res.status, headers: res.headers, text, body };
}

function adminPool(max = 5) {
  const pool = new pg.Pool({ max, application_name: 'workspace-api-test' });
  pool.on('error', () => {});
  return pool;
}

const newToken = () => crypto.randomBytes(24).toString('base64url');
const suffix = () => crypto.randomBytes(4).toString('hex');

// A workspace with its token and issues; returns { id, token, issues: [ids] }.
async function createWorkspace(admin, prefix, nIssues = 3) {
  const id = `${prefix}-${suffix()}`;
  const token = newToken();
  await admin.query('INSERT INTO api.workspaces (id, name) VALUES ($1, $2)', [id, `Workspace ${id}`]);
  await admin.query(`INSERT INTO api.tokens (token_sha256, workspace_id, description)
                     VALUES (sha256(convert_to($1, 'UTF8')), $2, 'test')`, [token, id]);
  const issues = [];
  for (let i = 1; i <= nIssues; i++) {
    const { rows } = await admin.query(
      `INSERT INTO api.issues (workspace_id, identifier, title) VALUES ($1, $2, $3) RETURNING id`,
      [id, `ENG-${i}`, `Issue ${i} of ${id}`]);
    issues.push(rows[0].id);
  }
  return { id, token, issues };
}

// n events in a workspace with activity.record(): issue.created /
// issue.updated about its issues, by users and agents, and
// workspace.member_added by users, agents and the system (which seed 002's
// API does not list). occurred_at: spread over the past 90 days, some
// sharing an instant (the id breaks the tie), with microseconds.
async function createEvents(admin, ws, n) {
  await admin.query(`
    SELECT activity.record($1,
             CASE WHEN g % 5 = 4 THEN 'workspace.member_added' WHEN g % 3 = 0 THEN 'issue.created' ELSE 'issue.updated' END,
             CASE WHEN g % 5 = 4 AND g % 2 = 0 THEN NULL ELSE 'actor-' || (g % 7) END,
             CASE WHEN g % 5 = 4 THEN jsonb_build_object('member', 'm-' || g)
                  WHEN g % 3 = 0 THEN jsonb_build_object('title', 'Title ' || g, 'identifier', 'ENG-' || g)
                  ELSE jsonb_build_object('changes', jsonb_build_object('status', 'todo', 'n', g, 'big', 12345678901234567890123)) END,
             actor_type => CASE WHEN g % 5 = 4 AND g % 2 = 0 THEN 'system' WHEN g % 4 = 1 THEN 'agent' ELSE 'user' END,
             subject_type => CASE WHEN g % 5 = 4 THEN NULL ELSE 'issue' END,
             subject_id => CASE WHEN g % 5 = 4 THEN NULL ELSE ($2::text[])[1 + g % cardinality($2::text[])] END,
             occurred_at => timestamptz '2026-09-01 00:00:00+00' + (g / 3) * interval '37 minutes 1.234567 seconds')
    FROM generate_series(1, $3) g`, [ws.id, ws.issues, n]);
}

async function registerTypes(admin) {
  await admin.query(`SELECT activity.register_type('workspace.member_added', 'A member was added to the workspace.',
                                                   recipient => 'forbidden', actor_types => '{user,agent,system}')`);
}

// The rows the API should list, from the log itself (as the administrator):
// users' and agents' activities (or one actor type), newest first.
async function expectedIds(admin, wsId, { issueId, actorType } = {}) {
  const { rows } = await admin.query(`
    SELECT id::text FROM activity.activities
    WHERE workspace_id = $1 AND actor_type = ANY ($2::text[])
      AND ($3::text IS NULL OR (subject_type = 'issue' AND subject_id = $3))
    ORDER BY occurred_at DESC, id DESC`, [wsId, actorType ? [actorType] : ['user', 'agent'], issueId ?? null]);
  return rows.map((r) => r.id);
}

// Follows next_cursor from the first page to the end; returns every page.
async function walk(server, basePath, token, limit, extra = '') {
  const pages = [];
  let cursor = null;
  for (let i = 0; i < 100000; i++) {
    const q = `?limit=${limit}${extra}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const res = await get(server, basePath + q, token);
    pages.push(res);
    if (res.status !== 200 || res.body.next_cursor === null) return pages;
    cursor = res.body.next_cursor;
  }
  throw new Error('walk did not end');
}

const FIELDS = ['id', 'workspace_id', 'issue_id', 'actor_type', 'actor_id', 'action', 'details', 'created_at'];
const CREATED_AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// The problems of one entry of data (empty: none).
function entryProblems(e, wsId) {
  const p = [];
  if (e === null || typeof e !== 'object' || Array.isArray(e)) return ['not an object'];
  const keys = Object.keys(e).sort();
  if (JSON.stringify(keys) !== JSON.stringify([...FIELDS].sort())) p.push(`fields ${keys}`);
  if (typeof e.id !== 'string' || !UUID.test(e.id)) p.push(`id ${e.id}`);
  if (e.workspace_id !== wsId) p.push(`workspace_id ${e.workspace_id}`);
  if (!(e.issue_id === null || typeof e.issue_id === 'string')) p.push(`issue_id ${e.issue_id}`);
  if (!['user', 'agent'].includes(e.actor_type)) p.push(`actor_type ${e.actor_type}`);
  if (typeof e.actor_id !== 'string') p.push(`actor_id ${e.actor_id}`);
  if (typeof e.action !== 'string') p.push(`action ${e.action}`);
  if (e.details === null || typeof e.details !== 'object' || Array.isArray(e.details)) p.push(`details ${e.details}`);
  if (typeof e.created_at !== 'string' || !CREATED_AT.test(e.created_at) || Number.isNaN(Date.parse(e.created_at))) {
    p.push(`created_at ${e.created_at}`);
  }
  return p;
}

// (created_at, id) strictly descending: created_at has a fixed width, so
// string order is time order; ids are compared as PostgreSQL's uuid order
// (bytes, i.e. the hex text).
function strictlyDescending(entries) {
  for (let i = 1; i < entries.length; i++) {
    const a = entries[i - 1];
    const b = entries[i];
    if (a.created_at < b.created_at || (a.created_at === b.created_at && a.id <= b.id)) return i;
  }
  return -1;
}

module.exports = {
  startServer, get, adminPool, createWorkspace, createEvents, registerTypes, expectedIds, walk,
  entryProblems, strictlyDescending, newToken, suffix, FIELDS, API_ROLE,
};
