//! The app's strings for the parts drawn by Rust (tray menu, window titles). The web UI reads the
//! same files, `ui/i18n/<lang>.json`, so each string lives in one place.

use std::collections::HashMap;
use std::sync::OnceLock;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    En,
    Es,
}

impl Lang {
    /// The language of the user's session, from the POSIX locale variables; English otherwise.
    pub fn from_environment() -> Lang {
        ["LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"]
            .iter()
            .filter_map(|name| std::env::var(name).ok())
            .find(|value| !value.is_empty())
            .map(|value| Lang::from_locale(&value))
            .unwrap_or(Lang::En)
    }

    pub fn from_locale(locale: &str) -> Lang {
        if locale.to_ascii_lowercase().starts_with("es") {
            Lang::Es
        } else {
            Lang::En
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Es => "es",
        }
    }
}

fn table(lang: Lang) -> &'static HashMap<String, String> {
    static EN: OnceLock<HashMap<String, String>> = OnceLock::new();
    static ES: OnceLock<HashMap<String, String>> = OnceLock::new();
    let (cell, source) = match lang {
        Lang::En => (&EN, include_str!("../../ui/i18n/en.json")),
        Lang::Es => (&ES, include_str!("../../ui/i18n/es.json")),
    };
    cell.get_or_init(|| serde_json::from_str(source).expect("ui/i18n strings are valid JSON (checked by a test)"))
}

/// The string for `key`, falling back to English and then to the key itself, so a missing
/// translation shows something readable instead of failing.
pub fn text(lang: Lang, key: &str) -> String {
    table(lang).get(key).or_else(|| table(Lang::En).get(key)).cloned().unwrap_or_else(|| key.to_string())
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
    fn locale_picks_language() {
        assert_eq!(Lang::from_locale("es_ES.UTF-8"), Lang::Es);
        assert_eq!(Lang::from_locale("en_GB.UTF-8"), Lang::En);
        assert_eq!(Lang::from_locale("C"), Lang::En);
        assert_eq!(text(Lang::Es, "tray.quit"), "Salir");
        assert_eq!(text(Lang::En, "no.such.key"), "no.such.key");
    }
}
