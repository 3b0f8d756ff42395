//! Products, variations and customers: listing with paging, batch updates, and pushing prices
//! and stock for a set of SKUs with as few calls as WooCommerce allows.
//!
//! **Push.** [`WooClient::push_price_and_stock`] reads the SKUs in bulk
//! (`GET /products?sku=a,b,…&per_page=100`: WooCommerce splits `sku` on commas and, when
//! filtering by SKU, searches variations too), compares, and writes only the items that differ:
//! simple products through `POST /products/batch`, variations through
//! `POST /products/<parent>/variations/batch`, at most 100 items per request. The price is
//! `regular_price` (a decimal string); stock is `manage_stock: true` + `stock_quantity`, because
//! WooCommerce ignores `stock_quantity` on a product that does not manage stock. Stock is an
//! integer in WooCommerce (`wc_stock_amount` truncates); fractional quantities are truncated.

use crate::client::{header_num, WooClient};
use crate::wire::{ManageStock, WooCustomer, WooProduct};
use crate::SYSTEM;
use async_trait::async_trait;
use dealbridge_sdk::model::{PushReport, SkuUpdate};
use dealbridge_sdk::money::parse_decimal;
use dealbridge_sdk::traits::StorePricePush;
use dealbridge_sdk::{ConnectorError, ErrorKind};
use reqwest::Method;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Most items WooCommerce accepts in one batch request, and most results per page.
pub const BATCH_MAX: usize = 100;

/// One page of a listing: the items, the total (`X-WP-Total`) and the page count
/// (`X-WP-TotalPages`).
pub type WooPage<T> = (Vec<T>, u64, u32);

fn money_text(d: Decimal) -> String {
    if d.round_dp(2) == d {
        format!("{:.2}", d)
    } else {
        d.normalize().to_string()
    }
}

/// Whether prices and stock can be set on `p` itself: not on a variable or grouped parent,
/// whose variations or children hold them.
pub(crate) fn holds_price(p: &WooProduct) -> bool {
    p.kind != "variable" && p.kind != "grouped"
}

fn same_price(current: &str, wanted: Decimal) -> bool {
    !current.trim().is_empty() && parse_decimal(current.trim()).is_ok_and(|c| c == wanted)
}

impl WooClient {
    pub(crate) async fn page_of<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<WooPage<T>, ConnectorError> {
        let req = self.request(Method::GET, path)?.query(query);
        let (items, headers): (Vec<T>, _) = self.send(what, req).await?;
        let total = header_num(&headers, "x-wp-total").unwrap_or(items.len() as u64);
        let pages = header_num(&headers, "x-wp-totalpages")
            .and_then(|p| u32::try_from(p).ok())
            .unwrap_or(u32::from(!items.is_empty()));
        Ok((items, total, pages))
    }

    /// `GET /products`: one page of products (not variations), by id ascending for stable
    /// paging. `per_page` 1–100.
    pub async fn list_products(
        &self,
        page: u32,
        per_page: u32,
    ) -> Result<WooPage<WooProduct>, ConnectorError> {
        self.page_of(
            &format!("list products (page {page})"),
            "products",
            &[
                ("page", page.to_string()),
                ("per_page", per_page.clamp(1, 100).to_string()),
                ("orderby", "id".to_string()),
                ("order", "asc".to_string()),
            ],
        )
        .await
    }

    /// `GET /products/<id>/variations`: one page of a variable product's variations, by id
    /// ascending.
    pub async fn list_variations(
        &self,
        product_id: u64,
        page: u32,
        per_page: u32,
    ) -> Result<WooPage<WooProduct>, ConnectorError> {
        self.page_of(
            &format!("list variations of product {product_id} (page {page})"),
            &format!("products/{product_id}/variations"),
            &[
                ("page", page.to_string()),
                ("per_page", per_page.clamp(1, 100).to_string()),
                ("orderby", "id".to_string()),
                ("order", "asc".to_string()),
            ],
        )
        .await
    }

