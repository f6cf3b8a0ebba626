//! Webhook deliveries of inbound SMS to API clients (issue 5; R19, R20): a task of the daemon
//! that POSTs each message assigned to a key with a webhook (`jingxun apikey webhook`) to the
//! key's URL, signed, and retries until the client takes it.
//!
//! - The delivery row is written in the router's transaction that assigns the message, so a
//!   crash loses nothing; the dispatcher claims due rows under a lease (`BEGIN IMMEDIATE` on
//!   SQLite, `FOR UPDATE SKIP LOCKED` on PostgreSQL), so several daemons on one database share
//!   the work, and a dispatcher that dies leaves its rows to be taken over when the lease ends.
//! - The body is the message as the inbox shows it ([`InboundMessage`]), with
//!   `X-Jingxun-Delivery: <delivery id>` and
//!   `X-Jingxun-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`
//!   ([`signature`]); the secret is the text `jingxun apikey webhook` printed (`whsec_...`),
//!   used as it is as the HMAC key. Clients should check the signature and that `t` is recent.
//! - A 2xx answer within [`REQUEST_TIMEOUT`] delivers it. Anything else (refused connection,
//!   timeout, another status) is retried after [`backoff`]: 1 s, doubling, at most 5 minutes,
//!   until [`MAX_AGE`] (3 days) has passed since the message was assigned; then the delivery is
//!   `abandoned` (logged, and listed by `jingxun apikey deliveries`). The message stays in the
//!   key's inbox either way. Delivery is at least once: a client that answered too late gets the
//!   same `X-Jingxun-Delivery` again and should ignore repeats.
//! - `https://` URLs are verified against the system's CAs and `[webhooks] ca_file`
//!   ([`super::webhook_tls`]); a certificate that does not verify is a failed attempt like any
//!   other, with the reason in the delivery's error. `http://` is sent in the clear.

use std::time::Duration;

use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use sha2::Sha256;
use tokio_util::sync::CancellationToken;

use super::inbound::{InboundMessage, redact_query};
use crate::clock::now_ms;
use crate::inbox_signal::InboxSignal;
use crate::store::{ClaimedDelivery, DeliveryOutcome, Store};

/// Longest one POST may take, connecting and reading the answer included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The first retry waits this long; each next one twice as long...
pub const FIRST_RETRY: Duration = Duration::from_secs(1);
/// ...up to this.
pub const MAX_RETRY: Duration = Duration::from_secs(300);
/// A delivery still failing this long after the message was assigned is abandoned.
pub const MAX_AGE: Duration = Duration::from_secs(3 * 24 * 3600);
/// How long a dispatcher holds a delivery (well over [`REQUEST_TIMEOUT`]).
const LEASE: Duration = Duration::from_secs(60);
/// Deliveries claimed (and POSTed concurrently) at a time.
const BATCH: u32 = 16;
/// How often to look for due deliveries without a signal (retries, other daemons).
const POLL: Duration = Duration::from_secs(1);
/// Most of an answer body read (and discarded).
const MAX_ANSWER: usize = 64 * 1024;

/// The signature header's value for `body` sent at `unix_seconds`.
pub fn signature(secret: &str, unix_seconds: i64, body: &[u8]) -> String {
    format!(
        "t={unix_seconds},v1={}",
        hex::encode(mac(secret, unix_seconds, body))
    )
}

