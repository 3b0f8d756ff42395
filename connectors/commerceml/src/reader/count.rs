//! Counting mode of the reader: what `inspect` needs, straight from the XML events of each item.
//!
//! `inspect` used to build every item (a [`crate::node::Node`] per element, then owned strings
//! and `Decimal`s) only to count it; that was ~60 % of its time in `malloc`/`free`. Here each
//! item subtree is walked once with a stack of [`Slot`]s saying what every open element is to
//! the counts, and only the few texts the rules look at are collected (into one reused buffer).
//!
//! The rules are the ones of `convert.rs`, restated per element; `tests/it/count_equivalence.rs`
//! runs both paths over every fixture and generated catalogs and requires identical summaries.
//! When a rule in `convert.rs` changes, the matching arm here must change with it. The checks
//! are the same too, in the same order: element bound per item, every attribute parsed and its
//! entities resolved, every reference resolved, DOCTYPE refused, end of file inside an item.

use super::{CmlReader, ItemKind, RefValue};
use crate::error::CmlError;
use crate::items::{is_payment_operation, Item};
use crate::values::{parse_bool, parse_datetime, parse_decimal};
use quick_xml::events::{BytesStart, Event};

/// Item counts of a file (the numeric part of [`crate::FileSummary`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    pub groups: u64,
    pub properties: u64,
    pub price_types: u64,
    pub warehouses: u64,
    pub units: u64,
    pub products: u64,
    pub offers: u64,
    pub prices: u64,
    pub stock_entries: u64,
    pub variant_offers: u64,
    pub deleted: u64,
    pub documents: u64,
    pub counterparties: u64,
    pub payments: u64,
}

impl Tally {
    /// Counts one built item: the reference definition of every count.
    pub fn add_item(&mut self, item: &Item) {
        match item {
            Item::Group(g) => {
                self.groups += 1;
                self.deleted += g.deleted as u64;
            }
            Item::Property(p) => {
                self.properties += 1;
                self.deleted += p.deleted as u64;
            }
            Item::PriceType(_) => self.price_types += 1,
            Item::Warehouse(_) => self.warehouses += 1,
            Item::Unit(_) => self.units += 1,
            Item::Product(p) => {
                self.products += 1;
                self.deleted += p.deleted as u64;
            }
            Item::Offer(o) => {
                self.offers += 1;
                self.prices += o.prices.len() as u64;
                self.stock_entries += if o.stock.is_empty() {
                    o.quantity.is_some() as u64
                } else {
                    o.stock.len() as u64
                };
                self.variant_offers += o.id.contains('#') as u64;
                self.deleted += o.deleted as u64;
            }
            Item::Document(d) => {
                self.documents += 1;
                self.payments += d.payments.len() as u64;
                self.deleted += d.deleted as u64;
            }
            Item::Counterparty(_) => self.counterparties += 1,
        }
    }
}

/// What a subtree read in counting mode is.
#[derive(Clone, Copy)]
pub(super) enum Target {
    /// An item of the skeleton.
    Item(ItemKind),
    /// An ignored or unknown element: checked, not counted.
    Skip,
}

/// State of counting mode, kept between items so its buffers are not regrown.
#[derive(Default)]
pub(super) struct Counting {
    pub tally: Tally,
    s: Scratch,
}

/// What an open element is to the counts.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Slot {
    /// Nothing the rules look at (its subtree is still checked).
    Other,
    /// An element whose text a rule reads (collected into [`Scratch::cap`]).
    Cap(Cap),
    /// A group (the item root or one nested through `Группы/Группа`).
    Group,
    /// `Группы` of a group.
    GroupList,
    /// The root of any other item.
    Root,
    /// Offer `Цены`.
    Prices,
    /// Offer `Цены/Цена`.
    Price,
    /// Offer `Склад` with `ИдСклада`/`КоличествоНаСкладе` attributes.
    AttrStore,
    /// Offer `Остатки`.
    Rests,
    /// Offer `Остатки/Остаток`.
    Rest,
    /// Offer `Склады`.
    Stores,
    /// `Остатки/Остаток/Склад` or `Склады/Склад`: `Ид` + `Количество` as child elements.
    Store,
    /// Document `ЗначенияРеквизитов`.
    Reqs,
    /// Document `ЗначенияРеквизитов/ЗначениеРеквизита`.
    Req,
    /// Document `Оплаты`.
    Pays,
    /// Document `ПодчиненныеДокументы`.
    Subs,
    /// Document `ПодчиненныеДокументы/ПодчиненныйДокумент`.
    Sub,
}

