//! Input plumbing: byte limit, encoding detection (BOM + XML declaration), decoding to UTF-8,
//! and a line index for error positions.

use crate::error::CmlError;
use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Counts bytes read from the raw input and fails once the bound is passed.
pub(crate) struct Limited<R> {
    inner: R,
    read: u64,
    limit: u64,
    exceeded: Arc<AtomicBool>,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.limit {
            self.exceeded.store(true, Ordering::Relaxed);
            return Err(io::Error::other(
                "CommerceML input exceeds the configured size bound",
            ));
        }
        Ok(n)
    }
}

/// The decoded input as the XML parser reads it: its own 64 KiB buffer, and a line index of the
/// text so a byte offset can be turned into a line and column.
///
/// Newlines are indexed once per buffer refill (not on every `consume`: quick-xml consumes a few
/// times per event, and the per-call work there was the largest cost of the reader beyond
/// quick-xml itself). Keeps the newline offsets of the current buffer plus the
/// [`RECENT_NEWLINES`] before it: errors are reported at or near the parser's current position.
pub(crate) struct LineTracker {
    inner: Box<dyn Read + Send>,
    buf: Box<[u8]>,
    pos: usize,
    filled: usize,
    /// Offset in the decoded text of `buf[0]`.
    base: u64,
    /// Newlines indexed so far (through the end of the buffer).
    lines: u64,
    /// Offsets of the most recent newlines, ascending.
    recent: VecDeque<u64>,
}

const RECENT_NEWLINES: usize = 4096;
const BUFFER: usize = 64 * 1024;

impl LineTracker {
    fn new(inner: Box<dyn Read + Send>) -> Self {
        Self {
            inner,
            buf: vec![0u8; BUFFER].into_boxed_slice(),
            pos: 0,
            filled: 0,
            base: 0,
            lines: 0,
            recent: VecDeque::new(),
        }
    }

    /// 1-based (line, column) of a byte offset into the decoded text.
    pub fn position(&self, offset: u64) -> (u64, u64) {
        let before = self.recent.partition_point(|&o| o < offset);
        let after = (self.recent.len() - before) as u64;
        let line = 1 + self.lines - after;
        let prev = before.checked_sub(1).map(|i| self.recent[i]);
        let column = match prev {
            Some(o) => offset - o,
            None if self.lines - after == 0 => offset + 1,
            None => 0, // older than the window: column unknown
        };
        (line, column)
    }
}

impl Read for LineTracker {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(buf.len());
        buf[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl LineTracker {
    /// Reads the next chunk into the buffer and indexes its newlines. Kept out of line so
    /// that `fill_buf`, called a few times per XML event, is a compare and a slice.
    #[inline(never)]
    fn refill(&mut self) -> io::Result<()> {
        // Everything indexed so far is before the new buffer: keep only the recent tail.
        while self.recent.len() > RECENT_NEWLINES {
            self.recent.pop_front();
        }
        self.base += self.filled as u64;
        self.pos = 0;
        self.filled = 0;
        let n = self.inner.read(&mut self.buf)?;
        self.filled = n;
        let bytes = &self.buf[..n];
        let mut from = 0;
        while let Some(i) = find_newline(&bytes[from..]) {
            let at = from + i;
            self.lines += 1;
            self.recent.push_back(self.base + at as u64);
            from = at + 1;
        }
        Ok(())
    }
}

impl BufRead for LineTracker {
    #[inline]
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos >= self.filled {
            self.refill()?;
        }
        Ok(&self.buf[self.pos..self.filled])
    }

    #[inline]
    fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.filled);
    }
}

