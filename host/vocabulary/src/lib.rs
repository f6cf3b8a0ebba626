//! The words of the platform as types rather than strings, and the one way to declare such a
//! vocabulary ([`vocabulary!`]): each word is an enum variant with the text it is stored, sent
//! and shown as. The built-in roles are here because the daemon and the web admin share them;
//! the daemon's audit words and the web admin's refusal codes use the same macro. No I/O and no
//! dependencies but serde, so that the web admin's browser bundle (wasm32) compiles it too.

use std::fmt;

#[doc(hidden)]
pub use serde as __serde;

/// A text that is not a word of the vocabulary it was read as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownWord {
    /// What the vocabulary holds (`audit event`, `built-in role`...).
    pub kind: &'static str,
    /// The text given.
    pub given: String,
    /// The words of that vocabulary, comma-separated.
    pub known: String,
}

impl fmt::Display for UnknownWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not a {}; use one of: {}",
            self.given, self.kind, self.known
        )
    }
}

impl std::error::Error for UnknownWord {}

/// Declares a vocabulary: a `Copy` enum whose variants are its words, each with its text.
/// It gets `ALL` (every word, in the order given), `as_str`, `FromStr` (exact text; the error
/// lists the words), `Display`, `AsRef<str>`, and serde as the text. With `key "prefix."` it
/// also gets `i18n_key`, the text behind the prefix (a dictionary key).
///
/// ```
/// jingxun_vocabulary::vocabulary! {
///     /// Colours of a light.
///     "colour", key "colour." => pub enum Colour {
///         /// Stop.
///         Red = "red",
///         /// Go.
///         Green = "green",
///     }
/// }
/// assert_eq!(Colour::Green.as_str(), "green");
/// assert_eq!("red".parse::<Colour>(), Ok(Colour::Red));
/// assert_eq!(Colour::Red.i18n_key(), "colour.red");
/// assert!("blue".parse::<Colour>().unwrap_err().to_string().contains("red, green"));
/// ```
#[macro_export]
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        $kind:literal, key $prefix:literal => pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )*
        }
    ) => {
        $crate::vocabulary! {
            $(#[$meta])*
            $kind => pub enum $name {
                $( $(#[$vmeta])* $variant = $text, )*
            }
        }

        impl $name {
            /// The dictionary key of the word (its text behind the vocabulary's prefix).
            pub const fn i18n_key(self) -> &'static str {
                match self {
                    $($name::$variant => concat!($prefix, $text),)*
                }
            }
        }
    };
    (
        $(#[$meta:meta])*
        $kind:literal => pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
        }

        impl $name {
            /// Every word, in the order of the list.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The word's text: what is stored, sent and matched.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::UnknownWord;

            fn from_str(given: &str) -> ::std::result::Result<Self, $crate::UnknownWord> {
                match given {
                    $($text => ::std::result::Result::Ok($name::$variant),)*
                    _ => ::std::result::Result::Err($crate::UnknownWord {
                        kind: $kind,
                        given: ::std::borrow::ToOwned::to_owned(given),
                        known: $name::ALL
                            .iter()
                            .map(|w| w.as_str())
                            .collect::<::std::vec::Vec<_>>()
                            .join(", "),
                    }),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::convert::AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl $crate::__serde::Serialize for $name {
            fn serialize<S: $crate::__serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::std::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> $crate::__serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::__serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::std::result::Result<Self, D::Error> {
                let text = <::std::string::String as $crate::__serde::Deserialize>::deserialize(
                    deserializer,
                )?;
                text.parse().map_err(<D::Error as $crate::__serde::de::Error>::custom)
            }
        }
    };
}

vocabulary! {
    /// A role every directory starts with and that cannot be removed. Users may also hold roles
    /// an administrator added (groups of users granted businesses); those stay plain names, and
    /// only these five give rights beyond businesses.
    "built-in role" => pub enum BuiltinRole {
        /// Administers users, roles, grants, plugins and settings: opens every page of the web
        /// admin, the simulated handset included.
        Admin = "admin",
        /// Runs the platform (modems, queues, datasources): sends and reads messages and keeps
        /// the address book.
        Operator = "operator",
        /// Maintains the registry of officer phones.
        Registrar = "registrar",
        /// Reads and verifies the audit log, and nothing else.
        Auditor = "auditor",
        /// Sends police queries by SMS (holds CP, JZ, SFZ and ZT); opens no page of the web
        /// admin.
        Officer = "officer",
    }
}

impl BuiltinRole {
    /// Whether the role opens pages of the web admin (all but [`BuiltinRole::Officer`],
    /// whose members only send queries by SMS).
    pub const fn opens_web_admin(self) -> bool {
        !matches!(self, BuiltinRole::Officer)
    }

    /// The roles that open pages of the web admin.
    pub fn web_admin_roles() -> impl Iterator<Item = BuiltinRole> {
        BuiltinRole::ALL
            .iter()
            .copied()
            .filter(|r| r.opens_web_admin())
    }

    /// Whether this role is among `roles` (directory role names, custom roles included).
    pub fn is_among<S: AsRef<str>>(self, roles: &[S]) -> bool {
        roles.iter().any(|r| r.as_ref() == self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_reads_back_from_its_name_and_its_json() {
        for &role in BuiltinRole::ALL {
            assert_eq!(role.as_str().parse::<BuiltinRole>(), Ok(role));
            assert_eq!(role.to_string(), role.as_str());
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.as_str()));
            assert_eq!(serde_json::from_str::<BuiltinRole>(&json).unwrap(), role);
        }
    }

    #[test]
    fn custom_and_differently_cased_names_are_not_builtin() {
        let err = "traffic".parse::<BuiltinRole>().unwrap_err();
        assert_eq!(err.given, "traffic");
        assert!(err.to_string().contains("admin, operator"), "{err}");
        assert!("Admin".parse::<BuiltinRole>().is_err());
        assert!(serde_json::from_str::<BuiltinRole>("\"sheriff\"").is_err());
    }

    #[test]
    fn the_web_admin_roles_are_the_four_staff_roles() {
        let web: Vec<&str> = BuiltinRole::web_admin_roles()
            .map(BuiltinRole::as_str)
            .collect();
        assert_eq!(web, ["admin", "operator", "registrar", "auditor"]);
        assert!(!BuiltinRole::Officer.opens_web_admin());
    }

    #[test]
    fn a_role_is_found_among_a_users_roles() {
        let roles = vec!["officer".to_string(), "traffic".to_string()];
        assert!(BuiltinRole::Officer.is_among(&roles));
        assert!(!BuiltinRole::Admin.is_among(&roles));
        assert!(!BuiltinRole::Admin.is_among::<String>(&[]));
    }
}
