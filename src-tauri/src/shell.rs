//! The app shell's one piece of state: the core client and its event stream, what the windows
//! and tray show, and the background tasks. The shell translates; core decides.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, RwLock};

use kallyai_core::auth::SignedOut;
use kallyai_core::config::Config;
use kallyai_core::events::{Event, EventBus};
use kallyai_core::Client;
use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager};

use crate::i18n::Lang;
use crate::lifecycle::Background;
use crate::tray::{Tray, TrayState};

/// What every window may know about the app (never a token).
#[derive(Clone, Debug, Serialize)]
pub struct AppState {
    pub version: &'static str,
    pub api_base: String,
    pub lang: Lang,
    pub signed_in: bool,
    pub online: bool,
}

pub struct Shell {
    pub client: Client,
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
    pub fn new(config: Config, lang: Lang) -> Result<Shell, kallyai_core::ApiError> {
        let events = EventBus::default();
        // Until sign-in exists in this build, the session is signed out.
        let client = Client::with_events(config, Arc::new(SignedOut), events.clone())?;
        Ok(Shell {
            client,
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

    pub fn state(&self) -> AppState {
        let view = self.view.lock().expect("view lock");
        AppState {
            version: env!("CARGO_PKG_VERSION"),
            api_base: self.client.config().api_base().to_string(),
            lang: self.lang(),
            signed_in: view.signed_in,
            online: view.online,
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
                    view.signed_in = *signed_in;
                    if !signed_in {
                        view.live_calls.clear();
                        view.pending = 0;
                    }
                }
                Event::ConnectivityChanged { online } => view.online = *online,
                Event::CallRinging { call_id, .. } => {
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
        let _ = app.emit("core://event", event);
    }

    /// Redraws the tray and tells every window the app state.
    pub fn refresh_views(&self, app: &AppHandle) {
        let state = self.state();
        let tray_state = self.view.lock().expect("view lock").tray_state();
        if let Some(tray) = self.tray.lock().expect("tray lock").as_ref() {
            tray.show_state(state.lang, tray_state, None);
        }
        let _ = app.emit("app://state", &state);
    }
}

/// The shell, from anywhere that has the app handle.
pub fn shell(app: &AppHandle) -> tauri::State<'_, Shell> {
    app.state::<Shell>()
}
