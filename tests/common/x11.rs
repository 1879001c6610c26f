//! X11 windows as the user sees them: is a window with this title on screen?

/// Whether a top-level window titled `title` is mapped and viewable.
pub fn window_viewable(title: &str) -> bool {
    let out = std::process::Command::new("xwininfo").args(["-name", title]).output();
    matches!(out, Ok(o) if o.status.success() && String::from_utf8_lossy(&o.stdout).contains("Map State: IsViewable"))
}
