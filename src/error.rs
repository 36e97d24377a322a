//! The crate's one error type.

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;

/// Everything that can go wrong while getting a token or configuring the middleware.
///
/// Inside a [`reqwest_middleware::ClientWithMiddleware`] this error travels as
/// [`reqwest_middleware::Error::Middleware`]; reach it with [`Error::find`], which also looks
/// under the wrappers of other middleware:
///
/// ```
/// use reqwest_spotify_auth::Error;
///
/// fn explain(error: &reqwest_middleware::Error) -> String {
///     match Error::find(error).map(Error::root) {
///         Some(Error::InvalidClient { .. }) => "check the client ID and secret".to_owned(),
///         Some(other) => other.to_string(),
///         None => error.to_string(),
///     }
/// }
/// # let _ = explain;
/// ```
///
/// The value is `Clone` because one failed token fetch is reported to every request that waited on
/// it. No message contains the client secret or a token.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The token endpoint rejected the client credentials with the RFC 6749 error code
    /// `invalid_client`. Spotify returns it for a wrong client ID or secret.
    #[error(
        "the token endpoint {token_url} rejected the client credentials (invalid_client{}); \
         check the client ID and secret",
        description.as_deref().map(|text| format!(": {text}")).unwrap_or_default()
    )]
    InvalidClient {
        /// The token endpoint's URL.
        token_url: String,
        /// The HTTP status of the response, 400 or 401 in practice.
        status: StatusCode,
        /// The server's `error_description`, if it sent one.
        description: Option<String>,
    },

    /// The token endpoint returned an error other than `invalid_client`.
    #[error(
        "the token endpoint {token_url} responded with {status}{}{}{}; {}",
        error.as_deref().map(|code| format!(" with error {code}")).unwrap_or_default(),
        description.as_deref().map(|text| format!(" ({text})")).unwrap_or_default(),
        retry_after.map(|wait| format!("; it asks to retry after {} s", wait.as_secs())).unwrap_or_default(),
        next_step_for_status(*status)
    )]
    TokenEndpoint {
        /// The token endpoint's URL.
        token_url: String,
        /// The HTTP status of the response.
        status: StatusCode,
        /// The RFC 6749 section 5.2 `error` code, when the body was a JSON error object.
        error: Option<String>,
        /// The RFC 6749 section 5.2 `error_description`, when present.
        description: Option<String>,
        /// The start of the body, at most [`BODY_EXCERPT_LIMIT`] bytes, for diagnosis.
        body_excerpt: String,
        /// The server's `Retry-After`, when it sent one that could be parsed.
        retry_after: Option<Duration>,
    },

    /// The token endpoint reported success, but the response is not a usable token.
    #[error("the token endpoint {token_url} sent an unusable token response: {field} {reason}")]
    MalformedTokenResponse {
        /// The token endpoint's URL.
        token_url: String,
        /// The field at fault (`access_token`, `token_type`, `expires_in`), or `body`.
        field: &'static str,
        /// The reason the field was rejected. It never quotes the token.
        reason: String,
    },

    /// The token fetch, retries included, did not finish within the configured token timeout.
    #[error(
        "the token request to {token_url} timed out after {} ms; check that the endpoint is \
         reachable, or raise token_timeout",
        after.as_millis()
    )]
    Timeout {
        /// The token endpoint's URL.
        token_url: String,
        /// The budget that ran out (the builder's `token_timeout`).
        after: Duration,
    },

    /// The token request failed below HTTP: DNS, connection, TLS or reading the body.
    #[error(
        "the token request to {token_url} failed: {source}{}; check that the endpoint is \
         reachable from this machine",
        innermost_cause(source)
    )]
    Transport {
        /// The token endpoint's URL.
        token_url: String,
        /// The `reqwest` error, in an `Arc` because one fetch's error goes to every waiting
        /// request. Reach it through this field, as in `source.is_connect()`. In the chain of
        /// [`std::error::Error::source`] the next cause is this `Arc`, which displays as the
        /// `reqwest` error and gives its causes, so downcasting that cause needs
        /// `Arc<reqwest::Error>`.
        #[source]
        source: Arc<reqwest::Error>,
    },

    /// A setting or credential is invalid.
    #[error("configuration error in {setting}: {reason}")]
    Config {
        /// The setting, builder method or environment variable at fault.
        setting: &'static str,
        /// The reason it was rejected, and how to fix it.
        reason: String,
    },

    /// A recent token fetch failed, so this request was failed at once instead of starting another
    /// fetch. The message quotes the error of that fetch, and [`Error::root`] returns it.
    #[error(
        "no token: the last token fetch failed ({last_error}); the next attempt is allowed in {} ms",
        retry_in.as_millis()
    )]
    CoolingDown {
        /// How long until a request may start a new token fetch.
        retry_in: Duration,
        /// The error of the fetch that started the cool-down.
        last_error: Box<Error>,
    },

    /// The task fetching the token ended without a result, which happens when its Tokio runtime
    /// shuts down. The next request starts a new fetch.
    #[error("the token fetch was cancelled before it finished; retry the request")]
    FetchCancelled,
}

