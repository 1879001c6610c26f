//! Activity: what KallyAI did for the user, newest first, one page at a time. Calls (inbound,
//! screened by the receptionist, and outbound, placed for the user), goals (active and finished)
//! and the action log, read from their own lists and merged into one timeline. A page takes the
//! newest items across the lists it reads; the cursor remembers how far each list was read, so
//! "more" goes on where the page stopped without skipping or repeating an item.
//!
//! A list that cannot be read does not hide the others: the page says which one failed (one
//! sentence) and shows the rest; only when every list fails is the page an error.

use futures_util::future::join_all;
use serde::{Deserialize, Serialize};

use crate::api::actions::LoggedAction;
use crate::api::budget::CostBreakdown;
use crate::api::calls::{Call, TranscriptEntry};
use crate::api::coordination::{Goal, GoalQuery, GoalStatus};
use crate::api::inbound::{InboundCall, InboundQuery};
use crate::client::Client;
use crate::error::ApiError;
use crate::lenient::Credits;

/// How many items a page shows.
pub const PAGE: u32 = 10;

/// Which part of the activity a page shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    #[default]
    All,
    Calls,
    Goals,
    Actions,
}

/// The lists the activity is read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Outbound,
    Inbound,
    Goals,
    Actions,
}

impl ActivityKind {
    fn sources(self) -> &'static [Source] {
        match self {
            ActivityKind::All => &[Source::Outbound, Source::Inbound, Source::Goals, Source::Actions],
            ActivityKind::Calls => &[Source::Outbound, Source::Inbound],
            ActivityKind::Goals => &[Source::Goals],
            ActivityKind::Actions => &[Source::Actions],
        }
    }
}

/// How far each list has been read (its offset), and which lists are done (read to their end,
/// or failed: "more" does not ask a failing list again).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Cursor {
    pub outbound: u32,
    pub inbound: u32,
    pub goals: u32,
    pub actions: u32,
    pub done: Vec<Source>,
}

impl Cursor {
    fn offset(&self, source: Source) -> u32 {
        match source {
            Source::Outbound => self.outbound,
            Source::Inbound => self.inbound,
            Source::Goals => self.goals,
            Source::Actions => self.actions,
        }
    }

    fn offset_mut(&mut self, source: Source) -> &mut u32 {
        match source {
            Source::Outbound => &mut self.outbound,
            Source::Inbound => &mut self.inbound,
            Source::Goals => &mut self.goals,
            Source::Actions => &mut self.actions,
        }
    }
}

/// Which way a call went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Screened by KallyAI's receptionist.
    Inbound,
    /// Placed by KallyAI for the user.
    Outbound,
}

/// A call, either way, in one shape.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CallItem {
    pub id: String,
    pub direction: Option<Direction>,
    /// The caller (inbound) or the business called (outbound): a name, else the number.
    pub who: String,
    pub number: Option<String>,
    pub is_vip: bool,
    /// The server's status word (`success`, `no_answer`, `completed`, `missed`, ...).
    pub status: String,
    /// What KallyAI was asked to do on an outbound call.
    pub task: Option<String>,
    pub summary: Option<String>,
    pub highlights: Option<String>,
    pub next_steps: Vec<String>,
    pub at: Option<String>,
    pub duration_seconds: Option<f64>,
    pub credits_used: Option<f64>,
}

/// A goal, active or finished.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct GoalItem {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub status: String,
    pub finished: bool,
    pub credits_used: Option<Credits>,
    pub credits_estimated: Option<Credits>,
    pub at: Option<String>,
}

/// One entry of the action log.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ActionItem {
    pub id: String,
    /// calendar, booking, bill, ride, food, errand, email (open).
    pub action_type: Option<String>,
    pub description: String,
    pub status: Option<String>,
    pub undoable: bool,
    pub at: Option<String>,
}

/// One item of the timeline.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ActivityItem {
    Call(CallItem),
    Goal(GoalItem),
    Action(ActionItem),
}

impl ActivityItem {
    pub fn at(&self) -> Option<&str> {
        match self {
            ActivityItem::Call(c) => c.at.as_deref(),
            ActivityItem::Goal(g) => g.at.as_deref(),
            ActivityItem::Action(a) => a.at.as_deref(),
        }
    }
}

