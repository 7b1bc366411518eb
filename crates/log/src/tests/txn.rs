//! Transactions in the log: open transactions in producer state, markers, the last stable
//! offset, `.txnindex` files (checked byte for byte against Kafka's `AbortedTxn` layout,
//! written out by hand here), recovery, truncation, replication and compaction.

use super::*;

/// A transactional batch of `n` records keyed `key` from `pid`, sequence `seq` on.
fn txn(n: usize, pid: i64, epoch: i16, seq: i32, key: &'static str, ts: i64) -> B {
    let records =
        (0..n).map(|i| R(Some(key), Some(format!("{key}-{pid}-{}", seq as usize + i)), ts + i as i64)).collect();
    B { records, producer: Some((pid, epoch, seq)), compression: Compression::None, transactional: true }
}

fn marker(pid: i64, epoch: i16, coordinator_epoch: i32, commit: bool) -> TxnMarker {
    TxnMarker { producer_id: pid, producer_epoch: epoch, coordinator_epoch, commit }
}

/// Appends as the leader and moves the high watermark to the end, as a single replica would.
fn leader(log: &mut Log, batch: &B) -> AppendOutcome {
    append(log, batch)
}

fn end_txn(log: &mut Log, m: TxnMarker) -> i64 {
    let out = log.append_txn_marker(&m, EPOCH, T0).unwrap();
    log.set_high_watermark(log.log_end_offset());
    out.base_offset
}

/// One `.txnindex` entry as Kafka's `AbortedTxn` lays it out: version i16 0, producer id,
/// first offset, last offset, last stable offset, all big-endian.
fn kafka_entry(pid: i64, first: i64, last: i64, lso: i64) -> Vec<u8> {
    let mut out = vec![0u8, 0];
    for v in [pid, first, last, lso] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    assert_eq!(out.len(), 34);
    out
}

/// Every `.txnindex` file in the directory: name → bytes.
fn txn_index_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "txnindex"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect()
}

/// Every batch header in the log (offset order).
fn headers(log: &Log) -> Vec<BatchHeader> {
    let mut out = Vec::new();
    let mut offset = log.log_start_offset();
    while offset < log.log_end_offset() {
        let r = log.read(offset, 1 << 20, i64::MAX).unwrap();
        if r.records.is_empty() {
            break;
        }
        out.extend(batch::batches(&r.records).map(|(h, _)| h));
        offset = r.next_offset;
    }
    out
}

/// All of the log's bytes, batch by batch (what a follower would fetch).
fn leader_batches(log: &Log) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut offset = log.log_start_offset();
    while offset < log.log_end_offset() {
        let r = log.read(offset, 1 << 20, i64::MAX).unwrap();
        out.extend(batch::batches(&r.records).map(|(_, bytes)| bytes.to_vec()));
        offset = r.next_offset;
    }
    out
}

