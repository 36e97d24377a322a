//! The scrape example's logic and middleware chain against `FakeSpotify`: the rows it writes,
//! and how it gets through expiry, revocation, rate limiting, server errors and bad input.

use std::io::Write as _;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest_retry::policies::ExponentialBackoff;
use reqwest_spotify_auth::testing::{CannedResponse, Catalog, FakeSpotify, Fault};
use reqwest_spotify_auth::{Error, SpotifyAuthMiddleware};
use url::Url;

#[path = "../../examples/scrape/client.rs"]
mod scrape_client;
#[path = "../../examples/scrape/output.rs"]
mod scrape_output;
#[path = "../../examples/scrape/scraper.rs"]
mod scraper_logic;

use scrape_client::{RequestCounter, build_client};
use scraper_logic::{Progress, ScrapeError, Scraper, Summary, TrackRow};

/// Retries at once, so that tests do not wait out the example's backoff.
fn quick_retries() -> ExponentialBackoff {
    ExponentialBackoff::builder()
        .retry_bounds(Duration::from_millis(1), Duration::from_millis(5))
        .build_with_max_retries(3)
}

/// Builds the scraper and its request counter, aimed at `fake` through the example's chain.
fn scraper_for(
    fake: &FakeSpotify,
    auth: SpotifyAuthMiddleware,
    concurrency: usize,
) -> (Scraper, RequestCounter) {
    let counter = RequestCounter::default();
    let client = build_client(auth, quick_retries(), counter.clone());
    let api_url = Url::parse(&fake.api_url()).unwrap();
    let scraper = Scraper::new(client, api_url, NonZeroUsize::new(concurrency).unwrap());
    (scraper, counter)
}

/// The rows a complete scrape of `artist_names` must write, computed from the catalog.
fn expected_rows(catalog: &Catalog, artist_names: &[&str]) -> Vec<TrackRow> {
    let mut rows = Vec::new();
    for name in artist_names {
        let artist = catalog
            .artists()
            .iter()
            .find(|artist| artist.name == *name)
            .unwrap();
        for album in catalog.albums_of(&artist.id) {
            for track in catalog.tracks_of(&album.id) {
                rows.push(TrackRow {
                    artist_id: artist.id.clone(),
                    artist_name: artist.name.clone(),
                    album_id: album.id.clone(),
                    album_name: album.name.clone(),
                    album_release_date: album.release_date.clone(),
                    track_id: track.id.clone(),
                    track_name: track.name.clone(),
                    track_number: track.track_number,
                    duration_ms: u64::from(track.duration_ms),
                });
            }
        }
    }
    rows
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|name| (*name).to_owned()).collect()
}

/// Runs a scrape into a vector, one inner vector per album.
async fn scrape_albums(
    scraper: &Scraper,
    artist_names: &[String],
    on_progress: impl FnMut(Progress),
) -> (Result<Summary, ScrapeError>, Vec<Vec<TrackRow>>) {
    let mut albums = Vec::new();
    let result = scraper
        .scrape(
            artist_names,
            |rows| {
                albums.push(rows.to_vec());
                Ok(())
            },
            on_progress,
        )
        .await;
    (result, albums)
}

/// Tokens live 1 s, and every response takes at least 40 ms, two requests at a time. After the
/// revocation at the second album, 53 albums remain, so the run goes on for at least
/// 53 x 40 ms / 2 = 1.06 s: past the age of 0.8 s at which the middleware replaces the token
/// issued after the revocation.
#[tokio::test]
async fn rows_match_catalog_across_renewals() {
    let fake = FakeSpotify::builder()
        .token_lifetime(Duration::from_secs(1))
        .api_latency(Duration::from_millis(40))
        .start()
        .await;
    let auth = fake.auth_builder().build().unwrap();
    let (scraper, counter) = scraper_for(&fake, auth.clone(), 2);
    let requested = names(&["The Paper Lanterns", "noëlle aubertin"]);
    let events = Arc::new(Mutex::new(Vec::new()));

    let (result, albums) = scrape_albums(&scraper, &requested, |event| {
        events.lock().unwrap().push(event);
        if event == (Progress::AlbumDone { done: 2, total: 55 }) {
            fake.revoke_all_tokens();
        }
    })
    .await;

    let summary = result.unwrap();
    let rows: Vec<TrackRow> = albums.concat();
    let expected = expected_rows(fake.catalog(), &["The Paper Lanterns", "Noëlle Aubertin"]);
    assert_eq!(rows, expected);
    assert_eq!(summary.artists, 2);
    assert_eq!(summary.albums, 55);
    assert_eq!(summary.tracks, expected.len());

    let events = events.lock().unwrap();
    assert_eq!(events[0], Progress::AlbumsListed { total: 55 });
    assert_eq!(events.len(), 56);
    assert_eq!(
        events[55],
        Progress::AlbumDone {
            done: 55,
            total: 55
        }
    );

    let stats = fake.stats();
    assert_eq!(stats.revocations, 1);
    assert!(stats.invalid_token_rejections >= 1, "{stats:?}");
    assert!(stats.tokens_issued >= 3, "{stats:?}");
    assert_eq!(stats.missing_token_rejections, 0);
    assert_eq!(stats.api_requests, counter.count());
    assert_eq!(auth.stats().token_requests, stats.token_requests);
}

