//! The signatures of a signed zone (spec §10), all computed when a snapshot is built: a
//! query only copies them.
//!
//! A zone is a bound name `Z` with keys. It answers at `Z` and at every name below it
//! (spec §1), so the answers below `Z` are signed as the expansion of a wildcard `*.Z`
//! (RFC 4035 §5.3.4: the RRSIG's labels field is that of `Z`, and one signature serves
//! every name). The zone's NSEC chain is fixed and small:
//!
//! ```text
//! Z NSEC \000.Z    (RFC 9824 compact denial at the apex: NODATA)
//! \000.Z NSEC *.Z  (covers names below Z that sort before `*`)
//! *.Z NSEC Z       (covers every other name below Z; NODATA below Z)
//! ```
//!
//! Each NODATA variant (an A, an AAAA or another type asked) has its own bitmap, without
//! the type asked. A suffix CNAME (`C:.cdn-g.example`) below `Z` has a target that
//! depends on the query name; it is proven by a signed DNAME at `Z` (RFC 6672) with the
//! CNAME synthesized beside it, so that one signature serves every name there too.

use std::sync::Arc;

use broker_config::dnssec_key::KeyPair;

use super::{Answer, Customer, Snapshot};
use crate::dnssec::{self, SigCache, Window, ZoneKeys, label_count, rrsig, type_bitmap};
use crate::wire::rtype;

/// RRSIG rdatas of one RRset, one per key.
pub type Sigs = Box<[Box<[u8]>]>;

/// An NSEC record with its signatures.
#[derive(Debug)]
pub struct Nsec {
    /// Owner, wire form.
    pub owner: Box<[u8]>,
    /// Next name and bitmap.
    pub rdata: Box<[u8]>,
    /// Its RRSIGs.
    pub sigs: Sigs,
}

/// The signatures of one lookup of the zone's coverage.
#[derive(Debug, Default)]
pub struct ChoiceSigs {
    /// Over the answer's RRset owned by the apex.
    pub apex: Sigs,
    /// Over the same RRset owned by `*.Z` (answers below the apex).
    pub wildcard: Sigs,
    /// A suffix CNAME: the DNAME rdata at the apex and its RRSIGs.
    pub dname: Option<(Box<[u8]>, Sigs)>,
}

/// Which NODATA variant: the bitmap leaves out the type asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missing {
    /// An A query.
    A = 0,
    /// An AAAA query.
    Aaaa = 1,
    /// Any other type.
    Other = 2,
}

impl Missing {
    /// The variant of a query type.
    pub fn of(qtype: u16) -> Self {
        match qtype {
            rtype::A => Self::A,
            rtype::AAAA => Self::Aaaa,
            _ => Self::Other,
        }
    }
}

/// Everything a signed zone's answers carry.
#[derive(Debug)]
pub struct ZoneSigs {
    /// DNSKEY rdatas.
    pub dnskeys: Box<[Box<[u8]>]>,
    /// Their RRSIGs.
    pub dnskey_sigs: Sigs,
    /// RRSIGs of the apex SOA.
    pub soa: Sigs,
    /// RRSIGs of the apex NS.
    pub ns: Sigs,
    /// Per choice index from `first_choice` (a coverage's choices are contiguous).
    choices: Box<[ChoiceSigs]>,
    first_choice: u32,
    /// `Z NSEC \000.Z`, by [`Missing`].
    pub apex_nsec: [Nsec; 3],
    /// `*.Z NSEC Z`, by [`Missing`].
    pub wildcard_nsec: [Nsec; 3],
    /// `\000.Z NSEC *.Z`.
    pub gap_nsec: Nsec,
}

impl ZoneSigs {
    /// The signatures of choice `idx` (empty for referrals, relays and triangles).
    pub fn choice(&self, idx: u32) -> Option<&ChoiceSigs> {
        self.choices
            .get(idx.checked_sub(self.first_choice)? as usize)
    }

    /// The NSEC that proves `next_closer` (the label of the query name just below the
    /// zone, lower case) absent: names sorting before `*` fall in the gap.
    pub fn covering(&self, next_closer: &[u8]) -> &Nsec {
        if next_closer.first().is_some_and(|&b| b < b'*') {
            &self.gap_nsec
        } else {
            &self.wildcard_nsec[Missing::Other as usize]
        }
    }
}

