//! The callback parser and the one-callback rule, without a network: a table of hostile callbacks
//! (counting how many would reach a code exchange) and property tests that throw random URLs and
//! random mutations of a valid callback at it.

use kallyai_core::signin::{Accepted, Expect, PendingSignIn, Refusal, SignInError, MAX_CALLBACK_LEN};
use oauth2::CsrfToken;
use proptest::prelude::*;

const STATE: &str = "Zt3k9_Qx-2mB7vLpR4sWc8yNe1fHj6aUo0dKiGqXrTs";
const VALID: &str = "kallyai://auth/callback?code=the-code&state=Zt3k9_Qx-2mB7vLpR4sWc8yNe1fHj6aUo0dKiGqXrTs";
const PREFIX: &str = "kallyai://auth/callback?";

fn pending(expect: Expect) -> PendingSignIn {
    PendingSignIn::new(expect, CsrfToken::new(STATE.to_string()))
}

/// Feeds `url` to `p`; counts what would be exchanged (codes) or used (tokens).
fn feed(p: &PendingSignIn, url: &str, exchanges: &mut usize) -> Result<(), SignInError> {
    match p.accept(url) {
        Ok(Accepted::Code(_)) | Ok(Accepted::Tokens(_)) => {
            *exchanges += 1;
            Ok(())
        }
        Err(e) => Err(e),
    }
}

