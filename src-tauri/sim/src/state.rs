//! The sim's in-memory world: one `State` behind a mutex. Handlers lock it briefly, never across
//! an `.await`. Model types render themselves to the wire shapes of the reference.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{json, Value};
use tokio::sync::{broadcast, watch};
use uuid::Uuid;

use crate::bounded::Bounded;
use crate::clock::{iso, month_bounds, offset_hms, Clock, Millis};
use crate::{Limits, Profile, Seed, SimConfig};

/// The seeded user every token belongs to.
pub const DEMO_USER: Uuid = Uuid::from_u128(0x0a1e_0000_4000_8000_0000_0000_0000_0001);
/// A second user whose records exist only so "someone else's id" answers 404.
pub const OTHER_USER: Uuid = Uuid::from_u128(0x0a1e_0000_4000_8000_0000_0000_0000_0002);

pub struct Sim {
    pub config: SimConfig,
    pub clock: Clock,
    pub state: Mutex<State>,
    pub shutdown: watch::Receiver<bool>,
}

pub type SharedSim = Arc<Sim>;

impl Sim {
    /// Locks the state; a poisoned lock is recovered because every mutation is self-contained.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
    pub fn now(&self) -> Millis {
        self.clock.now()
    }
    /// True when the sim plays production (switchable at run time by `/_sim/reset`).
    pub fn production(&self) -> bool {
        self.lock().production()
    }
}

#[derive(Clone, Debug)]
pub struct Event {
    pub seq: u64,
    pub kind: &'static str,
    pub data: Value,
    pub at: Millis,
}

impl Event {
    pub fn to_json(&self) -> Value {
        let mut v = json!({"id": self.seq.to_string(), "seq": self.seq, "type": self.kind, "created_at": iso(self.at)});
        if let (Some(obj), Some(data)) = (v.as_object_mut(), self.data.as_object()) {
            for (k, val) in data {
                obj.insert(k.clone(), val.clone());
            }
        }
        v
    }
}

pub struct AccessToken {
    pub user: Uuid,
    pub expires_at: Millis,
    pub revoked: bool,
}

pub struct RefreshToken {
    /// Set when rotated: the token stays usable until this instant (grace for racing refreshers).
    pub grace_until: Option<Millis>,
    /// Set when revoked (by RFC 7009 revocation or `/_sim/tokens/revoke`).
    pub revoked_at: Option<Millis>,
}

impl RefreshToken {
    /// When it stopped working for good (revoked, or rotated and past its grace), if it has.
    pub fn dead_since(&self) -> Option<Millis> {
        self.revoked_at.into_iter().chain(self.grace_until).min()
    }
}

pub struct AuthCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub scope: String,
    pub expires_at: Millis,
}

/// A sign-in page that was shown and awaits the user's decision until `expires_at`.
pub struct Pending {
    pub login: PendingLogin,
    pub expires_at: Millis,
}

/// What a sign-in page was shown for (CSRF-safe: the form posts only its id back, everything
/// else stays server-side).
#[derive(Clone)]
pub enum PendingLogin {
    Cli {
        redirect_uri: String,
        state: Option<String>,
    },
    OAuth {
        client_id: String,
        redirect_uri: String,
        state: Option<String>,
        code_challenge: Option<String>,
        scope: String,
    },
}

/// Every map here is bounded (`Limits`): the oldest entry is evicted beyond the cap, and
/// `State::prune` drops what has expired.
pub struct Tokens {
    pub access: Bounded<String, AccessToken>,
    pub refresh: Bounded<String, RefreshToken>,
    pub codes: Bounded<String, AuthCode>,
    /// The secrets issued, newest last (`GET /_sim/tokens`), each list capped at `Limits::tokens`.
    pub issued_access: VecDeque<String>,
    pub issued_refresh: VecDeque<String>,
    pub issued_codes: VecDeque<String>,
    issued_cap: usize,
    pub pending: Bounded<String, Pending>,
    pub pkce_method: Option<String>,
    pub challenge_seen: bool,
    pub verifier_seen: bool,
}

