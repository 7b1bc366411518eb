//! The broker's one error type and `Result` alias.
//!
//! These are errors of the broker as a process (start-up, data dir, persistence). Per-request
//! failures are Kafka error codes in responses (see [`crate::codes`]); a request never turns into an
//! `Error` except when the connection itself must be closed.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Another process (most likely another Oxbow) holds `DATA_DIR/.lock`.
    #[error("data dir {path} is locked by another running Oxbow (lock file {path}/.lock); stop it or use another --data-dir")]
    DataDirLocked { path: PathBuf },
    /// The data dir could not be created, read or written.
    #[error("data dir {path} is not usable")]
    DataDir { path: PathBuf, source: std::io::Error },
    /// The listener could not bind.
    #[error("port {port} on {host} is already in use (another Kafka or Oxbow running?)")]
    PortInUse { host: String, port: u16 },
    #[error("cannot listen on {host}:{port}")]
    Bind { host: String, port: u16, source: std::io::Error },
    /// A configuration value is out of range or inconsistent.
    #[error("invalid broker config: {0}")]
    Config(String),
    /// The persisted cluster metadata could not be read or written.
    #[error("cluster metadata {path}: {reason}")]
    Metadata { path: PathBuf, reason: String },
    /// A partition log failed to open or to write.
    #[error(transparent)]
    Log(#[from] oxbow_log::Error),
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// A frame that cannot be decoded; the connection that sent it is closed.
    #[error("bad request frame: {0}")]
    BadFrame(String),
    #[error("broker is shutting down")]
    ShuttingDown,
}
