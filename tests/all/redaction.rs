//! No secret or token in `Debug`, `Display`, error messages or logs.

use std::time::Duration;

use reqwest_spotify_auth::{Error, SpotifyAuthMiddleware, TokenRetryPolicy};
use serde_json::json;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

const SECRET: &str = "s3cr3t-value-never-shown";
const TOKEN: &str = "tok3n-value-never-shown";

fn assert_clean(text: &str) {
    assert!(!text.contains(SECRET), "secret leaked: {text}");
    assert!(!text.contains(TOKEN), "token leaked: {text}");
    // The Basic value is as good as the secret.
    assert!(!text.contains("Basic "), "Basic value leaked: {text}");
}

fn builder(server: &MockServer) -> reqwest_spotify_auth::SpotifyAuthBuilder {
    SpotifyAuthMiddleware::builder(CLIENT_ID, SECRET)
        .token_url(format!("{}{TOKEN_PATH}", server.uri()))
        .api_origins([server.uri()])
        .failure_cooldown(Duration::ZERO)
        .token_retry(TokenRetryPolicy::never())
}

async fn mount_fixed_token(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": TOKEN, "token_type": "Bearer", "expires_in": 3600
        })))
        .mount(server)
        .await;
}

#[tokio::test]
async fn debug_of_public_types_is_clean() {
    let server = MockServer::start().await;
    mount_fixed_token(&server).await;
    let builder = builder(&server);
    assert_clean(&format!("{builder:?}"));
    let auth = builder.build().unwrap();

    let token = auth.access_token().await.unwrap();

    assert_eq!(token.secret(), TOKEN);
    assert_clean(&format!("{token:?}"));
    assert_clean(&format!("{auth:?}"));
    assert!(format!("{auth:?}").contains(CLIENT_ID));
    let credentials = reqwest_spotify_auth::Credentials::new(CLIENT_ID, SECRET);
    assert_clean(&format!("{credentials:?}"));
}

/// Checks every error variant the middleware can produce, from responses that quote the secret.
#[tokio::test]
async fn errors_are_clean() {
    let server = MockServer::start().await;
    // Error responses may echo the request, so they quote the secret. Success responses quote
    // the token, which the middleware must not repeat when it rejects them.
    let echo = format!("grant_type=client_credentials&client_secret={SECRET}");
    let responses = [
        ResponseTemplate::new(400)
            .set_body_json(json!({"error": "invalid_client", "error_description": echo})),
        ResponseTemplate::new(400)
            .set_body_json(json!({"error": "invalid_request", "error_description": echo})),
        ResponseTemplate::new(502).set_body_raw(format!("<pre>{echo}</pre>"), "text/html"),
        ResponseTemplate::new(200)
            .set_body_json(json!({"access_token": TOKEN, "token_type": "mac"})),
        ResponseTemplate::new(200).set_body_json(
            json!({"access_token": TOKEN, "token_type": "bearer", "expires_in": "x"}),
        ),
        ResponseTemplate::new(200).set_body_raw(format!("not json {TOKEN}"), "text/plain"),
        ResponseTemplate::new(200).set_delay(Duration::from_secs(30)),
    ];
    let mut errors = Vec::new();

    for response in responses {
        server.reset().await;
        Mock::given(method("POST"))
            .and(path(TOKEN_PATH))
            .respond_with(response)
            .mount(&server)
            .await;
        let auth = builder(&server)
            .token_timeout(Duration::from_millis(200))
            .build()
            .unwrap();
        errors.push(auth.access_token().await.unwrap_err());
    }
    let unreachable = builder(&server)
        .token_url(format!("{}/token", closed_port_url()))
        .build()
        .unwrap();
    errors.push(unreachable.access_token().await.unwrap_err());
    errors.push(Error::CoolingDown {
        retry_in: Duration::from_secs(1),
        last_error: Box::new(errors[0].clone()),
    });
    errors.push(
        SpotifyAuthMiddleware::builder(CLIENT_ID, "")
            .build()
            .unwrap_err(),
    );

    let kinds: Vec<&str> = errors.iter().map(variant_name).collect();
    assert_eq!(
        kinds,
        [
            "InvalidClient",
            "TokenEndpoint",
            "TokenEndpoint",
            "MalformedTokenResponse",
            "MalformedTokenResponse",
            "MalformedTokenResponse",
            "Timeout",
            "Transport",
            "CoolingDown",
            "Config",
        ]
    );
    for error in &errors {
        assert_clean(&error.to_string());
        assert_clean(&format!("{error:?}"));
        assert_clean(&format!("{:?}", anyhow_chain(error)));
    }
}

