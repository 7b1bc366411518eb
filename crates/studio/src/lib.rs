//! `oxbow-studio`: the studio service.
//!
//! - [`Studio`] (`commands`): the one command layer — every action as an async method returning
//!   plain data ([`model`]). The HTTP API and the Tauri shell both call it.
//! - [`Studio::serve`] (`http`): the axum server — `/api/*` (token, Host and Origin checked), the
//!   WebSocket `/api/ws`, the OpenAPI document `/api/openapi.json`, and the embedded UI at `/`.
//! - [`InsideView`] (`inside`): what the embedded broker tells the studio beyond the Kafka
//!   protocol; optional (absent for external clusters). `BrokerInsideView` implements it over
//!   the broker's read-only `Observer`.
//! - Consumer groups (`groups`): lists, details, offset resets and deletes over the Kafka
//!   protocol, and a background sampler keeping each group's lag history and rebalance timeline.
//! - [`Stack`] (`stack`): one config starts the embedded broker and the studio on it (or the
//!   studio alone on an external cluster); used by `oxbow serve` and the desktop shell.
//!
//! Everything about topics and records goes through `oxbow-client` over the Kafka protocol, so
//! the studio works unchanged against an external Apache Kafka cluster.

pub mod commands;
pub mod decode;
pub mod error;
pub mod groups;
pub mod http;
pub mod inside;
pub mod metrics;
pub mod model;
pub mod partitioner;
pub mod profiles;
pub mod replication;
pub mod stack;
pub mod transactions;

pub use commands::{Studio, StudioOptions, TailEvent, TailHandle, TailRequest};
pub use error::{Error, Result};
pub use http::{StudioConfig, StudioHandle};
pub use inside::{BrokerSnapshot, InsideView, PartitionSnapshot, SegmentSnapshot};
pub use profiles::{default_profiles_path, StoredProfile};
pub use stack::{default_data_dir, ClusterConfig, DataDir, RuntimeInfo, Stack, StackArgs, StackConfig, RUNTIME_FILE};
