//! Background work and a clean exit. Every long-running task (the watcher, each feature's
//! follower of core's events, the balance's slow refresh) is spawned through `Background`, so
//! Quit can cancel them all and wait (briefly) for them to finish instead of aborting them.

use std::future::Future;
use std::time::Duration;

use kallyai_core::Event;
use tauri::{AppHandle, Manager};
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::core_handle::core;

/// How long Quit waits for background tasks before exiting anyway.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(1500);

#[derive(Clone, Default)]
pub struct Background {
    cancel: CancellationToken,
    tracker: TaskTracker,
}

impl Background {
    /// Runs `task` until it ends or the app quits; `task` gets the token to stop early.
    pub fn spawn<F, Fut>(&self, name: &'static str, task: F)
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let cancel = self.cancel.clone();
        let future = task(cancel.clone());
        tauri::async_runtime::spawn(self.tracker.track_future(async move {
            tokio::select! {
                _ = future => tracing::debug!(task = name, "background task ended"),
                _ = cancel.cancelled() => tracing::debug!(task = name, "background task cancelled"),
            }
        }));
    }

    /// Stops every task, waits up to the grace period, then exits the process with status 0.
    pub fn quit(&self, app: &AppHandle) {
        tracing::info!("quitting");
        self.cancel.cancel();
        self.tracker.close();
        let tracker = self.tracker.clone();
        let app = app.clone();
        tauri::async_runtime::spawn(async move {
            if tokio::time::timeout(SHUTDOWN_GRACE, tracker.wait()).await.is_err() {
                tracing::warn!("background tasks did not stop in time; exiting anyway");
            }
            tracing::info!("bye");
            crate::logging::flush();
            app.exit(0);
        });
    }
}

/// The background tasks, from anywhere that has the app handle.
pub fn background(app: &AppHandle) -> tauri::State<'_, Background> {
    app.state::<Background>()
}

/// What a follower hears from core's event bus.
pub enum Heard<'a> {
    Event(&'a Event),
    /// The follower fell behind and events were lost: redraw from the state, not from events.
    Missed,
}

/// Follows core's event bus on a background task: `on` runs for every event, in order. It
/// subscribes before returning, so nothing published after this call is missed.
pub fn follow(app: &AppHandle, name: &'static str, on: impl Fn(&AppHandle, Heard<'_>) + Send + 'static) {
    let mut events = core(app).events.subscribe();
    let follower = app.clone();
    background(app).spawn(name, move |_cancel| async move {
        loop {
            match events.recv().await {
                Ok(event) => on(&follower, Heard::Event(&event)),
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(follower = name, missed, "fell behind core's events");
                    on(&follower, Heard::Missed);
                }
                Err(RecvError::Closed) => break,
            }
        }
    });
}
