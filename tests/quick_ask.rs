//! Quick ask end to end (issue 7), on the real headless desktop of `scripts/with-desktop`: the
//! real app under WebDriver (its box's DOM is read there), signed in through the tray with the
//! test browser, a real sim for each test, the hotkey and the typing sent as X key presses
//! (xdotool), second launches and `kallyai://` links through xdg-open.
//!
//! Run: `scripts/with-desktop cargo test -p kallyai-desktop --test quick_ask -- --test-threads=1`.
//! The outbox's own logic (FIFO, keys, backoff) is covered by core's tests; here the user's view.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::appearance::{set_scheme, wait_for_scheme, LightAgain, Scheme};
use common::ask_box::{self, AskBox};
use common::browser_sign_in::{self, wait_for_link_handler};
use common::credits_line::expected_tray_line;
use common::launcher::{KillOnDrop, Launched};
use common::{output_dir, profile, readme_screenshot, require_desktop, signed_in_app, wait, x11, ONE_APP_AT_A_TIME};
use kallyai_sim::client::{self, Control, Fault};
use kallyai_sim::{Seed, SimServer};
use serde_json::{json, Value};

/// One test's world: its sim and where its files go.
struct World {
    sim: SimServer,
    url: String,
    ctl: Control,
    out: PathBuf,
}

/// The path of an ask (`POST`), in the sim's request log.
const MESSAGE_PATH: &str = "/v1/coordination/message";

impl World {
    /// A sim with an empty account (no earlier conversations or goals) and no outbox left over
    /// from an earlier test.
    async fn new(name: &str) -> World {
        // The app appends to its log: start from an empty output dir, so a test reads only its own run.
        let _ = std::fs::remove_dir_all(output_dir(name));
        let out = output_dir(name);
        ask_box::remove_outbox();
        // On this run's profile (`KALLYAI_TEST_PROFILE`, see common/profile.rs).
        let config = profile::sim_config(Seed::Empty);
        let sim = client::start_local(config).await;
        World { ctl: sim.control(), url: sim.url(), sim, out }
    }

    async fn start_app(&self, name: &str) -> Launched {
        signed_in_app::start(&self.out, name, &self.url).await
    }

    /// Starts the app and signs in through the tray, as a user does the first time, then closes
    /// the sign-in window that says who is signed in.
    async fn signed_in_app(&self, name: &str) -> Launched {
        let app = signed_in_app::start_signed_in(&self.out, name, &self.url).await.0;
        let session = app.session();
        assert!(session.switch_to_page("signin.html").await, "the sign-in window exists");
        let closed = wait::holds_within(Duration::from_secs(20), || async {
            let clicked = session
                .try_execute("const b = document.getElementById('close'); if (!b || b.offsetParent === null) return false; b.click(); return true;")
                .await;
            // The click closes, and so destroys, the window: its answer may be lost with it.
            clicked.map_or_else(|_| !x11::window_viewable("Sign in to KallyAI"), |v| v == Value::Bool(true))
        })
        .await;
        if !closed {
            let seen = session
                .execute("return [location.pathname, document.visibilityState, [...document.querySelectorAll('section.face')].filter(f => !f.hidden).map(f => f.id).join(',')]")
                .await;
            panic!("no Close button in the sign-in window within 20 s; the page showed {seen}");
        }
        wait::until_sync("the sign-in window to close", Duration::from_secs(10), || {
            (!x11::window_viewable("Sign in to KallyAI")).then_some(())
        })
        .await;
        app
    }

    async fn end(self) {
        self.sim.shutdown().await;
    }

    /// Every ask the sim received (including refused and faulted ones), oldest first.
    async fn asks(&self) -> Vec<Value> {
        self.ctl.requests_to("POST", MESSAGE_PATH).await
    }

    /// The asks whose handler ran (not stopped by a fault before it): answered, refused, or
    /// answered and then cut off (`drop_after`).
    async fn handled_asks(&self) -> Vec<Value> {
        self.asks().await.into_iter().filter(|r| r["fault"].is_null() || r["fault"] == "drop_after").collect()
    }

