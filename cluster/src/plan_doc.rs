//! The published plan (spec §8): the JSON document under `<prefix>/plan` that every
//! proxy and edge of the CDN follows. `etcdctl get <prefix>/plan` shows it; its fields:
//!
//! ```json
//! { "epoch": 7, "generation": 12,
//!   "regions": { "digest": "…-1234", "chunks": 1 },
//!   "routing_generation": 1, "routing": "[node]\nname = \"C\"\n[[partner]]…",
//!   "plan": { "mode": "seed", "regions": ["DEFAULT", "FRANCE"],
//!             "groups": [ { "coverage": "cvg-C-G", "cdns": ["C", "G"],
//!                           "customers": ["img.xyz.com"],
//!                           "weights": { "FRANCE": [ {"cdn": "C", "weight": 0.7}, … ] },
//!                           "demand_kbps": { "FRANCE": 1200.0 } } ],
//!             "lookups": { "C": "A:192.0.2.10", "G": "N:(ns1.cdn-g.example 198.51.100.53)" },
//!             … } }
//! ```
//!
//! The region table is not in the document: it is a blob ([`crate::blobs`]) named by its
//! digest, written only when the regions change, so a plan of a million-prefix CDN is a
//! few kilobytes. The routing tables are the deployment file's own TOML (partners' URL
//! forms, customers' sites, offload hosts and origins, without credentials).

use std::collections::{BTreeMap, BTreeSet};

use broker_config::deploy::{Customer, Deployment, Partner};
use broker_config::lexer::{Lexer, TokenKind};
use broker_config::lookup_codec::parse_lookup;
use broker_config::transaction::{Located, Lookup, RegionDef};
use broker_config::{DnsName, Name, Pos, RegionsFile};
use broker_policy::plan::{Group, Mode, Plan, Share};
use broker_policy::plan_parts::PlanParts;
use serde::{Deserialize, Serialize};

use crate::blobs::BlobRef;

/// The document under `<prefix>/plan`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanDoc {
    /// The leadership that published it.
    pub epoch: u64,
    /// The plan's generation (grows across leaders too).
    pub generation: u64,
    /// The region definitions the plan's region names stand for.
    pub regions: BlobRef,
    /// The routing tables' generation.
    pub routing_generation: u64,
    /// The routing tables, as deployment TOML.
    pub routing: String,
    /// The plan.
    pub plan: PlanJson,
}

/// A [`Plan`] in JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanJson {
    /// `seed` or `optimal`.
    pub mode: String,
    /// Region names, sorted.
    pub regions: Vec<String>,
    /// The groups with their weights.
    pub groups: Vec<GroupJson>,
    /// Per CDN, its §1 lookup.
    pub lookups: BTreeMap<String, String>,
    /// Per CDN, the capacity the plan may use, kbit/s.
    #[serde(default)]
    pub capacity_kbps: BTreeMap<String, f64>,
    /// Per CDN and region, where known.
    #[serde(default)]
    pub region_capacity_kbps: Vec<RegionCapacity>,
    /// Overloads acted on.
    #[serde(default)]
    pub overloaded: Vec<Overload>,
    /// CDNs that said `Unavailable`.
    #[serde(default)]
    pub unavailable: Vec<String>,
    /// The share of capacity aimed at.
    #[serde(default)]
    pub target_utilisation: f64,
    /// Demand not placed within capacity, kbit/s.
    #[serde(default)]
    pub unplaced_kbps: f64,
    /// Why the optimal mode fell back, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
}

/// One group (coverage table).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupJson {
    /// Its coverage table's name.
    pub coverage: String,
    /// The CDNs it may use.
    pub cdns: Vec<String>,
    /// Its customers.
    pub customers: Vec<String>,
    /// Per region, the shares (an empty list: no CDN there).
    pub weights: BTreeMap<String, Vec<ShareJson>>,
    /// Per region, the demand the plan was made for, kbit/s.
    #[serde(default)]
    pub demand_kbps: BTreeMap<String, f64>,
}

