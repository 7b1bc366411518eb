//! Topic administration: create, delete, list, describe configs, metadata.

use crate::error::{Error, Result};
use crate::metadata::ClusterMetadata;
use crate::profile::ConnectionProfile;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::bindings as sys;
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

/// What to create: Kafka's CreateTopics fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicSpec {
    pub name: String,
    pub partitions: i32,
    /// `None` lets the broker choose (`default.replication.factor`, KIP-464).
    pub replication_factor: Option<i32>,
    /// Topic configs by Kafka's names, e.g. `("retention.ms", "60000")`.
    pub configs: Vec<(String, String)>,
}

impl TopicSpec {
    pub fn new(name: impl Into<String>, partitions: i32) -> TopicSpec {
        TopicSpec { name: name.into(), partitions, replication_factor: None, configs: Vec::new() }
    }
}

/// One entry of a described topic config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigValue {
    /// `None` for sensitive values the broker does not reveal.
    pub value: Option<String>,
    pub is_default: bool,
    pub is_read_only: bool,
    pub is_sensitive: bool,
}

/// The group id of [`Admin`]'s group handle. It never joins or commits, so no broker records a
/// group by this name; it only shows up as a FindCoordinator key.
const GROUP_HANDLE_ID: &str = "oxbow-admin-idle";

/// An admin connection to one cluster. Cheap to share by reference; every call carries a timeout.
pub struct Admin {
    pub(crate) client: AdminClient<DefaultClientContext>,
    /// The handle the consumer-group calls (groups.rs) run on: a consumer with a group id that
    /// never subscribes. librdkafka's admin client is a producer, which has no group handle, and
    /// its OffsetFetch answer handler dereferences that missing handle on NOT_COORDINATOR or
    /// COORDINATOR_NOT_AVAILABLE (librdkafka issue 5040, open in 2.12): the whole process died
    /// with SIGSEGV whenever a coordinator moved while the studio polled a group's offsets. With
    /// a group handle present, the answer only makes this idle consumer look its coordinator up.
    /// Made on the first group call ([`Admin::group_handle`]): an idle consumer still looks up
    /// its coordinator, traffic an `Admin` that never asks about groups (the bench's) should not
    /// add to the broker it measures.
    group_client: OnceLock<BaseConsumer>,
    /// Bounds every request this handle makes, so no call waits forever on a dead cluster.
    pub(crate) timeout: Duration,
    /// What the handle was made from (the group calls ask a broker's API versions with it).
    pub(crate) profile: ConnectionProfile,
    /// Set by [`Admin::close`]: blocking calls are refused, and those in flight give up.
    pub(crate) closed: AtomicBool,
}

impl Admin {
    /// Creates the admin client. librdkafka connects lazily, so this succeeds without a reachable
    /// cluster; the first request reports connection problems.
    pub fn new(profile: &ConnectionProfile, timeout: Duration) -> Result<Admin> {
        let client = profile.client_config().create().map_err(Error::Config)?;
        Ok(Admin {
            client,
            group_client: OnceLock::new(),
            timeout,
            profile: profile.clone(),
            closed: AtomicBool::new(false),
        })
    }

    /// The librdkafka handle the consumer-group calls run on, made on first use (see
    /// `group_client`). Two threads racing to make it each make one; the loser's is dropped.
    pub(crate) fn group_handle(&self) -> Result<*mut sys::rd_kafka_t> {
        if let Some(consumer) = self.group_client.get() {
            return Ok(consumer.client().native_ptr());
        }
        let made: BaseConsumer = self
            .profile
            .client_config()
            .set("group.id", GROUP_HANDLE_ID)
            .set("enable.auto.commit", "false")
            .create()
            .map_err(Error::Config)?;
        Ok(self.group_client.get_or_init(|| made).client().native_ptr())
    }