/// Which text is being collected (always the FIRST child of that name, as `Node::text_of`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Cap {
    /// `ПометкаУдаления` of the item root.
    RootDeleted,
    /// `ПометкаУдаления` of the innermost group.
    GroupDeleted,
    /// Offer `Ид`.
    OfferId,
    /// Offer `ИдХарактеристики`.
    OfferCharacteristic,
    /// Offer total `Количество`.
    OfferQuantity,
    /// `Цена/ЦенаЗаЕдиницу`.
    PriceValue,
    /// `Остаток/Количество`.
    RestQuantity,
    /// `Склад/Ид`.
    StoreId,
    /// `Склад/Количество`.
    StoreQuantity,
    /// `ЗначениеРеквизита/Наименование`.
    ReqName,
    /// `ЗначениеРеквизита/Значение` (every one, joined with "; " as `name_values` does).
    ReqValue,
    /// Document `ХозОперация`.
    Operation,
    /// `ПодчиненныйДокумент/ХозОперация`.
    SubOperation,
}

/// Document requisites the payment and deletion rules read, in [`Scratch::reqs`] order.
const REQS: [&str; 4] = [
    "Дата оплаты по 1С",
    "Оплачен",
    "Заказ оплачен",
    "ПометкаУдаления",
];

#[derive(Default, Clone, Copy)]
struct GroupState {
    deleted_seen: bool,
    deleted: bool,
}

/// Per-item working state. Flags named `*_seen` implement "first child of that name".
#[derive(Default)]
struct Scratch {
    kind: Option<ItemKind>,
    /// Open elements of the item: slot and where its name starts in `names`.
    frames: Vec<(Slot, usize)>,
    /// Names of the open elements, concatenated (only for the end-of-file message).
    names: String,
    /// Text of the element being collected.
    cap: String,
    unknown: u64,

    // Attributes of the element being opened.
    a_status_seen: bool,
    a_status_deleted: bool,
    a_store_seen: bool,
    a_quantity_seen: bool,
    a_quantity_ok: bool,

    // Item root.
    root_status_deleted: bool,
    root_deleted_seen: bool,
    root_deleted: bool,
    groups: Vec<GroupState>,

    // Offer.
    id_seen: bool,
    id_hash: bool,
    characteristic_seen: bool,
    characteristic: bool,
    quantity_seen: bool,
    quantity: bool,
    rest_quantity_found: bool,
    rest_quantity: bool,
    prices: u64,
    stock: u64,
    price_value_seen: bool,
    price_ok: bool,
    rest_quantity_seen: bool,
    store_id_seen: bool,
    store_id_ok: bool,
    store_quantity_seen: bool,
    store_quantity_ok: bool,

    // Document.
    operation_seen: bool,
    operation_pays: bool,
    sub_operation_seen: bool,
    sub_pays: bool,
    payments: u64,
    req_name_seen: bool,
    req_name: String,
    req_value: String,
    req_values: usize,
    reqs: [Option<Option<String>>; 4],
}

impl Scratch {
    fn reset(&mut self, kind: Option<ItemKind>) {
        let mut frames = std::mem::take(&mut self.frames);
        let mut names = std::mem::take(&mut self.names);
        let mut cap = std::mem::take(&mut self.cap);
        let mut groups = std::mem::take(&mut self.groups);
        let mut req_name = std::mem::take(&mut self.req_name);
        let mut req_value = std::mem::take(&mut self.req_value);
        frames.clear();
        names.clear();
        cap.clear();
        groups.clear();
        req_name.clear();
        req_value.clear();
        *self = Scratch {
            kind,
            frames,
            names,
            cap,
            groups,
            req_name,
            req_value,
            ..Scratch::default()
        };
    }

    fn top(&self) -> Slot {
        self.frames.last().map(|f| f.0).unwrap_or(Slot::Other)
    }

