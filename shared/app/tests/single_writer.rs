//! `lifecycle` is the only writer of a payout's life: this reads every source file of the
//! workspace and fails on a call of a store method that creates a payout, changes its state or
//! takes its barber's lock anywhere else. The ports declare them and the adapters (SQLite,
//! DynamoDB, the simulation's wrapper) implement them; nothing else may call them.

use std::path::{Path, PathBuf};

/// The store's methods that write a payout or its lock.
const PAYOUT_WRITES: [&str; 8] = [
    ".create_payout(",
    ".close_periods(",
    ".update_payout(",
    ".cancel_payout(",
    ".lock_and_record_attempts(",
    ".record_outcomes_and_unlock(",
    ".try_lock(",
    ".release_lock(",
];

/// Where the methods are declared or implemented, relative to the workspace.
const ADAPTERS: [&str; 5] = [
    "shared/app/src/lifecycle.rs",
    "shared/app/src/ports/",
    "shared/local/src/sqlite/",
    "shared/aws/src/dynamo/",
    "shared/local/src/chaos/store.rs",
];

/// The workspace's code: every crate's `src` and the Lambda functions.
const SOURCES: [&str; 8] = [
    "shared/app/src",
    "shared/core/src",
    "shared/http/src",
    "shared/local/src",
    "shared/aws/src",
    "shared/stripe/src",
    "functions",
    "cli/src",
];

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn only_the_lifecycle_writes_a_payout() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = Vec::new();
    for source in SOURCES {
        rust_files(&root.join(source), &mut files);
    }
    assert!(
        files.len() > 50,
        "the sources were not found under {root:?}"
    );
    let mut offenders = Vec::new();
    for file in &files {
        let relative = file
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if ADAPTERS.iter().any(|adapter| relative.starts_with(adapter)) {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        for (number, line) in text.lines().enumerate() {
            for call in PAYOUT_WRITES {
                if line.contains(call) {
                    offenders.push(format!("{relative}:{}: {}", number + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "payouts written outside shared/app/src/lifecycle.rs:\n{}",
        offenders.join("\n")
    );
}
