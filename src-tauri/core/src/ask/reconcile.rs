//! Reading a conversation back to learn whether an ask whose answer was lost reached KallyAI.
//!
//! Production does not promise to recognise a repeated `Idempotency-Key`, so an ask whose
//! outcome is unknown (a timeout, a dropped connection, a 5xx, the app stopped mid-send) is never
//! simply sent again: its conversation is read back first (`GET /v1/coordination/history`).
//! The ask arrived when its text is there after the [`HistoryMark`] taken before it was sent; it
//! may go again (same key) only when the reads clearly show it is not there; anything else is
//! left to the user ("may have been sent"). The reads are bounded: [`READS`] with backoff.
//!
//! Assumes what the sim serves (the shape is undocumented): messages oldest first, the newest
//! page when there are more, each `{id, role: user|assistant, content}`.

use std::time::Duration;

use super::mark::HistoryMark;
use super::store::OutboxEntry;
use crate::api::coordination::{History, HistoryMessage};
use crate::client::Client;
use crate::error::Retry;
use crate::reply::AskReply;

/// Messages asked for per read: what the app shows of a conversation, and a page size a server
/// serving the reference's `limit` surely accepts. The mark's message id makes the page size
/// irrelevant unless this many messages arrive between the mark and the read.
pub(crate) const HISTORY_LIMIT: u32 = 50;
/// Reads of one conversation before an ask's fate is declared unknowable.
pub(crate) const READS: u32 = 4;
/// "Not there" is believed only when this many reads, spaced by a backoff, agree: a server whose
/// gateway gave up (504) may still be running the ask and store it a moment later.
const ABSENT_READS_NEEDED: u32 = 2;

impl HistoryMark {
    /// The mark of `history` (read with [`HISTORY_LIMIT`]) for an ask of `text`.
    pub(crate) fn of(history: &History, text: &str) -> Self {
        Self {
            last_message_id: history.messages.last().and_then(|m| m.id.clone()).filter(|id| !id.is_empty()),
            same_text: history.messages.iter().filter(|m| is_ask_of(m, text)).count() as u32,
            complete: is_complete(history),
        }
    }
}

/// What one read says about an ask.
#[derive(Debug, PartialEq)]
pub(crate) enum Verdict {
    /// The ask is in the conversation; `answer` is the assistant message after it, if stored yet.
    Arrived { answer: Option<String>, goal_id: Option<String> },
    /// Everything since the mark is in view and the ask is not in it.
    Absent,
    /// This read cannot tell (the mark left the page, or no mark and the words were asked before).
    Undecidable,
}

/// Judges one read of the ask's conversation. `mark` is `None` when no read before the send
/// succeeded; then only "not there at all" is conclusive.
pub(crate) fn judge(mark: Option<&HistoryMark>, history: &History, text: &str) -> Verdict {
    let messages = &history.messages;
    let complete = is_complete(history);
    match mark {
        Some(HistoryMark { last_message_id: Some(anchor), .. }) => {
            match messages.iter().position(|m| m.id.as_deref() == Some(anchor.as_str())) {
                Some(at) => first_ask_from(messages, at + 1, text),
                None => Verdict::Undecidable,
            }
        }
        Some(mark) if mark.complete && complete => {
            // The (same_text + 1)-th ask with this text is the first one since the mark.
            match messages.iter().enumerate().filter(|(_, m)| is_ask_of(m, text)).nth(mark.same_text as usize) {
                Some((at, _)) => first_ask_from(messages, at, text),
                None => Verdict::Absent,
            }
        }
        None if complete && !messages.iter().any(|m| is_ask_of(m, text)) => Verdict::Absent,
        _ => Verdict::Undecidable,
    }
}

/// How a bounded reconciliation ended.
#[derive(Debug, PartialEq)]
pub(crate) enum Found {
    /// The ask reached KallyAI: this is its answer as far as the conversation shows it.
    Arrived(AskReply),
    /// The reads agree that it did not: it may be sent again (same key).
    Absent,
    /// Nobody can tell: the user decides.
    Unknown,
}

