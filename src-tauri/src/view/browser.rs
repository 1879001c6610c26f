//! Web pages open in the system browser; only web links are followed.

use tauri::AppHandle;
use tauri_plugin_opener::OpenerExt;

use super::i18n::{self, text};
use crate::error::CommandError;

pub fn open_web(app: &AppHandle, url: &str) -> Result<(), CommandError> {
    let refuse = |code: &str, key: &str| CommandError::new(code, text(i18n::lang(app), key));
    let parsed = url::Url::parse(url).map_err(|_| refuse("bad_link", "error.link.not_web"))?;
    if !matches!(parsed.scheme(), "https" | "http") {
        return Err(refuse("bad_link", "error.link.only_web"));
    }
    app.opener().open_url(parsed.as_str(), None::<&str>).map_err(|_| refuse("browser_failed", "error.browser"))
}