/// Index of the first `\n` in `bytes`. Eight bytes at a time (a zero-byte test on the word
/// XOR-ed with newlines): CommerceML lines are long (a whole item per line is common), and a
/// byte-by-byte scan here was a seventh of the reader's time.
fn find_newline(bytes: &[u8]) -> Option<usize> {
    const NL: u64 = u64::from_ne_bytes([b'\n'; 8]);
    const LO: u64 = u64::from_ne_bytes([0x01; 8]);
    const HI: u64 = u64::from_ne_bytes([0x80; 8]);
    let mut words = bytes.chunks_exact(8);
    let mut base = 0;
    for w in &mut words {
        let x = u64::from_ne_bytes(w.try_into().expect("8-byte chunk")) ^ NL;
        if x.wrapping_sub(LO) & !x & HI != 0 {
            return w.iter().position(|&b| b == b'\n').map(|i| base + i);
        }
        base += 8;
    }
    words
        .remainder()
        .iter()
        .position(|&b| b == b'\n')
        .map(|i| base + i)
}

/// What the head of the file says about its encoding.
#[derive(Debug, Clone)]
pub(crate) struct Detected {
    /// Canonical encoding name (`UTF-8`, `windows-1251`).
    pub encoding: &'static encoding_rs::Encoding,
    /// Whether a byte-order mark was present (and skipped).
    pub bom: bool,
    /// Set when the declared encoding did not match the bytes (and the other one was used).
    pub mismatch: Option<String>,
}

const HEAD: usize = 1024;

