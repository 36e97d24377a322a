//! `FakeSpotify`: its token rules, 401 responses, catalog paging, injected faults and counters,
//! checked with plain `reqwest` requests over loopback.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use reqwest_spotify_auth::testing::{CannedResponse, FakeSpotify, Fault};
use reqwest_spotify_auth::{Error, TokenRetryPolicy};
use serde_json::{Value, json};

use crate::support::client_with;

const FORM: &str = "application/x-www-form-urlencoded";

/// A response read into memory.
pub struct BufferedResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl BufferedResponse {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|error| panic!("body is not JSON ({error}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|value| value.to_str().unwrap())
    }
}

async fn read(response: reqwest::Response) -> BufferedResponse {
    BufferedResponse {
        status: response.status(),
        headers: response.headers().clone(),
        body: response.text().await.unwrap(),
    }
}

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", BASE64.encode(format!("{id}:{secret}")))
}

/// Sends a token request with the given `Authorization`, `Content-Type` and body.
async fn post_token(
    fake: &FakeSpotify,
    authorization: Option<&str>,
    content_type: Option<&str>,
    body: &str,
) -> BufferedResponse {
    let mut request = reqwest::Client::new()
        .post(fake.token_url())
        .body(body.to_owned());
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    if let Some(value) = content_type {
        request = request.header("content-type", value);
    }
    read(request.send().await.unwrap()).await
}

/// Sends a correct token request.
async fn post_good_token(fake: &FakeSpotify) -> BufferedResponse {
    let authorization = basic(fake.client_id(), fake.client_secret());
    post_token(
        fake,
        Some(&authorization),
        Some(FORM),
        "grant_type=client_credentials",
    )
    .await
}

/// Returns a new token from the fake.
pub async fn issue_token(fake: &FakeSpotify) -> String {
    let response = post_good_token(fake).await;
    assert_eq!(response.status, 200, "{}", response.body);
    response.json()["access_token"].as_str().unwrap().to_owned()
}

/// Sends `GET {uri}{path}` with an optional bearer token and no middleware.
pub async fn api_get(fake: &FakeSpotify, token: Option<&str>, path: &str) -> BufferedResponse {
    let mut request = reqwest::Client::new().get(format!("{}{path}", fake.uri()));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    read(request.send().await.unwrap()).await
}

/// Sends `GET` to an absolute URL taken from a paging object.
async fn get_link(token: &str, url: &str) -> BufferedResponse {
    let request = reqwest::Client::new().get(url).bearer_auth(token);
    read(request.send().await.unwrap()).await
}

fn spotify_error(status: u16, message: &str) -> Value {
    json!({ "error": { "status": status, "message": message } })
}

fn oauth_error(error: &str, description: &str) -> Value {
    json!({ "error": error, "error_description": description })
}

// Token endpoint.

#[tokio::test]
async fn token_issued_for_good_credentials() {
    let fake = FakeSpotify::start().await;

    let response = post_good_token(&fake).await;

    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert_eq!(response.header("pragma"), Some("no-cache"));
    let body = response.json();
    assert_eq!(body.as_object().unwrap().len(), 3);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let token = body["access_token"].as_str().unwrap();
    assert!(token.len() >= 40);
    assert!(token.bytes().all(|byte| byte.is_ascii_alphanumeric()));

    let stats = fake.stats();
    assert_eq!(stats.token_requests, 1);
    assert_eq!(stats.tokens_issued, 1);
    assert_eq!(stats.token_rejections, 0);
    assert_eq!(stats.token_faults, 0);
}

#[tokio::test]
async fn tokens_differ_between_requests() {
    let fake = FakeSpotify::start().await;

    let first = issue_token(&fake).await;
    let second = issue_token(&fake).await;

    assert_ne!(first, second);
    assert_eq!(fake.stats().tokens_issued, 2);
}

#[tokio::test]
async fn token_rejects_bad_client() {
    let fake = FakeSpotify::start().await;
    let grant = "grant_type=client_credentials";
    let wrong_secret = basic(fake.client_id(), "wrong-secret");
    let wrong_id = basic("someone-else", fake.client_secret());

    let cases = [
        (Some(wrong_secret.as_str()), "Invalid client secret"),
        (Some(wrong_id.as_str()), "Invalid client"),
        (None, "Invalid client"),
        (Some("Bearer abc"), "Invalid client"),
        (Some("Basic not-base64!"), "Invalid client"),
    ];
    for (authorization, description) in cases {
        let response = post_token(&fake, authorization, Some(FORM), grant).await;

        assert_eq!(response.status, 400, "{authorization:?}");
        assert_eq!(response.header("content-type"), Some("application/json"));
        assert_eq!(
            response.json(),
            oauth_error("invalid_client", description),
            "{authorization:?}"
        );
    }

    let stats = fake.stats();
    assert_eq!(stats.token_requests, 5);
    assert_eq!(stats.token_rejections, 5);
    assert_eq!(stats.tokens_issued, 0);
}

