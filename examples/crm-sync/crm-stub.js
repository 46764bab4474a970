#!/usr/bin/env node
// A stand-in CRM for the sync worker: a tiny HTTP server on the loopback
// interface, Node's http module only. It upserts the events it is sent by
// their id, so that a batch delivered twice is stored once, and counts how
// many times each id was received.
//
//   POST /events   {"events": [{"id": "...", ...}, ...]}  -> 200 {"received": n, "new": k}
//   GET  /state    counts: {"stored", "deliveries", "duplicate_deliveries", ...}
//   GET  /events   every stored event: [{"event": {...}, "received": n}, ...]
//
// Its state is a JSON-lines file, one line per event received, appended and
// fsynced before the answer: an acknowledged event survives a crash (kill -9)
// of the stub, and a restart reads the file back. A last line cut short by a
// crash was never acknowledged; it is dropped on start.
//
// Usage: node crm-stub.js [--port 8787] [--data crm-events.jsonl] [--fail-rate 0]
// --port 0 takes any free port; the first line on stdout says which.
// --fail-rate p makes a share p of POSTs fail, half of them with a 503 before
// storing anything, half by closing the connection after storing the batch
// (the answer lost): the worker must retry both, and the second kind makes
// it deliver events the CRM already has.
'use strict';

const fs = require('node:fs');
const http = require('node:http');

const HOST = '127.0.0.1';
const MAX_BODY = 64 * 1024 * 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const port = Number(option('port', process.env.CRM_STUB_PORT || 8787));
const dataFile = option('data', process.env.CRM_STUB_DATA || 'crm-events.jsonl');
const failRate = Number(option('fail-rate', process.env.CRM_STUB_FAIL_RATE || 0));

// id -> {event, received}, in the order first received
const events = new Map();
let deliveries = 0;       // events received, duplicates included (from the file)
let requests = 0;         // POSTs answered 2xx since this process started
let injectedFailures = 0; // POSTs failed on purpose (--fail-rate) since it started

function apply(event) {
  const known = events.get(event.id);
  events.set(event.id, { event, received: known ? known.received + 1 : 1 });
  deliveries++;
  return !known;
}

// Reads the file back, dropping a last line a crash cut short
function load() {
  if (!fs.existsSync(dataFile)) return;
  let text = fs.readFileSync(dataFile, 'utf8');
  const end = text.lastIndexOf('\n') + 1;
  if (end < text.length) {
    console.error(`crm-stub: dropping an unfinished last line of ${dataFile} (${text.length - end} bytes, never acknowledged)`);
    fs.truncateSync(dataFile, Buffer.byteLength(text.slice(0, end)));
    text = text.slice(0, end);
  }
  for (const line of text.split('\n')) {
    if (line) apply(JSON.parse(line).event);
  }
}

load();
const fd = fs.openSync(dataFile, 'a');

// Stores a batch: one line per event, written and fsynced in one go, then
// applied. Returns how many ids were new. Should writing fail (a full
// disk), the file is cut back to where it was and the error thrown.
function store(batch) {
  const receivedAt = new Date().toISOString();
  const lines = batch.map((event) => JSON.stringify({ received_at: receivedAt, event }) + '\n').join('');
  const size = fs.fstatSync(fd).size;
  try {
    fs.writeSync(fd, lines);
    fs.fsyncSync(fd);
  } catch (err) {
    fs.ftruncateSync(fd, size);
    throw err;
  }
  return batch.filter(apply).length;
}

function answer(res, status, body) {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) });
  res.end(data);
}

function state() {
  let repeated = 0;
  for (const { received } of events.values()) if (received > 1) repeated++;
  return {
    stored: events.size,
    deliveries,
    duplicate_deliveries: deliveries - events.size,
    ids_received_more_than_once: repeated,
    requests_since_start: requests,
    injected_failures_since_start: injectedFailures,
  };
}

function receive(req, res, body) {
  let batch;
  try {
    batch = JSON.parse(body).events;
  } catch {
    return answer(res, 400, { error: 'the body is not JSON' });
  }
  if (!Array.isArray(batch) || !batch.every((e) => e && typeof e.id === 'string' && UUID.test(e.id))) {
    return answer(res, 400, { error: 'expected {"events": [{"id": "<uuid>", ...}, ...]}' });
  }
  const fail = failRate > 0 && Math.random() < failRate;
  if (fail && Math.random() < 0.5) {
    injectedFailures++;
    return answer(res, 503, { error: 'injected failure (nothing stored)' });
  }
  let fresh;
  try {
    fresh = store(batch);
  } catch (err) {
    console.error(`crm-stub: storing a batch failed: ${err.message}`);
    return answer(res, 500, { error: 'storing failed' });
  }
  if (fail) {
    injectedFailures++;
    return req.socket.destroy(); // stored, but the answer is lost
  }
  requests++;
  answer(res, 200, { received: batch.length, new: fresh });
}

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/state') return answer(res, 200, state());
  if (req.method === 'GET' && req.url === '/events') return answer(res, 200, [...events.values()]);
  if (req.method !== 'POST' || req.url !== '/events') return answer(res, 404, { error: 'not found' });
  const chunks = [];
  let size = 0;
  req.on('data', (chunk) => {
    size += chunk.length;
    if (size > MAX_BODY) {
      answer(res, 413, { error: `body over ${MAX_BODY} bytes` });
      req.destroy();
    } else {
      chunks.push(chunk);
    }
  });
  req.on('end', () => {
    if (size <= MAX_BODY) receive(req, res, Buffer.concat(chunks).toString('utf8'));
  });
});

server.listen(port, HOST, () => {
  console.log(`crm-stub: listening on http://${HOST}:${server.address().port}/events ` +
              `(${dataFile}: ${events.size} events, ${deliveries} deliveries)`);
});

function shutdown() {
  server.close();
  server.closeAllConnections?.();
  fs.closeSync(fd);
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
