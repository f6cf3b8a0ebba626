//! The simulated modem's AT state machine, without I/O: bytes from the host go in through
//! [`Engine::feed`], bytes for the host accumulate in [`Engine::out`], and time-driven events
//! (network delays, reboots, re-plugging) are timers the I/O task fires through
//! [`Engine::fire_timers`]. Keeping the clock outside makes the behaviour deterministic.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, Utc};

use super::{Fault, SimConfig, SimError, SimStats, Submitted};
use crate::modem::at::{CTRL_Z, ESC, cme_error_text, cms_error_text};
use crate::sms::{Address, DeliverOptions, decode_submit, encode_deliver, encode_status_report};

/// How long a rebooting modem stays silent before `RDY`.
const BOOT_TIME: Duration = Duration::from_millis(100);
/// The longest command line kept; longer lines are answered with `ERROR`.
const MAX_COMMAND: usize = 1024;
/// The most hex digits accepted after the `+CMGS` prompt (a TPDU is at most 176 octets).
const MAX_PDU_HEX: usize = 2 * (176 + 12);
/// Output that the host does not read is dropped beyond this, as a real modem's UART buffer would.
const MAX_OUTPUT: usize = 1 << 20;

const IMEI: &str = "867530012345678";
const IMSI: &str = "460001234567890";
const MANUFACTURER: &str = "JINGXUN";
const MODEL: &str = "JX-SIM900";
const REVISION: &str = "JX-SIM 1.0";

/// Settings that a reboot, `ATZ` or an unplug resets.
#[derive(Debug, Clone)]
struct Settings {
    echo: bool,
    cmee: u8,
    /// `+CMGF`: 0 PDU mode, 1 text mode.
    cmgf: u8,
    /// `+CNMI`: mode, mt, bm, ds, bfr.
    cnmi: [u8; 5],
    csms: u8,
    creg: u8,
    fun: u8,
    /// `+CPMS` memory names (mem1 read/delete, mem2 write, mem3 receive); all map to one store.
    cpms: [String; 3],
}

impl Settings {
    fn defaults(config: &SimConfig) -> Self {
        Settings {
            echo: config.echo,
            cmee: 0,
            cmgf: 1,
            cnmi: [0; 5],
            csms: 0,
            creg: 0,
            fun: 1,
            cpms: ["SM".into(), "SM".into(), "SM".into()],
        }
    }
}

/// A message in the simulated SIM.
#[derive(Debug, Clone)]
struct Stored {
    /// 0 received unread, 1 received read.
    stat: u8,
    pdu: Vec<u8>,
}

#[derive(Debug)]
enum InputMode {
    Command,
    /// After the `+CMGS` prompt: collecting hex until Ctrl-Z.
    Pdu {
        length: usize,
        hex: Vec<u8>,
        invalid: bool,
    },
}

/// What the I/O task must do with the port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PortRequest {
    /// Close the pty and remove the link.
    Unplug,
    /// Open a new pty and point the link at it.
    Replug,
}

#[derive(Debug)]
enum Event {
    /// The network answered a `+CMGS` of this boot epoch.
    SendDone { epoch: u64 },
    /// The modem finished booting (epoch-checked).
    Ready { epoch: u64 },
    /// The network delivers a status report.
    StatusReport {
        mr: u8,
        recipient: Address,
        status: u8,
    },
    /// The unplugged modem comes back.
    Replug,
}

/// A `+CMGS` waiting for the network.
#[derive(Debug)]
struct PendingSend {
    pdu: Vec<u8>,
    fail: Option<u16>,
}

/// One error result, formatted per `+CMEE`.
#[derive(Debug, Clone, Copy)]
enum Failure {
    Plain,
    Cms(u16),
    Cme(u16),
}

enum Outcome {
    Ok(Vec<String>),
    Fail(Failure),
    /// Show the prompt and collect a PDU of this TPDU length.
    Prompt(usize),
    /// Answer OK, then reboot (`AT+CFUN=1,1`).
    OkThenReboot,
}

/// The simulated modem.
pub(super) struct Engine {
    config: SimConfig,
    settings: Settings,
    storage: BTreeMap<u32, Stored>,
    input: VecDeque<u8>,
    line: Vec<u8>,
    mode: InputMode,
    sending: Option<PendingSend>,
    booting: bool,
    unplugged: bool,
    /// Bytes waiting to be written to the host.
    pub(super) out: VecDeque<u8>,
    timers: Vec<(Instant, Event)>,
    epoch: u64,
    next_mr: u8,
    next_concat: u16,
    ignore_commands: usize,
    fail_sends: Option<(usize, u16)>,
    /// Unplug for this long once the next PDU's Ctrl-Z arrives.
    unplug_after_pdu: Option<Duration>,
    urc_in_next_response: VecDeque<String>,
    awaiting_ack: usize,
    /// Every successful SMS-SUBMIT.
    pub(super) submitted: Vec<Submitted>,
    pub(super) stats: SimStats,
    /// The emulated line speed.
    pub(super) baud: Option<u32>,
    /// A port action for the I/O task.
    pub(super) port_request: Option<PortRequest>,
}

impl Engine {
    pub(super) fn new(config: SimConfig) -> Self {
        Engine {
            settings: Settings::defaults(&config),
            baud: config.baud,
            config,
            storage: BTreeMap::new(),
            input: VecDeque::new(),
            line: Vec::new(),
            mode: InputMode::Command,
            sending: None,
            booting: false,
            unplugged: false,
            out: VecDeque::new(),
            timers: Vec::new(),
            epoch: 0,
            next_mr: 0,
            next_concat: 0,
            ignore_commands: 0,
            fail_sends: None,
            unplug_after_pdu: None,
            urc_in_next_response: VecDeque::new(),
            awaiting_ack: 0,
            submitted: Vec::new(),
            stats: SimStats::default(),
            port_request: None,
        }
    }

