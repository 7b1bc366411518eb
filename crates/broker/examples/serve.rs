//! Runs one broker until Ctrl-C: `cargo run -p oxbow-broker --example serve -- [PORT] [DATA_DIR]`.
//! Prints `ready kafka HOST:PORT` when it accepts connections (as `oxbow serve` does).

use oxbow_broker::{Broker, BrokerConfig};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().map(|p| p.parse()).transpose()?.unwrap_or(9092);
    let data_dir = args.next().unwrap_or_else(|| "oxbow-data".to_string());
    let config = BrokerConfig { port, data_dir: data_dir.into(), ..Default::default() };
    let handle = Broker::start(config).await?;
    println!("ready kafka {}", handle.local_addr());
    tokio::signal::ctrl_c().await?;
    handle.shutdown().await?;
    Ok(())
}
