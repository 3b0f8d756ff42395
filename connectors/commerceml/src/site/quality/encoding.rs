//! Whether a file's bytes match the encoding it declares. 1C writes UTF-8 (with a BOM) or
//! windows-1251; a file re-saved by an editor often keeps the declaration and changes the bytes,
//! and then every Cyrillic name is stored garbled without any error.
//!
//! The probe sees the raw bytes as the import reads them (no second pass): it checks that they are
//! valid UTF-8 and whether any is non-ASCII. Windows-1251 Cyrillic is practically never valid
//! UTF-8, so "declared windows-1251, bytes valid UTF-8 with non-ASCII" and "declared UTF-8, bytes
//! not UTF-8" are both a mismatch; ASCII-only files match every declaration.

/// What the bytes of a file looked like.
#[derive(Debug, Clone, Default)]
pub(crate) struct Utf8Probe {
    invalid: bool,
    non_ascii: bool,
    /// The bytes of a UTF-8 sequence cut by the end of the previous chunk.
    carry: Vec<u8>,
}

impl Utf8Probe {
    /// Looks at the next chunk of the file.
    pub(crate) fn feed(&mut self, chunk: &[u8]) {
        if self.invalid || chunk.is_empty() {
            return;
        }
        if !self.non_ascii && chunk.is_ascii() && self.carry.is_empty() {
            return;
        }
        self.non_ascii = true;
        let joined;
        let bytes = if self.carry.is_empty() {
            chunk
        } else {
            joined = [std::mem::take(&mut self.carry).as_slice(), chunk].concat();
            &joined
        };
        match std::str::from_utf8(bytes) {
            Ok(_) => {}
            // A sequence cut at the end of the chunk: finish it with the next one.
            Err(e) if e.error_len().is_none() => {
                self.carry = bytes[e.valid_up_to()..].to_vec();
            }
            Err(_) => self.invalid = true,
        }
    }

    /// Why the bytes do not match `declared` (the encoding the reader decoded with), if they
    /// do not.
    pub(crate) fn mismatch(&self, declared: &str) -> Option<String> {
        let invalid = self.invalid || !self.carry.is_empty();
        if declared.eq_ignore_ascii_case("utf-8") {
            invalid.then(|| {
                "the file declares UTF-8 (or nothing) but its bytes are not UTF-8 \
                 (windows-1251?): fix the XML declaration in 1C's exchange settings"
                    .to_string()
            })
        } else {
            (self.non_ascii && !invalid).then(|| {
                format!(
                    "the file declares {declared} but its bytes are UTF-8: names are stored \
                     garbled; fix the XML declaration in 1C's exchange settings"
                )
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(bytes: &[u8], chunk: usize) -> Utf8Probe {
        let mut p = Utf8Probe::default();
        for c in bytes.chunks(chunk) {
            p.feed(c);
        }
        p
    }

    #[test]
    fn utf8_text_cut_anywhere_is_utf8() {
        let text = "Товар «Стол» №1".as_bytes();
        for chunk in 1..8 {
            let p = probe(text, chunk);
            assert_eq!(p.mismatch("UTF-8"), None, "chunk {chunk}");
            assert!(p.mismatch("windows-1251").is_some(), "chunk {chunk}");
        }
    }

    #[test]
    fn windows_1251_bytes_are_not_utf8() {
        let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode("Товар Стол");
        let p = probe(&bytes, 3);
        assert_eq!(p.mismatch("windows-1251"), None);
        assert!(p.mismatch("UTF-8").is_some());
    }

    #[test]
    fn ascii_matches_everything() {
        let p = probe(b"<a>plain</a>", 4);
        assert_eq!(p.mismatch("UTF-8"), None);
        assert_eq!(p.mismatch("windows-1251"), None);
    }
}
