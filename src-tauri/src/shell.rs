//! The app shell's one piece of state: the core client and its event stream, what the windows
//! and tray show, and the background tasks. The shell translates; core decides.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, RwLock};

use kallyai_core::auth::{AuthApi, Session, TokenStore};
use kallyai_core::config::Config;
use kallyai_core::events::{Event, EventBus};
use kallyai_core::Client;
use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager};

use crate::calls::Calls;
use crate::i18n::Lang;
use crate::lifecycle::Background;
use crate::notify::Notifier;
use crate::signin::{SignInState, SignInView};
use crate::tray::{Tray, TrayState};

/// What every window may know about the app (never a token).
#[derive(Clone, Debug, Serialize)]
pub struct AppState {
    pub version: &'static str,
    pub api_base: String,
    pub lang: Lang,
    pub signed_in: bool,
    pub online: bool,
    /// Who is signed in, when the server says.
    pub account_name: Option<String>,
    /// False when no keychain could be used: the sign-in lasts until the app quits.
    pub session_saved: bool,
    pub signin: SignInView,
}

pub struct Shell {
    pub client: Client,
    pub session: Arc<Session>,
    /// Where the session's tokens persist (the keychain, or memory when there is none).
    pub store: Arc<dyn TokenStore>,
    session_saved: bool,
    pub signin: SignInState,
    pub asking: crate::ask::Asking,
    pub credits: crate::credits::CreditsState,
    pub settings: crate::settings::SettingsState,
    /// Follows inbound calls and pending items (started in setup, once the data dir is known).
    pub watcher: std::sync::OnceLock<Arc<kallyai_core::Watcher>>,
    account_name: Mutex<Option<String>>,
    pub calls: Calls,
    pub notifier: Arc<dyn Notifier>,
    pub events: EventBus,
    pub background: Background,
    tray: Mutex<Option<Tray>>,
    lang: RwLock<Lang>,
    view: Mutex<View>,
    /// A question handed in by `--ask TEXT` or a link, kept until the box takes it.
    ask_prefill: Mutex<Option<String>>,
}

#[derive(Clone, Debug, Default)]
struct View {
    signed_in: bool,
    online: bool,
    /// Calls being screened now; the tray rings while there is one.
    live_calls: BTreeSet<String>,
    /// Items waiting for the user (approvals, goals needing input, messages).
    pending: u64,
}

impl View {
    fn tray_state(&self) -> TrayState {
        match (self.signed_in, self.online) {
            (false, _) => TrayState::SignedOut,
            (true, false) => TrayState::Offline,
            _ if !self.live_calls.is_empty() => TrayState::Ringing,
            _ if self.pending > 0 => TrayState::Attention,
            _ => TrayState::Idle,
        }
    }
}

impl Shell {
    pub fn new(
        config: Config,
        lang: Lang,
        store: Arc<dyn TokenStore>,
        session_saved: bool,
    ) -> Result<Shell, kallyai_core::ApiError> {
        let events = EventBus::default();
        let session = Arc::new(Session::new(AuthApi::new(config.clone())?, store.clone()).with_events(events.clone()));
        let client = Client::with_events(config, session.clone(), events.clone())?;
        Ok(Shell {
            client,
            session,
            store,
            session_saved,
            signin: SignInState::default(),
            asking: Default::default(),
            credits: Default::default(),
            settings: Default::default(),
            watcher: std::sync::OnceLock::new(),
            account_name: Mutex::new(None),
            calls: Calls::default(),
            notifier: crate::notify::platform_notifier(),
            events,
            background: Background::default(),
            tray: Mutex::new(None),
            lang: RwLock::new(lang),
            view: Mutex::new(View { online: true, ..View::default() }),
            ask_prefill: Mutex::new(None),
        })
    }

    pub fn lang(&self) -> Lang {
        *self.lang.read().expect("lang lock")
    }

    /// Switches every string the app shows, without a restart.
    pub fn set_lang(&self, app: &AppHandle, lang: Lang) {
        *self.lang.write().expect("lang lock") = lang;
        if let Some(tray) = self.tray.lock().expect("tray lock").as_ref() {
            tray.relabel(lang);
        }
        crate::windows::retitle(app, |panel| crate::i18n::text(lang, &format!("window.{}", panel.label())));
        self.refresh_tray_calls(app);
        let app2 = app.clone();
        tauri::async_runtime::spawn(async move { shell(&app2).refresh_goals(&app2).await });
        self.refresh_views(app);
    }

    pub fn credits_remaining(&self) -> Option<f64> {
        self.credits.remaining()
    }

    pub fn state(&self) -> AppState {
        let view = self.view.lock().expect("view lock");
        AppState {
            version: env!("CARGO_PKG_VERSION"),
            api_base: self.client.config().api_base().to_string(),
            lang: self.lang(),
            signed_in: view.signed_in,
            online: view.online,
            account_name: self.account_name.lock().expect("account lock").clone(),
            session_saved: self.session_saved,
            signin: self.signin.view(),
        }
    }

    pub fn set_tray(&self, tray: Tray) {
        *self.tray.lock().expect("tray lock") = Some(tray);
    }

    pub fn set_ask_prefill(&self, text: Option<String>) {
        *self.ask_prefill.lock().expect("prefill lock") = text;
    }

