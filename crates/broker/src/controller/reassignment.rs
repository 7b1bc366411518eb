//! Partition reassignment (KIP-455, as KRaft runs it): moving a partition's replicas to other
//! brokers while it stays available.
//!
//! Starting one makes the replica set the union of target and current (target first), with
//! `adding` = target − current and `removing` = current − target; the new replicas start as
//! followers and copy the data from the leader. Once every adding replica is in the ISR, the
//! controller completes it: replicas become the target, the ISR keeps only target members, and
//! a leader being removed hands over to the first in-sync target replica. Cancelling goes back to
//! the original replicas. All of it is pure: image in, [`PartitionChange`] out.

use crate::codes;
use crate::metadata::{PartitionChange, PartitionImage, NO_LEADER};

/// The change that starts moving `p` to `target`. `usable(id)`: may this broker take a replica.
pub fn start(
    p: &PartitionImage,
    target: &[i32],
    usable: impl Fn(i32) -> bool,
    allow_rf_change: bool,
) -> Result<Option<PartitionChange>, (i16, String)> {
    if target.is_empty() {
        return Err((codes::INVALID_REPLICA_ASSIGNMENT, "The target replica list is empty.".into()));
    }
    let mut distinct = target.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() != target.len() {
        return Err((codes::INVALID_REPLICA_ASSIGNMENT, format!("Duplicate replicas in the target {target:?}.")));
    }
    if let Some(b) = target.iter().find(|b| !usable(**b)) {
        return Err((codes::INVALID_REPLICA_ASSIGNMENT, format!("The target replica {b} is not a live broker.")));
    }
    let original = original_replicas(p);
    if !allow_rf_change && target.len() != original.len() {
        return Err((
            codes::INVALID_REPLICATION_FACTOR,
            format!(
                "The replication factor would change from {} to {}, and the request does not allow that.",
                original.len(),
                target.len()
            ),
        ));
    }
    if target == original.as_slice() && p.adding.is_empty() && p.removing.is_empty() {
        return Ok(None);
    }
    let mut replicas = target.to_vec();
    for r in &original {
        if !replicas.contains(r) {
            replicas.push(*r);
        }
    }
    let adding: Vec<i32> = target.iter().copied().filter(|r| !original.contains(r)).collect();
    let removing: Vec<i32> = original.iter().copied().filter(|r| !target.contains(r)).collect();
    let isr: Vec<i32> = p.isr.iter().copied().filter(|r| replicas.contains(r)).collect();
    Ok(Some(PartitionChange {
        expected_partition_epoch: Some(p.partition_epoch),
        replicas: Some(replicas),
        adding: Some(adding),
        removing: Some(removing),
        isr: Some(isr),
        ..Default::default()
    }))
}

/// The replicas before any reassignment in progress.
pub fn original_replicas(p: &PartitionImage) -> Vec<i32> {
    p.replicas.iter().copied().filter(|r| !p.adding.contains(r)).collect()
}

/// The replicas a reassignment in progress is moving to.
pub fn target_replicas(p: &PartitionImage) -> Vec<i32> {
    p.replicas.iter().copied().filter(|r| !p.removing.contains(r)).collect()
}

/// The change that cancels the reassignment in progress.
pub fn cancel(p: &PartitionImage) -> Result<PartitionChange, (i16, String)> {
    if p.adding.is_empty() && p.removing.is_empty() {
        return Err((codes::NO_REASSIGNMENT_IN_PROGRESS, "No reassignment is in progress for this partition.".into()));
    }
    Ok(finish(p, original_replicas(p)))
}

/// The change that completes the reassignment once every adding replica is in sync.
pub fn completion(p: &PartitionImage) -> Option<PartitionChange> {
    if p.adding.is_empty() && p.removing.is_empty() {
        return None;
    }
    if !p.adding.iter().all(|r| p.isr.contains(r)) {
        return None;
    }
    Some(finish(p, target_replicas(p)))
}

