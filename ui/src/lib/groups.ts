// Consumer groups' view logic, kept pure: list filtering and sorting, state badges, the lag chart's
// geometry, the reset dialog's request and preview summary, rebalances read off the timeline, and the
// partition strips' committed-offset markers. Lag itself is computed by the studio (high watermark −
// committed offset); these functions only total, scale and describe it.

import { hashColor } from './keycolor';
import type { GroupEvent, GroupLagSeries, GroupSummary, ResetRequest, ResetResult, ResetStrategy, TopicGroupOffsets } from './types';

export const GROUP_STATES = ['Stable', 'PreparingRebalance', 'CompletingRebalance', 'Empty', 'Dead', 'Unknown'] as const;

/** Kafka lets an admin reset offsets or delete a group only when it is Empty (or Dead: not there yet). */
export function isActive(state: string): boolean {
  return state !== 'Empty' && state !== 'Dead';
}

/** The badge tone of a state: stable is fine, rebalancing is a warning, dead is gone. */
export function stateTone(state: string): 'ok' | 'warn' | 'danger' | '' {
  switch (state) {
    case 'Stable':
      return 'ok';
    case 'PreparingRebalance':
    case 'CompletingRebalance':
      return 'warn';
    case 'Dead':
      return 'danger';
    default:
      return '';
  }
}

export type GroupSortKey = 'group_id' | 'state' | 'members' | 'partitions' | 'total_lag';

/** Groups whose id contains `search` (case-insensitive) and whose state is `state` ('' = any), sorted. */
export function filterGroups(groups: readonly GroupSummary[], search: string, state: string, key: GroupSortKey = 'group_id', dir: 1 | -1 = 1): GroupSummary[] {
  const needle = search.trim().toLowerCase();
  const out = groups.filter((g) => (!needle || g.group_id.toLowerCase().includes(needle)) && (!state || g.state === state));
  const value = (g: GroupSummary): string | number | null => (key === 'group_id' || key === 'state' ? g[key] : g[key]);
  return out.sort((a, b) => {
    const va = value(a);
    const vb = value(b);
    // Unknowns last whatever the direction: they are not small, just not known.
    if (va === null || vb === null) return va === vb ? a.group_id.localeCompare(b.group_id) : va === null ? 1 : -1;
    const c = typeof va === 'number' && typeof vb === 'number' ? va - vb : String(va).localeCompare(String(vb));
    return c !== 0 ? c * dir : a.group_id.localeCompare(b.group_id);
  });
}

/** Counts per state, in GROUP_STATES order, for the filter's labels. */
export function stateCounts(groups: readonly GroupSummary[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const s of GROUP_STATES) counts.set(s, 0);
  for (const g of groups) counts.set(g.state, (counts.get(g.state) ?? 0) + 1);
  return counts;
}

/** A round upper bound for a lag axis (1, 2, 2.5 or 5 × 10ⁿ), at least 10. */
export function niceMax(value: number): number {
  const want = Math.max(10, value);
  const pow = 10 ** Math.floor(Math.log10(want));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * pow >= want) return m * pow;
  return want;
}

export interface LagChartGeometry {
  /** SVG path data per line: the total first, then each partition asked for; gaps where the lag was unknown. */
  total: string;
  partitions: { key: string; d: string }[];
  yMax: number;
  yTicks: number[];
  /** Newest known total lag, null when none is known. */
  latest: number | null;
  /** Time span shown (ms), newest at the right edge. */
  spanMs: number;
}

/**
 * The lag chart: total lag (and optionally partitions) against time. The x axis spans the samples kept
 * (at least one minute), newest at the right edge; y from 0 to a round maximum; unknown samples break
 * the line rather than dropping it to 0.
 */
