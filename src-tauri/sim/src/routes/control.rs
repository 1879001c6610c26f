//! The `/_sim/` control API (loopback only): reset, sessions, tokens, faults, request log,
//! ringing calls, the clock, credits and the event stream switch. See docs/sim.md.
//! It works the same under every profile.
//!
//! It mints tokens and rewrites the world, so `guard` lets through only requests that come from
//! a loopback peer, are addressed to a loopback `Host` (a page that rebinds its own name to
//! 127.0.0.1 still sends that name), carry no foreign `Origin` (a web page posting across
//! origins without a body) and, when they have a body, say `Content-Type: application/json`
//! (a browser cannot send that across origins without a preflight the sim never answers).

use axum::body::HttpBody;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::auth::{mint_pair, triple_json};
use crate::budget_refusal;
use crate::clock::iso;
use crate::conn::ConnHandle;
use crate::error::{ApiError, ApiResult, JsonBody};
use crate::faults::KINDS;
use crate::inbound_calls::{self, default_script, Ring};
use crate::is_loopback;
use crate::reqlog::entry_json;
use crate::state::{Event, Fault, InboxMessage, SharedSim, State as World, DEMO_USER};
use crate::{Profile, Seed};

pub fn router() -> Router<SharedSim> {
    Router::new()
        .route("/reset", post(reset))
        .route("/session", post(session))
        .route("/tokens", get(tokens))
        .route("/retention", get(retention))
        .route("/tokens/expire", post(expire_tokens))
        .route("/tokens/revoke", post(revoke_tokens))
        .route("/oauth", get(oauth))
        .route("/faults", post(add_fault).delete(clear_faults).get(list_faults))
        .route("/requests", get(requests).delete(clear_requests))
        .route("/calls/ring", post(ring))
        .route("/calls/{id}/end", post(end_call))
        .route("/clock/advance", post(advance))
        .route("/credits", post(set_credits))
        .route("/stream", post(stream))
        .route("/events", delete(clear_events))
        .route("/assistant/next-reply", post(next_reply))
        .route("/messages", post(receive_message))
        .route("/assistant/next-refusal", post(next_refusal))
        .layer(middleware::from_fn(guard))
}

fn forbidden(message: &str) -> Response {
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", message).into_response()
}

/// See the module's doc: peer, `Host`, `Origin`, then `Content-Type`.
async fn guard(req: Request, next: Next) -> Response {
    let remote_ok = req.extensions().get::<ConnectInfo<ConnHandle>>().is_none_or(|c| is_loopback(c.0.remote.ip()));
    if !remote_ok {
        return forbidden("The control API answers loopback clients only.");
    }
    let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).map(str::to_string);
    let host = host.or_else(|| req.uri().authority().map(|a| a.as_str().to_string()));
    if !host.as_deref().is_some_and(is_loopback_host) {
        return forbidden("The control API answers requests addressed to 127.0.0.1, localhost or [::1] only.");
    }
    if !origin_ok(req.headers()) {
        return forbidden("The control API does not answer web pages of other origins.");
    }
    let has_body = req.body().size_hint().exact() != Some(0);
    if has_body && !is_json(req.headers()) {
        return ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "The control API takes JSON bodies only: send them with Content-Type: application/json.",
        )
        .into_response();
    }
    next.run(req).await
}

/// `127.0.0.1`, `localhost` or `[::1]` (any 127.0.0.0/8 address too), each with an optional
/// port: the names a loopback client addresses the sim by.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim().to_ascii_lowercase();
    let (name, port, bracketed) = match host.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((v6, after)) => (v6, after, true),
            None => return false,
        },
        None => match host.find(':') {
            Some(i) => (&host[..i], &host[i..], false),
            None => (host.as_str(), "", false),
        },
    };
    let port_ok = port.is_empty()
        || port.strip_prefix(':').is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u16>().is_ok());
    let name_ok = if bracketed {
        name.parse::<std::net::Ipv6Addr>().is_ok_and(|ip| is_loopback(ip.into()))
    } else {
        name == "localhost" || name.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
    };
    port_ok && name_ok
}

