//! `oxbow bench`: Oxbow side by side with Apache Kafka, driven by one librdkafka load generator.
//!
//! The bench starts each broker itself as a subprocess — Oxbow as `<oxbow> serve --ephemeral
//! --kafka-port 0 --brokers 1` (one broker, like the Kafka it is compared with), Apache Kafka 4.x
//! (KRaft, one combined node, default settings) through the repo's `scripts/apache-kafka.sh` —
//! one after the other (start-up and idle RSS are measured alone), then runs each timed phase on
//! one broker at a time, alternating which goes first, so a drift in other load on the machine
//! affects both sides alike. It measures:
//!
//! - start-up: broker process start → first Metadata request answered;
//! - RSS (VmRSS of the broker process; for Kafka the JVM) idle after start-up, and peak while
//!   producing;
//! - produce records/s and MB/s: 100 B and 1 KiB records, acks=1 and acks=all, one producer,
//!   a 6-partition topic;
//! - consume records/s: a fixture topic (written untimed, batches closed by size, so both brokers
//!   hold the same batches) read back from the beginning by partition assignment;
//! - end-to-end latency p50/p99/p99.9 at a fixed rate (receive time − scheduled send time),
//!   after a warm-up at that rate that lasts until the path is warm (three seconds in a row
//!   with a like p99 and no record a second late; bounded), with every second's p99 (end to end
//!   and of the acknowledgement) and every partition's in the report;
//! - the load generator's own ceiling against librdkafka's in-process mock cluster;
//! - replication (unless --skip-replication), after the single brokers are stopped: Oxbow as
//!   `serve --brokers 3 --data-dir TMP` and Kafka as a 3-node KRaft cluster
//!   (`scripts/apache-kafka-cluster.sh`, three JVMs), both with Oxbow's failure-detection timing
//!   (broker.session.timeout.ms=6000, broker.heartbeat.interval.ms=500,
//!   replica.lag.time.max.ms=10000); on 6-partition RF 3 topics with min.insync.replicas=2:
//!   100 B acks=all produce throughput, end-to-end latency at the fixed rate, and the failover
//!   time — partition 0's leader killed (`oxbow fault kill` / SIGKILL of the node's JVM) while an
//!   idempotent acks=all producer sends to it every 5 ms, measured from the kill to the first
//!   acknowledgement of a record sent after it; then partition 0 is read back from the
//!   surviving brokers and every acknowledged record must be there exactly once (a missing one
//!   heads the table as a durability failure);
//! - consumer-group rebalance time: 10 classic-protocol librdkafka consumers (range assignor,
//!   session.timeout.ms 10000, heartbeat.interval.ms 1000) of a fresh group subscribe at once to
//!   a 20-partition topic; join = the first subscribe → every member holds an assignment and
//!   together they cover every partition exactly once; leave = one member closes (LeaveGroup) →
//!   the other 9 hold new assignments covering every partition exactly once; median and max of
//!   3 repetitions (1 with --quick), each on a new group. Both brokers run with
//!   `group.initial.rebalance.delay.ms` = [`GROUP_INITIAL_REBALANCE_DELAY_MS`], set explicitly
//!   on each (see `groups.rs`);
//! - transactional produce: one transactional producer (acks=all, idempotent, a transactional.id
//!   per run), 100 records of 100 B per transaction, begin/produce/commit in a loop for the
//!   produce phases' duration (or record cap): records/s and transactions/s; then the topic is
//!   read back with read_committed and every committed record must be there exactly once (a
//!   mismatch heads the table; see `txn.rs`).
//!
//! Every topic is created, then waited for until each broker's own metadata shows every
//! partition led and fully in sync, before its phase starts: the same for both brokers.
//!
//! It prints a table (figures, Oxbow/Kafka ratios, the goals, met or not), and writes
//! `bench.json` and `bench.png` to `--out`. It is a benchmark, not a test: nothing here asserts
//! a timing; a missed goal is reported, not failed.
//!
//! What it deliberately does not do: load both brokers at once (they would share the cores),
//! tune either broker, or measure through anything but the Kafka protocol.

mod broker;
mod chart;
mod groups;
mod load;
mod probe;
mod procfs;
mod ready;
mod report;
mod txn;

use anyhow::{bail, Context, Result};
use broker::{Broker, Cluster, ClusterLaunch, Launch};
use load::{ProduceSpec, ThroughputResult};
use oxbow_client::{Admin, ConnectionProfile, TopicSpec};
use report::{ReplicationReport, Report, TargetReport};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `oxbow bench` flags. Mount with `#[command(subcommand)]` … `Bench(oxbow_bench::BenchArgs)`.
#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {
    /// Seconds per produce phase and for the latency phase (a phase also stops at --records)
    #[arg(long, default_value_t = 15)]
    pub duration_s: u64,

    /// Most records sent per produce phase
    #[arg(long, default_value_t = 5_000_000)]
    pub records: u64,

    /// A short smoke run: 3 s phases, at most 300,000 records each
    #[arg(long)]
    pub quick: bool,

    /// Benchmark Oxbow only; ratios and goals are left out
    #[arg(long)]
    pub skip_kafka: bool,

    /// Benchmark Apache Kafka only (to check the harness while Oxbow is unavailable)
    #[arg(long, conflicts_with = "skip_kafka")]
    pub skip_oxbow: bool,

    /// The Oxbow binary to run as `serve` [default: this executable]
    #[arg(long)]
    pub oxbow_bin: Option<PathBuf>,

    /// Apache Kafka jars; other than the repo's .cache/kafka/libs, the bench starts Kafka's JVM
    /// itself [default: scripts/apache-kafka.sh, which fetches the jars into .cache/kafka/libs]
    #[arg(long)]
    pub kafka_libs: Option<PathBuf>,

    /// Records per second in the latency phase
    #[arg(long, default_value_t = 5_000)]
    pub latency_rate: u64,

    /// Where bench.json, bench.png and the brokers' logs go
    #[arg(long, default_value = "target/bench")]
    pub out: PathBuf,

    /// Leave out the replication group (3-broker clusters, RF 3, acks=all, leader failover)
    #[arg(long)]
    pub skip_replication: bool,
}

