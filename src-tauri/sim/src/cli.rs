//! Hand-parsed command line (no clap: it would double the sim's build time for a few flags).

use std::net::SocketAddr;

use kallyai_sim::client::{ControlRequest, Credits, Fault, Ring, Stream};
use kallyai_sim::{check_bind_addr, demo_calls, Profile, Seed, SimConfig};
use serde_json::{Map, Value};

pub enum Command {
    Help,
    Serve { addr: SocketAddr, config: SimConfig },
    Ctl { url: String, request: ControlRequest },
}

fn value<'a>(args: &'a [String], i: &mut usize, flag: &str) -> Result<&'a str, String> {
    *i += 1;
    args.get(*i).map(String::as_str).ok_or_else(|| format!("{flag} needs a value."))
}

pub fn parse(args: &[String]) -> Result<Command, String> {
    if args.first().map(String::as_str) == Some("ctl") {
        return parse_ctl(&args[1..]);
    }
    let mut addr: SocketAddr = "127.0.0.1:0".parse().map_err(|_| "internal: bad default address".to_string())?;
    let mut config = SimConfig::default();
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        match a {
            "--addr" => addr = parse_addr(value(args, &mut i, a)?)?,
            "--allow-remote" => config.allow_remote = true,
            "--seed" => config.seed = Seed::parse(value(args, &mut i, a)?).ok_or("--seed must be demo or empty.")?,
            "--profile" => {
                config.profile =
                    Profile::parse(value(args, &mut i, a)?).ok_or("--profile must be default or production.")?
            }
            "--token-ttl" => {
                config.token_ttl_secs = value(args, &mut i, a)?
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or("--token-ttl must be a positive number of seconds.")?
            }
            "--auth-flows" => {
                let flows: Vec<&str> = value(args, &mut i, a)?.split(',').map(str::trim).collect();
                if flows.is_empty() || flows.iter().any(|f| *f != "cli" && *f != "oauth") {
                    return Err("--auth-flows takes a comma-separated list of cli and oauth.".into());
                }
                config.cli_flow = flows.contains(&"cli");
                config.oauth_flow = flows.contains(&"oauth");
            }
            "--auto-approve" => config.auto_approve = true,
            "-h" | "--help" => return Ok(Command::Help),
            other => return Err(format!("unknown argument {other:?}; {USAGE}")),
        }
        i += 1;
    }
    check_bind_addr(addr, config.allow_remote)?;
    Ok(Command::Serve { addr, config })
}

/// `IP:PORT` (`[::1]:PORT` for IPv6), or `localhost:PORT` for 127.0.0.1.
fn parse_addr(s: &str) -> Result<SocketAddr, String> {
    let s = s.trim();
    let literal = match s.get(..10) {
        Some(host) if host.eq_ignore_ascii_case("localhost:") => format!("127.0.0.1:{}", &s[10..]),
        _ => s.to_string(),
    };
    literal.parse().map_err(|_| "--addr must look like 127.0.0.1:8080, [::1]:8080 or localhost:8080.".to_string())
}

pub const USAGE: &str = "usage: kallyai-sim [--addr 127.0.0.1:0] [--allow-remote] [--seed demo|empty] \
[--profile default|production] [--token-ttl SECS] \
[--auth-flows cli,oauth] [--auto-approve] | kallyai-sim ctl --url URL <ring|end|credits|expire-tokens|\
revoke-tokens|fault|faults-clear|requests|retention|reset|advance|stream|next-refusal> ...";

fn num(s: &str, what: &str) -> Result<f64, String> {
    s.parse::<f64>()
        .ok()
        .filter(|n| n.is_finite() && *n >= 0.0)
        .ok_or_else(|| format!("{what} must be a non-negative number."))
}