/// One CDN's share of a cell.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShareJson {
    /// The CDN.
    pub cdn: String,
    /// Its probability.
    pub weight: f64,
}

/// A capacity known for one CDN in one region.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegionCapacity {
    /// The CDN.
    pub cdn: String,
    /// The region.
    pub region: String,
    /// kbit/s.
    pub kbps: f64,
}

/// An overload acted on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Overload {
    /// The CDN.
    pub cdn: String,
    /// The region, or none for its total.
    pub region: Option<String>,
}

impl PlanJson {
    /// `plan` as JSON.
    pub fn of(plan: &Plan) -> Self {
        let p = plan.to_parts();
        let name = |n: &Name| n.to_string();
        let groups = p
            .groups
            .iter()
            .enumerate()
            .map(|(g, group)| GroupJson {
                coverage: name(&group.coverage),
                cdns: group.cdns.iter().map(name).collect(),
                customers: group.customers.iter().map(ToString::to_string).collect(),
                weights: p
                    .regions
                    .iter()
                    .zip(&p.cells[g])
                    .map(|(r, shares)| {
                        let shares = shares
                            .iter()
                            .map(|s| ShareJson {
                                cdn: name(&s.cdn),
                                weight: s.weight,
                            })
                            .collect();
                        (name(r), shares)
                    })
                    .collect(),
                demand_kbps: p
                    .regions
                    .iter()
                    .zip(&p.demand_kbps[g])
                    .map(|(r, d)| (name(r), *d))
                    .collect(),
            })
            .collect();
        Self {
            mode: match p.mode {
                Mode::Seed => "seed",
                Mode::Optimal => "optimal",
            }
            .to_owned(),
            regions: p.regions.iter().map(name).collect(),
            groups,
            lookups: p
                .lookups
                .iter()
                .map(|(c, l)| (name(c), l.to_string()))
                .collect(),
            capacity_kbps: p.capacity_kbps.iter().map(|(c, k)| (name(c), *k)).collect(),
            region_capacity_kbps: p
                .region_capacity_kbps
                .iter()
                .map(|((c, r), k)| RegionCapacity {
                    cdn: name(c),
                    region: name(r),
                    kbps: *k,
                })
                .collect(),
            overloaded: p
                .overloaded
                .iter()
                .map(|(c, r)| Overload {
                    cdn: name(c),
                    region: r.as_ref().map(name),
                })
                .collect(),
            unavailable: p.unavailable.iter().map(name).collect(),
            target_utilisation: p.target_utilisation,
            unplaced_kbps: p.unplaced_kbps,
            fallback: p.fallback,
        }
    }

