//! End-to-end tests of the gateway core (R1, R19, R20): the real `jingxun` binary, simulated
//! modems on pseudo-terminals speaking AT, and a real database. Every test runs on SQLite, and
//! again on PostgreSQL when `JINGXUN_TEST_POSTGRES_URL` is set.

use std::collections::HashMap;
use std::time::Duration;

use crate::support::{Backend, Daemon, Database, ModemSpec};
use jingxun::modem::sim::{Fault, SimConfig, SimHandle, SimModem};
use jingxun::sms::{Address, DeliverOptions, Encoding};
use serde_json::Value;

const LONG_WAIT: Duration = Duration::from_secs(60);

jingxun::on_both_backends!(Backend =>
    incoming_chinese_sms_is_stored_with_its_text_and_removed_from_the_sim,
    a_200_character_chinese_text_leaves_as_three_numbered_ucs2_parts,
    delivery_reports_make_a_message_delivered_only_when_every_part_is,
    parts_arriving_out_of_order_and_twice_make_one_message,
    faults_on_the_line_lose_no_message,
    an_unplugged_modem_is_reopened_and_sends_what_waited,
    a_modem_that_vanishes_mid_send_loses_no_message,
    a_modem_that_vanishes_while_a_send_awaits_its_answer_is_reopened_and_sends_it,
    a_killed_daemon_sends_everything_after_a_restart,
    a_permanent_network_refusal_fails_the_message_with_its_reason,
    outbound_messages_are_spread_over_every_ready_modem,
    sigterm_drains_and_stops_cleanly,
    a_malformed_pdu_is_kept_raw_and_cleared_from_the_sim,
    an_alphanumeric_sender_named_as_an_officers_phone_gets_no_answer_and_is_marked,
    an_emoji_cut_between_two_parts_by_the_sending_phone_arrives_whole,
);

/// A running test set-up: the daemon, its simulated modems and its database.
struct Rig {
    daemon: Daemon,
    sims: Vec<SimHandle>,
    database: Database,
}

impl Rig {
    async fn start(backend: Backend, sim_configs: Vec<SimConfig>, extra: &str) -> Rig {
        Rig::start_with(backend, sim_configs, "", extra).await
    }

    /// As [`Rig::start`], with `modem_extra` TOML lines in every `[[modem]]` table.
    async fn start_with(
        backend: Backend,
        sim_configs: Vec<SimConfig>,
        modem_extra: &str,
        extra: &str,
    ) -> Rig {
        let dir = tempfile::tempdir().expect("temporary folder");
        let database = Database::create(&backend, dir.path()).await;
        let mut sims = Vec::new();
        let mut specs = Vec::new();
        for (i, config) in sim_configs.into_iter().enumerate() {
            let link = dir.path().join(format!("modem{i}"));
            let sim = SimModem::start(config, Some(link.clone()))
                .await
                .expect("start the simulated modem");
            specs.push(ModemSpec {
                name: format!("m{i}"),
                port: link,
                extra: modem_extra.to_string(),
            });
            sims.push(sim);
        }
        let daemon = Daemon::start(dir, &database.url, &specs, extra);
        daemon.wait_ready().await;
        Rig {
            daemon,
            sims,
            database,
        }
    }

    async fn finish(mut self) {
        self.daemon.kill9();
        for sim in self.sims {
            sim.shutdown().await;
        }
        self.database.drop_database().await;
    }
}

fn texts_submitted(sims: &[SimHandle]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for sim in sims {
        for s in sim.submitted() {
            if let Some(decoded) = s.decoded
                && decoded.concat.is_none()
            {
                *counts.entry(decoded.text).or_insert(0) += 1;
            }
        }
    }
    counts
}

fn states(messages: &[Value]) -> Vec<String> {
    messages
        .iter()
        .map(|m| m["state"].as_str().unwrap_or("?").to_string())
        .collect()
}

fn all_in(messages: &[Value], count: usize, wanted: &[&str]) -> bool {
    messages.len() == count
        && messages
            .iter()
            .all(|m| wanted.contains(&m["state"].as_str().unwrap_or("")))
}

