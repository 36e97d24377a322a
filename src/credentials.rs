//! The client ID and secret, and the HTTP Basic value built from them.

use std::env::VarError;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};
use url::form_urlencoded;

use crate::Error;

/// The environment variable that [`Credentials::from_env`] reads the client ID from.
pub const CLIENT_ID_VAR: &str = "SPOTIFY_CLIENT_ID";

/// The environment variable that [`Credentials::from_env`] reads the client secret from.
pub const CLIENT_SECRET_VAR: &str = "SPOTIFY_CLIENT_SECRET";

/// An OAuth 2.0 client ID and client secret.
///
/// The secret is kept in a [`SecretString`], which is wiped from memory on drop and never
/// printed: `Debug` shows the client ID, which is not a secret under RFC 6749 section 2.2, and
/// `[redacted]` in place of the secret.
///
/// ```
/// use reqwest_spotify_auth::Credentials;
///
/// let credentials = Credentials::new("my-client-id", "my-client-secret");
/// let printed = format!("{credentials:?}");
/// assert!(printed.contains("my-client-id"));
/// assert!(!printed.contains("my-client-secret"));
/// ```
#[derive(Clone)]
pub struct Credentials {
    client_id: String,
    client_secret: SecretString,
}

impl Credentials {
    /// Creates credentials from a client ID and secret, as given on the Spotify developer
    /// dashboard. They are checked when a middleware is built.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Credentials {
            client_id: client_id.into(),
            client_secret: SecretString::from(client_secret.into()),
        }
    }

    /// Reads the credentials from `SPOTIFY_CLIENT_ID` and `SPOTIFY_CLIENT_SECRET`.
    ///
    /// Surrounding whitespace, including a trailing newline left by `$(cat file)`, is trimmed.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] naming the variable that is unset, empty or not valid UTF-8.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(|name| std::env::var(name))
    }

    /// Reads the credentials through `lookup`, which replaces `std::env::var` in tests.
    fn from_lookup(lookup: impl Fn(&str) -> Result<String, VarError>) -> Result<Self, Error> {
        let client_id = read_env_var(&lookup, CLIENT_ID_VAR)?;
        let client_secret = read_env_var(&lookup, CLIENT_SECRET_VAR)?;

        Ok(Credentials {
            client_id,
            client_secret: SecretString::from(client_secret),
        })
    }

    /// Returns the client ID. It is not a secret (RFC 6749 section 2.2).
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// Checks that neither the ID nor the secret is empty or blank.
    pub(crate) fn validate(&self) -> Result<(), Error> {
        if self.client_id.trim().is_empty() {
            return Err(Error::config(
                "client_id",
                "the client ID is empty or blank; pass the ID shown on the Spotify developer dashboard",
            ));
        }

        if self.client_secret.expose_secret().trim().is_empty() {
            return Err(Error::config(
                "client_secret",
                "the client secret is empty or blank; pass the secret shown on the Spotify developer dashboard",
            ));
        }

        Ok(())
    }

    /// Builds the `Authorization: Basic ...` value for a token request, marked sensitive.
    ///
    /// RFC 6749 section 2.3.1 form-urlencodes the ID and the secret before they are joined with
    /// `:` and base64-encoded, so a `:` or non-ASCII character in either survives.
    pub(crate) fn basic_header(&self) -> HeaderValue {
        let id: String = form_urlencoded::byte_serialize(self.client_id.as_bytes()).collect();
        let secret: String =
            form_urlencoded::byte_serialize(self.client_secret.expose_secret().as_bytes())
                .collect();
        let encoded = BASE64.encode(format!("{id}:{secret}"));

        let mut value = HeaderValue::try_from(format!("Basic {encoded}"))
            .expect("base64 output is always a valid header value");
        value.set_sensitive(true);
        value
    }

    /// Replaces every copy of the secret in `text`, for error bodies that echo a request.
    pub(crate) fn redact(&self, text: &str) -> String {
        let secret = self.client_secret.expose_secret();
        if secret.is_empty() {
            return text.to_owned();
        }

        text.replace(secret, "[redacted]")
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .finish()
    }
}