/// What one run does, after --quick is applied.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Plan {
    pub produce_duration_s: u64,
    pub produce_records_max: u64,
    pub latency_rate_per_s: u64,
    /// The latency warm-up runs at least this long, then until the path is warm (three seconds
    /// in a row with a like p99 and no record slower than a second), but no longer than
    /// latency_warmup_s_max.
    pub latency_warmup_s: u64,
    pub latency_warmup_s_max: u64,
    pub latency_duration_s: u64,
    /// Pause after start-up before the idle RSS reading.
    pub settle_s: u64,
    pub partitions: i32,
    pub record_sizes_bytes: Vec<usize>,
    /// Records in the consume fixture, per record size.
    pub consume_records: Vec<u64>,
    pub latency_record_bytes: usize,
    /// The replication group; None with --skip-replication.
    pub replication: Option<ReplicationPlan>,
    /// The consumer-group phase, on the single brokers.
    pub group: GroupPlan,
    /// The transactional produce phase, on the single brokers; it runs for produce_duration_s
    /// and stops at produce_records_max, as the produce phases do.
    pub txn: TxnPlan,
}

/// The consumer-group phase: a group of `members` classic consumers on a topic of `partitions`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct GroupPlan {
    pub members: usize,
    pub partitions: i32,
    /// Each on a fresh group; the report gives the median and the max.
    pub repetitions: usize,
    /// A join or leave not settled within this fails the phase (a line in the report).
    pub join_timeout_ms_max: u64,
    pub leave_timeout_ms_max: u64,
    /// Both brokers' group.initial.rebalance.delay.ms ([`GROUP_INITIAL_REBALANCE_DELAY_MS`]).
    pub initial_rebalance_delay_ms: u64,
}

/// The transactional produce phase.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TxnPlan {
    pub partitions: i32,
    pub record_bytes: usize,
    pub records_per_transaction: u64,
}

/// `group.initial.rebalance.delay.ms` of both single brokers: `oxbow serve
/// --group-initial-rebalance-delay-ms` and the Kafka node's server properties. It decides the
/// join figure: with Kafka's default, 3000, a new group waits that long after its first member
/// (and again after each member that arrives meanwhile), so the figure would be mostly the
/// configured wait. 0 is `oxbow serve`'s default, the value in the server.properties Kafka ships
/// and what the repo's Kafka scripts set; the bench sets it on both sides explicitly, so neither
/// side's default decides the comparison.
pub const GROUP_INITIAL_REBALANCE_DELAY_MS: u64 = 0;
/// A group that has not settled this long after the subscribes (or the leave) fails the phase:
/// far above a rebalance that waits out a 10 s session timeout.
const GROUP_SETTLE_TIMEOUT_MS_MAX: u64 = 60_000;

/// The replication group: both brokers as 3-broker clusters on this machine, one topic setting.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ReplicationPlan {
    pub brokers: u32,
    pub partitions: i32,
    pub replication_factor: i32,
    pub min_insync_replicas: i32,
    /// Record size of the acks=all produce phase (the latency phase uses latency_record_bytes).
    pub record_bytes: usize,
    /// Before the kill, records are acknowledged for this long.
    pub failover_warmup_s: u64,
    /// The phase gives up when no record sent after the kill is acknowledged within this.
    pub failover_recovery_timeout_s: u64,
    /// Sending goes on this long after the first post-kill acknowledgement.
    pub failover_tail_ms: u64,
    pub failover_send_interval_ms: u64,
    /// Failure-detection timing of both clusters (Oxbow's defaults; the Kafka cluster script sets
    /// the same), so the failover figures compare like with like.
    pub cluster_timing: Vec<(String, String)>,
}

/// Oxbow's defaults for failure detection, given to the Kafka cluster too (see
/// scripts/apache-kafka-cluster.sh): fencing a killed broker waits for the session timeout.
pub const CLUSTER_TIMING: &[(&str, &str)] = &[
    ("broker.session.timeout.ms", "6000"),
    ("broker.heartbeat.interval.ms", "500"),
    ("replica.lag.time.max.ms", "10000"),
];

impl Plan {
    fn from_args(args: &BenchArgs) -> Plan {
        let (duration_s, records, settle_s, warmup_s, warmup_s_max) = if args.quick {
            (args.duration_s.min(3), args.records.min(300_000), 1, 1, 15)
        } else {
            (args.duration_s, args.records, 3, 2, 60)
        };
        Plan {
            produce_duration_s: duration_s.max(1),
            produce_records_max: records.max(1),
            latency_rate_per_s: args.latency_rate.max(1),
            latency_warmup_s: warmup_s,
            latency_warmup_s_max: warmup_s_max,
            latency_duration_s: duration_s.max(1),
            settle_s,
            partitions: 6,
            record_sizes_bytes: vec![100, 1024],
            // 1 KiB records: a quarter as many, so the fixture stays near a GiB.
            consume_records: vec![records.max(1), (records / 4).max(1)],
            latency_record_bytes: 100,
            replication: (!args.skip_replication).then(|| ReplicationPlan {
                brokers: 3,
                partitions: 6,
                replication_factor: 3,
                min_insync_replicas: 2,
                record_bytes: 100,
                failover_warmup_s: if args.quick { 1 } else { 3 },
                failover_recovery_timeout_s: 60,
                failover_tail_ms: if args.quick { 300 } else { 1_000 },
                failover_send_interval_ms: load::FAILOVER_SEND_INTERVAL_MS,
                cluster_timing: CLUSTER_TIMING
                    .iter()
                    .map(|(key, value)| (key.to_string(), value.to_string()))
                    .collect(),
            }),
            group: GroupPlan {
                members: 10,
                partitions: 20,
                repetitions: if args.quick { 1 } else { 3 },
                join_timeout_ms_max: GROUP_SETTLE_TIMEOUT_MS_MAX,
                leave_timeout_ms_max: GROUP_SETTLE_TIMEOUT_MS_MAX,
                initial_rebalance_delay_ms: GROUP_INITIAL_REBALANCE_DELAY_MS,
            },
            txn: TxnPlan { partitions: 6, record_bytes: 100, records_per_transaction: 100 },
        }
    }
}

/// Set by SIGINT/SIGTERM; every loop in the bench checks it and unwinds, stopping the brokers.
#[derive(Clone, Default)]
pub(crate) struct Stop(Arc<AtomicBool>);

