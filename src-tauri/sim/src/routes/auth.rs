//! Sign-in as the official CLIs do it (reference §2.1, §2.4): `GET /v1/auth/cli` shows a sign-in
//! page (or redirects at once with `--auto-approve`), the form posts back, and the browser is
//! sent to the loopback URI with the tokens in the query string. `POST /v1/auth/refresh` rotates.

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use uuid::Uuid;

use super::Params;
use crate::auth::{mint_pair, rotate, triple_json};
use crate::error::{final_response, ApiError, ApiResult, FormBody, JsonBody};
use crate::state::{PendingLogin, SharedSim};

pub fn router() -> Router<SharedSim> {
    Router::new().route("/v1/auth/cli", get(cli_page).post(cli_decide)).route("/v1/auth/refresh", post(refresh))
}

/// True for `http://127.0.0.1[:port]`, `http://localhost[:port]`, `http://[::1][:port]`, any path.
pub fn is_loopback_http(uri: &str) -> bool {
    let Some(rest) = uri.strip_prefix("http://") else { return false };
    if uri.contains('#') {
        return false;
    }
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    if authority.contains('@') {
        return false;
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        match v6.split_once(']') {
            Some((h, p)) => (format!("[{h}]"), p.strip_prefix(':')),
            None => return false,
        }
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (authority.to_string(), None),
        }
    };
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|n| n > 0));
    port_ok && matches!(host.to_ascii_lowercase().as_str(), "127.0.0.1" | "localhost" | "[::1]")
}

/// `uri` plus `pairs` as query parameters, keeping any query it already has.
pub fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{}", serde_urlencoded::to_string(pairs).unwrap_or_default())
}

pub fn redirect(location: &str) -> Response {
    let mut resp = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

const STYLE: &str = "body{font:14px system-ui,-apple-system,'Segoe UI',sans-serif;background:#f4f5f7;color:#1c1d21;\
display:flex;min-height:100vh;margin:0;align-items:center;justify-content:center}\
main{background:#fff;border-radius:12px;padding:24px 28px;box-shadow:0 2px 12px #0002;max-width:360px}\
h1{font-size:18px;margin:0 0 8px}p{color:#555;margin:0 0 16px}small{color:#888}\
button{font:inherit;padding:8px 16px;border-radius:8px;border:1px solid #ccd;background:#fff;margin-right:8px;cursor:pointer}\
button.primary{background:#3b5bdb;color:#fff;border-color:#3b5bdb}\
@media(prefers-color-scheme:dark){body{background:#1c1d21;color:#eee}main{background:#2a2b30}p{color:#bbb}}";

/// The sign-in page: a real form that posts `request_id` and `decision` back to `action`.
pub fn sign_in_page(action: &str, request_id: &str, app: &str, user_name: &str) -> Response {
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign in to KallyAI</title>\
<meta name=\"viewport\" content=\"width=device-width\"><style>{STYLE}</style></head><body><main>\
<h1>Sign in to KallyAI</h1><p>{app} wants to use your KallyAI account.</p>\
<form method=\"post\" action=\"{action}\"><input type=\"hidden\" name=\"request_id\" value=\"{rid}\">\
<button class=\"primary\" type=\"submit\" name=\"decision\" value=\"approve\">Continue as {user}</button>\
<button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></form>\
<p><small>KallyAI simulator: no password needed.</small></p></main></body></html>",
        app = escape(app),
        action = escape(action),
        rid = escape(request_id),
        user = escape(user_name),
    );
    final_response(StatusCode::OK, "text/html; charset=utf-8", body)
}

/// A 400 that is never a redirect: an HTML page for browsers, the JSON envelope for the rest.
pub fn bad_request_page(headers: &HeaderMap, code: &str, message: &str) -> Response {
    let wants_html = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"));
    if wants_html {
        let body = format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign-in error</title>\
<style>{STYLE}</style></head><body><main><h1>Cannot sign in</h1><p>{}</p><p><small>{}</small></p></main></body></html>",
            escape(message),
            escape(code)
        );
        final_response(StatusCode::BAD_REQUEST, "text/html; charset=utf-8", body)
    } else {
        ApiError::bad_request(code, message).into_response()
    }
}

