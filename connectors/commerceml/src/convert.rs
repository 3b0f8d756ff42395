//! Turning one item subtree ([`Node`]) into a canonical [`Item`].
//!
//! Each converter also returns how many child elements it did not understand, so the reader
//! can report `unknown_elements` without ever failing on them.

use crate::items::*;
use crate::node::Node;
use crate::values::{is_empty_ref, parse_bool, parse_datetime, parse_decimal, parse_time};

fn text(n: &Node, name: &str) -> String {
    n.text_of(name).unwrap_or_default()
}

fn deleted(n: &Node) -> bool {
    n.attr("Статус")
        .map(|s| s.trim() == "Удален")
        .unwrap_or(false)
        || n.text_of("ПометкаУдаления")
            .and_then(|v| parse_bool(&v))
            .unwrap_or(false)
}

fn split_id(id: &str) -> (String, Option<String>) {
    match id.split_once('#') {
        Some((base, tail)) if !tail.trim().is_empty() => {
            (base.trim().to_string(), Some(tail.trim().to_string()))
        }
        Some((base, _)) => (base.trim().to_string(), None),
        None => (id.to_string(), None),
    }
}

fn name_values(n: &Node, outer: &str, inner: &str) -> Vec<NameValue> {
    n.nested(outer, inner)
        .map(|e| NameValue {
            name: text(e, "Наименование"),
            value: e
                .children("Значение")
                .map(|v| v.value().to_string())
                .collect::<Vec<_>>()
                .join("; "),
        })
        .collect()
}

fn property_refs(n: &Node) -> Vec<PropertyRef> {
    n.nested("ЗначенияСвойств", "ЗначенияСвойства")
        .map(|e| PropertyRef {
            id: text(e, "Ид"),
            values: e
                .children("Значение")
                .map(|v| v.value().to_string())
                .filter(|v| !v.is_empty())
                .collect(),
        })
        .collect()
}

fn barcodes(n: &Node) -> Vec<String> {
    n.children
        .iter()
        .filter(|c| c.name == "Штрихкод" || c.name == "ШтрихКод")
        .map(|c| c.value().to_string())
        .filter(|v| !v.is_empty())
        .collect()
}

fn unit(n: &Node) -> Option<Unit> {
    let u = n.child("БазоваяЕдиница")?;
    Some(Unit {
        id: None,
        code: u.attr("Код").map(|c| c.trim().to_string()),
        name: Some(u.value().to_string()).filter(|s| !s.is_empty()),
        full_name: u.attr("НаименованиеПолное").map(str::to_string),
        international: u.attr("МеждународноеСокращение").map(str::to_string),
    })
}

/// Children of a `Группа` that are understood (the others count as unknown elements).
pub(crate) const GROUP_KNOWN: &[&str] = &[
    "Ид",
    "Наименование",
    "Группы",
    "Описание",
    "НомерВерсии",
    "ПометкаУдаления",
];

/// Flattens a `Группа` subtree into groups, parents first.
pub(crate) fn groups(n: &Node, parent: Option<&str>, out: &mut Vec<Item>, unknown: &mut u64) {
    let id = text(n, "Ид");
    *unknown += n.count_unknown(GROUP_KNOWN);
    out.push(Item::Group(Group {
        id: id.clone(),
        name: text(n, "Наименование"),
        parent: parent.map(str::to_string),
        deleted: deleted(n),
    }));
    for child in n.nested("Группы", "Группа") {
        groups(child, Some(&id), out, unknown);
    }
}

pub(crate) fn property(n: &Node) -> Property {
    Property {
        id: text(n, "Ид"),
        name: text(n, "Наименование"),
        value_type: n.text_of("ТипЗначений"),
        values: n
            .nested("ВариантыЗначений", "Справочник")
            .map(|v| PropertyValue {
                id: text(v, "ИдЗначения"),
                value: text(v, "Значение"),
            })
            .collect(),
        for_products: n.text_of("ДляТоваров").and_then(|v| parse_bool(&v)),
        for_offers: n.text_of("ДляПредложений").and_then(|v| parse_bool(&v)),
        deleted: deleted(n),
    }
}

pub(crate) fn price_type(n: &Node) -> PriceType {
    let tax = n.child("Налог");
    PriceType {
        id: text(n, "Ид"),
        name: text(n, "Наименование"),
        currency: n.text_of("Валюта"),
        tax_name: tax.and_then(|t| t.text_of("Наименование")),
        tax_included: tax
            .and_then(|t| t.text_of("УчтеноВСумме"))
            .and_then(|v| parse_bool(&v)),
    }
}

