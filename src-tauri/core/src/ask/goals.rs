//! The goal a reply created or touched, shaped for the quick-ask box and the tray: title,
//! status, steps, and the actions that fit its state.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::budget::BudgetRefusalKind;
use crate::api::coordination::{Goal, GoalAction, GoalQuery, GoalStatus};
use crate::client::Client;
use crate::error::ApiError;
use crate::pending::PendingAction;
use crate::transport::Request;

/// What the user can do to a goal from the box.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GoalActionKind {
    /// Approve the step that waits for the user.
    ApproveStep,
    /// Accept the outcome KallyAI reached.
    AcceptOutcome,
    /// Ask KallyAI to keep negotiating instead.
    ContinueNegotiating,
    /// Approve the budget of a goal waiting for it or over it (`POST /v1/goals/{id}/approve-budget`).
    ApproveBudget,
    /// Let a goal at its soft cap continue (`POST /v1/goals/{id}/acknowledge-soft-cap`).
    AcknowledgeSoftCap,
    Cancel,
}

impl GoalActionKind {
    /// The action that lets a goal stopped by `refusal` go on.
    pub fn unblocking(refusal: BudgetRefusalKind) -> Self {
        match refusal {
            BudgetRefusalKind::ApprovalRequired | BudgetRefusalKind::Exceeded => GoalActionKind::ApproveBudget,
            BudgetRefusalKind::SoftCapReached => GoalActionKind::AcknowledgeSoftCap,
        }
    }

    /// The goal action a pending item's action is (approving a draft or marking a message read
    /// are not goal actions).
    pub fn from_pending(action: PendingAction) -> Option<Self> {
        match action {
            PendingAction::ApproveStep => Some(GoalActionKind::ApproveStep),
            PendingAction::ApproveBudget => Some(GoalActionKind::ApproveBudget),
            PendingAction::AcknowledgeSoftCap => Some(GoalActionKind::AcknowledgeSoftCap),
            PendingAction::Cancel => Some(GoalActionKind::Cancel),
            PendingAction::Approve | PendingAction::MarkRead => None,
        }
    }

    /// The pending item's action this is (accepting an outcome and negotiating on are not
    /// offered on a pending item).
    pub fn into_pending(self) -> Option<PendingAction> {
        match self {
            GoalActionKind::ApproveStep => Some(PendingAction::ApproveStep),
            GoalActionKind::ApproveBudget => Some(PendingAction::ApproveBudget),
            GoalActionKind::AcknowledgeSoftCap => Some(PendingAction::AcknowledgeSoftCap),
            GoalActionKind::Cancel => Some(PendingAction::Cancel),
            GoalActionKind::AcceptOutcome | GoalActionKind::ContinueNegotiating => None,
        }
    }

    /// The `/v1/coordination/goals/{id}/…` action, for the kinds that are one.
    fn coordination(self) -> Option<GoalAction> {
        match self {
            GoalActionKind::ApproveStep => Some(GoalAction::ApproveStep),
            GoalActionKind::AcceptOutcome => Some(GoalAction::AcceptOutcome),
            GoalActionKind::ContinueNegotiating => Some(GoalAction::ContinueNegotiating),
            GoalActionKind::Cancel => Some(GoalAction::Cancel),
            GoalActionKind::ApproveBudget | GoalActionKind::AcknowledgeSoftCap => None,
        }
    }
}

/// The budget refusal a goal is stopped by, when its status is one (the sim and the server name
/// the state after the refusal code).
fn budget_state(goal: &Goal) -> Option<BudgetRefusalKind> {
    BudgetRefusalKind::from_code(goal.status.as_str())
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GoalStepView {
    pub description: String,
    /// Open string: pending, in_progress, completed, awaiting_approval, ...
    pub status: String,
    pub requires_approval: bool,
    /// This is the step waiting for the user's approval.
    pub waiting_for_approval: bool,
}

/// A goal as the box shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GoalView {
    pub id: String,
    pub title: String,
    /// Open string: active, needs_input, in_progress, completed, cancelled, ...
    pub status: String,
    pub description: Option<String>,
    /// What KallyAI reached, when it asks the user to accept it (a sim/real-server extra).
    pub outcome: Option<String>,
    /// What KallyAI asks the user, when the goal waits on an answer (a sim/real-server extra;
    /// the inbox falls back to the pending item's summary).
    pub question: Option<String>,
    /// The conversation an answer continues (`conversation_id` in the goal, where given).
    pub conversation_id: Option<String>,
    pub steps: Vec<GoalStepView>,
    pub credits_used: Option<f64>,
    pub credits_estimated: Option<f64>,
    /// The actions that fit the goal's state, in the order the UI should offer them.
    pub actions: Vec<GoalActionKind>,
}

