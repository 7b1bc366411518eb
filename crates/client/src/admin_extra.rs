//! More topic administration for the studio: config sources and synonyms, incremental config
//! changes, partition growth, cluster identity. Kept apart from `admin.rs` so the bench's surface
//! stays small. DescribeConfigs and IncrementalAlterConfigs go through librdkafka's C API (see
//! `ffi.rs`): the Rust binding drops config synonyms and has no IncrementalAlterConfigs.

use crate::admin::Admin;
use crate::error::{Error, Result};
use crate::ffi::{self, admin_request, array, cstr, opt_cstr, Owned};
use rdkafka::admin::NewPartitions;
use rdkafka::bindings as sys;
use std::collections::HashMap;
use std::ffi::CString;
use std::time::Duration;

/// Where a config value comes from, by Kafka's `ConfigSource` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigOrigin {
    DynamicTopic,
    DynamicBroker,
    DynamicDefaultBroker,
    StaticBroker,
    Default,
    /// Kafka's `UNKNOWN`, and sources that do not apply to topics (broker loggers, client
    /// metrics, groups).
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

    /// From the `config_source` byte of a DescribeConfigs (v1+) response.
    fn from_wire(source: i32) -> ConfigOrigin {
        match source {
            1 => ConfigOrigin::DynamicTopic,
            2 => ConfigOrigin::DynamicBroker,
            3 => ConfigOrigin::DynamicDefaultBroker,
            4 => ConfigOrigin::StaticBroker,
            5 => ConfigOrigin::Default,
            _ => ConfigOrigin::Unknown,
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
    /// Every source the value could come from, most specific first (Kafka's DescribeConfigs
    /// synonyms): e.g. a topic override of `retention.ms`, then the broker's `log.retention.ms`,
    /// then Kafka's default. The first one is the value in effect. Empty when the broker lists none.
    pub synonyms: Vec<ConfigSynonym>,
}

/// One synonym of a described config: a config (topic- or broker-level) that supplies its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigSynonym {
    /// The config's name at its level, e.g. `log.retention.ms` for a broker default.
    pub name: String,
    /// `None` for sensitive values and unset values.
    pub value: Option<String>,
    pub origin: ConfigOrigin,
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
    /// Describes the configs of each named topic, with synonyms; one DescribeConfigs request per
    /// chunk of `batch` names, so a cluster with thousands of topics answers in a few round trips.
    /// Per-topic failures are reported per topic, in input order. Blocks the calling thread for
    /// at most the handle's timeout per chunk (librdkafka's C API: the Rust binding drops
    /// synonyms), so call it from a blocking-friendly thread.
    pub fn describe_topic_configs_many(&self, names: &[String], batch: usize) -> Result<Vec<TopicConfigs>> {
        let mut out = Vec::with_capacity(names.len());
        for chunk in names.chunks(batch.max(1)) {
            let answers = self.describe_configs_chunk(chunk)?;
            out.extend(ffi::in_asked_order("DescribeConfigs", chunk, answers));
        }
        Ok(out)
    }

    /// One DescribeConfigs request for `names`, answers by topic name.
    fn describe_configs_chunk(&self, names: &[String]) -> Result<HashMap<String, Result<Vec<ConfigDescription>>>> {
        let mut answers = HashMap::with_capacity(names.len());
        let mut resources = Vec::with_capacity(names.len());
        for name in names {
            let Ok(name_c) = CString::new(name.as_str()) else {
                answers.insert(
                    name.clone(),
                    Err(Error::Refused {
                        operation: "DescribeConfigs",
                        object: name.clone(),
                        code: "INVALID_TOPIC_EXCEPTION: the name contains a NUL byte".into(),
                    }),
                );
                continue;
            };
            let resource = ffi::topic_config_resource(&name_c);
            resources.push(resource.ok_or_else(|| Error::Refused {
                operation: "DescribeConfigs",
                object: name.clone(),
                code: "INVALID_REQUEST: librdkafka made no config resource".into(),
            })?);
        }
        if resources.is_empty() {
            return Ok(answers);
        }
        let mut raw: Vec<*mut sys::rd_kafka_ConfigResource_t> = resources.iter().map(Owned::as_ptr).collect();
        let rk = self.client.inner().native_ptr();
        let object = format!("{} topics", raw.len());
        // SAFETY: `rk` is this handle's live client; the resources outlive the call (librdkafka
        // copies them); result pointers are read only while `event` is alive.
        unsafe {
            let event = admin_request(
                rk,
                sys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS,
                "DescribeConfigs",
                &object,
                self.timeout,
                &self.closed,
                |options, queue| sys::rd_kafka_DescribeConfigs(rk, raw.as_mut_ptr(), raw.len(), options, queue),
            )?;
            let result = sys::rd_kafka_event_DescribeConfigs_result(event.as_ptr());
            let mut count = 0usize;
            let list = sys::rd_kafka_DescribeConfigs_result_resources(result, &mut count);
            for &resource in array(list, count) {
                let name = cstr(sys::rd_kafka_ConfigResource_name(resource));
                let err = sys::rd_kafka_ConfigResource_error(resource);
                let answer = if err != sys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
                    let message = cstr(sys::rd_kafka_ConfigResource_error_string(resource));
                    Err(ffi::refused_object("DescribeConfigs", &name, err, &message))
                } else {
                    let mut entries = 0usize;
                    let configs = sys::rd_kafka_ConfigResource_configs(resource, &mut entries);
                    Ok(array(configs, entries).iter().map(|&entry| config_description(entry)).collect())
                };
                answers.insert(name, answer);
            }
        }
        Ok(answers)
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
                return Err(Error::Refused { operation: "CreatePartitions", object, code: format!("{code:?}") });
            }
        }
        Ok(())
    }

    /// Applies `changes` to one topic with IncrementalAlterConfigs (KIP-339): only the named
    /// keys change, everything else stays. Blocks the calling thread for at most the handle's
    /// timeout (librdkafka's C API, which the Rust binding does not wrap yet), so call it from a
    /// blocking-friendly thread. A refusal carries the broker's own message.
    pub fn incremental_alter_topic_configs(&self, topic: &str, changes: &[ConfigChange]) -> Result<()> {
        let refused =
            |code: String| Error::Refused { operation: "IncrementalAlterConfigs", object: topic.to_string(), code };
        let topic_c = CString::new(topic).map_err(|_| refused("topic name contains a NUL byte".into()))?;
        let resource = ffi::topic_config_resource(&topic_c)
            .ok_or_else(|| refused("INVALID_REQUEST: librdkafka made no config resource".into()))?;
        for change in changes {
            let (name, value, op) = match change {
                ConfigChange::Set { name, value } => {
                    (name, Some(value), sys::rd_kafka_AlterConfigOpType_t::RD_KAFKA_ALTER_CONFIG_OP_TYPE_SET)
                }
                ConfigChange::Delete { name } => {
                    (name, None, sys::rd_kafka_AlterConfigOpType_t::RD_KAFKA_ALTER_CONFIG_OP_TYPE_DELETE)
                }
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
            let value_ptr = value_c.as_ref().map_or(std::ptr::null(), |v| v.as_ptr());
            // SAFETY: the resource is alive; librdkafka copies name and value; the returned
            // error (if any) is ours and owned by its guard.
            let error = unsafe {
                Owned::new(
                    sys::rd_kafka_ConfigResource_add_incremental_config(
                        resource.as_ptr(),
                        name_c.as_ptr(),
                        op,
                        value_ptr,
                    ),
                    sys::rd_kafka_error_destroy,
                )
            };
            if let Some(error) = error {
                // SAFETY: the error is alive until its guard drops at the end of this block.
                return Err(refused(unsafe { cstr(sys::rd_kafka_error_string(error.as_ptr())) }));
            }
        }
        let rk = self.client.inner().native_ptr();
        let mut resources = [resource.as_ptr()];
        // SAFETY: `rk` is this handle's live client; the resource outlives the call; result
        // pointers are read only while `event` is alive.
        unsafe {
            let event = admin_request(
                rk,
                sys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_INCREMENTALALTERCONFIGS,
                "IncrementalAlterConfigs",
                topic,
                self.timeout,
                &self.closed,
                |options, queue| {
                    sys::rd_kafka_IncrementalAlterConfigs(rk, resources.as_mut_ptr(), resources.len(), options, queue)
                },
            )?;
            let result = sys::rd_kafka_event_IncrementalAlterConfigs_result(event.as_ptr());
            let mut count = 0usize;
            let list = sys::rd_kafka_IncrementalAlterConfigs_result_resources(result, &mut count);
            for &item in array(list, count) {
                let err = sys::rd_kafka_ConfigResource_error(item);
                if err != sys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
                    let detail = cstr(sys::rd_kafka_ConfigResource_error_string(item));
                    return Err(refused(ffi::error_code(err.into(), &detail)));
                }
            }
        }
        Ok(())
    }

    /// The cluster id from metadata, or `None` when the cluster did not answer within the
    /// handle's timeout. Blocks the thread.
    pub fn cluster_id(&self) -> Option<String> {
        self.client.inner().fetch_cluster_id(self.timeout)
    }

    /// The controller's broker id (from metadata), or `None` when unknown. Blocks the thread.
    pub fn controller_id(&self) -> Option<i32> {
        // SAFETY: a plain query on a live client handle.
        let id = unsafe { sys::rd_kafka_controllerid(self.client.inner().native_ptr(), ffi::millis(self.timeout)) };
        (id >= 0).then_some(id)
    }

    /// The timeout every request of this handle carries.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    fn options_extra(&self) -> rdkafka::admin::AdminOptions {
        rdkafka::admin::AdminOptions::new().request_timeout(Some(self.timeout)).operation_timeout(Some(self.timeout))
    }
}

