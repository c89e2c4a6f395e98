//! The control component's model: CDNs, customers and regions, and the seed's operations
//! on them (`cdn_add`, `cdn_update_cvrg`, `cdn_update_capacity`, `cdn_remove`,
//! `cdn_lookup`, `cdn_load_set`, `customer_add`, `customer_upd_cdns`, `customer_remove`)
//! as methods with typed errors instead of integer codes.
//!
//! Time is an argument: `now` is a [`Duration`] since an origin the caller picks (the
//! control component's start); the model never reads a clock.
//!
//! Removing a CDN that a customer still allows is an error ([`ModelError::CdnInUse`]),
//! as a DNS engine refuses to delete a coverage a customer uses (spec §1): a customer
//! never silently loses a CDN. Removing a region cascades: the region's coverage,
//! capacity and load entries go with it, since regions come whole from `regions.txt`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use broker_config::events::Event;
use broker_config::transaction::{DEFAULT_REGION, Lookup};
use broker_config::{AgentFiles, CdnDef, DnsName, Name};

/// The highest coverage value: 0 is no presence, 100 the best coverage.
pub const MAX_COVERAGE: u8 = 100;

/// Why an operation on the model was refused; the model is then unchanged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// No CDN has this name.
    #[error("unknown cdn {0}")]
    UnknownCdn(Name),
    /// A CDN of this name exists already.
    #[error("cdn {0} exists already")]
    DuplicateCdn(Name),
    /// No region has this name.
    #[error("unknown region {0}")]
    UnknownRegion(Name),
    /// `DEFAULT` is always a region.
    #[error("region DEFAULT cannot be removed")]
    DefaultRegion,
    /// No customer has this name.
    #[error("unknown customer {0}")]
    UnknownCustomer(DnsName),
    /// A customer of this name exists already.
    #[error("customer {0} exists already")]
    DuplicateCustomer(DnsName),
    /// A customer must allow at least one CDN.
    #[error("customer {0} allows no cdn")]
    NoCdn(DnsName),
    /// Coverage values are 0..=100.
    #[error("coverage {value} of cdn {cdn} in region {region} is over 100")]
    CoverageOutOfRange {
        /// The CDN.
        cdn: Name,
        /// The region.
        region: Name,
        /// The value given.
        value: u8,
    },
    /// A customer name (spec §2) must also be a DNS name: the engine binds it.
    #[error("customer {0} is not a dns name")]
    CustomerName(Name),
    /// The CDN is allowed by a customer: update or remove the customer first.
    #[error("cdn {cdn} is used by customer {customer}")]
    CdnInUse {
        /// The CDN.
        cdn: Name,
        /// The first customer (by name) that allows it.
        customer: DnsName,
    },
}

/// Whether a CDN takes traffic at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// It may be planned (subject to load and capacity).
    Available,
    /// It said `Unavailable` (spec §4): weight 0 everywhere until it reports again.
    Unavailable,
}

/// What a capacity or load figure is about (spec §3: `<region>` or `CDNTOTAL`).
pub use broker_config::Scope;

/// A CDN's configuration, as `ADD CDN <name>:<capacity> {<lookup>} [<region>:<cov>;...]!`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CdnSpec {
    /// Its name.
    pub name: Name,
    /// How DNS sends a client there.
    pub lookup: Lookup,
    /// Total capacity reserved for us, kbit/s.
    pub capacity_kbps: u64,
    /// Coverage per region, 0..=100; a region not listed has coverage 0.
    pub coverage: Vec<(Name, u8)>,
}

/// A CDN as the model knows it: configuration plus the latest feedback.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cdn {
    name: Name,
    lookup: Lookup,
    capacity_kbps: u64,
    region_capacity_kbps: BTreeMap<Name, u64>,
    load_kbps: u64,
    region_load_kbps: BTreeMap<Name, u64>,
    coverage: BTreeMap<Name, u8>,
    status: Status,
    last_feedback: Option<Duration>,
}

