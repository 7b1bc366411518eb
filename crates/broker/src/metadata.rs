//! The metadata image and the records that change it: the cluster's state as a replicated log
//! (KRaft's design).
//!
//! Every change to cluster state — a broker registering or being fenced, a topic created, a
//! partition's leader or ISR changing, configs, producer-id blocks — is a [`MetadataRecord`].
//! Records travel in [`MetadataCommand`]s through the controller quorum (`oxbow-quorum`, Raft);
//! every broker applies the committed commands in the same order to its own [`MetadataImage`]
//! with [`MetadataImage::apply`], so all brokers converge on the same image. Applying is pure
//! and deterministic: it reads nothing but the image and the record (the applying log index is
//! the only outside input), which is what makes replaying the log on any broker safe.
//!
//! A command is a list of groups; each group applies atomically (all its records or none) and
//! gets its own result, so one CreateTopics request for 500 topics is one Raft entry whose
//! topics succeed or fail one by one, while "fence broker 2 and move its leaderships" cannot
//! half-happen.
//!
//! Records are checked when applied, not only when proposed: a proposer builds records from its
//! own, possibly slightly stale, image, and the check at apply time (topic still absent, partition
//! epoch unchanged — Kafka's INVALID_UPDATE_VERSION) turns a lost race into a clear error rather
//! than a wrong state.
//!
//! What it deliberately does not do: open logs or touch partitions (each broker reconciles its
//! partitions with the image after applying), decide placements or elections (the controller
//! module proposes those), or persist anything (the quorum keeps the log and snapshots; a
//! snapshot is this image serialised).

use crate::codes;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use uuid::Uuid;

/// Producer ids are handed out in blocks; a broker asks for a block when it has used its own, so
/// a restart skips the unused rest of a block (as Kafka's ProducerIdManager does) and never
/// reuses an id.
pub(crate) const PRODUCER_ID_BLOCK_SIZE: i64 = 1000;

/// No leader (Kafka's `LeaderConstants.NO_LEADER`).
pub const NO_LEADER: i32 = -1;

/// A broker as the cluster knows it (Kafka's RegisterBrokerRecord plus fencing state).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerRegistration {
    pub id: i32,
    /// New for every start of the broker (Kafka's incarnation id).
    pub incarnation: Uuid,
    pub host: String,
    pub port: i32,
    pub rack: Option<String>,
    /// The log index of the registration (Kafka's broker epoch).
    pub epoch: u64,
    /// A fenced broker leads nothing and is in no ISR; new brokers start fenced until they have
    /// caught up with the metadata log.
    pub fenced: bool,
    /// Set while the broker's controlled shutdown moves leadership away from it.
    pub in_controlled_shutdown: bool,
}

/// One partition's replica set and leadership (Kafka's PartitionRecord).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionImage {
    /// Assignment order; the first is the preferred leader.
    pub replicas: Vec<i32>,
    /// In-sync replicas, never empty while the partition exists (KRaft keeps the last member
    /// when no replica is left, so that replica can come back as a clean leader).
    pub isr: Vec<i32>,
    /// [`NO_LEADER`] when offline.
    pub leader: i32,
    /// Bumped on every leader change; followers fence stale leaders with it.
    pub leader_epoch: i32,
    /// Bumped on every change of this partition; AlterPartition must name the current one.
    pub partition_epoch: i32,
    /// During a reassignment: replicas being added (already in `replicas`) and being removed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub adding: Vec<i32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removing: Vec<i32>,
}

