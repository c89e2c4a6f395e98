//! The engine's immutable answer tables, compiled from the plain tables of spec §1.
//!
//! A commit builds a new [`Snapshot`] aside (region trie, customer names in lower-case wire
//! form, per coverage and region a cumulative weight table for each kind of query, every
//! answer's rdata pre-encoded) and swaps it in whole. Queries only read it. A commit that
//! changes no region keeps the previous snapshot's compiled [`Regions`] (shared, not
//! copied), so an alert's `UPDATE CVG` costs the same at a million prefixes as at ten.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use broker_config::transaction::{CnameTarget, Lookup, NameServer};
use broker_config::{DnsName, Tables};
use broker_policy::weighted::WeightedTable;

use crate::wire::name_to_wire;

mod regions;
pub mod signed;

pub use regions::Regions;
pub use signed::{Signing, ZoneSigs};

/// Engine settings that shape answers (not the tables).
#[derive(Clone, Debug)]
pub struct Settings {
    /// Names put in the SOA and NS records of every bound domain; the first is the SOA's
    /// primary.
    pub ns: Vec<DnsName>,
    /// TTL of redirecting answers, and of SOA and NS records.
    pub ttl: u32,
    /// Port of the servers named in `R:` and `T:` lookups (53, except in tests).
    pub forward_port: u16,
    /// Sticky picks: the draw is a hash of the client's network (/24, /56) instead of
    /// random, so one client keeps one CDN while the tables stay (spec §1's option, off
    /// by default).
    pub sticky: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            ns: vec![DnsName::new("localhost").expect("valid name")],
            ttl: 20,
            forward_port: 53,
            sticky: false,
        }
    }
}

/// Index of the `DEFAULT` region in every snapshot.
pub const DEFAULT_REGION_ID: u32 = 0;

/// Why tables could not be compiled (the validated `Tables` never cause these; they guard
/// the compiler's own invariants).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A coverage names a region that is not defined.
    #[error("coverage {coverage} uses unknown region {region}")]
    UnknownRegion {
        /// The coverage.
        coverage: String,
        /// The region.
        region: String,
    },
    /// A customer names a coverage that is not defined.
    #[error("customer {customer} uses unknown coverage {coverage}")]
    UnknownCoverage {
        /// The customer's domain.
        customer: String,
        /// The coverage.
        coverage: String,
    },
    /// An action's weights add up to 0.
    #[error("coverage {coverage}, region {region}: the weights add up to 0")]
    ZeroWeights {
        /// The coverage.
        coverage: String,
        /// The region.
        region: String,
    },
}

/// What a chosen lookup does, pre-encoded.
#[derive(Debug)]
pub enum Answer {
    /// An A (4 bytes) or AAAA (16 bytes) record's rdata.
    Address {
        /// `rtype::A` or `rtype::AAAA`.
        rtype: u16,
        /// The address bytes.
        rdata: Box<[u8]>,
    },
    /// A CNAME to a fixed name (wire form).
    Alias(Box<[u8]>),
    /// A CNAME to the query name followed by these labels (wire form without the root).
    AliasSuffix(Box<[u8]>),
    /// A referral: NS names (wire form) with their glue.
    Referral(Box<[(Box<[u8]>, IpAddr)]>),
    /// Forward the query to this server and relay the answer back.
    Relay(SocketAddr),
    /// Send the query on to this server with the client's address as source.
    Triangle(SocketAddr),
}

impl Answer {
    /// Short kind name for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Address { .. } => "address",
            Self::Alias(_) | Self::AliasSuffix(_) => "cname",
            Self::Referral(_) => "referral",
            Self::Relay(_) => "relay",
            Self::Triangle(_) => "triangle",
        }
    }
}

/// One lookup of a coverage entry.
#[derive(Debug)]
pub struct Choice {
    /// What to answer.
    pub answer: Answer,
    /// Which CDN this sends the client to, as written (`192.0.2.10`, `ns1.cdn-g.example`,
    /// `.cdn-g.example`): the label of logs and counters.
    pub label: Arc<str>,
}

/// A weighted pick among some of an entry's choices.
#[derive(Debug)]
pub struct Pick {
    table: WeightedTable,
    choices: Box<[u32]>,
}

