//! The calls being screened now: the one registry of live calls in the app. The tracker keeps
//! it (a call announced, its status changed, the call over, a sign-out) and whoever holds the
//! watcher reads it (the tray, the call popup, the caller's name in an outcome). It changes
//! before the event about the change is published, so a reader acting on `CallRinging` or
//! `CallEnded` finds it already agreeing.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde::Serialize;

use crate::api::inbound::InboundCall;

/// A call the AI receptionist is screening, as `CallRinging` announced it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LiveCall {
    pub id: String,
    pub caller_number: String,
    pub caller_name: Option<String>,
    pub is_vip: bool,
    pub summary: Option<String>,
    /// Open string: active, ringing, ...
    pub status: String,
}

impl LiveCall {
    pub(crate) fn from_call(c: &InboundCall) -> Option<Self> {
        Some(Self {
            id: c.id.clone().filter(|s| !s.is_empty())?,
            caller_number: c.caller_number.clone().unwrap_or_default(),
            caller_name: c.caller_name.clone().filter(|s| !s.is_empty()),
            is_vip: c.is_vip,
            summary: c.summary.clone().filter(|s| !s.is_empty()),
            status: c.status.as_str().to_string(),
        })
    }

    /// Who is calling, as a person reads it.
    pub fn caller(&self) -> &str {
        caller_label(self.caller_name.as_deref(), &self.caller_number)
    }
}

/// The caller's name, else the number.
pub fn caller_label<'a>(name: Option<&'a str>, number: &'a str) -> &'a str {
    name.filter(|n| !n.trim().is_empty()).unwrap_or(number)
}

/// A live call and how many of its transcript lines were published.
pub(super) struct Tracked {
    pub call: LiveCall,
    pub cursor: usize,
}

/// The registry. Cheap to clone; clones share it.
#[derive(Clone, Default)]
pub struct LiveCalls {
    calls: Arc<RwLock<BTreeMap<String, Tracked>>>,
}

impl std::fmt::Debug for LiveCalls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.read().keys()).finish()
    }
}

impl LiveCalls {
    /// Every call live now, by id.
    pub fn list(&self) -> Vec<LiveCall> {
        self.read().values().map(|t| t.call.clone()).collect()
    }

    pub fn get(&self, id: &str) -> Option<LiveCall> {
        self.read().get(id).map(|t| t.call.clone())
    }

    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    pub(super) fn read(&self) -> RwLockReadGuard<'_, BTreeMap<String, Tracked>> {
        self.calls.read().expect("live calls lock")
    }

    pub(super) fn write(&self) -> RwLockWriteGuard<'_, BTreeMap<String, Tracked>> {
        self.calls.write().expect("live calls lock")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_caller_is_the_name_else_the_number() {
        assert_eq!(caller_label(Some("Dr. Smith"), "+1555"), "Dr. Smith");
        assert_eq!(caller_label(Some("  "), "+1555"), "+1555");
        assert_eq!(caller_label(None, "+1555"), "+1555");
    }
}
