//! The portal's data: deals, their product rows, contacts, and the deal stages.
//!
//! Records are kept in their *read* shape (IDs and amounts as strings, `null` for unset), so
//! `get`, `list`, filters and `select` work on exactly what a client would see.

use chrono::{DateTime, FixedOffset, SecondsFormat, Utc};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{json, Map, Number, Value};
use std::collections::BTreeMap;

/// The product catalog's information block id on a new portal (the CRM catalog); the
/// portal's real id comes from `catalog.catalog.list`. `crm.product.*` reports it as
/// `CATALOG_ID` "25"; the emulator uses the same id for `catalog.product.*`.
pub const CATALOG_IBLOCK_ID: u64 = 25;

/// A record in read shape.
pub(crate) type Record = Map<String, Value>;

/// What a stage means for the deal: still open, won, or lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageSemantics {
    /// An open stage (`STAGE_SEMANTIC_ID` `P`).
    Process,
    /// The won stage (`S`): closes the deal.
    Success,
    /// A lost stage (`F`): closes the deal.
    Failure,
}

impl StageSemantics {
    /// `P`, `S` or `F`.
    pub fn code(self) -> &'static str {
        match self {
            StageSemantics::Process => "P",
            StageSemantics::Success => "S",
            StageSemantics::Failure => "F",
        }
    }
}

/// One stage of the deal pipelines. Pipeline 0 uses the id as is; pipeline `n > 0` uses
/// `C<n>:<id>` (the emulator gives every pipeline the same stages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageDef {
    /// Stage id in the default pipeline (`NEW`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Open, won or lost.
    pub semantics: StageSemantics,
}

/// The default pipeline's stages of a new Bitrix24 portal (as `crm.status.list` shows them).
pub fn default_stages() -> Vec<StageDef> {
    use StageSemantics::*;
    [
        ("NEW", "Новая", Process),
        ("PREPARATION", "Подготовка документов", Process),
        ("PREPAYMENT_INVOICE", "Счет на предоплату", Process),
        ("EXECUTING", "В работе", Process),
        ("FINAL_INVOICE", "Финальный счет", Process),
        ("WON", "Сделка успешна", Success),
        ("LOSE", "Сделка провалена", Failure),
        ("APOLOGY", "Анализ причины провала", Failure),
    ]
    .into_iter()
    .map(|(id, name, semantics)| StageDef {
        id: id.into(),
        name: name.into(),
        semantics,
    })
    .collect()
}

/// A product row as stored; rendered to the wire shape by [`RowRec::render`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RowRec {
    pub id: u64,
    pub product_id: u64,
    pub name: String,
    /// Final unit price, discount and tax included.
    pub price: Decimal,
    pub quantity: Decimal,
    pub discount_type_id: u8,
    pub discount_rate: Decimal,
    pub discount_sum: Decimal,
    pub tax_rate: Option<Decimal>,
    pub tax_included: bool,
    pub measure_code: u32,
    pub measure_name: String,
    pub sort: i64,
}

impl RowRec {
    /// Unit price with discount, without tax.
    pub(crate) fn price_exclusive(&self) -> Decimal {
        match self.tax_rate {
            Some(r) if !r.is_zero() => self.price / (Decimal::ONE + r / Decimal::ONE_HUNDRED),
            _ => self.price,
        }
    }

    /// Row total, tax included.
    pub(crate) fn total(&self) -> Decimal {
        self.price * self.quantity
    }

    /// Tax part of the row total.
    pub(crate) fn tax(&self) -> Decimal {
        (self.price - self.price_exclusive()) * self.quantity
    }

    pub(crate) fn render(&self, owner_id: u64) -> Value {
        let excl = round2(self.price_exclusive());
        let netto = excl + self.discount_sum;
        let brutto = match self.tax_rate {
            Some(r) => round2(netto * (Decimal::ONE + r / Decimal::ONE_HUNDRED)),
            None => netto,
        };
        json!({
            "ID": self.id.to_string(),
            "OWNER_ID": owner_id.to_string(),
            "OWNER_TYPE": "D",
            "PRODUCT_ID": self.product_id,
            "PRODUCT_NAME": self.name,
            "ORIGINAL_PRODUCT_NAME": self.name,
            "PRODUCT_DESCRIPTION": null,
            "PRICE": num(self.price),
            "PRICE_EXCLUSIVE": num(excl),
            "PRICE_NETTO": num(netto),
            "PRICE_BRUTTO": num(brutto),
            "PRICE_ACCOUNT": money_text(self.price),
            "QUANTITY": num(self.quantity),
            "DISCOUNT_TYPE_ID": self.discount_type_id,
            "DISCOUNT_RATE": num(self.discount_rate),
            "DISCOUNT_SUM": num(self.discount_sum),
            "TAX_RATE": self.tax_rate.map(num),
            "TAX_INCLUDED": if self.tax_included { "Y" } else { "N" },
            "CUSTOMIZED": "Y",
            "MEASURE_CODE": self.measure_code,
            "MEASURE_NAME": self.measure_name,
            "SORT": self.sort,
            "XML_ID": null,
            "TYPE": 1,
            "STORE_ID": null,
        })
    }
}

