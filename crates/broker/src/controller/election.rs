//! Leader election and ISR changes when brokers come and go: pure functions from the metadata
//! image to the records the controller proposes.
//!
//! Kafka's rules (KRaft's `PartitionChangeBuilder`): a leader is chosen from the ISR, first in
//! assignment order among live brokers; a fenced broker leaves every ISR, except that an ISR
//! never becomes empty (its last member stays, so that replica can later come back as a clean
//! leader); with `unclean.leader.election.enable` a live replica outside the ISR may lead when no
//! ISR member is alive, and the ISR restarts as just that leader — losing whatever it lacked.
//! Every change names the partition epoch it was computed from, so a change racing another
//! fails at apply time instead of undoing it.

use crate::metadata::{MetadataImage, MetadataRecord, PartitionChange, PartitionImage, NO_LEADER};

/// Who should lead a partition whose leader is gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaderChoice {
    /// An in-sync replica.
    Clean(i32),
    /// An out-of-sync replica (unclean election): records it lacks are lost.
    Unclean(i32),
    /// Nobody can lead; the partition is offline.
    Offline,
}

/// The leader Kafka would pick among `replicas` (assignment order) for which `usable` holds.
pub fn choose_leader(p: &PartitionImage, usable: impl Fn(i32) -> bool, unclean_allowed: bool) -> LeaderChoice {
    if let Some(id) = p.replicas.iter().copied().find(|id| p.isr.contains(id) && usable(*id)) {
        return LeaderChoice::Clean(id);
    }
    if unclean_allowed {
        if let Some(id) = p.replicas.iter().copied().find(|id| usable(*id)) {
            return LeaderChoice::Unclean(id);
        }
    }
    LeaderChoice::Offline
}

fn record(topic: &str, index: usize, p: &PartitionImage, leader: i32, isr: Vec<i32>) -> Option<MetadataRecord> {
    if leader == p.leader && isr == p.isr {
        return None;
    }
    Some(MetadataRecord::ChangePartition {
        topic: topic.to_string(),
        partition: index as i32,
        change: PartitionChange {
            expected_partition_epoch: Some(p.partition_epoch),
            leader: Some(leader),
            isr: Some(isr),
            ..Default::default()
        },
    })
}

/// The changes that take `broker` out of every ISR and leadership (it was fenced, or is shutting
/// down), electing new leaders where it led. `unclean(topic)` says whether the topic allows
/// unclean election; `usable(id)` whether a broker may lead (live and not shutting down).
pub fn move_away_from(
    image: &MetadataImage,
    broker: i32,
    usable: impl Fn(i32) -> bool,
    unclean: impl Fn(&str) -> bool,
) -> Vec<MetadataRecord> {
    let mut out = Vec::new();
    for t in image.topics.values() {
        for (index, p) in t.partitions.iter().enumerate() {
            if p.leader != broker && !p.isr.contains(&broker) {
                continue;
            }
            let mut isr: Vec<i32> = p.isr.iter().copied().filter(|id| *id != broker).collect();
            if isr.is_empty() {
                isr = p.isr.clone(); // never empty: the last member stays
            }
            let (leader, isr) = if p.leader == broker || p.leader == NO_LEADER {
                let shrunk = PartitionImage { isr: isr.clone(), ..p.clone() };
                match choose_leader(&shrunk, |id| id != broker && usable(id), unclean(&t.name)) {
                    LeaderChoice::Clean(id) => (id, isr),
                    LeaderChoice::Unclean(id) => (id, vec![id]),
                    LeaderChoice::Offline => (NO_LEADER, isr),
                }
            } else {
                (p.leader, isr)
            };
            out.extend(record(&t.name, index, p, leader, sorted(isr)));
        }
    }
    out
}

/// Keeps ISR order stable (sorted) so equal sets compare equal.
fn sorted(mut isr: Vec<i32>) -> Vec<i32> {
    isr.sort_unstable();
    isr
}

