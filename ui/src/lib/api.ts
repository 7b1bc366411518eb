// The one backend interface of the studio UI: HTTP (fetch, bearer token) and one multiplexed WebSocket.
// Used unchanged in a browser and in the desktop (Tauri) window.

import { resolveToken, TOKEN_KEY, wsUrl } from './token';
import { normalizeDetail } from './types';
import type {
  ApiErrorBody, BrokerFaultState, Cluster, ClusterEvent, ConfigEntry, FaultRequest, GroupDetail, GroupEvent, GroupLagSeries,
  GroupList, Metrics, MessagesPage, PartitionerResult, ProduceRequest, ProduceResult, Profile, RawTopicDetail, ReplicationView,
  ResetRequest, ResetResult, TopicGroupOffsets, TopicProducers, TopicSummary, TransactionList, WsIn,
} from './types';

declare global {
  interface Window {
    __OXBOW_TOKEN__?: string;
    __OXBOW_API_BASE__?: string;
  }
}

export class ApiError extends Error {
  status: number;
  code: number | string | null;
  kafkaError: string | null;
  constructor(status: number, message: string, code: number | string | null = null, kafkaError: string | null = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.kafkaError = kafkaError;
  }
}

let token: string | null = null;
const unauthorizedListeners = new Set<() => void>();

function storage(): Storage | null {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}

/** Reads the token once at start-up and removes it from the address bar. */
export function initToken(): string | null {
  const r = resolveToken({
    hash: window.location.hash,
    injected: window.__OXBOW_TOKEN__,
    stored: storage()?.getItem(TOKEN_KEY) ?? null,
  });
  token = r.token;
  if (token) storage()?.setItem(TOKEN_KEY, token);
  if (r.newHash !== null) {
    const url = window.location.pathname + window.location.search + (r.newHash || '#/');
    window.history.replaceState(window.history.state, '', url);
  }
  return token;
}

export function setToken(t: string): void {
  token = t.trim() || null;
  if (token) storage()?.setItem(TOKEN_KEY, token);
  else storage()?.removeItem(TOKEN_KEY);
}

export function hasToken(): boolean {
  return token !== null;
}

export function onUnauthorized(cb: () => void): () => void {
  unauthorizedListeners.add(cb);
  return () => unauthorizedListeners.delete(cb);
}

function base(): string {
  return window.__OXBOW_API_BASE__ || window.location.href;
}

function url(path: string, query?: Record<string, string | number | boolean | null | undefined>): string {
  const u = new URL(path, base());
  if (query) {
    for (const [k, v] of Object.entries(query)) {
      if (v !== undefined && v !== null && v !== '') u.searchParams.set(k, String(v));
    }
  }
  return u.toString();
}

async function errorFrom(res: Response): Promise<ApiError> {
  let body: Partial<ApiErrorBody> | null = null;
  let text = '';
  try {
    text = await res.text();
    body = JSON.parse(text) as Partial<ApiErrorBody>;
  } catch {
    body = null;
  }
  const message = body?.message || text.trim().slice(0, 300) || `${res.status} ${res.statusText || 'error'}`;
  return new ApiError(res.status, message, body?.error_code ?? null, body?.kafka_error ?? null);
}

async function raw(method: string, path: string, opts: { query?: Record<string, string | number | boolean | null | undefined>; body?: unknown; signal?: AbortSignal } = {}): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(url(path, opts.query), {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: opts.signal,
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError(0, `Cannot reach the studio service (${(e as Error).message}). Is \`oxbow serve\` running?`);
  }
  if (res.status === 401) {
    for (const cb of unauthorizedListeners) cb();
  }
  if (!res.ok) throw await errorFrom(res);
  return res;
}

async function json<T>(method: string, path: string, opts: Parameters<typeof raw>[2] = {}): Promise<T> {
  const res = await raw(method, path, opts);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  if (!text) return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ApiError(res.status, `The studio answered ${path} with something that is not JSON.`);
  }
}

