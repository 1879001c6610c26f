//! "Call someone…": the form that places an outbound call (tray, `--call`, `kallyai://call`).
//! A link or a flag only fills the form; the call is placed by the user's own click, after the
//! number was checked and the cost estimated. Placing, and placing exactly once across failures
//! and restarts, is core's `placing`; this feature checks the form and hands it over.

use std::sync::Mutex;

use kallyai_core::api::budget::Estimate;
use kallyai_core::api::calls::{NewCall, Submission};
use kallyai_core::phone::{self, CheckedNumber, NumberProblem};
use kallyai_core::placing::{Phase, PlacedView};
use kallyai_core::settings::CurrentSettings;
use kallyai_core::Event;
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Emitter, Manager};

use crate::background::{follow, Heard};
use crate::core_handle::core;
use crate::error::CommandError;
use crate::view::i18n::{self, t, text};
use crate::view::notify::{notifier, Notice, Response};
use crate::view::windows::{self, Panel};

/// The reference's bounds on what to say or ask (`task_description`).
const TASK_CHARS: std::ops::RangeInclusive<usize> = 10..=1000;
const CATEGORIES: [&str; 4] = ["general", "restaurant", "clinic", "hotel"];
const LANGUAGES: [&str; 2] = ["en", "es"];

/// What a link or a flag suggests for the form; the user still places the call.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CallPrefill {
    pub number: Option<String>,
    pub task: Option<String>,
}

/// What a link or a flag suggested, kept until the form reads it (a window created for it is too
/// young to hear `dialer://prefill`).
#[derive(Default)]
struct Suggested(Mutex<Option<CallPrefill>>);

pub fn start(app: &AppHandle) {
    app.manage(Suggested::default());
    follow(app, "dialer", |app, heard| {
        if let Heard::Event(Event::CallPlacing { local_id, settled: true }) = heard {
            tell_outcome(app, local_id);
        }
    });
}

/// A call's outcome, when the form is not in front of the user (they placed it and went back to
/// work, or the app was restarted meanwhile): a notice that opens the form on it.
fn tell_outcome(app: &AppHandle, local_id: &str) {
    let watching = app
        .get_webview_window(Panel::Dialer.label())
        .is_some_and(|w| w.is_visible().unwrap_or(false) && w.is_focused().unwrap_or(false));
    if watching || !app.state::<CurrentSettings>().get().notify_calls {
        return;
    }
    let Some(call) = core(app).placer.as_ref().and_then(|p| p.call(local_id)) else { return };
    let lang = i18n::lang(app);
    let who = call.business_name.clone().unwrap_or_else(|| call.number_shown.clone());
    let body = match &call.phase {
        Phase::Finished { call } => {
            // A status the app has no words for is shown as the server names it.
            let key = format!("dialer.call_status.{}", call.status.as_str());
            let status = Some(text(lang, &key)).filter(|s| *s != key).unwrap_or_else(|| call.status.to_string());
            [Some(status), call.highlights.clone()].into_iter().flatten().collect::<Vec<_>>().join("\n")
        }
        Phase::Refused { message } | Phase::Unconfirmed { message } => message.clone(),
        Phase::Placing { .. } => return,
    };
    let notice = Notice {
        key: format!("placed:{local_id}"),
        title: t(lang, "dialer.notice.title", &[("who", &who)]),
        body,
        actions: Vec::new(),
        clickable: true,
        sticky: false,
    };
    let opener = app.clone();
    notifier(app).show(
        notice,
        Box::new(move |response| {
            if response == Response::Default {
                windows::show(&opener, Panel::Dialer);
            }
        }),
    );
}

/// Opens the form, prefilled with what was given; never places anything.
pub fn open_form(app: &AppHandle, prefill: CallPrefill) {
    if prefill != CallPrefill::default() {
        *app.state::<Suggested>().0.lock().expect("dialer lock") = Some(prefill.clone());
        let _ = app.emit_to(Panel::Dialer.label(), "dialer://prefill", prefill);
    }
    windows::show(app, Panel::Dialer);
}

