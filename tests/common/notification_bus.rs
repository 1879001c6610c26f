//! Desktop notifications as the notification server (dunst) sees them: every `Notify` call with
//! the id the server gave it, `CloseNotification`, and the server's `ActionInvoked` /
//! `NotificationClosed` signals, parsed from `busctl --user monitor --json=short`; actions are
//! invoked through dunst itself (`dunstctl`), as a user's click would be.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use super::{run, wait};

/// The app name every KallyAI notification carries.
pub const APP: &str = "KallyAI";

/// One `Notify` call and the id the server answered with.
#[derive(Clone, Debug, PartialEq)]
pub struct Notified {
    pub id: u32,
    pub app: String,
    pub replaces: u32,
    pub summary: String,
    pub body: String,
    /// (action key, label) pairs.
    pub actions: Vec<(String, String)>,
}

impl Notified {
    pub fn has_action(&self, key: &str) -> bool {
        self.actions.iter().any(|(k, _)| k == key)
    }

    pub fn mentions(&self, text: &str) -> bool {
        self.summary.contains(text) || self.body.contains(text)
    }
}

#[derive(Default)]
struct Seen {
    /// Messages seen at all (the monitor is attached once its own probe shows up).
    traffic: usize,
    /// Notify calls waiting for their reply, by (sender, cookie).
    pending: HashMap<(String, u64), Notified>,
    notified: Vec<Notified>,
    closed_by_app: Vec<u32>,
    closed: Vec<u32>,
    invoked: Vec<(u32, String)>,
}

/// Watches `org.freedesktop.Notifications` for as long as it lives.
pub struct BusMonitor {
    child: Child,
    seen: Arc<Mutex<Seen>>,
}

impl BusMonitor {
    /// Starts watching; returns once the monitor is attached to the bus.
    pub async fn start() -> BusMonitor {
        let mut child = Command::new("busctl")
            .args(["--user", "monitor", "org.freedesktop.Notifications", "--json=short"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("busctl monitor");
        let stdout = child.stdout.take().expect("monitor stdout");
        let seen = Arc::new(Mutex::new(Seen::default()));
        let sink = seen.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(message) = serde_json::from_str::<Value>(&line) {
                    record(&mut sink.lock().expect("monitor lock"), &message);
                }
            }
        });
        let monitor = BusMonitor { child, seen };
        // Attached once it sees a probe of ours (a property read on dunst).
        wait::until_sync("the bus monitor to attach", Duration::from_secs(10), || {
            let _ = Command::new("dunstctl").arg("count").output();
            (monitor.seen.lock().expect("monitor lock").traffic > 0).then_some(())
        })
        .await;
        monitor
    }

    /// Every notification the app showed (or replaced), in order.
    pub fn notified(&self) -> Vec<Notified> {
        self.seen.lock().expect("monitor lock").notified.iter().filter(|n| n.app == APP).cloned().collect()
    }

    /// The app's notifications whose summary or body contains `text`.
    pub fn notified_with(&self, text: &str) -> Vec<Notified> {
        self.notified().into_iter().filter(|n| n.mentions(text)).collect()
    }

    /// Ids the app asked the server to close (withdrawn notifications).
    pub fn closed_by_app(&self) -> Vec<u32> {
        self.seen.lock().expect("monitor lock").closed_by_app.clone()
    }

    /// Ids the server reported closed (for whatever reason).
    pub fn closed(&self) -> Vec<u32> {
        self.seen.lock().expect("monitor lock").closed.clone()
    }

    /// (id, action) the server reported invoked.
    pub fn invoked(&self) -> Vec<(u32, String)> {
        self.seen.lock().expect("monitor lock").invoked.clone()
    }

    /// Waits for the first notification of the app that `pick` accepts.
    pub async fn wait_for(&self, what: &str, timeout: Duration, pick: impl Fn(&Notified) -> bool) -> Notified {
        wait::until_sync(what, timeout, || self.notified().into_iter().find(|n| pick(n))).await
    }
}

impl Drop for BusMonitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn id(v: &Value) -> u32 {
    v.as_u64().unwrap_or(0) as u32
}

fn record(seen: &mut Seen, m: &Value) {
    seen.traffic += 1;
    let member = m["member"].as_str().unwrap_or("");
    let data = &m["payload"]["data"];
    match (m["type"].as_str().unwrap_or(""), member) {
        ("method_call", "Notify") => {
            let actions: Vec<String> =
                data[5].as_array().into_iter().flatten().filter_map(|a| a.as_str().map(String::from)).collect();
            let notified = Notified {
                id: 0,
                app: data[0].as_str().unwrap_or("").into(),
                replaces: id(&data[1]),
                summary: data[3].as_str().unwrap_or("").into(),
                body: data[4].as_str().unwrap_or("").into(),
                actions: actions.chunks(2).map(|p| (p[0].clone(), p.get(1).cloned().unwrap_or_default())).collect(),
            };
            let key = (m["sender"].as_str().unwrap_or("").to_string(), m["cookie"].as_u64().unwrap_or(0));
            seen.pending.insert(key, notified);
        }
        ("method_return", _) => {
            let key = (m["destination"].as_str().unwrap_or("").to_string(), m["reply_cookie"].as_u64().unwrap_or(0));
            if let Some(mut notified) = seen.pending.remove(&key) {
                notified.id = id(&data[0]);
                seen.notified.push(notified);
            }
        }
        ("method_call", "CloseNotification") => seen.closed_by_app.push(id(&data[0])),
        ("signal", "NotificationClosed") => seen.closed.push(id(&data[0])),
        ("signal", "ActionInvoked") => seen.invoked.push((id(&data[0]), data[1].as_str().unwrap_or("").to_string())),
        _ => {}
    }
}

/// How many notifications dunst shows on screen now.
pub fn displayed() -> usize {
    let out = run("dunstctl", &["count", "displayed"]);
    out.trim().parse().unwrap_or_else(|_| panic!("dunstctl count displayed: {out}"))
}

/// Closes every notification on screen (between steps, so position 0 is the one under test).
pub fn close_all() {
    run("dunstctl", &["close-all"]);
}

/// Invokes the `takeover` action of the topmost notification: the rig's dunstrc names it with
/// `action_name = takeover` for appname KallyAI.
pub fn invoke_takeover() {
    run("dunstctl", &["action", "0"]);
}

/// While this lives, `dunstctl action 0` runs a notification's default action (a click on the
/// notification itself) instead of `takeover`. dunst applies rules when a notification arrives,
/// so take this before the notification is shown.
pub struct DefaultActionOnClick(());

impl DefaultActionOnClick {
    pub fn take() -> DefaultActionOnClick {
        run("dunstctl", &["rule", "kallyai_default_action", "disable"]);
        DefaultActionOnClick(())
    }

    /// A click on the topmost notification.
    pub fn click(&self) {
        run("dunstctl", &["action", "0"]);
    }
}

impl Drop for DefaultActionOnClick {
    fn drop(&mut self) {
        let _ = Command::new("dunstctl").args(["rule", "kallyai_default_action", "enable"]).status();
    }
}

/// Picks the action whose label contains `label` from dunst's context menu. dunst runs the rig's
/// pick script as its dmenu; the script reads the choice from `$KALLYAI_TEST_DESKTOP/dunst-pick`
/// because dunst's own environment was fixed before the test started.
pub fn invoke_from_menu(label: &str) {
    let rig = std::env::var("KALLYAI_TEST_DESKTOP").expect("KALLYAI_TEST_DESKTOP");
    std::fs::write(std::path::Path::new(&rig).join("dunst-pick"), label).expect("write the pick");
    run("dunstctl", &["context"]);
}
