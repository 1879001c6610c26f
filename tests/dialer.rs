//! "Call someone…" (issue 16), end to end on the real headless desktop of `scripts/with-desktop`:
//! the real app under WebDriver, signed in through the tray and the test browser, against a real
//! sim. A link only fills the form; the number is checked as typed; the cost shows before the
//! call is placed; the call is placed once (the sim's own list says so), its live status shows
//! while the server works, and its result and transcript appear in place and in Activity, also
//! when the app was killed while the call was out.
//!
//! Run: `scripts/with-desktop cargo test -p kallyai-desktop --test dialer -- --test-threads=1`.

mod common;

use std::time::Duration;

use common::demo::{self, Demo as Rig};
use common::launcher::Launched;
use common::notification_bus::{self as notices, BusMonitor};
use common::{a11y, browser_sign_in, readme_screenshot, signed_in_app, wait, x11, ONE_APP_AT_A_TIME};
use kallyai_sim::client::Fault;
use serde_json::{json, Value};

const SOON: Duration = Duration::from_secs(30);
const TITLE: &str = "Call someone";
const CALLS: &str = "/v1/calls";
const CLINIC: &str = "Clínica Dental Sonrisa";

/// The sim's own record: the calls to `e164` about `task`.
async fn calls_about(rig: &Rig, e164: &str, task: &str) -> Vec<Value> {
    let list = rig.ctl.api_get("/v1/calls?limit=200").await;
    let calls = list["calls"].as_array().cloned().unwrap_or_default();
    calls
        .into_iter()
        .filter(|c| c["submission"]["respondent_phone"] == e164 && c["submission"]["task_description"] == task)
        .collect()
}

/// Runs `script` in the form's window until it returns something truthy.
async fn in_dialer(app: &Launched, what: &str, script: &str) -> Value {
    demo::in_page(app, "dialer.html", what, script).await
}

async fn text_of(app: &Launched, id: &str, what: &str, pick: &str) -> String {
    let script = format!("const t = document.getElementById('{id}').textContent; return {pick} ? t : ''");
    in_dialer(app, what, &script).await.as_str().unwrap_or_default().to_string()
}

/// Replaces what a field holds, as typing would (an input event follows).
async fn type_into(app: &Launched, id: &str, text: &str) {
    app.session()
        .execute(&format!(
            "const f = document.getElementById('{id}'); f.value = ''; f.dispatchEvent(new Event('input')); return true;"
        ))
        .await;
    app.session().send_keys(&format!("#{id}"), text).await;
}

async fn window_on_screen(title: &str) {
    wait::until_sync(&format!("the {title} window on screen"), SOON, || x11::window_viewable(title).then_some(()))
        .await;
}

