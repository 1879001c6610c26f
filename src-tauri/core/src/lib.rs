//! kallyai-core: the KallyAI client for KallyAI Desktop. No Tauri in here.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use kallyai_core::{auth::{AuthApi, MemoryStore, Session}, Client, Config, EventBus};
//!
//! let config = Config::from_env_or(None)?;
//! let events = EventBus::default();
//! let session = Arc::new(
//!     Session::new(AuthApi::new(config.clone())?, Arc::new(MemoryStore::new())).with_events(events.clone()),
//! );
//! let client = Client::with_events(config, session.clone(), events.clone())?;
//! let balance = client.credits().balance().await?;
//! println!("{} credits left", balance.credits_remaining);
//! # Ok(()) }
//! ```

pub mod activity;
pub mod api;
pub mod ask;
pub mod auth;
pub mod call_action;
mod client;
mod clock;
pub mod config;
pub mod credit_pace;
pub mod credit_watch;
pub mod error;
pub mod events;
pub mod first_run;
mod fsio;
mod idempotency;
pub mod inbox;
pub mod lenient;
pub mod markdown;
pub mod paths;
pub mod pending;
pub mod phone;
pub mod placing;
mod refusal;
mod reply;
mod retry;
mod secret;
pub mod settings;
pub mod signin;
pub mod stream;
mod transport;
pub mod watcher;

pub use client::{Client, Fetched};
pub use config::{Config, ConfigError, RetryPolicy};
pub use error::ApiError;
pub use events::{Event, EventBus};
pub use idempotency::IdempotencyKey;
pub use lenient::Credits;
pub use stream::{EventStream, StreamEvent, StreamMessage};
pub use watcher::{Watcher, WatcherSettings};
