//! The routing tables as the data path reads them: the `[[partner]]` URL forms and the
//! `[[customer]]` site, offload and origin tables of a deployment (spec §7), behind one
//! atomic pointer, [`SharedRouting`]. The control component owns it and swaps in a new
//! [`Routing`] when an operator edits the tables (validated whole first, so a rejected
//! edit changes nothing); a front proxy in the same process loads it once per request
//! and rebuilds its derived tables when the [`Routing::generation`] moved.
//!
//! It sits here, beside [`crate::live::LivePlan`], because both control (config, policy)
//! and the proxy (config, policy, origin-map) may use this crate.

use std::sync::Arc;

use arc_swap::ArcSwap;
use broker_config::deploy::{Customer, Partner};

/// One version of the routing tables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Routing {
    generation: u64,
    partners: Vec<Partner>,
    customers: Vec<Customer>,
}

/// The shared handle: the owner `store`s a new `Arc<Routing>`, readers `load()`.
pub type SharedRouting = Arc<ArcSwap<Routing>>;

impl Routing {
    /// The tables of `generation` (the deployment's own are generation 1).
    pub fn new(generation: u64, partners: Vec<Partner>, customers: Vec<Customer>) -> Self {
        Self {
            generation,
            partners,
            customers,
        }
    }

    /// Wraps `self` as a fresh shared handle.
    pub fn shared(self) -> SharedRouting {
        Arc::new(ArcSwap::from_pointee(self))
    }

    /// Grows by one with every accepted edit.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The partners, in the deployment's order.
    pub fn partners(&self) -> &[Partner] {
        &self.partners
    }

    /// The customers.
    pub fn customers(&self) -> &[Customer] {
        &self.customers
    }
}

/// Why a part that uses the routing tables (a front proxy, whose URL forms origin-map
/// builds) refuses an edit that the deployment file's validation accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoutingRefusal {
    /// `partner` or `customer`: the kind of table at fault.
    pub table: &'static str,
    /// The name of that partner or customer.
    pub name: String,
    /// Why.
    pub message: String,
}

/// A check an edit must also pass before it is swapped in (see [`RoutingRefusal`]).
pub type RoutingCheck = Box<dyn Fn(&Routing) -> Result<(), RoutingRefusal> + Send + Sync>;