#[test]
fn commit_abort_lso_and_the_txnindex_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), LogConfig::default());
    // Producer 1 opens a transaction at 0; producer 2 writes idempotently meanwhile.
    leader(&mut log, &txn(3, 1, 0, 0, "a", T0));
    assert_eq!((log.first_unstable_offset(), log.last_stable_offset(), log.high_watermark()), (Some(0), 0, 3));
    assert!(log.has_ongoing_txn(1, 0) && !log.has_ongoing_txn(1, 1));
    leader(&mut log, &idem(1, 2, 0, 0));
    leader(&mut log, &txn(2, 3, 0, 0, "b", T0));
    assert_eq!(log.last_stable_offset(), 0, "open at 0 and 4");
    // A plain batch inside an open transaction is refused, and nothing is written.
    let leo = log.log_end_offset();
    assert!(matches!(
        log.append_as_leader(req(&[B { transactional: false, ..txn(1, 1, 0, 3, "a", T0) }]), EPOCH, T0),
        Err(Error::InvalidTxnState(_))
    ));
    assert_eq!(log.log_end_offset(), leo);

    // COMMIT producer 1 at 6: stable only once the high watermark passes the marker.
    let commit_at = log.append_txn_marker(&marker(1, 0, 0, true), EPOCH, T0 + 5).unwrap().base_offset;
    assert_eq!(commit_at, 6);
    assert_eq!(log.last_stable_offset(), 0, "marker not replicated yet");
    log.set_high_watermark(7);
    assert_eq!((log.first_unstable_offset(), log.last_stable_offset()), (Some(4), 4));
    assert!(!log.has_ongoing_txn(1, 0));

    // Producer 5 opens a transaction at 7, then producer 3 aborts: its index entry's LSO is
    // producer 5's first offset, the oldest transaction still open.
    leader(&mut log, &txn(1, 5, 0, 0, "c", T0));
    let abort_at = end_txn(&mut log, marker(3, 0, 2, false));
    assert_eq!(abort_at, 8);
    assert_eq!(log.last_stable_offset(), 7);
    // Producer 5 aborts too, with nothing else open: LSO = the marker's offset + 1.
    let abort5 = end_txn(&mut log, marker(5, 0, 2, false));
    assert_eq!((abort5, log.first_unstable_offset(), log.last_stable_offset()), (9, None, 10));

    let want = [kafka_entry(3, 4, 8, 7), kafka_entry(5, 7, 9, 10)].concat();
    assert_eq!(txn_index_files(dir.path()), BTreeMap::from([("00000000000000000000.txnindex".to_string(), want)]));
    assert_eq!(
        log.aborted_txns().unwrap(),
        vec![
            AbortedTxn { producer_id: 3, first_offset: 4, last_offset: 8, last_stable_offset: 7 },
            AbortedTxn { producer_id: 5, first_offset: 7, last_offset: 9, last_stable_offset: 10 }
        ]
    );
    // Fetch ranges: what overlaps [fetch, upper).
    let pids = |fetch, upper| {
        log.collect_aborted_txns(fetch, upper).unwrap().iter().map(|t| t.producer_id).collect::<Vec<_>>()
    };
    assert_eq!(pids(0, 4), Vec::<i64>::new());
    assert_eq!(pids(0, 5), vec![3]);
    assert_eq!(pids(0, 10), vec![3, 5]);
    assert_eq!(pids(9, 10), vec![5]);

    // The markers: control + transactional, one record, Kafka's key and value schemas.
    let hs = headers(&log);
    let controls: Vec<&BatchHeader> = hs.iter().filter(|h| h.is_control()).collect();
    assert_eq!(controls.iter().map(|h| h.base_offset).collect::<Vec<_>>(), vec![6, 8, 9]);
    let read = log.read(6, 1 << 20, 7).unwrap();
    let (h, bytes) = batch::batches(&read.records).next().unwrap();
    assert_eq!((h.attributes, h.base_sequence, h.records_count, h.last_offset_delta), (0x30, -1, 1, 0));
    assert_eq!((h.producer_id, h.producer_epoch, h.max_timestamp, h.partition_leader_epoch), (1, 0, T0 + 5, EPOCH));
    let records = record::decode_records(bytes).unwrap();
    assert_eq!(records[0].key.as_deref(), Some(&[0u8, 0, 0, 1][..]), "version 0, type 1 COMMIT");
    assert_eq!(records[0].value.as_deref(), Some(&[0u8, 0, 0, 0, 0, 0][..]), "version 0, coordinator epoch 0");

    let producers = log.active_producers();
    let p = |pid| producers.iter().find(|p| p.producer_id == pid).unwrap().clone();
    assert_eq!(
        p(1),
        ProducerInfo {
            producer_id: 1,
            producer_epoch: 0,
            last_sequence: 2,
            last_timestamp_ms: T0 + 5,
            coordinator_epoch: 0,
            current_txn_start_offset: -1
        }
    );
    assert_eq!((p(2).last_sequence, p(2).coordinator_epoch, p(2).current_txn_start_offset), (0, -1, -1));
    assert_eq!(p(3).coordinator_epoch, 2);
}

