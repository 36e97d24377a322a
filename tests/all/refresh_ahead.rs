//! Refresh ahead of expiry: the next token is fetched in the background while requests go on.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use reqwest_spotify_auth::Error;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

/// With one-hour tokens the refresh window is the default 5 minutes before the 60-second margin.
const INTO_WINDOW: Duration = Duration::from_secs(3600 - 60 - 200);

#[tokio::test]
async fn trigger_does_not_wait_for_refresh() {
    let server = MockServer::start().await;
    let slow_after_first = TokenIssuer::new(json!(3600))
        .with_delay(Duration::from_millis(800))
        .prompt_for_first(1);
    let issuer = mount_issuer(&server, slow_after_first).await;
    mount_api_ok(&server).await;
    let auth = builder_for(&server).build().unwrap();
    let client = client_with(auth.clone());
    get_api(&client, &server, "warm").await.unwrap();

    jump(INTO_WINDOW).await;
    let trigger = get_api(&client, &server, "trigger").await.unwrap();

    // The trigger went out with the old token while the slow refresh was still in flight.
    assert_eq!(trigger.status(), 200);
    assert_eq!(auth.stats().background_refreshes, 1);
    assert_eq!(
        last_authorization(&server).await.as_deref(),
        Some("Bearer token-1")
    );

    let token = auth.access_token().await.unwrap();
    assert_eq!(token.secret(), "token-1");
    wait_until(|| auth.stats().token_requests == 2 && token_is(&auth, "token-2")).await;

    get_api(&client, &server, "after").await.unwrap();
    assert_eq!(
        last_authorization(&server).await.as_deref(),
        Some("Bearer token-2")
    );
    assert_eq!(issuer.issued(), 2);
    assert_eq!(auth.stats().background_refreshes, 1);
}

/// Returns `true` when the cache contains `expected` now, without waiting for a fetch.
fn token_is(auth: &reqwest_spotify_auth::SpotifyAuthMiddleware, expected: &str) -> bool {
    let current = futures_util::FutureExt::now_or_never(auth.access_token());
    matches!(current, Some(Ok(token)) if token.secret() == expected)
}

#[tokio::test]
async fn failed_refresh_keeps_old_token_until_expiry() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "token-1", "token_type": "Bearer", "expires_in": 3600
        })))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(503).set_body_raw("<html>down</html>", "text/html"))
        .mount(&server)
        .await;
    mount_api_ok(&server).await;
    let auth = builder_for(&server)
        .failure_cooldown(Duration::from_millis(300))
        .build()
        .unwrap();
    let client = client_with(auth.clone());
    get_api(&client, &server, "warm").await.unwrap();

    jump(INTO_WINDOW).await;
    let trigger = get_api(&client, &server, "trigger").await.unwrap();
    assert_eq!(trigger.status(), 200);
    wait_until(|| auth.stats().background_refresh_failures == 1).await;

    // Within the cool-down, requests go on with the old token and start no new fetch.
    for call in 0..5 {
        let response = get_api(&client, &server, &format!("during/{call}"))
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    assert_eq!(token_request_count(&server).await, 2);

    // After it, the next request tries again in the background and still succeeds.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let retry_trigger = get_api(&client, &server, "retry").await.unwrap();
    assert_eq!(retry_trigger.status(), 200);
    wait_until(|| auth.stats().background_refresh_failures == 2).await;
    assert_eq!(token_request_count(&server).await, 3);
    assert_eq!(auth.stats().background_refreshes, 2);

    let authorizations = api_authorizations(&server).await;
    assert_eq!(authorizations.len(), 8);
    assert!(
        authorizations
            .iter()
            .all(|value| value.as_deref() == Some("Bearer token-1"))
    );

    // Past the margin the old token is no longer used, and the failure reaches the caller.
    jump(Duration::from_secs(300)).await;
    let error = auth_error(get_api(&client, &server, "expired").await.unwrap_err());
    assert!(
        matches!(error.root(), Error::TokenEndpoint { status, .. } if status.as_u16() == 503),
        "{error:?}"
    );
    assert_eq!(api_authorizations(&server).await.len(), 8);
}

#[tokio::test]
async fn refresh_ahead_zero_fetches_only_at_expiry() {
    let server = MockServer::start().await;
    let issuer = mount_token_issuer(&server).await;
    mount_api_ok(&server).await;
    let auth = builder_for(&server)
        .refresh_ahead(Duration::ZERO)
        .build()
        .unwrap();
    let client = client_with(auth.clone());
    get_api(&client, &server, "warm").await.unwrap();

    jump(INTO_WINDOW).await;
    get_api(&client, &server, "in-window").await.unwrap();

    assert_eq!(issuer.issued(), 1);
    assert_eq!(auth.stats().background_refreshes, 0);
}