async fn incoming_chinese_sms_is_stored_with_its_text_and_removed_from_the_sim(backend: Backend) {
    let rig = Rig::start(backend, vec![SimConfig::default()], "").await;
    let text = "你好，警讯平台。请核查京A12345。";
    rig.sims[0]
        .receive_sms("13800000001", text)
        .expect("deliver to the simulated modem");
    let messages = rig
        .daemon
        .wait_for_messages("in", LONG_WAIT, |m| m.iter().any(|m| m["text"] == text))
        .await;
    let message = messages.iter().find(|m| m["text"] == text).unwrap();
    assert_eq!(message["peer"], "+8613800000001");
    assert_eq!(message["state"], "received");
    assert_eq!(message["modem"], "m0");
    let deadline = std::time::Instant::now() + LONG_WAIT;
    while !rig.sims[0].sim_storage().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the SIM was never emptied"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    rig.finish().await;
}

async fn a_200_character_chinese_text_leaves_as_three_numbered_ucs2_parts(backend: Backend) {
    let rig = Rig::start(backend, vec![SimConfig::default()], "").await;
    let text: String = "警讯平台长短信测试，第一段到第三段。"
        .chars()
        .cycle()
        .take(200)
        .collect();
    rig.daemon.send("13800000002", &text);
    let submitted = rig.sims[0]
        .wait_for_submitted(3, LONG_WAIT)
        .await
        .expect("three parts submitted");
    let parts: Vec<_> = submitted
        .iter()
        .map(|s| s.decoded.clone().expect("each part decodes"))
        .collect();
    let reference = parts[0].concat.as_ref().expect("concatenated").reference;
    let mut joined = String::new();
    for (i, part) in parts.iter().enumerate() {
        let concat = part
            .concat
            .as_ref()
            .expect("every part has a concatenation header");
        assert_eq!(
            (concat.seq, concat.total, concat.reference),
            (i as u8 + 1, 3, reference)
        );
        assert_eq!(part.encoding, Encoding::Ucs2);
        assert_eq!(part.destination.to_string(), "+8613800000002");
        joined.push_str(&part.text);
    }
    assert_eq!(joined, text);
    let out = rig
        .daemon
        .wait_for_messages("out", LONG_WAIT, |m| all_in(m, 1, &["sent", "delivered"]))
        .await;
    assert_eq!(out[0]["parts"], 3);
    assert_eq!(out[0]["encoding"], "ucs2");
    rig.finish().await;
}

async fn delivery_reports_make_a_message_delivered_only_when_every_part_is(backend: Backend) {
    let rig = Rig::start(
        backend,
        vec![SimConfig {
            status_report_delay: None,
            ..SimConfig::default()
        }],
        "",
    )
    .await;
    let text: String = "送达报告".chars().cycle().take(100).collect();
    rig.daemon.send("13800000003", &text);
    let submitted = rig.sims[0]
        .wait_for_submitted(2, LONG_WAIT)
        .await
        .expect("two parts");
    assert!(
        submitted
            .iter()
            .all(|s| s.decoded.as_ref().is_some_and(|d| d.status_report_request))
    );
    rig.daemon
        .wait_for_messages("out", LONG_WAIT, |m| all_in(m, 1, &["sent"]))
        .await;
    // One part delivered (twice: a duplicate report is harmless): still only `sent`.
    rig.sims[0]
        .send_status_report(submitted[1].message_reference, 0)
        .unwrap();
    rig.sims[0]
        .send_status_report(submitted[1].message_reference, 0)
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(states(&rig.daemon.messages("out")), ["sent"]);
    rig.sims[0]
        .send_status_report(submitted[0].message_reference, 0)
        .unwrap();
    let out = rig
        .daemon
        .wait_for_messages("out", LONG_WAIT, |m| all_in(m, 1, &["delivered"]))
        .await;
    assert!(out[0]["delivered_at"].is_string());
    rig.finish().await;
}

