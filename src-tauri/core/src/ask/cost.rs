//! Cost preview: what an ask would likely cost, from `POST /v1/goals/estimate` (reference
//! §3.11). The estimate endpoint wants a task `type`, so the text is mapped to one by keywords;
//! a plain question maps to none and gets no hint. Debouncing belongs to the UI.

use std::time::Duration;

use crate::api::budget::Estimate;
use crate::client::Client;

/// The preview gives up after this long: a late hint is worse than none.
const PREVIEW_TIMEOUT: Duration = Duration::from_secs(3);

/// Keywords per task type, checked in this order ("book a table by calling" is a booking).
const KINDS: [(&str, &[&str]); 7] = [
    ("booking", &["book", "reserv", "table for", "appointment", "hotel"]),
    ("ride", &["ride", "taxi", "uber", "cab ", "pick me up", "drive me"]),
    ("food", &["order food", "deliver", "takeaway", "take-out", "takeout", "pizza"]),
    ("call", &["call", "phone", "ring ", "dial"]),
    ("email", &["email", "e-mail", "mail ", "write to"]),
    ("search", &["search", "find", "look up", "looking for", "recommend", "nearby", "best "]),
    ("errand", &["errand", "pick up", "drop off", "return the"]),
];

/// The estimate `type` for an ask, or `None` for a question that starts no task.
pub fn task_kind(text: &str) -> Option<&'static str> {
    let t = format!("{} ", text.to_lowercase());
    KINDS.iter().find(|(_, words)| words.iter().any(|w| t.contains(w))).map(|(kind, _)| *kind)
}

/// True when the estimate is more than the credits left.
pub fn exceeds_balance(estimate: &Estimate, credits_remaining: f64) -> bool {
    estimate.estimated_credits.value() > credits_remaining
}

/// Estimates for the box's hint.
#[derive(Clone, Debug)]
pub struct CostPreview {
    client: Client,
}

impl CostPreview {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// The likely cost of `text`, or `None` when there is nothing to estimate or the estimate
    /// is unavailable (error, offline, slow): the box then shows no hint.
    pub async fn estimate(&self, text: &str) -> Option<Estimate> {
        let text = text.trim();
        let kind = task_kind(text)?;
        let budget = self.client.budget();
        match tokio::time::timeout(PREVIEW_TIMEOUT, budget.estimate(kind, text)).await {
            Ok(Ok(e)) => Some(e),
            Ok(Err(err)) => {
                tracing::debug!(code = err.code(), "no cost estimate");
                None
            }
            Err(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lenient::Credits;

    #[test]
    fn kinds_by_keyword() {
        assert_eq!(task_kind("Book a table at Nobu for 4 by calling them"), Some("booking"));
        assert_eq!(task_kind("Call the dentist"), Some("call"));
        assert_eq!(task_kind("email Sam the invoice"), Some("email"));
        assert_eq!(task_kind("find the best ramen nearby"), Some("search"));
        assert_eq!(task_kind("Get me a taxi to the airport"), Some("ride"));
        assert_eq!(task_kind("What is the capital of Peru?"), None);
    }

    #[test]
    fn exceeding_the_balance() {
        let e = Estimate { estimated_credits: Credits(3.5), ..Default::default() };
        assert!(exceeds_balance(&e, 3.0));
        assert!(!exceeds_balance(&e, 3.5));
        assert!(!exceeds_balance(&e, 100.0));
    }
}
