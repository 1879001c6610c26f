//! Notifications on Linux and the BSDs: freedesktop.org notifications over D-Bus (notify-rust),
//! with actions, in-place replacement (the notification id), the resident hint and withdrawal.
//! These parts of notify-rust exist only on those systems; `super` compiles this file there alone.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use super::markup::{self, Markup};
use super::notice::{Notice, Notifier, OnResponse, Response};

/// freedesktop.org notifications (Linux, BSD), whose actions work without any window.
#[derive(Default)]
pub struct Freedesktop {
    shown: Arc<Mutex<HashMap<String, Shown>>>,
    /// What the server reads as markup, asked once.
    markup: Arc<OnceCell<Markup>>,
}

/// Asks the notification server what it reads as markup (blocking D-Bus calls, off the runtime).
async fn server_markup() -> Markup {
    let asked = tokio::task::spawn_blocking(|| {
        notify_rust::get_capabilities().ok().map(|capabilities| Markup::of_server(&capabilities))
    });
    let markup = asked.await.ok().flatten().unwrap_or(Markup::UNKNOWN);
    tracing::debug!(?markup, "notification server markup");
    markup
}

struct Shown {
    handle: Arc<notify_rust::NotificationHandle>,
    /// Bumped on every replacement, so a superseded waiter does not report.
    generation: u64,
}

impl Notifier for Freedesktop {
    fn has_actions(&self) -> bool {
        true
    }

    fn show(&self, notice: Notice, on_response: OnResponse) {
        let shown = self.shown.clone();
        let markup = self.markup.clone();
        tauri::async_runtime::spawn(async move {
            let markup = *markup.get_or_init(server_markup).await;
            let (summary, body) = markup::for_server(&notice.title, &notice.body, markup);
            let mut notification = notify_rust::Notification::new();
            notification.appname("KallyAI").summary(&summary).body(&body);
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