    /// The messages on the SIM, by index.
    pub(super) fn sim_storage(&self) -> Vec<(u32, Vec<u8>)> {
        self.storage
            .iter()
            .map(|(i, m)| (*i, m.pdu.clone()))
            .collect()
    }

    /// The earliest pending timer.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.timers.iter().map(|(at, _)| *at).min()
    }

    /// Bytes from the host.
    pub(super) fn feed(&mut self, bytes: &[u8], now: Instant) {
        self.stats.bytes_from_host += bytes.len() as u64;
        if self.booting || self.unplugged {
            return; // a booting modem hears nothing
        }
        self.input.extend(bytes);
        self.process(now);
    }

    /// Fires every timer due at `now`.
    pub(super) fn fire_timers(&mut self, now: Instant) {
        loop {
            let Some(pos) = self.timers.iter().position(|(at, _)| *at <= now) else {
                return;
            };
            let (_, event) = self.timers.swap_remove(pos);
            self.fire(event, now);
        }
    }

    /// The I/O task opened a new pty after [`PortRequest::Replug`]: the modem boots.
    pub(super) fn plugged_in(&mut self) {
        self.unplugged = false;
        self.booting = false;
        self.emit_line("RDY");
    }

    /// Opening the new pty failed: try again at `at`.
    pub(super) fn retry_replug(&mut self, at: Instant) {
        self.timers.push((at, Event::Replug));
    }

    /// The host's bytes were written out.
    pub(super) fn consumed_out(&mut self, n: usize) {
        let n = n.min(self.out.len());
        self.out.drain(..n);
        self.stats.bytes_to_host += n as u64;
    }

    pub(super) fn inject(&mut self, fault: Fault, now: Instant) {
        match fault {
            Fault::Garbage(bytes) => self.emit_raw(&bytes),
            Fault::IgnoreCommands(n) => self.ignore_commands += n,
            Fault::FailSends { count, cms } => {
                self.fail_sends = (count > 0).then_some((count, cms))
            }
            Fault::Reboot => self.reboot(now),
            Fault::UnplugAfterNextPdu(duration) => self.unplug_after_pdu = Some(duration),
            Fault::Unplug(duration) => {
                self.reset();
                self.unplugged = true;
                self.out.clear();
                self.port_request = Some(PortRequest::Unplug);
                self.timers.push((now + duration, Event::Replug));
            }
            Fault::UrcInNextResponse(line) => self.urc_in_next_response.push_back(line),
            Fault::Baud(baud) => self.baud = baud,
        }
    }

    /// The network delivers one message part (SMSC information first).
    pub(super) fn receive_pdu(&mut self, pdu: Vec<u8>) -> Result<(), SimError> {
        self.deliver_parts(vec![pdu])
    }

    /// The network delivers a text, encoded as one PDU per part.
    pub(super) fn receive_sms(&mut self, from: &str, text: &str) -> Result<(), SimError> {
        let from = Address::parse(from)?;
        let options = DeliverOptions {
            timestamp: network_time(),
            concat_reference: self.next_concat,
            wide_reference: false,
            smsc: Address::parse(&self.config.smsc).ok(),
        };
        self.next_concat = (self.next_concat + 1) % 256;
        let parts = encode_deliver(&from, text, &options)?;
        self.deliver_parts(parts)
    }

    /// A status report for the latest message submitted with `mr`, now.
    pub(super) fn status_report(&mut self, mr: u8, status: u8) -> Result<(), SimError> {
        let recipient = self
            .submitted
            .iter()
            .rev()
            .find(|s| s.message_reference == mr)
            .ok_or(SimError::UnknownReference(mr))?
            .decoded
            .as_ref()
            .map_or_else(|| Address::international("0"), |d| d.destination.clone());
        if self.settings.cnmi[3] == 0 || self.unplugged || self.booting {
            return Err(SimError::ReportsDisabled);
        }
        self.emit_status_report(mr, &recipient, status);
        Ok(())
    }

    fn deliver_parts(&mut self, parts: Vec<Vec<u8>>) -> Result<(), SimError> {
        if parts.iter().any(Vec::is_empty) {
            return Err(SimError::EmptyPdu);
        }
        let mt = self.settings.cnmi[1];
        let live = !self.unplugged && !self.booting;
        if mt == 2 && live {
            for pdu in parts {
                let header = format!("+CMT: ,{}", tpdu_len(&pdu));
                self.emit_two_lines(&header, &hex::encode_upper(&pdu));
                if self.settings.csms == 1 {
                    self.awaiting_ack += 1;
                }
            }
            return Ok(());
        }
        let free = self.config.sim_capacity.saturating_sub(self.storage.len());
        if parts.len() > free {
            return Err(SimError::SimFull {
                capacity: self.config.sim_capacity,
            });
        }
        for pdu in parts {
            let index = self.store(pdu)?;
            if mt != 0 && live {
                let line = format!("+CMTI: \"{}\",{index}", self.settings.cpms[2]);
                self.emit_line(&line);
            }
        }
        Ok(())
    }

    fn store(&mut self, pdu: Vec<u8>) -> Result<u32, SimError> {
        let capacity = self.config.sim_capacity;
        let index = (1..=capacity as u32)
            .find(|i| !self.storage.contains_key(i))
            .ok_or(SimError::SimFull { capacity })?;
        self.storage.insert(index, Stored { stat: 0, pdu });
        Ok(index)
    }

    fn emit_status_report(&mut self, mr: u8, recipient: &Address, status: u8) {
        let now = network_time();
        let pdu = encode_status_report(mr, recipient, now, now, status);
        match self.settings.cnmi[3] {
            1 => {
                let header = format!("+CDS: {}", tpdu_len(&pdu));
                self.emit_two_lines(&header, &hex::encode_upper(&pdu));
            }
            2 => match self.store(pdu) {
                Ok(index) => {
                    let line = format!("+CDSI: \"{}\",{index}", self.settings.cpms[2]);
                    self.emit_line(&line);
                }
                Err(e) => tracing::warn!(mr, error = %e, "simulated SIM dropped a status report"),
            },
            _ => tracing::debug!(
                mr,
                "status report dropped: the host did not enable them (+CNMI ds=0)"
            ),
        }
    }

    fn fire(&mut self, event: Event, now: Instant) {
        match event {
            Event::SendDone { epoch } if epoch == self.epoch => {
                self.finish_send(now);
                self.process(now);
            }
            Event::Ready { epoch } if epoch == self.epoch => {
                self.booting = false;
                self.emit_line("RDY");
            }
            Event::SendDone { .. } | Event::Ready { .. } => {} // from before a reboot
            Event::StatusReport {
                mr,
                recipient,
                status,
            } => {
                if !self.unplugged && !self.booting {
                    self.emit_status_report(mr, &recipient, status);
                }
            }
            Event::Replug => self.port_request = Some(PortRequest::Replug),
        }
    }

    /// A power cycle: settings back to the power-on profile, input, the command in flight and
    /// pending faults dropped, timers of the old epoch void.
    fn reset(&mut self) {
        self.epoch += 1;
        self.settings = Settings::defaults(&self.config);
        self.input.clear();
        self.line.clear();
        self.mode = InputMode::Command;
        self.sending = None;
        self.awaiting_ack = 0;
        self.ignore_commands = 0;
        self.urc_in_next_response.clear();
    }

    fn reboot(&mut self, now: Instant) {
        self.reset();
        self.booting = true;
        self.timers
            .push((now + BOOT_TIME, Event::Ready { epoch: self.epoch }));
    }

    /// Processes buffered input while the modem is free to.
    fn process(&mut self, now: Instant) {
        while self.sending.is_none() && !self.booting && !self.unplugged {
            let Some(byte) = self.input.pop_front() else {
                return;
            };
            match &mut self.mode {
                InputMode::Command => self.command_byte(byte, now),
                InputMode::Pdu { .. } => self.pdu_byte(byte, now),
            }
        }
    }

    fn command_byte(&mut self, byte: u8, now: Instant) {
        match byte {
            b'\r' => {
                let line = std::mem::take(&mut self.line);
                self.command_line(&line, now);
            }
            b'\n' | 0 | CTRL_Z | ESC => {}
            0x08 => {
                self.line.pop();
            }
            _ if self.line.len() <= MAX_COMMAND => self.line.push(byte),
            _ => {} // overlong: answered with ERROR at the line end
        }
    }

    fn pdu_byte(&mut self, byte: u8, now: Instant) {
        let InputMode::Pdu {
            length,
            hex,
            invalid,
        } = &mut self.mode
        else {
            return;
        };
        match byte {
            CTRL_Z => {
                let (length, hex, invalid) = (*length, std::mem::take(hex), *invalid);
                self.mode = InputMode::Command;
                self.echo_raw(&[CTRL_Z]);
                if let Some(duration) = self.unplug_after_pdu.take() {
                    self.inject(Fault::Unplug(duration), now);
                    return;
                }
                self.submit(length, &hex, invalid, now);
            }
            ESC => {
                self.mode = InputMode::Command;
                self.respond(Vec::new(), "OK".into());
            }
            b'\r' | b'\n' => {}
            _ => {
                if byte.is_ascii_hexdigit() && hex.len() < MAX_PDU_HEX {
                    hex.push(byte);
                } else {
                    *invalid = true;
                }
                self.echo_raw(&[byte]);
            }
        }
    }

    fn echo_raw(&mut self, bytes: &[u8]) {
        if self.settings.echo {
            self.emit_raw(bytes);
        }
    }

    /// Validates the PDU after Ctrl-Z and hands it to the "network".
    fn submit(&mut self, length: usize, hex_digits: &[u8], invalid: bool, now: Instant) {
        let pdu = match hex::decode(hex_digits) {
            Ok(pdu) if !invalid && !pdu.is_empty() && tpdu_len(&pdu) == length => pdu,
            _ => {
                tracing::debug!(
                    length,
                    "simulated modem rejects a malformed PDU with +CMS ERROR: 304"
                );
                self.fail(Failure::Cms(304));
                return;
            }
        };
        if self.settings.fun != 1 {
            self.fail(Failure::Cms(331));
            return;
        }
        let fail = match &mut self.fail_sends {
            Some((count, cms)) => {
                let cms = *cms;
                *count -= 1;
                if *count == 0 {
                    self.fail_sends = None;
                }
                Some(cms)
            }
            None => None,
        };
        self.sending = Some(PendingSend { pdu, fail });
        if self.config.send_delay.is_zero() {
            self.finish_send(now);
        } else {
            self.timers.push((
                now + self.config.send_delay,
                Event::SendDone { epoch: self.epoch },
            ));
        }
    }

    fn finish_send(&mut self, now: Instant) {
        let Some(send) = self.sending.take() else {
            return;
        };
        if let Some(cms) = send.fail {
            self.fail(Failure::Cms(cms));
            return;
        }
        let mr = self.next_mr;
        self.next_mr = mr.wrapping_add(1);
        let decoded = match decode_submit(&send.pdu) {
            Ok(submit) => Some(submit),
            Err(e) => {
                tracing::warn!(error = %e, "simulated modem accepted a PDU it cannot decode");
                None
            }
        };
        if let (Some(delay), Some(submit)) = (self.config.status_report_delay, &decoded)
            && submit.status_report_request
        {
            self.timers.push((
                now + delay,
                Event::StatusReport {
                    mr,
                    recipient: submit.destination.clone(),
                    status: 0,
                },
            ));
        }
        self.submitted.push(Submitted {
            raw: send.pdu,
            decoded,
            message_reference: mr,
            at: now,
        });
        self.stats.sends += 1;
        self.respond(vec![format!("+CMGS: {mr}")], "OK".into());
    }

    fn command_line(&mut self, line: &[u8], now: Instant) {
        // Real modems ignore anything before "AT" (line noise, a stray Ctrl-Z).
        let Some(start) = line.windows(2).position(|w| w.eq_ignore_ascii_case(b"AT")) else {
            return;
        };
        let line = &line[start..];
        self.stats.commands += 1;
        if self.ignore_commands > 0 {
            self.ignore_commands -= 1;
            tracing::debug!(command = %String::from_utf8_lossy(line), "simulated modem swallows a command");
            return;
        }
        if self.settings.echo {
            let mut echo = line.to_vec();
            echo.push(b'\r');
            self.emit_raw(&echo);
        }
        if line.len() > MAX_COMMAND {
            self.fail(Failure::Plain);
            return;
        }
        let text = String::from_utf8_lossy(&line[2..]).into_owned();
        let mut info = Vec::new();
        let mut rest = text.as_str();
        while !rest.is_empty() {
            let (command, tail) = split_command(rest);
            rest = tail;
            match self.execute(command) {
                Outcome::Ok(lines) => info.extend(lines),
                Outcome::Fail(failure) => {
                    self.respond(info, self.failure_text(failure));
                    return;
                }
                Outcome::Prompt(length) => {
                    self.emit_raw(b"\r\n> ");
                    self.mode = InputMode::Pdu {
                        length,
                        hex: Vec::new(),
                        invalid: false,
                    };
                    return;
                }
                Outcome::OkThenReboot => {
                    self.respond(info, "OK".into());
                    self.reboot(now);
                    return;
                }
            }
        }
        self.respond(info, "OK".into());
    }

    fn failure_text(&self, failure: Failure) -> String {
        match (failure, self.settings.cmee) {
            (Failure::Plain, _) | (_, 0) => "ERROR".into(),
            (Failure::Cms(code), 1) => format!("+CMS ERROR: {code}"),
            (Failure::Cme(code), 1) => format!("+CME ERROR: {code}"),
            (Failure::Cms(code), _) => format!("+CMS ERROR: {}", cms_error_text(code)),
            (Failure::Cme(code), _) => format!("+CME ERROR: {}", cme_error_text(code)),
        }
    }

    fn fail(&mut self, failure: Failure) {
        let text = self.failure_text(failure);
        self.respond(Vec::new(), text);
    }

    /// Writes a response: information blocks, any injected URC after the first block, the final
    /// result code.
    fn respond(&mut self, info: Vec<String>, final_code: String) {
        let urc = self.urc_in_next_response.pop_front();
        for (i, block) in info.iter().enumerate() {
            self.emit_line(block);
            if i == 0
                && let Some(urc) = &urc
            {
                self.emit_line(urc);
            }
        }
        if info.is_empty()
            && let Some(urc) = &urc
        {
            self.emit_line(urc);
        }
        self.emit_line(&final_code);
    }

    fn emit_line(&mut self, line: &str) {
        self.emit_raw(format!("\r\n{line}\r\n").as_bytes());
    }

    fn emit_two_lines(&mut self, header: &str, pdu_hex: &str) {
        self.emit_raw(format!("\r\n{header}\r\n{pdu_hex}\r\n").as_bytes());
    }

    fn emit_raw(&mut self, bytes: &[u8]) {
        if self.unplugged {
            return;
        }
        if self.out.len() + bytes.len() > MAX_OUTPUT {
            tracing::warn!("simulated modem drops output: the host is not reading");
            return;
        }
        self.out.extend(bytes);
    }

    /// Runs one command of a command line (without `AT`, e.g. `+CMGF=0` or `E0`).
    fn execute(&mut self, command: &str) -> Outcome {
        let command = command.trim();
        if command.is_empty() {
            return Outcome::Ok(Vec::new());
        }
        if command.starts_with(['+', '^']) {
            return self.extended(command);
        }
        let upper = command.to_ascii_uppercase();
        let (name, value) = split_basic(&upper);
        match (name, value) {
            ("E", "" | "0") => self.settings.echo = false,
            ("E", "1") => self.settings.echo = true,
            ("V", "1")
            | ("Q", "" | "0")
            | ("X", _)
            | ("H", "" | "0")
            | ("&W", _)
            | ("&D", _)
            | ("&C", _)
            | ("S", _) => {}
            // Back to the power-on profile; unlike a reboot, input already received and the
            // rest of this command line still count.
            ("Z", _) | ("&F", _) => self.settings = Settings::defaults(&self.config),
            ("I", _) => {
                return Outcome::Ok(vec![
                    format!("{MANUFACTURER} {MODEL}"),
                    format!("Revision: {REVISION}"),
                ]);
            }
            _ => return Outcome::Fail(Failure::Plain),
        }
        Outcome::Ok(Vec::new())
    }

    fn extended(&mut self, command: &str) -> Outcome {
        let (name, form) = parse_extended(command);
        let store_size = self.config.sim_capacity;
        let used = self.storage.len();
        let ok = |lines: Vec<String>| Outcome::Ok(lines);
        let none = || Outcome::Ok(Vec::new());
        match (name.as_str(), form) {
            ("+CMEE", Form::Set(args)) => match one_number(&args, 0..=2) {
                Some(n) => {
                    self.settings.cmee = n;
                    none()
                }
                None => Outcome::Fail(Failure::Cme(50)),
            },
            ("+CMEE", Form::Read) => ok(vec![format!("+CMEE: {}", self.settings.cmee)]),
            ("+CMGF", Form::Set(args)) => match one_number(&args, 0..=1) {
                Some(n) => {
                    self.settings.cmgf = n;
                    none()
                }
                None => Outcome::Fail(Failure::Cms(302)),
            },
            ("+CMGF", Form::Read) => ok(vec![format!("+CMGF: {}", self.settings.cmgf)]),
            ("+CMGF", Form::Test) => ok(vec!["+CMGF: (0,1)".into()]),
            ("+CSCA", Form::Read) => ok(vec![format!("+CSCA: \"{}\",145", self.config.smsc)]),
            ("+CSCA", Form::Set(args)) if !args.is_empty() => {
                self.config.smsc = args[0].clone();
                none()
            }
            ("+CPMS", Form::Set(args)) if (1..=3).contains(&args.len()) => {
                if args
                    .iter()
                    .any(|m| !matches!(m.to_ascii_uppercase().as_str(), "SM" | "ME" | "MT"))
                {
                    return Outcome::Fail(Failure::Cms(302));
                }
                for (slot, mem) in self.settings.cpms.iter_mut().zip(&args) {
                    *slot = mem.to_ascii_uppercase();
                }
                ok(vec![format!(
                    "+CPMS: {used},{store_size},{used},{store_size},{used},{store_size}"
                )])
            }
            ("+CPMS", Form::Read) => {
                let [m1, m2, m3] = &self.settings.cpms;
                ok(vec![format!(
                    "+CPMS: \"{m1}\",{used},{store_size},\"{m2}\",{used},{store_size},\"{m3}\",{used},{store_size}"
                )])
            }
            ("+CPMS", Form::Test) => ok(vec![
                "+CPMS: (\"SM\",\"ME\",\"MT\"),(\"SM\",\"ME\",\"MT\"),(\"SM\",\"ME\",\"MT\")"
                    .into(),
            ]),
            ("+CNMI", Form::Set(args)) => {
                const MAX: [u8; 5] = [3, 3, 3, 2, 1];
                let mut cnmi = self.settings.cnmi;
                for (i, arg) in args.iter().enumerate() {
                    if arg.is_empty() {
                        continue;
                    }
                    match (MAX.get(i), arg.parse::<u8>()) {
                        (Some(max), Ok(v)) if v <= *max => cnmi[i] = v,
                        _ => return Outcome::Fail(Failure::Cms(303)),
                    }
                }
                self.settings.cnmi = cnmi;
                none()
            }
            ("+CNMI", Form::Read) => {
                let [a, b, c, d, e] = self.settings.cnmi;
                ok(vec![format!("+CNMI: {a},{b},{c},{d},{e}")])
            }
            ("+CNMI", Form::Test) => ok(vec!["+CNMI: (0-3),(0-3),(0-3),(0-2),(0,1)".into()]),
            ("+CSMS", Form::Set(args)) => match one_number(&args, 0..=1) {
                Some(n) => {
                    self.settings.csms = n;
                    ok(vec!["+CSMS: 1,1,1".into()])
                }
                None => Outcome::Fail(Failure::Cms(303)),
            },
            ("+CSMS", Form::Read) => ok(vec![format!("+CSMS: {},1,1,1", self.settings.csms)]),
            ("+CNMA", Form::Exec | Form::Set(_)) => {
                if self.awaiting_ack > 0 {
                    self.awaiting_ack -= 1;
                    none()
                } else {
                    Outcome::Fail(Failure::Cms(340))
                }
            }
            ("+CMGS", Form::Set(args)) => {
                if self.settings.cmgf != 0 {
                    return Outcome::Fail(Failure::Cms(302));
                }
                match args.first().map(|a| a.parse::<usize>()) {
                    Some(Ok(length)) if (1..=176).contains(&length) => Outcome::Prompt(length),
                    _ => Outcome::Fail(Failure::Cms(304)),
                }
            }
            ("+CMGL", form) => self.list(form),
            ("+CMGR", Form::Set(args)) => self.read(&args),
            ("+CMGD", Form::Set(args)) => self.delete(&args),
            ("+CSQ", Form::Exec) => ok(vec!["+CSQ: 23,99".into()]),
            ("+CREG", Form::Read) => ok(vec![format!("+CREG: {},1", self.settings.creg)]),
            ("+CREG", Form::Set(args)) => match one_number(&args, 0..=2) {
                Some(n) => {
                    self.settings.creg = n;
                    none()
                }
                None => Outcome::Fail(Failure::Cme(50)),
            },
            ("+COPS", Form::Read) => ok(vec!["+COPS: 0,0,\"CHINA MOBILE\",0".into()]),
            ("+CGMI" | "+GMI", Form::Exec) => ok(vec![MANUFACTURER.into()]),
            ("+CGMM" | "+GMM", Form::Exec) => ok(vec![MODEL.into()]),
            ("+CGMR" | "+GMR", Form::Exec) => ok(vec![REVISION.into()]),
            ("+CGSN" | "+GSN", Form::Exec) => ok(vec![IMEI.into()]),
            ("+CIMI", Form::Exec) => ok(vec![IMSI.into()]),
            ("+CNUM", Form::Exec) => ok(vec![format!(
                "+CNUM: \"\",\"+{}\",145",
                self.config.own_number.trim_start_matches('+')
            )]),
            ("+CPIN", Form::Read) => ok(vec!["+CPIN: READY".into()]),
            ("+CFUN", Form::Read) => ok(vec![format!("+CFUN: {}", self.settings.fun)]),
            ("+CFUN", Form::Set(args)) => {
                let fun = args.first().and_then(|a| a.parse::<u8>().ok());
                let rst = args.get(1).map(|a| a.as_str());
                match (fun, rst) {
                    (Some(fun @ (0 | 1 | 4)), None | Some("0")) => {
                        self.settings.fun = fun;
                        none()
                    }
                    (Some(0 | 1 | 4), Some("1")) => Outcome::OkThenReboot,
                    _ => Outcome::Fail(Failure::Cme(50)),
                }
            }
            (_, Form::Test) if KNOWN.contains(&name.as_str()) => none(),
            _ => Outcome::Fail(Failure::Plain),
        }
    }

    /// `+CMGL=<stat>`: 0 unread, 1 read, 2 unsent, 3 sent, 4 all. Unread messages become read.
    fn list(&mut self, form: Form) -> Outcome {
        if self.settings.cmgf != 0 {
            return Outcome::Fail(Failure::Cms(302));
        }
        let wanted = match form {
            Form::Exec => 0,
            Form::Set(args) => match one_number(&args, 0..=4) {
                Some(n) => n,
                None => return Outcome::Fail(Failure::Cms(302)),
            },
            Form::Test => return Outcome::Ok(vec!["+CMGL: (0-4)".into()]),
            Form::Read => return Outcome::Fail(Failure::Plain),
        };
        let mut lines = Vec::new();
        for (index, message) in self.storage.iter_mut() {
            if wanted == 4 || message.stat == wanted {
                lines.push(format!(
                    "+CMGL: {index},{},,{}\r\n{}",
                    message.stat,
                    tpdu_len(&message.pdu),
                    hex::encode_upper(&message.pdu)
                ));
                if message.stat == 0 {
                    message.stat = 1;
                }
            }
        }
        Outcome::Ok(lines)
    }

    fn index_arg(&self, args: &[String]) -> Result<u32, Failure> {
        match args.first().map(|a| a.parse::<u32>()) {
            Some(Ok(i)) if (1..=self.config.sim_capacity as u32).contains(&i) => Ok(i),
            _ => Err(Failure::Cms(321)),
        }
    }

    fn read(&mut self, args: &[String]) -> Outcome {
        if self.settings.cmgf != 0 {
            return Outcome::Fail(Failure::Cms(302));
        }
        let index = match self.index_arg(args) {
            Ok(i) => i,
            Err(f) => return Outcome::Fail(f),
        };
        match self.storage.get_mut(&index) {
            Some(message) => {
                let line = format!(
                    "+CMGR: {},,{}\r\n{}",
                    message.stat,
                    tpdu_len(&message.pdu),
                    hex::encode_upper(&message.pdu)
                );
                message.stat = message.stat.max(1);
                Outcome::Ok(vec![line])
            }
            None => Outcome::Ok(Vec::new()), // an empty slot reads as nothing, like SIMCom
        }
    }

    /// `+CMGD=<index>[,<delflag>]`: delflag 1 all read, 2 read and sent, 3 also unsent, 4 all.
    fn delete(&mut self, args: &[String]) -> Outcome {
        let flag = match args.get(1).map(|a| a.parse::<u8>()) {
            None => 0,
            Some(Ok(f @ 0..=4)) => f,
            Some(_) => return Outcome::Fail(Failure::Cms(302)),
        };
        match flag {
            0 => match self.index_arg(args) {
                Ok(index) => {
                    self.storage.remove(&index);
                }
                Err(f) => return Outcome::Fail(f),
            },
            4 => self.storage.clear(),
            _ => self.storage.retain(|_, m| m.stat == 0),
        }
        Outcome::Ok(Vec::new())
    }
}

