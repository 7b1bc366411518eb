//! How a follower replica copies its leader: [`fetcher`] (one fetch loop per leader broker) over
//! [`conn`] (a broker's own Kafka-protocol connection to another broker).

pub(crate) mod conn;
pub(crate) mod fetcher;
