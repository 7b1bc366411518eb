//! How a follower replica copies its leader: [`fetcher`] (one fetch loop per leader broker) over
//! [`conn`] (a broker's own Kafka-protocol connection to another broker), within the replication
//! throttles of [`throttle`].

pub(crate) mod conn;
pub(crate) mod fetcher;
pub(crate) mod throttle;
