//! UCS2 user data (TS 23.038 §6.2.3), sent and read as UTF-16BE so that characters outside the
//! BMP (emoji) travel as surrogate pairs, as every current handset expects.

/// Appends `text` as UTF-16BE to `out`.
pub(crate) fn encode_into(text: &str, out: &mut Vec<u8>) {
    out.reserve(text.len() * 2);
    for unit in text.encode_utf16() {
        out.extend_from_slice(&unit.to_be_bytes());
    }
}

/// Appends the text of UTF-16BE `data` to `out`. Unpaired surrogates become U+FFFD and an odd
/// trailing octet is dropped: a received message is never refused for its text, and the exact
/// octets stay available in the message's `user_data`.
pub(crate) fn decode_into(data: &[u8], out: &mut String) {
    if !data.len().is_multiple_of(2) {
        tracing::debug!(
            octets = data.len(),
            "UCS2 user data has an odd octet count; dropping the last octet"
        );
    }
    let units = data
        .chunks_exact(2)
        .map(|pair| u16::from_be_bytes([pair[0], pair[1]]));
    out.extend(char::decode_utf16(units).map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER)));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(data: &[u8]) -> String {
        let mut s = String::new();
        decode_into(data, &mut s);
        s
    }

    #[test]
    fn chinese_is_utf16_big_endian() {
        let mut out = Vec::new();
        encode_into("中兴通讯", &mut out);
        assert_eq!(out, [0x4E, 0x2D, 0x51, 0x74, 0x90, 0x1A, 0x8B, 0xAF]);
        assert_eq!(decode(&out), "中兴通讯");
    }

    #[test]
    fn emoji_travel_as_surrogate_pairs() {
        let mut out = Vec::new();
        encode_into("😀", &mut out);
        assert_eq!(out, [0xD8, 0x3D, 0xDE, 0x00]);
        assert_eq!(decode(&out), "😀");
    }

    #[test]
    fn broken_input_is_decoded_lossily() {
        assert_eq!(decode(&[0xD8, 0x3D, 0x00, 0x41]), "\u{FFFD}A");
        assert_eq!(decode(&[0x00, 0x41, 0x00]), "A");
    }
}
