//! Builds the synthetic catalog from a fixed seed, so every run serves the same data.
//!
//! All names are made up from word lists. A few hand-placed items cover what clients get wrong:
//! non-ASCII artist names, commas and double quotes in album and track names, an album longer than
//! the largest page, and an artist without albums.

use std::collections::HashSet;

use fastrand::Rng;

use super::catalog::{Album, AlbumType, Artist, Catalog, ReleaseDatePrecision, Track};

/// One artist to generate: name, genres, number of albums and popularity.
struct ArtistSpec {
    name: &'static str,
    genres: &'static [&'static str],
    albums: usize,
    popularity: u32,
}

/// The artists, the one with the most albums first. Six names contain "lantern", more than one
/// search page at the default limit of 5.
const ARTISTS: &[ArtistSpec] = &[
    spec("The Paper Lanterns", &["indie folk", "chamber pop"], 48, 71),
    spec("Paper Lanterns", &["dream pop"], 11, 38),
    spec("Noëlle Aubertin", &["chanson", "vocal jazz"], 7, 55),
    spec("Søren Vik Ensemble", &["nordic jazz"], 6, 42),
    spec("Glass Harbor", &["post-rock"], 9, 47),
    spec("Midnight Cartography", &["synthwave"], 5, 33),
    spec("Lantern Bay Choir", &["choral"], 3, 18),
    spec("Red Lantern Radio", &["garage rock"], 8, 51),
    spec("Lanterns of Ash", &["doom metal"], 4, 29),
    spec("Seven Lantern Street", &["hip hop"], 6, 60),
    spec("Velvet Tideline", &["soul"], 5, 44),
    spec("Quiet Static", &["ambient"], 0, 12),
];

const fn spec(
    name: &'static str,
    genres: &'static [&'static str],
    albums: usize,
    popularity: u32,
) -> ArtistSpec {
    ArtistSpec {
        name,
        genres,
        albums,
        popularity,
    }
}

const ADJECTIVES: &[&str] = &[
    "Quiet", "Northern", "Silver", "Hollow", "Amber", "Distant", "Borrowed", "Electric", "Slow",
    "Golden", "Winter", "Velvet", "Faded", "Restless", "Open", "Broken", "Gentle", "Second",
    "Last", "Paper",
];

const NOUNS: &[&str] = &[
    "Harbor",
    "Signal",
    "Orchard",
    "River",
    "Static",
    "Window",
    "Season",
    "Engine",
    "Garden",
    "Letter",
    "Shoreline",
    "Mirror",
    "Compass",
    "Meadow",
    "Station",
    "Ember",
    "Thread",
    "Horizon",
    "Canal",
    "Lantern",
];

/// The discs of the box set that opens the first artist's list: 56 tracks, more than the
/// largest page of album tracks (50).
const BOX_SET_DISCS: [u32; 3] = [20, 20, 16];

/// Kinds of ID, mixed into the seed of each generated ID.
const ARTIST_ID: u64 = 1;
const ALBUM_ID: u64 = 2;
const TRACK_ID: u64 = 3;

/// Builds the catalog. It draws only from generators seeded with constants.
pub(crate) fn build_catalog() -> Catalog {
    let artists: Vec<Artist> = ARTISTS
        .iter()
        .enumerate()
        .map(|(index, spec)| make_artist(index, spec))
        .collect();

    let mut albums = Vec::new();
    let mut tracks = Vec::new();
    for (index, spec) in ARTISTS.iter().enumerate() {
        let mut generator = AlbumGenerator::new(index, &artists);
        for position in 0..spec.albums {
            let (album, album_tracks) = generator.album(position);
            albums.push(album);
            tracks.extend(album_tracks);
        }
    }

    Catalog::from_parts(artists, albums, tracks)
}

fn make_artist(index: usize, spec: &ArtistSpec) -> Artist {
    Artist {
        id: spotify_id(&[ARTIST_ID, index as u64]),
        name: spec.name.to_owned(),
        genres: spec
            .genres
            .iter()
            .map(|genre| (*genre).to_owned())
            .collect(),
        popularity: spec.popularity,
        followers: u64::from(spec.popularity).pow(3) * 7 + index as u64,
    }
}

/// Makes a Spotify-style ID: 22 base62 characters drawn from a generator seeded with `parts`.
fn spotify_id(parts: &[u64]) -> String {
    let seed = parts
        .iter()
        .fold(0x0005_EED5_F00D_CAFE_u64, |seed, part| mix(seed ^ part));
    let mut rng = Rng::with_seed(seed);
    (0..22).map(|_| rng.alphanumeric()).collect()
}

