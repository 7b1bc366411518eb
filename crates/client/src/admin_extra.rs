//! More topic administration for the studio: config sources, incremental config changes,
//! partition growth, cluster identity. Kept apart from `admin.rs` so the bench's surface stays small.

use crate::admin::Admin;
use crate::error::{Error, Result};
use rdkafka::admin::{ConfigSource, NewPartitions, ResourceSpecifier};
use rdkafka::bindings as sys;
use std::ffi::{CStr, CString};
use std::time::Duration;

/// Where a config value comes from, by Kafka's `ConfigSource` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigOrigin {
    DynamicTopic,
    DynamicBroker,
    DynamicDefaultBroker,
    StaticBroker,
    Default,
    Unknown,
}

impl ConfigOrigin {
    /// Kafka's name, as `kafka-configs.sh --describe` prints it.
    pub fn as_kafka_str(self) -> &'static str {
        match self {
            ConfigOrigin::DynamicTopic => "DYNAMIC_TOPIC_CONFIG",
            ConfigOrigin::DynamicBroker => "DYNAMIC_BROKER_CONFIG",
            ConfigOrigin::DynamicDefaultBroker => "DYNAMIC_DEFAULT_BROKER_CONFIG",
            ConfigOrigin::StaticBroker => "STATIC_BROKER_CONFIG",
            ConfigOrigin::Default => "DEFAULT_CONFIG",
            ConfigOrigin::Unknown => "UNKNOWN",
        }
    }

    fn from_rdkafka(source: &ConfigSource) -> ConfigOrigin {
        match source {
            ConfigSource::DynamicTopic => ConfigOrigin::DynamicTopic,
            ConfigSource::DynamicBroker => ConfigOrigin::DynamicBroker,
            ConfigSource::DynamicDefaultBroker => ConfigOrigin::DynamicDefaultBroker,
            ConfigSource::StaticBroker => ConfigOrigin::StaticBroker,
            ConfigSource::Default => ConfigOrigin::Default,
            ConfigSource::Unknown => ConfigOrigin::Unknown,
        }
    }
}

/// One described topic config entry with its origin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigDescription {
    pub name: String,
    /// `None` for sensitive values (the broker does not reveal them) and unset values.
    pub value: Option<String>,
    pub origin: ConfigOrigin,
    pub is_default: bool,
    pub is_read_only: bool,
    pub is_sensitive: bool,
}

/// One change of an IncrementalAlterConfigs request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigChange {
    /// Set the topic-level value (overrides the broker default).
    Set { name: String, value: String },
    /// Remove the topic-level value (falls back to the broker default).
    Delete { name: String },
}

/// Topic configs of many topics described in one DescribeConfigs request per `batch` topics.
pub type TopicConfigs = (String, Result<Vec<ConfigDescription>>);

impl Admin {
    /// Describes the configs of each named topic; one request per chunk of `batch` names, so a
    /// cluster with thousands of topics answers in a few round trips. Per-topic failures are
    /// reported per topic.
    pub async fn describe_topic_configs_many(
        &self,
        names: &[String],
        batch: usize,
    ) -> Result<Vec<TopicConfigs>> {
        let mut out = Vec::with_capacity(names.len());
        for chunk in names.chunks(batch.max(1)) {
            let specifiers: Vec<ResourceSpecifier<'_>> = chunk
                .iter()
                .map(|name| ResourceSpecifier::Topic(name.as_str()))
                .collect();
            let results = self
                .client
                .describe_configs(specifiers.iter(), &self.options_extra())
                .await
                .map_err(Error::kafka("DescribeConfigs"))?;
            for (name, result) in chunk.iter().zip(results) {
                let entry = match result {
                    Ok(resource) => Ok(resource
                        .entries
                        .into_iter()
                        .map(|entry| ConfigDescription {
                            origin: ConfigOrigin::from_rdkafka(&entry.source),
                            name: entry.name,
                            value: entry.value,
                            is_default: entry.is_default,
                            is_read_only: entry.is_read_only,
                            is_sensitive: entry.is_sensitive,
                        })
                        .collect()),
                    Err(code) => Err(Error::Refused {
                        operation: "DescribeConfigs",
                        object: name.clone(),
                        code: format!("{code:?}"),
                    }),
                };
                out.push((name.clone(), entry));
            }
        }
        Ok(out)
    }

    /// Grows `topic` to `total` partitions (CreatePartitions; Kafka cannot shrink a topic).
    pub async fn create_partitions(&self, topic: &str, total: usize) -> Result<()> {
        let request = NewPartitions::new(topic, total);
        let results = self
            .client
            .create_partitions([&request], &self.options_extra())
            .await
            .map_err(Error::kafka("CreatePartitions"))?;
        for result in results {
            if let Err((object, code)) = result {
                return Err(Error::Refused {
                    operation: "CreatePartitions",
                    object,
                    code: format!("{code:?}"),
                });
            }
        }
        Ok(())
    }

