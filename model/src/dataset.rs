//! The training set: two-measure piano-roll images cut from a MIDI corpus, bit-packed.
//!
//! Following Kobayashi & Watanabe, "Learning and composing of classical music using restricted
//! Boltzmann machines", every 4/4 piece is cut at its bar lines into images of two measures,
//! and each image is also transposed by -5..+6 semitones, so that every key is seen.
//!
//! An image of the paper's geometry has 13,824 binary units of which about 4% are on, so it is
//! stored as 216 64-bit words (one bit per unit, in the flattening order of [`Geometry`]), and
//! the trainer reads it as the list of its on-units ([`Dataset::on_units`]).
//!
//! File format (all integers little-endian), version 1:
//! ```text
//! magic "CONTDSET", version u32
//! geometry: lowest_pitch u8, pitch_rows u16, steps_per_quarter u16, quarters_per_measure u16,
//!           measures u16
//! image_count u32
//! file table: count u32, then per file: byte length u32, UTF-8 bytes
//! per image: file index u32, first bar u32, transposition i8
//! per image: words_per_image u64 words
//! SHA-256 of everything above (32 bytes)
//! ```

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::geometry::{Geometry, Grid};
use crate::midi_in::{read_midi_file, Score};
use crate::piano_roll::{Note, PianoRoll};
use crate::pickup::detect_pickup_on;
use crate::ModelError;

/// Where an image came from, so that a strange sample can be traced back to its source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provenance {
    /// The MIDI file, relative to the corpus folder, with `/` separators.
    pub file: String,
    /// The bar number (as printed: a pickup is bar 0) of the image's first measure.
    pub first_bar: u32,
    /// Semitones the image was shifted by.
    pub transposition: i8,
}

/// Bit-packed training images of one [`Geometry`] with their provenance.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    geometry: Geometry,
    /// 64-bit words per image: `ceil(visible_units / 64)`.
    words_per_image: usize,
    /// All images back to back; bit `u % 64` of word `u / 64` is visible unit `u`.
    words: Vec<u64>,
    provenance: Vec<Provenance>,
}

const MAGIC: &[u8; 8] = b"CONTDSET";
/// The format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
const CHECKSUM_BYTES: usize = 32;

impl Dataset {
    /// An empty dataset of images shaped like `geometry`.
    pub fn new(geometry: Geometry) -> Self {
        Dataset {
            geometry,
            words_per_image: geometry.visible_units().div_ceil(64),
            words: Vec::new(),
            provenance: Vec::new(),
        }
    }

    pub fn geometry(&self) -> Geometry {
        self.geometry
    }

    /// Adds an image.
    ///
    /// # Panics
    /// If `image` is not on the dataset's grid or does not have `geometry.steps()` steps: that
    /// is a bug in the caller, not bad input.
    pub fn push(&mut self, image: &PianoRoll, provenance: Provenance) {
        assert_eq!(image.grid(), self.geometry.grid, "image on another grid");
        assert_eq!(
            image.steps(),
            self.geometry.steps(),
            "image of the wrong length"
        );
        let start = self.words.len();
        self.words.resize(start + self.words_per_image, 0);
        let packed = &mut self.words[start..];
        for (unit, _) in image.cells().iter().enumerate().filter(|(_, &on)| on) {
            packed[unit / 64] |= 1 << (unit % 64);
        }
        self.provenance.push(provenance);
    }

    /// Adds the image of `notes` (steps relative to the image start, pitches already on the
    /// grid's rows), drawing straight into the packed bits. Parts of notes outside the image
    /// are cut off; notes without a row are skipped.
    fn push_notes(&mut self, notes: impl Iterator<Item = Note>, provenance: Provenance) {
        let grid = self.geometry.grid;
        let steps = self.geometry.steps();
        let start = self.words.len();
        self.words.resize(start + self.words_per_image, 0);
        let packed = &mut self.words[start..];
        for note in notes {
            let Some(row) = grid.row_of(note.pitch) else {
                continue;
            };
            for step in note.start_step..note.end_step.min(steps) {
                let unit = self.geometry.unit(step, row);
                packed[unit / 64] |= 1 << (unit % 64);
            }
        }
        self.provenance.push(provenance);
    }

