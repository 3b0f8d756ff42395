//! Writing back to Shopify orders ([`OrderSink`]) and reading their payments.
//!
//! The order is read first and only what differs is written:
//! - **note**: Shopify has one staff note per order (`PUT orders/{id}.json {"note"}`), so a note
//!   is appended on a new line unless the note already contains it.
//! - **status**: `completed` / `closed` → `POST orders/{id}/close.json` (when not closed yet);
//!   `cancelled` → `POST orders/{id}/cancel.json` (when not cancelled yet); `open` →
//!   `POST orders/{id}/open.json` (re-opens a closed order). Any other status is a financial
//!   status that Shopify derives from transactions; asking for a different one is refused.
//! - **paid**: an `authorized` order gets a `capture` of each uncaptured authorization
//!   (`parent_id`); a `pending` (manual payment) order gets a `sale` transaction with
//!   `source: external` for the outstanding amount, Shopify's REST way of importing a payment
//!   received outside Shopify. A `paid` / refunded order is left alone.
//! - **lines**: the wanted list is matched to the order's lines and the difference is written
//!   through GraphQL order editing, one session (`orderEditBegin`, one mutation per changed
//!   line, `orderEditCommit`), see [`crate::order_edit`]; lines that already match cost no call.
//!   The edit goes first, after the status is validated: a refused edit (Shopify's
//!   `userErrors` → [`ErrorKind::Invalid`]) is never committed and nothing else is written.
//!   The order is then read again, so the note, payment and status steps see the edited order
//!   and the answer shows it (`current_quantity`, `current_*` totals; see [`crate::convert`]).
//!
//! Payment is computed against the order's current total (`current_total_price`), so an edit
//! that raised the total of a paid order (`partially_paid`, nothing left to capture) gets an
//! external `sale` for the difference.

use crate::client::ShopifyClient;
use crate::convert::{order_to_canonical, order_total, transaction_to_payment};
use crate::wire::{OrderEnvelope, ShopifyOrder, Transaction, TransactionEnvelope};
use crate::SYSTEM;
use async_trait::async_trait;
use dealbridge_sdk::model::{Order, OrderChange, Payment};
use dealbridge_sdk::traits::OrderSink;
use dealbridge_sdk::{ConnectorError, ErrorKind};
use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::json;

fn invalid(order_id: u64, why: &str) -> ConnectorError {
    ConnectorError::new(
        ErrorKind::Invalid,
        SYSTEM,
        format!("update order {order_id}: {why}"),
    )
}

fn parse_id(id: &str) -> Result<u64, ConnectorError> {
    id.trim().parse().map_err(|_| {
        ConnectorError::new(
            ErrorKind::NotFound,
            SYSTEM,
            format!("order `{id}`: Shopify REST order ids are integers; the binding is wrong"),
        )
    })
}

impl ShopifyClient {
    /// `POST orders/{id}/open.json`: re-opens a closed order.
    pub async fn open_order(&self, id: u64) -> Result<ShopifyOrder, ConnectorError> {
        let req = self
            .request(Method::POST, &format!("orders/{id}/open.json"))?
            .json(&json!({}));
        let (env, _): (OrderEnvelope, _) = self.send(&format!("re-open order {id}"), req).await?;
        Ok(env.order)
    }

    /// `POST orders/{id}/transactions.json` with a transaction object (`{"kind": "capture",
    /// "parent_id": …, "amount": "10.00", "currency": "USD"}`). 201 with the transaction.
    pub async fn create_transaction(
        &self,
        order_id: u64,
        transaction: &serde_json::Value,
    ) -> Result<Transaction, ConnectorError> {
        let req = self
            .request(
                Method::POST,
                &format!("orders/{order_id}/transactions.json"),
            )?
            .json(&json!({ "transaction": transaction }));
        let (env, _): (TransactionEnvelope, _) = self
            .send(&format!("create a transaction on order {order_id}"), req)
            .await?;
        Ok(env.transaction)
    }

