//! Pending work on the desktop: every new approval, goal that needs the user and unread message
//! is notified once (core's watcher says which are new: `PendingItem { is_new: true }`), with
//! the actions the app can carry out from the notification itself; the outcome replaces the
//! notification, and the notification goes when the item leaves the pending list or its goal is
//! decided elsewhere in the app (`GoalDecided`).

use std::collections::HashSet;
use std::sync::Mutex;

use kallyai_core::ask::{GoalActionKind, Goals};
use kallyai_core::settings::Lang;
use kallyai_core::Event;
use tauri::{AppHandle, Manager};

use crate::background::{follow, Heard};
use crate::core_handle::core;
use crate::view::i18n::{self, text};
use crate::view::notify::{notifier, Notice, Response};

fn key(id: &str) -> String {
    format!("pending:{id}")
}

/// Goals decided from their own notification: that notification shows the outcome, and the
/// `GoalDecided` that follows must not take it away.
#[derive(Default)]
struct DecidedHere(Mutex<HashSet<String>>);

/// What the user can do from a pending item's notification. Only goal actions: approving or
/// cancelling an email draft and marking a message read have no request in core yet, so those
/// items are notified without buttons. A goal stopped by its budget offers approve_budget or
/// acknowledge_soft_cap instead of approve_step (core's watcher decides from its status).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ItemAction {
    ApproveStep,
    ApproveBudget,
    AcknowledgeSoftCap,
    CancelGoal,
}

const OFFERED: [ItemAction; 4] =
    [ItemAction::ApproveStep, ItemAction::ApproveBudget, ItemAction::AcknowledgeSoftCap, ItemAction::CancelGoal];

impl ItemAction {
    /// From the watcher's `kind` and the API's action name.
    fn from_api(kind: &str, action: &str) -> Option<ItemAction> {
        (kind == "goal").then(|| ItemAction::from_id(action)).flatten()
    }

    /// The action's name from the watcher and in the notification (the box's goal-action name).
    fn id(self) -> &'static str {
        match self {
            ItemAction::ApproveStep => "approve_step",
            ItemAction::ApproveBudget => "approve_budget",
            ItemAction::AcknowledgeSoftCap => "acknowledge_soft_cap",
            ItemAction::CancelGoal => "cancel",
        }
    }

    fn from_id(id: &str) -> Option<ItemAction> {
        OFFERED.into_iter().find(|a| a.id() == id)
    }

    fn goal_action(self) -> GoalActionKind {
        match self {
            ItemAction::ApproveStep => GoalActionKind::ApproveStep,
            ItemAction::ApproveBudget => GoalActionKind::ApproveBudget,
            ItemAction::AcknowledgeSoftCap => GoalActionKind::AcknowledgeSoftCap,
            ItemAction::CancelGoal => GoalActionKind::Cancel,
        }
    }

    fn label(self, lang: Lang) -> String {
        match self {
            ItemAction::ApproveStep => text(lang, "pending.action.approve_step"),
            ItemAction::CancelGoal => text(lang, "ask.goal.cancel"),
            ItemAction::ApproveBudget | ItemAction::AcknowledgeSoftCap => {
                text(lang, &format!("goal.action.{}", self.id()))
            }
        }
    }
}

/// The notification's title: what waits, or, for a goal stopped by its budget, why.
fn title(lang: Lang, kind: &str, offered: &[ItemAction]) -> String {
    let budget = offered.iter().find(|a| matches!(a, ItemAction::ApproveBudget | ItemAction::AcknowledgeSoftCap));
    match budget {
        Some(action) => text(lang, &format!("pending.title.{}", action.id())),
        None if matches!(kind, "approval" | "goal" | "message") => text(lang, &format!("pending.title.{kind}")),
        None => "KallyAI".to_string(),
    }
}

/// Starts following core's pending-work events.
pub fn start(app: &AppHandle) {
    app.manage(DecidedHere::default());
    follow(app, "pending", |app, heard| {
        if let Heard::Event(event) = heard {
            on_event(app, event);
        }
    });
}

