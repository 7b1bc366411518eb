import { describe, expect, it } from 'vitest';
import {
  filterGroups, isActive, lagChart, lagTrend, markersFor, niceMax, previewSummary, rebalances, requestKey, resetRequest,
  stateCounts, stateTone, type ResetForm,
} from './groups';
import type { GroupEvent, GroupLagSeries, GroupSummary, ResetResult } from './types';

const group = (id: string, state: string, lag: number | null, members: number | null = 1): GroupSummary => ({
  group_id: id, state, group_type: 'classic', protocol_type: 'consumer', protocol: 'range', members, topics: ['t'],
  partitions: 3, total_lag: lag, coordinator_id: 1, detailed: true, error: null,
});

describe('group list', () => {
  const list = [group('orders', 'Stable', 40), group('Billing', 'Empty', 0, 0), group('audit', 'PreparingRebalance', null)];
  it('filters by id substring (any case) and state', () => {
    expect(filterGroups(list, 'OR', '').map((g) => g.group_id)).toEqual(['orders']);
    expect(filterGroups(list, '', 'Empty').map((g) => g.group_id)).toEqual(['Billing']);
    expect(filterGroups(list, 'i', 'Stable')).toEqual([]);
  });
  it('sorts by lag with unknown lag last in both directions', () => {
    expect(filterGroups(list, '', '', 'total_lag', 1).map((g) => g.group_id)).toEqual(['Billing', 'orders', 'audit']);
    expect(filterGroups(list, '', '', 'total_lag', -1).map((g) => g.group_id)).toEqual(['orders', 'Billing', 'audit']);
  });
  it('counts states and tones badges; only Empty and Dead are inactive', () => {
    const counts = stateCounts(list);
    expect(counts.get('Stable')).toBe(1);
    expect(counts.get('Dead')).toBe(0);
    expect([...counts.keys()][0]).toBe('Stable');
    expect(stateTone('Stable')).toBe('ok');
    expect(stateTone('CompletingRebalance')).toBe('warn');
    expect(stateTone('Empty')).toBe('');
    expect(isActive('Stable') && isActive('PreparingRebalance') && isActive('Unknown')).toBe(true);
    expect(isActive('Empty') || isActive('Dead')).toBe(false);
  });
});

describe('lag chart', () => {
  const series: GroupLagSeries = {
    group_id: 'g', interval_ms: 2000, window_ms: 600_000, sampled: true, partitions_truncated: false,
    at_ms: [0, 30_000, 60_000, 90_000],
    total_lag: [0, 40, null, 20],
    partitions: [{ topic: 't', partition: 0, lag: [0, 30, null, 5] }, { topic: 't', partition: 1, lag: [0, 10, null, 15] }],
  };
  it('scales to a round maximum and breaks the line where lag was unknown', () => {
    const g = lagChart(series, 900, 100);
    expect(g.yMax).toBe(50);
    expect(g.spanMs).toBe(90_000);
    expect(g.total).toBe('M0 100 L300 20 M900 60');
    expect(g.latest).toBe(20);
    expect(g.partitions).toEqual([]);
    expect(g.yTicks).toEqual([0, 12.5, 25, 37.5, 50]);
  });
  it('shows at least a minute, newest at the right edge, and partitions when asked', () => {
    const short = { ...series, at_ms: [100_000, 102_000], total_lag: [5, 7], partitions: [{ topic: 't', partition: 0, lag: [5, 7] }] };
    const g = lagChart(short, 600, 100, 1);
    expect(g.spanMs).toBe(60_000);
    expect(g.total.startsWith('M580 ')).toBe(true);
    expect(g.total).toContain('L600 ');
    expect(g.partitions.map((p) => p.key)).toEqual(['t-0']);
    expect(g.yMax).toBe(10);
  });
  it('has no line and no latest value without samples', () => {
    const g = lagChart({ ...series, at_ms: [], total_lag: [], partitions: [] }, 600, 100);
    expect(g.total).toBe('');
    expect(g.latest).toBeNull();
  });
  it('rounds axes up to 1, 2, 2.5 or 5 times a power of ten', () => {
    expect([niceMax(0), niceMax(11), niceMax(230), niceMax(2600), niceMax(7000)]).toEqual([10, 20, 250, 5000, 10000]);
  });
  it('reads the trend of the last known totals', () => {
    expect(lagTrend([0, 5, null, 9])).toBe('rising');
    expect(lagTrend([9, 3])).toBe('falling');
    expect(lagTrend([4, 4, 4])).toBe('steady');
    expect(lagTrend([null, 3])).toBeNull();
  });
});

