//! What the keyring crate does not offer on Linux, done on the same Secret Service store.
//!
//! - **A stuck call does not block every later one.** The keyring crate's Secret Service store
//!   keeps one connection behind one mutex. A call waiting on an unlock prompt that never
//!   completes (no prompter can be shown, or the daemon was replaced) holds that mutex forever,
//!   so every later call would wait behind it even once the keyring is unlocked; and a daemon
//!   replaced meanwhile leaves the store with a session the new one does not know. After a call
//!   is given up, or the service failed, the next one starts from a new store (`mark_stale`,
//!   `renew_if_stale`).
//! - **Asking again never prompts.** `is_locked` reads the default collection's `Locked`
//!   property, which shows no unlock prompt: the app prompts once (its first keychain call at
//!   start), not every time it checks whether the user has unlocked the keyring since.
//!
//! Other systems have no such store: both are no-ops there.

use std::sync::atomic::{AtomicBool, Ordering};

/// Set when a keychain call was given up while the store's connection may still be held by it.
static STALE: AtomicBool = AtomicBool::new(false);

/// A keychain call was given up (see the module's documentation).
pub(crate) fn mark_stale() {
    STALE.store(true, Ordering::SeqCst);
}

/// Starts from a new Secret Service store if a call was given up since the last one; false when
/// no new store could be made (the keyring is then as good as locked). Blocking: call it on the
/// blocking pool, as every keychain call.
pub(crate) fn renew_if_stale() -> bool {
    if !STALE.swap(false, Ordering::SeqCst) {
        return true;
    }
    #[cfg(target_os = "linux")]
    match zbus_secret_service_keyring_store::Store::new() {
        Ok(store) => {
            keyring_core::set_default_store(store);
            tracing::info!("a keychain call was given up; using a new connection to the keyring");
        }
        Err(_) => {
            STALE.store(true, Ordering::SeqCst);
            return false;
        }
    }
    true
}

/// Whether the default collection is locked, asked without unlocking it. Blocking.
pub(crate) fn is_locked() -> bool {
    #[cfg(target_os = "linux")]
    {
        use secret_service::blocking::SecretService;
        use secret_service::EncryptionType;
        let Ok(service) = SecretService::connect(EncryptionType::Plain) else { return false };
        service.get_default_collection().and_then(|c| c.is_locked()).unwrap_or(false)
    }
    #[cfg(not(target_os = "linux"))]
    false
}
