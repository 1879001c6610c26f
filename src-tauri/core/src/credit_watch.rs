//! Credit watching: the balance the app shows, the low-credit warning (once per crossing of the
//! threshold), and the out-of-credits state after a 402 that says the account has no credits
//! (`ApiError::is_quota`, an ask refused with `manage_plan`). A goal's budget refusal
//! (`budget_approval_required`, `soft_cap_reached`, `budget_exceeded`) is not that: it is the
//! goal's own state, and the balance stays as it is.
//!
//! The shell reads the balance when [`CreditWatch::wants_balance`] says an event changed it (and
//! on a slow cadence), hands it to [`CreditWatch::observe`], and shows [`CreditWatch::status`].

use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;

use crate::api::credits::Balance;
use crate::events::Event;

/// How often the balance is read when nothing happened (asks, calls and events refresh it sooner).
pub const SLOW_REFRESH: Duration = Duration::from_secs(300);

#[derive(Debug, Default)]
pub struct CreditWatch {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    balance: Option<Balance>,
    /// Set by an out-of-credits 402 anywhere; cleared when the balance grows past what it was then.
    out_of_credits: bool,
    /// The balance when the 402 came (None: not known then). A refusal can come with credits
    /// left (an ask costing more than the rest); the next read of that same balance must not
    /// clear the state.
    remaining_at_402: Option<f64>,
    /// Whether the low-credit warning was given for the current dip below the threshold.
    warned_low: bool,
}

/// What the credits window and the tray show.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CreditStatus {
    pub balance: Option<Balance>,
    pub out_of_credits: bool,
    /// Below the low-credit threshold.
    pub low: bool,
}

/// What an event means for the balance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BalanceNeed {
    /// Nothing: the balance did not move.
    None,
    /// It moved (an ask or a call was charged, a goal went on, a sign-in): read it again.
    Read,
    /// The account is out of credits (an ask refused with `manage_plan`); already applied.
    OutOfCredits,
}

/// Below `threshold_percent` of the period's allocation (never when nothing is allocated).
pub fn is_low(balance: &Balance, threshold_percent: f64) -> bool {
    let allocated = balance.credits_allocated.value();
    allocated > 0.0 && balance.credits_remaining.value() < allocated * threshold_percent / 100.0
}

impl CreditWatch {
    pub fn remaining(&self) -> Option<f64> {
        self.lock().balance.as_ref().map(|b| b.credits_remaining.value())
    }

    pub fn status(&self, threshold_percent: f64) -> CreditStatus {
        let inner = self.lock();
        CreditStatus {
            balance: inner.balance.clone(),
            out_of_credits: inner.out_of_credits,
            low: inner.balance.as_ref().is_some_and(|b| is_low(b, threshold_percent)),
        }
    }

    /// A balance read from the server. Returns whether to warn that credits are low: once when
    /// the balance drops below the threshold, again only after it went back above it.
    pub fn observe(&self, balance: Balance, threshold_percent: f64) -> bool {
        let mut inner = self.lock();
        let low = is_low(&balance, threshold_percent);
        let remaining = balance.credits_remaining.value();
        if remaining > 0.0 && inner.remaining_at_402.is_none_or(|at| remaining > at) {
            inner.out_of_credits = false;
            inner.remaining_at_402 = None;
        }
        let warn = low && !inner.warned_low;
        inner.warned_low = low;
        inner.balance = Some(balance);
        warn
    }

    /// An out-of-credits answer anywhere (`ApiError::is_quota`, an ask refused with
    /// `manage_plan`); never for a goal's budget refusal.
    pub fn out_of_credits(&self) {
        let mut inner = self.lock();
        inner.out_of_credits = true;
        inner.remaining_at_402 = inner.balance.as_ref().map(|b| b.credits_remaining.value());
    }

    /// What `event` means for the balance; an out-of-credits refusal is applied here.
    pub fn wants_balance(&self, event: &Event) -> BalanceNeed {
        match event {
            Event::AskFailed { manage_plan: true, .. } => {
                self.out_of_credits();
                BalanceNeed::OutOfCredits
            }
            Event::AskSent { .. } | Event::CreditsChanged { .. } | Event::CallEnded { .. } => BalanceNeed::Read,
            // A goal let go on starts spending; production sends no event for it.
            Event::GoalDecided { .. } => BalanceNeed::Read,
            // A draft sent from the app is charged; production sends no event for it either.
            Event::PendingHandled { .. } => BalanceNeed::Read,
            // A call placed from the app is charged by the time its outcome is known.
            Event::CallPlacing { settled: true, .. } => BalanceNeed::Read,
            Event::AuthChanged { signed_in: true } => BalanceNeed::Read,
            _ => BalanceNeed::None,
        }
    }

