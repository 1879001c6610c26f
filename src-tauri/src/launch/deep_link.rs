//! `kallyai://` links. They come from anywhere (a web page, another app), so they are parsed
//! strictly: a known host and path, known parameters once each, bounded sizes. Anything else is
//! refused with one sentence and changes nothing.

use std::fmt;

use url::Url;

use super::action::{Action, CallPrefill};
use crate::view::windows::Panel;

pub const PREFIX: &str = "kallyai://";
/// Longer links are refused before parsing (a callback is well under 4 KiB).
const MAX_LINK_BYTES: usize = 16 * 1024;
/// An ask longer than this is not something a person typed into a link.
const MAX_ASK_CHARS: usize = 4000;
/// A phone number as people write it, with spaces and punctuation.
const MAX_NUMBER_CHARS: usize = 40;

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
        // Only prefills the form: placing the call is always the user's own click.
        ("call", "") => {
            let [number, task] = params(&url, ["number", "task"])?;
            if number.as_ref().is_some_and(|n| n.chars().count() > MAX_NUMBER_CHARS) {
                return Err(refuse("the number in it is too long"));
            }
            if task.as_ref().is_some_and(|t| t.chars().count() > MAX_ASK_CHARS) {
                return Err(refuse("the task in it is too long"));
            }
            let given = |v: Option<String>| v.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
            Ok(Action::Call(CallPrefill { number: given(number), task: given(task) }))
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

/// Reads parameters that may each appear at most once; any other parameter is refused.
fn params<const N: usize>(url: &Url, names: [&str; N]) -> Result<[Option<String>; N], LinkError> {
    let mut found: [Option<String>; N] = std::array::from_fn(|_| None);
    for (key, value) in url.query_pairs() {
        let i = names
            .iter()
            .position(|n| *n == key)
            .ok_or_else(|| refuse(format!("it has an unknown parameter '{key}'")))?;
        if found[i].replace(value.into_owned()).is_some() {
            return Err(refuse(format!("the parameter '{key}' appears twice")));
        }
    }
    Ok(found)
}

/// Reads a parameter that may appear at most once; any other parameter is refused.
fn single_param(url: &Url, name: &str) -> Result<Option<String>, LinkError> {
    params(url, [name]).map(|[value]| value)
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
        assert_eq!(parse("kallyai://show/activity"), Ok(Action::Show(Panel::Activity)));
        // The Recent calls window's old name opens Activity, which took it over.
        assert_eq!(parse("kallyai://show/calls"), Ok(Action::Show(Panel::Activity)));
    }

    #[test]
    fn call_links_only_prefill() {
        let prefill = |number: Option<&str>, task: Option<&str>| {
            Ok(Action::Call(CallPrefill { number: number.map(Into::into), task: task.map(Into::into) }))
        };
        assert_eq!(
            parse("kallyai://call?number=%2B34%20911%2022%2023%2033&task=Move+my+appointment"),
            prefill(Some("+34 911 22 23 33"), Some("Move my appointment"))
        );
        assert_eq!(parse("kallyai://call?task=Ask+about+prices"), prefill(None, Some("Ask about prices")));
        assert_eq!(parse("kallyai://call/?number=+&task="), prefill(None, None));
        for link in ["kallyai://call?number=1&number=2", "kallyai://call?place=now", "kallyai://call/now"] {
            assert!(parse(link).is_err(), "{link} should be refused");
        }
        assert!(parse(&format!("kallyai://call?number={}", "1".repeat(MAX_NUMBER_CHARS + 1))).is_err());
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

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config { cases: 2000, ..Default::default() })]

        /// Any text: parsed or refused, never a panic.
        #[test]
        fn any_text_is_parsed_or_refused(link in "\\PC{0,300}") {
            let _ = parse(&link);
        }

        /// Link-shaped noise after each known host: what is accepted stays within its bounds,
        /// and only the callback is handed on whole.
        #[test]
        fn link_shaped_noise_stays_within_bounds(
            host in proptest::sample::select(vec!["ask", "show", "call", "auth", "ASK", ""]),
            rest in "[a-zA-Z0-9/?&=%#+:@._~-]{0,200}",
        ) {
            let link = format!("kallyai://{host}{rest}");
            match parse(&link) {
                Ok(Action::Ask(Some(text))) => proptest::prop_assert!(text.chars().count() <= MAX_ASK_CHARS),
                Ok(Action::Call(prefill)) => {
                    proptest::prop_assert!(prefill.number.is_none_or(|n| n.chars().count() <= MAX_NUMBER_CHARS));
                }
                Ok(Action::AuthCallback(whole)) => proptest::prop_assert_eq!(whole, link),
                _ => {}
            }
        }
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
