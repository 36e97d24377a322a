//! The scraping logic: find each artist, page through its albums and their tracks, and hand
//! finished albums to a row sink.
//!
//! It talks to any server with the paths and paging of Spotify's Web API, through whatever
//! middleware chain the caller built, so tests run it against `FakeSpotify`.

use std::collections::HashSet;
use std::io;
use std::num::NonZeroUsize;

use futures_util::{StreamExt as _, TryStreamExt as _, stream};
use reqwest_middleware::ClientWithMiddleware;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use url::Url;

/// The largest page each endpoint allows: `/search` and `/artists/{id}/albums` 10,
/// `/albums/{id}/tracks` 50.
const SEARCH_LIMIT: &str = "10";
const ALBUM_LIMIT: &str = "10";
const TRACK_LIMIT: &str = "50";

/// The maximum number of pages read from one list, a guard against a server whose `next` links
/// never end.
const MAX_PAGES: usize = 10_000;

/// One CSV row: a track with its album and artist.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct TrackRow {
    pub artist_id: String,
    pub artist_name: String,
    pub album_id: String,
    pub album_name: String,
    pub album_release_date: String,
    pub track_id: String,
    pub track_name: String,
    pub track_number: u32,
    pub duration_ms: u64,
}

impl TrackRow {
    /// The CSV header, in field order.
    pub const HEADER: [&'static str; 9] = [
        "artist_id",
        "artist_name",
        "album_id",
        "album_name",
        "album_release_date",
        "track_id",
        "track_name",
        "track_number",
        "duration_ms",
    ];
}

/// Progress reports, in the order they happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Every artist is found and its albums are listed; `total` albums remain to fetch.
    AlbumsListed { total: usize },
    /// The rows of one more album went to the sink.
    AlbumDone { done: usize, total: usize },
}

/// The counts of a finished scrape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub artists: usize,
    pub albums: usize,
    pub tracks: usize,
}

/// The reason a scrape stopped.
#[derive(Debug, thiserror::Error)]
pub enum ScrapeError {
    /// The search found no artist.
    #[error(
        "no artist matches {name:?}; check the spelling, or search for a shorter part of the name"
    )]
    ArtistNotFound { name: String },

    /// The request failed before a response arrived, in the middleware chain or the transport.
    #[error("the request to {url} failed: {source}")]
    Request {
        url: Url,
        #[source]
        source: reqwest_middleware::Error,
    },

    /// The API responded with an error status.
    #[error("the API returned {status} for {url}: {message}")]
    Status {
        url: Url,
        status: reqwest::StatusCode,
        message: String,
    },

    /// The response body was not the JSON the endpoint documents.
    #[error("the response from {url} is not valid JSON of the expected shape: {reason}")]
    Decode { url: Url, reason: String },

    /// A `next` link pointed outside the API base URL, or the pages did not end.
    #[error("the list at {url} cannot be paged: {reason}")]
    Paging { url: Url, reason: String },

    /// The sink could not take the rows.
    #[error("writing rows failed: {0}")]
    Sink(#[source] io::Error),
}

/// Scrapes through one client, with at most `concurrency` requests in flight.
pub struct Scraper {
    client: ClientWithMiddleware,
    api_url: Url,
    concurrency: usize,
}

/// An artist found by search.
#[derive(Debug, Clone, Deserialize)]
struct ArtistItem {
    id: String,
    name: String,
}

#[derive(Debug, Clone, Deserialize)]
struct AlbumItem {
    id: String,
    name: String,
    release_date: String,
}

#[derive(Debug, Clone, Deserialize)]
struct TrackItem {
    id: Option<String>,
    name: String,
    track_number: u32,
    duration_ms: u64,
}