impl Tokens {
    pub fn new(limits: &Limits) -> Self {
        Self {
            access: Bounded::new(limits.tokens),
            refresh: Bounded::new(limits.tokens),
            codes: Bounded::new(limits.pending_sign_ins),
            issued_access: VecDeque::new(),
            issued_refresh: VecDeque::new(),
            issued_codes: VecDeque::new(),
            issued_cap: limits.tokens.max(1),
            pending: Bounded::new(limits.pending_sign_ins),
            pkce_method: None,
            challenge_seen: false,
            verifier_seen: false,
        }
    }

    /// Appends to one of the `issued_*` lists, dropping its oldest entry beyond the cap.
    pub fn log_issued(list: &mut VecDeque<String>, cap: usize, secret: &str) {
        list.push_back(secret.to_string());
        while list.len() > cap {
            list.pop_front();
        }
    }

    pub fn issued_cap(&self) -> usize {
        self.issued_cap
    }
}

/// An answer stored for an `Idempotency-Key`, replayed until `Limits::idempotency_ttl_secs`
/// after `at`.
pub struct StoredAnswer {
    pub status: u16,
    pub body: Value,
    pub at: Millis,
}

pub struct Credits {
    pub remaining: f64,
    pub allocated: f64,
    pub plan_type: String,
    pub period_start: Millis,
    pub period_end: Millis,
}

impl Credits {
    pub fn used(&self) -> f64 {
        round2((self.allocated - self.remaining).max(0.0))
    }
    pub fn to_json(&self) -> Value {
        json!({
            "credits_remaining": round2(self.remaining),
            "credits_used": self.used(),
            "credits_allocated": round2(self.allocated),
            "plan_type": self.plan_type,
            "period_start": iso(self.period_start),
            "period_end": iso(self.period_end),
        })
    }
}

pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

pub struct CreditEntry {
    pub id: Uuid,
    pub kind: String,
    pub description: String,
    pub credits: f64,
    pub at: Millis,
    pub goal_id: Option<Uuid>,
}

pub struct ChatMessage {
    pub id: Uuid,
    pub role: &'static str,
    pub content: String,
    pub at: Millis,
    pub goal_id: Option<Uuid>,
}

pub struct Conversation {
    pub id: Uuid,
    pub owner: Uuid,
    pub title: String,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub messages: Vec<ChatMessage>,
}

impl Conversation {
    pub fn summary_json(&self) -> Value {
        json!({"id": self.id.to_string(), "conversation_id": self.id.to_string(), "title": self.title,
               "created_at": iso(self.created_at), "updated_at": iso(self.updated_at),
               "message_count": self.messages.len()})
    }
}

#[derive(Clone)]
pub struct Step {
    pub description: String,
    pub status: &'static str,
    pub requires_approval: bool,
    pub approved: bool,
    pub cost: f64,
    pub cost_kind: &'static str,
    pub duration_secs: i64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Awaiting {
    Nothing,
    StepApproval,
    Outcome,
    /// The goal asked the user a question (`Goal::question`); a message in the goal's
    /// conversation answers it.
    Question,
}

impl Awaiting {
    pub fn as_json(self) -> Value {
        match self {
            Awaiting::Nothing => Value::Null,
            Awaiting::StepApproval => "step_approval".into(),
            Awaiting::Outcome => "outcome".into(),
            Awaiting::Question => "question".into(),
        }
    }
}

pub struct Goal {
    pub id: Uuid,
    pub owner: Uuid,
    pub conversation_id: Option<Uuid>,
    pub parent_goal_id: Option<Uuid>,
    pub title: String,
    pub description: String,
    pub intent: &'static str,
    pub status: &'static str,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub credits_used: f64,
    pub credits_estimated: f64,
    pub steps: Vec<Step>,
    pub current: usize,
    pub step_started_at: Millis,
    pub awaiting: Awaiting,
    pub escalated: bool,
    pub outcome: Option<String>,
    /// The open question while `awaiting` is `Question`.
    pub question: Option<String>,
    pub cost_items: Vec<(String, f64, Millis)>,
}

impl Goal {
    pub fn is_terminal(&self) -> bool {
        matches!(self.status, "completed" | "cancelled" | "archived")
    }
    pub fn current_step_description(&self) -> String {
        self.steps.get(self.current).map(|s| s.description.clone()).unwrap_or_else(|| "Wrapping up".into())
    }
    pub fn summary_json(&self, sub_goal_count: usize) -> Value {
        json!({
            "id": self.id.to_string(), "title": self.title, "status": self.status,
            "created_at": iso(self.created_at), "updated_at": iso(self.updated_at),
            "credits_used": round2(self.credits_used), "credits_estimated": round2(self.credits_estimated),
            "sub_goal_count": sub_goal_count, "intent": self.intent,
            "current_step_description": self.current_step_description(),
            "awaiting": self.awaiting.as_json(),
            "question": self.question,
            "escalated": self.escalated,
        })
    }
    pub fn full_json(&self, sub_goal_count: usize) -> Value {
        let mut v = self.summary_json(sub_goal_count);
        let steps: Vec<Value> = self
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| {
                json!({"step": i + 1, "description": s.description, "status": s.status,
                                  "requires_approval": s.requires_approval, "credits": round2(s.cost)})
            })
            .collect();
        let extra = json!({
            "description": self.description,
            "parent_goal_id": self.parent_goal_id.map(|p| p.to_string()),
            "conversation_id": self.conversation_id.map(|c| c.to_string()),
            "outcome": self.outcome,
            "steps": steps,
        });
        merge(&mut v, extra);
        v
    }
}

