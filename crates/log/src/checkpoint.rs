//! The per-partition checkpoint file `oxbow.checkpoint`, in the partition directory.
//!
//! Kafka keeps these numbers in per-data-dir files (`recovery-point-offset-checkpoint`,
//! `log-start-offset-checkpoint`, `replication-offset-checkpoint`, `cleaner-offset-checkpoint`);
//! one file per partition is simpler and keeps a partition directory self-contained. Text, one
//! `name value` per line after a version line, written atomically (temp file, fsync, rename, dir
//! fsync):
//!
//! ```text
//! oxbow-log-checkpoint 1
//! recovery-point 1234
//! log-start-offset 0
//! high-watermark 1234
//! clean-offset 0
//! clean-shutdown 0
//! tombstone-horizon -1
//! ```
//!
//! `recovery-point`: every segment below it was fsynced; open scans from the segment containing
//! it. `clean-offset`: compaction's first dirty offset. `clean-shutdown 1` is written only by
//! `Log::close` and cleared at the next open; it lets open skip the scan of the active segment.
//! Unknown lines are ignored so later versions can add fields.

use crate::error::{IoContext, Result};
use crate::fileio;
use std::path::Path;

pub(crate) const FILE_NAME: &str = "oxbow.checkpoint";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Checkpoint {
    pub recovery_point: i64,
    pub log_start_offset: i64,
    pub high_watermark: i64,
    pub clean_offset: i64,
    pub clean_shutdown: bool,
    /// Earliest delete horizon of a tombstone compaction kept, -1 when none.
    pub tombstone_horizon_ms: i64,
}

impl Checkpoint {
    /// `None` when the file is absent or unreadable (the caller then recovers everything).
    pub(crate) fn read(dir: &Path) -> Option<Checkpoint> {
        let text = std::fs::read_to_string(dir.join(FILE_NAME)).ok()?;
        let mut lines = text.lines();
        if lines.next()? != "oxbow-log-checkpoint 1" {
            tracing::warn!(dir = %dir.display(), "unrecognised checkpoint file; recovering the whole log");
            return None;
        }
        let mut c = Checkpoint { tombstone_horizon_ms: -1, ..Checkpoint::default() };
        for line in lines {
            let Some((name, value)) = line.split_once(' ') else { continue };
            let Ok(v) = value.trim().parse::<i64>() else { continue };
            match name {
                "recovery-point" => c.recovery_point = v,
                "log-start-offset" => c.log_start_offset = v,
                "high-watermark" => c.high_watermark = v,
                "clean-offset" => c.clean_offset = v,
                "clean-shutdown" => c.clean_shutdown = v == 1,
                "tombstone-horizon" => c.tombstone_horizon_ms = v,
                _ => {}
            }
        }
        Some(c)
    }

    pub(crate) fn write(&self, dir: &Path) -> Result<()> {
        let path = dir.join(FILE_NAME);
        fileio::write_atomic(&path, self.text().as_bytes()).at(&path)
    }

    /// The first half of an unsynced replace: writes the temporary file (`oxbow.tmp`, removed by
    /// open if a crash leaves it) without fsync. [`Checkpoint::commit_staged`] renames it over
    /// the checkpoint; the caller syncs the filesystem in between, so the rename can only ever
    /// expose complete contents.
    pub(crate) fn stage(&self, dir: &Path) -> Result<()> {
        let tmp = staged_path(dir);
        std::fs::write(&tmp, self.text()).at(&tmp)
    }

    /// Renames a checkpoint staged by [`Checkpoint::stage`] into place (no fsync).
    pub(crate) fn commit_staged(dir: &Path) -> Result<()> {
        let path = dir.join(FILE_NAME);
        std::fs::rename(staged_path(dir), &path).at(&path)
    }

    fn text(&self) -> String {
        format!(
            "oxbow-log-checkpoint 1\nrecovery-point {}\nlog-start-offset {}\nhigh-watermark {}\nclean-offset {}\nclean-shutdown {}\ntombstone-horizon {}\n",
            self.recovery_point,
            self.log_start_offset,
            self.high_watermark,
            self.clean_offset,
            self.clean_shutdown as u8,
            self.tombstone_horizon_ms
        )
    }
}

/// Where [`Checkpoint::stage`] writes: the name `fileio::write_atomic` uses for its temporary.
fn staged_path(dir: &Path) -> std::path::PathBuf {
    dir.join(FILE_NAME).with_extension("tmp")
}
