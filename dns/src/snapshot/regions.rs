//! The compiled regions of a snapshot: the longest-prefix trie and the region names by id.
//!
//! Built only by a commit that changes a region: compiling a million prefixes takes
//! hundreds of milliseconds, while a partner's alert changes only coverages. Snapshots of
//! commits that leave the regions alone share one [`Regions`] behind an `Arc`.

use std::collections::HashMap;
use std::sync::Arc;

use broker_config::Tables;
use broker_config::transaction::DEFAULT_REGION;
use broker_policy::region_table::RegionTable;

use super::DEFAULT_REGION_ID;

/// Region trie and names, compiled from the region table of some `Tables`.
#[derive(Debug)]
pub struct Regions {
    pub(super) table: RegionTable<u32>,
    pub(super) names: Box<[Arc<str>]>,
    ids: HashMap<Arc<str>, u32>,
}

impl Regions {
    /// Compiles the regions of `tables`; `DEFAULT` is id [`DEFAULT_REGION_ID`], the
    /// others follow in name order.
    pub fn build(tables: &Tables) -> Self {
        let default: Arc<str> = Arc::from(DEFAULT_REGION);
        let mut ids = HashMap::with_capacity(tables.regions().len() + 1);
        let mut names = vec![Arc::clone(&default)];
        ids.insert(default, DEFAULT_REGION_ID);
        let mut table = RegionTable::new();
        for (name, prefixes) in tables.regions() {
            let id = *ids.entry(Arc::from(name.as_str())).or_insert_with(|| {
                names.push(Arc::from(name.as_str()));
                (names.len() - 1) as u32
            });
            for net in prefixes {
                table.insert(*net, id);
            }
        }
        Self {
            table,
            names: names.into(),
            ids,
        }
    }

    /// The id of a region (`DEFAULT` included).
    pub fn id(&self, name: &str) -> Option<u32> {
        self.ids.get(name).copied()
    }

    /// Number of regions, `DEFAULT` included: the length of a coverage's per-region index.
    pub fn count(&self) -> usize {
        self.names.len()
    }

    /// Number of prefixes.
    pub fn prefix_count(&self) -> usize {
        self.table.len()
    }
}