    /// Forgets everything (sign-out).
    pub fn clear(&self) {
        *self.lock() = Inner::default();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("credit watch lock")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lenient::Credits;

    fn balance(remaining: f64, allocated: f64) -> Balance {
        Balance { credits_remaining: Credits(remaining), credits_allocated: Credits(allocated), ..Default::default() }
    }

    #[test]
    fn low_is_below_the_threshold_share_of_the_allocation() {
        assert!(is_low(&balance(99.0, 1000.0), 10.0));
        assert!(!is_low(&balance(100.0, 1000.0), 10.0));
        assert!(!is_low(&balance(5.0, 0.0), 10.0));
    }

    #[test]
    fn the_low_warning_comes_once_per_crossing() {
        let watch = CreditWatch::default();
        assert!(!watch.observe(balance(500.0, 1000.0), 10.0), "above the line");
        assert!(watch.observe(balance(90.0, 1000.0), 10.0), "the first read below it warns");
        assert!(!watch.observe(balance(80.0, 1000.0), 10.0), "still the same dip");
        assert!(watch.status(10.0).low);
        assert!(!watch.observe(balance(600.0, 1000.0), 10.0), "back above (a top-up)");
        assert!(watch.observe(balance(50.0, 1000.0), 10.0), "a new crossing warns again");
    }

    #[test]
    fn out_of_credits_lasts_until_the_balance_grows_past_what_it_was_at_the_402() {
        let watch = CreditWatch::default();
        watch.observe(balance(3.0, 1000.0), 10.0);
        watch.out_of_credits();
        assert!(watch.status(10.0).out_of_credits);
        // The ask cost more than the 3 left: reading the same balance again changes nothing.
        watch.observe(balance(3.0, 1000.0), 10.0);
        assert!(watch.status(10.0).out_of_credits);
        watch.observe(balance(500.0, 1000.0), 10.0);
        assert!(!watch.status(10.0).out_of_credits, "a top-up ends it");
    }

    #[test]
    fn out_of_credits_before_any_balance_ends_with_the_first_positive_read() {
        let watch = CreditWatch::default();
        watch.out_of_credits();
        watch.observe(balance(0.0, 1000.0), 10.0);
        assert!(watch.status(10.0).out_of_credits, "nothing left");
        watch.observe(balance(20.0, 1000.0), 10.0);
        assert!(!watch.status(10.0).out_of_credits);
    }

    #[test]
    fn only_an_out_of_credits_refusal_marks_it_not_a_budget_refusal() {
        let watch = CreditWatch::default();
        let failed = |manage_plan| Event::AskFailed {
            local_id: "l".into(),
            code: "quota_exceeded".into(),
            message: String::new(),
            server_message: None,
            manage_plan,
            budget: None,
        };
        assert_eq!(watch.wants_balance(&failed(false)), BalanceNeed::None);
        assert!(!watch.status(10.0).out_of_credits);
        assert_eq!(watch.wants_balance(&failed(true)), BalanceNeed::OutOfCredits);
        assert!(watch.status(10.0).out_of_credits);
    }

    #[test]
    fn charges_goals_and_sign_ins_move_the_balance() {
        let watch = CreditWatch::default();
        let read = |event: Event| watch.wants_balance(&event);
        assert_eq!(read(Event::CallEnded { call_id: "c".into(), outcome: "completed".into() }), BalanceNeed::Read);
        assert_eq!(read(Event::GoalDecided { goal_id: "g".into() }), BalanceNeed::Read);
        assert_eq!(read(Event::AuthChanged { signed_in: true }), BalanceNeed::Read);
        assert_eq!(read(Event::AuthChanged { signed_in: false }), BalanceNeed::None);
        assert_eq!(read(Event::ConnectivityChanged { online: true }), BalanceNeed::None);
    }

    #[test]
    fn clear_forgets_the_balance_and_the_state() {
        let watch = CreditWatch::default();
        watch.observe(balance(3.0, 1000.0), 10.0);
        watch.out_of_credits();
        watch.clear();
        assert_eq!(watch.status(10.0), CreditStatus { balance: None, out_of_credits: false, low: false });
        assert_eq!(watch.remaining(), None);
    }
}
