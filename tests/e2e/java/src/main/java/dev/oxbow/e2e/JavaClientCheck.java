package dev.oxbow.e2e;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * End-to-end check of the Apache Kafka Java client (kafka-clients 4.x) against a broker.
 *
 * Usage: JavaClientCheck BOOTSTRAP [CHECK...]   (no CHECK = all of them)
 * Prints "ok CHECK" per passed check; on the first failure prints "FAIL CHECK: reason" on stderr and exits 1.
 * Consumers use assign() (no consumer group); the producer is idempotent (the Java client's default).
 */
public final class JavaClientCheck {
    static final long BASE_TS = 1_700_000_000_000L;
    static final Duration TIMEOUT = Duration.ofSeconds(30);
    static String bootstrap;
    static String prefix;
    static Admin admin;

    /** One record as produced, compared byte for byte with what is consumed. */
    record Rec(byte[] key, byte[] value, List<Header> headers, long ts) {}

    /** One record as consumed. */
    record Got(int partition, long offset, byte[] key, byte[] value, List<Header> headers, long ts) {}

    static final class CheckFailed extends RuntimeException {
        CheckFailed(String msg) { super(msg); }
    }

    static void check(boolean cond, String msg) {
        if (!cond) throw new CheckFailed(msg);
    }

    interface Check { void run() throws Exception; }

    public static void main(String[] args) {
        if (args.length < 1) {
            System.err.println("usage: JavaClientCheck BOOTSTRAP [CHECK...]");
            System.exit(2);
        }
        bootstrap = args[0];
        prefix = "java-" + UUID.randomUUID().toString().substring(0, 8);
        Map<String, Check> checks = new LinkedHashMap<>();
        checks.put("roundtrip", JavaClientCheck::roundtrip);
        for (String codec : List.of("none", "gzip", "snappy", "lz4", "zstd")) {
            checks.put("compression-" + codec, () -> compression(codec));
        }
        checks.put("idempotent", JavaClientCheck::idempotent);
        checks.put("large-record", JavaClientCheck::largeRecord);
        checks.put("too-large-record", JavaClientCheck::tooLargeRecord);
        checks.put("offsets-for-times", JavaClientCheck::offsetsForTimes);
        checks.put("configs", JavaClientCheck::configs);
        checks.put("create-errors-and-partitions", JavaClientCheck::createErrorsAndPartitions);
        checks.put("delete-topic", JavaClientCheck::deleteTopic);

        List<String> wanted = args.length > 1 ? Arrays.asList(args).subList(1, args.length) : List.copyOf(checks.keySet());
        Properties ap = new Properties();
        ap.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        ap.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000");
        int code = 0;
        try (Admin a = Admin.create(ap)) {
            admin = a;
            for (String name : wanted) {
                Check c = checks.get(name);
                if (c == null) {
                    System.err.println("FAIL " + name + ": no such check; known: " + checks.keySet());
                    code = 2;
                    break;
                }
                long t0 = System.nanoTime();
                try {
                    c.run();
                    System.out.printf("ok %s (%d ms)%n", name, (System.nanoTime() - t0) / 1_000_000);
                    System.out.flush();
                } catch (Throwable e) {
                    System.err.println("FAIL " + name + ": " + describe(e));
                    if (!(e instanceof CheckFailed)) e.printStackTrace();
                    code = 1;
                    break;
                }
            }
        }
        System.exit(code);
    }

    static String describe(Throwable e) {
        StringBuilder sb = new StringBuilder(e.toString());
        for (Throwable c = e.getCause(); c != null; c = c.getCause()) sb.append(" <- ").append(c);
        return sb.toString();
    }

    // ---------------------------------------------------------------- helpers

    static String topic(String what) { return prefix + "-" + what; }

    static void createTopic(String name, int partitions, Map<String, String> configs) throws Exception {
        NewTopic nt = new NewTopic(name, partitions, (short) 1).configs(configs);
        admin.createTopics(List.of(nt)).all().get(30, TimeUnit.SECONDS);
    }

    static KafkaProducer<byte[], byte[]> producer(Map<String, Object> extra) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "30000");
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "15000");
        p.putAll(extra);
        return new KafkaProducer<>(p);
    }

    static KafkaConsumer<byte[], byte[]> consumer() {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "100");
        return new KafkaConsumer<>(p);
    }

    /** Produces every record, waits for all acks, returns the metadata in send order. */
    static List<RecordMetadata> produce(KafkaProducer<byte[], byte[]> producer, String topic, List<Rec> recs)
            throws Exception {
        List<Future<RecordMetadata>> futures = new ArrayList<>();
        for (Rec r : recs) {
            futures.add(producer.send(new ProducerRecord<>(topic, null, r.ts(), r.key(), r.value(), r.headers())));
        }
        producer.flush();
        List<RecordMetadata> out = new ArrayList<>();
        for (Future<RecordMetadata> f : futures) out.add(f.get(30, TimeUnit.SECONDS));
        return out;
    }

    /** Reads every partition of the topic from the beginning up to its end offset at the time of the call. */
    static List<Got> consumeAll(String topic) {
        try (KafkaConsumer<byte[], byte[]> c = consumer()) {
            List<TopicPartition> tps = new ArrayList<>();
            c.partitionsFor(topic, TIMEOUT).forEach(pi -> tps.add(new TopicPartition(topic, pi.partition())));
            c.assign(tps);
            c.seekToBeginning(tps);
            Map<TopicPartition, Long> end = c.endOffsets(tps, TIMEOUT);
            List<Got> got = new ArrayList<>();
            long deadline = System.nanoTime() + TIMEOUT.toNanos();
            while (true) {
                boolean done = true;
                for (TopicPartition tp : tps) if (c.position(tp, TIMEOUT) < end.get(tp)) done = false;
                if (done) break;
                check(System.nanoTime() < deadline, "timed out consuming " + topic + "; end offsets " + end);
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    got.add(new Got(r.partition(), r.offset(), r.key(), r.value(),
                            Arrays.asList(r.headers().toArray()), r.timestamp()));
                }
            }
            return got;
        }
    }

    static byte[] b(String s) { return s == null ? null : s.getBytes(StandardCharsets.UTF_8); }

    static String idOf(byte[] value) {
        String s = new String(value, 0, Math.min(value.length, 40), StandardCharsets.ISO_8859_1);
        return s.substring(0, s.indexOf(';'));
    }

    /** Keyed records (several per key, with a per-key sequence) and keyless ones; binary bytes, headers, timestamps. */
    static List<Rec> sampleRecords(String tag, int keys, int perKey, int keyless) {
        List<Rec> out = new ArrayList<>();
        byte[] binary = new byte[256];
        for (int i = 0; i < 256; i++) binary[i] = (byte) i;
        int n = 0;
        for (int s = 0; s < perKey; s++) {
            for (int k = 0; k < keys; k++) {
                String id = tag + "-" + n;
                byte[] head = b(id + ";key=" + k + ";seq=" + s + ";");
                byte[] value = new byte[head.length + binary.length];
                System.arraycopy(head, 0, value, 0, head.length);
                System.arraycopy(binary, 0, value, head.length, binary.length);
                List<Header> hs = List.of(
                        new RecordHeader("id", b(id)),
                        new RecordHeader("bin", binary),
                        new RecordHeader("dup", b("first")),
                        new RecordHeader("dup", b("second")),
                        new RecordHeader("empty", new byte[0]),
                        new RecordHeader("null", null));
                byte[] key = k == 0 ? new byte[] {0, (byte) 0xff, 'k'} : b("key-" + k);
                out.add(new Rec(key, value, hs, BASE_TS + n * 1000L));
                n++;
            }
        }
        for (int i = 0; i < keyless; i++) {
            String id = tag + "-" + n;
            out.add(new Rec(null, b(id + ";keyless;" + "x".repeat(i)), List.of(new RecordHeader("id", b(id))),
                    BASE_TS + n * 1000L));
            n++;
        }
        // An empty value and a keyed record with no headers at all.
        String id = tag + "-" + n;
        out.add(new Rec(b("key-empty"), b(id + ";"), List.of(), BASE_TS + n * 1000L));
        return out;
    }

    static String hex(byte[] a) {
        if (a == null) return "null";
        StringBuilder sb = new StringBuilder();
        for (byte x : a) sb.append(String.format("%02x", x));
        return sb.toString();
    }

    static boolean headersEqual(List<Header> a, List<Header> b) {
        if (a.size() != b.size()) return false;
        for (int i = 0; i < a.size(); i++) {
            if (!a.get(i).key().equals(b.get(i).key())) return false;
            if (!Arrays.equals(a.get(i).value(), b.get(i).value())) return false;
        }
        return true;
    }

    /** Every produced record consumed once, byte for byte; per-key order and one partition per key. */
    static void verify(List<Rec> sent, List<RecordMetadata> meta, List<Got> got) {
        check(got.size() == sent.size(), "consumed " + got.size() + " records, produced " + sent.size());
        Map<String, Got> byId = new HashMap<>();
        for (Got g : got) {
            Got prev = byId.put(idOf(g.value()), g);
            check(prev == null, "record " + idOf(g.value()) + " consumed twice");
        }
        Map<String, Integer> keyPartition = new HashMap<>();
        Map<String, Long> keyLastOffset = new HashMap<>();
        for (int i = 0; i < sent.size(); i++) {
            Rec r = sent.get(i);
            String id = idOf(r.value());
            Got g = byId.get(id);
            check(g != null, "record " + id + " not consumed");
            check(Arrays.equals(r.key(), g.key()), id + ": key " + hex(g.key()) + " != " + hex(r.key()));
            check(Arrays.equals(r.value(), g.value()), id + ": value differs");
            check(headersEqual(r.headers(), g.headers()), id + ": headers " + g.headers() + " != " + r.headers());
            check(r.ts() == g.ts(), id + ": timestamp " + g.ts() + " != " + r.ts());
            check(meta.get(i).partition() == g.partition() && meta.get(i).offset() == g.offset(),
                    id + ": consumed at " + g.partition() + "/" + g.offset() + ", acked at " + meta.get(i));
            if (r.key() != null) {
                String k = hex(r.key());
                Integer p = keyPartition.putIfAbsent(k, g.partition());
                check(p == null || p == g.partition(), "key " + k + " on partitions " + p + " and " + g.partition());
                Long last = keyLastOffset.put(k, g.offset());
                check(last == null || last < g.offset(), "key " + k + " out of order at offset " + g.offset());
            }
        }
        Map<Integer, Long> lastOffset = new HashMap<>();
        for (Got g : got) {
            Long last = lastOffset.put(g.partition(), g.offset());
            check(last == null || last < g.offset(), "offsets not increasing in partition " + g.partition());
        }
    }

    // ---------------------------------------------------------------- checks

    static void roundtrip() throws Exception {
        String t = topic("roundtrip");
        createTopic(t, 3, Map.of());
        List<Rec> recs = sampleRecords("rt", 6, 8, 12);
        List<RecordMetadata> meta;
        try (KafkaProducer<byte[], byte[]> p = producer(Map.of())) {
            meta = produce(p, t, recs);
        }
        verify(recs, meta, consumeAll(t));
        Set<Integer> used = new java.util.HashSet<>();
        for (RecordMetadata m : meta) used.add(m.partition());
        check(used.size() > 1, "all records went to one partition: " + used);
    }

    static void compression(String codec) throws Exception {
        String t = topic("codec-" + codec);
        createTopic(t, 2, Map.of());
        List<Rec> recs = sampleRecords(codec, 4, 25, 20);
        List<RecordMetadata> meta;
        try (KafkaProducer<byte[], byte[]> p = producer(Map.of(ProducerConfig.COMPRESSION_TYPE_CONFIG, codec,
                ProducerConfig.LINGER_MS_CONFIG, "50"))) {
            meta = produce(p, t, recs);
        }
        verify(recs, meta, consumeAll(t));
    }

    static void idempotent() throws Exception {
        String t = topic("idempotent");
        createTopic(t, 3, Map.of());
        List<Rec> recs = new ArrayList<>();
        for (int i = 0; i < 3000; i++) {
            recs.add(new Rec(b("k" + (i % 30)), b("idem-" + i + ";" + i), List.of(), BASE_TS + i));
        }
        List<RecordMetadata> meta;
        try (KafkaProducer<byte[], byte[]> p = producer(Map.of(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true",
                ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "5",
                ProducerConfig.BATCH_SIZE_CONFIG, "2048"))) {
            meta = produce(p, t, recs);
        }
        verify(recs, meta, consumeAll(t));
        // Send order == offset order within each partition.
        Map<Integer, Long> last = new HashMap<>();
        for (RecordMetadata m : meta) {
            Long l = last.put(m.partition(), m.offset());
            check(l == null || l + 1 == m.offset(), "offsets in partition " + m.partition() + " not consecutive in send order: "
                    + l + " then " + m.offset());
        }
    }

    static void largeRecord() throws Exception {
        String t = topic("large");
        createTopic(t, 1, Map.of());
        byte[] value = new byte[900_000];
        byte[] head = b("large-0;");
        for (int i = 0; i < value.length; i++) value[i] = (byte) (i * 31 + 7);
        System.arraycopy(head, 0, value, 0, head.length);
        List<Rec> recs = List.of(new Rec(b("big"), value, List.of(new RecordHeader("h", b("v"))), BASE_TS));
        List<RecordMetadata> meta;
        try (KafkaProducer<byte[], byte[]> p = producer(Map.of())) {
            meta = produce(p, t, recs);
        }
        verify(recs, meta, consumeAll(t));
    }

    static void tooLargeRecord() throws Exception {
        String t = topic("too-large");
        createTopic(t, 1, Map.of());
        // Lift the client-side limit so the broker's message.max.bytes (default 1048588) is what refuses it.
        try (KafkaProducer<byte[], byte[]> p = producer(Map.of(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, "5000000",
                ProducerConfig.BUFFER_MEMORY_CONFIG, "20000000"))) {
            Future<RecordMetadata> f = p.send(new ProducerRecord<>(t, b("k"), new byte[1_100_000]));
            try {
                f.get(30, TimeUnit.SECONDS);
                throw new CheckFailed("a 1,100,000-byte record was accepted");
            } catch (ExecutionException e) {
                check(e.getCause() instanceof RecordTooLargeException,
                        "expected RecordTooLargeException (MESSAGE_TOO_LARGE), got " + describe(e.getCause()));
            }
            // The producer still works after the refusal.
            RecordMetadata m = p.send(new ProducerRecord<>(t, b("k"), b("small"))).get(30, TimeUnit.SECONDS);
            check(m.offset() == 0, "first accepted record at offset " + m.offset());
        }
        // Per-topic max.message.bytes.
        String t2 = topic("too-large-topic");
        createTopic(t2, 1, Map.of("max.message.bytes", "20000"));
        try (KafkaProducer<byte[], byte[]> p = producer(Map.of())) {
            try {
                p.send(new ProducerRecord<>(t2, b("k"), new byte[30_000])).get(30, TimeUnit.SECONDS);
                throw new CheckFailed("a 30,000-byte record was accepted by a topic with max.message.bytes=20000");
            } catch (ExecutionException e) {
                check(e.getCause() instanceof RecordTooLargeException,
                        "expected RecordTooLargeException, got " + describe(e.getCause()));
            }
            p.send(new ProducerRecord<>(t2, b("k"), new byte[10_000])).get(30, TimeUnit.SECONDS);
        }
    }

    static void offsetsForTimes() throws Exception {
        String t = topic("times");
        createTopic(t, 1, Map.of());
        List<Rec> recs = new ArrayList<>();
        for (int i = 0; i < 10; i++) recs.add(new Rec(null, b("t-" + i + ";"), List.of(), BASE_TS + i * 1000L));
        try (KafkaProducer<byte[], byte[]> p = producer(Map.of())) {
            produce(p, t, recs);
        }
        TopicPartition tp = new TopicPartition(t, 0);
        try (KafkaConsumer<byte[], byte[]> c = consumer()) {
            Map<TopicPartition, OffsetAndTimestamp> r = c.offsetsForTimes(Map.of(tp, BASE_TS + 5000), TIMEOUT);
            check(r.get(tp) != null && r.get(tp).offset() == 5 && r.get(tp).timestamp() == BASE_TS + 5000,
                    "offsetsForTimes(exact ts of offset 5) = " + r.get(tp));
            r = c.offsetsForTimes(Map.of(tp, BASE_TS + 4500), TIMEOUT);
            check(r.get(tp) != null && r.get(tp).offset() == 5, "offsetsForTimes(between 4 and 5) = " + r.get(tp));
            r = c.offsetsForTimes(Map.of(tp, 0L), TIMEOUT);
            check(r.get(tp) != null && r.get(tp).offset() == 0, "offsetsForTimes(0) = " + r.get(tp));
            r = c.offsetsForTimes(Map.of(tp, BASE_TS + 60_000), TIMEOUT);
            check(r.get(tp) == null, "offsetsForTimes(after the last record) = " + r.get(tp));
            check(c.beginningOffsets(List.of(tp), TIMEOUT).get(tp) == 0, "beginning offset");
            check(c.endOffsets(List.of(tp), TIMEOUT).get(tp) == 10, "end offset");
        }
        Map<TopicPartition, OffsetSpec> specs = Map.of(tp, OffsetSpec.maxTimestamp());
        ListOffsetsResult.ListOffsetsResultInfo info = admin.listOffsets(specs).partitionResult(tp).get(30, TimeUnit.SECONDS);
        check(info.offset() == 9 && info.timestamp() == BASE_TS + 9000, "ListOffsets(max timestamp) = " + info);
        info = admin.listOffsets(Map.of(tp, OffsetSpec.forTimestamp(BASE_TS + 7000))).partitionResult(tp).get(30, TimeUnit.SECONDS);
        check(info.offset() == 7, "admin ListOffsets(ts of offset 7) = " + info);
        info = admin.listOffsets(Map.of(tp, OffsetSpec.latest())).partitionResult(tp).get(30, TimeUnit.SECONDS);
        check(info.offset() == 10, "admin ListOffsets(latest) = " + info);
        info = admin.listOffsets(Map.of(tp, OffsetSpec.earliest())).partitionResult(tp).get(30, TimeUnit.SECONDS);
        check(info.offset() == 0, "admin ListOffsets(earliest) = " + info);
    }

    static Map<String, ConfigEntry> describeTopicConfig(String t) throws Exception {
        ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, t);
        Config cfg = admin.describeConfigs(List.of(res)).all().get(30, TimeUnit.SECONDS).get(res);
        Map<String, ConfigEntry> out = new HashMap<>();
        for (ConfigEntry e : cfg.entries()) out.put(e.name(), e);
        return out;
    }

    /**
     * Describes the topic's configs until `done` holds (at most 10 s) and returns the last answer.
     * A config change is committed by the controller before the alter returns, but other brokers
     * apply it from the metadata log a moment later (as in Kafka), and the admin client sends
     * DescribeConfigs to whichever broker it likes.
     */
    static Map<String, ConfigEntry> awaitTopicConfig(String t, java.util.function.Predicate<Map<String, ConfigEntry>> done)
            throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            Map<String, ConfigEntry> cfg = describeTopicConfig(t);
            if (done.test(cfg) || System.nanoTime() > deadline) return cfg;
            Thread.sleep(50);
        }
    }

    static void configs() throws Exception {
        String t = topic("configs");
        createTopic(t, 1, Map.of("segment.bytes", "1048576"));
        Map<String, ConfigEntry> before = describeTopicConfig(t);
        ConfigEntry seg = before.get("segment.bytes");
        check(seg != null && seg.value().equals("1048576") && seg.source() == ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG,
                "segment.bytes set at creation: " + seg);
        ConfigEntry cp = before.get("cleanup.policy");
        check(cp != null && cp.value().equals("delete") && cp.isDefault(), "cleanup.policy default: " + cp);
        ConfigEntry ret = before.get("retention.ms");
        check(ret != null && ret.value().equals("604800000"), "retention.ms default: " + ret);

        ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, t);
        Map<ConfigResource, Collection<AlterConfigOp>> ops = Map.of(res, List.of(
                new AlterConfigOp(new ConfigEntry("retention.ms", "3600000"), AlterConfigOp.OpType.SET)));
        admin.incrementalAlterConfigs(ops).all().get(30, TimeUnit.SECONDS);
        ConfigEntry after = awaitTopicConfig(t, c -> c.get("retention.ms") != null && c.get("retention.ms").value().equals("3600000"))
                .get("retention.ms");
        check(after != null && after.value().equals("3600000") && after.source() == ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG,
                "retention.ms after incrementalAlterConfigs: " + after);

        ops = Map.of(res, List.of(new AlterConfigOp(new ConfigEntry("retention.ms", ""), AlterConfigOp.OpType.DELETE)));
        admin.incrementalAlterConfigs(ops).all().get(30, TimeUnit.SECONDS);
        after = awaitTopicConfig(t, c -> c.get("retention.ms") != null && c.get("retention.ms").value().equals("604800000"))
                .get("retention.ms");
        check(after != null && after.value().equals("604800000"), "retention.ms after DELETE: " + after);

        // An unknown config name is refused.
        ops = Map.of(res, List.of(new AlterConfigOp(new ConfigEntry("no.such.config", "1"), AlterConfigOp.OpType.SET)));
        try {
            admin.incrementalAlterConfigs(ops).all().get(30, TimeUnit.SECONDS);
            throw new CheckFailed("setting no.such.config was accepted");
        } catch (ExecutionException e) {
            check(e.getCause() instanceof org.apache.kafka.common.errors.InvalidConfigurationException
                    || e.getCause() instanceof org.apache.kafka.common.errors.InvalidRequestException,
                    "unknown config refused with " + describe(e.getCause()));
        }
    }

    static void createErrorsAndPartitions() throws Exception {
        String t = topic("errors");
        createTopic(t, 1, Map.of());
        try {
            createTopic(t, 1, Map.of());
            throw new CheckFailed("creating an existing topic succeeded");
        } catch (ExecutionException e) {
            check(e.getCause() instanceof TopicExistsException, "duplicate create: " + describe(e.getCause()));
        }
        try {
            createTopic("bad/name", 1, Map.of());
            throw new CheckFailed("creating topic 'bad/name' succeeded");
        } catch (ExecutionException e) {
            check(e.getCause() instanceof org.apache.kafka.common.errors.InvalidTopicException,
                    "bad name: " + describe(e.getCause()));
        }
        admin.createPartitions(Map.of(t, NewPartitions.increaseTo(4))).all().get(30, TimeUnit.SECONDS);
        TopicDescription d = admin.describeTopics(List.of(t)).allTopicNames().get(30, TimeUnit.SECONDS).get(t);
        check(d.partitions().size() == 4, "partitions after createPartitions: " + d.partitions().size());
        // Produce to the new partition.
        try (KafkaProducer<byte[], byte[]> p = producer(Map.of())) {
            RecordMetadata m = p.send(new ProducerRecord<>(t, 3, b("k"), b("v"))).get(30, TimeUnit.SECONDS);
            check(m.partition() == 3 && m.offset() == 0, "produce to new partition: " + m);
        }
    }

    static void deleteTopic() throws Exception {
        String t = topic("delete");
        createTopic(t, 2, Map.of());
        try (KafkaProducer<byte[], byte[]> p = producer(Map.of())) {
            p.send(new ProducerRecord<>(t, b("k"), b("v"))).get(30, TimeUnit.SECONDS);
        }
        check(admin.listTopics().names().get(30, TimeUnit.SECONDS).contains(t), "topic listed before delete");
        admin.deleteTopics(List.of(t)).all().get(30, TimeUnit.SECONDS);
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (admin.listTopics().names().get(30, TimeUnit.SECONDS).contains(t)) {
            check(System.nanoTime() < deadline, "topic still listed 30 s after delete");
            Thread.sleep(100);
        }
    }
}
