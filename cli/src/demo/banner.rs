//! What the demo prints once it runs: each role's addresses, the roles that did not start,
//! and commands to try, all derived from the deployments (so they hold for `--config`
//! worlds too). The end-to-end test runs the printed commands, so they must work as shown.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;

use broker_config::deploy::Deployment;

use super::readiness::Probe;
use super::site::{IMAGE_HOST, SITE_HOST};
use super::world::World;

/// A picture every demo origin has, for the edge example.
const SAMPLE_PATH: &str = "/products/tent.png";

/// The banner text: roles, what is missing, commands.
pub(crate) fn text(world: &World, folder: &Path, probes: &[Probe], up: &[bool]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "cdnbroker demo: xyz's origin, CDN C and partner CDN G (files in {})",
        folder.display()
    );
    row(
        &mut out,
        "origin",
        &format!("http://{}", world.origin),
        &format!("{SITE_HOST}, {IMAGE_HOST}"),
    );
    for m in &world.deployments {
        roles(&mut out, &m.deployment);
    }
    let missing: Vec<&Probe> = probes
        .iter()
        .zip(up)
        .filter(|(_, u)| !**u)
        .map(|(p, _)| p)
        .collect();
    for p in &missing {
        let _ = writeln!(
            out,
            "  not running   {} {} ({} does not accept: `run` does not start this role yet, or it failed)",
            p.node, p.role, p.addr
        );
    }
    out.push_str("try:\n");
    for (command, why) in commands(world) {
        let _ = writeln!(out, "  {command}\n      # {why}");
    }
    out
}

fn row(out: &mut String, what: &str, addr: &str, more: &str) {
    let _ = writeln!(out, "  {what:<13} {addr:<28} {more}");
}

fn roles(out: &mut String, d: &Deployment) {
    let n = d.node.name.as_str();
    if let Some(dns) = &d.dns {
        let listen = join(dns.listen.iter());
        row(
            out,
            &format!("{n} dns"),
            &listen,
            &format!("UDP and TCP; control port {}", dns.control),
        );
    }
    if let Some(c) = &d.control {
        let api = c.api.map_or("-".to_owned(), |a| format!("http://{a}/"));
        let mut more = String::new();
        if let Some(m) = c.management {
            let _ = write!(more, "management {m} ");
        }
        if let Some(a) = c.alerts {
            let _ = write!(more, "alerts https://{a}/alert ");
        }
        // The operator page asks for it at login; the demo's is no secret.
        if let (Some(_), Some(t)) = (c.api, &c.token) {
            let _ = write!(more, "token {}", t.expose());
        }
        row(out, &format!("{n} control"), &api, more.trim_end());
    }
    if let Some(p) = &d.proxy {
        let special: Vec<String> = p
            .special_ports
            .iter()
            .map(|(k, v)| format!("{k} forced on {v}"))
            .collect();
        row(
            out,
            &format!("{n} front proxy"),
            &format!("http://{}", p.listen),
            &special.join(", "),
        );
    }
    if let Some(e) = &d.edge {
        let hosts: Vec<String> = e
            .offloaders
            .iter()
            .flat_map(|o| {
                o.embedded_hosts
                    .iter()
                    .map(move |h| format!("{h} for {}", o.name.as_str()))
            })
            .collect();
        row(
            out,
            &format!("{n} edge"),
            &format!("http://{}", e.listen),
            &hosts.join(", "),
        );
        if let Some(s) = e.status {
            row(
                out,
                &format!("{n} status"),
                &format!("https://{s}"),
                "spec §4 reports to offloaders",
            );
        }
    }
}

fn join<'a>(addrs: impl Iterator<Item = &'a SocketAddr>) -> String {
    addrs.map(ToString::to_string).collect::<Vec<_>>().join(" ")
}