/// Extended commands answered to their test form (`AT+X=?`) with plain OK.
const KNOWN: &[&str] = &[
    "+CMEE", "+CSCA", "+CSMS", "+CNMA", "+CMGS", "+CMGR", "+CMGD", "+CSQ", "+CREG", "+CFUN",
];

#[derive(Debug)]
enum Form {
    /// `AT+X`
    Exec,
    /// `AT+X?`
    Read,
    /// `AT+X=?`
    Test,
    /// `AT+X=a,b`
    Set(Vec<String>),
}

/// Splits a command line body into its first command and the rest: extended commands run to the
/// next `;`, basic commands are a letter (or `&` and a letter) and digits.
fn split_command(body: &str) -> (&str, &str) {
    let body = body.trim_start_matches([' ', ';']);
    if body.starts_with(['+', '^']) {
        // An extended command ends at the next ';' outside quotes.
        let mut quoted = false;
        for (i, c) in body.char_indices() {
            match c {
                '"' => quoted = !quoted,
                ';' if !quoted => return (&body[..i], &body[i + 1..]),
                _ => {}
            }
        }
        return (body, "");
    }
    let Some(first) = body.chars().next() else {
        return ("", "");
    };
    if !first.is_ascii() {
        // Not a command at all: hand it over whole so that it is answered with ERROR.
        return body.split_at(first.len_utf8());
    }
    let bytes = body.as_bytes();
    let mut end = 1;
    if first == '&' && bytes.get(1).is_some_and(u8::is_ascii_alphabetic) {
        end = 2;
    }
    if first.eq_ignore_ascii_case(&'S') {
        // S-registers: S<n>=<v> or S<n>?
        while end < bytes.len()
            && (bytes[end].is_ascii_digit() || matches!(bytes[end], b'=' | b'?'))
        {
            end += 1;
        }
    }
    while end < bytes.len() && bytes[end].is_ascii_digit() {
        end += 1;
    }
    // Only ASCII bytes were consumed, so `end` is a character boundary.
    body.split_at(end)
}

