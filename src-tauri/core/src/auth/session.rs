//! `Session`: the signed-in user's tokens in memory, refreshed on demand, exactly once at a
//! time however many requests need it.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Mutex;

use super::{AccessToken, AuthApi, StoreError, TokenSet, TokenSource, TokenStore};
use crate::error::ApiError;
use crate::events::{Event, EventBus};

/// Refresh this long before the access token's stated expiry, so requests do not race it.
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// A `TokenSource` holding a `TokenSet`. Single-flight refresh comes from one async mutex:
/// whoever needs a refresh performs it while holding the lock; everyone queued behind it then
/// sees the new token (their rejected token differs from the current one) and does not refresh.
/// The store (the keychain: D-Bus, maybe a prompt) is never called with that lock held: a slow
/// keyring must not hold up every request. Writes to the store take a lock of their own and
/// always write the newest tokens, so a slow write never overwrites a newer one.
pub struct Session {
    auth: AuthApi,
    store: Arc<dyn TokenStore>,
    tokens: Mutex<Option<TokenSet>>,
    /// Serialises writes to the store (`persist`).
    saving: Mutex<()>,
    events: Option<EventBus>,
    refresh_margin: Duration,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").finish_non_exhaustive()
    }
}

impl Session {
    pub fn new(auth: AuthApi, store: Arc<dyn TokenStore>) -> Self {
        Self {
            auth,
            store,
            tokens: Mutex::new(None),
            saving: Mutex::new(()),
            events: None,
            refresh_margin: DEFAULT_REFRESH_MARGIN,
        }
    }

    /// Publish `AuthChanged` on `events` when the user is signed in or out.
    pub fn with_events(mut self, events: EventBus) -> Self {
        self.events = Some(events);
        self
    }

    pub fn with_refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    /// Loads tokens saved by an earlier run. Returns whether the user is signed in.
    pub async fn restore(&self) -> Result<bool, StoreError> {
        let saved = self.store.load().await?;
        let mut slot = self.tokens.lock().await;
        // A sign-in that finished meanwhile (a cold-start callback) is newer than what the store
        // held before it.
        if slot.is_some() {
            return Ok(true);
        }
        let signed_in = saved.is_some();
        *slot = saved;
        drop(slot);
        self.publish(Event::AuthChanged { signed_in });
        Ok(signed_in)
    }

    /// Starts a session with freshly issued tokens (after sign-in); saved first.
    pub async fn sign_in(&self, tokens: TokenSet) -> Result<(), StoreError> {
        {
            let _saving = self.saving.lock().await;
            self.store.save(&tokens).await?;
        }
        *self.tokens.lock().await = Some(tokens);
        self.publish(Event::AuthChanged { signed_in: true });
        Ok(())
    }

    /// Forgets the tokens here and in the store.
    pub async fn sign_out(&self) -> Result<(), StoreError> {
        *self.tokens.lock().await = None;
        self.publish(Event::AuthChanged { signed_in: false });
        self.persist().await
    }

    pub async fn is_signed_in(&self) -> bool {
        self.tokens.lock().await.is_some()
    }

    /// Unix seconds at which the current access token expires.
    pub async fn expires_at(&self) -> Option<u64> {
        self.tokens.lock().await.as_ref().map(|t| t.expires_at)
    }

    /// Refreshes with the lock held (the refresh request is the single flight; the store is
    /// written by the caller once the lock is released, see `persist`). `Ok(true)`: new tokens in
    /// place. `Ok(false)`: the server refused (or there is no refresh token), the user is signed
    /// out. `Err`: undecided (offline, server trouble); the session is kept so a later attempt can
    /// succeed.
    async fn refresh_locked(&self, slot: &mut Option<TokenSet>) -> Result<bool, ApiError> {
        let Some(refresh) = slot.as_ref().and_then(|t| t.refresh.clone()) else {
            self.end_locked(slot);
            return Ok(false);
        };
        match self.auth.refresh(&refresh).await {
            Ok(fresh) => {
                *slot = Some(fresh);
                tracing::debug!("access token refreshed");
                Ok(true)
            }
            Err(e) if matches!(e.status(), Some(400 | 401 | 403)) => {
                tracing::info!(code = e.code(), "refresh refused; signing out");
                self.end_locked(slot);
                Ok(false)
            }
            Err(e) => {
                tracing::debug!(code = e.code(), "refresh failed; keeping the session");
                Err(e)
            }
        }
    }

    /// The server refused the session: signed out, and not by the user. The store is cleared by
    /// the caller once the lock is released (`persist`).
    fn end_locked(&self, slot: &mut Option<TokenSet>) {
        *slot = None;
        self.publish(Event::AuthChanged { signed_in: false });
        self.publish(Event::SessionEnded);
    }

    /// Writes the session as it is now to the store: the tokens, or nothing when signed out.
    /// Called with the token lock released; one write at a time, each of the newest state (the
    /// server may already have retired the refresh token a refresh replaced, so it is written at
    /// once, before anything else is written).
    async fn persist(&self) -> Result<(), StoreError> {
        let _saving = self.saving.lock().await;
        let now = self.tokens.lock().await.clone();
        let written = match &now {
            Some(tokens) => self.store.save(tokens).await,
            None => self.store.clear().await,
        };
        if let Err(e) = &written {
            tracing::warn!(error = %e, signed_in = now.is_some(), "could not write the session to the store");
        }
        written
    }

    fn publish(&self, event: Event) {
        if let Some(bus) = &self.events {
            bus.publish(event);
        }
    }
}

#[async_trait]
impl TokenSource for Session {
    async fn bearer(&self) -> Result<AccessToken, ApiError> {
        let mut slot = self.tokens.lock().await;
        let Some(current) = slot.as_ref() else {
            return Err(ApiError::not_signed_in());
        };
        if !current.expires_within(self.refresh_margin) || current.refresh.is_none() {
            return Ok(current.access.clone());
        }
        let still_valid = !current.expires_within(Duration::ZERO);
        let stale = current.access.clone();
        match self.refresh_locked(&mut slot).await {
            Ok(true) => {
                let access = slot.as_ref().map(|t| t.access.clone()).ok_or_else(ApiError::not_signed_in)?;
                drop(slot);
                let _ = self.persist().await;
                Ok(access)
            }
            Ok(false) => {
                drop(slot);
                let _ = self.persist().await;
                Err(ApiError::not_signed_in())
            }
            // Offline near expiry: the old token may still work; let the server decide.
            Err(_) if still_valid => Ok(stale),
            Err(e) => Err(e),
        }
    }

    async fn on_unauthorized(&self, rejected: &AccessToken) -> Result<bool, ApiError> {
        let mut slot = self.tokens.lock().await;
        match slot.as_ref() {
            None => Ok(false),
            // Someone refreshed while this request was in flight: just retry with the new token.
            Some(current) if current.access != *rejected => Ok(true),
            Some(_) => {
                let refreshed = self.refresh_locked(&mut slot).await;
                drop(slot);
                if refreshed.is_ok() {
                    let _ = self.persist().await;
                }
                refreshed
            }
        }
    }
}
