//! The load-balancing algorithm: from the model and a demand estimate to a [`Plan`].
//!
//! Entry point: [`balance`]. Both modes share the same view of the CDNs (`inputs`): a
//! CDN that said `Unavailable` gets weight 0 everywhere; in seed mode one whose load
//! reached its capacity (in total or in a region) is dropped there until its load falls
//! under `recover_below` of capacity (in optimal mode its usable capacity is scaled by
//! capacity/load instead, which the LP respects); one whose feedback is older than
//! `stale_after` is trusted less and less (its capacity halves at once, then every
//! `stale_half_life`) and its old load figures are not believed either way. Plans use at
//! most `target_utilisation` of each capacity. Then [`Mode::Seed`] runs the seed's steps
//! and [`Mode::Optimal`] an LP; cells with no demand get weights in proportion to the
//! headroom left; last comes [`hysteresis::stabilise`] against the previous plan.
//!
//! ```
//! use std::time::Duration;
//! use broker_config::{AgentFiles, Name};
//! use broker_policy::balance::{BalanceConfig, Demand, balance};
//! use broker_policy::dns_tables::full_transaction;
//! use broker_policy::model::Model;
//!
//! let files = AgentFiles::parse(
//!     "ADD REG FRANCE { 198.54.234.0, 23; }!",
//!     "ADD CDN C:400000 {A:192.0.2.10} [ FRANCE:90; ]!
//!      ADD CDN G:100000 {N:(ns1.cdn-g.example 198.51.100.53)} [ FRANCE:60; ]!",
//!     "ADD CST img.xyz.com [ C; G; ]!",
//! )
//! .unwrap();
//! let model = Model::from_agent_files(&files).unwrap();
//! let mut demand = Demand::new();
//! demand.set_region_kbps(Name::new("FRANCE").unwrap(), 450_000.0);
//! let plan = balance(&model, &demand, &BalanceConfig::default(), Duration::ZERO, None);
//! // C can take 0.9 × 400000 = 360000: the rest spills to G.
//! let shares = plan.cell(0, "FRANCE").unwrap();
//! assert_eq!(shares.len(), 2);
//! let regions: Vec<_> = files.regions.regions.iter().map(|r| r.value.clone()).collect();
//! let tx = full_transaction(&plan, &regions);
//! assert!(tx.to_string().contains("ADD CST img.xyz.com"));
//! ```

pub mod demand;
pub mod hysteresis;
mod inputs;
mod optimal;
mod seed;

use std::time::Duration;

pub use demand::{Demand, ResolutionCount};

use crate::model::Model;
use crate::plan::{Fallback, Mode, Plan, Share};
use inputs::{Alloc, Inputs};
use seed::Headroom;

/// Tuning of the algorithm; [`Default`] gives the values the simulator measured.
#[derive(Clone, Debug, PartialEq)]
pub struct BalanceConfig {
    /// Seed or optimal.
    pub mode: Mode,
    /// Coverage at or above this is "good" (seed mode), 0..=100.
    pub good_coverage: u8,
    /// Share of each capacity a plan may use (room for estimate errors), 0..=1.
    pub target_utilisation: f64,
    /// An overloaded CDN comes back once its load is under this share of its capacity.
    pub recover_below: f64,
    /// Feedback older than this is stale.
    pub stale_after: Duration,
    /// A stale CDN's usable capacity halves on going stale, then again every this long
    /// (whole steps, so that a silent partner changes the plan once per step).
    pub stale_half_life: Duration,
    /// Weight moves up to this much (0..1) are ignored (hysteresis).
    pub hysteresis: f64,
}

impl Default for BalanceConfig {
    fn default() -> Self {
        Self {
            mode: Mode::Seed,
            good_coverage: 50,
            target_utilisation: 0.9,
            recover_below: 0.8,
            stale_after: Duration::from_secs(120),
            stale_half_life: Duration::from_secs(60),
            hysteresis: 0.05,
        }
    }
}

/// Makes the plan for `model` under `demand` at time `now`; `previous` is the plan in
/// force (for overload and weight hysteresis), `None` at start. Never fails: when the
/// optimal mode's solver fails, the plan is the seed's and says why ([`Plan::fallback`]).
pub fn balance(
    model: &Model,
    demand: &Demand,
    cfg: &BalanceConfig,
    now: Duration,
    previous: Option<&Plan>,
) -> Plan {
    let inp = Inputs::new(model, demand, cfg, now, previous);
    let (alloc, fallback) = match cfg.mode {
        Mode::Seed => (seed::allocate(&inp), None),
        Mode::Optimal => match optimal::allocate(&inp) {
            Ok(a) => (a, None),
            Err(e) => (seed::allocate(&inp), Some(e)),
        },
    };
    let candidate = into_plan(&inp, &alloc, fallback);
    hysteresis::stabilise(previous, candidate, cfg.hysteresis)
}