/// Splits a basic command (`E0`, `&F`) into its name and value.
fn split_basic(command: &str) -> (&str, &str) {
    let name_len = if command.starts_with('&') { 2 } else { 1 };
    let name_len = name_len.min(command.len());
    if !command.is_char_boundary(name_len) {
        return (command, "");
    }
    command.split_at(name_len)
}

fn parse_extended(command: &str) -> (String, Form) {
    let end = command.find(['=', '?']).unwrap_or(command.len());
    let name = command[..end].trim().to_ascii_uppercase();
    let rest = &command[end..];
    let form = if rest.is_empty() {
        Form::Exec
    } else if rest == "?" {
        Form::Read
    } else if rest == "=?" {
        Form::Test
    } else if let Some(args) = rest.strip_prefix('=') {
        Form::Set(split_args(args))
    } else {
        Form::Set(Vec::new())
    };
    (name, form)
}

/// Comma-separated arguments, quotes removed.
fn split_args(args: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in args.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut current).trim().to_owned()),
            _ => current.push(c),
        }
    }
    out.push(current.trim().to_owned());
    out
}

fn one_number(args: &[String], range: std::ops::RangeInclusive<u8>) -> Option<u8> {
    match args {
        [one] => one.parse().ok().filter(|n| range.contains(n)),
        _ => None,
    }
}

