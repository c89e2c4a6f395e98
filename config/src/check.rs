//! `cdnbroker check FILE...`: validates deployment files (§7) and every ASCII format of
//! the spec, each on its own and all together (spec §7, last paragraph).
//!
//! [`check_files`] takes the files' names and bytes, tells their formats apart by content
//! (or by the key of a deployment file that names them), parses each, then resolves names
//! across them: the regions cdn.txt uses, the CDNs customer.txt uses, the files and
//! partners a deployment names, and what two deployments that peer expect of each other.
//! Files a deployment names but that were not given are read through a [`FileSource`].
//!
//! ```
//! use broker_config::check::{check_files, Disk};
//! let report = check_files(&[("customer.txt".into(), b"ADD CST xyz [ C; G; ]!".to_vec())], &Disk);
//! assert!(report.errors.is_empty());
//! assert_eq!(report.files[0].to_string(), "customer.txt: customer.txt (§2): 1 customer");
//! ```

mod cross;
mod pem;
mod sniff;

use std::fmt;
use std::io;
use std::path::{Component, Path, PathBuf};

use crate::cdn_file::CdnFile;
use crate::customer_file::CustomerFile;
use crate::deploy::{DeployError, Deployment};
use crate::dnssec_key;
use crate::error::{ParseError, Pos};
use crate::events::{Events, ManagementBatch};
use crate::regions_file::RegionsFile;
use crate::tables::Tables;
use crate::transaction::Transaction;

/// Where files named by a deployment but not given are read from.
pub trait FileSource {
    /// The bytes of the file at `path`.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
}

/// Reads from the file system.
#[derive(Clone, Copy, Debug, Default)]
pub struct Disk;

impl FileSource for Disk {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }
}

/// The formats `check` knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// A deployment file (§7, TOML).
    Deployment,
    /// `regions.txt` in the `ADD REG` form (§2).
    Regions,
    /// Client-clustering output (§6), also a valid `regions.txt`.
    RegionList,
    /// `cdn.txt` (§2).
    Cdns,
    /// `customer.txt` (§2).
    Customers,
    /// A DNS engine control transaction (§1).
    Transaction,
    /// Load and management events (§3), with or without the `AUTH` line.
    Events,
    /// PEM certificates and keys named by a deployment.
    Pem,
    /// A DNSSEC key pair in BIND's format (§10): its `.key` or `.private` file.
    DnssecKey,
}

impl Format {
    /// A short human name.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Deployment => "deployment (§7)",
            Self::Regions => "regions.txt (§2)",
            Self::RegionList => "region list (§6)",
            Self::Cdns => "cdn.txt (§2)",
            Self::Customers => "customer.txt (§2)",
            Self::Transaction => "transaction (§1)",
            Self::Events => "events (§3)",
            Self::Pem => "PEM",
            Self::DnssecKey => "DNSSEC key (§10)",
        }
    }
}

/// One problem: prints `FILE:LINE:COL: message` (or `FILE: message` without position).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckError {
    /// The file, as given (or as a deployment names it).
    pub file: String,
    /// Where in it; `None` for the file as a whole (unreadable, unknown format).
    pub pos: Option<Pos>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pos {
            Some(pos) => write!(f, "{}:{pos}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// What a file that checked out holds: prints `FILE: FORMAT: detail`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileSummary {
    /// The file.
    pub file: String,
    /// Its format.
    pub format: Format,
    /// Counts of what is in it.
    pub detail: String,
}

impl fmt::Display for FileSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}: {}",
            self.file,
            self.format.describe(),
            self.detail
        )
    }
}

/// The outcome of a check.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// One line per file read (given, then named by a deployment), in that order.
    pub files: Vec<FileSummary>,
    /// Every error, by file then position.
    pub errors: Vec<CheckError>,
    /// Things that work but are unsafe (e.g. an open DNS control port without a token,
    /// spec §11); they do not fail the check.
    pub warnings: Vec<CheckError>,
}

