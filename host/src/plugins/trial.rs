//! `jingxun plugin try`: one component answers one request, with no daemon and no registry:
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
    pub outcome: Result<PluginReply, InvocationError>,
}

/// Why a trial could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum TrialError {
    /// The component cannot be loaded, or describes itself wrongly.
    #[error(transparent)]
    Plugin(#[from] PluginError),
    /// The component does not answer the request's keyword.
    #[error("plugin {plugin} does not answer {keyword}; it answers: {answers}")]
    UnknownKeyword {
        plugin: String,
        keyword: String,
        answers: String,
    },
}

/// Runs the component `wasm` on `request` with `grants`, within `settings`' limits.
pub async fn run(
    wasm: &[u8],
    grants: &TrialGrants,
    request: PluginRequest,
    settings: &PluginSettings,
) -> Result<TrialReport, TrialError> {
    let store = Store::connect("sqlite::memory:")
        .await
        .map_err(PluginError::from)?;
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
        if !manifest
            .commands
            .iter()
            .any(|c| c.keyword == request.keyword)
        {
            return Err(TrialError::UnknownKeyword {
                plugin: manifest.name.clone(),
                keyword: request.keyword,
                answers: manifest.keywords().join(", "),
            });
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
        let call = Call {
            grants: Arc::new(granted),
            services,
            request_id: request.id.clone(),
            sender: Some(request.sender.clone()),
            traced: true,
        };
        let finished = runtime.handle(&pre, call, &to_wit(request));
        let outcome = answer(
            &manifest.name,
            &manifest.version,
            finished.result,
            max_reply_parts,
        );
        Ok(TrialReport {
            manifest,
            calls: finished.trace,
            effects: finished.effects,
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
            request("CP", "京A12345"),
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
            request("CP", "京A12345"),
            &settings(dir.path()),
        )
        .await
        .unwrap();
        let reply = answered.outcome.unwrap();
        assert_eq!(reply.outcome, Outcome::Answered);
        assert!(reply.text.contains("京A12345"), "{}", reply.text);
        assert_eq!(answered.calls[0].refused, None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_keyword_the_plugin_does_not_answer_is_refused_with_what_it_answers() {
        let dir = tempfile::tempdir().unwrap();
        let err = run(
            &shipped("vehicle"),
            &TrialGrants::default(),
            request("ZT", "张伟"),
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
