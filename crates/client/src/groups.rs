//! Consumer-group administration: list, describe (members and their assigned partitions),
//! committed offsets, alter and delete committed offsets, delete groups.
//!
//! Every call goes through librdkafka's C admin API (`ffi.rs`); the `rdkafka` binding wraps only
//! DeleteGroups, and that one needs the guard below first, so it goes the same way. librdkafka
//! decodes members' assignments from the consumer protocol's assignment bytes itself
//! (`ConsumerProtocolAssignment`: version, then topics with partition ids), so descriptions carry
//! topic-partitions, not bytes.
//!
//! A guard: librdkafka 2.12 releases its reply queue twice when the coordinator lacks DeleteGroups
//! or OffsetDelete (the request builder destroys it on UNSUPPORTED_FEATURE, then the coordinator
//! request state machine destroys it again), which aborts the process when the client is dropped.
//! So [`Admin::delete_group`] and [`Admin::delete_group_offsets`] first ask a bootstrap broker's
//! ApiVersions (PLAINTEXT profiles; TLS and SASL clusters are trusted to be Kafka 2.4 or later)
//! and refuse `UNSUPPORTED_VERSION` themselves.
//!
//! What it deliberately does not do:
//! - No groups of other protocol types: librdkafka's ListConsumerGroups keeps only consumer groups
//!   (protocol type `consumer`) and simple ones (empty protocol type, offsets only); Kafka Connect's
//!   groups and others are left out, and DescribeConsumerGroups refuses them.
//! - No generation ids: librdkafka's DescribeConsumerGroups does not report them.
//! - No policy: whether a group may be reset or deleted is the caller's (and the broker's) call.

use crate::admin::Admin;
use crate::describe::{node, NodeInfo};
use crate::error::{Error, Result};
use crate::ffi::{self, admin_request, array, cstr, opt_cstr, Owned};
use crate::profile::Security;
use kafka_protocol::messages::ApiKey;
use rdkafka::bindings as sys;
use std::ffi::CString;
use std::os::raw::c_char;

/// A consumer group's state, by Kafka's names (classic protocol). librdkafka reports states it does
/// not know (KIP-848's `Assigning`, `Reconciling`) as `Unknown`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GroupState {
    Unknown,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
    Dead,
    Empty,
}

impl GroupState {
    /// Kafka's name, as `kafka-consumer-groups.sh --describe --state` prints it.
    pub fn as_kafka_str(self) -> &'static str {
        match self {
            GroupState::Unknown => "Unknown",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
            GroupState::Empty => "Empty",
        }
    }

    fn from_native(state: sys::rd_kafka_consumer_group_state_t) -> GroupState {
        use sys::rd_kafka_consumer_group_state_t as S;
        match state {
            S::RD_KAFKA_CONSUMER_GROUP_STATE_PREPARING_REBALANCE => GroupState::PreparingRebalance,
            S::RD_KAFKA_CONSUMER_GROUP_STATE_COMPLETING_REBALANCE => GroupState::CompletingRebalance,
            S::RD_KAFKA_CONSUMER_GROUP_STATE_STABLE => GroupState::Stable,
            S::RD_KAFKA_CONSUMER_GROUP_STATE_DEAD => GroupState::Dead,
            S::RD_KAFKA_CONSUMER_GROUP_STATE_EMPTY => GroupState::Empty,
            _ => GroupState::Unknown,
        }
    }
}

/// Which rebalance protocol a group uses (KIP-848): `Classic` (JoinGroup/SyncGroup) or `Consumer`
/// (ConsumerGroupHeartbeat). `Unknown` when the broker does not say (ListGroups before v5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GroupType {
    Unknown,
    Classic,
    Consumer,
}

