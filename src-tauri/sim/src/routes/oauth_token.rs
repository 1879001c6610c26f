//! The OAuth token endpoint (reference §2.2: code and refresh grants, form-encoded) and RFC 7009
//! revocation (EXTENSION). Their errors are RFC 6749 §5.2 objects, `{"error": "invalid_grant",
//! "error_description": "…"}`, not the KallyAI envelope: every OAuth library parses that shape.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::oauth::{
    client_registered, is_pkce_value, off, scopes_known, DESKTOP_CLIENT, GPT_CLIENT, GPT_SECRET, SCOPES,
};
use crate::auth::{mint_pair, rotate};
use crate::error::Final;
use crate::state::SharedSim;

/// An RFC 6749 §5.2 error answer (400, or 401 for `invalid_client`).
pub struct OAuthError {
    code: &'static str,
    description: String,
}

fn oauth_error(code: &'static str, description: impl Into<String>) -> OAuthError {
    OAuthError { code, description: description.into() }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let status = if self.code == "invalid_client" { StatusCode::UNAUTHORIZED } else { StatusCode::BAD_REQUEST };
        let mut resp =
            (status, Json(json!({"error": self.code, "error_description": self.description}))).into_response();
        resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        resp.headers_mut().insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        // Already in its final shape: the envelope safety net must leave it alone.
        resp.extensions_mut().insert(Final);
        resp
    }
}

type Form = HashMap<String, String>;

/// A form-encoded body where no parameter appears twice (RFC 6749 §3.2); else `invalid_request`.
fn parse_form(body: Result<Bytes, BytesRejection>) -> Result<Form, OAuthError> {
    let malformed =
        || oauth_error("invalid_request", "The body must be form-encoded (application/x-www-form-urlencoded).");
    let pairs: Vec<(String, String)> =
        body.ok().and_then(|b| serde_urlencoded::from_bytes(&b).ok()).ok_or_else(malformed)?;
    let mut form = Form::new();
    for (k, v) in pairs {
        if form.insert(k.clone(), v).is_some() {
            return Err(oauth_error("invalid_request", format!("The parameter {k} appears more than once.")));
        }
    }
    Ok(form)
}

fn param<'a>(form: &'a Form, key: &str) -> Option<&'a str> {
    form.get(key).map(String::as_str).filter(|v| !v.is_empty())
}

fn required<'a>(form: &'a Form, key: &str) -> Result<&'a str, OAuthError> {
    param(form, key).ok_or_else(|| oauth_error("invalid_request", format!("The parameter {key} is required.")))
}

/// Client authentication (`client_secret_post`, or `none` for the public client): the client
/// id, or 401 `invalid_client`. A missing id means the public desktop client.
fn authenticate<'a>(sim: &SharedSim, form: &'a Form) -> Result<&'a str, OAuthError> {
    let client_id = param(form, "client_id").unwrap_or(DESKTOP_CLIENT);
    if !client_registered(sim.production(), client_id) {
        return Err(oauth_error("invalid_client", "Unknown client."));
    }
    if client_id == GPT_CLIENT && param(form, "client_secret") != Some(GPT_SECRET) {
        return Err(oauth_error("invalid_client", "Client authentication failed."));
    }
    Ok(client_id)
}