/// An active goal for the tray's submenu.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ActiveGoal {
    pub id: String,
    pub title: String,
    pub status: String,
    /// The goal waits for the user (approval or outcome); the tray marks it.
    pub needs_input: bool,
}

fn is_terminal(status: &GoalStatus) -> bool {
    matches!(status, GoalStatus::Completed | GoalStatus::Cancelled | GoalStatus::Archived | GoalStatus::Failed)
}

fn step_is_done(status: &GoalStatus) -> bool {
    matches!(status, GoalStatus::Completed | GoalStatus::InProgress | GoalStatus::Cancelled)
        || status.as_str() == "skipped"
}

/// Index of the step waiting for approval: one whose status says so, or (servers that only
/// say `needs_input` on the goal) the first unfinished step that requires approval.
fn waiting_step(goal: &Goal) -> Option<usize> {
    if is_terminal(&goal.status) {
        return None;
    }
    goal.steps.iter().position(|s| s.status.as_str().contains("approval")).or_else(|| {
        (goal.status == GoalStatus::NeedsInput)
            .then(|| goal.steps.iter().position(|s| s.requires_approval && !step_is_done(&s.status)))
            .flatten()
    })
}

/// The actions that fit `goal`'s state. A goal waiting on a question is answered (in the inbox),
/// not accepted: it offers only Cancel.
pub(crate) fn actions_for(goal: &Goal, outcome: Option<&str>, question: Option<&str>) -> Vec<GoalActionKind> {
    if is_terminal(&goal.status) {
        return Vec::new();
    }
    if let Some(refusal) = budget_state(goal) {
        return vec![GoalActionKind::unblocking(refusal), GoalActionKind::Cancel];
    }
    if waiting_step(goal).is_some() {
        return vec![GoalActionKind::ApproveStep, GoalActionKind::Cancel];
    }
    if question.is_some() && outcome.is_none() {
        return vec![GoalActionKind::Cancel];
    }
    if goal.status == GoalStatus::NeedsInput || outcome.is_some() {
        return vec![GoalActionKind::AcceptOutcome, GoalActionKind::ContinueNegotiating, GoalActionKind::Cancel];
    }
    vec![GoalActionKind::Cancel]
}

impl GoalView {
    fn from_value(v: &Value) -> Result<Self, ApiError> {
        let goal: Goal = serde_json::from_value(v.clone())
            .map_err(|e| ApiError::client(crate::error::codes::DECODE, format!("unexpected goal: {e}")))?;
        let text = |key: &str| v.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
        let mut view = Self::build(&goal, text("outcome").map(str::to_string), text("question").map(str::to_string));
        view.conversation_id = text("conversation_id").map(str::to_string);
        Ok(view)
    }

    fn build(goal: &Goal, outcome: Option<String>, question: Option<String>) -> Self {
        let waiting = waiting_step(goal);
        let steps = goal
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| GoalStepView {
                description: s.description.clone().unwrap_or_default(),
                status: s.status.to_string(),
                requires_approval: s.requires_approval,
                waiting_for_approval: waiting == Some(i),
            })
            .collect();
        Self {
            id: goal.id.clone().unwrap_or_default(),
            title: goal.title.clone().or_else(|| goal.description.clone()).unwrap_or_else(|| "Goal".to_string()),
            status: goal.status.to_string(),
            description: goal.description.clone(),
            actions: actions_for(goal, outcome.as_deref(), question.as_deref()),
            outcome,
            question,
            conversation_id: None,
            steps,
            credits_used: goal.credits_used.map(|c| c.value()),
            credits_estimated: goal.credits_estimated.map(|c| c.value()),
        }
    }
}

/// Goal requests for the box and the tray.
#[derive(Clone, Debug)]
pub struct Goals {
    client: Client,
}

impl Goals {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// `GET /v1/coordination/goals/{id}` as a view (read raw so the `outcome` text is kept).
    pub async fn view(&self, goal_id: &str) -> Result<GoalView, ApiError> {
        let v: Value = self.client.json(Request::get(&["v1", "coordination", "goals", goal_id])).await?;
        GoalView::from_value(&v)
    }

    /// Runs `action` and returns the goal as it is now (refetched: the action's own answer is
    /// undocumented, reference §3.1).
    pub async fn act(&self, goal_id: &str, action: GoalActionKind) -> Result<GoalView, ApiError> {
        self.run(goal_id, action).await?;
        self.view(goal_id).await
    }

    /// Runs `action` only (a notification's button has no goal to redraw).
    pub async fn run(&self, goal_id: &str, action: GoalActionKind) -> Result<(), ApiError> {
        match action.coordination() {
            Some(coordination) => self.client.coordination().goal_action(goal_id, coordination).await.map(drop),
            None if action == GoalActionKind::ApproveBudget => self.client.budget().approve(goal_id).await,
            None => self.client.budget().acknowledge_soft_cap(goal_id).await,
        }
    }

