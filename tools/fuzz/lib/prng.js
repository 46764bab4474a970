'use strict';
// A small seeded PRNG (mulberry32) and helpers. Every case gets its own
// generator, seeded from (run seed, fuzzer, case index), so one case can be
// replayed alone: `--seed S --only F --first K --cases 1`.

function fmix32(h) {
  h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function caseSeed(seed, stream, index) {
  let h = fmix32((seed >>> 0) ^ 0x9e3779b9);
  h = fmix32(h ^ Math.imul(stream + 1, 0x27d4eb2f));
  h = fmix32(h ^ (index >>> 0));
  h = fmix32(h ^ Math.floor(index / 4294967296));
  return h;
}

class Rng {
  constructor(seed) { this.s = seed >>> 0; }
  // mulberry32
  next() {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  u32() { return Math.floor(this.next() * 4294967296) >>> 0; }
  // integer in [lo, hi]
  int(lo, hi) { return lo + Math.floor(this.next() * (hi - lo + 1)); }
  chance(p) { return this.next() < p; }
  bool() { return this.next() < 0.5; }
  pick(a) { return a[Math.floor(this.next() * a.length)]; }
  // weighted pick: [[weight, value], ...]
  weighted(pairs) {
    let total = 0;
    for (const [w] of pairs) total += w;
    let x = this.next() * total;
    for (const [w, v] of pairs) { if ((x -= w) < 0) return v; }
    return pairs[pairs.length - 1][1];
  }
  // weighted pick whose values may be functions, called when picked
  thunk(pairs) {
    const v = this.weighted(pairs);
    return typeof v === 'function' ? v() : v;
  }
  shuffle(a) {
    const b = a.slice();
    for (let i = b.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [b[i], b[j]] = [b[j], b[i]];
    }
    return b;
  }
  subset(a, max) {
    const n = this.int(0, Math.min(max === undefined ? a.length : max, a.length));
    return this.shuffle(a).slice(0, n);
  }
  bytes(n) {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(0, 255);
    return b;
  }
}

module.exports = { Rng, caseSeed, fmix32 };
