//! "Call someone…": outbound calls the user places from the desktop, placed exactly once.
//!
//! `POST /v1/calls` blocks until the call ends, minutes later, and production does not promise to
//! recognise a repeated `Idempotency-Key`. So a call is written to a journal (flushed) before its
//! request goes out, with the calls the server listed just before; a send whose answer is lost
//! (timeout, cut connection, 5xx) or that was out when the app stopped is never simply repeated:
//! the server's call list is read back first. The call is placed when a new call to the same
//! number about the same task is listed; it may go again (same key) only when two reads, spaced,
//! agree that it is not there, at most [`MAX_SENDS`] times in all; anything else is left to the
//! user as "could not confirm" (Activity shows whether it happened). While the request is out the
//! call list is read every few seconds, so the form shows the call's status as the server does.
//!
//! Every change is published as [`Event::CallPlacing`]; [`CallPlacer::call`] says what changed.

mod journal;
mod matching;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::{sleep, Instant};

use crate::api::calls::{Call, NewCall};
use crate::client::Client;
use crate::clock::unix_ms;
use crate::error::ApiError;
use crate::events::{Event, EventBus};
use crate::idempotency::IdempotencyKey;
use crate::retry::outcome_unknown;
use journal::Journal;
pub use journal::{Phase, PlacedCall, PlacedView};

/// Sends of one call at most (the first and one more after reads showed it absent).
pub const MAX_SENDS: u32 = 2;
/// Calls read per look at the list: far more than a user places while one call is out.
const LIST_LIMIT: u32 = 20;
/// Reads of the list before a lost answer's call is declared unknowable, and the agreeing
/// "not there" reads needed before it may go again.
const READS: u32 = 4;
const ABSENT_READS_NEEDED: u32 = 2;

/// How often and how long the placer looks.
#[derive(Clone, Debug)]
pub struct PlacerTiming {
    /// Between reads of the call list while the request is out.
    pub watch_every: Duration,
    /// Between reads of a call the server lists as still going.
    pub follow_every: Duration,
    /// How long a going call is followed before the form says to look in Activity.
    pub follow_for: Duration,
    /// The first wait between reads after a lost answer (doubling after each).
    pub first_read_gap: Duration,
}

impl Default for PlacerTiming {
    fn default() -> Self {
        Self {
            watch_every: Duration::from_secs(4),
            follow_every: Duration::from_secs(5),
            follow_for: Duration::from_secs(45 * 60),
            first_read_gap: Duration::from_secs(2),
        }
    }
}

/// The calls being placed and their journal.
pub struct CallPlacer {
    shared: Arc<Shared>,
}

struct Shared {
    client: Client,
    events: EventBus,
    timing: PlacerTiming,
    journal: Mutex<Journal>,
}

/// What to do next with a call.
enum Step {
    Send,
    Reconcile,
    Follow(String),
}

/// One sentence when whether a call was placed cannot be learnt.
const UNCONFIRMED: &str = "KallyAI could not confirm whether this call was placed: look for it in Activity before \
                           placing it again.";
const STILL_GOING: &str = "The call is still going: its result will appear in Activity.";

impl CallPlacer {
    /// Opens the journal at `path` and takes up every call that was being placed when the app
    /// stopped (each is looked for before anything is sent again).
    pub async fn open(
        path: impl Into<PathBuf>,
        client: Client,
        events: EventBus,
        timing: PlacerTiming,
    ) -> std::io::Result<Self> {
        let path = path.into();
        let journal = tokio::task::spawn_blocking(move || Journal::open(&path, unix_ms()))
            .await
            .map_err(std::io::Error::other)??;
        let unsettled: Vec<String> =
            journal.calls.iter().filter(|c| !c.phase.is_settled()).map(|c| c.local_id.clone()).collect();
        let shared = Arc::new(Shared { client, events, timing, journal: Mutex::new(journal) });
        for local_id in unsettled {
            // Even a call whose send count says it never went out is looked for first: that
            // count may be the one write the stop cut short.
            tokio::spawn(drive(shared.clone(), local_id, Step::Reconcile));
        }
        Ok(Self { shared })
    }

