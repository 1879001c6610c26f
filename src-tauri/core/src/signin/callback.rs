//! The strict parser for sign-in callback URLs. Callbacks are untrusted input (any web page or
//! local program can open a `kallyai://` link or hit the loopback port), so this accepts exactly
//! the shapes the sign-in flows produce and refuses everything else. Pure: no I/O, no state.
//!
//! Accepted shapes:
//! - `kallyai://auth/callback?code=..&state=..` (OAuth, deep link)
//! - `http://127.0.0.1:PORT/callback?code=..&state=..` (OAuth, loopback)
//! - `http://127.0.0.1:PORT<any path>?access_token=..&refresh_token=..&expires_in=..&state=..`
//!   (the `/v1/auth/cli` flow, which redirects to the bare port, reference §2.1)
//!
//! and on failure `error=..` (+ optional `error_description`) instead of the result.
//! Parameters other than these are ignored; every parameter must still be well encoded and appear
//! at most once.

use std::collections::BTreeMap;

use oauth2::AuthorizationCode;

use super::error::{clean_description, clean_error_code, Refusal};
use crate::auth::{AccessToken, RefreshToken, Secret, TokenSet};

/// Callbacks longer than this are refused before any parsing (real ones are under 2 KiB).
pub const MAX_CALLBACK_LEN: usize = 8 * 1024;

/// The registered custom-scheme redirect URI (RFC 8252 §7.1).
pub const DEEP_LINK_REDIRECT: &str = "kallyai://auth/callback";

/// Which callback the pending sign-in waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// OAuth through the `kallyai://auth/callback` deep link.
    DeepLink,
    /// OAuth through `http://127.0.0.1:{port}/callback`.
    OAuthLoopback { port: u16 },
    /// The CLI flow: `http://127.0.0.1:{port}`, any path, tokens in the query.
    CliLoopback { port: u16 },
}

impl Expect {
    /// The `redirect_uri` to send to the server for this callback.
    pub fn redirect_uri(&self) -> String {
        match self {
            Expect::DeepLink => DEEP_LINK_REDIRECT.to_string(),
            Expect::OAuthLoopback { port } => format!("http://127.0.0.1:{port}/callback"),
            Expect::CliLoopback { port } => format!("http://127.0.0.1:{port}"),
        }
    }
}

/// What a well-formed callback carries. Debug output is redacted by the secret types.
#[derive(Debug)]
pub struct Callback {
    pub state: Secret,
    pub result: CallbackResult,
}

#[derive(Debug)]
pub enum CallbackResult {
    /// OAuth: a code to exchange (once).
    Code(AuthorizationCode),
    /// CLI flow: the tokens themselves.
    Tokens(TokenSet),
    /// The server's `error` (cleaned) and `error_description` (cleaned, shortened).
    Error { error: String, description: Option<String> },
}

/// Parses `url` as the callback `expect` describes. Does not compare the state (the pending
/// sign-in does that, in constant time).
pub fn parse(expect: &Expect, url: &str) -> Result<Callback, Refusal> {
    if url.len() > MAX_CALLBACK_LEN {
        return Err(Refusal::TooLong);
    }
    if !url.bytes().all(is_uri_byte) {
        return Err(Refusal::BadCharacters);
    }
    if url.contains('#') {
        return Err(Refusal::Fragment);
    }
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, q),
        None => (url, ""),
    };
    check_base(expect, base)?;
    let mut params = decode_query(query)?;
    let state = params.remove("state").ok_or(Refusal::MissingState)?;
    if state.is_empty() {
        return Err(Refusal::MissingState);
    }
    let result_key = match expect {
        Expect::DeepLink | Expect::OAuthLoopback { .. } => "code",
        Expect::CliLoopback { .. } => "access_token",
    };
    let result = match (params.remove(result_key), params.remove("error")) {
        (Some(_), Some(_)) => return Err(Refusal::ResultAndError),
        (None, None) => return Err(Refusal::NoResult),
        (Some(v), None) | (None, Some(v)) if v.is_empty() => return Err(Refusal::EmptyValue),
        (None, Some(error)) => CallbackResult::Error {
            error: clean_error_code(&error),
            description: params.get("error_description").and_then(|d| clean_description(d)),
        },
        (Some(value), None) if result_key == "code" => CallbackResult::Code(AuthorizationCode::new(value)),
        (Some(access), None) => {
            let refresh = params.remove("refresh_token").filter(|r| !r.is_empty()).map(RefreshToken::new);
            // Tolerant: a missing or unreadable expires_in means the documented default.
            let expires_in = params.get("expires_in").and_then(|v| v.parse::<u64>().ok());
            CallbackResult::Tokens(TokenSet::from_grant(AccessToken::new(access), refresh, expires_in))
        }
    };
    Ok(Callback { state: Secret::new(state), result })
}

