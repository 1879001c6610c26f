//! Sign-out: revoke at the server when it offers RFC 7009 revocation (best effort), then forget
//! the tokens in the session and its store.

use super::discovery::{discover, Flow};
use super::oauth;
use crate::auth::{Session, StoreError, TokenSet, TokenStore};
use crate::config::Config;
use crate::error::ApiError;

/// What happened at the server during sign-out. Locally the tokens are gone in every case.
#[derive(Clone, Debug, PartialEq)]
pub enum Revocation {
    /// The server has no revocation endpoint (production today, reference §2.5).
    NotOffered,
    /// The server confirmed the revocation.
    Revoked,
    /// The store held no tokens, so there was nothing to revoke.
    NothingStored,
    /// The server could not be asked or refused; the tokens expire on their own.
    Failed(ApiError),
}

/// Revokes the refresh token (which ends the grant) and then the access token, one attempt each.
pub async fn revoke(config: &Config, flow: &Flow, tokens: &TokenSet) -> Revocation {
    let Some(endpoint) = flow.revocation_endpoint() else {
        return Revocation::NotOffered;
    };
    let http = match oauth::http_client(config) {
        Ok(h) => h,
        Err(e) => return Revocation::Failed(e),
    };
    let mut outcome = Revocation::Revoked;
    if let Some(refresh) = &tokens.refresh {
        if let Err(e) = oauth::revoke(&http, endpoint, refresh.expose(), "refresh_token").await {
            tracing::info!(code = e.code(), "refresh token revocation failed");
            outcome = Revocation::Failed(e);
        }
    }
    if let Err(e) = oauth::revoke(&http, endpoint, tokens.access.expose(), "access_token").await {
        tracing::info!(code = e.code(), "access token revocation failed");
        if outcome == Revocation::Revoked {
            outcome = Revocation::Failed(e);
        }
    }
    outcome
}

/// Signs out: revokes what `store` holds (best effort), then clears `session` (and through it the
/// store). `store` is the one the session was built with. Errors only when the store could not be
/// cleared; the session in memory is signed out either way.
pub async fn sign_out(
    config: &Config,
    flow: &Flow,
    session: &Session,
    store: &dyn TokenStore,
) -> Result<Revocation, StoreError> {
    let revocation = match store.load().await {
        Ok(Some(tokens)) => revoke(config, flow, &tokens).await,
        Ok(None) => Revocation::NothingStored,
        Err(e) => {
            tracing::info!(error = %e, "could not read the tokens to revoke them");
            Revocation::Failed(ApiError::not_signed_in())
        }
    };
    session.sign_out().await?;
    Ok(revocation)
}

/// [`sign_out`] with `known`, the flow this run signed in with; without it (after a restart, or
/// when switching servers) with the flow the server offers now (offline: nothing is revoked).
pub async fn sign_out_with(
    config: &Config,
    known: Option<&Flow>,
    session: &Session,
    store: &dyn TokenStore,
) -> Result<Revocation, StoreError> {
    let flow = match known {
        Some(flow) => flow.clone(),
        None => discover(config).await.unwrap_or(Flow::CliLoopback),
    };
    sign_out(config, &flow, session, store).await
}
