//! Parsing a token endpoint's response (RFC 6749 sections 5.1 and 5.2) into a token or an error.

use std::time::Duration;

use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{Map, Value};

use crate::Error;
use crate::error::BODY_EXCERPT_LIMIT;

/// The lifetime assumed when a response has no `expires_in`: Spotify documents one hour.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// The maximum lifetime taken at face value; longer ones are cut to it, so deadlines cannot
/// overflow. The 401 path still replaces a token the server drops earlier.
const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(365 * 24 * 3600);

/// The longest `token_type` or `error` value quoted in a message.
const MAX_QUOTED_CHARS: usize = 64;

/// An HTTP response from the token endpoint, read into memory.
pub(crate) struct RawTokenResponse<'a> {
    pub(crate) token_url: &'a str,
    pub(crate) status: StatusCode,
    pub(crate) content_type: Option<&'a str>,
    pub(crate) body: &'a [u8],
    pub(crate) retry_after: Option<Duration>,
}

/// A token accepted from a successful response.
pub(crate) struct ParsedToken {
    pub(crate) value: SecretString,
    pub(crate) lifetime: Duration,
}

/// Turns a response into a token, or into the error that best describes it.
///
/// It never panics, whatever the bytes. Every token it returns has a non-empty value made of
/// visible ASCII, the bearer type and a positive lifetime. The property tests below check both.
pub(crate) fn parse_token_response(response: &RawTokenResponse<'_>) -> Result<ParsedToken, Error> {
    if !response.status.is_success() {
        return Err(error_from_response(response));
    }

    let Some(fields) = json_object(response.body) else {
        return Err(malformed(
            response,
            "body",
            format!(
                "is not a JSON object ({} bytes, content type {})",
                response.body.len(),
                response.content_type.unwrap_or("not given")
            ),
        ));
    };

    // Some servers respond 200 with an RFC 6749 error object instead of a token.
    if !fields.contains_key("access_token") && fields.get("error").is_some_and(Value::is_string) {
        return Err(error_from_response(response));
    }

    let value = access_token(response, &fields)?;
    check_token_type(response, &fields)?;
    let lifetime = expires_in(response, &fields)?;

    Ok(ParsedToken {
        value: SecretString::from(value),
        lifetime,
    })
}

fn access_token(
    response: &RawTokenResponse<'_>,
    fields: &Map<String, Value>,
) -> Result<String, Error> {
    let value = match fields.get("access_token") {
        None | Some(Value::Null) => return Err(malformed(response, "access_token", "is missing")),
        Some(Value::String(value)) => value,
        Some(_) => return Err(malformed(response, "access_token", "is not a string")),
    };

    if value.is_empty() {
        return Err(malformed(response, "access_token", "is empty"));
    }

    // RFC 6750 section 2.1 allows only visible ASCII in a bearer token.
    if !value.bytes().all(|byte| byte.is_ascii_graphic()) {
        return Err(malformed(
            response,
            "access_token",
            "contains characters other than visible ASCII, so it cannot be sent in a header",
        ));
    }

    Ok(value.clone())
}

fn check_token_type(
    response: &RawTokenResponse<'_>,
    fields: &Map<String, Value>,
) -> Result<(), Error> {
    match fields.get("token_type") {
        Some(Value::String(kind)) if kind.eq_ignore_ascii_case("bearer") => Ok(()),
        Some(Value::String(kind)) => Err(malformed(
            response,
            "token_type",
            format!("is {:?}, but only bearer tokens are supported", quote(kind)),
        )),
        None | Some(Value::Null) => Err(malformed(
            response,
            "token_type",
            "is missing; RFC 6749 section 5.1 requires it",
        )),
        Some(_) => Err(malformed(response, "token_type", "is not a string")),
    }
}

fn expires_in(
    response: &RawTokenResponse<'_>,
    fields: &Map<String, Value>,
) -> Result<Duration, Error> {
    let seconds = match fields.get("expires_in") {
        None | Some(Value::Null) => return Ok(DEFAULT_TOKEN_LIFETIME),
        Some(Value::Number(number)) => number.as_f64(),
        Some(Value::String(text)) => text.trim().parse::<f64>().ok(),
        Some(_) => None,
    };

    let Some(seconds) = seconds.filter(|seconds| seconds.is_finite()) else {
        return Err(malformed(
            response,
            "expires_in",
            "is not a number of seconds",
        ));
    };

    if seconds <= 0.0 {
        return Err(malformed(
            response,
            "expires_in",
            format!("is {seconds}; it must be a positive number of seconds"),
        ));
    }

    let lifetime = Duration::try_from_secs_f64(seconds).unwrap_or(MAX_TOKEN_LIFETIME);
    Ok(lifetime.min(MAX_TOKEN_LIFETIME))
}

