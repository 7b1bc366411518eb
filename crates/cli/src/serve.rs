//! `oxbow serve`: start the embedded broker, print `ready kafka HOST:PORT`, start the studio, print
//! `ready studio URL`, stop both cleanly on a signal. `--no-broker --bootstrap-servers …` runs the
//! studio alone against an external cluster.

use anyhow::{bail, Context, Result};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Shutdown must finish within this bound (the contract is 5 s; leave headroom for exit).
const SHUTDOWN_TIMEOUT_MS_MAX: u64 = 4_500;

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Directory for topic data and metadata [default: the platform's per-user data directory + /oxbow]
    #[arg(long, env = "OXBOW_DATA_DIR", conflicts_with = "ephemeral")]
    data_dir: Option<PathBuf>,

    /// Keep all data in a temporary directory that is removed at exit
    #[arg(long, env = "OXBOW_EPHEMERAL")]
    ephemeral: bool,

    /// Address to listen on; loopback unless you mean to expose the broker
    #[arg(long, env = "OXBOW_HOST", default_value = "127.0.0.1")]
    host: String,

    /// Kafka protocol port of the first broker (0 = any free port)
    #[arg(long, env = "OXBOW_KAFKA_PORT", default_value_t = 9092)]
    kafka_port: u16,

    /// Number of brokers in the embedded cluster
    #[arg(long, env = "OXBOW_BROKERS", default_value_t = 1)]
    brokers: u32,

    /// Create a topic when a client asks for its metadata (Kafka's auto.create.topics.enable)
    #[arg(long, env = "OXBOW_AUTO_CREATE_TOPICS", default_value_t = true, action = clap::ArgAction::Set)]
    auto_create_topics: bool,

    /// Partitions of an auto-created topic (Kafka's num.partitions)
    #[arg(long, env = "OXBOW_NUM_PARTITIONS", default_value_t = 1)]
    num_partitions: i32,

    /// Studio (web UI and API) port on --host (0 = any free port)
    #[arg(long, env = "OXBOW_STUDIO_PORT", default_value_t = 8080)]
    studio_port: u16,

    /// Run no embedded broker: the studio connects to --bootstrap-servers instead
    #[arg(long, env = "OXBOW_NO_BROKER", requires = "bootstrap_servers")]
    no_broker: bool,

    /// External Kafka cluster for the studio (host:port[,host:port…]); needs --no-broker
    #[arg(long, env = "OXBOW_BOOTSTRAP_SERVERS", requires = "no_broker")]
    bootstrap_servers: Option<String>,

    /// Connection profiles file [default: the platform's per-user config directory + /oxbow/profiles.json]
    #[arg(long, env = "OXBOW_PROFILES_FILE")]
    profiles_file: Option<PathBuf>,
}

