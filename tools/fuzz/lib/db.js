'use strict';
// Connections (libpq environment variables: PGHOST, PGPORT, PGUSER,
// PGDATABASE, PGPASSWORD), error classification, the scratch database.

const { Client, DatabaseError } = require('pg');

// a client-side limit, far above any statement_timeout the fuzzers set: a
// query that outlives it is a hang (the server ignored the timeout)
const HANG_MS = 60000;

function connConfig(database) {
  return {
    database,
    application_name: 'activity_fuzz',
    query_timeout: HANG_MS,
    connectionTimeoutMillis: 20000,
  };
}

async function connect(database) {
  const c = new Client(connConfig(database));
  c.on('error', () => {});   // a lost connection surfaces as the query's error
  await c.connect();
  return c;
}

// The outcome of a query: {ok: true, rows} or {ok: false, code, message,
// detail, kind} where kind is
//   'sql'      a clean error with a SQLSTATE
//   'internal' XX000 (internal error), XX001/XX002 (data corrupted)
//   'timeout'  57014 (statement_timeout or cancel)
//   'crash'    the connection was lost (or the server reported its crash)
//   'hang'     no answer within HANG_MS
function classify(e) {
  if (e instanceof DatabaseError || (e && typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) && e.severity)) {
    const code = e.code;
    let kind = 'sql';
    if (/^XX00[012]$/.test(code)) kind = 'internal';
    else if (code === '57014') kind = 'timeout';
    else if (/^(57P0[123]|08...)$/.test(code)) kind = 'crash';
    return { ok: false, code, message: e.message, detail: e.detail, kind };
  }
  const message = (e && e.message) || String(e);
  if (/timeout/i.test(message) && /query/i.test(message)) return { ok: false, code: null, message, kind: 'hang' };
  return { ok: false, code: null, message, kind: 'crash' };
}

async function run(client, sql, params) {
  try {
    const res = await client.query({ text: sql, values: params || [] });
    return { ok: true, rows: res.rows };
  } catch (e) {
    return classify(e);
  }
}

function sleep(ms) { return new Promise(res => setTimeout(res, ms)); }

// wait until the server accepts connections again (after a crash, recovery)
async function waitForServer(database, seconds) {
  const until = Date.now() + (seconds || 120) * 1000;
  for (;;) {
    try {
      const c = await connect(database);
      await c.query('SELECT 1');
      return c;
    } catch (e) {
      if (Date.now() > until) throw e;
      await sleep(500);
    }
  }
}

function maintenanceDb() {
  return process.env.PGDATABASE || 'postgres';
}

function quoteIdent(s) { return '"' + s.replace(/"/g, '""') + '"'; }

async function createScratch(name) {
  const c = await connect(maintenanceDb());
  try {
    await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${quoteIdent(name)}`);
  } finally {
    await c.end().catch(() => {});
  }
}

async function dropScratch(name) {
  const c = await waitForServer(maintenanceDb(), 60);
  try {
    await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
  } finally {
    await c.end().catch(() => {});
  }
}

// A connection that comes back after a crash. `q` returns an outcome (see
// classify); on a crash or hang it reconnects before returning.
class Conn {
  constructor(database, setupSql) {
    this.database = database;
    this.setupSql = setupSql || [];
    this.client = null;
    this.pid = null;
  }
  async open() {
    this.client = await waitForServer(this.database, 120);
    for (const s of this.setupSql) await this.client.query(s);
    this.pid = (await this.client.query('SELECT pg_backend_pid() AS p')).rows[0].p;
  }
  async q(sql, params) {
    if (!this.client) await this.open();
    const out = await run(this.client, sql, params);
    if (!out.ok && (out.kind === 'crash' || out.kind === 'hang')) {
      const old = this.client, pid = this.pid;
      this.client = null;
      old.end().catch(() => {});
      if (out.kind === 'hang') {
        // stop the runaway backend from another session
        try {
          const k = await connect(this.database);
          await k.query('SELECT pg_terminate_backend($1)', [pid]);
          await k.end();
        } catch (e) { /* the server may be gone */ }
      }
      await this.open();
    }
    return out;
  }
  async close() {
    if (this.client) await this.client.end().catch(() => {});
    this.client = null;
  }
}

module.exports = { connect, run, classify, Conn, createScratch, dropScratch, waitForServer, sleep, maintenanceDb, quoteIdent };
