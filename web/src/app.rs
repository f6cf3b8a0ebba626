//! The application: the document shell, the router with every page, and what the pages share
//! (the frame with its navigation, the notice that reports a form's outcome, the form token,
//! the language switch, the live feeds).
//!
//! Every page is rendered on the server with all its data (`SsrMode::Async`), so it is complete
//! before the browser bundle loads and every form works as a plain HTML form post; once
//! hydrated, the same forms call their server functions, and the live parts (counts, results,
//! the dashboard) update in place. Navigation links and the redirects that end every form are
//! full page loads, so the server's page guard sees every page.

use leptos::either::Either;
use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::hooks::use_query_map;
use leptos_router::params::ParamsMap;
use leptos_router::{SsrMode, path};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::i18n::{Lang, t};
use crate::model::{Page, RefusalCode, Viewer};
use crate::pages;
use crate::server::{SignOut, get_viewer};

/// The style sheet, inlined into every page with the response's CSP nonce (no external files
/// or CDN: a police intranet has no internet). It contains no `<`, `>` or `&`.
pub const CSS: &str = r#"
*{box-sizing:border-box}
body{margin:0;font-family:system-ui,-apple-system,"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif;background:#f3f5f8;color:#1d2733;font-size:15px;line-height:1.5}
a{color:#1f5fbf;text-decoration:none}
a:hover{text-decoration:underline}
header.top{display:flex;align-items:center;gap:16px;flex-wrap:wrap;padding:10px 24px;background:#16365f;color:#fff}
header.top .brand{font-weight:700;font-size:17px;letter-spacing:.5px;color:#fff}
header.top .spacer{flex:1}
header.top .who{opacity:.9}
header.top a,header.top button.link{color:#dfe8f5}
header.top form{margin:0}
button.link{background:none;border:0;padding:0;font:inherit;cursor:pointer;text-decoration:underline;color:#1f5fbf}
.layout{display:flex;min-height:calc(100vh - 52px)}
nav.side{width:200px;flex:none;background:#fff;border-right:1px solid #dde3ea;padding:12px 0}
nav.side a{display:block;padding:8px 20px;color:#1d2733}
nav.side a.current{background:#e6eef9;color:#16365f;font-weight:600;border-left:3px solid #1f5fbf;padding-left:17px}
main{flex:1;padding:24px 28px;max-width:1180px;min-width:0}
h1{font-size:22px;margin:0 0 16px}
h2{font-size:17px;margin:0 0 12px}
h3{font-size:15px;margin:14px 0 8px}
.card{background:#fff;border:1px solid #dde3ea;border-radius:8px;padding:18px 20px;margin-bottom:18px}
.card.narrow{max-width:480px}
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:18px}
.grid2 .card{margin-bottom:0}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:7px 10px;border-bottom:1px solid #e8ecf1;vertical-align:top}
th{font-weight:600;color:#4a5868;font-size:13px;white-space:nowrap}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.text{max-width:380px;overflow-wrap:anywhere}
tr.off td{color:#8a96a3}
.tiles{display:flex;flex-wrap:wrap;gap:12px}
#batch-tally .tile{flex:0 0 auto;padding:8px 14px}
.tile{flex:1 1 120px;background:#f7f9fc;border:1px solid #e1e7ee;border-radius:8px;padding:12px 14px}
.tile .n{font-size:24px;font-weight:700;font-variant-numeric:tabular-nums}
.tile .l{color:#5b6878;font-size:13px}
.tile.bad .n{color:#b42323}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:13px;background:#e8ecf1;white-space:nowrap}
.badge.ready,.badge.sent,.badge.delivered,.badge.received,.badge.on,.badge.ok{background:#dff3e4;color:#1e6b34}
.badge.down,.badge.failed,.badge.expired,.badge.refused,.badge.off{background:#fbe3e3;color:#9b1c1c}
.badge.queued,.badge.sending,.badge.connecting,.badge.initialising,.badge.partial{background:#fff3d6;color:#7a5300}
.notice{padding:10px 14px;border-radius:6px;margin:0 0 14px}
.notice.error{background:#fdecec;border:1px solid #f5c2c2;color:#8a1f1f}
.notice.ok{background:#e7f6ea;border:1px solid #bfe3c7;color:#1e6b34}
.notice.info{background:#eef4fc;border:1px solid #c9dbf3;color:#1d3f73}
.muted{color:#5b6878}
.small{font-size:13px}
.empty{color:#5b6878;padding:18px 0;text-align:center}
form.stack label{display:block;margin:12px 0 4px;font-weight:600}
form.stack label.check{font-weight:400;display:inline-flex;align-items:center;gap:6px;margin:4px 16px 4px 0}
input[type=text],input[type=password],input[type=search],input[type=date],input[type=datetime-local],select,textarea{padding:8px 10px;border:1px solid #c5ced8;border-radius:6px;font-size:15px;font-family:inherit;background:#fff}
form.stack input[type=text],form.stack input[type=password],form.stack select,form.stack textarea{width:100%}
textarea{min-height:110px;resize:vertical}
form.inline{display:inline}
form.row{display:flex;flex-wrap:wrap;gap:8px;align-items:flex-end}
form.row label{display:flex;flex-direction:column;font-size:13px;color:#4a5868;gap:3px}
button{font:inherit;cursor:pointer}
button.primary{background:#1f5fbf;color:#fff;border:0;border-radius:6px;padding:9px 20px;font-size:15px}
button.primary:hover{background:#174c99}
form.stack button.primary{margin-top:16px}
button.secondary{background:#fff;color:#1f5fbf;border:1px solid #9fb6d8;border-radius:6px;padding:8px 16px}
button.small{background:#fff;color:#1f5fbf;border:1px solid #c5d3e6;border-radius:5px;padding:2px 10px;font-size:13px}
button.danger{color:#9b1c1c;border-color:#e3b5b5}
.actions{display:flex;flex-wrap:wrap;gap:6px}
.signin{max-width:380px;margin:9vh auto 0;padding:0 16px}
.signin .card{padding:26px 28px}
.signin .brand{text-align:center;font-size:22px;font-weight:700;color:#16365f;margin-bottom:18px}
.lang{text-align:center;margin-top:12px}
.count{margin-top:6px;color:#4a5868;font-size:14px}
.count b{color:#16365f}
ul.tree{list-style:none;padding-left:18px;margin:4px 0}
ul.tree.top{padding-left:0}
ul.tree li{margin:3px 0}
details>summary{cursor:pointer}
.picker{max-height:360px;overflow:auto;border:1px solid #dde3ea;border-radius:6px;padding:8px 12px;background:#fbfcfd}
.chat{display:flex;flex-direction:column;gap:8px;max-height:480px;overflow:auto;padding:12px;background:#eef1f5;border-radius:8px}
.bubble{max-width:78%;padding:8px 12px;border-radius:12px;white-space:pre-wrap;overflow-wrap:anywhere}
.bubble.me{align-self:flex-end;background:#95ec69}
.bubble.them{align-self:flex-start;background:#fff;border:1px solid #dde3ea}
.bubble .meta{display:block;font-size:12px;color:#5b6878;margin-top:2px}
.qr svg{display:block;width:200px;height:200px;margin:8px 0}
ul.secret{list-style:none;columns:2;background:#fffbe6;border:1px solid #f0d98c;border-radius:6px;padding:10px 12px;margin:0}
pre.secret{white-space:pre-wrap;overflow-wrap:anywhere;background:#fffbe6;border:1px solid #f0d98c;border-radius:6px;padding:10px 12px;margin:0;font-size:15px}
pre.reply{white-space:pre-wrap;background:#f7f9fc;border:1px solid #e1e7ee;border-radius:6px;padding:10px 12px;margin:0;font-family:inherit}
svg.chart{width:100%;height:180px;display:block}
svg.chart .in{fill:#3f7fd9}
svg.chart .out{fill:#35a164}
svg.chart .axis{stroke:#c5ced8;stroke-width:1}
svg.chart text{font-size:11px;fill:#5b6878}
.legend{display:flex;gap:16px;font-size:13px;color:#4a5868}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px}
.legend i.in{background:#3f7fd9}
.legend i.out{background:#35a164}
code{background:#f0f3f7;padding:1px 5px;border-radius:4px;font-size:13px}
@media (max-width:820px){.layout{flex-direction:column}nav.side{width:auto;display:flex;flex-wrap:wrap;border-right:0;border-bottom:1px solid #dde3ea;padding:4px}nav.side a{padding:6px 12px}nav.side a.current{border-left:0;padding-left:12px;border-radius:6px}main{padding:16px}}
"#;

/// The whole HTML document around [`App`], rendered on the server only.
#[cfg(feature = "ssr")]
pub fn shell(options: leptos::config::LeptosOptions) -> impl IntoView {
    let lang = crate::ssr::request_lang();
    view! {
        <!DOCTYPE html>
        <html lang=lang.html_lang()>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <title>{t(lang, "app.name")}</title>
                <style nonce=leptos::nonce::use_nonce() inner_html=CSS></style>
                <HydrationScripts options/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The application: the router and the viewer (who is signed in, the form token, the
/// language), loaded once per page.
#[component]
pub fn App() -> impl IntoView {
    let viewer = Resource::new(|| (), |_| get_viewer());
    provide_context(viewer);
    view! {
        <Router>
            <Routes fallback=|| "">
                <Route path=path!("/signin") view=pages::signin::SignInPage ssr=SsrMode::Async/>
                <Route path=path!("/") view=pages::dashboard::DashboardPage ssr=SsrMode::Async/>
                <Route path=path!("/password") view=pages::password::PasswordPage ssr=SsrMode::Async/>
                <Route path=path!("/send") view=pages::send::SendPage ssr=SsrMode::Async/>
                <Route path=path!("/messages") view=pages::messages::MessagesPage ssr=SsrMode::Async/>
                <Route path=path!("/users") view=pages::users::UsersPage ssr=SsrMode::Async/>
                <Route path=path!("/phones") view=pages::phones::PhonesPage ssr=SsrMode::Async/>
                <Route path=path!("/address-book") view=pages::address_book::AddressBookPage ssr=SsrMode::Async/>
                <Route path=path!("/plugins") view=pages::plugins::PluginsPage ssr=SsrMode::Async/>
                <Route path=path!("/api-keys") view=pages::api_keys::ApiKeysPage ssr=SsrMode::Async/>
                <Route path=path!("/help-text") view=pages::help_text::HelpTextPage ssr=SsrMode::Async/>
                <Route path=path!("/audit") view=pages::audit::AuditPage ssr=SsrMode::Async/>
                <Route path=path!("/simulator") view=pages::simulator::SimulatorPage ssr=SsrMode::Async/>
                <Route path=path!("/two-step") view=pages::two_step::TwoStepPage ssr=SsrMode::Async/>
                <Route path=path!("/signin/code") view=pages::second_factor::SecondFactorPage ssr=SsrMode::Async/>
                <Route path=path!("/reauth") view=pages::reauth::ReauthPage ssr=SsrMode::Async/>
            </Routes>
        </Router>
    }
}

type ViewerResource = Resource<Result<Viewer, ServerFnError>>;

/// The viewer of this page.
pub fn viewer_resource() -> ViewerResource {
    expect_context::<ViewerResource>()
}

/// A query parameter of the current URL.
pub fn query(name: &'static str) -> impl Fn() -> Option<String> + Copy {
    let map = use_query_map();
    move || map.read().get(name)
}

/// Shown when the viewer cannot be read (the server was unreachable).
pub fn unavailable() -> impl IntoView {
    view! { <main><p class="notice error">{t(Lang::Zh, "error.server.lead")} " / " {t(Lang::En, "error.server.lead")}</p></main> }
}

/// The link that switches language, keeping the page.
pub fn lang_switch(lang: Lang, path: &'static str) -> impl IntoView {
    let href = format!("{path}?lang={}", lang.other().code());
    view! { <a href=href rel="external" hreflang=lang.other().code()>{t(lang, "app.switch")}</a> }
}

/// The hidden form token every form carries.
pub fn csrf_field(viewer: &Viewer) -> impl IntoView + use<> {
    view! { <input type="hidden" name="csrf" value=viewer.csrf.clone()/> }
}

/// Where a form posts to: the server function `F` (a plain HTML form post, before and after
/// the bundle loads; the function answers with a redirect, so every form ends on a page the
/// server rendered, with the outcome in its URL).
pub fn action<F: leptos::server_fn::ServerFn>() -> &'static str {
    F::PATH
}

/// A signed-in page: the frame around `body`, which gets the viewer and the page's data,
/// loaded by `fetch` from the URL's query on the server (and carried to the browser in the
/// page). A refused or failed load shows a notice instead.
pub fn signed_in_page<T, Fetch, Fut, Body>(page: Page, fetch: Fetch, body: Body) -> impl IntoView
where
    T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
    Fetch: Fn(ParamsMap) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<T, ServerFnError>> + Send + 'static,
    Body: Fn(&Viewer, T) -> AnyView + Clone + Send + Sync + 'static,
{
    let viewer = viewer_resource();
    let query = use_query_map();
    let data = Resource::new(move || query.get(), fetch);
    view! {
        <Suspense>
            {move || {
                let body = body.clone();
                Suspend::new(async move {
                    let Ok(v) = viewer.await else { return Either::Left(unavailable()) };
                    let lang = v.lang;
                    let content = match data.await {
                        Ok(value) => body(&v, value),
                        Err(_) => view! { <p class="notice error" role="alert">{t(lang, "page.unavailable")}</p> }.into_any(),
                    };
                    Either::Right(view! {
                        <Frame viewer=v page=page>
                            <Notice lang=lang/>
                            {content}
                        </Frame>
                    })
                })
            }}
        </Suspense>
    }
}

/// The frame of every signed-in page: top bar, navigation, content.
#[component]
pub fn Frame(viewer: Viewer, page: Page, children: Children) -> impl IntoView {
    let lang = viewer.lang;
    let user = viewer.user.clone();
    let (login, name, links) = match &user {
        Some(u) => (
            u.login.clone(),
            u.name.clone(),
            Page::ALL
                .into_iter()
                .filter(|p| u.may_open(*p))
                .map(|p| {
                    let class = if p == page { "current" } else { "" };
                    view! { <a href=p.path() rel="external" class=class data-page=p.path()>{t(lang, p.title_key())}</a> }
                })
                .collect_view(),
        ),
        // A sign-in still enrolling its second factor: its name, no navigation.
        None => {
            let pending = viewer.pending.clone();
            (
                pending.as_ref().map(|p| p.login.clone()).unwrap_or_default(),
                pending.map(|p| p.name).unwrap_or_default(),
                Vec::new().collect_view(),
            )
        }
    };
    view! {
        <header class="top">
            <span class="brand">{t(lang, "app.name")}</span>
            <span class="spacer"></span>
            <span class="who" id="who">{t(lang, "nav.signed_in_as")} ": " {name} " (" {login} ")"</span>
            {lang_switch(lang, page.path())}
            <form method="post" action={action::<SignOut>()} id="signout-form">
                {csrf_field(&viewer)}
                <button type="submit" class="link" id="signout">{t(lang, "nav.sign_out")}</button>
            </form>
        </header>
        <div class="layout">
            <nav class="side" id="nav">{links}</nav>
            <main>
                <h1>{t(lang, page.title_key())}</h1>
                {children()}
            </main>
        </div>
    }
}

/// The outcome of the form that led here (`?ok=<code>` or `?error=<code>&detail=`), in the
/// viewer's language.
#[component]
pub fn Notice(lang: Lang) -> impl IntoView {
    let ok = query("ok");
    let error = query("error");
    let detail = query("detail");
    move || {
        let detail = detail().filter(|d| !d.is_empty());
        if let Some(code) = error() {
            let key =
                RefusalCode::from_code(&code).map_or("refusal.unknown", RefusalCode::i18n_key);
            let text = t(lang, key);
            Some(view! {
                <p class="notice error" role="alert" id="notice">{text}{detail.map(|d| format!(" ({d})"))}</p>
            }.into_any())
        } else {
            ok().map(|code| {
                let text = match t(lang, &format!("done.{code}")) {
                    "?" => t(lang, "done.saved"),
                    known => known,
                };
                view! {
                    <p class="notice ok" role="status" id="notice">{text}{detail.map(|d| format!(" {d}"))}</p>
                }.into_any()
            })
        }
    }
}

/// A state badge (`queued`, `sent`, `ready`...), in the viewer's language.
pub fn state_badge(lang: Lang, state: &str) -> impl IntoView + use<> {
    let class = format!("badge {state}");
    let text = match t(lang, &format!("state.{state}")) {
        "?" => state.to_owned(),
        known => known.to_owned(),
    };
    view! { <span class=class data-state=state.to_owned()>{text}</span> }
}

/// An empty-state line.
pub fn empty(lang: Lang, key: &'static str) -> impl IntoView + use<> {
    view! { <p class="empty">{t(lang, key)}</p> }
}

/// A signal holding `initial` that each event of the live feed at `url` replaces, once the
/// browser bundle runs (on the server, and before hydration, it stays `initial`).
pub fn live<T>(url: String, initial: T) -> ReadSignal<T>
where
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    let (value, set_value) = signal(initial);
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        use wasm_bindgen::closure::Closure;
        if let Ok(source) = web_sys::EventSource::new(&url) {
            let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(
                move |event: web_sys::MessageEvent| {
                    if let Some(data) = event.data().as_string()
                        && let Ok(parsed) = serde_json::from_str::<T>(&data)
                    {
                        set_value.set(parsed);
                    }
                },
            );
            source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            on_message.forget();
            let source = send_wrapper::SendWrapper::new(source);
            on_cleanup(move || source.close());
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (url, set_value);
    value
}
