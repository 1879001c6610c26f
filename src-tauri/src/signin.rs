//! Sign-in and sign-out as the user sees them: the sign-in window's state, the system browser,
//! callbacks arriving as `kallyai://auth/callback` links, and the notification when the server
//! ends the session. Core does the protocol (discovery, PKCE, state, loopback listener, keychain);
//! this module only drives it and shows where it is.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use kallyai_core::signin::{self, Flow, Redirect, SignIn, SignInError, SignInSlot};
use serde::Serialize;
use tauri::AppHandle;
use tauri_plugin_opener::OpenerExt;

use crate::error::CommandError;
use crate::i18n::text;
use crate::notify::{Notice, Response};
use crate::shell::shell;
use crate::windows::{self, Panel};

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

#[derive(Default)]
pub struct SignInState {
    slot: SignInSlot,
    view: Mutex<SignInView>,
    /// The login page of the sign-in in progress, for "Open the browser again". It carries the
    /// state, so it is never logged.
    browser_url: Mutex<Option<String>>,
    /// The flow the server offered at the last sign-in (for revocation at sign-out).
    flow: Mutex<Option<Flow>>,
    /// Set while the user signs out, so that end of session is not announced as an accident.
    signing_out: AtomicBool,
    /// Whether `kallyai://` links reach this app; when not, OAuth comes back over loopback.
    pub links_registered: AtomicBool,
}

impl SignInState {
    pub fn view(&self) -> SignInView {
        self.view.lock().expect("sign-in view lock").clone()
    }

    fn set_view(&self, app: &AppHandle, phase: Phase, message: Option<String>) {
        *self.view.lock().expect("sign-in view lock") = SignInView { phase, message };
        shell(app).refresh_views(app);
    }
}

/// Starts a sign-in: finds out what the server offers, opens its login page in the browser, and
/// waits (in the background) for the browser to come back.
pub async fn start(app: &AppHandle) -> Result<(), CommandError> {
    let shell = shell(app);
    let state = &shell.signin;
    windows::show(app, Panel::SignIn);
    let config = shell.client.config().clone();
    let flow = match signin::discover(&config).await {
        Ok(flow) => flow,
        Err(error) => {
            state.set_view(app, Phase::Failed, Some(error.to_string()));
            return Err(error.into());
        }
    };
    let redirect = if state.links_registered.load(Ordering::Relaxed) { Redirect::DeepLink } else { Redirect::Loopback };
    let (started, handle) = match SignIn::start(&config, &flow, redirect).await {
        Ok(started) => started,
        Err(error) => {
            state.set_view(app, Phase::Failed, Some(error.to_string()));
            return Err(error.into());
        }
    };
    tracing::info!(flow = flow_name(&flow), redirect = %started.redirect_uri, "sign-in started");
    *state.flow.lock().expect("flow lock") = Some(flow);
    *state.browser_url.lock().expect("url lock") = Some(started.browser_url.to_string());
    state.slot.begin(handle.clone());
    state.set_view(app, Phase::Waiting, None);
    open_browser(app)?;

    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let result = handle.wait().await;
        finish(&app, result).await;
    });
    Ok(())
}

async fn finish(app: &AppHandle, result: Result<kallyai_core::auth::TokenSet, SignInError>) {
    let shell = shell(app);
    let state = &shell.signin;
    *state.browser_url.lock().expect("url lock") = None;
    match result {
        Ok(tokens) => {
            if let Err(error) = shell.session.sign_in(tokens).await {
                // The keychain refused; the session still works from memory for this run.
                tracing::warn!(%error, "sign-in not saved");
            }
            tracing::info!("signed in");
            state.set_view(app, Phase::Idle, None);
            shell.load_account(app).await;
            windows::show(app, Panel::SignIn);
        }
        Err(SignInError::Cancelled) => state.set_view(app, Phase::Idle, None),
        Err(error) => {
            tracing::info!(code = error.code(), "sign-in ended without signing in");
            state.set_view(app, Phase::Failed, Some(error.to_string()));
            windows::show(app, Panel::SignIn);
        }
    }
}