impl Cdn {
    /// Its name.
    pub fn name(&self) -> &Name {
        &self.name
    }
    /// How DNS sends a client there.
    pub fn lookup(&self) -> &Lookup {
        &self.lookup
    }
    /// Total capacity for us, kbit/s.
    pub fn capacity_kbps(&self) -> u64 {
        self.capacity_kbps
    }
    /// Capacity for us in `region`, when the CDN reported one.
    pub fn region_capacity_kbps(&self, region: &str) -> Option<u64> {
        self.region_capacity_kbps.get(region).copied()
    }
    /// Latest total load we put on it, kbit/s.
    pub fn load_kbps(&self) -> u64 {
        self.load_kbps
    }
    /// Latest load we put on it in `region`, when reported.
    pub fn region_load_kbps(&self, region: &str) -> Option<u64> {
        self.region_load_kbps.get(region).copied()
    }
    /// Every region load it reported.
    pub fn region_loads(&self) -> impl Iterator<Item = (&Name, u64)> {
        self.region_load_kbps.iter().map(|(r, l)| (r, *l))
    }
    /// Every region capacity it reported.
    pub fn region_capacities(&self) -> impl Iterator<Item = (&Name, u64)> {
        self.region_capacity_kbps.iter().map(|(r, c)| (r, *c))
    }
    /// Coverage of `region`, 0..=100 (0 when not listed).
    pub fn coverage(&self, region: &str) -> u8 {
        self.coverage.get(region).copied().unwrap_or(0)
    }
    /// Available or unavailable.
    pub fn status(&self) -> Status {
        self.status
    }
    /// When it last reported load, capacity or status (`None`: never).
    pub fn last_feedback(&self) -> Option<Duration> {
        self.last_feedback
    }
}

/// A customer (a DNS name we answer) and the CDNs that may serve it (the seed's mask).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Customer {
    name: DnsName,
    cdns: BTreeSet<Name>,
}

impl Customer {
    /// Its DNS name.
    pub fn name(&self) -> &DnsName {
        &self.name
    }
    /// The CDNs it allows, sorted.
    pub fn cdns(&self) -> &BTreeSet<Name> {
        &self.cdns
    }
}

/// CDNs, customers and region names. Every customer's CDNs and every coverage region
/// exist: the methods keep that true or change nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Model {
    regions: BTreeSet<Name>,
    cdns: BTreeMap<Name, Cdn>,
    customers: BTreeMap<DnsName, Customer>,
}

impl Default for Model {
    fn default() -> Self {
        Self::new()
    }
}

/// The reserved region every unmatched address falls into.
pub fn default_region() -> Name {
    // Invariant: "DEFAULT" satisfies the name syntax.
    Name::new(DEFAULT_REGION).expect("DEFAULT is a valid name")
}

impl Model {
    /// An empty model with the one region `DEFAULT`.
    pub fn new() -> Self {
        Self {
            regions: BTreeSet::from([default_region()]),
            cdns: BTreeMap::new(),
            customers: BTreeMap::new(),
        }
    }

    /// `RESET!`: back to [`Model::new`].
    pub fn reset(&mut self) {
        *self = Self::new();
    }

    /// Adds a region name (adding one that exists changes nothing).
    pub fn add_region(&mut self, name: Name) {
        self.regions.insert(name);
    }

    /// Removes a region and every CDN figure about it.
    pub fn remove_region(&mut self, name: &Name) -> Result<(), ModelError> {
        if name.as_str() == DEFAULT_REGION {
            return Err(ModelError::DefaultRegion);
        }
        if !self.regions.remove(name) {
            return Err(ModelError::UnknownRegion(name.clone()));
        }
        for cdn in self.cdns.values_mut() {
            cdn.coverage.remove(name);
            cdn.region_capacity_kbps.remove(name);
            cdn.region_load_kbps.remove(name);
        }
        Ok(())
    }

    /// The region names, sorted, `DEFAULT` included.
    pub fn regions(&self) -> &BTreeSet<Name> {
        &self.regions
    }

    /// `cdn_add`: a new CDN, available, with no feedback yet.
    pub fn add_cdn(&mut self, spec: CdnSpec) -> Result<(), ModelError> {
        if self.cdns.contains_key(&spec.name) {
            return Err(ModelError::DuplicateCdn(spec.name));
        }
        let coverage = self.checked_coverage(&spec.name, &spec.coverage)?;
        let cdn = Cdn {
            name: spec.name.clone(),
            lookup: spec.lookup,
            capacity_kbps: spec.capacity_kbps,
            region_capacity_kbps: BTreeMap::new(),
            load_kbps: 0,
            region_load_kbps: BTreeMap::new(),
            coverage,
            status: Status::Available,
            last_feedback: None,
        };
        self.cdns.insert(spec.name, cdn);
        Ok(())
    }