    /// The conversations on the server, newest first as the API lists them.
    async fn conversations(&self) -> Vec<Value> {
        self.ctl.api_get("/v1/coordination/conversations").await["conversations"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// What the user said in `conversation_id`, in order (the server's history).
    async fn user_messages(&self, conversation_id: &str) -> Vec<String> {
        let history = self.ctl.api_get(&format!("/v1/coordination/history?conversation_id={conversation_id}")).await;
        history["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| m["role"] == "user")
            .filter_map(|m| m["content"].as_str().map(String::from))
            .collect()
    }
}

/// Summons the box with the global hotkey, as from any other app.
fn hotkey() {
    ask_box::keys(&["ctrl+alt+k"]);
}

fn conversation_ids(asks: &[Value]) -> Vec<Option<String>> {
    asks.iter().map(|r| r["conversation_id"].as_str().map(String::from)).collect()
}

// 1. Hotkey → box with the input focused; Enter asks; Esc hides; the conversation continues
//    until "New conversation".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hotkey_ask_reply_escape_and_conversations() {
    require_desktop();
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let world = World::new("quick-ask-hotkey").await;
    let app = world.signed_in_app("app").await;
    let ask = AskBox::of(&app).await;
    assert!(!ask.on_screen(), "the box starts hidden");

    hotkey();
    ask.wait_focused().await;
    ask.mark_page().await;
    // A bar before anything is asked; taller with a reply; a bar again for a new conversation
    // (issue 18, acceptance 4).
    let bar = box_height("the box as a bar", |h| h < 200).await;

    let first = "What can you do?";
    ask.ask(first).await;
    let state = ask.wait_reply_to(first).await;
    box_height("the box grown for the reply", |h| h > bar + 60).await;
    let input_top = ask.execute("return document.getElementById('ask-input').getBoundingClientRect().top").await;
    assert!(input_top.as_f64().is_some_and(|t| t < 20.0), "the input stays at the top: {input_top}");
    assert_eq!(
        state["reply"],
        "I can make phone calls, book restaurants and appointments, draft and send emails, and search for services.",
        "the sim's reply, shown in place: {state:#}"
    );
    assert_eq!(state["input"], "", "the input is cleared once the ask is saved");
    assert_eq!(state["queue"], json!([]), "nothing left waiting");
    assert!(state["suggestions"].as_array().is_some_and(|s| !s.is_empty()), "suggestions as buttons");
    ask.screenshot(&readme_screenshot("quick-ask-reply.png")).await;

    // Esc puts the box away; the hotkey brings it back with the input focused and the reply kept.
    ask_box::keys(&["Escape"]);
    ask.wait_on_screen(false).await;
    hotkey();
    ask.wait_focused().await;

    let second = "Hello there";
    ask.ask(second).await;
    ask.wait_reply_to(second).await;
    let asks = world.asks().await;
    assert_eq!(asks.len(), 2, "{asks:#?}");
    let conversations = world.conversations().await;
    assert_eq!(conversations.len(), 1, "both asks in one conversation: {conversations:#?}");
    let conversation = conversations[0]["id"].as_str().expect("conversation id").to_string();
    // Every ask names its conversation (the box creates it before the first ask), so an ask
    // whose answer is lost can be read back from it.
    assert_eq!(
        conversation_ids(&asks),
        vec![Some(conversation.clone()), Some(conversation.clone())],
        "the second ask continues the first"
    );

    // "New conversation" starts another.
    ask.click("footer", "New conversation").await;
    ask.until("the answer cleared for a new conversation", |s| (s["answer_shown"] == false).then_some(())).await;
    // The box fits itself once a frame: the first height seen after the click can still be the
    // second reply's, so this waits for the bar itself.
    box_height("the box back to the bar it was", |h| h == bar).await;
    let third = "What can you do now?";
    ask.ask(third).await;
    ask.wait_reply_to(third).await;
    let asks = world.asks().await;
    assert_eq!(asks.len(), 3);
    let conversations = world.conversations().await;
    assert_eq!(conversations.len(), 2, "a second conversation on the server");
    let newer = conversations.iter().filter_map(|c| c["id"].as_str()).find(|id| *id != conversation);
    assert_eq!(asks[2]["conversation_id"].as_str(), newer, "the third ask is in the new one: {asks:#?}");
    assert!(ask.same_page().await, "the box never reloaded");

    // Shift+Enter is a new line, not a send.
    ask_box::type_text("first line");
    ask_box::keys(&["shift+Return"]);
    ask_box::type_text("second line");
    ask.until("two lines in the input", |s| (s["input"] == "first line\nsecond line").then_some(())).await;
    assert_eq!(world.asks().await.len(), 3, "Shift+Enter sent nothing");
    // An arrow key never replaces text being typed.
    ask_box::keys(&["Up", "Up"]);
    ask.until("the typed lines kept", |s| (s["input"] == "first line\nsecond line").then_some(())).await;
    ask_box::keys(&["ctrl+a", "BackSpace"]);
    ask.until("the input emptied", |s| (s["input"] == "").then_some(())).await;

    // Up and Down walk the earlier asks, newest first.
    for (key, expected) in [("Up", third), ("Up", second), ("Down", third), ("Down", "")] {
        ask_box::keys(&[key]);
        ask.until(&format!("{key} to show '{expected}'"), |s| (s["input"] == expected).then_some(())).await;
    }

    // The hotkey toggles: a second press puts it away.
    hotkey();
    ask.wait_on_screen(false).await;

    // Signed out, the earlier asks are no one's to walk through: gone from the box's storage.
    let item = app.tray().await;
    item.click("Sign out");
    ask.until("the box to know it is signed out", |s| s["signed_out_shown"].as_bool().filter(|b| *b).map(drop)).await;
    let stored = ask.execute("return localStorage.getItem('ask.history')").await;
    assert_eq!(stored, Value::Null, "the ask history left with the account");
    app.quit().await;
    world.end().await;
}

// 2. `--ask TEXT` from a second process and `kallyai://ask?q=TEXT` open the box prefilled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ask_flag_and_link_open_the_box_prefilled() {
    require_desktop();
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let world = World::new("quick-ask-prefill").await;
    let app = world.start_app("app").await;
    let ask = AskBox::of(&app).await;
    assert!(!ask.on_screen());

    let text = "Book a table for 2 at Nobu";
    let second = app.second_launch(&["--ask", text]).await;
    assert!(second.status.success(), "second launch: {second:?}");
    ask.wait_on_screen(true).await;
    ask.until("the box prefilled from --ask", |s| (s["input"] == text && s["active"] == "ask-input").then_some(()))
        .await;
    assert_eq!(world.asks().await.len(), 0, "prefilled, not sent");

    ask_box::keys(&["Escape"]);
    ask.wait_on_screen(false).await;

    wait_for_link_handler().await;
    let linked = "Call the dentist tomorrow";
    let mut opener = tokio::process::Command::new("xdg-open")
        .arg("kallyai://ask?q=Call%20the%20dentist%20tomorrow")
        .kill_on_drop(true)
        .spawn()
        .expect("xdg-open");
    let _opener_guard = opener.id().map(KillOnDrop);
    ask.wait_on_screen(true).await;
    ask.until("the box prefilled from the link", |s| (s["input"] == linked).then_some(())).await;
    let opened = tokio::time::timeout(Duration::from_secs(20), opener.wait()).await.expect("xdg-open returns");
    assert!(opened.expect("xdg-open status").success());
    assert_eq!(world.asks().await.len(), 0, "prefilled, not sent");

    // The user makes it theirs; a later link never replaces what they typed, never selects it
    // (a key would replace it), never sends: it is offered beside it.
    ask_box::keys(&["End", "space"]);
    ask_box::type_text("at 9");
    let typed = format!("{linked} at 9");
    ask.until("the user's text in the box", |s| (s["input"] == typed.as_str()).then_some(())).await;
    let later = app.second_launch(&["kallyai://ask?q=Order%20flowers%20for%20Mum"]).await;
    assert!(later.status.success(), "{later:?}");
    let offered = ask
        .until("the link's text offered beside the user's", |s| {
            let shown = s["suggestion"].as_str().unwrap_or("");
            shown.contains("Order flowers for Mum").then_some(s.clone())
        })
        .await;
    assert_eq!(offered["input"], typed.as_str(), "what the user typed is kept: {offered:#}");
    let selection =
        ask.execute("const i = document.getElementById('ask-input'); return i.selectionEnd - i.selectionStart").await;
    assert_eq!(selection, json!(0), "nothing selected");
    assert_eq!(world.asks().await.len(), 0, "a link never sends");
    app.quit().await;
    world.end().await;
}

// 3. An ask that creates a goal shows it; approving its waiting step reaches the sim and the
//    shown status changes without a reload. Also: keyboard reach and labels (accessibility).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_goal_is_shown_and_its_step_approved_from_the_box() {
    require_desktop();
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let world = World::new("quick-ask-goal").await;
    let app = world.signed_in_app("app").await;
    let ask = AskBox::of(&app).await;
    hotkey();
    ask.wait_focused().await;
    ask.mark_page().await;

