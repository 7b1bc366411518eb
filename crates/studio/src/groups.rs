//! Consumer groups: the list with total lag, one group in detail (members, assignments, committed
//! offsets, lag per partition), offset resets with a preview, deleting groups and committed
//! offsets, and a background sampler that keeps each group's lag history and a timeline of what
//! changed between samples (state, members joining and leaving, assignments).
//!
//! Everything goes over the Kafka protocol through `oxbow-client` (ListGroups, DescribeGroups,
//! OffsetFetch, ListOffsets, OffsetCommit, DeleteGroups, OffsetDelete), so it works the same against
//! an external cluster; with the embedded cluster, high watermarks come from the inside view.
//!
//! What it deliberately does not do:
//! - No generation ids or rebalance causes in the timeline: DescribeGroups (as librdkafka reports
//!   it) carries neither, so the timeline is what two samples differ in, and a rebalance shorter
//!   than the sample interval shows only as changed members.
//! - No lag in time (seconds behind): that needs record timestamps at the committed offsets.
//! - Bounded, not exhaustive: past [`GROUPS_DETAILED_MAX`] groups the list shows ids and states
//!   only, and the sampler follows the first [`GROUPS_TRACKED_MAX`] groups by id.
//! - Resets and deletes follow Kafka's rules instead of forcing them: an active group is refused
//!   (Kafka commits an admin's offsets only for groups without members).

use crate::commands::{blocking, find_topic, Connection, Studio, OFFSETS_TIMEOUT_MS};
use crate::error::{kafka_name, Error, Result};
use crate::model::*;
use oxbow_client::{CommittedOffset, GroupDescription, GroupListing, GroupState, OffsetSpec};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Longest group id accepted (Kafka sets none; a bound keeps requests and logs sane).
pub const GROUP_ID_CHARS_MAX: usize = 255;
/// One lag sample of every followed group per this many ms.
pub const LAG_SAMPLE_INTERVAL_MS: u64 = 2_000;
/// How far back lag samples and timeline events are kept.
pub const LAG_WINDOW_MS: u64 = 600_000;
/// Samples kept per group (the window at the sample interval).
pub const LAG_SAMPLES_MAX: usize = (LAG_WINDOW_MS / LAG_SAMPLE_INTERVAL_MS) as usize;
/// Partitions whose own lag is kept per sample (the total covers all of them).
pub const LAG_PARTITIONS_PER_SAMPLE_MAX: usize = 100;
/// Groups the sampler follows (lag history and timeline), the first by id.
pub const GROUPS_TRACKED_MAX: usize = 200;
/// Timeline events kept per group.
pub const GROUP_EVENTS_MAX: usize = 200;
/// Groups described and whose committed offsets are read for one list (the first by id).
pub const GROUPS_DETAILED_MAX: usize = 500;
/// Groups per DescribeGroups request.
pub const DESCRIBE_GROUPS_BATCH: usize = 100;
/// Wall time one list may spend reading committed offsets, group by group; the rest show no lag.
pub const SNAPSHOT_TIME_MS_MAX: u64 = 15_000;
/// How long a read list is reused (the list page, the partition strips and the sampler share it).
pub const GROUPS_CACHE_MS: u64 = 1_500;
/// Partitions one reset may change.
pub const RESET_PARTITIONS_MAX: usize = 10_000;

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// A group id as the API accepts it: 1–255 characters, no control characters.
pub fn validate_group_id(field: &str, id: &str) -> Result<()> {
    if id.is_empty() {
        return Err(Error::bad_input(field, "a group id must not be empty"));
    }
    let chars = id.chars().count();
    if chars > GROUP_ID_CHARS_MAX {
        return Err(Error::bad_input(
            field,
            format!("a group id is at most {GROUP_ID_CHARS_MAX} characters, got {chars}"),
        ));
    }
    if let Some(bad) = id.chars().find(|c| c.is_control()) {
        return Err(Error::bad_input(field, format!("a group id may not contain control characters, found {bad:?}")));
    }
    Ok(())
}

/// High watermark − committed offset, never below 0 (a committed offset past the high watermark,
/// after a truncation, has nothing left to read); `None` when either is unknown.
pub fn lag(committed: Option<i64>, high_watermark: Option<i64>) -> Option<i64> {
    Some((high_watermark? - committed?).max(0))
}

/// The sum of the known lags; `None` when none is known.
pub fn total_lag(lags: impl IntoIterator<Item = Option<i64>>) -> Option<i64> {
    lags.into_iter().flatten().fold(None, |sum, lag| Some(sum.unwrap_or(0) + lag))
}

/// Whether Kafka lets an admin reset the group's offsets or delete it: only while it has no
/// members and no rebalance (`Empty`, or `Dead` for a group that does not exist yet).
pub fn is_inactive(state: GroupState) -> bool {
    matches!(state, GroupState::Empty | GroupState::Dead)
}

/// A group's partitions: every committed one and every assigned one, with the lag and the owner.
pub fn partition_rows(
    description: Option<&GroupDescription>,
    offsets: &[CommittedOffset],
    high_watermarks: &HashMap<(String, i32), i64>,
) -> Vec<GroupPartitionView> {
    let mut owners: BTreeMap<(String, i32), (&str, &str)> = BTreeMap::new();
    for member in description.map_or(&[][..], |d| &d.members[..]) {
        for tp in &member.assignment {
            owners.insert(tp.clone(), (&member.member_id, &member.client_id));
        }
    }
    let mut rows: BTreeMap<(String, i32), GroupPartitionView> = BTreeMap::new();
    let keys = offsets.iter().map(|c| (c.topic.clone(), c.partition)).chain(owners.keys().cloned());
    for key in keys {
        let committed = offsets.iter().find(|c| c.topic == key.0 && c.partition == key.1);
        let offset = committed.and_then(|c| c.offset);
        let high_watermark = high_watermarks.get(&key).copied();
        let owner = owners.get(&key);
        rows.entry(key.clone()).or_insert_with(|| GroupPartitionView {
            topic: key.0.clone(),
            partition: key.1,
            committed_offset: offset,
            metadata: committed.and_then(|c| c.metadata.clone()),
            high_watermark,
            lag: lag(offset, high_watermark),
            owner_member_id: owner.map(|o| o.0.to_string()),
            owner_client_id: owner.map(|o| o.1.to_string()),
            error: committed.and_then(|c| c.error.as_deref()).map(kafka_name),
        });
    }
    rows.into_values().collect()
}

/// What a reset plan needs to know about one partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResetInput {
    pub topic: String,
    pub partition: i32,
    pub current: Option<i64>,
    pub log_start: Option<i64>,
    pub high_watermark: Option<i64>,
    /// For the `timestamp` strategy: ListOffsets' answer (`None`: no record at or after it).
    pub at_timestamp: Option<i64>,
}