    /// Records payment of order `order` (see the module docs); returns how many transactions
    /// were created (0 when already paid).
    async fn mark_paid(&self, order: &ShopifyOrder) -> Result<u32, ConnectorError> {
        let id = order.id;
        match order.financial_status.as_deref() {
            Some("paid" | "partially_refunded" | "refunded") => Ok(0),
            Some(status @ ("authorized" | "partially_paid")) => {
                let txs = self.list_transactions(id).await?;
                let ok = |t: &&Transaction| t.status.as_deref().is_none_or(|s| s == "success");
                let captured: Vec<u64> = txs
                    .iter()
                    .filter(ok)
                    .filter(|t| t.kind == "capture" || t.kind == "void")
                    .filter_map(|t| t.parent_id)
                    .collect();
                let open: Vec<&Transaction> = txs
                    .iter()
                    .filter(ok)
                    .filter(|t| t.kind == "authorization" && !captured.contains(&t.id))
                    .collect();
                if open.is_empty() && status == "partially_paid" {
                    // Paid before an edit raised the total: record the difference.
                    return self.record_external_sale(order).await;
                }
                if open.is_empty() {
                    return Err(invalid(
                        id,
                        "the order is not fully paid but has no open authorization to capture; record the payment in Shopify",
                    ));
                }
                for a in &open {
                    self.create_transaction(
                        id,
                        &json!({
                            "kind": "capture",
                            "parent_id": a.id,
                            "amount": a.amount.to_string(),
                            "currency": a.currency.clone().unwrap_or_else(|| order.currency.clone()),
                        }),
                    )
                    .await?;
                }
                Ok(open.len() as u32)
            }
            Some("pending") | None => self.record_external_sale(order).await,
            Some(other) => Err(invalid(
                id,
                &format!("an order whose financial status is `{other}` cannot be marked paid"),
            )),
        }
    }

    /// A `sale` with `source: external` for what the order's current total still lacks;
    /// returns 1, or 0 when nothing is outstanding.
    async fn record_external_sale(&self, order: &ShopifyOrder) -> Result<u32, ConnectorError> {
        let id = order.id;
        let txs = self.list_transactions(id).await?;
        let paid: Decimal = txs
            .iter()
            .filter(|t| t.status.as_deref().is_none_or(|s| s == "success"))
            .map(|t| match t.kind.as_str() {
                "sale" | "capture" => t.amount,
                "refund" => -t.amount,
                _ => Decimal::ZERO,
            })
            .sum();
        let outstanding = order_total(order) - paid;
        if outstanding <= Decimal::ZERO {
            return Ok(0);
        }
        self.create_transaction(
            id,
            &json!({
                "kind": "sale",
                "source": "external",
                "amount": outstanding.to_string(),
                "currency": order.currency,
            }),
        )
        .await?;
        Ok(1)
    }

