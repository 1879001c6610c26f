// The app's commands, from the one list lib.rs registers them from.
include!("src/command_list.rs");

/// `crate::features::ask::ask_send` -> "ask_send".
macro_rules! command_name {
    ($last:ident) => { stringify!($last) };
    ($first:ident :: $($rest:ident)::+) => { command_name!($($rest)::+) };
}

macro_rules! command_names {
    ($( $($segment:ident)::+ ),* $(,)?) => { &[$( command_name!($($segment)::+) ),*] };
}

fn main() {
    println!("cargo:rerun-if-changed=src-tauri/src/command_list.rs");
    // The capability files are read from a custom path that tauri-build does not watch: a
    // window's permissions must change when its file does, not on the next clean build.
    println!("cargo:rerun-if-changed=src-tauri/capabilities");
    // Declaring the app's commands generates an `allow-<command>` permission for each, so every
    // window's capability file can grant just the commands that window uses.
    let commands = tauri_build::AppManifest::new().commands(with_commands!(command_names));
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .capabilities_path_pattern("src-tauri/capabilities/*.json")
            .app_manifest(commands),
    )
    .expect("tauri build script failed");
}