impl Stop {
    pub(crate) fn check(&self) -> Result<()> {
        if self.0.load(Ordering::Relaxed) {
            bail!("interrupted");
        }
        Ok(())
    }

    pub(crate) fn sleep(&self, duration: Duration) -> Result<()> {
        let deadline = Instant::now() + duration;
        while Instant::now() < deadline {
            self.check()?;
            std::thread::sleep(Duration::from_millis(50).min(deadline.saturating_duration_since(Instant::now())));
        }
        Ok(())
    }
}

/// Runs the bench: both brokers, one after the other; prints the table; writes JSON and PNG.
/// Blocking (it starts no async runtime visible to the caller); call it from the main thread, as
/// the brokers' parent-death signal is tied to the thread that started them.
pub fn run(args: BenchArgs) -> Result<()> {
    procfs::require()?;
    let plan = Plan::from_args(&args);
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let stop = Stop::default();
    let mut signal_ids = Vec::new();
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_ids.push(signal_hook::flag::register(signal, stop.0.clone()).context("installing a signal handler")?);
    }
    let result = run_with(&args, &plan, &stop);
    for id in signal_ids {
        signal_hook::low_level::unregister(id);
    }
    result
}

fn run_with(args: &BenchArgs, plan: &Plan, stop: &Stop) -> Result<()> {
    let root = repo_root();
    let oxbow_launch = if args.skip_oxbow {
        None
    } else {
        let bin = match &args.oxbow_bin {
            Some(bin) => bin.clone(),
            None => std::env::current_exe().context("locating this executable")?,
        };
        if !bin.is_file() {
            bail!("--oxbow-bin {}: no such file", bin.display());
        }
        Some(Launch::Oxbow { bin })
    };
    let kafka_launch = if args.skip_kafka { None } else { Some(kafka_launch(args, root.as_deref())?) };

    println!("oxbow bench: {} run, results to {}", if args.quick { "quick" } else { "full" }, args.out.display());
    println!("load generator settings (both brokers):");
    println!("  producer: {}", settings_line(load::PRODUCER_SETTINGS));
    println!("  latency producer: {}", settings_line(load::LATENCY_PRODUCER_SETTINGS));
    println!("  consumer: {}", settings_line(load::CONSUMER_SETTINGS));
    println!("  group members: {}", settings_line(groups::GROUP_CONSUMER_SETTINGS));
    println!("  transactional producer: {} (transactional.id per run)", settings_line(txn::TXN_PRODUCER_SETTINGS));
    if plan.replication.is_some() {
        println!("  failover producer: {}", settings_line(load::FAILOVER_PRODUCER_SETTINGS));
    }

    println!("broker settings (both single brokers): {}", settings_line(&broker_group_settings()));

    println!("measuring the load generator's ceiling (librdkafka mock cluster, in-process)…");
    let ceiling = load::ceiling(
        100,
        Duration::from_secs(plan.produce_duration_s.min(5)),
        plan.produce_records_max,
        "bench-ceiling",
        stop,
    )
    .map_err(|error| format!("{error:#}"));

    // Admin calls are async; a small current-thread runtime drives them to completion.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    // Started one after the other (start-up and idle RSS are measured alone), then both stay up
    // while the phases alternate between them; the idle one costs the other little CPU.
    let mut targets = Vec::new();
    let mut failed = Vec::new();
    for launch in [&oxbow_launch, &kafka_launch].into_iter().flatten() {
        stop.check()?;
        match start_target(launch, plan, &args.out, &runtime, stop)? {
            Ok(target) => targets.push(target),
            Err(report) => failed.push(report),
        }
    }
    run_phases(&mut targets, plan, &runtime, stop)?;
    let mut reports = failed;
    for mut target in targets {
        target.report.load_average_after = report::load_average();
        println!("{}: stopping", target.name());
        target.broker.stop();
        reports.push(target.report);
    }
    // The clusters run after the single brokers are gone, so neither competes with them.
    if let Some(replication) = &plan.replication {
        let mut launches = Vec::new();
        if let Some(Launch::Oxbow { bin }) = &oxbow_launch {
            launches.push(Ok(ClusterLaunch::Oxbow { bin: bin.clone() }));
        }
        if kafka_launch.is_some() {
            launches.push(kafka_cluster_launch(args, root.as_deref()));
        }
        for (flavor, result) in run_replication(&launches, plan, replication, &args.out, &runtime, stop)? {
            let index = match reports.iter().position(|r| r.flavor == flavor) {
                Some(index) => index,
                None => {
                    reports.push(TargetReport::new(flavor));
                    reports.len() - 1
                }
            };
            reports[index].replication = Some(result);
        }
    }
    reports.sort_by_key(|report| report.flavor != broker::Flavor::Oxbow);
    let report = Report::new(plan.clone(), ceiling, reports, kafka_version(args, root.as_deref()));
    println!();
    print!("{}", report.table());
    let json_path = args.out.join("bench.json");
    std::fs::write(&json_path, serde_json::to_vec_pretty(&report)?)
        .with_context(|| format!("writing {}", json_path.display()))?;
    println!("JSON: {}", json_path.display());
    let png_path = args.out.join("bench.png");
    match chart::draw(&report, &png_path) {
        Ok(()) => println!("chart: {}", png_path.display()),
        Err(error) => eprintln!("oxbow bench: warning: no chart: {error:#}"),
    }
    Ok(())
}

/// The group setting both single brokers are started with (see
/// [`GROUP_INITIAL_REBALANCE_DELAY_MS`]), by Kafka's name.
pub(crate) fn broker_group_settings() -> Vec<(&'static str, String)> {
    vec![("group.initial.rebalance.delay.ms", GROUP_INITIAL_REBALANCE_DELAY_MS.to_string())]
}

fn settings_line<V: std::fmt::Display>(settings: &[(&str, V)]) -> String {
    settings.iter().map(|(key, value)| format!("{key}={value}")).collect::<Vec<_>>().join(" ")
}

/// The repo root: the nearest ancestor (of the working directory, then of this executable)
/// holding scripts/apache-kafka.sh.
fn repo_root() -> Option<PathBuf> {
    let starts = [std::env::current_dir().ok(), std::env::current_exe().ok()];
    for start in starts.into_iter().flatten() {
        // Bounded by the path's depth.
        for dir in start.ancestors() {
            if dir.join("scripts/apache-kafka.sh").is_file() {
                return Some(dir.to_path_buf());
            }
        }
    }
    None
}

