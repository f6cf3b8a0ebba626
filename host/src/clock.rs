//! Wall-clock time as the store records it: UTC milliseconds since the Unix epoch.

/// Now, in UTC milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Formats stored milliseconds as RFC 3339 UTC (`2026-11-29T17:45:05.123Z`).
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_else(|| ms.to_string())
}
