//! Inbound calls that sound like real ones: the demo seed's history and
//! `kallyai-sim ctl ring --script NAME`. Alex's assistant (speaker `AI`) screens each call for
//! Alex Demo; the caller is `HUMAN`. A call's summary and action items are in its language.

/// One ready-made inbound call: who rings, what is said, and what the assistant makes of it.
#[derive(Debug)]
pub struct DemoCall {
    /// The name `ctl ring --script` takes.
    pub key: &'static str,
    pub caller_name: &'static str,
    pub caller_number: &'static str,
    pub is_vip: bool,
    /// The language of the call, its summary and its action items (`en`, `es`).
    pub language: &'static str,
    /// `(speaker, content)` a line, `AI` first.
    pub script: &'static [(&'static str, &'static str)],
    pub summary: &'static str,
    pub action_items: &'static [&'static str],
}

impl DemoCall {
    /// The script as the sim keeps it.
    pub fn script_lines(&self) -> Vec<(String, String)> {
        self.script.iter().map(|(s, c)| (s.to_string(), c.to_string())).collect()
    }
}

const GREETING_EN: &str = "Hello, you've reached Alex's assistant. How can I help?";
const GREETING_ES: &str = "Hola, ha llamado al asistente de Alex. ¿En qué puedo ayudarle?";

/// Dr. Smith's office moves Thursday's check-up (English, VIP).
pub const CLINIC: DemoCall = DemoCall {
    key: "clinic",
    caller_name: "Dr. Smith",
    caller_number: "+34911222333",
    is_vip: true,
    language: "en",
    script: &[
        ("AI", GREETING_EN),
        ("HUMAN", "Hi, this is Megan from Dr. Smith's office. I'm calling about Alex's check-up on Thursday at four."),
        ("AI", "Thanks, Megan. I have it here: Thursday at 16:00 with Dr. Smith. Is something wrong?"),
        (
            "HUMAN",
            "Dr. Smith has been called into surgery that afternoon, so we need to move it. \
I can offer Friday at 9:30, or Monday at noon.",
        ),
        ("AI", "Friday at 9:30 is free in Alex's calendar. Could you hold it while I check with Alex?"),
        ("HUMAN", "Sure, I'll hold it until the end of the day. Alex can just reply to our reminder email."),
        ("AI", "Perfect, I'll pass that on right away. Should Alex bring anything?"),
        ("HUMAN", "Just last month's blood test results. Thanks so much, bye!"),
    ],
    summary: "Dr. Smith's office needs to move Thursday's 16:00 check-up: Dr. Smith is in surgery that \
afternoon. Friday at 9:30 is held for you until the end of the day; reply to their reminder email to confirm.",
    action_items: &[
        "Confirm Friday 9:30 with Dr. Smith's office by replying to their email",
        "Bring last month's blood test results",
    ],
};

/// A SEUR courier at the door asks whether to leave the parcel with the concierge (Spanish).
pub const COURIER: DemoCall = DemoCall {
    key: "courier",
    caller_name: "Repartidor de SEUR",
    caller_number: "+34622418305",
    is_vip: false,
    language: "es",
    script: &[
        ("AI", GREETING_ES),
        (
            "HUMAN",
            "Hola, buenas. Soy Javier, de SEUR. Estoy en el portal con un paquete para Alex Demo \
y nadie contesta al telefonillo.",
        ),
        ("AI", "Alex no está en casa ahora mismo. ¿Hace falta firmar la entrega?"),
        ("HUMAN", "No, no hace falta firma. Es una caja pequeña. ¿Se la dejo al conserje?"),
        ("AI", "Sí, por favor. Alex prefiere que los paquetes se queden en conserjería."),
        ("HUMAN", "Perfecto, se la dejo a Manuel, el conserje. Enseguida le llega el SMS de entrega."),
        ("AI", "Muchas gracias, Javier. Que tenga buen día."),
        ("HUMAN", "Igualmente. ¡Hasta luego!"),
    ],
    summary: "Javier, de SEUR, traía una caja pequeña para ti y nadie contestaba al telefonillo. No hacía \
falta firmar: la ha dejado en conserjería con Manuel y te llegará el SMS de entrega.",
    action_items: &["Recoger el paquete de SEUR en conserjería"],
};