/// True when an HTTP request target (`/path?query`) that reached the loopback listener is meant
/// as the callback. Anything else (a favicon, a probe) is answered 404 and leaves the pending
/// sign-in alone, as the official CLIs' listeners do (reference §2.1).
pub(crate) fn is_callback_request(expect: &Expect, target: &str) -> bool {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    match expect {
        Expect::DeepLink => false,
        Expect::OAuthLoopback { .. } => path == "/callback",
        Expect::CliLoopback { .. } => query.split('&').any(|pair| {
            let key = pair.split_once('=').map_or(pair, |(k, _)| k);
            key == "access_token" || key == "error"
        }),
    }
}

/// RFC 3986 characters (unreserved, reserved and `%`); everything else is refused raw.
fn is_uri_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&b)
}

fn check_base(expect: &Expect, base: &str) -> Result<(), Refusal> {
    let Some((scheme, rest)) = base.split_once("://") else {
        return Err(Refusal::WrongScheme);
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let (want_scheme, want_authority) = match expect {
        Expect::DeepLink => ("kallyai", "auth".to_string()),
        Expect::OAuthLoopback { port } | Expect::CliLoopback { port } => ("http", format!("127.0.0.1:{port}")),
    };
    if scheme != want_scheme {
        return Err(Refusal::WrongScheme);
    }
    if authority != want_authority {
        return Err(Refusal::WrongHost);
    }
    let path_ok = match expect {
        Expect::DeepLink | Expect::OAuthLoopback { .. } => path == "/callback",
        Expect::CliLoopback { .. } => true,
    };
    if !path_ok {
        return Err(Refusal::WrongPath);
    }
    Ok(())
}

fn decode_query(query: &str) -> Result<BTreeMap<String, String>, Refusal> {
    let mut params = BTreeMap::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if params.insert(decode(key)?, decode(value)?).is_some() {
            return Err(Refusal::Duplicate);
        }
    }
    Ok(params)
}

/// `application/x-www-form-urlencoded` decoding that refuses what lenient decoders let through:
/// a `%` without two hex digits, bytes that are not UTF-8, and control characters.
fn decode(raw: &str) -> Result<String, Refusal> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).ok_or(Refusal::BadEncoding)?;
                out.push(hex_value(hex[0])? << 4 | hex_value(hex[1])?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    let text = String::from_utf8(out).map_err(|_| Refusal::BadEncoding)?;
    if text.chars().any(char::is_control) {
        return Err(Refusal::BadEncoding);
    }
    Ok(text)
}

