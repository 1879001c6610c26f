//! The app's entry in the real Secret Service (gnome-keyring of `scripts/with-desktop`), read
//! with `secret-tool` as a user could.

/// The keychain service the app files its entries under (one per API base).
pub const SERVICE: &str = "ai.kally.desktop";

/// Whether the keychain holds an entry for `api_base`. Never prints the secret.
pub fn has_entry(api_base: &str) -> bool {
    let out = std::process::Command::new("secret-tool")
        .args(["search", "--all", "service", SERVICE, "username", api_base.trim_end_matches('/')])
        .output()
        .expect("run secret-tool");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    text.contains(&format!("attribute.service = {SERVICE}"))
}