    /// Up to 20 active goals, most recent first, for the tray.
    pub async fn active(&self) -> Result<Vec<ActiveGoal>, ApiError> {
        let query = GoalQuery { status: Some("active".into()), limit: Some(20), offset: None };
        let list = self.client.coordination().goals(&query).await?;
        Ok(list
            .goals
            .into_iter()
            .filter(|g| !is_terminal(&g.status))
            .filter_map(|g| {
                let id = g.id.clone()?;
                let needs_input =
                    g.status == GoalStatus::NeedsInput || waiting_step(&g).is_some() || budget_state(&g).is_some();
                let title = g.title.or(g.description).unwrap_or_else(|| "Goal".to_string());
                Some(ActiveGoal { id, title, status: g.status.to_string(), needs_input })
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn goal_actions_of_pending_items_keep_their_names() {
        for action in [
            PendingAction::ApproveStep,
            PendingAction::ApproveBudget,
            PendingAction::AcknowledgeSoftCap,
            PendingAction::Cancel,
        ] {
            let goal_action = GoalActionKind::from_pending(action).unwrap();
            assert_eq!(serde_json::to_value(goal_action).unwrap(), action.name());
            assert_eq!(goal_action.into_pending(), Some(action));
        }
        assert_eq!(GoalActionKind::from_pending(PendingAction::Approve), None);
        assert_eq!(GoalActionKind::from_pending(PendingAction::MarkRead), None);
    }

    fn view(v: Value) -> GoalView {
        GoalView::from_value(&v).unwrap()
    }

    #[test]
    fn a_step_awaiting_approval_offers_approve_and_cancel() {
        let g = view(json!({"id": "g", "title": "Book", "status": "needs_input", "steps": [
            {"step": 1, "description": "Search", "status": "completed"},
            {"step": 2, "description": "Phone", "status": "awaiting_approval", "requires_approval": true}]}));
        assert_eq!(g.actions, vec![GoalActionKind::ApproveStep, GoalActionKind::Cancel]);
        assert!(g.steps[1].waiting_for_approval && !g.steps[0].waiting_for_approval);
        // A server that only marks the goal: the first unfinished approval step waits.
        let g = view(json!({"id": "g", "status": "needs_input", "steps": [
            {"description": "Phone", "status": "pending", "requires_approval": true}]}));
        assert_eq!(g.actions[0], GoalActionKind::ApproveStep);
        assert_eq!(g.title, "Goal");
    }

    #[test]
    fn an_outcome_offers_accept_continue_cancel() {
        let g = view(json!({"id": "g", "title": "Book", "status": "needs_input", "outcome": "Booked",
                            "steps": [{"status": "completed"}]}));
        assert_eq!(
            g.actions,
            vec![GoalActionKind::AcceptOutcome, GoalActionKind::ContinueNegotiating, GoalActionKind::Cancel]
        );
        assert_eq!(g.outcome.as_deref(), Some("Booked"));
    }

    #[test]
    fn a_question_is_answered_not_accepted() {
        let g = view(json!({"id": "g", "status": "needs_input", "question": "Thursday or Friday?",
                            "conversation_id": "c1", "steps": [{"status": "completed"}]}));
        assert_eq!(g.actions, vec![GoalActionKind::Cancel]);
        assert_eq!((g.question.as_deref(), g.conversation_id.as_deref()), (Some("Thursday or Friday?"), Some("c1")));
    }

    #[test]
    fn a_goal_stopped_by_its_budget_offers_the_action_that_unblocks_it() {
        for (status, first) in [
            ("budget_approval_required", GoalActionKind::ApproveBudget),
            ("budget_exceeded", GoalActionKind::ApproveBudget),
            ("soft_cap_reached", GoalActionKind::AcknowledgeSoftCap),
        ] {
            let g = view(json!({"id": "g", "status": status, "steps": [
                {"description": "Phone", "status": "pending", "requires_approval": true}]}));
            assert_eq!(g.actions, vec![first, GoalActionKind::Cancel], "{status}");
            assert_eq!(first.coordination(), None);
        }
        assert_eq!(serde_json::to_value(GoalActionKind::AcknowledgeSoftCap).unwrap(), json!("acknowledge_soft_cap"));
    }

    #[test]
    fn running_goals_can_be_cancelled_and_finished_ones_offer_nothing() {
        assert_eq!(view(json!({"id": "g", "status": "active"})).actions, vec![GoalActionKind::Cancel]);
        for s in ["completed", "cancelled", "archived", "failed"] {
            assert!(view(json!({"id": "g", "status": s})).actions.is_empty(), "{s}");
        }
        assert_eq!(serde_json::to_value(GoalActionKind::ApproveStep).unwrap(), json!("approve_step"));
    }
}
