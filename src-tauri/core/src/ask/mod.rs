//! Quick ask, the Tauri-free half (issue 7): a persistent outbox that never loses what the user
//! typed, the conversation it continues, the goal a reply touches, and a cost preview.
//!
//! The shell opens one [`Outbox`] at start (file in the app data dir), calls `ask`, and shows the
//! `Ask*` events it publishes on the [`EventBus`](crate::EventBus). Goals and the cost preview are
//! plain request helpers ([`Goals`], [`CostPreview`]).

mod conversation;
mod cost;
mod goals;
mod outbox;
mod reply;
mod sender;
mod store;

pub use conversation::DEFAULT_IDLE_TIMEOUT;
pub use cost::{exceeds_balance, task_kind, CostPreview};
pub use goals::{ActiveGoal, GoalActionKind, GoalStepView, GoalView, Goals};
pub use outbox::{Outbox, OutboxError, OutboxSettings};
pub use reply::AskReply;
pub use store::{AskState, ConversationInfo, OutboxEntry};
