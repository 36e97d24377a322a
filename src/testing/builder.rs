//! [`FakeSpotifyBuilder`]: the fake's settings, their checks, and the start of its server.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{any, get};
use tokio::sync::oneshot;

use super::api_gate::api_gate;
use super::api_routes;
use super::catalog_seed::build_catalog;
use super::faults::FaultQueue;
use super::server::FakeSpotify;
use super::state::{DurationSetting, FakeState};
use super::stats::FakeCounters;
use super::token_endpoint::token_endpoint;
use super::token_store::TokenStore;

/// The client ID the fake accepts unless [`FakeSpotifyBuilder::credentials`] sets another.
pub const DEFAULT_CLIENT_ID: &str = "fake-spotify-client-id";
/// The client secret the fake accepts unless [`FakeSpotifyBuilder::credentials`] sets another.
pub const DEFAULT_CLIENT_SECRET: &str = "fake-spotify-client-secret";
/// The lifetime of issued tokens unless [`FakeSpotifyBuilder::token_lifetime`] sets another:
/// one hour, as Spotify's.
pub const DEFAULT_FAKE_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// The maximum token lifetime the builder accepts: one year, the maximum the middleware takes at
/// face value.
const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(365 * 24 * 3600);

/// Settings for a [`FakeSpotify`], from [`FakeSpotify::builder`].
#[derive(Clone)]
#[must_use = "a builder does nothing until start() is called"]
pub struct FakeSpotifyBuilder {
    client_id: String,
    client_secret: String,
    token_lifetime: Duration,
    token_delay: Duration,
    api_latency: Duration,
}

impl Default for FakeSpotifyBuilder {
    fn default() -> Self {
        FakeSpotifyBuilder {
            client_id: DEFAULT_CLIENT_ID.to_owned(),
            client_secret: DEFAULT_CLIENT_SECRET.to_owned(),
            token_lifetime: DEFAULT_FAKE_TOKEN_LIFETIME,
            token_delay: Duration::ZERO,
            api_latency: Duration::ZERO,
        }
    }
}

impl FakeSpotifyBuilder {
    /// Sets the client ID and secret the token endpoint accepts. Default: [`DEFAULT_CLIENT_ID`]
    /// and [`DEFAULT_CLIENT_SECRET`].
    pub fn credentials(
        mut self,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        self.client_id = client_id.into();
        self.client_secret = client_secret.into();
        self
    }

    /// Sets the lifetime of issued tokens, sent as `expires_in`. Default: 3600 s.
    ///
    /// It must be a whole number of seconds, because `expires_in` is an integer, from 1 s to one
    /// year. [`start`](Self::start) panics otherwise.
    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.token_lifetime = lifetime;
        self
    }

    /// Sets a delay before every token response. Default: none. See also
    /// [`FakeSpotify::set_token_delay`].
    pub fn token_delay(mut self, delay: Duration) -> Self {
        self.token_delay = delay;
        self
    }

    /// Sets how long every API response is held back, to simulate network latency. Default: none.
    /// See also [`FakeSpotify::set_api_latency`].
    pub fn api_latency(mut self, latency: Duration) -> Self {
        self.api_latency = latency;
        self
    }

    /// Binds `127.0.0.1` on a free port and starts serving on the current Tokio runtime.
    ///
    /// # Panics
    ///
    /// If the token lifetime is not a whole number of seconds from 1 s to one year, or the client
    /// ID or secret is empty. Also outside a Tokio runtime, and when no loopback port can be
    /// bound.
    pub async fn start(self) -> FakeSpotify {
        self.check();
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap_or_else(|error| panic!("FakeSpotify could not bind 127.0.0.1: {error}"));
        let address = listener
            .local_addr()
            .unwrap_or_else(|error| panic!("FakeSpotify could not read its address: {error}"));

        let state = Arc::new(self.into_state(format!("http://{address}")));
        let (shutdown, stopped) = oneshot::channel::<()>();
        let app = router(Arc::clone(&state));

        tokio::spawn(async move {
            let serving = axum::serve(listener, app).with_graceful_shutdown(async {
                // A dropped sender also ends the wait, so the server stops either way.
                let _ = stopped.await;
            });
            if let Err(error) = serving.await {
                tracing::warn!(%error, "FakeSpotify stopped serving");
            }
        });

        FakeSpotify::from_parts(state, shutdown)
    }

    fn check(&self) {
        let lifetime = self.token_lifetime;
        assert!(
            lifetime.subsec_nanos() == 0
                && lifetime >= Duration::from_secs(1)
                && lifetime <= MAX_TOKEN_LIFETIME,
            "FakeSpotify token_lifetime is {lifetime:?}; give a whole number of seconds (expires_in \
             is sent as an integer) from 1 s to one year"
        );
        assert!(
            !self.client_id.is_empty() && !self.client_secret.is_empty(),
            "FakeSpotify credentials must not be empty; the middleware rejects empty ones"
        );
    }

    fn into_state(self, base_uri: String) -> FakeState {
        FakeState {
            base_uri,
            client_id: self.client_id,
            client_secret: self.client_secret,
            token_lifetime: self.token_lifetime,
            catalog: build_catalog(),
            tokens: TokenStore::default(),
            token_faults: FaultQueue::default(),
            api_faults: FaultQueue::default(),
            token_delay: DurationSetting::new(self.token_delay),
            api_latency: DurationSetting::new(self.api_latency),
            counters: FakeCounters::default(),
        }
    }
}

/// Routes `/api/token` and the four `/v1` endpoints; the gate wraps them all.
fn router(state: Arc<FakeState>) -> Router {
    let get_only = |method_router: axum::routing::MethodRouter<Arc<FakeState>>| {
        method_router.fallback(api_routes::method_not_allowed)
    };

    Router::new()
        .route("/api/token", any(token_endpoint))
        .route("/v1/search", get_only(get(api_routes::search)))
        .route("/v1/artists/{id}", get_only(get(api_routes::artist)))
        .route(
            "/v1/artists/{id}/albums",
            get_only(get(api_routes::artist_albums)),
        )
        .route(
            "/v1/albums/{id}/tracks",
            get_only(get(api_routes::album_tracks)),
        )
        .fallback(api_routes::unknown_route)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            api_gate,
        ))
        .with_state(state)
}

impl fmt::Debug for FakeSpotifyBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeSpotifyBuilder")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("token_lifetime", &self.token_lifetime)
            .field("token_delay", &self.token_delay)
            .field("api_latency", &self.api_latency)
            .finish()
    }
}
