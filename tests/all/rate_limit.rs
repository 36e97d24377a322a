//! `RateLimitMiddleware`: 429 responses pause every request to the origin.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::stream;
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use reqwest_spotify_auth::RateLimitMiddleware;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::support::*;

/// Responds with a fixed template and records when each request arrived, and on which path.
#[derive(Clone)]
struct Recorded {
    template: ResponseTemplate,
    arrivals: Arc<Mutex<Vec<(String, Instant)>>>,
}

impl Recorded {
    fn new(template: ResponseTemplate, arrivals: &Arc<Mutex<Vec<(String, Instant)>>>) -> Self {
        Recorded {
            template,
            arrivals: Arc::clone(arrivals),
        }
    }
}

impl Respond for Recorded {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.arrivals
            .lock()
            .unwrap()
            .push((request.url.path().to_owned(), Instant::now()));
        self.template.clone()
    }
}

fn too_many(retry_after: &str) -> ResponseTemplate {
    ResponseTemplate::new(429)
        .insert_header("retry-after", retry_after)
        .set_body_json(
            serde_json::json!({"error": {"status": 429, "message": "API rate limit exceeded"}}),
        )
}

fn client_with_limit(limit: &RateLimitMiddleware) -> ClientWithMiddleware {
    ClientBuilder::new(reqwest::Client::new())
        .with(limit.clone())
        .build()
}

fn arrival(
    arrivals: &Arc<Mutex<Vec<(String, Instant)>>>,
    request_path: &str,
    nth: usize,
) -> Instant {
    let arrivals = arrivals.lock().unwrap();
    arrivals
        .iter()
        .filter(|(seen, _)| seen == request_path)
        .nth(nth)
        .unwrap_or_else(|| panic!("no request {nth} to {request_path} in {arrivals:?}"))
        .1
}

#[tokio::test]
async fn pause_holds_every_request_to_origin() {
    let server = MockServer::start().await;
    let arrivals = Arc::default();
    Mock::given(path("/v1/first"))
        .respond_with(Recorded::new(too_many("1"), &arrivals))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path_regex("^/v1/"))
        .respond_with(Recorded::new(ResponseTemplate::new(200), &arrivals))
        .mount(&server)
        .await;
    let limit = RateLimitMiddleware::new();
    let client = client_with_limit(&limit);

    let first = tokio::spawn({
        let request = client.get(format!("{}/v1/first", server.uri()));
        async move { request.send().await.unwrap().status() }
    });
    wait_until(|| limit.stats().responses_429 == 1).await;
    let second = get_api(&client, &server, "second").await.unwrap();

    assert_eq!(first.await.unwrap(), 200);
    assert_eq!(second.status(), 200);
    let limited_at = arrival(&arrivals, "/v1/first", 0);
    assert!(arrival(&arrivals, "/v1/second", 0) - limited_at >= Duration::from_secs(1));
    assert!(arrival(&arrivals, "/v1/first", 1) - limited_at >= Duration::from_secs(1));
    let stats = limit.stats();
    assert_eq!(stats.responses_429, 1);
    assert_eq!(stats.retries, 1);
    assert_eq!(stats.delayed_requests, 2);
    assert!(stats.total_wait > Duration::ZERO);
}

#[tokio::test]
async fn other_origin_is_not_paused() {
    let limited = MockServer::start().await;
    let other = MockServer::start().await;
    let arrivals = Arc::default();
    Mock::given(path("/v1/first"))
        .respond_with(Recorded::new(too_many("3"), &arrivals))
        .up_to_n_times(1)
        .mount(&limited)
        .await;
    Mock::given(path_regex("^/v1/"))
        .respond_with(Recorded::new(ResponseTemplate::new(200), &arrivals))
        .mount(&limited)
        .await;
    Mock::given(path_regex("^/v1/"))
        .respond_with(Recorded::new(ResponseTemplate::new(200), &arrivals))
        .mount(&other)
        .await;
    let limit = RateLimitMiddleware::new();
    let client = client_with_limit(&limit);

    let first = tokio::spawn({
        let request = client.get(format!("{}/v1/first", limited.uri()));
        async move { request.send().await.unwrap().status() }
    });
    wait_until(|| limit.stats().responses_429 == 1).await;
    let elsewhere = get_api(&client, &other, "elsewhere").await.unwrap();

    assert_eq!(elsewhere.status(), 200);
    assert_eq!(first.await.unwrap(), 200);
    assert!(arrival(&arrivals, "/v1/elsewhere", 0) < arrival(&arrivals, "/v1/first", 1));
    assert_eq!(limit.stats().delayed_requests, 1);
}

#[tokio::test]
async fn long_retry_after_returned_at_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(too_many("120"))
        .mount(&server)
        .await;
    let limit = RateLimitMiddleware::new();
    let client = client_with_limit(&limit);

    let response = get_api(&client, &server, "albums/1").await.unwrap();

    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "120");
    assert_eq!(api_authorizations(&server).await.len(), 1);
    assert_eq!(limit.stats().retries, 0);

    // Later requests are not held for two minutes either: they go out and get the 429.
    let later = get_api(&client, &server, "albums/2").await.unwrap();
    assert_eq!(later.status(), 429);
    assert_eq!(limit.stats().delayed_requests, 0);
}

#[tokio::test]
async fn resends_capped_per_request() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(too_many("0"))
        .mount(&server)
        .await;
    let limit = RateLimitMiddleware::new().max_retries(3);
    let client = client_with_limit(&limit);

    let response = get_api(&client, &server, "tracks/1").await.unwrap();

    assert_eq!(response.status(), 429);
    assert_eq!(api_authorizations(&server).await.len(), 4);
    assert_eq!(limit.stats().responses_429, 4);
    assert_eq!(limit.stats().retries, 3);
}

#[tokio::test]
async fn missing_retry_after_passes_through() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429))
        .mount(&server)
        .await;
    let limit = RateLimitMiddleware::new();
    let client = client_with_limit(&limit);

    let response = get_api(&client, &server, "tracks/1").await.unwrap();

    assert_eq!(response.status(), 429);
    assert_eq!(api_authorizations(&server).await.len(), 1);
    assert_eq!(limit.stats().retries, 0);
}

#[tokio::test]
async fn streaming_body_429_not_resent() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(too_many("0"))
        .mount(&server)
        .await;
    let limit = RateLimitMiddleware::new();
    let client = client_with_limit(&limit);
    let chunks: Vec<Result<&'static str, std::io::Error>> = vec![Ok("{}")];

    let response = client
        .put(format!("{}/v1/me/following", server.uri()))
        .body(reqwest::Body::wrap_stream(stream::iter(chunks)))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 429);
    assert_eq!(requests_to(&server, "/v1/me/following").await.len(), 1);
}

#[tokio::test]
async fn resent_request_carries_token() {
    let server = MockServer::start().await;
    let issuer = mount_token_issuer(&server).await;
    Mock::given(path_regex("^/v1/"))
        .respond_with(too_many("1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    mount_api_ok(&server).await;
    let limit = RateLimitMiddleware::new();
    let client = ClientBuilder::new(reqwest::Client::new())
        .with(limit.clone())
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
    assert_eq!(limit.stats().retries, 1);
}
