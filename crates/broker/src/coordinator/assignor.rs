//! Server-side partition assignors of the KIP-848 consumer group protocol: `uniform` (Kafka's
//! default) and `range`, as the coordinator computes a group's target assignment.
//!
//! Both are sticky: a member keeps what it owns as long as that fits the balance, so a member
//! joining or leaving moves as few partitions as possible (each move is a revocation the old owner
//! must confirm before the new one gets it).
//!
//! - `range` (Kafka's server-side `RangeAssignor`): per topic, every subscribed member gets
//!   `partitions / members` partitions and the first `partitions % members` one more, in
//!   contiguous ranges by member order, keeping its lowest previously owned partitions up to its
//!   quota — so co-partitioned topics give the same partition numbers to the same member, which
//!   joins rely on.
//! - `uniform`: spreads all subscribed partitions as evenly as possible over the members across
//!   topics (member partition counts differ by at most one where subscriptions allow), keeping
//!   previous owners first, then placing the rest on the least-loaded eligible member, then a
//!   bounded balancing pass for heterogeneous subscriptions.
//!
//! Pure and deterministic: members are ordered by id (Kafka iterates a hash map, so its ties are
//! not part of the contract). Topics a member subscribes to that do not exist are ignored, as the
//! coordinator only describes existing topics to an assignor.

use std::collections::{BTreeMap, BTreeSet};

/// The assignors the coordinator offers (`group.consumer.assignors`), by their protocol names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Assignor {
    Uniform,
    Range,
}

impl Assignor {
    pub fn name(self) -> &'static str {
        match self {
            Assignor::Uniform => "uniform",
            Assignor::Range => "range",
        }
    }

    pub fn by_name(name: &str) -> Option<Assignor> {
        match name {
            "uniform" => Some(Assignor::Uniform),
            "range" => Some(Assignor::Range),
            _ => None,
        }
    }
}

/// Partitions by topic (`T`: a topic id or name).
pub type Assignment<T> = BTreeMap<T, BTreeSet<i32>>;

/// One member as the assignor sees it: what it subscribes to and what it owns now.
#[derive(Clone, Debug)]
pub struct MemberSpec<T> {
    pub member_id: String,
    pub subscribed: BTreeSet<T>,
    pub current: Assignment<T>,
}

/// The target assignment of every member (members with nothing get an empty assignment).
pub fn assign<T: Ord + Clone>(
    assignor: Assignor,
    members: &[MemberSpec<T>],
    partitions_per_topic: &BTreeMap<T, i32>,
) -> BTreeMap<String, Assignment<T>> {
    let mut sorted: Vec<&MemberSpec<T>> = members.iter().collect();
    sorted.sort_by(|a, b| a.member_id.cmp(&b.member_id));
    let mut out: BTreeMap<String, Assignment<T>> =
        sorted.iter().map(|m| (m.member_id.clone(), Assignment::new())).collect();
    match assignor {
        Assignor::Range => range(&sorted, partitions_per_topic, &mut out),
        Assignor::Uniform => uniform(&sorted, partitions_per_topic, &mut out),
    }
    out
}

fn range<T: Ord + Clone>(
    members: &[&MemberSpec<T>],
    partitions_per_topic: &BTreeMap<T, i32>,
    out: &mut BTreeMap<String, Assignment<T>>,
) {
    for (topic, &count) in partitions_per_topic {
        let subscribed: Vec<&&MemberSpec<T>> = members.iter().filter(|m| m.subscribed.contains(topic)).collect();
        if subscribed.is_empty() || count <= 0 {
            continue;
        }
        let n = subscribed.len() as i32;
        let quota = count / n;
        let mut extra = count % n;
        let mut taken: BTreeSet<i32> = BTreeSet::new();
        let mut unfilled: Vec<(&str, i32)> = Vec::new();
        for m in &subscribed {
            // Lowest owned partitions first: the same numbers stay with the same member across
            // co-partitioned topics.
            let owned: Vec<i32> =
                m.current.get(topic).map(|s| s.iter().copied().filter(|p| *p < count).collect()).unwrap_or_default();
            let keep = owned.len().min(quota as usize);
            let target = out.get_mut(&m.member_id).expect("every member has an entry");
            for &p in &owned[..keep] {
                taken.insert(p);
                target.entry(topic.clone()).or_default().insert(p);
            }
            let remaining = quota - owned.len() as i32;
            if remaining < 0 && extra > 0 {
                extra -= 1;
                let p = owned[quota as usize];
                taken.insert(p);
                target.entry(topic.clone()).or_default().insert(p);
            } else {
                unfilled.push((m.member_id.as_str(), remaining.max(0)));
            }
        }
        let mut free = (0..count).filter(|p| !taken.contains(p));
        for (member, mut remaining) in unfilled {
            if extra > 0 {
                remaining += 1;
                extra -= 1;
            }
            let target = out.get_mut(member).expect("every member has an entry");
            for _ in 0..remaining {
                let Some(p) = free.next() else { break };
                target.entry(topic.clone()).or_default().insert(p);
            }
        }
    }
}

