//! Query strings and the Web API's error responses.

use axum::response::{IntoResponse, Response};

use super::faults::CannedResponse;

/// The parameters of a query string, in order. Lookups return the first occurrence.
#[derive(Debug, Default)]
pub(crate) struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    pub(crate) fn parse(raw: Option<&str>) -> Self {
        let pairs = url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect();
        QueryParams(pairs)
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// An error response of the Web API: a status and `{"error": {"status", "message"}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    status: u16,
    message: String,
}

impl ApiError {
    pub(crate) fn new(status: u16, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, message)
    }

    pub(crate) fn not_found() -> Self {
        Self::new(404, "non existing id")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        CannedResponse::spotify_error(self.status, &self.message).into_response()
    }
}
