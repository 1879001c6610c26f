//! The Activity window (issue 16), end to end on the real headless desktop of
//! `scripts/with-desktop`: the real app under WebDriver, signed in through the tray and the test
//! browser, against a real sim seeded with the demo's calls (inbound and outbound, with
//! transcripts), goals (active and finished, with what they cost) and action log (undoable
//! entries and others). Every action proves the server's state changed (the sim's API or its
//! request log) and what the window shows.
//!
//! Run: `scripts/with-desktop cargo test -p kallyai-desktop --test activity -- --test-threads=1`.

mod common;

use std::time::Duration;

use common::demo::{self, Demo as Rig};
use common::launcher::Launched;
use common::signed_in_app;
use common::{a11y, readme_screenshot, wait, x11, ONE_APP_AT_A_TIME};
use serde_json::{json, Value};

const SOON: Duration = Duration::from_secs(20);
const TITLE: &str = "Activity";

/// The action log's entry of `kind` (the demo logs one of each it uses).
async fn logged(rig: &Rig, kind: &str) -> Value {
    let log = rig.ctl.api_get(&format!("/v1/actions/log?type={kind}")).await;
    log["actions"][0].clone()
}

fn id_of(item: &Value) -> String {
    item["id"].as_str().unwrap_or_else(|| panic!("an id in {item}")).to_string()
}

/// Runs `script` in the activity window until it returns something truthy.
async fn in_activity(app: &Launched, what: &str, script: &str) -> Value {
    demo::in_page(app, "activity.html", what, script).await
}

/// The items shown now (not hidden by the search), as `kind-id` keys.
const SHOWN: &str =
    "return [...document.querySelectorAll('#items > li')].filter((li) => !li.hidden).map((li) => li.dataset.key)";

async fn shown(app: &Launched) -> Vec<String> {
    let keys = app.session().execute(SHOWN).await;
    keys.as_array().expect("keys").iter().map(|k| k.as_str().expect("a key").to_string()).collect()
}

/// Picks the filter `kind` with a click, and waits until every item shown is of `item_kind`.
async fn filter(app: &Launched, kind: &str, item_kind: &str) -> Vec<String> {
    app.session().click(&format!("input[name=kind][value={kind}]")).await;
    in_activity(
        app,
        &format!("only {item_kind} items listed"),
        &format!(
            "const items = [...document.querySelectorAll('#items > li')];
             return !document.getElementById('face-list').hidden && items.length
               && items.every((li) => li.dataset.kind === '{item_kind}')"
        ),
    )
    .await;
    shown(app).await
}

async fn search(app: &Launched, text: &str) -> Vec<String> {
    let script = format!(
        "const s = document.getElementById('search'); s.value = {text:?}; s.dispatchEvent(new Event('input')); return true"
    );
    app.session().execute(&script).await;
    shown(app).await
}

