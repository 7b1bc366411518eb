//! Replica placement for new topics and partitions: which brokers hold each partition's
//! replicas, and in what order (the first is the preferred leader).
//!
//! The scheme is the one Kafka has used since its ZooKeeper days (`AdminUtils`): partition `p`'s
//! first replica goes to broker `(p + start) mod n`, and the others follow at a shift that moves
//! by one every `n` partitions, so leaders and followers both spread evenly. With racks, the
//! broker list is first interleaved by rack (r1, r2, r3, r1, r2, …) and each further replica is
//! taken from a rack not used yet by the partition while there is one, so one rack's loss never
//! takes every replica.
//!
//! It is pure: the caller supplies the live brokers and the random start and shift (so tests
//! pin them and the controller draws them).

use std::collections::{BTreeMap, BTreeSet};

/// A broker that can take replicas.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub id: i32,
    pub rack: Option<String>,
}

/// Why placement failed, worded as Kafka words it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlacementError(pub String);

/// Replicas for partitions `first_partition..first_partition + partitions`, `replication_factor`
/// each, over `brokers` (any order; sorted by id here). `start` and `shift` are random draws
/// (any values; taken mod the broker count).
pub fn place(
    brokers: &[Candidate],
    first_partition: i32,
    partitions: i32,
    replication_factor: i16,
    start: usize,
    shift: usize,
) -> Result<Vec<Vec<i32>>, PlacementError> {
    let rf = usize::try_from(replication_factor).unwrap_or(0);
    if rf == 0 {
        return Err(PlacementError("Replication factor must be larger than 0.".into()));
    }
    if rf > brokers.len() {
        return Err(PlacementError(format!(
            "Unable to replicate the partition {rf} time(s): The target replication factor of {rf} cannot be reached because only {} broker(s) are registered.",
            brokers.len()
        )));
    }
    let racked = brokers.iter().filter(|b| b.rack.is_some()).count();
    if racked != 0 && racked != brokers.len() {
        // Kafka refuses a mix rather than guessing where rack-less brokers stand.
        return Err(PlacementError("Not all brokers have rack information for replica rack aware assignment.".into()));
    }
    let order = if racked == 0 { by_id(brokers) } else { interleaved_by_rack(brokers) };
    let n = order.len();
    let rack_of: BTreeMap<i32, Option<&str>> = brokers.iter().map(|b| (b.id, b.rack.as_deref())).collect();
    let racks_total = rack_of.values().collect::<BTreeSet<_>>().len();
    let start = start % n;
    let mut shift = shift % n;
    let mut out = Vec::with_capacity(partitions.max(0) as usize);
    for p in first_partition.max(0)..first_partition.max(0) + partitions.max(0) {
        let p = p as usize;
        if p > 0 && p.is_multiple_of(n) {
            shift += 1;
        }
        let first = (p + start) % n;
        let mut replicas = vec![order[first]];
        let mut racks_used: BTreeSet<Option<&str>> = [rack_of[&order[first]]].into();
        // Walk the ring after the first replica, starting at the shift; prefer a new rack while
        // some rack is still unused, else take the next broker not chosen yet. Bounded: at most
        // two passes over the ring per replica.
        let step = 1 + shift % (n - 1).max(1);
        let mut k = 0;
        while replicas.len() < rf {
            assert!(k < 2 * n * rf, "placement walks at most twice around the ring per replica");
            let candidate = order[(first + step + k) % n];
            k += 1;
            if replicas.contains(&candidate) {
                continue;
            }
            let rack = rack_of[&candidate];
            let want_new_rack = racked != 0 && racks_used.len() < racks_total && k <= n;
            if want_new_rack && racks_used.contains(&rack) {
                continue;
            }
            replicas.push(candidate);
            racks_used.insert(rack);
        }
        out.push(replicas);
    }
    Ok(out)
}

fn by_id(brokers: &[Candidate]) -> Vec<i32> {
    let mut ids: Vec<i32> = brokers.iter().map(|b| b.id).collect();
    ids.sort_unstable();
    ids
}

/// Brokers ordered rack by rack in turn: the first of each rack, then the second of each, …
fn interleaved_by_rack(brokers: &[Candidate]) -> Vec<i32> {
    let mut per_rack: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for b in brokers {
        per_rack.entry(b.rack.as_deref().unwrap_or("")).or_default().push(b.id);
    }
    for ids in per_rack.values_mut() {
        ids.sort_unstable();
    }
    let deepest = per_rack.values().map(Vec::len).max().unwrap_or(0);
    let mut out = Vec::with_capacity(brokers.len());
    for i in 0..deepest {
        for ids in per_rack.values() {
            if let Some(id) = ids.get(i) {
                out.push(*id);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brokers(spec: &[(i32, Option<&str>)]) -> Vec<Candidate> {
        spec.iter().map(|(id, rack)| Candidate { id: *id, rack: rack.map(str::to_string) }).collect()
    }

    #[test]
    fn spreads_leaders_and_replicas_evenly_without_racks() {
        let b = brokers(&[(3, None), (1, None), (2, None)]);
        let placed = place(&b, 0, 6, 3, 0, 0).unwrap();
        // Every partition has 3 distinct replicas; each broker leads 2 of 6 and holds 6 replicas.
        for r in &placed {
            let mut s = r.clone();
            s.sort_unstable();
            s.dedup();
            assert_eq!(s.len(), 3, "{r:?}");
        }
        for id in 1..=3 {
            assert_eq!(placed.iter().filter(|r| r[0] == id).count(), 2, "leaders of {id}: {placed:?}");
        }
        assert_eq!(placed[0], vec![1, 2, 3]);
        assert_eq!(placed[1][0], 2);
        // The start moves the first leader.
        assert_eq!(place(&b, 0, 1, 1, 2, 0).unwrap(), vec![vec![3]]);
        // Added partitions continue the pattern from their index.
        assert_eq!(place(&b, 4, 1, 1, 0, 0).unwrap(), vec![vec![2]]);
    }

    #[test]
    fn refuses_more_replicas_than_brokers_and_mixed_racks() {
        let b = brokers(&[(1, None), (2, None)]);
        let e = place(&b, 0, 1, 3, 0, 0).unwrap_err();
        assert!(e.0.contains("only 2 broker(s) are registered"), "{e:?}");
        assert!(place(&b, 0, 1, 0, 0, 0).is_err());
        let mixed = brokers(&[(1, Some("a")), (2, None)]);
        assert!(place(&mixed, 0, 1, 1, 0, 0).unwrap_err().0.contains("rack information"));
    }

    #[test]
    fn puts_replicas_in_different_racks() {
        // Two racks, unbalanced: a has 1, 2, 3; b has 4.
        let b = brokers(&[(1, Some("a")), (2, Some("a")), (3, Some("a")), (4, Some("b"))]);
        for start in 0..4 {
            for shift in 0..4 {
                let placed = place(&b, 0, 8, 2, start, shift).unwrap();
                for r in &placed {
                    assert!(
                        r.contains(&4),
                        "with RF 2 every partition spans both racks: {r:?} (start {start}, shift {shift})"
                    );
                    assert_ne!(r[0], r[1]);
                }
            }
        }
        // RF 3 over two racks: both racks used, three distinct brokers.
        for r in place(&b, 0, 8, 3, 1, 2).unwrap() {
            assert!(r.contains(&4) && r.len() == 3, "{r:?}");
        }
    }
}
