//! The app's tray item as a desktop panel sees it: registered with the StatusNotifierWatcher,
//! its menu read and clicked over DBusMenu (through `busctl`, on the real session bus).

use std::time::Duration;

use serde_json::Value;

use super::{run, wait};

/// A registered tray item: the bus connection that exports it and its menu's object path.
#[derive(Clone, Debug)]
pub struct TrayItem {
    pub service: String,
    pub menu: String,
}

/// One menu entry (separators are left out).
#[derive(Clone, Debug, PartialEq)]
pub struct MenuEntry {
    pub id: i64,
    pub label: String,
    pub enabled: bool,
}

/// Every item registered with the watcher, as `:1.N/object/path`.
pub fn registered_items() -> Vec<String> {
    let out = run(
        "busctl",
        &[
            "--user",
            "--json=short",
            "get-property",
            "org.kde.StatusNotifierWatcher",
            "/StatusNotifierWatcher",
            "org.kde.StatusNotifierWatcher",
            "RegisteredStatusNotifierItems",
        ],
    );
    let value: Value = serde_json::from_str(&out).expect("busctl json");
    value["data"].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(String::from)).collect()
}

fn pid_of_connection(name: &str) -> Option<u32> {
    let out = std::process::Command::new("busctl")
        .args(["--user", "--json=short", "call", "org.freedesktop.DBus", "/org/freedesktop/DBus"])
        .args(["org.freedesktop.DBus", "GetConnectionUnixProcessID", "s", name])
        .output()
        .ok()?;
    let value: Value = serde_json::from_slice(&out.stdout).ok()?;
    value["data"][0].as_u64().map(|pid| pid as u32)
}

/// The items that belong to process `pid`.
pub fn items_of(pid: u32) -> Vec<TrayItem> {
    registered_items()
        .into_iter()
        .filter_map(|item| {
            let slash = item.find('/')?;
            let (service, path) = item.split_at(slash);
            (pid_of_connection(service)? == pid)
                .then(|| TrayItem { service: service.into(), menu: menu_path(service, path) })
        })
        .collect()
}

fn menu_path(service: &str, path: &str) -> String {
    let out =
        run("busctl", &["--user", "--json=short", "get-property", service, path, "org.kde.StatusNotifierItem", "Menu"]);
    let value: Value = serde_json::from_str(&out).expect("busctl json");
    value["data"].as_str().expect("menu path").to_string()
}

/// Waits until process `pid` has registered a tray item, as a panel would see it appear.
pub async fn wait_for_item(pid: u32) -> TrayItem {
    wait::until_sync("the tray item on the session bus", Duration::from_secs(30), || items_of(pid).into_iter().next())
        .await
}

impl TrayItem {
    /// The menu as DBusMenu describes it (GetLayout), top level only.
    pub fn menu(&self) -> Vec<MenuEntry> {
        let out = run(
            "busctl",
            &[
                "--user",
                "--json=short",
                "--",
                "call",
                &self.service,
                &self.menu,
                "com.canonical.dbusmenu",
                "GetLayout",
                "iias",
                "0",
                "-1",
                "3",
                "label",
                "enabled",
                "type",
            ],
        );
        let value: Value = serde_json::from_str(&out).expect("busctl json");
        let children = value["data"][1][2].as_array().expect("menu children").clone();
        children
            .iter()
            .filter_map(|child| {
                let data = &child["data"];
                let props = &data[1];
                if props["type"]["data"].as_str() == Some("separator") {
                    return None;
                }
                Some(MenuEntry {
                    id: data[0].as_i64()?,
                    label: props["label"]["data"].as_str().unwrap_or("").to_string(),
                    enabled: props["enabled"]["data"].as_bool().unwrap_or(true),
                })
            })
            .collect()
    }

    pub fn labels(&self) -> Vec<String> {
        self.menu().into_iter().map(|e| e.label).collect()
    }

    /// Clicks the entry labelled `label`, as a panel does when the user picks it.
    pub fn click(&self, label: &str) {
        let entry = self
            .menu()
            .into_iter()
            .find(|e| e.label == label)
            .unwrap_or_else(|| panic!("no menu entry '{label}' in {:?}", self.labels()));
        let id = entry.id.to_string();
        let event = ["--user", "--", "call", &self.service, &self.menu, "com.canonical.dbusmenu", "Event", "isvu"];
        run("busctl", &[&event[..], &[&id, "clicked", "i", "0", "0"]].concat());
    }
}
