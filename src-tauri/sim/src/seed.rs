//! The demo seed: Alex Demo on the Pro plan with history in every area the desktop app shows.

use serde_json::json;
use uuid::Uuid;

use crate::assistant::step;
use crate::clock::Millis;
use crate::pricing::*;
use crate::state::*;

fn foreign(id: &str) -> Uuid {
    Uuid::parse_str(id).unwrap_or_default()
}

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;

fn lines(script: &[(&str, &str)], gap: i64) -> Vec<TranscriptLine> {
    script
        .iter()
        .enumerate()
        .map(|(i, (s, c))| TranscriptLine {
            speaker: s.to_string(),
            content: c.to_string(),
            offset_secs: i as i64 * gap,
        })
        .collect()
}

pub fn demo(s: &mut State, now: Millis) {
    s.credits.plan_type = "pro".into();
    s.credits.allocated = 600.0;
    s.credits.remaining = 458.0;
    for (i, (kind, desc, credits)) in [
        ("call", "Call to Nobu Madrid", 42.0),
        ("call", "Call to Clínica Dental Sol", 35.5),
        ("search", "Search: plumbers open on Saturday", 30.0),
        ("booking", "Booking at Nobu Madrid", 18.0),
        ("email_send", "Email to the landlord", 16.5),
    ]
    .into_iter()
    .enumerate()
    {
        s.credit_history.push(CreditEntry {
            id: Uuid::new_v4(),
            kind: kind.into(),
            description: desc.into(),
            credits,
            at: now - (5 - i as i64) * DAY,
            goal_id: None,
        });
    }

    seed_calls(s, now);
    seed_goals(s, now);
    seed_inbound(s, now);

    seed_outbox(s, now);
    seed_inbox(s, now);
    seed_action_log(s, now);
}

/// One draft waits for approval: a follow-up to the landlord (the first email went out two days
/// ago, see the completed goal and the action log).
fn seed_outbox(s: &mut State, now: Millis) {
    s.emails.push(PendingEmail {
        id: Uuid::new_v4(),
        to: "ana.moreno@fincasmoreno.example".into(),
        cc: None,
        subject: "The heater in flat 3B is still not working".into(),
        body: "Dear Ana,\n\n\
I wrote to you two days ago about the heater in flat 3B. It is still not working, and the flat \
gets very cold at night.\n\n\
Could you send someone to look at it this week? I am at home on weekday afternoons from 15:00, \
or I can leave a key with the concierge.\n\n\
Thank you,\nAlex"
            .into(),
        status: "pending_approval".into(),
        created_at: now - 2 * HOUR,
    });
}

/// Three unread messages. The clinic's SMS answers the user's own earlier SMS in its thread;
/// the other two are threads of one message each.
fn seed_inbox(s: &mut State, now: Millis) {
    let received = |thread: Uuid, from: &str, subject: &str, channel: &str, body: &str, ago: i64| InboxMessage {
        id: Uuid::new_v4(),
        conversation_id: thread,
        outgoing: false,
        from: from.into(),
        to: None,
        subject: subject.into(),
        channel: channel.into(),
        preview: preview(body),
        body: body.into(),
        unread: true,
        received_at: now - ago,
    };
    s.inbox.push(received(
        Uuid::new_v4(),
        "Clínica Dental Sol",
        "Appointment confirmed",
        "email",
        "Dear Alex,\n\n\
Your appointment on Thursday is confirmed: a dental cleaning with Dr. Ruiz on Thursday 11 December \
at 10:00, Calle de Velázquez 27, 2º.\n\n\
Please arrive five minutes early. If you need to change the time, reply to this email or call us \
on 912 345 678.\n\n\
Clínica Dental Sol",
        3 * HOUR,
    ));
    let clinic_thread = Uuid::new_v4();
    let asked = "Hola, this is Alex Demo. Could you move my cleaning on Thursday 11 Dec to a Friday afternoon? Thanks!";
    s.inbox.push(InboxMessage {
        id: Uuid::new_v4(),
        conversation_id: clinic_thread,
        outgoing: true,
        from: "You".into(),
        to: Some("Clínica Dental Sol".into()),
        subject: String::new(),
        channel: "sms".into(),
        preview: preview(asked),
        body: asked.into(),
        unread: false,
        received_at: now - 26 * HOUR,
    });
    s.inbox.push(received(
        Uuid::new_v4(),
        "+34911222333",
        "",
        "sms",
        "Running 10 minutes late, sorry! Grab us a table by the window if you get there first.",
        40 * MIN,
    ));
    s.inbox.push(received(
        clinic_thread,
        "Clínica Dental Sol",
        "",
        "sms",
        "Hola Alex, we can move your cleaning to Friday 12 Dec at 17:30. Reply YES to confirm or call 912 345 678.",
        25 * MIN,
    ));
}