impl PartitionImage {
    /// A new partition led by its first replica with every replica in sync.
    pub fn new(replicas: Vec<i32>) -> PartitionImage {
        assert!(!replicas.is_empty(), "a partition has at least one replica");
        let mut isr = replicas.clone();
        isr.sort_unstable(); // ISRs are kept sorted so equal sets compare equal
        PartitionImage {
            leader: replicas[0],
            isr,
            replicas,
            leader_epoch: 0,
            partition_epoch: 0,
            adding: Vec::new(),
            removing: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TopicImage {
    pub name: String,
    pub id: Uuid,
    pub configs: BTreeMap<String, String>,
    pub partitions: Vec<PartitionImage>,
}

impl TopicImage {
    pub fn partition_count(&self) -> i32 {
        self.partitions.len() as i32
    }

    pub fn replication_factor(&self) -> i16 {
        self.partitions.first().map(|p| (p.replicas.len() - p.adding.len()) as i16).unwrap_or(0)
    }
}

/// The cluster state every broker holds a copy of. Topics sit behind `Arc` so that a new image
/// per applied command copies pointers, not partitions.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MetadataImage {
    pub brokers: BTreeMap<i32, BrokerRegistration>,
    pub topics: BTreeMap<String, Arc<TopicImage>>,
    /// Dynamic per-broker configs (`kafka-configs --entity-type brokers --entity-name 1`).
    pub broker_configs: BTreeMap<i32, BTreeMap<String, String>>,
    /// Dynamic cluster-wide broker defaults (`--entity-default`).
    pub cluster_configs: BTreeMap<String, String>,
    /// Producer ids below this are allocated (to some broker) or skipped.
    pub producer_id_block_end: i64,
    /// The log index of the last command applied.
    pub applied: u64,
}

/// What should change in one partition. `None` fields stay as they are.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionChange {
    /// Applies only if the partition is still at this epoch (AlterPartition's check).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_partition_epoch: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isr: Option<Vec<i32>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<Vec<i32>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adding: Option<Vec<i32>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removing: Option<Vec<i32>>,
}

/// A change to the cluster state. Every mutation is one of these.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum MetadataRecord {
    /// A broker (re)starts: it is registered fenced, with a new incarnation.
    RegisterBroker {
        id: i32,
        incarnation: Uuid,
        host: String,
        port: i32,
        rack: Option<String>,
    },
    FenceBroker {
        id: i32,
    },
    UnfenceBroker {
        id: i32,
    },
    /// The broker asked to shut down; leadership moves away (separate records) and it is fenced.
    BeginControlledShutdown {
        id: i32,
    },
    CreateTopic {
        name: String,
        id: Uuid,
        configs: BTreeMap<String, String>,
        partitions: Vec<PartitionImage>,
    },
    DeleteTopic {
        name: String,
    },
    /// Adds partitions to a topic that has exactly `from` of them.
    CreatePartitions {
        name: String,
        from: i32,
        added: Vec<PartitionImage>,
    },
    ChangePartition {
        topic: String,
        partition: i32,
        change: PartitionChange,
    },
    /// Replaces a topic's overrides with `configs`.
    SetTopicConfigs {
        name: String,
        configs: BTreeMap<String, String>,
    },
    /// Replaces dynamic broker configs: one broker's, or the cluster default (`broker: None`).
    SetBrokerConfigs {
        broker: Option<i32>,
        configs: BTreeMap<String, String>,
    },
    /// Gives `broker` the producer ids from the current block end up to (excluding) `block_end`.
    AllocateProducerIds {
        broker: i32,
        block_end: i64,
    },
}

/// What one Raft entry carries: groups of records, each applied atomically.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetadataCommand {
    pub groups: Vec<Vec<MetadataRecord>>,
}

/// Why a group was not applied: a Kafka error code and a Kafka-worded message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyError {
    pub code: i16,
    pub message: String,
}

impl ApplyError {
    fn new(code: i16, message: impl Into<String>) -> ApplyError {
        ApplyError { code, message: message.into() }
    }
}

/// The state machine's answer to one command: a result per group.
pub type CommandResults = Vec<Result<(), ApplyError>>;

impl MetadataImage {
    /// Applies a committed command at log `index`: each group atomically, in order. The image
    /// after is the same on every broker that applies the same commands.
    pub fn apply(&mut self, index: u64, command: &MetadataCommand) -> CommandResults {
        assert!(
            index > self.applied || self.applied == 0,
            "commands apply in log order: {index} after {}",
            self.applied
        );
        let mut results = Vec::with_capacity(command.groups.len());
        for group in &command.groups {
            let result = if let [record] = group.as_slice() {
                // Every record is checked before it changes anything, so a lone record applies in
                // place: a CreateTopics of 500 topics must not copy a 10,000-topic image 500 times.
                self.apply_record(index, record)
            } else {
                let mut next = self.clone();
                let result = group.iter().try_for_each(|record| next.apply_record(index, record));
                if result.is_ok() {
                    *self = next;
                }
                result
            };
            results.push(result);
        }
        self.applied = index;
        results
    }

