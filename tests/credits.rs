//! Credits at a glance (issue 9, acceptance 1–3), end to end on the real headless desktop of
//! `scripts/with-desktop`: the real app under WebDriver, signed in through the tray and the test
//! browser, against a real sim whose balance the test moves with `/_sim/credits`; the tray read
//! over DBusMenu, notifications watched on the bus, the browser's log of opened URLs.
//!
//! Run: `scripts/with-desktop cargo test -p kallyai-desktop --test credits -- --test-threads=1`.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::credits_line::expected_tray_line;
use common::launcher::Launched;
use common::notification_bus::{self, BusMonitor};
use common::signed_in_app::{self, show, wait_tray_line};
use common::{
    output_dir, profile, readme_screenshot, require_desktop, tray, tray_picture, wait, x11, ONE_APP_AT_A_TIME,
};
use kallyai_sim::client::{self, Control};
use kallyai_sim::SimServer;
use serde_json::Value;

/// The low-credit notification's title (ui/i18n/en.json `credits.low.title`).
const LOW_TITLE: &str = "KallyAI credits are running low";
const OUT_OF_CREDITS: &str = "Out of credits";
/// An ask the sim's assistant takes as a search: charged 0.5 credits at once (docs/sim.md).
const SEARCH_ASK: &str = "find the best pizza nearby";
const SOON: Duration = Duration::from_secs(20);
const CREDITS_TITLE: &str = "Credits";

struct World {
    sim: SimServer,
    url: String,
    ctl: Control,
    out: PathBuf,
}

impl World {
    async fn new(name: &str) -> World {
        require_desktop();
        let out = output_dir(name);
        let _ = std::fs::remove_file(signed_in_app::browser_log(&out));
        // Tests share the desktop's HOME: start from default settings (English, 10 % threshold).
        signed_in_app::forget_settings();
        // On this run's profile (`KALLYAI_TEST_PROFILE`, see common/profile.rs).
        let sim = client::start_local(profile::sim_config(kallyai_sim::Seed::Demo)).await;
        World { ctl: sim.control(), url: sim.url(), sim, out }
    }

    async fn signed_in_app(&self) -> (Launched, tray::TrayItem) {
        signed_in_app::start_signed_in(&self.out, "app", &self.url).await
    }

    /// Sets the balance at the sim, behind the app's back (another device, a goal spending), and
    /// waits until the app has it, as a user would see it. With the sim's event stream the app
    /// hears of the change at once; production pushes nothing, so there the user closes the
    /// credits window with Esc and opens it again (it reads the balance when it is shown), and
    /// leaves it open.
    async fn set_balance(&self, app: &Launched, remaining: f64) -> Value {
        let balance = self.ctl.set_credits(remaining).await;
        if profile::is_production() {
            close_credits_window(app).await;
            let reads = self.answered("GET", "/v1/credits/balance", 200).await;
            show(app, "credits", "Credits").await;
            wait::until("the credits window to read the balance", SOON, || async {
                (self.answered("GET", "/v1/credits/balance", 200).await > reads).then_some(())
            })
            .await;
        }
        balance
    }

    /// How many requests for `method path` the sim answered with `status`.
    async fn answered(&self, method: &str, path: &str, status: u64) -> usize {
        self.ctl.requests_to(method, path).await.iter().filter(|r| r["status"].as_u64() == Some(status)).count()
    }

    async fn end(self, app: Launched) {
        app.quit().await;
        self.sim.shutdown().await;
    }
}

/// Esc in the credits window, as a user closes it (nothing to do when it is not shown).
async fn close_credits_window(app: &Launched) {
    if !x11::window_viewable(CREDITS_TITLE) {
        return;
    }
    assert!(app.session().switch_to_page("credits.html").await, "the credits window exists");
    app.session().press_escape().await;
    wait::until_sync("the credits window to close", SOON, || (!x11::window_viewable(CREDITS_TITLE)).then_some(()))
        .await;
}

