//! Token endpoint faults: retries within the budget, cool-downs, and the wall-clock guard.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use reqwest_spotify_auth::{Error, TokenRetryPolicy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;

fn fast_retries() -> TokenRetryPolicy {
    TokenRetryPolicy::default()
        .initial_backoff(Duration::from_millis(10))
        .max_backoff(Duration::from_millis(20))
}

async fn mount_token_failure(server: &MockServer, answer: ResponseTemplate, times: u64) {
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(answer)
        .up_to_n_times(times)
        .mount(server)
        .await;
}

#[tokio::test]
async fn transient_failures_retried_then_succeed() {
    let server = MockServer::start().await;
    mount_token_failure(&server, ResponseTemplate::new(503), 1).await;
    mount_token_failure(
        &server,
        ResponseTemplate::new(502).set_body_raw("<html>bad gateway</html>", "text/html"),
        1,
    )
    .await;
    let issuer = mount_token_issuer(&server).await;
    let auth = builder_for(&server)
        .token_retry(fast_retries())
        .build()
        .unwrap();

    let token = auth.access_token().await.unwrap();

    assert_eq!(token.secret(), "token-1");
    assert_eq!(token_request_count(&server).await, 3);
    assert_eq!(issuer.issued(), 1);
    assert_eq!(auth.stats().token_requests, 3);
    assert_eq!(auth.stats().token_failures, 2);
}

#[tokio::test]
async fn retry_after_within_budget_is_honoured() {
    let server = MockServer::start().await;
    mount_token_failure(
        &server,
        ResponseTemplate::new(429).insert_header("retry-after", "1"),
        1,
    )
    .await;
    mount_token_issuer(&server).await;
    let auth = builder_for(&server)
        .token_retry(fast_retries())
        .build()
        .unwrap();

    let started = std::time::Instant::now();
    let token = auth.access_token().await.unwrap();

    assert_eq!(token.secret(), "token-1");
    assert_eq!(token_request_count(&server).await, 2);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "the retry waited for Retry-After"
    );
}

#[tokio::test]
async fn retry_after_beyond_budget_fails_at_once() {
    let server = MockServer::start().await;
    mount_token_failure(
        &server,
        ResponseTemplate::new(429).insert_header("retry-after", "30"),
        1,
    )
    .await;
    mount_token_issuer(&server).await;
    let auth = builder_for(&server)
        .token_retry(fast_retries())
        .token_timeout(Duration::from_secs(5))
        .failure_cooldown(Duration::from_secs(1))
        .build()
        .unwrap();

    let error = auth.access_token().await.unwrap_err();

    let Error::TokenEndpoint {
        status,
        retry_after,
        ..
    } = &error
    else {
        panic!("expected TokenEndpoint, got {error:?}");
    };
    assert_eq!(*status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(*retry_after, Some(Duration::from_secs(30)));
    assert!(error.to_string().contains("retry after 30 s"), "{error}");
    assert_eq!(token_request_count(&server).await, 1);

    // The server's wait outlasts the one-second cool-down, so no request goes out meanwhile.
    let next = auth.access_token().await.unwrap_err();
    let Error::CoolingDown { retry_in, .. } = &next else {
        panic!("expected CoolingDown, got {next:?}");
    };
    assert!(
        *retry_in > Duration::from_secs(25) && *retry_in <= Duration::from_secs(30),
        "{retry_in:?}"
    );
    assert_eq!(token_request_count(&server).await, 1);
}

#[tokio::test]
async fn client_errors_never_retried() {
    for answer in [
        ResponseTemplate::new(400).set_body_json(serde_json::json!({"error": "invalid_request"})),
        ResponseTemplate::new(401).set_body_json(serde_json::json!({"error": "invalid_client"})),
        ResponseTemplate::new(404),
        ResponseTemplate::new(408),
    ] {
        let server = MockServer::start().await;
        mount_token_failure(&server, answer, 1).await;
        let auth = builder_for(&server)
            .token_retry(fast_retries())
            .build()
            .unwrap();

        let error = auth.access_token().await.unwrap_err();

        assert!(!error.is_transient(), "{error:?}");
        assert_eq!(token_request_count(&server).await, 1, "{error:?}");
    }
}

#[tokio::test]
async fn retries_end_within_budget() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let policy = TokenRetryPolicy::default()
        .max_attempts(1000)
        .initial_backoff(Duration::from_millis(100))
        .max_backoff(Duration::from_millis(200));
    let auth = builder_for(&server)
        .token_retry(policy)
        .token_timeout(Duration::from_secs(1))
        .build()
        .unwrap();

    let error = auth.access_token().await.unwrap_err();

    // The last response is reported, not a timeout: no retry was started that could not finish.
    assert!(
        matches!(&error, Error::TokenEndpoint { status, .. } if *status == StatusCode::SERVICE_UNAVAILABLE),
        "{error:?}"
    );
    let attempts = token_request_count(&server).await;
    assert!(
        (3..=11).contains(&attempts),
        "{attempts} attempts in a 1 s budget with 100-200 ms delays"
    );
}

