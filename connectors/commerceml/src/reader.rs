//! The streaming pull reader: walks the file skeleton event by event and materialises only the
//! subtree of the item it yields next.

use crate::convert;
use crate::error::CmlError;
use crate::items::Item;
use crate::node::Node;
use crate::options::ReaderOptions;
use crate::source::{self, LineTracker};
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::Reader;
use serde::Serialize;
use std::collections::VecDeque;
use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

mod count;
pub(crate) use count::Tally;

/// What a file holds, decided by its content (root children), never by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ContentKind {
    /// `Классификатор`: groups, properties, price types, warehouses, units.
    Classifier,
    /// `Каталог`: products.
    Catalog,
    /// `ПакетПредложений`: offers, prices, stock (also split `prices`/`rests` files).
    Offers,
    /// `ИзмененияПакетаПредложений`: fast price/stock changes.
    OfferChanges,
    /// `Документ` / `Контейнер`: orders, payments.
    Documents,
    /// `Контрагенты` package.
    Counterparties,
}

/// Facts about the file as a whole, filled in while reading.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Header {
    /// `ВерсияСхемы` (`2.08`, `3.1`).
    pub schema_version: Option<String>,
    /// `ДатаФормирования` as written.
    pub generated_at: Option<String>,
    /// Default namespace (`urn:1C.ru:commerceml_210`), `None` without one.
    pub namespace: Option<String>,
    /// Encoding actually used to decode (`UTF-8`, `windows-1251`).
    pub encoding: String,
    /// Whether a UTF-8 byte-order mark preceded the text.
    pub bom: bool,
    /// Set when the bytes did not match the declared encoding: why, and which was used instead.
    pub encoding_mismatch: Option<String>,
    /// `СодержитТолькоИзменения` (attribute or child element) of any package; `None` if absent.
    pub only_changes: Option<bool>,
    /// Sections seen so far, in order of appearance.
    pub kinds: Vec<ContentKind>,
}

impl Header {
    /// The main kind of content: documents, else offers, else catalog, else classifier.
    pub fn primary_kind(&self) -> Option<ContentKind> {
        use ContentKind::*;
        [
            Documents,
            Offers,
            OfferChanges,
            Catalog,
            Counterparties,
            Classifier,
        ]
        .into_iter()
        .find(|k| self.kinds.contains(k))
    }
}

