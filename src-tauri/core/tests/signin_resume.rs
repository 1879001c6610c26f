//! A deep-link sign-in finished after the app restarted (`signin::resume`), against a real sim
//! and a real Secret Service (gnome-keyring from `scripts/with-desktop`; without it these tests
//! fail on purpose). The app "quits" by dropping every handle of the running sign-in; the
//! "browser" presses Continue on the sim's sign-in page over HTTP and yields the
//! `kallyai://auth/callback` link, which is then handed to `resume` as a cold-started app would.
//! Every `tracing` event of the process is captured, to show no secret reaches the logs.

mod common;

use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use common::Sim;
use kallyai_core::auth::{StaticToken, TokenSet, KEYCHAIN_SERVICE};
use kallyai_core::signin::{
    discover, pending_account, resume, Flow, Redirect, Refusal, SignIn, SignInError, SignInSlot, Started,
};
use kallyai_core::Client;
use kallyai_sim::client::SignInForm;
use kallyai_testkit::leaks;
use kallyai_testkit::trace_capture::Capture;
use serde_json::{json, Value};

const TOKEN: &str = "/v1/auth/gpt/token";

fn require_desktop() {
    kallyai_testkit::require_desktop("scripts/with-desktop cargo test -p kallyai-core --test signin_resume");
}

// ---- every tracing event of this test binary, at TRACE level ----

/// The process-wide capture (installed by whichever test runs first).
fn logs() -> &'static Capture {
    static CAPTURE: OnceLock<Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture = Capture::default();
        tracing::subscriber::set_global_default(capture.clone()).expect("the only subscriber in this binary");
        capture
    })
}

// ---- the browser, the keychain, the disk ----

/// A person in the browser: open the sign-in page, press Continue, return the redirect target.
async fn approve(started: &Started) -> String {
    let link = SignInForm::open(started.browser_url.as_str()).await.press("approve").await;
    assert!(link.starts_with("kallyai://auth/callback?code="), "a deep link with a code");
    link
}

fn state_of(started: &Started) -> String {
    started.browser_url.query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned()
}

/// The pending sign-in's keychain entry for `sim` (its JSON), read straight through keyring.
async fn pending_entry(sim: &Sim) -> Option<Value> {
    let account = pending_account(&sim.url);
    tokio::task::spawn_blocking(move || match keyring::Entry::new(KEYCHAIN_SERVICE, &account).unwrap().get_password() {
        Ok(json) => Some(serde_json::from_str(&json).expect("the entry is JSON")),
        Err(keyring::Error::NoEntry) => None,
        Err(e) => panic!("the keychain failed: {}", e.to_string().len()),
    })
    .await
    .unwrap()
}

async fn write_pending_entry(sim: &Sim, entry: &Value) {
    let (account, json) = (pending_account(&sim.url), entry.to_string());
    tokio::task::spawn_blocking(move || {
        keyring::Entry::new(KEYCHAIN_SERVICE, &account).unwrap().set_password(&json).unwrap();
    })
    .await
    .unwrap();
}

/// None of `secrets` is in a file under HOME or in the captured logs.
fn assert_nowhere(secrets: &[String]) {
    let home = std::env::var("HOME").expect("HOME is set");
    let logs = logs().text();
    for (i, secret) in secrets.iter().enumerate() {
        assert!(secret.len() >= 16, "secret #{i} is a real one");
        let found = leaks::files_containing(Path::new(&home), std::slice::from_ref(secret));
        assert!(found.is_empty(), "secret #{i} is in plaintext in {found:?}");
        assert!(!logs.contains(secret.as_str()), "secret #{i} is in the logs");
    }
}

async fn oauth_flow(sim: &Sim) -> Flow {
    let flow = discover(&sim.config()).await.unwrap();
    assert!(matches!(flow, Flow::OAuthPkce { .. }), "{flow:?}");
    flow
}

async fn exchanges(sim: &Sim) -> usize {
    sim.ctl.requests_to("POST", TOKEN).await.len()
}

async fn assert_tokens_work(sim: &Sim, tokens: &TokenSet) {
    assert!(tokens.refresh.is_some());
    let client = Client::new(sim.config(), Arc::new(StaticToken::new(tokens.access.clone()))).unwrap();
    client.credits().balance().await.expect("the new access token works");
}

fn code_of(link: &str) -> String {
    url::Url::parse(link).unwrap().query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned()
}

