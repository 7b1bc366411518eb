//! Unit tests of `Log` through its public API. Batches come from a small encoder here
//! (`record::encode_batch`); real clients' batches are exercised by the end-to-end tests.
//! Transactions have their own file, `tests/txn.rs`.

use super::*;

mod txn;
use crate::compression::Compression;
use crate::record::{BatchSpec, Record};

const T0: i64 = 1_700_000_000_000;

/// One record to encode: key, value (None = tombstone), timestamp.
#[derive(Clone)]
struct R(Option<&'static str>, Option<String>, i64);

fn rec(key: &'static str, value: &str, ts: i64) -> R {
    R(Some(key), Some(value.to_string()), ts)
}

#[derive(Clone)]
struct B {
    records: Vec<R>,
    producer: Option<(i64, i16, i32)>,
    compression: Compression,
    transactional: bool,
}

fn b(records: Vec<R>) -> B {
    B { records, producer: None, compression: Compression::None, transactional: false }
}

fn plain(n: usize, ts: i64) -> B {
    b((0..n).map(|i| R(None, Some(format!("value-{i}")), ts + i as i64)).collect())
}

fn encode(batch: &B) -> Vec<u8> {
    let base_ts = batch.records[0].2;
    let records: Vec<Record> = batch
        .records
        .iter()
        .enumerate()
        .map(|(i, r)| Record {
            attributes: 0,
            timestamp_delta: r.2 - base_ts,
            offset_delta: i as i32,
            key: r.0.map(|k| Bytes::from(k.as_bytes().to_vec())),
            value: r.1.clone().map(Bytes::from),
            headers: vec![(Bytes::from_static(b"h"), Some(Bytes::from_static(b"v")))],
        })
        .collect();
    let mut spec =
        BatchSpec::simple(records.len() as i32 - 1, base_ts, batch.records.iter().map(|r| r.2).max().unwrap());
    spec.compression = batch.compression;
    spec.transactional = batch.transactional;
    if let Some((pid, epoch, seq)) = batch.producer {
        spec.producer_id = pid;
        spec.producer_epoch = epoch;
        spec.base_sequence = seq;
    }
    record::encode_batch(&spec, &records).unwrap()
}

fn req(batches: &[B]) -> BytesMut {
    let mut out = BytesMut::new();
    for b in batches {
        out.extend_from_slice(&encode(b));
    }
    out
}

fn small_config() -> LogConfig {
    LogConfig { segment_bytes: 4096, segment_index_bytes: 1024, index_interval_bytes: 256, ..LogConfig::default() }
}

fn open(dir: &Path, config: LogConfig) -> Log {
    Log::open(dir, config, T0).unwrap().0
}

/// The leader epoch appends use unless a test is about epochs.
const EPOCH: i32 = 3;

fn append(log: &mut Log, batch: &B) -> AppendOutcome {
    let out = log.append_as_leader(req(std::slice::from_ref(batch)), EPOCH, T0).unwrap();
    log.set_high_watermark(log.log_end_offset());
    out
}

/// Every record's (offset, key, value) in the log, decoded, from the log start.
fn contents(log: &Log) -> Vec<(i64, Option<String>, Option<String>)> {
    let mut out = Vec::new();
    let mut offset = log.log_start_offset();
    while offset < log.log_end_offset() {
        let r = log.read(offset, 1 << 20, i64::MAX).unwrap();
        if r.records.is_empty() {
            break;
        }
        for (h, bytes) in batch::batches(&r.records) {
            assert!(batch::crc_is_valid(bytes));
            for rec in record::decode_records(bytes).unwrap() {
                let o = h.base_offset + rec.offset_delta as i64;
                if o >= offset {
                    let s = |b: Option<Bytes>| b.map(|b| String::from_utf8(b.to_vec()).unwrap());
                    out.push((o, s(rec.key), s(rec.value)));
                }
            }
        }
        offset = r.next_offset;
    }
    out
}

#[test]
fn append_read_roundtrip_is_byte_exact_except_patched_fields() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), LogConfig::default());
    let batches = [plain(3, T0), plain(1, T0 + 10), plain(5, T0 + 20)];
    let sent = req(&batches);
    let out = log.append_as_leader(sent.clone(), 7, T0).unwrap();
    assert_eq!((out.base_offset, out.last_offset, out.log_append_time_ms, out.duplicate), (0, 8, -1, false));
    let read = log.read(0, 1 << 20, i64::MAX).unwrap();
    assert_eq!(read.next_offset, 9);
    assert_eq!(read.records.len(), sent.len());
    let mut expected = sent.to_vec();
    let mut at = 0;
    let mut offset = 0i64;
    while at < expected.len() {
        let h = BatchHeader::parse(&expected[at..]).unwrap();
        batch::set_base_offset(&mut expected[at..], offset);
        batch::set_partition_leader_epoch(&mut expected[at..], 7);
        offset += h.records_count as i64;
        at += h.size_bytes() as usize;
    }
    assert_eq!(&read.records[..], &expected[..]);
    // CRC untouched: base offset and leader epoch are outside it.
    assert_eq!(sent[17..21], read.records[17..21]);
}

#[test]
fn index_lookups_across_rolled_segments_and_mid_batch_reads() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), small_config());
    let mut firsts = Vec::new();
    for i in 0..200 {
        let n = 1 + i % 4;
        firsts.push((append(&mut log, &plain(n, T0 + i as i64)).base_offset, n as i64));
    }
    assert!(log.segments().len() > 5, "rolled: {:?}", log.segments().len());
    let leo = log.log_end_offset();
    for offset in 0..leo {
        let r = log.read(offset, 1, i64::MAX).unwrap();
        let (h, _) = batch::batches(&r.records).next().unwrap();
        assert!(h.base_offset <= offset && offset <= h.last_offset(), "offset {offset} in batch {h:?}");
        let (base, n) = firsts.iter().copied().find(|(b, n)| *b <= offset && offset < b + n).unwrap();
        assert_eq!((h.base_offset, h.records_count as i64), (base, n));
        assert_eq!(r.next_offset, h.next_offset());
    }
    // The offset index has entries (sparse) in closed segments.
    let seg_dir = std::fs::read_dir(dir.path()).unwrap();
    let index_bytes: u64 = seg_dir
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".index"))
        .map(|e| e.metadata().unwrap().len())
        .sum();
    assert!(index_bytes > 0);
}

#[test]
fn read_limits() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), LogConfig::default());
    for i in 0..10 {
        append(&mut log, &plain(2, T0 + i));
    }
    let size = encode(&plain(2, T0)).len();
    // (start, max_bytes, max_offset) -> (batches returned, next_offset)
    let cases: &[(i64, usize, i64, usize, i64)] = &[
        (0, 0, i64::MAX, 1, 2),
        (0, size - 1, i64::MAX, 1, 2),
        (0, size * 3, i64::MAX, 3, 6),
        (0, size * 3 + 1, i64::MAX, 3, 6),
        (3, size * 2, i64::MAX, 2, 6),
        (0, 1 << 20, 6, 3, 6),
        (0, 1 << 20, 5, 2, 4),
        (4, 1 << 20, 5, 0, 4),
        (5, 1 << 20, 5, 0, 5),
        (20, 1 << 20, i64::MAX, 0, 20),
    ];
    for &(start, max_bytes, max_offset, want_batches, want_next) in cases {
        let r = log.read(start, max_bytes, max_offset).unwrap();
        assert_eq!(
            batch::batches(&r.records).count(),
            want_batches,
            "start {start} max_bytes {max_bytes} max_offset {max_offset}"
        );
        assert_eq!(r.next_offset, want_next, "start {start} max_bytes {max_bytes} max_offset {max_offset}");
    }
    assert!(matches!(log.read(21, 100, i64::MAX), Err(Error::OffsetOutOfRange { .. })));
    assert!(matches!(log.read(-1, 100, i64::MAX), Err(Error::OffsetOutOfRange { .. })));
}