impl GroupType {
    pub fn as_kafka_str(self) -> &'static str {
        match self {
            GroupType::Unknown => "unknown",
            GroupType::Classic => "classic",
            GroupType::Consumer => "consumer",
        }
    }

    fn from_native(kind: sys::rd_kafka_consumer_group_type_t) -> GroupType {
        use sys::rd_kafka_consumer_group_type_t as T;
        match kind {
            T::RD_KAFKA_CONSUMER_GROUP_TYPE_CLASSIC => GroupType::Classic,
            T::RD_KAFKA_CONSUMER_GROUP_TYPE_CONSUMER => GroupType::Consumer,
            _ => GroupType::Unknown,
        }
    }
}

/// One group as ListGroups reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupListing {
    pub group_id: String,
    /// A group with an empty protocol type: it only stores offsets and has no members.
    pub is_simple: bool,
    pub state: GroupState,
    pub group_type: GroupType,
}

/// Every group of the cluster, and the brokers that could not list theirs (ListGroups goes to
/// every broker: each lists the groups it coordinates).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupList {
    /// By group id.
    pub groups: Vec<GroupListing>,
    /// One message per broker that failed to answer; its groups are missing from `groups`.
    pub errors: Vec<String>,
}

/// One member of a described group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupMember {
    pub member_id: String,
    /// `group.instance.id` of a static member (KIP-345).
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub host: String,
    /// The member's assigned partitions, decoded from its assignment, sorted.
    pub assignment: Vec<(String, i32)>,
}

/// What DescribeGroups says about one group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupDescription {
    pub group_id: String,
    pub is_simple: bool,
    pub state: GroupState,
    pub group_type: GroupType,
    /// The protocol (partition assignor) the group chose, e.g. `range`; empty when none is
    /// chosen (an empty group).
    pub protocol: String,
    /// The broker coordinating the group, when known.
    pub coordinator: Option<NodeInfo>,
    /// In the order the broker lists them.
    pub members: Vec<GroupMember>,
}

/// Each named group's description or the cluster's refusal for it, in input order.
pub type GroupDescriptions = Vec<(String, Result<GroupDescription>)>;

/// One partition's committed offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommittedOffset {
    pub topic: String,
    pub partition: i32,
    /// `None` when the group has none for this partition (Kafka answers -1).
    pub offset: Option<i64>,
    /// The metadata string committed with the offset (without the trailing NUL some clients
    /// commit); `None` when empty.
    pub metadata: Option<String>,
    pub leader_epoch: Option<i32>,
    /// The broker's refusal for this partition (`Err` of librdkafka's code name), if any.
    pub error: Option<String>,
}

/// One partition's answer to an offset change: `Err` carries librdkafka's error name.
pub type PartitionOutcome = ((String, i32), Result<(), String>);

/// Owned partition list, filled from `(topic, partition, offset)`.
fn partition_list(
    operation: &'static str,
    group: &str,
    entries: &[(String, i32, i64)],
) -> Result<Owned<sys::rd_kafka_topic_partition_list_t>> {
    let refused = |code: String| Error::Refused { operation, object: group.to_string(), code };
    let size = i32::try_from(entries.len()).map_err(|_| refused("INVALID_REQUEST: too many partitions".into()))?;
    // SAFETY: a new list owned by its guard; librdkafka copies each topic name it is given.
    unsafe {
        let list = Owned::new(sys::rd_kafka_topic_partition_list_new(size), sys::rd_kafka_topic_partition_list_destroy)
            .ok_or_else(|| refused("INVALID_REQUEST: librdkafka made no partition list".into()))?;
        for (topic, partition, offset) in entries {
            let topic_c = CString::new(topic.as_str())
                .map_err(|_| refused("INVALID_TOPIC_EXCEPTION: a topic name contains a NUL byte".into()))?;
            let element = sys::rd_kafka_topic_partition_list_add(list.as_ptr(), topic_c.as_ptr(), *partition);
            (*element).offset = *offset;
        }
        Ok(list)
    }
}

/// The elements of a librdkafka partition list (empty for null).
///
/// # Safety
/// `list` must be null or a live list that outlives the returned slice.
unsafe fn elements<'a>(list: *const sys::rd_kafka_topic_partition_list_t) -> &'a [sys::rd_kafka_topic_partition_t] {
    if list.is_null() {
        return &[];
    }
    array((*list).elems, usize::try_from((*list).cnt).unwrap_or(0))
}