#[test]
fn fencing_by_producer_epoch_coordinator_epoch_and_leader_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), LogConfig::default());
    leader(&mut log, &txn(2, 5, 1, 0, "a", T0));
    let leo = log.log_end_offset();
    assert!(matches!(
        log.append_txn_marker(&marker(5, 0, 0, false), EPOCH, T0),
        Err(Error::InvalidProducerEpoch { current: 1, found: 0, .. })
    ));
    assert!(matches!(
        log.append_txn_marker(&marker(5, 1, 0, true), EPOCH - 1, T0),
        Err(Error::FencedLeaderEpoch { .. })
    ));
    assert!(matches!(log.append_txn_marker(&marker(-1, 0, 0, true), EPOCH, T0), Err(Error::InvalidRecord(_))));
    assert!(matches!(
        log.append_as_leader(req(&[txn(1, 5, 0, 2, "a", T0)]), EPOCH, T0),
        Err(Error::InvalidProducerEpoch { .. })
    ));
    assert_eq!(log.log_end_offset(), leo, "nothing written");
    end_txn(&mut log, marker(5, 1, 3, false));
    // A marker of an older coordinator epoch is a zombie coordinator's.
    assert!(matches!(
        log.append_txn_marker(&marker(5, 1, 2, true), EPOCH, T0),
        Err(Error::TransactionCoordinatorFenced { producer_id: 5, current: 3, found: 2 })
    ));
    // A higher epoch fences the producer's older one: it starts at sequence 0.
    leader(&mut log, &txn(1, 5, 2, 0, "a", T0));
    assert!(matches!(
        log.append_as_leader(req(&[txn(1, 5, 1, 2, "a", T0)]), EPOCH, T0),
        Err(Error::InvalidProducerEpoch { current: 2, found: 1, .. })
    ));
    assert!(matches!(
        log.append_txn_marker(&marker(5, 1, 3, true), EPOCH, T0),
        Err(Error::InvalidProducerEpoch { .. })
    ));
    // The coordinator's retry of a marker already written ends nothing and indexes nothing.
    end_txn(&mut log, marker(5, 2, 3, true));
    end_txn(&mut log, marker(5, 2, 3, true));
    assert_eq!(log.aborted_txns().unwrap().len(), 1);
    assert_eq!(log.first_unstable_offset(), None);
}

/// A log with transactions spread over several segments: aborted ones before and after a
/// checkpoint, one still open, and idempotent writes in between.
fn mixed_history(log: &mut Log) {
    let filler = |log: &mut Log, n: usize| {
        for i in 0..n {
            leader(log, &plain(8, T0 + i as i64));
        }
    };
    leader(log, &txn(2, 1, 0, 0, "a", T0));
    filler(log, 16);
    end_txn(log, marker(1, 0, 0, false));
    leader(log, &txn(3, 2, 0, 0, "b", T0));
    log.checkpoint().unwrap();
    leader(log, &txn(1, 3, 0, 0, "c", T0));
    filler(log, 20);
    leader(log, &idem(2, 4, 0, 0));
    end_txn(log, marker(2, 0, 1, false));
    end_txn(log, marker(4, 0, 1, true));
    filler(log, 8);
    leader(log, &txn(2, 6, 0, 0, "d", T0));
    end_txn(log, marker(6, 0, 1, false));
}

