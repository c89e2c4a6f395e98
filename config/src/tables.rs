//! The DNS engine's three tables (spec §1) as plain data, and the semantics of applying a
//! transaction to them.
//!
//! [`Tables::apply`] runs the statements in order, each seeing the effect of those before
//! it, and commits all of them or none. The DNS engine compiles the result into its query
//! snapshot; `cdnbroker check` checks a transaction as `Tables::default().apply(&tx)`.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use ipnet::IpNet;

use crate::error::{ParseError, Pos};
use crate::name::{DnsName, Name};
use crate::prefix_hash::PrefixHash;
use crate::transaction::{
    Action, CoverageDef, CustomerBinding, DEFAULT_REGION, Located, RegionDef, Statement, TableKind,
    Transaction,
};

/// The per-region actions of one coverage, in the order they were written.
pub type CoverageEntries = Vec<(Name, Action)>;

/// Regions, coverages and customer bindings, consistent with one another: every region a
/// coverage names exists (or is `DEFAULT`), every coverage a customer names exists, and no
/// prefix belongs to two regions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tables {
    /// Shared so that a transaction that leaves the (possibly huge) region table alone
    /// does not copy it.
    regions: Arc<RegionTable>,
    coverages: BTreeMap<Name, CoverageEntries>,
    customers: BTreeMap<DnsName, Name>,
}

#[derive(Clone, Debug, Default)]
struct RegionTable {
    by_name: BTreeMap<Name, Vec<IpNet>>,
    /// Which region holds each prefix, to refuse a prefix in two regions. Regions are
    /// numbered so that a million-entry index holds no strings.
    owner: HashMap<IpNet, RegionId, PrefixHash>,
    ids: HashMap<Name, RegionId>,
    names: HashMap<RegionId, Name>,
    next_id: RegionId,
}

type RegionId = u32;

/// Two tables are equal when they hold the same regions; ids and the index follow.
impl PartialEq for RegionTable {
    fn eq(&self, other: &Self) -> bool {
        self.by_name == other.by_name
    }
}

impl Eq for RegionTable {}

impl RegionTable {
    /// Removes a region's prefixes (its id stays, for an `ADD` that replaces it).
    fn remove_prefixes(&mut self, name: &str) {
        if let Some(old) = self.by_name.remove(name) {
            for net in &old {
                self.owner.remove(net);
            }
        }
    }

    fn id_of(&mut self, name: &Name) -> RegionId {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.next_id;
        self.next_id += 1;
        self.ids.insert(name.clone(), id);
        self.names.insert(id, name.clone());
        id
    }

    fn forget(&mut self, name: &str) {
        self.remove_prefixes(name);
        if let Some(id) = self.ids.remove(name) {
            self.names.remove(&id);
        }
    }
}

impl Tables {
    /// Empty tables: the engine's state right after start-up.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every region and its prefixes (`DEFAULT` is implicit and never listed).
    pub fn regions(&self) -> &BTreeMap<Name, Vec<IpNet>> {
        &self.regions.by_name
    }

    /// Every coverage and its per-region actions.
    pub fn coverages(&self) -> &BTreeMap<Name, CoverageEntries> {
        &self.coverages
    }

    /// Every bound DNS name and the coverage it uses.
    pub fn customers(&self) -> &BTreeMap<DnsName, Name> {
        &self.customers
    }

    /// The region that holds exactly this prefix, if any.
    pub fn region_of_prefix(&self, net: &IpNet) -> Option<&Name> {
        let id = self.regions.owner.get(net)?;
        self.regions.names.get(id)
    }

