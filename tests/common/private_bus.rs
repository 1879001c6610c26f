//! A second, private D-Bus session bus with no activatable services at all: no Secret Service
//! can be started on it, as on a desktop without a keyring. Only the app under test (and its own
//! second launches) use it; the test desktop's bus is untouched.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::wait;

pub struct PrivateBus {
    child: Child,
    /// For `DBUS_SESSION_BUS_ADDRESS`.
    pub address: String,
}

impl PrivateBus {
    pub async fn start(dir: &Path) -> PrivateBus {
        let socket = dir.join("private-bus");
        let _ = std::fs::remove_file(&socket);
        // No <servicedir> and no <standard_session_servicedirs/>: nothing is D-Bus-activatable.
        let config = format!(
            r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
            socket.display()
        );
        let config_file = dir.join("private-bus.conf");
        std::fs::write(&config_file, config).expect("write the bus config");
        let child = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config_file.display()))
            .arg("--nofork")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("private-bus.log")).expect("bus log"))
            .spawn()
            .expect("start dbus-daemon");
        let address = format!("unix:path={}", socket.display());
        wait::until_sync("the private bus to listen", Duration::from_secs(10), || {
            let ok = Command::new("busctl")
                .args(["--address", &address, "list", "--no-pager"])
                .output()
                .is_ok_and(|o| o.status.success());
            ok.then_some(())
        })
        .await;
        PrivateBus { child, address }
    }

    /// Whether any connection on this bus owns `name` or could start it (busctl lists both).
    pub fn offers(&self, name: &str) -> bool {
        let out = Command::new("busctl").args(["--address", &self.address, "list", "--no-pager"]).output();
        let listing = out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
        assert!(listing.contains("org.freedesktop.DBus"), "busctl could not list the private bus: {listing}");
        listing.contains(name)
    }
}

impl Drop for PrivateBus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
