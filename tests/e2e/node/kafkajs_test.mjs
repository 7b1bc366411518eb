// KafkaJS end-to-end check against a broker (run by tests/e2e/test_kafkajs.py).
// Usage: OXBOW_TEST_BOOTSTRAP=host:port node tests/e2e/node/kafkajs_test.mjs
// Prints "ok CHECK" per passed check; on the first failure prints "FAIL CHECK: reason" on stderr and exits 1.
// KafkaJS consumers always use a consumer group: this needs the broker's group coordinator.
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import SnappyCodec from 'kafkajs-snappy';
import lz4js from 'lz4js';
import lz4xxh32 from 'lz4js/xxh32.js';
import zstdCodec from 'zstd-codec';

const { Kafka, CompressionTypes, CompressionCodecs, ConfigResourceTypes, logLevel } = kafkajs;

const bootstrap = process.env.OXBOW_TEST_BOOTSTRAP;
if (!bootstrap) {
  console.error('OXBOW_TEST_BOOTSTRAP=host:port is required');
  process.exit(2);
}
const BASE_TS = 1_700_000_000_000;
const prefix = `kafkajs-${randomUUID().slice(0, 8)}`;

// ---- compression codecs KafkaJS lacks (gzip is built in) --------------------------------------
CompressionCodecs[CompressionTypes.Snappy] = SnappyCodec;
// Kafka accepts only LZ4 frames with independent blocks (FLG bit 5); lz4js leaves that flag clear. Its output
// is one 4 MiB block at most, hence independent already: set the flag and recompute the header checksum.
const LZ4_MAX_BLOCK = 4 << 20;
CompressionCodecs[CompressionTypes.LZ4] = () => ({
  async compress(encoder) {
    if (encoder.buffer.length > LZ4_MAX_BLOCK) throw new Error('lz4 codec: batch over 4 MiB');
    const frame = Buffer.from(lz4js.compress(encoder.buffer));
    frame[4] |= 0x20;
    frame[6] = (lz4xxh32.hash(0, frame, 4, 2) >> 8) & 0xff;
    return frame;
  },
  async decompress(buffer) {
    return Buffer.from(lz4js.decompress(buffer));
  },
});
const zstd = await new Promise((resolve) => zstdCodec.ZstdCodec.run((z) => resolve(z)));
CompressionCodecs[CompressionTypes.ZSTD] = () => ({
  async compress(encoder) {
    return Buffer.from(new zstd.Simple().compress(encoder.buffer, 3));
  },
  async decompress(buffer) {
    // Streaming handles frames without a content size (as written by some producers).
    return Buffer.from(new zstd.Streaming().decompress(buffer));
  },
});

const kafka = new Kafka({
  clientId: 'oxbow-e2e-kafkajs',
  brokers: [bootstrap],
  logLevel: logLevel.NOTHING,
  connectionTimeout: 5000,
  requestTimeout: 15000,
  retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 },
});

class CheckFailed extends Error {}
function check(cond, msg) {
  if (!cond) throw new CheckFailed(msg);
}

const admin = kafka.admin();

async function createTopic(topic, numPartitions, configEntries = []) {
  const created = await admin.createTopics({
    topics: [{ topic, numPartitions, replicationFactor: 1, configEntries }],
    waitForLeaders: true,
  });
  check(created === true, `createTopics(${topic}) returned ${created}`);
}

const BINARY = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

