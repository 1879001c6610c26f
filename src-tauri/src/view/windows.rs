//! The app's windows. The quick-ask box is created hidden at start-up and only ever hidden, so
//! showing it is `show()` + focus and never a page load; every other window is created when
//! shown and destroyed when closed.

use std::sync::atomic::{AtomicBool, Ordering};

use tauri::webview::{NewWindowResponse, PageLoadEvent};
use tauri::{AppHandle, LogicalSize, Manager, PhysicalPosition, WebviewUrl, WebviewWindow, WebviewWindowBuilder};

use super::i18n;
use crate::core_handle::Core;

/// One window per job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Panel {
    Ask,
    Call,
    Credits,
    Settings,
    SignIn,
    Activity,
    Inbox,
    /// "Call someone…": the form that places an outbound call.
    Dialer,
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
    pub const ALL: [Panel; 8] = [
        Panel::Ask,
        Panel::Call,
        Panel::Credits,
        Panel::Settings,
        Panel::SignIn,
        Panel::Activity,
        Panel::Inbox,
        Panel::Dialer,
    ];

    /// The windows that show live calls: while one is on screen, the watcher reads the live
    /// calls at its faster cadence, so what the user looks at is current.
    const SHOWING_CALLS: [Panel; 2] = [Panel::Call, Panel::Activity];

    /// The window label, also the page name and the i18n key suffix (`window.<label>`).
    pub fn label(self) -> &'static str {
        match self {
            Panel::Ask => "ask",
            Panel::Call => "call",
            Panel::Credits => "credits",
            Panel::Settings => "settings",
            Panel::SignIn => "signin",
            Panel::Activity => "activity",
            Panel::Inbox => "inbox",
            Panel::Dialer => "dialer",
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
            // "calls": the Recent calls window's old name, which Activity took over.
            "activity" | "calls" => Some(Panel::Activity),
            "inbox" => Some(Panel::Inbox),
            "dialer" => Some(Panel::Dialer),
            _ => None,
        }
    }

    fn spec(self) -> Spec {
        let (page, width, height, floating) = match self {
            Panel::Ask => ("ask.html", 640.0, ASK_MIN_HEIGHT, true),
            Panel::Call => ("call.html", 380.0, 520.0, true),
            Panel::Credits => ("credits.html", 420.0, 520.0, false),
            Panel::Settings => ("settings.html", 560.0, 640.0, false),
            Panel::SignIn => ("signin.html", 440.0, 360.0, false),
            Panel::Activity => ("activity.html", 560.0, 640.0, false),
            Panel::Inbox => ("inbox.html", 560.0, 640.0, false),
            Panel::Dialer => ("dialer.html", 480.0, 620.0, false),
        };
        Spec { page, width, height, floating }
    }
}

/// Creates the quick-ask box, hidden, at start-up: it must appear the moment the hotkey is
/// pressed, so its page is loaded ahead. The other windows are created when first shown.
pub fn create_at_start(app: &AppHandle) -> tauri::Result<()> {
    build(app, Panel::Ask, None).map(drop)
}

/// How a window comes up: given the keyboard (the user asked for it), or only shown (it asks for
/// the user's attention, e.g. a call being screened, while they may be typing elsewhere).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Raise {
    Focused,
    Unfocused,
}

/// Builds `panel`'s window, hidden; `show_when_loaded` brings it up once its page has loaded, so
/// it never flashes empty.
fn build(app: &AppHandle, panel: Panel, show_when_loaded: Option<Raise>) -> tauri::Result<WebviewWindow> {
    let spec = panel.spec();
    let mut builder = WebviewWindowBuilder::new(app, panel.label(), WebviewUrl::App(spec.page.into()));
    if let Some(raise) = show_when_loaded {
        let shown = std::sync::Once::new();
        builder = builder.on_page_load(move |window, payload| {
            if payload.event() == PageLoadEvent::Finished {
                shown.call_once(|| bring_up(window.app_handle(), panel, &window, raise));
            }
        });
    }
    let window = builder
        .title(title(app, panel))
        .inner_size(spec.width, spec.height)
        .visible(false)
        .focused(false)
        .center()
        .decorations(!spec.floating)
        .always_on_top(spec.floating && (panel != Panel::Call || CALL_ON_TOP.load(Ordering::Relaxed)))
        .skip_taskbar(spec.floating)
        // The quick-ask box is sized by the app (ask_fit): GTK never shrinks a window the user
        // cannot resize. It has no decorations, so the user has no edge to drag either way.
        .resizable(!spec.floating || panel == Panel::Ask)
        // The app's pages only: a link or a script in a page (server text gone wrong, a bug)
        // never loads an outside page inside a KallyAI window, nor opens a window of its own.
        // Links leave through the opener, which sends web links to the browser.
        .on_navigation(move |url| {
            let own = is_own_page(url);
            if !own {
                tracing::warn!(window = panel.label(), scheme = url.scheme(), "navigation away from the app refused");
            }
            own
        })
        .on_new_window(move |url, _features| {
            tracing::warn!(window = panel.label(), scheme = url.scheme(), "new window refused");
            NewWindowResponse::Deny
        })
        .build()?;
    follow_window_events(app, panel, &window);
    Ok(window)
}

