//! What the server and the browser exchange: who is looking, the pages and who may open them,
//! why an action was refused, and each page's data (one module per page). Plain serde types,
//! compiled into both sides.

pub mod address_book;
pub mod api_keys;
pub mod audit;
pub mod dashboard;
pub mod help_text;
pub mod messages;
pub mod phones;
pub mod plugins;
pub mod refusal;
pub mod send;
pub mod simulator;
pub mod two_step;
pub mod users;

use jingxun_vocabulary::BuiltinRole;
use serde::{Deserialize, Serialize};

use crate::i18n::Lang;

pub use dashboard::{Dashboard, ModemRow};
pub use refusal::{Outcome, Refusal, RefusalCode};

/// Who is looking at a page, as the server's session layer found it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    /// The signed-in user, if any.
    pub user: Option<ViewerUser>,
    /// The token every form of this page must carry (the session's, or before sign-in that
    /// of the pre-sign-in cookie).
    pub csrf: String,
    /// The interface language.
    pub lang: Lang,
    /// A sign-in with a step still to take (the second factor's code, or its enrolment), if
    /// that is where the viewer is: such a session opens no other page.
    #[serde(default)]
    pub pending: Option<PendingUser>,
}

/// A user whose sign-in has a step still to take.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingUser {
    pub login: String,
    pub name: String,
    pub step: SignInStep,
}

/// The step of a sign-in still to take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignInStep {
    /// A code of the authenticator (or a recovery code), on `/signin/code`.
    Code,
    /// Enrolling a second factor the user's role requires, on the two-step page.
    Enrol,
}

impl SignInStep {
    /// The only page such a session opens.
    pub fn path(self) -> &'static str {
        match self {
            SignInStep::Code => SECOND_FACTOR_PATH,
            SignInStep::Enrol => Page::TwoStep.path(),
        }
    }
}

/// The sign-in's code step (not a page of the navigation).
pub const SECOND_FACTOR_PATH: &str = "/signin/code";
/// Where a sensitive action sends a user whose last verification is too old (not a page of
/// the navigation); `?next=` names the page to go back to.
pub const REAUTH_PATH: &str = "/reauth";

/// A signed-in user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewerUser {
    pub login: String,
    pub name: String,
    /// Directory roles, sorted (built-in and administrator-defined).
    pub roles: Vec<String>,
}

impl ViewerUser {
    /// Whether the user may open `page`.
    pub fn may_open(&self, page: Page) -> bool {
        page.allows(&self.roles)
    }

    /// Whether the user holds the built-in `role`.
    pub fn has_role(&self, role: BuiltinRole) -> bool {
        role.is_among(&self.roles)
    }
}

/// The pages of the web admin (issue 4), in navigation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Page {
    Dashboard,
    Send,
    Messages,
    Users,
    Phones,
    AddressBook,
    Plugins,
    ApiKeys,
    HelpText,
    Audit,
    Simulator,
    Password,
    TwoStep,
}

impl Page {
    /// Every page, in navigation order.
    pub const ALL: [Page; 13] = [
        Page::Dashboard,
        Page::Send,
        Page::Messages,
        Page::Users,
        Page::Phones,
        Page::AddressBook,
        Page::Plugins,
        Page::ApiKeys,
        Page::HelpText,
        Page::Audit,
        Page::Simulator,
        Page::Password,
        Page::TwoStep,
    ];