pub fn merge(into: &mut Value, from: Value) {
    if let (Some(a), Value::Object(b)) = (into.as_object_mut(), from) {
        a.extend(b);
    }
}

pub struct TranscriptLine {
    pub speaker: String,
    pub content: String,
    pub offset_secs: i64,
}

impl TranscriptLine {
    pub fn to_json(&self) -> Value {
        json!({"speaker": self.speaker, "content": self.content, "timestamp": offset_hms(self.offset_secs)})
    }
}

pub struct OutboundCall {
    pub id: Uuid,
    pub owner: Uuid,
    pub status: String,
    pub submission: Value,
    pub timezone: String,
    pub created_at: Millis,
    pub ended_at: Millis,
    pub duration_seconds: f64,
    pub credits_used: f64,
    pub highlights: String,
    pub next_steps: String,
    pub transcript: Vec<TranscriptLine>,
}

impl OutboundCall {
    pub fn to_json(&self) -> Value {
        let sub = &self.submission;
        let s = |k: &str| sub.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        json!({
            "call_id": self.id.to_string(), "id": self.id.to_string(), "status": self.status,
            "highlights": self.highlights, "next_steps": self.next_steps,
            "duration_seconds": self.duration_seconds, "credits_used": round2(self.credits_used),
            "metadata": {"created_at": iso(self.created_at), "ended_at": iso(self.ended_at)},
            "submission": self.submission, "timezone": self.timezone,
            "to": s("respondent_phone"), "business_name": s("business_name"),
            "result_summary": self.highlights,
            "created_at": iso(self.created_at), "ended_at": iso(self.ended_at),
        })
    }
}

pub struct InboundCall {
    pub id: Uuid,
    pub owner: Uuid,
    pub caller_number: String,
    pub caller_name: String,
    pub is_vip: bool,
    pub status: String,
    pub created_at: Millis,
    pub ended_at: Option<Millis>,
    pub summary: String,
    pub action_items: Vec<Value>,
    pub phone_number_id: Uuid,
    pub script: Vec<(String, String)>,
    pub shown: usize,
    pub line_interval_ms: i64,
    pub reason: Option<String>,
    pub transfer_target: Option<String>,
}

impl InboundCall {
    pub fn is_live(&self) -> bool {
        self.status == "active"
    }
    pub fn duration_seconds(&self, now: Millis) -> i64 {
        (self.ended_at.unwrap_or(now) - self.created_at).max(0) / 1000
    }
    pub fn line(&self, i: usize) -> TranscriptLine {
        let (speaker, content) = &self.script[i];
        TranscriptLine {
            speaker: speaker.clone(),
            content: content.clone(),
            offset_secs: i as i64 * self.line_interval_ms / 1000,
        }
    }
    pub fn to_json(&self, now: Millis) -> Value {
        json!({
            "id": self.id.to_string(), "call_id": self.id.to_string(),
            "caller_number": self.caller_number, "caller_name": self.caller_name, "is_vip": self.is_vip,
            "status": self.status, "created_at": iso(self.created_at),
            "ended_at": self.ended_at.map(iso), "duration_seconds": self.duration_seconds(now),
            "summary": self.summary, "action_items": self.action_items,
            "phone_number_id": self.phone_number_id.to_string(),
            "transcript_lines": self.shown, "reason": self.reason, "transfer_target": self.transfer_target,
        })
    }
}

