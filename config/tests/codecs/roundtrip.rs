//! print → parse gives back the same value, and printing is a fixed point.

use broker_config::{
    CdnFile, CustomerFile, Events, ManagementBatch, RegionList, RegionsFile, Transaction,
};
use proptest::prelude::*;

use crate::{strategies, strip};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn transactions_round_trip(tx in strategies::transaction()) {
        let text = tx.to_string();
        let back = Transaction::parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(back.to_string(), text);
        prop_assert_eq!(strip::transaction(back), tx);
    }

    #[test]
    fn an_epoch_after_any_statement_is_refused_at_its_line(
        tx in strategies::transaction(),
        epoch in any::<u64>(),
        at in any::<prop::sample::Index>(),
    ) {
        prop_assume!(!tx.statements.is_empty() || tx.epoch.is_some());
        // The canonical text without END, and the lines where a statement may start (not
        // a region's or coverage's inner or closing line), after the first one.
        let text = tx.to_string();
        let lines: Vec<&str> = text.lines().filter(|l| *l != "END").collect();
        let starts: Vec<usize> = (1..=lines.len())
            .filter(|&i| i == lines.len() || !lines[i].starts_with([' ', '}']))
            .collect();
        let cut = *at.get(&starts);
        let mut fenced: Vec<String> = lines[..cut].iter().map(ToString::to_string).collect();
        fenced.push(format!("EPOCH {epoch}!"));
        fenced.extend(lines[cut..].iter().map(ToString::to_string));
        let err = Transaction::parse(&fenced.join("\n")).unwrap_err();
        prop_assert_eq!(
            err.to_string(),
            format!("{}:1: EPOCH may only be the first statement of a transaction", cut + 1)
        );
    }

    #[test]
    fn region_lists_round_trip(list in strategies::region_list()) {
        let text = list.to_string();
        let back = RegionList::parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(back, list);
    }

    #[test]
    fn regions_files_round_trip_in_both_forms(file in strategies::regions_file()) {
        let text = file.to_string();
        let back = RegionsFile::parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(back.to_string(), text);
        prop_assert_eq!(strip::regions_file(back), file.clone());
        // The §6 form of the same regions reads back into the same file.
        let blocks = file.to_region_list().to_string();
        let back = RegionsFile::parse(&blocks).map_err(|e| TestCaseError::fail(format!("{e}\n{blocks}")))?;
        prop_assert_eq!(strip::regions_file(back), file);
    }

    #[test]
    fn cdn_files_round_trip(file in strategies::cdn_file()) {
        let text = file.to_string();
        let back = CdnFile::parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(back.to_string(), text);
        prop_assert_eq!(strip::cdn_file(back), file);
    }

    #[test]
    fn customer_files_round_trip(file in strategies::customer_file()) {
        let text = file.to_string();
        let back = CustomerFile::parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(back.to_string(), text);
        prop_assert_eq!(strip::customer_file(back), file);
    }

    #[test]
    fn events_round_trip(events in strategies::events()) {
        let text = events.to_string();
        let back = Events::parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(back.to_string(), text);
        prop_assert_eq!(strip::events(back), events);
    }

    #[test]
    fn management_batches_round_trip(batch in strategies::management_batch()) {
        let text = batch.to_string();
        let back = ManagementBatch::parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(back.to_string(), text);
        prop_assert_eq!(strip::management_batch(back), batch);
    }

    /// Tables rebuilt from their own transaction are the same tables.
    #[test]
    fn tables_round_trip_through_their_transaction(tx in strategies::transaction()) {
        let mut tables = broker_config::Tables::new();
        if tables.apply(&tx).is_ok() {
            let text = tables.to_transaction().to_string();
            let mut again = broker_config::Tables::new();
            again.apply(&Transaction::parse(&text).unwrap()).unwrap();
            prop_assert_eq!(again, tables);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Consistent tables rebuild from their own transaction, and a later statement
    /// either applies or leaves them exactly as they were.
    #[test]
    fn tables_apply_all_or_nothing(
        tx in strategies::consistent_transaction(),
        more in strategies::transaction(),
    ) {
        let mut tables = broker_config::Tables::new();
        tables.apply(&tx).map_err(|e| TestCaseError::fail(format!("{e}\n{tx}")))?;
        let mut again = broker_config::Tables::new();
        again.apply(&Transaction::parse(&tables.to_transaction().to_string()).unwrap()).unwrap();
        prop_assert_eq!(&again, &tables);
        let before = tables.clone();
        if tables.apply(&more).is_err() {
            prop_assert_eq!(tables, before);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Fed a printed transaction in any chunks, the stream detector stops exactly after
    /// its final `END`, even when names are `END`.
    #[test]
    fn end_detector_finds_the_printed_end_across_any_split(
        tx in strategies::transaction(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let text = format!("ADD REG END {{ }}!\nDEL END : CVG!\n# END!\n{tx}");
        let bytes = text.as_bytes();
        let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len())).collect();
        cuts.sort_unstable();
        cuts.push(bytes.len());
        let mut detector = broker_config::EndDetector::new();
        let found = cuts.iter().find_map(|&cut| detector.feed(&bytes[..cut]));
        prop_assert_eq!(found, Some(bytes.len() - 1), "text:\n{}", text);
    }
}
