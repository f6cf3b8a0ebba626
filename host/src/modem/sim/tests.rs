//! The simulator over a real pty, spoken to by hand through `tokio-serial` and the AT codec (R1).

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio_serial::{SerialPortBuilderExt, SerialStream};
use tokio_util::codec::Framed;

use super::*;
use crate::modem::at::{AtCodec, AtCommand, Final, Line, Urc};
use crate::sms::{Address, Incoming, SubmitOptions, decode_incoming_hex, encode_submit};

const WAIT: Duration = Duration::from_secs(3);

type Port = Framed<SerialStream, AtCodec>;

fn open(path: &std::path::Path) -> Port {
    let port = tokio_serial::new(path.to_string_lossy(), 115_200)
        .open_native_async()
        .expect("the simulator's pty opens like a serial port");
    Framed::new(port, AtCodec::new())
}

async fn next(port: &mut Port) -> Line {
    match tokio::time::timeout(WAIT, port.next()).await {
        Ok(Some(Ok(line))) => line,
        other => panic!("expected a line from the modem, got {other:?}"),
    }
}

/// Sends a command and collects everything up to and including its final result code.
async fn command(port: &mut Port, cmd: &str) -> Vec<Line> {
    port.send(cmd).await.expect("write to the pty");
    collect_to_final(port).await
}

async fn collect_to_final(port: &mut Port) -> Vec<Line> {
    let mut lines = Vec::new();
    loop {
        let line = next(port).await;
        let done = matches!(line, Line::Final(_));
        lines.push(line);
        if done {
            return lines;
        }
    }
}

/// Echo off, numeric errors, PDU mode, new messages stored with +CMTI, reports as +CDS.
async fn setup(port: &mut Port) {
    let lines = command(port, "ATE0;+CMEE=1;+CMGF=0;+CNMI=2,1,0,1,0").await;
    assert_eq!(lines.last(), Some(&Line::Final(Final::Ok)), "{lines:?}");
}

/// Sends one SMS through `+CMGS`; returns the lines after the PDU.
async fn send_sms(port: &mut Port, to: &str, text: &str) -> Vec<Line> {
    let parts = encode_submit(
        &Address::international(to),
        text,
        7,
        &SubmitOptions::default(),
    )
    .expect("encodable");
    assert_eq!(parts.len(), 1);
    port.send(format!("AT+CMGS={}", parts[0].tpdu_len).as_str())
        .await
        .expect("write");
    assert_eq!(next(port).await, Line::Prompt);
    port.send(AtCommand::Pdu(parts[0].hex()))
        .await
        .expect("write");
    collect_to_final(port).await
}

async fn start(config: SimConfig) -> (SimHandle, Port) {
    let sim = SimModem::start(config, None).await.expect("pty available");
    let port = open(&sim.path());
    (sim, port)
}

