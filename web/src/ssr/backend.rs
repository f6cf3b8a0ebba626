//! What the pages need from the daemon, one trait per page; the daemon implements them all on
//! its accounts, directory and store, and [`WebBackend`] is their sum. Every method that
//! changes something takes the [`Actor`], so that the daemon audits who did it from where.
//! Every answer is an [`Outcome`]: the value, or a [`crate::model::Refusal`] to show.

use std::future::Future;
use std::pin::Pin;

use jingxun_vocabulary::BuiltinRole;

use crate::model::address_book::AddressBook;
use crate::model::api_keys::ApiKeysPage;
use crate::model::audit::{AuditList, AuditSearch};
use crate::model::dashboard::Dashboard;
use crate::model::help_text::HelpTextPage;
use crate::model::messages::{MessageDetail, MessageList, MessageSearch};
use crate::model::phones::{ImportReport, PhonesPage};
use crate::model::plugins::PluginsPage;
use crate::model::send::{Batch, SendPage};
use crate::model::simulator::SimulatorPage;
use crate::model::two_step::{ReauthPage, TwoStepPage};
use crate::model::users::UsersPage;
use crate::model::{Outcome, SignInStep};

/// A boxed future, as the backend's methods return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The signed-in user making a request, and from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// What the backend identifies the session by (the SHA-256 of its id, never the id).
    pub session_key: String,
    pub login: String,
    pub name: String,
    /// Directory roles (built-in and administrator-defined).
    pub roles: Vec<String>,
    /// The client's address.
    pub source: Option<String>,
}

impl Actor {
    /// Whether the actor holds the built-in `role`.
    pub fn has_role(&self, role: BuiltinRole) -> bool {
        role.is_among(&self.roles)
    }
}

/// Why a password change was refused; [`PasswordChangeError::code`] goes into the page's URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordChangeError {
    WrongCurrent,
    Mismatch,
    TooShort,
    TooLong,
    Common,
    Failed,
}

impl PasswordChangeError {
    /// The code shown by the page (`?error=...`).
    pub fn code(self) -> &'static str {
        match self {
            PasswordChangeError::WrongCurrent => "wrong_current",
            PasswordChangeError::Mismatch => "mismatch",
            PasswordChangeError::TooShort => "too_short",
            PasswordChangeError::TooLong => "too_long",
            PasswordChangeError::Common => "common",
            PasswordChangeError::Failed => "failed",
        }
    }
}

/// A sign-in whose password was right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    /// The `Set-Cookie` values that open the session.
    pub cookies: Vec<String>,
    /// The step of the sign-in still to take, if any.
    pub next: Option<SignInStep>,
}

/// Sign-in, sign-out, own password.
pub trait SessionBackend: Send + Sync {
    /// Checks a login and password; on success the `Set-Cookie` values that open the session,
    /// and the step of the sign-in still to take, if any. Every refusal is the same `Err(())`.
    fn sign_in(
        &self,
        login: String,
        password: String,
        source: Option<String>,
    ) -> BoxFuture<'_, Result<SignedIn, ()>>;
    /// Ends the session (if any); the `Set-Cookie` values that clear its cookie.
    fn sign_out<'a>(&'a self, actor: Option<&'a Actor>) -> BoxFuture<'a, Vec<String>>;
    /// Changes the actor's password after checking the current one.
    fn change_password<'a>(
        &'a self,
        actor: &'a Actor,
        current: String,
        new_password: String,
    ) -> BoxFuture<'a, Result<(), PasswordChangeError>>;
}

/// The second factor (issue 18 item 10): the sign-in's code step, the re-check before
/// sensitive actions, one's own enrolment.
pub trait TwoStepBackend: Send + Sync {
    /// The code step of a sign-in (the actor's session waits for it): a TOTP code or a
    /// recovery code. On success the `Set-Cookie` values of the full session that replaces
    /// it; every refusal is the same `Err(())`.
    fn second_factor<'a>(
        &'a self,
        actor: &'a Actor,
        code: String,
    ) -> BoxFuture<'a, Result<Vec<String>, ()>>;
    /// What the re-check asks the actor for.
    fn reauth_page<'a>(&'a self, actor: &'a Actor) -> BoxFuture<'a, Outcome<ReauthPage>>;
    /// Proves again who the actor is (a code, a recovery code or the password, as
    /// [`TwoStepBackend::reauth_page`] said); every refusal is the same `Err(())`.
    fn reauthenticate<'a>(
        &'a self,
        actor: &'a Actor,
        secret: String,
    ) -> BoxFuture<'a, Result<(), ()>>;
    /// The actor's own second factor; with `codes`, the recovery codes kept under that id for
    /// this one showing.
    fn two_step<'a>(
        &'a self,
        actor: &'a Actor,
        codes: Option<String>,
    ) -> BoxFuture<'a, Outcome<TwoStepPage>>;
    /// Begins an enrolment (a new secret to show).
    fn two_step_begin<'a>(&'a self, actor: &'a Actor) -> BoxFuture<'a, Outcome<()>>;
    /// Confirms the enrolment with the authenticator's code: the id under which the recovery
    /// codes wait to be shown once, and the `Set-Cookie` values of a new session when the
    /// enrolment completed a sign-in.
    fn two_step_confirm<'a>(
        &'a self,
        actor: &'a Actor,
        code: String,
    ) -> BoxFuture<'a, Outcome<(String, Vec<String>)>>;
    /// Turns the actor's own second factor off.
    fn two_step_disable<'a>(&'a self, actor: &'a Actor) -> BoxFuture<'a, Outcome<()>>;
}

