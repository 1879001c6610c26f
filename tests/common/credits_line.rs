//! The credits line as the app should show it (the tray's first line, the credits window).

use serde_json::Value;

/// The tray's first line for a balance object as the sim returns it, in English:
/// "458 credits left · Pro · renews 1 Mar" (the sentence the issue asks for).
pub fn expected_tray_line(balance: &Value) -> String {
    let remaining = balance["credits_remaining"].as_f64().expect("credits_remaining is a number");
    let amount = if remaining.fract().abs() < 0.05 {
        format!("{}", remaining.round() as i64)
    } else {
        format!("{remaining:.1}")
    };
    let mut parts = vec![format!("{amount} credits left")];
    if let Some(plan) = balance["plan_type"].as_str().filter(|p| !p.is_empty()) {
        let mut chars = plan.chars();
        parts.push(chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default());
    }
    if let Some(end) = balance["period_end"].as_str() {
        const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
        let month: usize = end[5..7].parse().expect("period_end month");
        let day: u32 = end[8..10].parse().expect("period_end day");
        parts.push(format!("renews {day} {}", MONTHS[month - 1]));
    }
    parts.join(" · ")
}