pub(crate) fn warehouse(n: &Node) -> Warehouse {
    Warehouse {
        id: text(n, "Ид"),
        name: text(n, "Наименование"),
    }
}

pub(crate) fn unit_decl(n: &Node) -> Unit {
    Unit {
        id: n.text_of("Ид"),
        code: n.text_of("Код"),
        name: n
            .text_of("НаименованиеКраткое")
            .or_else(|| n.text_of("Наименование")),
        full_name: n.text_of("НаименованиеПолное"),
        international: n.text_of("МеждународноеСокращение"),
    }
}

pub(crate) const PRODUCT_KNOWN: &[&str] = &[
    "Ид",
    "Штрихкод",
    "ШтрихКод",
    "Артикул",
    "Наименование",
    "ПолноеНаименование",
    "БазоваяЕдиница",
    "ИдТовараУКонтрагента",
    "Группы",
    "Описание",
    "Картинка",
    "ЗначенияСвойств",
    "СтавкиНалогов",
    "Акцизы",
    "Комплектующие",
    "Аналоги",
    "ХарактеристикиТовара",
    "ЗначенияРеквизитов",
    "Изготовитель",
    "Категория",
    "ПометкаУдаления",
    "НомерВерсии",
    "Страна",
    "Вес",
    "Код",
    "Статус",
    "ТорговаяМарка",
];

pub(crate) fn product(n: &Node, unknown: &mut u64) -> CmlProduct {
    *unknown += n.count_unknown(PRODUCT_KNOWN);
    let id = text(n, "Ид");
    let (base_id, characteristic_id) = split_id(&id);
    let requisites = name_values(n, "ЗначенияРеквизитов", "ЗначениеРеквизита");
    let full_name = n.text_of("ПолноеНаименование").or_else(|| {
        requisites
            .iter()
            .find(|r| r.name == "Полное наименование")
            .map(|r| r.value.clone())
            .filter(|v| !v.is_empty())
    });
    CmlProduct {
        base_id,
        characteristic_id,
        sku: n.text_of("Артикул"),
        name: text(n, "Наименование"),
        full_name,
        description: n.text_of("Описание"),
        groups: n
            .nested("Группы", "Ид")
            .map(|g| g.value().to_string())
            .filter(|g| !is_empty_ref(g))
            .collect(),
        category: n.text_of("Категория"),
        unit: unit(n),
        barcodes: barcodes(n),
        images: n
            .children("Картинка")
            .map(|c| c.value().replace('\\', "/"))
            .filter(|p| !p.is_empty())
            .collect(),
        properties: property_refs(n),
        characteristics: name_values(n, "ХарактеристикиТовара", "ХарактеристикаТовара"),
        requisites,
        taxes: n
            .nested("СтавкиНалогов", "СтавкаНалога")
            .map(|t| TaxRate {
                name: text(t, "Наименование"),
                rate: text(t, "Ставка"),
            })
            .collect(),
        status: n.attr("Статус").map(str::to_string),
        deleted: deleted(n),
        id,
    }
}

pub(crate) const OFFER_KNOWN: &[&str] = &[
    "Ид",
    "ИдХарактеристики",
    "Штрихкод",
    "ШтрихКод",
    "Артикул",
    "Наименование",
    "БазоваяЕдиница",
    "ХарактеристикиТовара",
    "ЗначенияСвойств",
    "Цены",
    "Количество",
    "Склад",
    "Остатки",
    "Склады",
    "ПометкаУдаления",
    "НомерВерсии",
    "ЗначенияРеквизитов",
    "Группы",
    "Описание",
    "Картинка",
    "СтавкиНалогов",
    "ПолноеНаименование",
    "Статус",
];