/// Asks `text` the way a user does: `--ask TEXT` opens the box prefilled, Enter sends it.
async fn ask(app: &Launched, text: &str) {
    let opened = app.second_launch(&["--ask", text]).await;
    assert!(opened.status.success(), "--ask: {opened:?}");
    let session = app.session();
    assert!(session.switch_to_page("ask.html").await, "the ask window exists");
    wait::until("the question in the ask box", SOON, || async {
        let value = session.execute("return document.getElementById('ask-input').value").await;
        (value.as_str() == Some(text)).then_some(())
    })
    .await;
    session.send_keys("#ask-input", "\u{E007}").await;
}

/// Runs `script` in the credits window until it returns a non-empty string.
async fn in_credits_window(app: &Launched, what: &str, script: &str) -> String {
    assert!(app.session().switch_to_page("credits.html").await, "the credits window exists");
    wait::until(what, SOON, || async {
        let value = app.session().execute(script).await;
        value.as_str().filter(|s| !s.is_empty()).map(String::from)
    })
    .await
}

// 1. The tray's first line and the credits window show the sim's balance, plan and period; an
//    ask lowers the balance everywhere without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn balance_plan_and_period_follow_the_sim() {
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let world = World::new("credits-balance").await;
    let balance = world.ctl.balance().await;
    let line = expected_tray_line(&balance);
    assert!(
        line.starts_with("458 credits left · Pro · renews "),
        "the seeded balance reads like the issue's example: {line}"
    );
    // "renews 1 Dec": the window shows the same day and month.
    let renews: Vec<String> = line.rsplit(' ').take(2).map(String::from).collect();
    let (app, item) = world.signed_in_app().await;
    wait_tray_line(&item, &line, SOON).await;

    show(&app, "credits", "Credits").await;
    let shown = in_credits_window(
        &app,
        "the balance in the credits window",
        &format!(
            "const b = document.getElementById('balance').textContent;
             return b === {line:?} ? JSON.stringify([b, document.getElementById('plan').textContent,
               document.getElementById('period').textContent, document.getElementById('used').textContent]) : '';"
        ),
    )
    .await;
    let [shown_line, plan, period, used]: [String; 4] = serde_json::from_str(&shown).expect("window texts");
    assert_eq!(shown_line, line);
    assert_eq!(plan.to_lowercase(), balance["plan_type"].as_str().unwrap().to_lowercase());
    assert!(period.contains(&renews[0]) && period.contains(&renews[1]), "the period ends {renews:?}: {period:?}");
    assert!(used.starts_with("142"), "142 of 600 used: {used:?}");
    // The spending, history and costs lists are filled from the sim too.
    in_credits_window(
        &app,
        "the credits details",
        "return ['breakdown','history','costs'].every(id => document.getElementById(id).children.length > 0) ? 'yes' : '';",
    )
    .await;
    // The chart: one bar for each day of the period with spending, the days told in words for
    // screen readers adding up to what the sim's history holds for the period, and the forecast.
    let history = world.ctl.api_get("/v1/credits/history?limit=100").await;
    let period_start = balance["period_start"].as_str().expect("the period's start");
    let in_period: f64 = history["entries"]
        .as_array()
        .expect("history entries")
        .iter()
        .filter(|e| e["timestamp"].as_str().is_some_and(|at| at >= period_start))
        .map(|e| e["credits"].as_f64().unwrap_or(0.0))
        .sum();
    assert!(in_period > 0.0, "the demo spent credits this period: {history}");
    let chart = in_credits_window(
        &app,
        "the spending chart",
        "const pace = document.getElementById('pace');
         if (pace.hidden) return '';
         const told = [...document.querySelectorAll('#chart-days li')].map(li => li.textContent);
         return JSON.stringify({bars: document.querySelectorAll('#chart rect.bar').length, told,
           label: document.getElementById('chart').getAttribute('aria-label'),
           forecast: document.getElementById('forecast').textContent});",
    )
    .await;
    let chart: Value = serde_json::from_str(&chart).expect("chart facts");
    let told: Vec<&str> = chart["told"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    let spent_days: Vec<f64> = told
        .iter()
        .filter_map(|line| line.rsplit(": ").next()?.strip_suffix(" credits")?.parse().ok())
        .filter(|credits: &f64| *credits > 0.0)
        .collect();
    assert_eq!(chart["bars"].as_u64(), Some(spent_days.len() as u64), "a bar for each day with spending: {told:?}");
    assert!(
        (spent_days.iter().sum::<f64>() - in_period).abs() < 0.5,
        "the days add up to the period's history ({in_period}): {told:?}"
    );
    let label = chart["label"].as_str().unwrap();
    assert!(label.starts_with("Credits used per day from "), "the chart has a name: {label:?}");
    let forecast = chart["forecast"].as_str().unwrap();
    assert!(
        forecast.starts_with("At this pace, credits last until ")
            && forecast
                .rsplit("the plan renews on ")
                .next()
                .is_some_and(|day| renews.iter().all(|part| day.contains(part.as_str()))),
        "the forecast names the renewal day: {forecast:?}"
    );
    let png = app.session().screenshot().await;
    std::fs::write(readme_screenshot("credits.png"), png).expect("save the credits screenshot");
    tray_picture::render_menu(&item, &readme_screenshot("tray-menu.png"));

    // An ask is charged by the sim; the app hears of it and shows the new balance everywhere.
    ask(&app, SEARCH_ASK).await;
    let after = wait::until("the sim to charge the ask", SOON, || async {
        let now = world.ctl.balance().await;
        (now["credits_remaining"].as_f64() < balance["credits_remaining"].as_f64()).then_some(now)
    })
    .await;
    let new_line = expected_tray_line(&after);
    wait_tray_line(&item, &new_line, SOON).await;
    in_credits_window(
        &app,
        "the new balance in the credits window",
        &format!("return document.getElementById('balance').textContent === {new_line:?} ? 'yes' : '';"),
    )
    .await;
    world.end(app).await;
}

