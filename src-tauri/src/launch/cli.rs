//! The command line: `kallyai-desktop [--api-base URL] [--ask [TEXT]] [--show PANEL] [--quit]
//! [kallyai://...]`. Parsing is pure, so the same code checks a first launch and the arguments a
//! second launch forwards to the running instance.

use std::fmt;

use super::action::{Action, CallPrefill};
use super::deep_link;
use crate::view::windows::Panel;

pub const HELP: &str = "\
KallyAI Desktop: your KallyAI executive assistant in the tray.

Usage: kallyai-desktop [OPTIONS] [kallyai://LINK]

Options:
  --api-base URL      KallyAI server to use (default https://api.kallyai.com, or $KALLYAI_API_BASE);
                      plain http is accepted for loopback addresses only
  --ask [TEXT]        open the quick-ask box, prefilled with TEXT
  --call [NUMBER]     open 'Call someone…', prefilled with NUMBER (you place the call)
  --show PANEL        show a window: credits, activity (also: calls), settings, ask or signin
  --quit              quit the running instance
  --version           print the version and exit
  --help              print this help and exit

If KallyAI Desktop is already running, the options go to it and this process exits.
Links: kallyai://ask?q=TEXT, kallyai://show/credits, kallyai://show/activity, kallyai://show/settings,
       kallyai://call?number=NUMBER&task=TEXT (prefills 'Call someone…'; never places a call)";

/// What to do with this process.
#[derive(Debug, PartialEq, Eq)]
pub enum Invocation {
    /// Print this and exit 0 (`--help`, `--version`); no instance is touched.
    Print(String),
    /// Start (or forward to the running instance).
    Run(Launch),
}

/// A checked command line.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Launch {
    pub api_base: Option<String>,
    /// Actions from flags, in order.
    pub actions: Vec<Action>,
    /// Actions from `kallyai://` links; these reach a running instance through the deep-link
    /// plugin, so the forwarding path must not act on them a second time.
    pub link_actions: Vec<Action>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct CliError(pub String);

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CliError {}

pub fn parse<I, S>(args: I) -> Result<Invocation, CliError>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut args = args.into_iter().map(Into::into).peekable();
    let mut launch = Launch::default();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag.to_string(), Some(value.to_string())),
            _ => (arg.clone(), None),
        };
        match flag.as_str() {
            "--help" | "-h" => return Ok(Invocation::Print(HELP.to_string())),
            "--version" | "-V" => {
                return Ok(Invocation::Print(format!("kallyai-desktop {}", env!("CARGO_PKG_VERSION"))))
            }
            "--api-base" => {
                let value = inline.or_else(|| args.next()).ok_or_else(|| {
                    CliError("--api-base needs a URL, e.g. --api-base https://api.kallyai.com".into())
                })?;
                kallyai_core::config::Config::new(&value).map_err(|e| CliError(e.to_string()))?;
                launch.api_base = Some(value);
            }
            "--ask" => {
                // The text is optional: take the next argument unless it is another option or a link.
                let text = inline
                    .or_else(|| args.next_if(|next| !next.starts_with("--") && !next.starts_with(deep_link::PREFIX)));
                launch.actions.push(Action::Ask(text.filter(|t| !t.trim().is_empty())));
            }
            "--call" => {
                // The number is optional, as the text of --ask; the call is placed from the form.
                let number = inline
                    .or_else(|| args.next_if(|next| !next.starts_with("--") && !next.starts_with(deep_link::PREFIX)));
                let number = number.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
                launch.actions.push(Action::Call(CallPrefill { number, task: None }));
            }
            "--show" => {
                let value = inline.or_else(|| args.next()).ok_or_else(|| {
                    CliError("--show needs a window name: credits, activity, settings, ask or signin".into())
                })?;
                let panel = Panel::from_name(&value).ok_or_else(|| {
                    CliError(format!(
                        "there is no window called '{value}'; use credits, activity, settings, ask or signin"
                    ))
                })?;
                launch.actions.push(Action::Show(panel));
            }
            "--quit" => launch.actions.push(Action::Quit),
            _ if arg.starts_with(deep_link::PREFIX) || arg.contains("://") => {
                launch.link_actions.push(deep_link::parse(&arg).map_err(|e| CliError(e.to_string()))?);
            }
            _ if arg.starts_with('-') => {
                return Err(CliError(format!("unknown option '{flag}'; run kallyai-desktop --help to see the options")))
            }
            _ => return Err(CliError(format!("unexpected argument '{arg}'; to ask something, use --ask \"{arg}\""))),
        }
    }
    Ok(Invocation::Run(launch))
}