#[test]
fn log_append_time_rewrites_max_timestamp_and_crc() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig { message_timestamp_type: TimestampType::LogAppendTime, ..LogConfig::default() };
    let mut log = open(dir.path(), config);
    let now = T0 + 5000;
    let sent = encode(&plain(3, T0));
    let out = log.append_as_leader(BytesMut::from(&sent[..]), EPOCH, now).unwrap();
    assert_eq!(out.log_append_time_ms, now);
    let r = log.read(0, 1 << 20, i64::MAX).unwrap();
    let h = BatchHeader::parse(&r.records).unwrap();
    assert!(h.is_log_append_time());
    assert_eq!(h.max_timestamp, now);
    assert_eq!(h.base_timestamp, T0, "baseTimestamp is left as produced, as Kafka does");
    assert!(batch::crc_is_valid(&r.records));
    assert_eq!(&r.records[batch::RECORDS_AT..], &sent[batch::RECORDS_AT..]);
}

#[test]
fn each_validation_failure_leaves_the_log_unchanged() {
    let good = encode(&plain(2, T0));
    let mut bad_crc = good.clone();
    *bad_crc.last_mut().unwrap() ^= 0xff;
    let mut bad_magic = good.clone();
    bad_magic[batch::MAGIC_AT] = 1;
    let mut bad_count = good.clone();
    bad_count[batch::RECORDS_COUNT_AT + 3] = 5;
    let c = batch::compute_crc(&bad_count);
    bad_count[batch::CRC_AT..batch::CRC_AT + 4].copy_from_slice(&c.to_be_bytes());
    let big = encode(&b(vec![R(None, Some("x".repeat(2000)), T0)]));
    let cat = |parts: &[&[u8]]| parts.concat();
    type Check = fn(&Error) -> bool;
    let cases: Vec<(&str, Vec<u8>, Check)> = vec![
        ("empty", vec![], |e| matches!(e, Error::InvalidRecord(_))),
        ("crc", cat(&[&good, &bad_crc]), |e| matches!(e, Error::CorruptMessage { .. })),
        ("magic", cat(&[&good, &bad_magic]), |e| matches!(e, Error::CorruptMessage { .. })),
        ("trailing partial batch", cat(&[&good, &good[..30]]), |e| matches!(e, Error::CorruptMessage { .. })),
        ("truncated batch", cat(&[&good, &good[..good.len() - 1]]), |e| matches!(e, Error::CorruptMessage { .. })),
        ("count vs lastOffsetDelta", bad_count, |e| matches!(e, Error::InvalidRecord(_))),
        ("too large", cat(&[&good, &big]), |e| matches!(e, Error::MessageTooLarge { .. })),
    ];
    for (name, bytes, check) in cases {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig { max_message_bytes: 1000, ..LogConfig::default() };
        let mut log = open(dir.path(), config);
        append(&mut log, &plain(1, T0));
        let before = (log.log_end_offset(), log.size_bytes());
        let err = log.append_as_leader(BytesMut::from(&bytes[..]), EPOCH, T0).unwrap_err();
        assert!(check(&err), "{name}: {err}");
        assert_eq!((log.log_end_offset(), log.size_bytes()), before, "{name}");
    }
    // Compacted topics need keys.
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig { cleanup_policy: CleanupPolicy { delete: false, compact: true }, ..LogConfig::default() };
    let mut log = open(dir.path(), config);
    assert!(matches!(log.append_as_leader(req(&[plain(1, T0)]), EPOCH, T0), Err(Error::InvalidRecord(_))));
    assert_eq!(log.log_end_offset(), 0);
}

fn idem(n: usize, pid: i64, epoch: i16, seq: i32) -> B {
    B { producer: Some((pid, epoch, seq)), ..plain(n, T0) }
}

#[test]
fn idempotent_dedup_and_sequence_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), LogConfig::default());
    let first = append(&mut log, &idem(3, 7, 0, 0));
    let second = append(&mut log, &idem(2, 7, 0, 3));
    let again = log.append_as_leader(req(&[idem(3, 7, 0, 0)]), EPOCH, T0).unwrap();
    assert!(again.duplicate);
    assert_eq!((again.base_offset, again.last_offset), (first.base_offset, first.last_offset));
    assert_eq!(log.log_end_offset(), 5);
    let again2 = log.append_as_leader(req(&[idem(2, 7, 0, 3)]), EPOCH, T0).unwrap();
    assert_eq!((again2.base_offset, again2.duplicate), (second.base_offset, true));
    assert!(matches!(
        log.append_as_leader(req(&[idem(1, 7, 0, 9)]), EPOCH, T0),
        Err(Error::OutOfOrderSequence { expected: 5, found: 9, .. })
    ));
    // A whole request fails when its second batch is out of order.
    assert!(log.append_as_leader(req(&[idem(1, 7, 0, 5), idem(1, 7, 0, 9)]), EPOCH, T0).is_err());
    assert_eq!(log.log_end_offset(), 5);
    append(&mut log, &idem(1, 7, 1, 0));
    assert!(matches!(
        log.append_as_leader(req(&[idem(1, 7, 0, 6)]), EPOCH, T0),
        Err(Error::InvalidProducerEpoch { .. })
    ));
}

#[test]
fn coordinator_appends_skip_sequences_but_fence_old_epochs() {
    // A group coordinator writes transactional offsets with the producer's id and epoch and no
    // sequence (Kafka's COORDINATOR origin): a client batch like that is refused.
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), LogConfig::default());
    let no_seq = |epoch| idem(1, 9, epoch, -1);
    assert!(matches!(log.append_as_leader(req(&[no_seq(0)]), EPOCH, T0), Err(Error::InvalidRecord(_))));
    let first = log.append_as_leader_from(req(&[no_seq(0)]), EPOCH, T0, AppendOrigin::Coordinator).unwrap();
    // The same bytes again are a new write, not a duplicate: coordinators do not retry batches.
    let second = log.append_as_leader_from(req(&[no_seq(0)]), EPOCH, T0, AppendOrigin::Coordinator).unwrap();
    assert!(!second.duplicate);
    assert_eq!((first.base_offset, second.base_offset), (0, 1));
    log.append_as_leader_from(req(&[no_seq(2)]), EPOCH, T0, AppendOrigin::Coordinator).unwrap();
    assert!(matches!(
        log.append_as_leader_from(req(&[no_seq(1)]), EPOCH, T0, AppendOrigin::Coordinator),
        Err(Error::InvalidProducerEpoch { current: 2, found: 1, .. })
    ));
    assert_eq!(log.log_end_offset(), 3);
}