// 2. Just below the threshold: exactly one low-credit notification, also after several refreshes;
//    back above and below again: one more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn low_credit_warning_once_per_crossing() {
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let world = World::new("credits-low").await;
    notification_bus::close_all();
    let bus = BusMonitor::start().await;
    let (app, item) = world.signed_in_app().await;
    wait_tray_line(&item, &expected_tray_line(&world.ctl.balance().await), SOON).await;
    assert!(bus.notified_with(LOW_TITLE).is_empty(), "458 of 600 is not low");

    // The default threshold is 10 % of the allocation: 60 of 600. 59 is just below.
    let below = world.set_balance(&app, 59.0).await;
    wait_tray_line(&item, &expected_tray_line(&below), SOON).await;
    let first = bus.wait_for("the low-credit notification", SOON, |n| n.mentions(LOW_TITLE)).await;
    assert!(first.body.contains("59"), "the notification says what is left: {first:?}");

    // Several refreshes while still low: credits events (the sim emits one per change) and the
    // credits window, which reads the balance when it is shown.
    let reads_before = world.answered("GET", "/v1/credits/balance", 200).await;
    for remaining in [58.0, 57.0] {
        let now = world.set_balance(&app, remaining).await;
        wait_tray_line(&item, &expected_tray_line(&now), SOON).await;
    }
    close_credits_window(&app).await;
    show(&app, "credits", "Credits").await;
    wait::until("the credits window to read the balance again", SOON, || async {
        (world.answered("GET", "/v1/credits/balance", 200).await >= reads_before + 3).then_some(())
    })
    .await;
    // The answer of the last read is applied before the window shows it.
    in_credits_window(
        &app,
        "the low balance in the credits window",
        "return document.getElementById('low').hidden ? '' : document.getElementById('balance').textContent;",
    )
    .await;
    assert_eq!(bus.notified_with(LOW_TITLE).len(), 1, "one warning per crossing, not per refresh");

    // Back above the line, then below again: one more warning.
    let above = world.set_balance(&app, 300.0).await;
    wait_tray_line(&item, &expected_tray_line(&above), SOON).await;
    assert_eq!(bus.notified_with(LOW_TITLE).len(), 1, "no warning while above the line");
    let again = world.set_balance(&app, 50.0).await;
    wait_tray_line(&item, &expected_tray_line(&again), SOON).await;
    wait::until_sync("a second low-credit notification", SOON, || {
        (bus.notified_with(LOW_TITLE).len() == 2).then_some(())
    })
    .await;
    let second = world.set_balance(&app, 49.0).await;
    wait_tray_line(&item, &expected_tray_line(&second), SOON).await;
    assert_eq!(bus.notified_with(LOW_TITLE).len(), 2, "exactly one more for the second crossing");
    world.end(app).await;
}

