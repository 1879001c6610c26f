//! The tray icon and its menu. On Linux the menu is the primary interface (appindicator sends
//! no clicks), so every action lives in it; the icon tells the state at a glance. The tray
//! keeps what its menu lists (live calls, goals), so a language change redraws it as it was.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use kallyai_core::ask::ActiveGoal;
use kallyai_core::settings::Lang;
use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem, Submenu};
use tauri::tray::{TrayIcon, TrayIconBuilder};
use tauri::{AppHandle, Manager, Wry};

use super::i18n::{self, t, text};
use super::windows::Panel;

/// What the icon shows, most urgent first when several apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrayState {
    SignedOut,
    Offline,
    Idle,
    Attention,
    Ringing,
}

impl TrayState {
    fn icon(self) -> Image<'static> {
        let bytes: &'static [u8] = match self {
            TrayState::SignedOut => include_bytes!("../../../icons/tray-signed-out.png"),
            TrayState::Offline => include_bytes!("../../../icons/tray-offline.png"),
            TrayState::Idle => include_bytes!("../../../icons/tray-idle.png"),
            TrayState::Attention => include_bytes!("../../../icons/tray-attention.png"),
            TrayState::Ringing => include_bytes!("../../../icons/tray-ringing.png"),
        };
        Image::from_bytes(bytes).expect("tray icons are valid PNGs")
    }

    fn status_key(self) -> &'static str {
        match self {
            TrayState::SignedOut => "tray.status.signed_out",
            TrayState::Offline => "tray.status.offline",
            _ => "tray.status.idle",
        }
    }
}

/// Menu item ids, also what the tests look for through DBusMenu (by label, not id).
mod id {
    pub const STATUS: &str = "status";
    pub const ASK: &str = "ask";
    pub const INBOX: &str = "inbox";
    pub const ACTIVITY: &str = "activity";
    pub const DIALER: &str = "dialer";
    pub const CREDITS: &str = "credits";
    pub const SETTINGS: &str = "settings";
    pub const ACCOUNT: &str = "account";
    pub const QUIT: &str = "quit";
}

/// A live call as its tray entries show it.
#[derive(Clone, Debug, PartialEq)]
pub struct CallEntry {
    pub call_id: String,
    pub caller: String,
    pub is_vip: bool,
}

/// The tray and the menu items whose text changes with the state.
pub struct Tray {
    app: AppHandle,
    icon: TrayIcon,
    /// The fixed entries with their string keys, relabelled when the language changes.
    labelled: Vec<(MenuItem<Wry>, &'static str)>,
    menu: Menu<Wry>,
    /// The live calls listed at the top of the menu, and their entries.
    calls: Mutex<(Vec<CallEntry>, Vec<MenuItem<Wry>>)>,
    /// "Inbox (N)": N is what the server counts as pending.
    inbox: MenuItem<Wry>,
    inbox_count: Mutex<u64>,
    /// Active goals, each opening the quick-ask box on it.
    goals_menu: Submenu<Wry>,
    goals: Mutex<Vec<ActiveGoal>>,
    status: MenuItem<Wry>,
    account: MenuItem<Wry>,
    /// Whether the account item means "Sign out" (read by the menu handler).
    signed_in: Arc<AtomicBool>,
    /// What `show_state` last drew: a redraw that changes nothing touches nothing (each icon
    /// change writes a PNG and signals the tray host, on the main thread).
    drawn: Mutex<Option<(Lang, TrayState, String)>>,
}

/// What a click on a menu item asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MenuCommand {
    Ask,
    Show(Panel),
    Quit,
    SignIn,
    SignOut,
    OpenCall(String),
    OpenGoal(String),
    TakeOver(String),
    Reject(String),
}

/// Kinds of live-call and goal entries: an entry's id is `<kind>:<call or goal id>`.
const CALL_OPEN: &str = "call-open";
const CALL_TAKEOVER: &str = "call-takeover";
const CALL_REJECT: &str = "call-reject";
const GOAL_OPEN: &str = "goal";

