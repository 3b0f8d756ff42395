//! Canonical items the reader yields, one at a time.
//!
//! These are richer than `dealbridge_sdk::model` (1C requisites, property values, images,
//! characteristics); conversions to the SDK model live in [`crate::sdk_map`].

use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use serde::Serialize;

/// One thing read from a CommerceML file.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Item {
    /// A product group (category) from `Классификатор/Группы`, nested groups flattened.
    Group(Group),
    /// A property (attribute) definition with its value list.
    Property(Property),
    /// A price type (`ТипЦены`).
    PriceType(PriceType),
    /// A warehouse declaration (`Склады/Склад`).
    Warehouse(Warehouse),
    /// A unit of measure declaration (`ЕдиницыИзмерения/ЕдиницаИзмерения`).
    Unit(Unit),
    /// A catalog product (`Каталог/Товары/Товар`).
    Product(CmlProduct),
    /// An offer: prices and stock of a product or variant (`Предложения/Предложение`).
    Offer(Offer),
    /// A document: an order, or a payment/shipment document (3.x `Контейнер`).
    Document(Document),
    /// A standalone counterparty (module-protocol `Контрагенты` package).
    Counterparty(Counterparty),
}

/// A product group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    /// `Ид`.
    pub id: String,
    /// `Наименование`.
    pub name: String,
    /// Parent group id, `None` at the top level.
    pub parent: Option<String>,
    /// `ПометкаУдаления` / `Статус="Удален"`.
    pub deleted: bool,
}

/// One entry of a reference-book property (`Справочник/{ИдЗначения, Значение}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PropertyValue {
    /// `ИдЗначения`.
    pub id: String,
    /// `Значение`.
    pub value: String,
}

/// A property definition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Property {
    /// `Ид`.
    pub id: String,
    /// `Наименование`.
    pub name: String,
    /// `ТипЗначений`: Строка, Число, ДатаВремя, Справочник.
    pub value_type: Option<String>,
    /// Allowed values for a `Справочник` property.
    pub values: Vec<PropertyValue>,
    /// `ДляТоваров`.
    pub for_products: Option<bool>,
    /// `ДляПредложений`.
    pub for_offers: Option<bool>,
    /// `ПометкаУдаления`.
    pub deleted: bool,
}

/// A price type.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PriceType {
    /// `Ид`.
    pub id: String,
    /// `Наименование` (`Розничная`).
    pub name: String,
    /// `Валюта` as written (`RUB`, `руб`).
    pub currency: Option<String>,
    /// `Налог/Наименование`.
    pub tax_name: Option<String>,
    /// `Налог/УчтеноВСумме`.
    pub tax_included: Option<bool>,
}

/// A warehouse.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Warehouse {
    /// `Ид`.
    pub id: String,
    /// `Наименование`.
    pub name: String,
}

/// A unit of measure (declaration or reference on a product).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Unit {
    /// `Ид` when declared in the classifier.
    pub id: Option<String>,
    /// OKEI code (`796`), trimmed.
    pub code: Option<String>,
    /// Short name as text (`шт`).
    pub name: Option<String>,
    /// `НаименованиеПолное`.
    pub full_name: Option<String>,
    /// `МеждународноеСокращение` (`PCE`).
    pub international: Option<String>,
}

/// A name/value pair: `ЗначениеРеквизита` or `ХарактеристикаТовара`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NameValue {
    /// `Наименование`.
    pub name: String,
    /// `Значение` (several values joined by `; `).
    pub value: String,
}

/// A property value on a product or offer (`ЗначенияСвойства`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PropertyRef {
    /// Property `Ид`.
    pub id: String,
    /// Values as written: plain text, or the `ИдЗначения` of a `Справочник` property.
    pub values: Vec<String>,
}

/// A tax rate (`СтавкаНалога`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaxRate {
    /// `Наименование` (`НДС`).
    pub name: String,
    /// `Ставка` as written (`18`, `Без налога`).
    pub rate: String,
}

/// A catalog product with everything 1C sends about it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CmlProduct {
    /// `Ид` as written (may be `product#characteristic`).
    pub id: String,
    /// Part of the id before `#` (equal to `id` without `#`).
    pub base_id: String,
    /// Part after `#`, for variant products of 2.03/2.04 exports.
    pub characteristic_id: Option<String>,
    /// `Артикул`.
    pub sku: Option<String>,
    /// `Наименование`.
    pub name: String,
    /// `ПолноеНаименование` or requisite «Полное наименование».
    pub full_name: Option<String>,
    /// `Описание`.
    pub description: Option<String>,
    /// `Группы/Ид`.
    pub groups: Vec<String>,
    /// `Категория` (module-protocol files).
    pub category: Option<String>,
    /// `БазоваяЕдиница`.
    pub unit: Option<Unit>,
    /// `Штрихкод` / `ШтрихКод`.
    pub barcodes: Vec<String>,
    /// `Картинка`: relative paths (`import_files/…`), empty ones dropped.
    pub images: Vec<String>,
    /// `ЗначенияСвойств`.
    pub properties: Vec<PropertyRef>,
    /// `ХарактеристикиТовара`.
    pub characteristics: Vec<NameValue>,
    /// `ЗначенияРеквизитов`.
    pub requisites: Vec<NameValue>,
    /// `СтавкиНалогов`.
    pub taxes: Vec<TaxRate>,
    /// `Статус` attribute (`Новый`, `Изменен`, `Удален`).
    pub status: Option<String>,
    /// `Статус="Удален"` or `ПометкаУдаления=true`.
    pub deleted: bool,
}

