//! Email over SMTP (`lettre`): STARTTLS, TLS or (for a relay on the same machine) plain, with
//! credentials from the configuration. One message per notice, to the address the barber's
//! schedule had when the notice was made.

use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use payout_app::config::file::{EmailSection, EmailTls};
use payout_app::ports::{Notification, Notifier, NotifyError};

pub struct SmtpNotifier {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

fn failed(error: impl std::fmt::Display) -> NotifyError {
    NotifyError(format!("smtp: {error}"))
}

impl SmtpNotifier {
    pub fn new(settings: &EmailSection) -> Result<Self, NotifyError> {
        let builder = match settings.tls {
            EmailTls::Starttls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&settings.host)
                    .map_err(failed)?
            }
            EmailTls::Tls => {
                AsyncSmtpTransport::<Tokio1Executor>::relay(&settings.host).map_err(failed)?
            }
            EmailTls::None => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
            }
        };
        let mut builder = builder.port(settings.port);
        if let (Some(user), Some(password)) = (&settings.username, &settings.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Self {
            transport: builder.build(),
            from: settings
                .from
                .parse()
                .map_err(|e| failed(format!("notifier.email.from: {e}")))?,
        })
    }
}

#[async_trait]
impl Notifier for SmtpNotifier {
    async fn publish(&self, notification: &Notification) -> Result<(), NotifyError> {
        let to: Mailbox = notification
            .recipient
            .email
            .as_deref()
            .ok_or_else(|| {
                failed(format!(
                    "barber {} has no email address",
                    notification.barber_id
                ))
            })?
            .parse()
            .map_err(failed)?;
        let email = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(super::subject(notification))
            .message_id(Some(format!("<{}@payouts>", notification.dedupe_key)))
            .body(notification.message.clone())
            .map_err(failed)?;
        self.transport.send(email).await.map_err(failed)?;
        Ok(())
    }
}
