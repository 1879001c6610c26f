//! Outbound calls (reference §3.2). `POST /v1/calls` "places" the call at once and answers with
//! the finished result, like the real service (which blocks until the call ends).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::coordination::UPGRADE_URL;
use super::{int_param, page, Params};
use crate::auth::User;
use crate::error::{ApiError, ApiResult, JsonBody};
use crate::idempotency::{self, replayed};
use crate::pricing::{CALL_BASE, CALL_PER_MINUTE};
use crate::state::{round2, OutboundCall, SharedSim, State as World, TranscriptLine};

pub fn router() -> Router<SharedSim> {
    Router::new()
        .route("/v1/calls", get(list).post(create))
        .route("/v1/calls/{id}", get(get_one))
        .route("/v1/calls/{id}/transcript", get(transcript))
        .route("/v1/calls/{id}/recording", get(recording))
}

async fn list(State(sim): State<SharedSim>, User(user): User, Query(q): Query<Params>) -> ApiResult<Json<Value>> {
    let limit = int_param(&q, "limit", 50, 1, 200)?;
    let offset = int_param(&q, "offset", 0, 0, i64::MAX)?;
    let st = sim.lock();
    let mut calls: Vec<&OutboundCall> = st.calls.iter().filter(|c| c.owner == user).collect();
    calls.sort_by_key(|c| std::cmp::Reverse(c.created_at));
    let all: Vec<Value> = calls.iter().map(|c| c.to_json()).collect();
    let items = page(&all, limit, offset);
    Ok(Json(json!({"calls": items.clone(), "items": items, "total": all.len(), "limit": limit, "offset": offset})))
}

fn find<'a>(st: &'a World, user: Uuid, id: &str) -> ApiResult<&'a OutboundCall> {
    Uuid::parse_str(id)
        .ok()
        .and_then(|cid| st.calls.iter().find(|c| c.id == cid && c.owner == user))
        .ok_or_else(|| ApiError::not_found("call_not_found", "No call with this id."))
}

async fn get_one(State(sim): State<SharedSim>, User(user): User, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(find(&sim.lock(), user, &id)?.to_json()))
}

async fn transcript(State(sim): State<SharedSim>, User(user): User, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let st = sim.lock();
    let call = find(&st, user, &id)?;
    if call.transcript.is_empty() {
        return Err(ApiError::not_found("transcript_not_found", "This call has no transcript."));
    }
    let entries: Vec<Value> = call.transcript.iter().map(TranscriptLine::to_json).collect();
    Ok(Json(json!({"call_id": id, "entries": entries})))
}

async fn recording(State(sim): State<SharedSim>, User(user): User, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let st = sim.lock();
    let call = find(&st, user, &id)?;
    if call.transcript.is_empty() {
        return Err(ApiError::not_found("recording_not_found", "This call has no recording."));
    }
    Ok(Json(json!({"url": format!("https://recordings.kallyai.example/calls/{id}.mp3"),
                   "duration_seconds": call.duration_seconds, "format": "mp3"})))
}

#[derive(Deserialize)]
struct Submission {
    #[serde(default)]
    task_category: Option<String>,
    task_description: String,
    respondent_phone: String,
    #[serde(default)]
    business_name: Option<String>,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    call_language: Option<String>,
    #[serde(default)]
    party_size: Option<i64>,
}

#[derive(Deserialize)]
struct CreateCall {
    submission: Value,
    #[serde(default)]
    timezone: Option<String>,
}

