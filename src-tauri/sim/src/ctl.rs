//! `kallyai-sim ctl`: sends one control request to a running sim and prints the answer.

use std::process::ExitCode;
use std::time::Duration;

use crate::cli::CtlRequest;

pub async fn run(url: &str, action: CtlRequest) -> ExitCode {
    let client = match reqwest::Client::builder().timeout(Duration::from_secs(10)).build() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("kallyai-sim ctl: {e}");
            return ExitCode::FAILURE;
        }
    };
    let method = reqwest::Method::from_bytes(action.method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let mut request = client.request(method, format!("{url}{}", action.path));
    if let Some(body) = &action.body {
        request = request.json(body);
    }
    let resp = match request.send().await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("kallyai-sim ctl: cannot reach {url}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    let pretty = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or(text);
    if status.is_success() {
        if pretty.is_empty() {
            println!("ok ({})", status.as_u16());
        } else {
            println!("{pretty}");
        }
        ExitCode::SUCCESS
    } else {
        eprintln!("kallyai-sim ctl: HTTP {}: {pretty}", status.as_u16());
        ExitCode::FAILURE
    }
}
