//! The plan as the data path reads it: a [`LivePlan`] (the plan and the region table it
//! was made for) behind one atomic pointer, [`SharedPlan`]. The control component builds a
//! new one aside and swaps it in; a front proxy does one `load()` per request, then finds
//! the client's region and picks a CDN without locks.
//!
//! A pick is a hash of (client address, customer) placed on the cell's cumulative
//! weights: the same client keeps its CDN for a customer while the plan is unchanged (the
//! seed asks for this so that SSL sessions survive), while shares over many clients follow
//! the weights.
//!
//! The region table changes only when the region definitions do (a config reset), while
//! plans change with every alert: [`LivePlan::with_plan`] publishes a new plan over the
//! previous one's table (shared, not rebuilt), so a new plan costs the same at a million
//! prefixes as at ten.

use std::hash::{Hash as _, Hasher as _};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use broker_config::transaction::RegionDef;
use broker_config::{AgentFiles, DnsName, Name};

use crate::balance::{BalanceConfig, Demand, balance};
use crate::model::{Model, ModelError, default_region};
use crate::plan::{Plan, Share};
use crate::region_table::RegionTable;

/// The plan and the region table, published together so a pick never mixes generations.
#[derive(Debug)]
pub struct LivePlan {
    generation: u64,
    plan: Plan,
    regions: Arc<Regions>,
    default_region: Name,
}

/// The region table, shared by the plans published over the same region definitions.
#[derive(Debug)]
struct Regions {
    /// Longest-prefix match to an index into `names`.
    table: RegionTable<u32>,
    names: Vec<Name>,
}

/// The shared handle: writers `store` a new `Arc<LivePlan>`, readers `load()`.
pub type SharedPlan = Arc<ArcSwap<LivePlan>>;

/// A CDN picked for one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pick<'a> {
    /// The client's region (`DEFAULT` when no prefix holds its address).
    pub region: &'a Name,
    /// The CDN, or `None` when the customer is unknown or its cell is empty (every CDN
    /// it allows is unavailable there).
    pub cdn: Option<&'a Name>,
}

impl LivePlan {
    /// Publishes `plan` with the region table built from `regions` (spec §2 definitions).
    /// A prefix listed under two regions goes to the later one, as in the DNS engine.
    pub fn new(generation: u64, plan: Plan, regions: &[RegionDef]) -> Self {
        let mut table = RegionTable::new();
        let mut names: Vec<Name> = Vec::with_capacity(regions.len());
        for def in regions {
            let id = match names.iter().position(|n| *n == def.name) {
                Some(i) => i,
                None => {
                    names.push(def.name.clone());
                    names.len() - 1
                }
            };
            for net in &def.prefixes {
                table.insert(*net, id as u32);
            }
        }
        Self {
            generation,
            plan,
            regions: Arc::new(Regions { table, names }),
            default_region: default_region(),
        }
    }

    /// Publishes `plan` over this plan's region table, shared: for a plan made for the
    /// same region definitions (the caller knows; they change only on a config reset).
    pub fn with_plan(&self, generation: u64, plan: Plan) -> Self {
        Self {
            generation,
            plan,
            regions: Arc::clone(&self.regions),
            default_region: self.default_region.clone(),
        }
    }

    /// True when `self` and `other` read one region table (not two equal copies).
    pub fn shares_regions_with(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.regions, &other.regions)
    }

    /// The plan the seed's algorithm makes from the three spec §2 files with no load
    /// reported yet (default balance settings), with the files' regions: what a front
    /// proxy runs on when no control component shares its process.
    pub fn from_agent_files(files: &AgentFiles) -> Result<Self, ModelError> {
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
        Ok(Self::new(1, plan, &regions))
    }

    /// A plan that knows no customer: every pick is "none", so pages keep their URLs.
    pub fn serve_all_ourselves() -> Self {
        let plan = balance(
            &Model::new(),
            &Demand::new(),
            &BalanceConfig::default(),
            Duration::ZERO,
            None,
        );
        Self::new(0, plan, &[])
    }

    /// Wraps `self` as a fresh shared handle.
    pub fn shared(self) -> SharedPlan {
        Arc::new(ArcSwap::from_pointee(self))
    }

    /// Increases with every plan the control component publishes.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The plan.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The region of `client` by longest-prefix match, `DEFAULT` for the rest.
    pub fn region_of(&self, client: IpAddr) -> &Name {
        match self.regions.table.lookup(client) {
            Some(m) => &self.regions.names[m.region as usize],
            None => &self.default_region,
        }
    }

    /// The shares for `customer` in `region`; a region the plan has no cell for falls
    /// back to `DEFAULT`'s cell.
    pub fn shares(&self, customer: &DnsName, region: &str) -> Option<&[Share]> {
        self.plan
            .weights(customer, region)
            .or_else(|| self.plan.weights(customer, self.default_region.as_str()))
    }

    /// Picks a CDN for `customer` and `client`: stable for that pair while the plan is
    /// unchanged, spread over clients by the weights.
    pub fn pick(&self, customer: &DnsName, client: IpAddr) -> Pick<'_> {
        let region = self.region_of(client);
        let cdn = self
            .shares(customer, region.as_str())
            .and_then(|shares| pick_share(shares, draw(customer, client)));
        Pick { region, cdn }
    }
}