/// The changes when `broker` becomes usable again: offline partitions it can lead get it as
/// leader (cleanly when it is in the ISR; uncleanly where allowed).
pub fn bring_back(image: &MetadataImage, broker: i32, unclean: impl Fn(&str) -> bool) -> Vec<MetadataRecord> {
    let mut out = Vec::new();
    for t in image.topics.values() {
        for (index, p) in t.partitions.iter().enumerate() {
            if p.leader != NO_LEADER || !p.replicas.contains(&broker) {
                continue;
            }
            match choose_leader(p, |id| id == broker, unclean(&t.name)) {
                LeaderChoice::Clean(id) => out.extend(record(&t.name, index, p, id, p.isr.clone())),
                LeaderChoice::Unclean(id) => out.extend(record(&t.name, index, p, id, vec![id])),
                LeaderChoice::Offline => {}
            }
        }
    }
    out
}

/// Outcome of an explicit election for one partition (ElectLeaders).
#[derive(Clone, Debug, PartialEq)]
pub enum Elected {
    Change(MetadataRecord),
    /// ELECTION_NOT_NEEDED, PREFERRED_LEADER_NOT_AVAILABLE, ELIGIBLE_LEADERS_NOT_AVAILABLE.
    Refused(i16, String),
}

/// Preferred-leader election: the first assigned replica leads if it is usable and in sync.
pub fn elect_preferred(topic: &str, index: usize, p: &PartitionImage, usable: impl Fn(i32) -> bool) -> Elected {
    let preferred = p.replicas[0];
    if p.leader == preferred {
        return Elected::Refused(
            crate::codes::ELECTION_NOT_NEEDED,
            "Leader election not needed for topic partition.".into(),
        );
    }
    if !usable(preferred) || !p.isr.contains(&preferred) {
        return Elected::Refused(
            crate::codes::PREFERRED_LEADER_NOT_AVAILABLE,
            format!("Failed to elect leader for partition {topic}-{index} under strategy PreferredReplicaPartitionLeaderElectionStrategy"),
        );
    }
    Elected::Change(record(topic, index, p, preferred, p.isr.clone()).expect("leader changes"))
}

