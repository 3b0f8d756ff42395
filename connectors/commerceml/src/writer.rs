//! The order writer: the XML answered to 1C's `type=sale&mode=query`.
//!
//! Writes CommerceML 2.09 or 2.10 in the `urn:1C.ru:commerceml_2` namespace (what the official
//! XSDs validate), UTF-8 with a BOM by default (1C УТП fails on UTF-8 without BOM,
//! Tseka85/opencart3-exchange1c#25) or windows-1251 with a matching declaration.

use crate::error::CmlError;
use chrono::{NaiveDateTime, Utc};
use dealbridge_sdk::model::{Contact, Order, Payment};
use dealbridge_sdk::money::round_money;
use rust_decimal::Decimal;
use std::fmt::Write as _;

/// Schema version written in `ВерсияСхемы`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SchemaVersion {
    /// 2.09.
    V2_09,
    /// 2.10 (default: what current 1C modules negotiate).
    #[default]
    V2_10,
}

impl SchemaVersion {
    /// The version text (`2.10`).
    pub fn as_str(self) -> &'static str {
        match self {
            SchemaVersion::V2_09 => "2.09",
            SchemaVersion::V2_10 => "2.10",
        }
    }
}

/// Output encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputEncoding {
    /// UTF-8 preceded by a byte-order mark (default).
    #[default]
    Utf8Bom,
    /// UTF-8 without BOM (for sites that were told so).
    Utf8,
    /// windows-1251; characters it lacks become numeric character references.
    Windows1251,
}

/// Writer settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriterOptions {
    /// `ВерсияСхемы`.
    pub schema_version: SchemaVersion,
    /// Output encoding.
    pub encoding: OutputEncoding,
    /// `ДатаФормирования`; `None` means now (UTC).
    pub generated_at: Option<NaiveDateTime>,
}

impl Default for WriterOptions {
    fn default() -> Self {
        Self {
            schema_version: SchemaVersion::V2_10,
            encoding: OutputEncoding::Utf8Bom,
            generated_at: None,
        }
    }
}

/// One order to export, with what 1C wants to know besides the order itself.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderExport {
    /// The canonical order. `source.id` becomes `Ид`, `number` becomes `Номер`.
    pub order: Order,
    /// Payment information, if the order is paid (fills «Заказ оплачен», «Дата оплаты»,
    /// «Номер платежного документа»).
    pub payment: Option<Payment>,
    /// Status text for «Статус заказа» (already mapped to the 1C side's names); defaults to
    /// `order.status`.
    pub status: Option<String>,
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 forbids are dropped rather than producing an unreadable file.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

fn money(d: Decimal) -> String {
    round_money(d, 2).to_string()
}

fn qty(d: Decimal) -> String {
    d.normalize().to_string()
}

fn el(out: &mut String, indent: usize, name: &str, value: &str) {
    let _ = writeln!(
        out,
        "{}<{name}>{}</{name}>",
        "\t".repeat(indent),
        esc(value)
    );
}

fn requisite(out: &mut String, indent: usize, name: &str, value: &str) {
    let t = "\t".repeat(indent);
    let _ = writeln!(out, "{t}<ЗначениеРеквизита>");
    el(out, indent + 1, "Наименование", name);
    el(out, indent + 1, "Значение", value);
    let _ = writeln!(out, "{t}</ЗначениеРеквизита>");
}

fn is_cancelled(status: &str) -> bool {
    matches!(
        status.trim().to_lowercase().as_str(),
        "cancelled" | "canceled" | "отменен" | "отменён"
    )
}

