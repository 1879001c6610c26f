//! `SignInError`: why a sign-in or one of its callbacks failed, as one sentence for the user.
//! No variant holds a code, state, verifier or token, so neither `Display` nor `Debug` can leak one.

use std::fmt;

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use crate::error::ApiError;

/// Why a callback URL was refused before it could touch the pending sign-in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Longer than `MAX_CALLBACK_LEN`.
    TooLong,
    /// Spaces, control characters or non-ASCII outside percent-encoding.
    BadCharacters,
    /// A `#fragment` (callbacks never carry one).
    Fragment,
    /// Not `kallyai:` / `http:` as expected (`javascript:`, `file:`, `https:` ...).
    WrongScheme,
    /// Not `auth` (deep link) or not `127.0.0.1:<the listening port>` (loopback).
    WrongHost,
    /// Not `/callback` where that path is required.
    WrongPath,
    /// A `%` not followed by two hex digits, or bytes that are not UTF-8 / are control characters.
    BadEncoding,
    /// The same parameter twice.
    Duplicate,
    /// No `state`.
    MissingState,
    /// A `state` that is not the pending sign-in's.
    WrongState,
    /// Both a result (`code` / `access_token`) and an `error`.
    ResultAndError,
    /// Neither a result nor an `error`.
    NoResult,
    /// A required value (`code`, `access_token`, `error`, `state`) is empty.
    EmptyValue,
}

/// A failed sign-in or a refused callback. `Display` is one sentence for the user.
#[derive(Clone, Debug, PartialEq)]
pub enum SignInError {
    /// The callback URL was refused; the pending sign-in is untouched and still waits.
    Refused(Refusal),
    /// A callback arrived while no sign-in was waiting for one (none started, or it ended).
    NoSignInPending,
    /// The pending sign-in already took its one callback (a replay or a second callback).
    AlreadyUsed,
    /// The server sent `error=...` back (e.g. the user pressed Deny). `error` is the RFC 6749
    /// code when it looks like one; `description` is the server's text, trimmed and shortened.
    Denied { error: String, description: Option<String> },
    /// The token endpoint refused the authorization code with an RFC 6749 §5.2 error; `error`
    /// is the server's code (`invalid_grant`, …) when it looks like one.
    TokenRefused { error: String },
    /// The token endpoint gave no tokens for the code and no readable reason (an empty token, a
    /// body that is neither tokens nor an RFC 6749 error).
    CodeRefused,
    /// The server could not be reached (discovery, code exchange); see `ApiError::is_network`.
    Api(ApiError),
    /// Nothing came back before the timeout.
    TimedOut,
    /// `cancel()` was called (or every handle was dropped).
    Cancelled,
    /// Every port 8740–8759 is taken, so the CLI loopback flow cannot listen.
    NoFreePort,
    /// The loopback listener could not be opened for another reason.
    ListenFailed,
    /// The server's sign-in settings (metadata endpoints) cannot be used.
    BadServerSettings,
}

impl SignInError {
    /// A stable code for the UI (`{code, message}`), like `ApiError::code`.
    pub fn code(&self) -> &str {
        match self {
            SignInError::Refused(_) => "callback_refused",
            SignInError::NoSignInPending => "no_sign_in_pending",
            SignInError::AlreadyUsed => "callback_already_used",
            SignInError::Denied { .. } => "sign_in_denied",
            SignInError::TokenRefused { .. } | SignInError::CodeRefused => "code_refused",
            SignInError::Api(e) => e.code(),
            SignInError::TimedOut => "sign_in_timeout",
            SignInError::Cancelled => "sign_in_cancelled",
            SignInError::NoFreePort => "port_unavailable",
            SignInError::ListenFailed => "listen_failed",
            SignInError::BadServerSettings => "bad_server_settings",
        }
    }

    /// True when this outcome ends the sign-in (it has used up its one callback or its time);
    /// false for refusals that leave the pending sign-in waiting.
    pub fn ends_sign_in(&self) -> bool {
        !matches!(self, SignInError::Refused(_) | SignInError::NoSignInPending | SignInError::AlreadyUsed)
    }
}