// Keyed records (a per-key sequence) and keyless ones, with headers and explicit timestamps.
function sampleRecords(tag, keys, perKey, keyless) {
  const out = [];
  let n = 0;
  for (let s = 0; s < perKey; s++) {
    for (let k = 0; k < keys; k++) {
      const id = `${tag}-${n}`;
      out.push({
        id,
        seq: s,
        key: k === 0 ? Buffer.from([0, 0xff, 0x6b]) : Buffer.from(`key-${k}`),
        value: Buffer.concat([Buffer.from(`${id};key=${k};seq=${s};`), BINARY]),
        headers: { id: Buffer.from(id), bin: BINARY, dup: [Buffer.from('first'), Buffer.from('second')], empty: Buffer.alloc(0) },
        timestamp: String(BASE_TS + n * 1000),
      });
      n++;
    }
  }
  for (let i = 0; i < keyless; i++) {
    const id = `${tag}-${n}`;
    out.push({ id, key: null, value: Buffer.from(`${id};keyless;${'x'.repeat(i)}`), headers: { id: Buffer.from(id) }, timestamp: String(BASE_TS + n * 1000) });
    n++;
  }
  return out;
}

function idOf(value) {
  const s = value.subarray(0, 64).toString('latin1');
  return s.slice(0, s.indexOf(';'));
}

function sameHeader(sent, got) {
  if (Array.isArray(sent)) {
    return Array.isArray(got) && got.length === sent.length && sent.every((v, i) => Buffer.compare(v, got[i]) === 0);
  }
  return Buffer.isBuffer(got) && Buffer.compare(sent, got) === 0;
}

// Every record consumed exactly once and byte for byte; per-key order; one partition per key.
function verify(topic, sent, got) {
  check(got.length === sent.length, `${topic}: consumed ${got.length} records, produced ${sent.length}`);
  const byId = new Map();
  for (const g of got) {
    const id = idOf(g.value);
    check(!byId.has(id), `${topic}: record ${id} consumed twice`);
    byId.set(id, g);
  }
  const keyPartition = new Map();
  const keyLast = new Map();
  for (const r of sent) {
    const g = byId.get(r.id);
    check(g, `${topic}: record ${r.id} not consumed`);
    check(r.key === null ? g.key === null : g.key !== null && Buffer.compare(r.key, g.key) === 0, `${r.id}: key differs`);
    check(Buffer.compare(r.value, g.value) === 0, `${r.id}: value differs`);
    check(g.timestamp === r.timestamp, `${r.id}: timestamp ${g.timestamp} != ${r.timestamp}`);
    const hk = Object.keys(r.headers);
    check(Object.keys(g.headers).length === hk.length, `${r.id}: header keys ${Object.keys(g.headers)} != ${hk}`);
    for (const k of hk) check(sameHeader(r.headers[k], g.headers[k]), `${r.id}: header ${k} differs`);
    if (r.key !== null) {
      const k = r.key.toString('hex');
      if (keyPartition.has(k)) check(keyPartition.get(k) === g.partition, `key ${k} on partitions ${keyPartition.get(k)} and ${g.partition}`);
      keyPartition.set(k, g.partition);
      const last = keyLast.get(k);
      check(last === undefined || BigInt(last) < BigInt(g.offset), `key ${k} out of order at offset ${g.offset}`);
      keyLast.set(k, g.offset);
    }
  }
}

function findErrorType(err, depth = 0) {
  if (!err || depth > 5) return [];
  const types = [err.type, err.name].filter(Boolean);
  for (const e of err.errors || []) types.push(...findErrorType(e, depth + 1));
  if (err.originalError) types.push(...findErrorType(err.originalError, depth + 1));
  if (err.cause) types.push(...findErrorType(err.cause, depth + 1));
  return types;
}

// ---- checks ----------------------------------------------------------------------------------
const toConsume = new Map(); // topic -> sent records, checked by one group consumer at the end