export function lagChart(series: GroupLagSeries, width: number, height: number, partitionsShown = 0): LagChartGeometry {
  const at = series.at_ms;
  const n = at.length;
  const end = n ? at[n - 1] : 0;
  const spanMs = Math.max(60_000, n ? end - at[0] : 0);
  const parts = series.partitions.slice(0, partitionsShown);
  let max = 0;
  for (const v of series.total_lag) if (v !== null && v > max) max = v;
  for (const p of parts) for (const v of p.lag) if (v !== null && v > max) max = v;
  const yMax = niceMax(max);
  const x = (t: number) => width - ((end - t) / spanMs) * width;
  const y = (v: number) => height - (v / yMax) * height;
  const path = (values: (number | null)[]) => {
    let d = '';
    let pen = false;
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (v === null || v === undefined) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${round(x(at[i]))} ${round(y(v))} `;
      pen = true;
    }
    return d.trim();
  };
  let latest: number | null = null;
  for (let i = n - 1; i >= 0; i--) {
    if (series.total_lag[i] !== null) {
      latest = series.total_lag[i];
      break;
    }
  }
  return {
    total: path(series.total_lag),
    partitions: parts.map((p) => ({ key: `${p.topic}-${p.partition}`, d: path(p.lag) })),
    yMax,
    yTicks: [0, yMax / 4, yMax / 2, (3 * yMax) / 4, yMax],
    latest,
    spanMs,
  };
}

function round(v: number): number {
  return Math.round(v * 10) / 10;
}

/** Whether lag went up, down or stayed over the last `samples` known totals. */
export function lagTrend(totals: readonly (number | null)[], samples = 5): 'rising' | 'falling' | 'steady' | null {
  const known = totals.filter((v): v is number => v !== null).slice(-samples);
  if (known.length < 2) return null;
  const delta = known[known.length - 1] - known[0];
  return delta > 0 ? 'rising' : delta < 0 ? 'falling' : 'steady';
}

/** What the reset dialog holds. */
export interface ResetForm {
  strategy: ResetStrategy;
  scope: 'all' | 'topic' | 'partitions';
  topic: string;
  partitions: number[];
  /** Local date-time text (`2024-05-01T12:00:00`) for `timestamp`. */
  datetime: string;
  offset: number | null;
  shiftBy: number | null;
}

/** The request for a form, or the problem that stops it (naming the field). */
export function resetRequest(form: ResetForm, dryRun: boolean): { request: ResetRequest } | { error: string } {
  const req: ResetRequest = { topics: null, strategy: form.strategy, dry_run: dryRun };
  if (form.scope !== 'all') {
    if (!form.topic) return { error: 'Choose a topic.' };
    if (form.scope === 'partitions') {
      if (form.partitions.length === 0) return { error: 'Choose at least one partition.' };
      req.topics = [{ topic: form.topic, partitions: [...form.partitions].sort((a, b) => a - b) }];
    } else {
      req.topics = [{ topic: form.topic }];
    }
  }
  switch (form.strategy) {
    case 'timestamp': {
      const ms = form.datetime ? new Date(form.datetime).getTime() : NaN;
      if (!Number.isFinite(ms) || ms < 0) return { error: 'Choose the date and time to start from.' };
      req.timestamp_ms = ms;
      break;
    }
    case 'offset':
      if (form.offset === null || !Number.isInteger(form.offset) || form.offset < 0) return { error: 'The offset must be a whole number, 0 or more.' };
      req.offset = form.offset;
      break;
    case 'shift':
      if (form.shiftBy === null || !Number.isInteger(form.shiftBy) || form.shiftBy === 0) return { error: 'Shift by a whole number of records, not 0 (negative: back, to read again).' };
      req.shift_by = form.shiftBy;
      break;
  }
  return { request: req };
}

/** A stable key for a request's parameters (without dry_run): Execute applies only what was previewed. */
export function requestKey(req: ResetRequest): string {
  const { dry_run: _ignored, ...rest } = req;
  return JSON.stringify(rest);
}

export interface PreviewSummary {
  partitions: number;
  moved: number;
  back: number;
  forward: number;
  /** Records to be read again (moving back) and skipped (moving forward), where the current offset is known. */
  reread: number;
  skipped: number;
  lagBefore: number | null;
  lagAfter: number | null;
  clamped: number;
}

/** Totals of a reset preview, for a sentence above its table. */
export function previewSummary(result: ResetResult): PreviewSummary {
  let moved = 0, back = 0, forward = 0, reread = 0, skipped = 0, clamped = 0;
  let before: number | null = null;
  let after: number | null = null;
  for (const r of result.partitions) {
    if (r.note) clamped++;
    if (r.lag_before !== null) before = (before ?? 0) + r.lag_before;
    if (r.lag_after !== null) after = (after ?? 0) + r.lag_after;
    if (r.current_offset === null) {
      moved++;
      continue;
    }
    if (r.new_offset === r.current_offset) continue;
    moved++;
    if (r.new_offset < r.current_offset) {
      back++;
      reread += r.current_offset - r.new_offset;
    } else {
      forward++;
      skipped += r.new_offset - r.current_offset;
    }
  }
  return { partitions: result.partitions.length, moved, back, forward, reread, skipped, lagBefore: before, lagAfter: after, clamped };
}

export interface Rebalance {
  startMs: number;
  /** When the group was seen settled again (Stable or Empty); null while it still rebalances. */
  endMs: number | null;
  joined: number;
  left: number;
}

/**
 * Rebalances read off a group's timeline (oldest first): one starts when the group is seen rebalancing or
 * members come or go, and ends when it is seen Stable or Empty again. Joins and leaves seen in between
 * count towards it. Sampled, so a rebalance faster than the sample interval shows as members changing
 * with no rebalancing state in between.
 */
export function rebalances(events: readonly GroupEvent[]): Rebalance[] {
  const out: Rebalance[] = [];
  let open: Rebalance | null = null;
  const settled = (s: string | null) => s === 'Stable' || s === 'Empty';
  for (const e of events) {
    if (e.kind === 'first_seen' || e.kind === 'gone') {
      if (open) open.endMs = e.at_ms;
      open = null;
      continue;
    }
    const change = e.kind === 'member_joined' || e.kind === 'member_left' || e.kind === 'assignment' || e.kind === 'state';
    if (!change) continue;
    if (!open) {
      const last = out[out.length - 1];
      if (last && last.endMs === e.at_ms) {
        // The same sample: part of the rebalance it just ended.
        open = last;
      } else if (e.kind === 'state' && settled(e.state)) {
        continue; // settling with nothing open: the end of what was already counted
      } else {
        open = { startMs: e.at_ms, endMs: null, joined: 0, left: 0 };
        out.push(open);
      }
    }
    if (e.kind === 'member_joined') open.joined++;
    if (e.kind === 'member_left') open.left++;
    // Every event carries the state after it: settled means the rebalance is over.
    if (settled(e.state)) {
      open.endMs = e.at_ms;
      open = null;
    }
  }
  return out;
}

/** A group's colour (the same in the strips' markers and their legend). */
export function groupColor(groupId: string): string {
  return hashColor(`group:${groupId}`);
}

export interface GroupMarker {
  group: string;
  offset: number;
  lag: number | null;
  color: string;
}

/** The committed-offset markers of one partition, by group id. */
export function markersFor(groups: readonly TopicGroupOffsets[], partition: number): GroupMarker[] {
  const out: GroupMarker[] = [];
  for (const g of groups) {
    const o = g.offsets.find((x) => x.partition === partition);
    if (o) out.push({ group: g.group_id, offset: o.offset, lag: o.lag, color: groupColor(g.group_id) });
  }
  return out.sort((a, b) => a.group.localeCompare(b.group));
}
