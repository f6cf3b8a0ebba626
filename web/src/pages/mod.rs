//! The pages, one module each, with the words only that page uses (its `WORDS`, in the
//! dictionary's format; [`crate::i18n`] looks them up).

pub mod address_book;
pub mod api_keys;
pub mod audit;
pub mod dashboard;
pub mod help_text;
pub mod messages;
pub mod password;
pub mod phones;
pub mod plugins;
pub mod reauth;
pub mod second_factor;
pub mod send;
pub mod signin;
pub mod simulator;
pub mod two_step;
pub mod users;
