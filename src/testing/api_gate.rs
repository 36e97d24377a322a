//! The gate in front of every `/v1` route: counting, the bearer token check, injected faults and
//! the simulated latency.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue};

use super::query::ApiError;
use super::state::FakeState;
use super::stats::FakeCounters;
use super::token_store::TokenStatus;

/// Passes requests outside `/v1` straight on. For API requests it checks the token, then applies
/// the next queued fault, then waits for the configured latency before the response goes out.
///
/// The token is checked on arrival and the latency comes after, so a token that was valid when
/// the request arrived is not rejected because of the fake's own delay.
pub(crate) async fn api_gate(
    State(state): State<Arc<FakeState>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if path != "/v1" && !path.starts_with("/v1/") {
        return next.run(request).await;
    }
    FakeCounters::increment(&state.counters.api_requests);

    let response = match check_token(&state, request.headers()) {
        Err(rejection) => rejection.into_response(),
        Ok(()) => respond_or_fault(&state, request, next).await,
    };

    let latency = state.api_latency.get();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    state.counters.record_api_status(response.status());
    response
}

async fn respond_or_fault(state: &FakeState, request: Request, next: Next) -> Response {
    let fault = state.api_faults.take();
    let delay = fault.delay_before_response();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }

    match fault.into_response() {
        Some(canned) => {
            FakeCounters::increment(&state.counters.api_faults);
            canned.into_response()
        }
        None => next.run(request).await,
    }
}

/// The reason an API request is rejected before it reaches its route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TokenRejection {
    Missing,
    NotBearer,
    Unknown,
    Expired,
}

/// Checks `Authorization: Bearer <token>` against the issued tokens.
fn check_token(state: &FakeState, headers: &HeaderMap) -> Result<(), TokenRejection> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        FakeCounters::increment(&state.counters.missing_token_rejections);
        return Err(TokenRejection::Missing);
    };

    let Some(token) = bearer_token(value) else {
        return Err(TokenRejection::NotBearer);
    };

    match state.tokens.check(token) {
        TokenStatus::Valid => Ok(()),
        TokenStatus::Unknown => {
            FakeCounters::increment(&state.counters.invalid_token_rejections);
            Err(TokenRejection::Unknown)
        }
        TokenStatus::Expired => {
            FakeCounters::increment(&state.counters.expired_token_rejections);
            Err(TokenRejection::Expired)
        }
    }
}

/// Returns the token of a `Bearer` header value, or `None` for another scheme.
fn bearer_token(value: &HeaderValue) -> Option<&str> {
    let text = value.to_str().ok()?.trim();
    let (scheme, token) = text.split_once(' ').unwrap_or((text, ""));
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

impl IntoResponse for TokenRejection {
    /// Builds Spotify's error response. RFC 6750 section 3 requires a `WWW-Authenticate` header on
    /// each 401.
    fn into_response(self) -> Response {
        let (message, error_code) = match self {
            TokenRejection::NotBearer => {
                return ApiError::bad_request("Only valid bearer authentication supported")
                    .into_response();
            }
            TokenRejection::Missing => ("No token provided", None),
            TokenRejection::Unknown => ("Invalid access token", Some("invalid_token")),
            TokenRejection::Expired => ("The access token expired", Some("invalid_token")),
        };

        let mut challenge = String::from("Bearer realm=\"spotify\"");
        if let Some(code) = error_code {
            challenge.push_str(&format!(
                ", error=\"{code}\", error_description=\"{message}\""
            ));
        }

        let mut response = ApiError::new(401, message).into_response();
        response.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::try_from(challenge)
                .expect("the challenge is ASCII without control characters"),
        );
        response
    }
}
