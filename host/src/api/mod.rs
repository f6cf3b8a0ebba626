//! The HTTP API for other systems (issue 5; R16, R17, R19, R20): OA and workflow, the news
//! site, the passport and ID-card offices send and read SMS through `/api/v1` on the daemon's
//! HTTP port, authenticated by API keys ([`keys`]).

pub mod keys;