fn hex_value(b: u8) -> Result<u8, Refusal> {
    match b {
        b'0'..=b'9' => Ok(b - b'0'),
        b'a'..=b'f' => Ok(b - b'a' + 10),
        b'A'..=b'F' => Ok(b - b'A' + 10),
        _ => Err(Refusal::BadEncoding),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DL: Expect = Expect::DeepLink;
    const LB: Expect = Expect::OAuthLoopback { port: 5000 };
    const CLI: Expect = Expect::CliLoopback { port: 8740 };

    fn code_of(expect: &Expect, url: &str) -> Result<String, Refusal> {
        match parse(expect, url)?.result {
            CallbackResult::Code(c) => Ok(c.secret().clone()),
            other => panic!("not a code: {other:?}"),
        }
    }

    #[test]
    fn valid_callbacks_of_each_shape() {
        assert_eq!(code_of(&DL, "kallyai://auth/callback?code=c1&state=s1").unwrap(), "c1");
        assert_eq!(code_of(&LB, "http://127.0.0.1:5000/callback?state=s&code=a%2Fb+c").unwrap(), "a/b c");
        let cb = parse(&CLI, "http://127.0.0.1:8740?access_token=at&refresh_token=rt&expires_in=60&state=s").unwrap();
        assert_eq!(cb.state.expose(), "s");
        let CallbackResult::Tokens(t) = cb.result else { panic!() };
        assert_eq!((t.access.expose(), t.refresh.as_ref().unwrap().expose()), ("at", "rt"));
        assert!(t.expires_within(std::time::Duration::from_secs(61)));
        // Any path for the CLI flow; expires_in is optional and may be garbage.
        let cb = parse(&CLI, "http://127.0.0.1:8740/x/y?access_token=at&state=s&expires_in=soon").unwrap();
        let CallbackResult::Tokens(t) = cb.result else { panic!() };
        assert!(t.refresh.is_none());
        assert!(!t.expires_within(std::time::Duration::from_secs(3000)));
    }

    #[test]
    fn errors_with_and_without_description() {
        let cb = parse(&DL, "kallyai://auth/callback?error=access_denied&state=s").unwrap();
        assert!(
            matches!(cb.result, CallbackResult::Error { ref error, description: None } if error == "access_denied")
        );
        let cb = parse(&LB, "http://127.0.0.1:5000/callback?error=server_error&error_description=Try+later%0A&state=s");
        assert_eq!(cb.unwrap_err(), Refusal::BadEncoding, "a control character in a value");
        let cb =
            parse(&LB, "http://127.0.0.1:5000/callback?error=%3Cb%3E&error_description=Try+later&state=s").unwrap();
        let CallbackResult::Error { error, description } = cb.result else { panic!() };
        assert_eq!((error.as_str(), description.as_deref()), ("error", Some("Try later")));
    }

    #[test]
    fn refusals() {
        let cases: &[(&Expect, &str, Refusal)] = &[
            (&DL, "kallyai://auth/callback?code=c", Refusal::MissingState),
            (&DL, "kallyai://auth/callback?code=c&state=", Refusal::MissingState),
            (&DL, "kallyai://auth/callback?code=c&error=e&state=s", Refusal::ResultAndError),
            (&DL, "kallyai://auth/callback?state=s", Refusal::NoResult),
            (&DL, "kallyai://auth/callback?code=&state=s", Refusal::EmptyValue),
            (&DL, "kallyai://auth/callback?code=c&code=c&state=s", Refusal::Duplicate),
            (&DL, "kallyai://auth/callback?code=c&state=s&state=s", Refusal::Duplicate),
            (&DL, "kallyai://auth/callback?code=c&st%61te=s&state=s", Refusal::Duplicate),
            (&DL, "kallyai://auth/callback?code=%zz&state=s", Refusal::BadEncoding),
            (&DL, "kallyai://auth/callback?code=%4&state=s", Refusal::BadEncoding),
            (&DL, "kallyai://auth/callback?code=%ff&state=s", Refusal::BadEncoding),
            (&DL, "kallyai://auth/callback?code=c&state=s#frag", Refusal::Fragment),
            (&DL, "kallyai://auth/callback?code=c c&state=s", Refusal::BadCharacters),
            (&DL, "kallyai://auth/callback?code=c\u{e9}&state=s", Refusal::BadCharacters),
            (&DL, "KALLYAI://auth/callback?code=c&state=s", Refusal::WrongScheme),
            (&DL, "https://auth/callback?code=c&state=s", Refusal::WrongScheme),
            (&DL, "javascript:alert(1)//?code=c&state=s", Refusal::WrongScheme),
            (&DL, "file:///auth/callback?code=c&state=s", Refusal::WrongScheme),
            (&DL, "kallyai:auth/callback?code=c&state=s", Refusal::WrongScheme),
            (&DL, "kallyai://evil/callback?code=c&state=s", Refusal::WrongHost),
            (&DL, "kallyai://auth@evil/callback?code=c&state=s", Refusal::WrongHost),
            (&DL, "kallyai://auth/callbackx?code=c&state=s", Refusal::WrongPath),
            (&DL, "kallyai://auth/callback/../x?code=c&state=s", Refusal::WrongPath),
            (&DL, "kallyai://auth?code=c&state=s", Refusal::WrongPath),
            (&LB, "http://127.0.0.1:5001/callback?code=c&state=s", Refusal::WrongHost),
            (&LB, "http://localhost:5000/callback?code=c&state=s", Refusal::WrongHost),
            (&LB, "http://127.0.0.1:5000@evil.example/callback?code=c&state=s", Refusal::WrongHost),
            (&LB, "http://127.0.0.1:5000/?code=c&state=s", Refusal::WrongPath),
            (&LB, "kallyai://auth/callback?code=c&state=s", Refusal::WrongScheme),
            (&CLI, "http://127.0.0.1:8740?access_token=a&error=e&state=s", Refusal::ResultAndError),
            (&CLI, "http://127.0.0.1:8740?code=c&state=s", Refusal::NoResult),
            (&CLI, "http://127.0.0.1:8741?access_token=a&state=s", Refusal::WrongHost),
        ];
        for (expect, url, want) in cases {
            assert_eq!(parse(expect, url).map(|_| ()), Err(*want), "{url}");
        }
        let long = format!("kallyai://auth/callback?code=c&state=s&pad={}", "a".repeat(MAX_CALLBACK_LEN));
        assert_eq!(parse(&DL, &long).map(|_| ()), Err(Refusal::TooLong));
    }

    #[test]
    fn unknown_parameters_are_ignored_but_still_checked() {
        assert!(parse(&DL, "kallyai://auth/callback?code=c&state=s&iss=x&&").is_ok());
        assert_eq!(parse(&DL, "kallyai://auth/callback?code=c&state=s&x=%").map(|_| ()), Err(Refusal::BadEncoding));
    }

    #[test]
    fn which_loopback_requests_are_the_callback() {
        assert!(is_callback_request(&LB, "/callback?code=c"));
        assert!(is_callback_request(&LB, "/callback"));
        assert!(!is_callback_request(&LB, "/favicon.ico"));
        assert!(is_callback_request(&CLI, "/?access_token=a&state=s"));
        assert!(is_callback_request(&CLI, "/anything?state=s&error=x"));
        assert!(!is_callback_request(&CLI, "/favicon.ico"));
        assert!(!is_callback_request(&CLI, "/?state=s"));
        assert!(!is_callback_request(&DL, "/callback?code=c"));
    }

    #[test]
    fn debug_output_is_redacted() {
        let cb =
            parse(&CLI, "http://127.0.0.1:8740?access_token=AT-SECRET&refresh_token=RT-SECRET&state=STATE-X").unwrap();
        let text = format!("{cb:?}");
        for secret in ["AT-SECRET", "RT-SECRET", "STATE-X"] {
            assert!(!text.contains(secret), "{text}");
        }
        let cb = parse(&DL, "kallyai://auth/callback?code=CODE-SECRET&state=s").unwrap();
        assert!(!format!("{cb:?}").contains("CODE-SECRET"));
    }
}
