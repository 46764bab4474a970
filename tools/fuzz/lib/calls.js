'use strict';
// Fuzzer 3: every public function of schema activity (name not starting with
// "_"), its signature read from pg_proc, called with random arguments, each
// call in a transaction of its own that is rolled back, under
// statement_timeout = 2s. Any SQLSTATE is fine except XX000-XX002, a lost
// connection, or 57014 (a call that was not bounded).

const { Rng, caseSeed } = require('./prng');
const { SchemaGen, genValue, genString, serialize } = require('./gen');
const { TYPES, WORKSPACES } = require('./cursors');

const STREAM = 3;
const TIMEOUT = '2s';

const FUNCTIONS_SQL = `
SELECT p.oid::int AS oid, p.proname AS name, p.pronargs AS nargs, p.pronargdefaults AS ndefaults,
       p.proretset AS retset, p.prokind AS kind, format_type(p.prorettype, NULL) AS ret,
       coalesce((SELECT array_agg(format_type(t, NULL) ORDER BY o)
                 FROM unnest(p.proargtypes) WITH ORDINALITY u(t, o)), '{}') AS types,
       coalesce(p.proargnames, '{}') AS names, coalesce(p.proargmodes::text[], '{}') AS modes,
       pg_get_function_identity_arguments(p.oid) AS identity
FROM pg_proc p
WHERE p.pronamespace = 'activity'::regnamespace AND p.proname !~ '^_'
ORDER BY p.proname, p.oid`;

function huge(r, n) {
  const unit = r.pick(['x', 'é', '😀', 'ab.', ' ', '\'"\\', 'fz.']);
  return unit.repeat(Math.ceil(n / unit.length)).slice(0, n);
}

function genText(r) {
  return r.weighted([
    [2, null], [2, ''], [1, ' '], [3, r.pick(WORKSPACES)], [3, r.pick(TYPES)], [3, genString(r, 20)],
    [1, r.pick(['fz.*', '*', '.*', 'post.*', '%', '_', "'", '"', '\\', 'NULL', 'null', '{}', '[]', 'é😀', '\u0001', '\u202e', 'e\u0301'])],
    [1, 'a'.repeat(r.pick([127, 128, 129, 1023, 1024, 1025]))],
    [1, huge(r, r.pick([1000, 10000, 100000]))],
    [0.2, 'nul\u0000byte'],
  ]);
}

function genInt(r, bits) {
  const max = bits === 16 ? 32767 : bits === 32 ? 2147483647 : 9223372036854775807n;
  return r.weighted([
    [1, null], [3, r.pick([0, 1, -1, 2, 3, 50, 199, 200, 201, 1000])], [2, r.int(-100, 500)],
    [1, String(max)], [1, '-' + String(bits === 64 ? 9223372036854775808n : Number(max) + 1)],
    [0.5, bits === 64 ? '9223372036854775808' : String(Number(max) + 1)],
    [0.3, r.pick(['abc', '1.5', ''])],
  ]);
}

const TIMESTAMPS = ['infinity', '-infinity', 'now', 'epoch', '4713-01-01 00:00:00+00 BC', '294276-12-31 23:59:59.999999+00',
  '2025-01-15 10:00:00+00', '2024-02-29 23:59:59.999999+00', '1990-01-01 00:00:00+00', '2090-01-01 00:00:00+00',
  '2025-13-01', 'yesterday', '1970-01-01 00:00:00+14', '2200-01-01'];
function genTimestamp(r) {
  return r.weighted([
    [1, null], [4, r.pick(TIMESTAMPS)],
    [4, new Date(Date.parse('1900-01-01') + Math.floor(r.next() * (Date.parse('2100-01-01') - Date.parse('1900-01-01')))).toISOString()],
  ]);
}

const INTERVALS = ['1 day', '7 days', '1 month', '2 months', '3 months', '4 months', '6 months', '1 year', '1 minute', '1 hour',
  '15 minutes', '6 hours', '1 week', '0', '-1 day', '1 microsecond', '178000000 years', '-178000000 years', '1 mon 1 day',
  'P1Y2M', '13 months', '1 day 1 second', '2 days', '0.5 days', 'infinity', '1 century'];
