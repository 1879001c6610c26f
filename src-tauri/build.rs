fn main() {
    // Declaring the app's commands generates an `allow-<command>` permission for each, so every
    // window's capability file can grant just the commands that window uses.
    let commands =
        tauri_build::AppManifest::new().commands(&["app_state", "show_window", "take_ask_prefill", "window_painted"]);
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .capabilities_path_pattern("src-tauri/capabilities/*.json")
            .app_manifest(commands),
    )
    .expect("tauri build script failed");
}