    pub fn len(&self) -> usize {
        self.provenance.len()
    }

    pub fn is_empty(&self) -> bool {
        self.provenance.is_empty()
    }

    pub fn provenance(&self, index: usize) -> &Provenance {
        &self.provenance[index]
    }

    /// The packed words of image `index`.
    pub fn packed(&self, index: usize) -> &[u64] {
        &self.words[index * self.words_per_image..(index + 1) * self.words_per_image]
    }

    /// Image `index` unpacked into a roll.
    pub fn image(&self, index: usize) -> PianoRoll {
        let units = self.geometry.visible_units();
        let packed = self.packed(index);
        let cells = (0..units)
            .map(|unit| packed[unit / 64] >> (unit % 64) & 1 == 1)
            .collect();
        // The cell count is a whole number of pitch columns by construction.
        PianoRoll::from_cells(self.geometry.grid, cells)
            .unwrap_or_else(|_| PianoRoll::new(self.geometry.grid, self.geometry.steps()))
    }

    /// The indices of the on-units of image `index`, ascending, written to `out` after
    /// clearing it. The trainer's hot path: each word is walked by its set bits only.
    pub fn on_units(&self, index: usize, out: &mut Vec<u32>) {
        out.clear();
        for (word_index, &word) in self.packed(index).iter().enumerate() {
            let base = (word_index * 64) as u32;
            let mut rest = word;
            while rest != 0 {
                out.push(base + rest.trailing_zeros());
                // Clears the lowest set bit.
                rest &= rest - 1;
            }
        }
    }

    /// The dataset in its file format (see the module documentation).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(64 + self.words.len() * 8);
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        write_geometry(&mut bytes, self.geometry);
        bytes.extend_from_slice(&(self.len() as u32).to_le_bytes());

        // Each file name once; images refer to it by index.
        let mut file_index: BTreeMap<&str, u32> = BTreeMap::new();
        let mut files: Vec<&str> = Vec::new();
        for provenance in &self.provenance {
            file_index.entry(&provenance.file).or_insert_with(|| {
                files.push(&provenance.file);
                (files.len() - 1) as u32
            });
        }
        bytes.extend_from_slice(&(files.len() as u32).to_le_bytes());
        for file in &files {
            bytes.extend_from_slice(&(file.len() as u32).to_le_bytes());
            bytes.extend_from_slice(file.as_bytes());
        }
        for provenance in &self.provenance {
            bytes.extend_from_slice(&file_index[provenance.file.as_str()].to_le_bytes());
            bytes.extend_from_slice(&provenance.first_bar.to_le_bytes());
            bytes.extend_from_slice(&provenance.transposition.to_le_bytes());
        }
        for word in &self.words {
            bytes.extend_from_slice(&word.to_le_bytes());
        }

