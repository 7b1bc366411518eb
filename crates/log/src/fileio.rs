//! Positional file I/O (no shared seek position, so reads can run through `&self`), and the
//! small file-system helpers the log needs (atomic replace, directory fsync, file identity).

use std::fs::File;
use std::io;
use std::path::Path;

#[cfg(unix)]
pub(crate) fn read_exact_at(file: &File, buf: &mut [u8], position: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, position)
}

#[cfg(windows)]
pub(crate) fn read_exact_at(file: &File, mut buf: &mut [u8], mut position: u64) -> io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_read(buf, position) {
            Ok(0) => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "failed to fill whole buffer")),
            Ok(n) => {
                buf = &mut buf[n..];
                position += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(unix)]
pub(crate) fn write_all_at(file: &File, buf: &[u8], position: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, buf, position)
}

#[cfg(windows)]
pub(crate) fn write_all_at(file: &File, mut buf: &[u8], mut position: u64) -> io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_write(buf, position) {
            Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "failed to write whole buffer")),
            Ok(n) => {
                buf = &buf[n..];
                position += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Which file an open descriptor refers to: device and inode on Unix. Two opens of one path
/// name the same file exactly when their ids are equal.
pub(crate) type FileId = (u64, u64);

/// The identity of the file `metadata` describes; `None` where the platform has no cheap notion
/// of one.
pub(crate) fn file_id(metadata: &std::fs::Metadata) -> Option<FileId> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some((metadata.dev(), metadata.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = metadata;
        None
    }
}

/// fsyncs a directory so renames and creations in it survive power loss (no-op off Unix).
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()?;
    }
    let _ = dir;
    Ok(())
}

/// Writes `bytes` to `path` atomically: a temporary file, fsync, rename, directory fsync.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        sync_dir(dir)?;
    }
    Ok(())
}

/// Writes `bytes` to `path` through a temporary file and a rename, with no fsync at all: for the
/// batched shutdown ([`crate::close_many`]), whose filesystem-wide syncs order durability instead.
/// A crash may leave the old file, the new one, a stray `*.tmp` (removed at open) or, on
/// filesystems that do not order data before renames, a short new file; callers only write files
/// that are either ignored when unreadable or only vouch for data already durable.
pub(crate) fn write_replace_unsynced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// The filesystem `path` lives on (its device id); `None` where the platform has no notion of one.
pub(crate) fn device_of(path: &Path) -> io::Result<Option<u64>> {
    let metadata = std::fs::metadata(path)?;
    Ok(file_id(&metadata).map(|(dev, _)| dev))
}

/// `syncfs(2)`: writes back every dirty page, inode and directory entry of the filesystem holding
/// `path` and commits its journal, in one call. Linux only (elsewhere `Unsupported`). Since Linux
/// 5.8 it reports writeback errors met on that filesystem since the descriptor was opened.
pub(crate) fn syncfs(path: &Path) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let dir = File::open(path)?;
        // SAFETY: `dir` is an open descriptor for the duration of the call.
        if unsafe { libc::syncfs(dir.as_raw_fd()) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = path;
        Err(io::Error::new(io::ErrorKind::Unsupported, "syncfs is Linux-only"))
    }
}

/// Removes a file, treating "already gone" as success.
pub(crate) fn remove_if_exists(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}
