//! What a notification is, whichever platform shows it: the `Notice`, how it ended
//! (`Response`), and the `Notifier` each platform implements. Apart from `mod.rs` so the
//! implementations can use these without depending on the module that chooses between them.

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
    /// Whether a notice's actions (and a click on it) come back as `Response`s. Where they do not,
    /// a feature that needs the user's answer offers it in a window as well.
    fn has_actions(&self) -> bool;
    /// Shows `notice` (replacing one with the same key); `on_response` runs at most once, when the
    /// user acts on it or closes it, never when it is replaced or withdrawn by the app.
    fn show(&self, notice: Notice, on_response: OnResponse);
    fn withdraw(&self, key: &str);
}
