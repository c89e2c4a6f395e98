//! The edge's region table: which region a client address is in, for per-region load.

use std::net::IpAddr;

use broker_config::RegionsFile;
use broker_config::status::RegionId;
use broker_policy::region_table::RegionTable;
use ipnet::IpNet;

/// Region names (index = region number) and the longest-prefix table over them. The last
/// region is always `DEFAULT`: every address no prefix holds.
#[derive(Clone, Debug)]
pub struct Regions {
    names: Vec<RegionId>,
    table: RegionTable<u16>,
}

/// Why a region table cannot be used for status reports.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegionsError {
    /// A region name that a §4 report cannot carry (`[A-Za-z0-9.]+`).
    #[error("region {0:?} cannot be named in a status report (letters, digits and dots only)")]
    BadName(String),
    /// More regions than the meter counts.
    #[error("more than 65535 regions")]
    TooMany,
}

impl Regions {
    /// Only `DEFAULT`: every client in one region.
    pub fn default_only() -> Self {
        Self::new(Vec::<(String, Vec<IpNet>)>::new()).unwrap_or_else(|_| unreachable!())
    }

    /// The regions `(name, prefixes)`, in order, then `DEFAULT` (unless given).
    pub fn new<S: AsRef<str>>(
        regions: impl IntoIterator<Item = (S, Vec<IpNet>)>,
    ) -> Result<Self, RegionsError> {
        let mut names = Vec::new();
        let mut table = RegionTable::new();
        for (name, prefixes) in regions {
            let name = name.as_ref();
            let id = RegionId::new(name).map_err(|_| RegionsError::BadName(name.to_owned()))?;
            if name == "DEFAULT" {
                continue;
            }
            let index = u16::try_from(names.len()).map_err(|_| RegionsError::TooMany)?;
            names.push(id);
            for net in prefixes {
                table.insert(net, index);
            }
        }
        names.push(RegionId::new("DEFAULT").map_err(|_| RegionsError::TooMany)?);
        if names.len() > usize::from(u16::MAX) {
            return Err(RegionsError::TooMany);
        }
        Ok(Self { names, table })
    }

    /// The regions of a `regions.txt` (spec §2).
    pub fn from_file(file: &RegionsFile) -> Result<Self, RegionsError> {
        Self::new(
            file.regions
                .iter()
                .map(|r| (r.value.name.as_str().to_owned(), r.value.prefixes.clone())),
        )
    }

    /// The region number of `addr`.
    pub fn region_of(&self, addr: IpAddr) -> u16 {
        self.table
            .lookup(addr)
            .map_or(self.default_index(), |m| m.region)
    }

    /// Every region name, `DEFAULT` last.
    pub fn names(&self) -> &[RegionId] {
        &self.names
    }

    /// The number of the region called `name`.
    pub fn index_of(&self, name: &str) -> Option<u16> {
        self.names
            .iter()
            .position(|n| n.as_str() == name)
            .and_then(|i| u16::try_from(i).ok())
    }

    fn default_index(&self) -> u16 {
        u16::try_from(self.names.len() - 1).unwrap_or(u16::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_then_default() {
        let r = Regions::new([
            ("france", vec!["10.0.0.0/8".parse().unwrap()]),
            ("paris", vec!["10.1.0.0/16".parse().unwrap()]),
        ])
        .unwrap();
        assert_eq!(r.region_of("10.2.3.4".parse().unwrap()), 0);
        assert_eq!(r.region_of("10.1.3.4".parse().unwrap()), 1);
        assert_eq!(r.region_of("::ffff:10.1.3.4".parse().unwrap()), 1);
        assert_eq!(r.region_of("192.0.2.1".parse().unwrap()), 2);
        assert_eq!(r.names()[2].as_str(), "DEFAULT");
        assert_eq!(r.index_of("paris"), Some(1));
    }

    #[test]
    fn names_must_fit_a_report() {
        assert_eq!(
            Regions::new([("north_east", vec![])]).unwrap_err(),
            RegionsError::BadName("north_east".into())
        );
    }
}