/// Checks a reset request's fields against its strategy.
pub fn validate_reset(request: &ResetOffsetsRequest) -> Result<()> {
    use ResetStrategy::*;
    let needs = |field: &str, present: bool, strategy: &str| -> Result<()> {
        if present {
            Ok(())
        } else {
            Err(Error::bad_input(field, format!("required with strategy {strategy}")))
        }
    };
    let unused = |field: &str, present: bool, strategy: &str| -> Result<()> {
        if present {
            Err(Error::bad_input(field, format!("not used with strategy {strategy}; leave it out")))
        } else {
            Ok(())
        }
    };
    let name = match request.strategy {
        Earliest => "earliest",
        Latest => "latest",
        Timestamp => "timestamp",
        Offset => "offset",
        Shift => "shift",
    };
    needs("timestamp_ms", request.timestamp_ms.is_some() || request.strategy != Timestamp, name)?;
    needs("offset", request.offset.is_some() || request.strategy != Offset, name)?;
    needs("shift_by", request.shift_by.is_some() || request.strategy != Shift, name)?;
    unused("timestamp_ms", request.timestamp_ms.is_some() && request.strategy != Timestamp, name)?;
    unused("offset", request.offset.is_some() && request.strategy != Offset, name)?;
    unused("shift_by", request.shift_by.is_some() && request.strategy != Shift, name)?;
    if let Some(ms) = request.timestamp_ms.filter(|ms| *ms < 0) {
        return Err(Error::bad_input("timestamp_ms", format!("{ms}: a time in ms since the epoch is at least 0")));
    }
    if let Some(offset) = request.offset.filter(|o| *o < 0) {
        return Err(Error::bad_input("offset", format!("{offset}: an offset is at least 0")));
    }
    if let Some(topics) = &request.topics {
        if topics.is_empty() {
            return Err(Error::bad_input(
                "topics",
                "give at least one topic, or leave topics out for every topic the group has committed offsets for",
            ));
        }
        let mut seen = BTreeSet::new();
        for (index, topic) in topics.iter().enumerate() {
            crate::commands::validate_topic_name(&format!("topics[{index}].topic"), &topic.topic)?;
            if !seen.insert(topic.topic.as_str()) {
                return Err(Error::bad_input(
                    format!("topics[{index}].topic"),
                    format!("topic {:?} is listed twice", topic.topic),
                ));
            }
            if let Some(partitions) = &topic.partitions {
                let field = format!("topics[{index}].partitions");
                if partitions.is_empty() {
                    return Err(Error::bad_input(
                        field,
                        "give at least one partition, or leave partitions out for all of them",
                    ));
                }
                let mut seen = BTreeSet::new();
                for partition in partitions {
                    if *partition < 0 {
                        return Err(Error::bad_input(field, format!("{partition} is not a partition id")));
                    }
                    if !seen.insert(*partition) {
                        return Err(Error::bad_input(field, format!("partition {partition} is listed twice")));
                    }
                }
            }
        }
    }
    Ok(())
}

/// Each partition's new offset under the request's strategy, clamped into [log start, high
/// watermark] as `kafka-consumer-groups.sh --reset-offsets` does, with a note where it was
/// clamped. A partition whose log bounds are unknown, or (for `shift`) without a committed
/// offset, refuses the whole plan.
pub fn plan_reset(request: &ResetOffsetsRequest, inputs: &[ResetInput]) -> Result<Vec<ResetRow>> {
    let mut rows = Vec::with_capacity(inputs.len());
    for input in inputs {
        let name = format!("{}-{}", input.topic, input.partition);
        let (Some(start), Some(end)) = (input.log_start, input.high_watermark) else {
            return Err(Error::Unavailable(format!(
                "the log start offset or high watermark of {name} could not be read; nothing was reset"
            )));
        };
        let mut note = None;
        let wanted = match request.strategy {
            ResetStrategy::Earliest => start,
            ResetStrategy::Latest => end,
            ResetStrategy::Timestamp => match input.at_timestamp {
                Some(offset) => offset,
                None => {
                    note = Some("no record at or after the time: the high watermark".to_string());
                    end
                }
            },
            ResetStrategy::Offset => request.offset.unwrap_or(start),
            ResetStrategy::Shift => {
                let Some(current) = input.current else {
                    return Err(Error::bad_input(
                        "shift_by",
                        format!("{name} has no committed offset to shift from; use another strategy for it"),
                    ));
                };
                current.saturating_add(request.shift_by.unwrap_or(0))
            }
        };
        let new_offset = if wanted < start {
            note = Some(format!("{wanted} is before the log start: clamped up to {start}"));
            start
        } else if wanted > end {
            note = Some(format!("{wanted} is past the high watermark: clamped down to {end}"));
            end
        } else {
            wanted
        };
        rows.push(ResetRow {
            topic: input.topic.clone(),
            partition: input.partition,
            current_offset: input.current,
            new_offset,
            log_start_offset: Some(start),
            high_watermark: Some(end),
            lag_before: lag(input.current, Some(end)),
            lag_after: lag(Some(new_offset), Some(end)),
            note,
        });
    }
    Ok(rows)
}

/// What the timeline compares between two samples of one group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observed {
    pub state: String,
    /// By member id.
    pub members: BTreeMap<String, ObservedMember>,
}

/// A member as the timeline compares it: client id, host, assigned partitions.
pub type ObservedMember = (String, String, Vec<(String, i32)>);

