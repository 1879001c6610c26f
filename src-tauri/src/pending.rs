//! Pending work on the desktop: every new approval, goal that needs the user and unread message
//! is notified once (core's watcher says which are new: `PendingItem { is_new: true }`), with
//! the actions the app can carry out from the notification itself; the outcome replaces the
//! notification, and the notification goes when the item leaves the pending list.
//!
//! Hooked into `Shell::apply` next to `calls::on_event`.

use kallyai_core::Event;
use tauri::AppHandle;

use crate::i18n::Lang;
use crate::notify::{Notice, Response};
use crate::shell::shell;

fn key(id: &str) -> String {
    format!("pending:{id}")
}

/// What the user can do from a pending item's notification. Only what core has a request for:
/// approving or cancelling an email draft and marking a message read have none yet, so those
/// items are notified without buttons.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ItemAction {
    ApproveStep,
    CancelGoal,
}

impl ItemAction {
    /// From the watcher's `kind` and the API's action name.
    fn from_api(kind: &str, action: &str) -> Option<ItemAction> {
        match (kind, action) {
            ("goal", "approve_step") => Some(ItemAction::ApproveStep),
            ("goal", "cancel") => Some(ItemAction::CancelGoal),
            _ => None,
        }
    }

    fn id(self) -> &'static str {
        match self {
            ItemAction::ApproveStep => "approve_step",
            ItemAction::CancelGoal => "cancel",
        }
    }

    fn from_id(id: &str) -> Option<ItemAction> {
        [ItemAction::ApproveStep, ItemAction::CancelGoal].into_iter().find(|a| a.id() == id)
    }
}

/// The few sentences of this module (kept here while the shared string tables are being edited).
fn says(lang: Lang, what: &str) -> &'static str {
    match (lang, what) {
        (Lang::Es, "approval") => "Espera tu aprobación",
        (Lang::Es, "goal") => "Un objetivo te necesita",
        (Lang::Es, "message") => "Mensaje nuevo",
        (Lang::Es, "approve_step") => "Aprobar",
        (Lang::Es, "cancel") => "Cancelar objetivo",
        (Lang::Es, "approved") => "Paso aprobado: KallyAI sigue con el objetivo.",
        (Lang::Es, "cancelled") => "Objetivo cancelado.",
        (Lang::Es, "failed") => "No se pudo hacer:",
        (_, "approval") => "Waiting for your approval",
        (_, "goal") => "A goal needs you",
        (_, "message") => "New message",
        (_, "approve_step") => "Approve",
        (_, "cancel") => "Cancel goal",
        (_, "approved") => "Step approved: KallyAI carries on with the goal.",
        (_, "cancelled") => "Goal cancelled.",
        (_, "failed") => "That did not work:",
        _ => "KallyAI",
    }
}

/// Reacts to core's pending-work events (the watcher already dropped duplicates).
pub fn on_event(app: &AppHandle, event: &Event) {
    match event {
        Event::PendingItem { id, kind, title, summary, actions, is_new: true } => {
            notify(app, id, kind, title.as_deref(), summary.as_deref(), actions)
        }
        Event::PendingItemResolved { id } => shell(app).notifier.withdraw(&key(id)),
        _ => {}
    }
}

fn notify(app: &AppHandle, id: &str, kind: &str, title: Option<&str>, summary: Option<&str>, actions: &[String]) {
    let shell = shell(app);
    let lang = shell.lang();
    let offered: Vec<ItemAction> = actions.iter().filter_map(|a| ItemAction::from_api(kind, a)).collect();
    let body = [title, summary].into_iter().flatten().collect::<Vec<_>>().join("\n");
    let notice = Notice {
        key: key(id),
        title: says(lang, kind).to_string(),
        body,
        actions: offered.iter().map(|a| (a.id().to_string(), says(lang, a.id()).to_string())).collect(),
        clickable: false,
        sticky: false,
    };
    let app = app.clone();
    let id = id.to_string();
    shell.notifier.show(
        notice,
        Box::new(move |response| {
            let Response::Action(action) = response else { return };
            let Some(action) = ItemAction::from_id(&action) else { return };
            tauri::async_runtime::spawn(async move { act(&app, &id, action).await });
        }),
    );
}

/// Carries out `action` at once, then says how it went in the notification's place.
async fn act(app: &AppHandle, id: &str, action: ItemAction) {
    let shell = shell(app);
    let lang = shell.lang();
    let goals = shell.client.coordination();
    let result = match action {
        ItemAction::ApproveStep => goals.approve_step(id).await.map(|_| "approved"),
        ItemAction::CancelGoal => goals.cancel_goal(id).await.map(|_| "cancelled"),
    };
    let body = match result {
        Ok(done) => {
            tracing::info!(action = action.id(), "pending item handled");
            says(lang, done).to_string()
        }
        Err(error) => {
            tracing::warn!(action = action.id(), code = error.code(), "pending item action failed");
            format!("{} {error}", says(lang, "failed"))
        }
    };
    let notice =
        Notice { key: key(id), title: "KallyAI".into(), body, actions: vec![], clickable: false, sticky: false };
    shell.notifier.show(notice, Box::new(|_| {}));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_actions_the_app_can_carry_out_are_offered() {
        assert_eq!(ItemAction::from_api("goal", "approve_step"), Some(ItemAction::ApproveStep));
        assert_eq!(ItemAction::from_api("goal", "cancel"), Some(ItemAction::CancelGoal));
        assert_eq!(ItemAction::from_api("approval", "approve"), None);
        assert_eq!(ItemAction::from_api("message", "mark_read"), None);
        assert_eq!(ItemAction::from_id("approve_step"), Some(ItemAction::ApproveStep));
        assert_eq!(ItemAction::from_id("takeover"), None);
    }
}