/// The first line of a body, at most 80 characters.
pub(crate) fn preview(body: &str) -> String {
    let first = body.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
    if first.chars().count() > 80 {
        format!("{}…", first.chars().take(79).collect::<String>())
    } else {
        first.to_string()
    }
}

fn seed_action_log(s: &mut State, now: Millis) {
    for (kind, description, undoable, ago) in [
        ("ride", "Ride from Calle de Alcalá 42 to Madrid-Barajas T4, picked up at 07:15", false, 4 * DAY),
        ("booking", "Booked a table for four at Nobu Madrid at 20:00, under Alex Demo", true, 3 * DAY),
        ("email", "Sent the email to the landlord about the heater", false, 2 * DAY),
        ("calendar", "Added 'Dentist — cleaning' to your calendar for Fri 12 Dec 17:30", true, 20 * MIN),
    ] {
        s.log_action(kind, description, undoable, now - ago);
    }
}

fn seed_calls(s: &mut State, now: Millis) {
    let nobu = [
        ("HUMAN", "Nobu Madrid, good evening, Daniel speaking."),
        ("AI", "Good evening, Daniel. I'm calling on behalf of Alex Demo to book a table for four tonight at 20:00."),
        ("HUMAN", "Let me check... Yes, I have a table for four at 20:00 in the main room. Under which name?"),
        ("AI", "Alex Demo, please. And if possible, a table away from the door."),
        ("HUMAN", "Of course, I've noted it. We hold tables for fifteen minutes, so please arrive by 20:15."),
        ("AI", "Perfect, arriving by 20:15. Thank you, Daniel. Goodbye!"),
    ];
    let dentist = [
        ("HUMAN", "Clínica Dental Sol, buenos días, le atiende Lucía."),
        ("AI", "Buenos días, Lucía. Llamo de parte de Alex Demo: tiene una limpieza el jueves 11 a las 10:00 y querría pasarla al viernes."),
        ("HUMAN", "El viernes por la mañana lo tenemos completo. Por la tarde quizá se libere algo."),
        ("AI", "¿Podrían avisarle por SMS si se abre un hueco el viernes por la tarde?"),
        ("HUMAN", "Sí, claro. Mientras tanto le mantengo la cita del jueves."),
        ("AI", "Perfecto. Muchas gracias, Lucía. Hasta luego."),
    ];
    for (owner, ago, phone, business, lang, desc, status, dur, highlights, next, script) in [
        (
            DEMO_USER,
            3 * DAY,
            "+34915550101",
            "Nobu Madrid",
            "en",
            "Book a table for four tonight at 20:00",
            "success",
            94.0,
            "Table for four booked at 20:00 under Alex Demo, away from the door.",
            "Arrive by 20:15: the table is held for fifteen minutes.",
            &nobu[..],
        ),
        (
            DEMO_USER,
            2 * DAY,
            "+34915550102",
            "Clínica Dental Sol",
            "es",
            "Move Thursday's dental cleaning to Friday",
            "success",
            71.5,
            "Friday morning is full; the clinic will text if a Friday afternoon slot opens. Thursday's cleaning stays booked meanwhile.",
            "Wait for the clinic's SMS, then confirm the new time.",
            &dentist[..],
        ),
        (
            DEMO_USER,
            DAY,
            "+34915550000",
            "Fontanería Rápida",
            "es",
            "Ask whether a plumber can come on Saturday",
            "no_answer",
            0.0,
            "Nobody answered.",
            "Try again later.",
            &[][..],
        ),
        (
            OTHER_USER,
            DAY,
            "+34915550199",
            "Someone else's call",
            "en",
            "A call that belongs to another user",
            "success",
            30.0,
            "Not yours.",
            "",
            &[][..],
        ),
    ] {
        let created = now - ago;
        s.calls.push(OutboundCall {
            id: if owner == OTHER_USER { foreign(crate::foreign_ids::CALL) } else { Uuid::new_v4() },
            owner,
            status: status.into(),
            submission: json!({"task_category": "general", "task_description": desc, "respondent_phone": phone,
                               "business_name": business, "language": "en", "call_language": lang}),
            timezone: "Europe/Madrid".into(),
            created_at: created,
            ended_at: created + (dur as i64) * 1000,
            duration_seconds: dur,
            credits_used: if dur > 0.0 { CALL_BASE + (dur / 60.0).ceil() * CALL_PER_MINUTE } else { 0.0 },
            highlights: highlights.into(),
            next_steps: next.into(),
            transcript: lines(script, 12),
        });
    }
}

