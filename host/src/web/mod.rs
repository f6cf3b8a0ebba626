//! The web admin in the daemon (issue 4): the pages and server functions of the `jingxun-web`
//! crate, served on the same port as the API (which owns `/api`), behind [`session_layer`],
//! with [`backend`] as their way into accounts, the directory and the store.

mod backend;
mod session_layer;
mod throttle;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use jingxun_web::ssr::WebBackend;

use tokio_util::sync::CancellationToken;

use crate::auth::Accounts;
use crate::config::Config;
use crate::directory::Directory;
use crate::dispatch::Wake;
use crate::modem::driver::ModemHandle;
use crate::modem::sim::SimHandle;
use crate::plugins::PluginHost;
use crate::store::Store;

pub use throttle::SignInThrottle;

/// What the web admin needs from the daemon; cheap to clone.
#[derive(Clone)]
pub struct WebState {
    pub accounts: Accounts,
    pub store: Store,
    pub modems: Vec<ModemHandle>,
    /// The built-in simulated modems (the simulated handset types into the first).
    pub simulators: Vec<SimHandle>,
    pub plugins: PluginHost,
    pub directory: Directory,
    /// `[sms] default_country_code`, for numbers typed without one.
    pub default_country_code: String,
    /// `[queue] max_attempts` of the messages the web admin sends.
    pub max_attempts: u32,
    /// `[queue] status_report`: whether they ask for delivery reports.
    pub status_report: bool,
    /// `[web] secure_cookies`: `__Host-` cookie names, `Secure`, HSTS.
    pub secure_cookies: bool,
    /// Slows down repeated failed sign-ins of one login.
    pub throttle: Arc<SignInThrottle>,
    /// Wakes the dispatcher when the web admin queues messages.
    pub wake: Wake,
    /// Cancelled when the daemon stops (the live feeds end then).
    pub shutdown: CancellationToken,
    /// New API keys waiting for their one showing (never stored).
    pub(crate) fresh_keys: Arc<backend::FreshKeys>,
}

impl WebState {
    /// The session cookie's name.
    pub(crate) fn session_cookie(&self) -> &'static str {
        if self.secure_cookies {
            "__Host-jx_session"
        } else {
            "jx_session"
        }
    }

    /// The pre-sign-in cookie's name (its derived token protects the sign-in form).
    pub(crate) fn pre_cookie(&self) -> &'static str {
        if self.secure_cookies {
            "__Host-jx_pre"
        } else {
            "jx_pre"
        }
    }

    /// A `Set-Cookie` value: HttpOnly, SameSite=Strict, Path=/, Secure when configured.
    pub(crate) fn cookie(&self, name: &str, value: &str, max_age: Option<u64>) -> String {
        let mut cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict");
        if self.secure_cookies {
            cookie.push_str("; Secure");
        }
        if let Some(seconds) = max_age {
            cookie.push_str(&format!("; Max-Age={seconds}"));
        }
        cookie
    }
}

/// Where the browser bundle is served from: `[web] site_dir`, else `../site` from the running
/// executable (`target/site` for `target/release/jingxun` and `target/debug/jingxun`).
pub fn site_dir(config: &Config) -> PathBuf {
    if let Some(dir) = &config.web.site_dir {
        return dir.clone();
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().and_then(Path::parent).map(|d| d.join("site")))
        .unwrap_or_else(|| PathBuf::from("site"))
}

/// The web admin's routes with the session layer in front.
pub fn router(state: WebState, site_dir: &Path) -> axum::Router {
    let bundle = site_dir
        .join("pkg")
        .join(format!("{}.js", jingxun_web::ssr::OUTPUT_NAME));
    if !bundle.is_file() {
        tracing::warn!(
            bundle = %bundle.display(),
            "the web admin's browser bundle is missing: pages still work as plain forms; build it with `cargo xtask web`"
        );
    }
    let backend: Arc<dyn WebBackend> = Arc::new(backend::HostBackend::new(state.clone()));
    jingxun_web::ssr::routes(backend, site_dir).layer(axum::middleware::from_fn_with_state(
        state,
        session_layer::session_layer,
    ))
}