    /// Replaces a CDN's configuration (lookup, total capacity, coverage), keeping its
    /// feedback (loads, region capacities, status).
    pub fn update_cdn(&mut self, spec: CdnSpec) -> Result<(), ModelError> {
        let coverage = self.checked_coverage(&spec.name, &spec.coverage)?;
        let cdn = self.cdn_mut(&spec.name)?;
        cdn.lookup = spec.lookup;
        cdn.capacity_kbps = spec.capacity_kbps;
        cdn.coverage = coverage;
        Ok(())
    }

    /// `cdn_remove`: refused while a customer allows the CDN.
    pub fn remove_cdn(&mut self, name: &Name) -> Result<(), ModelError> {
        if !self.cdns.contains_key(name) {
            return Err(ModelError::UnknownCdn(name.clone()));
        }
        if let Some(c) = self.customers.values().find(|c| c.cdns.contains(name)) {
            return Err(ModelError::CdnInUse {
                cdn: name.clone(),
                customer: c.name.clone(),
            });
        }
        self.cdns.remove(name);
        Ok(())
    }

    /// `cdn_lookup`.
    pub fn cdn(&self, name: &str) -> Option<&Cdn> {
        self.cdns.get(name)
    }

    /// Every CDN, by name.
    pub fn cdns(&self) -> impl Iterator<Item = &Cdn> {
        self.cdns.values()
    }

    /// `cdn_update_cvrg`: replaces the CDN's coverage table.
    pub fn update_coverage(
        &mut self,
        cdn: &Name,
        coverage: &[(Name, u8)],
    ) -> Result<(), ModelError> {
        let coverage = self.checked_coverage(cdn, coverage)?;
        self.cdn_mut(cdn)?.coverage = coverage;
        Ok(())
    }

    /// `cdn_update_capacity` (total) or a region's capacity (`CAPACITY` events, spec §3).
    /// A report is feedback: it marks the CDN available and refreshes its feedback time.
    pub fn set_capacity(
        &mut self,
        cdn: &Name,
        scope: &Scope,
        kbps: u64,
        now: Duration,
    ) -> Result<(), ModelError> {
        self.check_scope(scope)?;
        let c = self.cdn_mut(cdn)?;
        match scope {
            Scope::Total => c.capacity_kbps = kbps,
            Scope::Region(r) => {
                c.region_capacity_kbps.insert(r.clone(), kbps);
            }
        }
        c.refresh(now);
        Ok(())
    }

    /// `cdn_load_set` (total) or a region's load (`LOAD` events, spec §3). A report is
    /// feedback: it marks the CDN available and refreshes its feedback time.
    pub fn set_load(
        &mut self,
        cdn: &Name,
        scope: &Scope,
        kbps: u64,
        now: Duration,
    ) -> Result<(), ModelError> {
        self.check_scope(scope)?;
        let c = self.cdn_mut(cdn)?;
        match scope {
            Scope::Total => c.load_kbps = kbps,
            Scope::Region(r) => {
                c.region_load_kbps.insert(r.clone(), kbps);
            }
        }
        c.refresh(now);
        Ok(())
    }

    /// The CDN said `Unavailable`: weight 0 everywhere until its next report.
    pub fn mark_unavailable(&mut self, cdn: &Name, now: Duration) -> Result<(), ModelError> {
        let c = self.cdn_mut(cdn)?;
        c.status = Status::Unavailable;
        c.last_feedback = Some(now);
        Ok(())
    }

    /// `customer_add`: every CDN named must exist.
    pub fn add_customer(
        &mut self,
        name: DnsName,
        cdns: impl IntoIterator<Item = Name>,
    ) -> Result<(), ModelError> {
        if self.customers.contains_key(&name) {
            return Err(ModelError::DuplicateCustomer(name));
        }
        let cdns = self.checked_cdns(&name, cdns)?;
        self.customers.insert(name.clone(), Customer { name, cdns });
        Ok(())
    }

