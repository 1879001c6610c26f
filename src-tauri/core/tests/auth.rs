//! Tokens against a real sim: refresh with rotation, 401 -> refresh -> retry, single-flight
//! refresh under concurrency, refused and failed refreshes, and no token in any output.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use common::{Fault, Sim};
use kallyai_core::auth::{
    AccessToken, AuthApi, MemoryStore, RefreshToken, Session, StaticToken, TokenSet, TokenSource, TokenStore,
};
use kallyai_core::{ApiError, Client, Event, EventBus};
use serde_json::json;

const BALANCE: &str = "/v1/credits/balance";
const REFRESH: &str = "/v1/auth/refresh";

fn statuses(log: &[serde_json::Value]) -> Vec<(String, u64)> {
    log.iter().map(|r| (r["path"].as_str().unwrap().to_string(), r["status"].as_u64().unwrap())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_rotates_and_the_new_token_works() {
    let sim = Sim::start().await;
    let first = sim.tokens().await;
    let auth = AuthApi::new(sim.config()).unwrap();
    let second = auth.refresh(first.refresh.as_ref().unwrap()).await.unwrap();
    assert_ne!(second.access, first.access);
    assert_ne!(second.refresh, first.refresh, "the sim rotates refresh tokens");
    assert!(second.expires_at > first.expires_at.saturating_sub(5));
    let client = Client::new(sim.config(), Arc::new(StaticToken::new(second.access.clone()))).unwrap();
    client.credits().balance().await.unwrap();
    // The refresh call itself carries no bearer.
    let log = sim.ctl.requests_to("POST", REFRESH).await;
    assert_eq!((log.len(), log[0]["auth"].clone()), (1, json!(false)));

    let bogus = RefreshToken::new("not-a-refresh-token-at-all");
    let err = auth.refresh(&bogus).await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert!(!format!("{err:?} {err}").contains("not-a-refresh-token-at-all"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_login_url_points_at_the_sim() {
    let sim = Sim::start().await;
    let url = AuthApi::new(sim.config()).unwrap().cli_login_url("http://127.0.0.1:8740", "st4te");
    assert_eq!(url.path(), "/v1/auth/cli");
    assert!(url.as_str().starts_with(&sim.url));
    // The sim shows its sign-in page for it (a 200 HTML page, not an error).
    let resp = reqwest::get(url).await.unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_token_401_is_returned_after_one_attempt() {
    let sim = Sim::start().await;
    let client = sim.client().await;
    sim.ctl.expire_tokens().await;
    let err = client.credits().balance().await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert!(err.is_unauthorized());
    assert_eq!(err.to_string(), "You are signed out of KallyAI. Sign in again to continue.");
    assert_eq!(sim.ctl.requests_to("GET", BALANCE).await.len(), 1);
}

/// Always claims to have a new token but hands out a bad one, counting the 401 reports.
struct Stubborn(AtomicUsize);

#[async_trait]
impl TokenSource for Stubborn {
    async fn bearer(&self) -> Result<AccessToken, ApiError> {
        Ok(AccessToken::new("stubborn-but-wrong-token"))
    }
    async fn on_unauthorized(&self, _rejected: &AccessToken) -> Result<bool, ApiError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(true)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_is_reported_once_and_retried_once() {
    let sim = Sim::start().await;
    let source = Arc::new(Stubborn(AtomicUsize::new(0)));
    let client = Client::new(sim.config(), source.clone()).unwrap();
    let err = client.credits().balance().await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert_eq!(source.0.load(Ordering::SeqCst), 1);
    assert_eq!(sim.ctl.requests_to("GET", BALANCE).await.len(), 2);
    assert!(!format!("{err:?}").contains("stubborn-but-wrong-token"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_refreshes_on_401_and_retries() {
    let sim = Sim::start().await;
    let events = EventBus::default();
    let (client, session) = sim.session_client(&events).await;
    sim.ctl.expire_tokens().await;
    let balance = client.credits().balance().await.unwrap();
    assert!(balance.credits_allocated.value() > 0.0);
    let log = sim.ctl.requests().await;
    assert_eq!(
        statuses(&log),
        vec![(BALANCE.to_string(), 401), (REFRESH.to_string(), 200), (BALANCE.to_string(), 200)]
    );
    assert!(session.is_signed_in().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_401s_cause_exactly_one_refresh() {
    let sim = Sim::start().await;
    let events = EventBus::default();
    let (client, _session) = sim.session_client(&events).await;
    client.credits().balance().await.unwrap();
    sim.ctl.expire_tokens().await;
    sim.ctl.clear_requests().await;

    let mut tasks = Vec::new();
    for i in 0..20 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                client.credits().balance().await.map(|_| ())
            } else {
                client.notifications().pending().await.map(|_| ())
            }
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let log = sim.ctl.requests().await;
    let refreshes = log.iter().filter(|r| r["path"] == REFRESH).count();
    assert_eq!(refreshes, 1, "{:?}", statuses(&log));
    let ok = log.iter().filter(|r| r["path"] != REFRESH && r["status"] == 200).count();
    assert_eq!(ok, 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn near_expiry_refreshes_once_before_any_401() {
    let sim = Sim::start().await;
    let fresh = sim.tokens().await;
    // The server thinks the token is fine; the client believes it expires in 10 s (< 60 s margin).
    let about_to_expire = TokenSet { expires_at: fresh.expires_at - 3590, ..fresh };
    let store = Arc::new(MemoryStore::new());
    let session = Arc::new(Session::new(AuthApi::new(sim.config()).unwrap(), store.clone()));
    session.sign_in(about_to_expire.clone()).await.unwrap();
    let client = Client::new(sim.config(), session.clone()).unwrap();

    let results = futures_join(&client, 20).await;
    assert!(results.iter().all(Result::is_ok));
    let log = sim.ctl.requests().await;
    assert_eq!(log.iter().filter(|r| r["path"] == REFRESH).count(), 1);
    assert!(log.iter().all(|r| r["status"] == 200), "{:?}", statuses(&log));
    // The rotated refresh token was persisted.
    let stored = store.load().await.unwrap().unwrap();
    assert_ne!(stored.refresh, about_to_expire.refresh);
    assert_ne!(stored.access, about_to_expire.access);
    assert!(!stored.expires_within(Duration::from_secs(60)));
}

async fn futures_join(client: &Client, n: usize) -> Vec<Result<(), ApiError>> {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.credits().balance().await.map(|_| ()) })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_refresh_signs_out() {
    let sim = Sim::start().await;
    let events = EventBus::default();
    let mut rx = events.subscribe();
    let (client, session) = sim.session_client(&events).await;
    assert_eq!(rx.recv().await.unwrap(), Event::AuthChanged { signed_in: true });
    sim.ctl.revoke_tokens().await;

    let err = client.credits().balance().await.unwrap_err();
    assert!(err.is_unauthorized(), "{err:?}");
    assert!(!session.is_signed_in().await);
    assert_eq!(rx.recv().await.unwrap(), Event::AuthChanged { signed_in: false });
    assert_eq!(rx.recv().await.unwrap(), Event::SessionEnded, "the server ended it: the app says so");
    // Signed out now: nothing more goes to the server.
    sim.ctl.clear_requests().await;
    let err = client.credits().balance().await.unwrap_err();
    assert_eq!(err.code(), "not_signed_in");
    assert!(sim.ctl.requests().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_out_the_user_asked_for_is_not_a_session_ended() {
    let sim = Sim::start().await;
    let events = EventBus::default();
    let mut rx = events.subscribe();
    let (_client, session) = sim.session_client(&events).await;
    assert_eq!(rx.recv().await.unwrap(), Event::AuthChanged { signed_in: true });
    session.sign_out().await.unwrap();
    assert_eq!(rx.recv().await.unwrap(), Event::AuthChanged { signed_in: false });
    assert!(rx.try_recv().is_err(), "nothing else: the user knows they signed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_refresh_keeps_the_session() {
    let sim = Sim::start().await;
    let events = EventBus::default();
    let (client, session) = sim.session_client(&events).await;
    sim.ctl.expire_tokens().await;
    sim.ctl.fault(&Fault::new(REFRESH, "drop_before").count(1)).await;

    let err = client.credits().balance().await.unwrap_err();
    assert!(err.is_network(), "{err:?}");
    assert!(session.is_signed_in().await, "a network failure must not sign the user out");

    // Back online: the next request refreshes and succeeds.
    client.credits().balance().await.unwrap();
    let refreshes = sim.ctl.requests_to("POST", REFRESH).await;
    assert_eq!(refreshes.iter().map(|r| r["status"].as_u64().unwrap()).next_back(), Some(200));

    // A 503 from the refresh endpoint also keeps the session.
    sim.ctl.expire_tokens().await;
    sim.ctl.fault(&Fault::status(REFRESH, 503).count(1)).await;
    let err = client.credits().balance().await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert!(session.is_signed_in().await);
    client.credits().balance().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_and_sign_out_use_the_store() {
    let sim = Sim::start().await;
    let store = Arc::new(MemoryStore::new());
    store.save(&sim.tokens().await).await.unwrap();
    let session = Arc::new(Session::new(AuthApi::new(sim.config()).unwrap(), store.clone()));
    assert!(session.restore().await.unwrap());
    let client = Client::new(sim.config(), session.clone()).unwrap();
    client.credits().balance().await.unwrap();
    session.sign_out().await.unwrap();
    assert!(store.load().await.unwrap().is_none());
    assert_eq!(client.credits().balance().await.unwrap_err().code(), "not_signed_in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_appears_in_debug_errors_or_events() {
    let sim = Sim::start().await;
    let events = EventBus::default();
    let mut rx = events.subscribe();
    let (client, session) = sim.session_client(&events).await;
    sim.ctl.expire_tokens().await;
    client.credits().balance().await.unwrap();
    sim.ctl.revoke_tokens().await;
    let err = client.credits().balance().await.unwrap_err();

    let mut output = format!("{err:?} {err} {} {session:?} {client:?}", serde_json::to_string(&err).unwrap());
    while let Ok(e) = rx.try_recv() {
        output.push_str(&format!("{e:?} {}", serde_json::to_string(&e).unwrap()));
    }
    let tokens = sim.tokens().await;
    output.push_str(&format!("{tokens:?}"));
    let secrets = sim.ctl.issued_secrets().await;
    assert!(secrets.len() >= 4);
    for s in secrets {
        assert!(!output.contains(&s), "a token leaked into: {output}");
    }
}