/// Builds the error for a response that is not a token: `InvalidClient` for the RFC 6749
/// `invalid_client` code, `TokenEndpoint` for anything else.
fn error_from_response(response: &RawTokenResponse<'_>) -> Error {
    let fields = json_object(response.body);
    let text_field = |name: &str| {
        fields
            .as_ref()
            .and_then(|fields| fields.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };

    let code = text_field("error");
    let description = text_field("error_description");

    if code.as_deref() == Some("invalid_client") {
        return Error::InvalidClient {
            token_url: response.token_url.to_owned(),
            status: response.status,
            description,
        };
    }

    Error::TokenEndpoint {
        token_url: response.token_url.to_owned(),
        status: response.status,
        error: code.map(|code| quote(&code)),
        description,
        body_excerpt: body_excerpt(response.body),
        retry_after: response.retry_after,
    }
}

fn json_object(body: &[u8]) -> Option<Map<String, Value>> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(fields)) => Some(fields),
        _ => None,
    }
}

fn malformed(
    response: &RawTokenResponse<'_>,
    field: &'static str,
    reason: impl Into<String>,
) -> Error {
    Error::MalformedTokenResponse {
        token_url: response.token_url.to_owned(),
        field,
        reason: reason.into(),
    }
}

/// Returns the start of a body as text: at most `BODY_EXCERPT_LIMIT` bytes, cut at a character
/// boundary, with control characters shown as spaces so that log lines stay whole.
fn body_excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut end = text.len().min(BODY_EXCERPT_LIMIT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }

    text[..end]
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn quote(text: &str) -> String {
    text.chars().take(MAX_QUOTED_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str) -> RawTokenResponse<'_> {
        RawTokenResponse {
            token_url: "https://auth.test/token",
            status: StatusCode::from_u16(status).unwrap(),
            content_type: Some("application/json"),
            body: body.as_bytes(),
            retry_after: None,
        }
    }

    fn lifetime_of(body: &str) -> Result<Duration, Error> {
        parse_token_response(&response(200, body)).map(|token| token.lifetime)
    }

    fn malformed_field(result: Result<Duration, Error>) -> &'static str {
        match result {
            Err(Error::MalformedTokenResponse { field, .. }) => field,
            other => panic!("expected MalformedTokenResponse, got {other:?}"),
        }
    }

    #[test]
    fn accepts_spotify_response() {
        let body = r#"{"access_token":"NgCXRK...MzYjw","token_type":"Bearer","expires_in":3600}"#;

        let token = parse_token_response(&response(200, body)).unwrap();

        assert_eq!(
            secrecy::ExposeSecret::expose_secret(&token.value),
            "NgCXRK...MzYjw"
        );
        assert_eq!(token.lifetime, Duration::from_secs(3600));
    }

    #[test]
    fn expires_in_forms() {
        let base = r#""access_token":"t","token_type":"bearer""#;

        assert_eq!(
            lifetime_of(&format!(r#"{{{base},"expires_in":"3600"}}"#)).unwrap(),
            Duration::from_secs(3600)
        );
        assert_eq!(
            lifetime_of(&format!(r#"{{{base}}}"#)).unwrap(),
            DEFAULT_TOKEN_LIFETIME
        );
        assert_eq!(
            lifetime_of(&format!(r#"{{{base},"expires_in":null}}"#)).unwrap(),
            DEFAULT_TOKEN_LIFETIME
        );
        assert_eq!(
            lifetime_of(&format!(r#"{{{base},"expires_in":1.5}}"#)).unwrap(),
            Duration::from_millis(1500)
        );
        assert_eq!(
            lifetime_of(&format!(r#"{{{base},"expires_in":1e300}}"#)).unwrap(),
            MAX_TOKEN_LIFETIME
        );
        assert_eq!(
            malformed_field(lifetime_of(&format!(r#"{{{base},"expires_in":-5}}"#))),
            "expires_in"
        );
        assert_eq!(
            malformed_field(lifetime_of(&format!(r#"{{{base},"expires_in":0}}"#))),
            "expires_in"
        );
        assert_eq!(
            malformed_field(lifetime_of(&format!(r#"{{{base},"expires_in":"soon"}}"#))),
            "expires_in"
        );
        assert_eq!(
            malformed_field(lifetime_of(&format!(r#"{{{base},"expires_in":[1]}}"#))),
            "expires_in"
        );
    }

    #[test]
    fn rejects_bad_token_fields() {
        let cases = [
            (r#"{"token_type":"bearer","expires_in":60}"#, "access_token"),
            (
                r#"{"access_token":"","token_type":"bearer"}"#,
                "access_token",
            ),
            (
                r#"{"access_token":"a b","token_type":"bearer"}"#,
                "access_token",
            ),
            (
                r#"{"access_token":7,"token_type":"bearer"}"#,
                "access_token",
            ),
            (r#"{"access_token":"t","token_type":"mac"}"#, "token_type"),
            (r#"{"access_token":"t"}"#, "token_type"),
            (r#"<html>ok</html>"#, "body"),
            (r#"["access_token"]"#, "body"),
        ];

        for (body, field) in cases {
            assert_eq!(malformed_field(lifetime_of(body)), field, "body: {body}");
        }
    }

    #[test]
    fn invalid_client_keeps_description() {
        let body = r#"{"error":"invalid_client","error_description":"Invalid client secret"}"#;

        let error = parse_token_response(&response(400, body)).err().unwrap();

        let Error::InvalidClient { description, .. } = error else {
            panic!("expected InvalidClient, got {error:?}");
        };
        assert_eq!(description.as_deref(), Some("Invalid client secret"));
    }

    #[test]
    fn error_in_success_response_is_an_error() {
        let body = r#"{"error":"invalid_client"}"#;

        let error = parse_token_response(&response(200, body)).err().unwrap();

        assert!(matches!(error, Error::InvalidClient { .. }));
    }

    #[test]
    fn html_error_page_keeps_status_and_excerpt() {
        let body = "<html>\n<body>502 Bad Gateway</body></html>";

        let error = parse_token_response(&response(502, body)).err().unwrap();

        let Error::TokenEndpoint {
            status,
            error,
            body_excerpt,
            ..
        } = error
        else {
            panic!("expected TokenEndpoint, got {error:?}");
        };
        assert_eq!(status, StatusCode::BAD_GATEWAY);
        assert_eq!(error, None);
        assert_eq!(body_excerpt, "<html> <body>502 Bad Gateway</body></html>");
    }

    #[test]
    fn excerpt_is_cut_at_char_boundary() {
        let body = "é".repeat(400);

        let excerpt = body_excerpt(body.as_bytes());

        assert_eq!(excerpt.len(), BODY_EXCERPT_LIMIT);
        assert_eq!(excerpt.chars().count(), BODY_EXCERPT_LIMIT / 2);
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;
    use secrecy::ExposeSecret;
    use serde_json::{Map, Value, json};

    use super::*;

    /// JSON values of any shape, up to a few levels deep.
    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<f64>().prop_map(|n| json!(n)),
            ".{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(".{0,8}", inner, 0..4)
                    .prop_map(|fields| Value::Object(fields.into_iter().collect())),
            ]
        })
    }

    /// Objects built from the fields a token response uses, each with a value of any shape or one
    /// near the valid ones, so that many cases reach every check.
    fn token_like_object() -> impl Strategy<Value = Value> {
        let token = prop_oneof![
            any_json(),
            "[ -~]{0,20}".prop_map(Value::String),
            Just(json!("abc"))
        ];
        let kind = prop_oneof![
            any_json(),
            Just(json!("Bearer")),
            Just(json!("bEaReR")),
            Just(json!("mac"))
        ];
        let lifetime = prop_oneof![
            any_json(),
            any::<i64>().prop_map(|n| json!(n)),
            any::<i64>().prop_map(|n| json!(n.to_string())),
            Just(json!("3600")),
            Just(json!(3600)),
        ];
        let error = prop_oneof![any_json(), Just(json!("invalid_client"))];
        (
            prop::option::of(token),
            prop::option::of(kind),
            prop::option::of(lifetime),
            prop::option::of(error),
            any_json(),
        )
            .prop_map(|(token, kind, lifetime, error, extra)| {
                let mut fields = Map::new();
                let named = [
                    ("access_token", token),
                    ("token_type", kind),
                    ("expires_in", lifetime),
                    ("error", error),
                ];
                for (name, value) in named {
                    if let Some(value) = value {
                        fields.insert(name.to_owned(), value);
                    }
                }
                fields.insert("extra".to_owned(), extra);
                Value::Object(fields)
            })
    }

    fn parse(status: u16, body: &[u8]) -> Result<ParsedToken, Error> {
        parse_token_response(&RawTokenResponse {
            token_url: "https://auth.test/token",
            status: StatusCode::from_u16(status).unwrap(),
            content_type: None,
            body,
            retry_after: None,
        })
    }

    /// Checks what every accepted token must satisfy, given the JSON it came from.
    fn check_accepted(token: &ParsedToken, source: Option<&Value>) {
        let value = token.value.expose_secret();
        assert!(!value.is_empty());
        assert!(value.bytes().all(|byte| byte.is_ascii_graphic()));
        assert!(token.lifetime > Duration::ZERO);

        if let Some(source) = source {
            let kind = source
                .get("token_type")
                .and_then(Value::as_str)
                .unwrap_or_default();
            assert!(
                kind.eq_ignore_ascii_case("bearer"),
                "accepted token_type {kind:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(status in 100_u16..600, body in prop::collection::vec(any::<u8>(), 0..256)) {
            if let Ok(token) = parse(status, &body) {
                let source = serde_json::from_slice::<Value>(&body).ok();
                check_accepted(&token, source.as_ref());
            }
        }

        #[test]
        fn arbitrary_json_never_panics(status in 100_u16..600, value in any_json()) {
            let body = serde_json::to_vec(&value).unwrap();
            if let Ok(token) = parse(status, &body) {
                check_accepted(&token, Some(&value));
            }
        }

        #[test]
        fn token_like_json_checked(value in token_like_object()) {
            let body = serde_json::to_vec(&value).unwrap();
            match parse(200, &body) {
                Ok(token) => check_accepted(&token, Some(&value)),
                Err(error) => prop_assert!(!error.to_string().is_empty()),
            }
        }
    }
}
