//! A small owned element tree for ONE item (a product, an offer, a document).
//!
//! The reader never builds a tree of the whole file: it streams the skeleton and materialises
//! only the subtree of the item it is about to yield, which is bounded by
//! [`crate::ReaderOptions::max_item_elements`].

/// One element of an item subtree, with its local name (namespace prefix stripped).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Node {
    /// Local name.
    pub name: String,
    /// Attributes by local name, entity references resolved.
    pub attrs: Vec<(String, String)>,
    /// Concatenated text content of this element (not of its children).
    pub text: String,
    /// Child elements in document order.
    pub children: Vec<Node>,
}

impl Node {
    /// First child with this local name.
    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    /// All children with this local name.
    pub fn children<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// Children of the first child `outer` named `inner` (`Цены` → `Цена`).
    pub fn nested<'a>(
        &'a self,
        outer: &'a str,
        inner: &'a str,
    ) -> impl Iterator<Item = &'a Node> + 'a {
        self.children(outer).flat_map(move |o| o.children(inner))
    }

    /// Trimmed text of this element.
    pub fn value(&self) -> &str {
        self.text.trim()
    }

    /// Trimmed, non-empty text of the first child with this name.
    pub fn text_of(&self, name: &str) -> Option<String> {
        self.child(name)
            .map(|c| c.value().to_string())
            .filter(|s| !s.is_empty())
    }

    /// Attribute value by local name.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// How many children are not in `known`: the reader reports them as skipped elements.
    pub fn count_unknown(&self, known: &[&str]) -> u64 {
        self.children
            .iter()
            .filter(|c| !known.contains(&c.name.as_str()))
            .count() as u64
    }
}
