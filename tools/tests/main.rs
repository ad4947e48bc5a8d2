//! `payouts-tools` run as a user runs it, one test binary:
//!
//! - [`bench`]: the benchmarks still run end to end (small sizes).
//! - [`aws_local`]: `aws-local up` and `aws-cost` against moto's server.

mod aws_local;
mod bench;

use std::process::Command;

/// Runs `payouts-tools ARGS` with `envs` set; it must succeed. Returns what it printed.
fn tools(args: &[&str], envs: &[(&str, &str)]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_payouts-tools"))
        .args(args)
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}