/// Reads the head, detects BOM and declared encoding, and returns a UTF-8 stream.
pub(crate) fn open<R: Read + Send + 'static>(
    input: R,
    limit: u64,
    exceeded: Arc<AtomicBool>,
) -> Result<(LineTracker, Detected), CmlError> {
    let mut limited = Limited {
        inner: input,
        read: 0,
        limit,
        exceeded: exceeded.clone(),
    };
    let mut head = Vec::with_capacity(HEAD);
    let mut chunk = [0u8; HEAD];
    while head.len() < HEAD {
        let n = match limited.read(&mut chunk[..HEAD - head.len()]) {
            Ok(n) => n,
            Err(e) if exceeded.load(Ordering::Relaxed) => {
                let _ = e;
                return Err(CmlError::TooLarge { limit });
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        if n == 0 {
            break;
        }
        head.extend_from_slice(&chunk[..n]);
    }
    let (bom_encoding, bom_len) = match encoding_rs::Encoding::for_bom(&head) {
        Some((enc, len)) => (Some(enc), len),
        None => (None, 0),
    };
    let (encoding, mismatch) = match bom_encoding {
        Some(enc) => (enc, None),
        None => {
            let declared = match declared_encoding(&head) {
                Some(label) => encoding_rs::Encoding::for_label(label.as_bytes())
                    .ok_or_else(|| CmlError::Encoding(label.clone()))?,
                None => encoding_rs::UTF_8,
            };
            match_bytes(declared, &head)
        }
    };
    let rest = Cursor::new(head[bom_len..].to_vec()).chain(limited);
    let stream: Box<dyn Read + Send> = if encoding == encoding_rs::UTF_8 {
        Box::new(rest)
    } else {
        let mut dr =
            quick_xml::encoding::DecodingReader::new(BufReader::with_capacity(64 * 1024, rest));
        dr.set_encoding(encoding);
        Box::new(dr)
    };
    Ok((
        LineTracker::new(stream),
        Detected {
            encoding,
            bom: bom_len > 0,
            mismatch,
        },
    ))
}

/// The encoding to read with, given the declared one and the head's bytes. 1C writes UTF-8 or
/// windows-1251, and a re-saved file often keeps a declaration that no longer matches; read as
/// declared, every Cyrillic name (the root element's too) would be garbled or refused. Cyrillic
/// windows-1251 is practically never valid UTF-8, so the head tells them apart: the other of the
/// two is used, and why is returned for the import's data-quality report.
fn match_bytes(
    declared: &'static encoding_rs::Encoding,
    head: &[u8],
) -> (&'static encoding_rs::Encoding, Option<String>) {
    let utf8 = match std::str::from_utf8(head) {
        Ok(_) => true,
        // A character cut by the end of the head is still UTF-8.
        Err(e) => e.error_len().is_none(),
    };
    if declared == encoding_rs::UTF_8 && !utf8 {
        let why = "the file declares UTF-8 (or nothing) but its bytes are not UTF-8; read as \
                   windows-1251: fix the XML declaration in 1C's exchange settings";
        return (encoding_rs::WINDOWS_1251, Some(why.to_string()));
    }
    if declared == encoding_rs::WINDOWS_1251 && utf8 && !head.is_ascii() {
        let why = "the file declares windows-1251 but its bytes are UTF-8; read as UTF-8: fix \
                   the XML declaration in 1C's exchange settings";
        return (encoding_rs::UTF_8, Some(why.to_string()));
    }
    (declared, None)
}

/// The `encoding="…"` of an ASCII-compatible XML declaration at the start of `head`.
fn declared_encoding(head: &[u8]) -> Option<String> {
    if !head.starts_with(b"<?xml") {
        return None;
    }
    let end = head.windows(2).position(|w| w == b"?>")?;
    let decl = std::str::from_utf8(&head[..end]).ok()?;
    let at = decl.find("encoding")?;
    let rest = decl[at + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &rest[1..];
    let close = value.find(quote)?;
    Some(value[..close].trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declaration_encoding_is_found() {
        assert_eq!(
            declared_encoding(br#"<?xml version="1.0" encoding="windows-1251"?><a/>"#).as_deref(),
            Some("windows-1251")
        );
        assert_eq!(
            declared_encoding(b"<?xml version='1.0' encoding = 'UTF-8' ?>").as_deref(),
            Some("UTF-8")
        );
        assert_eq!(declared_encoding(b"<a/>"), None);
    }
}

#[cfg(test)]
mod newline_tests {
    use super::find_newline;

    #[test]
    fn finds_the_first_newline_at_any_offset() {
        for len in 0..40 {
            for at in 0..len {
                let mut v = vec![b'x'; len];
                v[at] = b'\n';
                if at + 3 < len {
                    v[at + 3] = b'\n';
                }
                assert_eq!(find_newline(&v), Some(at), "len {len} at {at}");
            }
            assert_eq!(
                find_newline(&vec![0x8a; len]),
                None,
                "no newline, len {len}"
            );
        }
    }
}

#[cfg(test)]
mod position_tests {
    use super::*;

    /// Line and column by brute force over the whole text.
    fn expected(text: &[u8], offset: usize) -> (u64, u64) {
        let before = &text[..offset];
        let line = 1 + before.iter().filter(|&&b| b == b'\n').count() as u64;
        let column = match before.iter().rposition(|&b| b == b'\n') {
            Some(nl) => (offset - nl) as u64,
            None => offset as u64 + 1,
        };
        (line, column)
    }

    #[test]
    fn positions_are_exact_across_buffer_refills() {
        // Lines of 0..300 bytes (some empty, some long), well over three buffers.
        let mut text = Vec::new();
        let mut seed = 12345u64;
        while text.len() < 4 * BUFFER + 777 {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            let len = (seed >> 33) % 300;
            text.extend(std::iter::repeat_n(b'x', len as usize));
            text.push(b'\n');
        }
        let mut t = LineTracker::new(Box::new(Cursor::new(text.clone())));
        let mut consumed = 0usize;
        let mut step = 1usize;
        loop {
            let avail = t.fill_buf().unwrap().len();
            if avail == 0 {
                break;
            }
            let n = step.min(avail);
            t.consume(n);
            consumed += n;
            step = step % 997 + 13;
            assert_eq!(
                t.position(consumed as u64),
                expected(&text, consumed),
                "at {consumed}"
            );
            let back = consumed.saturating_sub(step * 3);
            assert_eq!(
                t.position(back as u64),
                expected(&text, back),
                "back at {back}"
            );
        }
        assert_eq!(consumed, text.len());
    }
}
