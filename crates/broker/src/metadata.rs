//! The metadata image: the one place that changes cluster state.
//!
//! Cluster id, brokers, topics (name, topic id, partition count, per-topic config overrides),
//! dynamic broker configs and the producer-id block are changed only by applying a
//! [`MetadataRecord`] to the [`MetadataStore`]. Today the store persists the whole image as one
//! JSON document (`DATA_DIR/oxbow-metadata.json`, written to a temp file, fsynced, then renamed),
//! because a single node has nobody to replicate to. Issue 5 replaces the store with a
//! Raft-replicated metadata log (KRaft's design) that applies the same records in the same order,
//! so callers do not change: they build a record, `apply` it, and react to the new image. Several
//! records that belong together (the topics of one CreateTopics request) go through `apply_all`,
//! which writes the image once for all of them.
//!
//! It deliberately does not open logs or touch partitions: the broker reconciles partitions
//! with the image after each applied record.
//!
//! File format (version 1), a JSON object:
//! `{"version":1,"cluster_id":"<22-char base64url uuid>","node_id":1,"topics":{"name":{"id":"<uuid>",
//! "partitions":N,"configs":{"k":"v"}}},"broker_configs":{..},"cluster_configs":{..},
//! "producer_id_block_end":N,"applied":N}`. `DATA_DIR/meta.properties` is also written in Kafka's
//! format (cluster.id, node.id) for tools that look for it.

use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use uuid::Uuid;

pub(crate) const METADATA_FILE: &str = "oxbow-metadata.json";
const FORMAT_VERSION: u32 = 1;
/// Producer ids are handed out in blocks; only the end of the current block is persisted, so a
/// restart skips the unused rest of a block (as Kafka's ProducerIdManager does) and never reuses one.
pub(crate) const PRODUCER_ID_BLOCK_SIZE: i64 = 1000;

#[derive(Clone, Debug, PartialEq)]
pub struct TopicImage {
    pub name: String,
    pub id: Uuid,
    pub partitions: i32,
    pub configs: BTreeMap<String, String>,
}

#[derive(Clone, Debug)]
pub struct MetadataImage {
    pub cluster_id: String,
    pub node_id: i32,
    pub topics: BTreeMap<String, TopicImage>,
    /// Dynamic configs for this broker (`kafka-configs --entity-type brokers --entity-name 1`).
    pub broker_configs: BTreeMap<String, String>,
    /// Dynamic cluster-wide broker defaults (`--entity-default`).
    pub cluster_configs: BTreeMap<String, String>,
    /// Producer ids below this are allocated (or skipped).
    pub producer_id_block_end: i64,
    /// How many records have been applied; a Raft log's offset takes this role later.
    pub applied: u64,
}

/// A change to the cluster state. Every mutation is one of these.
#[derive(Clone, Debug)]
pub enum MetadataRecord {
    CreateTopic { name: String, id: Uuid, partitions: i32, configs: BTreeMap<String, String> },
    DeleteTopic { name: String },
    CreatePartitions { name: String, total: i32 },
    /// Replaces a topic's overrides with `configs`.
    SetTopicConfigs { name: String, configs: BTreeMap<String, String> },
    /// Replaces dynamic broker configs: this broker's (`cluster_default` false) or the cluster default.
    SetBrokerConfigs { cluster_default: bool, configs: BTreeMap<String, String> },
    /// Allocates producer ids up to (excluding) `block_end`.
    AllocateProducerIds { block_end: i64 },
}

#[derive(Serialize, Deserialize)]
struct TopicFile {
    id: String,
    partitions: i32,
    #[serde(default)]
    configs: BTreeMap<String, String>,
}

#[derive(Serialize, Deserialize)]
struct ImageFile {
    version: u32,
    cluster_id: String,
    node_id: i32,
    topics: BTreeMap<String, TopicFile>,
    #[serde(default)]
    broker_configs: BTreeMap<String, String>,
    #[serde(default)]
    cluster_configs: BTreeMap<String, String>,
    producer_id_block_end: i64,
    applied: u64,
}

/// The single-node store: the image plus the file it lives in.
pub struct MetadataStore {
    path: PathBuf,
    image: MetadataImage,
    /// Times the image was written since open (tests check that batches write once).
    persisted: u64,
}

