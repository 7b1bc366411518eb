import { describe, expect, it } from 'vitest';
import {
  compareRecords, firstCursor, hasMore, loadMore, mapLimit, mergeMore, mergeRows, parseNext, planMore, recordId,
  type Bounds, type Cursor, type FetchOne, type MoreRequest,
} from './paging';
import type { KRecord, Scope } from './types';

function rec(partition: number, offset: number, ts: number, text = `v${partition}-${offset}`): KRecord {
  const b64 = btoa(text);
  return {
    partition, offset, timestamp_ms: ts, timestamp_type: 'CreateTime', headers: [], key: null,
    value: { size: text.length, base64: b64, decoded: text },
  };
}

// ---- A stand-in for the studio's browse (crates/studio/src/commands.rs `browse_blocking`) ----

interface FakeTopic {
  [partition: number]: { low: number; high: number; records: KRecord[] };
}

interface BrowseQ {
  scope: Scope;
  offset?: number;
  partitions?: number[];
  limit: number;
  filter?: string;
}

function browse(topic: FakeTopic, q: BrowseQ) {
  const selected = q.partitions ?? Object.keys(topic).map(Number);
  const next: Record<string, number> = {};
  const kept: KRecord[] = [];
  const lastScanned = new Map<number, number>();
  let scanned = 0;
  const ranges = new Map<number, [number, number]>();
  for (const p of selected) {
    const { low, high } = topic[p];
    let start: number;
    if (q.scope === 'newest') start = Math.max(high - q.limit, low);
    else if (q.scope === 'oldest') start = low;
    else start = Math.min(Math.max(q.offset ?? low, low), high);
    ranges.set(p, [start, high]);
    next[p] = start;
    let count = 0;
    for (const r of topic[p].records) {
      if (r.offset < start || r.offset >= high) continue;
      scanned++;
      lastScanned.set(p, r.offset);
      if (!q.filter || String(r.value?.decoded).includes(q.filter)) {
        kept.push(r);
        count++;
        if (q.scope !== 'newest' && count >= q.limit) break;
      }
    }
  }
  kept.sort(compareRecords);
  let messages = kept;
  if (q.scope === 'newest') {
    messages = kept.slice(Math.max(0, kept.length - q.limit));
    for (const [p, [, end]] of ranges) next[p] = end;
  } else {
    const cut = kept.length > q.limit;
    messages = kept.slice(0, q.limit);
    for (const [p, [start]] of ranges) {
      if (cut) {
        const mine = messages.filter((m) => m.partition === p).map((m) => m.offset + 1);
        next[p] = mine.length ? Math.max(...mine) : start;
      } else next[p] = lastScanned.has(p) ? lastScanned.get(p)! + 1 : start;
    }
  }
  return { messages, next, scanned, matched: kept.length };
}

function boundsOf(topic: FakeTopic): Bounds {
  const b: Bounds = {};
  for (const [p, v] of Object.entries(topic)) b[Number(p)] = { low: v.low, high: v.high };
  return b;
}

/** A topic with `counts[p]` records per partition, timestamps interleaved across partitions (optionally jittered). */
function makeTopic(counts: number[], { low = [] as number[], gapsEvery = 0, jitter = 0, seed = 7 } = {}): FakeTopic {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const t: FakeTopic = {};
  counts.forEach((n, p) => {
    const records: KRecord[] = [];
    let offset = low[p] ?? 0;
    for (let i = 0; i < n; i++) {
      if (gapsEvery && i % gapsEvery === gapsEvery - 1) offset += 2; // compacted-away offsets
      const ts = 1_000_000 + i * 10 + p * 3 + Math.floor(jitter ? rand() * jitter : 0);
      records.push(rec(p, offset, ts, `${i % 3 === 0 ? 'match' : 'other'}-${p}-${offset}`));
      offset++;
    }
    t[p] = { low: low[p] ?? 0, high: offset, records };
  });
  return t;
}