/// Unclean election on request: only for a partition without a live leader.
pub fn elect_unclean(topic: &str, index: usize, p: &PartitionImage, usable: impl Fn(i32) -> bool) -> Elected {
    if p.leader != NO_LEADER && usable(p.leader) {
        return Elected::Refused(
            crate::codes::ELECTION_NOT_NEEDED,
            "Leader election not needed for topic partition.".into(),
        );
    }
    match choose_leader(p, &usable, true) {
        LeaderChoice::Clean(id) => Elected::Change(record(topic, index, p, id, p.isr.clone()).expect("leader changes")),
        LeaderChoice::Unclean(id) => Elected::Change(record(topic, index, p, id, vec![id]).expect("leader changes")),
        LeaderChoice::Offline => Elected::Refused(
            crate::codes::ELIGIBLE_LEADERS_NOT_AVAILABLE,
            format!(
                "Failed to elect leader for partition {topic}-{index} under strategy UncleanLeaderElectionStrategy"
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::{MetadataCommand, TopicImage};
    use std::sync::Arc;

    fn partition(replicas: &[i32], isr: &[i32], leader: i32) -> PartitionImage {
        PartitionImage {
            replicas: replicas.to_vec(),
            isr: isr.to_vec(),
            leader,
            leader_epoch: 3,
            partition_epoch: 5,
            adding: vec![],
            removing: vec![],
        }
    }

    fn image(parts: Vec<PartitionImage>) -> MetadataImage {
        let mut image = MetadataImage::default();
        let topic = TopicImage {
            name: "t".into(),
            id: uuid::Uuid::from_u128(7),
            configs: Default::default(),
            partitions: parts,
        };
        image.topics.insert("t".into(), Arc::new(topic));
        image
    }

    fn changed(records: &[MetadataRecord]) -> Vec<(i32, i32, Vec<i32>)> {
        records
            .iter()
            .map(|r| match r {
                MetadataRecord::ChangePartition { partition, change, .. } => {
                    assert_eq!(
                        change.expected_partition_epoch,
                        Some(5),
                        "changes name the epoch they were computed from"
                    );
                    (*partition, change.leader.unwrap(), change.isr.clone().unwrap())
                }
                other => panic!("unexpected {other:?}"),
            })
            .collect()
    }

    #[test]
    fn choose_leader_follows_assignment_order_within_the_isr() {
        let p = partition(&[3, 1, 2], &[1, 2], 3);
        assert_eq!(choose_leader(&p, |_| true, false), LeaderChoice::Clean(1));
        assert_eq!(choose_leader(&p, |id| id == 2, false), LeaderChoice::Clean(2));
        assert_eq!(choose_leader(&p, |id| id == 3, false), LeaderChoice::Offline);
        assert_eq!(choose_leader(&p, |id| id == 3, true), LeaderChoice::Unclean(3));
    }

    #[test]
    fn fencing_a_broker_moves_leadership_and_shrinks_isrs() {
        let img = image(vec![
            partition(&[1, 2, 3], &[1, 2, 3], 1), // 1 leads: 2 takes over
            partition(&[2, 1, 3], &[1, 2, 3], 2), // 1 only in the ISR
            partition(&[1], &[1], 1),             // 1 alone: offline, ISR keeps it
            partition(&[2, 3], &[2, 3], 2),       // untouched
            partition(&[1, 3], &[1], 1),          // 3 out of sync: offline unless unclean
        ]);
        let clean = changed(&move_away_from(&img, 1, |_| true, |_| false));
        assert_eq!(
            clean,
            vec![(0, 2, vec![2, 3]), (1, 2, vec![2, 3]), (2, NO_LEADER, vec![1]), (4, NO_LEADER, vec![1])]
        );
        let unclean = changed(&move_away_from(&img, 1, |_| true, |_| true));
        assert_eq!(unclean[3], (4, 3, vec![3]), "unclean election makes the out-of-sync replica leader with ISR [3]");

        // And the records apply: broker 1 comes back and leads its offline partitions again.
        let mut img = img;
        for id in 1..=3 {
            img.brokers.insert(
                id,
                crate::metadata::BrokerRegistration {
                    id,
                    incarnation: Default::default(),
                    host: String::new(),
                    port: 0,
                    rack: None,
                    epoch: 1,
                    fenced: false,
                    in_controlled_shutdown: false,
                },
            );
        }
        let results = img.apply(10, &MetadataCommand { groups: vec![move_away_from(&img, 1, |_| true, |_| false)] });
        assert!(results[0].is_ok(), "{results:?}");
        let back = bring_back(&img, 1, |_| false);
        let got: Vec<(i32, i32)> = back
            .iter()
            .map(|r| match r {
                MetadataRecord::ChangePartition { partition, change, .. } => (*partition, change.leader.unwrap()),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(got, vec![(2, 1), (4, 1)]);
    }

    #[test]
    fn explicit_elections() {
        let p = partition(&[1, 2], &[1, 2], 2);
        assert!(matches!(elect_preferred("t", 0, &p, |_| true), Elected::Change(_)));
        assert!(
            matches!(elect_preferred("t", 0, &p, |id| id != 1), Elected::Refused(c, _) if c == crate::codes::PREFERRED_LEADER_NOT_AVAILABLE)
        );
        let led = partition(&[1, 2], &[1, 2], 1);
        assert!(
            matches!(elect_preferred("t", 0, &led, |_| true), Elected::Refused(c, _) if c == crate::codes::ELECTION_NOT_NEEDED)
        );
        let offline = partition(&[1, 2], &[1], NO_LEADER);
        assert!(matches!(elect_unclean("t", 0, &offline, |id| id == 2), Elected::Change(_)));
        assert!(
            matches!(elect_unclean("t", 0, &offline, |_| false), Elected::Refused(c, _) if c == crate::codes::ELIGIBLE_LEADERS_NOT_AVAILABLE)
        );
    }
}
