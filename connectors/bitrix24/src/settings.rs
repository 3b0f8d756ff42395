//! Per-portal settings beyond the webhook URL and the rate limit: how products, payments and
//! events are represented on this portal. The lead wires these into `[systems.<name>]`.

use std::collections::BTreeMap;

/// Settings of one Bitrix24 portal for the catalog, payment and deal-reading features.
/// [`Default`] suits a portal with no custom fields: products go to `crm.product.*`, payments
/// only to the timeline.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bitrix24Settings {
    /// Catalog section (`SECTION_ID`) new products are created in; `None` = the catalog root.
    pub product_section_id: Option<String>,
    /// Unit of measure as the source names it (`шт`, `кг`) → the portal's measure id
    /// (`MEASURE`, from `catalog.measure.list`; `796`-coded "pieces" is usually id `5` or `9`).
    /// Units not listed are left unset (the portal shows its default unit).
    pub measures: BTreeMap<String, String>,
    /// Deal user field holding the paid amount (`UF_CRM_PAID_AMOUNT`, type "money" or
    /// "double"). `None`: the paid amount is not written and [`CrmDealState::paid_amount`]
    /// stays `None`.
    ///
    /// [`CrmDealState::paid_amount`]: dealbridge_sdk::model::CrmDealState::paid_amount
    pub paid_amount_field: Option<String>,
    /// Deal user field holding the date of the latest payment (`UF_CRM_PAID_DATE`, type
    /// "date" or "datetime"); `None` leaves it out.
    pub paid_date_field: Option<String>,
    /// How [`Bitrix24Settings::paid_amount_field`] holds its value: a plain number ("double"
    /// field) or `"1500.00|RUB"` ("money" field).
    pub paid_amount_format: PaidAmountFormat,
    /// Whether to add one timeline comment per payment (carrying the payment's source id, so a
    /// re-sync recognises it). Default `true` via [`Bitrix24Settings::new`]; `Default` gives
    /// `false` only for struct-update syntax, prefer `new()`.
    pub payment_comments: bool,
    /// Requisite preset (`PRESET_ID`, from `crm.requisite.preset.list`; on Russian portals
    /// usually 1 = "Организация") used to store a new company's INN as a requisite (`RQ_INN`).
    /// `None`: INN is used to find companies but not written.
    pub requisite_preset_id: Option<u32>,
    /// Which product API the catalog push uses. Default: `crm.product.*`.
    pub catalog_api: CatalogApi,
}

/// Which Bitrix24 product API the catalog push writes to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CatalogApi {
    /// `crm.product.*`: name, price and currency in one record, one command per product.
    /// The economical mode: N new products cost `⌈N/2500⌉ + ⌈N/50⌉` requests.
    #[default]
    CrmProduct,
    /// `catalog.product.*` + `catalog.price.*` (the current trade-catalog API): the product
    /// and its price are separate records, so a product with a price costs two commands
    /// (`catalog.product.add` + `catalog.price.add` in the same `batch`, the price referring to
    /// the product through `$result[...]`). N new products cost about `⌈N/2500⌉ + ⌈2N/50⌉`
    /// requests; updates also read the current price ids first (`⌈N/2500⌉` more).
    Catalog {
        /// The product catalog's information block (`iblockId`, from `catalog.catalog.list`).
        iblock_id: u32,
        /// The price type to write (`catalogGroupId`, from `catalog.priceType.list`; the base
        /// price is usually 1).
        price_type_id: u32,
    },
}

impl Bitrix24Settings {
    /// The recommended defaults: payment comments on, no user fields, no section, no measures.
    pub fn new() -> Self {
        Bitrix24Settings {
            payment_comments: true,
            ..Default::default()
        }
    }
}

/// The type of the paid-amount user field.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PaidAmountFormat {
    /// A "double" (number) field: `1500.5`.
    #[default]
    Number,
    /// A "money" field: `1500.50|RUB`.
    MoneyWithCurrency,
}
