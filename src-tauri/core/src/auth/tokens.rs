//! The token triple the server hands out at sign-in and on every refresh.

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use super::{AccessToken, RefreshToken, Secret};
use crate::clock::unix_secs;
use crate::lenient;

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
        Self { access, refresh, expires_at: unix_secs().saturating_add(lifetime) }
    }

    /// True when the access token expires within `margin` from now (or already has).
    pub fn expires_within(&self, margin: Duration) -> bool {
        unix_secs().saturating_add(margin.as_secs()) >= self.expires_at
    }
}

#[derive(Deserialize)]
struct Stored {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    expires_at: Option<u64>,
}

impl TokenSet {
    /// The set as JSON for a secret store, in the token-file shape every KallyAI client reads
    /// (`access_token`, `refresh_token`, integer `expires_at`; reference §2.6). Wrapped in
    /// `Secret` so it cannot be logged by accident.
    pub fn to_stored_json(&self) -> Secret {
        Secret::new(
            json!({
                "access_token": self.access.expose(),
                "refresh_token": self.refresh.as_ref().map(RefreshToken::expose),
                "expires_at": self.expires_at,
            })
            .to_string(),
        )
    }

    /// Reads `to_stored_json` output or a CLI token file (float `expires_at`, null refresh
    /// token). `None` when it is not a token set; a missing expiry counts as expired.
    pub fn from_stored_json(text: &str) -> Option<Self> {
        let s: Stored = serde_json::from_str(text).ok()?;
        if s.access_token.is_empty() {
            return None;
        }
        Some(Self {
            access: AccessToken::new(s.access_token),
            refresh: s.refresh_token.filter(|r| !r.is_empty()).map(RefreshToken::new),
            expires_at: s.expires_at.unwrap_or(0),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_computed_from_expires_in() {
        let t = TokenSet::from_grant(AccessToken::new("a"), None, None);
        assert!(t.expires_at >= unix_secs() + DEFAULT_EXPIRES_IN - 1);
        assert!(!t.expires_within(Duration::from_secs(60)));
        assert!(t.expires_within(Duration::from_secs(3600)));
        let soon = TokenSet::from_grant(AccessToken::new("a"), None, Some(30));
        assert!(soon.expires_within(Duration::from_secs(60)));
    }

    #[test]
    fn stored_json_round_trips_and_reads_cli_files() {
        let t = TokenSet { access: AccessToken::new("at"), refresh: Some(RefreshToken::new("rt")), expires_at: 42 };
        let stored = t.to_stored_json();
        assert_eq!(format!("{stored:?}"), "Secret(***)");
        assert_eq!(TokenSet::from_stored_json(stored.expose()), Some(t));
        let cli = TokenSet::from_stored_json(r#"{"access_token":"a","refresh_token":null,"expires_at":1795530443.14}"#)
            .unwrap();
        assert_eq!((cli.refresh, cli.expires_at), (None, 1795530443));
        assert_eq!(TokenSet::from_stored_json(r#"{"access_token":""}"#), None);
        assert_eq!(TokenSet::from_stored_json("garbage"), None);
    }
}
