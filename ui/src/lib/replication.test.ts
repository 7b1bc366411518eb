import { describe, expect, it } from 'vitest';
import {
  configSourceLabel, eventMatches, eventSentence, eventTone, faultOptions, fmtClock, fmtLagMs, health, isUnclean, laneGeometry, laneKey,
  laneState, leaderUnreachable, mayHaveOffline, mergeEvents, offlineByTopic, parseMinIsr, pendingText, produceFailureHint, readBackRange, recordFate,
  rememberLeos, writeFate, writeOutlook, type AckedWrite,
} from './replication';
import { parseRoute, replicationHref } from './router.svelte';
import type { BrokerFaultState, ClusterEvent, PartitionReplication, ReplicaLane } from './types';

const lane = (broker: number, over: Partial<ReplicaLane> = {}): ReplicaLane => ({
  broker,
  is_leader: false,
  in_isr: true,
  running: true,
  fenced: false,
  adding: false,
  removing: false,
  log_end_offset: 100,
  log_start_offset: 0,
  high_watermark: 100,
  lag_records: 0,
  lag_ms: 0,
  leader_epoch: 3,
  records_truncated: 0,
  ...over,
});

const part = (replicas: ReplicaLane[], over: Partial<PartitionReplication> = {}): PartitionReplication => ({
  topic: 'orders',
  partition: 0,
  leader: replicas.find((r) => r.is_leader)?.broker ?? -1,
  leader_epoch: 3,
  high_watermark: 100,
  isr: replicas.filter((r) => r.in_isr).map((r) => r.broker),
  offline: !replicas.some((r) => r.is_leader),
  under_replicated: replicas.some((r) => !r.in_isr),
  replicas,
  ...over,
});

const broker = (id: number, state: string, over: Partial<BrokerFaultState> = {}): BrokerFaultState => ({
  id,
  state,
  kafka_address: state === 'running' || state === 'paused' ? `127.0.0.1:${9000 + id}` : null,
  disk_delay_ms: 0,
  cut_from: [],
  controller_voter: true,
  controller: false,
  ...over,
});

const ev = (kind: string, detail: Record<string, unknown>, seq = 1): ClusterEvent => ({ seq, time_ms: 0, kind, detail });

describe('lane geometry', () => {
  it('scales every replica from the log start to the furthest log end, with the high watermark between', () => {
    const p = part([
      lane(1, { is_leader: true, log_start_offset: 20, log_end_offset: 120 }),
      lane(2, { log_start_offset: 20, log_end_offset: 70, in_isr: false }),
      lane(3, { log_start_offset: 0, log_end_offset: 120 }),
    ], { high_watermark: 95 });
    const g = laneGeometry(p);
    expect([g.lo, g.hi]).toEqual([20, 120]);
    expect(g.lanes.map((l) => l.pct)).toEqual([100, 50, 100]);
    expect(g.hwPct).toBe(75);
  });

  it('keeps a follower that is ahead of the leader (before it truncates) inside the track', () => {
    const p = part([lane(1, { is_leader: true, log_end_offset: 100 }), lane(2, { log_end_offset: 200 })], { high_watermark: 100 });
    const g = laneGeometry(p);
    expect(g.hi).toBe(200);
    expect(g.lanes.map((l) => l.pct)).toEqual([50, 100]);
    expect(g.hwPct).toBe(50);
  });

  it('draws empty bars for an empty log, and a not-running replica at 0 with its last known end faded', () => {
    const empty = laneGeometry(part([lane(1, { is_leader: true, log_end_offset: 0 }), lane(2, { log_end_offset: 0 })], { high_watermark: 0 }));
    expect(empty.lanes.map((l) => l.pct)).toEqual([0, 0]);
    expect(empty.hwPct).toBe(0);

    const p = part([
      lane(1, { is_leader: true, log_end_offset: 200 }),
      lane(2, { running: false, in_isr: false, log_end_offset: null, log_start_offset: null, lag_records: null }),
    ], { high_watermark: 200 });
    const g = laneGeometry(p, { [laneKey('orders', 0, 2)]: 150 });
    expect(g.lanes[1]).toEqual({ broker: 2, leo: null, pct: 0, ghostPct: 75 });
    expect(laneGeometry(p).lanes[1].ghostPct).toBeNull();
  });

  it('has no high watermark line for an offline partition and scales by what the replicas report', () => {
    const p = part([lane(1, { log_end_offset: 40, log_start_offset: 10 }), lane(2, { running: false, log_end_offset: null, log_start_offset: null })], {
      high_watermark: null,
      leader: -1,
      offline: true,
    });
    const g = laneGeometry(p);
    expect(g.hwPct).toBeNull();
    expect([g.lo, g.hi]).toEqual([10, 40]);
    expect(g.lanes[0].pct).toBe(100);
  });

  it('remembers log ends of running replicas, and returns the same object when nothing moved', () => {
    const p = part([lane(1, { is_leader: true, log_end_offset: 5 }), lane(2, { log_end_offset: null, running: false })]);
    const a = rememberLeos({}, [p]);
    expect(a).toEqual({ 'orders/0/1': 5 });
    expect(rememberLeos(a, [p])).toBe(a);
    const b = rememberLeos(a, [part([lane(1, { is_leader: true, log_end_offset: 9 })])]);
    expect(b).not.toBe(a);
    expect(b['orders/0/1']).toBe(9);
  });
});