    /// True when `self` and `other` hold the same regions and prefixes: at once when one
    /// is a copy of the other that no statement changed a region of (the region table is
    /// shared), else by comparing them. A compiled region index of one serves the other.
    pub fn same_regions(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.regions, &other.regions) || self.regions == other.regions
    }

    /// True when no table holds anything.
    pub fn is_empty(&self) -> bool {
        self.regions.by_name.is_empty() && self.coverages.is_empty() && self.customers.is_empty()
    }

    /// Applies every statement of `tx` in order; on the first error nothing changes and
    /// the error names the offending statement or entry.
    pub fn apply(&mut self, tx: &Transaction) -> Result<(), ParseError> {
        let mut next = self.clone();
        for st in &tx.statements {
            next.apply_statement(st)?;
        }
        *self = next;
        Ok(())
    }

    /// A transaction that rebuilds these tables from empty ones: `RESET!`, then every
    /// region, coverage and customer.
    pub fn to_transaction(&self) -> Transaction {
        let at = |value| Located {
            pos: Pos::default(),
            value,
        };
        let mut statements = vec![at(Statement::Reset)];
        statements.extend(self.regions.by_name.iter().map(|(name, prefixes)| {
            at(Statement::AddRegion(RegionDef {
                name: name.clone(),
                prefixes: prefixes.clone(),
            }))
        }));
        statements.extend(self.coverages.iter().map(|(name, entries)| {
            at(Statement::AddCoverage(CoverageDef {
                name: name.clone(),
                entries: entries
                    .iter()
                    .map(|(region, action)| (at_default(region.clone()), action.clone()))
                    .collect(),
            }))
        }));
        statements.extend(self.customers.iter().map(|(domain, coverage)| {
            at(Statement::AddCustomer(CustomerBinding {
                domain: domain.clone(),
                coverage: at_default(coverage.clone()),
            }))
        }));
        Transaction {
            epoch: None,
            statements,
        }
    }

    fn apply_statement(&mut self, st: &Located<Statement>) -> Result<(), ParseError> {
        let pos = st.pos;
        match &st.value {
            Statement::AddRegion(def) => self.add_region(pos, def),
            Statement::AddCoverage(def) => {
                for (region, _) in &def.entries {
                    self.check_region_exists(region)?;
                }
                let entries = def
                    .entries
                    .iter()
                    .map(|(region, action)| (region.value.clone(), action.clone()))
                    .collect();
                self.coverages.insert(def.name.clone(), entries);
                Ok(())
            }
            Statement::AddCustomer(binding) => {
                let coverage = &binding.coverage;
                if !self.coverages.contains_key(&coverage.value) {
                    return Err(ParseError::new(
                        coverage.pos,
                        format!("unknown coverage {}", coverage.value),
                    ));
                }
                self.customers
                    .insert(binding.domain.clone(), coverage.value.clone());
                Ok(())
            }
            Statement::UpdateCoverage {
                coverage,
                region,
                action,
            } => {
                self.check_region_exists(region)?;
                let entries = self
                    .coverages
                    .get_mut(coverage)
                    .ok_or_else(|| ParseError::new(pos, format!("unknown coverage {coverage}")))?;
                match entries.iter_mut().find(|(r, _)| *r == region.value) {
                    Some((_, old)) => *old = action.clone(),
                    None => entries.push((region.value.clone(), action.clone())),
                }
                Ok(())
            }
            Statement::Delete { name, kind } => self.delete(pos, name, *kind),
            Statement::Reset => {
                *self = Self::default();
                Ok(())
            }
        }
    }

    fn add_region(&mut self, pos: Pos, def: &RegionDef) -> Result<(), ParseError> {
        if def.name.as_str() == DEFAULT_REGION {
            return Err(reserved(pos));
        }
        let regions = Arc::make_mut(&mut self.regions);
        regions.remove_prefixes(def.name.as_str());
        let id = regions.id_of(&def.name);
        regions.owner.reserve(def.prefixes.len());
        for net in &def.prefixes {
            match regions.owner.entry(*net) {
                Entry::Occupied(e) if *e.get() == id => {
                    return Err(ParseError::new(
                        pos,
                        format!("prefix {net} appears twice in region {}", def.name),
                    ));
                }
                Entry::Occupied(e) => {
                    let other = regions.names.get(e.get()).map_or("?", Name::as_str);
                    return Err(ParseError::new(
                        pos,
                        format!(
                            "prefix {net} of region {} is already in region {other}",
                            def.name
                        ),
                    ));
                }
                Entry::Vacant(e) => {
                    e.insert(id);
                }
            }
        }
        regions
            .by_name
            .insert(def.name.clone(), def.prefixes.clone());
        Ok(())
    }

    fn check_region_exists(&self, region: &Located<Name>) -> Result<(), ParseError> {
        if region.value.as_str() == DEFAULT_REGION
            || self.regions.by_name.contains_key(&region.value)
        {
            Ok(())
        } else {
            Err(ParseError::new(
                region.pos,
                format!("unknown region {}", region.value),
            ))
        }
    }

    fn delete(&mut self, pos: Pos, name: &str, kind: TableKind) -> Result<(), ParseError> {
        match kind {
            TableKind::Region => {
                if name == DEFAULT_REGION {
                    return Err(reserved(pos));
                }
                if !self.regions.by_name.contains_key(name) {
                    return Err(ParseError::new(pos, format!("no region {name} to delete")));
                }
                if let Some((coverage, _)) = self
                    .coverages
                    .iter()
                    .find(|(_, entries)| entries.iter().any(|(r, _)| r.as_str() == name))
                {
                    return Err(ParseError::new(
                        pos,
                        format!("region {name} is still used by coverage {coverage}"),
                    ));
                }
                Arc::make_mut(&mut self.regions).forget(name);
            }
            TableKind::Coverage => {
                if !self.coverages.contains_key(name) {
                    return Err(ParseError::new(
                        pos,
                        format!("no coverage {name} to delete"),
                    ));
                }
                if let Some((domain, _)) = self.customers.iter().find(|(_, c)| c.as_str() == name) {
                    return Err(ParseError::new(
                        pos,
                        format!("coverage {name} is still used by customer {domain}"),
                    ));
                }
                self.coverages.remove(name);
            }
            TableKind::Customer => {
                let removed = DnsName::new(name)
                    .ok()
                    .and_then(|domain| self.customers.remove(&domain));
                if removed.is_none() {
                    return Err(ParseError::new(
                        pos,
                        format!("no customer {name} to delete"),
                    ));
                }
            }
        }
        Ok(())
    }
}

fn reserved(pos: Pos) -> ParseError {
    ParseError::new(
        pos,
        format!(
            "region name {DEFAULT_REGION} is reserved (it holds every address no region holds)"
        ),
    )
}

fn at_default<T>(value: T) -> Located<T> {
    Located {
        pos: Pos::default(),
        value,
    }
}

#[cfg(test)]
mod tests;
