//! `oxbow-client`: how Oxbow's own services talk to a Kafka cluster.
//!
//! Every part of Oxbow other than the broker (the bench today; the registry, connect, streams, SQL and
//! the studio later) reaches data only over the Kafka protocol, through this crate, exactly as it
//! would against Apache Kafka. It is a thin, documented layer over [`rdkafka`] (librdkafka):
//!
//! - [`ConnectionProfile`]: where the cluster is and how to authenticate (plain struct, no I/O);
//!   [`ConnectionProfile::client_config`] turns it into an `rdkafka::ClientConfig` for callers
//!   that need librdkafka directly (the bench's load generator does).
//! - [`Admin`]: create, delete and list topics, describe topic configs, and a [`ClusterMetadata`]
//!   snapshot (brokers, topics, partitions with leader, replicas and ISR).
//! - [`Producer`]: send one record and learn where it landed.
//! - [`PartitionReader`]: read partitions from an offset by assignment, without a consumer group.
//! - [`AssignedReader`] and [`OffsetLookup`]: browse partitions from per-partition offsets, and
//!   batched ListOffsets (earliest, latest, by time) for many partitions at once.
//! - Studio admin extras (`admin_extra.rs`): config origins, IncrementalAlterConfigs (through
//!   librdkafka's C API, which the Rust binding lacks), CreatePartitions, cluster and controller id.
//!
//! What it deliberately does not do:
//! - No consumer groups, transactions or offset commits yet: those arrive with the broker issues
//!   that implement them. Use `rdkafka` directly (re-exported as [`rdkafka`]) until then.
//! - No retry policy of its own: librdkafka already retries; errors surface as [`Error`].
//! - No hiding of librdkafka's threading model. Admin calls are `async` (they complete on
//!   librdkafka's background thread, so any executor can await them); metadata fetches and
//!   [`PartitionReader::poll`] block the calling thread for at most their timeout, so async code
//!   should call them from a blocking-friendly thread (e.g. `tokio::task::spawn_blocking`).
//! - No raw Kafka protocol requests: an API librdkafka lacks gets a raw-request helper on
//!   `kafka-protocol` when a caller first needs it.

mod admin;
mod admin_extra;
mod browse;
mod consume;
mod error;
mod metadata;
mod produce;
mod profile;

pub use admin::{Admin, ConfigValue, TopicSpec};
pub use admin_extra::{ConfigChange, ConfigDescription, ConfigOrigin, TopicConfigs};
pub use browse::{AssignedReader, OffsetLookup, OffsetSpec, PartitionStart, ReadEvent, Record, TimestampKind};
pub use consume::{PartitionReader, StartOffset, READER_GROUP_ID};
pub use error::{Error, Result};
pub use metadata::{BrokerInfo, ClusterMetadata, PartitionInfo, TopicInfo};
pub use produce::{Delivered, Producer};
pub use profile::{ConnectionProfile, SaslMechanism, Security};

/// The librdkafka binding this crate is built on, for callers that need more than the helpers.
pub use rdkafka;
