//! Validation in `build()`, and reading credentials from the environment.

use std::time::Duration;

use reqwest_spotify_auth::{Error, SpotifyAuthMiddleware, TokenRetryPolicy};

use crate::support::{is_child, run_child};

fn setting_of(result: Result<SpotifyAuthMiddleware, Error>) -> (&'static str, String) {
    match result {
        Err(Error::Config { setting, reason }) => (setting, reason),
        other => panic!("expected a Config error, got {other:?}"),
    }
}

fn builder() -> reqwest_spotify_auth::SpotifyAuthBuilder {
    SpotifyAuthMiddleware::builder("id", "secret")
}

#[test]
fn defaults_build() {
    let auth = builder().build().unwrap();

    let printed = format!("{auth:?}");
    assert!(
        printed.contains("https://accounts.spotify.com/api/token"),
        "{printed}"
    );
    assert!(printed.contains("https://api.spotify.com:443"), "{printed}");
}

#[test]
fn build_rejects_each_bad_setting() {
    let cases = [
        (
            SpotifyAuthMiddleware::builder("", "secret").build(),
            "client_id",
            "empty",
        ),
        (
            SpotifyAuthMiddleware::builder("id", "").build(),
            "client_secret",
            "empty",
        ),
        (
            builder()
                .token_url("http://accounts.example.com/token")
                .build(),
            "token_url",
            "plain http",
        ),
        (
            builder().token_url("not a url").build(),
            "token_url",
            "not a valid absolute URL",
        ),
        (
            builder()
                .token_url("https://user:pw@auth.example.com/token")
                .build(),
            "token_url",
            "user information",
        ),
        (
            builder().api_origins(["http://api.example.com"]).build(),
            "api_origins",
            "plain http",
        ),
        (
            builder()
                .api_origins(["https://api.spotify.com/v1"])
                .build(),
            "api_origins",
            "path",
        ),
        (
            builder().api_origins(Vec::<String>::new()).build(),
            "api_origins",
            "empty",
        ),
        (
            builder().token_timeout(Duration::ZERO).build(),
            "token_timeout",
            "zero",
        ),
        (
            builder().failure_cooldown(Duration::from_secs(60)).build(),
            "max_failure_cooldown",
            "less than failure_cooldown",
        ),
        (
            builder()
                .token_retry(TokenRetryPolicy::default().max_attempts(0))
                .build(),
            "token_retry",
            "at least 1",
        ),
    ];

    for (result, expected_setting, expected_words) in cases {
        let (setting, reason) = setting_of(result);
        assert_eq!(setting, expected_setting);
        assert!(reason.contains(expected_words), "{setting}: {reason}");
    }
}

#[test]
fn loopback_http_is_allowed() {
    let auth = builder()
        .token_url("http://127.0.0.1:9/api/token")
        .api_origins(["http://localhost:8080", "http://[::1]:8081"])
        .build();

    assert!(auth.is_ok(), "{auth:?}");
}

#[tokio::test]
async fn new_reports_empty_credentials_on_first_use() {
    let auth = SpotifyAuthMiddleware::new("", "secret");

    let error = auth.access_token().await.unwrap_err();

    assert!(
        matches!(
            error,
            Error::Config {
                setting: "client_id",
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(auth.stats().token_requests, 0);
}

#[test]
fn env_child_report() {
    if !is_child() {
        return;
    }

    match SpotifyAuthMiddleware::from_env() {
        Ok(auth) => println!("CHILD-OK {auth:?}"),
        Err(error) => println!("CHILD-ERR {error}"),
    }
}

#[test]
fn from_env_trims_values() {
    let stdout = run_child(
        "config::env_child_report",
        &[
            ("SPOTIFY_CLIENT_ID", "  id-from-env\n"),
            ("SPOTIFY_CLIENT_SECRET", "secret-from-env\n"),
        ],
    );

    assert!(stdout.contains("CHILD-OK"), "{stdout}");
    assert!(stdout.contains("client_id: \"id-from-env\""), "{stdout}");
    assert!(!stdout.contains("secret-from-env"), "{stdout}");
}

#[test]
fn from_env_names_missing_variable() {
    let stdout = run_child("config::env_child_report", &[("SPOTIFY_CLIENT_ID", "id")]);

    assert!(
        stdout.contains("CHILD-ERR configuration error in SPOTIFY_CLIENT_SECRET"),
        "{stdout}"
    );
    assert!(stdout.contains("is not set"), "{stdout}");
}

#[test]
fn from_env_names_empty_variable() {
    let stdout = run_child(
        "config::env_child_report",
        &[
            ("SPOTIFY_CLIENT_ID", " \n"),
            ("SPOTIFY_CLIENT_SECRET", "secret"),
        ],
    );

    assert!(
        stdout.contains("CHILD-ERR configuration error in SPOTIFY_CLIENT_ID"),
        "{stdout}"
    );
    assert!(stdout.contains("is empty"), "{stdout}");
}
