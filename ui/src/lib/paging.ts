// "Load more" for the message browser: where the next page starts, per partition, and how a page is merged.
//
// What the browse API's `next` cursor means (crates/studio/src/commands.rs, `browse_blocking`):
// - scope=newest reads [max(high − limit, log start), high) of each partition and keeps the last `limit`
//   records overall; `next` is each partition's high watermark at read time (where live reading goes on).
//   So for newest, "more" means *older* records, and `next` only says where the read ended; the older
//   cursor is derived here.
// - scope=oldest/offset/timestamp read forward; `next` is, per partition, the offset to continue from with
//   scope=offset (one past the last record scanned, or past the last one kept when the page was cut).
//   "More" means *later* records, from `next`.
// The API takes one `offset` for all partitions, so a page of "more" is one request per partition (a
// single-partition forward read), merged here into one page of at most `limit` records in table order.

import type { KRecord, Scope } from './types';

export type Direction = 'older' | 'newer';

export function directionOf(scope: Scope): Direction {
  return scope === 'newest' ? 'older' : 'newer';
}

/** The message table's order: timestamp, then partition, then offset (the browse API's own order). */
export function compareRecords(a: KRecord, b: KRecord): number {
  return (a.timestamp_ms ?? 0) - (b.timestamp_ms ?? 0) || a.partition - b.partition || a.offset - b.offset;
}

export const recordId = (r: { partition: number; offset: number }): string => `${r.partition}:${r.offset}`;

/** Log start offset and high watermark of a partition; null when the cluster did not say. */
export interface PartitionBounds {
  low: number | null;
  high: number | null;
}
export type Bounds = Record<number, PartitionBounds>;

/**
 * Per partition, where "more" continues.
 * - older: every record of the query at offsets in [position, end of the first page) is in the table, so
 *   older records are those below `position`.
 * - newer: the next read starts at `position`.
 */
export interface Cursor {
  direction: Direction;
  positions: Record<number, number>;
}

/** The API's `next` (`{"0": 120, "1": 95}`), tolerating anything else as "no cursor". */
export function parseNext(next: unknown): Record<number, number> {
  const out: Record<number, number> = {};
  if (!next || typeof next !== 'object' || Array.isArray(next)) return out;
  for (const [k, v] of Object.entries(next as Record<string, unknown>)) {
    const p = Number(k);
    if (Number.isInteger(p) && p >= 0 && typeof v === 'number' && Number.isFinite(v)) out[p] = v;
  }
  return out;
}

/** The cursor after a first page (a plain Load) of `scope` with `limit`. */
export function firstCursor(scope: Scope, page: { messages: KRecord[]; next: unknown }, limit: number): Cursor {
  const next = parseNext(page.next);
  if (directionOf(scope) === 'newer') return { direction: 'newer', positions: next };
  // newest: `next` is each partition's high watermark. A page shorter than `limit` was not cut, so it holds
  // every record of [max(high − limit, log start), high): continue below high − limit (a value under the log
  // start simply means "nothing older"). A full page may have been cut across partitions by timestamp, so
  // start again from high: the first "more" re-reads that window and keeps only the records not shown.
  const positions: Record<number, number> = {};
  const full = page.messages.length >= limit;
  for (const [p, high] of Object.entries(next)) positions[Number(p)] = full ? high : Math.max(0, high - limit);
  return { direction: 'older', positions };
}

/** One partition's read for a page of "more": [offset, end) for older, from `offset` for newer. */
export interface MoreRequest {
  partition: number;
  offset: number;
  end: number | null;
}

/** The reads a page of "more" takes (none: there is nothing more, as far as `bounds` know). */
export function planMore(cursor: Cursor, limit: number, bounds: Bounds): MoreRequest[] {
  const out: MoreRequest[] = [];
  const n = Math.max(1, Math.floor(limit));
  for (const [key, pos] of Object.entries(cursor.positions)) {
    const partition = Number(key);
    const b = bounds[partition];
    if (cursor.direction === 'older') {
      const low = b?.low ?? 0;
      if (pos <= low) continue;
      // A window of at most `limit` offsets: a forward read limited to `limit` records always covers it.
      out.push({ partition, offset: Math.max(pos - n, low), end: pos });
    } else {
      if (b?.high !== null && b?.high !== undefined && pos >= b.high) continue;
      out.push({ partition, offset: pos, end: null });
    }
  }
  return out.sort((a, b) => a.partition - b.partition);
}

export function hasMore(cursor: Cursor | null, bounds: Bounds): boolean {
  return !!cursor && planMore(cursor, 1, bounds).length > 0;
}

/** The answer to one MoreRequest: its records and the API's `next` for that partition. */
export interface MoreReply {
  request: MoreRequest;
  messages: KRecord[];
  next: number | null;
}

export interface MoreResult {
  /** New rows, in table order. */
  added: KRecord[];
  cursor: Cursor;
  /** True when `room` (not `limit`) cut the page: the table is full. */
  capped: boolean;
  /** Partitions whose window the read did not cover (time budget): their position did not move. */
  incomplete: number[];
}

/**
 * Merges the replies of a page of "more" into at most min(limit, room) new rows — the ones next to the
 * table (the newest of the older records, or the oldest of the later ones) — and moves each partition's
 * position only past records that are now in the table or were read and did not match, never past one
 * that was read but left out.
 */
