//! `jingxun plugin try`: one component answers one request (or handles one tick of its
//! schedule), with no daemon and no registry:
//! the grants are the ones given on the command line, the store behind the `directory` and
//! `citizen` capabilities is an empty one in memory (so `state` starts empty and the address
//! book has nobody), what the call would leave behind (state, SMS) is shown and dropped, and every host call is kept, with what it
//! reached and whether it was refused, so that a plugin author sees what the plugin asked of the
//! host and what a grant would change. The limits are those of `[plugins]`, as in the daemon.

use std::sync::Arc;

use super::capability::{Call, Effects, HostCallRecord, Services};
use super::runtime::Runtime;
use super::{
    Capability, Grants, InvocationError, Manifest, PluginError, PluginReply, PluginRequest,
    PluginSettings, answer, to_wit,
};
use crate::store::Store;

/// What a trial gives the component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrialInput {
    /// One SMS command.
    Command(PluginRequest),
    /// A tick of the named daily schedule, due now.
    Tick(String),
}

/// How the component took it.
#[derive(Debug)]
pub enum TrialAnswer {
    /// It answered the command.
    Reply(PluginReply),
    /// It handled the event (`on-event` returned `ok`).
    Handled,
}

/// What a trial run is granted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrialGrants {
    /// Datasources, as (name, URL).
    pub datasources: Vec<(String, String)>,
    /// HTTP hosts, `host:port`.
    pub http_hosts: Vec<String>,
    pub capabilities: Vec<Capability>,
    /// Configuration values, as (key, value).
    pub config: Vec<(String, String)>,
    /// Numbers put in the trial's (otherwise empty) address book, canonical.
    pub contacts: Vec<String>,
}

/// How a trial went.
#[derive(Debug)]
pub struct TrialReport {
    /// What the component says it is.
    pub manifest: Manifest,
    /// Every host call, in order.
    pub calls: Vec<HostCallRecord>,
    /// What the call would have left behind in a daemon (state written, SMS queued): nothing
    /// of it is kept.
    pub effects: Effects,
    /// Its answer, or why there is none (a limit it hit among them).
    pub outcome: Result<TrialAnswer, InvocationError>,
}

/// Why a trial could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum TrialError {
    /// The component cannot be loaded, or describes itself wrongly.
    #[error(transparent)]
    Plugin(#[from] PluginError),
    /// The component has no schedule of that name.
    #[error("plugin {plugin} has no schedule `{schedule}`; its schedules: {schedules}")]
    UnknownSchedule {
        plugin: String,
        schedule: String,
        schedules: String,
    },
    /// The component does not answer the request's keyword.
    #[error("plugin {plugin} does not answer {keyword}; it answers: {answers}")]
    UnknownKeyword {
        plugin: String,
        keyword: String,
        answers: String,
    },
}

