//! Positions differ between a generated value and its parsed text: these reset them so
//! that values compare on content alone.

use broker_config::transaction::{Located, Statement};
use broker_config::{
    CdnFile, CustomerDef, CustomerFile, Event, Events, ManagementBatch, Pos, RegionsFile,
    Transaction,
};

fn clear<T>(l: &mut Located<T>) {
    l.pos = Pos::default();
}

pub(crate) fn transaction(mut tx: Transaction) -> Transaction {
    if let Some(epoch) = &mut tx.epoch {
        clear(epoch);
    }
    for st in &mut tx.statements {
        clear(st);
        match &mut st.value {
            Statement::AddCoverage(def) => def.entries.iter_mut().for_each(|(r, _)| clear(r)),
            Statement::AddCustomer(b) => clear(&mut b.coverage),
            Statement::UpdateCoverage { region, .. } => clear(region),
            Statement::AddRegion(_) | Statement::Delete { .. } | Statement::Reset => {}
        }
    }
    tx
}

pub(crate) fn regions_file(mut f: RegionsFile) -> RegionsFile {
    f.regions.iter_mut().for_each(clear);
    f
}

pub(crate) fn cdn_file(mut f: CdnFile) -> CdnFile {
    for c in &mut f.cdns {
        clear(&mut c.name);
        c.coverage.iter_mut().for_each(|rc| clear(&mut rc.region));
    }
    f
}

fn customer(c: &mut CustomerDef) {
    clear(&mut c.name);
    c.cdns.iter_mut().for_each(clear);
}

pub(crate) fn customer_file(mut f: CustomerFile) -> CustomerFile {
    f.customers.iter_mut().for_each(customer);
    f
}

pub(crate) fn events(mut e: Events) -> Events {
    for ev in &mut e.events {
        clear(ev);
        match &mut ev.value {
            Event::Load(f) | Event::Capacity(f) => {
                clear(&mut f.cdn);
                clear(&mut f.scope);
            }
            Event::AddCustomer(c) => customer(c),
            Event::RemoveCustomer(n) => clear(n),
            Event::Reset => {}
        }
    }
    e
}

pub(crate) fn management_batch(mut b: ManagementBatch) -> ManagementBatch {
    b.events = events(b.events);
    b
}
