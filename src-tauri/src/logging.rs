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

/// The log files' name; each day's file ends with its date (`kallyai-desktop.log.2026-12-06`).
pub const LOG_FILE: &str = "kallyai-desktop.log";
/// Days of log kept.
const KEPT_DAYS: usize = 7;

/// The log directory, readable by the user only (0700 on Unix): the log names who called and
/// what was asked of the app, and the appender creates its files with the default permissions.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// `KALLYAI_LOG` sets the filter (e.g. `debug`, `kallyai_core=trace`); `info` by default.
pub fn init(log_dir: Option<&Path>) {
    let filter = || EnvFilter::try_from_env("KALLYAI_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let stderr = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .with_filter(filter());
    let file = log_dir.and_then(|dir| {
        create_private_dir(dir).ok()?;
        // A new file each day, the last few kept: the log never grows without bound.
        let appender = tracing_appender::rolling::RollingFileAppender::builder()
            .rotation(tracing_appender::rolling::Rotation::DAILY)
            .filename_prefix(LOG_FILE)
            .max_log_files(KEPT_DAYS)
            .build(dir)
            .ok()?;
        let (writer, guard) = tracing_appender::non_blocking(appender);
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
