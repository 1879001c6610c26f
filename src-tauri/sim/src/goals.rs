//! Goal lifecycle: steps advance over simulated time, approval steps, outcome acceptance and
//! questions pause a goal in `needs_input`, and the goal actions move it between states. A
//! question is answered by a message in the goal's conversation (`answer_question`).

use uuid::Uuid;

use crate::clock::Millis;
use crate::error::{ApiError, ApiResult};
use crate::state::{Awaiting, State};

/// Advances every running goal to `now`; several steps may finish in one call after a clock jump.
pub fn advance_all(state: &mut State, now: Millis) {
    let mut notify = false;
    for i in 0..state.goals.len() {
        notify |= advance_one(state, i, now);
    }
    if notify {
        state.notifications_changed(now);
    }
}

/// Returns true when the goal started waiting for the user (the notification list changed).
fn advance_one(state: &mut State, i: usize, now: Millis) -> bool {
    loop {
        let g = &mut state.goals[i];
        if g.status != "active" {
            return false;
        }
        let Some(step) = g.steps.get_mut(g.current) else {
            return finish(state, i, now);
        };
        if step.requires_approval && !step.approved {
            step.status = "awaiting_approval";
            g.status = "needs_input";
            g.awaiting = Awaiting::StepApproval;
            g.updated_at = now;
            return true;
        }
        step.status = "in_progress";
        let done_at = g.step_started_at + step.duration_secs * 1000;
        if now < done_at {
            return false;
        }
        step.status = "completed";
        let (cost, kind, desc, gid) = (step.cost, step.cost_kind, step.description.clone(), g.id);
        g.current += 1;
        g.step_started_at = done_at;
        g.updated_at = now;
        let charged = state.charge(cost, kind, &desc, Some(gid), now);
        let g = &mut state.goals[i];
        g.credits_used += charged;
        if charged > 0.0 {
            g.cost_items.push((kind.to_string(), charged, now));
        }
    }
}

fn finish(state: &mut State, i: usize, now: Millis) -> bool {
    let g = &mut state.goals[i];
    g.updated_at = now;
    if matches!(g.intent, "booking" | "call") && g.awaiting != Awaiting::Outcome {
        g.status = "needs_input";
        g.awaiting = Awaiting::Outcome;
        g.outcome = Some(match g.intent {
            "booking" => "The booking is confirmed. Accept the outcome, or ask me to keep negotiating.".into(),
            _ => "The call went through and the other side agreed. Accept the outcome?".into(),
        });
        true
    } else {
        g.status = "completed";
        g.awaiting = Awaiting::Nothing;
        false
    }
}

fn conflict_for(status: &str) -> ApiError {
    match status {
        "cancelled" => ApiError::conflict("goal_already_cancelled", "This goal was already cancelled."),
        "archived" => ApiError::conflict("goal_already_archived", "This goal is archived."),
        _ => ApiError::conflict("goal_already_completed", "This goal is already completed."),
    }
}

/// Runs one goal action (`approve-step`, `accept-outcome`, ...) and returns the goal's index.
pub fn act(state: &mut State, user: Uuid, id: &str, action: &str, now: Millis) -> ApiResult<usize> {
    let idx = Uuid::parse_str(id)
        .ok()
        .and_then(|gid| state.goals.iter().position(|g| g.id == gid && g.owner == user))
        .ok_or_else(|| ApiError::not_found("goal_not_found", "No goal with this id."))?;
    let g = &mut state.goals[idx];
    match action {
        "approve-step" => {
            if g.is_terminal() {
                return Err(conflict_for(g.status));
            }
            if g.awaiting != Awaiting::StepApproval {
                return Err(ApiError::conflict(
                    "no_step_awaiting_approval",
                    "No step of this goal is waiting for approval.",
                ));
            }
            let step = &mut g.steps[g.current];
            step.approved = true;
            step.status = "in_progress";
            g.awaiting = Awaiting::Nothing;
            g.status = "active";
            g.step_started_at = now;
        }
        "accept-outcome" => {
            if g.is_terminal() {
                return Err(conflict_for(g.status));
            }
            g.status = "completed";
            g.awaiting = Awaiting::Nothing;
            g.current = g.steps.len();
            for s in &mut g.steps {
                if s.status != "completed" {
                    s.status = "skipped";
                }
            }
        }
        "continue-negotiating" | "continue" => {
            if g.is_terminal() {
                return Err(conflict_for(g.status));
            }
            let extra = crate::assistant::step(
                "Negotiate a better outcome",
                crate::pricing::CALL_BASE + crate::pricing::CALL_PER_MINUTE,
                "call",
                30,
                false,
            );
            g.steps.insert(g.current.min(g.steps.len()), extra);
            g.awaiting = Awaiting::Nothing;
            g.outcome = None;
            g.status = "active";
            g.step_started_at = now;
        }
        "cancel" => {
            if g.is_terminal() {
                return Err(conflict_for(g.status));
            }
            g.status = "cancelled";
            g.awaiting = Awaiting::Nothing;
        }
        "escalate" => {
            if g.is_terminal() {
                return Err(conflict_for(g.status));
            }
            g.escalated = true;
        }
        "archive" => {
            if g.status == "archived" {
                return Err(conflict_for("archived"));
            }
            if !g.is_terminal() {
                return Err(ApiError::conflict(
                    "goal_not_finished",
                    "Only a completed or cancelled goal can be archived.",
                ));
            }
            g.status = "archived";
        }
        _ => return Err(ApiError::not_found("not_found", "There is no such goal action.")),
    }
    if g.awaiting != Awaiting::Question {
        g.question = None;
    }
    g.updated_at = now;
    if action == "cancel" {
        // cascade: sub-goals go with their parent
        let parent = g.id;
        for sub in state.goals.iter_mut().filter(|s| s.parent_goal_id == Some(parent) && !s.is_terminal()) {
            sub.status = "cancelled";
            sub.updated_at = now;
        }
    }
    advance_all(state, now);
    state.notifications_changed(now);
    Ok(idx)
}

/// The goal of `user` whose question is open in `conversation_id`, if any.
pub fn asking_in(state: &State, user: Uuid, conversation_id: Uuid) -> Option<usize> {
    state.goals.iter().position(|g| {
        g.owner == user
            && g.conversation_id == Some(conversation_id)
            && g.awaiting == Awaiting::Question
            && !g.is_terminal()
    })
}

/// Answers the open question of goal `i`: its current step (the one that asked) is done and the
/// goal runs again, so it leaves the pending list. Returns the question and the step that comes
/// next, for the assistant's reply.
pub fn answer_question(state: &mut State, i: usize, now: Millis) -> (String, Option<String>) {
    let g = &mut state.goals[i];
    let question = g.question.take().unwrap_or_default();
    g.awaiting = Awaiting::Nothing;
    g.status = "active";
    if let Some(step) = g.steps.get_mut(g.current) {
        step.status = "completed";
        g.current += 1;
    }
    g.step_started_at = now;
    g.updated_at = now;
    let next = g.steps.get(g.current).map(|s| s.description.clone());
    advance_all(state, now);
    state.notifications_changed(now);
    (question, next)
}