    /// The payments of an order as canonical [`Payment`]s: its successful `sale` and `capture`
    /// transactions (positive) and `refund` transactions (negative), oldest first; source id =
    /// the transaction id. One `GET orders/{id}/transactions.json`; a `GET orders/{id}.json`
    /// only when a transaction lacks its currency (old payloads).
    pub async fn payments_of(&self, order_id: &str) -> Result<Vec<Payment>, ConnectorError> {
        let id = parse_id(order_id)?;
        let mut txs = self.list_transactions(id).await?;
        let currency = if txs.iter().any(|t| t.currency.is_none()) {
            self.get_order(id).await?.currency
        } else {
            String::new()
        };
        txs.sort_by_key(|t| (t.processed_at.unwrap_or(t.created_at), t.id));
        let mut out = Vec::new();
        for t in &txs {
            if let Some(p) = transaction_to_payment(self.system_name(), &currency, t)? {
                out.push(p);
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl OrderSink for ShopifyClient {
    /// Reads the order, then writes only what differs (see the module docs): the status is
    /// validated first, then the lines are edited (one GraphQL session, none when they match),
    /// then note, payment and status. A refused line edit writes nothing at all.
    async fn update_order(&self, id: &str, change: &OrderChange) -> Result<Order, ConnectorError> {
        let numeric = parse_id(id)?;
        let mut order = self.get_order(numeric).await?;
        let current = order_to_canonical(self.system_name(), &order)?;
        enum Step {
            Close,
            Cancel,
            Open,
        }
        let step = match change.status.as_deref().map(str::trim) {
            None => None,
            Some("completed" | "closed") => order.closed_at.is_none().then_some(Step::Close),
            Some("cancelled") => order.cancelled_at.is_none().then_some(Step::Cancel),
            Some("open") if order.cancelled_at.is_none() => {
                order.closed_at.is_some().then_some(Step::Open)
            }
            Some(s) if s == current.status => None,
            Some(s) => {
                return Err(invalid(
                    numeric,
                    &format!(
                        "status `{s}` cannot be set: Shopify takes `completed`/`closed`, `cancelled` or `open`, and derives the financial status from transactions (the order is `{}`); fix the status mapping",
                        current.status
                    ),
                ))
            }
        };
        if let Some(lines) = &change.lines {
            if self.edit_order_lines(&order, lines).await? {
                order = self.get_order(numeric).await?;
            }
        }
        // True when a transaction was created and `order` no longer shows its financial status.
        let mut stale = false;
        if let Some(note) = change
            .note
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            let existing = order.note.clone().unwrap_or_default();
            if !existing.contains(note) {
                let merged = if existing.trim().is_empty() {
                    note.to_string()
                } else {
                    format!("{}\n{note}", existing.trim_end())
                };
                order = self.set_order_note(numeric, &merged).await?;
            }
        }
        if change.paid == Some(true) && self.mark_paid(&order).await? > 0 {
            stale = true;
        }
        match step {
            Some(Step::Close) => {
                order = self.close_order(numeric).await?;
                stale = false;
            }
            Some(Step::Cancel) => {
                order = self.cancel_order(numeric, None).await?;
                stale = false;
            }
            Some(Step::Open) => {
                order = self.open_order(numeric).await?;
                stale = false;
            }
            None => {}
        }
        if stale {
            // A transaction changes the financial status: answer with the order as it is now.
            order = self.get_order(numeric).await?;
        }
        order_to_canonical(self.system_name(), &order)
    }
}

/// One page of a cursor-paged listing and the cursor of the next page.
#[derive(Debug, Clone, PartialEq)]
pub struct CursorPage<T> {
    /// The items.
    pub items: Vec<T>,
    /// `page_info` of the next page (`Link: rel="next"`), if any.
    pub next_page_info: Option<String>,
}

impl ShopifyClient {
    /// One page of `resource.json`: the first page with `first_query`, later ones with only
    /// `limit` and the cursor, as Shopify requires.
    pub(crate) async fn cursor_page<E: serde::de::DeserializeOwned, T>(
        &self,
        resource: &str,
        limit: u32,
        page_info: Option<&str>,
        first_query: &[(&str, String)],
        unwrap: impl FnOnce(E) -> Vec<T>,
    ) -> Result<CursorPage<T>, ConnectorError> {
        let mut query: Vec<(&str, String)> = vec![(
            "limit",
            limit.clamp(1, crate::client::MAX_LIMIT).to_string(),
        )];
        match page_info {
            Some(c) => query.push(("page_info", c.to_string())),
            None => query.extend(first_query.iter().cloned()),
        }
        let req = self
            .request(Method::GET, &format!("{resource}.json"))?
            .query(&query);
        let (env, headers): (E, _) = self.send(&format!("list {resource}"), req).await?;
        let link = headers
            .get(reqwest::header::LINK)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        Ok(CursorPage {
            items: unwrap(env),
            next_page_info: crate::link::page_info(link, "next"),
        })
    }

    /// `GET customers.json`: one page (`limit` 1–250), by cursor.
    pub async fn list_customers_page(
        &self,
        limit: u32,
        page_info: Option<&str>,
    ) -> Result<CursorPage<crate::wire::Customer>, ConnectorError> {
        self.cursor_page(
            "customers",
            limit,
            page_info,
            &[],
            |e: crate::wire::CustomersEnvelope| e.customers,
        )
        .await
    }

    /// Every customer, following `Link: rel="next"` (250 per request).
    pub async fn all_customers(&self) -> Result<Vec<crate::wire::Customer>, ConnectorError> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .list_customers_page(crate::client::MAX_LIMIT, cursor.as_deref())
                .await?;
            out.extend(page.items);
            match page.next_page_info {
                Some(c) => cursor = Some(c),
                None => return Ok(out),
            }
        }
    }

    /// `GET orders/{id}/refunds.json`.
    pub async fn list_refunds(
        &self,
        order_id: u64,
    ) -> Result<Vec<crate::wire::Refund>, ConnectorError> {
        let req = self.request(Method::GET, &format!("orders/{order_id}/refunds.json"))?;
        let (env, _): (crate::wire::RefundsEnvelope, _) = self
            .send(&format!("list refunds of order {order_id}"), req)
            .await?;
        Ok(env.refunds)
    }

    /// `GET tender_transactions.json`: one page of money that moved shop-wide, oldest first,
    /// processed at or after `processed_at_min` (first page only; the cursor carries it).
    pub async fn list_tender_transactions(
        &self,
        limit: u32,
        processed_at_min: Option<chrono::DateTime<chrono::Utc>>,
        page_info: Option<&str>,
    ) -> Result<CursorPage<crate::wire::TenderTransaction>, ConnectorError> {
        let mut first = vec![("order", "processed_at ASC".to_string())];
        if let Some(t) = processed_at_min {
            first.push((
                "processed_at_min",
                t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ));
        }
        self.cursor_page(
            "tender_transactions",
            limit,
            page_info,
            &first,
            |e: crate::wire::TenderTransactionsEnvelope| e.tender_transactions,
        )
        .await
    }
}

#[async_trait]
impl dealbridge_sdk::traits::PaymentSource for ShopifyClient {
    async fn payments_of(&self, order_id: &str) -> Result<Vec<Payment>, ConnectorError> {
        ShopifyClient::payments_of(self, order_id).await
    }
}