/// Reacts to core's pending-work events (the watcher already dropped duplicates).
fn on_event(app: &AppHandle, event: &Event) {
    match event {
        Event::PendingItem { id, kind, title, summary, actions, is_new: true } => {
            notify(app, id, kind, title.as_deref(), summary.as_deref(), actions)
        }
        Event::PendingItemResolved { id } => notifier(app).withdraw(&key(id)),
        // Decided in the box: the notification goes. (The goal may stay pending for a later step
        // under the same id, so the watcher would not resolve it.)
        Event::GoalDecided { goal_id } if !decided_here(app, goal_id) => notifier(app).withdraw(&key(goal_id)),
        _ => {}
    }
}

/// Whether `goal_id` was decided from its own notification (forgotten once asked).
fn decided_here(app: &AppHandle, goal_id: &str) -> bool {
    app.state::<DecidedHere>().0.lock().expect("decided lock").remove(goal_id)
}

fn notify(app: &AppHandle, id: &str, kind: &str, item_title: Option<&str>, summary: Option<&str>, actions: &[String]) {
    let lang = i18n::lang(app);
    let offered: Vec<ItemAction> = actions.iter().filter_map(|a| ItemAction::from_api(kind, a)).collect();
    let body = [item_title, summary].into_iter().flatten().collect::<Vec<_>>().join("\n");
    let notice = Notice {
        key: key(id),
        title: title(lang, kind, &offered),
        body,
        actions: offered.iter().map(|a| (a.id().to_string(), a.label(lang))).collect(),
        clickable: false,
        sticky: false,
    };
    let app = app.clone();
    let id = id.to_string();
    notifier(&app).show(
        notice,
        Box::new(move |response| {
            let Response::Action(action) = response else { return };
            let Some(action) = ItemAction::from_id(&action) else { return };
            tauri::async_runtime::spawn(async move { act(&app, &id, action).await });
        }),
    );
}

/// Carries out `action` at once (no window needed), then says how it went in the
/// notification's place.
async fn act(app: &AppHandle, id: &str, action: ItemAction) {
    let lang = i18n::lang(app);
    let core = core(app);
    let result = Goals::new(core.client.clone()).run(id, action.goal_action()).await;
    let body = match &result {
        Ok(()) => {
            tracing::info!(action = action.id(), "pending item handled");
            text(lang, &format!("goal.done.{}", action.id()))
        }
        Err(error) => {
            tracing::warn!(action = action.id(), code = error.code(), "pending item action failed");
            format!("{} {error}", text(lang, "pending.failed"))
        }
    };
    let notice =
        Notice { key: key(id), title: "KallyAI".into(), body, actions: vec![], clickable: false, sticky: false };
    notifier(app).show(notice, Box::new(|_| {}));
    if result.is_ok() {
        // After the outcome is on screen: an ask this goal's budget refused is settled by the
        // decision, as in the box, and the balance is read again.
        app.state::<DecidedHere>().0.lock().expect("decided lock").insert(id.to_string());
        core.events.publish(Event::GoalDecided { goal_id: id.to_string() });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_actions_the_app_can_carry_out_are_offered() {
        assert_eq!(ItemAction::from_api("goal", "approve_step"), Some(ItemAction::ApproveStep));
        assert_eq!(ItemAction::from_api("goal", "cancel"), Some(ItemAction::CancelGoal));
        assert_eq!(ItemAction::from_api("goal", "approve_budget"), Some(ItemAction::ApproveBudget));
        assert_eq!(ItemAction::from_api("goal", "acknowledge_soft_cap"), Some(ItemAction::AcknowledgeSoftCap));
        assert_eq!(ItemAction::from_api("approval", "approve"), None);
        assert_eq!(ItemAction::from_api("message", "mark_read"), None);
        assert_eq!(ItemAction::from_id("takeover"), None);
        // The names are what core's watcher and the box call these goal actions.
        for action in OFFERED {
            assert_eq!(serde_json::to_value(action.goal_action()).unwrap(), action.id());
        }
    }

    #[test]
    fn a_budget_stop_is_named_in_the_title_and_its_button() {
        let offered = [ItemAction::ApproveBudget, ItemAction::CancelGoal];
        assert_eq!(title(Lang::En, "goal", &offered), "A goal needs your budget approval");
        assert_eq!(offered[0].label(Lang::En), "Approve budget");
        assert_eq!(ItemAction::AcknowledgeSoftCap.label(Lang::Es), "Continuar");
        assert_eq!(title(Lang::Es, "goal", &[ItemAction::CancelGoal]), "Un objetivo te necesita");
        assert_eq!(offered[1].label(Lang::En), "Cancel goal");
    }
}