#[test]
fn hostile_table() {
    let refused = |r| Err(SignInError::Refused(r));
    let dl = |q: &str| format!("{PREFIX}{q}");
    let huge = dl(&format!("code=c&state={STATE}&x={}", "a".repeat(64 * 1024)));
    let just_over = dl(&format!("code=c&state={STATE}&x={}", "a".repeat(MAX_CALLBACK_LEN)));
    let cases: Vec<(Expect, String, Result<(), SignInError>)> = vec![
        (Expect::DeepLink, dl("code=c&state=nope"), refused(Refusal::WrongState)),
        (Expect::DeepLink, dl(&format!("code=c&state={}", &STATE[..42])), refused(Refusal::WrongState)),
        (Expect::DeepLink, dl(&format!("code=c&state={}", STATE.to_lowercase())), refused(Refusal::WrongState)),
        (Expect::DeepLink, dl("code=c"), refused(Refusal::MissingState)),
        (Expect::DeepLink, dl("code=c&state="), refused(Refusal::MissingState)),
        (Expect::DeepLink, dl(&format!("code=c&error=e&state={STATE}")), refused(Refusal::ResultAndError)),
        (Expect::DeepLink, dl(&format!("state={STATE}")), refused(Refusal::NoResult)),
        (Expect::DeepLink, dl(&format!("code=a&code=a&state={STATE}")), refused(Refusal::Duplicate)),
        (Expect::DeepLink, dl(&format!("error=a&error=b&state={STATE}")), refused(Refusal::Duplicate)),
        (Expect::DeepLink, dl(&format!("code=a&state={STATE}&state={STATE}")), refused(Refusal::Duplicate)),
        (Expect::DeepLink, dl(&format!("code=a&%73tate={STATE}&state={STATE}")), refused(Refusal::Duplicate)),
        (Expect::DeepLink, dl(&format!("code=%&state={STATE}")), refused(Refusal::BadEncoding)),
        (Expect::DeepLink, dl(&format!("code=%e2%82&state={STATE}")), refused(Refusal::BadEncoding)),
        (Expect::DeepLink, dl(&format!("code=%00&state={STATE}")), refused(Refusal::BadEncoding)),
        (Expect::DeepLink, huge, refused(Refusal::TooLong)),
        (Expect::DeepLink, just_over, refused(Refusal::TooLong)),
        (Expect::DeepLink, format!("javascript:alert(1)?code=c&state={STATE}"), refused(Refusal::WrongScheme)),
        (Expect::DeepLink, format!("file:///auth/callback?code=c&state={STATE}"), refused(Refusal::WrongScheme)),
        (Expect::DeepLink, format!("data:text/html,x?code=c&state={STATE}"), refused(Refusal::WrongScheme)),
        (Expect::DeepLink, format!("kallyai://auth.evil/callback?code=c&state={STATE}"), refused(Refusal::WrongHost)),
        (Expect::DeepLink, format!("kallyai://auth/callback/?code=c&state={STATE}"), refused(Refusal::WrongPath)),
        (
            Expect::OAuthLoopback { port: 4242 },
            format!("http://127.0.0.1:4242/cb?code=c&state={STATE}"),
            refused(Refusal::WrongPath),
        ),
        (
            Expect::OAuthLoopback { port: 4242 },
            format!("http://127.0.0.2:4242/callback?code=c&state={STATE}"),
            refused(Refusal::WrongHost),
        ),
        (
            Expect::OAuthLoopback { port: 4242 },
            format!("http://[::1]:4242/callback?code=c&state={STATE}"),
            refused(Refusal::WrongHost),
        ),
        (
            Expect::CliLoopback { port: 8740 },
            format!("http://127.0.0.1:8740/?access_token=a&access_token=b&state={STATE}"),
            refused(Refusal::Duplicate),
        ),
        (
            Expect::CliLoopback { port: 8740 },
            format!("http://127.0.0.1:8740/?access_token=&state={STATE}"),
            refused(Refusal::EmptyValue),
        ),
        (
            Expect::CliLoopback { port: 8740 },
            "http://127.0.0.1:8740/?access_token=a&state=nope".to_string(),
            refused(Refusal::WrongState),
        ),
    ];
    let mut exchanges = 0;
    for (expect, url, want) in &cases {
        let p = pending(*expect);
        assert_eq!(&feed(&p, url, &mut exchanges), want, "{}", &url[..url.len().min(100)]);
        assert!(p.is_open(), "a refusal does not spend the sign-in: {}", &url[..url.len().min(100)]);
    }
    assert_eq!(exchanges, 0);

    // error= with and without a description spends the sign-in without an exchange.
    for (q, description) in
        [("error=access_denied", None), ("error=temporarily_unavailable&error_description=Busy", Some("Busy"))]
    {
        let p = pending(Expect::DeepLink);
        let err = feed(&p, &dl(&format!("{q}&state={STATE}")), &mut exchanges).unwrap_err();
        assert_eq!(
            err,
            SignInError::Denied {
                error: q[6..].split('&').next().unwrap().into(),
                description: description.map(Into::into)
            }
        );
        assert!(!p.is_open());
        assert_eq!(feed(&p, VALID, &mut exchanges), Err(SignInError::AlreadyUsed));
    }
    assert_eq!(exchanges, 0);

    // Replay and a second callback after success: one exchange in total.
    let p = pending(Expect::DeepLink);
    feed(&p, VALID, &mut exchanges).unwrap();
    assert_eq!(feed(&p, VALID, &mut exchanges), Err(SignInError::AlreadyUsed));
    assert_eq!(feed(&p, &dl(&format!("code=another&state={STATE}")), &mut exchanges), Err(SignInError::AlreadyUsed));
    assert_eq!(exchanges, 1);

    // Closed (cancelled/timed out): nothing is pending any more.
    let p = pending(Expect::DeepLink);
    assert!(p.close());
    assert_eq!(feed(&p, VALID, &mut exchanges), Err(SignInError::NoSignInPending));
    assert_eq!(exchanges, 1);
}

#[test]
fn no_sentence_carries_a_secret() {
    let p = pending(Expect::DeepLink);
    for url in [
        dl_with("code=SECRET-CODE&state=SECRET-STATE"),
        dl_with(&format!("code=SECRET-CODE&code=SECRET-CODE&state={STATE}")),
        dl_with(&format!("error=SECRET-CODE&error_description=SECRET-DESC&state={STATE}")),
    ] {
        let err = p.accept(&url).unwrap_err();
        for text in [err.to_string(), format!("{err:?}"), serde_json::to_string(&err).unwrap()] {
            assert!(!text.contains("SECRET-CODE") && !text.contains(STATE) && !text.contains("SECRET-STATE"), "{text}");
        }
    }
}

fn dl_with(q: &str) -> String {
    format!("{PREFIX}{q}")
}

