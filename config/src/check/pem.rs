//! A light check of PEM files (RFC 7468): sections open and close with one label, and
//! their bodies are base64. Whether the DER inside is a good certificate or key is left
//! to rustls when the file is loaded.

use crate::error::{ParseError, Pos};

/// The labels of the sections of a PEM text (`CERTIFICATE`, `PRIVATE KEY`...), in order.
pub(super) fn pem_labels(text: &str) -> Result<Vec<String>, ParseError> {
    let mut labels = Vec::new();
    let mut open: Option<(String, u32, Pos)> = None;
    for (n, line) in text.lines().enumerate() {
        let at = Pos::new(u32::try_from(n + 1).unwrap_or(u32::MAX), 1);
        let line = line.trim_end();
        if let Some(label) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        {
            if let Some((label, ..)) = open {
                return Err(ParseError::new(at, format!("BEGIN inside {label}")));
            }
            open = Some((label.to_owned(), 0, at));
        } else if let Some(label) = line
            .strip_prefix("-----END ")
            .and_then(|l| l.strip_suffix("-----"))
        {
            match open.take() {
                Some((begun, body, _)) if begun == label && body > 0 => labels.push(begun),
                Some((begun, 0, _)) if begun == label => {
                    return Err(ParseError::new(at, format!("empty {label} section")));
                }
                Some((begun, ..)) => {
                    return Err(ParseError::new(at, format!("END {label} closes {begun}")));
                }
                None => return Err(ParseError::new(at, format!("END {label} without BEGIN"))),
            }
        } else if let Some((_, body, _)) = open.as_mut() {
            let bad = line
                .bytes()
                .position(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')));
            if let Some(col) = bad {
                let col = u32::try_from(col + 1).unwrap_or(u32::MAX);
                return Err(ParseError::new(
                    Pos::new(at.line, col),
                    "not base64 inside a PEM section",
                ));
            }
            *body += 1;
        }
    }
    if let Some((label, _, begin)) = open {
        return Err(ParseError::new(
            begin,
            format!("{label} section has no END line"),
        ));
    }
    if labels.is_empty() {
        return Err(ParseError::new(Pos::new(1, 1), "no PEM section"));
    }
    Ok(labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_labels_after_explanatory_text() {
        let text = "Test only\n-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n";
        assert_eq!(pem_labels(text).unwrap(), ["CERTIFICATE"]);
    }

    /// Found by `check_robustness`: the error was put on a line past the end.
    #[test]
    fn an_unclosed_section_is_reported_at_its_begin_line() {
        let e = pem_labels("-----BEGIN CERTIFICATE-----\nADD ").unwrap_err();
        assert_eq!(e.to_string(), "1:1: CERTIFICATE section has no END line");
    }

    #[test]
    fn broken_sections_are_errors() {
        let e = |t: &str| pem_labels(t).unwrap_err().to_string();
        assert_eq!(
            e("-----BEGIN A-----\nQUJD\n"),
            "1:1: A section has no END line"
        );
        assert_eq!(
            e("-----BEGIN A-----\nQU*D\n-----END A-----\n"),
            "2:3: not base64 inside a PEM section"
        );
        assert_eq!(
            e("-----BEGIN A-----\nQUJD\n-----END B-----\n"),
            "3:1: END B closes A"
        );
        assert_eq!(
            e("-----BEGIN A-----\n-----END A-----\n"),
            "2:1: empty A section"
        );
        assert_eq!(e("nothing"), "1:1: no PEM section");
    }
}