// ---- the tests ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deep_link_sign_in_finishes_after_the_app_quit() {
    require_desktop();
    logs();
    let sim = Sim::start().await;
    let flow = oauth_flow(&sim).await;
    let (started, handle) = SignIn::start(&sim.config(), &flow, Redirect::DeepLink).await.unwrap();
    let entry = pending_entry(&sim).await.expect("the pending sign-in is in the keychain");
    assert_eq!(entry["state"], state_of(&started));
    assert_eq!(entry["redirect_uri"], "kallyai://auth/callback");
    let verifier = entry["verifier"].as_str().unwrap().to_string();
    assert!(!format!("{handle:?} {started:?}").contains(&verifier));

    // The app quits: every handle goes, and the driver with it.
    drop(handle);
    let link = approve(&started).await;
    assert!(pending_entry(&sim).await.is_some(), "quitting keeps the entry for the restart");

    // A link with another state is refused and leaves the pending sign-in as it was.
    let forged = link.replace(&state_of(&started), "forged-state-0123456789");
    assert_eq!(resume(&sim.config(), &forged).await.unwrap_err(), SignInError::Refused(Refusal::WrongState));
    assert_eq!(
        resume(&sim.config(), "javascript:alert(1)").await.unwrap_err(),
        SignInError::Refused(Refusal::WrongScheme)
    );
    assert!(pending_entry(&sim).await.is_some());
    assert_eq!(exchanges(&sim).await, 0);

    // The restarted app gets the link: signed in, with the verifier of the first run.
    let tokens = resume(&sim.config(), &link).await.expect("the sign-in resumes");
    assert_tokens_work(&sim, &tokens).await;
    let seen = sim.ctl.oauth_seen().await;
    assert_eq!((seen.pkce_method.as_deref(), seen.challenge_seen, seen.verifier_seen), (Some("S256"), true, true));
    assert_eq!(exchanges(&sim).await, 1);
    assert!(pending_entry(&sim).await.is_none(), "the entry is gone once used");

    // A replay (or a second cold start with the same link) exchanges nothing.
    assert_eq!(resume(&sim.config(), &link).await.unwrap_err(), SignInError::NoSignInPending);
    assert_eq!(exchanges(&sim).await, 1);

    let mut secrets = vec![verifier, state_of(&started), code_of(&link)];
    secrets.extend(sim.ctl.issued_secrets().await);
    assert_nowhere(&secrets);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_pending_sign_in_is_refused_and_removed() {
    require_desktop();
    logs();
    let sim = Sim::start().await;
    let flow = oauth_flow(&sim).await;
    let (started, handle) = SignIn::start(&sim.config(), &flow, Redirect::DeepLink).await.unwrap();
    drop(handle);
    let link = approve(&started).await;
    // The app stayed closed past the sign-in's timeout.
    let mut entry = pending_entry(&sim).await.expect("the pending sign-in is in the keychain");
    entry["expires_at_ms"] = json!(1);
    write_pending_entry(&sim, &entry).await;

    assert_eq!(resume(&sim.config(), &link).await.unwrap_err(), SignInError::TimedOut);
    assert!(pending_entry(&sim).await.is_none(), "an expired entry is removed when found");
    assert_eq!(resume(&sim.config(), &link).await.unwrap_err(), SignInError::NoSignInPending);
    assert_eq!(exchanges(&sim).await, 0, "no code of an expired sign-in is exchanged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_ending_in_this_run_removes_the_entry() {
    require_desktop();
    logs();
    let sim = Sim::start().await;
    let flow = oauth_flow(&sim).await;

    // Signed in without a restart: the entry is gone, and a later cold start finds nothing.
    let (started, handle) = SignIn::start(&sim.config(), &flow, Redirect::DeepLink).await.unwrap();
    let link = approve(&started).await;
    handle.deliver(&link).await.unwrap();
    handle.wait().await.unwrap();
    assert!(pending_entry(&sim).await.is_none(), "success removes it");
    assert_eq!(resume(&sim.config(), &link).await.unwrap_err(), SignInError::NoSignInPending);
    assert_eq!(exchanges(&sim).await, 1);

    // Cancel.
    let (_, handle) = SignIn::start(&sim.config(), &flow, Redirect::DeepLink).await.unwrap();
    assert!(pending_entry(&sim).await.is_some());
    handle.cancel();
    assert_eq!(handle.wait().await.unwrap_err(), SignInError::Cancelled);
    assert!(pending_entry(&sim).await.is_none(), "cancel removes it");

    // Timeout.
    let (_, handle) =
        SignIn::start_with_timeout(&sim.config(), &flow, Redirect::DeepLink, Duration::from_millis(300)).await.unwrap();
    assert_eq!(handle.wait().await.unwrap_err(), SignInError::TimedOut);
    assert!(pending_entry(&sim).await.is_none(), "timeout removes it");

    // Loopback sign-ins cannot outlive the app, so they are never kept.
    let (_, handle) = SignIn::start(&sim.config(), &flow, Redirect::Loopback).await.unwrap();
    assert!(pending_entry(&sim).await.is_none(), "a loopback sign-in is not kept");
    handle.cancel();

    // A new sign-in replaces the old one; the old one's end leaves the new entry alone.
    let slot = SignInSlot::new();
    let (_, first) = SignIn::start(&sim.config(), &flow, Redirect::DeepLink).await.unwrap();
    slot.begin(first.clone());
    let (second_started, second) = SignIn::start(&sim.config(), &flow, Redirect::DeepLink).await.unwrap();
    slot.begin(second);
    assert_eq!(first.wait().await.unwrap_err(), SignInError::Cancelled);
    let entry = pending_entry(&sim).await.expect("the new sign-in's entry stays");
    assert_eq!(entry["state"], state_of(&second_started));
    slot.cancel();
}
