//! Inbound calls on the desktop. The moment KallyAI's receptionist screens a call, the user gets
//! a notification naming the caller and why they call, with Take over and Reject that act at
//! once, without any window; the tray rings; the call popup shows the live transcript. When the
//! call ends (or is handled elsewhere) the notification goes away.

use std::collections::HashMap;
use std::sync::Mutex;

use kallyai_core::api::calls::TranscriptEntry;
use kallyai_core::api::inbound::InboundCall;
use kallyai_core::Event;
use serde::Serialize;
use tauri::{AppHandle, Emitter};

use crate::error::CommandError;
use crate::i18n::text;
use crate::notify::{Notice, Response};
use crate::settings::CallAlert;
use crate::shell::shell;
use crate::windows::{self, Panel};

/// What the user can do to a live call.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum CallAction {
    Takeover,
    Reject { reason: Option<String> },
    Transfer { number: String },
}

impl CallAction {
    fn name(&self) -> &'static str {
        match self {
            CallAction::Takeover => "takeover",
            CallAction::Reject { .. } => "reject",
            CallAction::Transfer { .. } => "transfer",
        }
    }
}

/// A call the app knows to be live.
#[derive(Clone, Debug, Serialize)]
pub struct LiveCall {
    pub call_id: String,
    pub caller: String,
    pub caller_number: String,
    pub is_vip: bool,
    pub summary: Option<String>,
}

/// What the popup shows: the call, its transcript so far, and whether it is still live.
#[derive(Clone, Debug, Serialize)]
pub struct CallDetails {
    pub call: InboundCall,
    pub caller: String,
    pub live: bool,
    pub transcript: Vec<TranscriptEntry>,
}

/// Live calls by id, and which notifications already show an outcome (so the end of the call
/// does not take the outcome away before the user read it).
#[derive(Default)]
pub struct Calls {
    live: Mutex<HashMap<String, LiveCall>>,
    latest: Mutex<Option<String>>,
}

fn key(call_id: &str) -> String {
    format!("call:{call_id}")
}

fn caller_label(name: Option<&str>, number: &str) -> String {
    name.filter(|n| !n.trim().is_empty()).unwrap_or(number).to_string()
}

impl Calls {
    pub fn live(&self) -> Vec<LiveCall> {
        self.live.lock().expect("calls lock").values().cloned().collect()
    }

    pub fn clear(&self) {
        self.live.lock().expect("calls lock").clear();
        self.latest.lock().expect("calls lock").take();
    }

    fn remember(&self, call: LiveCall) {
        *self.latest.lock().expect("calls lock") = Some(call.call_id.clone());
        self.live.lock().expect("calls lock").insert(call.call_id.clone(), call);
    }

    fn forget(&self, call_id: &str) -> Option<LiveCall> {
        self.live.lock().expect("calls lock").remove(call_id)
    }

    fn get(&self, call_id: &str) -> Option<LiveCall> {
        self.live.lock().expect("calls lock").get(call_id).cloned()
    }

    /// The call the popup should show: the newest live one, else the last one seen.
    fn current(&self) -> Option<String> {
        let latest = self.latest.lock().expect("calls lock").clone();
        let live = self.live.lock().expect("calls lock");
        latest.filter(|id| live.contains_key(id)).or_else(|| live.keys().next().cloned()).or_else(|| {
            drop(live);
            self.latest.lock().expect("calls lock").clone()
        })
    }
}

/// Reacts to core's call events (the watcher already dropped duplicates).
pub fn on_event(app: &AppHandle, event: &Event) {
    let shell = shell(app);
    match event {
        Event::CallRinging { call_id, caller_number, caller_name, is_vip, summary }
        | Event::CallStillLive { call_id, caller_number, caller_name, is_vip, summary } => {
            let call = LiveCall {
                call_id: call_id.clone(),
                caller: caller_label(caller_name.as_deref(), caller_number),
                caller_number: caller_number.clone(),
                is_vip: *is_vip,
                summary: summary.clone(),
            };
            shell.calls.remember(call.clone());
            shell.refresh_tray_calls(app);
            // A call announced before a restart was notified then; it only rings in the tray now.
            if matches!(event, Event::CallRinging { .. }) {
                alert(app, &call);
            }
        }
        Event::CallEnded { call_id, .. } => {
            if shell.calls.forget(call_id).is_some() {
                shell.notifier.withdraw(&key(call_id));
            }
            shell.refresh_tray_calls(app);
        }
        _ => {}
    }
}

/// Announces a new call the way the settings say: a notification, the popup, or both.
fn alert(app: &AppHandle, call: &LiveCall) {
    let shell = shell(app);
    let alert = shell.settings.call_alert();
    let notifications_on = shell.settings.notify_calls();
    if notifications_on && alert != CallAlert::Popup {
        notify_ringing(app, call);
    }
    // Without a notification, the popup does the job.
    if alert != CallAlert::Notification || !notifications_on {
        let _ = app.emit_to(Panel::Call.label(), "call://select", call.call_id.clone());
        windows::show(app, Panel::Call);
    }
}

