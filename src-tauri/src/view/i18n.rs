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

/// The string for `key`, falling back to English and then to the key itself, so a missing
/// translation shows something readable instead of failing.
pub fn text(lang: Lang, key: &str) -> String {
    table(lang).get(key).or_else(|| table(Lang::En).get(key)).cloned().unwrap_or_else(|| key.to_string())
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

/// `2026-03-01T00:00:00Z` → "1 Mar" (en) / "1 mar" (es).
pub fn short_date(lang: Lang, iso: &str) -> Option<String> {
    let month: usize = iso.get(5..7)?.parse().ok()?;
    let day: u32 = iso.get(8..10)?.parse().ok()?;
    let names = match lang {
        Lang::En => ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
        Lang::Es => ["ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct", "nov", "dic"],
    };
    Some(format!("{day} {}", names.get(month.checked_sub(1)?)?))
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
    fn numbers_and_dates() {
        assert_eq!(format_credits(458.0), "458");
        assert_eq!(format_credits(12.5), "12.5");
        assert_eq!(short_date(Lang::En, "2026-03-01T00:00:00Z").as_deref(), Some("1 Mar"));
        assert_eq!(short_date(Lang::Es, "2026-09-15").as_deref(), Some("15 sept"));
        assert_eq!(short_date(Lang::En, "soon"), None);
    }
}
