//! Inbound calls on the desktop. The moment KallyAI's receptionist screens a call, the user gets
//! a notification naming the caller and why they call, with Take over and Reject that act at
//! once, without any window; the tray lists it; the call popup shows the live transcript. When
//! the call ends (or is handled elsewhere) the notification goes away.
//!
//! Which calls are live is the watcher's registry (`Watcher::live_calls`); what an action's
//! answer means (404/409: the call is over) is core's `call_action`. This feature keeps only
//! what the desktop adds: the call the popup shows, and the calls it acted on (their
//! notification shows the outcome, which the end of the call must not take away).

use std::collections::HashSet;
use std::sync::Mutex;

use kallyai_core::api::calls::TranscriptEntry;
use kallyai_core::api::inbound::InboundCall;
use kallyai_core::call_action::{self, CallAction, CallActionError};
use kallyai_core::settings::{CallAnnouncement, CurrentSettings};
use kallyai_core::watcher::caller_label;
use kallyai_core::Event;
use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager};

use crate::background::{follow, Heard};
use crate::core_handle::core;
use crate::error::CommandError;
use crate::view::i18n::{self, t, text};
use crate::view::notify::{notifier, Notice, Response};
use crate::view::tray::{self, CallEntry};
use crate::view::windows::{self, Panel, Raise};

/// What the popup shows: the call, its transcript so far, and whether it is still live.
#[derive(Clone, Debug, Serialize)]
pub struct CallDetails {
    pub call: InboundCall,
    pub caller: String,
    pub live: bool,
    pub transcript: Vec<TranscriptEntry>,
}

#[derive(Default)]
struct Calls {
    /// The newest call announced: the popup shows it while it is live, and after.
    latest: Mutex<Option<String>>,
    /// The call last opened in the popup on purpose (`show_call`): what a popup created for it
    /// loads, its page being too young to hear `call://select`. A new call replaces it.
    chosen: Mutex<Option<String>>,
    /// Calls this app took over, rejected or transferred: their notification shows the
    /// outcome now, and they leave the tray at once.
    settled: Mutex<HashSet<String>>,
}

fn key(call_id: &str) -> String {
    format!("call:{call_id}")
}

/// Starts following core's call events.
pub fn start(app: &AppHandle) {
    app.manage(Calls::default());
    follow(app, "calls", |app, heard| match heard {
        Heard::Event(event) => on_event(app, event),
        Heard::Missed => show_in_tray(app),
    });
}

/// Reacts to core's call events (the watcher already dropped duplicates).
fn on_event(app: &AppHandle, event: &Event) {
    let calls = app.state::<Calls>();
    match event {
        Event::CallRinging { call_id, caller_number, caller_name, is_vip, summary }
        | Event::CallStillLive { call_id, caller_number, caller_name, is_vip, summary } => {
            *calls.latest.lock().expect("calls lock") = Some(call_id.clone());
            calls.chosen.lock().expect("calls lock").take();
            show_in_tray(app);
            // A call announced before a restart was notified then; it only shows in the tray now.
            if matches!(event, Event::CallRinging { .. }) {
                let ringing = Ringing {
                    call_id,
                    caller: caller_label(caller_name.as_deref(), caller_number),
                    is_vip: *is_vip,
                    summary: summary.as_deref(),
                };
                announce(app, &ringing);
            }
        }
        Event::CallEnded { call_id, .. } => {
            // A settled call's notification shows the outcome: it stays for the user to read.
            if !calls.settled.lock().expect("calls lock").remove(call_id) {
                notifier(app).withdraw(&key(call_id));
            }
            show_in_tray(app);
        }
        Event::AuthChanged { signed_in: false } => {
            calls.latest.lock().expect("calls lock").take();
            calls.chosen.lock().expect("calls lock").take();
            calls.settled.lock().expect("calls lock").clear();
            // The watcher forgets its calls when it pauses; the tray does not wait for it.
            tray::show_calls(app, Vec::new());
        }
        _ => {}
    }
}

