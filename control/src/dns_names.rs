//! Which DNS names an engine binds for a customer. `customer.txt` names customers
//! (`ADD CST xyz [...]`); a `[[customer]]` of the deployment with the same name lists the
//! names DNS-outsourced to us (`dns = ["img.xyz.com"]`), and the engine binds each of
//! them to the customer's coverage. A customer without such a list is bound under its
//! own name (spec §2's example names customers by their DNS names).

use std::collections::BTreeMap;

use broker_config::DnsName;
use broker_config::deploy::Customer;
use broker_config::transaction::{CustomerBinding, Located, Statement, TableKind, Transaction};

/// Customer name → the DNS names bound for it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct DnsNames {
    names: BTreeMap<String, Vec<DnsName>>,
}

impl DnsNames {
    pub(crate) fn of(customers: &[Customer]) -> Self {
        Self {
            names: customers
                .iter()
                .filter(|c| !c.dns.is_empty())
                .map(|c| (c.name.as_str().to_ascii_lowercase(), c.dns.clone()))
                .collect(),
        }
    }

    /// The names bound for `customer` (its own name when the deployment lists none).
    pub(crate) fn for_customer(&self, customer: &str) -> Vec<String> {
        match self.names.get(&customer.to_ascii_lowercase()) {
            Some(list) => list.iter().map(ToString::to_string).collect(),
            None => vec![customer.to_owned()],
        }
    }

    /// `tx` with every customer binding and deletion spread over the customer's names.
    pub(crate) fn apply(&self, tx: Transaction) -> Transaction {
        let mut out = Vec::with_capacity(tx.statements.len());
        for st in tx.statements {
            match st.value {
                Statement::AddCustomer(b) => match self.names.get(b.domain.as_str()) {
                    Some(list) => out.extend(list.iter().map(|d| Located {
                        pos: st.pos,
                        value: Statement::AddCustomer(CustomerBinding {
                            domain: d.clone(),
                            coverage: b.coverage.clone(),
                        }),
                    })),
                    None => out.push(Located {
                        pos: st.pos,
                        value: Statement::AddCustomer(b),
                    }),
                },
                Statement::Delete {
                    name,
                    kind: TableKind::Customer,
                } => match self.names.get(&name.to_ascii_lowercase()) {
                    Some(list) => out.extend(list.iter().map(|d| Located {
                        pos: st.pos,
                        value: Statement::Delete {
                            name: d.to_string(),
                            kind: TableKind::Customer,
                        },
                    })),
                    None => out.push(Located {
                        pos: st.pos,
                        value: Statement::Delete {
                            name,
                            kind: TableKind::Customer,
                        },
                    }),
                },
                value => out.push(Located { pos: st.pos, value }),
            }
        }
        Transaction {
            epoch: tx.epoch,
            statements: out,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bindings_and_deletions_spread_over_the_listed_names() {
        let mut names = DnsNames::default();
        names.names.insert(
            "xyz".into(),
            vec![
                DnsName::new("img.xyz.com").unwrap(),
                DnsName::new("cdn.xyz.com").unwrap(),
            ],
        );
        let tx = Transaction::parse(
            "ADD CVG c { DEFAULT, [1 = A:192.0.2.1;]; }!\nADD CST xyz { c; }!\nADD CST other.example { c; }!\nDEL xyz : CST!\nEND\n",
        )
        .unwrap();
        let text = names.apply(tx).to_string();
        assert!(text.contains("ADD CST img.xyz.com { c; }!"), "{text}");
        assert!(text.contains("ADD CST cdn.xyz.com { c; }!"), "{text}");
        assert!(text.contains("ADD CST other.example { c; }!"), "{text}");
        assert!(text.contains("DEL img.xyz.com : CST!"), "{text}");
        assert!(!text.contains("xyz {"), "{text}");
    }

    #[test]
    fn the_epoch_survives_the_spreading() {
        let mut names = DnsNames::default();
        names
            .names
            .insert("xyz".into(), vec![DnsName::new("img.xyz.com").unwrap()]);
        let tx = Transaction::parse("ADD CST xyz { c; }!\nEND\n")
            .unwrap()
            .with_epoch(12);
        let text = names.apply(tx).to_string();
        assert_eq!(text, "EPOCH 12!\nADD CST img.xyz.com { c; }!\nEND\n");
    }
}
