//! KallyAI Desktop: the Tauri app shell. `run` builds the app and starts its parts:
//! - `features/`: ask, calls, credits, pending, settings (with the hotkey), signin. Each owns its
//!   state, its commands and a follower of core's event bus.
//! - `launch/`: how the app is asked to do something (flags, links, a second launch, the tray).
//! - `view/`: what the user sees (tray, windows, notifications, strings).
//! - `core_handle`: the shell's handle on core; `background`: the one task tracker.
//!
//! Core decides; the shell shows.

mod background;
#[macro_use]
mod command_list;
mod core_handle;
mod error;
mod features;
pub mod launch;
mod logging;
mod view;

use std::process::ExitCode;
use std::sync::Arc;

use kallyai_core::auth::{KeychainStore, ProbedKeychain};
use kallyai_core::config::Config;
use kallyai_core::settings::Lang;
use tauri::{AppHandle, Manager, RunEvent};

use crate::background::Background;
use crate::core_handle::{core, Connection};
use crate::launch::action::Action;
use crate::launch::cli::Launch;
use crate::view::event_forwarding::HeldSteps;
use crate::view::i18n::Language;
use crate::view::notify::Notices;
use crate::view::status::Status;
use crate::view::tray::Tray;

/// `generate_handler!` over the command list (`command_list.rs`).
macro_rules! invoke_handler {
    ($( $($segment:ident)::+ ),* $(,)?) => { tauri::generate_handler![$( $($segment)::+ ),*] };
}

/// Starts the app, or hands `launch` to the instance that is already running and returns.
pub fn run(launch: Launch) -> ExitCode {
    // The flag and the environment win over the server chosen in settings.
    let asked = launch.api_base.clone().or(std::env::var(kallyai_core::config::API_BASE_ENV).ok());
    let saved_base = config_dir().and_then(|dir| features::settings::saved_api_base(&dir));
    let from_settings = asked.is_none() && saved_base.is_some();
    let base = asked.or(saved_base);
    let mut set_aside = None;
    let config = match Config::from_env_or(base.as_deref()) {
        Ok(config) => config,
        // A hand-edited settings file must not stop every start: it is moved aside, named, and
        // the app starts with its usual server.
        Err(error) if from_settings => {
            let moved = config_dir().and_then(|dir| features::settings::set_aside(&dir));
            let Some((file, aside)) = moved else {
                eprintln!("kallyai-desktop: {error} (in the settings file, which could not be moved aside)");
                return ExitCode::from(2);
            };
            eprintln!("kallyai-desktop: {error} (in {}); moved it to {}", file.display(), aside.display());
            set_aside = Some(SetAside { file, aside, reason: error.to_string() });
            match Config::from_env_or(None) {
                Ok(config) => config,
                Err(error) => {
                    eprintln!("kallyai-desktop: {error}");
                    return ExitCode::from(2);
                }
            }
        }
        Err(error) => {
            eprintln!("kallyai-desktop: {error}");
            return ExitCode::from(2);
        }
    };
    let store = token_store(&config);
    let probed = store.clone();
    let connection = match Connection::new(config, store) {
        Ok(connection) => connection,
        Err(error) => {
            eprintln!("kallyai-desktop: {error}");
            return ExitCode::from(1);
        }
    };
    let startup_actions = launch.actions;
    let startup_links = launch.link_actions;

    let app = tauri::Builder::default()
        // Must be first: a second launch hands over its arguments here and exits before
        // anything else (a tray, windows) is created.
        .plugin(tauri_plugin_single_instance::init(|app, argv, _cwd| launch::forwarded(app, argv)))
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_store::Builder::new().build())
        .plugin(tauri_plugin_autostart::Builder::new().build())
        .plugin(features::settings::hotkey::plugin())
        .manage(Background::default())
        .manage(Language::new(Lang::from_environment()))
        .manage(Status::new())
        .manage(HeldSteps::default())
        .manage(Notices::default())
        .invoke_handler(with_commands!(invoke_handler))
        .setup(move |app| {
            app.manage(probed.clone());
            setup(app.handle(), connection, startup_actions, startup_links)?;
            if let Some(set_aside) = &set_aside {
                tell_settings_set_aside(app.handle(), set_aside);
            }
            Ok(())
        })
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(error) => {
            eprintln!("kallyai-desktop: the app could not start: {error}");
            return ExitCode::from(1);
        }
    };
    let code = app.run_return(|_app, event| {
        // A tray app keeps running with every window hidden; only Quit (an explicit exit code)
        // ends it.
        if let RunEvent::ExitRequested { code: None, api, .. } = event {
            api.prevent_exit();
        }
    });
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// A settings file the app could not start with, moved aside.
struct SetAside {
    file: std::path::PathBuf,
    aside: std::path::PathBuf,
    reason: String,
}

