//! What the agents send the event loop, and what it answers.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use broker_cluster::{LeaderInfo, Leadership};
use broker_config::status::Alert;
use broker_config::{Events, Name, Pos};
use tokio::sync::oneshot;

use crate::load_agent::Feedback;
use crate::routing::RoutingProblem;
use crate::state_view::StateView;

/// One event for the loop that owns the model.
pub(crate) enum Command {
    /// A management batch or API operations (spec §3): all applied, or none.
    Batch {
        events: Events,
        reply: oneshot::Sender<Result<u64, BatchError>>,
    },
    /// Reload the agent files (API reset; `RESET!` comes as a batch).
    Reset {
        reply: oneshot::Sender<Result<u64, BatchError>>,
    },
    /// One poll of a partner's status reports, begun at `started` (control time).
    Feedback {
        partner: Name,
        started: Duration,
        result: Result<Feedback, String>,
    },
    /// A partner's alert, its sender already authenticated.
    Alert {
        alert: Alert,
        reply: oneshot::Sender<Result<u64, AlertError>>,
    },
    /// Replace the routing tables by this TOML text (`PUT /api/routing`): all or nothing.
    Routing {
        text: String,
        reply: oneshot::Sender<Result<u64, Vec<RoutingProblem>>>,
    },
    /// A view of the state for the API.
    State { reply: oneshot::Sender<StateView> },
    /// This replica won the leadership: rebuild from the state in etcd, then lead.
    Lead {
        leadership: Arc<Leadership>,
        reply: oneshot::Sender<()>,
    },
    /// This replica stands by (the leadership was lost, or another replica leads).
    Follow { leader: Option<LeaderInfo> },
    /// An alert a follower left in the etcd inbox (spec §8), for the leader.
    InboxAlert { key: String, alert: Alert },
}

/// Why a batch changed nothing: printed `LINE:COL message`, as spec §3 answers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BatchError {
    pub(crate) pos: Pos,
    pub(crate) message: String,
}

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.pos, self.message)
    }
}

/// Why an alert changed nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum AlertError {
    /// The alert is refused (an unknown CDN, figures the model does not take): 403.
    Refused(String),
    /// It could not be kept now (etcd did not take it): 503, to be sent again or elsewhere.
    NotKept(String),
}

impl fmt::Display for AlertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Refused(why) | Self::NotKept(why) => f.write_str(why),
        }
    }
}