/// The dashboard.
pub trait DashboardBackend: Send + Sync {
    fn dashboard(&self) -> BoxFuture<'_, Outcome<Dashboard>>;
}

/// A new user, from the users page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewUser {
    pub login: String,
    pub name: String,
    pub roles: Vec<String>,
    /// A web password to set, if the user signs in to the admin.
    pub password: Option<String>,
}

/// Users, roles and grants (R2).
pub trait UsersBackend: Send + Sync {
    fn users(&self) -> BoxFuture<'_, Outcome<UsersPage>>;
    fn user_create<'a>(&'a self, actor: &'a Actor, user: NewUser) -> BoxFuture<'a, Outcome<()>>;
    fn user_set_active<'a>(
        &'a self,
        actor: &'a Actor,
        login: String,
        active: bool,
    ) -> BoxFuture<'a, Outcome<()>>;
    /// Makes the user's roles exactly `roles`.
    fn user_set_roles<'a>(
        &'a self,
        actor: &'a Actor,
        login: String,
        roles: Vec<String>,
    ) -> BoxFuture<'a, Outcome<()>>;
    /// Makes the user's own grants exactly `businesses`.
    fn user_set_grants<'a>(
        &'a self,
        actor: &'a Actor,
        login: String,
        businesses: Vec<String>,
    ) -> BoxFuture<'a, Outcome<()>>;
    /// Sets another user's web password, after checking the actor's own (`actor_password`).
    fn user_reset_password<'a>(
        &'a self,
        actor: &'a Actor,
        login: String,
        actor_password: String,
        new_password: String,
    ) -> BoxFuture<'a, Outcome<()>>;
    /// Removes another user's second factor (a lost phone); the user's sessions end.
    fn user_totp_reset<'a>(&'a self, actor: &'a Actor, login: String)
    -> BoxFuture<'a, Outcome<()>>;
    /// Creates a role of the administrator's own.
    fn role_create<'a>(
        &'a self,
        actor: &'a Actor,
        name: String,
        description: String,
    ) -> BoxFuture<'a, Outcome<()>>;
    /// Removes a role the administrator made (not a built-in one).
    fn role_remove<'a>(&'a self, actor: &'a Actor, name: String) -> BoxFuture<'a, Outcome<()>>;
    /// Makes the role's businesses exactly `businesses`.
    fn role_set_grants<'a>(
        &'a self,
        actor: &'a Actor,
        name: String,
        businesses: Vec<String>,
    ) -> BoxFuture<'a, Outcome<()>>;
}

/// The phone registry (R6).
pub trait PhonesBackend: Send + Sync {
    fn phones(&self) -> BoxFuture<'_, Outcome<PhonesPage>>;
    /// Registers a phone; answers its canonical number.
    fn phone_add<'a>(
        &'a self,
        actor: &'a Actor,
        number: String,
        owner_name: String,
        user: Option<String>,
    ) -> BoxFuture<'a, Outcome<String>>;
    fn phone_set_active<'a>(
        &'a self,
        actor: &'a Actor,
        number: String,
        active: bool,
    ) -> BoxFuture<'a, Outcome<()>>;
    fn phone_remove<'a>(&'a self, actor: &'a Actor, number: String) -> BoxFuture<'a, Outcome<()>>;
    /// Registers the rows of a CSV text (`number,owner[,login]`); answers the id of its
    /// report, kept for the actor for a day.
    fn phone_import<'a>(&'a self, actor: &'a Actor, csv: String) -> BoxFuture<'a, Outcome<String>>;
    fn phone_import_report<'a>(
        &'a self,
        actor: &'a Actor,
        id: String,
    ) -> BoxFuture<'a, Outcome<ImportReport>>;
}