impl Tray {
    pub fn build(
        app: &AppHandle,
        lang: Lang,
        on_command: impl Fn(&AppHandle, MenuCommand) + Send + Sync + 'static,
    ) -> tauri::Result<Tray> {
        let state = TrayState::SignedOut;
        let item = |id: &str, key: &str| MenuItem::with_id(app, id, text(lang, key), true, None::<&str>);
        let status = MenuItem::with_id(app, id::STATUS, text(lang, state.status_key()), false, None::<&str>)?;
        let account = item(id::ACCOUNT, "tray.sign_in")?;
        let labelled = vec![
            (item(id::ASK, "tray.ask")?, "tray.ask"),
            (item(id::ACTIVITY, "tray.activity")?, "tray.activity"),
            (item(id::CREDITS, "tray.credits")?, "tray.credits"),
            (item(id::SETTINGS, "tray.settings")?, "tray.settings"),
            (item(id::QUIT, "tray.quit")?, "tray.quit"),
            (item(id::DIALER, "tray.dialer")?, "tray.dialer"),
        ];
        let [ask, activity, credits, settings, quit, dialer] = [0, 1, 2, 3, 4, 5].map(|i| &labelled[i].0);
        let inbox = item(id::INBOX, "tray.inbox")?;
        // Never empty: appindicator drops a submenu that has no entries.
        let goals_menu = Submenu::with_id_and_items(
            app,
            "goals",
            t(lang, "tray.goals", &[("count", "0")]),
            true,
            &[&MenuItem::with_id(app, "goals-none", text(lang, "tray.goals.none"), false, None::<&str>)?],
        )?;
        let menu = Menu::with_items(
            app,
            &[
                &status,
                &PredefinedMenuItem::separator(app)?,
                ask,
                dialer,
                &inbox,
                &goals_menu,
                activity,
                credits,
                settings,
                &PredefinedMenuItem::separator(app)?,
                &account,
                quit,
            ],
        )?;
        let signed_in = Arc::new(AtomicBool::new(false));
        let menu_signed_in = signed_in.clone();
        let icon = TrayIconBuilder::with_id("main")
            .icon(state.icon())
            .tooltip(text(lang, "tray.tooltip"))
            .menu(&menu)
            .show_menu_on_left_click(true)
            .on_menu_event(move |app, event| {
                let command = match event.id().as_ref() {
                    id::ASK => MenuCommand::Ask,
                    id::INBOX => MenuCommand::Show(Panel::Inbox),
                    id::ACTIVITY => MenuCommand::Show(Panel::Activity),
                    id::DIALER => MenuCommand::Show(Panel::Dialer),
                    id::CREDITS => MenuCommand::Show(Panel::Credits),
                    id::SETTINGS => MenuCommand::Show(Panel::Settings),
                    id::QUIT => MenuCommand::Quit,
                    id::ACCOUNT if menu_signed_in.load(Ordering::Relaxed) => MenuCommand::SignOut,
                    id::ACCOUNT => MenuCommand::SignIn,
                    other => match entry_command(other) {
                        Some(command) => command,
                        None => return,
                    },
                };
                on_command(app, command);
            })
            .build(app)?;
        Ok(Tray {
            app: app.clone(),
            icon,
            labelled,
            menu,
            inbox,
            inbox_count: Default::default(),
            calls: Default::default(),
            goals_menu,
            goals: Default::default(),
            drawn: Default::default(),
            status,
            account,
            signed_in,
        })
    }

    /// Shows `state` in the icon and the first menu line; `status_line` replaces the generic
    /// status text when there is something more useful to say (e.g. the credits line).
    pub fn show_state(&self, lang: Lang, state: TrayState, status_line: Option<&str>) {
        let line = status_line.map(str::to_string).unwrap_or_else(|| text(lang, state.status_key()));
        let mut drawn = self.drawn.lock().expect("tray drawn lock");
        if let Some((was_lang, was_state, was_line)) = drawn.as_ref() {
            if (*was_lang, *was_state, was_line.as_str()) == (lang, state, line.as_str()) {
                return;
            }
        }
        if drawn.as_ref().is_none_or(|(_, was, _)| *was != state) {
            let _ = self.icon.set_icon(Some(state.icon()));
        }
        let _ = self.status.set_text(&line);
        *drawn = Some((lang, state, line));
        let signed_in = state != TrayState::SignedOut;
        self.signed_in.store(signed_in, Ordering::Relaxed);
        let key = if signed_in { "tray.sign_out" } else { "tray.sign_in" };
        let _ = self.account.set_text(text(lang, key));
    }

    /// Relabels the fixed entries, the calls and the goals in `lang` (the status and account
    /// lines follow `show_state`).
    pub fn relabel(&self, lang: Lang) {
        for (item, key) in &self.labelled {
            let _ = item.set_text(text(lang, key));
        }
        let _ = self.icon.set_tooltip(Some(text(lang, "tray.tooltip")));
        let count = *self.inbox_count.lock().expect("tray inbox lock");
        self.label_inbox(lang, count);
        let calls = self.calls.lock().expect("tray calls lock").0.clone();
        self.show_calls(lang, calls);
        let goals = self.goals.lock().expect("tray goals lock").clone();
        self.show_goals(lang, goals);
    }

    /// Shows how many items wait in the inbox, unless the entry already says so.
    pub fn show_inbox_count(&self, lang: Lang, count: u64) {
        let mut shown = self.inbox_count.lock().expect("tray inbox lock");
        if *shown != count {
            *shown = count;
            self.label_inbox(lang, count);
        }
    }

