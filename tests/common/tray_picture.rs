//! A picture of the tray menu. Under Xvfb no panel draws the menu (the StatusNotifierItem host is
//! a bare watcher), so the menu is rendered from what the panel would show: the labels the app
//! publishes over DBusMenu right now, drawn one per line with ImageMagick (`convert label:`).
//! The text is the app's real menu; the look is ImageMagick's, not a desktop theme's.

use std::path::Path;

use super::tray::TrayItem;

/// Writes a PNG of `item`'s current menu, one entry a line; disabled entries (the status line)
/// are grey, as a panel shows them.
pub fn render_menu(item: &TrayItem, path: &Path) {
    let mut command = std::process::Command::new("convert");
    command.args(["-background", "#f4f4f4", "-font", "DejaVu-Sans", "-pointsize", "15"]);
    command.args(["-bordercolor", "#f4f4f4"]);
    for entry in item.menu() {
        let colour = if entry.enabled { "#202020" } else { "#8a8a8a" };
        // A leading '@' would make ImageMagick read a file; a backslash starts an escape.
        let text = entry.label.replace('\\', "\\\\").replace('@', "\\@");
        command.args(["(", "-fill", colour, &format!("label:{text}"), "-border", "0x5", ")"]);
    }
    command.args(["-gravity", "West", "-append", "-border", "14x6", "-bordercolor", "#9a9a9a", "-border", "1"]);
    let status = command.arg(path).status();
    assert!(matches!(status, Ok(s) if s.success()), "rendering the tray menu failed: {status:?}");
}
