//! Deal title templates: `"Order #{number}"` rendered from a canonical order.

use std::fmt;

use dealbridge_sdk::model::Order;

/// A value a title template can insert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    /// `{number}`: the store's order number.
    Number,
    /// `{id}`: the order's id in the source system.
    Id,
    /// `{customer}`: the buyer's name (or company, or e-mail).
    Customer,
    /// `{email}`: the buyer's e-mail, empty when there is none.
    Email,
}

impl Placeholder {
    const ALL: &'static [(&'static str, Placeholder)] = &[
        ("number", Placeholder::Number),
        ("id", Placeholder::Id),
        ("customer", Placeholder::Customer),
        ("email", Placeholder::Email),
    ];

    /// `{number}, {id}, {customer}, {email}`, for error messages.
    pub fn known_list() -> String {
        let names: Vec<String> = Self::ALL.iter().map(|(n, _)| format!("{{{n}}}")).collect();
        names.join(", ")
    }

    fn value(self, order: &Order) -> String {
        match self {
            Placeholder::Number => order.number.clone(),
            Placeholder::Id => order.source.id.clone(),
            Placeholder::Customer => order.customer.display_name(),
            Placeholder::Email => order.customer.email.clone().unwrap_or_default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Field(Placeholder),
}

/// A parsed title template. `{{` and `}}` stand for literal braces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TitleTemplate {
    source: String,
    parts: Vec<Part>,
}

/// Why a template does not parse; `offset` is the byte offset of the problem in the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    /// Byte offset in the template text.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

impl TitleTemplate {
    /// Parses a template; unknown placeholders and unbalanced braces are errors.
    pub fn parse(text: &str) -> Result<TitleTemplate, TemplateError> {
        if text.trim().is_empty() {
            return Err(TemplateError {
                offset: 0,
                message: "the title template is empty; write e.g. \"Order #{number}\"".to_string(),
            });
        }
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = text.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                '{' if chars.peek().map(|(_, c)| *c) == Some('{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek().map(|(_, c)| *c) == Some('}') => {
                    chars.next();
                    literal.push('}');
                }
                '{' => {
                    let Some(close) = text[i + 1..].find('}') else {
                        return Err(TemplateError {
                            offset: i,
                            message: "`{` is never closed; write `{{` for a literal brace"
                                .to_string(),
                        });
                    };
                    let name = &text[i + 1..i + 1 + close];
                    let Some((_, p)) = Placeholder::ALL.iter().find(|(n, _)| *n == name) else {
                        return Err(TemplateError {
                            offset: i,
                            message: format!(
                                "unknown placeholder `{{{name}}}` in the title template; known: {}",
                                Placeholder::known_list()
                            ),
                        });
                    };
                    if !literal.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Field(*p));
                    // Skip the name and the closing brace.
                    while let Some((j, _)) = chars.peek() {
                        if *j > i + 1 + close {
                            break;
                        }
                        chars.next();
                    }
                }
                '}' => {
                    return Err(TemplateError {
                        offset: i,
                        message: "`}` without a matching `{`; write `}}` for a literal brace"
                            .to_string(),
                    })
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        Ok(TitleTemplate {
            source: text.to_string(),
            parts,
        })
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The title for `order`.
    pub fn render(&self, order: &Order) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Field(p) => out.push_str(&p.value(order)),
            }
        }
        out
    }
}

impl fmt::Display for TitleTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dealbridge_sdk::model::{Contact, ExternalRef};
    use dealbridge_sdk::money::Currency;

    fn order() -> Order {
        Order {
            source: ExternalRef {
                system: "shop".into(),
                id: "727".into(),
            },
            number: "1042".into(),
            status: "processing".into(),
            currency: Currency::new("EUR").unwrap(),
            created_at: chrono::Utc::now(),
            modified_at: chrono::Utc::now(),
            customer: Contact {
                source: None,
                first_name: "Ada".into(),
                last_name: "Lovelace".into(),
                company: None,
                email: Some("ada@example.com".into()),
                phone: None,
            },
            lines: vec![],
            discount_total: Default::default(),
            shipping_total: Default::default(),
            tax_total: Default::default(),
            total: Default::default(),
            paid_at: None,
            payment_method: None,
            source_channel: None,
            note: None,
        }
    }

    #[test]
    fn renders_every_placeholder() {
        let t = TitleTemplate::parse("Order #{number} ({id}) {customer} <{email}> {{x}}").unwrap();
        assert_eq!(
            t.render(&order()),
            "Order #1042 (727) Ada Lovelace <ada@example.com> {x}"
        );
        assert_eq!(
            TitleTemplate::parse("Заказ №{number}")
                .unwrap()
                .render(&order()),
            "Заказ №1042"
        );
    }

    #[test]
    fn reports_where_the_template_is_wrong() {
        let e = TitleTemplate::parse("Order #{numbr}").unwrap_err();
        assert_eq!(e.offset, 7);
        assert!(
            e.message.contains("unknown placeholder `{numbr}`"),
            "{}",
            e.message
        );
        assert!(e.message.contains("{number}"));
        assert_eq!(TitleTemplate::parse("Order {number").unwrap_err().offset, 6);
        assert_eq!(TitleTemplate::parse("a } b").unwrap_err().offset, 2);
        assert!(TitleTemplate::parse("  ").is_err());
    }
}
