//! OAuth 2: the authorization-code flow of reference §2.2 for the confidential client
//! `kallyai-gpt`, plus the EXTENSION for native apps: RFC 8414 metadata and PKCE S256 for the
//! public client `kallyai-desktop`. The token and revocation endpoints are in `oauth_token`.
//! Off with `--auth-flows cli`. Under the production profile only what §2.2 documents remains:
//! no metadata (`crate::profile::production_gate`), no public client, PKCE parameters ignored.

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use uuid::Uuid;

use super::auth::{bad_request_page, redirect, sign_in_page, with_query};
use super::Params;
use crate::auth::mint_code;
use crate::error::{ApiError, ApiResult, FormBody};
use crate::state::{AuthCode, PendingLogin, SharedSim};

pub const DESKTOP_CLIENT: &str = "kallyai-desktop";
/// A confidential client like the GPT Actions integration of reference §2.2.
pub const GPT_CLIENT: &str = "kallyai-gpt";
pub const GPT_SECRET: &str = "sim-gpt-secret";
const CODE_TTL_MS: i64 = 60_000;
/// Every scope reference §2.2 lists (LR's list and OR's two `sessions:` scopes).
pub const SCOPES: &str = "calls:read calls:write coordination:read coordination:write actions:read actions:write \
messages:read messages:write search:read email:read email:write credits:read budget:read budget:write \
transcripts:read recordings:read subscription:read billing:manage sessions:read sessions:write";

pub fn router() -> Router<SharedSim> {
    Router::new()
        .route("/.well-known/oauth-authorization-server", get(metadata))
        .route("/v1/auth/authorize", get(authorize_page).post(authorize_decide))
        .route("/v1/auth/gpt/token", post(super::oauth_token::token))
        .route("/v1/auth/revoke", post(super::oauth_token::revoke))
}

/// A client this server knows: the public desktop client exists only with the extension.
pub fn client_registered(production: bool, client_id: &str) -> bool {
    client_id == GPT_CLIENT || (client_id == DESKTOP_CLIENT && !production)
}

/// Every space-separated scope is one the server knows (RFC 6749 §3.3).
pub fn scopes_known(scope: &str) -> bool {
    scope.split(' ').all(|s| SCOPES.split(' ').any(|k| k == s))
}

pub fn off() -> ApiError {
    ApiError::not_found("not_found", "OAuth is not offered by this server (it runs with --auth-flows cli).")
}

async fn metadata(State(sim): State<SharedSim>, headers: HeaderMap) -> ApiResult<Json<serde_json::Value>> {
    if !sim.config.oauth_flow {
        return Err(off());
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    let issuer = format!("http://{host}");
    Ok(Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/v1/auth/authorize"),
        "token_endpoint": format!("{issuer}/v1/auth/gpt/token"),
        "revocation_endpoint": format!("{issuer}/v1/auth/revoke"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": ["none", "client_secret_post"],
        "scopes_supported": SCOPES.split(' ').collect::<Vec<_>>(),
    })))
}

/// RFC 8252: the custom scheme, or a loopback IP literal on any port with path `/callback`.
fn desktop_redirect_ok(uri: &str) -> bool {
    if uri == "kallyai://auth/callback" {
        return true;
    }
    for host in ["http://127.0.0.1:", "http://[::1]:"] {
        if let Some(rest) = uri.strip_prefix(host) {
            if let Some((port, path)) = rest.split_once('/') {
                return port.parse::<u16>().is_ok_and(|p| p > 0) && path == "callback";
            }
        }
    }
    false
}

fn redirect_ok(client_id: &str, uri: &str) -> bool {
    match client_id {
        DESKTOP_CLIENT => desktop_redirect_ok(uri),
        GPT_CLIENT => uri.starts_with("https://") || super::auth::is_loopback_http(uri),
        _ => false,
    }
}

