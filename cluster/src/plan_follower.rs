//! The following side of the published plan (spec §8): proxies and edges with
//! `[cluster]` and no `[control]` watch `<prefix>/plan` and swap each new plan into the
//! same [`SharedPlan`] and [`SharedRouting`] an in-process control would feed, one
//! atomic store each. A document that does not parse, or that is not newer than the one
//! in force (by epoch, then plan generation, then routing generation: an edit of the
//! routing tables alone is published under the same plan generation), is logged and
//! never applied. With etcd unreachable the last plan stays in force.

use std::sync::Arc;

use broker_config::transaction::RegionDef;
use broker_policy::live::{LivePlan, SharedPlan};
use broker_policy::routing::{Routing, SharedRouting};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::blobs::{BlobRef, get_blob};
use crate::connection::Cluster;
use crate::follow::{Update, follow_prefix};
use crate::plan_doc::{PlanDoc, parse_regions, parse_routing};

/// Where a follower applies what it reads.
#[derive(Clone, Debug)]
pub struct PlanTargets {
    /// The plan the data path reads.
    pub plan: SharedPlan,
    /// The routing tables the data path reads.
    pub routing: SharedRouting,
    /// Told `(generation, epoch)` of each plan applied (for the member registration).
    pub served: watch::Sender<(u64, Option<u64>)>,
}

/// Follows the plan until `shutdown`. `reachable` tells whether etcd answers.
pub async fn follow_plan(
    cluster: Cluster,
    targets: PlanTargets,
    reachable: watch::Sender<bool>,
    shutdown: CancellationToken,
) {
    let (tx, mut rx) = mpsc::channel(16);
    let key = cluster.keys.plan();
    tokio::spawn(follow_prefix(
        cluster.clone(),
        key.clone(),
        tx,
        reachable,
        shutdown.clone(),
    ));
    let mut state = Applied::default();
    while let Some(update) = rx.recv().await {
        let value = match update {
            Update::Reset(all) => all.get(&key).cloned(),
            Update::Put(k, v) if k == key => Some(v),
            _ => None,
        };
        let Some(value) = value else { continue };
        match serde_json::from_slice::<PlanDoc>(&value) {
            Ok(doc) => {
                if let Err(reason) = state.apply(&cluster, doc, &targets).await {
                    tracing::warn!(%key, %reason, "published plan ignored");
                }
            }
            Err(e) => tracing::warn!(%key, error = %e, "malformed plan ignored"),
        }
    }
}

/// What the follower applied last.
#[derive(Default)]
struct Applied {
    /// (epoch, plan generation, routing generation) of the document in force.
    version: Option<(u64, u64, u64)>,
    regions: Option<(BlobRef, Arc<Vec<RegionDef>>)>,
    routing: Option<String>,
    routing_generation: u64,
}

impl Applied {
    async fn apply(
        &mut self,
        cluster: &Cluster,
        doc: PlanDoc,
        targets: &PlanTargets,
    ) -> Result<(), String> {
        let version = (doc.epoch, doc.generation, doc.routing_generation);
        if self.version == Some(version) {
            return Ok(()); // the same document again (a re-read after a resync)
        }
        if self.version.is_some_and(|v| version < v) {
            return Err(format!(
                "epoch {} generation {} routing generation {} is not newer than the plan in force",
                doc.epoch, doc.generation, doc.routing_generation
            ));
        }
        let plan = doc.plan.to_plan()?;
        let (partners, customers) = parse_routing(&doc.routing)?;
        let same_regions = self
            .regions
            .as_ref()
            .is_some_and(|(b, _)| *b == doc.regions);
        let live = if same_regions {
            targets.plan.load().with_plan(doc.generation, plan)
        } else {
            let text = get_blob(cluster, &doc.regions)
                .await
                .map_err(|e| e.to_string())?;
            let defs = tokio::task::spawn_blocking(move || parse_regions(&text))
                .await
                .map_err(|e| e.to_string())??;
            let defs = Arc::new(defs);
            let regions = Arc::clone(&defs);
            let generation = doc.generation;
            let live =
                tokio::task::spawn_blocking(move || LivePlan::new(generation, plan, &regions))
                    .await
                    .map_err(|e| e.to_string())?;
            self.regions = Some((doc.regions.clone(), defs));
            live
        };
        if self.routing.as_deref() != Some(doc.routing.as_str()) {
            // Our own generation: a new leader may count the tables' versions anew.
            self.routing_generation += 1;
            targets.routing.store(Arc::new(Routing::new(
                self.routing_generation,
                partners,
                customers,
            )));
            self.routing = Some(doc.routing);
        }
        targets.plan.store(Arc::new(live));
        self.version = Some(version);
        targets
            .served
            .send_replace((doc.generation, Some(doc.epoch)));
        tracing::info!(
            epoch = doc.epoch,
            generation = doc.generation,
            "plan from etcd in force"
        );
        Ok(())
    }
}
