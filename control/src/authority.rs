//! Who may drive engines and change the state: the one fact every actor of a replicated
//! control reads (spec §8). Alone (no `[cluster]`) a control always may; in a cluster
//! only the leader, and only while its lease surely holds.

use std::sync::Arc;

use broker_cluster::{LeaderInfo, Leadership};

/// This replica's standing.
#[derive(Clone, Debug)]
pub(crate) enum Authority {
    /// No `[cluster]`: works alone, as before.
    Alone,
    /// Leads, with this leadership (its epoch fences every transaction).
    Leading(Arc<Leadership>),
    /// Stands by; the leader, when known.
    Following(Option<LeaderInfo>),
}

impl Authority {
    /// May drive engines and accept writes now.
    pub(crate) fn may_act(&self) -> bool {
        match self {
            Self::Alone => true,
            Self::Leading(l) => l.is_held(),
            Self::Following(_) => false,
        }
    }

    /// The epoch to put first in each transaction (`None` alone).
    pub(crate) fn epoch(&self) -> Option<u64> {
        match self {
            Self::Leading(l) => Some(l.epoch()),
            _ => None,
        }
    }

    /// The refusal a follower answers writes with (spec §8).
    pub(crate) fn refusal(&self) -> String {
        let at = match self {
            Self::Following(Some(l)) => l
                .management
                .clone()
                .or_else(|| l.api.clone())
                .unwrap_or_else(|| l.replica.clone()),
            _ => "unknown (election under way)".to_owned(),
        };
        format!("not the leader; leader at {at}")
    }

    /// Where a follower's API redirects writes: the leader's API, when known.
    pub(crate) fn leader_api(&self) -> Option<String> {
        match self {
            Self::Following(Some(l)) => l.api.clone(),
            _ => None,
        }
    }

    /// `leader`, `follower` or `alone`, for the API and page.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::Alone => "alone",
            Self::Leading(_) => "leader",
            Self::Following(_) => "follower",
        }
    }
}