pub fn is_pkce_value(s: &str) -> bool {
    (43..=128).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

async fn authorize_page(State(sim): State<SharedSim>, headers: HeaderMap, Query(q): Query<Params>) -> Response {
    if !sim.config.oauth_flow {
        return off().into_response();
    }
    let production = sim.production();
    let get = |k: &str| q.get(k).cloned().filter(|v| !v.is_empty());
    let client_id = get("client_id").unwrap_or_default();
    if !client_registered(production, &client_id) {
        return bad_request_page(&headers, "invalid_client", "Unknown client_id.");
    }
    let Some(redirect_uri) = get("redirect_uri").filter(|u| redirect_ok(&client_id, u)) else {
        return bad_request_page(
            &headers,
            "invalid_redirect_uri",
            "This redirect_uri is not registered for the client.",
        );
    };
    let state = get("state");
    // From here on errors go back to the (validated) client, RFC 6749 §4.1.2.1.
    let fail = |code: &str, description: &str| {
        let mut pairs = vec![("error", code), ("error_description", description)];
        if let Some(s) = state.as_deref() {
            pairs.push(("state", s));
        }
        redirect(&with_query(&redirect_uri, &pairs))
    };
    if get("response_type").as_deref() != Some("code") {
        return fail("unsupported_response_type", "Only response_type=code is supported.");
    }
    // Production knows nothing of PKCE (reference §2.2) and ignores its parameters.
    let challenge = get("code_challenge").filter(|_| !production);
    let method = get("code_challenge_method").filter(|_| !production);
    if let Some(c) = &challenge {
        if method.as_deref() != Some("S256") {
            return fail("invalid_request", "code_challenge_method must be S256.");
        }
        if !is_pkce_value(c) {
            return fail("invalid_request", "code_challenge is malformed.");
        }
    } else if client_id == DESKTOP_CLIENT {
        return fail("invalid_request", "PKCE with S256 is required for this client.");
    }
    {
        let mut st = sim.lock();
        if challenge.is_some() {
            st.tokens.pkce_method = method.clone();
            st.tokens.challenge_seen = true;
        }
    }
    let scope = get("scope").unwrap_or_else(|| SCOPES.to_string());
    if !scopes_known(&scope) {
        return fail("invalid_scope", "The requested scope is unknown.");
    }
    let pending =
        PendingLogin::OAuth { client_id: client_id.clone(), redirect_uri, state, code_challenge: challenge, scope };
    if sim.config.auto_approve {
        return approve(&sim, pending);
    }
    let request_id = Uuid::new_v4().to_string();
    let user = {
        let mut st = sim.lock();
        st.add_pending(request_id.clone(), pending, sim.now());
        st.user_name.clone()
    };
    let app = if client_id == DESKTOP_CLIENT { "KallyAI Desktop" } else { "A KallyAI integration" };
    sign_in_page("/v1/auth/authorize", &request_id, app, &user)
}

fn approve(sim: &SharedSim, pending: PendingLogin) -> Response {
    let PendingLogin::OAuth { client_id, redirect_uri, state, code_challenge, scope } = pending else {
        return ApiError::bad_request("invalid_request", "Not an OAuth request.").into_response();
    };
    let now = sim.now();
    let code = {
        let mut st = sim.lock();
        let code = mint_code(&mut st);
        st.tokens.codes.insert(
            code.clone(),
            AuthCode {
                client_id,
                redirect_uri: redirect_uri.clone(),
                code_challenge,
                scope,
                expires_at: now + CODE_TTL_MS,
            },
        );
        code
    };
    let mut pairs = vec![("code", code.as_str())];
    if let Some(s) = state.as_deref() {
        pairs.push(("state", s));
    }
    redirect(&with_query(&redirect_uri, &pairs))
}

async fn authorize_decide(State(sim): State<SharedSim>, headers: HeaderMap, FormBody(form): FormBody) -> Response {
    if !sim.config.oauth_flow {
        return off().into_response();
    }
    let now = sim.now();
    let pending = form.get("request_id").and_then(|id| sim.lock().take_pending(id, now));
    let Some(PendingLogin::OAuth { redirect_uri, state, .. }) = pending.clone() else {
        return bad_request_page(
            &headers,
            "invalid_request",
            "This sign-in request has expired; start again from the app.",
        );
    };
    if form.get("decision").map(String::as_str) == Some("approve") {
        if let Some(p) = pending {
            return approve(&sim, p);
        }
    }
    let mut pairs = vec![("error", "access_denied")];
    if let Some(s) = state.as_deref() {
        pairs.push(("state", s));
    }
    redirect(&with_query(&redirect_uri, &pairs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn desktop_redirects() {
        assert!(desktop_redirect_ok("http://127.0.0.1:5555/callback"));
        assert!(desktop_redirect_ok("kallyai://auth/callback"));
        assert!(!desktop_redirect_ok("http://127.0.0.1:5555/other"));
        assert!(!desktop_redirect_ok("http://evil.example/callback"));
    }
}