fn cli_redirect_with_tokens(sim: &SharedSim, redirect_uri: &str, state: Option<&str>) -> Response {
    let ttl = sim.config.token_ttl_secs;
    let (access, refresh) = mint_pair(&mut sim.lock(), ttl, sim.now());
    let ttl_s = ttl.to_string();
    let mut pairs =
        vec![("access_token", access.as_str()), ("refresh_token", refresh.as_str()), ("expires_in", ttl_s.as_str())];
    if let Some(s) = state {
        pairs.push(("state", s));
    }
    redirect(&with_query(redirect_uri, &pairs))
}

async fn cli_page(State(sim): State<SharedSim>, headers: HeaderMap, Query(q): Query<Params>) -> Response {
    if !sim.config.cli_flow {
        return ApiError::not_found("not_found", "The CLI sign-in flow is turned off on this server.").into_response();
    }
    let Some(redirect_uri) = q.get("redirect_uri").filter(|u| is_loopback_http(u)).cloned() else {
        return bad_request_page(
            &headers,
            "invalid_redirect_uri",
            "redirect_uri must be an http://127.0.0.1, http://localhost or http://[::1] address.",
        );
    };
    let state = q.get("state").cloned();
    if sim.config.auto_approve {
        return cli_redirect_with_tokens(&sim, &redirect_uri, state.as_deref());
    }
    let request_id = Uuid::new_v4().to_string();
    let user = {
        let mut st = sim.lock();
        st.add_pending(request_id.clone(), PendingLogin::Cli { redirect_uri, state }, sim.now());
        st.user_name.clone()
    };
    sign_in_page("/v1/auth/cli", &request_id, "The KallyAI command-line app", &user)
}

async fn cli_decide(State(sim): State<SharedSim>, headers: HeaderMap, FormBody(form): FormBody) -> Response {
    if !sim.config.cli_flow {
        return ApiError::not_found("not_found", "The CLI sign-in flow is turned off on this server.").into_response();
    }
    let now = sim.now();
    let pending = form.get("request_id").and_then(|id| sim.lock().take_pending(id, now));
    let Some(PendingLogin::Cli { redirect_uri, state }) = pending else {
        return bad_request_page(
            &headers,
            "invalid_request",
            "This sign-in request has expired; start again from the app.",
        );
    };
    if form.get("decision").map(String::as_str) == Some("approve") {
        cli_redirect_with_tokens(&sim, &redirect_uri, state.as_deref())
    } else {
        let mut pairs = vec![("error", "access_denied")];
        if let Some(s) = state.as_deref() {
            pairs.push(("state", s));
        }
        redirect(&with_query(&redirect_uri, &pairs))
    }
}

#[derive(Deserialize)]
struct RefreshRequest {
    refresh_token: String,
}

async fn refresh(State(sim): State<SharedSim>, JsonBody(req): JsonBody<RefreshRequest>) -> ApiResult<Response> {
    let ttl = sim.config.token_ttl_secs;
    let (access, refresh) = rotate(&mut sim.lock(), &req.refresh_token, ttl, sim.now())?;
    let mut resp = Json(triple_json(&access, &refresh, ttl)).into_response();
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_redirects() {
        assert!(is_loopback_http("http://127.0.0.1:8740"));
        assert!(is_loopback_http("http://localhost:8976/callback"));
        assert!(is_loopback_http("http://[::1]:9000/cb?x=1"));
        assert!(!is_loopback_http("http://evil.example:8740"));
        assert!(!is_loopback_http("https://127.0.0.1:8740"));
        assert!(!is_loopback_http("http://127.0.0.1.evil.example/"));
        assert!(!is_loopback_http("http://127.0.0.1@evil.example/"));
        assert_eq!(with_query("http://127.0.0.1:1", &[("a", "b c")]), "http://127.0.0.1:1?a=b+c");
    }
}
