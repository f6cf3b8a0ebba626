//! `cargo xtask deps`: which top-level modules of the daemon library (`host/src/<module>`) use
//! which, against the layers of `docs/architecture.md` ([`ORDER`]). A module may use only the
//! modules below it; a use that goes up a layer closes a cycle. `--check` (run by
//! `cargo xtask test`) fails on an upward use that [`KNOWN_UPWARD`] does not name, and on a
//! module that has no place in the layers, so that no new cycle creeps in while the old ones
//! are taken apart (issue 19).
//!
//! It reads `crate::<module>` paths in the source text, leaving out comments and test code
//! (`tests.rs` files, `test_db.rs`, and everything after a file's test module). A text scan
//! rather than a compiler plugin (`cargo modules` needs a tool built against the compiler's
//! internals): the daemon's code names other modules by `crate::` paths, which makes the scan
//! exact enough, and it runs in milliseconds with nothing to install.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use crate::say;

/// The daemon library's top-level modules from the bottom layer up (the picture in
/// `docs/architecture.md` groups them): a module may use only those before it. A new module
/// must be placed here.
const ORDER: &[&str] = &[
    // foundations
    "clock",
    "phone",
    "citizen",
    "net",
    "limit",
    "testing",
    "text",
    "config",
    "inbox_signal",
    "secrets",
    // the store
    "store",
    // domain
    "audit",
    "directory",
    "address_book",
    "auth",
    "members",
    "channels",
    "plugins",
    "modem",
    // services
    "operations",
    "metrics",
    "dispatch",
    "router",
    "api",
    // surfaces
    "http",
    "web",
    "daemon",
];

/// Uses that still go up a layer, as `(user, used)`: each is work to do (issue 19). `--check`
/// fails on any other, and says when one of these is gone so that it is taken off.
const KNOWN_UPWARD: &[(&str, &str)] = &[];

/// What one module uses: the other module, and the files that use it.
type Uses = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let check = args.iter().any(|a| a == "--check");
    let uses = scan(&root.join("host/src"))?;
    if !check {
        print!("{}", listing(&uses));
    }
    let unplaced: Vec<&str> = uses
        .keys()
        .filter(|m| rank(m).is_none())
        .map(String::as_str)
        .collect();
    if !unplaced.is_empty() {
        return Err(format!(
            "modules of host/src with no place in the layers: {} (add each to ORDER in \
             xtask/src/deps.rs and to the picture in docs/architecture.md)",
            unplaced.join(", ")
        ));
    }
    let upward = upward(&uses);
    let gone: Vec<String> = KNOWN_UPWARD
        .iter()
        .filter(|(from, to)| !upward.contains(&((*from).to_owned(), (*to).to_owned())))
        .map(|(from, to)| format!("{from} -> {to}"))
        .collect();
    if !gone.is_empty() {
        say(&format!(
            "no longer used upward (take them off KNOWN_UPWARD in xtask/src/deps.rs): {}",
            gone.join(", ")
        ));
    }
    let unexpected: Vec<String> = upward
        .iter()
        .filter(|(from, to)| !KNOWN_UPWARD.contains(&(from.as_str(), to.as_str())))
        .map(|(from, to)| format!("{from} -> {to}"))
        .collect();
    if check && !unexpected.is_empty() {
        print!("{}", listing(&uses));
        return Err(format!(
            "host/src modules that use a module above them: {} (a lower module must not use \
             an upper one: move the shared item down, see docs/architecture.md)",
            unexpected.join(", ")
        ));
    }
    Ok(())
}

/// A module's place in [`ORDER`].
fn rank(module: &str) -> Option<usize> {
    ORDER.iter().position(|m| *m == module)
}

/// Every use of a module at or above the user's own place, as `(user, used)`.
fn upward(uses: &Uses) -> BTreeSet<(String, String)> {
    let mut up = BTreeSet::new();
    for (from, used) in uses {
        for to in used.keys() {
            if let (Some(a), Some(b)) = (rank(from), rank(to))
                && b >= a
            {
                up.insert((from.clone(), to.clone()));
            }
        }
    }
    up
}

/// Every top-level module's uses of the others.
fn scan(src: &Path) -> Result<Uses, String> {
    let modules = top_level_modules(src)?;
    let mut uses = Uses::new();
    for module in &modules {
        uses.entry(module.clone()).or_default();
    }
    let mut files = Vec::new();
    rust_files(src, &mut files)?;
    for file in files {
        let relative = file
            .strip_prefix(src)
            .map_err(|e| e.to_string())?
            .to_string_lossy()
            .into_owned();
        let Some(module) = module_of(&relative).filter(|m| modules.contains(m)) else {
            continue;
        };
        if is_test_file(&relative) {
            continue;
        }
        let text = fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        for used in used_modules(&text) {
            if used != module && modules.contains(&used) {
                uses.entry(module.clone())
                    .or_default()
                    .entry(used)
                    .or_default()
                    .insert(relative.clone());
            }
        }
    }
    Ok(uses)
}

