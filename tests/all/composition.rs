//! The middleware inside the chains users build with reqwest-retry and reqwest-tracing.

use reqwest_middleware::ClientBuilder;
use reqwest_retry::RetryTransientMiddleware;
use reqwest_retry::policies::ExponentialBackoff;
use reqwest_tracing::TracingMiddleware;
use wiremock::matchers::path_regex;
use wiremock::{Mock, MockServer, ResponseTemplate};

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
