#!/usr/bin/env node
// CRM sync worker: reads a consumer of the activity change feed
// (activity.changes()) and pushes each batch of events to a CRM over HTTP.
//
// One batch is one transaction:
//
//   BEGIN;
//   SELECT ... FROM activity.changes(consumer, batch);   -- the next events
//   POST them to the CRM;                                -- must answer 2xx
//   COMMIT;                                              -- the consumer moves on
//
// The consumer's position moves on only when that transaction commits, and
// it commits only after the CRM has acknowledged the batch. Any failure (the
// CRM down, slow or answering an error, the connection to PostgreSQL lost,
// the worker killed) leaves the position where it was: the same events come
// again on the next try. Delivery is therefore at least once; the CRM makes
// it exactly once by upserting on the event id.
//
// Usage (PostgreSQL through the libpq variables PGHOST, PGPORT, PGDATABASE,
// PGUSER, PGPASSWORD, or DATABASE_URL):
//
//   node worker.js --consumer crm --url http://127.0.0.1:8787/events [--batch 500]
//
// Every option can also be given in the environment (CRM_SYNC_CONSUMER,
// CRM_SYNC_URL, CRM_SYNC_BATCH, ...); see OPTIONS below. SIGTERM or SIGINT
// stops the worker once the batch under way is finished (exit status 0).
'use strict';

const http = require('node:http');
const https = require('node:https');
const { Client } = require('pg');

// option -> [environment variable, default, parser]
const OPTIONS = {
  consumer: ['CRM_SYNC_CONSUMER', null, String],          // the feed consumer (activity.create_consumer())
  url: ['CRM_SYNC_URL', null, String],                    // where batches are POSTed
  batch: ['CRM_SYNC_BATCH', 500, Number],                 // events per batch (1 .. 100000)
  'idle-ms': ['CRM_SYNC_IDLE_MS', 1000, Number],          // pause when the feed is empty
  'timeout-ms': ['CRM_SYNC_TIMEOUT_MS', 10000, Number],   // the CRM must answer within this
  'max-backoff-ms': ['CRM_SYNC_MAX_BACKOFF_MS', 30000, Number], // longest pause between retries
  verbose: ['CRM_SYNC_VERBOSE', false, (v) => v === true || v === '1' || v === 'true'],
};

// Errors retrying cannot cure: the consumer or the extension is missing, an
// option is refused, or retention removed events the consumer had not read
// (an operator must decide, then call activity.accept_gap()). The worker
// stops with status 2 rather than retry them forever.
const FATAL_SQLSTATES = new Set(['42704', '42883', '3F000', '22023', '55000']);

// a client-side bound on every query, so that a connection that hangs
// (rather than breaks) is noticed too; changes() may first wait for another
// worker's batch on the same consumer, which takes up to its HTTP timeout
const QUERY_TIMEOUT_MS = 60000;

function parseArgs(argv, env) {
  const config = {};
  for (const [name, [variable, fallback, parse]] of Object.entries(OPTIONS)) {
    config[name] = env[variable] !== undefined ? parse(env[variable]) : fallback;
  }
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].replace(/^--/, '');
    if (!argv[i].startsWith('--') || !(name in OPTIONS)) usage(`unknown argument ${argv[i]}`);
    if (name === 'verbose') { config.verbose = true; continue; }
    if (i + 1 >= argv.length) usage(`--${name} needs a value`);
    config[name] = OPTIONS[name][2](argv[++i]);
  }
  if (!config.consumer) usage('--consumer (or CRM_SYNC_CONSUMER) is required');
  if (!config.url) usage('--url (or CRM_SYNC_URL) is required');
  if (!/^https?:$/.test(safeUrl(config.url).protocol)) usage(`--url must be an http or https URL, not ${config.url}`);
  for (const name of ['batch', 'idle-ms', 'timeout-ms', 'max-backoff-ms']) {
    if (!Number.isInteger(config[name]) || config[name] < 1) usage(`--${name} must be a positive integer`);
  }
  return config;
}

function safeUrl(text) {
  try { return new URL(text); } catch { return { protocol: 'invalid' }; }
}

function usage(message) {
  process.stderr.write(`worker.js: ${message}\n` +
    'usage: node worker.js --consumer NAME --url URL [--batch N] [--idle-ms MS] [--timeout-ms MS] ' +
    '[--max-backoff-ms MS] [--verbose]\n');
  process.exit(64);
}

const config = parseArgs(process.argv.slice(2), process.env);
const url = new URL(config.url);
// one kept-alive connection to the CRM, reused batch after batch
const agent = new (url.protocol === 'https:' ? https : http).Agent({ keepAlive: true, maxSockets: 1 });

function log(message) {
  process.stderr.write(`${new Date().toISOString()} crm-sync[${config.consumer}] ${message}\n`);
}

// --- stopping: SIGTERM/SIGINT end the loop after the batch under way -------

let stopping = false;
let wake = null; // ends the current pause early

function stop(signal) {
  if (stopping) {
    log(`${signal} again: exiting now, the batch under way is rolled back and comes again`);
    process.exit(1);
  }
  stopping = true;
  log(`${signal}: stopping after the batch under way`);
  if (wake) wake();
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));

function pause(ms) {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() { clearTimeout(timer); wake = null; resolve(); }
    wake = done;
  });
}

