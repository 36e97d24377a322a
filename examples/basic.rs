//! Looks up one artist on Spotify's Web API with credentials from the environment.
//!
//! Run with your app's credentials from the Spotify developer dashboard:
//!
//! ```text
//! SPOTIFY_CLIENT_ID=... SPOTIFY_CLIENT_SECRET=... cargo run --example basic -- 0TnOYISbd1XYRBk9myaseg
//! ```
//!
//! This example talks to the real API. For a run with no network and no credentials, see the
//! `scrape` example.

use std::process::ExitCode;

use reqwest_middleware::ClientBuilder;
use reqwest_spotify_auth::SpotifyAuthMiddleware;

/// The artist looked up when no ID is given.
const DEFAULT_ARTIST_ID: &str = "0TnOYISbd1XYRBk9myaseg";

#[tokio::main]
async fn main() -> ExitCode {
    let artist_id = std::env::args()
        .nth(1)
        .unwrap_or_else(|| DEFAULT_ARTIST_ID.to_owned());

    let auth = match SpotifyAuthMiddleware::from_env() {
        Ok(auth) => auth,
        Err(error) => {
            eprintln!("error: {error}");
            eprintln!(
                "This example needs SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET from \
                 https://developer.spotify.com/dashboard. To try the crate offline, run \
                 `cargo run --example scrape` instead."
            );
            return ExitCode::FAILURE;
        }
    };

    let client = ClientBuilder::new(reqwest::Client::new())
        .with(auth)
        .build();
    match lookup_artist(&client, &artist_id).await {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Fetches `/v1/artists/{id}` and returns the artist's name and follower count.
async fn lookup_artist(
    client: &reqwest_middleware::ClientWithMiddleware,
    artist_id: &str,
) -> Result<String, String> {
    let url = format!("https://api.spotify.com/v1/artists/{artist_id}");
    let response = client
        .get(&url)
        .send()
        .await
        .map_err(|error| format!("request to {url} failed: {error:#}"))?;

    let status = response.status();
    let body: serde_json::Value = response.json().await.map_err(|error| {
        format!("{url} returned {status} with a body that is not JSON: {error}")
    })?;
    if !status.is_success() {
        return Err(format!(
            "{url} returned {status}: {}",
            body["error"]["message"]
        ));
    }

    Ok(format!(
        "{} ({} followers, id {})",
        body["name"].as_str().unwrap_or("?"),
        body["followers"]["total"],
        artist_id
    ))
}