/// No `Origin` (every non-browser client), or a loopback `http` one.
fn origin_ok(headers: &HeaderMap) -> bool {
    headers.get_all(header::ORIGIN).iter().all(|o| {
        o.to_str().is_ok_and(|o| o.strip_prefix("http://").is_some_and(|h| !h.contains('/') && is_loopback_host(h)))
    })
}

/// `application/json`, in any case, with or without parameters (`; charset=utf-8`).
fn is_json(headers: &HeaderMap) -> bool {
    let mut types = headers.get_all(header::CONTENT_TYPE).iter();
    let first = types.next().and_then(|v| v.to_str().ok());
    types.next().is_none()
        && first.is_some_and(|t| t.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/json"))
}

#[derive(Deserialize)]
struct ResetBody {
    #[serde(default)]
    seed: Option<String>,
    #[serde(default)]
    profile: Option<String>,
}

async fn reset(State(sim): State<SharedSim>, JsonBody(b): JsonBody<ResetBody>) -> ApiResult<StatusCode> {
    let now = sim.now();
    let mut st = sim.lock();
    let seed = match b.seed.as_deref() {
        None => st.seed,
        Some(s) => Seed::parse(s)
            .ok_or_else(|| ApiError::validation("`seed` must be \"demo\" or \"empty\".").detail("field", "seed"))?,
    };
    let profile = match b.profile.as_deref() {
        None => st.profile,
        Some(p) => Profile::parse(p).ok_or_else(|| {
            ApiError::validation("`profile` must be \"default\" or \"production\".").detail("field", "profile")
        })?,
    };
    // Keep the event channel (live SSE subscribers) and the sequence, so event ids never repeat.
    let tx = st.events_tx.clone();
    let next_seq = st.next_event_seq;
    *st = World::new(seed, profile, sim.config.limits, now, tx);
    st.next_event_seq = next_seq;
    Ok(StatusCode::NO_CONTENT)
}

async fn session(State(sim): State<SharedSim>) -> Json<Value> {
    let ttl = sim.config.token_ttl_secs;
    let (a, r) = mint_pair(&mut sim.lock(), ttl, sim.now());
    Json(triple_json(&a, &r, ttl))
}

async fn tokens(State(sim): State<SharedSim>) -> Json<Value> {
    let st = sim.lock();
    Json(json!({"access_tokens": st.tokens.issued_access, "refresh_tokens": st.tokens.issued_refresh,
                "codes": st.tokens.issued_codes}))
}

async fn expire_tokens(State(sim): State<SharedSim>) -> StatusCode {
    let now = sim.now();
    for t in sim.lock().tokens.access.values_mut() {
        t.expires_at = t.expires_at.min(now);
    }
    StatusCode::NO_CONTENT
}

async fn revoke_tokens(State(sim): State<SharedSim>) -> StatusCode {
    let now = sim.now();
    let mut st = sim.lock();
    st.tokens.access.values_mut().for_each(|t| t.revoked = true);
    st.tokens.refresh.values_mut().for_each(|t| {
        t.revoked_at.get_or_insert(now);
    });
    StatusCode::NO_CONTENT
}

/// What the sim keeps now (after dropping what has expired) and its limits.
async fn retention(State(sim): State<SharedSim>) -> Json<Value> {
    let now = sim.now();
    let mut st = sim.lock();
    st.prune(now);
    let l = st.limits;
    Json(json!({
        "held": {"pending_sign_ins": st.tokens.pending.len(), "codes": st.tokens.codes.len(),
                 "access_tokens": st.tokens.access.len(), "refresh_tokens": st.tokens.refresh.len(),
                 "idempotency_keys": st.idempotency.len()},
        "limits": {"pending_sign_ins": l.pending_sign_ins, "pending_sign_in_ttl_secs": l.pending_sign_in_ttl_secs,
                   "tokens": l.tokens, "token_grace_secs": l.token_grace_secs,
                   "idempotency_keys": l.idempotency_keys, "idempotency_ttl_secs": l.idempotency_ttl_secs},
    }))
}

async fn oauth(State(sim): State<SharedSim>) -> Json<Value> {
    let st = sim.lock();
    Json(json!({"pkce_method": st.tokens.pkce_method, "challenge_seen": st.tokens.challenge_seen,
                "verifier_seen": st.tokens.verifier_seen}))
}

#[derive(Deserialize)]
struct FaultBody {
    route: String,
    #[serde(default)]
    method: Option<String>,
    kind: String,
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    latency_ms: Option<u64>,
    #[serde(default)]
    retry_after_secs: Option<u64>,
    #[serde(default)]
    probability: Option<f64>,
    #[serde(default)]
    count: Option<u64>,
}

fn fault_json(f: &Fault) -> Value {
    json!({"id": f.id.to_string(), "route": f.route, "method": f.method, "kind": f.kind, "status": f.status,
           "latency_ms": f.latency_ms, "retry_after_secs": f.retry_after_secs, "probability": f.probability,
           "remaining": f.remaining})
}

async fn add_fault(State(sim): State<SharedSim>, JsonBody(b): JsonBody<FaultBody>) -> ApiResult<Json<Value>> {
    if !KINDS.contains(&b.kind.as_str()) {
        return Err(
            ApiError::validation(format!("`kind` must be one of {}.", KINDS.join(", "))).detail("field", "kind")
        );
    }
    // `status_after` plays a gateway that gave up while the server went on: 504 by default.
    let status = b.status.unwrap_or(if b.kind == "status_after" { 504 } else { 500 });
    if !(300..=599).contains(&status) {
        return Err(ApiError::validation("`status` must be 300 to 599.").detail("field", "status"));
    }
    let probability = b.probability.unwrap_or(1.0);
    if !(0.0..=1.0).contains(&probability) {
        return Err(ApiError::validation("`probability` must be between 0 and 1.").detail("field", "probability"));
    }
    if b.route.is_empty() || b.count == Some(0) {
        return Err(ApiError::validation("`route` must be non-empty and `count` at least 1."));
    }
    let default_latency = if b.kind == "slow_body" { 50 } else { 1000 };
    let fault = Fault {
        id: Uuid::new_v4(),
        route: b.route,
        method: b.method.filter(|m| !m.is_empty()),
        kind: b.kind,
        status,
        latency_ms: b.latency_ms.unwrap_or(default_latency).min(60_000),
        retry_after_secs: b.retry_after_secs.unwrap_or(1),
        probability,
        remaining: b.count,
    };
    let body = fault_json(&fault);
    sim.lock().faults.push(fault);
    Ok(Json(body))
}

async fn list_faults(State(sim): State<SharedSim>) -> Json<Value> {
    let faults: Vec<Value> = sim.lock().faults.iter().map(fault_json).collect();
    Json(json!({"faults": faults}))
}

async fn clear_faults(State(sim): State<SharedSim>) -> StatusCode {
    sim.lock().faults.clear();
    StatusCode::NO_CONTENT
}

async fn requests(State(sim): State<SharedSim>) -> Json<Value> {
    let reqs: Vec<Value> = sim.lock().requests.iter().map(entry_json).collect();
    Json(json!({"requests": reqs}))
}

async fn clear_requests(State(sim): State<SharedSim>) -> StatusCode {
    sim.lock().requests.clear();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct Line {
    speaker: String,
    content: String,
}

#[derive(Deserialize)]
struct RingBody {
    caller_number: String,
    #[serde(default)]
    caller_name: Option<String>,
    #[serde(default)]
    is_vip: Option<bool>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    transcript: Option<Vec<Line>>,
    #[serde(default)]
    line_interval_ms: Option<u64>,
}

async fn ring(State(sim): State<SharedSim>, JsonBody(b): JsonBody<RingBody>) -> ApiResult<Json<Value>> {
    if b.caller_number.trim().is_empty() {
        return Err(ApiError::validation("`caller_number` is required.").detail("field", "caller_number"));
    }
    let caller_name = b.caller_name.unwrap_or_default();
    let script = match b.transcript {
        Some(lines) => lines.into_iter().map(|l| (l.speaker, l.content)).collect(),
        None => default_script(&caller_name),
    };
    let r = Ring {
        caller_number: b.caller_number,
        caller_name,
        is_vip: b.is_vip.unwrap_or(false),
        summary: b.summary.unwrap_or_default(),
        script,
        line_interval_ms: b.line_interval_ms.unwrap_or(1500).clamp(1, 3_600_000) as i64,
    };
    let now = sim.now();
    let mut st = sim.lock();
    let id = inbound_calls::ring(&mut st, r, now);
    st.notifications_changed(now);
    Ok(Json(json!({"id": id.to_string(), "call_id": id.to_string()})))
}

#[derive(Deserialize)]
struct EndBody {
    #[serde(default)]
    outcome: Option<String>,
}

async fn end_call(
    State(sim): State<SharedSim>,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<EndBody>,
) -> ApiResult<StatusCode> {
    let outcome = b.outcome.unwrap_or_else(|| "completed".into());
    if outcome != "completed" && outcome != "missed" {
        return Err(ApiError::validation("`outcome` must be \"completed\" or \"missed\".").detail("field", "outcome"));
    }
    let now = sim.now();
    let mut st = sim.lock();
    inbound_calls::end(&mut st, DEMO_USER, &id, &outcome, now)?;
    st.notifications_changed(now);
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct AdvanceBody {
    seconds: f64,
}

async fn advance(State(sim): State<SharedSim>, JsonBody(b): JsonBody<AdvanceBody>) -> ApiResult<Json<Value>> {
    if !b.seconds.is_finite() || b.seconds < 0.0 || b.seconds > 366.0 * 86_400.0 {
        return Err(ApiError::validation("`seconds` must be between 0 and one year.").detail("field", "seconds"));
    }
    let now = sim.clock.advance(b.seconds);
    crate::tick(&mut sim.lock(), now);
    Ok(Json(json!({"now": iso(now)})))
}

#[derive(Deserialize)]
struct CreditsBody {
    #[serde(default)]
    credits_remaining: Option<f64>,
    #[serde(default)]
    credits_allocated: Option<f64>,
}

async fn set_credits(State(sim): State<SharedSim>, JsonBody(b): JsonBody<CreditsBody>) -> ApiResult<Json<Value>> {
    let valid = |v: Option<f64>| v.is_none_or(|x| x.is_finite() && (0.0..=1e9).contains(&x));
    if !valid(b.credits_remaining) || !valid(b.credits_allocated) {
        return Err(ApiError::validation("Credits must be numbers between 0 and 1e9."));
    }
    let now = sim.now();
    let mut st = sim.lock();
    if let Some(a) = b.credits_allocated {
        st.credits.allocated = a;
    }
    if let Some(r) = b.credits_remaining {
        st.credits.remaining = r;
    }
    st.credits_changed(now);
    Ok(Json(st.credits.to_json()))
}

#[derive(Deserialize)]
struct StreamBody {
    enabled: bool,
    /// `false`: `stream/info` keeps its word, the events route answers JSON (see docs/sim.md).
    sse: Option<bool>,
    heartbeat_secs: Option<u64>,
}

async fn stream(State(sim): State<SharedSim>, JsonBody(b): JsonBody<StreamBody>) -> ApiResult<StatusCode> {
    if b.heartbeat_secs.is_some_and(|s| !(1..=3600).contains(&s)) {
        return Err(ApiError::validation("`heartbeat_secs` must be 1 to 3600.").detail("field", "heartbeat_secs"));
    }
    let mut st = sim.lock();
    st.stream_enabled = b.enabled;
    st.stream_sse = b.sse.unwrap_or(st.stream_sse);
    st.stream_heartbeat_secs = b.heartbeat_secs.unwrap_or(st.stream_heartbeat_secs);
    // Wake open streams so they notice the switch (seq 0 is never delivered).
    let _ = st.events_tx.send(Event { seq: 0, kind: "wake", data: Value::Null, at: 0 });
    Ok(StatusCode::NO_CONTENT)
}

async fn clear_events(State(sim): State<SharedSim>) -> StatusCode {
    sim.lock().events.clear();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct NextReplyBody {
    text: String,
    /// `text` this many times over (a reply longer than a control request may be).
    #[serde(default)]
    repeat: Option<usize>,
}

/// Replies made with `repeat` are at most this long.
const MAX_REPEATED_REPLY: usize = 4 * 1024 * 1024;

/// The assistant's next reply is exactly `text` (once), whatever was asked.
async fn next_reply(State(sim): State<SharedSim>, JsonBody(b): JsonBody<NextReplyBody>) -> ApiResult<StatusCode> {
    if b.text.is_empty() {
        return Err(ApiError::validation("`text` must not be empty.").detail("field", "text"));
    }
    let times = b.repeat.unwrap_or(1);
    if times == 0 || b.text.len().saturating_mul(times) > MAX_REPEATED_REPLY {
        return Err(
            ApiError::validation("`repeat` must be at least 1 and the reply at most 4 MiB.").detail("field", "repeat")
        );
    }
    sim.lock().next_reply = Some(b.text.repeat(times));
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct ReceivedMessage {
    from: String,
    #[serde(default)]
    subject: String,
    body: String,
    #[serde(default = "email")]
    channel: String,
}

fn email() -> String {
    "email".into()
}

/// A message arrives in the user's inbox, unread, in a thread of its own: text from outside, as
/// the app meets it (a sender's name, a subject, a body), for tests of how clients show it.
async fn receive_message(
    State(sim): State<SharedSim>,
    JsonBody(b): JsonBody<ReceivedMessage>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    if b.from.trim().is_empty() || b.body.trim().is_empty() {
        return Err(ApiError::validation("`from` and `body` must not be empty."));
    }
    if !["email", "sms", "whatsapp"].contains(&b.channel.as_str()) {
        return Err(ApiError::validation("`channel` must be email, sms or whatsapp.").detail("field", "channel"));
    }
    let now = sim.now();
    let message = InboxMessage {
        id: Uuid::new_v4(),
        conversation_id: Uuid::new_v4(),
        outgoing: false,
        from: b.from,
        to: None,
        subject: b.subject,
        channel: b.channel,
        preview: crate::seed::preview(&b.body),
        body: b.body,
        unread: true,
        received_at: now,
    };
    let id = message.id.to_string();
    sim.lock().inbox.push(message);
    Ok((StatusCode::CREATED, Json(json!({"id": id}))))
}

#[derive(Deserialize)]
struct NextRefusalBody {
    code: String,
    #[serde(default)]
    credits_estimated: Option<f64>,
}

/// The next answered ask is refused with a goal-budget code (once), see `budget_refusal`.
async fn next_refusal(State(sim): State<SharedSim>, JsonBody(b): JsonBody<NextRefusalBody>) -> ApiResult<StatusCode> {
    let code = budget_refusal::parse_code(&b.code).ok_or_else(|| {
        ApiError::validation(format!("`code` must be one of {}.", budget_refusal::CODES.join(", ")))
            .detail("field", "code")
    })?;
    let credits_estimated = b.credits_estimated.unwrap_or(budget_refusal::DEFAULT_ESTIMATE);
    if !credits_estimated.is_finite() || !(0.0..=1e9).contains(&credits_estimated) {
        return Err(
            ApiError::validation("`credits_estimated` must be between 0 and 1e9.").detail("field", "credits_estimated")
        );
    }
    sim.lock().next_refusal = Some(budget_refusal::Refusal { code, credits_estimated });
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::is_loopback_host;

    #[test]
    fn loopback_hosts() {
        for ok in ["127.0.0.1", "127.0.0.1:8080", "localhost", "LOCALHOST:1", "[::1]", "[::1]:9", "127.1.2.3:80"] {
            assert!(is_loopback_host(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:8080",
            "127.0.0.1.evil.example",
            "localhost.evil.example:80",
            "0.0.0.0:80",
            "192.168.1.2",
            "[::2]:80",
            "[::1",
            "127.0.0.1:",
            "127.0.0.1:+80",
            "127.0.0.1:99999",
            "localhost:80:80",
            "",
            "[127.0.0.1]",
        ] {
            assert!(!is_loopback_host(bad), "{bad}");
        }
    }
}
