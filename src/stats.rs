//! Counters that show what the middleware has done.

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of the middleware's counters, from
/// [`SpotifyAuthMiddleware::stats`](crate::SpotifyAuthMiddleware::stats).
///
/// Every clone of a middleware shares one set of counters. They only grow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthStats {
    /// HTTP requests sent to the token endpoint, retries included.
    pub token_requests: u64,
    /// Token requests that produced no token: error responses, unusable responses, transport errors
    /// and requests cut off by the token timeout.
    pub token_failures: u64,
    /// API requests sent a second time, with a new token, after a 401.
    pub unauthorized_retries: u64,
    /// Token fetches started ahead of expiry, in the background.
    pub background_refreshes: u64,
    /// Background fetches that failed; requests went on with the old token.
    pub background_refresh_failures: u64,
    /// Requests failed at once because a recent fetch failed and its cool-down had not passed.
    pub cooldown_rejections: u64,
}

/// The live counters behind [`AuthStats`].
#[derive(Debug, Default)]
pub(crate) struct StatsCounters {
    pub(crate) token_requests: AtomicU64,
    pub(crate) token_failures: AtomicU64,
    pub(crate) unauthorized_retries: AtomicU64,
    pub(crate) background_refreshes: AtomicU64,
    pub(crate) background_refresh_failures: AtomicU64,
    pub(crate) cooldown_rejections: AtomicU64,
}

impl StatsCounters {
    pub(crate) fn increment(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> AuthStats {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);

        AuthStats {
            token_requests: read(&self.token_requests),
            token_failures: read(&self.token_failures),
            unauthorized_retries: read(&self.unauthorized_retries),
            background_refreshes: read(&self.background_refreshes),
            background_refresh_failures: read(&self.background_refresh_failures),
            cooldown_rejections: read(&self.cooldown_rejections),
        }
    }
}
