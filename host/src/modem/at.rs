//! The AT command line protocol (3GPP TS 27.005 / 27.007, ITU-T V.250): framing of the byte stream
//! into lines, final result codes, unsolicited result codes and the `> ` prompt (R1).
//!
//! This module is pure: no I/O, no clocks. [`AtCodec`] is a [`tokio_util::codec`] decoder of
//! [`Line`]s and encoder of [`AtCommand`]s (and of `&str` command lines), so a serial port becomes
//! a `Framed<SerialStream, AtCodec>`.
//!
//! Hand-written rather than built on `atat`: `atat` is designed around `no_std` request/response
//! matching with compile-time command types, while the driver needs a tolerant line classifier that
//! survives garbage, reboots mid-command and URCs interleaved with responses; the grammar is small.
//!
//! Framing rules, as real modems behave (verbose mode, `ATV1`):
//! - lines end with `\r\n`; a bare `\r` or `\n` also ends a line; empty lines are skipped;
//! - the `+CMGS` prompt is `\r\n> ` with no line end: [`Line::Prompt`] is emitted as soon as `> `
//!   is seen at the start of a line;
//! - the command echo (before `ATE0`) is our command terminated by `\r` ([`Line::Echo`]);
//! - `+CMT: [<alpha>],<len>` and (PDU mode) `+CDS: <len>` are two-line URCs: the following
//!   non-empty line (the hex PDU) is joined into one [`Urc`];
//! - bytes other than printable ASCII (NUL, 0xFF, control characters, non-ASCII) are stripped;
//!   lines that are not recognised are [`Line::Info`]; a line longer than [`MAX_LINE`] is
//!   discarded (counted in [`AtCodec::discarded_lines`]) so the buffer never grows without bound.
//!
//! The decoder never returns an error: with `tokio_util`'s `FramedRead` a decoder error ends the
//! stream, and nothing a modem sends should do that. Errors come only from I/O and from encoding a
//! malformed command.

use std::collections::VecDeque;
use std::fmt;

use bytes::{Buf, BufMut, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

/// The longest line the decoder keeps, in bytes. A PDU line is at most about 360 hex digits, so
/// 4 KiB leaves ample room while bounding memory against a modem spewing garbage without line ends.
pub const MAX_LINE: usize = 4096;

/// Ctrl-Z, which ends the PDU after the `+CMGS` prompt.
pub const CTRL_Z: u8 = 0x1A;
/// ESC, which cancels a `+CMGS` after the prompt.
pub const ESC: u8 = 0x1B;

/// A final result code: the end of the response to a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Final {
    /// `OK`.
    Ok,
    /// `ERROR` (also `COMMAND NOT SUPPORT`, `TOO MANY PARAMETERS`, `BUSY`, `NO ANSWER`,
    /// `NO DIALTONE`, which some modems use as final error codes).
    Error,
    /// `+CMS ERROR: <code>` (TS 27.005 3.2.5); see [`cms_error_text`].
    CmsError(u16),
    /// `+CME ERROR: <code>` (TS 27.007 9.2); see [`cme_error_text`].
    CmeError(u16),
    /// `NO CARRIER`.
    NoCarrier,
}

impl fmt::Display for Final {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Final::Ok => f.write_str("OK"),
            Final::Error => f.write_str("ERROR"),
            Final::CmsError(code) => write!(f, "+CMS ERROR: {code} ({})", cms_error_text(*code)),
            Final::CmeError(code) => write!(f, "+CME ERROR: {code} ({})", cme_error_text(*code)),
            Final::NoCarrier => f.write_str("NO CARRIER"),
        }
    }
}

/// An unsolicited result code: something the modem says on its own, possibly in the middle of the
/// response to a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Urc {
    /// `+CMTI: "SM",3`: a message was stored at `index` of `storage`.
    NewMessage {
        /// The memory, e.g. `SM` (SIM) or `ME`.
        storage: String,
        /// The index in that memory.
        index: u32,
    },
    /// `+CMT: ,<len>` followed by the PDU line: a message delivered directly (CNMI mt=2).
    Deliver {
        /// The PDU in hex (upper or lower case as the modem sent it), SMSC information first.
        pdu: String,
    },
    /// `+CDS: <len>` followed by the PDU line: a status report delivered directly (CNMI ds=1).
    StatusReport {
        /// The PDU in hex, SMSC information first.
        pdu: String,
    },
    /// `+CDSI: "SM",3`: a status report was stored (CNMI ds=2).
    StatusReportStored {
        /// The memory, e.g. `SM`.
        storage: String,
        /// The index in that memory.
        index: u32,
    },
    /// The modem (re)booted and lost its settings: `RDY` (SIMCom, Quectel), `^SYSSTART`
    /// (Cinterion), `+CFUN: 1` outside an `AT+CFUN?` query.
    ///
    /// Huawei's `^BOOT:` is deliberately *not* here: those modems repeat it periodically as a
    /// heartbeat, and treating it as a reboot would re-initialise the modem every few seconds.
    Ready,
    /// `RING` or `+CRING: ...`: an incoming call.
    Ring,
    /// Any other known unsolicited line (`+CREG: 1`, `^RSSI:`, `SMS Ready`, ...), or the header of
    /// a two-line URC whose second line never came.
    Other(String),
}

/// One classified line (or the prompt) from the modem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A final result code.
    Final(Final),
    /// The `> ` prompt after `AT+CMGS=<len>`: send the PDU and Ctrl-Z now.
    Prompt,
    /// An unsolicited result code.
    Urc(Urc),
    /// An information line of a response (`+CMGS: 12`, `+CMGL: ...`, a PDU line, identification
    /// text), or junk: the driver ignores what it does not expect.
    Info(String),
    /// Our own command echoed back (the line starts with `AT`, case-insensitive).
    Echo(String),
}