/// Applies the SplitMix64 finalizer, which spreads each input bit over the whole output.
fn mix(value: u64) -> u64 {
    let mut z = value.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Generates one artist's albums, newest first, walking the release date back in time.
struct AlbumGenerator<'a> {
    artist_index: usize,
    artists: &'a [Artist],
    rng: Rng,
    used_names: HashSet<String>,
    year: u32,
    month: u32,
}

impl<'a> AlbumGenerator<'a> {
    fn new(artist_index: usize, artists: &'a [Artist]) -> Self {
        AlbumGenerator {
            artist_index,
            artists,
            rng: Rng::with_seed(mix(0xA1B0 + artist_index as u64)),
            used_names: HashSet::new(),
            year: 2025 - artist_index as u32,
            month: 1 + (artist_index as u32 * 5) % 12,
        }
    }

    fn album(&mut self, position: usize) -> (Album, Vec<Track>) {
        let (album_type, discs) = self.shape(position);
        let id = spotify_id(&[ALBUM_ID, self.artist_index as u64, position as u64]);
        let tracks = self.tracks(&id, position, album_type, &discs);
        let name = self.album_name(position, album_type, &tracks);
        let (release_date, release_date_precision) = self.release_date();

        let album = Album {
            id,
            name,
            artist_id: self.artists[self.artist_index].id.clone(),
            album_type,
            release_date,
            release_date_precision,
            total_tracks: tracks.len() as u32,
        };
        (album, tracks)
    }

    /// Returns the album's type and the number of tracks on each of its discs.
    fn shape(&mut self, position: usize) -> (AlbumType, Vec<u32>) {
        match (self.artist_index, position) {
            (0, 0) => return (AlbumType::Compilation, BOX_SET_DISCS.to_vec()),
            (0, 1) => return (AlbumType::Album, vec![12]),
            (2, 1) => return (AlbumType::Album, vec![10]),
            _ => {}
        }

        match self.rng.u32(0..20) {
            0..11 => (AlbumType::Album, vec![self.rng.u32(8..=14)]),
            11..18 => (AlbumType::Single, vec![self.rng.u32(1..=3)]),
            _ => (AlbumType::Compilation, vec![self.rng.u32(16..=24)]),
        }
    }

    fn album_name(&mut self, position: usize, album_type: AlbumType, tracks: &[Track]) -> String {
        let name = match (self.artist_index, position, album_type) {
            (0, 0, _) => "The Complete Lantern Sessions".to_owned(),
            (0, 1, _) => "Rain, Again".to_owned(),
            (2, 1, _) => "Éclats de verre".to_owned(),
            (_, _, AlbumType::Single) => tracks[0].name.clone(),
            (_, _, AlbumType::Compilation) => format!("{}: The Collection", self.phrase()),
            _ => self.phrase(),
        };
        self.unique(name)
    }

    /// Appends "(Part N)" to a name the artist already used.
    fn unique(&mut self, name: String) -> String {
        let mut candidate = name.clone();
        let mut part = 2;
        while !self.used_names.insert(candidate.clone()) {
            candidate = format!("{name} (Part {part})");
            part += 1;
        }
        candidate
    }

    fn tracks(
        &mut self,
        album_id: &str,
        position: usize,
        album_type: AlbumType,
        discs: &[u32],
    ) -> Vec<Track> {
        let mut tracks = Vec::new();
        for (disc_index, &count) in discs.iter().enumerate() {
            for track_number in 1..=count {
                let sequence = tracks.len() as u64;
                let name = self.track_name(position, tracks.len());
                let duration_ms = match album_type {
                    AlbumType::Single => self.rng.u32(150_000..=260_000),
                    _ => self.rng.u32(95_000..=420_000),
                };

                tracks.push(Track {
                    id: spotify_id(&[
                        TRACK_ID,
                        self.artist_index as u64,
                        position as u64,
                        sequence,
                    ]),
                    name,
                    album_id: album_id.to_owned(),
                    artist_ids: self.performers(),
                    disc_number: disc_index as u32 + 1,
                    track_number,
                    duration_ms,
                    explicit: self.rng.u32(0..10) == 0,
                });
            }
        }
        tracks
    }

