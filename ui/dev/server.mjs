// Development-only API stand-in: canned JSON in the studio API's shapes and a tiny WebSocket that
// streams fake records and offsets, so the UI can be worked on before/without a running studio.
// Never used by the tests. Run: `npm run dev:api` then `npm run dev` and open
// http://localhost:5173/#token=dev
import { createServer } from 'node:http';
import { createHash } from 'node:crypto';

const PORT = Number(process.env.PORT ?? 5174);
const TOKEN = 'dev';
const b64 = (s) => Buffer.from(s).toString('base64');
const now = () => Date.now();

const topics = new Map();
function addTopic(name, partitions, configs = {}) {
  topics.set(name, {
    name,
    configs,
    parts: Array.from({ length: partitions }, (_, i) => ({ partition: i, lso: i === 0 ? 40 : 0, records: [] })),
  });
}
addTopic('orders', 3, { 'cleanup.policy': 'delete', 'retention.ms': '86400000' });
addTopic('payments', 6);
addTopic('__consumer_offsets', 2);

const keys = ['user-1', 'user-2', 'user-3', 'user-4', 'user-5', null];
function produce(t, key, value, partition) {
  const p = partition ?? (key === null ? Math.floor(Math.random() * t.parts.length) : [...key].reduce((a, c) => (a * 31 + c.charCodeAt(0)) >>> 0, 7) % t.parts.length);
  const part = t.parts[p];
  const offset = part.lso + part.records.length;
  const rec = {
    partition: p, offset, timestamp_ms: now(), timestamp_type: 'CreateTime',
    key: key === null ? { is_null: true, size: 0, base64: null, truncated: false, decoded: null, decode_error: null } : { is_null: false, size: key.length, base64: b64(key), truncated: false, decoded: key, decode_error: null },
    value: { is_null: false, size: value.length, base64: b64(value), truncated: false, decoded: value, decode_error: null },
    headers: [{ key: 'source', value_base64: b64('dev'), value_string: 'dev' }],
    batch: { compression: 'none', record_bytes: value.length + 20 },
  };
  part.records.push(rec);
  return rec;
}
for (let i = 0; i < 300; i++) produce(topics.get('orders'), keys[i % keys.length], JSON.stringify({ id: i, amount: i * 3 }));

function segments(part) {
  const end = part.lso + part.records.length;
  const segs = [];
  for (let b = 0; b < end; b += 50) segs.push({ base_offset: b, next_offset: Math.min(end, b + 50), size_bytes: 4000, max_timestamp_ms: now(), active: b + 50 >= end });
  return segs.filter((s) => s.next_offset > part.lso);
}
const offsetsOf = (part) => ({ partition: part.partition, log_start_offset: part.lso, high_watermark: part.lso + part.records.length, log_end_offset: part.lso + part.records.length, segments: segments(part) });

function summary(t) {
  return { name: t.name, internal: t.name.startsWith('__'), partitions: t.parts.length, replication_factor: 1, record_count: t.parts.reduce((n, p) => n + p.records.length, 0), record_count_is_estimate: true, size_bytes: 1234, cleanup_policy: t.configs['cleanup.policy'] ?? 'delete', under_replicated: false, under_replicated_partitions: 0 };
}
const series = () => Array.from({ length: 60 }, (_, i) => Math.round(1000 + 800 * Math.sin(i / 6)));

function send(res, status, body, type = 'application/json') {
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
  res.end(type === 'application/json' ? JSON.stringify(body) : body);
}
const err = (res, status, message, kafka_error = null) => send(res, status, { error_code: status * 100 + 1, message, kafka_error });

async function body(req) {
  let s = '';
  for await (const c of req) s += c;
  return s ? JSON.parse(s) : {};
}

