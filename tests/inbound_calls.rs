//! Inbound calls end to end (issue 8), on the real headless desktop of `scripts/with-desktop`:
//! the real app against a real sim, its notifications on the session bus as dunst gets them,
//! actions invoked through dunst, the tray read over D-Bus, the call popup read through WebDriver.
//! Every scenario runs twice: with the sim's event stream (the watcher follows it) and with the
//! stream switched off before the app starts (the watcher polls).

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::browser_sign_in::{self, test_browser};
use common::launcher::{App, Launched};
use common::notification_bus::{self as notices, BusMonitor, Notified};
use common::{
    demo, output_dir, profile, readme_screenshot, require_desktop, screenshot, signed_in_app, tray, tray_icon, wait,
    x11, ONE_APP_AT_A_TIME,
};
use kallyai_sim::client::{self, Control, Fault, Ring, Stream};
use serde_json::json;

/// How the watcher learns about calls.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Events {
    Stream,
    Polling,
    /// The better path broken as production-like servers break it: `stream/info` answers 500.
    StreamInfoFails,
    /// `stream/info` says enabled, but the events route answers its JSON activity log.
    JsonLogOnly,
}

/// Generous: polling finds a new call within the idle cadence (15 s), plus retries after faults.
const NOTIFIED_WITHIN: Duration = Duration::from_secs(45);

/// One scenario's world: its sim, its output dir, and a monitor on the notification bus.
struct Rig {
    sim: kallyai_sim::SimServer,
    ctl: Control,
    out: PathBuf,
    bus: BusMonitor,
}

impl Rig {
    /// A world with nothing pending, so that the only notifications are the calls under test.
    async fn new(name: &str, events: Events) -> Rig {
        Rig::seeded(name, events, kallyai_sim::Seed::Empty).await
    }

    async fn seeded(name: &str, events: Events, seed: kallyai_sim::Seed) -> Rig {
        require_desktop();
        let out = output_dir(&format!("inbound-{name}-{events:?}").to_lowercase());
        // On this run's profile: on production there is no stream, so `Events::Stream` shows
        // the watcher finding that out and polling.
        let config = profile::sim_config(seed);
        let sim = client::start_local(config).await;
        let ctl = sim.control();
        match events {
            Events::Stream => {}
            Events::Polling => ctl.stream(&Stream::off()).await,
            Events::StreamInfoFails => {
                ctl.fault(&Fault::status("/v1/inbound/stream/info", 500)).await;
            }
            // `stream/info` keeps saying the stream is there, but the events route answers its
            // JSON log even to `Accept: text/event-stream` (as production's documented log does).
            Events::JsonLogOnly => ctl.stream(&Stream::on().sse(false)).await,
        }
        // Leftovers of an earlier scenario would take dunst's position 0.
        notices::close_all();
        let bus = BusMonitor::start().await;
        Rig { sim, ctl, out, bus }
    }

    fn url(&self) -> String {
        self.sim.url()
    }

    /// Starts the app (not under WebDriver) with the test browser, logging to `<out>/<name>.log`.
    fn start_app(&self, name: &str) -> App {
        let vars = [test_browser(), ("KALLYAI_LOG", "debug".to_string())];
        App::start(&self.out, name, &vars, &["--api-base", &self.url()])
    }

    /// The app, signed in through the tray and the browser.
    async fn signed_in_app(&self) -> (App, tray::TrayItem) {
        let app = self.start_app("first-run");
        let item = tray::wait_for_item(app.pid()).await;
        browser_sign_in::sign_in(&item).await;
        (app, item)
    }

    /// Waits for the one ringing notification of `caller` (not a replacement).
    async fn ringing(&self, caller: &str) -> Notified {
        let what = format!("a notification for the call from {caller}");
        self.bus.wait_for(&what, NOTIFIED_WITHIN, |n| n.replaces == 0 && n.mentions(caller)).await
    }

    async fn finish(self) {
        self.sim.shutdown().await;
    }
}

/// A call that stays live (no script) until the test ends it.
fn live_ring(caller_name: &str) -> Ring {
    Ring::new("+15550100200")
        .caller_name(caller_name)
        .summary(&format!("{caller_name} wants to move Thursday's appointment"))
        .no_script()
        .line_interval_ms(1500)
}