fn notify_ringing(app: &AppHandle, call: &LiveCall) {
    let shell = shell(app);
    let lang = shell.lang();
    let vip = if call.is_vip { format!("★ {} · ", text(lang, "call.vip")) } else { String::new() };
    let notice = Notice {
        key: key(&call.call_id),
        title: format!("{vip}{}", text(lang, "call.notify.title").replace("{caller}", &call.caller)),
        body: call.summary.clone().unwrap_or_else(|| text(lang, "call.notify.body")),
        actions: vec![("takeover".into(), text(lang, "call.takeover")), ("reject".into(), text(lang, "call.reject"))],
        clickable: true,
        sticky: true,
    };
    let app = app.clone();
    let call_id = call.call_id.clone();
    shell.notifier.show(
        notice,
        Box::new(move |response| {
            let action = match response {
                Response::Action(a) if a == "takeover" => CallAction::Takeover,
                Response::Action(a) if a == "reject" => CallAction::Reject { reason: Some("user_rejected".into()) },
                Response::Default => return windows::show(&app, Panel::Call),
                _ => return,
            };
            tauri::async_runtime::spawn(async move {
                // The outcome replaces the notification; nothing else to do with the result here.
                let _ = act(&app, &call_id, action).await;
            });
        }),
    );
}

/// Takes over, rejects or transfers a call, then says how it went in the notification's place.
pub async fn act(app: &AppHandle, call_id: &str, action: CallAction) -> Result<String, CommandError> {
    let shell = shell(app);
    let lang = shell.lang();
    let caller = shell.calls.get(call_id).map(|c| c.caller).unwrap_or_else(|| text(lang, "call.the_caller"));
    let inbound = shell.client.inbound();
    let (result, outcome_key) = match &action {
        CallAction::Takeover => (inbound.takeover(call_id).await, "call.outcome.taken_over"),
        CallAction::Reject { reason } => (inbound.reject(call_id, reason.as_deref()).await, "call.outcome.rejected"),
        CallAction::Transfer { number } => {
            if !is_e164(number) {
                return Err(CommandError::new("invalid_number", text(lang, "call.error.number")));
            }
            (inbound.transfer(call_id, number).await, "call.outcome.transferred")
        }
    };
    let outcome = match result {
        Ok(_) => {
            let number = match &action {
                CallAction::Transfer { number } => number.as_str(),
                _ => "",
            };
            text(lang, outcome_key).replace("{caller}", &caller).replace("{number}", number)
        }
        Err(error) if matches!(error.status(), Some(404 | 409)) => {
            let ended = text(lang, "call.error.ended");
            show_outcome(app, call_id, &ended);
            return Err(CommandError::new(error.code(), ended));
        }
        Err(error) => {
            tracing::warn!(code = error.code(), "call action failed");
            return Err(CommandError::from(error));
        }
    };
    tracing::info!(action = action.name(), "call action done");
    shell.calls.forget(call_id);
    shell.refresh_tray_calls(app);
    show_outcome(app, call_id, &outcome);
    Ok(outcome)
}

/// Replaces the call's notification with a short-lived one that says what happened.
fn show_outcome(app: &AppHandle, call_id: &str, outcome: &str) {
    let shell = shell(app);
    let notice = Notice {
        key: key(call_id),
        title: text(shell.lang(), "window.call"),
        body: outcome.to_string(),
        actions: vec![],
        clickable: false,
        sticky: false,
    };
    shell.notifier.show(notice, Box::new(|_| {}));
}

/// `+` and 8 to 15 digits, the first not 0 (E.164, as the API validates it).
pub fn is_e164(number: &str) -> bool {
    let Some(digits) = number.strip_prefix('+') else { return false };
    (8..=15).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit()) && !digits.starts_with('0')
}

/// The call for the popup: `call_id`, or the current one.
pub async fn details(app: &AppHandle, call_id: Option<String>) -> Result<Option<CallDetails>, CommandError> {
    let shell = shell(app);
    let Some(call_id) = call_id.or_else(|| shell.calls.current()) else { return Ok(None) };
    let inbound = shell.client.inbound();
    let call = inbound.call(&call_id).await?;
    // A transcript may not exist yet for a call that just started.
    let transcript = inbound.transcript(&call_id).await.map(|t| t.entries).unwrap_or_default();
    let caller = caller_label(call.caller_name.as_deref(), call.caller_number.as_deref().unwrap_or(""));
    Ok(Some(CallDetails { live: call.status.is_live(), caller, call, transcript }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164_numbers() {
        assert!(is_e164("+15551234567"));
        assert!(is_e164("+34911234567"));
        assert!(!is_e164("15551234567"));
        assert!(!is_e164("+0555123456"));
        assert!(!is_e164("+1 555 123 4567"));
        assert!(!is_e164("+1234567"));
        assert!(!is_e164("+1234567890123456"));
    }

    #[test]
    fn caller_falls_back_to_the_number() {
        assert_eq!(caller_label(Some("Dr. Smith"), "+1555"), "Dr. Smith");
        assert_eq!(caller_label(Some("  "), "+1555"), "+1555");
        assert_eq!(caller_label(None, "+1555"), "+1555");
    }
}
