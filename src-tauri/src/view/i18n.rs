//! The app's strings for the parts drawn by Rust (tray menu, window titles, notifications). The
//! web UI reads the same files, `ui/i18n/<lang>.json`, so each string lives in one place. Also
//! the language in force, and numbers and dates as it writes them.

use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};

use kallyai_core::settings::Lang;
use tauri::{AppHandle, Manager};

fn table(lang: Lang) -> &'static HashMap<String, String> {
    static EN: OnceLock<HashMap<String, String>> = OnceLock::new();
    static ES: OnceLock<HashMap<String, String>> = OnceLock::new();
    let (cell, source) = match lang {
        Lang::En => (&EN, include_str!("../../../ui/i18n/en.json")),
        Lang::Es => (&ES, include_str!("../../../ui/i18n/es.json")),
    };
    cell.get_or_init(|| serde_json::from_str(source).expect("ui/i18n strings are valid JSON (checked by a test)"))
}

/// The string for `key` with its `{name}` placeholders filled from `vars`, falling back to English
/// and then to the key itself, so a missing translation shows something readable instead of
/// failing. A placeholder `vars` does not name stays as it is (visible, so a mistake is seen).
pub fn t(lang: Lang, key: &str, vars: &[(&str, &str)]) -> String {
    let template = table(lang).get(key).or_else(|| table(Lang::En).get(key)).map_or(key, String::as_str);
    fill(template, vars)
}

/// The string for `key` with no placeholders to fill: `t(lang, key, &[])`.
pub fn text(lang: Lang, key: &str) -> String {
    t(lang, key, &[])
}

/// Replaces each `{name}` in `template` (name: letters, digits, `_`) by its value in `vars`, in
/// one pass: a value is never filled again, so a caller named "{number}" stays as typed.
fn fill(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let name_len = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
        let value = (name_len > 0 && after[name_len..].starts_with('}'))
            .then(|| vars.iter().find(|(name, _)| *name == &after[..name_len]))
            .flatten();
        match value {
            Some((_, value)) => {
                out.push_str(value);
                rest = &after[name_len + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The language in force (managed by the app from the start).
pub struct Language(RwLock<Lang>);

impl Language {
    pub fn new(lang: Lang) -> Language {
        Language(RwLock::new(lang))
    }
}

/// The language the app speaks now.
pub fn lang(app: &AppHandle) -> Lang {
    *app.state::<Language>().0.read().expect("language lock")
}

/// Only `view::set_language` changes it, so everything shown follows.
pub(super) fn set(app: &AppHandle, lang: Lang) {
    *app.state::<Language>().0.write().expect("language lock") = lang;
}

/// Credits as people write them: whole numbers plain, others with one decimal.
pub fn format_credits(value: f64) -> String {
    if value.fract().abs() < 0.05 {
        format!("{}", value.round() as i64)
    } else {
        format!("{value:.1}")
    }
}

/// `2026-03-01T00:00:00Z` → "1 Mar" (en) / "1 mar" (es); the month names are `date.month.1`
/// to `date.month.12` in `ui/i18n/<lang>.json`.
pub fn short_date(lang: Lang, iso: &str) -> Option<String> {
    let month: u32 = iso.get(5..7)?.parse().ok()?;
    let day: u32 = iso.get(8..10)?.parse().ok()?;
    if !(1..=12).contains(&month) {
        return None;
    }
    let month = text(lang, &format!("date.month.{month}"));
    Some(t(lang, "date.short", &[("day", &day.to_string()), ("month", &month)]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_every_key() {
        let english: Vec<_> = table(Lang::En).keys().collect();
        for key in english {
            assert!(table(Lang::Es).contains_key(key), "es.json lacks {key}");
        }
        assert_eq!(table(Lang::En).len(), table(Lang::Es).len(), "es.json has keys en.json lacks");
    }

    #[test]
    fn strings_fall_back_to_the_key() {
        assert_eq!(text(Lang::Es, "tray.quit"), "Salir");
        assert_eq!(text(Lang::En, "no.such.key"), "no.such.key");
    }

    #[test]
    fn placeholders_are_filled_by_name() {
        assert_eq!(t(Lang::En, "call.notify.title", &[("caller", "Ada")]), "Ada is calling");
        assert_eq!(t(Lang::Es, "tray.goals", &[("count", "3")]), "Objetivos (3)");
        let outcome = [("caller", "Ada"), ("number", "+15551230000")];
        assert_eq!(
            t(Lang::En, "call.outcome.transferred", &outcome),
            "The call from Ada was transferred to +15551230000."
        );
        assert_eq!(fill("{a}{a} and {b}", &[("a", "x"), ("b", "y")]), "xx and y");
    }

    #[test]
    fn unknown_placeholders_stay_visible() {
        assert_eq!(t(Lang::En, "call.notify.title", &[]), "{caller} is calling");
        assert_eq!(fill("{goal} needs {credits}", &[("credits", "12")]), "{goal} needs 12");
        assert_eq!(fill("{ caller } {} {caller {x", &[("caller", "Ada"), ("x", "y")]), "{ caller } {} {caller {x");
        assert_eq!(fill("{{caller}}", &[("caller", "Ada")]), "{Ada}");
        assert_eq!(t(Lang::En, "no.such.{key}", &[("key", "k")]), "no.such.k");
    }

    #[test]
    fn a_value_is_never_filled_again() {
        let vars = [("caller", "{number}"), ("number", "+1555")];
        assert_eq!(t(Lang::En, "call.outcome.transferred", &vars), "The call from {number} was transferred to +1555.");
        assert_eq!(fill("{café}", &[("café", "x")]), "{café}");
    }

    #[test]
    fn numbers_and_dates() {
        assert_eq!(format_credits(458.0), "458");
        assert_eq!(format_credits(12.5), "12.5");
        assert_eq!(short_date(Lang::En, "2026-03-01T00:00:00Z").as_deref(), Some("1 Mar"));
        assert_eq!(short_date(Lang::Es, "2026-09-15").as_deref(), Some("15 sept"));
        assert_eq!(short_date(Lang::En, "soon"), None);
        assert_eq!(short_date(Lang::En, "2026-13-01"), None);
        assert_eq!(short_date(Lang::En, "2026-00-01"), None);
        let months: Vec<_> = (1..=12).filter_map(|m| short_date(Lang::En, &format!("2026-{m:02}-02"))).collect();
        assert_eq!(months.join(","), "2 Jan,2 Feb,2 Mar,2 Apr,2 May,2 Jun,2 Jul,2 Aug,2 Sep,2 Oct,2 Nov,2 Dec");
        let months: Vec<_> = (1..=12).filter_map(|m| short_date(Lang::Es, &format!("2026-{m:02}-02"))).collect();
        assert_eq!(months.join(","), "2 ene,2 feb,2 mar,2 abr,2 may,2 jun,2 jul,2 ago,2 sept,2 oct,2 nov,2 dic");
    }
}