#[tokio::test]
async fn token_rejects_wrong_grant_type() {
    let fake = FakeSpotify::start().await;
    let authorization = basic(fake.client_id(), fake.client_secret());

    let cases = [
        (
            "grant_type=password",
            oauth_error(
                "unsupported_grant_type",
                "grant_type must be client_credentials",
            ),
        ),
        (
            "scope=x",
            oauth_error("invalid_request", "grant_type parameter is missing"),
        ),
        (
            "",
            oauth_error("invalid_request", "grant_type parameter is missing"),
        ),
        (
            "grant_type=client_credentials&grant_type=client_credentials",
            oauth_error("invalid_request", "grant_type parameter is repeated"),
        ),
    ];
    for (body, expected) in cases {
        let response = post_token(&fake, Some(&authorization), Some(FORM), body).await;

        assert_eq!(response.status, 400, "{body}");
        assert_eq!(response.json(), expected, "{body}");
    }

    assert_eq!(fake.stats().token_rejections, 4);
}

#[tokio::test]
async fn token_checks_content_type() {
    let fake = FakeSpotify::start().await;
    let authorization = basic(fake.client_id(), fake.client_secret());
    let grant = "grant_type=client_credentials";
    let expected = oauth_error(
        "invalid_request",
        "Content-Type must be application/x-www-form-urlencoded",
    );

    for content_type in [Some("application/json"), Some("text/plain"), None] {
        let response = post_token(&fake, Some(&authorization), content_type, grant).await;

        assert_eq!(response.status, 400, "{content_type:?}");
        assert_eq!(response.json(), expected, "{content_type:?}");
    }

    let with_charset = "application/x-www-form-urlencoded; charset=UTF-8";
    let accepted = post_token(&fake, Some(&authorization), Some(with_charset), grant).await;
    assert_eq!(accepted.status, 200);
}

#[tokio::test]
async fn token_endpoint_rejects_get() {
    let fake = FakeSpotify::start().await;

    let response = read(
        reqwest::Client::new()
            .get(fake.token_url())
            .send()
            .await
            .unwrap(),
    )
    .await;

    assert_eq!(response.status, 405);
    assert_eq!(response.header("allow"), Some("POST"));
    assert_eq!(
        response.json(),
        oauth_error("invalid_request", "The token endpoint accepts only POST")
    );
    assert_eq!(fake.stats().token_rejections, 1);
}

#[tokio::test]
async fn custom_credentials_and_lifetime() {
    let fake = FakeSpotify::builder()
        .credentials("id:with colon", "sécret&+/=")
        .token_lifetime(Duration::from_secs(2))
        .start()
        .await;
    let auth = fake.auth_builder().build().unwrap();

    let token = auth.access_token().await.unwrap();

    assert_eq!(token.lifetime(), Duration::from_secs(2));
    assert_eq!(fake.client_id(), "id:with colon");
    assert_eq!(fake.client_secret(), "sécret&+/=");
    assert_eq!(fake.token_lifetime(), Duration::from_secs(2));
    assert_eq!(fake.stats().tokens_issued, 1);
}

#[tokio::test]
#[should_panic(expected = "whole number of seconds")]
async fn fractional_lifetime_panics() {
    FakeSpotify::builder()
        .token_lifetime(Duration::from_millis(1500))
        .start()
        .await;
}

#[tokio::test]
#[should_panic(expected = "whole number of seconds")]
async fn zero_lifetime_panics() {
    FakeSpotify::builder()
        .token_lifetime(Duration::ZERO)
        .start()
        .await;
}

#[tokio::test]
#[should_panic(expected = "from 1 s to one year")]
async fn lifetime_over_a_year_panics() {
    FakeSpotify::builder()
        .token_lifetime(Duration::from_secs(366 * 24 * 3600))
        .start()
        .await;
}

#[tokio::test]
async fn debug_hides_client_secret() {
    let builder = FakeSpotify::builder().credentials("visible-id", "hidden-secret");
    let printed_builder = format!("{builder:?}");
    let fake = builder.start().await;

    let printed = format!("{fake:?}");

    assert!(printed.contains("visible-id"), "{printed}");
    assert!(printed.contains(fake.uri()), "{printed}");
    assert!(!printed.contains("hidden-secret"), "{printed}");
    assert!(printed_builder.contains("visible-id"), "{printed_builder}");
    assert!(
        !printed_builder.contains("hidden-secret"),
        "{printed_builder}"
    );
}

#[test]
fn fake_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}

    assert_send_sync::<FakeSpotify>();
    assert_send_sync::<Fault>();
    assert_send_sync::<CannedResponse>();
}