/// How the reader treats an element met in the file skeleton.
enum Role {
    Container(Option<ContentKind>),
    Item(ItemKind),
    OnlyChanges,
    Ignore,
    Unknown,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ItemKind {
    Group,
    Property,
    PriceType,
    Warehouse,
    Unit,
    Product,
    Offer,
    Document,
    Counterparty,
}

const SECTION_FIELDS: &[&str] = &[
    "Ид",
    "Наименование",
    "Владелец",
    "Описание",
    "НомерВерсии",
    "ПометкаУдаления",
    "ИдКлассификатора",
    "ИдКаталога",
];

fn classify(parent: &str, name: &str) -> Role {
    use ContentKind as K;
    use ItemKind as I;
    match (parent, name) {
        ("КоммерческаяИнформация", "Классификатор") => {
            Role::Container(Some(K::Classifier))
        }
        ("КоммерческаяИнформация", "Каталог") => {
            Role::Container(Some(K::Catalog))
        }
        ("КоммерческаяИнформация", "ПакетПредложений") => {
            Role::Container(Some(K::Offers))
        }
        ("КоммерческаяИнформация", "ИзмененияПакетаПредложений") => {
            Role::Container(Some(K::OfferChanges))
        }
        ("КоммерческаяИнформация", "Контрагенты") => {
            Role::Container(Some(K::Counterparties))
        }
        ("КоммерческаяИнформация", "Контейнер") => {
            Role::Container(Some(K::Documents))
        }
        ("КоммерческаяИнформация" | "Контейнер", "Документ") => {
            Role::Item(I::Document)
        }
        ("ПакетПредложений", "Классификатор") => Role::Container(None),
        ("Классификатор", "Группы" | "Свойства" | "ТипыЦен" | "Склады" | "ЕдиницыИзмерения") => {
            Role::Container(None)
        }
        ("Каталог", "Товары") => Role::Container(None),
        (
            "ПакетПредложений" | "ИзмененияПакетаПредложений",
            "Предложения" | "ТипыЦен" | "Склады",
        ) => Role::Container(None),
        (
            "Классификатор"
            | "Каталог"
            | "ПакетПредложений"
            | "ИзмененияПакетаПредложений"
            | "Контрагенты",
            "СодержитТолькоИзменения",
        ) => Role::OnlyChanges,
        (
            "Классификатор"
            | "Каталог"
            | "ПакетПредложений"
            | "ИзмененияПакетаПредложений"
            | "Контрагенты",
            f,
        ) if SECTION_FIELDS.contains(&f) => Role::Ignore,
        ("Группы", "Группа") => Role::Item(I::Group),
        ("Свойства", "Свойство" | "СвойствоНоменклатуры") => {
            Role::Item(I::Property)
        }
        ("ТипыЦен", "ТипЦены") => Role::Item(I::PriceType),
        ("Склады", "Склад") => Role::Item(I::Warehouse),
        ("ЕдиницыИзмерения", "ЕдиницаИзмерения") => {
            Role::Item(I::Unit)
        }
        ("Товары", "Товар") => Role::Item(I::Product),
        ("Предложения", "Предложение") => Role::Item(I::Offer),
        ("Контрагенты", "Контрагент") => Role::Item(I::Counterparty),
        _ => Role::Unknown,
    }
}

fn local(start: &BytesStart<'_>) -> String {
    start.local_name().as_ref().to_string()
}

/// Pull reader over one CommerceML file. Use it as an iterator of `Result<Item, CmlError>`.
///
/// Memory stays flat: the reader keeps the element stack of the skeleton, a reusable event
/// buffer and the subtree of the single item it is about to yield.
pub struct CmlReader {
    xml: Reader<LineTracker>,
    buf: Vec<u8>,
    /// Event buffer of [`CmlReader::subtree`], kept between items so it is not regrown for each.
    sub_buf: Vec<u8>,
    stack: Vec<String>,
    header: Header,
    pending: VecDeque<Item>,
    options: ReaderOptions,
    unknown_elements: u64,
    exceeded: Arc<AtomicBool>,
    done: bool,
    failed: bool,
    /// `Some` in counting mode ([`CmlReader::count_all`]): items are counted from their events
    /// and never built.
    counting: Option<Box<count::Counting>>,
    /// 1-based line of the start tag of the item last read (for data-quality examples).
    item_line: u64,
}

impl CmlReader {
    /// Opens a file by path with default options.
    pub fn open(path: impl AsRef<std::path::Path>) -> Result<Self, CmlError> {
        Self::from_reader(std::fs::File::open(path)?, ReaderOptions::default())
    }

    /// Wraps any byte stream (a file, an upload body). Reads the head to detect the encoding.
    pub fn from_reader<R: Read + Send + 'static>(
        input: R,
        options: ReaderOptions,
    ) -> Result<Self, CmlError> {
        let exceeded = Arc::new(AtomicBool::new(false));
        let (stream, detected) = source::open(input, options.max_bytes, exceeded.clone())?;
        let mut xml = Reader::from_reader(stream);
        let cfg = xml.config_mut();
        cfg.check_end_names = true;
        cfg.expand_empty_elements = false;
        Ok(Self {
            xml,
            buf: Vec::with_capacity(8 * 1024),
            sub_buf: Vec::with_capacity(8 * 1024),
            stack: Vec::new(),
            header: Header {
                encoding: detected.encoding.name().to_string(),
                bom: detected.bom,
                encoding_mismatch: detected.mismatch.clone(),
                ..Header::default()
            },
            pending: VecDeque::new(),
            options,
            unknown_elements: 0,
            exceeded,
            done: false,
            failed: false,
            counting: None,
            item_line: 0,
        })
    }

    /// File-level facts seen so far (complete once the iterator is exhausted).
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// 1-based line where the item last returned by [`CmlReader::next_item`] starts (0 before
    /// the first). Groups nested in one `Группа` share their outer group's line.
    pub fn item_line(&self) -> u64 {
        self.item_line
    }

    /// Elements skipped because the reader does not know them (never fatal).
    pub fn unknown_elements(&self) -> u64 {
        self.unknown_elements
    }

    fn position(&self, offset: u64) -> (u64, u64) {
        self.xml.get_ref().position(offset)
    }

