//! Where a session's tokens persist between runs. The keychain store lives with the sign-in
//! work; `MemoryStore` is for tests and for machines without a keychain.

use std::fmt;
use std::sync::Mutex;

use async_trait::async_trait;

use super::TokenSet;

/// A persistence failure, e.g. the keychain is locked. Never contains a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "The sign-in could not be saved: {}", self.0)
    }
}

impl std::error::Error for StoreError {}

/// Persists the current `TokenSet`. `save` must be durable before it returns: the session saves
/// a rotated refresh token before using it, so a crash cannot lose the only valid one.
#[async_trait]
pub trait TokenStore: Send + Sync {
    async fn load(&self) -> Result<Option<TokenSet>, StoreError>;
    async fn save(&self, tokens: &TokenSet) -> Result<(), StoreError>;
    async fn clear(&self) -> Result<(), StoreError>;
}

/// Keeps tokens in process memory only (lost on exit).
#[derive(Default)]
pub struct MemoryStore {
    tokens: Mutex<Option<TokenSet>>,
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore").finish_non_exhaustive()
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }
    fn slot(&self) -> std::sync::MutexGuard<'_, Option<TokenSet>> {
        // A poisoned lock only means another thread panicked mid-assignment of a whole value.
        self.tokens.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl TokenStore for MemoryStore {
    async fn load(&self) -> Result<Option<TokenSet>, StoreError> {
        Ok(self.slot().clone())
    }
    async fn save(&self, tokens: &TokenSet) -> Result<(), StoreError> {
        *self.slot() = Some(tokens.clone());
        Ok(())
    }
    async fn clear(&self) -> Result<(), StoreError> {
        *self.slot() = None;
        Ok(())
    }
}