/// Where outgoing events go.
#[derive(Debug, Clone)]
pub(crate) struct EventHandler {
    pub id: u64,
    pub url: String,
    pub application_token: String,
}

/// One queued offline event.
#[derive(Debug, Clone)]
pub(crate) struct OfflineEvent {
    pub id: u64,
    pub timestamp: String,
    pub event: String,
    pub deal_id: u64,
    /// Set when read with `clear=0`: the records are then held for that process.
    pub process_id: Option<String>,
}

/// Everything one portal holds.
#[derive(Debug)]
pub(crate) struct Portal {
    pub deals: BTreeMap<u64, Record>,
    pub rows: BTreeMap<u64, Vec<RowRec>>,
    pub contacts: BTreeMap<u64, Record>,
    pub stages: Vec<StageDef>,
    pub user_id: u64,
    /// `crm.product.*` records.
    pub products: BTreeMap<u64, Record>,
    /// `crm.timeline.comment.*` records.
    pub comments: BTreeMap<u64, Record>,
    /// Events raised by the last method(s), not yet delivered or queued.
    pub outbox: Vec<(String, u64)>,
    /// The outgoing-event handler (`event.bind` / outgoing webhook), if any.
    pub event_handler: Option<EventHandler>,
    /// Offline events waiting for `event.offline.get`.
    pub offline: Vec<OfflineEvent>,
    /// `host:port` of the emulator, for `auth[domain]` of events.
    pub domain: String,
    /// Deal pipelines (`crm.category.list`, entityTypeId 2): id → (name, sort). Pipeline 0
    /// ("Общая") always exists.
    pub categories: BTreeMap<u64, (String, i64)>,
    /// `crm.company.*` records.
    pub companies: BTreeMap<u64, Record>,
    /// `crm.requisite.*` records.
    pub requisites: BTreeMap<u64, Record>,
    /// `catalog.product.*` records (camelCase read shape).
    pub catalog_products: BTreeMap<u64, Record>,
    /// `catalog.price.*` records (camelCase read shape).
    pub catalog_prices: BTreeMap<u64, Record>,
    /// Price types (`catalogGroupId`) that exist; 1 is the base price.
    pub price_types: Vec<u64>,
    /// Product catalogs (`iblockId`) that exist.
    pub iblocks: Vec<u64>,
    next_company: u64,
    next_requisite: u64,
    next_catalog_price: u64,
    next_deal: u64,
    next_product: u64,
    next_comment: u64,
    next_offline: u64,
    next_contact: u64,
    next_row: u64,
    next_multi: u64,
}

impl Portal {
    pub(crate) fn new(user_id: u64, stages: Vec<StageDef>) -> Self {
        Portal {
            deals: BTreeMap::new(),
            rows: BTreeMap::new(),
            contacts: BTreeMap::new(),
            stages,
            user_id,
            products: BTreeMap::new(),
            comments: BTreeMap::new(),
            outbox: Vec::new(),
            event_handler: None,
            offline: Vec::new(),
            domain: String::new(),
            categories: BTreeMap::from([(0, ("Общая".to_string(), 300))]),
            companies: BTreeMap::new(),
            requisites: BTreeMap::new(),
            catalog_products: BTreeMap::new(),
            catalog_prices: BTreeMap::new(),
            price_types: vec![1],
            iblocks: vec![CATALOG_IBLOCK_ID],
            next_company: 1,
            next_requisite: 1,
            next_catalog_price: 1,
            next_deal: 1,
            next_product: 1,
            next_comment: 1,
            next_offline: 1,
            next_contact: 1,
            next_row: 1,
            next_multi: 1,
        }
    }

    pub(crate) fn take_deal_id(&mut self) -> u64 {
        let id = self.next_deal;
        self.next_deal += 1;
        id
    }

    pub(crate) fn take_company_id(&mut self) -> u64 {
        let id = self.next_company;
        self.next_company += 1;
        id
    }

    pub(crate) fn take_requisite_id(&mut self) -> u64 {
        let id = self.next_requisite;
        self.next_requisite += 1;
        id
    }

    pub(crate) fn take_catalog_price_id(&mut self) -> u64 {
        let id = self.next_catalog_price;
        self.next_catalog_price += 1;
        id
    }

    pub(crate) fn take_product_id(&mut self) -> u64 {
        let id = self.next_product;
        self.next_product += 1;
        id
    }

    pub(crate) fn take_comment_id(&mut self) -> u64 {
        let id = self.next_comment;
        self.next_comment += 1;
        id
    }