// 3. A 402 puts the widget and the tray in the out-of-credits state; "Manage plan" opens the
//    billing portal in the system browser.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_credits_after_a_402_and_manage_plan_opens_the_portal() {
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let world = World::new("credits-out").await;
    let (app, item) = world.signed_in_app().await;
    wait_tray_line(&item, &expected_tray_line(&world.ctl.balance().await), SOON).await;

    // Less than the ask costs (a search is 0.5): the sim refuses it with 402 although credits
    // are left, so the out-of-credits state can only come from the 402.
    let short = world.set_balance(&app, 0.2).await;
    wait_tray_line(&item, &expected_tray_line(&short), SOON).await;
    ask(&app, SEARCH_ASK).await;
    wait::until("the sim to refuse the ask with 402", SOON, || async {
        (world.answered("POST", "/v1/coordination/message", 402).await >= 1).then_some(())
    })
    .await;
    wait_tray_line(&item, OUT_OF_CREDITS, SOON).await;

    // The credits window reads the balance again when shown; the same 0.2 keeps the state.
    let reads = world.answered("GET", "/v1/credits/balance", 200).await;
    show(&app, "credits", "Credits").await;
    wait::until("the credits window to read the balance", SOON, || async {
        (world.answered("GET", "/v1/credits/balance", 200).await > reads).then_some(())
    })
    .await;
    let said = in_credits_window(
        &app,
        "the out-of-credits state in the credits window",
        "const out = document.getElementById('out');
         return out.hidden ? '' : document.getElementById('balance').textContent + ' | ' + out.textContent;",
    )
    .await;
    assert!(said.starts_with(OUT_OF_CREDITS), "the widget says so: {said}");
    assert!(said.contains("You are out of credits"), "the widget says so: {said}");
    assert_eq!(item.labels()[0], OUT_OF_CREDITS, "a refresh of the same balance keeps the tray's state");

    // "Manage plan" asks the sim for the billing portal and hands its URL to the system browser
    // (xdg-open, which runs $BROWSER: the test browser logs it).
    let before = signed_in_app::opened(&world.out).len();
    app.session().click("#manage-plan").await;
    let portal = wait::until_sync("the browser to open the billing portal", SOON, || {
        signed_in_app::opened(&world.out).into_iter().skip(before).find(|u| u.contains("billing"))
    })
    .await;
    assert_eq!(portal, "https://billing.stripe.com/p/session/sim_portal", "the sim's portal URL");
    assert_eq!(world.answered("GET", "/v1/stripe/billing-portal", 200).await, 1);
    let plan_error = app.session().text_of("#plan-error").await.unwrap_or_default();
    assert!(plan_error.is_empty(), "no error under Manage plan: {plan_error}");

    // A top-up ends the state everywhere.
    let topped_up = world.set_balance(&app, 300.0).await;
    wait_tray_line(&item, &expected_tray_line(&topped_up), SOON).await;
    in_credits_window(
        &app,
        "the credits window after the top-up",
        "return document.getElementById('out').hidden ? document.getElementById('balance').textContent : '';",
    )
    .await;
    world.end(app).await;
}
