//! Where the client talks to and how patient it is.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use url::{Host, Url};

/// The production API.
pub const DEFAULT_API_BASE: &str = "https://api.kallyai.com";

/// Environment variable that overrides the API base (same meaning as `--api-base`).
pub const API_BASE_ENV: &str = "KALLYAI_API_BASE";

/// Connection settings shared by every request the client makes.
#[derive(Clone, Debug)]
pub struct Config {
    api_base: Url,
    /// Whole-request budget. `POST /v1/calls` blocks until the call ends (reference §1.5), so
    /// this is generous; the per-call timeout can be lowered for polling.
    pub request_timeout: Duration,
    /// Budget for reads (GET). Reads never block on a phone call, so a stalled one is given up
    /// well before `request_timeout` (the lower of the two applies).
    pub read_timeout: Duration,
    pub connect_timeout: Duration,
    /// The refresh endpoint may cold-start (reference §1.1), hence its own budget.
    pub refresh_timeout: Duration,
    pub user_agent: String,
    pub retry: RetryPolicy,
}

/// How the client retries requests that are safe to repeat.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 = never retry).
    pub max_retries: u32,
    /// Backoff before retry n is `base_delay * 2^n` (capped at `max_delay`) with full jitter.
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// A server `Retry-After` longer than this is not waited out; the error is returned so the
    /// caller can schedule its own next attempt.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

/// Why an API base was refused. Its `Display` is one sentence for the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    InvalidUrl(String),
    InsecureRemote(String),
    UnsupportedScheme(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::InvalidUrl(s) => write!(f, "The API base \"{s}\" is not a valid URL."),
            ConfigError::InsecureRemote(s) => write!(
                f,
                "The API base \"{s}\" uses plain http; use https, or http only for 127.0.0.1, localhost or [::1]."
            ),
            ConfigError::UnsupportedScheme(s) => {
                write!(f, "The API base \"{s}\" must start with https:// (or http:// for a loopback address).")
            }
        }
    }
}

impl std::error::Error for ConfigError {}

impl Default for Config {
    fn default() -> Self {
        Self::new(DEFAULT_API_BASE).expect("the default API base is valid")
    }
}

impl Config {
    /// Validates `base`: https anywhere, http only for loopback hosts.
    pub fn new(base: &str) -> Result<Self, ConfigError> {
        let api_base = parse_api_base(base)?;
        Ok(Self {
            api_base,
            request_timeout: Duration::from_secs(300),
            read_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            refresh_timeout: Duration::from_secs(30),
            user_agent: format!("KallyAI-Desktop/{}", env!("CARGO_PKG_VERSION")),
            retry: RetryPolicy::default(),
        })
    }

    /// The base from `--api-base` if given, else `KALLYAI_API_BASE`, else production.
    pub fn from_env_or(base_flag: Option<&str>) -> Result<Self, ConfigError> {
        let env = std::env::var(API_BASE_ENV).ok();
        Self::new(pick_base(base_flag, env.as_deref()))
    }

    /// The API base without a trailing slash, e.g. `https://api.kallyai.com`.
    pub fn api_base(&self) -> &str {
        self.api_base.as_str().trim_end_matches('/')
    }

    /// `path` (starting with `/v1/...`) joined to the base, keeping any path prefix of the base.
    pub fn url(&self, path: &str) -> Url {
        let joined = format!("{}{}", self.api_base(), path);
        Url::parse(&joined).expect("a valid base joined with an absolute path is valid")
    }

    pub fn with_timeouts(mut self, request: Duration, connect: Duration, refresh: Duration) -> Self {
        self.request_timeout = request;
        self.connect_timeout = connect;
        self.refresh_timeout = refresh;
        self
    }

    /// The timeout for one attempt of a request: reads get the shorter read budget.
    pub fn timeout_for(&self, is_read: bool) -> Duration {
        match is_read {
            true => self.read_timeout.min(self.request_timeout),
            false => self.request_timeout,
        }
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }
}

fn pick_base<'a>(flag: Option<&'a str>, env: Option<&'a str>) -> &'a str {
    let non_empty = |s: &&str| !s.trim().is_empty();
    flag.filter(non_empty).or(env.filter(non_empty)).unwrap_or(DEFAULT_API_BASE)
}

fn parse_api_base(base: &str) -> Result<Url, ConfigError> {
    let trimmed = base.trim();
    let url = Url::parse(trimmed).map_err(|_| ConfigError::InvalidUrl(trimmed.to_string()))?;
    if url.cannot_be_a_base() || url.host().is_none() {
        return Err(ConfigError::InvalidUrl(trimmed.to_string()));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError::InvalidUrl(trimmed.to_string()));
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(ConfigError::InsecureRemote(trimmed.to_string())),
        _ => Err(ConfigError::UnsupportedScheme(trimmed.to_string())),
    }
}

/// Whether `url`'s host is this machine (`localhost`, 127.0.0.0/8, `::1`).
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_is_accepted_anywhere() {
        let c = Config::new("https://api.example.com/").unwrap();
        assert_eq!(c.api_base(), "https://api.example.com");
        assert_eq!(c.url("/v1/calls").as_str(), "https://api.example.com/v1/calls");
    }

    #[test]
    fn default_is_production() {
        assert_eq!(Config::default().api_base(), DEFAULT_API_BASE);
        assert!(Config::default().user_agent.starts_with("KallyAI-Desktop/"));
    }

    #[test]
    fn http_only_for_loopback() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://127.5.6.7",
            "http://localhost:1234",
            "http://LOCALHOST",
            "http://[::1]:9000",
        ] {
            assert!(Config::new(ok).is_ok(), "{ok} should be accepted");
        }
        for bad in ["http://api.kallyai.com", "http://10.0.0.1", "http://128.0.0.1", "http://localhost.evil.com"] {
            let err = Config::new(bad).unwrap_err();
            assert!(matches!(err, ConfigError::InsecureRemote(_)), "{bad}: {err:?}");
            assert!(err.to_string().contains("https"));
        }
    }

    #[test]
    fn garbage_and_other_schemes_are_refused() {
        assert!(matches!(Config::new("not a url"), Err(ConfigError::InvalidUrl(_))));
        assert!(matches!(Config::new("ftp://127.0.0.1"), Err(ConfigError::UnsupportedScheme(_))));
        assert!(matches!(Config::new("https://x.com/?a=b"), Err(ConfigError::InvalidUrl(_))));
        let sentence = Config::new("file:///etc/passwd").unwrap_err().to_string();
        assert!(sentence.ends_with('.'), "{sentence}");
    }

    #[test]
    fn reads_get_the_shorter_timeout() {
        let c = Config::default();
        assert_eq!(c.timeout_for(true), Duration::from_secs(30));
        assert_eq!(c.timeout_for(false), Duration::from_secs(300));
        let quick = c.with_timeouts(Duration::from_millis(300), Duration::from_secs(1), Duration::from_secs(1));
        assert_eq!(quick.timeout_for(true), Duration::from_millis(300));
    }

    #[test]
    fn base_path_prefix_is_kept() {
        let c = Config::new("http://127.0.0.1:9/prefix/").unwrap();
        assert_eq!(c.url("/v1/x").as_str(), "http://127.0.0.1:9/prefix/v1/x");
    }

    #[test]
    fn flag_beats_env_beats_default() {
        assert_eq!(pick_base(Some("https://a"), Some("https://b")), "https://a");
        assert_eq!(pick_base(None, Some("https://b")), "https://b");
        assert_eq!(pick_base(Some(" "), None), DEFAULT_API_BASE);
        assert_eq!(pick_base(None, None), DEFAULT_API_BASE);
    }
}
