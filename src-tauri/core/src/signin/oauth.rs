//! Authorization code + PKCE S256 for the public client `kallyai-desktop`, through the `oauth2`
//! crate: the authorize URL (with a fresh state and challenge), the one code exchange, and RFC 7009
//! revocation.

use std::time::Duration;

use oauth2::basic::{BasicClient, BasicErrorResponse};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, CsrfToken, EndpointNotSet, EndpointSet, HttpClientError, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, RequestTokenError, TokenResponse, TokenUrl,
};
use url::Url;

use super::discovery::{ServerMetadata, CLIENT_ID};
use super::error::{clean_error_code, SignInError};
use crate::auth::{AccessToken, RefreshToken, TokenSet};
use crate::config::Config;
use crate::error::{codes, ApiError};
use crate::transport::transport_error;

/// Bytes of CSPRNG randomness in `state` (43 url-safe characters, like the official CLIs).
pub const STATE_BYTES: u32 = 32;

type OAuthClient = BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// The HTTP client for the token and revocation endpoints. It never follows redirects: a
/// redirect would carry the code, verifier or token to wherever it points.
pub(crate) fn http_client(config: &Config) -> Result<reqwest::Client, ApiError> {
    reqwest::Client::builder()
        .user_agent(config.user_agent.clone())
        .connect_timeout(config.connect_timeout)
        .timeout(config.refresh_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| ApiError::client(codes::INVALID_REQUEST, e.without_url().to_string()))
}

fn client(metadata: &ServerMetadata, redirect_uri: &str) -> Result<OAuthClient, SignInError> {
    let redirect = RedirectUrl::new(redirect_uri.to_string()).map_err(|_| SignInError::BadServerSettings)?;
    Ok(BasicClient::new(ClientId::new(CLIENT_ID.to_string()))
        .set_auth_uri(AuthUrl::from_url(metadata.authorization_endpoint.clone()))
        .set_token_uri(TokenUrl::from_url(metadata.token_endpoint.clone()))
        .set_redirect_uri(redirect))
}

/// What the browser opens, and the two secrets the sign-in keeps until its callback.
pub struct Authorization {
    pub browser_url: Url,
    pub state: CsrfToken,
    pub verifier: PkceCodeVerifier,
}

impl std::fmt::Debug for Authorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authorization").finish_non_exhaustive()
    }
}

/// Builds the authorize URL with `response_type=code`, `client_id`, `redirect_uri`, a random
/// `state` and an S256 `code_challenge` of a random verifier.
pub fn authorize(metadata: &ServerMetadata, redirect_uri: &str) -> Result<Authorization, SignInError> {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (browser_url, state) = client(metadata, redirect_uri)?
        .authorize_url(|| CsrfToken::new_random_len(STATE_BYTES))
        .set_pkce_challenge(challenge)
        .url();
    Ok(Authorization { browser_url, state, verifier })
}

/// Exchanges `code` (once) for tokens. A refusal by the server is `CodeRefused`; no answer is
/// `Api` with a network code. Neither carries the code, the verifier or the server's body.
pub async fn exchange(
    http: &reqwest::Client,
    metadata: &ServerMetadata,
    redirect_uri: &str,
    code: AuthorizationCode,
    verifier: PkceCodeVerifier,
) -> Result<TokenSet, SignInError> {
    let answer = client(metadata, redirect_uri)?
        .exchange_code(code)
        .set_pkce_verifier(verifier)
        .request_async(http)
        .await
        .map_err(exchange_error)?;
    let access = answer.access_token().secret();
    if access.is_empty() {
        return Err(SignInError::CodeRefused);
    }
    let refresh = answer.refresh_token().map(|r| RefreshToken::new(r.secret().clone()));
    let expires_in = answer.expires_in().as_ref().map(Duration::as_secs);
    Ok(TokenSet::from_grant(AccessToken::new(access.clone()), refresh, expires_in))
}

fn exchange_error(e: RequestTokenError<HttpClientError<reqwest::Error>, BasicErrorResponse>) -> SignInError {
    match e {
        RequestTokenError::Request(HttpClientError::Reqwest(inner)) => SignInError::Api(transport_error(*inner)),
        RequestTokenError::Request(_) => SignInError::Api(ApiError::client(codes::CONNECTION_LOST, "")),
        // The RFC 6749 §5.2 answer: the server's own reason (its description is not shown: it is
        // free text from the server, and the code says enough).
        RequestTokenError::ServerResponse(answer) => {
            SignInError::TokenRefused { error: clean_error_code(answer.error().as_ref()) }
        }
        // A body that is neither tokens nor a standard error: the server did not give tokens
        // for this code, and the code is spent either way.
        RequestTokenError::Parse(..) | RequestTokenError::Other(_) => SignInError::CodeRefused,
    }
}

/// RFC 7009 revocation, one attempt. Written by hand rather than through `oauth2`, whose
/// revocation refuses plain-http endpoints, which the loopback sim (and any local server) has:
/// a form POST of `token`, `token_type_hint` and the public `client_id`.
pub async fn revoke(http: &reqwest::Client, endpoint: &Url, token: &str, hint: &str) -> Result<(), ApiError> {
    let form = [("token", token), ("token_type_hint", hint), ("client_id", CLIENT_ID)];
    let resp = http.post(endpoint.clone()).form(&form).send().await.map_err(transport_error)?;
    let status = resp.status().as_u16();
    // RFC 7009 §2.2: 200 whether or not the token was known; the body is not read.
    if (200..300).contains(&status) {
        Ok(())
    } else {
        let body = resp.bytes().await.unwrap_or_default();
        Err(ApiError::from_response(status, &body, None).redact(token))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorize_url_has_pkce_s256_and_a_fresh_state() {
        let a = authorize(&ServerMetadata::example(), "kallyai://auth/callback").unwrap();
        let b = authorize(&ServerMetadata::example(), "kallyai://auth/callback").unwrap();
        let q: std::collections::HashMap<_, _> = a.browser_url.query_pairs().into_owned().collect();
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["client_id"], CLIENT_ID);
        assert_eq!(q["redirect_uri"], "kallyai://auth/callback");
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["state"], *a.state.secret());
        assert_eq!(a.state.secret().len(), 43, "32 random bytes, base64url");
        assert_ne!(a.state.secret(), b.state.secret());
        assert_ne!(q["code_challenge"], *a.verifier.secret(), "the verifier never leaves the app");
        assert!(!format!("{a:?}").contains(a.state.secret()));
    }
}
