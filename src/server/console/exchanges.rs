//! The Overview's "last 1C exchange": per exchange type, the newest exchange's files as the 1C
//! endpoint journalled them ([`crate::onec::exchange_journal`]): when, how many files, which
//! were imported and which failed, with their counts or reasons.

use crate::onec::exchange_journal::FAILED;
use crate::server::html::escape;
use chrono::{DateTime, Utc};
use dealbridge_store::{EntityKind, JournalRow, Store, StoreError};
use std::fmt::Write;

/// Journal rows read per exchange type: more files than one exchange ever sends.
const ROWS: u32 = 200;

/// The newest exchange of one type.
#[derive(Debug, Clone, PartialEq)]
pub struct LastExchange {
    /// `catalog` or `sale`.
    pub exchange_type: String,
    /// When its first file's import ended.
    pub first_at: DateTime<Utc>,
    /// When its last file's import ended.
    pub last_at: DateTime<Utc>,
    /// Its files, in the order they were imported.
    pub files: Vec<ExchangeFile>,
}

/// One file of an exchange.
#[derive(Debug, Clone, PartialEq)]
pub struct ExchangeFile {
    /// The name 1C gave it.
    pub name: String,
    /// Whether its import failed.
    pub failed: bool,
    /// Its counts (imported) or why it failed.
    pub what: String,
}

impl LastExchange {
    /// Files whose import failed.
    pub fn failed(&self) -> usize {
        self.files.iter().filter(|f| f.failed).count()
    }
}

/// The newest exchange of each type that has one, `catalog` first.
pub async fn last_exchanges(store: &Store) -> Result<Vec<LastExchange>, StoreError> {
    let mut out = Vec::new();
    for exchange_type in ["catalog", "sale"] {
        let rows = store
            .journal_latest_for(EntityKind::Exchange1c, exchange_type, ROWS)
            .await?;
        out.extend(newest_exchange(exchange_type, &rows));
    }
    Ok(out)
}

/// The rows (newest first) of the newest exchange: those of the newest file row's session.
/// Lines of other steps (no session: a finish, a confirmation, a failed start) are not files.
fn newest_exchange(exchange_type: &str, rows: &[JournalRow]) -> Option<LastExchange> {
    let newest = rows.iter().find(|r| r.external_id.is_some())?;
    let mut mine: Vec<&JournalRow> = rows
        .iter()
        .filter(|r| r.external_id == newest.external_id)
        .collect();
    mine.reverse();
    let files = mine
        .iter()
        .map(|r| {
            let detail: serde_json::Value = r
                .detail
                .as_deref()
                .and_then(|d| serde_json::from_str(d).ok())
                .unwrap_or_default();
            let text = |k: &str| detail[k].as_str().unwrap_or("").to_string();
            let failed = r.action == FAILED;
            ExchangeFile {
                name: text("file"),
                failed,
                what: if failed {
                    text("error")
                } else {
                    text("summary")
                },
            }
        })
        .collect();
    Some(LastExchange {
        exchange_type: exchange_type.to_string(),
        first_at: mine.first()?.at,
        last_at: newest.at,
        files,
    })
}

/// The Overview's section: one block per type, with each file.
pub fn section(exchanges: &[LastExchange], when: fn(DateTime<Utc>) -> String) -> String {
    let mut b = String::from("<h2>Last 1C exchange</h2>");
    if exchanges.is_empty() {
        b.push_str("<p>No 1C exchange yet.</p>");
        return b;
    }
    b.push_str("<table><tr><th>type</th><th>when</th><th>files</th><th>result</th><th>file</th><th>counts or error</th></tr>");
    for x in exchanges {
        let failed = x.failed();
        let result = if failed == 0 {
            "<span class=ok>ok</span>".to_string()
        } else {
            format!("<span class=bad>{failed} failed</span>")
        };
        for (i, f) in x.files.iter().enumerate() {
            let lead = if i == 0 {
                format!(
                    "<td rowspan={n}>{}</td><td rowspan={n}>{}</td><td rowspan={n}>{n}</td><td rowspan={n}>{result}</td>",
                    escape(&x.exchange_type),
                    when(x.last_at),
                    n = x.files.len()
                )
            } else {
                String::new()
            };
            let _ = write!(
                b,
                "<tr>{lead}<td>{}</td><td class={}>{}</td></tr>",
                escape(&f.name),
                if f.failed { "bad" } else { "err" },
                escape(&f.what)
            );
        }
    }
    b.push_str("</table>");
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, session: &str, action: &str, detail: serde_json::Value) -> JournalRow {
        JournalRow {
            id,
            at: DateTime::from_timestamp(1_700_000_000 + id, 0).unwrap(),
            kind: EntityKind::Exchange1c,
            entity_id: "catalog".into(),
            system: "1c".into(),
            action: action.into(),
            external_id: Some(session.into()),
            job_id: None,
            detail: Some(detail.to_string()),
        }
    }

    #[test]
    fn the_newest_session_is_the_last_exchange() {
        // Newest first, as the store reads them.
        let rows = [
            row(
                4,
                "b",
                "failed",
                serde_json::json!({"file": "offers.xml", "error": "bad XML"}),
            ),
            row(
                3,
                "b",
                "imported",
                serde_json::json!({"file": "import.xml", "summary": "products 2+0~0"}),
            ),
            row(
                2,
                "a",
                "imported",
                serde_json::json!({"file": "old.xml", "summary": "x"}),
            ),
        ];
        let x = newest_exchange("catalog", &rows).unwrap();
        assert_eq!(x.files.len(), 2);
        assert_eq!(x.files[0].name, "import.xml");
        assert_eq!(x.files[1].what, "bad XML");
        assert_eq!(x.failed(), 1);
        assert!(x.first_at < x.last_at);
        let html = section(&[x], |t| t.to_rfc3339());
        assert!(
            html.contains("1 failed") && html.contains("products 2+0~0"),
            "{html}"
        );
        assert!(newest_exchange("sale", &[]).is_none());
    }
}
