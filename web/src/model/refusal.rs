//! Why the platform refused an action: a [`RefusalCode`] the page shows in the viewer's
//! language (dictionary key `refusal.<code>`), and when it helps the value at fault.

use serde::{Deserialize, Serialize};

/// Why the platform refused an action, for the page to show in the viewer's language: a
/// [`RefusalCode`] and, when it helps, the value at fault (a number, a login, a plugin's load
/// error).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub code: RefusalCode,
    pub detail: Option<String>,
}

impl Refusal {
    /// A refusal without detail.
    pub fn new(code: RefusalCode) -> Self {
        Refusal { code, detail: None }
    }

    /// A refusal naming the value at fault.
    pub fn with(code: RefusalCode, detail: impl Into<String>) -> Self {
        Refusal {
            code,
            detail: Some(detail.into()),
        }
    }

    /// The store or another service failed: try again later (the cause is in the log).
    pub fn unavailable() -> Self {
        Refusal::new(RefusalCode::Unavailable)
    }
}

/// What a backend call answers.
pub type Outcome<T> = Result<T, Refusal>;

jingxun_vocabulary::vocabulary! {
    /// Why an action was refused, as the page's URL (`?error=<code>`) and the dictionary
    /// (`refusal.<code>`) name it. Serialised as the code.
    "refusal code", key "refusal." => pub enum RefusalCode {
        /// The store or another service failed; the cause is in the log.
        Unavailable = "unavailable",
        /// The record asked for does not exist (deleted meanwhile, or not the viewer's to see).
        NotFound = "not_found",
        /// A text is not a phone number.
        InvalidPhone = "invalid_phone",
        /// A new user's login is not a valid login.
        InvalidLogin = "invalid_login",
        /// A name (of a user, a phone's owner, a role, a department...) is empty, too long or has
        /// control characters.
        InvalidName = "invalid_name",
        /// A business keyword is not 1 to 16 letters or digits.
        InvalidKeyword = "invalid_keyword",
        /// No user has this login.
        UnknownUser = "unknown_user",
        /// No role has this name.
        UnknownRole = "unknown_role",
        /// The phone is not registered.
        UnknownPhone = "unknown_phone",
        /// A role of that name exists already.
        RoleExists = "role_exists",
        /// Removing a built-in role.
        BuiltinRole = "builtin_role",
        /// A user with that login exists already.
        UserExists = "user_exists",
        /// The phone is registered already (the detail names its owner).
        PhoneExists = "phone_exists",
        /// Disabling one's own account or dropping one's own administrator role.
        OwnAccount = "own_account",
        /// The administrator's own password, asked before a password reset, is wrong.
        WrongPassword = "wrong_password",
        /// A new password is shorter than the minimum.
        PasswordTooShort = "password_too_short",
        /// A new password is longer than the maximum.
        PasswordTooLong = "password_too_long",
        /// A new password is on the list of common passwords.
        PasswordCommon = "password_common",
        /// A phone import has no rows.
        NoRows = "no_rows",
        /// A phone import has more rows than one import takes.
        TooManyRows = "too_many_rows",
        /// A row of a phone import has no owner's name.
        MissingOwner = "missing_owner",
        /// A row of a phone import repeats the number of an earlier row.
        DuplicateRow = "duplicate_row",
        /// Deleting a department that still holds people or sub-departments.
        DepartmentNotEmpty = "department_not_empty",
        /// Moving a department under itself or one of its sub-departments.
        DepartmentCycle = "department_cycle",
        /// The parent department already has one of that name.
        DepartmentExists = "department_exists",
        /// An address book group of that name exists.
        GroupExists = "group_exists",
        /// An address book person without any number.
        NoNumbers = "no_numbers",
        /// An address book person with more numbers than a person may have.
        TooManyNumbers = "too_many_numbers",
        /// Adding a member to a group without choosing one.
        NoMember = "no_member",
        /// An SMS or the help text is empty.
        EmptyText = "empty_text",
        /// An SMS is longer than the platform sends (the detail gives the limit).
        TextTooLong = "text_too_long",
        /// A group send with no recipient.
        NoRecipients = "no_recipients",
        /// A group send to more recipients than one send takes (the detail gives the limit).
        TooManyRecipients = "too_many_recipients",
        /// The draft of a group send was sent already or expired.
        DraftGone = "draft_gone",
        /// Sending again a message that is not an outgoing failed or expired one.
        NotResendable = "not_resendable",
        /// A plugin upload broke off.
        UploadFailed = "upload_failed",
        /// A plugin upload without a file.
        NoFile = "no_file",
        /// The uploaded plugin does not load, or its manifest is wrong (the detail says why).
        PluginInvalid = "plugin_invalid",
        /// The plugin claims a command another plugin owns.
        KeywordTaken = "keyword_taken",
        /// Rolling back a plugin that has no earlier version.
        NoPrevious = "no_previous",
        /// No plugin has this name.
        UnknownPlugin = "unknown_plugin",
        /// Granting a datasource that is not registered.
        UnknownDatasource = "unknown_datasource",
        /// Granting a plugin something its manifest did not ask for.
        NotAsked = "not_asked",
        /// A plugin grant that cannot be read (an unknown kind, a bad HTTP host).
        BadGrant = "bad_grant",
        /// The help text cannot be used (too long, for one; the detail says why).
        InvalidHelpText = "invalid_help_text",
        /// Binding a phone to a user, or re-enabling a bound phone, by someone not an
        /// administrator.
        BindingNeedsAdmin = "binding_needs_admin",
        /// Seeing or sending again a police query of a business the viewer is not granted.
        QueryNotGranted = "query_not_granted",
        /// The simulated handset with no built-in simulated modem.
        NoSimulator = "no_simulator",
        /// A time in a search is not a date or a date and time.
        InvalidTime = "invalid_time",
        /// An API key's name is not a valid key name.
        InvalidKeyName = "invalid_key_name",
        /// An API key of that name exists (revoked keys keep their names).
        KeyExists = "key_exists",
        /// An API key without a scope.
        NoScope = "no_scope",
        /// An API key's rate is not a whole number of requests per second in range.
        InvalidRate = "invalid_rate",
        /// An API key's service number is not a valid one.
        InvalidServiceNumber = "invalid_service_number",
        /// An API key's allowed network is not a network or an address.
        InvalidNetwork = "invalid_network",
        /// No API key has this name.
        UnknownKey = "unknown_key",
        /// An audit search the audit log cannot run (the detail says why).
        BadFilter = "bad_filter",
        /// A second factor's code (or recovery code) is not the right one.
        WrongCode = "wrong_code",
        /// Confirming a second factor whose enrolment expired or was replaced.
        NoEnrolment = "no_enrolment",
        /// Enrolling a second factor when one is on already.
        TotpEnabled = "totp_enabled",
        /// Turning off a second factor the user's role requires.
        TotpRequired = "totp_required",
        /// Resetting the second factor of a user who has none.
        TotpNotEnabled = "totp_not_enabled",
        /// The re-check of who the user is did not pass (wrong secret), or the account is locked
        /// for a while.
        Refused = "refused",
    }
}

impl RefusalCode {
    /// The code named `code` (as in `?error=`), if there is one.
    pub fn from_code(code: &str) -> Option<RefusalCode> {
        code.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_its_serialised_form_and_reads_back() {
        for &code in RefusalCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()), "{code:?}");
            assert_eq!(serde_json::from_str::<RefusalCode>(&json).unwrap(), code);
            assert_eq!(RefusalCode::from_code(code.as_str()), Some(code));
            assert_eq!(code.i18n_key(), format!("refusal.{code}"));
        }
        assert_eq!(RefusalCode::NotFound.i18n_key(), "refusal.not_found");
        assert_eq!(RefusalCode::from_code("no_such_code"), None);
    }

    #[test]
    fn a_refusal_travels_as_its_code_and_detail() {
        let refusal = Refusal::with(RefusalCode::UnknownUser, "li");
        let json = serde_json::to_value(&refusal).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"code": "unknown_user", "detail": "li"})
        );
        assert_eq!(serde_json::from_value::<Refusal>(json).unwrap(), refusal);
    }
}