/// The live calls in the tray menu, but those this app already acted on.
fn show_in_tray(app: &AppHandle) {
    let settled = app.state::<Calls>().settled.lock().expect("calls lock").clone();
    let entries = core(app)
        .watcher
        .live_calls()
        .list()
        .into_iter()
        .filter(|call| !settled.contains(&call.id))
        .map(|call| CallEntry { caller: call.caller().to_string(), call_id: call.id, is_vip: call.is_vip })
        .collect();
    tray::show_calls(app, entries);
}

/// A new call, as `CallRinging` announced it (it may be over already when this runs).
struct Ringing<'a> {
    call_id: &'a str,
    caller: &'a str,
    is_vip: bool,
    summary: Option<&'a str>,
}

/// Announces a new call the way the settings say: a notification, the popup, or both.
fn announce(app: &AppHandle, call: &Ringing) {
    let asked = app.state::<CurrentSettings>().get().call_announcement();
    let announcement = announcement_here(asked, notifier(app).has_actions());
    if announcement.notification {
        notify_ringing(app, call);
    }
    if announcement.popup {
        // The call comes to the user; the keyboard stays where they are typing.
        open_popup(app, call.call_id.to_string(), Raise::Unfocused);
    }
}

/// The announcement the settings ask for, on this platform: where notifications have no buttons
/// (macOS, Windows) the popup is what takes over or rejects the call, so it shows even when the
/// settings ask for the notification alone.
fn announcement_here(asked: CallAnnouncement, notices_have_actions: bool) -> CallAnnouncement {
    CallAnnouncement { popup: asked.popup || !notices_have_actions, ..asked }
}

fn notify_ringing(app: &AppHandle, call: &Ringing) {
    let lang = i18n::lang(app);
    let vip = if call.is_vip { format!("★ {} · ", text(lang, "call.vip")) } else { String::new() };
    let notice = Notice {
        key: key(call.call_id),
        title: format!("{vip}{}", t(lang, "call.notify.title", &[("caller", call.caller)])),
        body: call.summary.map_or_else(|| text(lang, "call.notify.body"), str::to_string),
        actions: vec![("takeover".into(), text(lang, "call.takeover")), ("reject".into(), text(lang, "call.reject"))],
        clickable: true,
        sticky: true,
    };
    let app = app.clone();
    let call_id = call.call_id.to_string();
    notifier(&app).show(
        notice,
        Box::new(move |response| {
            let action = match response {
                Response::Action(a) if a == "takeover" => CallAction::Takeover,
                Response::Action(a) if a == "reject" => CallAction::reject_by_user(),
                Response::Default => return windows::show(&app, Panel::Call),
                _ => return,
            };
            tauri::async_runtime::spawn(async move {
                // The outcome replaces the notification; nothing else to do with the result here.
                let _ = call_action(app, call_id, action).await;
            });
        }),
    );
}

/// Takes over, rejects or transfers a call, then says how it went in the notification's place.
#[tauri::command]
pub async fn call_action(app: AppHandle, call_id: String, action: CallAction) -> Result<String, CommandError> {
    let lang = i18n::lang(&app);
    let core = core(&app);
    let settled = app.state::<Calls>().settled.lock().expect("calls lock").contains(&call_id);
    let known = core.watcher.live_calls().get(&call_id).filter(|_| !settled);
    let caller = known.as_ref().map_or_else(|| text(lang, "call.the_caller"), |c| c.caller().to_string());
    match call_action::perform(&core.client, &call_id, &action).await {
        Ok(()) => {}
        Err(CallActionError::InvalidNumber) => {
            return Err(CommandError::new("invalid_number", text(lang, "call.error.number")));
        }
        Err(CallActionError::CallEnded(error)) => {
            let ended = text(lang, "call.error.ended");
            show_outcome(&app, &call_id, &ended);
            return Err(CommandError::new(error.code(), ended));
        }
        Err(CallActionError::Failed(error)) => {
            tracing::warn!(code = error.code(), "call action failed");
            return Err(error.into());
        }
    }
    tracing::info!(action = action.name(), "call action done");
    let (outcome_key, number) = match &action {
        CallAction::Takeover => ("call.outcome.taken_over", ""),
        CallAction::Reject { .. } => ("call.outcome.rejected", ""),
        CallAction::Transfer { number } => ("call.outcome.transferred", number.as_str()),
    };
    let outcome = t(lang, outcome_key, &[("caller", &caller), ("number", number)]);
    if known.is_some() {
        app.state::<Calls>().settled.lock().expect("calls lock").insert(call_id.clone());
        show_in_tray(&app);
    }
    show_outcome(&app, &call_id, &outcome);
    Ok(outcome)
}

