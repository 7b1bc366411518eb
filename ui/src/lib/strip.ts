// Geometry of the partition strips: one horizontal bar per partition's log, all on one offset scale
// so partitions can be compared and visibly grow as records arrive.

import type { Scope, Segment } from './types';

export interface StripInput {
  log_start_offset: number;
  high_watermark: number;
  log_end_offset: number | null;
  segments: Segment[] | null;
}

export interface StripRect {
  x: number; // px from the strip's left
  w: number; // px width
}

export interface SegmentRect extends StripRect {
  base_offset: number;
  next_offset: number;
  active: boolean;
  size_bytes: number;
}

export interface StripGeometry {
  removed: StripRect | null; // offsets before log start: deleted by retention (or compaction)
  retained: StripRect; // log start .. high watermark: readable by consumers
  uncommitted: StripRect | null; // high watermark .. log end: written but not yet replicated
  segments: SegmentRect[];
  hwX: number;
  leoX: number;
  startX: number; // log start offset
  consumerX: number; // where a consumer would start reading under the chosen scope
  consumerOffset: number;
}

/** A round upper bound for the shared scale, with headroom so strips have room to grow. */
export function niceDomain(maxOffset: number): number {
  const want = Math.max(10, Math.ceil(maxOffset * 1.15));
  const pow = 10 ** Math.floor(Math.log10(want));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) {
    if (m * pow >= want) return Math.round(m * pow);
  }
  return want;
}

/** Evenly spaced tick offsets from 0 to domain (inclusive), at most `count` + 1 of them. */
export function ticks(domain: number, count = 5): number[] {
  if (domain <= 0) return [0];
  const raw = domain / count;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const mults = pow >= 10 ? [1, 2, 2.5, 5, 10] : [1, 2, 5, 10];
  const step = Math.max(1, mults.map((m) => m * pow).find((s) => s >= raw) ?? raw);
  const out: number[] = [];
  for (let v = 0; v <= domain + 1e-9; v += step) out.push(Math.round(v));
  return out;
}

export interface ScopeChoice {
  scope: Scope;
  offset?: number | null;
  timestamp_ms?: number | null;
}

/**
 * The offset a consumer starts at in one partition: oldest → log start; newest → high watermark
 * (only records that arrive from now on); offset → that offset, clamped into [log start, high watermark];
 * timestamp → the first segment whose largest timestamp reaches it (the time index narrows it further).
 */
export function consumerStart(p: StripInput, c: ScopeChoice): number {
  const lo = p.log_start_offset;
  const hi = p.high_watermark;
  switch (c.scope) {
    case 'oldest':
      return lo;
    case 'newest':
      return hi;
    case 'offset': {
      const o = c.offset ?? lo;
      return Math.min(Math.max(o, lo), hi);
    }
    case 'timestamp': {
      const t = c.timestamp_ms;
      if (t === null || t === undefined) return lo;
      for (const s of p.segments ?? []) {
        if (s.max_timestamp_ms !== null && s.max_timestamp_ms >= t) return Math.max(lo, s.base_offset);
      }
      return hi;
    }
  }
}

export function stripGeometry(p: StripInput, domain: number, width: number, c: ScopeChoice, minRemovedPx = 4): StripGeometry {
  const d = Math.max(1, domain);
  const x = (o: number) => (Math.min(Math.max(0, o), d) / d) * width;
  const leo = Math.max(p.log_end_offset ?? p.high_watermark, p.high_watermark);
  const startX = x(p.log_start_offset);
  const hwX = x(p.high_watermark);
  const leoX = x(leo);
  const removed = p.log_start_offset > 0 ? { x: 0, w: Math.max(minRemovedPx, startX) } : null;
  const retained = { x: startX, w: Math.max(0, hwX - startX) };
  const uncommitted = leo > p.high_watermark ? { x: hwX, w: Math.max(1, leoX - hwX) } : null;
  const segments: SegmentRect[] = (p.segments ?? []).map((s) => {
    const sx = x(Math.max(s.base_offset, p.log_start_offset));
    const ex = x(Math.max(s.next_offset, s.base_offset));
    return { x: sx, w: Math.max(0, ex - sx), base_offset: s.base_offset, next_offset: s.next_offset, active: s.active, size_bytes: s.size_bytes };
  });
  const consumerOffset = consumerStart(p, c);
  return { removed, retained, uncommitted, segments, hwX, leoX, startX, consumerX: x(consumerOffset), consumerOffset };
}

/** x position of a record offset on the shared scale (centre of its slot). */
export function offsetX(offset: number, domain: number, width: number): number {
  const d = Math.max(1, domain);
  return (Math.min(Math.max(0, offset + 0.5), d) / d) * width;
}

/** x position of the boundary before `offset` (where a committed offset points: the next record to read). */
export function boundaryX(offset: number, domain: number, width: number): number {
  const d = Math.max(1, domain);
  return (Math.min(Math.max(0, offset), d) / d) * width;
}
