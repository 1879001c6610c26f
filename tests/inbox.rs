//! The inbox (issue 16, acceptance 1 and 2), end to end on the real headless desktop of
//! `scripts/with-desktop`: the real app under WebDriver, signed in through the tray and the test
//! browser, against a real sim seeded with the demo's pending items (a draft to the landlord, a
//! goal asking which evening, a goal waiting for step approval, an unread SMS from a clinic).
//! Notifications are watched on the bus and acted on through dunst, the tray read over DBusMenu,
//! and every step proves the server's state changed (the sim's API or its request log) and the
//! item left the inbox and the tray's count.
//!
//! Run: `scripts/with-desktop cargo test -p kallyai-desktop --test inbox -- --test-threads=1`.

mod common;

use std::time::Duration;

use common::demo::{self, Demo};
use common::launcher::Launched;
use common::notification_bus::{self as notices, BusMonitor};
use common::{a11y, readme_screenshot, signed_in_app, tray, wait, x11, ONE_APP_AT_A_TIME};
use serde_json::{json, Value};

const SOON: Duration = Duration::from_secs(20);
const INBOX_TITLE: &str = "Inbox";

/// The demo sim and the notification bus, watched from before the app starts.
struct Rig {
    demo: Demo,
    bus: BusMonitor,
}

impl std::ops::Deref for Rig {
    type Target = Demo;
    fn deref(&self) -> &Demo {
        &self.demo
    }
}

impl Rig {
    async fn new(name: &str) -> Rig {
        let demo = Demo::new(name).await;
        notices::close_all();
        Rig { demo, bus: BusMonitor::start().await }
    }

    /// What the server counts as pending now.
    async fn pending_total(&self) -> u64 {
        self.ctl.api_get("/v1/notifications/pending").await["total_pending"].as_u64().expect("total_pending")
    }

    /// Waits until the tray's Inbox entry shows what the server counts.
    async fn tray_counts_as_server(&self, item: &tray::TrayItem, what: &str) -> u64 {
        wait::until(what, SOON, || async {
            let total = self.pending_total().await;
            let label = if total == 0 { "Inbox".to_string() } else { format!("Inbox ({total})") };
            item.labels().contains(&label).then_some(total)
        })
        .await
    }

    async fn finish(self, app: Launched) {
        self.demo.finish(app).await;
    }
}

/// The first pending item of `group` for which `pick` holds.
fn pending_item<'a>(pending: &'a Value, group: &str, pick: impl Fn(&Value) -> bool) -> &'a Value {
    pending[group]["items"]
        .as_array()
        .and_then(|items| items.iter().find(|i| pick(i)))
        .unwrap_or_else(|| panic!("no such item among the pending {group}: {pending}"))
}

fn id_of(item: &Value) -> String {
    item["id"].as_str().expect("an item id").to_string()
}

/// Runs `script` in the inbox window until it returns something truthy.
async fn in_inbox(app: &Launched, what: &str, script: &str) -> Value {
    demo::in_page(app, "inbox.html", what, script).await
}

async fn item_gone(app: &Launched, id: &str) {
    in_inbox(app, "the item to leave the inbox", &format!("return !document.getElementById('item-{id}')")).await;
}

