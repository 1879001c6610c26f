//! Which of core's events reach the windows (`core://event`), and when. Every event does, with
//! one exception: an ask's way stations, queued and sending, reach them only once they have
//! lasted [`STEP_SHOWN_AFTER`]. An ask answered (or refused, or put back) sooner goes straight to
//! its outcome. A state that lasts a millisecond is never drawn, so nothing flickers, and the
//! box's reply is not held up behind scripts run in its page for states nobody could read
//! (measured by `make bench`'s `ask_overhead_median_ms`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use kallyai_core::Event;
use tauri::{AppHandle, Emitter, Manager};

/// How long an ask must stay queued or sending before the windows are told. Below what a person
/// notices, above an answer from a nearby server.
pub const STEP_SHOWN_AFTER: Duration = Duration::from_millis(100);

/// The newest way station of each ask not passed on yet, by local id, numbered so that a later
/// event about the same ask cancels it.
#[derive(Default)]
pub struct HeldSteps(Mutex<Steps>);

#[derive(Default)]
struct Steps {
    held: HashMap<String, u64>,
    numbered: u64,
}

impl Steps {
    /// Holds a way station of `local_id` (replacing any held before); its number.
    fn hold(&mut self, local_id: &str) -> u64 {
        self.numbered += 1;
        self.held.insert(local_id.to_string(), self.numbered);
        self.numbered
    }

    /// Whether the way station `number` is still the newest word on `local_id` once it has
    /// lasted: then it is passed on, once.
    fn lasted(&mut self, local_id: &str, number: u64) -> bool {
        let newest = self.held.get(local_id) == Some(&number);
        if newest {
            self.held.remove(local_id);
        }
        newest
    }

    /// Something more telling happened to `local_id`: what was held about it is old news.
    fn settle(&mut self, local_id: &str) {
        self.held.remove(local_id);
    }
}

impl HeldSteps {
    fn lock(&self) -> std::sync::MutexGuard<'_, Steps> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Passes `event` on to every window, now or (a way station) once it has lasted. Events are
/// emitted under the lock, so a way station found to have lasted at the moment its ask's
/// outcome arrives reaches the windows before that outcome, never after it.
pub fn forward(app: &AppHandle, event: &Event) {
    let held = app.state::<HeldSteps>();
    let mut steps = held.lock();
    match event {
        Event::AskQueued { local_id } | Event::AskSending { local_id } => {
            let number = steps.hold(local_id);
            let (app, event, local_id) = (app.clone(), event.clone(), local_id.clone());
            tauri::async_runtime::spawn(async move {
                tokio::time::sleep(STEP_SHOWN_AFTER).await;
                let held = app.state::<HeldSteps>();
                let mut steps = held.lock();
                if steps.lasted(&local_id, number) {
                    let _ = app.emit("core://event", &event);
                }
            });
        }
        _ => {
            if let Some(local_id) = ask_of(event) {
                steps.settle(local_id);
            }
            let _ = app.emit("core://event", event);
        }
    }
}

/// The ask an `Ask*` event is about.
fn ask_of(event: &Event) -> Option<&str> {
    match event {
        Event::AskQueued { local_id }
        | Event::AskSending { local_id }
        | Event::AskChecking { local_id }
        | Event::AskMaybeSent { local_id, .. }
        | Event::AskWaiting { local_id, .. }
        | Event::AskFailed { local_id, .. }
        | Event::AskDiscarded { local_id }
        | Event::AskSent { local_id, .. } => Some(local_id),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_way_station_that_lasted_is_passed_on_once() {
        let mut steps = Steps::default();
        let queued = steps.hold("a");
        assert!(steps.lasted("a", queued));
        assert!(!steps.lasted("a", queued), "passed on twice");
    }

    #[test]
    fn a_later_step_or_an_outcome_makes_a_held_step_old_news() {
        let mut steps = Steps::default();
        let queued = steps.hold("a");
        let sending = steps.hold("a");
        assert!(!steps.lasted("a", queued), "queued was followed by sending");
        assert!(steps.lasted("a", sending));

        let sending = steps.hold("b");
        steps.settle("b");
        assert!(!steps.lasted("b", sending), "the answer came first");
    }

    #[test]
    fn asks_are_held_apart() {
        let mut steps = Steps::default();
        let a = steps.hold("a");
        let b = steps.hold("b");
        steps.settle("a");
        assert!(steps.lasted("b", b));
        assert!(!steps.lasted("a", a));
    }
}
