//! Looks for secrets where they must never be: files on disk, log text, window DOMs.

use std::path::{Path, PathBuf};

/// Every file under `dir` (recursively, symlinks not followed) whose bytes contain one of
/// `secrets`. Returns the paths only, never the secret.
pub fn files_containing(dir: &Path, secrets: &[String]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    walk(dir, secrets, &mut found);
    found
}

fn walk(dir: &Path, secrets: &[String], found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_dir() {
            walk(&path, secrets, found);
        } else if kind.is_file() {
            if let Ok(bytes) = std::fs::read(&path) {
                if secrets.iter().any(|s| contains(&bytes, s.as_bytes())) {
                    found.push(path);
                }
            }
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// How many of `secrets` occur in `text` (a count, so a failure message shows no secret).
pub fn count_in(text: &str, secrets: &[String]) -> usize {
    secrets.iter().filter(|s| text.contains(s.as_str())).count()
}
