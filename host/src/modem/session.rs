//! One conversation with a modem over an open port: writes AT commands and reads their answers,
//! setting aside the unsolicited lines (`+CMTI`, `+CDS`, ...) that arrive in the middle of an
//! answer so the driver can handle them afterwards, and noticing when the modem reboots.

use std::collections::VecDeque;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::{Instant, timeout_at};
use tokio_util::codec::Framed;

use super::at::{self, AtCodec, AtCommand, Final, Line, Urc};

/// How long the line must stay silent before a session that lost step with the modem trusts it
/// again. Modems answer within milliseconds; a late answer arrives well inside this.
const QUIET: Duration = Duration::from_millis(150);

/// The longest a session waits for that silence (a modem that chatters without end is not waited
/// for forever: its next answer is taken as it comes).
const RESYNC_LIMIT: Duration = Duration::from_secs(2);

/// Why a command did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// No final result code within the time allowed.
    #[error("no answer to {command} within {after:?}")]
    Timeout {
        /// The command, without secrets (AT commands carry none).
        command: String,
        /// How long we waited.
        after: Duration,
    },
    /// The port closed or failed: the modem was unplugged or the device vanished.
    #[error("the serial port closed or failed: {0}")]
    PortLost(String),
    /// The modem announced a restart (`RDY` and similar); its settings are lost.
    #[error("the modem restarted while {command} was in progress")]
    Rebooted {
        /// The command that was cut short.
        command: String,
    },
    /// `+CMS ERROR: <n>` (3GPP TS 27.005): a message service failure.
    #[error("{command} failed: +CMS ERROR {code} ({})", at::cms_error_text(*code))]
    Cms {
        /// The command that failed.
        command: String,
        /// The error code.
        code: u16,
    },
    /// `+CME ERROR: <n>` (3GPP TS 27.007): an equipment failure.
    #[error("{command} failed: +CME ERROR {code} ({})", at::cme_error_text(*code))]
    Cme {
        /// The command that failed.
        command: String,
        /// The error code.
        code: u16,
    },
    /// A plain `ERROR` (or `NO CARRIER`).
    #[error("{command} failed: the modem answered ERROR")]
    Failed {
        /// The command that failed.
        command: String,
    },
}

impl CommandError {
    /// Whether the link to the modem itself is broken (reopen or re-initialise), as opposed to
    /// one command failing.
    pub fn is_link_failure(&self) -> bool {
        matches!(self, Self::PortLost(_) | Self::Rebooted { .. })
    }
}

/// A command-and-answer channel to one modem. One codec frames both directions, so that the
/// decoder knows which command is being answered (`+CREG: 0,1` after `AT+CREG?` is an answer,
/// not an unsolicited line).
pub struct Session<T> {
    port: Framed<T, AtCodec>,
    unsolicited: VecDeque<Urc>,
    /// A command ended without its final result code (a reboot notice cut it short, or it timed
    /// out): that answer may still arrive and would be taken for the next command's. The next
    /// command first waits for the line to fall quiet, discarding what comes.
    out_of_step: bool,
}

impl<T: AsyncRead + AsyncWrite + Unpin> Session<T> {
    /// Wraps an open port.
    pub fn new(port: T) -> Self {
        Self {
            port: Framed::new(port, AtCodec::default()),
            unsolicited: VecDeque::new(),
            out_of_step: false,
        }
    }

    /// Sends `command` (without the trailing CR) and returns the information lines of its answer.
    pub async fn command(
        &mut self,
        command: &str,
        limit: Duration,
    ) -> Result<Vec<String>, CommandError> {
        self.write_command(command).await?;
        self.read_answer(command, limit).await
    }

    /// Sends one SMS-SUBMIT PDU with `AT+CMGS` and returns the message reference the modem gave it.
    pub async fn send_pdu(
        &mut self,
        tpdu_len: usize,
        pdu_hex: &str,
        prompt_limit: Duration,
        send_limit: Duration,
    ) -> Result<u8, CommandError> {
        let command = format!("AT+CMGS={tpdu_len}");
        self.write_command(&command).await?;
        let deadline = Instant::now() + prompt_limit;
        loop {
            match self.next_line(&command, deadline, prompt_limit).await {
                Ok(Line::Prompt) => break,
                Ok(Line::Final(f)) => return Err(final_error(&command, f)),
                Ok(_) => continue,
                Err(e @ CommandError::Timeout { .. }) => {
                    // Leave the PDU-entry state in case the prompt was lost rather than never sent.
                    let _ = self.write(AtCommand::Cancel).await;
                    return Err(e);
                }
                Err(e) => return Err(e),
            }
        }
        self.write(AtCommand::Pdu(pdu_hex.to_string())).await?;
        let lines = self.read_answer(&command, send_limit).await?;
        lines
            .iter()
            .find_map(|l| {
                l.strip_prefix("+CMGS:")
                    .and_then(|v| v.trim().split(',').next()?.trim().parse::<u8>().ok())
            })
            .ok_or_else(|| CommandError::Failed {
                command: format!("{command} (answer without +CMGS: <mr>)"),
            })
    }

