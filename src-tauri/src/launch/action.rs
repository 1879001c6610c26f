//! What a user can ask the running app to do, whichever way they asked: a flag, a
//! `kallyai://` link, the tray or a notification all end up as one `Action`.

pub use crate::features::dialer::CallPrefill;
use crate::view::windows::Panel;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Open the quick-ask box, optionally prefilled.
    Ask(Option<String>),
    /// Show one of the app's windows.
    Show(Panel),
    /// Open "Call someone…", its fields prefilled where given. Never places a call by itself.
    Call(CallPrefill),
    /// A sign-in callback (`kallyai://auth/callback?...`); handled by the sign-in flow.
    AuthCallback(String),
    /// Quit the running instance.
    Quit,
}
