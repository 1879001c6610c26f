//! kallyai-sim: a local, wire-compatible KallyAI API server (see docs/sim.md).
//!
//! It follows the contract in `reference/kallyai-api.md` field by field, keeps its world in
//! memory, and adds a `/_sim/` control API for tests and demos.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::middleware;
use tokio::sync::{broadcast, watch};

mod assistant;
mod auth;
mod bounded;
mod budget_refusal;
#[cfg(feature = "client")]
pub mod client;
pub mod clock;
mod conn;
pub mod demo_calls;
mod error;
mod faults;
mod goals;
mod idempotency;
mod inbound_calls;
mod pricing;
mod profile;
mod reqlog;
mod routes;
mod seed;
mod state;

use crate::state::{Sim, State};

/// Fixed ids of records owned by another user in the demo seed: every endpoint must answer 404
/// for them, exactly as for ids that do not exist.
pub mod foreign_ids {
    pub const CALL: &str = "0a1e0000-4000-8000-0000-0000000000f1";
    pub const GOAL: &str = "0a1e0000-4000-8000-0000-0000000000f2";
    pub const INBOUND_CALL: &str = "0a1e0000-4000-8000-0000-0000000000f3";
}

/// Which starting data the sim has.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Seed {
    /// Alex Demo on the Pro plan with calls, goals, notifications and inbound history.
    #[default]
    Demo,
    /// A fresh Starter user with nothing in any list.
    Empty,
}

impl Seed {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "demo" => Some(Self::Demo),
            "empty" => Some(Self::Empty),
            _ => None,
        }
    }

    /// The name `parse`, `--seed` and `POST /_sim/reset` take.
    pub fn name(self) -> &'static str {
        match self {
            Self::Demo => "demo",
            Self::Empty => "empty",
        }
    }
}

/// Which server the sim plays: its own, with every extension, or production as documented.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Profile {
    /// Every EXTENSION of docs/sim.md is on (OAuth + PKCE, SSE, Idempotency-Key, ETag, ...).
    #[default]
    Default,
    /// Only what the reference documents for production: no OAuth metadata or endpoints, no
    /// stream info or SSE, `Idempotency-Key` ignored, no ETag/304, no `/v1/users/me`.
    Production,
}

impl Profile {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "default" => Some(Self::Default),
            "production" => Some(Self::Production),
            _ => None,
        }
    }

    /// The name `parse`, `--profile` and `POST /_sim/reset` take.
    pub fn name(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::Production => "production",
        }
    }
}

/// How the sim is configured at start.
#[derive(Clone, Debug)]
pub struct SimConfig {
    pub seed: Seed,
    /// The starting profile; `POST /_sim/reset {profile}` switches it at run time.
    pub profile: Profile,
    /// Lifetime of issued access tokens (`expires_in`).
    pub token_ttl_secs: u64,
    /// Offer `GET /v1/auth/cli` (the official CLIs' loopback login).
    pub cli_flow: bool,
    /// Offer the OAuth 2 + PKCE extension (metadata, authorize, token, revoke); never offered
    /// under `Profile::Production`.
    pub oauth_flow: bool,
    /// Sign-in pages answer with the redirect at once instead of showing a form.
    pub auto_approve: bool,
    /// Listen on a non-loopback address when asked to (`--allow-remote`); without it `start`
    /// refuses one. The `/_sim/` control API answers loopback clients only either way.
    pub allow_remote: bool,
    /// How much the sim keeps of what any client can make it keep, and for how long.
    pub limits: Limits,
}

/// Bounds on what the sim keeps (docs/sim.md, "What the sim keeps"). Times are sim time, so
/// `POST /_sim/clock/advance` moves them; a count beyond its cap evicts the oldest entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Sign-in pages awaiting a decision (CLI and OAuth), and unexchanged authorization codes.
    pub pending_sign_ins: usize,
    /// A sign-in page's request is refused this long after the page was shown.
    pub pending_sign_in_ttl_secs: u64,
    /// Access tokens held, refresh tokens held, and each list of `GET /_sim/tokens`.
    pub tokens: usize,
    /// How long a dead secret (an expired access token or code, a revoked refresh token, a
    /// rotated one past its grace) is still recognised, for a precise message, before it is
    /// dropped.
    pub token_grace_secs: u64,
    /// Stored answers to `Idempotency-Key`s.
    pub idempotency_keys: usize,
    /// A stored answer is replayed for this long after it was given.
    pub idempotency_ttl_secs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            pending_sign_ins: 1000,
            pending_sign_in_ttl_secs: 600,
            tokens: 10_000,
            token_grace_secs: 3600,
            idempotency_keys: 10_000,
            idempotency_ttl_secs: 86_400,
        }
    }
}

