//! Resuming a deep-link sign-in after the app was restarted. While an OAuth sign-in through
//! `kallyai://auth/callback` waits for the browser, the part needed to finish it (state, PKCE
//! verifier, redirect URI, the server's endpoints, the expiry) is also kept in the system keychain,
//! in an entry of its own (service `ai.kally.desktop`, user `pending-sign-in:<api base>`). If the
//! app quits, crashes or is updated meanwhile, the browser's link cold-starts it and `resume`
//! finishes the sign-in from that entry.
//!
//! Never in a file: when no keychain is usable nothing is kept and a cold-start link is refused
//! as "no sign-in pending". The entry is removed when the sign-in ends, and before a code is
//! exchanged, so one callback exchanges its code at most once even across restarts.
//! keyring errors are never formatted (they can carry the secret's bytes).

use std::time::Duration;

use oauth2::{CsrfToken, PkceCodeVerifier};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::clock::unix_ms;
use url::Url;

use super::callback::{self, Expect};
use super::discovery::ServerMetadata;
use super::error::SignInError;
use super::oauth;
use super::pending::{Accepted, PendingSignIn};
use crate::auth::{TokenSet, KEYCHAIN_SERVICE};
use crate::config::Config;

/// How long a keychain call may take before the sign-in goes on without it (a keychain waiting
/// on an unlock prompt must not hold up the browser).
const KEYCHAIN_PATIENCE: Duration = Duration::from_secs(5);

/// Format version of the stored JSON; an entry of another version is dropped.
const VERSION: u32 = 1;

/// The resumable part of a pending deep-link sign-in, as stored in the keychain.
#[derive(Serialize, Deserialize)]
pub(crate) struct Resumable {
    v: u32,
    state: String,
    verifier: String,
    redirect_uri: String,
    issuer: String,
    authorization_endpoint: Url,
    token_endpoint: Url,
    revocation_endpoint: Option<Url>,
    /// Unix time in milliseconds after which the sign-in has timed out.
    expires_at_ms: u64,
}

impl std::fmt::Debug for Resumable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resumable").field("expires_at_ms", &self.expires_at_ms).finish_non_exhaustive()
    }
}

impl Resumable {
    pub(crate) fn new(
        state: &CsrfToken,
        verifier: &PkceCodeVerifier,
        redirect_uri: &str,
        metadata: &ServerMetadata,
        timeout: Duration,
    ) -> Self {
        Self {
            v: VERSION,
            state: state.secret().clone(),
            verifier: verifier.secret().clone(),
            redirect_uri: redirect_uri.to_string(),
            issuer: metadata.issuer.clone(),
            authorization_endpoint: metadata.authorization_endpoint.clone(),
            token_endpoint: metadata.token_endpoint.clone(),
            revocation_endpoint: metadata.revocation_endpoint.clone(),
            expires_at_ms: unix_ms().saturating_add(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX)),
        }
    }

    fn metadata(&self) -> ServerMetadata {
        ServerMetadata {
            issuer: self.issuer.clone(),
            authorization_endpoint: self.authorization_endpoint.clone(),
            token_endpoint: self.token_endpoint.clone(),
            revocation_endpoint: self.revocation_endpoint.clone(),
        }
    }

    fn is_expired(&self) -> bool {
        unix_ms() >= self.expires_at_ms
    }
}

/// A saved entry, as the running sign-in remembers it: enough to remove it later, and only if it
/// is still this sign-in's (a newer sign-in for the same server replaces the entry).
pub(crate) struct Saved {
    account: String,
    state: String,
}

impl std::fmt::Debug for Saved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Saved").field("account", &self.account).finish_non_exhaustive()
    }
}

/// The keychain user name of the pending sign-in for `api_base`.
pub fn pending_account(api_base: &str) -> String {
    format!("pending-sign-in:{}", api_base.trim_end_matches('/'))
}

/// Keeps `resumable` in the keychain. `None` when no keychain is usable (then nothing is kept
/// anywhere and the sign-in simply cannot survive a restart).
pub(crate) async fn save(config: &Config, resumable: &Resumable) -> Option<Saved> {
    let account = pending_account(config.api_base());
    let json = serde_json::to_string(resumable).ok()?;
    let acc = account.clone();
    let stored = keychain(move || entry(&acc)?.set_password(&json).ok()).await;
    match stored {
        Some(()) => Some(Saved { account, state: resumable.state.clone() }),
        None => {
            tracing::debug!("no keychain for the pending sign-in; it cannot survive a restart");
            None
        }
    }
}

/// Removes the entry if it still belongs to the sign-in that saved it.
pub(crate) async fn forget(saved: &Saved) {
    let (account, state) = (saved.account.clone(), saved.state.clone());
    let removed = keychain(move || {
        let entry = entry(&account)?;
        let mine = match entry.get_password() {
            Ok(json) => decode(&json).is_none_or(|r| bool::from(r.state.as_bytes().ct_eq(state.as_bytes()))),
            Err(_) => false,
        };
        if mine {
            entry.delete_credential().ok()?;
        }
        Some(())
    })
    .await;
    if removed.is_none() {
        tracing::warn!("the pending sign-in could not be removed from the keychain; it expires on its own");
    }
}