async function produceChecks() {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    const rt = `${prefix}-roundtrip`;
    await createTopic(rt, 3);
    const recs = sampleRecords('rt', 6, 8, 12);
    const res = await producer.send({ topic: rt, acks: -1, messages: recs });
    check(res.every((r) => r.errorCode === 0), `roundtrip produce errors: ${JSON.stringify(res)}`);
    toConsume.set(rt, recs);

    for (const [name, codec] of [['none', CompressionTypes.None], ['gzip', CompressionTypes.GZIP],
      ['snappy', CompressionTypes.Snappy], ['lz4', CompressionTypes.LZ4], ['zstd', CompressionTypes.ZSTD]]) {
      const t = `${prefix}-codec-${name}`;
      await createTopic(t, 2);
      const rs = sampleRecords(name, 4, 25, 20);
      await producer.send({ topic: t, acks: -1, compression: codec, messages: rs });
      toConsume.set(t, rs);
    }

    const large = `${prefix}-large`;
    await createTopic(large, 1);
    const big = Buffer.alloc(900_000, 7);
    Buffer.from('large-0;').copy(big);
    const lrec = [{ id: 'large-0', key: Buffer.from('big'), value: big, headers: { h: Buffer.from('v') }, timestamp: String(BASE_TS) }];
    await producer.send({ topic: large, acks: -1, messages: lrec });
    toConsume.set(large, lrec);
  } finally {
    await producer.disconnect();
  }
  console.log('ok produce (roundtrip, compression none/gzip/snappy/lz4/zstd, large record)');
}

async function idempotentCheck() {
  const t = `${prefix}-idempotent`;
  await createTopic(t, 3);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  const recs = [];
  try {
    for (let batch = 0; batch < 10; batch++) {
      const msgs = [];
      for (let i = 0; i < 100; i++) {
        const n = batch * 100 + i;
        const id = `idem-${n}`;
        msgs.push({ id, key: Buffer.from(`k${n % 30}`), value: Buffer.from(`${id};${n}`), headers: {}, timestamp: String(BASE_TS + n) });
      }
      await producer.send({ topic: t, acks: -1, messages: msgs });
      recs.push(...msgs);
    }
  } finally {
    await producer.disconnect();
  }
  toConsume.set(t, recs);
  console.log('ok idempotent produce');
}

async function tooLargeCheck() {
  const t = `${prefix}-too-large`;
  await createTopic(t, 1);
  const producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 0 } });
  await producer.connect();
  try {
    let err = null;
    try {
      await producer.send({ topic: t, acks: -1, messages: [{ key: 'k', value: Buffer.alloc(1_100_000, 1) }] });
    } catch (e) {
      err = e;
    }
    check(err !== null, 'a 1,100,000-byte record was accepted');
    const types = findErrorType(err);
    check(types.includes('MESSAGE_TOO_LARGE'), `expected MESSAGE_TOO_LARGE, got ${types.join(',')}: ${err}`);
    const ok = await producer.send({ topic: t, acks: -1, messages: [{ key: 'k', value: 'small' }] });
    check(ok[0].errorCode === 0 && ok[0].baseOffset === '0', `produce after refusal: ${JSON.stringify(ok)}`);
  } finally {
    await producer.disconnect();
  }
  console.log('ok too-large-record');
}