/// A group-level error of a group result, as [`Error::Refused`].
///
/// # Safety
/// `result` must be a live group result of an event.
unsafe fn group_error(operation: &'static str, result: *const sys::rd_kafka_group_result_t) -> Option<Error> {
    let error = sys::rd_kafka_group_result_error(result);
    if error.is_null() {
        return None;
    }
    let name = cstr(sys::rd_kafka_group_result_name(result));
    ffi::object_error(operation, &name, error)
}

/// Per-partition outcomes of a group result (offsets altered or deleted).
///
/// # Safety
/// `result` must be a live group result of an event.
unsafe fn partition_outcomes(result: *const sys::rd_kafka_group_result_t) -> Vec<PartitionOutcome> {
    elements(sys::rd_kafka_group_result_partitions(result))
        .iter()
        .map(|element| {
            let key = (cstr(element.topic), element.partition);
            if element.err == sys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
                (key, Ok(()))
            } else {
                let code = rdkafka::types::RDKafkaErrorCode::from(element.err);
                (key, Err(format!("{code:?}")))
            }
        })
        .collect()
}

/// The one group result of an event's result array, or the refusal of the whole group.
///
/// # Safety
/// `results` and `count` must describe a live array of an event.
unsafe fn single_group_result(
    operation: &'static str,
    group: &str,
    results: *mut *const sys::rd_kafka_group_result_t,
    count: usize,
) -> Result<*const sys::rd_kafka_group_result_t> {
    let Some(&result) = array(results, count).first() else {
        return Err(Error::Refused { operation, object: group.to_string(), code: "NO_ANSWER".into() });
    };
    match group_error(operation, result) {
        Some(error) => Err(error),
        None => Ok(result),
    }
}

fn group_c(operation: &'static str, group: &str) -> Result<CString> {
    CString::new(group).map_err(|_| Error::Refused {
        operation,
        object: group.to_string(),
        code: "INVALID_GROUP_ID: the group id contains a NUL byte".into(),
    })
}

impl Admin {
    /// Every consumer group (and simple group) the cluster's brokers coordinate, with state and
    /// type (ListGroups to every broker). Blocks the calling thread for at most the handle's
    /// timeout. Brokers that fail are reported in [`GroupList::errors`], not as an error.
    pub fn list_groups(&self) -> Result<GroupList> {
        let rk = self.group_handle()?;
        // SAFETY: `rk` is this handle's live client; result pointers are read only while
        // `event` is alive.
        unsafe {
            let event = admin_request(
                rk,
                sys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS,
                "ListGroups",
                "cluster",
                self.timeout,
                &self.closed,
                |options, queue| sys::rd_kafka_ListConsumerGroups(rk, options, queue),
            )?;
            let result = sys::rd_kafka_event_ListConsumerGroups_result(event.as_ptr());
            let mut count = 0usize;
            let valid = sys::rd_kafka_ListConsumerGroups_result_valid(result, &mut count);
            let mut groups: Vec<GroupListing> = array(valid, count)
                .iter()
                .map(|&listing| GroupListing {
                    group_id: cstr(sys::rd_kafka_ConsumerGroupListing_group_id(listing)),
                    is_simple: sys::rd_kafka_ConsumerGroupListing_is_simple_consumer_group(listing) != 0,
                    state: GroupState::from_native(sys::rd_kafka_ConsumerGroupListing_state(listing)),
                    group_type: GroupType::from_native(sys::rd_kafka_ConsumerGroupListing_type(listing)),
                })
                .collect();
            groups.sort_by(|a, b| a.group_id.cmp(&b.group_id));
            // A group moving between coordinators can be listed twice; keep one.
            groups.dedup_by(|a, b| a.group_id == b.group_id);
            let mut count = 0usize;
            let failed = sys::rd_kafka_ListConsumerGroups_result_errors(result, &mut count);
            let errors = array(failed, count)
                .iter()
                .map(|&error| {
                    let code = rdkafka::types::RDKafkaErrorCode::from(sys::rd_kafka_error_code(error));
                    ffi::error_code(code, &cstr(sys::rd_kafka_error_string(error)))
                })
                .collect();
            Ok(GroupList { groups, errors })
        }
    }

