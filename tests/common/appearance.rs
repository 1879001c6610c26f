//! The headless desktop's colour scheme: `scripts/with-desktop` runs xsettingsd, which sends the
//! GTK theme's name over XSETTINGS as GNOME's settings daemon does; WebKitGTK takes
//! `prefers-color-scheme` from it. Switching it here is what a user switching their desktop to
//! dark does, live.

use std::process::Command;
use std::time::Duration;

use serde_json::json;

use super::launcher::Launched;
use super::wait;

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

/// The page's background in each scheme (ui/css/app.css `--bg`).
pub fn background(scheme: Scheme) -> &'static str {
    match scheme {
        Scheme::Light => "rgb(255, 255, 255)",
        Scheme::Dark => "rgb(30, 30, 32)",
    }
}

/// Waits until the window showing `page` is drawn in `scheme` (and leaves WebDriver on it).
pub async fn wait_for_scheme(app: &Launched, page: &str, scheme: Scheme) {
    let session = app.session();
    assert!(session.switch_to_page(page).await, "the {page} window exists");
    let script = format!(
        "return matchMedia('(prefers-color-scheme: dark)').matches === {dark}
           && getComputedStyle(document.body).backgroundColor === {bg:?};",
        dark = scheme == Scheme::Dark,
        bg = background(scheme),
    );
    wait::until(&format!("{page} drawn in the {scheme:?} scheme"), Duration::from_secs(20), || async {
        (session.execute(&script).await == json!(true)).then_some(())
    })
    .await;
}
