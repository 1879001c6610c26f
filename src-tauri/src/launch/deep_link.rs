//! `kallyai://` links. They come from anywhere (a web page, another app), so they are parsed
//! strictly: a known host and path, known parameters once each, bounded sizes. Anything else is
//! refused with one sentence and changes nothing.

use std::fmt;

use url::Url;

use super::action::Action;
use crate::view::windows::Panel;

pub const PREFIX: &str = "kallyai://";
/// Longer links are refused before parsing (a callback is well under 4 KiB).
const MAX_LINK_BYTES: usize = 16 * 1024;
/// An ask longer than this is not something a person typed into a link.
const MAX_ASK_CHARS: usize = 4000;

#[derive(Debug, PartialEq, Eq)]
pub struct LinkError(String);

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "this link cannot be opened: {}", self.0)
    }
}

impl std::error::Error for LinkError {}

fn refuse(why: impl Into<String>) -> LinkError {
    LinkError(why.into())
}

pub fn parse(link: &str) -> Result<Action, LinkError> {
    if link.len() > MAX_LINK_BYTES {
        return Err(refuse("it is too long"));
    }
    if !link.starts_with(PREFIX) {
        return Err(refuse("only kallyai:// links are accepted"));
    }
    let url = Url::parse(link).map_err(|_| refuse("it is not a valid kallyai:// link"))?;
    if url.username() != "" || url.password().is_some() || url.port().is_some() || url.fragment().is_some() {
        return Err(refuse("it has parts a kallyai:// link never has"));
    }
    let path = url.path().trim_end_matches('/');
    match (url.host_str().unwrap_or(""), path) {
        ("ask", "") => {
            let text = single_param(&url, "q")?;
            if let Some(text) = &text {
                if text.chars().count() > MAX_ASK_CHARS {
                    return Err(refuse("the question in it is too long"));
                }
            }
            Ok(Action::Ask(text.filter(|t| !t.trim().is_empty())))
        }
        ("show", panel) => {
            no_params(&url)?;
            let name = panel.trim_start_matches('/');
            Panel::from_name(name)
                .map(Action::Show)
                .ok_or_else(|| refuse(format!("there is no window called '{name}'")))
        }
        // The sign-in flow checks the callback's parameters against the pending sign-in.
        ("auth", "/callback") => Ok(Action::AuthCallback(link.to_string())),
        _ => Err(refuse("KallyAI does not know what to do with it")),
    }
}

/// Reads a parameter that may appear at most once; any other parameter is refused.
fn single_param(url: &Url, name: &str) -> Result<Option<String>, LinkError> {
    let mut found = None;
    for (key, value) in url.query_pairs() {
        if key != name {
            return Err(refuse(format!("it has an unknown parameter '{key}'")));
        }
        if found.replace(value.into_owned()).is_some() {
            return Err(refuse(format!("the parameter '{name}' appears twice")));
        }
    }
    Ok(found)
}

fn no_params(url: &Url) -> Result<(), LinkError> {
    match url.query() {
        None | Some("") => Ok(()),
        Some(_) => Err(refuse("it has parameters this link does not take")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ask_links() {
        assert_eq!(parse("kallyai://ask?q=Book%20a%20table"), Ok(Action::Ask(Some("Book a table".into()))));
        assert_eq!(parse("kallyai://ask?q=caf%C3%A9+para+2"), Ok(Action::Ask(Some("café para 2".into()))));
        assert_eq!(parse("kallyai://ask"), Ok(Action::Ask(None)));
        assert_eq!(parse("kallyai://ask/"), Ok(Action::Ask(None)));
    }

    #[test]
    fn show_links() {
        assert_eq!(parse("kallyai://show/credits"), Ok(Action::Show(Panel::Credits)));
        assert_eq!(parse("kallyai://show/settings/"), Ok(Action::Show(Panel::Settings)));
        assert_eq!(parse("kallyai://show/calls"), Ok(Action::Show(Panel::Calls)));
    }

    #[test]
    fn auth_callback_is_handed_on_whole() {
        let link = "kallyai://auth/callback?code=x&state=y";
        assert_eq!(parse(link), Ok(Action::AuthCallback(link.into())));
    }

    #[test]
    fn hostile_links_are_refused() {
        for link in [
            "kallyai://",
            "kallyai://nowhere",
            "kallyai://show/",
            "kallyai://show/passwords",
            "kallyai://show/credits?x=1",
            "kallyai://ask?q=a&q=b",
            "kallyai://ask?x=1",
            "kallyai://ask/extra",
            "kallyai://user:pw@ask?q=hi",
            "kallyai://ask:99?q=hi",
            "kallyai://ask?q=hi#frag",
            "kallyai://auth/elsewhere",
            "KALLYAI://ask",
            "javascript:alert(1)",
            "file:///etc/passwd",
            "https://kallyai.com/ask",
        ] {
            assert!(parse(link).is_err(), "{link} should be refused");
        }
        let long = format!("kallyai://ask?q={}", "a".repeat(MAX_LINK_BYTES));
        assert_eq!(parse(&long), Err(refuse("it is too long")));
        let long_ask = format!("kallyai://ask?q={}", "a".repeat(MAX_ASK_CHARS + 1));
        assert!(parse(&long_ask).is_err());
    }

    #[test]
    fn invalid_percent_encoding_does_not_panic() {
        // url decodes lossily; the point is a clean result, never a panic.
        let _ = parse("kallyai://ask?q=%ZZ%C3%28");
    }

    #[test]
    fn error_reads_as_a_sentence() {
        let message = parse("kallyai://nowhere").unwrap_err().to_string();
        assert_eq!(message, "this link cannot be opened: KallyAI does not know what to do with it");
    }
}
