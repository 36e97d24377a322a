//! Scrapes every track of one or more artists from Spotify's Web API into CSV.
//!
//! ```text
//! cargo run --example scrape -- "Artist name" ["Another artist" ...] [--out tracks.csv]
//! cargo run --example scrape -- --list-artists
//! ```
//!
//! With `--out`, rows go to `tracks.csv.partial` first, which replaces `tracks.csv` only when the
//! run succeeds; a failed run leaves the partial file beside the old one.
//!
//! With `SPOTIFY_CLIENT_ID` and `SPOTIFY_CLIENT_SECRET` set, it sends its requests to Spotify,
//! or to the server named by `--token-url` and `--api-url`. Without them it starts the crate's
//! fake Spotify in-process and scrapes its made-up catalog, with no network and no credentials.
//!
//! Offline, the fake issues 2-second tokens, holds each API response back by 200 ms, and revokes
//! every token when half the albums are done. A run with the default artist therefore needs a
//! new token both for expiry and for the revocation.
//!
//! `RUST_LOG` sets the log filter (default: `warn`). Logs and progress go to standard error.

mod client;
mod output;
mod scraper;
mod target;

use std::io::{self, IsTerminal as _, Write};
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use reqwest_retry::policies::ExponentialBackoff;
use url::Url;

use crate::client::{RequestCounter, build_client};
use crate::output::Destination;
use crate::scraper::{Progress, ScrapeError, Scraper, Summary, TrackRow};
use crate::target::Target;

/// Scrapes every track of the given artists into CSV: artist, album, release date, track
/// number and duration.
#[derive(Debug, Parser)]
#[command(
    after_help = "Without SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET, it scrapes an \
                        in-process fake Spotify with a made-up catalog."
)]
struct Args {
    /// Artist names to scrape. Each is searched for; a result whose name matches exactly
    /// (ignoring case) wins, otherwise the first result. Offline default: the fake catalog's
    /// largest artist.
    #[arg(value_name = "ARTIST", value_parser = parse_artist_name)]
    artists: Vec<String>,

    /// The token endpoint of a Spotify-compatible server [default: Spotify's]
    #[arg(long, env = "SPOTIFY_TOKEN_URL", value_name = "URL", value_parser = parse_token_url)]
    token_url: Option<Url>,

    /// The Web API base URL, such as https://api.spotify.com/v1 [default: Spotify's]
    #[arg(long, env = "SPOTIFY_API_URL", value_name = "URL", value_parser = parse_api_url)]
    api_url: Option<Url>,

    /// The CSV file to write, replaced only when the run succeeds [default: standard output]
    #[arg(long, value_name = "PATH")]
    out: Option<PathBuf>,

    /// Lists the artists of the offline fake's catalog and exits
    #[arg(long)]
    list_artists: bool,

    /// The maximum number of API requests in flight at once
    #[arg(long, value_name = "N", default_value = "8", value_parser = parse_concurrency)]
    concurrency: NonZeroUsize,
}

fn parse_artist_name(text: &str) -> Result<String, String> {
    if text.trim().is_empty() {
        return Err("the artist name is empty; give a name such as \"Glass Harbor\"".to_owned());
    }
    Ok(text.to_owned())
}

fn parse_token_url(text: &str) -> Result<Url, String> {
    parse_http_url(text, "https://accounts.spotify.com/api/token")
}

fn parse_api_url(text: &str) -> Result<Url, String> {
    let url = parse_http_url(text, "https://api.spotify.com/v1")?;

    if url.query().is_some() || url.fragment().is_some() {
        return Err(
            "the API base URL has a query or fragment; give only scheme, host and path, such as \
             https://api.spotify.com/v1"
                .to_owned(),
        );
    }
    Ok(url)
}

/// Parses an absolute `http` or `https` URL; `example` is shown when the text is not one.
fn parse_http_url(text: &str, example: &str) -> Result<Url, String> {
    let url = Url::parse(text)
        .map_err(|error| format!("not an absolute URL ({error}); give one such as {example}"))?;

    match url.scheme() {
        "http" | "https" => Ok(url),
        other => Err(format!(
            "the scheme is {other:?}; use https (or http on loopback)"
        )),
    }
}

fn parse_concurrency(text: &str) -> Result<NonZeroUsize, String> {
    let value: usize = text.trim().parse().map_err(|_| {
        "not a whole number; give the number of requests in flight, 1 or more".to_owned()
    })?;

    NonZeroUsize::new(value)
        .ok_or_else(|| "it must be at least 1, the number of requests in flight at once".to_owned())
}