/// Kafka through the repo's script (which fetches the jars when missing), unless --kafka-libs
/// names other jars or the script is not there: then the bench starts Kafka's JVM itself.
fn kafka_launch(args: &BenchArgs, root: Option<&Path>) -> Result<Launch> {
    let Some(libs) = custom_kafka_libs(args, root) else {
        let Some(root) = root else {
            bail!("scripts/apache-kafka.sh not found above the working directory: run from the Oxbow repo, pass --kafka-libs, or --skip-kafka");
        };
        return Ok(Launch::KafkaScript { script: root.join("scripts/apache-kafka.sh") });
    };
    let has_kafka_jar = std::fs::read_dir(&libs)
        .with_context(|| format!("--kafka-libs {}", libs.display()))?
        .flatten()
        .any(|entry| entry.file_name().to_string_lossy().starts_with("kafka_2.13-"));
    if !has_kafka_jar {
        bail!("--kafka-libs {}: no kafka_2.13-*.jar there", libs.display());
    }
    let log4j_config =
        root.map(|root| root.join("scripts/kafka-dist/log4j2-server.properties")).filter(|path| path.is_file());
    Ok(Launch::KafkaJars { libs, log4j_config })
}

/// The Kafka cluster is always started by scripts/apache-kafka-cluster.sh (three JVMs, their
/// storage formatted with one cluster id); --kafka-libs reaches it as KAFKA_LIBS. The error, as a
/// string, goes into the report.
fn kafka_cluster_launch(
    args: &BenchArgs,
    root: Option<&Path>,
) -> std::result::Result<ClusterLaunch, (broker::Flavor, String)> {
    let script = root
        .map(|root| root.join("scripts/apache-kafka-cluster.sh"))
        .filter(|script| script.is_file())
        .ok_or_else(|| {
            (
                broker::Flavor::Kafka,
                "scripts/apache-kafka-cluster.sh not found above the working directory: run from the Oxbow repo"
                    .to_string(),
            )
        })?;
    Ok(ClusterLaunch::Kafka { script, libs: custom_kafka_libs(args, root) })
}

/// --kafka-libs, unless it names the repo's own .cache/kafka/libs (which the scripts use).
fn custom_kafka_libs(args: &BenchArgs, root: Option<&Path>) -> Option<PathBuf> {
    let default_libs = root.map(|root| root.join(".cache/kafka/libs"));
    match (&args.kafka_libs, &default_libs) {
        (Some(libs), Some(default)) => {
            let same = libs.canonicalize().ok().zip(default.canonicalize().ok()).is_some_and(|(a, b)| a == b);
            if same {
                None
            } else {
                Some(libs.clone())
            }
        }
        (Some(libs), None) => Some(libs.clone()),
        (None, _) => None,
    }
}

/// Kafka's version from the jar name (kafka_2.13-VERSION.jar), for the report.
fn kafka_version(args: &BenchArgs, root: Option<&Path>) -> Option<String> {
    let libs = args.kafka_libs.clone().or_else(|| root.map(|root| root.join(".cache/kafka/libs")))?;
    std::fs::read_dir(libs).ok()?.flatten().find_map(|entry| {
        let name = entry.file_name().to_string_lossy().into_owned();
        name.strip_prefix("kafka_2.13-")?.strip_suffix(".jar").map(str::to_string)
    })
}

/// Samples a process's RSS every RSS_SAMPLE_INTERVAL_MS on its own thread and keeps the peak.
struct RssSampler {
    running: Arc<AtomicBool>,
    peak_bytes: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

const RSS_SAMPLE_INTERVAL_MS: u64 = 100;
/// Writing a consume fixture stops here even short of its record count.
const FIXTURE_DURATION_S_MAX: u64 = 120;

impl RssSampler {
    fn start(pid: u32) -> Result<RssSampler> {
        let running = Arc::new(AtomicBool::new(true));
        let peak_bytes = Arc::new(AtomicU64::new(procfs::rss_bytes(pid).unwrap_or(0)));
        let thread = {
            let running = running.clone();
            let peak_bytes = peak_bytes.clone();
            std::thread::Builder::new().name("bench-rss".into()).spawn(move || {
                // Ends when the sampler is finished (or dropped) or the process is gone.
                while running.load(Ordering::Relaxed) {
                    let Some(rss) = procfs::rss_bytes(pid) else {
                        break;
                    };
                    peak_bytes.fetch_max(rss, Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(RSS_SAMPLE_INTERVAL_MS));
                }
            })?
        };
        Ok(RssSampler { running, peak_bytes, thread: Some(thread) })
    }

    fn finish(mut self) -> u64 {
        self.running.store(false, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.peak_bytes.load(Ordering::Relaxed)
    }
}

impl Drop for RssSampler {
    fn drop(&mut self) {
        self.running.store(false, Ordering::Relaxed);
    }
}

/// CPU cores processes used together over a phase, from /proc CPU time.
struct CpuMeter {
    /// Each process with its CPU seconds at the start.
    pids: Vec<(String, f64)>,
    at: Instant,
}

impl CpuMeter {
    fn start(pid: u32) -> CpuMeter {
        CpuMeter::start_all(&[pid])
    }
    /// A cluster's processes (Kafka: one JVM per node); one that is gone counts as idle since.
    fn start_all(pids: &[u32]) -> CpuMeter {
        let pids = pids
            .iter()
            .map(|pid| {
                let pid = pid.to_string();
                let cpu_s = procfs::cpu_s(&pid).unwrap_or(0.0);
                (pid, cpu_s)
            })
            .collect();
        CpuMeter { pids, at: Instant::now() }
    }
    fn cores(&self) -> f64 {
        let used_s: f64 = self.pids.iter().map(|(pid, start)| procfs::cpu_s(pid).unwrap_or(*start) - start).sum();
        used_s / self.at.elapsed().as_secs_f64().max(1e-9)
    }
}

/// One broker under test, between its start and its stop.
struct Target {
    broker: Broker,
    profile: ConnectionProfile,
    admin: Admin,
    report: TargetReport,
}

impl Target {
    fn name(&self) -> &'static str {
        self.report.flavor.name()
    }

