//! The Web API endpoints the fake serves, over its catalog. Tokens are checked before these
//! handlers run, by the gate in `api_gate`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use serde_json::{Value, json};

use super::catalog::{Album, Artist};
use super::objects::ObjectWriter;
use super::paging::{ALBUM_TRACK_PAGES, ARTIST_ALBUM_PAGES, ListLink, SEARCH_PAGES, paging_object};
use super::query::{ApiError, QueryParams};
use super::state::FakeState;

/// The item types `GET /v1/search` accepts in `type`. The fake serves only `artist`.
const SEARCH_TYPES: [&str; 7] = [
    "album",
    "artist",
    "playlist",
    "track",
    "show",
    "episode",
    "audiobook",
];

/// The values `include_groups` accepts.
const ALBUM_GROUPS: [&str; 4] = ["album", "single", "appears_on", "compilation"];

type ApiResult = Result<Json<Value>, ApiError>;

/// `GET /v1/search?type=artist&q=...`: artists whose names contain every word of `q`.
pub(crate) async fn search(
    State(state): State<Arc<FakeState>>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let query = QueryParams::parse(raw.as_deref());
    let text = query
        .get("q")
        .filter(|text| !text.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request("No search query"))?;
    let types = query
        .get("type")
        .ok_or_else(|| ApiError::bad_request("Missing parameter type"))?;
    check_search_types(types)?;
    let page = SEARCH_PAGES.read(&query)?;

    let found = state.catalog.search_artists(text);
    let link = ListLink {
        endpoint: format!("{}/v1/search", state.base_uri),
        params: vec![("q", text), ("type", types)],
    };
    let writer = writer(&state);
    let artists = paging_object(&link, page, &found, |artist| writer.artist(artist));

    Ok(Json(json!({ "artists": artists })))
}

fn check_search_types(types: &str) -> Result<(), ApiError> {
    for kind in types.split(',').map(str::trim) {
        if !SEARCH_TYPES.contains(&kind) {
            return Err(ApiError::bad_request(format!(
                "Bad search type field {kind}"
            )));
        }
        if kind != "artist" {
            return Err(ApiError::bad_request(format!(
                "Search type {kind} is not served by this fake; use type=artist"
            )));
        }
    }
    Ok(())
}

/// `GET /v1/artists/{id}`.
pub(crate) async fn artist(
    State(state): State<Arc<FakeState>>,
    Path(id): Path<String>,
) -> ApiResult {
    let artist = find_artist(&state, &id)?;
    Ok(Json(writer(&state).artist(artist)))
}

/// `GET /v1/artists/{id}/albums`, newest first, optionally filtered by `include_groups`.
pub(crate) async fn artist_albums(
    State(state): State<Arc<FakeState>>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    let artist = find_artist(&state, &id)?;
    let query = QueryParams::parse(raw.as_deref());
    let page = ARTIST_ALBUM_PAGES.read(&query)?;
    let groups = query.get("include_groups");
    let albums = albums_in_groups(state.catalog.albums_of(&artist.id), groups)?;

    let mut link = ListLink {
        endpoint: format!("{}/v1/artists/{}/albums", state.base_uri, artist.id),
        params: Vec::new(),
    };
    if let Some(groups) = groups {
        link.params.push(("include_groups", groups));
    }
    let writer = writer(&state);

    Ok(Json(paging_object(&link, page, &albums, |album| {
        writer.discography_album(album)
    })))
}

/// Keeps the albums whose group is listed. Every catalog album's group is its type, so
/// `appears_on` selects none.
fn albums_in_groups<'a>(
    albums: &'a [Album],
    groups: Option<&str>,
) -> Result<Vec<&'a Album>, ApiError> {
    let Some(groups) = groups else {
        return Ok(albums.iter().collect());
    };

    let requested: Vec<&str> = groups.split(',').map(str::trim).collect();
    if let Some(unknown) = requested.iter().find(|group| !ALBUM_GROUPS.contains(group)) {
        return Err(ApiError::bad_request(format!(
            "Invalid include_groups value {unknown}"
        )));
    }

    Ok(albums
        .iter()
        .filter(|album| requested.contains(&album.album_type.as_str()))
        .collect())
}

/// `GET /v1/albums/{id}/tracks`, in disc and track order.
pub(crate) async fn album_tracks(
    State(state): State<Arc<FakeState>>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    check_id(&id)?;
    let album = state.catalog.album(&id).ok_or_else(ApiError::not_found)?;
    let query = QueryParams::parse(raw.as_deref());
    let page = ALBUM_TRACK_PAGES.read(&query)?;

    let link = ListLink {
        endpoint: format!("{}/v1/albums/{}/tracks", state.base_uri, album.id),
        params: Vec::new(),
    };
    let writer = writer(&state);
    let tracks = state.catalog.tracks_of(&album.id);

    Ok(Json(paging_object(&link, page, tracks, |track| {
        writer.simplified_track(track)
    })))
}

/// Any other path under `/v1`.
pub(crate) async fn unknown_route() -> ApiError {
    ApiError::new(404, "Service not found")
}

/// A known path with a method other than GET.
pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::new(405, "Method not allowed")
}

fn find_artist<'a>(state: &'a FakeState, id: &str) -> Result<&'a Artist, ApiError> {
    check_id(id)?;
    state.catalog.artist(id).ok_or_else(ApiError::not_found)
}

/// Rejects an ID that is not 22 base62 characters with 400 `Invalid base62 id`, the response
/// Spotify sends for malformed IDs. A well-formed unknown ID gets 404 from the lookup instead.
fn check_id(id: &str) -> Result<(), ApiError> {
    let well_formed = id.len() == 22 && id.bytes().all(|byte| byte.is_ascii_alphanumeric());
    if well_formed {
        Ok(())
    } else {
        Err(ApiError::bad_request("Invalid base62 id"))
    }
}

fn writer(state: &FakeState) -> ObjectWriter<'_> {
    ObjectWriter {
        base_uri: &state.base_uri,
        catalog: &state.catalog,
    }
}
