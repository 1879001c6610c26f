//! `ApiError`: everything the app needs to react to a failed request, and one sentence for the user.

use std::fmt;
use std::time::{Duration, SystemTime};

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::api::budget::BudgetRefusal;

/// Client-side error codes (they never travel on the wire).
pub mod codes {
    /// The server could not be reached at all (DNS, refused, no route).
    pub const OFFLINE: &str = "offline";
    /// The server did not answer within the timeout.
    pub const TIMEOUT: &str = "timeout";
    /// The connection dropped after the request was sent, before a full answer arrived.
    pub const CONNECTION_LOST: &str = "connection_lost";
    /// A 2xx answer whose body is not what the API documents.
    pub const DECODE: &str = "decode";
    /// No tokens: the user has to sign in.
    pub const NOT_SIGNED_IN: &str = "not_signed_in";
    /// The request could not be built (bad id, bad URL); a programming or input error.
    pub const INVALID_REQUEST: &str = "invalid_request";
    /// The answer to the stream request is not a `200 text/event-stream` (the JSON activity
    /// log, an HTML page, a `204`): the server offers no stream there.
    pub const NOT_A_STREAM: &str = "not_a_stream";
}

/// What a failure says about sending the same request again ([`ApiError::when_to_retry`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// Transient (unreachable, timed out, cut, 429, 502, 503, 504): it may go through in a
    /// moment, so even a caller that waits only seconds tries again.
    Soon,
    /// Not in a moment, but after a wait: a server fault (500 and other 5xx) is an answer that
    /// repeating at once would not change, a 408 and a signed-out user need time or a sign-in.
    /// A caller that keeps the request for later (the outbox) tries again; others report it.
    Later,
    /// The server's (or this side's) answer to this very request: another 4xx, an unreadable
    /// answer, a request that could not be built. Sending it unchanged gets the same answer.
    Never,
}

/// A failed KallyAI request. Never contains a token.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    status: Option<u16>,
    code: String,
    message: Option<String>,
    correlation_id: Option<String>,
    retry_after: Option<Duration>,
    /// Set for the three goal-budget refusals (boxed: errors travel in every `Result`).
    budget: Option<Box<BudgetRefusal>>,
}

/// Codes that mean the account itself has no credits left: the only "out of credits" answers.
const OUT_OF_CREDITS: [&str; 2] = ["quota_exceeded", "insufficient_credits"];

/// Longest raw body kept as a message; an HTML error page is not a message.
const MAX_RAW_MESSAGE: usize = 300;

