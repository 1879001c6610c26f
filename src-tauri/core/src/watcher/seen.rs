//! What the watcher has already published, kept across restarts: a bounded list of keys
//! (`ring:<call>`, `end:<call>`, `pending:<item>`) and, per live call, how many transcript lines
//! went out. Stored as JSON at `seen_path` with `fsio`: private, written atomically so a crash
//! mid-write leaves the previous file intact, an unreadable file moved aside. `flush` writes in
//! place (`fsio::write_private_in_place`) so nothing is announced before it is on disk; `load`
//! reads the disk, so the watcher calls it from a blocking task.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::fsio;

/// Transcript cursors are kept only for live calls; this caps them if ends were never seen.
const MAX_CURSORS: usize = 64;

#[derive(Default, Serialize, Deserialize)]
struct SeenFile {
    version: u32,
    /// Oldest first.
    ids: Vec<String>,
    #[serde(default)]
    transcript_cursors: BTreeMap<String, usize>,
}

#[derive(Debug)]
pub(crate) struct Seen {
    path: Option<PathBuf>,
    capacity: usize,
    order: VecDeque<String>,
    set: HashSet<String>,
    cursors: BTreeMap<String, usize>,
    dirty: bool,
}

impl Seen {
    /// Reads `path` if it exists; a missing or unreadable file starts empty (an unparsable one is
    /// moved aside), so a corrupt file costs at most one repeated notification per id.
    pub fn load(path: Option<PathBuf>, capacity: usize) -> Self {
        let mut seen = Self {
            path: path.clone(),
            capacity: capacity.max(1),
            order: VecDeque::new(),
            set: HashSet::new(),
            cursors: BTreeMap::new(),
            dirty: false,
        };
        if let Some(p) = path {
            let now_ms = crate::clock::unix_ms();
            match fsio::read_json::<SeenFile>(&p, now_ms) {
                Ok(Some(file)) => {
                    for id in file.ids {
                        seen.insert(id);
                    }
                    seen.cursors = file.transcript_cursors;
                    seen.dirty = false;
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(path = %p.display(), "cannot read seen-ids file: {e}"),
            }
        }
        seen
    }

    pub fn contains(&self, key: &str) -> bool {
        self.set.contains(key)
    }

    /// Remembers `key`; true when it was new. The oldest keys fall out beyond the capacity.
    pub fn insert(&mut self, key: String) -> bool {
        if self.set.contains(&key) {
            return false;
        }
        self.set.insert(key.clone());
        self.order.push_back(key);
        while self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        self.dirty = true;
        true
    }

    /// Transcript lines of `call_id` already published.
    pub fn cursor(&self, call_id: &str) -> usize {
        self.cursors.get(call_id).copied().unwrap_or(0)
    }

    pub fn set_cursor(&mut self, call_id: &str, lines: usize) {
        if self.cursors.get(call_id) != Some(&lines) {
            if !self.cursors.contains_key(call_id) && self.cursors.len() >= MAX_CURSORS {
                if let Some(first) = self.cursors.keys().next().cloned() {
                    self.cursors.remove(&first);
                }
            }
            self.cursors.insert(call_id.to_string(), lines);
            self.dirty = true;
        }
    }

    pub fn drop_cursor(&mut self, call_id: &str) {
        if self.cursors.remove(call_id).is_some() {
            self.dirty = true;
        }
    }

    /// Writes the file if anything changed since the last write. Failures are logged, not
    /// fatal: the watcher keeps working with what it has in memory.
    pub fn flush(&mut self) {
        if !self.dirty {
            return;
        }
        let Some(path) = self.path.clone() else {
            self.dirty = false;
            return;
        };
        let file = SeenFile {
            version: 1,
            ids: self.order.iter().cloned().collect(),
            transcript_cursors: self.cursors.clone(),
        };
        match fsio::write_private_in_place(&path, &serde_json::to_vec(&file).unwrap_or_default()) {
            Ok(()) => self.dirty = false,
            Err(e) => tracing::warn!(path = %path.display(), "cannot write seen-ids file: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_path(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("kallyai-seen-{}-{name}.json", uuid::Uuid::new_v4()))
    }

    #[test]
    fn bounded_oldest_out() {
        let mut s = Seen::load(None, 3);
        for k in ["a", "b", "c", "d"] {
            assert!(s.insert(k.into()));
        }
        assert!(!s.contains("a"));
        assert!(s.contains("d"));
        assert!(!s.insert("d".into()));
    }

    #[test]
    fn survives_a_reload_and_ignores_garbage() {
        let path = temp_path("reload");
        let mut s = Seen::load(Some(path.clone()), 10);
        s.insert("ring:1".into());
        s.set_cursor("1", 3);
        s.flush();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let again = Seen::load(Some(path.clone()), 10);
        assert!(again.contains("ring:1"));
        assert_eq!(again.cursor("1"), 3);
        assert!(!path.with_file_name(format!("{}.tmp", path.file_name().unwrap().to_string_lossy())).exists());
        std::fs::write(&path, b"{not json").unwrap();
        let broken = Seen::load(Some(path.clone()), 10);
        assert!(!broken.contains("ring:1"));
        // The unreadable file is kept beside, not overwritten by the next write.
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let aside: Vec<PathBuf> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(&format!("{name}.unreadable-")))
            .collect();
        assert_eq!(aside.len(), 1, "{aside:?}");
        assert_eq!(std::fs::read(&aside[0]).unwrap(), b"{not json");
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_file(&aside[0]);
    }
}
