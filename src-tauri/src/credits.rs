//! Credits at a glance: the balance behind the tray's first line and the credits window, a
//! low-credit warning once per crossing, and the out-of-credits state after a 402 that says the
//! account has no credits (`quota_exceeded`, `insufficient_credits`). A goal's budget refusal
//! (`budget_approval_required`, `soft_cap_reached`, `budget_exceeded`) is not that: the box
//! shows it with its own approval, and the balance and the tray stay as they are.

use std::sync::Mutex;
use std::time::Duration;

use kallyai_core::api::credits::{Balance, Breakdown, Costs, CreditHistory};
use serde::Serialize;
use tauri::{AppHandle, Emitter};

use crate::error::CommandError;
use crate::i18n::{text, Lang};
use crate::notify::{Notice, Response};
use crate::shell::shell;

/// How often the balance is read when nothing happened (asks, calls and events refresh it sooner).
pub const SLOW_REFRESH: Duration = Duration::from_secs(300);

#[derive(Default)]
pub struct CreditsState {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    balance: Option<Balance>,
    /// Set by an out-of-credits 402 anywhere; cleared when the balance grows past what it was then.
    out_of_credits: bool,
    /// The balance when the 402 came (None: not known then). A refusal can come with credits
    /// left (an ask costing more than the rest); the next read of that same balance must not
    /// clear the state.
    remaining_at_402: Option<f64>,
    /// Whether the low-credit warning was shown for the current dip below the threshold.
    warned_low: bool,
}

/// What the credits window and the tray show.
#[derive(Clone, Debug, Serialize)]
pub struct CreditsView {
    pub balance: Option<Balance>,
    pub out_of_credits: bool,
    pub low: bool,
    /// The tray's first line, e.g. "458 credits left · Pro · renews 1 Mar".
    pub summary: Option<String>,
}

/// Everything the credits window shows besides the balance.
#[derive(Serialize)]
pub struct CreditsDetails {
    pub breakdown: Option<Breakdown>,
    pub history: Option<CreditHistory>,
    pub costs: Option<Costs>,
}

impl CreditsState {
    pub fn remaining(&self) -> Option<f64> {
        self.inner.lock().expect("credits lock").balance.as_ref().map(|b| b.credits_remaining.value())
    }

    pub fn view(&self, lang: Lang, threshold_percent: f64) -> CreditsView {
        let inner = self.inner.lock().expect("credits lock");
        CreditsView {
            balance: inner.balance.clone(),
            out_of_credits: inner.out_of_credits,
            low: inner.balance.as_ref().is_some_and(|b| is_low(b, threshold_percent)),
            summary: inner.balance.as_ref().map(|b| summary_line(lang, b, inner.out_of_credits)),
        }
    }

    pub fn clear(&self) {
        *self.inner.lock().expect("credits lock") = Inner::default();
    }
}

fn is_low(balance: &Balance, threshold_percent: f64) -> bool {
    let allocated = balance.credits_allocated.value();
    allocated > 0.0 && balance.credits_remaining.value() < allocated * threshold_percent / 100.0
}

/// "458 credits left · Pro · renews 1 Mar"
pub fn summary_line(lang: Lang, balance: &Balance, out_of_credits: bool) -> String {
    if out_of_credits || balance.credits_remaining.value() <= 0.0 {
        return text(lang, "credits.out");
    }
    let mut parts =
        vec![text(lang, "credits.left").replace("{credits}", &format_credits(balance.credits_remaining.value()))];
    if let Some(plan) = balance.plan_type.as_deref().filter(|p| !p.is_empty()) {
        let mut chars = plan.chars();
        parts.push(chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default());
    }
    if let Some(day) = balance.period_end.as_deref().and_then(|end| short_date(lang, end)) {
        parts.push(text(lang, "credits.renews").replace("{date}", &day));
    }
    parts.join(" · ")
}

fn format_credits(value: f64) -> String {
    if value.fract().abs() < 0.05 {
        format!("{}", value.round() as i64)
    } else {
        format!("{value:.1}")
    }
}

/// `2026-03-01T00:00:00Z` → "1 Mar" (en) / "1 mar" (es).
fn short_date(lang: Lang, iso: &str) -> Option<String> {
    let month: usize = iso.get(5..7)?.parse().ok()?;
    let day: u32 = iso.get(8..10)?.parse().ok()?;
    let names = match lang {
        Lang::En => ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
        Lang::Es => ["ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct", "nov", "dic"],
    };
    Some(format!("{day} {}", names.get(month.checked_sub(1)?)?))
}

/// Reads the balance and shows it everywhere; warns once when it drops below the threshold.
pub async fn refresh(app: &AppHandle) {
    let shell = shell(app);
    if !shell.state().signed_in {
        return;
    }
    match shell.client.credits().balance().await {
        Ok(balance) => apply(app, balance),
        Err(error) if error.is_quota() => mark_out_of_credits(app),
        Err(error) => tracing::debug!(code = error.code(), "credits not refreshed"),
    }
}