/// The app's tray, quit from its menu, as a user quits it.
async fn quit(mut app: App, item: &tray::TrayItem) {
    item.click("Quit");
    let status = app.exit_status(Duration::from_secs(10)).await;
    assert_eq!(status.code(), Some(0), "exit status after Quit");
}

fn assert_ringing_notice(n: &Notified, caller: &str) {
    assert!(n.summary.contains(caller), "the caller in the title: {n:?}");
    assert!(n.has_action("takeover") && n.has_action("reject"), "Take over and Reject: {n:?}");
    let labels: Vec<&str> = n.actions.iter().map(|(_, l)| l.as_str()).collect();
    assert!(labels.contains(&"Take over") && labels.contains(&"Reject"), "action labels: {labels:?}");
}

// ---------------------------------------------------------------------------------------------
// 1. A ringing call: one notification with both actions; Take over / Reject from the
//    notification reach the sim exactly once and the notification then says what happened.

async fn take_over_and_reject_from_the_notification(events: Events) {
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let rig = Rig::new("actions", events).await;
    let (app, item) = rig.signed_in_app().await;

    let steps = [
        ("Ada Lovelace", "takeover", "You took over the call from Ada Lovelace. Pick up your phone."),
        ("Alan Turing", "reject", "The call from Alan Turing was rejected."),
    ];
    for (caller, action, outcome) in steps {
        let call_id = rig.ctl.ring(&live_ring(caller)).await;
        let ringing = rig.ringing(caller).await;
        assert_ringing_notice(&ringing, caller);
        assert_eq!(rig.bus.notified_with(caller).len(), 1, "one notification for the call");
        wait::until_sync("dunst to show the notification", Duration::from_secs(10), || {
            (notices::displayed() == 1).then_some(())
        })
        .await;
        if action == "takeover" && events == Events::Stream {
            screenshot(&readme_screenshot("notification-call.png"));
        }

        match action {
            "takeover" => notices::invoke_takeover(),
            _ => notices::invoke_from_menu("Reject"),
        }
        let outcome_notice = rig
            .bus
            .wait_for(&format!("the outcome of '{action}' in the notification"), Duration::from_secs(20), |n| {
                n.body == outcome
            })
            .await;
        assert_eq!(outcome_notice.replaces, ringing.id, "the outcome replaces the call's notification");
        assert!(outcome_notice.actions.is_empty(), "an outcome offers no more actions: {outcome_notice:?}");
        let sent = rig.ctl.requests_to("POST", &format!("/v1/inbound/calls/{call_id}/{action}")).await;
        assert_eq!(sent.len(), 1, "exactly one {action} request reached the sim: {sent:?}");
        assert_eq!(sent[0]["status"], 200, "the sim accepted the {action}");
        assert!(rig.bus.invoked().contains(&(ringing.id, action.to_string())), "dunst invoked {action}");
        // Nothing else on screen: the replacement took the call notification's place.
        assert_eq!(notices::displayed(), 1, "the outcome shows in place of the call notification");
        notices::close_all();
    }
    let calls_requests = rig.ctl.requests().await;
    let actions_sent = calls_requests
        .iter()
        .filter(|r| {
            r["method"] == "POST"
                && r["path"].as_str().is_some_and(|p| p.ends_with("/takeover") || p.ends_with("/reject"))
        })
        .count();
    assert_eq!(actions_sent, 2, "no repeated action requests");
    quit(app, &item).await;
    rig.finish().await;
}

// ---------------------------------------------------------------------------------------------
// 2 + 3. The popup (opened from the notification) shows the transcript as it grows, in order,
//    without a reload; when the caller hangs up the notification is withdrawn and the popup
//    says how the call ended.

