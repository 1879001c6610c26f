//! The Linux packages, for real: `scripts/package` (what `make package` runs) builds the .deb and
//! the .rpm from the current sources (an incremental release build plus the Tauri bundler), then
//! the .deb is installed on this machine with dpkg, a `kallyai://` link opened with xdg-open
//! starts the installed /usr/bin binary, and `dpkg -r` takes everything away again.
//!
//! dpkg changes the real system, so this needs root (CI and the test machine run as root) and the
//! headless desktop of `scripts/with-desktop`; it fails, never skips, without them. Runs of it take
//! turns through a system-wide lock, and the package is purged when a run fails or was killed.
//! The "user" who clicks the link is a fresh HOME of its own: links must work for someone who never
//! started the app (an unpackaged app registers itself at start; see
//! src-tauri/src/launch/link_handler/linux.rs).

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use common::{output_dir, require_desktop, run, wait, x11};

/// What the bundler derives from tauri.conf.json (`productName` KallyAI, kebab-cased, for both
/// package formats; `mainBinaryName`).
const DEB_PACKAGE: &str = "kally-ai";
const BINARY: &str = "/usr/bin/kallyai-desktop";
const DESKTOP_FILE: &str = "/usr/share/applications/KallyAI.desktop";
const ICON: &str = "/usr/share/icons/hicolor/128x128/apps/kallyai-desktop.png";
const SCHEME: &str = "x-scheme-handler/kallyai";
const SYSTEM_LOCK: &str = "/run/lock/kallyai-desktop-package-test.lock";

struct Packages {
    deb: PathBuf,
    rpm: PathBuf,
}

/// Builds both packages once per test binary, from the sources as they are now.
fn packages() -> &'static Packages {
    static BUILT: OnceLock<Packages> = OnceLock::new();
    BUILT.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let log_path = output_dir("package").join("build.log");
        let log = std::fs::File::create(&log_path).expect("build log");
        let out = Command::new(root.join("scripts/package"))
            .current_dir(root)
            .stderr(log)
            .output()
            .expect("run scripts/package");
        let said = std::fs::read_to_string(&log_path).unwrap_or_default();
        let tail: Vec<&str> = said.lines().rev().take(30).collect::<Vec<_>>().into_iter().rev().collect();
        assert!(out.status.success(), "scripts/package failed ({}):\n{}", out.status, tail.join("\n"));
        let paths: Vec<PathBuf> = String::from_utf8_lossy(&out.stdout).lines().map(PathBuf::from).collect();
        // Copies: another `make package` (another session) may rewrite the bundle directory.
        let find = |ext: &str| {
            let built = paths.iter().find(|p| p.extension().is_some_and(|e| e == ext)).unwrap_or_else(|| {
                panic!("scripts/package printed no .{ext}: {paths:?}");
            });
            let copy = output_dir("package").join(built.file_name().expect("package file name"));
            std::fs::copy(built, &copy).unwrap_or_else(|e| panic!("copy {}: {e}", built.display()));
            copy
        };
        Packages { deb: find("deb"), rpm: find("rpm") }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deb_installs_opens_links_and_removes_cleanly() {
    require_desktop();
    require_root();
    let _turn = SystemLock::acquire();
    let out = output_dir("package");
    let deb = &packages().deb;

    // What the package says about itself.
    let field = |name: &str| run("dpkg-deb", &["--field", &deb.to_string_lossy(), name]).trim().to_string();
    assert_eq!(field("Package"), DEB_PACKAGE);
    let depends = field("Depends");
    for needed in ["libwebkit2gtk-4.1-0", "libgtk-3-0", "libayatana-appindicator3-1"] {
        assert!(depends.split(", ").any(|d| d == needed), "Depends lacks {needed}: {depends}");
    }
    let description = field("Description");
    assert!(description.starts_with("KallyAI executive assistant in your tray\n"), "Description: {description}");
    assert!(description.contains("global hotkey"), "the long description is missing: {description}");
    let files = package_files(deb);
    for needed in [BINARY, DESKTOP_FILE, ICON] {
        assert!(files.iter().any(|f| f == needed), "{needed} is not in the .deb: {files:?}");
    }

    let mut installed = Installed::new(&out);
    installed.install(deb);

    // The desktop entry: valid, a link handler for kallyai:// that passes the link on (%u).
    let entry = std::fs::read_to_string(DESKTOP_FILE).expect("the desktop entry is installed");
    for line in
        ["Name=KallyAI", "Exec=kallyai-desktop %u", "Icon=kallyai-desktop", "MimeType=x-scheme-handler/kallyai;"]
    {
        assert!(entry.lines().any(|l| l == line), "desktop entry lacks `{line}`:\n{entry}");
    }
    assert!(entry.lines().any(|l| l.starts_with("Comment=") && l.len() > 20), "no description:\n{entry}");
    let validate = Command::new("desktop-file-validate").arg(DESKTOP_FILE).output().expect("desktop-file-validate");
    assert!(validate.status.success() && validate.stdout.is_empty(), "desktop-file-validate: {validate:?}");
    assert!(Path::new(ICON).is_file(), "the icon is installed");

    // A user who never started the app: kallyai:// is already theirs (the system's default).
    let user = installed.user();
    assert_eq!(user.output("xdg-mime", &["query", "default", SCHEME]).trim(), "KallyAI.desktop");

    // A link opened the way a desktop opens it starts the installed binary, which shows the window.
    let sim = kallyai_sim::client::start_local(kallyai_sim::SimConfig::default()).await;
    let app_log = out.join("installed-app.log");
    let mut opener = user
        .command("xdg-open")
        .arg("kallyai://show/settings")
        .env("KALLYAI_API_BASE", sim.url())
        .env("KALLYAI_LOG", "debug")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&app_log).expect("app log"))
        .spawn()
        .expect("xdg-open");
    installed.opener = Some(opener.id());
    let app = wait::until_sync("xdg-open to start /usr/bin/kallyai-desktop", Duration::from_secs(20), || {
        descendants_running(opener.id(), BINARY).first().copied()
    })
    .await;
    let log_text = || std::fs::read_to_string(&app_log).unwrap_or_default();
    wait::until_sync("the installed app to show its settings window", Duration::from_secs(20), || {
        (x11::window_viewable("Settings") && log_text().contains("window painted window=\"settings\"")).then_some(())
    })
    .await;
    common::screenshot(&out.join("installed-app.png"));

    // Quit it the way a user can (a second launch), then xdg-open returns with the app's status.
    let quit = user.command(BINARY).arg("--quit").output().expect("kallyai-desktop --quit");
    assert!(quit.status.success(), "--quit: {quit:?}");
    let status =
        wait::until_sync("xdg-open to return", Duration::from_secs(20), || opener.try_wait().ok().flatten()).await;
    installed.opener = None;
    assert!(status.success(), "xdg-open (and the app) ended with {status}:\n{}", log_text());
    assert!(!process_running(app), "the app is gone with xdg-open");
    let log = log_text();
    assert!(!log.contains(" ERROR "), "errors in the installed app's log:\n{log}");
    assert!(log.contains("bye"), "clean shutdown in the log:\n{log}");
    sim.shutdown().await;

    // Removal leaves nothing behind and no link pointing at a missing entry.
    installed.remove();
    let left: Vec<&String> = files.iter().filter(|f| Path::new(f).is_file()).collect();
    assert!(left.is_empty(), "files left after dpkg -r: {left:?}");
    let handler = user.output("xdg-mime", &["query", "default", SCHEME]).trim().to_string();
    assert_ne!(handler, "KallyAI.desktop", "kallyai:// still points at the removed entry");
    assert!(handler.is_empty() || desktop_entry_exists(&handler), "kallyai:// points at a missing {handler}");
    let cache = std::fs::read_to_string("/usr/share/applications/mimeinfo.cache").unwrap_or_default();
    assert!(!cache.contains("KallyAI.desktop"), "mimeinfo.cache still names the entry:\n{cache}");
}

