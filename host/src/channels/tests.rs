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

const WANG: &str = "+8613800000021";
const LI: &str = "+8613800000022";
const STRANGER: &str = "+8613900000099";
const OFFICER: &str = "+8613800000031";
const CLERK: &str = "+8613800000032";
const DETECTIVE: &str = "+8613800000041";
const TZ: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

/// Members wang (no cap) and li (one news SMS a day), both with bound phones.
async fn two_members(db: &TestDb) {
    let members = crate::members::Members::new(db.store.clone(), "86");
    for (login, phone) in [("wang", WANG), ("li", LI)] {
        members.add(login, login, None, ADMIN, T0).await.unwrap();
        members.bind(login, phone, ADMIN, T0).await.unwrap();
    }
    members
        .set_cap("li", crate::members::CapPeriod::Daily, Some(1), ADMIN, T0)
        .await
        .unwrap();
}

async fn only_the_audience_subscribes_and_a_stranger_records_nothing(db: &TestDb) {
    two_members(db).await;
    let dir = crate::directory::Directory::new(db.store.clone(), "86");
    dir.add_user("zhang", "张", &["officer"], ADMIN)
        .await
        .unwrap();
    dir.add_phone(OFFICER, "张", Some("zhang"), ADMIN)
        .await
        .unwrap();
    dir.add_user("zhou", "周", &[], ADMIN).await.unwrap();
    dir.add_phone(CLERK, "周", Some("zhou"), ADMIN)
        .await
        .unwrap();
    let book = crate::address_book::Book::new(db.store.clone(), "86");
    let squad = book
        .save_department(None, None, "刑侦", ADMIN)
        .await
        .unwrap();
    let unit = book
        .save_department(None, Some(squad), "一队", ADMIN)
        .await
        .unwrap();
    book.save_contact(None, "赵", "", Some(unit), DETECTIVE, ADMIN)
        .await
        .unwrap();
    let group = book.save_group(None, "刑侦组", ADMIN).await.unwrap();
    book.set_group_member(
        group,
        crate::address_book::Member::Department(squad),
        true,
        ADMIN,
    )
    .await
    .unwrap();
    let ch = channels(db);
    ch.add(&spec("XW01", "members", None), ADMIN, T0)
        .await
        .unwrap();
    ch.add(&spec("DW01", "role:officer", None), ADMIN, T0)
        .await
        .unwrap();
    ch.add(&spec("ZC01", "group:刑侦组", None), ADMIN, T0)
        .await
        .unwrap();

    let first = ch
        .subscribe("xw01", WANG, T0)
        .await
        .expect("a member subscribes");
    assert_eq!(
        (first.code.as_str(), first.name.as_str(), first.changed),
        ("XW01", "焦点", true)
    );
    let again = ch.subscribe("XW01", WANG, T0).await.unwrap();
    assert!(!again.changed, "subscribing twice changes nothing");
    let stranger = ch.subscribe("XW01", STRANGER, T0).await;
    assert!(
        matches!(stranger, Err(ChannelError::NotAMember { .. })),
        "{stranger:?}"
    );
    ch.subscribe("DW01", OFFICER, T0).await.expect("an officer");
    let clerk = ch.subscribe("DW01", CLERK, T0).await;
    assert!(
        matches!(clerk, Err(ChannelError::NotEntitled { .. })),
        "{clerk:?}"
    );
    let member_on_staff = ch.subscribe("DW01", WANG, T0).await;
    assert!(
        matches!(member_on_staff, Err(ChannelError::NotEntitled { .. })),
        "{member_on_staff:?}"
    );
    ch.subscribe("ZC01", DETECTIVE, T0)
        .await
        .expect("a contact of a department below the group's");
    let unknown = ch.subscribe("XW09", WANG, T0).await;
    assert!(
        matches!(unknown, Err(ChannelError::UnknownChannel(_))),
        "{unknown:?}"
    );
    let subscribers: Vec<_> = ch
        .list()
        .await
        .unwrap()
        .iter()
        .map(|c| (c.code.clone(), c.subscribers))
        .collect();
    assert_eq!(
        subscribers,
        [
            ("DW01".to_string(), 1),
            ("XW01".to_string(), 1),
            ("ZC01".to_string(), 1)
        ]
    );
    let left = ch.unsubscribe("XW01", WANG).await.unwrap();
    assert!(left.changed);
    assert!(!ch.unsubscribe("XW01", WANG).await.unwrap().changed);

    // An officer who leaves the role is no longer sent the channel's items.
    let item = ch
        .publish("DW01", "通知", "开会", None, ADMIN, T0)
        .await
        .unwrap();
    dir.set_user_role("zhang", "officer", false, ADMIN)
        .await
        .unwrap();
    let send = NewsSend {
        item: item.item,
        text: "开会",
        batch_id: None,
    };
    let fan_out = ch.send_item(&send, T0, TZ).await.unwrap();
    assert_eq!(fan_out.queued, 0, "{fan_out:?}");
}

