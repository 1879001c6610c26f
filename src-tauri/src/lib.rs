//! KallyAI Desktop: the Tauri app shell. `run` builds the app; each module has one concern.

pub mod action;
mod ask;
mod calls;
pub mod cli;
#[macro_use]
mod command_list;
mod commands;
mod credits;
pub mod deep_link;
mod dispatch;
mod error;
pub mod i18n;
mod lifecycle;
#[cfg(target_os = "linux")]
mod link_handler;
mod logging;
mod notify;
mod pending;
mod settings;
mod shell;
mod signin;
mod tray;
pub mod windows;

use std::process::ExitCode;

use std::sync::Arc;

use kallyai_core::auth::{KeychainStore, MemoryStore, TokenStore};
use kallyai_core::config::Config;
use kallyai_core::{Watcher, WatcherSettings};
use tauri::{AppHandle, Manager, RunEvent};
use tauri_plugin_deep_link::DeepLinkExt;

use crate::action::Action;
use crate::cli::{Invocation, Launch};
use crate::i18n::{text, Lang};
use crate::shell::{shell, Shell};
use crate::tray::Tray;

/// `generate_handler!` over the command list (`command_list.rs`).
macro_rules! invoke_handler {
    ($( $($segment:ident)::+ ),* $(,)?) => { tauri::generate_handler![$( $($segment)::+ ),*] };
}

/// Starts the app, or hands `launch` to the instance that is already running and returns.
pub fn run(launch: Launch) -> ExitCode {
    // The flag and the environment win over the server chosen in settings.
    let saved_base = config_dir().and_then(|dir| settings::saved_api_base(&dir));
    let base = launch.api_base.clone().or(std::env::var(kallyai_core::config::API_BASE_ENV).ok()).or(saved_base);
    let config = match Config::from_env_or(base.as_deref()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("kallyai-desktop: {error}");
            return ExitCode::from(2);
        }
    };
    let lang = Lang::from_environment();
    let (store, session_saved) = token_store(&config);
    let shell = match Shell::new(config, lang, store, session_saved) {
        Ok(shell) => shell,
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
        .plugin(tauri_plugin_single_instance::init(|app, argv, _cwd| forwarded_launch(app, argv)))
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_store::Builder::new().build())
        .plugin(tauri_plugin_autostart::Builder::new().build())
        .plugin(
            tauri_plugin_global_shortcut::Builder::new()
                .with_handler(|app, _shortcut, event| {
                    if event.state == tauri_plugin_global_shortcut::ShortcutState::Pressed {
                        tracing::info!("hotkey pressed");
                        windows::toggle(app, windows::Panel::Ask);
                    }
                })
                .build(),
        )
        .manage(shell)
        .invoke_handler(with_commands!(invoke_handler))
        .setup(move |app| {
            setup(app.handle(), startup_actions, startup_links)?;
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

/// Where tauri-plugin-store keeps settings.json (the app config dir), found before the app is
/// built so a server chosen in settings applies from the start.
fn config_dir() -> Option<std::path::PathBuf> {
    let base = if cfg!(target_os = "windows") {
        std::env::var_os("APPDATA").map(std::path::PathBuf::from)
    } else if cfg!(target_os = "macos") {
        std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join("Library/Application Support"))
    } else {
        std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(std::path::PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".config")))
    };
    base.map(|dir| dir.join("ai.kally.desktop"))
}

/// The keychain when one is usable; otherwise memory, and the UI says the sign-in is not kept.
fn token_store(config: &Config) -> (Arc<dyn TokenStore>, bool) {
    match tauri::async_runtime::block_on(KeychainStore::probe()) {
        Ok(()) => (Arc::new(KeychainStore::new(config)), true),
        Err(error) => {
            eprintln!("kallyai-desktop: no usable keychain ({error}); the sign-in will last until the app quits");
            (Arc::new(MemoryStore::new()), false)
        }
    }
}

