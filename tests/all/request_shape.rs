//! The token request on the wire, and the Bearer header on API requests.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use url::form_urlencoded;
use wiremock::MockServer;

use crate::support::*;

#[tokio::test]
async fn token_request_has_rfc_shape() {
    let server = MockServer::start().await;
    mount_token_issuer(&server).await;
    mount_api_ok(&server).await;
    let auth = reqwest_spotify_auth::SpotifyAuthMiddleware::builder("client", "secret")
        .token_url(format!("{}{TOKEN_PATH}", server.uri()))
        .api_origins([server.uri()])
        .build()
        .unwrap();
    let client = client_with(auth);

    let response = get_api(&client, &server, "artists/1").await.unwrap();

    assert_eq!(response.status(), 200);
    let token_requests = requests_to(&server, TOKEN_PATH).await;
    assert_eq!(token_requests.len(), 1);
    let request = &token_requests[0];
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(
        request.headers["authorization"],
        "Basic Y2xpZW50OnNlY3JldA=="
    );
    assert_eq!(
        request.headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    assert_eq!(request.headers["accept"], "application/json");
    assert_eq!(request.body, b"grant_type=client_credentials");
    assert_eq!(
        api_authorizations(&server).await,
        [Some("Bearer token-1".to_owned())]
    );
}

#[tokio::test]
async fn unusual_credentials_survive_encoding() {
    let client_id = "id+with:colon/slash";
    let client_secret = "sécret+:/ 키=&%";
    let server = MockServer::start().await;
    mount_token_issuer(&server).await;
    let auth = reqwest_spotify_auth::SpotifyAuthMiddleware::builder(client_id, client_secret)
        .token_url(format!("{}{TOKEN_PATH}", server.uri()))
        .api_origins([server.uri()])
        .build()
        .unwrap();

    auth.access_token().await.unwrap();

    let request = &requests_to(&server, TOKEN_PATH).await[0];
    let value = request.headers["authorization"].to_str().unwrap();
    let encoded = value.strip_prefix("Basic ").expect("Basic scheme");
    let decoded = String::from_utf8(BASE64.decode(encoded).unwrap()).unwrap();
    let (user, password) = decoded.split_once(':').expect("one unencoded colon");
    let decode = |part: &str| -> String {
        form_urlencoded::parse(format!("x={part}").as_bytes())
            .next()
            .unwrap()
            .1
            .into_owned()
    };
    assert_eq!(decode(user), client_id);
    assert_eq!(decode(password), client_secret);
}
