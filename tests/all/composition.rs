//! The middleware inside the chains users build with reqwest-retry and reqwest-tracing.

use reqwest_middleware::ClientBuilder;
use reqwest_retry::RetryTransientMiddleware;
use reqwest_retry::policies::ExponentialBackoff;
use reqwest_tracing::TracingMiddleware;
use wiremock::matchers::path_regex;
use wiremock::{Mock, MockServer, ResponseTemplate};

use reqwest_spotify_auth::Error;

use crate::support::*;

#[tokio::test]
async fn retry_middleware_resends_with_bearer() {
    let server = MockServer::start().await;
    let issuer = mount_token_issuer(&server).await;
    Mock::given(path_regex("^/v1/"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    mount_api_ok(&server).await;
    let retry_policy = ExponentialBackoff::builder()
        .retry_bounds(
            std::time::Duration::from_millis(1),
            std::time::Duration::from_millis(5),
        )
        .build_with_max_retries(2);
    let client = ClientBuilder::new(reqwest::Client::new())
        .with(TracingMiddleware::default())
        .with(RetryTransientMiddleware::new_with_policy(retry_policy))
        .with(builder_for(&server).build().unwrap())
        .build();

    let response = get_api(&client, &server, "artists/1").await.unwrap();

    assert_eq!(response.status(), 200);
    assert_eq!(issuer.issued(), 1);
    assert_eq!(
        api_authorizations(&server).await,
        [
            Some("Bearer token-1".to_owned()),
            Some("Bearer token-1".to_owned())
        ]
    );
}

#[tokio::test]
async fn find_sees_through_retry_wrapper() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({
            "error": "invalid_client", "error_description": "Invalid client secret"
        })))
        .mount(&server)
        .await;
    let client = ClientBuilder::new(reqwest::Client::new())
        .with(RetryTransientMiddleware::new_with_policy(
            ExponentialBackoff::builder().build_with_max_retries(2),
        ))
        .with(builder_for(&server).build().unwrap())
        .build();

    let error = get_api(&client, &server, "artists/1").await.unwrap_err();

    // reqwest-retry wrapped the error, so a plain downcast misses it.
    let reqwest_middleware::Error::Middleware(inner) = &error else {
        panic!("expected a middleware error, got {error:?}");
    };
    assert!(inner.downcast_ref::<Error>().is_none());
    let found = Error::find(&error).expect("Error::find looks through RetryError");
    assert!(matches!(found, Error::InvalidClient { .. }), "{found:?}");
    assert_eq!(token_request_count(&server).await, 1);
}

#[test]
fn find_sees_through_nested_wrappers() {
    let ours = Error::FetchCancelled;
    let direct = reqwest_middleware::Error::middleware(ours.clone());
    let retried = reqwest_middleware::Error::middleware(reqwest_retry::RetryError::WithRetries {
        retries: 2,
        err: reqwest_middleware::Error::middleware(ours.clone()),
    });
    let unrelated = reqwest_middleware::Error::middleware(std::io::Error::other("not ours"));

    assert!(matches!(Error::find(&direct), Some(Error::FetchCancelled)));
    assert!(matches!(Error::find(&retried), Some(Error::FetchCancelled)));
    assert!(Error::find(&unrelated).is_none());
}