const enc = encodeURIComponent;

export interface MessageQuery {
  scope: string;
  offset?: number | null;
  timestamp_ms?: number | null;
  partitions?: number[] | null;
  limit?: number;
  key_decoder?: string;
  value_decoder?: string;
  filter?: string;
  filter_in?: string;
}

export const api = {
  cluster: (signal?: AbortSignal) => json<Cluster>('GET', '/api/cluster', { signal }),
  metrics: (signal?: AbortSignal) => json<Metrics>('GET', '/api/metrics', { signal }),
  /** Fetches the plotters SVG (with the token, which an <img src> cannot send) as a blob. */
  throughputSvg: async (width: number, height: number, theme: 'light' | 'dark', signal?: AbortSignal) => {
    const res = await raw('GET', '/api/charts/throughput.svg', { query: { width, height, theme }, signal });
    return res.blob();
  },
  topics: (search = '', includeInternal = false, signal?: AbortSignal) =>
    json<TopicSummary[]>('GET', '/api/topics', { query: { search, include_internal: includeInternal }, signal }),
  createTopic: (body: { name: string; partitions: number; replication_factor: number; configs: Record<string, string> }) =>
    json<TopicSummary>('POST', '/api/topics', { body }),
  deleteTopic: (name: string) => json<void>('DELETE', `/api/topics/${enc(name)}`),
  topic: async (name: string, signal?: AbortSignal) => normalizeDetail(await json<RawTopicDetail>('GET', `/api/topics/${enc(name)}`, { signal })),
  /** Log start offset and high watermark per partition, null where the cluster did not say. */
  topicBounds: async (name: string, signal?: AbortSignal) => {
    const d = await json<RawTopicDetail>('GET', `/api/topics/${enc(name)}`, { signal });
    const out: Record<number, { low: number | null; high: number | null }> = {};
    for (const p of d.partitions) out[p.partition] = { low: p.log_start_offset, high: p.high_watermark };
    return out;
  },
  configs: (name: string) => json<ConfigEntry[]>('GET', `/api/topics/${enc(name)}/configs`),
  patchConfigs: (name: string, set: Record<string, string>, del: string[]) =>
    json<unknown>('PATCH', `/api/topics/${enc(name)}/configs`, { body: { set, delete: del } }),
  addPartitions: (name: string, count: number) =>
    json<unknown>('POST', `/api/topics/${enc(name)}/partitions`, { body: { count } }),
  messages: (name: string, q: MessageQuery, signal?: AbortSignal) =>
    json<MessagesPage>('GET', `/api/topics/${enc(name)}/messages`, {
      query: {
        scope: q.scope,
        offset: q.scope === 'offset' ? q.offset : undefined,
        timestamp_ms: q.scope === 'timestamp' ? q.timestamp_ms : undefined,
        partitions: q.partitions && q.partitions.length ? q.partitions.join(',') : undefined,
        limit: q.limit,
        key_decoder: q.key_decoder,
        value_decoder: q.value_decoder,
        filter: q.filter,
        filter_in: q.filter ? q.filter_in : undefined,
      },
      signal,
    }),
  produce: (name: string, body: ProduceRequest) =>
    json<ProduceResult>('POST', `/api/topics/${enc(name)}/messages`, { body }),
  partitioner: (key: string, partitions: number, encoding = 'string', signal?: AbortSignal) =>
    json<PartitionerResult>('GET', '/api/partitioner', { query: { key, partitions, encoding }, signal }),
  profiles: () => json<Profile[] | { profiles: Profile[]; active?: string | null }>('GET', '/api/profiles'),
  addProfile: (p: Record<string, unknown>) => json<Profile>('POST', '/api/profiles', { body: p }),
  deleteProfile: (name: string) => json<void>('DELETE', `/api/profiles/${enc(name)}`),
  activateProfile: (name: string) => json<unknown>('PUT', '/api/profiles/active', { body: { name } }),
  /** The embedded cluster's replicas and brokers (501 for an external cluster: no inside view). */
  replication: (topic: string | null = null, signal?: AbortSignal) =>
    json<ReplicationView>('GET', '/api/replication', { query: { topic }, signal }),
  /** The brokers' fault states alone (`brokers_only`): no partition lanes are built. */
  replicationBrokers: async (signal?: AbortSignal) =>
    (await json<ReplicationView>('GET', '/api/replication', { query: { brokers_only: 'true' }, signal })).brokers,
  /** Cluster timeline events after `since`, oldest first. */
  events: (since = 0, signal?: AbortSignal) => json<ClusterEvent[]>('GET', '/api/events', { query: { since }, signal }),
  fault: (req: FaultRequest) => json<BrokerFaultState>('POST', '/api/faults', { body: req }),
  /** Consumer groups with state, members, topics and total lag (the list is reused for a second or two). */
  groups: (search = '', state = '', signal?: AbortSignal) =>
    json<GroupList>('GET', '/api/groups', { query: { search, state }, signal }),
  group: (id: string, signal?: AbortSignal) => json<GroupDetail>('GET', `/api/groups/${enc(id)}`, { signal }),
  deleteGroup: (id: string) => json<void>('DELETE', `/api/groups/${enc(id)}`),
  /** The group's sampled lag (every 2 s, 10 minutes back). */
  groupLag: (id: string, signal?: AbortSignal) => json<GroupLagSeries>('GET', `/api/groups/${enc(id)}/lag`, { signal }),
  groupTimeline: (id: string, signal?: AbortSignal) => json<GroupEvent[]>('GET', `/api/groups/${enc(id)}/timeline`, { signal }),
  /** A preview (`dry_run`) or the reset itself; 409 while the group is active. */
  resetOffsets: (id: string, body: ResetRequest) => json<ResetResult>('POST', `/api/groups/${enc(id)}/offsets/reset`, { body }),
  deleteGroupOffsets: (id: string, topic: string) => json<void>('DELETE', `/api/groups/${enc(id)}/offsets`, { query: { topic } }),
  /** Every group's committed offsets on one topic (the partition strips' markers). */
  topicGroups: (topic: string, signal?: AbortSignal) => json<TopicGroupOffsets[]>('GET', `/api/topics/${enc(topic)}/groups`, { signal }),
  /** Every broker's transactional ids with state, producer, timeout, age and partitions; open ones first. */
  transactions: (search = '', state = '', signal?: AbortSignal) =>
    json<TransactionList>('GET', '/api/transactions', { query: { search, state }, signal }),
  /** Each partition's producers (DescribeProducers), open transactions and last stable offset. */
  topicProducers: (topic: string, signal?: AbortSignal) => json<TopicProducers>('GET', `/api/topics/${enc(topic)}/producers`, { signal }),
};

