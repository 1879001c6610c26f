//! The headless desktop's keyring made to stop answering: its gnome-keyring-daemon frozen with
//! SIGSTOP, as a daemon stuck behind an unlock prompt nobody sees would be. Only the daemon of
//! this test's session (other sessions on the machine have their own) is touched.

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