    let booking = "Book a table for 4 at Nobu tonight";
    ask.ask(booking).await;
    ask.wait_reply_to(booking).await;
    let state = ask
        .until("the goal waiting for step approval", |s| {
            (s["goal_shown"] == true
                && s["goal_actions"].as_array().is_some_and(|a| a.contains(&json!("Approve step"))))
            .then(|| s.clone())
        })
        .await;
    assert_eq!(state["goal_title"], format!("Booking: {booking}"));
    assert_eq!(state["cost_hint"], "", "no cost hint left for an ask already sent: {state:#}");
    let status_before = state["goal_status"].as_str().expect("goal status").to_string();
    assert_eq!(status_before, "needs you", "the status in words: {state:#}");
    assert!(state["goal_steps"].as_array().is_some_and(|steps| steps.len() == 3), "the goal's steps: {state:#}");
    ask.screenshot(&readme_screenshot("quick-ask-goal.png")).await;

    accessibility_basics(&ask).await;

    let goal_id = world.ctl.api_get("/v1/coordination/goals?status=active").await["goals"][0]["id"]
        .as_str()
        .expect("the goal on the server")
        .to_string();
    ask.click("#goal-actions", "Approve step").await;
    let approvals = format!("/v1/coordination/goals/{goal_id}/approve-step");
    wait::until("the approval at the sim", Duration::from_secs(15), || async {
        let done = world.ctl.requests_to("POST", &approvals).await;
        done.iter().any(|r| r["status"] == 200).then_some(())
    })
    .await;
    let after = ask
        .until("the shown status to change", |s| (s["goal_status"] != status_before.as_str()).then(|| s.clone()))
        .await;
    assert!(
        !after["goal_actions"].as_array().is_some_and(|a| a.contains(&json!("Approve step"))),
        "the step is no longer waiting: {after:#}"
    );
    assert_eq!(after["goal_error"], "");
    assert!(ask.same_page().await, "the box never reloaded");
    app.quit().await;
    world.end().await;
}

/// Every button in the box is reached with Tab, in document order; nothing is taken out of the
/// tab order; the reply is a live region; every input has a label.
async fn accessibility_basics(ask: &AskBox<'_>) {
    let page = ask
        .execute(
            r#"const visible = (el) => el.offsetParent !== null && !el.disabled;
               const buttons = [...document.querySelectorAll("button")].filter(visible);
               buttons.forEach((b, i) => (b.dataset.tabTest = String(i)));
               const fields = [...document.querySelectorAll("input, textarea, select")];
               return {
                 buttons: buttons.map((b) => b.textContent),
                 removed_from_tab_order: [...document.querySelectorAll("[tabindex]")]
                   .filter((el) => el.tabIndex < 0).map((el) => el.outerHTML),
                 unlabelled: fields.filter((f) => f.labels.length === 0 && !f.getAttribute("aria-label")
                   && !f.getAttribute("aria-labelledby")).map((f) => f.outerHTML),
                 reply_live: document.getElementById("reply").getAttribute("aria-live"),
               };"#,
        )
        .await;
    assert_eq!(page["removed_from_tab_order"], json!([]), "{page:#}");
    assert_eq!(page["unlabelled"], json!([]), "{page:#}");
    assert_eq!(page["reply_live"], "polite", "the reply is announced: {page:#}");
    let buttons = page["buttons"].as_array().expect("buttons").len();
    assert!(buttons >= 4, "suggestions, goal actions and the footer: {page:#}");

    // Real Tab presses from the input: the focus visits every button once, in document order.
    ask.execute("document.getElementById('ask-input').focus(); return true;").await;
    let focused = "const el = document.activeElement; return el ? (el.dataset.tabTest ?? el.id) : null;";
    let mut reached = Vec::new();
    let mut previous = json!("ask-input");
    for _ in 0..buttons {
        ask_box::keys(&["Tab"]);
        let now = wait::until("the focus to move on with Tab", Duration::from_secs(10), || async {
            let now = ask.execute(focused).await;
            (now != previous).then_some(now)
        })
        .await;
        reached.push(now.clone());
        previous = now;
    }
    let expected: Vec<Value> = (0..buttons).map(|i| json!(i.to_string())).collect();
    assert_eq!(reached, expected, "Tab order over the buttons {:#}", page["buttons"]);
}

