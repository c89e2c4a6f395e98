//! The routing tables an operator may edit while everything runs: the `[[partner]]` URL
//! forms (form, host, table) and the `[[customer]]` site, offload and origin tables of
//! the deployment (spec §7), published as a [`SharedRouting`] that an in-process front
//! proxy reads.
//!
//! An edit is the whole set of tables as TOML, the same keys as the deployment file:
//!
//! ```toml
//! [[partner]]
//! name = "G"
//! form = "table"
//! table = { "img.xyz.com" = "xyz.cdn-g.example" }
//!
//! [[customer]]
//! name = "xyz"
//! site = ["www.xyz.com"]
//! offload = ["img.xyz.com"]
//! origin = { "www.xyz.com" = "http://127.0.0.1:8000", "img.xyz.com" = "http://127.0.0.1:8000" }
//! ```
//!
//! It is checked by the deployment file's own validation (`Deployment::parse`), so its
//! errors read as the file's do, at `LINE:COL` of this text; a text with any error changes
//! nothing. What the running system set up at start stays as the file said: the partners
//! (their names and order; their `status`, `token`, `ca` keep polling as before) and the
//! customers' `dns` names (the engines' bindings), so those keys are refused here.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use broker_config::deploy::{Customer, Deployment, Partner, Step, locate};
use broker_config::{DnsName, Name, Pos};
use broker_policy::routing::{Routing, RoutingCheck, SharedRouting};

/// One reason an edit was refused, at its place in the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RoutingProblem {
    pub(crate) pos: Pos,
    pub(crate) message: String,
}

impl std::fmt::Display for RoutingProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.pos, self.message)
    }
}

/// The routing tables in force and what an edit may not change.
pub(crate) struct RoutingTables {
    node: Name,
    shared: SharedRouting,
    /// The deployment's partners: their order, and the keys kept from the file.
    start: Vec<Partner>,
    /// The customers' `dns` names as the file gave them.
    dns: BTreeMap<Name, Vec<DnsName>>,
    /// Further checks of the parts that use the tables (an in-process front proxy's
    /// origin-map forms).
    checks: Mutex<Vec<RoutingCheck>>,
    /// One edit at a time, so generations follow each other.
    writer: Mutex<()>,
}

/// Keys an edit may not carry, per table, and why.
const FIXED_PARTNER_KEYS: [&str; 3] = ["status", "token", "ca"];
const FIXED_CUSTOMER_KEYS: [&str; 1] = ["dns"];

impl RoutingTables {
    /// The deployment's tables, generation 1.
    pub(crate) fn new(deployment: &Deployment) -> Self {
        Self::of(
            deployment.node.name.clone(),
            &deployment.partners,
            &deployment.customers,
        )
    }

    /// The tables of node `node`'s partners and customers, generation 1.
    pub(crate) fn of(node: Name, partners: &[Partner], customers: &[Customer]) -> Self {
        let routing = Routing::new(1, partners.to_vec(), customers.to_vec());
        Self {
            node,
            shared: routing.shared(),
            start: partners.to_vec(),
            dns: customers
                .iter()
                .map(|c| (c.name.clone(), c.dns.clone()))
                .collect(),
            checks: Mutex::new(Vec::new()),
            writer: Mutex::new(()),
        }
    }

    /// Every later edit must pass `check` too.
    pub(crate) fn add_check(&self, check: RoutingCheck) {
        self.checks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(check);
    }

    pub(crate) fn shared(&self) -> SharedRouting {
        Arc::clone(&self.shared)
    }

    /// The tables in force.
    pub(crate) fn current(&self) -> Arc<Routing> {
        self.shared.load_full()
    }

    /// The editable text of `routing`: its tables in the deployment file's canonical
    /// TOML, without the keys an edit may not carry.
    pub(crate) fn text(&self, routing: &Routing) -> String {
        let d = Deployment {
            node: broker_config::deploy::Node {
                name: self.node.clone(),
            },
            dns: None,
            control: None,
            proxy: None,
            cluster: None,
            partners: routing
                .partners()
                .iter()
                .map(|p| Partner {
                    status: None,
                    token: None,
                    ca: None,
                    ..p.clone()
                })
                .collect(),
            customers: routing
                .customers()
                .iter()
                .map(|c| Customer {
                    dns: Vec::new(),
                    ..c.clone()
                })
                .collect(),
            edge: None,
        };
        let full = d.to_toml(Path::new("routing.toml"));
        // The printer writes `[node]` first; the tables start at the first `[[`.
        match full.find("[[") {
            Some(at) => full[at..].to_owned(),
            None => String::new(),
        }
    }

    /// Checks `text` and, when it holds no error, makes it the tables in force; answers
    /// the new generation. On any error nothing changes.
    pub(crate) fn replace(&self, text: &str) -> Result<u64, Vec<RoutingProblem>> {
        let _one_at_a_time = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let routing = self.prepare(text)?;
        let generation = routing.generation();
        self.shared.store(Arc::new(routing));
        Ok(generation)
    }

