//! Web pages open in the system browser; only web links are followed, and only over https: a
//! link from a reply or a billing page the server names goes out of the app, where plain http can
//! be rewritten on the way. Plain http is for a KallyAI server on this machine (the sim), and
//! then only to this machine.

use kallyai_core::config::is_loopback;
use tauri::AppHandle;
use tauri_plugin_opener::OpenerExt;
use url::Url;

use super::i18n::{self, text};
use crate::core_handle::core;
use crate::error::CommandError;

pub fn open_web(app: &AppHandle, url: &str) -> Result<(), CommandError> {
    let refuse = |key: &str| CommandError::new("bad_link", text(i18n::lang(app), key));
    let parsed = Url::parse(url).map_err(|_| refuse("error.link.not_web"))?;
    let local_server = Url::parse(core(app).client.config().api_base()).is_ok_and(|base| is_loopback(&base));
    link_allowed(&parsed, local_server).map_err(refuse)?;
    app.opener()
        .open_url(parsed.as_str(), None::<&str>)
        .map_err(|_| CommandError::new("browser_failed", text(i18n::lang(app), "error.browser")))
}

/// Whether `url` may open in the browser; else the key of the sentence that says why not.
fn link_allowed(url: &Url, local_server: bool) -> Result<(), &'static str> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if local_server && is_loopback(url) => Ok(()),
        "http" => Err("error.link.not_secure"),
        _ => Err("error.link.only_web"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_only_and_http_only_to_a_local_server() {
        let allowed = |url: &str, local: bool| link_allowed(&Url::parse(url).unwrap(), local);
        assert_eq!(allowed("https://kallyai.com/pricing", false), Ok(()));
        assert_eq!(allowed("http://kallyai.com/pricing", false), Err("error.link.not_secure"));
        assert_eq!(allowed("http://kallyai.com/pricing", true), Err("error.link.not_secure"));
        assert_eq!(allowed("http://127.0.0.1:4010/portal", false), Err("error.link.not_secure"));
        assert_eq!(allowed("http://127.0.0.1:4010/portal", true), Ok(()));
        for other in ["javascript:alert(1)", "file:///etc/passwd", "kallyai://ask?q=x", "data:text/html,x"] {
            assert_eq!(allowed(other, true), Err("error.link.only_web"), "{other}");
        }
    }
}
