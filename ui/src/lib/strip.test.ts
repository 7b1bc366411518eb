import { describe, expect, it } from 'vitest';
import { boundaryX, consumerStart, niceDomain, offsetX, stripGeometry, ticks } from './strip';

const part = {
  log_start_offset: 100,
  high_watermark: 400,
  log_end_offset: 420,
  segments: [
    { base_offset: 0, next_offset: 200, size_bytes: 1000, max_timestamp_ms: 1000, active: false },
    { base_offset: 200, next_offset: 350, size_bytes: 900, max_timestamp_ms: 2000, active: false },
    { base_offset: 350, next_offset: 420, size_bytes: 300, max_timestamp_ms: 3000, active: true },
  ],
};

describe('strip geometry', () => {
  it('places log start, high watermark and log end on a shared scale', () => {
    const g = stripGeometry(part, 1000, 500, { scope: 'oldest' });
    expect(g.startX).toBe(50);
    expect(g.hwX).toBe(200);
    expect(g.leoX).toBe(210);
    expect(g.removed).toEqual({ x: 0, w: 50 });
    expect(g.retained).toEqual({ x: 50, w: 150 });
    expect(g.uncommitted).toEqual({ x: 200, w: 10 });
    expect(g.consumerX).toBe(50);
  });
  it('clips the first segment at log start and keeps boundaries', () => {
    const g = stripGeometry(part, 1000, 500, { scope: 'newest' });
    expect(g.segments.map((s) => [s.x, s.w])).toEqual([[50, 50], [100, 75], [175, 35]]);
    expect(g.segments[2].active).toBe(true);
    expect(g.consumerOffset).toBe(400);
  });
  it('shows a sliver for removed records even when tiny', () => {
    const g = stripGeometry({ ...part, log_start_offset: 1 }, 100000, 500, { scope: 'oldest' });
    expect(g.removed!.w).toBe(4);
    expect(stripGeometry({ ...part, log_start_offset: 0 }, 1000, 500, { scope: 'oldest' }).removed).toBeNull();
  });
  it('handles an empty partition without segments', () => {
    const g = stripGeometry({ log_start_offset: 0, high_watermark: 0, log_end_offset: null, segments: null }, 10, 300, { scope: 'newest' });
    expect(g.retained.w).toBe(0);
    expect(g.uncommitted).toBeNull();
    expect(g.segments).toEqual([]);
  });
});

describe('consumer start', () => {
  it('follows the read scope', () => {
    expect(consumerStart(part, { scope: 'oldest' })).toBe(100);
    expect(consumerStart(part, { scope: 'newest' })).toBe(400);
    expect(consumerStart(part, { scope: 'offset', offset: 5 })).toBe(100);
    expect(consumerStart(part, { scope: 'offset', offset: 250 })).toBe(250);
    expect(consumerStart(part, { scope: 'offset', offset: 9999 })).toBe(400);
    expect(consumerStart(part, { scope: 'timestamp', timestamp_ms: 1500 })).toBe(200);
    expect(consumerStart(part, { scope: 'timestamp', timestamp_ms: 500 })).toBe(100);
    expect(consumerStart(part, { scope: 'timestamp', timestamp_ms: 5000 })).toBe(400);
  });
});

describe('scale', () => {
  it('rounds up with headroom', () => {
    expect(niceDomain(0)).toBe(10);
    expect(niceDomain(420)).toBe(500);
    expect(niceDomain(1000)).toBe(1500);
    expect(niceDomain(80)).toBe(100);
  });
  it('makes round ticks', () => {
    expect(ticks(500, 5)).toEqual([0, 100, 200, 300, 400, 500]);
    expect(ticks(10, 4)).toEqual([0, 5, 10]);
  });
  it('maps offsets to slot centres', () => {
    expect(offsetX(0, 10, 100)).toBe(5);
    expect(offsetX(50, 10, 100)).toBe(100);
  });
});

describe('committed offset markers', () => {
  it('sit on the boundary before the next record to read, clamped to the strip', () => {
    expect(boundaryX(0, 100, 500)).toBe(0);
    expect(boundaryX(40, 100, 500)).toBe(200);
    expect(boundaryX(40, 100, 500)).toBeLessThan(offsetX(40, 100, 500));
    expect(boundaryX(150, 100, 500)).toBe(500);
    expect(boundaryX(-3, 100, 500)).toBe(0);
  });
});
