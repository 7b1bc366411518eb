//! Reading partitions by assignment: no consumer group, no commits.

use crate::error::{Error, Result};
use crate::profile::ConnectionProfile;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::BorrowedMessage;
use rdkafka::{Offset, TopicPartitionList};
use std::time::Duration;

/// The group.id a reader names by default; no member ever joins it.
pub const READER_GROUP_ID: &str = "oxbow-client-reader";

/// Where a [`PartitionReader`] starts in each partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartOffset {
    /// The log start offset (the oldest record still kept).
    Beginning,
    /// The high watermark: only records produced from now on.
    End,
    /// An absolute offset, the same for every assigned partition.
    At(i64),
}

/// Reads records from assigned partitions of one topic, as browsing and benchmarks need: no group
/// membership, so nothing is committed and nothing rebalances.
///
/// librdkafka prefetches in the background into a queue bounded by `queued.max.messages.kbytes`
/// (64 MiB by default; pass a smaller value in `settings` for many readers).
pub struct PartitionReader {
    inner: BaseConsumer,
    topic: String,
    partitions: Vec<i32>,
}

impl PartitionReader {
    /// Assigns `partitions` of `topic` (all of them when `None`, learned from metadata within
    /// `timeout`) starting at `start`. `settings` are librdkafka consumer properties.
    pub fn open(
        profile: &ConnectionProfile,
        topic: &str,
        partitions: Option<&[i32]>,
        start: StartOffset,
        settings: &[(&str, &str)],
        timeout: Duration,
    ) -> Result<PartitionReader> {
        let mut config = profile.client_config();
        // librdkafka's assign() needs a group.id, but the reader never joins the group (no
        // subscribe, so no JoinGroup) and never commits; librdkafka may still look up the group's
        // coordinator. Callers may pass their own group.id in `settings`.
        config.set("group.id", READER_GROUP_ID);
        config.set("enable.auto.commit", "false");
        config.set("enable.auto.offset.store", "false");
        for (key, value) in settings {
            config.set(*key, *value);
        }
        let inner: BaseConsumer = config.create().map_err(Error::Config)?;
        let partitions = match partitions {
            Some(partitions) => partitions.to_vec(),
            None => {
                let metadata = inner.fetch_metadata(Some(topic), timeout).map_err(Error::kafka("Metadata"))?;
                let found = metadata.topics().iter().find(|candidate| candidate.name() == topic);
                match found {
                    Some(found) if found.error().is_none() && !found.partitions().is_empty() => {
                        found.partitions().iter().map(|partition| partition.id()).collect()
                    }
                    _ => return Err(Error::NotFound(format!("topic {topic} has no partitions in metadata"))),
                }
            }
        };
        let offset = match start {
            StartOffset::Beginning => Offset::Beginning,
            StartOffset::End => Offset::End,
            StartOffset::At(offset) => Offset::Offset(offset),
        };
        let mut assignment = TopicPartitionList::with_capacity(partitions.len());
        for partition in &partitions {
            assignment.add_partition_offset(topic, *partition, offset).map_err(Error::kafka("Assign"))?;
        }
        inner.assign(&assignment).map_err(Error::kafka("Assign"))?;
        Ok(PartitionReader { inner, topic: topic.to_string(), partitions })
    }

    /// The next record, or `None` when none arrived within `timeout`. Blocks the thread.
    /// Use `rdkafka::Message` (re-exported via [`crate::rdkafka`]) to read the record's fields.
    pub fn poll(&self, timeout: Duration) -> Result<Option<BorrowedMessage<'_>>> {
        match self.inner.poll(timeout) {
            None => Ok(None),
            Some(Ok(message)) => Ok(Some(message)),
            Some(Err(source)) => Err(Error::Kafka { operation: "Fetch", source }),
        }
    }

    /// (log start offset, high watermark) of one partition, asked of the broker. Blocks.
    pub fn watermarks(&self, partition: i32, timeout: Duration) -> Result<(i64, i64)> {
        self.inner.fetch_watermarks(&self.topic, partition, timeout).map_err(Error::kafka("ListOffsets"))
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The assigned partitions, in the order given (or metadata order).
    pub fn partitions(&self) -> &[i32] {
        &self.partitions
    }
}
