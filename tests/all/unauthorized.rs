//! A 401 from the API: invalidate the token that failed, fetch a new one, resend once.

use std::time::Duration;

use futures_util::future::join_all;
use futures_util::stream;
use wiremock::matchers::{header, method, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

fn spotify_401() -> ResponseTemplate {
    ResponseTemplate::new(401).set_body_json(serde_json::json!({
        "error": { "status": 401, "message": "The access token expired" }
    }))
}

async fn mount_api_for_token(server: &MockServer, token: &str, response: ResponseTemplate) {
    Mock::given(path_regex("^/v1/"))
        .and(header("authorization", format!("Bearer {token}")))
        .respond_with(response)
        .mount(server)
        .await;
}

#[tokio::test]
async fn unauthorized_then_ok_retries_with_new_token() {
    let server = MockServer::start().await;
    let issuer = mount_token_issuer(&server).await;
    mount_api_for_token(&server, "token-1", spotify_401()).await;
    mount_api_for_token(&server, "token-2", ResponseTemplate::new(200)).await;
    let auth = builder_for(&server).build().unwrap();
    let client = client_with(auth.clone());

    let first = get_api(&client, &server, "artists/1").await.unwrap();
    let second = get_api(&client, &server, "artists/2").await.unwrap();

    assert_eq!(first.status(), 200);
    assert_eq!(second.status(), 200);
    assert_eq!(issuer.issued(), 2);
    assert_eq!(
        api_authorizations(&server).await,
        ["Bearer token-1", "Bearer token-2", "Bearer token-2"].map(|v| Some(v.to_owned()))
    );
    assert_eq!(auth.stats().unauthorized_retries, 1);
}

#[tokio::test]
async fn always_unauthorized_returns_second_401() {
    let server = MockServer::start().await;
    let issuer = mount_token_issuer(&server).await;
    Mock::given(path_regex("^/v1/"))
        .respond_with(spotify_401())
        .mount(&server)
        .await;
    let client = client_with(builder_for(&server).build().unwrap());

    let response = get_api(&client, &server, "artists/1").await.unwrap();

    assert_eq!(response.status(), 401);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["message"], "The access token expired");
    assert_eq!(api_authorizations(&server).await.len(), 2);
    assert_eq!(issuer.issued(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_concurrent_401s_one_new_token() {
    let server = MockServer::start().await;
    let issuer = mount_token_issuer(&server).await;
    // The delay keeps all hundred requests in flight with token-1 before the first 401 returns.
    mount_api_for_token(
        &server,
        "token-1",
        spotify_401().set_delay(Duration::from_millis(300)),
    )
    .await;
    mount_api_for_token(&server, "token-2", ResponseTemplate::new(200)).await;
    let auth = builder_for(&server).build().unwrap();
    let client = client_with(auth.clone());
    auth.access_token().await.unwrap();

    let calls = (0..100).map(|call| {
        let client = client.clone();
        let url = format!("{}/v1/tracks/{call}", server.uri());
        tokio::spawn(async move { client.get(url).send().await.unwrap().status() })
    });
    let statuses = join_all(calls).await;

    assert!(
        statuses
            .iter()
            .all(|status| *status.as_ref().unwrap() == 200)
    );
    assert_eq!(issuer.issued(), 2);
    let authorizations = api_authorizations(&server).await;
    let with_first = authorizations
        .iter()
        .filter(|v| v.as_deref() == Some("Bearer token-1"))
        .count();
    let with_second = authorizations
        .iter()
        .filter(|v| v.as_deref() == Some("Bearer token-2"))
        .count();
    assert_eq!(with_first, 100);
    assert_eq!(with_second, 100);
    assert_eq!(auth.stats().unauthorized_retries, 100);
}

fn streaming_body() -> reqwest::Body {
    let chunks: Vec<Result<&'static str, std::io::Error>> = vec![Ok("{\"name\":"), Ok("\"list\"}")];
    reqwest::Body::wrap_stream(stream::iter(chunks))
}

#[tokio::test]
async fn streaming_body_sent_normally() {
    let server = MockServer::start().await;
    let issuer = mount_token_issuer(&server).await;
    Mock::given(method("POST"))
        .and(path_regex("^/v1/"))
        .respond_with(ResponseTemplate::new(201))
        .mount(&server)
        .await;
    let client = client_with(builder_for(&server).build().unwrap());

    let response = client
        .post(format!("{}/v1/playlists", server.uri()))
        .body(streaming_body())
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 201);
    assert_eq!(issuer.issued(), 1);
    let received = requests_to(&server, "/v1/playlists").await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].body, b"{\"name\":\"list\"}");
    assert_eq!(received[0].headers["authorization"], "Bearer token-1");
}

#[tokio::test]
async fn streaming_body_401_not_resent() {
    let server = MockServer::start().await;
    let issuer = mount_token_issuer(&server).await;
    mount_api_for_token(&server, "token-1", spotify_401()).await;
    mount_api_for_token(&server, "token-2", ResponseTemplate::new(201)).await;
    let auth = builder_for(&server).build().unwrap();
    let client = client_with(auth.clone());

    let response = client
        .post(format!("{}/v1/playlists", server.uri()))
        .body(streaming_body())
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 401);
    assert_eq!(requests_to(&server, "/v1/playlists").await.len(), 1);
    assert_eq!(auth.stats().unauthorized_retries, 0);

    // The failed token was dropped, so the next request gets a new one.
    let next = get_api(&client, &server, "me").await.unwrap();
    assert_eq!(next.status(), 201);
    assert_eq!(issuer.issued(), 2);
}

#[tokio::test]
async fn resend_off_returns_401_and_renews() {
    let server = MockServer::start().await;
    let issuer = mount_token_issuer(&server).await;
    mount_api_for_token(&server, "token-1", spotify_401()).await;
    mount_api_for_token(&server, "token-2", ResponseTemplate::new(200)).await;
    let auth = builder_for(&server)
        .resend_on_unauthorized(false)
        .build()
        .unwrap();
    let client = client_with(auth.clone());

    let first = get_api(&client, &server, "artists/1").await.unwrap();
    let second = get_api(&client, &server, "artists/2").await.unwrap();

    assert_eq!(first.status(), 401);
    assert_eq!(second.status(), 200);
    assert_eq!(issuer.issued(), 2);
    assert_eq!(
        api_authorizations(&server).await,
        ["Bearer token-1", "Bearer token-2"].map(|v| Some(v.to_owned()))
    );
    assert_eq!(auth.stats().unauthorized_retries, 0);
}