// What KallyAI did, in one window: every page of calls, goals and actions; a call's transcript
// either way and a goal's cost on demand; the filter and the search narrowing the list; an
// action undone and one refused (it was undone elsewhere meanwhile), each proven at the sim.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activity_shows_what_kallyai_did_and_undoes_it() {
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let rig = Rig::new("activity").await;
    let outbound = rig.ctl.api_get("/v1/calls").await;
    let nobu = outbound["calls"]
        .as_array()
        .and_then(|calls| calls.iter().find(|c| c["submission"]["business_name"] == "Nobu Madrid").cloned())
        .unwrap_or_else(|| panic!("the demo's call to Nobu: {outbound}"));
    let nobu_id = nobu["call_id"].as_str().map_or_else(|| id_of(&nobu), String::from);
    let inbound = rig.ctl.api_get("/v1/inbound/calls").await;
    let smith = inbound["calls"]
        .as_array()
        .and_then(|calls| calls.iter().find(|c| c["caller_name"] == "Dr. Smith").cloned())
        .unwrap_or_else(|| panic!("the demo's call from Dr. Smith: {inbound}"));
    let smith_id = id_of(&smith);
    let finished = rig.ctl.api_get("/v1/coordination/goals?status=completed").await;
    let landlord = &finished["goals"][0];
    let landlord_id = id_of(landlord);
    let cost = rig.ctl.api_get(&format!("/v1/goals/{landlord_id}/cost-breakdown")).await;
    let charges = cost["items"].as_array().map_or(0, Vec::len);
    assert!(charges > 0, "the finished goal has a cost to show: {cost}");
    let calendar = logged(&rig, "calendar").await;
    let calendar_id = id_of(&calendar);
    assert_eq!(calendar["undoable"], true, "{calendar}");
    let booking = logged(&rig, "booking").await;
    let booking_id = id_of(&booking);
    assert_eq!(booking["undoable"], true, "{booking}");
    let ride = logged(&rig, "ride").await;
    assert_eq!(ride["undoable"], false, "{ride}");

    let (app, item) = signed_in_app::start_signed_in(&rig.out, "app", &rig.url).await;
    // -- from the tray, between the goals and the credits as the Recent calls entry was
    let labels = item.labels();
    let at = |label: &str| labels.iter().position(|l| l == label);
    assert!(at("Activity").is_some() && at("Activity") < at("Credits"), "{labels:?}");
    assert!(!labels.iter().any(|l| l == "Calls"), "Activity took the Calls entry's place: {labels:?}");
    item.click("Activity");
    wait::until_sync("the activity window on screen", SOON, || x11::window_viewable(TITLE).then_some(())).await;
    let first = in_activity(
        &app,
        "the first page",
        "const n = document.querySelectorAll('#items > li').length;
         return n && !document.getElementById('more').hidden && n",
    )
    .await;
    assert_eq!(first, 10, "a page is ten items");
    let png = app.session().screenshot().await;
    std::fs::write(readme_screenshot("activity.png"), png).expect("save the activity screenshot");

    // -- paged: the rest on "Show more", every kind among them, none twice
    app.session().click("#more").await;
    let all = in_activity(
        &app,
        "the second page",
        "const n = document.querySelectorAll('#items > li').length;
         return n > 10 && document.getElementById('more').hidden && n",
    )
    .await;
    let keys = shown(&app).await;
    assert_eq!(keys.len() as u64, all.as_u64().expect("a count"));
    let mut unique = keys.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), keys.len(), "no item twice: {keys:?}");
    for key in [
        format!("call-{nobu_id}"),
        format!("call-{smith_id}"),
        format!("goal-{landlord_id}"),
        format!("action-{calendar_id}"),
        format!("action-{}", id_of(&ride)),
    ] {
        assert!(keys.contains(&key), "{key} is listed: {keys:?}");
    }

    // -- a call's transcript on demand, either way
    for (id, line) in [(&nobu_id, "Daniel speaking"), (&smith_id, "")] {
        app.session().click(&format!("#item-call-{id} button[aria-controls]")).await;
        let text = in_activity(
            &app,
            "the call's transcript",
            &format!(
                "const panel = document.getElementById('transcript-call-{id}');
                 const lines = panel && !panel.hidden ? panel.querySelectorAll('ol li').length : 0;
                 return lines > 0 && document.querySelector('#item-call-{id} button[aria-controls]').getAttribute('aria-expanded') === 'true'
                   && panel.textContent"
            ),
        )
        .await;
        assert!(text.as_str().expect("text").contains(line), "{text}");
    }
    let transcripts = rig.ctl.requests_to("GET", &format!("/v1/calls/{nobu_id}/transcript")).await;
    assert_eq!(transcripts.len(), 1, "read when asked, once");
    assert_eq!(rig.ctl.requests_to("GET", &format!("/v1/inbound/calls/{smith_id}/transcript")).await.len(), 1);

    // -- a finished goal's cost breakdown
    app.session().click(&format!("#item-goal-{landlord_id} button[aria-controls]")).await;
    let total = in_activity(
        &app,
        "the goal's cost breakdown",
        &format!(
            "const panel = document.getElementById('cost-goal-{landlord_id}');
             return panel && panel.querySelectorAll('.cost-items dd').length === {charges}
               && panel.querySelector('.cost-total').textContent"
        ),
    )
    .await;
    // What the opened call and goal look like, for a person to look at (test-output/activity/).
    for (name, id) in [("transcript.png", format!("call-{nobu_id}")), ("cost.png", format!("goal-{landlord_id}"))] {
        app.session().execute(&format!("document.getElementById('item-{id}').scrollIntoView(); return true")).await;
        std::fs::write(rig.out.join(name), app.session().screenshot().await).expect("save a screenshot");
    }
    let credits = cost["total_credits"].as_f64().expect("total_credits");
    assert!(total.as_str().is_some_and(|t| t.starts_with("Total: ") && t.contains(&format!("{credits}"))), "{total}");

    // -- the filter and the search narrow the list
    let actions = filter(&app, "actions", "action").await;
    assert_eq!(actions.len(), 4, "the demo's four logged actions: {actions:?}");
    assert_eq!(search(&app, "nobu").await, vec![format!("action-{booking_id}")], "one action mentions Nobu");
    let calls = filter(&app, "calls", "call").await;
    assert_eq!(calls, vec![format!("call-{nobu_id}")], "the search holds across the filter");
    let none = search(&app, "no such thing anywhere").await;
    assert!(none.is_empty());
    let said = app.session().text_of("#no-match").await.unwrap_or_default();
    assert!(said.contains("no such thing anywhere"), "the window says nothing matches: {said:?}");
    assert_eq!(search(&app, "").await.len(), 6, "three calls each way");
    // The filter by keyboard: the arrows move along the radio group.
    common::run("xdotool", &["search", "--name", &format!("^{TITLE}$"), "windowfocus", "--sync"]);
    app.session().execute("document.querySelector('input[name=kind]:checked').focus(); return true").await;
    common::ask_box::keys(&["Right"]);
    in_activity(
        &app,
        "the Goals filter picked by keyboard",
        "const items = [...document.querySelectorAll('#items > li')];
         return document.querySelector('input[name=kind]:checked').value === 'goals'
           && items.length && items.every((li) => li.dataset.kind === 'goal')",
    )
    .await;

    // -- an undoable action undone with a click: the sim's log says so, and the row
    filter(&app, "actions", "action").await;
    app.session().click(&format!("#item-action-{calendar_id} button.undo")).await;
    wait::until("the calendar entry undone at the sim", SOON, || async {
        let entry = logged(&rig, "calendar").await;
        (entry["status"] == "undone" && entry["undoable"] == false).then_some(())
    })
    .await;
    assert_eq!(rig.ctl.requests_to("POST", &format!("/v1/actions/{calendar_id}/undo")).await.len(), 1, "undone once");
    in_activity(
        &app,
        "the row showing it undone",
        &format!(
            "const li = document.getElementById('item-action-{calendar_id}');
             return li && !li.querySelector('button.undo') && li.querySelector('.meta').textContent.includes('undone')
               && document.getElementById('notice').textContent.startsWith('Undone: ')"
        ),
    )
    .await;

    // -- one refused: undone on another device meanwhile, the server answers 409
    let elsewhere = rig.ctl.api_post(&format!("/v1/actions/{booking_id}/undo"), &json!({})).await;
    assert_eq!(elsewhere["status"], "undone", "{elsewhere}");
    app.session().click(&format!("#item-action-{booking_id} button.undo")).await;
    let refused = in_activity(
        &app,
        "the refusal beside the item",
        &format!(
            "const error = document.querySelector('#item-action-{booking_id} .item-error');
             return error && error.getAttribute('role') === 'alert' && error.textContent"
        ),
    )
    .await;
    assert_eq!(refused, "This action can no longer be undone.");
    let answers = rig.ctl.requests_to("POST", &format!("/v1/actions/{booking_id}/undo")).await;
    assert_eq!(answers.last().map(|r| r["status"].clone()), Some(json!(409)), "{answers:?}");
    app.session()
        .execute(&format!("document.getElementById('item-action-{booking_id}').scrollIntoView(); return true"))
        .await;
    std::fs::write(rig.out.join("refused.png"), app.session().screenshot().await).expect("save a screenshot");
    // The app keeps running, reads the log again and offers Undo no more; the sentence stays.
    assert!(app.is_running(), "the app survives a refusal");
    in_activity(
        &app,
        "the refused row read again",
        &format!(
            "const li = document.getElementById('item-action-{booking_id}');
             return li && !li.querySelector('button.undo') && li.querySelector('.item-error').textContent !== ''"
        ),
    )
    .await;

    app.session().click("input[name=kind][value=all]").await;
    in_activity(
        &app,
        "every kind listed again",
        "const kinds = new Set([...document.querySelectorAll('#items > li')].map((li) => li.dataset.kind));
         return kinds.size === 3",
    )
    .await;
    keyboard_and_labels(&app, "en").await;
    rig.finish(app).await;
}