function genInterval(r) { return r.weighted([[1, null], [8, r.pick(INTERVALS)], [1, `${r.int(-1000, 100000)} ${r.pick(['seconds', 'minutes', 'hours', 'days', 'months', 'years'])}`]]); }

function genUuid(r, ids) {
  return r.weighted([
    [1, null], [3, ids.length ? r.pick(ids) : null],
    [3, [8, 4, 4, 4, 12].map(n => r.bytes(n).toString('hex').slice(0, n)).join('-')],
    [1, r.pick(['00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '01930000-0000-7000-8000-000000000003', 'ffffffff-ffff-7fff-bfff-ffffffffffff'])],
  ]);
}

function deepJson(n) { return '['.repeat(n) + ']'.repeat(n); }

function genJsonb(r) {
  return r.thunk([
    [1, null], [4, serialize(r, genValue(r, 0))],
    [4, () => serialize(r, new SchemaGen(r, { refuse: r.chance(0.1) }).root())],
    [1, r.pick(['{}', '[]', 'null', '1', '"x"', 'true', '{"type": "object"}', '{"title": "p1"}', '1e1000', '-1e-1000', '123456789012345678901234567890.5'])],
    [0.5, () => '{' + Array.from({ length: r.pick([1000, 10000]) }, (_, i) => `"k${i}": ${i}`).join(',') + '}'],
    [0.5, () => '[' + Array.from({ length: r.pick([1000, 100000]) }, (_, i) => i).join(',') + ']'],
    [0.5, () => deepJson(r.pick([33, 100, 1000, 5000]))],
    [0.3, () => JSON.stringify({ title: huge(r, 300000) })],
    [0.3, '{"a": '],
  ]);
}

function genTextArray(r, pool) {
  return r.thunk([
    [1, null], [2, '{}'], [1, '{NULL}'],
    [5, () => r.subset(pool, 4)],
    [1, () => r.subset(pool, 2).concat([genString(r, 5), ''])],
    [0.5, () => Array.from({ length: r.pick([1000, 100000]) }, (_, i) => r.pick(pool) + (r.chance(0.5) ? i : ''))],
    [0.3, '{{a,b},{c,d}}'],
    [0.3, () => [huge(r, 50000)]],
    [0.2, '{"unclosed'],
  ]);
}

// values for arguments, by name where the name tells what is expected:
// plausible ones, and (but in a sane call) wrong ones; undefined leaves the
// argument to the generator of its type
function byName(r, name, type, ctx, sane) {
  const n = (name || '').toLowerCase();
  const pick = (valid, wrong, p) => {
    if (sane) return r.chance(0.97) ? r.pick(valid) : undefined;
    return r.chance(p === undefined ? 0.75 : p) ? r.pick(valid.concat(wrong || [])) : undefined;
  };
  if (type === 'text' || type === 'cstring') {
    if (n === 'workspace_id') return pick(WORKSPACES, [null, 'w9', '']);
    if (n === 'type' || n === 'name') return pick(sane ? ['fz.post', 'fz.comment'] : TYPES, ['fz.new', 'FZ_NEW', 'fz.new.sub_type', 'Bad Name', 'x', 'a'.repeat(128), 'a'.repeat(129)]);
    if (n === 'universal_type') return pick(['POST_CREATE', 'USER_JOIN', 'NEW_THING'], ['bad', '']);
    if (n === 'compatibility') return pick(['none', 'backward', 'forward', 'full', 'backward_transitive', 'forward_transitive', 'full_transitive'], ['sideways', null]);
    if (n === 'direction') return pick(['asc', 'desc'], ['ASC', 'up', null]);
    if (n === 'recipient') return pick(['required', 'forbidden', 'optional'], ['sometimes', null]);
    if (n === 'by') return pick(['type', 'universal_type'], ['platform', null]);
    if (n === 'actor_type') return pick(['user', 'agent'], ['system', 'robot', null]);
    if (n === 'platform') return pick(['discord', 'slack', null], ['telegram', '']);
    if (n === 'subject_type') return pick(['issue', null], ['post']);
    if (n === 'subject_id' || n === 'issue_id') return pick(['I-1', 'I-2', 'I-3'], [null]);
    if (n === 'initiator_id' || n === 'recipient_id') return pick(['u1', 'u2', 'u3', 'u4', 'bot'], [null]);
    if (n === 'description') return pick(['A thing happened.', ''], [null]);
    if (n === 'bucket' || n === 'partition_interval' || n === 'retention') return pick(['1 day', '1 month', '1 hour', '7 days', '1 year'], INTERVALS);
  }
  if (type === 'text[]') {
    if (sane && /^(types|universal_types|actor_types|platforms)$/.test(n)) return null;
    if (n === 'types') return genTextArray(r, TYPES.concat(['fz.*', 'FZ_*', 'x*y', 'nope']));
    if (n === 'universal_types') return genTextArray(r, ['POST_CREATE', 'USER_JOIN', 'NONE']);
    if (n === 'actor_types') return genTextArray(r, ['user', 'agent', 'system', 'robot']);
    if (n === 'platforms') return genTextArray(r, ['discord', 'slack', 'telegram', '']);
  }
  if ((type === 'smallint' || type === 'integer') && n === 'version') return pick([null, 1, 2], [0, 3]);
  if ((type === 'integer') && (n === 'limit' || n === 'offset')) return pick([1, 2, 10, 50], [0, -1, 201, null]);
  if (type === 'timestamp with time zone' && (n === 'since' || n === 'until' || n === 'occurred_at')) {
    return pick(['2024-01-01', '2024-06-01', '2025-01-01', '2025-03-15 12:00:00+00', '2026-01-01', '2026-06-01'], [null], 0.5);
  }
  if (type === 'jsonb' && n === 'metadata') return pick(['{}', '{"title": "hello"}', '{"n": 1}'], ['{"title": 5}', '[]', null]);
  if (type === 'uuid' && (n === 'caused_by' || n === 'id')) return sane ? null : pick(ctx.ids.concat([null]), [], 0.5);
  return undefined;
}

function genArg(r, name, type, ctx, sane) {
  const v = byName(r, name, type, ctx, sane);
  if (v !== undefined) return { value: v };
  switch (type) {
    case 'text': case 'cstring': case 'name': case 'character varying': return { value: genText(r) };
    case 'integer': return { value: genInt(r, 32) };
    case 'smallint': return { value: genInt(r, 16) };
    case 'bigint': return { value: genInt(r, 64) };
    case 'boolean': return { value: r.pick([true, false, null, 'maybe']) };
    case 'jsonb': case 'json': return { value: genJsonb(r) };
    case 'timestamp with time zone': case 'timestamp without time zone': case 'date': return { value: genTimestamp(r) };
    case 'interval': return { value: genInterval(r) };
    case 'uuid': return { value: genUuid(r, ctx.ids) };
    case 'text[]': return { value: genTextArray(r, [genString(r, 6), 'w1', 'fz.post', 'x']) };
    case 'regclass': return { value: r.pick([null, 'activity.activities', 'activity_partitions.activities_default', 'activity.event_types', 'pg_class', '0', '1', String(r.int(1, 100000)), 'nonexistent'].concat(ctx.partitions)) };
    case 'regrole': return { value: r.pick([null, 'postgres', 'pg_monitor', '0', String(r.int(1, 100000)), 'nonexistent', '-']) };
    case 'oid': return { value: r.pick([null, 0, 1, r.int(1, 100000), 4294967295]) };
    case 'activity.cursor': {
      const c = ctx.cursors.length ? r.pick(ctx.cursors) : null;
      return r.weighted([[1, { value: null }], [5, { value: c }], [1, { value: c && c.slice(0, -1) + (c.endsWith('A') ? 'B' : 'A') }],
        [1, { value: c ? Buffer.from(c, 'base64url') : null }], [0.5, { value: r.bytes(r.pick([0, 34, 38, 40])) }]]);
    }
    case 'activity.jsonschema': {
      const s = serialize(r, new SchemaGen(r, { refuse: r.chance(0.1) }).root());
      return r.weighted([[1, { value: null }], [6, { value: s }], [1, { value: Buffer.concat([Buffer.from([1]), Buffer.from(s)]) }],
        [0.5, { value: Buffer.concat([Buffer.from([r.pick([0, 1, 2, 255])]), r.bytes(r.int(0, 40))]) }], [0.5, { value: deepJson(r.pick([100, 3000])) }]]);
    }
    default: return { value: r.chance(0.5) ? null : genText(r) };
  }
}

class CallFuzzer {
  constructor(ctx) {
    this.ctx = ctx;
    this.functions = [];
    this.skipped = [];
    this.stats = { cases: 0, ok: 0, errors: 0, states: new Map(), perFunction: new Map(), slow: new Map() };
  }

  async prepare(conn, extra) {
    const out = await conn.q(FUNCTIONS_SQL);
    if (!out.ok) throw new Error('reading pg_proc: ' + out.message);
    for (const f of out.rows) {
      const modes = f.modes;
      let names;
      if (!modes.length) names = f.types.map((_, i) => f.names[i] || null);
      else names = f.names.filter((_, i) => ['i', 'b', 'v'].includes(modes[i]));
      f.inNames = f.types.map((_, i) => (names[i] ? names[i] : null));
      if (f.kind !== 'f' || f.types.some(t => t === 'internal' || t === 'anyelement' || t === '"any"' || t === 'anyarray')) {
        this.skipped.push(`${f.name}(${f.identity})`);
        continue;
      }
      this.functions.push(f);
    }
    this.extra = extra;
    // each function in turn; those without arguments (maintain(),
    // pending_steps(), uuidv7() ...) one round in 8
    this.schedule = [];
    for (let round = 0; round < 8; round++) for (const f of this.functions) if (f.nargs > 0 || round === 0) this.schedule.push(f);
  }

  buildCall(r, f) {
    const params = [];
    const args = [];
    // a sane call: arguments by name from the pools of plausible values,
    // most defaulted ones left out, so that calls get past the checks too
    const sane = r.chance(0.3);
    const named = (sane || r.chance(0.5)) && f.inNames.every(n => n);
    const required = f.nargs - f.ndefaults;
    // positional: all arguments, or the required ones and some defaulted ones
    const given = r.chance(0.4) ? f.nargs : r.int(required, f.nargs);
    for (let i = 0; i < f.nargs; i++) {
      const type = f.types[i];
      if (named) {
        if (i >= required && r.chance(sane ? 0.8 : 0.5)) continue;
      } else if (i >= given) break;
      const { value } = genArg(r, f.inNames[i], type, this.extra, sane);
      params.push(value);
      const ref = `$${params.length}::${type}`;
      args.push(named ? `"${f.inNames[i].replace(/"/g, '""')}" => ${ref}` : ref);
    }
    const call = `activity.${f.name}(${args.join(', ')})`;
    const sql = r.chance(0.5) ? `SELECT count(*) AS n FROM ${call} AS x` : `SELECT * FROM ${call} AS x`;
    return { sql, params };
  }

  async runCase(conn, index) {
    const { ctx } = this;
    const r = new Rng(caseSeed(ctx.seed, STREAM, index));
    const f = this.schedule[index % this.schedule.length];
    const { sql, params } = this.buildCall(r, f);
    const shown = params.map(p => (Buffer.isBuffer(p) ? { binary: p.toString('hex').slice(0, 200) } : typeof p === 'string' && p.length > 200 ? p.slice(0, 200) + `... (${p.length} chars)` : Array.isArray(p) && p.length > 20 ? `[array of ${p.length}]` : p));
    if (ctx.verbose) ctx.log(`calls #${index}: ${sql} ${JSON.stringify(shown)}`);
    this.stats.cases++;
    const where = { fuzzer: 'calls', seed: ctx.seed, case: index, function: `${f.name}(${f.identity})`, sql, params: shown, repro: ctx.repro('calls', index) };
    const begin = await conn.q(`BEGIN; SET LOCAL statement_timeout = '${TIMEOUT}'`);
    if (!begin.ok) { ctx.failure(begin.kind === 'sql' ? 'unexpected' : begin.kind, { ...where, what: 'BEGIN', error: begin }); return; }
    const t0 = Date.now();
    let out = await conn.q(sql, params);
    const ms = Date.now() - t0;
    if (ctx.verbose) ctx.log(`  -> ${out.ok ? 'ok' : out.code || out.kind} ${out.ok ? '' : out.message.slice(0, 100)} (${ms} ms)`);
    if (out.ok || out.kind === 'sql') await conn.q('ROLLBACK');
    else if (out.kind === 'timeout') await conn.q('ROLLBACK');
    if (!out.ok && out.kind === 'timeout') {
      const why = await this.explainTimeout(conn, f, sql, params);
      if (why) {
        const key = `${f.name} (${why})`;
        this.stats.slow.set(key, (this.stats.slow.get(key) || 0) + 1);
        ctx.note('slow', { ...where, ms, why });
        out = { ok: false, code: '57014', kind: 'sql', message: 'explained: ' + why };
      }
    }
    const pf = this.stats.perFunction.get(f.name) || { calls: 0, ok: 0 };
    pf.calls++;
    if (out.ok) { this.stats.ok++; pf.ok++; } else {
      this.stats.errors++;
      this.stats.states.set(out.code || out.kind, (this.stats.states.get(out.code || out.kind) || 0) + 1);
      if (out.kind !== 'sql') ctx.failure(out.kind, { ...where, ms, error: out });
    }
    this.stats.perFunction.set(f.name, pf);
  }

  // A call that outlived statement_timeout for a reason that is not a
  // missing bound: returns the reason, or null (a failure)
  async explainTimeout(conn, f, sql, params) {
    // PostgreSQL's JIT compiles a query whose estimated cost is high (a
    // function is estimated at 1000 rows), which can take longer than the
    // query: the same call without JIT ends in time
    await conn.q(`BEGIN; SET LOCAL statement_timeout = '${TIMEOUT}'; SET LOCAL jit = off`);
    const again = await conn.q(sql, params);
    if (again.ok || again.kind === 'sql' || again.kind === 'timeout') await conn.q('ROLLBACK');
    if (again.ok || again.kind === 'sql') return 'JIT compilation';
    // create_partitions() of a wide range: tens of milliseconds for each
    // partition before the first attach, then at most activity.max_lock_hold
    if (f.name === 'create_partitions' && typeof params[0] === 'string' && typeof params[1] === 'string') {
      const wide = await conn.q(`SELECT $2::timestamptz - $1::timestamptz > interval '24 months' AS w`, params.slice(0, 2));
      if (wide.ok && wide.rows[0].w) return 'a range over 24 months: up to 1000 partitions per call';
    }
    return null;
  }

  async run(conn, range) {
    for (let i = range.first; i < range.first + range.cases; i++) {
      if (Date.now() >= range.deadline || this.ctx.stopping) break;
      this.ctx.watchdog.inflight(0, i);
      await this.runCase(conn, i);
    }
  }

  summary() {
    const s = this.stats;
    const states = [...s.states.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([k, v]) => `${k} ${v}`).join(', ');
    const never = this.functions.filter(f => !(s.perFunction.get(f.name) || {}).ok).map(f => f.name);
    return `${s.cases} cases over ${this.functions.length} functions (${s.ok} succeeded, ${s.errors} clean errors${states ? ': ' + states : ''}` +
      `${never.length && s.cases >= 10 * this.functions.length ? '; never succeeded: ' + [...new Set(never)].join(' ') : ''}` +
      `${s.slow.size ? '; over ' + TIMEOUT + ', explained: ' + [...s.slow.entries()].map(([k, v]) => `${k} ${v}`).join(', ') : ''}` +
      `${this.skipped.length ? '; not callable from SQL: ' + this.skipped.join(' ') : ''})`;
  }
}

module.exports = { CallFuzzer };
