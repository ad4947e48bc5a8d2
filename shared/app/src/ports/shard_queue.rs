//! Where the planner's tick hands out the due index's shards, so that each is planned by a run
//! of its own (on AWS, a queue whose every message starts a planner invocation).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::queue::QueueError;
use super::store::DueCursor;

/// "Plan the due schedules of this shard, after this cursor." Duplicates are harmless: every
/// period closes by a conditional write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardPlan {
    pub shard: u32,
    /// Where an earlier run of this shard stopped for its deadline; none to start at the top.
    pub after: Option<DueCursor>,
}

#[async_trait]
pub trait ShardQueue: Send + Sync {
    async fn send_plans(&self, plans: &[ShardPlan]) -> Result<(), QueueError>;
}