/// A member of a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupMember {
    Contact(i64),
    Department(i64),
}

/// The address book (R21).
pub trait AddressBookBackend: Send + Sync {
    fn address_book(&self) -> BoxFuture<'_, Outcome<AddressBook>>;
    /// Creates (`id` None) or renames and moves a department; answers its id.
    fn department_save<'a>(
        &'a self,
        actor: &'a Actor,
        id: Option<i64>,
        parent: Option<i64>,
        name: String,
    ) -> BoxFuture<'a, Outcome<i64>>;
    /// Deletes an empty department.
    fn department_delete<'a>(&'a self, actor: &'a Actor, id: i64) -> BoxFuture<'a, Outcome<()>>;
    /// Creates or changes a contact; `numbers` as typed (commas, spaces or newlines between).
    #[allow(clippy::too_many_arguments)]
    fn contact_save<'a>(
        &'a self,
        actor: &'a Actor,
        id: Option<i64>,
        name: String,
        title: String,
        department: Option<i64>,
        numbers: String,
    ) -> BoxFuture<'a, Outcome<i64>>;
    fn contact_delete<'a>(&'a self, actor: &'a Actor, id: i64) -> BoxFuture<'a, Outcome<()>>;
    /// Creates or renames a group.
    fn group_save<'a>(
        &'a self,
        actor: &'a Actor,
        id: Option<i64>,
        name: String,
    ) -> BoxFuture<'a, Outcome<i64>>;
    fn group_delete<'a>(&'a self, actor: &'a Actor, id: i64) -> BoxFuture<'a, Outcome<()>>;
    /// Adds (`present`) or removes a member.
    fn group_set_member<'a>(
        &'a self,
        actor: &'a Actor,
        group: i64,
        member: GroupMember,
        present: bool,
    ) -> BoxFuture<'a, Outcome<()>>;
}

/// What the send form asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendRequest {
    pub text: String,
    /// Numbers as typed.
    pub numbers: String,
    pub departments: Vec<i64>,
    pub groups: Vec<i64>,
    pub contacts: Vec<i64>,
}

/// Group send (R7).
pub trait SendBackend: Send + Sync {
    /// The form, a draft (`draft`, the actor's own) or a batch's results (`batch`).
    fn send_page<'a>(
        &'a self,
        actor: &'a Actor,
        draft: Option<String>,
        batch: Option<String>,
    ) -> BoxFuture<'a, Outcome<SendPage>>;
    /// Resolves the recipients and keeps a draft to confirm; answers its id.
    fn send_prepare<'a>(
        &'a self,
        actor: &'a Actor,
        request: SendRequest,
    ) -> BoxFuture<'a, Outcome<String>>;
    /// Sends a draft (once); answers the batch id.
    fn send_confirm<'a>(
        &'a self,
        actor: &'a Actor,
        draft: String,
    ) -> BoxFuture<'a, Outcome<String>>;
    /// A batch's results (its sender's or, for administrators, any).
    fn batch<'a>(&'a self, actor: &'a Actor, id: String) -> BoxFuture<'a, Outcome<Batch>>;
}

/// The message store.
pub trait MessagesBackend: Send + Sync {
    fn messages<'a>(
        &'a self,
        actor: &'a Actor,
        search: MessageSearch,
    ) -> BoxFuture<'a, Outcome<MessageList>>;
    fn message<'a>(&'a self, actor: &'a Actor, id: i64) -> BoxFuture<'a, Outcome<MessageDetail>>;
    /// Queues a failed or expired message again as a new message; answers its id.
    fn message_resend<'a>(&'a self, actor: &'a Actor, id: i64) -> BoxFuture<'a, Outcome<i64>>;
}

/// What a plugin grant allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginGrantKind {
    Datasource,
    HttpHost,
    /// A host capability of contract 1.1, by name.
    Capability,
}

/// The plugin registry.
pub trait PluginsBackend: Send + Sync {
    fn plugins(&self) -> BoxFuture<'_, Outcome<PluginsPage>>;
    /// Installs or upgrades from an uploaded component; answers `name@version`.
    fn plugin_install<'a>(
        &'a self,
        actor: &'a Actor,
        component: Vec<u8>,
    ) -> BoxFuture<'a, Outcome<String>>;
    fn plugin_set_enabled<'a>(
        &'a self,
        actor: &'a Actor,
        name: String,
        enabled: bool,
    ) -> BoxFuture<'a, Outcome<()>>;
    fn plugin_rollback<'a>(&'a self, actor: &'a Actor, name: String) -> BoxFuture<'a, Outcome<()>>;
    /// Grants (`granted`) or revokes a datasource, an HTTP host or a capability.
    fn plugin_grant<'a>(
        &'a self,
        actor: &'a Actor,
        name: String,
        kind: PluginGrantKind,
        target: String,
        granted: bool,
    ) -> BoxFuture<'a, Outcome<()>>;
}

