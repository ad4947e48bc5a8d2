//! The narrow traits the use cases need from the outside world. The embedded adapters
//! (`payout-local`) and the AWS adapters implement them and pass one contract suite.

pub mod clock;
pub mod events;
pub mod metrics;
pub mod notifier;
pub mod onboarding;
pub mod queue;
pub mod rail;
pub mod shard_queue;
pub mod store;

pub use clock::{Clock, ManualClock, SystemClock};
pub use events::{EventPublisher, OutboundEvent};
pub use metrics::{Cumulative, Metric, Metrics, NoMetrics, Unit};
pub use notifier::{
    Channel, NoticeState, Notification, NotificationKind, Notifier, NotifyError,
    PendingNotification, Recipient, SentNotification,
};
pub use onboarding::{AccountOnboarding, OnboardingLink};
pub use queue::{Delivery, JobQueue, PayoutJob, QueueDepth, QueueError};
pub use rail::{BalancePayout, PaymentRail, RailCall, RailError, TransferReceipt, TransferRequest};
pub use shard_queue::{ShardPlan, ShardQueue};
pub use store::{
    AccountRestriction, AccountRestrictions, AdvanceNotice, AttemptBatches, BarberLocks,
    CreateOutcome, DueCursor, DueSchedule, EventOutbox, Heartbeats, HeldEarnings, IntakeOutcome,
    LedgerStore, LedgerTotals, NoticeDelivery, NotificationOutbox, OpenActivity, OpenWindow,
    OutcomeRecorded, OutcomeWrite, PayoutCreation, PayoutQuery, PayoutStore, PayoutTotalsRow,
    PayoutWrite, PeriodBatches, PeriodClose, PeriodWrite, PlanningFailure, PlanningFailures,
    Reports, ScheduleStore, StatusTotals, Store, StoreError, VoidOutcome, WebhookInbox,
    WriteOutcome,
};