fn uniform<T: Ord + Clone>(
    members: &[&MemberSpec<T>],
    partitions_per_topic: &BTreeMap<T, i32>,
    out: &mut BTreeMap<String, Assignment<T>>,
) {
    if members.is_empty() {
        return;
    }
    // Every existing partition some member subscribes to, with the members that may own it.
    let mut eligible: BTreeMap<(T, i32), Vec<usize>> = BTreeMap::new();
    for (topic, &count) in partitions_per_topic {
        let who: Vec<usize> = (0..members.len()).filter(|&i| members[i].subscribed.contains(topic)).collect();
        if who.is_empty() {
            continue;
        }
        for p in 0..count.max(0) {
            eligible.insert((topic.clone(), p), who.clone());
        }
    }
    // The fair share if every member could own every partition; heterogeneous subscriptions are
    // evened out by the balancing pass below.
    let total = eligible.len();
    let quota = total / members.len();
    let mut extra = total % members.len();
    let mut load = vec![0usize; members.len()];
    let mut owner: BTreeMap<(T, i32), usize> = BTreeMap::new();

    // 1. Keep previous owners up to the quota (+1 while extra slots last).
    for (i, m) in members.iter().enumerate() {
        for (topic, parts) in &m.current {
            for &p in parts {
                let key = (topic.clone(), p);
                let Some(who) = eligible.get(&key) else { continue };
                if !who.contains(&i) || owner.contains_key(&key) {
                    continue;
                }
                let cap = if load[i] < quota {
                    true
                } else if load[i] == quota && extra > 0 {
                    extra -= 1;
                    true
                } else {
                    false
                };
                if cap {
                    load[i] += 1;
                    owner.insert(key, i);
                }
            }
        }
    }
    // 2. The rest to the least-loaded eligible member (ties: member order).
    for (key, who) in &eligible {
        if owner.contains_key(key) {
            continue;
        }
        let i = *who.iter().min_by_key(|&&i| (load[i], i)).expect("eligible lists are not empty");
        load[i] += 1;
        owner.insert(key.clone(), i);
    }
    // 3. Balance: move a partition from the most to the least loaded member able to own it while
    // that narrows a gap of two or more. Each move lowers the sum of squared loads, so the loop
    // ends; the bound keeps a bug from spinning.
    let moves_max = total.saturating_mul(members.len()).max(1);
    for _ in 0..moves_max {
        let mut best: Option<((T, i32), usize, usize)> = None;
        for (key, &from) in &owner {
            let who = &eligible[key];
            let to = *who.iter().min_by_key(|&&i| (load[i], i)).expect("eligible lists are not empty");
            if load[from] >= load[to] + 2
                && best.as_ref().is_none_or(|(_, f, t)| load[from] - load[to] > load[*f] - load[*t])
            {
                best = Some((key.clone(), from, to));
            }
        }
        let Some((key, from, to)) = best else { break };
        load[from] -= 1;
        load[to] += 1;
        owner.insert(key, to);
    }
    for ((topic, p), i) in owner {
        out.get_mut(&members[i].member_id).expect("every member has an entry").entry(topic).or_default().insert(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str, topics: &[&str], current: &[(&str, &[i32])]) -> MemberSpec<String> {
        MemberSpec {
            member_id: id.to_string(),
            subscribed: topics.iter().map(|t| t.to_string()).collect(),
            current: current.iter().map(|(t, ps)| (t.to_string(), ps.iter().copied().collect())).collect(),
        }
    }

    fn topics(spec: &[(&str, i32)]) -> BTreeMap<String, i32> {
        spec.iter().map(|(t, n)| (t.to_string(), *n)).collect()
    }

    /// Compact text of an assignment: `a: t0[0,1] t1[0]; b: …`, to compare whole results at once.
    fn show(a: &BTreeMap<String, Assignment<String>>) -> String {
        a.iter()
            .map(|(m, parts)| {
                let ps: Vec<String> = parts
                    .iter()
                    .filter(|(_, s)| !s.is_empty())
                    .map(|(t, s)| format!("{t}{:?}", s.iter().collect::<Vec<_>>()))
                    .collect();
                format!("{m}: {}", ps.join(" "))
            })
            .collect::<Vec<_>>()
            .join("; ")
            .replace(", ", ",")
    }

    fn check(assignor: Assignor, members: &[MemberSpec<String>], parts: &[(&str, i32)], expected: &str) {
        let got = assign(assignor, members, &topics(parts));
        assert_eq!(show(&got), expected);
        // Every subscribed partition owned exactly once, only by a subscriber.
        let mut seen = BTreeSet::new();
        for (m, a) in &got {
            let spec = members.iter().find(|s| &s.member_id == m).unwrap();
            for (t, ps) in a {
                assert!(spec.subscribed.contains(t), "{m} got unsubscribed {t}");
                for p in ps {
                    assert!(seen.insert((t.clone(), *p)), "{t}-{p} twice");
                }
            }
        }
        let wanted: usize = parts
            .iter()
            .filter(|(t, _)| members.iter().any(|m| m.subscribed.contains(*t)))
            .map(|(_, n)| *n as usize)
            .sum();
        assert_eq!(seen.len(), wanted, "every subscribed partition is owned");
    }

    #[test]
    fn range_gives_contiguous_ranges_and_co_partitioned_topics_line_up() {
        let ms = [member("a", &["t0", "t1"], &[]), member("b", &["t0", "t1"], &[]), member("c", &["t0", "t1"], &[])];
        check(
            Assignor::Range,
            &ms,
            &[("t0", 7), ("t1", 7)],
            "a: t0[0,1,2] t1[0,1,2]; b: t0[3,4] t1[3,4]; c: t0[5,6] t1[5,6]",
        );
        // Only subscribers share a topic; a topic nobody reads stays unassigned.
        let ms = [member("a", &["t0"], &[]), member("b", &["t0", "t1"], &[])];
        check(Assignor::Range, &ms, &[("t0", 3), ("t1", 2), ("t2", 4)], "a: t0[0,1]; b: t0[2] t1[0,1]");
    }

    #[test]
    fn range_is_sticky_when_a_member_joins_or_leaves() {
        let before = [member("a", &["t"], &[("t", &[0, 1, 2])]), member("b", &["t"], &[("t", &[3, 4, 5])])];
        let mut joined = before.to_vec();
        joined.push(member("c", &["t"], &[]));
        check(Assignor::Range, &joined, &[("t", 6)], "a: t[0,1]; b: t[3,4]; c: t[2,5]");
        let left = [member("a", &["t"], &[("t", &[0, 1])])];
        check(Assignor::Range, &left, &[("t", 6)], "a: t[0,1,2,3,4,5]");
    }

    #[test]
    fn uniform_spreads_across_topics_and_keeps_owners() {
        let ms = [member("a", &["x", "y"], &[]), member("b", &["x", "y"], &[])];
        check(Assignor::Uniform, &ms, &[("x", 3), ("y", 1)], "a: x[0,2]; b: x[1] y[0]");
        // A third member takes one partition from each of the loaded ones and nothing else moves.
        let ms = [
            member("a", &["x"], &[("x", &[0, 1, 2])]),
            member("b", &["x"], &[("x", &[3, 4, 5])]),
            member("c", &["x"], &[]),
        ];
        check(Assignor::Uniform, &ms, &[("x", 6)], "a: x[0,1]; b: x[3,4]; c: x[2,5]");
        // Nobody subscribed: nothing assigned, every member present.
        check(Assignor::Uniform, &[member("a", &["gone"], &[])], &[("x", 2)], "a: ");
    }

    #[test]
    fn uniform_balances_heterogeneous_subscriptions() {
        // a reads x and y, b only y: a must leave y to b for balance.
        let ms = [member("a", &["x", "y"], &[("y", &[0, 1, 2, 3])]), member("b", &["y"], &[])];
        check(Assignor::Uniform, &ms, &[("x", 2), ("y", 4)], "a: x[0,1] y[2]; b: y[0,1,3]");
    }

    #[test]
    fn uniform_stays_balanced_across_many_shapes() {
        // Deterministic pseudo-random groups: loads differ by at most one when every member reads
        // every topic, and a recomputation from the result moves nothing.
        let mut seed = 0x2545_f491_u64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for _ in 0..200 {
            let members = 1 + next(8) as usize;
            let spec: Vec<(String, i32)> = (0..1 + next(4)).map(|t| (format!("t{t}"), 1 + next(12) as i32)).collect();
            let names: Vec<&str> = spec.iter().map(|(t, _)| t.as_str()).collect();
            let ms: Vec<MemberSpec<String>> = (0..members).map(|i| member(&format!("m{i}"), &names, &[])).collect();
            let parts: BTreeMap<String, i32> = spec.iter().cloned().collect();
            let got = assign(Assignor::Uniform, &ms, &parts);
            let loads: Vec<usize> = got.values().map(|a| a.values().map(BTreeSet::len).sum()).collect();
            assert!(loads.iter().max().unwrap() - loads.iter().min().unwrap() <= 1, "{loads:?}");
            let again: Vec<MemberSpec<String>> =
                ms.iter().map(|m| MemberSpec { current: got[&m.member_id].clone(), ..m.clone() }).collect();
            assert_eq!(assign(Assignor::Uniform, &again, &parts), got, "a balanced assignment is stable");
        }
    }
}
