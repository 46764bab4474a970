'use strict';
// Fuzzer 1: random schemas and documents; activity.is_valid() and
// activity.validation_errors() against Ajv (JSON Schema 2020-12) as the oracle.

const Ajv2020 = require('ajv/dist/2020').default;
const addFormats = require('ajv-formats').default;
const { fullFormats } = require('ajv-formats/dist/formats');
const { Validator: CfValidator } = require('@cfworker/json-schema');
const { Rng, caseSeed } = require('./prng');
const { SchemaGen, DocGen, mutate, serialize, genValue, strings } = require('./gen');

const STREAM = 1;
const SECOND = '@cfworker/json-schema';
const DOCS_PER_SCHEMA = 8;
const ASSERTED_FORMATS = ['date-time', 'date', 'time', 'uuid', 'email', 'uri', 'ipv4', 'ipv6'];

// The oracle: Ajv (allErrors, which avoids some of its bugs in the default
// mode). A disagreement with activity is checked again with a second,
// independent validator (@cfworker/json-schema): when that one sides with
// activity, Ajv stands alone and it is counted as an oracle inconsistency (a
// note), not a failure.
function newAjv(allErrors) {
  const ajv = new Ajv2020({ strict: false, allErrors, logger: false, ownProperties: true, validateFormats: true });
  addFormats(ajv, ASSERTED_FORMATS);
  return ajv;
}

function ajvFormat(f, s) {
  const def = fullFormats[f];
  if (!def) return null;
  if (def instanceof RegExp) return def.test(s);
  if (typeof def === 'function') return def(s);
  if (def.validate instanceof RegExp) return def.validate.test(s);
  return def.validate(s);
}

const SQL_BATCH = `
SELECT t.i::int AS i, activity.is_valid(t.d, x.s) AS v,
       (SELECT coalesce(array_agg(e.path), '{}') FROM activity.validation_errors(t.d, x.s) e) AS paths,
       x.rt
FROM (SELECT s, s::jsonb = $1::jsonb AS rt
      FROM (SELECT CASE WHEN $3 THEN $1::jsonb::activity.jsonschema ELSE $1::text::activity.jsonschema END AS s OFFSET 0) y
      OFFSET 0) x,
     jsonb_array_elements($2::jsonb) WITH ORDINALITY AS t(d, i)
ORDER BY t.i`;

// does a JSON pointer (RFC 6901) name a value in doc?
function pointerResolves(doc, ptr) {
  if (ptr === '') return true;
  if (ptr[0] !== '/') return false;
  let cur = doc;
  for (const raw of ptr.slice(1).split('/')) {
    const tok = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur)) {
      if (!/^(0|[1-9][0-9]*)$/.test(tok) || +tok >= cur.length) return false;
      cur = cur[+tok];
    } else if (cur !== null && typeof cur === 'object') {
      if (!Object.prototype.hasOwnProperty.call(cur, tok)) return false;
      cur = cur[tok];
    } else return false;
  }
  return true;
}

function hasBigNumber(v) {
  if (typeof v === 'number') return Math.abs(v) >= 2 ** 49;
  if (v && typeof v === 'object') return Object.values(v).some(hasBigNumber);
  return false;
}

function usedFormats(schemaText) {
  return ASSERTED_FORMATS.filter(f => schemaText.includes('"format":"' + f + '"'));
}

class SchemaFuzzer {
  constructor(ctx) {
    this.ctx = ctx;
    this.stats = { cases: 0, schemas: 0, refused: 0, oracleSkips: 0, ajvFailed: 0, oracleInconsistent: 0, floatPrecision: 0, formatEdge: 0, bounded: 0, valid: 0, invalid: 0 };
    this.formatCache = new Map();
  }

