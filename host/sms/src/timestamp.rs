//! Time fields: the service centre time stamp (TS 23.040 §9.2.3.11) and the relative validity
//! period (TS 23.040 §9.2.3.12.1).
//!
//! A time stamp is seven octets of swapped BCD: year, month, day, hour, minute, second and the
//! time zone in quarter hours, whose sign is bit 3 of the zone's tens digit.

use super::PduError;
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeZone, Timelike};
use std::time::Duration;

/// Two-digit years from this value up are 19xx, below it 20xx.
const CENTURY_PIVOT: u32 = 70;
/// Largest time zone a time stamp can carry, in quarter hours (two BCD digits, 3 bits of tens).
const MAX_ZONE_QUARTERS: i32 = 79;

/// One swapped-BCD octet: the low nibble is the tens digit.
fn bcd(octet: u8, what: &str) -> Result<u32, PduError> {
    let (tens, units) = (octet & 0x0F, octet >> 4);
    if tens > 9 || units > 9 {
        return Err(PduError::InvalidTimestamp(format!(
            "{what} octet {octet:#04x} is not two decimal digits"
        )));
    }
    Ok(u32::from(tens) * 10 + u32::from(units))
}

fn to_bcd(value: u32) -> u8 {
    let value = (value % 100) as u8;
    (value / 10) | ((value % 10) << 4)
}

/// Decodes a 7-octet time stamp. Invalid digits, dates, times or zones are errors.
pub(crate) fn decode(octets: [u8; 7]) -> Result<DateTime<FixedOffset>, PduError> {
    let [year, month, day, hour, minute, second, zone] = octets;
    let year = bcd(year, "year")?;
    let year = if year >= CENTURY_PIVOT {
        1900 + year
    } else {
        2000 + year
    };
    let (month, day) = (bcd(month, "month")?, bcd(day, "day")?);
    let (hour, minute, second) = (
        bcd(hour, "hour")?,
        bcd(minute, "minute")?,
        bcd(second, "second")?,
    );
    let negative = zone & 0x08 != 0;
    let quarters = bcd(zone & !0x08, "time zone")? as i32;
    let offset_seconds = if negative { -quarters } else { quarters } * 15 * 60;
    let offset = FixedOffset::east_opt(offset_seconds).ok_or_else(|| {
        PduError::InvalidTimestamp(format!(
            "time zone of {quarters} quarter hours is out of range"
        ))
    })?;
    let naive = NaiveDate::from_ymd_opt(year as i32, month, day)
        .and_then(|date| date.and_hms_opt(hour, minute, second))
        .ok_or_else(|| {
            PduError::InvalidTimestamp(format!(
                "{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02} is not a valid date and time"
            ))
        })?;
    offset
        .from_local_datetime(&naive)
        .single()
        .ok_or_else(|| PduError::InvalidTimestamp(format!("{naive} has no single instant")))
}

/// Appends a time stamp. The year is written modulo 100 (read back right for 1970-2069), the
/// zone is truncated to whole quarter hours and clamped to ±79 of them, and fractions of a second
/// are dropped.
pub(crate) fn encode(time: &DateTime<FixedOffset>, out: &mut Vec<u8>) {
    let quarters =
        (time.offset().local_minus_utc() / (15 * 60)).clamp(-MAX_ZONE_QUARTERS, MAX_ZONE_QUARTERS);
    let mut zone = to_bcd(quarters.unsigned_abs());
    if quarters < 0 {
        zone |= 0x08;
    }
    out.extend_from_slice(&[
        to_bcd(time.year().rem_euclid(100) as u32),
        to_bcd(time.month()),
        to_bcd(time.day()),
        to_bcd(time.hour()),
        to_bcd(time.minute()),
        to_bcd(time.second()),
        zone,
    ]);
}

const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;
const WEEK: u64 = 7 * DAY;

/// The relative TP-VP octet for a validity of at least `validity` (TS 23.040 §9.2.3.12.1):
/// rounded up to the next period the octet can express, capped at 63 weeks (0xFF).
///
/// 0-143: (n + 1) × 5 minutes; 144-167: 12 hours + (n − 143) × 30 minutes; 168-196: (n − 166)
/// days; 197-255: (n − 192) weeks.
pub fn relative_validity(validity: Duration) -> u8 {
    let secs = validity.as_secs() + u64::from(validity.subsec_nanos() > 0);
    let vp = if secs <= 12 * HOUR {
        secs.div_ceil(5 * MINUTE).max(1) - 1
    } else if secs <= DAY {
        143 + (secs - 12 * HOUR).div_ceil(30 * MINUTE)
    } else if secs <= 30 * DAY {
        166 + secs.div_ceil(DAY)
    } else {
        192 + secs.div_ceil(WEEK)
    };
    vp.min(255) as u8
}

