//! Plans for a front proxy that runs without a control component in its process: one
//! computed once from the three spec §2 files, or one under which every pick is this CDN.

use std::time::Duration;

use broker_config::AgentFiles;
use broker_policy::balance::{BalanceConfig, Demand, balance};
use broker_policy::live::LivePlan;
use broker_policy::model::{Model, ModelError};

/// The plan the seed's algorithm makes from `files` with no load reported yet (default
/// balance settings), with `files`' regions.
pub fn from_agent_files(files: &AgentFiles) -> Result<LivePlan, ModelError> {
    let model = Model::from_agent_files(files)?;
    let plan = balance(
        &model,
        &Demand::new(),
        &BalanceConfig::default(),
        Duration::ZERO,
        None,
    );
    let regions: Vec<_> = files
        .regions
        .regions
        .iter()
        .map(|r| r.value.clone())
        .collect();
    Ok(LivePlan::new(1, plan, &regions))
}

/// A plan that knows no customer: every page keeps its URLs (this CDN serves all).
pub fn serve_all_ourselves() -> LivePlan {
    let plan = balance(
        &Model::new(),
        &Demand::new(),
        &BalanceConfig::default(),
        Duration::ZERO,
        None,
    );
    LivePlan::new(0, plan, &[])
}
