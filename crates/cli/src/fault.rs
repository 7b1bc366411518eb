//! `oxbow fault ACTION BROKER_ID`: injects or undoes a fault on a broker of the running
//! `oxbow serve` (or desktop app) that owns the data dir, through its studio API (the fault
//! endpoint answers loopback only), and prints the broker's resulting state.
//!
//! The stack's address and token come from the data dir's runtime file
//! (`oxbow_studio::RUNTIME_FILE`). A plain HTTP/1.1 request over a loopback socket is all this
//! needs, so no HTTP client library is pulled in.

use anyhow::{anyhow, bail, Context, Result};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Duration;

/// Starting a broker may take a while (recovery, catching up); stopping waits for the hand-off.
const RESPONSE_TIMEOUT_S: u64 = 60;

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Action {
    /// Graceful stop (leaderships move away first)
    Stop,
    /// Start a stopped or killed broker
    Start,
    /// Stop at once: no hand-off, no checkpoints (as a crash)
    Kill,
    /// Stay connected but answer nothing
    Pause,
    /// Undo pause
    Resume,
    /// Cut replication to --peer (or to every other broker)
    Isolate,
    /// Restore replication to --peer (or to every other broker)
    Heal,
    /// Make every append wait --delay-ms (0 undoes it)
    SlowDisk,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Action::Stop => "stop",
            Action::Start => "start",
            Action::Kill => "kill",
            Action::Pause => "pause",
            Action::Resume => "resume",
            Action::Isolate => "isolate",
            Action::Heal => "heal",
            Action::SlowDisk => "slow-disk",
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct FaultArgs {
    /// What to do
    #[arg(value_enum)]
    action: Action,
    /// The broker (1, 2, 3, …)
    broker_id: i32,
    /// isolate/heal: the other broker [default: every other broker]
    #[arg(long)]
    peer: Option<i32>,
    /// slow-disk: milliseconds per append (0 undoes it)
    #[arg(long)]
    delay_ms: Option<u64>,
    /// The running stack's data dir [default: the platform's per-user data directory + /oxbow]
    #[arg(long, env = "OXBOW_DATA_DIR")]
    data_dir: Option<PathBuf>,
}

pub fn run(args: FaultArgs) -> Result<()> {
    if matches!(args.action, Action::SlowDisk) && args.delay_ms.is_none() {
        bail!("slow-disk needs --delay-ms MS (0 undoes it)");
    }
    let dir = args
        .data_dir
        .clone()
        .or_else(oxbow_studio::default_data_dir)
        .ok_or_else(|| anyhow!("no per-user data directory here; pass --data-dir"))?;
    let path = dir.join(oxbow_studio::RUNTIME_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => anyhow!(
            "no running oxbow owns {} (no {}); start `oxbow serve --data-dir {}` first",
            dir.display(),
            oxbow_studio::RUNTIME_FILE,
            dir.display()
        ),
        _ => anyhow!("cannot read {}: {e}", path.display()),
    })?;
    let info: oxbow_studio::RuntimeInfo =
        serde_json::from_str(&text).with_context(|| format!("{} is not a valid runtime file", path.display()))?;
    let mut body = serde_json::json!({ "broker": args.broker_id, "action": args.action.name() });
    if let Some(peer) = args.peer {
        body["peer"] = peer.into();
    }
    if let Some(ms) = args.delay_ms {
        body["delay_ms"] = ms.into();
    }
    let (status, response) = post(&info, "/api/faults", &body.to_string()).with_context(|| {
        format!(
            "cannot reach the oxbow studio at {} (is the stack that owns {} still running?)",
            info.studio_addr,
            dir.display()
        )
    })?;
    let json: serde_json::Value = serde_json::from_str(&response).unwrap_or(serde_json::Value::Null);
    if status != 200 {
        let message = json.get("message").and_then(|m| m.as_str()).unwrap_or(response.trim());
        bail!("broker {}: cannot {}: {message}", args.broker_id, args.action.name());
    }
    let state = json.get("state").and_then(|s| s.as_str()).unwrap_or("?");
    let mut line = format!("broker {} {state}", args.broker_id);
    if let Some(addr) = json.get("kafka_address").and_then(|a| a.as_str()) {
        line.push_str(&format!(" at {addr}"));
    }
    if let Some(cut) = json.get("cut_from").and_then(|c| c.as_array()).filter(|c| !c.is_empty()) {
        let ids: Vec<String> = cut.iter().map(|v| v.to_string()).collect();
        line.push_str(&format!("; replication cut from {}", ids.join(", ")));
    }
    if let Some(ms) = json.get("disk_delay_ms").and_then(|d| d.as_u64()).filter(|d| *d > 0) {
        line.push_str(&format!("; disk delay {ms} ms per append"));
    }
    println!("{line}");
    Ok(())
}

/// One POST to the studio; returns the status code and body.
fn post(info: &oxbow_studio::RuntimeInfo, path: &str, body: &str) -> Result<(u16, String)> {
    let mut stream = std::net::TcpStream::connect(&info.studio_addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(RESPONSE_TIMEOUT_S)))?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        info.studio_addr,
        info.token,
        body.len()
    );
    stream.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let (head, rest) = text.split_once("\r\n\r\n").ok_or_else(|| anyhow!("malformed HTTP response"))?;
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow!("malformed HTTP status line"))?;
    let chunked = head.lines().any(|l| {
        l.to_ascii_lowercase().starts_with("transfer-encoding:") && l.to_ascii_lowercase().contains("chunked")
    });
    let body = if chunked { dechunk(rest) } else { rest.to_string() };
    Ok((status, body))
}

/// Joins an HTTP/1.1 chunked body.
fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    // Bounded by the body's length: every round consumes at least the size line.
    while let Some((size_line, after)) = rest.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size_line.trim(), 16) else { break };
        if size == 0 || after.len() < size {
            break;
        }
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    out
}
