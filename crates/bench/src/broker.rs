//! The brokers under test, as subprocesses: start, wait for ready, measure, stop; and the
//! replication group's clusters ([`Cluster`]), which can also kill one of their brokers.
//!
//! Both brokers get the same treatment: their own process group (so a terminal's Ctrl-C reaches
//! only the bench, which then stops them in order), a temporary data directory removed at exit,
//! logging at WARN to a file in the output directory, and SIGTERM then SIGKILL when dropped —
//! including on an error or a panic unwinding through the bench.

use crate::probe;
use crate::procfs;
use crate::Stop;
use anyhow::{bail, Context, Result};
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The JVM needs seconds to start; a slow CI machine can take tens of them.
const READY_TIMEOUT_KAFKA_MS: u64 = 120_000;
const READY_TIMEOUT_OXBOW_MS: u64 = 60_000;
/// How often the start-up probe knocks. Small against both brokers' start-up times.
const PROBE_INTERVAL_MS: u64 = 5;
/// Kafka's controlled shutdown of a near-empty single node takes a few seconds; then SIGKILL.
const STOP_TIMEOUT_MS: u64 = 15_000;
/// Lines kept in flight between the stdout reader thread and the bench.
const STDOUT_LINES_MAX: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Flavor {
    Oxbow,
    Kafka,
}

impl Flavor {
    pub fn name(self) -> &'static str {
        match self {
            Flavor::Oxbow => "oxbow",
            Flavor::Kafka => "kafka",
        }
    }
}

/// How to start a broker.
pub enum Launch {
    /// `<bin> serve --ephemeral --kafka-port 0 --brokers 1 --studio-port 0
    /// --group-initial-rebalance-delay-ms N`.
    Oxbow { bin: PathBuf },
    /// `scripts/apache-kafka.sh start --port P --data-dir D --config KEY=VALUE` (the repo's one
    /// way to start Kafka; the configs are the bench's broker settings).
    KafkaScript { script: PathBuf },
    /// Kafka's JVM started directly from a directory of jars (`--kafka-libs`), with the same
    /// single-node KRaft settings as the script; ready when it answers a Metadata request.
    KafkaJars { libs: PathBuf, log4j_config: Option<PathBuf> },
}

/// A running broker. Dropping it stops the process group and removes the data directory.
pub struct Broker {
    pub bootstrap: String,
    /// The process that does the broker's work: Oxbow itself, or Kafka's JVM (not its launcher).
    pub pid: u32,
    /// Broker process start → first Metadata request answered.
    pub startup_ms: f64,
    /// Launch → the `ready kafka` line (for Kafka this includes the launcher and storage format).
    pub ready_line_ms: f64,
    child: Child,
    _data_dir: tempfile::TempDir,
}