    /// Every call the journal holds, newest first.
    pub fn calls(&self) -> Vec<PlacedView> {
        self.shared.journal.lock().expect("placer lock").calls.iter().map(PlacedView::from).collect()
    }

    /// One call of the journal, as it is now.
    pub fn call(&self, local_id: &str) -> Option<PlacedView> {
        self.shared.journal.lock().expect("placer lock").get(local_id).map(PlacedView::from)
    }

    /// Places `call`: reads the call list (the mark), writes the call to the journal, then sends
    /// it in the background. An error means nothing was sent.
    pub async fn place(&self, call: NewCall) -> Result<PlacedView, ApiError> {
        let listed = self.shared.client.calls().list(Some(LIST_LIMIT), None).await?;
        let placed = PlacedCall {
            local_id: uuid::Uuid::new_v4().to_string(),
            key: IdempotencyKey::new().to_string(),
            request: call,
            placed_ms: unix_ms(),
            listed_before: listed.calls.into_iter().map(|c| c.id).filter(|id| !id.is_empty()).collect(),
            sends: 0,
            phase: Phase::Placing { call: None },
        };
        let local_id = placed.local_id.clone();
        let shared = self.shared.clone();
        let view = tokio::task::spawn_blocking(move || {
            let mut journal = shared.journal.lock().expect("placer lock");
            journal.calls.push(placed);
            journal.save().map(|()| journal.get(&local_id).map(PlacedView::from))
        })
        .await
        .map_err(|e| ApiError::client("storage", e.to_string()))?
        .map_err(|e| {
            tracing::warn!(error = %e, "could not write the call journal");
            ApiError::client("storage", "The call could not be saved on this computer, so it was not placed.")
        })?
        .expect("the call just added");
        self.shared.events.publish(Event::CallPlacing { local_id: view.local_id.clone(), settled: false });
        tokio::spawn(drive(self.shared.clone(), view.local_id.clone(), Step::Send));
        Ok(view)
    }

    /// Forgets a settled call (the form's "New call"); a call still being placed stays.
    pub async fn dismiss(&self, local_id: &str) -> std::io::Result<()> {
        let shared = self.shared.clone();
        let local_id = local_id.to_string();
        tokio::task::spawn_blocking(move || {
            let mut journal = shared.journal.lock().expect("placer lock");
            let before = journal.calls.len();
            journal.calls.retain(|c| c.local_id != local_id || !c.phase.is_settled());
            if journal.calls.len() == before {
                return Ok(());
            }
            journal.save()
        })
        .await
        .map_err(std::io::Error::other)?
    }
}

async fn drive(shared: Arc<Shared>, local_id: String, mut step: Step) {
    loop {
        let next = match step {
            Step::Send => send(&shared, &local_id).await,
            Step::Reconcile => reconcile(&shared, &local_id).await,
            Step::Follow(call_id) => follow(&shared, &local_id, &call_id).await,
        };
        match next {
            Some(next) => step = next,
            None => return,
        }
    }
}

/// Sends the call (counted and written first), reading the call list meanwhile.
async fn send(shared: &Arc<Shared>, local_id: &str) -> Option<Step> {
    let placed = record(shared, local_id, |p| p.sends += 1).await?;
    let key = IdempotencyKey::from_string(placed.key.clone());
    let calls = shared.client.calls();
    let request = calls.create_with_key(&placed.request, key);
    tokio::pin!(request);
    let mut next_look = Instant::now() + shared.timing.watch_every;
    let answer = loop {
        tokio::select! {
            answer = &mut request => break answer,
            () = tokio::time::sleep_until(next_look) => {
                look(shared, local_id).await;
                next_look = Instant::now() + shared.timing.watch_every;
            }
        }
    };
    match answer {
        Ok(call) => settle_with(shared, local_id, call).await,
        Err(err) if outcome_unknown(&err) => Some(Step::Reconcile),
        Err(err) => {
            let message = err.user_message();
            record(shared, local_id, |p| p.phase = Phase::Refused { message }).await;
            None
        }
    }
}