async fn parts_arriving_out_of_order_and_twice_make_one_message(backend: Backend) {
    let rig = Rig::start(backend, vec![SimConfig::default()], "").await;
    let text: String = "乱序到达的长短信分段。".chars().cycle().take(150).collect();
    let options = DeliverOptions {
        timestamp: chrono::Utc::now().fixed_offset(),
        concat_reference: 77,
        wide_reference: false,
        smsc: None,
    };
    let pdus =
        jingxun::sms::encode_deliver(&Address::international("8613800000004"), &text, &options)
            .unwrap();
    assert_eq!(pdus.len(), 3);
    for i in [2, 0, 0, 1] {
        rig.sims[0].receive_pdu(pdus[i].clone()).unwrap();
    }
    let messages = rig
        .daemon
        .wait_for_messages("in", LONG_WAIT, |m| {
            m.iter().any(|m| m["text"] == text.as_str())
        })
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let messages = if messages.len() == 1 {
        rig.daemon.messages("in")
    } else {
        messages
    };
    assert_eq!(messages.len(), 1, "exactly one message: {messages:?}");
    assert_eq!(messages[0]["parts"], 3);
    rig.finish().await;
}

async fn faults_on_the_line_lose_no_message(backend: Backend) {
    let rig = Rig::start(backend, vec![SimConfig::default()], "").await;
    let sim = &rig.sims[0];
    let texts: Vec<String> = (0..12).map(|i| format!("fault test {i}")).collect();
    for (i, text) in texts.iter().enumerate() {
        match i {
            2 => sim.inject(Fault::Garbage(b"\xff\x00~~garbage\r\n+++\r\n\x7f".to_vec())),
            4 => sim.inject(Fault::UrcInNextResponse("+CDS: 6".into())),
            6 => sim.inject(Fault::IgnoreCommands(1)),
            8 => sim.inject(Fault::FailSends { count: 2, cms: 500 }),
            10 => sim.inject(Fault::Reboot),
            _ => {}
        }
        rig.daemon.send("13800000005", text);
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let incoming = "故障期间收到的短信";
    sim.receive_sms("13800000006", incoming).unwrap();
    // Only the messages to the test's recipient: the incoming text gets the router's hint too.
    rig.daemon
        .wait_for_messages("out", LONG_WAIT, |m| {
            let ours: Vec<Value> = m
                .iter()
                .filter(|m| m["peer"] == "+8613800000005")
                .cloned()
                .collect();
            all_in(&ours, 12, &["sent", "delivered"])
        })
        .await;
    rig.daemon
        .wait_for_messages("in", LONG_WAIT, |m| m.iter().any(|m| m["text"] == incoming))
        .await;
    let counts = texts_submitted(&rig.sims);
    for text in &texts {
        let n = counts.get(text).copied().unwrap_or(0);
        assert!(
            (1..=2).contains(&n),
            "{text:?} was submitted {n} times (at-least-once allows one repeat)"
        );
    }
    rig.finish().await;
}

async fn an_unplugged_modem_is_reopened_and_sends_what_waited(backend: Backend) {
    let rig = Rig::start(backend, vec![SimConfig::default()], "").await;
    rig.sims[0].inject(Fault::Unplug(Duration::from_secs(2)));
    tokio::time::sleep(Duration::from_millis(300)).await;
    for i in 0..3 {
        rig.daemon
            .send("13800000007", &format!("queued while unplugged {i}"));
    }
    rig.daemon
        .wait_for_messages("out", LONG_WAIT, |m| all_in(m, 3, &["sent", "delivered"]))
        .await;
    let health = rig.daemon.health().await;
    assert!(
        health["modems"][0]["reconnects"].as_u64().unwrap_or(0) >= 1,
        "{health}"
    );
    rig.finish().await;
}

async fn a_modem_that_vanishes_mid_send_loses_no_message(backend: Backend) {
    let slow = SimConfig {
        send_delay: Duration::from_millis(300),
        ..SimConfig::default()
    };
    // The default send timeout (60 s) stays: the driver must notice the hang-up itself, not wait
    // for an answer that cannot come.
    let rig = Rig::start(backend, vec![slow], "").await;
    let texts: Vec<String> = (0..6).map(|i| format!("vanishing modem {i}")).collect();
    for text in &texts {
        rig.daemon.send("13800000012", text);
    }
    rig.sims[0]
        .wait_for_submitted(2, LONG_WAIT)
        .await
        .expect("sending started");
    rig.sims[0].inject(Fault::Unplug(Duration::from_secs(1)));
    rig.daemon
        .wait_for_messages("out", LONG_WAIT, |m| all_in(m, 6, &["sent", "delivered"]))
        .await;
    let counts = texts_submitted(&rig.sims);
    for text in &texts {
        let n = counts.get(text).copied().unwrap_or(0);
        assert!((1..=2).contains(&n), "{text:?} was submitted {n} times");
    }
    rig.finish().await;
}

async fn a_modem_that_vanishes_while_a_send_awaits_its_answer_is_reopened_and_sends_it(
    backend: Backend,
) {
    // A send timeout far beyond the test's wait: only noticing the hang-up itself ends the wait
    // for the `+CMGS` answer in time.
    let rig = Rig::start_with(
        backend,
        vec![SimConfig::default()],
        "send_timeout_ms = 600000",
        "",
    )
    .await;
    rig.sims[0].inject(Fault::UnplugAfterNextPdu(Duration::from_millis(500)));
    rig.daemon.send("13800000013", "cut off after the PDU");
    rig.daemon
        .wait_for_messages("out", LONG_WAIT, |m| all_in(m, 1, &["sent", "delivered"]))
        .await;
    assert_eq!(
        texts_submitted(&rig.sims).get("cut off after the PDU"),
        Some(&1),
        "the network never got the first attempt, so the message went out once, after the reopen"
    );
    let health = rig.daemon.health().await;
    assert!(
        health["modems"][0]["reconnects"].as_u64().unwrap_or(0) >= 1,
        "the broken link was reopened: {health}"
    );
    rig.finish().await;
}

async fn a_killed_daemon_sends_everything_after_a_restart(backend: Backend) {
    let slow = SimConfig {
        send_delay: Duration::from_millis(400),
        ..SimConfig::default()
    };
    let mut rig = Rig::start(backend, vec![slow], "").await;
    let texts: Vec<String> = (0..8).map(|i| format!("kill -9 test {i}")).collect();
    for text in &texts {
        rig.daemon.send("13800000008", text);
    }
    rig.sims[0]
        .wait_for_submitted(2, LONG_WAIT)
        .await
        .expect("sending started");
    rig.daemon.kill9();
    rig.daemon.restart();
    rig.daemon
        .wait_for_messages("out", LONG_WAIT, |m| all_in(m, 8, &["sent", "delivered"]))
        .await;
    let counts = texts_submitted(&rig.sims);
    for text in &texts {
        let n = counts.get(text).copied().unwrap_or(0);
        assert!((1..=2).contains(&n), "{text:?} was submitted {n} times");
    }
    rig.finish().await;
}

async fn a_permanent_network_refusal_fails_the_message_with_its_reason(backend: Backend) {
    let rig = Rig::start(backend, vec![SimConfig::default()], "").await;
    rig.sims[0].inject(Fault::FailSends { count: 1, cms: 21 });
    rig.daemon.send("13800000009", "refused by the network");
    let out = rig
        .daemon
        .wait_for_messages("out", LONG_WAIT, |m| all_in(m, 1, &["failed"]))
        .await;
    let error = out[0]["last_error"].as_str().unwrap_or_default();
    assert!(
        error.contains("21"),
        "the reason names the network's code: {error}"
    );
    // The modem is still fine for the next message.
    rig.daemon.send("13800000009", "the next one goes");
    rig.daemon
        .wait_for_messages("out", LONG_WAIT, |m| {
            m.iter().any(|m| {
                m["text"] == "the next one goes"
                    && m["state"] != "queued"
                    && m["state"] != "sending"
            })
        })
        .await;
    rig.finish().await;
}

async fn outbound_messages_are_spread_over_every_ready_modem(backend: Backend) {
    let slow = || SimConfig {
        send_delay: Duration::from_millis(100),
        ..SimConfig::default()
    };
    let rig = Rig::start(backend, vec![slow(), slow()], "").await;
    let to: Vec<String> = (0..20).map(|i| format!("1380000{i:04}")).collect();
    rig.daemon.send(&to.join(","), "load balancing");
    rig.daemon
        .wait_for_messages("out", LONG_WAIT, |m| all_in(m, 20, &["sent", "delivered"]))
        .await;
    let per_modem: Vec<usize> = rig.sims.iter().map(|s| s.submitted().len()).collect();
    assert_eq!(per_modem.iter().sum::<usize>(), 20, "{per_modem:?}");
    assert!(
        per_modem.iter().all(|&n| n >= 5),
        "both modems carry a fair share: {per_modem:?}"
    );
    rig.finish().await;
}

async fn sigterm_drains_and_stops_cleanly(backend: Backend) {
    let mut rig = Rig::start(backend, vec![SimConfig::default()], "").await;
    for i in 0..5 {
        rig.daemon.send("13800000010", &format!("drain {i}"));
    }
    rig.sims[0]
        .wait_for_submitted(1, LONG_WAIT)
        .await
        .expect("sending started");
    assert!(
        rig.daemon.terminate(),
        "jingxun exits with success on SIGTERM:\n{}",
        rig.daemon.log_tail()
    );
    let out = rig.daemon.messages("out");
    assert!(
        out.iter().all(|m| m["state"] != "sending"),
        "nothing is left half-claimed after a drain: {:?}",
        states(&out)
    );
    rig.finish().await;
}

async fn a_malformed_pdu_is_kept_raw_and_cleared_from_the_sim(backend: Backend) {
    let rig = Rig::start(backend, vec![SimConfig::default()], "").await;
    // A DELIVER whose time stamp is not decimal: no decoder can make sense of it.
    let broken =
        hex::decode("0791683108200505F0040D91683108000000F00008621192516195231A4F60").unwrap();
    rig.sims[0].receive_pdu(broken).unwrap();
    rig.sims[0]
        .receive_sms("13800000011", "坏消息之后的好消息")
        .unwrap();
    rig.daemon
        .wait_for_messages("in", LONG_WAIT, |m| {
            m.iter().any(|m| m["text"] == "坏消息之后的好消息")
        })
        .await;
    let deadline = std::time::Instant::now() + LONG_WAIT;
    loop {
        let out = rig.daemon.cli(&["messages", "--malformed", "--json"]);
        let listing = String::from_utf8_lossy(&out.stdout).to_string();
        if let Some(line) = listing.lines().find(|l| l.contains("0791683108200505F0")) {
            let record: Value = serde_json::from_str(line).unwrap();
            assert!(
                record["error"]
                    .as_str()
                    .is_some_and(|e| e.contains("time stamp")),
                "the reason is kept: {line}"
            );
            assert_eq!(record["modem"], "m0");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "malformed PDU not stored: {listing}\n{}",
            rig.daemon.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    while !rig.sims[0].sim_storage().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the SIM was never emptied"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    rig.finish().await;
}

/// Issue 18 finding 6: a sender's alphanumeric name is whatever the sender chose, the digits of
/// an officer's phone too. It must not pass for that phone.
async fn an_alphanumeric_sender_named_as_an_officers_phone_gets_no_answer_and_is_marked(
    backend: Backend,
) {
    const OFFICER: &str = "13800000001";
    let rig = Rig::start(backend, vec![SimConfig::default()], "").await;
    rig.daemon.add_officer(OFFICER);
    let timestamp = chrono::DateTime::parse_from_rfc3339("2026-01-01T08:00:00+08:00").unwrap();
    for pdu in jingxun::sms::encode_deliver(
        &Address::alphanumeric(OFFICER),
        "CP 京A12345",
        &DeliverOptions::new(timestamp),
    )
    .unwrap()
    {
        rig.sims[0].receive_pdu(pdu).unwrap();
    }
    let inbound = rig
        .daemon
        .wait_for_messages("in", LONG_WAIT, |m| {
            m.iter().any(|m| m["text"] == "CP 京A12345")
        })
        .await;
    let named = inbound.iter().find(|m| m["text"] == "CP 京A12345").unwrap();
    assert_eq!(named["peer"], OFFICER, "the name as it came, not +86...");
    assert_eq!(named["peer_kind"], "alphanumeric");

    // The officer's own phone, after it: once it is answered, the name's message was routed.
    rig.sims[0].receive_sms(OFFICER, "H").unwrap();
    let outbound = rig
        .daemon
        .wait_for_messages("out", LONG_WAIT, |m| !m.is_empty())
        .await;
    assert_eq!(
        outbound.len(),
        1,
        "only the officer's H is answered: {outbound:#?}"
    );
    assert_eq!(outbound[0]["peer"], format!("+86{OFFICER}"));
    assert_ne!(
        outbound[0]["batch_id"],
        format!("reply-{}", named["id"]),
        "the answer is the H's, not the name's"
    );
    let audit = rig.daemon.cli_ok(&["audit", "--json", "--event", "query"]);
    assert!(
        !audit.contains("京A12345"),
        "no query was made for the name: {audit}"
    );
    rig.finish().await;
}

/// Some handsets cut a long UCS2 text at a fixed size, through the middle of a surrogate pair.
async fn an_emoji_cut_between_two_parts_by_the_sending_phone_arrives_whole(backend: Backend) {
    let rig = Rig::start(backend, vec![SimConfig::default()], "").await;
    let text = format!("{}😀收到", "警".repeat(66));
    let octets: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
    // 134 octets to a part: the first ends with the emoji's high surrogate.
    let options = DeliverOptions {
        concat_reference: 77,
        ..DeliverOptions::new(chrono::Utc::now().fixed_offset())
    };
    let pdus = jingxun::sms::encode_deliver_ucs2_chunks(
        &Address::international("8613800000031"),
        &[&octets[..134], &octets[134..]],
        &options,
    )
    .unwrap();
    for pdu in pdus {
        rig.sims[0].receive_pdu(pdu).unwrap();
    }
    let inbound = rig
        .daemon
        .wait_for_messages("in", LONG_WAIT, |m| !m.is_empty())
        .await;
    assert_eq!(inbound[0]["text"], text.as_str(), "{inbound:#?}");
    assert_eq!(inbound[0]["parts_total"], 2);
    rig.finish().await;
}

#[test]
fn a_configuration_error_names_the_key_and_stops_the_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(
        &config,
        "[[modem]]\nname = \"m1\"\nport = \"/dev/null\"\nbaud = 12345\n",
    )
    .unwrap();
    let out = std::process::Command::new(crate::support::JINGXUN)
        .arg("--config")
        .arg(&config)
        .arg("serve")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("modem[0].baud"), "{stderr}");
}

#[test]
fn environment_variables_override_the_file_and_others_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("jingxun.toml");
    std::fs::write(&config, "[http]\nlisten = \"127.0.0.1:8080\"\n").unwrap();
    let out = std::process::Command::new(crate::support::JINGXUN)
        .arg("--config")
        .arg(&config)
        .args(["config", "check"])
        .env("JINGXUN_HTTP__LISTEN", "127.0.0.1:9999")
        .env("JINGXUN_QUEUE__MAX_ATTEMPTS", "9")
        .env("JINGXUN_UNRELATED_SETTING", "x")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("127.0.0.1:9999"), "{stdout}");
    assert!(stdout.contains("max_attempts = 9"), "{stdout}");
}

#[test]
fn send_refuses_a_list_with_a_wrong_number_and_says_which() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(crate::support::JINGXUN)
        .args(["send", "--to", "13800000001,not-a-number", "--text", "x"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not-a-number"), "{stderr}");
    assert!(!dir.path().join("jingxun.db").exists() || stderr.contains("--skip-invalid"));
}
