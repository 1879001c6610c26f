//! The watcher's memory and its one rule: every fact is published once. Whatever the source
//! (stream message, polled list, replay after a reconnect, a restart), facts go through here and
//! are dropped when already known.

use std::collections::HashSet;

use crate::api::calls::TranscriptEntry;
use crate::events::{Event, EventBus};

use super::live::{LiveCall, LiveCalls, Tracked};
use super::pending::PendingEntry;
use super::seen::Seen;

/// What became of a transcript line offered to `line`.
#[derive(Debug, PartialEq)]
pub(crate) enum LineFate {
    Published,
    /// Already published (a replay).
    Old,
    /// Earlier lines are missing: fetch the transcript and call `lines_from`.
    Gap,
    /// The call is not live here (not announced, or over).
    NotLive,
}

pub(crate) struct Tracker {
    bus: EventBus,
    seen: Seen,
    /// Calls announced in this session (since start or sign-in) and not over: the registry the
    /// app reads.
    live: LiveCalls,
    /// Pending ids listed in this session.
    pending: Option<HashSet<String>>,
    total_pending: Option<u64>,
}

fn ring_key(id: &str) -> String {
    format!("ring:{id}")
}
fn end_key(id: &str) -> String {
    format!("end:{id}")
}
fn pending_key(id: &str) -> String {
    format!("pending:{id}")
}

impl Tracker {
    pub fn new(bus: EventBus, seen: Seen, live: LiveCalls) -> Self {
        Self { bus, seen, live, pending: None, total_pending: None }
    }

    /// After a sign-out the shell forgets what it showed; the next session lists it again
    /// (as `CallStillLive` / `PendingItem { is_new: false }`).
    pub fn reset_session(&mut self) {
        self.live.write().clear();
        self.pending = None;
        self.total_pending = None;
    }

    pub fn live_ids(&self) -> Vec<String> {
        self.live.read().keys().cloned().collect()
    }

    pub fn has_live_calls(&self) -> bool {
        !self.live.is_empty()
    }

    pub fn is_live(&self, id: &str) -> bool {
        self.live.read().contains_key(id)
    }

    pub fn is_over(&self, id: &str) -> bool {
        self.seen.contains(&end_key(id))
    }

    /// A call seen live. The first sighting in this session announces it: `CallRinging` if it
    /// was never announced before (also not before a restart), else `CallStillLive`.
    pub fn call_live(&mut self, info: LiveCall) {
        if self.is_over(&info.id) {
            return;
        }
        if self.is_live(&info.id) {
            if !info.status.is_empty() {
                self.call_status(&info.id, &info.status);
            }
            return;
        }
        let first_ever = self.seen.insert(ring_key(&info.id));
        // Written before publishing: a crash in between costs a notification, never a repeat.
        self.seen.flush();
        let cursor = self.seen.cursor(&info.id);
        self.live.write().insert(info.id.clone(), Tracked { call: info.clone(), cursor });
        let LiveCall { id: call_id, caller_number, caller_name, is_vip, summary, .. } = info;
        self.bus.publish(match first_ever {
            true => Event::CallRinging { call_id, caller_number, caller_name, is_vip, summary },
            false => Event::CallStillLive { call_id, caller_number, caller_name, is_vip, summary },
        });
    }

    /// A live call's status changed without ending it.
    pub fn call_status(&mut self, id: &str, status: &str) {
        let changed = match self.live.write().get_mut(id) {
            Some(live) if live.call.status != status => {
                live.call.status = status.to_string();
                true
            }
            _ => false,
        };
        if changed {
            self.bus.publish(Event::CallUpdated { call_id: id.to_string(), status: status.to_string() });
        }
    }

    /// Transcript line number `index` (0-based; `None` = the next one) of a live call.
    pub fn line(&mut self, call_id: &str, index: Option<usize>, speaker: &str, content: &str) -> LineFate {
        let cursor = {
            let mut calls = self.live.write();
            let Some(live) = calls.get_mut(call_id) else { return LineFate::NotLive };
            let index = index.unwrap_or(live.cursor);
            if index < live.cursor {
                return LineFate::Old;
            }
            if index > live.cursor {
                return LineFate::Gap;
            }
            live.cursor += 1;
            live.cursor
        };
        self.seen.set_cursor(call_id, cursor);
        self.bus.publish(Event::TranscriptLine {
            call_id: call_id.to_string(),
            speaker: speaker.to_string(),
            content: content.to_string(),
        });
        LineFate::Published
    }

    /// The whole transcript so far: publishes the lines not yet published, in order.
    pub fn lines_from(&mut self, call_id: &str, entries: &[TranscriptEntry]) {
        let Some(start) = self.live.read().get(call_id).map(|l| l.cursor) else { return };
        for (i, e) in entries.iter().enumerate().skip(start) {
            self.line(call_id, Some(i), &e.speaker, &e.content);
        }
    }

    /// The call is over. `CallEnded` goes out once, and only for a call that was announced
    /// (here or before a restart); a later sighting of it is ignored.
    pub fn call_over(&mut self, id: &str, outcome: &str) {
        let was_live = self.live.write().remove(id).is_some();
        let announced = was_live || self.seen.contains(&ring_key(id));
        self.seen.drop_cursor(id);
        let first = self.seen.insert(end_key(id));
        self.seen.flush();
        if first && announced {
            self.bus.publish(Event::CallEnded { call_id: id.to_string(), outcome: outcome.to_string() });
        }
    }