impl ApiError {
    /// An error produced on this side of the wire (`codes::*`).
    pub fn client(code: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            status: None,
            code: code.to_string(),
            message: (!message.is_empty()).then_some(message),
            correlation_id: None,
            retry_after: None,
            budget: None,
        }
    }

    pub fn not_signed_in() -> Self {
        Self::client(codes::NOT_SIGNED_IN, "")
    }

    /// Builds the error from a non-2xx answer, reading any of the three envelope forms
    /// (reference §1.4): nested `error.message`, older `error.details.message`, flat
    /// `{"error": "code", "message": ...}`; else the raw body.
    pub fn from_response(status: u16, body: &[u8], retry_after: Option<Duration>) -> Self {
        let parsed: Option<Value> = serde_json::from_slice(body).ok();
        let envelope = parsed.as_ref().map(read_envelope).unwrap_or_default();
        let message = envelope.message.or_else(|| raw_message(body, parsed.is_some()));
        let code = envelope.code.unwrap_or_else(|| format!("http_{status}"));
        let budget = parsed.as_ref().and_then(|v| BudgetRefusal::read(&code, v)).map(Box::new);
        Self { status: Some(status), code, message, correlation_id: envelope.correlation_id, retry_after, budget }
    }

    pub fn status(&self) -> Option<u16> {
        self.status
    }
    /// The server's code (`quota_exceeded`), `http_<status>` without one, or a `codes::*` value.
    pub fn code(&self) -> &str {
        &self.code
    }
    /// The server's own message (or raw body), trimmed; not always user-friendly.
    pub fn server_message(&self) -> Option<&str> {
        self.message.as_deref()
    }
    pub fn correlation_id(&self) -> Option<&str> {
        self.correlation_id.as_deref()
    }
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// True for failures to reach the server (the app shows its offline state).
    pub fn is_network(&self) -> bool {
        self.status.is_none() && matches!(self.code.as_str(), codes::OFFLINE | codes::TIMEOUT | codes::CONNECTION_LOST)
    }
    pub fn is_unauthorized(&self) -> bool {
        self.status == Some(401) || self.code == codes::NOT_SIGNED_IN
    }
    /// Whether sending the same request again can go better, and how soon: the one rule behind
    /// the client's own retries ([`is_transient`](Self::is_transient)), the outbox's "wait or
    /// hand back to the user" and its reading back.
    pub fn when_to_retry(&self) -> Retry {
        if self.is_unauthorized() {
            return Retry::Later;
        }
        match self.status {
            Some(429 | 502 | 503 | 504) => Retry::Soon,
            Some(408) => Retry::Later,
            Some(s) if (400..500).contains(&s) => Retry::Never,
            Some(_) => Retry::Later,
            None => match self.code.as_str() {
                codes::OFFLINE | codes::TIMEOUT | codes::CONNECTION_LOST => Retry::Soon,
                codes::DECODE | codes::INVALID_REQUEST => Retry::Never,
                _ => Retry::Later,
            },
        }
    }
    /// Transient: the server was unreachable, slow, overloaded or dropped the connection, so the
    /// same request may well succeed in a moment.
    pub fn is_transient(&self) -> bool {
        self.when_to_retry() == Retry::Soon
    }
    /// The account is out of credits (402 `quota_exceeded` / `insufficient_credits`): the app's
    /// out-of-credits state and "Manage plan". A goal's budget refusal is not this: see
    /// [`budget_refusal`](Self::budget_refusal).
    pub fn is_quota(&self) -> bool {
        OUT_OF_CREDITS.contains(&self.code.as_str())
    }
    /// The goal-budget refusal (`budget_approval_required`, `soft_cap_reached`,
    /// `budget_exceeded`) with its goal and numbers, which the user can approve or acknowledge.
    pub fn budget_refusal(&self) -> Option<&BudgetRefusal> {
        self.budget.as_deref()
    }

    /// Removes `secret` from the server message (a defensive measure: a misbehaving server or
    /// proxy could echo a token back).
    pub(crate) fn redact(mut self, secret: &str) -> Self {
        if secret.len() >= 8 {
            if let Some(m) = self.message.as_mut() {
                if m.contains(secret) {
                    *m = m.replace(secret, "***");
                }
            }
        }
        self
    }

    /// The sentence shown to the user.
    pub fn user_message(&self) -> String {
        self.to_string()
    }
}

#[derive(Default)]
struct Envelope {
    code: Option<String>,
    message: Option<String>,
    correlation_id: Option<String>,
}

fn read_envelope(v: &Value) -> Envelope {
    let text =
        |v: Option<&Value>| v.and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    match v.get("error") {
        Some(err @ Value::Object(_)) => Envelope {
            code: text(err.get("code")),
            message: text(err.get("message")).or_else(|| text(err.get("details").and_then(|d| d.get("message")))),
            correlation_id: text(err.get("correlation_id")).or_else(|| text(v.get("correlation_id"))),
        },
        // A flat `{"error": "code", "message": …}`, or RFC 6749 §5.2 / RFC 7009 (`error_description`).
        Some(code @ Value::String(_)) => Envelope {
            code: text(Some(code)),
            message: text(v.get("message"))
                .or_else(|| text(v.get("error_description")))
                .or_else(|| text(v.get("detail"))),
            correlation_id: text(v.get("correlation_id")),
        },
        // FastAPI-style `{"detail": "..."}` or `{"message": "..."}` without an error object.
        _ => Envelope {
            code: text(v.get("code")),
            message: text(v.get("message")).or_else(|| text(v.get("detail"))),
            correlation_id: text(v.get("correlation_id")),
        },
    }
}