impl MetadataStore {
    /// Loads the image from `data_dir`, or creates a new cluster there.
    pub fn open(data_dir: &Path, node_id: i32) -> Result<MetadataStore> {
        let path = data_dir.join(METADATA_FILE);
        let md_err = |reason: String| Error::Metadata { path: path.clone(), reason };
        let image = match std::fs::read(&path) {
            Ok(bytes) => {
                let f: ImageFile = serde_json::from_slice(&bytes).map_err(|e| md_err(format!("cannot parse: {e}")))?;
                if f.version != FORMAT_VERSION {
                    return Err(md_err(format!("unsupported format version {}", f.version)));
                }
                let mut topics = BTreeMap::new();
                for (name, t) in f.topics {
                    let id = Uuid::parse_str(&t.id).map_err(|e| md_err(format!("topic {name}: bad id {}: {e}", t.id)))?;
                    topics.insert(name.clone(), TopicImage { name, id, partitions: t.partitions, configs: t.configs });
                }
                if f.node_id != node_id {
                    tracing::warn!(stored = f.node_id, configured = node_id, "node id differs from the one stored in the data dir; using the configured one");
                }
                MetadataImage {
                    cluster_id: f.cluster_id,
                    node_id,
                    topics,
                    broker_configs: f.broker_configs,
                    cluster_configs: f.cluster_configs,
                    producer_id_block_end: f.producer_id_block_end,
                    applied: f.applied,
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => MetadataImage {
                cluster_id: base64url_uuid(Uuid::new_v4()),
                node_id,
                topics: BTreeMap::new(),
                broker_configs: BTreeMap::new(),
                cluster_configs: BTreeMap::new(),
                producer_id_block_end: 0,
                applied: 0,
            },
            Err(e) => return Err(Error::DataDir { path: path.clone(), source: e }),
        };
        let store = MetadataStore { path, image, persisted: 0 };
        store.persist(&store.image)?;
        write_meta_properties(data_dir, &store.image)?;
        Ok(store)
    }

    pub fn image(&self) -> &MetadataImage {
        &self.image
    }

    /// Times the image file was written since this store was opened.
    #[cfg(test)]
    pub(crate) fn persisted(&self) -> u64 {
        self.persisted
    }

    /// Applies one record: checks it against the current image, persists the new image, and only
    /// then makes it current. A failed write leaves the old image in force.
    pub fn apply(&mut self, record: MetadataRecord) -> Result<()> {
        self.apply_all(vec![record])
    }

    /// Applies records in order as one change: each is checked against the image the previous
    /// ones produced, the result is persisted once (one atomic write, so a crash keeps all of
    /// them or none), and only then made current. Any failure leaves the old image in force.
    pub fn apply_all(&mut self, records: Vec<MetadataRecord>) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let mut next = self.image.clone();
        for record in records {
            self.apply_to(&mut next, record)?;
        }
        self.persist(&next)?;
        self.persisted += 1;
        self.image = next;
        Ok(())
    }

    fn apply_to(&self, next: &mut MetadataImage, record: MetadataRecord) -> Result<()> {
        let bad = |m: String| Err(Error::Metadata { path: self.path.clone(), reason: m });
        match record {
            MetadataRecord::CreateTopic { name, id, partitions, configs } => {
                if next.topics.contains_key(&name) {
                    return bad(format!("topic {name} already exists"));
                }
                assert!(partitions >= 1, "a topic has at least one partition");
                next.topics.insert(name.clone(), TopicImage { name, id, partitions, configs });
            }
            MetadataRecord::DeleteTopic { name } => {
                if next.topics.remove(&name).is_none() {
                    return bad(format!("topic {name} does not exist"));
                }
            }
            MetadataRecord::CreatePartitions { name, total } => match next.topics.get_mut(&name) {
                Some(t) if total > t.partitions => t.partitions = total,
                Some(t) => return bad(format!("topic {name} has {} partitions, cannot go to {total}", t.partitions)),
                None => return bad(format!("topic {name} does not exist")),
            },
            MetadataRecord::SetTopicConfigs { name, configs } => match next.topics.get_mut(&name) {
                Some(t) => t.configs = configs,
                None => return bad(format!("topic {name} does not exist")),
            },
            MetadataRecord::SetBrokerConfigs { cluster_default, configs } => {
                if cluster_default {
                    next.cluster_configs = configs;
                } else {
                    next.broker_configs = configs;
                }
            }
            MetadataRecord::AllocateProducerIds { block_end } => {
                assert!(block_end > next.producer_id_block_end, "producer id blocks only move forward");
                next.producer_id_block_end = block_end;
            }
        }
        next.applied += 1;
        Ok(())
    }

    fn persist(&self, image: &MetadataImage) -> Result<()> {
        let file = ImageFile {
            version: FORMAT_VERSION,
            cluster_id: image.cluster_id.clone(),
            node_id: image.node_id,
            topics: image
                .topics
                .iter()
                .map(|(n, t)| (n.clone(), TopicFile { id: t.id.to_string(), partitions: t.partitions, configs: t.configs.clone() }))
                .collect(),
            broker_configs: image.broker_configs.clone(),
            cluster_configs: image.cluster_configs.clone(),
            producer_id_block_end: image.producer_id_block_end,
            applied: image.applied,
        };
        let bytes = serde_json::to_vec_pretty(&file).map_err(|e| Error::Metadata { path: self.path.clone(), reason: e.to_string() })?;
        write_atomically(&self.path, &bytes)
    }
}

/// Writes `bytes` to `path` via a temp file in the same directory, fsync, rename, fsync dir.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let io = |e: std::io::Error| Error::DataDir { path: path.to_path_buf(), source: e };
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

fn write_meta_properties(data_dir: &Path, image: &MetadataImage) -> Result<()> {
    let text = format!(
        "#\n#Written by Oxbow\nversion=1\nnode.id={}\ncluster.id={}\n",
        image.node_id, image.cluster_id
    );
    write_atomically(&data_dir.join("meta.properties"), text.as_bytes())
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
pub(crate) fn write_partition_metadata(dir: &Path, topic_id: Uuid) -> Result<()> {
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

    #[test]
    fn image_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let id = Uuid::new_v4();
        let cluster;
        {
            let mut s = MetadataStore::open(dir.path(), 1).unwrap();
            cluster = s.image().cluster_id.clone();
            s.apply(MetadataRecord::CreateTopic { name: "t".into(), id, partitions: 2, configs: [("retention.ms".to_string(), "5".to_string())].into() }).unwrap();
            s.apply(MetadataRecord::CreatePartitions { name: "t".into(), total: 3 }).unwrap();
            assert!(s.apply(MetadataRecord::CreatePartitions { name: "t".into(), total: 3 }).is_err());
            s.apply(MetadataRecord::AllocateProducerIds { block_end: 1000 }).unwrap();
        }
        let s = MetadataStore::open(dir.path(), 1).unwrap();
        assert_eq!(s.image().cluster_id, cluster);
        let t = &s.image().topics["t"];
        assert_eq!((t.id, t.partitions), (id, 3));
        assert_eq!(t.configs["retention.ms"], "5");
        assert_eq!(s.image().producer_id_block_end, 1000);
    }
}
