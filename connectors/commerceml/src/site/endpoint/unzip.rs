//! Safe unpacking of the archive 1C uploads when the site offered `zip=yes`.
//!
//! Everything is checked before anything lands in the upload directory: entry names are
//! confined like `filename`, the entry count and the total *actual* uncompressed size are
//! bounded (declared sizes can lie), and extraction goes to a staging directory that is only
//! moved into place when the whole archive passed. A hostile archive leaves nothing behind.

use super::files::confine;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Bounds for one archive.
#[derive(Debug, Clone, Copy)]
pub struct ZipLimits {
    /// Most entries allowed.
    pub max_entries: usize,
    /// Most uncompressed bytes allowed in total.
    pub max_total: u64,
}

/// Unpacks `archive` into `dest`; returns the relative paths of the files written.
/// On error nothing from the archive is left in `dest`.
pub fn unpack(archive: &Path, dest: &Path, limits: ZipLimits) -> Result<Vec<PathBuf>, String> {
    let staging = dest.join(format!(".unpack-{}", uuid::Uuid::new_v4().simple()));
    let result = unpack_to(archive, &staging, limits).and_then(|files| {
        for rel in &files {
            let to = dest.join(rel);
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent).map_err(|e| io_reason(&to, e))?;
            }
            std::fs::rename(staging.join(rel), &to).map_err(|e| io_reason(&to, e))?;
        }
        Ok(files)
    });
    let _ = std::fs::remove_dir_all(&staging);
    result
}

fn io_reason(path: &Path, e: std::io::Error) -> String {
    format!(
        "cannot write {}: {e}; check disk space and permissions",
        path.display()
    )
}

fn unpack_to(archive: &Path, staging: &Path, limits: ZipLimits) -> Result<Vec<PathBuf>, String> {
    let name = archive.display();
    let file =
        std::fs::File::open(archive).map_err(|e| format!("cannot open archive {name}: {e}"))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| {
        format!("archive {name} is not a readable zip ({e}); re-run the exchange from 1C")
    })?;
    if zip.len() > limits.max_entries {
        return Err(format!(
            "archive {name} has {} entries, more than the allowed {}; refused",
            zip.len(),
            limits.max_entries
        ));
    }
    // First pass: names and declared sizes, before writing a byte.
    let mut declared: u64 = 0;
    for i in 0..zip.len() {
        let entry = zip
            .by_index_raw(i)
            .map_err(|e| format!("archive {name}: entry {i} unreadable: {e}"))?;
        let entry_name = entry_name(&entry)?;
        confine(entry_name.trim_end_matches('/'))
            .map_err(|why| format!("archive {name}: entry {why}; nothing was extracted"))?;
        declared = declared.saturating_add(entry.size());
        if declared > limits.max_total {
            return Err(format!(
                "archive {name} unpacks to more than {} bytes (zip bomb?); nothing was extracted",
                limits.max_total
            ));
        }
    }
    std::fs::create_dir_all(staging).map_err(|e| io_reason(staging, e))?;
    let mut written: u64 = 0;
    let mut files = Vec::new();
    for i in 0..zip.len() {
        let mut entry = zip
            .by_index(i)
            .map_err(|e| format!("archive {name}: entry {i} unreadable: {e}"))?;
        let entry_name = entry_name(&entry)?;
        if entry.is_dir() {
            continue;
        }
        let rel = confine(&entry_name)
            .map_err(|why| format!("archive {name}: entry {why}; nothing was extracted"))?;
        let to = staging.join(&rel);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io_reason(&to, e))?;
        }
        let mut out = std::fs::File::create(&to).map_err(|e| io_reason(&to, e))?;
        // Count real bytes: the declared size may be a lie.
        let budget = limits.max_total - written;
        let mut limited = (&mut entry).take(budget + 1);
        let n = std::io::copy(&mut limited, &mut out)
            .map_err(|e| format!("archive {name}: entry {entry_name} is corrupt: {e}"))?;
        if n > budget {
            return Err(format!(
                "archive {name} unpacks to more than {} bytes (zip bomb?); nothing was extracted",
                limits.max_total
            ));
        }
        out.flush().map_err(|e| io_reason(&to, e))?;
        written += n;
        files.push(rel);
    }
    Ok(files)
}

fn entry_name<R: Read>(entry: &zip::read::ZipFile<'_, R>) -> Result<String, String> {
    entry.name().map(|n| n.into_owned()).map_err(|e| {
        format!("an archive entry has an unreadable name ({e}); nothing was extracted")
    })
}
