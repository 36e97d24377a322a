//! `/api/token`: the client-credentials grant (RFC 6749 section 4.4) with its error responses
//! (section 5.2), plus injected faults and delays.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use http::header::{ALLOW, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, PRAGMA};
use http::{HeaderMap, HeaderValue, Method};
use serde_json::json;
use url::form_urlencoded;

use super::faults::CannedResponse;
use super::state::FakeState;
use super::stats::FakeCounters;

/// Responds to a token request with an injected fault if one is queued, and otherwise with a
/// token or an RFC 6749 error. The outcome is counted before the delay, so it is counted even if
/// the client leaves.
pub(crate) async fn token_endpoint(
    State(state): State<Arc<FakeState>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    FakeCounters::increment(&state.counters.token_requests);
    let fault = state.token_faults.take();
    let delay = state.token_delay.get() + fault.delay_before_response();

    let response = match fault.into_response() {
        Some(canned) => {
            FakeCounters::increment(&state.counters.token_faults);
            canned.into_response()
        }
        None => grant_or_reject(&state, &method, &headers, &body),
    };

    if !delay.is_zero() {
        FakeCounters::increment(&state.counters.token_delays);
        tokio::time::sleep(delay).await;
    }
    response
}

/// Checks the request as Spotify's token endpoint does and issues a token or rejects it.
fn grant_or_reject(
    state: &FakeState,
    method: &Method,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    match check_request(state, method, headers, body) {
        Ok(()) => {
            FakeCounters::increment(&state.counters.tokens_issued);
            issue_token(state)
        }
        Err(rejection) => {
            FakeCounters::increment(&state.counters.token_rejections);
            rejection.into_response()
        }
    }
}

/// An RFC 6749 section 5.2 error response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rejection {
    status: u16,
    error: &'static str,
    description: &'static str,
}

impl Rejection {
    const fn new(status: u16, error: &'static str, description: &'static str) -> Self {
        Rejection {
            status,
            error,
            description,
        }
    }

    fn into_response(self) -> Response {
        let mut response =
            CannedResponse::oauth_error(self.status, self.error, self.description).into_response();
        if self.status == 405 {
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("POST"));
        }
        response
    }
}

const NOT_POST: Rejection = Rejection::new(
    405,
    "invalid_request",
    "The token endpoint accepts only POST",
);
const NOT_FORM: Rejection = Rejection::new(
    400,
    "invalid_request",
    "Content-Type must be application/x-www-form-urlencoded",
);
const UNKNOWN_CLIENT: Rejection = Rejection::new(400, "invalid_client", "Invalid client");
const WRONG_SECRET: Rejection = Rejection::new(400, "invalid_client", "Invalid client secret");
const NO_GRANT_TYPE: Rejection =
    Rejection::new(400, "invalid_request", "grant_type parameter is missing");
const REPEATED_GRANT_TYPE: Rejection =
    Rejection::new(400, "invalid_request", "grant_type parameter is repeated");
const OTHER_GRANT_TYPE: Rejection = Rejection::new(
    400,
    "unsupported_grant_type",
    "grant_type must be client_credentials",
);

fn check_request(
    state: &FakeState,
    method: &Method,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), Rejection> {
    if method != Method::POST {
        return Err(NOT_POST);
    }
    if !is_form_content_type(headers) {
        return Err(NOT_FORM);
    }

    check_client(state, headers)?;
    check_grant_type(body)
}

fn is_form_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };

    let essence = value.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/x-www-form-urlencoded")
}

/// Checks HTTP Basic client authentication: `base64(urlencode(id) ":" urlencode(secret))`, as
/// RFC 6749 section 2.3.1 defines it.
fn check_client(state: &FakeState, headers: &HeaderMap) -> Result<(), Rejection> {
    let Some((id, secret)) = basic_credentials(headers) else {
        return Err(UNKNOWN_CLIENT);
    };

    if id != state.client_id {
        return Err(UNKNOWN_CLIENT);
    }
    if secret != state.client_secret {
        return Err(WRONG_SECRET);
    }
    Ok(())
}

/// Decodes the client ID and secret from an `Authorization: Basic ...` header.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }

    let decoded = BASE64.decode(encoded.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((form_decode(id), form_decode(secret)))
}

/// Decodes one `application/x-www-form-urlencoded` value. A raw `&` is kept as it is rather
/// than read as a separator.
fn form_decode(text: &str) -> String {
    let escaped = text.replace('&', "%26");
    form_urlencoded::parse(format!("v={escaped}").as_bytes())
        .next()
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}

fn check_grant_type(body: &[u8]) -> Result<(), Rejection> {
    let grant_types: Vec<String> = form_urlencoded::parse(body)
        .filter(|(name, _)| name == "grant_type")
        .map(|(_, value)| value.into_owned())
        .collect();

    match grant_types.as_slice() {
        [] => Err(NO_GRANT_TYPE),
        [grant_type] if grant_type == "client_credentials" => Ok(()),
        [_] => Err(OTHER_GRANT_TYPE),
        _ => Err(REPEATED_GRANT_TYPE),
    }
}

/// Issues a token. RFC 6749 section 5.1 requires `Cache-Control: no-store` and
/// `Pragma: no-cache` on the response.
fn issue_token(state: &FakeState) -> Response {
    let token = state.tokens.issue(state.token_lifetime);
    let body = json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": state.token_lifetime.as_secs(),
    });

    let mut response = CannedResponse::json(200, &body).into_response();
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
