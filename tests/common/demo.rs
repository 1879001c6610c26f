//! A real sim seeded with the demo's data for one end-to-end test, with the test's output folder,
//! and the wait on a window's page that most steps of such a test are.

use std::path::PathBuf;
use std::time::Duration;

use kallyai_sim::client::{self, Control};
use kallyai_sim::SimServer;
use serde_json::{json, Value};

use super::launcher::Launched;
use super::{output_dir, profile, require_desktop, signed_in_app, wait};

const SOON: Duration = Duration::from_secs(30);

pub struct Demo {
    pub sim: SimServer,
    pub ctl: Control,
    pub url: String,
    pub out: PathBuf,
}

impl Demo {
    /// Starts the demo sim (in the profile under test) for test `name`, with the app's settings
    /// and the test browser's log of an earlier run forgotten.
    pub async fn new(name: &str) -> Demo {
        require_desktop();
        let out = output_dir(name);
        let _ = std::fs::remove_file(signed_in_app::browser_log(&out));
        signed_in_app::forget_settings();
        let sim = client::start_local(profile::sim_config(kallyai_sim::Seed::Demo)).await;
        Demo { ctl: sim.control(), url: sim.url(), sim, out }
    }

    /// Quits the app as a user does, then stops the sim.
    pub async fn finish(self, app: Launched) {
        app.quit().await;
        self.sim.shutdown().await;
    }
}

/// Runs `script` in the window showing `page` until it returns something truthy, and returns it.
pub async fn in_page(app: &Launched, page: &str, what: &str, script: &str) -> Value {
    let session = app.session();
    assert!(session.switch_to_page(page).await, "the {page} window exists");
    wait::until(what, SOON, || async {
        let value = session.execute(script).await;
        let truthy = !(value.is_null() || value == json!(false) || value == json!("") || value == json!(0));
        truthy.then_some(value)
    })
    .await
}
