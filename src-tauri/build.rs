fn main() {
    // Declaring the app's commands generates an `allow-<command>` permission for each, so every
    // window's capability file can grant just the commands that window uses.
    let commands = tauri_build::AppManifest::new().commands(&[
        "app_state",
        "show_window",
        "take_ask_prefill",
        "window_painted",
        "call_details",
        "call_action",
        "recent_calls",
        "show_call",
        "signin_start",
        "signin_reopen",
        "signin_cancel",
        "sign_out",
        "ask_send",
        "ask_overview",
        "ask_resend",
        "ask_discard",
        "ask_new_conversation",
        "ask_continue_conversation",
        "ask_conversations",
        "ask_history",
        "ask_goal",
        "ask_goal_action",
        "ask_budget_action",
        "ask_estimate",
        "open_link",
        "manage_plan",
        "credits_state",
        "credits_details",
        "settings_get",
        "settings_set",
    ]);
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .capabilities_path_pattern("src-tauri/capabilities/*.json")
            .app_manifest(commands),
    )
    .expect("tauri build script failed");
}