/** Whether an error says the cluster has no inside view (an external cluster): 501 Not Implemented. */
export function isNotEmbedded(e: unknown): boolean {
  return e instanceof ApiError && e.status === 501;
}

// ---- WebSocket: one connection, many subscriptions ----
// The client sends each subscription with its own id; the studio answers `{"type":"subscribed","id":N}`
// with the id it assigned (in request order) and tags pushed messages with that id. Both are mapped
// back to the local subscription here, so a server that echoes the client's id works as well.

type Handler = (m: WsIn) => void;

interface Sub {
  local: string;
  msg: Record<string, unknown>;
  handler: Handler;
  server: string | null; // id assigned by the server, once known
}

export type SocketState = 'connecting' | 'open' | 'closed';

class LiveSocket {
  private ws: WebSocket | null = null;
  private subs = new Map<string, Sub>(); // by local id
  private byServer = new Map<string, Sub>(); // by server id
  private pending: Sub[] = []; // sent, awaiting "subscribed"
  private seq = 0;
  private retry = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stateListeners = new Set<(s: SocketState) => void>();
  state: SocketState = 'closed';

  onState(cb: (s: SocketState) => void): () => void {
    this.stateListeners.add(cb);
    cb(this.state);
    return () => this.stateListeners.delete(cb);
  }