#[tokio::test]
async fn accessors_describe_the_server() {
    let fake = FakeSpotify::start().await;

    assert!(fake.uri().starts_with("http://127.0.0.1:"));
    assert_eq!(fake.token_url(), format!("{}/api/token", fake.uri()));
    assert_eq!(fake.api_url(), format!("{}/v1", fake.uri()));
    assert_eq!(fake.client_id(), "fake-spotify-client-id");
    assert_eq!(fake.client_secret(), "fake-spotify-client-secret");
}

// 401 responses and revocation.

#[tokio::test]
async fn missing_token_gets_401() {
    let fake = FakeSpotify::start().await;

    let response = api_get(&fake, None, "/v1/search?type=artist&q=glass").await;

    assert_eq!(response.status, 401);
    assert_eq!(response.json(), spotify_error(401, "No token provided"));
    assert_eq!(
        response.header("www-authenticate"),
        Some("Bearer realm=\"spotify\"")
    );
    let stats = fake.stats();
    assert_eq!(stats.missing_token_rejections, 1);
    assert_eq!(stats.invalid_token_rejections, 0);
    assert_eq!(stats.api_requests, 1);
    assert_eq!(stats.api_status_count(401), 1);
}

#[tokio::test]
async fn unknown_token_gets_401() {
    let fake = FakeSpotify::start().await;

    let response = api_get(&fake, Some("never-issued"), "/v1/search?type=artist&q=a").await;

    assert_eq!(response.status, 401);
    assert_eq!(response.json(), spotify_error(401, "Invalid access token"));
    assert_eq!(
        response.header("www-authenticate"),
        Some(
            "Bearer realm=\"spotify\", error=\"invalid_token\", \
             error_description=\"Invalid access token\""
        )
    );
    assert_eq!(fake.stats().invalid_token_rejections, 1);
}

#[tokio::test]
async fn other_scheme_gets_400() {
    let fake = FakeSpotify::start().await;

    let response = read(
        reqwest::Client::new()
            .get(format!("{}/search?type=artist&q=a", fake.api_url()))
            .header("authorization", "Basic abc")
            .send()
            .await
            .unwrap(),
    )
    .await;

    assert_eq!(response.status, 400);
    assert_eq!(
        response.json(),
        spotify_error(400, "Only valid bearer authentication supported")
    );
    assert_eq!(fake.stats().api_status_count(400), 1);
}

/// The clock is paused only while no request is in flight, because a paused clock skips ahead
/// while the runtime waits on a socket.
#[tokio::test]
async fn expired_token_gets_401() {
    let fake = FakeSpotify::builder()
        .token_lifetime(Duration::from_secs(60))
        .start()
        .await;
    let token = issue_token(&fake).await;

    tokio::time::pause();
    tokio::time::advance(Duration::from_secs(59)).await;
    tokio::time::resume();
    let before = api_get(&fake, Some(&token), "/v1/search?type=artist&q=a").await;

    tokio::time::pause();
    tokio::time::advance(Duration::from_secs(2)).await;
    tokio::time::resume();
    let after = api_get(&fake, Some(&token), "/v1/search?type=artist&q=a").await;

    assert_eq!(before.status, 200);
    assert_eq!(after.status, 401);
    assert_eq!(after.json(), spotify_error(401, "The access token expired"));
    assert_eq!(
        after.header("www-authenticate"),
        Some(
            "Bearer realm=\"spotify\", error=\"invalid_token\", \
             error_description=\"The access token expired\""
        )
    );
    let stats = fake.stats();
    assert_eq!(stats.expired_token_rejections, 1);
    assert_eq!(stats.invalid_token_rejections, 0);
    assert_eq!(stats.api_status_count(200), 1);
    assert_eq!(stats.api_status_count(401), 1);
}

#[tokio::test]
async fn revoked_token_gets_401() {
    let fake = FakeSpotify::start().await;
    let old = issue_token(&fake).await;
    assert_eq!(
        api_get(&fake, Some(&old), "/v1/search?type=artist&q=a")
            .await
            .status,
        200
    );

    fake.revoke_all_tokens();
    let rejected = api_get(&fake, Some(&old), "/v1/search?type=artist&q=a").await;
    let new = issue_token(&fake).await;
    let accepted = api_get(&fake, Some(&new), "/v1/search?type=artist&q=a").await;

    assert_eq!(rejected.status, 401);
    assert_eq!(rejected.json(), spotify_error(401, "Invalid access token"));
    assert_eq!(accepted.status, 200);
    let stats = fake.stats();
    assert_eq!(stats.revocations, 1);
    assert_eq!(stats.invalid_token_rejections, 1);
    assert_eq!(stats.expired_token_rejections, 0);
}

