//! Starts the real app under WebDriver with an environment of the test's choosing (a test
//! browser, a log level, another session bus). tauri-driver passes no environment of its own,
//! so the app is started through a small wrapper script that sets it and then `exec`s the app
//! (same process id, same arguments); the script also records that id and sends the app's
//! stderr to a log file the test can read.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use super::app::{process_alive, BINARY};
use super::{tray, wait, webdriver};

/// The app running under WebDriver.
pub struct Launched {
    /// Taken when the session ends (`quit`).
    session: Option<webdriver::Session>,
    pub pid: u32,
    /// The app's stderr (its log lines at `KALLYAI_LOG`).
    pub log: PathBuf,
    vars: Vec<(String, String)>,
}

/// Writes `<out>/<name>.sh`, which runs the app with `vars` set.
pub fn wrapper(out: &Path, name: &str, vars: &[(&str, String)]) -> PathBuf {
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let pid_file = out.join(format!("{name}.pid"));
    let log = out.join(format!("{name}.log"));
    let mut script = format!("#!/bin/sh\necho $$ > {}\n", quote(&pid_file.to_string_lossy()));
    for (key, value) in vars {
        script.push_str(&format!("export {key}={}\n", quote(value)));
    }
    script.push_str(&format!("exec {} \"$@\" 2>>{}\n", quote(BINARY), quote(&log.to_string_lossy())));
    let path = out.join(format!("{name}.sh"));
    std::fs::write(&path, script).expect("write the app wrapper");
    let mut perms = std::fs::metadata(&path).expect("wrapper metadata").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&path, perms).expect("make the wrapper executable");
    path
}

impl Launched {
    /// Starts the app under WebDriver as `<out>/<name>.sh ARGS` with `vars` in its environment.
    pub async fn start(out: &Path, name: &str, vars: &[(&str, String)], args: &[&str]) -> Launched {
        let script = wrapper(out, name, vars);
        let pid_file = out.join(format!("{name}.pid"));
        let _ = std::fs::remove_file(&pid_file);
        let _ = std::fs::remove_file(out.join(format!("{name}.log")));
        let session = webdriver::Session::start(&script.to_string_lossy(), args).await;
        let pid = wait::until_sync("the app's process id", Duration::from_secs(20), || {
            std::fs::read_to_string(&pid_file).ok()?.trim().parse().ok()
        })
        .await;
        let vars = vars.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        Launched { session: Some(session), pid, log: out.join(format!("{name}.log")), vars }
    }

    /// The WebDriver session that drives the app's webviews.
    pub fn session(&self) -> &webdriver::Session {
        self.session.as_ref().expect("the WebDriver session is open")
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn is_running(&self) -> bool {
        process_alive(self.pid)
    }

    /// The app's tray item, once it is on the bus.
    pub async fn tray(&self) -> tray::TrayItem {
        tray::wait_for_item(self.pid).await
    }

    /// A second launch in the app's own environment (so it finds the instance on its bus).
    pub async fn second_launch(&self, args: &[&str]) -> Output {
        let child = tokio::process::Command::new(BINARY)
            .args(args)
            .envs(self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
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

    /// Quits through `--quit` (as a user's second launch would), ends the WebDriver session and
    /// waits until the process is gone, so the next instance can start on the bus.
    pub async fn quit(mut self) {
        let quit = self.second_launch(&["--quit"]).await;
        assert!(quit.status.success(), "--quit: {quit:?}");
        let pid = self.pid;
        wait::until_sync("the app to exit after --quit", Duration::from_secs(15), || {
            (!process_alive(pid)).then_some(())
        })
        .await;
        if let Some(session) = self.session.take() {
            session.end().await;
        }
    }

    /// Every window's DOM (`document.documentElement.outerHTML`), one string per window.
    pub async fn every_dom(&self) -> Vec<String> {
        let mut doms = Vec::new();
        for handle in self.session().window_handles().await {
            self.session().switch_to(&handle).await;
            let html = self.session().execute("return document.documentElement.outerHTML").await;
            doms.push(html.as_str().unwrap_or_default().to_string());
        }
        doms
    }
}

impl Drop for Launched {
    /// A test that failed half-way must not leave its app on the bus for the next test.
    fn drop(&mut self) {
        kill_if_running(self.pid);
        // End the WebDriver session too (only left open when the test failed half-way), or the
        // next test's new session waits on it. Drop cannot await: end it on a runtime of its own.
        if let Some(session) = self.session.take() {
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
                if let Ok(runtime) = runtime {
                    runtime.block_on(async { tokio::time::timeout(Duration::from_secs(10), session.end()).await }).ok();
                }
            })
            .join();
        }
    }
}

/// Ends process `pid` (one this test started, directly or through a link) if it still runs.
pub fn kill_if_running(pid: u32) {
    if process_alive(pid) {
        let _ = std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status();
    }
}

/// Kills the process when dropped (e.g. an app a link started, if the test fails first).
pub struct KillOnDrop(pub u32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        kill_if_running(self.0);
    }
}

/// Process ids of the copies of the app running on this test's session bus (e.g. one a link
/// started). Other sessions on the same machine (other test runs) are left out: only processes
/// whose `DBUS_SESSION_BUS_ADDRESS` is this process's count.
pub fn running_apps() -> Vec<u32> {
    let Some(bus) = std::env::var_os("DBUS_SESSION_BUS_ADDRESS") else { return Vec::new() };
    let mine = {
        let mut entry = b"DBUS_SESSION_BUS_ADDRESS=".to_vec();
        entry.extend_from_slice(bus.as_encoded_bytes());
        entry
    };
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe == Path::new(BINARY))
                && process_alive(*pid)
                && std::fs::read(format!("/proc/{pid}/environ"))
                    .is_ok_and(|env| env.split(|b| *b == 0).any(|var| var == mine.as_slice()))
        })
        .collect()
}