export function mergeMore(cursor: Cursor, replies: MoreReply[], have: Set<string>, limit: number, room: number): MoreResult {
  const positions = { ...cursor.positions };
  const seen = new Set<string>();
  const candidates: KRecord[] = [];
  const covered = new Map<number, boolean>();
  for (const { request, messages, next } of replies) {
    const { partition, offset, end } = request;
    for (const r of messages) {
      if (r.partition !== partition || r.offset < offset || (end !== null && r.offset >= end)) continue;
      const id = recordId(r);
      if (have.has(id) || seen.has(id)) continue;
      seen.add(id);
      candidates.push(r);
    }
    // Older: the window is covered when the read got to its end. Newer: a single-partition read is never
    // cut, so `next` is one past the last record it scanned.
    covered.set(partition, end === null ? true : next !== null && next >= end);
  }
  const older = cursor.direction === 'older';
  candidates.sort((a, b) => (older ? -compareRecords(a, b) : compareRecords(a, b)));
  const take = Math.max(0, Math.min(Math.floor(limit), Math.floor(room)));
  const kept = candidates.slice(0, take);
  const left = candidates.slice(take);
  // Per partition, the record read but left out that is nearest to the table.
  const leftEdge = new Map<number, number>();
  for (const r of left) {
    const e = leftEdge.get(r.partition);
    if (e === undefined || (older ? r.offset > e : r.offset < e)) leftEdge.set(r.partition, r.offset);
  }
  const incomplete: number[] = [];
  for (const { request, next } of replies) {
    const p = request.partition;
    const edge = leftEdge.get(p);
    if (older) {
      if (!covered.get(p)) incomplete.push(p);
      else positions[p] = edge !== undefined ? edge + 1 : request.offset;
    } else if (edge !== undefined) {
      positions[p] = edge;
    } else if (next !== null && next >= request.offset) {
      positions[p] = next;
    } else {
      const last = kept.filter((r) => r.partition === p).reduce((m, r) => Math.max(m, r.offset + 1), request.offset);
      positions[p] = last;
    }
  }
  kept.sort(compareRecords);
  return { added: kept, cursor: { direction: cursor.direction, positions }, capped: left.length > 0 && take < limit, incomplete };
}

/** Rows with `added` merged in, in table order (existing rows may be unsorted: live-tail rows are appended). */
export function mergeRows(rows: KRecord[], added: KRecord[]): KRecord[] {
  if (!added.length) return rows;
  return rows.concat(added).sort(compareRecords);
}

/** Reads one partition for a page of "more": the browse API with scope=offset and that partition only. */
export type FetchOne = (
  request: MoreRequest,
  limit: number,
) => Promise<{ messages: KRecord[]; next: unknown; scanned?: number; matched?: number }>;

export interface LoadMoreOptions {
  /** Requests in flight at once. */
  concurrency?: number;
  /** Rounds at most: older pages read windows of `limit` offsets, which a filter may leave nearly empty. */
  rounds?: number;
  /** Stop starting rounds after this long, in ms. */
  budgetMs?: number;
  now?: () => number;
}

/**
 * One page of "more": rounds of per-partition reads, merged, until `limit` new rows (or `room`), nothing
 * more, an incomplete read, or the round/time budget.
 */
export async function loadMore(
  cursor: Cursor,
  bounds: Bounds,
  have: Set<string>,
  limit: number,
  room: number,
  fetchOne: FetchOne,
  { concurrency = 4, rounds = 8, budgetMs = 10_000, now = Date.now }: LoadMoreOptions = {},
): Promise<MoreResult & { scanned: number; matched: number; rounds: number }> {
  const started = now();
  const seen = new Set(have);
  let cur = cursor;
  let added: KRecord[] = [];
  let capped = false;
  let incomplete: number[] = [];
  let done = 0;
  let scanned = 0;
  let matched = 0;
  while (done < rounds && added.length < limit && added.length < room) {
    if (done > 0 && now() - started > budgetMs) break;
    const want = Math.min(limit, room) - added.length;
    // Older windows are `limit` offsets wide whatever is still wanted (the page's own size).
    const plan = planMore(cur, limit, bounds);
    if (!plan.length) break;
    const replies = await mapLimit(plan, concurrency, async (request): Promise<MoreReply> => {
      const page = await fetchOne(request, limit);
      scanned += page.scanned ?? 0;
      matched += page.matched ?? 0;
      const next = parseNext(page.next)[request.partition];
      return { request, messages: page.messages, next: next ?? null };
    });
    const before = cur.positions;
    const r = mergeMore(cur, replies, seen, want, room - added.length);
    done++;
    for (const row of r.added) seen.add(recordId(row));
    added = added.concat(r.added);
    cur = r.cursor;
    capped = r.capped;
    incomplete = r.incomplete;
    if (incomplete.length || capped) break;
    const moved = Object.keys(r.cursor.positions).some((p) => r.cursor.positions[Number(p)] !== before[Number(p)]);
    if (!r.added.length && !moved) break; // no progress (the cluster's offsets are unknown): stop asking
  }
  added.sort(compareRecords);
  return { added, cursor: cur, capped, incomplete, scanned, matched, rounds: done };
}

/** Runs `fn` over `items` with at most `width` at a time; results in input order. */
export async function mapLimit<T, R>(items: T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let i = 0;
  const worker = async () => {
    while (i < items.length) {
      const j = i++;
      out[j] = await fn(items[j]);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(width, items.length)) }, worker));
  return out;
}
