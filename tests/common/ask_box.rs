//! The quick-ask box as a user meets it: summoned with the real hotkey, typed into with real key
//! presses (xdotool, through the X server), and read through WebDriver (its DOM). Clicks on the
//! box's buttons are DOM clicks on the element a user would press.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::launcher::Launched;
use super::{wait, x11};

/// The box's window title on the X server (`window.ask` in en.json).
pub const TITLE: &str = "Ask KallyAI";

/// The outbox the app keeps in its data dir (a test starts without one left by another test).
pub fn outbox_file() -> PathBuf {
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".local/share"));
    data.join("ai.kally.desktop").join("outbox.json")
}

/// What the outbox on disk holds (its snapshot and journal read as the app reads them), `None`
/// when there is none.
pub fn outbox_on_disk() -> Option<Value> {
    kallyai_core::ask::read_on_disk(&outbox_file()).expect("the outbox files are readable")
}

/// Removes the outbox (snapshot and journal), so a test starts without one left by another.
pub fn remove_outbox() {
    let file = outbox_file();
    for path in [file.with_extension("journal"), file] {
        let _ = std::fs::remove_file(path);
    }
}

/// Sends key presses to whatever has the keyboard focus, as a keyboard would.
pub fn keys(keys: &[&str]) {
    let status = std::process::Command::new("xdotool").arg("key").args(keys).status();
    assert!(matches!(status, Ok(s) if s.success()), "xdotool key {keys:?}: {status:?}");
}

/// Types `text` into whatever has the keyboard focus.
pub fn type_text(text: &str) {
    let status = std::process::Command::new("xdotool").args(["type", "--delay", "20", "--", text]).status();
    assert!(matches!(status, Ok(s) if s.success()), "xdotool type: {status:?}");
}

/// The box's state, read from its DOM in one script.
const SNAPSHOT: &str = r#"
const $ = (id) => document.getElementById(id);
const text = (id) => ($(id) ? $(id).textContent : null);
return {
  visibility: document.visibilityState,
  has_focus: document.hasFocus(),
  active: document.activeElement ? document.activeElement.id : null,
  input: $("ask-input").value,
  answer_shown: !$("answer").hidden,
  question: text("question"),
  reply: text("reply"),
  reply_elements: $("reply").querySelectorAll("*").length,
  reply_markup: $("reply").querySelectorAll("img, script, iframe, object, embed").length,
  credits_used: text("credits-used"),
  suggestions: [...$("suggestions").querySelectorAll("button")].map((b) => b.textContent),
  suggestion: text("suggestion"),
  signed_out_shown: !$("face-signed-out").hidden,
  queue: [...$("queue").querySelectorAll("li")].map((li) => ({
    text: li.querySelector("p").textContent,
    kind: li.classList.contains("failed") ? "failed" : li.classList.contains("sending") ? "sending" : "queued",
    status: li.querySelectorAll("p")[1] ? li.querySelectorAll("p")[1].textContent : "",
    buttons: [...li.querySelectorAll("button")].map((b) => b.textContent),
  })),
  goal_shown: !$("goal").hidden,
  goal_title: text("goal-title"),
  goal_status: text("goal-status"),
  goal_steps: [...$("goal-steps").querySelectorAll("li")].map((li) => li.textContent),
  goal_actions: [...$("goal-actions").querySelectorAll("button")].map((b) => b.textContent),
  goal_error: text("goal-error"),
  cost_hint: text("cost-hint"),
};
"#;

pub struct AskBox<'a> {
    app: &'a Launched,
}

