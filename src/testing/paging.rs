//! Spotify's paging object and the `limit` and `offset` rules of each list endpoint.

use serde_json::{Value, json};
use url::Url;

use super::query::{ApiError, QueryParams};

/// The allowed `limit` and `offset` of one endpoint, from Spotify's OpenAPI description.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PageRules {
    default_limit: usize,
    max_limit: usize,
    max_offset: Option<usize>,
}

/// `GET /v1/search`: limit 1 to 10, default 5, offset at most 1000.
pub(crate) const SEARCH_PAGES: PageRules = PageRules {
    default_limit: 5,
    max_limit: 10,
    max_offset: Some(1000),
};

/// `GET /v1/artists/{id}/albums`: limit 1 to 10, default 5.
///
/// NOTE: the OpenAPI schema gives a minimum of 0 but its description gives 1; the fake follows the
/// description and rejects 0.
pub(crate) const ARTIST_ALBUM_PAGES: PageRules = PageRules {
    default_limit: 5,
    max_limit: 10,
    max_offset: None,
};

/// `GET /v1/albums/{id}/tracks`: limit 1 to 50, default 20.
pub(crate) const ALBUM_TRACK_PAGES: PageRules = PageRules {
    default_limit: 20,
    max_limit: 50,
    max_offset: None,
};

/// The slice of a list that one request selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Page {
    pub(crate) limit: usize,
    pub(crate) offset: usize,
}

impl PageRules {
    /// Reads `limit` and `offset`, rejecting values outside the endpoint's range with 400.
    pub(crate) fn read(&self, query: &QueryParams) -> Result<Page, ApiError> {
        let limit = match query.get("limit") {
            None => self.default_limit,
            Some(text) => parse_bounded(text, 1, self.max_limit)
                .ok_or_else(|| ApiError::bad_request("Invalid limit"))?,
        };

        let max_offset = self.max_offset.unwrap_or(u32::MAX as usize);
        let offset = match query.get("offset") {
            None => 0,
            Some(text) => parse_bounded(text, 0, max_offset)
                .ok_or_else(|| ApiError::bad_request("Invalid offset"))?,
        };

        Ok(Page { limit, offset })
    }
}

fn parse_bounded(text: &str, min: usize, max: usize) -> Option<usize> {
    let value = text.trim().parse::<usize>().ok()?;
    (min..=max).contains(&value).then_some(value)
}

/// A list endpoint's absolute URL and the query parameters that every page link repeats.
pub(crate) struct ListLink<'a> {
    pub(crate) endpoint: String,
    pub(crate) params: Vec<(&'a str, &'a str)>,
}

impl ListLink<'_> {
    fn with_page(&self, offset: usize, limit: usize) -> String {
        let mut url = Url::parse(&self.endpoint).expect("the fake builds valid endpoint URLs");
        url.query_pairs_mut()
            .append_pair("offset", &offset.to_string())
            .append_pair("limit", &limit.to_string())
            .extend_pairs(&self.params);
        url.into()
    }
}

/// Builds a paging object for `page` of `all`, with absolute `href`, `next` and `previous`
/// links (`null` at either end).
pub(crate) fn paging_object<T>(
    link: &ListLink<'_>,
    page: Page,
    all: &[T],
    to_json: impl Fn(&T) -> Value,
) -> Value {
    let Page { limit, offset } = page;
    let total = all.len();
    let items: Vec<Value> = all.iter().skip(offset).take(limit).map(to_json).collect();

    let next = (offset + limit < total).then(|| link.with_page(offset + limit, limit));
    let previous = (offset > 0).then(|| link.with_page(offset.saturating_sub(limit), limit));

    json!({
        "href": link.with_page(offset, limit),
        "items": items,
        "limit": limit,
        "next": next,
        "offset": offset,
        "previous": previous,
        "total": total,
    })
}