#[test]
fn rpm_carries_the_same_entry_dependencies_and_files() {
    let rpm = packages().rpm.to_string_lossy().into_owned();
    let name = run("rpm", &["-qp", "--queryformat", "%{NAME} %{VERSION}", &rpm]);
    assert_eq!(name, format!("{DEB_PACKAGE} {}", env!("CARGO_PKG_VERSION")));
    let requires = run("rpm", &["-qp", "--requires", &rpm]);
    for needed in
        ["libwebkit2gtk-4.1.so.0()(64bit)", "libgtk-3.so.0()(64bit)", "libayatana-appindicator3.so.1()(64bit)"]
    {
        assert!(requires.lines().any(|r| r.trim() == needed), "Requires lacks {needed}:\n{requires}");
    }
    let files = run("rpm", &["-qlp", &rpm]);
    for needed in [BINARY, DESKTOP_FILE, ICON] {
        assert!(files.lines().any(|f| f == needed), "{needed} is not in the .rpm:\n{files}");
    }
    let entry = file_in_rpm(&rpm, DESKTOP_FILE);
    assert!(entry.lines().any(|l| l == "MimeType=x-scheme-handler/kallyai;"), "rpm desktop entry:\n{entry}");
    assert!(entry.lines().any(|l| l == "Exec=kallyai-desktop %u"), "rpm desktop entry:\n{entry}");
}

fn require_root() {
    let uid = run("id", &["-u"]);
    assert_eq!(uid.trim(), "0", "installing the .deb needs root (dpkg); run `make test` as root, as CI does");
}

