//! The optimal mode: one linear program over every (group, region, CDN).
//!
//! Variables `x[g][r][c]` >= 0, kbit/s of group `g`'s demand in region `r` sent to CDN
//! `c` (only CDNs the group allows and that are usable there). Constraints: a cell gets
//! at most its demand; a CDN at most its capacity, in total and per region where known.
//! Objective: maximise `Σ (SERVE + coverage) · x`: serving a kbit/s is worth more than any
//! coverage gain (SERVE > 100), so the LP places as much demand as capacity allows, then
//! at the best coverage. Solved by microlp (pure Rust) through good_lp.

use std::panic::{AssertUnwindSafe, catch_unwind};

use good_lp::{Expression, ProblemVariables, Solution, SolverModel, Variable, microlp, variable};

use super::inputs::{Alloc, Inputs};
use crate::plan::Fallback;

/// Weight of serving a kbit/s at all, against at most 100 for coverage.
const SERVE: f64 = 1000.0;

/// Tie-breakers added to the coverage (an integer) of each variable: by CDN, by region
/// and by group; with [`STICKY`] they stay under one point of coverage. Without them equal gains (two groups wanting the same scarce CDN, one CDN
/// as good a choice in two regions) leave the LP many optima, and it jumps between them
/// on tiny input changes; with them the optimum is unique and moves continuously.
const TIE_CDN: f64 = 0.2;
const TIE_REGION: f64 = 0.05;
const TIE_GROUP: f64 = 0.05;

/// Bonus per unit of the previous plan's weight: among allocations within half a point
/// of coverage of each other, the LP keeps the one in force (hysteresis inside the LP;
/// the solver's own rounding otherwise flips near-equal optima from one call to the next).
const STICKY: f64 = 0.6;

/// The LP's allocation, kbit/s per `[group][region][cdn]`.
pub(crate) fn allocate(inp: &Inputs<'_>) -> Result<Alloc, Fallback> {
    // Solve in units of the largest figure, so the simplex sees numbers near 1.
    let scale = inp
        .demand
        .iter()
        .flatten()
        .chain(inp.cap.iter())
        .copied()
        .fold(1.0, f64::max);
    let mut vars = ProblemVariables::new();
    let mut xs: Vec<(usize, usize, usize, Variable)> = Vec::new();
    let mut objective = Expression::default();
    for (g, row) in inp.demand.iter().enumerate() {
        for (r, &d) in row.iter().enumerate() {
            if d <= 0.0 {
                continue;
            }
            for &c in &inp.members[g] {
                if !inp.usable[c][r] || inp.cap[c] <= 0.0 || inp.rcap[c][r] <= 0.0 {
                    continue;
                }
                let v = vars.add(variable().min(0.0).max(d / scale));
                let tie = TIE_CDN * c as f64 / inp.cdns.len() as f64
                    + TIE_REGION * r as f64 / inp.regions.len() as f64
                    + TIE_GROUP * g as f64 / inp.groups.len() as f64;
                let sticky = STICKY * inp.previous[g][r][c];
                objective.add_mul(SERVE + f64::from(inp.cov[c][r]) + tie + sticky, v);
                xs.push((g, r, c, v));
            }
        }
    }
    let mut alloc = inp.zero_alloc();
    if xs.is_empty() {
        return Ok(alloc);
    }

    let mut cell_sum = vec![vec![Expression::default(); inp.regions.len()]; inp.groups.len()];
    let mut cdn_sum = vec![Expression::default(); inp.cdns.len()];
    let mut cdn_region_sum = vec![vec![Expression::default(); inp.regions.len()]; inp.cdns.len()];
    for &(g, r, c, v) in &xs {
        cell_sum[g][r] += v;
        cdn_sum[c] += v;
        cdn_region_sum[c][r] += v;
    }
    let mut problem = vars.maximise(objective).using(microlp);
    for (g, row) in cell_sum.into_iter().enumerate() {
        for (r, e) in row.into_iter().enumerate() {
            if inp.demand[g][r] > 0.0 {
                problem = problem.with(e.leq(inp.demand[g][r] / scale));
            }
        }
    }
    for (c, e) in cdn_sum.into_iter().enumerate() {
        problem = problem.with(e.leq(inp.cap[c] / scale));
    }
    for (c, row) in cdn_region_sum.into_iter().enumerate() {
        for (r, e) in row.into_iter().enumerate() {
            if inp.rcap[c][r].is_finite() {
                problem = problem.with(e.leq(inp.rcap[c][r] / scale));
            }
        }
    }

    // microlp documents that it may panic on hard problems: a panic becomes a fallback.
    let solution = match catch_unwind(AssertUnwindSafe(|| problem.solve())) {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Err(Fallback::SolverFailed(e.to_string())),
        Err(_) => return Err(Fallback::SolverPanicked),
    };
    for (g, r, c, v) in xs {
        let value = solution.value(v) * scale;
        // Clip the simplex's rounding noise: tiny or negative values are 0.
        alloc[g][r][c] = if value > 1e-9 * scale { value } else { 0.0 };
    }
    Ok(alloc)
}
