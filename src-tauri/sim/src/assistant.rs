//! The deterministic, rule-based assistant behind `POST /v1/coordination/message`: it picks an
//! intent by keywords and plans a goal whose steps the ticker advances over simulated time.

use crate::pricing::*;
use crate::state::Step;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Intent {
    Booking,
    Call,
    Email,
    Search,
    Question,
}

impl Intent {
    pub fn as_str(self) -> &'static str {
        match self {
            Intent::Booking => "booking",
            Intent::Call => "call",
            Intent::Email => "email",
            Intent::Search => "search",
            Intent::Question => "question",
        }
    }
}

const BOOKING: &[&str] = &["book", "reserv", "table for", "appointment", "hotel", "schedule"];
const CALL: &[&str] = &["call", "phone", "ring ", "dial"];
const EMAIL: &[&str] = &["email", "e-mail", "mail ", "write to", "send a message"];
const SEARCH: &[&str] = &["search", "find", "look up", "looking for", "best ", "nearby", "recommend"];

/// Checked in this order, so "book a table by calling Nobu" is a booking, not a call.
pub fn classify(message: &str) -> Intent {
    let m = format!("{} ", message.to_lowercase());
    let has = |words: &[&str]| words.iter().any(|w| m.contains(w));
    if has(BOOKING) {
        Intent::Booking
    } else if has(CALL) {
        Intent::Call
    } else if has(EMAIL) {
        Intent::Email
    } else if has(SEARCH) {
        Intent::Search
    } else {
        Intent::Question
    }
}

pub fn step(
    description: &str,
    cost: f64,
    cost_kind: &'static str,
    duration_secs: i64,
    requires_approval: bool,
) -> Step {
    Step {
        description: description.into(),
        status: "pending",
        requires_approval,
        approved: false,
        cost,
        cost_kind,
        duration_secs,
    }
}

pub struct Plan {
    pub title: String,
    pub reply: String,
    pub steps: Vec<Step>,
    pub suggestions: Vec<&'static str>,
    pub actions_taken: Vec<&'static str>,
}

fn snippet(message: &str) -> String {
    let t: String = message.trim().chars().take(60).collect();
    if message.trim().chars().count() > 60 {
        format!("{t}…")
    } else {
        t
    }
}

pub fn plan(intent: Intent, message: &str) -> Plan {
    let s = snippet(message);
    let call_cost = CALL_BASE + 2.0 * CALL_PER_MINUTE;
    match intent {
        Intent::Booking => Plan {
            title: format!("Booking: {s}"),
            reply: format!("On it: I will find options for \"{s}\", and ask you before I phone to book."),
            steps: vec![
                step("Search for options", SEARCH_PER_QUERY, "search", 0, false),
                step("Call to make the booking", call_cost, "call", 30, true),
                step("Confirm the booking", BOOKING_PER_BOOKING, "booking", 20, false),
            ],
            suggestions: vec!["Call top option", "Send confirmation email"],
            actions_taken: vec!["goal_created", "search_started"],
        },
        Intent::Call => Plan {
            title: format!("Call: {s}"),
            reply: format!("I'll make that call for you: \"{s}\". I'll report back with the result."),
            steps: vec![
                step("Prepare what to say", 0.0, "call", 10, false),
                step("Place the call", call_cost, "call", 40, false),
                step("Summarise the result", 0.0, "call", 10, false),
            ],
            suggestions: vec!["Show the transcript", "Call again tomorrow"],
            actions_taken: vec!["goal_created", "call_initiated"],
        },
        Intent::Email => Plan {
            title: format!("Email: {s}"),
            reply: format!("I drafted an email for \"{s}\". Approve the step and I will send it."),
            steps: vec![
                step("Draft the email", 0.0, "email_send", 10, false),
                step("Send the email", EMAIL_PER_EMAIL, "email_send", 5, true),
            ],
            suggestions: vec!["Show me the draft", "Make it shorter"],
            actions_taken: vec!["goal_created", "email_drafted"],
        },
        Intent::Search => Plan {
            title: format!("Search: {s}"),
            reply: format!("Searching for \"{s}\". I'll rank the best results for you."),
            steps: vec![
                step("Search the sources", SEARCH_PER_QUERY, "search", 0, false),
                step("Rank the results", 0.0, "search", 15, false),
            ],
            suggestions: vec!["Call the top result", "Show more results"],
            actions_taken: vec!["goal_created", "search_started"],
        },
        Intent::Question => Plan {
            title: String::new(),
            reply: answer(message),
            steps: Vec::new(),
            suggestions: vec!["Book something", "Make a call for me"],
            actions_taken: Vec::new(),
        },
    }
}