const server = createServer(async (req, res) => {
  const u = new URL(req.url, 'http://x');
  const path = u.pathname;
  if (!path.startsWith('/api/')) return send(res, 404, 'dev api only', 'text/plain');
  if (req.headers.authorization !== `Bearer ${TOKEN}`) return err(res, 401, 'missing or wrong token');
  const m = req.method;
  let mt;
  if (path === '/api/cluster') return send(res, 200, { mode: 'embedded', cluster_id: 'dev-cluster', controller_id: 1, brokers: [{ id: 1, host: '127.0.0.1', port: 9092, rack: null, state: 'running', is_controller: true }], topic_count: topics.size, partition_count: [...topics.values()].reduce((n, t) => n + t.parts.length, 0), under_replicated_partitions: 0, data_size_bytes: 123456, profile: 'embedded', bootstrap_servers: '127.0.0.1:9092', inside_view: true });
  if (path === '/api/metrics') return send(res, 200, { interval_ms: 1000, available: true, reason: null, produce_bytes_per_s: series(), fetch_bytes_per_s: series().map((x) => x / 2), produce_records_per_s: series().map((x) => x / 10), last_sample_ms: now() });
  if (path === '/api/charts/throughput.svg') {
    const w = Number(u.searchParams.get('width') ?? 600), h = Number(u.searchParams.get('height') ?? 200);
    const dark = u.searchParams.get('theme') === 'dark';
    const pts = series().map((v, i) => `${(i / 59) * (w - 20) + 10},${h - 10 - (v / 2000) * (h - 20)}`).join(' ');
    return send(res, 200, `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"><rect width="100%" height="100%" fill="${dark ? '#1a1f28' : '#fff'}"/><polyline points="${pts}" fill="none" stroke="#2463d6" stroke-width="2"/><text x="12" y="18" fill="${dark ? '#ddd' : '#333'}" font-size="12">dev chart (the real one comes from plotters)</text></svg>`, 'image/svg+xml');
  }
  if (path === '/api/topics' && m === 'GET') return send(res, 200, [...topics.values()].filter((t) => t.name.includes(u.searchParams.get('search') ?? '')).map(summary));
  if (path === '/api/topics' && m === 'POST') {
    const b = await body(req);
    if (topics.has(b.name)) return err(res, 409, `Topic '${b.name}' already exists.`, 'TOPIC_ALREADY_EXISTS');
    if (b.configs?.['retention.ms'] && !/^-?\d+$/.test(b.configs['retention.ms'])) return err(res, 400, `Invalid value ${b.configs['retention.ms']} for configuration retention.ms: Not a number of type LONG`, 'INVALID_CONFIG');
    addTopic(b.name, b.partitions ?? 1, b.configs ?? {});
    return send(res, 201, summary(topics.get(b.name)));
  }
  if ((mt = path.match(/^\/api\/topics\/([^/]+)(\/.*)?$/))) {
    const t = topics.get(decodeURIComponent(mt[1]));
    if (!t) return err(res, 404, `Topic '${decodeURIComponent(mt[1])}' does not exist.`, 'UNKNOWN_TOPIC_OR_PARTITION');
    const rest = mt[2] ?? '';
    if (rest === '' && m === 'DELETE') { topics.delete(t.name); res.writeHead(204); return res.end(); }
    if (rest === '') return send(res, 200, { name: t.name, topic_id: 'AAAAAAAAAAAAAAAAAAAAAA', internal: t.name.startsWith('__'), replication_factor: 1, partitions: t.parts.map((p) => ({ ...offsetsOf(p), leader: 1, replicas: [1], isr: [1], offline_replicas: [], under_replicated: false, size_bytes: 1000 })), configs_summary: { 'cleanup.policy': t.configs['cleanup.policy'] ?? 'delete' }, record_count: 1, record_count_is_estimate: true, inside_view: true });
    if (rest === '/configs' && m === 'GET') return send(res, 200, ['cleanup.policy', 'retention.ms', 'retention.bytes', 'segment.bytes', 'min.insync.replicas'].map((n) => ({ name: n, value: t.configs[n] ?? { 'cleanup.policy': 'delete', 'retention.ms': '604800000', 'retention.bytes': '-1', 'segment.bytes': '1073741824', 'min.insync.replicas': '1' }[n], source: t.configs[n] ? 'DYNAMIC_TOPIC_CONFIG' : 'DEFAULT_CONFIG', is_default: !t.configs[n], is_sensitive: false, read_only: false, synonyms: [], documentation: null })));
    if (rest === '/configs' && m === 'PATCH') { const b = await body(req); Object.assign(t.configs, b.set); for (const k of b.delete ?? []) delete t.configs[k]; res.writeHead(204); return res.end(); }
    if (rest === '/partitions') { const b = await body(req); while (t.parts.length < b.count) t.parts.push({ partition: t.parts.length, lso: 0, records: [] }); res.writeHead(204); return res.end(); }
    if (rest === '/messages' && m === 'GET') {
      const all = t.parts.flatMap((p) => p.records);
      const limit = Number(u.searchParams.get('limit') ?? 100);
      const msgs = u.searchParams.get('scope') === 'oldest' ? all.slice(0, limit) : all.slice(-limit);
      return send(res, 200, { messages: msgs, next: {}, scanned: all.length, matched: msgs.length, budget_exhausted: false });
    }
    if (rest === '/messages' && m === 'POST') {
      const b = await body(req);
      const results = [];
      for (let i = 0; i < (b.count ?? 1); i++) { const r = produce(t, b.keyed === false ? null : b.key ?? null, b.value ?? '', b.partition ?? undefined); results.push({ partition: r.partition, offset: r.offset }); }
      return send(res, 200, { results, sent: results.length });
    }
  }
  // The stand-in has no consumer groups (a real `oxbow serve` with a consumer shows them).
  if (path === '/api/groups') return send(res, 200, { groups: [], errors: [], read_at_ms: now() });
  if (/^\/api\/topics\/[^/]+\/groups$/.test(path)) return send(res, 200, []);
  if (path.startsWith('/api/groups/')) return err(res, 404, 'the dev stand-in has no consumer groups');
  // Nor transactions: an empty list, and producers without open transactions.
  if (path === '/api/transactions') return send(res, 200, { transactions: [], states: {}, errors: [], read_at_ms: now() });
  if (/^\/api\/topics\/[^/]+\/producers$/.test(path)) return send(res, 200, { topic: decodeURIComponent(path.split('/')[3]), partitions: [], read_at_ms: now() });
  // The stand-in has no replicas to show: the replication view's notice for clusters without an inside view.
  if (path === '/api/replication' || path === '/api/events' || path === '/api/faults') return send(res, 501, { error_code: 50101, message: 'the dev stand-in has no replication view', kafka_error: null });
  if (path === '/api/partitioner') { const k = u.searchParams.get('key') ?? ''; const n = Number(u.searchParams.get('partitions') ?? 1); return send(res, 200, { partitions: n, key_size: k.length, java_murmur2: k.length % n, librdkafka_consistent_random: (k.length * 7) % n, note: 'dev stand-in numbers' }); }
  if (path === '/api/profiles' && m === 'GET') return send(res, 200, { active: 'embedded', profiles: [{ name: 'embedded', bootstrap_servers: '127.0.0.1:9092', security_protocol: 'PLAINTEXT', sasl_mechanism: null, username: null, has_password: false, ca_file: null, active: true, builtin: true }, { name: 'staging', bootstrap_servers: 'kafka-staging:9093', security_protocol: 'SASL_SSL', sasl_mechanism: 'SCRAM-SHA-512', username: 'alice', has_password: true, ca_file: '/etc/ssl/ca.pem', active: false, builtin: false }] });
  return err(res, 404, `No API at ${path}`);
});