impl Observed {
    pub fn of(description: &GroupDescription) -> Observed {
        Observed {
            state: description.state.as_kafka_str().to_string(),
            members: description
                .members
                .iter()
                .map(|m| (m.member_id.clone(), (m.client_id.clone(), m.host.clone(), m.assignment.clone())))
                .collect(),
        }
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The timeline events between two observations of a group (`None`: not listed).
pub fn diff(prev: Option<&Observed>, now: Option<&Observed>, at_ms: i64) -> Vec<GroupEventView> {
    let event = |kind: &str, message: String, state: Option<&str>, member: Option<&str>| GroupEventView {
        at_ms,
        kind: kind.to_string(),
        message,
        state: state.map(str::to_string),
        member_id: member.map(str::to_string),
    };
    match (prev, now) {
        (None, None) => Vec::new(),
        (None, Some(now)) => vec![event(
            "first_seen",
            format!("First seen: {}, {}", now.state, plural(now.members.len(), "member", "members")),
            Some(&now.state),
            None,
        )],
        (Some(_), None) => vec![event(
            "gone",
            "No longer listed: deleted, or expired once its offsets' retention passed".into(),
            None,
            None,
        )],
        (Some(prev), Some(now)) => {
            let mut out = Vec::new();
            for (id, (client, host, assignment)) in &now.members {
                if !prev.members.contains_key(id) {
                    out.push(event(
                        "member_joined",
                        format!(
                            "{client} joined from {host} ({})",
                            plural(assignment.len(), "partition", "partitions")
                        ),
                        Some(&now.state),
                        Some(id),
                    ));
                }
            }
            for (id, (client, host, _)) in &prev.members {
                if !now.members.contains_key(id) {
                    out.push(event(
                        "member_left",
                        format!("{client} left (was on {host})"),
                        Some(&now.state),
                        Some(id),
                    ));
                }
            }
            for (id, (client, _, assignment)) in &now.members {
                if let Some((_, _, before)) = prev.members.get(id) {
                    if before != assignment {
                        out.push(event(
                            "assignment",
                            format!(
                                "{client} now owns {} (was {})",
                                plural(assignment.len(), "partition", "partitions"),
                                before.len()
                            ),
                            Some(&now.state),
                            Some(id),
                        ));
                    }
                }
            }
            if prev.state != now.state {
                out.push(event("state", format!("State {} → {}", prev.state, now.state), Some(&now.state), None));
            }
            out
        }
    }
}

/// One read of every group: listings, descriptions, committed offsets and high watermarks.
pub(crate) struct Snapshot {
    generation: u64,
    at: Instant,
    at_ms: i64,
    groups: Vec<Observation>,
    high_watermarks: HashMap<(String, i32), i64>,
    errors: Vec<String>,
}

struct Observation {
    listing: GroupListing,
    description: Option<GroupDescription>,
    offsets: Option<Vec<CommittedOffset>>,
    error: Option<String>,
}

impl Observation {
    fn rows(&self, high_watermarks: &HashMap<(String, i32), i64>) -> Vec<GroupPartitionView> {
        partition_rows(self.description.as_ref(), self.offsets.as_deref().unwrap_or(&[]), high_watermarks)
    }

    fn summary(&self, high_watermarks: &HashMap<(String, i32), i64>) -> GroupSummary {
        let rows = self.rows(high_watermarks);
        let topics: BTreeSet<&str> = rows.iter().map(|r| r.topic.as_str()).collect();
        let detailed = self.description.is_some() && self.offsets.is_some();
        let state = self.description.as_ref().map_or(self.listing.state, |d| d.state);
        GroupSummary {
            group_id: self.listing.group_id.clone(),
            state: state.as_kafka_str().to_string(),
            group_type: self.listing.group_type.as_kafka_str().to_string(),
            protocol_type: protocol_type(self.listing.is_simple).to_string(),
            protocol: self.description.as_ref().map(|d| d.protocol.clone()).filter(|p| !p.is_empty()),
            members: self.description.as_ref().map(|d| d.members.len() as u32),
            topics: topics.into_iter().map(str::to_string).collect(),
            partitions: rows.len() as u32,
            total_lag: if self.offsets.is_some() { total_lag(rows.iter().map(|r| r.lag)) } else { None },
            coordinator_id: self.description.as_ref().and_then(|d| d.coordinator.as_ref().map(|c| c.id)),
            detailed,
            error: self.error.clone(),
        }
    }
}

fn protocol_type(is_simple: bool) -> &'static str {
    if is_simple {
        ""
    } else {
        "consumer"
    }
}

/// The group's lag at one sample.
struct LagSample {
    at_ms: i64,
    total: Option<i64>,
    partitions: Vec<((String, i32), Option<i64>)>,
    truncated: bool,
}

#[derive(Default)]
struct Track {
    samples: VecDeque<LagSample>,
    events: VecDeque<GroupEventView>,
    last: Option<Observed>,
    last_seen_ms: i64,
}

impl Track {
    fn push_event(&mut self, event: GroupEventView) {
        if self.events.len() == GROUP_EVENTS_MAX {
            self.events.pop_front();
        }
        self.events.push_back(event);
    }
}

#[derive(Default)]
struct History {
    generation: u64,
    last_recorded_ms: i64,
    tracks: BTreeMap<String, Track>,
}

/// The last read of every group (shared by the list, the strips and the sampler) and each
/// followed group's lag history and timeline. Both are for one connection generation.
#[derive(Default)]
pub struct GroupTracker {
    /// Held while a snapshot is read, so concurrent callers wait for one read instead of each
    /// making their own.
    cache: tokio::sync::Mutex<Option<Arc<Snapshot>>>,
    history: Mutex<History>,
}

impl GroupTracker {
    /// Makes the next list read afresh (after a reset or delete).
    async fn invalidate(&self) {
        *self.cache.lock().await = None;
    }

    fn record(&self, snapshot: &Snapshot) {
        let mut history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        if history.generation != snapshot.generation {
            *history = History { generation: snapshot.generation, ..History::default() };
        }
        if snapshot.at_ms <= history.last_recorded_ms {
            return;
        }
        history.last_recorded_ms = snapshot.at_ms;
        let at_ms = snapshot.at_ms;
        let mut listed = BTreeSet::new();
        for observation in snapshot.groups.iter().take(GROUPS_TRACKED_MAX) {
            let id = &observation.listing.group_id;
            listed.insert(id.clone());
            if !history.tracks.contains_key(id) && history.tracks.len() >= GROUPS_TRACKED_MAX {
                continue;
            }
            let track = history.tracks.entry(id.clone()).or_default();
            track.last_seen_ms = at_ms;
            if let Some(description) = &observation.description {
                let now = Observed::of(description);
                for event in diff(track.last.as_ref(), Some(&now), at_ms) {
                    track.push_event(event);
                }
                track.last = Some(now);
            }
            let rows = observation.rows(&snapshot.high_watermarks);
            let total = if observation.offsets.is_some() { total_lag(rows.iter().map(|r| r.lag)) } else { None };
            if track.samples.len() == LAG_SAMPLES_MAX {
                track.samples.pop_front();
            }
            track.samples.push_back(LagSample {
                at_ms,
                total,
                truncated: rows.len() > LAG_PARTITIONS_PER_SAMPLE_MAX,
                partitions: rows
                    .into_iter()
                    .take(LAG_PARTITIONS_PER_SAMPLE_MAX)
                    .map(|r| ((r.topic, r.partition), r.lag))
                    .collect(),
            });
        }
        // A broker that did not answer hides its groups; they are not gone.
        let complete = snapshot.errors.is_empty();
        let horizon = at_ms - LAG_WINDOW_MS as i64;
        history.tracks.retain(|id, track| {
            if complete && !listed.contains(id) && track.last.is_some() {
                for event in diff(track.last.as_ref(), None, at_ms) {
                    track.push_event(event);
                }
                track.last = None;
            }
            while track.samples.front().is_some_and(|s| s.at_ms < horizon) {
                track.samples.pop_front();
            }
            while track.events.front().is_some_and(|e| e.at_ms < horizon) {
                track.events.pop_front();
            }
            track.last_seen_ms >= horizon || !track.events.is_empty()
        });
    }