impl<'a> AskBox<'a> {
    /// The box's webview (it exists from the start, hidden).
    pub async fn of(app: &'a Launched) -> AskBox<'a> {
        let found = wait::until("the ask window in WebDriver", Duration::from_secs(20), || async {
            app.session().switch_to_page("ask.html").await.then_some(())
        });
        found.await;
        let ask = AskBox { app };
        ask.until("the box's script to start", |s| s["input"].is_string().then_some(())).await;
        ask
    }

    pub async fn execute(&self, script: &str) -> Value {
        self.app.session().switch_to_page("ask.html").await;
        self.app.session().execute(script).await
    }

    pub async fn snapshot(&self) -> Value {
        self.execute(SNAPSHOT).await
    }

    /// Waits until `check` accepts the box's state; the failure message shows the last state.
    pub async fn until<T>(&self, what: &str, mut check: impl FnMut(&Value) -> Option<T>) -> T {
        self.until_within(what, Duration::from_secs(30), &mut check).await
    }

    pub async fn until_within<T>(
        &self,
        what: &str,
        timeout: Duration,
        check: &mut impl FnMut(&Value) -> Option<T>,
    ) -> T {
        let mut polling = wait::Polling::new(timeout);
        loop {
            polling.tick().await;
            let state = self.snapshot().await;
            if let Some(value) = check(&state) {
                return value;
            }
            assert!(!polling.expired(), "timed out after {timeout:?} waiting for {what}; box: {state:#}");
        }
    }

    /// Marks the loaded page, so a test can prove later that the box was never reloaded.
    pub async fn mark_page(&self) {
        self.execute("window.__quickAskTestMark = true; return true;").await;
    }

    /// Whether the page is still the one marked by `mark_page` (a reload drops the mark).
    pub async fn same_page(&self) -> bool {
        self.execute("return window.__quickAskTestMark !== undefined").await == Value::Bool(true)
    }

    /// Presses the button labelled `label` inside `container_css` (a DOM click, as a user's).
    pub async fn click(&self, container_css: &str, label: &str) {
        let script = format!(
            "const b = [...document.querySelectorAll({css} + ' button')].find((b) => b.textContent === {label});
             if (!b) return [...document.querySelectorAll({css} + ' button')].map((b) => b.textContent);
             b.click(); return true;",
            css = serde_json::to_string(container_css).unwrap(),
            label = serde_json::to_string(label).unwrap(),
        );
        let clicked = self.execute(&script).await;
        assert_eq!(clicked, Value::Bool(true), "no button '{label}' in {container_css}; there are: {clicked}");
    }

    /// Whether the box is mapped and viewable on the X server.
    pub fn on_screen(&self) -> bool {
        x11::window_viewable(TITLE)
    }

    pub async fn wait_on_screen(&self, shown: bool) {
        let what = if shown { "the box on screen" } else { "the box to be hidden" };
        wait::until_sync(what, Duration::from_secs(15), || (self.on_screen() == shown).then_some(())).await
    }

    /// Waits until the box is on screen with the keyboard focus in its input, so key presses
    /// land there.
    pub async fn wait_focused(&self) {
        self.wait_on_screen(true).await;
        self.until("the input to have the keyboard focus", |s| {
            (s["visibility"] == "visible" && s["has_focus"] == true && s["active"] == "ask-input").then_some(())
        })
        .await
    }

    /// Types an ask with the keyboard and presses Enter.
    pub async fn ask(&self, text: &str) {
        self.wait_focused().await;
        type_text(text);
        self.until("the typed text in the input", |s| (s["input"] == text).then_some(())).await;
        keys(&["Return"]);
    }

    /// Waits for the reply to `question` and returns the box's state.
    pub async fn wait_reply_to(&self, question: &str) -> Value {
        self.until(&format!("the reply to '{question}'"), |s| {
            (s["answer_shown"] == true
                && s["question"] == question
                && s["reply"].as_str().is_some_and(|r| !r.is_empty()))
            .then(|| s.clone())
        })
        .await
    }
}

impl AskBox<'_> {
    /// Waits until the box has painted what its DOM holds now (two animation frames later), so
    /// a screenshot shows it.
    pub async fn wait_painted(&self) {
        self.execute(
            "window.__quickAskPainted = false;
             requestAnimationFrame(() => requestAnimationFrame(() => (window.__quickAskPainted = true)));
             return true;",
        )
        .await;
        wait::until("the box to paint", Duration::from_secs(10), || async {
            (self.execute("return window.__quickAskPainted === true").await == Value::Bool(true)).then_some(())
        })
        .await
    }

    /// A screenshot of the box as it is now (cut from the whole screen), saved to `path`.
    pub async fn screenshot(&self, path: &Path) -> PathBuf {
        self.wait_painted().await;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("screenshot dir");
        }
        let (x, y, width, height) = x11::window_geometry(TITLE).expect("the box's place on screen");
        let crop = format!("{width}x{height}+{x}+{y}");
        let status = std::process::Command::new("import")
            .args(["-window", "root", "-crop", &crop, "+repage"])
            .arg(path)
            .status();
        assert!(matches!(status, Ok(s) if s.success()), "screenshot failed: {status:?}");
        path.to_path_buf()
    }
}

/// Saves a screenshot of the whole screen (the box as a user sees it) to `path` and returns it.
pub fn screenshot_to(path: &Path) -> PathBuf {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("screenshot dir");
    }
    super::screenshot(path);
    path.to_path_buf()
}