/// Whether `url` is one of the app's own pages: `tauri://localhost/…` (Linux, macOS) or
/// `http(s)://tauri.localhost/…` (Windows).
fn is_own_page(url: &url::Url) -> bool {
    match url.scheme() {
        "tauri" => url.host_str() == Some("localhost"),
        "http" | "https" => url.host_str() == Some("tauri.localhost"),
        _ => false,
    }
}

fn title(app: &AppHandle, panel: Panel) -> String {
    i18n::text(i18n::lang(app), &format!("window.{}", panel.label()))
}

/// The quick-ask box only hides when closed, to be instant next time. Every other window is
/// destroyed, and its page with it: these open seldom, and a page held hidden costs its memory
/// for as long as the app runs. On Linux each window has a WebKit web process of its own, which
/// ends with it; one shared web process (related views) kept what every page had drawn, 110 MiB
/// more once each window had been opened (make bench, `memory_after_windows_pss_mib`). A page can also close its own window (Escape, its close
/// button); either way the window leaving the screen may be a calls window the watcher reads
/// live calls faster for.
fn follow_window_events(app: &AppHandle, panel: Panel, window: &WebviewWindow) {
    let handle = window.clone();
    let app = app.clone();
    window.on_window_event(move |event| match event {
        tauri::WindowEvent::CloseRequested { api, .. } if panel == Panel::Ask => {
            api.prevent_close();
            let _ = handle.hide();
        }
        tauri::WindowEvent::Destroyed if Panel::SHOWING_CALLS.contains(&panel) => {
            tell_watcher_what_is_open(&app, Some((panel, false)));
        }
        tauri::WindowEvent::Focused(false) if Panel::SHOWING_CALLS.contains(&panel) => {
            tell_watcher_what_is_open(&app, None)
        }
        _ => {}
    });
}

/// Tells the watcher whether a window showing live calls is on screen. `known`: a window whose
/// state the caller knows better than the window answers yet (one just shown or being
/// destroyed).
fn tell_watcher_what_is_open(app: &AppHandle, known: Option<(Panel, bool)>) {
    let on_screen = |panel: Panel| match known {
        Some((known, on_screen)) if known == panel => on_screen,
        _ => app.get_webview_window(panel.label()).and_then(|w| w.is_visible().ok()).unwrap_or(false),
    };
    let open = Panel::SHOWING_CALLS.into_iter().any(on_screen);
    tracing::debug!(open, "a window showing live calls is on screen");
    if let Some(core) = app.try_state::<Core>() {
        core.watcher.set_window_open(open);
    }
}

/// Shows a window and gives it focus, creating it first if it is not open.
pub fn show(app: &AppHandle, panel: Panel) {
    show_raised(app, panel, Raise::Focused)
}

/// Shows a window, creating it first if it is not open, giving it the keyboard only if `raise`
/// says so: a window that comes up by itself never takes the keys from what the user types in.
pub fn show_raised(app: &AppHandle, panel: Panel, raise: Raise) {
    if let Some(window) = app.get_webview_window(panel.label()) {
        return bring_up(app, panel, &window, raise);
    }
    let creator = app.clone();
    let created = app.run_on_main_thread(move || {
        // Shown twice before the main thread got here: the first one created it.
        if creator.get_webview_window(panel.label()).is_some() {
            return show_raised(&creator, panel, raise);
        }
        if let Err(error) = build(&creator, panel, Some(raise)) {
            tracing::warn!(window = panel.label(), %error, "could not create window");
        }
    });
    if let Err(error) = created {
        tracing::warn!(window = panel.label(), %error, "could not reach the main thread");
    }
}

