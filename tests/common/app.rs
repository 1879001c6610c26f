//! The app under test, as a child process with its stderr in a file.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::Duration;

use super::wait;

pub const BINARY: &str = env!("CARGO_BIN_EXE_kallyai-desktop");

pub struct App {
    child: Child,
    pub log: PathBuf,
}

impl App {
    pub fn start(api_base: &str, out_dir: &Path) -> App {
        let log = out_dir.join("app.log");
        let child = Command::new(BINARY)
            .args(["--api-base", api_base])
            .env("KALLYAI_LOG", "debug")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("app log"))
            .spawn()
            .expect("start the app");
        App { child, log }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits for the app to exit by itself.
    pub async fn exit_status(&mut self, timeout: Duration) -> ExitStatus {
        wait::until_sync("the app to exit", timeout, || self.child.try_wait().ok().flatten()).await
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The app's child processes (WebKit's web and network processes).
    pub fn children(&self) -> Vec<u32> {
        children_of(self.pid())
    }
}

impl Drop for App {
    fn drop(&mut self) {
        if self.is_running() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub fn children_of(pid: u32) -> Vec<u32> {
    let path = format!("/proc/{pid}/task/{pid}/children");
    std::fs::read_to_string(path).unwrap_or_default().split_whitespace().filter_map(|p| p.parse().ok()).collect()
}

pub fn process_alive(pid: u32) -> bool {
    // A zombie has exited; only its parent has not collected it yet.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| !stat.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'))
        .unwrap_or(false)
}

/// A second launch of the app with `args` (it forwards them to the running instance and exits).
pub async fn second_launch(args: &[&str]) -> Output {
    let child = tokio::process::Command::new(BINARY)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run a second instance");
    tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("a second launch with {args:?} did not exit within 20 s"))
        .expect("second instance output")
}
