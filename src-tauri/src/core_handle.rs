//! The shell's handle on core: the API client, the session and where its tokens persist, the
//! event bus, the watcher and the quick-ask outbox. Nothing else lives here: each feature owns
//! its own state.

use std::sync::Arc;

use kallyai_core::ask::{Outbox, OutboxSettings};
use kallyai_core::auth::{AuthApi, Session, TokenStore};
use kallyai_core::config::Config;
use kallyai_core::placing::{CallPlacer, PlacerTiming};
use kallyai_core::{ApiError, Client, EventBus, Watcher, WatcherSettings};
use tauri::{AppHandle, Manager};

pub struct Core {
    pub client: Client,
    pub session: Arc<Session>,
    /// Where the session's tokens persist (the keychain, or memory when there is none).
    pub store: Arc<dyn TokenStore>,
    pub events: EventBus,
    /// Follows inbound calls and pending items, and knows which calls are live.
    pub watcher: Watcher,
    /// Quick ask's outbox; None when its file could not be opened.
    pub outbox: Option<Arc<Outbox>>,
    /// The calls placed from "Call someone…"; None when its journal could not be opened (then
    /// no call can be placed: one that could not be written down could be placed twice).
    pub placer: Option<Arc<CallPlacer>>,
}

/// The part of core built before the app: a configuration it cannot use ends the process
/// before any window exists.
pub struct Connection {
    client: Client,
    session: Arc<Session>,
    store: Arc<dyn TokenStore>,
    events: EventBus,
}

impl Connection {
    pub fn new(config: Config, store: Arc<dyn TokenStore>) -> Result<Connection, ApiError> {
        let events = EventBus::default();
        let session = Arc::new(Session::new(AuthApi::new(config.clone())?, store.clone()).with_events(events.clone()));
        let client = Client::with_events(config, session.clone(), events.clone())?;
        Ok(Connection { client, session, store, events })
    }

    pub fn config(&self) -> &Config {
        self.client.config()
    }

    /// The watcher and the outbox keep their files in the app's data dir: the ids already
    /// notified (so a restart never notifies the same call twice) and the asks not yet answered.
    pub fn open(self, app: &AppHandle) -> Core {
        let Connection { client, session, store, events } = self;
        let data_dir = app.path().app_data_dir().ok();
        let seen = data_dir.as_ref().map(|dir| dir.join("seen-events.json"));
        let watcher = Watcher::new(client.clone(), events.clone(), seen, watcher_settings());
        let outbox = match &data_dir {
            // Only reads one small file, so it is done before the windows can ask for it.
            Some(dir) => match tauri::async_runtime::block_on(Outbox::open(
                dir.join("outbox.json"),
                client.clone(),
                events.clone(),
                OutboxSettings::default(),
            )) {
                Ok(outbox) => Some(Arc::new(outbox)),
                Err(error) => {
                    tracing::warn!(%error, "could not open the quick-ask outbox");
                    None
                }
            },
            None => {
                tracing::warn!("no data directory: quick ask cannot keep unsent questions");
                None
            }
        };
        let placer = data_dir.as_ref().and_then(|dir| {
            let opened = tauri::async_runtime::block_on(CallPlacer::open(
                dir.join("placing-calls.json"),
                client.clone(),
                events.clone(),
                PlacerTiming::default(),
            ));
            opened.map(Arc::new).map_err(|error| tracing::warn!(%error, "could not open the call journal")).ok()
        });
        Core { client, session, store, events, watcher, outbox, placer }
    }
}

/// Core, from anywhere that has the app handle.
pub fn core(app: &AppHandle) -> tauri::State<'_, Core> {
    app.state::<Core>()
}

/// How often the watcher compares its clocks to notice that the machine slept. On Linux
/// `features::wake` hears logind's resume signal the moment the machine wakes, so the clock is
/// only the fallback (a system without logind) and is read every 15 s instead of core's 5 s:
/// 8 fewer wake-ups a minute while idle (issue 15). Elsewhere the clock is all there is.
#[cfg(target_os = "linux")]
const CLOCK_CHECK: Option<std::time::Duration> = Some(std::time::Duration::from_secs(15));
#[cfg(not(target_os = "linux"))]
const CLOCK_CHECK: Option<std::time::Duration> = None;

fn watcher_settings() -> WatcherSettings {
    let settings = WatcherSettings::from_environment();
    match CLOCK_CHECK {
        Some(clock_check) => WatcherSettings { clock_check, ..settings },
        None => settings,
    }
}
