'use strict';
// Fuzzer 2: cursors. Valid cursors from activity.page(), mutated (text edits,
// truncation, alphabet swaps, bit flips, random strings and bytes, binary
// input, and forged cursors with a correct checksum but any position, flags
// or format version), fed to ::activity.cursor, activity.cursor_info() and
// activity.page(). Every outcome must be a success or a clean error in
// ALLOWED; a page that succeeds must equal the page a plain SQL query over
// activity.activities gives for the same position and filters.

const { Rng, caseSeed } = require('./prng');

const STREAM = 2;
// 22P02 text input, 22P03 binary input, 22023 a cursor of another query
const ALLOWED = new Set(['22P02', '22P03', '22023']);
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

// CRC-32C (Castagnoli), as PostgreSQL's pg_crc32c
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();
function crc32c(buf, len) {
  let c = 0xffffffff;
  for (let i = 0; i < len; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function seal(b) {
  const payload = b.length - 4;
  b.writeUInt32BE(crc32c(b, payload), payload);
  return b;
}
function encode(b) { return b.toString('base64url'); }
function decode(s) { return Buffer.from(s, 'base64url'); }

// --- the data and the query shapes ---

const WORKSPACES = ['w1', 'w2', 'w3'];
const TYPES = ['fz.post', 'fz.comment', 'fz.award', 'fz.join', 'FZ_SYSTEM'];
const TIMES = [
  '1990-06-01T00:00:00Z', '2023-11-30T23:59:59.999999Z', '2024-01-01T00:00:00Z', '2024-03-15T12:00:00Z',
  '2024-07-01T00:00:00Z', '2025-01-01T00:00:00Z', '2025-06-30T10:00:00Z', '2026-02-01T00:00:00Z', '2090-01-01T00:00:00Z',
];

// events for the scratch database: deterministic for a seed
function genEvents(seed, n) {
  const r = new Rng(caseSeed(seed, 9, 0));
  const events = [];
  const base = Date.parse('2023-10-01T00:00:00Z'), span = Date.parse('2026-04-01T00:00:00Z') - base;
  const pinned = [];
  for (let i = 0; i < n; i++) {
    const type = r.weighted([[5, 'fz.post'], [3, 'fz.comment'], [2, 'fz.award'], [2, 'fz.join'], [1, 'FZ_SYSTEM']]);
    let t;
    if (r.chance(0.03)) t = r.pick(['1990-01-01T00:00:00Z', '1970-01-01T00:00:00Z', '2090-05-05T05:05:05Z', '2200-01-01T00:00:00Z']);
    else if (pinned.length && r.chance(0.15)) t = r.pick(pinned);     // ties: ordered by id
    else {
      t = new Date(base + Math.floor(r.next() * span)).toISOString();
      if (r.chance(0.1)) pinned.push(t);
    }
    const ms = Math.max(0, Date.parse(t));
    const hex = ms.toString(16).padStart(12, '0').slice(-12) + '7' + r.bytes(2).toString('hex').slice(1) +
      ((8 + r.int(0, 3)).toString(16)) + r.bytes(8).toString('hex').slice(1);
    const e = {
      id: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`,
      workspace_id: r.weighted([[5, 'w1'], [3, 'w2'], [1, 'w3']]),
      type,
      actor_type: type === 'FZ_SYSTEM' ? 'system' : r.weighted([[6, 'user'], [2, 'agent'], [1, 'system']]),
      occurred_at: t,
      metadata: type === 'fz.post' ? { title: 'p' + i } : { n: i },
    };
    e.initiator_id = e.actor_type === 'system' && r.chance(0.5) ? null : r.pick(['u1', 'u2', 'u3', 'bot']);
    if (type === 'fz.award' || (type !== 'FZ_SYSTEM' && r.chance(0.2))) e.recipient_id = r.pick(['u1', 'u2', 'u4']);
    if (type === 'fz.join') e.platform = r.pick(['discord', 'slack']);
    else if (r.chance(0.2)) e.platform = r.pick(['discord', 'slack', 'telegram']);
    if (r.chance(0.3)) { e.subject_type = 'issue'; e.subject_id = r.pick(['I-1', 'I-2', 'I-3']); }
    events.push(e);
  }
  return events;
}

function genShape(r) {
  const sh = { workspace_id: r.weighted([[8, r.pick(WORKSPACES)], [2, null]]), limit: r.pick([1, 2, 3, 5, 10, 50, 200]) };
  if (r.chance(0.2)) { sh.subject_type = 'issue'; sh.subject_id = r.pick(['I-1', 'I-2', 'I-3']); }
  if (r.chance(0.15)) sh.initiator_id = r.pick(['u1', 'u2', 'u3', 'bot']);
  if (r.chance(0.1)) sh.recipient_id = r.pick(['u1', 'u2', 'u4']);
  if (r.chance(0.2)) sh.types = r.subset(TYPES.concat(['fz.*']), 3);
  if (r.chance(0.1)) sh.universal_types = r.subset(['POST_CREATE', 'USER_JOIN', 'NOTHING'], 2);
  if (r.chance(0.15)) sh.actor_types = r.subset(['user', 'agent', 'system'], 2);
  if (r.chance(0.1)) sh.platforms = r.subset(['discord', 'slack', 'telegram'], 2);
  if (r.chance(0.2)) sh.since = r.pick(TIMES);
  if (r.chance(0.2)) sh.until = r.pick(TIMES);
  if (r.chance(0.6)) sh.direction = r.pick(['desc', 'asc']);
  return sh;
}

const TEXT_ARGS = ['subject_type', 'subject_id', 'initiator_id', 'recipient_id'];
const ARRAY_ARGS = ['types', 'universal_types', 'actor_types', 'platforms'];

// activity.page(...) with the shape's arguments; the cursor is $2
function pageCall(sh) {
  const params = [sh.workspace_id, null];
  const args = ['$1::text', 'after => $2::activity.cursor'];
  const add = (name, val, type) => { params.push(val); args.push(`${name} => $${params.length}::${type}`); };
  add('"limit"', sh.limit, 'int');
  for (const k of TEXT_ARGS) if (sh[k] !== undefined) add(k, sh[k], 'text');
  for (const k of ARRAY_ARGS) if (sh[k] !== undefined) add(k, sh[k], 'text[]');
  if (sh.since !== undefined) add('since', sh.since, 'timestamptz');
  if (sh.until !== undefined) add('until', sh.until, 'timestamptz');
  if (sh.direction !== undefined) add('direction', sh.direction, 'text');
  return { call: `activity.page(${args.join(', ')})`, params };
}

// the same page by plain SQL over activity.activities: ids, newest first (or
// oldest first), after the position in cursor $2 when given; limit + 1 rows
function referenceQuery(sh, unlimited) {
  const params = [sh.workspace_id, null];
  const w = [];
  const p = (v) => { params.push(v); return '$' + params.length; };
  if (sh.workspace_id !== null) w.push('a.workspace_id = $1');
  else w.push('$1::text IS NULL');
  if (sh.subject_type !== undefined) w.push(`a.subject_type = ${p(sh.subject_type)} AND a.subject_id = ${p(sh.subject_id)}`);
  if (sh.initiator_id !== undefined) w.push(`a.initiator_id = ${p(sh.initiator_id)}`);
  if (sh.recipient_id !== undefined) w.push(`a.recipient_id = ${p(sh.recipient_id)}`);
  if (sh.types !== undefined) {
    const exact = sh.types.filter(t => !t.endsWith('.*'));
    const prefixes = sh.types.filter(t => t.endsWith('.*')).map(t => t.slice(0, -1));
    const ors = ['false'];
    if (exact.length) ors.push(`a.type = ANY(${p(exact)}::text[])`);
    for (const pre of prefixes) ors.push(`starts_with(a.type, ${p(pre)}::text)`);
    w.push('(' + ors.join(' OR ') + ')');
  }
  if (sh.universal_types !== undefined) w.push(`a.type IN (SELECT name FROM activity.event_types WHERE universal_type = ANY(${p(sh.universal_types)}::text[]))`);
  if (sh.actor_types !== undefined) w.push(`a.actor_type = ANY(${p(sh.actor_types)}::text[])`);
  if (sh.platforms !== undefined) w.push(`a.platform = ANY(${p(sh.platforms)}::text[])`);
  if (sh.since !== undefined) w.push(`a.occurred_at >= ${p(sh.since)}::timestamptz`);
  if (sh.until !== undefined) w.push(`a.occurred_at < ${p(sh.until)}::timestamptz`);
  const asc = sh.direction === 'asc';
  w.push(`($2::activity.cursor IS NULL OR (a.occurred_at, a.id) ${asc ? '>' : '<'} (SELECT c.occurred_at, c.id FROM activity.cursor_info($2::activity.cursor) c))`);
  const ord = asc ? 'ASC' : 'DESC';
  return {
    sql: `SELECT a.id::text AS id FROM activity.activities a WHERE ${w.join(' AND ')} ORDER BY a.occurred_at ${ord}, a.id ${ord}` +
      (unlimited ? '' : ` LIMIT ${sh.limit + 1}`),
    params,
  };
}

// --- mutations of a cursor's text and bytes ---

function textMutation(r, s) {
  const cs = s.split('');
  const kind = r.pick(['char', 'foreign', 'truncate', 'extend', 'swap-alphabet', 'case', 'pad', 'random-51', 'random-46', 'random-any', 'empty', 'spaces', 'unicode', 'double']);
  switch (kind) {
    case 'char': { const i = r.int(0, cs.length - 1); cs[i] = B64URL[r.int(0, 63)]; return [kind, cs.join('')]; }
    case 'foreign': { const i = r.int(0, cs.length - 1); cs[i] = r.pick(['+', '/', '=', ' ', '.', '~', '%', '\t', 'é', '😀', '\\', "'"]); return [kind, cs.join('')]; }
    case 'truncate': return [kind, s.slice(0, r.int(0, s.length - 1))];
    case 'extend': return [kind, s + B64URL[r.int(0, 63)].repeat(r.int(1, 3))];
    case 'swap-alphabet': return [kind, s.replace(/-/g, '+').replace(/_/g, '/')];
    case 'case': return [kind, s.replace(/[a-zA-Z]/g, c => (r.bool() ? c.toUpperCase() : c.toLowerCase()))];
    case 'pad': return [kind, s + '=='];
    case 'random-51': case 'random-46': {
      const n = kind === 'random-51' ? 51 : 46;
      let t = ''; for (let i = 0; i < n; i++) t += B64URL[r.int(0, 63)];
      return [kind, t];
    }
    case 'random-any': {
      let t = ''; const n = r.pick([1, 4, 45, 47, 50, 52, 100, 1000]);
      for (let i = 0; i < n; i++) t += B64URL[r.int(0, 63)];
      return [kind, t];
    }
    case 'empty': return [kind, ''];
    case 'spaces': return [kind, ' ' + s + ' '];
    case 'unicode': { const i = r.int(0, cs.length - 1); cs[i] = 'é'; return [kind, cs.join('').slice(0, 51)]; }
    default: return [kind, s + s];
  }
}

const INT64_MIN = -(2n ** 63n), INT64_MAX = 2n ** 63n - 1n;
const TS_MIN = -211813488000000000n;          // 4714-11-24 BC, PostgreSQL's lowest timestamp
const TS_END = 9223371331200000000n;          // 294277-01-01, one past its highest

function forge(r, bytes) {
  // a cursor with any field changed and a correct checksum
  let b = Buffer.from(bytes);
  const what = [];
  if (r.chance(0.15)) {
    // format 1: 26 bytes of position, a 32-bit hash, the CRC
    const v1 = Buffer.alloc(34);
    b.copy(v1, 0, 0, 26);
    b.copy(v1, 26, 30, 34);          // low 32 bits of the 64-bit hash
    v1[0] = 1;
    b = v1;
    what.push('format 1');
  }
  if (r.chance(0.15)) { b[0] = r.pick([0, 1, 2, 3, 255]); what.push('version ' + b[0]); }
  if (r.chance(0.15)) { b[1] = r.pick([0, 1, 2, 3, 0x80, 0xff]); what.push('flags ' + b[1]); }
  if (r.chance(0.6)) {
    const cur = b.readBigInt64BE(2);
    const ts = r.pick([
      INT64_MIN, INT64_MAX, 0n, TS_MIN, TS_MIN - 1n, TS_END - 1n, TS_END, cur + 1n, cur - 1n,
      cur + 86400000000n * BigInt(r.int(-400, 400)), BigInt.asIntN(64, BigInt(r.u32()) << 32n | BigInt(r.u32())),
      BigInt(Date.parse(r.pick(TIMES)) - 946684800000) * 1000n,
    ]);
    b.writeBigInt64BE(BigInt.asIntN(64, ts), 2);
    what.push('occurred_at ' + ts);
  }
  if (r.chance(0.3)) { r.bytes(16).copy(b, 10); what.push('id'); }
  if (r.chance(0.1)) { r.bytes(b.length - 30).copy(b, 26); what.push('hash'); }
  return [what.join(', ') || 'unchanged', seal(b)];
}

function flipBits(r, bytes) {
  // 1 to 3 distinct bits, so the result always differs
  const b = Buffer.from(bytes);
  const bits = new Set();
  for (let i = r.int(1, 3); i > 0; i--) bits.add(r.int(0, b.length * 8 - 1));
  for (const k of bits) b[k >> 3] ^= 1 << (k & 7);
  return b;
}

class CursorFuzzer {
  constructor(ctx) {
    this.ctx = ctx;
    this.pool = [];
    this.stats = { cases: 0, accepted: 0, refused: 0, pages: 0, compared: 0, walks: 0 };
  }

  // valid cursors, each with the shape of the page it came from
  async collect(conn) {
    const r = new Rng(caseSeed(this.ctx.seed, STREAM, 0xfffffff));
    for (let i = 0; i < 60 && this.pool.length < 400; i++) {
      const sh = genShape(r);
      const { call, params } = pageCall(sh);
      const out = await conn.q(`SELECT cursor::text AS c FROM ${call}`, params);
      if (!out.ok) {
        if (out.kind !== 'sql' || !ALLOWED.has(out.code)) this.ctx.failure(out.kind === 'sql' ? 'unexpected' : out.kind, { fuzzer: 'cursors', what: 'collecting cursors', shape: sh, error: out });
        continue;
      }
      for (const row of out.rows) this.pool.push({ shape: sh, cursor: row.c });
    }
    if (!this.pool.length) throw new Error('activity.page() returned no cursor to mutate');
  }

  async expectClean(conn, where, sql, params) {
    const out = await conn.q(sql, params);
    if (out.ok) return out;
    if (out.kind === 'sql' && ALLOWED.has(out.code)) return out;
    this.ctx.failure(out.kind === 'sql' ? 'unexpected' : out.kind, { ...where, sql, error: out });
    return null;
  }

  // page(shape, after => cursor) must equal the reference query
  async comparePage(conn, where, sh, cursorText) {
    const { call, params } = pageCall(sh);
    params[1] = cursorText;
    const got = await this.expectClean(conn, where, `SELECT id::text AS id, has_more, cursor::text AS c FROM ${call}`, params);
    if (!got || !got.ok) return got;
    this.stats.pages++;
    const ref = referenceQuery(sh);
    ref.params[1] = cursorText;
    const want = await conn.q(ref.sql, ref.params);
    if (!want.ok) { this.ctx.failure(want.kind === 'sql' ? 'unexpected' : want.kind, { ...where, what: 'reference query', sql: ref.sql, error: want }); return got; }
    this.stats.compared++;
    const gotIds = got.rows.map(x => x.id), wantIds = want.rows.slice(0, sh.limit).map(x => x.id);
    const more = want.rows.length > sh.limit;
    if (gotIds.join() !== wantIds.join() || (got.rows.length && got.rows.some(x => x.has_more !== more))) {
      this.ctx.failure('disagreement', { ...where, what: 'page() differs from the same query in SQL', shape: sh, cursor: cursorText, page: gotIds, has_more: got.rows.map(x => x.has_more), reference: wantIds, reference_has_more: more });
    }
    return got;
  }

  async runCase(conn, index) {
    const { ctx } = this;
    const r = new Rng(caseSeed(ctx.seed, STREAM, index));
    const item = r.pick(this.pool);
    const where = { fuzzer: 'cursors', seed: ctx.seed, case: index, repro: ctx.repro('cursors', index) };
    const kind = r.weighted([[1, 'valid'], [1, 'other-shape'], [3, 'text'], [3, 'forged'], [1, 'bitflip'], [1, 'binary'], [1, 'random-bytes'], [0.3, 'walk']]);
    where.kind = kind;
    this.stats.cases++;
    if (kind === 'walk') return this.walk(conn, r, where);
    let text = item.cursor, bytes = null, sh = item.shape, note = '';
    if (kind === 'other-shape') sh = genShape(r);
    else if (kind === 'text') [note, text] = textMutation(r, item.cursor);
    else if (kind === 'forged') { [note, bytes] = forge(r, decode(item.cursor)); text = encode(bytes); }
    else if (kind === 'bitflip') { bytes = flipBits(r, decode(item.cursor)); text = encode(bytes); }
    else if (kind === 'binary') { [note, bytes] = r.bool() ? forge(r, decode(item.cursor)) : ['bitflip', flipBits(r, decode(item.cursor))]; }
    else if (kind === 'random-bytes') bytes = r.bytes(r.pick([0, 1, 33, 34, 35, 37, 38, 39, 64]));
    Object.assign(where, { note, cursor: text, bytes: bytes && bytes.toString('hex'), shape: sh });
    if (ctx.verbose) ctx.log(`cursors #${index}: ${kind} ${note} ${text || ''} ${bytes ? bytes.toString('hex') : ''}`);

    if (bytes) {
      // binary input (activity.cursor_recv), then binary output
      const out = await this.expectClean(conn, where, 'SELECT $1::activity.cursor::text AS t, activity.cursor_send($1::activity.cursor) AS b', [bytes]);
      if (out && out.ok) {
        if (out.rows[0].t !== encode(bytes) || !out.rows[0].b.equals(bytes)) ctx.failure('disagreement', { ...where, what: 'binary input and output of a cursor differ', got: out.rows[0] });
        if (kind === 'bitflip' || kind === 'random-bytes') ctx.failure('disagreement', { ...where, what: 'a corrupted cursor was accepted in binary input' });
      } else if (out && out.code !== '22P03') ctx.failure('unexpected', { ...where, what: 'binary input refused with a SQLSTATE other than 22P03', error: out });
      if (kind === 'binary' || kind === 'random-bytes') return;
    }

    // text input (activity.cursor_in)
    const inp = await this.expectClean(conn, where, 'SELECT $1::activity.cursor::text AS t', [text]);
    if (!inp) return;
    if (!inp.ok) {
      this.stats.refused++;
      if (inp.code !== '22P02') ctx.failure('unexpected', { ...where, what: 'text input refused with a SQLSTATE other than 22P02', error: inp });
      if (kind === 'valid' || kind === 'other-shape') ctx.failure('disagreement', { ...where, what: 'a cursor page() returned was refused', error: inp });
      return;
    }
    this.stats.accepted++;
    if (inp.rows[0].t !== text) ctx.failure('disagreement', { ...where, what: 'a cursor does not print as it was read', got: inp.rows[0].t });
    if ((kind === 'text' && text !== item.cursor) || kind === 'bitflip') {
      ctx.failure('disagreement', { ...where, what: 'a corrupted cursor was accepted' });
    }
    await this.expectClean(conn, where, 'SELECT format_version, direction, id, query_hash, occurred_at::text AS t FROM activity.cursor_info($1::activity.cursor)', [text]);
    await this.expectClean(conn, where, 'SELECT $1::activity.cursor OPERATOR(activity.=) $2::activity.cursor AS eq', [text, item.cursor]);
    // the page after it: the reference decides when page() accepts it
    await this.comparePage(conn, where, sh, text);
  }

  // page through a whole feed: every matching row exactly once, in order
  async walk(conn, r, where) {
    const sh = genShape(r);
    sh.limit = r.pick([1, 2, 3, 7, 20]);
    where.shape = sh;
    this.stats.walks++;
    const ref = referenceQuery(sh, true);
    const want = await conn.q(ref.sql, ref.params);
    if (!want.ok) return this.ctx.failure('unexpected', { ...where, what: 'reference query', error: want });
    const seen = [];
    let cursor = null;
    for (let pages = 0; pages < 60; pages++) {
      const got = await this.comparePage(conn, where, sh, cursor);
      if (!got || !got.ok || !got.rows.length) break;
      seen.push(...got.rows.map(x => x.id));
      cursor = got.rows[got.rows.length - 1].c;
      if (!got.rows[got.rows.length - 1].has_more) break;
    }
    const wantIds = want.rows.map(x => x.id);
    if (seen.length < 60 * sh.limit && seen.join() !== wantIds.join()) {
      this.ctx.failure('disagreement', { ...where, what: 'paging to the end does not return every matching row once, in order', got: seen.length, want: wantIds.length });
    }
  }

  async run(conn, range) {
    await this.collect(conn);
    for (let i = range.first; i < range.first + range.cases; i++) {
      if (Date.now() >= range.deadline || this.ctx.stopping) break;
      this.ctx.watchdog.inflight(0, i);
      await this.runCase(conn, i);
    }
  }

  summary() {
    const s = this.stats;
    return `${s.cases} cases (${this.pool.length} valid cursors mutated; ${s.accepted} accepted, ${s.refused} refused on input; ${s.pages} pages, ${s.compared} compared with SQL; ${s.walks} walks)`;
  }
}

module.exports = { CursorFuzzer, genEvents, genShape, pageCall, referenceQuery, crc32c, WORKSPACES, TYPES };
