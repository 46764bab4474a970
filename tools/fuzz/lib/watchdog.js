'use strict';
// The watchdog thread (see startWatchdog in fuzz.js): when the main thread's
// beat stops for `limit` seconds, write the cases in flight, as a failure,
// and end the process.
const fs = require('fs');
const { workerData: { beat, limit, failFile, seed, fuzzers } } = require('worker_threads');

let last = -1, since = Date.now();
setInterval(() => {
  const h = Atomics.load(beat, 0);
  if (h !== last) { last = h; since = Date.now(); return; }
  if (Date.now() - since < limit * 1000) return;
  const fuzzer = fuzzers[Atomics.load(beat, 1)];
  const cases = [];
  for (let i = 2; i < beat.length; i++) { const c = Atomics.load(beat, i); if (c) cases.push(c - 1); }
  const repro = `node tools/fuzz/fuzz.js --seed ${seed} --only ${fuzzer} --first ${cases[0]} --cases ${fuzzer === 'schemas' ? 8 : 1} --verbose`;
  fs.writeSync(2, `fuzz: the harness made no progress for ${limit} s (the oracle stuck in a regular expression?); ` +
    `${fuzzer} cases in flight: ${cases.join(', ')}; reproduce: ${repro}\n`);
  fs.appendFileSync(failFile, JSON.stringify({ fuzzer, seed, cases, what: 'the harness itself made no progress', repro, failure: 'hang' }) + '\n');
  process.kill(process.pid, 'SIGKILL');
}, 1000);
