//! The two partitioners a keyed record meets: Java's default (murmur2) and librdkafka's default
//! (`consistent_random`: CRC32). They disagree for most keys, which is why a Java producer and a
//! librdkafka producer writing the same key can land in different partitions.

/// Kafka's `Utils.murmur2`: 32-bit MurmurHash2 with seed `0x9747b28c`, little-endian 4-byte words.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let length = data.len();
    let mut h: u32 = SEED ^ (length as u32);
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// Java's `BuiltInPartitioner.partitionForKey`: `toPositive(murmur2(key)) % numPartitions`, where
/// `toPositive` clears the sign bit (it is not `abs`). `None` for zero partitions.
pub fn java_murmur2_partition(key: &[u8], partitions: i32) -> Option<i32> {
    (partitions > 0).then(|| (murmur2(key) & 0x7fff_ffff) % partitions)
}

/// librdkafka's `consistent_random` (its default): CRC32 of the key modulo the partition count;
/// an empty or absent key has no consistent partition (librdkafka picks one at random), so this
/// returns `None` for it, as for zero partitions.
pub fn librdkafka_consistent_partition(key: &[u8], partitions: i32) -> Option<i32> {
    if key.is_empty() || partitions <= 0 {
        return None;
    }
    Some((crc32fast::hash(key) % partitions as u32) as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Vectors from Apache Kafka's `UtilsTest.testMurmur2`.
    #[test]
    fn murmur2_matches_kafka_vectors() {
        let vectors: [(&str, i32); 11] = [
            ("21", -973_932_308),
            ("foobar", -790_332_482),
            ("a-little-bit-long-string", -985_981_536),
            ("a-little-bit-longer-string", -1_486_304_829),
            ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971),
            ("abc", 479_470_107),
            ("1", -1_993_445_489),
            ("12", 126_087_238),
            ("123", -267_702_483),
            ("1234", -1_614_185_708),
            ("12345", -1_188_365_604),
        ];
        for (key, expected) in vectors {
            assert_eq!(murmur2(key.as_bytes()), expected, "murmur2({key:?})");
        }
    }

    #[test]
    fn java_partition_clears_the_sign_bit() {
        // murmur2("21") is negative: -973932308 & 0x7fffffff = 1173551340.
        assert_eq!(java_murmur2_partition(b"21", 1_000_000_000), Some(1_173_551_340 % 1_000_000_000));
        assert_eq!(java_murmur2_partition(b"21", 0), None);
        for partitions in 1..50 {
            let p = java_murmur2_partition(b"any key", partitions).unwrap();
            assert!((0..partitions).contains(&p));
        }
    }

    #[test]
    fn consistent_partition_is_crc32_mod_n() {
        // The CRC-32 (IEEE) check value.
        assert_eq!(crc32fast::hash(b"123456789"), 0xCBF4_3926);
        assert_eq!(librdkafka_consistent_partition(b"123456789", 7), Some((0xCBF4_3926u32 % 7) as i32));
        assert_eq!(librdkafka_consistent_partition(b"", 7), None);
        assert_eq!(librdkafka_consistent_partition(b"k", 0), None);
    }
}