/// Every control of the window is reached with Tab, in document order (a radio group is one
/// stop: the arrows move within it), nothing is taken out of the tab order, every field, group
/// and item has a name a screen reader reads (in `lang`: the language file's strings), and what
/// an action did is announced (a live region).
async fn keyboard_and_labels(app: &Launched, lang: &str) {
    let strings = a11y::strings(lang);
    let title = strings["window.activity"].as_str().expect("title");
    a11y::keyboard_and_labels(app, "activity.html", title, lang).await;
    let page = in_activity(
        app,
        "the window's names",
        r##"const fieldName = (f) => f.getAttribute("aria-label") || [...f.labels].map((l) => l.textContent.trim()).join(" ");
           return {
             filter_name: document.querySelector("#filter legend").textContent.trim(),
             filter_options: [...document.querySelectorAll("input[name=kind]")].map(fieldName),
             search_name: fieldName(document.getElementById("search")),
             expandable: [...document.querySelectorAll("button[aria-controls]")].every((b) => b.hasAttribute("aria-expanded")),
             live: document.getElementById("notice").getAttribute("aria-live"),
             title: document.getElementById("title").textContent,
           };"##,
    )
    .await;
    assert_eq!(page["expandable"], true, "a transcript or cost button says whether it is open: {page:#}");
    assert_eq!(page["live"], "polite", "what an action did is announced: {page:#}");
    assert_eq!(page["title"], strings["window.activity"], "{page:#}");
    assert_eq!(page["filter_name"], strings["activity.filter.label"], "{page:#}");
    let options: Vec<&Value> = ["all", "calls", "goals", "actions"]
        .iter()
        .map(|k| &strings[format!("activity.filter.{k}").as_str()])
        .collect();
    assert_eq!(page["filter_options"].as_array().expect("options").iter().collect::<Vec<_>>(), options, "{page:#}");
    assert_eq!(page["search_name"], strings["activity.search.label"], "{page:#}");
}

