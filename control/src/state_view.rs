//! What `GET /api/state` shows: the model (CDNs with their figures, status and feedback
//! age, customers, regions), the plan in force (weights per customer group and region),
//! the partners' polls and alerts, and (added by the API) the engines' status.

use std::collections::BTreeMap;

use broker_policy::model::Status;
use serde::Serialize;

use crate::core::Core;
use crate::engine_driver::EngineStatus;
use crate::feedback;

/// The whole view.
#[derive(Clone, Debug, Serialize)]
pub struct StateView {
    /// Generation of the plan in force.
    pub generation: u64,
    /// Seconds since the control component started.
    pub uptime_secs: f64,
    /// Every CDN of the model.
    pub cdns: Vec<CdnView>,
    /// Every customer.
    pub customers: Vec<CustomerView>,
    /// Every region (`DEFAULT` has no prefixes).
    pub regions: Vec<RegionView>,
    /// The plan in force.
    pub plan: PlanView,
    /// Partners of the deployment and what was heard from them.
    pub partners: Vec<PartnerView>,
    /// DNS engines driven.
    pub engines: Vec<EngineStatus>,
}

/// One CDN.
#[derive(Clone, Debug, Serialize)]
pub struct CdnView {
    /// Name.
    pub name: String,
    /// `available` or `unavailable`.
    pub status: &'static str,
    /// Total capacity the model holds now, kbit/s.
    pub capacity_kbps: u64,
    /// What `cdn.txt` (or an operator's `CAPACITY ...,CDNTOTAL`) reserved, kbit/s.
    pub reserved_kbps: Option<u64>,
    /// Capacity the plan may use after utilisation target and staleness decay, kbit/s.
    pub planned_capacity_kbps: f64,
    /// Latest total load, kbit/s.
    pub load_kbps: u64,
    /// Latest loads per region.
    pub region_loads_kbps: BTreeMap<String, u64>,
    /// Latest capacities per region.
    pub region_capacities_kbps: BTreeMap<String, u64>,
    /// Coverage per region (0..100; regions not listed: 0).
    pub coverage: BTreeMap<String, u8>,
    /// Seconds since its last feedback (`null`: never).
    pub feedback_age_secs: Option<f64>,
    /// Its feedback is older than the staleness limit.
    pub stale: bool,
}

/// One customer.
#[derive(Clone, Debug, Serialize)]
pub struct CustomerView {
    /// Name.
    pub name: String,
    /// The CDNs it allows.
    pub cdns: Vec<String>,
    /// The DNS names the engines bind for it.
    pub dns: Vec<String>,
}

/// One region.
#[derive(Clone, Debug, Serialize)]
pub struct RegionView {
    /// Name.
    pub name: String,
    /// How many prefixes it holds.
    pub prefixes: usize,
}

/// The plan.
#[derive(Clone, Debug, Serialize)]
pub struct PlanView {
    /// `seed` or `optimal`.
    pub mode: String,
    /// Demand that could not be placed within capacity, kbit/s.
    pub unplaced_kbps: f64,
    /// One entry per customer group (a distinct set of allowed CDNs).
    pub groups: Vec<GroupView>,
}

/// A group's weights.
#[derive(Clone, Debug, Serialize)]
pub struct GroupView {
    /// The coverage table's name in the engines.
    pub coverage: String,
    /// The CDNs of the group.
    pub cdns: Vec<String>,
    /// Its customers.
    pub customers: Vec<String>,
    /// Region → CDN → weight (0..1); a region with no CDN is an empty map.
    pub weights: BTreeMap<String, BTreeMap<String, f64>>,
}

/// One partner.
#[derive(Clone, Debug, Serialize)]
pub struct PartnerView {
    /// Name.
    pub name: String,
    /// Its status reports are polled.
    pub polled: bool,
    /// Seconds since the last successful poll.
    pub last_poll_ok_age_secs: Option<f64>,
    /// The last failed poll's reason.
    pub last_poll_error: Option<String>,
    /// Seconds since that failure.
    pub last_poll_error_age_secs: Option<f64>,
    /// Successful polls.
    pub polls_ok: u64,
    /// Failed polls.
    pub polls_failed: u64,
    /// Alerts accepted.
    pub alerts: u64,
    /// The last alert's text.
    pub last_alert: Option<String>,
    /// Seconds since that alert.
    pub last_alert_age_secs: Option<f64>,
}

