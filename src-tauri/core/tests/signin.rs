//! Sign-in end to end against a real sim: discovery, OAuth + PKCE through the deep link and the
//! loopback redirect, the CLI loopback flow, timeout/cancel freeing the port, revocation on
//! sign-out, and the hostile-callback table. The "browser" is reqwest without redirects that
//! reads the sim's sign-in form and presses Continue (or Deny), like a person would.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Fault, Sim};
use kallyai_core::auth::{AuthApi, MemoryStore, Session, StaticToken, TokenSet, TokenStore};
use kallyai_core::signin::{
    discover, sign_out, sign_out_with, Flow, Redirect, Refusal, Revocation, SignIn, SignInError, SignInHandle,
    SignInSlot, Started, CLI_PORTS,
};
use kallyai_core::{Client, Config};
use kallyai_sim::client::{OAuthSeen, SignInForm};
use kallyai_sim::{Profile, SimConfig};
use kallyai_testkit::wait;
use url::Url;

const TOKEN: &str = "/v1/auth/gpt/token";
const REVOKE: &str = "/v1/auth/revoke";

/// A person in the browser: open the sign-in page, press a button, return the redirect target.
async fn browser(started: &Started, decision: &str) -> String {
    SignInForm::open(started.browser_url.as_str()).await.press(decision).await
}