/// What an independent (lenient) URL parser says an accepted callback must be.
fn independently_valid(url: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else { return false };
    let pairs: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
    let count = |k: &str| pairs.iter().filter(|(key, _)| key == k).count();
    let state_ok = pairs.iter().any(|(k, v)| k == "state" && v == STATE);
    url.starts_with(PREFIX)
        && parsed.fragment().is_none()
        && count("state") == 1
        && state_ok
        && count("code") == 1
        && count("error") == 0
}

#[derive(Clone, Debug)]
enum Mutation {
    Insert(usize, char),
    Delete(usize),
    Replace(usize, char),
    Duplicate(usize, usize),
}

fn apply(url: &str, m: &Mutation) -> String {
    let mut chars: Vec<char> = url.chars().collect();
    let at = |i: usize, len: usize| if len == 0 { 0 } else { i % len };
    match *m {
        Mutation::Insert(i, c) => chars.insert(at(i, chars.len() + 1), c),
        Mutation::Delete(i) => {
            if !chars.is_empty() {
                chars.remove(at(i, chars.len()));
            }
        }
        Mutation::Replace(i, c) => {
            if !chars.is_empty() {
                let i = at(i, chars.len());
                chars[i] = c;
            }
        }
        Mutation::Duplicate(from, len) => {
            let from = at(from, chars.len());
            let piece: Vec<char> = chars[from..(from + len % 24).min(chars.len())].to_vec();
            chars.splice(from..from, piece);
        }
    }
    chars.into_iter().collect()
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let ch = prop_oneof![
        4 => proptest::char::range('!', '~'),
        1 => Just('%'),
        1 => Just('&'),
        1 => Just('='),
        1 => Just('#'),
        1 => any::<char>(),
    ];
    prop_oneof![
        (any::<usize>(), ch.clone()).prop_map(|(i, c)| Mutation::Insert(i, c)),
        any::<usize>().prop_map(Mutation::Delete),
        (any::<usize>(), ch).prop_map(|(i, c)| Mutation::Replace(i, c)),
        (any::<usize>(), any::<usize>()).prop_map(|(i, n)| Mutation::Duplicate(i, n)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, max_shrink_iters: 2000, ..ProptestConfig::default() })]

    /// Random strings never panic the parser and are never accepted.
    #[test]
    fn random_urls_are_refused(url in "\\PC{0,300}", expect_port in 1u16..) {
        for expect in [Expect::DeepLink, Expect::OAuthLoopback { port: expect_port }, Expect::CliLoopback { port: expect_port }] {
            prop_assert!(pending(expect).accept(&url).is_err());
        }
    }

    /// URL-shaped noise around the real prefix: never a panic, never accepted without the state.
    #[test]
    fn url_shaped_noise_is_refused(q in "[a-z_=&%0-9A-F+#?]{0,200}") {
        let url = format!("{PREFIX}{q}");
        prop_assert!(pending(Expect::DeepLink).accept(&url).is_err());
    }

    /// Up to three random edits of a valid callback: whatever is accepted is a callback an
    /// independent parser also reads as this sign-in's (right place, this state once, one code),
    /// and an edit of the scheme/host/path or of the state is always refused.
    #[test]
    fn mutated_callbacks(ms in proptest::collection::vec(mutation(), 1..4)) {
        let mut url = VALID.to_string();
        for m in &ms {
            url = apply(&url, m);
        }
        let p = pending(Expect::DeepLink);
        match p.accept(&url) {
            Ok(Accepted::Code(_)) => {
                prop_assert!(independently_valid(&url), "accepted but not valid: {url}");
                prop_assert!(!p.is_open());
            }
            Ok(other) => prop_assert!(false, "a deep link yielded {other:?}"),
            Err(e) => {
                let fine = !e.ends_sign_in() || matches!(e, SignInError::Denied { .. });
                prop_assert!(fine, "unexpected ending: {:?}", e);
            }
        }
        let tail = format!("&state={STATE}");
        if !url.starts_with(PREFIX) || !url.contains(&tail) {
            prop_assert!(pending(Expect::DeepLink).accept(&url).is_err(), "{url}");
        }
    }
}

#[test]
fn the_valid_callback_is_accepted() {
    let p = pending(Expect::DeepLink);
    let Ok(Accepted::Code(code)) = p.accept(VALID) else { panic!() };
    assert_eq!(code.secret(), "the-code");
    assert!(independently_valid(VALID));
}