/// What can go wrong while framing AT traffic.
#[derive(Debug, thiserror::Error)]
pub enum AtError {
    /// Reading or writing the serial port failed.
    #[error("serial port I/O failed: {0}; check that the modem is still connected")]
    Io(#[from] std::io::Error),
    /// A command to encode is longer than the modem's line buffer can take.
    #[error("AT command of {length} bytes exceeds the {limit}-byte line limit; shorten it")]
    LineTooLong {
        /// The length of the rejected line.
        length: usize,
        /// The limit ([`MAX_LINE`]).
        limit: usize,
    },
    /// A command to encode contains a byte that would break the framing.
    #[error("refusing to send malformed AT command {command:?}: {reason}")]
    InvalidCommand {
        /// The offending command (as text, lossily).
        command: String,
        /// Why it was rejected.
        reason: &'static str,
    },
}

/// Something to write to the modem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AtCommand {
    /// A command line such as `AT+CMGF=0`; the encoder appends `\r`.
    Line(String),
    /// The hex PDU after the `> ` prompt; the encoder appends Ctrl-Z.
    Pdu(String),
    /// ESC: abandon the `+CMGS` in progress after the prompt.
    Cancel,
}

/// Frames modem output into [`Line`]s and encodes [`AtCommand`]s.
///
/// When used as one `Framed` codec (rather than split into separate reader and writer codecs), the
/// decoder knows the command in flight and classifies lines that answer it (e.g. `+CFUN: 1` after
/// `AT+CFUN?`, `+CREG: 0,1` after `AT+CREG?`) as [`Line::Info`] instead of URCs. Split codecs work
/// too; the driver then should avoid querying `AT+CFUN?`.
#[derive(Debug, Default)]
pub struct AtCodec {
    /// Lines decoded but not yet returned (a failed two-line URC yields two lines at once).
    queued: VecDeque<Line>,
    /// The header of a `+CMT`/`+CDS` URC waiting for its PDU line.
    pending_urc: Option<PendingUrc>,
    /// Dropping bytes up to the next line end because the current line is too long.
    discarding: bool,
    /// How many overlong lines were discarded.
    discarded: u64,
    /// The name of the command in flight (e.g. `+CFUN`), from the encoder, until its final code.
    in_flight: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PendingKind {
    Deliver,
    StatusReport,
}

#[derive(Debug)]
struct PendingUrc {
    kind: PendingKind,
    header: String,
}

impl AtCodec {
    /// A codec with nothing buffered.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many lines longer than [`MAX_LINE`] were discarded so far.
    pub fn discarded_lines(&self) -> u64 {
        self.discarded
    }

    /// Forgets any half-received two-line URC and the command in flight, e.g. after the port was
    /// reopened.
    pub fn reset(&mut self) {
        self.queued.clear();
        self.pending_urc = None;
        self.discarding = false;
        self.in_flight = None;
    }

    /// Takes the next complete raw line (already stripped of junk bytes) or the prompt.
    fn next_raw(&mut self, buf: &mut BytesMut) -> Option<RawLine> {
        loop {
            if self.discarding {
                match buf.iter().position(|&b| b == b'\r' || b == b'\n') {
                    Some(end) => {
                        buf.advance(end + 1);
                        self.discarding = false;
                    }
                    None => {
                        buf.clear();
                        return None;
                    }
                }
            }
            // Skip line ends and junk before the start of a line.
            let start = buf.iter().position(|&b| is_kept(b)).unwrap_or(buf.len());
            buf.advance(start);
            if buf.is_empty() {
                return None;
            }
            if buf[0] == b'>' {
                match buf.get(1) {
                    Some(b' ') => {
                        buf.advance(2);
                        return Some(RawLine::Prompt);
                    }
                    None => return None, // wait: is it "> "?
                    Some(_) => {}
                }
            }
            match buf.iter().position(|&b| b == b'\r' || b == b'\n') {
                Some(end) => {
                    let raw = buf.split_to(end + 1);
                    if end > MAX_LINE {
                        self.note_discarded(end);
                        continue;
                    }
                    let text = clean(&raw[..end]);
                    if text.is_empty() {
                        continue;
                    }
                    return Some(RawLine::Text(text));
                }
                None if buf.len() > MAX_LINE => {
                    self.note_discarded(buf.len());
                    buf.clear();
                    self.discarding = true;
                    return None;
                }
                None => return None,
            }
        }
    }

    fn note_discarded(&mut self, length: usize) {
        self.discarded += 1;
        tracing::warn!(
            length,
            limit = MAX_LINE,
            "discarded an overlong line from the modem (garbage on the serial line?)"
        );
    }