    fn create_topic(&self, runtime: &tokio::runtime::Runtime, name: &str, partitions: i32, stop: &Stop) -> Result<f64> {
        create_topic(&self.admin, &self.profile, runtime, &topic_spec(name, partitions, None), stop)
    }

    /// Deleting frees the disk between phases; a failure here changes no figure.
    fn delete_topic(&self, runtime: &tokio::runtime::Runtime, name: &str) {
        let _ = runtime.block_on(self.admin.delete_topic(name));
    }
}

/// Starts a broker, measures start-up and idle RSS, and runs an untimed warm-up. A broker that
/// does not start yields its report (with the error) instead of a target.
fn start_target(
    launch: &Launch,
    plan: &Plan,
    out: &Path,
    runtime: &tokio::runtime::Runtime,
    stop: &Stop,
) -> Result<std::result::Result<Target, TargetReport>> {
    let flavor = launch.flavor();
    println!("{}: starting…", flavor.name());
    let mut report = TargetReport::new(flavor);
    let broker = match Broker::start(launch, out, stop) {
        Ok(broker) => broker,
        Err(error) => {
            stop.check()?;
            println!("{}: failed to start: {error:#}", flavor.name());
            report.error = Some(format!("start: {error:#}"));
            return Ok(Err(report));
        }
    };
    report.startup_ms = Some(broker.startup_ms);
    report.ready_line_ms = Some(broker.ready_line_ms);
    println!(
        "{}: ready at {} (pid {}), start-up {:.0} ms, ready line after {:.0} ms",
        flavor.name(),
        broker.bootstrap,
        broker.pid,
        broker.startup_ms,
        broker.ready_line_ms
    );
    stop.sleep(Duration::from_secs(plan.settle_s))?;
    report.rss_idle_bytes = procfs::rss_bytes(broker.pid);
    let profile = ConnectionProfile::plaintext(broker.bootstrap.clone(), format!("oxbow-bench-{}", flavor.name()));
    let admin = Admin::new(&profile, Duration::from_secs(30))?;
    let target = Target { broker, profile, admin, report };

    warm_up(
        target.name(),
        &target.profile,
        &target.admin,
        runtime,
        &topic_spec("bench-warmup", plan.partitions, None),
        "1",
        stop,
    )?;
    Ok(Ok(target))
}

/// The spec of a bench topic: replication factor 1 on a single broker, or the replication plan's
/// factor and min.insync.replicas on a cluster.
fn topic_spec(name: &str, partitions: i32, replication: Option<&ReplicationPlan>) -> TopicSpec {
    let mut spec = TopicSpec::new(name, partitions);
    match replication {
        None => spec.replication_factor = Some(1),
        Some(plan) => {
            spec.replication_factor = Some(plan.replication_factor);
            spec.configs = vec![("min.insync.replicas".to_string(), plan.min_insync_replicas.to_string())];
        }
    }
    spec
}

/// A topic not led and fully in sync on every broker within this fails its phase.
const TOPIC_READY_TIMEOUT_MS: u64 = 30_000;

/// Creates a topic and waits until every broker's metadata shows each partition led and fully
/// in sync (see [`ready::wait_topic_ready`]), so no phase measures the topic's creation; the
/// same wait for every broker kind. Returns creation → ready, in ms.
fn create_topic(
    admin: &Admin,
    profile: &ConnectionProfile,
    runtime: &tokio::runtime::Runtime,
    spec: &TopicSpec,
    stop: &Stop,
) -> Result<f64> {
    let started = Instant::now();
    runtime.block_on(admin.create_topic(spec)).with_context(|| format!("creating topic {}", spec.name))?;
    ready::wait_topic_ready(
        admin,
        runtime,
        profile,
        &spec.name,
        usize::try_from(spec.partitions).unwrap_or(0),
        Duration::from_millis(TOPIC_READY_TIMEOUT_MS),
        stop,
    )?;
    Ok(started.elapsed().as_secs_f64() * 1e3)
}

/// The latency phase on a topic `create` makes, with the plan's rate and warm-up; the CPU of
/// `broker_pids` is measured over it.
fn latency_phase(
    profile: &ConnectionProfile,
    plan: &Plan,
    topic: &str,
    create: impl FnOnce() -> Result<f64>,
    broker_pids: &[u32],
    stop: &Stop,
) -> Result<load::LatencyResult> {
    let topic_ready_ms = create()?;
    let cpu = CpuMeter::start_all(broker_pids);
    let spec = load::LatencySpec {
        topic,
        value_size: plan.latency_record_bytes,
        rate_per_s: plan.latency_rate_per_s,
        warmup_min: Duration::from_secs(plan.latency_warmup_s),
        warmup_max: Duration::from_secs(plan.latency_warmup_s_max),
        duration: Duration::from_secs(plan.latency_duration_s),
    };
    let mut result = load::latency(profile, &spec, stop)?;
    result.topic_ready_ms = Some(topic_ready_ms);
    result.broker_cpu_cores = Some(cpu.cores());
    Ok(result)
}

/// The console line of a latency phase: the figures, how the warm-up ended, and every second's
/// p99, end to end and of the acknowledgement alone (w: warm-up), so a slow stretch is visible
/// where it happened and on which side.
fn latency_line(r: &load::LatencyResult) -> String {
    let seconds: Vec<String> = r
        .per_second
        .iter()
        .map(|s| {
            let mark = if s.measured { "" } else { "w" };
            format!("{mark}{:.1}/{:.1}", s.p99_ms, s.ack_p99_ms)
        })
        .collect();
    let partitions: Vec<String> =
        r.per_partition.iter().map(|p| format!("{}@{}:{:.1}", p.partition, p.leader, p.p99_ms)).collect();
    format!(
        "p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms ({} of {} records back); topic ready on every broker after {} ms; warm-up {:.1} s ({}); broker {} cores; p99 per second, end to end/ack, ms: {}; p99 per partition@leader, ms: {}",
        r.p50_ms,
        r.p99_ms,
        r.p999_ms,
        r.received_records,
        r.measured_records,
        r.topic_ready_ms.map_or("?".to_string(), |ms| format!("{ms:.0}")),
        r.warmup_s,
        if r.warm { "warm" } else { "NOT WARM at its bound" },
        r.broker_cpu_cores.map_or("?".to_string(), |c| format!("{c:.2}")),
        seconds.join(" "),
        partitions.join(" ")
    )
}

/// Untimed warm-up on the topic `spec` (deleted afterwards): the first consumer makes Kafka create
/// __consumer_offsets (librdkafka looks up the reader's group coordinator), which must not land
/// inside a timed phase. A failure is printed, not fatal; only a stop request ends the bench.
fn warm_up(
    name: &str,
    profile: &ConnectionProfile,
    admin: &Admin,
    runtime: &tokio::runtime::Runtime,
    spec: &TopicSpec,
    acks: &str,
    stop: &Stop,
) -> Result<()> {
    let warmup = create_topic(admin, profile, runtime, spec, stop).and_then(|_| {
        let produce = ProduceSpec {
            settings: load::PRODUCER_SETTINGS,
            topic: &spec.name,
            value_size: 100,
            acks,
            duration: Duration::from_secs(10),
            records_max: 1_000,
        };
        load::produce(profile, &produce, stop)?;
        load::consume(profile, &spec.name, stop)
    });
    if let Err(error) = warmup {
        stop.check()?;
        println!("{name}: warm-up failed (continuing): {error:#}");
    }
    let _ = runtime.block_on(admin.delete_topic(&spec.name));
    Ok(())
}

/// Which broker runs first in phase `phase_index`: alternating, see [`run_phases`].
fn order(phase_index: usize, count: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..count).collect();
    if phase_index % 2 == 1 {
        order.reverse();
    }
    order
}

