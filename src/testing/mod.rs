//! An in-process fake of Spotify's token endpoint and Web API, for tests. Only with the
//! `test-util` feature.
//!
//! [`FakeSpotify`] is a real HTTP server on `127.0.0.1`. It issues client-credentials tokens,
//! rejects missing, unknown, revoked and expired tokens with Spotify's 401 responses, and serves a
//! small made-up [`Catalog`] through four endpoints with Spotify's paging and limits:
//!
//! | endpoint | `limit` (default) | `offset` |
//! |---|---|---|
//! | `GET /v1/search?type=artist&q=...` | 1 to 10 (5) | 0 to 1000 |
//! | `GET /v1/artists/{id}` | - | - |
//! | `GET /v1/artists/{id}/albums` | 1 to 10 (5) | 0 or more |
//! | `GET /v1/albums/{id}/tracks` | 1 to 50 (20) | 0 or more |
//!
//! Tests can queue [`Fault`]s for either endpoint, revoke tokens, add latency, and read
//! [`FakeStats`] to check what reached the server.
//!
//! Test your own code against it by pointing the middleware at it with
//! [`FakeSpotify::auth_builder`]:
//!
//! ```
//! use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
//! use reqwest_spotify_auth::testing::FakeSpotify;
//!
//! /// The code under test: returns the name of the first artist found for `query`.
//! async fn first_artist(
//!     client: &ClientWithMiddleware,
//!     api_url: &str,
//!     query: &str,
//! ) -> Result<String, Box<dyn std::error::Error>> {
//!     let mut url = url::Url::parse(&format!("{api_url}/search"))?;
//!     url.query_pairs_mut().append_pair("type", "artist").append_pair("q", query);
//!     let response = client.get(url).send().await?.error_for_status()?;
//!     let found: serde_json::Value = response.json().await?;
//!     Ok(found["artists"]["items"][0]["name"].as_str().unwrap_or_default().to_owned())
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let fake = FakeSpotify::start().await;
//!     let client = ClientBuilder::new(reqwest::Client::new())
//!         .with(fake.auth_builder().build()?)
//!         .build();
//!
//!     let name = first_artist(&client, &fake.api_url(), "noëlle").await?;
//!
//!     assert_eq!(name, "Noëlle Aubertin");
//!     assert_eq!(fake.stats().tokens_issued, 1);
//!     assert_eq!(fake.stats().api_status_count(200), 1);
//!     Ok(())
//! }
//! ```

mod api_gate;
mod api_routes;
mod builder;
mod catalog;
mod catalog_seed;
mod faults;
mod objects;
mod paging;
mod query;
mod server;
mod state;
mod stats;
mod token_endpoint;
mod token_store;

pub use builder::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_FAKE_TOKEN_LIFETIME, FakeSpotifyBuilder,
};
pub use catalog::{Album, AlbumType, Artist, Catalog, ReleaseDatePrecision, Track};
pub use faults::{CannedResponse, Fault};
pub use server::FakeSpotify;
pub use stats::FakeStats;