// ---- minimal WebSocket (RFC 6455): text frames only ----
function frame(text) {
  const data = Buffer.from(text);
  const len = data.length;
  const head = len < 126 ? Buffer.from([0x81, len]) : len < 65536 ? Buffer.from([0x81, 126, len >> 8, len & 255]) : Buffer.concat([Buffer.from([0x81, 127]), (() => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(len)); return b; })()]);
  return Buffer.concat([head, data]);
}
server.on('upgrade', (req, socket) => {
  const u = new URL(req.url, 'http://x');
  if (u.pathname !== '/api/ws' || u.searchParams.get('token') !== TOKEN) { socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n'); return; }
  const accept = createHash('sha1').update(req.headers['sec-websocket-key'] + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  const subs = new Map();
  let buf = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 2) {
      const op = buf[0] & 15;
      let len = buf[1] & 127, off = 2;
      if (len === 126) { len = buf.readUInt16BE(2); off = 4; } else if (len === 127) { len = Number(buf.readBigUInt64BE(2)); off = 10; }
      if (buf.length < off + 4 + len) return;
      const mask = buf.subarray(off, off + 4);
      const data = Buffer.from(buf.subarray(off + 4, off + 4 + len)).map((b, i) => b ^ mask[i % 4]);
      buf = buf.subarray(off + 4 + len);
      if (op === 8) { socket.end(); return; }
      if (op !== 1) continue;
      const msg = JSON.parse(Buffer.from(data).toString());
      if (msg.type === 'stop') { clearInterval(subs.get(msg.id)); subs.delete(msg.id); socket.write(frame(JSON.stringify({ type: 'stopped', id: msg.id }))); continue; }
      if (msg.type !== 'metrics') socket.write(frame(JSON.stringify({ type: 'subscribed', id: msg.id, kind: msg.type })));
      const t = topics.get(msg.topic);
      if (msg.type === 'tail' && t) {
        subs.set(msg.id, setInterval(() => {
          const rows = [];
          for (let i = 0; i < 3; i++) rows.push(produce(t, keys[Math.floor(Math.random() * keys.length)], JSON.stringify({ at: now(), n: i })));
          socket.write(frame(JSON.stringify({ type: 'rows', id: msg.id, rows, dropped: 0 })));
        }, 300));
      } else if (msg.type === 'offsets' && t) {
        subs.set(msg.id, setInterval(() => socket.write(frame(JSON.stringify({ type: 'offsets', id: msg.id, partitions: t.parts.map(offsetsOf) }))), 250));
      } else if (msg.type !== 'metrics') {
        socket.write(frame(JSON.stringify({ type: 'error', id: msg.id, message: `No topic ${msg.topic}` })));
      }
    }
  });
  socket.on('close', () => { for (const i of subs.values()) clearInterval(i); });
  socket.on('error', () => {});
});

server.listen(PORT, '127.0.0.1', () => console.log(`dev api on http://127.0.0.1:${PORT} (token: ${TOKEN})`));