    /// Records that `event` happened to deal `id`; delivered after the request.
    pub(crate) fn raise(&mut self, event: &str, id: u64) {
        self.outbox.push((event.to_string(), id));
    }

    /// Turns the outbox into deliveries `(url, form body)` for the handler, or queues the events
    /// for `event.offline.get` when no handler is set.
    pub(crate) fn take_deliveries(&mut self) -> Vec<(String, String)> {
        let raised = std::mem::take(&mut self.outbox);
        let mut out = Vec::new();
        for (event, id) in raised {
            let ts = Utc::now().timestamp();
            match &self.event_handler {
                Some(h) => {
                    let mut f = url::form_urlencoded::Serializer::new(String::new());
                    f.append_pair("event", &event)
                        .append_pair("event_handler_id", &h.id.to_string())
                        .append_pair("data[FIELDS][ID]", &id.to_string())
                        .append_pair("ts", &ts.to_string())
                        .append_pair("auth[domain]", &self.domain)
                        .append_pair(
                            "auth[client_endpoint]",
                            &format!("http://{}/rest/", self.domain),
                        )
                        .append_pair("auth[server_endpoint]", "https://oauth.bitrix.info/rest/")
                        .append_pair("auth[member_id]", "emulator0member0id")
                        .append_pair("auth[application_token]", &h.application_token);
                    out.push((h.url.clone(), f.finish()));
                }
                None => {
                    let n = self.next_offline;
                    self.next_offline += 1;
                    self.offline.push(OfflineEvent {
                        id: n,
                        timestamp: now_iso(),
                        event,
                        deal_id: id,
                        process_id: None,
                    });
                }
            }
        }
        out
    }

    pub(crate) fn take_contact_id(&mut self) -> u64 {
        let id = self.next_contact;
        self.next_contact += 1;
        id
    }

    pub(crate) fn take_row_id(&mut self) -> u64 {
        let id = self.next_row;
        self.next_row += 1;
        id
    }

    pub(crate) fn take_multi_id(&mut self) -> u64 {
        let id = self.next_multi;
        self.next_multi += 1;
        id
    }

    /// The stage id as used in pipeline `category`: `NEW` or `C<n>:NEW`.
    pub(crate) fn stage_in(category: u64, stage: &StageDef) -> String {
        if category == 0 {
            stage.id.clone()
        } else {
            format!("C{category}:{}", stage.id)
        }
    }

    /// The stage `id` of pipeline `category`, if it exists.
    pub(crate) fn find_stage(&self, category: u64, id: &str) -> Option<&StageDef> {
        self.stages
            .iter()
            .find(|s| Portal::stage_in(category, s) == id)
    }
}

/// The portal's time zone: Moscow, as most portals this engine talks to.
pub(crate) fn portal_offset() -> FixedOffset {
    FixedOffset::east_opt(3 * 3600).expect("valid offset")
}

/// Now as Bitrix24 writes dates: ISO 8601 with offset, whole seconds.
pub(crate) fn now_iso() -> String {
    iso(Utc::now())
}

/// A time as Bitrix24 writes it.
pub(crate) fn iso(t: DateTime<Utc>) -> String {
    t.with_timezone(&portal_offset())
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// A JSON number from a decimal, as Bitrix24 writes product-row numbers (integers without a
/// fraction). Output only: nothing reads money back through this.
pub(crate) fn num(d: Decimal) -> Value {
    let d = d.normalize();
    if d.fract().is_zero() {
        if let Some(i) = d.to_i64() {
            return Value::Number(i.into());
        }
    }
    d.to_f64()
        .and_then(Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

/// Rounds to two places, half away from zero.
pub(crate) fn round2(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// Money as Bitrix24 writes it on read: `"1000.00"`.
pub(crate) fn money_text(d: Decimal) -> String {
    let mut r = round2(d);
    r.rescale(2);
    r.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn numbers_render_like_bitrix() {
        assert_eq!(num(dec!(1.000)), json!(1));
        assert_eq!(num(dec!(899.10)), json!(899.1));
        assert_eq!(money_text(dec!(1000)), "1000.00");
        assert_eq!(money_text(dec!(0.005)), "0.01");
    }

    #[test]
    fn dates_have_an_offset() {
        let t = DateTime::parse_from_rfc3339("2024-08-30T12:29:00Z").unwrap();
        assert_eq!(iso(t.with_timezone(&Utc)), "2024-08-30T15:29:00+03:00");
    }

    #[test]
    fn stages_per_pipeline() {
        let p = Portal::new(1, default_stages());
        assert!(p.find_stage(0, "WON").is_some());
        assert!(p.find_stage(2, "C2:NEW").is_some());
        assert!(p.find_stage(0, "C2:NEW").is_none());
        assert!(p.find_stage(0, "SHIPPED").is_none());
    }
}
