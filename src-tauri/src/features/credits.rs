//! Credits at a glance: the balance behind the tray's first line and the credits window, the
//! low-credit warning, the plan page. Core's credit watch decides what a balance, a 402 or an
//! event means (out of credits, low, warn once per crossing); this feature reads the balance
//! when it moved, shows it, and notifies.

use kallyai_core::api::credits::{Balance, Breakdown, Costs, CreditHistory};
use kallyai_core::ask::wait_before_reads;
use kallyai_core::credit_pace::{self, CreditPace};
use kallyai_core::credit_watch::{BalanceNeed, CreditStatus, CreditWatch, SLOW_REFRESH};
use kallyai_core::settings::CurrentSettings;
use kallyai_core::Event;
use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager};

use crate::background::{background, follow, Heard};
use crate::core_handle::core;
use crate::error::CommandError;
use crate::view::i18n::{self, format_credits, t, text};
use crate::view::notify::{notifier, Notice, Response};
use crate::view::status;
use crate::view::windows::{self, Panel};

/// What the credits window shows.
#[derive(Clone, Debug, Serialize)]
pub struct CreditsView {
    #[serde(flatten)]
    pub status: CreditStatus,
    /// The tray's first line, e.g. "458 credits left · Pro · renews 1 Mar".
    pub summary: Option<String>,
}

/// Everything the credits window shows besides the balance.
#[derive(Serialize)]
pub struct CreditsDetails {
    pub breakdown: Option<Breakdown>,
    pub history: Option<CreditHistory>,
    pub costs: Option<Costs>,
    /// The chart's days and the forecast (none when the balance or its period is not known).
    pub pace: Option<CreditPace>,
}

/// History entries read for the chart: a month of a busy user's calls, asks and errands.
const CHART_HISTORY: u32 = 100;
/// What is read when a server refuses a limit that large (the reference names no maximum).
const SHORT_HISTORY: u32 = 20;

/// Starts watching credits: on core's events, and on a slow cadence.
pub fn start(app: &AppHandle) {
    app.manage(CreditWatch::default());
    follow(app, "credits", |app, heard| {
        let Heard::Event(event) = heard else { return };
        if let Event::AuthChanged { signed_in: false } = event {
            app.state::<CreditWatch>().clear();
            return status::refresh(app);
        }
        match app.state::<CreditWatch>().wants_balance(event) {
            BalanceNeed::None => {}
            BalanceNeed::OutOfCredits => publish(app),
            BalanceNeed::Read => {
                let (app, wait) = (app.clone(), wait_before_reads(event));
                tauri::async_runtime::spawn(async move {
                    tokio::time::sleep(wait).await;
                    refresh(&app).await
                });
            }
        }
    });
    let ticker = app.clone();
    background(app).spawn("credits", move |_cancel| async move {
        let mut ticks = tokio::time::interval(SLOW_REFRESH);
        loop {
            ticks.tick().await;
            refresh(&ticker).await;
        }
    });
}

fn threshold(app: &AppHandle) -> f64 {
    app.state::<CurrentSettings>().get().low_credit_percent
}

fn view(app: &AppHandle) -> CreditsView {
    let status = app.state::<CreditWatch>().status(threshold(app));
    CreditsView { summary: status::credits_line(i18n::lang(app), &status), status }
}

/// Reads the balance and shows it everywhere; warns once when it drops below the threshold.
async fn refresh(app: &AppHandle) {
    let core = core(app);
    if !core.session.is_signed_in().await {
        return;
    }
    let watch = app.state::<CreditWatch>();
    match core.client.credits().balance().await {
        Ok(balance) => {
            let warn = watch.observe(balance.clone(), threshold(app));
            if warn && app.state::<CurrentSettings>().get().notify_low_credits {
                notify_low(app, &balance);
            }
        }
        Err(error) if error.is_quota() => watch.out_of_credits(),
        Err(error) => return tracing::debug!(code = error.code(), "credits not refreshed"),
    }
    publish(app);
}

fn publish(app: &AppHandle) {
    status::refresh(app);
    let _ = app.emit("credits://state", view(app));
}

fn notify_low(app: &AppHandle, balance: &Balance) {
    let lang = i18n::lang(app);
    let notice = Notice {
        key: "credits:low".into(),
        title: text(lang, "credits.low.title"),
        body: t(lang, "credits.low.body", &[("credits", &format_credits(balance.credits_remaining.value()))]),
        actions: vec![("manage_plan".into(), text(lang, "credits.manage_plan"))],
        clickable: true,
        sticky: false,
    };
    let app = app.clone();
    notifier(&app).show(
        notice,
        Box::new(move |response| match response {
            Response::Action(_) => {
                tauri::async_runtime::spawn(async move {
                    if let Err(error) = manage_plan(app).await {
                        tracing::warn!(code = ?error, "could not open the plan page");
                    }
                });
            }
            Response::Default => windows::show(&app, Panel::Credits),
            Response::Closed => {}
        }),
    );
}

#[tauri::command]
pub fn credits_state(app: AppHandle) -> CreditsView {
    view(&app)
}

/// Everything the credits window shows besides the balance; each part may be missing.
#[tauri::command]
pub async fn credits_details(app: AppHandle) -> Result<CreditsDetails, CommandError> {
    let client = core(&app).client.clone();
    let credits = client.credits();
    let (breakdown, history, costs) =
        tokio::join!(credits.breakdown(), credits.history(Some(CHART_HISTORY)), credits.costs());
    let (history, asked_for) = match history {
        Ok(history) => (Some(history), CHART_HISTORY),
        // Only a server that refused the request itself is asked again, for less; offline, signed
        // out or failing, one more request would fail the same way.
        Err(error) if matches!(error.status(), Some(400 | 422)) => {
            (credits.history(Some(SHORT_HISTORY)).await.ok(), SHORT_HISTORY)
        }
        Err(_) => (None, CHART_HISTORY),
    };
    refresh(&app).await;
    // Fewer entries than asked for: the history holds the whole period.
    let complete = history.as_ref().is_some_and(|h| h.entries.len() < asked_for as usize);
    let balance = app.state::<CreditWatch>().status(threshold(&app)).balance;
    let pace = balance.and_then(|b| credit_pace::pace_now(&b, history.as_ref(), complete));
    Ok(CreditsDetails { breakdown: breakdown.ok(), history, costs: costs.ok(), pace })
}

/// The plan page (billing portal), opened in the system browser.
#[tauri::command]
pub async fn manage_plan(app: AppHandle) -> Result<(), CommandError> {
    let portal = core(&app).client.subscription().billing_portal().await?;
    crate::view::browser::open_web(&app, &portal.url)
}
