//! The few /proc readings the bench takes: RSS, CPU time, start time, and finding Kafka's JVM.

use anyhow::{bail, Context, Result};

/// Resident set size (VmRSS) in bytes, or None when the process is gone.
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Fields of /proc/PID/stat after the `(comm)` field, which may itself contain spaces.
fn stat_fields(pid_or_self: &str) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid_or_self}/stat")).ok()?;
    let after_comm = &stat[stat.rfind(')')? + 2..];
    Some(after_comm.split_whitespace().map(str::to_string).collect())
}

fn clock_ticks_per_s() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        100.0
    }
}

/// User + system CPU seconds consumed so far by `pid` ("self" for the bench).
pub fn cpu_s(pid_or_self: &str) -> Option<f64> {
    let fields = stat_fields(pid_or_self)?;
    // utime and stime are fields 14 and 15 of stat; 12 and 13 counted from after the comm.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / clock_ticks_per_s())
}

/// When `pid` started, in ms since boot (clock-tick resolution, 10 ms on Linux).
pub fn start_time_boot_ms(pid: u32) -> Result<f64> {
    let fields = stat_fields(&pid.to_string()).with_context(|| format!("reading /proc/{pid}/stat"))?;
    // starttime is field 22 of stat; 20 counted from after the comm.
    let ticks: f64 = fields.get(19).and_then(|value| value.parse().ok()).context("starttime in stat")?;
    Ok(ticks / clock_ticks_per_s() * 1e3)
}

/// Now, in ms since boot, on the clock /proc start times use.
pub fn boot_time_ms() -> f64 {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `now` is a valid out-pointer.
    unsafe {
        libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut now);
    }
    now.tv_sec as f64 * 1e3 + now.tv_nsec as f64 / 1e6
}

/// A direct child of `parent` named `comm` whose command line contains `needle`.
pub fn find_child(parent: u32, comm: &str, needle: &str) -> Option<u32> {
    let entries = std::fs::read_dir("/proc").ok()?;
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|name| name.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        if &stat[open + 1..close] != comm {
            continue;
        }
        let ppid: Option<u32> = stat[close + 2..].split_whitespace().nth(1).and_then(|value| value.parse().ok());
        if ppid != Some(parent) {
            continue;
        }
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        if String::from_utf8_lossy(&cmdline).contains(needle) {
            return Some(pid);
        }
    }
    None
}

/// Fails clearly when /proc is not there (the bench measures through it).
pub fn require() -> Result<()> {
    if rss_bytes(std::process::id()).is_none() {
        bail!("/proc/self/status is unreadable: the bench needs Linux's /proc to measure RSS and CPU");
    }
    Ok(())
}
