//! The words of citizens' applications (R17): what an application is for ([`ApplicationKind`])
//! and where it stands ([`ApplicationStatus`]), as offices report them through the HTTP API,
//! notices show them, and a citizen's SMS query answers them.

use std::fmt;

use serde::Serialize;

/// The kinds of citizen application (R17).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationKind {
    /// 护照 (ordinary passport).
    Passport,
    /// 出入境通行证 (permits for Hong Kong, Macao, Taiwan).
    ExitEntry,
    /// 居民身份证.
    IdCard,
}

impl ApplicationKind {
    /// The name used in requests and stored.
    pub fn as_str(self) -> &'static str {
        match self {
            ApplicationKind::Passport => "passport",
            ApplicationKind::ExitEntry => "exit_entry",
            ApplicationKind::IdCard => "id_card",
        }
    }

    /// Every kind.
    pub const ALL: [ApplicationKind; 3] = [
        ApplicationKind::Passport,
        ApplicationKind::ExitEntry,
        ApplicationKind::IdCard,
    ];

    /// The kind named `name` (as stored).
    pub fn from_name(name: &str) -> Option<ApplicationKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Its template's name.
    pub fn template(self) -> &'static str {
        match self {
            ApplicationKind::Passport => "citizen.passport",
            ApplicationKind::ExitEntry => "citizen.exit_entry",
            ApplicationKind::IdCard => "citizen.id_card",
        }
    }
}

impl fmt::Display for ApplicationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a citizen application stands; `{status}` shows it in Chinese ([`Self::label`]).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationStatus {
    /// 已受理.
    Accepted,
    /// 审核中.
    InReview,
    /// 已批准.
    Approved,
    /// 制证中.
    InProduction,
    /// 可领取.
    ReadyForCollection,
    /// 已寄出 (sent by post).
    Mailed,
    /// 已领取.
    Collected,
    /// 未通过.
    Rejected,
}

impl ApplicationStatus {
    /// Every status.
    pub const ALL: [ApplicationStatus; 8] = [
        ApplicationStatus::Accepted,
        ApplicationStatus::InReview,
        ApplicationStatus::Approved,
        ApplicationStatus::InProduction,
        ApplicationStatus::ReadyForCollection,
        ApplicationStatus::Mailed,
        ApplicationStatus::Collected,
        ApplicationStatus::Rejected,
    ];

    /// The name used in requests and stored.
    pub fn as_str(self) -> &'static str {
        match self {
            ApplicationStatus::Accepted => "accepted",
            ApplicationStatus::InReview => "in_review",
            ApplicationStatus::Approved => "approved",
            ApplicationStatus::InProduction => "in_production",
            ApplicationStatus::ReadyForCollection => "ready_for_collection",
            ApplicationStatus::Mailed => "mailed",
            ApplicationStatus::Collected => "collected",
            ApplicationStatus::Rejected => "rejected",
        }
    }

    /// What `{status}` becomes in the text.
    pub fn label(self) -> &'static str {
        match self {
            ApplicationStatus::Accepted => "已受理",
            ApplicationStatus::InReview => "审核中",
            ApplicationStatus::Approved => "已批准",
            ApplicationStatus::InProduction => "制证中",
            ApplicationStatus::ReadyForCollection => "可领取",
            ApplicationStatus::Mailed => "已寄出",
            ApplicationStatus::Collected => "已领取",
            ApplicationStatus::Rejected => "未通过",
        }
    }

    /// The status named `name` (as stored).
    pub fn from_name(name: &str) -> Option<ApplicationStatus> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}