#[test]
fn dedup_survives_a_crash_and_a_clean_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), small_config());
    append(&mut log, &idem(2, 1, 0, 0));
    log.checkpoint().unwrap();
    let mut last = None;
    for i in 0..30 {
        last = Some(append(&mut log, &idem(2, 1, 0, 2 + i * 2)));
    }
    let last = last.unwrap();
    log.crash();
    let mut log = open(dir.path(), small_config());
    let dup = log.append_as_leader(req(&[idem(2, 1, 0, 60)]), EPOCH, T0).unwrap();
    assert!(dup.duplicate);
    assert_eq!(dup.base_offset, last.base_offset);
    assert!(matches!(
        log.append_as_leader(req(&[idem(1, 1, 0, 63)]), EPOCH, T0),
        Err(Error::OutOfOrderSequence { .. })
    ));
    append(&mut log, &idem(1, 1, 0, 62));
    log.close().unwrap();
    let (mut log, report) = Log::open(dir.path(), small_config(), T0).unwrap();
    assert_eq!(report.batches_recovered, 0, "clean shutdown: no scan");
    assert!(log.append_as_leader(req(&[idem(1, 1, 0, 62)]), EPOCH, T0).unwrap().duplicate);
}

fn active_log_path(log: &Log) -> PathBuf {
    let base = log.segments().last().unwrap().base_offset;
    log.dir().join(segment::file_name(base, "log"))
}

#[test]
fn torn_and_garbage_tails_are_truncated_to_the_last_valid_batch() {
    enum Damage {
        Torn(u64),
        Garbage(usize),
        Overwrite(u64),
    }
    for (name, damage) in
        [("torn", Damage::Torn(10)), ("garbage", Damage::Garbage(777)), ("overwrite", Damage::Overwrite(40))]
    {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), LogConfig::default());
        for i in 0..10 {
            append(&mut log, &plain(2, T0 + i));
        }
        let size = log.size_bytes();
        let batch_size = size / 10;
        let path = active_log_path(&log);
        log.crash();
        let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        let expected_leo = match damage {
            Damage::Torn(n) => {
                f.set_len(size - n).unwrap();
                18
            }
            Damage::Garbage(n) => {
                fileio::write_all_at(&f, &vec![0xAB; n], size).unwrap();
                20
            }
            Damage::Overwrite(n) => {
                fileio::write_all_at(&f, &vec![0; n as usize], batch_size * 6 + 5).unwrap();
                12
            }
        };
        drop(f);
        let (log, report) = Log::open(dir.path(), LogConfig::default(), T0).unwrap();
        assert_eq!(log.log_end_offset(), expected_leo, "{name}");
        assert!(report.truncated_bytes > 0 && report.truncated_at.is_some(), "{name}: {report:?}");
        assert_eq!(contents(&log).len() as i64, expected_leo, "{name}");
    }
}

#[test]
fn indexes_are_rebuilt_when_deleted_or_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), small_config());
    for i in 0..100 {
        append(&mut log, &plain(2, T0 + i));
    }
    let before = contents(&log);
    log.close().unwrap();
    let mut n = 0;
    for e in std::fs::read_dir(dir.path()).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if name.ends_with(".index") {
            n += 1;
            if n % 2 == 0 {
                std::fs::remove_file(&p).unwrap();
            } else {
                std::fs::write(&p, [0xff; 24]).unwrap();
            }
        }
    }
    let (log, report) = Log::open(dir.path(), small_config(), T0).unwrap();
    assert!(report.indexes_rebuilt >= n - 1, "{report:?} of {n}");
    assert_eq!(contents(&log), before);
    for o in [0, 17, 101, 199] {
        let r = log.read(o, 1, i64::MAX).unwrap();
        let (h, _) = batch::batches(&r.records).next().unwrap();
        assert!(h.base_offset <= o && o <= h.last_offset());
    }
}

#[test]
fn retention_by_time_and_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig { retention_ms: 10_000, ..small_config() };
    let mut log = open(dir.path(), config.clone());
    for i in 0..200 {
        append(&mut log, &plain(2, T0 + i * 30));
    }
    let segs = log.segments();
    assert!(segs.len() > 3);
    // Nothing old enough yet.
    assert_eq!(log.maintain(T0 + 5_000).unwrap(), 0);
    // Segments whose newest record is older than 10 s at T0 + 13 s: those with max ts < T0 + 3000.
    let expect = segs.iter().take_while(|s| s.max_timestamp_ms < T0 + 3000 && !s.active).count();
    assert_eq!(log.maintain(T0 + 13_000).unwrap(), expect);
    assert_eq!(log.log_start_offset(), log.segments()[0].base_offset);
    // Everything expired: the active segment goes too, after an empty one is rolled.
    let leo = log.log_end_offset();
    log.maintain(T0 + 100_000).unwrap();
    assert_eq!(log.segments().len(), 1);
    assert_eq!((log.log_start_offset(), log.log_end_offset(), log.size_bytes()), (leo, leo, 0));
    append(&mut log, &plain(1, T0 + 100_000));
    assert_eq!(contents(&log).len(), 1);

    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig { retention_bytes: 5000, retention_ms: -1, ..small_config() };
    let mut log = open(dir.path(), config);
    for i in 0..200 {
        append(&mut log, &plain(2, T0 + i));
    }
    log.maintain(T0).unwrap();
    assert!(log.size_bytes() <= 5000 + 4096, "{}", log.size_bytes());
    assert!(log.size_bytes() > 5000 - 4096);
    assert!(log.log_start_offset() > 0);
}

#[test]
fn delete_records_before_moves_log_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), small_config());
    for i in 0..200 {
        append(&mut log, &plain(2, T0 + i));
    }
    let segs = log.segments();
    let target = segs[2].base_offset + 1;
    assert_eq!(log.delete_records_before(target).unwrap(), target);
    assert_eq!(log.segments()[0].base_offset, segs[2].base_offset);
    assert!(matches!(log.read(target - 1, 100, i64::MAX), Err(Error::OffsetOutOfRange { .. })));
    let r = log.read(target, 100, i64::MAX).unwrap();
    assert!(!r.records.is_empty());
    assert!(matches!(log.delete_records_before(log.log_end_offset() + 1), Err(Error::OffsetOutOfRange { .. })));
    log.crash();
    let log = open(dir.path(), small_config());
    assert_eq!(log.log_start_offset(), target);
}

#[test]
fn offset_for_timestamp_and_max_timestamp() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), small_config());
    // Batch i holds records at T0 + 10i, T0 + 10i + 5 (compressed every other batch).
    for i in 0..80i64 {
        let mut batch = b(vec![rec("k", "a", T0 + 10 * i), rec("k", "b", T0 + 10 * i + 5)]);
        if i % 2 == 1 {
            batch.compression = Compression::Lz4;
        }
        append(&mut log, &batch);
    }
    let cases: &[(i64, Option<(i64, i64)>)] = &[
        (0, Some((T0, 0))),
        (T0, Some((T0, 0))),
        (T0 + 1, Some((T0 + 5, 1))),
        (T0 + 5, Some((T0 + 5, 1))),
        (T0 + 6, Some((T0 + 10, 2))),
        (T0 + 333, Some((T0 + 335, 67))),
        (T0 + 795, Some((T0 + 795, 159))),
        (T0 + 796, None),
    ];
    for &(ts, want) in cases {
        let got = log.offset_for_timestamp(ts).unwrap().map(|t| (t.timestamp_ms, t.offset));
        assert_eq!(got, want, "timestamp {ts}");
    }
    assert_eq!(log.max_timestamp().unwrap(), Some(TimestampOffset { timestamp_ms: T0 + 795, offset: 159 }));
}