impl Broker {
    pub fn start(launch: &Launch, log_dir: &Path, stop: &Stop) -> Result<Broker> {
        let flavor = launch.flavor();
        let data_dir = tempfile::Builder::new()
            .prefix(&format!("oxbow-bench-{}-", flavor.name()))
            .tempdir()
            .context("creating a temporary data directory")?;
        let log_path = log_dir.join(format!("{}.stderr.log", flavor.name()));
        let log = std::fs::File::create(&log_path).with_context(|| format!("creating {}", log_path.display()))?;

        let (mut command, probe_port) = match launch {
            Launch::Oxbow { bin } => {
                let mut command = Command::new(bin);
                // Oxbow's own --ephemeral dir is used; ours stays empty but keeps both paths alike.
                // One broker, as Kafka here is one node (`serve` runs 3 by default); the studio on
                // any free port, so a busy 8080 cannot stop the bench.
                command.args(["serve", "--ephemeral", "--kafka-port", "0", "--brokers", "1"]);
                command.args(["--studio-port", "0"]);
                // Set, not left to the default, so the group phase compares like with like.
                command.arg("--group-initial-rebalance-delay-ms");
                command.arg(crate::GROUP_INITIAL_REBALANCE_DELAY_MS.to_string());
                quiet_oxbow(&mut command);
                (command, None)
            }
            Launch::KafkaScript { script } => {
                let port = probe::free_port()?;
                let mut command = Command::new("bash");
                command.arg(script).args(["start", "--port", &port.to_string(), "--data-dir"]);
                command.arg(data_dir.path());
                // The script sets the same today; a --config line comes last and wins, so the
                // bench's value holds whatever the script's default becomes.
                for (key, value) in crate::broker_group_settings() {
                    command.arg("--config").arg(format!("{key}={value}"));
                }
                (command, Some(port))
            }
            Launch::KafkaJars { libs, log4j_config } => {
                let port = probe::free_port()?;
                let config = write_kafka_config(data_dir.path(), port)?;
                format_kafka_storage(libs, &config, &log_path, stop)?;
                let mut command = Command::new("java");
                // The heap and GC flags of Kafka's kafka-server-start.sh, as the script uses.
                command.args(["-Xmx1g", "-Xms1g", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20"]);
                command.args(["-XX:InitiatingHeapOccupancyPercent=35", "-Djava.awt.headless=true"]);
                if let Some(log4j_config) = log4j_config {
                    command.arg(format!("-Dlog4j2.configurationFile={}", log4j_config.display()));
                }
                command.arg("-cp").arg(libs.join("*")).arg("kafka.Kafka").arg(&config);
                (command, Some(port))
            }
        };
        let needs_ready_line = !matches!(launch, Launch::KafkaJars { .. });
        let launched = Instant::now();
        let (child, lines) = spawn_in_own_group(&mut command, log, flavor)?;
        // From here on, an early return drops the half-started broker properly.
        let mut broker = Broker {
            bootstrap: String::new(),
            pid: child.id(),
            startup_ms: 0.0,
            ready_line_ms: 0.0,
            child,
            _data_dir: data_dir,
        };
        let timeout_ms = match flavor {
            Flavor::Oxbow => READY_TIMEOUT_OXBOW_MS,
            Flavor::Kafka => READY_TIMEOUT_KAFKA_MS,
        };
        let deadline = launched + Duration::from_millis(timeout_ms);
        let mut ready_line: Option<String> = None;
        let mut jvm: Option<u32> = None;
        let mut answered_boot_ms: Option<f64> = None;
        // Bounded by the deadline; each turn waits at most PROBE_INTERVAL_MS.
        loop {
            stop.check()?;
            if Instant::now() >= deadline {
                bail!("{} not ready after {} s; see {}", flavor.name(), timeout_ms / 1000, log_path.display());
            }
            if let Some(status) = broker.child.try_wait()? {
                bail!("{} exited before it was ready ({status}); see {}", flavor.name(), log_path.display());
            }
            if let Some(port) = probe_port {
                if jvm.is_none() {
                    jvm = if needs_ready_line {
                        procfs::find_child(broker.child.id(), "java", "kafka.Kafka")
                    } else {
                        Some(broker.child.id())
                    };
                }
                if jvm.is_some() && answered_boot_ms.is_none() && probe::metadata_answers(port) {
                    answered_boot_ms = Some(procfs::boot_time_ms());
                }
            }
            match lines.recv_timeout(Duration::from_millis(PROBE_INTERVAL_MS)) {
                Ok(line) => {
                    if let Some(address) = ready_kafka_address(&line) {
                        broker.ready_line_ms = launched.elapsed().as_secs_f64() * 1e3;
                        ready_line = Some(address.to_string());
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) if needs_ready_line => {
                    bail!("{} closed stdout before printing its ready line; see {}", flavor.name(), log_path.display());
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    // Kafka's JVM may close stdout; readiness comes from the probe. Don't spin.
                    std::thread::sleep(Duration::from_millis(PROBE_INTERVAL_MS));
                }
            }
            if !needs_ready_line && answered_boot_ms.is_some() {
                broker.ready_line_ms = launched.elapsed().as_secs_f64() * 1e3;
                let port = probe_port.expect("Kafka launches probe a port");
                ready_line = Some(format!("127.0.0.1:{port}"));
            }
            if ready_line.is_some() && (probe_port.is_none() || answered_boot_ms.is_some()) {
                break;
            }
        }
        let address = ready_line.expect("loop exits only with a ready line");
        broker.bootstrap = address.clone();
        match flavor {
            Flavor::Oxbow => {
                // We exec'd Oxbow ourselves, so the spawn instant is its start. Confirm it answers
                // a Metadata request, as for Kafka, and count the time until it does.
                let port: u16 = address.rsplit(':').next().and_then(|p| p.parse().ok()).context("ready line port")?;
                let answer_deadline = Instant::now() + Duration::from_millis(READY_TIMEOUT_OXBOW_MS);
                while !probe::metadata_answers(port) {
                    stop.check()?;
                    if Instant::now() >= answer_deadline {
                        bail!("oxbow printed its ready line but does not answer Metadata requests");
                    }
                    std::thread::sleep(Duration::from_millis(PROBE_INTERVAL_MS));
                }
                broker.startup_ms = launched.elapsed().as_secs_f64() * 1e3;
            }
            Flavor::Kafka => {
                let jvm = jvm.context("Kafka's JVM process not found under its launcher")?;
                broker.pid = jvm;
                let started_boot_ms = procfs::start_time_boot_ms(jvm)?;
                broker.startup_ms = answered_boot_ms.expect("loop waited for it") - started_boot_ms;
            }
        }
        Ok(broker)
    }

    /// Stops the broker: SIGTERM to its process group, then SIGKILL after STOP_TIMEOUT_MS.
    pub fn stop(&mut self) {
        stop_group(&mut self.child, STOP_TIMEOUT_MS);
    }
}

/// Oxbow logs at WARN unless RUST_LOG says otherwise: the Kafka scripts' default level, and
/// logging is not what is measured.
fn quiet_oxbow(command: &mut Command) {
    if std::env::var_os("RUST_LOG").is_none() {
        command.env("RUST_LOG", "warn");
    }
}

/// Spawns `command` with stdout piped to a reader thread (see [`spawn_stdout_reader`]), stderr to
/// `log`, in its own process group: Ctrl-C in the terminal reaches only the bench, and
/// [`stop_group`] can signal a launcher and the JVMs it started together.
fn spawn_in_own_group(
    command: &mut Command,
    log: std::fs::File,
    flavor: Flavor,
) -> Result<(Child, mpsc::Receiver<String>)> {
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::from(log));
    command.process_group(0);
    // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec here.
    unsafe {
        command.pre_exec(|| {
            // If the bench dies without unwinding (SIGKILL), the direct child goes with it.
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let mut child = command.spawn().with_context(|| format!("starting {}", flavor.name()))?;
    let lines = spawn_stdout_reader(&mut child)?;
    Ok((child, lines))
}

/// SIGTERM to `child`'s process group, SIGKILL after `timeout_ms`, then reaps the child.
fn stop_group(child: &mut Child, timeout_ms: u64) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        kill_group(child.id(), libc::SIGKILL); // Reap anything the launcher left behind.
        return;
    }
    kill_group(child.id(), libc::SIGTERM);
    let deadline = Instant::now() + Duration::from_millis(timeout_ms);
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    kill_group(child.id(), libc::SIGKILL);
    let _ = child.wait();
}

impl Launch {
    pub fn flavor(&self) -> Flavor {
        match self {
            Launch::Oxbow { .. } => Flavor::Oxbow,
            Launch::KafkaScript { .. } | Launch::KafkaJars { .. } => Flavor::Kafka,
        }
    }
}

/// Writes a single-node KRaft config (broker and controller in one process), the same settings
/// as scripts/apache-kafka.sh, with the log under `dir/data`. Returns the config's path.
fn write_kafka_config(dir: &Path, port: u16) -> Result<PathBuf> {
    let mut controller_port = probe::free_port()?;
    // Bounded: the OS rarely hands out the same free port twice in a row.
    for _ in 0..8 {
        if controller_port != port {
            break;
        }
        controller_port = probe::free_port()?;
    }
    let data = dir.join("data");
    std::fs::create_dir_all(&data)?;
    let config = format!(
        "process.roles=broker,controller\n\
         node.id=1\n\
         controller.quorum.voters=1@127.0.0.1:{controller_port}\n\
         listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}\n\
         advertised.listeners=PLAINTEXT://127.0.0.1:{port}\n\
         controller.listener.names=CONTROLLER\n\
         inter.broker.listener.name=PLAINTEXT\n\
         listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT\n\
         log.dirs={}\n\
         num.partitions=1\n\
         auto.create.topics.enable=true\n\
         offsets.topic.replication.factor=1\n\
         transaction.state.log.replication.factor=1\n\
         transaction.state.log.min.isr=1\n\
         share.coordinator.state.topic.replication.factor=1\n\
         share.coordinator.state.topic.min.isr=1\n\
         group.initial.rebalance.delay.ms={}\n",
        data.display(),
        crate::GROUP_INITIAL_REBALANCE_DELAY_MS
    );
    let path = dir.join("server.properties");
    std::fs::write(&path, config)?;
    Ok(path)
}

/// A KRaft cluster id: 16 random bytes, URL-safe base64 without padding, not starting with '-'
/// (Kafka's tools would read that as an option).
fn kafka_cluster_id() -> Result<String> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut random = [0u8; 16];
    std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom")?, &mut random)?;
    random[0] &= 0b0111_1111; // First character from the alphabet's first half: never '-'.
    let mut bits: u32 = 0;
    let mut bit_count = 0;
    let mut id = String::with_capacity(22);
    for byte in random {
        bits = (bits << 8) | byte as u32;
        bit_count += 8;
        while bit_count >= 6 {
            bit_count -= 6;
            id.push(ALPHABET[((bits >> bit_count) & 63) as usize] as char);
        }
    }
    if bit_count > 0 {
        id.push(ALPHABET[((bits << (6 - bit_count)) & 63) as usize] as char);
    }
    Ok(id)
}

const FORMAT_TIMEOUT_MS: u64 = 120_000;

/// `kafka-storage format` for the config's log dir, bounded by FORMAT_TIMEOUT_MS.
fn format_kafka_storage(libs: &Path, config: &Path, log_path: &Path, stop: &Stop) -> Result<()> {
    let log = std::fs::OpenOptions::new().append(true).open(log_path)?;
    let mut command = Command::new("java");
    command.args(["-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp"]);
    command.arg(libs.join("*")).args(["kafka.tools.StorageTool", "format", "--cluster-id", &kafka_cluster_id()?]);
    command.arg("--config").arg(config);
    command.stdin(Stdio::null()).stdout(Stdio::from(log.try_clone()?)).stderr(Stdio::from(log));
    command.process_group(0);
    let mut child = command.spawn().context("starting java (is a JDK installed?)")?;
    let deadline = Instant::now() + Duration::from_millis(FORMAT_TIMEOUT_MS);
    loop {
        if let Some(status) = child.try_wait()? {
            if !status.success() {
                bail!("formatting Kafka's storage failed ({status}); see {}", log_path.display());
            }
            return Ok(());
        }
        if stop.check().is_err() || Instant::now() >= deadline {
            kill_group(child.id(), libc::SIGKILL);
            let _ = child.wait();
            stop.check()?;
            bail!("formatting Kafka's storage took over {} s", FORMAT_TIMEOUT_MS / 1000);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
    }
}

fn kill_group(pgid: u32, signal: libc::c_int) {
    // SAFETY: plain syscall; a group that no longer exists yields ESRCH, which is fine.
    unsafe {
        libc::kill(-(pgid as libc::pid_t), signal);
    }
}

/// Forwards stdout lines through a bounded channel, then keeps draining so the broker never blocks
/// on a full pipe. The thread ends when the broker closes stdout (it exits).
fn spawn_stdout_reader(child: &mut Child) -> Result<mpsc::Receiver<String>> {
    let stdout = child.stdout.take().context("child stdout")?;
    let (sender, receiver) = mpsc::sync_channel(STDOUT_LINES_MAX);
    std::thread::Builder::new().name("bench-broker-stdout".into()).spawn(move || {
        let reader = BufReader::new(stdout);
        for line in reader.lines() {
            let Ok(line) = line else { break };
            // Once the bench stops listening, try_send fails and lines are dropped, never queued.
            let _ = sender.try_send(line);
        }
    })?;
    Ok(receiver)
}

/// `ready kafka HOST:PORT` → `HOST:PORT`, the line both `oxbow serve` and the Kafka scripts print
/// per broker once it serves requests.
pub fn ready_kafka_address(line: &str) -> Option<&str> {
    let address = line.trim().strip_prefix("ready kafka ")?.trim();
    (!address.is_empty()).then_some(address)
}

/// Broker start-up after formatting, for a whole cluster: three JVMs on two cores take longer.
const READY_TIMEOUT_CLUSTER_MS: u64 = 240_000;
/// Stopping a cluster: every node's controlled shutdown, one of them possibly without a quorum.
const STOP_TIMEOUT_CLUSTER_MS: u64 = 30_000;
/// `oxbow fault kill` answers once the broker is down; it bounds itself at 60 s.
const FAULT_COMMAND_TIMEOUT_MS: u64 = 70_000;

/// How to start a multi-broker cluster for the replication phases.
pub enum ClusterLaunch {
    /// `<bin> serve --brokers N --data-dir DIR --kafka-port 0 --studio-port 0`; one process, one
    /// broker per id, killed one at a time with `<bin> fault kill ID --data-dir DIR`.
    Oxbow { bin: PathBuf },
    /// `scripts/apache-kafka-cluster.sh start --brokers N --data-dir DIR`: one JVM per node, each
    /// killed with SIGKILL by the pid the script leaves in DIR/node-ID/pid. `libs` (--kafka-libs)
    /// goes to the script as KAFKA_LIBS.
    Kafka { script: PathBuf, libs: Option<PathBuf> },
}

impl ClusterLaunch {
    pub fn flavor(&self) -> Flavor {
        match self {
            ClusterLaunch::Oxbow { .. } => Flavor::Oxbow,
            ClusterLaunch::Kafka { .. } => Flavor::Kafka,
        }
    }
}

/// A running cluster. Dropping it stops every broker and removes the data directory.
pub struct Cluster {
    pub flavor: Flavor,
    /// Kafka addresses in broker id order (ids 1, 2, 3, …).
    pub addresses: Vec<String>,
    /// Launch → every broker answers Metadata listing all of them.
    pub ready_ms: f64,
    /// The processes doing the brokers' work, for CPU readings: Oxbow's one process, or each
    /// Kafka node's JVM in node id order.
    pub pids: Vec<u32>,
    oxbow_bin: Option<PathBuf>,
    child: Child,
    data_dir: tempfile::TempDir,
}

/// What killing a broker took.
#[derive(Clone, Copy, Debug)]
pub struct Killed {
    /// When the kill was done: SIGKILL sent (Kafka), or `oxbow fault kill` answered (Oxbow).
    pub at: Instant,
    /// From issuing the kill to `at`: the `oxbow fault` round trip; about nothing for a signal.
    pub command_ms: f64,
}

impl Cluster {
    pub fn start(launch: &ClusterLaunch, brokers: u32, log_dir: &Path, stop: &Stop) -> Result<Cluster> {
        let flavor = launch.flavor();
        let data_dir = tempfile::Builder::new()
            .prefix(&format!("oxbow-bench-{}-cluster-", flavor.name()))
            .tempdir()
            .context("creating a temporary data directory")?;
        let log_path = log_dir.join(format!("{}-cluster.stderr.log", flavor.name()));
        let log = std::fs::File::create(&log_path).with_context(|| format!("creating {}", log_path.display()))?;
        let brokers_arg = brokers.to_string();
        let (mut command, oxbow_bin) = match launch {
            ClusterLaunch::Oxbow { bin } => {
                let mut command = Command::new(bin);
                command.args(["serve", "--brokers", &brokers_arg, "--kafka-port", "0"]);
                command.args(["--studio-port", "0", "--data-dir"]);
                command.arg(data_dir.path());
                quiet_oxbow(&mut command);
                (command, Some(bin.clone()))
            }
            ClusterLaunch::Kafka { script, libs } => {
                let mut command = Command::new("bash");
                command.arg(script).args(["start", "--brokers", &brokers_arg, "--data-dir"]);
                command.arg(data_dir.path());
                if let Some(libs) = libs {
                    command.env("KAFKA_LIBS", libs);
                }
                (command, None)
            }
        };
        let launched = Instant::now();
        let (child, lines) = spawn_in_own_group(&mut command, log, flavor)?;
        let mut cluster =
            Cluster { flavor, addresses: Vec::new(), ready_ms: 0.0, pids: Vec::new(), oxbow_bin, child, data_dir };
        let deadline = launched + Duration::from_millis(READY_TIMEOUT_CLUSTER_MS);
        // Bounded by the deadline; each turn waits at most 100 ms for a line.
        while cluster.addresses.len() < brokers as usize {
            stop.check()?;
            if Instant::now() >= deadline {
                bail!(
                    "{} cluster not ready after {} s; see {}",
                    flavor.name(),
                    READY_TIMEOUT_CLUSTER_MS / 1000,
                    log_path.display()
                );
            }
            if let Some(status) = cluster.child.try_wait()? {
                bail!("{} cluster exited before it was ready ({status}); see {}", flavor.name(), log_path.display());
            }
            match lines.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => {
                    if let Some(address) = ready_kafka_address(&line) {
                        cluster.addresses.push(address.to_string());
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => bail!(
                    "{} cluster closed stdout before printing its ready lines; see {}",
                    flavor.name(),
                    log_path.display()
                ),
            }
        }
        // Ready as the Kafka cluster script defines it: every broker answers a Metadata request
        // listing all of them (registered with the controller), so the first CreateTopics with
        // replication factor `brokers` finds them all.
        for address in &cluster.addresses {
            let port: u16 = address
                .rsplit(':')
                .next()
                .and_then(|port| port.parse().ok())
                .with_context(|| format!("ready line address {address}"))?;
            // Bounded by the deadline; each turn is one probe (≤ 1 s) and a short sleep.
            while probe::metadata_brokers(port).unwrap_or(0) < brokers as i32 {
                stop.check()?;
                if Instant::now() >= deadline {
                    bail!(
                        "{} broker {address} does not list all {brokers} brokers after {} s; see {}",
                        flavor.name(),
                        READY_TIMEOUT_CLUSTER_MS / 1000,
                        log_path.display()
                    );
                }
                std::thread::sleep(Duration::from_millis(PROBE_INTERVAL_MS));
            }
        }
        cluster.ready_ms = launched.elapsed().as_secs_f64() * 1e3;
        cluster.pids = match flavor {
            Flavor::Oxbow => vec![cluster.child.id()],
            Flavor::Kafka => {
                (1..=brokers).map(|id| kafka_node_pid(cluster.data_dir.path(), id)).collect::<Result<_>>()?
            }
        };
        Ok(cluster)
    }

    /// Every broker's address, comma-separated: a client's bootstrap list.
    pub fn bootstrap(&self) -> String {
        self.addresses.join(",")
    }

    /// Kills broker `broker_id` at once, without any shutdown work: `oxbow fault kill` for Oxbow,
    /// SIGKILL to the node's JVM for Kafka. Returns when the kill is done.
    pub fn kill(&self, broker_id: i32) -> Result<Killed> {
        let issued = Instant::now();
        match (self.flavor, &self.oxbow_bin) {
            (Flavor::Oxbow, Some(bin)) => {
                let output = run_bounded(
                    Command::new(bin)
                        .args(["fault", "kill", &broker_id.to_string(), "--data-dir"])
                        .arg(self.data_dir.path())
                        .env("RUST_LOG", "warn"),
                    Duration::from_millis(FAULT_COMMAND_TIMEOUT_MS),
                )?;
                let at = Instant::now();
                let stdout = String::from_utf8_lossy(&output.stdout);
                if !output.status.success() {
                    bail!(
                        "oxbow fault kill {broker_id} failed ({}): {}",
                        output.status,
                        String::from_utf8_lossy(&output.stderr).trim()
                    );
                }
                match parse_fault_line(&stdout) {
                    Some((id, state)) if id == broker_id && state == "killed" => {}
                    _ => bail!("oxbow fault kill {broker_id}: unexpected answer {:?}", stdout.trim()),
                }
                Ok(Killed { at, command_ms: at.duration_since(issued).as_secs_f64() * 1e3 })
            }
            _ => {
                let index = usize::try_from(broker_id - 1)
                    .ok()
                    .filter(|index| *index < self.pids.len())
                    .with_context(|| format!("no Kafka node {broker_id} in this cluster"))?;
                let pid = self.pids[index];
                // SAFETY: plain syscall on a pid this cluster's script started and still holds.
                let sent = unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
                let at = Instant::now();
                if sent != 0 {
                    bail!("SIGKILL to Kafka node {broker_id} (pid {pid}): {}", std::io::Error::last_os_error());
                }
                Ok(Killed { at, command_ms: at.duration_since(issued).as_secs_f64() * 1e3 })
            }
        }
    }

    /// Stops every broker: SIGTERM to the process group, SIGKILL after STOP_TIMEOUT_CLUSTER_MS.
    pub fn stop(&mut self) {
        stop_group(&mut self.child, STOP_TIMEOUT_CLUSTER_MS);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The JVM pid scripts/apache-kafka-cluster.sh left in DIR/node-ID/pid, checked to be a running
/// Kafka server (a stale file must not make the bench kill an unrelated process).
fn kafka_node_pid(data_dir: &Path, node_id: u32) -> Result<u32> {
    let path = data_dir.join(format!("node-{node_id}/pid"));
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading Kafka node {node_id}'s pid file {}", path.display()))?;
    let pid = parse_pid(&text).with_context(|| format!("{}: not a pid", path.display()))?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    if !String::from_utf8_lossy(&cmdline).contains("kafka.Kafka") {
        bail!("pid {pid} from {} is not a running Kafka server", path.display());
    }
    Ok(pid)
}

/// A pid file's content: one positive number, surrounding whitespace allowed.
pub fn parse_pid(text: &str) -> Option<u32> {
    text.trim().parse::<u32>().ok().filter(|pid| *pid > 0)
}

/// `oxbow fault`'s answer, e.g. `broker 2 killed` → (2, "killed"); the first line that parses.
pub fn parse_fault_line(output: &str) -> Option<(i32, &str)> {
    output.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        if words.next()? != "broker" {
            return None;
        }
        let id = words.next()?.parse().ok()?;
        Some((id, words.next()?))
    })
}

/// Runs `command` to completion with its output captured, killing it after `timeout`.
fn run_bounded(command: &mut Command, timeout: Duration) -> Result<std::process::Output> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting the fault command")?;
    let deadline = Instant::now() + timeout;
    // Bounded by the deadline. The answer is one short line, far below a pipe's buffer, so the
    // child cannot block on a full pipe while we poll.
    loop {
        if child.try_wait()?.is_some() {
            return Ok(child.wait_with_output()?);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("the fault command took over {} s", timeout.as_secs());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ready_lines() {
        assert_eq!(ready_kafka_address("ready kafka 127.0.0.1:9092\n"), Some("127.0.0.1:9092"));
        assert_eq!(ready_kafka_address("  ready kafka 127.0.0.1:1 "), Some("127.0.0.1:1"));
        assert_eq!(ready_kafka_address("ready studio http://x"), None);
        assert_eq!(ready_kafka_address("ready kafka "), None);
        assert_eq!(ready_kafka_address("node 1 pid 2"), None);
    }

    #[test]
    fn reads_pid_files() {
        assert_eq!(parse_pid("12345\n"), Some(12345));
        assert_eq!(parse_pid(" 7 "), Some(7));
        assert_eq!(parse_pid("0"), None);
        assert_eq!(parse_pid(""), None);
        assert_eq!(parse_pid("12 34"), None);
        assert_eq!(parse_pid("-5"), None);
    }

    #[test]
    fn reads_fault_answers() {
        assert_eq!(parse_fault_line("broker 2 killed\n"), Some((2, "killed")));
        assert_eq!(parse_fault_line("warning\nbroker 3 running at 127.0.0.1:5\n"), Some((3, "running")));
        assert_eq!(parse_fault_line("broker x killed"), None);
        assert_eq!(parse_fault_line("broker 2"), None);
        assert_eq!(parse_fault_line(""), None);
    }
}