    fn malformed(&self, message: String) -> CmlError {
        if self.exceeded.load(Ordering::Relaxed) {
            return CmlError::TooLarge {
                limit: self.options.max_bytes,
            };
        }
        let (line, column) = self.position(self.xml.error_position());
        CmlError::Malformed {
            line,
            column,
            message,
        }
    }

    fn here(&self) -> (u64, u64) {
        self.position(self.xml.buffer_position())
    }

    fn resolve_ref(&self, r: &BytesRef<'_>) -> Result<String, CmlError> {
        Ok(match self.ref_value(r)? {
            RefValue::Char(c) => c.to_string(),
            RefValue::Str(s) => s.to_string(),
        })
    }

    /// What an entity or character reference stands for, without allocating: the counting
    /// path checks every reference but keeps only the few it needs.
    fn ref_value(&self, r: &BytesRef<'_>) -> Result<RefValue, CmlError> {
        if let Some(c) = r
            .resolve_char_ref()
            .map_err(|e| self.malformed(e.to_string()))?
        {
            return Ok(RefValue::Char(c));
        }
        let name = r.xml10_content();
        let s = match name.as_ref() {
            "lt" => "<",
            "gt" => ">",
            "amp" => "&",
            "apos" => "'",
            "quot" => "\"",
            _ => {
                let (line, column) = self.here();
                return Err(CmlError::UnknownEntity {
                    name: name.into_owned(),
                    line,
                    column,
                });
            }
        };
        Ok(RefValue::Str(s))
    }

    fn attrs(&self, start: &BytesStart<'_>) -> Result<Vec<(String, String)>, CmlError> {
        let mut out = Vec::new();
        self.each_attr(start, |k, v| out.push((k.to_string(), v.to_string())))?;
        Ok(out)
    }