    fn series(&self, group_id: &str, generation: u64) -> Option<GroupLagSeries> {
        let history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        if history.generation != generation {
            return None;
        }
        let track = history.tracks.get(group_id)?;
        let mut keys: BTreeSet<&(String, i32)> = BTreeSet::new();
        for sample in &track.samples {
            keys.extend(sample.partitions.iter().map(|(k, _)| k));
        }
        let partitions = keys
            .into_iter()
            .take(LAG_PARTITIONS_PER_SAMPLE_MAX)
            .map(|key| PartitionLagSeries {
                topic: key.0.clone(),
                partition: key.1,
                lag: track
                    .samples
                    .iter()
                    .map(|s| s.partitions.iter().find(|(k, _)| k == key).and_then(|(_, l)| *l))
                    .collect(),
            })
            .collect();
        Some(GroupLagSeries {
            group_id: group_id.to_string(),
            interval_ms: LAG_SAMPLE_INTERVAL_MS,
            window_ms: LAG_WINDOW_MS,
            at_ms: track.samples.iter().map(|s| s.at_ms).collect(),
            total_lag: track.samples.iter().map(|s| s.total).collect(),
            partitions,
            partitions_truncated: track.samples.iter().any(|s| s.truncated),
            sampled: true,
        })
    }

    fn events(&self, group_id: &str, generation: u64) -> Option<Vec<GroupEventView>> {
        let history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        if history.generation != generation {
            return None;
        }
        Some(history.tracks.get(group_id)?.events.iter().cloned().collect())
    }
}

/// High watermarks of `partitions`: from the inside view when there is one, else one batched
/// ListOffsets (LATEST). Partitions that did not answer are missing. Blocks.
fn high_watermarks(conn: &Connection, partitions: &[(String, i32)]) -> HashMap<(String, i32), i64> {
    if partitions.is_empty() {
        return HashMap::new();
    }
    let wanted: BTreeSet<&(String, i32)> = partitions.iter().collect();
    if let Some(inside) = &conn.inside {
        let topics: BTreeSet<&str> = partitions.iter().map(|(t, _)| t.as_str()).collect();
        // A few topics are cheaper one by one; many at once.
        let snapshots = if topics.len() <= 4 {
            topics.iter().flat_map(|t| inside.topic_partitions(t)).collect()
        } else {
            inside.partitions()
        };
        return snapshots
            .into_iter()
            .map(|s| ((s.topic, s.partition), s.high_watermark))
            .filter(|(key, _)| wanted.contains(key))
            .collect();
    }
    let query: Vec<(String, i32)> = wanted.into_iter().cloned().collect();
    match conn.offsets.list_offsets(&query, OffsetSpec::Latest, Duration::from_millis(OFFSETS_TIMEOUT_MS)) {
        Ok(answers) => query.into_iter().zip(answers).filter_map(|(key, answer)| Some((key, answer.ok()??))).collect(),
        Err(error) => {
            tracing::debug!(%error, "ListOffsets for group lag failed; lag unknown");
            HashMap::new()
        }
    }
}

/// A client error of a group operation; a cluster without the API is "not supported" (501).
fn group_error(error: oxbow_client::Error, context: &str) -> Error {
    match Error::from_client(error, context) {
        Error::Kafka { kafka_error, message }
            if kafka_error == "UNSUPPORTED_VERSION" || kafka_error == "UNSUPPORTED_FEATURE" =>
        {
            Error::NotSupported(format!("{message}: this cluster does not support it"))
        }
        other => other,
    }
}

/// Reads every group (bounded, see the module doc). Blocks.
fn read_snapshot(conn: &Connection) -> Result<Snapshot> {
    let started = Instant::now();
    let deadline = started + Duration::from_millis(SNAPSHOT_TIME_MS_MAX);
    let listed = conn.admin.list_groups().map_err(|e| group_error(e, "listing consumer groups"))?;
    let mut errors: Vec<String> =
        listed.errors.iter().map(|e| format!("a broker did not list its groups: {e}")).collect();
    if listed.groups.len() > GROUPS_DETAILED_MAX {
        errors.push(format!(
            "{} groups: only the first {GROUPS_DETAILED_MAX} by id are described and have their lag read",
            listed.groups.len()
        ));
    }
    let ids: Vec<String> = listed.groups.iter().take(GROUPS_DETAILED_MAX).map(|g| g.group_id.clone()).collect();
    let mut descriptions: HashMap<String, std::result::Result<GroupDescription, String>> = HashMap::new();
    for chunk in ids.chunks(DESCRIBE_GROUPS_BATCH) {
        if Instant::now() > deadline {
            break;
        }
        match conn.admin.describe_groups(chunk) {
            Ok(answers) => {
                for (id, answer) in answers {
                    descriptions.insert(id, answer.map_err(|e| e.to_string()));
                }
            }
            Err(error) => errors.push(format!("describing {} groups failed: {error}", chunk.len())),
        }
    }
    let mut offsets: HashMap<String, std::result::Result<Vec<CommittedOffset>, String>> = HashMap::new();
    for id in &ids {
        if Instant::now() > deadline {
            errors.push(format!(
                "committed offsets are read for {SNAPSHOT_TIME_MS_MAX} ms at most; the remaining groups show no lag"
            ));
            break;
        }
        offsets.insert(id.clone(), conn.admin.list_group_offsets(id, None).map_err(|e| e.to_string()));
    }
    let mut groups = Vec::with_capacity(listed.groups.len());
    let mut partitions: BTreeSet<(String, i32)> = BTreeSet::new();
    for listing in listed.groups {
        let description = descriptions.remove(&listing.group_id);
        let committed = offsets.remove(&listing.group_id);
        let error = match (&description, &committed) {
            (Some(Err(e)), _) | (_, Some(Err(e))) => Some(e.clone()),
            _ => None,
        };
        let description = description.and_then(|d| d.ok());
        let committed = committed.and_then(|c| c.ok());
        for c in committed.iter().flatten() {
            partitions.insert((c.topic.clone(), c.partition));
        }
        for member in description.iter().flat_map(|d| &d.members) {
            partitions.extend(member.assignment.iter().cloned());
        }
        groups.push(Observation { listing, description, offsets: committed, error });
    }
    let partitions: Vec<(String, i32)> = partitions.into_iter().collect();
    Ok(Snapshot {
        generation: conn.generation,
        at: started,
        at_ms: now_ms(),
        groups,
        high_watermarks: high_watermarks(conn, &partitions),
        errors,
    })
}

/// One group's description and committed offsets; `NotFound` for a group that does not exist
/// (Dead, no members, no offsets). Blocks.
fn read_group(conn: &Connection, id: &str) -> Result<(GroupDescription, Vec<CommittedOffset>)> {
    let context = format!("describing consumer group {id:?}");
    let (_, answer) = conn
        .admin
        .describe_groups(&[id.to_string()])
        .map_err(|e| group_error(e, &context))?
        .pop()
        .ok_or_else(|| Error::Internal(format!("{context}: no answer")))?;
    let description = answer.map_err(|e| group_error(e, &context))?;
    let offsets = conn
        .admin
        .list_group_offsets(id, None)
        .map_err(|e| group_error(e, &format!("reading committed offsets of group {id:?}")))?;
    let committed: Vec<CommittedOffset> = offsets.into_iter().filter(|c| c.offset.is_some()).collect();
    if description.state == GroupState::Dead && description.members.is_empty() && committed.is_empty() {
        return Err(Error::NotFound(format!("consumer group {id:?} does not exist")));
    }
    Ok((description, committed))
}

/// The refusal of an admin change to a group with members.
fn active_refusal(id: &str, description: &GroupDescription, what: &str) -> String {
    format!(
        "consumer group {id:?} is {} with {}: {what} only while it is inactive (Empty); stop its consumers first",
        description.state.as_kafka_str(),
        plural(description.members.len(), "member", "members"),
    )
}

/// Per-partition refusals of an offset change as one error naming them.
fn refused_partitions(context: &str, outcomes: &[oxbow_client::PartitionOutcome]) -> Option<Error> {
    let refused: Vec<(String, String)> = outcomes
        .iter()
        .filter_map(|((topic, partition), outcome)| {
            outcome.as_ref().err().map(|code| (format!("{topic}-{partition}"), kafka_name(code)))
        })
        .collect();
    let (_, first) = refused.first()?;
    let names: Vec<String> = refused.iter().take(10).map(|(tp, code)| format!("{tp}: {code}")).collect();
    Some(Error::Kafka {
        kafka_error: first.clone(),
        message: format!(
            "{context}: refused for {} ({}{})",
            plural(refused.len(), "partition", "partitions"),
            names.join(", "),
            if refused.len() > 10 { ", …" } else { "" }
        ),
    })
}

impl Studio {
    /// The last read of every group if it is younger than `max_age`, else a new read (one at a
    /// time: callers arriving during a read wait for it).
    async fn group_snapshot(&self, max_age: Duration) -> Result<Arc<Snapshot>> {
        let conn = self.connection();
        let mut cache = self.group_tracker().cache.lock().await;
        if let Some(snapshot) = cache.as_ref() {
            if snapshot.generation == conn.generation && snapshot.at.elapsed() <= max_age {
                return Ok(snapshot.clone());
            }
        }
        let worker = conn.clone();
        let snapshot = Arc::new(blocking(move || read_snapshot(&worker)).await?);
        *cache = Some(snapshot.clone());
        Ok(snapshot)
    }