/// The files (not directories) a .deb installs, as absolute paths.
fn package_files(deb: &Path) -> Vec<String> {
    run("dpkg-deb", &["--contents", &deb.to_string_lossy()])
        .lines()
        .filter(|l| !l.starts_with('d'))
        .filter_map(|l| l.split_whitespace().last())
        .map(|p| format!("/{}", p.trim_start_matches("./")))
        .collect()
}

fn file_in_rpm(rpm: &str, path: &str) -> String {
    let script = format!("rpm2archive - < '{rpm}' | tar -xzO '.{path}'");
    run("sh", &["-c", &script])
}

fn desktop_entry_exists(name: &str) -> bool {
    ["/usr/share/applications", "/usr/local/share/applications"].iter().any(|d| Path::new(d).join(name).is_file())
}

/// Whether `pid` is a live process (not a zombie).
fn process_running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| !stat.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'))
        .unwrap_or(false)
}

fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit(')').next()?.split_whitespace().nth(1)?.parse().ok()
}

/// Live processes running `exe` that descend from `ancestor`.
fn descendants_running(ancestor: u32, exe: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|p| p == Path::new(exe)))
        .filter(|&pid| process_running(pid))
        .filter(|&pid| {
            let mut at = pid;
            while let Some(parent) = parent_of(at) {
                if parent == ancestor {
                    return true;
                }
                if parent <= 1 {
                    break;
                }
                at = parent;
            }
            false
        })
        .collect()
}

/// A system-wide turn for tests that change the system (dpkg). The lock is held by a `flock`
/// child that lives as long as its stdin is open, so it is released even if this process is
/// killed.
struct SystemLock(Child);

impl SystemLock {
    fn acquire() -> SystemLock {
        let mut child = Command::new("flock")
            .args([SYSTEM_LOCK, "sh", "-c", "echo locked; exec cat > /dev/null"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("flock (util-linux)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("flock stdout")).read_line(&mut line).expect("read flock");
        assert_eq!(line.trim(), "locked", "could not take {SYSTEM_LOCK}");
        SystemLock(child)
    }
}

impl Drop for SystemLock {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        let _ = self.0.wait();
    }
}

/// A user with a fresh HOME of their own, on the test desktop (same display and session bus).
struct User {
    home: PathBuf,
}

impl User {
    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env("XDG_DATA_HOME", self.home.join(".local/share"))
            .env("XDG_CACHE_HOME", self.home.join(".cache"))
            // What a desktop session sets, /usr/share included (where the package puts its entry).
            .env("XDG_DATA_DIRS", "/usr/local/share:/usr/share")
            .env("XDG_CONFIG_DIRS", "/etc/xdg");
        cmd
    }

    fn output(&self, program: &str, args: &[&str]) -> String {
        let out = self.command(program).args(args).output().unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// The package on the system for the length of a test: purged (and its app stopped) on drop,
/// whether the test passed, failed or found it left over by an earlier run that was killed.
struct Installed {
    user_home: PathBuf,
    opener: Option<u32>,
}

impl Installed {
    fn new(out: &Path) -> Installed {
        if is_installed() {
            eprintln!("package test: {DEB_PACKAGE} was installed before the test (a killed run?); purging it first");
            purge();
        }
        let user_home = out.join("user-home");
        let _ = std::fs::remove_dir_all(&user_home);
        std::fs::create_dir_all(user_home.join(".config")).expect("user home");
        std::fs::create_dir_all(user_home.join(".local/share")).expect("user home");
        Installed { user_home, opener: None }
    }

    fn user(&self) -> User {
        User { home: self.user_home.clone() }
    }

    fn install(&mut self, deb: &Path) {
        // Every dependency is installed here (the build needs them), so no --force-depends.
        run("dpkg", &["-i", &deb.to_string_lossy()]);
        assert!(is_installed(), "dpkg -i did not install {DEB_PACKAGE}");
    }

    fn remove(&mut self) {
        run("dpkg", &["-r", DEB_PACKAGE]);
        assert!(!is_installed(), "dpkg -r left {DEB_PACKAGE} installed");
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        if let Some(opener) = self.opener.take() {
            for pid in descendants_running(opener, BINARY) {
                let _ = Command::new("kill").arg(pid.to_string()).status();
            }
            let _ = Command::new("kill").arg(opener.to_string()).status();
        }
        if is_installed() {
            purge();
        }
    }
}

fn is_installed() -> bool {
    let out = Command::new("dpkg-query").args(["-W", "-f=${db:Status-Status}", DEB_PACKAGE]).output();
    matches!(out, Ok(o) if o.status.success() && o.stdout != b"not-installed")
}

fn purge() {
    let status = Command::new("dpkg").args(["--purge", DEB_PACKAGE]).stdout(Stdio::null()).status();
    if !matches!(status, Ok(s) if s.success()) {
        eprintln!("package test: dpkg --purge {DEB_PACKAGE} failed: {status:?}");
    }
}
