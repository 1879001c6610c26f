//! `KeychainStore` against a real Secret Service (gnome-keyring), which `scripts/with-desktop`
//! provides (as `make test` does). Without it these tests fail on purpose: a keychain test that
//! silently passes without a keychain proves nothing.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use common::Sim;
use kallyai_core::auth::{AuthApi, KeychainStore, Session, TokenSet, TokenStore, KEYCHAIN_SERVICE};
use kallyai_core::Client;
use kallyai_testkit::leaks;

fn require_desktop() {
    kallyai_testkit::require_desktop("scripts/with-desktop cargo test -p kallyai-core --test signin_keychain");
}

/// `secret-tool search --all service ai.kally.desktop`, stdout and stderr (it splits its output).
fn secret_tool_search() -> String {
    let out = Command::new("secret-tool")
        .args(["search", "--all", "service", KEYCHAIN_SERVICE])
        .output()
        .expect("secret-tool (libsecret-tools) is installed");
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn assert_not_on_disk(tokens: &TokenSet) {
    let home = std::env::var("HOME").expect("HOME is set");
    let mut secrets = vec![tokens.access.expose().to_string()];
    secrets.extend(tokens.refresh.as_ref().map(|r| r.expose().to_string()));
    let found = leaks::files_containing(Path::new(&home), &secrets);
    assert!(found.is_empty(), "a token is in plaintext in {found:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_live_in_the_system_keychain() {
    require_desktop();
    KeychainStore::probe().await.expect("the keychain of scripts/with-desktop is usable");
    let sim = Sim::start().await;
    let store = KeychainStore::new(&sim.config());
    assert_eq!(store.account(), sim.url);
    assert_eq!(store.load().await.unwrap(), None, "nothing saved yet for this API base");

    let tokens = sim.tokens().await;
    store.save(&tokens).await.unwrap();
    assert_eq!(store.load().await.unwrap(), Some(tokens.clone()));
    let listing = secret_tool_search();
    assert!(listing.contains(&format!("attribute.username = {}", sim.url)), "{listing}");
    assert!(listing.contains(&format!("attribute.service = {KEYCHAIN_SERVICE}")), "{listing}");
    assert_not_on_disk(&tokens);

    // A rotated token replaces the entry (one entry per API base).
    let rotated = sim.tokens().await;
    store.save(&rotated).await.unwrap();
    assert_eq!(store.load().await.unwrap(), Some(rotated.clone()));
    let listing = secret_tool_search();
    assert_eq!(listing.matches(&format!("attribute.username = {}", sim.url)).count(), 1, "{listing}");

    store.clear().await.unwrap();
    assert_eq!(store.load().await.unwrap(), None);
    assert!(!secret_tool_search().contains(&format!("attribute.username = {}", sim.url)));
    store.clear().await.expect("clearing twice is fine");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_stays_signed_in_without_a_browser() {
    require_desktop();
    let sim = Sim::start().await;
    let tokens = sim.tokens().await;
    {
        let store = Arc::new(KeychainStore::new(&sim.config()));
        let session = Session::new(AuthApi::new(sim.config()).unwrap(), store);
        session.sign_in(tokens.clone()).await.unwrap();
    }
    // "Restart": a new store and session that only know the API base.
    let store = Arc::new(KeychainStore::new(&sim.config()));
    let session = Arc::new(Session::new(AuthApi::new(sim.config()).unwrap(), store.clone()));
    assert!(session.restore().await.unwrap(), "signed in from the keychain");
    let client = Client::new(sim.config(), session.clone()).unwrap();
    client.credits().balance().await.expect("the restored token works");
    assert_not_on_disk(&tokens);

    session.sign_out().await.unwrap();
    assert_eq!(store.load().await.unwrap(), None, "sign-out removes the keychain entry");
}

/// Without a Secret Service the probe says so (the shell then keeps the session in memory and
/// tells the user). keyring decides once per process, so the check runs in a child process of
/// this test binary whose session bus address leads nowhere.
#[test]
fn probe_fails_without_a_secret_service() {
    require_desktop();
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "probe_child_without_bus", "--ignored", "--nocapture"])
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/kallyai-no-bus")
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains("1 passed"), "{text}");
}

#[tokio::test]
#[ignore = "run by probe_fails_without_a_secret_service in a child process without a session bus"]
async fn probe_child_without_bus() {
    let err = KeychainStore::probe().await.expect_err("no keychain without a session bus");
    println!("probe: {err}");
    assert!(err.to_string().starts_with("The sign-in could not be saved"), "{err}");
    let store = KeychainStore::for_api_base("http://127.0.0.1:1");
    assert!(store
        .save(&TokenSet::from_grant(kallyai_core::auth::AccessToken::new("tok-en"), None, None))
        .await
        .is_err());
}