/// What the form starts from.
#[derive(Serialize)]
pub struct DialerState {
    /// A link's or a flag's suggestion, once.
    prefill: Option<CallPrefill>,
    /// How a number typed without `+` is read (from the locale), if known.
    region: Option<String>,
    /// The calls placed from here, newest first: one still being placed shows its status.
    calls: Vec<PlacedView>,
    /// False when the call journal could not be opened: then nothing can be placed.
    available: bool,
}

// The dialer's commands are async, so they run off the main thread: the first number check loads
// libphonenumber's metadata, and the journal's lock may be held by a write being flushed.
#[tauri::command]
pub async fn dialer_state(app: AppHandle) -> DialerState {
    let placer = core(&app).placer.clone();
    DialerState {
        prefill: app.state::<Suggested>().0.lock().expect("dialer lock").take(),
        region: phone::region_from_env(),
        calls: placer.as_ref().map(|p| p.calls()).unwrap_or_default(),
        available: placer.is_some(),
    }
}

/// One placed call as it is now (after a `call_placing` event).
#[tauri::command]
pub async fn dialer_call(app: AppHandle, local_id: String) -> Option<PlacedView> {
    core(&app).placer.as_ref().and_then(|p| p.call(&local_id))
}

/// Checks a typed number: the E.164 form to send and the international form to show.
#[tauri::command]
pub async fn dialer_check_number(app: AppHandle, number: String) -> Result<CheckedNumber, CommandError> {
    checked(&app, &number)
}

/// What the call would cost (`POST /v1/goals/estimate`, type `call`).
#[tauri::command]
pub async fn dialer_estimate(app: AppHandle, task: String) -> Result<Estimate, CommandError> {
    Ok(core(&app).client.budget().estimate("call", task.trim()).await?)
}

/// The form as the user filled it.
#[derive(Deserialize)]
pub struct CallForm {
    number: String,
    task: String,
    category: String,
    language: String,
    business_name: Option<String>,
}

/// Places the call: checked again here (the page is not trusted), written down, then sent.
#[tauri::command]
pub async fn dialer_place(app: AppHandle, form: CallForm) -> Result<PlacedView, CommandError> {
    let lang = i18n::lang(&app);
    let number = checked(&app, &form.number)?;
    let task = form.task.trim();
    if !TASK_CHARS.contains(&task.chars().count()) {
        return Err(CommandError::field("task", text(lang, "dialer.task.length")));
    }
    let category = if CATEGORIES.contains(&form.category.as_str()) { form.category } else { "general".into() };
    let language = LANGUAGES.contains(&form.language.as_str()).then_some(form.language);
    let business_name = form.business_name.map(|b| b.trim().to_string()).filter(|b| !b.is_empty());
    let call = NewCall {
        submission: Submission {
            task_category: category,
            task_description: task.to_string(),
            respondent_phone: number.e164,
            business_name,
            language: language.clone(),
            call_language: language,
            ..Default::default()
        },
        timezone: iana_time_zone::get_timezone().unwrap_or_else(|_| "UTC".into()),
        session_id: None,
    };
    let core = core(&app);
    let placer = core.placer.clone().ok_or_else(|| CommandError::new("storage", text(lang, "dialer.unavailable")))?;
    let placed = placer.place(call).await?;
    tracing::info!(local_id = %placed.local_id, "call placed from the form");
    Ok(placed)
}

/// Forgets a finished call so the form starts afresh ("New call").
#[tauri::command]
pub async fn dialer_dismiss(app: AppHandle, local_id: String) -> Result<(), CommandError> {
    if let Some(placer) = core(&app).placer.clone() {
        placer.dismiss(&local_id).await.map_err(|e| CommandError::new("storage", e.to_string()))?;
    }
    Ok(())
}

fn checked(app: &AppHandle, number: &str) -> Result<CheckedNumber, CommandError> {
    phone::check(number, phone::region_from_env().as_deref()).map_err(|problem| {
        let key = match problem {
            NumberProblem::Empty => "dialer.number.empty",
            NumberProblem::NeedsCountryCode => "dialer.number.needs_country_code",
            NumberProblem::NotANumber => "dialer.number.not_a_number",
            NumberProblem::NotValid => "dialer.number.not_valid",
        };
        CommandError::field("number", text(i18n::lang(app), key))
    })
}
