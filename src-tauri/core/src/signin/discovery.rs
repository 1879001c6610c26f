//! Which sign-in the server offers: RFC 8414 metadata with authorization code + PKCE S256 means
//! OAuth for native apps; anything less (production today, reference §2) means the `/v1/auth/cli`
//! loopback flow the official CLIs use. Any answer that is not usable metadata (a 3xx from a web
//! front, a 4xx, a 5xx, HTML, garbage) means the CLI flow, which production is known to offer: the
//! better path failing must never stop sign-in. Only no answer at all (offline, timeout) is an
//! error, because then the CLI flow cannot work either.

use serde::Deserialize;
use url::{Host, Url};

use crate::config::Config;
use crate::error::ApiError;
use crate::transport::{Request, Transport};

/// The public client id the server knows KallyAI Desktop by.
pub const CLIENT_ID: &str = "kallyai-desktop";

/// The endpoints of an OAuth server that offers code + PKCE S256 to public clients.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerMetadata {
    pub issuer: String,
    pub authorization_endpoint: Url,
    pub token_endpoint: Url,
    /// RFC 7009; `None` when the server has no revocation (then sign-out only forgets locally).
    pub revocation_endpoint: Option<Url>,
}

#[cfg(test)]
impl ServerMetadata {
    /// A server with PKCE and no revocation, for the sign-in modules' tests.
    pub(crate) fn example() -> Self {
        ServerMetadata {
            issuer: "https://kally.example".into(),
            authorization_endpoint: Url::parse("https://kally.example/v1/auth/authorize").unwrap(),
            token_endpoint: Url::parse("https://kally.example/v1/auth/gpt/token").unwrap(),
            revocation_endpoint: None,
        }
    }
}

/// The sign-in to use with this server.
// One value per sign-in; boxing the metadata would only make matching on it clumsier.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Authorization code + PKCE S256 (RFC 8252), deep link or loopback redirect.
    OAuthPkce { metadata: ServerMetadata },
    /// `GET /v1/auth/cli` with a loopback listener on 8740–8759 (reference §2.1).
    CliLoopback,
}

impl Flow {
    pub fn revocation_endpoint(&self) -> Option<&Url> {
        match self {
            Flow::OAuthPkce { metadata } => metadata.revocation_endpoint.as_ref(),
            Flow::CliLoopback => None,
        }
    }
}

/// Reads `{api_base}/.well-known/oauth-authorization-server` and picks the flow. Any status
/// other than a 2xx with a usable document means `CliLoopback` (the log says why); no answer is
/// an `ApiError` (the caller shows the offline state and can try again).
pub async fn discover(config: &Config) -> Result<Flow, ApiError> {
    let transport = Transport::new(config.clone())?;
    let req = Request::get(&[".well-known", "oauth-authorization-server"]).public();
    let raw = transport.send_once(&req, None, Some(config.refresh_timeout)).await?;
    if (200..=299).contains(&raw.status) {
        return Ok(choose_flow(config.api_base(), &raw.body));
    }
    tracing::info!(status = raw.status, "OAuth metadata not offered; using the CLI sign-in flow");
    Ok(Flow::CliLoopback)
}

#[derive(Deserialize)]
struct RawMetadata {
    issuer: Option<String>,
    authorization_endpoint: Option<String>,
    token_endpoint: Option<String>,
    revocation_endpoint: Option<String>,
    #[serde(default)]
    response_types_supported: Vec<String>,
    grant_types_supported: Option<Vec<String>>,
    #[serde(default)]
    code_challenge_methods_supported: Vec<String>,
    token_endpoint_auth_methods_supported: Option<Vec<String>>,
}

/// The decision on a metadata document fetched from `api_base` (pure, so it is tested directly).
pub fn choose_flow(api_base: &str, body: &[u8]) -> Flow {
    match oauth_metadata(api_base, body) {
        Ok(metadata) => Flow::OAuthPkce { metadata },
        Err(why) => {
            tracing::info!(why, "OAuth metadata not usable; using the CLI sign-in flow");
            Flow::CliLoopback
        }
    }
}

