//! The interactive front end of the simulator (`jingxun modem-sim --link PATH`): plays the network
//! from a terminal, reading commands from stdin and printing what the host sends.

use std::path::PathBuf;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

use super::{Fault, SimConfig, SimHandle, SimModem, Submitted};

const HELP: &str = "\
commands:
  receive <from> <text...>    the network delivers an SMS (e.g. receive +8613800000001 你好)
  report <mr> <status>        status report for a submitted message (0 = delivered)
  fault reboot                the modem reboots (RDY after ~100 ms)
  fault unplug <secs>         the port vanishes for <secs> seconds
  fault garbage               write random junk to the host
  fault silence <n>           swallow the next <n> commands
  fault fail <n> <cms>        the next <n> sends fail with +CMS ERROR: <cms>
  sent                        list the messages the host sent
  stats                       traffic counters
  quit                        stop";

/// Starts a simulator whose slave is reachable at `link`, prints the path, then serves commands
/// from stdin until `quit`, end of input or Ctrl-C. Each message the host sends is printed as it
/// arrives.
pub async fn run_console(config: SimConfig, link: PathBuf) -> std::io::Result<()> {
    let sim = SimModem::start(config, Some(link)).await?;
    println!(
        "modem simulator on {} (-> {})",
        sim.path().display(),
        sim.slave_path().display()
    );
    println!("{HELP}");
    let printer = tokio::spawn(print_submitted(sim.clone()));
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    loop {
        let line = tokio::select! {
            line = lines.next_line() => line?,
            _ = tokio::signal::ctrl_c() => None,
        };
        let Some(line) = line else { break };
        match execute(&sim, line.trim()) {
            Ok(true) => break,
            Ok(false) => {}
            Err(message) => println!("error: {message}"),
        }
    }
    printer.abort();
    sim.shutdown().await;
    Ok(())
}

/// Runs one console command; `Ok(true)` means quit.
fn execute(sim: &SimHandle, line: &str) -> Result<bool, String> {
    let mut words = line.split_whitespace();
    let Some(command) = words.next() else {
        return Ok(false);
    };
    let number = |word: Option<&str>, what: &str| -> Result<u64, String> {
        word.ok_or_else(|| format!("missing {what}"))?
            .parse()
            .map_err(|_| format!("{what} must be a number"))
    };
    match command {
        "receive" => {
            let from = words.next().ok_or("usage: receive <from> <text...>")?;
            let text = words.collect::<Vec<_>>().join(" ");
            if text.is_empty() {
                return Err("usage: receive <from> <text...>".into());
            }
            sim.receive_sms(from, &text).map_err(|e| e.to_string())?;
            println!("delivered from {from}: {text}");
        }
        "report" => {
            let mr = u8::try_from(number(words.next(), "message reference")?)
                .map_err(|_| "the message reference is 0-255")?;
            let status =
                u8::try_from(number(words.next(), "status")?).map_err(|_| "the status is 0-255")?;
            sim.send_status_report(mr, status)
                .map_err(|e| e.to_string())?;
            println!("status report {status} sent for reference {mr}");
        }
        "fault" => {
            let fault = match words.next() {
                Some("reboot") => Fault::Reboot,
                Some("unplug") => {
                    Fault::Unplug(Duration::from_secs(number(words.next(), "seconds")?))
                }
                Some("garbage") => {
                    let junk: Vec<u8> = (0..32).map(|_| rand::random::<u8>()).collect();
                    Fault::Garbage(junk)
                }
                Some("silence") => {
                    Fault::IgnoreCommands(number(words.next(), "command count")? as usize)
                }
                Some("fail") => {
                    let count = number(words.next(), "send count")? as usize;
                    let cms = u16::try_from(number(words.next(), "CMS error code")?)
                        .map_err(|_| "the CMS error code is 0-65535")?;
                    Fault::FailSends { count, cms }
                }
                _ => {
                    return Err(
                        "usage: fault reboot|unplug <secs>|garbage|silence <n>|fail <n> <cms>"
                            .into(),
                    );
                }
            };
            sim.inject(fault);
            println!("fault injected");
        }
        "sent" => {
            let sent = sim.submitted();
            if sent.is_empty() {
                println!("nothing sent yet");
            }
            for s in &sent {
                println!("{}", describe(s));
            }
        }
        "stats" => println!("{:?}", sim.stats()),
        "help" | "?" => println!("{HELP}"),
        "quit" | "exit" => return Ok(true),
        other => return Err(format!("unknown command {other:?}; type help")),
    }
    Ok(false)
}

/// Prints each newly submitted message.
async fn print_submitted(sim: SimHandle) {
    let mut changes = sim.shared.submitted.subscribe();
    let mut shown = 0;
    loop {
        let sent = sim.submitted();
        for s in sent.iter().skip(shown) {
            println!("host sent {}", describe(s));
        }
        shown = sent.len();
        if changes.changed().await.is_err() {
            return;
        }
    }
}

fn describe(s: &Submitted) -> String {
    match &s.decoded {
        Some(d) => {
            let part = d
                .concat
                .as_ref()
                .map(|c| format!(" [part {}/{}]", c.seq, c.total))
                .unwrap_or_default();
            let report = if d.status_report_request {
                ", report requested"
            } else {
                ""
            };
            format!(
                "mr {} to {}{part}{report}: {}",
                s.message_reference, d.destination.value, d.text
            )
        }
        None => format!(
            "mr {} (undecodable PDU {})",
            s.message_reference,
            hex::encode_upper(&s.raw)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn console_commands_drive_the_simulator_and_reject_bad_input() {
        let sim = SimModem::start(SimConfig::default(), None)
            .await
            .expect("pty available");
        assert_eq!(execute(&sim, "receive +8613800000001 你好 世界"), Ok(false));
        assert_eq!(
            sim.sim_storage().len(),
            1,
            "CNMI mt=0 at power-on stores silently"
        );
        assert_eq!(execute(&sim, "fault silence 2"), Ok(false));
        assert!(execute(&sim, "fault silence").is_err());
        assert!(execute(&sim, "report 300 0").is_err());
        assert!(
            execute(&sim, "report 1 0").is_err(),
            "nothing was submitted"
        );
        assert!(execute(&sim, "fly").is_err());
        assert_eq!(execute(&sim, "quit"), Ok(true));
        sim.shutdown().await;
    }
}
