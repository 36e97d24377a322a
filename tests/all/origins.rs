//! Which requests receive the token.

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

#[tokio::test]
async fn other_origin_gets_nothing() {
    let api = MockServer::start().await;
    let issuer = mount_token_issuer(&api).await;
    let other = MockServer::start().await;
    mount_api_ok(&other).await;
    let auth = builder_for(&api).build().unwrap();
    let client = client_with(auth.clone());

    let response = get_api(&client, &other, "elsewhere").await.unwrap();

    assert_eq!(response.status(), 200);
    assert_eq!(api_authorizations(&other).await, [None]);
    assert_eq!(issuer.issued(), 0);
    assert_eq!(auth.stats().token_requests, 0);
}

#[tokio::test]
async fn caller_authorization_passes_unchanged() {
    let server = MockServer::start().await;
    let issuer = mount_token_issuer(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1/me"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    let client = client_with(builder_for(&server).build().unwrap());

    let response = client
        .get(format!("{}/v1/me", server.uri()))
        .header("authorization", "Bearer user-token")
        .send()
        .await
        .unwrap();

    // Not retried on 401 either: the caller owns that header.
    assert_eq!(response.status(), 401);
    assert_eq!(
        api_authorizations(&server).await,
        [Some("Bearer user-token".to_owned())]
    );
    assert_eq!(issuer.issued(), 0);
}

#[tokio::test]
async fn redirect_to_other_origin_drops_token() {
    let api = MockServer::start().await;
    mount_token_issuer(&api).await;
    let other = MockServer::start().await;
    mount_api_ok(&other).await;
    Mock::given(method("GET"))
        .and(path("/v1/moved"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("location", format!("{}/v1/landing", other.uri())),
        )
        .mount(&api)
        .await;
    let client = client_with(builder_for(&api).build().unwrap());

    let response = get_api(&client, &api, "moved").await.unwrap();

    assert_eq!(response.status(), 200);
    assert_eq!(
        response.url().as_str(),
        format!("{}/v1/landing", other.uri())
    );
    assert_eq!(
        api_authorizations(&api).await,
        [Some("Bearer token-1".to_owned())]
    );
    assert_eq!(api_authorizations(&other).await, [None]);
}
