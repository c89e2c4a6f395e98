//! The set-up every front-proxy test world shares: a front proxy for a deployment,
//! picking by the plan the spec §2 files give, bound on the deployment's listeners.

use std::sync::Arc;

use broker_config::AgentFiles;
use broker_config::deploy::Deployment;
use broker_policy::live::LivePlan;
use broker_proxy::front::{Front, FrontListeners, FrontSettings};

/// The §2 texts a test plan is made from.
pub(crate) struct PlanFiles<'a> {
    pub(crate) regions: &'a str,
    pub(crate) cdns: &'a str,
    pub(crate) customers: &'a str,
}

/// `d`'s front proxy with `settings`, picking by `files`' plan, and its bound listeners.
pub(crate) async fn bind(
    d: &Deployment,
    files: &PlanFiles<'_>,
    settings: FrontSettings,
) -> (Arc<Front>, FrontListeners) {
    let files = AgentFiles::parse(files.regions, files.cdns, files.customers).unwrap();
    let plan = LivePlan::from_agent_files(&files).unwrap().shared();
    let front = Arc::new(Front::new(d, plan, settings).unwrap());
    let listeners = FrontListeners::bind(&front, d.proxy.as_ref().unwrap())
        .await
        .unwrap();
    (front, listeners)
}
