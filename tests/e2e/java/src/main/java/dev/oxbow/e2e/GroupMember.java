package dev.oxbow.e2e;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * One member of a consumer group (run by tests/e2e/test_groups.py): the classic protocol with a client-side
 * assignor, or the KIP-848 consumer protocol ({@code group.protocol=consumer}) with a server-side one.
 *
 * Usage: GroupMember BOOTSTRAP TOPIC GROUP INSTANCE_ID|- ASSIGNOR
 * (ASSIGNOR: range, roundrobin, cooperative-sticky for the classic protocol; consumer:uniform or consumer:range
 * for the consumer protocol; INSTANCE_ID "-" means a dynamic member). With the consumer protocol the
 * "generation" printed is the member epoch.
 *
 * Prints one JSON line per event on stdout: {"event":"assigned","generation":G,"member":"ID","partitions":[..]},
 * {"event":"revoked","partitions":[..]}, {"event":"record","p":P,"o":O,"k":"K","v":"V"}. Every record is
 * committed synchronously before the next poll. A line "stop" on stdin (or its end) closes the consumer
 * (a dynamic member leaves the group; a static one does not, KIP-345).
 */
public final class GroupMember {
    private GroupMember() {}

    private static synchronized void emit(String line) {
        System.out.println(line);
        System.out.flush();
    }

    private static String partitions(Collection<TopicPartition> ps) {
        return ps.stream().map(tp -> Integer.toString(tp.partition())).sorted().collect(Collectors.joining(",", "[", "]"));
    }

    private static String quote(String s) {
        return s == null ? "null" : "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 5) {
            System.err.println("usage: GroupMember BOOTSTRAP TOPIC GROUP INSTANCE_ID|- ASSIGNOR");
            System.exit(2);
        }
        String bootstrap = args[0], topic = args[1], group = args[2], instance = args[3], assignor = args[4];
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, "java-" + (instance.equals("-") ? "dynamic" : instance));
        if (!instance.equals("-")) {
            p.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, instance);
        }
        if (assignor.startsWith("consumer:")) {
            // KIP-848: the broker assigns; session and heartbeat timing are the broker's too (the client
            // refuses those settings with this protocol).
            p.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "consumer");
            p.put(ConsumerConfig.GROUP_REMOTE_ASSIGNOR_CONFIG, assignor.substring("consumer:".length()));
        } else {
            String strategy = switch (assignor) {
                case "range" -> "org.apache.kafka.clients.consumer.RangeAssignor";
                case "roundrobin" -> "org.apache.kafka.clients.consumer.RoundRobinAssignor";
                case "cooperative-sticky" -> "org.apache.kafka.clients.consumer.CooperativeStickyAssignor";
                default -> throw new IllegalArgumentException("unknown assignor " + assignor);
            };
            p.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "classic");
            p.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, strategy);
            p.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, "30000");
            p.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, "1000");
        }
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "20");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());

        AtomicBoolean stop = new AtomicBoolean(false);
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p)) {
            Thread stdin = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
                    String line;
                    while ((line = r.readLine()) != null && !line.trim().equals("stop")) {
                        // only "stop" (or the end of stdin) means anything
                    }
                } catch (Exception e) {
                    // stdin gone: stop as well
                }
                stop.set(true);
                consumer.wakeup();
            });
            stdin.setDaemon(true);
            stdin.start();
            consumer.subscribe(List.of(topic), new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(Collection<TopicPartition> ps) {
                    emit("{\"event\":\"revoked\",\"partitions\":" + partitions(ps) + "}");
                }

                @Override
                public void onPartitionsAssigned(Collection<TopicPartition> ps) {
                    var md = consumer.groupMetadata();
                    emit("{\"event\":\"assigned\",\"generation\":" + md.generationId() + ",\"member\":" + quote(md.memberId())
                            + ",\"partitions\":" + partitions(ps) + "}");
                }
            });
            while (!stop.get()) {
                try {
                    for (ConsumerRecord<String, String> rec : consumer.poll(Duration.ofMillis(200))) {
                        emit("{\"event\":\"record\",\"p\":" + rec.partition() + ",\"o\":" + rec.offset() + ",\"k\":" + quote(rec.key())
                                + ",\"v\":" + quote(rec.value()) + "}");
                        consumer.commitSync(Map.of(new TopicPartition(rec.topic(), rec.partition()), new OffsetAndMetadata(rec.offset() + 1)));
                    }
                } catch (WakeupException e) {
                    // stop requested
                }
            }
        }
        emit("{\"event\":\"closed\"}");
    }
}
