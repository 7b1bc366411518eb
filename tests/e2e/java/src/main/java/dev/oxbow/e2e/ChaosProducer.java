package dev.oxbow.e2e;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The Java client's part of the chaos test: one idempotent acks=all producer writing keyed records
 * ("KEY" -> "KEY:SEQ", SEQ counting up per key) until the stop file appears, through whatever faults
 * the test injects meanwhile. Every acknowledged record is written to the output file as
 * "partition offset key value"; failures are counted and printed. The same producer instance lives
 * for the whole run: the test checks that no client needed a restart.
 *
 * Args: bootstrap topic keys stop-file out-file
 */
public final class ChaosProducer {
    public static void main(String[] args) throws Exception {
        String bootstrap = args[0], topic = args[1];
        int keys = Integer.parseInt(args[2]);
        Path stop = Path.of(args[3]), out = Path.of(args[4]);
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "300000");
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "15000");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        List<String> acked = Collections.synchronizedList(new ArrayList<>());
        AtomicLong failed = new AtomicLong();
        long[] seq = new long[keys];
        long sent = 0;
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
            // Bounded: stops when the test creates the stop file (the test bounds its own run).
            while (!Files.exists(stop)) {
                int k = (int) (sent % keys);
                String key = "j" + k, value = key + ":" + seq[k]++;
                producer.send(new ProducerRecord<>(topic, key, value), (md, e) -> {
                    if (e != null) {
                        failed.incrementAndGet();
                        System.err.println("send failed: " + e);
                    } else {
                        acked.add(md.partition() + " " + md.offset() + " " + key + " " + value);
                    }
                });
                sent++;
                if (sent % 50 == 0) {
                    Thread.sleep(10);
                }
            }
            producer.flush();
        }
        try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(out, StandardCharsets.UTF_8))) {
            synchronized (acked) {
                for (String line : acked) {
                    w.println(line);
                }
            }
        }
        System.out.println("sent " + sent + " acked " + acked.size() + " failed " + failed.get());
    }
}