    /// The slot of a child `name` of the innermost open element; also counts it as unknown
    /// where the converter would.
    fn child_slot(&mut self, name: &str) -> Slot {
        use Slot::*;
        match self.top() {
            Group => {
                self.unknown += !crate::convert::GROUP_KNOWN.contains(&name) as u64;
                let g = self.groups.last_mut().expect("open group");
                match name {
                    "Группы" => GroupList,
                    "ПометкаУдаления" if !g.deleted_seen => {
                        g.deleted_seen = true;
                        Cap(self::Cap::GroupDeleted)
                    }
                    _ => Other,
                }
            }
            GroupList if name == "Группа" => Group,
            Root => self.root_child(name),
            Prices if name == "Цена" => Price,
            Price if name == "ЦенаЗаЕдиницу" && !self.price_value_seen => {
                self.price_value_seen = true;
                Cap(self::Cap::PriceValue)
            }
            Rests if name == "Остаток" => Rest,
            Rest if name == "Склад" => Store,
            Rest if name == "Количество" && !self.rest_quantity_seen => {
                self.rest_quantity_seen = true;
                Cap(self::Cap::RestQuantity)
            }
            Stores if name == "Склад" => Store,
            Store if name == "Ид" && !self.store_id_seen => {
                self.store_id_seen = true;
                Cap(self::Cap::StoreId)
            }
            Store if name == "Количество" && !self.store_quantity_seen => {
                self.store_quantity_seen = true;
                Cap(self::Cap::StoreQuantity)
            }
            Reqs if name == "ЗначениеРеквизита" => Req,
            Req if name == "Наименование" && !self.req_name_seen => {
                self.req_name_seen = true;
                Cap(self::Cap::ReqName)
            }
            Req if name == "Значение" => Cap(self::Cap::ReqValue),
            Pays if name == "Оплата" => {
                self.payments += 1;
                Other
            }
            Subs if name == "ПодчиненныйДокумент" => Sub,
            Sub if name == "ХозОперация" && !self.sub_operation_seen => {
                self.sub_operation_seen = true;
                Cap(self::Cap::SubOperation)
            }
            _ => Other,
        }
    }

    fn root_child(&mut self, name: &str) -> Slot {
        use Slot::*;
        let kind = self.kind.expect("item root");
        match kind {
            ItemKind::Product => {
                self.unknown += !crate::convert::PRODUCT_KNOWN.contains(&name) as u64
            }
            ItemKind::Offer => self.unknown += !crate::convert::OFFER_KNOWN.contains(&name) as u64,
            ItemKind::Document => {
                self.unknown += !crate::convert::DOCUMENT_KNOWN.contains(&name) as u64
            }
            _ => {}
        }
        if name == "ПометкаУдаления" {
            if self.root_deleted_seen {
                return Other;
            }
            self.root_deleted_seen = true;
            return Cap(self::Cap::RootDeleted);
        }
        match (kind, name) {
            (ItemKind::Offer, "Ид") if !self.id_seen => {
                self.id_seen = true;
                Cap(self::Cap::OfferId)
            }
            (ItemKind::Offer, "ИдХарактеристики") if !self.characteristic_seen => {
                self.characteristic_seen = true;
                Cap(self::Cap::OfferCharacteristic)
            }
            (ItemKind::Offer, "Количество") if !self.quantity_seen => {
                self.quantity_seen = true;
                Cap(self::Cap::OfferQuantity)
            }
            (ItemKind::Offer, "Цены") => Prices,
            (ItemKind::Offer, "Склад") => AttrStore,
            (ItemKind::Offer, "Остатки") => Rests,
            (ItemKind::Offer, "Склады") => Stores,
            (ItemKind::Document, "ЗначенияРеквизитов") => Reqs,
            (ItemKind::Document, "Оплаты") => Pays,
            (ItemKind::Document, "ПодчиненныеДокументы") => Subs,
            (ItemKind::Document, "ХозОперация") if !self.operation_seen => {
                self.operation_seen = true;
                Cap(self::Cap::Operation)
            }
            _ => Other,
        }
    }

    fn begin_attrs(&mut self) {
        self.a_status_seen = false;
        self.a_status_deleted = false;
        self.a_store_seen = false;
        self.a_quantity_seen = false;
        self.a_quantity_ok = false;
    }

    /// One attribute of the element being opened (first one of a key wins, as `Node::attr`).
    fn attr(&mut self, slot: Slot, key: &str, value: &str) {
        match slot {
            Slot::Group | Slot::Root if key == "Статус" && !self.a_status_seen => {
                self.a_status_seen = true;
                self.a_status_deleted = value.trim() == "Удален";
            }
            Slot::AttrStore if key == "ИдСклада" => self.a_store_seen = true,
            Slot::AttrStore if key == "КоличествоНаСкладе" && !self.a_quantity_seen =>
            {
                self.a_quantity_seen = true;
                self.a_quantity_ok = parse_decimal(value).is_some();
            }
            _ => {}
        }
    }