const fetchFrom = (topic: FakeTopic, filter?: string): FetchOne => async (request: MoreRequest, limit: number) =>
  browse(topic, { scope: 'offset', offset: request.offset, partitions: [request.partition], limit, filter });

/** Loads a first page and then "more" until there is none; checks the invariants after every page. */
async function drain(topic: FakeTopic, scope: Scope, limit: number, filter?: string, room = 100_000, start: Cursor | null = null) {
  const first = start ? { messages: [], next: {} } : browse(topic, { scope, limit, filter });
  let rows = first.messages.slice().sort(compareRecords);
  let cursor: Cursor = start ?? firstCursor(scope, first, limit);
  const bounds = boundsOf(topic);
  const pages: number[] = [rows.length];
  for (let guard = 0; hasMore(cursor, bounds); guard++) {
    expect(guard).toBeLessThan(500);
    const have = new Set(rows.map(recordId));
    const r = await loadMore(cursor, bounds, have, limit, room - rows.length, fetchFrom(topic, filter));
    expect(r.added.length).toBeLessThanOrEqual(limit);
    for (const a of r.added) expect(have.has(recordId(a))).toBe(false);
    rows = mergeRows(rows, r.added);
    cursor = r.cursor;
    pages.push(r.added.length);
    // Table order holds.
    for (let i = 1; i < rows.length; i++) expect(compareRecords(rows[i - 1], rows[i])).toBeLessThanOrEqual(0);
    // No gaps: every matching record on the table's side of each partition's position is shown.
    const shown = new Set(rows.map(recordId));
    for (const [p, part] of Object.entries(topic) as [string, FakeTopic[number]][]) {
      const pos = cursor.positions[Number(p)];
      if (pos === undefined) continue;
      const side = part.records.filter((x: KRecord) => (cursor.direction === 'older' ? x.offset >= pos : x.offset < pos));
      for (const x of side) if (!filter || String(x.value?.decoded).includes(filter)) expect(shown.has(recordId(x))).toBe(true);
    }
    if (r.capped || rows.length >= room) break;
  }
  return { rows, pages, cursor };
}

function all(topic: FakeTopic, filter?: string): string[] {
  return Object.values(topic)
    .flatMap((p) => p.records)
    .filter((x) => !filter || String(x.value?.decoded).includes(filter))
    .sort(compareRecords)
    .map(recordId);
}

describe('parseNext', () => {
  it('reads the per-partition cursor and ignores anything else', () => {
    expect(parseNext({ '0': 12, '2': 40 })).toEqual({ 0: 12, 2: 40 });
    expect(parseNext({ x: 1, '-1': 3, '1': 'no', '3': 7 })).toEqual({ 3: 7 });
    expect(parseNext(null)).toEqual({});
    expect(parseNext([1, 2])).toEqual({});
  });
});

describe('firstCursor', () => {
  it('newest, page not full: continue below high − limit', () => {
    const c = firstCursor('newest', { messages: [rec(0, 8, 1)], next: { '0': 10, '1': 3 } }, 5);
    expect(c).toEqual({ direction: 'older', positions: { 0: 5, 1: 0 } });
  });
  it('newest, full page (maybe cut across partitions): start again from the high watermark', () => {
    const c = firstCursor('newest', { messages: [rec(0, 8, 1), rec(0, 9, 2)], next: { '0': 10, '1': 30 } }, 2);
    expect(c).toEqual({ direction: 'older', positions: { 0: 10, 1: 30 } });
  });
  it('forward scopes continue from next', () => {
    for (const s of ['oldest', 'offset', 'timestamp'] as Scope[]) {
      expect(firstCursor(s, { messages: [], next: { '0': 4 } }, 10)).toEqual({ direction: 'newer', positions: { 0: 4 } });
    }
  });
});

