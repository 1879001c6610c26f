//! Fault injection, a middleware in front of every non-`/_sim/` route. Rules come from
//! `POST /_sim/faults`; each request takes the first matching rule that fires.

use std::time::Duration;

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::stream;

use crate::conn::ConnHandle;
use crate::error::{ApiError, Final};
use crate::state::{Fault, SharedSim, State as World};

pub const KINDS: [&str; 8] =
    ["latency", "status", "status_after", "rate_limit", "drop_before", "drop_after", "malformed", "slow_body"];

/// Which fault (if any) shaped a response; the request log records it.
#[derive(Clone)]
pub struct FaultApplied(pub String);

/// `*` matches any run of characters (including `/`); everything else is literal.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && p[pi] != '*' && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// A uniform number in [0, 1) from the OS RNG (via uuid, which we depend on anyway).
fn random_unit() -> f64 {
    // The low 62 bits of a v4 UUID are random (the two above them are the fixed variant bits).
    let bits = uuid::Uuid::new_v4().as_u128() as u64 & ((1u64 << 62) - 1);
    (bits >> 9) as f64 / (1u64 << 53) as f64
}

fn pick(world: &mut World, method: &str, path: &str) -> Option<Fault> {
    let idx = world.faults.iter().position(|f| {
        glob_match(&f.route, path)
            && f.method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(method))
            && (f.probability >= 1.0 || random_unit() < f.probability)
    })?;
    let fault = world.faults[idx].clone();
    if let Some(left) = world.faults[idx].remaining.as_mut() {
        *left = left.saturating_sub(1);
        if *left == 0 {
            world.faults.remove(idx);
        }
    }
    Some(fault)
}

pub async fn inject(State(sim): State<SharedSim>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if path.starts_with("/_sim") {
        return next.run(req).await;
    }
    // Separate statement: the state lock must be released before the handler runs.
    let picked = pick(&mut sim.lock(), req.method().as_str(), &path);
    let Some(fault) = picked else {
        return next.run(req).await;
    };
    let conn = req.extensions().get::<ConnectInfo<ConnHandle>>().map(|c| c.0.clone());
    let mut resp = match fault.kind.as_str() {
        "latency" => {
            tokio::time::sleep(Duration::from_millis(fault.latency_ms)).await;
            next.run(req).await
        }
        "status" => injected_status(fault.status),
        "status_after" => {
            // Let the handler finish (its side effects are done), then answer as if it had failed:
            // the client cannot tell whether its request was processed.
            let _ = buffered(next.run(req).await).await;
            injected_status(fault.status)
        }
        "rate_limit" => {
            ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "Too many requests; try again later.")
                .detail("retry_after_secs", fault.retry_after_secs)
                .header(header::RETRY_AFTER, &fault.retry_after_secs.to_string())
                .into_response()
        }
        "drop_before" => {
            if let Some(c) = &conn {
                c.kill();
            }
            dropped()
        }
        "drop_after" => {
            // Let the handler's body finish (its side effects are done), then cut the line.
            let _ = buffered(next.run(req).await).await;
            if let Some(c) = &conn {
                c.kill();
            }
            dropped()
        }
        "malformed" => {
            let body = match buffered(next.run(req).await).await {
                Ok((_, body)) => body,
                Err(stream) => return stream,
            };
            let cut =
                if body.len() >= 4 { body.slice(..body.len() / 2) } else { Bytes::from_static(b"{\"malformed\":") };
            let mut resp = Response::new(Body::from(cut));
            resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            resp
        }
        _ => {
            // slow_body: the handler's body in 16-byte chunks, one every latency_ms.
            let (parts, bytes) = match buffered(next.run(req).await).await {
                Ok(pb) => pb,
                Err(stream) => return stream,
            };
            let chunks: Vec<Bytes> = bytes.chunks(16).map(Bytes::copy_from_slice).collect();
            let delay = Duration::from_millis(fault.latency_ms.max(1));
            let body = Body::from_stream(stream::unfold(chunks.into_iter(), move |mut it| async move {
                let chunk = it.next()?;
                tokio::time::sleep(delay).await;
                Some((Ok::<_, std::io::Error>(chunk), it))
            }));
            let mut resp = Response::from_parts(parts, body);
            resp.headers_mut().remove(header::CONTENT_LENGTH);
            resp
        }
    };
    resp.extensions_mut().insert(FaultApplied(fault.kind.clone()));
    resp.extensions_mut().insert(Final);
    resp
}

/// The whole body of a finite response. An event stream never ends, so it comes back untouched
/// (`Err`): body-rewriting faults do not apply to SSE, and `drop_after` cuts it at once.
async fn buffered(resp: Response) -> Result<(axum::http::response::Parts, Bytes), Response> {
    let is_stream = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("text/event-stream"));
    if is_stream {
        return Err(resp);
    }
    let (parts, body) = resp.into_parts();
    let bytes = tokio::time::timeout(Duration::from_secs(30), to_bytes(body, usize::MAX))
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    Ok((parts, bytes))
}

/// The answer of a `status` fault: the envelope, or a web front's redirect for a 3xx.
fn injected_status(status: u16) -> Response {
    if (300..400).contains(&status) {
        return redirect_to_web(status);
    }
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    ApiError::from_status(status, Some("injected fault".into())).into_response()
}

fn dropped() -> Response {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    resp
}

/// A 3xx as a web front sends it (to its home page, with an HTML body), not an API answer.
fn redirect_to_web(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::FOUND);
    let body = "<html><body><a href=\"/\">Moved</a></body></html>";
    (status, [(header::LOCATION, "/"), (header::CONTENT_TYPE, "text/html")], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match("/v1/credits/*", "/v1/credits/balance"));
        assert!(glob_match("*", "/anything"));
        assert!(glob_match("/v1/*/calls", "/v1/inbound/calls"));
        assert!(!glob_match("/v1/credits/*", "/v1/calls"));
        assert!(glob_match("/v1/calls", "/v1/calls"));
        assert!(!glob_match("/v1/calls", "/v1/calls/x"));
    }
}