// 4. Nothing typed is lost: asks queued while the service fails survive a restart and arrive
//    exactly once, in order, also when the first answer was lost on the way back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_asks_survive_a_restart_and_arrive_exactly_once_in_order() {
    require_desktop();
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let world = World::new("quick-ask-outbox").await;
    let app = world.signed_in_app("app").await;
    world.ctl.fault(&Fault::status("/v1/coordination/*", 503)).await;

    let ask = AskBox::of(&app).await;
    hotkey();
    let asked = ["Find a plumber nearby", "What can you do for me?"];
    for text in asked {
        ask.ask(text).await;
        ask.until(&format!("'{text}' queued"), |s| {
            s["queue"].as_array().is_some_and(|q| q.iter().any(|e| e["text"] == text)).then_some(())
        })
        .await;
    }
    let state = ask
        .until("both asks queued after a failed send", |s| {
            let queue = s["queue"].as_array()?;
            let texts: Vec<&str> = queue.iter().filter_map(|e| e["text"].as_str()).collect();
            let waiting = queue
                .iter()
                .all(|e| e["kind"] == "queued" && e["status"].as_str().is_some_and(|t| t.starts_with("Queued")));
            (texts == asked && waiting).then(|| s.clone())
        })
        .await;
    assert_eq!(state["answer_shown"], false);
    // Each try failed at its first step, making the conversation the asks go to: no ask went out.
    let tried = world.ctl.requests_to("POST", "/v1/coordination/conversations").await;
    assert!(!tried.is_empty() && tried.iter().all(|r| r["fault"] == "status"), "only failed tries so far: {tried:#?}");
    assert_eq!(world.asks().await, Vec::<Value>::new(), "no ask went out while the service failed");
    assert!(ask_box::outbox_on_disk().is_some(), "the outbox is on disk");
    let keys_before_restart = on_disk_keys();

    // Restart: the asks come back from the outbox, still queued while the service fails.
    app.quit().await;
    let app = world.start_app("app-restarted").await;
    browser_sign_in::wait_signed_in(&app.tray().await).await;
    let ask = AskBox::of(&app).await;
    let restored = ask
        .until("both asks queued after the restart", |s| {
            let texts: Vec<&str> = s["queue"].as_array()?.iter().filter_map(|e| e["text"].as_str()).collect();
            (texts == asked).then(|| s["queue"].clone())
        })
        .await;
    // What the box says about them is words, not an error code such as `service_unavailable`.
    for entry in restored.as_array().unwrap() {
        let status = entry["status"].as_str().unwrap_or_default();
        assert!(status.starts_with("Queued") || status.starts_with("Sending"), "{restored:#}");
        assert!(!status.split_whitespace().any(|w| w.contains('_')), "an error code shown to the user: {restored:#}");
    }
    // Each ask got its key when it was queued (kept on disk); every try of it sends that key.
    let keys: Vec<String> = on_disk_keys();
    assert_eq!(keys.len(), 2, "one key per ask: {keys:?}");
    assert_eq!(keys, keys_before_restart, "the keys survive the restart unchanged");
    for r in world.asks().await {
        assert!(keys.iter().any(|k| r["idempotency_key"] == k.as_str()), "a try with another key: {r}");
    }
    // Wait until the restarted app has failed a try and its sender waits (a second or more), so
    // the faults below change between two tries, not during one.
    wait::until_sync("a failed try after the restart", Duration::from_secs(60), || {
        app.log_text().contains("ask stays queued code=\"service_unavailable\"").then_some(())
    })
    .await;

    // The service comes back, but the first answer is lost after the sim handled the ask.
    world.ctl.clear_faults().await;
    world.ctl.fault(&Fault::new(MESSAGE_PATH, "drop_after").count(1)).await;
    hotkey();
    // The sender may be in its backoff (up to some seconds) from the failed tries.
    ask.until_within("both replies, nothing queued", Duration::from_secs(90), &mut |s| {
        (s["queue"].as_array().is_some_and(|q| q.is_empty()) && s["question"] == asked[1]).then_some(())
    })
    .await;

    let handled = world.handled_asks().await;
    let dropped: Vec<&Value> = handled.iter().filter(|r| r["fault"] == "drop_after").collect();
    assert_eq!(dropped.len(), 1, "the sim handled one ask and cut the answer: {handled:#?}");
    assert_eq!(dropped[0]["idempotency_key"], json!(keys[0]), "the first ask was the one cut off");
    // One request per key: the cut-off ask was found in its conversation (read back, never sent
    // again, so no second message on a server that ignores keys), the second went through once.
    let all = world.asks().await;
    let sent: Vec<usize> =
        keys.iter().map(|k| all.iter().filter(|r| r["idempotency_key"] == k.as_str()).count()).collect();
    assert_eq!(sent, vec![1, 1], "requests per ask: {all:#?}");
    assert!(handled.iter().filter(|r| r["fault"].is_null()).all(|r| r["status"] == 200), "{handled:#?}");
    let order: Vec<&str> = handled.iter().filter_map(|r| r["idempotency_key"].as_str()).collect();
    assert_eq!(order.last().copied(), Some(keys[1].as_str()), "the second ask went after the first: {order:?}");
    // Exactly once, in order: the server's conversation holds each ask once, first one first.
    let conversations = world.conversations().await;
    assert_eq!(conversations.len(), 1, "{conversations:#?}");
    let said = world.user_messages(conversations[0]["id"].as_str().unwrap()).await;
    assert_eq!(said, asked, "each ask once, in the order typed");
    let on_disk = ask_box::outbox_on_disk().expect("the outbox on disk");
    assert_eq!(on_disk["entries"], json!([]), "the outbox on disk is empty: {on_disk:#}");
    app.quit().await;
    world.end().await;
}

