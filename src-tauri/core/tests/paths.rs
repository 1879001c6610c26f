//! The app's folders on Linux are where the shell's hand-written rules put them before core had
//! `paths`, so existing installs keep their settings, outbox and seen events.
//!
//! One test in its own binary: it changes the process environment.

#![cfg(target_os = "linux")]

use std::path::PathBuf;

use kallyai_core::paths;

fn set(name: &str, value: Option<&str>) {
    match value {
        Some(v) => std::env::set_var(name, v),
        None => std::env::remove_var(name),
    }
}

#[test]
fn linux_folders_follow_xdg_and_keep_their_old_places() {
    let home = "/home/someone";
    set("HOME", Some(home));

    set("XDG_CONFIG_HOME", Some("/elsewhere/config"));
    set("XDG_DATA_HOME", Some("/elsewhere/data"));
    assert_eq!(paths::config_dir(), Some(PathBuf::from("/elsewhere/config/ai.kally.desktop")));
    assert_eq!(paths::data_dir(), Some(PathBuf::from("/elsewhere/data/ai.kally.desktop")));
    assert_eq!(paths::applications_dir(), Some(PathBuf::from("/elsewhere/data/applications")));

    for unset in [None, Some("")] {
        set("XDG_CONFIG_HOME", unset);
        set("XDG_DATA_HOME", unset);
        assert_eq!(paths::config_dir(), Some(PathBuf::from("/home/someone/.config/ai.kally.desktop")));
        assert_eq!(paths::data_dir(), Some(PathBuf::from("/home/someone/.local/share/ai.kally.desktop")));
        assert_eq!(paths::applications_dir(), Some(PathBuf::from("/home/someone/.local/share/applications")));
    }

    // The identifier names the folders, as in tauri.conf.json.
    let conf: serde_json::Value =
        serde_json::from_str(include_str!("../../../tauri.conf.json")).expect("tauri.conf.json parses");
    assert_eq!(conf["identifier"], paths::APP_ID);
}
