//! The leader epoch cache: which leader epoch wrote which part of the log (Kafka's
//! `LeaderEpochFileCache`), kept in the partition directory as `leader-epoch-checkpoint`.
//!
//! An entry `(epoch, start_offset)` says that `start_offset` is the first offset written in
//! `epoch`. Entries strictly increase in both fields. A follower asks its leader where its latest
//! epoch ends (OffsetsForLeaderEpoch, KIP-101 and KIP-279) and truncates its log there; the
//! leader answers with [`LeaderEpochCache::end_offset_for`].
//!
//! The file is Kafka's `LeaderEpochCheckpointFile`, so Kafka's tools read it: a version line
//! (`0`), a count line, then one `epoch start_offset` line per entry.
//!
//! ```text
//! 0
//! 3
//! 0 0
//! 2 120
//! 5 300
//! ```
//!
//! It is rewritten whole and atomically (temporary file, fsync, rename, directory fsync) on every
//! change, as Kafka does. Changes are rare: a new epoch (a leader change), a truncation, the log
//! start moving past an epoch's start.
//!
//! What it does not do: read the log or decide epochs. [`crate::Log`] feeds it the epochs of the
//! batches it appends or recovers, applies truncations, and rebuilds it from batch headers when
//! the file is absent, empty or unreadable.
//!
//! Bounds: one entry per leader change in the retained log (retention trims it from the start;
//! a compacted log keeps them all, tens of bytes each). A file larger than
//! [`FILE_BYTES_MAX`] is treated as unreadable (the log is then rescanned) rather than loaded.

use crate::error::{IoContext, Result};
use crate::fileio;
use std::path::Path;

pub(crate) const FILE_NAME: &str = "leader-epoch-checkpoint";
/// Kafka's `LeaderEpochCheckpointFile.CURRENT_VERSION`.
const FORMAT_VERSION: &str = "0";
/// 16 MiB: about 500,000 entries of at most 33 bytes, far more leader changes than a partition sees.
const FILE_BYTES_MAX: u64 = 16 * 1024 * 1024;
/// Kafka's `UNDEFINED_EPOCH` and `UNDEFINED_EPOCH_OFFSET` (OffsetsForLeaderEpochResponse).
pub const UNDEFINED_EPOCH: i32 = -1;
pub const UNDEFINED_EPOCH_OFFSET: i64 = -1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct EpochEntry {
    epoch: i32,
    start_offset: i64,
}

/// What [`LeaderEpochCache::read`] found on disk.
#[derive(Debug)]
pub(crate) enum Loaded {
    Cache(LeaderEpochCache),
    /// No file, or an empty one (Kafka creates the file empty before its first write).
    Missing,
    /// Unreadable as Kafka's format; the reason, for the warning.
    Malformed(String),
}

/// The epochs in memory, oldest first. Invariant: both fields strictly increase.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct LeaderEpochCache {
    entries: Vec<EpochEntry>,
}