async fn popup_follows_the_call_until_it_ends(events: Events) {
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let rig = Rig::new("popup", events).await;
    let (key, browser) = test_browser();
    let vars = [(key, browser), ("KALLYAI_LOG", "debug".to_string())];
    let url = rig.url();
    let app = Launched::start(&rig.out, "app", &vars, &["--api-base", &url]).await;
    let item = app.tray().await;
    browser_sign_in::sign_in(&item).await;

    // A clinic moving an appointment, as the receptionist hears it; the popup names the sides
    // "KallyAI" and the caller.
    let said = [
        "Hello, you have reached Alex's assistant. How can I help?",
        "Hi, this is Grace from Riverside Dental, about Alex's appointment on Thursday.",
        "Thanks, Grace. What would you like to change?",
        "Dr. Ruiz is out on Thursday. Could we move it to Friday at ten?",
        "Friday at ten is free in Alex's calendar.",
        "Great. Shall I book it, then?",
        "Alex confirms changes himself: I will ask him to call you back today.",
        "A call back is fine, on the number I am calling from.",
        "Noted: Friday at ten with Dr. Ruiz, and a call back to confirm.",
        "Perfect, thank you.",
        "Thank you, Grace. Have a good day.",
        "You too. Bye!",
    ];
    let script: Vec<(String, String)> = said
        .iter()
        .enumerate()
        .map(|(i, line)| (if i % 2 == 0 { "AI" } else { "HUMAN" }.to_string(), line.to_string()))
        .collect();
    let expected: Vec<String> =
        script.iter().map(|(s, c)| format!("{}: {c}", if s == "AI" { "KallyAI" } else { "Grace Hopper" })).collect();
    let ring = Ring::new("+15550100777")
        .caller_name("Grace Hopper")
        .summary("Wants to move Thursday's appointment to Friday")
        .transcript(script)
        .line_interval_ms(1500);
    let clicks = notices::DefaultActionOnClick::take();
    let call_id = rig.ctl.ring(&ring).await;
    let ringing = rig.ringing("Grace Hopper").await;
    wait::until_sync("dunst to show the notification", Duration::from_secs(10), || {
        (notices::displayed() == 1).then_some(())
    })
    .await;

    // A click on the notification opens the popup.
    clicks.click();
    drop(clicks);
    wait::until_sync("the call popup on screen", Duration::from_secs(15), || {
        x11::window_viewable("Incoming call").then_some(())
    })
    .await;
    let session = app.session();
    assert!(session.switch_to_page("call.html").await, "the call popup exists");
    // Marks this page load: a reload would lose it.
    session.execute("window.__loadMark = 'same page'; return true").await;
    let read_lines = || async {
        let v = session
            .execute("return Array.from(document.querySelectorAll('#transcript li')).map(li => li.textContent)")
            .await;
        v.as_array().into_iter().flatten().filter_map(|s| s.as_str().map(String::from)).collect::<Vec<String>>()
    };
    // Watch the list grow: every reading is the start of the script, and it grows step by step.
    let mut sizes = Vec::new();
    let mut polling = wait::Polling::new(Duration::from_secs(40));
    loop {
        polling.tick().await;
        let lines = read_lines().await;
        assert!(lines.len() <= expected.len(), "more lines than the call had: {lines:#?}");
        assert_eq!(lines[..], expected[..lines.len()], "transcript lines in order, each once");
        if sizes.last() != Some(&lines.len()) {
            sizes.push(lines.len());
        }
        if lines.len() >= 6 && sizes.len() >= 3 {
            break;
        }
        assert!(!polling.expired(), "the transcript did not grow: sizes seen {sizes:?}");
    }
    let caller = session.text_of("#caller").await.unwrap_or_default();
    assert_eq!(caller, "Grace Hopper");
    // Who, how long, and the actions and the newest line in view as the transcript grows.
    let head = session
        .execute(
            "const inView = (el) => { const r = el.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; };
             const lines = document.querySelectorAll('#transcript li');
             return [document.getElementById('initials').textContent, document.getElementById('elapsed').textContent,
                     inView(document.getElementById('takeover')), inView(lines[lines.length - 1])];",
        )
        .await;
    assert_eq!(head[0], "GH", "the caller's initials: {head}");
    assert!(
        head[1].as_str().is_some_and(|e| e.len() >= 4 && e.contains(':')),
        "how long the call has been screened: {head}"
    );
    assert_eq!(
        (head[2].as_bool(), head[3].as_bool()),
        (Some(true), Some(true)),
        "actions and the newest line in view: {head}"
    );
    if events == Events::Stream {
        screenshot(&readme_screenshot("call-popup.png"));
    }
    assert_eq!(session.execute("return window.__loadMark").await, "same page", "the popup was not reloaded");

    // The caller hangs up: the notification is withdrawn, the popup says how it ended.
    rig.ctl.end_call(&call_id, Some("missed")).await;
    wait::until_sync("the call notification to be withdrawn", Duration::from_secs(30), || {
        rig.bus.closed_by_app().contains(&ringing.id).then_some(())
    })
    .await;
    let ended = wait::until("the popup to say how the call ended", Duration::from_secs(15), || async {
        let v =
            session.execute("const e = document.getElementById('ended'); return e.hidden ? '' : e.textContent").await;
        v.as_str().filter(|s| !s.is_empty()).map(String::from)
    })
    .await;
    assert_eq!(ended, "The call was missed.");
    // What the user sees: the buttons are gone (not merely marked hidden).
    let actions_shown =
        session.execute("return getComputedStyle(document.getElementById('actions')).display !== 'none'").await;
    assert_eq!(actions_shown, false, "no Take over / Reject / Transfer buttons on an ended call");
    assert_eq!(session.execute("return window.__loadMark").await, "same page", "the popup was not reloaded");
    wait::until_sync("the tray to drop the call", Duration::from_secs(15), || {
        (!item.labels().iter().any(|l| l.starts_with("Call from"))).then_some(())
    })
    .await;
    app.quit().await;
    rig.finish().await;
}