#[derive(Debug, Deserialize)]
struct Page<T> {
    items: Vec<T>,
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
struct SearchResponse {
    artists: Page<ArtistItem>,
}

#[derive(Debug, Deserialize)]
struct ErrorResponse {
    error: ErrorObject,
}

#[derive(Debug, Deserialize)]
struct ErrorObject {
    message: String,
}

/// One album to fetch, with the artist it was listed under.
struct AlbumJob {
    artist: ArtistItem,
    album: AlbumItem,
}

impl Scraper {
    /// Creates a scraper for the API at `api_url`, such as `https://api.spotify.com/v1`.
    pub fn new(client: ClientWithMiddleware, api_url: Url, concurrency: NonZeroUsize) -> Self {
        Scraper {
            client,
            api_url,
            concurrency: concurrency.get(),
        }
    }

    /// Scrapes every track of every album of each named artist.
    ///
    /// Albums are written in artist order, then in the order the API lists them, one whole
    /// album per `sink` call, so a failure never leaves part of an album written.
    ///
    /// # Errors
    ///
    /// The first failure: an artist that search does not find, a failed request or error status
    /// (after the client's own retries), an unexpected response, or a sink error.
    pub async fn scrape(
        &self,
        artist_names: &[String],
        mut sink: impl FnMut(&[TrackRow]) -> io::Result<()>,
        mut progress: impl FnMut(Progress),
    ) -> Result<Summary, ScrapeError> {
        let (artists, jobs) = self.list_albums(artist_names).await?;
        let total = jobs.len();
        progress(Progress::AlbumsListed { total });

        let mut album_rows = stream::iter(jobs)
            .map(|job| self.album_rows(job))
            .buffered(self.concurrency);

        let mut summary = Summary {
            artists,
            albums: 0,
            tracks: 0,
        };
        while let Some(rows) = album_rows.try_next().await? {
            sink(&rows).map_err(ScrapeError::Sink)?;
            summary.albums += 1;
            summary.tracks += rows.len();
            progress(Progress::AlbumDone {
                done: summary.albums,
                total,
            });
        }
        Ok(summary)
    }

    /// Finds each artist and lists its albums, artists in the order given. Names that find an
    /// artist already found, such as the same name in other case, are skipped. Returns the number
    /// of distinct artists and the albums to fetch.
    async fn list_albums(
        &self,
        artist_names: &[String],
    ) -> Result<(usize, Vec<AlbumJob>), ScrapeError> {
        let found: Vec<ArtistItem> = stream::iter(artist_names)
            .map(|name| self.find_artist(name))
            .buffered(self.concurrency)
            .try_collect()
            .await?;

        let mut seen = HashSet::new();
        let artists: Vec<ArtistItem> = found
            .into_iter()
            .filter(|artist| seen.insert(artist.id.clone()))
            .collect();

        let listed: Vec<(ArtistItem, Vec<AlbumItem>)> = stream::iter(artists)
            .map(|artist| async move {
                let albums = self.artist_albums(&artist).await?;
                Ok::<_, ScrapeError>((artist, albums))
            })
            .buffered(self.concurrency)
            .try_collect()
            .await?;

        let artist_count = listed.len();
        let jobs = listed
            .into_iter()
            .flat_map(|(artist, albums)| {
                albums.into_iter().map(move |album| AlbumJob {
                    artist: artist.clone(),
                    album,
                })
            })
            .collect();
        Ok((artist_count, jobs))
    }

    /// Searches for `name` and takes the first result whose name equals it ignoring case, or
    /// else the first result.
    async fn find_artist(&self, name: &str) -> Result<ArtistItem, ScrapeError> {
        let url = self.endpoint(
            &["search"],
            &[("q", name), ("type", "artist"), ("limit", SEARCH_LIMIT)],
        );
        let response: SearchResponse = self.get_json(url).await?;

        let requested = name.trim().to_lowercase();
        let found = response.artists.items;
        let exact = found
            .iter()
            .position(|artist| artist.name.to_lowercase() == requested);

        match exact.or((!found.is_empty()).then_some(0)) {
            Some(index) => Ok(found[index].clone()),
            None => Err(ScrapeError::ArtistNotFound {
                name: name.to_owned(),
            }),
        }
    }

