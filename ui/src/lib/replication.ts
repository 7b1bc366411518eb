// Pure logic of the replication view: lane geometry, replica states, timeline sentences, which faults a
// broker accepts, and what acks=all + min.insync.replicas means for a write right now. No DOM, no fetch.

import type {
  Acks, BrokerFaultState, ClusterEvent, FaultAction, PartitionReplication, ReplicaLane,
} from './types';
import { fmtNum } from './format';

// ---- Formatting ----

const pad = (x: number, w = 2) => String(x).padStart(w, '0');

/** Local wall-clock time with milliseconds: `14:03:27.045`. */
export function fmtClock(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '—';
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** How long a follower has been behind: `0 ms`, `850 ms`, `1.2 s`, `42 s`, `3 min 5 s`. */
export function fmtLagMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 10_000) return `${(Math.floor(ms / 100) / 10).toFixed(1)} s`;
  if (ms < 60_000) return `${Math.floor(ms / 1000)} s`;
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** `orders-0`, as Kafka's tools name a partition. */
export function partitionName(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

const list = (xs: number[]) => `[${xs.join(',')}]`;

// ---- Replica lanes ----

export type LaneStateKey = 'leader' | 'in-sync' | 'out-of-sync' | 'paused' | 'fenced' | 'stopped' | 'killed' | 'not-running';

export interface LaneState {
  key: LaneStateKey;
  /** Words for the lane: "leader", "in sync", "out of ISR", "killed", … */
  label: string;
  /** Greyed out: the replica's broker does not serve it now. */
  dim: boolean;
}

/**
 * What a replica is doing, from its lane and its broker's fault state. A stopped or killed broker names its
 * own state; a paused one is still "running" for the lane (its memory is readable) but serves nothing.
 */
export function laneState(lane: ReplicaLane, broker?: BrokerFaultState | null): LaneState {
  const s = broker?.state;
  if (s === 'stopped' || s === 'killed') return { key: s, label: s, dim: true };
  if (!lane.running) return { key: 'not-running', label: 'not running', dim: true };
  if (s === 'paused') return { key: 'paused', label: 'paused', dim: true };
  if (lane.fenced && !lane.is_leader) return { key: 'fenced', label: 'fenced', dim: true };
  if (lane.is_leader) return { key: 'leader', label: 'leader', dim: false };
  if (lane.in_isr) return { key: 'in-sync', label: 'in sync', dim: false };
  return { key: 'out-of-sync', label: 'out of ISR', dim: false };
}

/**
 * Whether the metadata still names a leader whose broker does not serve (killed, stopped or paused): until the
 * controller fences that broker (after the broker session timeout) the partition takes no writes or reads.
 */
export function leaderUnreachable(p: PartitionReplication, brokers: Map<number, BrokerFaultState>): boolean {
  if (p.offline) return false;
  const l = p.replicas.find((r) => r.is_leader);
  return !!l && laneState(l, brokers.get(l.broker)).dim;
}

export interface LaneGeom {
  broker: number;
  /** Log end offset, or null when the broker does not run. */
  leo: number | null;
  /** Width of the replica's bar, in % of the track (log start → the partition's furthest offset). */
  pct: number;
  /** A not-running replica's last known log end offset (faded), in % of the track; null when none. */
  ghostPct: number | null;
}

export interface PartitionGeom {
  /** The track's offsets: `lo` at the left edge (the log start), `hi` at the right (the leader's log end). */
  lo: number;
  hi: number;
  /** The partition's high watermark, in % of the track; null when unknown (offline). */
  hwPct: number | null;
  lanes: LaneGeom[];
}

function clampPct(x: number): number {
  return Math.min(100, Math.max(0, x));
}

/** Last known log end offsets, by `topic/partition/broker`: what a stopped replica had. */
export type LastKnown = Record<string, number>;

export function laneKey(topic: string, partition: number, broker: number): string {
  return `${topic}/${partition}/${broker}`;
}

/**
 * Lane geometry of one partition. The track runs from the log start offset (the leader's, else the lowest a
 * replica reports) to the furthest log end offset (the leader's, unless a divergent follower is ahead before
 * it truncates), so every bar and the high watermark fit. An empty track (no records kept) draws empty bars.
 */
export function laneGeometry(p: PartitionReplication, lastKnown: LastKnown = {}): PartitionGeom {
  const leader = p.replicas.find((r) => r.is_leader && r.log_end_offset !== null);
  const starts = p.replicas.map((r) => r.log_start_offset).filter((x): x is number => x !== null);
  const lo = leader?.log_start_offset ?? (starts.length ? Math.min(...starts) : 0);
  const ghosts = new Map<number, number>();
  for (const r of p.replicas) {
    if (r.log_end_offset !== null) continue;
    const g = lastKnown[laneKey(p.topic, p.partition, r.broker)];
    if (g !== undefined) ghosts.set(r.broker, g);
  }
  const ends = [
    ...p.replicas.map((r) => r.log_end_offset).filter((x): x is number => x !== null),
    ...ghosts.values(),
    ...(p.high_watermark !== null ? [p.high_watermark] : []),
  ];
  const hi = Math.max(lo, ...ends);
  const span = hi - lo;
  const pct = (x: number) => (span > 0 ? clampPct(((x - lo) / span) * 100) : 0);
  return {
    lo,
    hi,
    hwPct: p.high_watermark === null ? null : pct(p.high_watermark),
    lanes: p.replicas.map((r) => ({
      broker: r.broker,
      leo: r.log_end_offset,
      pct: r.log_end_offset === null ? 0 : pct(r.log_end_offset),
      ghostPct: ghosts.has(r.broker) ? pct(ghosts.get(r.broker)!) : null,
    })),
  };
}

/**
 * Remembers each running replica's log end offset, so a replica whose broker went down still shows where its
 * log ended. Returns `prev` itself when nothing changed (no needless re-render).
 */
export function rememberLeos(prev: LastKnown, partitions: PartitionReplication[]): LastKnown {
  let next: LastKnown | null = null;
  for (const p of partitions) {
    for (const r of p.replicas) {
      if (r.log_end_offset === null) continue;
      const k = laneKey(p.topic, p.partition, r.broker);
      if (prev[k] === r.log_end_offset) continue;
      next ??= { ...prev };
      next[k] = r.log_end_offset;
    }
  }
  return next ?? prev;
}

// ---- Health counts ----

export interface Health {
  partitions: number;
  offline: number;
  underReplicated: number;
}

export function health(partitions: PartitionReplication[]): Health {
  let offline = 0;
  let underReplicated = 0;
  for (const p of partitions) {
    if (p.offline) offline++;
    if (p.under_replicated) underReplicated++;
  }
  return { partitions: partitions.length, offline, underReplicated };
}

/**
 * Whether partitions may be offline: only when a broker does not run (stopped, killed, paused: fenced once
 * its session times out) or has replication links cut. Otherwise every partition has a leader (a restarted
 * broker's partitions come back within a heartbeat or two), and the whole-cluster view need not be asked.
 */
export function mayHaveOffline(brokers: BrokerFaultState[]): boolean {
  return brokers.some((b) => b.state !== 'running' || b.cut_from.length > 0);
}

/** Offline partitions per topic (topics with none are left out). */
export function offlineByTopic(partitions: PartitionReplication[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const p of partitions) if (p.offline) m.set(p.topic, (m.get(p.topic) ?? 0) + 1);
  return m;
}

// ---- Fault buttons ----

export const FAULT_ACTIONS: FaultAction[] = ['stop', 'start', 'kill', 'pause', 'resume', 'isolate', 'heal', 'slow-disk'];

export interface FaultOption {
  enabled: boolean;
  /** Why not, for a tooltip; empty when enabled. */
  reason: string;
}

/**
 * Which faults a broker accepts in its state (as the cluster decides them): stop, kill and slow disk a
 * running or paused broker; start a stopped or killed one; pause a running one, resume a paused one. Isolate
 * needs a link still up (to `peer`, or to any other broker), heal a link that is cut.
 */
export function faultOptions(b: BrokerFaultState, all: BrokerFaultState[], peer: number | null = null): Record<FaultAction, FaultOption> {
  const up = b.state === 'running' || b.state === 'paused';
  const down = b.state === 'stopped' || b.state === 'killed';
  const is = `Broker ${b.id} is ${b.state}`;
  const opt = (enabled: boolean, reason: string): FaultOption => ({ enabled, reason: enabled ? '' : reason });
  const others = all.map((x) => x.id).filter((id) => id !== b.id);
  const peers = peer !== null && peer !== b.id ? [peer] : others;
  const cut = new Set(b.cut_from);
  return {
    stop: opt(up, is),
    kill: opt(up, is),
    start: opt(down, `${is}: only a stopped or killed broker starts`),
    pause: opt(b.state === 'running', b.state === 'paused' ? `Broker ${b.id} is already paused` : is),
    resume: opt(b.state === 'paused', `Broker ${b.id} is not paused`),
    'slow-disk': opt(up, is),
    isolate: opt(peers.length > 0 && peers.some((p) => !cut.has(p)), peer !== null ? `The link to broker ${peer} is already cut` : `Broker ${b.id} is already cut from every other broker`),
    heal: opt(peers.some((p) => cut.has(p)), peer !== null ? `The link to broker ${peer} is not cut` : `No link of broker ${b.id} is cut`),
  };
}

const PENDING: Record<FaultAction, string> = {
  stop: 'Stopping', start: 'Starting', kill: 'Killing', pause: 'Pausing', resume: 'Resuming',
  isolate: 'Isolating', heal: 'Healing', 'slow-disk': 'Setting disk delay of',
};

/** "Stopping broker 2…" while a fault request runs (a stop waits for the leadership hand-off). */
export function pendingText(action: FaultAction, broker: number): string {
  return `${PENDING[action]} broker ${broker}…`;
}

// ---- Timeline ----

export type Tone = 'danger' | 'warn' | 'ok' | 'info';

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const nums = (v: unknown): number[] => (Array.isArray(v) ? v.filter((x): x is number => typeof x === 'number') : []);
const str = (v: unknown): string => (typeof v === 'string' ? v : String(v ?? ''));

/** The topic an event is about, or null for cluster-wide events (brokers, controller, faults). */
export function eventTopic(e: ClusterEvent): string | null {
  return typeof e.detail.topic === 'string' ? e.detail.topic : null;
}

/**
 * Whether an event belongs on the timeline filtered to `topic` (null: every event). Cluster-wide events
 * (brokers, the controller, faults) stay unless `withCluster` is false; other topics' events go.
 */
export function eventMatches(e: ClusterEvent, topic: string | null, withCluster = true): boolean {
  if (topic === null) return true;
  const t = eventTopic(e);
  return t === null ? withCluster : t === topic;
}

/** An unclean leader election: the new leader was not in the ISR, so acknowledged records may be lost. */
export function isUnclean(e: ClusterEvent): boolean {
  return e.kind === 'leader_changed' && e.detail.unclean === true;
}

export function eventTone(e: ClusterEvent): Tone {
  const d = e.detail;
  switch (e.kind) {
    case 'leader_changed':
      return d.unclean === true || num(d.to) === -1 ? 'danger' : 'warn';
    case 'truncated':
      return 'danger';
    case 'isr_changed':
      return nums(d.to).length < nums(d.from).length ? 'warn' : 'ok';
    case 'broker_fenced':
    case 'fault':
      return 'warn';
    case 'broker_unfenced':
    case 'broker_registered':
      return 'ok';
    default:
      return 'info';
  }
}

/** A plain sentence for an event: "Leader of orders-0 moved 2 → 3 (epoch 4)". */
export function eventSentence(e: ClusterEvent): string {
  const d = e.detail;
  const tp = () => partitionName(str(d.topic), num(d.partition) ?? 0);
  switch (e.kind) {
    case 'leader_changed': {
      const from = num(d.from) ?? -1;
      const to = num(d.to) ?? -1;
      const epoch = num(d.leader_epoch);
      const ep = epoch === null ? '' : ` (epoch ${epoch})`;
      let s: string;
      if (to < 0) s = `${tp()} went offline: no leader (was broker ${from})${ep}`;
      else if (from < 0) s = `${tp()} is online again: broker ${to} leads${ep}`;
      else s = `Leader of ${tp()} moved ${from} → ${to}${ep}`;
      return d.unclean === true ? `Unclean election: ${s}; records only the old ISR had may be lost` : s;
    }
    case 'isr_changed': {
      const from = nums(d.from);
      const to = nums(d.to);
      const verb = to.length < from.length ? 'shrank' : to.length > from.length ? 'grew' : 'changed';
      return `ISR of ${tp()} ${verb} to ${list(to)}`;
    }
    case 'truncated': {
      const from = num(d.from);
      const to = num(d.to);
      const n = from !== null && to !== null && from > to ? ` (${from - to} record${from - to === 1 ? '' : 's'} dropped)` : '';
      return `Broker ${num(d.broker)} truncated ${tp()} from ${from ?? '?'} to ${to ?? '?'}${n}`;
    }
    case 'controller_changed': {
      const from = num(d.from);
      const to = num(d.to);
      if (to === null) return `No active controller (was broker ${from ?? '?'})`;
      if (from === null) return `Broker ${to} became the active controller`;
      return `Active controller moved ${from} → ${to}`;
    }
    case 'broker_registered':
      return `Broker ${num(d.broker)} registered`;
    case 'broker_fenced':
      return `Broker ${num(d.broker)} fenced`;
    case 'broker_unfenced':
      return `Broker ${num(d.broker)} unfenced`;
    case 'topic_created': {
      const n = num(d.partitions) ?? 0;
      return `Topic ${str(d.topic)} created: ${n} partition${n === 1 ? '' : 's'}, replication factor ${num(d.replication_factor) ?? '?'}`;
    }
    case 'topic_deleted':
      return `Topic ${str(d.topic)} deleted`;
    case 'reassignment_started':
      return `Reassignment of ${tp()} started: target replicas ${list(nums(d.target))}`;
    case 'reassignment_completed':
      return `Reassignment of ${tp()} completed: replicas ${list(nums(d.replicas))}`;
    case 'fault': {
      const action = str(d.action);
      const detail = str(d.detail);
      const what = action === 'slow-disk' ? `slow disk on broker ${num(d.broker)}` : `${action} broker ${num(d.broker)}`;
      return `Fault: ${what}${detail ? ` (${detail})` : ''}`;
    }
    default:
      return `${e.kind.replace(/_/g, ' ')}: ${JSON.stringify(d)}`;
  }
}

/** Adds newly polled events to the kept ones: by seq, without duplicates, oldest first, the newest `max`. */
export function mergeEvents(kept: ClusterEvent[], incoming: ClusterEvent[], max = 2000): ClusterEvent[] {
  if (incoming.length === 0) return kept;
  const last = kept.length ? kept[kept.length - 1].seq : -Infinity;
  const fresh = incoming.filter((e) => e.seq > last).sort((a, b) => a.seq - b.seq);
  if (fresh.length === 0) return kept;
  const out = kept.concat(fresh);
  return out.length > max ? out.slice(out.length - max) : out;
}

// ---- acks and min.insync.replicas ----

export interface WriteOutlook {
  /** Whether an acks=all write succeeds now. */
  ok: boolean;
  text: string;
}

/**
 * What a write with `acks` to the partition meets now. With acks=all the leader accepts it only when the ISR
 * has at least min.insync.replicas members, and acknowledges once every ISR member has it; with acks=1 or 0
 * min.insync.replicas does not apply, and the record's safety is whatever the followers copy later.
 */
export function writeOutlook(p: Pick<PartitionReplication, 'isr' | 'offline' | 'replicas'>, minIsr: number | null, leaderDown = false, acks: Acks = 'all'): WriteOutlook {
  if (p.offline) return { ok: false, text: 'Offline: no leader, so every write waits and then fails; reads wait too.' };
  if (leaderDown) return { ok: false, text: "The leader's broker is down: writes wait (and retry) until the controller fences it and elects a new leader from the ISR." };
  const isr = p.isr.length;
  const rf = p.replicas.length;
  if (acks !== 'all') {
    const copies = isr <= 1
      ? 'no follower is in sync, so an acknowledged record sits on the leader alone'
      : `${isr - 1} in-sync follower${isr === 2 ? '' : 's'} copy records after the answer: a leader that fails first takes the newest with it`;
    return { ok: true, text: `ISR ${isr} of ${rf}: acks=${acks} writes succeed while there is a leader (min.insync.replicas does not apply); ${copies}.` };
  }
  if (minIsr === null) return { ok: true, text: `ISR ${isr} of ${rf}.` };
  if (minIsr > rf) return { ok: false, text: `min.insync.replicas ${minIsr} is more than the ${rf} replicas: acks=all writes can never succeed (NOT_ENOUGH_REPLICAS).` };
  if (isr < minIsr) {
    return { ok: false, text: `ISR ${isr} of ${rf} < min.insync.replicas ${minIsr}: acks=all writes are refused with NOT_ENOUGH_REPLICAS (reads still work).` };
  }
  const spare = isr - minIsr;
  const more = spare === 0 ? 'one more replica leaving the ISR stops acks=all writes' : `${spare} more replica${spare === 1 ? '' : 's'} can leave the ISR and writes still succeed`;
  return { ok: true, text: `ISR ${isr} of ${rf} ≥ min.insync.replicas ${minIsr}: acks=all writes succeed; ${more}.` };
}

/** Parses a min.insync.replicas entry: a positive integer, else null. */
export function parseMinIsr(v: string | null | undefined): number | null {
  if (v === null || v === undefined || !/^\s*\d+\s*$/.test(v)) return null;
  const n = Number(v);
  return n >= 1 ? n : null;
}

/**
 * Why an acks=all produce failed, when the replication state explains it: NOT_ENOUGH_REPLICAS is retriable,
 * so the producer retries it until its delivery timeout and the error often reads "timed out".
 */
export function produceFailureHint(message: string, refusedNow: boolean): string | null {
  if (/NOT_ENOUGH_REPLICAS/i.test(message)) {
    return 'The leader refused the write: the ISR is smaller than min.insync.replicas.';
  }
  if (refusedNow && /timed ?out/i.test(message)) {
    return 'The ISR is smaller than min.insync.replicas, so the leader answered NOT_ENOUGH_REPLICAS; the producer retries that until its delivery timeout (15 s), hence "timed out".';
  }
  return null;
}

/** A config's source in words: "set on the topic", "broker default", … */
export function configSourceLabel(source: string | null | undefined, isDefault: boolean): string {
  if (isDefault) return 'default';
  switch ((source ?? '').toUpperCase()) {
    case 'DYNAMIC_TOPIC_CONFIG':
      return 'set on the topic';
    case 'DYNAMIC_BROKER_CONFIG':
    case 'DYNAMIC_DEFAULT_BROKER_CONFIG':
      return 'set on the brokers';
    case 'STATIC_BROKER_CONFIG':
      return 'broker configuration';
    case 'DEFAULT_CONFIG':
    case '':
      return 'default';
    default:
      return (source ?? '').toLowerCase().replace(/_/g, ' ');
  }
}

// ---- What became of acknowledged writes ----

/** What each acks setting promises, in one line for the produce control. */
export const ACKS_MEANING: Record<Acks, string> = {
  all: 'the leader answers once every in-sync replica has the records (and refuses while the ISR is smaller than min.insync.replicas)',
  '1': 'the leader answers as soon as it has written the records itself; followers copy them later',
  '0': 'the producer does not wait for any answer: no offsets, and a lost record goes unnoticed',
};

/** Writes the produce control remembers, to check on them as leaders change. */
export const TRACKED_WRITES_MAX = 5;

/** Records the studio produced and a broker acknowledged: one partition, a value unique to the write. */
export interface AckedWrite {
  id: number;
  acks: Acks;
  partition: number;
  /** Acknowledged offsets, ascending (the first 1,000 of the write). */
  offsets: number[];
  value: string;
  at_ms: number;
}

/** Where an acknowledged record stands now. */
export type RecordFate = 'committed' | 'leader-only' | 'lost' | 'unknown';

export interface WriteFate {
  committed: number;
  /** On the leader, above the high watermark: no consumer sees them, and a leader change may drop them. */
  leaderOnly: number;
  /** Gone: the leader's log ends before them, or their offsets now hold other records. */
  lost: number;
  unknown: number;
  text: string;
  tone: Tone;
}

/**
 * The fate of one acknowledged record at `offset`, from the partition's state and the committed records read
 * back (offset → value; only offsets below the high watermark can be read). A committed offset holding another
 * value was truncated away and written again by a later leader.
 */
export function recordFate(offset: number, value: string, p: PartitionReplication | undefined, readBack: Map<number, string | null> | null): RecordFate {
  if (!p || p.offline || p.high_watermark === null) return 'unknown';
  if (offset < p.high_watermark) {
    if (!readBack || !readBack.has(offset)) return 'unknown';
    return readBack.get(offset) === value ? 'committed' : 'lost';
  }
  const leaderEnd = p.replicas.find((r) => r.is_leader)?.log_end_offset ?? null;
  if (leaderEnd === null) return 'unknown';
  return offset < leaderEnd ? 'leader-only' : 'lost';
}

const records = (n: number) => `${fmtNum(n)} record${n === 1 ? '' : 's'}`;

export function writeFate(w: AckedWrite, p: PartitionReplication | undefined, readBack: Map<number, string | null> | null): WriteFate {
  const f = { committed: 0, leaderOnly: 0, lost: 0, unknown: 0 };
  for (const o of w.offsets) {
    const x = recordFate(o, w.value, p, readBack);
    if (x === 'committed') f.committed++;
    else if (x === 'leader-only') f.leaderOnly++;
    else if (x === 'lost') f.lost++;
    else f.unknown++;
  }
  const parts: string[] = [];
  if (f.lost) parts.push(`${records(f.lost)} lost: the leader elected since no longer has ${f.lost === 1 ? 'it' : 'them'}`);
  if (f.leaderOnly) parts.push(`${records(f.leaderOnly)} only on the leader (above the high watermark, not yet committed)`);
  if (f.committed) parts.push(`${records(f.committed)} committed`);
  if (f.unknown) parts.push(`${records(f.unknown)} not checked now${p?.offline ? ' (the partition is offline)' : ''}`);
  const tone: Tone = f.lost ? 'danger' : f.leaderOnly || f.unknown ? 'warn' : 'ok';
  return { ...f, text: parts.join('; ') || 'No offsets to check.', tone };
}

/** The offsets to read back for a write: from its first offset up to the high watermark, at most its span. */
export function readBackRange(w: AckedWrite, p: PartitionReplication | undefined): { offset: number; limit: number } | null {
  if (!p || p.high_watermark === null || w.offsets.length === 0) return null;
  const first = w.offsets[0];
  const last = Math.min(w.offsets[w.offsets.length - 1], p.high_watermark - 1);
  if (last < first) return null;
  return { offset: first, limit: Math.min(last - first + 1, 5000) };
}
