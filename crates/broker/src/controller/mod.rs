//! The controller: the broker whose quorum node leads the metadata log acts as KRaft's active
//! controller. It alone knows which brokers are alive (their heartbeats reach it), so it alone
//! fences and unfences brokers, and with them moves leaderships and ISRs (see [`election`]).
//!
//! - **Heartbeats** (`broker.heartbeat.interval.ms`): every broker sends one to the active
//!   controller through the quorum's ask channel ([`Heartbeat`]). A registered broker starts
//!   fenced; once its heartbeat shows it has applied the metadata log up to its registration,
//!   the controller unfences it and gives it back the offline partitions it can lead.
//! - **Session expiry** (`broker.session.timeout.ms`): a broker silent for longer is fenced, and
//!   in the same atomic group leaves every ISR and leadership (new leaders from the ISR;
//!   unclean ones only where `unclean.leader.election.enable`).
//! - **Controlled shutdown**: a heartbeat with `want_shutdown` moves leaderships away first,
//!   then fences the broker, so a graceful stop loses no availability.
//! - **Preferred leaders** (`auto.leader.rebalance.enable`): every
//!   `leader.imbalance.check.interval.seconds`, a broker leading too few of the partitions it is
//!   preferred for (more than `leader.imbalance.per.broker.percentage` off) gets them back.
//!
//! A new active controller has no heartbeat history: it gives every broker a full session from
//! the moment it took over, as KRaft's does. Everything it decides goes through the metadata log
//! like any other change; what it holds in memory is only heartbeat times.
//!
//! Replica placement for new topics is in [`placement`], used by whichever broker takes the
//! CreateTopics request.

pub mod election;
pub mod placement;
pub mod reassignment;

use crate::broker::BrokerState;
use crate::codes;
use crate::metadata::{MetadataImage, MetadataRecord};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// What a broker tells the active controller.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Heartbeat {
    pub broker: i32,
    pub incarnation: Uuid,
    /// The metadata log index this broker has applied.
    pub applied: u64,
    /// The metadata log index this broker's replicas are reconciled with (KRaft brokers report
    /// their metadata offset the same way); a broker heartbeats as soon as it moves.
    #[serde(default)]
    pub reconciled: u64,
    pub want_shutdown: bool,
}

/// What travels over the quorum's ask channel to the active controller.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) enum ControllerRequest {
    Heartbeat(Heartbeat),
    /// Answers once every listed broker has reported reconciling `index` (or the timeout
    /// passes): CreateTopics waits so that the new partitions are served when it answers.
    AwaitReconciled {
        brokers: Vec<i32>,
        index: u64,
        timeout_ms: u64,
    },
    /// Answers with the metadata index the controller has applied (`HeartbeatReply::applied`):
    /// a broker about to decide on its own image catches up to it first.
    LatestApplied,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct HeartbeatReply {
    /// `Some` when the heartbeat was not taken: NOT_CONTROLLER (ask again),
    /// STALE_BROKER_EPOCH (register again).
    pub error: Option<(i16, String)>,
    pub fenced: bool,
    /// Controlled shutdown may proceed: this broker leads nothing and is fenced.
    pub shutdown_ready: bool,
    /// The controller's applied metadata index (answers `LatestApplied`; 0 otherwise).
    #[serde(default)]
    pub applied: u64,
}

impl HeartbeatReply {
    fn error(code: i16, message: impl Into<String>) -> HeartbeatReply {
        HeartbeatReply { error: Some((code, message.into())), fenced: true, shutdown_ready: false, applied: 0 }
    }
}

