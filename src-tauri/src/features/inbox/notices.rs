//! Pending work in notifications: every new approval, goal that needs the user and unread message
//! is notified once (core's watcher says which are new: `PendingItem { is_new: true }`) with the
//! buttons that fit its kind: **Send**/**Cancel** for a draft, **Mark read** for a message, for a
//! goal **Approve** only when a step waits for approval (or the budget action that unblocks it),
//! else **Answer**, which opens the inbox at its question. A click on the body opens the inbox at
//! the item. The outcome replaces the notification; the notification goes when the item leaves
//! the pending list or is handled elsewhere in the app. The notification settings say which kinds
//! are notified at all (`Settings::notifies`).

use std::collections::HashSet;
use std::sync::Mutex;

use kallyai_core::ask::{GoalActionKind, Goals};
use kallyai_core::pending::{PendingAction, PendingKind};
use kallyai_core::settings::{CurrentSettings, Lang};
use kallyai_core::{inbox, Event};
use tauri::{AppHandle, Manager};

use crate::background::{follow, Heard};
use crate::core_handle::core;
use crate::view::i18n::{self, t, text};
use crate::view::notify::{notifier, Notice, Response};

fn key(id: &str) -> String {
    format!("pending:{id}")
}

/// The button that opens the inbox at a goal's question (no request of its own).
const ANSWER: &str = "answer";

/// Items handled from their own notification: that notification shows the outcome, and the
/// `GoalDecided` / `PendingHandled` that follows must not take it away.
#[derive(Default)]
struct HandledHere(Mutex<HashSet<String>>);

/// What a notification offers for an item of `kind`: `actions` is what the API allows for it now
/// (for a goal, what its own view says). A goal offers only what unblocks it: a step or budget to
/// approve, or else its question to answer in the inbox.
fn offered(kind: PendingKind, actions: &[PendingAction]) -> Vec<PendingAction> {
    match kind {
        PendingKind::Approval => vec![PendingAction::Approve, PendingAction::Cancel],
        PendingKind::Message => vec![PendingAction::MarkRead],
        PendingKind::Goal => {
            let unblocking = |a: &&PendingAction| {
                matches!(
                    a,
                    PendingAction::ApproveStep | PendingAction::ApproveBudget | PendingAction::AcknowledgeSoftCap
                )
            };
            match actions.iter().find(unblocking) {
                Some(unblock) => vec![*unblock, PendingAction::Cancel],
                None => Vec::new(),
            }
        }
    }
}

fn label(lang: Lang, kind: PendingKind, action: PendingAction) -> String {
    match (kind, action) {
        (PendingKind::Approval, PendingAction::Approve) => text(lang, "inbox.draft.send"),
        (PendingKind::Approval, PendingAction::Cancel) => text(lang, "inbox.draft.cancel"),
        (_, PendingAction::MarkRead) => text(lang, "inbox.message.mark_read"),
        (_, PendingAction::ApproveStep) => text(lang, "pending.action.approve_step"),
        (_, PendingAction::Cancel) => text(lang, "ask.goal.cancel"),
        _ => text(lang, &format!("goal.action.{}", action.name())),
    }
}

/// What the notification says once the action is done.
fn done(lang: Lang, kind: PendingKind, action: PendingAction) -> String {
    match kind {
        PendingKind::Goal => text(lang, &format!("goal.done.{}", action.name())),
        _ => text(lang, &format!("inbox.done.{}.{}", kind.name(), action.name())),
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
    app.manage(HandledHere::default());
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
            if !app.state::<CurrentSettings>().get().notifies(*kind) {
                return tracing::debug!(kind = kind.name(), "pending item not notified: the settings say so");
            }
            let item = Item {
                id: id.clone(),
                kind: *kind,
                body: [title.as_deref(), summary.as_deref()].into_iter().flatten().collect::<Vec<_>>().join("\n"),
                actions: actions.clone(),
            };
            let app = app.clone();
            tauri::async_runtime::spawn(async move { notify(&app, item).await });
        }
        Event::PendingItemResolved { id } => notifier(app).withdraw(&key(id)),
        // Handled in a window: the notification goes. (A goal may stay pending for a later step
        // under the same id, so the watcher would not resolve it.)
        Event::GoalDecided { goal_id: id } | Event::PendingHandled { id } if !handled_here(app, id) => {
            notifier(app).withdraw(&key(id))
        }
        _ => {}
    }
}

/// Whether `id` was handled from its own notification (forgotten once asked).
fn handled_here(app: &AppHandle, id: &str) -> bool {
    app.state::<HandledHere>().0.lock().expect("handled lock").remove(id)
}

struct Item {
    id: String,
    kind: PendingKind,
    body: String,
    actions: Vec<PendingAction>,
}

/// What the API allows for a goal now: its own view says whether a step waits for approval (the
/// pending list cannot). When the goal cannot be read, no step approval is offered on a guess: a
/// budget action the pending item's status names, else only Answer.
async fn goal_actions(app: &AppHandle, item: &Item) -> Vec<PendingAction> {
    match Goals::new(core(app).client.clone()).view(&item.id).await {
        Ok(view) => view.actions.into_iter().filter_map(GoalActionKind::into_pending).collect(),
        Err(error) => {
            tracing::debug!(code = error.code(), "goal not read for its notification; it offers Answer only");
            item.actions.iter().copied().filter(|a| *a != PendingAction::ApproveStep).collect()
        }
    }
}