pub(crate) fn offer(n: &Node, unknown: &mut u64) -> Offer {
    *unknown += n.count_unknown(OFFER_KNOWN);
    let mut id = text(n, "Ид");
    // ИзмененияПакетаПредложений carries the characteristic separately.
    if let Some(ch) = n.text_of("ИдХарактеристики") {
        if !id.contains('#') {
            id = format!("{id}#{ch}");
        }
    }
    let (product_id, characteristic_id) = split_id(&id);
    let prices = n
        .nested("Цены", "Цена")
        .filter_map(|p| {
            Some(OfferPrice {
                price_type_id: text(p, "ИдТипаЦены"),
                price: parse_decimal(&p.text_of("ЦенаЗаЕдиницу")?)?,
                currency: p.text_of("Валюта"),
                unit: p.text_of("Единица"),
                coefficient: p.text_of("Коэффициент").and_then(|c| parse_decimal(&c)),
                presentation: p.text_of("Представление"),
            })
        })
        .collect();
    let mut stock = Vec::new();
    // Shape 2: <Склад ИдСклада=".." КоличествоНаСкладе=".."/>
    for s in n.children("Склад") {
        if let (Some(w), Some(q)) = (s.attr("ИдСклада"), s.attr("КоличествоНаСкладе"))
        {
            if let Some(q) = parse_decimal(q) {
                stock.push(WarehouseStock {
                    warehouse_id: w.trim().to_string(),
                    quantity: q,
                });
            }
        }
    }
    // Shape 3: <Остатки><Остаток><Склад><Ид/><Количество/></Склад></Остаток></Остатки>,
    // and the XSD's ИзмененияПакетаПредложений <Склады><Склад><Ид/><Количество/></Склад></Склады>.
    let rests = n
        .nested("Остатки", "Остаток")
        .flat_map(|r| r.children("Склад"))
        .chain(n.nested("Склады", "Склад"));
    for s in rests {
        if let (Some(w), Some(q)) = (s.text_of("Ид"), s.text_of("Количество")) {
            if let Some(q) = parse_decimal(&q) {
                stock.push(WarehouseStock {
                    warehouse_id: w,
                    quantity: q,
                });
            }
        }
    }
    // Shape 1: total `Количество`; also `Остатки/Остаток/Количество` without a warehouse.
    let quantity = n
        .text_of("Количество")
        .and_then(|q| parse_decimal(&q))
        .or_else(|| {
            n.nested("Остатки", "Остаток")
                .find_map(|r| r.text_of("Количество"))
                .and_then(|q| parse_decimal(&q))
        });
    Offer {
        product_id,
        characteristic_id,
        sku: n.text_of("Артикул"),
        name: n.text_of("Наименование"),
        barcodes: barcodes(n),
        unit: unit(n),
        characteristics: name_values(n, "ХарактеристикиТовара", "ХарактеристикаТовара"),
        properties: property_refs(n),
        prices,
        quantity,
        stock,
        deleted: deleted(n),
        id,
    }
}

pub(crate) fn counterparty(n: &Node) -> Counterparty {
    let address = ["АдресРегистрации", "Адрес", "ЮридическийАдрес"]
        .iter()
        .find_map(|a| n.child(a).and_then(|x| x.text_of("Представление")));
    Counterparty {
        id: n.text_of("Ид"),
        name: n.text_of("Наименование"),
        full_name: n
            .text_of("ПолноеНаименование")
            .or_else(|| n.text_of("ОфициальноеНаименование")),
        role: n.text_of("Роль"),
        last_name: n.text_of("Фамилия"),
        first_name: n.text_of("Имя"),
        middle_name: n.text_of("Отчество"),
        inn: n.text_of("ИНН"),
        kpp: n.text_of("КПП"),
        address,
        contacts: n
            .nested("Контакты", "Контакт")
            .map(|c| ContactInfo {
                kind: text(c, "Тип"),
                value: text(c, "Значение"),
            })
            .collect(),
    }
}

fn line(n: &Node) -> DocumentLine {
    DocumentLine {
        id: n.text_of("Ид"),
        sku: n.text_of("Артикул"),
        name: text(n, "Наименование"),
        unit: unit(n),
        unit_price: n.text_of("ЦенаЗаЕдиницу").and_then(|v| parse_decimal(&v)),
        quantity: n
            .text_of("Количество")
            .and_then(|v| parse_decimal(&v))
            .unwrap_or_default(),
        total: n.text_of("Сумма").and_then(|v| parse_decimal(&v)),
        requisites: name_values(n, "ЗначенияРеквизитов", "ЗначениеРеквизита"),
    }
}

fn doc_date(n: &Node) -> Option<chrono::NaiveDateTime> {
    let date = parse_datetime(&n.text_of("Дата")?)?;
    match n.text_of("Время").and_then(|t| parse_time(&t)) {
        Some(t) if date.time() == chrono::NaiveTime::MIN => Some(date.date().and_time(t)),
        _ => Some(date),
    }
}

pub(crate) const DOCUMENT_KNOWN: &[&str] = &[
    "Ид",
    "Номер",
    "Дата",
    "ХозОперация",
    "Роль",
    "Валюта",
    "Курс",
    "Сумма",
    "Контрагенты",
    "Время",
    "СрокПлатежа",
    "Комментарий",
    "Налоги",
    "Скидки",
    "ДопРасходы",
    "Склады",
    "Товары",
    "ЗначенияРеквизитов",
    "Подписанты",
    "ПодчиненныеДокументы",
    "Оплаты",
    "Номер1С",
    "Дата1С",
    "НомерВерсии",
    "ПометкаУдаления",
    "Основание",
    "Проведен",
    "ИдРодителя",
];