describe('planMore', () => {
  const bounds: Bounds = { 0: { low: 0, high: 100 }, 1: { low: 40, high: 60 }, 2: { low: null, high: null } };
  it('older: windows of `limit` offsets below each position, never below the log start', () => {
    const plan = planMore({ direction: 'older', positions: { 0: 100, 1: 45, 2: 3 } }, 10, bounds);
    expect(plan).toEqual([
      { partition: 0, offset: 90, end: 100 },
      { partition: 1, offset: 40, end: 45 },
      { partition: 2, offset: 0, end: 3 },
    ]);
    expect(hasMore({ direction: 'older', positions: { 0: 0, 1: 40 } }, bounds)).toBe(false);
  });
  it('newer: partitions not yet read to their high watermark (unknown counts as maybe)', () => {
    const plan = planMore({ direction: 'newer', positions: { 0: 100, 1: 50, 2: 9 } }, 10, bounds);
    expect(plan).toEqual([{ partition: 1, offset: 50, end: null }, { partition: 2, offset: 9, end: null }]);
    expect(hasMore({ direction: 'newer', positions: { 0: 100, 1: 60 } }, bounds)).toBe(false);
    expect(hasMore(null, bounds)).toBe(false);
  });
});

describe('mergeMore', () => {
  it('older: keeps the newest records across partitions and moves past only what it kept', () => {
    const cursor: Cursor = { direction: 'older', positions: { 0: 10, 1: 10 } };
    const replies = [
      { request: { partition: 0, offset: 6, end: 10 }, messages: [6, 7, 8, 9, 10].map((o) => rec(0, o, o * 10)), next: 11 },
      { request: { partition: 1, offset: 6, end: 10 }, messages: [6, 7, 8, 9].map((o) => rec(1, o, o * 10 + 5)), next: 10 },
    ];
    const r = mergeMore(cursor, replies, new Set(['0:9']), 4, 1000);
    // Candidates (offset 10 is past the window, 0:9 is shown): 0:6..8 and 1:6..9; the newest 4 win.
    // 0:6 60, 0:7 70, 0:8 80 and 1:6 65, 1:7 75, 1:8 85, 1:9 95: the newest four win.
    expect(r.added.map(recordId)).toEqual(['1:7', '0:8', '1:8', '1:9']);
    expect(r.cursor.positions).toEqual({ 0: 8, 1: 7 });
    expect(r.capped).toBe(false);
    expect(r.incomplete).toEqual([]);
  });
  it('older: a window the read did not cover keeps its position', () => {
    const r = mergeMore({ direction: 'older', positions: { 0: 10 } }, [
      { request: { partition: 0, offset: 0, end: 10 }, messages: [rec(0, 0, 1), rec(0, 1, 2)], next: 2 },
    ], new Set(), 10, 1000);
    expect(r.added.length).toBe(2);
    expect(r.cursor.positions).toEqual({ 0: 10 });
    expect(r.incomplete).toEqual([0]);
  });
  it('newer: keeps the oldest records and continues at the first one left out', () => {
    const cursor: Cursor = { direction: 'newer', positions: { 0: 5, 1: 5 } };
    const replies = [
      { request: { partition: 0, offset: 5, end: null }, messages: [5, 6, 7].map((o) => rec(0, o, o * 10)), next: 8 },
      { request: { partition: 1, offset: 5, end: null }, messages: [5, 6].map((o) => rec(1, o, o * 10 + 5)), next: 20 },
    ];
    const r = mergeMore(cursor, replies, new Set(), 3, 1000);
    expect(r.added.map(recordId)).toEqual(['0:5', '1:5', '0:6']);
    expect(r.cursor.positions).toEqual({ 0: 7, 1: 6 });
  });
  it('says when the room left in the table cut the page', () => {
    const r = mergeMore({ direction: 'newer', positions: { 0: 0 } }, [
      { request: { partition: 0, offset: 0, end: null }, messages: [0, 1, 2].map((o) => rec(0, o, o)), next: 3 },
    ], new Set(), 10, 2);
    expect(r.added.map(recordId)).toEqual(['0:0', '0:1']);
    expect(r.capped).toBe(true);
    expect(r.cursor.positions).toEqual({ 0: 2 });
  });
});

