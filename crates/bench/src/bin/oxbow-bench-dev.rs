//! `oxbow-bench-dev`: the bench without the `oxbow` CLI, for developing the bench itself.
//!
//! Same flags as `oxbow bench`, except that --oxbow-bin defaults to the repo's
//! target/release/oxbow, else target/debug/oxbow (this executable has no `serve`).

use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(name = "oxbow-bench-dev", about = "Oxbow vs Apache Kafka (the `oxbow bench` command, stand-alone)")]
struct Cli {
    #[command(flatten)]
    bench: oxbow_bench::BenchArgs,
}

fn main() -> ExitCode {
    let mut cli = Cli::parse();
    if cli.bench.oxbow_bin.is_none() && !cli.bench.skip_oxbow {
        cli.bench.oxbow_bin =
            ["target/release/oxbow", "target/debug/oxbow"].iter().map(PathBuf::from).find(|path| path.is_file());
    }
    match oxbow_bench::run(cli.bench) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("oxbow-bench-dev: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