    pub fn take_ask_prefill(&self) -> Option<String> {
        self.ask_prefill.lock().expect("prefill lock").take()
    }

    /// Applies a core event to what the app shows, then tells the windows.
    pub fn apply(&self, app: &AppHandle, event: &Event) {
        let changed = {
            let mut view = self.view.lock().expect("view lock");
            let before = view.tray_state();
            match event {
                Event::AuthChanged { signed_in } => {
                    if view.signed_in && !signed_in {
                        let app = app.clone();
                        // After this lock is released: it reads the view too.
                        tauri::async_runtime::spawn(async move { crate::signin::on_signed_out(&app) });
                    }
                    view.signed_in = *signed_in;
                    if !signed_in {
                        view.live_calls.clear();
                        view.pending = 0;
                    }
                }
                Event::ConnectivityChanged { online } => view.online = *online,
                Event::CallRinging { call_id, .. } | Event::CallStillLive { call_id, .. } => {
                    view.live_calls.insert(call_id.clone());
                }
                Event::CallEnded { call_id, .. } => {
                    view.live_calls.remove(call_id);
                }
                Event::NotificationsChanged { total_pending } => view.pending = *total_pending,
                _ => {}
            }
            before != view.tray_state()
                || matches!(event, Event::AuthChanged { .. } | Event::ConnectivityChanged { .. })
        };
        if changed {
            self.refresh_views(app);
        }
        crate::calls::on_event(app, event);
        crate::pending::on_event(app, event);
        follow_up(app, event);
        let _ = app.emit("core://event", event);
    }

    /// Redraws the tray and tells every window the app state.
    pub fn refresh_views(&self, app: &AppHandle) {
        // The tray lock first: two redraws racing must draw in the order they read the view, or
        // an older "idle" could be drawn over a newer "ringing".
        let tray = self.tray.lock().expect("tray lock");
        let state = self.state();
        let tray_state = self.view.lock().expect("view lock").tray_state();
        let credits = self.credits.view(state.lang, self.settings.low_credit_percent());
        let status_line = credits.summary.filter(|_| state.signed_in && state.online);
        if let Some(tray) = tray.as_ref() {
            tray.show_state(state.lang, tray_state, status_line.as_deref());
        }
        drop(tray);
        let _ = app.emit("app://state", &state);
    }
}

impl Shell {
    /// Reads who is signed in, for the sign-in window and settings.
    pub async fn load_account(&self, app: &AppHandle) {
        match self.client.users().me().await {
            Ok(me) => *self.account_name.lock().expect("account lock") = me.display_name(),
            Err(error) => tracing::info!(code = error.code(), "could not read the account"),
        }
        self.refresh_views(app);
    }

    /// Drops everything cached about the user (at sign-out, or when the server ends the session).
    pub fn forget_user_data(&self, app: &AppHandle) {
        self.account_name.lock().expect("account lock").take();
        self.calls.clear();
        self.credits.clear();
        self.ask_prefill.lock().expect("prefill lock").take();
        self.refresh_tray_calls(app);
        self.refresh_views(app);
    }

    /// Reads the active goals for the tray's Goals submenu.
    pub async fn refresh_goals(&self, app: &AppHandle) {
        let goals = if self.state().signed_in {
            match kallyai_core::ask::Goals::new(self.client.clone()).active().await {
                Ok(goals) => goals,
                Err(error) => return tracing::debug!(code = error.code(), "goals not refreshed"),
            }
        } else {
            Vec::new()
        };
        if let Some(tray) = self.tray.lock().expect("tray lock").as_ref() {
            tray.show_goals(app, self.lang(), &goals);
        }
    }

    /// Redraws the live-call entries of the tray menu.
    pub fn refresh_tray_calls(&self, app: &AppHandle) {
        if let Some(tray) = self.tray.lock().expect("tray lock").as_ref() {
            tray.show_calls(app, self.lang(), &self.calls.live());
        }
    }
}

/// The shell, from anywhere that has the app handle.
pub fn shell(app: &AppHandle) -> tauri::State<'_, Shell> {
    app.state::<Shell>()
}

/// What else an event means for the shell: the balance changes after asks and calls, an
/// out-of-credits refusal (`manage_plan`, never a goal's budget refusal) means out of credits,
/// a sign-in loads the account's data.
fn follow_up(app: &AppHandle, event: &Event) {
    let refresh_credits = match event {
        Event::AskFailed { manage_plan: true, .. } => {
            crate::credits::mark_out_of_credits(app);
            false
        }
        Event::AskSent { .. } | Event::CreditsChanged { .. } | Event::CallEnded { .. } => true,
        Event::AuthChanged { signed_in } => *signed_in,
        _ => false,
    };
    if refresh_credits {
        let app = app.clone();
        tauri::async_runtime::spawn(async move { crate::credits::refresh(&app).await });
    }
    // Goals change when an ask touches one, when something waits for the user, or at sign-in/out.
    if matches!(
        event,
        Event::AskSent { .. }
            | Event::AuthChanged { .. }
            | Event::PendingItem { .. }
            | Event::PendingItemResolved { .. }
    ) {
        let app = app.clone();
        tauri::async_runtime::spawn(async move { shell(&app).refresh_goals(&app).await });
    }
}