        let checksum = Sha256::digest(&bytes);
        bytes.extend_from_slice(&checksum);
        bytes
    }

    /// Reads the file format; a wrong magic, another version, a truncated or altered file is
    /// an error, never a panic.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ModelError> {
        let error = |message: String| ModelError::Dataset(message);
        if bytes.len() < MAGIC.len() + 4 || &bytes[..MAGIC.len()] != MAGIC {
            return Err(error("not a Continuo dataset (no CONTDSET header)".into()));
        }
        let version = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
        if version != FORMAT_VERSION {
            return Err(error(format!(
                "format version {version}, but this build reads version {FORMAT_VERSION}; \
                 rebuild the dataset with `continuo dataset`"
            )));
        }
        if bytes.len() < 12 + CHECKSUM_BYTES {
            return Err(error("the file is truncated".into()));
        }
        let (body, checksum) = bytes.split_at(bytes.len() - CHECKSUM_BYTES);
        if Sha256::digest(body).as_slice() != checksum {
            return Err(error(
                "the file is truncated or corrupted (its checksum does not match)".into(),
            ));
        }

        let mut reader = Reader {
            bytes: body,
            at: 12,
        };
        let geometry = read_geometry(&mut reader)?;
        let image_count = reader.u32()? as usize;
        let files = read_file_table(&mut reader)?;
        let provenance = read_provenance(&mut reader, image_count, &files)?;
        let words = read_words(&mut reader, geometry, image_count)?;
        if reader.at != body.len() {
            return Err(error(format!(
                "{} bytes follow the images",
                body.len() - reader.at
            )));
        }
        Ok(Dataset {
            geometry,
            words_per_image: geometry.visible_units().div_ceil(64),
            words,
            provenance,
        })
    }

    pub fn write(&self, path: &Path) -> Result<(), ModelError> {
        crate::files::write_atomically(path, &self.to_bytes())
    }

    pub fn read(path: &Path) -> Result<Self, ModelError> {
        // Any size: the reader checks every count against the bytes there are.
        let bytes = crate::files::read_regular_file(path, u64::MAX)?;
        Dataset::from_bytes(&bytes).map_err(|e| e.in_file(path))
    }
}

fn write_geometry(bytes: &mut Vec<u8>, geometry: Geometry) {
    let grid = geometry.grid;
    bytes.push(grid.lowest_pitch);
    for value in [
        grid.pitch_rows,
        grid.steps_per_quarter,
        grid.quarters_per_measure,
        geometry.measures,
    ] {
        // Geometries are small; a value past u16 would be written saturated and refused when
        // read back rather than silently wrapped.
        bytes.extend_from_slice(&u16::try_from(value).unwrap_or(u16::MAX).to_le_bytes());
    }
}

/// A bounds-checked cursor over the file body.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, len: usize) -> Result<&[u8], ModelError> {
        let end = self
            .at
            .checked_add(len)
            .filter(|&end| end <= self.bytes.len());
        let Some(end) = end else {
            return Err(ModelError::Dataset(format!(
                "the file ends at byte {} where {len} more bytes were expected",
                self.bytes.len()
            )));
        };
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn u8(&mut self) -> Result<u8, ModelError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, ModelError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, ModelError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

fn read_geometry(reader: &mut Reader) -> Result<Geometry, ModelError> {
    let lowest_pitch = reader.u8()?;
    let pitch_rows = reader.u16()? as usize;
    let steps_per_quarter = reader.u16()? as usize;
    let quarters_per_measure = reader.u16()? as usize;
    let measures = reader.u16()? as usize;
    let geometry = Geometry {
        grid: Grid {
            lowest_pitch,
            pitch_rows,
            steps_per_quarter,
            quarters_per_measure,
        },
        measures,
    };
    geometry.check_plausible().map_err(ModelError::Dataset)?;
    Ok(geometry)
}

fn read_file_table(reader: &mut Reader) -> Result<Vec<String>, ModelError> {
    let count = reader.u32()? as usize;
    // Each entry takes at least 4 bytes: refuse counts the file cannot hold before allocating.
    if count > (reader.bytes.len() - reader.at) / 4 {
        return Err(ModelError::Dataset(format!(
            "the file table claims {count} files"
        )));
    }
    let mut files = Vec::with_capacity(count);
    for _ in 0..count {
        let len = reader.u32()? as usize;
        let name = std::str::from_utf8(reader.take(len)?)
            .map_err(|_| ModelError::Dataset("a file name is not UTF-8".into()))?;
        files.push(name.to_string());
    }
    Ok(files)
}