/// A list that could not be read, and why (one sentence).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Unread {
    pub source: Source,
    pub code: String,
    pub message: String,
}

/// One page: the items, newest first; where the next page starts (none at the end); the lists
/// that could not be read.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ActivityPage {
    pub items: Vec<ActivityItem>,
    pub next: Option<Cursor>,
    pub unread: Vec<Unread>,
}

impl From<Call> for ActivityItem {
    fn from(c: Call) -> Self {
        let summary = c.result_summary.filter(|s| Some(s) != c.highlights.as_ref());
        let next_steps = c.next_steps.map(|n| lines(&n)).unwrap_or_default();
        ActivityItem::Call(CallItem {
            who: c.business_name.clone().or_else(|| c.to.clone()).unwrap_or_default(),
            id: c.id,
            direction: Some(Direction::Outbound),
            number: c.to,
            is_vip: false,
            status: c.status.as_str().to_string(),
            task: c.task_description,
            summary,
            highlights: c.highlights,
            next_steps,
            at: c.created_at,
            duration_seconds: c.duration_seconds,
            credits_used: c.credits_used,
        })
    }
}

impl From<InboundCall> for ActivityItem {
    fn from(c: InboundCall) -> Self {
        let who = c.caller_name.clone().or_else(|| c.caller_number.clone()).unwrap_or_default();
        ActivityItem::Call(CallItem {
            id: c.id.unwrap_or_default(),
            direction: Some(Direction::Inbound),
            who,
            number: c.caller_number,
            is_vip: c.is_vip,
            status: c.status.as_str().to_string(),
            task: None,
            summary: c.summary,
            highlights: None,
            next_steps: c.action_items.into_iter().filter_map(|a| a.description).collect(),
            at: c.created_at,
            duration_seconds: c.duration_seconds,
            credits_used: None,
        })
    }
}

fn is_finished(status: &GoalStatus) -> bool {
    matches!(status, GoalStatus::Completed | GoalStatus::Cancelled | GoalStatus::Archived | GoalStatus::Failed)
}

impl From<Goal> for ActivityItem {
    fn from(g: Goal) -> Self {
        ActivityItem::Goal(GoalItem {
            id: g.id.unwrap_or_default(),
            title: g.title.or_else(|| g.description.clone()).unwrap_or_default(),
            description: g.description,
            finished: is_finished(&g.status),
            status: g.status.as_str().to_string(),
            credits_used: g.credits_used,
            credits_estimated: g.credits_estimated,
            at: g.updated_at.or(g.created_at),
        })
    }
}

impl From<LoggedAction> for ActionItem {
    fn from(a: LoggedAction) -> Self {
        ActionItem {
            id: a.id.unwrap_or_default(),
            action_type: a.kind,
            description: a.description.unwrap_or_default(),
            status: a.status,
            undoable: a.undoable,
            at: a.created_at,
        }
    }
}

fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect()
}

/// One list's part of a page: up to `PAGE` items from `offset`, and whether the list has more.
async fn read(client: &Client, source: Source, offset: u32) -> Result<(Vec<ActivityItem>, bool), ApiError> {
    let more = |got: usize, total: Option<u64>| match total {
        Some(total) => u64::from(offset) + (got as u64) < total,
        None => got as u32 >= PAGE,
    };
    Ok(match source {
        Source::Outbound => {
            let list = client.calls().list(Some(PAGE), Some(offset)).await?;
            let has_more = more(list.calls.len(), list.total);
            (list.calls.into_iter().map(ActivityItem::from).collect(), has_more)
        }
        Source::Inbound => {
            let query = InboundQuery { limit: Some(PAGE), offset: Some(offset), ..Default::default() };
            let list = client.inbound().calls(&query).await?;
            let has_more = more(list.calls.len(), list.total);
            (list.calls.into_iter().map(ActivityItem::from).collect(), has_more)
        }
        Source::Goals => {
            let query = GoalQuery { status: None, limit: Some(PAGE), offset: Some(offset) };
            let list = client.coordination().goals(&query).await?;
            let has_more = more(list.goals.len(), list.total);
            (list.goals.into_iter().map(ActivityItem::from).collect(), has_more)
        }
        Source::Actions => {
            let log = client.actions().log(None, PAGE, offset).await?;
            let has_more = more(log.len(), None);
            (log.into_iter().map(|a| ActivityItem::Action(a.into())).collect(), has_more)
        }
    })
}

