//! Checks across files: names one file uses and another defines (spec §7), and what two
//! peering deployments expect of each other.

use std::net::SocketAddr;
use std::path::Path;

use super::{Checker, Parsed, normalize};
use crate::agent_files::{AgentFile, cross_check};
use crate::cdn_file::CdnFile;
use crate::customer_file::CustomerFile;
use crate::deploy::{Deployment, HttpUrl, Step, UrlForm, UrlHost, locate, locate_str};
use crate::error::Pos;
use crate::events::{Event, Scope as EventScope};
use crate::name::Name;
use crate::regions_file::RegionsFile;
use crate::transaction::{DEFAULT_REGION, Located};

/// An error found here: which file, where, what.
type Found = (usize, Option<Pos>, String);

pub(super) fn check(ck: &mut Checker) {
    let mut found: Vec<Found> = Vec::new();
    let mut claimed: Vec<usize> = Vec::new();
    let mut warnings = Vec::new();
    for (i, f) in ck.files.iter().enumerate() {
        let Some(Parsed::Deployment(d)) = &f.parsed else {
            continue;
        };
        if let Some(c) = &d.control {
            let trio = [
                ck.index_of(&c.regions),
                ck.index_of(&c.cdns),
                ck.index_of(&c.customers),
            ];
            claimed.extend(trio.iter().flatten());
            agent_files(ck, trio, &mut found);
            roster(ck, i, d, trio[1], trio[2], &mut found);
        }
        pem_roles(ck, i, d, &mut found);
        warnings.extend(open_control_port(ck, i, d).map(|w| (i, w)));
        for (j, g) in ck.files.iter().enumerate() {
            if let Some(Parsed::Deployment(other)) = &g.parsed
                && i != j
            {
                peering(ck, (i, d), (j, other), &mut found);
            }
        }
    }
    for (i, (pos, message)) in warnings {
        ck.warning(i, pos, message);
    }
    // Agent files no deployment names: checked together when there is one of each kind.
    let loose = |kind: fn(&Parsed) -> bool| -> Option<usize> {
        let mut of_kind = ck
            .files
            .iter()
            .enumerate()
            .filter(|(i, f)| !claimed.contains(i) && f.parsed.as_ref().is_some_and(kind));
        match (of_kind.next(), of_kind.next()) {
            (Some((i, _)), None) => Some(i),
            _ => None,
        }
    };
    let trio = [
        loose(|p| matches!(p, Parsed::Regions(_))),
        loose(|p| matches!(p, Parsed::Cdns(_))),
        loose(|p| matches!(p, Parsed::Customers(_))),
    ];
    agent_files(ck, trio, &mut found);
    events(ck, &mut found);
    for (file, pos, message) in found {
        ck.error(file, pos, message);
    }
}

impl Checker {
    fn index_of(&self, path: &Path) -> Option<usize> {
        let norm = normalize(path);
        self.files.iter().position(|f| f.path == norm)
    }

    fn regions(&self, i: Option<usize>) -> Option<&RegionsFile> {
        match &self.files[i?].parsed {
            Some(Parsed::Regions(r)) => Some(r),
            _ => None,
        }
    }

    fn cdns(&self, i: Option<usize>) -> Option<&CdnFile> {
        match &self.files[i?].parsed {
            Some(Parsed::Cdns(c)) => Some(c),
            _ => None,
        }
    }

    fn customers(&self, i: Option<usize>) -> Option<&CustomerFile> {
        match &self.files[i?].parsed {
            Some(Parsed::Customers(c)) => Some(c),
            _ => None,
        }
    }
}

/// Regions of cdn.txt in regions.txt, CDNs of customer.txt in cdn.txt.
fn agent_files(ck: &Checker, trio: [Option<usize>; 3], found: &mut Vec<Found>) {
    let errors = cross_check(ck.regions(trio[0]), ck.cdns(trio[1]), ck.customers(trio[2]));
    for e in errors {
        let file = match e.file {
            AgentFile::Regions => trio[0],
            AgentFile::Cdns => trio[1],
            AgentFile::Customers => trio[2],
        };
        if let Some(file) = file {
            found.push((file, Some(e.error.pos), e.error.message));
        }
    }
}