    /// The plan back, every name, lookup and weight checked.
    pub fn to_plan(&self) -> Result<Plan, String> {
        let name = |s: &str| Name::new(s).map_err(|e| format!("{s:?}: {e}"));
        let regions: Vec<Name> = self
            .regions
            .iter()
            .map(|r| name(r))
            .collect::<Result<_, _>>()?;
        let mut groups = Vec::new();
        let mut cells = Vec::new();
        let mut demand = Vec::new();
        for g in &self.groups {
            groups.push(Group {
                coverage: name(&g.coverage)?,
                cdns: g.cdns.iter().map(|c| name(c)).collect::<Result<_, _>>()?,
                customers: g
                    .customers
                    .iter()
                    .map(|c| DnsName::new(c).map_err(|e| format!("{c:?}: {e}")))
                    .collect::<Result<_, _>>()?,
            });
            let mut row = Vec::new();
            let mut drow = Vec::new();
            for r in &self.regions {
                let shares = g.weights.get(r).map_or(&[][..], Vec::as_slice);
                row.push(
                    shares
                        .iter()
                        .map(|s| {
                            Ok(Share {
                                cdn: name(&s.cdn)?,
                                weight: s.weight,
                            })
                        })
                        .collect::<Result<Vec<_>, String>>()?,
                );
                drow.push(g.demand_kbps.get(r).copied().unwrap_or(0.0));
            }
            if let Some(r) = g.weights.keys().find(|r| !self.regions.contains(r)) {
                return Err(format!("weights for unknown region {r}"));
            }
            cells.push(row);
            demand.push(drow);
        }
        let lookups = self
            .lookups
            .iter()
            .map(|(c, l)| Ok((name(c)?, lookup(l)?)))
            .collect::<Result<BTreeMap<_, _>, String>>()?;
        let parts = PlanParts {
            mode: match self.mode.as_str() {
                "seed" => Mode::Seed,
                "optimal" => Mode::Optimal,
                other => return Err(format!("unknown mode {other:?}")),
            },
            regions,
            groups,
            cells,
            demand_kbps: demand,
            lookups,
            capacity_kbps: self
                .capacity_kbps
                .iter()
                .map(|(c, k)| Ok((name(c)?, *k)))
                .collect::<Result<_, String>>()?,
            region_capacity_kbps: self
                .region_capacity_kbps
                .iter()
                .map(|rc| Ok(((name(&rc.cdn)?, name(&rc.region)?), rc.kbps)))
                .collect::<Result<_, String>>()?,
            overloaded: self
                .overloaded
                .iter()
                .map(|o| Ok((name(&o.cdn)?, o.region.as_deref().map(name).transpose()?)))
                .collect::<Result<BTreeSet<_>, String>>()?,
            unavailable: self
                .unavailable
                .iter()
                .map(|c| name(c))
                .collect::<Result<_, _>>()?,
            target_utilisation: self.target_utilisation,
            unplaced_kbps: self.unplaced_kbps,
            fallback: self.fallback.clone(),
        };
        Plan::from_parts(parts).map_err(|e| e.to_string())
    }
}

fn lookup(text: &str) -> Result<Lookup, String> {
    let mut lx = Lexer::new(text);
    let l = parse_lookup(&mut lx).map_err(|e| format!("lookup {text:?}: {e}"))?;
    match lx.peek() {
        Ok(t) if t.kind == TokenKind::End => Ok(l),
        _ => Err(format!("lookup {text:?}: trailing text")),
    }
}

/// The region definitions as regions.txt text (the blob's content).
pub fn regions_text(regions: &[RegionDef]) -> String {
    RegionsFile {
        regions: regions
            .iter()
            .map(|r| Located {
                pos: Pos::new(1, 1),
                value: r.clone(),
            })
            .collect(),
    }
    .to_string()
}

/// Region definitions from the blob's text.
pub fn parse_regions(text: &str) -> Result<Vec<RegionDef>, String> {
    RegionsFile::parse(text)
        .map(|f| f.regions.into_iter().map(|r| r.value).collect())
        .map_err(|e| format!("regions: {e}"))
}

/// The routing tables as deployment TOML for node `node` (credentials left out: the
/// document is readable by every member).
pub fn routing_toml(node: &Name, partners: &[Partner], customers: &[Customer]) -> String {
    let d = Deployment {
        node: broker_config::deploy::Node { name: node.clone() },
        dns: None,
        control: None,
        proxy: None,
        partners: partners
            .iter()
            .map(|p| Partner {
                token: None,
                ca: None,
                ..p.clone()
            })
            .collect(),
        customers: customers.to_vec(),
        edge: None,
        cluster: None,
    };
    d.to_toml(std::path::Path::new("routing.toml"))
}

/// The routing tables back from their TOML.
pub fn parse_routing(toml: &str) -> Result<(Vec<Partner>, Vec<Customer>), String> {
    Deployment::parse(toml, std::path::Path::new("routing.toml"))
        .map(|d| (d.partners, d.customers))
        .map_err(|e| format!("routing: {e}"))
}