/// Says which file was set aside, where it went and why: the user who edited it finds it.
fn tell_settings_set_aside(app: &AppHandle, set_aside: &SetAside) {
    tracing::warn!(file = %set_aside.file.display(), aside = %set_aside.aside.display(), "settings file set aside");
    let lang = view::i18n::lang(app);
    let notice = view::notify::Notice {
        key: "settings:set-aside".into(),
        title: view::i18n::text(lang, "settings.set_aside.title"),
        body: view::i18n::t(
            lang,
            "settings.set_aside.body",
            &[
                ("file", &set_aside.file.display().to_string()),
                ("aside", &set_aside.aside.display().to_string()),
                ("reason", &set_aside.reason),
            ],
        ),
        actions: Vec::new(),
        clickable: false,
        sticky: true,
    };
    view::notify::notifier(app).show(notice, Box::new(|_| {}));
}

/// Where tauri-plugin-store keeps settings.json (the app config dir), found before the app is
/// built so a server chosen in settings applies from the start.
fn config_dir() -> Option<std::path::PathBuf> {
    kallyai_core::paths::config_dir()
}

/// The keychain, probed when tokens are first needed (never before the single-instance hand-off:
/// a second launch only forwards its arguments), memory while it is not usable; the sign-in
/// feature follows it (`features::signin::start`).
/// `KALLYAI_KEYRING_TIMEOUT_SECS` and `KALLYAI_KEYRING_REPROBE_SECS` shorten the waits (tests).
fn token_store(config: &Config) -> Arc<ProbedKeychain> {
    let secs = |name: &str| {
        let value = std::env::var(name).ok()?.trim().parse::<f64>().ok()?;
        (value > 0.0 && value < 3600.0).then(|| std::time::Duration::from_secs_f64(value))
    };
    let mut keychain = KeychainStore::new(config);
    if let Some(timeout) = secs("KALLYAI_KEYRING_TIMEOUT_SECS") {
        keychain = keychain.with_timeout(timeout);
    }
    let mut store = ProbedKeychain::new(keychain);
    if let Some(after) = secs("KALLYAI_KEYRING_REPROBE_SECS") {
        store = store.reprobe_after(after);
    }
    Arc::new(store)
}

fn setup(
    app: &AppHandle,
    connection: Connection,
    startup_actions: Vec<Action>,
    startup_links: Vec<Action>,
) -> Result<(), Box<dyn std::error::Error>> {
    logging::init(app.path().app_log_dir().ok().as_deref());
    tracing::info!(version = env!("CARGO_PKG_VERSION"), api_base = %connection.config().api_base(), "starting");
    app.manage(connection.open(app));

    features::settings::start(app);
    let lang = view::i18n::lang(app);
    app.manage(Tray::build(app, lang, launch::dispatch::menu_command)?);
    view::windows::create_at_start(app)?;
    // Every follower subscribes before the watcher, the outbox or the restored session publish.
    view::status::follow_events(app);
    features::calls::start(app);
    features::inbox::start(app);
    features::dialer::start(app);
    features::credits::start(app);
    features::ask::start(app);
    view::status::refresh(app);
    let watcher = core(app).watcher.clone();
    background::background(app).spawn("watcher", move |cancel| async move { watcher.run(cancel).await });
    features::wake::start(app);
    features::signin::start(app);
    launch::start(app, startup_actions, startup_links);
    tracing::info!("ready");
    Ok(())
}
