//! The AI receptionist's calls: ringing one, growing its transcript line by line over simulated
//! time, ending it, and the user's takeover / reject / transfer.

use serde_json::{json, Value};
use uuid::Uuid;

use crate::clock::Millis;
use crate::error::{ApiError, ApiResult};
use crate::state::{InboundCall, State, DEMO_USER};

pub struct Ring {
    pub caller_number: String,
    pub caller_name: String,
    pub is_vip: bool,
    pub summary: String,
    pub script: Vec<(String, String)>,
    pub line_interval_ms: i64,
}

pub fn default_script(caller_name: &str) -> Vec<(String, String)> {
    let who = if caller_name.is_empty() { "there" } else { caller_name };
    [
        ("AI", "Hello, you've reached Alex's assistant. How can I help?".to_string()),
        ("HUMAN", format!("Hi, this is {who}. I'm calling about Thursday's appointment.")),
        ("AI", "Of course. Would you like to move it?".to_string()),
        ("HUMAN", "Yes, could we do Friday morning instead?".to_string()),
        ("AI", "I'll check with Alex and confirm by text. Anything else?".to_string()),
        ("HUMAN", "No, that's all. Thank you!".to_string()),
    ]
    .into_iter()
    .map(|(s, c)| (s.to_string(), c))
    .collect()
}

pub fn ring(state: &mut State, r: Ring, now: Millis) -> Uuid {
    let id = Uuid::new_v4();
    let call = InboundCall {
        id,
        owner: DEMO_USER,
        caller_number: r.caller_number,
        caller_name: r.caller_name,
        is_vip: r.is_vip,
        status: "active".into(),
        created_at: now,
        ended_at: None,
        summary: r.summary,
        action_items: Vec::new(),
        phone_number_id: Uuid::from_u128(0x9a8b_7c6d_5e4f_4a3b_8c1d_0e9f_8a7b_6c5d),
        script: r.script,
        shown: 0,
        line_interval_ms: r.line_interval_ms.max(1),
        reason: None,
        transfer_target: None,
    };
    let json = call.to_json(now);
    state.inbound.insert(0, call);
    state.emit("call_ringing", json!({"call": json}), now);
    advance_all(state, now);
    id
}

/// Reveals transcript lines that are due; a call whose script ran out (plus one interval) ends
/// as `completed`.
pub fn advance_all(state: &mut State, now: Millis) {
    let mut events: Vec<(&'static str, Value)> = Vec::new();
    for c in state.inbound.iter_mut().filter(|c| c.is_live()) {
        let due = ((now - c.created_at).max(0) / c.line_interval_ms + 1) as usize;
        while c.shown < c.script.len() && c.shown < due {
            let line = c.line(c.shown);
            events.push((
                "transcript_line",
                json!({"call_id": c.id.to_string(), "index": c.shown, "entry": line.to_json()}),
            ));
            c.shown += 1;
        }
        // A call rung with an empty script stays live until someone ends it.
        if !c.script.is_empty() && c.shown >= c.script.len() && due > c.script.len() {
            c.status = "completed".into();
            c.ended_at = Some(now);
            if c.summary.is_empty() {
                c.summary = "The assistant took a message.".into();
            }
            events.push(("call_ended", json!({"call_id": c.id.to_string(), "status": c.status})));
        }
    }
    for (kind, data) in events {
        state.emit(kind, data, now);
    }
}

fn live_call<'a>(state: &'a mut State, user: Uuid, id: &str) -> ApiResult<&'a mut InboundCall> {
    let call = state
        .inbound_mut(user, id)
        .ok_or_else(|| ApiError::not_found("call_not_found", "No inbound call with this id."))?;
    if !call.is_live() {
        return Err(
            ApiError::conflict("call_not_active", "This call is no longer live.").detail("status", call.status.clone())
        );
    }
    Ok(call)
}

/// Ends a live call with `status` and emits `call_ended`.
pub fn end(state: &mut State, user: Uuid, id: &str, status: &str, now: Millis) -> ApiResult<()> {
    let call = live_call(state, user, id)?;
    call.status = status.to_string();
    call.ended_at = Some(now);
    let cid = call.id.to_string();
    state.emit("call_ended", json!({"call_id": cid, "status": status}), now);
    Ok(())
}

pub fn takeover(state: &mut State, user: Uuid, id: &str, now: Millis) -> ApiResult<Value> {
    end(state, user, id, "taken_over", now)?;
    Ok(json!({"success": true, "call_id": id, "status": "taken_over"}))
}

pub fn reject(state: &mut State, user: Uuid, id: &str, reason: Option<String>, now: Millis) -> ApiResult<Value> {
    let reason = reason.unwrap_or_else(|| "user_rejected".into());
    live_call(state, user, id)?.reason = Some(reason.clone());
    end(state, user, id, "rejected", now)?;
    Ok(json!({"success": true, "call_id": id, "status": "rejected", "reason": reason}))
}

pub fn transfer(state: &mut State, user: Uuid, id: &str, target: String, now: Millis) -> ApiResult<Value> {
    live_call(state, user, id)?.transfer_target = Some(target.clone());
    end(state, user, id, "transferred", now)?;
    Ok(json!({"success": true, "call_id": id, "status": "transferred", "target_number": target}))
}