/// The modules `host/src/lib.rs` declares (`pub mod x;`): the binary's own (`cli`) are not
/// the library's.
fn top_level_modules(src: &Path) -> Result<BTreeSet<String>, String> {
    let lib = src.join("lib.rs");
    let text = fs::read_to_string(&lib).map_err(|e| format!("{}: {e}", lib.display()))?;
    Ok(text
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let rest = line
                .strip_prefix("pub mod ")
                .or_else(|| line.strip_prefix("mod "))?;
            rest.strip_suffix(';').map(str::to_owned)
        })
        .collect())
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    for entry in fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            rust_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// The top-level module a file belongs to (`store/outbound.rs` → `store`).
fn module_of(relative: &str) -> Option<String> {
    let first = relative.split('/').next()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (name != "lib" && name != "main").then(|| name.to_owned())
}

fn is_test_file(relative: &str) -> bool {
    let name = relative.rsplit('/').next().unwrap_or(relative);
    name == "tests.rs" || name == "test_db.rs" || relative.contains("/tests/")
}

/// The modules named by `crate::<module>` in a file's code: comments and the test module at
/// the end are left out.
fn used_modules(text: &str) -> BTreeSet<String> {
    let code = match text.find("#[cfg(test)]\nmod tests {") {
        Some(at) => &text[..at],
        None => text,
    };
    let word = |text: &str| -> String {
        text.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut used = BTreeSet::new();
    for line in code.lines() {
        let line = line.trim_start();
        if line.starts_with("//") {
            continue;
        }
        let line = line.split(" //").next().unwrap_or(line);
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            // `$crate::` in a macro names whichever crate expands it, not a module here.
            let before = rest[..at].chars().last();
            if !matches!(before, Some(c) if c == '$' || c.is_alphanumeric() || c == '_') {
                let name = word(after);
                if !name.is_empty() {
                    used.insert(name);
                }
            }
            rest = after;
        }
        // `use crate::{a, b::c};`
        if let Some(group) = line.strip_prefix("use crate::{") {
            used.extend(
                group
                    .split(',')
                    .map(|part| word(part.trim()))
                    .filter(|n| !n.is_empty()),
            );
        }
    }
    used
}

/// One line per module, bottom layer first: what it uses; then each use that goes up a layer,
/// with its files.
fn listing(uses: &Uses) -> String {
    let mut out = String::from("module -> the modules it uses (host/src, bottom layer first)\n");
    let mut modules: Vec<&String> = uses.keys().collect();
    modules.sort_by_key(|m| rank(m).unwrap_or(usize::MAX));
    for module in modules {
        let names: Vec<&str> = uses[module].keys().map(String::as_str).collect();
        out.push_str(&format!("  {module} -> {}\n", names.join(", ")));
    }
    let upward = upward(uses);
    if upward.is_empty() {
        out.push_str("uses that go up a layer: none\n");
    } else {
        out.push_str("uses that go up a layer (each closes a cycle), with their files:\n");
        for (from, to) in &upward {
            let files: Vec<&str> = uses[from][to].iter().map(String::as_str).collect();
            out.push_str(&format!("  {from} -> {to}: {}\n", files.join(", ")));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_and_macro_paths_do_not_count_as_uses() {
        let text = "//! see [`crate::api`]\nuse crate::store::Store; // crate::web\n\
                    fn f() { $crate::x::y(); crate::audit::AuditEntry::new(); }\n\
                    #[cfg(test)]\nmod tests { use crate::router; }\n";
        let used: Vec<String> = used_modules(text).into_iter().collect();
        assert_eq!(used, ["audit", "store"]);
    }

    #[test]
    fn grouped_imports_count_each_module() {
        let used: Vec<String> = used_modules("use crate::{clock, store::Store};\n")
            .into_iter()
            .collect();
        assert_eq!(used, ["clock", "store"]);
    }

    #[test]
    fn a_use_of_a_higher_layer_is_upward_and_a_lower_one_is_not() {
        let mut uses = Uses::new();
        for (a, b) in [("router", "store"), ("store", "router"), ("web", "router")] {
            uses.entry(a.into())
                .or_default()
                .entry(b.into())
                .or_default()
                .insert(format!("{a}.rs"));
        }
        let found: Vec<(String, String)> = upward(&uses).into_iter().collect();
        assert_eq!(found, [("store".to_owned(), "router".to_owned())]);
    }

    #[test]
    fn every_module_of_the_library_has_a_place_in_the_layers() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../host/src");
        for module in top_level_modules(&src).unwrap() {
            assert!(rank(&module).is_some(), "{module} is not in ORDER");
        }
    }
}