/// The CDNs and regions §3 events name are in the cdn.txt and regions.txt given (when
/// exactly one of each is given).
fn events(ck: &Checker, found: &mut Vec<Found>) {
    let only = |kind: fn(&Parsed) -> bool| {
        let mut of_kind = ck
            .files
            .iter()
            .enumerate()
            .filter(|(_, f)| f.parsed.as_ref().is_some_and(kind));
        match (of_kind.next(), of_kind.next()) {
            (Some((i, _)), None) => Some(i),
            _ => None,
        }
    };
    let regions_at = only(|p| matches!(p, Parsed::Regions(_)));
    let cdns_at = only(|p| matches!(p, Parsed::Cdns(_)));
    let (regions, cdns) = (ck.regions(regions_at), ck.cdns(cdns_at));
    for (i, f) in ck.files.iter().enumerate() {
        let Some(Parsed::Events(list)) = &f.parsed else {
            continue;
        };
        let mut cdn_names: Vec<&Located<Name>> = Vec::new();
        for event in &list.events {
            match &event.value {
                Event::Load(fig) | Event::Capacity(fig) => {
                    cdn_names.push(&fig.cdn);
                    if let (Some(r), EventScope::Region(name)) = (regions, &fig.scope.value)
                        && name.as_str() != DEFAULT_REGION
                        && r.get(name.as_str()).is_none()
                    {
                        let file = &ck.files[regions_at.unwrap_or(i)].label;
                        found.push((
                            i,
                            Some(fig.scope.pos),
                            format!("unknown region {name} (not in {file})"),
                        ));
                    }
                }
                Event::AddCustomer(c) => cdn_names.extend(&c.cdns),
                Event::RemoveCustomer(_) | Event::Reset => {}
            }
        }
        if let Some(c) = cdns {
            for name in cdn_names {
                if c.get(name.value.as_str()).is_none() {
                    let file = &ck.files[cdns_at.unwrap_or(i)].label;
                    found.push((
                        i,
                        Some(name.pos),
                        format!("unknown CDN {} (not in {file})", name.value),
                    ));
                }
            }
        }
    }
}

/// Every partner is a CDN of cdn.txt; every customer is in customer.txt.
fn roster(
    ck: &Checker,
    toml: usize,
    d: &Deployment,
    cdns: Option<usize>,
    customers: Option<usize>,
    found: &mut Vec<Found>,
) {
    let text = &ck.files[toml].text;
    if let Some(cdn_file) = ck.cdns(cdns) {
        for (n, p) in d.partners.iter().enumerate() {
            if cdn_file.get(p.name.as_str()).is_none() {
                let pos = locate(
                    text,
                    &[Step::Key("partner"), Step::Index(n), Step::Key("name")],
                );
                let file = &ck.files[cdns.unwrap_or(toml)].label;
                found.push((
                    toml,
                    pos,
                    format!("partner {} is not an ADD CDN of {file}", p.name),
                ));
            }
        }
    }
    if let Some(customer_file) = ck.customers(customers) {
        for (n, c) in d.customers.iter().enumerate() {
            if customer_file.get(c.name.as_str()).is_none() {
                let pos = locate(
                    text,
                    &[Step::Key("customer"), Step::Index(n), Step::Key("name")],
                );
                let file = &ck.files[customers.unwrap_or(toml)].label;
                found.push((
                    toml,
                    pos,
                    format!("customer {} is not an ADD CST of {file}", c.name),
                ));
            }
        }
    }
}

/// Certificates, keys and trust roots hold the PEM sections their key needs.
fn pem_roles(ck: &Checker, toml: usize, d: &Deployment, found: &mut Vec<Found>) {
    for (key, path) in d.input_files() {
        let needs = match key {
            "control.tls.key" | "edge.tls.key" => "PRIVATE KEY",
            k if k.ends_with(".cert") || k.ends_with(".ca") => "CERTIFICATE",
            _ => continue,
        };
        let Some(file) = ck.index_of(path) else {
            continue;
        };
        if let Some(Parsed::Pem(labels)) = &ck.files[file].parsed
            && !labels.iter().any(|l| l.ends_with(needs))
        {
            let pos = key_pos(&ck.files[toml].text, key, path);
            found.push((
                toml,
                pos,
                format!("{} has no {needs} section", ck.files[file].label),
            ));
        }
    }
}