fn compact_config() -> LogConfig {
    LogConfig {
        cleanup_policy: CleanupPolicy { delete: false, compact: true },
        delete_retention_ms: 1000,
        ..small_config()
    }
}

fn compact(log: &mut Log, now: i64) -> CompactionReport {
    log.set_min_cleanable_dirty_ratio(0.0);
    let job = log.compaction_job(now).expect("a job");
    let done = job.run().unwrap();
    log.install_compaction(done).unwrap()
}

#[test]
fn compaction_keeps_latest_per_key_and_offsets_and_expires_tombstones() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), compact_config());
    let keys = ["a", "b", "c", "d", "e"];
    let mut latest: BTreeMap<&str, (i64, Option<String>)> = BTreeMap::new();
    for i in 0..150i64 {
        let key = keys[(i % 5) as usize];
        let value = if key == "e" && i > 100 { None } else { Some(format!("v{i}-{}", "x".repeat(40))) };
        let mut batch = b(vec![R(Some(key), value.clone(), T0 + i)]);
        batch.compression =
            [Compression::None, Compression::Gzip, Compression::Snappy, Compression::Zstd][(i % 4) as usize];
        let out = append(&mut log, &batch);
        latest.insert(key, (out.base_offset, value));
    }
    // Push the last records out of the active segment.
    for i in 150..200i64 {
        let value = format!("v{i}-{}", "x".repeat(40));
        let out = append(&mut log, &b(vec![rec("f", &value, T0 + i)]));
        latest.insert("f", (out.base_offset, Some(value)));
    }
    let active_before = log.segments().last().unwrap().clone();
    let report = compact(&mut log, T0 + 200);
    assert!(report.segments_replaced > 1 && report.records_removed > 0, "{report:?}");
    assert_eq!(log.segments().last().unwrap(), &active_before, "active segment untouched");
    let after = contents(&log);
    // Closed segments hold only the latest per key; the active one is as written.
    let active_base = active_before.base_offset;
    let closed: Vec<_> = after.iter().filter(|(o, _, _)| *o < active_base).collect();
    for (o, k, v) in &closed {
        let (lo, lv) = &latest[k.as_deref().unwrap()];
        let later_in_active = *lo >= active_base;
        assert!(later_in_active || (o == lo && v == lv), "stale record {o} {k:?}");
    }
    // Offsets are kept (monotonic, a subset of the originals).
    assert!(after.windows(2).all(|w| w[0].0 < w[1].0));
    // The tombstone for "e" is still there (horizon set now), gone after delete.retention.ms.
    let e_offset = latest["e"].0;
    assert!(e_offset < active_base);
    {
        assert!(after.iter().any(|(o, _, v)| *o == e_offset && v.is_none()));
        log.set_min_cleanable_dirty_ratio(0.0);
        assert!(log.needs_compaction(T0 + 200 + 1001));
        compact(&mut log, T0 + 200 + 1001);
        assert!(!contents(&log).iter().any(|(o, _, _)| *o == e_offset));
    }
    // Survives reopen.
    let again = contents(&log);
    log.crash();
    let log = open(dir.path(), compact_config());
    assert_eq!(contents(&log), again);
}

#[test]
fn appends_during_a_running_compaction_job() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), compact_config());
    for i in 0..100i64 {
        append(&mut log, &b(vec![rec(["a", "b"][(i % 2) as usize], &format!("v{i}-{}", "y".repeat(60)), T0 + i)]));
    }
    log.set_min_cleanable_dirty_ratio(0.0);
    let job = log.compaction_job(T0 + 1000).unwrap();
    let handle = std::thread::spawn(move || job.run().unwrap());
    for i in 100..150i64 {
        append(&mut log, &b(vec![rec("c", &format!("v{i}-{}", "z".repeat(60)), T0 + i)]));
    }
    let done = handle.join().unwrap();
    let report = log.install_compaction(done).unwrap();
    assert_eq!(report.groups_skipped, 0);
    let after = contents(&log);
    assert_eq!(after.last().unwrap().0, 149);
    assert_eq!(after.iter().filter(|(_, k, _)| k.as_deref() == Some("c")).count(), 50);

    // A job whose segments were deleted meanwhile is skipped.
    let job = {
        log.set_min_cleanable_dirty_ratio(0.0);
        for i in 150..200i64 {
            append(&mut log, &b(vec![rec("d", &format!("v{i}-{}", "w".repeat(60)), T0 + i)]));
        }
        log.compaction_job(T0 + 1000).unwrap()
    };
    let first = log.segments()[1].base_offset;
    log.delete_records_before(first).unwrap();
    let report = log.install_compaction(job.run().unwrap()).unwrap();
    assert!(report.groups_skipped >= 1, "{report:?}");
    let names: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into()).collect();
    assert!(!names.iter().any(|n| n.contains("cleaned") || n.contains("swap")), "{names:?}");
}

#[test]
fn index_files_are_preallocated_then_trimmed() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), small_config());
    let idx = dir.path().join(segment::file_name(0, "index"));
    assert_eq!(std::fs::metadata(&idx).unwrap().len(), 1024);
    for i in 0..50 {
        append(&mut log, &plain(2, T0 + i));
    }
    let len = std::fs::metadata(&idx).unwrap().len();
    assert!(len < 1024 && len.is_multiple_of(8), "trimmed at roll: {len}");
    let tidx = dir.path().join(segment::file_name(0, "timeindex"));
    assert_eq!(std::fs::metadata(&tidx).unwrap().len() % 12, 0);
    log.delete().unwrap();
    assert!(!dir.path().exists() || std::fs::read_dir(dir.path()).is_err());
}

#[test]
fn segment_ms_rolls_and_flush_messages_fsyncs() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig { segment_ms: 1000, flush_messages: 4, ..LogConfig::default() };
    let mut log = open(dir.path(), config);
    append(&mut log, &plain(2, T0));
    assert_eq!(log.recovery_point(), 0);
    append(&mut log, &plain(2, T0));
    assert_eq!(log.recovery_point(), 4, "flush.messages reached");
    log.maintain(T0 + 500).unwrap();
    assert_eq!(log.segments().len(), 1);
    log.maintain(T0 + 1002).unwrap();
    assert_eq!(log.segments().len(), 2);
    // Appending a batch whose timestamp is past segment.ms from the first batch rolls too.
    append(&mut log, &plain(1, T0 + 2000));
    append(&mut log, &plain(1, T0 + 3001));
    assert_eq!(log.segments().len(), 3);
}

