//! [`RateLimitMiddleware`]: honour `429 Too Many Requests` for every request to the same origin.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use http::Extensions;
use reqwest::{Request, Response, StatusCode, Url};
use reqwest_middleware::{Middleware, Next};
use tokio::time::Instant;

use crate::clock::nanos_after;
use crate::retry_policy::{later_by, parse_retry_after};

/// The maximum pause a request waits out by default before the 429 goes back to the caller.
pub const DEFAULT_MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);
/// How many times one request is resent after 429 responses by default.
pub const DEFAULT_MAX_RATE_LIMIT_RETRIES: u32 = 3;

/// A [`reqwest_middleware::Middleware`] that honours Spotify's rate limiting: on a
/// `429 Too Many Requests` with a `Retry-After` header, it holds back every request to that
/// origin until the time has passed, then resends the request that got the 429.
///
/// - A `Retry-After` longer than [`max_wait`](Self::max_wait) is not waited out: the 429 goes
///   back to the caller at once, with its header intact. Requests that find their origin paused
///   for longer than that are sent without waiting, and get the server's response.
/// - A request is resent at most [`max_retries`](Self::max_retries) times. It is resent only if
///   its body can be cloned, which a streaming body cannot, and otherwise the 429 is returned.
/// - A 429 without a readable `Retry-After` is returned as it is, for an outer retry middleware.
///
/// Clones share the pauses and the counters. Put it inside `reqwest_retry` and outside
/// [`SpotifyAuthMiddleware`](crate::SpotifyAuthMiddleware), so a resent request gets a valid
/// token and the retry middleware sees only the 429s this one gave up on:
///
/// ```
/// use reqwest_middleware::ClientBuilder;
/// use reqwest_spotify_auth::{RateLimitMiddleware, SpotifyAuthMiddleware};
///
/// let client = ClientBuilder::new(reqwest::Client::new())
///     .with(RateLimitMiddleware::new())
///     .with(SpotifyAuthMiddleware::new("client-id", "client-secret"))
///     .build();
/// # let _ = client;
/// ```
#[derive(Clone)]
pub struct RateLimitMiddleware {
    max_wait: Duration,
    max_retries: u32,
    shared: Arc<Shared>,
}

/// A snapshot of a [`RateLimitMiddleware`]'s counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimitStats {
    /// 429 responses seen.
    pub responses_429: u64,
    /// Requests resent after a 429.
    pub retries: u64,
    /// Requests held back because their origin was paused.
    pub delayed_requests: u64,
    /// The time requests spent held back, summed over requests.
    pub total_wait: Duration,
}

struct Shared {
    /// Pause ends, by origin. Only read when `latest_pause_end` is in the future.
    pauses: Mutex<HashMap<String, Instant>>,
    /// The latest pause end of any origin, in nanoseconds after `epoch`; lets a request skip the
    /// map when no origin is paused.
    latest_pause_end: AtomicU64,
    epoch: Instant,
    responses_429: AtomicU64,
    retries: AtomicU64,
    delayed_requests: AtomicU64,
    wait_nanos: AtomicU64,
}

impl Default for RateLimitMiddleware {
    fn default() -> Self {
        Self::new()
    }
}

impl RateLimitMiddleware {
    /// Creates the middleware with a 60-second maximum wait and three resends per request.
    pub fn new() -> Self {
        RateLimitMiddleware {
            max_wait: DEFAULT_MAX_RATE_LIMIT_WAIT,
            max_retries: DEFAULT_MAX_RATE_LIMIT_RETRIES,
            shared: Arc::new(Shared {
                pauses: Mutex::default(),
                latest_pause_end: AtomicU64::new(0),
                epoch: Instant::now(),
                responses_429: AtomicU64::new(0),
                retries: AtomicU64::new(0),
                delayed_requests: AtomicU64::new(0),
                wait_nanos: AtomicU64::new(0),
            }),
        }
    }