/// When `x` offloads to a partner that `y` is, `y`'s edge must expect `x` as an
/// offloader, with the same token and the partner host `x` writes URLs for.
fn peering(
    ck: &Checker,
    (xi, x): (usize, &Deployment),
    (yi, y): (usize, &Deployment),
    found: &mut Vec<Found>,
) {
    let text = &ck.files[xi].text;
    let y_label = &ck.files[yi].label;
    for (n, partner) in x.partners.iter().enumerate() {
        if partner.name != y.node.name {
            continue;
        }
        let at = |key| {
            locate(
                text,
                &[Step::Key("partner"), Step::Index(n), Step::Key(key)],
            )
        };
        let Some(offloader) = y
            .edge
            .as_ref()
            .and_then(|e| e.offloaders.iter().find(|o| o.name == x.node.name))
        else {
            found.push((
                xi,
                at("name"),
                format!(
                    "{y_label} (node {}) has no [[edge.offloader]] named {}",
                    y.node.name, x.node.name
                ),
            ));
            continue;
        };
        if let Some(token) = &partner.token
            && token != &offloader.token
        {
            found.push((
                xi,
                at("token"),
                format!(
                    "token differs from the one {y_label} expects from {}",
                    x.node.name
                ),
            ));
        }
        let registered = match partner.form {
            UrlForm::Embedded => partner
                .host
                .as_ref()
                .is_none_or(|h| offloader.embedded_hosts.contains(h)),
            UrlForm::Semantic => partner.host == offloader.semantic_suffix,
            UrlForm::Table => partner
                .table
                .iter()
                .all(|(origin, host)| offloader.table.get(host) == Some(origin)),
        };
        if !registered {
            let key = if partner.form == UrlForm::Table {
                "table"
            } else {
                "host"
            };
            found.push((
                xi,
                at(key),
                format!(
                    "{y_label} does not serve this {} form for {}",
                    partner.form.as_str(),
                    x.node.name
                ),
            ));
        }
        // The edge refuses origins it does not list: every offloaded host must be there.
        for (c, customer) in x.customers.iter().enumerate() {
            for (h, host) in customer.offload.iter().enumerate() {
                if !offloader.origins.contains_key(host) {
                    let pos = locate(
                        text,
                        &[
                            Step::Key("customer"),
                            Step::Index(c),
                            Step::Key("offload"),
                            Step::Index(h),
                        ],
                    );
                    found.push((
                        xi,
                        pos,
                        format!(
                            "{host} is not among the origins {y_label} allows for {}",
                            x.node.name
                        ),
                    ));
                }
            }
        }
        // Addresses written as IP literals must be where the other side listens.
        let status_listen = y.edge.as_ref().and_then(|e| e.status);
        if let (Some(url), Some(listen)) = (&partner.status, status_listen)
            && let Some(addr) = url_addr(url)
            && addr != listen
        {
            found.push((
                xi,
                at("status"),
                format!("{y_label} serves status reports on {listen}"),
            ));
        }
        let alerts_listen = x.control.as_ref().and_then(|c| c.alerts);
        // Alert URLs written as IP literals must include where the other side listens
        // (one URL per control replica, each its own address).
        let literal: Vec<SocketAddr> = offloader.alert.iter().filter_map(url_addr).collect();
        if let Some(listen) = alerts_listen
            && !literal.is_empty()
            && literal.len() == offloader.alert.len()
            && !literal.contains(&listen)
        {
            let y_text = &ck.files[yi].text;
            let pos = offloader_pos(y, &x.node.name).and_then(|n| {
                locate(
                    y_text,
                    &[
                        Step::Key("edge"),
                        Step::Key("offloader"),
                        Step::Index(n),
                        Step::Key("alert"),
                    ],
                )
            });
            let x_label = &ck.files[xi].label;
            found.push((yi, pos, format!("{x_label} receives alerts on {listen}")));
        }
    }
}

/// The address of a URL whose host is an IP literal.
fn url_addr(url: &HttpUrl) -> Option<SocketAddr> {
    match url.host {
        UrlHost::Ip(ip) => Some(SocketAddr::new(ip, url.port_or_default())),
        UrlHost::Name(_) => None,
    }
}

fn offloader_pos(y: &Deployment, name: &Name) -> Option<usize> {
    y.edge
        .as_ref()?
        .offloaders
        .iter()
        .position(|o| o.name == *name)
}

/// Where a deployment names `path` under `key` (`control.tls.cert`, `partner.ca`...).
pub(super) fn key_pos(text: &str, key: &str, path: &Path) -> Option<Pos> {
    let parts: Vec<&str> = key.split('.').collect();
    let plain: Vec<Step<'_>> = parts.iter().map(|k| Step::Key(k)).collect();
    match parts.as_slice() {
        ["partner", field] => indexed(text, &[Step::Key("partner")], field, path),
        ["edge", "offloader", field] => indexed(
            text,
            &[Step::Key("edge"), Step::Key("offloader")],
            field,
            path,
        ),
        _ => locate(text, &plain),
    }
}

/// The position of `field` in the first element of the array at `array` whose value
/// ends with `path`'s file name (else in the first element that has `field`).
fn indexed(text: &str, array: &[Step<'_>], field: &str, path: &Path) -> Option<Pos> {
    let mut first = None;
    for n in 0.. {
        let mut element = array.to_vec();
        element.push(Step::Index(n));
        if locate(text, &element).is_none() {
            break; // past the end of the array
        }
        element.push(Step::Key(field));
        if let Some((pos, value)) = locate_str(text, &element) {
            let name = value.as_deref().map(Path::new).and_then(Path::file_name);
            if name.is_some() && name == path.file_name() {
                return Some(pos);
            }
            first.get_or_insert(pos);
        }
    }
    first
}

/// Spec §11: a DNS control port without `[dns] token` takes transactions from anyone who
/// reaches it, so it should listen on a loopback or private address only.
fn open_control_port(ck: &Checker, i: usize, d: &Deployment) -> Option<(Option<Pos>, String)> {
    let dns = d.dns.as_ref()?;
    let ip = dns.control.ip();
    let private = match ip {
        std::net::IpAddr::V4(v4) => v4.is_loopback() || v4.is_private() || v4.is_link_local(),
        std::net::IpAddr::V6(v6) => {
            v6.is_loopback() || v6.is_unique_local() || v6.is_unicast_link_local()
        }
    };
    if dns.limits.token.is_some() || private {
        return None;
    }
    let pos = locate(&ck.files[i].text, &[Step::Key("dns"), Step::Key("control")]);
    Some((
        pos,
        format!(
            "warning: the DNS control port listens on {ip}, not a private address, and \
             `[dns] token` is not set: anyone who reaches it can change the engine's tables"
        ),
    ))
}
