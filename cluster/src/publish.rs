//! The leader's side of the published plan: [`Publisher::publish`] writes the region
//! table (only when it changed) and then the plan document, guarded by the epoch.

use std::sync::Arc;

use broker_config::transaction::RegionDef;
use broker_policy::plan::Plan;
use etcd_client::TxnOp;

use crate::blobs::{BlobRef, put_blob};
use crate::connection::Cluster;
use crate::election::Leadership;
use crate::error::ClusterError;
use crate::plan_doc::{PlanDoc, PlanJson, regions_text};
use crate::state::{guarded, json};

/// One plan to publish.
#[derive(Debug)]
pub struct Publication<'a> {
    /// Its generation.
    pub generation: u64,
    /// The plan.
    pub plan: &'a Plan,
    /// The region definitions it was made for.
    pub regions: &'a Arc<Vec<RegionDef>>,
    /// The routing tables' generation and TOML ([`crate::plan_doc::routing_toml`]).
    pub routing: (u64, &'a str),
}

/// Writes plans for one leadership, remembering the last region table it stored.
#[derive(Debug)]
pub struct Publisher {
    cluster: Cluster,
    regions: Option<(Arc<Vec<RegionDef>>, BlobRef)>,
}

/// What one publication wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Written {
    /// Bytes of the plan document.
    pub plan_bytes: usize,
    /// Bytes of region table written (0 when it was stored already).
    pub region_bytes: usize,
}

impl Publisher {
    /// A publisher for `cluster`.
    pub fn new(cluster: Cluster) -> Self {
        Self {
            cluster,
            regions: None,
        }
    }

    /// Publishes `p` as `leader`: the plan is written only while `leader` holds the
    /// leader key.
    pub async fn publish(
        &mut self,
        leader: &Leadership,
        p: &Publication<'_>,
    ) -> Result<Written, ClusterError> {
        let mut written = Written::default();
        let blob = match &self.regions {
            Some((regions, blob)) if Arc::ptr_eq(regions, p.regions) => blob.clone(),
            _ => {
                let text = regions_text(p.regions);
                let (blob, bytes) = put_blob(&self.cluster, &text).await?;
                written.region_bytes = bytes;
                self.regions = Some((Arc::clone(p.regions), blob.clone()));
                blob
            }
        };
        let doc = PlanDoc {
            epoch: leader.epoch(),
            generation: p.generation,
            regions: blob,
            routing_generation: p.routing.0,
            routing: p.routing.1.to_owned(),
            plan: PlanJson::of(p.plan),
        };
        let value = json(&doc);
        written.plan_bytes = value.len();
        guarded(
            &self.cluster,
            leader,
            vec![TxnOp::put(self.cluster.keys.plan(), value, None)],
        )
        .await?;
        Ok(written)
    }
}

/// The plan document in force, if any (for a new leader: the generation to go on from).
pub async fn current_plan(cluster: &Cluster) -> Result<Option<PlanDoc>, ClusterError> {
    let key = cluster.keys.plan();
    let resp = cluster.client().get(key.as_str(), None).await?;
    match resp.kvs().first() {
        None => Ok(None),
        Some(kv) => {
            serde_json::from_slice(kv.value())
                .map(Some)
                .map_err(|e| ClusterError::BadValue {
                    key,
                    reason: e.to_string(),
                })
        }
    }
}