fn apply(app: &AppHandle, balance: Balance) {
    let shell = shell(app);
    let threshold = shell.settings.low_credit_percent();
    let warn = {
        let mut inner = shell.credits.inner.lock().expect("credits lock");
        let low = is_low(&balance, threshold);
        let remaining = balance.credits_remaining.value();
        if remaining > 0.0 && inner.remaining_at_402.is_none_or(|at| remaining > at) {
            inner.out_of_credits = false;
            inner.remaining_at_402 = None;
        }
        let warn = low && !inner.warned_low;
        // Warned once per crossing: again only after the balance went back above the line.
        inner.warned_low = low;
        inner.balance = Some(balance.clone());
        warn
    };
    if warn && shell.settings.notify_low_credits() {
        notify_low(app, &balance);
    }
    publish(app);
}

/// An out-of-credits answer anywhere (`ApiError::is_quota`, core's `manage_plan`) puts the app in
/// the out-of-credits state; callers never call this for a goal's budget refusal.
pub fn mark_out_of_credits(app: &AppHandle) {
    {
        let shell = shell(app);
        let mut inner = shell.credits.inner.lock().expect("credits lock");
        inner.out_of_credits = true;
        inner.remaining_at_402 = inner.balance.as_ref().map(|b| b.credits_remaining.value());
    }
    publish(app);
}

fn publish(app: &AppHandle) {
    let shell = shell(app);
    shell.refresh_views(app);
    let view = shell.credits.view(shell.lang(), shell.settings.low_credit_percent());
    let _ = app.emit("credits://state", view);
}

fn notify_low(app: &AppHandle, balance: &Balance) {
    let shell = shell(app);
    let lang = shell.lang();
    let notice = Notice {
        key: "credits:low".into(),
        title: text(lang, "credits.low.title"),
        body: text(lang, "credits.low.body").replace("{credits}", &format_credits(balance.credits_remaining.value())),
        actions: vec![("manage_plan".into(), text(lang, "credits.manage_plan"))],
        clickable: true,
        sticky: false,
    };
    let app = app.clone();
    shell.notifier.show(
        notice,
        Box::new(move |response| match response {
            Response::Action(_) => {
                let app = app.clone();
                tauri::async_runtime::spawn(async move {
                    if let Err(error) = crate::ask::manage_plan(&app).await {
                        tracing::warn!(code = ?error, "could not open the plan page");
                    }
                });
            }
            Response::Default => crate::windows::show(&app, crate::windows::Panel::Credits),
            Response::Closed => {}
        }),
    );
}

/// Everything the credits window shows besides the balance; each part may be missing.
pub async fn details(app: &AppHandle) -> Result<CreditsDetails, CommandError> {
    let client = shell(app).client.clone();
    let credits = client.credits();
    let (breakdown, history, costs) = tokio::join!(credits.breakdown(), credits.history(Some(20)), credits.costs());
    refresh(app).await;
    Ok(CreditsDetails { breakdown: breakdown.ok(), history: history.ok(), costs: costs.ok() })
}

/// Keeps the balance fresh on a slow cadence.
pub fn follow(app: &AppHandle) {
    let app = app.clone();
    shell(&app).background.clone().spawn("credits", move |_cancel| async move {
        let mut ticks = tokio::time::interval(SLOW_REFRESH);
        loop {
            ticks.tick().await;
            refresh(&app).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use kallyai_core::Credits;

    fn balance(remaining: f64, allocated: f64) -> Balance {
        Balance {
            credits_remaining: Credits(remaining),
            credits_allocated: Credits(allocated),
            plan_type: Some("pro".into()),
            period_end: Some("2026-03-01T00:00:00Z".into()),
            ..Default::default()
        }
    }

    #[test]
    fn tray_line_reads_like_a_sentence() {
        assert_eq!(summary_line(Lang::En, &balance(458.0, 1000.0), false), "458 credits left · Pro · renews 1 Mar");
        assert_eq!(
            summary_line(Lang::Es, &balance(12.5, 1000.0), false),
            "12.5 créditos disponibles · Pro · se renueva el 1 mar"
        );
        assert_eq!(summary_line(Lang::En, &balance(0.0, 1000.0), false), "Out of credits");
        assert_eq!(summary_line(Lang::En, &balance(10.0, 1000.0), true), "Out of credits");
    }

    #[test]
    fn low_is_below_the_threshold_share_of_the_allocation() {
        assert!(is_low(&balance(99.0, 1000.0), 10.0));
        assert!(!is_low(&balance(100.0, 1000.0), 10.0));
        assert!(!is_low(&balance(5.0, 0.0), 10.0));
    }
}
