//! Starting the real app, the one way the tests do: with an environment of the test's choosing
//! and its stderr (its log lines at `KALLYAI_LOG`) in `<out>/<name>.log`, either as a plain child
//! process ([`App`]) or under WebDriver ([`Launched`]). tauri-driver passes no environment of its
//! own, so under WebDriver the app is started through a small wrapper script that sets it and
//! then `exec`s the app (same process id, same arguments); the script also records that id.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::Duration;

use super::{tray, wait, webdriver};

pub const BINARY: &str = env!("CARGO_BIN_EXE_kallyai-desktop");

/// Where the launch `name` writes its log.
fn log_file(out: &Path, name: &str) -> PathBuf {
    out.join(format!("{name}.log"))
}

fn owned(vars: &[(&str, String)]) -> Vec<(String, String)> {
    vars.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

/// The app as a plain child process (not under WebDriver).
pub struct App {
    child: Child,
    pub log: PathBuf,
    vars: Vec<(String, String)>,
}

impl App {
    /// Starts the app with `args` and `vars` in its environment, logging to `<out>/<name>.log`.
    pub fn start(out: &Path, name: &str, vars: &[(&str, String)], args: &[&str]) -> App {
        let log = log_file(out, name);
        let child = Command::new(BINARY)
            .args(args)
            .envs(vars.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("app log"))
            .spawn()
            .expect("start the app");
        App { child, log, vars: owned(vars) }
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

    /// A second launch in the app's own environment (so it finds the instance on its bus).
    pub async fn second_launch(&self, args: &[&str]) -> Output {
        launch_again(args, &self.vars).await
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

/// A second launch of the app with `args` in the test's own environment (it forwards them to
/// the running instance and exits).
pub async fn second_launch(args: &[&str]) -> Output {
    launch_again(args, &[]).await
}

/// A second launch with `vars` added to the environment.
async fn launch_again(args: &[&str], vars: &[(String, String)]) -> Output {
    let child = tokio::process::Command::new(BINARY)
        .args(args)
        .envs(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
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
    let log = log_file(out, name);
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
        let _ = std::fs::remove_file(log_file(out, name));
        let session = webdriver::Session::start(&script.to_string_lossy(), args).await;
        let pid = wait::until_sync("the app's process id", Duration::from_secs(20), || {
            std::fs::read_to_string(&pid_file).ok()?.trim().parse().ok()
        })
        .await;
        Launched { session: Some(session), pid, log: log_file(out, name), vars: owned(vars) }
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
        launch_again(args, &self.vars).await
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
