//! The client-credentials token request (RFC 6749 section 4.4), with its retries and time budget.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use tokio::time::Instant;
use tracing::Instrument as _;
use url::Url;

use crate::Error;
use crate::clock::WallClock;
use crate::credentials::Credentials;
use crate::retry_policy::{TokenRetryPolicy, parse_retry_after};
use crate::stats::StatsCounters;
use crate::token::Grant;
use crate::token_response::{RawTokenResponse, parse_token_response};

/// The form body of every token request.
const GRANT_BODY: &str = "grant_type=client_credentials";

/// The most of a token response's body that is read. Real responses are a few hundred bytes.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// Everything needed to fetch a token, shared by the cache and its fetch tasks.
#[derive(Debug)]
pub(crate) struct TokenRequester {
    pub(crate) http: reqwest::Client,
    pub(crate) token_url: Url,
    /// The token URL as messages and logs show it, with any query hidden.
    pub(crate) redacted_url: String,
    pub(crate) credentials: Credentials,
    pub(crate) timeout: Duration,
    pub(crate) retry: TokenRetryPolicy,
    pub(crate) wall_clock: WallClock,
    pub(crate) stats: Arc<StatsCounters>,
}

impl TokenRequester {
    /// Fetches one token, retrying transient failures, within the token timeout.
    pub(crate) async fn fetch(&self) -> Result<Grant, Error> {
        let span = tracing::debug_span!("token_fetch", token_url = %self.redacted_url);
        let started = Instant::now();
        let attempt_in_flight = AtomicBool::new(false);

        let outcome = tokio::time::timeout(
            self.timeout,
            self.fetch_with_retries(started, &attempt_in_flight),
        )
        .instrument(span.clone())
        .await;

        let result = outcome.unwrap_or_else(|_| {
            // The request cut off by the timeout counts as a failed token request.
            if attempt_in_flight.load(Ordering::Relaxed) {
                StatsCounters::increment(&self.stats.token_failures);
            }
            Err(Error::Timeout {
                token_url: self.redacted_url.clone(),
                after: self.timeout,
            })
        });

        let _entered = span.enter();
        let elapsed_ms = started.elapsed().as_millis() as u64;
        match &result {
            Ok(grant) => tracing::debug!(
                expires_in = grant.lifetime.as_secs(),
                elapsed_ms,
                "token received"
            ),
            Err(error) => tracing::warn!(
                status = status_of(error),
                error_code = error_code_of(error),
                elapsed_ms,
                %error,
                "token fetch failed"
            ),
        }
        result
    }

    async fn fetch_with_retries(
        &self,
        started: Instant,
        attempt_in_flight: &AtomicBool,
    ) -> Result<Grant, Error> {
        self.credentials.validate()?;

        let mut attempt = 1;
        loop {
            attempt_in_flight.store(true, Ordering::Relaxed);
            let result = self.request_once().await;
            attempt_in_flight.store(false, Ordering::Relaxed);

            let error = match result {
                Ok(grant) => return Ok(grant),
                Err(error) => error,
            };
            StatsCounters::increment(&self.stats.token_failures);

            let Some(delay) = self.retry_delay(&error, attempt, started) else {
                return Err(error);
            };
            tracing::debug!(
                attempt,
                status = status_of(&error),
                delay_ms = delay.as_millis() as u64,
                %error,
                "token request failed; retrying"
            );
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    /// Returns how long to wait before the next attempt, or `None` when the fetch must end: the
    /// error is not transient, the attempts are used up, or the wait would not fit in the budget.
    fn retry_delay(&self, error: &Error, attempt: u32, started: Instant) -> Option<Duration> {
        if !is_retryable(error) || attempt >= self.retry.attempts() {
            return None;
        }

        let delay = error
            .server_wait()
            .unwrap_or_else(|| self.retry.backoff(attempt));

        let remaining = self.timeout.saturating_sub(started.elapsed());
        (delay < remaining).then_some(delay)
    }

    /// Sends one token request and reads its response.
    async fn request_once(&self) -> Result<Grant, Error> {
        let sent_at = Instant::now();
        let wall_sent_at = self.wall_clock.now();
        StatsCounters::increment(&self.stats.token_requests);

        let response = self
            .http
            .post(self.token_url.clone())
            .header(AUTHORIZATION, self.credentials.basic_header())
            .header(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            )
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .body(GRANT_BODY)
            .send()
            .await
            .map_err(|source| self.transport_error(source))?;

        let status = response.status();
        let retry_after = parse_retry_after(response.headers(), wall_sent_at);
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);

        let (mut body, truncated) = read_body(response)
            .await
            .map_err(|source| self.transport_error(source))?;

        if status.is_success() && truncated {
            return Err(Error::MalformedTokenResponse {
                token_url: self.redacted_url.clone(),
                field: "body",
                reason: format!("is larger than {MAX_BODY_BYTES} bytes"),
            });
        }

        // An error page could echo the request; keep the secret out of messages and logs.
        if !status.is_success() {
            body = self
                .credentials
                .redact(&String::from_utf8_lossy(&body))
                .into_bytes();
        }

        let token_url = self.redacted_url.as_str();
        let parsed = parse_token_response(&RawTokenResponse {
            token_url,
            status,
            content_type: content_type.as_deref(),
            body: &body,
            retry_after,
        })?;

        Ok(Grant {
            value: parsed.value,
            lifetime: parsed.lifetime,
            sent_at,
            wall_sent_at,
        })
    }

    fn transport_error(&self, source: reqwest::Error) -> Error {
        Error::Transport {
            token_url: self.redacted_url.clone(),
            source: Arc::new(source.without_url()),
        }
    }
}

/// Reads at most `MAX_BODY_BYTES` of the body. The flag is `true` when more was left unread.
async fn read_body(mut response: reqwest::Response) -> Result<(Vec<u8>, bool), reqwest::Error> {
    let mut body = Vec::new();

    while let Some(chunk) = response.chunk().await? {
        let room = MAX_BODY_BYTES - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok((body, true));
        }
        body.extend_from_slice(&chunk);
    }

    Ok((body, false))
}

/// Returns `true` for failures that another attempt may fix: transport errors other than a bad
/// request, and 429 and 5xx responses.
fn is_retryable(error: &Error) -> bool {
    match error {
        Error::Transport { source, .. } => !source.is_builder(),
        Error::TokenEndpoint { .. } => error.is_transient(),
        _ => false,
    }
}

fn status_of(error: &Error) -> Option<u16> {
    match error {
        Error::TokenEndpoint { status, .. } | Error::InvalidClient { status, .. } => {
            Some(status.as_u16())
        }
        _ => None,
    }
}

fn error_code_of(error: &Error) -> Option<&str> {
    match error {
        Error::TokenEndpoint { error, .. } => error.as_deref(),
        Error::InvalidClient { .. } => Some("invalid_client"),
        _ => None,
    }
}
