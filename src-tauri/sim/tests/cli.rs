//! The binary: startup line, `ctl` commands against it, argument errors, clean exit on SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_kallyai-sim");

struct Running {
    child: Child,
    url: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(args: &[&str]) -> Running {
    let mut child =
        Command::new(BIN).args(args).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("spawn sim");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(Duration::from_secs(20)).expect("first stdout line");
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    Running { child, url }
}

fn ctl(url: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).arg("ctl").arg("--url").arg(url).args(args).output().expect("ctl runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn the_binary_serves_and_ctl_drives_it() {
    let sim = spawn(&["--seed", "empty", "--token-ttl", "60", "--auth-flows", "cli", "--auto-approve"]);
    let (code, out, err) = ctl(&sim.url, &["ring", "--caller-name", "Dr. Who", "--number", "+34600123123", "--vip"]);
    assert_eq!(code, 0, "{err}");
    let id = serde_json::from_str::<serde_json::Value>(&out).unwrap()["id"].as_str().unwrap().to_string();
    let (code, out, err) = ctl(&sim.url, &["ring", "--script", "courier", "--interval-ms", "60000"]);
    assert_eq!(code, 0, "{err}");
    let courier = serde_json::from_str::<serde_json::Value>(&out).unwrap()["id"].as_str().unwrap().to_string();
    let (code, _, err) = ctl(&sim.url, &["end", &courier]);
    assert_eq!(code, 0, "{err}");
    for args in [
        vec!["advance", "2"],
        vec!["credits", "12", "--allocated", "200"],
        vec!["fault", "/v1/credits/*", "status", "--status", "503", "--count", "1"],
        vec![
            "fault",
            "/v1/calls",
            "--kind",
            "latency",
            "--latency-ms",
            "10",
            "--method",
            "get",
            "--probability",
            "0.5",
        ],
        vec!["faults-clear"],
        vec!["expire-tokens"],
        vec!["revoke-tokens"],
        vec!["end", id.as_str(), "--outcome", "missed"],
        vec!["requests"],
        vec!["stream", "off"],
        vec!["next-refusal", "--code", "soft_cap_reached", "--credits", "20"],
        vec!["reset", "--seed", "demo"],
    ] {
        let (code, _, err) = ctl(&sim.url, &args);
        assert_eq!(code, 0, "ctl {args:?}: {err}");
    }
    let (code, _, err) = ctl(&sim.url, &["end", &id]);
    assert_eq!(code, 1, "ending a reset call fails");
    assert!(err.contains("404") || err.contains("call_not_found"), "{err}");
}

#[test]
fn bad_arguments_exit_2_with_one_sentence() {
    for args in [
        vec!["--seed", "huge"],
        vec!["--addr", "nowhere"],
        vec!["--token-ttl", "0"],
        vec!["--auth-flows", "magic"],
        vec!["--profile", "staging"],
        vec!["--frobnicate"],
        vec!["ctl", "ring"],
        vec!["ctl", "--url", "http://127.0.0.1:9", "explode"],
        vec!["ctl", "--url", "http://127.0.0.1:9", "credits", "lots"],
        vec!["ctl", "--url", "http://127.0.0.1:9", "next-refusal"],
        vec!["ctl", "--url", "http://127.0.0.1:9", "ring", "--script", "nobody"],
    ] {
        let out = Command::new(BIN).args(&args).env_remove("KALLYAI_SIM_URL").output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("kallyai-sim: "));
    }
}

/// The status of a plain `GET path` (HTTP/1.1 by hand: these tests are synchronous).
fn get_status(url: &str, path: &str) -> u16 {
    let host = url.strip_prefix("http://").unwrap();
    let mut stream = TcpStream::connect(host).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("no status in {answer:?}"))
}

#[test]
fn profile_flag_and_ctl_reset_switch_the_profile() {
    const METADATA: &str = "/.well-known/oauth-authorization-server";
    let sim = spawn(&["--profile", "production"]);
    assert_eq!(get_status(&sim.url, METADATA), 404, "production has no OAuth metadata");
    let (code, _, err) = ctl(&sim.url, &["reset", "--profile", "default"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(get_status(&sim.url, METADATA), 200);
    let (code, _, err) = ctl(&sim.url, &["reset", "--profile", "production"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(get_status(&sim.url, METADATA), 404);
    let (code, _, err) = ctl(&sim.url, &["reset", "--profile", "staging"]);
    assert_eq!(code, 1, "the server refuses an unknown profile");
    assert!(err.contains("422"), "{err}");
}

#[cfg(unix)]
#[test]
fn sigterm_ends_it_cleanly() {
    let mut sim = spawn(&[]);
    let status = Command::new("kill").arg("-TERM").arg(sim.child.id().to_string()).status().unwrap();
    assert!(status.success());
    // Wait for the exit itself (on a thread), bounded by a deadline.
    let mut child = std::mem::replace(&mut sim.child, Command::new("true").spawn().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait()));
    let status = rx.recv_timeout(Duration::from_secs(10)).expect("did not exit on SIGTERM").unwrap();
    assert!(status.success(), "exit status {status:?}");
}
