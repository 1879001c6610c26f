//! `PendingSignIn`: one started sign-in waiting for its one callback. It owns the `state`, checks
//! it in constant time, and hands out the result (a code or tokens) at most once.

use std::sync::Mutex;

use oauth2::{AuthorizationCode, CsrfToken};
use subtle::ConstantTimeEq;

use super::callback::{self, CallbackResult, Expect};
use super::error::{Refusal, SignInError};
use crate::auth::TokenSet;

/// What the one accepted callback yielded.
#[derive(Debug)]
pub enum Accepted {
    /// OAuth: exchange this code (it will never be handed out again).
    Code(AuthorizationCode),
    /// CLI flow: the tokens came in the callback itself.
    Tokens(TokenSet),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Waiting for the callback.
    Open,
    /// A callback with the right state was taken (whatever it said).
    Spent,
    /// Cancelled or timed out before any callback.
    Closed,
}

/// A sign-in waiting for its callback. `Debug` shows neither the state nor anything else secret.
pub struct PendingSignIn {
    expect: Expect,
    state: CsrfToken,
    phase: Mutex<Phase>,
}

impl std::fmt::Debug for PendingSignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingSignIn").field("expect", &self.expect).field("phase", &self.phase()).finish()
    }
}

impl PendingSignIn {
    /// `state` must come from a CSPRNG (`CsrfToken::new_random_len(32)`); it was sent to the
    /// server in the browser URL and must come back unchanged.
    pub fn new(expect: Expect, state: CsrfToken) -> Self {
        Self { expect, state, phase: Mutex::new(Phase::Open) }
    }

    pub fn expect(&self) -> &Expect {
        &self.expect
    }

    /// Checks `url` and, if it is this sign-in's callback, spends the sign-in. Refusals
    /// (`SignInError::Refused`) leave it waiting: a stray or forged link cannot end a sign-in it
    /// does not know the state of. Once spent or closed, every further callback is refused.
    /// An `error=` callback spends the sign-in and comes back as `SignInError::Denied`.
    pub fn accept(&self, url: &str) -> Result<Accepted, SignInError> {
        match self.phase() {
            Phase::Spent => return Err(SignInError::AlreadyUsed),
            Phase::Closed => return Err(SignInError::NoSignInPending),
            Phase::Open => {}
        }
        let cb = callback::parse(&self.expect, url).map_err(SignInError::Refused)?;
        let expected = self.state.secret().as_bytes();
        if !bool::from(cb.state.expose().as_bytes().ct_eq(expected)) {
            return Err(SignInError::Refused(Refusal::WrongState));
        }
        {
            let mut phase = self.lock();
            match *phase {
                Phase::Open => *phase = Phase::Spent,
                // Another callback won the race since the check above.
                Phase::Spent => return Err(SignInError::AlreadyUsed),
                Phase::Closed => return Err(SignInError::NoSignInPending),
            }
        }
        match cb.result {
            CallbackResult::Code(code) => Ok(Accepted::Code(code)),
            CallbackResult::Tokens(tokens) => Ok(Accepted::Tokens(tokens)),
            CallbackResult::Error { error, description } => Err(SignInError::Denied { error, description }),
        }
    }

    /// Ends the wait (cancel, timeout). Returns false when a callback was already taken.
    pub fn close(&self) -> bool {
        let mut phase = self.lock();
        if *phase == Phase::Open {
            *phase = Phase::Closed;
            true
        } else {
            false
        }
    }

    /// True while no callback has been taken and the sign-in was not closed.
    pub fn is_open(&self) -> bool {
        self.phase() == Phase::Open
    }

    fn phase(&self) -> Phase {
        *self.lock()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Phase> {
        // A poisoned lock only means a panic between two whole-value assignments.
        self.phase.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending() -> PendingSignIn {
        PendingSignIn::new(Expect::DeepLink, CsrfToken::new("the-state".into()))
    }

    #[test]
    fn one_callback_only() {
        let p = pending();
        let url = "kallyai://auth/callback?code=c&state=the-state";
        assert!(matches!(
            p.accept("kallyai://auth/callback?code=c&state=other"),
            Err(SignInError::Refused(Refusal::WrongState))
        ));
        assert!(p.is_open(), "a wrong state does not spend the sign-in");
        assert!(matches!(p.accept(url), Ok(Accepted::Code(_))));
        assert!(matches!(p.accept(url), Err(SignInError::AlreadyUsed)));
        assert!(!p.close());
    }

    #[test]
    fn an_error_spends_it_and_closing_refuses_later_callbacks() {
        let p = pending();
        let denied = p.accept("kallyai://auth/callback?error=access_denied&state=the-state").unwrap_err();
        assert!(matches!(denied, SignInError::Denied { .. }));
        assert!(matches!(p.accept("kallyai://auth/callback?code=c&state=the-state"), Err(SignInError::AlreadyUsed)));
        let q = pending();
        assert!(q.close());
        assert!(matches!(
            q.accept("kallyai://auth/callback?code=c&state=the-state"),
            Err(SignInError::NoSignInPending)
        ));
        assert!(!format!("{q:?}").contains("the-state"));
    }
}
