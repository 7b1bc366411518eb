// KafkaJS across a leader failure: one producer and one consumer (a group) stay up while the test
// kills the partition leader (it creates FAILOVER_READY_FILE when it has; this script waits for it).
// Env: OXBOW_TEST_BOOTSTRAP (all brokers, comma-separated), TOPIC, KILL_SIGNAL_FILE (this script
// creates it after the first half of the records), FAILOVER_READY_FILE (the test creates it after
// the kill). Prints "kafkajs failover ok N" on success.
import { existsSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import kafkajs from 'kafkajs';

const { Kafka, logLevel } = kafkajs;
const brokers = process.env.OXBOW_TEST_BOOTSTRAP.split(',');
const topic = process.env.TOPIC;
const N = 200;
const kafka = new Kafka({ clientId: 'oxbow-e2e-failover', brokers, logLevel: logLevel.NOTHING, retry: { retries: 30, initialRetryTime: 200, maxRetryTime: 2000 } });
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
await producer.connect();
const send = async (i) => {
  // acks -1: all in-sync replicas. The client's own retries carry it across the failover.
  await producer.send({ topic, acks: -1, messages: [{ key: `k${i % 5}`, value: `v${i}` }] });
};
for (let i = 0; i < N / 2; i++) await send(i);
writeFileSync(process.env.KILL_SIGNAL_FILE, 'go');
// Bounded wait for the test to kill the leader.
for (let waited = 0; !existsSync(process.env.FAILOVER_READY_FILE); waited += 100) {
  if (waited > 60_000) throw new Error('the test never killed the leader');
  await sleep(100);
}
for (let i = N / 2; i < N; i++) await send(i);

const consumer = kafka.consumer({ groupId: `failover-${Date.now()}`, sessionTimeout: 10000 });
await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
const seen = new Set();
await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`consumed ${seen.size} of ${N}`)), 90_000);
  consumer.run({
    eachMessage: async ({ message }) => {
      seen.add(message.value.toString());
      if (seen.size === N) {
        clearTimeout(timer);
        resolve();
      }
    },
  });
});
await consumer.disconnect();
await producer.disconnect();
for (let i = 0; i < N; i++) if (!seen.has(`v${i}`)) throw new Error(`v${i} missing`);
console.log(`kafkajs failover ok ${seen.size}`);