impl Pick {
    fn build(indexed: impl Iterator<Item = (u32, u32)>) -> Option<Self> {
        let (choices, weights): (Vec<u32>, Vec<u32>) = indexed.unzip();
        let table = WeightedTable::new(weights).ok()?;
        Some(Self {
            table,
            choices: choices.into(),
        })
    }

    /// The choice index (into [`Snapshot::choice`]) picked by `draw`.
    pub fn pick(&self, draw: u32) -> u32 {
        self.choices[self.table.pick(draw)]
    }
}

/// The picks of one (coverage, region) entry, one per kind of query, so that an A query
/// never draws an IPv6 address (and the reverse) while the weights of the rest hold.
#[derive(Debug)]
pub struct Entry {
    /// For A queries: every lookup but IPv6 addresses.
    pub a: Option<Pick>,
    /// For AAAA queries: every lookup but IPv4 addresses.
    pub aaaa: Option<Pick>,
    /// For any other type: every lookup.
    pub other: Pick,
}

/// A bound domain.
#[derive(Debug)]
pub struct Customer {
    /// Its name, canonical.
    pub name: DnsName,
    /// Length of its wire form (to find it as a suffix of the query name).
    pub wire_len: usize,
    /// Its coverage (index into the coverages).
    pub coverage: u32,
    /// Its SOA rdata.
    pub soa_rdata: Box<[u8]>,
    /// Its signatures, when a key signs it (spec §10).
    pub signed: Option<Box<ZoneSigs>>,
}

/// A coverage: per region id, the entry to use (the region's own, else `DEFAULT`'s).
#[derive(Debug)]
pub struct Coverage {
    /// Name, for logs.
    pub name: Arc<str>,
    per_region: Box<[Option<u32>]>,
}

/// Everything a query reads, built once per commit.
#[derive(Debug)]
pub struct Snapshot {
    generation: u64,
    epoch: Option<u64>,
    ttl: u32,
    sticky: bool,
    regions: Arc<Regions>,
    customers_by_wire: HashMap<Box<[u8]>, u32, BuildHasherDefault<NameHasher>>,
    customers: Box<[Customer]>,
    coverages: Box<[Coverage]>,
    entries: Box<[Entry]>,
    choices: Box<[Choice]>,
    ns_wire: Box<[Box<[u8]>]>,
    signing: Signing,
}

/// The region found for a client address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegionHit {
    /// Region id ([`DEFAULT_REGION_ID`] when no prefix holds the address).
    pub region: u32,
    /// Matched prefix length, `None` for `DEFAULT`.
    pub prefix_len: Option<u8>,
}

impl Snapshot {
    /// The tables right after start-up: nothing bound, every query refused.
    pub fn empty(settings: &Settings) -> Self {
        Self::build(0, settings, &Tables::new()).expect("empty tables compile")
    }

    /// Compiles tables (validated by `Tables::apply`) into a snapshot, regions included.
    pub fn build(
        generation: u64,
        settings: &Settings,
        tables: &Tables,
    ) -> Result<Self, BuildError> {
        Self::build_with(
            generation,
            settings,
            tables,
            Arc::new(Regions::build(tables)),
        )
    }

    /// The snapshot of `tables`, the successor of `self`, which was built from
    /// `built_from`: when the two hold the same regions, the new snapshot shares this one's
    /// compiled regions and only coverages, choices and customers are compiled.
    pub fn rebuild(
        &self,
        built_from: &Tables,
        generation: u64,
        settings: &Settings,
        tables: &Tables,
    ) -> Result<Self, BuildError> {
        let regions = if tables.same_regions(built_from) {
            Arc::clone(&self.regions)
        } else {
            Arc::new(Regions::build(tables))
        };
        Self::build_with(generation, settings, tables, regions)
    }

