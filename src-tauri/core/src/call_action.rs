//! What the user does to a live call (take over, reject, transfer) and what came of it. A call
//! that ended meanwhile, or that another client handled, answers 404 or 409: that is not a
//! failure to report but the news that the call is over.

use serde::Deserialize;

use crate::client::Client;
use crate::error::ApiError;

/// What the user can do to a live call.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum CallAction {
    Takeover,
    Reject { reason: Option<String> },
    Transfer { number: String },
}

impl CallAction {
    /// Reject, as a person does from a notification or the tray.
    pub fn reject_by_user() -> CallAction {
        CallAction::Reject { reason: Some("user_rejected".into()) }
    }

    /// The action's name, for logs (without its payload).
    pub fn name(&self) -> &'static str {
        match self {
            CallAction::Takeover => "takeover",
            CallAction::Reject { .. } => "reject",
            CallAction::Transfer { .. } => "transfer",
        }
    }
}

/// Why an action did not happen.
#[derive(Debug)]
pub enum CallActionError {
    /// A transfer to something that is not an E.164 number; nothing was sent.
    InvalidNumber,
    /// The call is over (ended, or handled in another client): 404 or 409.
    CallEnded(ApiError),
    Failed(ApiError),
}

impl CallActionError {
    /// 404 and 409 say the call is no longer there to act on.
    pub fn from_api(error: ApiError) -> CallActionError {
        match error.status() {
            Some(404 | 409) => CallActionError::CallEnded(error),
            _ => CallActionError::Failed(error),
        }
    }
}

/// `+` and 8 to 15 digits, the first not 0 (E.164, as the API validates it).
pub fn is_e164(number: &str) -> bool {
    let Some(digits) = number.strip_prefix('+') else { return false };
    (8..=15).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit()) && !digits.starts_with('0')
}

/// Carries out `action` on `call_id`, once (never retried: the server may have acted).
pub async fn perform(client: &Client, call_id: &str, action: &CallAction) -> Result<(), CallActionError> {
    let inbound = client.inbound();
    let result = match action {
        CallAction::Takeover => inbound.takeover(call_id).await,
        CallAction::Reject { reason } => inbound.reject(call_id, reason.as_deref()).await,
        CallAction::Transfer { number } => {
            if !is_e164(number) {
                return Err(CallActionError::InvalidNumber);
            }
            inbound.transfer(call_id, number).await
        }
    };
    result.map(drop).map_err(CallActionError::from_api)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e164_numbers() {
        assert!(is_e164("+15551234567"));
        assert!(is_e164("+34911234567"));
        assert!(!is_e164("15551234567"));
        assert!(!is_e164("+0555123456"));
        assert!(!is_e164("+1 555 123 4567"));
        assert!(!is_e164("+1234567"));
        assert!(!is_e164("+1234567890123456"));
    }

    #[test]
    fn a_call_gone_is_news_not_a_failure() {
        let answer = |status| CallActionError::from_api(ApiError::from_response(status, b"{}", None));
        assert!(matches!(answer(404), CallActionError::CallEnded(_)));
        assert!(matches!(answer(409), CallActionError::CallEnded(_)));
        assert!(matches!(answer(500), CallActionError::Failed(_)));
        assert!(matches!(answer(403), CallActionError::Failed(_)));
        let offline = CallActionError::from_api(ApiError::client("network", "offline"));
        assert!(matches!(offline, CallActionError::Failed(_)));
    }

    #[test]
    fn actions_arrive_from_windows_tagged_by_name() {
        let parse = |json: &str| serde_json::from_str::<CallAction>(json).unwrap();
        assert_eq!(parse(r#"{"action": "takeover"}"#), CallAction::Takeover);
        assert_eq!(parse(r#"{"action": "reject", "reason": null}"#), CallAction::Reject { reason: None });
        assert_eq!(
            parse(r#"{"action": "transfer", "number": "+15551234567"}"#),
            CallAction::Transfer { number: "+15551234567".into() }
        );
        assert_eq!(CallAction::reject_by_user().name(), "reject");
    }

    #[tokio::test]
    async fn a_transfer_to_a_bad_number_sends_nothing() {
        // Nothing listens here: any request would fail as Failed, not InvalidNumber.
        let config = crate::Config::new("http://127.0.0.1:9").unwrap();
        let session = std::sync::Arc::new(crate::auth::Session::new(
            crate::auth::AuthApi::new(config.clone()).unwrap(),
            std::sync::Arc::new(crate::auth::MemoryStore::new()),
        ));
        let client = Client::new(config, session).unwrap();
        let action = CallAction::Transfer { number: "555".into() };
        assert!(matches!(perform(&client, "c1", &action).await, Err(CallActionError::InvalidNumber)));
    }
}
