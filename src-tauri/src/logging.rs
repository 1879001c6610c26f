//! Logging with tracing: to a file in the platform's log directory and to stderr. Secrets never
//! reach a log line because core's token types print as `[redacted]`; nothing here needs to
//! scrub text.

use std::path::Path;
use std::sync::Mutex;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::prelude::*;
use tracing_subscriber::EnvFilter;

/// Keeps the file writer alive; dropping it flushes the last lines.
static FILE_GUARD: Mutex<Option<WorkerGuard>> = Mutex::new(None);

pub const LOG_FILE: &str = "kallyai-desktop.log";

/// `KALLYAI_LOG` sets the filter (e.g. `debug`, `kallyai_core=trace`); `info` by default.
pub fn init(log_dir: Option<&Path>) {
    let filter = || EnvFilter::try_from_env("KALLYAI_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let stderr = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .with_filter(filter());
    let file = log_dir.and_then(|dir| {
        std::fs::create_dir_all(dir).ok()?;
        let (writer, guard) = tracing_appender::non_blocking(tracing_appender::rolling::never(dir, LOG_FILE));
        *FILE_GUARD.lock().ok()? = Some(guard);
        Some(tracing_subscriber::fmt::layer().with_ansi(false).with_writer(writer).with_filter(filter()))
    });
    let _ = tracing_subscriber::registry().with(stderr).with(file).try_init();
}

/// Flushes the file log; called right before the process exits.
pub fn flush() {
    if let Ok(mut guard) = FILE_GUARD.lock() {
        guard.take();
    }
}
