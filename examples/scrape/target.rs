//! The server the scraper sends its requests to: Spotify (or a compatible server) with
//! credentials from the environment, or an in-process fake when there are none.

use std::time::Duration;

use reqwest_spotify_auth::testing::{Catalog, FakeSpotify};
use reqwest_spotify_auth::{
    CLIENT_ID_VAR, CLIENT_SECRET_VAR, SPOTIFY_TOKEN_URL, SpotifyAuthMiddleware,
};
use url::Url;

/// Spotify's Web API base URL.
const SPOTIFY_API_URL: &str = "https://api.spotify.com/v1";

/// The fake's token lifetime offline: short, so that a default run needs more than one token.
const OFFLINE_TOKEN_LIFETIME: Duration = Duration::from_secs(2);

/// How long the fake holds back each API response offline.
///
/// With the default artist (48 albums) a run sends its search and 5 album-list requests one
/// after another (at least 1.2 s), then 49 track requests 8 at a time (at least 1.2 s more). The
/// first token is replaced once it is 1.6 s old (the middleware cuts its margins to a tenth of
/// the 2 s lifetime). The revocation at album 24 comes at 1.8 s at the earliest, so the run needs
/// a new token for each.
const OFFLINE_API_LATENCY: Duration = Duration::from_millis(200);

/// The server the scraper talks to, and the middleware that authenticates it.
pub struct Target {
    pub auth: SpotifyAuthMiddleware,
    pub api_url: Url,
    /// The in-process fake, when running offline.
    fake: Option<FakeSpotify>,
}

impl Target {
    /// Aims at Spotify, or at the given URLs, when credentials are set, and at a new fake
    /// otherwise.
    pub async fn connect(token_url: Option<Url>, api_url: Option<Url>) -> Result<Self, String> {
        let credentials_set = std::env::var_os(CLIENT_ID_VAR).is_some()
            || std::env::var_os(CLIENT_SECRET_VAR).is_some();

        if credentials_set {
            return Self::remote(token_url, api_url);
        }
        if token_url.is_some() || api_url.is_some() {
            return Err(format!(
                "--token-url and --api-url need {CLIENT_ID_VAR} and {CLIENT_SECRET_VAR}; set \
                 both, or drop the URLs (and SPOTIFY_TOKEN_URL, SPOTIFY_API_URL) to run offline"
            ));
        }
        Ok(Self::offline().await)
    }

    fn remote(token_url: Option<Url>, api_url: Option<Url>) -> Result<Self, String> {
        let api_url = match api_url {
            Some(url) => url,
            None => Url::parse(SPOTIFY_API_URL).expect("the constant is a valid URL"),
        };
        let token_url = token_url.map_or_else(|| SPOTIFY_TOKEN_URL.to_owned(), String::from);

        // The token goes to the API's origin only, never to the token endpoint or elsewhere.
        let auth = SpotifyAuthMiddleware::builder_from_env()
            .and_then(|builder| {
                builder
                    .token_url(token_url)
                    .api_origins([api_url.origin().ascii_serialization()])
                    .build()
            })
            .map_err(|error| error.to_string())?;

        Ok(Target {
            auth,
            api_url,
            fake: None,
        })
    }

    async fn offline() -> Self {
        let fake = FakeSpotify::builder()
            .token_lifetime(OFFLINE_TOKEN_LIFETIME)
            .api_latency(OFFLINE_API_LATENCY)
            .start()
            .await;
        eprintln!(
            "{CLIENT_ID_VAR} and {CLIENT_SECRET_VAR} are not set, so this run scrapes an \
             in-process fake Spotify at {} (made-up catalog, {} s tokens, all tokens revoked \
             halfway)",
            fake.uri(),
            OFFLINE_TOKEN_LIFETIME.as_secs()
        );

        let auth = fake
            .auth_builder()
            .build()
            .expect("the fake's own settings are valid");
        let api_url = Url::parse(&fake.api_url()).expect("the fake's API URL is valid");

        Target {
            auth,
            api_url,
            fake: Some(fake),
        }
    }

    /// Returns the offline fake's catalog, or `None` when the target is a real server.
    pub fn catalog(&self) -> Option<&Catalog> {
        self.fake.as_ref().map(FakeSpotify::catalog)
    }

    /// Returns the names to scrape: the given ones, or offline the catalog's largest artist.
    pub fn artists_or_default(&self, names: Vec<String>) -> Result<Vec<String>, String> {
        if !names.is_empty() {
            return Ok(names);
        }

        match &self.fake {
            Some(fake) => Ok(vec![fake.catalog().artists()[0].name.clone()]),
            None => Err(
                "no artist given; name at least one, such as: cargo run --example scrape -- \
                 \"Artist name\""
                    .to_owned(),
            ),
        }
    }

    /// Offline, revokes every token once half of the albums are done, so that the rest of the
    /// run needs a new token.
    pub fn album_done(&self, done: usize, total: usize) {
        if let Some(fake) = &self.fake
            && done == total.div_ceil(2)
        {
            fake.revoke_all_tokens();
            tracing::info!(done, total, "revoked every token on the fake");
        }
    }
}
