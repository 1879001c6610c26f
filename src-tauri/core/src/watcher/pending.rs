//! Reading `GET /v1/notifications/pending` into the items the watcher announces. Read from the
//! raw JSON (not `PendingNotifications`) because a notification wants fields the typed answer
//! does not keep: a goal's `title`, a message's `subject` and `from`.

use serde_json::Value;

use crate::api::budget::BudgetRefusalKind;
use crate::pending::{PendingAction, PendingKind};

/// One thing waiting for the user.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct PendingEntry {
    pub id: String,
    pub kind: PendingKind,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub actions: Vec<PendingAction>,
}

/// Group key in the answer, and the kind of its items.
const GROUPS: [(&str, PendingKind); 3] =
    [("actions", PendingKind::Approval), ("goals", PendingKind::Goal), ("inbox", PendingKind::Message)];

/// Every item of the three attention groups (live calls, the sim's `inbound` group, are the
/// call side's business) and `total_pending`.
pub(crate) fn read_pending(v: &Value) -> (Vec<PendingEntry>, Option<u64>) {
    let text = |v: &Value, k: &str| {
        v.get(k).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
    };
    let id_of = |v: &Value| match v.get("id") {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let mut entries = Vec::new();
    for (group, kind) in GROUPS {
        let items = v.get(group).and_then(|g| g.get("items")).and_then(Value::as_array);
        for item in items.into_iter().flatten() {
            let Some(id) = id_of(item) else { continue };
            let title = text(item, "title").or_else(|| text(item, "subject")).or_else(|| text(item, "from"));
            entries.push(PendingEntry {
                id,
                kind,
                title,
                summary: text(item, "summary").or_else(|| text(item, "preview")),
                actions: match text(item, "status").as_deref().and_then(BudgetRefusalKind::from_code) {
                    Some(refusal) => PendingAction::unblocking(refusal).to_vec(),
                    None => kind.actions().to_vec(),
                },
            });
        }
    }
    let total =
        v.get("total_pending").and_then(|t| t.as_u64().or_else(|| t.as_str().and_then(|s| s.trim().parse().ok())));
    (entries, total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use PendingAction::*;

    #[test]
    fn reads_every_group_and_skips_items_without_id() {
        let v = json!({
            "actions": {"count": 1, "items": [{"id": "a", "type": "email_approval", "summary": "Draft to Bob"}]},
            "goals": {"count": 1, "items": [{"id": "g", "title": "Book dinner", "summary": "Approve the next step"}]},
            "inbox": {"count": 2, "items": [{"id": 7, "subject": "Re: Friday", "preview": "Confirmed"}, {"summary": "no id"}]},
            "inbound": {"count": 1, "items": [{"id": "call"}]},
            "total_pending": "3"
        });
        let (items, total) = read_pending(&v);
        assert_eq!(total, Some(3));
        let ids: Vec<_> = items.iter().map(|i| (i.id.as_str(), i.kind)).collect();
        assert_eq!(ids, vec![("a", PendingKind::Approval), ("g", PendingKind::Goal), ("7", PendingKind::Message)]);
        assert_eq!(items[1].title.as_deref(), Some("Book dinner"));
        assert_eq!(items[2].title.as_deref(), Some("Re: Friday"));
        assert_eq!(items[2].summary.as_deref(), Some("Confirmed"));
        assert_eq!(items[0].actions, vec![Approve, Cancel]);
        assert_eq!(items[1].actions, vec![ApproveStep, Cancel]);
        assert_eq!(items[2].actions, vec![MarkRead]);
    }

    #[test]
    fn a_goal_in_a_budget_state_offers_what_unblocks_it() {
        let v = json!({"goals": {"items": [
            {"id": "a", "status": "budget_approval_required", "title": "Lisbon", "credits_estimated": 12},
            {"id": "b", "status": "budget_exceeded"},
            {"id": "c", "status": "soft_cap_reached"}]}});
        let actions: Vec<_> = read_pending(&v).0.into_iter().map(|i| i.actions).collect();
        assert_eq!(
            actions,
            vec![vec![ApproveBudget, Cancel], vec![ApproveBudget, Cancel], vec![AcknowledgeSoftCap, Cancel]]
        );
    }
}
