//! The consumer-group phase: how long a group of classic-protocol librdkafka consumers takes to
//! settle when its members join at once, and again after one of them leaves.
//!
//! One repetition: `members` consumers (range assignor, the settings below) of a fresh group
//! subscribe to one topic together. Join = the first subscribe → every member holds an
//! assignment (received after the subscribes) and the assignments together cover every
//! partition exactly once. Leave = one member starts closing (librdkafka revokes, then sends
//! LeaveGroup) → the others hold assignments received after that instant which again cover
//! every partition exactly once. Then every member closes and the next repetition takes a new
//! group id, so no repetition inherits another's members or generation.
//!
//! All consumers are polled by one thread, round-robin with zero timeouts and a 1 ms sleep per
//! pass: rebalance callbacks run inside `poll`, so a member's assignment is recorded (with the
//! instant) within about a millisecond of librdkafka handing it over, and no thread per member
//! competes with the broker for the machine's cores. Every wait is bounded; a repetition that
//! times out fails the phase with what the members held at that moment.

use crate::Stop;
use anyhow::{bail, Context, Result};
use oxbow_client::rdkafka::config::ClientConfig;
use oxbow_client::rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use oxbow_client::rdkafka::ClientContext;
use oxbow_client::ConnectionProfile;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Settings of every group member on both brokers (printed in the report). The classic protocol
/// with the range assignor (eager: every member revokes everything, then rejoins), librdkafka's
/// usual session and heartbeat timing spelled out, and no commits: the group's membership is
/// what is measured, not its offsets.
pub const GROUP_CONSUMER_SETTINGS: &[(&str, &str)] = &[
    ("group.protocol", "classic"),
    ("partition.assignment.strategy", "range"),
    ("session.timeout.ms", "10000"),
    ("heartbeat.interval.ms", "1000"),
    ("enable.auto.commit", "false"),
    ("enable.auto.offset.store", "false"),
    ("auto.offset.reset", "latest"),
];

/// One pass over the members polls each once without waiting, then sleeps this long.
const POLL_INTERVAL_MS: u64 = 1;
/// Closing every member at the end of a repetition (LeaveGroup each) gives up after this.
const CLOSE_TIMEOUT_MS: u64 = 30_000;

/// One group phase on one broker.
#[derive(Clone, Copy, Debug)]
pub struct GroupSpec<'a> {
    pub topic: &'a str,
    /// Partitions of `topic`, which the assignments must cover.
    pub partitions: i32,
    pub members: usize,
    pub repetitions: usize,
    /// A join (leave) not settled within this fails the phase.
    pub join_timeout: Duration,
    pub leave_timeout: Duration,
    /// The group ids are `{group_prefix}-{repetition}`.
    pub group_prefix: &'a str,
    /// Between repetitions, so the previous group's closing settles.
    pub pause: Duration,
}

/// One repetition's figures.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct GroupRound {
    pub join_ms: f64,
    pub leave_ms: f64,
    /// Assignments the members received until the join settled: `members` when one rebalance
    /// sufficed, more when the group rebalanced again as late members arrived.
    pub join_assignments: u64,
    /// Assignments the remaining members received until the leave settled.
    pub leave_assignments: u64,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct GroupResult {
    pub members: usize,
    pub partitions: i32,
    pub rounds: Vec<GroupRound>,
    pub join_median_ms: f64,
    pub join_max_ms: f64,
    pub leave_median_ms: f64,
    pub leave_max_ms: f64,
}

impl GroupResult {
    /// Medians and maxima over `rounds`; None without a round.
    pub fn new(members: usize, partitions: i32, rounds: Vec<GroupRound>) -> Option<GroupResult> {
        let joins: Vec<f64> = rounds.iter().map(|r| r.join_ms).collect();
        let leaves: Vec<f64> = rounds.iter().map(|r| r.leave_ms).collect();
        Some(GroupResult {
            members,
            partitions,
            join_median_ms: median(&joins)?,
            join_max_ms: joins.iter().copied().fold(f64::MIN, f64::max),
            leave_median_ms: median(&leaves)?,
            leave_max_ms: leaves.iter().copied().fold(f64::MIN, f64::max),
            rounds,
        })
    }
}

/// The median of `values` (the mean of the middle two for an even count); None when empty.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => Some(sorted[middle]),
        _ => Some((sorted[middle - 1] + sorted[middle]) / 2.0),
    }
}

