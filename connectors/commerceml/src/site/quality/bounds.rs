//! Text before the XML declaration or after the root element: the sign of a file concatenated,
//! truncated and re-sent, or written with a debug line in front. Such a file is refused before
//! anything of the run is stored (an import stores batch by batch, and text after the root is only
//! met at the very end), by looking at the head and the tail of each file: cheap, whatever the
//! file's size. 1C's encodings (UTF-8, windows-1251) are ASCII-compatible, so the markup bytes are
//! found in the raw bytes; UTF-16 files are left to the reader.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// Bytes of the head and of the tail looked at.
const WINDOW: u64 = 64 * 1024;

/// Text outside the root element, with its position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("text {place} at line {line}, column {column}")]
pub struct OutsideRoot {
    /// `before the XML declaration` / `after the root element`.
    pub place: &'static str,
    /// 1-based line.
    pub line: u64,
    /// 1-based column (bytes).
    pub column: u64,
}

/// Checks that `path` has nothing but blanks before its first markup and nothing but blanks,
/// comments and processing instructions after its root element's end tag.
pub fn check_file(path: &Path) -> std::io::Result<Result<(), OutsideRoot>> {
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    let mut head = Vec::new();
    (&mut file).take(WINDOW).read_to_end(&mut head)?;
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        return Ok(Ok(()));
    }
    let body = head.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(&head);
    let skipped = head.len() - body.len();
    if let Some(at) = body.iter().position(|b| !b.is_ascii_whitespace()) {
        if body[at] != b'<' {
            let (line, column) = position(&head, skipped + at);
            return Ok(Err(OutsideRoot {
                place: "before the XML declaration",
                line,
                column,
            }));
        }
    }
    let tail_start = len.saturating_sub(WINDOW);
    let mut tail = Vec::new();
    file.seek(SeekFrom::Start(tail_start))?;
    file.read_to_end(&mut tail)?;
    let Some(at) = after_root(&tail) else {
        return Ok(Ok(()));
    };
    // Rare (a refused file): count the lines of the whole file up to there.
    let offset = tail_start + at as u64;
    let mut all = Vec::new();
    file.seek(SeekFrom::Start(0))?;
    file.take(offset + 1).read_to_end(&mut all)?;
    let (line, column) = position(&all, offset as usize);
    Ok(Err(OutsideRoot {
        place: "after the root element",
        line,
        column,
    }))
}

/// The offset in `tail` of the first text after the root element's end tag, if there is any.
/// Without that end tag (a truncated file) there is nothing to say: the reader reports it.
fn after_root(tail: &[u8]) -> Option<usize> {
    const ROOT: &str = "КоммерческаяИнформация";
    let (cp1251, _, _) = encoding_rs::WINDOWS_1251.encode(ROOT);
    let close = [ROOT.as_bytes(), &cp1251]
        .into_iter()
        .filter_map(|name| {
            let tag = [b"</".as_slice(), name].concat();
            tail.windows(tag.len()).rposition(|w| w == tag)
        })
        .max()?;
    let mut at = close + tail[close..].iter().position(|&b| b == b'>')? + 1;
    loop {
        while at < tail.len() && tail[at].is_ascii_whitespace() {
            at += 1;
        }
        let rest = &tail[at..];
        let skip = |open: &[u8], end: &[u8]| {
            rest.starts_with(open)
                .then(|| rest.windows(end.len()).position(|w| w == end))
                .flatten()
                .map(|i| i + end.len())
        };
        if rest.is_empty() {
            return None;
        } else if let Some(n) = skip(b"<!--", b"-->").or_else(|| skip(b"<?", b"?>")) {
            at += n;
        } else {
            return Some(at);
        }
    }
}

/// 1-based (line, column) of `offset` in `text`.
fn position(text: &[u8], offset: usize) -> (u64, u64) {
    let before = &text[..offset.min(text.len())];
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count() as u64;
    let column = match before.iter().rposition(|&b| b == b'\n') {
        Some(nl) => (offset - nl) as u64,
        None => offset as u64 + 1,
    };
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Result<(), OutsideRoot> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.xml");
        std::fs::write(&p, text).unwrap();
        check_file(&p).unwrap()
    }

    #[test]
    fn a_clean_file_passes() {
        assert_eq!(
            check("\u{feff}<?xml version=\"1.0\"?>\n<КоммерческаяИнформация>\n<b/></КоммерческаяИнформация>\n<!-- c -->\n<?pi x?>\n"),
            Ok(())
        );
    }

    #[test]
    fn a_truncated_file_is_left_to_the_reader() {
        assert_eq!(
            check("<КоммерческаяИнформация><Товар><Ид>x</Ид><Наим"),
            Ok(())
        );
    }

    #[test]
    fn text_before_the_declaration_is_found() {
        let e = check("\n  oops<?xml version=\"1.0\"?><a/>").unwrap_err();
        assert_eq!((e.line, e.column), (2, 3));
        assert_eq!(e.place, "before the XML declaration");
    }

    #[test]
    fn text_after_the_root_is_found() {
        let e = check("<?xml version=\"1.0\"?>\n<КоммерческаяИнформация>\n</КоммерческаяИнформация>\n<!-- ok -->\n  tail").unwrap_err();
        assert_eq!(
            (e.line, e.column, e.place),
            (5, 3, "after the root element")
        );
        let e = check("<КоммерческаяИнформация>\n</КоммерческаяИнформация><b/>").unwrap_err();
        assert_eq!((e.line, e.column), (2, 48));
        let (cp, _, _) = encoding_rs::WINDOWS_1251
            .encode("<КоммерческаяИнформация>\n</КоммерческаяИнформация> x");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cp.xml"), &cp).unwrap();
        let e = check_file(&dir.path().join("cp.xml")).unwrap().unwrap_err();
        assert_eq!((e.line, e.column), (2, 27));
    }
}