// Every kind of pending item is notified with the buttons that fit it and handled where the user
// is: a draft sent from its notification and one from the inbox, a goal's question answered in
// the inbox, a message read in full and marked read, a notification's body opening the inbox at
// its item. One app for all of it (the steps build on each other's state: each item handled
// lowers the count the next step checks).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_is_handled_where_the_user_is() {
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let rig = Rig::new("inbox").await;
    let pending = rig.ctl.api_get("/v1/notifications/pending").await;
    let draft = pending_item(&pending, "actions", |_| true);
    let draft_id = id_of(draft);
    let question = pending_item(&pending, "goals", |g| g["title"].as_str().is_some_and(|t| t.contains("Garc")));
    let question_id = id_of(question);
    let question_title = question["title"].as_str().expect("goal title").to_string();
    let step_goal =
        pending_item(&pending, "goals", |g| g["summary"].as_str().is_some_and(|s| s.starts_with("Approve")));
    let sms = pending_item(&pending, "inbox", |m| m["channel"] == "sms");
    let sms_id = id_of(sms);
    let sms_from = sms["from"].as_str().expect("sms sender").to_string();

    let (app, item) = signed_in_app::start_signed_in(&rig.out, "app", &rig.url).await;
    let total = rig.tray_counts_as_server(&item, "the tray's Inbox entry to count the pending items").await;
    assert!(total >= 4, "the demo seeds at least four pending items: {total}");

    // -- each kind is notified with its own buttons
    let first_notice = |what: &'static str, text: String| {
        let bus = &rig.bus;
        async move { bus.wait_for(what, SOON, move |n| n.replaces == 0 && n.mentions(&text)).await }
    };
    let draft_notice =
        rig.bus.wait_for("the draft's notification", SOON, |n| n.replaces == 0 && n.has_action("approve")).await;
    let buttons = |n: &notices::Notified| -> Vec<(String, String)> {
        n.actions.iter().filter(|(key, _)| key != "default").cloned().collect()
    };
    assert!(draft_notice.has_action("default"), "a click on the body opens the inbox: {draft_notice:?}");
    assert_eq!(
        buttons(&draft_notice),
        vec![("approve".into(), "Send".into()), ("cancel".into(), "Cancel draft".into())],
        "a draft offers Send and Cancel: {draft_notice:?}"
    );
    let question_notice = first_notice("the question's notification", question_title.clone()).await;
    assert!(
        question_notice.has_action("answer") && !question_notice.has_action("approve_step"),
        "a goal that asks offers Answer, never Approve: {question_notice:?}"
    );
    let step_title = step_goal["title"].as_str().expect("goal title").to_string();
    let step_notice = first_notice("the step approval's notification", step_title).await;
    assert!(step_notice.has_action("approve_step"), "a step waiting for approval offers Approve: {step_notice:?}");
    let sms_notice = first_notice("the SMS's notification", sms_from.clone()).await;
    assert_eq!(buttons(&sms_notice), vec![("mark_read".into(), "Mark read".into())], "{sms_notice:?}");
    // What dunst draws, for a person to look at (test-output/inbox/notifications.png).
    common::screenshot(&rig.out.join("notifications.png"));

    // -- a draft sent from its notification
    notices::invoke_from_menu("Send (");
    let approve = format!("/v1/actions/email/{draft_id}/approve");
    wait::until("the draft to be sent at the sim", SOON, || async {
        let outbox = rig.ctl.api_get("/v1/actions/email/outbox").await;
        let emails = outbox["emails"].as_array().cloned().unwrap_or_default();
        emails.iter().any(|e| e["id"] == draft_id.as_str() && e["status"] == "sent").then_some(())
    })
    .await;
    assert_eq!(rig.ctl.requests_to("POST", &approve).await.len(), 1, "sent once");
    rig.bus
        .wait_for("the outcome in the draft notification's place", SOON, |n| {
            n.replaces == draft_notice.id && n.body == "Email sent."
        })
        .await;
    let after_draft = rig.tray_counts_as_server(&item, "the tray's count without the draft").await;
    assert_eq!(after_draft, total - 1);

    // -- the inbox, from the tray: every group, the draft gone
    item.click(&format!("Inbox ({after_draft})"));
    wait::until_sync("the inbox window on screen", SOON, || x11::window_viewable(INBOX_TITLE).then_some(())).await;
    in_inbox(
        &app,
        "the goal and the SMS listed",
        &format!(
            "return document.getElementById('item-{question_id}') && document.getElementById('item-{sms_id}')
               && document.getElementById('group-approval').hidden"
        ),
    )
    .await;
    let png = app.session().screenshot().await;
    std::fs::write(readme_screenshot("inbox.png"), png).expect("save the inbox screenshot");
    keyboard_and_labels(&app, "en", INBOX_TITLE).await;

    // -- a goal's question answered in the inbox
    let answer = "Friday works best for us";
    app.session().send_keys(&format!("#answer-{question_id}"), &format!("{answer}\u{E007}")).await;
    in_inbox(
        &app,
        "the answer acknowledged",
        "return document.getElementById('notice').textContent.startsWith('Answer sent')",
    )
    .await;
    let sent = rig.ctl.requests_to("POST", "/v1/coordination/message").await;
    assert_eq!(sent.len(), 1, "the answer was sent once: {sent:?}");
    let goal = rig.ctl.api_get(&format!("/v1/coordination/goals/{question_id}")).await;
    assert_ne!(goal["status"], "needs_input", "the goal goes on after the answer: {goal}");
    let history = rig
        .ctl
        .api_get(&format!(
            "/v1/coordination/history?conversation_id={}",
            goal["conversation_id"].as_str().unwrap_or("")
        ))
        .await;
    assert!(history.to_string().contains(answer), "the answer is in the goal's conversation: {history}");
    item_gone(&app, &question_id).await;
    let after_goal = rig.tray_counts_as_server(&item, "the tray's count without the goal").await;
    assert_eq!(after_goal, after_draft - 1);

    // A second draft arrives while the user is busy elsewhere; its notification's body opens the
    // inbox at it. (dunst applies the click rule to notifications that arrive after it is taken.)
    notices::close_all();
    let clicks = notices::DefaultActionOnClick::take();
    let second = rig
        .ctl
        .api_post(
            "/v1/actions/email/send",
            &json!({"to": "reception@clinicadentalsol.example", "subject": "Friday 17:30 works for me",
                    "body": "Hello,\n\nFriday at 17:30 is perfect. See you then.\n\nAlex"}),
        )
        .await;
    let second_id = second["id"].as_str().map(String::from).unwrap_or_else(|| panic!("a new draft: {second}"));

    // -- a message read in full, with its thread, and marked read (the app reads the pending list
    //    again after it, and so hears of the new draft too)
    in_inbox(&app, "the SMS listed", &format!("return !!document.getElementById('item-{sms_id}')")).await;
    app.session().click(&format!("#item-{sms_id} button[aria-controls]")).await;
    let full = rig.ctl.api_get(&format!("/v1/messages/inbox/{sms_id}")).await;
    let body = full["body"].as_str().expect("the SMS's body").to_string();
    let shown = in_inbox(
        &app,
        "the whole SMS and its thread",
        &format!(
            "const m = document.querySelector('#message-{sms_id} .message-body');
                  const thread = document.querySelectorAll('#message-{sms_id} .thread li').length;
                  return m && thread > 0 ? m.textContent : ''"
        ),
    )
    .await;
    assert_eq!(shown.as_str(), Some(body.as_str()), "the full message, not its preview");
    app.session().click(&format!("#item-{sms_id} button:not([aria-controls])")).await;
    wait::until("the SMS marked read at the sim", SOON, || async {
        let message = rig.ctl.api_get(&format!("/v1/messages/inbox/{sms_id}")).await;
        (message["unread"] == false).then_some(())
    })
    .await;
    item_gone(&app, &sms_id).await;

    // -- the new draft's notification; a click on its body opens the inbox at it
    let second_notice = rig
        .bus
        .wait_for("the second draft's notification", SOON, |n| n.replaces == 0 && n.mentions("Friday 17:30"))
        .await;
    wait::until_sync("dunst to show it", SOON, || (notices::displayed() >= 1).then_some(())).await;
    clicks.click();
    drop(clicks);
    wait::until_sync("dunst to report the click", SOON, || {
        rig.bus.invoked().iter().any(|(id, _)| *id == second_notice.id).then_some(())
    })
    .await;
    let focused = in_inbox(
        &app,
        "the inbox focused on the new draft",
        "const li = document.querySelector('.list > li.focused');
         return li && li.contains(document.activeElement) ? li.dataset.id : ''",
    )
    .await;
    assert_eq!(focused.as_str(), Some(second_id.as_str()), "the inbox opened at the clicked item");
    let after_sms = rig.tray_counts_as_server(&item, "the tray's count without the SMS, with the new draft").await;
    assert_eq!(after_sms, after_goal, "one item left (the SMS), one came (the draft)");

    // -- a draft sent from the inbox
    app.session().click(&format!("#item-{second_id} button.primary")).await;
    wait::until("the second draft sent at the sim", SOON, || async {
        let sent = rig.ctl.requests_to("POST", &format!("/v1/actions/email/{second_id}/approve")).await;
        (sent.len() == 1 && sent[0]["status"] == 200).then_some(())
    })
    .await;
    item_gone(&app, &second_id).await;
    let last = rig.tray_counts_as_server(&item, "the tray's count without the second draft").await;
    assert_eq!(last, after_sms - 1);
    rig.finish(app).await;
}

