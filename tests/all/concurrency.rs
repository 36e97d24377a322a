//! Single flight: one token request however many calls need a token at once.

use std::time::Duration;

use futures_util::future::join_all;
use serde_json::json;
use wiremock::MockServer;

use crate::support::*;

const CALLS: usize = 1_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_cold_calls_one_token_request() {
    let server = MockServer::start().await;
    let issuer = TokenIssuer::new(json!(3600)).with_delay(Duration::from_millis(300));
    let issuer = mount_issuer(&server, issuer).await;
    mount_api_ok(&server).await;
    let client = client_with(builder_for(&server).build().unwrap());

    let calls = (0..CALLS).map(|call| {
        let client = client.clone();
        let url = format!("{}/v1/tracks/{call}", server.uri());
        tokio::spawn(async move {
            client
                .get(url)
                .send()
                .await
                .map(|response| response.status())
        })
    });
    let statuses = join_all(calls).await;

    assert!(
        statuses
            .iter()
            .all(|status| matches!(status, Ok(Ok(code)) if *code == 200))
    );
    assert_eq!(issuer.issued(), 1);
    assert_eq!(token_request_count(&server).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_calls_at_expiry_one_token_request() {
    let server = MockServer::start().await;
    let issuer = TokenIssuer::new(json!(1)).with_delay(Duration::from_millis(200));
    let issuer = mount_issuer(&server, issuer).await;
    mount_api_ok(&server).await;
    let auth = builder_for(&server)
        .expiry_margin(Duration::ZERO)
        .refresh_ahead(Duration::ZERO)
        .build()
        .unwrap();
    let client = client_with(auth);
    get_api(&client, &server, "warm").await.unwrap();
    assert_eq!(issuer.issued(), 1);

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let calls = (0..CALLS).map(|call| {
        let client = client.clone();
        let url = format!("{}/v1/tracks/{call}", server.uri());
        tokio::spawn(async move {
            client
                .get(url)
                .send()
                .await
                .map(|response| response.status())
        })
    });
    let statuses = join_all(calls).await;

    assert!(
        statuses
            .iter()
            .all(|status| matches!(status, Ok(Ok(code)) if *code == 200))
    );
    assert_eq!(issuer.issued(), 2);
}

#[tokio::test]
async fn dropped_trigger_does_not_hang_others() {
    let server = MockServer::start().await;
    let issuer = TokenIssuer::new(json!(3600)).with_delay(Duration::from_millis(400));
    let issuer = mount_issuer(&server, issuer).await;
    mount_api_ok(&server).await;
    let client = client_with(builder_for(&server).build().unwrap());

    // The first call starts the fetch and is then dropped while the fetch is in flight.
    let first = tokio::time::timeout(
        Duration::from_millis(100),
        get_api(&client, &server, "first"),
    )
    .await;
    assert!(
        first.is_err(),
        "the first call should still be waiting when dropped"
    );

    let second = tokio::time::timeout(Duration::from_secs(5), get_api(&client, &server, "second"))
        .await
        .expect("the second call finishes")
        .unwrap();

    assert_eq!(second.status(), 200);
    assert_eq!(issuer.issued(), 1);
    assert_eq!(
        api_authorizations(&server).await,
        [Some("Bearer token-1".to_owned())]
    );
}
