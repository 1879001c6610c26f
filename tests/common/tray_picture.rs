//! A picture of the tray menu. Under Xvfb no panel draws the menu (the StatusNotifierItem host is
//! a bare watcher), so the menu is rendered from what the panel would show: the labels the app
//! publishes over DBusMenu right now, drawn one per line with ImageMagick (`convert label:`).
//! The text is the app's real menu; the look is ImageMagick's, not a desktop theme's.

use std::path::Path;

use super::tray::TrayItem;

/// Writes a PNG of `item`'s current menu (disabled entries grey, like a panel shows them).
pub fn render_menu(item: &TrayItem, path: &Path) {
    let lines: Vec<String> = item
        .menu()
        .into_iter()
        .map(|entry| if entry.enabled { entry.label } else { format!("{}  (info)", entry.label) })
        .collect();
    let text = lines.join("\n");
    let status = std::process::Command::new("convert")
        .args(["-background", "#f4f4f4", "-fill", "#202020", "-font", "DejaVu-Sans", "-pointsize", "15"])
        .args(["-bordercolor", "#f4f4f4", "-border", "14x10", "-interline-spacing", "8"])
        .arg(format!("label:{}", text.replace('\\', "\\\\").replace('@', "\\@")))
        .args(["-bordercolor", "#9a9a9a", "-border", "1"])
        .arg(path)
        .status();
    assert!(matches!(status, Ok(s) if s.success()), "rendering the tray menu failed: {status:?}");
}