/// Every control of the inbox is reached with Tab, in document order, nothing is taken out of the
/// tab order, every field and item has a name a screen reader reads (in `lang`: the language
/// file's strings), and what an action did is announced (a live region).
async fn keyboard_and_labels(app: &Launched, lang: &str, title: &str) {
    let strings = a11y::strings(lang);
    let page = a11y::keyboard_and_labels(app, "inbox.html", title, lang).await;
    let details = app
        .session()
        .execute(
            r#"const named = (el) => (el.getAttribute("aria-labelledby") || "").split(" ").map((id) => document.getElementById(id))
                 .filter(Boolean).map((l) => l.textContent.trim()).join(" ");
               return {
                 groups: [...document.querySelectorAll("section.group")].filter((g) => !g.hidden).map(named),
                 answer_label: document.querySelector(".answer-input")?.getAttribute("aria-label") ?? null,
                 live: document.getElementById("notice").getAttribute("aria-live"),
               };"#,
        )
        .await;
    assert_eq!(details["live"], "polite", "what an action did is announced: {details:#}");
    for group in details["groups"].as_array().expect("groups") {
        let known = ["inbox.group.approval", "inbox.group.goal", "inbox.group.message"].map(|k| &strings[k]);
        assert!(known.contains(&group), "a group named in {lang}: {group} ({page:#})");
    }
    if !details["answer_label"].is_null() {
        assert_eq!(details["answer_label"], strings["inbox.goal.answer_label"], "{details:#}");
    }
}