    /// Applies one record. Invariant: a record that fails changes nothing (every check comes
    /// before the first change), which lets single-record groups skip the copy.
    fn apply_record(&mut self, index: u64, record: &MetadataRecord) -> Result<(), ApplyError> {
        match record {
            MetadataRecord::RegisterBroker { id, incarnation, host, port, rack } => {
                self.brokers.insert(
                    *id,
                    BrokerRegistration {
                        id: *id,
                        incarnation: *incarnation,
                        host: host.clone(),
                        port: *port,
                        rack: rack.clone(),
                        epoch: index,
                        fenced: true,
                        in_controlled_shutdown: false,
                    },
                );
            }
            MetadataRecord::FenceBroker { id } => self.broker_mut(*id)?.fenced = true,
            MetadataRecord::UnfenceBroker { id } => {
                let b = self.broker_mut(*id)?;
                b.fenced = false;
                b.in_controlled_shutdown = false;
            }
            MetadataRecord::BeginControlledShutdown { id } => self.broker_mut(*id)?.in_controlled_shutdown = true,
            MetadataRecord::CreateTopic { name, id, configs, partitions } => {
                if self.topics.contains_key(name) {
                    return Err(ApplyError::new(
                        codes::TOPIC_ALREADY_EXISTS,
                        format!("Topic '{name}' already exists."),
                    ));
                }
                if self.topics.values().any(|t| t.id == *id) {
                    return Err(ApplyError::new(
                        codes::TOPIC_ALREADY_EXISTS,
                        format!("Topic id {id} is already in use."),
                    ));
                }
                if partitions.is_empty() {
                    return Err(ApplyError::new(codes::INVALID_PARTITIONS, "A topic has at least one partition."));
                }
                for p in partitions {
                    self.check_partition(name, p)?;
                }
                let topic = TopicImage {
                    name: name.clone(),
                    id: *id,
                    configs: configs.clone(),
                    partitions: partitions.clone(),
                };
                self.topics.insert(name.clone(), Arc::new(topic));
            }
            MetadataRecord::DeleteTopic { name } => {
                if self.topics.remove(name).is_none() {
                    return Err(unknown_topic(name));
                }
            }
            MetadataRecord::CreatePartitions { name, from, added } => {
                let current = self.topics.get(name).ok_or_else(|| unknown_topic(name))?.partition_count();
                if current != *from {
                    return Err(ApplyError::new(
                        codes::INVALID_PARTITIONS,
                        format!("Topic '{name}' has {current} partitions now, not {from}; another request changed it first."),
                    ));
                }
                for p in added {
                    self.check_partition(name, p)?;
                }
                self.topic_mut(name)?.partitions.extend(added.iter().cloned());
            }
            MetadataRecord::ChangePartition { topic, partition, change } => {
                self.change_partition(topic, *partition, change)?
            }
            MetadataRecord::SetTopicConfigs { name, configs } => self.topic_mut(name)?.configs = configs.clone(),
            MetadataRecord::SetBrokerConfigs { broker, configs } => match broker {
                Some(id) if configs.is_empty() => {
                    self.broker_configs.remove(id);
                }
                Some(id) => {
                    self.broker_configs.insert(*id, configs.clone());
                }
                None => self.cluster_configs = configs.clone(),
            },
            MetadataRecord::AllocateProducerIds { broker, block_end } => {
                if *block_end <= self.producer_id_block_end {
                    return Err(ApplyError::new(
                        codes::UNKNOWN_SERVER_ERROR,
                        format!(
                            "producer id block for broker {broker} ends at {block_end}, below the allocated end {}",
                            self.producer_id_block_end
                        ),
                    ));
                }
                self.producer_id_block_end = *block_end;
            }
        }
        Ok(())
    }

    fn broker_mut(&mut self, id: i32) -> Result<&mut BrokerRegistration, ApplyError> {
        self.brokers
            .get_mut(&id)
            .ok_or_else(|| ApplyError::new(codes::BROKER_NOT_AVAILABLE, format!("Broker {id} is not registered.")))
    }

    fn topic_mut(&mut self, name: &str) -> Result<&mut TopicImage, ApplyError> {
        self.topics.get_mut(name).map(Arc::make_mut).ok_or_else(|| unknown_topic(name))
    }

