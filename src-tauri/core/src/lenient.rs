//! Tolerant parsing helpers: the sources disagree on types (reference §1.3, §4), so numbers
//! may arrive as strings, lists as single strings, and enums with values nobody documented.

use std::fmt;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

/// A credit amount: a JSON number or a numeric string (`"0.5"`). Serializes as a number.
#[derive(Clone, Copy, Debug, Default, PartialEq, PartialOrd)]
pub struct Credits(pub f64);

impl Credits {
    pub fn value(self) -> f64 {
        self.0
    }
}

impl fmt::Display for Credits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.fract() == 0.0 {
            write!(f, "{}", self.0 as i64)
        } else {
            write!(f, "{}", self.0)
        }
    }
}

impl Serialize for Credits {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.0)
    }
}

impl<'de> Deserialize<'de> for Credits {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Number(n) => n.as_f64().map(Credits).ok_or_else(|| de::Error::custom("number out of range")),
            Value::String(s) => s
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .map(Credits)
                .ok_or_else(|| de::Error::custom(format!("not a number: {s:?}"))),
            other => Err(de::Error::custom(format!("expected a number, got {other}"))),
        }
    }
}

/// Number, numeric string or null/absent as `Option<f64>` (use with `#[serde(default)]`).
pub fn opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    })
}

/// Non-negative integer, numeric string, or float (truncated) as `Option<u64>`.
pub fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| *f >= 0.0).map(|f| f as u64),
        _ => None,
    })
}

/// Like `opt_u64` with 0 for anything missing or unreadable.
pub fn u64_or_zero<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    Ok(opt_u64(d)?.unwrap_or(0))
}

/// `true`/`false`, `"true"`/`"false"`, 1/0; anything else is false.
pub fn bool_or_false<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Bool(b) => b,
        Value::String(s) => matches!(s.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes"),
        Value::Number(n) => n.as_f64().is_some_and(|v| v != 0.0),
        _ => false,
    })
}

/// A string, or a number/bool rendered as a string; null becomes `None`. For ids and free text
/// that a source might send as another scalar.
pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(scalar_to_string(Value::deserialize(d)?))
}

fn scalar_to_string(v: Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Free text that some sources send as a list of lines: a list is joined with newlines.
pub fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => {
            let lines: Vec<String> = items.into_iter().filter_map(scalar_or_text).collect();
            (!lines.is_empty()).then(|| lines.join("\n"))
        }
        other => scalar_or_text(other),
    })
}

/// A list of strings, a single string, or null; non-string items are rendered or skipped.
pub fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => items.into_iter().filter_map(scalar_or_text).collect(),
        Value::Null => Vec::new(),
        other => scalar_or_text(other).into_iter().collect(),
    })
}

/// Objects in lists of "suggestions" or "highlights" usually have a text-ish field.
fn scalar_or_text(v: Value) -> Option<String> {
    match v {
        Value::Object(map) => ["text", "title", "description", "content", "summary", "name"]
            .iter()
            .find_map(|k| map.get(*k).and_then(Value::as_str).map(str::to_string)),
        other => scalar_to_string(other),
    }
}

/// A list of `T` where null counts as empty and items that do not parse are skipped, so one
/// odd entry does not hide the rest of a list.
pub fn vec_skip_bad<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => items.into_iter().filter_map(|v| serde_json::from_value(v).ok()).collect(),
        _ => Vec::new(),
    })
}

/// The list under `key` in a list answer, else under `items` (reference §1.6, §4: V2 falls back
/// to `items`), else the answer itself when it is a bare list; items that do not parse are
/// skipped.
pub fn list_under<T: serde::de::DeserializeOwned>(v: &Value, key: &str) -> Vec<T> {
    let parse = |items: &Vec<Value>| -> Vec<T> {
        items.iter().filter_map(|item| serde_json::from_value(item.clone()).ok()).collect()
    };
    match (v.get(key).and_then(Value::as_array), v.get("items").and_then(Value::as_array), v.as_array()) {
        (Some(list), _, _) if !list.is_empty() => parse(list),
        (_, Some(items), _) => parse(items),
        (Some(list), None, _) => parse(list),
        (None, None, Some(bare)) => parse(bare),
        _ => Vec::new(),
    }
}

/// Declares a string enum that keeps unknown values: `Known` variants parse from their wire
/// name, anything else becomes `Other(String)`. Serializes back to the wire string.
macro_rules! open_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant,)+
            /// A value this client does not know yet, kept verbatim.
            Other(String),
        }

        impl $name {
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $wire,)+
                    $name::Other(s) => s.as_str(),
                }
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $(if s.eq_ignore_ascii_case($wire) { return $name::$variant; })+
                $name::Other(s.to_string())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                $name::Other(String::new())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let v = serde_json::Value::deserialize(d)?;
                Ok(match v {
                    serde_json::Value::String(s) => $name::from(s.as_str()),
                    serde_json::Value::Null => $name::default(),
                    other => $name::Other(other.to_string()),
                })
            }
        }
    };
}
pub(crate) use open_enum;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    open_enum!(Color { Red => "red", Blue => "blue" });

    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct Sample {
        credits: Credits,
        #[serde(deserialize_with = "opt_f64")]
        maybe: Option<f64>,
        #[serde(deserialize_with = "opt_u64")]
        count: Option<u64>,
        #[serde(deserialize_with = "string_list")]
        list: Vec<String>,
        #[serde(deserialize_with = "bool_or_false")]
        flag: bool,
        color: Color,
    }

    fn sample(v: Value) -> Sample {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn credits_accept_numbers_and_strings() {
        assert_eq!(sample(json!({"credits": 1.5})).credits, Credits(1.5));
        assert_eq!(sample(json!({"credits": "0.5"})).credits, Credits(0.5));
        assert_eq!(sample(json!({"credits": 42})).credits, Credits(42.0));
        assert_eq!(sample(json!({})).credits, Credits(0.0));
        assert!(serde_json::from_value::<Credits>(json!("lots")).is_err());
        assert!(serde_json::from_value::<Credits>(json!("NaN")).is_err());
        assert_eq!(serde_json::to_value(Credits(0.15)).unwrap(), json!(0.15));
        assert_eq!(Credits(458.0).to_string(), "458");
    }

    #[test]
    fn optional_numbers_and_bools_are_lenient() {
        let s = sample(json!({"maybe": "0.25", "count": "7", "flag": "true"}));
        assert_eq!((s.maybe, s.count, s.flag), (Some(0.25), Some(7), true));
        let s = sample(json!({"maybe": null, "count": 3.9, "flag": 1}));
        assert_eq!((s.maybe, s.count, s.flag), (None, Some(3), true));
        let s = sample(json!({"count": -1, "flag": null}));
        assert_eq!((s.count, s.flag), (None, false));
    }

    #[test]
    fn lists_accept_a_single_string_and_objects() {
        assert_eq!(sample(json!({"list": "one"})).list, vec!["one"]);
        assert_eq!(sample(json!({"list": ["a", {"text": "b"}, 3, null]})).list, vec!["a", "b", "3"]);
        assert!(sample(json!({"list": null})).list.is_empty());
    }

    #[test]
    fn unknown_enum_values_are_kept() {
        assert_eq!(sample(json!({"color": "red"})).color, Color::Red);
        assert_eq!(sample(json!({"color": "BLUE"})).color, Color::Blue);
        assert_eq!(sample(json!({"color": "ultraviolet"})).color, Color::Other("ultraviolet".into()));
        assert_eq!(Color::Other("x".into()).to_string(), "x");
        assert_eq!(serde_json::to_value(Color::Red).unwrap(), json!("red"));
    }
}