#[test]
fn follower_append_and_truncation() {
    let leader_dir = tempfile::tempdir().unwrap();
    let mut leader = open(leader_dir.path(), small_config());
    for i in 0..50 {
        append(&mut leader, &idem(2, 5, 0, i * 2));
    }
    let dir = tempfile::tempdir().unwrap();
    let mut follower = open(dir.path(), small_config());
    let mut offset = 0;
    while offset < leader.log_end_offset() {
        let r = leader.read(offset, 1000, i64::MAX).unwrap();
        follower.append_as_follower(BytesMut::from(&r.records[..]), T0).unwrap();
        offset = r.next_offset;
    }
    assert_eq!(follower.log_end_offset(), 100);
    assert_eq!(contents(&follower), contents(&leader));
    let r = leader.read(10, 1000, i64::MAX).unwrap();
    assert!(matches!(follower.append_as_follower(BytesMut::from(&r.records[..]), T0), Err(Error::InvalidRecord(_))));
    // Truncating inside a batch drops the whole batch.
    assert_eq!(follower.truncate_to(41, T0).unwrap(), 40);
    assert_eq!(contents(&follower), contents(&leader)[..40].to_vec());
    // Producer state follows the truncation: sequence 40 is next again.
    follower.set_high_watermark(40);
    let out = follower.append_as_leader(req(&[idem(2, 5, 0, 40)]), EPOCH, T0).unwrap();
    assert_eq!((out.base_offset, out.duplicate), (40, false));
    assert_eq!(follower.truncate_to(0, T0).unwrap(), 0);
    assert_eq!(follower.segments().len(), 1);
}

#[test]
fn truncate_fully_and_start_at_restarts_past_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), small_config());
    for i in 0..20 {
        append(&mut log, &idem(1, 5, 0, i));
    }
    log.checkpoint().unwrap();
    assert_eq!(log.log_end_offset(), 20);
    log.truncate_fully_and_start_at(500, T0).unwrap();
    assert_eq!((log.log_start_offset(), log.log_end_offset(), log.high_watermark()), (500, 500, 500));
    assert!(log.epoch_entries().is_empty());
    assert_eq!(log.segments().len(), 1);
    // Producer state is gone with the records: the producer may start over at sequence 0.
    let out = log.append_as_leader(req(&[idem(1, 5, 0, 0)]), EPOCH, T0).unwrap();
    assert_eq!((out.base_offset, out.duplicate), (500, false));
    log.close().unwrap();
    let log = open(dir.path(), small_config());
    assert_eq!((log.log_start_offset(), log.log_end_offset()), (500, 501));
}

/// Descriptors of this process open on files under `dir` (from `/proc/self/fd`).
#[cfg(target_os = "linux")]
fn fds_under(dir: &Path) -> usize {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|target| target.starts_with(dir))
        .count()
}

/// Memory maps of this process of files under `dir` (from `/proc/self/maps`).
#[cfg(target_os = "linux")]
fn maps_under(dir: &Path) -> usize {
    let dir = dir.to_string_lossy().into_owned();
    std::fs::read_to_string("/proc/self/maps").unwrap().lines().filter(|l| l.contains(&dir)).count()
}

fn open_in(dir: &Path, config: LogConfig, files: &Arc<FileCache>) -> (Log, RecoveryReport) {
    Log::open_with(dir, config, T0, files).unwrap()
}

/// Three logs with ~30 segments each share a cache of 2 files and 3 mappings (fewer than the
/// logs, so even active segments keep losing their descriptors): the process never
/// holds more than that on their files, yet every read returns the right batches, appends after
/// eviction land where they should, and a clean restart and a crash restart recover everything.
#[test]
fn many_segments_stay_within_the_open_files_and_index_maps_bounds() {
    const OPEN_FILES_MAX: usize = 2;
    const INDEX_MAPS_MAX: usize = 3;
    let root = tempfile::tempdir().unwrap();
    let files = FileCache::new(OPEN_FILES_MAX, INDEX_MAPS_MAX);
    let dirs: Vec<PathBuf> = (0..3).map(|i| root.path().join(format!("t-{i}"))).collect();
    let config = LogConfig { segment_bytes: 1024, ..small_config() };
    let mut logs: Vec<Log> = dirs.iter().map(|d| open_in(d, config.clone(), &files).0).collect();
    let value = |l: usize, i: i64| format!("log{l}-batch{i}-{}", "v".repeat(40));
    let batch_of = |l: usize, i: i64| b(vec![rec("k", &value(l, i), T0 + i)]);
    let check_bounds = |what: &str| {
        let s = files.stats();
        assert!(s.open_files <= OPEN_FILES_MAX && s.index_maps <= INDEX_MAPS_MAX, "{what}: {s:?}");
        #[cfg(target_os = "linux")]
        {
            let (fds, maps) = (fds_under(root.path()), maps_under(root.path()));
            assert!(fds <= OPEN_FILES_MAX, "{what}: {fds} descriptors open under the test dir");
            assert!(maps <= INDEX_MAPS_MAX, "{what}: {maps} maps of files under the test dir");
        }
    };
    // Interleaved appends, so every log keeps losing its files to the others.
    for i in 0..200i64 {
        for (l, log) in logs.iter_mut().enumerate() {
            assert_eq!(append(log, &batch_of(l, i)).base_offset, i);
        }
        check_bounds("appending");
    }
    for log in &logs {
        assert!(log.segments().len() > 20, "rolled into many segments: {}", log.segments().len());
    }
    let s = files.stats();
    assert!(s.files_evicted > 500 && s.index_maps_evicted > 100, "the bounds were exercised: {s:?}");
    let expected = |l: usize, n: i64| (0..n).map(|i| (i, Some("k".to_string()), Some(value(l, i)))).collect::<Vec<_>>();
    // Every offset read alone (one index lookup each, in segments long evicted).
    for offset in (0..200i64).rev() {
        for (l, log) in logs.iter().enumerate() {
            let r = log.read(offset, 1, i64::MAX).unwrap();
            let (h, bytes) = batch::batches(&r.records).next().unwrap();
            assert_eq!(h.base_offset, offset);
            let rec = &record::decode_records(bytes).unwrap()[0];
            assert_eq!(rec.value.as_deref(), Some(value(l, offset).as_bytes()));
        }
    }
    check_bounds("reading");
    for (l, log) in logs.iter().enumerate() {
        assert_eq!(contents(log), expected(l, 200));
        assert_eq!(log.offset_for_timestamp(T0 + 150).unwrap().map(|t| t.offset), Some(150));
    }
    // Clean restart of logs 0 and 1; log 2 crashes (no close, no fsync, no trim).
    let crashed = logs.pop().unwrap();
    crashed.crash();
    for log in logs.drain(..) {
        log.close().unwrap();
    }
    assert_eq!(files.stats().open_files, 0, "closed and dropped logs leave nothing open");
    #[cfg(target_os = "linux")]
    assert_eq!((fds_under(root.path()), maps_under(root.path())), (0, 0));
    let mut logs: Vec<Log> = dirs
        .iter()
        .enumerate()
        .map(|(l, d)| {
            let (log, report) = open_in(d, config.clone(), &files);
            assert_eq!(report.truncated_bytes, 0);
            if l == 2 {
                assert!(report.batches_recovered > 0, "the crashed log is scanned: {report:?}");
            } else {
                assert_eq!(report.batches_recovered, 0, "a clean shutdown needs no scan");
            }
            log
        })
        .collect();
    check_bounds("reopened");
    for i in 200..260i64 {
        for (l, log) in logs.iter_mut().enumerate() {
            assert_eq!(append(log, &batch_of(l, i)).base_offset, i);
        }
    }
    check_bounds("appending after restart");
    for (l, log) in logs.iter().enumerate() {
        assert_eq!(contents(log), expected(l, 260));
    }
}

