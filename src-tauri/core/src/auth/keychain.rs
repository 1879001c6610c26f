//! `KeychainStore`: the session's tokens in the system keychain (Secret Service on Linux, Keychain
//! on macOS, Credential Manager on Windows) through the `keyring` crate. One entry per API base:
//! service `ai.kally.desktop`, user = the API base URL, secret = the `TokenSet` as JSON.
//!
//! keyring calls block (D-Bus round trips, possibly an unlock prompt), so each runs on tokio's
//! blocking pool, and is given up after a timeout: a keyring that does not answer (locked behind
//! a prompt nobody sees, a stuck daemon) must not stall sign-in, every request waiting on the
//! session, or the app's start. Errors are fixed sentences chosen by error kind: a keyring error
//! can carry the secret's bytes (`BadEncoding`), so it is never formatted.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{secret_service, AccessToken, RefreshToken, StoreError, TokenSet, TokenStore};
use crate::config::Config;

/// The keychain service name every entry of the app is filed under.
pub const KEYCHAIN_SERVICE: &str = "ai.kally.desktop";

/// How long a keychain call may take before it counts as "did not answer". A keyring that shows
/// an unlock prompt answers when the user does; this is the wait for one that never will.
pub const KEYCHAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// The sentence for a keychain that did not answer in time.
pub const DID_NOT_ANSWER: &str = "the keyring did not answer";
/// The reason given when the keyring refuses access (typically: locked).
const LOCKED: &str = "the keychain is locked or cannot be reached";
/// The reason given when the keyring's service fails.
const PLATFORM_FAILURE: &str = "the keychain reported an error";

/// Whether `error` is a keyring that may answer later (locked, or stuck behind an unlock
/// prompt), as opposed to one that is missing or broken.
pub fn is_waiting(error: &StoreError) -> bool {
    error.0 == DID_NOT_ANSWER || error.0 == LOCKED
}

/// Keeps tokens in the system keychain. Check `probe()` first and fall back to `MemoryStore`
/// (telling the user they will need to sign in again next time) when it fails.
#[derive(Clone, Debug)]
pub struct KeychainStore {
    service: String,
    account: String,
    timeout: Duration,
}

/// The JSON inside the secret.
#[derive(Serialize, Deserialize)]
struct Stored {
    access_token: String,
    refresh_token: Option<String>,
    expires_at: u64,
}

impl KeychainStore {
    /// The entry for `config`'s API base.
    pub fn new(config: &Config) -> Self {
        Self::for_api_base(config.api_base())
    }

    pub fn for_api_base(api_base: &str) -> Self {
        Self {
            service: KEYCHAIN_SERVICE.to_string(),
            account: api_base.trim_end_matches('/').to_string(),
            timeout: KEYCHAIN_TIMEOUT,
        }
    }

    /// The same entry, each call given up after `timeout` instead of [`KEYCHAIN_TIMEOUT`].
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The keychain user name of the entry (the API base).
    pub fn account(&self) -> &str {
        &self.account
    }

    /// Whether a keychain is usable now: the platform store initialised and an entry can be
    /// written and deleted. Writes a throw-away entry (user `probe`), never a token.
    pub async fn probe() -> Result<(), StoreError> {
        Self::probe_within(KEYCHAIN_TIMEOUT).await
    }

    /// `probe`, given up after this store's timeout.
    pub async fn probe_store(&self) -> Result<(), StoreError> {
        Self::probe_within(self.timeout).await
    }

    /// `probe`, given up after `timeout`.
    pub async fn probe_within(timeout: Duration) -> Result<(), StoreError> {
        blocking(timeout, Self::probe_now).await
    }

    /// `probe_store` for a keychain that was not usable before: a locked keyring stays locked
    /// (no unlock prompt shown again), only one the user has unlocked since is written to.
    pub async fn reprobe_store(&self) -> Result<(), StoreError> {
        blocking(self.timeout, || match secret_service::is_locked() {
            true => Err(StoreError(LOCKED.to_string())),
            false => Self::probe_now(),
        })
        .await
    }

    fn probe_now() -> Result<(), StoreError> {
        {
            if let Err(e) = keyring::Entry::store_status() {
                return Err(store_error(e));
            }
            let entry = keyring::Entry::new(KEYCHAIN_SERVICE, "probe").map_err(|e| store_error(&e))?;
            entry.set_password("probe").map_err(|e| store_error(&e))?;
            match entry.delete_credential() {
                Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
                Err(e) => Err(store_error(&e)),
            }
        }
    }

    fn entry(service: &str, account: &str) -> Result<keyring::Entry, StoreError> {
        keyring::Entry::new(service, account).map_err(|e| store_error(&e))
    }
}

