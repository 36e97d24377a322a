//! The retry policy of token requests, and the parsing of `Retry-After`.

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};

use crate::Error;

/// The default number of token requests a fetch may send, the first included.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 4;
/// The default delay before the first retry, before jitter.
pub const DEFAULT_INITIAL_BACKOFF: Duration = Duration::from_millis(200);
/// The default cap on the delay between two attempts, before jitter.
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(2);

/// The policy by which one token fetch retries a transient failure: a connection error, a 5xx
/// response or a 429.
///
/// Other responses, such as 400 `invalid_client` or any other 4xx, are never retried. The delay doubles from
/// `initial_backoff` up to `max_backoff`, and each delay is drawn at random from its upper half
/// (jitter), so that many clients do not retry in step. A `Retry-After` from the server replaces
/// the computed delay. Every attempt and delay fits in the builder's `token_timeout`: when the
/// next delay would not fit, the fetch ends with the last error.
///
/// ```
/// use std::time::Duration;
/// use reqwest_spotify_auth::TokenRetryPolicy;
///
/// let policy = TokenRetryPolicy::default()
///     .max_attempts(6)
///     .initial_backoff(Duration::from_millis(100))
///     .max_backoff(Duration::from_secs(1));
/// # let _ = policy;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRetryPolicy {
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
}

impl Default for TokenRetryPolicy {
    /// Four attempts, with delays starting at 200 ms and capped at 2 s.
    fn default() -> Self {
        TokenRetryPolicy {
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            initial_backoff: DEFAULT_INITIAL_BACKOFF,
            max_backoff: DEFAULT_MAX_BACKOFF,
        }
    }
}

impl TokenRetryPolicy {
    /// Returns a policy that sends one request per fetch and never retries.
    pub fn never() -> Self {
        TokenRetryPolicy::default().max_attempts(1)
    }

    /// Sets how many requests a fetch may send, the first included. Default: 4. Must be at
    /// least 1.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// Sets the delay before the first retry, before jitter. Default: 200 ms.
    pub fn initial_backoff(mut self, delay: Duration) -> Self {
        self.initial_backoff = delay;
        self
    }

    /// Sets the cap on the delay between attempts, before jitter. Default: 2 s. Must not be less
    /// than the initial backoff.
    pub fn max_backoff(mut self, delay: Duration) -> Self {
        self.max_backoff = delay;
        self
    }

    pub(crate) fn attempts(&self) -> u32 {
        self.max_attempts
    }

    pub(crate) fn validate(&self) -> Result<(), Error> {
        if self.max_attempts == 0 {
            return Err(Error::config(
                "token_retry",
                "max_attempts is 0; it must be at least 1 (1 means no retries)",
            ));
        }

        if self.initial_backoff > self.max_backoff {
            return Err(Error::config(
                "token_retry",
                format!(
                    "initial_backoff ({:?}) is greater than max_backoff ({:?})",
                    self.initial_backoff, self.max_backoff
                ),
            ));
        }

        Ok(())
    }

    /// Returns the delay before retry number `retry` (1 for the first), with jitter applied.
    pub(crate) fn backoff(&self, retry: u32) -> Duration {
        let doublings = retry.saturating_sub(1).min(31);
        let full = self
            .initial_backoff
            .saturating_mul(1 << doublings)
            .min(self.max_backoff);

        let half = full / 2;
        half + full.saturating_sub(half).mul_f64(fastrand::f64())
    }
}

/// The maximum wait taken from a server; longer values are cut to it so deadlines cannot
/// overflow.
const MAX_SERVER_WAIT: Duration = Duration::from_secs(365 * 24 * 3600);

/// Returns `instant + wait`, with `wait` cut to a year so the sum cannot overflow.
pub(crate) fn later_by(instant: tokio::time::Instant, wait: Duration) -> tokio::time::Instant {
    instant + wait.min(MAX_SERVER_WAIT)
}

/// Reads a `Retry-After` header: a number of seconds or an HTTP date (RFC 9110 section 10.2.3).
///
/// A date in the past gives zero. An unreadable value gives `None`.
pub(crate) fn parse_retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();

    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }

    let date = httpdate::parse_http_date(text).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers_with(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn backoff_doubles_within_jitter_and_cap() {
        let policy = TokenRetryPolicy::default()
            .initial_backoff(Duration::from_millis(100))
            .max_backoff(Duration::from_millis(350));

        for _ in 0..100 {
            let first = policy.backoff(1);
            let second = policy.backoff(2);
            let capped = policy.backoff(10);

            assert!(first >= Duration::from_millis(50), "{first:?}");
            assert!(first <= Duration::from_millis(100), "{first:?}");
            assert!(second >= Duration::from_millis(100), "{second:?}");
            assert!(second <= Duration::from_millis(200), "{second:?}");
            assert!(capped >= Duration::from_millis(175), "{capped:?}");
            assert!(capped <= Duration::from_millis(350), "{capped:?}");
        }
    }

    #[test]
    fn validate_rejects_zero_attempts() {
        let error = TokenRetryPolicy::default()
            .max_attempts(0)
            .validate()
            .unwrap_err();

        assert!(matches!(
            error,
            Error::Config {
                setting: "token_retry",
                ..
            }
        ));
    }

    #[test]
    fn validate_rejects_inverted_backoff() {
        let policy = TokenRetryPolicy::default()
            .initial_backoff(Duration::from_secs(5))
            .max_backoff(Duration::from_secs(1));

        assert!(policy.validate().is_err());
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2026 07:28:00 GMT").unwrap();

        assert_eq!(
            parse_retry_after(&headers_with("120"), now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after(&headers_with(" 7 "), now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            parse_retry_after(&headers_with("Wed, 21 Oct 2026 07:28:30 GMT"), now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after(&headers_with("Wed, 21 Oct 2026 07:00:00 GMT"), now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after(&headers_with("soon"), now), None);
        assert_eq!(parse_retry_after(&HeaderMap::new(), now), None);
    }
}