/// What signing needs besides the keys.
struct Signer<'a> {
    keys: &'a [Arc<KeyPair>],
    zone: &'a [u8],
    window: Window,
    ttl: u32,
    cache: &'a mut SigCache,
    previous: &'a SigCache,
}

impl Signer<'_> {
    fn sign(&mut self, owner: &[u8], labels: u8, rtype: u16, rdatas: &[&[u8]]) -> Sigs {
        self.keys
            .iter()
            .map(|k| {
                rrsig(
                    k,
                    self.zone,
                    owner,
                    labels,
                    rtype,
                    self.ttl,
                    rdatas,
                    self.window,
                    self.cache,
                    self.previous,
                )
            })
            .collect()
    }

    fn nsec(&mut self, owner: Vec<u8>, next: &[u8], types: &[u16]) -> Nsec {
        let mut rdata = next.to_vec();
        rdata.extend_from_slice(&type_bitmap(types));
        // RFC 4034 §3.1.3: a leading `*` label is not counted.
        let labels = label_count(&owner) - u8::from(owner.starts_with(b"\x01*"));
        let sigs = self.sign(&owner, labels, dnssec::rtype::NSEC, &[&rdata]);
        Nsec {
            owner: owner.into(),
            rdata: rdata.into(),
            sigs,
        }
    }
}

fn prefixed(label: &[u8], zone: &[u8]) -> Vec<u8> {
    let mut out = vec![label.len() as u8];
    out.extend_from_slice(label);
    out.extend_from_slice(zone);
    out
}

/// Signs the zone of `customer` (its wire name `zone`, lower case) with `keys`.
pub(super) fn sign_zone(
    snap: &Snapshot,
    customer: &Customer,
    zone: &[u8],
    keys: &[Arc<KeyPair>],
    window: Window,
    cache: &mut SigCache,
    previous: &SigCache,
) -> ZoneSigs {
    let mut s = Signer {
        keys,
        zone,
        window,
        ttl: snap.ttl,
        cache,
        previous,
    };
    let labels = label_count(zone);
    let wildcard = prefixed(b"*", zone);
    let gap = prefixed(b"\0", zone);

    let dnskeys: Box<[Box<[u8]>]> = keys.iter().map(|k| k.public.rdata().into()).collect();
    let dnskey_refs: Vec<&[u8]> = dnskeys.iter().map(|k| &k[..]).collect();
    let dnskey_sigs = s.sign(zone, labels, dnssec::rtype::DNSKEY, &dnskey_refs);
    let soa = s.sign(zone, labels, rtype::SOA, &[&customer.soa_rdata]);
    let ns_refs: Vec<&[u8]> = snap.ns_wire.iter().map(|n| &n[..]).collect();
    let ns = s.sign(zone, labels, rtype::NS, &ns_refs);

    let coverage = &snap.coverages[customer.coverage as usize];
    let mut entries: Vec<u32> = coverage.per_region.iter().flatten().copied().collect();
    entries.sort_unstable();
    entries.dedup();
    let mut indices: Vec<u32> = entries
        .iter()
        .flat_map(|&e| snap.entries[e as usize].other.choices.iter().copied())
        .collect();
    indices.sort_unstable();
    indices.dedup();
    let first_choice = indices.first().copied().unwrap_or(0);
    let span = indices
        .last()
        .map_or(0, |&l| (l - first_choice) as usize + 1);
    let mut choices: Vec<ChoiceSigs> = (0..span).map(|_| ChoiceSigs::default()).collect();
    {
        for idx in indices {
            let sigs = match &snap.choices[idx as usize].answer {
                Answer::Address { rtype: t, rdata } => ChoiceSigs {
                    apex: s.sign(zone, labels, *t, &[rdata]),
                    wildcard: s.sign(&wildcard, labels, *t, &[rdata]),
                    dname: None,
                },
                Answer::Alias(target) => ChoiceSigs {
                    apex: s.sign(zone, labels, rtype::CNAME, &[target]),
                    wildcard: s.sign(&wildcard, labels, rtype::CNAME, &[target]),
                    dname: None,
                },
                Answer::AliasSuffix(suffix) => {
                    // Z + suffix: the CNAME target at the apex, the DNAME target below.
                    let mut target = zone[..zone.len() - 1].to_vec();
                    target.extend_from_slice(suffix);
                    target.push(0);
                    let apex = s.sign(zone, labels, rtype::CNAME, &[&target]);
                    let dname = s.sign(zone, labels, dnssec::rtype::DNAME, &[&target]);
                    ChoiceSigs {
                        apex,
                        wildcard: Box::new([]),
                        dname: Some((target.into(), dname)),
                    }
                }
                Answer::Referral(_) | Answer::Relay(_) | Answer::Triangle(_) => continue,
            };
            choices[(idx - first_choice) as usize] = sigs;
        }
    }

    use dnssec::rtype::{DNSKEY, NSEC, RRSIG};
    let without = |types: &[u16], missing: Missing| -> Vec<u16> {
        types
            .iter()
            .copied()
            .filter(|&t| match missing {
                Missing::A => t != rtype::A,
                Missing::Aaaa => t != rtype::AAAA,
                Missing::Other => true,
            })
            .collect()
    };
    let apex_types = [
        rtype::A,
        rtype::NS,
        rtype::SOA,
        rtype::AAAA,
        RRSIG,
        NSEC,
        DNSKEY,
    ];
    let below_types = [rtype::A, rtype::AAAA, RRSIG, NSEC];
    let variants = [Missing::A, Missing::Aaaa, Missing::Other];
    let apex_nsec = variants.map(|m| s.nsec(zone.to_vec(), &gap, &without(&apex_types, m)));
    let wildcard_nsec = variants.map(|m| s.nsec(wildcard.clone(), zone, &without(&below_types, m)));
    let gap_nsec = s.nsec(gap.clone(), &wildcard, &[RRSIG, NSEC]);
    ZoneSigs {
        dnskeys,
        dnskey_sigs,
        soa,
        ns,
        choices: choices.into(),
        first_choice,
        apex_nsec,
        wildcard_nsec,
        gap_nsec,
    }
}

