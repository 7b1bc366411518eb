//! Results, ratios against the goals, and the stdout table.

use crate::broker::Flavor;
use crate::groups::GroupResult;
use crate::load::{CeilingResult, FailoverResult, LatencyResult, ThroughputResult};
use crate::txn::TxnResult;
use crate::Plan;
use std::fmt::Write as _;

/// One throughput phase: its figures, or why it failed.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Phase<T> {
    pub name: String,
    pub result: Result<T, String>,
    /// CPU cores the broker process used during the phase.
    pub broker_cpu_cores: f64,
}

impl<T> Phase<T> {
    pub fn new(name: String, result: anyhow::Result<T>, broker_cpu_cores: f64) -> Phase<T> {
        Phase { name, result: result.map_err(|error| format!("{error:#}")), broker_cpu_cores }
    }
}

/// Everything measured for one broker.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TargetReport {
    pub flavor: Flavor,
    /// /proc/loadavg before and after this broker's run: other work on the machine skews figures.
    pub load_average_before: Option<String>,
    pub load_average_after: Option<String>,
    /// Set when the broker could not be started; the other fields are then empty.
    pub error: Option<String>,
    pub startup_ms: Option<f64>,
    pub ready_line_ms: Option<f64>,
    pub rss_idle_bytes: Option<u64>,
    pub rss_load_peak_bytes: Option<u64>,
    pub produce: Vec<Phase<ThroughputResult>>,
    pub consume: Vec<Phase<ThroughputResult>>,
    pub latency: Option<Result<LatencyResult, String>>,
    /// Consumer-group join and leave times; None when the phase did not run.
    pub group: Option<Result<GroupResult, String>>,
    /// Transactional produce; None when the phase did not run.
    pub txn: Option<Result<TxnResult, String>>,
    /// The replication group (a cluster of this broker kind); None when it did not run.
    pub replication: Option<ReplicationReport>,
}

/// What the replication group measured on one cluster.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ReplicationReport {
    /// Set when the cluster could not be started; the other fields are then empty.
    pub error: Option<String>,
    /// Launch → every broker's ready line.
    pub ready_ms: Option<f64>,
    /// acks=all produce on the RF 3 topic; CPU is the whole cluster's.
    pub produce: Option<Phase<ThroughputResult>>,
    pub latency: Option<Result<LatencyResult, String>>,
    pub failover: Option<Result<FailoverResult, String>>,
}

impl ReplicationReport {
    pub fn failed(error: String) -> ReplicationReport {
        ReplicationReport { error: Some(error), ..ReplicationReport::default() }
    }

    fn latency(&self) -> Option<&LatencyResult> {
        self.latency.as_ref().and_then(|r| r.as_ref().ok())
    }

    fn failover(&self) -> Option<&FailoverResult> {
        self.failover.as_ref().and_then(|r| r.as_ref().ok())
    }
}

impl TargetReport {
    pub fn new(flavor: Flavor) -> TargetReport {
        TargetReport {
            flavor,
            load_average_before: load_average(),
            load_average_after: None,
            error: None,
            startup_ms: None,
            ready_line_ms: None,
            rss_idle_bytes: None,
            rss_load_peak_bytes: None,
            produce: Vec::new(),
            consume: Vec::new(),
            latency: None,
            group: None,
            txn: None,
            replication: None,
        }
    }

    fn group(&self) -> Option<&GroupResult> {
        self.group.as_ref().and_then(|r| r.as_ref().ok())
    }

    fn txn(&self) -> Option<&TxnResult> {
        self.txn.as_ref().and_then(|r| r.as_ref().ok())
    }

    /// The produce and consume phases, each list with its kind, in the order the table prints.
    fn throughput_phases(&self) -> [(&'static str, &[Phase<ThroughputResult>]); 2] {
        [("produce", &self.produce), ("consume", &self.consume)]
    }
}

/// Records/s and MB/s of the phase called `name`, when it ran and succeeded.
fn throughput(phases: &[Phase<ThroughputResult>], name: &str) -> Option<(f64, Option<f64>)> {
    let phase = phases.iter().find(|phase| phase.name == name)?;
    phase.result.as_ref().ok().map(|r| (r.records_per_s, Some(r.mb_per_s)))
}

#[derive(Clone, Copy, Debug, serde::Serialize)]
pub enum Goal {
    /// Oxbow/Kafka must be at least this (more is better).
    AtLeast(f64),
    /// Oxbow/Kafka must be at most this (less is better).
    AtMost(f64),
}

impl Goal {
    pub fn met(self, ratio: f64) -> bool {
        match self {
            Goal::AtLeast(goal) => ratio >= goal,
            Goal::AtMost(goal) => ratio <= goal,
        }
    }
    pub fn value(self) -> f64 {
        match self {
            Goal::AtLeast(goal) | Goal::AtMost(goal) => goal,
        }
    }
    fn label(self) -> String {
        match self {
            Goal::AtLeast(goal) => format!(">= {goal:.2}x"),
            Goal::AtMost(goal) => format!("<= {goal:.2}x"),
        }
    }
}

#[derive(Clone, Copy, Debug, serde::Serialize)]
pub enum Unit {
    RecordsPerS,
    TransactionsPerS,
    Ms,
    Bytes,
}

/// One row: a figure per broker, their ratio and the goal.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Metric {
    pub key: String,
    pub label: String,
    pub unit: Unit,
    pub oxbow: Option<f64>,
    pub kafka: Option<f64>,
    /// MB/s beside records/s for throughput rows.
    pub oxbow_mb_per_s: Option<f64>,
    pub kafka_mb_per_s: Option<f64>,
    /// Oxbow / Kafka; absent when either side is missing.
    pub ratio: Option<f64>,
    pub goal: Option<Goal>,
    pub met: Option<bool>,
    /// Why the ratio is not a fair comparison (a latency side that never got warm): the
    /// status shows it instead of met or not.
    pub caveat: Option<String>,
}

