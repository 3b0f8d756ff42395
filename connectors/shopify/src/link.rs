//! The `Link` response header of Shopify's cursor paging:
//! `<https://shop/admin/api/2025-07/orders.json?limit=3&page_info=abc>; rel="next", <…>; rel="previous"`.
//! Only the `page_info` (and `limit`) of the next link matter: the cursor must be sent back
//! exactly as given, and a request with `page_info` may add nothing but `limit` (and `fields`).

use url::Url;

/// The URL of the link with relation `rel` (`next`, `previous`), if the header has one.
pub fn link_url(header: &str, rel: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let mut pieces = part.split(';');
        let target = pieces.next()?.trim();
        let target = target.strip_prefix('<')?.strip_suffix('>')?;
        let matches = pieces.any(|p| {
            let p = p.trim();
            p.strip_prefix("rel=")
                .map(|v| v.trim_matches('"').split_whitespace().any(|r| r == rel))
                .unwrap_or(false)
        });
        matches.then(|| target.to_string())
    })
}

/// The `page_info` cursor of the link with relation `rel`.
pub fn page_info(header: &str, rel: &str) -> Option<String> {
    let url = Url::parse(&link_url(header, rel)?).ok()?;
    let found = url
        .query_pairs()
        .find(|(k, _)| k == "page_info")
        .map(|(_, v)| v.into_owned());
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_next_and_previous() {
        let h = r#"<https://s.myshopify.com/admin/api/2025-07/orders.json?limit=3&page_info=p2%3D>; rel="next", <https://s.myshopify.com/admin/api/2025-07/orders.json?limit=3&page_info=p0>; rel="previous""#;
        assert_eq!(page_info(h, "next").as_deref(), Some("p2="));
        assert_eq!(page_info(h, "previous").as_deref(), Some("p0"));
        let only_prev = r#"<https://x/admin/api/v/orders.json?page_info=a>; rel="previous""#;
        assert_eq!(page_info(only_prev, "next"), None);
    }
}
