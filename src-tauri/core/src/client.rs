//! `Client`: the only place in the app that speaks HTTP to KallyAI. It adds the bearer, retries
//! what is safe to retry (the keyed-retry rule is in `retry.rs`), reports 401s to the
//! `TokenSource` and decodes typed answers.
//! Resource modules hang off it: `client.credits().balance()`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::auth::{AccessToken, AuthApi, TokenSource};
use crate::config::Config;
use crate::error::{codes, ApiError};
use crate::events::{Event, EventBus};
use crate::retry::{delay_before_retry, may_resend};
use crate::transport::{decode, RawResponse, Request, Transport};

/// Upper bound for one event-stream connection; the server's heartbeats keep it alive meanwhile.
const STREAM_LIFETIME: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// The answer to a conditional GET of a polled list.
#[derive(Clone, Debug, PartialEq)]
pub enum Fetched<T> {
    /// New content and the `ETag` to send next time (if the server gave one).
    Modified { value: T, etag: Option<String> },
    /// The server answered 304: nothing changed since the `ETag` that was sent.
    NotModified,
}

impl<T> Fetched<T> {
    pub fn into_value(self) -> Option<T> {
        match self {
            Fetched::Modified { value, .. } => Some(value),
            Fetched::NotModified => None,
        }
    }
}

/// A KallyAI API client. Cheap to clone; clones share the connection pool.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    transport: Transport,
    tokens: Arc<dyn TokenSource>,
    events: Option<EventBus>,
    /// Last known reachability, so `ConnectivityChanged` is published on changes only.
    online: AtomicBool,
    /// This server echoed an `Idempotency-Key` back, so it honours keys (see `retry.rs`).
    /// Learnt once per client (one API base) and kept for the life of the process.
    honours_keys: AtomicBool,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("api_base", &self.config().api_base()).finish()
    }
}

impl Client {
    pub fn new(config: Config, tokens: Arc<dyn TokenSource>) -> Result<Self, ApiError> {
        Ok(Self {
            inner: Arc::new(Inner {
                transport: Transport::new(config)?,
                tokens,
                events: None,
                online: AtomicBool::new(true),
                honours_keys: AtomicBool::new(false),
            }),
        })
    }

    /// Like `new`, publishing `ConnectivityChanged` on `events` when reachability changes.
    pub fn with_events(config: Config, tokens: Arc<dyn TokenSource>, events: EventBus) -> Result<Self, ApiError> {
        Ok(Self {
            inner: Arc::new(Inner {
                transport: Transport::new(config)?,
                tokens,
                events: Some(events),
                online: AtomicBool::new(true),
                honours_keys: AtomicBool::new(false),
            }),
        })
    }

    pub fn config(&self) -> &Config {
        self.inner.transport.config()
    }

    /// True once this server has echoed the `Idempotency-Key` of a request back (an extension
    /// production does not document): a write whose outcome is unknown may then be sent again
    /// with the same key. Until then it must be reconciled first (`retry.rs`).
    pub fn honours_idempotency_keys(&self) -> bool {
        self.inner.honours_keys.load(Ordering::Relaxed)
    }

    /// The public auth endpoints (refresh, sign-in URLs); they need no token.
    pub fn auth(&self) -> AuthApi {
        AuthApi::from_transport(self.inner.transport.clone())
    }

    /// Sends `req` and decodes a 2xx body as `T` (an empty body reads as `{}`).
    pub(crate) async fn json<T: DeserializeOwned>(&self, req: Request) -> Result<T, ApiError> {
        let raw = self.send(&req).await?;
        decode(&req, &raw.body)
    }

    /// Sends a conditional GET; a 304 becomes `Fetched::NotModified`.
    pub(crate) async fn conditional<T: DeserializeOwned>(&self, req: Request) -> Result<Fetched<T>, ApiError> {
        let raw = self.send(&req).await?;
        if raw.status == 304 {
            return Ok(Fetched::NotModified);
        }
        Ok(Fetched::Modified { value: decode(&req, &raw.body)?, etag: raw.etag })
    }