/// One price of an offer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OfferPrice {
    /// `ИдТипаЦены`.
    pub price_type_id: String,
    /// `ЦенаЗаЕдиницу`.
    pub price: Decimal,
    /// `Валюта` as written, if given.
    pub currency: Option<String>,
    /// `Единица`.
    pub unit: Option<String>,
    /// `Коэффициент`.
    pub coefficient: Option<Decimal>,
    /// `Представление` (free text).
    pub presentation: Option<String>,
}

/// Stock at one warehouse.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WarehouseStock {
    /// Warehouse `Ид`.
    pub warehouse_id: String,
    /// Quantity (may be fractional or negative).
    pub quantity: Decimal,
}

/// An offer: price and stock data of a product or a variant (`Ид#Ид`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Offer {
    /// `Ид` as written.
    pub id: String,
    /// Part before `#`.
    pub product_id: String,
    /// Part after `#`, if any (variant offer).
    pub characteristic_id: Option<String>,
    /// `Артикул`.
    pub sku: Option<String>,
    /// `Наименование`.
    pub name: Option<String>,
    /// `Штрихкод` / `ШтрихКод`.
    pub barcodes: Vec<String>,
    /// `БазоваяЕдиница`.
    pub unit: Option<Unit>,
    /// `ХарактеристикиТовара`.
    pub characteristics: Vec<NameValue>,
    /// `ЗначенияСвойств`.
    pub properties: Vec<PropertyRef>,
    /// `Цены/Цена`.
    pub prices: Vec<OfferPrice>,
    /// Total `Количество`, when given.
    pub quantity: Option<Decimal>,
    /// Per-warehouse stock (`Склад@ИдСклада` or `Остатки/Остаток/Склад`).
    pub stock: Vec<WarehouseStock>,
    /// `ПометкаУдаления` / `Статус="Удален"`.
    pub deleted: bool,
}

impl Offer {
    /// Whether this offer is a variant (its id has `#` with a non-empty tail).
    pub fn is_variant(&self) -> bool {
        self.characteristic_id.is_some()
    }
}

/// A contact line of a counterparty (`Контакт/{Тип,Значение}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContactInfo {
    /// `Тип` (`Почта`, `Электронная почта`, `Телефон рабочий`, …).
    pub kind: String,
    /// `Значение`.
    pub value: String,
}

/// A counterparty (buyer) of a document or of a `Контрагенты` package.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Counterparty {
    /// `Ид`.
    pub id: Option<String>,
    /// `Наименование`.
    pub name: Option<String>,
    /// `ПолноеНаименование` / `ОфициальноеНаименование`.
    pub full_name: Option<String>,
    /// `Роль`.
    pub role: Option<String>,
    /// `Фамилия`.
    pub last_name: Option<String>,
    /// `Имя`.
    pub first_name: Option<String>,
    /// `Отчество`.
    pub middle_name: Option<String>,
    /// `ИНН`.
    pub inn: Option<String>,
    /// `КПП`.
    pub kpp: Option<String>,
    /// `АдресРегистрации/Представление` or `Адрес/Представление`.
    pub address: Option<String>,
    /// `Контакты/Контакт`.
    pub contacts: Vec<ContactInfo>,
}

impl Counterparty {
    /// The e-mail among the contacts, if any.
    pub fn email(&self) -> Option<&str> {
        self.contacts
            .iter()
            .find(|c| {
                let k = c.kind.to_lowercase();
                k == "почта" || k.contains("электронная почта") || k == "email"
            })
            .map(|c| c.value.as_str())
            .filter(|v| v.contains('@'))
    }

    /// The first phone among the contacts, if any.
    pub fn phone(&self) -> Option<&str> {
        self.contacts
            .iter()
            .find(|c| c.kind.to_lowercase().starts_with("телефон"))
            .map(|c| c.value.as_str())
            .filter(|v| !v.trim().is_empty())
    }
}