#[allow(clippy::too_many_arguments)]
fn line(
    out: &mut String,
    id: &str,
    sku: Option<&str>,
    name: &str,
    price: Decimal,
    quantity: Decimal,
    total: Decimal,
    kind: &str,
) {
    out.push_str("\t\t\t<Товар>\n");
    el(out, 4, "Ид", id);
    if let Some(s) = sku.filter(|s| !s.trim().is_empty()) {
        el(out, 4, "Артикул", s);
    }
    el(out, 4, "Наименование", name);
    out.push_str("\t\t\t\t<БазоваяЕдиница Код=\"796\" НаименованиеПолное=\"Штука\" МеждународноеСокращение=\"PCE\">шт</БазоваяЕдиница>\n");
    out.push_str("\t\t\t\t<ЗначенияРеквизитов>\n");
    requisite(out, 5, "ВидНоменклатуры", kind);
    requisite(out, 5, "ТипНоменклатуры", kind);
    out.push_str("\t\t\t\t</ЗначенияРеквизитов>\n");
    el(out, 4, "ЦенаЗаЕдиницу", &money(price));
    el(out, 4, "Количество", &qty(quantity));
    el(out, 4, "Сумма", &money(total));
    out.push_str("\t\t\t</Товар>\n");
}

/// Writes one order's `<Документ>`: header, counterparty, goods and requisites, in that order.
fn document(out: &mut String, e: &OrderExport) -> Result<(), CmlError> {
    let o = &e.order;
    if o.source.id.trim().is_empty() {
        return Err(CmlError::Write(format!(
            "order `{}` has an empty id; every order sent to 1C needs one",
            o.number
        )));
    }
    let created = o.created_at.naive_utc();
    out.push_str("\t<Документ>\n");
    el(out, 2, "Ид", &o.source.id);
    el(
        out,
        2,
        "Номер",
        if o.number.is_empty() {
            &o.source.id
        } else {
            &o.number
        },
    );
    el(out, 2, "Дата", &created.format("%Y-%m-%d").to_string());
    el(out, 2, "ХозОперация", "Заказ товара");
    el(out, 2, "Роль", "Продавец");
    el(out, 2, "Валюта", o.currency.as_str());
    el(out, 2, "Курс", "1");
    el(out, 2, "Сумма", &money(o.total));
    counterparty(out, o);
    el(out, 2, "Время", &created.format("%H:%M:%S").to_string());
    if let Some(note) = o.note.as_deref().filter(|n| !n.trim().is_empty()) {
        el(out, 2, "Комментарий", note);
    }
    goods(out, o);
    document_requisites(out, e);
    out.push_str("\t</Документ>\n");
    Ok(())
}

/// Writes the order's `<Контрагенты>`: a private buyer (РеквизитыФизЛица), or a company
/// (РеквизитыЮрЛица).
fn counterparty(out: &mut String, o: &Order) {
    let c = &o.customer;
    let display = {
        let d = c.display_name();
        if d.is_empty() {
            "Покупатель".to_string()
        } else {
            d
        }
    };
    // 1C matches counterparties by Ид: the CRM's id, else the e-mail, else one per order.
    let cid = c
        .source
        .as_ref()
        .map(|s| s.id.clone())
        .or_else(|| c.normalized_email())
        .unwrap_or_else(|| format!("order-{}", o.source.id));
    out.push_str("\t\t<Контрагенты>\n\t\t\t<Контрагент>\n");
    el(out, 4, "Ид", &cid);
    el(out, 4, "Наименование", &display);
    match c.company.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(company) => el(out, 4, "ОфициальноеНаименование", company),
        None => {
            el(out, 4, "ПолноеНаименование", &display);
            if !c.last_name.trim().is_empty() {
                el(out, 4, "Фамилия", c.last_name.trim());
            }
            if !c.first_name.trim().is_empty() {
                el(out, 4, "Имя", c.first_name.trim());
            }
        }
    }
    contacts(out, c);
    el(out, 4, "Роль", "Покупатель");
    out.push_str("\t\t\t</Контрагент>\n\t\t</Контрагенты>\n");
}

