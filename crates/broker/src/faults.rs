//! Fault switches: what the observer/fault API flips to make one broker misbehave for real.
//!
//! - **pause**: the broker stays connected but stops answering — request handling, replica
//!   fetching and its quorum node wait until resumed (a SIGSTOPped process, as others see it);
//! - **cut links**: replication between two brokers stops both ways — fetchers refuse to
//!   connect and a leader closes a fetching follower's connection (the controller channel stays
//!   up; see `cluster.rs`);
//! - **slow disk**: every append to the broker's logs (leader and follower) first waits the
//!   given time.
//!
//! Stopping and killing a broker are not switches: they stop the broker itself (see
//! `cluster.rs`). Links are shared by the whole embedded cluster ([`NetFaults`]); the other
//! switches belong to one broker ([`BrokerFaults`]).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// Cut links between brokers, by unordered pair.
#[derive(Default)]
pub struct NetFaults {
    cut: Mutex<BTreeSet<(i32, i32)>>,
}

fn pair(a: i32, b: i32) -> (i32, i32) {
    (a.min(b), a.max(b))
}

impl NetFaults {
    pub fn cut(&self, a: i32, b: i32) -> bool {
        self.cut.lock().unwrap_or_else(|p| p.into_inner()).insert(pair(a, b))
    }

    pub fn heal(&self, a: i32, b: i32) -> bool {
        self.cut.lock().unwrap_or_else(|p| p.into_inner()).remove(&pair(a, b))
    }

    pub fn reachable(&self, a: i32, b: i32) -> bool {
        a == b || !self.cut.lock().unwrap_or_else(|p| p.into_inner()).contains(&pair(a, b))
    }

    pub fn cut_links(&self) -> Vec<(i32, i32)> {
        self.cut.lock().unwrap_or_else(|p| p.into_inner()).iter().copied().collect()
    }
}

/// One broker's switches.
pub struct BrokerFaults {
    paused: watch::Sender<bool>,
    disk_delay_ms: AtomicU64,
    pub net: Arc<NetFaults>,
}

impl BrokerFaults {
    pub fn new(net: Arc<NetFaults>) -> BrokerFaults {
        BrokerFaults { paused: watch::channel(false).0, disk_delay_ms: AtomicU64::new(0), net }
    }

    pub fn set_paused(&self, paused: bool) {
        self.paused.send_replace(paused);
    }

    pub fn paused(&self) -> bool {
        *self.paused.borrow()
    }

    /// Returns at once unless paused; then when resumed.
    pub async fn wait_running(&self) {
        let mut rx = self.paused.subscribe();
        let _ = rx.wait_for(|p| !*p).await;
    }

    pub fn set_disk_delay_ms(&self, ms: u64) {
        self.disk_delay_ms.store(ms, Ordering::Relaxed);
    }

    pub fn disk_delay_ms(&self) -> u64 {
        self.disk_delay_ms.load(Ordering::Relaxed)
    }

    /// The slow-disk wait before an append (none unless set).
    pub async fn disk_delay(&self) {
        let ms = self.disk_delay_ms();
        if ms > 0 {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
    }

    pub fn reachable(&self, a: i32, b: i32) -> bool {
        self.net.reachable(a, b)
    }
}