    /// Applies `changes` to one topic with IncrementalAlterConfigs (KIP-339): only the named
    /// keys change, everything else stays. Blocks the calling thread for at most the handle's
    /// timeout (librdkafka's C API, which the Rust binding does not wrap yet), so call it from a
    /// blocking-friendly thread. A refusal carries the broker's own message.
    pub fn incremental_alter_topic_configs(
        &self,
        topic: &str,
        changes: &[ConfigChange],
    ) -> Result<()> {
        let refused = |code: String| Error::Refused {
            operation: "IncrementalAlterConfigs",
            object: topic.to_string(),
            code,
        };
        let topic_c =
            CString::new(topic).map_err(|_| refused("topic name contains a NUL byte".into()))?;
        let mut owned: Vec<(CString, Option<CString>, sys::rd_kafka_AlterConfigOpType_t)> =
            Vec::new();
        for change in changes {
            let (name, value, op) = match change {
                ConfigChange::Set { name, value } => (
                    name,
                    Some(value),
                    sys::rd_kafka_AlterConfigOpType_t::RD_KAFKA_ALTER_CONFIG_OP_TYPE_SET,
                ),
                ConfigChange::Delete { name } => (
                    name,
                    None,
                    sys::rd_kafka_AlterConfigOpType_t::RD_KAFKA_ALTER_CONFIG_OP_TYPE_DELETE,
                ),
            };
            let name_c = CString::new(name.as_str())
                .map_err(|_| refused(format!("config name {name:?} contains a NUL byte")))?;
            let value_c = match value {
                Some(value) => Some(
                    CString::new(value.as_str())
                        .map_err(|_| refused(format!("value of {name} contains a NUL byte")))?,
                ),
                None => None,
            };
            owned.push((name_c, value_c, op));
        }
        let rk = self.client.inner().native_ptr();
        let timeout_ms = i32::try_from(self.timeout.as_millis()).unwrap_or(i32::MAX);
        // SAFETY: every pointer handed to librdkafka is either created here and destroyed before
        // returning (resource, options, queue, event) or a CString that outlives the calls.
        unsafe {
            let resource = sys::rd_kafka_ConfigResource_new(
                sys::rd_kafka_ResourceType_t::RD_KAFKA_RESOURCE_TOPIC,
                topic_c.as_ptr(),
            );
            for (name, value, op) in &owned {
                let value_ptr = value.as_ref().map_or(std::ptr::null(), |v| v.as_ptr());
                let error = sys::rd_kafka_ConfigResource_add_incremental_config(
                    resource,
                    name.as_ptr(),
                    *op,
                    value_ptr,
                );
                if !error.is_null() {
                    let message = cstr(sys::rd_kafka_error_string(error));
                    sys::rd_kafka_error_destroy(error);
                    sys::rd_kafka_ConfigResource_destroy(resource);
                    return Err(refused(message));
                }
            }
            let options = sys::rd_kafka_AdminOptions_new(
                rk,
                sys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_INCREMENTALALTERCONFIGS,
            );
            let mut errbuf = [0 as std::os::raw::c_char; 256];
            sys::rd_kafka_AdminOptions_set_request_timeout(
                options,
                timeout_ms,
                errbuf.as_mut_ptr(),
                errbuf.len(),
            );
            let queue = sys::rd_kafka_queue_new(rk);
            let mut resources = [resource];
            sys::rd_kafka_IncrementalAlterConfigs(rk, resources.as_mut_ptr(), 1, options, queue);
            // The request timeout bounds the answer; the extra second covers librdkafka's own timer.
            let event = sys::rd_kafka_queue_poll(queue, timeout_ms.saturating_add(1_000));
            let outcome = if event.is_null() {
                Err(Error::NotFound(format!(
                    "IncrementalAlterConfigs {topic}: no answer within {timeout_ms} ms"
                )))
            } else if sys::rd_kafka_event_error(event)
                != sys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR
            {
                let code = rdkafka::types::RDKafkaErrorCode::from(sys::rd_kafka_event_error(event));
                Err(refused(format!(
                    "{code:?}: {}",
                    cstr(sys::rd_kafka_event_error_string(event))
                )))
            } else {
                let result = sys::rd_kafka_event_IncrementalAlterConfigs_result(event);
                let mut count = 0usize;
                let list =
                    sys::rd_kafka_IncrementalAlterConfigs_result_resources(result, &mut count);
                let mut outcome = Ok(());
                for index in 0..count {
                    let item = *list.add(index);
                    let err = sys::rd_kafka_ConfigResource_error(item);
                    if err != sys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
                        let code = rdkafka::types::RDKafkaErrorCode::from(err);
                        let detail = cstr(sys::rd_kafka_ConfigResource_error_string(item));
                        outcome = Err(refused(if detail.is_empty() {
                            format!("{code:?}")
                        } else {
                            format!("{code:?}: {detail}")
                        }));
                    }
                }
                outcome
            };
            if !event.is_null() {
                sys::rd_kafka_event_destroy(event);
            }
            sys::rd_kafka_queue_destroy(queue);
            sys::rd_kafka_AdminOptions_destroy(options);
            sys::rd_kafka_ConfigResource_destroy(resource);
            outcome
        }
    }

    /// The cluster id from metadata, or `None` when the cluster did not answer within the
    /// handle's timeout. Blocks the thread.
    pub fn cluster_id(&self) -> Option<String> {
        self.client.inner().fetch_cluster_id(self.timeout)
    }

    /// The controller's broker id (from metadata), or `None` when unknown. Blocks the thread.
    pub fn controller_id(&self) -> Option<i32> {
        let timeout_ms = i32::try_from(self.timeout.as_millis()).unwrap_or(i32::MAX);
        // SAFETY: a plain query on a live client handle.
        let id =
            unsafe { sys::rd_kafka_controllerid(self.client.inner().native_ptr(), timeout_ms) };
        (id >= 0).then_some(id)
    }

    /// The timeout every request of this handle carries.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    fn options_extra(&self) -> rdkafka::admin::AdminOptions {
        rdkafka::admin::AdminOptions::new()
            .request_timeout(Some(self.timeout))
            .operation_timeout(Some(self.timeout))
    }
}

/// Copies a C string owned by librdkafka; a null pointer reads as empty.
unsafe fn cstr(ptr: *const std::os::raw::c_char) -> String {
    if ptr.is_null() {
        String::new()
    } else {
        CStr::from_ptr(ptr).to_string_lossy().into_owned()
    }
}
