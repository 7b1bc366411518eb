//! The broker's side of the metadata quorum: the state machine the quorum applies committed
//! commands to ([`ImageStateMachine`]), which keeps this broker's [`MetadataImage`] and publishes
//! every new image on a watch channel for reconciliation, and turns applied records into
//! timeline events.
//!
//! Snapshots are the image as JSON; restoring one replaces the image. Commands that cannot be
//! decoded are answered with an error for every group and change nothing (they can only come
//! from a newer or broken proposer, and every broker answers them the same way).

use crate::codes;
use crate::events::{ClusterEvent, EventLog};
use crate::metadata::{ApplyError, CommandResults, MetadataCommand, MetadataImage, MetadataRecord};
use std::collections::BTreeSet;
use std::sync::Arc;
use tokio::sync::watch;

pub(crate) struct ImageStateMachine {
    image: MetadataImage,
    published: watch::Sender<Arc<MetadataImage>>,
    events: Arc<EventLog>,
}

impl ImageStateMachine {
    pub fn new(events: Arc<EventLog>) -> (ImageStateMachine, watch::Receiver<Arc<MetadataImage>>) {
        let (tx, rx) = watch::channel(Arc::new(MetadataImage::default()));
        (ImageStateMachine { image: MetadataImage::default(), published: tx, events }, rx)
    }
}

impl oxbow_quorum::StateMachine for ImageStateMachine {
    fn apply(&mut self, index: u64, command: &[u8]) -> Vec<u8> {
        let results: CommandResults = match serde_json::from_slice::<MetadataCommand>(command) {
            Ok(command) => {
                let before = self.image.clone();
                let results = self.image.apply(index, &command);
                let after = &self.image;
                self.events.record_metadata(index, || events_of(&before, after, &command, &results));
                results
            }
            Err(e) => {
                tracing::error!(index, error = %e, "undecodable metadata command; applied as a no-op");
                self.image.applied = index;
                vec![Err(ApplyError {
                    code: codes::INVALID_REQUEST,
                    message: format!("undecodable metadata command: {e}"),
                })]
            }
        };
        self.published.send_replace(Arc::new(self.image.clone()));
        serde_json::to_vec(&results).expect("results serialise")
    }

    fn snapshot(&self) -> Vec<u8> {
        serde_json::to_vec(&self.image).expect("the image serialises")
    }

    fn restore(&mut self, snapshot: &[u8]) -> Result<(), String> {
        let image: MetadataImage = serde_json::from_slice(snapshot).map_err(|e| format!("metadata snapshot: {e}"))?;
        self.image = image;
        self.published.send_replace(Arc::new(self.image.clone()));
        Ok(())
    }
}

/// Timeline events of the groups that applied.
fn events_of(
    before: &MetadataImage,
    after: &MetadataImage,
    command: &MetadataCommand,
    results: &CommandResults,
) -> Vec<ClusterEvent> {
    let mut out = Vec::new();
    let mut touched: BTreeSet<(String, i32)> = BTreeSet::new();
    for (group, result) in command.groups.iter().zip(results) {
        if result.is_err() {
            continue;
        }
        for r in group {
            match r {
                MetadataRecord::RegisterBroker { id, .. } => out.push(ClusterEvent::BrokerRegistered { broker: *id }),
                MetadataRecord::FenceBroker { id } if !before.brokers.get(id).is_some_and(|b| b.fenced) => {
                    out.push(ClusterEvent::BrokerFenced { broker: *id })
                }
                MetadataRecord::UnfenceBroker { id } => out.push(ClusterEvent::BrokerUnfenced { broker: *id }),
                MetadataRecord::CreateTopic { name, partitions, .. } => out.push(ClusterEvent::TopicCreated {
                    topic: name.clone(),
                    partitions: partitions.len() as i32,
                    replication_factor: partitions.first().map(|p| p.replicas.len() as i16).unwrap_or(0),
                }),
                MetadataRecord::DeleteTopic { name } => out.push(ClusterEvent::TopicDeleted { topic: name.clone() }),
                MetadataRecord::ChangePartition { topic, partition, .. } => {
                    touched.insert((topic.clone(), *partition));
                }
                _ => {}
            }
        }
    }
    for (topic, index) in touched {
        let (Some(old), Some(new)) = (before.partition(&topic, index), after.partition(&topic, index)) else {
            continue;
        };
        if old.leader != new.leader {
            let unclean = new.leader >= 0 && !old.isr.contains(&new.leader);
            out.push(ClusterEvent::LeaderChanged {
                topic: topic.clone(),
                partition: index,
                from: old.leader,
                to: new.leader,
                leader_epoch: new.leader_epoch,
                unclean,
            });
        }
        if old.isr != new.isr {
            out.push(ClusterEvent::IsrChanged {
                topic: topic.clone(),
                partition: index,
                from: old.isr.clone(),
                to: new.isr.clone(),
            });
        }
        if old.replicas != new.replicas || old.adding != new.adding {
            if new.adding.is_empty() && new.removing.is_empty() && !(old.adding.is_empty() && old.removing.is_empty()) {
                out.push(ClusterEvent::ReassignmentCompleted {
                    topic: topic.clone(),
                    partition: index,
                    replicas: new.replicas.clone(),
                });
            } else if !new.adding.is_empty() || !new.removing.is_empty() {
                let target: Vec<i32> = new.replicas.iter().copied().filter(|r| !new.removing.contains(r)).collect();
                out.push(ClusterEvent::ReassignmentStarted { topic: topic.clone(), partition: index, target });
            }
        }
    }
    out
}