/// Retention and compaction with one open file and one mapping for everything: compaction
/// reads segments through descriptors of its own, one at a time, and deleted segments release
/// their cache entries at once.
#[test]
fn compaction_and_retention_with_a_tiny_cache() {
    let dir = tempfile::tempdir().unwrap();
    let files = FileCache::new(1, 1);
    let (mut log, _) = open_in(dir.path(), compact_config(), &files);
    for i in 0..300i64 {
        append(&mut log, &b(vec![rec(["a", "b", "c"][(i % 3) as usize], &format!("v{i}-{}", "x".repeat(50)), T0 + i)]));
    }
    let report = compact(&mut log, T0 + 1000);
    assert!(report.segments_replaced > 1 && report.records_removed > 0, "{report:?}");
    let after = contents(&log);
    let active_base = log.segments().last().unwrap().base_offset;
    let closed: Vec<i64> = after.iter().map(|(o, _, _)| *o).filter(|o| *o < active_base).collect();
    assert!(closed.len() <= 3, "closed segments keep one value per key: {closed:?}");
    assert_eq!(after.last().unwrap().0, 299);
    let s = files.stats();
    assert!(s.open_files <= 1 && s.index_maps <= 1, "{s:?}");
    // DeleteRecords up to the active segment: every older segment goes, with its cache entries.
    log.delete_records_before(active_base).unwrap();
    assert_eq!(log.segments().len(), 1);
    #[cfg(target_os = "linux")]
    assert!(fds_under(dir.path()) <= 1 && maps_under(dir.path()) <= 1);
    log.close().unwrap();
    let (log, report) = open_in(dir.path(), compact_config(), &files);
    assert_eq!(report.batches_recovered, 0);
    assert_eq!(contents(&log).last().unwrap().0, 299);
}

/// Appends idempotent batches to `log` (rolling segments under `small_config`); returns the
/// last outcome and the next sequence.
fn fill_for_shutdown(log: &mut Log, pid: i64) -> (AppendOutcome, i32) {
    let mut last = None;
    let mut seq = 0;
    for _ in 0..80 {
        last = Some(append(log, &idem(2, pid, 0, seq)));
        seq += 2;
    }
    (last.unwrap(), seq)
}

#[test]
fn close_many_reopens_clean_with_data_and_producer_state() {
    let root = tempfile::tempdir().unwrap();
    let dirs: Vec<PathBuf> = (0..5).map(|i| root.path().join(format!("t-{i}"))).collect();
    let mut logs = Vec::new();
    let mut expected = Vec::new();
    for (i, dir) in dirs.iter().enumerate() {
        let mut log = open(dir, small_config());
        // Half of them with a checkpoint part-way, so both old and fresh recovery points occur.
        if i % 2 == 0 {
            append(&mut log, &plain(1, T0));
            log.checkpoint().unwrap();
        }
        let (last, next_seq) = fill_for_shutdown(&mut log, 100 + i as i64);
        assert!(log.segments().len() > 1, "rolled segments are covered too");
        expected.push((contents(&log), last, next_seq, log.log_end_offset(), log.segments()));
        logs.push(log);
    }
    assert!(close_many(logs, 3).is_empty());
    for (i, dir) in dirs.iter().enumerate() {
        let cp = Checkpoint::read(dir).unwrap();
        let (records, last, next_seq, leo, segments) = &expected[i];
        assert!(cp.clean_shutdown);
        assert_eq!(cp.recovery_point, *leo);
        assert!(!dir.join("oxbow.tmp").exists());
        let (mut log, report) = Log::open(dir, small_config(), T0).unwrap();
        assert_eq!(report.batches_recovered, 0, "clean shutdown: no scan");
        assert_eq!(report.indexes_rebuilt, 0);
        assert_eq!(&contents(&log), records);
        assert_eq!(&log.segments(), segments);
        // The producer snapshot written unsynced at close was found: the last batch is a duplicate.
        let dup = log.append_as_leader(req(&[idem(2, 100 + i as i64, 0, next_seq - 2)]), EPOCH, T0).unwrap();
        assert!(dup.duplicate);
        assert_eq!(dup.base_offset, last.base_offset);
        // The open cleared the flag again, durably.
        assert!(!Checkpoint::read(dir).unwrap().clean_shutdown);
    }
}

#[test]
fn crash_between_shutdown_steps_recovers() {
    // Each case stops the batched shutdown after a different step, as a crash would; the steps
    // before it ran for real, including the syncfs calls.
    for stop_after in 1..=3 {
        let dir = tempfile::tempdir().unwrap();
        let mut log = open(dir.path(), small_config());
        append(&mut log, &plain(1, T0));
        log.checkpoint().unwrap();
        let (last, next_seq) = fill_for_shutdown(&mut log, 9);
        let records = contents(&log);
        let leo = log.log_end_offset();
        log.shutdown_write().unwrap();
        fileio::syncfs(dir.path()).unwrap();
        if stop_after >= 2 {
            log.shutdown_stage_checkpoint().unwrap();
            assert!(dir.path().join("oxbow.tmp").exists());
        }
        if stop_after >= 3 {
            fileio::syncfs(dir.path()).unwrap();
            log.shutdown_commit().unwrap();
        } else {
            log.crash();
            // The staged checkpoint is not in force: the old one (not clean) still is.
            assert!(!Checkpoint::read(dir.path()).unwrap().clean_shutdown);
        }
        let (mut log, report) = Log::open(dir.path(), small_config(), T0).unwrap();
        if stop_after >= 3 {
            assert_eq!(report.batches_recovered, 0, "case {stop_after}: clean");
        } else {
            assert!(report.batches_recovered > 0, "case {stop_after}: recovered by scanning");
        }
        assert_eq!(report.truncated_bytes, 0);
        assert!(!dir.path().join("oxbow.tmp").exists(), "a staged checkpoint is removed at open");
        assert_eq!(contents(&log), records, "case {stop_after}");
        assert_eq!(log.log_end_offset(), leo);
        let dup = log.append_as_leader(req(&[idem(2, 9, 0, next_seq - 2)]), EPOCH, T0).unwrap();
        assert!(dup.duplicate && dup.base_offset == last.base_offset, "case {stop_after}");
        append(&mut log, &idem(1, 9, 0, next_seq));
        log.close().unwrap();
    }
}

// Leader epochs.

/// A batch as a leader stored it: base offset and partition leader epoch set, valid CRC.
fn replica_batch(base_offset: i64, n: usize, epoch: i32) -> Vec<u8> {
    let records: Vec<Record> = (0..n)
        .map(|i| Record {
            attributes: 0,
            timestamp_delta: i as i64,
            offset_delta: i as i32,
            key: None,
            value: Some(Bytes::from(format!("r{base_offset}-{i}"))),
            headers: vec![],
        })
        .collect();
    let spec =
        BatchSpec { base_offset, partition_leader_epoch: epoch, ..BatchSpec::simple(n as i32 - 1, T0, T0 + n as i64) };
    record::encode_batch(&spec, &records).unwrap()
}

fn follow(log: &mut Log, batches: &[Vec<u8>]) -> AppendOutcome {
    log.append_as_follower(BytesMut::from(&batches.concat()[..]), T0).unwrap()
}

fn epoch_file(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("leader-epoch-checkpoint")).unwrap()
}