    /// The products and variations having these SKUs, in `ceil(n / 100)` requests (more only
    /// if a chunk matches more than 100 records). A SKU containing a comma is asked alone,
    /// because WooCommerce splits the `sku` parameter on commas.
    pub async fn products_by_sku(
        &self,
        skus: &[String],
    ) -> Result<Vec<WooProduct>, ConnectorError> {
        let (alone, plain): (Vec<&String>, Vec<&String>) = skus
            .iter()
            .filter(|s| !s.is_empty())
            .partition(|s| s.contains(','));
        let mut queries: Vec<String> = plain
            .chunks(BATCH_MAX)
            .map(|c| c.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(","))
            .collect();
        queries.extend(alone.into_iter().cloned());
        let mut out: Vec<WooProduct> = Vec::new();
        for q in queries {
            let mut page = 1u32;
            loop {
                let (items, _, pages): WooPage<WooProduct> = self
                    .page_of(
                        "look products up by SKU",
                        "products",
                        &[
                            ("sku", q.clone()),
                            ("page", page.to_string()),
                            ("per_page", BATCH_MAX.to_string()),
                            ("orderby", "id".to_string()),
                            ("order", "asc".to_string()),
                        ],
                    )
                    .await?;
                for p in items {
                    if !out.iter().any(|x| x.id == p.id) {
                        out.push(p);
                    }
                }
                if page >= pages {
                    break;
                }
                page += 1;
            }
        }
        Ok(out)
    }

    async fn batch_update(
        &self,
        what: &str,
        path: &str,
        updates: &[Value],
    ) -> Result<Vec<Result<WooProduct, String>>, ConnectorError> {
        let mut out = Vec::with_capacity(updates.len());
        for chunk in updates.chunks(BATCH_MAX) {
            let req = self
                .request(Method::POST, path)?
                .json(&json!({ "update": chunk }));
            let (body, _): (Value, _) = self.send(what, req).await?;
            let items = body
                .get("update")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if items.len() != chunk.len() {
                return Err(ConnectorError::new(
                    ErrorKind::Protocol,
                    SYSTEM,
                    format!(
                        "{what}: sent {} updates but the answer lists {}; check the shop's batch endpoint",
                        chunk.len(),
                        items.len()
                    ),
                ));
            }
            for item in items {
                if let Some(err) = item.get("error") {
                    let code = err.get("code").and_then(Value::as_str).unwrap_or("error");
                    let msg = err.get("message").and_then(Value::as_str).unwrap_or("");
                    out.push(Err(format!("{code}: {msg}")));
                } else {
                    out.push(serde_json::from_value(item).map_err(|e| e.to_string()));
                }
            }
        }
        Ok(out)
    }

    /// `POST /products/batch` with `{"update": [...]}` (each entry has `id`), split into
    /// requests of at most 100. Per item: the product as saved, or WooCommerce's error.
    pub async fn batch_update_products(
        &self,
        updates: &[Value],
    ) -> Result<Vec<Result<WooProduct, String>>, ConnectorError> {
        self.batch_update("batch update products", "products/batch", updates)
            .await
    }

    /// `POST /products/<id>/variations/batch` with `{"update": [...]}`, split into requests of
    /// at most 100.
    pub async fn batch_update_variations(
        &self,
        product_id: u64,
        updates: &[Value],
    ) -> Result<Vec<Result<WooProduct, String>>, ConnectorError> {
        self.batch_update(
            &format!("batch update variations of product {product_id}"),
            &format!("products/{product_id}/variations/batch"),
            updates,
        )
        .await
    }

    /// `GET /customers`: one page, by id ascending.
    pub async fn list_customers(
        &self,
        page: u32,
        per_page: u32,
    ) -> Result<WooPage<WooCustomer>, ConnectorError> {
        self.page_of(
            &format!("list customers (page {page})"),
            "customers",
            &[
                ("page", page.to_string()),
                ("per_page", per_page.clamp(1, 100).to_string()),
                ("orderby", "id".to_string()),
                ("order", "asc".to_string()),
            ],
        )
        .await
    }

