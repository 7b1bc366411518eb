//! Producing records one at a time, with the broker's acknowledgement.

use crate::error::{Error, Result};
use crate::profile::ConnectionProfile;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer as _};
use std::time::Duration;

/// A producer for Oxbow's services: one awaited send per record, librdkafka batching underneath.
///
/// Throughput-critical callers (the bench) drive `rdkafka`'s `BaseProducer` directly; this type
/// favours a simple call shape over the last few percent.
pub struct Producer {
    inner: FutureProducer,
    /// How long a record may wait in librdkafka's (bounded) queue before the send fails.
    queue_timeout: Duration,
}

/// Where a record landed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delivered {
    pub partition: i32,
    pub offset: i64,
}

impl Producer {
    /// `settings` are librdkafka producer properties by Kafka's names, e.g. `("acks", "all")`.
    pub fn new(profile: &ConnectionProfile, settings: &[(&str, &str)], queue_timeout: Duration) -> Result<Producer> {
        let mut config = profile.client_config();
        for (key, value) in settings {
            config.set(*key, *value);
        }
        let inner = config.create().map_err(Error::Config)?;
        Ok(Producer { inner, queue_timeout })
    }

    /// Sends one record and waits for the acknowledgement the producer's `acks` asks for.
    /// `partition: None` lets the partitioner choose (by key hash, or sticky for null keys).
    /// Await it inside a Tokio runtime with timers: while librdkafka's queue is full, the send
    /// waits on a Tokio sleep (for at most the producer's `queue_timeout`).
    pub async fn send(
        &self,
        topic: &str,
        partition: Option<i32>,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        timestamp_ms: Option<i64>,
    ) -> Result<Delivered> {
        self.send_record(topic, partition, key, value, timestamp_ms, &[]).await
    }

    /// Like [`Producer::send`], with record headers (`(key, value)`, a `None` value is a null header).
    pub async fn send_with_headers(
        &self,
        topic: &str,
        partition: Option<i32>,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[(String, Option<Vec<u8>>)],
    ) -> Result<Delivered> {
        self.send_record(topic, partition, key, value, None, headers).await
    }

    async fn send_record(
        &self,
        topic: &str,
        partition: Option<i32>,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        timestamp_ms: Option<i64>,
        headers: &[(String, Option<Vec<u8>>)],
    ) -> Result<Delivered> {
        use rdkafka::message::{Header, OwnedHeaders};
        let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(topic);
        if let Some(partition) = partition {
            record = record.partition(partition);
        }
        if let Some(key) = key {
            record = record.key(key);
        }
        if let Some(value) = value {
            record = record.payload(value);
        }
        if let Some(timestamp_ms) = timestamp_ms {
            record = record.timestamp(timestamp_ms);
        }
        if !headers.is_empty() {
            let mut owned = OwnedHeaders::new_with_capacity(headers.len());
            for (key, value) in headers {
                owned = owned.insert(Header { key: key.as_str(), value: value.as_deref() });
            }
            record = record.headers(owned);
        }
        match self.inner.send(record, self.queue_timeout).await {
            Ok(delivery) => Ok(Delivered { partition: delivery.partition, offset: delivery.offset }),
            Err((source, _message)) => Err(Error::Kafka { operation: "Produce", source }),
        }
    }

    /// Waits until every queued record is acknowledged or `timeout` passes. Blocks the thread.
    pub fn flush(&self, timeout: Duration) -> Result<()> {
        self.inner.flush(timeout).map_err(Error::kafka("Flush"))
    }
}