    /// Checks every attribute (well-formed, entities known) and hands each `(key, normalised
    /// value)` to `f`; the key is the local name, except `xmlns…` keys which stay whole.
    fn each_attr(
        &self,
        start: &BytesStart<'_>,
        mut f: impl FnMut(&str, &str),
    ) -> Result<(), CmlError> {
        // Most elements have no attributes: nothing to check (the iterator would yield none).
        if start
            .attributes_raw()
            .bytes()
            .all(|b| matches!(b, b' ' | b'\r' | b'\n' | b'\t'))
        {
            return Ok(());
        }
        for a in start.attributes() {
            let a = a.map_err(|e| self.malformed(e.to_string()))?;
            let value = a
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|e| match e {
                    quick_xml::Error::Escape(
                        quick_xml::escape::EscapeError::UnrecognizedEntity(_, n),
                    ) => {
                        let (line, column) = self.here();
                        CmlError::UnknownEntity {
                            name: n,
                            line,
                            column,
                        }
                    }
                    other => self.malformed(other.to_string()),
                })?;
            let key = a.key.as_ref();
            let key = if key.starts_with("xmlns") {
                key
            } else {
                a.key.local_name().into_inner()
            };
            f(key, &value);
        }
        Ok(())
    }

    /// Reads the rest of an element whose start was just read into a [`Node`].
    fn subtree(&mut self, start: &BytesStart<'_>, empty: bool) -> Result<Node, CmlError> {
        let mut buf = std::mem::take(&mut self.sub_buf);
        let node = self.subtree_with(start, empty, &mut buf);
        // One huge text node must not pin its buffer for the rest of the file.
        if buf.capacity() <= 1 << 20 {
            buf.clear();
            self.sub_buf = buf;
        }
        node
    }

    fn subtree_with(
        &mut self,
        start: &BytesStart<'_>,
        empty: bool,
        buf: &mut Vec<u8>,
    ) -> Result<Node, CmlError> {
        let root = Node {
            name: local(start),
            attrs: self.attrs(start)?,
            ..Node::default()
        };
        if empty {
            return Ok(root);
        }
        let start_line = self.here().0;
        let mut path: Vec<Node> = vec![root];
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
                    self.check_count(count, &path[0].name, start_line)?;
                    let node = Node {
                        name: local(&e),
                        attrs: self.attrs(&e)?,
                        ..Node::default()
                    };
                    path.push(node);
                }
                Event::Empty(e) => {
                    count += 1;
                    self.check_count(count, &path[0].name, start_line)?;
                    let node = Node {
                        name: local(&e),
                        attrs: self.attrs(&e)?,
                        ..Node::default()
                    };
                    path.last_mut().expect("non-empty path").children.push(node);
                }
                Event::Text(t) => path
                    .last_mut()
                    .expect("non-empty path")
                    .text
                    .push_str(&t.xml10_content()),
                Event::CData(t) => path
                    .last_mut()
                    .expect("non-empty path")
                    .text
                    .push_str(&t.xml10_content()),
                Event::GeneralRef(r) => {
                    let s = self.resolve_ref(&r)?;
                    path.last_mut().expect("non-empty path").text.push_str(&s);
                }
                Event::End(_) => {
                    let done = path.pop().expect("non-empty path");
                    match path.last_mut() {
                        Some(parent) => parent.children.push(done),
                        None => return Ok(done),
                    }
                }
                Event::DocType(_) => return Err(self.doctype()),
                Event::Eof => {
                    return Err(self.malformed(format!(
                        "unexpected end of file inside <{}>",
                        path.last().map(|n| n.name.as_str()).unwrap_or("?")
                    )))
                }
                Event::Comment(_) | Event::PI(_) | Event::Decl(_) => {}
            }
        }
    }

    fn check_count(&self, count: usize, name: &str, line: u64) -> Result<(), CmlError> {
        if count > self.options.max_item_elements {
            return Err(CmlError::ItemTooLarge {
                element: name.to_string(),
                line,
                limit: self.options.max_item_elements,
            });
        }
        Ok(())
    }

    fn doctype(&self) -> CmlError {
        let (line, column) = self.here();
        CmlError::DocType { line, column }
    }

    fn only_changes_attr(&mut self, attrs: &[(String, String)]) {
        if let Some((_, v)) = attrs.iter().find(|(k, _)| k == "СодержитТолькоИзменения")
        {
            if let Some(b) = crate::values::parse_bool(v) {
                self.header.only_changes = Some(self.header.only_changes.unwrap_or(false) || b);
            }
        }
    }

    fn convert(&mut self, kind: ItemKind, node: Node) {
        let unknown = &mut self.unknown_elements;
        match kind {
            ItemKind::Group => {
                let mut out = Vec::new();
                convert::groups(&node, None, &mut out, unknown);
                self.pending.extend(out);
            }
            ItemKind::Property => self
                .pending
                .push_back(Item::Property(convert::property(&node))),
            ItemKind::PriceType => self
                .pending
                .push_back(Item::PriceType(convert::price_type(&node))),
            ItemKind::Warehouse => self
                .pending
                .push_back(Item::Warehouse(convert::warehouse(&node))),
            ItemKind::Unit => self
                .pending
                .push_back(Item::Unit(convert::unit_decl(&node))),
            ItemKind::Product => {
                let p = convert::product(&node, unknown);
                self.pending.push_back(Item::Product(p));
            }
            ItemKind::Offer => {
                let o = convert::offer(&node, unknown);
                self.pending.push_back(Item::Offer(o));
            }
            ItemKind::Document => {
                let d = convert::document(&node, unknown);
                self.pending.push_back(Item::Document(d));
            }
            ItemKind::Counterparty => self
                .pending
                .push_back(Item::Counterparty(convert::counterparty(&node))),
        }
    }

    /// Handles one skeleton element start (or empty element).
    fn on_start(&mut self, e: &BytesStart<'_>, empty: bool) -> Result<(), CmlError> {
        let name = e.local_name().into_inner();
        let Some(parent) = self.stack.last() else {
            if name != "КоммерческаяИнформация" {
                return Err(CmlError::NotCommerceMl(name.to_string()));
            }
            for (k, v) in self.attrs(e)? {
                match k.as_str() {
                    "ВерсияСхемы" => {
                        self.header.schema_version = Some(v.trim().to_string())
                    }
                    "ДатаФормирования" => {
                        self.header.generated_at = Some(v.trim().to_string())
                    }
                    "xmlns" => self.header.namespace = Some(v.trim().to_string()),
                    _ => {}
                }
            }
            if !empty {
                self.stack.push(name.to_string());
            }
            return Ok(());
        };
        match classify(parent, name) {
            Role::Container(kind) => {
                if let Some(k) = kind {
                    if !self.header.kinds.contains(&k) {
                        self.header.kinds.push(k);
                    }
                }
                let attrs = self.attrs(e)?;
                self.only_changes_attr(&attrs);
                if !empty {
                    self.stack.push(name.to_string());
                }
            }
            Role::Item(kind) => {
                if matches!(kind, ItemKind::Document)
                    && !self.header.kinds.contains(&ContentKind::Documents)
                {
                    self.header.kinds.push(ContentKind::Documents);
                }
                if self.counting.is_some() {
                    self.count_item(count::Target::Item(kind), e, empty)?;
                } else {
                    self.item_line = self.here().0;
                    let node = self.subtree(e, empty)?;
                    self.convert(kind, node);
                }
            }
            Role::OnlyChanges => {
                let node = self.subtree(e, empty)?;
                if let Some(b) = crate::values::parse_bool(node.value()) {
                    self.header.only_changes = Some(self.header.only_changes.unwrap_or(false) || b);
                }
            }
            Role::Ignore => {
                if !empty {
                    self.skip_subtree(e)?;
                }
            }
            Role::Unknown => {
                self.unknown_elements += 1;
                if !empty {
                    // Parsed (not just skipped) so that entity and DOCTYPE checks still apply;
                    // the per-item element bound keeps an unknown subtree bounded too.
                    self.skip_subtree(e)?;
                }
            }
        }
        Ok(())
    }

    /// Reads past a subtree nobody needs, with the same checks as [`CmlReader::subtree`].
    fn skip_subtree(&mut self, e: &BytesStart<'_>) -> Result<(), CmlError> {
        if self.counting.is_some() {
            self.count_item(count::Target::Skip, e, false)
        } else {
            self.subtree(e, false).map(drop)
        }
    }

    /// Reads and handles one skeleton event; `Ok(false)` at the end of the file.
    fn step(&mut self, buf: &mut Vec<u8>) -> Result<bool, CmlError> {
        let ev = self
            .xml
            .read_event_into(buf)
            .map_err(|e| self.malformed(e.to_string()))?;
        match ev {
            Event::Start(e) => self.on_start(&e, false)?,
            Event::Empty(e) => self.on_start(&e, true)?,
            Event::End(_) => {
                self.stack.pop();
            }
            Event::GeneralRef(r) => {
                self.ref_value(&r)?;
            }
            Event::DocType(_) => return Err(self.doctype()),
            Event::Eof => {
                if let Some(open) = self.stack.last() {
                    return Err(
                        self.malformed(format!("unexpected end of file: <{open}> is not closed"))
                    );
                }
                if self.header.schema_version.is_none() && self.header.kinds.is_empty() {
                    return Err(CmlError::NotCommerceMl("(none: empty file)".into()));
                }
                return Ok(false);
            }
            Event::Text(_)
            | Event::CData(_)
            | Event::Comment(_)
            | Event::PI(_)
            | Event::Decl(_) => {}
        }
        Ok(true)
    }

    /// The next item, `Ok(None)` at the end of the file.
    pub fn next_item(&mut self) -> Result<Option<Item>, CmlError> {
        loop {
            if let Some(item) = self.pending.pop_front() {
                return Ok(Some(item));
            }
            if self.done {
                return Ok(None);
            }
            // The event borrows a buffer taken out of `self`, so handling it can use `self`
            // without copying the event first.
            let mut buf = std::mem::take(&mut self.buf);
            buf.clear();
            let more = self.step(&mut buf);
            self.buf = buf;
            if !more? {
                self.done = true;
            }
        }
    }

    /// Reads the rest of the file counting items instead of building them: the same rules as
    /// the item conversion (checked against it over every fixture), without an allocation per
    /// element. The header and [`CmlReader::unknown_elements`] are filled in as usual.
    pub(crate) fn count_all(&mut self) -> Result<Tally, CmlError> {
        self.counting = Some(Box::default());
        let result = self.next_item();
        let counting = self.counting.take().expect("counting mode");
        match result? {
            None => Ok(counting.tally),
            Some(_) => unreachable!("counting mode builds no items"),
        }
    }
}

/// A resolved reference: a character or one of the five predefined entities.
enum RefValue {
    Char(char),
    Str(&'static str),
}

impl Iterator for CmlReader {
    type Item = Result<Item, CmlError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.next_item() {
            Ok(Some(item)) => Some(Ok(item)),
            Ok(None) => None,
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}
