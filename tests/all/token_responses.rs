//! Each kind of token endpoint response, and recovery once the endpoint works again.

use std::time::Duration;

use futures_util::future::join_all;
use reqwest::StatusCode;
use reqwest_spotify_auth::Error;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

async fn mount_token_response(server: &MockServer, response: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(response)
        .mount(server)
        .await;
}

/// Serves `response` from the token endpoint, returns the first call's outcome, then checks that a
/// call succeeds once the endpoint issues tokens again.
async fn outcome_then_recovery(response: ResponseTemplate) -> Result<reqwest::Response, Error> {
    let server = MockServer::start().await;
    mount_token_response(&server, response).await;
    mount_api_ok(&server).await;
    let client = client_with(builder_for(&server).build().unwrap());

    let outcome = get_api(&client, &server, "first").await.map_err(auth_error);

    server.reset().await;
    mount_token_issuer(&server).await;
    mount_api_ok(&server).await;
    let recovered = get_api(&client, &server, "second").await.unwrap();
    assert_eq!(recovered.status(), 200);
    assert_eq!(
        last_authorization(&server).await.as_deref(),
        Some("Bearer token-1")
    );

    outcome
}

fn token_json(fields: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(fields)
}

#[tokio::test]
async fn invalid_client_response() {
    let response = ResponseTemplate::new(400).set_body_json(
        json!({"error": "invalid_client", "error_description": "Invalid client secret"}),
    );

    let error = outcome_then_recovery(response).await.unwrap_err();

    let Error::InvalidClient {
        description,
        status,
        ..
    } = &error
    else {
        panic!("expected InvalidClient, got {error:?}");
    };
    assert_eq!(description.as_deref(), Some("Invalid client secret"));
    assert_eq!(*status, StatusCode::BAD_REQUEST);
    assert!(error.to_string().contains("check the client ID and secret"));
}

