#!/usr/bin/env node
// The HTTP client of bench/api.sh: GETs one URL of the workspace API again
// and again over keep-alive connections and prints the latencies as JSON.
//
//   node bench/api_client.js --url URL --token TOKEN [--requests 1000] [--warmup 100]
//                            [--concurrency 1] [--expect-rows 50]
//
// --concurrency 1 (the default) measures the latency of one client: each
// request is sent when the previous answer has been read in full. With more,
// that many clients run at once (one connection each) and the requests per
// second are the point. Every answer must be 200 with --expect-rows entries
// in data (checked on the first answer of each client and every 50th),
// else the run fails. Node's http module only: no dependency.
'use strict';

const http = require('node:http');

function args(argv) {
  const o = { requests: 1000, warmup: 100, concurrency: 1, 'expect-rows': null };
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i].replace(/^--/, '');
    if (!(name in o) && !['url', 'token'].includes(name)) throw new Error(`unknown option ${argv[i]}`);
    o[name] = ['url', 'token'].includes(name) ? argv[i + 1] : Number(argv[i + 1]);
  }
  if (!o.url || !o.token) throw new Error('--url and --token are required');
  return o;
}

function get(agent, url, token) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = http.get(url, { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks), ns: Number(process.hrtime.bigint() - t0) }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

function check(o, r) {
  if (r.status !== 200) throw new Error(`status ${r.status}: ${r.body.toString().slice(0, 300)}`);
  if (o['expect-rows'] !== null) {
    const n = JSON.parse(r.body).data.length;
    if (n !== o['expect-rows']) throw new Error(`${n} rows, ${o['expect-rows']} expected`);
  }
}

async function main() {
  const o = args(process.argv.slice(2));
  const latencies = [];
  let bytes = 0;
  let next = 0;
  let total = o.warmup + o.requests;
  const client = async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    for (let k = 0; ; k++) {
      const i = next++;
      if (i >= total) break;
      const r = await get(agent, o.url, o.token);
      if (k === 0 || i % 50 === 0) check(o, r); else if (r.status !== 200) check(o, r);
      if (i >= o.warmup) { latencies.push(r.ns / 1e6); bytes += r.body.length; }
    }
    agent.destroy();
  };
  // the warm-up is sequential, whatever the concurrency
  const started = { t: 0 };
  if (o.concurrency === 1) {
    started.t = process.hrtime.bigint();
    await client();
  } else {
    const warm = o.warmup;
    o.warmup = 0;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < warm; i++) check(o, await get(agent, o.url, o.token));
    agent.destroy();
    next = 0;
    total = o.requests;
    started.t = process.hrtime.bigint();
    await Promise.all(Array.from({ length: o.concurrency }, client));
  }
  const seconds = Number(process.hrtime.bigint() - started.t) / 1e9;
  const measured = latencies.length;
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)];
  const mean = latencies.reduce((a, b) => a + b, 0) / latencies.length;
  console.log(JSON.stringify({
    n: latencies.length,
    p50_ms: +pct(50).toFixed(3),
    p95_ms: +pct(95).toFixed(3),
    mean_ms: +mean.toFixed(3),
    // one client: 1 / mean latency; several: completed requests / elapsed time
    rps: +(o.concurrency === 1 ? 1000 / mean : measured / seconds).toFixed(1),
    bytes: Math.round(bytes / latencies.length),
  }));
}

main().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
