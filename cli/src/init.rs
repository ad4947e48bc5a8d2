//! `payouts init`: the two files a new deployment starts from, a configuration with every key
//! at its default and explained, and a private secrets file with a token secret of its own.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::Context;

const CONFIGURATION: &str = include_str!("../../payouts.example.toml");

/// Writes `payouts.toml` and `secrets.env` into `dir` (refusing to replace either unless
/// `force`), and returns what to run next.
pub fn init(dir: &Path, force: bool) -> anyhow::Result<String> {
    let config = dir.join("payouts.toml");
    let secrets = dir.join("secrets.env");
    if !force {
        for path in [&config, &secrets] {
            anyhow::ensure!(
                !path.exists(),
                "{} exists already; --force replaces it",
                path.display()
            );
        }
    }
    write(&config, CONFIGURATION, 0o644)?;
    write(&secrets, &secrets_file()?, 0o600)?;
    Ok(format!(
        "wrote {config} (every key at its default, each explained) and {secrets} (a new token \
         secret; readable by you alone)\n\nnext:\n  set -a; . {secrets}; set +a\n  \
         payouts config check --config {config}\n  payouts serve --config {config}\n  \
         payouts token --role operator\n",
        config = config.display(),
        secrets = secrets.display(),
    ))
}

fn write(path: &Path, text: &str, mode: u32) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// The secrets `serve` and `token` read from the environment: a generated token secret, and
/// the others to fill in as they are needed.
fn secrets_file() -> anyhow::Result<String> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret)
        .map_err(|e| anyhow::anyhow!("cannot read the system's random source: {e}"))?;
    let secret: String = secret.iter().map(|byte| format!("{byte:02x}")).collect();
    Ok(format!(
        "# Secrets of `payouts serve` and `payouts token`, written by `payouts init`. Keep this\n\
         # file private (mode 0600). Load it into a shell with: set -a; . ./secrets.env; set +a\n\
         # (or name it in systemd's EnvironmentFile=).\n\
         PAYOUTS_JWT_SECRET={secret}\n\
         # With rail.kind = \"stripe\": the platform's secret key and the webhook endpoint's.\n\
         # STRIPE_SECRET_KEY=sk_live_...\n\
         # STRIPE_WEBHOOK_SECRET=whsec_...\n\
         # With [notifier.email] and [notifier.sms]:\n\
         # PAYOUTS_NOTIFIER__EMAIL__PASSWORD=...\n\
         # PAYOUTS_NOTIFIER__SMS__AUTH_TOKEN=...\n"
    ))
}
