//! The user data header (TS 23.040 §9.2.3.24): concatenation information elements with an 8-bit
//! (IEI 0x00) or 16-bit (IEI 0x08) reference. Other elements (port addressing, text formatting,
//! ...) are skipped.

use serde::Serialize;

const IEI_CONCAT_8: u8 = 0x00;
const IEI_CONCAT_16: u8 = 0x08;

/// Octets of a user data header holding only an 8-bit-reference concatenation element,
/// length octet included.
pub(crate) const CONCAT_8_HEADER_LEN: usize = 6;
/// The same with a 16-bit reference.
pub(crate) const CONCAT_16_HEADER_LEN: usize = 7;

/// Where a part belongs in a concatenated message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Concat {
    /// The reference shared by all parts of one message (0-255 unless `wide_reference`).
    pub reference: u16,
    /// How many parts the message has (1-255).
    pub total: u8,
    /// This part's number, from 1.
    pub seq: u8,
    /// The reference is 16-bit (IEI 0x08) rather than 8-bit (IEI 0x00).
    pub wide_reference: bool,
}

impl Concat {
    /// Appends the user data header carrying this element, length octet first. An 8-bit header
    /// carries the low 8 bits of the reference.
    pub(crate) fn write_header(&self, out: &mut Vec<u8>) {
        if self.wide_reference {
            let [high, low] = self.reference.to_be_bytes();
            out.extend_from_slice(&[0x06, IEI_CONCAT_16, 0x04, high, low, self.total, self.seq]);
        } else {
            out.extend_from_slice(&[
                0x05,
                IEI_CONCAT_8,
                0x03,
                self.reference as u8,
                self.total,
                self.seq,
            ]);
        }
    }

    /// Octets of the header [`Self::write_header`] writes.
    pub(crate) fn header_len(wide_reference: bool) -> usize {
        if wide_reference {
            CONCAT_16_HEADER_LEN
        } else {
            CONCAT_8_HEADER_LEN
        }
    }
}

/// Reads the concatenation element from the information elements of a header (the octets after
/// its length octet). An element that claims to run past the header ends the walk; a
/// concatenation element with a part number of 0 or above the total is ignored, as
/// TS 23.040 §9.2.3.24.1 asks; when several are present the last valid one counts.
pub(crate) fn parse_concat(elements: &[u8]) -> Option<Concat> {
    let mut concat = None;
    let mut rest = elements;
    while let [iei, len, tail @ ..] = rest {
        let len = usize::from(*len);
        let Some(data) = tail.get(..len) else {
            tracing::debug!(
                iei,
                len,
                left = tail.len(),
                "user data header element runs past the header; ignoring the rest"
            );
            break;
        };
        let found = match (*iei, data) {
            (IEI_CONCAT_8, [reference, total, seq]) => Some(Concat {
                reference: u16::from(*reference),
                total: *total,
                seq: *seq,
                wide_reference: false,
            }),
            (IEI_CONCAT_16, [high, low, total, seq]) => Some(Concat {
                reference: u16::from_be_bytes([*high, *low]),
                total: *total,
                seq: *seq,
                wide_reference: true,
            }),
            _ => {
                tracing::trace!(iei, len, "skipping user data header element");
                None
            }
        };
        match found {
            Some(c) if c.seq == 0 || c.seq > c.total => {
                tracing::debug!(
                    seq = c.seq,
                    total = c.total,
                    "ignoring concatenation element with an impossible part number"
                );
            }
            Some(c) => concat = Some(c),
            None => {}
        }
        rest = &tail[len..];
    }
    concat
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(concat: Concat) -> Vec<u8> {
        let mut out = Vec::new();
        concat.write_header(&mut out);
        assert_eq!(out.len(), Concat::header_len(concat.wide_reference));
        assert_eq!(usize::from(out[0]) + 1, out.len());
        out
    }

    #[test]
    fn writes_and_reads_8_and_16_bit_references() {
        let narrow = Concat {
            reference: 0x88,
            total: 3,
            seq: 2,
            wide_reference: false,
        };
        assert_eq!(header(narrow), [0x05, 0x00, 0x03, 0x88, 0x03, 0x02]);
        assert_eq!(parse_concat(&header(narrow)[1..]), Some(narrow));

        let wide = Concat {
            reference: 0xBEEF,
            total: 2,
            seq: 1,
            wide_reference: true,
        };
        assert_eq!(header(wide), [0x06, 0x08, 0x04, 0xBE, 0xEF, 0x02, 0x01]);
        assert_eq!(parse_concat(&header(wide)[1..]), Some(wide));
    }

    #[test]
    fn skips_other_elements_such_as_port_addressing() {
        // 16-bit application port addressing, then concatenation.
        let elements = [
            0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0, 0x00, 0x03, 0x19, 0x02, 0x01,
        ];
        assert_eq!(
            parse_concat(&elements),
            Some(Concat {
                reference: 0x19,
                total: 2,
                seq: 1,
                wide_reference: false
            })
        );
        assert_eq!(parse_concat(&[0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0]), None);
    }

    #[test]
    fn ignores_impossible_part_numbers_and_broken_elements() {
        assert_eq!(parse_concat(&[0x00, 0x03, 0x01, 0x02, 0x00]), None, "seq 0");
        assert_eq!(
            parse_concat(&[0x00, 0x03, 0x01, 0x02, 0x03]),
            None,
            "seq > total"
        );
        assert_eq!(
            parse_concat(&[0x00, 0x03, 0x01, 0x00, 0x00]),
            None,
            "total 0"
        );
        assert_eq!(
            parse_concat(&[0x00, 0x02, 0x01, 0x02]),
            None,
            "wrong length"
        );
        assert_eq!(parse_concat(&[0x00, 0x09, 0x01]), None, "runs past header");
        assert_eq!(parse_concat(&[0x00]), None, "dangling IEI");
        assert_eq!(parse_concat(&[]), None);
    }
}
