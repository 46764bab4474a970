#!/usr/bin/env node
'use strict';
// The fuzz harness of the activity extension. See README.md beside this file.
//
//   node tools/fuzz/fuzz.js [--seed N] [--cases N] [--seconds S] [--only schemas,cursors,calls]
//                           [--first K] [--jobs N] [--db NAME] [--keep] [--out DIR]
//                           [--summary FILE] [--verbose] [--long]
//
// Connects with the libpq environment variables (PGHOST, PGPORT, PGUSER,
// PGDATABASE, PGPASSWORD); needs a superuser (CREATE DATABASE, CREATE
// EXTENSION). Creates the scratch database, runs the fuzzers, drops it.

const fs = require('fs');
const path = require('path');
const { Worker } = require('worker_threads');
const db = require('./lib/db');
const { SchemaFuzzer, DOCS_PER_SCHEMA } = require('./lib/schemas');
const { CursorFuzzer, genEvents } = require('./lib/cursors');
const { CallFuzzer } = require('./lib/calls');

const FUZZERS = ['schemas', 'cursors', 'calls'];
// share of a time budget given to each fuzzer
const WEIGHTS = { schemas: 0.5, cursors: 0.2, calls: 0.3 };
const LONG = { schemas: 1000000, cursors: 50000, calls: 5000 };