fn s256(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// `(access, refresh, scope)` for an authorization code, or why not.
fn exchange_code(sim: &SharedSim, form: &Form, client_id: &str) -> Result<(String, String, String), OAuthError> {
    let code = required(form, "code")?;
    let redirect_uri = required(form, "redirect_uri")?;
    let invalid = |d: &str| oauth_error("invalid_grant", d);
    let now = sim.now();
    let mut st = sim.lock();
    // Single use: the code is gone whatever happens next.
    let code = st.tokens.codes.remove(code).ok_or_else(|| invalid("The code is unknown or was already used."))?;
    if code.expires_at <= now {
        return Err(invalid("The code has expired."));
    }
    if code.client_id != client_id || code.redirect_uri != redirect_uri {
        return Err(invalid("client_id or redirect_uri does not match the authorization request."));
    }
    if let Some(challenge) = &code.code_challenge {
        let verifier =
            param(form, "code_verifier").ok_or_else(|| invalid("code_verifier is required for this code."))?;
        st.tokens.verifier_seen = true;
        if !is_pkce_value(verifier) || &s256(verifier) != challenge {
            return Err(invalid("code_verifier does not match the code_challenge."));
        }
    }
    let (a, r) = mint_pair(&mut st, sim.config.token_ttl_secs, now);
    Ok((a, r, code.scope))
}

/// `(access, refresh, scope)` for a refresh token (rotated, with the usual grace), or why not.
fn refresh(sim: &SharedSim, form: &Form) -> Result<(String, String, String), OAuthError> {
    let token = required(form, "refresh_token")?;
    // RFC 6749 §6: a narrower scope may be asked for, never an unknown one.
    let scope = param(form, "scope").unwrap_or(SCOPES);
    if !scopes_known(scope) {
        return Err(oauth_error("invalid_scope", "The requested scope is unknown."));
    }
    let (a, r) = rotate(&mut sim.lock(), token, sim.config.token_ttl_secs, sim.now())
        .map_err(|_| oauth_error("invalid_grant", "The refresh token is not valid."))?;
    Ok((a, r, scope.to_string()))
}

pub async fn token(State(sim): State<SharedSim>, body: Result<Bytes, BytesRejection>) -> Response {
    if !sim.config.oauth_flow {
        return off().into_response();
    }
    match issue(&sim, body) {
        Ok(resp) => resp,
        Err(e) => e.into_response(),
    }
}

fn issue(sim: &SharedSim, body: Result<Bytes, BytesRejection>) -> Result<Response, OAuthError> {
    let form = parse_form(body)?;
    let grant_type = required(&form, "grant_type")?;
    let client_id = authenticate(sim, &form)?;
    let (access, refresh, scope) = match grant_type {
        "authorization_code" => exchange_code(sim, &form, client_id)?,
        "refresh_token" => refresh(sim, &form)?,
        // RFC 6749 §4.4: a grant for confidential clients only, and none is registered for it.
        "client_credentials" => {
            return Err(oauth_error("unauthorized_client", "This client may not use the client_credentials grant."))
        }
        _ => {
            return Err(oauth_error(
                "unsupported_grant_type",
                "grant_type must be authorization_code or refresh_token.",
            ))
        }
    };
    let ttl = sim.config.token_ttl_secs;
    let mut resp = Json(json!({"access_token": access, "token_type": "Bearer", "expires_in": ttl,
                               "refresh_token": refresh, "scope": scope}))
    .into_response();
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp.headers_mut().insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(resp)
}

/// RFC 7009: 200 whether or not the token was known; an authorization code cannot be revoked
/// here (`unsupported_token_type`).
pub async fn revoke(State(sim): State<SharedSim>, body: Result<Bytes, BytesRejection>) -> Response {
    if !sim.config.oauth_flow {
        return off().into_response();
    }
    match revoke_token(&sim, body) {
        Ok(()) => Json(json!({})).into_response(),
        Err(e) => e.into_response(),
    }
}

fn revoke_token(sim: &SharedSim, body: Result<Bytes, BytesRejection>) -> Result<(), OAuthError> {
    let form = parse_form(body)?;
    let token = required(&form, "token")?;
    authenticate(sim, &form)?;
    let now = sim.now();
    let mut st = sim.lock();
    if st.tokens.codes.contains_key(token) {
        return Err(oauth_error("unsupported_token_type", "Authorization codes cannot be revoked; they expire."));
    }
    if let Some(t) = st.tokens.access.get_mut(token) {
        t.revoked = true;
    }
    if let Some(t) = st.tokens.refresh.get_mut(token) {
        t.revoked_at.get_or_insert(now);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::s256;

    #[test]
    fn rfc7636_example() {
        assert_eq!(s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }
}
