//! The Activity timeline against a real sim (demo seed): pages across calls either way, goals
//! and the action log, newest first, each item once; a failing list does not hide the others;
//! undo reads the log back, and a refusal keeps the server's code.

mod common;

use std::collections::HashSet;

use common::{Fault, Sim};
use kallyai_core::activity::{self, ActivityItem, ActivityKind, Cursor, Direction, Source};

fn key(item: &ActivityItem) -> String {
    match item {
        ActivityItem::Call(c) => format!("call-{}", c.id),
        ActivityItem::Goal(g) => format!("goal-{}", g.id),
        ActivityItem::Action(a) => format!("action-{}", a.id),
    }
}

/// Every page of `kind`, in order.
async fn every_page(client: &kallyai_core::Client, kind: ActivityKind) -> (Vec<ActivityItem>, usize) {
    let mut items = Vec::new();
    let mut cursor = Some(Cursor::default());
    let mut pages = 0;
    while let Some(at) = cursor {
        let page = activity::page(client, kind, at).await.expect("a page");
        assert!(page.unread.is_empty(), "{:?}", page.unread);
        assert!(page.items.len() <= activity::PAGE as usize);
        items.extend(page.items);
        cursor = page.next;
        pages += 1;
        assert!(pages < 10, "the pages end");
    }
    (items, pages)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pages_hold_every_item_once_newest_first() {
    let sim = Sim::start().await;
    let client = sim.client().await;
    let (items, pages) = every_page(&client, ActivityKind::All).await;
    let keys: Vec<String> = items.iter().map(key).collect();
    assert_eq!(keys.iter().collect::<HashSet<_>>().len(), keys.len(), "no item twice: {keys:?}");
    // The demo: three calls each way, six goals, four logged actions.
    assert_eq!(items.len(), 16, "{keys:?}");
    assert_eq!(pages, 2);
    let times: Vec<&str> = items.iter().map(|i| i.at().unwrap_or("")).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first: {times:?}");

    let (calls, _) = every_page(&client, ActivityKind::Calls).await;
    let directions: Vec<Option<Direction>> = calls
        .iter()
        .map(|i| match i {
            ActivityItem::Call(c) => c.direction,
            other => panic!("only calls: {other:?}"),
        })
        .collect();
    assert_eq!(directions.iter().filter(|d| **d == Some(Direction::Inbound)).count(), 3);
    assert_eq!(directions.iter().filter(|d| **d == Some(Direction::Outbound)).count(), 3);
    let (goals, _) = every_page(&client, ActivityKind::Goals).await;
    assert!(goals.iter().any(|g| matches!(g, ActivityItem::Goal(g) if g.finished)), "finished goals too");
    assert!(goals.iter().any(|g| matches!(g, ActivityItem::Goal(g) if !g.finished)), "active goals too");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_that_cannot_be_read_does_not_hide_the_others() {
    let sim = Sim::start().await;
    let client = sim.client().await;
    sim.ctl.fault(&Fault::status("/v1/inbound/calls", 403)).await;
    let page = activity::page(&client, ActivityKind::Calls, Cursor::default()).await.expect("the outbound calls");
    assert_eq!(page.items.len(), 3, "the outbound calls");
    assert_eq!(page.unread.len(), 1);
    assert_eq!(page.unread[0].source, Source::Inbound);
    assert!(!page.unread[0].message.is_empty());
    assert_eq!(page.next, None, "a failing list is not asked again for more");
    sim.ctl.fault(&Fault::status("/v1/calls", 403)).await;
    let failed = activity::page(&client, ActivityKind::Calls, Cursor::default()).await;
    assert!(failed.is_err(), "every list failed: the page is the error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_reads_the_log_back_and_a_refusal_keeps_its_code() {
    let sim = Sim::start().await;
    let client = sim.client().await;
    let log = client.actions().log(Some("calendar"), 10, 0).await.unwrap();
    let id = log[0].id.clone().expect("an id");
    assert!(log[0].undoable);
    let now = activity::undo(&client, &id).await.unwrap().expect("still in the log");
    assert_eq!((now.status.as_deref(), now.undoable), (Some("undone"), false));
    let refused = activity::undo(&client, &id).await.unwrap_err();
    assert_eq!((refused.status(), refused.code()), (Some(409), "action_not_undoable"));
    assert_eq!(refused.to_string(), "This action can no longer be undone.");

    let transcript = activity::transcript(&client, Direction::Outbound, "not-a-call").await;
    assert_eq!(transcript.map(|t| t.len()).ok(), Some(0), "no transcript reads as none");
}
