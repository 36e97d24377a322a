//! The middleware chain the scraper sends its requests through, and the lookup of this crate's
//! error inside the chain's errors.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http::Extensions;
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware, Middleware, Next};
use reqwest_retry::policies::ExponentialBackoff;
use reqwest_retry::{RetryError, RetryTransientMiddleware};
use reqwest_spotify_auth::SpotifyAuthMiddleware;
use reqwest_tracing::TracingMiddleware;

/// How long one API request may take, response body included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Builds the client: tracing outermost, then retries, then authentication, then the request
/// counter, so that the counter counts every request that goes on the wire, retries and 401
/// resends included.
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

/// Returns this crate's error inside a chain error, looking through the wrapper that the retry
/// middleware puts around every error it passes on.
pub fn auth_error(error: &reqwest_middleware::Error) -> Option<&reqwest_spotify_auth::Error> {
    let reqwest_middleware::Error::Middleware(inner) = error else {
        return None;
    };

    if let Some(ours) = inner.downcast_ref::<reqwest_spotify_auth::Error>() {
        return Some(ours);
    }
    match inner.downcast_ref::<RetryError>()? {
        RetryError::Error(wrapped) | RetryError::WithRetries { err: wrapped, .. } => {
            auth_error(wrapped)
        }
    }
}
