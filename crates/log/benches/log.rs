//! Criterion benchmarks of the log's hot paths: append of 1 KiB batches, index lookup (read of a
//! random offset in a multi-segment log) and batch validation (CRC32C of a 16 KiB batch).
//! Run: `cargo bench -p oxbow-log`.

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use oxbow_log::record::{encode_batch, BatchSpec, Record};
use oxbow_log::{batch, Log, LogConfig};

fn batch_of(value_bytes: usize, records: usize) -> Vec<u8> {
    let recs: Vec<Record> = (0..records)
        .map(|i| Record {
            attributes: 0,
            timestamp_delta: i as i64,
            offset_delta: i as i32,
            key: Some(Bytes::from(format!("key-{i}"))),
            value: Some(Bytes::from(vec![b'x'; value_bytes])),
            headers: vec![],
        })
        .collect();
    encode_batch(&BatchSpec::simple(records as i32 - 1, 1_700_000_000_000, 1_700_000_000_000 + records as i64), &recs)
        .unwrap()
}

fn benches(c: &mut Criterion) {
    let one_kib = batch_of(1000, 1);
    let mut g = c.benchmark_group("log");
    g.sample_size(20);
    g.measurement_time(std::time::Duration::from_secs(3));
    g.warm_up_time(std::time::Duration::from_secs(1));

    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig { segment_bytes: 64 * 1024 * 1024, ..LogConfig::default() };
    let (mut log, _) = Log::open(dir.path(), config, 0).unwrap();
    g.throughput(Throughput::Bytes(one_kib.len() as u64));
    g.bench_function("append_1KiB_batch", |b| {
        b.iter(|| log.append_as_leader(BytesMut::from(&one_kib[..]), 0, 1).unwrap())
    });
    drop(log);

    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig { segment_bytes: 1024 * 1024, ..LogConfig::default() };
    let (mut log, _) = Log::open(dir.path(), config, 0).unwrap();
    let small = batch_of(100, 4);
    for _ in 0..40_000 {
        log.append_as_leader(BytesMut::from(&small[..]), 0, 1).unwrap();
    }
    let leo = log.log_end_offset();
    let mut x = 0x2545F4914F6CDD1Du64;
    g.throughput(Throughput::Elements(1));
    g.bench_function("index_lookup_random_offset", |b| {
        b.iter(|| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let offset = (x % leo as u64) as i64;
            log.read(offset, 1, i64::MAX).unwrap()
        })
    });

    let big = batch_of(16 * 1024 - 100, 1);
    g.throughput(Throughput::Bytes(big.len() as u64));
    g.bench_function("validate_crc_16KiB_batch", |b| {
        b.iter(|| assert!(batch::crc_is_valid(std::hint::black_box(&big))))
    });
    g.finish();
}

criterion_group!(log_benches, benches);
criterion_main!(log_benches);