// A link fills the form and places nothing; a bad number is refused with one sentence; the cost
// shows; the call is placed once, its live status shows while the server works, then its result
// and transcript in place and in Activity. Keyboard and screen-reader names in English on the way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_is_placed_once_and_its_result_shown() {
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let rig = Rig::new("dialer").await;
    let (app, _item) = signed_in_app::start_signed_in(&rig.out, "app", &rig.url).await;
    let task = "Move my cleaning appointment to Friday morning";

    // -- a link only fills the form
    let link = "kallyai://call?number=%2B34%20911%2022%2023%2033&task=Move%20my%20cleaning%20appointment%20to%20Friday%20morning";
    assert!(app.second_launch(&[link]).await.status.success());
    window_on_screen(TITLE).await;
    let filled = in_dialer(
        &app,
        "the form filled from the link",
        "const v = (id) => document.getElementById(id).value;
         return v('number') && v('task') && [v('number'), v('task')]",
    )
    .await;
    assert_eq!(filled, json!(["+34 911 22 23 33", task]));
    let checked = text_of(&app, "number-hint", "the number checked", "t.startsWith('KallyAI will call')").await;
    assert_eq!(checked, "KallyAI will call +34 911 22 23 33.");
    let estimate = text_of(&app, "estimate", "the cost estimate", "t.includes('credits')").await;
    assert!(estimate.starts_with("This call costs about"), "{estimate}");
    assert!(!rig.ctl.requests_to("POST", "/v1/goals/estimate").await.is_empty(), "the estimate came from the server");
    assert!(rig.ctl.requests_to("POST", CALLS).await.is_empty(), "a link never places a call");
    a11y::keyboard_and_labels(&app, "dialer.html", TITLE, "en").await;
    let form = app.session().screenshot().await;
    std::fs::write(readme_screenshot("dialer-form.png"), form).expect("dialer form screenshot");

    // -- a number no network has: one sentence, nothing sent, nothing typed lost
    type_into(&app, "number", "+34 12").await;
    let refused = text_of(&app, "number-error", "the number refused", "t.length > 0").await;
    assert_eq!(refused, "No phone number has this form in its country: check the digits.");
    app.session().click("#place").await;
    in_dialer(&app, "the number field focused", "return document.activeElement.id === 'number'").await;
    assert!(rig.ctl.requests_to("POST", CALLS).await.is_empty(), "a refused number is never sent");
    assert_eq!(in_dialer(&app, "the task kept", "return document.getElementById('task').value").await, json!(task));

    // -- placed: the live status while the server works (it answers when the call ends), then
    //    the result, once
    type_into(&app, "number", "+34911222333").await;
    type_into(&app, "business", CLINIC).await;
    text_of(&app, "number-hint", "the corrected number checked", "t === 'KallyAI will call +34 911 22 23 33.'").await;
    rig.ctl.fault(&Fault::new(CALLS, "latency").method("POST").latency_ms(3000).count(1)).await;
    app.session().click("#place").await;
    let live = text_of(&app, "call-status", "the live status", "t.startsWith('Placing the call')").await;
    assert!(live.starts_with("Placing the call… 0:0"), "{live}");
    let heading = text_of(&app, "call-heading", "the heading", "t.length > 0").await;
    assert_eq!(heading, format!("Calling {CLINIC}"));
    let result_hidden =
        app.session().execute("return document.getElementById('call-result').offsetParent === null").await;
    assert_eq!(result_hidden, json!(true), "no empty result while the call is being placed");
    common::screenshot(&rig.out.join("placing.png"));
    let done = text_of(&app, "call-status", "the call's result", "t === 'The call went through.'").await;
    assert_eq!(done, "The call went through.");
    let placed = calls_about(&rig, "+34911222333", task).await;
    assert_eq!(placed.len(), 1, "placed once: {placed:#?}");
    assert_eq!(rig.ctl.requests_to("POST", CALLS).await.len(), 1, "sent once");
    let highlights =
        in_dialer(&app, "the highlights", "return document.getElementById('result-highlights').textContent").await;
    assert_eq!(highlights, placed[0]["highlights"], "the result is the server's");

    // -- the transcript on demand, lines labelled KallyAI and the business
    app.session().click("#show-transcript").await;
    let lines = in_dialer(
        &app,
        "the transcript",
        "const lines = [...document.querySelectorAll('#transcript li')].map((li) => li.textContent);
         return lines.length >= 2 && lines",
    )
    .await;
    let lines: Vec<String> = serde_json::from_value(lines).expect("lines");
    assert!(lines[0].starts_with(&format!("{CLINIC}: ")), "{lines:?}");
    assert!(lines[1].starts_with("KallyAI: ") && lines[1].contains(task), "{lines:?}");
    std::fs::write(readme_screenshot("dialer.png"), app.session().screenshot().await).expect("dialer screenshot");

    // -- and in Activity
    app.session().click("#open-activity").await;
    window_on_screen("Activity").await;
    let session = app.session();
    assert!(session.switch_to_page("activity.html").await, "the activity window exists");
    wait::until("the placed call listed in Activity", SOON, || async {
        let text = session.execute("return document.body.textContent").await;
        text.as_str().is_some_and(|t| t.contains(CLINIC) && t.contains(task)).then_some(())
    })
    .await;
    rig.finish(app).await;
}