/// Whether `assignments` together hold every partition in 0..partitions exactly once.
pub fn covers_exactly_once(assignments: &[&[i32]], partitions: i32) -> bool {
    let Ok(count) = usize::try_from(partitions) else {
        return false;
    };
    let mut seen = vec![false; count];
    for &partition in assignments.iter().flat_map(|a| a.iter()) {
        match usize::try_from(partition).ok().and_then(|p| seen.get_mut(p)) {
            Some(slot) if !*slot => *slot = true,
            // Outside the topic, or held twice.
            _ => return false,
        }
    }
    seen.iter().all(|&held| held)
}

/// One member's assignment as the watcher sees it.
#[derive(Clone, Debug, Default)]
pub struct Held {
    /// None between a revoke and the next assignment.
    pub partitions: Option<Vec<i32>>,
    /// When `partitions` was received.
    pub at: Option<Instant>,
}

/// When the group `held` (the members that count) settled: every member holds an assignment
/// received at or after `since`, and together they cover the topic's partitions exactly once;
/// the instant is the last of those assignments. None while not settled. An assignment from
/// before `since` belongs to an earlier generation and does not count.
pub fn settled_at(held: &[Held], partitions: i32, since: Instant) -> Option<Instant> {
    let mut assignments = Vec::with_capacity(held.len());
    let mut last = since;
    for member in held {
        let (Some(partitions), Some(at)) = (&member.partitions, member.at) else {
            return None;
        };
        if at < since {
            return None;
        }
        last = last.max(at);
        assignments.push(partitions.as_slice());
    }
    (!held.is_empty() && covers_exactly_once(&assignments, partitions)).then_some(last)
}

#[derive(Debug, Default)]
struct MemberState {
    held: Held,
    assignments: u64,
    first_error: Option<String>,
}

/// Records each rebalance of one member, as librdkafka hands it over (inside `poll`).
struct MemberContext {
    topic: String,
    state: Mutex<MemberState>,
}

impl ClientContext for MemberContext {}

impl ConsumerContext for MemberContext {
    // After the default handling has applied the assignment (or unassigned): the member holds
    // what is recorded here.
    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let now = Instant::now();
        let mut state = self.state.lock().expect("not poisoned");
        match rebalance {
            Rebalance::Assign(list) => {
                let partitions = list
                    .elements()
                    .iter()
                    .filter(|element| element.topic() == self.topic)
                    .map(|element| element.partition())
                    .collect();
                state.held = Held { partitions: Some(partitions), at: Some(now) };
                state.assignments += 1;
            }
            Rebalance::Revoke(_) => state.held.partitions = None,
            Rebalance::Error(error) => {
                state.first_error.get_or_insert_with(|| error.to_string());
            }
        }
    }
}

type Member = BaseConsumer<MemberContext>;

fn member(profile: &ConnectionProfile, group_id: &str, topic: &str, index: usize) -> Result<Member> {
    let mut config: ClientConfig = profile.client_config();
    for (key, value) in GROUP_CONSUMER_SETTINGS {
        config.set(*key, *value);
    }
    config.set("group.id", group_id);
    config.set("client.id", format!("oxbow-bench-member-{index}"));
    config
        .create_with_context(MemberContext { topic: topic.to_string(), state: Mutex::new(MemberState::default()) })
        .context("creating a group member")
}

/// Serves every member's queued events once (rebalance callbacks run here), then sleeps a little.
/// Fetch errors (a member's first lookups) are kept for a timeout's message, not acted on.
fn poll_all(members: &[&Member], errors: &mut Option<String>) {
    for member in members {
        if let Some(Err(error)) = member.poll(Duration::ZERO) {
            errors.get_or_insert_with(|| error.to_string());
        }
    }
    std::thread::sleep(Duration::from_millis(POLL_INTERVAL_MS));
}

/// What the members held, for a timeout's message: how many hold an assignment that counts and
/// how many distinct partitions those cover.
fn describe(members: &[&Member], since: Instant) -> String {
    let mut holding = 0;
    let mut partitions = std::collections::BTreeSet::new();
    let mut first_error = None;
    for member in members {
        let state = member.context().state.lock().expect("not poisoned");
        if let (Some(held), Some(at)) = (&state.held.partitions, state.held.at) {
            if at >= since {
                holding += 1;
                partitions.extend(held.iter().copied());
            }
        }
        if first_error.is_none() {
            first_error = state.first_error.clone();
        }
    }
    format!(
        "{holding} of {} members hold a new assignment, covering {} partitions{}",
        members.len(),
        partitions.len(),
        first_error.map_or(String::new(), |e| format!("; rebalance error: {e}"))
    )
}

