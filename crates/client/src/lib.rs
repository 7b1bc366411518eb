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
//! - Studio admin extras (`admin_extra.rs`, `describe.rs`): config origins and synonyms,
//!   IncrementalAlterConfigs, CreatePartitions, [`Admin::describe_cluster`] (brokers with racks)
//!   and [`Admin::describe_topics`] (topic ids). What the Rust binding lacks goes through
//!   librdkafka's C admin API behind one small helper (`ffi.rs`: RAII guards, one request shape).
//! - Consumer groups (`groups.rs`): [`Admin::list_groups`], [`Admin::describe_groups`] (members
//!   with their assigned partitions), [`Admin::list_group_offsets`],
//!   [`Admin::alter_group_offsets`], [`Admin::delete_group_offsets`] and [`Admin::delete_group`],
//!   on an idle consumer handle made on first use (librdkafka's admin client crashes on some
//!   coordinator answers).
//! - Batch headers ([`BatchHeader`], [`batch_headers`]) and a raw-request helper on
//!   `kafka-protocol` ([`RawConnection`], [`fetch_batch_headers`]): one Fetch over plain TCP to read
//!   the RecordBatch v2 headers (codec, flags, producer) that librdkafka never reports, and
//!   [`RawConnection::metadata`], one chosen broker's own view of the cluster (librdkafka asks
//!   whichever broker it likes).
//!
//! What it deliberately does not do:
//! - No group membership or transactions: consuming in a group is `rdkafka`'s (re-exported as
//!   [`rdkafka`]); this crate only administers groups.
//! - No retry policy of its own: librdkafka already retries; errors surface as [`Error`].
//! - No hiding of librdkafka's threading model. Admin calls on the Rust binding are `async` (they
//!   complete on librdkafka's background thread, so any executor can await them); calls on the C
//!   API (DescribeConfigs, IncrementalAlterConfigs, DescribeCluster, DescribeTopics, ListOffsets,
//!   every group call but DeleteGroups), metadata fetches and [`PartitionReader::poll`] block the calling thread for at most their
//!   timeout, so async code should call them from a blocking-friendly thread (e.g.
//!   `tokio::task::spawn_blocking`). A process that is stopping ends them with
//!   [`Admin::close`] and [`OffsetLookup::close`] instead of waiting out those timeouts. The
//!   raw-request helper is `async` on tokio.
//! - Raw Kafka protocol requests only for what librdkafka lacks (`raw.rs`), and only over
//!   PLAINTEXT: the helper speaks neither TLS nor SASL.

mod admin;
mod admin_extra;
mod batch;
mod browse;
mod consume;
mod describe;
mod error;
mod ffi;
mod groups;
mod metadata;
mod produce;
mod profile;
mod raw;
mod transactions;

pub use admin::{Admin, ConfigValue, TopicSpec};
pub use admin_extra::{ConfigChange, ConfigDescription, ConfigOrigin, ConfigSynonym, TopicConfigs};
pub use batch::{
    batch_headers, BatchHeader, BatchHeaderError, BatchHeaders, Compression, BATCH_HEADER_BYTES,
    BATCH_LOG_OVERHEAD_BYTES,
};
pub use browse::{AssignedReader, OffsetLookup, OffsetSpec, PartitionStart, ReadEvent, Record, TimestampKind};
pub use consume::{PartitionReader, StartOffset, READER_GROUP_ID};
pub use describe::{
    ClusterDescription, NodeInfo, TopicDescription, TopicDescriptions, TopicId, TopicPartitionDescription,
};
pub use error::{Error, Result};
pub use ffi::{ADMIN_POLL_SLICE_MS, CLOSED_CODE};
pub use groups::{
    CommittedOffset, GroupDescription, GroupDescriptions, GroupList, GroupListing, GroupMember, GroupState, GroupType,
    PartitionOutcome,
};
pub use metadata::{BrokerInfo, ClusterMetadata, PartitionInfo, TopicInfo};
pub use produce::{Delivered, Producer};
pub use profile::{ConnectionProfile, SaslMechanism, Security};
pub use raw::{
    api_versions_blocking, fetch_batch_headers, BatchHeadersRequest, FetchedBatchHeaders, IsolationLevel,
    RawConnection, API_VERSIONS_FRAME_BYTES_MAX, FETCH_FRAME_SLACK_BYTES, METADATA_FRAME_BYTES_MAX,
};

pub use rdkafka;
/// The librdkafka binding this crate is built on, for callers that need more than the helpers.
pub use transactions::{
    describe_producers, last_stable_offset, list_transactions, ActiveProducer, BrokerTransactions,
    TransactionDescription, TRANSACTIONS_DESCRIBED_MAX, TRANSACTIONS_FRAME_BYTES_MAX,
};