fn variant_name(error: &Error) -> &'static str {
    match error {
        Error::InvalidClient { .. } => "InvalidClient",
        Error::TokenEndpoint { .. } => "TokenEndpoint",
        Error::MalformedTokenResponse { .. } => "MalformedTokenResponse",
        Error::Timeout { .. } => "Timeout",
        Error::Transport { .. } => "Transport",
        Error::Config { .. } => "Config",
        Error::CoolingDown { .. } => "CoolingDown",
        Error::FetchCancelled => "FetchCancelled",
        _ => "unknown",
    }
}

/// Returns the error with its whole source chain, as an application's error report prints it.
fn anyhow_chain(error: &Error) -> Vec<String> {
    let mut chain = vec![error.to_string()];
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        chain.push(cause.to_string());
        source = cause.source();
    }
    chain
}

#[test]
fn logs_are_clean_and_informative() {
    let logs = run_child("redaction::log_child_run", &[]);

    assert_clean(&logs);
    assert!(logs.contains("LOG-CHILD-DONE"), "{logs}");
    assert!(
        logs.contains("WARN") && logs.contains("token fetch failed") && logs.contains("status=503"),
        "{logs}"
    );
    assert!(
        logs.contains("token received") && logs.contains("expires_in=3600"),
        "{logs}"
    );
    assert!(
        logs.contains("token_fetch{token_url="),
        "span missing: {logs}"
    );
    assert!(logs.contains("resending once with a new token"), "{logs}");
    assert!(
        logs.contains("WARN")
            && logs.contains("pausing requests to this origin")
            && logs.contains("pause_ms=1000"),
        "{logs}"
    );
}

/// Runs a failing fetch, a successful one, a 401 retry and a 429 pause with a global subscriber
/// that prints every level to stdout. It does so only in the child process that
/// `logs_are_clean_and_informative` starts.
#[tokio::test]
async fn log_child_run() {
    if !is_child() {
        return;
    }
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(std::io::stdout)
        .init();

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(
            ResponseTemplate::new(503).set_body_raw(format!("down {SECRET}"), "text/plain"),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    mount_fixed_token(&server).await;
    Mock::given(path_regex("^/v1/"))
        .respond_with(ResponseTemplate::new(401))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path_regex("^/v1/"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    mount_api_ok(&server).await;
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(reqwest_spotify_auth::RateLimitMiddleware::new())
        .with(builder(&server).build().unwrap())
        .build();

    let failed = get_api(&client, &server, "first").await;
    let retried = get_api(&client, &server, "second").await.unwrap();
    let limited = get_api(&client, &server, "third").await.unwrap();

    assert!(failed.is_err());
    assert_eq!(retried.status(), 200);
    assert_eq!(limited.status(), 200);
    println!("LOG-CHILD-DONE");
}

/// A secret put into the token URL's query by mistake stays out of `Debug`, errors and logs.
#[tokio::test]
async fn token_url_query_is_hidden() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let token_url = format!("{}{TOKEN_PATH}?client_secret={SECRET}", server.uri());
    let builder = builder(&server).token_url(token_url);
    assert_clean(&format!("{builder:?}"));
    let auth = builder.build().unwrap();

    let error = auth.access_token().await.unwrap_err();

    assert_clean(&format!("{auth:?}"));
    assert_clean(&error.to_string());
    assert!(
        error.to_string().contains("/api/token?[query hidden]"),
        "{error}"
    );
}