    /// A partition record must name distinct, registered replicas; its leader and ISR must be
    /// among them.
    fn check_partition(&self, topic: &str, p: &PartitionImage) -> Result<(), ApplyError> {
        let bad = |m: String| {
            Err(ApplyError::new(codes::INVALID_REPLICA_ASSIGNMENT, format!("Partition of topic '{topic}': {m}")))
        };
        if p.replicas.is_empty() {
            return bad("no replicas".into());
        }
        let mut seen = p.replicas.clone();
        seen.sort_unstable();
        seen.dedup();
        if seen.len() != p.replicas.len() {
            return bad(format!("duplicate replicas in {:?}", p.replicas));
        }
        if let Some(b) = p.replicas.iter().find(|b| !self.brokers.contains_key(b)) {
            return bad(format!("broker {b} is not registered"));
        }
        if p.leader != NO_LEADER && !p.replicas.contains(&p.leader) {
            return bad(format!("leader {} is not a replica of {:?}", p.leader, p.replicas));
        }
        if p.isr.is_empty() || p.isr.iter().any(|b| !p.replicas.contains(b)) {
            return bad(format!("ISR {:?} is empty or not within replicas {:?}", p.isr, p.replicas));
        }
        Ok(())
    }

    fn change_partition(&mut self, topic: &str, index: i32, change: &PartitionChange) -> Result<(), ApplyError> {
        let current = self
            .topics
            .get(topic)
            .ok_or_else(|| unknown_topic(topic))?
            .partitions
            .get(usize::try_from(index).unwrap_or(usize::MAX))
            .cloned()
            .ok_or_else(|| {
                ApplyError::new(codes::UNKNOWN_TOPIC_OR_PARTITION, format!("Partition {topic}-{index} does not exist."))
            })?;
        if let Some(expected) = change.expected_partition_epoch {
            if expected != current.partition_epoch {
                return Err(ApplyError::new(
                    codes::INVALID_UPDATE_VERSION,
                    format!(
                        "Partition {topic}-{index} is at partition epoch {}, not {expected}.",
                        current.partition_epoch
                    ),
                ));
            }
        }
        let mut next = current.clone();
        if let Some(r) = &change.replicas {
            next.replicas = r.clone();
        }
        if let Some(a) = &change.adding {
            next.adding = a.clone();
        }
        if let Some(r) = &change.removing {
            next.removing = r.clone();
        }
        if let Some(isr) = &change.isr {
            next.isr = isr.clone();
        }
        if let Some(leader) = change.leader {
            next.leader = leader;
        }
        self.check_partition(topic, &next)?;
        if next == current {
            return Ok(());
        }
        if next.leader != current.leader {
            next.leader_epoch += 1;
        }
        next.partition_epoch += 1;
        self.topic_mut(topic)?.partitions[index as usize] = next;
        Ok(())
    }

    /// Registered brokers that are not fenced, in id order.
    pub fn live_brokers(&self) -> impl Iterator<Item = &BrokerRegistration> {
        self.brokers.values().filter(|b| !b.fenced)
    }

    pub fn is_live(&self, id: i32) -> bool {
        self.brokers.get(&id).is_some_and(|b| !b.fenced)
    }

    pub fn partition(&self, topic: &str, index: i32) -> Option<&PartitionImage> {
        self.topics.get(topic)?.partitions.get(usize::try_from(index).ok()?)
    }

    pub fn topic_by_id(&self, id: Uuid) -> Option<&Arc<TopicImage>> {
        self.topics.values().find(|t| t.id == id)
    }
}

fn unknown_topic(name: &str) -> ApplyError {
    ApplyError::new(codes::UNKNOWN_TOPIC_OR_PARTITION, format!("Topic '{name}' does not exist."))
}

