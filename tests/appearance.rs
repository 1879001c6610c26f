//! Light and dark (issue 18): every window follows the desktop's colour scheme and switches live
//! when the desktop does, and an accessibility audit (axe-core, injected through WebDriver) finds
//! no violation of WCAG 2 A/AA rules (contrast, names, roles) in any window in either scheme.
//! Each window (the call popup with a call on it) is saved as a picture in both schemes.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::appearance::{set_scheme, wait_for_scheme, LightAgain, Scheme};
use common::demo::{self, Demo};
use common::launcher::Launched;
use common::signed_in_app::{self, show_every_window, SHOWABLE};
use common::{readme_screenshot, wait, x11, ONE_APP_AT_A_TIME};
use kallyai_sim::client::Ring;
use serde_json::{json, Value};

const SOON: Duration = Duration::from_secs(20);

/// axe-core as scripts/install-deps keeps it (outside the tree, under the real home's cache).
fn axe_source() -> String {
    let home = std::env::var("KALLYAI_REAL_HOME").or_else(|_| std::env::var("HOME")).expect("a home");
    let path = PathBuf::from(home).join(".cache/kallyai-desktop/axe/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("axe-core at {} (scripts/install-deps): {e}", path.display()))
}

/// Runs axe-core's WCAG 2 A and AA rules on the current page; returns its violations.
async fn audit(app: &Launched, axe: &str) -> Vec<Value> {
    let session = app.session();
    session.execute(&format!("if (typeof axe === 'undefined') {{ {axe} }} return true;")).await;
    session
        .execute(
            "window.__audit = null;
             axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
               .then(r => { window.__audit = r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                 nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary)})); })
               .catch(e => { window.__audit = [{id: 'axe-error', help: String(e)}]; });
             return true;",
        )
        .await;
    let found = wait::until("axe-core's audit", SOON, || async {
        let value = session.execute("return window.__audit;").await;
        value.as_array().cloned()
    })
    .await;
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_window_follows_the_desktops_colour_scheme_and_passes_an_accessibility_audit() {
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let _light_again = LightAgain;
    set_scheme(Scheme::Light);
    let demo = Demo::new("appearance").await;
    // The call popup comes up by itself when a call rings.
    signed_in_app::use_settings(json!({"call_alert": "popup"}));
    let (app, _item) = signed_in_app::start_signed_in(&demo.out, "app", &demo.url).await;
    show_every_window(&app).await;
    let ring = Ring::new("+15550100200")
        .caller_name("Dr. Smith's office")
        .vip(true)
        .summary("Wants to move Thursday's appointment to Friday")
        // The first line at once, the next ones long after the test: the call stays live, its
        // actions on screen.
        .transcript([
            ("AI", "Hello, you've reached Alex's assistant. How can I help?"),
            ("HUMAN", "Hi, this is Dr. Smith's office, about Thursday's appointment."),
        ])
        .line_interval_ms(600_000);
    demo.ctl.ring(&ring).await;
    wait::until_sync("the call popup on screen", SOON, || x11::window_viewable("Incoming call").then_some(())).await;
    demo::in_page(
        &app,
        "call.html",
        "the call's first line",
        "return document.querySelectorAll('#transcript li').length >= 1 && !document.getElementById('takeover').hidden",
    )
    .await;
    let axe = axe_source();
    let pages = SHOWABLE.iter().map(|(panel, _)| *panel).chain(["call"]);

    let mut summary = Vec::new();
    for scheme in [Scheme::Light, Scheme::Dark] {
        // Switched while every window is open: each follows without being reopened.
        set_scheme(scheme);
        for panel in pages.clone() {
            let page = format!("{panel}.html");
            wait_for_scheme(&app, &page, scheme).await;
            let name = format!("{panel}-{}.png", format!("{scheme:?}").to_lowercase());
            std::fs::write(readme_screenshot(&name), app.session().screenshot().await).expect("save the picture");
            let violations = audit(&app, &axe).await;
            summary.push(json!({"window": panel, "scheme": format!("{scheme:?}"), "violations": violations}));
        }
    }
    // And back, live.
    set_scheme(Scheme::Light);
    wait_for_scheme(&app, "credits.html", Scheme::Light).await;

    let report = serde_json::to_string_pretty(&summary).unwrap();
    std::fs::write(demo.out.join("axe-summary.json"), &report).expect("save the audit's summary");
    let failing: Vec<&Value> = summary.iter().filter(|s| !s["violations"].as_array().unwrap().is_empty()).collect();
    assert!(failing.is_empty(), "accessibility violations: {}", serde_json::to_string_pretty(&failing).unwrap());
    demo.finish(app).await;
    signed_in_app::forget_settings();
}
