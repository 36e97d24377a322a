//! Injected faults: canned error responses and delays, queued per endpoint.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use axum::response::{IntoResponse, Response};
use http::header::{CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderValue, StatusCode};
use serde_json::json;

/// A response the fake sends in place of its normal one: any status, content type and body, and
/// an optional `Retry-After`.
///
/// ```
/// use reqwest_spotify_auth::testing::CannedResponse;
///
/// let outage = CannedResponse::html(502, "<html><body>Bad gateway</body></html>");
/// let slow_down = CannedResponse::spotify_error(429, "API rate limit exceeded").retry_after(2);
/// # let _ = (outage, slow_down);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CannedResponse {
    status: StatusCode,
    content_type: String,
    body: String,
    retry_after: Option<u64>,
}

impl CannedResponse {
    /// Creates a response with the given status, `Content-Type` and body. A content type that is
    /// not a valid header value is left out.
    ///
    /// # Panics
    ///
    /// If `status` is not a valid HTTP status code (100 to 999).
    pub fn new(status: u16, content_type: impl Into<String>, body: impl Into<String>) -> Self {
        let status = StatusCode::from_u16(status)
            .unwrap_or_else(|_| panic!("{status} is not a valid HTTP status code; use 100 to 999"));

        CannedResponse {
            status,
            content_type: content_type.into(),
            body: body.into(),
            retry_after: None,
        }
    }

    /// Creates a response with a JSON body.
    ///
    /// # Panics
    ///
    /// As [`new`](Self::new).
    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        Self::new(status, "application/json", body.to_string())
    }

    /// Creates a response with an HTML body, as a proxy or load balancer sends.
    ///
    /// # Panics
    ///
    /// As [`new`](Self::new).
    pub fn html(status: u16, body: impl Into<String>) -> Self {
        Self::new(status, "text/html; charset=utf-8", body)
    }

    /// Creates a response with the Web API's error body, `{"error": {"status", "message"}}`.
    ///
    /// # Panics
    ///
    /// As [`new`](Self::new).
    pub fn spotify_error(status: u16, message: &str) -> Self {
        Self::json(
            status,
            &json!({ "error": { "status": status, "message": message } }),
        )
    }

    /// Creates a response with an RFC 6749 section 5.2 error body,
    /// `{"error", "error_description"}`, as the token endpoint sends.
    ///
    /// # Panics
    ///
    /// As [`new`](Self::new).
    pub fn oauth_error(status: u16, error: &str, description: &str) -> Self {
        Self::json(
            status,
            &json!({ "error": error, "error_description": description }),
        )
    }

    /// Adds `Retry-After: <seconds>` to the response.
    #[must_use]
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// Returns the status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for CannedResponse {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.body).into_response();
        let headers = response.headers_mut();

        match HeaderValue::try_from(self.content_type) {
            Ok(value) => {
                headers.insert(CONTENT_TYPE, value);
            }
            Err(_) => {
                headers.remove(CONTENT_TYPE);
            }
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
        }

        response
    }
}

/// One entry in a fault queue: a delay before the response, and a response that replaces the
/// normal one, each optional.
///
/// Each request to the endpoint takes the next entry of its queue. Once the queue is empty,
/// requests get normal responses. [`Fault::pass`] entries let a queue mix faults with normal
/// responses in a fixed pattern.
///
/// ```
/// use std::time::Duration;
/// use reqwest_spotify_auth::testing::{CannedResponse, Fault};
///
/// let script = [
///     Fault::pass(),
///     Fault::respond(CannedResponse::html(503, "<h1>Down</h1>")),
///     Fault::delay(Duration::from_secs(30)),
///     Fault::respond(CannedResponse::spotify_error(429, "API rate limit exceeded").retry_after(1))
///         .delayed(Duration::from_millis(200)),
/// ];
/// # let _ = script;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fault {
    delay: Duration,
    response: Option<CannedResponse>,
}

impl Fault {
    /// Returns an entry that changes nothing: the request gets the normal response.
    pub fn pass() -> Self {
        Fault::default()
    }

    /// Returns an entry that responds with `response` instead of the normal response.
    pub fn respond(response: CannedResponse) -> Self {
        Fault {
            delay: Duration::ZERO,
            response: Some(response),
        }
    }

    /// Returns an entry that responds normally after `delay`. A delay longer than the client's
    /// timeout makes the request time out.
    pub fn delay(delay: Duration) -> Self {
        Fault {
            delay,
            response: None,
        }
    }

    /// Adds `delay` before this entry's response.
    #[must_use]
    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay += delay;
        self
    }

    pub(crate) fn delay_before_response(&self) -> Duration {
        self.delay
    }

    pub(crate) fn into_response(self) -> Option<CannedResponse> {
        self.response
    }
}

/// A first-in, first-out queue of faults for one endpoint, shared by all request handlers.
#[derive(Debug, Default)]
pub(crate) struct FaultQueue {
    entries: Mutex<VecDeque<Fault>>,
}

impl FaultQueue {
    pub(crate) fn push(&self, faults: impl IntoIterator<Item = Fault>) {
        self.lock().extend(faults);
    }

    /// Takes the next entry, or a pass when the queue is empty.
    pub(crate) fn take(&self) -> Fault {
        self.lock().pop_front().unwrap_or_default()
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    pub(crate) fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Fault>> {
        // A panic elsewhere cannot leave a queue half-changed, so a poisoned lock is still usable.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