/// Replaces the call's notification with a short-lived one that says what happened.
fn show_outcome(app: &AppHandle, call_id: &str, outcome: &str) {
    let notice = Notice {
        key: key(call_id),
        title: text(i18n::lang(app), "window.call"),
        body: outcome.to_string(),
        actions: vec![],
        clickable: false,
        sticky: false,
    };
    notifier(app).show(notice, Box::new(|_| {}));
}

/// The call for the popup: `call_id`, or the one chosen for it, or the current one (the newest
/// live call, else the last one announced).
#[tauri::command]
pub async fn call_details(app: AppHandle, call_id: Option<String>) -> Result<Option<CallDetails>, CommandError> {
    let core = core(&app);
    let chosen = || app.state::<Calls>().chosen.lock().expect("calls lock").clone();
    let Some(call_id) = call_id.or_else(chosen).or_else(|| current(&app)) else { return Ok(None) };
    let inbound = core.client.inbound();
    let call = inbound.call(&call_id).await?;
    // A transcript may not exist yet for a call that just started.
    let transcript = inbound.transcript(&call_id).await.map(|t| t.entries).unwrap_or_default();
    let caller = caller_label(call.caller_name.as_deref(), call.caller_number.as_deref().unwrap_or("")).to_string();
    Ok(Some(CallDetails { live: call.status.is_live(), caller, call, transcript }))
}

fn current(app: &AppHandle) -> Option<String> {
    let live = core(app).watcher.live_calls().list();
    let latest = app.state::<Calls>().latest.lock().expect("calls lock").clone();
    match latest {
        Some(id) if live.iter().any(|c| c.id == id) => Some(id),
        latest => live.first().map(|c| c.id.clone()).or(latest),
    }
}

/// Opens the call popup on one call, focused: the user asked for it (the tray, a window).
#[tauri::command]
pub fn show_call(app: AppHandle, call_id: String) {
    open_popup(&app, call_id, Raise::Focused);
}

fn open_popup(app: &AppHandle, call_id: String, raise: Raise) {
    *app.state::<Calls>().chosen.lock().expect("calls lock") = Some(call_id.clone());
    let _ = app.emit_to(Panel::Call.label(), "call://select", call_id);
    windows::show_raised(app, Panel::Call, raise);
}

#[cfg(test)]
mod tests {
    use kallyai_core::settings::{CallAlert, Settings};

    use super::*;

    fn asked(call_alert: CallAlert, notify_calls: bool) -> CallAnnouncement {
        Settings { call_alert, notify_calls, ..Settings::default() }.call_announcement()
    }

    #[test]
    fn with_notification_buttons_the_settings_decide_alone() {
        for alert in [CallAlert::Notification, CallAlert::Popup, CallAlert::Both] {
            for notify_calls in [true, false] {
                assert_eq!(announcement_here(asked(alert, notify_calls), true), asked(alert, notify_calls));
            }
        }
    }

    #[test]
    fn without_notification_buttons_the_popup_always_shows() {
        let both = CallAnnouncement { notification: true, popup: true };
        let popup_only = CallAnnouncement { notification: false, popup: true };
        // The default: the notification still announces the call, the popup offers the buttons.
        assert_eq!(announcement_here(asked(CallAlert::Notification, true), false), both);
        assert_eq!(announcement_here(asked(CallAlert::Both, true), false), both);
        assert_eq!(announcement_here(asked(CallAlert::Popup, true), false), popup_only);
        for alert in [CallAlert::Notification, CallAlert::Popup, CallAlert::Both] {
            assert_eq!(announcement_here(asked(alert, false), false), popup_only);
        }
    }
}