impl Report {
    /// True when no error was found.
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Checks `inputs` (name, bytes) alone and together; files that a deployment names and
/// that are not among them are read from `source`, relative to the deployment.
pub fn check_files(inputs: &[(String, Vec<u8>)], source: &dyn FileSource) -> Report {
    let mut ck = Checker::default();
    for (label, bytes) in inputs {
        ck.load(label.clone(), bytes, None);
    }
    ck.load_named_files(source);
    for i in 0..ck.files.len() {
        ck.parse(i);
    }
    ck.check_key_folders();
    cross::check(&mut ck);
    ck.into_report()
}

/// A file being checked.
struct File {
    label: String,
    /// The lexically normalised path, to match the paths deployments name.
    path: PathBuf,
    text: String,
    format: Option<Format>,
    parsed: Option<Parsed>,
}

/// A file that parsed.
enum Parsed {
    Deployment(Box<Deployment>),
    Regions(RegionsFile),
    Cdns(CdnFile),
    Customers(CustomerFile),
    Transaction(Transaction, Tables),
    Events(Events),
    Pem(Vec<String>),
    /// A key pair: its zone, tag and algorithm, for the summary.
    Key(String),
}

#[derive(Default)]
struct Checker {
    files: Vec<File>,
    errors: Vec<(usize, CheckError)>,
    /// The key pairs of `[dns] dnssec` folders that read well.
    key_summaries: Vec<FileSummary>,
    warnings: Vec<CheckError>,
}

impl Checker {
    fn error(&mut self, file: usize, pos: Option<Pos>, message: impl Into<String>) {
        let error = CheckError {
            file: self.files[file].label.clone(),
            pos,
            message: message.into(),
        };
        if !self.errors.iter().any(|(_, e)| *e == error) {
            self.errors.push((file, error));
        }
    }

    fn warning(&mut self, file: usize, pos: Option<Pos>, message: impl Into<String>) {
        self.warnings.push(CheckError {
            file: self.files[file].label.clone(),
            pos,
            message: message.into(),
        });
    }

    fn parse_error(&mut self, file: usize, e: &ParseError) {
        self.error(file, Some(e.pos), e.message.clone());
    }

    /// Adds a file; `format` forces its format (a deployment named it for a role).
    fn load(&mut self, label: String, bytes: &[u8], format: Option<Format>) -> usize {
        let index = self.files.len();
        let (text, utf8_error) = match std::str::from_utf8(bytes) {
            Ok(t) => (t.to_owned(), None),
            Err(e) => (String::new(), Some(e.valid_up_to())),
        };
        let format = format
            .or_else(|| sniff::sniff(&text))
            .or_else(|| format_of_extension(&label));
        self.files.push(File {
            path: normalize(Path::new(&label)),
            label,
            format,
            text,
            parsed: None,
        });
        if let Some(valid) = utf8_error {
            let before = &bytes[..valid];
            let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
            let col = valid
                - before
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |i| i + 1)
                + 1;
            let clamp = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
            self.error(
                index,
                Some(Pos::new(clamp(line), clamp(col))),
                "not UTF-8 text",
            );
            self.files[index].format = None;
        } else if self.files[index].format.is_none() {
            self.error(
                index,
                None,
                "unknown format: expected a deployment (TOML), regions.txt, cdn.txt, \
                 customer.txt, a transaction, events, a region list or PEM",
            );
        }
        if self.files[index].format == Some(Format::Deployment) {
            self.parse(index);
        }
        index
    }

