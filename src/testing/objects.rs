//! Catalog items as the Web API's JSON objects, with the fields of Spotify's OpenAPI schemas.
//!
//! Links (`href`, `external_urls`) point at the fake itself, so that a client following them never
//! leaves loopback. Images are empty lists, because the fake serves no images.

use serde_json::{Value, json};

use super::catalog::{Album, Artist, Catalog, Track};

/// The markets every item is available in.
const MARKETS: [&str; 6] = ["CA", "DE", "GB", "JP", "SE", "US"];

/// Builds the JSON objects for one server, whose address prefixes every link.
pub(crate) struct ObjectWriter<'a> {
    pub(crate) base_uri: &'a str,
    pub(crate) catalog: &'a Catalog,
}

impl ObjectWriter<'_> {
    /// Builds the full artist object of `GET /v1/artists/{id}` and search results.
    pub(crate) fn artist(&self, artist: &Artist) -> Value {
        let mut object = self.simplified_artist(artist);
        object["followers"] = json!({ "href": null, "total": artist.followers });
        object["genres"] = json!(artist.genres);
        object["images"] = json!([]);
        object["popularity"] = json!(artist.popularity);
        object
    }

    /// Builds the simplified artist object inside albums and tracks.
    pub(crate) fn simplified_artist(&self, artist: &Artist) -> Value {
        json!({
            "external_urls": self.external_urls("artist", &artist.id),
            "href": self.api_href("artists", &artist.id),
            "id": artist.id,
            "name": artist.name,
            "type": "artist",
            "uri": format!("spotify:artist:{}", artist.id),
        })
    }

    /// Builds the album object of `GET /v1/artists/{id}/albums` (ArtistDiscographyAlbumObject).
    pub(crate) fn discography_album(&self, album: &Album) -> Value {
        json!({
            "album_type": album.album_type.as_str(),
            "album_group": album.album_type.as_str(),
            "artists": self.artists_by_id(std::slice::from_ref(&album.artist_id)),
            "available_markets": MARKETS,
            "external_urls": self.external_urls("album", &album.id),
            "href": self.api_href("albums", &album.id),
            "id": album.id,
            "images": [],
            "name": album.name,
            "release_date": album.release_date,
            "release_date_precision": album.release_date_precision.as_str(),
            "total_tracks": album.total_tracks,
            "type": "album",
            "uri": format!("spotify:album:{}", album.id),
        })
    }

    /// Builds the simplified track object of `GET /v1/albums/{id}/tracks`.
    pub(crate) fn simplified_track(&self, track: &Track) -> Value {
        json!({
            "artists": self.artists_by_id(&track.artist_ids),
            "available_markets": MARKETS,
            "disc_number": track.disc_number,
            "duration_ms": track.duration_ms,
            "explicit": track.explicit,
            "external_urls": self.external_urls("track", &track.id),
            "href": self.api_href("tracks", &track.id),
            "id": track.id,
            "is_local": false,
            "is_playable": true,
            "name": track.name,
            "preview_url": null,
            "track_number": track.track_number,
            "type": "track",
            "uri": format!("spotify:track:{}", track.id),
        })
    }

    fn artists_by_id(&self, ids: &[String]) -> Vec<Value> {
        ids.iter()
            .filter_map(|id| self.catalog.artist(id))
            .map(|artist| self.simplified_artist(artist))
            .collect()
    }

    fn api_href(&self, collection: &str, id: &str) -> String {
        format!("{}/v1/{collection}/{id}", self.base_uri)
    }

    fn external_urls(&self, kind: &str, id: &str) -> Value {
        json!({ "spotify": format!("{}/open/{kind}/{id}", self.base_uri) })
    }
}