/// Floating boxes appear on the monitor under the pointer, where the user is looking.
fn bring_up(app: &AppHandle, panel: Panel, window: &WebviewWindow, raise: Raise) {
    if panel.spec().floating {
        center_on_pointer_monitor(app, window);
    }
    let _ = window.unminimize();
    if let Err(error) = window.show() {
        tracing::warn!(window = panel.label(), %error, "could not show window");
    }
    if raise == Raise::Focused {
        let _ = window.set_focus();
    }
    tracing::info!(window = panel.label(), ?raise, "window shown");
    if Panel::SHOWING_CALLS.contains(&panel) {
        tell_watcher_what_is_open(app, Some((panel, true)));
    }
}

/// Puts a window away: the box hides, any other window closes (see `follow_window_events`).
pub fn hide(app: &AppHandle, panel: Panel) {
    let Some(window) = app.get_webview_window(panel.label()) else { return };
    let _ = if panel == Panel::Ask { window.hide() } else { window.close() };
}

/// The hotkey toggles the quick-ask box: a second press puts it away.
pub fn toggle(app: &AppHandle, panel: Panel) {
    let visible = app.get_webview_window(panel.label()).is_some_and(|w| w.is_visible().unwrap_or(false));
    if visible {
        hide(app, panel)
    } else {
        show(app, panel)
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
    // A little above the middle, like a spotlight box. The quick-ask box is placed for its
    // tallest, so its top (the input) never moves as it grows and shrinks.
    let height = match window.label() == Panel::Ask.label() {
        true => (ASK_MAX_HEIGHT * monitor.scale_factor()) as i32,
        false => size.height as i32,
    };
    let y = area.position.y + (area.size.height as i32 - height).max(0) / 3;
    let _ = window.set_position(PhysicalPosition::new(x, y));
}

/// Retitles every open window (after a language change); those created later take the new
/// language then.
pub fn retitle(app: &AppHandle) {
    for panel in Panel::ALL {
        if let Some(window) = app.get_webview_window(panel.label()) {
            let _ = window.set_title(&title(app, panel));
        }
    }
}

/// Whether the call popup stays above other windows (a setting), for the popup now and the
/// ones created later.
static CALL_ON_TOP: AtomicBool = AtomicBool::new(true);

pub fn set_call_on_top(app: &AppHandle, on_top: bool) {
    CALL_ON_TOP.store(on_top, Ordering::Relaxed);
    if let Some(window) = app.get_webview_window(Panel::Call.label()) {
        let _ = window.set_always_on_top(on_top);
    }
}

/// The quick-ask box's height: a bar with the input when there is nothing else, up to this much
/// with a reply (a longer one scrolls inside).
const ASK_MIN_HEIGHT: f64 = 120.0;
const ASK_MAX_HEIGHT: f64 = 560.0;

/// The quick-ask box fits its content: its page says how tall the content is (after each change)
/// and the window takes that height within its range, keeping its width and its top.
#[tauri::command]
pub fn ask_fit(window: WebviewWindow, height: f64) {
    if window.label() != Panel::Ask.label() || !height.is_finite() {
        return;
    }
    let height = height.ceil().clamp(ASK_MIN_HEIGHT, ASK_MAX_HEIGHT);
    let wanted = LogicalSize::new(Panel::Ask.spec().width, height);
    let now = window.inner_size().ok().zip(window.scale_factor().ok()).map(|(s, f)| s.to_logical::<f64>(f));
    if now.is_some_and(|now| (now.height - height).abs() < 1.0) {
        return;
    }
    if let Err(error) = window.set_size(wanted) {
        tracing::warn!(%error, "could not fit the quick-ask box");
    }
}

/// The window has painted a frame after being shown (reported by the page itself).
#[tauri::command]
pub fn window_painted(window: WebviewWindow) {
    tracing::info!(window = window.label(), "window painted");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_apps_own_pages_load() {
        let own = |u: &str| is_own_page(&url::Url::parse(u).unwrap());
        assert!(own("tauri://localhost/inbox.html") && own("http://tauri.localhost/ask.html"));
        for outside in
            ["https://evil.example/", "tauri://evil.example/x", "file:///etc/passwd", "about:blank", "data:text/html,x"]
        {
            assert!(!own(outside), "{outside}");
        }
    }
}
