//! Keys that let the server recognise a repeated create request (reference §6).
//!
//! Every create is sent with a key, but only a server that has shown it honours keys (it echoed
//! one back) is trusted with a repeat whose first outcome is unknown: see `retry.rs`.

use std::fmt;

/// An `Idempotency-Key`: one per logical attempt, reused on every retry of that attempt.
/// Not a secret. Callers that persist work (the outbox) keep the key with the work item.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// A fresh random UUID key.
    pub fn new() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }
    /// A key the caller stored earlier; the server treats it as opaque (≤ 255 chars).
    pub fn from_string(key: impl Into<String>) -> Self {
        Self(key.into().chars().take(255).collect())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for IdempotencyKey {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdempotencyKey({})", self.0)
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_keys_are_uuids_and_differ() {
        let a = IdempotencyKey::new();
        let b = IdempotencyKey::new();
        assert_ne!(a, b);
        assert!(uuid::Uuid::parse_str(a.as_str()).is_ok());
        assert_eq!(IdempotencyKey::from_string("outbox-7").as_str(), "outbox-7");
    }
}
