//! Parsing amoCRM lead webhooks.
//!
//! amoCRM posts `application/x-www-form-urlencoded` bodies shaped
//! `{entity: {action: {index: {fields}}}}` in bracket keys, e.g.
//! `leads[status][0][id]=1&leads[status][0][status_id]=2&leads[status][0][old_status_id]=3&account[subdomain]=x`
//! (webhooks-format page; captured deliveries). Values are text; delete events carry only
//! `id` (and `type`). Deliveries are **not signed**: authenticate them by a secret token in
//! the URL path (the engine's job) and check `account[subdomain]` / `account[id]`; then treat
//! the event as a hint and re-read the lead.

use std::collections::BTreeMap;

/// What happened to a lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LeadEventKind {
    /// `leads[add]`: created.
    Add,
    /// `leads[update]`: changed.
    Update,
    /// `leads[status]`: moved to another status (stage).
    Status,
    /// `leads[delete]`: deleted.
    Delete,
    /// `leads[restore]`: restored from the bin.
    Restore,
    /// `leads[responsible]`: the responsible user changed.
    Responsible,
}

impl LeadEventKind {
    fn parse(action: &str) -> Option<Self> {
        Some(match action {
            "add" => Self::Add,
            "update" => Self::Update,
            "status" => Self::Status,
            "delete" => Self::Delete,
            "restore" => Self::Restore,
            "responsible" => Self::Responsible,
            _ => return None,
        })
    }
}

/// One lead event of a webhook delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadEvent {
    /// What happened.
    pub kind: LeadEventKind,
    /// The lead id.
    pub lead_id: u64,
    /// `status_id` after the change, when sent.
    pub status_id: Option<u64>,
    /// `old_status_id` (status events).
    pub old_status_id: Option<u64>,
    /// `pipeline_id`, when sent.
    pub pipeline_id: Option<u64>,
    /// `last_modified` (Unix seconds), when sent.
    pub modified_at: Option<i64>,
    /// `account[subdomain]` of the delivery.
    pub account_subdomain: Option<String>,
    /// `account[id]` of the delivery.
    pub account_id: Option<u64>,
}

/// Why a webhook body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// The body is not form-encoded text.
    #[error("the amoCRM webhook body is not UTF-8 form data; check that the URL is only given to amoCRM's webhook settings")]
    NotForm,
    /// A lead entry has no usable id.
    #[error("amoCRM webhook entry leads[{action}][{index}] has no numeric id (`{value}`); the delivery is malformed")]
    BadId {
        /// The action key.
        action: String,
        /// The entry index.
        index: String,
        /// What was sent as the id.
        value: String,
    },
}

/// `leads[update][0][id]` → `["leads", "update", "0", "id"]`.
fn path(key: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (head, mut rest) = match key.find('[') {
        Some(i) => (&key[..i], &key[i..]),
        None => (key, ""),
    };
    out.push(head);
    while let Some(r) = rest.strip_prefix('[') {
        match r.find(']') {
            Some(end) => {
                out.push(&r[..end]);
                rest = &r[end + 1..];
            }
            None => break,
        }
    }
    out
}

/// Lead events in a delivery, in the order of their first key. Other entities (contacts,
/// tasks, notes) and unknown lead actions are skipped; an empty list is not an error.
pub fn parse_webhook(body: &[u8]) -> Result<Vec<LeadEvent>, WebhookError> {
    if std::str::from_utf8(body).is_err() {
        return Err(WebhookError::NotForm);
    }
    let mut subdomain = None;
    let mut account_id = None;
    // (order, action, index) → fields
    let mut entries: BTreeMap<(String, String), (usize, BTreeMap<String, String>)> =
        BTreeMap::new();
    for (k, v) in url::form_urlencoded::parse(body) {
        let p = path(&k);
        match p.as_slice() {
            ["account", "subdomain"] => subdomain = Some(v.to_string()),
            ["account", "id"] => account_id = v.parse().ok(),
            ["leads", action, index, field, ..] if p.len() == 4 => {
                let n = entries.len();
                entries
                    .entry((action.to_string(), index.to_string()))
                    .or_insert_with(|| (n, BTreeMap::new()))
                    .1
                    .insert(field.to_string(), v.to_string());
            }
            _ => {}
        }
    }
    let mut list: Vec<_> = entries.into_iter().collect();
    list.sort_by_key(|(_, (order, _))| *order);
    let mut out = Vec::new();
    for ((action, index), (_, f)) in list {
        let Some(kind) = LeadEventKind::parse(&action) else {
            continue;
        };
        let raw = f.get("id").cloned().unwrap_or_default();
        let lead_id = raw.trim().parse().map_err(|_| WebhookError::BadId {
            action: action.clone(),
            index: index.clone(),
            value: raw.clone(),
        })?;
        let num = |k: &str| f.get(k).and_then(|v| v.trim().parse().ok());
        out.push(LeadEvent {
            kind,
            lead_id,
            status_id: num("status_id"),
            old_status_id: num("old_status_id"),
            pipeline_id: num("pipeline_id"),
            modified_at: f.get("last_modified").and_then(|v| v.trim().parse().ok()),
            account_subdomain: subdomain.clone(),
            account_id,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_update_and_delete_events_parse() {
        let body = "leads%5Bstatus%5D%5B0%5D%5Bid%5D=25399013&leads%5Bstatus%5D%5B0%5D%5Bstatus_id%5D=142&leads%5Bstatus%5D%5B0%5D%5Bold_status_id%5D=32392156&leads%5Bstatus%5D%5B0%5D%5Bpipeline_id%5D=3177727&leads%5Bstatus%5D%5B0%5D%5Bcustom_fields%5D%5B0%5D%5Bid%5D=1&leads[update][0][id]=5&leads[update][1][id]=6&leads[delete][0][id]=7&leads[delete][0][type]=2&contacts[add][0][id]=9&account[subdomain]=example&account[id]=28805383";
        let ev = parse_webhook(body.as_bytes()).unwrap();
        assert_eq!(ev.len(), 4, "{ev:?}");
        assert_eq!(ev[0].kind, LeadEventKind::Status);
        assert_eq!(ev[0].lead_id, 25399013);
        assert_eq!(ev[0].status_id, Some(142));
        assert_eq!(ev[0].old_status_id, Some(32392156));
        assert_eq!(ev[0].pipeline_id, Some(3177727));
        assert_eq!(ev[0].account_subdomain.as_deref(), Some("example"));
        assert_eq!(ev[0].account_id, Some(28805383));
        assert_eq!((ev[1].kind, ev[1].lead_id), (LeadEventKind::Update, 5));
        assert_eq!((ev[2].kind, ev[2].lead_id), (LeadEventKind::Update, 6));
        assert_eq!((ev[3].kind, ev[3].lead_id), (LeadEventKind::Delete, 7));
    }

    #[test]
    fn malformed_bodies_are_refused_or_empty() {
        assert_eq!(parse_webhook(b"\xff\xfe"), Err(WebhookError::NotForm));
        assert!(matches!(
            parse_webhook(b"leads[add][0][id]=abc"),
            Err(WebhookError::BadId { .. })
        ));
        assert!(parse_webhook(b"account[subdomain]=x").unwrap().is_empty());
    }
}