    async fn artist_albums(&self, artist: &ArtistItem) -> Result<Vec<AlbumItem>, ScrapeError> {
        let url = self.endpoint(
            &["artists", &artist.id, "albums"],
            &[("limit", ALBUM_LIMIT)],
        );
        self.all_pages(url).await
    }

    async fn album_rows(&self, job: AlbumJob) -> Result<Vec<TrackRow>, ScrapeError> {
        let url = self.endpoint(
            &["albums", &job.album.id, "tracks"],
            &[("limit", TRACK_LIMIT)],
        );
        let tracks: Vec<TrackItem> = self.all_pages(url).await?;

        let rows = tracks
            .into_iter()
            .map(|track| TrackRow {
                artist_id: job.artist.id.clone(),
                artist_name: job.artist.name.clone(),
                album_id: job.album.id.clone(),
                album_name: job.album.name.clone(),
                album_release_date: job.album.release_date.clone(),
                track_id: track.id.unwrap_or_default(),
                track_name: track.name,
                track_number: track.track_number,
                duration_ms: track.duration_ms,
            })
            .collect();
        Ok(rows)
    }

    /// Reads every page of a list, following `next` links one after the other.
    async fn all_pages<T: DeserializeOwned>(&self, first: Url) -> Result<Vec<T>, ScrapeError> {
        let mut items = Vec::new();
        let mut next = Some(first.clone());

        for _ in 0..MAX_PAGES {
            let Some(url) = next.take() else {
                return Ok(items);
            };
            let page: Page<T> = self.get_json(url.clone()).await?;
            items.extend(page.items);
            next = page
                .next
                .map(|link| self.check_next_link(&url, &link))
                .transpose()?;
        }

        Err(ScrapeError::Paging {
            url: first,
            reason: format!("it has more than {MAX_PAGES} pages"),
        })
    }

    /// Accepts a `next` link only under the API base URL, where the middleware sends the token.
    fn check_next_link(&self, current: &Url, link: &str) -> Result<Url, ScrapeError> {
        let paging_error = |reason: String| ScrapeError::Paging {
            url: current.clone(),
            reason,
        };

        let next = Url::parse(link)
            .map_err(|error| paging_error(format!("next link {link:?} is not a URL ({error})")))?;
        if !next.as_str().starts_with(self.api_url.as_str()) {
            return Err(paging_error(format!(
                "next link {link} is outside the API base URL {}",
                self.api_url
            )));
        }
        Ok(next)
    }

    /// Builds `{api_url}/{segments...}?{query}`, percent-encoding each segment.
    fn endpoint(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.api_url.clone();
        url.path_segments_mut()
            .expect("the API base URL is an http(s) URL, which has path segments")
            .pop_if_empty()
            .extend(segments);
        url.query_pairs_mut().extend_pairs(query);
        url
    }

    /// Sends `GET url` and decodes a successful response, or turns an error status into
    /// [`ScrapeError::Status`] with the API's own message.
    async fn get_json<T: DeserializeOwned>(&self, url: Url) -> Result<T, ScrapeError> {
        let response = self
            .client
            .get(url.clone())
            .send()
            .await
            .map_err(|source| ScrapeError::Request {
                url: url.clone(),
                source,
            })?;

        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|source| ScrapeError::Request {
                url: url.clone(),
                source: source.into(),
            })?;

        if !status.is_success() {
            let message = serde_json::from_slice::<ErrorResponse>(&body)
                .map(|parsed| parsed.error.message)
                .unwrap_or_else(|_| String::from_utf8_lossy(&body).chars().take(200).collect());
            return Err(ScrapeError::Status {
                url,
                status,
                message,
            });
        }

        serde_json::from_slice(&body).map_err(|error| ScrapeError::Decode {
            url,
            reason: error.to_string(),
        })
    }
}