    /// Describes the named groups (DescribeGroups, sent to each group's coordinator): state,
    /// protocol, coordinator, members with their assigned partitions. Per-group refusals come
    /// back per group, in input order. Blocks the calling thread for at most the handle's timeout.
    pub fn describe_groups(&self, ids: &[String]) -> Result<GroupDescriptions> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids_c: Vec<CString> = ids.iter().map(|id| group_c("DescribeGroups", id)).collect::<Result<_>>()?;
        let mut raw: Vec<*const c_char> = ids_c.iter().map(|id| id.as_ptr()).collect();
        let rk = self.group_handle()?;
        let object = if ids.len() == 1 { ids[0].clone() } else { format!("{} groups", ids.len()) };
        let mut answers: std::collections::HashMap<String, Result<GroupDescription>> =
            std::collections::HashMap::with_capacity(ids.len());
        // SAFETY: `rk` is this handle's live client; librdkafka copies the ids before the call
        // returns; result pointers are read only while `event` is alive.
        unsafe {
            let event = admin_request(
                rk,
                sys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS,
                "DescribeGroups",
                &object,
                self.timeout,
                &self.closed,
                |options, queue| sys::rd_kafka_DescribeConsumerGroups(rk, raw.as_mut_ptr(), raw.len(), options, queue),
            )?;
            let result = sys::rd_kafka_event_DescribeConsumerGroups_result(event.as_ptr());
            let mut count = 0usize;
            let list = sys::rd_kafka_DescribeConsumerGroups_result_groups(result, &mut count);
            for &group in array(list, count) {
                let id = cstr(sys::rd_kafka_ConsumerGroupDescription_group_id(group));
                let error = sys::rd_kafka_ConsumerGroupDescription_error(group);
                let answer = match ffi::object_error("DescribeGroups", &id, error) {
                    Some(refusal) => Err(refusal),
                    None => Ok(group_description(group, id.clone())),
                };
                answers.insert(id, answer);
            }
        }
        Ok(ffi::in_asked_order("DescribeGroups", ids, answers))
    }

    /// The group's committed offsets (OffsetFetch): of `partitions`, or of every partition the
    /// group has committed when `None`. A group without offsets answers an empty list. Blocks the
    /// calling thread for at most the handle's timeout.
    pub fn list_group_offsets(
        &self,
        group: &str,
        partitions: Option<&[(String, i32)]>,
    ) -> Result<Vec<CommittedOffset>> {
        const OP: &str = "OffsetFetch";
        let group_c = group_c(OP, group)?;
        let wanted = match partitions {
            Some(partitions) => {
                let entries: Vec<(String, i32, i64)> =
                    partitions.iter().map(|(topic, partition)| (topic.clone(), *partition, -1)).collect();
                Some(partition_list(OP, group, &entries)?)
            }
            None => None,
        };
        let rk = self.group_handle()?;
        // SAFETY: the request object and the list are owned by guards and copied by librdkafka;
        // `rk` is this handle's live client; result pointers are read only while `event` is alive.
        unsafe {
            let request = Owned::new(
                sys::rd_kafka_ListConsumerGroupOffsets_new(
                    group_c.as_ptr(),
                    wanted.as_ref().map_or(std::ptr::null(), |l| l.as_ptr()),
                ),
                sys::rd_kafka_ListConsumerGroupOffsets_destroy,
            )
            .ok_or_else(|| Error::Refused {
                operation: OP,
                object: group.to_string(),
                code: "INVALID_REQUEST: librdkafka made no request".into(),
            })?;
            let mut requests = [request.as_ptr()];
            let event = admin_request(
                rk,
                sys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS,
                OP,
                group,
                self.timeout,
                &self.closed,
                |options, queue| {
                    sys::rd_kafka_ListConsumerGroupOffsets(rk, requests.as_mut_ptr(), requests.len(), options, queue)
                },
            )?;
            let result = sys::rd_kafka_event_ListConsumerGroupOffsets_result(event.as_ptr());
            let mut count = 0usize;
            let groups = sys::rd_kafka_ListConsumerGroupOffsets_result_groups(result, &mut count);
            let result = single_group_result(OP, group, groups, count)?;
            let mut offsets: Vec<CommittedOffset> = elements(sys::rd_kafka_group_result_partitions(result))
                .iter()
                .map(|element| committed_offset(element))
                .collect();
            offsets.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
            Ok(offsets)
        }
    }

    /// Commits `offsets` ((topic, partition, offset)) for the group (AlterConsumerGroupOffsets,
    /// an OffsetCommit without a member). Kafka accepts it only while the group has no members.
    /// Returns each partition's outcome; a refusal of the whole group is an error. Blocks the
    /// calling thread for at most the handle's timeout.
    pub fn alter_group_offsets(&self, group: &str, offsets: &[(String, i32, i64)]) -> Result<Vec<PartitionOutcome>> {
        const OP: &str = "AlterConsumerGroupOffsets";
        if offsets.is_empty() {
            return Ok(Vec::new());
        }
        let group_c = group_c(OP, group)?;
        let list = partition_list(OP, group, offsets)?;
        let rk = self.group_handle()?;
        // SAFETY: as in `list_group_offsets`.
        unsafe {
            let request = Owned::new(
                sys::rd_kafka_AlterConsumerGroupOffsets_new(group_c.as_ptr(), list.as_ptr()),
                sys::rd_kafka_AlterConsumerGroupOffsets_destroy,
            )
            .ok_or_else(|| Error::Refused {
                operation: OP,
                object: group.to_string(),
                code: "INVALID_REQUEST: librdkafka made no request".into(),
            })?;
            let mut requests = [request.as_ptr()];
            let event = admin_request(
                rk,
                sys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS,
                OP,
                group,
                self.timeout,
                &self.closed,
                |options, queue| {
                    sys::rd_kafka_AlterConsumerGroupOffsets(rk, requests.as_mut_ptr(), requests.len(), options, queue)
                },
            )?;
            let result = sys::rd_kafka_event_AlterConsumerGroupOffsets_result(event.as_ptr());
            let mut count = 0usize;
            let groups = sys::rd_kafka_AlterConsumerGroupOffsets_result_groups(result, &mut count);
            let result = single_group_result(OP, group, groups, count)?;
            Ok(partition_outcomes(result))
        }
    }

    /// Deletes committed offsets of `partitions` (OffsetDelete). Kafka refuses partitions of
    /// topics an active group subscribes to (`GroupSubscribedToTopic`). Returns each partition's
    /// outcome; a refusal of the whole group is an error. Blocks the calling thread for at most
    /// twice the handle's timeout (the API check, then the request).
    pub fn delete_group_offsets(&self, group: &str, partitions: &[(String, i32)]) -> Result<Vec<PartitionOutcome>> {
        const OP: &str = "OffsetDelete";
        if partitions.is_empty() {
            return Ok(Vec::new());
        }
        self.require_api(ApiKey::OffsetDelete, OP, group)?;
        let group_c = group_c(OP, group)?;
        let entries: Vec<(String, i32, i64)> =
            partitions.iter().map(|(topic, partition)| (topic.clone(), *partition, -1)).collect();
        let list = partition_list(OP, group, &entries)?;
        let rk = self.group_handle()?;
        // SAFETY: as in `list_group_offsets`.
        unsafe {
            let request = Owned::new(
                sys::rd_kafka_DeleteConsumerGroupOffsets_new(group_c.as_ptr(), list.as_ptr()),
                sys::rd_kafka_DeleteConsumerGroupOffsets_destroy,
            )
            .ok_or_else(|| Error::Refused {
                operation: OP,
                object: group.to_string(),
                code: "INVALID_REQUEST: librdkafka made no request".into(),
            })?;
            let mut requests = [request.as_ptr()];
            let event = admin_request(
                rk,
                sys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DELETECONSUMERGROUPOFFSETS,
                OP,
                group,
                self.timeout,
                &self.closed,
                |options, queue| {
                    sys::rd_kafka_DeleteConsumerGroupOffsets(rk, requests.as_mut_ptr(), requests.len(), options, queue)
                },
            )?;
            let result = sys::rd_kafka_event_DeleteConsumerGroupOffsets_result(event.as_ptr());
            let mut count = 0usize;
            let groups = sys::rd_kafka_DeleteConsumerGroupOffsets_result_groups(result, &mut count);
            let result = single_group_result(OP, group, groups, count)?;
            Ok(partition_outcomes(result))
        }
    }

    /// Deletes a group and its committed offsets (DeleteGroups). Kafka refuses a group with
    /// members (`NonEmptyGroup`) and an unknown one (`GroupIdNotFound`). Blocks the calling
    /// thread for at most twice the handle's timeout (the API check, then the request).
    pub fn delete_group(&self, group: &str) -> Result<()> {
        const OP: &str = "DeleteGroups";
        self.require_api(ApiKey::DeleteGroups, OP, group)?;
        let group_c = group_c(OP, group)?;
        let rk = self.group_handle()?;
        // SAFETY: the request object is owned by its guard and copied by librdkafka; `rk` is this
        // handle's live client; result pointers are read only while `event` is alive.
        unsafe {
            let request =
                Owned::new(sys::rd_kafka_DeleteGroup_new(group_c.as_ptr()), sys::rd_kafka_DeleteGroup_destroy)
                    .ok_or_else(|| Error::Refused {
                        operation: OP,
                        object: group.to_string(),
                        code: "INVALID_REQUEST: librdkafka made no request".into(),
                    })?;
            let mut requests = [request.as_ptr()];
            let event = admin_request(
                rk,
                sys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DELETEGROUPS,
                OP,
                group,
                self.timeout,
                &self.closed,
                |options, queue| sys::rd_kafka_DeleteGroups(rk, requests.as_mut_ptr(), requests.len(), options, queue),
            )?;
            let result = sys::rd_kafka_event_DeleteGroups_result(event.as_ptr());
            let mut count = 0usize;
            let groups = sys::rd_kafka_DeleteGroups_result_groups(result, &mut count);
            single_group_result(OP, group, groups, count)?;
        }
        Ok(())
    }

    /// Refuses `operation` with `UNSUPPORTED_VERSION` when the first bootstrap broker that answers
    /// ApiVersions lacks `key` (see the module's guard). Profiles with TLS or SASL are not asked.
    fn require_api(&self, key: ApiKey, operation: &'static str, object: &str) -> Result<()> {
        if self.profile.security != Security::Plaintext {
            return Ok(());
        }
        let timeout = self.timeout.min(API_CHECK_TIMEOUT);
        let mut last = None;
        for server in self.profile.bootstrap_servers.split(',').map(str::trim) {
            let Some((host, port)) = host_port(server) else {
                continue;
            };
            match crate::raw::api_versions_blocking(&self.profile, host, port, timeout) {
                Ok(versions) if versions.contains_key(&(key as i16)) => return Ok(()),
                Ok(_) => {
                    return Err(Error::Refused {
                        operation,
                        object: object.to_string(),
                        code: format!(
                            "UNSUPPORTED_VERSION: the broker at {server} does not answer {operation} (API key {})",
                            key as i16
                        ),
                    })
                }
                // A profile whose extras switch on TLS or SASL: librdkafka speaks it, this check cannot.
                Err(Error::Refused { code, .. }) if code.starts_with("INVALID_REQUEST") => return Ok(()),
                Err(error) => last = Some(error),
            }
        }
        Err(last.unwrap_or_else(|| Error::Refused {
            operation,
            object: object.to_string(),
            code: "INVALID_REQUEST: no bootstrap server to ask for its API versions".into(),
        }))
    }
}

