//! The public auth endpoints: refresh and the CLI loopback sign-in URL (reference §2).

use serde::Deserialize;
use url::Url;

use super::{AccessToken, RefreshToken, TokenSet};
use crate::config::Config;
use crate::error::{codes, ApiError};
use crate::lenient;
use crate::transport::{Request, Transport};

/// Auth calls; no bearer is needed for any of them.
#[derive(Clone, Debug)]
pub struct AuthApi {
    transport: Transport,
}

#[derive(Deserialize)]
struct RefreshAnswer {
    access_token: Option<String>,
    refresh_token: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_u64")]
    expires_in: Option<u64>,
}

impl AuthApi {
    pub fn new(config: Config) -> Result<Self, ApiError> {
        Ok(Self { transport: Transport::new(config)? })
    }

    pub(crate) fn from_transport(transport: Transport) -> Self {
        Self { transport }
    }

    /// `POST /v1/auth/refresh`, one attempt (the session decides about retrying). A missing
    /// `expires_in` means 3600 s; a missing `refresh_token` keeps `current` (reference §2.4).
    pub async fn refresh(&self, current: &RefreshToken) -> Result<TokenSet, ApiError> {
        let req = Request::post(&["v1", "auth", "refresh"])
            .public()
            .json(serde_json::json!({ "refresh_token": current.expose() }));
        let timeout = Some(self.transport.config().refresh_timeout);
        let raw = self.transport.send_once(&req, None, timeout).await?;
        if !(200..300).contains(&raw.status) {
            return Err(ApiError::from_response(raw.status, &raw.body, raw.retry_after).redact(current.expose()));
        }
        let answer: RefreshAnswer = crate::transport::decode(&req, &raw.body)?;
        let access = answer
            .access_token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::client(codes::DECODE, "the refresh answer has no access_token"))?;
        let refresh =
            answer.refresh_token.filter(|t| !t.is_empty()).map(RefreshToken::new).unwrap_or_else(|| current.clone());
        Ok(TokenSet::from_grant(AccessToken::new(access), Some(refresh), answer.expires_in))
    }

    /// The browser URL for the CLI loopback sign-in:
    /// `{base}/v1/auth/cli?redirect_uri=...&state=...` (reference §2.1).
    pub fn cli_login_url(&self, redirect_uri: &str, state: &str) -> Url {
        cli_login_url(self.transport.config(), redirect_uri, state)
    }
}

pub(crate) fn cli_login_url(config: &Config, redirect_uri: &str, state: &str) -> Url {
    let mut url = config.url("/v1/auth/cli");
    url.query_pairs_mut().append_pair("redirect_uri", redirect_uri).append_pair("state", state);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_login_url_escapes_its_parameters() {
        let c = Config::new("http://127.0.0.1:4000").unwrap();
        let url = cli_login_url(&c, "http://127.0.0.1:8740/cb", "a b&c");
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:4000/v1/auth/cli?redirect_uri=http%3A%2F%2F127.0.0.1%3A8740%2Fcb&state=a+b%26c"
        );
        let pairs: Vec<_> = url.query_pairs().into_owned().collect();
        assert_eq!(pairs[1], ("state".to_string(), "a b&c".to_string()));
    }
}
