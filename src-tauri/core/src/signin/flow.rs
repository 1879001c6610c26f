//! `SignIn`: starts a sign-in for the shell and owns it until it ends. The shell opens
//! `Started::browser_url` in the system browser, hands deep-link callbacks to
//! `SignInHandle::deliver`, and awaits `SignInHandle::wait` for the tokens.
//!
//! One task (the driver) owns the loopback listener, the timeout and the cancel signal. Every
//! ending (tokens, a final error, timeout, cancel, all handles dropped) goes through it, and it
//! drops the listener *before* it publishes the outcome, so the port is free once `wait` returns.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use oauth2::{AuthorizationCode, CsrfToken, PkceCodeVerifier};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch, Notify};
use tokio::task::JoinSet;
use url::Url;

use super::callback::{is_callback_request, Expect};
use super::discovery::{Flow, ServerMetadata};
use super::error::SignInError;
use super::loopback::{self, Incoming, CLI_PORTS};
use super::oauth::{self, STATE_BYTES};
use super::pending::{Accepted, PendingSignIn};
use super::resume::{self, Resumable, Saved};
use crate::auth::{AuthApi, TokenSet};
use crate::config::Config;

/// Where the OAuth server sends the browser back to. (The CLI flow always uses a loopback
/// listener on 8740–8759, whatever is asked here.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Redirect {
    /// `kallyai://auth/callback`, delivered by the deep-link plugin through `deliver`.
    DeepLink,
    /// `http://127.0.0.1:<ephemeral>/callback`, for where the scheme handler is not registered.
    Loopback,
}

/// What the shell needs once a sign-in has started.
#[derive(Clone)]
pub struct Started {
    /// Open this in the system browser (never in a webview). It carries the state, so it is
    /// not logged; `Debug` shows the address without the query.
    pub browser_url: Url,
    /// The redirect URI the server was given.
    pub redirect_uri: String,
    /// The loopback port listening for the browser, if any (the CLI flow, `Redirect::Loopback`).
    pub listening_port: Option<u16>,
}

impl std::fmt::Debug for Started {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut shown = self.browser_url.clone();
        shown.set_query(None);
        f.debug_struct("Started")
            .field("browser_url", &format_args!("{shown}?…"))
            .field("redirect_uri", &self.redirect_uri)
            .field("listening_port", &self.listening_port)
            .finish()
    }
}

/// Starts sign-ins. See the module docs.
#[derive(Debug)]
pub struct SignIn;

impl SignIn {
    /// How long a sign-in waits for the browser before it gives up.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(180);

    /// Starts a sign-in with the default 3-minute timeout. Must run inside a tokio runtime.
    pub async fn start(
        config: &Config,
        flow: &Flow,
        redirect: Redirect,
    ) -> Result<(Started, SignInHandle), SignInError> {
        Self::start_with_timeout(config, flow, redirect, Self::DEFAULT_TIMEOUT).await
    }

    /// Like `start`, with its own timeout (a shell setting, or tests).
    pub async fn start_with_timeout(
        config: &Config,
        flow: &Flow,
        redirect: Redirect,
        timeout: Duration,
    ) -> Result<(Started, SignInHandle), SignInError> {
        let (listener, expect) = match (flow, redirect) {
            (Flow::CliLoopback, _) => {
                let l = loopback::bind_first_free(CLI_PORTS).await?;
                let port = local_port(&l)?;
                (Some(l), Expect::CliLoopback { port })
            }
            (Flow::OAuthPkce { .. }, Redirect::Loopback) => {
                let l = loopback::bind_ephemeral().await?;
                let port = local_port(&l)?;
                (Some(l), Expect::OAuthLoopback { port })
            }
            (Flow::OAuthPkce { .. }, Redirect::DeepLink) => (None, Expect::DeepLink),
        };
        let redirect_uri = expect.redirect_uri();
        let (browser_url, state, exchange, resumable) = match flow {
            Flow::CliLoopback => {
                let state = CsrfToken::new_random_len(STATE_BYTES);
                let url = AuthApi::new(config.clone())?.cli_login_url(&redirect_uri, state.secret());
                (url, state, Exchange::None, None)
            }
            Flow::OAuthPkce { metadata } => {
                let auth = oauth::authorize(metadata, &redirect_uri)?;
                // Only a deep link can outlive the app (a loopback listener dies with it), so
                // only a deep-link sign-in is kept in the keychain for `resume`.
                let resumable = match expect {
                    Expect::DeepLink => {
                        let r = Resumable::new(&auth.state, &auth.verifier, &redirect_uri, metadata, timeout);
                        resume::save(config, &r).await
                    }
                    _ => None,
                };
                let exchange = Exchange::OAuth {
                    http: oauth::http_client(config)?,
                    metadata: metadata.clone(),
                    redirect_uri: redirect_uri.clone(),
                    verifier: Mutex::new(Some(auth.verifier)),
                };
                (auth.browser_url, auth.state, exchange, resumable)
            }
        };
        let (report_tx, report_rx) = mpsc::unbounded_channel();
        let (outcome_tx, outcome_rx) = watch::channel(None);
        let inner = Arc::new(Inner {
            pending: PendingSignIn::new(expect, state),
            exchange,
            resumable,
            abandoned: AtomicBool::new(false),
            report: report_tx,
            cancel: Notify::new(),
            outcome: outcome_rx,
        });
        let started =
            Started { browser_url, redirect_uri, listening_port: listener.as_ref().and_then(|l| local_port(l).ok()) };
        tokio::spawn(drive(inner.clone(), listener, report_rx, outcome_tx, timeout));
        let handle = SignInHandle { guard: Arc::new(CancelOnDrop(inner.clone())), inner };
        tracing::debug!(redirect = %started.redirect_uri, "sign-in started");
        Ok((started, handle))
    }
}

