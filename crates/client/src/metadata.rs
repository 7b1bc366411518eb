//! Cluster metadata as plain owned values, detached from librdkafka's borrowed view.

use rdkafka::metadata::Metadata;

/// What the cluster said about itself in one Metadata response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterMetadata {
    /// The broker that answered.
    pub answered_by: i32,
    pub brokers: Vec<BrokerInfo>,
    pub topics: Vec<TopicInfo>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerInfo {
    pub id: i32,
    pub host: String,
    pub port: i32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicInfo {
    pub name: String,
    /// Kafka's error name for the topic (e.g. `UnknownTopicOrPartition`), if the broker reported one.
    pub error: Option<String>,
    pub partitions: Vec<PartitionInfo>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionInfo {
    pub id: i32,
    pub leader: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    pub error: Option<String>,
}

impl ClusterMetadata {
    pub(crate) fn from_rdkafka(metadata: &Metadata) -> ClusterMetadata {
        ClusterMetadata {
            answered_by: metadata.orig_broker_id(),
            brokers: metadata
                .brokers()
                .iter()
                .map(|broker| BrokerInfo { id: broker.id(), host: broker.host().to_string(), port: broker.port() })
                .collect(),
            topics: metadata
                .topics()
                .iter()
                .map(|topic| TopicInfo {
                    name: topic.name().to_string(),
                    error: topic.error().map(|code| format!("{:?}", rdkafka::types::RDKafkaErrorCode::from(code))),
                    partitions: topic
                        .partitions()
                        .iter()
                        .map(|partition| PartitionInfo {
                            id: partition.id(),
                            leader: partition.leader(),
                            replicas: partition.replicas().to_vec(),
                            isr: partition.isr().to_vec(),
                            error: partition
                                .error()
                                .map(|code| format!("{:?}", rdkafka::types::RDKafkaErrorCode::from(code))),
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    /// The topic by name, if the cluster reported it.
    pub fn topic(&self, name: &str) -> Option<&TopicInfo> {
        self.topics.iter().find(|topic| topic.name == name)
    }
}
