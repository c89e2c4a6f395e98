//! Positions in a deployment file's text: byte offsets to `LINE:COL`, and where a key's
//! value is, for checks made after validation (e.g. against other files).

use toml::de::{DeTable, DeValue};

use crate::error::Pos;

/// Byte offset → `LINE:COL` (1-based, column in bytes).
pub(crate) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub(crate) fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self { starts }
    }

    pub(crate) fn pos(&self, offset: usize) -> Pos {
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let col = offset - self.starts[line - 1] + 1;
        let clamp = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Pos::new(clamp(line), clamp(col))
    }
}

/// One step of a path to a value: a key of a table or an index in an array.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step<'a> {
    /// `key` in a table.
    Key(&'a str),
    /// The n-th element (0-based) of an array or array of tables.
    Index(usize),
}

/// Where the value at `path` starts in a deployment file (e.g. `partner`, 0, `name`);
/// `None` when the text does not parse or has no such value.
pub fn locate(text: &str, path: &[Step<'_>]) -> Option<Pos> {
    locate_value(text, path).map(|(pos, _)| pos)
}

/// Like [`locate`], with the value itself when it is a string.
pub fn locate_str(text: &str, path: &[Step<'_>]) -> Option<(Pos, Option<String>)> {
    locate_value(text, path).map(|(pos, v)| (pos, v.as_str().map(str::to_owned)))
}

fn locate_value<'t>(text: &'t str, path: &[Step<'_>]) -> Option<(Pos, DeValue<'t>)> {
    let root = DeTable::parse(text).ok()?;
    let mut span = root.span();
    let mut table = Some(root.into_inner());
    let mut value: Option<DeValue<'_>> = None;
    for step in path {
        let next = match (step, table.take(), value.take()) {
            (Step::Key(k), Some(mut t), _) | (Step::Key(k), None, Some(DeValue::Table(mut t))) => {
                t.remove(*k)?
            }
            (Step::Index(i), None, Some(DeValue::Array(a))) => a.get(*i)?.clone(),
            _ => return None,
        };
        span = next.span();
        value = Some(next.into_inner());
    }
    let value = match value {
        Some(v) => v,
        None => DeValue::Table(table?), // an empty path: the whole document
    };
    Some((LineIndex::new(text).pos(span.start), value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_lines_and_columns() {
        let idx = LineIndex::new("ab\ncd\n");
        assert_eq!(idx.pos(0), Pos::new(1, 1));
        assert_eq!(idx.pos(4), Pos::new(2, 2));
        assert_eq!(idx.pos(6), Pos::new(3, 1));
    }

    #[test]
    fn locates_values_in_tables_and_arrays() {
        let text = "[node]\nname = \"C\"\n[[partner]]\nname = \"G\"\n[[partner]]\nname = \"H\"\n";
        let at = |path: &[Step<'_>]| locate(text, path);
        assert_eq!(
            at(&[Step::Key("node"), Step::Key("name")]),
            Some(Pos::new(2, 8))
        );
        assert_eq!(
            at(&[Step::Key("partner"), Step::Index(1), Step::Key("name")]),
            Some(Pos::new(6, 8))
        );
        assert_eq!(at(&[Step::Key("edge")]), None);
    }
}
