'use strict';
// Random JSON Schemas (restricted to what activity.jsonschema supports and to
// what ECMA-262 and PostgreSQL agree on), random documents meant to match
// them, and mutations of documents.
//
// Avoided on purpose (README "Deliberate differences", and the limits of a
// JavaScript oracle):
//  - regular expressions outside a small common subset of ECMA-262 and
//    PostgreSQL ARE (literals, ., classes of ASCII, \d, \w, groups,
//    alternation, anchors, *, +, ?, {m,n}, lazy forms); no back-references;
//  - strings holding NUL or a line terminator (\n, \r, U+2028, U+2029: "."
//    and "$" treat them differently), and lone surrogates;
//  - numbers beyond 2^53, and multipleOf values that binary floating point
//    cannot represent (0.1): jsonb numerics are exact decimals, JS uses doubles;
//  - format strings other than typical ones (a mutated document may still
//    hold an edge case: such a disagreement is classified, not counted);
//  (bugs of the oracle itself, Ajv 8.20, are not avoided: a second
//  validator breaks the tie, see schemas.js).

// property names: "/" and "~" exercise JSON pointer escaping in error paths
const NAMES = ['a', 'b', 'c', 'id', 'name', 'tags', 'x1', 'é', '日本', 'a/b', 'm~n', '', ' ', 'A', 'zz', '😀', 'n0', 'ab'];
const DEF_NAMES = ['d0', 'd1', 'd2', 'node', 'a/b', 'm~n', 'pct%x', 'x y'];
const CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.@ :/';
const UNICODE = ['é', 'ü', 'ß', '日', '本', '😀', '🎉', 'e\u0301', '\t', '\u0007', 'Ω', '\u00a0', '"', '\\', '\u{10FFFF}', '\uFEFF'];

