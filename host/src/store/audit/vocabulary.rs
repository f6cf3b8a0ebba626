//! The words of the audit log, each a type: which part of the platform wrote a row
//! ([`AuditComponent`]), what happened ([`AuditEvent`]) and how it ended ([`AuditOutcome`]).
//! This file is the one list of every event the platform audits; a row cannot name another.
//!
//! Rows are stored with the text of each word (`phone.add`), which is what `jingxun audit list
//! --event` and the web admin's filter match; the text of a word never changes once released,
//! since the hash chain covers it.

// The words are declared with the platform's one vocabulary macro; an unknown text is
// refused with `jingxun_vocabulary::UnknownWord`, which lists the words.
pub use jingxun_vocabulary::UnknownWord;
use jingxun_vocabulary::vocabulary;

vocabulary! {
    /// The part of the platform that wrote a row.
    "audit component" => pub enum AuditComponent {
        /// The SMS command router: officers' queries.
        Router = "router",
        /// The HTTP API and its keys.
        Api = "api",
        /// Web admin sign-in, sessions, passwords and second factors.
        Auth = "auth",
        /// The web admin's own actions (sends, reads, the handset).
        Web = "web",
        /// The command line.
        Cli = "cli",
        /// Users, roles, phones and grants.
        Directory = "directory",
        /// Departments, contacts and groups.
        AddressBook = "address_book",
        /// Plugins, their grants and data sources.
        Plugins = "plugins",
        /// Notification templates.
        Notifications = "notifications",
        /// Reading the audit log itself.
        Audit = "audit",
        /// Backups and restores.
        Backup = "backup",
        /// Retention runs.
        Retention = "retention",
        /// The website's members: accounts, bound phones, caps.
        Members = "members",
        /// Channels and the news published on them.
        Channels = "channels",
    }
}

vocabulary! {
    /// How an audited action ended.
    "audit outcome" => pub enum AuditOutcome {
        /// Done.
        Ok = "ok",
        /// A query answered with data.
        Answered = "answered",
        /// A query that found nothing.
        NotFound = "not_found",
        /// A command whose arguments the plugin could not read (it answered with the usage).
        BadArguments = "bad_arguments",
        /// Not allowed: the actor lacks the right, or a check said no.
        Refused = "refused",
        /// The platform failed (a plugin, the store); the details say what.
        Error = "error",
        /// A request the platform could not read (an API call answered 4xx).
        Invalid = "invalid",
        /// An API call that conflicted with the state (409).
        Conflict = "conflict",
        /// An API call refused by the rate limit (429).
        Limited = "limited",
        /// An API call repeated with its idempotency key: answered as the first, changed nothing.
        Replayed = "replayed",
    }
}