/// Picks one figure (and MB/s, for throughput) out of a broker's results.
type Pick<'a> = &'a dyn Fn(&TargetReport) -> Option<(f64, Option<f64>)>;

#[derive(Clone, Debug, serde::Serialize)]
pub struct Report {
    pub plan: Plan,
    pub kafka_version: Option<String>,
    pub machine: Machine,
    pub producer_settings: Vec<(String, String)>,
    pub latency_producer_settings: Vec<(String, String)>,
    pub consumer_settings: Vec<(String, String)>,
    pub failover_producer_settings: Vec<(String, String)>,
    pub group_consumer_settings: Vec<(String, String)>,
    pub txn_producer_settings: Vec<(String, String)>,
    /// What both single brokers were started with for the group phase.
    pub broker_group_settings: Vec<(String, String)>,
    pub generator_ceiling: Result<CeilingResult, String>,
    pub metrics: Vec<Metric>,
    pub targets: Vec<TargetReport>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Machine {
    pub cores: usize,
    pub kernel: Option<String>,
}

fn owned(settings: &[(&str, &str)]) -> Vec<(String, String)> {
    settings.iter().map(|(key, value)| (key.to_string(), value.to_string())).collect()
}

impl Report {
    pub fn new(
        plan: Plan,
        generator_ceiling: Result<CeilingResult, String>,
        targets: Vec<TargetReport>,
        kafka_version: Option<String>,
    ) -> Report {
        let find = |flavor: Flavor| targets.iter().find(|target| target.flavor == flavor);
        let oxbow = find(Flavor::Oxbow);
        let kafka = find(Flavor::Kafka);
        let mut metrics = Vec::new();
        let mut push = |key: String, label: String, unit: Unit, goal: Option<Goal>, pick: Pick<'_>| {
            let o = oxbow.and_then(pick);
            let k = kafka.and_then(pick);
            let ratio = match (o, k) {
                (Some((o, _)), Some((k, _))) if k > 0.0 => Some(o / k),
                _ => None,
            };
            metrics.push(Metric {
                key,
                label,
                unit,
                oxbow: o.map(|v| v.0),
                kafka: k.map(|v| v.0),
                oxbow_mb_per_s: o.and_then(|v| v.1),
                kafka_mb_per_s: k.and_then(|v| v.1),
                ratio,
                goal,
                met: ratio.zip(goal).map(|(ratio, goal)| goal.met(ratio)),
                caveat: None,
            });
        };
        for &size in &plan.record_sizes_bytes {
            for acks in ["1", "all"] {
                let name = format!("{size}b-acks-{acks}");
                push(
                    format!("produce_{size}b_acks_{acks}"),
                    format!("produce {size} B acks={acks}"),
                    Unit::RecordsPerS,
                    Some(Goal::AtLeast(1.5)),
                    &|target| throughput(&target.produce, &name),
                );
            }
        }
        for &size in &plan.record_sizes_bytes {
            let name = format!("{size}b");
            push(
                format!("consume_{size}b"),
                format!("consume {size} B"),
                Unit::RecordsPerS,
                Some(Goal::AtLeast(1.5)),
                &|target| throughput(&target.consume, &name),
            );
        }
        let latency = |target: &TargetReport| target.latency.as_ref().and_then(|r| r.as_ref().ok()).cloned();
        push("latency_p50".into(), format!("e2e latency p50 @{}/s", plan.latency_rate_per_s), Unit::Ms, None, &|t| {
            latency(t).map(|l| (l.p50_ms, None))
        });
        push(
            "latency_p99".into(),
            format!("e2e latency p99 @{}/s", plan.latency_rate_per_s),
            Unit::Ms,
            Some(Goal::AtMost(0.5)),
            &|t| latency(t).map(|l| (l.p99_ms, None)),
        );
        push(
            "latency_p999".into(),
            format!("e2e latency p99.9 @{}/s", plan.latency_rate_per_s),
            Unit::Ms,
            None,
            &|t| latency(t).map(|l| (l.p999_ms, None)),
        );
        let members = plan.group.members;
        let repetitions = plan.group.repetitions;
        for (key, label, pick) in [
            (
                "group_join_median",
                format!("group join ({members}), median of {repetitions}"),
                (|g: &GroupResult| g.join_median_ms) as fn(&GroupResult) -> f64,
            ),
            ("group_join_max", format!("group join ({members}), max of {repetitions}"), |g: &GroupResult| {
                g.join_max_ms
            }),
            (
                "group_leave_median",
                format!("group leave (1 of {members}), median of {repetitions}"),
                |g: &GroupResult| g.leave_median_ms,
            ),
            ("group_leave_max", format!("group leave (1 of {members}), max of {repetitions}"), |g: &GroupResult| {
                g.leave_max_ms
            }),
        ] {
            push(key.into(), label, Unit::Ms, None, &|t| t.group().map(|g| (pick(g), None)));
        }
        let txn_size = plan.txn.record_bytes;
        let per_transaction = plan.txn.records_per_transaction;
        push(
            format!("txn_produce_{txn_size}b"),
            format!("txn produce {txn_size} B, {per_transaction}/txn"),
            Unit::RecordsPerS,
            None,
            &|t| t.txn().map(|r| (r.records_per_s, Some(r.mb_per_s))),
        );
        push(
            "txn_transactions".into(),
            format!("transactions ({per_transaction} records each)"),
            Unit::TransactionsPerS,
            None,
            &|t| t.txn().map(|r| (r.transactions_per_s, None)),
        );
        if let Some(replication) = &plan.replication {
            let rf = replication.replication_factor;
            let size = replication.record_bytes;
            fn group(target: &TargetReport) -> Option<&ReplicationReport> {
                target.replication.as_ref()
            }
            let name = format!("{size}b-acks-all");
            push(
                format!("replication_produce_{size}b_acks_all"),
                format!("RF {rf}: produce {size} B acks=all"),
                Unit::RecordsPerS,
                Some(Goal::AtLeast(2.0)),
                &|t| {
                    let phase = group(t)?.produce.as_ref()?;
                    throughput(std::slice::from_ref(phase), &name)
                },
            );
            for (key, quantile, goal) in
                [("p50", "p50", None), ("p99", "p99", Some(Goal::AtMost(0.5))), ("p999", "p99.9", None)]
            {
                push(
                    format!("replication_latency_{key}"),
                    format!("RF {rf}: e2e latency {quantile} @{}/s", plan.latency_rate_per_s),
                    Unit::Ms,
                    goal,
                    &|t| {
                        let l = group(t)?.latency()?;
                        let value = match key {
                            "p50" => l.p50_ms,
                            "p99" => l.p99_ms,
                            _ => l.p999_ms,
                        };
                        Some((value, None))
                    },
                );
            }
            push("replication_failover".into(), format!("RF {rf}: leader kill -> first ack"), Unit::Ms, None, &|t| {
                Some((group(t)?.failover()?.counts.failover_ms?, None))
            });
        }
        push("startup".into(), "start-up to first Metadata".into(), Unit::Ms, Some(Goal::AtMost(0.1)), &|t| {
            t.startup_ms.map(|v| (v, None))
        });
        push("rss_idle".into(), "RSS idle".into(), Unit::Bytes, Some(Goal::AtMost(0.25)), &|t| {
            t.rss_idle_bytes.map(|v| (v as f64, None))
        });
        push("rss_load".into(), "RSS peak under produce load".into(), Unit::Bytes, Some(Goal::AtMost(0.25)), &|t| {
            t.rss_load_peak_bytes.map(|v| (v as f64, None))
        });