#[tokio::test]
async fn cooldown_bounds_requests_to_broken_endpoint() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    mount_api_ok(&server).await;
    let auth = builder_for(&server)
        .failure_cooldown(Duration::from_millis(500))
        .max_failure_cooldown(Duration::from_secs(30))
        .build()
        .unwrap();
    let client = client_with(auth.clone());

    let mut errors = Vec::new();
    for call in 0..100 {
        errors.push(auth_error(
            get_api(&client, &server, &format!("t/{call}"))
                .await
                .unwrap_err(),
        ));
    }

    assert_eq!(token_request_count(&server).await, 1);
    assert!(
        matches!(errors[0], Error::TokenEndpoint { .. }),
        "{:?}",
        errors[0]
    );
    for error in &errors[1..] {
        let Error::CoolingDown {
            retry_in,
            last_error,
        } = error
        else {
            panic!("expected CoolingDown, got {error:?}");
        };
        assert!(*retry_in <= Duration::from_millis(500));
        assert!(matches!(**last_error, Error::TokenEndpoint { .. }));
        assert!(
            error.to_string().contains("next attempt is allowed in"),
            "{error}"
        );
    }
    assert_eq!(auth.stats().cooldown_rejections, 99);
    assert_eq!(api_authorizations(&server).await.len(), 0);

    // After the pause one fetch goes out; it fails, and the next pause is twice as long.
    tokio::time::sleep(Duration::from_millis(550)).await;
    assert!(matches!(
        auth.access_token().await.unwrap_err(),
        Error::TokenEndpoint { .. }
    ));
    let Error::CoolingDown { retry_in, .. } = auth.access_token().await.unwrap_err() else {
        panic!("expected CoolingDown");
    };
    assert!(
        retry_in > Duration::from_millis(500) && retry_in <= Duration::from_secs(1),
        "{retry_in:?}"
    );
    assert_eq!(token_request_count(&server).await, 2);
}

#[tokio::test]
async fn dropped_connection_is_retried() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let connections = Arc::new(Mutex::new(0));
    let counter = Arc::clone(&connections);
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            let number = {
                let mut count = counter.lock().unwrap();
                *count += 1;
                *count
            };
            let mut buffer = [0_u8; 4096];
            let _ = stream.read(&mut buffer).await;
            if number == 1 {
                continue;
            }
            let body = r#"{"access_token":"after-reset","token_type":"Bearer","expires_in":3600}"#;
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(answer.as_bytes()).await.unwrap();
        }
    });
    let auth = reqwest_spotify_auth::SpotifyAuthMiddleware::builder(CLIENT_ID, CLIENT_SECRET)
        .token_url(format!("http://{address}{TOKEN_PATH}"))
        .token_retry(fast_retries())
        .build()
        .unwrap();

    let token = auth.access_token().await.unwrap();

    assert_eq!(token.secret(), "after-reset");
    assert_eq!(*connections.lock().unwrap(), 2);
    assert_eq!(auth.stats().token_failures, 1);
}

/// The monotonic clock stops while a machine sleeps; the wall clock does not, and a jump in it
/// retires the token.
#[tokio::test]
async fn wall_clock_jump_refetches() {
    let server = MockServer::start().await;
    let issuer = mount_token_issuer(&server).await;
    mount_api_ok(&server).await;
    let wall_now = Arc::new(Mutex::new(SystemTime::now()));
    let reader = Arc::clone(&wall_now);
    let auth = builder_for(&server)
        .wall_clock(move || *reader.lock().unwrap())
        .build()
        .unwrap();
    let client = client_with(auth);
    get_api(&client, &server, "before").await.unwrap();

    *wall_now.lock().unwrap() += Duration::from_secs(2 * 3600);
    get_api(&client, &server, "after-resume").await.unwrap();

    assert_eq!(issuer.issued(), 2);
    assert_eq!(
        api_authorizations(&server).await,
        [
            Some("Bearer token-1".to_owned()),
            Some("Bearer token-2".to_owned())
        ]
    );
}
