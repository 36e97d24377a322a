//! URL checks: which origins receive the token, and where plain `http` is allowed.

use std::net::IpAddr;

use url::{Host, Url};

use crate::Error;

/// The scheme, host and port of a URL: the part that decides where a token may go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiOrigin {
    scheme: String,
    host: String,
    port: u16,
}

impl ApiOrigin {
    /// Parses an origin such as `https://api.spotify.com` or `http://127.0.0.1:8080`.
    ///
    /// A path other than `/`, a query, a fragment or user information is rejected, because each
    /// would suggest a narrower match than the origin that is actually checked.
    pub(crate) fn parse(text: &str) -> Result<Self, Error> {
        let url = parse_url("api_origins", text)?;
        check_transport_security("api_origins", &url)?;

        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(Error::config(
                "api_origins",
                format!(
                    "{text:?} has a path, query or fragment; give only scheme, host and port, \
                     such as https://api.spotify.com"
                ),
            ));
        }

        Ok(ApiOrigin {
            scheme: url.scheme().to_owned(),
            host: url.host_str().unwrap_or_default().to_owned(),
            port: url.port_or_known_default().unwrap_or_default(),
        })
    }

    /// Returns `true` when `url` has this origin. It allocates nothing.
    pub(crate) fn matches(&self, url: &Url) -> bool {
        url.scheme() == self.scheme
            && url.host_str() == Some(self.host.as_str())
            && url.port_or_known_default() == Some(self.port)
    }
}

impl std::fmt::Display for ApiOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

/// Parses the token URL and checks it as [`check_transport_security`] does.
pub(crate) fn parse_token_url(text: &str) -> Result<Url, Error> {
    let url = parse_url("token_url", text)?;
    check_transport_security("token_url", &url)?;

    if url.fragment().is_some() {
        return Err(Error::config(
            "token_url",
            format!("{text:?} has a fragment; remove the part after '#'"),
        ));
    }

    Ok(url)
}

/// Returns the URL as messages, logs and `Debug` show it. User information and a query, which
/// could carry a secret, are left out; a query is shown as `?[query hidden]`.
pub(crate) fn redacted_url(url: &Url) -> String {
    let mut redacted = url.clone();
    let _ = redacted.set_username("");
    let _ = redacted.set_password(None);

    if redacted.query().is_none() {
        return redacted.to_string();
    }
    redacted.set_query(None);
    format!("{redacted}?[query hidden]")
}

/// Returns a URL given as text as [`redacted_url`] returns it, or `[invalid URL]`.
pub(crate) fn redacted_url_text(text: &str) -> String {
    match Url::parse(text) {
        Ok(url) => redacted_url(&url),
        Err(_) => "[invalid URL]".to_owned(),
    }
}

fn parse_url(setting: &'static str, text: &str) -> Result<Url, Error> {
    let url = Url::parse(text).map_err(|error| {
        Error::config(
            setting,
            format!("{text:?} is not a valid absolute URL ({error})"),
        )
    })?;

    if url.host_str().is_none_or(str::is_empty) {
        return Err(Error::config(setting, format!("{text:?} has no host")));
    }

    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::config(
            setting,
            "the URL contains user information; remove it and pass credentials to the builder"
                .to_owned(),
        ));
    }

    Ok(url)
}

/// Allows `https` everywhere and `http` only on a loopback host, where nothing crosses a network.
fn check_transport_security(setting: &'static str, url: &Url) -> Result<(), Error> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(Error::config(
            setting,
            format!(
                "{url} uses plain http, which would expose credentials and tokens; use https \
                 (http is allowed only for 127.0.0.0/8, ::1 and localhost)"
            ),
        )),
        other => Err(Error::config(
            setting,
            format!("{url} has scheme {other:?}; use https"),
        )),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(address)) => address.is_loopback(),
        Some(Host::Ipv6(address)) => IpAddr::V6(address).to_canonical().is_loopback(),
        Some(Host::Domain(name)) => {
            let name = name.strip_suffix('.').unwrap_or(name);
            name.eq_ignore_ascii_case("localhost")
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_reason(result: Result<impl std::fmt::Debug, Error>) -> String {
        match result {
            Err(Error::Config { reason, .. }) => reason,
            other => panic!("expected a Config error, got {other:?}"),
        }
    }

    #[test]
    fn origin_matches_default_port() {
        let origin = ApiOrigin::parse("https://API.spotify.com").unwrap();

        assert!(origin.matches(&Url::parse("https://api.spotify.com/v1/artists/x").unwrap()));
        assert!(origin.matches(&Url::parse("https://api.spotify.com:443/v1").unwrap()));
        assert!(!origin.matches(&Url::parse("https://api.spotify.com:8443/v1").unwrap()));
        assert!(!origin.matches(&Url::parse("http://api.spotify.com/v1").unwrap()));
        assert!(!origin.matches(&Url::parse("https://api.spotify.com.evil.test/v1").unwrap()));
    }

    #[test]
    fn plain_http_only_on_loopback() {
        for allowed in [
            "http://127.0.0.1:9",
            "http://127.8.0.1",
            "http://[::1]:80",
            "http://LOCALHOST:1",
        ] {
            assert!(ApiOrigin::parse(allowed).is_ok(), "{allowed}");
            assert!(parse_token_url(allowed).is_ok(), "{allowed}");
        }

        for rejected in [
            "http://example.com",
            "http://10.0.0.1",
            "http://localhost.example.com",
        ] {
            assert!(
                config_reason(ApiOrigin::parse(rejected)).contains("plain http"),
                "{rejected}"
            );
            assert!(
                config_reason(parse_token_url(rejected)).contains("plain http"),
                "{rejected}"
            );
        }
    }

    #[test]
    fn origin_rejects_path_and_user_info() {
        assert!(config_reason(ApiOrigin::parse("https://api.spotify.com/v1")).contains("path"));
        assert!(
            config_reason(ApiOrigin::parse("https://a:b@api.spotify.com"))
                .contains("user information")
        );
        assert!(
            config_reason(ApiOrigin::parse("api.spotify.com")).contains("not a valid absolute URL")
        );
        assert!(config_reason(ApiOrigin::parse("ftp://api.spotify.com")).contains("scheme"));
    }
}

#[cfg(test)]
mod shown_url_tests {
    use super::*;

    #[test]
    fn query_is_hidden() {
        let url = Url::parse("https://auth.example.com/token?client_secret=abc").unwrap();

        assert_eq!(
            redacted_url(&url),
            "https://auth.example.com/token?[query hidden]"
        );
        assert_eq!(redacted_url_text("not a url"), "[invalid URL]");
        assert_eq!(
            redacted_url_text("https://a.example.com/t"),
            "https://a.example.com/t"
        );
        assert_eq!(
            redacted_url_text("https://me:pw@a.example.com/t"),
            "https://a.example.com/t"
        );
    }
}
