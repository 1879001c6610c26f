//! Web pages open in the system browser; only web links are followed.

use tauri::AppHandle;
use tauri_plugin_opener::OpenerExt;

use crate::error::CommandError;

pub fn open_web(app: &AppHandle, url: &str) -> Result<(), CommandError> {
    let parsed = url::Url::parse(url).map_err(|_| CommandError::new("bad_link", "That link is not a web address."))?;
    if !matches!(parsed.scheme(), "https" | "http") {
        return Err(CommandError::new("bad_link", "Only web links open from KallyAI replies."));
    }
    app.opener()
        .open_url(parsed.as_str(), None::<&str>)
        .map_err(|_| CommandError::new("browser_failed", "The browser could not be opened."))
}
