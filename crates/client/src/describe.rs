//! DescribeCluster and DescribeTopics through librdkafka's C admin API (see `ffi.rs`): the Rust
//! binding exposes neither broker racks nor topic ids. librdkafka answers both from one Metadata
//! request (brokers only for DescribeCluster; the named topics, never auto-created, for
//! DescribeTopics).

use crate::admin::Admin;
use crate::error::{Error, Result};
use crate::ffi::{self, admin_request, array, cstr, opt_cstr, Owned};
use rdkafka::bindings as sys;
use std::ffi::CString;
use std::fmt;
use std::os::raw::c_char;

/// One broker as DescribeCluster or DescribeTopics reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeInfo {
    pub id: i32,
    pub host: String,
    pub port: i32,
    /// Kafka's `broker.rack`; `None` when the broker has none.
    pub rack: Option<String>,
}

/// What DescribeCluster says about the cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterDescription {
    /// `None` for clusters too old to have one.
    pub cluster_id: Option<String>,
    /// The controller's id; `None` when the cluster did not name one.
    pub controller_id: Option<i32>,
    /// Live brokers, by id.
    pub nodes: Vec<NodeInfo>,
}

/// A topic's id (Kafka's `Uuid`, KIP-516).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TopicId(pub [u8; 16]);

impl TopicId {
    /// From Kafka's two halves of the id; `None` for Kafka's all-zero "no id".
    pub fn from_bits(most_significant: i64, least_significant: i64) -> Option<TopicId> {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&most_significant.to_be_bytes());
        bytes[8..].copy_from_slice(&least_significant.to_be_bytes());
        (bytes != [0; 16]).then_some(TopicId(bytes))
    }
}

/// Kafka's text form (`Uuid.toString()`, what `kafka-topics.sh --describe` prints): URL-safe
/// base64 of the 16 bytes, without padding (22 characters).
impl fmt::Display for TopicId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut text = String::with_capacity(22);
        for chunk in self.0.chunks(3) {
            let mut group = [0u8; 3];
            group[..chunk.len()].copy_from_slice(chunk);
            let bits = u32::from_be_bytes([0, group[0], group[1], group[2]]);
            for index in 0..=chunk.len() {
                text.push(ALPHABET[((bits >> (18 - 6 * index)) & 0x3f) as usize] as char);
            }
        }
        f.write_str(&text)
    }
}

/// One topic as DescribeTopics reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicDescription {
    pub name: String,
    /// `None` when the cluster reports no id (brokers before Kafka 2.8).
    pub topic_id: Option<TopicId>,
    pub is_internal: bool,
    /// By partition id.
    pub partitions: Vec<TopicPartitionDescription>,
}

/// One partition of a described topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicPartitionDescription {
    pub partition: i32,
    /// `None` while the partition has no leader.
    pub leader: Option<i32>,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
}

/// Each named topic's description or the cluster's refusal for it, in input order.
pub type TopicDescriptions = Vec<(String, Result<TopicDescription>)>;

impl Admin {
    /// Cluster id, controller and brokers with their racks (DescribeCluster). Blocks the calling
    /// thread for at most the handle's timeout.
    pub fn describe_cluster(&self) -> Result<ClusterDescription> {
        let rk = self.client.inner().native_ptr();
        // SAFETY: `rk` is this handle's live client; result pointers are read only while
        // `event` is alive.
        unsafe {
            let event = admin_request(
                rk,
                sys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBECLUSTER,
                "DescribeCluster",
                "cluster",
                self.timeout,
                &self.closed,
                |options, queue| sys::rd_kafka_DescribeCluster(rk, options, queue),
            )?;
            let result = sys::rd_kafka_event_DescribeCluster_result(event.as_ptr());
            let mut count = 0usize;
            let nodes = sys::rd_kafka_DescribeCluster_result_nodes(result, &mut count);
            let mut nodes: Vec<NodeInfo> = array(nodes, count).iter().map(|&n| node(n)).collect();
            nodes.sort_by_key(|n| n.id);
            let controller = sys::rd_kafka_DescribeCluster_result_controller(result);
            Ok(ClusterDescription {
                cluster_id: opt_cstr(sys::rd_kafka_DescribeCluster_result_cluster_id(result)),
                controller_id: (!controller.is_null()).then(|| sys::rd_kafka_Node_id(controller)),
                nodes,
            })
        }
    }

