//! Spec §1: DNS engine control transactions (the seed's "DNS-Control Interface").

use std::net::IpAddr;

use ipnet::IpNet;

use crate::error::Pos;
use crate::name::{DnsName, Name};

/// A region name; `DEFAULT` is reserved for "every address no region holds".
pub const DEFAULT_REGION: &str = "DEFAULT";

/// One whole transaction: its fencing epoch, if any, then the statements in order, each
/// with where it starts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Transaction {
    /// `EPOCH <n>!`, which may only open a transaction (spec §1, "Fencing"): the engine
    /// refuses the whole transaction when `n` is below the highest epoch it has committed.
    /// `None`: no epoch was written.
    pub epoch: Option<Located<u64>>,
    /// The statements, in the order they were written.
    pub statements: Vec<Located<Statement>>,
}

impl Transaction {
    /// The same transaction fenced by `epoch` (printed first as `EPOCH <epoch>!`),
    /// replacing any epoch it had: what a control leader sends to its engines (spec §8).
    #[must_use]
    pub fn with_epoch(mut self, epoch: u64) -> Self {
        self.epoch = Some(Located {
            pos: Pos::default(),
            value: epoch,
        });
        self
    }
}

/// A value with the position of its first token, for semantic errors found later.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located<T> {
    /// Where the value starts in the text.
    pub pos: Pos,
    /// The value.
    pub value: T,
}

/// One statement of a transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Statement {
    /// `ADD REG <region> { <ip>, <len>; ... }!`
    AddRegion(RegionDef),
    /// `ADD CVG <coverage> { <region>, <action>; ... }!`
    AddCoverage(CoverageDef),
    /// `ADD CST <domain> { <coverage>; }!`
    AddCustomer(CustomerBinding),
    /// `UPDATE CVG <coverage>, <region> : <action>!`
    UpdateCoverage {
        /// The coverage to change.
        coverage: Name,
        /// The region whose action is replaced (or added).
        region: Located<Name>,
        /// The new action.
        action: Action,
    },
    /// `DEL <name> : REG|CVG|CST!`
    Delete {
        /// The name to delete (a DNS name for `CST`, kept as written).
        name: String,
        /// Which table it is deleted from.
        kind: TableKind,
    },
    /// `RESET!`
    Reset,
}

/// The three tables of the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TableKind {
    /// Region table (`REG`).
    Region,
    /// Coverage table (`CVG`).
    Coverage,
    /// Customer table (`CST`).
    Customer,
}

/// A region: a name and its prefixes (host bits clear).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegionDef {
    /// Region name.
    pub name: Name,
    /// Its prefixes, IPv4 and IPv6, in the order written.
    pub prefixes: Vec<IpNet>,
}

/// A coverage table: per region, the weighted lookups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoverageDef {
    /// Coverage name.
    pub name: Name,
    /// One action per region (positions kept for "unknown region" errors).
    pub entries: Vec<(Located<Name>, Action)>,
}

/// `ADD CST <domain> { <coverage>; }!`: binds a DNS name and everything below it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerBinding {
    /// The bound DNS name.
    pub domain: DnsName,
    /// The coverage it uses (position kept for "unknown coverage" errors).
    pub coverage: Located<Name>,
}

/// `[ <weight> = <lookup>; ... ]`: a weighted choice; the weights' sum must be > 0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Action {
    /// The choices, in the order written.
    pub choices: Vec<Weighted>,
}

/// One weighted choice of an action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Weighted {
    /// Non-negative weight; normalised by the action's sum.
    pub weight: u32,
    /// What to answer when this choice is drawn.
    pub lookup: Lookup,
}

/// How a client is sent to a CDN by DNS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// `A:<ip>`: an A (IPv4) or AAAA (IPv6) record.
    Address(IpAddr),
    /// `N:(<ns> <ip>), ...`: a referral with NS records and glue.
    Referral(Vec<NameServer>),
    /// `C:<target>`: a CNAME.
    Alias(CnameTarget),
    /// `T:(<ns> <ip>)`: triangle: forward with the client's address as source.
    Triangle(NameServer),
    /// `R:(<ns> <ip>)`: relay: forward the query and relay the answer back.
    Relay(NameServer),
}

/// A name server with its address (glue).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameServer {
    /// The server's DNS name.
    pub name: DnsName,
    /// Its address.
    pub addr: IpAddr,
}

/// The target of a `C:` lookup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CnameTarget {
    /// `C:.suffix`: the query name with this suffix appended.
    Suffix(DnsName),
    /// `C:name`: this name as written.
    Name(DnsName),
}
