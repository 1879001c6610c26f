//! What the tray icon looks like to a panel: the StatusNotifierItem's `IconName` (appindicator
//! points it at a PNG that tray-icon writes, a new file on every change) or its `IconPixmap`.

use serde_json::Value;

use super::tray;

/// The object path of the item that process `pid` registered (`:1.N/path` in the watcher).
fn item_of(pid: u32) -> Option<(String, String)> {
    let menu_owner = tray::items_of(pid).into_iter().next()?;
    tray::registered_items().into_iter().find_map(|item| {
        let slash = item.find('/')?;
        let (service, path) = item.split_at(slash);
        (service == menu_owner.service).then(|| (service.to_string(), path.to_string()))
    })
}

fn property(service: &str, path: &str, name: &str) -> Option<Value> {
    let out = std::process::Command::new("busctl")
        .args(["--user", "--json=short", "get-property", service, path, "org.kde.StatusNotifierItem", name])
        .output()
        .ok()?;
    serde_json::from_slice(&out.stdout).ok()
}

/// The picture the item shows now: the bytes of the `IconName` file, or else the `IconPixmap`
/// data. `None` while the item is not on the bus (or its file is being replaced).
pub fn picture(pid: u32) -> Option<Vec<u8>> {
    let (service, path) = item_of(pid)?;
    let name = property(&service, &path, "IconName")?;
    if let Some(file) = name["data"].as_str().filter(|n| n.starts_with('/')) {
        return std::fs::read(file).ok();
    }
    let pixmap = property(&service, &path, "IconPixmap")?;
    let bytes = serde_json::to_vec(&pixmap["data"]).ok()?;
    (pixmap["data"].as_array().is_some_and(|a| !a.is_empty())).then_some(bytes)
}
