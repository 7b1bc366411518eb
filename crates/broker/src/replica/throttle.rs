//! Replication throttles (KIP-73): a broker may cap the bytes per second it serves to followers
//! of some replicas (`leader.replication.throttled.rate` for the replicas listed in a topic's
//! `leader.replication.throttled.replicas`) and the bytes per second its own followers copy
//! (`follower.replication.throttled.rate`, `follower.replication.throttled.replicas`).
//! `kafka-reassign-partitions --throttle` uses them to keep a reassignment from starving
//! clients.
//!
//! Each side is a token bucket holding at most one second of its rate. A throttled replica is
//! served (or fetched) only while the bucket is positive; what it then moves is charged after
//! the fact, so one batch may overdraw the bucket and the next ones wait until it refills — over
//! time the rate holds. Replicas that are not listed are never held back.

use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

/// No throttle (Kafka's default rate, Long.MAX_VALUE).
pub const UNTHROTTLED: u64 = i64::MAX as u64;

struct Bucket {
    rate_bytes_per_s: u64,
    tokens: f64,
    refilled: Instant,
}

impl Bucket {
    fn new() -> Bucket {
        Bucket { rate_bytes_per_s: UNTHROTTLED, tokens: 0.0, refilled: Instant::now() }
    }

    fn refill(&mut self) {
        let now = Instant::now();
        let burst = self.rate_bytes_per_s as f64;
        self.tokens = (self.tokens + burst * now.duration_since(self.refilled).as_secs_f64()).min(burst);
        self.refilled = now;
    }

    fn may(&mut self) -> bool {
        if self.rate_bytes_per_s == UNTHROTTLED {
            return true;
        }
        self.refill();
        self.tokens > 0.0
    }

    fn spend(&mut self, bytes: u64) {
        if self.rate_bytes_per_s != UNTHROTTLED {
            self.refill();
            self.tokens -= bytes as f64;
        }
    }

    fn set_rate(&mut self, rate_bytes_per_s: u64) {
        if rate_bytes_per_s != self.rate_bytes_per_s {
            self.rate_bytes_per_s = rate_bytes_per_s;
            self.tokens = rate_bytes_per_s.min(UNTHROTTLED) as f64;
            self.refilled = Instant::now();
        }
    }
}

pub(crate) struct Throttle {
    leader: Mutex<Bucket>,
    follower: Mutex<Bucket>,
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle { leader: Mutex::new(Bucket::new()), follower: Mutex::new(Bucket::new()) }
    }
}

fn lock(m: &Mutex<Bucket>) -> MutexGuard<'_, Bucket> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Throttle {
    pub fn set_rates(&self, leader_bytes_per_s: u64, follower_bytes_per_s: u64) {
        lock(&self.leader).set_rate(leader_bytes_per_s);
        lock(&self.follower).set_rate(follower_bytes_per_s);
    }

    /// Whether a throttled replica's follower may be sent records now.
    pub fn leader_may_send(&self) -> bool {
        lock(&self.leader).may()
    }

    pub fn leader_sent(&self, bytes: u64) {
        lock(&self.leader).spend(bytes);
    }

    /// Whether this broker's follower of a throttled replica may fetch now.
    pub fn follower_may_fetch(&self) -> bool {
        lock(&self.follower).may()
    }

    pub fn follower_fetched(&self, bytes: u64) {
        lock(&self.follower).spend(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_rate_and_no_more() {
        let t = Throttle::default();
        assert!(t.leader_may_send(), "unthrottled by default");
        t.leader_sent(u64::MAX / 4);
        assert!(t.leader_may_send(), "spending does not count while unthrottled");
        t.set_rates(1000, UNTHROTTLED);
        assert!(t.leader_may_send(), "a fresh rate starts with a second's worth");
        t.leader_sent(5000);
        assert!(!t.leader_may_send(), "overdrawn: wait for the refill");
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(!t.leader_may_send(), "50 ms at 1000 B/s refills 50 of the 4000 owed");
        assert!(t.follower_may_fetch(), "the follower side is independent");
    }
}
