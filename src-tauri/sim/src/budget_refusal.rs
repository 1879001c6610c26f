//! Goal-budget refusals (reference §3.11): a goal can wait for the user before it spends, in
//! `budget_approval_required`, `soft_cap_reached` or `budget_exceeded`. The sim's assistant never
//! decides this on its own; `POST /_sim/assistant/next-refusal` makes the next answered ask
//! refuse with one of them (402, goal created but not charged), and `approve-budget` /
//! `acknowledge-soft-cap` let the goal go on.

use axum::http::StatusCode;
use uuid::Uuid;

use crate::clock::Millis;
use crate::error::{ApiError, ApiResult};
use crate::state::{round2, Goal, State};

pub const APPROVAL_REQUIRED: &str = "budget_approval_required";
pub const SOFT_CAP_REACHED: &str = "soft_cap_reached";
pub const EXCEEDED: &str = "budget_exceeded";
pub const CODES: [&str; 3] = [APPROVAL_REQUIRED, SOFT_CAP_REACHED, EXCEEDED];
pub const DEFAULT_ESTIMATE: f64 = 12.0;

/// The refusal the next answered ask gets.
#[derive(Clone, Copy, Debug)]
pub struct Refusal {
    pub code: &'static str,
    pub credits_estimated: f64,
}

pub fn parse_code(code: &str) -> Option<&'static str> {
    CODES.into_iter().find(|c| *c == code)
}

pub fn is_budget_state(status: &str) -> bool {
    CODES.contains(&status)
}

/// "12" or "12.5": how an estimate reads in a sentence.
fn credits(n: f64) -> String {
    let n = round2(n);
    if n.fract() == 0.0 {
        format!("{n:.0}")
    } else {
        n.to_string()
    }
}

fn message(code: &str, estimate: f64) -> String {
    let c = credits(estimate);
    match code {
        SOFT_CAP_REACHED => {
            format!("This goal reached its soft cap of about {c} credits; continue to let it spend more.")
        }
        EXCEEDED => {
            format!("This goal would go over its budget of about {c} credits; approve a larger budget to continue.")
        }
        _ => format!("This goal needs your approval to spend about {c} credits."),
    }
}

/// The sentence shown for a goal waiting in a budget state (notifications `summary`).
pub fn summary(goal: &Goal) -> String {
    let c = credits(goal.credits_estimated);
    let title = &goal.title;
    match goal.status {
        SOFT_CAP_REACHED => format!("\"{title}\" reached its soft cap of about {c} credits: continue?"),
        EXCEEDED => format!("\"{title}\" would go over its budget of about {c} credits: approve more?"),
        _ => format!("Approve about {c} credits for \"{title}\"."),
    }
}

/// The 402 for a goal just parked in the refusal's state.
pub fn refused(goal: &Goal) -> ApiError {
    ApiError::new(StatusCode::PAYMENT_REQUIRED, goal.status, message(goal.status, goal.credits_estimated))
        .detail("goal_id", goal.id.to_string())
        .detail("credits_estimated", round2(goal.credits_estimated))
        .detail("credits_used", round2(goal.credits_used))
        .detail("goal_title", goal.title.clone())
}

/// Which request unblocks a goal.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Unblock {
    ApproveBudget,
    AcknowledgeSoftCap,
}

impl Unblock {
    fn accepts(self, status: &str) -> bool {
        match self {
            Unblock::ApproveBudget => status == APPROVAL_REQUIRED || status == EXCEEDED,
            Unblock::AcknowledgeSoftCap => status == SOFT_CAP_REACHED,
        }
    }
}

/// Sets a goal waiting in a budget state going again (it advances at once, as after any goal
/// action). A goal in the other budget state is a 409 `invalid_goal_state`; a goal in none is
/// left as it is (so a repeated click succeeds).
pub fn unblock(state: &mut State, user: Uuid, id: &str, how: Unblock, now: Millis) -> ApiResult<()> {
    let goal = Uuid::parse_str(id)
        .ok()
        .and_then(|gid| state.goals.iter_mut().find(|g| g.id == gid && g.owner == user))
        .ok_or_else(|| ApiError::not_found("goal_not_found", "No goal with this id."))?;
    if !is_budget_state(goal.status) {
        return Ok(());
    }
    if !how.accepts(goal.status) {
        let wanted = if how == Unblock::ApproveBudget { "acknowledge-soft-cap" } else { "approve-budget" };
        return Err(ApiError::conflict(
            "invalid_goal_state",
            format!("This goal is in {}; it needs {wanted} instead.", goal.status),
        )
        .detail("status", goal.status));
    }
    goal.status = "active";
    goal.step_started_at = now;
    goal.updated_at = now;
    crate::goals::advance_all(state, now);
    state.notifications_changed(now);
    Ok(())
}