/// A new API key as the form gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewApiKeyForm {
    pub name: String,
    /// `send`, `receive`, `notify`.
    pub scopes: Vec<String>,
    /// Requests per second, as typed.
    pub rate: String,
    /// Service numbers it may send from, as typed (separated by commas, spaces or lines).
    pub service_numbers: String,
    /// Networks it may be used from (CIDR or addresses), as typed.
    pub networks: String,
}

/// The API keys of other systems (issue 5, R19).
pub trait ApiKeysBackend: Send + Sync {
    /// Every key; with `created`, the key this actor just created, taken from where it was
    /// kept for this one showing.
    fn api_keys<'a>(
        &'a self,
        actor: &'a Actor,
        created: Option<String>,
    ) -> BoxFuture<'a, Outcome<ApiKeysPage>>;
    /// Creates a key; answers the id under which its secret waits to be shown once.
    fn api_key_create<'a>(
        &'a self,
        actor: &'a Actor,
        form: NewApiKeyForm,
    ) -> BoxFuture<'a, Outcome<String>>;
    /// Revokes a key (the daemon refuses it within seconds).
    fn api_key_revoke<'a>(&'a self, actor: &'a Actor, name: String) -> BoxFuture<'a, Outcome<()>>;
}

/// The help text (R15).
pub trait HelpTextBackend: Send + Sync {
    /// The text, and what `phone` (if given) receives for `H`.
    fn help_text(&self, phone: Option<String>) -> BoxFuture<'_, Outcome<HelpTextPage>>;
    fn help_text_set<'a>(&'a self, actor: &'a Actor, text: String) -> BoxFuture<'a, Outcome<()>>;
}

/// The audit log (each read is itself audited).
pub trait AuditBackend: Send + Sync {
    fn audit<'a>(
        &'a self,
        actor: &'a Actor,
        search: AuditSearch,
    ) -> BoxFuture<'a, Outcome<AuditList>>;
    /// Every matching row (up to the export limit) as CSV.
    fn audit_csv<'a>(
        &'a self,
        actor: &'a Actor,
        search: AuditSearch,
    ) -> BoxFuture<'a, Outcome<String>>;
}

/// The simulated handset.
pub trait SimulatorBackend: Send + Sync {
    /// The page as `actor` may see it: police queries and replies the actor is not granted are
    /// withheld, and reading granted ones is audited.
    fn simulator<'a>(
        &'a self,
        actor: &'a Actor,
        phone: Option<String>,
    ) -> BoxFuture<'a, Outcome<SimulatorPage>>;
    /// Delivers `text` from `phone` through the built-in simulated modem.
    fn handset_send<'a>(
        &'a self,
        actor: &'a Actor,
        phone: String,
        text: String,
    ) -> BoxFuture<'a, Outcome<()>>;
}

/// The daemon's life and the session's, for the live feeds.
pub trait LiveBackend: Send + Sync {
    /// Resolves when the daemon begins to stop (feeds end then, so that the drain is quick).
    fn stopping(&self) -> BoxFuture<'static, ()>;
    /// Whether the actor's session is still open (a feed ends when it is not).
    fn still_signed_in<'a>(&'a self, actor: &'a Actor) -> BoxFuture<'a, bool>;
}

/// Everything the web admin needs from the daemon.
pub trait WebBackend:
    SessionBackend
    + TwoStepBackend
    + LiveBackend
    + DashboardBackend
    + UsersBackend
    + PhonesBackend
    + AddressBookBackend
    + SendBackend
    + MessagesBackend
    + PluginsBackend
    + ApiKeysBackend
    + HelpTextBackend
    + AuditBackend
    + SimulatorBackend
    + 'static
{
}

impl<T> WebBackend for T where
    T: SessionBackend
        + TwoStepBackend
        + LiveBackend
        + DashboardBackend
        + UsersBackend
        + PhonesBackend
        + AddressBookBackend
        + SendBackend
        + MessagesBackend
        + PluginsBackend
        + ApiKeysBackend
        + HelpTextBackend
        + AuditBackend
        + SimulatorBackend
        + 'static
{
}