/// Between phases, so the previous one's background work (flushes, deletes) settles.
fn pause(plan: &Plan) -> Duration {
    Duration::from_millis(if plan.settle_s > 1 { 1_000 } else { 300 })
}

/// The timed phases, each run on every broker before the next phase starts. The order of the
/// brokers alternates from phase to phase, so a slow drift in what else the machine is doing
/// lands on both sides instead of on whichever broker happened to run second.
fn run_phases(targets: &mut [Target], plan: &Plan, runtime: &tokio::runtime::Runtime, stop: &Stop) -> Result<()> {
    let pause = pause(plan);
    let mut phase_index = 0usize;

    let samplers: Vec<RssSampler> = targets.iter().map(|t| RssSampler::start(t.broker.pid)).collect::<Result<_>>()?;
    for &size in &plan.record_sizes_bytes {
        for acks in ["1", "all"] {
            for index in order(phase_index, targets.len()) {
                stop.check()?;
                let target = &mut targets[index];
                let topic = format!("bench-produce-{size}b-acks-{acks}");
                let created = target.create_topic(runtime, &topic, plan.partitions, stop);
                let cpu = CpuMeter::start(target.broker.pid);
                let result = created.and_then(|_| {
                    let spec = ProduceSpec {
                        settings: load::PRODUCER_SETTINGS,
                        topic: &topic,
                        value_size: size,
                        acks,
                        duration: Duration::from_secs(plan.produce_duration_s),
                        records_max: plan.produce_records_max,
                    };
                    load::produce(&target.profile, &spec, stop)
                });
                let phase = finish_phase(
                    target.name(),
                    &cpu,
                    stop,
                    &format!("produce {size} B acks={acks}"),
                    format!("{size}b-acks-{acks}"),
                    result,
                )?;
                target.report.produce.push(phase);
                target.delete_topic(runtime, &topic);
                stop.sleep(pause)?;
            }
            phase_index += 1;
        }
    }
    for (target, sampler) in targets.iter_mut().zip(samplers) {
        target.report.rss_load_peak_bytes = Some(sampler.finish());
    }

    for (&size, &records) in plan.record_sizes_bytes.iter().zip(&plan.consume_records) {
        for index in order(phase_index, targets.len()) {
            stop.check()?;
            let target = &mut targets[index];
            // Untimed: write the fixture the consume phase reads (same batches on both brokers).
            let topic = format!("bench-consume-{size}b");
            let fixture = target.create_topic(runtime, &topic, plan.partitions, stop).and_then(|_| {
                let spec = ProduceSpec {
                    settings: load::FIXTURE_PRODUCER_SETTINGS,
                    topic: &topic,
                    value_size: size,
                    acks: "1",
                    duration: Duration::from_secs(FIXTURE_DURATION_S_MAX),
                    records_max: records,
                };
                load::produce(&target.profile, &spec, stop)
            });
            stop.sleep(pause)?;
            let cpu = CpuMeter::start(target.broker.pid);
            let result = fixture.and_then(|written| {
                let read = load::consume(&target.profile, &topic, stop)?;
                if read.records != written.records {
                    bail!("read {} records of the {} written", read.records, written.records);
                }
                Ok(read)
            });
            let phase =
                finish_phase(target.name(), &cpu, stop, &format!("consume {size} B"), format!("{size}b"), result)?;
            target.report.consume.push(phase);
            target.delete_topic(runtime, &topic);
            stop.sleep(pause)?;
        }
        phase_index += 1;
    }

    for index in order(phase_index, targets.len()) {
        stop.check()?;
        let target = &mut targets[index];
        let topic = "bench-latency";
        let result = latency_phase(
            &target.profile,
            plan,
            topic,
            || target.create_topic(runtime, topic, plan.partitions, stop),
            &[target.broker.pid],
            stop,
        );
        stop.check()?;
        match &result {
            Ok(r) => println!("{}: latency at {} records/s: {}", target.name(), r.rate_per_s, latency_line(r)),
            Err(error) => println!("{}: latency: failed: {error:#}", target.name()),
        }
        target.report.latency = Some(result.map_err(|error| format!("{error:#}")));
        target.delete_topic(runtime, topic);
    }
    phase_index += 1;

    // Group and transactional ids unique to this run, so no broker state of an earlier run
    // (a data dir reused by hand, say) is ever picked up.
    let run_id = format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis())
    );
    for index in order(phase_index, targets.len()) {
        stop.check()?;
        let target = &mut targets[index];
        let topic = "bench-group";
        let group = &plan.group;
        let group_prefix = format!("oxbow-bench-group-{}-{run_id}", target.name());
        let result = target.create_topic(runtime, topic, group.partitions, stop).and_then(|_| {
            let spec = groups::GroupSpec {
                topic,
                partitions: group.partitions,
                members: group.members,
                repetitions: group.repetitions,
                join_timeout: Duration::from_millis(group.join_timeout_ms_max),
                leave_timeout: Duration::from_millis(group.leave_timeout_ms_max),
                group_prefix: &group_prefix,
                pause,
            };
            groups::rebalance(&target.profile, &spec, stop)
        });
        stop.check()?;
        match &result {
            Ok(r) => println!("{}: {}", target.name(), group_line(r)),
            Err(error) => println!("{}: group rebalance: failed: {error:#}", target.name()),
        }
        target.report.group = Some(result.map_err(|error| format!("{error:#}")));
        target.delete_topic(runtime, topic);
        stop.sleep(pause)?;
    }
    phase_index += 1;

    for index in order(phase_index, targets.len()) {
        stop.check()?;
        let target = &mut targets[index];
        let topic = "bench-txn";
        let transactional_id = format!("oxbow-bench-txn-{}-{run_id}", target.name());
        let created = target.create_topic(runtime, topic, plan.txn.partitions, stop);
        let cpu = CpuMeter::start(target.broker.pid);
        let result = created.and_then(|_| {
            let spec = txn::TxnSpec {
                topic,
                transactional_id: &transactional_id,
                value_size: plan.txn.record_bytes,
                records_per_transaction: plan.txn.records_per_transaction,
                duration: Duration::from_secs(plan.produce_duration_s),
                records_max: plan.produce_records_max,
            };
            // The broker's CPU over the transactions, not over the read-back after them.
            txn::transactions(&target.profile, &spec, stop, || cpu.cores())
        });
        stop.check()?;
        match &result {
            Ok(r) => println!(
                "{}: transactions ({} records of {} B each): {:.0} records/s, {:.1} MB/s, {:.0} transactions/s ({} transactions; commit p50 {:.1} ms, max {:.1} ms; broker {} cores, generator {:.2} cores); {}",
                target.name(),
                r.records_per_transaction,
                r.record_bytes,
                r.records_per_s,
                r.mb_per_s,
                r.transactions_per_s,
                r.transactions,
                r.commit_p50_ms,
                r.commit_max_ms,
                r.broker_cpu_cores.map_or("?".to_string(), |c| format!("{c:.2}")),
                r.generator_cpu_cores,
                r.read_back_line()
            ),
            Err(error) => println!("{}: transactions: failed: {error:#}", target.name()),
        }
        if let Some(alarm) = result.as_ref().ok().and_then(txn::TxnResult::alarm) {
            println!("{}: {alarm}", target.name());
        }
        target.report.txn = Some(result.map_err(|error| format!("{error:#}")));
        target.delete_topic(runtime, topic);
        stop.sleep(pause)?;
    }
    Ok(())
}

