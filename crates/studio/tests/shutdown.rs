//! Stopping the studio: nothing it started may hold the runtime, and so the process, after its
//! cluster has gone. Dropping a Tokio runtime waits for every blocking task still running, so a
//! client call left waiting out its 10 s timeout would keep `oxbow serve` from exiting.

use oxbow_studio::{Studio, StudioConfig};
use std::time::{Duration, Instant};

/// A port on this machine that nothing listens on: every request to it waits out its timeout.
fn refused_bootstrap() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    addr.to_string()
}

#[test]
fn shutdown_ends_the_group_samplers_read_in_flight() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let shutdown_took = runtime.block_on(async {
        let mut config = StudioConfig::new(&refused_bootstrap(), 0, false).expect("config");
        config.profiles_path = None;
        let studio = Studio::serve(config).await.expect("studio serves");
        // The sampler's first tick is at start: its ListGroups is now waiting for a broker that
        // never answers (10 s, the admin timeout).
        tokio::time::sleep(Duration::from_millis(500)).await;
        let started = Instant::now();
        studio.shutdown().await;
        started.elapsed()
    });
    let started = Instant::now();
    drop(runtime);
    let drop_took = started.elapsed();
    // Generous for a busy 2-core machine, and far below the 10 s the read would otherwise wait.
    assert!(shutdown_took < Duration::from_secs(2), "shutdown took {shutdown_took:?}");
    assert!(drop_took < Duration::from_secs(1), "the runtime waited {drop_took:?} for blocking work after shutdown");
}