    /// Compiles `tables` around `regions`, which were compiled from the same regions.
    fn build_with(
        generation: u64,
        settings: &Settings,
        tables: &Tables,
        regions: Arc<Regions>,
    ) -> Result<Self, BuildError> {
        let mut choices = Vec::new();
        let mut entries = Vec::new();
        let mut coverage_ids: HashMap<&str, u32> = HashMap::new();
        let mut coverage_list = Vec::new();
        for (cname, cov_entries) in tables.coverages() {
            let mut per_region: Vec<Option<u32>> = vec![None; regions.count()];
            for (region, action) in cov_entries {
                let Some(rid) = regions.id(region.as_str()) else {
                    return Err(BuildError::UnknownRegion {
                        coverage: cname.to_string(),
                        region: region.to_string(),
                    });
                };
                let first = choices.len() as u32;
                for w in &action.choices {
                    choices.push(compile_choice(&w.lookup, settings.forward_port));
                }
                let weighted = || {
                    action
                        .choices
                        .iter()
                        .enumerate()
                        .map(|(i, w)| (first + i as u32, w.weight))
                };
                let family_ok = |i: u32, want_v4: bool| match choices[i as usize].answer {
                    Answer::Address { rtype, .. } => (rtype == crate::wire::rtype::A) == want_v4,
                    _ => true,
                };
                let other = Pick::build(weighted()).ok_or_else(|| BuildError::ZeroWeights {
                    coverage: cname.to_string(),
                    region: region.to_string(),
                })?;
                let a = Pick::build(weighted().filter(|&(i, _)| family_ok(i, true)));
                let aaaa = Pick::build(weighted().filter(|&(i, _)| family_ok(i, false)));
                entries.push(Entry { a, aaaa, other });
                per_region[rid as usize] = Some((entries.len() - 1) as u32);
            }
            // Regions without their own entry use the coverage's DEFAULT entry.
            let default = per_region[DEFAULT_REGION_ID as usize];
            for slot in &mut per_region {
                if slot.is_none() {
                    *slot = default;
                }
            }
            let id = coverage_list.len() as u32;
            coverage_list.push(Coverage {
                name: Arc::from(cname.as_str()),
                per_region: per_region.into(),
            });
            coverage_ids.insert(cname.as_str(), id);
        }

        let ns_wire: Box<[Box<[u8]>]> = settings
            .ns
            .iter()
            .map(|n| name_to_wire(n.as_str()).into())
            .collect();
        let mut customers_by_wire = HashMap::default();
        let mut customer_list = Vec::new();
        for (domain, cov) in tables.customers() {
            let Some(&coverage) = coverage_ids.get(cov.as_str()) else {
                return Err(BuildError::UnknownCoverage {
                    customer: domain.to_string(),
                    coverage: cov.to_string(),
                });
            };
            let wire = name_to_wire(domain.as_str());
            let soa_rdata = soa_rdata(&ns_wire, &wire, generation, settings.ttl);
            let id = customer_list.len() as u32;
            customer_list.push(Customer {
                name: domain.clone(),
                wire_len: wire.len(),
                coverage,
                soa_rdata,
                signed: None,
            });
            customers_by_wire.insert(wire.into_boxed_slice(), id);
        }

        Ok(Self {
            generation,
            epoch: None,
            ttl: settings.ttl,
            sticky: settings.sticky,
            regions,
            customers_by_wire,
            customers: customer_list.into(),
            coverages: coverage_list.into(),
            entries: entries.into(),
            choices: choices.into(),
            ns_wire,
            signing: Signing::default(),
        })
    }

    /// The commit counter this snapshot was built at.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// This snapshot, labelled with the highest epoch committed when it is swapped in
    /// (the engine's fencing value, spec §1; `None` before any `EPOCH`).
    #[must_use]
    pub fn with_epoch(mut self, epoch: Option<u64>) -> Self {
        self.epoch = epoch;
        self
    }

    /// The highest epoch committed as of this snapshot.
    pub fn epoch(&self) -> Option<u64> {
        self.epoch
    }

    /// True when picks hash the client's network instead of drawing at random.
    pub fn sticky(&self) -> bool {
        self.sticky
    }

    /// TTL of answers.
    pub fn ttl(&self) -> u32 {
        self.ttl
    }

    /// The region of a client address.
    pub fn region_of(&self, addr: IpAddr) -> RegionHit {
        match self.regions.table.lookup(addr) {
            Some(m) => RegionHit {
                region: m.region,
                prefix_len: Some(m.prefix_len),
            },
            None => RegionHit {
                region: DEFAULT_REGION_ID,
                prefix_len: None,
            },
        }
    }

    /// A region's name.
    pub fn region_name(&self, id: u32) -> &Arc<str> {
        &self.regions.names[id as usize]
    }