/// The zone keys and window a snapshot was signed with, and its signatures by what they
/// sign (for the next commit to reuse).
#[derive(Debug, Default)]
pub struct Signing {
    /// The keys, by zone.
    pub keys: Arc<ZoneKeys>,
    /// When the signatures are valid.
    pub window: Option<Window>,
    /// Every signature made or reused for this snapshot.
    pub cache: SigCache,
}

impl Snapshot {
    /// This snapshot with every zone that has keys signed for `window`; signatures of
    /// `previous` over the same bytes are reused.
    #[must_use]
    pub fn signed(mut self, keys: Arc<ZoneKeys>, window: Window, previous: &SigCache) -> Self {
        let mut cache = SigCache::new();
        let mut customers = std::mem::take(&mut self.customers).into_vec();
        for customer in &mut customers {
            let zone = crate::wire::name_to_wire(customer.name.as_str());
            let zone_keys = keys.of(&zone);
            customer.signed = (!zone_keys.is_empty()).then(|| {
                Box::new(sign_zone(
                    &self, customer, &zone, zone_keys, window, &mut cache, previous,
                ))
            });
        }
        self.customers = customers.into();
        self.signing = Signing {
            keys,
            window: Some(window),
            cache,
        };
        self
    }

    /// The keys, window and signatures this snapshot was signed with.
    pub fn signing(&self) -> &Signing {
        &self.signing
    }

    /// What validating resolvers will not find secure although a key signs the zone: a
    /// referral (`N:`) in a signed zone's coverage (the DS of a signed apex is its
    /// parent's, so no proof can go with a referral of it), and a name bound below a
    /// signed one without a key of its own (answered unsigned inside a signed zone).
    pub fn signing_gaps(&self) -> Vec<String> {
        let mut gaps = Vec::new();
        for c in self.customers.iter().filter(|c| c.signed.is_some()) {
            let coverage = &self.coverages[c.coverage as usize];
            let refers = coverage.per_region.iter().flatten().any(|&e| {
                self.entries[e as usize]
                    .other
                    .choices
                    .iter()
                    .any(|&i| matches!(self.choices[i as usize].answer, Answer::Referral(_)))
            });
            if refers {
                gaps.push(format!(
                    "{} is signed but its coverage {} refers (N:): those answers cannot be proven",
                    c.name, coverage.name
                ));
            }
            for below in self.customers.iter() {
                if below.signed.is_none() && below.name != c.name && below.name.is_within(&c.name) {
                    gaps.push(format!(
                        "{} is bound below signed {} without a key: its answers are unsigned",
                        below.name, c.name
                    ));
                }
            }
        }
        gaps
    }
}
