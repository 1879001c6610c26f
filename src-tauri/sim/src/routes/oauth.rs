//! OAuth 2 for native apps (EXTENSION, not in the real API): RFC 8414 metadata, authorization
//! code + PKCE S256 for the public client `kallyai-desktop`, the token endpoint (code and
//! refresh grants, form-encoded) and RFC 7009 revocation. Off with `--auth-flows cli`; never on
//! under the production profile (`crate::profile::production_gate` answers those paths).

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::auth::{bad_request_page, redirect, sign_in_page, with_query};
use super::Params;
use crate::auth::{mint_code, mint_pair, rotate};
use crate::error::{ApiError, ApiResult, FormBody};
use crate::state::{AuthCode, PendingLogin, SharedSim};

pub const DESKTOP_CLIENT: &str = "kallyai-desktop";
/// A confidential client like the GPT Actions integration of reference §2.2.
pub const GPT_CLIENT: &str = "kallyai-gpt";
pub const GPT_SECRET: &str = "sim-gpt-secret";
const CODE_TTL_MS: i64 = 60_000;
const SCOPES: &str = "calls:read calls:write coordination:read coordination:write credits:read budget:read transcripts:read subscription:read billing:manage";

pub fn router() -> Router<SharedSim> {
    Router::new()
        .route("/.well-known/oauth-authorization-server", get(metadata))
        .route("/v1/auth/authorize", get(authorize_page).post(authorize_decide))
        .route("/v1/auth/gpt/token", post(token))
        .route("/v1/auth/revoke", post(revoke))
}

fn off() -> ApiError {
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

fn is_pkce_value(s: &str) -> bool {
    (43..=128).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

async fn authorize_page(State(sim): State<SharedSim>, headers: HeaderMap, Query(q): Query<Params>) -> Response {
    if !sim.config.oauth_flow {
        return off().into_response();
    }
    let get = |k: &str| q.get(k).cloned().filter(|v| !v.is_empty());
    let client_id = get("client_id").unwrap_or_default();
    if client_id != DESKTOP_CLIENT && client_id != GPT_CLIENT {
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
    let challenge = get("code_challenge");
    let method = get("code_challenge_method");
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
    let pending =
        PendingLogin::OAuth { client_id: client_id.clone(), redirect_uri, state, code_challenge: challenge, scope };
    if sim.config.auto_approve {
        return approve(&sim, pending);
    }
    let request_id = Uuid::new_v4().to_string();
    let user = {
        let mut st = sim.lock();
        st.tokens.pending.insert(request_id.clone(), pending);
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
    let pending = form.get("request_id").and_then(|id| sim.lock().tokens.pending.remove(id));
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

fn oauth_error(status: StatusCode, code: &str, description: &str) -> ApiError {
    // The KallyAI envelope, with the RFC 6749 code as error.code and in details.error.
    ApiError::new(status, code, description).detail("error", code).detail("error_description", description)
}

fn s256(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

async fn token(State(sim): State<SharedSim>, FormBody(form): FormBody) -> ApiResult<Response> {
    if !sim.config.oauth_flow {
        return Err(off());
    }
    let get = |k: &str| form.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let client_id = get("client_id").unwrap_or(DESKTOP_CLIENT);
    if client_id == GPT_CLIENT && get("client_secret") != Some(GPT_SECRET) {
        return Err(oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "Client authentication failed."));
    }
    let ttl = sim.config.token_ttl_secs;
    let now = sim.now();
    let (access, refresh, scope) = match get("grant_type") {
        Some("authorization_code") => {
            let bad = |d: &str| oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", d);
            let mut st = sim.lock();
            // Single use: the code is gone whatever happens next.
            let code = get("code")
                .and_then(|c| st.tokens.codes.remove(c))
                .ok_or_else(|| bad("The code is unknown or was already used."))?;
            if code.expires_at <= now {
                return Err(bad("The code has expired."));
            }
            if code.client_id != client_id || get("redirect_uri") != Some(code.redirect_uri.as_str()) {
                return Err(bad("client_id or redirect_uri does not match the authorization request."));
            }
            if let Some(challenge) = &code.code_challenge {
                let verifier = get("code_verifier").ok_or_else(|| bad("code_verifier is required."))?;
                st.tokens.verifier_seen = true;
                if !is_pkce_value(verifier) || &s256(verifier) != challenge {
                    return Err(bad("code_verifier does not match the code_challenge."));
                }
            }
            let (a, r) = mint_pair(&mut st, ttl, now);
            (a, r, code.scope)
        }
        Some("refresh_token") => {
            let rt = get("refresh_token")
                .ok_or_else(|| oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "refresh_token is required."))?;
            let (a, r) = rotate(&mut sim.lock(), rt, ttl, now).map_err(|_| {
                oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "The refresh token is not valid.")
            })?;
            (a, r, SCOPES.to_string())
        }
        _ => {
            return Err(oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "grant_type must be authorization_code or refresh_token.",
            ))
        }
    };
    let mut resp = Json(json!({"access_token": access, "token_type": "Bearer", "expires_in": ttl,
                               "refresh_token": refresh, "scope": scope}))
    .into_response();
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// RFC 7009: always 200, whether or not the token was known.
async fn revoke(State(sim): State<SharedSim>, FormBody(form): FormBody) -> ApiResult<Json<serde_json::Value>> {
    if !sim.config.oauth_flow {
        return Err(off());
    }
    if let Some(token) = form.get("token") {
        let mut st = sim.lock();
        if let Some(t) = st.tokens.access.get_mut(token) {
            t.revoked = true;
        }
        if let Some(t) = st.tokens.refresh.get_mut(token) {
            t.revoked = true;
        }
    }
    Ok(Json(json!({})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_example() {
        assert_eq!(s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        assert!(desktop_redirect_ok("http://127.0.0.1:5555/callback"));
        assert!(desktop_redirect_ok("kallyai://auth/callback"));
        assert!(!desktop_redirect_ok("http://127.0.0.1:5555/other"));
        assert!(!desktop_redirect_ok("http://evil.example/callback"));
    }
}