/// Reads the ask's conversation back at most [`READS`] times, sleeping `wait(n)` before read n
/// (1-based). Only reads: safe to cancel at any await.
pub(crate) async fn find(client: &Client, entry: &OutboxEntry, wait: impl Fn(u32) -> Duration) -> Found {
    let Some(conversation_id) = entry.conversation_id.as_deref() else {
        return Found::Unknown;
    };
    let mut absent = 0;
    let mut arrived_unanswered: Option<Option<String>> = None;
    for read in 1..=READS {
        tokio::time::sleep(wait(read)).await;
        let history = match client.coordination().history(Some(conversation_id), Some(HISTORY_LIMIT)).await {
            Ok(history) => history,
            // Gone, forbidden, unreadable: waiting will not change the answer.
            Err(err) if err.when_to_retry() == Retry::Never => {
                tracing::debug!(code = err.code(), "conversation cannot be read back");
                return Found::Unknown;
            }
            Err(err) => {
                tracing::debug!(code = err.code(), read, "conversation not read back; trying again");
                continue;
            }
        };
        match judge(entry.mark.as_ref(), &history, &entry.text) {
            Verdict::Arrived { answer: Some(answer), goal_id } => {
                return Found::Arrived(recovered(conversation_id, answer, goal_id));
            }
            // The server has the ask but not its answer yet: look again for the answer.
            Verdict::Arrived { answer: None, goal_id } => arrived_unanswered = Some(goal_id),
            Verdict::Absent if arrived_unanswered.is_none() => {
                absent += 1;
                if absent >= ABSENT_READS_NEEDED {
                    return Found::Absent;
                }
            }
            Verdict::Absent => {}
            Verdict::Undecidable => return Found::Unknown,
        }
    }
    match arrived_unanswered {
        Some(goal_id) => Found::Arrived(recovered(conversation_id, String::new(), goal_id)),
        None => Found::Unknown,
    }
}

/// The reply as the conversation shows it (no credits or suggestions: history has none). An
/// empty `text` means the answer was not stored yet; the box says to look in the conversation.
fn recovered(conversation_id: &str, text: String, goal_id: Option<String>) -> AskReply {
    AskReply {
        conversation_id: Some(conversation_id.to_string()),
        goal_id: goal_id.filter(|g| !g.is_empty()),
        ..AskReply::with_text(text)
    }
}

/// The first ask of `text` at or after `from`, with the answer that follows it.
fn first_ask_from(messages: &[HistoryMessage], from: usize, text: &str) -> Verdict {
    let Some(offset) = messages.get(from..).and_then(|rest| rest.iter().position(|m| is_ask_of(m, text))) else {
        return Verdict::Absent;
    };
    let at = from + offset;
    let answer = messages.get(at + 1).filter(|m| !is_user(m));
    Verdict::Arrived {
        answer: answer.map(|m| m.content.clone()).filter(|c| !c.trim().is_empty()),
        goal_id: messages[at].goal_id.clone().or_else(|| answer.and_then(|m| m.goal_id.clone())),
    }
}

fn is_user(m: &HistoryMessage) -> bool {
    m.role.eq_ignore_ascii_case("user") || m.role.eq_ignore_ascii_case("human")
}

/// A user message with this text (servers may trim what they store).
fn is_ask_of(m: &HistoryMessage, text: &str) -> bool {
    is_user(m) && m.content.trim() == text.trim()
}