// exponential backoff (0.5 s, 1 s, 2 s, ... up to the maximum), each pause
// between half and all of it, so that workers restarted together spread out
function backoff(failures) {
  const ceiling = Math.min(config['max-backoff-ms'], 500 * 2 ** Math.min(failures - 1, 20));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

// --- PostgreSQL --------------------------------------------------------------

async function connect() {
  const client = new Client({
    connectionString: process.env.DATABASE_URL, // else the PG* variables
    application_name: `crm-sync:${config.consumer}`,
    keepAlive: true,
    connectionTimeoutMillis: 10000,
    query_timeout: QUERY_TIMEOUT_MS,
    // should this worker stall with its batch open, the server ends the
    // transaction, releasing the consumer to another worker
    idle_in_transaction_session_timeout: config['timeout-ms'] + 30000,
  });
  // a connection lost between queries is reported here; the next query then
  // fails, and the loop reconnects
  client.on('error', (err) => log(`connection to PostgreSQL lost: ${err.message}`));
  // warnings of the server, such as changes() re-reading the whole log for a
  // consumer restored into another database (the CRM ignores what it has)
  client.on('notice', (msg) => log(`PostgreSQL ${msg.severity}: ${msg.message}${msg.detail ? ` (${msg.detail})` : ''}`));
  try {
    await client.connect();
    // events as JSON with their timestamps in UTC, exactly as stored
    await client.query("SET TimeZone = 'UTC'");
    const { rows } = await client.query('SELECT pg_backend_pid() AS pid');
    log(`connected to PostgreSQL (backend pid ${rows[0].pid})`);
    return client;
  } catch (err) {
    client.end().catch(() => {});
    throw err;
  }
}

// --- the CRM -----------------------------------------------------------------

// POSTs a JSON body; resolves on a 2xx answer, rejects on anything else
function postJson(body) {
  const data = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? https : http).request(url, {
      method: 'POST',
      agent,
      timeout: config['timeout-ms'], // no answer (no byte) within this: failure
      headers: { 'content-type': 'application/json', 'content-length': data.length },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => { if (text.length < 1000) text += chunk; });
      res.on('error', reject);
      res.on('end', () => {
        if (res.statusCode >= 200 && res.statusCode < 300) resolve(text);
        else reject(new Error(`CRM answered ${res.statusCode}: ${text.slice(0, 200).trim()}`));
      });
    });
    req.on('timeout', () => req.destroy(new Error(`CRM gave no answer within ${config['timeout-ms']} ms`)));
    req.on('error', (err) => reject(new Error(`CRM request failed: ${err.code || err.message}`)));
    req.end(data);
  });
}

// --- one batch ---------------------------------------------------------------

// Reads the next events and pushes them; returns how many. The events come
// as JSON made by PostgreSQL (to_jsonb), in commit order (the order of
// changes(); a plain scan of a set-returning function keeps it).
async function syncBatch(client) {
  await client.query('BEGIN');
  const { rows } = await client.query(
    'SELECT to_jsonb(c) AS event FROM activity.changes($1, $2) AS c', [config.consumer, config.batch]);
  if (rows.length > 0) {
    await postJson({ consumer: config.consumer, events: rows.map((r) => r.event) });
  }
  // the CRM has the events: only now may the consumer move on. Should this
  // COMMIT fail, or its answer be lost, the batch comes again and the CRM
  // ignores what it already has.
  await client.query('COMMIT');
  return rows.length;
}

// Ends the batch after a failure: ROLLBACK when the connection still works,
// else drop the connection (the server rolls the transaction back itself).
// Returns the client to go on with, or null to reconnect.
async function abandonBatch(client) {
  if (!client) return null;
  try {
    await client.query('ROLLBACK');
    return client;
  } catch {
    client.end().catch(() => {});
    return null;
  }
}

function describe(err) {
  const parts = [err.message];
  if (err.code && /^[0-9A-Z]{5}$/.test(err.code)) parts.push(`(SQLSTATE ${err.code})`);
  if (err.detail) parts.push(`DETAIL: ${err.detail}`);
  if (err.hint) parts.push(`HINT: ${err.hint}`);
  return parts.join(' ');
}

async function main() {
  log(`starting: ${config.url}, batches of ${config.batch}`);
  let client = null;
  let failures = 0;
  let delivered = 0;
  while (!stopping) {
    try {
      if (!client) client = await connect();
      const n = await syncBatch(client);
      delivered += n;
      if (failures > 0) log(`recovered after ${failures} failed attempt(s)`);
      failures = 0;
      if (n > 0 && config.verbose) log(`delivered ${n} events`);
      if (n === 0) await pause(config['idle-ms']); // nothing new: wait a little
    } catch (err) {
      failures++;
      if (err.code && FATAL_SQLSTATES.has(err.code)) {
        log(`fatal: ${describe(err)}`);
        await abandonBatch(client);
        process.exit(2);
      }
      const delay = backoff(failures);
      log(`batch failed (attempt ${failures}), retrying in ${delay} ms: ${describe(err)}`);
      client = await abandonBatch(client);
      await pause(delay);
    }
  }
  // (a connection lost just now may never confirm its end: wait 2 s at most)
  if (client) await Promise.race([client.end().catch(() => {}), new Promise((r) => setTimeout(r, 2000).unref())]);
  agent.destroy();
  log(`stopped (${delivered} events delivered by this process)`);
}

main().catch((err) => {
  log(`unexpected error: ${err.stack || err}`);
  process.exit(1);
});
