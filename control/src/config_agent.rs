//! The configuration agent: reads `regions.txt`, `cdn.txt` and `customer.txt` (spec §2)
//! at start and on reset, and turns them into a fresh model. A bad file is reported as
//! `FILE:LINE:COL: message` (every error found, one per line) and changes nothing: the
//! caller keeps its model until a read succeeds.

use broker_cluster::SeedTexts;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use broker_config::deploy::ControlRole;
use broker_config::transaction::RegionDef;
use broker_config::{AgentFile, AgentFiles, Name, ParseError, Pos};
use broker_policy::model::{CdnSpec, Model, ModelError};

/// Where the three files are.
#[derive(Clone, Debug)]
pub(crate) struct ConfigPaths {
    regions: PathBuf,
    cdns: PathBuf,
    customers: PathBuf,
}

impl ConfigPaths {
    pub(crate) fn of(role: &ControlRole) -> Self {
        Self {
            regions: role.regions.clone(),
            cdns: role.cdns.clone(),
            customers: role.customers.clone(),
        }
    }

    fn path(&self, file: AgentFile) -> &Path {
        match file {
            AgentFile::Regions => &self.regions,
            AgentFile::Cdns => &self.cdns,
            AgentFile::Customers => &self.customers,
        }
    }
}

/// What the three files say, ready for the event loop.
#[derive(Clone, Debug)]
pub(crate) struct LoadedConfig {
    /// CDNs, customers and regions, with no feedback yet.
    pub(crate) model: Model,
    /// The region definitions (prefixes) in file order, for engines and proxies.
    pub(crate) regions: Vec<RegionDef>,
    /// Each CDN as `cdn.txt` defines it: the reserved capacity a stale CDN falls back to.
    pub(crate) reserved: BTreeMap<Name, CdnSpec>,
}

/// The agent files could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Errors in the files, each at its position.
    #[error("{}", Lines(.0))]
    Invalid(Vec<(PathBuf, ParseError)>),
}

struct Lines<'a>(&'a [(PathBuf, ParseError)]);

impl fmt::Display for Lines<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (path, e)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{}:{e}", path.display())?;
        }
        Ok(())
    }
}

/// Reads and checks the three files.
pub(crate) fn read(paths: &ConfigPaths) -> Result<LoadedConfig, ConfigError> {
    let texts = read_texts(paths)?;
    from_texts(paths, &texts.regions, &texts.cdns, &texts.customers)
}

/// The three files' texts, as they are on disk now.
pub(crate) fn read_texts(paths: &ConfigPaths) -> Result<SeedTexts, ConfigError> {
    let text = |p: &Path| {
        std::fs::read_to_string(p).map_err(|source| ConfigError::Io {
            path: p.to_owned(),
            source,
        })
    };
    Ok(SeedTexts {
        regions: text(&paths.regions)?,
        cdns: text(&paths.cdns)?,
        customers: text(&paths.customers)?,
    })
}

/// The model from the three files' texts (read from disk, or the seed stored in etcd);
/// errors name `paths`' files.
pub(crate) fn from_texts(
    paths: &ConfigPaths,
    regions: &str,
    cdns: &str,
    customers: &str,
) -> Result<LoadedConfig, ConfigError> {
    let files = AgentFiles::parse(regions, cdns, customers).map_err(|errors| {
        ConfigError::Invalid(
            errors
                .into_iter()
                .map(|e| (paths.path(e.file).to_owned(), e.error))
                .collect(),
        )
    })?;
    let model = Model::from_agent_files(&files).map_err(|e| {
        let (file, pos) = locate(&files, &e);
        ConfigError::Invalid(vec![(
            paths.path(file).to_owned(),
            ParseError::new(pos, e.to_string()),
        )])
    })?;
    Ok(LoadedConfig {
        model,
        regions: files
            .regions
            .regions
            .iter()
            .map(|r| r.value.clone())
            .collect(),
        reserved: files
            .cdns
            .cdns
            .iter()
            .map(|c| (c.name.value.clone(), CdnSpec::from(c)))
            .collect(),
    })
}

/// Where in the files a model error (found after the files parsed) comes from.
fn locate(files: &AgentFiles, e: &ModelError) -> (AgentFile, Pos) {
    let customer = |name: &str| {
        files
            .customers
            .get(name)
            .map(|c| (AgentFile::Customers, c.name.pos))
    };
    let cdn = |name: &str| files.cdns.get(name).map(|c| (AgentFile::Cdns, c.name.pos));
    let found = match e {
        ModelError::CustomerName(n) => customer(n.as_str()),
        ModelError::DuplicateCustomer(n) | ModelError::NoCdn(n) => customer(n.as_str()),
        ModelError::DuplicateCdn(n) | ModelError::UnknownCdn(n) => cdn(n.as_str()),
        ModelError::CoverageOutOfRange { cdn: n, .. } => cdn(n.as_str()),
        _ => None,
    };
    found.unwrap_or((AgentFile::Cdns, Pos::new(1, 1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, regions: &str, cdns: &str, customers: &str) -> ConfigPaths {
        let p = |n: &str, t: &str| {
            let path = dir.join(n);
            std::fs::write(&path, t).unwrap();
            path
        };
        ConfigPaths {
            regions: p("regions.txt", regions),
            cdns: p("cdn.txt", cdns),
            customers: p("customer.txt", customers),
        }
    }

    #[test]
    fn good_files_give_a_model_regions_and_reserved_capacity() {
        let dir = tempfile::tempdir().unwrap();
        let paths = write(
            dir.path(),
            "ADD REG FRANCE { 198.54.234.0, 23; }!",
            "ADD CDN C:400000 {A:192.0.2.10} [ FRANCE:90; ]!\nADD CDN G:100000 {A:192.0.2.20} [ FRANCE:60; ]!",
            "ADD CST img.xyz.com [ C; G; ]!",
        );
        let loaded = read(&paths).unwrap();
        assert_eq!(loaded.regions.len(), 1);
        assert_eq!(loaded.model.cdns().count(), 2);
        assert_eq!(loaded.reserved["G"].capacity_kbps, 100_000);
    }

    #[test]
    fn errors_name_the_file_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let paths = write(
            dir.path(),
            "ADD REG FRANCE { 198.54.234.0, 23; }!",
            "ADD CDN C:400000 {A:192.0.2.10} [ SPAIN:90; ]!",
            "ADD CST a [ C; ]!",
        );
        let e = read(&paths).unwrap_err().to_string();
        let cdn = dir.path().join("cdn.txt");
        assert_eq!(
            e,
            format!(
                "{}:1:35: unknown region SPAIN (not in regions.txt)",
                cdn.display()
            )
        );
        std::fs::remove_file(&paths.customers).unwrap();
        let e = read(&paths).unwrap_err().to_string();
        assert!(e.starts_with(&paths.customers.display().to_string()), "{e}");
    }
}