    /// The page's path.
    pub fn path(self) -> &'static str {
        match self {
            Page::Dashboard => "/",
            Page::Send => "/send",
            Page::Messages => "/messages",
            Page::Users => "/users",
            Page::Phones => "/phones",
            Page::AddressBook => "/address-book",
            Page::Plugins => "/plugins",
            Page::ApiKeys => "/api-keys",
            Page::HelpText => "/help-text",
            Page::Audit => "/audit",
            Page::Simulator => "/simulator",
            Page::Password => "/password",
            Page::TwoStep => "/two-step",
        }
    }

    /// The page at `path`, if any.
    pub fn from_path(path: &str) -> Option<Page> {
        let path = if path.len() > 1 {
            path.trim_end_matches('/')
        } else {
            path
        };
        Page::ALL.into_iter().find(|p| p.path() == path)
    }

    /// The roles that may open the page; a user needs one of them.
    pub fn roles(self) -> &'static [BuiltinRole] {
        use BuiltinRole::{Admin, Auditor, Operator, Registrar};
        match self {
            Page::Dashboard | Page::Password | Page::TwoStep => {
                &[Admin, Operator, Registrar, Auditor]
            }
            Page::Send | Page::Messages | Page::AddressBook => &[Admin, Operator],
            // The handset speaks as any phone number: administrators only (issue 18).
            Page::Users | Page::Plugins | Page::ApiKeys | Page::HelpText | Page::Simulator => {
                &[Admin]
            }
            Page::Phones => &[Admin, Registrar],
            Page::Audit => &[Admin, Auditor],
        }
    }

    /// Whether a user with `roles` (directory role names) may open the page.
    pub fn allows(self, roles: &[String]) -> bool {
        self.roles().iter().any(|r| r.is_among(roles))
    }

    /// The dictionary key of the page's title.
    pub fn title_key(self) -> &'static str {
        match self {
            Page::Dashboard => "page.dashboard",
            Page::Send => "page.send",
            Page::Messages => "page.messages",
            Page::Users => "page.users",
            Page::Phones => "page.phones",
            Page::AddressBook => "page.address_book",
            Page::Plugins => "page.plugins",
            Page::ApiKeys => "page.api_keys",
            Page::HelpText => "page.help_text",
            Page::Audit => "page.audit",
            Page::Simulator => "page.simulator",
            Page::Password => "page.password",
            Page::TwoStep => "page.two_step",
        }
    }
}

/// Percent-encodes a query component (RFC 3986 unreserved characters stay).
pub fn encode_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Milliseconds since the Unix epoch shown as `YYYY-MM-DD HH:MM:SS` in China Standard Time
/// (UTC+8, no daylight saving), the time every police user reads.
pub fn format_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000) + 8 * 3600;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM` (as an `<input type=date|datetime-local>` gives it) in
/// China Standard Time, as milliseconds since the Unix epoch.
pub fn parse_time(text: &str) -> Option<i64> {
    let text = text.trim();
    let (date, time) = match text.split_once(['T', ' ']) {
        Some((d, t)) => (d, Some(t)),
        None => (text, None),
    };
    let mut fields = date.split('-').map(|f| f.parse::<i64>().ok());
    let (y, m, d) = (fields.next()??, fields.next()??, fields.next()??);
    if fields.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let (hh, mm) = match time {
        Some(t) => {
            let mut hm = t.split(':').map(|f| f.parse::<i64>().ok());
            let (hh, mm) = (hm.next()??, hm.next().unwrap_or(Some(0))?);
            if !(0..24).contains(&hh) || !(0..60).contains(&mm) {
                return None;
            }
            (hh, mm)
        }
        None => (0, 0),
    };
    let days = days_from_civil(y, m, d);
    Some(((days * 86_400 + hh * 3600 + mm * 60) - 8 * 3600) * 1000)
}

// Howard Hinnant's civil-date algorithms (proleptic Gregorian calendar).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_has_its_path_and_admin_opens_all() {
        let admin = vec![BuiltinRole::Admin.to_string()];
        for page in Page::ALL {
            assert_eq!(Page::from_path(page.path()), Some(page));
            assert!(page.allows(&admin), "{page:?}");
        }
        let operator = vec![BuiltinRole::Operator.to_string()];
        assert!(!Page::Users.allows(&operator));
        assert!(Page::Send.allows(&operator));
        assert!(!Page::Dashboard.allows(&["officer".to_string()]));
        assert!(!Page::Dashboard.allows(&["traffic".to_string()]));
        assert_eq!(Page::from_path("/users/"), Some(Page::Users));
        assert_eq!(Page::from_path("/signin"), None);
    }

    #[test]
    fn only_the_web_admin_roles_open_pages() {
        for &role in BuiltinRole::ALL {
            let roles = vec![role.to_string()];
            let opens_some = Page::ALL.into_iter().any(|page| page.allows(&roles));
            assert_eq!(opens_some, role.opens_web_admin(), "{role}");
        }
    }

    #[test]
    fn times_are_shown_and_read_in_china_standard_time() {
        // 2026-12-01 00:00:00 UTC is 08:00 in Beijing.
        let ms = 1_796_083_200_000;
        assert_eq!(format_time(ms), "2026-12-01 08:00:00");
        assert_eq!(parse_time("2026-12-01T08:00"), Some(ms));
        assert_eq!(parse_time("2026-12-01"), Some(ms - 8 * 3_600_000));
        assert_eq!(format_time(0), "1970-01-01 08:00:00");
        assert_eq!(parse_time("2026-13-01"), None);
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_time("2024-02-29 23:59"), Some(1_709_222_340_000));
        assert_eq!(encode_component("京A 1"), "%E4%BA%ACA%201");
    }
}
