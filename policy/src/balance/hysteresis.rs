//! Hysteresis: a new plan keeps the previous plan's weights for a cell unless some CDN's
//! weight would move by more than a threshold, or a CDN of the old cell went unavailable
//! or overloaded (that always shows at once), so that small load changes do not make the
//! DNS tables flap. State in (the previous plan), state out (the new one).
//!
//! Kept cells must not overload anyone: if keeping old weights would put a CDN past its
//! real capacity (the plan's usable capacity over its utilisation target), further than
//! the new plan itself does, the new plan is taken whole.

use crate::plan::{Plan, Share};

/// Slack for floating-point sums when comparing planned traffic to capacity, kbit/s.
const EPS_KBPS: f64 = 1e-6;

/// `candidate`, with each cell's previous weights kept where they are close (see the
/// module docs); `threshold` is in probability (0..1).
pub fn stabilise(previous: Option<&Plan>, candidate: Plan, threshold: f64) -> Plan {
    let Some(prev) = previous else {
        return candidate;
    };
    if prev.regions != candidate.regions
        || prev.groups != candidate.groups
        || prev.lookups != candidate.lookups
    {
        return candidate;
    }
    let mut stable = candidate.clone();
    let mut kept_any = false;
    for (g, row) in stable.cells.iter_mut().enumerate() {
        for (r, cell) in row.iter_mut().enumerate() {
            let old = &prev.cells[g][r];
            let region = &candidate.regions[r];
            let still_usable = old.iter().all(|s| {
                !candidate.is_unavailable(&s.cdn) && !candidate.is_overloaded(&s.cdn, Some(region))
            });
            if *cell != *old && still_usable && !old.is_empty() && close(old, cell, threshold) {
                cell.clone_from(old);
                kept_any = true;
            }
        }
    }
    if kept_any && overloads_more(&stable, &candidate) {
        return candidate;
    }
    stable
}

/// No CDN's weight differs by more than `threshold` (a CDN missing from one side has 0).
fn close(old: &[Share], new: &[Share], threshold: f64) -> bool {
    let weight = |cell: &[Share], cdn| {
        cell.iter()
            .find(|s| &s.cdn == cdn)
            .map_or(0.0, |s| s.weight)
    };
    old.iter()
        .chain(new)
        .all(|s| (weight(old, &s.cdn) - weight(new, &s.cdn)).abs() <= threshold)
}

/// True when `stable` puts some CDN past its real capacity, in total or in a region, by
/// more than `candidate` does.
fn overloads_more(stable: &Plan, candidate: &Plan) -> bool {
    let limit = |usable: f64| usable / stable.target_utilisation.max(1e-9);
    let (s, c) = (stable.planned_kbps(), candidate.planned_kbps());
    let total = s.iter().any(|(cdn, &load)| {
        let cand = c.get(cdn).copied().unwrap_or(0.0);
        load > limit(stable.capacity_kbps(cdn)) + EPS_KBPS && load > cand + EPS_KBPS
    });
    total
        || stable
            .region_capacity_kbps
            .iter()
            .any(|((cdn, region), &cap)| {
                let load = stable.planned_region_kbps(cdn, region.as_str());
                load > limit(cap) + EPS_KBPS
                    && load > candidate.planned_region_kbps(cdn, region.as_str()) + EPS_KBPS
            })
}
