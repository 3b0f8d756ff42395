//! Diagnostics: one mistake in a config or mapping file, located as `file:line:column`.
//!
//! Kept apart from the parsers so that every file kind (config, mapping, later price maps) reports
//! mistakes the same way and `dealbridge check` can print them in one sorted list.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One mistake found in a file, with its position.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diagnostic {
    /// The file the mistake is in (as the user named it, or joined to the config's directory).
    pub file: PathBuf,
    /// 1-based line; 0 when the mistake concerns the whole file (e.g. it cannot be read).
    pub line: usize,
    /// 1-based column in characters; 0 when [`Diagnostic::line`] is 0.
    pub column: usize,
    /// What is wrong and what to do about it. Never contains a secret.
    pub message: String,
}

impl Diagnostic {
    /// A mistake about a whole file, without a position.
    pub fn whole_file(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.into(),
            line: 0,
            column: 0,
            message: message.into(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file.display(),
                self.line,
                self.column,
                self.message
            )
        }
    }
}

/// Every mistake found while loading a config and its mapping files.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render(.0))]
pub struct ConfigErrors(pub Vec<Diagnostic>);

impl ConfigErrors {
    /// The mistakes, sorted by file and position.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.0
    }
}

fn render(diagnostics: &[Diagnostic]) -> String {
    let lines: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
    lines.join("\n")
}

/// The text of one file plus an index of line starts, to turn byte spans into line and column.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Where the text came from.
    pub path: PathBuf,
    /// The whole text.
    pub text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    /// Indexes the lines of `text`, read from `path`.
    pub fn new(path: &Path, text: String) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        SourceFile {
            path: path.to_path_buf(),
            text,
            line_starts,
        }
    }

    /// 1-based (line, column) of a byte offset; the column counts characters, not bytes.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line_index = self.line_starts.partition_point(|&start| start <= offset) - 1;
        let start = self.line_starts[line_index];
        let column = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line_index + 1, column + 1)
    }

    /// A diagnostic at the start of `span`.
    pub fn diagnostic(&self, span: Range<usize>, message: impl Into<String>) -> Diagnostic {
        let (line, column) = self.position(span.start);
        Diagnostic {
            file: self.path.clone(),
            line,
            column,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_and_characters() {
        let src = SourceFile::new(Path::new("a.toml"), "a = 1\nзаказ = 2\n".to_string());
        assert_eq!(src.position(0), (1, 1));
        assert_eq!(src.position(4), (1, 5));
        assert_eq!(src.position(6), (2, 1));
        // "заказ" is 10 bytes but 5 characters.
        assert_eq!(src.position(6 + 11), (2, 7));
        let d = src.diagnostic(6..7, "bad");
        assert_eq!(d.to_string(), "a.toml:2:1: bad");
    }
}
