//! Notifications on macOS and Windows, through the part of notify-rust that every platform has:
//! a title and a body, shown with the blocking `Notification::show`. No buttons: hearing back
//! from a notification works differently on each of those systems in notify-rust (macOS through
//! the deprecated NSUserNotificationCenter waiting on the main run loop; a Windows toast's answer
//! stops arriving once it moves to the Action Center) and none of it can be tried from the Linux
//! machine this is built on. So `has_actions` says there are none and the windows offer what the
//! buttons would (the call popup takes over or rejects a call). Nothing replaces or withdraws a
//! notice either: a call's outcome arrives as a new notification, a withdrawn one expires.

use notify_rust::{Notification, Timeout};

use super::notice::{Notice, Notifier, OnResponse};

#[derive(Default)]
pub struct Portable;

impl Notifier for Portable {
    fn has_actions(&self) -> bool {
        false
    }

    /// `on_response` is dropped unused: no action or click comes back here (`has_actions`).
    fn show(&self, notice: Notice, _on_response: OnResponse) {
        let notification = notification(&notice);
        let key = notice.key;
        // `show` waits for the OS (a COM call on Windows; on macOS the handle delivers when it is
        // dropped, which happens here too): off the async runtime.
        tauri::async_runtime::spawn_blocking(move || match notification.show() {
            Ok(handle) => {
                drop(handle);
                tracing::debug!(%key, "notification shown");
            }
            Err(error) => tracing::warn!(%error, %key, "could not show a notification"),
        });
    }

    fn withdraw(&self, key: &str) {
        tracing::debug!(%key, "notification left to expire (cannot be withdrawn here)");
    }
}

/// The notice as notify-rust's portable subset: title, body, and "keep it up" for a sticky one
/// (a long toast on Windows; macOS decides by itself). Actions and the click are left out.
fn notification(notice: &Notice) -> Notification {
    let mut notification = Notification::new();
    notification.appname("KallyAI").summary(&notice.title).body(&notice.body);
    if notice.sticky {
        notification.timeout(Timeout::Never);
    }
    notification
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call_notice() -> Notice {
        Notice {
            key: "call:c1".into(),
            title: "Call from Alex".into(),
            body: "About the invoice".into(),
            actions: vec![("takeover".into(), "Take over".into()), ("reject".into(), "Reject".into())],
            clickable: true,
            sticky: true,
        }
    }

    #[test]
    fn says_its_notices_have_no_actions() {
        assert!(!Portable.has_actions());
    }

    #[test]
    fn a_notice_keeps_its_title_and_body_but_no_buttons() {
        let n = notification(&call_notice());
        assert_eq!(
            (n.appname.as_str(), n.summary.as_str(), n.body.as_str()),
            ("KallyAI", "Call from Alex", "About the invoice")
        );
        assert!(n.actions.is_empty(), "{:?}", n.actions);
        assert_eq!(n.timeout, Timeout::Never);
    }

    #[test]
    fn a_passing_notice_expires() {
        let n = notification(&Notice { sticky: false, ..call_notice() });
        assert_eq!(n.timeout, Timeout::Default);
    }
}