    /// The retry loop. Every attempt of one call reuses the same request (and so the same
    /// `Idempotency-Key`); a request is retried only as `retry::may_resend` allows (never an
    /// unkeyed write, nor a keyed one whose outcome is unknown on a server not known to honour
    /// keys), at most `max_retries` times.
    /// A 401 is reported to the token source once and retried once if it has a new token; that
    /// replay is not counted as a retry because the server refused before doing anything.
    pub(crate) async fn send(&self, req: &Request) -> Result<RawResponse, ApiError> {
        let policy = &self.config().retry;
        let mut retries = 0u32;
        let mut reauthenticated = false;
        loop {
            let token = match req.auth {
                true => Some(self.inner.tokens.bearer().await.map_err(|e| self.give_up(req, e))?),
                false => None,
            };
            let timeout = self.config().timeout_for(req.method == reqwest::Method::GET);
            let outcome = self.inner.transport.send_once(req, token.as_ref(), Some(timeout)).await;
            let err = match outcome {
                Ok(raw) => {
                    self.set_online(true);
                    self.learn_key_echo(req, &raw);
                    if (200..300).contains(&raw.status) || raw.status == 304 {
                        return Ok(raw);
                    }
                    let err = redact(ApiError::from_response(raw.status, &raw.body, raw.retry_after), &token);
                    if raw.status == 401 {
                        if let (Some(rejected), false) = (&token, reauthenticated) {
                            // A refresh that could not reach the server reports offline here.
                            let renewed = self.inner.tokens.on_unauthorized(rejected).await;
                            if renewed.map_err(|e| self.give_up(req, e))? {
                                reauthenticated = true;
                                continue;
                            }
                        }
                        return Err(err);
                    }
                    err
                }
                Err(err) => err,
            };
            if retries >= policy.max_retries || !may_resend(req, &err, self.honours_idempotency_keys()) {
                return Err(self.give_up(req, err));
            }
            let Some(delay) = delay_before_retry(policy, retries, &err) else {
                return Err(self.give_up(req, err));
            };
            retries += 1;
            tracing::debug!(request = %req.describe(), code = err.code(), retry = retries, ?delay, "retrying");
            tokio::time::sleep(delay).await;
        }
    }

    /// Opens an event stream: bearer, one 401 -> refresh -> retry, no other retries (the caller
    /// reconnects with `Last-Event-ID`). Only a `200` with `Content-Type: text/event-stream` is
    /// a stream: other statuses are the server's errors, anything else (the JSON activity log,
    /// an HTML page, a `204`) is `stream::NOT_A_STREAM`.
    pub(crate) async fn open_stream(&self, req: &Request) -> Result<reqwest::Response, ApiError> {
        let mut reauthenticated = false;
        loop {
            let token = self.inner.tokens.bearer().await.map_err(|e| self.give_up(req, e))?;
            // The whole-request timeout would cut a healthy stream; idleness is watched instead.
            let opened = self.inner.transport.open(req, Some(&token), Some(STREAM_LIFETIME)).await;
            let resp = match opened {
                Ok(resp) => resp,
                Err(err) => return Err(self.give_up(req, err)),
            };
            self.set_online(true);
            if resp.status().is_success() {
                return match is_event_stream(&resp) {
                    true => Ok(resp),
                    false => Err(self.give_up(req, not_a_stream(req, &resp))),
                };
            }
            let raw = crate::transport::read_whole(resp).await?;
            let err = ApiError::from_response(raw.status, &raw.body, raw.retry_after).redact(token.expose());
            if raw.status == 401 && !reauthenticated {
                let renewed = self.inner.tokens.on_unauthorized(&token).await;
                if renewed.map_err(|e| self.give_up(req, e))? {
                    reauthenticated = true;
                    continue;
                }
            }
            return Err(err);
        }
    }

    /// Only the exact key this request carried counts: a server (or proxy) that echoes anything
    /// else has not shown that it recognises repeats.
    fn learn_key_echo(&self, req: &Request, raw: &RawResponse) {
        let (Some(sent), Some(echoed)) = (&req.idempotency_key, &raw.idempotency_key) else { return };
        if echoed.trim() == sent.as_str() && !self.inner.honours_keys.swap(true, Ordering::Relaxed) {
            tracing::info!(request = %req.describe(), "the server echoes Idempotency-Key: keyed writes may be retried");
        }
    }

    fn give_up(&self, req: &Request, err: ApiError) -> ApiError {
        // Only a failed connect says "offline"; a timeout or a dropped answer says the server
        // was reached, and the next answer flips the state back anyway.
        if err.code() == codes::OFFLINE {
            self.set_online(false);
        }
        tracing::debug!(request = %req.describe(), code = err.code(), status = ?err.status(), "request failed");
        err
    }

    fn set_online(&self, online: bool) {
        let was = self.inner.online.swap(online, Ordering::Relaxed);
        if was != online {
            if let Some(bus) = &self.inner.events {
                bus.publish(Event::ConnectivityChanged { online });
            }
        }
    }
}

fn is_event_stream(resp: &reqwest::Response) -> bool {
    resp.status() == reqwest::StatusCode::OK && media_type(resp).eq_ignore_ascii_case("text/event-stream")
}

/// The media type of an answer, without parameters (`charset`), or "" without one.
fn media_type(resp: &reqwest::Response) -> &str {
    let value = resp.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    value.split(';').next().unwrap_or("").trim()
}

/// The body is not read: a server that answers its whole JSON log here may send a lot of it.
fn not_a_stream(req: &Request, resp: &reqwest::Response) -> ApiError {
    let media = match media_type(resp) {
        "" => "no content type",
        m => m,
    };
    let message = format!("{}: answered {} ({media}), not an event stream", req.describe(), resp.status().as_u16());
    ApiError::client(codes::NOT_A_STREAM, message)
}

fn redact(err: ApiError, token: &Option<AccessToken>) -> ApiError {
    match token {
        Some(t) => err.redact(t.expose()),
        None => err,
    }
}