    /// Classifies one raw line, feeding the two-line URC state machine; pushes results on `queued`.
    fn take_line(&mut self, raw: RawLine) {
        let text = match raw {
            RawLine::Prompt => {
                if let Some(p) = self.pending_urc.take() {
                    self.queued.push_back(Line::Urc(Urc::Other(p.header)));
                }
                self.queued.push_back(Line::Prompt);
                return;
            }
            RawLine::Text(text) => text,
        };
        if let Some(p) = self.pending_urc.take() {
            if is_hex_pdu(&text) {
                let urc = match p.kind {
                    PendingKind::Deliver => Urc::Deliver { pdu: text },
                    PendingKind::StatusReport => Urc::StatusReport { pdu: text },
                };
                self.queued.push_back(Line::Urc(urc));
                return;
            }
            // The PDU never came (reboot, garbage): keep the header as an opaque URC and go on.
            tracing::debug!(header = %p.header, line = %text, "two-line URC without its PDU line");
            self.queued.push_back(Line::Urc(Urc::Other(p.header)));
        }
        if let Some(kind) = two_line_urc(&text) {
            self.pending_urc = Some(PendingUrc { kind, header: text });
            return;
        }
        let line = classify(&text, self.in_flight.as_deref());
        if matches!(line, Line::Final(_)) {
            self.in_flight = None;
        }
        self.queued.push_back(line);
    }
}

enum RawLine {
    Prompt,
    Text(String),
}

/// Bytes kept inside a line: printable ASCII and tab.
fn is_kept(b: u8) -> bool {
    (0x20..=0x7E).contains(&b) || b == b'\t'
}

fn clean(raw: &[u8]) -> String {
    let s: String = raw
        .iter()
        .copied()
        .filter(|&b| is_kept(b))
        .map(char::from)
        .collect();
    s.trim().to_owned()
}

fn is_hex_pdu(s: &str) -> bool {
    !s.is_empty() && s.len().is_multiple_of(2) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Whether `line` is the header of a two-line URC.
fn two_line_urc(line: &str) -> Option<PendingKind> {
    if line.starts_with("+CMT:") {
        // PDU mode "+CMT: [<alpha>],<len>" and text mode "+CMT: <oa>,..." are both two lines.
        return Some(PendingKind::Deliver);
    }
    if let Some(rest) = line.strip_prefix("+CDS:") {
        // PDU mode "+CDS: <len>" is two lines; text mode "+CDS: <fo>,<mr>,..." is one.
        if rest.trim().parse::<u16>().is_ok() {
            return Some(PendingKind::StatusReport);
        }
    }
    None
}

/// Prefixes of lines that modems send unsolicited (outside [`Urc`]'s specific variants).
const OTHER_URC_PREFIXES: &[&str] = &[
    "+CREG:",
    "+CGREG:",
    "+CEREG:",
    "+CUSD:",
    "+CLIP:",
    "+CCWA:",
    "+CBM:",
    "+CDS:",
    "+CIEV:",
    "+CPIN: NOT READY",
    "+QIND:",
    "+CTZV:",
    "^RSSI:",
    "^MODE:",
    "^BOOT:",
    "^SRVST:",
    "^SIMST:",
    "^HCSQ:",
    "SMS READY",
    "CALL READY",
    "PB DONE",
    "NORMAL POWER DOWN",
    "UNDER-VOLTAGE",
    "OVER-VOLTAGE",
];

/// The command name (`+CMGS`, `^SYSCFG`, `E0` → `E`) of a command line, for matching responses.
fn command_name(command: &str) -> Option<String> {
    let rest = command.trim();
    let rest = rest
        .get(..2)
        .filter(|p| p.eq_ignore_ascii_case("AT"))
        .map(|_| &rest[2..])?;
    let end = rest.find(['=', '?', ';']).unwrap_or(rest.len());
    let name = rest[..end].trim();
    (name.starts_with('+') || name.starts_with('^')).then(|| name.to_ascii_uppercase())
}

/// Classifies a complete, non-empty, cleaned line. `in_flight` is the name of the command being
/// answered, if known: lines carrying that name are information, not URCs.
fn classify(line: &str, in_flight: Option<&str>) -> Line {
    let upper = line.to_ascii_uppercase();
    match upper.as_str() {
        "OK" => return Line::Final(Final::Ok),
        "ERROR"
        | "COMMAND NOT SUPPORT"
        | "TOO MANY PARAMETERS"
        | "BUSY"
        | "NO ANSWER"
        | "NO DIALTONE" => return Line::Final(Final::Error),
        "NO CARRIER" => return Line::Final(Final::NoCarrier),
        "RING" => return Line::Urc(Urc::Ring),
        "RDY" | "^SYSSTART" => return Line::Urc(Urc::Ready),
        _ => {}
    }
    if let Some(rest) = upper.strip_prefix("+CMS ERROR:") {
        return Line::Final(Final::CmsError(error_code(rest, CMS_TABLE, 500)));
    }
    if let Some(rest) = upper.strip_prefix("+CME ERROR:") {
        return Line::Final(Final::CmeError(error_code(rest, CME_TABLE, 100)));
    }
    if upper.starts_with("AT") {
        return Line::Echo(line.to_owned());
    }
    let name = line
        .split(':')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_uppercase();
    let answers_in_flight = in_flight.is_some_and(|cmd| cmd == name);
    if answers_in_flight {
        return Line::Info(line.to_owned());
    }
    if let Some((storage, index)) = line.strip_prefix("+CMTI:").and_then(storage_index) {
        return Line::Urc(Urc::NewMessage { storage, index });
    }
    if let Some((storage, index)) = line.strip_prefix("+CDSI:").and_then(storage_index) {
        return Line::Urc(Urc::StatusReportStored { storage, index });
    }
    if upper.starts_with("+CRING:") {
        return Line::Urc(Urc::Ring);
    }
    if upper.replace(' ', "") == "+CFUN:1" {
        return Line::Urc(Urc::Ready);
    }
    if OTHER_URC_PREFIXES.iter().any(|p| upper.starts_with(p)) {
        return Line::Urc(Urc::Other(line.to_owned()));
    }
    Line::Info(line.to_owned())
}

/// Parses `"SM",3` into `("SM", 3)`.
fn storage_index(rest: &str) -> Option<(String, u32)> {
    let (storage, index) = rest.split_once(',')?;
    let storage = storage.trim().trim_matches('"').to_owned();
    let index = index.trim().parse().ok()?;
    Some((storage, index))
}

/// The numeric code of an error result, or the code whose text matches the verbose form
/// (`CMEE=2`), or `unknown` when the text is not in the table.
fn error_code(rest: &str, table: &[(u16, &str)], unknown: u16) -> u16 {
    let rest = rest.trim();
    if let Ok(code) = rest.parse() {
        return code;
    }
    table
        .iter()
        .find(|(_, text)| text.eq_ignore_ascii_case(rest))
        .map_or(unknown, |(code, _)| *code)
}

impl Decoder for AtCodec {
    type Item = Line;
    type Error = AtError;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Line>, AtError> {
        loop {
            if let Some(line) = self.queued.pop_front() {
                return Ok(Some(line));
            }
            match self.next_raw(buf) {
                Some(raw) => self.take_line(raw),
                None => return Ok(None),
            }
        }
    }

    /// At end of stream, a last line without a line end still counts, and a two-line URC header
    /// without its PDU is returned as [`Urc::Other`]. Never fails on leftover bytes.
    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Line>, AtError> {
        if let Some(line) = self.decode(buf)? {
            return Ok(Some(line));
        }
        if !buf.is_empty() {
            if self.discarding {
                buf.clear();
                self.discarding = false;
            } else {
                buf.put_u8(b'\n');
                if let Some(line) = self.decode(buf)? {
                    return Ok(Some(line));
                }
            }
        }
        buf.clear();
        if let Some(p) = self.pending_urc.take() {
            return Ok(Some(Line::Urc(Urc::Other(p.header))));
        }
        Ok(None)
    }
}

impl Encoder<AtCommand> for AtCodec {
    type Error = AtError;

    fn encode(&mut self, item: AtCommand, dst: &mut BytesMut) -> Result<(), AtError> {
        match item {
            AtCommand::Line(line) => self.encode(line.as_str(), dst),
            AtCommand::Pdu(hex) => {
                if hex.len() > MAX_LINE {
                    return Err(AtError::LineTooLong {
                        length: hex.len(),
                        limit: MAX_LINE,
                    });
                }
                if !is_hex_pdu(&hex) {
                    return Err(AtError::InvalidCommand {
                        command: hex,
                        reason: "a PDU must be a non-empty, even-length string of hex digits",
                    });
                }
                dst.reserve(hex.len() + 1);
                dst.put_slice(hex.as_bytes());
                dst.put_u8(CTRL_Z);
                Ok(())
            }
            AtCommand::Cancel => {
                dst.put_u8(ESC);
                Ok(())
            }
        }
    }
}

impl Encoder<&str> for AtCodec {
    type Error = AtError;

    /// Writes the command line followed by `\r`. The line must not contain line ends, Ctrl-Z or
    /// ESC, which would break the framing.
    fn encode(&mut self, line: &str, dst: &mut BytesMut) -> Result<(), AtError> {
        if line.len() > MAX_LINE {
            return Err(AtError::LineTooLong {
                length: line.len(),
                limit: MAX_LINE,
            });
        }
        if line
            .bytes()
            .any(|b| matches!(b, b'\r' | b'\n' | CTRL_Z | ESC | 0))
        {
            return Err(AtError::InvalidCommand {
                command: line.to_owned(),
                reason: "it contains a line end, NUL, Ctrl-Z or ESC",
            });
        }
        self.in_flight = command_name(line);
        dst.reserve(line.len() + 1);
        dst.put_slice(line.as_bytes());
        dst.put_u8(b'\r');
        Ok(())
    }
}

/// Parses the `+CMGS: <mr>` information line into the message reference.
pub fn parse_cmgs_reference(line: &str) -> Option<u8> {
    let rest = line.strip_prefix("+CMGS:")?;
    rest.split(',').next()?.trim().parse().ok()
}

/// The header of a stored message in PDU mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredHeader {
    /// The index (`+CMGL` only; `+CMGR` does not repeat it).
    pub index: Option<u32>,
    /// The status: 0 received unread, 1 received read, 2 stored unsent, 3 stored sent.
    pub stat: u8,
    /// The TPDU length in octets (without the SMSC information).
    pub length: usize,
}

/// Parses a PDU-mode `+CMGL: <index>,<stat>,[<alpha>],<length>` or `+CMGR: <stat>,[<alpha>],<length>`
/// header line. The PDU follows on the next line.
pub fn parse_stored_header(line: &str) -> Option<StoredHeader> {
    let (index, rest) = if let Some(rest) = line.strip_prefix("+CMGL:") {
        let (index, rest) = rest.split_once(',')?;
        (Some(index.trim().parse().ok()?), rest)
    } else {
        (None, line.strip_prefix("+CMGR:")?)
    };
    let stat = rest.split(',').next()?.trim().parse().ok()?;
    let length = rest.rsplit(',').next()?.trim().parse().ok()?;
    Some(StoredHeader {
        index,
        stat,
        length,
    })
}

/// `+CMS ERROR` codes (TS 27.005 3.2.5; 0-127 are TS 24.011 E.2 RP causes, 128-255 TS 23.040
/// 9.2.3.22 TP-FCS values, 512+ common vendor codes as Quectel and SIMCom document them).
const CMS_TABLE: &[(u16, &str)] = &[
    (1, "unassigned (unallocated) number"),
    (8, "operator determined barring"),
    (10, "call barred"),
    (21, "short message transfer rejected"),
    (22, "memory capacity exceeded"),
    (27, "destination out of order"),
    (28, "unidentified subscriber"),
    (29, "facility rejected"),
    (30, "unknown subscriber"),
    (38, "network out of order"),
    (41, "temporary failure"),
    (42, "congestion"),
    (47, "resources unavailable, unspecified"),
    (50, "requested facility not subscribed"),
    (69, "requested facility not implemented"),
    (81, "invalid short message transfer reference value"),
    (95, "invalid message, unspecified"),
    (96, "invalid mandatory information"),
    (97, "message type non-existent or not implemented"),
    (
        98,
        "message not compatible with short message protocol state",
    ),
    (99, "information element non-existent or not implemented"),
    (111, "protocol error, unspecified"),
    (127, "interworking, unspecified"),
    (128, "telematic interworking not supported"),
    (129, "short message type 0 not supported"),
    (130, "cannot replace short message"),
    (143, "unspecified TP-PID error"),
    (144, "data coding scheme (alphabet) not supported"),
    (145, "message class not supported"),
    (159, "unspecified TP-DCS error"),
    (160, "command cannot be actioned"),
    (161, "command unsupported"),
    (175, "unspecified TP-Command error"),
    (176, "TPDU not supported"),
    (192, "SC busy"),
    (193, "no SC subscription"),
    (194, "SC system failure"),
    (195, "invalid SME address"),
    (196, "destination SME barred"),
    (197, "SM rejected-duplicate SM"),
    (198, "TP-VPF not supported"),
    (199, "TP-VP not supported"),
    (208, "SIM SMS storage full"),
    (209, "no SMS storage capability in SIM"),
    (210, "error in MS"),
    (211, "memory capacity exceeded"),
    (212, "SIM application toolkit busy"),
    (213, "SIM data download error"),
    (255, "unspecified error cause"),
    (300, "ME failure"),
    (301, "SMS service of ME reserved"),
    (302, "operation not allowed"),
    (303, "operation not supported"),
    (304, "invalid PDU mode parameter"),
    (305, "invalid text mode parameter"),
    (310, "SIM not inserted"),
    (311, "SIM PIN required"),
    (312, "PH-SIM PIN required"),
    (313, "SIM failure"),
    (314, "SIM busy"),
    (315, "SIM wrong"),
    (316, "SIM PUK required"),
    (317, "SIM PIN2 required"),
    (318, "SIM PUK2 required"),
    (320, "memory failure"),
    (321, "invalid memory index"),
    (322, "SIM memory full"),
    (330, "SMSC address unknown"),
    (331, "no network service"),
    (332, "network timeout"),
    (340, "no +CNMA acknowledgement expected"),
    (500, "unknown error"),
    (512, "user abort"),
    (513, "unable to store"),
    (514, "invalid status"),
    (515, "device busy or invalid character in string"),
    (516, "invalid length"),
    (517, "invalid character in PDU"),
    (518, "invalid parameter"),
    (519, "invalid length or character"),
    (520, "invalid character in text"),
    (521, "timer expired"),
    (522, "operation temporarily not allowed"),
    (532, "SIM not ready"),
    (534, "cell broadcast error unknown"),
    (535, "protocol stack busy"),
    (538, "invalid parameter"),
];

/// `+CME ERROR` codes (TS 27.007 9.2.1 and 9.2.2).
const CME_TABLE: &[(u16, &str)] = &[
    (0, "phone failure"),
    (1, "no connection to phone"),
    (2, "phone-adaptor link reserved"),
    (3, "operation not allowed"),
    (4, "operation not supported"),
    (5, "PH-SIM PIN required"),
    (6, "PH-FSIM PIN required"),
    (7, "PH-FSIM PUK required"),
    (10, "SIM not inserted"),
    (11, "SIM PIN required"),
    (12, "SIM PUK required"),
    (13, "SIM failure"),
    (14, "SIM busy"),
    (15, "SIM wrong"),
    (16, "incorrect password"),
    (17, "SIM PIN2 required"),
    (18, "SIM PUK2 required"),
    (20, "memory full"),
    (21, "invalid index"),
    (22, "not found"),
    (23, "memory failure"),
    (24, "text string too long"),
    (25, "invalid characters in text string"),
    (26, "dial string too long"),
    (27, "invalid characters in dial string"),
    (30, "no network service"),
    (31, "network timeout"),
    (32, "network not allowed - emergency calls only"),
    (40, "network personalization PIN required"),
    (41, "network personalization PUK required"),
    (42, "network subset personalization PIN required"),
    (43, "network subset personalization PUK required"),
    (44, "service provider personalization PIN required"),
    (45, "service provider personalization PUK required"),
    (46, "corporate personalization PIN required"),
    (47, "corporate personalization PUK required"),
    (48, "hidden key required"),
    (49, "EAP method not supported"),
    (50, "incorrect parameters"),
    (51, "command implemented but currently disabled"),
    (52, "command aborted by user"),
    (
        53,
        "not attached to network due to MT functionality restrictions",
    ),
    (
        54,
        "modem not allowed - MT restricted to emergency calls only",
    ),
    (
        55,
        "operation not allowed because of MT functionality restrictions",
    ),
    (56, "fixed dial number only allowed"),
    (57, "temporarily out of service due to other MT usage"),
    (58, "language/alphabet not supported"),
    (59, "unexpected data value"),
    (60, "system failure"),
    (61, "data missing"),
    (62, "call barred"),
    (63, "message waiting indication subscription failure"),
    (100, "unknown"),
    (103, "illegal MS"),
    (106, "illegal ME"),
    (107, "GPRS services not allowed"),
    (111, "PLMN not allowed"),
    (112, "location area not allowed"),
    (113, "roaming not allowed in this location area"),
    (148, "unspecified GPRS error"),
    (149, "PDP authentication failure"),
    (150, "invalid mobile class"),
];

fn lookup(table: &[(u16, &'static str)], code: u16) -> Option<&'static str> {
    table
        .binary_search_by_key(&code, |(c, _)| *c)
        .ok()
        .map(|i| table[i].1)
}

/// The meaning of a `+CMS ERROR` code.
pub fn cms_error_text(code: u16) -> &'static str {
    lookup(CMS_TABLE, code).unwrap_or(match code {
        0..=127 => "network cause (unlisted RP cause)",
        128..=255 => "SMS transfer failure (unlisted TP failure cause)",
        256..=511 => "reserved error code",
        _ => "manufacturer-specific error",
    })
}

/// The meaning of a `+CME ERROR` code.
pub fn cme_error_text(code: u16) -> &'static str {
    lookup(CME_TABLE, code).unwrap_or(match code {
        100..=150 => "GPRS-related error",
        _ => "unlisted equipment error",
    })
}

/// Whether retrying the same PDU cannot help after this `+CMS ERROR`: the destination is invalid,
/// barred or unknown, the network rejected the message, or the PDU itself is malformed. Network,
/// SIM and modem conditions (congestion, no service, timeouts, SIM busy, unknown errors) are
/// temporary: retry later, possibly on another modem.
pub fn cms_error_is_permanent(code: u16) -> bool {
    match code {
        // RP causes: number unassigned, barred, rejected, unknown subscriber, not subscribed or
        // implemented, malformed message. 27/28 (destination out of order, unidentified
        // subscriber), 38/41/42/47 (network trouble), 98, 111, 127 are temporary.
        1 | 8 | 10 | 21 | 29 | 30 | 50 | 69 | 81 | 95 | 96 | 97 | 99 => true,
        // TP-FCS: PID/DCS/command/TPDU errors are properties of the PDU.
        128..=191 => true,
        // SC busy and SC system failure are temporary; the rest of the SC block is not.
        192 | 194 => false,
        193 | 195..=207 => true,
        // Invalid PDU or text mode parameter.
        304 | 305 => true,
        // Vendor codes for malformed input.
        516..=520 | 538 => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode_all(codec: &mut AtCodec, bytes: &[u8]) -> Vec<Line> {
        let mut buf = BytesMut::from(bytes);
        let mut out = Vec::new();
        while let Some(line) = codec.decode(&mut buf).expect("the decoder never fails") {
            out.push(line);
        }
        out
    }

    fn lines(bytes: &[u8]) -> Vec<Line> {
        decode_all(&mut AtCodec::new(), bytes)
    }

    fn decode_in_chunks(bytes: &[u8], sizes: &[usize]) -> Vec<Line> {
        let mut codec = AtCodec::new();
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        let mut rest = bytes;
        let mut i = 0;
        while !rest.is_empty() {
            let n = sizes
                .get(i % sizes.len().max(1))
                .copied()
                .unwrap_or(1)
                .clamp(1, rest.len());
            i += 1;
            buf.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            while let Some(line) = codec.decode(&mut buf).expect("never fails") {
                out.push(line);
            }
            assert!(buf.len() <= MAX_LINE + 1, "buffer grew to {}", buf.len());
        }
        while let Some(line) = codec.decode_eof(&mut buf).expect("never fails") {
            out.push(line);
        }
        assert!(buf.is_empty());
        out
    }

    fn info(s: &str) -> Line {
        Line::Info(s.to_owned())
    }

    #[test]
    fn classifies_each_final_result_code() {
        assert_eq!(
            lines(b"\r\nOK\r\n\r\nERROR\r\n\r\nNO CARRIER\r\n\r\nCOMMAND NOT SUPPORT\r\n"),
            vec![
                Line::Final(Final::Ok),
                Line::Final(Final::Error),
                Line::Final(Final::NoCarrier),
                Line::Final(Final::Error),
            ]
        );
    }

    #[test]
    fn parses_numeric_and_verbose_cms_and_cme_errors() {
        assert_eq!(
            lines(
                b"\r\n+CMS ERROR: 304\r\n\r\n+CME ERROR: 10\r\n\r\n+CMS ERROR: SIM PIN required\r\n\
                  \r\n+CMS ERROR: unknown error\r\n\r\n+CME ERROR: something odd\r\n"
            ),
            vec![
                Line::Final(Final::CmsError(304)),
                Line::Final(Final::CmeError(10)),
                Line::Final(Final::CmsError(311)),
                Line::Final(Final::CmsError(500)),
                Line::Final(Final::CmeError(100)),
            ]
        );
    }

    #[test]
    fn error_texts_cover_standard_and_vendor_codes() {
        assert_eq!(cms_error_text(330), "SMSC address unknown");
        assert_eq!(cms_error_text(21), "short message transfer rejected");
        assert_eq!(cms_error_text(42), "congestion");
        assert_eq!(cms_error_text(517), "invalid character in PDU");
        assert_eq!(cms_error_text(700), "manufacturer-specific error");
        assert_eq!(cms_error_text(2), "network cause (unlisted RP cause)");
        assert_eq!(cme_error_text(11), "SIM PIN required");
        assert_eq!(cme_error_text(999), "unlisted equipment error");
        assert_eq!(
            Final::CmsError(332).to_string(),
            "+CMS ERROR: 332 (network timeout)"
        );
    }

    #[test]
    fn error_tables_are_sorted_for_binary_search() {
        for table in [CMS_TABLE, CME_TABLE] {
            assert!(table.windows(2).all(|w| w[0].0 < w[1].0));
        }
    }

    #[test]
    fn permanent_cms_errors_are_those_a_retry_cannot_fix() {
        for code in [1, 21, 96, 195, 304] {
            assert!(cms_error_is_permanent(code), "{code} should be permanent");
        }
        for code in [27, 28, 38, 42, 192, 300, 302, 331, 332, 500, 535] {
            assert!(!cms_error_is_permanent(code), "{code} should be temporary");
        }
    }

    #[test]
    fn detects_prompt_after_line_end_and_at_stream_start() {
        assert_eq!(lines(b"\r\n> "), vec![Line::Prompt]);
        assert_eq!(lines(b"> "), vec![Line::Prompt]);
        // Waits for the space before deciding.
        let mut codec = AtCodec::new();
        let mut buf = BytesMut::from(&b"\r\n>"[..]);
        assert_eq!(codec.decode(&mut buf).expect("never fails"), None);
        buf.extend_from_slice(b" ");
        assert_eq!(
            codec.decode(&mut buf).expect("never fails"),
            Some(Line::Prompt)
        );
    }

    #[test]
    fn recognises_command_echo_before_ate0() {
        assert_eq!(
            lines(b"AT+CMGF=0\r\r\nOK\r\nat\r\r\nOK\r\n"),
            vec![
                Line::Echo("AT+CMGF=0".into()),
                Line::Final(Final::Ok),
                Line::Echo("at".into()),
                Line::Final(Final::Ok),
            ]
        );
    }

    #[test]
    fn joins_cmt_and_cds_headers_with_their_pdu_lines() {
        assert_eq!(
            lines(b"\r\n+CMT: ,24\r\n0791683108200005F0040D91683109000000F00000\r\n\r\n+CDS: 25\r\n0791AB\r\n"),
            vec![
                Line::Urc(Urc::Deliver {
                    pdu: "0791683108200005F0040D91683109000000F00000".into()
                }),
                Line::Urc(Urc::StatusReport {
                    pdu: "0791AB".into()
                }),
            ]
        );
    }

    #[test]
    fn keeps_cmt_header_when_its_pdu_line_never_comes() {
        assert_eq!(
            lines(b"\r\n+CMT: ,24\r\nRDY\r\n"),
            vec![
                Line::Urc(Urc::Other("+CMT: ,24".into())),
                Line::Urc(Urc::Ready)
            ]
        );
        let mut codec = AtCodec::new();
        let mut buf = BytesMut::from(&b"\r\n+CDS: 25\r\n"[..]);
        assert_eq!(codec.decode(&mut buf).expect("never fails"), None);
        assert_eq!(
            codec.decode_eof(&mut buf).expect("never fails"),
            Some(Line::Urc(Urc::Other("+CDS: 25".into())))
        );
    }

    #[test]
    fn classifies_storage_urcs_ready_and_ring() {
        assert_eq!(
            lines(b"\r\n+CMTI: \"SM\",3\r\n\r\n+CDSI: \"ME\",12\r\n\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n^SYSSTART\r\n\r\nRING\r\n\r\n+CREG: 1\r\n"),
            vec![
                Line::Urc(Urc::NewMessage {
                    storage: "SM".into(),
                    index: 3
                }),
                Line::Urc(Urc::StatusReportStored {
                    storage: "ME".into(),
                    index: 12
                }),
                Line::Urc(Urc::Ready),
                Line::Urc(Urc::Ready),
                Line::Urc(Urc::Ready),
                Line::Urc(Urc::Ring),
                Line::Urc(Urc::Other("+CREG: 1".into())),
            ]
        );
    }

    #[test]
    fn answers_to_the_command_in_flight_are_info_not_urcs() {
        let mut codec = AtCodec::new();
        let mut out = BytesMut::new();
        codec.encode("AT+CFUN?", &mut out).expect("valid command");
        assert_eq!(&out[..], b"AT+CFUN?\r");
        assert_eq!(
            decode_all(&mut codec, b"\r\n+CFUN: 1\r\n\r\nOK\r\n\r\n+CFUN: 1\r\n"),
            vec![
                info("+CFUN: 1"),
                Line::Final(Final::Ok),
                Line::Urc(Urc::Ready)
            ]
        );
        codec.encode("AT+CREG?", &mut out).expect("valid command");
        assert_eq!(
            decode_all(&mut codec, b"\r\n+CREG: 0,1\r\n\r\nOK\r\n"),
            vec![info("+CREG: 0,1"), Line::Final(Final::Ok)]
        );
    }

    #[test]
    fn urc_in_the_middle_of_a_cmgl_listing_stays_separate() {
        let stream = b"\r\n+CMGL: 1,0,,24\r\n0791AA\r\n\r\n+CMTI: \"SM\",2\r\n+CMGL: 2,1,,30\r\n0791BB\r\n\r\nOK\r\n";
        assert_eq!(
            lines(stream),
            vec![
                info("+CMGL: 1,0,,24"),
                info("0791AA"),
                Line::Urc(Urc::NewMessage {
                    storage: "SM".into(),
                    index: 2
                }),
                info("+CMGL: 2,1,,30"),
                info("0791BB"),
                Line::Final(Final::Ok),
            ]
        );
    }

    #[test]
    fn strips_garbage_between_lines_and_reports_junk_as_info() {
        let stream = b"\0\0\xff\xff\r\nOK\r\n\x00\x13\xfe\xfd\r\n\xffgarb\x00age\xc3\xa9\r\n\r\n+CMGS: 7\r\n\r\nOK\r\n";
        assert_eq!(
            lines(stream),
            vec![
                Line::Final(Final::Ok),
                info("garbage"),
                info("+CMGS: 7"),
                Line::Final(Final::Ok),
            ]
        );
    }

    #[test]
    fn tolerates_bare_cr_and_bare_lf_line_ends() {
        assert_eq!(
            lines(b"+CSQ: 23,99\rOK\n\n+CMTI: \"SM\",1\r"),
            vec![
                info("+CSQ: 23,99"),
                Line::Final(Final::Ok),
                Line::Urc(Urc::NewMessage {
                    storage: "SM".into(),
                    index: 1
                })
            ]
        );
    }

    #[test]
    fn discards_overlong_lines_and_recovers() {
        let mut codec = AtCodec::new();
        let mut buf = BytesMut::new();
        for _ in 0..10 {
            buf.extend_from_slice(&[b'A'; 1000]);
            assert_eq!(codec.decode(&mut buf).expect("never fails"), None);
            assert!(buf.len() <= MAX_LINE);
        }
        buf.extend_from_slice(b"still junk\r\nOK\r\n");
        assert_eq!(
            codec.decode(&mut buf).expect("never fails"),
            Some(Line::Final(Final::Ok))
        );
        assert_eq!(codec.discarded_lines(), 1);
    }

    #[test]
    fn encodes_commands_pdus_and_cancel() {
        let mut codec = AtCodec::new();
        let mut out = BytesMut::new();
        codec
            .encode(AtCommand::Line("AT+CMGS=20".into()), &mut out)
            .expect("valid");
        codec
            .encode(AtCommand::Pdu("0011AB".into()), &mut out)
            .expect("valid");
        codec.encode(AtCommand::Cancel, &mut out).expect("valid");
        assert_eq!(&out[..], b"AT+CMGS=20\r0011AB\x1a\x1b");
        assert!(matches!(
            codec.encode("AT\rATZ", &mut out),
            Err(AtError::InvalidCommand { .. })
        ));
        assert!(matches!(
            codec.encode(AtCommand::Pdu("0G".into()), &mut out),
            Err(AtError::InvalidCommand { .. })
        ));
        assert!(matches!(
            codec.encode("A".repeat(MAX_LINE + 1).as_str(), &mut out),
            Err(AtError::LineTooLong { .. })
        ));
    }

    #[test]
    fn parses_cmgs_reference_and_stored_headers() {
        assert_eq!(parse_cmgs_reference("+CMGS: 17"), Some(17));
        assert_eq!(parse_cmgs_reference("+CMGS: 300"), None);
        assert_eq!(
            parse_stored_header("+CMGL: 3,0,,24"),
            Some(StoredHeader {
                index: Some(3),
                stat: 0,
                length: 24
            })
        );
        assert_eq!(
            parse_stored_header("+CMGR: 1,\"alpha\",30"),
            Some(StoredHeader {
                index: None,
                stat: 1,
                length: 30
            })
        );
        assert_eq!(parse_stored_header("+CMGL: x"), None);
    }

    /// A realistic session: echo, prompt, PDU echo, URCs interleaved, two-line URCs.
    const SESSION: &[u8] =
        b"ATE0\r\r\nOK\r\n\r\n+CSQ: 23,99\r\n\r\nOK\r\n\r\n> 0011000B91\x1a\r\n+CMTI: \"SM\",1\r\n\
        \r\n+CMGS: 4\r\n\r\nOK\r\n\r\n+CMT: ,24\r\n0791683108\r\n\r\n+CDS: 25\r\n07916831\r\n\
        \r\n+CMS ERROR: 500\r\n\0\xff\r\nRDY\r\n\r\n> ";

    #[test]
    fn splitting_a_stream_at_every_byte_boundary_gives_the_same_lines() {
        let whole = lines(SESSION);
        assert_eq!(whole.len(), 14, "{whole:?}");
        for split in 0..=SESSION.len() {
            let mut codec = AtCodec::new();
            let mut buf = BytesMut::from(&SESSION[..split]);
            let mut out = Vec::new();
            while let Some(line) = codec.decode(&mut buf).expect("never fails") {
                out.push(line);
            }
            buf.extend_from_slice(&SESSION[split..]);
            while let Some(line) = codec.decode(&mut buf).expect("never fails") {
                out.push(line);
            }
            assert_eq!(out, whole, "split at {split}");
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_in_arbitrary_chunks_never_panic_or_stall(
            bytes in proptest::collection::vec(any::<u8>(), 0..6000),
            sizes in proptest::collection::vec(1usize..700, 1..20),
        ) {
            // decode_in_chunks asserts that the buffer stays bounded and is drained at EOF.
            let _ = decode_in_chunks(&bytes, &sizes);
        }

        #[test]
        fn valid_stream_in_arbitrary_chunks_gives_the_same_lines(
            sizes in proptest::collection::vec(1usize..40, 1..20),
        ) {
            prop_assert_eq!(decode_in_chunks(SESSION, &sizes), lines(SESSION));
        }

        #[test]
        fn garbage_before_a_valid_stream_does_not_stop_final_codes(
            junk in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            let mut stream = junk.clone();
            stream.extend_from_slice(b"\r\nOK\r\n");
            let out = lines(&stream);
            prop_assert_eq!(out.last(), Some(&Line::Final(Final::Ok)));
        }
    }
}
