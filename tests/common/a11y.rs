//! Keyboard-only use and screen-reader names of a window, checked as a user of either would meet
//! them: every control reached with real Tab presses in document order (a radio group is one stop:
//! the arrows move within it), none taken out of the tab order, every field labelled, every button
//! and list item named, the page in the language asked.

use std::time::Duration;

use serde_json::{json, Value};

use super::launcher::Launched;
use super::wait;

const SOON: Duration = Duration::from_secs(20);

/// The strings of `lang` (ui/i18n/<lang>.json).
pub fn strings(lang: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("ui/i18n/{lang}.json"));
    serde_json::from_str(&std::fs::read_to_string(path).expect("the language file")).expect("the language file parses")
}

/// Checks the window showing `page` (titled `title`) and returns what it found, for checks of
/// the window's own (`controls`, `live_regions`, plus everything asserted here).
pub async fn keyboard_and_labels(app: &Launched, page: &str, title: &str, lang: &str) -> Value {
    let session = app.session();
    assert!(session.switch_to_page(page).await, "the {page} window exists");
    let found = wait::until(&format!("the controls of {page}"), SOON, || async {
        let found = session
            .execute(
                r#"const visible = (el) => el.offsetParent !== null && !el.disabled;
                   const stop = (el) => el.type !== "radio" || el.checked;
                   const controls = [...document.querySelectorAll("button, input, textarea, select, a[href]")].filter(visible).filter(stop);
                   const fieldName = (f) => f.getAttribute("aria-label") || f.getAttribute("aria-labelledby")
                     || [...f.labels].map((l) => l.textContent.trim()).join(" ");
                   controls.forEach((c, i) => (c.dataset.tabTest = String(i)));
                   const named = (el) => (el.getAttribute("aria-label") || (el.getAttribute("aria-labelledby") || "").split(" ")
                     .map((id) => document.getElementById(id)).filter(Boolean).map((l) => l.textContent.trim()).join(" "));
                   return controls.length && {
                     controls: controls.length,
                     removed_from_tab_order: [...document.querySelectorAll("[tabindex]")]
                       .filter((el) => el.tabIndex < 0 && el.offsetParent !== null && el !== document.activeElement && el.matches("button, input, textarea, select, a[href]"))
                       .map((el) => el.outerHTML),
                     unlabelled: [...document.querySelectorAll("input, textarea, select")].filter((f) => !fieldName(f)).map((f) => f.outerHTML),
                     unnamed_buttons: [...document.querySelectorAll("button")].filter((b) => !b.textContent.trim() && !b.getAttribute("aria-label")).map((b) => b.outerHTML),
                     unnamed_items: [...document.querySelectorAll(".list > li")].filter((li) => !named(li)).map((li) => li.id),
                     labels: [...document.querySelectorAll("label")].filter(visible).map((l) => l.textContent.trim()),
                     live_regions: [...document.querySelectorAll("[aria-live], [role=alert], [role=status]")].map((el) => el.id),
                     lang: document.documentElement.lang,
                   };"#,
            )
            .await;
        (found.is_object()).then_some(found)
    })
    .await;
    assert_eq!(found["removed_from_tab_order"], json!([]), "{found:#}");
    assert_eq!(found["unlabelled"], json!([]), "{found:#}");
    assert_eq!(found["unnamed_buttons"], json!([]), "{found:#}");
    assert_eq!(found["unnamed_items"], json!([]), "{found:#}");
    assert_eq!(found["lang"], lang, "{found:#}");

    // Real Tab presses from the first control: the focus visits every other one once, in order.
    let controls = found["controls"].as_u64().expect("controls") as usize;
    // The keyboard goes to the window, as it does when the user clicks into it.
    super::run("xdotool", &["search", "--name", &format!("^{title}$"), "windowfocus", "--sync"]);
    session.execute("document.querySelector('[data-tab-test=\"0\"]').focus(); return true;").await;
    let focused = "const el = document.activeElement; return el ? (el.dataset.tabTest ?? el.id) : null;";
    let mut reached = Vec::new();
    let mut previous = json!("0");
    for _ in 1..controls {
        super::ask_box::keys(&["Tab"]);
        let now = wait::until("the focus to move on with Tab", SOON, || async {
            let now = session.execute(focused).await;
            (now != previous).then_some(now)
        })
        .await;
        reached.push(now.clone());
        previous = now;
    }
    let expected: Vec<Value> = (1..controls).map(|i| json!(i.to_string())).collect();
    assert_eq!(reached, expected, "Tab order over the controls of {page}");
    found
}