#[cfg(test)]
mod tests {
    use proptest::strategy::Strategy;

    use super::*;

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config { cases: 2000, ..Default::default() })]

        /// Any command line: a launch, a printout or one sentence of error; never a panic.
        #[test]
        fn any_command_line_is_parsed_or_refused(args in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::sample::select(vec!["--ask", "--call", "--show", "--quit", "--api-base", "--help", "-h", "kallyai://ask"])
                    .prop_map(String::from),
                "\\PC{0,40}",
            ],
            0..6,
        )) {
            if let Err(error) = parse(args) {
                proptest::prop_assert!(!error.0.is_empty());
            }
        }
    }

    fn run(args: &[&str]) -> Launch {
        match parse(args.iter().copied()) {
            Ok(Invocation::Run(launch)) => launch,
            other => panic!("expected a launch for {args:?}, got {other:?}"),
        }
    }

    fn error(args: &[&str]) -> String {
        parse(args.iter().copied()).expect_err("expected an error").0
    }

    #[test]
    fn no_arguments_starts_the_app() {
        assert_eq!(run(&[]), Launch::default());
    }

    #[test]
    fn call_takes_an_optional_number() {
        let call = |number: Option<&str>| Action::Call(CallPrefill { number: number.map(Into::into), task: None });
        assert_eq!(run(&["--call"]).actions, vec![call(None)]);
        assert_eq!(run(&["--call", "+34 911 22 23 33"]).actions, vec![call(Some("+34 911 22 23 33"))]);
        assert_eq!(run(&["--call", "--quit"]).actions, vec![call(None), Action::Quit]);
    }

    #[test]
    fn ask_takes_optional_text() {
        assert_eq!(run(&["--ask"]).actions, vec![Action::Ask(None)]);
        assert_eq!(run(&["--ask", "book a table"]).actions, vec![Action::Ask(Some("book a table".into()))]);
        assert_eq!(run(&["--ask=hi"]).actions, vec![Action::Ask(Some("hi".into()))]);
        assert_eq!(run(&["--ask", "--show", "credits"]).actions, vec![Action::Ask(None), Action::Show(Panel::Credits)]);
    }

    #[test]
    fn show_and_quit() {
        assert_eq!(run(&["--show", "credits"]).actions, vec![Action::Show(Panel::Credits)]);
        assert_eq!(run(&["--show=settings"]).actions, vec![Action::Show(Panel::Settings)]);
        assert_eq!(run(&["--quit"]).actions, vec![Action::Quit]);
    }

    #[test]
    fn api_base_is_validated() {
        assert_eq!(run(&["--api-base", "http://127.0.0.1:8080"]).api_base.as_deref(), Some("http://127.0.0.1:8080"));
        assert!(error(&["--api-base", "http://example.com"]).contains("http"));
        assert!(error(&["--api-base"]).contains("needs a URL"));
    }

    #[test]
    fn links_are_parsed_and_kept_apart_from_flags() {
        let launch = run(&["kallyai://show/credits"]);
        assert!(launch.actions.is_empty());
        assert_eq!(launch.link_actions, vec![Action::Show(Panel::Credits)]);
    }

    #[test]
    fn bad_input_gets_one_sentence() {
        assert!(error(&["--frobnicate"]).contains("unknown option '--frobnicate'"));
        assert!(error(&["--show", "nope"]).contains("no window called 'nope'"));
        assert!(error(&["--show"]).contains("needs a window name"));
        assert!(error(&["hello"]).contains("--ask"));
        assert!(error(&["kallyai://nowhere"]).contains("cannot be opened"));
        assert!(error(&["https://evil.example/"]).contains("kallyai://"));
    }

    #[test]
    fn help_and_version_print() {
        assert!(matches!(parse(["--help"]), Ok(Invocation::Print(t)) if t.contains("Usage")));
        assert!(matches!(parse(["--version"]), Ok(Invocation::Print(t)) if t.starts_with("kallyai-desktop ")));
    }
}
