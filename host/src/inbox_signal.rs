//! Wake-ups between the parts of the daemon that share an inbox, in a module of their own so that
//! neither side has to reach into the other (issue 19): the modem driver tells the router that an
//! inbound message was stored ([`NewInbound`]); the router tells the API's long-polls and its
//! webhook dispatcher that messages were assigned to API keys ([`InboxSignal`]). A signal only
//! saves waiting: whoever waits on one also looks at the store now and then, for what another
//! process (another daemon on the same database) stored.

use std::sync::Arc;

use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

/// Tells the router that an inbound message was stored, so that it routes it at once instead of
/// at its next look at the inbox. Cheap to clone. A signal given while the router is busy is
/// kept (one of them), so that the router looks at the inbox again when it is done.
#[derive(Debug, Clone, Default)]
pub struct NewInbound(Arc<Notify>);

impl NewInbound {
    /// Says that an inbound message was stored.
    pub fn notify(&self) {
        self.0.notify_one();
    }

    /// Waits for the next [`NewInbound::notify`], or returns at once for one given since the
    /// last wait.
    pub async fn notified(&self) {
        self.0.notified().await;
    }
}

/// Wakes long-polls (and the webhook dispatcher) when the router has assigned messages to keys;
/// closed when the daemon stops, so that waiting long-polls answer at once. Cheap to clone.
#[derive(Debug, Clone)]
pub struct InboxSignal {
    changes: Arc<watch::Sender<u64>>,
    closing: CancellationToken,
}

impl Default for InboxSignal {
    fn default() -> Self {
        InboxSignal {
            changes: Arc::new(watch::Sender::new(0)),
            closing: CancellationToken::new(),
        }
    }
}

impl InboxSignal {
    /// Says that messages were assigned.
    pub fn notify(&self) {
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver that sees each later [`InboxSignal::notify`].
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Ends every wait (the daemon is stopping).
    pub fn close(&self) {
        self.closing.cancel();
    }

    /// Cancelled once [`InboxSignal::close`] was called.
    pub fn closing(&self) -> &CancellationToken {
        &self.closing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_signal_given_before_the_wait_is_not_lost() {
        let signal = NewInbound::default();
        signal.clone().notify();
        // Would wait for ever if the signal given while nobody waited were dropped.
        signal.notified().await;
    }
}