/// An email KallyAI drafted, queued for the user's approval (reference §3.5).
pub struct PendingEmail {
    pub id: Uuid,
    pub to: String,
    pub cc: Option<String>,
    pub subject: String,
    pub body: String,
    pub status: String,
    pub created_at: Millis,
}

impl PendingEmail {
    /// One draft as the outbox lists it and `GET /v1/actions/email/{id}` gives it.
    pub fn to_json(&self) -> Value {
        json!({"id": self.id.to_string(), "to": self.to, "cc": self.cc, "subject": self.subject,
               "body": self.body, "status": self.status, "created_at": iso(self.created_at)})
    }
}

/// A message of the unified inbox (reference §3.6), or one the user sent in the same thread
/// (`outgoing`: never listed in the inbox, only in its thread).
pub struct InboxMessage {
    pub id: Uuid,
    pub conversation_id: Uuid,
    pub outgoing: bool,
    pub from: String,
    pub to: Option<String>,
    pub subject: String,
    pub channel: String,
    pub preview: String,
    pub body: String,
    pub unread: bool,
    pub received_at: Millis,
}

impl InboxMessage {
    /// The fields the inbox list documents, plus the thread id.
    pub fn list_json(&self) -> Value {
        json!({"id": self.id.to_string(), "from": self.from, "subject": self.subject, "channel": self.channel,
               "preview": self.preview, "unread": self.unread, "received_at": iso(self.received_at),
               "conversation_id": self.conversation_id.to_string()})
    }
    /// The full message (`GET /v1/messages/inbox/{id}`, thread entries).
    pub fn full_json(&self) -> Value {
        let mut v = self.list_json();
        merge(
            &mut v,
            json!({"to": self.to, "body": self.body,
                   "direction": if self.outgoing { "outgoing" } else { "incoming" }}),
        );
        v
    }
}

/// One entry of the action log (reference §3.5, `GET /v1/actions/log`).
pub struct LoggedAction {
    pub id: Uuid,
    /// calendar, booking, bill, ride, food, errand, email.
    pub kind: &'static str,
    pub description: String,
    /// `completed`, or `undone` once undone.
    pub status: &'static str,
    pub created_at: Millis,
    pub undoable: bool,
}

impl LoggedAction {
    pub fn to_json(&self) -> Value {
        json!({"id": self.id.to_string(), "type": self.kind, "description": self.description,
               "status": self.status, "created_at": iso(self.created_at), "undoable": self.undoable})
    }
}

#[derive(Clone, Debug)]
pub struct Fault {
    pub id: Uuid,
    pub route: String,
    pub method: Option<String>,
    pub kind: String,
    pub status: u16,
    pub latency_ms: u64,
    pub retry_after_secs: u64,
    pub probability: f64,
    pub remaining: Option<u64>,
}

pub struct LoggedRequest {
    pub seq: u64,
    pub method: String,
    pub path: String,
    pub query: String,
    pub status: u16,
    pub auth: bool,
    pub idempotency_key: Option<String>,
    pub conversation_id: Option<String>,
    pub fault: Option<String>,
    pub at: Millis,
}

