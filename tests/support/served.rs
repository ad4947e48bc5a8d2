//! `payouts serve` as a user runs it: the real binary on a free port, its log drained, killed
//! when dropped.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::app::SECRET;

pub struct Served {
    child: Child,
    /// `http://127.0.0.1:port/api/v1/payout-scheduler`.
    pub base: String,
}

impl Served {
    /// Starts `binary serve --db db` with `args` and `envs` (the test's JWT secret set), on a
    /// free port, planning every second, and waits until it listens.
    pub fn start(binary: &str, db: &Path, args: &[&str], envs: &[(&str, &str)]) -> Self {
        let mut child = Command::new(binary)
            .args(["serve", "--addr", "127.0.0.1:0", "--planner-interval", "1"])
            .args(args)
            .arg("--db")
            .arg(db)
            .env("PAYOUTS_JWT_SECRET", SECRET)
            .envs(envs.iter().copied())
            .env(
                "RUST_LOG",
                "payout_app=debug,payout_local=debug,payouts=debug",
            )
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let addr = loop {
            let line = lines
                .next()
                .expect("serve exited before listening")
                .unwrap();
            if let Some(addr) = line.strip_prefix("payouts serving on http://") {
                break addr.to_string();
            }
        };
        // Keep draining the log so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(|l| eprintln!("SERVER {l:?}")));
        Self {
            child,
            base: format!("http://{addr}/api/v1/payout-scheduler"),
        }
    }

    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
