//! The help text (R15) and the preview of what a phone receives for `H`, computed by the
//! router's own [`crate::router::help_reply`].

use jingxun_web::model::help_text::{HelpPreview, HelpTextPage};
use jingxun_web::model::{Outcome, Refusal, RefusalCode};
use jingxun_web::ssr::backend::HelpTextBackend;
use jingxun_web::ssr::{Actor, BoxFuture};

use super::{HostBackend, directory_refusal};
use crate::router::help_reply;

impl HelpTextBackend for HostBackend {
    fn help_text(&self, phone: Option<String>) -> BoxFuture<'_, Outcome<HelpTextPage>> {
        Box::pin(async move {
            let state = self.state();
            let directory = &state.directory;
            let text = directory
                .help_text()
                .await
                .map_err(|e| directory_refusal("reading the help text", e))?;
            let phones = directory
                .phones()
                .await
                .map_err(|e| directory_refusal("reading phones", e))?;
            let preview = match phone.filter(|p| !p.trim().is_empty()) {
                None => None,
                Some(typed) => {
                    let number = directory
                        .parse_phone(&typed)
                        .map_err(|e| directory_refusal("reading a number", e))?;
                    let identity = directory
                        .identify(&number)
                        .await
                        .map_err(|e| directory_refusal("identifying a phone", e))?;
                    let reply = help_reply(&text, &state.plugins.commands(), identity.as_ref());
                    Some(HelpPreview {
                        phone: number.to_string(),
                        parts: crate::sms::plan(&reply).parts as u32,
                        reply,
                    })
                }
            };
            Ok(HelpTextPage {
                text,
                updated_at: None,
                updated_by: None,
                phones: phones
                    .into_iter()
                    .map(|p| (p.number, p.owner_name))
                    .collect(),
                preview,
            })
        })
    }

    fn help_text_set<'a>(&'a self, actor: &'a Actor, text: String) -> BoxFuture<'a, Outcome<()>> {
        Box::pin(async move {
            if text.trim().is_empty() {
                return Err(Refusal::new(RefusalCode::EmptyText));
            }
            self.directory(actor)
                .set_help_text(&text, &actor.login)
                .await
                .map_err(|e| directory_refusal("saving the help text", e))
        })
    }
}