  private setState(s: SocketState) {
    this.state = s;
    for (const cb of this.stateListeners) cb(s);
  }

  private send(sub: Sub) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    this.pending.push(sub);
    this.ws.send(JSON.stringify({ ...sub.msg, id: sub.local }));
  }

  private connect() {
    if (this.ws || this.subs.size === 0) return;
    this.setState('connecting');
    const ws = new WebSocket(wsUrl(base(), token));
    this.ws = ws;
    ws.onopen = () => {
      this.retry = 0;
      this.setState('open');
      for (const s of this.subs.values()) this.send(s);
    };
    ws.onmessage = (ev) => {
      let m: Record<string, unknown>;
      try {
        m = JSON.parse(typeof ev.data === 'string' ? ev.data : '') as Record<string, unknown>;
      } catch {
        return;
      }
      this.dispatch(m);
    };
    ws.onclose = (ev) => {
      this.ws = null;
      this.pending = [];
      this.byServer.clear();
      for (const s of this.subs.values()) s.server = null;
      this.setState('closed');
      if (ev.code === 4401 || ev.code === 1008) for (const cb of unauthorizedListeners) cb();
      if (this.subs.size > 0 && !this.timer) {
        const delay = Math.min(10_000, 500 * 2 ** this.retry++);
        this.timer = setTimeout(() => {
          this.timer = null;
          this.connect();
        }, delay);
      }
    };
  }

  private dispatch(m: Record<string, unknown>) {
    const id = m.id === undefined || m.id === null ? null : String(m.id);
    if (m.type === 'subscribed') {
      const sub = this.pending.shift();
      if (!sub || id === null) return;
      if (!this.subs.has(sub.local)) {
        // Stopped before the server confirmed it.
        this.ws?.send(JSON.stringify({ type: 'stop', id: m.id }));
        return;
      }
      sub.server = id;
      this.byServer.set(id, sub);
      return;
    }
    if (m.type === 'stopped') return;
    let sub = id !== null ? (this.byServer.get(id) ?? this.subs.get(id)) : undefined;
    if (!sub && m.type === 'error' && id === null) {
      // An error without an id answers the oldest subscription request still waiting.
      sub = this.pending.shift();
      if (!sub) {
        for (const s of this.subs.values()) s.handler(m as unknown as WsIn);
        return;
      }
    }
    if (!sub || !this.subs.has(sub.local)) return;
    if (m.type === 'metrics' && m.metrics && typeof m.metrics === 'object') m = { ...m, ...(m.metrics as object) };
    sub.handler({ ...m, id: sub.local } as unknown as WsIn);
  }

  /** Starts a stream (`tail`, `offsets`, `metrics`); returns a function that stops it. */
  subscribe(msg: Record<string, unknown> & { type: string }, handler: Handler): () => void {
    const local = `${msg.type[0]}${++this.seq}`;
    const sub: Sub = { local, msg, handler, server: null };
    this.subs.set(local, sub);
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.send(sub);
    else this.connect();
    return () => {
      if (!this.subs.delete(local)) return;
      if (sub.server !== null) {
        this.byServer.delete(sub.server);
        const n = Number(sub.server);
        if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type: 'stop', id: Number.isFinite(n) && String(n) === sub.server ? n : sub.server }));
      }
      if (this.subs.size === 0 && this.ws) {
        const w = this.ws;
        this.ws = null;
        this.pending = [];
        this.byServer.clear();
        w.onclose = null;
        w.close();
        this.setState('closed');
      }
    };
  }
}

export const live = new LiveSocket();

export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) {
    return e.kafkaError && !e.message.includes(e.kafkaError) ? `${e.message} (${e.kafkaError})` : e.message;
  }
  if (e instanceof Error) return e.message;
  return String(e);
}
