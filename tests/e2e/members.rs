//! End-to-end tests of the members, channels and news command line (issue 14; R3, R4, R9-R13):
//! the real `jingxun` binary against a real database, SQLite always and PostgreSQL when
//! `JINGXUN_TEST_POSTGRES_URL` is set, with no daemon running.

use crate::support::{Backend, Cli, Database};

jingxun::on_both_backends!(Backend =>
    members_and_channels_are_made_listed_and_audited_from_the_command_line,
    mistakes_are_refused_with_what_to_do_and_change_nothing,
);

/// An administrator imports a member with a bound phone and caps, creates a member channel and a
/// staff channel, publishes (a retry with the same key publishes once); everything is listed
/// as JSON and audited.
async fn members_and_channels_are_made_listed_and_audited_from_the_command_line(backend: Backend) {
    let scratch = tempfile::tempdir().expect("temporary folder");
    let db = Database::create(&backend, scratch.path()).await;
    let cli = Cli::new(&db.url);

    let added = cli.run_with_stdin(
        &[
            "member",
            "add",
            "--login",
            "Wang.Fang",
            "--name",
            "王芳",
            "--password-stdin",
        ],
        "correct horse battery\n",
    );
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    cli.ok(&["member", "add", "--login", "li", "--name", "李"]);
    cli.ok(&[
        "member",
        "bind",
        "--login",
        "wang.fang",
        "--phone",
        "138 0000 0021",
    ]);
    cli.ok(&["member", "cap", "--login", "wang.fang", "--daily", "3"]);
    cli.ok(&["member", "cap", "--login", "wang.fang", "--monthly", "40"]);
    let members = cli.json(&["member", "list", "--json"]);
    assert_eq!(members.len(), 2);
    let wang = &members[1];
    assert_eq!(wang["login"], "wang.fang");
    assert_eq!(wang["phone"], "+8613800000021");
    assert_eq!(wang["has_password"], true);
    assert_eq!(
        (wang["daily_cap"].as_i64(), wang["monthly_cap"].as_i64()),
        (Some(3), Some(40))
    );
    assert!(wang.get("password_hash").is_none(), "never listed: {wang}");
    assert_eq!(members[0]["has_password"], false);

    cli.ok(&[
        "channel",
        "add",
        "--code",
        "XW01",
        "--name",
        "焦点",
        "--audience",
        "members",
        "--validity",
        "24h",
    ]);
    cli.ok(&[
        "channel",
        "add",
        "--code",
        "dw01",
        "--name",
        "单位新闻",
        "--audience",
        "role:officer",
        "--digest",
        "18:00",
    ]);
    let channels = cli.json(&["channel", "list", "--json"]);
    let codes: Vec<_> = channels
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["DW01", "XW01"]);
    assert_eq!(
        channels[0]["audience"],
        serde_json::json!({"kind": "role", "name": "officer"})
    );
    assert_eq!(channels[0]["digest_at"], "18:00");
    assert_eq!(
        channels[1]["audience"],
        serde_json::json!({"kind": "members"})
    );
    assert_eq!(channels[1]["validity_ms"], 86_400_000);

    let first = cli.ok(&[
        "news",
        "publish",
        "--channel",
        "XW01",
        "--title",
        "平安夜",
        "--text",
        "注意防火",
        "--idempotency-key",
        "cms-1",
    ]);
    let retry = cli.ok(&[
        "news",
        "publish",
        "--channel",
        "xw01",
        "--title",
        "平安夜",
        "--text",
        "注意防火",
        "--idempotency-key",
        "cms-1",
    ]);
    let id: i64 = first.trim().parse().expect("the item's id");
    assert_eq!(retry.trim(), id.to_string(), "a retry names the first item");
    assert!(
        cli.ok(&["billing", "--json"]).is_empty(),
        "nothing sent yet"
    );

    let audit = cli.json(&["audit", "--json"]);
    let mut events: Vec<_> = audit
        .iter()
        .map(|r| r["event"].as_str().unwrap().to_owned())
        .collect();
    events.retain(|e| e != "audit.read");
    events.sort();
    assert_eq!(
        events,
        [
            "channel.add",
            "channel.add",
            "member.add",
            "member.add",
            "member.bind",
            "member.cap",
            "member.cap",
            "news.publish",
        ]
    );
    let bind = audit
        .iter()
        .find(|r| r["event"] == "member.bind")
        .expect("bind row");
    assert_eq!(bind["phone"], "+8613800000021");
    assert!(
        !audit
            .iter()
            .any(|r| r.to_string().contains("correct horse")),
        "no password in the audit log"
    );
    db.drop_database().await;
}

/// Wrong input gets an error that says what was wrong and what to do, and changes nothing.
async fn mistakes_are_refused_with_what_to_do_and_change_nothing(backend: Backend) {
    let scratch = tempfile::tempdir().expect("temporary folder");
    let db = Database::create(&backend, scratch.path()).await;
    let cli = Cli::new(&db.url);
    cli.ok(&["member", "add", "--login", "wang", "--name", "王"]);
    cli.ok(&["member", "add", "--login", "li", "--name", "李"]);
    cli.ok(&[
        "member",
        "bind",
        "--login",
        "wang",
        "--phone",
        "13800000021",
    ]);
    for (args, says) in [
        (
            &["member", "bind", "--login", "li", "--phone", "13800000021"][..],
            "already bound to another member",
        ),
        (
            &[
                "member",
                "bind",
                "--login",
                "zhao",
                "--phone",
                "13800000022",
            ][..],
            "no member `zhao`",
        ),
        (
            &["member", "cap", "--login", "wang", "--daily", "lots"][..],
            "give a number of SMS",
        ),
        (
            &["member", "add", "--login", "王芳", "--name", "王芳"][..],
            "invalid member login",
        ),
        (
            &[
                "channel",
                "add",
                "--code",
                "XW01",
                "--name",
                "焦点",
                "--audience",
                "everyone",
            ][..],
            "use members, role:ROLE or group:GROUP",
        ),
        (
            &[
                "channel",
                "add",
                "--code",
                "XW01",
                "--name",
                "焦点",
                "--audience",
                "members",
                "--validity",
                "1 day",
            ][..],
            "like 10s, 30m, 24h or 7d",
        ),
        (
            &[
                "channel",
                "add",
                "--code",
                "XW02",
                "--name",
                "x",
                "--audience",
                "group:刑侦",
            ][..],
            "no address-book group `刑侦`",
        ),
        (
            &[
                "news",
                "publish",
                "--channel",
                "XW09",
                "--title",
                "t",
                "--text",
                "b",
            ][..],
            "no channel XW09: see the channels with `jingxun channel list`",
        ),
        (&["billing", "--month", "2026-13"][..], "use YYYY-MM"),
    ] {
        let error = cli.fails(args);
        assert!(error.contains(says), "jingxun {args:?} said: {error}");
    }
    let weak = cli.run_with_stdin(
        &[
            "member",
            "add",
            "--login",
            "zhao",
            "--name",
            "赵",
            "--password-stdin",
        ],
        "12345678\n",
    );
    assert!(!weak.status.success());
    assert!(cli.json(&["channel", "list", "--json"]).is_empty());
    let members = cli.json(&["member", "list", "--json"]);
    assert_eq!(members.len(), 2, "the refused member was not created");
    assert_eq!(
        members[0]["phone"],
        serde_json::Value::Null,
        "li stays unbound"
    );
    db.drop_database().await;
}