#[tokio::test]
async fn rate_limit_and_outage_survived() {
    let fake = FakeSpotify::start().await;
    // Glass Harbor takes 11 requests: search, one album page and nine track pages.
    fake.queue_api_faults(vec![Fault::pass(); 4]);
    fake.rate_limit_api(1, 1);
    fake.queue_api_faults(vec![Fault::pass(); 2]);
    fake.fail_api_requests(1, StatusCode::SERVICE_UNAVAILABLE);
    let (scraper, counter) = scraper_for(&fake, fake.auth_builder().build().unwrap(), 8);

    let (result, albums) = scrape_albums(&scraper, &names(&["Glass Harbor"]), |_| {}).await;

    result.unwrap();
    assert_eq!(
        albums.concat(),
        expected_rows(fake.catalog(), &["Glass Harbor"])
    );
    let stats = fake.stats();
    assert_eq!(stats.api_faults, 2);
    assert_eq!(stats.api_status_count(429), 1);
    assert_eq!(stats.api_status_count(503), 1);
    assert_eq!(stats.api_requests, counter.count());
    assert_eq!(fake.pending_api_faults(), 0);
}

#[tokio::test]
async fn unknown_artist_names_the_artist() {
    let fake = FakeSpotify::start().await;
    let (scraper, _) = scraper_for(&fake, fake.auth_builder().build().unwrap(), 8);

    let (result, albums) = scrape_albums(
        &scraper,
        &names(&["Glass Harbor", "Nobody Of That Name"]),
        |_| {},
    )
    .await;

    let error = result.unwrap_err();
    assert!(
        matches!(&error, ScrapeError::ArtistNotFound { name } if name == "Nobody Of That Name"),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "no artist matches \"Nobody Of That Name\"; check the spelling, or search for a \
         shorter part of the name"
    );
    assert!(albums.is_empty());
}

#[tokio::test]
async fn artist_without_albums_writes_nothing() {
    let fake = FakeSpotify::start().await;
    let (scraper, counter) = scraper_for(&fake, fake.auth_builder().build().unwrap(), 8);
    let mut events = Vec::new();

    let (result, albums) = scrape_albums(&scraper, &names(&["quiet static"]), |event| {
        events.push(event)
    })
    .await;

    let summary = result.unwrap();
    assert_eq!(summary.albums, 0);
    assert_eq!(summary.tracks, 0);
    assert!(albums.is_empty());
    assert_eq!(events, [Progress::AlbumsListed { total: 0 }]);
    assert_eq!(counter.count(), 2);
}

#[tokio::test]
async fn client_error_stops_after_whole_albums() {
    let fake = FakeSpotify::start().await;
    let mut faults = vec![Fault::pass(); 5];
    faults.push(Fault::respond(CannedResponse::spotify_error(
        403,
        "Forbidden",
    )));
    fake.queue_api_faults(faults);
    let (scraper, _) = scraper_for(&fake, fake.auth_builder().build().unwrap(), 1);
    let artist = &fake.catalog().artists()[4];

    let (result, albums) = scrape_albums(&scraper, &names(&[&artist.name]), |_| {}).await;

    let error = result.unwrap_err();
    match &error {
        ScrapeError::Status {
            status, message, ..
        } => {
            assert_eq!(*status, 403);
            assert_eq!(message, "Forbidden");
        }
        other => panic!("expected an error status, got {other:?}"),
    }
    // Search and one album page came first, so three albums were written whole.
    let catalog_albums = fake.catalog().albums_of(&artist.id);
    assert_eq!(albums.len(), 3);
    for (written, album) in albums.iter().zip(catalog_albums) {
        assert_eq!(written.len(), fake.catalog().tracks_of(&album.id).len());
    }
}