// Keyboard-only use and screen-reader names in Spanish (the English run is part of the test
// above): the inbox opened with `--show inbox`, as a launcher or `kallyai://show/inbox` does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inbox_works_by_keyboard_in_spanish() {
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let rig = Rig::new("inbox-es").await;
    let (app, item) = signed_in_app::start_signed_in_spanish(&rig.out, "app", &rig.url).await;
    let total = rig.pending_total().await;
    wait::until_sync("the tray's Spanish inbox entry", SOON, || {
        item.labels().contains(&format!("Bandeja de entrada ({total})")).then_some(())
    })
    .await;
    let second = app.second_launch(&["--show", "inbox"]).await;
    assert!(second.status.success(), "--show inbox: {second:?}");
    wait::until_sync("the inbox window on screen", SOON, || x11::window_viewable("Bandeja de entrada").then_some(()))
        .await;
    in_inbox(&app, "the items listed", "return document.querySelectorAll('.list > li').length").await;
    keyboard_and_labels(&app, "es", "Bandeja de entrada").await;
    std::fs::write(readme_screenshot("inbox-es.png"), app.session().screenshot().await).expect("inbox-es screenshot");
    rig.finish(app).await;
    // After the app is gone: it writes its settings back as it quits, and the next test of the
    // run (same HOME) must start in English.
    signed_in_app::forget_settings();
}
