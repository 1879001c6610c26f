//! `kallyai-sim ctl`: sends one control request to a running sim and prints the answer.

use std::process::ExitCode;

use kallyai_sim::client::{Control, ControlError, ControlRequest};

pub async fn run(url: &str, request: ControlRequest) -> ExitCode {
    match Control::new(url).send(&request).await {
        Ok(reply) if reply.body.trim().is_empty() => {
            println!("ok ({})", reply.status);
            ExitCode::SUCCESS
        }
        Ok(reply) => {
            println!("{}", pretty(&reply.body));
            ExitCode::SUCCESS
        }
        Err(ControlError::Unreachable(e)) => {
            eprintln!("kallyai-sim ctl: cannot reach {url}: {e}");
            ExitCode::FAILURE
        }
        Err(ControlError::Refused(reply)) => {
            eprintln!("kallyai-sim ctl: HTTP {}: {}", reply.status, pretty(&reply.body));
            ExitCode::FAILURE
        }
    }
}

/// JSON indented for a terminal; anything else as it came.
fn pretty(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| body.to_string())
}