  // one schema and its documents; `conn` is this worker's connection
  async runCase(conn, ajv, index) {
    const { ctx } = this;
    const r = new Rng(caseSeed(ctx.seed, STREAM, index));
    const refuse = r.chance(0.04);
    const sg = new SchemaGen(r, { refuse });
    const schema = sg.root();
    const schemaText = serialize(r, schema);
    const schemaValue = JSON.parse(schemaText);
    const docs = [];
    const dg = new DocGen(r, schemaValue, sg.patterns);
    for (let j = 0; j < DOCS_PER_SCHEMA; j++) {
      let d;
      if (j < DOCS_PER_SCHEMA / 2) d = dg.gen(schemaValue, 0);
      else if (r.chance(0.1)) d = genValue(r, 0);
      else d = mutate(r, dg.gen(schemaValue, 0), r.int(1, 3));
      docs.push(serialize(r, d));
    }
    const viaJsonb = r.bool();
    const base = { fuzzer: 'schemas', seed: ctx.seed, case: index, schema: schemaText, repro: ctx.repro('schemas', index) };
    if (ctx.verbose) ctx.log(`schemas #${index}: ${schemaText}\n  docs: ${docs.join('\n        ')}`);

    // the oracle: Ajv, or the second validator alone where Ajv fails
    let validate = null;
    if (!refuse) {
      try {
        validate = ajv.compile(schemaValue);
        validate.oracle = 'Ajv';
      } catch (e) {
        validate = this.secondOracle(schemaValue);
        if (!validate) this.stats.oracleSkips++;
        else this.stats.ajvFailed++;
        ctx.note('oracle', { ...base, message: 'Ajv: ' + e.message, fallback: !!validate });
      }
      ajv.removeSchema();
    }
    this.stats.schemas++;

    const out = await conn.q(SQL_BATCH, [schemaText, '[' + docs.join(',') + ']', viaJsonb]);
    if (!out.ok) {
      if (out.kind !== 'sql') return this.ctx.failure(out.kind, { ...base, docs, error: out });
      if (out.code === '22P02' && /invalid JSON Schema/.test(out.message)) {
        if (refuse) { this.stats.refused++; this.stats.cases += docs.length; return; }
        return ctx.failure('disagreement', { ...base, what: 'schema refused at cast time but uses nothing documented as unsupported', error: out });
      }
      if (out.code === '54000' || out.code === '54001') {
        // a bound was reached on one of the documents: take them one by one
        return this.oneByOne(conn, validate, base, schemaText, docs, viaJsonb, r);
      }
      return ctx.failure('unexpected', { ...base, docs, error: out });
    }
    if (refuse) {
      return ctx.failure('disagreement', { ...base, what: `schema uses ${sg.refused}, which is documented as refused, but the cast accepted it` });
    }
    await this.compare(conn, validate, base, schemaText, docs, out.rows);
  }

  async oneByOne(conn, validate, base, schemaText, docs, viaJsonb) {
    for (let j = 0; j < docs.length; j++) {
      const out = await conn.q(SQL_BATCH, [schemaText, '[' + docs[j] + ']', viaJsonb]);
      if (!out.ok) {
        if (out.code === '54000' || out.code === '54001') { this.stats.bounded++; this.stats.cases++; continue; }
        if (out.kind !== 'sql') { this.ctx.failure(out.kind, { ...base, doc: docs[j], docIndex: j, error: out }); continue; }
        this.ctx.failure('unexpected', { ...base, doc: docs[j], docIndex: j, error: out });
        continue;
      }
      await this.compare(conn, validate, base, schemaText, [docs[j]], out.rows, j);
    }
  }