// ---------------------------------------------------------------------------------------------
// 4. Fault storm: about 10 % of the watcher's requests fail, in every way the sim can fail; 20
//    rings still give exactly 20 notifications. With the stream, it is also cut mid-call.

async fn fault_storm_notifies_every_call_once(events: Events) {
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let rig = Rig::new("storm", events).await;
    let (app, item) = rig.signed_in_app().await;

    let kinds = |route: &str| {
        [
            Fault::status(route, 500),
            Fault::status(route, 503),
            Fault::new(route, "rate_limit").retry_after_secs(1),
            Fault::new(route, "drop_before"),
            Fault::new(route, "drop_after"),
            Fault::new(route, "malformed"),
            Fault::new(route, "slow_body").latency_ms(20),
            Fault::new(route, "latency").latency_ms(1500),
        ]
    };
    // Two routes x eight kinds at 0.65 % each: about one request in ten fails.
    for route in ["/v1/inbound/*", "/v1/notifications/*"] {
        for fault in kinds(route) {
            rig.ctl.fault(&fault.probability(0.0065)).await;
        }
    }

    let callers: Vec<String> = (1..=20).map(|i| format!("Storm caller {i:02}")).collect();
    let mut ids = Vec::new();
    let mut rung = Vec::new();
    for (i, caller) in callers.iter().enumerate() {
        ids.push(rig.ctl.ring(&live_ring(caller)).await);
        // Rings overlap: the previous call ends only once this one is live and it was notified.
        if i > 0 {
            rung.push(rig.ringing(&callers[i - 1]).await);
            rig.ctl.end_call(&ids[i - 1], Some("completed")).await;
        }
        if i == 10 && events == Events::Stream {
            // Cut the stream mid-call (open streams end), then offer it again.
            rig.ctl.stream(&Stream::off()).await;
            rig.ctl.stream(&Stream::on()).await;
        }
    }
    rung.push(rig.ringing(&callers[19]).await);
    rig.ctl.end_call(&ids[19], Some("completed")).await;

    // Every call ends, so every notification is withdrawn: the watcher has seen each end.
    wait::until_sync("all 20 notifications to be withdrawn", Duration::from_secs(120), || {
        let closed = rig.bus.closed_by_app();
        rung.iter().all(|n| closed.contains(&n.id)).then_some(())
    })
    .await;
    let storm: Vec<Notified> = rig.bus.notified_with("Storm caller").into_iter().filter(|n| n.replaces == 0).collect();
    for caller in &callers {
        let mine = storm.iter().filter(|n| n.summary.contains(caller.as_str())).count();
        assert_eq!(mine, 1, "{caller}: notified {mine} times");
    }
    assert_eq!(storm.len(), 20, "exactly 20 call notifications");
    let served = rig.ctl.requests().await;
    let faulted = served.iter().filter(|r| !r["fault"].is_null()).count();
    eprintln!("storm ({events:?}): {faulted} of {} requests faulted", served.len());
    if events == Events::Polling {
        // Polling makes dozens of requests here (the stream only a few, so it may see none).
        assert!(faulted > 0, "the storm hit the watcher");
    }
    rig.ctl.clear_faults().await;
    quit(app, &item).await;
    rig.finish().await;
}

