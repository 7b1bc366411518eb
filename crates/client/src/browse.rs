//! Browsing: read partitions from a chosen offset per partition, and ask the cluster for offsets
//! (earliest, latest, by time) of many partitions in batched ListOffsets requests.

use crate::error::{Error, Result};
use crate::ffi::{admin_request, array, cstr, Owned};
use crate::profile::ConnectionProfile;
use rdkafka::bindings as sys;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};
use std::ffi::CString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Which offset a ListOffsets lookup asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OffsetSpec {
    /// The log start offset.
    Earliest,
    /// The high watermark.
    Latest,
    /// The first offset whose timestamp is at or after this time (ms since the epoch).
    Timestamp(i64),
}

/// How a record's timestamp was set (Kafka's timestamp type).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimestampKind {
    NotAvailable,
    CreateTime,
    LogAppendTime,
}

/// One record read from a partition, owned and detached from librdkafka.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub timestamp_ms: Option<i64>,
    pub timestamp_kind: TimestampKind,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    /// Header keys and values in record order; a header may have a null value.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

fn reader_config(profile: &ConnectionProfile, settings: &[(&str, &str)]) -> rdkafka::ClientConfig {
    let mut config = profile.client_config();
    // assign() needs a group.id; the reader never joins it and never commits (see PartitionReader).
    config.set("group.id", crate::READER_GROUP_ID);
    config.set("enable.auto.commit", "false");
    config.set("enable.auto.offset.store", "false");
    config.set("enable.partition.eof", "false");
    config.set("auto.offset.reset", "earliest");
    for (key, value) in settings {
        config.set(*key, *value);
    }
    config
}

/// Answers ListOffsets questions for many partitions at once (batched per leader by librdkafka).
/// Holds one consumer handle, created once and reused; it never fetches records.
pub struct OffsetLookup {
    inner: BaseConsumer,
    /// Set by [`OffsetLookup::close`].
    closed: AtomicBool,
}

impl OffsetLookup {
    pub fn new(profile: &ConnectionProfile, settings: &[(&str, &str)]) -> Result<OffsetLookup> {
        let inner = reader_config(profile, settings).create().map_err(Error::Config)?;
        Ok(OffsetLookup { inner, closed: AtomicBool::new(false) })
    }

    /// Ends this handle's lookups as [`Admin::close`](crate::Admin::close) does an admin
    /// handle's: one waiting for an answer returns `CLIENT_CLOSED` within
    /// [`ADMIN_POLL_SLICE_MS`](crate::ADMIN_POLL_SLICE_MS), later ones are refused at once.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    /// The offset `spec` names for each `(topic, partition)`, in input order. A partition the
    /// cluster could not answer for gets `Err(Kafka's error name)`; a `Timestamp` later than
    /// every record gets `Ok(None)` (Kafka answers -1). Blocks the thread for at most `timeout`.
    pub fn list_offsets(
        &self,
        partitions: &[(String, i32)],
        spec: OffsetSpec,
        timeout: Duration,
    ) -> Result<Vec<Result<Option<i64>, String>>> {
        if partitions.is_empty() {
            return Ok(Vec::new());
        }
        // ListOffsets takes a timestamp per partition; -2 and -1 are Kafka's EARLIEST and LATEST.
        let wanted = match spec {
            OffsetSpec::Earliest => -2,
            OffsetSpec::Latest => -1,
            OffsetSpec::Timestamp(ms) => ms.max(0),
        };
        // librdkafka refuses a request naming a partition twice: ask once, answer every copy.
        let mut unique: Vec<&(String, i32)> = partitions.iter().collect();
        unique.sort();
        unique.dedup();
        let mut answers: std::collections::HashMap<(String, i32), Result<Option<i64>, String>> =
            std::collections::HashMap::with_capacity(unique.len());
        let topics_c: Vec<CString> = unique
            .iter()
            .map(|(topic, _)| CString::new(topic.as_str()))
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| Error::NotFound("a topic name contains a NUL byte".into()))?;
        let rk = self.inner.client().native_ptr();
        // SAFETY: the list is owned by its guard and copied by librdkafka; `rk` is this handle's
        // live client; result pointers are read only while `event` is alive.
        unsafe {
            let list = Owned::new(
                sys::rd_kafka_topic_partition_list_new(unique.len() as i32),
                sys::rd_kafka_topic_partition_list_destroy,
            )
            .ok_or_else(|| Error::NotFound("librdkafka made no partition list".into()))?;
            for ((_, partition), topic_c) in unique.iter().zip(&topics_c) {
                let element = sys::rd_kafka_topic_partition_list_add(list.as_ptr(), topic_c.as_ptr(), *partition);
                (*element).offset = wanted;
            }
            let event = admin_request(
                rk,
                sys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_LISTOFFSETS,
                "ListOffsets",
                &format!("{} partitions", unique.len()),
                timeout,
                &self.closed,
                |options, queue| sys::rd_kafka_ListOffsets(rk, list.as_ptr(), options, queue),
            )?;
            let result = sys::rd_kafka_event_ListOffsets_result(event.as_ptr());
            let mut count = 0usize;
            let infos = sys::rd_kafka_ListOffsets_result_infos(result, &mut count);
            for &info in array(infos, count) {
                let element = sys::rd_kafka_ListOffsetsResultInfo_topic_partition(info);
                if element.is_null() || (*element).topic.is_null() {
                    continue;
                }
                let topic = cstr((*element).topic);
                let answer = if (*element).err != sys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
                    Err(format!("{:?}", rdkafka::types::RDKafkaErrorCode::from((*element).err)))
                } else if (*element).offset >= 0 {
                    Ok(Some((*element).offset))
                } else {
                    Ok(None)
                };
                answers.insert((topic, (*element).partition), answer);
            }
        }
        Ok(partitions
            .iter()
            .map(|key| answers.get(key).cloned().unwrap_or_else(|| Err("NO_ANSWER".to_string())))
            .collect())
    }
}