/// Writes `bytes` to `path` via a temp file in the same directory, fsync, rename, fsync dir.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> crate::Result<()> {
    let tmp = path.with_extension("tmp");
    let io = |e: std::io::Error| crate::Error::DataDir { path: path.to_path_buf(), source: e };
    {
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)?;
    if let Some(dir) = path.parent() {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// Kafka's `meta.properties` in a broker's data dir, for tools that look for it.
pub(crate) fn write_meta_properties(data_dir: &Path, node_id: i32, cluster_id: &str) -> crate::Result<()> {
    let text = format!("#\n#Written by Oxbow\nversion=1\nnode.id={node_id}\ncluster.id={cluster_id}\n");
    let path = data_dir.join("meta.properties");
    if std::fs::read_to_string(&path).map(|s| s == text).unwrap_or(false) {
        return Ok(());
    }
    write_atomically(&path, text.as_bytes())
}

/// Kafka's `Uuid.toString()`: URL-safe base64 of the 16 bytes, without padding (22 chars).
pub fn base64url_uuid(id: Uuid) -> String {
    base64url_nopad(id.as_bytes())
}

pub(crate) fn base64url_nopad(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = ((b[0] as u32) << 16) | ((b[1] as u32) << 8) | b[2] as u32;
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// Kafka's `partition.metadata` file in each partition directory.
pub(crate) fn write_partition_metadata(dir: &Path, topic_id: Uuid) -> crate::Result<()> {
    let path = dir.join("partition.metadata");
    let text = format!("version: 0\ntopic_id: {}\n", base64url_uuid(topic_id));
    if std::fs::read_to_string(&path).map(|s| s == text).unwrap_or(false) {
        return Ok(());
    }
    write_atomically(&path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_matches_kafka() {
        // Kafka: Uuid(0, 1).toString() == "AAAAAAAAAAAAAAAAAAAAAQ"
        assert_eq!(base64url_uuid(Uuid::from_u128(1)), "AAAAAAAAAAAAAAAAAAAAAQ");
        assert_eq!(base64url_nopad(b"\xfb\xff"), "-_8");
        assert_eq!(base64url_uuid(Uuid::new_v4()).len(), 22);
    }

    fn register(id: i32) -> MetadataRecord {
        MetadataRecord::RegisterBroker {
            id,
            incarnation: Uuid::from_u128(id as u128),
            host: "127.0.0.1".into(),
            port: 9091 + id,
            rack: None,
        }
    }

    fn cmd(groups: Vec<Vec<MetadataRecord>>) -> MetadataCommand {
        MetadataCommand { groups }
    }

    fn three_brokers() -> MetadataImage {
        let mut image = MetadataImage::default();
        let results = image.apply(1, &cmd(vec![vec![register(1), register(2), register(3)]]));
        assert_eq!(results, vec![Ok(())]);
        image
    }

    fn create(name: &str, replicas: Vec<Vec<i32>>) -> MetadataRecord {
        MetadataRecord::CreateTopic {
            name: name.into(),
            id: Uuid::new_v4(),
            configs: BTreeMap::new(),
            partitions: replicas.into_iter().map(PartitionImage::new).collect(),
        }
    }

    /// Data-driven: each case applies one command to a fresh image holding topic `t` (replicas
    /// [1,2,3]) and checks the per-group results and the partition afterwards.
    fn check(groups: Vec<Vec<MetadataRecord>>, want_codes: &[i16], want: impl Fn(&PartitionImage)) {
        let mut image = three_brokers();
        image.apply(2, &cmd(vec![vec![create("t", vec![vec![1, 2, 3]])]]));
        let results = image.apply(3, &cmd(groups));
        let got: Vec<i16> = results.iter().map(|r| r.as_ref().err().map(|e| e.code).unwrap_or(codes::NONE)).collect();
        assert_eq!(got, want_codes, "{results:?}");
        want(image.partition("t", 0).unwrap());
        assert_eq!(image.applied, 3);
    }

    fn change(c: PartitionChange) -> MetadataRecord {
        MetadataRecord::ChangePartition { topic: "t".into(), partition: 0, change: c }
    }

    #[test]
    fn partition_changes_bump_epochs_and_check_the_expected_one() {
        // A leader change bumps both epochs.
        check(
            vec![vec![change(PartitionChange { leader: Some(2), isr: Some(vec![2, 3]), ..Default::default() })]],
            &[codes::NONE],
            |p| {
                assert_eq!((p.leader, p.leader_epoch, p.partition_epoch, p.isr.clone()), (2, 1, 1, vec![2, 3]));
            },
        );
        // An ISR change alone bumps only the partition epoch.
        check(
            vec![vec![change(PartitionChange {
                expected_partition_epoch: Some(0),
                isr: Some(vec![1]),
                ..Default::default()
            })]],
            &[codes::NONE],
            |p| {
                assert_eq!((p.leader, p.leader_epoch, p.partition_epoch), (1, 0, 1));
            },
        );
        // A stale partition epoch is refused, and the partition is untouched.
        check(
            vec![vec![change(PartitionChange {
                expected_partition_epoch: Some(7),
                isr: Some(vec![1]),
                ..Default::default()
            })]],
            &[codes::INVALID_UPDATE_VERSION],
            |p| {
                assert_eq!((p.isr.clone(), p.partition_epoch), (vec![1, 2, 3], 0));
            },
        );
        // A leader outside the replicas, an empty ISR: refused.
        check(
            vec![
                vec![change(PartitionChange { leader: Some(9), ..Default::default() })],
                vec![change(PartitionChange { isr: Some(vec![]), ..Default::default() })],
            ],
            &[codes::INVALID_REPLICA_ASSIGNMENT, codes::INVALID_REPLICA_ASSIGNMENT],
            |p| assert_eq!(p.partition_epoch, 0),
        );
        // A change to the same state is a no-op (no epoch bump).
        check(vec![vec![change(PartitionChange { leader: Some(1), ..Default::default() })]], &[codes::NONE], |p| {
            assert_eq!((p.leader_epoch, p.partition_epoch), (0, 0));
        });
        // Groups are atomic: the second group fails as a whole, the first stays applied.
        check(
            vec![
                vec![change(PartitionChange { isr: Some(vec![1, 2]), ..Default::default() })],
                vec![
                    change(PartitionChange { leader: Some(3), ..Default::default() }),
                    MetadataRecord::DeleteTopic { name: "nope".into() },
                ],
            ],
            &[codes::NONE, codes::UNKNOWN_TOPIC_OR_PARTITION],
            |p| assert_eq!((p.leader, p.isr.clone(), p.partition_epoch), (1, vec![1, 2], 1)),
        );
    }

    #[test]
    fn topics_and_brokers() {
        let mut image = three_brokers();
        assert!(image.brokers.values().all(|b| b.fenced && b.epoch == 1), "brokers register fenced");
        let results = image.apply(
            2,
            &cmd(vec![
                vec![create("a", vec![vec![1, 2], vec![2, 3]])],
                vec![create("a", vec![vec![1]])],
                vec![create("b", vec![vec![4]])],
                vec![create("c", vec![vec![1, 1]])],
                vec![MetadataRecord::UnfenceBroker { id: 2 }],
            ]),
        );
        let codes_got: Vec<i16> = results.iter().map(|r| r.as_ref().err().map(|e| e.code).unwrap_or(0)).collect();
        assert_eq!(
            codes_got,
            vec![
                0,
                codes::TOPIC_ALREADY_EXISTS,
                codes::INVALID_REPLICA_ASSIGNMENT,
                codes::INVALID_REPLICA_ASSIGNMENT,
                0
            ]
        );
        assert_eq!(image.live_brokers().map(|b| b.id).collect::<Vec<_>>(), vec![2]);
        assert_eq!(image.topics["a"].replication_factor(), 2);

        let results = image.apply(
            3,
            &cmd(vec![
                vec![MetadataRecord::CreatePartitions {
                    name: "a".into(),
                    from: 1,
                    added: vec![PartitionImage::new(vec![3])],
                }],
                vec![MetadataRecord::CreatePartitions {
                    name: "a".into(),
                    from: 2,
                    added: vec![PartitionImage::new(vec![3, 1])],
                }],
                vec![MetadataRecord::AllocateProducerIds { broker: 1, block_end: 1000 }],
                vec![MetadataRecord::AllocateProducerIds { broker: 2, block_end: 1000 }],
            ]),
        );
        assert!(results[0].is_err() && results[1].is_ok() && results[2].is_ok() && results[3].is_err(), "{results:?}");
        assert_eq!(image.topics["a"].partition_count(), 3);
        assert_eq!(image.producer_id_block_end, 1000);

        // Re-registering (a restart) takes a new epoch and fences again.
        image.apply(4, &cmd(vec![vec![register(2)]]));
        assert_eq!((image.brokers[&2].epoch, image.brokers[&2].fenced), (4, true));
    }

    #[test]
    fn image_round_trips_through_json_as_snapshots_do() {
        let mut image = three_brokers();
        image.apply(
            2,
            &cmd(vec![
                vec![create("a", vec![vec![1, 2, 3]])],
                vec![MetadataRecord::SetBrokerConfigs {
                    broker: Some(1),
                    configs: [("log.retention.ms".to_string(), "5".to_string())].into(),
                }],
            ]),
        );
        let bytes = serde_json::to_vec(&image).unwrap();
        let back: MetadataImage = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(back, image);
        let c = cmd(vec![vec![change(PartitionChange { leader: Some(2), ..Default::default() })]]);
        let back: MetadataCommand = serde_json::from_slice(&serde_json::to_vec(&c).unwrap()).unwrap();
        assert_eq!(back, c);
    }
}
