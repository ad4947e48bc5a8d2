//! Where the notice tests' email and SMS land: aiosmtpd (from PyPI, `scripts/python-tools`)
//! writing each message it receives into a Maildir, and an HTTP fake of Twilio's Messages API
//! keeping each form it is posted.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use parking_lot::Mutex;

use crate::emulator::{Emulator, venv_tool};

/// An SMTP server on a free port that accepts every message.
pub struct SmtpSink {
    _process: Emulator,
    pub port: u16,
    maildir: tempfile::TempDir,
}

impl SmtpSink {
    pub fn start() -> Self {
        let maildir = tempfile::tempdir().unwrap();
        // aiosmtpd makes the Maildir's folders only when it makes the Maildir.
        let dir = maildir.path().join("mail").display().to_string();
        let process = Emulator::start(&venv_tool("aiosmtpd"), |port| {
            vec![
                "-n".into(),
                "-l".into(),
                format!("127.0.0.1:{port}"),
                "-c".into(),
                "aiosmtpd.handlers.Mailbox".into(),
                dir,
            ]
        });
        Self {
            port: process.port,
            _process: process,
            maildir,
        }
    }

    /// Every message received so far, raw (headers and body).
    pub fn messages(&self) -> Vec<String> {
        let new: PathBuf = self.maildir.path().join("mail/new");
        let Ok(entries) = std::fs::read_dir(new) else {
            return Vec::new();
        };
        entries
            .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
            .collect()
    }
}

/// One message posted to the SMS fake.
#[derive(Debug, Clone)]
pub struct Sms {
    pub account: String,
    pub form: HashMap<String, String>,
}

/// Twilio's `POST /2010-04-01/Accounts/{sid}/Messages.json`, answering 201 to everything.
pub struct SmsFake {
    pub base: String,
    received: Arc<Mutex<Vec<Sms>>>,
}

impl SmsFake {
    pub async fn start() -> Self {
        let received: Arc<Mutex<Vec<Sms>>> = Arc::default();
        let app = axum::Router::new()
            .route(
                "/2010-04-01/Accounts/{account}/Messages.json",
                post(
                    |State(received): State<Arc<Mutex<Vec<Sms>>>>,
                     Path(account): Path<String>,
                     Form(form): Form<HashMap<String, String>>| async move {
                        received.lock().push(Sms { account, form });
                        (
                            StatusCode::CREATED,
                            "{\"sid\": \"SM1\", \"status\": \"queued\"}",
                        )
                    },
                ),
            )
            .with_state(received.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { base, received }
    }

    pub fn messages(&self) -> Vec<Sms> {
        self.received.lock().clone()
    }
}