    /// `GET /customers/<id>`.
    pub async fn get_customer(&self, id: u64) -> Result<WooCustomer, ConnectorError> {
        let req = self.request(Method::GET, &format!("customers/{id}"))?;
        Ok(self.send(&format!("get customer {id}"), req).await?.0)
    }

    /// Sets regular prices by SKU, writing only the differing ones (see the module docs).
    pub async fn push_prices(
        &self,
        prices: &[(String, Decimal)],
    ) -> Result<PushReport, ConnectorError> {
        let items: Vec<SkuUpdate> = prices
            .iter()
            .map(|(sku, p)| SkuUpdate {
                sku: sku.clone(),
                regular_price: Some(*p),
                stock_quantity: None,
            })
            .collect();
        self.push_price_and_stock(&items).await
    }

    /// Sets stock quantities by SKU, writing only the differing ones (see the module docs).
    pub async fn push_stock(
        &self,
        stock: &[(String, Decimal)],
    ) -> Result<PushReport, ConnectorError> {
        let items: Vec<SkuUpdate> = stock
            .iter()
            .map(|(sku, q)| SkuUpdate {
                sku: sku.clone(),
                regular_price: None,
                stock_quantity: Some(*q),
            })
            .collect();
        self.push_price_and_stock(&items).await
    }

    /// Sets prices and/or stock by SKU: one bulk read per 100 SKUs, then batch writes of only
    /// the items that differ (see the module docs). A later entry for the same SKU wins.
    pub async fn push_price_and_stock(
        &self,
        items: &[SkuUpdate],
    ) -> Result<PushReport, ConnectorError> {
        let wanted = SkuUpdate::merge(items);
        let skus: Vec<String> = wanted.keys().cloned().collect();
        let found = self.products_by_sku(&skus).await?;
        let mut report = PushReport::default();
        // parent id (0 = simple products) → (SKU, update body).
        let mut writes: BTreeMap<u64, Vec<(String, Value)>> = BTreeMap::new();
        for (sku, w) in &wanted {
            let Some(p) = found.iter().find(|p| p.sku == *sku) else {
                report.not_found.push(sku.clone());
                continue;
            };
            if !holds_price(p) {
                report.failed.push((
                    sku.clone(),
                    format!(
                        "product {} is {}: prices and stock belong on its variations or children",
                        p.id, p.kind
                    ),
                ));
                continue;
            }
            let mut body = Map::new();
            if let Some(price) = w.regular_price {
                if !same_price(&p.regular_price, price) {
                    body.insert("regular_price".into(), json!(money_text(price)));
                }
            }
            if let Some(q) = w.stock_quantity {
                let q = q.trunc().to_i64().unwrap_or_default();
                if p.manage_stock != ManageStock::Yes || p.stock_quantity != Some(q) {
                    body.insert("manage_stock".into(), json!(true));
                    body.insert("stock_quantity".into(), json!(q));
                }
            }
            if body.is_empty() {
                report.unchanged.push(sku.clone());
                continue;
            }
            body.insert("id".into(), json!(p.id));
            writes
                .entry(p.parent_id)
                .or_default()
                .push((sku.clone(), Value::Object(body)));
        }
        for (parent, list) in writes {
            let bodies: Vec<Value> = list.iter().map(|(_, b)| b.clone()).collect();
            let results = if parent == 0 {
                self.batch_update_products(&bodies).await?
            } else {
                self.batch_update_variations(parent, &bodies).await?
            };
            for ((sku, _), r) in list.into_iter().zip(results) {
                match r {
                    Ok(_) => report.updated.push(sku),
                    Err(e) => report.failed.push((sku, e)),
                }
            }
        }
        Ok(report)
    }
}

#[async_trait]
impl StorePricePush for WooClient {
    async fn push_price_and_stock(
        &self,
        items: &[SkuUpdate],
    ) -> Result<PushReport, ConnectorError> {
        WooClient::push_price_and_stock(self, items).await
    }

    async fn current_price_and_stock(
        &self,
        skus: &[String],
    ) -> Result<Vec<SkuUpdate>, ConnectorError> {
        WooClient::current_price_and_stock(self, skus).await
    }
}