pub(crate) fn build(core: &Core) -> StateView {
    let now = core.now();
    let stale_after = core.settings.balance.stale_after;
    let age = |t: std::time::Duration| now.saturating_sub(t).as_secs_f64();
    let cdns = core
        .model
        .cdns()
        .map(|c| CdnView {
            name: c.name().to_string(),
            status: match c.status() {
                Status::Available => "available",
                Status::Unavailable => "unavailable",
            },
            capacity_kbps: c.capacity_kbps(),
            reserved_kbps: core.reserved.get(c.name()).map(|s| s.capacity_kbps),
            planned_capacity_kbps: core.plan.capacity_kbps(c.name()),
            load_kbps: c.load_kbps(),
            region_loads_kbps: c.region_loads().map(|(r, v)| (r.to_string(), v)).collect(),
            region_capacities_kbps: c
                .region_capacities()
                .map(|(r, v)| (r.to_string(), v))
                .collect(),
            coverage: core
                .model
                .regions()
                .iter()
                .map(|r| (r.to_string(), c.coverage(r.as_str())))
                .filter(|(_, v)| *v > 0)
                .collect(),
            feedback_age_secs: c.last_feedback().map(age),
            stale: feedback::is_stale(&core.model, c.name().as_str(), now, stale_after),
        })
        .collect();
    let customers = core
        .model
        .customers()
        .map(|c| CustomerView {
            name: c.name().to_string(),
            cdns: c.cdns().iter().map(ToString::to_string).collect(),
            dns: core.dns_names.for_customer(c.name().as_str()),
        })
        .collect();
    let mut regions: Vec<RegionView> = core
        .regions
        .iter()
        .map(|r| RegionView {
            name: r.name.to_string(),
            prefixes: r.prefixes.len(),
        })
        .collect();
    regions.push(RegionView {
        name: "DEFAULT".into(),
        prefixes: 0,
    });
    let plan = &core.plan;
    let groups = plan
        .groups()
        .iter()
        .enumerate()
        .map(|(g, group)| GroupView {
            coverage: group.coverage.to_string(),
            cdns: group.cdns.iter().map(ToString::to_string).collect(),
            customers: group.customers.iter().map(ToString::to_string).collect(),
            weights: plan
                .regions()
                .iter()
                .map(|r| {
                    let cell = plan.cell(g, r.as_str()).unwrap_or_default();
                    let w = cell.iter().map(|s| (s.cdn.to_string(), s.weight)).collect();
                    (r.to_string(), w)
                })
                .collect(),
        })
        .collect();
    let partners = core
        .partners
        .iter()
        .map(|(name, p)| PartnerView {
            name: name.to_string(),
            polled: p.polled,
            last_poll_ok_age_secs: p.last_ok.as_ref().map(|(t, _)| age(*t)),
            last_poll_error: p.last_error.as_ref().map(|(_, e)| e.clone()),
            last_poll_error_age_secs: p.last_error.as_ref().map(|(t, _)| age(*t)),
            polls_ok: p.polls_ok,
            polls_failed: p.polls_failed,
            alerts: p.alerts,
            last_alert: p.last_alert.as_ref().map(|(_, a)| a.clone()),
            last_alert_age_secs: p.last_alert.as_ref().map(|(t, _)| age(*t)),
        })
        .collect();
    StateView {
        generation: core.generation,
        uptime_secs: now.as_secs_f64(),
        cdns,
        customers,
        regions,
        plan: PlanView {
            mode: format!("{:?}", plan.mode()).to_lowercase(),
            unplaced_kbps: plan.unplaced_kbps(),
            groups,
        },
        partners,
        engines: Vec::new(),
    }
}
