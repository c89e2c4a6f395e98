//! From a [`Plan`] to the DNS engine's tables (spec §1): one coverage table per group
//! (`ADD CVG`, per region an action of weighted lookups, weights per-mille), one binding
//! per customer (`ADD CST`), and, for a plan that only moved weights, `UPDATE CVG`
//! statements. Printing them is the config crate's `Display for Transaction`.
//!
//! A region whose cell is empty (no CDN of the group available) is left out of the
//! group's coverage table: the engine then answers it as a region without an entry.

use std::collections::{BTreeMap, BTreeSet};

use broker_config::transaction::{
    Action, CoverageDef, CustomerBinding, Located, RegionDef, Statement, TableKind, Transaction,
    Weighted,
};
use broker_config::{DnsName, Name, Pos};

use crate::plan::{Group, Plan, Share, integer_weights};

fn at<T>(value: T) -> Located<T> {
    Located {
        pos: Pos::default(),
        value,
    }
}

/// A cell's action: integer weights (per-mille, sum 1000), zero weights left out, each
/// CDN's lookup from the plan. `None` for an empty cell.
pub fn action(plan: &Plan, shares: &[Share]) -> Option<Action> {
    let choices: Vec<Weighted> = integer_weights(shares)
        .into_iter()
        .filter(|&(_, w)| w > 0)
        .filter_map(|(cdn, weight)| {
            plan.lookups().get(&cdn).map(|l| Weighted {
                weight,
                lookup: l.clone(),
            })
        })
        .collect();
    (!choices.is_empty()).then_some(Action { choices })
}

/// The coverage table of group `g`: one entry per region with a non-empty cell.
pub fn coverage_def(plan: &Plan, g: usize) -> CoverageDef {
    let group = &plan.groups()[g];
    let entries = plan
        .regions()
        .iter()
        .zip(&plan.cells[g])
        .filter_map(|(region, shares)| action(plan, shares).map(|a| (at(region.clone()), a)))
        .collect();
    CoverageDef {
        name: group.coverage.clone(),
        entries,
    }
}

/// A whole new state for an engine: `RESET!`, then `ADD REG` for `regions` (the
/// region list; `DEFAULT` is the engine's own and is not added), `ADD CVG` per group,
/// `ADD CST` per customer.
pub fn full_transaction(plan: &Plan, regions: &[RegionDef]) -> Transaction {
    let mut statements = vec![at(Statement::Reset)];
    statements.extend(regions.iter().cloned().map(|r| at(Statement::AddRegion(r))));
    statements.extend(
        (0..plan.groups().len()).map(|g| at(Statement::AddCoverage(coverage_def(plan, g)))),
    );
    for group in plan.groups() {
        statements.extend(group.customers.iter().map(|c| at(bind(c, group))));
    }
    Transaction {
        epoch: None,
        statements,
    }
}

/// The statements that take an engine from `old`'s tables to `new`'s, regions aside:
/// `UPDATE CVG` for each cell whose integer action changed in a coverage table that
/// keeps its regions' presence; `ADD CVG` for a new table or one where a region appears
/// or disappears; `ADD CST` for new or moved customers; then `DEL CST` and `DEL CVG` for
/// what is gone. Empty when the engine would see no change.
pub fn update_transaction(old: &Plan, new: &Plan) -> Transaction {
    let old_groups: BTreeMap<&Name, usize> = old
        .groups()
        .iter()
        .enumerate()
        .map(|(g, x)| (&x.coverage, g))
        .collect();
    let mut adds = Vec::new();
    let mut updates = Vec::new();
    for (g, group) in new.groups().iter().enumerate() {
        let same_regions = old.regions() == new.regions();
        let updatable = old_groups
            .get(&group.coverage)
            .filter(|_| same_regions)
            .and_then(|&og| {
                let pairs: Vec<_> = old.cells[og]
                    .iter()
                    .zip(&new.cells[g])
                    .map(|(o, n)| (action(old, o), action(new, n)))
                    .collect();
                pairs
                    .iter()
                    .all(|(o, n)| o.is_some() == n.is_some())
                    .then_some(pairs)
            });
        match updatable {
            Some(pairs) => {
                for (region, (o, n)) in new.regions().iter().zip(pairs) {
                    if let Some(action) = n.filter(|n| o.as_ref() != Some(n)) {
                        updates.push(at(Statement::UpdateCoverage {
                            coverage: group.coverage.clone(),
                            region: at(region.clone()),
                            action,
                        }));
                    }
                }
            }
            None => adds.push(at(Statement::AddCoverage(coverage_def(new, g)))),
        }
    }
    let binding = |p: &Plan| -> BTreeMap<DnsName, Name> {
        p.groups()
            .iter()
            .flat_map(|g| g.customers.iter().map(|c| (c.clone(), g.coverage.clone())))
            .collect()
    };
    let (was, now) = (binding(old), binding(new));
    let mut statements = adds;
    statements.extend(updates);
    for group in new.groups() {
        for c in group
            .customers
            .iter()
            .filter(|c| was.get(*c) != Some(&group.coverage))
        {
            statements.push(at(bind(c, group)));
        }
    }
    for c in was.keys().filter(|c| !now.contains_key(*c)) {
        statements.push(at(Statement::Delete {
            name: c.to_string(),
            kind: TableKind::Customer,
        }));
    }
    let kept: BTreeSet<&Name> = new.groups().iter().map(|g| &g.coverage).collect();
    for name in old_groups.keys().filter(|n| !kept.contains(*n)) {
        statements.push(at(Statement::Delete {
            name: name.to_string(),
            kind: TableKind::Coverage,
        }));
    }
    Transaction {
        epoch: None,
        statements,
    }
}

fn bind(customer: &DnsName, group: &Group) -> Statement {
    Statement::AddCustomer(CustomerBinding {
        domain: customer.clone(),
        coverage: at(group.coverage.clone()),
    })
}