/// Runs the component `wasm` on `input` with `grants`, within `settings`' limits.
pub async fn run(
    wasm: &[u8],
    grants: &TrialGrants,
    input: TrialInput,
    settings: &PluginSettings,
) -> Result<TrialReport, TrialError> {
    // A throw-away platform key: the trial's store (its address book's audit rows) dies with it.
    let secrets = crate::secrets::Secrets::generate()
        .map_err(|e| PluginError::Engine(format!("cannot make a key for the trial: {e}")))?;
    let store = Store::connect("sqlite::memory:")
        .await
        .map_err(PluginError::from)?
        .with_secrets(&secrets);
    let book = crate::address_book::Book::new(store.clone(), "86");
    for number in &grants.contacts {
        book.save_contact(None, "(trial)", "", None, number, "plugin try")
            .await
            .map_err(|e| PluginError::Engine(format!("contact {number}: {e}")))?;
    }
    let runtime = Arc::new(Runtime::new(settings.cache_dir.clone(), settings.limits)?);
    let services = Arc::new(
        Services::new(tokio::runtime::Handle::current(), store).with_policy(settings.policy),
    );
    let bytes = wasm.to_vec();
    let max_reply_parts = settings.max_reply_parts;
    let grants = grants.clone();
    let work = tokio::task::spawn_blocking(move || {
        let pre = runtime.prepare(&bytes)?;
        let describing = Call {
            grants: Arc::new(Grants::new("(trying)", "")),
            services: services.clone(),
            request_id: "try".into(),
            sender: None,
            traced: false,
        };
        let description = runtime
            .describe(&pre, describing)
            .map_err(PluginError::Manifest)?;
        let manifest = Manifest::from_description(description, pre.contract())?;
        manifest.validate()?;
        match &input {
            TrialInput::Command(request)
                if !manifest
                    .commands
                    .iter()
                    .any(|c| c.keyword == request.keyword) =>
            {
                return Err(TrialError::UnknownKeyword {
                    plugin: manifest.name.clone(),
                    keyword: request.keyword.clone(),
                    answers: manifest.keywords().join(", "),
                });
            }
            TrialInput::Tick(schedule)
                if !manifest.schedules.iter().any(|s| &s.name == schedule) =>
            {
                return Err(TrialError::UnknownSchedule {
                    plugin: manifest.name.clone(),
                    schedule: schedule.clone(),
                    schedules: manifest
                        .schedules
                        .iter()
                        .map(|s| s.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
            _ => {}
        }
        let mut granted = Grants::new(&manifest.name, &manifest.version);
        for (name, url) in &grants.datasources {
            granted.grant_datasource(name, url);
        }
        for host in &grants.http_hosts {
            granted.grant_http_host(host);
        }
        for capability in &grants.capabilities {
            granted.grant(*capability);
        }
        for (key, value) in &grants.config {
            granted.set_config(key, value);
        }
        let call = |request_id: String, sender: Option<String>| Call {
            grants: Arc::new(granted),
            services,
            request_id,
            sender,
            traced: true,
        };
        let (outcome, effects, calls) = match input {
            TrialInput::Command(request) => {
                let call = call(request.id.clone(), Some(request.sender.clone()));
                let finished = runtime.handle(&pre, call, &to_wit(request));
                let outcome = answer(
                    &manifest.name,
                    &manifest.version,
                    finished.result,
                    max_reply_parts,
                )
                .map(TrialAnswer::Reply);
                (outcome, finished.effects, finished.trace)
            }
            TrialInput::Tick(schedule) => {
                let now = crate::clock::now_ms();
                let key = format!("tick:{schedule}:try-{now}");
                let event = super::events::to_wit(
                    &key,
                    1,
                    now,
                    &crate::store::EventPayload::Tick {
                        schedule,
                        due_at: now,
                    },
                );
                let finished = runtime.on_event(&pre, call(key, None), &event);
                let outcome = match finished.result {
                    Ok(Ok(())) => Ok(TrialAnswer::Handled),
                    Ok(Err(e)) => Err(super::plugin_error(&manifest.name, e)),
                    Err(e) => Err(e),
                };
                (outcome, finished.effects, finished.trace)
            }
        };
        Ok(TrialReport {
            manifest,
            calls,
            effects,
            outcome,
        })
    });
    work.await
        .map_err(|e| PluginError::Engine(format!("the trial task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::tests::shipped;
    use crate::plugins::{CallLimits, Outcome};

    fn settings(dir: &std::path::Path) -> PluginSettings {
        PluginSettings {
            cache_dir: dir.join("cache"),
            limits: CallLimits::default(),
            max_reply_parts: 5,
            bundled_dir: None,
            policy: crate::plugins::EffectsPolicy::default(),
            events: crate::plugins::EventSettings::default(),
        }
    }

    fn request(keyword: &str, argument: &str) -> PluginRequest {
        PluginRequest {
            id: "try".into(),
            sender: "+8613800000001".into(),
            keyword: keyword.into(),
            arguments: vec![argument.into()],
            text: format!("{keyword} {argument}"),
            ..PluginRequest::default()
        }
    }

    /// Without the datasource granted, the query is refused and shown refused; with it, the
    /// plugin answers from it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_trial_shows_each_host_call_and_whether_a_grant_was_missing() {
        let dir = tempfile::tempdir().unwrap();
        let police = dir.path().join("police.db");
        jingxun_demo_data::write_demo_database(&police, jingxun_demo_data::DEFAULT_SEED)
            .await
            .unwrap();
        let vehicle = shipped("vehicle");
        let ungranted = run(
            &vehicle,
            &TrialGrants::default(),
            TrialInput::Command(request("CP", "京A12345")),
            &settings(dir.path()),
        )
        .await
        .unwrap();
        assert_eq!(ungranted.manifest.name, "vehicle");
        assert_eq!(ungranted.calls[0].function, "datasource.query");
        assert_eq!(ungranted.calls[0].target, "police");
        assert_eq!(ungranted.calls[0].refused.as_deref(), Some("not granted"));
        assert!(ungranted.outcome.is_err(), "{:?}", ungranted.outcome);
        let granted = TrialGrants {
            datasources: vec![("police".into(), format!("sqlite://{}", police.display()))],
            ..TrialGrants::default()
        };
        let answered = run(
            &vehicle,
            &granted,
            TrialInput::Command(request("CP", "京A12345")),
            &settings(dir.path()),
        )
        .await
        .unwrap();
        let Ok(TrialAnswer::Reply(reply)) = answered.outcome else {
            panic!("no reply: {:?}", answered.outcome);
        };
        assert_eq!(reply.outcome, Outcome::Answered);
        assert!(reply.text.contains("京A12345"), "{}", reply.text);
        assert_eq!(answered.calls[0].refused, None);
    }

    /// An event plugin's tick, tried: what it would send is shown, and a send to a number
    /// outside the trial's address book is shown refused.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_tick_is_tried_and_shows_what_the_plugin_would_send() {
        let dir = tempfile::tempdir().unwrap();
        let notifier = crate::plugins::tests::fixture("notifier");
        let grants = TrialGrants {
            capabilities: vec![Capability::State, Capability::SendToContacts],
            config: vec![
                ("to".into(), "+8613800000042".into()),
                ("stranger".into(), "+8613900000077".into()),
            ],
            contacts: vec!["+8613800000042".into()],
            ..TrialGrants::default()
        };
        let tried = run(
            &notifier,
            &grants,
            TrialInput::Tick("evening".into()),
            &settings(dir.path()),
        )
        .await
        .unwrap();
        assert!(
            matches!(tried.outcome, Ok(TrialAnswer::Handled)),
            "{:?}",
            tried.outcome
        );
        let sent: Vec<(&str, &str)> = tried
            .effects
            .messages
            .iter()
            .map(|m| (m.peer.as_str(), m.text.as_str()))
            .collect();
        assert_eq!(sent, [("+8613800000042", "第1次晚间提醒")]);
        let refused: Vec<&str> = tried
            .calls
            .iter()
            .filter(|c| c.function == "outbox.send" && c.refused.is_some())
            .map(|c| c.target.as_str())
            .collect();
        assert_eq!(refused, ["contact +8613900000077"]);
        let err = run(
            &notifier,
            &grants,
            TrialInput::Tick("morning".into()),
            &settings(dir.path()),
        )
        .await
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "plugin notifier has no schedule `morning`; its schedules: evening"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_keyword_the_plugin_does_not_answer_is_refused_with_what_it_answers() {
        let dir = tempfile::tempdir().unwrap();
        let err = run(
            &shipped("vehicle"),
            &TrialGrants::default(),
            TrialInput::Command(request("ZT", "张伟")),
            &settings(dir.path()),
        )
        .await
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "plugin vehicle does not answer ZT; it answers: CP"
        );
    }
}