/// The idempotency keys of the asks in the outbox file, oldest first.
fn on_disk_keys() -> Vec<String> {
    let data = ask_box::outbox_on_disk().expect("the outbox on disk");
    data["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["idempotency_key"].as_str().expect("a key fixed at queue time").to_string())
        .collect()
}

// 5. Server text is safe (issue 18, acceptance 3): a reply's markdown is formatted with allowed
// elements only, built as DOM nodes; raw HTML stays literal text and runs nothing, a script link
// is only its text, an image is its description and loads nothing, a list nested 300 deep is
// flattened past a bound, and Copy gives the reply as plain text. A 1 MB reply is shown in part,
// Copy takes all of it, and the box keeps taking asks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_markdown_in_a_reply_is_formatted_safely() {
    require_desktop();
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let world = World::new("quick-ask-markdown").await;
    let app = world.signed_in_app("app").await;
    let ask = AskBox::of(&app).await;
    hotkey();

    // A reply as the assistant writes them, for the README.
    let day = "Here is your **Thursday**:\n\n1. **9:30** Dentist with Dr. Ruiz (*confirmed by phone*)\n\
               2. **13:00** Lunch with Sam at `Casa Lucio`\n3. **18:00** Pick up the dry cleaning\n\n\
               I moved the Acme call to Friday. [Open the calendar](https://calendar.example/thursday)";
    world.ctl.next_reply(day).await;
    let question = "What does Thursday look like?";
    ask.ask(question).await;
    let state = ask.wait_reply_to(question).await;
    assert!(state["reply"].as_str().is_some_and(|r| r.starts_with("Here is your Thursday:")), "{state:#}");
    ask.screenshot(&readme_screenshot("quick-ask-formatted.png")).await;
    {
        // The same reply on a dark desktop, for the README.
        let _light_again = LightAgain;
        set_scheme(Scheme::Dark);
        wait_for_scheme(&app, "ask.html", Scheme::Dark).await;
        ask.screenshot(&readme_screenshot("quick-ask-formatted-dark.png")).await;
    }
    wait_for_scheme(&app, "ask.html", Scheme::Light).await;

    let deep: String = (0..300).map(|i| format!("{}- level {i}\n", "  ".repeat(i))).collect();
    let hostile = format!(
        "# Your plan\n\nSome **bold**, `code` and <b>raw</b> <img src=x onerror=alert(1)>\n\n\
         <script>document.title='owned'</script>\n\n\
         [click](javascript:alert(1)) ![tracker](https://evil.example/p.png) [site](https://kallyai.example/ok)\n\n{deep}"
    );
    world.ctl.next_reply(&hostile).await;
    let question = "What is the plan?";
    ask.ask(question).await;
    ask.wait_reply_to(question).await;
    let audit = ask
        .execute(
            "const reply = document.getElementById('reply');
             const depth = (el) => Math.max(0, ...[...el.children].map((c) => 1 + depth(c)));
             return {
               tags: [...new Set([...reply.querySelectorAll('*')].map((e) => e.tagName))].sort(),
               hrefs: [...reply.querySelectorAll('a')].map((a) => a.getAttribute('href')),
               attributes: [...reply.querySelectorAll('*')].flatMap((e) => e.getAttributeNames()),
               depth: depth(reply),
               text: reply.textContent,
               title: document.title,
               outside: performance.getEntriesByType('resource').map((r) => r.name).filter((n) => !n.startsWith('tauri:') && !n.includes('localhost')),
             };",
        )
        .await;
    let allowed =
        ["A", "BLOCKQUOTE", "BR", "CODE", "DEL", "EM", "H3", "H4", "HR", "LI", "OL", "P", "PRE", "STRONG", "UL"];
    let tags: Vec<&str> = audit["tags"].as_array().expect("tags").iter().filter_map(Value::as_str).collect();
    assert!(tags.iter().all(|t| allowed.contains(t)), "only allowed elements: {tags:?}");
    for formatted in ["H3", "STRONG", "CODE", "UL", "LI", "P", "A"] {
        assert!(tags.contains(&formatted), "{formatted} shown: {tags:?}");
    }
    assert_eq!(audit["hrefs"], json!(["https://kallyai.example/ok"]), "only the web link is a link");
    assert!(
        audit["attributes"].as_array().expect("attributes").iter().all(|a| a == "href"),
        "{:#}",
        audit["attributes"]
    );
    assert!(audit["depth"].as_u64().expect("depth") <= 32, "nesting is bounded: {}", audit["depth"]);
    let text = audit["text"].as_str().expect("text");
    for literal in [
        "<b>raw</b>",
        "<img src=x onerror=alert(1)>",
        "<script>document.title='owned'</script>",
        "tracker",
        "level 299",
    ] {
        assert!(text.contains(literal), "'{literal}' shown as text");
    }
    assert!(!text.contains("**") && !text.contains("# Your plan"), "markdown is formatted, not shown raw");
    assert_eq!(audit["title"], "KallyAI", "no script ran");
    assert_eq!(audit["outside"], json!([]), "nothing loaded from outside");

    // Copy: a real click (a user's gesture), then what the desktop's clipboard holds.
    ask.wait_painted().await;
    std::fs::write(world.out.join("hostile-markdown.png"), app.session().screenshot().await).expect("screenshot");
    app.session().click("#copy-reply").await;
    let copied = clipboard_once("the reply copied", |c| c.contains("Some bold, code and <b>raw</b>")).await;
    assert!(copied.starts_with("Your plan"), "plain text, as it reads: {:?}", &copied[..80.min(copied.len())]);
    assert!(!copied.contains("**"), "no markdown in the copy");

    // 1 MB: shown in part (and said so), copied whole; the box still takes the next ask.
    let line = "A long reply line, again and again, to fill a megabyte. ";
    let times = (1 << 20) / line.len() + 1;
    world.ctl.next_reply_repeated(line, times).await;
    let long = "Tell me everything";
    ask.ask(long).await;
    ask.wait_reply_to(long).await;
    let cut = ask.execute("return !document.getElementById('reply-cut').hidden").await;
    assert_eq!(cut, json!(true), "the box says the reply is shown in part");
    ask.execute("return true").await;
    app.session().click("#copy-reply").await;
    let copied = clipboard_once("the long reply copied", |c| c.len() >= line.len() * times).await;
    assert_eq!(copied.len(), line.len() * times, "Copy takes all of it");
    let after = "And the short version?";
    ask.ask(after).await;
    ask.wait_reply_to(after).await;
    app.quit().await;
    world.end().await;
}

