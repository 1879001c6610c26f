//! `GET /v1/users/me`: who is signed in. No source documents a profile endpoint (reference §3
//! lists only `/v1/users/me/subscription` and `/statistics`); the sim offers this one as an
//! extension, and the app shows the name only when a server answers it.

use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::error::ApiError;
use crate::lenient;
use crate::transport::Request;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Me {
    #[serde(deserialize_with = "lenient::opt_string")]
    pub id: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub name: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub email: Option<String>,
}

impl Me {
    /// What to call the user: the name, else the e-mail address.
    pub fn display_name(&self) -> Option<String> {
        [&self.name, &self.email].into_iter().flatten().map(|s| s.trim()).find(|s| !s.is_empty()).map(String::from)
    }
}

pub struct Users<'c> {
    client: &'c Client,
}

impl Client {
    pub fn users(&self) -> Users<'_> {
        Users { client: self }
    }
}

impl Users<'_> {
    pub async fn me(&self) -> Result<Me, ApiError> {
        self.client.json(Request::get(&["v1", "users", "me"])).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_name_prefers_the_name() {
        let me: Me = serde_json::from_str(r#"{"name": "Alex Demo", "email": "alex@example.com", "extra": 1}"#).unwrap();
        assert_eq!(me.display_name().as_deref(), Some("Alex Demo"));
        let me: Me = serde_json::from_str(r#"{"name": " ", "email": "alex@example.com"}"#).unwrap();
        assert_eq!(me.display_name().as_deref(), Some("alex@example.com"));
        let me: Me = serde_json::from_str(r#"{"name": null}"#).unwrap();
        assert_eq!(me.display_name(), None);
    }
}
