//! The loopback side of a sign-in: a listener on 127.0.0.1 and just enough HTTP/1.1 to read one
//! request line from the browser and answer with a small self-contained page.

use std::ops::RangeInclusive;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::callback::MAX_CALLBACK_LEN;
use super::error::SignInError;

/// The ports the official CLIs listen on for `/v1/auth/cli` (reference §2.1); the service may
/// accept no others.
pub const CLI_PORTS: RangeInclusive<u16> = 8740..=8759;

/// The whole request head a browser may send (request line plus headers).
const MAX_HEAD: usize = MAX_CALLBACK_LEN + 8 * 1024;

/// How long one connection may take to send its request head.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The first free port in `ports` on 127.0.0.1.
pub(crate) async fn bind_first_free(ports: RangeInclusive<u16>) -> Result<TcpListener, SignInError> {
    for port in ports {
        match TcpListener::bind(("127.0.0.1", port)).await {
            Ok(listener) => return Ok(listener),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => continue,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen on 127.0.0.1 for the sign-in");
                return Err(SignInError::ListenFailed);
            }
        }
    }
    Err(SignInError::NoFreePort)
}

/// An ephemeral port on 127.0.0.1 (OAuth loopback redirect, RFC 8252 §7.3).
pub(crate) async fn bind_ephemeral() -> Result<TcpListener, SignInError> {
    TcpListener::bind(("127.0.0.1", 0)).await.map_err(|e| {
        tracing::warn!(error = %e, "cannot listen on 127.0.0.1 for the sign-in");
        SignInError::ListenFailed
    })
}

/// One browser request as far as the sign-in cares.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Incoming {
    /// `GET <target>`: the target (`/path?query`), still encoded.
    Get(String),
    /// Anything that is not a well-formed GET (the answer is 400/405).
    Bad(u16),
}

/// Reads the request head (all of it, so closing does not reset the connection before the
/// browser reads the answer) and returns the GET target. `None`: nothing usable arrived in time.
pub(crate) async fn read_request(stream: &mut TcpStream) -> Option<Incoming> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 2048];
    let read_all = async {
        loop {
            if head.windows(4).any(|w| w == b"\r\n\r\n") {
                return true;
            }
            if head.len() > MAX_HEAD {
                return true;
            }
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return !head.is_empty(),
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
    };
    if !tokio::time::timeout(READ_TIMEOUT, read_all).await.unwrap_or(false) {
        return None;
    }
    Some(parse_request_line(&head))
}

pub(crate) fn parse_request_line(head: &[u8]) -> Incoming {
    let line_end = head.windows(2).position(|w| w == b"\r\n").unwrap_or(head.len());
    let Ok(line) = std::str::from_utf8(&head[..line_end]) else { return Incoming::Bad(400) };
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Incoming::Bad(400);
    };
    if !version.starts_with("HTTP/1.") || !target.starts_with('/') {
        return Incoming::Bad(400);
    }
    if target.len() > MAX_CALLBACK_LEN {
        return Incoming::Bad(414);
    }
    if method != "GET" {
        return Incoming::Bad(405);
    }
    Incoming::Get(target.to_string())
}

/// Writes a complete HTTP/1.1 answer and closes the connection. The page has no links and no
/// scripts, and `no-referrer` keeps the callback URL (which may hold tokens) from going anywhere.
pub(crate) async fn answer(stream: &mut TcpStream, status: u16, body: &str) {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        414 => "URI Too Long",
        _ => "Bad Request",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
Cache-Control: no-store\r\nReferrer-Policy: no-referrer\r\n\
Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body.as_bytes()).await;
    let _ = stream.flush().await;
    let _ = stream.shutdown().await;
}

pub(crate) const SIGNED_IN: &str = "You are signed in to KallyAI. You can close this tab.";

/// The small page the browser shows after the redirect.
pub(crate) fn page(title: &str, sentence: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
<meta name=\"viewport\" content=\"width=device-width\"><style>body{{font:14px system-ui,-apple-system,'Segoe UI',sans-serif;\
display:flex;min-height:100vh;margin:0;align-items:center;justify-content:center;background:#f4f5f7;color:#1c1d21}}\
main{{background:#fff;border-radius:12px;padding:24px 28px;max-width:360px}}\
@media(prefers-color-scheme:dark){{body{{background:#1c1d21;color:#eee}}main{{background:#2a2b30}}}}</style></head>\
<body><main><h1 style=\"font-size:18px\">{title}</h1><p>{}</p></main></body></html>",
        escape(sentence),
        title = escape(title),
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines() {
        assert_eq!(
            parse_request_line(b"GET /callback?code=c HTTP/1.1\r\nHost: x\r\n\r\n"),
            Incoming::Get("/callback?code=c".into())
        );
        assert_eq!(parse_request_line(b"POST /callback HTTP/1.1\r\n\r\n"), Incoming::Bad(405));
        assert_eq!(parse_request_line(b"GET http://evil/ HTTP/1.1\r\n\r\n"), Incoming::Bad(400));
        assert_eq!(parse_request_line(b"GET / x HTTP/1.1\r\n\r\n"), Incoming::Bad(400));
        assert_eq!(parse_request_line(b"\xff\xfe\r\n\r\n"), Incoming::Bad(400));
        let long = format!("GET /?{} HTTP/1.1\r\n\r\n", "a".repeat(MAX_CALLBACK_LEN));
        assert_eq!(parse_request_line(long.as_bytes()), Incoming::Bad(414));
    }

    #[test]
    fn pages_escape_their_text() {
        let p = page("Sign-in failed", "<script>x</script>");
        assert!(p.contains("&lt;script&gt;") && !p.contains("<script>"));
        assert!(page("Signed in", SIGNED_IN).contains("You can close this tab."));
    }

    #[tokio::test]
    async fn first_free_port_skips_taken_ones() {
        let taken = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let port = taken.local_addr().unwrap().port();
        let next = port.checked_add(1).filter(|p| *p > port).unwrap_or(port);
        match bind_first_free(port..=next).await {
            Ok(l) => assert_eq!(l.local_addr().unwrap().port(), next),
            Err(e) => assert_eq!(e, SignInError::NoFreePort, "the neighbour port may be in use too"),
        }
        assert_eq!(bind_first_free(port..=port).await.unwrap_err(), SignInError::NoFreePort);
    }
}