fn seed_goals(s: &mut State, now: Millis) {
    let conv = Uuid::new_v4();
    s.conversations.push(Conversation {
        id: conv,
        owner: DEMO_USER,
        title: "Dinner at Nobu".into(),
        created_at: now - HOUR,
        updated_at: now - HOUR,
        messages: Vec::new(),
    });
    let call_cost = CALL_BASE + 2.0 * CALL_PER_MINUTE;
    let mut goal = |title: &str,
                    intent: &'static str,
                    status: &'static str,
                    steps: Vec<Step>,
                    current: usize,
                    ago: i64,
                    owner: Uuid| {
        let mut steps = steps;
        for (i, st) in steps.iter_mut().enumerate() {
            st.status = if i < current { "completed" } else { "pending" };
        }
        let used: f64 = steps.iter().take(current).map(|x| x.cost).sum();
        let est: f64 = steps.iter().map(|x| x.cost).sum();
        // What each finished step charged, a few minutes apart: the goal's cost breakdown.
        let cost_items: Vec<(String, f64, Millis)> = steps
            .iter()
            .take(current)
            .enumerate()
            .filter(|(_, x)| x.cost > 0.0)
            .map(|(i, x)| (x.cost_kind.to_string(), round2(x.cost), now - ago + (i as i64 + 1) * 3 * MIN))
            .collect();
        let id = if owner == OTHER_USER { foreign(crate::foreign_ids::GOAL) } else { Uuid::new_v4() };
        s.goals.push(Goal {
            id,
            owner,
            conversation_id: if intent == "booking" { Some(conv) } else { None },
            parent_goal_id: None,
            title: title.into(),
            description: title.into(),
            intent,
            status,
            created_at: now - ago,
            updated_at: now - ago / 2,
            credits_used: used,
            credits_estimated: est,
            steps,
            current,
            step_started_at: now,
            awaiting: Awaiting::Nothing,
            escalated: false,
            outcome: None,
            question: None,
            cost_items,
        });
        id
    };
    let booking = goal(
        "Book dinner at Nobu for four on Friday",
        "booking",
        "needs_input",
        vec![
            step("Search for options", SEARCH_PER_QUERY, "search", 0, false),
            step("Call Nobu to book a table for 4 at 20:00", call_cost, "call", 30, true),
            step("Confirm the booking", BOOKING_PER_BOOKING, "booking", 20, false),
        ],
        1,
        HOUR,
        DEMO_USER,
    );
    goal(
        "Find a plumber who can come on Saturday",
        "search",
        "active",
        vec![
            step("Search the sources", SEARCH_PER_QUERY, "search", 0, false),
            step("Phone the three best-rated plumbers", call_cost, "call", 600, false),
        ],
        1,
        30 * MIN,
        DEMO_USER,
    );
    goal(
        "Email the landlord about the heater",
        "email",
        "completed",
        vec![
            step("Draft the email", 0.0, "email_send", 10, false),
            step("Send the email", EMAIL_PER_EMAIL, "email_send", 5, false),
        ],
        2,
        2 * DAY,
        DEMO_USER,
    );
    goal(
        "Cancel the gym membership",
        "call",
        "cancelled",
        vec![step("Place the call", call_cost, "call", 40, false)],
        0,
        4 * DAY,
        DEMO_USER,
    );
    goal(
        "Renew passport appointment",
        "booking",
        "archived",
        vec![step("Confirm the booking", BOOKING_PER_BOOKING, "booking", 20, false)],
        1,
        9 * DAY,
        DEMO_USER,
    );
    // Older than the Nobu goal, so that one stays first among the goals that wait.
    let dinner = goal(
        "Dinner with the Garcías",
        "booking",
        "needs_input",
        vec![
            step("Find a restaurant with a table for four", SEARCH_PER_QUERY, "search", 0, false),
            step("Ask you which evening suits", 0.0, "booking", 0, false),
            step("Book a table for four at 20:00 at Casa Lucio", call_cost, "call", 40, false),
        ],
        1,
        4 * HOUR,
        DEMO_USER,
    );
    goal(
        "Someone else's goal",
        "search",
        "active",
        vec![step("Search", SEARCH_PER_QUERY, "search", 600, false)],
        0,
        HOUR,
        OTHER_USER,
    );

    // The booking goal waits at its approval step.
    if let Some(g) = s.goals.iter_mut().find(|g| g.id == booking) {
        g.awaiting = Awaiting::StepApproval;
        g.steps[1].status = "awaiting_approval";
    }
    if let Some(g) = s.goals.iter_mut().find(|g| g.status == "active" && g.owner == DEMO_USER) {
        g.steps[1].status = "in_progress";
    }
    seed_dinner_question(s, dinner, now);
    let c = &mut s.conversations[0];
    for (role, content, ago) in [
        ("user", "Book dinner at Nobu for four on Friday", HOUR),
        ("assistant", "On it: I found a table at 20:00. Shall I phone Nobu to book it?", HOUR - MIN),
    ] {
        c.messages.push(ChatMessage {
            id: Uuid::new_v4(),
            role,
            content: content.into(),
            at: now - ago,
            goal_id: Some(booking),
        });
    }
}

