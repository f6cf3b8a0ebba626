//! Group send (R7): the form, the confirmation step, and the per-recipient results of a send.

use serde::{Deserialize, Serialize};

use super::address_book::AddressBook;

/// The longest text the send page accepts, in characters (a notice longer than this is not an
/// SMS any more).
pub const MAX_TEXT_CHARS: usize = 1000;
/// The most recipients one send may have.
pub const MAX_RECIPIENTS: usize = 10_000;

/// The send page: the form (with the address book to pick from), a draft to confirm, or a
/// sent batch's results.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendPage {
    pub book: AddressBook,
    /// A draft waiting for confirmation (`?draft=ID`), or being edited again (`?edit=ID`).
    pub draft: Option<Draft>,
    /// A sent batch (`?batch=ID`).
    pub batch: Option<Batch>,
}

/// What the user asked to send, resolved: the recipients the platform will send to, and the
/// typed entries it will not.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draft {
    pub id: String,
    pub text: String,
    /// The numbers as typed.
    pub numbers: String,
    pub departments: Vec<i64>,
    pub groups: Vec<i64>,
    pub contacts: Vec<i64>,
    /// Distinct recipients, in the order given.
    pub recipients: Vec<Recipient>,
    /// Typed entries that are not phone numbers.
    pub invalid: Vec<InvalidEntry>,
    /// Entries left out because the same number came earlier.
    pub duplicates: u32,
    pub count: SmsCount,
}

/// One recipient.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    /// Canonical number.
    pub number: String,
    /// The contact's name, when picked from (or found in) the address book.
    pub name: Option<String>,
}

/// A typed entry that is not a phone number.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvalidEntry {
    pub input: String,
    /// Why, in English (the codec's words).
    pub reason: String,
}

/// How a text goes as SMS.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsCount {
    /// Characters as the user sees them.
    pub chars: u32,
    /// `true`: UCS2 (Chinese and most other scripts), else the GSM 7-bit alphabet.
    pub ucs2: bool,
    /// Units used: septets (GSM 7-bit; `€[]{}` and a few more count 2) or UTF-16 units.
    pub units: u32,
    /// Units one part holds (160/153 for GSM 7-bit, 70/67 for UCS2).
    pub per_part: u32,
    /// SMS parts per recipient.
    pub parts: u32,
}

impl SmsCount {
    /// Counts `text` as the platform sends it (the same codec).
    pub fn of(text: &str) -> SmsCount {
        let plan = jingxun_sms::plan(text);
        SmsCount {
            chars: text.chars().count() as u32,
            ucs2: plan.encoding == jingxun_sms::Encoding::Ucs2,
            units: plan.units as u32,
            per_part: plan.per_part as u32,
            parts: plan.parts as u32,
        }
    }
}

/// A sent batch and the state of each of its messages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    pub id: String,
    pub created_by: String,
    pub created_at: i64,
    pub text: String,
    pub count: SmsCount,
    pub results: Vec<RecipientResult>,
}

/// One recipient's message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientResult {
    pub message_id: i64,
    pub number: String,
    pub name: Option<String>,
    /// `queued`, `sending`, `sent`, `delivered`, `failed`, `expired`.
    pub state: String,
    pub error: Option<String>,
    pub updated_at: i64,
}

impl Batch {
    /// How many results are in each state, in the order of the states' progress.
    pub fn tally(&self) -> Vec<(&'static str, usize)> {
        [
            "queued",
            "sending",
            "sent",
            "delivered",
            "failed",
            "expired",
        ]
        .into_iter()
        .map(|s| (s, self.results.iter().filter(|r| r.state == s).count()))
        .filter(|(_, n)| *n > 0)
        .collect()
    }

    /// Whether every message has reached a final state.
    pub fn settled(&self) -> bool {
        self.results
            .iter()
            .all(|r| matches!(r.state.as_str(), "delivered" | "failed" | "expired"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_the_codec() {
        let gsm = SmsCount::of("Meeting at 8");
        assert_eq!(
            (gsm.ucs2, gsm.parts, gsm.units, gsm.per_part),
            (false, 1, 12, 160)
        );
        let zh = SmsCount::of(&"警".repeat(71));
        assert_eq!(
            (zh.ucs2, zh.parts, zh.chars, zh.per_part),
            (true, 2, 71, 67)
        );
        assert_eq!(SmsCount::of("€").units, 2);
    }
}