/// The console line of a group phase: medians, maxima, and every repetition with the
/// assignments it took (more than the members: the group rebalanced more than once).
fn group_line(r: &groups::GroupResult) -> String {
    let rounds: Vec<String> = r
        .rounds
        .iter()
        .map(|round| {
            format!(
                "{:.0}/{:.0} ({}/{})",
                round.join_ms, round.leave_ms, round.join_assignments, round.leave_assignments
            )
        })
        .collect();
    format!(
        "group of {} on {} partitions: join median {:.0} ms, max {:.0} ms; leave median {:.0} ms, max {:.0} ms; per repetition join/leave ms (assignments received): {}",
        r.members,
        r.partitions,
        r.join_median_ms,
        r.join_max_ms,
        r.leave_median_ms,
        r.leave_max_ms,
        rounds.join(", ")
    )
}

/// Ends a produce or consume phase (`label` on the console, `name` in the report): reads the
/// broker's CPU over it before anything else, gives way to a stop request, prints the outcome
/// as it comes and wraps it for the report.
fn finish_phase(
    target_name: &str,
    cpu: &CpuMeter,
    stop: &Stop,
    label: &str,
    name: String,
    result: Result<ThroughputResult>,
) -> Result<report::Phase<ThroughputResult>> {
    let broker_cores = cpu.cores();
    stop.check()?;
    match &result {
        Ok(r) => println!(
            "{target_name}: {label}: {:.0} records/s, {:.1} MB/s ({} records; broker {:.2} cores, generator {:.2} cores)",
            r.records_per_s, r.mb_per_s, r.records, broker_cores, r.generator_cpu_cores
        ),
        Err(error) => println!("{target_name}: {label}: failed: {error:#}"),
    }
    Ok(report::Phase::new(name, result, broker_cores))
}

/// One cluster under test in the replication group, between its start and its stop.
struct ClusterTarget {
    cluster: Cluster,
    profile: ConnectionProfile,
    admin: Admin,
    report: ReplicationReport,
}

impl ClusterTarget {
    fn name(&self) -> &'static str {
        self.cluster.flavor.name()
    }
}

