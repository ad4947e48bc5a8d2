//! SMS through an HTTP provider with Twilio's Messages API shape: `POST
//! {api_base}/2010-04-01/Accounts/{sid}/Messages.json`, form fields `To`, `From`, `Body`, basic
//! auth with the account SID and token. Any 2xx is accepted; anything else is retried by the
//! outbox.

use std::time::Duration;

use async_trait::async_trait;
use payout_app::config::file::SmsSection;
use payout_app::ports::{Notification, Notifier, NotifyError};

/// The longest an SMS request may take before the outbox retries it.
const TIMEOUT: Duration = Duration::from_secs(10);

pub struct SmsNotifier {
    client: reqwest::Client,
    url: String,
    account_sid: String,
    auth_token: String,
    from: String,
}

fn failed(error: impl std::fmt::Display) -> NotifyError {
    NotifyError(format!("sms: {error}"))
}

impl SmsNotifier {
    pub fn new(settings: &SmsSection) -> Result<Self, NotifyError> {
        Ok(Self {
            client: reqwest::Client::builder()
                .timeout(TIMEOUT)
                .build()
                .map_err(failed)?,
            url: format!(
                "{}/2010-04-01/Accounts/{}/Messages.json",
                settings.api_base.trim_end_matches('/'),
                settings.account_sid
            ),
            account_sid: settings.account_sid.clone(),
            auth_token: settings.auth_token.clone(),
            from: settings.from.clone(),
        })
    }
}

#[async_trait]
impl Notifier for SmsNotifier {
    async fn publish(&self, notification: &Notification) -> Result<(), NotifyError> {
        let to = notification.recipient.phone.as_deref().ok_or_else(|| {
            failed(format!(
                "barber {} has no phone number",
                notification.barber_id
            ))
        })?;
        let body = format!("{}: {}", super::subject(notification), notification.message);
        let response = self
            .client
            .post(&self.url)
            .basic_auth(&self.account_sid, Some(&self.auth_token))
            .form(&[
                ("To", to),
                ("From", self.from.as_str()),
                ("Body", body.as_str()),
            ])
            .send()
            .await
            .map_err(failed)?;
        if !response.status().is_success() {
            return Err(failed(format!(
                "the provider answered {}",
                response.status()
            )));
        }
        Ok(())
    }
}