vocabulary! {
    /// What happened. Grouped by what it happened to; `<thing>.<verb>`.
    "audit event" => pub enum AuditEvent {
        /// An SMS command asking for police data (or refused one).
        Query = "query",
        /// A plugin read the status of a citizen's application for the phone that asked (R17).
        CitizenLookup = "citizen.lookup",
        /// A web sign-in (password, then second factor when required).
        Signin = "signin",
        /// A right password at sign-in, with a second-factor step still to take.
        SigninPassword = "signin.password",
        /// A sign-in refused because the account or address used up its attempts.
        SigninBlocked = "signin.blocked",
        /// A web session ended by its user.
        Signout = "signout",
        /// A signed-in user confirmed their password (and code) again before a sensitive change.
        Reauth = "reauth",
        /// An administrator set a user's password.
        PasswordSet = "password.set",
        /// A user changed their own password.
        PasswordChange = "password.change",
        /// The first administrator was created at first start.
        AccountInitialAdmin = "account.initial_admin",
        /// A user turned on their second factor (TOTP).
        TotpEnrol = "totp.enrol",
        /// A user turned off their second factor.
        TotpDisable = "totp.disable",
        /// An administrator cleared a user's second factor from the command line.
        TotpReset = "totp.reset",
        /// A second-factor code was refused.
        TotpVerify = "totp.verify",
        /// A recovery code was used instead of an authenticator code.
        TotpRecoveryCode = "totp.recovery_code",
        /// A user was created.
        UserAdd = "user.add",
        /// A user was enabled.
        UserEnable = "user.enable",
        /// A user was disabled.
        UserDisable = "user.disable",
        /// A user was given a role.
        UserRoleAdd = "user.role.add",
        /// A user lost a role.
        UserRoleRemove = "user.role.remove",
        /// A business (command) was granted to a user directly.
        UserGrant = "user.grant",
        /// A business was taken from a user.
        UserRevoke = "user.revoke",
        /// An administrator created a role of their own.
        RoleAdd = "role.add",
        /// A role was removed.
        RoleRemove = "role.remove",
        /// A business was granted to a role.
        RoleGrant = "role.grant",
        /// A business was taken from a role.
        RoleRevoke = "role.revoke",
        /// An officer phone was registered.
        PhoneAdd = "phone.add",
        /// An officer phone was removed from the registry.
        PhoneRemove = "phone.remove",
        /// An officer phone was enabled.
        PhoneEnable = "phone.enable",
        /// An officer phone was disabled.
        PhoneDisable = "phone.disable",
        /// A phone was bound to another owner.
        PhoneBind = "phone.bind",
        /// The help text (`H`) was set.
        HelpTextSet = "help_text.set",
        /// A plugin version was installed.
        PluginInstall = "plugin.install",
        /// A plugin went back to its previous version.
        PluginRollback = "plugin.rollback",
        /// A plugin was enabled.
        PluginEnable = "plugin.enable",
        /// A plugin was disabled.
        PluginDisable = "plugin.disable",
        /// A capability was granted to a plugin.
        PluginGrant = "plugin.grant",
        /// A capability was taken from a plugin.
        PluginRevoke = "plugin.revoke",
        /// A plugin's settings were changed.
        PluginConfig = "plugin.config",
        /// A plugin queued an SMS through its outbox, or the host refused it (the phone is the
        /// recipient's; committed with the plugin's call).
        PluginSend = "plugin.send",
        /// An event a plugin could not handle in every attempt was given up.
        PluginEvent = "plugin.event",
        /// An administrator had a plugin's schedule tick now.
        PluginTick = "plugin.tick",
        /// A data source for plugins was added.
        DatasourceAdd = "datasource.add",
        /// A website member was added.
        MemberAdd = "member.add",
        /// A phone was bound to a member (the phone is the bound one).
        MemberBind = "member.bind",
        /// A member's cap on news SMS was set or removed.
        MemberCap = "member.cap",
        /// A channel was created.
        ChannelAdd = "channel.add",
        /// A news item was published on a channel.
        NewsPublish = "news.publish",
        /// Someone read the audit log.
        AuditRead = "audit.read",
        /// Someone verified the audit log's chain.
        AuditVerify = "audit.verify",
        /// Audit rows of API calls were dropped because their queue was full.
        AuditDropped = "audit.dropped",
        /// An API key was created.
        ApikeyCreate = "apikey.create",
        /// An API key was revoked.
        ApikeyRevoke = "apikey.revoke",
        /// An API key's inbound routes (keywords, service numbers) were set.
        ApikeyInbound = "apikey.inbound",
        /// An API key's allowed networks were set.
        ApikeyNetworks = "apikey.networks",
        /// An API key's webhook was set.
        ApikeyWebhook = "apikey.webhook",
        /// An API request's key was refused.
        ApiAuth = "auth",
        /// An address used up its budget of failed API authentications.
        ApiAuthBlocked = "auth.blocked",
        /// An API call that changed nothing, or that the handler did not audit itself.
        ApiCall = "call",
        /// Messages were queued for sending (API, web admin, command line).
        MessageSend = "message.send",
        /// An OA notice was queued through the API (R6).
        NotificationOa = "notification.oa",
        /// A citizen's application notice was queued through the API, with its status change.
        NotificationCitizen = "notification.citizen",
        /// Someone read a police query or its reply in the web admin.
        MessageRead = "message.read",
        /// An SMS sent from the web admin's simulated handset.
        HandsetSms = "handset.sms",
        /// A notification template was set.
        TemplateSet = "template.set",
        /// A department was created.
        DepartmentAdd = "department.add",
        /// A department was changed.
        DepartmentChange = "department.change",
        /// A department was deleted.
        DepartmentDelete = "department.delete",
        /// A contact was created.
        ContactAdd = "contact.add",
        /// A contact was changed.
        ContactChange = "contact.change",
        /// A contact was deleted.
        ContactDelete = "contact.delete",
        /// A group was created.
        GroupAdd = "group.add",
        /// A group was changed.
        GroupChange = "group.change",
        /// A group was saved with its members.
        GroupSave = "group.save",
        /// A contact or department joined a group.
        GroupMemberAdd = "group.member.add",
        /// A contact or department left a group.
        GroupMemberRemove = "group.member.remove",
        /// A group was deleted.
        GroupDelete = "group.delete",
        /// A backup was written.
        BackupCreate = "backup.create",
        /// A backup was restored.
        BackupRestore = "backup.restore",
        /// Retention deleted old messages and audit rows.
        RetentionRun = "retention.run",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_reads_back_as_itself() {
        for &e in AuditEvent::ALL {
            assert_eq!(e.as_str().parse::<AuditEvent>(), Ok(e));
        }
        for &o in AuditOutcome::ALL {
            assert_eq!(o.as_str().parse::<AuditOutcome>(), Ok(o));
        }
        for &c in AuditComponent::ALL {
            assert_eq!(c.as_str().parse::<AuditComponent>(), Ok(c));
        }
    }

    #[test]
    fn no_two_events_share_a_text() {
        let mut texts: Vec<_> = AuditEvent::ALL.iter().map(|e| e.as_str()).collect();
        texts.sort_unstable();
        let before = texts.len();
        texts.dedup();
        assert_eq!(texts.len(), before);
    }

    /// The texts are what the hash chain covers and what filters match: the characters the
    /// store always accepted, so that old and new rows read alike.
    #[test]
    fn every_text_keeps_to_the_characters_rows_always_had() {
        let fits = |t: &str, extra: &str| {
            !t.is_empty()
                && t.len() <= 64
                && t.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || extra.contains(c))
        };
        assert!(AuditEvent::ALL.iter().all(|e| fits(e.as_str(), "._-")));
        assert!(AuditComponent::ALL.iter().all(|c| fits(c.as_str(), "._-:")));
        assert!(AuditOutcome::ALL.iter().all(|o| fits(o.as_str(), "_")));
    }

    #[test]
    fn an_unknown_event_is_refused_with_the_list() {
        let err = "phone.steal".parse::<AuditEvent>().unwrap_err();
        assert!(err.to_string().contains("phone.add"), "{err}");
        assert!(err.to_string().contains("phone.steal"), "{err}");
    }

    #[test]
    fn words_travel_in_json_as_their_text() {
        let json = serde_json::to_string(&AuditEvent::UserRoleAdd).unwrap();
        assert_eq!(json, "\"user.role.add\"");
        assert_eq!(
            serde_json::from_str::<AuditEvent>(&json).unwrap(),
            AuditEvent::UserRoleAdd
        );
    }
}