/// A restaurant confirms tonight's table for four and asks about allergies (English).
pub const RESTAURANT: DemoCall = DemoCall {
    key: "restaurant",
    caller_name: "Bistró Verde",
    caller_number: "+34913104455",
    is_vip: false,
    language: "en",
    script: &[
        ("AI", GREETING_EN),
        (
            "HUMAN",
            "Good afternoon! This is Marta from Bistró Verde. I'm calling to confirm tonight's table \
for four at 21:00, under Alex Demo.",
        ),
        ("AI", "Hi, Marta. Yes, that's right: four people at 21:00."),
        ("HUMAN", "Lovely. Does anyone have allergies or dietary requirements the kitchen should know about?"),
        ("AI", "Alex mentioned that one guest has a nut allergy, and another is vegetarian."),
        (
            "HUMAN",
            "Noted, I'll tell the chef. If you're running late, please give us a call: \
we can hold the table for twenty minutes.",
        ),
        ("AI", "Understood. Thanks for calling, Marta. See you tonight!"),
        ("HUMAN", "See you tonight. Bye!"),
    ],
    summary: "Bistró Verde confirmed tonight's table for four at 21:00. The kitchen has noted a nut allergy \
and a vegetarian guest. They hold the table for 20 minutes, so call them if you're running late.",
    action_items: &["Call Bistró Verde if you're running late"],
};

/// An energy company's sales call, screened and then rejected (Spanish).
pub const SALES: DemoCall = DemoCall {
    key: "sales",
    caller_name: "Ahorra Energía",
    caller_number: "+34900123456",
    is_vip: false,
    language: "es",
    script: &[
        ("AI", GREETING_ES),
        ("HUMAN", "Buenas tardes, le llamo de Ahorra Energía. ¿Hablo con el titular del contrato de la luz?"),
        ("AI", "Soy el asistente de Alex. ¿Me dice el motivo de la llamada?"),
        (
            "HUMAN",
            "Tenemos una oferta con un veinte por ciento de descuento en la factura. \
Solo necesito confirmar unos datos de su último recibo.",
        ),
        ("AI", "Un momento, por favor. Se lo consulto a Alex."),
    ],
    summary: "Llamada comercial de Ahorra Energía: ofrecía un descuento en la factura de la luz y pedía \
datos de tu último recibo. La rechazaste.",
    action_items: &[],
};

/// Every ready-made call, in the order `ctl ring --script` lists them.
pub const ALL: [&DemoCall; 4] = [&CLINIC, &COURIER, &RESTAURANT, &SALES];

/// The call `ctl ring --script key` rings.
pub fn find(key: &str) -> Option<&'static DemoCall> {
    ALL.into_iter().find(|c| c.key == key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_call_is_a_short_screening_that_the_assistant_opens() {
        for call in ALL {
            let n = call.script.len();
            assert!((5..=8).contains(&n), "{}: {n} lines", call.key);
            assert_eq!(call.script[0].0, "AI", "{}", call.key);
            assert!(call.script[0].1.contains("asistente de Alex") || call.script[0].1.contains("Alex's assistant"));
            for (i, (speaker, content)) in call.script.iter().enumerate() {
                assert_eq!(*speaker, if i % 2 == 0 { "AI" } else { "HUMAN" }, "{}: line {i}", call.key);
                assert!(!content.trim().is_empty() && !content.contains("  "), "{}: line {i}", call.key);
            }
            assert!(!call.summary.is_empty() && matches!(call.language, "en" | "es"), "{}", call.key);
            assert_eq!(find(call.key).map(|c| c.key), Some(call.key));
        }
        assert!(find("nobody").is_none());
        // The desktop's end-to-end tests look the demo's VIP call up by this name.
        assert_eq!(CLINIC.caller_name, "Dr. Smith");
    }
}