async fn notify(app: &AppHandle, item: Item) {
    let lang = i18n::lang(app);
    let allowed = match item.kind {
        PendingKind::Goal => goal_actions(app, &item).await,
        _ => item.actions.clone(),
    };
    let offered = offered(item.kind, &allowed);
    let mut buttons: Vec<(String, String)> =
        offered.iter().map(|a| (a.name().to_string(), label(lang, item.kind, *a))).collect();
    if item.kind == PendingKind::Goal && offered.is_empty() {
        buttons.push((ANSWER.to_string(), text(lang, "inbox.goal.answer")));
    }
    let notice = Notice {
        key: key(&item.id),
        title: title(lang, item.kind, &offered),
        body: item.body,
        actions: buttons,
        clickable: true,
        sticky: false,
    };
    let app = app.clone();
    let (id, kind) = (item.id, item.kind);
    notifier(&app).show(
        notice,
        Box::new(move |response| match response {
            Response::Default => super::focus::open(&app, Some(id)),
            Response::Action(name) if name == ANSWER => super::focus::open(&app, Some(id)),
            Response::Action(name) => {
                let Some(action) = offered.into_iter().find(|a| a.name() == name) else { return };
                tauri::async_runtime::spawn(async move { act(&app, &id, kind, action).await });
            }
            Response::Closed => {}
        }),
    );
}

/// Carries out `action` at once (no window needed), then says how it went in the
/// notification's place.
async fn act(app: &AppHandle, id: &str, kind: PendingKind, action: PendingAction) {
    let lang = i18n::lang(app);
    let core = core(app);
    let result = inbox::carry_out(&core.client, id, kind, action).await;
    let name = action.name();
    let body = match &result {
        Ok(()) => {
            tracing::info!(kind = kind.name(), action = name, "pending item handled from its notification");
            done(lang, kind, action)
        }
        Err(error) => {
            tracing::warn!(kind = kind.name(), action = name, code = error.code(), "pending item action failed");
            t(lang, "pending.failed", &[("error", &error.to_string())])
        }
    };
    let notice =
        Notice { key: key(id), title: "KallyAI".into(), body, actions: vec![], clickable: false, sticky: false };
    notifier(app).show(notice, Box::new(|_| {}));
    if result.is_ok() {
        // After the outcome is on screen: a goal decision settles an ask its budget refused, as
        // in the box; either way the pending list and the balance are read again.
        app.state::<HandledHere>().0.lock().expect("handled lock").insert(id.to_string());
        core.events.publish(match kind {
            PendingKind::Goal => Event::GoalDecided { goal_id: id.to_string() },
            _ => Event::PendingHandled { id: id.to_string() },
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PendingAction::*;

    #[test]
    fn each_kind_offers_the_buttons_that_fit_it() {
        assert_eq!(offered(PendingKind::Goal, &[ApproveStep, Cancel]), vec![ApproveStep, Cancel]);
        assert_eq!(offered(PendingKind::Goal, &[ApproveBudget, Cancel]), vec![ApproveBudget, Cancel]);
        // A goal that asks a question: nothing to approve, so Answer (added by `notify`).
        assert_eq!(offered(PendingKind::Goal, &[Cancel]), vec![]);
        assert_eq!(offered(PendingKind::Approval, &[Approve, Cancel]), vec![Approve, Cancel]);
        assert_eq!(offered(PendingKind::Message, &[MarkRead]), vec![MarkRead]);
    }

    #[test]
    fn buttons_and_titles_say_what_they_do() {
        let offered = [ApproveBudget, Cancel];
        assert_eq!(title(Lang::En, PendingKind::Goal, &offered), "A goal needs your budget approval");
        assert_eq!(label(Lang::En, PendingKind::Goal, ApproveBudget), "Approve budget");
        assert_eq!(label(Lang::Es, PendingKind::Goal, AcknowledgeSoftCap), "Continuar");
        assert_eq!(title(Lang::Es, PendingKind::Goal, &[Cancel]), "Un objetivo te necesita");
        assert_eq!(label(Lang::En, PendingKind::Goal, Cancel), "Cancel goal");
        assert_eq!(label(Lang::En, PendingKind::Approval, Approve), "Send");
        assert_eq!(label(Lang::En, PendingKind::Approval, Cancel), "Cancel draft");
        assert_eq!(label(Lang::Es, PendingKind::Message, MarkRead), "Marcar como leído");
        assert_eq!(title(Lang::En, PendingKind::Message, &[]), text(Lang::En, "pending.title.message"));
        for (kind, action) in
            [(PendingKind::Approval, Approve), (PendingKind::Approval, Cancel), (PendingKind::Message, MarkRead)]
        {
            for lang in [Lang::En, Lang::Es] {
                assert!(!done(lang, kind, action).starts_with("inbox."), "{kind:?} {action:?} {lang:?}");
            }
        }
    }
}
