//! X11 windows as the user sees them: is a window with this title on screen?

/// Whether a top-level window titled `title` is mapped and viewable.
pub fn window_viewable(title: &str) -> bool {
    let out = std::process::Command::new("xwininfo").args(["-name", title]).output();
    matches!(out, Ok(o) if o.status.success() && String::from_utf8_lossy(&o.stdout).contains("Map State: IsViewable"))
}

/// Where the top-level window titled `title` is and how big, as the X server has it:
/// (x, y, width, height) in pixels.
pub fn window_geometry(title: &str) -> Option<(i64, i64, i64, i64)> {
    let out = std::process::Command::new("xwininfo").args(["-name", title]).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |name: &str| -> Option<i64> {
        text.lines().find_map(|l| l.trim().strip_prefix(name)).and_then(|v| v.trim().parse().ok())
    };
    Some((field("Absolute upper-left X:")?, field("Absolute upper-left Y:")?, field("Width:")?, field("Height:")?))
}

/// The title of the top-level window that has the keyboard focus (X input focus; the rig runs no
/// window manager, so `_NET_ACTIVE_WINDOW` is not there to ask).
pub fn focused_window_title() -> String {
    super::run("xdotool", &["getwindowfocus", "getwindowname"]).trim().to_string()
}

/// A window manager (openbox) on the test display while this lives. The rig runs none: without
/// one, X gives the keyboard only to whom asks for it with `XSetInputFocus`, so whether a window
/// takes the focus as it appears (as it would on a user's desktop) can only be seen with one.
pub struct WindowManager(std::process::Child);

impl WindowManager {
    pub async fn start() -> WindowManager {
        let child = std::process::Command::new("openbox")
            .args(["--sm-disable", "--replace"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start openbox (scripts/install-deps installs it)");
        super::wait::until_sync("the window manager to run", std::time::Duration::from_secs(15), || {
            let out = std::process::Command::new("xprop").args(["-root", "_NET_SUPPORTING_WM_CHECK"]).output().ok()?;
            String::from_utf8_lossy(&out.stdout).contains("window id").then_some(())
        })
        .await;
        WindowManager(child)
    }
}

impl Drop for WindowManager {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
