//! `oxbow`: the command-line entry point.
//!
//! `oxbow serve` runs the embedded stack (a cluster of Kafka-compatible brokers and the studio)
//! until SIGINT/SIGTERM; `oxbow fault` injects faults into a running one; `oxbow bench` measures
//! it against Apache Kafka.
//! This crate only parses flags, wires services together and prints the ready lines that tests and
//! tools wait for; every behaviour lives in the library crates.

mod fault;
mod serve;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(name = "oxbow", version, about = "Oxbow: a Kafka-compatible event-streaming studio")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the embedded Kafka-compatible broker until interrupted.
    Serve(serve::ServeArgs),
    /// Inject or undo a fault on a broker of the running `oxbow serve` that owns --data-dir:
    /// stop, start, kill, pause, resume, isolate, heal, slow-disk
    Fault(fault::FaultArgs),
    /// Measure Oxbow against Apache Kafka on this machine with the same librdkafka load; report ratios.
    Bench(oxbow_bench::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let result = match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Fault(args) => fault::run(args),
        // Runs on the main thread: the bench ties its broker subprocesses' lifetime to this thread.
        Command::Bench(args) => oxbow_bench::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One line, with the causes chained, so a user sees what was wrong at a glance.
            eprintln!("oxbow: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr so stdout stays reserved for the machine-readable ready lines.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colour only for a person at a terminal; tests and log files get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi).init();
}