/// The browser following a loopback redirect: status and page text.
async fn browser_get(url: &str) -> (u16, String) {
    let resp = reqwest::get(url).await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

fn query(url: &Url, key: &str) -> Option<String> {
    url.query_pairs().find(|(k, _)| k == key).map(|(_, v)| v.into_owned())
}

async fn port_is_free(port: u16) -> bool {
    tokio::net::TcpListener::bind(("127.0.0.1", port)).await.is_ok()
}

async fn oauth_flow(sim: &Sim) -> Flow {
    let flow = discover(&sim.config()).await.unwrap();
    assert!(matches!(flow, Flow::OAuthPkce { .. }), "{flow:?}");
    flow
}

async fn assert_tokens_work(sim: &Sim, tokens: &TokenSet) {
    assert!(tokens.refresh.is_some());
    let client = Client::new(sim.config(), Arc::new(StaticToken::new(tokens.access.clone()))).unwrap();
    client.credits().balance().await.expect("the new access token works");
}

/// What the sim saw of PKCE when the full S256 dance happened.
fn full_pkce() -> OAuthSeen {
    OAuthSeen { pkce_method: Some("S256".into()), challenge_seen: true, verifier_seen: true }
}

/// What production offers today (reference §2): the CLI loopback flow, no OAuth metadata.
fn production_sim() -> SimConfig {
    SimConfig { profile: Profile::Production, ..SimConfig::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_picks_oauth_when_offered_and_cli_otherwise() {
    let sim = Sim::start().await;
    let Flow::OAuthPkce { metadata } = discover(&sim.config()).await.unwrap() else { panic!("OAuth expected") };
    assert_eq!(metadata.token_endpoint.as_str(), format!("{}{TOKEN}", sim.url));
    assert_eq!(metadata.revocation_endpoint.unwrap().as_str(), format!("{}{REVOKE}", sim.url));

    let cli = Sim::start_with(production_sim()).await;
    assert_eq!(discover(&cli.config()).await.unwrap(), Flow::CliLoopback);

    // Nobody listening: an error the shell shows as offline, not a silent fallback.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let err = discover(&Config::new(&format!("http://127.0.0.1:{closed}")).unwrap()).await.unwrap_err();
    assert!(err.is_network(), "{err:?}");
}

/// Production has no metadata, and a web front may answer its URL with anything: every answer
/// that is not usable metadata means the CLI flow (which production offers), never "Failed".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_falls_back_to_cli_on_any_unusable_answer() {
    let sim = Sim::start().await;
    const METADATA: &str = "/.well-known/*";
    let answers = [
        Fault::status(METADATA, 302),
        Fault::status(METADATA, 301),
        Fault::status(METADATA, 500),
        Fault::status(METADATA, 503),
        Fault::status(METADATA, 403),
        Fault::new(METADATA, "malformed"),
    ];
    for answer in answers {
        sim.ctl.clear_faults().await;
        sim.ctl.fault(&answer).await;
        assert_eq!(discover(&sim.config()).await.unwrap(), Flow::CliLoopback, "{answer:?}");
    }
    // Once the metadata is back, so is OAuth: nothing about the fallback sticks.
    sim.ctl.clear_faults().await;
    assert!(matches!(discover(&sim.config()).await.unwrap(), Flow::OAuthPkce { .. }));
    // The sim's production profile: a 404 with an HTML body, as a web front answers. The whole
    // CLI sign-in against it is `the_cli_loopback_flow_against_the_production_profile`.
    let production = Sim::start_with(production_sim()).await;
    assert_eq!(discover(&production.config()).await.unwrap(), Flow::CliLoopback);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_pkce_through_the_deep_link() {
    let sim = Sim::start().await;
    let flow = oauth_flow(&sim).await;
    let (started, handle) = SignIn::start(&sim.config(), &flow, Redirect::DeepLink).await.unwrap();
    assert_eq!(started.listening_port, None);
    assert_eq!(started.redirect_uri, "kallyai://auth/callback");
    assert_eq!(query(&started.browser_url, "code_challenge_method").as_deref(), Some("S256"));
    assert!(!format!("{started:?}").contains(&query(&started.browser_url, "state").unwrap()));

    let callback = browser(&started, "approve").await;
    assert!(callback.starts_with("kallyai://auth/callback?code="), "{callback}");
    handle.deliver(&callback).await.unwrap();
    let tokens = handle.wait().await.unwrap();
    assert_tokens_work(&sim, &tokens).await;
    assert!(!handle.is_running());

    assert_eq!(sim.ctl.oauth_seen().await, full_pkce());
    assert_eq!(sim.ctl.requests_to("POST", TOKEN).await.len(), 1);

    // The code is used once: a replay is refused without another exchange.
    assert_eq!(handle.deliver(&callback).await, Err(SignInError::AlreadyUsed));
    assert_eq!(sim.ctl.requests_to("POST", TOKEN).await.len(), 1);

    let session = Session::new(AuthApi::new(sim.config()).unwrap(), Arc::new(MemoryStore::new()));
    session.sign_in(tokens).await.unwrap();
    assert!(session.is_signed_in().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_pkce_through_the_loopback_redirect() {
    let sim = Sim::start().await;
    let flow = oauth_flow(&sim).await;
    let (started, handle) = SignIn::start(&sim.config(), &flow, Redirect::Loopback).await.unwrap();
    let port = started.listening_port.unwrap();
    assert_eq!(started.redirect_uri, format!("http://127.0.0.1:{port}/callback"));

    // Not the callback: 404, and the sign-in keeps waiting.
    assert_eq!(browser_get(&format!("http://127.0.0.1:{port}/favicon.ico")).await.0, 404);
    // The callback path with a forged state: refused, still waiting.
    let (status, page) = browser_get(&format!("http://127.0.0.1:{port}/callback?code=x&state=forged")).await;
    assert_eq!(status, 400);
    assert!(page.contains("does not belong to the sign-in in progress"), "{page}");
    assert!(handle.is_running());

    let callback = browser(&started, "approve").await;
    assert!(callback.starts_with(&format!("http://127.0.0.1:{port}/callback?code=")), "{callback}");
    let (status, page) = browser_get(&callback).await;
    assert_eq!(status, 200);
    assert!(page.contains("You are signed in to KallyAI. You can close this tab."));
    let tokens = handle.wait().await.unwrap();
    assert_tokens_work(&sim, &tokens).await;
    assert!(port_is_free(port).await, "the listener is gone once wait() returns");
    assert!(sim.ctl.oauth_seen().await.verifier_seen);
    assert_eq!(sim.ctl.requests_to("POST", TOKEN).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_loopback_flow_against_the_production_profile() {
    let sim = Sim::start_with(production_sim()).await;
    let flow = discover(&sim.config()).await.unwrap();
    assert_eq!(flow, Flow::CliLoopback);
    // A deep link is not possible here; the CLI flow always listens on 8740-8759.
    let (started, handle) = SignIn::start(&sim.config(), &flow, Redirect::DeepLink).await.unwrap();
    let port = started.listening_port.unwrap();
    assert!(CLI_PORTS.contains(&port), "{port}");
    assert_eq!(started.browser_url.path(), "/v1/auth/cli");
    assert_eq!(query(&started.browser_url, "redirect_uri"), Some(format!("http://127.0.0.1:{port}")));
    let state = query(&started.browser_url, "state").unwrap();
    assert!(state.len() >= 43 && state.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));

    assert_eq!(browser_get(&format!("http://127.0.0.1:{port}/favicon.ico")).await.0, 404);
    let callback = browser(&started, "approve").await;
    assert!(callback.starts_with(&format!("http://127.0.0.1:{port}?access_token=")), "{callback}");
    let (status, page) = browser_get(&callback).await;
    assert_eq!((status, page.contains("You are signed in")), (200, true));
    let tokens = handle.wait().await.unwrap();
    assert_tokens_work(&sim, &tokens).await;
    assert!(tokens.expires_at > 0);
    assert!(port_is_free(port).await);
    assert!(sim.ctl.requests_to("POST", TOKEN).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declining_in_the_browser_ends_the_sign_in() {
    let sim = Sim::start().await;
    let flow = oauth_flow(&sim).await;
    let (started, handle) = SignIn::start(&sim.config(), &flow, Redirect::DeepLink).await.unwrap();
    let callback = browser(&started, "deny").await;
    let err = handle.deliver(&callback).await.unwrap_err();
    assert_eq!(err, SignInError::Denied { error: "access_denied".into(), description: None });
    assert_eq!(handle.wait().await.unwrap_err(), err);
    assert_eq!(err.to_string(), "The sign-in was declined in the browser. Sign in again when you are ready.");
    assert!(sim.ctl.requests_to("POST", TOKEN).await.is_empty());

    // The CLI flow's denial arrives at the listener; the browser sees the sentence.
    let cli = Sim::start_with(production_sim()).await;
    let (started, handle) = SignIn::start(&cli.config(), &Flow::CliLoopback, Redirect::Loopback).await.unwrap();
    let (status, page) = browser_get(&browser(&started, "deny").await).await;
    assert_eq!(status, 400);
    assert!(page.contains("declined"), "{page}");
    assert!(matches!(handle.wait().await, Err(SignInError::Denied { .. })));
    assert!(port_is_free(started.listening_port.unwrap()).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_and_cancel_free_the_port_at_once() {
    let sim = Sim::start().await;
    let flow = oauth_flow(&sim).await;
    let (started, handle) =
        SignIn::start_with_timeout(&sim.config(), &flow, Redirect::Loopback, Duration::from_millis(200)).await.unwrap();
    let port = started.listening_port.unwrap();
    assert!(!port_is_free(port).await, "listening while the sign-in runs");
    assert_eq!(handle.wait().await, Err(SignInError::TimedOut));
    assert!(port_is_free(port).await, "free right after the timeout");
    // A callback after the end is refused.
    let late =
        format!("http://127.0.0.1:{port}/callback?code=c&state={}", query(&started.browser_url, "state").unwrap());
    assert_eq!(handle.deliver(&late).await, Err(SignInError::NoSignInPending));

    for flow in [flow.clone(), Flow::CliLoopback] {
        let (started, handle) = SignIn::start(&sim.config(), &flow, Redirect::Loopback).await.unwrap();
        let port = started.listening_port.unwrap();
        handle.cancel();
        assert_eq!(handle.wait().await, Err(SignInError::Cancelled));
        assert!(port_is_free(port).await, "free right after cancel ({flow:?})");
    }

    // Dropping every handle cancels too (the shell closed the window and forgot it).
    let (started, handle) = SignIn::start(&sim.config(), &Flow::CliLoopback, Redirect::Loopback).await.unwrap();
    let port = started.listening_port.unwrap();
    drop(handle);
    assert!(wait::holds_within(Duration::from_secs(5), || port_is_free(port)).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_out_revokes_at_the_server_and_forgets_locally() {
    let sim = Sim::start().await;
    let flow = oauth_flow(&sim).await;
    let (started, handle) = SignIn::start(&sim.config(), &flow, Redirect::DeepLink).await.unwrap();
    handle.deliver(&browser(&started, "approve").await).await.unwrap();
    let tokens = handle.wait().await.unwrap();

    let store = Arc::new(MemoryStore::new());
    let session = Session::new(AuthApi::new(sim.config()).unwrap(), store.clone());
    session.sign_in(tokens.clone()).await.unwrap();
    assert_eq!(sign_out(&sim.config(), &flow, &session, store.as_ref()).await.unwrap(), Revocation::Revoked);
    assert!(!session.is_signed_in().await);
    assert_eq!(store.load().await.unwrap(), None);
    assert_eq!(sim.ctl.requests_to("POST", REVOKE).await.len(), 2, "refresh token, then access token");
    let refused = AuthApi::new(sim.config()).unwrap().refresh(tokens.refresh.as_ref().unwrap()).await.unwrap_err();
    assert_eq!(refused.status(), Some(401), "the revoked refresh token is dead");

    // Without a revocation endpoint (production today) sign-out is local only.
    let cli = Sim::start_with(production_sim()).await;
    let store = Arc::new(MemoryStore::new());
    let session = Session::new(AuthApi::new(cli.config()).unwrap(), store.clone());
    session.sign_in(cli.tokens().await).await.unwrap();
    let outcome = sign_out(&cli.config(), &Flow::CliLoopback, &session, store.as_ref()).await.unwrap();
    assert_eq!(outcome, Revocation::NotOffered);
    assert!(!session.is_signed_in().await);
    assert!(cli.ctl.requests_to("POST", REVOKE).await.is_empty());

    // Offline at sign-out: still signed out locally; the failure is reported, not raised.
    let store = Arc::new(MemoryStore::new());
    let session = Session::new(AuthApi::new(sim.config()).unwrap(), store.clone());
    session.sign_in(sim.tokens().await).await.unwrap();
    sim.ctl.fault(&Fault::new(REVOKE, "drop_before")).await;
    let outcome = sign_out(&sim.config(), &flow, &session, store.as_ref()).await.unwrap();
    assert!(matches!(outcome, Revocation::Failed(_)), "{outcome:?}");
    assert!(!session.is_signed_in().await);
}

/// Without the flow of this run's sign-in (after a restart, or switching servers) sign-out asks
/// the server which flow it offers, and revokes where it can.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_out_without_a_known_flow_asks_the_server() {
    let sim = Sim::start().await;
    let store = Arc::new(MemoryStore::new());
    let session = Session::new(AuthApi::new(sim.config()).unwrap(), store.clone());
    session.sign_in(sim.tokens().await).await.unwrap();
    assert_eq!(sign_out_with(&sim.config(), None, &session, store.as_ref()).await.unwrap(), Revocation::Revoked);
    assert!(!session.is_signed_in().await);
    assert_eq!(sim.ctl.requests_to("POST", REVOKE).await.len(), 2, "refresh token, then access token");

    let cli = Sim::start_with(production_sim()).await;
    let store = Arc::new(MemoryStore::new());
    let session = Session::new(AuthApi::new(cli.config()).unwrap(), store.clone());
    session.sign_in(cli.tokens().await).await.unwrap();
    assert_eq!(sign_out_with(&cli.config(), None, &session, store.as_ref()).await.unwrap(), Revocation::NotOffered);
    assert!(!session.is_signed_in().await);
}

/// The hostile-callback table against a running sign-in: none of these exchanges a code, ends the
/// sign-in, panics or touches the session; each gets one sentence without any secret in it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_callbacks_change_nothing() {
    let sim = Sim::start().await;
    let flow = oauth_flow(&sim).await;
    let store = Arc::new(MemoryStore::new());
    let session = Session::new(AuthApi::new(sim.config()).unwrap(), store.clone());

    // No sign-in pending at all.
    let slot = SignInSlot::new();
    assert_eq!(slot.deliver("kallyai://auth/callback?code=c&state=s").await, Err(SignInError::NoSignInPending));

    let (started, handle) = SignIn::start(&sim.config(), &flow, Redirect::DeepLink).await.unwrap();
    slot.begin(handle.clone());
    let state = query(&started.browser_url, "state").unwrap();
    let ok = |q: &str| format!("kallyai://auth/callback?{q}");
    let refused = |r: Refusal| Err(SignInError::Refused(r));
    let long = ok(&format!("code=c&state={state}&pad={}", "a".repeat(64 * 1024)));
    let cases: Vec<(String, Result<(), SignInError>)> = vec![
        (ok("code=c&state=wrong-state"), refused(Refusal::WrongState)),
        (ok(&format!("code=c&state={state}x")), refused(Refusal::WrongState)),
        (ok("code=c"), refused(Refusal::MissingState)),
        (ok(&format!("code=c&error=access_denied&state={state}")), refused(Refusal::ResultAndError)),
        (ok(&format!("code=c&code=d&state={state}")), refused(Refusal::Duplicate)),
        (ok(&format!("code=c&state={state}&state={state}")), refused(Refusal::Duplicate)),
        (ok(&format!("code=%G1&state={state}")), refused(Refusal::BadEncoding)),
        (ok(&format!("code=%C3%28&state={state}")), refused(Refusal::BadEncoding)),
        (ok(&format!("code=c&state={state}%")), refused(Refusal::BadEncoding)),
        (long, refused(Refusal::TooLong)),
        (format!("https://auth/callback?code=c&state={state}"), refused(Refusal::WrongScheme)),
        (format!("kallyai://evil.example/callback?code=c&state={state}"), refused(Refusal::WrongHost)),
        (format!("kallyai://auth/other?code=c&state={state}"), refused(Refusal::WrongPath)),
        (format!("http://127.0.0.1:1/callback?code=c&state={state}"), refused(Refusal::WrongScheme)),
        (
            format!("javascript:alert(document.cookie)//kallyai://auth/callback?code=c&state={state}"),
            refused(Refusal::WrongScheme),
        ),
        (format!("file:///etc/passwd?code=c&state={state}"), refused(Refusal::WrongScheme)),
        (format!("kallyai://auth/callback?code=c&state={state}#x"), refused(Refusal::Fragment)),
        (String::new(), refused(Refusal::WrongScheme)),
    ];
    for (url, want) in &cases {
        let got = slot.deliver(url).await;
        assert_eq!(&got, want, "{}", &url[..url.len().min(120)]);
        let sentence = got.unwrap_err().to_string();
        assert!(!sentence.contains(&state) && sentence.ends_with('.'), "{sentence}");
    }
    assert!(handle.is_running(), "refusals leave the sign-in waiting");
    assert!(!session.is_signed_in().await);
    assert!(sim.ctl.requests_to("POST", TOKEN).await.is_empty(), "no refusal exchanged a code");

    // error= with and without a description: each ends its own sign-in, exchanges nothing.
    for (q, description) in
        [("error=access_denied", None), ("error=server_error&error_description=Try+later", Some("Try later"))]
    {
        let (started, handle) = SignIn::start(&sim.config(), &flow, Redirect::DeepLink).await.unwrap();
        let state = query(&started.browser_url, "state").unwrap();
        let err = handle.deliver(&ok(&format!("{q}&state={state}"))).await.unwrap_err();
        let SignInError::Denied { description: got, .. } = &err else { panic!("{err:?}") };
        assert_eq!(got.as_deref(), description);
        assert_eq!(handle.wait().await.unwrap_err(), err);
    }

    // The real callback works once; a replay and a second callback after success are refused.
    let callback = browser(&started, "approve").await;
    slot.deliver(&callback).await.unwrap();
    let tokens = handle.wait().await.unwrap();
    assert_eq!(slot.deliver(&callback).await, Err(SignInError::AlreadyUsed));
    assert_eq!(slot.deliver(&ok(&format!("code=other&state={state}"))).await, Err(SignInError::AlreadyUsed));
    assert_eq!(sim.ctl.requests_to("POST", TOKEN).await.len(), 1, "exactly one exchange");
    assert!(!session.is_signed_in().await, "only the shell signs the session in");

    // Nothing the sim issued shows up in any error or Debug output of the sign-in.
    let outputs = format!("{handle:?} {started:?} {tokens:?} {cases:?}");
    for secret in sim.ctl.issued_secrets().await {
        assert!(!outputs.contains(&secret), "a secret leaked into Debug output");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_sign_in_replaces_the_old_one() {
    let sim = Sim::start().await;
    let flow = oauth_flow(&sim).await;
    let slot = SignInSlot::new();
    let (_, first): (Started, SignInHandle) = SignIn::start(&sim.config(), &flow, Redirect::Loopback).await.unwrap();
    slot.begin(first.clone());
    let (started, second) = SignIn::start(&sim.config(), &flow, Redirect::DeepLink).await.unwrap();
    slot.begin(second.clone());
    assert_eq!(first.wait().await, Err(SignInError::Cancelled));
    slot.deliver(&browser(&started, "approve").await).await.unwrap();
    assert!(second.wait().await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_code_exchange_ends_the_sign_in_after_one_attempt() {
    let sim = Sim::start().await;
    let flow = oauth_flow(&sim).await;

    // A code the server does not know (right state): refused by the token endpoint, once, with
    // the server's RFC 6749 §5.2 reason as the oauth2 crate parses it (not a parse failure).
    let (started, handle) = SignIn::start(&sim.config(), &flow, Redirect::DeepLink).await.unwrap();
    let state = query(&started.browser_url, "state").unwrap();
    let forged = format!("kallyai://auth/callback?code=not-a-real-code&state={state}");
    let refused = SignInError::TokenRefused { error: "invalid_grant".into() };
    assert_eq!(handle.deliver(&forged).await, Err(refused.clone()));
    assert_eq!(handle.wait().await, Err(refused.clone()));
    assert_eq!(refused.to_string(), "KallyAI did not accept this sign-in (invalid_grant). Start the sign-in again.");
    assert_eq!(handle.deliver(&forged).await, Err(SignInError::AlreadyUsed));
    assert_eq!(sim.ctl.requests_to("POST", TOKEN).await.len(), 1);

    // The connection drops during the exchange: a network error (offline state), not a retry.
    sim.ctl.fault(&Fault::new(TOKEN, "drop_before")).await;
    let (started, handle) = SignIn::start(&sim.config(), &flow, Redirect::DeepLink).await.unwrap();
    let err = handle.deliver(&browser(&started, "approve").await).await.unwrap_err();
    let SignInError::Api(api) = &err else { panic!("{err:?}") };
    assert!(api.is_network(), "{api:?}");
    assert_eq!(handle.wait().await.unwrap_err(), err);
    assert!(!err.to_string().is_empty());
}

/// Raw HTTP at the loopback listener: whatever is not a well-formed GET of the callback gets an
/// error status and leaves the sign-in waiting; then the real callback still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junk_at_the_loopback_port_does_not_spend_the_sign_in() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn raw(port: u16, request: &[u8]) -> String {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        stream.write_all(request).await.unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.unwrap();
        String::from_utf8_lossy(&answer).lines().next().unwrap_or("").to_string()
    }

    let sim = Sim::start_with(production_sim()).await;
    let (started, handle) = SignIn::start(&sim.config(), &Flow::CliLoopback, Redirect::Loopback).await.unwrap();
    let port = started.listening_port.unwrap();
    let state = query(&started.browser_url, "state").unwrap();
    let long = format!("GET /?access_token=a&state={state}&x={} HTTP/1.1\r\n\r\n", "a".repeat(9000));
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (format!("POST /?access_token=a&state={state} HTTP/1.1\r\n\r\n").into_bytes(), "HTTP/1.1 405"),
        (b"GARBAGE\r\n\r\n".to_vec(), "HTTP/1.1 400"),
        (b"GET http://evil.example/?access_token=a HTTP/1.1\r\n\r\n".to_vec(), "HTTP/1.1 400"),
        (long.into_bytes(), "HTTP/1.1 414"),
        (b"GET /favicon.ico HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), "HTTP/1.1 404"),
        (b"GET /?access_token=a&state=forged HTTP/1.1\r\n\r\n".to_vec(), "HTTP/1.1 400"),
        (format!("GET /?access_token=a&access_token=b&state={state} HTTP/1.1\r\n\r\n").into_bytes(), "HTTP/1.1 400"),
        (b"\r\n\r\n".to_vec(), "HTTP/1.1 400"),
    ];
    for (request, status) in &cases {
        let line = raw(port, request).await;
        assert!(line.starts_with(status), "{line} for {}", String::from_utf8_lossy(&request[..request.len().min(60)]));
    }
    // A connection that says nothing and goes away.
    drop(tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap());
    assert!(handle.is_running(), "none of that ended the sign-in");

    let (status, _) = browser_get(&browser(&started, "approve").await).await;
    assert_eq!(status, 200);
    assert_tokens_work(&sim, &handle.wait().await.unwrap()).await;
}