    /// One sampler tick: a fresh read of every group, recorded into the lag history.
    pub(crate) async fn sample_groups(&self) {
        match self.group_snapshot(Duration::from_millis(LAG_SAMPLE_INTERVAL_MS / 4)).await {
            Ok(snapshot) => self.group_tracker().record(&snapshot),
            Err(error) => tracing::debug!(%error, "group lag sample failed"),
        }
    }

    /// Every consumer group with state, members, topics and total lag (reused for
    /// [`GROUPS_CACHE_MS`]), filtered by a case-insensitive substring of the id and by state.
    pub async fn list_groups(&self, search: Option<&str>, state: Option<&str>) -> Result<GroupList> {
        const STATES: [&str; 6] = ["Stable", "PreparingRebalance", "CompletingRebalance", "Empty", "Dead", "Unknown"];
        let state =
            match state.map(str::trim).filter(|s| !s.is_empty()) {
                None => None,
                Some(wanted) => Some(STATES.iter().find(|s| s.eq_ignore_ascii_case(wanted)).ok_or_else(|| {
                    Error::bad_input("state", format!("{wanted:?} is not one of {}", STATES.join(", ")))
                })?),
            };
        let needle = search.map(str::to_lowercase).filter(|s| !s.is_empty());
        let snapshot = self.group_snapshot(Duration::from_millis(GROUPS_CACHE_MS)).await?;
        let groups = snapshot
            .groups
            .iter()
            .filter(|g| needle.as_ref().is_none_or(|n| g.listing.group_id.to_lowercase().contains(n)))
            .map(|g| g.summary(&snapshot.high_watermarks))
            .filter(|g| state.is_none_or(|s| g.state == *s))
            .collect();
        Ok(GroupList { groups, errors: snapshot.errors.clone(), read_at_ms: snapshot.at_ms })
    }

    /// One group read afresh: members with their partitions, committed offsets, lag per partition.
    pub async fn group_detail(&self, id: &str) -> Result<GroupDetail> {
        validate_group_id("id", id)?;
        let conn = self.connection();
        let group = id.to_string();
        let (description, offsets, high_watermarks) = blocking(move || {
            let (description, offsets) = read_group(&conn, &group)?;
            let mut partitions: BTreeSet<(String, i32)> =
                offsets.iter().map(|c| (c.topic.clone(), c.partition)).collect();
            for member in &description.members {
                partitions.extend(member.assignment.iter().cloned());
            }
            let partitions: Vec<(String, i32)> = partitions.into_iter().collect();
            let high_watermarks = high_watermarks(&conn, &partitions);
            Ok((description, offsets, high_watermarks))
        })
        .await?;
        let partitions = partition_rows(Some(&description), &offsets, &high_watermarks);
        Ok(GroupDetail {
            group_id: id.to_string(),
            state: description.state.as_kafka_str().to_string(),
            group_type: description.group_type.as_kafka_str().to_string(),
            protocol_type: protocol_type(description.is_simple).to_string(),
            protocol: Some(description.protocol.clone()).filter(|p| !p.is_empty()),
            coordinator: description.coordinator.as_ref().map(|c| NodeView {
                id: c.id,
                host: c.host.clone(),
                port: c.port,
            }),
            active: !is_inactive(description.state),
            members: description
                .members
                .iter()
                .map(|m| GroupMemberView {
                    member_id: m.member_id.clone(),
                    group_instance_id: m.group_instance_id.clone(),
                    client_id: m.client_id.clone(),
                    host: m.host.clone(),
                    assignment: m
                        .assignment
                        .iter()
                        .map(|(topic, partition)| TopicPartitionRef { topic: topic.clone(), partition: *partition })
                        .collect(),
                })
                .collect(),
            total_lag: total_lag(partitions.iter().map(|p| p.lag)),
            partitions,
            read_at_ms: now_ms(),
        })
    }

    /// Deletes a group and its committed offsets (DeleteGroups). A group with members is refused
    /// with Kafka's `NON_EMPTY_GROUP` (409) before anything is sent.
    pub async fn delete_group(&self, id: &str) -> Result<()> {
        validate_group_id("id", id)?;
        let conn = self.connection();
        let group = id.to_string();
        blocking(move || {
            let (description, _) = read_group(&conn, &group)?;
            if !is_inactive(description.state) {
                return Err(Error::Kafka {
                    kafka_error: "NON_EMPTY_GROUP".into(),
                    message: active_refusal(&group, &description, "a group can be deleted"),
                });
            }
            conn.admin.delete_group(&group).map_err(|e| group_error(e, &format!("deleting consumer group {group:?}")))
        })
        .await?;
        self.group_tracker().invalidate().await;
        Ok(())
    }