async function offsetsByTimeCheck() {
  const t = `${prefix}-times`;
  await createTopic(t, 1);
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    const messages = Array.from({ length: 10 }, (_, i) => ({ value: `t-${i};`, timestamp: String(BASE_TS + i * 1000) }));
    await producer.send({ topic: t, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
  const at = async (ts) => (await admin.fetchTopicOffsetsByTimestamp(t, ts))[0].offset;
  check((await at(BASE_TS + 5000)) === '5', `offset for exact ts of offset 5: ${await at(BASE_TS + 5000)}`);
  check((await at(BASE_TS + 4500)) === '5', `offset for ts between 4 and 5: ${await at(BASE_TS + 4500)}`);
  check((await at(0)) === '0', `offset for ts 0: ${await at(0)}`);
  // No record that late: KafkaJS falls back to the high watermark.
  check((await at(BASE_TS + 60_000)) === '10', `offset for ts after the end: ${await at(BASE_TS + 60_000)}`);
  const offs = await admin.fetchTopicOffsets(t);
  check(offs[0].low === '0' && offs[0].high === '10', `fetchTopicOffsets: ${JSON.stringify(offs)}`);
  console.log('ok offsets-for-times');
}

async function configsCheck() {
  const t = `${prefix}-configs`;
  await createTopic(t, 1, [{ name: 'segment.bytes', value: '1048576' }]);
  const describe = async (name) => {
    const r = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: t, configNames: [name] }], includeSynonyms: false });
    check(r.resources[0].errorCode === 0, `describeConfigs error ${r.resources[0].errorCode}`);
    return r.resources[0].configEntries.find((e) => e.configName === name);
  };
  const seg = await describe('segment.bytes');
  check(seg && seg.configValue === '1048576', `segment.bytes set at creation: ${JSON.stringify(seg)}`);
  const before = await describe('retention.ms');
  check(before && before.configValue === '604800000' && before.isDefault, `retention.ms default: ${JSON.stringify(before)}`);
  await admin.alterConfigs({
    validateOnly: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: t, configEntries: [{ name: 'retention.ms', value: '3600000' }] }],
  });
  // Committed by the controller; the described broker may apply it a moment later (as in Kafka).
  let after = await describe('retention.ms');
  for (let i = 0; i < 200 && !(after && after.configValue === '3600000'); i += 1) {
    await new Promise((r) => setTimeout(r, 50));
    after = await describe('retention.ms');
  }
  check(after && after.configValue === '3600000' && !after.isDefault, `retention.ms after alterConfigs: ${JSON.stringify(after)}`);
  console.log('ok configs');
}

async function deleteTopicCheck() {
  const t = `${prefix}-delete`;
  await createTopic(t, 2);
  check((await admin.listTopics()).includes(t), 'topic listed after create');
  await admin.deleteTopics({ topics: [t], timeout: 15000 });
  const deadline = Date.now() + 30_000;
  while ((await admin.listTopics()).includes(t)) {
    check(Date.now() < deadline, 'topic still listed 30 s after delete');
    await new Promise((r) => setTimeout(r, 100));
  }
  console.log('ok delete-topic');
}

async function consumeCheck() {
  const consumer = kafka.consumer({ groupId: `${prefix}-group`, maxWaitTimeInMs: 200, sessionTimeout: 10000, rebalanceTimeout: 10000 });
  const got = new Map([...toConsume.keys()].map((t) => [t, []]));
  const total = [...toConsume.values()].reduce((a, r) => a + r.length, 0);
  let count = 0;
  let resolveDone;
  const done = new Promise((r) => { resolveDone = r; });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [...toConsume.keys()], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        got.get(topic).push({ partition, offset: message.offset, key: message.key, value: message.value, headers: message.headers, timestamp: message.timestamp });
        if (++count >= total) resolveDone();
      },
    });
    const timeout = new Promise((_, rej) => setTimeout(() => rej(new CheckFailed(`consumed ${count} of ${total} records within 60 s`)), 60_000));
    await Promise.race([done, timeout]);
    // Give a duplicate (if any) a moment to show up.
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    await consumer.disconnect();
  }
  for (const [t, sent] of toConsume) verify(t, sent, got.get(t));
  console.log(`ok consume with a consumer group (${count} records in ${toConsume.size} topics)`);
}

let current = 'connect';
try {
  await admin.connect();
  for (const [name, fn] of [['produce', produceChecks], ['idempotent', idempotentCheck], ['too-large-record', tooLargeCheck],
    ['offsets-for-times', offsetsByTimeCheck], ['configs', configsCheck], ['delete-topic', deleteTopicCheck],
    ['consume', consumeCheck]]) {
    current = name;
    await fn();
  }
  await admin.disconnect();
  process.exit(0);
} catch (e) {
  console.error(`FAIL ${current}: ${e instanceof CheckFailed ? e.message : (e && e.stack) || e}`);
  if (e && !(e instanceof CheckFailed)) console.error(`error types: ${findErrorType(e).join(',')}`);
  process.exit(1);
}