/// Polls `members` until they settle (see [`settled_at`]) after `since`, or `timeout` after it.
/// Returns the settle instant and the assignments they received after `since`.
fn wait_settled(
    members: &[&Member],
    partitions: i32,
    since: Instant,
    timeout: Duration,
    what: &str,
    stop: &Stop,
) -> Result<(Instant, u64)> {
    let deadline = since + timeout;
    let mut errors = None;
    // Bounded by the deadline; each turn is one pass of zero-timeout polls and a 1 ms sleep.
    loop {
        stop.check()?;
        poll_all(members, &mut errors);
        let held: Vec<Held> =
            members.iter().map(|m| m.context().state.lock().expect("not poisoned").held.clone()).collect();
        if let Some(at) = settled_at(&held, partitions, since) {
            return Ok((at, assignments(members)));
        }
        if Instant::now() >= deadline {
            bail!(
                "{what}: not settled after {} s: {}{}",
                timeout.as_secs(),
                describe(members, since),
                errors.map_or(String::new(), |e| format!("; client error: {e}"))
            );
        }
    }
}

fn assignments(members: &[&Member]) -> u64 {
    members.iter().map(|m| m.context().state.lock().expect("not poisoned").assignments).sum()
}

/// Closes every member at once (each revokes and sends LeaveGroup) and waits, bounded, until all
/// are closed; the rest are dropped (librdkafka ends their close itself).
fn close_all(members: Vec<Member>) {
    for member in &members {
        let _ = member.close_queue();
    }
    let deadline = Instant::now() + Duration::from_millis(CLOSE_TIMEOUT_MS);
    let mut errors = None;
    // Bounded by the deadline.
    while Instant::now() < deadline && !members.iter().all(|m| m.closed()) {
        let refs: Vec<&Member> = members.iter().collect();
        poll_all(&refs, &mut errors);
    }
}

/// One repetition on a fresh group: the join, then one member leaves.
fn round(profile: &ConnectionProfile, spec: &GroupSpec<'_>, group_id: &str, stop: &Stop) -> Result<GroupRound> {
    // Created (no network work yet) before the clock starts.
    let mut members: Vec<Member> =
        (0..spec.members).map(|index| member(profile, group_id, spec.topic, index)).collect::<Result<_>>()?;
    let result = (|| -> Result<GroupRound> {
        let subscribed = Instant::now();
        for member in &members {
            member.subscribe(&[spec.topic]).context("subscribing a group member")?;
        }
        let all: Vec<&Member> = members.iter().collect();
        let (joined_at, join_assignments) =
            wait_settled(&all, spec.partitions, subscribed, spec.join_timeout, "join", stop)?;
        let join_ms = joined_at.duration_since(subscribed).as_secs_f64() * 1e3;

        // The first member leaves; it is polled with the others until its close is done, as
        // librdkafka's close serves its revoke through the same queue.
        let (leaver, rest) = all.split_first().context("a group of no members")?;
        let before = assignments(rest);
        let leaving = Instant::now();
        leaver.close_queue().context("closing the leaving member")?;
        let mut watched: Vec<&Member> = rest.to_vec();
        watched.push(*leaver);
        let deadline = leaving + spec.leave_timeout;
        let mut errors = None;
        let mut settled: Option<Instant> = None;
        // Bounded by the deadline; each turn is one pass of polls.
        while settled.is_none() || !leaver.closed() {
            stop.check()?;
            poll_all(&watched, &mut errors);
            if settled.is_none() {
                let held: Vec<Held> =
                    rest.iter().map(|m| m.context().state.lock().expect("not poisoned").held.clone()).collect();
                settled = settled_at(&held, spec.partitions, leaving);
            }
            if Instant::now() >= deadline {
                match settled {
                    None => bail!(
                        "leave: not settled after {} s: {}{}",
                        spec.leave_timeout.as_secs(),
                        describe(rest, leaving),
                        errors.map_or(String::new(), |e| format!("; client error: {e}"))
                    ),
                    // The others settled; a close that lingers does not change the figure.
                    Some(_) => break,
                }
            }
        }
        let left_at = settled.expect("loop ends settled");
        Ok(GroupRound {
            join_ms,
            leave_ms: left_at.duration_since(leaving).as_secs_f64() * 1e3,
            join_assignments,
            leave_assignments: assignments(rest) - before,
        })
    })();
    // In every case: the group's members leave before the next repetition (or the phase's end).
    close_all(std::mem::take(&mut members));
    result
}