impl fmt::Display for SignInError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text: &str = match self {
            SignInError::Refused(
                Refusal::TooLong
                | Refusal::BadCharacters
                | Refusal::Fragment
                | Refusal::WrongScheme
                | Refusal::WrongHost
                | Refusal::WrongPath,
            ) => "This link is not a KallyAI sign-in link, so it was ignored.",
            SignInError::Refused(Refusal::MissingState | Refusal::WrongState) => {
                "This sign-in answer does not belong to the sign-in in progress, so it was ignored."
            }
            SignInError::Refused(_) => "The sign-in answer was malformed, so it was ignored.",
            SignInError::NoSignInPending => "No sign-in is in progress, so this sign-in link was ignored.",
            SignInError::AlreadyUsed => "This sign-in answer was already used, so it was ignored.",
            SignInError::Denied { error, .. } if error == "access_denied" => {
                "The sign-in was declined in the browser. Sign in again when you are ready."
            }
            SignInError::Denied { error, .. } => {
                return write!(f, "KallyAI did not sign you in ({error}). Start the sign-in again.");
            }
            SignInError::TokenRefused { error } => {
                return write!(f, "KallyAI did not accept this sign-in ({error}). Start the sign-in again.");
            }
            SignInError::CodeRefused => "KallyAI did not accept this sign-in. Start the sign-in again.",
            SignInError::Api(e) => return write!(f, "{e}"),
            SignInError::TimedOut => "The sign-in was not finished in time. Start it again when you are ready.",
            SignInError::Cancelled => "The sign-in was cancelled.",
            SignInError::NoFreePort => {
                "No local port between 8740 and 8759 is free for the sign-in. Close other KallyAI sign-ins and try again."
            }
            SignInError::ListenFailed => {
                "The sign-in could not listen for the browser on this computer. Try again."
            }
            SignInError::BadServerSettings => {
                "KallyAI's sign-in settings cannot be used by this app. Try again later or update the app."
            }
        };
        f.write_str(text)
    }
}

impl std::error::Error for SignInError {}

impl From<ApiError> for SignInError {
    fn from(e: ApiError) -> Self {
        SignInError::Api(e)
    }
}

/// The UI sees `{code, message}`, like `ApiError`.
impl Serialize for SignInError {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("SignInError", 2)?;
        st.serialize_field("code", self.code())?;
        st.serialize_field("message", &self.to_string())?;
        st.end()
    }
}

/// Keeps an RFC 6749 error code only if it looks like one (`[a-z_]`, short); the server's text is
/// untrusted and is shown to the user.
pub(crate) fn clean_error_code(raw: &str) -> String {
    let ok = !raw.is_empty() && raw.len() <= 64 && raw.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    if ok {
        raw.to_string()
    } else {
        "error".to_string()
    }
}

/// One line, at most 200 characters, no control characters.
pub(crate) fn clean_description(raw: &str) -> Option<String> {
    let text: String = raw.chars().filter(|c| !c.is_control()).take(200).collect();
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sentence_is_one_sentence() {
        let all = [
            SignInError::Refused(Refusal::WrongScheme),
            SignInError::Refused(Refusal::WrongState),
            SignInError::Refused(Refusal::Duplicate),
            SignInError::NoSignInPending,
            SignInError::AlreadyUsed,
            SignInError::Denied { error: "access_denied".into(), description: None },
            SignInError::Denied { error: "server_error".into(), description: Some("x".into()) },
            SignInError::TokenRefused { error: "invalid_grant".into() },
            SignInError::CodeRefused,
            SignInError::TimedOut,
            SignInError::Cancelled,
            SignInError::NoFreePort,
            SignInError::ListenFailed,
            SignInError::BadServerSettings,
        ];
        for e in all {
            let s = e.to_string();
            assert!(s.ends_with('.'), "{s}");
            assert!(s.matches(". ").count() <= 1, "{s}");
            let v = serde_json::to_value(&e).unwrap();
            assert_eq!(v["message"], s);
            assert_eq!(v["code"], e.code());
        }
    }

    #[test]
    fn untrusted_server_text_is_cleaned() {
        assert_eq!(clean_error_code("access_denied"), "access_denied");
        assert_eq!(clean_error_code("<script>"), "error");
        assert_eq!(clean_error_code(""), "error");
        assert_eq!(clean_description(" a\nb\u{0}c "), Some("abc".to_string()));
        assert_eq!(clean_description(&"x".repeat(500)).unwrap().len(), 200);
        assert_eq!(clean_description(" \n"), None);
    }

    #[test]
    fn refusals_do_not_end_the_sign_in() {
        assert!(!SignInError::Refused(Refusal::WrongState).ends_sign_in());
        assert!(!SignInError::AlreadyUsed.ends_sign_in());
        assert!(SignInError::TimedOut.ends_sign_in());
        assert!(SignInError::Denied { error: "e".into(), description: None }.ends_sign_in());
    }
}
