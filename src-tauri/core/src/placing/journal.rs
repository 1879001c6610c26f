//! The calls being placed, on disk: each is written (and flushed) before its request goes out, so
//! a crash or a restart never forgets a call that may be ringing, and never places it twice.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::api::calls::{Call, NewCall};
use crate::fsio;

/// Finished calls kept for the form to show after a restart, newest first; older ones go.
const KEEP_FINISHED: usize = 10;

/// Where a call being placed stands.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Phase {
    /// The request is out (or about to be); `call` is the call once the server lists it.
    Placing { call: Option<Box<Call>> },
    /// The call ended: its result.
    Finished { call: Box<Call> },
    /// The server refused it; nothing was placed.
    Refused { message: String },
    /// Whether it was placed could not be learnt; it is never sent again by itself.
    Unconfirmed { message: String },
}

impl Phase {
    pub fn is_settled(&self) -> bool {
        !matches!(self, Phase::Placing { .. })
    }
}

/// One call the user asked for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlacedCall {
    pub local_id: String,
    /// The `Idempotency-Key` every send of this call carries (not a secret).
    pub key: String,
    pub request: NewCall,
    /// When the user placed it (ms since the epoch).
    pub placed_ms: u64,
    /// The calls the server listed just before the first send: a call to the same number about
    /// the same task that is not among them is this one.
    pub listed_before: Vec<String>,
    /// How many times the request went out.
    pub sends: u32,
    #[serde(flatten)]
    pub phase: Phase,
}

/// What the windows are told of a call being placed (no key, no bookkeeping).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlacedView {
    pub local_id: String,
    /// E.164, as sent.
    pub number: String,
    /// The number as people write it (`+34 911 22 23 33`).
    pub number_shown: String,
    pub business_name: Option<String>,
    pub task: String,
    pub placed_ms: u64,
    #[serde(flatten)]
    pub phase: Phase,
}

impl From<&PlacedCall> for PlacedView {
    fn from(p: &PlacedCall) -> Self {
        Self {
            local_id: p.local_id.clone(),
            number: p.request.submission.respondent_phone.clone(),
            number_shown: crate::phone::check(&p.request.submission.respondent_phone, None)
                .map_or_else(|_| p.request.submission.respondent_phone.clone(), |n| n.international),
            business_name: p.request.submission.business_name.clone(),
            task: p.request.submission.task_description.clone(),
            placed_ms: p.placed_ms,
            phase: p.phase.clone(),
        }
    }
}

/// The journal file and what it holds.
pub(crate) struct Journal {
    path: PathBuf,
    pub(crate) calls: Vec<PlacedCall>,
}

impl Journal {
    pub(crate) fn open(path: &Path, now_ms: u64) -> std::io::Result<Self> {
        let calls = fsio::read_json::<Vec<PlacedCall>>(path, now_ms)?.unwrap_or_default();
        Ok(Self { path: path.to_path_buf(), calls })
    }

    /// Writes every call, durably, dropping the oldest settled ones beyond [`KEEP_FINISHED`].
    pub(crate) fn save(&mut self) -> std::io::Result<()> {
        let mut settled = 0;
        self.calls.sort_by_key(|c| std::cmp::Reverse(c.placed_ms));
        self.calls.retain(|c| {
            settled += usize::from(c.phase.is_settled());
            !c.phase.is_settled() || settled <= KEEP_FINISHED
        });
        let bytes = serde_json::to_vec_pretty(&self.calls).map_err(std::io::Error::other)?;
        fsio::write_private(&self.path, &bytes)
    }

    pub(crate) fn get(&self, local_id: &str) -> Option<&PlacedCall> {
        self.calls.iter().find(|c| c.local_id == local_id)
    }

    pub(crate) fn get_mut(&mut self, local_id: &str) -> Option<&mut PlacedCall> {
        self.calls.iter_mut().find(|c| c.local_id == local_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::calls::Submission;

    fn placed(id: &str, at: u64, phase: Phase) -> PlacedCall {
        PlacedCall {
            local_id: id.into(),
            key: format!("key-{id}"),
            request: NewCall {
                submission: Submission { respondent_phone: "+34911222333".into(), ..Default::default() },
                ..Default::default()
            },
            placed_ms: at,
            listed_before: vec!["old".into()],
            sends: 1,
            phase,
        }
    }

    #[test]
    fn survives_a_restart_and_forgets_only_old_finished_calls() {
        let dir = std::env::temp_dir().join(format!("placing-{}", uuid::Uuid::new_v4()));
        let path = dir.join("placing-calls.json");
        let mut journal = Journal::open(&path, 0).unwrap();
        journal.calls.push(placed("going", 0, Phase::Placing { call: None }));
        for i in 1..=12 {
            journal.calls.push(placed(&format!("done{i}"), i, Phase::Refused { message: "no".into() }));
        }
        journal.save().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        serde_json::from_str::<Vec<PlacedCall>>(&text).unwrap();
        let again = Journal::open(&path, 0).unwrap();
        assert_eq!(again.calls.len(), 1 + KEEP_FINISHED);
        assert_eq!(again.get("going").unwrap().phase, Phase::Placing { call: None });
        assert!(again.get("done12").is_some() && again.get("done2").is_none());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