pub struct State {
    pub seed: Seed,
    pub profile: Profile,
    pub user_name: String,
    pub credits: Credits,
    pub credit_history: Vec<CreditEntry>,
    pub tokens: Tokens,
    pub conversations: Vec<Conversation>,
    pub goals: Vec<Goal>,
    pub calls: Vec<OutboundCall>,
    pub inbound: Vec<InboundCall>,
    pub emails: Vec<PendingEmail>,
    /// Inbox messages and the user's own messages in their threads.
    pub inbox: Vec<InboxMessage>,
    pub action_log: Vec<LoggedAction>,
    /// (route, Idempotency-Key) -> the first answer; see `idempotent_answer`.
    pub idempotency: Bounded<(String, String), StoredAnswer>,
    pub limits: Limits,
    /// Sim time of the next `prune` from `tick`.
    pub next_prune_at: Millis,
    pub faults: Vec<Fault>,
    pub requests: Vec<LoggedRequest>,
    pub next_request_seq: u64,
    pub events: Vec<Event>,
    pub next_event_seq: u64,
    pub events_tx: broadcast::Sender<Event>,
    pub stream_enabled: bool,
    /// `false`: the events route answers its JSON log even to `Accept: text/event-stream` while
    /// `stream/info` still says enabled (a server that advertises a stream it does not serve).
    pub stream_sse: bool,
    /// Keep-alive interval of streams opened from now on, as `stream/info` announces it.
    pub stream_heartbeat_secs: u64,
    /// A scheduled downgrade: (new plan, effective at).
    pub pending_plan_change: Option<(String, Millis)>,
    /// When change-plan was called (for its 3-per-hour limit).
    pub plan_change_calls: Vec<Millis>,
    pub notifications_changed_at: Millis,
    /// EXTENSION: the text the assistant gives as its next reply instead of its own (set with
    /// `POST /_sim/assistant/next-reply`, used once), so a test can make it say anything.
    pub next_reply: Option<String>,
    /// EXTENSION: the refusal the next answered ask gets instead of its answer (set with
    /// `POST /_sim/assistant/next-refusal`, used once).
    pub next_refusal: Option<crate::budget_refusal::Refusal>,
}

const EVENT_LOG_CAP: usize = 2000;

/// Seconds as milliseconds, saturating (a huge configured lifetime means "never").
pub fn secs_ms(secs: u64) -> Millis {
    i64::try_from(secs).unwrap_or(i64::MAX).saturating_mul(1000)
}
const REQUEST_LOG_CAP: usize = 10_000;

impl State {
    pub fn new(seed: Seed, profile: Profile, limits: Limits, now: Millis, events_tx: broadcast::Sender<Event>) -> Self {
        let (period_start, period_end) = month_bounds(now);
        let mut s = State {
            seed,
            profile,
            user_name: "Alex Demo".into(),
            credits: Credits {
                remaining: 200.0,
                allocated: 200.0,
                plan_type: "starter".into(),
                period_start,
                period_end,
            },
            credit_history: Vec::new(),
            tokens: Tokens::new(&limits),
            conversations: Vec::new(),
            goals: Vec::new(),
            calls: Vec::new(),
            inbound: Vec::new(),
            emails: Vec::new(),
            inbox: Vec::new(),
            action_log: Vec::new(),
            idempotency: Bounded::new(limits.idempotency_keys),
            limits,
            next_prune_at: now,
            faults: Vec::new(),
            requests: Vec::new(),
            next_request_seq: 1,
            events: Vec::new(),
            next_event_seq: 1,
            events_tx,
            stream_enabled: true,
            stream_sse: true,
            stream_heartbeat_secs: 15,
            pending_plan_change: None,
            plan_change_calls: Vec::new(),
            notifications_changed_at: now,
            next_reply: None,
            next_refusal: None,
        };
        if seed == Seed::Demo {
            crate::seed::demo(&mut s, now);
        }
        s
    }

    pub fn production(&self) -> bool {
        self.profile == Profile::Production
    }

    /// Keeps a sign-in page's request for `Limits::pending_sign_in_ttl_secs`.
    pub fn add_pending(&mut self, id: String, login: PendingLogin, now: Millis) {
        let expires_at = now.saturating_add(secs_ms(self.limits.pending_sign_in_ttl_secs));
        self.tokens.pending.insert(id, Pending { login, expires_at });
    }

    /// Takes a sign-in request (used once); `None` if unknown, used, evicted or expired.
    pub fn take_pending(&mut self, id: &str, now: Millis) -> Option<PendingLogin> {
        self.tokens.pending.remove(id).filter(|p| p.expires_at > now).map(|p| p.login)
    }

    /// The stored answer to `key` on `route`, if one was given within the idempotency window.
    pub fn idempotent_answer(&self, route: &str, key: &str, now: Millis) -> Option<(u16, Value)> {
        let ttl = secs_ms(self.limits.idempotency_ttl_secs);
        self.idempotency
            .get(&(route.to_string(), key.to_string()))
            .filter(|a| a.at.saturating_add(ttl) > now)
            .map(|a| (a.status, a.body.clone()))
    }