#[tokio::test]
async fn middleware_recovers_from_revocation() {
    let fake = FakeSpotify::start().await;
    let auth = fake.auth_builder().build().unwrap();
    let client = client_with(auth.clone());
    let url = format!("{}/search?type=artist&q=glass", fake.api_url());

    let first = client.get(&url).send().await.unwrap();
    fake.revoke_all_tokens();
    let second = client.get(&url).send().await.unwrap();

    assert_eq!(first.status(), 200);
    assert_eq!(second.status(), 200);
    assert_eq!(auth.stats().unauthorized_retries, 1);
    let stats = fake.stats();
    assert_eq!(stats.tokens_issued, 2);
    assert_eq!(stats.invalid_token_rejections, 1);
    assert_eq!(stats.api_requests, 3);
    assert_eq!(stats.api_status_count(200), 2);
    assert_eq!(stats.api_status_count(401), 1);
}

/// The middleware replaces a token before the fake's expiry, so the fake receives no expired token.
#[tokio::test]
async fn middleware_never_sends_expired_token() {
    let fake = FakeSpotify::builder()
        .token_lifetime(Duration::from_secs(60))
        .start()
        .await;
    let client = client_with(fake.auth_builder().build().unwrap());
    let url = format!("{}/search?type=artist&q=glass", fake.api_url());

    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    tokio::time::pause();
    tokio::time::advance(Duration::from_secs(61)).await;
    tokio::time::resume();
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);

    let stats = fake.stats();
    assert_eq!(stats.tokens_issued, 2);
    assert_eq!(stats.expired_token_rejections, 0);
    assert_eq!(stats.api_status_count(200), 2);
}

// Catalog and paging.

/// Collects `items` of every page, following `next` from `first`.
async fn follow_pages(token: &str, first: &str, list_key: Option<&str>) -> Vec<Value> {
    let mut items = Vec::new();
    let mut url = Some(first.to_owned());
    while let Some(current) = url {
        let response = get_link(token, &current).await;
        assert_eq!(response.status, 200, "{current}: {}", response.body);
        let body = response.json();
        let page = match list_key {
            Some(key) => body[key].clone(),
            None => body,
        };
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        url = page["next"].as_str().map(str::to_owned);
    }
    items
}

fn names(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|item| item["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn search_pages_with_links() {
    let fake = FakeSpotify::start().await;
    let token = issue_token(&fake).await;
    let expected: Vec<String> = fake
        .catalog()
        .search_artists("lantern")
        .iter()
        .map(|artist| artist.name.clone())
        .collect();
    let base = format!("{}/v1/search", fake.uri());

    let first = api_get(&fake, Some(&token), "/v1/search?q=lantern&type=artist").await;
    let page = &first.json()["artists"];

    assert_eq!(first.status, 200);
    assert_eq!(expected.len(), 6);
    assert_eq!(page["total"], 6);
    assert_eq!(page["limit"], 5);
    assert_eq!(page["offset"], 0);
    assert_eq!(
        page["href"],
        format!("{base}?offset=0&limit=5&q=lantern&type=artist")
    );
    assert_eq!(
        page["next"],
        format!("{base}?offset=5&limit=5&q=lantern&type=artist")
    );
    assert_eq!(page["previous"], Value::Null);
    assert_eq!(names(page["items"].as_array().unwrap()), expected[..5]);

    let second = get_link(&token, page["next"].as_str().unwrap()).await;
    let page = &second.json()["artists"];
    assert_eq!(page["offset"], 5);
    assert_eq!(page["next"], Value::Null);
    assert_eq!(
        page["previous"],
        format!("{base}?offset=0&limit=5&q=lantern&type=artist")
    );
    assert_eq!(names(page["items"].as_array().unwrap()), expected[5..]);
}

#[tokio::test]
async fn search_puts_exact_match_first() {
    let fake = FakeSpotify::start().await;
    let token = issue_token(&fake).await;

    let response = api_get(
        &fake,
        Some(&token),
        "/v1/search?type=artist&q=PAPER%20lanterns",
    )
    .await;
    let items = response.json()["artists"]["items"]
        .as_array()
        .unwrap()
        .clone();

    assert_eq!(names(&items), ["Paper Lanterns", "The Paper Lanterns"]);
    let artist = &items[0];
    let id = artist["id"].as_str().unwrap();
    assert_eq!(artist["type"], "artist");
    assert_eq!(artist["uri"], format!("spotify:artist:{id}"));
    assert_eq!(artist["href"], format!("{}/v1/artists/{id}", fake.uri()));
    assert_eq!(artist["genres"], json!(["dream pop"]));
    assert_eq!(artist["popularity"], 38);
    assert_eq!(artist["images"], json!([]));
}

#[tokio::test]
async fn search_finds_non_ascii_names() {
    let fake = FakeSpotify::start().await;
    let token = issue_token(&fake).await;

    let response = api_get(&fake, Some(&token), "/v1/search?type=artist&q=NO%C3%8BLLE").await;

    let page = &response.json()["artists"];
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["name"], "Noëlle Aubertin");
}