fn local_port(listener: &TcpListener) -> Result<u16, SignInError> {
    listener.local_addr().map(|a| a.port()).map_err(|_| SignInError::ListenFailed)
}

/// The running sign-in. Clones share it; when the last clone is dropped it is cancelled.
#[derive(Clone)]
pub struct SignInHandle {
    inner: Arc<Inner>,
    guard: Arc<CancelOnDrop>,
}

impl std::fmt::Debug for SignInHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInHandle").field("pending", &self.inner.pending).finish()
    }
}

impl SignInHandle {
    /// Hands a callback URL (a `kallyai://` deep link) to the sign-in. `Ok` means signed in
    /// (`wait` now returns the tokens). A refusal (`SignInError::ends_sign_in() == false`)
    /// leaves the sign-in waiting; any other error has ended it. Exchanges the code at most once.
    pub async fn deliver(&self, callback_url: &str) -> Result<(), SignInError> {
        let _keep = self.guard.clone();
        let result = self.inner.process(callback_url).await;
        let reply = result.as_ref().map(|_| ()).map_err(Clone::clone);
        if result.as_ref().map_or_else(SignInError::ends_sign_in, |_| true) {
            self.inner.finish(result);
        }
        reply
    }

    /// The outcome: the tokens, or why the sign-in ended (timeout, cancel, denied, ...). Any
    /// number of callers may wait; all see the same outcome. Any loopback port is already free.
    pub async fn wait(&self) -> Result<TokenSet, SignInError> {
        let mut rx = self.inner.outcome.clone();
        let outcome = match rx.wait_for(Option::is_some).await {
            Ok(outcome) => outcome.clone(),
            Err(_) => None,
        };
        outcome.unwrap_or(Err(SignInError::Cancelled))
    }

    /// Ends the sign-in now (the user pressed Cancel); `wait` returns `Cancelled`.
    pub fn cancel(&self) {
        self.inner.cancel.notify_one();
    }

    /// True until the sign-in has ended.
    pub fn is_running(&self) -> bool {
        self.inner.outcome.borrow().is_none()
    }

    /// The callback this sign-in waits for.
    pub fn expect(&self) -> Expect {
        *self.inner.pending.expect()
    }
}

struct CancelOnDrop(Arc<Inner>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        // Nobody is left to finish this sign-in in this run (the app is quitting): its keychain
        // entry stays so that the browser's link can still finish it after a restart.
        self.0.abandoned.store(true, Ordering::SeqCst);
        self.0.cancel.notify_one();
    }
}

type Outcome = Option<Result<TokenSet, SignInError>>;

struct Inner {
    pending: PendingSignIn,
    exchange: Exchange,
    /// The keychain entry `resume` would finish this sign-in from, if one was saved.
    resumable: Option<Saved>,
    /// Every handle was dropped (not `cancel()`): keep the keychain entry.
    abandoned: AtomicBool,
    /// Final results for the driver (it frees the port, then publishes).
    report: mpsc::UnboundedSender<Result<TokenSet, SignInError>>,
    cancel: Notify,
    outcome: watch::Receiver<Outcome>,
}

// One value per sign-in, never moved around.
#[allow(clippy::large_enum_variant)]
enum Exchange {
    /// CLI flow: the tokens come in the callback.
    None,
    OAuth {
        http: reqwest::Client,
        metadata: ServerMetadata,
        redirect_uri: String,
        /// Taken by the one exchange; its absence is a second guarantee of "at most once".
        verifier: Mutex<Option<PkceCodeVerifier>>,
    },
}

impl Inner {
    async fn process(&self, url: &str) -> Result<TokenSet, SignInError> {
        let accepted = self.pending.accept(url);
        if accepted.as_ref().map_or_else(SignInError::ends_sign_in, |_| true) {
            // Spent: gone from the keychain before the code is exchanged, so no restart can
            // exchange it again.
            self.forget_resumable().await;
        }
        match accepted? {
            Accepted::Tokens(tokens) => Ok(tokens),
            Accepted::Code(code) => self.exchange(code).await,
        }
    }

