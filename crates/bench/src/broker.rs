//! The brokers under test, as subprocesses: start, wait for ready, measure, stop.
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
    /// `<bin> serve --ephemeral --kafka-port 0`.
    Oxbow { bin: PathBuf },
    /// `scripts/apache-kafka.sh start --port P --data-dir D` (the repo's one way to start Kafka).
    KafkaScript { script: PathBuf },
    /// Kafka's JVM started directly from a directory of jars (`--kafka-libs`), with the same
    /// single-node KRaft settings as the script; ready when it answers a Metadata request.
    KafkaJars {
        libs: PathBuf,
        log4j_config: Option<PathBuf>,
    },
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
        let log = std::fs::File::create(&log_path)
            .with_context(|| format!("creating {}", log_path.display()))?;

        let (mut command, probe_port) = match launch {
            Launch::Oxbow { bin } => {
                let mut command = Command::new(bin);
                // Oxbow's own --ephemeral dir is used; ours stays empty but keeps both paths alike.
                command.args(["serve", "--ephemeral", "--kafka-port", "0"]);
                if std::env::var_os("RUST_LOG").is_none() {
                    // Same log level as the Kafka script's default (WARN): logging is not measured.
                    command.env("RUST_LOG", "warn");
                }
                (command, None)
            }
            Launch::KafkaScript { script } => {
                let port = probe::free_port()?;
                let mut command = Command::new("bash");
                command
                    .arg(script)
                    .args(["start", "--port", &port.to_string(), "--data-dir"]);
                command.arg(data_dir.path());
                (command, Some(port))
            }
            Launch::KafkaJars { libs, log4j_config } => {
                let port = probe::free_port()?;
                let config = write_kafka_config(data_dir.path(), port)?;
                format_kafka_storage(libs, &config, &log_path, stop)?;
                let mut command = Command::new("java");
                // The heap and GC flags of Kafka's kafka-server-start.sh, as the script uses.
                command.args([
                    "-Xmx1g",
                    "-Xms1g",
                    "-XX:+UseG1GC",
                    "-XX:MaxGCPauseMillis=20",
                ]);
                command.args([
                    "-XX:InitiatingHeapOccupancyPercent=35",
                    "-Djava.awt.headless=true",
                ]);
                if let Some(log4j_config) = log4j_config {
                    command.arg(format!(
                        "-Dlog4j2.configurationFile={}",
                        log4j_config.display()
                    ));
                }
                command
                    .arg("-cp")
                    .arg(libs.join("*"))
                    .arg("kafka.Kafka")
                    .arg(&config);
                (command, Some(port))
            }
        };
        let needs_ready_line = !matches!(launch, Launch::KafkaJars { .. });
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log));
        // Own process group: Ctrl-C in the terminal reaches only the bench, and stop() can signal
        // the launcher and the JVM it started together.
        command.process_group(0);
        // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec here.
        unsafe {
            command.pre_exec(|| {
                // If the bench dies without unwinding (SIGKILL), the direct child goes with it.
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let launched = Instant::now();
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {}", flavor.name()))?;
        let lines = spawn_stdout_reader(&mut child)?;
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
                bail!(
                    "{} not ready after {} s; see {}",
                    flavor.name(),
                    timeout_ms / 1000,
                    log_path.display()
                );
            }
            if let Some(status) = broker.child.try_wait()? {
                bail!(
                    "{} exited before it was ready ({status}); see {}",
                    flavor.name(),
                    log_path.display()
                );
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
                    if let Some(address) = line.trim().strip_prefix("ready kafka ") {
                        broker.ready_line_ms = launched.elapsed().as_secs_f64() * 1e3;
                        ready_line = Some(address.to_string());
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) if needs_ready_line => {
                    bail!(
                        "{} closed stdout before printing its ready line; see {}",
                        flavor.name(),
                        log_path.display()
                    );
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
                let port: u16 = address
                    .rsplit(':')
                    .next()
                    .and_then(|p| p.parse().ok())
                    .context("ready line port")?;
                let answer_deadline =
                    Instant::now() + Duration::from_millis(READY_TIMEOUT_OXBOW_MS);
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
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            kill_group(self.child.id(), libc::SIGKILL); // Reap anything the launcher left behind.
            return;
        }
        kill_group(self.child.id(), libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_millis(STOP_TIMEOUT_MS);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        kill_group(self.child.id(), libc::SIGKILL);
        let _ = self.child.wait();
    }
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
         group.initial.rebalance.delay.ms=0\n",
        data.display()
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
    command.args([
        "-Xmx512m",
        "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1",
        "-cp",
    ]);
    command.arg(libs.join("*")).args([
        "kafka.tools.StorageTool",
        "format",
        "--cluster-id",
        &kafka_cluster_id()?,
    ]);
    command.arg("--config").arg(config);
    command
        .stdin(Stdio::null())
        .stdout(Stdio::from(log.try_clone()?))
        .stderr(Stdio::from(log));
    command.process_group(0);
    let mut child = command
        .spawn()
        .context("starting java (is a JDK installed?)")?;
    let deadline = Instant::now() + Duration::from_millis(FORMAT_TIMEOUT_MS);
    loop {
        if let Some(status) = child.try_wait()? {
            if !status.success() {
                bail!(
                    "formatting Kafka's storage failed ({status}); see {}",
                    log_path.display()
                );
            }
            return Ok(());
        }
        if stop.check().is_err() || Instant::now() >= deadline {
            kill_group(child.id(), libc::SIGKILL);
            let _ = child.wait();
            stop.check()?;
            bail!(
                "formatting Kafka's storage took over {} s",
                FORMAT_TIMEOUT_MS / 1000
            );
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
    std::thread::Builder::new()
        .name("bench-broker-stdout".into())
        .spawn(move || {
            let reader = BufReader::new(stdout);
            for line in reader.lines() {
                let Ok(line) = line else { break };
                // Once the bench stops listening, try_send fails and lines are dropped, never queued.
                let _ = sender.try_send(line);
            }
        })?;
    Ok(receiver)
}