#[async_trait]
impl TokenStore for KeychainStore {
    async fn load(&self) -> Result<Option<TokenSet>, StoreError> {
        let (service, account) = (self.service.clone(), self.account.clone());
        blocking(self.timeout, move || match Self::entry(&service, &account)?.get_password() {
            Ok(json) => Ok(decode(&json)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(store_error(&e)),
        })
        .await
    }

    async fn save(&self, tokens: &TokenSet) -> Result<(), StoreError> {
        let (service, account) = (self.service.clone(), self.account.clone());
        let json = encode(tokens);
        blocking(self.timeout, move || {
            Self::entry(&service, &account)?.set_password(&json).map_err(|e| store_error(&e))
        })
        .await
    }

    async fn clear(&self) -> Result<(), StoreError> {
        let (service, account) = (self.service.clone(), self.account.clone());
        blocking(self.timeout, move || match Self::entry(&service, &account)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(store_error(&e)),
        })
        .await
    }
}

fn encode(tokens: &TokenSet) -> String {
    let stored = Stored {
        access_token: tokens.access.expose().to_string(),
        refresh_token: tokens.refresh.as_ref().map(|r| r.expose().to_string()),
        expires_at: tokens.expires_at,
    };
    serde_json::to_string(&stored).unwrap_or_default()
}

/// An entry that is not ours or is damaged reads as "signed out" (the next sign-in overwrites it).
fn decode(json: &str) -> Option<TokenSet> {
    let Ok(stored) = serde_json::from_str::<Stored>(json) else {
        tracing::warn!("the keychain entry is unreadable; treating it as signed out");
        return None;
    };
    if stored.access_token.is_empty() {
        return None;
    }
    Some(TokenSet {
        access: AccessToken::new(stored.access_token),
        refresh: stored.refresh_token.filter(|r| !r.is_empty()).map(RefreshToken::new),
        expires_at: stored.expires_at,
    })
}

/// Runs a keyring call on the blocking pool, for at most `timeout`. A call given up keeps its
/// thread until the keyring answers (a blocking call cannot be cancelled); the caller goes on.
pub(crate) async fn blocking<T: Send + 'static>(
    timeout: Duration,
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let call = move || {
        if !secret_service::renew_if_stale() {
            return Err(StoreError(LOCKED.to_string()));
        }
        let result = f();
        // A failure of the service (not of the entry) may be a connection whose daemon went
        // away (replaced when the keyring was unlocked): the next call starts a new one.
        if matches!(&result, Err(e) if e.0 == PLATFORM_FAILURE || e.0 == LOCKED) {
            secret_service::mark_stale();
        }
        result
    };
    match tokio::time::timeout(timeout, tokio::task::spawn_blocking(call)).await {
        Ok(done) => done.unwrap_or_else(|_| Err(StoreError("the keychain call stopped unexpectedly".to_string()))),
        Err(_) => {
            secret_service::mark_stale();
            tracing::warn!(timeout_s = timeout.as_secs_f64(), "the keyring did not answer");
            Err(StoreError(DID_NOT_ANSWER.to_string()))
        }
    }
}

fn store_error(e: &keyring::Error) -> StoreError {
    let why = match e {
        keyring::Error::NoStorageAccess(_) => LOCKED,
        keyring::Error::NoDefaultStore => "no keychain is available on this computer",
        keyring::Error::PlatformFailure(_) => PLATFORM_FAILURE,
        keyring::Error::BadEncoding(_) | keyring::Error::BadDataFormat(..) => "the keychain entry is unreadable",
        keyring::Error::TooLong(..) => "the sign-in is too large for the keychain",
        keyring::Error::Ambiguous(_) => "the keychain holds more than one entry for this server",
        _ => "the keychain refused the request",
    };
    StoreError(why.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_and_damaged_entries() {
        let t = TokenSet { access: AccessToken::new("at"), refresh: Some(RefreshToken::new("rt")), expires_at: 42 };
        assert_eq!(decode(&encode(&t)), Some(t));
        let no_refresh = TokenSet { access: AccessToken::new("at"), refresh: None, expires_at: 1 };
        assert_eq!(decode(&encode(&no_refresh)), Some(no_refresh));
        assert_eq!(decode("not json"), None);
        assert_eq!(decode(r#"{"access_token":"","refresh_token":null,"expires_at":1}"#), None);
    }

    #[test]
    fn one_entry_per_api_base() {
        let s = KeychainStore::new(&Config::new("http://127.0.0.1:4000/").unwrap());
        assert_eq!((s.service.as_str(), s.account()), (KEYCHAIN_SERVICE, "http://127.0.0.1:4000"));
    }

    #[test]
    fn errors_never_carry_the_secret() {
        let e = store_error(&keyring::Error::BadEncoding(b"eyJ-the-token".to_vec()));
        assert!(!format!("{e} {e:?}").contains("eyJ"));
    }
}