impl LeaderEpochCache {
    pub(crate) fn entries(&self) -> Vec<(i32, i64)> {
        self.entries.iter().map(|e| (e.epoch, e.start_offset)).collect()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(crate) fn latest_epoch(&self) -> Option<i32> {
        self.entries.last().map(|e| e.epoch)
    }

    /// Kafka's `assign`: records that `epoch` starts at `start_offset`. No change when `epoch` is
    /// the latest and already starts at or before it. Otherwise every entry that would break the
    /// ordering (epoch >= `epoch` or start >= `start_offset`) is removed from the end first,
    /// with a warning unless that only replaces an epoch that had no data yet. Returns whether
    /// the cache changed. The caller checks that neither number is negative.
    pub(crate) fn assign(&mut self, epoch: i32, start_offset: i64) -> bool {
        assert!(epoch >= 0 && start_offset >= 0, "epoch entry ({epoch}, {start_offset}) is negative");
        if let Some(last) = self.entries.last() {
            if last.epoch == epoch && start_offset >= last.start_offset {
                return false;
            }
        }
        let keep =
            self.entries.iter().rposition(|e| e.epoch < epoch && e.start_offset < start_offset).map_or(0, |i| i + 1);
        let removed: Vec<EpochEntry> = self.entries.drain(keep..).collect();
        if removed.len() > 1 || removed.first().is_some_and(|e| e.start_offset != start_offset) {
            tracing::warn!(epoch, start_offset, ?removed, "new leader epoch entry truncated conflicting entries");
        }
        self.entries.push(EpochEntry { epoch, start_offset });
        self.check();
        true
    }

    /// Kafka's rule for a batch seen by recovery or a rebuild: its epoch starts at its base offset
    /// when it is newer than every epoch known (batches written before leader epochs, -1, are
    /// skipped). Returns whether the cache changed.
    pub(crate) fn observe(&mut self, epoch: i32, base_offset: i64) -> bool {
        if epoch < 0 || base_offset < 0 || self.latest_epoch().is_some_and(|latest| epoch <= latest) {
            return false;
        }
        self.assign(epoch, base_offset)
    }

    /// Kafka's `truncateFromEnd`: removes every entry starting at or after `end_offset` (the new
    /// log end). Returns whether the cache changed.
    pub(crate) fn truncate_from_end(&mut self, end_offset: i64) -> bool {
        if end_offset < 0 {
            return false;
        }
        let keep = self.entries.partition_point(|e| e.start_offset < end_offset);
        let changed = keep < self.entries.len();
        self.entries.truncate(keep);
        changed
    }

    /// Kafka's `truncateFromStart`: the log now starts at `start_offset`. Entries starting at or
    /// before it go, except the last of them, which now starts at `start_offset` (its epoch
    /// still wrote the first records left). Returns whether the cache changed.
    pub(crate) fn truncate_from_start(&mut self, start_offset: i64) -> bool {
        let at_or_before = self.entries.partition_point(|e| e.start_offset <= start_offset);
        if at_or_before == 0 {
            return false;
        }
        let first = EpochEntry { epoch: self.entries[at_or_before - 1].epoch, start_offset };
        let changed = at_or_before > 1 || self.entries[0] != first;
        self.entries.drain(..at_or_before - 1);
        self.entries[0] = first;
        self.check();
        changed
    }

    /// Removes every entry (Kafka's `clearAndFlush`, when a log is emptied). Returns whether the
    /// cache changed.
    pub(crate) fn clear(&mut self) -> bool {
        let changed = !self.entries.is_empty();
        self.entries.clear();
        changed
    }

    /// Kafka's `endOffsetFor(requestedEpoch, logEndOffset)`, case by case as in
    /// `LeaderEpochFileCache.java`:
    /// - `requested` is `UNDEFINED_EPOCH` (-1): `(-1, -1)`;
    /// - `requested` is the latest epoch: `(latest, log_end_offset)`;
    /// - no epoch above `requested` (it is newer than any known, or the cache is empty): `(-1, -1)`;
    /// - no epoch at or below `requested` (older than any known; its records are gone):
    ///   `(requested, start of the first epoch)`;
    /// - otherwise: the largest epoch <= `requested`, with the start of the first epoch above
    ///   `requested` as its end.
    pub(crate) fn end_offset_for(&self, requested: i32, log_end_offset: i64) -> (i32, i64) {
        if requested == UNDEFINED_EPOCH {
            return (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET);
        }
        if self.latest_epoch() == Some(requested) {
            return (requested, log_end_offset);
        }
        let above = self.entries.partition_point(|e| e.epoch <= requested);
        let Some(higher) = self.entries.get(above) else {
            return (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET);
        };
        match above.checked_sub(1).map(|i| self.entries[i]) {
            None => (requested, higher.start_offset),
            Some(floor) => (floor.epoch, higher.start_offset),
        }
    }

    /// Reads `leader-epoch-checkpoint` from `dir`. An I/O error other than absence is returned
    /// (the disk is failing); an empty file is `Missing`, as Kafka reads it; anything else not
    /// in Kafka's format, or not strictly increasing, is `Malformed`.
    pub(crate) fn read(dir: &Path) -> Result<Loaded> {
        let path = dir.join(FILE_NAME);
        let size = match std::fs::metadata(&path) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Loaded::Missing),
            Err(e) => return Err(crate::Error::io(&path, e)),
        };
        if size == 0 {
            return Ok(Loaded::Missing);
        }
        if size > FILE_BYTES_MAX {
            return Ok(Loaded::Malformed(format!("{size} bytes, more than the {FILE_BYTES_MAX} accepted")));
        }
        let bytes = std::fs::read(&path).at(&path)?;
        let Ok(text) = String::from_utf8(bytes) else {
            return Ok(Loaded::Malformed("not UTF-8 text".into()));
        };
        Ok(match LeaderEpochCache::parse(&text) {
            Ok(cache) => Loaded::Cache(cache),
            Err(reason) => Loaded::Malformed(reason),
        })
    }

    /// Kafka's `CheckpointFile` reading rules: version line, count line, then exactly that many
    /// entry lines of two whitespace-separated numbers. Stricter than Kafka in one way: entries
    /// that are negative or not strictly increasing make the file malformed (Kafka drops them
    /// through `assign` or fails), since the log can be rescanned instead.
    fn parse(text: &str) -> std::result::Result<LeaderEpochCache, String> {
        let mut lines = text.lines();
        let version = lines.next().ok_or("empty file")?;
        if version != FORMAT_VERSION {
            return Err(format!("version line {version:?}, expected {FORMAT_VERSION:?}"));
        }
        let count_line = lines.next().ok_or("no entry count line")?;
        let count: usize = count_line.parse().map_err(|_| format!("entry count {count_line:?} is not a number"))?;
        // Grows with the lines actually present (bounded by the file size), not the claimed count.
        let mut entries = Vec::new();
        for line in lines {
            let mut fields = line.split_whitespace();
            let (Some(epoch), Some(start), None) = (fields.next(), fields.next(), fields.next()) else {
                return Err(format!("malformed line {line:?}"));
            };
            let (Ok(epoch), Ok(start_offset)) = (epoch.parse::<i32>(), start.parse::<i64>()) else {
                return Err(format!("malformed line {line:?}"));
            };
            if epoch < 0 || start_offset < 0 {
                return Err(format!("negative entry {line:?}"));
            }
            if entries.last().is_some_and(|p: &EpochEntry| p.epoch >= epoch || p.start_offset >= start_offset) {
                return Err(format!("entry {line:?} does not follow the previous one"));
            }
            entries.push(EpochEntry { epoch, start_offset });
        }
        if entries.len() != count {
            return Err(format!("expected {count} entries, found {}", entries.len()));
        }
        Ok(LeaderEpochCache { entries })
    }

    /// The file's text, in Kafka's format.
    pub(crate) fn text(&self) -> String {
        let mut out = format!("{FORMAT_VERSION}\n{}\n", self.entries.len());
        for e in &self.entries {
            out.push_str(&format!("{} {}\n", e.epoch, e.start_offset));
        }
        out
    }

    /// Replaces the file in `dir` atomically and durably.
    pub(crate) fn write(&self, dir: &Path) -> Result<()> {
        let path = dir.join(FILE_NAME);
        fileio::write_atomic(&path, self.text().as_bytes()).at(&path)
    }

    fn check(&self) {
        debug_assert!(
            self.entries.windows(2).all(|w| w[0].epoch < w[1].epoch && w[0].start_offset < w[1].start_offset),
            "leader epoch entries out of order: {:?}",
            self.entries
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(entries: &[(i32, i64)]) -> LeaderEpochCache {
        let mut c = LeaderEpochCache::default();
        for &(epoch, start) in entries {
            assert!(c.assign(epoch, start));
        }
        c
    }

    #[test]
    fn assign_keeps_the_first_start_of_an_epoch_and_drops_conflicts() {
        let mut c = cache(&[(0, 0), (2, 10)]);
        assert!(!c.assign(2, 15), "same epoch, later offset: no change");
        assert!(c.assign(2, 8), "same epoch, earlier offset: replaces it");
        assert_eq!(c.entries(), vec![(0, 0), (2, 8)]);
        assert!(c.assign(5, 20));
        // An older epoch at a later offset removes the newer epochs (Kafka's non-monotonic case).
        assert!(c.assign(3, 30));
        assert_eq!(c.entries(), vec![(0, 0), (2, 8), (3, 30)]);
        // A newer epoch at an offset an older epoch already claims removes that one.
        assert!(c.assign(4, 30));
        assert_eq!(c.entries(), vec![(0, 0), (2, 8), (4, 30)]);
        assert!(!c.observe(1, 40) && !c.observe(-1, 50) && !c.observe(4, 60));
        assert!(c.observe(6, 60));
        assert_eq!(c.latest_epoch(), Some(6));
    }

    #[test]
    fn truncation_from_either_end() {
        let mut c = cache(&[(0, 0), (2, 10), (5, 20)]);
        assert!(!c.truncate_from_end(21));
        assert!(c.truncate_from_end(20));
        assert_eq!(c.entries(), vec![(0, 0), (2, 10)]);
        assert!(!c.truncate_from_end(-1));
        // Exclusive, as Kafka's: an entry starting exactly at the new start stays as it is.
        assert!(!c.truncate_from_start(0));
        assert!(c.truncate_from_start(4));
        assert_eq!(c.entries(), vec![(0, 4), (2, 10)]);
        assert!(c.truncate_from_start(10));
        assert_eq!(c.entries(), vec![(2, 10)]);
        assert!(c.truncate_from_start(50));
        assert_eq!(c.entries(), vec![(2, 50)]);
        assert!(c.clear() && !c.clear());
        assert!(!c.truncate_from_start(60) && !c.truncate_from_end(0));
    }

    #[test]
    fn end_offsets_follow_kafka() {
        let empty = LeaderEpochCache::default();
        assert_eq!(empty.end_offset_for(0, 10), (-1, -1));
        assert_eq!(empty.end_offset_for(-1, 10), (-1, -1));
        let c = cache(&[(2, 10), (4, 20), (7, 30)]);
        let leo = 45;
        for (requested, expected) in [
            (-1, (-1, -1)),
            (1, (1, 10)),
            (2, (2, 20)),
            (3, (2, 20)),
            (4, (4, 30)),
            (6, (4, 30)),
            (7, (7, 45)),
            (8, (-1, -1)),
        ] {
            assert_eq!(c.end_offset_for(requested, leo), expected, "requested {requested}");
        }
    }

    #[test]
    fn file_text_is_kafkas_and_parsing_is_strict() {
        let c = cache(&[(0, 0), (2, 120), (5, 300)]);
        assert_eq!(c.text(), "0\n3\n0 0\n2 120\n5 300\n");
        assert_eq!(LeaderEpochCache::parse(&c.text()).unwrap(), c);
        assert_eq!(LeaderEpochCache::default().text(), "0\n0\n");
        assert_eq!(LeaderEpochCache::parse("0\n0\n").unwrap(), LeaderEpochCache::default());
        assert_eq!(
            LeaderEpochCache::parse("0\n1\n3  7").unwrap().entries(),
            vec![(3, 7)],
            "any whitespace, no final newline"
        );
        for bad in [
            "",
            "1\n0\n",
            "0\n",
            "0\nx\n",
            "0\n2\n0 0\n",
            "0\n1\n0 0\n1 5\n",
            "0\n1\n0\n",
            "0\n1\n0 0 0\n",
            "0\n2\n0 5\n1 5\n",
            "0\n2\n3 0\n3 5\n",
            "0\n1\n-1 0\n",
            "0\n1\n0 x\n",
        ] {
            assert!(LeaderEpochCache::parse(bad).is_err(), "{bad:?}");
        }
    }
}
