//! The one error type of the model crate.

use std::path::PathBuf;

/// Everything that can go wrong while reading music or models.
///
/// Each variant says what was wrong in words a user can act on; callers add the file name with
/// [`ModelError::in_file`] at the boundary where they know it.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("not a readable MIDI file: {0}")]
    MidiParse(String),
    #[error(
        "MIDI format 2 (independent sequences) is not supported; save the file as format 0 or 1"
    )]
    MidiFormat2,
    #[error("MIDI files timed in SMPTE frames are not supported; only ticks per quarter note")]
    MidiSmpte,
    #[error(
        "the music is {quarter_notes} quarter notes long, more than the {limit} this reader \
         accepts (a corrupted delta time?)"
    )]
    MidiTooLong { quarter_notes: u64, limit: u64 },
    #[error("the piano roll is {actual} but {expected} was expected")]
    ShapeMismatch { expected: String, actual: String },
    #[error("weight file: {0}")]
    Weights(String),
    #[error("weight file: {0}")]
    WeightFile(#[from] crate::weights::WeightFileError),
    #[error("density must be `auto`, `match` or a number of ones, not `{0}`")]
    InvalidDensity(String),
    #[error("dataset file: {0}")]
    Dataset(String),
    // The two wrappers put their cause into their own message and do not report it again as
    // a `source()`: error reporters (anyhow's among them) print every source on a line of its
    // own, and the user would read the same words twice.
    #[error("{path}: {cause}")]
    InFile {
        path: PathBuf,
        cause: Box<ModelError>,
    },
    #[error("{path}: {cause}")]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
}

impl ModelError {
    /// Attaches the file the error came from, so that a message names what to fix.
    pub fn in_file(self, path: impl Into<PathBuf>) -> Self {
        ModelError::InFile {
            path: path.into(),
            cause: Box::new(self),
        }
    }

    /// Wraps an I/O error together with the path it happened on.
    pub fn io(path: impl Into<PathBuf>, cause: std::io::Error) -> Self {
        ModelError::Io {
            path: path.into(),
            cause,
        }
    }
}