    /// `customer_upd_cdns`: replaces the CDNs a customer allows.
    pub fn update_customer(
        &mut self,
        name: &DnsName,
        cdns: impl IntoIterator<Item = Name>,
    ) -> Result<(), ModelError> {
        if !self.customers.contains_key(name) {
            return Err(ModelError::UnknownCustomer(name.clone()));
        }
        let cdns = self.checked_cdns(name, cdns)?;
        if let Some(c) = self.customers.get_mut(name) {
            c.cdns = cdns;
        }
        Ok(())
    }

    /// `customer_remove`.
    pub fn remove_customer(&mut self, name: &DnsName) -> Result<(), ModelError> {
        self.customers
            .remove(name)
            .map(drop)
            .ok_or_else(|| ModelError::UnknownCustomer(name.clone()))
    }

    /// A customer by name.
    pub fn customer(&self, name: &DnsName) -> Option<&Customer> {
        self.customers.get(name)
    }

    /// Every customer, by name.
    pub fn customers(&self) -> impl Iterator<Item = &Customer> {
        self.customers.values()
    }

    fn cdn_mut(&mut self, name: &Name) -> Result<&mut Cdn, ModelError> {
        self.cdns
            .get_mut(name)
            .ok_or_else(|| ModelError::UnknownCdn(name.clone()))
    }

    fn check_scope(&self, scope: &Scope) -> Result<(), ModelError> {
        match scope {
            Scope::Region(r) if !self.regions.contains(r) => {
                Err(ModelError::UnknownRegion(r.clone()))
            }
            _ => Ok(()),
        }
    }

    fn checked_coverage(
        &self,
        cdn: &Name,
        coverage: &[(Name, u8)],
    ) -> Result<BTreeMap<Name, u8>, ModelError> {
        let mut out = BTreeMap::new();
        for (region, value) in coverage {
            if !self.regions.contains(region) {
                return Err(ModelError::UnknownRegion(region.clone()));
            }
            if *value > MAX_COVERAGE {
                return Err(ModelError::CoverageOutOfRange {
                    cdn: cdn.clone(),
                    region: region.clone(),
                    value: *value,
                });
            }
            out.insert(region.clone(), *value);
        }
        Ok(out)
    }

    fn checked_cdns(
        &self,
        customer: &DnsName,
        cdns: impl IntoIterator<Item = Name>,
    ) -> Result<BTreeSet<Name>, ModelError> {
        let mut out = BTreeSet::new();
        for cdn in cdns {
            if !self.cdns.contains_key(&cdn) {
                return Err(ModelError::UnknownCdn(cdn));
            }
            out.insert(cdn);
        }
        if out.is_empty() {
            return Err(ModelError::NoCdn(customer.clone()));
        }
        Ok(out)
    }
}

impl From<&CdnDef> for CdnSpec {
    fn from(def: &CdnDef) -> Self {
        Self {
            name: def.name.value.clone(),
            lookup: def.lookup.clone(),
            capacity_kbps: def.capacity_kbps,
            coverage: def
                .coverage
                .iter()
                .map(|c| (c.region.value.clone(), c.quality))
                .collect(),
        }
    }
}

impl Model {
    /// The model the configuration agent's three files describe (spec §2): the seed's
    /// `IDNS_AT_ADD_REGION_TABLE`, `IDNS_AT_ADD_CDN` and `IDNS_AT_ADD_CUSTOMER` events in
    /// that order. All or nothing: the first error is returned.
    pub fn from_agent_files(files: &AgentFiles) -> Result<Self, ModelError> {
        let mut m = Self::new();
        for region in &files.regions.regions {
            m.add_region(region.value.name.clone());
        }
        for cdn in &files.cdns.cdns {
            m.add_cdn(CdnSpec::from(cdn))?;
        }
        for cst in &files.customers.customers {
            let name = DnsName::new(cst.name.value.as_str())
                .map_err(|_| ModelError::CustomerName(cst.name.value.clone()))?;
            m.add_customer(name, cst.cdns.iter().map(|c| c.value.clone()))?;
        }
        Ok(m)
    }
}