/// Fewer messages than asked for: the read holds the whole conversation.
fn is_complete(history: &History) -> bool {
    history.messages.len() < HISTORY_LIMIT as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(id: Option<&str>, role: &str, content: &str) -> HistoryMessage {
        HistoryMessage {
            id: id.map(str::to_string),
            role: role.into(),
            content: content.into(),
            goal_id: (role == "user" && content.starts_with("Book")).then(|| "g1".to_string()),
            ..Default::default()
        }
    }

    fn history(messages: Vec<HistoryMessage>) -> History {
        History { conversation_id: Some("c1".into()), messages }
    }

    const ASK: &str = "Book a table";

    #[test]
    fn an_ask_after_the_mark_arrived_even_when_the_same_words_came_before() {
        let before = history(vec![msg(Some("1"), "user", ASK), msg(Some("2"), "assistant", "Booked.")]);
        let mark = HistoryMark::of(&before, "  Book a table ");
        assert_eq!(mark, HistoryMark { last_message_id: Some("2".into()), same_text: 1, complete: true });
        assert_eq!(judge(Some(&mark), &before, ASK), Verdict::Absent);

        let mut after = before.messages.clone();
        after.extend([msg(Some("3"), "user", ASK), msg(Some("4"), "assistant", "Booked again.")]);
        assert_eq!(
            judge(Some(&mark), &history(after.clone()), ASK),
            Verdict::Arrived { answer: Some("Booked again.".into()), goal_id: Some("g1".into()) }
        );
        // Asked, not answered yet.
        after.pop();
        assert_eq!(
            judge(Some(&mark), &history(after), ASK),
            Verdict::Arrived { answer: None, goal_id: Some("g1".into()) }
        );
    }

    #[test]
    fn a_mark_that_left_the_page_decides_nothing() {
        let mark = HistoryMark { last_message_id: Some("gone".into()), same_text: 0, complete: false };
        let read = history(vec![msg(Some("9"), "user", "Something else")]);
        assert_eq!(judge(Some(&mark), &read, ASK), Verdict::Undecidable);
    }

    #[test]
    fn without_ids_the_count_decides_only_on_whole_conversations() {
        let before = history(vec![msg(None, "user", ASK), msg(None, "assistant", "Booked.")]);
        let mark = HistoryMark::of(&before, ASK);
        assert_eq!((mark.last_message_id.as_deref(), mark.same_text, mark.complete), (None, 1, true));
        assert_eq!(judge(Some(&mark), &before, ASK), Verdict::Absent);
        let mut after = before.messages.clone();
        after.extend([msg(None, "user", ASK), msg(None, "assistant", "Again.")]);
        assert_eq!(
            judge(Some(&mark), &history(after), ASK),
            Verdict::Arrived { answer: Some("Again.".into()), goal_id: Some("g1".into()) }
        );
        // A full page may hide older messages: the count cannot be trusted.
        let full: Vec<_> = (0..HISTORY_LIMIT).map(|_| msg(None, "assistant", "x")).collect();
        assert_eq!(judge(Some(&mark), &history(full), ASK), Verdict::Undecidable);
    }

    #[test]
    fn a_fresh_conversation_counts_from_its_start() {
        let mark = HistoryMark::empty();
        assert_eq!(judge(Some(&mark), &history(vec![]), ASK), Verdict::Absent);
        let read = history(vec![msg(Some("1"), "user", ASK), msg(Some("2"), "assistant", "On it.")]);
        assert_eq!(
            judge(Some(&mark), &read, ASK),
            Verdict::Arrived { answer: Some("On it.".into()), goal_id: Some("g1".into()) }
        );
    }

    #[test]
    fn with_no_mark_only_absence_from_a_whole_conversation_is_conclusive() {
        let other = history(vec![msg(Some("1"), "user", "Other"), msg(Some("2"), "assistant", "Ok")]);
        assert_eq!(judge(None, &other, ASK), Verdict::Absent);
        let there = history(vec![msg(Some("1"), "user", ASK), msg(Some("2"), "assistant", "Ok")]);
        assert_eq!(judge(None, &there, ASK), Verdict::Undecidable);
    }

    #[test]
    fn the_answer_is_the_message_right_after_the_ask() {
        let mark = HistoryMark::empty();
        let read = history(vec![msg(Some("1"), "user", ASK), msg(Some("2"), "user", "And tomorrow?")]);
        assert_eq!(judge(Some(&mark), &read, ASK), Verdict::Arrived { answer: None, goal_id: Some("g1".into()) });
    }
}
