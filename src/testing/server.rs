//! [`FakeSpotify`]: the handle of a running fake, and its controls for tests.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use tokio::sync::oneshot;

use super::builder::FakeSpotifyBuilder;
use super::catalog::Catalog;
use super::faults::{CannedResponse, Fault};
use super::state::FakeState;
use super::stats::{FakeCounters, FakeStats};
use crate::{SpotifyAuthBuilder, SpotifyAuthMiddleware};

/// An in-process fake of Spotify's token endpoint and Web API, serving HTTP on
/// `127.0.0.1` at a free port until it is dropped.
///
/// It runs as a task on the Tokio runtime that starts it, and its token expiry follows Tokio's
/// clock, so a test with a paused clock can expire tokens by advancing it (pausing needs Tokio's
/// `test-util` feature in your dev-dependencies). A paused clock also jumps ahead while the
/// runtime waits on a socket, so pause and advance only while no request is in flight. All
/// controls take `&self` and may be called from any task while requests are in flight.
///
/// The middleware renews a token before it expires, so requests through it never meet the fake's
/// `The access token expired` response. To see that response, send a request with your own
/// `Authorization: Bearer <token>` header, which the middleware passes through untouched.
///
/// ```
/// use reqwest_middleware::ClientBuilder;
/// use reqwest_spotify_auth::testing::FakeSpotify;
///
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let fake = FakeSpotify::start().await;
/// let client = ClientBuilder::new(reqwest::Client::new())
///     .with(fake.auth_builder().build()?)
///     .build();
///
/// let url = format!("{}/search?type=artist&q=glass%20harbor", fake.api_url());
/// let found: serde_json::Value = client.get(url).send().await?.json().await?;
///
/// assert_eq!(found["artists"]["items"][0]["name"], "Glass Harbor");
/// assert_eq!(found["artists"]["total"], 1);
/// assert_eq!(fake.stats().tokens_issued, 1);
/// # Ok(())
/// # }
/// ```
pub struct FakeSpotify {
    state: Arc<FakeState>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl FakeSpotify {
    /// Wraps the state of a server that [`FakeSpotifyBuilder::start`] has started.
    pub(crate) fn from_parts(state: Arc<FakeState>, shutdown: oneshot::Sender<()>) -> Self {
        FakeSpotify {
            state,
            shutdown: Some(shutdown),
        }
    }

    /// Starts a fake with default settings: [`DEFAULT_CLIENT_ID`](super::DEFAULT_CLIENT_ID),
    /// [`DEFAULT_CLIENT_SECRET`](super::DEFAULT_CLIENT_SECRET), one-hour tokens and no delays.
    ///
    /// # Panics
    ///
    /// As [`FakeSpotifyBuilder::start`].
    pub async fn start() -> FakeSpotify {
        FakeSpotify::builder().start().await
    }

    /// Starts a builder for custom settings.
    pub fn builder() -> FakeSpotifyBuilder {
        FakeSpotifyBuilder::default()
    }

    /// Returns the server's origin, `http://127.0.0.1:<port>`.
    pub fn uri(&self) -> &str {
        &self.state.base_uri
    }

    /// Returns the token endpoint's URL, `{uri}/api/token`.
    pub fn token_url(&self) -> String {
        format!("{}/api/token", self.uri())
    }

    /// Returns the Web API's base URL, `{uri}/v1`, to which endpoint paths such as `/search` are
    /// appended.
    pub fn api_url(&self) -> String {
        format!("{}/v1", self.uri())
    }

    /// Returns the client ID the token endpoint accepts.
    pub fn client_id(&self) -> &str {
        &self.state.client_id
    }

    /// Returns the client secret the token endpoint accepts.
    pub fn client_secret(&self) -> &str {
        &self.state.client_secret
    }

    /// Returns the lifetime of the tokens it issues.
    pub fn token_lifetime(&self) -> Duration {
        self.state.token_lifetime
    }

    /// Returns a middleware builder aimed at this fake: its credentials, token URL and origin.
    /// Other settings keep their defaults and can still be changed.
    pub fn auth_builder(&self) -> SpotifyAuthBuilder {
        SpotifyAuthMiddleware::builder(self.client_id(), self.client_secret())
            .token_url(self.token_url())
            .api_origins([self.uri()])
    }

    /// Returns the catalog it serves.
    pub fn catalog(&self) -> &Catalog {
        &self.state.catalog
    }

    /// Returns a snapshot of its counters.
    pub fn stats(&self) -> FakeStats {
        self.state.counters.snapshot()
    }

    /// Revokes every token issued so far. The API then rejects them with 401 `Invalid access
    /// token`, as it rejects tokens it never issued.
    pub fn revoke_all_tokens(&self) {
        self.state.tokens.revoke_all();
        FakeCounters::increment(&self.state.counters.revocations);
    }

    /// Responds to the next `count` token requests with `response` instead of checking them. The
    /// entries join the end of the token fault queue.
    pub fn fail_token_requests(&self, count: usize, response: CannedResponse) {
        self.queue_token_faults(std::iter::repeat_n(Fault::respond(response), count));
    }

    /// Holds back the responses to the next `count` token requests by `delay`. The entries join the
    /// end of the token fault queue.
    pub fn delay_token_requests(&self, count: usize, delay: Duration) {
        self.queue_token_faults(std::iter::repeat_n(Fault::delay(delay), count));
    }

    /// Appends entries to the token fault queue; each token request takes the next one.
    pub fn queue_token_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        self.state.token_faults.push(faults);
    }

