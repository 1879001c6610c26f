//! The token triple the server hands out at sign-in and on every refresh.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{AccessToken, RefreshToken};

/// Lifetime assumed when the server does not say (reference §2.4).
pub const DEFAULT_EXPIRES_IN: u64 = 3600;

/// Access token, refresh token and when the access token stops working.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenSet {
    pub access: AccessToken,
    /// `None` when the server never sent one; then the session ends with the access token.
    pub refresh: Option<RefreshToken>,
    /// Unix seconds (integer, the format every KallyAI client can read, reference §4 #30).
    pub expires_at: u64,
}

impl TokenSet {
    /// A set from a grant that said its token lives `expires_in` seconds (default 3600).
    pub fn from_grant(access: AccessToken, refresh: Option<RefreshToken>, expires_in: Option<u64>) -> Self {
        let lifetime = expires_in.unwrap_or(DEFAULT_EXPIRES_IN);
        Self { access, refresh, expires_at: unix_now().saturating_add(lifetime) }
    }

    /// True when the access token expires within `margin` from now (or already has).
    pub fn expires_within(&self, margin: Duration) -> bool {
        unix_now().saturating_add(margin.as_secs()) >= self.expires_at
    }
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_computed_from_expires_in() {
        let t = TokenSet::from_grant(AccessToken::new("a"), None, None);
        assert!(t.expires_at >= unix_now() + DEFAULT_EXPIRES_IN - 1);
        assert!(!t.expires_within(Duration::from_secs(60)));
        assert!(t.expires_within(Duration::from_secs(3600)));
        let soon = TokenSet::from_grant(AccessToken::new("a"), None, Some(30));
        assert!(soon.expires_within(Duration::from_secs(60)));
    }
}