    /// Resets a group's committed offsets (the strategies of `kafka-consumer-groups.sh
    /// --reset-offsets`): computes each partition's current and new offset, and commits the new
    /// ones unless `dry_run`. Refused (409) while the group is active, as Kafka's tool refuses.
    pub async fn reset_group_offsets(&self, id: &str, request: ResetOffsetsRequest) -> Result<ResetResult> {
        validate_group_id("id", id)?;
        validate_reset(&request)?;
        let conn = self.connection();
        let group = id.to_string();
        let strategy = request.strategy;
        let dry_run = request.dry_run;
        let rows = blocking(move || reset_blocking(&conn, &group, &request)).await?;
        if !dry_run {
            self.group_tracker().invalidate().await;
        }
        Ok(ResetResult { group_id: id.to_string(), strategy, dry_run, applied: !dry_run, partitions: rows })
    }

    /// Deletes the group's committed offsets of one topic (OffsetDelete). Refused with Kafka's
    /// `GROUP_SUBSCRIBED_TO_TOPIC` (409) while a member is assigned the topic.
    pub async fn delete_group_offsets(&self, id: &str, topic: &str) -> Result<()> {
        validate_group_id("id", id)?;
        crate::commands::validate_topic_name("topic", topic)?;
        let conn = self.connection();
        let group = id.to_string();
        let topic = topic.to_string();
        blocking(move || {
            let (description, offsets) = read_group(&conn, &group)?;
            if !is_inactive(description.state)
                && description
                    .members
                    .iter()
                    .any(|m| m.assignment.iter().any(|(t, _)| *t == topic))
            {
                return Err(Error::Kafka {
                    kafka_error: "GROUP_SUBSCRIBED_TO_TOPIC".into(),
                    message: format!(
                        "consumer group {group:?} is {} and its members read topic {topic:?}: its offsets can be deleted only once no member reads it",
                        description.state.as_kafka_str()
                    ),
                });
            }
            let partitions: Vec<(String, i32)> = offsets
                .iter()
                .filter(|c| c.topic == topic)
                .map(|c| (c.topic.clone(), c.partition))
                .collect();
            if partitions.is_empty() {
                return Err(Error::NotFound(format!(
                    "consumer group {group:?} has no committed offsets for topic {topic:?}"
                )));
            }
            let context = format!("deleting offsets of group {group:?} for topic {topic:?}");
            let outcomes = conn
                .admin
                .delete_group_offsets(&group, &partitions)
                .map_err(|e| group_error(e, &context))?;
            match refused_partitions(&context, &outcomes) {
                Some(error) => Err(error),
                None => Ok(()),
            }
        })
        .await?;
        self.group_tracker().invalidate().await;
        Ok(())
    }

    /// The group's sampled lag over the last [`LAG_WINDOW_MS`]. A group the sampler does not
    /// follow (yet) gets an empty series with `sampled: false`; an unknown one is 404.
    pub async fn group_lag(&self, id: &str) -> Result<GroupLagSeries> {
        validate_group_id("id", id)?;
        let conn = self.connection();
        if let Some(series) = self.group_tracker().series(id, conn.generation) {
            return Ok(series);
        }
        self.require_group(id).await?;
        Ok(GroupLagSeries {
            group_id: id.to_string(),
            interval_ms: LAG_SAMPLE_INTERVAL_MS,
            window_ms: LAG_WINDOW_MS,
            at_ms: Vec::new(),
            total_lag: Vec::new(),
            partitions: Vec::new(),
            partitions_truncated: false,
            sampled: false,
        })
    }

    /// What changed in the group between samples, oldest first (bounded by [`GROUP_EVENTS_MAX`]
    /// and [`LAG_WINDOW_MS`]).
    pub async fn group_timeline(&self, id: &str) -> Result<Vec<GroupEventView>> {
        validate_group_id("id", id)?;
        let conn = self.connection();
        if let Some(events) = self.group_tracker().events(id, conn.generation) {
            return Ok(events);
        }
        self.require_group(id).await?;
        Ok(Vec::new())
    }

    async fn require_group(&self, id: &str) -> Result<()> {
        let conn = self.connection();
        let group = id.to_string();
        blocking(move || read_group(&conn, &group).map(|_| ())).await
    }

