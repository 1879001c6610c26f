//! The user's settings as the app obeys them: what the settings window edits and
//! tauri-plugin-store keeps (nothing secret in there), and the language the app speaks. Several
//! parts of the app read them (how a call is announced, when credits count as low), so they
//! live here, beside the rest of the app's shared types.

use std::sync::RwLock;

use serde::{Deserialize, Serialize};

use crate::pending::PendingKind;

/// The language of every string the app shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    En,
    Es,
}

impl Lang {
    /// The language of the user's session, from the POSIX locale variables; English otherwise.
    pub fn from_environment() -> Lang {
        ["LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"]
            .iter()
            .filter_map(|name| std::env::var(name).ok())
            .find(|value| !value.is_empty())
            .map(|value| Lang::from_locale(&value))
            .unwrap_or(Lang::En)
    }

    pub fn from_locale(locale: &str) -> Lang {
        if locale.to_ascii_lowercase().starts_with("es") {
            Lang::Es
        } else {
            Lang::En
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Es => "es",
        }
    }
}

/// The default hotkey: Ctrl+Alt+K (Cmd+Option+K on macOS) is bound by none of GNOME, KDE,
/// Windows or macOS out of the box.
pub const DEFAULT_HOTKEY: &str = "CommandOrControl+Alt+K";

/// How a ringing call is announced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallAlert {
    /// A notification with Take over / Reject; the popup opens from it.
    #[default]
    Notification,
    /// The call popup only (for desktops whose notifications have no actions).
    Popup,
    Both,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub hotkey: String,
    pub autostart: bool,
    /// None: the language of the desktop session.
    pub language: Option<Lang>,
    pub notify_calls: bool,
    pub notify_approvals: bool,
    pub notify_messages: bool,
    pub notify_low_credits: bool,
    pub call_alert: CallAlert,
    pub popup_on_top: bool,
    /// Warn when fewer than this share of the period's credits is left.
    pub low_credit_percent: f64,
    /// None: `--api-base`, `KALLYAI_API_BASE`, or production.
    pub api_base: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            hotkey: DEFAULT_HOTKEY.into(),
            autostart: false,
            language: None,
            notify_calls: true,
            notify_approvals: true,
            notify_messages: true,
            notify_low_credits: true,
            call_alert: CallAlert::Notification,
            popup_on_top: true,
            low_credit_percent: 10.0,
            api_base: None,
        }
    }
}

/// How a ringing call is announced, all settings considered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallAnnouncement {
    pub notification: bool,
    pub popup: bool,
}

impl Settings {
    /// A notification unless only the popup is wanted; the popup when asked for, and whenever
    /// there is no notification (it does the job then).
    pub fn call_announcement(&self) -> CallAnnouncement {
        let notification = self.notify_calls && self.call_alert != CallAlert::Popup;
        let popup = self.call_alert != CallAlert::Notification || !self.notify_calls;
        CallAnnouncement { notification, popup }
    }

    /// Whether a new pending item of `kind` gets a notification: approvals and goals that need
    /// the user follow one switch, messages the other.
    pub fn notifies(&self, kind: PendingKind) -> bool {
        match kind {
            PendingKind::Approval | PendingKind::Goal => self.notify_approvals,
            PendingKind::Message => self.notify_messages,
        }
    }
}

/// The settings in force, shared by every part of the app that obeys them.
#[derive(Debug, Default)]
pub struct CurrentSettings(RwLock<Settings>);

impl CurrentSettings {
    pub fn get(&self) -> Settings {
        self.0.read().expect("settings lock").clone()
    }

    pub fn set(&self, settings: Settings) {
        *self.0.write().expect("settings lock") = settings;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_or_partial_settings_files_still_load() {
        let settings: Settings = serde_json::from_str(r#"{"autostart": true, "unknown": 1}"#).unwrap();
        assert!(settings.autostart);
        assert_eq!(settings.hotkey, DEFAULT_HOTKEY);
        assert_eq!(settings.low_credit_percent, 10.0);
    }

    #[test]
    fn each_pending_kind_follows_its_own_switch() {
        let quiet_messages = Settings { notify_messages: false, ..Settings::default() };
        assert!(quiet_messages.notifies(PendingKind::Approval));
        assert!(quiet_messages.notifies(PendingKind::Goal));
        assert!(!quiet_messages.notifies(PendingKind::Message));
        let quiet_approvals = Settings { notify_approvals: false, ..Settings::default() };
        assert!(!quiet_approvals.notifies(PendingKind::Approval));
        assert!(!quiet_approvals.notifies(PendingKind::Goal));
        assert!(quiet_approvals.notifies(PendingKind::Message));
    }

    #[test]
    fn locale_picks_language() {
        assert_eq!(Lang::from_locale("es_ES.UTF-8"), Lang::Es);
        assert_eq!(Lang::from_locale("en_GB.UTF-8"), Lang::En);
        assert_eq!(Lang::from_locale("C"), Lang::En);
    }

    #[test]
    fn a_call_is_announced_by_notification_popup_or_both() {
        let announce = |call_alert, notify_calls| {
            let a = Settings { call_alert, notify_calls, ..Settings::default() }.call_announcement();
            (a.notification, a.popup)
        };
        assert_eq!(announce(CallAlert::Notification, true), (true, false));
        assert_eq!(announce(CallAlert::Popup, true), (false, true));
        assert_eq!(announce(CallAlert::Both, true), (true, true));
        // Notifications off: the popup does the job, whatever the alert says.
        assert_eq!(announce(CallAlert::Notification, false), (false, true));
        assert_eq!(announce(CallAlert::Both, false), (false, true));
    }
}
