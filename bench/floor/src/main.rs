//! The floor for KallyAI Desktop's benchmarks: what any Tauri 2 tray app costs on this machine.
//! A tray icon with a three-item menu (Show, Hide, Quit), one window created hidden at start with
//! a static page, nothing else: no plugins, no network, no background work.
//!
//! It prints the few events the harness times on stderr, each prefixed with the wall-clock time
//! in seconds since the epoch (microseconds), the clock the harness reads too:
//!   `<t> window shown window="floor"`    just before `show()`
//!   `<t> window painted window="floor"`  the page's second animation frame after becoming visible
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::time::{SystemTime, UNIX_EPOCH};

use tauri::image::Image;
use tauri::menu::{Menu, MenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, RunEvent, WebviewUrl, WebviewWindow, WebviewWindowBuilder};

const LABEL: &str = "floor";

fn event(what: &str, window: &str) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    eprintln!("{}.{:06} {what} window=\"{window}\"", now.as_secs(), now.subsec_micros());
}

#[tauri::command]
fn window_painted(window: WebviewWindow) {
    event("window painted", window.label());
}

#[tauri::command]
fn hide_window(window: WebviewWindow) {
    let _ = window.hide();
}

fn show(app: &AppHandle) {
    if let Some(window) = app.get_webview_window(LABEL) {
        event("window shown", LABEL);
        let _ = window.show();
        let _ = window.set_focus();
    }
}

fn hide(app: &AppHandle) {
    if let Some(window) = app.get_webview_window(LABEL) {
        let _ = window.hide();
    }
}

fn setup(app: &AppHandle) -> tauri::Result<()> {
    // The same shape as the app's quick-ask box: a floating box, created hidden.
    WebviewWindowBuilder::new(app, LABEL, WebviewUrl::App("index.html".into()))
        .title(LABEL)
        .inner_size(640.0, 420.0)
        .visible(false)
        .focused(false)
        .center()
        .decorations(false)
        .always_on_top(true)
        .skip_taskbar(true)
        .resizable(false)
        .build()?;

    let menu = Menu::with_items(
        app,
        &[
            &MenuItem::with_id(app, "show", "Show", true, None::<&str>)?,
            &MenuItem::with_id(app, "hide", "Hide", true, None::<&str>)?,
            &MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?,
        ],
    )?;
    TrayIconBuilder::with_id("floor")
        .icon(Image::from_bytes(include_bytes!("../icons/tray.png"))?)
        .tooltip("floor")
        .menu(&menu)
        .show_menu_on_left_click(true)
        .on_menu_event(|app, event| match event.id().as_ref() {
            "show" => show(app),
            "hide" => hide(app),
            "quit" => app.exit(0),
            _ => {}
        })
        .build(app)?;
    Ok(())
}

fn main() {
    let app = tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![window_painted, hide_window])
        .setup(|app| {
            setup(app.handle())?;
            Ok(())
        })
        .build(tauri::generate_context!())
        .expect("the floor app could not start");
    let code = app.run_return(|_app, event| {
        // A tray app keeps running with every window hidden; only Quit ends it.
        if let RunEvent::ExitRequested { code: None, api, .. } = event {
            api.prevent_exit();
        }
    });
    std::process::exit(code);
}