impl Model {
    /// Applies one load-agent or management event (spec §3) at `now`. `ADD CST` adds or
    /// replaces the customer; `RESET!` empties the model (the caller then reloads the
    /// configuration files, as the seed's control does).
    pub fn apply_event(&mut self, event: &Event, now: Duration) -> Result<(), ModelError> {
        match event {
            Event::Load(f) => self.set_load(&f.cdn.value, &f.scope.value, f.kbps, now),
            Event::Capacity(f) => self.set_capacity(&f.cdn.value, &f.scope.value, f.kbps, now),
            Event::AddCustomer(def) => {
                let name = DnsName::new(def.name.value.as_str())
                    .map_err(|_| ModelError::CustomerName(def.name.value.clone()))?;
                let cdns = def.cdns.iter().map(|c| c.value.clone());
                if self.customers.contains_key(&name) {
                    self.update_customer(&name, cdns)
                } else {
                    self.add_customer(name, cdns)
                }
            }
            Event::RemoveCustomer(name) => {
                let dns = DnsName::new(name.value.as_str())
                    .map_err(|_| ModelError::CustomerName(name.value.clone()))?;
                self.remove_customer(&dns)
            }
            Event::Reset => {
                self.reset();
                Ok(())
            }
        }
    }
}

impl Cdn {
    fn refresh(&mut self, now: Duration) {
        self.status = Status::Available;
        self.last_feedback = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;

    fn n(s: &str) -> Name {
        Name::new(s).unwrap()
    }
    fn d(s: &str) -> DnsName {
        DnsName::new(s).unwrap()
    }
    fn spec(name: &str, cap: u64, cov: &[(&str, u8)]) -> CdnSpec {
        CdnSpec {
            name: n(name),
            lookup: Lookup::Address(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10))),
            capacity_kbps: cap,
            coverage: cov.iter().map(|(r, v)| (n(r), *v)).collect(),
        }
    }
    fn model() -> Model {
        let mut m = Model::new();
        m.add_region(n("FRANCE"));
        m.add_cdn(spec("C", 400_000, &[("FRANCE", 90), ("DEFAULT", 50)]))
            .unwrap();
        m.add_cdn(spec("G", 100_000, &[("FRANCE", 60)])).unwrap();
        m.add_customer(d("img.xyz.com"), [n("C"), n("G")]).unwrap();
        m
    }

    #[test]
    fn add_cdn_twice_is_refused_and_keeps_the_first() {
        let mut m = model();
        assert_eq!(
            m.add_cdn(spec("C", 1, &[])),
            Err(ModelError::DuplicateCdn(n("C")))
        );
        assert_eq!(m.cdn("C").unwrap().capacity_kbps(), 400_000);
    }

    #[test]
    fn coverage_of_unknown_region_or_over_100_is_refused() {
        let mut m = model();
        assert_eq!(
            m.add_cdn(spec("X", 1, &[("SPAIN", 10)])),
            Err(ModelError::UnknownRegion(n("SPAIN")))
        );
        assert!(matches!(
            m.update_coverage(&n("G"), &[(n("FRANCE"), 101)]),
            Err(ModelError::CoverageOutOfRange { value: 101, .. })
        ));
        assert_eq!(m.cdn("G").unwrap().coverage("FRANCE"), 60);
    }

    #[test]
    fn customer_with_unknown_or_no_cdn_is_refused() {
        let mut m = model();
        assert_eq!(
            m.add_customer(d("a.example"), [n("Z")]),
            Err(ModelError::UnknownCdn(n("Z")))
        );
        assert_eq!(
            m.add_customer(d("a.example"), []),
            Err(ModelError::NoCdn(d("a.example")))
        );
        assert!(m.customer(&d("a.example")).is_none());
    }

    #[test]
    fn removing_a_cdn_in_use_is_refused_until_the_customer_drops_it() {
        let mut m = model();
        assert_eq!(
            m.remove_cdn(&n("G")),
            Err(ModelError::CdnInUse {
                cdn: n("G"),
                customer: d("img.xyz.com")
            })
        );
        m.update_customer(&d("img.xyz.com"), [n("C")]).unwrap();
        m.remove_cdn(&n("G")).unwrap();
        assert!(m.cdn("G").is_none());
    }

    #[test]
    fn feedback_marks_available_and_records_time() {
        let mut m = model();
        m.mark_unavailable(&n("G"), Duration::from_secs(5)).unwrap();
        assert_eq!(m.cdn("G").unwrap().status(), Status::Unavailable);
        m.set_load(
            &n("G"),
            &Scope::Region(n("FRANCE")),
            700,
            Duration::from_secs(9),
        )
        .unwrap();
        let g = m.cdn("G").unwrap();
        assert_eq!(g.status(), Status::Available);
        assert_eq!(g.region_load_kbps("FRANCE"), Some(700));
        assert_eq!(g.last_feedback(), Some(Duration::from_secs(9)));
    }

    #[test]
    fn load_for_unknown_region_or_cdn_is_refused() {
        let mut m = model();
        let t = Duration::ZERO;
        assert_eq!(
            m.set_load(&n("G"), &Scope::Region(n("SPAIN")), 1, t),
            Err(ModelError::UnknownRegion(n("SPAIN")))
        );
        assert_eq!(
            m.set_capacity(&n("Q"), &Scope::Total, 1, t),
            Err(ModelError::UnknownCdn(n("Q")))
        );
    }

    #[test]
    fn removing_a_region_cascades_but_default_stays() {
        let mut m = model();
        m.set_capacity(&n("G"), &Scope::Region(n("FRANCE")), 5, Duration::ZERO)
            .unwrap();
        m.remove_region(&n("FRANCE")).unwrap();
        let g = m.cdn("G").unwrap();
        assert_eq!(
            (g.coverage("FRANCE"), g.region_capacity_kbps("FRANCE")),
            (0, None)
        );
        assert_eq!(
            m.remove_region(&default_region()),
            Err(ModelError::DefaultRegion)
        );
    }

    #[test]
    fn agent_files_load_into_a_model() {
        let files = AgentFiles::parse(
            "ADD REG FRANCE { 198.54.234.0, 23; }!\nADD REG GERMANY { 196.8.0.0, 16; }!\n",
            "ADD CDN C:400000 {A:192.0.2.10} [ FRANCE:90; GERMANY:40; DEFAULT:50; ]!\n\
             ADD CDN G:100000 {N:(ns1.cdn-g.example 198.51.100.53)} [ FRANCE:60; GERMANY:95; ]!\n",
            "ADD CST img.xyz.com [ C; G; ]!\n",
        )
        .unwrap();
        let m = Model::from_agent_files(&files).unwrap();
        assert_eq!(m.regions().len(), 3);
        assert_eq!(m.cdn("G").unwrap().coverage("GERMANY"), 95);
        assert_eq!(m.cdn("C").unwrap().capacity_kbps(), 400_000);
        let cst = m.customer(&d("img.xyz.com")).unwrap();
        assert_eq!(cst.cdns().len(), 2);
    }

    #[test]
    fn events_set_loads_and_replace_customers() {
        let mut m = model();
        let events = broker_config::Events::parse(
            "LOAD G,FRANCE:700! CAPACITY C,CDNTOTAL:5! ADD CST img.xyz.com [ C; ]! DEL CST img.xyz.com!",
        )
        .unwrap();
        let t = Duration::from_secs(3);
        for e in &events.events[..3] {
            m.apply_event(&e.value, t).unwrap();
        }
        assert_eq!(m.cdn("G").unwrap().region_load_kbps("FRANCE"), Some(700));
        assert_eq!(m.cdn("C").unwrap().capacity_kbps(), 5);
        assert_eq!(m.customer(&d("img.xyz.com")).unwrap().cdns().len(), 1);
        m.apply_event(&events.events[3].value, t).unwrap();
        assert!(m.customer(&d("img.xyz.com")).is_none());
    }

    #[test]
    fn update_cdn_keeps_feedback() {
        let mut m = model();
        m.set_load(&n("C"), &Scope::Total, 42, Duration::from_secs(1))
            .unwrap();
        m.update_cdn(spec("C", 9, &[])).unwrap();
        let c = m.cdn("C").unwrap();
        assert_eq!(
            (c.capacity_kbps(), c.load_kbps(), c.coverage("FRANCE")),
            (9, 42, 0)
        );
    }
}