// ---------------------------------------------------------------------------------------------
// 5. A restart during a live call: no second notification; the tray still rings.

async fn restart_during_a_live_call(events: Events) {
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let rig = Rig::new("restart", events).await;
    let (app, item) = rig.signed_in_app().await;
    let idle = wait::until_sync("the idle tray icon", Duration::from_secs(10), || tray_icon::picture(app.pid())).await;

    let caller = "Katherine Johnson";
    let call_entry = format!("Call from {caller}…");
    let call_id = rig.ctl.ring(&live_ring(caller)).await;
    rig.ringing(caller).await;
    wait::until_sync("the call in the tray menu", Duration::from_secs(15), || {
        item.labels().contains(&call_entry).then_some(())
    })
    .await;
    let ringing_icon = wait::until_sync("the ringing tray icon", Duration::from_secs(15), || {
        tray_icon::picture(app.pid()).filter(|p| *p != idle)
    })
    .await;
    quit(app, &item).await;

    let again = rig.start_app("second-run");
    let item = tray::wait_for_item(again.pid()).await;
    browser_sign_in::wait_signed_in(&item).await;
    wait::until_sync("the live call back in the tray menu", Duration::from_secs(NOTIFIED_WITHIN.as_secs()), || {
        item.labels().contains(&call_entry).then_some(())
    })
    .await;
    wait::until_sync("the tray icon ringing again", Duration::from_secs(15), || {
        (tray_icon::picture(again.pid()).as_ref() == Some(&ringing_icon)).then_some(())
    })
    .await;
    assert_eq!(rig.bus.notified_with(caller).len(), 1, "no second notification after the restart");

    // The call ends: the tray stops ringing; still one notification in all.
    rig.ctl.end_call(&call_id, Some("completed")).await;
    wait::until_sync("the tray icon idle again", Duration::from_secs(NOTIFIED_WITHIN.as_secs()), || {
        (tray_icon::picture(again.pid()).as_ref() == Some(&idle)).then_some(())
    })
    .await;
    assert!(!item.labels().contains(&call_entry), "the ended call left the menu");
    assert_eq!(rig.bus.notified_with(caller).len(), 1, "no second notification after the restart");
    quit(again, &item).await;
    rig.finish().await;
}

// ---------------------------------------------------------------------------------------------
// 7. A pending approval (the demo's goal waiting for step approval) is notified once, and
//    approving it from the notification reaches the sim.

async fn pending_approval_from_the_notification(events: Events) {
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let rig = Rig::seeded("pending", events, kallyai_sim::Seed::Demo).await;
    let pending = rig.ctl.api_get("/v1/notifications/pending").await;
    let goal = &pending["goals"]["items"][0];
    let (goal_id, title) = (goal["id"].as_str().expect("goal id"), goal["title"].as_str().expect("goal title"));
    let (app, item) = rig.signed_in_app().await;

    let notice = rig
        .bus
        .wait_for("the goal's approval notification", NOTIFIED_WITHIN, |n| n.replaces == 0 && n.mentions(title))
        .await;
    assert!(notice.has_action("approve_step"), "an Approve action: {notice:?}");
    notices::invoke_from_menu("Approve (");
    let approved = format!("/v1/coordination/goals/{goal_id}/approve-step");
    let sent = wait::until("the approval to reach the sim", Duration::from_secs(20), || async {
        Some(rig.ctl.requests_to("POST", &approved).await).filter(|r| !r.is_empty())
    })
    .await;
    assert_eq!(sent.len(), 1, "exactly one approval: {sent:?}");
    assert_eq!(sent[0]["status"], 200, "the sim accepted the approval");
    let outcome = rig
        .bus
        .wait_for("the outcome in the notification's place", Duration::from_secs(20), |n| {
            n.replaces == notice.id && n.body.starts_with("Step approved")
        })
        .await;
    assert!(outcome.actions.is_empty(), "nothing more to do: {outcome:?}");
    let for_goal: Vec<Notified> = rig.bus.notified_with(title).into_iter().filter(|n| n.replaces == 0).collect();
    assert_eq!(for_goal.len(), 1, "the approval was notified once: {for_goal:?}");
    quit(app, &item).await;
    rig.finish().await;
}

