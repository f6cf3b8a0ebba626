//! A bounds-checked cursor over PDU octets: every read names its field, so a short PDU gives a
//! [`PduError::Truncated`] that says what was missing instead of a panic.

use super::PduError;

/// Reads octets front to back; never panics.
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }

    /// Octets not yet read.
    pub(crate) fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    /// The next octet, without consuming it.
    pub(crate) fn peek(&self, field: &'static str) -> Result<u8, PduError> {
        self.data.get(self.pos).copied().ok_or(PduError::Truncated {
            field,
            needed: 1,
            available: 0,
        })
    }

    /// Consumes one octet.
    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, PduError> {
        let value = self.peek(field)?;
        self.pos += 1;
        Ok(value)
    }

    /// Consumes `len` octets.
    pub(crate) fn take(&mut self, len: usize, field: &'static str) -> Result<&'a [u8], PduError> {
        let available = self.remaining();
        if len > available {
            return Err(PduError::Truncated {
                field,
                needed: len,
                available,
            });
        }
        let slice = &self.data[self.pos..self.pos + len];
        self.pos += len;
        Ok(slice)
    }

    /// Consumes exactly `N` octets as an array.
    pub(crate) fn array<const N: usize>(
        &mut self,
        field: &'static str,
    ) -> Result<[u8; N], PduError> {
        let slice = self.take(N, field)?;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_in_order_and_reports_what_is_missing() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u8("a").unwrap(), 1);
        assert_eq!(r.take(1, "b").unwrap(), &[2]);
        assert_eq!(r.remaining(), 1);
        assert_eq!(
            r.take(4, "user data").unwrap_err(),
            PduError::Truncated {
                field: "user data",
                needed: 4,
                available: 1
            }
        );
        // A failed read consumes nothing.
        assert_eq!(r.array::<1>("c").unwrap(), [3]);
        assert!(r.u8("d").is_err());
    }
}
