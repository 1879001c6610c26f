//! Registers this executable as the current user's `kallyai://` handler on Linux, where links
//! need a `.desktop` entry with `x-scheme-handler/kallyai`. Installed packages ship that entry;
//! this covers a binary run from anywhere else (a build, `make demo`).
//!
//! Written here rather than with the deep-link plugin's `register_all`, because that one quotes
//! the Exec path unconditionally and xdg-utils 1.1.3 (Debian 12's xdg-open, generic mode) then
//! fails to run the handler ("Permission denied"): it takes the quotes as part of the file name.

use std::path::Path;
use std::process::Command;

use kallyai_core::paths::applications_dir;
use tauri::AppHandle;

pub const DESKTOP_FILE: &str = "kallyai-desktop-handler.desktop";
/// The entry the .deb/.rpm install (see docs/packaging.md).
const PACKAGED_DESKTOP_FILE: &str = "KallyAI.desktop";
const MIME: &str = "x-scheme-handler/kallyai";

/// Registers in the background (xdg-mime takes a while: off the start-up path), then tells
/// `registered`. Best effort: a failure is logged, and only means links do not work.
pub fn register_link_handler(app: &AppHandle, registered: fn(&AppHandle)) {
    let app = app.clone();
    std::thread::spawn(move || {
        let result = std::env::current_exe().map_err(|e| e.to_string()).and_then(|exe| register(&exe));
        match result {
            Ok(()) => {
                tracing::debug!("kallyai:// links open this app");
                registered(&app);
            }
            Err(error) => tracing::warn!(%error, "could not register the kallyai:// link handler"),
        }
    });
}

/// Returns what went wrong so the caller can log it; links are then the only loss.
fn register(exe: &Path) -> Result<(), String> {
    let dir = applications_dir().ok_or("no data directory (HOME unset)")?;
    if exe.starts_with("/usr/") {
        // A package installed it, with its own entry; an entry left by an earlier unpackaged
        // run would still win for this user, so it goes, and the package's entry takes over.
        let stale = dir.join(DESKTOP_FILE);
        if stale.exists() {
            let _ = std::fs::remove_file(&stale);
            let _ = Command::new("xdg-mime").args(["default", PACKAGED_DESKTOP_FILE, MIME]).status();
        }
        return Ok(());
    }
    // Inside an AppImage the executable lives on a temporary mount; the image itself is what
    // a link must start.
    let appimage = std::env::var_os("APPIMAGE").map(std::path::PathBuf::from);
    let exe = appimage.as_deref().unwrap_or(exe);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let entry = desktop_entry(exe);
    let file = dir.join(DESKTOP_FILE);
    if std::fs::read_to_string(&file).ok().as_deref() != Some(entry.as_str()) {
        std::fs::write(&file, entry).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
        // Refreshes mimeinfo.cache for desktops that read it; xdg-mime below is what counts.
        let _ = Command::new("update-desktop-database").arg(&dir).status();
    }
    let status = Command::new("xdg-mime")
        .args(["default", DESKTOP_FILE, MIME])
        .status()
        .map_err(|e| format!("cannot run xdg-mime: {e}"))?;
    status.success().then_some(()).ok_or_else(|| format!("xdg-mime failed with {status}"))
}

fn desktop_entry(exe: &Path) -> String {
    format!(
        "[Desktop Entry]\nType=Application\nName=KallyAI\nComment=Opens kallyai:// links in KallyAI Desktop\n\
         Exec={} %u\nTerminal=false\nNoDisplay=true\nMimeType={MIME};\n",
        exec_arg(&exe.to_string_lossy())
    )
}

/// Quotes the path only when the Desktop Entry spec requires it (see the module comment).
fn exec_arg(path: &str) -> String {
    const RESERVED: &[char] =
        &[' ', '\t', '"', '\'', '\\', '>', '<', '~', '|', '&', ';', '$', '*', '?', '#', '(', ')', '`'];
    if path.contains(RESERVED) {
        let escaped = path.replace('\\', "\\\\\\\\").replace('"', "\\\\\"").replace('`', "\\\\`").replace('$', "\\\\$");
        format!("\"{escaped}\"")
    } else {
        path.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_paths_are_not_quoted() {
        let entry = desktop_entry(Path::new("/home/alex/bin/kallyai-desktop"));
        assert!(entry.contains("\nExec=/home/alex/bin/kallyai-desktop %u\n"), "{entry}");
        assert!(entry.contains("\nMimeType=x-scheme-handler/kallyai;\n"));
    }

    #[test]
    fn paths_with_spaces_are_quoted() {
        assert_eq!(exec_arg("/opt/Kally AI/kallyai-desktop"), "\"/opt/Kally AI/kallyai-desktop\"");
    }
}
