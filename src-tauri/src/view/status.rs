//! What the app says about itself: the tray's icon and first line, and the app state every
//! window reads (`app_state`, `app://state`). It follows core's events for what they change here
//! (signed in, online, calls being screened, items pending) and passes every event on to the
//! windows (`core://event`, through `event_forwarding`). The sign-in feature tells it the
//! sign-in window's phase and who is signed in; the credits line comes from core's credit watch.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use kallyai_core::auth::Keychain;
use kallyai_core::credit_watch::{CreditStatus, CreditWatch};
use kallyai_core::settings::{CurrentSettings, Lang};
use kallyai_core::watcher::LiveCalls;
use kallyai_core::Event;
use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager};

use super::event_forwarding;
use super::i18n::{self, format_credits, short_date, t, text};
use super::tray::{self, TrayState};
use crate::background::{follow, Heard};
use crate::core_handle::core;

/// What every window may know about the app (never a token).
#[derive(Clone, Debug, Serialize)]
pub struct AppState {
    /// Grows with every state sent to the windows: a page keeps the newest it has seen, whether
    /// it came from `app_state` or from `app://state`, so a page still starting misses nothing
    /// and never draws an older state over a newer one.
    pub revision: u64,
    pub version: &'static str,
    pub api_base: String,
    pub lang: Lang,
    pub signed_in: bool,
    pub online: bool,
    /// Who is signed in, when the server says.
    pub account_name: Option<String>,
    /// False when no keychain could be used: the sign-in lasts until the app quits.
    pub session_saved: bool,
    /// The keyring is locked or not answering: a saved sign-in is read once it answers.
    pub keyring_locked: bool,
    /// Whether `signed_in` is the answer: false while a saved sign-in may still be read (at start,
    /// and while the keyring is locked). Nothing that belongs to an account is forgotten before.
    pub session_known: bool,
    /// The quick-ask shortcut as stored (`CommandOrControl+Alt+K`): the welcome names it.
    pub hotkey: String,
    pub signin: SignInView,
}

/// Where the sign-in window is.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    #[default]
    Idle,
    Waiting,
    Failed,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct SignInView {
    pub phase: Phase,
    /// One sentence about the last problem, for the user.
    pub message: Option<String>,
}

pub struct Status {
    /// What the keychain probe found (until it says otherwise, the keychain is usable).
    keychain: Mutex<Keychain>,
    /// Whether the saved sign-in has been read (see `AppState::session_known`).
    session_known: AtomicBool,
    inner: Mutex<Inner>,
    /// Held while the tray is redrawn and the windows told: two refreshes racing must show the
    /// state in the order they read it, or an older "idle" could be drawn over a newer
    /// "ringing", or a state without the account name sent after the one with it.
    /// The revision of the last state sent, guarded by the same lock.
    redraw: Mutex<u64>,
}

#[derive(Clone, Debug, Default)]
struct Inner {
    signed_in: bool,
    online: bool,
    /// Whether a call is being screened (as the watcher's registry said at the last call
    /// event); the tray rings meanwhile.
    ringing: bool,
    /// Items waiting for the user (approvals, goals needing input, messages).
    pending: u64,
    account_name: Option<String>,
    signin: SignInView,
}

impl Inner {
    fn tray_state(&self) -> TrayState {
        match (self.signed_in, self.online) {
            (false, _) => TrayState::SignedOut,
            (true, false) => TrayState::Offline,
            _ if self.ringing => TrayState::Ringing,
            _ if self.pending > 0 => TrayState::Attention,
            _ => TrayState::Idle,
        }
    }

    /// Applies `event`; true when what the tray or the windows show changed.
    fn apply(&mut self, event: &Event, live_calls: &LiveCalls) -> bool {
        let before = self.tray_state();
        match event {
            Event::AuthChanged { signed_in } => {
                self.signed_in = *signed_in;
                if !signed_in {
                    self.ringing = false;
                    self.pending = 0;
                    self.account_name = None;
                }
            }
            Event::ConnectivityChanged { online } => self.online = *online,
            Event::CallRinging { .. } | Event::CallStillLive { .. } | Event::CallEnded { .. } => {
                self.ringing = !live_calls.is_empty();
            }
            Event::NotificationsChanged { total_pending } => self.pending = *total_pending,
            _ => {}
        }
        before != self.tray_state() || matches!(event, Event::AuthChanged { .. } | Event::ConnectivityChanged { .. })
    }
}