/// The time stamp the simulated network puts on messages: now, in China Standard Time.
fn network_time() -> DateTime<FixedOffset> {
    let now = Utc::now();
    match FixedOffset::east_opt(8 * 3600) {
        Some(cst) => now.with_timezone(&cst),
        None => now.fixed_offset(),
    }
}

/// The TPDU length of a PDU-mode PDU: everything after the SMSC information.
fn tpdu_len(pdu: &[u8]) -> usize {
    let smsc = pdu.first().map_or(0, |&n| usize::from(n) + 1);
    pdu.len().saturating_sub(smsc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine() -> Engine {
        Engine::new(SimConfig::default())
    }

    fn send(e: &mut Engine, bytes: &[u8]) -> String {
        e.feed(bytes, Instant::now());
        let out: Vec<u8> = e.out.drain(..).collect();
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn echoes_until_ate0_and_answers_with_v250_framing() {
        let mut e = engine();
        assert_eq!(send(&mut e, b"AT\r"), "AT\r\r\nOK\r\n");
        assert_eq!(send(&mut e, b"ATE0\r"), "ATE0\r\r\nOK\r\n");
        assert_eq!(send(&mut e, b"AT+CSQ\r"), "\r\n+CSQ: 23,99\r\n\r\nOK\r\n");
    }

    #[test]
    fn runs_concatenated_commands_and_stops_at_the_first_error() {
        let mut e = engine();
        assert_eq!(
            send(&mut e, b"ATE0+CMEE=1;+CMGF=0\r"),
            "ATE0+CMEE=1;+CMGF=0\r\r\nOK\r\n"
        );
        assert_eq!(
            send(&mut e, b"AT+CMGF?;+CMEE?\r"),
            "\r\n+CMGF: 0\r\n\r\n+CMEE: 1\r\n\r\nOK\r\n"
        );
        assert_eq!(
            send(&mut e, b"AT+CMGF=7;+CMEE=0\r"),
            "\r\n+CMS ERROR: 302\r\n"
        );
        assert_eq!(send(&mut e, b"AT+CMEE?\r"), "\r\n+CMEE: 1\r\n\r\nOK\r\n");
    }

    #[test]
    fn errors_follow_cmee() {
        let mut e = engine();
        send(&mut e, b"ATE0\r");
        assert_eq!(
            send(&mut e, b"AT+CMGS=10\r"),
            "\r\nERROR\r\n",
            "CMEE=0 and text mode"
        );
        send(&mut e, b"AT+CMEE=1\r");
        assert_eq!(send(&mut e, b"AT+CMGS=10\r"), "\r\n+CMS ERROR: 302\r\n");
        send(&mut e, b"AT+CMEE=2\r");
        assert_eq!(
            send(&mut e, b"AT+CMGS=10\r"),
            "\r\n+CMS ERROR: operation not allowed\r\n"
        );
        assert_eq!(send(&mut e, b"AT+BOGUS\r"), "\r\nERROR\r\n");
    }

    #[test]
    fn rejects_a_pdu_whose_length_does_not_match_cmgs() {
        let mut e = engine();
        send(&mut e, b"ATE0;+CMEE=1;+CMGF=0\r");
        assert_eq!(send(&mut e, b"AT+CMGS=5\r"), "\r\n> ");
        assert_eq!(send(&mut e, b"00010203\x1a"), "\r\n+CMS ERROR: 304\r\n");
        assert_eq!(send(&mut e, b"AT+CMGS=3\r"), "\r\n> ");
        assert_eq!(send(&mut e, b"0001ZZ03\x1a"), "\r\n+CMS ERROR: 304\r\n");
        assert_eq!(send(&mut e, b"AT+CMGS=3\r"), "\r\n> ");
        assert_eq!(send(&mut e, b"000102\x1b"), "\r\nOK\r\n", "ESC cancels");
        assert!(e.submitted.is_empty());
    }

    #[test]
    fn unplug_after_next_pdu_closes_the_port_without_answering_the_send() {
        let mut e = engine();
        send(&mut e, b"ATE0;+CMEE=1;+CMGF=0\r");
        e.inject(
            Fault::UnplugAfterNextPdu(Duration::from_secs(1)),
            Instant::now(),
        );
        assert_eq!(send(&mut e, b"AT+CMGS=3\r"), "\r\n> ");
        assert_eq!(send(&mut e, b"00010203\x1a"), "", "no answer to the PDU");
        assert_eq!(e.port_request, Some(PortRequest::Unplug));
        assert!(e.submitted.is_empty(), "the network never got the PDU");
    }

    #[test]
    fn atz_restores_the_profile_but_keeps_pipelined_commands() {
        let mut e = engine();
        send(&mut e, b"ATE0;+CMGF=0\r");
        assert_eq!(
            send(&mut e, b"ATZ\rAT+CMGF?\r"),
            "\r\nOK\r\nAT+CMGF?\r\r\n+CMGF: 1\r\n\r\nOK\r\n"
        );
    }

    #[test]
    fn ignores_line_noise_before_at_and_swallows_commands_on_request() {
        let mut e = engine();
        assert_eq!(send(&mut e, b"\x00\xffxxAT\r"), "AT\r\r\nOK\r\n");
        e.inject(Fault::IgnoreCommands(1), Instant::now());
        assert_eq!(send(&mut e, b"AT\r"), "");
        assert_eq!(send(&mut e, b"AT\r"), "AT\r\r\nOK\r\n");
    }

    #[test]
    fn injected_urc_lands_inside_the_next_response() {
        let mut e = engine();
        send(&mut e, b"ATE0\r");
        e.inject(
            Fault::UrcInNextResponse("+CMTI: \"SM\",9".into()),
            Instant::now(),
        );
        assert_eq!(
            send(&mut e, b"AT+CSQ\r"),
            "\r\n+CSQ: 23,99\r\n\r\n+CMTI: \"SM\",9\r\n\r\nOK\r\n"
        );
    }

    #[test]
    fn reboot_is_silent_until_rdy_and_restores_defaults() {
        let mut e = engine();
        send(&mut e, b"ATE0;+CMGF=0;+CNMI=2,1,0,1,0\r");
        let now = Instant::now();
        e.inject(Fault::Reboot, now);
        assert_eq!(send(&mut e, b"AT\r"), "", "booting");
        e.fire_timers(now + BOOT_TIME);
        assert_eq!(send(&mut e, b""), "\r\nRDY\r\n");
        assert_eq!(
            send(&mut e, b"AT+CMGF?;+CNMI?\r"),
            "AT+CMGF?;+CNMI?\r\r\n+CMGF: 1\r\n\r\n+CNMI: 0,0,0,0,0\r\n\r\nOK\r\n"
        );
    }

    #[test]
    fn cnmi_mt2_delivers_directly_and_cnma_acknowledges() {
        let mut e = engine();
        send(&mut e, b"ATE0;+CMEE=1;+CMGF=0;+CSMS=1;+CNMI=2,2,0,1,0\r");
        e.receive_sms("+8613800000001", "hi").expect("deliverable");
        let out = send(&mut e, b"");
        assert!(out.starts_with("\r\n+CMT: ,"), "{out:?}");
        assert!(e.sim_storage().is_empty());
        assert_eq!(send(&mut e, b"AT+CNMA\r"), "\r\nOK\r\n");
        assert_eq!(send(&mut e, b"AT+CNMA\r"), "\r\n+CMS ERROR: 340\r\n");
    }

    #[test]
    fn cnmi_mt0_stores_silently_and_a_full_sim_refuses() {
        let mut e = Engine::new(SimConfig {
            sim_capacity: 1,
            ..SimConfig::default()
        });
        e.receive_sms("10086", "one").expect("room for one");
        assert_eq!(send(&mut e, b""), "");
        assert!(matches!(
            e.receive_sms("10086", "two"),
            Err(SimError::SimFull { capacity: 1 })
        ));
        assert_eq!(e.sim_storage().len(), 1);
    }

    #[test]
    fn status_report_requires_a_known_reference_and_enabled_reports() {
        let mut e = engine();
        assert!(matches!(
            e.status_report(3, 0),
            Err(SimError::UnknownReference(3))
        ));
    }

    #[test]
    fn splits_basic_and_extended_commands() {
        assert_eq!(split_command("E0V1"), ("E0", "V1"));
        assert_eq!(split_command("&F"), ("&F", ""));
        assert_eq!(split_command("S0=0+CMEE=1"), ("S0=0", "+CMEE=1"));
        assert_eq!(
            split_command("+CSCA=\"a;b\",145;+CMGF=0"),
            ("+CSCA=\"a;b\",145", "+CMGF=0")
        );
        assert_eq!(split_command("é+X"), ("é", "+X"));
        assert_eq!(split_command("&é"), ("&", "é"));
        assert_eq!(split_args("\"SM\", \"ME\",3"), vec!["SM", "ME", "3"]);
    }
}