/// The quick-ask box's height on screen, once `accept` takes it.
async fn box_height(what: &str, accept: impl Fn(i64) -> bool) -> i64 {
    wait::until_sync(what, Duration::from_secs(15), || {
        x11::window_geometry(ask_box::TITLE).map(|(_, _, _, height)| height).filter(|h| accept(*h))
    })
    .await
}

/// What the desktop's clipboard holds, once `accept` takes it (read with xclip).
async fn clipboard_once(what: &str, accept: impl Fn(&str) -> bool) -> String {
    wait::until_sync(what, Duration::from_secs(15), || {
        let out = std::process::Command::new("xclip").args(["-o", "-selection", "clipboard"]).output().ok()?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        accept(&text).then_some(text)
    })
    .await
}

// 6. 402 and 429 give their messages, and nothing typed is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_credits_and_rate_limits_say_so_and_keep_the_ask() {
    require_desktop();
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let world = World::new("quick-ask-402-429").await;
    let app = world.signed_in_app("app").await;
    let ask = AskBox::of(&app).await;
    hotkey();

    // 402: refused, kept in the box with the reason and a way to the plan page.
    world.ctl.set_credits(0.0).await;
    let broke = "What can you do?";
    ask.ask(broke).await;
    let state = ask
        .until("the 402 message", |s| {
            let entry = s["queue"].as_array()?.iter().find(|e| e["text"] == broke)?.clone();
            (entry["kind"] == "failed").then_some(entry)
        })
        .await;
    // One sentence (the issue: "402 shows one sentence and a Manage plan link").
    assert_eq!(
        state["status"], "You are out of KallyAI credits. Top up or change your plan to continue.",
        "the 402 sentence: {state:#}"
    );
    let buttons = state["buttons"].as_array().expect("buttons");
    for label in ["Manage plan", "Edit", "Send again", "Discard"] {
        assert!(buttons.contains(&json!(label)), "'{label}' offered: {state:#}");
    }
    let refused = world.asks().await;
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0]["status"], 402);

    // "Edit" gives the text back to the input: nothing typed is lost.
    ask.click("#queue", "Edit").await;
    ask.until("the refused ask back in the input", |s| {
        (s["input"] == broke && s["queue"].as_array().is_some_and(|q| q.is_empty())).then_some(())
    })
    .await;
    ask.execute("document.getElementById('ask-input').value = ''; return true;").await;
    world.ctl.set_credits(100.0).await;

    // 429 with a Retry-After longer than the client waits on its own: the ask stays queued with
    // the rate-limit sentence, and is sent once the wait is over.
    let retry_after = 31;
    world.ctl.fault(&Fault::new(MESSAGE_PATH, "rate_limit").retry_after_secs(retry_after).count(1)).await;
    let busy = "Hello KallyAI";
    ask.ask(busy).await;
    let entry = ask
        .until("the 429 message", |s| {
            let entry = s["queue"].as_array()?.iter().find(|e| e["text"] == busy)?.clone();
            entry["status"].as_str()?.contains("too many requests").then_some(entry)
        })
        .await;
    assert_eq!(entry["kind"], "queued", "still queued: {entry:#}");
    assert!(
        entry["status"].as_str().is_some_and(|m| m.contains(&format!("Try again in {retry_after} seconds"))),
        "the 429 sentence names the wait: {entry:#}"
    );
    let limited = world.asks().await;
    assert_eq!(limited.last().map(|r| r["status"].clone()), Some(json!(429)));
    ask.until_within("the reply once Retry-After has passed", Duration::from_secs(retry_after + 30), &mut |s| {
        (s["question"] == busy && s["answer_shown"] == true).then_some(())
    })
    .await;
    let asks = world.asks().await;
    let answered: Vec<&Value> = asks.iter().filter(|r| r["status"] == 200).collect();
    assert_eq!(answered.len(), 1, "sent once after the wait: {asks:#?}");
    assert_eq!(answered[0]["idempotency_key"], limited.last().unwrap()["idempotency_key"], "same ask, same key");
    app.quit().await;
    world.end().await;
}

