//! `cargo xtask new-plugin NAME --keyword KW`: a new plugin crate under `plugins/NAME`, built
//! against the newest contract (`wit/v1.1`), that answers `KW <text>` and passes its own test.
//! The logic sits in `src/logic.rs`, free of the bindings, so that `cargo test -p NAME` runs it
//! natively; `src/lib.rs` only binds it to the WIT world. It then says how to build and try it.

use std::fs;
use std::path::Path;

use crate::say;

/// Runs `cargo xtask new-plugin`.
pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let usage = "usage: cargo xtask new-plugin NAME --keyword KEYWORD";
    let (name, keyword) = match args {
        [name, flag, keyword] if flag == "--keyword" => (name.as_str(), keyword.as_str()),
        _ => return Err(usage.into()),
    };
    create(root, name, keyword)?;
    say(&format!(
        "created plugins/{name}: a plugin answering {keyword}, on contract 1.1"
    ));
    say(&format!(
        "next: cargo test -p {name}; cargo xtask plugins {name}; \
         target/debug/jingxun plugin try target/plugins/{name}.wasm --from 13800000001 \"{keyword} 你好\""
    ));
    Ok(())
}

/// Writes the crate `plugins/<name>` under `root`; refuses a bad name or keyword, or a folder
/// that exists.
pub fn create(root: &Path, name: &str, keyword: &str) -> Result<(), String> {
    let name_ok = (1..=32).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !name_ok {
        return Err(format!(
            "`{name}` cannot name a plugin: use 1-32 lower-case letters, digits or '-', starting with a letter"
        ));
    }
    if !(1..=8).contains(&keyword.len()) || !keyword.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(format!(
            "`{keyword}` cannot be a keyword: use 1-8 upper-case ASCII letters"
        ));
    }
    let dir = root.join("plugins").join(name);
    if dir.exists() {
        return Err(format!("{} exists already", dir.display()));
    }
    let src = dir.join("src");
    fs::create_dir_all(&src).map_err(|e| format!("cannot create {}: {e}", src.display()))?;
    let fill = |template: &str| {
        template
            .replace("{{name}}", name)
            .replace("{{keyword}}", keyword)
    };
    for (path, template) in [
        (dir.join("Cargo.toml"), CARGO_TOML),
        (src.join("lib.rs"), LIB_RS),
        (src.join("logic.rs"), LOGIC_RS),
    ] {
        fs::write(&path, fill(template))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

const CARGO_TOML: &str = r#"[package]
name = "{{name}}"
description = "Jingxun plugin: {{keyword}}"
edition.workspace = true
version = "0.1.0"
license.workspace = true
publish = false

[lib]
# cdylib: the WebAssembly component (cargo xtask plugins); rlib: native unit tests of the logic.
crate-type = ["cdylib", "rlib"]

[dependencies]
jingxun-plugin = { path = "../sdk" }
"#;

const LIB_RS: &str = r#"//! The `{{name}}` plugin: answers `{{keyword}} <text>`. The answer is made in [`logic`]
//! (tested natively); this file binds it to contract 1.1 through the plugin SDK (`plugins/sdk`).

pub mod logic;

use jingxun_plugin::{Description, Plugin, PluginError, Reply, Request};

struct Answer;

impl Plugin for Answer {
    fn describe() -> Description {
        jingxun_plugin::describe("{{name}}", env!("CARGO_PKG_VERSION"), logic::DESCRIPTION)
            // police_command(...) instead: registered, granted phones only, every call audited.
            .command("{{keyword}}", logic::SYNTAX, logic::HELP)
            .into()
    }

    fn handle(req: Request) -> Result<Reply, PluginError> {
        let text = logic::answer(&req.arguments).map_err(PluginError::BadArguments)?;
        Ok(Reply::answered(text))
    }
}

jingxun_plugin::export!(Answer);
"#;

const LOGIC_RS: &str = r#"//! `{{keyword}} <text>`: what the plugin answers, free of the bindings so that it is tested
//! natively (`cargo test -p {{name}}`).

/// One sentence for administrators.
pub const DESCRIPTION: &str = "{{keyword}} 查询（新插件）";
/// How to use it, shown by `H` and on bad arguments.
pub const SYNTAX: &str = "{{keyword}} <内容>";
/// One line for `H`.
pub const HELP: &str = "{{keyword}} 查询";

/// The reply to `{{keyword}}` with `arguments`, or the usage when there are none.
pub fn answer(arguments: &[String]) -> Result<String, String> {
    if arguments.is_empty() {
        return Err(format!("用法：{SYNTAX}"));
    }
    Ok(format!("{{keyword}}：{}", arguments.join(" ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_with_the_arguments_and_asks_for_some_when_there_are_none() {
        assert_eq!(answer(&["你好".into()]), Ok("{{keyword}}：你好".to_owned()));
        assert_eq!(answer(&[]), Err(format!("用法：{SYNTAX}")));
    }
}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_plugin_is_a_crate_answering_its_keyword_on_the_newest_contract() {
        let root = tempfile_dir();
        create(&root, "parking", "TC").unwrap();
        let dir = root.join("plugins/parking");
        let cargo = fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        assert!(cargo.contains("name = \"parking\""), "{cargo}");
        let lib = fs::read_to_string(dir.join("src/lib.rs")).unwrap();
        assert!(
            cargo.contains(r#"jingxun-plugin = { path = "../sdk" }"#),
            "on the newest contract through the SDK: {cargo}"
        );
        assert!(lib.contains(r#".command("TC", "#), "{lib}");
        assert!(
            lib.lines().count() < 40,
            "a query in under 40 lines:\n{lib}"
        );
        let logic = fs::read_to_string(dir.join("src/logic.rs")).unwrap();
        assert!(logic.contains(r#"Ok("TC：你好".to_owned())"#), "{logic}");
        assert!(!format!("{cargo}{lib}{logic}").contains("{{"));
        // A second time, the folder exists: nothing is overwritten.
        assert!(
            create(&root, "parking", "TC")
                .unwrap_err()
                .contains("exists")
        );
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn bad_names_and_keywords_are_refused_with_the_rule() {
        let root = tempfile_dir();
        for (name, keyword) in [
            ("Parking", "TC"),
            ("1x", "TC"),
            ("a b", "TC"),
            ("ok", "tc"),
            ("ok", "ABCDEFGHI"),
        ] {
            let err = create(&root, name, keyword).unwrap_err();
            assert!(err.contains("use "), "{name} {keyword}: {err}");
        }
        assert!(!root.join("plugins").exists());
        fs::remove_dir_all(&root).unwrap();
    }

    /// A fresh folder of its own under the system's temporary folder.
    fn tempfile_dir() -> std::path::PathBuf {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "xtask-new-plugin-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(&dir).unwrap();
        dir
    }
}