/// Reads assigned partitions of one topic, each from its own start offset; no group, no commits.
pub struct AssignedReader {
    inner: BaseConsumer,
    topic: String,
}

/// What [`AssignedReader::next_event`] returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadEvent {
    Record(Record),
    /// The reader reached the partition's high watermark.
    EndOfPartition(i32),
}

/// Where one partition's reading starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartitionStart {
    Offset(i64),
    /// The high watermark at assignment time: only records produced afterwards.
    End,
    Beginning,
}

impl AssignedReader {
    /// `settings` are librdkafka consumer properties (e.g. a smaller `queued.max.messages.kbytes`).
    pub fn open(
        profile: &ConnectionProfile,
        topic: &str,
        starts: &[(i32, PartitionStart)],
        settings: &[(&str, &str)],
    ) -> Result<AssignedReader> {
        let inner: BaseConsumer = reader_config(profile, settings).create().map_err(Error::Config)?;
        let mut assignment = TopicPartitionList::with_capacity(starts.len());
        for (partition, start) in starts {
            let offset = match start {
                PartitionStart::Offset(offset) => Offset::Offset(*offset),
                PartitionStart::End => Offset::End,
                PartitionStart::Beginning => Offset::Beginning,
            };
            assignment.add_partition_offset(topic, *partition, offset).map_err(Error::kafka("Assign"))?;
        }
        inner.assign(&assignment).map_err(Error::kafka("Assign"))?;
        Ok(AssignedReader { inner, topic: topic.to_string() })
    }

    /// The next record as an owned value, the end of a partition (only when the reader was opened
    /// with `enable.partition.eof=true`), or `None` when nothing arrived within `timeout`.
    /// Blocks the thread.
    pub fn next_event(&self, timeout: Duration) -> Result<Option<ReadEvent>> {
        let message = match self.inner.poll(timeout) {
            None => return Ok(None),
            Some(Err(rdkafka::error::KafkaError::PartitionEOF(partition))) => {
                return Ok(Some(ReadEvent::EndOfPartition(partition)))
            }
            Some(Err(source)) => return Err(Error::Kafka { operation: "Fetch", source }),
            Some(Ok(message)) => message,
        };
        let (timestamp_ms, timestamp_kind) = match message.timestamp() {
            rdkafka::Timestamp::NotAvailable => (None, TimestampKind::NotAvailable),
            rdkafka::Timestamp::CreateTime(ms) => (Some(ms), TimestampKind::CreateTime),
            rdkafka::Timestamp::LogAppendTime(ms) => (Some(ms), TimestampKind::LogAppendTime),
        };
        let headers = match message.headers() {
            None => Vec::new(),
            Some(headers) => {
                headers.iter().map(|header| (header.key.to_string(), header.value.map(<[u8]>::to_vec))).collect()
            }
        };
        Ok(Some(ReadEvent::Record(Record {
            topic: self.topic.clone(),
            partition: message.partition(),
            offset: message.offset(),
            timestamp_ms,
            timestamp_kind,
            key: message.key().map(<[u8]>::to_vec),
            value: message.payload().map(<[u8]>::to_vec),
            headers,
        })))
    }

    /// Stops fetching `partition` (e.g. once its end is reached), keeping the others.
    pub fn pause(&self, partition: i32) -> Result<()> {
        let mut list = TopicPartitionList::new();
        list.add_partition(&self.topic, partition);
        self.inner.pause(&list).map_err(Error::kafka("Pause"))
    }
}