// 10. An ask whose answer is lost after KallyAI ran it (a 504 after the work, as a gateway
//     gives) is read back from its conversation: the box shows the reply and the ask is not sent
//     a second time. When the conversation cannot be read either, the box says the ask may have
//     been sent, and sends it again only when the user says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_is_read_back_and_an_unknowable_one_is_left_to_the_user() {
    require_desktop();
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let world = World::new("quick-ask-lost-answer").await;
    let app = world.signed_in_app("app").await;
    let ask = AskBox::of(&app).await;
    hotkey();
    ask.wait_focused().await;

    // The run's first keyed answer is the lost one, so on either profile the app has not seen
    // the key echoed and must not resend: it reads the conversation back.
    let answer = "I found three quiet cafes near you; the closest opens at 8.";
    world.ctl.next_reply(answer).await;
    let lost_answer = Fault::new(MESSAGE_PATH, "status_after").method("POST").with_status(504).count(1);
    world.ctl.fault(&lost_answer).await;
    let text = "Find a quiet cafe to work from";
    ask.ask(text).await;
    let state = ask.wait_reply_to(text).await;
    assert_eq!(state["reply"], answer, "the stored answer, read back: {state:#}");
    assert_eq!(state["queue"], json!([]), "{state:#}");
    let asks = world.asks().await;
    assert_eq!(asks.len(), 1, "one request, never a second: {asks:#?}");
    assert_eq!((asks[0]["status"].as_u64(), asks[0]["fault"].as_str()), (Some(504), Some("status_after")));
    assert!(!world.ctl.requests_to("GET", "/v1/coordination/history").await.is_empty(), "read back");
    let conversation = world.conversations().await[0]["id"].as_str().expect("the ask's conversation").to_string();
    assert_eq!(world.user_messages(&conversation).await, vec![text]);

    // Lost again, and the conversation cannot be read: the user decides.
    world.ctl.fault(&Fault::status("/v1/coordination/history", 500).method("GET")).await;
    world.ctl.fault(&lost_answer).await;
    let unsure = "Email Sam that I am running late";
    ask.ask(unsure).await;
    let entry = ask
        .until_within("the ask shown as maybe sent", Duration::from_secs(90), &mut |s| {
            let entry = s["queue"].as_array()?.iter().find(|e| e["text"] == unsure)?.clone();
            (entry["buttons"] == json!(["Send again", "Discard"])).then_some(entry)
        })
        .await;
    assert_eq!(
        entry["status"],
        "KallyAI may have received this ask; the connection broke before the answer. Check the conversation, then send again or discard.",
        "{entry:#}"
    );
    let shot = ask.screenshot(&world.out.join("quick-ask-maybe-sent.png")).await;
    eprintln!("maybe-sent screenshot: {}", shot.display());
    let tries = |asks: &[Value]| {
        asks.iter().filter(|r| r["idempotency_key"] == asks.last().unwrap()["idempotency_key"]).count()
    };
    assert_eq!(tries(&world.asks().await), 1, "not resent on its own");

    world.ctl.clear_faults().await;
    ask.click("#queue", "Send again").await;
    ask.wait_reply_to(unsure).await;
    let asks = world.asks().await;
    assert_eq!(tries(&asks), 2, "Send again sent it once more: {asks:#?}");
    assert_eq!(asks.last().unwrap()["status"], 200);
    // Production ignores the key, so the user's choice put it there twice; the sim's extension
    // recognised the key and answered from its store.
    let times = if common::profile::is_production() { 2 } else { 1 };
    let said = world.user_messages(&conversation).await;
    assert_eq!(said.iter().filter(|m| *m == unsure).count(), times, "{said:?}");
    app.quit().await;
    world.end().await;
}

// 11. A goal stopped by its budget (402 budget_approval_required) is its own state in the box:
//     the goal and its estimate with Approve budget, not out of credits (the tray's credits line
//     stays); its notification carries Approve budget; approving from the box sets the goal going
//     without sending the ask again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_budget_refusal_is_approved_from_the_box_and_is_not_out_of_credits() {
    require_desktop();
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let world = World::new("quick-ask-budget").await;
    let bus = common::notification_bus::BusMonitor::start().await;
    let app = world.signed_in_app("app").await;
    let balance = world.ctl.balance().await;
    let line = expected_tray_line(&balance);
    let tray = app.tray().await;
    let first_line = || tray.labels().first().cloned().unwrap_or_default();
    wait::until_sync("the balance in the tray", Duration::from_secs(30), || (first_line() == line).then_some(())).await;
    let ask = AskBox::of(&app).await;
    hotkey();
    ask.wait_focused().await;

    world.ctl.next_refusal("budget_approval_required", Some(12.0)).await;
    let text = "Book a weekend in Lisbon";
    ask.ask(text).await;
    let entry = ask
        .until("the ask in its budget state", |s| {
            let entry = s["queue"].as_array()?.iter().find(|e| e["text"] == text)?.clone();
            entry["status"].as_str()?.contains("approval").then_some(entry)
        })
        .await;
    let pending = world.ctl.api_get("/v1/notifications/pending").await;
    let goal = &pending["goals"]["items"][0];
    assert_eq!(goal["status"], "budget_approval_required", "the sim's pending goal: {pending:#}");
    let goal_id = goal["id"].as_str().expect("goal id").to_string();
    let goal_title = world.ctl.api_get(&format!("/v1/coordination/goals/{goal_id}")).await["title"]
        .as_str()
        .expect("the goal's title")
        .to_string();
    assert_eq!(entry["status"], format!("{goal_title} needs your approval to spend about 12 credits."), "{entry:#}");
    assert_eq!(entry["buttons"], json!(["Approve budget", "Cancel goal", "Discard"]), "no Manage plan: {entry:#}");
    let budget_look = ask.execute("return document.querySelector('#queue li').className").await;
    assert!(budget_look.as_str().is_some_and(|c| c.contains("budget")), "shown as a budget state: {budget_look}");
    assert_eq!(first_line(), line, "the tray's credits line is not out of credits");
    assert_eq!(world.ctl.balance().await, balance, "a refused ask is not charged");
    assert_eq!(world.asks().await.len(), 1);
    let shot = ask.screenshot(&world.out.join("quick-ask-budget.png")).await;
    eprintln!("budget state screenshot: {}", shot.display());

    // The same goal waits in the pending list: notified once, with Approve budget on it.
    let notice = bus
        .wait_for("the budget notification", Duration::from_secs(60), |n| n.replaces == 0 && n.mentions(&goal_title))
        .await;
    assert_eq!(notice.summary, "A goal needs your budget approval", "{notice:?}");
    assert!(notice.actions.contains(&("approve_budget".to_string(), "Approve budget".to_string())), "{notice:?}");
    assert!(!notice.has_action("approve_step"), "no step to approve: {notice:?}");

    ask.click("#queue", "Approve budget").await;
    let approve = format!("/v1/goals/{goal_id}/approve-budget");
    let approved = wait::until("the approval at the sim", Duration::from_secs(15), || async {
        Some(world.ctl.requests_to("POST", &approve).await).filter(|r| !r.is_empty())
    })
    .await;
    // Approved, the booking goes on at once: its search runs and its call step waits for the user.
    let state = ask
        .until("the goal going on in the box", |s| {
            (s["queue"] == json!([]) && s["goal_shown"] == true && s["goal_status"] == "needs you").then(|| s.clone())
        })
        .await;
    assert_eq!(approved.len(), 1, "one approval: {approved:?}");
    assert_eq!(approved[0]["status"], 200);
    assert_eq!(state["question"], text, "what was asked stays in view: {state:#}");
    assert_eq!(state["reply"], "Budget approved: KallyAI carries on with the goal.");
    assert_eq!(state["goal_title"], goal_title.as_str());
    assert_eq!(state["goal_actions"], json!(["Approve step", "Cancel goal"]), "{state:#}");
    let on_server = world.ctl.api_get(&format!("/v1/coordination/goals/{goal_id}")).await;
    assert_eq!(on_server["status"], "needs_input", "out of its budget state at the sim: {on_server:#}");
    assert_eq!(world.asks().await.len(), 1, "the ask was not sent again");
    // The goal's own work is charged as it runs; the tray follows the balance, never "out of credits".
    let now = expected_tray_line(&world.ctl.balance().await);
    wait::until_sync("the tray line to follow the balance", Duration::from_secs(30), || {
        (first_line() == now).then_some(())
    })
    .await;
    assert!(!now.contains("Out of"), "{now}");
    // Decided in the box: the budget notification goes.
    wait::until_sync("the budget notification withdrawn", Duration::from_secs(60), || {
        bus.closed_by_app().contains(&notice.id).then_some(())
    })
    .await;
    app.quit().await;
    world.end().await;
}