/// Turns an allocation into weights; cells with nothing allocated fall back to headroom.
fn into_plan(inp: &Inputs<'_>, alloc: &Alloc, fallback: Option<Fallback>) -> Plan {
    let head = Headroom::left_by(inp, alloc);
    let mut unplaced = 0.0;
    let mut cells = Vec::with_capacity(inp.groups.len());
    for (g, row) in alloc.iter().enumerate() {
        let mut out_row = Vec::with_capacity(inp.regions.len());
        for (r, cell) in row.iter().enumerate() {
            let placed: f64 = cell.iter().sum();
            unplaced += (inp.demand[g][r] - placed).max(0.0);
            let raw: Vec<(usize, f64)> = if placed > 0.0 {
                cell.iter().copied().enumerate().collect()
            } else {
                idle_weights(inp, &head, g, r)
            };
            out_row.push(normalised(inp, &raw));
        }
        cells.push(out_row);
    }
    let mut region_capacity = std::collections::BTreeMap::new();
    for (c, cdn) in inp.cdns.iter().enumerate() {
        for (r, region) in inp.regions.iter().enumerate() {
            if inp.rcap[c][r].is_finite() {
                region_capacity.insert((cdn.name().clone(), region.clone()), inp.rcap[c][r]);
            }
        }
    }
    Plan {
        mode: if fallback.is_some() {
            Mode::Seed
        } else {
            inp.cfg.mode
        },
        regions: inp.regions.clone(),
        groups: inp.groups.clone(),
        cells,
        demand_kbps: inp.demand.clone(),
        lookups: inp
            .cdns
            .iter()
            .map(|c| (c.name().clone(), c.lookup().clone()))
            .collect(),
        capacity_kbps: inp
            .cdns
            .iter()
            .zip(&inp.cap)
            .map(|(c, &v)| (c.name().clone(), v))
            .collect(),
        region_capacity_kbps: region_capacity,
        overloaded: inp.overloaded.clone(),
        unavailable: inp
            .cdns
            .iter()
            .zip(&inp.available)
            .filter(|&(_, &a)| !a)
            .map(|(c, _)| c.name().clone())
            .collect(),
        target_utilisation: inp.cfg.target_utilisation,
        unplaced_kbps: unplaced,
        fallback,
    }
}

/// Which CDNs (by index) an idle-cell rule admits.
type Filter<'a> = &'a dyn Fn(usize) -> bool;
/// The raw weight an idle-cell rule gives a CDN.
type Weigh<'a> = &'a dyn Fn(usize) -> f64;

/// Weights of a cell with nothing allocated (no demand, or no headroom anywhere), first
/// rule that gives a positive sum: good-coverage CDNs by headroom; any usable CDN by
/// headroom; usable CDNs by capacity, then equally; available (even overloaded) CDNs by
/// capacity, then equally, since an answer to a slow CDN beats no answer. Unavailable
/// CDNs never get weight; with none left the cell is empty.
fn idle_weights(inp: &Inputs<'_>, head: &Headroom, g: usize, r: usize) -> Vec<(usize, f64)> {
    let members = &inp.members[g];
    let pick = |ok: &dyn Fn(usize) -> bool, w: &dyn Fn(usize) -> f64| -> Vec<(usize, f64)> {
        members
            .iter()
            .copied()
            .filter(|&c| ok(c))
            .map(|c| (c, w(c)))
            .collect()
    };
    let rules: [(Filter<'_>, Weigh<'_>); 6] = [
        (&|c| inp.usable[c][r] && inp.good(c, r), &|c| head.of(c, r)),
        (&|c| inp.usable[c][r], &|c| head.of(c, r)),
        (&|c| inp.usable[c][r], &|c| inp.cap[c].min(inp.rcap[c][r])),
        (&|c| inp.usable[c][r], &|_| 1.0),
        (&|c| inp.available[c], &|c| {
            inp.cdns[c].capacity_kbps() as f64
        }),
        (&|c| inp.available[c], &|_| 1.0),
    ];
    for (ok, w) in rules {
        let v = pick(ok, w);
        if v.iter().map(|(_, w)| w).sum::<f64>() > 0.0 {
            return v;
        }
    }
    Vec::new()
}

/// Positive weights scaled to sum to 1, by CDN name (indices are in name order).
fn normalised(inp: &Inputs<'_>, raw: &[(usize, f64)]) -> Vec<Share> {
    let total: f64 = raw
        .iter()
        .map(|&(_, w)| w.max(0.0))
        .filter(|w| w.is_finite())
        .sum();
    if total <= 0.0 || !total.is_finite() {
        return Vec::new();
    }
    raw.iter()
        .filter(|&&(_, w)| w > 0.0 && w.is_finite())
        .map(|&(c, w)| Share {
            cdn: inp.cdns[c].name().clone(),
            weight: w / total,
        })
        .collect()
}