/// The entries the log's batches imply, worked out here independently of the cache: a batch
/// whose epoch is newer than every earlier batch's starts that epoch; the first epoch starts
/// no earlier than the log start.
fn epochs_in_batches(log: &Log) -> Vec<(i32, i64)> {
    let mut out: Vec<(i32, i64)> = Vec::new();
    let mut offset = log.log_start_offset();
    while offset < log.log_end_offset() {
        let r = log.read(offset, 1 << 20, i64::MAX).unwrap();
        if r.records.is_empty() {
            break;
        }
        for (h, _) in batch::batches(&r.records) {
            let epoch = h.partition_leader_epoch;
            if epoch >= 0 && out.last().is_none_or(|&(latest, _)| epoch > latest) {
                out.push((epoch, h.base_offset.max(log.log_start_offset())));
            }
        }
        offset = r.next_offset;
    }
    out
}

#[test]
fn leader_appends_record_epochs_and_answer_offsets_for_leader_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), LogConfig::default());
    assert_eq!((log.latest_epoch(), log.end_offset_for_epoch(0)), (None, (-1, -1)));
    assert!(!dir.path().join("leader-epoch-checkpoint").exists(), "nothing to persist yet: no fsync for a new log");
    // Epochs 0, 0, 2, 2, 5: batches of 3, 2 | 4, 1 | 2 records.
    for (epoch, n) in [(0, 3), (0, 2), (2, 4), (2, 1), (5, 2)] {
        log.append_as_leader(req(&[plain(n, T0)]), epoch, T0).unwrap();
    }
    assert_eq!(log.epoch_entries(), vec![(0, 0), (2, 5), (5, 10)]);
    assert_eq!(log.latest_epoch(), Some(5));
    assert_eq!(log.log_end_offset(), 12);
    assert_eq!(epoch_file(dir.path()), "0\n3\n0 0\n2 5\n5 10\n");
    let read = log.read(0, 1 << 20, i64::MAX).unwrap();
    let stamped: Vec<(i64, i32)> =
        batch::batches(&read.records).map(|(h, _)| (h.base_offset, h.partition_leader_epoch)).collect();
    assert_eq!(stamped, vec![(0, 0), (3, 0), (5, 2), (9, 2), (10, 5)]);
    // Kafka's endOffsetFor: the floor epoch, ending where the next higher epoch starts; the
    // latest ends at the log end; unknown newer epochs and -1 are undefined.
    let cases = [
        (0, (0, 5)),
        (1, (0, 5)),
        (2, (2, 10)),
        (3, (2, 10)),
        (4, (2, 10)),
        (5, (5, 12)),
        (6, (-1, -1)),
        (-1, (-1, -1)),
    ];
    for (requested, expected) in cases {
        assert_eq!(log.end_offset_for_epoch(requested), expected, "epoch {requested}");
    }

    // An older epoch is fenced and nothing is written, to the log or the epoch file.
    let before = (log.log_end_offset(), log.size_bytes(), epoch_file(dir.path()));
    let err = log.append_as_leader(req(&[plain(1, T0)]), 4, T0).unwrap_err();
    assert!(matches!(err, Error::FencedLeaderEpoch { epoch: 4, latest: 5 }), "{err}");
    assert!(err.to_string().contains("leader epoch 4 is older than the log's latest leader epoch 5"), "{err}");
    assert!(matches!(log.append_as_leader(req(&[plain(1, T0)]), -1, T0), Err(Error::InvalidRecord(_))));
    assert_eq!((log.log_end_offset(), log.size_bytes(), epoch_file(dir.path())), before);

    // A duplicate idempotent batch resent in a new epoch writes nothing, so starts no epoch.
    let first = log.append_as_leader(req(&[idem(2, 9, 0, 0)]), 5, T0).unwrap();
    assert!(log.append_as_leader(req(&[idem(2, 9, 0, 0)]), 6, T0).unwrap().duplicate);
    assert_eq!(log.latest_epoch(), Some(5));

    // A new leader may record its epoch before any append (Kafka's makeLeader does).
    let leo = log.log_end_offset();
    assert_eq!(leo, first.last_offset + 1);
    log.assign_epoch(7, leo).unwrap();
    assert_eq!(log.end_offset_for_epoch(5), (5, leo));
    assert_eq!(log.end_offset_for_epoch(7), (7, leo));
    assert!(matches!(log.assign_epoch(8, leo + 1), Err(Error::OffsetOutOfRange { .. })));
    assert!(matches!(log.assign_epoch(-1, leo), Err(Error::InvalidRecord(_))));
    log.append_as_leader(req(&[plain(1, T0)]), 7, T0).unwrap();
    assert_eq!(
        log.epoch_entries(),
        vec![(0, 0), (2, 5), (5, 10), (7, leo)],
        "the first append keeps the assigned start"
    );
    assert_eq!(log.end_offset_for_epoch(6), (5, leo));
}

#[test]
fn follower_appends_truncation_and_new_epochs() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), small_config());
    // One request spanning two epochs, then more of the same epoch, then a newer one.
    follow(&mut log, &[replica_batch(0, 3, 1), replica_batch(3, 2, 1), replica_batch(5, 2, 4)]);
    follow(&mut log, &[replica_batch(7, 2, 4)]);
    follow(&mut log, &[replica_batch(9, 1, 6)]);
    assert_eq!(log.epoch_entries(), vec![(1, 0), (4, 5), (6, 9)]);
    // A batch without an epoch (-1, written before epochs existed) records nothing.
    follow(&mut log, &[replica_batch(10, 1, -1)]);
    assert_eq!(log.epoch_entries(), vec![(1, 0), (4, 5), (6, 9)]);
    assert_eq!(epoch_file(dir.path()), "0\n3\n1 0\n4 5\n6 9\n");

    assert_eq!(log.truncate_to(9, T0).unwrap(), 9);
    assert_eq!(log.epoch_entries(), vec![(1, 0), (4, 5)]);
    // Offset 6 is inside the batch [5, 7) that started epoch 4: the batch goes, and the epoch
    // with it (the cut is by the new log end, 5).
    assert_eq!(log.truncate_to(6, T0).unwrap(), 5);
    assert_eq!(log.epoch_entries(), vec![(1, 0)]);
    assert_eq!(epoch_file(dir.path()), "0\n1\n1 0\n");

    // The follower goes on with the new leader's epoch.
    follow(&mut log, &[replica_batch(5, 3, 7)]);
    assert_eq!(log.epoch_entries(), vec![(1, 0), (7, 5)]);
    assert_eq!(log.end_offset_for_epoch(4), (1, 5));
    assert_eq!(log.end_offset_for_epoch(0), (0, 0), "older than any epoch: where the first one starts");
    assert_eq!(log.epoch_entries(), epochs_in_batches(&log));
    // A batch in an older epoch than the latest drops the conflicting entries (Kafka's assign).
    follow(&mut log, &[replica_batch(8, 1, 3)]);
    assert_eq!(log.epoch_entries(), vec![(1, 0), (3, 8)]);
    // A leader append after the follower became leader continues from there.
    log.set_high_watermark(log.log_end_offset());
    log.append_as_leader(req(&[plain(2, T0)]), 8, T0).unwrap();
    assert_eq!(log.epoch_entries(), vec![(1, 0), (3, 8), (8, 9)]);

    // Truncating below the log start empties the log and the cache (Kafka's truncateFullyAndStartAt).
    assert_eq!(log.delete_records_before(4).unwrap(), 4);
    assert_eq!(log.epoch_entries(), vec![(1, 4), (3, 8), (8, 9)]);
    assert_eq!(log.truncate_to(2, T0).unwrap(), 2);
    assert_eq!((log.log_start_offset(), log.epoch_entries()), (2, vec![]));
    assert_eq!(epoch_file(dir.path()), "0\n0\n");
    follow(&mut log, &[replica_batch(2, 1, 9)]);
    assert_eq!(log.epoch_entries(), vec![(9, 2)]);
}

