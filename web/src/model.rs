//! What the server and the browser exchange: who is looking, the pages and who may open them,
//! and the dashboard's figures. Plain serde types, compiled into both sides.

use serde::{Deserialize, Serialize};

use crate::i18n::Lang;

/// The four roles that may use the web admin (directory roles, checked on the server).
pub const ADMIN: &str = "admin";
/// May send and read messages, run the platform.
pub const OPERATOR: &str = "operator";
/// May maintain the registry of officer phones.
pub const REGISTRAR: &str = "registrar";
/// Reads the audit log only.
pub const AUDITOR: &str = "auditor";

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
}

/// A signed-in user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewerUser {
    pub login: String,
    pub name: String,
    /// Directory roles, sorted.
    pub roles: Vec<String>,
}

impl ViewerUser {
    /// Whether the user may open `page`.
    pub fn may_open(&self, page: Page) -> bool {
        page.allows(&self.roles)
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
    HelpText,
    Audit,
    Simulator,
    Password,
}

impl Page {
    /// Every page, in navigation order.
    pub const ALL: [Page; 11] = [
        Page::Dashboard,
        Page::Send,
        Page::Messages,
        Page::Users,
        Page::Phones,
        Page::AddressBook,
        Page::Plugins,
        Page::HelpText,
        Page::Audit,
        Page::Simulator,
        Page::Password,
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
            Page::HelpText => "/help-text",
            Page::Audit => "/audit",
            Page::Simulator => "/simulator",
            Page::Password => "/password",
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
    pub fn roles(self) -> &'static [&'static str] {
        match self {
            Page::Dashboard | Page::Password => &[ADMIN, OPERATOR, REGISTRAR, AUDITOR],
            Page::Send | Page::Messages | Page::AddressBook | Page::Simulator => &[ADMIN, OPERATOR],
            Page::Users | Page::Plugins | Page::HelpText => &[ADMIN],
            Page::Phones => &[ADMIN, REGISTRAR],
            Page::Audit => &[ADMIN, AUDITOR],
        }
    }

    /// Whether a user with `roles` may open the page.
    pub fn allows(self, roles: &[String]) -> bool {
        self.roles().iter().any(|r| roles.iter().any(|x| x == r))
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
            Page::HelpText => "page.help_text",
            Page::Audit => "page.audit",
            Page::Simulator => "page.simulator",
            Page::Password => "page.password",
        }
    }
}

/// The dashboard's figures (read-only; live updates come later).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dashboard {
    pub modems: Vec<ModemRow>,
    /// Outbound messages per state: queued, sending, sent, delivered, failed, expired.
    pub queue: Vec<(String, u64)>,
}

/// One modem on the dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModemRow {
    pub name: String,
    /// `connecting`, `initialising`, `ready`, `down`, `stopped`.
    pub state: String,
    /// `+CSQ` 0-31 (99 unknown).
    pub signal: Option<u8>,
    pub registered: Option<bool>,
    pub last_error: Option<String>,
    pub parts_sent: u64,
    pub parts_failed: u64,
    pub parts_received: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_has_its_path_and_admin_opens_all() {
        let admin = vec![ADMIN.to_string()];
        for page in Page::ALL {
            assert_eq!(Page::from_path(page.path()), Some(page));
            assert!(page.allows(&admin), "{page:?}");
        }
        let operator = vec![OPERATOR.to_string()];
        assert!(!Page::Users.allows(&operator));
        assert!(Page::Send.allows(&operator));
        assert!(!Page::Dashboard.allows(&["officer".to_string()]));
        assert_eq!(Page::from_path("/users/"), Some(Page::Users));
        assert_eq!(Page::from_path("/signin"), None);
    }
}