/// A point in [0, 1) from the pair, fixed for a build (SipHash with zero keys).
fn draw(customer: &DnsName, client: IpAddr) -> f64 {
    let mut h = std::hash::DefaultHasher::new();
    client.hash(&mut h);
    customer.as_str().hash(&mut h);
    // 53 high bits make an exact f64 in [0, 1).
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// The share whose cumulative weight interval holds `x`.
fn pick_share(shares: &[Share], x: f64) -> Option<&Name> {
    let total: f64 = shares.iter().map(|s| s.weight).sum();
    let mut at = x * total;
    for s in shares {
        if at < s.weight {
            return Some(&s.cdn);
        }
        at -= s.weight;
    }
    shares.last().map(|s| &s.cdn)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live() -> LivePlan {
        let files = AgentFiles::parse(
            "ADD REG FRANCE { 198.54.234.0, 23; 2001:db8::,32; }!",
            "ADD CDN C:400000 {A:192.0.2.10} [ FRANCE:90; DEFAULT:90; ]!
             ADD CDN G:100000 {A:198.51.100.7} [ FRANCE:90; DEFAULT:90; ]!",
            "ADD CST img.xyz.com [ C; G; ]!",
        )
        .unwrap();
        LivePlan::from_agent_files(&files).unwrap()
    }

    #[test]
    fn regions_by_longest_prefix_and_default() {
        let live = live();
        assert_eq!(
            live.region_of("198.54.235.1".parse().unwrap()).as_str(),
            "FRANCE"
        );
        assert_eq!(
            live.region_of("2001:db8::1".parse().unwrap()).as_str(),
            "FRANCE"
        );
        assert_eq!(
            live.region_of("10.1.2.3".parse().unwrap()).as_str(),
            "DEFAULT"
        );
    }

    #[test]
    fn picks_are_stable_and_follow_weights() {
        let live = live();
        let customer = DnsName::new("img.xyz.com").unwrap();
        let shares = live.shares(&customer, "FRANCE").unwrap().to_vec();
        let c_weight = shares
            .iter()
            .find(|s| s.cdn.as_str() == "C")
            .unwrap()
            .weight;
        let mut to_c = 0u32;
        let n = 20_000u32;
        for i in 0..n {
            let client = IpAddr::from([198, 54, 234 + (i >> 8 & 1) as u8, i as u8]);
            let client = if i >= 512 {
                IpAddr::from(std::net::Ipv6Addr::from(
                    (0x2001_0db8_u128 << 96) | u128::from(i),
                ))
            } else {
                client
            };
            let first = live.pick(&customer, client);
            assert_eq!(first.region.as_str(), "FRANCE");
            assert_eq!(first, live.pick(&customer, client), "stable per client");
            to_c += u32::from(first.cdn.unwrap().as_str() == "C");
        }
        let share = f64::from(to_c) / f64::from(n);
        assert!(
            (share - c_weight).abs() < 0.02,
            "C got {share}, planned {c_weight}"
        );
    }

    #[test]
    fn a_new_plan_over_the_same_regions_shares_the_table_and_picks_alike() {
        let first = live();
        let next = first.with_plan(2, first.plan().clone());
        assert_eq!(next.generation(), 2);
        assert!(next.shares_regions_with(&first));
        // A table built anew from the same definitions is another table, same answers.
        let rebuilt = live();
        assert!(!rebuilt.shares_regions_with(&first));
        let customer = DnsName::new("img.xyz.com").unwrap();
        let mut in_france = 0;
        for i in 0..2_000u32 {
            // 198.54.234.0/23 and the addresses around it, then IPv6 in and out of 2001:db8::/32.
            let client = if i < 1_000 {
                IpAddr::from(std::net::Ipv4Addr::from(0xC636_E900 + i))
            } else {
                IpAddr::from(std::net::Ipv6Addr::from(
                    (0x2001_0db8_u128 << 96) + (u128::from(i) << 90),
                ))
            };
            let pick = next.pick(&customer, client);
            assert_eq!(pick, rebuilt.pick(&customer, client));
            assert!(pick.cdn.is_some());
            in_france += u32::from(pick.region.as_str() == "FRANCE");
        }
        assert!((500..2_000).contains(&in_france), "{in_france} in FRANCE");
    }

    #[test]
    fn unknown_customer_has_no_pick() {
        let live = live();
        let other = DnsName::new("www.other.com").unwrap();
        assert_eq!(live.pick(&other, "10.0.0.1".parse().unwrap()).cdn, None);
    }
}