fn mac(secret: &str, unix_seconds: i64, body: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(unix_seconds.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// Checks a signature header as a client should: a `v1` matching `body` (compared in constant
/// time) and a time stamp within `tolerance` of `now_seconds`.
pub fn verify(
    secret: &str,
    header: &str,
    body: &[u8],
    now_seconds: i64,
    tolerance: Duration,
) -> bool {
    let mut t = None;
    let mut v1 = Vec::new();
    for item in header.split(',') {
        match item.trim().split_once('=') {
            Some(("t", value)) => t = value.parse::<i64>().ok(),
            Some(("v1", value)) => v1.extend(hex::decode(value).ok()),
            _ => {}
        }
    }
    let Some(t) = t else { return false };
    if now_seconds.abs_diff(t) > tolerance.as_secs() {
        return false;
    }
    v1.iter().any(|given| {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        mac.update(t.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.verify_slice(given).is_ok()
    })
}

/// The wait before the next attempt after `failures` failed ones (1 s, 2 s, 4 s... at most
/// [`MAX_RETRY`]).
pub fn backoff(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(20);
    (FIRST_RETRY * 2u32.pow(doublings)).min(MAX_RETRY)
}

/// The dispatcher's HTTP client: `http://` and verified `https://`.
type WebhookClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Delivers webhooks until `shutdown`; finishes the POSTs in hand first. `owner` names this
/// process's leases; `connector` is [`super::webhook_tls::connector`]'s.
pub async fn run(
    store: Store,
    signal: InboxSignal,
    owner: String,
    connector: HttpsConnector<HttpConnector>,
    shutdown: CancellationToken,
) {
    let client: WebhookClient = Client::builder(TokioExecutor::new()).build(connector);
    let mut changes = signal.subscribe();
    loop {
        changes.borrow_and_update();
        let claimed = match store.webhook_claim(&owner, BATCH, LEASE, now_ms()).await {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the webhook deliveries; retrying");
                Vec::new()
            }
        };
        let full = claimed.len() as u32 == BATCH;
        let mut tasks = tokio::task::JoinSet::new();
        for delivery in claimed {
            let (store, client, owner) = (store.clone(), client.clone(), owner.clone());
            tasks.spawn(async move { deliver(&store, &client, &owner, delivery).await });
        }
        while tasks.join_next().await.is_some() {}
        if shutdown.is_cancelled() {
            break;
        }
        if full {
            continue;
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = changes.changed() => {}
            _ = tokio::time::sleep(POLL) => {}
        }
    }
    tracing::debug!("webhook dispatcher stopped");
}

/// One attempt at one delivery, and its record.
async fn deliver(store: &Store, client: &WebhookClient, owner: &str, delivery: ClaimedDelivery) {
    let outcome = match (&delivery.url, &delivery.secret) {
        _ if delivery.revoked => DeliveryOutcome::Abandoned {
            status: None,
            error: "the key was revoked".into(),
        },
        (Some(url), Some(secret)) => {
            let (status, result) = post(client, url, secret, &delivery).await;
            match result {
                Ok(()) => DeliveryOutcome::Delivered {
                    status: status.unwrap_or(200),
                },
                Err(error) => {
                    let failures = delivery.attempts.saturating_add(1);
                    let now = now_ms();
                    let age = Duration::from_millis(
                        u64::try_from(now - delivery.created_at).unwrap_or(0),
                    );
                    if age >= MAX_AGE {
                        tracing::warn!(api_key = %delivery.api_key, delivery = delivery.id, message = delivery.entry.message_id, attempts = failures, %error, "webhook delivery abandoned after three days of failures; the message stays in the key's inbox");
                        DeliveryOutcome::Abandoned {
                            status,
                            error: format!("gave up after {failures} attempts: {error}"),
                        }
                    } else {
                        let wait = backoff(failures);
                        tracing::info!(api_key = %delivery.api_key, delivery = delivery.id, attempts = failures, retry_in_s = wait.as_secs(), %error, "webhook delivery failed; will retry");
                        DeliveryOutcome::Retry {
                            status,
                            error,
                            next_attempt_at: now.saturating_add(
                                i64::try_from(wait.as_millis()).unwrap_or(i64::MAX),
                            ),
                        }
                    }
                }
            }
        }
        _ => DeliveryOutcome::Abandoned {
            status: None,
            error: "the key's webhook was removed".into(),
        },
    };
    if let DeliveryOutcome::Delivered { status } = &outcome {
        tracing::info!(api_key = %delivery.api_key, delivery = delivery.id, message = delivery.entry.message_id, status, "webhook delivered");
    }
    match store
        .webhook_finish(delivery.id, owner, &outcome, now_ms())
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(
                delivery = delivery.id,
                "webhook delivery was taken over by another dispatcher (lease expired)"
            )
        }
        Err(e) => {
            tracing::error!(delivery = delivery.id, error = %e, "cannot record a webhook attempt; it will be retried when its lease ends")
        }
    }
}