    /// Stores the first answer to `key` on `route`.
    pub fn remember_answer(&mut self, route: &str, key: String, status: u16, body: Value, now: Millis) {
        self.idempotency.insert((route.to_string(), key), StoredAnswer { status, body, at: now });
    }

    /// Runs `prune` at most once a second of sim time (from the ticker and the clock advance).
    pub fn prune_if_due(&mut self, now: Millis) {
        if now >= self.next_prune_at {
            self.prune(now);
            self.next_prune_at = now + 1000;
        }
    }

    /// Drops what has expired: sign-in requests past their lifetime, idempotent answers past
    /// theirs, and dead secrets past `Limits::token_grace_secs`.
    pub fn prune(&mut self, now: Millis) {
        let grace = secs_ms(self.limits.token_grace_secs);
        let alive = |since: Millis| since.saturating_add(grace) > now;
        self.tokens.pending.retain(|p| p.expires_at > now);
        self.tokens.codes.retain(|c| alive(c.expires_at));
        self.tokens.access.retain(|t| alive(t.expires_at));
        self.tokens.refresh.retain(|t| t.dead_since().is_none_or(alive));
        let ttl = secs_ms(self.limits.idempotency_ttl_secs);
        self.idempotency.retain(|a| a.at.saturating_add(ttl) > now);
    }

    /// Open event streams keep running: switched on, and not told to answer JSON instead.
    pub fn stream_serves(&self) -> bool {
        self.stream_enabled && self.stream_sse
    }

    /// Appends to the event log and wakes SSE subscribers.
    pub fn emit(&mut self, kind: &'static str, data: Value, now: Millis) {
        let ev = Event { seq: self.next_event_seq, kind, data, at: now };
        self.next_event_seq += 1;
        self.events.push(ev.clone());
        if self.events.len() > EVENT_LOG_CAP {
            let excess = self.events.len() - EVENT_LOG_CAP;
            self.events.drain(..excess);
        }
        let _ = self.events_tx.send(ev);
    }

    pub fn log_request(&mut self, mut entry: LoggedRequest) {
        entry.seq = self.next_request_seq;
        self.next_request_seq += 1;
        self.requests.push(entry);
        if self.requests.len() > REQUEST_LOG_CAP {
            self.requests.remove(0);
        }
    }

    /// Takes up to `amount` credits (the balance never goes below zero) and records it.
    pub fn charge(&mut self, amount: f64, kind: &str, description: &str, goal_id: Option<Uuid>, now: Millis) -> f64 {
        let taken = round2(amount.min(self.credits.remaining).max(0.0));
        if taken <= 0.0 {
            return 0.0;
        }
        self.credits.remaining = round2(self.credits.remaining - taken);
        self.credit_history.push(CreditEntry {
            id: Uuid::new_v4(),
            kind: kind.into(),
            description: description.into(),
            credits: taken,
            at: now,
            goal_id,
        });
        self.credits_changed(now);
        taken
    }

    pub fn credits_changed(&mut self, now: Millis) {
        let data = self.credits.to_json();
        self.emit("credits_changed", data, now);
    }

    pub fn notifications_changed(&mut self, now: Millis) {
        self.notifications_changed_at = now;
        let total = crate::routes::notifications::pending_counts(self).3;
        self.emit("notification_changed", json!({"total_pending": total}), now);
    }

    /// Appends a `completed` entry to the action log.
    pub fn log_action(&mut self, kind: &'static str, description: &str, undoable: bool, at: Millis) {
        self.action_log.push(LoggedAction {
            id: Uuid::new_v4(),
            kind,
            description: description.to_string(),
            status: "completed",
            created_at: at,
            undoable,
        });
    }

    pub fn sub_goal_count(&self, id: Uuid) -> usize {
        self.goals.iter().filter(|g| g.parent_goal_id == Some(id)).count()
    }
    pub fn inbound_mut(&mut self, user: Uuid, id: &str) -> Option<&mut InboundCall> {
        let id = Uuid::parse_str(id).ok()?;
        self.inbound.iter_mut().find(|c| c.id == id && c.owner == user)
    }
}
