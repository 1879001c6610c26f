//! kallyai-sim: a local, wire-compatible KallyAI server (skeleton; see docs/sim.md).

use std::net::SocketAddr;

/// Which starting data the sim has.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Seed {
    #[default]
    Demo,
    Empty,
}

/// How the sim is configured at start.
#[derive(Clone, Debug)]
pub struct SimConfig {
    pub seed: Seed,
    pub token_ttl_secs: u64,
    pub cli_flow: bool,
    pub oauth_flow: bool,
    pub auto_approve: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self { seed: Seed::Demo, token_ttl_secs: 3600, cli_flow: true, oauth_flow: true, auto_approve: false }
    }
}

/// A running sim; dropping it does not stop it, call `shutdown`.
pub struct SimServer {
    addr: SocketAddr,
    shutdown: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl SimServer {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(());
        let _ = self.task.await;
    }
}

/// Binds `addr` (use port 0 for an ephemeral port) and serves until shut down.
pub async fn start(addr: SocketAddr, _config: SimConfig) -> std::io::Result<SimServer> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let app = axum::Router::new();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    Ok(SimServer { addr, shutdown: tx, task })
}