#[tokio::test]
async fn dropping_owners_stops_refresh() {
    let endpoint = HangingTokenEndpoint::start().await;
    let api = MockServer::start().await;
    mount_api_ok(&api).await;
    let auth = reqwest_spotify_auth::SpotifyAuthMiddleware::builder(CLIENT_ID, CLIENT_SECRET)
        .token_url(endpoint.url())
        .api_origins([api.uri()])
        .token_timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let client = client_with(auth.clone());
    get_api(&client, &api, "warm").await.unwrap();

    jump(INTO_WINDOW).await;
    get_api(&client, &api, "trigger").await.unwrap();
    endpoint.wait_for_hanging_request().await;
    assert!(!endpoint.hanging_request_closed());

    drop(client);
    drop(auth);

    wait_until(|| endpoint.hanging_request_closed()).await;
}

/// A token endpoint on a raw socket: it returns a token for the first request and closes that
/// connection, then leaves every later request unanswered and records when the client hangs up.
/// It shows whether a background fetch is still running, which no HTTP mock can.
struct HangingTokenEndpoint {
    address: std::net::SocketAddr,
    hanging: Arc<tokio::sync::Notify>,
    closed: Arc<AtomicBool>,
}

impl HangingTokenEndpoint {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let hanging = Arc::new(tokio::sync::Notify::new());
        let closed = Arc::new(AtomicBool::new(false));
        let (notify, flag) = (Arc::clone(&hanging), Arc::clone(&closed));

        tokio::spawn(async move {
            let (mut first, _) = listener.accept().await.unwrap();
            read_request_head(&mut first).await;
            let body = r#"{"access_token":"token-1","token_type":"Bearer","expires_in":3600}"#;
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            first.write_all(answer.as_bytes()).await.unwrap();
            drop(first);

            let (mut second, _) = listener.accept().await.unwrap();
            read_request_head(&mut second).await;
            notify.notify_one();
            let mut rest = [0_u8; 1024];
            while second.read(&mut rest).await.is_ok_and(|read| read > 0) {}
            flag.store(true, Ordering::SeqCst);
        });

        HangingTokenEndpoint {
            address,
            hanging,
            closed,
        }
    }

    fn url(&self) -> String {
        format!("http://{}{TOKEN_PATH}", self.address)
    }

    async fn wait_for_hanging_request(&self) {
        tokio::time::timeout(Duration::from_secs(10), self.hanging.notified())
            .await
            .expect("the refresh reached the token endpoint");
    }

    fn hanging_request_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }
}

/// Reads until the blank line that ends a request head; the token request body follows in the
/// same packet and is left unread.
async fn read_request_head(stream: &mut tokio::net::TcpStream) {
    let mut seen = Vec::new();
    let mut buffer = [0_u8; 1024];
    while !seen.windows(4).any(|window| window == b"\r\n\r\n") {
        let read = stream.read(&mut buffer).await.unwrap();
        assert!(read > 0, "the client closed before sending a request");
        seen.extend_from_slice(&buffer[..read]);
    }
}

/// With 4-second tokens and default settings, steady load renews the token about once per
/// lifetime, always ahead of expiry, and the API never receives an expired token.
#[tokio::test]
async fn short_tokens_steady_load_no_401s() {
    let fake = reqwest_spotify_auth::testing::FakeSpotify::builder()
        .token_lifetime(Duration::from_secs(4))
        .start()
        .await;
    let auth = fake.auth_builder().build().unwrap();
    let client = client_with(auth.clone());
    let url = format!(
        "{}/artists/{}",
        fake.api_url(),
        fake.catalog().artists()[0].id
    );

    let started = std::time::Instant::now();
    let mut ticker = tokio::time::interval(Duration::from_millis(25));
    let mut requests = 0;
    while started.elapsed() < Duration::from_secs(7) {
        ticker.tick().await;
        let response = client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        requests += 1;
    }

    let served = fake.stats();
    assert_eq!(served.api_status_count(200), requests);
    assert_eq!(served.api_status_count(401), 0);
    assert_eq!(served.expired_token_rejections, 0);
    // Fetches at 0 s and then every 3.2 s: the margin and the window are each a tenth of 4 s.
    assert!(
        (2..=3).contains(&served.tokens_issued),
        "{} tokens in 7 s",
        served.tokens_issued
    );
    let stats = auth.stats();
    assert_eq!(stats.token_requests, served.tokens_issued);
    assert_eq!(
        stats.background_refreshes,
        served.tokens_issued - 1,
        "every renewal was ahead of expiry"
    );
    assert_eq!(stats.unauthorized_retries, 0);
}
