//! What a broken or hostile server cannot do to the app's memory: an answer larger than the
//! body cap is refused, an event-stream line that never ends is cut. The server here is a raw
//! TCP listener on 127.0.0.1 writing exactly those bytes: no real KallyAI server sends them, so
//! no real part can stand in (the sim answers well).

use std::sync::Arc;
use std::time::Duration;

use kallyai_core::auth::{AccessToken, StaticToken};
use kallyai_core::{Client, Config, RetryPolicy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const MIB: usize = 1024 * 1024;

/// Serves every connection `head` then `body_chunks` times `chunk`, then closes.
async fn serve(head: String, chunk: Vec<u8>, body_chunks: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (head, chunk) = (head.clone(), chunk.clone());
            tokio::spawn(async move {
                let mut request = vec![0u8; 8192];
                let _ = socket.read(&mut request).await;
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                for _ in 0..body_chunks {
                    if socket.write_all(&chunk).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    url
}

fn client(url: &str) -> Client {
    let config = Config::new(url)
        .unwrap()
        .with_timeouts(Duration::from_secs(20), Duration::from_secs(2), Duration::from_secs(5))
        .with_retry(RetryPolicy { max_retries: 0, ..RetryPolicy::default() });
    Client::new(config, Arc::new(StaticToken::new(AccessToken::new("t")))).unwrap()
}

#[tokio::test]
async fn an_answer_over_the_cap_is_refused_announced_or_not() {
    let big = 9 * MIB;
    let announced = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {big}\r\n\r\n");
    // Without a length (read until the connection closes), the cap is met while reading.
    let unannounced = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n".to_string();
    for head in [announced, unannounced] {
        let url = serve(head, vec![b' '; MIB], 9).await;
        let err = client(&url).credits().balance().await.expect_err("a 9 MiB answer");
        assert_eq!(err.code(), "decode", "{err:?}");
        assert!(format!("{err:?}").contains("larger than 8 MiB"), "{err:?}");
    }
}

#[tokio::test]
async fn an_event_stream_line_that_never_ends_is_cut() {
    let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n".to_string();
    let url = serve(head, vec![b'x'; 64 * 1024], 64).await;
    let mut stream = client(&url).inbound().stream(None, Duration::from_secs(10)).await.expect("the stream opens");
    let err = stream.next().await.expect("an answer").expect_err("a 4 MiB line");
    assert_eq!(err.code(), "decode", "{err:?}");
    assert!(format!("{err:?}").contains("longer than 1 MiB"), "{err:?}");
}
