//! Test harness: a real kallyai-sim on 127.0.0.1:0 and the client of its `/_sim/` control API
//! (`sim.ctl`, plain HTTP: never through kallyai-core, so a core bug cannot hide a sim fact).
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use kallyai_core::auth::{
    AccessToken, AuthApi, MemoryStore, RefreshToken, Session, StaticToken, TokenSet, TokenSource,
};
use kallyai_core::{Client, Config, EventBus, RetryPolicy};
use kallyai_sim::client::{self, Control};
/// The control API's request shapes, for every test file.
#[allow(unused_imports)]
pub use kallyai_sim::client::{Fault, Ring, Stream};
use kallyai_sim::{SimConfig, SimServer};

pub struct Sim {
    pub server: SimServer,
    pub url: String,
    pub ctl: Control,
}

/// Retries fast so fault tests take milliseconds; `Retry-After` up to 5 s is honoured.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: 3,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(40),
        max_retry_after: Duration::from_secs(5),
    }
}

impl Sim {
    pub async fn start() -> Self {
        Self::start_with(SimConfig::default()).await
    }

    pub async fn start_with(config: SimConfig) -> Self {
        let server = client::start_local(config).await;
        Self { url: server.url(), ctl: server.control(), server }
    }

    pub fn config(&self) -> Config {
        Config::new(&self.url)
            .unwrap()
            .with_timeouts(Duration::from_secs(10), Duration::from_secs(2), Duration::from_secs(5))
            .with_retry(fast_retry())
    }

    /// `POST /_sim/session`: a fresh token triple for the seeded user.
    pub async fn tokens(&self) -> TokenSet {
        let session = self.ctl.session().await;
        TokenSet::from_grant(
            AccessToken::new(&session.access_token),
            Some(RefreshToken::new(&session.refresh_token)),
            Some(session.expires_in),
        )
    }

    /// A client holding a fixed access token (no refresh).
    pub async fn client(&self) -> Client {
        let tokens = self.tokens().await;
        Client::new(self.config(), Arc::new(StaticToken::new(tokens.access))).unwrap()
    }

    pub fn client_with(&self, config: Config, tokens: Arc<dyn TokenSource>) -> Client {
        Client::new(config, tokens).unwrap()
    }

    /// A signed-in `Session` and a client using it, both publishing on `events`.
    pub async fn session_client(&self, events: &EventBus) -> (Client, Arc<Session>) {
        let session = Arc::new(
            Session::new(AuthApi::new(self.config()).unwrap(), Arc::new(MemoryStore::new()))
                .with_events(events.clone()),
        );
        session.sign_in(self.tokens().await).await.unwrap();
        let client = Client::with_events(self.config(), session.clone(), events.clone()).unwrap();
        (client, session)
    }
}