    async fn exchange(&self, code: AuthorizationCode) -> Result<TokenSet, SignInError> {
        match &self.exchange {
            Exchange::None => Err(SignInError::CodeRefused),
            Exchange::OAuth { http, metadata, redirect_uri, verifier } => {
                let verifier = verifier.lock().unwrap_or_else(|p| p.into_inner()).take();
                let Some(verifier) = verifier else { return Err(SignInError::AlreadyUsed) };
                oauth::exchange(http, metadata, redirect_uri, code, verifier).await
            }
        }
    }

    async fn forget_resumable(&self) {
        if let Some(saved) = &self.resumable {
            resume::forget(saved).await;
        }
    }

    fn finish(&self, result: Result<TokenSet, SignInError>) {
        // The driver may be gone already (cancelled meanwhile); then this result is moot.
        let _ = self.report.send(result);
    }
}

async fn drive(
    inner: Arc<Inner>,
    mut listener: Option<TcpListener>,
    mut reports: mpsc::UnboundedReceiver<Result<TokenSet, SignInError>>,
    outcome: watch::Sender<Outcome>,
    timeout: Duration,
) {
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    let mut connections = JoinSet::new();
    let port = listener.as_ref().and_then(|l| local_port(l).ok()).unwrap_or(0);
    let result = loop {
        tokio::select! {
            Some(result) = reports.recv() => break result,
            () = &mut deadline => {
                inner.pending.close();
                break Err(SignInError::TimedOut);
            }
            () = inner.cancel.notified() => {
                inner.pending.close();
                break Err(SignInError::Cancelled);
            }
            accepted = accept(&listener) => match accepted {
                Ok(stream) => {
                    connections.spawn(serve(inner.clone(), stream, port));
                }
                Err(e) => tracing::debug!(error = %e, "loopback accept failed"),
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    };
    // Free the port before anyone learns the outcome; stray connections are dropped too.
    listener.take();
    connections.abort_all();
    if !inner.abandoned.load(Ordering::SeqCst) {
        inner.forget_resumable().await;
    }
    match &result {
        Ok(_) => tracing::info!("signed in"),
        Err(e) => tracing::info!(code = e.code(), "sign-in ended"),
    }
    let _ = outcome.send(Some(result));
}

async fn accept(listener: &Option<TcpListener>) -> std::io::Result<tokio::net::TcpStream> {
    match listener {
        Some(l) => l.accept().await.map(|(stream, _)| stream),
        None => std::future::pending().await,
    }
}

/// One browser connection to the loopback listener.
async fn serve(inner: Arc<Inner>, mut stream: tokio::net::TcpStream, port: u16) {
    let target = match loopback::read_request(&mut stream).await {
        None => return,
        Some(Incoming::Bad(status)) => {
            return loopback::answer(&mut stream, status, &loopback::page("Not found", "Nothing here.")).await;
        }
        Some(Incoming::Get(target)) => target,
    };
    if !is_callback_request(inner.pending.expect(), &target) {
        return loopback::answer(&mut stream, 404, &loopback::page("Not found", "Nothing here.")).await;
    }
    let result = inner.process(&format!("http://127.0.0.1:{port}{target}")).await;
    match &result {
        Ok(_) => loopback::answer(&mut stream, 200, &loopback::page("Signed in", loopback::SIGNED_IN)).await,
        Err(e) => loopback::answer(&mut stream, 400, &loopback::page("Not signed in", &e.to_string())).await,
    }
    // Reported after the browser has its page; the driver then closes the listener.
    if result.as_ref().map_or_else(SignInError::ends_sign_in, |_| true) {
        inner.finish(result);
    }
}

/// The sign-in the app is waiting on, if any: where deep links arriving at any time are sent.
#[derive(Clone, Debug, Default)]
pub struct SignInSlot {
    current: Arc<Mutex<Option<SignInHandle>>>,
}

impl SignInSlot {
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes `handle` the current sign-in, cancelling any earlier one.
    pub fn begin(&self, handle: SignInHandle) {
        let old = self.lock().replace(handle);
        if let Some(old) = old {
            old.cancel();
        }
    }

    /// Routes a callback to the current sign-in; `NoSignInPending` when there is none or it has
    /// ended (its one callback taken, cancelled or timed out).
    pub async fn deliver(&self, callback_url: &str) -> Result<(), SignInError> {
        let current = self.lock().clone();
        match current {
            Some(h) => h.deliver(callback_url).await,
            None => Err(SignInError::NoSignInPending),
        }
    }

    /// Cancels and forgets the current sign-in.
    pub fn cancel(&self) {
        if let Some(h) = self.lock().take() {
            h.cancel();
        }
    }

    pub fn current(&self) -> Option<SignInHandle> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<SignInHandle>> {
        self.current.lock().unwrap_or_else(|p| p.into_inner())
    }
}