// Keyboard-only use and screen-reader names in Spanish, and a refusal said in Spanish: the window
// opened with `--show activity`, as a launcher or `kallyai://show/activity` does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activity_works_by_keyboard_in_spanish() {
    let _turn = ONE_APP_AT_A_TIME.lock().await;
    let rig = Rig::new("activity-es").await;
    let calendar_id = id_of(&logged(&rig, "calendar").await);
    let (app, item) = signed_in_app::start_signed_in_spanish(&rig.out, "app", &rig.url).await;
    assert!(item.labels().iter().any(|l| l == "Actividad"), "the tray's entry in Spanish: {:?}", item.labels());
    let second = app.second_launch(&["--show", "activity"]).await;
    assert!(second.status.success(), "--show activity: {second:?}");
    wait::until_sync("the activity window on screen", SOON, || x11::window_viewable("Actividad").then_some(())).await;
    in_activity(&app, "the items listed", "return document.querySelectorAll('#items > li').length").await;
    std::fs::write(readme_screenshot("activity-es.png"), app.session().screenshot().await)
        .expect("activity-es screenshot");
    keyboard_and_labels(&app, "es").await;

    // Undone elsewhere meanwhile: the refusal in the window's language.
    rig.ctl.api_post(&format!("/v1/actions/{calendar_id}/undo"), &json!({})).await;
    app.session().click(&format!("#item-action-{calendar_id} button.undo")).await;
    let refused = in_activity(
        &app,
        "the refusal in Spanish",
        &format!("return document.querySelector('#item-action-{calendar_id} .item-error')?.textContent"),
    )
    .await;
    assert_eq!(refused, "Esta acción ya no se puede deshacer.");
    rig.finish(app).await;
    // After the app is gone: it writes its settings back as it quits, and the next test of the
    // run (same HOME) must start in English.
    signed_in_app::forget_settings();
}
