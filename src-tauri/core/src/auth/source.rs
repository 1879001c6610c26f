//! The interface between the HTTP client and whoever owns the tokens.

use async_trait::async_trait;

use super::AccessToken;
use crate::error::ApiError;

/// Supplies bearer tokens to the client and hears about the ones the server rejected.
#[async_trait]
pub trait TokenSource: Send + Sync {
    /// The access token to send now, or `ApiError` with code `not_signed_in`.
    async fn bearer(&self) -> Result<AccessToken, ApiError>;

    /// The server answered 401 to a request carrying `rejected`. Returns `Ok(true)` when a
    /// different token is now available (the client then retries once), `Ok(false)` when the
    /// user must sign in again, `Err` when that could not be decided (e.g. offline).
    async fn on_unauthorized(&self, rejected: &AccessToken) -> Result<bool, ApiError>;
}

/// A fixed token that is never refreshed (scripts, tests, a token pasted by a developer).
#[derive(Clone, Debug)]
pub struct StaticToken(AccessToken);

impl StaticToken {
    pub fn new(token: AccessToken) -> Self {
        Self(token)
    }
}

#[async_trait]
impl TokenSource for StaticToken {
    async fn bearer(&self) -> Result<AccessToken, ApiError> {
        Ok(self.0.clone())
    }
    async fn on_unauthorized(&self, _rejected: &AccessToken) -> Result<bool, ApiError> {
        Ok(false)
    }
}

/// No tokens at all: every authenticated call fails with `not_signed_in`, public ones work.
#[derive(Clone, Copy, Debug, Default)]
pub struct SignedOut;

#[async_trait]
impl TokenSource for SignedOut {
    async fn bearer(&self) -> Result<AccessToken, ApiError> {
        Err(ApiError::not_signed_in())
    }
    async fn on_unauthorized(&self, _rejected: &AccessToken) -> Result<bool, ApiError> {
        Ok(false)
    }
}