/// The maximum length, in bytes, of [`Error::TokenEndpoint::body_excerpt`].
pub const BODY_EXCERPT_LIMIT: usize = 512;

impl Error {
    /// Returns `true` when a later attempt may succeed without a change of configuration:
    /// transport errors, timeouts, HTTP 429 and 5xx responses. Other 4xx responses are final.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Transport { .. } | Error::Timeout { .. } | Error::FetchCancelled => true,
            Error::TokenEndpoint { status, .. } => {
                status.is_server_error() || *status == StatusCode::TOO_MANY_REQUESTS
            }
            Error::CoolingDown { last_error, .. } => last_error.is_transient(),
            _ => false,
        }
    }

    /// Finds this crate's error inside an error returned by a `ClientWithMiddleware`.
    ///
    /// It looks through [`reqwest_middleware::Error::Middleware`] and the causes below it, so it
    /// also finds the error when an outer middleware wrapped it. `reqwest_retry` 0.9 wraps every
    /// error it passes on; with this crate's `reqwest-retry` feature, its `RetryError` is looked
    /// through as well.
    ///
    /// ```
    /// use reqwest_spotify_auth::Error;
    ///
    /// fn advice(error: &reqwest_middleware::Error) -> &'static str {
    ///     match Error::find(error).map(Error::root) {
    ///         Some(Error::InvalidClient { .. }) => "check SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET",
    ///         Some(_) => "the token endpoint failed; retry later",
    ///         None => "the request itself failed",
    ///     }
    /// }
    /// # let _ = advice;
    /// ```
    pub fn find(error: &reqwest_middleware::Error) -> Option<&Error> {
        let reqwest_middleware::Error::Middleware(inner) = error else {
            return None;
        };

        inner.chain().find_map(find_in_cause)
    }

    /// Returns the error that caused a cool-down, or `self` for any other variant.
    ///
    /// Use it to match on the underlying cause whether or not the request hit a cool-down.
    pub fn root(&self) -> &Error {
        match self {
            Error::CoolingDown { last_error, .. } => last_error.root(),
            other => other,
        }
    }

    /// Returns the `Retry-After` the token endpoint sent with this error, if any.
    pub(crate) fn server_wait(&self) -> Option<Duration> {
        match self {
            Error::TokenEndpoint { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    pub(crate) fn config(setting: &'static str, reason: impl Into<String>) -> Self {
        Error::Config {
            setting,
            reason: reason.into(),
        }
    }
}

/// Suggests what to do about an error response from the token endpoint, by its status.
fn next_step_for_status(status: StatusCode) -> &'static str {
    if status.is_redirection() {
        "redirects are not followed, so set token_url to the URL the endpoint redirects to"
    } else if status == StatusCode::NOT_FOUND || status == StatusCode::METHOD_NOT_ALLOWED {
        "check that token_url is the token endpoint"
    } else if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        "the endpoint is overloaded or failing; retry later"
    } else {
        "check token_url and that the endpoint accepts the client-credentials grant"
    }
}

/// Returns the deepest cause of a `reqwest` error, such as "Connection refused", as
/// `" (cause)"`, or nothing when the error has no cause.
fn innermost_cause(error: &reqwest::Error) -> String {
    let mut cause = std::error::Error::source(error);
    let mut innermost = None;
    while let Some(current) = cause {
        innermost = Some(current);
        cause = current.source();
    }

    innermost
        .map(|cause| format!(" ({cause})"))
        .unwrap_or_default()
}

/// Returns this crate's error if `cause` is one, or wraps one in a way that [`Error::find`]
/// can look through.
fn find_in_cause<'a>(cause: &'a (dyn std::error::Error + 'static)) -> Option<&'a Error> {
    if let Some(ours) = cause.downcast_ref::<Error>() {
        return Some(ours);
    }

    if let Some(nested) = cause.downcast_ref::<reqwest_middleware::Error>() {
        return Error::find(nested);
    }

    #[cfg(feature = "reqwest-retry")]
    if let Some(retry) = cause.downcast_ref::<reqwest_retry::RetryError>() {
        return match retry {
            reqwest_retry::RetryError::Error(nested)
            | reqwest_retry::RetryError::WithRetries { err: nested, .. } => Error::find(nested),
        };
    }

    None
}
