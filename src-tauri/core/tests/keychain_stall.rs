//! A keyring that does not answer (issue 17): the real gnome-keyring of `scripts/with-desktop`,
//! frozen with SIGSTOP as a daemon stuck behind an unlock prompt nobody sees would be. Every
//! keychain call gives up after its timeout with "the keyring did not answer", and works again
//! once the daemon answers. Its own test binary: freezing the daemon would stall any other
//! keychain test running beside it.

use std::time::{Duration, Instant};

use kallyai_core::auth::{KeychainStore, ProbedKeychain, TokenSet, TokenStore, DID_NOT_ANSWER};
use kallyai_testkit::keyring::FrozenKeyring;
use kallyai_testkit::wait;

/// One test at a time freezes the daemon (the tests of a binary run side by side).
static ONE_FREEZE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keyring_that_does_not_answer_is_given_up_then_used_again() {
    kallyai_testkit::require_desktop("scripts/with-desktop cargo test -p kallyai-core --test keychain_stall");
    let _turn = ONE_FREEZE.lock().await;
    let timeout = Duration::from_millis(1500);
    let store = KeychainStore::for_api_base("http://127.0.0.1:9/stall").with_timeout(timeout);
    let tokens = TokenSet::from_grant(kallyai_core::auth::AccessToken::new("stall-token"), None, None);
    store.save(&tokens).await.expect("the keyring works before");

    let frozen = FrozenKeyring::freeze();
    let timed = |started: Instant| started.elapsed();
    let started = Instant::now();
    let load = (store.load().await.map(drop), timed(started));
    let started = Instant::now();
    let save = (store.save(&tokens).await, timed(started));
    let started = Instant::now();
    let probe = (KeychainStore::probe_within(timeout).await, timed(started));
    for (what, (result, took)) in [("load", load), ("save", save), ("probe", probe)] {
        let err = result.expect_err(what);
        assert!(err.to_string().contains(DID_NOT_ANSWER), "{what}: {err}");
        assert!(took < timeout * 2, "{what} gave up in time: {took:?}");
    }
    drop(frozen);

    // Answering again: the next calls work (the abandoned ones finish on their own threads).
    assert_eq!(store.load().await.expect("the keyring answers again"), Some(tokens));
    store.clear().await.expect("cleared");
}

// A keyring frozen when the app first needs it: the sign-in is kept in memory, and saved into the
// keychain once it answers again (asked again after the re-probe interval), nothing lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_made_while_the_keyring_is_frozen_is_saved_once_it_answers() {
    kallyai_testkit::require_desktop("scripts/with-desktop cargo test -p kallyai-core --test keychain_stall");
    let _turn = ONE_FREEZE.lock().await;
    let timeout = Duration::from_millis(1500);
    let keychain = KeychainStore::for_api_base("http://127.0.0.1:9/frozen-at-start").with_timeout(timeout);
    keychain.clear().await.expect("a clean entry");
    let store = ProbedKeychain::new(keychain.clone()).reprobe_after(Duration::from_millis(300));
    let tokens = TokenSet::from_grant(kallyai_core::auth::AccessToken::new("kept-token"), None, None);

    let frozen = FrozenKeyring::freeze();
    store.save(&tokens).await.expect("kept in memory while the keyring is frozen");
    assert!(!store.usable().await);
    assert_eq!(store.load().await.expect("from memory"), Some(tokens.clone()));
    drop(frozen);

    wait::until("the keychain used again", Duration::from_secs(20), || async { store.usable().await.then_some(()) })
        .await;
    assert_eq!(keychain.load().await.expect("the keychain"), Some(tokens.clone()), "saved once it answered");
    assert_eq!(store.load().await.expect("from the keychain"), Some(tokens));
    store.clear().await.expect("cleared");
    assert_eq!(keychain.load().await.expect("the keychain"), None);
}