/// POSTs the message; the answer's status (if any) and whether it was 2xx (else why not).
async fn post(
    client: &WebhookClient,
    url: &str,
    secret: &str,
    delivery: &ClaimedDelivery,
) -> (Option<u16>, Result<(), String>) {
    let uri: hyper::Uri = match url.parse() {
        Ok(uri) => uri,
        Err(e) => return (None, Err(format!("the webhook URL is invalid: {e}"))),
    };
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return (
            None,
            Err("the webhook URL must start with https:// or http://".into()),
        );
    }
    let body = match serde_json::to_vec(&InboundMessage::from(delivery.entry.clone())) {
        Ok(body) => body,
        Err(e) => return (None, Err(format!("cannot encode the message: {e}"))),
    };
    let signed = signature(secret, now_ms().div_euclid(1000), &body);
    let request = hyper::Request::post(uri)
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .header(hyper::header::USER_AGENT, "jingxun-webhook/1")
        .header("X-Jingxun-Signature", signed)
        .header("X-Jingxun-Delivery", delivery.id.to_string())
        .body(Full::new(Bytes::from(body)));
    let request = match request {
        Ok(request) => request,
        Err(e) => return (None, Err(format!("cannot build the request: {e}"))),
    };
    let exchange = async {
        let response = client.request(request).await.map_err(|e| {
            let why = causes(&e);
            let hint = if why.contains("certificate") {
                "; the server's certificate does not verify: put its CA in [webhooks] \
                     ca_file, or correct the certificate (host name, dates)"
            } else {
                ""
            };
            format!("POST to {} failed: {why}{hint}", redact_query(url))
        })?;
        let status = response.status();
        // Read (a bounded part of) the answer so that the connection can be reused.
        let _ = Limited::new(response.into_body(), MAX_ANSWER)
            .collect()
            .await;
        Ok::<_, String>(status)
    };
    match tokio::time::timeout(REQUEST_TIMEOUT, exchange).await {
        Err(_) => (
            None,
            Err(format!(
                "no answer from {} within {} s",
                redact_query(url),
                REQUEST_TIMEOUT.as_secs()
            )),
        ),
        Ok(Err(e)) => (None, Err(e)),
        Ok(Ok(status)) if status.is_success() => (Some(status.as_u16()), Ok(())),
        Ok(Ok(status)) => (
            Some(status.as_u16()),
            Err(format!("the client answered {status}")),
        ),
    }
}

/// `error` and its sources, outermost first: hyper's own message ("client error (Connect)")
/// says nothing of a refused connection or an untrusted certificate; its sources do.
fn causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_time_dot_body_in_hex() {
        // Reference value computed independently:
        // printf '1767225600.{"a":1}' | openssl dgst -sha256 -hmac whsec_test
        let header = signature("whsec_test", 1_767_225_600, br#"{"a":1}"#);
        let (t, v1) = header.split_once(',').unwrap();
        assert_eq!(t, "t=1767225600");
        assert_eq!(
            v1,
            "v1=6d204545ff126a339c00513d93603299c984074ce1331c3537c3f6c976b49019"
        );
        assert!(verify(
            "whsec_test",
            &header,
            br#"{"a":1}"#,
            1_767_225_610,
            Duration::from_secs(300)
        ));
        assert!(!verify(
            "whsec_other",
            &header,
            br#"{"a":1}"#,
            1_767_225_610,
            Duration::from_secs(300)
        ));
        assert!(!verify(
            "whsec_test",
            &header,
            br#"{"a":2}"#,
            1_767_225_610,
            Duration::from_secs(300)
        ));
        assert!(
            !verify(
                "whsec_test",
                &header,
                br#"{"a":1}"#,
                1_767_226_600,
                Duration::from_secs(300)
            ),
            "an old signature is refused"
        );
        assert!(!verify(
            "whsec_test",
            "garbage",
            b"",
            0,
            Duration::from_secs(300)
        ));
    }

    #[test]
    fn retries_wait_one_second_doubling_up_to_five_minutes() {
        let waits: Vec<u64> = (1..=12).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, vec![1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
        assert_eq!(backoff(u32::MAX), MAX_RETRY);
        assert_eq!(backoff(0), FIRST_RETRY);
    }
}
