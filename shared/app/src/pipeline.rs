//! The ports and configuration the use cases run on, assembled once per process.

use std::sync::Arc;

use crate::config::AppConfig;
use crate::ports::{JobQueue, Notifier, PaymentRail, PayoutStore};

#[derive(Clone)]
pub struct Pipeline {
    pub store: Arc<dyn PayoutStore>,
    pub queue: Arc<dyn JobQueue>,
    pub rail: Arc<dyn PaymentRail>,
    pub notifier: Arc<dyn Notifier>,
    pub config: AppConfig,
}
