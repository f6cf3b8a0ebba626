//! The simulated handset: an SMS typed in the browser goes in through the first built-in
//! simulated modem, exactly as a handset's SMS would, and the conversation is that phone's
//! messages in the store.

use jingxun_web::model::simulator::{ChatLine, SimulatorPage};
use jingxun_web::model::{Outcome, Refusal};
use jingxun_web::ssr::backend::SimulatorBackend;
use jingxun_web::ssr::{Actor, BoxFuture};

use super::{HostBackend, directory_refusal, unavailable};
use crate::store::{Direction, MessageFilter};

/// Messages of the conversation shown at most.
const CONVERSATION: u32 = 50;
/// Characters one typed SMS may have.
const MAX_TEXT_CHARS: usize = 500;

impl SimulatorBackend for HostBackend {
    fn simulator(&self, phone: Option<String>) -> BoxFuture<'_, Outcome<SimulatorPage>> {
        Box::pin(async move {
            let state = self.state();
            let available = !state.simulators.is_empty();
            let phones = state
                .directory
                .phones()
                .await
                .map_err(|e| directory_refusal("reading phones", e))?
                .into_iter()
                .map(|p| (p.number.clone(), format!("{} {}", p.number, p.owner_name)))
                .collect();
            let phone = match phone.filter(|p| !p.trim().is_empty()) {
                Some(typed) => Some(
                    state
                        .directory
                        .parse_phone(&typed)
                        .map_err(|e| directory_refusal("reading a number", e))?
                        .to_string(),
                ),
                None => None,
            };
            let conversation = match &phone {
                Some(number) if available => {
                    let mut messages = state
                        .store
                        .list_messages(&MessageFilter {
                            peer: Some(number.clone()),
                            newest_first: true,
                            limit: CONVERSATION,
                            ..MessageFilter::default()
                        })
                        .await
                        .map_err(|e| unavailable("reading a conversation", &e))?;
                    messages.reverse();
                    messages
                        .into_iter()
                        .map(|m| ChatLine {
                            id: m.id,
                            from_handset: m.direction == Direction::In,
                            text: m.text,
                            state: m.state.as_str().to_owned(),
                            at_ms: m.created_at,
                        })
                        .collect()
                }
                _ => Vec::new(),
            };
            Ok(SimulatorPage {
                available,
                phones,
                phone,
                conversation,
            })
        })
    }

    fn handset_send<'a>(
        &'a self,
        actor: &'a Actor,
        phone: String,
        text: String,
    ) -> BoxFuture<'a, Outcome<()>> {
        Box::pin(async move {
            let state = self.state();
            let Some(sim) = state.simulators.first() else {
                return Err(Refusal::new("no_simulator"));
            };
            let text = text.trim();
            if text.is_empty() {
                return Err(Refusal::new("empty_text"));
            }
            if text.chars().count() > MAX_TEXT_CHARS {
                return Err(Refusal::with("text_too_long", MAX_TEXT_CHARS.to_string()));
            }
            let number = state
                .directory
                .parse_phone(&phone)
                .map_err(|e| directory_refusal("reading a number", e))?;
            sim.receive_sms(number.as_str(), text)
                .map_err(|e| unavailable("delivering to the simulated modem", &e))?;
            tracing::info!(login = %actor.login, phone = %number, "simulated handset sent an SMS");
            Ok(())
        })
    }
}
