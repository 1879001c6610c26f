//! Sign-in at TRACE level: every `tracing` event and span field the whole process emits during
//! the sign-in flows is captured, and none of the secrets the sim issued (tokens, codes) nor the
//! sign-in states appear in it. Its own test binary, because the capture is process-global.

mod common;

use std::sync::Arc;

use common::Sim;
use kallyai_core::auth::{AuthApi, MemoryStore, Session};
use kallyai_core::signin::{discover, sign_out, Flow, Redirect, SignIn, Started};
use kallyai_sim::client::SignInForm;
use kallyai_sim::SimConfig;
use kallyai_testkit::trace_capture::Capture;

/// A person in the browser: open the sign-in page, press Continue, return the redirect target.
async fn approve(started: &Started) -> String {
    SignInForm::open(started.browser_url.as_str()).await.press("approve").await
}

fn state_of(started: &Started) -> String {
    started.browser_url.query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_the_logs_at_trace_level() {
    let capture = Capture::default();
    tracing::subscriber::set_global_default(capture.clone()).expect("the only subscriber in this binary");
    let mut states = Vec::new();

    // OAuth through the deep link, then through the loopback, then sign-out with revocation.
    let sim = Sim::start().await;
    let flow = discover(&sim.config()).await.unwrap();
    let (started, handle) = SignIn::start(&sim.config(), &flow, Redirect::DeepLink).await.unwrap();
    states.push(state_of(&started));
    handle.deliver(&approve(&started).await).await.unwrap();
    let tokens = handle.wait().await.unwrap();
    let (started, handle) = SignIn::start(&sim.config(), &flow, Redirect::Loopback).await.unwrap();
    states.push(state_of(&started));
    reqwest::get(approve(&started).await).await.unwrap();
    handle.wait().await.unwrap();
    let store = Arc::new(MemoryStore::new());
    let session = Session::new(AuthApi::new(sim.config()).unwrap(), store.clone());
    session.sign_in(tokens).await.unwrap();
    sign_out(&sim.config(), &flow, &session, store.as_ref()).await.unwrap();

    // The CLI flow, where tokens travel in the callback URL.
    let cli = Sim::start_with(SimConfig { oauth_flow: false, ..SimConfig::default() }).await;
    let (started, handle) = SignIn::start(&cli.config(), &Flow::CliLoopback, Redirect::Loopback).await.unwrap();
    states.push(state_of(&started));
    reqwest::get(approve(&started).await).await.unwrap();
    handle.wait().await.unwrap();

    let logs = capture.text();
    assert!(logs.contains("signed in"), "the capture works: {logs}");
    let mut secrets = sim.ctl.issued_secrets().await;
    secrets.extend(cli.ctl.issued_secrets().await);
    assert!(secrets.len() >= 6, "tokens and codes were issued: {}", secrets.len());
    for secret in secrets.iter().chain(&states) {
        assert!(!logs.contains(secret.as_str()), "a secret is in the logs");
    }
}