        // A latency figure taken in a backlog or on a cold path (warm-up ended at its bound)
        // is reported, but its ratio is no verdict on either broker.
        let not_warm = |pick: &dyn Fn(&TargetReport) -> Option<&LatencyResult>| {
            let names: Vec<&str> = [oxbow, kafka]
                .into_iter()
                .flatten()
                .filter(|t| pick(t).is_some_and(|l| !l.warm))
                .map(|t| t.flavor.name())
                .collect();
            (!names.is_empty()).then(|| format!("{} not warm", names.join(", ")))
        };
        let single = not_warm(&|t| t.latency.as_ref().and_then(|r| r.as_ref().ok()));
        let group = not_warm(&|t| t.replication.as_ref().and_then(ReplicationReport::latency));
        // Transactional throughput whose committed records did not read back as committed is
        // no figure to compare (the alarm heads the table).
        let mismatched: Vec<&str> = [oxbow, kafka]
            .into_iter()
            .flatten()
            .filter(|t| t.txn().is_some_and(|r| r.alarm().is_some()))
            .map(|t| t.flavor.name())
            .collect();
        let txn = (!mismatched.is_empty()).then(|| format!("{} read-back mismatch", mismatched.join(", ")));
        for metric in &mut metrics {
            let caveat = if metric.key.starts_with("latency_") {
                &single
            } else if metric.key.starts_with("replication_latency_") {
                &group
            } else if metric.key.starts_with("txn_") {
                &txn
            } else {
                continue;
            };
            if caveat.is_some() {
                metric.caveat = caveat.clone();
                metric.met = None;
            }
        }

        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok().map(|s| s.trim().to_string());
        Report {
            plan,
            kafka_version,
            machine: Machine { cores: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0), kernel },
            producer_settings: owned(crate::load::PRODUCER_SETTINGS),
            latency_producer_settings: owned(crate::load::LATENCY_PRODUCER_SETTINGS),
            consumer_settings: owned(crate::load::CONSUMER_SETTINGS),
            failover_producer_settings: owned(crate::load::FAILOVER_PRODUCER_SETTINGS),
            group_consumer_settings: owned(crate::groups::GROUP_CONSUMER_SETTINGS),
            txn_producer_settings: owned(crate::txn::TXN_PRODUCER_SETTINGS),
            broker_group_settings: crate::broker_group_settings()
                .into_iter()
                .map(|(key, value)| (key.to_string(), value))
                .collect(),
            generator_ceiling,
            metrics,
            targets,
        }
    }

    pub fn table(&self) -> String {
        let mut out = String::new();
        let kafka = format!("kafka {}", self.kafka_version.as_deref().unwrap_or(""));
        let header = ["metric", "oxbow", kafka.trim(), "oxbow/kafka", "goal", "status"];
        // A lost acknowledged record outweighs every figure below: it goes first.
        for target in &self.targets {
            let alarm =
                target.replication.as_ref().and_then(ReplicationReport::failover).and_then(FailoverResult::alarm);
            if let Some(alarm) = alarm {
                let _ = writeln!(out, "!!! {} cluster: {alarm}", target.flavor.name());
            }
        }
        // So does a committed transactional record that did not read back exactly once.
        for target in &self.targets {
            if let Some(alarm) = target.txn().and_then(TxnResult::alarm) {
                let _ = writeln!(out, "!!! {}: {alarm}", target.flavor.name());
            }
        }
        let mut rows: Vec<[String; 6]> = vec![header.map(str::to_string)];
        for metric in &self.metrics {
            let status = match (metric.met, metric.goal) {
                _ if metric.caveat.is_some() => metric.caveat.clone().unwrap_or_default(),
                (Some(true), _) => "met".to_string(),
                (Some(false), _) => "NOT MET".to_string(),
                (None, Some(_)) => "n/a".to_string(),
                (None, None) => "-".to_string(),
            };
            rows.push([
                metric.label.clone(),
                figure(metric.unit, metric.oxbow, metric.oxbow_mb_per_s),
                figure(metric.unit, metric.kafka, metric.kafka_mb_per_s),
                metric.ratio.map(ratio_label).unwrap_or_else(|| "-".into()),
                metric.goal.map(Goal::label).unwrap_or_else(|| "-".into()),
                status,
            ]);
        }
        let mut widths = [0usize; 6];
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        for (index, row) in rows.iter().enumerate() {
            let mut line = String::new();
            for (column, (cell, width)) in row.iter().zip(widths).enumerate() {
                // Numbers right-aligned, words left-aligned.
                if (1..=3).contains(&column) {
                    let _ = write!(line, "{cell:>width$}  ");
                } else {
                    let _ = write!(line, "{cell:<width$}  ");
                }
            }
            let _ = writeln!(out, "{}", line.trim_end());
            if index == 0 {
                let _ = writeln!(out, "{}", "-".repeat(widths.iter().sum::<usize>() + 2 * 5));
            }
        }
        // CPU per phase tells whether a figure is the broker's or the machine's limit: on a small
        // machine the generator and the broker share the cores.
        let _ = writeln!(out, "CPU cores used per phase (broker / load generator):");
        for target in &self.targets {
            let mut cells = Vec::new();
            for (kind, phases) in target.throughput_phases() {
                for phase in phases {
                    if let Ok(r) = &phase.result {
                        cells.push(format!(
                            "{kind} {} {:.2}/{:.2}",
                            phase.name, phase.broker_cpu_cores, r.generator_cpu_cores
                        ));
                    }
                }
            }
            if let Some(r) = target.txn() {
                cells.push(format!(
                    "txn {}/{:.2}",
                    r.broker_cpu_cores.map_or("?".to_string(), |c| format!("{c:.2}")),
                    r.generator_cpu_cores
                ));
            }
            let replication_produce = target.replication.as_ref().and_then(|r| r.produce.as_ref());
            if let Some(phase) = replication_produce {
                if let Ok(r) = &phase.result {
                    cells.push(format!(
                        "RF {} produce {} (cluster) {:.2}/{:.2}",
                        self.plan.replication.as_ref().map_or(3, |p| p.replication_factor),
                        phase.name,
                        phase.broker_cpu_cores,
                        r.generator_cpu_cores
                    ));
                }
            }
            if !cells.is_empty() {
                let _ = writeln!(out, "  {}: {}", target.flavor.name(), cells.join(", "));
            }
        }
        let _ = writeln!(
            out,
            "  (machine: {} cores; a generator near 1.0 or a sum near the core count caps both brokers alike)",
            self.machine.cores
        );
        let _ = writeln!(out, "load average (1/5/15 min) when each broker started -> at the end; above the core count, other work shared the machine:");
        for target in &self.targets {
            let _ = writeln!(
                out,
                "  {}: {} -> {}",
                target.flavor.name(),
                target.load_average_before.as_deref().unwrap_or("?"),
                target.load_average_after.as_deref().unwrap_or("?")
            );
        }
        match &self.generator_ceiling {
            Ok(c) => {
                let _ = writeln!(
                    out,
                    "load generator ceiling (librdkafka mock cluster, 100 B acks=1): produce {}, consume {}",
                    figure(Unit::RecordsPerS, Some(c.produce_records_per_s), None),
                    figure(Unit::RecordsPerS, Some(c.consume_records_per_s), None)
                );
            }
            Err(error) => {
                let _ = writeln!(out, "load generator ceiling: not measured: {error}");
            }
        }
        // The latency warm-up ends by the same rule for every broker; one that never got warm
        // (bounded by latency_warmup_s_max) is named, its figures include the cold path or the
        // backlog; the broker's CPU over the phase tells whether the machine was its limit.
        let mut warmups = Vec::new();
        for target in &self.targets {
            let group = target.replication.as_ref().and_then(ReplicationReport::latency);
            let single = target.latency.as_ref().and_then(|r| r.as_ref().ok());
            for (label, result) in [("", single), ("RF 3 ", group)] {
                if let Some(r) = result {
                    warmups.push(format!(
                        "{label}{} {:.1} s{} (broker {} cores)",
                        target.flavor.name(),
                        r.warmup_s,
                        if r.warm { "" } else { " NOT WARM" },
                        r.broker_cpu_cores.map_or("?".to_string(), |c| format!("{c:.2}"))
                    ));
                }
            }
        }
        if !warmups.is_empty() {
            let _ = writeln!(
                out,
                "latency warm-up (at the phase's rate, at least {} s, until three seconds in a row have a like p99 and no record slower than 1 s, at most {} s): {}",
                self.plan.latency_warmup_s,
                self.plan.latency_warmup_s_max,
                warmups.join(", ")
            );
        }
        self.group_and_txn_notes(&mut out);
        if let Some(replication) = &self.plan.replication {
            let timing: Vec<String> =
                replication.cluster_timing.iter().map(|(key, value)| format!("{key}={value}")).collect();
            let _ = writeln!(
                out,
                "replication: {} brokers per cluster on this machine, topics RF {} min.insync.replicas={}; both clusters: {}",
                replication.brokers,
                replication.replication_factor,
                replication.min_insync_replicas,
                timing.join(" ")
            );
            let _ = writeln!(
                out,
                "  failover: one idempotent acks=all record to partition 0 every {} ms; partition 0's leader killed (oxbow fault kill / SIGKILL of the node's JVM); figure = kill -> first ack of a record sent after it",
                replication.failover_send_interval_ms
            );
            for target in &self.targets {
                let Some(result) = target.replication.as_ref().and_then(ReplicationReport::failover) else {
                    continue;
                };
                let c = &result.counts;
                let _ = writeln!(
                    out,
                    "  {}: killed broker {}, new leader {} in metadata {}; first ack of any record {}; in flight at the kill {} ({} succeeded, {} failed); {} sent, {} acked, {} failed, {} unresolved; {}; kill took {:.1} ms{}",
                    target.flavor.name(),
                    result.killed_broker,
                    result.new_leader.map_or("?".to_string(), |l| l.to_string()),
                    result.leader_moved_ms.map_or("never".to_string(), |ms| format!("after {ms:.0} ms")),
                    c.first_ack_after_kill_ms.map_or("never".to_string(), |ms| format!("after {ms:.0} ms")),
                    c.in_flight_at_kill,
                    c.in_flight_succeeded,
                    c.in_flight_failed,
                    c.records_sent,
                    c.records_acked,
                    c.records_failed,
                    c.records_unresolved,
                    result.read_back_line(),
                    result.kill_command_ms,
                    c.first_error.as_ref().map_or(String::new(), |e| format!("; first error: {e}"))
                );
            }
        }
        for target in &self.targets {
            if let Some(replication) = &target.replication {
                let name = target.flavor.name();
                if let Some(error) = &replication.error {
                    let _ = writeln!(out, "{name} cluster: {error}");
                }
                if let Some(Err(error)) = replication.produce.as_ref().map(|p| &p.result) {
                    let _ = writeln!(out, "{name} cluster produce: {error}");
                }
                if let Some(Err(error)) = &replication.latency {
                    let _ = writeln!(out, "{name} cluster latency: {error}");
                }
                match &replication.failover {
                    Some(Err(error)) => {
                        let _ = writeln!(out, "{name} cluster failover: {error}");
                    }
                    Some(Ok(r)) if r.counts.failover_ms.is_none() => {
                        let _ =
                            writeln!(out, "{name} cluster failover: no record sent after the kill was acknowledged");
                    }
                    _ => {}
                }
            }
        }
        for target in &self.targets {
            if let Some(error) = &target.error {
                let _ = writeln!(out, "{}: {error}", target.flavor.name());
            }
            for (kind, phases) in target.throughput_phases() {
                for phase in phases {
                    if let Err(error) = &phase.result {
                        let _ = writeln!(out, "{} {kind} {}: {error}", target.flavor.name(), phase.name);
                    }
                }
            }
            if let Some(Err(error)) = &target.latency {
                let _ = writeln!(out, "{} latency: {error}", target.flavor.name());
            }
            if let Some(Err(error)) = &target.group {
                let _ = writeln!(out, "{} group rebalance: {error}", target.flavor.name());
            }
            if let Some(Err(error)) = &target.txn {
                let _ = writeln!(out, "{} transactions: {error}", target.flavor.name());
            }
        }
        out
    }

    /// How the group and transaction figures were taken, and each broker's details.
    fn group_and_txn_notes(&self, out: &mut String) {
        let group = &self.plan.group;
        let settings = |list: &[(String, String)]| {
            list.iter().map(|(key, value)| format!("{key}={value}")).collect::<Vec<_>>().join(" ")
        };
        let _ = writeln!(
            out,
            "groups: {} classic librdkafka consumers ({}) of a {}-partition topic, a fresh group per repetition; both brokers: {}; join = first subscribe -> every member assigned, each partition once; leave = one member's close (LeaveGroup) -> the other {} assigned anew, each partition once",
            group.members,
            settings(&self.group_consumer_settings),
            group.partitions,
            settings(&self.broker_group_settings),
            group.members.saturating_sub(1)
        );
        for target in &self.targets {
            let Some(r) = target.group() else { continue };
            let rounds: Vec<String> = r
                .rounds
                .iter()
                .map(|round| {
                    format!(
                        "{:.0}/{:.0} ms ({}/{})",
                        round.join_ms, round.leave_ms, round.join_assignments, round.leave_assignments
                    )
                })
                .collect();
            let _ = writeln!(
                out,
                "  {}: join/leave per repetition (assignments received): {}",
                target.flavor.name(),
                rounds.join(", ")
            );
        }
        let _ = writeln!(
            out,
            "transactions: one producer, a transactional.id per run, acks=all, idempotent; {} records of {} B per transaction over {} partitions; begin/produce/commit for the produce phases' duration; then read back with read_committed",
            self.plan.txn.records_per_transaction,
            self.plan.txn.record_bytes,
            self.plan.txn.partitions
        );
        for target in &self.targets {
            let Some(r) = target.txn() else { continue };
            let _ = writeln!(
                out,
                "  {}: {} transactions, {} records in {:.1} s; commit p50 {:.1} ms, max {:.1} ms; {}",
                target.flavor.name(),
                r.transactions,
                r.records,
                r.elapsed_s,
                r.commit_p50_ms,
                r.commit_max_ms,
                r.read_back_line()
            );
        }
    }
}