/// "Open the browser again": the same login page, the same pending sign-in.
pub fn open_browser(app: &AppHandle) -> Result<(), CommandError> {
    let url = shell(app).signin.browser_url.lock().expect("url lock").clone();
    let Some(url) = url else {
        return Err(CommandError::new("no_sign_in_pending", text(shell(app).lang(), "signin.none_pending")));
    };
    app.opener().open_url(url, None::<&str>).map_err(|error| {
        tracing::warn!(%error, "could not open the browser");
        CommandError::new("browser_failed", text(shell(app).lang(), "signin.browser_failed"))
    })
}

pub fn cancel(app: &AppHandle) {
    let shell = shell(app);
    shell.signin.slot.cancel();
    *shell.signin.browser_url.lock().expect("url lock") = None;
    shell.signin.set_view(app, Phase::Idle, None);
}

/// A `kallyai://auth/callback` link. Whatever is wrong with it, the user sees one sentence in
/// the sign-in window and nothing else changes.
pub async fn deliver(app: &AppHandle, link: &str) {
    let shell = shell(app);
    if !shell.signin.slot.current().is_some_and(|h| h.is_running()) {
        // Nothing waits in this run: the link may finish a sign-in started before the app quit,
        // crashed or was updated (core kept its resumable part in the keychain).
        match signin::resume(shell.client.config(), link).await {
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
    match shell.signin.slot.deliver(link).await {
        Ok(()) => tracing::info!("sign-in callback accepted"),
        Err(error) => {
            tracing::warn!(code = error.code(), "sign-in callback refused");
            let phase = if shell.signin.slot.current().is_some_and(|h| h.is_running()) {
                Phase::Waiting
            } else {
                Phase::Failed
            };
            shell.signin.set_view(app, phase, Some(error.to_string()));
            windows::show(app, Panel::SignIn);
        }
    }
}

/// Signs out: revokes where the server offers it, forgets the tokens and every cached datum.
pub async fn sign_out(app: &AppHandle) -> Result<(), CommandError> {
    let shell = shell(app);
    shell.signin.signing_out.store(true, Ordering::SeqCst);
    let config = shell.client.config().clone();
    let known = shell.signin.flow.lock().expect("flow lock").clone();
    // After a restart the flow is not known yet; ask the server (offline: revoke nothing).
    let flow = match known {
        Some(flow) => flow,
        None => signin::discover(&config).await.unwrap_or(Flow::CliLoopback),
    };
    let result = signin::sign_out(&config, &flow, &shell.session, shell.store.as_ref()).await;
    shell.forget_user_data(app);
    shell.signin.signing_out.store(false, Ordering::SeqCst);
    match result {
        Ok(revocation) => {
            tracing::info!(?revocation, "signed out");
            Ok(())
        }
        Err(error) => Err(CommandError::new("keychain", error.to_string())),
    }
}

/// The session ended without the user asking (a refused refresh): say so, with a way back in.
pub fn on_signed_out(app: &AppHandle) {
    let shell = shell(app);
    if shell.signin.signing_out.load(Ordering::SeqCst) {
        return;
    }
    shell.forget_user_data(app);
    let lang = shell.lang();
    let notice = Notice {
        key: "auth".into(),
        title: text(lang, "notify.signed_out.title"),
        body: text(lang, "notify.signed_out.body"),
        actions: vec![("sign_in".into(), text(lang, "notify.action.sign_in"))],
        clickable: true,
        sticky: false,
    };
    let app = app.clone();
    shell.notifier.show(
        notice,
        Box::new(move |response| {
            if matches!(response, Response::Action(_) | Response::Default) {
                let app2 = app.clone();
                tauri::async_runtime::spawn(async move {
                    let _ = start(&app2).await;
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