#[test]
fn log_start_moves_move_the_first_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig { retention_ms: 50_000, ..small_config() };
    let mut log = open(dir.path(), config.clone());
    // Epoch 1 records are old, epoch 2 records new: retention removes only epoch-1 segments.
    for i in 0..60 {
        log.append_as_leader(req(&[plain(2, T0 + i)]), 1, T0).unwrap();
    }
    for i in 0..60 {
        log.append_as_leader(req(&[plain(2, T0 + 100_000 + i)]), 2, T0).unwrap();
    }
    log.set_high_watermark(log.log_end_offset());
    assert_eq!(log.epoch_entries(), vec![(1, 0), (2, 120)]);
    assert!(log.maintain(T0 + 60_000).unwrap() > 0);
    let start = log.log_start_offset();
    assert!(start > 0 && start < 120, "the segment holding both epochs stays: start {start}");
    assert_eq!(log.epoch_entries(), vec![(1, start), (2, 120)]);
    assert_eq!(epoch_file(dir.path()), format!("0\n2\n1 {start}\n2 120\n"));
    assert_eq!(log.end_offset_for_epoch(0), (0, start));

    // DeleteRecords inside epoch 2: epoch 1 goes, epoch 2 now starts at the new log start.
    log.delete_records_before(130).unwrap();
    assert_eq!(log.epoch_entries(), vec![(2, 130)]);
    assert!(matches!(log.assign_epoch(9, 129), Err(Error::OffsetOutOfRange { .. })), "below the log start");
    assert_eq!(log.epoch_entries(), epochs_in_batches(&log));
    log.close().unwrap();
    let log = open(dir.path(), config);
    assert_eq!(log.epoch_entries(), vec![(2, 130)]);
}

#[test]
fn epoch_cache_survives_close_and_crash_and_is_rebuilt_without_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), small_config());
    for epoch in [1, 2] {
        for i in 0..40 {
            log.append_as_leader(req(&[plain(2, T0 + i)]), epoch, T0).unwrap();
        }
    }
    log.checkpoint().unwrap();
    for epoch in [3, 5] {
        for i in 0..20 {
            log.append_as_leader(req(&[plain(1, T0 + i)]), epoch, T0).unwrap();
        }
    }
    let expected = vec![(1, 0), (2, 80), (3, 160), (5, 180)];
    assert_eq!(log.epoch_entries(), expected);
    assert!(log.segments().len() > 2);
    let text = epoch_file(dir.path());
    assert_eq!(text, "0\n4\n1 0\n2 80\n3 160\n5 180\n");

    // kill -9 after the checkpoint, with a file lacking the epochs written after the recovery
    // point (as if written by something that only knew the older ones): the recovery scan
    // adds them back.
    log.crash();
    std::fs::write(dir.path().join("leader-epoch-checkpoint"), "0\n2\n1 0\n2 80\n").unwrap();
    let (log, report) = Log::open(dir.path(), small_config(), T0).unwrap();
    assert!(report.batches_recovered > 0);
    assert_eq!(log.epoch_entries(), expected);
    assert_eq!(epoch_file(dir.path()), text);
    // kill -9 with the file as written: nothing to correct.
    log.crash();
    let log = open(dir.path(), small_config());
    assert_eq!(log.epoch_entries(), expected);
    assert_eq!(log.epoch_entries(), epochs_in_batches(&log));

    // Clean close: the same cache, no scan.
    log.close().unwrap();
    let (log, report) = Log::open(dir.path(), small_config(), T0).unwrap();
    assert_eq!(report.batches_recovered, 0);
    assert_eq!(log.epoch_entries(), expected);
    assert_eq!(epoch_file(dir.path()), text);

    // Missing file: rebuilt from every batch header, and written.
    log.close().unwrap();
    std::fs::remove_file(dir.path().join("leader-epoch-checkpoint")).unwrap();
    let log = open(dir.path(), small_config());
    assert_eq!(log.epoch_entries(), expected);
    assert_eq!(epoch_file(dir.path()), text);

    // Garbage, and a count that does not match: rebuilt the same way.
    log.close().unwrap();
    // An empty file (Kafka creates it so) is rebuilt too, quietly.
    for garbage in ["\u{0}garbage\n", "0\n5\n1 0\n2 80\n3 160\n5 180\n", ""] {
        std::fs::write(dir.path().join("leader-epoch-checkpoint"), garbage).unwrap();
        let log = open(dir.path(), small_config());
        assert_eq!(log.epoch_entries(), expected, "{garbage:?}");
        assert_eq!(epoch_file(dir.path()), text, "{garbage:?}");
        log.close().unwrap();
    }
}

#[test]
fn an_epoch_file_ahead_of_the_log_is_cut_back_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), LogConfig::default());
    for epoch in [1, 2] {
        for i in 0..5 {
            log.append_as_leader(req(&[plain(2, T0 + i)]), epoch, T0).unwrap();
        }
    }
    log.checkpoint().unwrap();
    // The file names epoch 3 before its batch is written; a crash tears that batch off.
    log.append_as_leader(req(&[plain(3, T0)]), 3, T0).unwrap();
    assert_eq!(epoch_file(dir.path()), "0\n3\n1 0\n2 10\n3 20\n");
    let path = active_log_path(&log);
    let size = log.size_bytes();
    log.crash();
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(size - 7).unwrap();
    drop(f);
    let (log, report) = Log::open(dir.path(), LogConfig::default(), T0).unwrap();
    assert!(report.truncated_bytes > 0);
    assert_eq!(log.log_end_offset(), 20);
    assert_eq!(log.epoch_entries(), vec![(1, 0), (2, 10)]);
    assert_eq!(log.epoch_entries(), epochs_in_batches(&log));
    assert_eq!(epoch_file(dir.path()), "0\n2\n1 0\n2 10\n");

    // A file claiming more than the log holds after a clean shutdown is cut back too.
    log.close().unwrap();
    std::fs::write(dir.path().join("leader-epoch-checkpoint"), "0\n4\n1 0\n2 10\n4 20\n6 35\n").unwrap();
    let (mut log, report) = Log::open(dir.path(), LogConfig::default(), T0).unwrap();
    assert_eq!(report.batches_recovered, 0);
    assert_eq!(log.epoch_entries(), vec![(1, 0), (2, 10)]);
    assert_eq!(epoch_file(dir.path()), "0\n2\n1 0\n2 10\n");
    // An epoch assigned with no records yet is one of those: gone after a restart, as in Kafka.
    log.assign_epoch(4, 20).unwrap();
    log.close().unwrap();
    assert_eq!(open(dir.path(), LogConfig::default()).epoch_entries(), vec![(1, 0), (2, 10)]);
}
