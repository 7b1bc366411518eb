//! `oxbow serve`: start the embedded stack (`oxbow_studio::Stack`: the broker, then the studio on
//! it), print `ready kafka HOST:PORT` and `ready studio URL`, stop both cleanly on a signal.
//! `--no-broker --bootstrap-servers …` runs the studio alone against an external cluster.

use anyhow::{Context, Result};
use oxbow_studio::{Stack, StackArgs};
use std::io::Write;

/// Shutdown must finish within this bound (the contract is 5 s; leave headroom for exit).
const SHUTDOWN_TIMEOUT_MS_MAX: u64 = 4_500;
/// How long the runtime, once the stack has stopped, waits for its blocking threads before the
/// process exits without them. Within the 5 s contract with `SHUTDOWN_TIMEOUT_MS_MAX`.
const RUNTIME_STOP_WAIT_MS_MAX: u64 = 250;

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    stack: StackArgs,
}

/// `oxbow serve`'s studio port when none is given: the ecosystem's usual UI port.
const STUDIO_PORT_DEFAULT: u16 = 8080;

pub fn run(args: ServeArgs) -> Result<()> {
    let config = args.stack.to_config(STUDIO_PORT_DEFAULT)?;

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().thread_name("oxbow").build()?;
    let served = runtime.block_on(async move {
        // Handlers go in before the ready line: a supervisor may send SIGTERM the moment it reads it.
        let stop_signal = StopSignal::install()?;
        let stack = Stack::start(config).await?;
        // Both ready lines go out once both listen, kafka first; a studio port in use has already
        // stopped the broker inside `Stack::start`, so no `ready kafka` line is left behind.
        for addr in stack.kafka_addrs() {
            print_ready(&format!("ready kafka {addr}"))?;
        }
        print_ready(&format!("ready studio {}", stack.studio().url_with_token()))?;
        match stack.data_dir() {
            Some(dir) => tracing::info!(data_dir = %dir.display(), "oxbow is serving; Ctrl-C to stop"),
            None => tracing::info!("oxbow studio is serving an external cluster; Ctrl-C to stop"),
        }
        stop_signal.wait().await?;
        tracing::info!("shutting down");
        stack.shutdown(SHUTDOWN_TIMEOUT_MS_MAX).await?;
        Ok(())
    });
    // Not a plain drop: dropping a runtime waits, without a bound, for every blocking task still
    // running. The stack closes its clients so that their calls end within milliseconds, but a
    // call librdkafka cannot abandon (a metadata fetch, bounded only by its own 10 s timeout) would
    // then hold the exit. Such a thread is left to end with the process; it writes no data.
    runtime.shutdown_timeout(std::time::Duration::from_millis(RUNTIME_STOP_WAIT_MS_MAX));
    served
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