#[tokio::test]
async fn html_503_response() {
    let response = ResponseTemplate::new(503).set_body_raw(
        "<html><body><h1>503 Service Unavailable</h1></body></html>",
        "text/html",
    );

    let error = outcome_then_recovery(response).await.unwrap_err();

    let Error::TokenEndpoint {
        status,
        error: code,
        body_excerpt,
        ..
    } = &error
    else {
        panic!("expected TokenEndpoint, got {error:?}");
    };
    assert_eq!(*status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(*code, None);
    assert!(body_excerpt.contains("503 Service Unavailable"));
}

#[tokio::test]
async fn rfc_error_response_keeps_code() {
    let response =
        ResponseTemplate::new(400).set_body_json(json!({"error": "unsupported_grant_type"}));

    let error = outcome_then_recovery(response).await.unwrap_err();

    let Error::TokenEndpoint {
        status,
        error: code,
        ..
    } = &error
    else {
        panic!("expected TokenEndpoint, got {error:?}");
    };
    assert_eq!(*status, StatusCode::BAD_REQUEST);
    assert_eq!(code.as_deref(), Some("unsupported_grant_type"));
}

#[tokio::test]
async fn non_json_success_response() {
    let response = ResponseTemplate::new(200).set_body_raw("<html>hello</html>", "text/html");

    let error = outcome_then_recovery(response).await.unwrap_err();

    assert!(
        matches!(error, Error::MalformedTokenResponse { field: "body", .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("text/html"));
}

#[tokio::test]
async fn missing_access_token_response() {
    let response = token_json(json!({"token_type": "Bearer", "expires_in": 3600}));

    let error = outcome_then_recovery(response).await.unwrap_err();

    assert!(
        matches!(
            error,
            Error::MalformedTokenResponse {
                field: "access_token",
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn mac_token_type_response() {
    let response =
        token_json(json!({"access_token": "abc", "token_type": "mac", "expires_in": 3600}));

    let error = outcome_then_recovery(response).await.unwrap_err();

    assert!(
        matches!(
            error,
            Error::MalformedTokenResponse {
                field: "token_type",
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("\"mac\""));
}

#[tokio::test]
async fn negative_expires_in_response() {
    let response =
        token_json(json!({"access_token": "abc", "token_type": "Bearer", "expires_in": -5}));

    let error = outcome_then_recovery(response).await.unwrap_err();

    assert!(
        matches!(
            error,
            Error::MalformedTokenResponse {
                field: "expires_in",
                ..
            }
        ),
        "{error:?}"
    );
}

/// Checks an accepted response variant: the token is used and its lifetime read as stated.
async fn accepted_lifetime(fields: serde_json::Value) -> Duration {
    let server = MockServer::start().await;
    mount_token_response(&server, token_json(fields)).await;
    mount_api_ok(&server).await;
    let auth = builder_for(&server).build().unwrap();
    let client = client_with(auth.clone());

    let response = get_api(&client, &server, "x").await.unwrap();

    assert_eq!(response.status(), 200);
    assert_eq!(
        api_authorizations(&server).await,
        [Some("Bearer abc".to_owned())]
    );
    auth.access_token().await.unwrap().lifetime()
}

#[tokio::test]
async fn lowercase_bearer_accepted() {
    let lifetime = accepted_lifetime(
        json!({"access_token": "abc", "token_type": "bearer", "expires_in": 3600}),
    )
    .await;

    assert_eq!(lifetime, Duration::from_secs(3600));
}

#[tokio::test]
async fn string_expires_in_accepted() {
    let lifetime = accepted_lifetime(
        json!({"access_token": "abc", "token_type": "Bearer", "expires_in": "3600"}),
    )
    .await;

    assert_eq!(lifetime, Duration::from_secs(3600));
}

#[tokio::test]
async fn absent_expires_in_means_an_hour() {
    let lifetime = accepted_lifetime(json!({"access_token": "abc", "token_type": "Bearer"})).await;

    assert_eq!(lifetime, Duration::from_secs(3600));
}

#[tokio::test]
async fn connection_refused_is_transport() {
    let closed = closed_port_url();
    let auth = reqwest_spotify_auth::SpotifyAuthMiddleware::builder(CLIENT_ID, CLIENT_SECRET)
        .token_url(format!("{closed}{TOKEN_PATH}"))
        .failure_cooldown(Duration::ZERO)
        .token_retry(reqwest_spotify_auth::TokenRetryPolicy::never())
        .build()
        .unwrap();

    let error = auth.access_token().await.unwrap_err();

    let Error::Transport { source, token_url } = &error else {
        panic!("expected Transport, got {error:?}");
    };
    assert!(source.is_connect(), "{source:?}");
    assert_eq!(*token_url, format!("{closed}{TOKEN_PATH}"));
    assert_eq!(auth.stats().token_requests, 1);
    assert_eq!(auth.stats().token_failures, 1);

    // A server now listens at that address, and the next call gets a token.
    let address = closed.strip_prefix("http://").unwrap();
    let listener = std::net::TcpListener::bind(address).unwrap();
    let server = MockServer::builder().listener(listener).start().await;
    mount_token_issuer(&server).await;
    let token = auth.access_token().await.unwrap();
    assert_eq!(token.secret(), "token-1");
    assert_eq!(auth.stats().token_requests, 2);
}

#[tokio::test]
async fn silent_endpoint_times_out_all_waiters() {
    let server = MockServer::start().await;
    mount_token_response(
        &server,
        ResponseTemplate::new(200).set_delay(Duration::from_secs(60)),
    )
    .await;
    mount_api_ok(&server).await;
    let timeout = Duration::from_millis(300);
    let auth = builder_for(&server).token_timeout(timeout).build().unwrap();
    let client = client_with(auth.clone());

    let calls = (0..10).map(|call| client.get(format!("{}/v1/t/{call}", server.uri())).send());
    let outcomes = join_all(calls).await;

    for outcome in outcomes {
        let error = auth_error(outcome.unwrap_err());
        assert!(
            matches!(error, Error::Timeout { after, .. } if after == timeout),
            "{error:?}"
        );
    }
    assert_eq!(token_request_count(&server).await, 1);
    assert_eq!(auth.stats().token_failures, 1);

    server.reset().await;
    mount_token_issuer(&server).await;
    mount_api_ok(&server).await;
    assert_eq!(
        get_api(&client, &server, "after").await.unwrap().status(),
        200
    );
}