/// Runs `spec.repetitions` rounds, each on a fresh group, and takes medians and maxima. A round
/// that fails fails the phase (with the round named).
pub fn rebalance(profile: &ConnectionProfile, spec: &GroupSpec<'_>, stop: &Stop) -> Result<GroupResult> {
    if spec.members < 2 {
        bail!("a leave needs at least 2 members, got {}", spec.members);
    }
    let mut rounds = Vec::with_capacity(spec.repetitions);
    for repetition in 0..spec.repetitions {
        stop.check()?;
        if repetition > 0 {
            stop.sleep(spec.pause)?;
        }
        let group_id = format!("{}-{repetition}", spec.group_prefix);
        let round = round(profile, spec, &group_id, stop)
            .with_context(|| format!("repetition {} of {}", repetition + 1, spec.repetitions))?;
        rounds.push(round);
    }
    GroupResult::new(spec.members, spec.partitions, rounds).context("no repetition ran")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_even_and_no_values() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[7.0]), Some(7.0));
        assert_eq!(median(&[300.0, 100.0, 200.0]), Some(200.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    #[test]
    fn coverage_is_every_partition_exactly_once() {
        assert!(covers_exactly_once(&[&[0, 1], &[2, 3]], 4));
        assert!(covers_exactly_once(&[&[3, 0], &[], &[2, 1]], 4));
        // One missing, one held twice, one outside the topic.
        assert!(!covers_exactly_once(&[&[0, 1], &[2]], 4));
        assert!(!covers_exactly_once(&[&[0, 1, 2], &[2, 3]], 4));
        assert!(!covers_exactly_once(&[&[0, 1], &[2, 3, 4]], 4));
        assert!(!covers_exactly_once(&[&[-1, 0, 1, 2, 3]], 4));
        assert!(!covers_exactly_once(&[&[0]], -1));
    }

    fn held(partitions: Option<&[i32]>, at: Instant) -> Held {
        Held { partitions: partitions.map(<[i32]>::to_vec), at: Some(at) }
    }

    #[test]
    fn settles_when_every_member_holds_a_new_covering_assignment() {
        let since = Instant::now();
        let ms = |n: u64| since + Duration::from_millis(n);
        let group = [held(Some(&[0, 1]), ms(30)), held(Some(&[2, 3]), ms(50)), held(Some(&[4, 5]), ms(40))];
        assert_eq!(settled_at(&group, 6, since), Some(ms(50)));
        // A member between revoke and assignment: not settled.
        let mut revoked = group.clone();
        revoked[1].partitions = None;
        assert_eq!(settled_at(&revoked, 6, since), None);
        // A member still on an assignment from before `since` (an earlier generation).
        let mut stale = group.clone();
        stale[0].at = Some(since - Duration::from_millis(1));
        assert_eq!(settled_at(&stale, 6, since), None);
        // Never assigned.
        let mut never = group.clone();
        never[2] = Held::default();
        assert_eq!(settled_at(&never, 6, since), None);
        // All new, but a partition held twice and one not at all.
        let overlap = [held(Some(&[0, 1]), ms(1)), held(Some(&[1, 2]), ms(1)), held(Some(&[4, 5]), ms(1))];
        assert_eq!(settled_at(&overlap, 6, since), None);
        assert_eq!(settled_at(&[], 6, since), None);
    }

    #[test]
    fn group_result_takes_medians_and_maxima() {
        let round = |join_ms, leave_ms| GroupRound { join_ms, leave_ms, join_assignments: 10, leave_assignments: 9 };
        let result = GroupResult::new(10, 20, vec![round(900.0, 1100.0), round(3000.0, 1000.0), round(1000.0, 1200.0)])
            .expect("rounds");
        assert_eq!((result.join_median_ms, result.join_max_ms), (1000.0, 3000.0));
        assert_eq!((result.leave_median_ms, result.leave_max_ms), (1100.0, 1200.0));
        assert!(GroupResult::new(10, 20, Vec::new()).is_none());
    }
}