/// Commands to try, each with what it shows.
pub(crate) fn commands(world: &World) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let all: Vec<&Deployment> = world.deployments.iter().map(|m| &m.deployment).collect();
    let site = all
        .iter()
        .flat_map(|d| &d.customers)
        .flat_map(|c| &c.site)
        .next();
    let site = site.map_or(SITE_HOST.to_owned(), ToString::to_string);
    // Browser rules: partner names to the edges that carry them, the customer's offloaded
    // hosts (when C keeps them) to the origin.
    let mut partner_rules = Vec::new();
    for d in &all {
        if let Some(e) = &d.edge {
            for o in &e.offloaders {
                for h in o.embedded_hosts.iter().filter(|h| h.port.is_none()) {
                    partner_rules.push(format!("MAP {h} {}", e.listen));
                }
            }
        }
    }
    let offloaded: Vec<String> = all
        .iter()
        .flat_map(|d| &d.customers)
        .flat_map(|c| &c.offload)
        .filter(|h| h.port.is_none())
        .map(|h| format!("MAP {h} {}", world.origin))
        .collect();
    for d in &all {
        let Some(p) = &d.proxy else { continue };
        let n = d.node.name.as_str();
        out.push((
            format!("curl -s -H 'Host: {site}' http://{}/ | grep -o 'src=\"[^\"]*\"'", p.listen),
            format!("the page through {n}'s front proxy, its image URLs rewritten for the CDN picked for you"),
        ));
        for (partner, addr) in &p.special_ports {
            out.push((
                format!("curl -s -H 'Host: {site}' http://{addr}/ | grep -o 'src=\"[^\"]*\"'"),
                format!("the same page with every offloadable image sent to {partner}"),
            ));
        }
        if !p.trusted_proxies.is_empty() {
            out.push((
                format!(
                    "curl -s -H 'Host: {site}' -H 'X-Forwarded-For: 196.8.1.1' http://{}/ | grep -o '//[a-z.-]*/' | sort | uniq -c",
                    p.listen
                ),
                "a client in GERMANY (196.8.1.1, by regions.txt), where G's coverage is better: the hosts its page points at".to_owned(),
            ));
        }
        for (addr, why) in std::iter::once((
            p.listen,
            "a real browser: the page's report lists who delivered each image",
        ))
        .chain(
            p.special_ports
                .values()
                .map(|a| (*a, "the same with the images forced to the partner")),
        ) {
            let mut rules = vec![format!("MAP {site} {addr}")];
            rules.extend(offloaded.iter().cloned());
            rules.extend(partner_rules.iter().cloned());
            out.push((
                format!(
                    "chromium --headless=new --dump-dom --virtual-time-budget=5000 --host-resolver-rules='{}' http://{site}/ | grep -A20 'id=\"report\"'",
                    rules.join(", ")
                ),
                why.to_owned(),
            ));
        }
    }
    for d in &all {
        let Some(e) = &d.edge else { continue };
        for o in &e.offloaders {
            let (Some(host), Some(origin)) = (
                o.embedded_hosts.iter().find(|h| h.port.is_none()),
                o.origins.keys().next(),
            ) else {
                continue;
            };
            out.push((
                format!(
                    "curl -s -o /dev/null -w '%{{http_code}} %{{size_download}} bytes\\n' --connect-to {host}:80:{} http://{host}/{origin}{SAMPLE_PATH}",
                    e.listen
                ),
                format!("{}'s edge serving a picture for {} (embedded form, spec §5)", d.node.name.as_str(), o.name.as_str()),
            ));
        }
    }
    for d in &all {
        let Some(dns) = &d.dns else { continue };
        let Some(listen) = dns.listen.first() else {
            continue;
        };
        let Some(name) = d.customers.iter().flat_map(|c| &c.dns).next() else {
            continue;
        };
        out.push((
            format!(
                "dig @{} -p {} {name} +subnet=198.54.234.1/24",
                listen.ip(),
                listen.port()
            ),
            format!(
                "{}'s DNS engine answering a client in FRANCE (try it a few times: 70% C, 30% G)",
                d.node.name.as_str()
            ),
        ));
    }
    for d in &all {
        for p in &d.partners {
            let (Some(status), Some(token)) = (&p.status, &p.token) else {
                continue;
            };
            let ca = p.ca.as_ref().map_or(String::new(), |c| {
                format!("--cacert {} ", sh_quote(&c.display().to_string()))
            });
            out.push((
                format!(
                    "curl -s {ca}-H 'Authorization: Bearer {}' '{status}/load?aggregate&60'",
                    token.expose()
                ),
                format!(
                    "{}'s status report: the load {} put on it over the last minute",
                    p.name.as_str(),
                    d.node.name.as_str()
                ),
            ));
        }
        if let Some((api, c)) = d.control.as_ref().and_then(|c| Some((c.api?, c))) {
            let login = c.token.as_ref().map_or(String::new(), |t| {
                format!(" (log in with token {})", t.expose())
            });
            out.push((
                format!("open http://{api}/"),
                format!(
                    "{}'s control component: operator page and API{login}",
                    d.node.name.as_str()
                ),
            ));
        }
    }
    out
}

/// `s` as one shell word.
fn sh_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+:=@%".contains(&b))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(sh_quote("/tmp/a-b/ca.pem"), "/tmp/a-b/ca.pem");
        assert_eq!(sh_quote("/tmp/my dir/ca.pem"), "'/tmp/my dir/ca.pem'");
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
    }

    /// The operator page asks for the control API's token: the banner shows it next to
    /// the page's address, so a demo user can log in.
    #[test]
    fn the_operator_page_comes_with_its_token() {
        let dir = tempfile::tempdir().unwrap();
        let file = super::super::builtin::write(
            dir.path(),
            super::super::ports::Layout::new(21000).unwrap(),
        )
        .unwrap();
        let world = World::read(&file).unwrap();
        let banner = text(&world, dir.path(), &[], &[]);
        let row = banner
            .lines()
            .find(|l| l.trim_start().starts_with("C control"))
            .unwrap_or_else(|| panic!("no control row in\n{banner}"));
        assert!(
            row.contains("http://127.0.0.1:") && row.ends_with("token demo-management-token"),
            "{row}"
        );
        let open = banner
            .lines()
            .position(|l| l.trim_start().starts_with("open http://"));
        let why = banner.lines().nth(open.unwrap() + 1).unwrap();
        assert!(
            why.ends_with("(log in with token demo-management-token)"),
            "{why}"
        );
    }
}
