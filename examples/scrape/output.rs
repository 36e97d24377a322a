//! The CSV destination: standard output, or a file that a failed run never overwrites.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The destination of the CSV.
pub enum Destination {
    Stdout,
    /// A file written under `partial` and renamed to `path` when the run succeeds, so that a
    /// failed run leaves an existing file at `path` as it was.
    File {
        path: PathBuf,
        partial: PathBuf,
    },
}

impl Destination {
    /// Opens the destination before any request, so that a bad path fails at once.
    pub fn open(path: Option<&Path>) -> Result<(Self, Box<dyn Write>), String> {
        let Some(path) = path else {
            return Ok((Destination::Stdout, Box::new(io::stdout().lock())));
        };

        if path.is_dir() {
            return Err(format!(
                "the output path {} is a folder; give a file path",
                path.display()
            ));
        }
        let partial = partial_path(path);
        let file = File::create(&partial).map_err(|error| {
            format!(
                "cannot create {} ({error}); give a file path in a folder that exists and is \
                 writable",
                partial.display()
            )
        })?;

        let destination = Destination::File {
            path: path.to_owned(),
            partial,
        };
        Ok((destination, Box::new(file)))
    }

    /// Moves a complete file into place.
    pub fn commit(&self) -> Result<(), String> {
        let Destination::File { path, partial } = self else {
            return Ok(());
        };

        fs::rename(partial, path).map_err(|error| {
            format!(
                "cannot move {} to {} ({error}); the rows are in {}",
                partial.display(),
                path.display(),
                partial.display()
            )
        })
    }

    /// Keeps the rows of a failed run next to the requested file, or removes a file that holds
    /// only the header. Returns where the rows are, for the error message.
    pub fn abandon(&self, rows_written: usize) -> String {
        match self {
            Destination::Stdout => format!("{rows_written} rows were written to standard output"),
            Destination::File { path, partial } if rows_written == 0 => {
                let _ = fs::remove_file(partial);
                format!(
                    "no rows were written, and {} was left as it was",
                    path.display()
                )
            }
            Destination::File { path, partial } => format!(
                "{rows_written} rows were written to {}, and {} was left as it was",
                partial.display(),
                path.display()
            ),
        }
    }
}

/// Returns `tracks.csv.partial` for `tracks.csv`, in the same folder so the rename stays on one
/// file system.
fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(".partial");
    path.with_file_name(name)
}