    /// Ends this handle's blocking calls: those on librdkafka's C admin API that are waiting for
    /// an answer return `CLIENT_CLOSED` within [`ADMIN_POLL_SLICE_MS`](crate::ADMIN_POLL_SLICE_MS),
    /// and later blocking calls (those and [`Admin::metadata`]) are refused at once. For a
    /// process that is stopping: its threads must not wait out request timeouts against brokers
    /// that are going away. The handle itself stays valid (drop it to free it); `async` calls are
    /// not affected (their futures are simply dropped).
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    /// Whether [`Admin::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// `CLIENT_CLOSED` for `operation` once the handle is closed.
    fn refuse_if_closed(&self, operation: &'static str) -> Result<()> {
        if self.is_closed() {
            return Err(Error::Refused {
                operation,
                object: "cluster".into(),
                code: format!("{}: the client was closed", crate::ffi::CLOSED_CODE),
            });
        }
        Ok(())
    }

    fn options(&self) -> AdminOptions {
        AdminOptions::new().request_timeout(Some(self.timeout)).operation_timeout(Some(self.timeout))
    }

    /// Creates one topic and waits until the controller has accepted it.
    pub async fn create_topic(&self, spec: &TopicSpec) -> Result<()> {
        let replication = TopicReplication::Fixed(spec.replication_factor.unwrap_or(-1));
        let mut topic = NewTopic::new(&spec.name, spec.partitions, replication);
        for (key, value) in &spec.configs {
            topic = topic.set(key, value);
        }
        let results =
            self.client.create_topics([&topic], &self.options()).await.map_err(Error::kafka("CreateTopics"))?;
        single_topic_result("CreateTopics", results)
    }

    /// Deletes one topic by name.
    pub async fn delete_topic(&self, name: &str) -> Result<()> {
        let results =
            self.client.delete_topics(&[name], &self.options()).await.map_err(Error::kafka("DeleteTopics"))?;
        single_topic_result("DeleteTopics", results)
    }

    /// Describes a topic's configs, every entry the broker reports (defaults included), by name.
    pub async fn describe_topic_configs(&self, name: &str) -> Result<BTreeMap<String, ConfigValue>> {
        let results = self
            .client
            .describe_configs([&ResourceSpecifier::Topic(name)], &self.options())
            .await
            .map_err(Error::kafka("DescribeConfigs"))?;
        let Some(result) = results.into_iter().next() else {
            return Err(Error::NotFound(format!("DescribeConfigs returned nothing for topic {name}")));
        };
        let resource = result.map_err(|code| Error::Refused {
            operation: "DescribeConfigs",
            object: name.to_string(),
            code: format!("{code:?}"),
        })?;
        Ok(resource
            .entries
            .into_iter()
            .map(|entry| {
                let value = ConfigValue {
                    value: entry.value,
                    is_default: entry.is_default,
                    is_read_only: entry.is_read_only,
                    is_sensitive: entry.is_sensitive,
                };
                (entry.name, value)
            })
            .collect())
    }

    /// A snapshot of brokers, topics and partitions. Blocks for at most the handle's timeout.
    pub fn metadata(&self) -> Result<ClusterMetadata> {
        // librdkafka's metadata call cannot be abandoned once sent; a closed handle sends none.
        self.refuse_if_closed("Metadata")?;
        let metadata = self.client.inner().fetch_metadata(None, self.timeout).map_err(Error::kafka("Metadata"))?;
        Ok(ClusterMetadata::from_rdkafka(&metadata))
    }

    /// Topic names, sorted; internal topics (leading `__`) are included. Blocks like [`Admin::metadata`].
    pub fn list_topics(&self) -> Result<Vec<String>> {
        let mut names: Vec<String> = self.metadata()?.topics.into_iter().map(|topic| topic.name).collect();
        names.sort();
        Ok(names)
    }
}

fn single_topic_result(operation: &'static str, results: Vec<rdkafka::admin::TopicResult>) -> Result<()> {
    for result in results {
        if let Err((object, code)) = result {
            return Err(Error::Refused { operation, object, code: format!("{code:?}") });
        }
    }
    Ok(())
}