    /// The next unsolicited line set aside during a command, if any.
    pub fn take_unsolicited(&mut self) -> Option<Urc> {
        self.unsolicited.pop_front()
    }

    /// Waits for the next line when no command is in progress: returns unsolicited lines (set-aside
    /// ones first); stray answers and garbage are skipped.
    pub async fn next_unsolicited(&mut self) -> Result<Urc, CommandError> {
        if let Some(urc) = self.unsolicited.pop_front() {
            return Ok(urc);
        }
        loop {
            match self.port.next().await {
                Some(Ok(Line::Urc(urc))) => return Ok(urc),
                Some(Ok(other)) => tracing::trace!(?other, "ignoring a line outside any command"),
                Some(Err(e)) => return Err(CommandError::PortLost(e.to_string())),
                None => return Err(CommandError::PortLost("end of stream".into())),
            }
        }
    }

    /// Writes a command line, first falling back in step with the modem if an earlier command
    /// was cut short.
    async fn write_command(&mut self, command: &str) -> Result<(), CommandError> {
        if self.out_of_step {
            self.resync().await?;
        }
        self.write(AtCommand::Line(command.to_string())).await
    }

    /// Discards answers (finals, information lines, echo, prompts) until the line has been
    /// silent for [`QUIET`], keeping unsolicited lines for the driver.
    async fn resync(&mut self) -> Result<(), CommandError> {
        let give_up = Instant::now() + RESYNC_LIMIT;
        let mut discarded = 0usize;
        loop {
            let quiet_until = (Instant::now() + QUIET).min(give_up);
            match timeout_at(quiet_until, self.port.next()).await {
                Err(_) => break,
                Ok(None) => return Err(CommandError::PortLost("end of stream".into())),
                Ok(Some(Err(e))) => return Err(CommandError::PortLost(e.to_string())),
                // A second reboot notice tells nothing new: the driver is re-initialising.
                Ok(Some(Ok(Line::Urc(Urc::Ready)))) => discarded += 1,
                Ok(Some(Ok(Line::Urc(urc)))) => self.unsolicited.push_back(urc),
                Ok(Some(Ok(other))) => {
                    tracing::debug!(?other, "discarding a late answer to a command cut short");
                    discarded += 1;
                }
            }
            if Instant::now() >= give_up {
                break;
            }
        }
        tracing::debug!(discarded, "back in step with the modem");
        self.out_of_step = false;
        Ok(())
    }

    async fn write(&mut self, command: AtCommand) -> Result<(), CommandError> {
        self.port.send(command).await.map_err(|e| match e {
            at::AtError::Io(io) => CommandError::PortLost(io.to_string()),
            other => CommandError::Failed {
                command: other.to_string(),
            },
        })
    }

    async fn read_answer(
        &mut self,
        command: &str,
        limit: Duration,
    ) -> Result<Vec<String>, CommandError> {
        let deadline = Instant::now() + limit;
        let mut info = Vec::new();
        loop {
            match self.next_line(command, deadline, limit).await? {
                Line::Final(Final::Ok) => return Ok(info),
                Line::Final(other) => return Err(final_error(command, other)),
                Line::Info(text) => info.push(text),
                Line::Prompt | Line::Echo(_) | Line::Urc(_) => {}
            }
        }
    }

    /// The next line of a command's answer; unsolicited lines are set aside, a reboot notice ends
    /// the command.
    async fn next_line(
        &mut self,
        command: &str,
        deadline: Instant,
        limit: Duration,
    ) -> Result<Line, CommandError> {
        loop {
            let line = match timeout_at(deadline, self.port.next()).await {
                Err(_) => {
                    self.out_of_step = true;
                    return Err(CommandError::Timeout {
                        command: command.to_string(),
                        after: limit,
                    });
                }
                Ok(None) => return Err(CommandError::PortLost("end of stream".into())),
                Ok(Some(Err(e))) => return Err(CommandError::PortLost(e.to_string())),
                Ok(Some(Ok(line))) => line,
            };
            match line {
                Line::Urc(Urc::Ready) => {
                    self.out_of_step = true;
                    return Err(CommandError::Rebooted {
                        command: command.to_string(),
                    });
                }
                Line::Urc(urc) => self.unsolicited.push_back(urc),
                other => return Ok(other),
            }
        }
    }
}