// 12. A goal at its soft cap (402 soft_cap_reached) offers Continue in the box and on its
//     notification; Continue from the notification works without opening a window, and the
//     box's refused ask is settled by it (shown as decided, with the goal, never sent again).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_soft_cap_is_continued_from_its_notification() {
    require_desktop();
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let world = World::new("quick-ask-soft-cap").await;
    let bus = common::notification_bus::BusMonitor::start().await;
    let app = world.signed_in_app("app").await;
    let ask = AskBox::of(&app).await;
    hotkey();
    ask.wait_focused().await;

    world.ctl.next_refusal("soft_cap_reached", Some(8.0)).await;
    let text = "Find a dentist who can see me this week";
    ask.ask(text).await;
    let entry = ask
        .until("the ask at its soft cap", |s| {
            let entry = s["queue"].as_array()?.iter().find(|e| e["text"] == text)?.clone();
            entry["status"].as_str()?.contains("spending cap").then_some(entry)
        })
        .await;
    assert_eq!(entry["buttons"], json!(["Continue", "Cancel goal", "Discard"]), "{entry:#}");
    assert!(entry["status"].as_str().is_some_and(|s| s.contains("about 8 credits")), "{entry:#}");
    let pending = world.ctl.api_get("/v1/notifications/pending").await;
    let goal_id = pending["goals"]["items"][0]["id"].as_str().expect("the pending goal").to_string();
    let goal_title = world.ctl.api_get(&format!("/v1/coordination/goals/{goal_id}")).await["title"]
        .as_str()
        .expect("the goal's title")
        .to_string();

    let notice = bus
        .wait_for("the soft-cap notification", Duration::from_secs(60), |n| n.replaces == 0 && n.mentions(&goal_title))
        .await;
    assert_eq!(notice.summary, "A goal reached its spending cap", "{notice:?}");
    assert!(notice.actions.contains(&("acknowledge_soft_cap".to_string(), "Continue".to_string())), "{notice:?}");
    // Put the box away: the notification's button needs no window.
    ask_box::keys(&["Escape"]);
    ask.wait_on_screen(false).await;
    common::notification_bus::invoke_from_menu("Continue (");
    let acknowledged = format!("/v1/goals/{goal_id}/acknowledge-soft-cap");
    let sent = wait::until("the acknowledgement at the sim", Duration::from_secs(20), || async {
        Some(world.ctl.requests_to("POST", &acknowledged).await).filter(|r| !r.is_empty())
    })
    .await;
    assert_eq!(sent.len(), 1, "one acknowledgement: {sent:?}");
    assert_eq!(sent[0]["status"], 200);
    let outcome = bus
        .wait_for("the outcome in the notification's place", Duration::from_secs(20), |n| {
            n.replaces == notice.id && n.body.starts_with("Spending cap acknowledged")
        })
        .await;
    assert!(outcome.actions.is_empty(), "nothing more to do: {outcome:?}");
    assert!(!ask.on_screen(), "no window was opened");

    hotkey();
    let state = ask
        .until("the box to show the settled ask and its goal", |s| {
            (s["queue"] == json!([]) && s["goal_shown"] == true && s["question"] == text).then(|| s.clone())
        })
        .await;
    assert_eq!(state["reply"], "Decided from the notification.", "{state:#}");
    assert_eq!(state["goal_title"], goal_title.as_str());
    let on_server = world.ctl.api_get(&format!("/v1/coordination/goals/{goal_id}")).await;
    assert_ne!(on_server["status"], "soft_cap_reached", "{on_server:#}");
    assert_eq!(world.asks().await.len(), 1, "the ask was not sent again");
    app.quit().await;
    world.end().await;
}
