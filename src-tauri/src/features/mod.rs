//! The app's features. Each owns its state (managed by the app), its `#[tauri::command]`s and a
//! follower of core's event bus, and starts them in its `start`. A feature never reaches into
//! another one: what they share are core types (the credit watch, the settings in force, core's
//! events) and the `view`.

pub mod activity;
pub mod ask;
pub mod calls;
pub mod credits;
pub mod dialer;
pub mod inbox;
pub mod settings;
pub mod signin;
pub mod wake;