    fn label_inbox(&self, lang: Lang, count: u64) {
        let label = match count {
            0 => text(lang, "tray.inbox"),
            n => t(lang, "tray.inbox.count", &[("count", &n.to_string())]),
        };
        let _ = self.inbox.set_text(label);
    }

    /// Lists the active goals (those waiting for the user first, marked with a dot).
    pub fn show_goals(&self, lang: Lang, goals: Vec<ActiveGoal>) {
        let mut shown = self.goals.lock().expect("tray goals lock");
        if let Ok(items) = self.goals_menu.items() {
            for item in items {
                let _ = self.goals_menu.remove(&item);
            }
        }
        let mut sorted: Vec<&ActiveGoal> = goals.iter().collect();
        sorted.sort_by_key(|g| !g.needs_input);
        for goal in sorted {
            let mark = if goal.needs_input { "● " } else { "" };
            let id = format!("{GOAL_OPEN}:{}", goal.id);
            if let Ok(item) = MenuItem::with_id(&self.app, id, format!("{mark}{}", goal.title), true, None::<&str>) {
                let _ = self.goals_menu.append(&item);
            }
        }
        if goals.is_empty() {
            let none = MenuItem::with_id(&self.app, "goals-none", text(lang, "tray.goals.none"), false, None::<&str>);
            if let Ok(none) = none {
                let _ = self.goals_menu.append(&none);
            }
        }
        let _ = self.goals_menu.set_text(t(lang, "tray.goals", &[("count", &goals.len().to_string())]));
        *shown = goals;
    }

    /// Puts the live calls, with their actions, at the top of the menu (or takes them away).
    pub fn show_calls(&self, lang: Lang, calls: Vec<CallEntry>) {
        let mut shown = self.calls.lock().expect("tray calls lock");
        for item in shown.1.drain(..) {
            let _ = self.menu.remove(&item);
        }
        let mut position = 1; // after the status line
        for call in &calls {
            let vip = if call.is_vip { "★ " } else { "" };
            let entries = [
                (
                    format!("{CALL_OPEN}:{}", call.call_id),
                    format!("{vip}{}", t(lang, "tray.call", &[("caller", &call.caller)])),
                ),
                (format!("{CALL_TAKEOVER}:{}", call.call_id), format!("    {}", text(lang, "call.takeover"))),
                (format!("{CALL_REJECT}:{}", call.call_id), format!("    {}", text(lang, "call.reject"))),
            ];
            for (id, label) in entries {
                let Ok(item) = MenuItem::with_id(&self.app, id, label, true, None::<&str>) else { continue };
                if self.menu.insert(&item, position).is_ok() {
                    position += 1;
                    shown.1.push(item);
                }
            }
        }
        shown.0 = calls;
    }
}

/// The tray, once setup has built it.
pub fn tray(app: &AppHandle) -> Option<tauri::State<'_, Tray>> {
    app.try_state::<Tray>()
}

/// Redraws the live-call entries in the language in force.
pub fn show_calls(app: &AppHandle, calls: Vec<CallEntry>) {
    if let Some(tray) = tray(app) {
        tray.show_calls(i18n::lang(app), calls);
    }
}

/// Redraws the Goals submenu in the language in force.
/// Lists the active goals, unless the menu already lists exactly these.
pub fn show_goals(app: &AppHandle, goals: Vec<ActiveGoal>) {
    if let Some(tray) = tray(app) {
        if *tray.goals.lock().expect("tray goals lock") != goals {
            tray.show_goals(i18n::lang(app), goals);
        }
    }
}

/// The command of a live-call or goal entry, from its id (`<kind>:<call or goal id>`).
fn entry_command(id: &str) -> Option<MenuCommand> {
    let (kind, target) = id.split_once(':')?;
    let target = target.to_string();
    Some(match kind {
        GOAL_OPEN => MenuCommand::OpenGoal(target),
        CALL_OPEN => MenuCommand::OpenCall(target),
        CALL_TAKEOVER => MenuCommand::TakeOver(target),
        CALL_REJECT => MenuCommand::Reject(target),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_ids_name_their_command() {
        assert_eq!(entry_command("goal:g1"), Some(MenuCommand::OpenGoal("g1".into())));
        assert_eq!(entry_command("call-open:c1"), Some(MenuCommand::OpenCall("c1".into())));
        assert_eq!(entry_command("call-takeover:c1"), Some(MenuCommand::TakeOver("c1".into())));
        assert_eq!(entry_command("call-reject:c1"), Some(MenuCommand::Reject("c1".into())));
        assert_eq!(entry_command("goals-none"), None);
    }
}
