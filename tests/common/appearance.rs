//! The headless desktop's colour scheme: `scripts/with-desktop` runs xsettingsd, which sends the
//! GTK theme's name over XSETTINGS as GNOME's settings daemon does; WebKitGTK takes
//! `prefers-color-scheme` from it. Switching it here is what a user switching their desktop to
//! dark does, live.

use std::process::Command;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    Light,
    Dark,
}

/// Switches the desktop to `scheme`. The rig's settings are per run of `scripts/with-desktop`;
/// [`LightAgain`] puts them back for the tests that follow.
pub fn set_scheme(scheme: Scheme) {
    let conf =
        std::env::var("KALLYAI_TEST_XSETTINGS").expect("run under scripts/with-desktop (KALLYAI_TEST_XSETTINGS)");
    let theme = match scheme {
        Scheme::Light => "Adwaita",
        Scheme::Dark => "Adwaita-dark",
    };
    std::fs::write(&conf, format!("Net/ThemeName \"{theme}\"\n")).expect("write the XSETTINGS file");
    let pid_file = std::env::var("KALLYAI_TEST_XSETTINGS_PID").expect("KALLYAI_TEST_XSETTINGS_PID");
    let pid = std::fs::read_to_string(pid_file).expect("xsettingsd's pid");
    let hup = Command::new("kill").args(["-HUP", pid.trim()]).status().expect("run kill");
    assert!(hup.success(), "xsettingsd takes the new settings");
}

/// Puts the desktop back to light when dropped (also when a test fails).
pub struct LightAgain;

impl Drop for LightAgain {
    fn drop(&mut self) {
        set_scheme(Scheme::Light);
    }
}
