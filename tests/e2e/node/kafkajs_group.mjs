// One KafkaJS member of a consumer group (run by tests/e2e/test_groups.py).
// Usage: node tests/e2e/node/kafkajs_group.mjs BOOTSTRAP TOPIC GROUP
// Prints one JSON line per event on stdout: {"event":"assigned","generation":G,"member":"ID","partitions":[..]}
// and {"event":"record","p":P,"o":O,"k":"K","v":"V"}; every record's offset is committed before the next one.
// A line "stop" on stdin (or its end) disconnects, which leaves the group.
import kafkajs from 'kafkajs';
import readline from 'node:readline';

const { Kafka, PartitionAssigners, logLevel } = kafkajs;
const [bootstrap, topic, groupId] = process.argv.slice(2);
if (!groupId) {
  console.error('usage: kafkajs_group.mjs BOOTSTRAP TOPIC GROUP');
  process.exit(2);
}

const emit = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const kafka = new Kafka({
  clientId: 'kafkajs-member',
  brokers: [bootstrap],
  logLevel: process.env.KJS_DEBUG ? logLevel.DEBUG : logLevel.NOTHING,
  retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 2000 },
});
// KafkaJS's round-robin assigner under the name the Java, librdkafka and kafka-python clients use
// ("roundrobin"), so all four agree on a protocol; its metadata and assignments are the standard
// consumer protocol's.
const roundrobin = (args) => ({ ...PartitionAssigners.roundRobin(args), name: 'roundrobin' });
const consumer = kafka.consumer({ groupId, sessionTimeout: 30000, heartbeatInterval: 1000, rebalanceTimeout: 30000, partitionAssigners: [roundrobin] });
consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
  const parts = (payload.memberAssignment[topic] || []).slice().sort((a, b) => a - b);
  emit({ event: 'assigned', generation: -1, member: payload.memberId, partitions: parts });
});

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await consumer.disconnect();
  emit({ event: 'closed' });
  process.exit(0);
}
readline.createInterface({ input: process.stdin }).on('line', (l) => l.trim() === 'stop' && stop()).on('close', stop);

await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
await consumer.run({
  autoCommit: false,
  eachMessage: async ({ partition, message }) => {
    emit({ event: 'record', p: partition, o: Number(message.offset), k: message.key && message.key.toString(), v: message.value && message.value.toString() });
    await consumer.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
  },
});