fn final_error(command: &str, code: Final) -> CommandError {
    let command = command.to_string();
    match code {
        Final::CmsError(code) => CommandError::Cms { command, code },
        Final::CmeError(code) => CommandError::Cme { command, code },
        _ => CommandError::Failed { command },
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, duplex};

    use super::*;
    use crate::modem::at::CTRL_Z;

    /// Far longer than a test runs: only the hang-up itself can end a wait this long in time.
    const FOREVER: Duration = Duration::from_secs(600);

    /// Reads what the host writes until `end` arrives.
    async fn read_until(modem: &mut DuplexStream, end: u8) {
        let mut buf = [0u8; 256];
        loop {
            let n = modem.read(&mut buf).await.expect("read the host's bytes");
            assert!(n > 0, "the host closed its side");
            if buf[..n].contains(&end) {
                return;
            }
        }
    }

    #[tokio::test]
    async fn a_port_closing_while_a_send_awaits_its_answer_ends_the_wait_as_a_lost_port() {
        let (host, mut modem) = duplex(1024);
        let mut session = Session::new(host);
        let unplugged_after_the_pdu = async move {
            read_until(&mut modem, b'\r').await;
            modem.write_all(b"\r\n> ").await.expect("prompt");
            read_until(&mut modem, CTRL_Z).await;
            drop(modem);
        };
        let (result, ()) = tokio::join!(
            session.send_pdu(3, "00010203", FOREVER, FOREVER),
            unplugged_after_the_pdu
        );
        let error = result.expect_err("no +CMGS answer can come");
        assert!(
            matches!(error, CommandError::PortLost(_)) && error.is_link_failure(),
            "{error:?}"
        );
    }

    /// Reads the host's command lines in turn, checks each and writes its scripted answer.
    async fn modem_answering(mut modem: DuplexStream, script: Vec<(&'static [u8], &'static [u8])>) {
        for (expected, answer) in script {
            let mut line = Vec::new();
            let mut byte = [0u8; 1];
            while byte[0] != b'\r' {
                modem
                    .read_exact(&mut byte)
                    .await
                    .expect("read the host's command");
                line.push(byte[0]);
            }
            assert_eq!(line, expected, "the host wrote an unexpected command");
            modem.write_all(answer).await.expect("answer");
        }
        // Keep the line open while the host reads the last answer.
        std::future::pending::<()>().await;
    }

    #[tokio::test]
    async fn the_late_answer_to_a_command_cut_short_by_a_reboot_is_not_taken_for_the_next() {
        let (host, modem) = duplex(1024);
        let modem = tokio::spawn(modem_answering(
            modem,
            vec![
                // The reboot notice arrives first, then the answer to the command it interrupted.
                (b"AT\r", b"\r\nRDY\r\n\r\nOK\r\n"),
                (b"AT+CSQ\r", b"\r\n+CSQ: 23,99\r\n\r\nOK\r\n"),
            ],
        ));
        let mut session = Session::new(host);
        let cut = session.command("AT", FOREVER).await;
        assert!(matches!(cut, Err(CommandError::Rebooted { .. })), "{cut:?}");
        let answer = session.command("AT+CSQ", FOREVER).await.expect("answer");
        assert_eq!(answer, vec!["+CSQ: 23,99".to_string()]);
        modem.abort();
    }

    #[tokio::test]
    async fn an_answer_arriving_after_its_command_timed_out_is_not_taken_for_the_next() {
        let (host, mut modem) = duplex(1024);
        let mut session = Session::new(host);
        let late = session.command("AT+CSQ", Duration::from_millis(20)).await;
        assert!(
            matches!(late, Err(CommandError::Timeout { .. })),
            "{late:?}"
        );
        modem
            .write_all(b"\r\n+CSQ: 5,99\r\n\r\nOK\r\n")
            .await
            .expect("the late answer");
        let modem = tokio::spawn(modem_answering(
            modem,
            vec![
                (b"AT+CSQ\r", b""),
                (b"AT+CREG?\r", b"\r\n+CREG: 0,1\r\n\r\nOK\r\n"),
            ],
        ));
        let answer = session.command("AT+CREG?", FOREVER).await.expect("answer");
        assert_eq!(answer, vec!["+CREG: 0,1".to_string()]);
        modem.abort();
    }

    #[tokio::test]
    async fn unsolicited_lines_met_while_falling_back_in_step_are_kept() {
        let (host, modem) = duplex(1024);
        let modem = tokio::spawn(modem_answering(
            modem,
            vec![
                (b"AT\r", b"\r\nRDY\r\n\r\n+CMTI: \"SM\",3\r\n\r\nOK\r\n"),
                (b"AT\r", b"\r\nOK\r\n"),
            ],
        ));
        let mut session = Session::new(host);
        let _ = session.command("AT", FOREVER).await;
        session.command("AT", FOREVER).await.expect("answer");
        assert!(
            matches!(
                session.take_unsolicited(),
                Some(Urc::NewMessage { index: 3, .. })
            ),
            "the +CMTI met while discarding is kept"
        );
        modem.abort();
    }
}