    /// The tables `text` would put in force (the next generation), checked by the file's
    /// rules and by every user's check; nothing changes. A replicated control stores the
    /// text in etcd between this and [`Self::install`].
    pub(crate) fn prepare(&self, text: &str) -> Result<Routing, Vec<RoutingProblem>> {
        let (partners, customers) = self.check(text)?;
        let generation = self.shared.load().generation() + 1;
        let routing = Routing::new(generation, partners, customers);
        let checks = self.checks.lock().unwrap_or_else(|e| e.into_inner());
        for check in checks.iter() {
            if let Err(refusal) = check(&routing) {
                // At the name of the partner or customer the user of the tables refused.
                let index = match refusal.table {
                    "partner" => routing
                        .partners()
                        .iter()
                        .position(|p| p.name.as_str() == refusal.name),
                    _ => routing
                        .customers()
                        .iter()
                        .position(|c| c.name.as_str() == refusal.name),
                };
                let pos = index.and_then(|i| {
                    locate(
                        text,
                        &[Step::Key(refusal.table), Step::Index(i), Step::Key("name")],
                    )
                });
                return Err(vec![RoutingProblem {
                    pos: pos.unwrap_or_else(|| end_of(text)),
                    message: format!("{} {}: {}", refusal.table, refusal.name, refusal.message),
                }]);
            }
        }
        Ok(routing)
    }

    /// Puts prepared tables in force.
    pub(crate) fn install(&self, routing: Routing) {
        let _one_at_a_time = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        self.shared.store(Arc::new(routing));
    }

    /// True while the tables are the deployment file's (no edit since start).
    pub(crate) fn as_started(&self) -> bool {
        self.shared.load().generation() == 1
    }

    fn check(&self, text: &str) -> Result<(Vec<Partner>, Vec<Customer>), Vec<RoutingProblem>> {
        let end = end_of(text);
        let problem = |pos: Option<Pos>, message: String| RoutingProblem {
            pos: pos.unwrap_or(end),
            message,
        };
        if let Some(pos) = locate(text, &[Step::Key("node")]) {
            return Err(vec![problem(
                Some(pos),
                "`[node]` comes from the deployment file: give only [[partner]] and [[customer]] tables".into(),
            )]);
        }
        let mut problems = fixed_keys(text, &problem);
        // The node goes after the text, so the text's lines keep their numbers.
        let full = format!("{text}\n[node]\nname = \"{}\"\n", self.node);
        let d = match Deployment::parse(&full, Path::new("routing.toml")) {
            Ok(d) => d,
            Err(errors) => {
                problems.extend(errors.errors.iter().map(|e| {
                    let pos = e.pos();
                    let inside =
                        pos.line < end.line || (pos.line == end.line && pos.col <= end.col);
                    problem(inside.then_some(pos), e.message())
                }));
                return Err(sorted(problems));
            }
        };
        for (section, present) in [
            ("dns", d.dns.is_some()),
            ("control", d.control.is_some()),
            ("proxy", d.proxy.is_some()),
            ("edge", d.edge.is_some()),
        ] {
            if present {
                problems.push(problem(
                    locate(text, &[Step::Key(section)]),
                    format!(
                        "`[{section}]` is set up at start: give only [[partner]] and [[customer]] tables"
                    ),
                ));
            }
        }
        let expected: Vec<&str> = self.start.iter().map(|p| p.name.as_str()).collect();
        let given: Vec<&str> = d.partners.iter().map(|p| p.name.as_str()).collect();
        if given != expected {
            let at = (0..given.len().max(expected.len()))
                .find(|&i| given.get(i) != expected.get(i))
                .unwrap_or(0);
            let pos = (at < given.len())
                .then(|| {
                    locate(
                        text,
                        &[Step::Key("partner"), Step::Index(at), Step::Key("name")],
                    )
                })
                .flatten();
            problems.push(problem(
                pos,
                format!(
                    "the partners are set up at start and stay [{}] in this order; only their form, host and table change here",
                    expected.join(", ")
                ),
            ));
        }
        if !problems.is_empty() {
            return Err(sorted(problems));
        }
        let partners = d
            .partners
            .into_iter()
            .zip(&self.start)
            .map(|(p, kept)| Partner {
                status: kept.status.clone(),
                token: kept.token.clone(),
                ca: kept.ca.clone(),
                ..p
            })
            .collect();
        let customers = d
            .customers
            .into_iter()
            .map(|c| Customer {
                dns: self.dns.get(&c.name).cloned().unwrap_or_default(),
                ..c
            })
            .collect();
        Ok((partners, customers))
    }
}

/// The keys an edit may not carry, wherever a partner or customer gives one.
fn fixed_keys(
    text: &str,
    problem: &dyn Fn(Option<Pos>, String) -> RoutingProblem,
) -> Vec<RoutingProblem> {
    let mut problems = Vec::new();
    let tables: [(&str, &[&str], &str); 2] = [
        (
            "partner",
            &FIXED_PARTNER_KEYS,
            "is used from start: change it in the deployment file",
        ),
        (
            "customer",
            &FIXED_CUSTOMER_KEYS,
            "names are bound in the DNS engines at start: change them in the deployment file",
        ),
    ];
    for (table, keys, why) in tables {
        for i in 0.. {
            if locate(text, &[Step::Key(table), Step::Index(i)]).is_none() {
                break;
            }
            for key in keys {
                let path = [Step::Key(table), Step::Index(i), Step::Key(key)];
                if let Some(pos) = locate(text, &path) {
                    problems.push(problem(Some(pos), format!("a {table}'s `{key}` {why}")));
                }
            }
        }
    }
    problems
}

