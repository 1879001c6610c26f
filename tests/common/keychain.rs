//! The app's entry in the real Secret Service (gnome-keyring of `scripts/with-desktop`), read
//! with `secret-tool` as a user could.

/// The keychain service the app files its entries under (one per API base).
pub const SERVICE: &str = "ai.kally.desktop";

/// Whether the keychain holds the session's entry for `api_base`. Never prints the secret.
pub fn has_entry(api_base: &str) -> bool {
    has_entry_for(api_base.trim_end_matches('/'))
}

/// Whether the keychain holds the part of a pending sign-in that survives a restart.
pub fn has_pending_sign_in(api_base: &str) -> bool {
    has_entry_for(&format!("pending-sign-in:{}", api_base.trim_end_matches('/')))
}

fn has_entry_for(user: &str) -> bool {
    let out = std::process::Command::new("secret-tool")
        .args(["search", "--all", "service", SERVICE, "username", user])
        .output()
        .expect("run secret-tool");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    text.contains(&format!("attribute.service = {SERVICE}"))
}