pub fn run(args: ServeArgs) -> Result<()> {
    if args.brokers != 1 {
        // Multi-broker clusters (replication, elections) are tracked by their own issue; refuse
        // plainly rather than pretend.
        bail!("--brokers {}: only a single broker is supported so far", args.brokers);
    }
    if args.num_partitions < 1 {
        bail!("--num-partitions {}: must be at least 1", args.num_partitions);
    }
    if args.no_broker {
        return run_studio_only(args);
    }
    // The TempDir guard lives until the end of this function, so the directory goes at exit.
    let (data_dir, _ephemeral_guard) = if args.ephemeral {
        let dir = tempfile::Builder::new().prefix("oxbow-").tempdir().context("creating a temporary data dir")?;
        (dir.path().to_path_buf(), Some(dir))
    } else {
        let dir = match args.data_dir.clone() {
            Some(dir) => dir,
            None => dirs::data_dir().context("no per-user data directory on this platform; pass --data-dir")?.join("oxbow"),
        };
        (dir, None)
    };

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().thread_name("oxbow").build()?;
    runtime.block_on(async move {
        let config = oxbow_broker::BrokerConfig {
            host: args.host.clone(),
            port: args.kafka_port,
            data_dir: data_dir.clone(),
            auto_create_topics_enable: args.auto_create_topics,
            num_partitions: args.num_partitions,
            ..oxbow_broker::BrokerConfig::default()
        };
        // Handlers go in before the ready line: a supervisor may send SIGTERM the moment it reads it.
        let stop_signal = StopSignal::install()?;
        let broker = oxbow_broker::Broker::start(config).await?;
        let addr = broker.local_addr();
        let inside: Arc<dyn oxbow_studio::InsideView> = Arc::new(crate::studio_inside::BrokerInsideView::new(broker.observer()));
        // Both ready lines go out once both listen, kafka first: a studio port in use must not
        // leave a `ready kafka` line behind for a process that is about to exit.
        let studio = match start_studio(&args, &addr.to_string(), true, Some(inside)).await {
            Ok(studio) => studio,
            Err(error) => {
                // Stop the broker cleanly before reporting (e.g. the studio port is in use).
                let _ = tokio::time::timeout(Duration::from_millis(SHUTDOWN_TIMEOUT_MS_MAX), broker.shutdown()).await;
                return Err(error);
            }
        };
        print_ready(&format!("ready kafka {addr}"))?;
        print_ready(&format!("ready studio {}", studio.url_with_token()))?;
        tracing::info!(data_dir = %data_dir.display(), "oxbow is serving; Ctrl-C to stop");
        stop_signal.wait().await?;
        tracing::info!("shutting down");
        let stopping = async {
            studio.shutdown().await;
            broker.shutdown().await
        };
        match tokio::time::timeout(Duration::from_millis(SHUTDOWN_TIMEOUT_MS_MAX), stopping).await {
            Ok(result) => result?,
            Err(_) => bail!("shutdown did not finish within {SHUTDOWN_TIMEOUT_MS_MAX} ms"),
        }
        Ok(())
    })
}

/// `--no-broker`: the studio alone, against an external cluster.
fn run_studio_only(args: ServeArgs) -> Result<()> {
    let servers = args.bootstrap_servers.clone().context("--no-broker needs --bootstrap-servers HOST:PORT")?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().thread_name("oxbow").build()?;
    runtime.block_on(async move {
        let stop_signal = StopSignal::install()?;
        let studio = start_studio(&args, &servers, false, None).await?;
        print_ready(&format!("ready studio {}", studio.url_with_token()))?;
        tracing::info!(bootstrap_servers = %servers, "oxbow studio is serving an external cluster; Ctrl-C to stop");
        stop_signal.wait().await?;
        tracing::info!("shutting down");
        if tokio::time::timeout(Duration::from_millis(SHUTDOWN_TIMEOUT_MS_MAX), studio.shutdown()).await.is_err() {
            bail!("shutdown did not finish within {SHUTDOWN_TIMEOUT_MS_MAX} ms");
        }
        Ok(())
    })
}

/// Starts the studio on `--host`:`--studio-port` (the caller prints `ready studio URL`).
async fn start_studio(
    args: &ServeArgs,
    bootstrap_servers: &str,
    embedded: bool,
    inside_view: Option<Arc<dyn oxbow_studio::InsideView>>,
) -> Result<oxbow_studio::StudioHandle> {
    let mut config = oxbow_studio::StudioConfig::new(bootstrap_servers, args.studio_port, embedded)?;
    config.host = args.host.clone();
    config.inside_view = inside_view;
    if let Some(path) = &args.profiles_file {
        config.profiles_path = Some(path.clone());
    }
    let studio = oxbow_studio::Studio::serve(config).await.map_err(|error| match &error {
        oxbow_studio::Error::Io { source, .. } if source.kind() == std::io::ErrorKind::AddrInUse => {
            anyhow::anyhow!("studio port {}:{} is in use (choose another with --studio-port, 0 = any)", args.host, args.studio_port)
        }
        _ => anyhow::Error::new(error),
    })?;
    Ok(studio)
}

fn print_ready(line: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}")?;
    stdout.flush()?;
    Ok(())
}

/// SIGINT and SIGTERM, caught from the moment `install` returns.
struct StopSignal {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl StopSignal {
    fn install() -> Result<StopSignal> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(StopSignal {
            interrupt: signal(SignalKind::interrupt()).context("installing the SIGINT handler")?,
            terminate: signal(SignalKind::terminate()).context("installing the SIGTERM handler")?,
        })
    }

    async fn wait(mut self) -> Result<()> {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
        Ok(())
    }
}