describe('lane state', () => {
  it('names a stopped or killed broker by its state, greyed', () => {
    const l = lane(2, { running: false, in_isr: false, log_end_offset: null });
    expect(laneState(l, broker(2, 'killed'))).toEqual({ key: 'killed', label: 'killed', dim: true });
    expect(laneState(l, broker(2, 'stopped')).key).toBe('stopped');
    expect(laneState(l, null)).toEqual({ key: 'not-running', label: 'not running', dim: true });
  });
  it('finds a leader whose broker is down before the controller moves leadership', () => {
    const p = part([lane(1, { is_leader: true, running: false, log_end_offset: null }), lane(2)]);
    expect(leaderUnreachable(p, new Map([[1, broker(1, 'killed')]]))).toBe(true);
    expect(leaderUnreachable(p, new Map())).toBe(true);
    const paused = part([lane(1, { is_leader: true }), lane(2)]);
    expect(leaderUnreachable(paused, new Map([[1, broker(1, 'paused')]]))).toBe(true);
    expect(leaderUnreachable(paused, new Map([[1, broker(1, 'running')]]))).toBe(false);
    expect(leaderUnreachable({ ...p, offline: true }, new Map())).toBe(false);
    expect(writeOutlook(paused, 1, true).ok).toBe(false);
  });
  it('tells leader, in sync, out of ISR, paused and fenced apart', () => {
    expect(laneState(lane(1, { is_leader: true }), broker(1, 'running')).key).toBe('leader');
    expect(laneState(lane(1), broker(1, 'running')).key).toBe('in-sync');
    expect(laneState(lane(1, { in_isr: false }), broker(1, 'running'))).toEqual({ key: 'out-of-sync', label: 'out of ISR', dim: false });
    expect(laneState(lane(1), broker(1, 'paused')).dim).toBe(true);
    expect(laneState(lane(1, { fenced: true, in_isr: false }), broker(1, 'running')).key).toBe('fenced');
  });
});

describe('fault buttons', () => {
  const all = [broker(1, 'running'), broker(2, 'paused'), broker(3, 'killed')];
  const enabled = (b: BrokerFaultState, peer: number | null = null) =>
    Object.entries(faultOptions(b, all, peer)).filter(([, o]) => o.enabled).map(([a]) => a).sort();

  it('offers what the broker state allows', () => {
    expect(enabled(all[0])).toEqual(['isolate', 'kill', 'pause', 'slow-disk', 'stop']);
    expect(enabled(all[1])).toEqual(['isolate', 'kill', 'resume', 'slow-disk', 'stop']);
    expect(enabled(all[2])).toEqual(['isolate', 'start']);
    expect(enabled(broker(3, 'stopped'))).toEqual(['isolate', 'start']);
  });

  it('explains a disabled button', () => {
    const o = faultOptions(all[0], all);
    expect(o.start.enabled).toBe(false);
    expect(o.start.reason).toMatch(/Broker 1 is running/);
    expect(o.stop.reason).toBe('');
  });

  it('isolates while a link is up and heals while one is cut, for all peers or one', () => {
    const cut1 = broker(1, 'running', { cut_from: [2] });
    expect(enabled(cut1)).toContain('isolate');
    expect(enabled(cut1)).toContain('heal');
    expect(enabled(cut1, 2)).not.toContain('isolate');
    expect(enabled(cut1, 3)).not.toContain('heal');
    const cutAll = broker(1, 'running', { cut_from: [2, 3] });
    expect(enabled(cutAll)).not.toContain('isolate');
    expect(faultOptions(cutAll, all).isolate.reason).toMatch(/every other broker/);
  });

  it('says what is pending', () => {
    expect(pendingText('kill', 2)).toBe('Killing broker 2…');
    expect(pendingText('slow-disk', 1)).toBe('Setting disk delay of broker 1…');
  });
});