// The app is killed while the call is out (the server is still working on it); started again,
// it looks for the call before sending anything, places it once, and shows the result.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_out_when_the_app_is_killed_is_placed_once_after_a_restart() {
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let rig = Rig::new("dialer-restart").await;
    let (app, _item) = signed_in_app::start_signed_in(&rig.out, "app", &rig.url).await;
    let task = "Ask whether the car will be ready by Thursday";
    assert!(app.second_launch(&["--call", "+34 911 22 23 44"]).await.status.success());
    window_on_screen(TITLE).await;
    text_of(&app, "number-hint", "the number checked", "t.includes('+34 911 22 23 44')").await;
    type_into(&app, "task", task).await;
    text_of(&app, "estimate", "the cost estimate", "t.includes('credits')").await;
    // The server holds the request far longer than the test lasts: the app dies with it out.
    rig.ctl.fault(&Fault::new(CALLS, "latency").method("POST").latency_ms(120_000).count(1)).await;
    app.session().click("#place").await;
    text_of(&app, "call-status", "the live status", "t.startsWith('Placing the call')").await;
    drop(app); // SIGKILL: no goodbye, as in a crash

    // Started again, it learns the outcome with no window open: a notice says it, and a click on
    // it opens the form on the call.
    notices::close_all();
    let bus = BusMonitor::start().await;
    let clicks = notices::DefaultActionOnClick::take();
    let again = signed_in_app::start(&rig.out, "app-again", &rig.url).await;
    browser_sign_in::wait_signed_in(&again.tray().await).await;
    let outcome = bus.wait_for("the call's outcome notified", SOON, |n| n.summary == "Call to +34 911 22 23 44").await;
    assert!(outcome.body.starts_with("The call went through."), "{outcome:?}");
    assert!(outcome.has_action("default"), "a click opens the form: {outcome:?}");
    wait::until_sync("dunst to show it", SOON, || (notices::displayed() >= 1).then_some(())).await;
    common::screenshot(&rig.out.join("outcome-notice.png"));
    clicks.click();
    drop(clicks);
    window_on_screen(TITLE).await;
    let done =
        text_of(&again, "call-status", "the call's result after the restart", "t === 'The call went through.'").await;
    assert_eq!(done, "The call went through.");
    assert_eq!(calls_about(&rig, "+34911222344", task).await.len(), 1, "placed once across the restart");
    rig.finish(again).await;
}

// Keyboard-only use and screen-reader names in Spanish: the form opened with `--call`, filled
// and placed without the mouse.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dialer_works_by_keyboard_in_spanish() {
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let rig = Rig::new("dialer-es").await;
    let (app, item) = signed_in_app::start_signed_in_spanish(&rig.out, "app", &rig.url).await;
    assert!(item.labels().iter().any(|l| l == "Llamar a alguien…"), "the tray offers the form: {:?}", item.labels());
    assert!(app.second_launch(&["--call", "+34 911 22 23 55"]).await.status.success());
    let title = "Llamar a alguien";
    window_on_screen(title).await;
    text_of(&app, "number-hint", "the number checked", "t.includes('+34 911 22 23 55')").await;
    let found = a11y::keyboard_and_labels(&app, "dialer.html", title, "es").await;
    let strings = a11y::strings("es");
    assert!(found["labels"].as_array().expect("labels").contains(&strings["dialer.task"]), "{found:#}");

    // By keyboard: the task typed into the focused field, then Enter on "Llamar".
    let task = "Preguntar si tienen mesa para cuatro el sábado";
    app.session().execute("document.getElementById('task').focus(); return true;").await;
    common::ask_box::type_text(task);
    // The keys reach the page after xdotool returns: the estimate counts once the whole task is in
    // (a cost shown for part of it is cleared by the next key).
    let typed = format!("return document.getElementById('task').value === {task:?} ? 'typed' : ''");
    in_dialer(&app, "the whole task typed", &typed).await;
    text_of(&app, "estimate", "the Spanish estimate", "t.includes('créditos')").await;
    app.session().execute("document.getElementById('place').focus(); return true;").await;
    common::ask_box::keys(&["Return"]);
    let done = text_of(&app, "call-status", "the result in Spanish", "t === 'La llamada se completó.'").await;
    assert_eq!(done, "La llamada se completó.");
    assert_eq!(calls_about(&rig, "+34911222355", task).await.len(), 1);
    std::fs::write(readme_screenshot("dialer-es.png"), app.session().screenshot().await).expect("dialer-es screenshot");
    rig.finish(app).await;
    // After the app is gone: it writes its settings back as it quits.
    signed_in_app::forget_settings();
}
