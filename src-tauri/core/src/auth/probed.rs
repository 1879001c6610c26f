//! `ProbedKeychain`: the keychain when it proves usable, else memory, decided when tokens are
//! first needed rather than before the app starts. A second launch (a link click, `--show`) only
//! hands its arguments over and never touches the keychain; a keyring locked or not answering at
//! start is asked again later, and the sign-in held in memory meanwhile is saved to it once it
//! answers.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::Mutex;

use super::keychain::{self, KeychainStore};
use super::{MemoryStore, StoreError, TokenSet, TokenStore};

/// How long a failed probe stands before the keychain is asked again.
pub const REPROBE_AFTER: Duration = Duration::from_secs(60);

/// What the last probe found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keychain {
    /// The sign-in is kept in the keychain.
    Usable,
    /// Locked, or not answering (stuck behind an unlock prompt): asked again later; a saved
    /// sign-in may be read once it answers.
    Waiting,
    /// Missing or broken: the sign-in lives in memory until the app quits.
    Unavailable,
}

pub struct ProbedKeychain {
    keychain: KeychainStore,
    memory: MemoryStore,
    /// The last probe: what it found, and when it was asked.
    last: Mutex<Option<(Keychain, Instant)>>,
    reprobe_after: Duration,
}

impl ProbedKeychain {
    pub fn new(keychain: KeychainStore) -> Self {
        Self { keychain, memory: MemoryStore::new(), last: Mutex::new(None), reprobe_after: REPROBE_AFTER }
    }

    /// Asks a keychain that failed again after `after` instead of [`REPROBE_AFTER`].
    pub fn reprobe_after(mut self, after: Duration) -> Self {
        self.reprobe_after = after;
        self
    }

    /// How long a failed probe stands before the keychain is asked again.
    pub fn reprobe_interval(&self) -> Duration {
        self.reprobe_after
    }

    /// Whether tokens go to the keychain now (see [`Self::probe`]).
    pub async fn usable(&self) -> bool {
        self.probe().await == Keychain::Usable
    }

    /// Probed on first use, and again once a failed probe is older than the re-probe interval.
    /// When the keychain starts answering, what memory held is moved into it.
    pub async fn probe(&self) -> Keychain {
        let mut last = self.last.lock().await;
        match *last {
            Some((Keychain::Usable, _)) => return Keychain::Usable,
            Some((found, at)) if at.elapsed() < self.reprobe_after => return found,
            _ => {}
        }
        let was_tried = last.is_some();
        // Asked again, a locked keyring is only looked at: the user saw its unlock prompt once.
        let probed = match was_tried {
            true => self.keychain.reprobe_store().await,
            false => self.keychain.probe_store().await,
        };
        let found = match probed {
            Ok(()) => Keychain::Usable,
            Err(error) => {
                tracing::warn!(%error, "no usable keychain; the sign-in is kept in memory for now");
                if keychain::is_waiting(&error) {
                    Keychain::Waiting
                } else {
                    Keychain::Unavailable
                }
            }
        };
        *last = Some((found, Instant::now()));
        if found == Keychain::Usable && was_tried {
            self.move_memory_to_keychain().await;
        }
        found
    }

    async fn move_memory_to_keychain(&self) {
        let Ok(Some(tokens)) = self.memory.load().await else { return };
        match self.keychain.save(&tokens).await {
            Ok(()) => {
                let _ = self.memory.clear().await;
                tracing::info!("the keychain answers again; the sign-in is saved in it");
            }
            Err(error) => tracing::warn!(%error, "could not move the sign-in into the keychain"),
        }
    }
}

#[async_trait]
impl TokenStore for ProbedKeychain {
    async fn load(&self) -> Result<Option<TokenSet>, StoreError> {
        if self.usable().await {
            self.keychain.load().await
        } else {
            self.memory.load().await
        }
    }

    async fn save(&self, tokens: &TokenSet) -> Result<(), StoreError> {
        if self.usable().await {
            self.keychain.save(tokens).await
        } else {
            self.memory.save(tokens).await
        }
    }

    async fn clear(&self) -> Result<(), StoreError> {
        // Both: a sign-out must leave nothing behind wherever the tokens were.
        let memory = self.memory.clear().await;
        if self.usable().await {
            self.keychain.clear().await?;
        }
        memory
    }
}
