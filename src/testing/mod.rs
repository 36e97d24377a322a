//! An in-process fake of Spotify's token endpoint and Web API, for tests.