describe('timeline sentences', () => {
  it('describes leader moves with the epoch, and flags unclean elections', () => {
    const e = ev('leader_changed', { topic: 'orders', partition: 0, from: 2, to: 3, leader_epoch: 4, unclean: false });
    expect(eventSentence(e)).toBe('Leader of orders-0 moved 2 → 3 (epoch 4)');
    expect(isUnclean(e)).toBe(false);
    expect(eventTone(e)).toBe('warn');
    const u = ev('leader_changed', { topic: 'orders', partition: 0, from: -1, to: 3, leader_epoch: 5, unclean: true });
    expect(isUnclean(u)).toBe(true);
    expect(eventTone(u)).toBe('danger');
    expect(eventSentence(u)).toMatch(/^Unclean election: orders-0 is online again: broker 3 leads \(epoch 5\); .*may be lost$/);
    const off = ev('leader_changed', { topic: 'orders', partition: 1, from: 2, to: -1, leader_epoch: 6, unclean: false });
    expect(eventSentence(off)).toBe('orders-1 went offline: no leader (was broker 2) (epoch 6)');
    expect(eventTone(off)).toBe('danger');
  });

  it('describes ISR changes, truncation, brokers, the controller and faults', () => {
    expect(eventSentence(ev('isr_changed', { topic: 'orders', partition: 0, from: [1, 2, 3], to: [1, 3] }))).toBe('ISR of orders-0 shrank to [1,3]');
    expect(eventSentence(ev('isr_changed', { topic: 'orders', partition: 0, from: [1, 3], to: [1, 3, 2] }))).toBe('ISR of orders-0 grew to [1,3,2]');
    expect(eventTone(ev('isr_changed', { topic: 'o', partition: 0, from: [1, 2], to: [1] }))).toBe('warn');
    expect(eventSentence(ev('truncated', { topic: 'orders', partition: 0, broker: 2, from: 120, to: 100 }))).toBe('Broker 2 truncated orders-0 from 120 to 100 (20 records dropped)');
    expect(eventSentence(ev('broker_fenced', { broker: 2 }))).toBe('Broker 2 fenced');
    expect(eventSentence(ev('broker_unfenced', { broker: 2 }))).toBe('Broker 2 unfenced');
    expect(eventSentence(ev('controller_changed', { from: null, to: 1 }))).toBe('Broker 1 became the active controller');
    expect(eventSentence(ev('controller_changed', { from: 1, to: 2 }))).toBe('Active controller moved 1 → 2');
    expect(eventSentence(ev('fault', { broker: 2, action: 'kill', detail: '' }))).toBe('Fault: kill broker 2');
    expect(eventSentence(ev('fault', { broker: 1, action: 'slow-disk', detail: '200 ms per append' }))).toBe('Fault: slow disk on broker 1 (200 ms per append)');
    expect(eventSentence(ev('topic_created', { topic: 'orders', partitions: 1, replication_factor: 3 }))).toBe('Topic orders created: 1 partition, replication factor 3');
    expect(eventSentence(ev('reassignment_started', { topic: 'orders', partition: 2, target: [2, 3] }))).toBe('Reassignment of orders-2 started: target replicas [2,3]');
    expect(eventSentence(ev('something_new', { x: 1 }))).toBe('something new: {"x":1}');
  });

  it('filters to a topic: other topics go, cluster-wide events stay unless asked not to', () => {
    const a = ev('isr_changed', { topic: 'orders', partition: 0, from: [1], to: [1, 2] });
    const b = ev('isr_changed', { topic: 'payments', partition: 0, from: [1], to: [1, 2] });
    const c = ev('broker_fenced', { broker: 2 });
    const d = ev('topic_deleted', { topic: 'orders' });
    expect([a, b, c, d].filter((e) => eventMatches(e, 'orders'))).toEqual([a, c, d]);
    expect([a, b, c, d].filter((e) => eventMatches(e, 'orders', false))).toEqual([a, d]);
    expect([a, b, c, d].filter((e) => eventMatches(e, null, false))).toHaveLength(4);
  });

  it('merges polled events by seq, without duplicates, keeping the newest', () => {
    const kept = [ev('x', {}, 1), ev('x', {}, 2)];
    expect(mergeEvents(kept, [])).toBe(kept);
    expect(mergeEvents(kept, [ev('x', {}, 2)])).toBe(kept);
    expect(mergeEvents(kept, [ev('x', {}, 4), ev('x', {}, 3)]).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(mergeEvents(kept, [ev('x', {}, 3), ev('x', {}, 4)], 3).map((e) => e.seq)).toEqual([2, 3, 4]);
  });
});

describe('formatting', () => {
  it('prints times of day with milliseconds', () => {
    const t = new Date(2024, 0, 2, 9, 5, 7, 45).getTime();
    expect(fmtClock(t)).toBe('09:05:07.045');
    expect(fmtClock(null)).toBe('—');
  });
  it('prints lag durations', () => {
    expect(fmtLagMs(null)).toBe('—');
    expect(fmtLagMs(0)).toBe('0 ms');
    expect(fmtLagMs(850)).toBe('850 ms');
    expect(fmtLagMs(1250)).toBe('1.2 s');
    expect(fmtLagMs(42_900)).toBe('42 s');
    expect(fmtLagMs(185_000)).toBe('3 min 5 s');
  });
});

describe('health and write outlook', () => {
  const ok = part([lane(1, { is_leader: true }), lane(2), lane(3)]);
  const under = part([lane(1, { is_leader: true }), lane(2, { in_isr: false }), lane(3)], { partition: 1 });
  const off = part([lane(1, { running: false, log_end_offset: null })], { topic: 'solo', partition: 0, offline: true, leader: -1, isr: [1], under_replicated: false });

  it('asks for offline partitions only when a broker is down or cut off', () => {
    expect(mayHaveOffline([broker(1, 'running'), broker(2, 'running')])).toBe(false);
    expect(mayHaveOffline([broker(1, 'running'), broker(2, 'killed')])).toBe(true);
    expect(mayHaveOffline([broker(1, 'paused'), broker(2, 'running')])).toBe(true);
    expect(mayHaveOffline([broker(1, 'running', { cut_from: [2] }), broker(2, 'running', { cut_from: [1] })])).toBe(true);
    expect(mayHaveOffline([])).toBe(false);
  });

  it('counts offline and under-replicated partitions, per topic', () => {
    expect(health([ok, under, off])).toEqual({ partitions: 3, offline: 1, underReplicated: 1 });
    expect([...offlineByTopic([ok, under, off])]).toEqual([['solo', 1]]);
  });

  it('explains acks=all against min.insync.replicas', () => {
    expect(writeOutlook(ok, 2)).toMatchObject({ ok: true });
    expect(writeOutlook(ok, 2).text).toMatch(/1 more replica can leave/);
    expect(writeOutlook({ ...ok, isr: [1, 3] }, 2).text).toMatch(/one more replica leaving the ISR stops/);
    const refused = writeOutlook({ ...ok, isr: [1] }, 2);
    expect(refused.ok).toBe(false);
    expect(refused.text).toMatch(/NOT_ENOUGH_REPLICAS/);
    expect(writeOutlook(ok, 4).ok).toBe(false);
    expect(writeOutlook(off, 1).ok).toBe(false);
    // acks=1 ignores min.insync.replicas: the write succeeds on the leader alone.
    const alone = writeOutlook({ ...ok, isr: [1] }, 2, false, '1');
    expect(alone.ok).toBe(true);
    expect(alone.text).toMatch(/acks=1 writes succeed.*sits on the leader alone/);
    expect(writeOutlook(off, 1, false, '0').ok).toBe(false);
    expect(writeOutlook(ok, null)).toEqual({ ok: true, text: 'ISR 3 of 3.' });
  });

  it('parses min.insync.replicas', () => {
    expect(parseMinIsr('2')).toBe(2);
    expect(parseMinIsr(' 1 ')).toBe(1);
    expect(parseMinIsr('0')).toBeNull();
    expect(parseMinIsr('two')).toBeNull();
    expect(parseMinIsr(null)).toBeNull();
  });
});

describe('replication routes', () => {
  it('parses #/replication with and without a topic', () => {
    expect(parseRoute('#/replication')).toMatchObject({ page: 'replication', topic: null });
    expect(parseRoute('#/replication/orders%2Fv2')).toMatchObject({ page: 'replication', topic: 'orders/v2' });
    expect(parseRoute('#/replication/a/b').page).toBe('notfound');
    expect(replicationHref('orders/v2')).toBe('#/replication/orders%2Fv2');
    expect(replicationHref(null)).toBe('#/replication');
  });
});

describe('produce failures', () => {
  it('explains a timed-out acks=all write by the ISR when it is too small', () => {
    expect(produceFailureHint('Message production error: MessageTimedOut (Local: Message timed out)', true)).toMatch(/NOT_ENOUGH_REPLICAS.*timed out/);
    expect(produceFailureHint('Message production error: MessageTimedOut (Local: Message timed out)', false)).toBeNull();
    expect(produceFailureHint('Broker: Not enough in-sync replicas (NOT_ENOUGH_REPLICAS)', false)).toMatch(/refused/);
    expect(produceFailureHint('bad JSON', true)).toBeNull();
  });
  it('names config sources', () => {
    expect(configSourceLabel('DYNAMIC_TOPIC_CONFIG', false)).toBe('set on the topic');
    expect(configSourceLabel('DYNAMIC_TOPIC_CONFIG', true)).toBe('default');
    expect(configSourceLabel('SOMETHING_ELSE', false)).toBe('something else');
  });
});

describe('the fate of acknowledged writes', () => {
  const write = (offsets: number[], value = 'w1'): AckedWrite => ({ id: 1, acks: '1', partition: 0, offsets, value, at_ms: 0 });
  // Leader at LEO 8, followers at 5: offsets 5-7 are on the leader only.
  const isolated = part([lane(1, { is_leader: true, log_end_offset: 8 }), lane(2, { log_end_offset: 5 }), lane(3, { log_end_offset: 5 })], { high_watermark: 5 });
  const committed = new Map<number, string | null>([[5, 'w1'], [6, 'w1'], [7, 'w1']]);

  it('counts records above the high watermark as on the leader only', () => {
    const f = writeFate(write([5, 6, 7]), isolated, new Map());
    expect([f.leaderOnly, f.committed, f.lost, f.tone]).toEqual([3, 0, 0, 'warn']);
    expect(f.text).toBe('3 records only on the leader (above the high watermark, not yet committed)');
  });

  it('counts records read back with their value as committed', () => {
    const p = part([lane(1, { is_leader: true, log_end_offset: 8 })], { high_watermark: 8 });
    const f = writeFate(write([5, 6, 7]), p, committed);
    expect([f.committed, f.tone, f.text]).toEqual([3, 'ok', '3 records committed']);
  });

  it('calls records lost when a new leader ends before them', () => {
    const newLeader = part([lane(2, { is_leader: true, log_end_offset: 6 })], { high_watermark: 5 });
    const f = writeFate(write([5, 6, 7]), newLeader, new Map());
    // 5 is below the new leader's end but above the HW: still only on the leader; 6 and 7 are gone.
    expect([f.leaderOnly, f.lost, f.tone]).toEqual([1, 2, 'danger']);
    expect(f.text).toMatch(/^2 records lost/);
  });

  it('calls records lost when their offsets now hold other records', () => {
    const p = part([lane(2, { is_leader: true, log_end_offset: 7 })], { high_watermark: 7 });
    const f = writeFate(write([5, 6]), p, new Map([[5, 'after'], [6, 'after']]));
    expect([f.lost, f.committed]).toEqual([2, 0]);
  });

  it('does not judge an offline partition or offsets it could not read', () => {
    const offline = part([lane(1, { log_end_offset: null })], { offline: true, high_watermark: null });
    const f = writeFate(write([1]), offline, null);
    expect([f.unknown, f.tone]).toEqual([1, 'warn']);
    expect(f.text).toContain('offline');
    expect(recordFate(2, 'w1', isolated, null)).toBe('unknown');
  });

  it('reads back only committed offsets of a write', () => {
    expect(readBackRange(write([5, 6, 7]), isolated)).toBeNull();
    const p = part([lane(1, { is_leader: true, log_end_offset: 9 })], { high_watermark: 7 });
    expect(readBackRange(write([5, 6, 7]), p)).toEqual({ offset: 5, limit: 2 });
  });
});
