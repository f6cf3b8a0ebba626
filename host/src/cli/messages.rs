//! `jingxun send` and `jingxun messages`: queue outbound SMS and list what the store holds.

use std::io::Write;

use anyhow::bail;

use jingxun::config::Config;
use jingxun::phone::parse_recipients;
use jingxun::store::{MessageFilter, MessageRecord, NewOutbound, Store};

/// Queues `text` to every recipient in `to`, in one transaction.
pub async fn send(
    config: &Config,
    to: &str,
    text: &str,
    service_number: Option<String>,
    priority: i32,
    skip_invalid: bool,
) -> anyhow::Result<()> {
    if text.is_empty() {
        bail!("the text is empty; give --text \"...\"");
    }
    let plan = jingxun::sms::plan(text);
    if plan.parts > 255 {
        bail!(
            "the text needs {} SMS parts; at most 255 can be joined, so shorten it",
            plan.parts
        );
    }
    let recipients = parse_recipients(to, &config.sms.default_country_code);
    for (entry, reason) in &recipients.invalid {
        eprintln!("not a phone number: {entry:?}: {reason}");
    }
    if recipients.valid.is_empty() {
        bail!("no valid recipient in --to; separate numbers with commas");
    }
    if !recipients.invalid.is_empty() && !skip_invalid {
        bail!(
            "{} recipient(s) are not phone numbers (listed above); fix them or add --skip-invalid",
            recipients.invalid.len()
        );
    }
    let store = Store::connect(&config.database.url).await?;
    let batch_id = format!("cli-{}", jingxun::clock::now_ms());
    let batch: Vec<NewOutbound> = recipients
        .valid
        .iter()
        .map(|number| NewOutbound {
            peer: number.to_string(),
            text: text.to_string(),
            service_number: service_number.clone(),
            priority,
            status_report: config.queue.status_report,
            valid_until_ms: None,
            send_at_ms: None,
            max_attempts: config.queue.max_attempts,
            batch_id: Some(batch_id.clone()),
        })
        .collect();
    let ids = store.enqueue(&batch).await?;
    store.close().await;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "queued {} message(s) of {} {} part(s) each, batch {batch_id}{}",
        ids.len(),
        plan.parts,
        plan.encoding.as_str(),
        if recipients.duplicates > 0 {
            format!(" ({} repeated number(s) sent once)", recipients.duplicates)
        } else {
            String::new()
        }
    )?;
    Ok(())
}

/// Prints the messages matching `filter`.
pub async fn list_messages(
    config: &Config,
    filter: &MessageFilter,
    json: bool,
) -> anyhow::Result<()> {
    let store = Store::connect(&config.database.url).await?;
    let messages = store.list_messages(filter).await?;
    store.close().await;
    let mut out = std::io::stdout().lock();
    for m in &messages {
        if json {
            writeln!(out, "{}", message_json(m)?)?;
        } else {
            writeln!(
                out,
                "{:>8}  {:<3}  {:<16}  {:<9}  {}",
                m.id,
                m.direction,
                m.peer,
                m.state,
                m.text
                    .chars()
                    .take(40)
                    .collect::<String>()
                    .replace('\n', " ")
            )?;
        }
    }
    Ok(())
}

/// Prints the undecodable PDUs kept raw.
pub async fn list_malformed(config: &Config, limit: u32, json: bool) -> anyhow::Result<()> {
    let store = Store::connect(&config.database.url).await?;
    let pdus = store.malformed_inbound(limit, None).await?;
    store.close().await;
    let mut out = std::io::stdout().lock();
    for pdu in &pdus {
        if json {
            let mut value = serde_json::to_value(pdu)?;
            value["stored_at"] = serde_json::Value::String(jingxun::clock::rfc3339(pdu.stored_at));
            writeln!(out, "{value}")?;
        } else {
            writeln!(
                out,
                "{:>8}  {:<8}  {}  ({})",
                pdu.id, pdu.modem, pdu.raw_pdu, pdu.error
            )?;
        }
    }
    Ok(())
}

/// A message as one JSON line: the stored record, with `parts` and times in RFC 3339 UTC.
fn message_json(message: &MessageRecord) -> anyhow::Result<String> {
    let mut value = serde_json::to_value(message)?;
    if let Some(object) = value.as_object_mut() {
        object.insert("parts".into(), serde_json::json!(message.parts_total));
        for (key, field) in object.iter_mut() {
            if (key.ends_with("_at") || key.ends_with("_until"))
                && let Some(ms) = field.as_i64()
            {
                *field = serde_json::Value::String(jingxun::clock::rfc3339(ms));
            }
        }
    }
    Ok(serde_json::to_string(&value)?)
}