#[test]
fn recovery_after_a_crash_rebuilds_open_and_aborted_transactions() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), small_config());
    mixed_history(&mut log);
    assert!(log.segments().len() > 2, "spread over segments: {:?}", log.segments());
    let (files, producers, lso) = (txn_index_files(dir.path()), log.active_producers(), log.last_stable_offset());
    assert!(files.len() >= 2, "ABORT markers in several segments: {:?}", files.keys());
    assert!(log.has_ongoing_txn(3, 0));
    let entries = log.aborted_txns().unwrap();
    assert_eq!(entries.iter().map(|t| t.producer_id).collect::<Vec<_>>(), vec![1, 2, 6]);
    // Producer 2's abort happened while producer 3's transaction was open: its LSO says so.
    assert_eq!(entries[1].last_stable_offset, log.first_unstable_offset().unwrap());
    log.crash();

    // kill -9 between a marker's log write and its index write: the last entry is missing.
    let (last_file, bytes) = files.iter().next_back().unwrap();
    std::fs::write(dir.path().join(last_file), &bytes[..bytes.len() - ABORTED_TXN_BYTES]).unwrap();
    let mut log = open(dir.path(), small_config());
    assert_eq!(txn_index_files(dir.path()), files, "rebuilt byte for byte");
    assert_eq!(log.active_producers(), producers);
    // The high watermark comes back as last checkpointed: markers past it are not stable yet.
    assert!(log.high_watermark() < log.log_end_offset());
    assert!(log.last_stable_offset() < lso);
    log.set_high_watermark(log.log_end_offset());
    assert_eq!(log.last_stable_offset(), lso);
    // The open transaction is still open and ends as if nothing happened.
    let at = end_txn(&mut log, marker(3, 0, 1, false));
    assert_eq!(
        log.aborted_txns().unwrap().last().unwrap(),
        &AbortedTxn { producer_id: 3, first_offset: lso, last_offset: at, last_stable_offset: at + 1 }
    );
    let (files, producers) = (txn_index_files(dir.path()), log.active_producers());
    log.crash();

    // No snapshot and every index gone: a replay of the whole log rebuilds them all.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|x| x == "snapshot" || x == "txnindex") {
            std::fs::remove_file(path).unwrap();
        }
    }
    let log = open(dir.path(), small_config());
    assert_eq!(txn_index_files(dir.path()), files);
    assert_eq!(log.active_producers(), producers);
    log.close().unwrap();
    // A clean restart loads it all from the snapshot.
    let (log, report) = Log::open(dir.path(), small_config(), T0).unwrap();
    assert_eq!(report.batches_recovered, 0);
    assert_eq!((txn_index_files(dir.path()), log.active_producers()), (files, producers));
}

#[test]
fn an_unreadable_txnindex_is_rebuilt_from_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), small_config());
    mixed_history(&mut log);
    let files = txn_index_files(dir.path());
    log.close().unwrap();
    let (first, bytes) = files.iter().next().unwrap();
    let mut bad = bytes.clone();
    let last = bad.len() - ABORTED_TXN_BYTES;
    bad[last + 1] = 9; // the last entry (the one open reads) says version 9
    std::fs::write(dir.path().join(first), bad).unwrap();
    let log = open(dir.path(), small_config());
    assert_eq!(txn_index_files(dir.path()), files);
    assert_eq!(log.aborted_txns().unwrap().len(), 3);
}

#[test]
fn truncation_drops_index_entries_and_reopens_transactions() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), LogConfig::default());
    leader(&mut log, &txn(2, 1, 0, 0, "a", T0)); // 0-1
    end_txn(&mut log, marker(1, 0, 0, false)); // 2
    leader(&mut log, &txn(2, 2, 0, 0, "b", T0)); // 3-4
    end_txn(&mut log, marker(2, 0, 0, false)); // 5
    let batches = leader_batches(&log);
    let files = txn_index_files(dir.path());
    assert_eq!(log.aborted_txns().unwrap().len(), 2);

    log.truncate_to(5, T0).unwrap();
    assert_eq!(
        log.aborted_txns().unwrap(),
        vec![AbortedTxn { producer_id: 1, first_offset: 0, last_offset: 2, last_stable_offset: 3 }]
    );
    assert!(log.has_ongoing_txn(2, 0), "its marker went: open again");
    log.set_high_watermark(5);
    assert_eq!(log.last_stable_offset(), 3);
    log.truncate_to(2, T0).unwrap();
    assert!(txn_index_files(dir.path()).is_empty(), "no entry left, no file");
    assert_eq!(log.first_unstable_offset(), Some(0));

    // The same batches replicated again bring the same entries back.
    for b in &batches[1..] {
        log.append_as_follower(BytesMut::from(&b[..]), T0).unwrap();
    }
    assert_eq!(txn_index_files(dir.path()), files);
    log.set_high_watermark(log.log_end_offset());
    assert_eq!(log.first_unstable_offset(), None);
}