    /// Finds the files the deployments name: among those given, or read from `source`.
    fn load_named_files(&mut self, source: &dyn FileSource) {
        let mut wanted: Vec<(usize, &'static str, PathBuf)> = Vec::new();
        for (i, f) in self.files.iter().enumerate() {
            if let Some(Parsed::Deployment(d)) = &f.parsed {
                for (key, path) in d.input_files() {
                    wanted.push((i, key, path.to_owned()));
                }
            }
        }
        for (toml, key, path) in wanted {
            let format = format_of_key(key);
            let norm = normalize(&path);
            if let Some(found) = self.files.iter().position(|f| f.path == norm) {
                let file = &mut self.files[found];
                if file.format != Some(format) && file.parsed.is_none() {
                    file.format = Some(format);
                    // A sniffing complaint no longer applies once the role is known.
                    self.errors
                        .retain(|(i, e)| !(*i == found && e.pos.is_none()));
                }
                continue;
            }
            match source.read(&path) {
                Ok(bytes) => {
                    self.load(path.display().to_string(), &bytes, Some(format));
                }
                Err(e) => {
                    let pos = cross::key_pos(&self.files[toml].text, key, &path);
                    self.error(toml, pos, format!("cannot read {}: {e}", path.display()));
                }
            }
        }
    }

    fn parse(&mut self, i: usize) {
        if self.files[i].parsed.is_some() {
            return;
        }
        let text = &self.files[i].text;
        let label = Path::new(&self.files[i].label);
        let parsed = match self.files[i].format {
            None => return,
            Some(Format::Deployment) => match Deployment::parse(text, label) {
                Ok(d) => Ok(Parsed::Deployment(Box::new(d))),
                Err(errors) => {
                    for e in &errors.errors {
                        self.deploy_error(i, e);
                    }
                    return;
                }
            },
            Some(Format::Regions | Format::RegionList) => {
                RegionsFile::parse(text).map(Parsed::Regions)
            }
            Some(Format::Cdns) => CdnFile::parse(text).map(Parsed::Cdns),
            Some(Format::Customers) => CustomerFile::parse(text).map(Parsed::Customers),
            Some(Format::Transaction) => Transaction::parse(text).and_then(|tx| {
                // Checked alone against empty tables (spec §7).
                let mut tables = Tables::new();
                tables.apply(&tx).map(|()| Parsed::Transaction(tx, tables))
            }),
            Some(Format::Events) => {
                if text.trim_start().starts_with("AUTH") {
                    ManagementBatch::parse(text).map(|b| Parsed::Events(b.events))
                } else {
                    Events::parse(text).map(Parsed::Events)
                }
            }
            Some(Format::Pem) => pem::pem_labels(text).map(Parsed::Pem),
            Some(Format::DnssecKey) => {
                // One half alone says little: the pair is read from beside this file.
                match dnssec_key::read_pair(&label.with_extension("key")) {
                    Ok(pair) => Ok(Parsed::Key(key_summary(&pair))),
                    Err(e) => {
                        self.key_error(i, &e);
                        return;
                    }
                }
            }
        };
        match parsed {
            Ok(p) => self.files[i].parsed = Some(p),
            Err(e) => self.parse_error(i, &e),
        }
    }

    /// A key error: it may name the other half of the pair, which keeps its own name.
    fn key_error(&mut self, i: usize, e: &dnssec_key::KeyError) {
        let error = CheckError {
            file: e.file.display().to_string(),
            pos: e.pos,
            message: e.message.clone(),
        };
        if !self.errors.iter().any(|(_, have)| *have == error) {
            self.errors.push((i, error));
        }
    }

    /// The `[dns] dnssec` folders of the deployments: every pair in them must read and
    /// match (spec §10); each good pair gets a summary line.
    fn check_key_folders(&mut self) {
        let folders: Vec<(usize, PathBuf)> = self
            .files
            .iter()
            .enumerate()
            .filter_map(|(i, f)| match &f.parsed {
                Some(Parsed::Deployment(d)) => Some((i, d.dns.as_ref()?.dnssec.clone()?)),
                _ => None,
            })
            .collect();
        for (toml, dir) in folders {
            match dnssec_key::read_folder(&dir) {
                Ok(pairs) => {
                    for pair in pairs {
                        let stem = format!(
                            "K{}.+{:03}+{:05}.key",
                            pair.public.zone,
                            pair.public.algorithm.number(),
                            pair.public.key_tag()
                        );
                        self.key_summaries.push(FileSummary {
                            file: dir.join(stem).display().to_string(),
                            format: Format::DnssecKey,
                            detail: key_summary(&pair),
                        });
                    }
                }
                Err(errors) => {
                    for e in &errors {
                        self.key_error(toml, e);
                    }
                }
            }
        }
    }

    fn deploy_error(&mut self, i: usize, e: &DeployError) {
        self.error(i, Some(e.pos()), e.message());
    }

    fn into_report(mut self) -> Report {
        self.errors
            .sort_by_key(|(i, e)| (*i, e.pos.unwrap_or_default()));
        let failed: Vec<usize> = self.errors.iter().map(|(i, _)| *i).collect();
        let files = self
            .files
            .iter()
            .enumerate()
            .filter(|(i, _)| !failed.contains(i))
            .filter_map(|(_, f)| {
                Some(FileSummary {
                    file: f.label.clone(),
                    format: f.format?,
                    detail: summary(f.parsed.as_ref()?),
                })
            })
            .chain(self.key_summaries)
            .collect();
        Report {
            files,
            errors: self.errors.into_iter().map(|(_, e)| e).collect(),
            warnings: self.warnings,
        }
    }
}

/// When content tells nothing (e.g. a TOML file that starts with a syntax error), the
/// extension picks the parser, so that its error is reported with a position.
fn format_of_extension(label: &str) -> Option<Format> {
    match Path::new(label).extension()?.to_str()? {
        "toml" => Some(Format::Deployment),
        "pem" | "key" | "crt" => Some(Format::Pem),
        "private" => Some(Format::DnssecKey),
        _ => None,
    }
}

/// The format a deployment key names.
fn format_of_key(key: &str) -> Format {
    match key {
        "dns.load" => Format::Transaction,
        "control.regions" => Format::Regions,
        "control.cdns" => Format::Cdns,
        "control.customers" => Format::Customers,
        _ => Format::Pem,
    }
}

fn summary(parsed: &Parsed) -> String {
    let n = |count: usize, one: &str, many: &str| {
        format!("{count} {}", if count == 1 { one } else { many })
    };
    match parsed {
        Parsed::Deployment(d) => {
            let mut roles = Vec::new();
            if d.dns.is_some() {
                roles.push("dns");
            }
            if d.control.is_some() {
                roles.push("control");
            }
            if d.proxy.is_some() {
                roles.push("proxy");
            }
            if d.edge.is_some() {
                roles.push("edge");
            }
            let offloaders = d.edge.as_ref().map_or(0, |e| e.offloaders.len());
            format!(
                "node {}, roles {}; {}, {}, {}",
                d.node.name,
                if roles.is_empty() {
                    "none".to_owned()
                } else {
                    roles.join(", ")
                },
                n(d.partners.len(), "partner", "partners"),
                n(d.customers.len(), "customer", "customers"),
                n(offloaders, "offloader", "offloaders"),
            )
        }
        Parsed::Regions(r) => {
            let prefixes: usize = r.regions.iter().map(|r| r.value.prefixes.len()).sum();
            format!(
                "{}, {}",
                n(r.regions.len(), "region", "regions"),
                n(prefixes, "prefix", "prefixes")
            )
        }
        Parsed::Cdns(c) => n(c.cdns.len(), "CDN", "CDNs"),
        Parsed::Customers(c) => n(c.customers.len(), "customer", "customers"),
        Parsed::Transaction(tx, tables) => format!(
            "{}; tables after it: {}, {}, {}",
            n(tx.statements.len(), "statement", "statements"),
            n(tables.regions().len(), "region", "regions"),
            n(tables.coverages().len(), "coverage", "coverages"),
            n(tables.customers().len(), "customer", "customers"),
        ),
        Parsed::Events(e) => n(e.events.len(), "event", "events"),
        Parsed::Pem(labels) => labels.join(", "),
        Parsed::Key(summary) => summary.clone(),
    }
}

fn key_summary(pair: &dnssec_key::KeyPair) -> String {
    format!(
        "zone {}, tag {}, algorithm {}, flags {}",
        pair.public.zone,
        pair.public.key_tag(),
        pair.public.algorithm.number(),
        pair.public.flags
    )
}

/// `a/./b/../c` → `a/c`, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_is_lexical() {
        assert_eq!(normalize(Path::new("a/./b/../c.txt")), Path::new("a/c.txt"));
        assert_eq!(normalize(Path::new("../x")), Path::new("../x"));
        assert_eq!(normalize(Path::new("./x")), Path::new("x"));
    }
}