    /// Every group's committed offsets on one topic (from the shared group read), for the
    /// partition strips' markers.
    pub async fn topic_groups(&self, topic: &str) -> Result<Vec<TopicGroupOffsets>> {
        crate::commands::validate_topic_name("name", topic)?;
        let conn = self.connection();
        let worker = conn.clone();
        let metadata =
            blocking(move || worker.admin.metadata().map_err(|e| Error::from_client(e, "reading cluster metadata")))
                .await?;
        find_topic(&metadata, topic)?;
        let snapshot = self.group_snapshot(Duration::from_millis(GROUPS_CACHE_MS)).await?;
        Ok(snapshot
            .groups
            .iter()
            .filter_map(|g| {
                let offsets: Vec<PartitionCommitted> = g
                    .offsets
                    .iter()
                    .flatten()
                    .filter(|c| c.topic == topic)
                    .filter_map(|c| {
                        let offset = c.offset?;
                        let high_watermark = snapshot.high_watermarks.get(&(c.topic.clone(), c.partition)).copied();
                        Some(PartitionCommitted {
                            partition: c.partition,
                            offset,
                            lag: lag(Some(offset), high_watermark),
                        })
                    })
                    .collect();
                (!offsets.is_empty()).then(|| TopicGroupOffsets {
                    group_id: g.listing.group_id.clone(),
                    state: g.description.as_ref().map_or(g.listing.state, |d| d.state).as_kafka_str().to_string(),
                    offsets,
                })
            })
            .collect())
    }
}

/// The reset's partitions, plan and (unless a dry run) commit. Blocks.
fn reset_blocking(conn: &Connection, group: &str, request: &ResetOffsetsRequest) -> Result<Vec<ResetRow>> {
    let context = format!("resetting offsets of group {group:?}");
    let description = match read_group(conn, group) {
        Ok((description, _)) => Some(description),
        // Kafka's tool resets a group that does not exist yet (Dead): it creates it.
        Err(Error::NotFound(_)) => None,
        Err(error) => return Err(error),
    };
    if let Some(description) = description.as_ref().filter(|d| !is_inactive(d.state)) {
        return Err(Error::Conflict(active_refusal(group, description, "offsets can be reset")));
    }
    let committed: HashMap<(String, i32), i64> = conn
        .admin
        .list_group_offsets(group, None)
        .map_err(|e| group_error(e, &context))?
        .into_iter()
        .filter_map(|c| Some(((c.topic, c.partition), c.offset?)))
        .collect();
    let mut partitions: Vec<(String, i32)> = match &request.topics {
        None => {
            if committed.is_empty() {
                return Err(Error::bad_input(
                    "topics",
                    format!("group {group:?} has no committed offsets: name the topics to reset"),
                ));
            }
            committed.keys().cloned().collect()
        }
        Some(topics) => {
            let metadata = conn.admin.metadata().map_err(|e| Error::from_client(e, "reading cluster metadata"))?;
            let mut out = Vec::new();
            for (index, wanted) in topics.iter().enumerate() {
                let topic = find_topic(&metadata, &wanted.topic)?;
                let existing: BTreeSet<i32> = topic.partitions.iter().map(|p| p.id).collect();
                match &wanted.partitions {
                    None => out.extend(existing.iter().map(|p| (wanted.topic.clone(), *p))),
                    Some(chosen) => {
                        for partition in chosen {
                            if !existing.contains(partition) {
                                return Err(Error::bad_input(
                                    format!("topics[{index}].partitions"),
                                    format!(
                                        "topic {:?} has no partition {partition} (it has {})",
                                        wanted.topic,
                                        plural(existing.len(), "partition", "partitions")
                                    ),
                                ));
                            }
                            out.push((wanted.topic.clone(), *partition));
                        }
                    }
                }
            }
            out
        }
    };
    partitions.sort();
    if partitions.len() > RESET_PARTITIONS_MAX {
        return Err(Error::bad_input(
            "topics",
            format!("{} partitions: at most {RESET_PARTITIONS_MAX} can be reset at once", partitions.len()),
        ));
    }
    let timeout = Duration::from_millis(OFFSETS_TIMEOUT_MS);
    let lookup = |spec: OffsetSpec| -> Result<Vec<std::result::Result<Option<i64>, String>>> {
        conn.offsets.list_offsets(&partitions, spec, timeout).map_err(|e| Error::from_client(e, "ListOffsets"))
    };
    let starts = lookup(OffsetSpec::Earliest)?;
    let ends = lookup(OffsetSpec::Latest)?;
    let at_time = match (request.strategy, request.timestamp_ms) {
        (ResetStrategy::Timestamp, Some(ms)) => Some(lookup(OffsetSpec::Timestamp(ms))?),
        _ => None,
    };
    let inputs: Vec<ResetInput> = partitions
        .iter()
        .enumerate()
        .map(|(i, (topic, partition))| ResetInput {
            topic: topic.clone(),
            partition: *partition,
            current: committed.get(&(topic.clone(), *partition)).copied(),
            log_start: starts[i].clone().ok().flatten(),
            high_watermark: ends[i].clone().ok().flatten(),
            at_timestamp: at_time.as_ref().and_then(|answers| answers[i].clone().ok().flatten()),
        })
        .collect();
    let rows = plan_reset(request, &inputs)?;
    if !request.dry_run {
        let offsets: Vec<(String, i32, i64)> =
            rows.iter().map(|r| (r.topic.clone(), r.partition, r.new_offset)).collect();
        let outcomes = conn.admin.alter_group_offsets(group, &offsets).map_err(|e| group_error(e, &context))?;
        if let Some(error) = refused_partitions(&context, &outcomes) {
            return Err(error);
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxbow_client::{GroupMember, GroupType};

    fn request(strategy: ResetStrategy) -> ResetOffsetsRequest {
        ResetOffsetsRequest { topics: None, strategy, timestamp_ms: None, offset: None, shift_by: None, dry_run: true }
    }

    fn input(current: Option<i64>, start: i64, end: i64) -> ResetInput {
        ResetInput {
            topic: "t".into(),
            partition: 0,
            current,
            log_start: Some(start),
            high_watermark: Some(end),
            at_timestamp: None,
        }
    }

    #[test]
    fn lag_is_high_watermark_minus_committed_never_negative_and_unknown_stays_unknown() {
        assert_eq!(lag(Some(3), Some(10)), Some(7));
        assert_eq!(lag(Some(12), Some(10)), Some(0));
        assert_eq!(lag(None, Some(10)), None);
        assert_eq!(lag(Some(3), None), None);
        assert_eq!(total_lag([Some(1), None, Some(4)]), Some(5));
        assert_eq!(total_lag([None, None]), None);
        assert_eq!(total_lag([Some(0)]), Some(0));
    }

    #[test]
    fn reset_strategies_follow_kafkas_tool_and_clamp_into_the_log() {
        let inputs = [input(Some(40), 10, 100)];
        let plan = |r: ResetOffsetsRequest| plan_reset(&r, &inputs).unwrap().remove(0);
        let earliest = plan(request(ResetStrategy::Earliest));
        assert_eq!((earliest.new_offset, earliest.lag_before, earliest.lag_after), (10, Some(60), Some(90)));
        assert_eq!(plan(request(ResetStrategy::Latest)).new_offset, 100);
        let exact = |offset| plan(ResetOffsetsRequest { offset: Some(offset), ..request(ResetStrategy::Offset) });
        assert_eq!(exact(55).new_offset, 55);
        assert_eq!(exact(55).note, None);
        let low = exact(3);
        assert_eq!(low.new_offset, 10);
        assert!(low.note.unwrap().contains("clamped up to 10"));
        assert_eq!(exact(1_000).new_offset, 100);
        let shift = |by| plan(ResetOffsetsRequest { shift_by: Some(by), ..request(ResetStrategy::Shift) });
        assert_eq!(shift(-15).new_offset, 25);
        assert_eq!(shift(-100).new_offset, 10);
        assert_eq!(shift(i64::MAX).new_offset, 100);
        let mut at = inputs.clone();
        at[0].at_timestamp = Some(70);
        let by_time = ResetOffsetsRequest { timestamp_ms: Some(5), ..request(ResetStrategy::Timestamp) };
        assert_eq!(plan_reset(&by_time, &at).unwrap()[0].new_offset, 70);
        let none_after = plan_reset(&by_time, &inputs).unwrap().remove(0);
        assert_eq!(none_after.new_offset, 100);
        assert!(none_after.note.is_some());
    }

    #[test]
    fn shifting_needs_a_committed_offset_and_unknown_bounds_refuse_the_plan() {
        let shift = ResetOffsetsRequest { shift_by: Some(1), ..request(ResetStrategy::Shift) };
        let error = plan_reset(&shift, &[input(None, 0, 5)]).unwrap_err();
        assert!(error.to_string().starts_with("shift_by:") && error.to_string().contains("t-0"), "{error}");
        let mut unknown = input(Some(1), 0, 5);
        unknown.high_watermark = None;
        assert!(matches!(plan_reset(&request(ResetStrategy::Earliest), &[unknown]), Err(Error::Unavailable(_))));
    }

    #[test]
    fn reset_requests_name_the_wrong_field() {
        let field = |r: ResetOffsetsRequest| match validate_reset(&r) {
            Err(Error::BadInput { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert!(validate_reset(&request(ResetStrategy::Earliest)).is_ok());
        assert_eq!(field(request(ResetStrategy::Timestamp)), "timestamp_ms");
        assert_eq!(field(request(ResetStrategy::Offset)), "offset");
        assert_eq!(field(request(ResetStrategy::Shift)), "shift_by");
        assert_eq!(field(ResetOffsetsRequest { offset: Some(1), ..request(ResetStrategy::Latest) }), "offset");
        assert_eq!(field(ResetOffsetsRequest { offset: Some(-1), ..request(ResetStrategy::Offset) }), "offset");
        assert_eq!(field(ResetOffsetsRequest { topics: Some(vec![]), ..request(ResetStrategy::Latest) }), "topics");
        let topic = |name: &str, partitions: Option<Vec<i32>>| ResetTopic { topic: name.into(), partitions };
        let topics = |list| ResetOffsetsRequest { topics: Some(list), ..request(ResetStrategy::Latest) };
        assert_eq!(field(topics(vec![topic("bad name", None)])), "topics[0].topic");
        assert_eq!(field(topics(vec![topic("a", None), topic("a", None)])), "topics[1].topic");
        assert_eq!(field(topics(vec![topic("a", Some(vec![]))])), "topics[0].partitions");
        assert_eq!(field(topics(vec![topic("a", Some(vec![1, 1]))])), "topics[0].partitions");
        assert_eq!(field(topics(vec![topic("a", Some(vec![-1]))])), "topics[0].partitions");
    }

    #[test]
    fn group_ids_are_bounded_and_printable() {
        assert!(validate_group_id("id", "orders-consumers.v2").is_ok());
        assert!(validate_group_id("id", "").is_err());
        assert!(validate_group_id("id", &"g".repeat(256)).is_err());
        assert!(validate_group_id("id", "tab\there").is_err());
    }

    fn described(state: GroupState, members: &[(&str, &[(&str, i32)])]) -> GroupDescription {
        GroupDescription {
            group_id: "g".into(),
            is_simple: false,
            state,
            group_type: GroupType::Classic,
            protocol: "range".into(),
            coordinator: None,
            members: members
                .iter()
                .map(|(id, parts)| GroupMember {
                    member_id: id.to_string(),
                    group_instance_id: None,
                    client_id: format!("client-{id}"),
                    host: "/127.0.0.1".into(),
                    assignment: parts.iter().map(|(t, p)| (t.to_string(), *p)).collect(),
                })
                .collect(),
        }
    }

    #[test]
    fn rows_join_committed_offsets_assignments_and_high_watermarks() {
        let description = described(GroupState::Stable, &[("m1", &[("t", 0), ("t", 1)])]);
        let offsets = vec![
            CommittedOffset {
                topic: "t".into(),
                partition: 0,
                offset: Some(4),
                metadata: Some("meta".into()),
                leader_epoch: None,
                error: None,
            },
            CommittedOffset {
                topic: "u".into(),
                partition: 2,
                offset: Some(9),
                metadata: None,
                leader_epoch: None,
                error: None,
            },
        ];
        let hw: HashMap<(String, i32), i64> =
            [(("t".to_string(), 0), 10), (("t".to_string(), 1), 6)].into_iter().collect();
        let rows = partition_rows(Some(&description), &offsets, &hw);
        let summary: Vec<_> = rows
            .iter()
            .map(|r| {
                (
                    r.topic.as_str(),
                    r.partition,
                    r.committed_offset,
                    r.high_watermark,
                    r.lag,
                    r.owner_client_id.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                ("t", 0, Some(4), Some(10), Some(6), Some("client-m1")),
                ("t", 1, None, Some(6), None, Some("client-m1")),
                ("u", 2, Some(9), None, None, None),
            ]
        );
        assert_eq!(rows[0].metadata.as_deref(), Some("meta"));
    }

    #[test]
    fn the_timeline_names_joins_leaves_assignments_and_state_changes() {
        let one = Observed::of(&described(GroupState::Stable, &[("m1", &[("t", 0), ("t", 1)])]));
        let rebalancing =
            Observed::of(&described(GroupState::PreparingRebalance, &[("m1", &[("t", 0), ("t", 1)]), ("m2", &[])]));
        let two = Observed::of(&described(GroupState::Stable, &[("m1", &[("t", 0)]), ("m2", &[("t", 1)])]));
        let kinds = |events: Vec<GroupEventView>| events.into_iter().map(|e| e.kind).collect::<Vec<_>>();
        assert_eq!(kinds(diff(None, Some(&one), 1)), ["first_seen"]);
        assert_eq!(kinds(diff(Some(&one), Some(&one), 2)), Vec::<String>::new());
        let joined = diff(Some(&one), Some(&rebalancing), 3);
        assert_eq!(kinds(joined.clone()), ["member_joined", "state"]);
        assert_eq!(joined[0].member_id.as_deref(), Some("m2"));
        assert!(joined[1].message.contains("Stable → PreparingRebalance"));
        assert_eq!(kinds(diff(Some(&rebalancing), Some(&two), 4)), ["assignment", "assignment", "state"]);
        assert_eq!(kinds(diff(Some(&two), Some(&one), 5)), ["member_left", "assignment"]);
        assert_eq!(kinds(diff(Some(&one), None, 6)), ["gone"]);
    }

    fn snapshot(at_ms: i64, groups: Vec<(&str, GroupDescription, i64)>) -> Snapshot {
        let mut high_watermarks = HashMap::new();
        high_watermarks.insert(("t".to_string(), 0), 100);
        Snapshot {
            generation: 0,
            at: Instant::now(),
            at_ms,
            high_watermarks,
            errors: Vec::new(),
            groups: groups
                .into_iter()
                .map(|(id, description, committed)| Observation {
                    listing: GroupListing {
                        group_id: id.into(),
                        is_simple: false,
                        state: description.state,
                        group_type: GroupType::Classic,
                    },
                    description: Some(description),
                    offsets: Some(vec![CommittedOffset {
                        topic: "t".into(),
                        partition: 0,
                        offset: Some(committed),
                        metadata: None,
                        leader_epoch: None,
                        error: None,
                    }]),
                    error: None,
                })
                .collect(),
        }
    }

    #[test]
    fn the_history_keeps_lag_samples_and_events_bounded_to_the_window() {
        let tracker = GroupTracker::default();
        let stable = || described(GroupState::Stable, &[("m1", &[("t", 0)])]);
        tracker.record(&snapshot(1_000, vec![("g", stable(), 40)]));
        tracker.record(&snapshot(1_000, vec![("g", stable(), 50)])); // the same read again: ignored
        tracker.record(&snapshot(3_000, vec![("g", stable(), 90)]));
        let series = tracker.series("g", 0).unwrap();
        assert_eq!(series.at_ms, vec![1_000, 3_000]);
        assert_eq!(series.total_lag, vec![Some(60), Some(10)]);
        assert_eq!(series.partitions[0].lag, vec![Some(60), Some(10)]);
        assert!(tracker.series("g", 1).is_none(), "another connection's history");
        tracker.record(&snapshot(5_000, vec![]));
        let events = tracker.events("g", 0).unwrap();
        assert_eq!(events.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(), ["first_seen", "gone"]);
        // Everything older than the window goes.
        let later = 5_000 + LAG_WINDOW_MS as i64 + 1;
        tracker.record(&snapshot(later, vec![("h", stable(), 1)]));
        assert!(tracker.series("g", 0).is_none());
        for i in 0..(LAG_SAMPLES_MAX as i64 + 5) {
            tracker.record(&snapshot(later + 1 + i, vec![("h", stable(), 1)]));
        }
        assert_eq!(tracker.series("h", 0).unwrap().at_ms.len(), LAG_SAMPLES_MAX);
    }
}