#[tokio::test]
async fn search_rejects_bad_parameters() {
    let fake = FakeSpotify::start().await;
    let token = issue_token(&fake).await;

    let cases = [
        ("q=a&type=artist&limit=0", "Invalid limit"),
        ("q=a&type=artist&limit=11", "Invalid limit"),
        ("q=a&type=artist&limit=ten", "Invalid limit"),
        ("q=a&type=artist&offset=1001", "Invalid offset"),
        ("q=a&type=artist&offset=-1", "Invalid offset"),
        ("type=artist", "No search query"),
        ("q=%20&type=artist", "No search query"),
        ("q=a", "Missing parameter type"),
        ("q=a&type=bogus", "Bad search type field bogus"),
        (
            "q=a&type=album",
            "Search type album is not served by this fake; use type=artist",
        ),
    ];
    for (query, message) in cases {
        let response = api_get(&fake, Some(&token), &format!("/v1/search?{query}")).await;

        assert_eq!(response.status, 400, "{query}");
        assert_eq!(response.json(), spotify_error(400, message), "{query}");
    }

    let edge = api_get(
        &fake,
        Some(&token),
        "/v1/search?q=a&type=artist&offset=1000&limit=10",
    )
    .await;
    assert_eq!(edge.status, 200);
    assert_eq!(edge.json()["artists"]["items"], json!([]));
    assert_eq!(fake.stats().api_status_count(400), 10);
}

#[tokio::test]
async fn artist_object_has_schema_fields() {
    let fake = FakeSpotify::start().await;
    let token = issue_token(&fake).await;
    let artist = &fake.catalog().artists()[2];

    let response = api_get(&fake, Some(&token), &format!("/v1/artists/{}", artist.id)).await;
    let body = response.json();

    assert_eq!(response.status, 200);
    assert_eq!(body["id"], artist.id.as_str());
    assert_eq!(body["name"], "Noëlle Aubertin");
    assert_eq!(body["type"], "artist");
    assert_eq!(body["uri"], format!("spotify:artist:{}", artist.id));
    assert_eq!(
        body["href"],
        format!("{}/v1/artists/{}", fake.uri(), artist.id)
    );
    assert_eq!(body["followers"]["total"], artist.followers);
    assert_eq!(body["followers"]["href"], Value::Null);
    assert_eq!(body["popularity"], artist.popularity);
    assert_eq!(body["genres"], json!(artist.genres));
}