#[tokio::main]
async fn main() -> ExitCode {
    init_tracing();
    let args = Args::parse();

    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to standard error with the filter in `RUST_LOG` (such as
/// `warn,reqwest_spotify_auth=debug`), warnings only by default.
fn init_tracing() {
    use tracing_subscriber::EnvFilter;

    let filter = match EnvFilter::try_from_default_env() {
        Ok(filter) => filter,
        Err(error) => {
            if std::env::var_os(EnvFilter::DEFAULT_ENV).is_some() {
                eprintln!(
                    "warning: RUST_LOG is not a valid filter ({error}); logging warnings only"
                );
            }
            EnvFilter::new("warn")
        }
    };

    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr)
        .with_ansi(io::stderr().is_terminal())
        .init();
}

async fn run(args: Args) -> Result<(), String> {
    if args.list_artists {
        return list_artists(args.token_url, args.api_url).await;
    }

    let (destination, output) = Destination::open(args.out.as_deref())?;
    let target = Target::connect(args.token_url, args.api_url).await?;
    let artists = target.artists_or_default(args.artists)?;
    let mut csv = start_csv(output)?;

    let counter = RequestCounter::default();
    let client = build_client(target.auth.clone(), default_retry_policy(), counter.clone());
    let scraper = Scraper::new(client, target.api_url.clone(), args.concurrency);

    let bar = progress_bar();
    let mut rows_written = 0;
    let outcome = scraper
        .scrape(
            &artists,
            |rows| {
                write_rows(&mut csv, rows)?;
                rows_written += rows.len();
                Ok(())
            },
            |event| report(&bar, &target, event),
        )
        .await;
    bar.finish_and_clear();
    let flushed = csv.flush();
    drop(csv);

    let summary = match outcome {
        Ok(summary) => summary,
        // A reader such as `head` closed standard output: it has all it wanted.
        Err(ScrapeError::Sink(error))
            if error.kind() == io::ErrorKind::BrokenPipe
                && matches!(destination, Destination::Stdout) =>
        {
            return Ok(());
        }
        Err(error) => {
            let rows_note = destination.abandon(rows_written);
            return Err(format!("{}; {rows_note}", describe(&error)));
        }
    };
    flushed.map_err(|error| format!("could not write the CSV output: {error}"))?;
    destination.commit()?;

    print_summary(&summary, &counter, &target);
    Ok(())
}

/// Prints the offline fake's artists, with their album counts, one per line.
async fn list_artists(token_url: Option<Url>, api_url: Option<Url>) -> Result<(), String> {
    let target = Target::connect(token_url, api_url).await?;
    let Some(catalog) = target.catalog() else {
        return Err(
            "--list-artists lists the offline fake's catalog; unset SPOTIFY_CLIENT_ID and \
             SPOTIFY_CLIENT_SECRET to use it"
                .to_owned(),
        );
    };

    for artist in catalog.artists() {
        println!(
            "{} ({} albums)",
            artist.name,
            catalog.albums_of(&artist.id).len()
        );
    }
    Ok(())
}

/// Returns the retry policy for transient API failures (5xx, connection errors, and a 429 the
/// rate limiter gave up on): up to 5 retries, waiting 200 ms to 10 s with exponential growth.
///
/// reqwest-retry 0.9 does not read `Retry-After`; the `RateLimitMiddleware` inside it does.
fn default_retry_policy() -> ExponentialBackoff {
    ExponentialBackoff::builder()
        .retry_bounds(Duration::from_millis(200), Duration::from_secs(10))
        .build_with_max_retries(5)
}

type CsvOutput = csv::Writer<Box<dyn Write>>;

/// Writes the header row. Rows follow with [`write_rows`].
fn start_csv(output: Box<dyn Write>) -> Result<CsvOutput, String> {
    let mut csv = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(output);

    csv.write_record(TrackRow::HEADER)
        .and_then(|()| csv.flush().map_err(csv::Error::from))
        .map_err(|error| format!("could not write the CSV header: {error}"))?;
    Ok(csv)
}

/// Writes one album's rows and flushes them, so the output always ends with a whole row.
fn write_rows(csv: &mut CsvOutput, rows: &[TrackRow]) -> io::Result<()> {
    for row in rows {
        csv.serialize(row)?;
    }
    csv.flush()
}

fn progress_bar() -> ProgressBar {
    // The default draw target is standard error, and it draws nothing when that is not a
    // terminal.
    let bar = ProgressBar::new_spinner().with_message("listing albums");
    let style = ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} albums")
        .expect("the template is valid")
        .progress_chars("=> ");
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

fn report(bar: &ProgressBar, target: &Target, event: Progress) {
    match event {
        Progress::AlbumsListed { total } => {
            bar.set_length(total as u64);
            bar.set_message("fetching tracks");
        }
        Progress::AlbumDone { done, total } => {
            bar.set_position(done as u64);
            target.album_done(done, total);
        }
    }
}

/// Describes a failed scrape with its causes. An error of this crate is printed without its
/// causes, because its message already names the token endpoint, the cause and the fix.
fn describe(error: &ScrapeError) -> String {
    if let ScrapeError::Request { url, source } = error
        && let Some(auth) = reqwest_spotify_auth::Error::find(source)
    {
        return format!("authentication for {url} failed: {auth}");
    }

    // With a wrong base URL every path is unknown to the server, which responds with 404.
    if let ScrapeError::Status { status, .. } = error
        && *status == reqwest::StatusCode::NOT_FOUND
    {
        return format!(
            "{}; check that --api-url is the API's base URL, such as https://api.spotify.com/v1",
            with_causes(error)
        );
    }
    with_causes(error)
}

/// Appends each cause whose text the message does not already contain, such as the
/// "Connection refused" beneath reqwest's "error sending request".
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut cause = error.source();

    while let Some(inner) = cause {
        let text = inner.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        cause = inner.source();
    }
    message
}

fn print_summary(summary: &Summary, counter: &RequestCounter, target: &Target) {
    let auth = target.auth.stats();
    eprintln!(
        "wrote {} from {} of {}; {}, {} ({} resent after a 401)",
        count(summary.tracks as u64, "track"),
        count(summary.albums as u64, "album"),
        count(summary.artists as u64, "artist"),
        count(counter.count(), "API request"),
        count(auth.token_requests, "token request"),
        auth.unauthorized_retries,
    );
}

fn count(number: u64, noun: &str) -> String {
    if number == 1 {
        format!("1 {noun}")
    } else {
        format!("{number} {noun}s")
    }
}
