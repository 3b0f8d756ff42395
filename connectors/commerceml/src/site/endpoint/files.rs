//! The upload directory: confined file names, appending chunks, clearing at `init`.

use std::io::Write;
use std::path::{Component, Path, PathBuf};

/// Turns 1C's `filename` into a path relative to the upload directory, or says why it is
/// refused. Sub-directories (`import_files/c4/…jpg`) are allowed; anything that could leave the
/// directory (`..`, absolute paths, drive letters, backslashes, NUL) is not.
pub fn confine(name: &str) -> Result<PathBuf, String> {
    let refuse = |why: &str| {
        Err(format!(
            "file name \"{}\" refused: {why}",
            name.escape_debug()
        ))
    };
    if name.is_empty() {
        return refuse("empty");
    }
    if name.contains('\0') {
        return refuse("contains NUL");
    }
    if name.contains('\\') {
        return refuse("contains a backslash");
    }
    if name.starts_with('/') {
        return refuse("absolute path");
    }
    let b = name.as_bytes();
    if b.len() >= 2 && b[1] == b':' && b[0].is_ascii_alphabetic() {
        return refuse("drive letter");
    }
    if name.len() > 1024 {
        return refuse("longer than 1024 bytes");
    }
    let mut out = PathBuf::new();
    for part in name.split('/') {
        match part {
            "" | "." => return refuse("empty or `.` path component"),
            ".." => return refuse("`..` path component"),
            p if p.len() > 255 => return refuse("path component longer than 255 bytes"),
            p => out.push(p),
        }
    }
    // Belt and braces: the result must be purely relative normal components.
    if !out.components().all(|c| matches!(c, Component::Normal(_))) {
        return refuse("not a plain relative path");
    }
    Ok(out)
}

/// Empties `dir` (creating it when missing): a new exchange must not append to old files.
pub fn reset_dir(dir: &Path) -> std::io::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    std::fs::create_dir_all(dir)
}

/// Total size of the regular files under `dir`.
pub fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut total = 0;
    for e in entries.flatten() {
        match e.file_type() {
            Ok(t) if t.is_dir() => total += dir_size(&e.path()),
            Ok(t) if t.is_file() => total += e.metadata().map(|m| m.len()).unwrap_or(0),
            _ => {}
        }
    }
    total
}

/// Appends `bytes` to `dir/rel`, creating sub-directories.
pub fn append(dir: &Path, rel: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)?;
    f.write_all(bytes)?;
    f.flush()
}

/// Whether the file looks like a zip archive (by magic, or by extension when empty/short).
pub fn is_zip(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    let by_magic = std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .map(|_| &magic == b"PK\x03\x04" || &magic == b"PK\x05\x06")
        .unwrap_or(false);
    by_magic
        || path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
}

#[cfg(test)]
mod tests {
    use super::confine;

    #[test]
    fn confines_names() {
        assert!(confine("import.xml").is_ok());
        assert!(confine("import_files/c4/a.jpg").is_ok());
        for bad in [
            "",
            "../x",
            "a/../../x",
            "/etc/passwd",
            "C:/x",
            "c:x",
            "a\\b",
            "a\0b",
            "a//b",
            "./a",
        ] {
            assert!(confine(bad).is_err(), "{bad:?} must be refused");
        }
    }
}