/// Ends a reassignment with `replicas` as the replica set.
fn finish(p: &PartitionImage, replicas: Vec<i32>) -> PartitionChange {
    let mut isr: Vec<i32> = p.isr.iter().copied().filter(|r| replicas.contains(r)).collect();
    let leader = if replicas.contains(&p.leader) {
        p.leader
    } else {
        replicas.iter().copied().find(|r| isr.contains(r)).unwrap_or(NO_LEADER)
    };
    if isr.is_empty() {
        // Never empty: keep the first replica so it can lead cleanly when it returns.
        isr = vec![replicas[0]];
    }
    isr.sort_unstable();
    PartitionChange {
        expected_partition_epoch: Some(p.partition_epoch),
        leader: Some(leader),
        replicas: Some(replicas),
        adding: Some(Vec::new()),
        removing: Some(Vec::new()),
        isr: Some(isr),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(replicas: &[i32], isr: &[i32], leader: i32) -> PartitionImage {
        PartitionImage {
            replicas: replicas.to_vec(),
            isr: isr.to_vec(),
            leader,
            leader_epoch: 0,
            partition_epoch: 4,
            adding: vec![],
            removing: vec![],
        }
    }

    fn apply(p: &PartitionImage, c: &PartitionChange) -> PartitionImage {
        PartitionImage {
            replicas: c.replicas.clone().unwrap_or(p.replicas.clone()),
            isr: c.isr.clone().unwrap_or(p.isr.clone()),
            leader: c.leader.unwrap_or(p.leader),
            adding: c.adding.clone().unwrap_or(p.adding.clone()),
            removing: c.removing.clone().unwrap_or(p.removing.clone()),
            ..p.clone()
        }
    }

    #[test]
    fn a_move_adds_first_and_removes_when_the_new_replicas_are_in_sync() {
        let before = p(&[1, 2], &[1, 2], 1);
        let started = apply(&before, &start(&before, &[3, 2], |_| true, true).unwrap().unwrap());
        assert_eq!(
            (started.replicas.clone(), started.adding.clone(), started.removing.clone()),
            (vec![3, 2, 1], vec![3], vec![1])
        );
        assert_eq!(target_replicas(&started), vec![3, 2]);
        assert_eq!(original_replicas(&started), vec![2, 1]);
        assert!(completion(&started).is_none(), "3 is not in sync yet");
        let synced = PartitionImage { isr: vec![1, 2, 3], ..started };
        let done = apply(&synced, &completion(&synced).unwrap());
        assert_eq!(
            (done.replicas, done.isr, done.leader),
            (vec![3, 2], vec![2, 3], 3),
            "the removed leader hands over to the first in-sync target"
        );
        assert!(done.adding.is_empty() && done.removing.is_empty());
    }

    #[test]
    fn refusals_and_cancellation() {
        let before = p(&[1, 2], &[1, 2], 1);
        assert_eq!(start(&before, &[], |_| true, true).unwrap_err().0, codes::INVALID_REPLICA_ASSIGNMENT);
        assert_eq!(start(&before, &[3, 3], |_| true, true).unwrap_err().0, codes::INVALID_REPLICA_ASSIGNMENT);
        assert_eq!(start(&before, &[3, 4], |b| b != 4, true).unwrap_err().0, codes::INVALID_REPLICA_ASSIGNMENT);
        assert_eq!(start(&before, &[1, 2, 3], |_| true, false).unwrap_err().0, codes::INVALID_REPLICATION_FACTOR);
        assert_eq!(start(&before, &[1, 2], |_| true, true).unwrap(), None, "already there");
        assert_eq!(cancel(&before).unwrap_err().0, codes::NO_REASSIGNMENT_IN_PROGRESS);
        let started = apply(&before, &start(&before, &[3, 4], |_| true, true).unwrap().unwrap());
        let back = apply(&started, &cancel(&started).unwrap());
        assert_eq!((back.replicas, back.isr, back.leader), (vec![1, 2], vec![1, 2], 1));
    }
}