// ---------------------------------------------------------------------------------------------
// 8. A popup that comes up by itself (alert mode "popup") never takes the keyboard: the user
//    typing in another window when a call arrives keeps typing there, and their `t` and `r`
//    reach what they were typing in, never the call (issue 17, acceptance 3).

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_popup_never_takes_the_keyboard() {
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let rig = Rig::new("focus", Events::Stream).await;
    // As on a user's desktop, a window manager decides who has the keyboard.
    let _wm = x11::WindowManager::start().await;
    signed_in_app::use_settings(json!({"call_alert": "popup"}));
    let (key, browser) = test_browser();
    let app = Launched::start(&rig.out, "app", &[(key, browser)], &["--api-base", &rig.url()]).await;
    let item = app.tray().await;
    browser_sign_in::sign_in(&item).await;

    // The user is typing in the quick-ask box.
    assert!(app.second_launch(&["--ask"]).await.status.success());
    wait::until_sync("the box on screen", Duration::from_secs(15), || {
        x11::window_viewable("Ask KallyAI").then_some(())
    })
    .await;
    common::run("xdotool", &["search", "--name", "^Ask KallyAI$", "windowfocus", "--sync"]);
    let session = app.session();
    assert!(session.switch_to_page("ask.html").await, "the box exists");
    session.execute("document.getElementById('ask-input').focus(); return true;").await;
    common::ask_box::type_text("Book a ");

    let first = rig.ctl.ring(&live_ring("Trent")).await;
    wait::until_sync("the call popup on screen", NOTIFIED_WITHIN, || {
        x11::window_viewable("Incoming call").then_some(())
    })
    .await;
    assert_eq!(x11::focused_window_title(), "Ask KallyAI", "the popup came up without the keyboard");
    // A second call while the popup is open: it switches to it, and still leaves the keyboard.
    let call_id = rig.ctl.ring(&live_ring("Mallory")).await;
    demo::in_page(
        &app,
        "call.html",
        "the popup on the second call",
        "return document.getElementById('caller').textContent.includes('Mallory')",
    )
    .await;
    assert_eq!(x11::focused_window_title(), "Ask KallyAI", "the popup took the keyboard");
    common::ask_box::type_text("table for tr");
    assert!(session.switch_to_page("ask.html").await, "the box exists");
    let typed = wait::until("the keys in the box", Duration::from_secs(10), || async {
        let value = session.execute("return document.getElementById('ask-input').value").await;
        (value == json!("Book a table for tr")).then_some(value)
    })
    .await;
    assert_eq!(typed, json!("Book a table for tr"));
    assert_eq!(x11::focused_window_title(), "Ask KallyAI");
    for action in ["takeover", "reject"] {
        let sent = rig.ctl.requests_to("POST", &format!("/v1/inbound/calls/{call_id}/{action}")).await;
        assert!(sent.is_empty(), "a key typed elsewhere acted on the call: {action} {sent:?}");
    }
    // The call goes on, and the popup still offers what it offers.
    assert!(session.switch_to_page("call.html").await, "the popup exists");
    let offered = session.execute("return !document.getElementById('takeover').disabled").await;
    assert_eq!(offered, json!(true));

    rig.ctl.end_call(&call_id, Some("completed")).await;
    rig.ctl.end_call(&first, Some("completed")).await;
    app.quit().await;
    rig.finish().await;
    signed_in_app::forget_settings();
}

/// Each scenario with the event stream and with polling (the stream off in the sim).
macro_rules! in_both_modes {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn stream() {
                super::$scenario(super::Events::Stream).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn polling() {
                super::$scenario(super::Events::Polling).await
            }
        }
    )*};
}

/// Whatever `stream/info` and the events route answer, a ring is notified once and can be
/// acted on: the watcher falls back to polling (issue 13, acceptance 2, end to end).
mod broken_stream {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn stream_info_fails() {
        super::take_over_and_reject_from_the_notification(super::Events::StreamInfoFails).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn events_answer_json() {
        super::take_over_and_reject_from_the_notification(super::Events::JsonLogOnly).await
    }
}

in_both_modes!(
    take_over_and_reject_from_the_notification,
    popup_follows_the_call_until_it_ends,
    fault_storm_notifies_every_call_once,
    restart_during_a_live_call,
    pending_approval_from_the_notification,
);
