//! Phone numbers the user types to be called: checked and normalised to E.164 by libphonenumber's
//! rules (the `phonenumber` crate), so "911 22 23 33" typed in Spain becomes `+34911222333` and a
//! number no network has is refused before anything is sent or charged.

use phonenumber::{country, Mode};
use serde::Serialize;

/// A number that can be called: what is sent (`e164`) and what is shown (`international`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckedNumber {
    pub e164: String,
    pub international: String,
    /// ISO 3166 region of the number (`ES`), when it has one.
    pub region: Option<String>,
}

/// Why a typed number cannot be called. Serialized as a code the windows translate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NumberProblem {
    /// Nothing typed.
    Empty,
    /// No `+` and no country to read it in: the user must add the country code.
    NeedsCountryCode,
    /// Not a phone number at all, or too short or too long for any.
    NotANumber,
    /// Shaped like a number, but no number of its country has that form.
    NotValid,
}

/// Checks `typed`; a number without `+` is read as a number of `region` (ISO 3166, e.g. `ES`).
pub fn check(typed: &str, region: Option<&str>) -> Result<CheckedNumber, NumberProblem> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Err(NumberProblem::Empty);
    }
    let international = typed.starts_with('+') || typed.starts_with("00");
    let region: Option<country::Id> = region.and_then(|r| r.trim().to_ascii_uppercase().parse().ok());
    if !international && region.is_none() {
        return Err(NumberProblem::NeedsCountryCode);
    }
    let number = phonenumber::parse(region, typed).map_err(|_| NumberProblem::NotANumber)?;
    if !phonenumber::is_valid(&number) {
        return Err(NumberProblem::NotValid);
    }
    Ok(CheckedNumber {
        e164: number.format().mode(Mode::E164).to_string(),
        international: number.format().mode(Mode::International).to_string(),
        region: number.country().id().map(|id| id.as_ref().to_string()),
    })
}

/// The region of a POSIX locale name (`es_ES.UTF-8` -> `ES`), to read numbers typed without `+`
/// the way the user writes them at home.
pub fn region_of_locale(locale: &str) -> Option<String> {
    let base = locale.split(['.', '@']).next()?;
    let (_, region) = base.split_once(['_', '-'])?;
    (region.len() == 2 && region.chars().all(|c| c.is_ascii_alphabetic())).then(|| region.to_ascii_uppercase())
}

/// The user's region from the environment's locale (`LC_ALL`, `LC_TELEPHONE`, `LANG`), if any.
pub fn region_from_env() -> Option<String> {
    ["LC_ALL", "LC_TELEPHONE", "LANG"].iter().filter_map(|k| std::env::var(k).ok()).find_map(|v| region_of_locale(&v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn international_numbers_are_normalised() {
        let n = check(" +34 911 22 23 33 ", None).unwrap();
        assert_eq!(n.e164, "+34911222333");
        assert_eq!(n.international, "+34 911 22 23 33");
        assert_eq!(n.region.as_deref(), Some("ES"));
        assert_eq!(check("0034911222333", Some("GB")).unwrap().e164, "+34911222333");
        assert_eq!(check("+1 (415) 555-2671", None).unwrap().e164, "+14155552671");
    }

    #[test]
    fn national_numbers_are_read_in_the_users_region() {
        assert_eq!(check("911 22 23 33", Some("es")).unwrap().e164, "+34911222333");
        assert_eq!(check("020 7946 0958", Some("GB")).unwrap().e164, "+442079460958");
        assert_eq!(check("911 22 23 33", None), Err(NumberProblem::NeedsCountryCode));
    }

    #[test]
    fn what_no_network_has_is_refused() {
        assert_eq!(check("", None), Err(NumberProblem::Empty));
        assert_eq!(check("+34 12", None), Err(NumberProblem::NotValid));
        assert_eq!(check("call the clinic", Some("ES")), Err(NumberProblem::NotANumber));
        // The right length for Spain, but no Spanish number starts with 0.
        assert_eq!(check("+34 011 22 23 33", None), Err(NumberProblem::NotValid));
    }

    #[test]
    fn regions_of_locales() {
        assert_eq!(region_of_locale("es_ES.UTF-8").as_deref(), Some("ES"));
        assert_eq!(region_of_locale("en-gb").as_deref(), Some("GB"));
        assert_eq!(region_of_locale("C.UTF-8"), None);
        assert_eq!(region_of_locale("POSIX"), None);
    }
}