    /// The most specific customer whose name is `lower_qname` (lower-case wire form) or
    /// holds it.
    pub fn customer_for(&self, lower_qname: &[u8]) -> Option<(u32, &Customer)> {
        let mut at = 0;
        while at < lower_qname.len() {
            if let Some(&id) = self.customers_by_wire.get(&lower_qname[at..]) {
                return Some((id, &self.customers[id as usize]));
            }
            if lower_qname[at] == 0 {
                break;
            }
            at += 1 + usize::from(lower_qname[at]);
        }
        None
    }

    /// The entry of `coverage` for `region` (falling back to the coverage's `DEFAULT`).
    pub fn entry(&self, coverage: u32, region: u32) -> Option<&Entry> {
        let idx = self.coverages[coverage as usize].per_region[region as usize]?;
        Some(&self.entries[idx as usize])
    }

    /// A choice by index.
    pub fn choice(&self, idx: u32) -> &Choice {
        &self.choices[idx as usize]
    }

    /// The name servers of every bound domain, wire form.
    pub fn ns_wire(&self) -> &[Box<[u8]>] {
        &self.ns_wire
    }

    /// Number of region prefixes loaded.
    pub fn prefix_count(&self) -> usize {
        self.regions.prefix_count()
    }

    /// The compiled regions, shared with the snapshots before and after this one while
    /// no commit changes a region.
    pub fn regions(&self) -> &Arc<Regions> {
        &self.regions
    }

    /// Number of bound domains.
    pub fn customer_count(&self) -> usize {
        self.customers.len()
    }
}

/// FNV-1a over the lower-case wire name: names are short and set by the operator, so
/// SipHash's flood resistance buys nothing on a path taken for every query.
#[derive(Default)]
struct NameHasher(u64);

impl Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

fn compile_choice(lookup: &Lookup, forward_port: u16) -> Choice {
    let (answer, label): (Answer, String) = match lookup {
        Lookup::Address(IpAddr::V4(a)) => (
            Answer::Address {
                rtype: crate::wire::rtype::A,
                rdata: a.octets().into(),
            },
            a.to_string(),
        ),
        Lookup::Address(IpAddr::V6(a)) => (
            Answer::Address {
                rtype: crate::wire::rtype::AAAA,
                rdata: a.octets().into(),
            },
            a.to_string(),
        ),
        Lookup::Alias(CnameTarget::Name(n)) => (
            Answer::Alias(name_to_wire(n.as_str()).into()),
            n.to_string(),
        ),
        Lookup::Alias(CnameTarget::Suffix(s)) => {
            let mut wire = name_to_wire(s.as_str());
            wire.pop();
            (Answer::AliasSuffix(wire.into()), format!(".{s}"))
        }
        Lookup::Referral(servers) => (
            Answer::Referral(
                servers
                    .iter()
                    .map(|ns| (name_to_wire(ns.name.as_str()).into(), ns.addr))
                    .collect(),
            ),
            servers
                .first()
                .map(|ns| ns.name.to_string())
                .unwrap_or_default(),
        ),
        Lookup::Relay(NameServer { name, addr }) => (
            Answer::Relay(SocketAddr::new(*addr, forward_port)),
            name.to_string(),
        ),
        Lookup::Triangle(NameServer { name, addr }) => (
            Answer::Triangle(SocketAddr::new(*addr, forward_port)),
            name.to_string(),
        ),
    };
    Choice {
        answer,
        label: Arc::from(label),
    }
}

fn soa_rdata(ns_wire: &[Box<[u8]>], domain_wire: &[u8], serial: u64, ttl: u32) -> Box<[u8]> {
    let mut out = Vec::new();
    match ns_wire.first() {
        Some(ns) => out.extend_from_slice(ns),
        None => out.extend_from_slice(domain_wire),
    }
    // rname: hostmaster.<domain>, or the domain itself when that would pass 255 bytes.
    if domain_wire.len() + 11 <= 255 {
        out.push(10);
        out.extend_from_slice(b"hostmaster");
    }
    out.extend_from_slice(domain_wire);
    let serial = serial as u32; // RFC 1982 serials wrap.
    for v in [serial, 3600, 600, 86400, ttl] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    out.into()
}

#[cfg(test)]
mod tests;
