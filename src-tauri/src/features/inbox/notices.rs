//! Pending work on the desktop: every new approval, goal that needs the user and unread message
//! is notified once (core's watcher says which are new: `PendingItem { is_new: true }`), with
//! the actions the app can carry out from the notification itself; the outcome replaces the
//! notification, and the notification goes when the item leaves the pending list or its goal is
//! decided elsewhere in the app (`GoalDecided`). The notification settings say which kinds are
//! notified at all (`Settings::notifies`).

use std::collections::HashSet;
use std::sync::Mutex;

use kallyai_core::ask::{GoalActionKind, Goals};
use kallyai_core::pending::{PendingAction, PendingKind};
use kallyai_core::settings::{CurrentSettings, Lang};
use kallyai_core::Event;
use tauri::{AppHandle, Manager};

use crate::background::{follow, Heard};
use crate::core_handle::core;
use crate::view::i18n::{self, t, text};
use crate::view::notify::{notifier, Notice, Response};

fn key(id: &str) -> String {
    format!("pending:{id}")
}

/// Goals decided from their own notification: that notification shows the outcome, and the
/// `GoalDecided` that follows must not take it away.
#[derive(Default)]
struct DecidedHere(Mutex<HashSet<String>>);

/// What the app can carry out from a pending item's notification: only goal actions. Approving
/// or cancelling an email draft and marking a message read have no request in core yet, so
/// those items are notified without buttons. A goal stopped by its budget offers approve_budget
/// or acknowledge_soft_cap instead of approve_step (core's watcher decides from its status).
fn offered(kind: PendingKind, actions: &[PendingAction]) -> Vec<PendingAction> {
    let goal_actions = actions.iter().filter(|a| GoalActionKind::from_pending(**a).is_some());
    if kind == PendingKind::Goal {
        goal_actions.copied().collect()
    } else {
        Vec::new()
    }
}

fn label(lang: Lang, action: PendingAction) -> String {
    match action {
        PendingAction::ApproveStep => text(lang, "pending.action.approve_step"),
        PendingAction::Cancel => text(lang, "ask.goal.cancel"),
        _ => text(lang, &format!("goal.action.{}", action.name())),
    }
}

/// The notification's title: what waits, or, for a goal stopped by its budget, why.
fn title(lang: Lang, kind: PendingKind, offered: &[PendingAction]) -> String {
    let budget = offered.iter().find(|a| matches!(a, PendingAction::ApproveBudget | PendingAction::AcknowledgeSoftCap));
    match budget {
        Some(action) => text(lang, &format!("pending.title.{}", action.name())),
        None => text(lang, &format!("pending.title.{}", kind.name())),
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
            if app.state::<CurrentSettings>().get().notifies(*kind) {
                notify(app, id, *kind, title.as_deref(), summary.as_deref(), actions)
            } else {
                tracing::debug!(kind = kind.name(), "pending item not notified: the settings say so");
            }
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

fn notify(
    app: &AppHandle,
    id: &str,
    kind: PendingKind,
    item_title: Option<&str>,
    summary: Option<&str>,
    actions: &[PendingAction],
) {
    let lang = i18n::lang(app);
    let offered = offered(kind, actions);
    let body = [item_title, summary].into_iter().flatten().collect::<Vec<_>>().join("\n");
    let notice = Notice {
        key: key(id),
        title: title(lang, kind, &offered),
        body,
        actions: offered.iter().map(|a| (a.name().to_string(), label(lang, *a))).collect(),
        clickable: false,
        sticky: false,
    };
    let app = app.clone();
    let id = id.to_string();
    notifier(&app).show(
        notice,
        Box::new(move |response| {
            let Response::Action(name) = response else { return };
            let Some(action) = offered.into_iter().find(|a| a.name() == name) else { return };
            tauri::async_runtime::spawn(async move { act(&app, &id, action).await });
        }),
    );
}

/// Carries out `action` at once (no window needed), then says how it went in the
/// notification's place.
async fn act(app: &AppHandle, id: &str, action: PendingAction) {
    let Some(goal_action) = GoalActionKind::from_pending(action) else { return };
    let lang = i18n::lang(app);
    let core = core(app);
    let result = Goals::new(core.client.clone()).run(id, goal_action).await;
    let name = action.name();
    let body = match &result {
        Ok(()) => {
            tracing::info!(action = name, "pending item handled");
            text(lang, &format!("goal.done.{name}"))
        }
        Err(error) => {
            tracing::warn!(action = name, code = error.code(), "pending item action failed");
            t(lang, "pending.failed", &[("error", &error.to_string())])
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
    use PendingAction::*;

    #[test]
    fn only_goal_actions_are_offered() {
        assert_eq!(offered(PendingKind::Goal, &[ApproveStep, Cancel]), vec![ApproveStep, Cancel]);
        assert_eq!(offered(PendingKind::Goal, &[ApproveBudget, Cancel]), vec![ApproveBudget, Cancel]);
        assert_eq!(offered(PendingKind::Approval, &[Approve, Cancel]), vec![]);
        assert_eq!(offered(PendingKind::Message, &[MarkRead]), vec![]);
    }

    #[test]
    fn a_budget_stop_is_named_in_the_title_and_its_button() {
        let offered = [ApproveBudget, Cancel];
        assert_eq!(title(Lang::En, PendingKind::Goal, &offered), "A goal needs your budget approval");
        assert_eq!(label(Lang::En, ApproveBudget), "Approve budget");
        assert_eq!(label(Lang::Es, AcknowledgeSoftCap), "Continuar");
        assert_eq!(title(Lang::Es, PendingKind::Goal, &[Cancel]), "Un objetivo te necesita");
        assert_eq!(label(Lang::En, Cancel), "Cancel goal");
        assert_eq!(title(Lang::En, PendingKind::Message, &[]), text(Lang::En, "pending.title.message"));
    }
}