    /// Sets the longest pause a request waits out. Default: 60 s.
    #[must_use]
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }

    /// Sets how many times one request may be resent after 429 responses. Default: 3; zero
    /// still pauses the origin but never resends.
    #[must_use]
    pub fn max_retries(mut self, max_retries: u32) -> Self {
        self.max_retries = max_retries;
        self
    }

    /// Returns a snapshot of the counters shared by all clones.
    pub fn stats(&self) -> RateLimitStats {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let shared = &self.shared;

        RateLimitStats {
            responses_429: read(&shared.responses_429),
            retries: read(&shared.retries),
            delayed_requests: read(&shared.delayed_requests),
            total_wait: Duration::from_nanos(read(&shared.wait_nanos)),
        }
    }

    /// Waits out the pause of the request's origin, unless it is longer than `max_wait`.
    async fn wait_for_origin(&self, url: &Url) {
        let now = Instant::now();
        if self.shared.nanos_since_epoch(now)
            >= self.shared.latest_pause_end.load(Ordering::Acquire)
        {
            return;
        }

        let Some(until) = self.shared.pause_end(&origin_key(url)) else {
            return;
        };
        let wait = until.saturating_duration_since(now);
        if wait.is_zero() || wait > self.max_wait {
            return;
        }

        increment(&self.shared.delayed_requests);
        tracing::debug!(url = %url, wait_ms = wait.as_millis() as u64, "waiting out a rate-limit pause");
        tokio::time::sleep_until(until).await;
        let waited = u64::try_from(wait.as_nanos()).unwrap_or(u64::MAX);
        self.shared.wait_nanos.fetch_add(waited, Ordering::Relaxed);
    }

    /// Pauses the origin of `url` for `retry_after`, and logs a warning when a pause starts.
    fn start_pause(&self, url: &Url, retry_after: Duration) {
        let origin = origin_key(url);
        let until = later_by(Instant::now(), retry_after);

        if self.shared.pause(origin.clone(), until) {
            tracing::warn!(
                origin = %origin,
                pause_ms = retry_after.as_millis() as u64,
                "rate limited (429); pausing requests to this origin"
            );
        }
    }
}

impl Shared {
    fn nanos_since_epoch(&self, instant: Instant) -> u64 {
        nanos_after(self.epoch, instant)
    }

    fn pause_end(&self, origin: &str) -> Option<Instant> {
        let pauses = self.pauses.lock().unwrap_or_else(PoisonError::into_inner);
        pauses.get(origin).copied()
    }

    /// Pauses `origin` until `until`, unless it is already paused longer. Returns `true` when
    /// this starts a pause rather than extending one.
    fn pause(&self, origin: String, until: Instant) -> bool {
        let mut pauses = self.pauses.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        let previous = pauses.get(&origin).copied().filter(|end| *end > now);
        if previous.is_some_and(|end| end >= until) {
            return false;
        }

        pauses.insert(origin, until);
        pauses.retain(|_, end| *end > now);
        self.latest_pause_end
            .fetch_max(self.nanos_since_epoch(until), Ordering::AcqRel);
        previous.is_none()
    }
}

#[async_trait::async_trait]
impl Middleware for RateLimitMiddleware {
    async fn handle(
        &self,
        mut request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let mut retries = 0;

        loop {
            self.wait_for_origin(request.url()).await;

            let copy = request.try_clone();
            let response = next.clone().run(request, extensions).await?;
            if response.status() != StatusCode::TOO_MANY_REQUESTS {
                return Ok(response);
            }
            increment(&self.shared.responses_429);

            let Some(retry_after) =
                parse_retry_after(response.headers(), std::time::SystemTime::now())
            else {
                return Ok(response);
            };
            self.start_pause(response.url(), retry_after);

            let resend =
                copy.filter(|_| retry_after <= self.max_wait && retries < self.max_retries);
            let Some(copy) = resend else {
                return Ok(response);
            };
            retries += 1;
            increment(&self.shared.retries);
            request = copy;
        }
    }
}

impl fmt::Debug for RateLimitMiddleware {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimitMiddleware")
            .field("max_wait", &self.max_wait)
            .field("max_retries", &self.max_retries)
            .field("stats", &self.stats())
            .finish()
    }
}

fn origin_key(url: &Url) -> String {
    url.origin().ascii_serialization()
}

fn increment(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}
