//! The app's windows. Each is created hidden at start-up, so showing one is `show()` + focus
//! and never a page load; closing one only hides it again.

use tauri::{AppHandle, Manager, PhysicalPosition, WebviewUrl, WebviewWindow, WebviewWindowBuilder};

use super::web_process::SharedWebProcess;
use crate::core_handle::Core;

/// One window per job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Panel {
    Ask,
    Call,
    Credits,
    Settings,
    SignIn,
    Calls,
}

struct Spec {
    page: &'static str,
    width: f64,
    height: f64,
    /// A small floating box (quick ask, call popup): no decorations, above other windows,
    /// not in the task bar.
    floating: bool,
}

impl Panel {
    pub const ALL: [Panel; 6] = [Panel::Ask, Panel::Call, Panel::Credits, Panel::Settings, Panel::SignIn, Panel::Calls];

    /// The windows that show live calls: while one is on screen, the watcher reads the live
    /// calls at its faster cadence, so what the user looks at is current.
    const SHOWING_CALLS: [Panel; 2] = [Panel::Call, Panel::Calls];

    /// The window label, also the page name and the i18n key suffix (`window.<label>`).
    pub fn label(self) -> &'static str {
        match self {
            Panel::Ask => "ask",
            Panel::Call => "call",
            Panel::Credits => "credits",
            Panel::Settings => "settings",
            Panel::SignIn => "signin",
            Panel::Calls => "calls",
        }
    }

    /// Names accepted by `--show` and `kallyai://show/<name>`. The call popup is not one of
    /// them: it only makes sense when a call is being screened.
    pub fn from_name(name: &str) -> Option<Panel> {
        match name {
            "ask" => Some(Panel::Ask),
            "credits" => Some(Panel::Credits),
            "settings" => Some(Panel::Settings),
            "signin" => Some(Panel::SignIn),
            "calls" => Some(Panel::Calls),
            _ => None,
        }
    }

    fn spec(self) -> Spec {
        let (page, width, height, floating) = match self {
            Panel::Ask => ("ask.html", 640.0, 480.0, true),
            Panel::Call => ("call.html", 380.0, 520.0, true),
            Panel::Credits => ("credits.html", 420.0, 520.0, false),
            Panel::Settings => ("settings.html", 560.0, 640.0, false),
            Panel::SignIn => ("signin.html", 440.0, 320.0, false),
            Panel::Calls => ("calls.html", 520.0, 600.0, false),
        };
        Spec { page, width, height, floating }
    }
}

/// Creates every window, hidden, all in the quick-ask box's web process. Called once from setup.
pub fn create_all(app: &AppHandle, title_of: impl Fn(Panel) -> String) -> tauri::Result<()> {
    let mut shared: Option<SharedWebProcess> = None;
    for panel in Panel::ALL {
        let spec = panel.spec();
        let builder = WebviewWindowBuilder::new(app, panel.label(), WebviewUrl::App(spec.page.into()));
        let builder = match &shared {
            Some(process) => process.join(builder),
            None => builder,
        };
        let window = builder
            .title(title_of(panel))
            .inner_size(spec.width, spec.height)
            .visible(false)
            .focused(false)
            .center()
            .decorations(!spec.floating)
            .always_on_top(spec.floating)
            .skip_taskbar(spec.floating)
            .resizable(!spec.floating)
            .build()?;
        hide_on_close(app, panel, &window);
        shared.get_or_insert_with(|| SharedWebProcess::of(&window));
    }
    Ok(())
}

/// Closing only hides. A page can also hide its own window (Escape, its close button), which
/// takes the focus away from it: both are when a calls window may have left the screen.
fn hide_on_close(app: &AppHandle, panel: Panel, window: &WebviewWindow) {
    let handle = window.clone();
    let app = app.clone();
    window.on_window_event(move |event| match event {
        tauri::WindowEvent::CloseRequested { api, .. } => {
            api.prevent_close();
            let _ = handle.hide();
            if Panel::SHOWING_CALLS.contains(&panel) {
                tell_watcher_what_is_open(&app);
            }
        }
        tauri::WindowEvent::Focused(false) if Panel::SHOWING_CALLS.contains(&panel) => tell_watcher_what_is_open(&app),
        _ => {}
    });
}

/// Tells the watcher whether a window showing live calls is on screen.
fn tell_watcher_what_is_open(app: &AppHandle) {
    let on_screen =
        |panel: Panel| app.get_webview_window(panel.label()).and_then(|w| w.is_visible().ok()).unwrap_or(false);
    let open = Panel::SHOWING_CALLS.into_iter().any(on_screen);
    if let Some(core) = app.try_state::<Core>() {
        core.watcher.set_window_open(open);
    }
}

fn window(app: &AppHandle, panel: Panel) -> Option<WebviewWindow> {
    let window = app.get_webview_window(panel.label());
    if window.is_none() {
        tracing::warn!(window = panel.label(), "window missing");
    }
    window
}

/// Shows a window and gives it focus. Floating boxes appear on the monitor under the pointer,
/// where the user is looking.
pub fn show(app: &AppHandle, panel: Panel) {
    let Some(window) = window(app, panel) else { return };
    if panel.spec().floating {
        center_on_pointer_monitor(app, &window);
    }
    let _ = window.unminimize();
    if let Err(error) = window.show() {
        tracing::warn!(window = panel.label(), %error, "could not show window");
    }
    let _ = window.set_focus();
    tracing::info!(window = panel.label(), "window shown");
    if Panel::SHOWING_CALLS.contains(&panel) {
        tell_watcher_what_is_open(app);
    }
}

pub fn hide(app: &AppHandle, panel: Panel) {
    if let Some(window) = window(app, panel) {
        let _ = window.hide();
    }
    if Panel::SHOWING_CALLS.contains(&panel) {
        tell_watcher_what_is_open(app);
    }
}

/// The hotkey toggles the quick-ask box: a second press puts it away.
pub fn toggle(app: &AppHandle, panel: Panel) {
    match window(app, panel).map(|w| w.is_visible().unwrap_or(false)) {
        Some(true) => hide(app, panel),
        Some(false) => show(app, panel),
        None => {}
    }
}

fn center_on_pointer_monitor(app: &AppHandle, window: &WebviewWindow) {
    let monitor = app
        .cursor_position()
        .ok()
        .and_then(|p| app.monitor_from_point(p.x, p.y).ok().flatten())
        .or_else(|| window.current_monitor().ok().flatten());
    let (Some(monitor), Ok(size)) = (monitor, window.outer_size()) else { return };
    let area = monitor.work_area();
    let x = area.position.x + (area.size.width as i32 - size.width as i32) / 2;
    // A little above the middle, like a spotlight box.
    let y = area.position.y + (area.size.height as i32 - size.height as i32) / 3;
    let _ = window.set_position(PhysicalPosition::new(x, y));
}

/// Retitles every window (after a language change).
pub fn retitle(app: &AppHandle, title_of: impl Fn(Panel) -> String) {
    for panel in Panel::ALL {
        if let Some(window) = app.get_webview_window(panel.label()) {
            let _ = window.set_title(&title_of(panel));
        }
    }
}

/// Whether the call popup stays above other windows (a setting).
pub fn set_call_on_top(app: &AppHandle, on_top: bool) {
    if let Some(window) = app.get_webview_window(Panel::Call.label()) {
        let _ = window.set_always_on_top(on_top);
    }
}

/// The window has painted a frame after being shown (reported by the page itself).
#[tauri::command]
pub fn window_painted(window: WebviewWindow) {
    tracing::info!(window = window.label(), "window painted");
}
