//! `oxbow serve`: start the embedded broker, print `ready kafka HOST:PORT`, stop cleanly on a signal.

use anyhow::{bail, Context, Result};
use std::io::Write;
use std::path::PathBuf;
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
    // The TempDir guard lives until the end of this function, so the directory goes at exit.
    let (data_dir, _ephemeral_guard) = if args.ephemeral {
        let dir = tempfile::Builder::new().prefix("oxbow-").tempdir().context("creating a temporary data dir")?;
        (dir.path().to_path_buf(), Some(dir))
    } else {
        let dir = match args.data_dir {
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
        {
            let mut stdout = std::io::stdout().lock();
            writeln!(stdout, "ready kafka {addr}")?;
            stdout.flush()?;
        }
        tracing::info!(data_dir = %data_dir.display(), "oxbow is serving; Ctrl-C to stop");
        stop_signal.wait().await?;
        tracing::info!("shutting down");
        match tokio::time::timeout(Duration::from_millis(SHUTDOWN_TIMEOUT_MS_MAX), broker.shutdown()).await {
            Ok(result) => result?,
            Err(_) => bail!("shutdown did not finish within {SHUTDOWN_TIMEOUT_MS_MAX} ms"),
        }
        Ok(())
    })
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