fn raw_message(body: &[u8], was_json: bool) -> Option<String> {
    if was_json {
        return None;
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() || text.starts_with('<') {
        return None;
    }
    Some(text.chars().take(MAX_RAW_MESSAGE).collect())
}

/// Parses a `Retry-After` value: delay seconds or an HTTP date (RFC 9110 §10.2.3).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&sentence(self))
    }
}

fn sentence(e: &ApiError) -> String {
    let fixed = match e.code.as_str() {
        "quota_exceeded" | "insufficient_credits" => {
            "You are out of KallyAI credits. Top up or change your plan to continue."
        }
        "budget_exceeded" => "This goal went over its budget. Approve more budget or cancel the goal.",
        "budget_approval_required" => "This goal needs your budget approval before KallyAI can continue.",
        "soft_cap_reached" => "This goal reached its spending cap. Acknowledge it to let KallyAI continue.",
        codes::OFFLINE => "KallyAI cannot be reached. Check your connection; we will retry.",
        codes::TIMEOUT => "KallyAI did not answer in time. Try again in a moment.",
        codes::CONNECTION_LOST => "The connection to KallyAI dropped before it answered. Try again.",
        codes::DECODE => "KallyAI sent an answer this app cannot read. Try again, or update the app.",
        codes::NOT_SIGNED_IN | "missing_token" | "token_expired" => {
            "You are signed out of KallyAI. Sign in again to continue."
        }
        "forbidden" => "Your KallyAI account is not allowed to do this. Check your plan or permissions.",
        "call_not_active" => "This call is no longer live.",
        "action_not_undoable" => "This action can no longer be undone.",
        "phone_not_provisioned" => "You have no KallyAI phone number yet. Set one up in KallyAI first.",
        "email_not_connected" => "No email account is connected to KallyAI. Connect one first.",
        _ => "",
    };
    if !fixed.is_empty() {
        return fixed.to_string();
    }
    if e.code == "rate_limited" || e.status == Some(429) {
        return match e.retry_after {
            Some(d) if d.as_secs() > 0 => {
                format!("KallyAI is receiving too many requests. Try again in {} seconds.", d.as_secs())
            }
            _ => "KallyAI is receiving too many requests. Wait a moment and try again.".to_string(),
        };
    }
    match e.status {
        Some(401) => return "You are signed out of KallyAI. Sign in again to continue.".to_string(),
        Some(s) if s >= 500 => {
            return "KallyAI is having trouble right now. Try again in a moment.".to_string();
        }
        _ => {}
    }
    // Validation and refusal codes (422/403/404/409...) carry a message written for people.
    if let Some(m) = e.message.as_deref() {
        let one_line = m.lines().next().unwrap_or(m).trim();
        let mut s = one_line.to_string();
        if !s.ends_with(['.', '!', '?']) {
            s.push('.');
        }
        return s;
    }
    match e.status {
        Some(404) => "KallyAI could not find that item; it may have been removed.".to_string(),
        Some(409) => "That is no longer possible; refresh and try again.".to_string(),
        Some(s) => format!("KallyAI refused the request (HTTP {s}). Try again or contact support."),
        None => "Something went wrong talking to KallyAI. Try again.".to_string(),
    }
}

impl std::error::Error for ApiError {}

