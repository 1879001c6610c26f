//! Bearer-token checking (the `User` extractor) and minting of token triples.

use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::clock::Millis;
use crate::error::ApiError;
use crate::state::{secs_ms, AccessToken, RefreshToken, SharedSim, State, Tokens, DEMO_USER};

/// How long a rotated refresh token keeps working, so refreshers racing each other all succeed.
pub const REFRESH_GRACE_MS: Millis = 30_000;

/// The signed-in user of a request. Rejections: 401 `missing_token` without a bearer,
/// 401 `token_expired` for an expired, revoked or unknown one.
pub struct User(pub Uuid);

impl FromRequestParts<SharedSim> for User {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, sim: &SharedSim) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or_else(|| {
            ApiError::new(StatusCode::UNAUTHORIZED, "missing_token", "Sign in first: no access token was sent.")
        })?;
        let now = sim.now();
        let state = sim.lock();
        match state.tokens.access.get(token) {
            Some(t) if !t.revoked && t.expires_at > now => Ok(User(t.user)),
            Some(t) if t.revoked => Err(expired("The access token was revoked; sign in again.")),
            Some(_) => Err(expired("The access token has expired; refresh it or sign in again.")),
            None => Err(expired("The access token is not valid; sign in again.")),
        }
    }
}

fn expired(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "token_expired", message)
}

pub fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn secret(prefix: &str) -> String {
    format!("{prefix}{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple())
}

/// Issues a fresh access + refresh token for the demo user.
pub fn mint_pair(state: &mut State, ttl_secs: u64, now: Millis) -> (String, String) {
    let access = secret("sim_at_");
    let refresh = secret("sim_rt_");
    let tokens = &mut state.tokens;
    tokens.access.insert(
        access.clone(),
        AccessToken { user: DEMO_USER, expires_at: now.saturating_add(secs_ms(ttl_secs)), revoked: false },
    );
    tokens.refresh.insert(refresh.clone(), RefreshToken { grace_until: None, revoked_at: None });
    let cap = tokens.issued_cap();
    Tokens::log_issued(&mut tokens.issued_access, cap, &access);
    Tokens::log_issued(&mut tokens.issued_refresh, cap, &refresh);
    (access, refresh)
}

pub fn mint_code(state: &mut State) -> String {
    let code = secret("sim_code_");
    let cap = state.tokens.issued_cap();
    Tokens::log_issued(&mut state.tokens.issued_codes, cap, &code);
    code
}

pub fn triple_json(access: &str, refresh: &str, ttl_secs: u64) -> Value {
    json!({"access_token": access, "refresh_token": refresh, "expires_in": ttl_secs, "token_type": "Bearer"})
}

/// Rotates a refresh token: the old one is still accepted for `REFRESH_GRACE_MS`.
pub fn rotate(state: &mut State, refresh: &str, ttl_secs: u64, now: Millis) -> Result<(String, String), ApiError> {
    let usable = match state.tokens.refresh.get(refresh) {
        Some(t) if t.revoked_at.is_none() => t.grace_until.is_none_or(|g| now < g),
        _ => false,
    };
    if !usable {
        return Err(expired("The refresh token is not valid; sign in again."));
    }
    if let Some(t) = state.tokens.refresh.get_mut(refresh) {
        if t.grace_until.is_none() {
            t.grace_until = Some(now + REFRESH_GRACE_MS);
        }
    }
    Ok(mint_pair(state, ttl_secs, now))
}