fn read_env_var(
    lookup: impl Fn(&str) -> Result<String, VarError>,
    name: &'static str,
) -> Result<String, Error> {
    let value = match lookup(name) {
        Ok(value) => value,
        Err(VarError::NotPresent) => {
            return Err(Error::config(
                name,
                format!(
                    "the environment variable {name} is not set; export it with your Spotify app's value"
                ),
            ));
        }
        Err(VarError::NotUnicode(_)) => {
            return Err(Error::config(
                name,
                format!("the environment variable {name} is not valid UTF-8"),
            ));
        }
    };

    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(Error::config(
            name,
            format!("the environment variable {name} is empty; set it to your Spotify app's value"),
        ));
    }

    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_header_matches_rfc_example_encoding() {
        let credentials = Credentials::new("client", "secret");

        let header = credentials.basic_header();

        // base64("client:secret")
        assert_eq!(header.to_str().unwrap(), "Basic Y2xpZW50OnNlY3JldA==");
        assert!(header.is_sensitive());
    }

    #[test]
    fn basic_header_form_encodes_each_part() {
        let credentials = Credentials::new("id:1", "a+b/c é");

        let header = credentials.basic_header();

        let encoded = header.to_str().unwrap().strip_prefix("Basic ").unwrap();
        let decoded = String::from_utf8(BASE64.decode(encoded).unwrap()).unwrap();
        assert_eq!(decoded, "id%3A1:a%2Bb%2Fc+%C3%A9");
    }

    #[test]
    fn debug_hides_secret() {
        let credentials = Credentials::new("visible-id", "hidden-secret");

        let printed = format!("{credentials:?}");

        assert!(printed.contains("visible-id"));
        assert!(printed.contains("[redacted]"));
        assert!(!printed.contains("hidden-secret"));
    }

    #[test]
    fn validate_rejects_empty_parts() {
        let no_id = Credentials::new("", "secret").validate().unwrap_err();
        let no_secret = Credentials::new("id", "").validate().unwrap_err();
        let blank_secret = Credentials::new("id", " \t ").validate().unwrap_err();

        assert!(matches!(
            no_id,
            Error::Config {
                setting: "client_id",
                ..
            }
        ));
        assert!(matches!(
            no_secret,
            Error::Config {
                setting: "client_secret",
                ..
            }
        ));
        assert!(matches!(
            blank_secret,
            Error::Config {
                setting: "client_secret",
                ..
            }
        ));
    }

    fn lookup_from(
        pairs: &'static [(&'static str, &'static str)],
    ) -> impl Fn(&str) -> Result<String, VarError> {
        move |name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
                .ok_or(VarError::NotPresent)
        }
    }

    #[test]
    fn from_env_trims_values() {
        let lookup = lookup_from(&[
            (CLIENT_ID_VAR, "  the-id\n"),
            (CLIENT_SECRET_VAR, "the-secret\r\n"),
        ]);

        let credentials = Credentials::from_lookup(lookup).unwrap();

        assert_eq!(credentials.client_id(), "the-id");
        assert_eq!(credentials.client_secret.expose_secret(), "the-secret");
    }

    #[test]
    fn from_env_names_missing_variable() {
        let lookup = lookup_from(&[(CLIENT_ID_VAR, "the-id")]);

        let error = Credentials::from_lookup(lookup).unwrap_err();

        assert!(matches!(
            error,
            Error::Config {
                setting: CLIENT_SECRET_VAR,
                ..
            }
        ));
        assert!(
            error
                .to_string()
                .contains("SPOTIFY_CLIENT_SECRET is not set")
        );
    }

    #[test]
    fn from_env_names_empty_variable() {
        let lookup = lookup_from(&[(CLIENT_ID_VAR, " \n"), (CLIENT_SECRET_VAR, "the-secret")]);

        let error = Credentials::from_lookup(lookup).unwrap_err();

        assert!(matches!(
            error,
            Error::Config {
                setting: CLIENT_ID_VAR,
                ..
            }
        ));
        assert!(error.to_string().contains("SPOTIFY_CLIENT_ID is empty"));
    }

    #[test]
    fn redact_replaces_secret() {
        let credentials = Credentials::new("id", "s3cret");

        assert_eq!(credentials.redact("bad s3cret!"), "bad [redacted]!");
    }
}