describe('reset offsets', () => {
  const form = (over: Partial<ResetForm>): ResetForm => ({
    strategy: 'earliest', scope: 'all', topic: '', partitions: [], datetime: '', offset: null, shiftBy: null, ...over,
  });
  it('builds requests for each scope', () => {
    expect(resetRequest(form({}), true)).toEqual({ request: { topics: null, strategy: 'earliest', dry_run: true } });
    expect(resetRequest(form({ scope: 'topic', topic: 'orders' }), false)).toEqual({
      request: { topics: [{ topic: 'orders' }], strategy: 'earliest', dry_run: false },
    });
    expect(resetRequest(form({ scope: 'partitions', topic: 'orders', partitions: [2, 0] }), true)).toEqual({
      request: { topics: [{ topic: 'orders', partitions: [0, 2] }], strategy: 'earliest', dry_run: true },
    });
  });
  it('says what is missing', () => {
    expect(resetRequest(form({ scope: 'topic' }), true)).toEqual({ error: 'Choose a topic.' });
    expect(resetRequest(form({ scope: 'partitions', topic: 't' }), true)).toEqual({ error: 'Choose at least one partition.' });
    expect('error' in resetRequest(form({ strategy: 'offset' }), true)).toBe(true);
    expect('error' in resetRequest(form({ strategy: 'offset', offset: -1 }), true)).toBe(true);
    expect('error' in resetRequest(form({ strategy: 'shift', shiftBy: 0 }), true)).toBe(true);
    expect('error' in resetRequest(form({ strategy: 'timestamp', datetime: 'soon' }), true)).toBe(true);
  });
  it('carries each strategy its value', () => {
    const at = resetRequest(form({ strategy: 'timestamp', datetime: '2024-05-01T12:00:00Z' }), true);
    expect(at).toEqual({ request: { topics: null, strategy: 'timestamp', timestamp_ms: Date.UTC(2024, 4, 1, 12), dry_run: true } });
    expect(resetRequest(form({ strategy: 'offset', offset: 7 }), true)).toMatchObject({ request: { offset: 7 } });
    expect(resetRequest(form({ strategy: 'shift', shiftBy: -5 }), true)).toMatchObject({ request: { shift_by: -5 } });
  });
  it('keys requests without dry_run, so Execute applies exactly what was previewed', () => {
    const a = resetRequest(form({ scope: 'topic', topic: 't' }), true);
    const b = resetRequest(form({ scope: 'topic', topic: 't' }), false);
    const c = resetRequest(form({ scope: 'topic', topic: 'u' }), false);
    if (!('request' in a) || !('request' in b) || !('request' in c)) throw new Error('valid forms');
    expect(requestKey(a.request)).toBe(requestKey(b.request));
    expect(requestKey(a.request)).not.toBe(requestKey(c.request));
  });
  it('summarises a preview: moves back and forward, records re-read and skipped, lag before and after', () => {
    const row = (partition: number, current: number | null, next: number, note: string | null = null) => ({
      topic: 't', partition, current_offset: current, new_offset: next, log_start_offset: 0, high_watermark: 100,
      lag_before: current === null ? null : 100 - current, lag_after: 100 - next, note,
    });
    const result: ResetResult = {
      group_id: 'g', strategy: 'offset', dry_run: true, applied: false,
      partitions: [row(0, 40, 10), row(1, 10, 60), row(2, 50, 50), row(3, null, 100, 'clamped')],
    };
    expect(previewSummary(result)).toEqual({
      partitions: 4, moved: 3, back: 1, forward: 1, reread: 30, skipped: 50, lagBefore: 60 + 90 + 50, lagAfter: 90 + 40 + 50 + 0, clamped: 1,
    });
  });
});

describe('rebalance timeline', () => {
  const ev = (at_ms: number, kind: string, state: string | null): GroupEvent => ({ at_ms, kind, message: kind, state, member_id: null });
  it('spans from members changing or rebalancing until the group settles', () => {
    const spans = rebalances([
      ev(0, 'first_seen', 'Stable'),
      ev(10, 'member_joined', 'PreparingRebalance'),
      ev(10, 'state', 'PreparingRebalance'),
      ev(12, 'assignment', 'Stable'),
      ev(12, 'member_joined', 'Stable'),
      ev(12, 'state', 'Stable'),
      ev(30, 'member_left', 'Stable'),
      ev(30, 'assignment', 'Stable'),
      ev(50, 'member_left', 'Empty'),
      ev(50, 'state', 'Empty'),
      ev(70, 'member_joined', 'CompletingRebalance'),
    ]);
    expect(spans).toEqual([
      { startMs: 10, endMs: 12, joined: 2, left: 0 },
      { startMs: 30, endMs: 30, joined: 0, left: 1 },
      { startMs: 50, endMs: 50, joined: 0, left: 1 },
      { startMs: 70, endMs: null, joined: 1, left: 0 },
    ]);
  });
  it('ends an open rebalance when the group goes away', () => {
    expect(rebalances([ev(5, 'state', 'PreparingRebalance'), ev(9, 'gone', null)])).toEqual([{ startMs: 5, endMs: 9, joined: 0, left: 0 }]);
  });
});

describe('partition strip markers', () => {
  it('lists each group with a committed offset on the partition, with a stable colour', () => {
    const groups = [
      { group_id: 'zeta', state: 'Stable', offsets: [{ partition: 0, offset: 5, lag: 1 }] },
      { group_id: 'alpha', state: 'Empty', offsets: [{ partition: 0, offset: 2, lag: 4 }, { partition: 1, offset: 9, lag: 0 }] },
    ];
    const p0 = markersFor(groups, 0);
    expect(p0.map((m) => [m.group, m.offset, m.lag])).toEqual([['alpha', 2, 4], ['zeta', 5, 1]]);
    expect(p0[0].color).toBe(markersFor(groups, 1)[0].color);
    expect(p0[0].color).not.toBe(p0[1].color);
    expect(markersFor(groups, 2)).toEqual([]);
  });
});