    fn track_name(&mut self, position: usize, index: usize) -> String {
        match (self.artist_index, position, index) {
            (0, 1, 2) => "The \"Long\" Goodbye".to_owned(),
            (0, 1, 5) => "Commas, \"Quotes\" and Semicolons;".to_owned(),
            (2, 1, 0) => "Café, trois heures du matin".to_owned(),
            _ => match self.rng.u32(0..4) {
                0 => format!("{} in the {}", self.noun(), self.noun()),
                1 => format!("Song for a {}", self.phrase()),
                2 => format!("{} ({} Mix)", self.phrase(), self.adjective()),
                _ => self.phrase(),
            },
        }
    }

    /// Returns the album's artist, and now and then a second catalog artist as a guest.
    fn performers(&mut self) -> Vec<String> {
        let mut performers = vec![self.artists[self.artist_index].id.clone()];
        if self.rng.u32(0..12) == 0 {
            let offset = self.rng.usize(1..self.artists.len());
            let guest = (self.artist_index + offset) % self.artists.len();
            performers.push(self.artists[guest].id.clone());
        }
        performers
    }

    /// Steps two to nine months back from the previous album, and formats the date with a
    /// precision that drops for older releases.
    fn release_date(&mut self) -> (String, ReleaseDatePrecision) {
        let months_back = self.rng.u32(2..10);
        let total_months = self.year * 12 + (self.month - 1) - months_back;
        self.year = total_months / 12;
        self.month = total_months % 12 + 1;
        let day = self.rng.u32(1..=28);

        if self.year < 2000 {
            (format!("{}", self.year), ReleaseDatePrecision::Year)
        } else if self.rng.u32(0..6) == 0 {
            (
                format!("{}-{:02}", self.year, self.month),
                ReleaseDatePrecision::Month,
            )
        } else {
            (
                format!("{}-{:02}-{day:02}", self.year, self.month),
                ReleaseDatePrecision::Day,
            )
        }
    }

    fn phrase(&mut self) -> String {
        format!("{} {}", self.adjective(), self.noun())
    }

    fn adjective(&mut self) -> &'static str {
        ADJECTIVES[self.rng.usize(0..ADJECTIVES.len())]
    }

    fn noun(&mut self) -> &'static str {
        NOUNS[self.rng.usize(0..NOUNS.len())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_base62() {
        let catalog = build_catalog();
        let mut seen = HashSet::new();

        for artist in catalog.artists() {
            for id in std::iter::once(&artist.id)
                .chain(catalog.albums_of(&artist.id).iter().map(|album| &album.id))
            {
                assert_eq!(id.len(), 22, "{id}");
                assert!(id.bytes().all(|byte| byte.is_ascii_alphanumeric()), "{id}");
                assert!(seen.insert(id.clone()), "duplicate ID {id}");
            }
            for album in catalog.albums_of(&artist.id) {
                for track in catalog.tracks_of(&album.id) {
                    assert!(seen.insert(track.id.clone()), "duplicate ID {}", track.id);
                }
            }
        }
    }

    #[test]
    fn catalog_is_same_every_build() {
        let first = build_catalog();
        let second = build_catalog();

        assert_eq!(first.artists(), second.artists());
        for artist in first.artists() {
            assert_eq!(first.albums_of(&artist.id), second.albums_of(&artist.id));
        }
    }

    #[test]
    fn lists_are_long_enough_to_page() {
        let catalog = build_catalog();
        let first = &catalog.artists()[0];
        let albums = catalog.albums_of(&first.id);

        assert!(albums.len() > 10);
        assert!(
            albums
                .iter()
                .any(|album| catalog.tracks_of(&album.id).len() > 50)
        );
        assert!(catalog.search_artists("lantern").len() > 5);
        assert!(
            catalog
                .artists()
                .iter()
                .all(|artist| catalog.albums_of(&artist.id).len() <= albums.len())
        );
    }

    #[test]
    fn release_dates_match_precision() {
        let catalog = build_catalog();

        for artist in catalog.artists() {
            for album in catalog.albums_of(&artist.id) {
                let expected_length = match album.release_date_precision {
                    ReleaseDatePrecision::Year => 4,
                    ReleaseDatePrecision::Month => 7,
                    ReleaseDatePrecision::Day => 10,
                };
                assert_eq!(album.release_date.len(), expected_length, "{album:?}");
                assert_eq!(
                    album.total_tracks as usize,
                    catalog.tracks_of(&album.id).len()
                );
            }
        }
    }
}
