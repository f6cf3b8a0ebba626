//! The pages: sign-in, the dashboard shell with the navigation of every page (only those the
//! role may open are linked; the server refuses the others anyway), change password, and
//! placeholders for the pages still to come.
//!
//! Every page is rendered on the server with all its data (`SsrMode::Async`), so it is complete
//! before the browser bundle loads and every form works as a plain HTML form post; once
//! hydrated, the same forms call their server functions without a page load. Navigation links
//! are full page loads (`rel="external"`), so the server's page guard sees every page.

use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::hooks::use_query_map;
use leptos_router::{SsrMode, path};

use crate::i18n::{Lang, t};
use crate::model::{Dashboard, Page, Viewer};
use crate::server::{ChangePassword, SignIn, SignOut, get_dashboard, get_viewer};

/// The style sheet, inlined into every page (no external files or CDN). It contains no `<`,
/// `>` or `&`, so it needs no escaping.
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
button.link{background:none;border:0;padding:0;font:inherit;cursor:pointer;text-decoration:underline}
.layout{display:flex;min-height:calc(100vh - 52px)}
nav.side{width:200px;flex:none;background:#fff;border-right:1px solid #dde3ea;padding:12px 0}
nav.side a{display:block;padding:8px 20px;color:#1d2733}
nav.side a.current{background:#e6eef9;color:#16365f;font-weight:600;border-left:3px solid #1f5fbf;padding-left:17px}
main{flex:1;padding:24px 28px;max-width:1100px}
h1{font-size:22px;margin:0 0 16px}
h2{font-size:17px;margin:24px 0 10px}
.card{background:#fff;border:1px solid #dde3ea;border-radius:8px;padding:18px 20px;margin-bottom:18px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:8px 10px;border-bottom:1px solid #e8ecf1}
th{font-weight:600;color:#4a5868;font-size:13px}
.tiles{display:flex;flex-wrap:wrap;gap:12px}
.tile{flex:1 1 120px;background:#f7f9fc;border:1px solid #e1e7ee;border-radius:8px;padding:12px 14px}
.tile .n{font-size:24px;font-weight:700}
.tile .l{color:#5b6878;font-size:13px}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:13px;background:#e8ecf1}
.badge.ready{background:#dff3e4;color:#1e6b34}
.badge.down{background:#fbe3e3;color:#9b1c1c}
.notice{padding:10px 14px;border-radius:6px;margin-bottom:14px}
.notice.error{background:#fdecec;border:1px solid #f5c2c2;color:#8a1f1f}
.notice.ok{background:#e7f6ea;border:1px solid #bfe3c7;color:#1e6b34}
.muted{color:#5b6878}
form.stack label{display:block;margin:12px 0 4px;font-weight:600}
form.stack input[type=text],form.stack input[type=password]{width:100%;padding:9px 10px;border:1px solid #c5ced8;border-radius:6px;font-size:15px}
button.primary{margin-top:18px;background:#1f5fbf;color:#fff;border:0;border-radius:6px;padding:10px 20px;font-size:15px;cursor:pointer}
button.primary:hover{background:#174c99}
.signin{max-width:380px;margin:9vh auto 0;padding:0 16px}
.signin .card{padding:26px 28px}
.signin .brand{text-align:center;font-size:22px;font-weight:700;color:#16365f;margin-bottom:18px}
.lang{text-align:center;margin-top:12px}
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
                <style inner_html=CSS></style>
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
                <Route path=path!("/signin") view=SignInPage ssr=SsrMode::Async/>
                <Route path=path!("/") view=DashboardPage ssr=SsrMode::Async/>
                <Route path=path!("/password") view=PasswordPage ssr=SsrMode::Async/>
                <Route path=path!("/send") view=|| view! { <Coming page=Page::Send/> } ssr=SsrMode::Async/>
                <Route path=path!("/messages") view=|| view! { <Coming page=Page::Messages/> } ssr=SsrMode::Async/>
                <Route path=path!("/users") view=|| view! { <Coming page=Page::Users/> } ssr=SsrMode::Async/>
                <Route path=path!("/phones") view=|| view! { <Coming page=Page::Phones/> } ssr=SsrMode::Async/>
                <Route path=path!("/address-book") view=|| view! { <Coming page=Page::AddressBook/> } ssr=SsrMode::Async/>
                <Route path=path!("/plugins") view=|| view! { <Coming page=Page::Plugins/> } ssr=SsrMode::Async/>
                <Route path=path!("/help-text") view=|| view! { <Coming page=Page::HelpText/> } ssr=SsrMode::Async/>
                <Route path=path!("/audit") view=|| view! { <Coming page=Page::Audit/> } ssr=SsrMode::Async/>
                <Route path=path!("/simulator") view=|| view! { <Coming page=Page::Simulator/> } ssr=SsrMode::Async/>
            </Routes>
        </Router>
    }
}

type ViewerResource = Resource<Result<Viewer, ServerFnError>>;

fn viewer_resource() -> ViewerResource {
    expect_context::<ViewerResource>()
}

/// A query parameter of the current URL.
fn query(name: &'static str) -> impl Fn() -> Option<String> + Copy {
    let map = use_query_map();
    move || map.read().get(name)
}

/// Shown when the viewer cannot be read (the server was unreachable).
fn unavailable() -> impl IntoView {
    view! { <main><p class="notice error">{t(Lang::Zh, "error.server.lead")} " / " {t(Lang::En, "error.server.lead")}</p></main> }
}

/// The link that switches language, keeping the page.
fn lang_switch(lang: Lang, path: &'static str) -> impl IntoView {
    let href = format!("{path}?lang={}", lang.other().code());
    view! { <a href=href rel="external" hreflang=lang.other().code()>{t(lang, "app.switch")}</a> }
}

/// The sign-in page.
#[component]
fn SignInPage() -> impl IntoView {
    let action = ServerAction::<SignIn>::new();
    let error = query("error");
    let signed_out = query("signed_out");
    let viewer = viewer_resource();
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                match viewer.await {
                    Err(_) => Either::Left(unavailable()),
                    Ok(v) => {
                        let lang = v.lang;
                        let message = match error().as_deref() {
                            Some("expired") => Some(("error", "signin.expired")),
                            Some(_) => Some(("error", "signin.refused")),
                            None => signed_out().map(|_| ("ok", "signin.signed_out")),
                        };
                        Either::Right(view! {
                            <div class="signin">
                                <div class="brand">{t(lang, "app.name")}</div>
                                <div class="card">
                                    <h1>{t(lang, "signin.title")}</h1>
                                    <p class="muted">{t(lang, "signin.lead")}</p>
                                    {message.map(|(kind, key)| view! {
                                        <p class=format!("notice {kind}") role="alert" id="signin-message">{t(lang, key)}</p>
                                    })}
                                    <ActionForm action=action attr:class="stack" attr:id="signin-form">
                                        <input type="hidden" name="csrf" value=v.csrf.clone()/>
                                        <label for="login">{t(lang, "signin.login")}</label>
                                        <input type="text" id="login" name="login" autocomplete="username" autocapitalize="none" required maxlength="64"/>
                                        <label for="password">{t(lang, "signin.password")}</label>
                                        <input type="password" id="password" name="password" autocomplete="current-password" required maxlength="128"/>
                                        <button type="submit" class="primary" id="signin-submit">{t(lang, "signin.submit")}</button>
                                    </ActionForm>
                                </div>
                                <p class="lang">{lang_switch(lang, "/signin")}</p>
                            </div>
                        })
                    }
                }
            })}
        </Suspense>
    }
}

/// The frame of every signed-in page: top bar, navigation, content.
#[component]
fn Frame(viewer: Viewer, page: Page, children: Children) -> impl IntoView {
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
        None => (String::new(), String::new(), Vec::new().collect_view()),
    };
    let sign_out = ServerAction::<SignOut>::new();
    view! {
        <header class="top">
            <span class="brand">{t(lang, "app.name")}</span>
            <span class="spacer"></span>
            <span class="who" id="who">{t(lang, "nav.signed_in_as")} ": " {name} " (" {login} ")"</span>
            {lang_switch(lang, page.path())}
            <ActionForm action=sign_out attr:id="signout-form">
                <input type="hidden" name="csrf" value=viewer.csrf.clone()/>
                <button type="submit" class="link" id="signout">{t(lang, "nav.sign_out")}</button>
            </ActionForm>
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

/// The dashboard: modems and queue depths from the store.
#[component]
fn DashboardPage() -> impl IntoView {
    let viewer = viewer_resource();
    let data = Resource::new(|| (), |_| get_dashboard());
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                let Ok(v) = viewer.await else { return Either::Left(unavailable()) };
                let lang = v.lang;
                let figures = data.await;
                Either::Right(view! {
                    <Frame viewer=v page=Page::Dashboard>
                        {dashboard_body(lang, figures)}
                    </Frame>
                })
            })}
        </Suspense>
    }
}

fn dashboard_body(lang: Lang, figures: Result<Dashboard, ServerFnError>) -> impl IntoView {
    let Ok(d) = figures else {
        return Either::Left(view! { <p class="notice error">{t(lang, "dash.unavailable")}</p> });
    };
    let tiles = d
        .queue
        .iter()
        .map(|(state, n)| {
            let key = format!("queue.{state}");
            view! {
                <div class="tile" data-state=state.clone()>
                    <div class="n">{*n}</div>
                    <div class="l">{t(lang, &key)}</div>
                </div>
            }
        })
        .collect_view();
    let modems = if d.modems.is_empty() {
        Either::Left(view! { <p class="muted">{t(lang, "dash.no_modems")}</p> })
    } else {
        let yes_no = move |b: Option<bool>| match b {
            Some(true) => t(lang, "yes"),
            Some(false) => t(lang, "no"),
            None => t(lang, "unknown"),
        };
        let rows = d
            .modems
            .iter()
            .map(|m| {
                let badge = format!("badge {}", m.state);
                let state = t(lang, &format!("state.{}", m.state));
                let signal = match m.signal {
                    Some(s) if s <= 31 => format!("{s}/31"),
                    _ => t(lang, "unknown").to_owned(),
                };
                view! {
                    <tr data-modem=m.name.clone()>
                        <td>{m.name.clone()}</td>
                        <td><span class=badge>{state}</span>{m.last_error.clone().map(|e| view! { <div class="muted">{e}</div> })}</td>
                        <td>{signal}</td>
                        <td>{yes_no(m.registered)}</td>
                        <td>{m.parts_sent}</td>
                        <td>{m.parts_failed}</td>
                        <td>{m.parts_received}</td>
                    </tr>
                }
            })
            .collect_view();
        Either::Right(view! {
            <table id="modems">
                <thead><tr>
                    <th>{t(lang, "dash.name")}</th><th>{t(lang, "dash.state")}</th><th>{t(lang, "dash.signal")}</th>
                    <th>{t(lang, "dash.registered")}</th><th>{t(lang, "dash.sent")}</th><th>{t(lang, "dash.failed")}</th><th>{t(lang, "dash.received")}</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
        })
    };
    Either::Right(view! {
        <section class="card">
            <h2>{t(lang, "dash.modems")}</h2>
            {modems}
        </section>
        <section class="card">
            <h2>{t(lang, "dash.queue")}</h2>
            <div class="tiles" id="queue">{tiles}</div>
        </section>
    })
}

/// Change password.
#[component]
fn PasswordPage() -> impl IntoView {
    let viewer = viewer_resource();
    let action = ServerAction::<ChangePassword>::new();
    let error = query("error");
    let done = query("done");
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                let Ok(v) = viewer.await else { return Either::Left(unavailable()) };
                let lang = v.lang;
                let csrf = v.csrf.clone();
                let message = match (error(), done()) {
                    (Some(code), _) => {
                        let key = match code.as_str() {
                            "wrong_current" => "password.wrong_current",
                            "mismatch" => "password.mismatch",
                            "too_short" => "password.too_short",
                            "too_long" => "password.too_long",
                            "common" => "password.common",
                            _ => "password.failed",
                        };
                        EitherOf3::A(view! { <p class="notice error" role="alert">{t(lang, key)}</p> })
                    }
                    (None, Some(_)) => EitherOf3::B(view! { <p class="notice ok" role="status">{t(lang, "password.done")}</p> }),
                    (None, None) => EitherOf3::C(()),
                };
                Either::Right(view! {
                    <Frame viewer=v page=Page::Password>
                        <div class="card" style="max-width:460px">
                            {message}
                            <ActionForm action=action attr:class="stack" attr:id="password-form">
                                <input type="hidden" name="csrf" value=csrf/>
                                <label for="current">{t(lang, "password.current")}</label>
                                <input type="password" id="current" name="current" autocomplete="current-password" required maxlength="128"/>
                                <label for="new_password">{t(lang, "password.new")}</label>
                                <input type="password" id="new_password" name="new_password" autocomplete="new-password" required minlength="8" maxlength="128"/>
                                <label for="confirm">{t(lang, "password.confirm")}</label>
                                <input type="password" id="confirm" name="confirm" autocomplete="new-password" required minlength="8" maxlength="128"/>
                                <p class="muted">{t(lang, "password.rules")}</p>
                                <button type="submit" class="primary">{t(lang, "password.submit")}</button>
                            </ActionForm>
                        </div>
                    </Frame>
                })
            })}
        </Suspense>
    }
}

/// A page still to be built: the frame, its title and a note.
#[component]
fn Coming(page: Page) -> impl IntoView {
    let viewer = viewer_resource();
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                let Ok(v) = viewer.await else { return Either::Left(unavailable()) };
                let lang = v.lang;
                Either::Right(view! {
                    <Frame viewer=v page=page>
                        <div class="card"><p class="muted">{t(lang, "coming.lead")}</p></div>
                    </Frame>
                })
            })}
        </Suspense>
    }
}
