//! Tokens: the redacted newtypes, the `TokenSource` interface the client uses, the auth
//! endpoints, and `Session` (in-memory tokens with single-flight refresh).

mod api;
mod keychain;
mod probed;
mod secret_service;
mod session;
mod source;
mod store;
mod tokens;

pub use crate::secret::{AccessToken, RefreshToken, Secret};
pub use api::AuthApi;
pub(crate) use keychain::blocking as keychain_call;
pub use keychain::{KeychainStore, DID_NOT_ANSWER, KEYCHAIN_SERVICE, KEYCHAIN_TIMEOUT};
pub use probed::{Keychain, ProbedKeychain, REPROBE_AFTER};
pub use session::Session;
pub use source::{SignedOut, StaticToken, TokenSource};
pub use store::{MemoryStore, StoreError, TokenStore};
pub use tokens::{TokenSet, DEFAULT_EXPIRES_IN};