impl Status {
    pub fn new() -> Status {
        let inner = Inner { online: true, ..Inner::default() };
        Status {
            keychain: Mutex::new(Keychain::Usable),
            session_known: AtomicBool::new(false),
            inner: Mutex::new(inner),
            redraw: Mutex::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("status lock")
    }
}

/// The state as of `revision`.
fn state_at(app: &AppHandle, revision: u64) -> AppState {
    let status = app.state::<Status>();
    let inner = status.lock().clone();
    let keychain = *status.keychain.lock().expect("keychain lock");
    AppState {
        revision,
        version: env!("CARGO_PKG_VERSION"),
        api_base: core(app).client.config().api_base().to_string(),
        lang: i18n::lang(app),
        signed_in: inner.signed_in,
        online: inner.online,
        account_name: inner.account_name,
        session_saved: keychain == Keychain::Usable,
        keyring_locked: keychain == Keychain::Waiting,
        session_known: status.session_known.load(Ordering::Relaxed),
        hotkey: app.try_state::<CurrentSettings>().map(|s| s.get().hotkey).unwrap_or_default(),
        signin: inner.signin,
    }
}

/// The state now. Read under the redraw lock, so its revision says which sent states are older.
pub fn state(app: &AppHandle) -> AppState {
    let status = app.state::<Status>();
    let revision = status.redraw.lock().expect("redraw lock");
    state_at(app, *revision)
}

/// Async, so it runs off the main thread: a refresh holds the redraw lock while the tray is
/// redrawn on the main thread, and a sync command waiting for that lock there would deadlock.
#[tauri::command]
pub async fn app_state(app: AppHandle) -> AppState {
    state(&app)
}

/// What the keychain probe found; the tray and the windows are told when it changes.
pub fn set_keychain(app: &AppHandle, found: Keychain) {
    let was = std::mem::replace(&mut *app.state::<Status>().keychain.lock().expect("keychain lock"), found);
    if was != found {
        refresh(app);
    }
}

/// The saved sign-in has been read (or there is none to read): `signed_in` is the answer.
pub fn set_session_known(app: &AppHandle) {
    if !app.state::<Status>().session_known.swap(true, Ordering::Relaxed) {
        refresh(app);
    }
}

/// Redraws the tray and tells every window the app state. The tray is redrawn on the main thread
/// by a task queued under the redraw lock (so redraws keep their order), never waited for: a
/// refresh that held the lock while waiting for the main thread deadlocked against anything on
/// the main thread that refreshes too (a sync command, a menu click). Fresh-clone CI caught it
/// once: the tray kept its old credits line while the app stood still.
pub fn refresh(app: &AppHandle) {
    let status = app.state::<Status>();
    let mut revision = status.redraw.lock().expect("redraw lock");
    *revision += 1;
    let state = state_at(app, *revision);
    let tray_state = status.lock().tray_state();
    let status_line = credits_status(app).and_then(|credits| credits_line(state.lang, &credits));
    let status_line = status_line.filter(|_| state.signed_in && state.online);
    // Not signed in because the saved sign-in is not read yet (at start; while the keyring is
    // locked), not because nobody signed in.
    let status_line = match (state.signed_in, state.keyring_locked, state.session_known) {
        (false, true, _) => Some(text(state.lang, "tray.status.keyring_locked")),
        (false, false, false) => Some(text(state.lang, "tray.status.checking")),
        _ => status_line,
    };
    let (drawer, lang) = (app.clone(), state.lang);
    let queued = app.run_on_main_thread(move || {
        if let Some(tray) = tray::tray(&drawer) {
            tray.show_state(lang, tray_state, status_line.as_deref());
        }
    });
    if let Err(error) = queued {
        tracing::warn!(%error, "could not redraw the tray");
    }
    let _ = app.emit("app://state", &state);
    drop(revision);
}

/// The sign-in window's phase and its one sentence about the last problem.
pub fn set_signin(app: &AppHandle, phase: Phase, message: Option<String>) {
    app.state::<Status>().lock().signin = SignInView { phase, message };
    refresh(app);
}

/// Who is signed in (forgotten at sign-out).
pub fn set_account(app: &AppHandle, name: Option<String>) {
    app.state::<Status>().lock().account_name = name;
    refresh(app);
}

/// Keeps the tray and the windows up to date with core's events.
pub fn follow_events(app: &AppHandle) {
    follow(app, "status", |app, heard| {
        let live_calls = core(app).watcher.live_calls().clone();
        let Heard::Event(event) = heard else {
            app.state::<Status>().lock().ringing = !live_calls.is_empty();
            return refresh(app);
        };
        let (changed, pending) = {
            let status = app.state::<Status>();
            let mut inner = status.lock();
            (inner.apply(event, &live_calls), inner.pending)
        };
        if changed {
            refresh(app);
        }
        // The inbox entry counts what the server lists (0 once signed out).
        if matches!(event, Event::NotificationsChanged { .. } | Event::AuthChanged { .. }) {
            if let Some(tray) = tray::tray(app) {
                tray.show_inbox_count(i18n::lang(app), pending);
            }
        }
        event_forwarding::forward(app, event);
    });
}

fn credits_status(app: &AppHandle) -> Option<CreditStatus> {
    let threshold = app.try_state::<CurrentSettings>()?.get().low_credit_percent;
    Some(app.try_state::<CreditWatch>()?.status(threshold))
}

/// The tray's first line, e.g. "458 credits left · Pro · renews 1 Mar" (None before the balance
/// is known).
pub fn credits_line(lang: Lang, credits: &CreditStatus) -> Option<String> {
    let balance = credits.balance.as_ref()?;
    if credits.out_of_credits || balance.credits_remaining.value() <= 0.0 {
        return Some(text(lang, "credits.out"));
    }
    let mut parts = vec![t(lang, "credits.left", &[("credits", &format_credits(balance.credits_remaining.value()))])];
    if let Some(plan) = balance.plan_type.as_deref().filter(|p| !p.is_empty()) {
        let mut chars = plan.chars();
        parts.push(chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default());
    }
    if let Some(day) = balance.period_end.as_deref().and_then(|end| short_date(lang, end)) {
        parts.push(t(lang, "credits.renews", &[("date", &day)]));
    }
    Some(parts.join(" · "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kallyai_core::api::credits::Balance;
    use kallyai_core::Credits;

    fn credits(remaining: f64, out_of_credits: bool) -> CreditStatus {
        let balance = Balance {
            credits_remaining: Credits(remaining),
            credits_allocated: Credits(1000.0),
            plan_type: Some("pro".into()),
            period_end: Some("2026-03-01T00:00:00Z".into()),
            ..Default::default()
        };
        CreditStatus { balance: Some(balance), out_of_credits, low: false }
    }

    #[test]
    fn tray_line_reads_like_a_sentence() {
        assert_eq!(credits_line(Lang::En, &credits(458.0, false)).unwrap(), "458 credits left · Pro · renews 1 Mar");
        assert_eq!(
            credits_line(Lang::Es, &credits(12.5, false)).unwrap(),
            "12.5 créditos disponibles · Pro · se renueva el 1 mar"
        );
        assert_eq!(credits_line(Lang::En, &credits(0.0, false)).unwrap(), "Out of credits");
        assert_eq!(credits_line(Lang::En, &credits(10.0, true)).unwrap(), "Out of credits");
        let unknown = CreditStatus { balance: None, out_of_credits: false, low: false };
        assert_eq!(credits_line(Lang::En, &unknown), None);
    }

    #[test]
    fn the_tray_rings_over_everything_but_signed_out_and_offline() {
        // The registry is the watcher's; an empty one stands for "no call live" here.
        let none = LiveCalls::default();
        let mut inner = Inner { online: true, ..Inner::default() };
        assert!(inner.apply(&Event::AuthChanged { signed_in: true }, &none));
        assert!(inner.apply(&Event::NotificationsChanged { total_pending: 2 }, &none));
        assert_eq!(inner.tray_state(), TrayState::Attention);
        inner.ringing = true;
        assert_eq!(inner.tray_state(), TrayState::Ringing);
        let ended = Event::CallEnded { call_id: "c".into(), outcome: "missed".into() };
        assert!(inner.apply(&ended, &none), "the last call ended: the tray stops ringing");
        assert_eq!(inner.tray_state(), TrayState::Attention);
        assert!(inner.apply(&Event::ConnectivityChanged { online: false }, &none));
        assert_eq!(inner.tray_state(), TrayState::Offline);
        inner.apply(&Event::ConnectivityChanged { online: true }, &none);
        inner.account_name = Some("Ada".into());
        inner.ringing = true;
        assert!(inner.apply(&Event::AuthChanged { signed_in: false }, &none));
        assert_eq!(inner.tray_state(), TrayState::SignedOut);
        assert!(!inner.ringing && inner.pending == 0 && inner.account_name.is_none());
    }
}