const FORMATS = {
  'date-time': {
    ok: ['2021-03-04T05:06:07Z', '1999-12-31T23:59:59.999+01:00', '2020-02-29T00:00:00-05:30', '2024-06-15T12:00:00.5Z', '1970-01-01T00:00:00Z'],
    bad: ['2021-03-04', '2021-13-04T05:06:07Z', '2021-02-30T05:06:07Z', 'not-a-date', '2021-03-04T25:06:07Z', '2021-03-04T05:06:07', '', '2021-03-04T05:61:07Z'],
  },
  date: {
    ok: ['2021-03-04', '2020-02-29', '1970-01-01', '9999-12-31', '2000-02-29'],
    bad: ['2021-02-29', '2021-3-4', '2021/03/04', '20210304', '2021-00-10', 'abc', '2021-04-31', '1900-02-29'],
  },
  time: {
    ok: ['05:06:07Z', '23:59:59+02:00', '12:00:00.123Z', '00:00:00-08:00'],
    bad: ['25:00:00Z', '12:60:00Z', '12:00', 'noon', '12:00:61Z', '1:2:3Z'],
  },
  uuid: {
    ok: ['123e4567-e89b-12d3-a456-426614174000', '00000000-0000-0000-0000-000000000000', 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF', '01930000-0000-7000-8000-000000000003'],
    bad: ['123e4567-e89b-12d3-a456-42661417400', '123e4567e89b12d3a456426614174000', 'g23e4567-e89b-12d3-a456-426614174000', 'abc', '123e4567-e89b-12d3-a456-4266141740000'],
  },
  email: {
    ok: ['joe.bloggs@example.com', 'a@b.co', 'first.last+tag@sub.example.org', 'x_y-z@example-host.net'],
    bad: ['plainaddress', '@example.com', 'a@', 'a..b@example.com', 'a b@example.com', '.a@example.com', 'a.@example.com', 'a@@example.com'],
  },
  uri: {
    ok: ['http://example.com', 'https://example.com/a/b?c=d#e', 'urn:isbn:0451450523', 'mailto:joe@example.com', 'ftp://ftp.is.co.za/rfc/rfc1808.txt', 'http://[2001:db8::1]:8080/x'],
    bad: ['//example.com/path', '/abs/path', 'relative', 'http://exa mple.com', '\\\\WINDOWS\\share', ':no-scheme', '', 'http://<bad>/'],
  },
  ipv4: {
    ok: ['192.168.0.1', '0.0.0.0', '255.255.255.255', '10.1.2.3', '8.8.4.4'],
    bad: ['256.1.1.1', '1.2.3', '1.2.3.4.5', 'a.b.c.d', '1.2.3.4 ', '1..2.3', '-1.2.3.4'],
  },
  ipv6: {
    ok: ['::1', '2001:db8::1', 'fe80::1234:5678:abcd:ef01', '::', '1:2:3:4:5:6:7:8', '::ffff:192.168.1.1', '2001:DB8:0:0:8:800:200C:417A'],
    bad: ['12345::', '1:2:3:4:5:6:7:8:9', '::1::2', 'gggg::1', '1.2.3.4', ':1', '1:2:3'],
  },
};
const FORMAT_NAMES = Object.keys(FORMATS);

// multipleOf divisors: exact in binary floating point
const MULTIPLES = [1, 2, 3, 4, 5, 7, 10, 100, 0.5, 0.25, 0.125, 1.5, 2.5];

// --- values ---

function genNumber(r) {
  return r.weighted([
    [6, () => r.int(-10, 10)],
    [4, () => r.int(-1000, 1000)],
    [2, () => r.int(-1000000, 1000000) / 1000],
    [1, () => r.int(-100, 100) / 4],
    [1, () => r.pick([0, -1, 1, 2 ** 31 - 1, -(2 ** 31), 2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 40, 1e15, 0.5, 1e-6, 123456.789])],
  ])();
}

function genChar(r) {
  return r.chance(0.85) ? CHARS[r.int(0, CHARS.length - 1)] : r.pick(UNICODE);
}

function genString(r, maxLen) {
  const n = r.weighted([[3, 0], [10, r.int(1, 4)], [5, r.int(1, maxLen || 12)]]);
  let s = '';
  for (let i = 0; i < n; i++) s += genChar(r);
  return s;
}

function genValue(r, depth) {
  depth = depth || 0;
  const kinds = [[3, 'null'], [4, 'bool'], [8, 'number'], [8, 'string']];
  if (depth < 3) kinds.push([3, 'array'], [3, 'object']);
  switch (r.weighted(kinds)) {
    case 'null': return null;
    case 'bool': return r.bool();
    case 'number': return genNumber(r);
    case 'string': return r.chance(0.1) ? r.pick(r.pick(Object.values(FORMATS)).ok) : genString(r);
    case 'array': {
      const n = r.int(0, 4), a = [];
      for (let i = 0; i < n; i++) a.push(genValue(r, depth + 1));
      return a;
    }
    default: {
      const o = {};
      for (const k of r.subset(NAMES, 4)) o[k] = genValue(r, depth + 1);
      return o;
    }
  }
}

// --- regular expressions: an AST, its source, and strings matching it ---

const PAT_LITERALS = 'abcxyzAB019_-@ ';
const PAT_CLASSES = [
  { src: '[a-z]', chars: 'abcdefghijklmnopqrstuvwxyz' },
  { src: '[0-9]', chars: '0123456789' },
  { src: '[A-Z]', chars: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ' },
  { src: '[abc]', chars: 'abc' },
  { src: '[a-f0-9]', chars: 'abcdef0123456789' },
  { src: '[xyz_]', chars: 'xyz_' },
  { src: '[^a]', chars: 'bcXY9 é😀' },
  { src: '[^0-9]', chars: 'abZ_é' },
  { src: '\\d', chars: '0123456789' },
  { src: '\\w', chars: 'aZ09_' },
  { src: '\\.', chars: '.' },
  { src: '.', chars: 'aZ0 .é日😀\t' },
];

function genPatternAst(r, depth) {
  const alts = [];
  const nAlt = depth > 1 ? 1 : r.weighted([[6, 1], [2, 2], [1, 3]]);
  for (let a = 0; a < nAlt; a++) {
    const seq = [];
    const n = r.int(1, 4);
    for (let i = 0; i < n; i++) {
      let atom;
      const k = r.weighted([[5, 'lit'], [4, 'class'], [depth < 2 ? 1 : 0, 'group']]);
      if (k === 'lit') atom = { t: 'lit', c: PAT_LITERALS[r.int(0, PAT_LITERALS.length - 1)] };
      else if (k === 'class') atom = { t: 'class', cls: r.pick(PAT_CLASSES) };
      else atom = { t: 'group', capture: r.bool(), alt: genPatternAst(r, depth + 1) };
      let q = null;
      if (r.chance(0.4)) {
        q = r.pick([{ s: '*', min: 0, max: 3 }, { s: '+', min: 1, max: 3 }, { s: '?', min: 0, max: 1 }]);
        const m = r.int(0, 3), n2 = m + r.int(0, 3);
        if (r.chance(0.3)) q = r.pick([{ s: `{${m}}`, min: m, max: m }, { s: `{${m},}`, min: m, max: m + 2 }, { s: `{${m},${n2}}`, min: m, max: n2 }]);
        // no unbounded repetition of a group holding an alternation or a
        // quantifier ((a?[^0-9]+|B)*): JavaScript's backtracking engine (the
        // oracle's) takes exponential time on it; PostgreSQL's does not
        if (atom.t === 'group' && !simpleAlt(atom.alt) && (q.s === '*' || q.s === '+' || /,}$/.test(q.s) || q.max > 2)) {
          q = r.pick([{ s: '?', min: 0, max: 1 }, { s: '{2}', min: 2, max: 2 }, { s: '{1,2}', min: 1, max: 2 }]);
        }
        if (r.chance(0.15)) q = { ...q, s: q.s + '?' };
      }
      seq.push({ atom, q });
    }
    alts.push(seq);
  }
  return alts;
}

// one alternative of atoms without quantifiers: repeating it cannot backtrack
function simpleAlt(alts) {
  return alts.length === 1 && alts[0].every(({ atom, q }) => !q && (atom.t !== 'group' || simpleAlt(atom.alt)));
}

function patternSource(alts) {
  return alts.map(seq => seq.map(({ atom, q }) => {
    let s;
    if (atom.t === 'lit') s = atom.c;
    else if (atom.t === 'class') s = atom.cls.src;
    else s = (atom.capture ? '(' : '(?:') + patternSource(atom.alt) + ')';
    return s + (q ? q.s : '');
  }).join('')).join('|');
}

function patternSample(r, alts) {
  const seq = r.pick(alts);
  let out = '';
  for (const { atom, q } of seq) {
    const n = q ? r.int(q.min, q.max) : 1;
    for (let i = 0; i < n; i++) {
      if (atom.t === 'lit') out += atom.c;
      else if (atom.t === 'class') out += [...atom.cls.chars][r.int(0, [...atom.cls.chars].length - 1)];
      else out += patternSample(r, atom.alt);
    }
  }
  return out;
}

function genPattern(r) {
  const ast = genPatternAst(r, 0);
  const anchorStart = r.chance(0.4), anchorEnd = r.chance(0.4);
  let src = patternSource(ast);
  if (ast.length > 1 && (anchorStart || anchorEnd)) src = '(?:' + src + ')';
  src = (anchorStart ? '^' : '') + src + (anchorEnd ? '$' : '');
  return {
    src,
    sample(r2) {
      let s = patternSample(r2, ast);
      if (!anchorStart && r2.chance(0.3)) s = genString(r2, 3) + s;
      if (!anchorEnd && r2.chance(0.3)) s = s + genString(r2, 3);
      return s;
    },
  };
}

// --- schemas ---

function escapePointerToken(t) {
  return t.replace(/~/g, '~0').replace(/\//g, '~1');
}
function fragmentToken(t) {
  // a JSON pointer in a URI fragment: escape, then percent-encode (UTF-8)
  // every character RFC 3986 does not allow in a fragment
  const ok = /[A-Za-z0-9\-._~!$&'()*+,;=:@/?]/;
  let out = '';
  for (const ch of escapePointerToken(t)) {
    if (ok.test(ch)) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

class SchemaGen {
  constructor(r, opts) {
    this.r = r;
    this.opts = opts || {};
    this.patterns = new Map();     // source -> generator
    this.nodes = 0;
    this.maxNodes = this.opts.maxNodes || 40;
    this.defs = [];                // [{name, pointer}]
    this.refused = null;           // the unsupported feature injected, if any
  }

  // the root schema
  root() {
    const r = this.r;
    if (!this.opts.refuse && r.chance(0.03)) return r.bool();
    const defs = {};
    const nDefs = r.weighted([[6, 0], [3, r.int(1, 2)], [1, 3]]);
    const names = r.shuffle(DEF_NAMES).slice(0, nDefs);
    for (let i = 0; i < names.length; i++) {
      // a definition may refer, at its own level, only to earlier ones; any
      // reference below a property or an item is safe (it consumes depth)
      this.currentDef = i;
      defs[names[i]] = this.schema(2, false);
      this.defs.push({ name: names[i], pointer: '#/$defs/' + fragmentToken(names[i]), index: i });
    }
    this.currentDef = names.length;
    let s = this.schema(0, false);
    if (typeof s === 'boolean') s = s ? {} : { not: {} };
    if (nDefs) s.$defs = defs;
    if (r.chance(0.15)) this.addPointerRef(s);
    if (r.chance(0.1)) s.$schema = 'https://json-schema.org/draft/2020-12/schema';
    if (r.chance(0.05)) s.$id = 'https://example.com/schemas/' + r.int(1, 99) + '.json';
    if (this.opts.refuse) this.injectRefused(s);
    return s;
  }

  // one subschema; `descended` says whether it applies to a value nested in
  // the one its parent applies to (so a $ref cycle through it ends)
  schema(depth, descended) {
    const r = this.r;
    this.nodes++;
    if (r.chance(0.04)) return r.chance(0.8);
    const s = {};
    const budget = depth < 4 && this.nodes < this.maxNodes;
    const kind = r.weighted([
      [5, 'object'], [3, 'array'], [5, 'string'], [4, 'number'], [2, 'integer'], [1, 'boolean'], [1, 'null'],
      [2, 'any'], [budget ? 3 : 0, 'combo'], [this.defs.length || descended ? 2 : 0, 'ref'], [1, 'const'], [2, 'enum'],
    ]);
    const T = ['object', 'array', 'string', 'number', 'integer', 'boolean', 'null'];
    if (T.includes(kind) && r.chance(0.85)) {
      if (r.chance(0.15)) {
        const extra = r.subset(T, 2);
        s.type = [...new Set([kind, ...extra])];
      } else s.type = kind;
    }
    const want = (k) => kind === k || r.chance(0.04);
    if (want('object') && budget) this.objectKeywords(s, depth);
    if (want('array') && budget) this.arrayKeywords(s, depth);
    if (want('string')) this.stringKeywords(s);
    if (want('number') || want('integer')) this.numberKeywords(s);
    if (kind === 'combo') this.comboKeywords(s, depth, descended);
    if (kind === 'ref') {
      const ok = this.defs.filter(d => descended || d.index < this.currentDef);
      if (descended && r.chance(0.25)) s.$ref = '#';
      else if (ok.length) s.$ref = r.pick(ok).pointer;
      else if (descended) s.$ref = '#';
      if (s.$ref && r.chance(0.2)) this.stringKeywords(s);   // siblings of $ref apply too
    }
    if (kind === 'const') s.const = genValue(this.r, 1);
    if (kind === 'enum') {
      const n = r.int(1, 4), e = [];
      for (let i = 0; i < n; i++) e.push(genValue(this.r, 2));
      s.enum = e;
    }
    if (r.chance(0.08)) this.annotations(s);
    return s;
  }

  annotations(s) {
    const r = this.r;
    const k = r.pick(['title', 'description', 'default', 'examples', '$comment', 'deprecated', 'readOnly', 'writeOnly']);
    if (k === 'default') s.default = genValue(r, 2);
    else if (k === 'examples') s.examples = [genValue(r, 2)];
    else if (['deprecated', 'readOnly', 'writeOnly'].includes(k)) s[k] = r.bool();
    else s[k] = genString(r, 10);
  }

  pattern() {
    const p = genPattern(this.r);
    this.patterns.set(p.src, p);
    return p.src;
  }

  objectKeywords(s, depth) {
    const r = this.r;
    if (r.chance(0.8)) {
      s.properties = {};
      for (const k of r.subset(NAMES, 4)) s.properties[k] = this.schema(depth + 1, true);
    }
    if (r.chance(0.5)) {
      const pool = Object.keys(s.properties || {}).concat(r.subset(NAMES, 1));
      s.required = [...new Set(r.subset(pool, 3))];
    }
    if (r.chance(0.3)) s.additionalProperties = r.chance(0.5) ? r.chance(0.7) ? false : true : this.schema(depth + 1, true);
    if (r.chance(0.12)) {
      s.patternProperties = {};
      for (let i = r.int(1, 2); i > 0; i--) s.patternProperties[this.pattern()] = this.schema(depth + 1, true);
    }
    if (r.chance(0.1)) {
      s.propertyNames = r.pick([
        () => ({ pattern: this.pattern() }),
        () => ({ maxLength: r.int(0, 3) }),
        () => ({ minLength: r.int(1, 2) }),
        () => ({ enum: [r.pick(NAMES)].concat(r.subset(NAMES, 4)) }),
        () => ({ not: { const: r.pick(NAMES) } }),
        () => ({ type: 'string', format: 'email' }),
      ])();
    }
    if (r.chance(0.12)) s.minProperties = r.int(0, 3);
    if (r.chance(0.12)) s.maxProperties = r.int(0, 4);
    if (r.chance(0.08)) {
      s.dependentRequired = {};
      for (const k of r.subset(NAMES, 2)) s.dependentRequired[k] = r.subset(NAMES, 2);
    }
    if (r.chance(0.06)) {
      s.dependentSchemas = {};
      for (const k of r.subset(NAMES, 2)) s.dependentSchemas[k] = this.schema(depth + 1, false);
    }
  }

  arrayKeywords(s, depth) {
    const r = this.r;
    if (r.chance(0.25)) {
      s.prefixItems = [];
      for (let i = r.int(1, 3); i > 0; i--) s.prefixItems.push(this.schema(depth + 1, true));
    }
    if (r.chance(0.55)) s.items = r.chance(0.1) ? r.bool() : this.schema(depth + 1, true);
    if (r.chance(0.15)) {
      s.contains = this.schema(depth + 1, true);
      if (r.chance(0.4)) s.minContains = r.int(0, 2);
      if (r.chance(0.4)) s.maxContains = r.int(0, 3);
    }
    if (r.chance(0.2)) s.minItems = r.int(0, 3);
    if (r.chance(0.2)) s.maxItems = r.int(0, 5);
    if (r.chance(0.2)) s.uniqueItems = r.chance(0.8);
  }

  stringKeywords(s) {
    const r = this.r;
    if (r.chance(0.3)) s.minLength = r.int(0, 4);
    if (r.chance(0.3)) s.maxLength = r.int(0, 8);
    if (r.chance(0.3)) s.pattern = this.pattern();
    if (r.chance(0.15)) s.format = r.pick(FORMAT_NAMES);
  }

  numberKeywords(s) {
    const r = this.r;
    const bound = () => r.weighted([[5, r.int(-20, 20)], [2, r.int(-2000, 2000) / 4], [1, r.int(-10000, 10000) / 1000], [1, r.pick([2 ** 53 - 1, -(2 ** 53 - 1), 0])]]);
    if (r.chance(0.3)) s.minimum = bound();
    if (r.chance(0.3)) s.maximum = bound();
    if (r.chance(0.15)) s.exclusiveMinimum = bound();
    if (r.chance(0.15)) s.exclusiveMaximum = bound();
    if (r.chance(0.2)) s.multipleOf = r.pick(MULTIPLES);
  }

  comboKeywords(s, depth, descended) {
    const r = this.r;
    const k = r.pick(['allOf', 'anyOf', 'oneOf', 'not', 'if', 'mix']);
    const list = () => { const a = []; for (let i = r.int(1, 3); i > 0; i--) a.push(this.schema(depth + 1, descended)); return a; };
    if (k === 'allOf' || k === 'anyOf' || k === 'oneOf') s[k] = list();
    else if (k === 'not') s.not = this.schema(depth + 1, descended);
    else if (k === 'if') {
      s.if = this.schema(depth + 1, descended);
      if (r.chance(0.8)) s.then = this.schema(depth + 1, descended);
      if (r.chance(0.6)) s.else = this.schema(depth + 1, descended);
    } else {
      s.anyOf = list();
      s.not = this.schema(depth + 1, descended);
    }
  }

  // one $ref to any subschema by its JSON pointer ("#/properties/a/items"),
  // from a new leaf below a property or an item of another subschema. Any
  // cycle it closes consumes a level of the document: the target may hold the
  // leaf only below a keyword that descends into the value.
  addPointerRef(root) {
    const r = this.r;
    const subs = [];   // {ptr, node, steps: [{key, descends}]}
    const DESC = new Set(['properties', 'patternProperties', 'additionalProperties', 'items', 'prefixItems', 'contains']);
    const walk = (x, ptr, steps) => {
      if (!x || typeof x !== 'object' || Array.isArray(x) || subs.length > 200) return;
      subs.push({ ptr, node: x, steps });
      const go = (key, sub, tok, descends) => walk(sub, ptr + '/' + tok, steps.concat([{ key, descends }]));
      for (const k of ['properties', 'patternProperties', '$defs', 'dependentSchemas']) {
        if (x[k] && typeof x[k] === 'object') for (const [n, v] of Object.entries(x[k])) go(k, v, k + '/' + fragmentToken(n), DESC.has(k));
      }
      for (const k of ['items', 'contains', 'not', 'if', 'then', 'else', 'additionalProperties']) go(k, x[k], k, DESC.has(k));
      for (const k of ['allOf', 'anyOf', 'oneOf', 'prefixItems']) if (Array.isArray(x[k])) x[k].forEach((v, i) => go(k, v, k + '/' + i, DESC.has(k)));
    };
    walk(root, '#', []);
    // the leaf: a new property (or items) of some object subschema
    const hosts = subs.filter(h => !h.node.$ref);
    if (!hosts.length || subs.length < 2) return;
    const host = r.pick(hosts);
    const target = r.pick(subs);
    // the leaf is new and only its parent's "properties" or "items" leads
    // to it, so a path back to it from the target descends
    const leaf = { $ref: target.ptr };
    const props = host.node.properties && typeof host.node.properties === 'object' ? host.node.properties : null;
    const free = NAMES.filter(n => !props || !(n in props));
    if (host.node.items === undefined && !host.node.prefixItems && (r.bool() || !free.length)) host.node.items = leaf;
    else if (free.length) {
      host.node.properties = props || {};
      host.node.properties[r.pick(free)] = leaf;
    }
  }

  // make the schema use one thing activity.jsonschema refuses (documented)
  injectRefused(s) {
    const r = this.r;
    const target = this.randomSubschemaObject(s) || s;
    const choice = r.pick([
      ['unevaluatedProperties', () => { target.unevaluatedProperties = false; }],
      ['unevaluatedItems', () => { target.unevaluatedItems = false; }],
      ['$anchor', () => { target.$anchor = 'here'; }],
      ['$dynamicRef', () => { target.$dynamicRef = '#meta'; }],
      ['$dynamicAnchor', () => { target.$dynamicAnchor = 'meta'; }],
      ['$id below the root', () => { s.$defs = { ...(s.$defs || {}), sub: { $id: 'https://example.com/sub.json', type: 'string' } }; }],
      ['remote $ref', () => { target.$ref = 'https://example.com/other.json'; }],
      ['relative remote $ref', () => { target.$ref = 'other.json#/$defs/x'; }],
      ['contentMediaType', () => { target.contentMediaType = 'application/json'; }],
      ['contentEncoding', () => { target.contentEncoding = 'base64'; }],
      ['contentSchema', () => { target.contentMediaType = 'application/json'; target.contentSchema = { type: 'object' }; }],
      ['unsupported format', () => { target.format = r.pick(['hostname', 'idn-email', 'duration', 'regex', 'uri-reference', 'json-pointer', 'iri']); }],
      ['back-reference', () => { target.pattern = r.pick(['(a+)\\1', '^(x)\\1$', '(ab|cd)\\1']); }],
      ['other dialect', () => { s.$schema = r.pick(['http://json-schema.org/draft-07/schema#', 'https://json-schema.org/draft/2019-09/schema']); }],
      ['unknown keyword', () => { target[r.pick(['foo', 'minimun', 'requires', 'x-custom'])] = 1; }],
      ['unresolvable $ref', () => { target.$ref = '#/$defs/missing' + r.int(0, 9); }],
    ]);
    choice[1]();
    this.refused = choice[0];
  }

  randomSubschemaObject(s) {
    const all = [];
    const walk = (x, depth) => {
      if (!x || typeof x !== 'object' || Array.isArray(x) || depth > 6) return;
      all.push(x);
      for (const k of ['properties', 'patternProperties', '$defs', 'dependentSchemas']) {
        if (x[k] && typeof x[k] === 'object') for (const v of Object.values(x[k])) walk(v, depth + 1);
      }
      for (const k of ['items', 'contains', 'not', 'if', 'then', 'else', 'additionalProperties', 'propertyNames']) walk(x[k], depth + 1);
      for (const k of ['allOf', 'anyOf', 'oneOf', 'prefixItems']) if (Array.isArray(x[k])) x[k].forEach(v => walk(v, depth + 1));
    };
    walk(s, 0);
    return all.length ? this.r.pick(all) : null;
  }
}

// --- documents meant to match a schema ---

function resolvePointer(root, ref) {
  if (ref === '#') return root;
  if (!ref.startsWith('#/')) return undefined;
  let cur = root;
  for (const raw of ref.slice(2).split('/')) {
    const tok = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur === null || typeof cur !== 'object' || !(tok in cur)) return undefined;
    cur = cur[tok];
  }
  return cur;
}

class DocGen {
  constructor(r, root, patterns) {
    this.r = r;
    this.root = root;
    this.patterns = patterns;
    this.steps = 0;
  }

  gen(s, depth) {
    const r = this.r;
    if (++this.steps > 400 || depth > 6) return genValue(r, 3);
    if (s === true || s === undefined) return genValue(r, depth > 2 ? 3 : 1);
    if (s === false || s === null || typeof s !== 'object') return genValue(r, 2);
    if ('const' in s && r.chance(0.9)) return s.const;
    if (Array.isArray(s.enum) && s.enum.length && r.chance(0.9)) return r.pick(s.enum);
    if (s.$ref && r.chance(0.8)) {
      const t = resolvePointer(this.root, s.$ref);
      if (t !== undefined) return this.gen(t, depth + 1);
    }
    if (Array.isArray(s.allOf) && s.allOf.length && r.chance(0.5)) return this.gen(r.pick(s.allOf), depth + 1);
    if (Array.isArray(s.anyOf) && s.anyOf.length && r.chance(0.7)) return this.gen(r.pick(s.anyOf), depth + 1);
    if (Array.isArray(s.oneOf) && s.oneOf.length && r.chance(0.7)) return this.gen(r.pick(s.oneOf), depth + 1);
    if (s.if !== undefined && r.chance(0.5)) return this.gen(r.bool() ? s.then : s.else, depth + 1);
    let type = s.type;
    if (Array.isArray(type)) type = type.length ? r.pick(type) : undefined;
    if (!type) {
      if (s.properties || s.required || s.additionalProperties !== undefined || s.patternProperties) type = 'object';
      else if (s.items !== undefined || s.prefixItems || s.contains !== undefined) type = 'array';
      else if (s.minLength !== undefined || s.maxLength !== undefined || s.pattern || s.format) type = 'string';
      else if (s.minimum !== undefined || s.maximum !== undefined || s.multipleOf !== undefined) type = 'number';
      else return genValue(r, 1);
    }
    switch (type) {
      case 'null': return null;
      case 'boolean': return r.bool();
      case 'integer':
      case 'number': return this.number(s, type === 'integer');
      case 'string': return this.string(s);
      case 'array': return this.array(s, depth);
      default: return this.object(s, depth);
    }
  }

  number(s, integer) {
    const r = this.r;
    let lo = -50, hi = 50;
    if (typeof s.minimum === 'number') lo = s.minimum;
    if (typeof s.exclusiveMinimum === 'number') lo = Math.max(lo, s.exclusiveMinimum + 1);
    if (typeof s.maximum === 'number') hi = s.maximum;
    if (typeof s.exclusiveMaximum === 'number') hi = Math.min(hi, s.exclusiveMaximum - 1);
    if (lo > hi) hi = lo + 10;
    if (hi - lo > 1e6) hi = lo + 1e6;
    const MAX = 2 ** 53 - 1;
    hi = Math.min(hi, MAX); lo = Math.max(Math.min(lo, hi), -MAX);
    if (typeof s.multipleOf === 'number') {
      const m = s.multipleOf;
      const k = r.int(Math.ceil(lo / m), Math.max(Math.ceil(lo / m), Math.floor(hi / m)));
      return Math.max(-MAX, Math.min(MAX, k * m));
    }
    if (integer || r.chance(0.6)) return r.int(Math.ceil(lo), Math.max(Math.ceil(lo), Math.floor(hi)));
    return Math.round((lo + r.next() * (hi - lo)) * 1000) / 1000;
  }

  string(s) {
    const r = this.r;
    if (s.format && FORMATS[s.format] && r.chance(0.85)) return r.pick(r.chance(0.8) ? FORMATS[s.format].ok : FORMATS[s.format].bad);
    let out;
    const p = s.pattern && this.patterns.get(s.pattern);
    if (p && r.chance(0.85)) out = p.sample(r);
    else out = genString(r, 10);
    const cps = [...out];
    if (typeof s.maxLength === 'number' && cps.length > s.maxLength && r.chance(0.7)) out = cps.slice(0, s.maxLength).join('');
    if (typeof s.minLength === 'number' && [...out].length < s.minLength && r.chance(0.7)) {
      while ([...out].length < s.minLength) out += genChar(r);
    }
    return out;
  }

  array(s, depth) {
    const r = this.r;
    const a = [];
    const prefix = Array.isArray(s.prefixItems) ? s.prefixItems : [];
    let n = r.int(0, 4);
    if (typeof s.minItems === 'number') n = Math.max(n, s.minItems);
    if (typeof s.maxItems === 'number' && r.chance(0.8)) n = Math.min(n, s.maxItems);
    for (let i = 0; i < n; i++) {
      if (i < prefix.length) a.push(this.gen(prefix[i], depth + 1));
      else if (s.items === false) break;
      else a.push(this.gen(s.items === undefined ? true : s.items, depth + 1));
    }
    if (s.contains !== undefined && r.chance(0.7)) {
      const k = Math.max(1, typeof s.minContains === 'number' ? s.minContains : 1);
      for (let i = 0; i < k; i++) a.push(this.gen(s.contains, depth + 1));
    }
    if (s.uniqueItems === true && r.chance(0.8)) {
      const seen = new Set();
      return a.filter(x => { const k = canonical(x); if (seen.has(k)) return false; seen.add(k); return true; });
    }
    return a;
  }

  object(s, depth) {
    const r = this.r;
    const o = {};
    const props = s.properties && typeof s.properties === 'object' ? s.properties : {};
    const required = Array.isArray(s.required) ? s.required : [];
    for (const k of required) if (r.chance(0.9)) o[k] = this.gen(props[k], depth + 1);
    for (const k of Object.keys(props)) if (!(k in o) && r.chance(0.5)) o[k] = this.gen(props[k], depth + 1);
    if (s.patternProperties && r.chance(0.5)) {
      for (const [src, sub] of Object.entries(s.patternProperties)) {
        const p = this.patterns.get(src);
        if (p) o[p.sample(r)] = this.gen(sub, depth + 1);
      }
    }
    if (s.additionalProperties !== false && r.chance(0.3)) {
      const k = r.pick(NAMES);
      if (!(k in o)) o[k] = this.gen(s.additionalProperties === undefined ? true : s.additionalProperties, depth + 1);
    }
    if (s.dependentRequired && r.chance(0.7)) {
      for (const [k, deps] of Object.entries(s.dependentRequired)) if (k in o && Array.isArray(deps)) for (const d of deps) if (!(d in o)) o[d] = genValue(r, 2);
    }
    if (typeof s.maxProperties === 'number' && r.chance(0.7)) {
      const keys = Object.keys(o);
      for (let i = keys.length - 1; i >= s.maxProperties; i--) delete o[keys[i]];
    }
    if (typeof s.minProperties === 'number' && r.chance(0.7)) {
      let guard = 0;
      while (Object.keys(o).length < s.minProperties && guard++ < 10) o[r.pick(NAMES)] = genValue(r, 2);
    }
    return o;
  }
}

// JSON Schema equality key: numbers by value, objects order-insensitive
function canonical(x) {
  if (x === null || typeof x !== 'object') return JSON.stringify(x);
  if (Array.isArray(x)) return '[' + x.map(canonical).join(',') + ']';
  return '{' + Object.keys(x).sort().map(k => JSON.stringify(k) + ':' + canonical(x[k])).join(',') + '}';
}

// --- mutations ---

function clone(x) { return x === undefined ? undefined : JSON.parse(JSON.stringify(x)); }

function mutate(r, doc, n) {
  let d = clone(doc);
  for (let i = 0; i < n; i++) d = mutateOnce(r, d, 0);
  return d;
}

function mutateOnce(r, v, depth) {
  // descend into a random child, or change this value
  if (v !== null && typeof v === 'object' && depth < 8 && r.chance(0.6)) {
    if (Array.isArray(v) && v.length) {
      const i = r.int(0, v.length - 1);
      v[i] = mutateOnce(r, v[i], depth + 1);
      return v;
    }
    const keys = Object.keys(v);
    if (!Array.isArray(v) && keys.length) {
      const k = r.pick(keys);
      v[k] = mutateOnce(r, v[k], depth + 1);
      return v;
    }
  }
  if (Array.isArray(v)) {
    return r.pick([
      () => { v.push(v.length && r.bool() ? clone(r.pick(v)) : genValue(r, 2)); return v; },
      () => { v.pop(); return v; },
      () => { v.shift(); return v; },
      () => { if (v.length) v.push(clone(v[0])); return v; },
      () => genValue(r, 2),
      () => ({}),
    ])();
  }
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v);
    return r.pick([
      () => { if (keys.length) delete v[r.pick(keys)]; return v; },
      () => { v[r.pick(NAMES)] = genValue(r, 2); return v; },
      () => { if (keys.length) { const k = r.pick(keys); const val = v[k]; delete v[k]; v[r.pick(NAMES)] = val; } return v; },
      () => genValue(r, 2),
      () => [],
    ])();
  }
  if (typeof v === 'number') {
    const w = r.pick([
      () => v + 1, () => v - 1, () => -v, () => v * 2, () => v + 0.5, () => Math.trunc(v / 2),
      () => String(v), () => genNumber(r), () => null,
    ])();
    // stay within what a double and a jsonb numeric hold alike
    return typeof w === 'number' && !(Number.isFinite(w) && Math.abs(w) <= 2 ** 53 - 1) ? v : w;
  }
  if (typeof v === 'string') {
    const cps = [...v];
    return r.pick([
      () => v + genChar(r),
      () => cps.slice(1).join(''),
      () => cps.slice(0, -1).join(''),
      () => { if (!cps.length) return 'x'; cps[r.int(0, cps.length - 1)] = genChar(r); return cps.join(''); },
      () => v.toUpperCase(),
      () => (cps.length <= 16 ? v + v : v),
      () => '',
      () => genString(r, 6),
      () => (Number.isFinite(+v) && v.trim() !== '' && Math.abs(+v) <= 2 ** 53 - 1 && String(+v).length < 12 ? +v : 1),
      () => [v],
    ])();
  }
  return genValue(r, 2);
}

// --- serialization: JSON text, sometimes writing integers as 1.0 or 1e0 ---

function serialize(r, v) {
  if (v === null || typeof v === 'boolean') return JSON.stringify(v);
  if (typeof v === 'number') {
    if (Number.isInteger(v) && Math.abs(v) < 1e15 && r && r.chance(0.05)) return r.bool() ? v + '.0' : (v === 0 ? '0e5' : v + 'e0');
    return JSON.stringify(v);
  }
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return '[' + v.map(x => serialize(r, x)).join(',') + ']';
  return '{' + Object.keys(v).map(k => JSON.stringify(k) + ':' + serialize(r, v[k])).join(',') + '}';
}

// every string (values and property names) in a value, for triage
function strings(v, out) {
  out = out || new Set();
  if (typeof v === 'string') out.add(v);
  else if (Array.isArray(v)) v.forEach(x => strings(x, out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) { out.add(k); strings(x, out); }
  return out;
}

module.exports = {
  SchemaGen, DocGen, mutate, serialize, genValue, genString, genNumber, genPattern, strings,
  canonical, resolvePointer, FORMATS, NAMES, escapePointerToken,
};
