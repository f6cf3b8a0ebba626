//! Tests of channels and news on both backends: codes, audiences and durations as typed,
//! publishing with validity and idempotency, and the audit row of every change.

use super::*;
use crate::audit::{AuditFilter, AuditLog};
use crate::store::test_db::TestDb;

const ADMIN: &str = "cli:root";
const T0: i64 = 1_765_000_000_000;

fn channels(db: &TestDb) -> Channels {
    Channels::new(db.store.clone()).with_source("cli")
}

fn spec(code: &str, audience: &str, validity: Option<&str>) -> ChannelSpec {
    ChannelSpec {
        code: code.into(),
        name: "焦点".into(),
        audience: audience.into(),
        validity: validity.map(Into::into),
        digest: None,
    }
}

async fn a_channel_is_created_once_and_listed_with_its_audience(db: &TestDb) {
    let ch = channels(db);
    let made = ch
        .add(
            &ChannelSpec {
                digest: Some("18:00".into()),
                ..spec("xw01", "members", Some("24h"))
            },
            ADMIN,
            T0,
        )
        .await
        .expect("add");
    assert_eq!(made.code, "XW01");
    assert_eq!(made.audience, Audience::Members);
    assert_eq!(made.validity_ms, Some(24 * 3600 * 1000));
    assert_eq!(made.digest_at.as_deref(), Some("18:00"));
    let again = ch.add(&spec("XW01", "members", None), ADMIN, T0).await;
    assert!(
        matches!(again, Err(ChannelError::ChannelExists(ref c)) if c == "XW01"),
        "{again:?}"
    );
    ch.add(&spec("DW01", "role:Officer", None), ADMIN, T0)
        .await
        .expect("a staff channel for an existing role");
    let listed = ch.list().await.expect("list");
    assert_eq!(
        listed.iter().map(|c| c.code.as_str()).collect::<Vec<_>>(),
        ["DW01", "XW01"]
    );
    assert_eq!(listed[0].audience, Audience::Role("officer".into()));
    let rows = AuditLog::new(db.store.clone())
        .list(
            &AuditFilter {
                actor: Some(ADMIN.into()),
                oldest_first: true,
                ..AuditFilter::default()
            },
            "test",
        )
        .await
        .expect("audit");
    let events: Vec<_> = rows.iter().map(|r| r.event.as_str()).collect();
    assert_eq!(events, ["channel.add", "channel.add"]);
}

async fn an_audience_must_name_an_existing_role_or_group(db: &TestDb) {
    let ch = channels(db);
    let role = ch.add(&spec("DW01", "role:nobody", None), ADMIN, T0).await;
    assert!(
        matches!(role, Err(ChannelError::UnknownRole(ref r)) if r == "nobody"),
        "{role:?}"
    );
    let group = ch.add(&spec("DW02", "group:刑侦", None), ADMIN, T0).await;
    assert!(
        matches!(group, Err(ChannelError::UnknownGroup(ref g)) if g == "刑侦"),
        "{group:?}"
    );
    assert!(ch.list().await.unwrap().is_empty(), "nothing was created");
}

async fn an_item_is_returned_while_valid_and_never_after(db: &TestDb) {
    let ch = channels(db);
    ch.add(&spec("XW01", "members", Some("10s")), ADMIN, T0)
        .await
        .unwrap();
    assert_eq!(ch.latest("XW01", T0).await.unwrap(), None);
    let first = ch
        .publish("xw01", "第一条", "正文一", None, ADMIN, T0)
        .await
        .unwrap();
    let second = ch
        .publish("XW01", "第二条", "正文二", None, ADMIN, T0 + 5_000)
        .await
        .unwrap();
    assert!(first.created && second.created && first.item != second.item);
    let latest = ch.latest("XW01", T0 + 6_000).await.unwrap().expect("valid");
    assert_eq!((latest.id, latest.title.as_str()), (second.item, "第二条"));
    assert_eq!(latest.valid_until, Some(T0 + 15_000));
    assert_eq!(
        ch.latest("XW01", T0 + 15_000).await.unwrap(),
        None,
        "expired"
    );
    let unknown = ch.publish("XW09", "t", "b", None, ADMIN, T0).await;
    assert!(
        matches!(unknown, Err(ChannelError::UnknownChannel(_))),
        "{unknown:?}"
    );
}

async fn a_publish_retried_with_its_key_publishes_once(db: &TestDb) {
    let ch = channels(db);
    ch.add(&spec("XW01", "members", None), ADMIN, T0)
        .await
        .unwrap();
    let first = ch
        .publish("XW01", "标题", "正文", Some("cms-42"), ADMIN, T0)
        .await
        .unwrap();
    let retry = ch
        .publish("XW01", "标题", "正文", Some("cms-42"), ADMIN, T0 + 1)
        .await
        .unwrap();
    assert_eq!(retry.item, first.item);
    assert!(first.created && !retry.created);
    let item = ch
        .latest("XW01", i64::MAX - 1)
        .await
        .unwrap()
        .expect("item");
    assert_eq!(item.id, first.item);
    assert_eq!(
        item.valid_until, None,
        "a channel without validity keeps items"
    );
}

crate::on_both_backends!(TestDb =>
    a_channel_is_created_once_and_listed_with_its_audience,
    an_audience_must_name_an_existing_role_or_group,
    an_item_is_returned_while_valid_and_never_after,
    a_publish_retried_with_its_key_publishes_once,
);

#[test]
fn codes_audiences_durations_and_times_are_read_or_refused_with_the_form_to_use() {
    assert_eq!(check_code(" xw01 ").unwrap(), "XW01");
    for bad in ["", "X", "01XW", "XW-1", "新闻", &"X".repeat(17)] {
        assert!(check_code(bad).is_err(), "{bad:?}");
    }
    assert_eq!(parse_audience("Members").unwrap(), Audience::Members);
    assert_eq!(
        parse_audience("role:Officer").unwrap(),
        Audience::Role("officer".into())
    );
    assert_eq!(
        parse_audience("group:刑侦 一队").unwrap(),
        Audience::Group("刑侦 一队".into())
    );
    for bad in ["", "all", "role:", "team:x"] {
        assert!(parse_audience(bad).is_err(), "{bad:?}");
    }
    for (text, secs) in [("10s", 10), ("30m", 1800), ("24h", 86_400), ("7d", 604_800)] {
        assert_eq!(parse_duration("validity", text).unwrap().as_secs(), secs);
    }
    for bad in ["", "10", "h", "0s", "-1h", "1.5h", "10w", "99999d"] {
        let e = parse_duration("validity", bad).expect_err(bad);
        assert!(e.to_string().contains("like 10s, 30m, 24h or 7d"), "{e}");
    }
    assert_eq!(check_time_of_day("18:00").unwrap(), "18:00");
    for bad in ["18", "24:00", "8:00", "18:60", "18:00:00"] {
        assert!(check_time_of_day(bad).is_err(), "{bad:?}");
    }
}