/// One resume at a time in this process, so two copies of the same link cannot both find the
/// entry before either has removed it. (The single-instance plugin makes this one process.)
static RESUMING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Finishes a deep-link sign-in started before the app was restarted: checks `callback_url`
/// with the same strict parser and constant-time state check as a running sign-in, removes the
/// entry, and only then exchanges the code (once). Errors:
/// - `Refused(..)`: the link is malformed or its state is not the pending sign-in's (the entry
///   stays, as a running sign-in stays waiting);
/// - `NoSignInPending`: nothing is pending for this server (or no keychain is usable);
/// - `TimedOut`: the pending sign-in had expired (the entry is removed);
/// - `Denied`, `CodeRefused`, `Api(..)`: as for a running sign-in (the entry is removed).
pub async fn resume(config: &Config, callback_url: &str) -> Result<TokenSet, SignInError> {
    // Junk is refused before the keychain is touched.
    callback::parse(&Expect::DeepLink, callback_url).map_err(SignInError::Refused)?;
    let _one_at_a_time = RESUMING.lock().await;
    let account = pending_account(config.api_base());
    let acc = account.clone();
    let stored = keychain(move || match entry(&acc)?.get_password() {
        Ok(json) => Some(Some(json)),
        Err(keyring::Error::NoEntry) => Some(None),
        Err(_) => None,
    })
    .await;
    let Some(Some(json)) = stored else {
        return Err(SignInError::NoSignInPending);
    };
    let Some(resumable) = decode(&json) else {
        tracing::warn!("the pending sign-in in the keychain is unreadable; removing it");
        remove(&account).await;
        return Err(SignInError::NoSignInPending);
    };
    let pending = PendingSignIn::new(Expect::DeepLink, CsrfToken::new(resumable.state.clone()));
    if resumable.is_expired() {
        remove(&account).await;
        tracing::info!("the pending sign-in had expired");
        // Only the sign-in's own link learns that it timed out.
        return Err(match pending.accept(callback_url) {
            Err(SignInError::Refused(r)) => SignInError::Refused(r),
            _ => SignInError::TimedOut,
        });
    }
    // A refusal (wrong state) leaves the entry: a forged link cannot end the sign-in.
    let accepted = pending.accept(callback_url)?;
    // Spent: the entry goes before any exchange, so a replay finds nothing to exchange with.
    if !remove(&account).await {
        tracing::warn!("the pending sign-in could not be removed from the keychain; not exchanging its code");
        return Err(SignInError::NoSignInPending);
    }
    tracing::info!("resuming a sign-in started before the app restarted");
    match accepted {
        Accepted::Code(code) => {
            let http = oauth::http_client(config)?;
            let verifier = PkceCodeVerifier::new(resumable.verifier.clone());
            oauth::exchange(&http, &resumable.metadata(), &resumable.redirect_uri, code, verifier).await
        }
        // A deep-link callback never carries tokens.
        Accepted::Tokens(_) => Err(SignInError::CodeRefused),
    }
}

/// Deletes the entry; true when it is gone (or was already).
async fn remove(account: &str) -> bool {
    let account = account.to_string();
    keychain(move || match entry(&account)?.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => Some(()),
        Err(_) => None,
    })
    .await
    .is_some()
}

fn decode(json: &str) -> Option<Resumable> {
    serde_json::from_str::<Resumable>(json).ok().filter(|r| r.v == VERSION && !r.state.is_empty())
}

fn entry(account: &str) -> Option<keyring::Entry> {
    keyring::Entry::new(KEYCHAIN_SERVICE, account).ok()
}

/// Runs a blocking keychain call on tokio's blocking pool, giving up after `KEYCHAIN_PATIENCE`.
/// `None` when it failed, panicked or took too long.
/// (The keychain store's own runner: a call given up also renews the keyring's connection.)
async fn keychain<T: Send + 'static>(f: impl FnOnce() -> Option<T> + Send + 'static) -> Option<T> {
    crate::auth::keychain_call(KEYCHAIN_PATIENCE, move || Ok(f())).await.ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_debug_redacted_and_expiry() {
        let r = Resumable::new(
            &CsrfToken::new("the-state".into()),
            &PkceCodeVerifier::new("the-verifier".into()),
            "kallyai://auth/callback",
            &ServerMetadata::example(),
            Duration::from_secs(180),
        );
        assert!(!r.is_expired());
        let back = decode(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!((back.state.as_str(), back.verifier.as_str()), ("the-state", "the-verifier"));
        assert_eq!(back.metadata(), ServerMetadata::example());
        let shown = format!("{r:?} {:?}", Saved { account: "a".into(), state: "the-state".into() });
        assert!(!shown.contains("the-state") && !shown.contains("the-verifier"), "{shown}");
        let expired = Resumable::new(
            &CsrfToken::new("s".into()),
            &PkceCodeVerifier::new("v".into()),
            "kallyai://auth/callback",
            &ServerMetadata::example(),
            Duration::ZERO,
        );
        assert!(expired.is_expired());
        assert!(decode("not json").is_none());
        assert_eq!(pending_account("http://127.0.0.1:4000/"), "pending-sign-in:http://127.0.0.1:4000");
    }
}