/// The page of `kind` that starts at `cursor` (the first page: `Cursor::default()`).
pub async fn page(client: &Client, kind: ActivityKind, cursor: Cursor) -> Result<ActivityPage, ApiError> {
    let sources: Vec<Source> = kind.sources().iter().copied().filter(|s| !cursor.done.contains(s)).collect();
    let reads = join_all(sources.iter().map(|&s| {
        let offset = cursor.offset(s);
        async move { (s, read(client, s, offset).await) }
    }))
    .await;
    let mut next = cursor;
    let mut unread = Vec::new();
    let mut first_error = None;
    let mut candidates = Vec::new();
    let mut lists_with_more = Vec::new();
    for (source, result) in reads {
        match result {
            Ok((items, has_more)) => {
                if has_more {
                    lists_with_more.push(source);
                }
                candidates.extend(items.into_iter().map(|item| (source, item)));
            }
            Err(error) => {
                unread.push(Unread { source, code: error.code().to_string(), message: error.to_string() });
                next.done.push(source);
                first_error.get_or_insert(error);
            }
        }
    }
    if let Some(error) = first_error.filter(|_| unread.len() == sources.len() && !sources.is_empty()) {
        return Err(error);
    }
    merge(candidates, &lists_with_more, &sources, next, unread)
}

/// Takes the newest `PAGE` of `candidates` (each tagged with its list), moves each list's offset
/// on by what was taken from it, and marks done each list read to its end with nothing of it
/// left over. There is a next page while a list read for this one is not done.
fn merge(
    mut candidates: Vec<(Source, ActivityItem)>,
    lists_with_more: &[Source],
    sources: &[Source],
    mut next: Cursor,
    unread: Vec<Unread>,
) -> Result<ActivityPage, ApiError> {
    // Newest first; an item without a time goes last. A stable sort keeps each list's own order.
    candidates.sort_by(|(_, a), (_, b)| b.at().unwrap_or("").cmp(a.at().unwrap_or("")));
    let left: Vec<Source> = candidates.iter().skip(PAGE as usize).map(|(s, _)| *s).collect();
    candidates.truncate(PAGE as usize);
    for (source, _) in &candidates {
        *next.offset_mut(*source) += 1;
    }
    for source in sources {
        if !lists_with_more.contains(source) && !left.contains(source) && !next.done.contains(source) {
            next.done.push(*source);
        }
    }
    let more = sources.iter().any(|s| !next.done.contains(s));
    let items = candidates.into_iter().map(|(_, item)| item).collect();
    Ok(ActivityPage { items, next: more.then_some(next), unread })
}