    /// The full pending list: new ids are announced, ids that left are resolved.
    pub fn pending_list(&mut self, items: Vec<PendingEntry>) {
        let listed = self.pending.take().unwrap_or_default();
        let mut now = HashSet::new();
        for item in items {
            if !now.insert(item.id.clone()) || listed.contains(&item.id) {
                continue;
            }
            let is_new = self.seen.insert(pending_key(&item.id));
            self.seen.flush();
            self.bus.publish(Event::PendingItem {
                id: item.id,
                kind: item.kind,
                title: item.title,
                summary: item.summary,
                actions: item.actions,
                is_new,
            });
        }
        let mut gone: Vec<&String> = listed.difference(&now).collect();
        gone.sort();
        for id in gone {
            self.bus.publish(Event::PendingItemResolved { id: id.clone() });
        }
        self.pending = Some(now);
    }

    pub fn total_pending(&mut self, total: u64) {
        if self.total_pending != Some(total) {
            self.total_pending = Some(total);
            self.bus.publish(Event::NotificationsChanged { total_pending: total });
        }
    }

    pub fn flush(&mut self) {
        self.seen.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pending::PendingKind;

    fn info(id: &str) -> LiveCall {
        LiveCall {
            id: id.into(),
            caller_number: "+34600".into(),
            caller_name: None,
            is_vip: false,
            summary: None,
            status: "active".into(),
        }
    }

    fn drain(rx: &mut tokio::sync::broadcast::Receiver<Event>) -> Vec<Event> {
        std::iter::from_fn(|| rx.try_recv().ok()).collect()
    }

    #[test]
    fn a_call_is_announced_once_and_lines_keep_their_order() {
        let bus = EventBus::default();
        let mut rx = bus.subscribe();
        let mut t = Tracker::new(bus, Seen::load(None, 100), LiveCalls::default());
        t.call_live(info("c"));
        t.call_live(info("c"));
        assert_eq!(t.line("c", Some(1), "AI", "second"), LineFate::Gap);
        assert_eq!(t.line("c", Some(0), "AI", "first"), LineFate::Published);
        assert_eq!(t.line("c", Some(0), "AI", "first"), LineFate::Old);
        let entries: Vec<TranscriptEntry> = ["first", "second", "third"]
            .iter()
            .map(|c| TranscriptEntry { speaker: "AI".into(), content: c.to_string(), timestamp: None })
            .collect();
        t.lines_from("c", &entries);
        t.call_over("c", "completed");
        t.call_over("c", "completed");
        t.call_live(info("c"));
        assert_eq!(t.line("c", None, "AI", "late"), LineFate::NotLive);
        let got = drain(&mut rx);
        let kinds: Vec<String> = got
            .iter()
            .map(|e| match e {
                Event::CallRinging { .. } => "ring".to_string(),
                Event::TranscriptLine { content, .. } => content.clone(),
                Event::CallEnded { outcome, .. } => outcome.clone(),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(kinds, vec!["ring", "first", "second", "third", "completed"]);
    }

    #[test]
    fn the_registry_lists_the_calls_announced_and_not_over() {
        let live = LiveCalls::default();
        let mut t = Tracker::new(EventBus::default(), Seen::load(None, 100), live.clone());
        t.call_live(info("c"));
        t.call_live(LiveCall { caller_name: Some("Ada".into()), ..info("d") });
        assert_eq!(live.list().iter().map(|c| c.caller()).collect::<Vec<_>>(), vec!["+34600", "Ada"]);
        t.call_status("c", "taken_over");
        assert_eq!(live.get("c").map(|c| c.status), Some("taken_over".to_string()));
        t.call_over("c", "completed");
        assert_eq!(live.get("c"), None);
        t.reset_session();
        assert!(live.is_empty(), "a sign-out empties it");
    }

    #[test]
    fn a_reset_session_relists_without_renotifying() {
        let bus = EventBus::default();
        let mut rx = bus.subscribe();
        let mut t = Tracker::new(bus, Seen::load(None, 100), LiveCalls::default());
        let item = |id: &str| PendingEntry {
            id: id.into(),
            kind: PendingKind::Goal,
            title: None,
            summary: None,
            actions: vec![],
        };
        t.call_live(info("c"));
        t.pending_list(vec![item("a"), item("b")]);
        t.pending_list(vec![item("b")]);
        t.reset_session();
        t.call_live(info("c"));
        t.pending_list(vec![item("b")]);
        let got = drain(&mut rx);
        assert!(matches!(got[0], Event::CallRinging { .. }));
        assert!(matches!(&got[1], Event::PendingItem { id, is_new: true, .. } if id == "a"));
        assert!(matches!(&got[2], Event::PendingItem { id, is_new: true, .. } if id == "b"));
        assert_eq!(got[3], Event::PendingItemResolved { id: "a".into() });
        assert!(matches!(got[4], Event::CallStillLive { .. }));
        assert!(matches!(&got[5], Event::PendingItem { id, is_new: false, .. } if id == "b"));
        assert_eq!(got.len(), 6);
    }
}