/// How long the API check of [`Admin::delete_group`] and [`Admin::delete_group_offsets`] waits.
const API_CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// `host:port` or `[v6]:port` of a bootstrap server.
fn host_port(server: &str) -> Option<(&str, u16)> {
    let (host, port) = server.rsplit_once(':')?;
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    Some((host, port.parse().ok()?)).filter(|(host, _)| !host.is_empty())
}

/// # Safety
/// `element` must be a partition of a live result event.
unsafe fn committed_offset(element: &sys::rd_kafka_topic_partition_t) -> CommittedOffset {
    let metadata = if element.metadata.is_null() || element.metadata_size == 0 {
        None
    } else {
        let bytes = std::slice::from_raw_parts(element.metadata as *const u8, element.metadata_size);
        // Some clients (confluent-kafka-python) commit the C string's terminator too.
        let text = String::from_utf8_lossy(bytes);
        Some(text.trim_end_matches('\0').to_string()).filter(|t| !t.is_empty())
    };
    let epoch = sys::rd_kafka_topic_partition_get_leader_epoch(element);
    let error = (element.err != sys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR)
        .then(|| format!("{:?}", rdkafka::types::RDKafkaErrorCode::from(element.err)));
    CommittedOffset {
        topic: cstr(element.topic),
        partition: element.partition,
        offset: (element.offset >= 0).then_some(element.offset),
        metadata,
        leader_epoch: (epoch >= 0).then_some(epoch),
        error,
    }
}