#[tokio::test]
async fn echoes_commands_until_ate0() {
    let (sim, mut port) = start(SimConfig::default()).await;
    assert_eq!(
        command(&mut port, "AT").await,
        vec![Line::Echo("AT".into()), Line::Final(Final::Ok)]
    );
    assert_eq!(
        command(&mut port, "ATE0").await,
        vec![Line::Echo("ATE0".into()), Line::Final(Final::Ok)]
    );
    assert_eq!(command(&mut port, "AT").await, vec![Line::Final(Final::Ok)]);
    assert_eq!(
        command(&mut port, "AT+CPIN?").await,
        vec![Line::Info("+CPIN: READY".into()), Line::Final(Final::Ok)]
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn cmgs_round_trip_returns_a_reference_and_records_the_decoded_text() {
    let (sim, mut port) = start(SimConfig::default()).await;
    setup(&mut port).await;
    let lines = send_sms(&mut port, "8613800000001", "警讯测试 ok").await;
    assert_eq!(
        lines,
        vec![Line::Info("+CMGS: 0".into()), Line::Final(Final::Ok)]
    );
    let lines = send_sms(&mut port, "8613800000002", "second").await;
    assert_eq!(lines[0], Line::Info("+CMGS: 1".into()));
    let sent = sim
        .wait_for_submitted(2, WAIT)
        .await
        .expect("two messages submitted");
    let first = sent[0].decoded.as_ref().expect("decodable SUBMIT");
    assert_eq!(first.text, "警讯测试 ok");
    assert_eq!(first.destination.value, "8613800000001");
    assert_eq!(sent[0].message_reference, 0);
    assert_eq!(sent[1].message_reference, 1);
    assert_eq!(sim.stats().sends, 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn multipart_chinese_sms_is_stored_listed_and_deleted() {
    let (sim, mut port) = start(SimConfig::default()).await;
    setup(&mut port).await;
    let text = "各单位注意：".repeat(20); // 120 UCS2 characters: two parts
    sim.receive_sms("+8613800000001", &text)
        .expect("deliverable");
    let mut indices = Vec::new();
    for _ in 0..2 {
        match next(&mut port).await {
            Line::Urc(Urc::NewMessage { storage, index }) => {
                assert_eq!(storage, "SM");
                indices.push(index);
            }
            other => panic!("expected +CMTI, got {other:?}"),
        }
    }
    let listing = command(&mut port, "AT+CMGL=4").await;
    assert_eq!(listing.len(), 5, "two headers, two PDUs, OK: {listing:?}");
    let mut texts = Vec::new();
    for pair in listing[..4].chunks(2) {
        let (Line::Info(header), Line::Info(pdu)) = (&pair[0], &pair[1]) else {
            panic!("unexpected listing {listing:?}");
        };
        assert!(header.starts_with("+CMGL: "), "{header}");
        match decode_incoming_hex(pdu).expect("a valid SMS-DELIVER") {
            Incoming::Deliver(d) => {
                assert_eq!(d.originator.value, "8613800000001");
                assert_eq!(d.concat.map(|c| c.total), Some(2));
                texts.push(d.text);
            }
            other => panic!("expected a deliver, got {other:?}"),
        }
    }
    assert_eq!(texts.concat(), text);
    for index in indices {
        let lines = command(&mut port, &format!("AT+CMGD={index}")).await;
        assert_eq!(lines, vec![Line::Final(Final::Ok)]);
    }
    assert!(sim.sim_storage().is_empty());
    assert_eq!(
        command(&mut port, "AT+CMGL=4").await,
        vec![Line::Final(Final::Ok)]
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn reboot_emits_rdy_and_turns_echo_back_on() {
    let (sim, mut port) = start(SimConfig::default()).await;
    setup(&mut port).await;
    sim.inject(Fault::Reboot);
    assert_eq!(next(&mut port).await, Line::Urc(Urc::Ready));
    assert_eq!(
        command(&mut port, "AT+CMGF?").await,
        vec![
            Line::Echo("AT+CMGF?".into()),
            Line::Info("+CMGF: 1".into()),
            Line::Final(Final::Ok)
        ]
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn unplug_ends_the_hosts_stream_and_the_link_then_leads_to_a_new_pty() {
    let dir = tempfile::tempdir().expect("temp dir");
    let link = dir.path().join("ttyMODEM");
    // A stale link from an earlier run is replaced.
    std::os::unix::fs::symlink("/nonexistent", &link).expect("stale link");
    let sim = SimModem::start(SimConfig::default(), Some(link.clone()))
        .await
        .expect("pty available");
    assert_eq!(sim.path(), link);
    let mut port = open(&link);
    setup(&mut port).await;
    sim.inject(Fault::Unplug(Duration::from_millis(300)));
    match tokio::time::timeout(WAIT, port.next()).await {
        Ok(None | Some(Err(_))) => {}
        other => panic!("expected EOF or an I/O error after unplugging, got {other:?}"),
    }
    drop(port);
    assert!(
        std::fs::symlink_metadata(&link).is_err(),
        "the link is gone while unplugged"
    );
    // The kernel may hand out the same /dev/pts number again, so wait for the link itself.
    let deadline = tokio::time::Instant::now() + WAIT;
    while std::fs::read_link(&link).ok() != Some(sim.slave_path()) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the link never came back"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut port = open(&link);
    assert_eq!(next(&mut port).await, Line::Urc(Urc::Ready));
    assert_eq!(
        command(&mut port, "AT").await,
        vec![Line::Echo("AT".into()), Line::Final(Final::Ok)],
        "settings were reset"
    );
    drop(port);
    sim.shutdown().await;
    assert!(std::fs::symlink_metadata(&link).is_err(), "link removed");
}

#[tokio::test]
async fn refuses_to_replace_a_regular_file_with_the_link() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("precious");
    std::fs::write(&file, "keep me").expect("write");
    let err = SimModem::start(SimConfig::default(), Some(file.clone()))
        .await
        .err()
        .expect("must refuse");
    assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
    assert_eq!(std::fs::read_to_string(&file).expect("read"), "keep me");
}

#[tokio::test]
async fn fail_sends_answers_cms_error_then_recovers() {
    let (sim, mut port) = start(SimConfig::default()).await;
    setup(&mut port).await;
    sim.inject(Fault::FailSends { count: 1, cms: 42 });
    assert_eq!(
        send_sms(&mut port, "8613800000001", "x").await,
        vec![Line::Final(Final::CmsError(42))]
    );
    assert_eq!(
        send_sms(&mut port, "8613800000001", "y").await.last(),
        Some(&Line::Final(Final::Ok))
    );
    assert_eq!(sim.submitted().len(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn urc_inside_a_cmgs_response_and_garbage_reach_the_host_as_separate_lines() {
    let (sim, mut port) = start(SimConfig::default()).await;
    setup(&mut port).await;
    sim.inject(Fault::Garbage(b"\x00\xff\xfe junk\r\n".to_vec()));
    assert_eq!(next(&mut port).await, Line::Info("junk".into()));
    sim.inject(Fault::UrcInNextResponse("+CMTI: \"SM\",5".into()));
    assert_eq!(
        send_sms(&mut port, "8613800000001", "z").await,
        vec![
            Line::Info("+CMGS: 0".into()),
            Line::Urc(Urc::NewMessage {
                storage: "SM".into(),
                index: 5
            }),
            Line::Final(Final::Ok)
        ]
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn status_reports_follow_sends_that_request_them() {
    let config = SimConfig {
        status_report_delay: Some(Duration::from_millis(20)),
        send_delay: Duration::from_millis(20),
        ..SimConfig::default()
    };
    let (sim, mut port) = start(config).await;
    setup(&mut port).await;
    send_sms(&mut port, "8613800000001", "report me").await;
    let Line::Urc(Urc::StatusReport { pdu }) = next(&mut port).await else {
        panic!("expected +CDS");
    };
    match decode_incoming_hex(&pdu).expect("valid status report") {
        Incoming::StatusReport(r) => {
            assert_eq!(r.message_reference, 0);
            assert_eq!(r.recipient.value, "8613800000001");
            assert_eq!(r.status, 0);
        }
        other => panic!("expected a status report, got {other:?}"),
    }
    sim.send_status_report(0, 0x46)
        .expect("reference 0 was submitted");
    let Line::Urc(Urc::StatusReport { pdu }) = next(&mut port).await else {
        panic!("expected +CDS");
    };
    assert!(matches!(
        decode_incoming_hex(&pdu),
        Ok(Incoming::StatusReport(r)) if r.status == 0x46
    ));
    sim.shutdown().await;
}

#[tokio::test]
async fn ignored_commands_get_no_answer_until_the_fault_is_spent() {
    let (sim, mut port) = start(SimConfig::default()).await;
    setup(&mut port).await;
    sim.inject(Fault::IgnoreCommands(1));
    port.send("AT").await.expect("write");
    assert!(
        tokio::time::timeout(Duration::from_millis(200), port.next())
            .await
            .is_err(),
        "a swallowed command must get no answer"
    );
    assert_eq!(command(&mut port, "AT").await, vec![Line::Final(Final::Ok)]);
    sim.shutdown().await;
}

#[tokio::test]
async fn baud_emulation_carries_every_byte_and_counts_them() {
    let (sim, mut port) = start(SimConfig {
        baud: Some(19_200),
        ..SimConfig::default()
    })
    .await;
    assert_eq!(
        command(&mut port, "ATE0").await,
        vec![Line::Echo("ATE0".into()), Line::Final(Final::Ok)]
    );
    sim.inject(Fault::Baud(Some(9_600)));
    assert_eq!(
        command(&mut port, "AT+CSQ").await,
        vec![Line::Info("+CSQ: 23,99".into()), Line::Final(Final::Ok)]
    );
    let stats = sim.stats();
    assert_eq!(
        stats.bytes_from_host,
        ("ATE0\r".len() + "AT+CSQ\r".len()) as u64
    );
    let answers = "ATE0\r\r\nOK\r\n".len() + "\r\n+CSQ: 23,99\r\n\r\nOK\r\n".len();
    assert_eq!(stats.bytes_to_host, answers as u64);
    assert_eq!(stats.commands, 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn wait_for_submitted_times_out_with_a_count() {
    let (sim, _port) = start(SimConfig::default()).await;
    match sim.wait_for_submitted(1, Duration::from_millis(50)).await {
        Err(SimError::Timeout {
            wanted: 1, got: 0, ..
        }) => {}
        other => panic!("expected a timeout, got {other:?}"),
    }
    sim.shutdown().await;
}

/// A process started after the simulator (the daemon under test, a CLI call) must not inherit
/// the pty: if it held the master, unplugging would not hang up the host's side, and a driver
/// waiting for an answer would notice the vanished modem only when its wait timed out.
#[tokio::test]
async fn unplug_hangs_up_the_host_even_when_a_child_process_was_started_meanwhile() {
    let dir = tempfile::tempdir().expect("temp dir");
    let link = dir.path().join("ttyMODEM");
    let sim = SimModem::start(SimConfig::default(), Some(link.clone()))
        .await
        .expect("pty available");
    let mut child = std::process::Command::new("sleep")
        .arg("60")
        .spawn()
        .expect("start a child process");
    let mut port = open(&link);
    setup(&mut port).await;
    sim.inject(Fault::Unplug(Duration::from_secs(30)));
    let seen = tokio::time::timeout(WAIT, port.next()).await;
    let _ = child.kill();
    let _ = child.wait();
    match seen {
        Ok(None | Some(Err(_))) => {}
        other => panic!("expected EOF or an I/O error after unplugging, got {other:?}"),
    }
    drop(port);
    sim.shutdown().await;
}