/// Writes the counterparty's `<Контакты>` (e-mail, then phone); nothing when it has neither.
fn contacts(out: &mut String, c: &Contact) {
    let email = c.normalized_email();
    let phone = c.phone.as_deref().map(str::trim).filter(|p| !p.is_empty());
    if email.is_none() && phone.is_none() {
        return;
    }
    out.push_str("\t\t\t\t<Контакты>\n");
    if let Some(m) = &email {
        out.push_str("\t\t\t\t\t<Контакт>\n");
        el(out, 6, "Тип", "Почта");
        el(out, 6, "Значение", m);
        out.push_str("\t\t\t\t\t</Контакт>\n");
    }
    if let Some(p) = phone {
        out.push_str("\t\t\t\t\t<Контакт>\n");
        el(out, 6, "Тип", "Телефон рабочий");
        el(out, 6, "Значение", p);
        out.push_str("\t\t\t\t\t</Контакт>\n");
    }
    out.push_str("\t\t\t\t</Контакты>\n");
}

/// Writes the order's `<Товары>`: its lines, then delivery as a service line when charged.
fn goods(out: &mut String, o: &Order) {
    out.push_str("\t\t<Товары>\n");
    for (i, l) in o.lines.iter().enumerate() {
        // Every line needs an Ид: the catalog item's, else the SKU, else its position.
        let id = l
            .item
            .as_ref()
            .map(|r| r.id.clone())
            .or_else(|| l.sku.clone())
            .unwrap_or_else(|| format!("line-{}", i + 1));
        line(
            out,
            &id,
            l.sku.as_deref(),
            &l.name,
            l.unit_price,
            l.quantity,
            l.total,
            "Товар",
        );
    }
    if !o.shipping_total.is_zero() {
        let s = o.shipping_total;
        line(
            out,
            "ORDER_DELIVERY",
            None,
            "Доставка заказа",
            s,
            Decimal::ONE,
            s,
            "Услуга",
        );
    }
    out.push_str("\t\t</Товары>\n");
}

/// Writes the document's `<ЗначенияРеквизитов>`: payment method and state, cancellation,
/// status and when it changed.
fn document_requisites(out: &mut String, e: &OrderExport) {
    let o = &e.order;
    out.push_str("\t\t<ЗначенияРеквизитов>\n");
    if let Some(m) = o.payment_method.as_deref().filter(|m| !m.trim().is_empty()) {
        requisite(out, 3, "Метод оплаты", m);
    }
    let paid_at = e.payment.as_ref().and_then(|p| p.paid_at).or(o.paid_at);
    let paid = paid_at.is_some() || e.payment.is_some();
    requisite(out, 3, "Заказ оплачен", if paid { "true" } else { "false" });
    if let Some(at) = paid_at {
        requisite(
            out,
            3,
            "Дата оплаты",
            &at.naive_utc().format("%Y-%m-%dT%H:%M:%S").to_string(),
        );
    }
    if let Some(n) = e
        .payment
        .as_ref()
        .and_then(|p| p.document_number.as_deref())
    {
        requisite(out, 3, "Номер платежного документа", n);
    }
    let status = e.status.as_deref().unwrap_or(&o.status);
    requisite(
        out,
        3,
        "Отменен",
        if is_cancelled(status) {
            "true"
        } else {
            "false"
        },
    );
    requisite(out, 3, "Статус заказа", status);
    requisite(
        out,
        3,
        "Дата изменения статуса",
        &o.modified_at
            .naive_utc()
            .format("%Y-%m-%dT%H:%M:%S")
            .to_string(),
    );
    out.push_str("\t\t</ЗначенияРеквизитов>\n");
}

