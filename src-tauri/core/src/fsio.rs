//! State files (the outbox, the watcher's seen events): written whole or not at all, readable by
//! the user only, and never silently lost.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

/// Replaces `path` with `bytes`, privately and atomically: a temporary file next to it, created
/// readable by the user only (it may hold what the user typed), flushed to disk, renamed over
/// `path`, then the directory flushed so the rename itself survives a crash. A crash leaves the
/// old file or the new one, never half of one.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if let Some(dir) = parent(path) {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = sibling(path, "tmp");
    {
        let mut file = create_private(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    sync_dir(path);
    Ok(())
}

/// `write_private` from code that runs on the async runtime but must not go on before the file
/// is on disk (the watcher writes what it announced before announcing it). On tokio's
/// multi-threaded runtime the worker hands its other tasks to the rest of the pool while it
/// waits on the disk, so a slow fsync never stalls them; elsewhere it simply writes.
pub(crate) fn write_private_in_place(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(|| write_private(path, bytes)),
        _ => write_private(path, bytes),
    }
}

/// Reads the JSON file at `path`: `None` when there is none. A file that does not parse is moved
/// aside as `<name>.unreadable-<now_ms>` (never deleted: it may hold what someone typed, and it
/// says what went wrong) and also reads as `None`, so the caller starts afresh.
pub(crate) fn read_json<T: DeserializeOwned>(path: &Path, now_ms: u64) -> io::Result<Option<T>> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    match serde_json::from_slice(&bytes) {
        Ok(value) => Ok(Some(value)),
        Err(err) => {
            let aside = sibling(path, &format!("unreadable-{now_ms}"));
            tracing::warn!(error = %err, aside = %aside.display(), "state file unreadable; moved aside");
            std::fs::rename(path, &aside)?;
            Ok(None)
        }
    }
}

/// `<path>.<suffix>`, in the same directory (a rename never crosses file systems).
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_else(|| "state".into());
    name.push(format!(".{suffix}"));
    path.with_file_name(name)
}

fn parent(path: &Path) -> Option<&Path> {
    path.parent().filter(|d| !d.as_os_str().is_empty())
}

/// A new file readable by the user only. A temporary file left by a crash is removed first:
/// reopening it would keep whatever permissions it was created with.
fn create_private(path: &Path) -> io::Result<std::fs::File> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
}

/// Makes the rename itself durable (POSIX); other systems have no directory handles to sync.
pub(crate) fn sync_dir(path: &Path) {
    #[cfg(unix)]
    if let Some(dir) = parent(path) {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory under the system's temp dir, removed when dropped.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> Self {
            let dir = std::env::temp_dir().join(format!("kallyai-fsio-{}", uuid::Uuid::new_v4()));
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn writes_a_private_file_and_creates_its_directory() {
        let dir = TempDir::new();
        let path = dir.0.join("nested/state.json");
        write_private(&path, b"{\"a\":1}").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"{\"a\":1}");
        assert!(!sibling(&path, "tmp").exists(), "the temporary file was renamed away");
        #[cfg(unix)]
        assert_eq!(mode(&path), 0o600);
    }

    #[cfg(unix)]
    #[test]
    fn a_stale_temporary_file_does_not_lend_its_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = TempDir::new();
        let path = dir.0.join("state.json");
        let tmp = sibling(&path, "tmp");
        std::fs::write(&tmp, b"left by a crash").unwrap();
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_private(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(mode(&path), 0o600);
    }

    #[cfg(unix)]
    #[test]
    fn a_world_readable_file_becomes_private_on_its_next_write() {
        use std::os::unix::fs::PermissionsExt;
        let dir = TempDir::new();
        let path = dir.0.join("seen-events.json");
        std::fs::write(&path, b"old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_private(&path, b"new").unwrap();
        assert_eq!(mode(&path), 0o600);
    }

    #[cfg(unix)]
    #[test]
    fn the_old_file_is_replaced_whole_never_rewritten_in_place() {
        use std::io::Read;
        use std::os::unix::fs::MetadataExt;
        let dir = TempDir::new();
        let path = dir.0.join("state.json");
        write_private(&path, b"old contents").unwrap();
        let before = std::fs::metadata(&path).unwrap().ino();
        // A reader that opened the old file keeps reading all of the old file.
        let mut reader = std::fs::File::open(&path).unwrap();
        write_private(&path, b"new").unwrap();
        let mut seen = String::new();
        reader.read_to_string(&mut seen).unwrap();
        assert_eq!(seen, "old contents");
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_ne!(std::fs::metadata(&path).unwrap().ino(), before, "a new file took the name");
    }

    #[test]
    fn a_failed_write_leaves_the_old_file() {
        let dir = TempDir::new();
        let path = dir.0.join("state.json");
        write_private(&path, b"old").unwrap();
        // Something that is not a file sits where the temporary file goes.
        std::fs::create_dir(sibling(&path, "tmp")).unwrap();
        assert!(write_private(&path, b"new").is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
    }

    #[test]
    fn writes_in_place_from_either_runtime_and_outside_one() {
        let dir = TempDir::new();
        let path = dir.0.join("seen-events.json");
        for runtime in [
            tokio::runtime::Builder::new_multi_thread().worker_threads(1).build().unwrap(),
            tokio::runtime::Builder::new_current_thread().build().unwrap(),
        ] {
            let in_task = path.clone();
            runtime
                .block_on(async move { tokio::spawn(async move { write_private_in_place(&in_task, b"[]") }).await })
                .unwrap()
                .unwrap();
        }
        write_private_in_place(&path, b"[1]").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"[1]");
        #[cfg(unix)]
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn missing_is_none_and_unreadable_is_moved_aside() {
        let dir = TempDir::new();
        let path = dir.0.join("state.json");
        assert_eq!(read_json::<serde_json::Value>(&path, 1).unwrap(), None);
        std::fs::write(&path, b"{ not json").unwrap();
        assert_eq!(read_json::<serde_json::Value>(&path, 42).unwrap(), None);
        assert!(!path.exists());
        assert_eq!(std::fs::read(dir.0.join("state.json.unreadable-42")).unwrap(), b"{ not json");
        write_private(&path, b"{\"a\":1}").unwrap();
        assert_eq!(read_json::<serde_json::Value>(&path, 43).unwrap(), Some(serde_json::json!({"a": 1})));
    }
}