    /// Opens an element whose attributes were just seen.
    fn open(&mut self, slot: Slot, name: &str) {
        match slot {
            Slot::Cap(_) => self.cap.clear(),
            Slot::Group => self.groups.push(GroupState {
                deleted_seen: false,
                deleted: self.a_status_deleted,
            }),
            Slot::Root => self.root_status_deleted = self.a_status_deleted,
            Slot::Price => {
                self.price_value_seen = false;
                self.price_ok = false;
            }
            Slot::Rest => self.rest_quantity_seen = false,
            Slot::Store => {
                self.store_id_seen = false;
                self.store_id_ok = false;
                self.store_quantity_seen = false;
                self.store_quantity_ok = false;
            }
            Slot::AttrStore => {
                self.stock += (self.a_store_seen && self.a_quantity_ok) as u64;
            }
            Slot::Req => {
                self.req_name_seen = false;
                self.req_name.clear();
                self.req_value.clear();
                self.req_values = 0;
            }
            Slot::Sub => {
                self.sub_operation_seen = false;
                self.sub_pays = false;
            }
            _ => {}
        }
        self.frames.push((slot, self.names.len()));
        self.names.push_str(name);
    }

    fn capturing(&self) -> bool {
        matches!(self.top(), Slot::Cap(_))
    }

    /// Closes the innermost element; `true` when it was the item root.
    fn close(&mut self, tally: &mut Tally) -> bool {
        let (slot, at) = self.frames.pop().expect("open element");
        self.names.truncate(at);
        match slot {
            Slot::Cap(c) => self.captured(c),
            Slot::Group => {
                let g = self.groups.pop().expect("open group");
                tally.groups += 1;
                tally.deleted += g.deleted as u64;
            }
            Slot::Price => self.prices += self.price_ok as u64,
            Slot::Store => self.stock += (self.store_id_ok && self.store_quantity_ok) as u64,
            Slot::Req => {
                let name = self.req_name.trim();
                let value = self.req_value.trim();
                for (i, r) in REQS.iter().enumerate() {
                    if name == *r && self.reqs[i].is_none() {
                        self.reqs[i] = Some(Some(value.to_string()).filter(|v| !v.is_empty()));
                    }
                }
            }
            Slot::Sub => self.payments += self.sub_pays as u64,
            _ => {}
        }
        self.frames.is_empty()
    }

    /// A collected text is complete: apply its rule.
    fn captured(&mut self, c: Cap) {
        let v = self.cap.as_str();
        match c {
            Cap::RootDeleted => self.root_deleted = parse_bool(v) == Some(true),
            Cap::GroupDeleted => {
                let g = self.groups.last_mut().expect("open group");
                g.deleted = g.deleted || parse_bool(v) == Some(true);
            }
            Cap::OfferId => self.id_hash = v.contains('#'),
            Cap::OfferCharacteristic => self.characteristic = !v.trim().is_empty(),
            Cap::OfferQuantity => self.quantity = parse_decimal(v).is_some(),
            Cap::PriceValue => self.price_ok = parse_decimal(v).is_some(),
            Cap::RestQuantity => {
                // `find_map` over `Остатки/Остаток`: the first non-empty one decides.
                if !self.rest_quantity_found && !v.trim().is_empty() {
                    self.rest_quantity_found = true;
                    self.rest_quantity = parse_decimal(v).is_some();
                }
            }
            Cap::StoreId => self.store_id_ok = !v.trim().is_empty(),
            Cap::StoreQuantity => self.store_quantity_ok = parse_decimal(v).is_some(),
            Cap::ReqName => {
                let t = v.trim();
                self.req_name.clear();
                self.req_name.push_str(t);
            }
            Cap::ReqValue => {
                if self.req_values > 0 {
                    self.req_value.push_str("; ");
                }
                self.req_value.push_str(v.trim());
                self.req_values += 1;
            }
            Cap::Operation => self.operation_pays = is_payment_operation(v),
            Cap::SubOperation => self.sub_pays = is_payment_operation(v),
        }
    }

    fn req(&self, i: usize) -> Option<&str> {
        self.reqs[i].as_ref().and_then(|v| v.as_deref())
    }