/// The dinner goal asked which evening suits; its conversation ends with that question, and a
/// message in it answers (see `routes::coordination`).
fn seed_dinner_question(s: &mut State, dinner: Uuid, now: Millis) {
    let question = "Which evening suits you for dinner with the Garcías: Thursday or Friday?";
    let conv = Uuid::new_v4();
    let Some(g) = s.goals.iter_mut().find(|g| g.id == dinner) else { return };
    g.conversation_id = Some(conv);
    g.description = "Organise dinner for four with the Garcías next week, somewhere quiet in the centre".into();
    g.awaiting = Awaiting::Question;
    g.question = Some(question.into());
    g.steps[1].status = "awaiting_input";
    let asked_at = g.updated_at;
    let mut messages = Vec::new();
    for (role, content, at) in [
        ("user", "Organise dinner for four with the Garcías next week, somewhere quiet in the centre", now - 4 * HOUR),
        (
            "assistant",
            "Casa Lucio has a quiet table for four at 20:00 on Thursday and on Friday next week.",
            asked_at - MIN,
        ),
        ("assistant", question, asked_at),
    ] {
        messages.push(ChatMessage { id: Uuid::new_v4(), role, content: content.into(), at, goal_id: Some(dinner) });
    }
    s.conversations.push(Conversation {
        id: conv,
        owner: DEMO_USER,
        title: "Dinner with the Garcías".into(),
        created_at: now - 4 * HOUR,
        updated_at: asked_at,
        messages,
    });
}

/// Alex's inbound history: Dr. Smith's office moving a check-up (English, VIP), a missed call,
/// and an energy company's sales call that Alex rejected while the assistant screened it
/// (Spanish). Each summary and action item is in the call's language (see `demo_calls`).
fn seed_inbound(s: &mut State, now: Millis) {
    use crate::demo_calls::{CLINIC, SALES};
    let someone = crate::inbound_calls::default_script("Someone");
    for (owner, name, number, vip, status, ago, dur, summary, script, items) in [
        (
            DEMO_USER,
            CLINIC.caller_name,
            CLINIC.caller_number,
            CLINIC.is_vip,
            "completed",
            5 * HOUR,
            95,
            CLINIC.summary,
            CLINIC.script_lines(),
            CLINIC.action_items,
        ),
        (
            DEMO_USER,
            "",
            "+34600111222",
            false,
            "missed",
            26 * HOUR,
            0,
            "Missed call, no message left.",
            Vec::new(),
            &[][..],
        ),
        (
            DEMO_USER,
            SALES.caller_name,
            SALES.caller_number,
            SALES.is_vip,
            "rejected",
            2 * DAY,
            38,
            SALES.summary,
            SALES.script_lines(),
            SALES.action_items,
        ),
        (OTHER_USER, "Someone", "+34600999888", false, "completed", DAY, 30, "Not yours.", someone, &[][..]),
    ] {
        let shown = script.len();
        // The lines spread over the call, so the last one starts before it ended.
        let line_interval_ms = if shown > 0 { (dur * 1000 / shown as i64).max(1) } else { 15_000 };
        s.inbound.push(InboundCall {
            id: if owner == OTHER_USER { foreign(crate::foreign_ids::INBOUND_CALL) } else { Uuid::new_v4() },
            owner,
            caller_number: number.into(),
            caller_name: name.into(),
            is_vip: vip,
            status: status.into(),
            created_at: now - ago,
            ended_at: Some(now - ago + dur * 1000),
            summary: summary.into(),
            action_items: items.iter().map(|d| json!({"description": d, "status": "pending"})).collect(),
            phone_number_id: Uuid::from_u128(0x9a8b_7c6d_5e4f_4a3b_8c1d_0e9f_8a7b_6c5d),
            script,
            shown,
            line_interval_ms,
            reason: if status == "rejected" { Some("user_rejected".into()) } else { None },
            transfer_target: None,
        });
    }
}
