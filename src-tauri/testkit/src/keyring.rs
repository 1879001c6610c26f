//! The headless desktop's keyring made to stop answering: locked for real (`LockedKeyring`), or
//! its gnome-keyring-daemon frozen with SIGSTOP (`FrozenKeyring`), as a daemon stuck behind an
//! unlock prompt nobody sees would be. Only the keyring of this test's session (other sessions
//! on the machine have their own) is touched.
//!
//! A locked login keyring on this desktop behaves like a frozen one to a client: the read waits
//! on an unlock prompt that never comes up (no prompter can reach the session bus here), so the
//! app sees a keyring that does not answer, as it would while a user ignores the prompt.

use std::process::Command;

/// While this lives the session's keyring does not answer; dropped (also when a test fails
/// half-way), it answers again.
pub struct FrozenKeyring(u32);

impl FrozenKeyring {
    pub fn freeze() -> FrozenKeyring {
        let pid = session_daemon();
        signal(pid, "-STOP");
        FrozenKeyring(pid)
    }
}

impl Drop for FrozenKeyring {
    fn drop(&mut self) {
        signal(self.0, "-CONT");
    }
}

/// The login keyring locked through the Secret Service (`Lock`), as a screen lock or a timeout
/// would. Dropped, it is unlocked the way a login does: a daemon started with the session's
/// password (`scripts/with-desktop` exports it) replaces the locked one and unlocks the same
/// keyring files.
pub struct LockedKeyring(());

const LOGIN: &str = "/org/freedesktop/secrets/collection/login";

impl LockedKeyring {
    pub async fn lock() -> LockedKeyring {
        let locked = Command::new("busctl")
            .args(["--user", "call", "org.freedesktop.secrets", "/org/freedesktop/secrets"])
            .args(["org.freedesktop.Secret.Service", "Lock", "ao", "1", LOGIN])
            .status()
            .expect("busctl");
        // Taken before the checks: if they fail, dropping it still unlocks the keyring for the
        // tests that follow (a keyring left locked failed the next test's sign-in in CI once).
        let guard = LockedKeyring(());
        assert!(locked.success(), "busctl could not lock the login keyring");
        // The daemon may answer `Lock` before `Locked` reads true (seen once in CI, after a test
        // had replaced the daemon): wait for the property, with a deadline.
        crate::wait::until_sync("the login keyring to say it is locked", std::time::Duration::from_secs(10), || {
            is_locked().then_some(())
        })
        .await;
        guard
    }
}

impl Drop for LockedKeyring {
    fn drop(&mut self) {
        let password =
            std::env::var("KALLYAI_TEST_KEYRING_PASSWORD").expect("the keyring's password (scripts/with-desktop)");
        let mut daemon = Command::new("gnome-keyring-daemon")
            .args(["--replace", "--unlock", "--components=secrets"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("gnome-keyring-daemon");
        if let Some(mut stdin) = daemon.stdin.take() {
            use std::io::Write;
            let _ = writeln!(stdin, "{password}");
        }
        let _ = daemon.wait();
    }
}

/// Whether the login keyring says it is locked.
pub fn is_locked() -> bool {
    let out = Command::new("busctl")
        .args(["--user", "get-property", "org.freedesktop.secrets", LOGIN])
        .args(["org.freedesktop.Secret.Collection", "Locked"])
        .output()
        .expect("busctl");
    String::from_utf8_lossy(&out.stdout).trim() == "b true"
}

/// The gnome-keyring-daemon whose environment names this process's session bus.
fn session_daemon() -> u32 {
    let bus = std::env::var("DBUS_SESSION_BUS_ADDRESS").expect("a session bus (scripts/with-desktop)");
    let mine = format!("DBUS_SESSION_BUS_ADDRESS={bus}").into_bytes();
    std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .find(|pid| {
            let named =
                std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "gnome-keyring-d");
            named
                && std::fs::read(format!("/proc/{pid}/environ"))
                    .is_ok_and(|env| env.split(|b| *b == 0).any(|entry| entry == mine.as_slice()))
        })
        .expect("the session's gnome-keyring-daemon")
}

fn signal(pid: u32, sig: &str) {
    let status = Command::new("kill").args([sig, &pid.to_string()]).status().expect("kill");
    assert!(status.success(), "kill {sig} {pid}");
}
