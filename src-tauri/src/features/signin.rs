//! Sign-in and sign-out as the user sees them: the sign-in window's state, the system browser,
//! callbacks arriving as `kallyai://auth/callback` links, the sign-in kept from an earlier run,
//! and the notification when the server ends the session. Core does the protocol (discovery,
//! PKCE, state, loopback listener, keychain, revocation); this feature drives it and shows
//! where it is.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use kallyai_core::auth::{Keychain, ProbedKeychain, TokenSet};
use kallyai_core::signin::{self, Flow, Redirect, SignIn, SignInError, SignInSlot};
use kallyai_core::{first_run, Event};
use tauri::{AppHandle, Manager};
use tauri_plugin_opener::OpenerExt;

use crate::background::{follow, Heard};
use crate::core_handle::core;
use crate::error::CommandError;
use crate::view::i18n::{self, text};
use crate::view::notify::{notifier, Notice, Response};
use crate::view::status::{self, Phase};
use crate::view::windows::{self, Panel};

#[derive(Default)]
struct SignInState {
    slot: SignInSlot,
    /// The login page of the sign-in in progress, for "Open the browser again". It carries the
    /// state, so it is never logged.
    browser_url: Mutex<Option<String>>,
    /// The flow the server offered at this run's sign-in (for revocation at sign-out).
    flow: Mutex<Option<Flow>>,
    /// Whether `kallyai://` links reach this app; when not, OAuth comes back over loopback.
    links_registered: AtomicBool,
}

fn state(app: &AppHandle) -> tauri::State<'_, SignInState> {
    app.state::<SignInState>()
}

/// Starts the sign-in feature: follows the session, and signs back in from the keychain
/// (without a browser).
pub fn start(app: &AppHandle) {
    app.manage(SignInState::default());
    follow(app, "signin", |app, heard| {
        if let Heard::Event(Event::SessionEnded) = heard {
            on_session_ended(app);
        }
    });
    let app = app.clone();
    tauri::async_runtime::spawn(async move { follow_keychain(&app).await });
}

/// Signs back in from the keychain, and keeps asking a keychain that could not be used: the
/// windows learn whether the sign-in is saved, and a keyring locked at start has its saved
/// sign-in read once it answers (until then nothing that belongs to an account is forgotten).
async fn follow_keychain(app: &AppHandle) {
    let keychain = app.state::<Arc<ProbedKeychain>>().inner().clone();
    let mut found = keychain.probe().await;
    status::set_keychain(app, found);
    restore(app).await;
    let mut welcomed = false;
    loop {
        if found != Keychain::Waiting {
            status::set_session_known(app);
            // A first run: nobody signed in here yet, and no saved sign-in to read. The sign-in
            // window welcomes the user once (what the app does, the hotkey, Sign in).
            if !welcomed && !core(app).session.is_signed_in().await {
                if first_run::signed_in_before() {
                    tracing::info!("signed in here before: no welcome");
                } else {
                    tracing::info!("first run: welcoming");
                    windows::show(app, Panel::SignIn);
                }
            }
            welcomed = true;
        }
        if found == Keychain::Usable {
            return;
        }
        tokio::time::sleep(keychain.reprobe_interval()).await;
        let was = found;
        found = keychain.probe().await;
        status::set_keychain(app, found);
        if found == Keychain::Usable && was != Keychain::Usable && !core(app).session.is_signed_in().await {
            tracing::info!("the keyring answers; reading the saved sign-in");
            restore(app).await;
        }
    }
}

async fn restore(app: &AppHandle) {
    match core(app).session.restore().await {
        Ok(true) => {
            // Signed in before the app kept this (an update): no welcome later either.
            first_run::remember_signed_in();
            load_account(app).await
        }
        Ok(false) => tracing::info!("not signed in"),
        Err(error) => tracing::warn!(%error, "could not read the saved sign-in"),
    }
}

/// `kallyai://` links reach this app (registered at run time on Linux, by the package elsewhere).
pub fn links_registered(app: &AppHandle) {
    state(app).links_registered.store(true, Ordering::Relaxed);
}

/// Reads who is signed in, for the sign-in window and settings.
async fn load_account(app: &AppHandle) {
    match core(app).client.users().me().await {
        Ok(me) => status::set_account(app, me.display_name()),
        Err(error) => {
            tracing::info!(code = error.code(), "could not read the account");
            status::refresh(app);
        }
    }
}

/// Starts a sign-in: finds out what the server offers, opens its login page in the browser, and
/// waits (in the background) for the browser to come back.
#[tauri::command]
pub async fn signin_start(app: AppHandle) -> Result<(), CommandError> {
    windows::show(&app, Panel::SignIn);
    let config = core(&app).client.config().clone();
    let flow = match signin::discover(&config).await {
        Ok(flow) => flow,
        Err(error) => {
            status::set_signin(&app, Phase::Failed, Some(error.to_string()));
            return Err(error.into());
        }
    };
    let state = state(&app);
    let redirect = if state.links_registered.load(Ordering::Relaxed) { Redirect::DeepLink } else { Redirect::Loopback };
    let (started, handle) = match SignIn::start(&config, &flow, redirect).await {
        Ok(started) => started,
        Err(error) => {
            status::set_signin(&app, Phase::Failed, Some(error.to_string()));
            return Err(error.into());
        }
    };
    tracing::info!(flow = flow_name(&flow), redirect = %started.redirect_uri, "sign-in started");
    *state.flow.lock().expect("flow lock") = Some(flow);
    *state.browser_url.lock().expect("url lock") = Some(started.browser_url.to_string());
    state.slot.begin(handle.clone());
    status::set_signin(&app, Phase::Waiting, None);
    signin_reopen(app.clone())?;

    tauri::async_runtime::spawn(async move {
        let result = handle.wait().await;
        finish(&app, result).await;
    });
    Ok(())
}