fn sorted(mut problems: Vec<RoutingProblem>) -> Vec<RoutingProblem> {
    problems.sort_by_key(|p| (p.pos.line, p.pos.col));
    problems
}

/// The position just past the text's last character.
fn end_of(text: &str) -> Pos {
    let line = text.split('\n').count();
    let last = text.rsplit('\n').next().unwrap_or("");
    let clamp = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    Pos::new(clamp(line), clamp(last.len() + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEPLOYMENT: &str = r#"[node]
name = "C"

[[partner]]
name = "G"
form = "embedded"
host = "foo.cdn-g.example"
token = "secret-c-to-g"

[[customer]]
name = "xyz"
site = ["www.xyz.com"]
offload = ["img.xyz.com"]
dns = ["img.xyz.com"]
origin = { "www.xyz.com" = "http://127.0.0.1:8000", "img.xyz.com" = "http://127.0.0.1:8000" }
"#;

    fn tables() -> RoutingTables {
        RoutingTables::new(&Deployment::parse(DEPLOYMENT, Path::new("c.toml")).unwrap())
    }

    #[test]
    fn the_printed_text_reads_back_as_the_same_tables() {
        let t = tables();
        let text = t.text(&t.current());
        assert!(text.starts_with("[[partner]]"), "{text}");
        assert!(!text.contains("token") && !text.contains("dns"), "{text}");
        assert_eq!(t.replace(&text), Ok(2));
        let now = t.current();
        assert_eq!(
            now.partners()[0].token.as_ref().unwrap().expose(),
            "secret-c-to-g"
        );
        assert_eq!(now.customers()[0].dns[0].as_str(), "img.xyz.com");
    }

    #[test]
    fn an_edit_takes_effect_and_keeps_what_start_set_up() {
        let t = tables();
        let text = t.text(&t.current()).replace(
            "form = \"embedded\"",
            "form = \"table\"\ntable = { \"img.xyz.com\" = \"xyz.cdn-g.example\" }",
        );
        assert_eq!(t.replace(&text), Ok(2), "{text}");
        let now = t.current();
        assert_eq!(
            now.partners()[0].form,
            broker_config::deploy::UrlForm::Table
        );
        assert_eq!(now.partners()[0].table.len(), 1);
        assert!(now.partners()[0].token.is_some());
    }

    #[test]
    fn a_users_check_refuses_at_the_name_and_changes_nothing() {
        let t = tables();
        t.add_check(Box::new(|r: &Routing| {
            match r.customers().iter().find(|c| c.offload.is_empty()) {
                Some(c) => Err(broker_policy::routing::RoutingRefusal {
                    table: "customer",
                    name: c.name.to_string(),
                    message: "nothing to offload".into(),
                }),
                None => Ok(()),
            }
        }));
        let text = t
            .text(&t.current())
            .replace("offload = [\"img.xyz.com\"]\n", "");
        let e = t.replace(&text).unwrap_err();
        assert_eq!(
            e[0].to_string(),
            "7:8 customer xyz: nothing to offload",
            "{text}"
        );
        assert_eq!(t.current().generation(), 1);
        assert_eq!(t.replace(&t.text(&t.current())), Ok(2));
    }

    #[test]
    fn errors_are_at_line_and_column_of_the_text_and_change_nothing() {
        let t = tables();
        let before = t.current();
        let text = "[[partner]]\nname = \"G\"\nform = \"embedded\"\nhost = \"bad host!\"\n";
        let e = t.replace(text).unwrap_err();
        assert_eq!(e[0].pos, Pos::new(4, 8), "{e:?}");
        assert!(Arc::ptr_eq(&before, &t.current()));
        // A key the running system set up at start.
        let text =
            "[[partner]]\nname = \"G\"\nform = \"embedded\"\nhost = \"a.example\"\ntoken = \"x\"\n";
        let e = t.replace(text).unwrap_err();
        assert_eq!(e[0].pos, Pos::new(5, 9), "{e:?}");
        // A partner that is not the deployment's.
        let text = "[[partner]]\nname = \"H\"\nform = \"embedded\"\nhost = \"a.example\"\n";
        let e = t.replace(text).unwrap_err();
        assert_eq!(e[0].pos, Pos::new(2, 8), "{e:?}");
        // [node] in the text, and a syntax error.
        assert_eq!(
            t.replace("[node]\nname = \"C\"\n").unwrap_err()[0].pos.line,
            1
        );
        let e = t.replace("[[customer]\nname = 1").unwrap_err();
        assert_eq!(e[0].pos.line, 1, "{e:?}");
        assert_eq!(t.current().generation(), 1);
    }
}