function usage(msg) {
  if (msg) console.error('fuzz: ' + msg);
  console.error(`usage: node fuzz.js [--seed N] [--cases N] [--cases-schemas N] [--cases-cursors N] [--cases-calls N]
                  [--seconds S] [--only schemas|cursors|calls[,...]] [--first K] [--jobs N]
                  [--db NAME] [--keep] [--out DIR] [--summary FILE] [--verbose] [--long]
  --cases N     cases for each fuzzer selected (schemas: schema/document pairs, ${DOCS_PER_SCHEMA} per schema)
  --seconds S   time budget for the whole run, shared among the fuzzers (${Object.entries(WEIGHTS).map(([k, v]) => k + ' ' + v * 100 + '%').join(', ')})
  --first K     first case index (schemas: first schema index), to replay a case
  --jobs N      connections of the schemas fuzzer (default 1)
  --long        ${LONG.schemas} schema/document pairs, ${LONG.cursors} cursor cases, ${LONG.calls} calls;
                its summary goes to tools/fuzz/last-long-run.txt unless --summary is given`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = { only: FUZZERS.slice(), first: 0, jobs: 1, db: 'activity_fuzz', keep: false, verbose: false, cases: {}, out: path.join(__dirname, 'out') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => { if (i + 1 >= argv.length) usage(`${a} needs a value`); return argv[++i]; };
    const num = () => { const v = Number(val()); if (!Number.isFinite(v) || v < 0) usage(`${a} needs a non-negative number`); return v; };
    switch (a) {
      case '--seed': o.seed = num() >>> 0; break;
      case '--cases': o.casesAll = num(); break;
      case '--cases-schemas': o.cases.schemas = num(); break;
      case '--cases-cursors': o.cases.cursors = num(); break;
      case '--cases-calls': o.cases.calls = num(); break;
      case '--seconds': o.seconds = num(); break;
      case '--only': o.only = val().split(',').map(s => s.trim()).filter(Boolean); if (o.only.some(f => !FUZZERS.includes(f))) usage('--only takes ' + FUZZERS.join(', ')); break;
      case '--first': o.first = Math.floor(num()); break;
      case '--jobs': o.jobs = Math.max(1, Math.floor(num())); break;
      case '--db': o.db = val(); break;
      case '--keep': o.keep = true; break;
      case '--out': o.out = path.resolve(val()); break;
      case '--summary': o.summary = path.resolve(val()); break;
      case '--verbose': o.verbose = true; break;
      case '--long': o.long = true; break;
      case '-h': case '--help': usage(); break;
      default: usage(`unknown argument ${a}`);
    }
  }
  for (const f of FUZZERS) {
    if (o.cases[f] === undefined && o.casesAll !== undefined) o.cases[f] = o.casesAll;
    if (o.cases[f] === undefined && o.long) o.cases[f] = LONG[f];
  }
  if (o.long && !o.summary) o.summary = path.join(__dirname, 'last-long-run.txt');
  if (o.seed === undefined) o.seed = (Date.now() ^ (process.pid << 16)) >>> 0;
  if (o.seconds === undefined && FUZZERS.every(f => o.cases[f] === undefined)) o.seconds = 60;
  return o;
}

async function setupScratch(opts, log) {
  // the installed extension may be in the middle of a reinstall: retry
  for (let attempt = 1; ; attempt++) {
    try {
      await db.createScratch(opts.db);
      const c = await db.connect(opts.db);
      try {
        await c.query('CREATE EXTENSION activity');
        await c.query(`
          SELECT activity.register_universal_type(u) FROM unnest('{POST_CREATE,USER_JOIN}'::text[]) u;
          SELECT activity.register_type('fz.post', 'A post.', universal_type => 'POST_CREATE');
          SELECT activity.register_type('fz.comment', 'A comment.');
          SELECT activity.register_type('fz.award', recipient => 'required');
          SELECT activity.register_type('fz.join', universal_type => 'USER_JOIN', platforms => '{discord,slack}');
          SELECT activity.register_type('FZ_SYSTEM', actor_types => '{system}', recipient => 'forbidden');
          SELECT activity.register_schema('fz.post', '{"type": "object", "properties": {"title": {"type": "string", "maxLength": 50}}}');
          SELECT activity.register_schema('fz.post', '{"type": "object", "properties": {"title": {"type": "string", "maxLength": 50},
                                                         "tags": {"type": "array", "items": {"type": "string"}}}}');
          SELECT count(*) FROM activity.create_partitions('2024-01-01', '2026-01-01');`);
        const events = genEvents(opts.seed, 400);
        await c.query(`
          INSERT INTO activity.activities (id, workspace_id, platform, type, actor_type, initiator_id, recipient_id,
                                           subject_type, subject_id, metadata, occurred_at)
          SELECT id, workspace_id, platform, type, actor_type, initiator_id, recipient_id, subject_type, subject_id,
                 metadata, occurred_at
          FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, workspace_id text, platform text, type text, actor_type text,
               initiator_id text, recipient_id text, subject_type text, subject_id text, metadata jsonb, occurred_at timestamptz)`,
        [JSON.stringify(events)]);
        const extra = {
          ids: (await c.query('SELECT id::text FROM activity.activities ORDER BY id LIMIT 50')).rows.map(r => r.id),
          partitions: (await c.query('SELECT partition::text AS p FROM activity.partitions() LIMIT 5')).rows.map(r => r.p),
          cursors: (await c.query(`SELECT cursor::text AS c FROM activity.page('w1', "limit" => 20)`)).rows.map(r => r.c),
        };
        return extra;
      } finally {
        await c.end().catch(() => {});
      }
    } catch (e) {
      if (attempt >= 5 || !/could not load library|version|could not access file|incompatible library|does not exist/i.test(e.message)) throw e;
      log(`setup failed (${e.message}); the extension may be being reinstalled: retrying in 60 s`);
      await db.sleep(60000);
    }
  }
}

// the server's health: start time, and a long-lived session that a crash of
// any backend would end
class Sentinel {
  async open() {
    this.client = await db.connect(db.maintenanceDb());
    this.start = await this.startTime();
    try {
      const lib = await this.client.query(`SELECT setting FROM pg_config WHERE name = 'PKGLIBDIR'`);
      this.libPath = lib.rows[0].setting + '/activity.so';
      this.libMtime = await this.libModified();
    } catch (e) { this.libPath = null; }
  }
  async startTime() {
    return (await this.client.query('SELECT pg_postmaster_start_time()::text AS t')).rows[0].t;
  }
  async libModified() {
    if (!this.libPath) return null;
    try { return (await this.client.query('SELECT modification::text AS m FROM pg_stat_file($1)', [this.libPath])).rows[0].m; } catch (e) { return null; }
  }
  // returns a list of problems (empty when healthy)
  async check() {
    const problems = [];
    let alive = true;
    try {
      await this.client.query('SELECT 1');
    } catch (e) {
      alive = false;
      problems.push(`the sentinel session was lost (${e.message}): a backend crashed and the server restarted its sessions`);
    }
    if (!alive) {
      this.client.end().catch(() => {});
      this.client = await db.waitForServer(db.maintenanceDb(), 120);
    }
    const start = await this.startTime();
    if (start !== this.start) problems.push(`pg_postmaster_start_time changed from ${this.start} to ${start}`);
    this.start = start;
    const m = await this.libModified();
    if (m !== this.libMtime) {
      this.libReplaced = true;
      this.libMtime = m;
    }
    return problems;
  }
  async close() { if (this.client) await this.client.end().catch(() => {}); }
}

// A watchdog thread: the main thread beats every second; when it stops (a
// regular expression of the oracle backtracking for ever, say) for
// WATCHDOG_S, the thread writes the cases in flight, as a failure, and ends
// the process.
const WATCHDOG_S = 120;
function startWatchdog(failFile, seed) {
  const beat = new Int32Array(new SharedArrayBuffer(4 * 12));   // [beat, fuzzer, case + 1 per job...]
  setInterval(() => Atomics.add(beat, 0, 1), 1000).unref();
  const w = new Worker(path.join(__dirname, 'lib', 'watchdog.js'), { workerData: { beat, limit: WATCHDOG_S, failFile, seed, fuzzers: FUZZERS } });
  w.unref();
  return {
    fuzzer(name) { Atomics.store(beat, 1, FUZZERS.indexOf(name)); for (let i = 2; i < beat.length; i++) Atomics.store(beat, i, 0); },
    inflight(job, index) { if (job < beat.length - 2) Atomics.store(beat, 2 + job, index + 1); },
  };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const t0 = Date.now();
  const log = (s) => process.stdout.write(s + '\n');
  fs.mkdirSync(opts.out, { recursive: true });
  const failFile = path.join(opts.out, `failures-seed${opts.seed}.jsonl`);
  const noteFile = path.join(opts.out, `notes-seed${opts.seed}.jsonl`);
  fs.writeFileSync(failFile, '');
  fs.writeFileSync(noteFile, '');

  const watchdog = startWatchdog(failFile, opts.seed);
  const totals = { disagreement: 0, internal: 0, crash: 0, timeout: 0, hang: 0, unexpected: 0 };
  let printed = 0;
  const ctx = {
    seed: opts.seed,
    verbose: opts.verbose,
    stopping: false,
    log,
    repro(fuzzer, index) {
      return `node tools/fuzz/fuzz.js --seed ${opts.seed} --only ${fuzzer} --first ${index} --cases ${fuzzer === 'schemas' ? DOCS_PER_SCHEMA : 1} --verbose`;
    },
    failure(kind, rec) {
      totals[kind] = (totals[kind] || 0) + 1;
      fs.appendFileSync(failFile, JSON.stringify({ ...rec, failure: kind }) + "\n");
      if (printed++ < 20) {
        const e = rec.error ? ` [${rec.error.code || rec.error.kind}] ${rec.error.message}` : '';
        log(`FAIL ${kind}: ${rec.fuzzer} case ${rec.case}${rec.docIndex !== undefined ? ' doc ' + rec.docIndex : ''}: ${rec.what || rec.function || ''}${e}\n  reproduce: ${rec.repro}`);
      }
    },
    watchdog,
    // FUZZ_TRACE=FILE: each case's start and end, to find one that hangs
    trace: process.env.FUZZ_TRACE ? (line) => fs.appendFileSync(process.env.FUZZ_TRACE, line + '\n') : null,
    noteCounts: {},
    note(kind, rec) {
      this.noteCounts[kind] = (this.noteCounts[kind] || 0) + 1;
      if (this.noteCounts[kind] <= 10000) fs.appendFileSync(noteFile, JSON.stringify({ ...rec, note: kind }) + "\n");
    },
  };
  process.on('SIGINT', () => { if (ctx.stopping) process.exit(130); ctx.stopping = true; log('fuzz: interrupted, finishing the current cases'); });

  log(`fuzz: seed ${opts.seed}, database ${opts.db}, fuzzers ${opts.only.join(', ')}` +
    (opts.seconds !== undefined ? `, ${opts.seconds} s` : '') +
    (Object.keys(opts.cases).length ? ', cases ' + opts.only.map(f => `${f} ${opts.cases[f] === undefined ? '-' : opts.cases[f]}`).join(', ') : ''));

  const sentinel = new Sentinel();
  await sentinel.open();
  const extra = await setupScratch(opts, log);
  const lines = [];
  let totalCases = 0;
  const budgetEnd = opts.seconds !== undefined ? Date.now() + opts.seconds * 1000 : Infinity;

  for (let k = 0; k < opts.only.length; k++) {
    const name = opts.only[k];
    if (ctx.stopping) break;
    const rest = opts.only.slice(k).reduce((s, f) => s + WEIGHTS[f], 0);
    const deadline = budgetEnd === Infinity ? Infinity : Date.now() + Math.max(0, budgetEnd - Date.now()) * WEIGHTS[name] / rest;
    const cases = opts.cases[name] !== undefined ? opts.cases[name] : Number.MAX_SAFE_INTEGER;
    const range = { first: opts.first, cases, deadline };
    const before = { ...totals };
    watchdog.fuzzer(name);
    const started = Date.now();
    let fz;
    const conns = [];
    const jobs = name === 'schemas' ? opts.jobs : 1;
    for (let j = 0; j < jobs; j++) {
      const c = new db.Conn(opts.db, ["SET statement_timeout = '10s'"]);
      await c.open();
      conns.push(c);
    }
    if (name === 'schemas') { fz = new SchemaFuzzer(ctx); await fz.run(conns, range); }
    else if (name === 'cursors') { fz = new CursorFuzzer(ctx); await fz.run(conns[0], range); }
    else { fz = new CallFuzzer(ctx); await fz.prepare(conns[0], extra); await fz.run(conns[0], range); }
    for (const c of conns) await c.close();
    const problems = await sentinel.check();
    if (problems.length) {
      const crashesSeen = totals.crash - before.crash;
      for (const p of problems) log(`fuzz: after ${name}: ${p}`);
      if (!crashesSeen) ctx.failure('crash', { fuzzer: name, what: problems.join('; ') });
    }
    const d = (kind) => totals[kind] - before[kind];
    const n = fz.stats.cases;
    totalCases += n;
    const line = `${name}: ${fz.summary()}; ${d('disagreement')} disagreements, ${d('internal')} internal errors, ${d('crash')} crashes, ` +
      `${d('timeout') + d('hang')} timeouts, ${d('unexpected')} unexpected errors; ${((Date.now() - started) / 1000).toFixed(1)} s`;
    log(line);
    lines.push(line);
  }

  await sentinel.close().catch(() => {});
  if (!opts.keep) await db.dropScratch(opts.db).catch(e => log('fuzz: could not drop the scratch database: ' + e.message));
  const failures = Object.values(totals).reduce((a, b) => a + b, 0);
  if (sentinel.libReplaced) log('fuzz: note: activity.so was replaced during the run (a reinstall); a crash may come from that');
  const notes = Object.entries(ctx.noteCounts).map(([k, v]) => `${v} ${k}`).join(', ');
  const final = `fuzz: ${totalCases} cases, ${totals.disagreement} disagreements, ${totals.internal} internal errors, ${totals.crash} crashes, ` +
    `${totals.timeout + totals.hang} timeouts, ${totals.unexpected} unexpected errors (seed ${opts.seed}, ${((Date.now() - t0) / 1000).toFixed(0)} s)`;
  log(`fuzz: failures in ${failures ? failFile : '(none)'}${notes ? `; notes (${notes}) in ${noteFile}` : ''}`);
  log(final);
  if (opts.summary) {
    const cmd = 'node tools/fuzz/fuzz.js ' + process.argv.slice(2).join(' ');
    fs.writeFileSync(opts.summary, [`date: ${new Date().toISOString()}`, `command: ${cmd}`, `seed: ${opts.seed}`, ...lines, final, ''].join('\n'));
  }
  process.exitCode = failures || ctx.stopping ? 1 : 0;
}

main().catch(e => {
  console.error('fuzz: ' + (e && e.stack || e));
  process.exit(3);
});