pub(crate) fn document(n: &Node, unknown: &mut u64) -> Document {
    *unknown += n.count_unknown(DOCUMENT_KNOWN);
    let id = text(n, "Ид");
    let requisites = name_values(n, "ЗначенияРеквизитов", "ЗначениеРеквизита");
    let req = |name: &str| {
        requisites
            .iter()
            .find(|r| r.name.trim() == name)
            .map(|r| r.value.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let mut payments = Vec::new();
    // Shape 1: requisites. 1C sends «Дата оплаты по 1С» only after full payment; sites send
    // «Заказ оплачен»=true with «Дата оплаты»/«Номер платежного документа».
    let paid_at_1c = req("Дата оплаты по 1С").and_then(|d| parse_datetime(&d));
    let paid_flag = req("Оплачен")
        .or_else(|| req("Заказ оплачен"))
        .and_then(|v| parse_bool(&v));
    if paid_at_1c.is_some() || paid_flag == Some(true) {
        payments.push(PaymentInfo {
            shape: PaymentShape::Requisites,
            order_id: id.clone(),
            id: None,
            number: req("Номер оплаты по 1С").or_else(|| req("Номер платежного документа")),
            paid_at: paid_at_1c.or_else(|| req("Дата оплаты").and_then(|d| parse_datetime(&d))),
            amount: None,
            method: req("Метод оплаты"),
            transaction: None,
        });
    }
    // Shape 2: CML 2.09 Оплаты/Оплата.
    for p in n.nested("Оплаты", "Оплата") {
        payments.push(PaymentInfo {
            shape: PaymentShape::PaymentsBlock,
            order_id: id.clone(),
            id: None,
            number: p.text_of("НомерДокумента"),
            paid_at: p.text_of("ДатаОплаты").and_then(|d| parse_datetime(&d)),
            amount: p.text_of("СуммаОплаты").and_then(|v| parse_decimal(&v)),
            method: p.text_of("СпособОплаты"),
            transaction: p.text_of("НомерТранзакции"),
        });
    }
    // Shape 3: CML 2.10 ПодчиненныеДокументы with a payment ХозОперация.
    for d in n.nested("ПодчиненныеДокументы", "ПодчиненныйДокумент")
    {
        if d.text_of("ХозОперация").map(|o| is_payment_operation(&o)) == Some(true) {
            payments.push(PaymentInfo {
                shape: PaymentShape::SubordinateDocument,
                order_id: id.clone(),
                id: d.text_of("Ид"),
                number: d.text_of("Номер"),
                paid_at: doc_date(d),
                amount: d.text_of("Сумма").and_then(|v| parse_decimal(&v)),
                method: None,
                transaction: None,
            });
        }
    }
    let operation = n.text_of("ХозОперация");
    let basis = n
        .text_of("Основание")
        .or_else(|| n.child("Основание").and_then(|b| b.text_of("Ид")));
    // Shape 4: CML 3.x payment document pointing at its order through Основание.
    if operation.as_deref().map(is_payment_operation) == Some(true) {
        payments.push(PaymentInfo {
            shape: PaymentShape::PaymentDocument,
            order_id: basis.clone().unwrap_or_default(),
            id: Some(id.clone()),
            number: n.text_of("Номер"),
            paid_at: doc_date(n),
            amount: n.text_of("Сумма").and_then(|v| parse_decimal(&v)),
            method: None,
            transaction: None,
        });
    }
    Document {
        number: n.text_of("Номер"),
        date: doc_date(n),
        operation,
        role: n.text_of("Роль"),
        currency: n.text_of("Валюта"),
        rate: n.text_of("Курс").and_then(|v| parse_decimal(&v)),
        total: n.text_of("Сумма").and_then(|v| parse_decimal(&v)),
        comment: n.text_of("Комментарий"),
        counterparties: n
            .nested("Контрагенты", "Контрагент")
            .map(counterparty)
            .collect(),
        lines: n.nested("Товары", "Товар").map(line).collect(),
        number_1c: n.text_of("Номер1С").or_else(|| req("Номер по 1С")),
        date_1c: n
            .text_of("Дата1С")
            .or_else(|| req("Дата по 1С"))
            .and_then(|d| parse_datetime(&d)),
        basis,
        deleted: deleted(n) || req("ПометкаУдаления").and_then(|v| parse_bool(&v)) == Some(true),
        payments,
        requisites,
        id,
    }
}
