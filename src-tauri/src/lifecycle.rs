//! Background work and a clean exit. Every long-running task is spawned through `Background`,
//! so Quit can cancel them all and wait (briefly) for them to finish instead of aborting them.

use std::future::Future;
use std::time::Duration;

use tauri::AppHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

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
