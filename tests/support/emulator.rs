//! An emulator process of the tests (moto's server, the SMTP sink): started on a free
//! 127.0.0.1 port, waited for until it listens, killed by PID when dropped.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Emulator {
    child: Child,
    pub port: u16,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port on 127.0.0.1")
}

/// A tool the project's scripts install into `.venv` (`scripts/python-tools`), or into
/// `PAYOUTS_VENV` when that names another place (CI keeps one across clean clones).
pub fn venv_tool(name: &str) -> PathBuf {
    let venv = std::env::var_os("PAYOUTS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv"));
    venv.join("bin").join(name)
}

impl Emulator {
    /// Runs `binary` with the arguments `args` gives for a port, until it listens there.
    pub fn start(binary: &Path, args: impl FnOnce(u16) -> Vec<String>) -> Self {
        // Until our process has bound its port, no other test may pick a port, or two could
        // race for the same one.
        static STARTING: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _starting = STARTING
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        assert!(
            binary.exists(),
            "{} not found: run ./scripts/test (it installs the emulators into .venv)",
            binary.display()
        );
        let port = free_port();
        let mut child = Command::new(binary)
            .args(args(port))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{} starts: {e}", binary.display()));
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "{} did not listen on {port}",
                binary.display()
            );
            assert!(
                child.try_wait().ok().flatten().is_none(),
                "{} exited before listening on {port}",
                binary.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, port }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