/// In-memory state of this broker's controller role.
#[derive(Default)]
pub(crate) struct Controller {
    last_heartbeat: Mutex<HashMap<i32, Instant>>,
    /// Reconciled metadata index per broker, from heartbeats; `reported` wakes waiters.
    reconciled: Mutex<HashMap<i32, u64>>,
    reported: tokio::sync::Notify,
    /// The quorum term in which this controller became active (None: not active).
    active_term: Mutex<Option<u64>>,
    last_rebalance: Mutex<Option<Instant>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Serves heartbeats arriving through the quorum's ask channel.
pub(crate) struct AskHandler(pub Weak<BrokerState>);

impl oxbow_quorum::AskHandler for AskHandler {
    fn ask(&self, request: Vec<u8>) -> std::pin::Pin<Box<dyn std::future::Future<Output = Vec<u8>> + Send>> {
        let state = self.0.clone();
        Box::pin(async move {
            let reply = match (state.upgrade(), serde_json::from_slice::<ControllerRequest>(&request)) {
                (None, _) => HeartbeatReply::error(codes::NOT_CONTROLLER, "this broker is stopping"),
                (_, Err(e)) => HeartbeatReply::error(codes::INVALID_REQUEST, format!("bad controller request: {e}")),
                (Some(state), Ok(ControllerRequest::Heartbeat(hb))) => heartbeat(&state, hb).await,
                (Some(state), Ok(ControllerRequest::AwaitReconciled { brokers, index, timeout_ms })) => {
                    await_reconciled(&state, &brokers, index, timeout_ms).await
                }
                (Some(state), Ok(ControllerRequest::LatestApplied)) => {
                    if is_active(&state) {
                        HeartbeatReply {
                            error: None,
                            fenced: false,
                            shutdown_ready: false,
                            applied: state.image().applied,
                        }
                    } else {
                        HeartbeatReply::error(codes::NOT_CONTROLLER, "this broker is not the active controller")
                    }
                }
            };
            serde_json::to_vec(&reply).expect("reply serialises")
        })
    }
}

/// Whether broker `id` may lead partitions: registered, unfenced, not shutting down.
fn usable(image: &MetadataImage, id: i32) -> bool {
    image.brokers.get(&id).is_some_and(|b| !b.fenced && !b.in_controlled_shutdown)
}

fn is_active(state: &BrokerState) -> bool {
    state.quorum.status().role == oxbow_quorum::Role::Leader
}

async fn heartbeat(state: &Arc<BrokerState>, hb: Heartbeat) -> HeartbeatReply {
    if !is_active(state) {
        return HeartbeatReply::error(codes::NOT_CONTROLLER, "this broker is not the active controller");
    }
    let image = state.image();
    let Some(reg) = image.brokers.get(&hb.broker) else {
        return HeartbeatReply::error(codes::STALE_BROKER_EPOCH, format!("broker {} is not registered", hb.broker));
    };
    if reg.incarnation != hb.incarnation {
        return HeartbeatReply::error(
            codes::STALE_BROKER_EPOCH,
            format!("broker {} registered again since", hb.broker),
        );
    }
    lock(&state.controller.last_heartbeat).insert(hb.broker, Instant::now());
    lock(&state.controller.reconciled).insert(hb.broker, hb.reconciled);
    state.controller.reported.notify_waiters();
    if hb.want_shutdown {
        if !reg.fenced {
            let mut group = vec![MetadataRecord::BeginControlledShutdown { id: hb.broker }];
            group.extend(election::move_away_from(
                &image,
                hb.broker,
                |id| usable(&image, id),
                |t| unclean(state, &image, t),
            ));
            group.push(MetadataRecord::FenceBroker { id: hb.broker });
            if let Err(e) = state.propose(vec![group]).await.map(|mut r| r.remove(0)) {
                return HeartbeatReply::error(e.code, e.message);
            }
            tracing::info!(broker = hb.broker, "controlled shutdown: leaderships moved away and the broker fenced");
        }
        return HeartbeatReply { error: None, fenced: true, shutdown_ready: true, applied: 0 };
    }
    if reg.fenced && hb.applied >= reg.epoch {
        let mut group = vec![MetadataRecord::UnfenceBroker { id: hb.broker }];
        group.extend(election::bring_back(&image, hb.broker, |t| unclean(state, &image, t)));
        match state.propose(vec![group]).await {
            Ok(mut r) => {
                if let Err(e) = r.remove(0) {
                    return HeartbeatReply::error(e.code, e.message);
                }
                tracing::info!(broker = hb.broker, "broker caught up with the metadata log; unfenced");
                return HeartbeatReply { error: None, fenced: false, shutdown_ready: false, applied: 0 };
            }
            Err(e) => return HeartbeatReply::error(e.code, e.message),
        }
    }
    HeartbeatReply { error: None, fenced: reg.fenced, shutdown_ready: false, applied: 0 }
}

/// Longest a CreateTopics waits for the new partitions' brokers.
const AWAIT_RECONCILED_MS_MAX: u64 = 10_000;

async fn await_reconciled(state: &Arc<BrokerState>, brokers: &[i32], index: u64, timeout_ms: u64) -> HeartbeatReply {
    if !is_active(state) {
        return HeartbeatReply::error(codes::NOT_CONTROLLER, "this broker is not the active controller");
    }
    let deadline = tokio::time::Instant::now() + Duration::from_millis(timeout_ms.min(AWAIT_RECONCILED_MS_MAX));
    loop {
        // Register before checking, so a report between the check and the wait is not missed.
        let reported = state.controller.reported.notified();
        let done = {
            let r = lock(&state.controller.reconciled);
            let image = state.image();
            // A broker that is not live will not report; waiting for it would only time out.
            brokers.iter().all(|b| !image.is_live(*b) || r.get(b).is_some_and(|i| *i >= index))
        };
        if done {
            return HeartbeatReply { error: None, fenced: false, shutdown_ready: false, applied: 0 };
        }
        if tokio::time::timeout_at(deadline, reported).await.is_err() {
            return HeartbeatReply::error(codes::REQUEST_TIMED_OUT, "brokers did not report the change in time");
        }
    }
}

/// Waits (bounded) until `brokers` have reconciled metadata `index`, through the controller.
pub(crate) async fn wait_for_brokers(state: &Arc<BrokerState>, brokers: Vec<i32>, index: u64) {
    let request = ControllerRequest::AwaitReconciled { brokers, index, timeout_ms: AWAIT_RECONCILED_MS_MAX };
    let bytes = serde_json::to_vec(&request).expect("request serialises");
    let wait = Duration::from_millis(AWAIT_RECONCILED_MS_MAX + 2_000);
    if let Ok(Ok(reply)) = tokio::time::timeout(wait, state.quorum.ask_leader(bytes)).await {
        if let Ok(HeartbeatReply { error: Some((_, message)), .. }) = serde_json::from_slice::<HeartbeatReply>(&reply) {
            tracing::debug!(index, "waiting for brokers to apply a change: {message}");
        }
    }
}

/// Longest a broker waits to catch up with the controller's metadata before deciding on it.
const CATCH_UP_MS_MAX: u64 = 5_000;

/// Waits (bounded) until this broker has reconciled every metadata change the active controller
/// had applied when asked. Requests that Kafka forwards to the controller (ElectLeaders) decide
/// on this broker's image, which may trail the controller's by a change or two; without this an
/// election asked of a lagging broker would be refused for a replica that is already in sync.
/// On no answer it goes on with the image it has.
pub(crate) async fn catch_up_with_controller(state: &Arc<BrokerState>) {
    let bytes = serde_json::to_vec(&ControllerRequest::LatestApplied).expect("request serialises");
    let wait = Duration::from_millis(CATCH_UP_MS_MAX);
    let Ok(Ok(reply)) = tokio::time::timeout(wait, state.quorum.ask_leader(bytes)).await else { return };
    let Ok(HeartbeatReply { error: None, applied, .. }) = serde_json::from_slice::<HeartbeatReply>(&reply) else {
        return;
    };
    let mut rx = state.subscribe_reconciled();
    let _ = tokio::time::timeout(wait, rx.wait_for(|r| *r >= applied)).await;
}

fn unclean(state: &BrokerState, image: &MetadataImage, topic: &str) -> bool {
    image.topics.get(topic).is_some_and(|t| state.unclean_election_enabled(image, t))
}

/// One controller tick (every few hundred ms on every broker; acts only on the active one):
/// session expiry, offline partitions that can be led again, preferred-leader rebalance.
pub(crate) async fn tick(state: &Arc<BrokerState>) {
    let status = state.quorum.status();
    {
        let mut term = lock(&state.controller.active_term);
        if status.role != oxbow_quorum::Role::Leader {
            *term = None;
            return;
        }
        if *term != Some(status.term) {
            // Newly active: every broker gets a full session from now.
            *term = Some(status.term);
            let now = Instant::now();
            let image = state.image();
            let mut hb = lock(&state.controller.last_heartbeat);
            hb.clear();
            for id in image.brokers.keys() {
                hb.insert(*id, now);
            }
            *lock(&state.controller.last_rebalance) = Some(now);
            tracing::info!(node = state.config.node_id, term = status.term, "this broker is now the active controller");
            state
                .events
                .record(crate::events::ClusterEvent::ControllerChanged { from: None, to: Some(state.config.node_id) });
        }
    }
    let image = state.image();
    let session = Duration::from_millis(state.config.broker_session_timeout_ms);
    let expired: Vec<i32> = {
        let hb = lock(&state.controller.last_heartbeat);
        image.live_brokers().map(|b| b.id).filter(|id| hb.get(id).is_none_or(|t| t.elapsed() > session)).collect()
    };
    for id in expired {
        let image = state.image();
        let mut group = vec![MetadataRecord::FenceBroker { id }];
        group.extend(election::move_away_from(
            &image,
            id,
            |b| b != id && usable(&image, b),
            |t| unclean(state, &image, t),
        ));
        match state.propose(vec![group]).await {
            Ok(r) if r[0].is_ok() => tracing::warn!(
                broker = id,
                session_ms = session.as_millis() as u64,
                "broker missed its heartbeats for broker.session.timeout.ms; fenced"
            ),
            Ok(r) => tracing::debug!(broker = id, error = ?r[0], "fencing refused"),
            Err(e) => tracing::debug!(broker = id, error = %e.message, "fencing not committed"),
        }
    }
    // Offline partitions whose ISR holds a usable broker (or, with unclean election, any replica).
    let image = state.image();
    let mut revive = Vec::new();
    for b in image.live_brokers().filter(|b| !b.in_controlled_shutdown) {
        revive.extend(election::bring_back(&image, b.id, |t| unclean(state, &image, t)));
    }
    // Reassignments whose new replicas are all in sync.
    for t in image.topics.values() {
        for (i, p) in t.partitions.iter().enumerate() {
            if let Some(change) = reassignment::completion(p) {
                revive.push(MetadataRecord::ChangePartition { topic: t.name.clone(), partition: i as i32, change });
            }
        }
    }
    if !revive.is_empty() {
        // One group per partition, so a stale one fails alone.
        let _ = state.propose(revive.into_iter().map(|r| vec![r]).collect()).await;
    }
    if state.config.auto_leader_rebalance_enable {
        let due = lock(&state.controller.last_rebalance)
            .is_none_or(|t| t.elapsed() >= Duration::from_millis(state.config.leader_imbalance_check_interval_ms));
        if due {
            *lock(&state.controller.last_rebalance) = Some(Instant::now());
            rebalance_preferred(state).await;
        }
    }
}

/// Kafka's auto leader rebalance: a broker leading fewer than (100 - imbalance)% of the
/// partitions it is preferred for gets those back where it is in sync.
async fn rebalance_preferred(state: &Arc<BrokerState>) {
    let image = state.image();
    let mut preferred: HashMap<i32, (usize, usize)> = HashMap::new(); // broker -> (preferred for, not leading)
    for t in image.topics.values() {
        for p in &t.partitions {
            let e = preferred.entry(p.replicas[0]).or_default();
            e.0 += 1;
            if p.leader != p.replicas[0] {
                e.1 += 1;
            }
        }
    }
    let ratio_max = state.config.leader_imbalance_per_broker_percentage as f64 / 100.0;
    let mut groups = Vec::new();
    for (broker, (total, off)) in preferred {
        if total == 0 || (off as f64 / total as f64) <= ratio_max || !usable(&image, broker) {
            continue;
        }
        for t in image.topics.values() {
            for (i, p) in t.partitions.iter().enumerate() {
                if p.replicas[0] == broker {
                    if let election::Elected::Change(r) =
                        election::elect_preferred(&t.name, i, p, |id| usable(&image, id))
                    {
                        groups.push(vec![r]);
                    }
                }
            }
        }
    }
    if !groups.is_empty() {
        tracing::info!(partitions = groups.len(), "preferred leader rebalance");
        let _ = state.propose(groups).await;
    }
}

/// The heartbeat loop of one broker: registers when needed, heartbeats every
/// `broker.heartbeat.interval.ms`. Ends when the broker shuts down.
pub(crate) async fn heartbeat_loop(state: Arc<BrokerState>) {
    let every = Duration::from_millis(state.config.broker_heartbeat_interval_ms);
    let mut shutdown = state.shutdown.clone();
    let mut reconciled = state.subscribe_reconciled();
    let mut registered = false;
    loop {
        state.faults.wait_running().await;
        if !registered {
            match state.register().await {
                Ok(()) => registered = true,
                Err(e) => tracing::debug!(error = %e.message, "registration not committed yet; retrying"),
            }
        }
        if registered {
            match send_heartbeat(&state, false).await {
                Ok(reply) => {
                    if let Some((code, message)) = reply.error {
                        if code == codes::STALE_BROKER_EPOCH {
                            tracing::info!(reason = %message, "re-registering with the controller");
                            registered = false;
                        }
                    }
                }
                Err(e) => tracing::debug!(error = %e, "heartbeat did not reach the controller"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            // Report a reconciled change at once (waiting creators hear of it sooner).
            _ = reconciled.changed() => {}
            _ = shutdown.changed() => return,
        }
    }
}

pub(crate) async fn send_heartbeat(state: &Arc<BrokerState>, want_shutdown: bool) -> Result<HeartbeatReply, String> {
    let hb = Heartbeat {
        broker: state.config.node_id,
        incarnation: state.incarnation,
        applied: state.image().applied,
        reconciled: state.reconciled_index(),
        want_shutdown,
    };
    let bytes = serde_json::to_vec(&ControllerRequest::Heartbeat(hb)).expect("heartbeat serialises");
    let timeout = Duration::from_millis(state.config.broker_heartbeat_interval_ms.max(1000) * 2);
    let reply = tokio::time::timeout(timeout, state.quorum.ask_leader(bytes))
        .await
        .map_err(|_| "timed out".to_string())?
        .map_err(|e| e.to_string())?;
    serde_json::from_slice(&reply).map_err(|e| format!("bad heartbeat reply: {e}"))
}

/// Controlled shutdown: asks the controller to move leaderships away and fence this broker,
/// retrying until it agrees or `deadline` passes (then the broker stops anyway; its session
/// expiry does the same work later).
pub(crate) async fn controlled_shutdown(state: &Arc<BrokerState>, deadline: Instant) {
    while Instant::now() < deadline {
        match send_heartbeat(state, true).await {
            Ok(r) if r.shutdown_ready => return,
            Ok(r) => tracing::debug!(error = ?r.error, "controlled shutdown not acknowledged yet"),
            Err(e) => tracing::debug!(error = %e, "controlled shutdown request failed"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tracing::warn!("controlled shutdown was not acknowledged in time; stopping anyway");
}
