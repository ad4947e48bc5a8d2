//! The services a use case runs with: the ports (store, queue, rail, notifier, metrics, a
//! stopwatch) and the configuration, assembled once per process.

use std::sync::Arc;

use crate::config::AppConfig;
use crate::ports::{Clock, JobQueue, Metrics, Notifier, PaymentRail, Store};

#[derive(Clone)]
pub struct Services {
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn JobQueue>,
    pub rail: Arc<dyn PaymentRail>,
    pub notifier: Arc<dyn Notifier>,
    pub metrics: Arc<dyn Metrics>,
    /// Read only for how long something took (the executor's hold on a barber lock), never for
    /// what time it is: use cases are given that.
    pub stopwatch: Arc<dyn Clock>,
    pub config: AppConfig,
}