/// The replication group: each broker kind as a cluster of `replication.brokers`, started one
/// after the other (the single brokers are stopped by then), then the same phases as above,
/// alternating which cluster goes first: acks=all produce and end-to-end latency on RF 3 topics
/// with min.insync.replicas=2, and last (it leaves a broker dead) the leader failover. A cluster
/// that does not start, or a phase that fails, is reported; only a stop request ends the bench.
fn run_replication(
    launches: &[std::result::Result<ClusterLaunch, (broker::Flavor, String)>],
    plan: &Plan,
    replication: &ReplicationPlan,
    out: &Path,
    runtime: &tokio::runtime::Runtime,
    stop: &Stop,
) -> Result<Vec<(broker::Flavor, ReplicationReport)>> {
    let mut done = Vec::new();
    let mut targets = Vec::new();
    println!(
        "replication ({} brokers, RF {}, min.insync.replicas={}, acks=all); both clusters: {}",
        replication.brokers,
        replication.replication_factor,
        replication.min_insync_replicas,
        settings_line(CLUSTER_TIMING)
    );
    for launch in launches {
        stop.check()?;
        let launch = match launch {
            Ok(launch) => launch,
            Err((flavor, error)) => {
                println!("{} cluster: not started: {error}", flavor.name());
                done.push((*flavor, ReplicationReport::failed(error.clone())));
                continue;
            }
        };
        let flavor = launch.flavor();
        println!("{} cluster: starting {} brokers…", flavor.name(), replication.brokers);
        let cluster = match Cluster::start(launch, replication.brokers, out, stop) {
            Ok(cluster) => cluster,
            Err(error) => {
                stop.check()?;
                println!("{} cluster: failed to start: {error:#}", flavor.name());
                done.push((flavor, ReplicationReport::failed(format!("start: {error:#}"))));
                continue;
            }
        };
        println!(
            "{} cluster: ready at {} after {:.0} ms (pids {:?})",
            flavor.name(),
            cluster.bootstrap(),
            cluster.ready_ms,
            cluster.pids
        );
        let profile =
            ConnectionProfile::plaintext(cluster.bootstrap(), format!("oxbow-bench-{}-cluster", flavor.name()));
        let admin = Admin::new(&profile, Duration::from_secs(30))?;
        let target = ClusterTarget {
            report: ReplicationReport { ready_ms: Some(cluster.ready_ms), ..ReplicationReport::default() },
            cluster,
            profile,
            admin,
        };
        stop.sleep(Duration::from_secs(plan.settle_s))?;
        warm_up(
            target.name(),
            &target.profile,
            &target.admin,
            runtime,
            &topic_spec("bench-repl-warmup", replication.partitions, Some(replication)),
            "all",
            stop,
        )?;
        targets.push(target);
    }
    let result = replication_phases(&mut targets, plan, replication, runtime, stop);
    for mut target in targets {
        println!("{} cluster: stopping", target.name());
        target.cluster.stop();
        done.push((target.cluster.flavor, target.report));
    }
    result?;
    Ok(done)
}

fn replication_phases(
    targets: &mut [ClusterTarget],
    plan: &Plan,
    replication: &ReplicationPlan,
    runtime: &tokio::runtime::Runtime,
    stop: &Stop,
) -> Result<()> {
    let pause = pause(plan);
    let size = replication.record_bytes;
    for index in order(0, targets.len()) {
        stop.check()?;
        let target = &mut targets[index];
        let topic = "bench-repl-produce";
        let spec = topic_spec(topic, replication.partitions, Some(replication));
        let created = create_topic(&target.admin, &target.profile, runtime, &spec, stop);
        let cpu = CpuMeter::start_all(&target.cluster.pids);
        let result = created.and_then(|_| {
            let spec = ProduceSpec {
                settings: load::PRODUCER_SETTINGS,
                topic,
                value_size: size,
                acks: "all",
                duration: Duration::from_secs(plan.produce_duration_s),
                records_max: plan.produce_records_max,
            };
            load::produce(&target.profile, &spec, stop)
        });
        let phase = finish_phase(
            &format!("{} cluster", target.name()),
            &cpu,
            stop,
            &format!("produce {size} B acks=all, RF {}", replication.replication_factor),
            format!("{size}b-acks-all"),
            result,
        )?;
        target.report.produce = Some(phase);
        let _ = runtime.block_on(target.admin.delete_topic(topic));
        stop.sleep(pause)?;
    }

    for index in order(1, targets.len()) {
        stop.check()?;
        let target = &mut targets[index];
        let topic = "bench-repl-latency";
        let spec = topic_spec(topic, replication.partitions, Some(replication));
        let result = latency_phase(
            &target.profile,
            plan,
            topic,
            || create_topic(&target.admin, &target.profile, runtime, &spec, stop),
            &target.cluster.pids,
            stop,
        );
        stop.check()?;
        match &result {
            Ok(r) => println!(
                "{} cluster: latency at {} records/s, RF {}: {}",
                target.name(),
                r.rate_per_s,
                replication.replication_factor,
                latency_line(r)
            ),
            Err(error) => println!("{} cluster: latency: failed: {error:#}", target.name()),
        }
        target.report.latency = Some(result.map_err(|error| format!("{error:#}")));
        let _ = runtime.block_on(target.admin.delete_topic(topic));
        stop.sleep(pause)?;
    }

    // Last: it leaves one broker of each cluster dead.
    for index in order(2, targets.len()) {
        stop.check()?;
        let target = &mut targets[index];
        let topic = "bench-repl-failover";
        let spec = topic_spec(topic, replication.partitions, Some(replication));
        let failover = load::FailoverSpec {
            topic,
            warmup: Duration::from_secs(replication.failover_warmup_s),
            recovery_timeout: Duration::from_secs(replication.failover_recovery_timeout_s),
            tail: Duration::from_millis(replication.failover_tail_ms),
        };
        let cluster = &target.cluster;
        let result = create_topic(&target.admin, &target.profile, runtime, &spec, stop).and_then(|_| {
            load::failover(
                &target.profile,
                &failover,
                |leader| {
                    let killed = cluster.kill(leader)?;
                    Ok((killed.at, killed.command_ms))
                },
                stop,
            )
        });
        stop.check()?;
        match &result {
            Ok(r) => println!(
                "{} cluster: failover: killed broker {} (partition 0's leader; kill took {:.1} ms), new leader {} in metadata {}: first ack of a record sent after the kill {}, of any record {}; in flight at the kill {} ({} succeeded, {} failed); {} sent, {} acked, {} failed, {} unresolved; {}",
                target.name(),
                r.killed_broker,
                r.kill_command_ms,
                r.new_leader.map_or("?".to_string(), |l| l.to_string()),
                r.leader_moved_ms.map_or("never".to_string(), |ms| format!("after {ms:.0} ms")),
                r.counts.failover_ms.map_or("never".to_string(), |ms| format!("after {ms:.0} ms")),
                r.counts.first_ack_after_kill_ms.map_or("never".to_string(), |ms| format!("after {ms:.0} ms")),
                r.counts.in_flight_at_kill,
                r.counts.in_flight_succeeded,
                r.counts.in_flight_failed,
                r.counts.records_sent,
                r.counts.records_acked,
                r.counts.records_failed,
                r.counts.records_unresolved,
                r.read_back_line(),
            ),
            Err(error) => println!("{} cluster: failover: failed: {error:#}", target.name()),
        }
        if let Some(alarm) = result.as_ref().ok().and_then(load::FailoverResult::alarm) {
            println!("{} cluster: {alarm}", target.name());
        }
        target.report.failover = Some(result.map_err(|error| format!("{error:#}")));
    }
    Ok(())
}