#[tokio::test]
async fn artist_albums_page_to_the_end() {
    let fake = FakeSpotify::start().await;
    let token = issue_token(&fake).await;
    let artist = &fake.catalog().artists()[0];
    let albums = fake.catalog().albums_of(&artist.id);
    let base = format!("{}/v1/artists/{}/albums", fake.uri(), artist.id);

    let first = api_get(
        &fake,
        Some(&token),
        &format!("/v1/artists/{}/albums", artist.id),
    )
    .await;
    let page = first.json();
    let all = follow_pages(&token, &format!("{base}?limit=10"), None).await;
    let past_end = api_get(
        &fake,
        Some(&token),
        &format!("/v1/artists/{}/albums?offset=100&limit=10", artist.id),
    )
    .await;

    assert_eq!(albums.len(), 48);
    assert_eq!(page["limit"], 5);
    assert_eq!(page["total"], 48);
    assert_eq!(page["next"], format!("{base}?offset=5&limit=5"));
    let ids: Vec<&str> = all
        .iter()
        .map(|album| album["id"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = albums.iter().map(|album| album.id.as_str()).collect();
    assert_eq!(ids, expected);
    assert_eq!(past_end.json()["items"], json!([]));
    assert_eq!(past_end.json()["next"], Value::Null);
    assert_eq!(past_end.json()["total"], 48);
}

#[tokio::test]
async fn artist_albums_reject_bad_limit() {
    let fake = FakeSpotify::start().await;
    let token = issue_token(&fake).await;
    let id = &fake.catalog().artists()[0].id;

    for query in ["limit=11", "limit=0", "offset=x"] {
        let response = api_get(
            &fake,
            Some(&token),
            &format!("/v1/artists/{id}/albums?{query}"),
        )
        .await;

        assert_eq!(response.status, 400, "{query}");
        let expected = if query.starts_with("limit") {
            "Invalid limit"
        } else {
            "Invalid offset"
        };
        assert_eq!(response.json(), spotify_error(400, expected), "{query}");
    }
}

#[tokio::test]
async fn album_fields_follow_schema() {
    let fake = FakeSpotify::start().await;
    let token = issue_token(&fake).await;
    let artist = &fake.catalog().artists()[0];
    let album = &fake.catalog().albums_of(&artist.id)[1];

    let response = api_get(
        &fake,
        Some(&token),
        &format!("/v1/artists/{}/albums?offset=1&limit=1", artist.id),
    )
    .await;
    let item = &response.json()["items"][0];

    assert_eq!(item["id"], album.id.as_str());
    assert_eq!(item["name"], "Rain, Again");
    assert_eq!(item["album_type"], "album");
    assert_eq!(item["album_group"], "album");
    assert_eq!(item["type"], "album");
    assert_eq!(item["uri"], format!("spotify:album:{}", album.id));
    assert_eq!(
        item["href"],
        format!("{}/v1/albums/{}", fake.uri(), album.id)
    );
    assert_eq!(item["release_date"], album.release_date.as_str());
    assert_eq!(
        item["release_date_precision"],
        album.release_date_precision.as_str()
    );
    assert_eq!(item["total_tracks"], 12);
    assert_eq!(item["artists"][0]["id"], artist.id.as_str());
    assert_eq!(item["artists"][0]["name"], "The Paper Lanterns");
}

#[tokio::test]
async fn include_groups_filters_albums() {
    let fake = FakeSpotify::start().await;
    let token = issue_token(&fake).await;
    let artist = &fake.catalog().artists()[0];
    let singles: Vec<&str> = fake
        .catalog()
        .albums_of(&artist.id)
        .iter()
        .filter(|album| album.album_type.as_str() == "single")
        .map(|album| album.id.as_str())
        .collect();
    let base = format!("{}/v1/artists/{}/albums", fake.uri(), artist.id);

    let all = follow_pages(&token, &format!("{base}?include_groups=single"), None).await;
    let rejected = get_link(&token, &format!("{base}?include_groups=single,remix")).await;

    let ids: Vec<&str> = all
        .iter()
        .map(|album| album["id"].as_str().unwrap())
        .collect();
    assert!(!singles.is_empty());
    assert_eq!(ids, singles);
    assert_eq!(rejected.status, 400);
    assert_eq!(
        rejected.json(),
        spotify_error(400, "Invalid include_groups value remix")
    );
}

#[tokio::test]
async fn album_tracks_page_and_cap() {
    let fake = FakeSpotify::start().await;
    let token = issue_token(&fake).await;
    let artist = &fake.catalog().artists()[0];
    let album = &fake.catalog().albums_of(&artist.id)[0];
    let tracks = fake.catalog().tracks_of(&album.id);
    let base = format!("{}/v1/albums/{}/tracks", fake.uri(), album.id);

    let default_page = get_link(&token, &base).await.json();
    let max_page = get_link(&token, &format!("{base}?limit=50")).await.json();
    let too_big = get_link(&token, &format!("{base}?limit=51")).await;
    let all = follow_pages(&token, &format!("{base}?limit=50"), None).await;

    assert_eq!(tracks.len(), 56);
    assert_eq!(default_page["limit"], 20);
    assert_eq!(default_page["items"].as_array().unwrap().len(), 20);
    assert_eq!(default_page["next"], format!("{base}?offset=20&limit=20"));
    assert_eq!(max_page["items"].as_array().unwrap().len(), 50);
    assert_eq!(max_page["next"], format!("{base}?offset=50&limit=50"));
    assert_eq!(too_big.status, 400);
    assert_eq!(too_big.json(), spotify_error(400, "Invalid limit"));
    let ids: Vec<&str> = all
        .iter()
        .map(|track| track["id"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = tracks.iter().map(|track| track.id.as_str()).collect();
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn track_fields_follow_schema() {
    let fake = FakeSpotify::start().await;
    let token = issue_token(&fake).await;
    let artist = &fake.catalog().artists()[0];
    let album = &fake.catalog().albums_of(&artist.id)[0];
    let track = &fake.catalog().tracks_of(&album.id)[20];

    let response = api_get(
        &fake,
        Some(&token),
        &format!("/v1/albums/{}/tracks?offset=20&limit=1", album.id),
    )
    .await;
    let item = &response.json()["items"][0];

    assert_eq!(item["id"], track.id.as_str());
    assert_eq!(item["name"], track.name.as_str());
    assert_eq!(item["disc_number"], 2);
    assert_eq!(item["track_number"], 1);
    assert_eq!(item["duration_ms"], track.duration_ms);
    assert_eq!(item["explicit"], track.explicit);
    assert_eq!(item["type"], "track");
    assert_eq!(item["uri"], format!("spotify:track:{}", track.id));
    assert_eq!(item["is_local"], false);
    assert_eq!(item["artists"][0]["id"], artist.id.as_str());
    assert_eq!(
        item["artists"].as_array().unwrap().len(),
        track.artist_ids.len()
    );
}

#[tokio::test]
async fn unknown_ids_and_routes() {
    let fake = FakeSpotify::start().await;
    let token = issue_token(&fake).await;
    let unknown = "0000000000000000000000";

    let cases = [
        (format!("/v1/artists/{unknown}"), 404, "non existing id"),
        (
            format!("/v1/artists/{unknown}/albums"),
            404,
            "non existing id",
        ),
        (
            format!("/v1/albums/{unknown}/tracks"),
            404,
            "non existing id",
        ),
        ("/v1/artists/short".to_owned(), 400, "Invalid base62 id"),
        (
            "/v1/albums/not-base62-but-22-chars/tracks".to_owned(),
            400,
            "Invalid base62 id",
        ),
        ("/v1/playlists/abc".to_owned(), 404, "Service not found"),
        ("/v1".to_owned(), 404, "Service not found"),
    ];
    for (path, status, message) in &cases {
        let response = api_get(&fake, Some(&token), path).await;

        assert_eq!(response.status, *status, "{path}");
        assert_eq!(response.json(), spotify_error(*status, message), "{path}");
    }

    let post = reqwest::Client::new()
        .post(format!("{}/search", fake.api_url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 405);
    let outside = api_get(&fake, None, "/elsewhere").await;
    assert_eq!(outside.status, 404);

    let stats = fake.stats();
    assert_eq!(stats.api_requests, 8);
    assert_eq!(stats.api_status_count(404), 5);
    assert_eq!(stats.api_status_count(400), 2);
    assert_eq!(stats.api_status_count(405), 1);
}

// Injected faults.

#[tokio::test]
async fn token_faults_apply_in_order() {
    let fake = FakeSpotify::start().await;
    let html = "<html><body>Bad gateway</body></html>";
    fake.fail_token_requests(2, CannedResponse::html(502, html).retry_after(3));
    fake.fail_token_requests(
        1,
        CannedResponse::oauth_error(503, "temporarily_unavailable", "Try later"),
    );

    let first = post_good_token(&fake).await;
    let second = post_good_token(&fake).await;
    let third = post_good_token(&fake).await;
    let fourth = post_good_token(&fake).await;

    for response in [&first, &second] {
        assert_eq!(response.status, 502);
        assert_eq!(
            response.header("content-type"),
            Some("text/html; charset=utf-8")
        );
        assert_eq!(response.header("retry-after"), Some("3"));
        assert_eq!(response.body, html);
    }
    assert_eq!(third.status, 503);
    assert_eq!(third.header("retry-after"), None);
    assert_eq!(
        third.json(),
        oauth_error("temporarily_unavailable", "Try later")
    );
    assert_eq!(fourth.status, 200);
    let stats = fake.stats();
    assert_eq!(stats.token_requests, 4);
    assert_eq!(stats.token_faults, 3);
    assert_eq!(stats.tokens_issued, 1);
    assert_eq!(fake.pending_token_faults(), 0);
}

#[tokio::test]
async fn token_fault_reaches_middleware() {
    let fake = FakeSpotify::start().await;
    fake.fail_token_requests(1, CannedResponse::html(503, "<h1>Down</h1>"));
    let auth = fake
        .auth_builder()
        .token_retry(TokenRetryPolicy::never())
        .failure_cooldown(Duration::ZERO)
        .build()
        .unwrap();

    let error = auth.access_token().await.unwrap_err();
    let token = auth.access_token().await;

    match error {
        Error::TokenEndpoint {
            status,
            body_excerpt,
            ..
        } => {
            assert_eq!(status, 503);
            assert_eq!(body_excerpt, "<h1>Down</h1>");
        }
        other => panic!("expected a token endpoint error, got {other:?}"),
    }
    assert!(token.is_ok());
    assert_eq!(fake.stats().token_faults, 1);
    assert_eq!(fake.stats().tokens_issued, 1);
}

/// A delay longer than the client's timeout makes the token request time out, and the fake still
/// counts the token it issued.
#[tokio::test]
async fn delayed_token_times_out() {
    let fake = FakeSpotify::start().await;
    fake.delay_token_requests(1, Duration::from_secs(30));
    let auth = fake
        .auth_builder()
        .token_timeout(Duration::from_millis(300))
        .token_retry(TokenRetryPolicy::never())
        .failure_cooldown(Duration::ZERO)
        .build()
        .unwrap();

    let error = auth.access_token().await.unwrap_err();
    let token = auth.access_token().await;

    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
    assert!(token.is_ok());
    let stats = fake.stats();
    assert_eq!(stats.token_requests, 2);
    assert_eq!(stats.token_delays, 1);
    assert_eq!(stats.tokens_issued, 2);
}

#[tokio::test]
async fn token_delay_applies_to_all() {
    let fake = FakeSpotify::builder()
        .token_delay(Duration::from_secs(30))
        .start()
        .await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let send = || {
        client
            .post(fake.token_url())
            .header(
                "authorization",
                basic(fake.client_id(), fake.client_secret()),
            )
            .header("content-type", FORM)
            .body("grant_type=client_credentials")
            .send()
    };

    let first = send().await.unwrap_err();
    let second = send().await.unwrap_err();
    fake.set_token_delay(Duration::ZERO);
    let third = send().await.unwrap();

    assert!(first.is_timeout());
    assert!(second.is_timeout());
    assert_eq!(third.status(), 200);
    assert_eq!(fake.stats().token_delays, 2);
}

#[tokio::test]
async fn rate_limit_needs_valid_token() {
    let fake = FakeSpotify::start().await;
    let token = issue_token(&fake).await;
    fake.rate_limit_api(2, 7);
    let path = "/v1/search?type=artist&q=glass";

    let without_token = api_get(&fake, None, path).await;
    let first = api_get(&fake, Some(&token), path).await;
    let second = api_get(&fake, Some(&token), path).await;
    let third = api_get(&fake, Some(&token), path).await;

    assert_eq!(without_token.status, 401);
    for response in [&first, &second] {
        assert_eq!(response.status, 429);
        assert_eq!(response.header("retry-after"), Some("7"));
        assert_eq!(response.header("content-type"), Some("application/json"));
        assert_eq!(
            response.json(),
            spotify_error(429, "API rate limit exceeded")
        );
    }
    assert_eq!(third.status, 200);
    let stats = fake.stats();
    assert_eq!(stats.api_requests, 4);
    assert_eq!(stats.api_faults, 2);
    assert_eq!(stats.api_status_count(401), 1);
    assert_eq!(stats.api_status_count(429), 2);
    assert_eq!(stats.api_status_count(200), 1);
    assert_eq!(fake.pending_api_faults(), 0);
}

#[tokio::test]
async fn server_errors_then_recovery() {
    let fake = FakeSpotify::start().await;
    let token = issue_token(&fake).await;
    fake.fail_api_requests(1, StatusCode::SERVICE_UNAVAILABLE);
    fake.fail_api_requests(1, StatusCode::BAD_GATEWAY);
    let path = "/v1/search?type=artist&q=glass";

    let first = api_get(&fake, Some(&token), path).await;
    let second = api_get(&fake, Some(&token), path).await;
    let third = api_get(&fake, Some(&token), path).await;

    assert_eq!(first.status, 503);
    assert_eq!(first.json(), spotify_error(503, "Service Unavailable"));
    assert_eq!(second.status, 502);
    assert_eq!(second.json(), spotify_error(502, "Bad Gateway"));
    assert_eq!(third.status, 200);
    assert_eq!(fake.stats().api_faults, 2);
}

#[tokio::test]
#[should_panic(expected = "needs an error status")]
async fn fail_api_rejects_success_status() {
    let fake = FakeSpotify::start().await;
    fake.fail_api_requests(1, StatusCode::OK);
}

#[tokio::test]
async fn queued_api_faults_mix_passes() {
    let fake = FakeSpotify::start().await;
    let token = issue_token(&fake).await;
    fake.queue_api_faults([
        Fault::pass(),
        Fault::respond(CannedResponse::html(500, "<p>oops</p>")),
        Fault::delay(Duration::from_millis(10)),
    ]);
    let path = "/v1/search?type=artist&q=glass";

    assert_eq!(fake.pending_api_faults(), 3);
    let statuses = [
        api_get(&fake, Some(&token), path).await.status,
        api_get(&fake, Some(&token), path).await.status,
        api_get(&fake, Some(&token), path).await.status,
        api_get(&fake, Some(&token), path).await.status,
    ];

    assert_eq!(statuses, [200, 500, 200, 200]);
    assert_eq!(fake.pending_api_faults(), 0);
    assert_eq!(fake.stats().api_faults, 1);
}

#[tokio::test]
async fn clear_faults_empties_queues() {
    let fake = FakeSpotify::start().await;
    fake.fail_token_requests(3, CannedResponse::html(500, "x"));
    fake.rate_limit_api(3, 1);
    fake.set_api_latency(Duration::from_secs(30));

    fake.clear_faults();
    let token = issue_token(&fake).await;
    let response = api_get(&fake, Some(&token), "/v1/search?type=artist&q=glass").await;

    assert_eq!(response.status, 200);
    assert_eq!(fake.pending_token_faults(), 0);
    assert_eq!(fake.pending_api_faults(), 0);
    assert_eq!(fake.stats().token_faults, 0);
}

// Lifecycle.

#[tokio::test]
async fn drop_stops_the_server() {
    let fake = FakeSpotify::start().await;
    let url = fake.token_url();
    drop(fake);

    let mut refused = false;
    for _ in 0..100 {
        match reqwest::Client::new().post(&url).send().await {
            Err(error) if error.is_connect() => {
                refused = true;
                break;
            }
            _ => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }

    assert!(refused, "the server still accepts connections after drop");
}