    /// Topic ids, partitions, leaders, replicas and ISR of the named topics (DescribeTopics, one
    /// request). A topic the cluster does not know gets `Err` (`UnknownTopicOrPartition`); the
    /// request never creates topics. Blocks the calling thread for at most the handle's timeout.
    pub fn describe_topics(&self, names: &[String]) -> Result<TopicDescriptions> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let names_c: Vec<CString> =
            names.iter().map(|name| CString::new(name.as_str())).collect::<std::result::Result<_, _>>().map_err(
                |_| Error::Refused {
                    operation: "DescribeTopics",
                    object: format!("{} topics", names.len()),
                    code: "INVALID_TOPIC_EXCEPTION: a topic name contains a NUL byte".into(),
                },
            )?;
        let mut raw: Vec<*const c_char> = names_c.iter().map(|n| n.as_ptr()).collect();
        let rk = self.client.inner().native_ptr();
        let object = if names.len() == 1 { names[0].clone() } else { format!("{} topics", names.len()) };
        let mut answers: std::collections::HashMap<String, Result<TopicDescription>> =
            std::collections::HashMap::with_capacity(names.len());
        // SAFETY: the collection is owned by its guard (librdkafka copies the names it is made
        // of); `rk` is this handle's live client; result pointers are read only while `event` is
        // alive.
        unsafe {
            let topics = Owned::new(
                sys::rd_kafka_TopicCollection_of_topic_names(raw.as_mut_ptr(), raw.len()),
                sys::rd_kafka_TopicCollection_destroy,
            )
            .ok_or_else(|| Error::Refused {
                operation: "DescribeTopics",
                object: object.clone(),
                code: "INVALID_REQUEST: librdkafka made no topic collection".into(),
            })?;
            let event = admin_request(
                rk,
                sys::rd_kafka_admin_op_t::RD_KAFKA_ADMIN_OP_DESCRIBETOPICS,
                "DescribeTopics",
                &object,
                self.timeout,
                &self.closed,
                |options, queue| sys::rd_kafka_DescribeTopics(rk, topics.as_ptr(), options, queue),
            )?;
            let result = sys::rd_kafka_event_DescribeTopics_result(event.as_ptr());
            let mut count = 0usize;
            let list = sys::rd_kafka_DescribeTopics_result_topics(result, &mut count);
            for &topic in array(list, count) {
                let name = cstr(sys::rd_kafka_TopicDescription_name(topic));
                let error = sys::rd_kafka_TopicDescription_error(topic);
                let answer = match ffi::object_error("DescribeTopics", &name, error) {
                    Some(refusal) => Err(refusal),
                    None => Ok(topic_description(topic, name.clone())),
                };
                answers.insert(name, answer);
            }
        }
        Ok(ffi::in_asked_order("DescribeTopics", names, answers))
    }
}

/// # Safety
/// `node` must be a live node of a result event.
pub(crate) unsafe fn node(node: *const sys::rd_kafka_Node_t) -> NodeInfo {
    NodeInfo {
        id: sys::rd_kafka_Node_id(node),
        host: cstr(sys::rd_kafka_Node_host(node)),
        port: i32::from(sys::rd_kafka_Node_port(node)),
        rack: opt_cstr(sys::rd_kafka_Node_rack(node)).filter(|rack| !rack.is_empty()),
    }
}

/// # Safety
/// `nodes` and `count` must describe a live node array of a result event.
unsafe fn node_ids(nodes: *mut *const sys::rd_kafka_Node_t, count: usize) -> Vec<i32> {
    array(nodes, count).iter().map(|&n| sys::rd_kafka_Node_id(n)).collect()
}

/// # Safety
/// `topic` must be a live description of a result event.
unsafe fn topic_description(topic: *const sys::rd_kafka_TopicDescription_t, name: String) -> TopicDescription {
    let id = sys::rd_kafka_TopicDescription_topic_id(topic);
    let topic_id = if id.is_null() {
        None
    } else {
        TopicId::from_bits(sys::rd_kafka_Uuid_most_significant_bits(id), sys::rd_kafka_Uuid_least_significant_bits(id))
    };
    let mut count = 0usize;
    let list = sys::rd_kafka_TopicDescription_partitions(topic, &mut count);
    let mut partitions: Vec<TopicPartitionDescription> = array(list, count)
        .iter()
        .map(|&p| {
            let leader = sys::rd_kafka_TopicPartitionInfo_leader(p);
            let (mut replicas, mut isr) = (0usize, 0usize);
            let replica_list = sys::rd_kafka_TopicPartitionInfo_replicas(p, &mut replicas);
            let isr_list = sys::rd_kafka_TopicPartitionInfo_isr(p, &mut isr);
            TopicPartitionDescription {
                partition: sys::rd_kafka_TopicPartitionInfo_partition(p),
                leader: (!leader.is_null()).then(|| sys::rd_kafka_Node_id(leader)).filter(|id| *id >= 0),
                replicas: node_ids(replica_list, replicas),
                isr: node_ids(isr_list, isr),
            }
        })
        .collect();
    partitions.sort_by_key(|p| p.partition);
    TopicDescription { name, topic_id, is_internal: sys::rd_kafka_TopicDescription_is_internal(topic) != 0, partitions }
}

#[cfg(test)]
mod tests {
    use super::TopicId;

    #[test]
    fn topic_ids_print_as_kafka_does() {
        // Kafka: Uuid(0x0123456789abcdef, 0xfedcba9876543210).toString()
        let id = TopicId::from_bits(0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210_u64 as i64).expect("non-zero");
        assert_eq!(id.to_string(), "ASNFZ4mrze_-3LqYdlQyEA");
        assert_eq!(id.to_string().len(), 22);
        assert_eq!(TopicId::from_bits(0, 0), None);
    }
}