fn setup(
    app: &AppHandle,
    startup_actions: Vec<Action>,
    startup_links: Vec<Action>,
) -> Result<(), Box<dyn std::error::Error>> {
    logging::init(app.path().app_log_dir().ok().as_deref());
    let shell = shell(app);
    tracing::info!(version = env!("CARGO_PKG_VERSION"), api_base = %shell.client.config().api_base(), "starting");

    settings::apply_at_start(app);
    let lang = shell.lang();
    shell.set_tray(Tray::build(app, lang, dispatch::menu_command)?);
    windows::create_all(app, |panel| text(lang, &format!("window.{}", panel.label())))?;
    follow_core_events(app);
    shell.refresh_views(app);
    start_watcher(app);
    ask::open(app);
    credits::follow(app);
    restore_session(app);

    register_link_handler(app);
    app.deep_link().on_open_url({
        let app = app.clone();
        move |event| {
            for url in event.urls() {
                open_link(&app, url.as_str());
            }
        }
    });
    // A link that started the app arrives here, not through on_open_url. The plugin only takes
    // a link that is the sole argument; with flags beside it, the command line's own parse counts.
    match app.deep_link().get_current().ok().flatten() {
        Some(urls) => urls.iter().for_each(|url| open_link(app, url.as_str())),
        None => startup_links.into_iter().for_each(|action| dispatch::perform(app, action)),
    }
    for action in startup_actions {
        dispatch::perform(app, action);
    }
    tracing::info!("ready");
    Ok(())
}

/// A second launch's arguments. They were checked by that process before it forwarded them; links
/// among them arrive separately through the deep-link plugin, so only flags are acted on here.
fn forwarded_launch(app: &AppHandle, argv: Vec<String>) {
    match cli::parse(argv.into_iter().skip(1)) {
        Ok(Invocation::Run(launch)) => {
            if launch.api_base.is_some() {
                tracing::warn!(
                    "--api-base ignored: KallyAI Desktop is already running; quit it first to change the server"
                );
            }
            for action in launch.actions {
                dispatch::perform(app, action);
            }
        }
        Ok(Invocation::Print(_)) => {}
        Err(error) => tracing::warn!(%error, "ignored forwarded arguments"),
    }
}

fn open_link(app: &AppHandle, link: &str) {
    match deep_link::parse(link) {
        Ok(action) => dispatch::perform(app, action),
        // The link's text may carry a question or a code: log why, not what.
        Err(error) => tracing::warn!(%error, "refused a kallyai:// link"),
    }
}

/// Makes `kallyai://` links open this app for the current user where the OS needs it done at
/// run time (Linux without a package). Best effort: a failure only means links do not work.
fn register_link_handler(app: &AppHandle) {
    #[cfg(target_os = "linux")]
    {
        // Runs xdg-mime, which takes a while: off the start-up path.
        let app = app.clone();
        std::thread::spawn(move || {
            let result =
                std::env::current_exe().map_err(|e| e.to_string()).and_then(|exe| link_handler::register(&exe));
            match result {
                Ok(()) => {
                    tracing::debug!("kallyai:// links open this app");
                    shell(&app).signin.links_registered.store(true, std::sync::atomic::Ordering::Relaxed);
                }
                Err(error) => tracing::warn!(%error, "could not register the kallyai:// link handler"),
            }
        });
    }
    // Packages register the scheme on macOS and Windows.
    #[cfg(not(target_os = "linux"))]
    shell(app).signin.links_registered.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Starts following inbound calls and pending items. The ids already notified are kept in the
/// app's data dir, so a restart never notifies the same call twice.
fn start_watcher(app: &AppHandle) {
    let shell = shell(app);
    let seen = app.path().app_data_dir().ok().map(|dir| dir.join("seen-events.json"));
    let watcher = Arc::new(Watcher::new(shell.client.clone(), shell.events.clone(), seen, WatcherSettings::default()));
    let _ = shell.watcher.set(watcher.clone());
    shell.background.spawn("watcher", move |cancel| async move { watcher.run(cancel).await });
}

/// Signs back in from the keychain, without a browser.
fn restore_session(app: &AppHandle) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let shell = shell(&app);
        match shell.session.restore().await {
            Ok(true) => shell.load_account(&app).await,
            Ok(false) => tracing::info!("not signed in"),
            Err(error) => tracing::warn!(%error, "could not read the saved sign-in"),
        }
    });
}

/// Fans core's events out to the tray and the windows.
fn follow_core_events(app: &AppHandle) {
    let mut events = shell(app).events.subscribe();
    let background = shell(app).background.clone();
    let app = app.clone();
    background.spawn("core-events", move |_cancel| async move {
        loop {
            match events.recv().await {
                Ok(event) => shell(&app).apply(&app, &event),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "event fan-out fell behind");
                    shell(&app).refresh_views(&app);
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}
