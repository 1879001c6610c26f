//! Whether anyone ever signed in with this app on this computer: until then, a start signed out
//! is a first run, and the app welcomes the user (what it does, the hotkey, Sign in). A marker
//! file in the data folder, not a setting: nothing the user chooses, and it survives a reset of
//! the settings file.

use std::path::Path;

use crate::{fsio, paths};

const MARKER: &str = "signed-in-before";

/// True once someone signed in here (also when the data folder cannot be found: never welcome
/// twice by mistake).
pub fn signed_in_before() -> bool {
    paths::data_dir().is_none_or(|dir| signed_in_before_in(&dir))
}

/// Remembers that someone signed in here. Best effort: at worst the welcome shows once more.
pub fn remember_signed_in() {
    if let Some(dir) = paths::data_dir() {
        remember_signed_in_in(&dir);
    }
}

fn signed_in_before_in(dir: &Path) -> bool {
    dir.join(MARKER).exists()
}

fn remember_signed_in_in(dir: &Path) {
    if signed_in_before_in(dir) {
        return;
    }
    // The app's one private writer, as for every state file; called on the async runtime.
    if let Err(error) = fsio::write_private_in_place(&dir.join(MARKER), b"") {
        tracing::warn!(%error, "could not remember the first sign-in");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sign_in_is_remembered_once() {
        let dir = std::env::temp_dir().join(format!("kallyai-first-run-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        assert!(!signed_in_before_in(&dir));
        remember_signed_in_in(&dir);
        remember_signed_in_in(&dir);
        assert!(signed_in_before_in(&dir));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
