//! Text from outside stays text (issue 17, acceptance 1), end to end on the real headless desktop
//! of `scripts/with-desktop`: a caller's name and a call's summary, an email draft's subject and a
//! message's sender and body, all carrying markup and links, reach the notification server
//! escaped where it reads markup (the body) and as they are where it does not (the summary,
//! plain text by the specification), so dunst shows them literally; the call popup and the inbox show the same literal text
//! with no element made from it, and no page loads another in its place. (The reply in the
//! quick-ask box: tests/quick_ask.rs.)
//!
//! Run: `scripts/with-desktop cargo test -p kallyai-desktop --test hostile_text -- --test-threads=1`.

mod common;

use std::time::Duration;

use common::demo::{self, Demo};
use common::notification_bus::{self as notices, BusMonitor, Notified};
use common::{signed_in_app, x11, ONE_APP_AT_A_TIME};
use kallyai_sim::client::Ring;
use serde_json::json;

const SOON: Duration = Duration::from_secs(45);
const CALLER: &str = r#"<b>Eve</b> & <a href="https://evil.example/login">Your Bank</a>"#;
const SUMMARY: &str =
    r#"Says <a href="https://evil.example">click here</a> <img src="https://evil.example/t.png"> & more"#;
const SUBJECT: &str = r#"<a href="https://evil.example/pay">Invoice</a> & <i>overdue</i>"#;
const SENDER: &str = "<b>Bank</b> & Co";
const SMS: &str = r#"<a href="https://evil.example/v">Verify now</a> <img src=x>"#;

/// `text` as a server that reads markup must get it to show it literally.
fn escaped(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Nothing a markup reader would act on is left in the body the notification server got (the
/// summary is plain text to every server).
fn assert_inert(n: &Notified) {
    assert!(!n.body.contains('<') && !n.body.contains('>'), "markup reached the notification body: {n:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markup_from_outside_is_shown_as_text_everywhere() {
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let rig = Demo::new("hostile-text").await;
    notices::close_all();
    let bus = BusMonitor::start().await;
    // The popup as well as the notification, to check both.
    signed_in_app::use_settings(json!({"call_alert": "both"}));
    let (app, _item) = signed_in_app::start_signed_in(&rig.out, "app", &rig.url).await;

    let sms_id = rig.ctl.receive_message("sms", SENDER, "", SMS).await;
    let draft = rig
        .ctl
        .api_post("/v1/actions/email/send", &json!({"to": "billing@evil.example", "subject": SUBJECT, "body": "Pay."}))
        .await;
    let draft_id = draft["id"].as_str().expect("a draft id").to_string();
    let call_id = rig.ctl.ring(&Ring::new("+15550100666").caller_name(CALLER).summary(SUMMARY).no_script()).await;

    // -- what the notification server gets: escaped, so dunst shows the characters
    let call = bus.wait_for("the call's notification", SOON, |n| n.replaces == 0 && n.mentions("Eve")).await;
    assert_eq!(call.summary, format!("{CALLER} is calling"), "the summary as it is: {call:?}");
    assert!(call.body.contains(&escaped(SUMMARY)), "{call:?}");
    assert_inert(&call);
    let draft_notice = bus.wait_for("the draft's notification", SOON, |n| n.mentions("Invoice")).await;
    assert!(draft_notice.mentions(&escaped(SUBJECT)), "{draft_notice:?}");
    assert_inert(&draft_notice);
    let sms_notice = bus.wait_for("the message's notification", SOON, |n| n.mentions("Verify now")).await;
    assert!(sms_notice.mentions(&escaped(SENDER)) && sms_notice.mentions(&escaped(SMS)), "{sms_notice:?}");
    assert_inert(&sms_notice);
    common::screenshot(&rig.out.join("notifications.png"));

    // -- the call popup: the literal text, no element made of it
    wait_viewable("Incoming call").await;
    let popup = demo::in_page(
        &app,
        "call.html",
        "the caller in the popup",
        "const caller = document.getElementById('caller'), summary = document.getElementById('summary');
         return caller.textContent && [caller.textContent, summary.textContent, caller.children.length + summary.children.length]",
    )
    .await;
    assert_eq!(popup, json!([CALLER, SUMMARY, 0]));
    rig.ctl.end_call(&call_id, Some("completed")).await;

    // -- the inbox: the same
    assert!(app.second_launch(&["--show", "inbox"]).await.status.success());
    wait_viewable("Inbox").await;
    for (id, texts) in [(sms_id.as_str(), vec![SENDER, SMS]), (draft_id.as_str(), vec![SUBJECT])] {
        let item = demo::in_page(
            &app,
            "inbox.html",
            "the item listed",
            &format!(
                "const li = document.getElementById('item-{id}');
                 return li && [li.textContent, li.querySelectorAll('img, b, i, script, iframe').length]"
            ),
        )
        .await;
        let text = item[0].as_str().expect("the item's text");
        for literal in texts {
            assert!(text.contains(literal), "{literal} shown literally in {text}");
        }
        assert_eq!(item[1], 0, "no element made of the text: {item}");
    }
    assert_eq!(app.session().execute("return document.title").await, json!("KallyAI"), "no script of the text ran");

    // -- a window keeps its page: navigation away and new windows are refused (the target is
    //    the sim, reachable, so an allowed navigation would load it)
    let session = app.session();
    let outside = format!("{}/v1/credits/balance", rig.url);
    session.execute(&format!("window.__mark = 'here'; location.href = '{outside}'; return true")).await;
    common::wait::until_sync("the navigation refused", SOON, || {
        app.log_text().contains("navigation away from the app refused").then_some(())
    })
    .await;
    assert_eq!(session.execute("return window.__mark").await, json!("here"), "the page stayed");
    // window.open on a click (a user's gesture, so WebKit's own blocker lets it through to the app).
    let windows = session.window_handles().await.len();
    session
        .execute(&format!(
            "const b = document.createElement('button'); b.id = 'opener-test'; b.textContent = 'open';
             b.onclick = () => {{ window.__opened = window.open('{outside}'); }};
             document.body.prepend(b); return true;"
        ))
        .await;
    session.click("#opener-test").await;
    common::wait::until_sync("the new window refused", SOON, || {
        app.log_text().contains("new window refused").then_some(())
    })
    .await;
    assert_eq!(session.execute("return window.__opened ?? null").await, json!(null), "window.open got no window");
    assert_eq!(session.window_handles().await.len(), windows, "no window was opened");

    // -- the log (at debug) records events by type: no caller, summary or message text in it,
    //    in the stderr copy or in the file, which only the user can read
    let logs = std::path::PathBuf::from(std::env::var("XDG_DATA_HOME").expect("the rig's data home"))
        .join("ai.kally.desktop/logs");
    let file_log: String = std::fs::read_dir(&logs)
        .expect("the log directory")
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
        .collect();
    for log in [app.log_text(), file_log] {
        assert!(log.contains("kind=\"call_ringing\"") || log.contains("kind=call_ringing"), "events by type");
        for private in ["Eve", "click here", "Verify now", "Invoice"] {
            assert!(!log.contains(private), "{private:?} in the log");
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&logs).expect("the log directory").permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "the log directory is the user's alone");
    }
    rig.finish(app).await;
    signed_in_app::forget_settings();
}

async fn wait_viewable(title: &str) {
    common::wait::until_sync(&format!("the {title} window on screen"), SOON, || {
        x11::window_viewable(title).then_some(())
    })
    .await;
}
