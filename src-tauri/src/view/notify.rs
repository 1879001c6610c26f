//! Desktop notifications with actions ("Take over", "Reject", "Sign in"). The OS part sits behind
//! the `Notifier` trait so the rest of the shell never branches on the platform; on Linux it is a
//! freedesktop notification (notify-rust over D-Bus), whose actions work without any window.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tauri::{AppHandle, Manager};

/// What to show. `key` names the thing notified about (e.g. `call:<id>`): showing a notice with
/// the same key replaces the earlier one in place, and `withdraw` takes it away.
#[derive(Clone, Debug)]
pub struct Notice {
    pub key: String,
    pub title: String,
    pub body: String,
    /// Buttons: (action id, label).
    pub actions: Vec<(String, String)>,
    /// Whether a click on the notice itself counts (reported as `Response::Default`).
    pub clickable: bool,
    /// Stays until acted on or withdrawn (a live call), instead of expiring.
    pub sticky: bool,
}

/// How a notice ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    Action(String),
    Default,
    Closed,
}

pub type OnResponse = Box<dyn FnOnce(Response) + Send + 'static>;

pub trait Notifier: Send + Sync {
    /// Shows `notice` (replacing one with the same key); `on_response` runs at most once, when the
    /// user acts on it or closes it, never when it is replaced or withdrawn by the app.
    fn show(&self, notice: Notice, on_response: OnResponse);
    fn withdraw(&self, key: &str);
}

/// The notifier the app uses (managed from the start).
pub struct Notices(Arc<dyn Notifier>);

impl Default for Notices {
    fn default() -> Self {
        Notices(Arc::new(Freedesktop::default()))
    }
}

/// The notifier, from anywhere that has the app handle.
pub fn notifier(app: &AppHandle) -> Arc<dyn Notifier> {
    app.state::<Notices>().0.clone()
}

/// freedesktop.org notifications (Linux, BSD); notify-rust also maps this API onto macOS and
/// Windows, where actions are limited and the call popup does the job.
#[derive(Default)]
struct Freedesktop {
    shown: Arc<Mutex<HashMap<String, Shown>>>,
}

struct Shown {
    handle: Arc<notify_rust::NotificationHandle>,
    /// Bumped on every replacement, so a superseded waiter does not report.
    generation: u64,
}

impl Notifier for Freedesktop {
    fn show(&self, notice: Notice, on_response: OnResponse) {
        let shown = self.shown.clone();
        tauri::async_runtime::spawn(async move {
            let mut notification = notify_rust::Notification::new();
            notification.appname("KallyAI").summary(&notice.title).body(&notice.body);
            for (id, label) in &notice.actions {
                notification.action(id, label);
            }
            if notice.clickable {
                notification.action("default", "");
            }
            if notice.sticky {
                notification.hint(notify_rust::Hint::Resident(true)).timeout(notify_rust::Timeout::Never);
            }
            let replaces = shown.lock().expect("notices lock").get(&notice.key).map(|s| (s.handle.id(), s.generation));
            if let Some((id, _)) = replaces {
                notification.id(id);
            }
            let handle = match notification.show_async().await {
                Ok(handle) => Arc::new(handle),
                Err(error) => {
                    tracing::warn!(%error, key = %notice.key, "could not show a notification");
                    return;
                }
            };
            let generation = replaces.map_or(0, |(_, g)| g + 1);
            shown
                .lock()
                .expect("notices lock")
                .insert(notice.key.clone(), Shown { handle: handle.clone(), generation });
            tracing::debug!(key = %notice.key, id = handle.id(), "notification shown");

            let mut response = None;
            handle
                .wait_for_action_async(|r: &notify_rust::NotificationResponse| {
                    response = Some(match r {
                        notify_rust::NotificationResponse::Default => Response::Default,
                        notify_rust::NotificationResponse::Action(a) if a == "default" => Response::Default,
                        notify_rust::NotificationResponse::Action(a) => Response::Action(a.clone()),
                        _ => Response::Closed,
                    })
                })
                .await;
            // Only the current notice for this key reports, and only once.
            let current = {
                let mut map = shown.lock().expect("notices lock");
                let current =
                    map.get(&notice.key).is_some_and(|s| s.generation == generation && Arc::ptr_eq(&s.handle, &handle));
                // A notice acted on stays on screen (a resident one does) until the app replaces
                // it with the outcome or withdraws it, so it keeps its place; only a closed one is
                // forgotten.
                if current && matches!(response, None | Some(Response::Closed)) {
                    map.remove(&notice.key);
                }
                current
            };
            if let (true, Some(response)) = (current, response) {
                on_response(response);
            }
        });
    }

    fn withdraw(&self, key: &str) {
        let removed = self.shown.lock().expect("notices lock").remove(key);
        if let Some(shown) = removed {
            tauri::async_runtime::spawn(async move { shown.handle.close_async().await });
        }
    }
}