/// The validity period a relative TP-VP octet stands for.
pub fn relative_validity_duration(vp: u8) -> Duration {
    let vp = u64::from(vp);
    Duration::from_secs(match vp {
        0..=143 => (vp + 1) * 5 * MINUTE,
        144..=167 => 12 * HOUR + (vp - 143) * 30 * MINUTE,
        168..=196 => (vp - 166) * DAY,
        _ => (vp - 192) * WEEK,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn time(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).unwrap()
    }

    /// The published example: 12 Feb 1999 05:57:30 GMT+3, and the same at GMT-3.
    #[test]
    fn encodes_the_published_example_with_zone_sign() {
        let mut out = Vec::new();
        encode(&time("1999-02-12T05:57:30+03:00"), &mut out);
        assert_eq!(out, [0x99, 0x20, 0x21, 0x50, 0x75, 0x03, 0x21]);
        out.clear();
        encode(&time("1999-02-12T05:57:30-03:00"), &mut out);
        assert_eq!(out, [0x99, 0x20, 0x21, 0x50, 0x75, 0x03, 0x29]);
        assert_eq!(
            decode([0x99, 0x20, 0x21, 0x50, 0x75, 0x03, 0x29]).unwrap(),
            time("1999-02-12T05:57:30-03:00")
        );
    }

    #[test]
    fn decodes_quarter_hour_zones() {
        // +05:45 is 23 quarter hours; +08:00 is 32.
        assert_eq!(
            decode([0x52, 0x60, 0x11, 0x80, 0x00, 0x00, 0x32]).unwrap(),
            time("2025-06-11T08:00:00+05:45")
        );
        assert_eq!(
            decode([0x62, 0x10, 0x10, 0x00, 0x00, 0x00, 0x23]).unwrap(),
            time("2026-01-01T00:00:00+08:00")
        );
    }

    #[test]
    fn round_trips_through_encode() {
        for s in [
            "2026-03-01T23:59:59+08:00",
            "2069-12-31T00:00:00-11:30",
            "1970-01-01T12:34:56+00:00",
            "2024-02-29T01:02:03+13:45",
        ] {
            let mut out = Vec::new();
            encode(&time(s), &mut out);
            assert_eq!(decode(out.try_into().unwrap()).unwrap(), time(s), "{s}");
        }
    }

    #[test]
    fn invalid_dates_and_digits_are_errors_not_panics() {
        for (octets, why) in [
            ([0x99, 0x20, 0x13, 0x00, 0x00, 0x00, 0x00], "1999-02-31"),
            ([0x99, 0x31, 0x01, 0x00, 0x00, 0x00, 0x00], "1999-13-10"),
            ([0x99, 0x10, 0x01, 0x42, 0x00, 0x00, 0x00], "24:00:00"),
            ([0x99, 0x10, 0x01, 0x00, 0x06, 0x00, 0x00], "00:60:00"),
            (
                [0x9A, 0x10, 0x01, 0x00, 0x00, 0x00, 0x00],
                "year octet 0x9a",
            ),
            (
                [0x99, 0x10, 0x01, 0x00, 0x00, 0x00, 0xFF],
                "time zone octet",
            ),
            ([0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00], "2000-00-00"),
        ] {
            let err = decode(octets).unwrap_err().to_string();
            assert!(
                err.starts_with("invalid time stamp") && err.contains(why),
                "{err}"
            );
        }
    }

    /// Rounding up, with the values of TS 23.040 §9.2.3.12.1 at each boundary.
    #[test]
    fn relative_validity_rounds_up_to_the_next_step() {
        let cases = [
            (Duration::ZERO, 0),
            (Duration::from_secs(5 * 60), 0),
            (Duration::from_secs(5 * 60 + 1), 1),
            (Duration::from_secs(6 * 60), 1),
            (Duration::from_secs(12 * 3600), 143),
            (Duration::from_secs(12 * 3600 + 1), 144),
            (Duration::from_secs(13 * 3600), 145),
            (Duration::from_secs(24 * 3600), 167),
            (Duration::from_secs(24 * 3600 + 1), 168),
            (Duration::from_secs(2 * 86400), 168),
            (Duration::from_secs(4 * 86400), 0xAA),
            (Duration::from_secs(30 * 86400), 196),
            (Duration::from_secs(30 * 86400 + 1), 197),
            (Duration::from_secs(63 * 7 * 86400), 255),
            (Duration::from_secs(100 * 7 * 86400), 255),
            (Duration::from_millis(300_001), 1),
        ];
        for (validity, vp) in cases {
            assert_eq!(relative_validity(validity), vp, "{validity:?}");
        }
    }

    #[test]
    fn relative_validity_never_shortens_the_requested_period() {
        for vp in 0..=255u8 {
            let d = relative_validity_duration(vp);
            assert_eq!(relative_validity(d), vp, "vp {vp}");
            if vp < 255 {
                assert_eq!(
                    relative_validity(d + Duration::from_secs(1)),
                    vp + 1,
                    "vp {vp}"
                );
            }
        }
    }
}