  // rows: one per document, row.i its 1-based position in docs; docs[0] is
  // document number indexBase of the case
  async compare(conn, validate, base, schemaText, docs, rows, indexBase) {
    const { ctx } = this;
    const schemaValue = JSON.parse(schemaText);
    for (const row of rows) {
      const docText = docs[row.i - 1];
      const docIndex = (indexBase || 0) + row.i - 1;
      const doc = JSON.parse(docText);
      this.stats.cases++;
      if (row.v) this.stats.valid++; else this.stats.invalid++;
      const where = { ...base, doc: docText, docIndex };
      if (!row.rt) ctx.failure('disagreement', { ...where, what: 'schema::jsonb differs from the schema cast' });
      if (row.v !== (row.paths.length === 0)) {
        ctx.failure('disagreement', { ...where, what: `is_valid() = ${row.v} but validation_errors() returned ${row.paths.length} rows`, paths: row.paths });
      }
      if (row.paths.length > 100) ctx.failure('disagreement', { ...where, what: `validation_errors() returned ${row.paths.length} rows, more than activity.max_validation_errors` });
      const bad = row.paths.filter(p => !pointerResolves(doc, p));
      if (bad.length) ctx.failure('disagreement', { ...where, what: 'validation_errors() path does not point into the document', paths: bad });
      if (!validate) continue;
      let expected, oracle = validate;
      try {
        expected = validate(doc);
      } catch (e) {
        oracle = validate.oracle === 'Ajv' && this.secondOracle(schemaValue);
        try { expected = oracle ? oracle(doc) : undefined; } catch (e2) { expected = undefined; }
        if (expected === undefined) this.stats.oracleSkips++;
        else this.stats.ajvFailed++;
        ctx.note('oracle', { ...where, message: 'Ajv: ' + e.message, fallback: expected !== undefined });
        if (expected === undefined) continue;
      }
      if (expected === row.v) continue;
      // a second oracle breaks the tie: when it sides with activity, Ajv is
      // alone (Ajv 8.20 has bugs with "contains" beside "prefixItems" or
      // below "items", "uniqueItems" beside "prefixItems", and "" in
      // "required"): a note, not a failure
      let second = null;
      if (oracle.oracle === 'Ajv') {
        try {
          second = this.secondOracle(schemaValue)(doc);
        } catch (e) { second = null; }
      }
      if (second === row.v) {
        this.stats.oracleInconsistent++;
        ctx.note('oracle-inconsistent', { ...where, ajv: expected, cfworker: second, activity: row.v });
        continue;
      }
      // Ajv divides in doubles: beyond 2^49 a quotient by 1.5 or 7 can round
      // to an integer (documented difference: jsonb numerics are exact)
      if (/"multipleOf"/.test(schemaText) && hasBigNumber(doc)) {
        this.stats.floatPrecision++;
        ctx.note('float-precision', { ...where, ajv: expected, activity: row.v });
        continue;
      }
      // a format edge case, where ajv-formats and activity may differ?
      const fmts = usedFormats(schemaText);
      if (fmts.length) {
        const diffs = await this.formatDifferences(conn, fmts, strings(doc));
        if (diffs.length) {
          this.stats.formatEdge++;
          ctx.note('format', { ...where, ajv: expected, activity: row.v, formatDifferences: diffs });
          continue;
        }
      }
      ctx.failure('disagreement', { ...where, what: `${oracle.oracle}${second === expected ? ' and ' + SECOND : ''} say${second === expected ? '' : 's'} ${expected ? 'valid' : 'invalid'}, activity.is_valid() says ${row.v}`, ajvErrors: oracle.errors, paths: row.paths });
    }
  }

  // the second validator, as a function of the document (null if it cannot
  // take the schema)
  secondOracle(schemaValue) {
    try {
      const v = new CfValidator(schemaValue, '2020-12', false);
      const f = (doc) => v.validate(doc).valid;
      f.oracle = SECOND;
      f.errors = null;
      return f;
    } catch (e) { return null; }
  }

  // strings on which the format checks of Ajv and activity differ
  async formatDifferences(conn, fmts, strs) {
    const diffs = [];
    for (const f of fmts) {
      for (const s of strs) {
        const key = f + '\u0001' + s;
        let mine = this.formatCache.get(key);
        if (mine === undefined) {
          const out = await conn.q(`SELECT activity.is_valid(to_jsonb($1::text), jsonb_build_object('format', $2::text)::activity.jsonschema) AS v`, [s, f]);
          if (!out.ok) continue;
          mine = out.rows[0].v;
          if (this.formatCache.size < 100000) this.formatCache.set(key, mine);
        }
        const theirs = ajvFormat(f, s);
        if (theirs !== null && theirs !== mine) diffs.push({ format: f, string: s, ajv: theirs, activity: mine });
      }
    }
    return diffs;
  }

  async run(conns, range) {
    const { ctx } = this;
    const jobs = conns.length;
    let next = range.first;
    const last = range.first + Math.ceil(range.cases / DOCS_PER_SCHEMA);   // exclusive
    const worker = async (conn, job) => {
      const ajv = newAjv(true);
      let n = 0;
      for (;;) {
        if (next >= last || Date.now() >= range.deadline || ctx.stopping) return;
        const index = next++;
        ctx.watchdog.inflight(job, index);
        if (ctx.trace) ctx.trace('start ' + index);
        await this.runCase(conn, ajv, index);
        if (ctx.trace) ctx.trace('end ' + index);
        if (++n % 20000 === 0) ajv.removeSchema();
      }
    };
    await Promise.all(conns.slice(0, jobs).map((c, job) => worker(c, job)));
    this.nextIndex = next;
  }

  summary() {
    const s = this.stats;
    return `${s.cases} cases (${s.schemas} schemas x ${DOCS_PER_SCHEMA} documents; ${s.valid} valid, ${s.invalid} invalid; ` +
      `${s.refused} schemas refused as documented, ${s.oracleSkips} oracle skips, ${s.ajvFailed} judged by ${SECOND} alone (Ajv failed), ${s.oracleInconsistent} where Ajv alone disagreed, ${s.floatPrecision} beyond double precision, ${s.formatEdge} format edge cases, ${s.bounded} bounded (54000))`;
  }
}

module.exports = { SchemaFuzzer, DOCS_PER_SCHEMA, pointerResolves };