/// # Safety
/// `group` must be a live description of a result event.
unsafe fn group_description(
    group: *const sys::rd_kafka_ConsumerGroupDescription_t,
    group_id: String,
) -> GroupDescription {
    let coordinator = sys::rd_kafka_ConsumerGroupDescription_coordinator(group);
    let count = sys::rd_kafka_ConsumerGroupDescription_member_count(group);
    let members = (0..count)
        .filter_map(|index| {
            let member = sys::rd_kafka_ConsumerGroupDescription_member(group, index);
            if member.is_null() {
                return None;
            }
            let assignment = sys::rd_kafka_MemberDescription_assignment(member);
            let mut partitions: Vec<(String, i32)> = if assignment.is_null() {
                Vec::new()
            } else {
                elements(sys::rd_kafka_MemberAssignment_partitions(assignment))
                    .iter()
                    .map(|element| (cstr(element.topic), element.partition))
                    .collect()
            };
            partitions.sort();
            Some(GroupMember {
                member_id: cstr(sys::rd_kafka_MemberDescription_consumer_id(member)),
                group_instance_id: opt_cstr(sys::rd_kafka_MemberDescription_group_instance_id(member))
                    .filter(|id| !id.is_empty()),
                client_id: cstr(sys::rd_kafka_MemberDescription_client_id(member)),
                host: cstr(sys::rd_kafka_MemberDescription_host(member)),
                assignment: partitions,
            })
        })
        .collect();
    GroupDescription {
        group_id,
        is_simple: sys::rd_kafka_ConsumerGroupDescription_is_simple_consumer_group(group) != 0,
        state: GroupState::from_native(sys::rd_kafka_ConsumerGroupDescription_state(group)),
        group_type: GroupType::from_native(sys::rd_kafka_ConsumerGroupDescription_type(group)),
        protocol: cstr(sys::rd_kafka_ConsumerGroupDescription_partition_assignor(group)),
        coordinator: (!coordinator.is_null()).then(|| node(coordinator)),
        members,
    }
}

#[cfg(test)]
mod tests {
    use super::host_port;

    #[test]
    fn bootstrap_servers_split_into_host_and_port() {
        assert_eq!(host_port("127.0.0.1:9092"), Some(("127.0.0.1", 9092)));
        assert_eq!(host_port("[::1]:9093"), Some(("::1", 9093)));
        assert_eq!(host_port("kafka:x"), None);
        assert_eq!(host_port(":9092"), None);
        assert_eq!(host_port("kafka"), None);
    }
}