#[tokio::test]
async fn wrong_secret_reaches_auth_error() {
    let fake = FakeSpotify::start().await;
    let auth = SpotifyAuthMiddleware::builder(fake.client_id(), "not-the-secret")
        .token_url(fake.token_url())
        .api_origins([fake.uri()])
        .build()
        .unwrap();
    let (scraper, counter) = scraper_for(&fake, auth, 8);

    let (result, _) = scrape_albums(&scraper, &names(&["Glass Harbor"]), |_| {}).await;

    let error = result.unwrap_err();
    let ScrapeError::Request { source, .. } = &error else {
        panic!("expected a request error, got {error:?}");
    };
    let auth = Error::find(source).expect("the crate's error is inside the chain's error");
    assert!(matches!(auth, Error::InvalidClient { .. }), "{auth:?}");
    assert_eq!(counter.count(), 0);
    assert_eq!(fake.stats().api_requests, 0);
}

#[tokio::test]
async fn sink_error_stops_the_scrape() {
    let fake = FakeSpotify::start().await;
    let (scraper, _) = scraper_for(&fake, fake.auth_builder().build().unwrap(), 8);
    let mut calls = 0;

    let result = scraper
        .scrape(
            &names(&["Glass Harbor"]),
            |_| {
                calls += 1;
                Err(std::io::Error::other("disk full"))
            },
            |_| {},
        )
        .await;

    let error = result.unwrap_err();
    assert!(matches!(error, ScrapeError::Sink(_)), "{error:?}");
    assert_eq!(error.to_string(), "writing rows failed: disk full");
    assert_eq!(calls, 1);
}

#[test]
fn header_matches_row_fields() {
    let row = TrackRow {
        artist_id: "a".into(),
        artist_name: "b".into(),
        album_id: "c".into(),
        album_name: "d, e".into(),
        album_release_date: "2020".into(),
        track_id: "f".into(),
        track_name: "g \"h\"".into(),
        track_number: 1,
        duration_ms: 2,
    };
    let mut writer = csv::Writer::from_writer(Vec::new());

    writer.serialize(&row).unwrap();
    let text = String::from_utf8(writer.into_inner().unwrap()).unwrap();

    assert_eq!(
        text,
        format!(
            "{}\na,b,c,\"d, e\",2020,f,\"g \"\"h\"\"\",1,2\n",
            TrackRow::HEADER.join(",")
        )
    );
}

#[tokio::test]
async fn same_artist_twice_scraped_once() {
    let fake = FakeSpotify::start().await;
    let (scraper, _) = scraper_for(&fake, fake.auth_builder().build().unwrap(), 8);

    let (result, albums) =
        scrape_albums(&scraper, &names(&["Glass Harbor", "glass harbor"]), |_| {}).await;

    let summary = result.unwrap();
    assert_eq!(summary.artists, 1);
    assert_eq!(
        albums.concat(),
        expected_rows(fake.catalog(), &["Glass Harbor"])
    );
}

#[test]
fn failed_run_keeps_existing_file() {
    let folder = std::env::temp_dir().join(format!("scrape-output-{}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap();
    let path = folder.join("tracks.csv");
    std::fs::write(&path, "precious\n").unwrap();

    // A run that fails before any row leaves the file as it was and no partial file.
    let (empty_run, output) = scrape_output::Destination::open(Some(&path)).unwrap();
    drop(output);
    let message = empty_run.abandon(0);
    assert!(message.contains("no rows were written"), "{message}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious\n");
    assert!(!folder.join("tracks.csv.partial").exists());

    // A run that fails after some rows keeps them beside the file.
    let (failed_run, mut output) = scrape_output::Destination::open(Some(&path)).unwrap();
    output.write_all(b"header\nrow\n").unwrap();
    drop(output);
    let message = failed_run.abandon(1);
    assert!(message.contains("tracks.csv.partial"), "{message}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious\n");
    assert_eq!(
        std::fs::read_to_string(folder.join("tracks.csv.partial")).unwrap(),
        "header\nrow\n"
    );

    // A successful run replaces the file.
    let (good_run, mut output) = scrape_output::Destination::open(Some(&path)).unwrap();
    output.write_all(b"header\n").unwrap();
    drop(output);
    good_run.commit().unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "header\n");
    assert!(!folder.join("tracks.csv.partial").exists());

    std::fs::remove_dir_all(&folder).unwrap();
}