fn read_provenance(
    reader: &mut Reader,
    image_count: usize,
    files: &[String],
) -> Result<Vec<Provenance>, ModelError> {
    const ENTRY_BYTES: usize = 9;
    if image_count > (reader.bytes.len() - reader.at) / ENTRY_BYTES {
        return Err(ModelError::Dataset(format!(
            "the header claims {image_count} images, more than the file holds"
        )));
    }
    let mut provenance = Vec::with_capacity(image_count);
    for _ in 0..image_count {
        let file_index = reader.u32()? as usize;
        let first_bar = reader.u32()?;
        let transposition = reader.u8()? as i8;
        let Some(file) = files.get(file_index) else {
            return Err(ModelError::Dataset(format!(
                "an image refers to file {file_index} of {}",
                files.len()
            )));
        };
        provenance.push(Provenance {
            file: file.clone(),
            first_bar,
            transposition,
        });
    }
    Ok(provenance)
}

fn read_words(
    reader: &mut Reader,
    geometry: Geometry,
    image_count: usize,
) -> Result<Vec<u64>, ModelError> {
    let units = geometry.visible_units();
    let words_per_image = units.div_ceil(64);
    let word_count = image_count
        .checked_mul(words_per_image)
        .filter(|&count| count.checked_mul(8) == Some(reader.bytes.len() - reader.at))
        .ok_or_else(|| {
            ModelError::Dataset(format!(
                "{} bytes of images do not hold {image_count} images of {words_per_image} words",
                reader.bytes.len() - reader.at
            ))
        })?;
    let words: Vec<u64> = reader
        .take(word_count * 8)?
        .chunks_exact(8)
        .map(|b| u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
        .collect();

    // Bits past the last unit must be clear, or on_units would report units that do not exist.
    let spare_bits = words_per_image * 64 - units;
    if spare_bits > 0 {
        let spare_mask = !0u64 << (64 - spare_bits);
        if words
            .chunks_exact(words_per_image)
            .any(|image| image[words_per_image - 1] & spare_mask != 0)
        {
            return Err(ModelError::Dataset(
                "an image has bits set past its last unit".into(),
            ));
        }
    }
    Ok(words)
}

/// How to cut a corpus into images.
#[derive(Clone, Debug, PartialEq)]
pub struct DatasetOptions {
    /// Measures between the starts of consecutive images: 2 (the default) gives images that
    /// do not overlap, 1 gives every pair of neighbouring measures (twice the images).
    pub hop_measures: usize,
    /// Semitone shifts applied to every image (the paper's -5..=6 covers all twelve keys).
    pub transpositions: RangeInclusive<i8>,
    pub geometry: Geometry,
    /// Pickups stated by the user, in steps, keyed by file (see
    /// [`DatasetOptions::stated_pickup`] for how keys match). Files without an entry get
    /// [`detect_pickup_on`].
    pub pickups: BTreeMap<String, usize>,
}

impl Default for DatasetOptions {
    fn default() -> Self {
        DatasetOptions {
            hop_measures: 2,
            transpositions: -5..=6,
            geometry: Geometry::PAPER,
            pickups: BTreeMap::new(),
        }
    }
}

impl DatasetOptions {
    /// The stated pickup of `file` (relative to the corpus, `/`-separated) and the key that
    /// stated it. A key matches when one of the two paths ends with the other at a folder
    /// boundary, so `bwv814-allemande.mid`, `bach/bwv814-allemande.mid` and
    /// `corpus/bach/bwv814-allemande.mid` all match `bach/bwv814-allemande.mid`.
    pub fn stated_pickup(&self, file: &str) -> Option<(&str, usize)> {
        let ends_with_path =
            |long: &str, short: &str| long == short || long.ends_with(&format!("/{short}"));
        self.pickups
            .iter()
            .find(|(key, _)| {
                let key = key.trim_start_matches("./");
                ends_with_path(file, key) || ends_with_path(key, file)
            })
            .map(|(key, &steps)| (key.as_str(), steps))
    }
}

/// Where a file's pickup came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PickupSource {
    /// Stated in [`DatasetOptions::pickups`].
    Stated,
    /// Found by [`detect_pickup_on`].
    Detected,
}

