import { beforeAll, describe, expect, it } from 'vitest';

// A stand-in WebSocket that records what the client sends and lets the test push server messages.
class FakeSocket {
  static OPEN = 1;
  static last: FakeSocket | null = null;
  readyState = 0;
  sent: Record<string, unknown>[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((ev: { data: string }) => void) | null = null;
  onclose: ((ev: { code: number }) => void) | null = null;
  constructor(public url: string) {
    FakeSocket.last = this;
  }
  send(text: string) {
    this.sent.push(JSON.parse(text));
  }
  close() {
    this.readyState = 3;
  }
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  push(m: unknown) {
    this.onmessage?.({ data: JSON.stringify(m) });
  }
}

let live: typeof import('./api').live;

beforeAll(async () => {
  const g = globalThis as Record<string, unknown>;
  g.window = { location: { href: 'http://127.0.0.1:8080/#/', hash: '#/', pathname: '/', search: '' }, __OXBOW_TOKEN__: 'tok' };
  g.WebSocket = FakeSocket;
  const api = await import('./api');
  const { initToken } = api;
  (g.window as Record<string, unknown>).history = { state: null, replaceState: () => {} };
  initToken();
  live = api.live;
});

describe('live socket', () => {
  it('maps server-assigned ids back to subscriptions and stops with the server id', () => {
    const offsets: unknown[] = [];
    const rows: unknown[] = [];
    const errors: string[] = [];
    const stopO = live.subscribe({ type: 'offsets', topic: 't' }, (m) => offsets.push(m));
    const ws = FakeSocket.last!;
    expect(ws.url).toBe('ws://127.0.0.1:8080/api/ws?token=tok');
    const stopT = live.subscribe({ type: 'tail', topic: 't' }, (m) => (m.type === 'rows' ? rows.push(m) : errors.push((m as { message: string }).message)));
    const stopBad = live.subscribe({ type: 'tail', topic: 'missing' }, (m) => m.type === 'error' && errors.push(m.message));
    ws.open();
    expect(ws.sent.map((m) => m.type)).toEqual(['offsets', 'tail', 'tail']);

    ws.push({ type: 'subscribed', id: 7, kind: 'offsets' });
    ws.push({ type: 'subscribed', id: 8, kind: 'tail' });
    ws.push({ type: 'error', id: null, message: 'no topic missing' }); // answers the third request
    ws.push({ type: 'offsets', id: 7, topic: 't', partitions: [] });
    ws.push({ type: 'rows', id: 8, rows: [{ partition: 0 }], dropped: 0 });
    ws.push({ type: 'rows', id: 99, rows: [], dropped: 0 }); // unknown: ignored
    expect(offsets).toHaveLength(1);
    expect(rows).toHaveLength(1);
    expect(errors).toEqual(['no topic missing']);

    stopT();
    expect(ws.sent.at(-1)).toEqual({ type: 'stop', id: 8 });
    ws.push({ type: 'rows', id: 8, rows: [{}], dropped: 0 });
    expect(rows).toHaveLength(1);
    stopBad();
    stopO();
    expect(ws.readyState).toBe(3); // last subscription gone: socket closed
  });

  it('also accepts a server that echoes the client ids', () => {
    const got: unknown[] = [];
    const stop = live.subscribe({ type: 'metrics' }, (m) => got.push(m));
    const ws = FakeSocket.last!;
    ws.open();
    const id = ws.sent[0].id as string;
    ws.push({ type: 'metrics', id, metrics: { interval_ms: 1000 } });
    expect(got).toEqual([{ type: 'metrics', id, metrics: { interval_ms: 1000 }, interval_ms: 1000 }]);
    stop();
  });
});
