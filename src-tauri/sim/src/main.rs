//! `kallyai-sim [--addr A] [--allow-remote] [--seed demo|empty] [--profile default|production] [--token-ttl SECS] [--auth-flows cli,oauth] [--auto-approve]`
//! or `kallyai-sim ctl --url URL <command>`; see docs/sim.md.

mod cli;
mod ctl;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match cli::parse(&args) {
        Ok(c) => c,
        Err(msg) => {
            eprintln!("kallyai-sim: {msg}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("kallyai-sim: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match command {
        cli::Command::Help => {
            println!("{}", cli::USAGE);
            ExitCode::SUCCESS
        }
        cli::Command::Serve { addr, config } => runtime.block_on(serve(addr, config)),
        cli::Command::Ctl { url, request } => runtime.block_on(ctl::run(&url, request)),
    }
}

async fn serve(addr: std::net::SocketAddr, config: kallyai_sim::SimConfig) -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let sim = match kallyai_sim::start(addr, config).await {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("kallyai-sim: cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    if !kallyai_sim::is_loopback(addr.ip()) {
        tracing::warn!(%addr, "listening beyond loopback (--allow-remote): anyone who reaches it can sign in as the demo user");
    }
    let mut out = std::io::stdout();
    let _ = writeln!(out, "listening on {}", sim.url());
    let _ = out.flush();
    wait_for_signal().await;
    tracing::info!("shutting down");
    sim.shutdown().await;
    ExitCode::SUCCESS
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}