fn answer(message: &str) -> String {
    let m = message.to_lowercase();
    if m.contains("credit") || m.contains("balance") {
        "Your credit balance is shown in the Credits window; each call costs 1 credit plus 0.5 per minute.".into()
    } else if m.contains("hello") || m.contains("hi ") || m.trim() == "hi" {
        "Hello! I can book tables, make calls, send emails and search for you.".into()
    } else if m.contains("what can you do") || m.contains("help") {
        "I can make phone calls, book restaurants and appointments, draft and send emails, and search for services."
            .into()
    } else {
        "Good question. I can look into it: ask me to search, call, email or book something and I will track it as a goal.".into()
    }
}

/// The reply to the answer of a goal's question: the option the answer names ("Thursday or
/// Friday?" answered "Friday, please" gives "Friday it is"), then what the goal does next.
pub fn reply_to_answer(question: &str, answer: &str, next_step: Option<&str>) -> String {
    let lead = match chosen_option(question, answer) {
        Some(option) => format!("{option} it is"),
        None => format!("Noted (\"{}\")", snippet(answer)),
    };
    match next_step {
        Some(step) => format!("{lead}: I will {} and tell you once it is done.", lower_first(step)),
        None => format!("{lead}. Thank you, I will carry on with the goal."),
    }
}

/// The one option of the question's "A, B or C?" tail that the answer names; none when it
/// names none or several.
fn chosen_option(question: &str, answer: &str) -> Option<String> {
    let tail = question.rsplit(':').next().unwrap_or(question).trim().trim_end_matches('?');
    let answer = answer.to_lowercase();
    let named: Vec<&str> = tail
        .split(',')
        .flat_map(|part| part.split(" or "))
        .map(|o| o.trim().trim_start_matches("or ").trim())
        .filter(|o| !o.is_empty() && answer.contains(&o.to_lowercase()))
        .collect();
    match named.as_slice() {
        [one] => Some(one.to_string()),
        _ => None,
    }
}

fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intents_by_keyword() {
        assert_eq!(classify("Book a table for four at Nobu"), Intent::Booking);
        assert_eq!(classify("Call the plumber"), Intent::Call);
        assert_eq!(classify("Email my landlord"), Intent::Email);
        assert_eq!(classify("Find a good dentist nearby"), Intent::Search);
        assert_eq!(classify("What is the weather like?"), Intent::Question);
    }

    #[test]
    fn an_answer_names_one_option_of_the_question() {
        let q = "Which evening suits you for dinner with the Garcías: Thursday or Friday?";
        let next = Some("Book a table for four at 20:00 at Casa Lucio");
        assert_eq!(
            reply_to_answer(q, "Friday, please", next),
            "Friday it is: I will book a table for four at 20:00 at Casa Lucio and tell you once it is done."
        );
        assert!(reply_to_answer(q, "thursday works", None).starts_with("Thursday it is."));
        assert!(reply_to_answer(q, "Either, Thursday or Friday", next).starts_with("Noted (\"Either"));
        assert!(reply_to_answer(q, "Saturday?", next).starts_with("Noted (\"Saturday?\"): I will book"));
    }
}