describe('load more until there is nothing more', () => {
  it('newest: pages of older records down to the log start, each record once', async () => {
    const topic = makeTopic([250]);
    const { rows, pages } = await drain(topic, 'newest', 100);
    expect(rows.map(recordId)).toEqual(all(topic));
    expect(pages).toEqual([100, 100, 50]);
  });
  it('newest over three partitions with a filter, offset gaps, a moved log start and jittered timestamps', async () => {
    const topic = makeTopic([120, 7, 300], { low: [0, 3, 50], gapsEvery: 9, jitter: 40 });
    const { rows } = await drain(topic, 'newest', 20, 'match');
    expect(rows.map(recordId)).toEqual(all(topic, 'match'));
  });
  it('oldest: pages of later records up to the high watermarks', async () => {
    const topic = makeTopic([90, 0, 161]);
    const { rows, pages } = await drain(topic, 'oldest', 100);
    expect(rows.map(recordId)).toEqual(all(topic));
    expect(pages).toEqual([100, 100, 51]);
  });
  // Forward first pages assume timestamps that grow with offsets within a partition: when the API cuts a
  // page across partitions its `next` is one past the last record kept. Pages of "more" do not assume it.
  it('oldest with a filter and offset gaps', async () => {
    const topic = makeTopic([200, 33, 120], { gapsEvery: 4 });
    const { rows } = await drain(topic, 'oldest', 15, 'match');
    expect(rows.map(recordId)).toEqual(all(topic, 'match'));
  });
  it('pages of later records with jittered timestamps across partitions', async () => {
    const topic = makeTopic([200, 33, 120], { jitter: 55, gapsEvery: 4 });
    const start: Cursor = { direction: 'newer', positions: { 0: 0, 1: 0, 2: 0 } };
    const { rows } = await drain(topic, 'oldest', 15, 'match', 100_000, start);
    expect(rows.map(recordId)).toEqual(all(topic, 'match'));
  });
  it('stops at the table maximum', async () => {
    const topic = makeTopic([500]);
    const { rows, cursor } = await drain(topic, 'oldest', 100, undefined, 250);
    expect(rows.length).toBe(250);
    expect(cursor.positions).toEqual({ 0: 250 });
  });
});

describe('loadMore', () => {
  it('stops asking when no round makes progress (offsets unknown)', async () => {
    let calls = 0;
    const r = await loadMore({ direction: 'newer', positions: { 0: 5 } }, {}, new Set(), 10, 1000, async () => {
      calls++;
      return { messages: [], next: { '0': 5 } };
    });
    expect(r.added).toEqual([]);
    expect(calls).toBe(1);
  });
  it('older pages with a sparse filter take several rounds', async () => {
    const topic = makeTopic([400]);
    const first = browse(topic, { scope: 'newest', limit: 10, filter: 'other-0-33' });
    const cursor = firstCursor('newest', first, 10);
    const r = await loadMore(cursor, boundsOf(topic), new Set(first.messages.map(recordId)), 10, 1000, fetchFrom(topic, 'other-0-33'));
    expect(r.rounds).toBeGreaterThan(1);
    expect(r.added.length).toBeGreaterThan(0);
  });
});

describe('mapLimit', () => {
  it('keeps order and the width', async () => {
    let inFlight = 0;
    let peak = 0;
    const out = await mapLimit([1, 2, 3, 4, 5, 6, 7], 3, async (x) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 5 - (x % 3)));
      inFlight--;
      return x * 2;
    });
    expect(out).toEqual([2, 4, 6, 8, 10, 12, 14]);
    expect(peak).toBe(3);
  });
});