async fn finish(app: &AppHandle, result: Result<TokenSet, SignInError>) {
    *state(app).browser_url.lock().expect("url lock") = None;
    match result {
        Ok(tokens) => {
            if let Err(error) = core(app).session.sign_in(tokens).await {
                // The keychain refused; the session still works from memory for this run.
                tracing::warn!(%error, "sign-in not saved");
            }
            tracing::info!("signed in");
            first_run::remember_signed_in();
            status::set_signin(app, Phase::Idle, None);
            load_account(app).await;
            windows::show(app, Panel::SignIn);
        }
        Err(SignInError::Cancelled) => status::set_signin(app, Phase::Idle, None),
        Err(error) => {
            tracing::info!(code = error.code(), "sign-in ended without signing in");
            status::set_signin(app, Phase::Failed, Some(error.to_string()));
            windows::show(app, Panel::SignIn);
        }
    }
}

/// "Open the browser again": the same login page, the same pending sign-in.
#[tauri::command]
pub fn signin_reopen(app: AppHandle) -> Result<(), CommandError> {
    let url = state(&app).browser_url.lock().expect("url lock").clone();
    let lang = i18n::lang(&app);
    let Some(url) = url else {
        return Err(CommandError::new("no_sign_in_pending", text(lang, "signin.none_pending")));
    };
    app.opener().open_url(url, None::<&str>).map_err(|error| {
        tracing::warn!(%error, "could not open the browser");
        CommandError::new("browser_failed", text(lang, "signin.browser_failed"))
    })
}

#[tauri::command]
pub fn signin_cancel(app: AppHandle) {
    let state = state(&app);
    state.slot.cancel();
    *state.browser_url.lock().expect("url lock") = None;
    status::set_signin(&app, Phase::Idle, None);
}

/// A `kallyai://auth/callback` link. Whatever is wrong with it, the user sees one sentence in
/// the sign-in window and nothing else changes.
pub async fn deliver(app: &AppHandle, link: &str) {
    let state = state(app);
    if !state.slot.current().is_some_and(|h| h.is_running()) {
        // Nothing waits in this run: the link may finish a sign-in started before the app quit,
        // crashed or was updated (core kept its resumable part in the keychain).
        match signin::resume(core(app).client.config(), link).await {
            Ok(tokens) => {
                tracing::info!("sign-in resumed after a restart");
                return finish(app, Ok(tokens)).await;
            }
            // Nothing kept from an earlier run either: answered below as before.
            Err(SignInError::NoSignInPending) => {}
            Err(error) => {
                tracing::warn!(code = error.code(), "sign-in callback refused after a restart");
                return finish(app, Err(error)).await;
            }
        }
    }
    match state.slot.deliver(link).await {
        Ok(()) => tracing::info!("sign-in callback accepted"),
        Err(error) => {
            tracing::warn!(code = error.code(), "sign-in callback refused");
            let running = state.slot.current().is_some_and(|h| h.is_running());
            let phase = if running { Phase::Waiting } else { Phase::Failed };
            status::set_signin(app, phase, Some(error.to_string()));
            windows::show(app, Panel::SignIn);
        }
    }
}

/// Signs out: revokes where the server offers it and forgets the tokens; every feature forgets
/// what it keeps about the user when core says the session is gone (`AuthChanged`).
#[tauri::command]
pub async fn sign_out(app: AppHandle) -> Result<(), CommandError> {
    let core = core(&app);
    let known = state(&app).flow.lock().expect("flow lock").clone();
    let result = signin::sign_out_with(core.client.config(), known.as_ref(), &core.session, core.store.as_ref()).await;
    match result {
        Ok(revocation) => {
            tracing::info!(?revocation, "signed out");
            Ok(())
        }
        Err(error) => Err(CommandError::new("keychain", error.to_string())),
    }
}

/// The server ended the session (a refused refresh): say so, with a way back in.
fn on_session_ended(app: &AppHandle) {
    let lang = i18n::lang(app);
    let notice = Notice {
        key: "auth".into(),
        title: text(lang, "notify.signed_out.title"),
        body: text(lang, "notify.signed_out.body"),
        actions: vec![("sign_in".into(), text(lang, "notify.action.sign_in"))],
        clickable: true,
        sticky: false,
    };
    let app = app.clone();
    notifier(&app).show(
        notice,
        Box::new(move |response| {
            if matches!(response, Response::Action(_) | Response::Default) {
                tauri::async_runtime::spawn(async move {
                    // Failures are shown in the sign-in window.
                    let _ = signin_start(app).await;
                });
            }
        }),
    );
}

fn flow_name(flow: &Flow) -> &'static str {
    match flow {
        Flow::OAuthPkce { .. } => "oauth_pkce",
        Flow::CliLoopback => "cli_loopback",
    }
}