/// Writes the `mode=query` answer for these orders (none is a valid, empty answer).
pub fn write_orders(orders: &[OrderExport], options: &WriterOptions) -> Result<Vec<u8>, CmlError> {
    let generated = options
        .generated_at
        .unwrap_or_else(|| Utc::now().naive_utc())
        .format("%Y-%m-%dT%H:%M:%S");
    let declared = match options.encoding {
        OutputEncoding::Windows1251 => "windows-1251",
        _ => "UTF-8",
    };
    let mut out = String::with_capacity(4096 * (orders.len() + 1));
    let _ = writeln!(out, "<?xml version=\"1.0\" encoding=\"{declared}\"?>");
    let _ = writeln!(
        out,
        "<КоммерческаяИнформация xmlns=\"urn:1C.ru:commerceml_2\" ВерсияСхемы=\"{}\" ДатаФормирования=\"{generated}\">",
        options.schema_version.as_str()
    );
    for o in orders {
        document(&mut out, o)?;
    }
    out.push_str("</КоммерческаяИнформация>\n");
    Ok(match options.encoding {
        OutputEncoding::Utf8Bom => {
            let mut bytes = Vec::with_capacity(out.len() + 3);
            bytes.extend_from_slice(b"\xEF\xBB\xBF");
            bytes.extend_from_slice(out.as_bytes());
            bytes
        }
        OutputEncoding::Utf8 => out.into_bytes(),
        OutputEncoding::Windows1251 => {
            let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(&out);
            bytes.into_owned()
        }
    })
}

/// One entry of a `mode=info` list: an order status or a delivery service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InfoEntry {
    /// `Ид`: the site's code (Bitrix: status letter `N`, delivery service id).
    pub id: String,
    /// `Название`.
    pub name: String,
}

/// A payment system of the `mode=info` answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InfoPaymentSystem {
    /// `Ид`.
    pub id: String,
    /// `Название`.
    pub name: String,
    /// `ТипОплаты`: Bitrix writes the description of the exchange entity type its `IS_CASH`
    /// flag maps to (cash `Y`, cashless `N`, card/acquiring `A`); the exact texts were not
    /// confirmed, so the caller gives them. Written empty when `None`, as Bitrix does for an
    /// undefined type.
    pub payment_type: Option<String>,
}

/// What the site answers to 1C's `type=sale&mode=info`: the dictionaries 1C fills its
/// matching tables from (order statuses, payment systems, delivery services).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InfoDirectory {
    /// Order statuses (`Cтатусы`).
    pub statuses: Vec<InfoEntry>,
    /// Payment systems (`ПлатежныеСистемы`).
    pub payment_systems: Vec<InfoPaymentSystem>,
    /// Delivery services (`СлужбыДоставки`).
    pub delivery_services: Vec<InfoEntry>,
}

/// The status list element exactly as Bitrix writes it: the first letter is a LATIN `C`
/// (U+0043), not the Cyrillic `С` (U+0421). 1C's exchange module was built against Bitrix, so
/// this spelling is the one it is known to read.
pub const INFO_STATUSES_ELEMENT: &str = "Cтатусы";

/// Writes the `mode=info` answer, UTF-8 with a BOM, from `(id, name)` pairs (payment systems
/// get an empty `ТипОплаты`). See [`write_info_directory`] for the shape and its source.
pub fn write_info(
    statuses: &[(String, String)],
    payment_systems: &[(String, String)],
    delivery: &[(String, String)],
) -> Vec<u8> {
    let entries = |v: &[(String, String)]| {
        v.iter()
            .map(|(id, name)| InfoEntry {
                id: id.clone(),
                name: name.clone(),
            })
            .collect()
    };
    let directory = InfoDirectory {
        statuses: entries(statuses),
        payment_systems: payment_systems
            .iter()
            .map(|(id, name)| InfoPaymentSystem {
                id: id.clone(),
                name: name.clone(),
                payment_type: None,
            })
            .collect(),
        delivery_services: entries(delivery),
    };
    write_info_directory(&directory, OutputEncoding::Utf8Bom)
}

