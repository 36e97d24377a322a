//! The middleware chain the scraper sends its requests through.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http::Extensions;
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware, Middleware, Next};
use reqwest_retry::RetryTransientMiddleware;
use reqwest_retry::policies::ExponentialBackoff;
use reqwest_spotify_auth::{RateLimitMiddleware, SpotifyAuthMiddleware};
use reqwest_tracing::TracingMiddleware;

/// How long one API request may take, response body included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Builds the client. Its middleware, from the outside in:
///
/// 1. tracing, so its span covers every attempt;
/// 2. retries of connection errors and 5xx responses;
/// 3. the rate limiter, which waits out a 429's `Retry-After` for every request to the API and
///    resends;
/// 4. authentication, so each attempt and resend carries a valid token;
/// 5. the request counter, which thus counts every request that goes on the wire.
pub fn build_client(
    auth: SpotifyAuthMiddleware,
    retry_policy: ExponentialBackoff,
    counter: RequestCounter,
) -> ClientWithMiddleware {
    let http = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .expect("a client with only a timeout set always builds");

    ClientBuilder::new(http)
        .with(TracingMiddleware::default())
        .with(RetryTransientMiddleware::new_with_policy(retry_policy))
        .with(RateLimitMiddleware::new())
        .with(auth)
        .with(counter)
        .build()
}

/// Counts the requests that pass through it. Clones share the count.
#[derive(Debug, Clone, Default)]
pub struct RequestCounter(Arc<AtomicU64>);

impl RequestCounter {
    pub fn count(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

#[async_trait::async_trait]
impl Middleware for RequestCounter {
    async fn handle(
        &self,
        request: reqwest::Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        self.0.fetch_add(1, Ordering::Relaxed);
        next.run(request, extensions).await
    }
}