/// One config entry of a DescribeConfigs result, with its synonyms.
///
/// # Safety
/// `entry` must be a config entry of a result event that is alive for the call.
unsafe fn config_description(entry: *const sys::rd_kafka_ConfigEntry_t) -> ConfigDescription {
    let mut count = 0usize;
    let synonyms = sys::rd_kafka_ConfigEntry_synonyms(entry, &mut count);
    ConfigDescription {
        name: cstr(sys::rd_kafka_ConfigEntry_name(entry)),
        value: opt_cstr(sys::rd_kafka_ConfigEntry_value(entry)),
        origin: ConfigOrigin::from_wire(ffi::config_entry_source(entry)),
        is_default: sys::rd_kafka_ConfigEntry_is_default(entry) != 0,
        is_read_only: sys::rd_kafka_ConfigEntry_is_read_only(entry) != 0,
        is_sensitive: sys::rd_kafka_ConfigEntry_is_sensitive(entry) != 0,
        synonyms: array(synonyms, count)
            .iter()
            .map(|&synonym| ConfigSynonym {
                name: cstr(sys::rd_kafka_ConfigEntry_name(synonym)),
                value: opt_cstr(sys::rd_kafka_ConfigEntry_value(synonym)),
                origin: ConfigOrigin::from_wire(ffi::config_entry_source(synonym)),
            })
            .collect(),
    }
}