fn parse_ctl(args: &[String]) -> Result<Command, String> {
    let mut url = std::env::var("KALLYAI_SIM_URL").ok();
    let mut rest: Vec<String> = Vec::new();
    let mut i = 0;
    while i < args.len() {
        if args[i] == "--url" {
            url = Some(value(args, &mut i, "--url")?.trim_end_matches('/').to_string());
        } else {
            rest.push(args[i].clone());
        }
        i += 1;
    }
    let url = url.ok_or("ctl needs --url http://127.0.0.1:PORT (or KALLYAI_SIM_URL).")?;
    let (cmd, rest) = rest.split_first().ok_or("ctl needs a command: ring, end, credits, expire-tokens, revoke-tokens, fault, faults-clear, requests, retention, reset, advance, stream, next-refusal.")?;
    // Flags after the command: --name value, or --flag alone for booleans.
    let mut positional: Vec<&str> = Vec::new();
    let mut flags: Map<String, Value> = Map::new();
    let mut j = 0;
    while j < rest.len() {
        let a = rest[j].as_str();
        if let Some(name) = a.strip_prefix("--") {
            if name == "vip" {
                flags.insert("vip".into(), Value::Bool(true));
            } else {
                flags.insert(name.to_string(), Value::String(value(rest, &mut j, a)?.to_string()));
            }
        } else {
            positional.push(a);
        }
        j += 1;
    }
    let flag = |k: &str| flags.get(k).and_then(Value::as_str).map(str::to_string);
    let pos =
        |n: usize, what: &str| positional.get(n).map(|s| s.to_string()).ok_or_else(|| format!("{cmd} needs {what}."));
    let request = match cmd.as_str() {
        "ring" => {
            // --script NAME rings a ready-made call; the other flags override its parts.
            let preset = match flag("script") {
                Some(key) => Some(demo_calls::find(&key).ok_or_else(|| {
                    let keys: Vec<&str> = demo_calls::ALL.iter().map(|c| c.key).collect();
                    format!("--script must be one of {}.", keys.join(", "))
                })?),
                None => None,
            };
            let mut ring =
                Ring::new(&flag("number").unwrap_or_else(|| preset.map_or("+34911222333", |p| p.caller_number).into()))
                    .caller_name(
                        &flag("caller-name").unwrap_or_else(|| preset.map_or("Dr. Smith", |p| p.caller_name).into()),
                    )
                    .vip(flags.contains_key("vip") || preset.is_some_and(|p| p.is_vip));
            if let Some(p) = preset {
                ring = ring.transcript(p.script.iter().copied()).summary(p.summary);
            }
            if let Some(s) = flag("summary") {
                ring = ring.summary(&s);
            }
            if let Some(ms) = flag("interval-ms") {
                ring = ring.line_interval_ms(num(&ms, "--interval-ms")? as u64);
            }
            ControlRequest::ring(&ring)
        }
        "end" => ControlRequest::end_call(
            &pos(0, "a call id")?,
            Some(&flag("outcome").unwrap_or_else(|| "completed".into())),
        ),
        "credits" => ControlRequest::credits(&Credits {
            credits_remaining: Some(num(&pos(0, "a number of credits")?, "credits")?),
            credits_allocated: flag("allocated").map(|a| num(&a, "--allocated")).transpose()?,
        }),
        "expire-tokens" => ControlRequest::expire_tokens(),
        "revoke-tokens" => ControlRequest::revoke_tokens(),
        "fault" => {
            let route = pos(0, "a route glob like /v1/credits/*")?;
            let kind = flag("kind").or_else(|| positional.get(1).map(|s| s.to_string())).ok_or(
                "fault needs a kind (latency, status, status_after, rate_limit, drop_before, drop_after, malformed, slow_body).",
            )?;
            let whole = |name: &str| flag(name).map(|v| num(&v, &format!("--{name}")).map(|n| n as u64)).transpose();
            let mut fault = Fault::new(&route, &kind);
            fault.status = whole("status")?.map(|s| s as u16);
            fault.latency_ms = whole("latency-ms")?;
            fault.retry_after_secs = whole("retry-after")?;
            fault.count = whole("count")?;
            fault.probability = flag("probability").map(|p| num(&p, "--probability")).transpose()?;
            fault.method = flag("method").map(|m| m.to_uppercase());
            ControlRequest::add_fault(&fault)
        }
        "faults-clear" => ControlRequest::clear_faults(),
        "requests" => ControlRequest::requests(),
        "retention" => ControlRequest::retention(),
        "reset" => ControlRequest::reset(
            Some(&flag("seed").unwrap_or_else(|| Seed::Demo.name().into())),
            flag("profile").as_deref(),
        ),
        "advance" => ControlRequest::advance(num(&pos(0, "a number of seconds")?, "seconds")?),
        "next-refusal" => {
            let code = flag("code")
                .ok_or("next-refusal needs --code budget_approval_required, soft_cap_reached or budget_exceeded.")?;
            let credits = flag("credits").map(|c| num(&c, "--credits")).transpose()?;
            ControlRequest::next_refusal(&code, credits)
        }
        "stream" => match pos(0, "on or off")?.as_str() {
            "on" => ControlRequest::stream(&Stream::on()),
            "off" => ControlRequest::stream(&Stream::off()),
            _ => return Err("stream takes on or off.".into()),
        },
        other => return Err(format!("unknown ctl command {other:?}.")),
    };
    Ok(Command::Ctl { url, request })
}