fn oauth_metadata(api_base: &str, body: &[u8]) -> Result<ServerMetadata, &'static str> {
    let raw: RawMetadata = serde_json::from_slice(body).map_err(|_| "not a metadata document")?;
    let has = |list: &[String], want: &str| list.iter().any(|v| v == want);
    if !has(&raw.code_challenge_methods_supported, "S256") {
        return Err("no PKCE S256");
    }
    if !has(&raw.response_types_supported, "code") {
        return Err("no response_type code");
    }
    // RFC 8414 §2: an absent grant_types_supported means ["authorization_code", "implicit"].
    if raw.grant_types_supported.as_ref().is_some_and(|g| !has(g, "authorization_code")) {
        return Err("no authorization_code grant");
    }
    // A public client authenticates with "none"; a list without it is for confidential clients.
    if raw.token_endpoint_auth_methods_supported.as_ref().is_some_and(|m| !has(m, "none")) {
        return Err("no public clients");
    }
    // RFC 8414 §3.3: the issuer must be the server the document was fetched from.
    let issuer = raw.issuer.ok_or("no issuer")?;
    if issuer.trim_end_matches('/') != api_base.trim_end_matches('/') {
        return Err("issuer is not the API base");
    }
    let endpoint = |v: Option<String>| v.as_deref().and_then(endpoint_url);
    Ok(ServerMetadata {
        issuer,
        authorization_endpoint: endpoint(raw.authorization_endpoint).ok_or("no usable authorization_endpoint")?,
        token_endpoint: endpoint(raw.token_endpoint).ok_or("no usable token_endpoint")?,
        revocation_endpoint: endpoint(raw.revocation_endpoint),
    })
}

/// https anywhere; plain http only on a loopback address (the same rule as the API base).
fn endpoint_url(text: &str) -> Option<Url> {
    let url = Url::parse(text).ok()?;
    if url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
        return None;
    }
    let loopback = match url.host()? {
        Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
    };
    match url.scheme() {
        "https" => Some(url),
        "http" if loopback => Some(url),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const BASE: &str = "http://127.0.0.1:4000";

    fn full() -> serde_json::Value {
        json!({
            "issuer": BASE,
            "authorization_endpoint": format!("{BASE}/v1/auth/authorize"),
            "token_endpoint": format!("{BASE}/v1/auth/gpt/token"),
            "revocation_endpoint": format!("{BASE}/v1/auth/revoke"),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none", "client_secret_post"],
        })
    }

    fn flow_of(v: &serde_json::Value) -> Flow {
        choose_flow(BASE, v.to_string().as_bytes())
    }

    #[test]
    fn full_metadata_means_oauth() {
        let Flow::OAuthPkce { metadata } = flow_of(&full()) else { panic!() };
        assert_eq!(metadata.token_endpoint.as_str(), "http://127.0.0.1:4000/v1/auth/gpt/token");
        assert_eq!(metadata.revocation_endpoint.unwrap().path(), "/v1/auth/revoke");
    }

    #[test]
    fn anything_missing_means_cli() {
        let mutations: Vec<fn(&mut serde_json::Value)> = vec![
            |v| v["code_challenge_methods_supported"] = json!(["plain"]),
            |v| v.as_object_mut().unwrap().remove("code_challenge_methods_supported").map(drop).unwrap(),
            |v| v["response_types_supported"] = json!(["token"]),
            |v| v["grant_types_supported"] = json!(["client_credentials"]),
            |v| v["token_endpoint_auth_methods_supported"] = json!(["client_secret_basic"]),
            |v| v.as_object_mut().unwrap().remove("token_endpoint").map(drop).unwrap(),
            |v| v["token_endpoint"] = json!("http://evil.example/token"),
            |v| v["authorization_endpoint"] = json!("javascript:alert(1)"),
            |v| v["issuer"] = json!("https://other.example"),
        ];
        for (i, m) in mutations.iter().enumerate() {
            let mut v = full();
            m(&mut v);
            assert_eq!(flow_of(&v), Flow::CliLoopback, "mutation {i}");
        }
        assert_eq!(choose_flow(BASE, b"<html>not found</html>"), Flow::CliLoopback);
        assert_eq!(choose_flow(BASE, b""), Flow::CliLoopback);
    }

    #[test]
    fn optional_parts_may_be_absent() {
        let mut v = full();
        let o = v.as_object_mut().unwrap();
        o.remove("revocation_endpoint");
        o.remove("grant_types_supported");
        o.remove("token_endpoint_auth_methods_supported");
        let Flow::OAuthPkce { metadata } = flow_of(&v) else { panic!() };
        assert_eq!(metadata.revocation_endpoint, None);
        // A bad revocation endpoint is dropped, not fatal.
        let mut v = full();
        v["revocation_endpoint"] = json!("http://evil.example/revoke");
        let Flow::OAuthPkce { metadata } = flow_of(&v) else { panic!() };
        assert_eq!(metadata.revocation_endpoint, None);
    }
}
