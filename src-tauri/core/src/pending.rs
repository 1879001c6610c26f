//! What waits for the user, as core's events carry it: the kind of item and the actions the API
//! lets the user take on it (`Event::PendingItem`). Typed, so no part of the app compares
//! strings to know what an item is or what a button does; serialized as the API names them.

use serde::{Deserialize, Serialize};

use crate::api::budget::BudgetRefusalKind;

/// What kind of thing waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PendingKind {
    /// An action KallyAI prepared (e.g. an email draft) that needs approval.
    Approval,
    /// A goal whose next step, or budget, needs the user.
    Goal,
    /// An unread message.
    Message,
}

/// What the API lets the user do to a pending item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PendingAction {
    /// Approve a prepared action.
    Approve,
    /// Cancel the action or the goal.
    Cancel,
    /// Approve the step a goal waits on.
    ApproveStep,
    /// Approve the budget of a goal waiting for it or over it.
    ApproveBudget,
    /// Let a goal at its soft cap continue.
    AcknowledgeSoftCap,
    /// Mark a message read.
    MarkRead,
}

impl PendingKind {
    /// The kind's name, as the API and the app's strings call it.
    pub fn name(self) -> &'static str {
        match self {
            PendingKind::Approval => "approval",
            PendingKind::Goal => "goal",
            PendingKind::Message => "message",
        }
    }

    /// What the API offers for an item of this kind in its ordinary state.
    pub fn actions(self) -> &'static [PendingAction] {
        match self {
            PendingKind::Approval => &[PendingAction::Approve, PendingAction::Cancel],
            PendingKind::Goal => &[PendingAction::ApproveStep, PendingAction::Cancel],
            PendingKind::Message => &[PendingAction::MarkRead],
        }
    }
}

impl PendingAction {
    /// An item stopped by its budget waits for the action that unblocks it (or to be cancelled),
    /// not for a step approval.
    pub fn unblocking(refusal: BudgetRefusalKind) -> [PendingAction; 2] {
        let unblock = match refusal {
            BudgetRefusalKind::ApprovalRequired | BudgetRefusalKind::Exceeded => PendingAction::ApproveBudget,
            BudgetRefusalKind::SoftCapReached => PendingAction::AcknowledgeSoftCap,
        };
        [unblock, PendingAction::Cancel]
    }

    /// The action's name, as the API and the notification's button call it.
    pub fn name(self) -> &'static str {
        match self {
            PendingAction::Approve => "approve",
            PendingAction::Cancel => "cancel",
            PendingAction::ApproveStep => "approve_step",
            PendingAction::ApproveBudget => "approve_budget",
            PendingAction::AcknowledgeSoftCap => "acknowledge_soft_cap",
            PendingAction::MarkRead => "mark_read",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_apis() {
        for action in [
            PendingAction::Approve,
            PendingAction::Cancel,
            PendingAction::ApproveStep,
            PendingAction::ApproveBudget,
            PendingAction::AcknowledgeSoftCap,
            PendingAction::MarkRead,
        ] {
            assert_eq!(serde_json::to_value(action).unwrap(), action.name());
        }
        for kind in [PendingKind::Approval, PendingKind::Goal, PendingKind::Message] {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.name());
        }
    }

    #[test]
    fn a_budget_stop_offers_what_unblocks_it() {
        assert_eq!(
            PendingAction::unblocking(BudgetRefusalKind::ApprovalRequired),
            [PendingAction::ApproveBudget, PendingAction::Cancel]
        );
        assert_eq!(PendingAction::unblocking(BudgetRefusalKind::Exceeded)[0], PendingAction::ApproveBudget);
        assert_eq!(PendingAction::unblocking(BudgetRefusalKind::SoftCapReached)[0], PendingAction::AcknowledgeSoftCap);
    }
}