/// The 1-, 5- and 15-minute load averages.
pub fn load_average() -> Option<String> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    Some(text.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
}

/// Two decimals, or three significant digits for small ratios (start-up and RSS are far below 1).
pub fn ratio_label(ratio: f64) -> String {
    if ratio >= 0.1 {
        format!("{ratio:.2}x")
    } else {
        let decimals = (-ratio.log10().floor()) as usize + 2;
        format!("{ratio:.decimals$}x")
    }
}

fn figure(unit: Unit, value: Option<f64>, mb_per_s: Option<f64>) -> String {
    let Some(value) = value else {
        return "-".into();
    };
    match unit {
        Unit::RecordsPerS => {
            let records =
                if value >= 1e6 { format!("{:.2}M/s", value / 1e6) } else { format!("{:.1}k/s", value / 1e3) };
            match mb_per_s {
                Some(mb) => format!("{records} {mb:.1}MB/s"),
                None => records,
            }
        }
        Unit::TransactionsPerS => {
            if value >= 1e4 {
                format!("{:.1}k/s", value / 1e3)
            } else {
                format!("{value:.0}/s")
            }
        }
        Unit::Ms => {
            if value >= 100.0 {
                format!("{value:.0} ms")
            } else {
                format!("{value:.2} ms")
            }
        }
        Unit::Bytes => format!("{:.1} MiB", value / (1024.0 * 1024.0)),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::load::{FailoverCounts, FailoverResult, ReadBack};

    /// Replication-group results; a larger `scale` is a faster broker.
    pub(crate) fn replication(scale: f64) -> ReplicationReport {
        let records_per_s = 100_000.0 * scale;
        let produce = ThroughputResult {
            records: 1,
            bytes: 1,
            elapsed_s: 1.0,
            records_per_s,
            mb_per_s: records_per_s * 100.0 / 1e6,
            generator_cpu_cores: 0.5,
        };
        ReplicationReport {
            error: None,
            ready_ms: Some(1000.0),
            produce: Some(Phase::new("100b-acks-all".into(), Ok(produce), 1.0)),
            latency: Some(Ok(LatencyResult {
                rate_per_s: 5000,
                measured_records: 1,
                received_records: 1,
                p50_ms: 10.0 / scale,
                p99_ms: 40.0 / scale,
                p999_ms: 80.0 / scale,
                max_ms: 100.0,
                warmup_s: 2.0,
                warm: scale > 1.0,
                topic_ready_ms: Some(30.0),
                broker_cpu_cores: Some(0.5),
                per_second: Vec::new(),
                per_partition: Vec::new(),
            })),
            failover: Some(Ok(FailoverResult {
                killed_broker: 2,
                new_leader: Some(3),
                kill_command_ms: 1.0,
                leader_moved_ms: Some(6500.0 / scale),
                send_interval_ms: 5,
                counts: FailoverCounts {
                    failover_ms: Some(7000.0 / scale),
                    first_ack_after_kill_ms: Some(6900.0 / scale),
                    records_sent: 100,
                    records_acked: 100,
                    records_failed: 0,
                    records_unresolved: 0,
                    in_flight_at_kill: 5,
                    in_flight_succeeded: 5,
                    in_flight_failed: 0,
                    first_error: None,
                },
                read_back: Ok(ReadBack {
                    acked: 100,
                    missing: 0,
                    duplicated: 0,
                    records_read: 100,
                    unacked_present: 0,
                    foreign: 0,
                    missing_sent_ms_from_kill: Vec::new(),
                }),
            })),
        }
    }

    fn plan(extra: &[&str]) -> Plan {
        let args = ["t", "--quick"].iter().chain(extra);
        Plan::from_args(
            &<crate::BenchArgs as clap::FromArgMatches>::from_arg_matches(
                &<crate::BenchArgs as clap::Args>::augment_args(clap::Command::new("t")).get_matches_from(args),
            )
            .expect("valid args"),
        )
    }

    fn metric<'a>(report: &'a Report, key: &str) -> &'a Metric {
        report.metrics.iter().find(|m| m.key == key).unwrap_or_else(|| panic!("no metric {key}"))
    }

    #[test]
    fn replication_rows_have_ratios_and_goals() {
        let mut oxbow = TargetReport::new(Flavor::Oxbow);
        oxbow.replication = Some(replication(2.5));
        let mut kafka = TargetReport::new(Flavor::Kafka);
        kafka.replication = Some(replication(1.0));
        let report = Report::new(plan(&[]), Err("-".into()), vec![oxbow, kafka], None);

        let produce = metric(&report, "replication_produce_100b_acks_all");
        assert!((produce.ratio.expect("ratio") - 2.5).abs() < 1e-9);
        assert_eq!(produce.met, Some(true)); // >= 2x
        assert_eq!(produce.oxbow_mb_per_s, Some(25.0));
        let p99 = metric(&report, "replication_latency_p99");
        assert!((p99.ratio.expect("ratio") - 0.4).abs() < 1e-9);
        // <= 0.5x, but Kafka's side (scale 1.0) never got warm: no verdict.
        assert_eq!(p99.met, None);
        assert_eq!(p99.caveat.as_deref(), Some("kafka not warm"));
        assert!(metric(&report, "replication_latency_p50").goal.is_none());
        let failover = metric(&report, "replication_failover");
        assert_eq!(failover.oxbow, Some(2800.0));
        assert_eq!(failover.kafka, Some(7000.0));
        assert!(failover.goal.is_none());

        let table = report.table();
        assert!(table.contains("RF 3: produce 100 B acks=all"));
        assert!(table.contains("RF 3: leader kill -> first ack"));
        assert!(table.contains("broker.session.timeout.ms=6000"));
        assert!(table.contains("kafka: killed broker 2, new leader 3"));
        assert!(table.contains("read back: acked 100, missing 0, duplicated 0"));
        assert!(table.contains("RF 3 oxbow 2.0 s (broker 0.50 cores), RF 3 kafka 2.0 s NOT WARM (broker 0.50 cores)"));
        assert!(!table.contains("DURABILITY FAILURE"));
        assert!(table.contains("kafka not warm"));
        let json = serde_json::to_value(&report).expect("serializes");
        let failover = &json["targets"][1]["replication"]["failover"]["Ok"];
        assert_eq!(failover["failover_ms"], 7000.0);
        assert_eq!(failover["in_flight_succeeded"], 5);
        assert_eq!(failover["read_back"]["Ok"]["missing"], 0);
    }

    #[test]
    fn lost_acknowledged_records_head_the_table() {
        let mut kafka = TargetReport::new(Flavor::Kafka);
        let mut group = replication(1.0);
        if let Some(Ok(failover)) = &mut group.failover {
            failover.read_back = Ok(ReadBack {
                acked: 100,
                missing: 2,
                duplicated: 1,
                records_read: 99,
                unacked_present: 0,
                foreign: 0,
                missing_sent_ms_from_kill: vec![-3.0, 2.0],
            });
        }
        kafka.replication = Some(group);
        let report = Report::new(plan(&[]), Err("-".into()), vec![kafka], None);
        let table = report.table();
        assert!(table.starts_with("!!! kafka cluster: DURABILITY FAILURE: 2 of 100 acknowledged records missing"));
        assert!(table.contains(
            "DURABILITY FAILURE: read back: acked 100, missing 2, duplicated 1 (sent at -3, +2 ms from the kill)"
        ));
        let json = serde_json::to_value(&report).expect("serializes");
        assert_eq!(json["targets"][0]["replication"]["failover"]["Ok"]["read_back"]["Ok"]["missing"], 2);
    }

    #[test]
    fn missing_sides_and_skipped_group() {
        // Kafka's cluster did not start: Oxbow's figures stay, no ratio, goal n/a.
        let mut oxbow = TargetReport::new(Flavor::Oxbow);
        oxbow.replication = Some(replication(1.0));
        let mut kafka = TargetReport::new(Flavor::Kafka);
        kafka.replication = Some(ReplicationReport::failed("start: boom".into()));
        let report = Report::new(plan(&[]), Err("-".into()), vec![oxbow, kafka], None);
        let produce = metric(&report, "replication_produce_100b_acks_all");
        assert!(produce.oxbow.is_some() && produce.kafka.is_none());
        assert_eq!((produce.ratio, produce.met), (None, None));
        assert!(report.table().contains("kafka cluster: start: boom"));

        let skipped = plan(&["--skip-replication"]);
        assert!(skipped.replication.is_none());
        let report = Report::new(skipped, Err("-".into()), Vec::new(), None);
        assert!(!report.metrics.iter().any(|m| m.key.starts_with("replication")));
    }

    fn group_and_txn(scale: f64, read: u64) -> (GroupResult, TxnResult) {
        let round = |join_ms: f64, leave_ms: f64| crate::groups::GroupRound {
            join_ms: join_ms / scale,
            leave_ms: leave_ms / scale,
            join_assignments: 10,
            leave_assignments: 9,
        };
        let group = GroupResult::new(10, 20, vec![round(1000.0, 1200.0), round(3000.0, 1100.0), round(900.0, 1000.0)])
            .expect("rounds");
        let txn = TxnResult {
            transactions: 1000,
            records: 100_000,
            records_per_transaction: 100,
            record_bytes: 100,
            elapsed_s: 10.0,
            records_per_s: 10_000.0 * scale,
            mb_per_s: scale,
            transactions_per_s: 100.0 * scale,
            commit_p50_ms: 4.0,
            commit_max_ms: 30.0,
            generator_cpu_cores: 0.2,
            broker_cpu_cores: Some(0.3),
            read_back: Ok(crate::txn::TxnReadBack {
                committed: 100_000,
                records_read: read,
                missing: 100_000 - read.min(100_000),
                duplicated: 0,
                foreign: 0,
            }),
        };
        (group, txn)
    }

    #[test]
    fn group_and_txn_rows_have_ratios_and_notes() {
        let mut oxbow = TargetReport::new(Flavor::Oxbow);
        let (group, txn) = group_and_txn(2.0, 100_000);
        (oxbow.group, oxbow.txn) = (Some(Ok(group)), Some(Ok(txn)));
        let mut kafka = TargetReport::new(Flavor::Kafka);
        let (group, txn) = group_and_txn(1.0, 100_000);
        (kafka.group, kafka.txn) = (Some(Ok(group)), Some(Ok(txn)));
        let report = Report::new(plan(&[]), Err("-".into()), vec![oxbow, kafka], None);

        let join = metric(&report, "group_join_median");
        assert_eq!((join.oxbow, join.kafka), (Some(500.0), Some(1000.0)));
        assert!((join.ratio.expect("ratio") - 0.5).abs() < 1e-9);
        assert_eq!(metric(&report, "group_join_max").kafka, Some(3000.0));
        assert_eq!(metric(&report, "group_leave_median").kafka, Some(1100.0));
        assert_eq!(metric(&report, "group_leave_max").oxbow, Some(600.0));
        let records = metric(&report, "txn_produce_100b");
        assert!((records.ratio.expect("ratio") - 2.0).abs() < 1e-9);
        assert_eq!(records.kafka_mb_per_s, Some(1.0));
        assert_eq!(metric(&report, "txn_transactions").kafka, Some(100.0));

        let table = report.table();
        // --quick: one repetition, in the label.
        assert!(table.contains("group join (10), median of 1"));
        assert!(table.contains("group leave (1 of 10), max of 1"));
        assert!(table.contains("txn produce 100 B, 100/txn"));
        assert!(table.contains("transactions (100 records each)"));
        assert!(table.contains("both brokers: group.initial.rebalance.delay.ms=0"));
        assert!(table.contains("partition.assignment.strategy=range"));
        assert!(table.contains("kafka: join/leave per repetition (assignments received): 1000/1200 ms (10/9)"));
        assert!(table.contains("read_committed read-back: committed 100000, read 100000, missing 0"));
        assert!(!table.contains("!!!"));
        let json = serde_json::to_value(&report).expect("serializes");
        assert_eq!(json["targets"][1]["group"]["Ok"]["join_median_ms"], 1000.0);
        assert_eq!(json["targets"][0]["txn"]["Ok"]["read_back"]["Ok"]["missing"], 0);
        assert_eq!(json["plan"]["group"]["initial_rebalance_delay_ms"], 0);
        assert_eq!(json["broker_group_settings"][0][0], "group.initial.rebalance.delay.ms");
    }

    #[test]
    fn a_transaction_read_back_mismatch_heads_the_table() {
        let mut oxbow = TargetReport::new(Flavor::Oxbow);
        let (_, txn) = group_and_txn(2.0, 99_990);
        oxbow.txn = Some(Ok(txn));
        oxbow.group = Some(Err("repetition 1 of 1: join: not settled after 60 s".into()));
        let mut kafka = TargetReport::new(Flavor::Kafka);
        kafka.txn = Some(Ok(group_and_txn(1.0, 100_000).1));
        let report = Report::new(plan(&[]), Err("-".into()), vec![oxbow, kafka], None);
        let table = report.table();
        assert!(table.starts_with(
            "!!! oxbow: TRANSACTION READ-BACK MISMATCH: read_committed read 99990 records, 100000 committed (missing 10"
        ));
        let records = metric(&report, "txn_produce_100b");
        assert_eq!(records.caveat.as_deref(), Some("oxbow read-back mismatch"));
        assert!(table.contains("oxbow group rebalance: repetition 1 of 1: join: not settled"));
        assert!(metric(&report, "group_join_median").oxbow.is_none());
    }

    #[test]
    fn quick_plan_runs_replication_briefly() {
        let quick = plan(&[]).replication.expect("on by default");
        assert_eq!((quick.brokers, quick.replication_factor, quick.min_insync_replicas), (3, 3, 2));
        assert_eq!(quick.failover_warmup_s, 1);
        assert!(quick.cluster_timing.contains(&("broker.session.timeout.ms".to_string(), "6000".to_string())));
    }
}
