//! Token newtypes whose Debug and Display never show the value.

use std::fmt;

/// A secret string. The only way to read it is `expose()`, so every use is greppable.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The raw value, for the Authorization header or the keychain; never for logs.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

macro_rules! secret_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(Secret);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                Self(Secret::new(value))
            }
            /// The raw value; never for logs.
            pub fn expose(&self) -> &str {
                self.0.expose()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "(***)"))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("***")
            }
        }
    };
}

secret_newtype!(
    /// A bearer access token.
    AccessToken
);
secret_newtype!(
    /// A refresh token (rotated by the server on each refresh).
    RefreshToken
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_are_redacted() {
        let a = AccessToken::new("eyJsecret-access");
        let r = RefreshToken::new("rt-secret");
        let s = Secret::new("code-verifier");
        for text in [format!("{a:?} {a} {r:?} {r} {s:?} {s}"), format!("{:?}", Some(&a))] {
            assert!(!text.contains("secret"), "{text}");
            assert!(!text.contains("verifier"), "{text}");
        }
        assert_eq!(format!("{a:?}"), "AccessToken(***)");
        assert_eq!(a.expose(), "eyJsecret-access");
    }
}