/// The UI sees `{code, message}` with the user sentence as the message, and `budget` for a
/// goal-budget refusal.
impl Serialize for ApiError {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("ApiError", 3)?;
        st.serialize_field("code", &self.code)?;
        st.serialize_field("message", &self.to_string())?;
        match &self.budget {
            Some(budget) => st.serialize_field("budget", budget)?,
            None => st.skip_field("budget")?,
        }
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_envelope() {
        let body = br#"{"error":{"code":"quota_exceeded","message":" Out of credits ","details":{"message":"x"},"correlation_id":"c-1"}}"#;
        let e = ApiError::from_response(402, body, None);
        assert_eq!(e.code(), "quota_exceeded");
        assert_eq!(e.server_message(), Some("Out of credits"));
        assert_eq!(e.correlation_id(), Some("c-1"));
        assert_eq!(e.status(), Some(402));
        assert!(e.is_quota());
        assert_eq!(e.to_string(), "You are out of KallyAI credits. Top up or change your plan to continue.");
    }

    #[test]
    fn only_account_credit_codes_are_out_of_credits() {
        let e = ApiError::from_response(402, br#"{"error":{"code":"insufficient_credits","message":"m"}}"#, None);
        assert!(e.is_quota() && e.budget_refusal().is_none());
        assert!(e.to_string().contains("out of KallyAI credits"), "{e}");
        for code in ["budget_approval_required", "soft_cap_reached", "budget_exceeded"] {
            let body = format!(r#"{{"error":{{"code":"{code}","message":"m","details":{{"goal_id":"g-7"}}}}}}"#);
            let e = ApiError::from_response(402, body.as_bytes(), None);
            assert!(!e.is_quota(), "{code} is a goal's budget, not the account's credits");
            let refusal = e.budget_refusal().expect(code);
            assert_eq!(refusal.goal_id.as_deref(), Some("g-7"));
            assert!(!e.to_string().contains("out of"), "{e}");
            assert_eq!(serde_json::to_value(&e).unwrap()["budget"]["goal_id"], "g-7");
        }
        // A refusal without details is still a refusal (the user can be told, not offered approval).
        let e = ApiError::from_response(402, br#"{"error":"budget_exceeded"}"#, None);
        assert_eq!(e.budget_refusal().map(|r| r.goal_id.clone()), Some(None));
        // Any other 402 is neither.
        let e = ApiError::from_response(402, b"", None);
        assert!(!e.is_quota() && e.budget_refusal().is_none());
    }

    #[test]
    fn only_transient_failures_are_retried_soon() {
        for s in [429, 502, 503, 504] {
            assert!(ApiError::from_response(s, b"", None).is_transient(), "{s}");
        }
        for s in [400, 401, 402, 403, 404, 408, 409, 422, 500] {
            assert!(!ApiError::from_response(s, b"", None).is_transient(), "{s}");
        }
        for c in [codes::OFFLINE, codes::TIMEOUT, codes::CONNECTION_LOST] {
            assert!(ApiError::client(c, "").is_transient());
        }
        assert!(!ApiError::client(codes::DECODE, "").is_transient());
        assert!(!ApiError::not_signed_in().is_transient());
    }

    #[test]
    fn what_a_failure_says_about_trying_again() {
        let soon = [
            ApiError::client(codes::OFFLINE, ""),
            ApiError::client(codes::TIMEOUT, ""),
            ApiError::client(codes::CONNECTION_LOST, ""),
            ApiError::from_response(429, b"", Some(Duration::from_secs(3))),
            ApiError::from_response(502, b"", None),
            ApiError::from_response(503, b"", None),
            ApiError::from_response(504, b"", None),
        ];
        for e in &soon {
            assert_eq!(e.when_to_retry(), Retry::Soon, "{e:?}");
        }
        let later = [
            ApiError::not_signed_in(),
            ApiError::from_response(401, b"", None),
            ApiError::from_response(408, b"", None),
            ApiError::from_response(500, b"", None),
            ApiError::from_response(501, b"", None),
            ApiError::client("stream_off", ""),
        ];
        for e in &later {
            assert_eq!(e.when_to_retry(), Retry::Later, "{e:?}");
        }
        let never = [
            ApiError::from_response(402, br#"{"error":{"code":"quota_exceeded","message":"m"}}"#, None),
            ApiError::from_response(402, br#"{"error":{"code":"budget_exceeded","message":"m"}}"#, None),
            ApiError::from_response(422, b"", None),
            ApiError::from_response(404, b"", None),
            ApiError::client(codes::DECODE, ""),
            ApiError::client(codes::INVALID_REQUEST, ""),
        ];
        for e in &never {
            assert_eq!(e.when_to_retry(), Retry::Never, "{e:?}");
        }
    }

    #[test]
    fn older_envelope_message_in_details() {
        let body = br#"{"error":{"code":"emergency_number","details":{"message":"Emergency numbers cannot be called","reason":"911"},"correlation_id":"c-2"}}"#;
        let e = ApiError::from_response(422, body, None);
        assert_eq!(e.code(), "emergency_number");
        assert_eq!(e.server_message(), Some("Emergency numbers cannot be called"));
        assert_eq!(e.to_string(), "Emergency numbers cannot be called.");
    }

    #[test]
    fn flat_envelope() {
        let e = ApiError::from_response(402, br#"{"error":"quota_exceeded","message":"No credits left"}"#, None);
        assert_eq!(e.code(), "quota_exceeded");
        assert_eq!(e.server_message(), Some("No credits left"));
        assert_eq!(e.correlation_id(), None);
        // RFC 6749 §5.2, as OAuth token and revocation endpoints answer.
        let body = br#"{"error":"invalid_grant","error_description":"The code was already used."}"#;
        let e = ApiError::from_response(400, body, None);
        assert_eq!(e.code(), "invalid_grant");
        assert_eq!(e.server_message(), Some("The code was already used."));
    }

    #[test]
    fn null_details_and_raw_bodies() {
        let e = ApiError::from_response(400, br#"{"error":{"code":"bad","details":null}}"#, None);
        assert_eq!(e.code(), "bad");
        assert_eq!(e.server_message(), None);
        let e = ApiError::from_response(502, b"  Bad Gateway \n", None);
        assert_eq!(e.code(), "http_502");
        assert_eq!(e.server_message(), Some("Bad Gateway"));
        assert_eq!(e.to_string(), "KallyAI is having trouble right now. Try again in a moment.");
        let e = ApiError::from_response(404, b"<html>nope</html>", None);
        assert_eq!(e.server_message(), None);
        assert!(e.to_string().contains("could not find"));
        let e = ApiError::from_response(422, br#"{"detail":"task_description too short"}"#, None);
        assert_eq!(e.code(), "http_422");
        assert_eq!(e.to_string(), "task_description too short.");
    }

    #[test]
    fn offline_sentence_and_serialization() {
        let e = ApiError::client(codes::OFFLINE, "connect refused");
        assert!(e.is_network());
        assert_eq!(e.to_string(), "KallyAI cannot be reached. Check your connection; we will retry.");
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"code": "offline", "message": "KallyAI cannot be reached. Check your connection; we will retry."})
        );
    }

    #[test]
    fn rate_limit_sentence_mentions_wait() {
        let e = ApiError::from_response(429, b"", Some(Duration::from_secs(7)));
        assert_eq!(e.code(), "http_429");
        assert!(e.to_string().contains("7 seconds"), "{e}");
    }

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480); // 2015-10-21 07:28:00 GMT
        assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now), Some(Duration::from_secs(30)));
        // A date in the past means "now".
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }

    #[test]
    fn redaction_removes_secrets_from_messages() {
        let e = ApiError::from_response(
            401,
            br#"{"error":{"code":"token_expired","message":"token eyJabcdefgh123 expired"}}"#,
            None,
        )
        .redact("eyJabcdefgh123");
        assert_eq!(e.server_message(), Some("token *** expired"));
        assert!(!format!("{e:?}").contains("eyJabcdefgh123"));
    }
}
