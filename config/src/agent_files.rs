//! The three configuration agent files of spec §2 read together: each is parsed and
//! checked on its own, then names are resolved across them (every region `cdn.txt` uses
//! is in `regions.txt` or is `DEFAULT`; every CDN `customer.txt` uses is in `cdn.txt`).

use std::collections::HashSet;

use crate::cdn_file::CdnFile;
use crate::customer_file::CustomerFile;
use crate::error::ParseError;
use crate::regions_file::RegionsFile;
use crate::transaction::DEFAULT_REGION;

/// Which of the three files an error is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AgentFile {
    /// `regions.txt`.
    Regions,
    /// `cdn.txt`.
    Cdns,
    /// `customer.txt`.
    Customers,
}

impl AgentFile {
    /// The file's conventional name.
    pub fn file_name(self) -> &'static str {
        match self {
            Self::Regions => "regions.txt",
            Self::Cdns => "cdn.txt",
            Self::Customers => "customer.txt",
        }
    }
}

/// An error in one of the agent files: prints as `FILE:LINE:COL: message`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}:{error}", file.file_name())]
pub struct AgentFileError {
    /// The file the error is in.
    pub file: AgentFile,
    /// The error, positioned in that file.
    #[source]
    pub error: ParseError,
}

/// The three files, each valid and all resolving their names among themselves.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AgentFiles {
    /// `regions.txt`.
    pub regions: RegionsFile,
    /// `cdn.txt`.
    pub cdns: CdnFile,
    /// `customer.txt`.
    pub customers: CustomerFile,
}

impl AgentFiles {
    /// Parses the three texts and cross-checks them; on failure returns every error
    /// found (the first of each file that does not parse, then every unresolved name).
    pub fn parse(regions: &str, cdns: &str, customers: &str) -> Result<Self, Vec<AgentFileError>> {
        let at = |file| move |error| AgentFileError { file, error };
        let regions = RegionsFile::parse(regions).map_err(at(AgentFile::Regions));
        let cdns = CdnFile::parse(cdns).map_err(at(AgentFile::Cdns));
        let customers = CustomerFile::parse(customers).map_err(at(AgentFile::Customers));
        let mut errors = cross_check(
            regions.as_ref().ok(),
            cdns.as_ref().ok(),
            customers.as_ref().ok(),
        );
        match (regions, cdns, customers) {
            (Ok(regions), Ok(cdns), Ok(customers)) if errors.is_empty() => Ok(Self {
                regions,
                cdns,
                customers,
            }),
            (regions, cdns, customers) => {
                let mut parse_errors: Vec<_> = [regions.err(), cdns.err(), customers.err()]
                    .into_iter()
                    .flatten()
                    .collect();
                parse_errors.append(&mut errors);
                Err(parse_errors)
            }
        }
    }
}

/// Resolves names across whichever files are given: regions of `cdns` against `regions`,
/// CDNs of `customers` against `cdns`. A pair with a missing file is not checked. Returns
/// every unresolved name, in file order.
pub fn cross_check(
    regions: Option<&RegionsFile>,
    cdns: Option<&CdnFile>,
    customers: Option<&CustomerFile>,
) -> Vec<AgentFileError> {
    let mut errors = Vec::new();
    if let (Some(regions), Some(cdns)) = (regions, cdns) {
        let known: HashSet<&str> = regions
            .regions
            .iter()
            .map(|r| r.value.name.as_str())
            .collect();
        for cdn in &cdns.cdns {
            for c in &cdn.coverage {
                let region = c.region.value.as_str();
                if region != DEFAULT_REGION && !known.contains(region) {
                    errors.push(AgentFileError {
                        file: AgentFile::Cdns,
                        error: ParseError::new(
                            c.region.pos,
                            format!("unknown region {region} (not in regions.txt)"),
                        ),
                    });
                }
            }
        }
    }
    if let (Some(cdns), Some(customers)) = (cdns, customers) {
        let known: HashSet<&str> = cdns.cdns.iter().map(|c| c.name.value.as_str()).collect();
        for customer in &customers.customers {
            for cdn in &customer.cdns {
                if !known.contains(cdn.value.as_str()) {
                    errors.push(AgentFileError {
                        file: AgentFile::Customers,
                        error: ParseError::new(
                            cdn.pos,
                            format!("unknown CDN {} (not in cdn.txt)", cdn.value),
                        ),
                    });
                }
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    const REGIONS: &str = "ADD REG FRANCE { 198.54.234.0, 23; }!\nGERMANY { 196.8.0.0,16; }\n";
    const CDNS: &str = "\
ADD CDN C:400000 {A:192.0.2.10} [ FRANCE:90; GERMANY:40; DEFAULT:50; ]!
ADD CDN G:100000 {N:(ns1.cdn-g.example 198.51.100.53)} [ FRANCE:60; GERMANY:95; ]!
";
    const CUSTOMERS: &str = "ADD CST img.xyz.com [ C; G; ]!\n";

    #[test]
    fn the_spec_examples_resolve_among_themselves() {
        let files = AgentFiles::parse(REGIONS, CDNS, CUSTOMERS).unwrap();
        assert_eq!(files.regions.regions.len(), 2);
        assert_eq!(files.cdns.cdns.len(), 2);
        assert_eq!(files.customers.customers.len(), 1);
    }

    #[test]
    fn every_unresolved_name_is_reported_with_its_file_and_position() {
        let errors = AgentFiles::parse(
            "ADD REG FRANCE { 198.54.234.0, 23; }!",
            CDNS,
            "ADD CST a [ C; X; ]!\nADD CST b [ Y ]!",
        )
        .unwrap_err();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "cdn.txt:1:46: unknown region GERMANY (not in regions.txt)",
                "cdn.txt:2:69: unknown region GERMANY (not in regions.txt)",
                "customer.txt:1:16: unknown CDN X (not in cdn.txt)",
                "customer.txt:2:13: unknown CDN Y (not in cdn.txt)",
            ]
        );
    }

    #[test]
    fn a_file_that_does_not_parse_is_reported_and_the_others_still_checked() {
        let errors = AgentFiles::parse("ADD REG X {", CDNS, "ADD CST a [ Z; ]!").unwrap_err();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "regions.txt:1:12: expected an IP address, found end of input",
                "customer.txt:1:13: unknown CDN Z (not in cdn.txt)",
            ]
        );
    }

    #[test]
    fn missing_files_skip_their_checks() {
        let cdns = CdnFile::parse(CDNS).unwrap();
        assert!(cross_check(None, Some(&cdns), None).is_empty());
        let regions = RegionsFile::parse("A { 1.0.0.0,8; }").unwrap();
        assert_eq!(cross_check(Some(&regions), Some(&cdns), None).len(), 4);
    }
}