/// Loopback: 127.0.0.0/8 and ::1 (also written as the IPv4-mapped `::ffff:127.x.y.z`).
pub fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
    }
}

/// The sim mints tokens for anyone who reaches it, so it listens on a loopback address only,
/// unless told otherwise (`--allow-remote`, `SimConfig::allow_remote`). The error is one
/// sentence that names the flag.
pub fn check_bind_addr(addr: SocketAddr, allow_remote: bool) -> Result<(), String> {
    if allow_remote || is_loopback(addr.ip()) {
        Ok(())
    } else {
        Err(format!(
            "{addr} is not a loopback address; the sim mints tokens for anyone who reaches it, so it \
             listens only on 127.0.0.1, ::1 or localhost unless --allow-remote is given."
        ))
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: Seed::Demo,
            profile: Profile::Default,
            token_ttl_secs: 3600,
            cli_flow: true,
            oauth_flow: true,
            auto_approve: false,
            allow_remote: false,
            limits: Limits::default(),
        }
    }
}

/// A running sim; dropping it does not stop it, call `shutdown`.
pub struct SimServer {
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    ticker: tokio::task::JoinHandle<()>,
}

impl SimServer {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
    /// Stops accepting, ends open event streams, and waits (at most 5 s) for requests in flight.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        self.ticker.abort();
        let mut task = self.task;
        if tokio::time::timeout(Duration::from_secs(5), &mut task).await.is_err() {
            task.abort();
        }
    }
}

/// Advances everything that moves with time: goal steps and live inbound calls.
pub(crate) fn tick(state: &mut State, now: clock::Millis) {
    state.prune_if_due(now);
    goals::advance_all(state, now);
    let live_before = state.inbound.iter().filter(|c| c.is_live()).count();
    inbound_calls::advance_all(state, now);
    if state.inbound.iter().filter(|c| c.is_live()).count() != live_before {
        state.notifications_changed(now);
    }
}

const TICK: Duration = Duration::from_millis(100);

/// Binds `addr` (use port 0 for an ephemeral port) and serves until shut down. A non-loopback
/// `addr` is refused (`ErrorKind::PermissionDenied`) unless `config.allow_remote`.
pub async fn start(addr: SocketAddr, config: SimConfig) -> std::io::Result<SimServer> {
    check_bind_addr(addr, config.allow_remote)
        .map_err(|msg| std::io::Error::new(std::io::ErrorKind::PermissionDenied, msg))?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let (events_tx, _) = broadcast::channel(1024);
    let clock = clock::Clock::new();
    let state = State::new(config.seed, config.profile, config.limits, clock.now(), events_tx);
    let sim = Arc::new(Sim { config, clock, state: Mutex::new(state), shutdown: shutdown_rx.clone() });

    let app = routes::api()
        .layer(middleware::from_fn_with_state(sim.clone(), idempotency::echo))
        .layer(middleware::from_fn_with_state(sim.clone(), profile::production_gate))
        .layer(DefaultBodyLimit::max(reqlog::BODY_LIMIT))
        .layer(middleware::from_fn_with_state(sim.clone(), faults::inject))
        .layer(middleware::from_fn_with_state(sim.clone(), reqlog::record))
        .layer(middleware::map_response(error::envelope_safety_net))
        .with_state(sim.clone());

    let ticker = {
        let sim = sim.clone();
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(TICK);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                interval.tick().await;
                let now = sim.now();
                tick(&mut sim.lock(), now);
            }
        })
    };

    let mut rx = shutdown_rx;
    let task = tokio::spawn(async move {
        let service = app.into_make_service_with_connect_info::<conn::ConnHandle>();
        let served = axum::serve(conn::SimListener(listener), service)
            .with_graceful_shutdown(async move {
                let _ = rx.wait_for(|stop| *stop).await;
            })
            .await;
        if let Err(e) = served {
            tracing::error!("sim server stopped: {e}");
        }
    });
    tracing::info!(%addr, "kallyai-sim listening");
    Ok(SimServer { addr, shutdown: shutdown_tx, task, ticker })
}