/// What happened while building a dataset, for the table the command prints.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DatasetReport {
    /// MIDI files found under the corpus folder.
    pub files_found: usize,
    /// Files read and cut into images.
    pub files_read: usize,
    /// Files that could not be used, with the reason.
    pub files_skipped: Vec<(String, String)>,
    /// Files read with a nonzero pickup: file, pickup in steps, where it came from.
    pub pickups: Vec<(String, usize, PickupSource)>,
    /// Keys of [`DatasetOptions::pickups`] that matched no file (probably misspelt).
    pub unused_pickups: Vec<String>,
    /// Whole 4/4 measures found.
    pub four_four_measures: usize,
    /// Measures in other meters, skipped.
    pub other_meter_measures: usize,
    /// Two-measure windows cut at bar lines, before transposition.
    pub windows: usize,
    /// Windows without a single note, dropped.
    pub empty_windows: usize,
    /// Per transposition: (semitones, windows kept, windows dropped because a note would leave
    /// the grid's pitch range).
    pub per_transposition: Vec<(i8, usize, usize)>,
    /// Notes of the untransposed files whose pitch has no row on the grid.
    pub notes_out_of_range: usize,
    /// Images in the dataset.
    pub images: usize,
}

/// A window of whole 4/4 measures cut at a bar line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub start_step: usize,
    /// The printed bar number of the first measure.
    pub first_bar: u32,
}

impl Window {
    /// The notes sounding in this window of `window_steps`, in steps from its start; a note
    /// crossing an edge is cut there.
    pub fn notes_inside(&self, notes: &[Note], window_steps: usize) -> Vec<Note> {
        let end_step = self.start_step + window_steps;
        notes
            .iter()
            .filter(|n| n.start_step < end_step && n.end_step > self.start_step)
            .map(|n| Note {
                start_step: n.start_step.saturating_sub(self.start_step),
                end_step: n.end_step.min(end_step) - self.start_step,
                ..*n
            })
            .collect()
    }
}

/// The windows of `geometry.measures` consecutive whole 4/4 measures, starting every
/// `hop_measures` measures. A run of 4/4 measures broken by another meter starts counting
/// afresh after the break.
pub fn windows(
    score: &Score,
    geometry: Geometry,
    pickup_steps: usize,
    hop_measures: usize,
) -> Vec<Window> {
    let measure_steps = geometry.grid.steps_per_measure();
    let bars = score.four_four_bars(geometry.grid, pickup_steps);
    let needed = geometry.measures.max(1);
    let hop = hop_measures.max(1);

    let mut windows = Vec::new();
    let mut i = 0;
    while i + needed <= bars.len() {
        let first = bars[i];
        let contiguous =
            (1..needed).all(|k| bars[i + k].start_step == first.start_step + k * measure_steps);
        if contiguous {
            windows.push(Window {
                start_step: first.start_step,
                first_bar: first.number,
            });
            i += hop;
        } else {
            i += 1;
        }
    }
    windows
}