    /// Sets a delay before every token response, added to any queued delay. Zero turns it off.
    pub fn set_token_delay(&self, delay: Duration) {
        self.state.token_delay.set(delay);
    }

    /// Responds to the next `count` API requests that carry a valid token with 429, Spotify's error
    /// body and `Retry-After: <retry_after_secs>`. The entries join the end of the API fault
    /// queue.
    pub fn rate_limit_api(&self, count: usize, retry_after_secs: u64) {
        let response = CannedResponse::spotify_error(429, "API rate limit exceeded")
            .retry_after(retry_after_secs);
        self.queue_api_faults(std::iter::repeat_n(Fault::respond(response), count));
    }

    /// Responds to the next `count` API requests that carry a valid token with `status` and
    /// Spotify's error body. The entries join the end of the API fault queue.
    ///
    /// # Panics
    ///
    /// If `status` is not a client or server error (400 to 599).
    pub fn fail_api_requests(&self, count: usize, status: StatusCode) {
        assert!(
            status.is_client_error() || status.is_server_error(),
            "fail_api_requests needs an error status (400 to 599), got {status}"
        );
        let message = status.canonical_reason().unwrap_or("Error");
        let response = CannedResponse::spotify_error(status.as_u16(), message);
        self.queue_api_faults(std::iter::repeat_n(Fault::respond(response), count));
    }

    /// Appends entries to the API fault queue. Each API request that carries a valid token takes
    /// the next one; requests rejected with 401 take none.
    pub fn queue_api_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        self.state.api_faults.push(faults);
    }

    /// Sets how long every API response is held back, to simulate network latency. Zero turns it
    /// off.
    pub fn set_api_latency(&self, latency: Duration) {
        self.state.api_latency.set(latency);
    }

    /// Returns how many entries remain in the token fault queue.
    pub fn pending_token_faults(&self) -> usize {
        self.state.token_faults.len()
    }

    /// Returns how many entries remain in the API fault queue.
    pub fn pending_api_faults(&self) -> usize {
        self.state.api_faults.len()
    }

    /// Empties both fault queues and sets the token delay and API latency to zero.
    pub fn clear_faults(&self) {
        self.state.token_faults.clear();
        self.state.api_faults.clear();
        self.state.token_delay.set(Duration::ZERO);
        self.state.api_latency.set(Duration::ZERO);
    }
}

impl fmt::Debug for FakeSpotify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeSpotify")
            .field("uri", &self.uri())
            .field("client_id", &self.client_id())
            .field("client_secret", &"[redacted]")
            .field("token_lifetime", &self.token_lifetime())
            .finish_non_exhaustive()
    }
}

impl Drop for FakeSpotify {
    /// Stops accepting connections. Requests already in progress finish.
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}