/// A listed or answered call: followed while it is going, else the result.
async fn settle_with(shared: &Arc<Shared>, local_id: &str, call: Call) -> Option<Step> {
    if call.status.is_going() && !call.id.is_empty() {
        let id = call.id.clone();
        record(shared, local_id, |p| p.phase = Phase::Placing { call: Some(Box::new(call)) }).await;
        return Some(Step::Follow(id));
    }
    record(shared, local_id, |p| p.phase = Phase::Finished { call: Box::new(call) }).await;
    None
}

/// One read of the call list while the request is out: shows the call's status once listed.
async fn look(shared: &Arc<Shared>, local_id: &str) {
    let Some(placed) = current(shared, local_id) else { return };
    let Ok(listed) = shared.client.calls().list(Some(LIST_LIMIT), None).await else { return };
    if let Some(call) = matching::find(&placed, &listed.calls) {
        let call = Box::new(call.clone());
        if placed.phase != (Phase::Placing { call: Some(call.clone()) }) {
            record(shared, local_id, |p| p.phase = Phase::Placing { call: Some(call) }).await;
        }
    }
}

/// Learns from the call list whether a send whose answer was lost placed the call.
async fn reconcile(shared: &Arc<Shared>, local_id: &str) -> Option<Step> {
    let mut absent = 0;
    let mut gap = shared.timing.first_read_gap;
    for read in 0..READS {
        if read > 0 {
            sleep(gap).await;
            gap *= 2;
        }
        let placed = current(shared, local_id)?;
        match shared.client.calls().list(Some(LIST_LIMIT), None).await {
            Ok(listed) => match matching::find(&placed, &listed.calls) {
                Some(call) => return settle_with(shared, local_id, call.clone()).await,
                None => absent += 1,
            },
            Err(err) => tracing::debug!(code = err.code(), "call list unreadable while reconciling"),
        }
        if absent >= ABSENT_READS_NEEDED {
            break;
        }
    }
    let sends = current(shared, local_id)?.sends;
    if absent >= ABSENT_READS_NEEDED && sends < MAX_SENDS {
        return Some(Step::Send);
    }
    record(shared, local_id, |p| p.phase = Phase::Unconfirmed { message: UNCONFIRMED.into() }).await;
    None
}

/// Reads a going call until it ends, for at most `follow_for`.
async fn follow(shared: &Arc<Shared>, local_id: &str, call_id: &str) -> Option<Step> {
    let deadline = Instant::now() + shared.timing.follow_for;
    while Instant::now() < deadline {
        sleep(shared.timing.follow_every).await;
        if let Ok(call) = shared.client.calls().get(call_id).await {
            if !call.status.is_going() {
                return settle_with(shared, local_id, call).await;
            }
        }
    }
    record(shared, local_id, |p| p.phase = Phase::Unconfirmed { message: STILL_GOING.into() }).await;
    None
}

fn current(shared: &Shared, local_id: &str) -> Option<PlacedCall> {
    shared.journal.lock().expect("placer lock").get(local_id).cloned()
}

/// Changes a call, writes the journal and tells the windows. `None` when the call is gone.
async fn record(
    shared: &Arc<Shared>,
    local_id: &str,
    change: impl FnOnce(&mut PlacedCall) + Send + 'static,
) -> Option<PlacedCall> {
    let owned = shared.clone();
    let id = local_id.to_string();
    let placed = tokio::task::spawn_blocking(move || {
        let mut journal = owned.journal.lock().expect("placer lock");
        change(journal.get_mut(&id)?);
        if let Err(error) = journal.save() {
            tracing::warn!(%error, "could not write the call journal");
        }
        journal.get(&id).cloned()
    })
    .await
    .ok()??;
    let settled = placed.phase.is_settled();
    shared.events.publish(Event::CallPlacing { local_id: placed.local_id.clone(), settled });
    Some(placed)
}
