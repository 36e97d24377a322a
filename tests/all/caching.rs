//! Reuse of one token across calls, and its replacement at the deadline minus the margin.

use std::time::Duration;

use reqwest_spotify_auth::{DEFAULT_EXPIRY_MARGIN, TokenRetryPolicy};
use serde_json::json;
use wiremock::MockServer;

use crate::support::*;

/// Real sockets run with the clock running; `jump` pauses it only to cross the token's lifetime
/// while no request is in flight.
#[tokio::test]
async fn sequential_calls_share_token_until_margin() {
    let server = MockServer::start().await;
    let issuer = mount_token_issuer(&server).await;
    mount_api_ok(&server).await;
    let auth = builder_for(&server)
        .refresh_ahead(Duration::ZERO)
        .build()
        .unwrap();
    let client = client_with(auth.clone());

    for call in 0..50 {
        let response = get_api(&client, &server, &format!("tracks/{call}"))
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    assert_eq!(issuer.issued(), 1);
    assert_eq!(auth.stats().token_requests, 1);

    // Just before the deadline minus the margin, the token is still used.
    jump(Duration::from_secs(3600) - DEFAULT_EXPIRY_MARGIN - Duration::from_secs(5)).await;
    for call in 0..5 {
        get_api(&client, &server, &format!("albums/{call}"))
            .await
            .unwrap();
    }
    assert_eq!(issuer.issued(), 1);

    // Past it, the next call fetches a new token, and later calls reuse that one.
    jump(Duration::from_secs(10)).await;
    for call in 0..5 {
        get_api(&client, &server, &format!("artists/{call}"))
            .await
            .unwrap();
    }
    assert_eq!(issuer.issued(), 2);

    let authorizations = api_authorizations(&server).await;
    assert_eq!(authorizations.len(), 60);
    assert!(
        authorizations[..55]
            .iter()
            .all(|value| value.as_deref() == Some("Bearer token-1"))
    );
    assert!(
        authorizations[55..]
            .iter()
            .all(|value| value.as_deref() == Some("Bearer token-2"))
    );
}

#[tokio::test]
async fn short_lifetime_expires_end_to_end() {
    let server = MockServer::start().await;
    let issuer = mount_issuer(&server, TokenIssuer::new(json!(1))).await;
    mount_api_ok(&server).await;
    let auth = builder_for(&server)
        .expiry_margin(Duration::ZERO)
        .refresh_ahead(Duration::ZERO)
        .build()
        .unwrap();
    let client = client_with(auth);

    get_api(&client, &server, "a").await.unwrap();
    get_api(&client, &server, "b").await.unwrap();
    assert_eq!(issuer.issued(), 1);

    tokio::time::sleep(Duration::from_millis(1100)).await;
    get_api(&client, &server, "c").await.unwrap();
    get_api(&client, &server, "d").await.unwrap();

    assert_eq!(issuer.issued(), 2);
    assert_eq!(
        api_authorizations(&server).await,
        [
            "Bearer token-1",
            "Bearer token-1",
            "Bearer token-2",
            "Bearer token-2"
        ]
        .map(|v| Some(v.to_owned()))
    );
}

/// A 2-second token with the default 60-second margin is still used for many calls: the margin
/// shrinks to a tenth of the lifetime instead of making every call fetch.
#[tokio::test]
async fn lifetime_below_margin_still_used() {
    let server = MockServer::start().await;
    let issuer = mount_issuer(&server, TokenIssuer::new(json!(2))).await;
    mount_api_ok(&server).await;
    let auth = builder_for(&server)
        .token_retry(TokenRetryPolicy::never())
        .refresh_ahead(Duration::ZERO)
        .build()
        .unwrap();
    let client = client_with(auth);

    for call in 0..20 {
        get_api(&client, &server, &format!("x/{call}"))
            .await
            .unwrap();
    }

    assert_eq!(issuer.issued(), 1);
}
