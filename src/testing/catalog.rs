//! The fake's synthetic catalog: made-up artists, albums and tracks, the same on every run.

use std::collections::HashMap;
use std::ops::Range;

/// A made-up artist.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Artist {
    /// The artist's Spotify ID: 22 base62 characters.
    pub id: String,
    /// The artist's name.
    pub name: String,
    /// Genres, as in Spotify's artist object.
    pub genres: Vec<String>,
    /// Popularity from 0 to 100. Search lists more popular artists first.
    pub popularity: u32,
    /// The follower count.
    pub followers: u64,
}

/// The kind of an album, Spotify's `album_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlbumType {
    /// A full-length album.
    Album,
    /// A single or EP.
    Single,
    /// A compilation.
    Compilation,
}

impl AlbumType {
    /// Returns the value Spotify sends in `album_type` and `album_group`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlbumType::Album => "album",
            AlbumType::Single => "single",
            AlbumType::Compilation => "compilation",
        }
    }
}

/// How much of a release date is known, Spotify's `release_date_precision`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleaseDatePrecision {
    /// `release_date` is `YYYY`.
    Year,
    /// `release_date` is `YYYY-MM`.
    Month,
    /// `release_date` is `YYYY-MM-DD`.
    Day,
}

impl ReleaseDatePrecision {
    /// Returns the value Spotify sends in `release_date_precision`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseDatePrecision::Year => "year",
            ReleaseDatePrecision::Month => "month",
            ReleaseDatePrecision::Day => "day",
        }
    }
}

/// A made-up album, single or compilation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Album {
    /// The album's Spotify ID.
    pub id: String,
    /// The album's name.
    pub name: String,
    /// The ID of the album's artist. Every album in the catalog has exactly one.
    pub artist_id: String,
    /// Album, single or compilation.
    pub album_type: AlbumType,
    /// The release date, with the precision given by
    /// [`release_date_precision`](Self::release_date_precision).
    pub release_date: String,
    /// How much of the release date is known.
    pub release_date_precision: ReleaseDatePrecision,
    /// The number of tracks.
    pub total_tracks: u32,
}

/// A made-up track.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Track {
    /// The track's Spotify ID.
    pub id: String,
    /// The track's name.
    pub name: String,
    /// The ID of the album the track is on.
    pub album_id: String,
    /// The IDs of the performing artists, the album's artist first.
    pub artist_ids: Vec<String>,
    /// The disc number, from 1.
    pub disc_number: u32,
    /// The position on its disc, from 1.
    pub track_number: u32,
    /// The length in milliseconds.
    pub duration_ms: u32,
    /// Whether the track has explicit lyrics.
    pub explicit: bool,
}

/// The artists, albums and tracks the fake serves, for computing expected results in tests.
///
/// It is built by the same code on every run, so its IDs and names never change between runs.
/// Lists come in the order the API pages through them.
#[derive(Debug, Clone)]
pub struct Catalog {
    artists: Vec<Artist>,
    albums: Vec<Album>,
    tracks: Vec<Track>,
    artist_index: HashMap<String, usize>,
    album_index: HashMap<String, usize>,
    /// For each artist, its albums' positions in `albums`.
    albums_by_artist: Vec<Range<usize>>,
    /// For each album, its tracks' positions in `tracks`.
    tracks_by_album: Vec<Range<usize>>,
}

impl Catalog {
    /// Builds the catalog from lists in which each artist's albums, and each album's tracks, are
    /// contiguous and in API order.
    pub(crate) fn from_parts(artists: Vec<Artist>, albums: Vec<Album>, tracks: Vec<Track>) -> Self {
        let artist_index = index_by_id(artists.iter().map(|artist| &artist.id));
        let album_index = index_by_id(albums.iter().map(|album| &album.id));

        let albums_by_artist = artists
            .iter()
            .map(|artist| contiguous_range(&albums, |album| album.artist_id == artist.id))
            .collect();
        let tracks_by_album = albums
            .iter()
            .map(|album| contiguous_range(&tracks, |track| track.album_id == album.id))
            .collect();

        Catalog {
            artists,
            albums,
            tracks,
            artist_index,
            album_index,
            albums_by_artist,
            tracks_by_album,
        }
    }

    /// Returns every artist, the one with the most albums first.
    pub fn artists(&self) -> &[Artist] {
        &self.artists
    }

    /// Returns the artist with this ID.
    pub fn artist(&self, id: &str) -> Option<&Artist> {
        self.artist_index.get(id).map(|&index| &self.artists[index])
    }

    /// Returns the album with this ID.
    pub fn album(&self, id: &str) -> Option<&Album> {
        self.album_index.get(id).map(|&index| &self.albums[index])
    }

    /// Returns an artist's albums, newest first, as `GET /v1/artists/{id}/albums` lists them.
    /// An unknown ID gives an empty list.
    pub fn albums_of(&self, artist_id: &str) -> &[Album] {
        match self.artist_index.get(artist_id) {
            Some(&index) => &self.albums[self.albums_by_artist[index].clone()],
            None => &[],
        }
    }

    /// Returns an album's tracks in disc and track order, as `GET /v1/albums/{id}/tracks` lists
    /// them. An unknown ID gives an empty list.
    pub fn tracks_of(&self, album_id: &str) -> &[Track] {
        match self.album_index.get(album_id) {
            Some(&index) => &self.tracks[self.tracks_by_album[index].clone()],
            None => &[],
        }
    }

    /// Returns the artists that `GET /v1/search?type=artist` finds for `query`, in its order.
    ///
    /// An artist matches when its name contains every whitespace-separated word of the query,
    /// ignoring case. Exact name matches come first, then the rest by descending popularity.
    pub fn search_artists(&self, query: &str) -> Vec<&Artist> {
        let query = query.trim().to_lowercase();
        let words: Vec<&str> = query.split_whitespace().collect();
        if words.is_empty() {
            return Vec::new();
        }

        let mut found: Vec<(bool, &Artist)> = self
            .artists
            .iter()
            .filter_map(|artist| {
                let name = artist.name.to_lowercase();
                let matches = words.iter().all(|word| name.contains(word));
                matches.then_some((name == query, artist))
            })
            .collect();

        // A stable sort keeps catalog order among equally popular artists.
        found.sort_by_key(|(exact, artist)| (!exact, std::cmp::Reverse(artist.popularity)));
        found.into_iter().map(|(_, artist)| artist).collect()
    }
}

fn index_by_id<'a>(ids: impl Iterator<Item = &'a String>) -> HashMap<String, usize> {
    ids.enumerate()
        .map(|(position, id)| (id.clone(), position))
        .collect()
}

/// Returns the positions of the items that `belongs` selects, which must be contiguous.
fn contiguous_range<T>(items: &[T], belongs: impl Fn(&T) -> bool) -> Range<usize> {
    let start = items.iter().position(&belongs).unwrap_or(0);
    let length = items[start..]
        .iter()
        .take_while(|item| belongs(item))
        .count();
    debug_assert_eq!(
        items.iter().filter(|item| belongs(item)).count(),
        length,
        "catalog items of one owner must be contiguous"
    );
    start..start + length
}