#[test]
fn a_follower_rebuilds_the_leaders_producer_state_and_txnindex() {
    let (leader_dir, follower_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut leader_log = open(leader_dir.path(), small_config());
    mixed_history(&mut leader_log);
    let mut follower = open(follower_dir.path(), small_config());
    // One batch per fetch, so the follower rolls where the leader did.
    for b in leader_batches(&leader_log) {
        follower.append_as_follower(BytesMut::from(&b[..]), T0).unwrap();
    }
    follower.set_high_watermark(follower.log_end_offset());
    assert_eq!(
        follower.segments().iter().map(|s| s.base_offset).collect::<Vec<_>>(),
        leader_log.segments().iter().map(|s| s.base_offset).collect::<Vec<_>>()
    );
    assert_eq!(txn_index_files(follower_dir.path()), txn_index_files(leader_dir.path()));
    assert_eq!(follower.active_producers(), leader_log.active_producers());
    assert_eq!(follower.last_stable_offset(), leader_log.last_stable_offset());
    // Whole fetches of many batches give the same entries (segments may roll elsewhere).
    let other_dir = tempfile::tempdir().unwrap();
    let mut other = open(other_dir.path(), LogConfig::default());
    other.append_as_follower(BytesMut::from(&leader_batches(&leader_log).concat()[..]), T0).unwrap();
    assert_eq!(other.aborted_txns().unwrap(), leader_log.aborted_txns().unwrap());
}

#[test]
fn retention_deletes_a_segments_txnindex_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig { retention_bytes: 0, ..small_config() };
    let mut log = open(dir.path(), config);
    mixed_history(&mut log);
    end_txn(&mut log, marker(3, 0, 1, false));
    for i in 0..20 {
        leader(&mut log, &plain(4, T0 + i));
    }
    assert!(!txn_index_files(dir.path()).is_empty());
    log.maintain(T0).unwrap();
    assert!(txn_index_files(dir.path()).is_empty(), "{:?}", txn_index_files(dir.path()).keys());
    assert!(log.aborted_txns().unwrap().is_empty());
}

/// Producers 1 (committed `k`) and 2 (aborted `k`) in closed segments of a compacted log.
fn compacted_with_an_abort(dir: &Path) -> Log {
    let mut log = open(dir, compact_config());
    leader(&mut log, &txn(1, 1, 0, 0, "k", T0)); // 0: committed
    end_txn(&mut log, marker(1, 0, 0, true)); // 1
    leader(&mut log, &txn(1, 2, 0, 0, "k", T0 + 1)); // 2: aborted, newer than the committed one
    end_txn(&mut log, marker(2, 0, 0, false)); // 3
    fill(&mut log, 0);
    log
}

/// Plain keyed records, enough to roll the records above into closed segments.
fn fill(log: &mut Log, round: i64) {
    for i in 0..40 {
        leader(log, &b(vec![rec("f", &format!("filler-{round}-{i}-{}", "x".repeat(60)), T0 + i)]));
    }
}

fn values_of(log: &Log, key: &str) -> Vec<String> {
    contents(log).into_iter().filter(|(_, k, _)| k.as_deref() == Some(key)).filter_map(|(_, _, v)| v).collect()
}

fn marker_offsets(log: &Log) -> Vec<i64> {
    headers(log).iter().filter(|h| h.is_control() && h.records_count > 0).map(|h| h.base_offset).collect()
}