fn is_e164(p: &str) -> bool {
    let digits = p.strip_prefix('+').unwrap_or("");
    (2..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0')
}

/// Refuses what the real service refuses (reference §1.4), by simple deterministic rules.
fn check(sub: &Submission) -> ApiResult<()> {
    let n = sub.task_description.trim().chars().count();
    if !(10..=1000).contains(&n) {
        return Err(ApiError::validation("`task_description` must be 10 to 1000 characters.")
            .detail("field", "submission.task_description"));
    }
    let phone = sub.respondent_phone.trim();
    let bare = phone.trim_start_matches('+');
    if ["911", "112", "999", "000", "061", "062", "091"]
        .iter()
        .any(|e| bare == *e || (bare.len() <= 5 && bare.ends_with(e)))
    {
        return Err(ApiError::unprocessable("emergency_number", "Emergency numbers cannot be called."));
    }
    if !is_e164(phone) {
        return Err(ApiError::unprocessable(
            "missing_phone_number",
            "respondent_phone must be an E.164 number like +34911222333.",
        ));
    }
    if phone.starts_with("+1900") || phone.starts_with("+34905") || phone.starts_with("+44909") {
        return Err(ApiError::unprocessable("toll_number", "Premium-rate numbers cannot be called."));
    }
    for lang in [&sub.language, &sub.call_language].into_iter().flatten() {
        if lang != "en" && lang != "es" {
            return Err(ApiError::unprocessable(
                "unsupported_language",
                "Calls can be made in English (en) or Spanish (es).",
            ));
        }
    }
    if sub.party_size.is_some_and(|p| !(1..=50).contains(&p)) {
        return Err(ApiError::validation("`party_size` must be 1 to 50.").detail("field", "submission.party_size"));
    }
    Ok(())
}

async fn create(
    State(sim): State<SharedSim>,
    User(user): User,
    headers: HeaderMap,
    JsonBody(req): JsonBody<CreateCall>,
) -> ApiResult<Response> {
    let key = idempotency::key(&sim, &headers)?;
    if let Some(key) = &key {
        if let Some((status, body)) = sim.lock().idempotent_answer("calls", key, sim.now()) {
            return Ok(replayed(status, body));
        }
    }
    let sub: Submission = serde_json::from_value(req.submission.clone())
        .map_err(|e| ApiError::validation(format!("Invalid submission: {e}")))?;
    check(&sub)?;
    // Numbers ending in 0000 never answer: a deterministic way to get a failed call.
    let answered = !sub.respondent_phone.ends_with("0000");
    let duration: f64 = if answered { 60.0 + (sub.task_description.len() % 60) as f64 } else { 0.0 };
    let cost = if answered { CALL_BASE + (duration / 60.0).ceil() * CALL_PER_MINUTE } else { 0.0 };
    let now = sim.now();
    let mut st = sim.lock();
    if let Some(key) = &key {
        // A racing duplicate may have finished while we validated.
        if let Some((status, body)) = st.idempotent_answer("calls", key, now) {
            return Ok(replayed(status, body));
        }
    }
    if st.credits.remaining <= 0.0 || st.credits.remaining < cost {
        return Err(ApiError::new(
            StatusCode::PAYMENT_REQUIRED,
            "quota_exceeded",
            "You are out of credits: top up or upgrade your plan.",
        )
        .detail("credits_remaining", round2(st.credits.remaining))
        .detail("credits_required", cost)
        .detail("upgrade_url", UPGRADE_URL));
    }
    let business = sub.business_name.clone().unwrap_or_else(|| "the business".into());
    // Without a name, the other side answers and agrees as people do, without naming itself.
    let (hello, agreed) = match &sub.business_name {
        Some(name) => (format!("Hello, {name}."), format!("{name} agreed.")),
        None => ("Hello?".to_string(), "They agreed.".to_string()),
    };
    let transcript = if answered {
        [
            ("HUMAN", hello),
            ("AI", format!("Hi, I'm calling on behalf of {}. {}", st.user_name, sub.task_description.trim())),
            ("HUMAN", "Sure, we can do that.".to_string()),
            ("AI", "Wonderful, thank you very much. Goodbye!".to_string()),
        ]
        .into_iter()
        .enumerate()
        .map(|(i, (s, c))| TranscriptLine { speaker: s.into(), content: c, offset_secs: i as i64 * 12 })
        .collect()
    } else {
        Vec::new()
    };
    let mut submission = req.submission;
    if submission.get("task_category").is_none() {
        submission["task_category"] = json!(sub.task_category.unwrap_or_else(|| "general".into()));
    }
    let call = OutboundCall {
        id: Uuid::new_v4(),
        owner: user,
        status: if answered { "success" } else { "no_answer" }.into(),
        submission,
        timezone: req.timezone.unwrap_or_else(|| "Europe/Madrid".into()),
        created_at: now,
        ended_at: now + duration as i64 * 1000,
        duration_seconds: duration,
        credits_used: cost,
        highlights: if answered { agreed } else { "Nobody answered.".into() },
        next_steps: if answered { "Nothing else to do.".into() } else { "Try again later.".into() },
        transcript,
    };
    let body = call.to_json();
    st.calls.push(call);
    st.charge(cost, "call", &format!("Call to {business}"), None, now);
    if let Some(key) = key {
        st.remember_answer("calls", key, 201, body.clone(), now);
    }
    Ok((StatusCode::CREATED, Json(body)).into_response())
}
