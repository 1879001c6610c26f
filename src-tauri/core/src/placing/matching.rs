//! Finding a call being placed among the calls the server lists: the way to learn whether a
//! request whose answer was lost (or a request out when the app stopped) placed the call.

use crate::api::calls::Call;

use super::journal::PlacedCall;

/// The listed call that is `placed`: to the same number, about the same task, and not among the
/// calls listed before it was first sent. The newest wins if there were several.
pub(crate) fn find<'a>(placed: &PlacedCall, listed: &'a [Call]) -> Option<&'a Call> {
    let number = digits(&placed.request.submission.respondent_phone);
    let task = placed.request.submission.task_description.trim();
    listed
        .iter()
        .filter(|c| !c.id.is_empty() && !placed.listed_before.contains(&c.id))
        .filter(|c| c.to.as_deref().map(digits).as_deref() == Some(number.as_str()))
        // A server that does not echo the task still names the number; the task, when echoed,
        // must agree.
        .filter(|c| c.task_description.as_deref().is_none_or(|t| t.trim() == task))
        .max_by(|a, b| a.created_at.cmp(&b.created_at))
}

fn digits(number: &str) -> String {
    number.chars().filter(char::is_ascii_digit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::calls::{NewCall, Submission};
    use crate::placing::journal::Phase;

    fn listed(id: &str, to: &str, task: Option<&str>) -> Call {
        Call { id: id.into(), to: Some(to.into()), task_description: task.map(str::to_string), ..Default::default() }
    }

    #[test]
    fn the_new_call_to_the_same_number_about_the_same_task() {
        let placed = PlacedCall {
            local_id: "l".into(),
            key: "k".into(),
            request: NewCall {
                submission: Submission {
                    respondent_phone: "+34911222333".into(),
                    task_description: "Move my appointment to Friday".into(),
                    ..Default::default()
                },
                ..Default::default()
            },
            placed_ms: 0,
            listed_before: vec!["before".into()],
            sends: 1,
            phase: Phase::Placing { call: None },
        };
        let before = listed("before", "+34911222333", Some("Move my appointment to Friday"));
        let other_task = listed("x", "+34911222333", Some("Ask about prices"));
        let other_number = listed("y", "+34911222334", Some("Move my appointment to Friday"));
        assert_eq!(find(&placed, &[before.clone(), other_task.clone(), other_number.clone()]), None);
        let this = listed("new", "+34 911 22 23 33", None);
        assert_eq!(find(&placed, &[before, other_task, other_number, this.clone()]), Some(&this));
    }
}