async fn an_item_reaches_each_subscriber_once_within_caps_and_members_are_billed(db: &TestDb) {
    two_members(db).await;
    let ch = channels(db);
    ch.add(&spec("XW01", "members", Some("1h")), ADMIN, T0)
        .await
        .unwrap();
    for phone in [WANG, LI] {
        ch.subscribe("XW01", phone, T0).await.unwrap();
    }
    let first = ch
        .publish("XW01", "一", "一", None, ADMIN, T0)
        .await
        .unwrap();
    let send = |item: i64| NewsSend {
        item,
        text: "【焦点】一",
        batch_id: Some("news-1"),
    };
    let sent = ch.send_item(&send(first.item), T0, TZ).await.unwrap();
    assert_eq!(
        (sent.queued, sent.parts, sent.over_cap, sent.already),
        (2, 1, 0, 0)
    );
    let retried = ch.send_item(&send(first.item), T0 + 1, TZ).await.unwrap();
    assert_eq!(
        (retried.queued, retried.already),
        (0, 2),
        "a retry reaches no one twice"
    );

    let second = ch
        .publish("XW01", "二", "二", None, ADMIN, T0 + 10)
        .await
        .unwrap();
    let capped = ch.send_item(&send(second.item), T0 + 10, TZ).await.unwrap();
    assert_eq!(
        (capped.queued, capped.over_cap),
        (1, 1),
        "li's daily cap is 1: {capped:?}"
    );

    let outbound = db
        .store
        .list_messages(&crate::store::MessageFilter::default())
        .await
        .unwrap();
    let mut peers: Vec<_> = outbound.iter().map(|m| m.peer.as_str()).collect();
    peers.sort_unstable();
    assert_eq!(peers, [WANG, WANG, LI]);
    assert!(
        outbound
            .iter()
            .all(|m| m.valid_until == Some(T0 + 3_600_000)
                || m.valid_until == Some(T0 + 10 + 3_600_000)),
        "the messages expire with their item"
    );

    let expired = ch
        .send_item(&send(second.item), T0 + 3_600_010, TZ)
        .await
        .unwrap();
    assert!(expired.expired && expired.queued == 0, "{expired:?}");

    let billing = crate::members::Members::new(db.store.clone(), "86")
        .billing(None)
        .await
        .unwrap();
    let rows: Vec<_> = billing
        .iter()
        .map(|b| (b.login.as_str(), b.messages, b.parts))
        .collect();
    assert_eq!(rows, [("li", 1, 1), ("wang", 2, 2)]);
    let month = crate::store::news_dispatch::local_day_and_month(T0, TZ).1;
    assert!(billing.iter().all(|b| b.month == month));
}

crate::on_both_backends!(TestDb =>
    only_the_audience_subscribes_and_a_stranger_records_nothing,
    an_item_reaches_each_subscriber_once_within_caps_and_members_are_billed,
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