#[test]
fn compaction_removes_aborted_records_and_keeps_markers_while_their_data_remains() {
    // Active producers: the aborted batch is producer 2's last, so it stays as an empty batch
    // and with it the marker and the index entry; its record is gone all the same.
    let dir = tempfile::tempdir().unwrap();
    let mut log = compacted_with_an_abort(dir.path());
    let index_before = log.aborted_txns().unwrap();
    compact(&mut log, T0);
    assert_eq!(values_of(&log, "k"), vec!["k-1-0".to_string()], "the committed value survives the newer aborted one");
    assert_eq!(marker_offsets(&log), vec![1, 3]);
    assert_eq!(log.aborted_txns().unwrap(), index_before);
    let emptied: Vec<i64> = headers(&log).iter().filter(|h| h.records_count == 0).map(|h| h.base_offset).collect();
    assert_eq!(emptied, vec![2], "producer 2's last batch kept, emptied");
}

#[test]
fn compaction_drops_an_abort_marker_after_its_data_and_delete_retention() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = compacted_with_an_abort(dir.path());
    // Expired producers have no batch to keep: the aborted batch goes in the first pass.
    log.set_producer_id_expiration_ms(1);
    log.maintain(T0 + 10).unwrap();
    assert!(log.active_producers().is_empty());
    compact(&mut log, T0 + 10);
    assert_eq!(values_of(&log, "k"), vec!["k-1-0".to_string()]);
    assert!(headers(&log).iter().all(|h| h.base_offset != 2), "aborted batch removed");
    assert_eq!(marker_offsets(&log), vec![1, 3], "the pass met the aborted data: marker kept");
    assert_eq!(log.aborted_txns().unwrap().len(), 1);
    // The next pass meets no data of the aborted transaction: the marker gets its delete
    // horizon and its index entry goes; the COMMIT marker stays while its data does.
    fill(&mut log, 1);
    compact(&mut log, T0 + 20);
    assert_eq!(marker_offsets(&log), vec![1, 3]);
    assert!(log.aborted_txns().unwrap().is_empty());
    let abort = headers(&log).into_iter().find(|h| h.base_offset == 3).unwrap();
    assert!(abort.has_delete_horizon());
    assert_eq!(abort.base_timestamp, T0 + 20 + 1000);
    // After delete.retention.ms the marker goes too.
    assert!(log.needs_compaction(T0 + 20 + 1000));
    compact(&mut log, T0 + 20 + 1000);
    assert_eq!(marker_offsets(&log), vec![1]);
    assert_eq!(values_of(&log, "k"), vec!["k-1-0".to_string()]);
    // All of it survives a restart.
    let before = contents(&log);
    log.crash();
    assert_eq!(contents(&open(dir.path(), compact_config())), before);
}

#[test]
fn compaction_never_cleans_past_an_open_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = open(dir.path(), compact_config());
    fill(&mut log, 0);
    leader(&mut log, &txn(1, 9, 0, 0, "open", T0));
    let open_at = log.first_unstable_offset().unwrap();
    fill(&mut log, 1);
    fill(&mut log, 2);
    log.set_min_cleanable_dirty_ratio(0.0);
    let job = log.compaction_job(T0).expect("segments before the transaction are cleanable");
    assert!(job.end_offset() <= open_at, "job ends at {} past the open transaction at {open_at}", job.end_offset());
    log.install_compaction(job.run().unwrap()).unwrap();
    assert_eq!(values_of(&log, "open"), vec!["open-9-0".to_string()]);
}

#[test]
fn an_interrupted_compaction_swap_keeps_the_new_txnindex() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = compacted_with_an_abort(dir.path());
    compact(&mut log, T0);
    let files = txn_index_files(dir.path());
    let (name, bytes) = files.iter().next().unwrap();
    let base: i64 = name.split('.').next().unwrap().parse().unwrap();
    log.close().unwrap();
    // A crash after the `.txnindex` swap was renamed into place, before the `.log` one: the
    // old segment's files are still there, the new log is still `.log.swap`.
    let seg = |ext: &str| dir.path().join(format!("{base:020}.{ext}"));
    std::fs::rename(seg("log"), seg("log.swap")).unwrap();
    std::fs::write(seg("swapgroup"), format!("{base}\n")).unwrap();
    let log = open(dir.path(), compact_config());
    assert_eq!(&std::fs::read(seg("txnindex")).unwrap(), bytes);
    assert_eq!(log.aborted_txns().unwrap().len(), 1);
}
