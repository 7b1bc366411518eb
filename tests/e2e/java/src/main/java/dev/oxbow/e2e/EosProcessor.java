package dev.oxbow.e2e;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Read-process-write with exactly-once semantics, as Kafka Streams' exactly_once_v2 does it: one
 * transactional producer per process, the consumer's offsets committed inside the producer's
 * transaction (sendOffsetsToTransaction with the consumer's group metadata), a read_committed
 * consumer. Each input record "KEY" -> "V" becomes "KEY" -> "processed:V" in the output topic.
 *
 * The test kills this process mid-stream (SIGKILL: an open transaction is left behind) and starts
 * it again with the same transactional id: InitProducerId fences the dead instance and aborts its
 * transaction, and the new one resumes from the last committed offsets. After each commit it
 * prints "committed TOTAL" (records processed by this process); it exits 0 once no input arrived
 * for idle-ms after its first record, and 2 when no record came within two minutes (a restarted
 * member may wait for the dead one's session to time out before it gets partitions).
 *
 * Args: bootstrap input-topic output-topic group transactional-id idle-ms [records-per-txn]
 */
public final class EosProcessor {
    public static void main(String[] args) throws Exception {
        String bootstrap = args[0], input = args[1], output = args[2], group = args[3], txnId = args[4];
        long idleMs = Long.parseLong(args[5]);
        int perTxnMax = args.length > 6 ? Integer.parseInt(args[6]) : 50;

        Properties c = new Properties();
        c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        c.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        c.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, String.valueOf(perTxnMax));
        c.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "6000");
        c.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "1000");
        c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());

        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, txnId);
        p.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, "20000");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());

        long total = 0;
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(c);
             KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
            producer.initTransactions();
            consumer.subscribe(List.of(input));
            long startMs = System.currentTimeMillis();
            long lastRecordMs = -1;
            // Bounded: ends idle-ms after the last record, or two minutes without a first one.
            while (lastRecordMs < 0 ? System.currentTimeMillis() - startMs < 120_000 : System.currentTimeMillis() - lastRecordMs < idleMs) {
                ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(200));
                if (records.isEmpty()) {
                    continue;
                }
                lastRecordMs = System.currentTimeMillis();
                producer.beginTransaction();
                Map<TopicPartition, OffsetAndMetadata> next = new HashMap<>();
                for (ConsumerRecord<String, String> r : records) {
                    producer.send(new ProducerRecord<>(output, r.key(), "processed:" + r.value()));
                    next.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
                }
                producer.sendOffsetsToTransaction(next, consumer.groupMetadata());
                producer.commitTransaction();
                total += records.count();
                System.out.println("committed " + total);
                System.out.flush();
            }
        }
        System.out.println("idle; done after " + total);
        if (total == 0) {
            System.exit(2);
        }
    }
}