/// Reads every MIDI file under `corpus_dir` (recursively, in sorted order so that runs are
/// reproducible) and cuts it into images.
///
/// A file that cannot be read is reported in [`DatasetReport::files_skipped`] and the run goes
/// on; only an unreadable corpus folder is an error. `progress` is called with (files done,
/// files in all) after each file.
pub fn build_dataset(
    corpus_dir: &Path,
    options: &DatasetOptions,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(Dataset, DatasetReport), ModelError> {
    let files = midi_files(corpus_dir)?;
    let mut dataset = Dataset::new(options.geometry);
    let mut report = DatasetReport {
        files_found: files.len(),
        per_transposition: options.transpositions.clone().map(|t| (t, 0, 0)).collect(),
        ..DatasetReport::default()
    };
    let mut used_keys = Vec::new();

    for (done, path) in files.iter().enumerate() {
        let name = relative_name(corpus_dir, path);
        match read_midi_file(path, options.geometry.grid) {
            Ok(score) => {
                let pickup = match options.stated_pickup(&name) {
                    Some((key, steps)) => {
                        used_keys.push(key.to_string());
                        (steps, PickupSource::Stated)
                    }
                    None => (
                        detect_pickup_on(&score, options.geometry.grid),
                        PickupSource::Detected,
                    ),
                };
                if pickup.0 > 0 {
                    report.pickups.push((name.clone(), pickup.0, pickup.1));
                }
                cut_score(&score, &name, pickup.0, options, &mut dataset, &mut report);
                report.files_read += 1;
            }
            Err(error) => report.files_skipped.push((name, reason(&error))),
        }
        progress(done + 1, files.len());
    }

    report.unused_pickups = options
        .pickups
        .keys()
        .filter(|key| !used_keys.contains(key))
        .cloned()
        .collect();
    report.images = dataset.len();
    Ok((dataset, report))
}

/// The error's message without the file name, which the report shows in its own column.
fn reason(error: &ModelError) -> String {
    match error {
        ModelError::InFile { cause, .. } => cause.to_string(),
        ModelError::Io { cause, .. } => cause.to_string(),
        other => other.to_string(),
    }
}

/// Cuts one score into images of every transposition whose notes stay on the grid.
fn cut_score(
    score: &Score,
    name: &str,
    pickup_steps: usize,
    options: &DatasetOptions,
    dataset: &mut Dataset,
    report: &mut DatasetReport,
) {
    let geometry = options.geometry;
    let grid = geometry.grid;
    let window_steps = geometry.steps();
    report.four_four_measures += score.four_four_bars(grid, pickup_steps).len();
    report.other_meter_measures += score.other_meter_measures(grid);
    report.notes_out_of_range += score
        .notes
        .iter()
        .filter(|n| grid.row_of(n.pitch).is_none())
        .count();

    for window in windows(score, geometry, pickup_steps, options.hop_measures) {
        report.windows += 1;
        let notes = window.notes_inside(&score.notes, window_steps);
        let (Some(lowest), Some(highest)) = (
            notes.iter().map(|n| n.pitch).min(),
            notes.iter().map(|n| n.pitch).max(),
        ) else {
            report.empty_windows += 1;
            continue;
        };

        for (shift, kept, out_of_range) in report.per_transposition.iter_mut() {
            let fits = |pitch: u8| {
                let shifted = pitch as i16 + *shift as i16;
                (0..=127).contains(&shifted) && grid.row_of(shifted as u8).is_some()
            };
            if !(fits(lowest) && fits(highest)) {
                *out_of_range += 1;
                continue;
            }
            *kept += 1;
            let shifted = notes.iter().map(|n| Note {
                pitch: (n.pitch as i16 + *shift as i16) as u8,
                ..*n
            });
            dataset.push_notes(
                shifted,
                Provenance {
                    file: name.to_string(),
                    first_bar: window.first_bar,
                    transposition: *shift,
                },
            );
        }
    }
}

/// `path` relative to the corpus folder, with `/` separators on every platform.
fn relative_name(corpus_dir: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(corpus_dir).unwrap_or(path);
    relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// The `.mid` and `.midi` files under `dir`, recursively, sorted by path. Symbolic links to
/// folders are not followed, so a link cycle cannot make this loop.
pub fn midi_files(dir: &Path) -> Result<Vec<PathBuf>, ModelError> {
    let mut files = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let entries = std::fs::read_dir(&folder).map_err(|e| ModelError::io(&folder, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| ModelError::io(&folder, e))?;
            let path = entry.path();
            let file_type = entry.file_type().map_err(|e| ModelError::io(&path, e))?;
            if file_type.is_dir() {
                folders.push(path);
            } else if is_midi_name(&path) {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

fn is_midi_name(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("mid") || e.eq_ignore_ascii_case("midi"))
}