    /// The item root closed: add it to the tally (groups were added as they closed).
    fn finish(&self, tally: &mut Tally) {
        let Some(kind) = self.kind else { return };
        let deleted = self.root_status_deleted || self.root_deleted;
        match kind {
            ItemKind::Group => {}
            ItemKind::Property => {
                tally.properties += 1;
                tally.deleted += deleted as u64;
            }
            ItemKind::PriceType => tally.price_types += 1,
            ItemKind::Warehouse => tally.warehouses += 1,
            ItemKind::Unit => tally.units += 1,
            ItemKind::Counterparty => tally.counterparties += 1,
            ItemKind::Product => {
                tally.products += 1;
                tally.deleted += deleted as u64;
            }
            ItemKind::Offer => {
                tally.offers += 1;
                tally.prices += self.prices;
                let quantity = self.quantity || self.rest_quantity;
                tally.stock_entries += if self.stock == 0 {
                    quantity as u64
                } else {
                    self.stock
                };
                tally.variant_offers += (self.id_hash || self.characteristic) as u64;
                tally.deleted += deleted as u64;
            }
            ItemKind::Document => {
                let paid_at_1c = self.req(0).and_then(parse_datetime).is_some();
                let paid_flag = self.req(1).or_else(|| self.req(2)).and_then(parse_bool);
                let by_requisites = paid_at_1c || paid_flag == Some(true);
                tally.documents += 1;
                tally.payments += self.payments + by_requisites as u64 + self.operation_pays as u64;
                let req_deleted = self.req(3).and_then(parse_bool) == Some(true);
                tally.deleted += (deleted || req_deleted) as u64;
            }
        }
    }
}

impl CmlReader {
    /// Reads the subtree of an element whose start was just read, counting it as `target`.
    /// Mirrors `CmlReader::subtree` event for event, so errors come at the same place.
    pub(super) fn count_item(
        &mut self,
        target: Target,
        start: &BytesStart<'_>,
        empty: bool,
    ) -> Result<(), CmlError> {
        let mut counting = self.counting.take().expect("counting mode");
        let mut buf = std::mem::take(&mut self.sub_buf);
        let result = self.count_with(target, start, empty, &mut counting, &mut buf);
        if buf.capacity() <= 1 << 20 {
            buf.clear();
            self.sub_buf = buf;
        }
        self.counting = Some(counting);
        result
    }

    fn count_with(
        &mut self,
        target: Target,
        start: &BytesStart<'_>,
        empty: bool,
        counting: &mut Counting,
        buf: &mut Vec<u8>,
    ) -> Result<(), CmlError> {
        let Counting { tally, s } = counting;
        let (kind, root_slot) = match target {
            Target::Item(ItemKind::Group) => (Some(ItemKind::Group), Slot::Group),
            Target::Item(k) => (Some(k), Slot::Root),
            Target::Skip => (None, Slot::Other),
        };
        s.reset(kind);
        let root_name = start.local_name().into_inner();
        s.begin_attrs();
        self.each_attr(start, |k, v| s.attr(root_slot, k, v))?;
        s.open(root_slot, root_name);
        if empty {
            s.close(tally);
            s.finish(tally);
            self.unknown_elements += s.unknown;
            return Ok(());
        }
        let start_line = self.here().0;
        let mut count = 1usize;
        loop {
            buf.clear();
            let ev = self
                .xml
                .read_event_into(buf)
                .map_err(|e| self.malformed(e.to_string()))?;
            match ev {
                Event::Start(e) => {
                    count += 1;
                    self.check_count(count, root_name, start_line)?;
                    let name = e.local_name().into_inner();
                    let slot = s.child_slot(name);
                    s.begin_attrs();
                    self.each_attr(&e, |k, v| s.attr(slot, k, v))?;
                    s.open(slot, name);
                }
                Event::Empty(e) => {
                    count += 1;
                    self.check_count(count, root_name, start_line)?;
                    let name = e.local_name().into_inner();
                    let slot = s.child_slot(name);
                    s.begin_attrs();
                    self.each_attr(&e, |k, v| s.attr(slot, k, v))?;
                    s.open(slot, name);
                    s.close(tally);
                }
                Event::Text(t) => {
                    if s.capturing() {
                        s.cap.push_str(&t.xml10_content());
                    }
                }
                Event::CData(t) => {
                    if s.capturing() {
                        s.cap.push_str(&t.xml10_content());
                    }
                }
                Event::GeneralRef(r) => {
                    let v = self.ref_value(&r)?;
                    if s.capturing() {
                        match v {
                            RefValue::Char(c) => s.cap.push(c),
                            RefValue::Str(t) => s.cap.push_str(t),
                        }
                    }
                }
                Event::End(_) => {
                    if s.close(tally) {
                        s.finish(tally);
                        self.unknown_elements += s.unknown;
                        return Ok(());
                    }
                }
                Event::DocType(_) => return Err(self.doctype()),
                Event::Eof => {
                    let at = s.frames.last().map(|f| f.1).unwrap_or(0);
                    return Err(self.malformed(format!(
                        "unexpected end of file inside <{}>",
                        &s.names[at..]
                    )));
                }
                Event::Comment(_) | Event::PI(_) | Event::Decl(_) => {}
            }
        }
    }
}