/// A call's transcript, either way; a call without one has an empty transcript.
pub async fn transcript(
    client: &Client,
    direction: Direction,
    call_id: &str,
) -> Result<Vec<TranscriptEntry>, ApiError> {
    let read = match direction {
        Direction::Inbound => client.inbound().transcript(call_id).await,
        Direction::Outbound => client.calls().transcript(call_id).await,
    };
    match read {
        Ok(t) => Ok(t.entries),
        Err(e) if e.status() == Some(404) => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// What a goal has cost, charge by charge.
pub async fn cost(client: &Client, goal_id: &str) -> Result<CostBreakdown, ApiError> {
    client.budget().cost_breakdown(goal_id).await
}

/// How far back the log is read for an entry just undone.
const UNDO_READ_BACK: u32 = 100;

/// Undoes an action, then reads the log again for what the server says of it now (never
/// assumed): the entry as it stands, or `None` when the log no longer lists it. A refusal is the
/// server's error (409 `action_not_undoable`: it cannot be undone, or already was).
pub async fn undo(client: &Client, action_id: &str) -> Result<Option<ActionItem>, ApiError> {
    client.actions().undo(action_id).await?;
    let log = client.actions().log(None, UNDO_READ_BACK, 0).await?;
    Ok(log.into_iter().map(ActionItem::from).find(|a| a.id == action_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(id: &str, at: &str) -> ActivityItem {
        ActivityItem::Action(ActionItem { id: id.into(), at: Some(at.into()), ..Default::default() })
    }

    fn call(id: &str, at: &str) -> ActivityItem {
        ActivityItem::Call(CallItem { id: id.into(), at: Some(at.into()), ..Default::default() })
    }

    fn ids(page: &ActivityPage) -> Vec<String> {
        page.items
            .iter()
            .map(|i| match i {
                ActivityItem::Call(c) => c.id.clone(),
                ActivityItem::Goal(g) => g.id.clone(),
                ActivityItem::Action(a) => a.id.clone(),
            })
            .collect()
    }

    #[test]
    fn a_page_takes_the_newest_across_lists_and_the_cursor_goes_on_per_list() {
        let sources = [Source::Outbound, Source::Actions];
        // Twelve candidates: the calls are every other minute, the actions in between.
        let mut candidates = Vec::new();
        for i in 0..6 {
            candidates
                .push((Source::Outbound, call(&format!("c{i}"), &format!("2026-01-01T10:{:02}:00Z", 50 - 2 * i))));
            candidates
                .push((Source::Actions, action(&format!("a{i}"), &format!("2026-01-01T10:{:02}:00Z", 49 - 2 * i))));
        }
        let page = merge(candidates, &[], &sources, Cursor::default(), Vec::new()).unwrap();
        assert_eq!(ids(&page), ["c0", "a0", "c1", "a1", "c2", "a2", "c3", "a3", "c4", "a4"]);
        let next = page.next.expect("two items are left");
        assert_eq!((next.outbound, next.actions), (5, 5));
        assert!(next.done.is_empty(), "neither list is done while items of it were left: {next:?}");
    }

    #[test]
    fn the_last_page_has_no_next_and_undated_items_go_last() {
        let candidates =
            vec![(Source::Actions, action("old", "2026-01-01T09:00:00Z")), (Source::Goals, action("undated", ""))];
        let candidates = candidates
            .into_iter()
            .map(|(s, i)| match i {
                ActivityItem::Action(mut a) if a.id == "undated" => {
                    a.at = None;
                    (s, ActivityItem::Action(a))
                }
                other => (s, other),
            })
            .collect();
        let page = merge(candidates, &[], &[Source::Actions, Source::Goals], Cursor::default(), Vec::new()).unwrap();
        assert_eq!(ids(&page), ["old", "undated"]);
        assert_eq!(page.next, None);
    }

    #[test]
    fn a_list_with_more_keeps_the_page_going() {
        let candidates = vec![(Source::Actions, action("a", "2026-01-01T09:00:00Z"))];
        let page = merge(candidates, &[Source::Actions], &[Source::Goals, Source::Actions], Cursor::default(), vec![])
            .unwrap();
        let next = page.next.expect("the log has more");
        assert_eq!(next.actions, 1);
        assert_eq!(next.done, vec![Source::Goals], "the goals list was read to its end");
    }

    #[test]
    fn outbound_and_inbound_calls_share_one_shape() {
        let out: Call = serde_json::from_value(serde_json::json!({
            "call_id": "c1", "status": "success", "highlights": "Booked", "next_steps": "Arrive by 20:15\nBring ID",
            "submission": {"respondent_phone": "+34911222333", "business_name": "Nobu", "task_description": "Book"},
            "created_at": "2026-01-01T10:00:00Z"
        }))
        .unwrap();
        let ActivityItem::Call(c) = ActivityItem::from(out) else { panic!("a call") };
        assert_eq!((c.who.as_str(), c.direction, c.status.as_str()), ("Nobu", Some(Direction::Outbound), "success"));
        assert_eq!((c.summary, c.highlights.as_deref()), (None, Some("Booked")), "the highlights are not repeated");
        assert_eq!(c.next_steps, ["Arrive by 20:15", "Bring ID"]);
        let inbound: InboundCall = serde_json::from_value(serde_json::json!({
            "id": "i1", "caller_number": "+34600111222", "status": "completed", "summary": "Asked about Friday",
            "action_items": [{"description": "Call back", "status": "pending"}]
        }))
        .unwrap();
        let ActivityItem::Call(c) = ActivityItem::from(inbound) else { panic!("a call") };
        assert_eq!((c.who.as_str(), c.direction), ("+34600111222", Some(Direction::Inbound)));
        assert_eq!(c.next_steps, ["Call back"]);
        let json = serde_json::to_value(ActivityItem::Call(c)).unwrap();
        assert_eq!((json["kind"].as_str(), json["direction"].as_str()), (Some("call"), Some("inbound")));
    }
}
