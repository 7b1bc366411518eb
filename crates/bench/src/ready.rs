//! A just-created topic, ready on every broker: each broker's own metadata shows every partition
//! of it with a leader and all its replicas in sync.
//!
//! A new topic reaches each broker's metadata a moment apart, and a follower that has not started
//! fetching holds every acks=all produce until it does (or until the leader drops it from the
//! ISR): a phase started earlier would measure the topic's creation, not the broker. librdkafka
//! sends a Metadata request to whichever broker it likes, so each broker is asked directly, over
//! a connection of its own ([`RawConnection::metadata`]). Every broker kind gets the same wait.

use crate::Stop;
use anyhow::{bail, Context, Result};
use oxbow_client::{Admin, ClusterMetadata, ConnectionProfile, RawConnection};
use std::time::{Duration, Instant};

/// How often a broker that has not yet said "ready" is asked again.
const ASK_INTERVAL_MS: u64 = 20;
/// One Metadata round trip; a broker slower than this is asked again next turn.
const ASK_TIMEOUT_MS: u64 = 2_000;

/// What `metadata` says about `topic`: None when it is ready (every partition led, no error,
/// the ISR as large as the replica set), else what is missing, for the timeout's message.
fn not_ready(metadata: &ClusterMetadata, topic: &str, partitions: usize) -> Option<String> {
    let Some(found) = metadata.topic(topic) else {
        return Some("topic unknown".into());
    };
    if let Some(error) = &found.error {
        return Some(format!("topic error {error}"));
    }
    if found.partitions.len() != partitions {
        return Some(format!("{} of {partitions} partitions", found.partitions.len()));
    }
    let waiting: Vec<String> = found
        .partitions
        .iter()
        .filter(|p| p.leader < 0 || p.error.is_some() || p.isr.len() < p.replicas.len())
        .map(|p| {
            format!(
                "partition {} leader {} isr {:?} of replicas {:?}{}",
                p.id,
                p.leader,
                p.isr,
                p.replicas,
                p.error.as_ref().map_or(String::new(), |e| format!(" ({e})"))
            )
        })
        .collect();
    (!waiting.is_empty()).then(|| waiting.join(", "))
}

/// Waits until every broker the cluster lists says `topic` (of `partitions` partitions) is led
/// and fully in sync; returns how long that took. Fails at `timeout`, naming what each broker
/// that was not ready last said.
pub fn wait_topic_ready(
    admin: &Admin,
    runtime: &tokio::runtime::Runtime,
    profile: &ConnectionProfile,
    topic: &str,
    partitions: usize,
    timeout: Duration,
    stop: &Stop,
) -> Result<Duration> {
    let started = Instant::now();
    let deadline = started + timeout;
    let brokers = admin.metadata().context("listing the brokers")?.brokers;
    if brokers.is_empty() {
        bail!("the cluster lists no brokers");
    }
    // Per broker: its connection (made on first use, dropped on an error) and what it last said;
    // Some("") once it said ready (a topic, once led and in sync, stays so while nothing fails).
    let mut connections: Vec<Option<RawConnection>> = brokers.iter().map(|_| None).collect();
    let mut said: Vec<Option<String>> = vec![None; brokers.len()];
    // Bounded by the deadline; each turn takes at most a connect and a round trip per broker.
    loop {
        stop.check()?;
        for (index, broker) in brokers.iter().enumerate() {
            if said[index].as_deref() == Some("") {
                continue;
            }
            let ask_timeout =
                deadline.saturating_duration_since(Instant::now()).min(Duration::from_millis(ASK_TIMEOUT_MS));
            let answer = runtime.block_on(async {
                let connection = match &mut connections[index] {
                    Some(connection) => connection,
                    slot => slot.insert(RawConnection::connect(profile, &broker.host, broker.port, ask_timeout).await?),
                };
                connection.metadata(&[topic], ask_timeout).await
            });
            said[index] = Some(match answer {
                Ok(metadata) => not_ready(&metadata, topic, partitions).unwrap_or_default(),
                Err(error) => {
                    connections[index] = None;
                    format!("{error}")
                }
            });
        }
        let waiting: Vec<String> = brokers
            .iter()
            .zip(&said)
            .filter(|(_, said)| said.as_deref() != Some(""))
            .map(|(broker, said)| format!("broker {}: {}", broker.id, said.as_deref().unwrap_or("no answer")))
            .collect();
        if waiting.is_empty() {
            return Ok(started.elapsed());
        }
        if Instant::now() >= deadline {
            bail!(
                "topic {topic} not led and fully in sync on every broker after {} ms: {}",
                timeout.as_millis(),
                waiting.join("; ")
            );
        }
        std::thread::sleep(Duration::from_millis(ASK_INTERVAL_MS));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxbow_client::{PartitionInfo, TopicInfo};

    fn metadata(partitions: Vec<PartitionInfo>) -> ClusterMetadata {
        ClusterMetadata {
            answered_by: 1,
            brokers: Vec::new(),
            topics: vec![TopicInfo { name: "t".into(), error: None, partitions }],
        }
    }

    fn partition(id: i32, leader: i32, isr: &[i32]) -> PartitionInfo {
        PartitionInfo { id, leader, replicas: vec![1, 2, 3], isr: isr.to_vec(), error: None }
    }

    #[test]
    fn ready_needs_every_partition_led_and_fully_in_sync() {
        let ready = metadata(vec![partition(0, 1, &[1, 2, 3]), partition(1, 2, &[2, 3, 1])]);
        assert_eq!(not_ready(&ready, "t", 2), None);
        assert_eq!(not_ready(&ready, "t", 3).as_deref(), Some("2 of 3 partitions"));
        assert_eq!(not_ready(&ready, "other", 2).as_deref(), Some("topic unknown"));
        let follower_missing = metadata(vec![partition(0, 1, &[1, 2]), partition(1, 2, &[2, 3, 1])]);
        assert_eq!(
            not_ready(&follower_missing, "t", 2).as_deref(),
            Some("partition 0 leader 1 isr [1, 2] of replicas [1, 2, 3]")
        );
        let leaderless = metadata(vec![partition(0, -1, &[1, 2, 3])]);
        assert!(not_ready(&leaderless, "t", 1).is_some());
    }
}