/// Writes the `mode=info` answer in the given encoding.
///
/// Shape, from Bitrix's own exchange component `bitrix:sale.export.1c` (`component.php`, branch
/// `$_GET["mode"] == "info"`, with tag names from its `lang/ru/component.php`: `CC_BSC1_DI_*`),
/// as stored in public site repositories (e.g. `Dev-tester/TechStore`,
/// `bitrix/components/bitrix/sale.export.1c/lang/ru/component.php`):
///
/// ```text
/// <?xml version="1.0" encoding="…"?>
/// <Справочник>
///   <Cтатусы>            (LATIN C, see INFO_STATUSES_ELEMENT)
///     <Элемент><Ид>N</Ид><Название>Принят</Название></Элемент>
///   </Cтатусы>
///   <ПлатежныеСистемы>
///     <Элемент><Ид>1</Ид><Название>Наличные</Название><ТипОплаты>…</ТипОплаты></Элемент>
///   </ПлатежныеСистемы>
///   <СлужбыДоставки>
///     <Элемент><Ид>2</Ид><Название>Курьер</Название></Элемент>
///   </СлужбыДоставки>
/// </Справочник>
/// ```
///
/// The root is `Справочник`, not `КоммерческаяИнформация`. Bitrix always answers in
/// windows-1251 (declaration and `Content-Type: application/xml; charset=windows-1251`);
/// [`OutputEncoding::Windows1251`] reproduces that, UTF-8 is declared as such. Empty lists are
/// written as open + close tags (never self-closing), like Bitrix's template output.
///
/// NOT confirmed: the `ТипОплаты` texts (see [`InfoPaymentSystem::payment_type`]); whether a
/// given 1C configuration also accepts the Cyrillic `Статусы` (some WooCommerce plugins write
/// both spellings; we write Bitrix's only, since an unexpected element could upset a strict
/// reader); and which 1C releases read `СлужбыДоставки` (older Bitrix versions do not send it).
pub fn write_info_directory(directory: &InfoDirectory, encoding: OutputEncoding) -> Vec<u8> {
    let declared = match encoding {
        OutputEncoding::Windows1251 => "windows-1251",
        _ => "UTF-8",
    };
    let mut out = String::with_capacity(256 + 128 * directory.statuses.len());
    let _ = writeln!(out, "<?xml version=\"1.0\" encoding=\"{declared}\"?>");
    out.push_str("<Справочник>\n");
    let _ = writeln!(out, "\t<{INFO_STATUSES_ELEMENT}>");
    for s in &directory.statuses {
        out.push_str("\t\t<Элемент>\n");
        el(&mut out, 3, "Ид", &s.id);
        el(&mut out, 3, "Название", &s.name);
        out.push_str("\t\t</Элемент>\n");
    }
    let _ = writeln!(out, "\t</{INFO_STATUSES_ELEMENT}>");
    out.push_str("\t<ПлатежныеСистемы>\n");
    for p in &directory.payment_systems {
        out.push_str("\t\t<Элемент>\n");
        el(&mut out, 3, "Ид", &p.id);
        el(&mut out, 3, "Название", &p.name);
        el(
            &mut out,
            3,
            "ТипОплаты",
            p.payment_type.as_deref().unwrap_or(""),
        );
        out.push_str("\t\t</Элемент>\n");
    }
    out.push_str("\t</ПлатежныеСистемы>\n");
    out.push_str("\t<СлужбыДоставки>\n");
    for d in &directory.delivery_services {
        out.push_str("\t\t<Элемент>\n");
        el(&mut out, 3, "Ид", &d.id);
        el(&mut out, 3, "Название", &d.name);
        out.push_str("\t\t</Элемент>\n");
    }
    out.push_str("\t</СлужбыДоставки>\n");
    out.push_str("</Справочник>\n");
    match encoding {
        OutputEncoding::Utf8Bom => {
            let mut bytes = Vec::with_capacity(out.len() + 3);
            bytes.extend_from_slice(b"\xEF\xBB\xBF");
            bytes.extend_from_slice(out.as_bytes());
            bytes
        }
        OutputEncoding::Utf8 => out.into_bytes(),
        OutputEncoding::Windows1251 => {
            // Characters windows-1251 lacks become numeric character references.
            let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(&out);
            bytes.into_owned()
        }
    }
}