/// One line of a document (`Товары/Товар`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DocumentLine {
    /// `Ид` (1C product id, possibly `#`; `ORDER_DELIVERY` for the delivery pseudo line).
    pub id: Option<String>,
    /// `Артикул`.
    pub sku: Option<String>,
    /// `Наименование`.
    pub name: String,
    /// `БазоваяЕдиница`.
    pub unit: Option<Unit>,
    /// `ЦенаЗаЕдиницу`.
    pub unit_price: Option<Decimal>,
    /// `Количество`.
    pub quantity: Decimal,
    /// `Сумма`.
    pub total: Option<Decimal>,
    /// `ЗначенияРеквизитов` (`ВидНоменклатуры`, `ТипНоменклатуры`).
    pub requisites: Vec<NameValue>,
}

impl DocumentLine {
    /// Whether the line is a service (delivery) rather than goods.
    pub fn is_service(&self) -> bool {
        self.id.as_deref() == Some("ORDER_DELIVERY")
            || self
                .requisites
                .iter()
                .any(|r| r.name.starts_with("ТипНоменклатуры") && r.value == "Услуга")
    }
}

/// Where a payment record came from in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentShape {
    /// Document requisites («Дата оплаты по 1С», «Оплачен», «Заказ оплачен», …).
    Requisites,
    /// CML 2.09 `Документ/Оплаты/Оплата`.
    PaymentsBlock,
    /// CML 2.10 `ПодчиненныеДокументы/ПодчиненныйДокумент` with a payment `ХозОперация`.
    SubordinateDocument,
    /// CML 3.x standalone payment document (linked to the order by `Основание`).
    PaymentDocument,
}

/// A payment found in a document, in any of the shapes real files use.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PaymentInfo {
    /// How it was represented.
    pub shape: PaymentShape,
    /// The order document id it pays.
    pub order_id: String,
    /// Payment document id, when it is a document of its own.
    pub id: Option<String>,
    /// Payment document number («Номер оплаты по 1С», `НомерДокумента`, `Номер`).
    pub number: Option<String>,
    /// When it was paid.
    pub paid_at: Option<NaiveDateTime>,
    /// Amount, when stated (requisite-style payments mean "the whole order").
    pub amount: Option<Decimal>,
    /// Method (`СпособОплаты`, «Метод оплаты»).
    pub method: Option<String>,
    /// Transaction id (`НомерТранзакции`).
    pub transaction: Option<String>,
}

/// A document: an order (`ХозОперация` «Заказ товара») or a payment/shipment document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Document {
    /// `Ид`.
    pub id: String,
    /// `Номер`.
    pub number: Option<String>,
    /// `Дата` + `Время`, leniently parsed.
    pub date: Option<NaiveDateTime>,
    /// `ХозОперация`.
    pub operation: Option<String>,
    /// `Роль`.
    pub role: Option<String>,
    /// `Валюта` as written.
    pub currency: Option<String>,
    /// `Курс`.
    pub rate: Option<Decimal>,
    /// `Сумма`.
    pub total: Option<Decimal>,
    /// `Комментарий`.
    pub comment: Option<String>,
    /// `Контрагенты/Контрагент`.
    pub counterparties: Vec<Counterparty>,
    /// `Товары/Товар`.
    pub lines: Vec<DocumentLine>,
    /// Document-level `ЗначенияРеквизитов`.
    pub requisites: Vec<NameValue>,
    /// `Номер1С` (module protocol) or requisite «Номер по 1С».
    pub number_1c: Option<String>,
    /// `Дата1С` or requisite «Дата по 1С».
    pub date_1c: Option<NaiveDateTime>,
    /// `Основание` (3.x: the order a payment document is based on).
    pub basis: Option<String>,
    /// `ПометкаУдаления` (element or requisite).
    pub deleted: bool,
    /// Payments found in this document (all shapes).
    pub payments: Vec<PaymentInfo>,
}

impl Document {
    /// A document-level requisite value by name (first match, trimmed, non-empty).
    pub fn requisite(&self, name: &str) -> Option<&str> {
        self.requisites
            .iter()
            .find(|r| r.name.trim() == name)
            .map(|r| r.value.trim())
            .filter(|v| !v.is_empty())
    }

    /// Whether this is an order (`ХозОперация` «Заказ товара», or unspecified).
    pub fn is_order(&self) -> bool {
        self.operation
            .as_deref()
            .map(|o| o.trim() == "Заказ товара")
            .unwrap_or(true)
    }

    /// The order status: requisite «Статус заказа».
    pub fn status(&self) -> Option<&str> {
        self.requisite("Статус заказа")
    }

    /// The buyer: the counterparty with role `Покупатель`, else the first one.
    pub fn buyer(&self) -> Option<&Counterparty> {
        self.counterparties
            .iter()
            .find(|c| c.role.as_deref() == Some("Покупатель"))
            .or_else(|| self.counterparties.first())
    }
}

/// Whether a `ХозОперация` is a payment (money received or paid back).
pub fn is_payment_operation(op: &str) -> bool {
    matches!(
        op.trim(),
        "Выплата безналичных денег"
            | "Выплата наличных денег"
            | "Эквайринговая операция"
            | "Возврат безналичных денег"
            | "Возврат наличных денег"
    )
}
