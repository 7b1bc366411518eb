//! The cluster's event timeline: leader changes, ISR changes, truncations, controller changes,
//! brokers fenced and unfenced, faults injected — with times, for the studio's replication view.
//!
//! One [`EventLog`] is shared by every broker of an embedded cluster. Events that come from the
//! metadata log are recorded by whichever broker applies the command first (every broker applies
//! the same commands, so the log index de-duplicates them); events only one broker sees
//! (truncating its own replica, a fault) are recorded by that broker.
//!
//! Bounded: the newest [`EVENTS_MAX`] are kept.

use serde::Serialize;
use std::collections::VecDeque;
use std::sync::Mutex;

/// Events kept; older ones are dropped first.
pub const EVENTS_MAX: usize = 2_000;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ClusterEvent {
    LeaderChanged { topic: String, partition: i32, from: i32, to: i32, leader_epoch: i32, unclean: bool },
    IsrChanged { topic: String, partition: i32, from: Vec<i32>, to: Vec<i32> },
    Truncated { topic: String, partition: i32, broker: i32, from: i64, to: i64 },
    ControllerChanged { from: Option<i32>, to: Option<i32> },
    BrokerRegistered { broker: i32 },
    BrokerFenced { broker: i32 },
    BrokerUnfenced { broker: i32 },
    TopicCreated { topic: String, partitions: i32, replication_factor: i16 },
    TopicDeleted { topic: String },
    ReassignmentStarted { topic: String, partition: i32, target: Vec<i32> },
    ReassignmentCompleted { topic: String, partition: i32, replicas: Vec<i32> },
    Fault { broker: i32, action: String, detail: String },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TimedEvent {
    /// Position in the timeline since the process started (for clients polling "since").
    pub seq: u64,
    pub time_ms: i64,
    #[serde(flatten)]
    pub event: ClusterEvent,
}

#[derive(Default)]
struct Inner {
    events: VecDeque<TimedEvent>,
    next_seq: u64,
    /// The highest metadata log index whose events were recorded.
    metadata_index: u64,
}

#[derive(Default)]
pub struct EventLog {
    inner: Mutex<Inner>,
}

impl EventLog {
    pub fn record(&self, event: ClusterEvent) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        push(&mut inner, event);
    }

    /// Records the events of metadata command `index` unless another broker already did.
    pub fn record_metadata(&self, index: u64, events: impl FnOnce() -> Vec<ClusterEvent>) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if index <= inner.metadata_index {
            return;
        }
        inner.metadata_index = index;
        for e in events() {
            push(&mut inner, e);
        }
    }

    /// Events after `seq` (all kept ones for 0), oldest first.
    pub fn since(&self, seq: u64) -> Vec<TimedEvent> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.events.iter().filter(|e| e.seq > seq).cloned().collect()
    }
}

fn push(inner: &mut Inner, event: ClusterEvent) {
    inner.next_seq += 1;
    let time_ms =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
    inner.events.push_back(TimedEvent { seq: inner.next_seq, time_ms, event });
    while inner.events.len() > EVENTS_MAX {
        inner.events.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_events_are_recorded_once_and_the_log_is_bounded() {
        let log = EventLog::default();
        log.record_metadata(5, || vec![ClusterEvent::BrokerFenced { broker: 1 }]);
        log.record_metadata(5, || vec![ClusterEvent::BrokerFenced { broker: 1 }]);
        log.record_metadata(4, || vec![ClusterEvent::BrokerFenced { broker: 9 }]);
        assert_eq!(log.since(0).len(), 1);
        for i in 0..(EVENTS_MAX + 10) {
            log.record(ClusterEvent::BrokerRegistered { broker: i as i32 });
        }
        let all = log.since(0);
        assert_eq!(all.len(), EVENTS_MAX);
        assert!(all.windows(2).all(|w| w[0].seq < w[1].seq));
        assert_eq!(log.since(all[EVENTS_MAX - 2].seq).len(), 1);
    }
}
