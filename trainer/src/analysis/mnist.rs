//! MNIST digits: the IDX files of the test set, binarised, and drawn onto the piano-roll grid
//! so that the music model can be shown something that is not music.
//!
//! IDX (LeCun's format): a big-endian magic number (`0x0803` for images, `0x0801` for labels),
//! the sizes as big-endian `u32`, then one byte per pixel or label. The files are gzipped.

use std::io::Read;
use std::path::Path;

use anyhow::{bail, Context};
use flate2::read::GzDecoder;

use continuo_model::{Grid, PianoRoll};

/// A grey pixel at or above this value counts as ink.
pub const INK_THRESHOLD: u8 = 128;

/// The file names of the MNIST test set, as distributed.
const IMAGES_FILE: &str = "t10k-images-idx3-ubyte.gz";
const LABELS_FILE: &str = "t10k-labels-idx1-ubyte.gz";

/// Greyscale digits with their labels.
pub struct Digits {
    pub width: usize,
    pub height: usize,
    /// `width * height` bytes per image, row by row from the top, 0 white to 255 black ink.
    pub pixels: Vec<u8>,
    pub labels: Vec<u8>,
}

impl Digits {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// The pixels of image `index`.
    pub fn image(&self, index: usize) -> &[u8] {
        let size = self.width * self.height;
        &self.pixels[index * size..(index + 1) * size]
    }

    /// The first image showing `digit`.
    pub fn first_of(&self, digit: u8) -> Option<usize> {
        self.labels.iter().position(|&label| label == digit)
    }
}

/// Reads the gzipped MNIST test images and labels from `dir`.
pub fn read_test_set(dir: &Path) -> anyhow::Result<Digits> {
    let images = read_gzip(&dir.join(IMAGES_FILE))?;
    let labels = read_gzip(&dir.join(LABELS_FILE))?;
    parse_idx(&images, &labels)
        .with_context(|| format!("reading the MNIST files in {}", dir.display()))
}

fn read_gzip(path: &Path) -> anyhow::Result<Vec<u8>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut bytes = Vec::new();
    GzDecoder::new(file)
        .read_to_end(&mut bytes)
        .with_context(|| format!("unzipping {}", path.display()))?;
    Ok(bytes)
}

/// The images and labels of two IDX files, checked against each other.
pub fn parse_idx(images: &[u8], labels: &[u8]) -> anyhow::Result<Digits> {
    let image_header = header(images, 0x0803, 3).context("the image file")?;
    let label_header = header(labels, 0x0801, 1).context("the label file")?;
    let [count, height, width] = [image_header[0], image_header[1], image_header[2]];
    if label_header[0] != count {
        bail!("{count} images but {} labels", label_header[0]);
    }
    let pixels = &images[16..];
    if pixels.len() < count * width * height || labels.len() < 8 + count {
        bail!("the files are shorter than their headers say");
    }
    Ok(Digits {
        width,
        height,
        pixels: pixels[..count * width * height].to_vec(),
        labels: labels[8..8 + count].to_vec(),
    })
}

/// The sizes after an IDX magic number, which must be `magic` with `dimensions` sizes.
fn header(bytes: &[u8], magic: u32, dimensions: usize) -> anyhow::Result<Vec<usize>> {
    let word = |index: usize| -> anyhow::Result<u32> {
        let chunk = bytes
            .get(4 * index..4 * index + 4)
            .context("the header is cut short")?;
        Ok(u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]))
    };
    if word(0)? != magic {
        bail!("not an IDX file of magic {magic:#06x}");
    }
    (1..=dimensions)
        .map(|i| word(i).map(|w| w as usize))
        .collect()
}

/// Resizes a greyscale image to `out_width` x `out_height` by nearest neighbour and keeps the
/// pixels at or above `threshold`, row by row from the top.
pub fn resize_binarise(
    pixels: &[u8],
    width: usize,
    height: usize,
    out_width: usize,
    out_height: usize,
    threshold: u8,
) -> Vec<bool> {
    let mut out = Vec::with_capacity(out_width * out_height);
    for y in 0..out_height {
        let source_y = y * height / out_height;
        for x in 0..out_width {
            let source_x = x * width / out_width;
            out.push(pixels[source_y * width + source_x] >= threshold);
        }
    }
    out
}

/// A digit as a roll of `steps` steps on `grid`: stretched over the whole image, its top at the
/// highest pitch, as [`crate::render`] draws rolls.
pub fn digit_roll(
    pixels: &[u8],
    width: usize,
    height: usize,
    grid: Grid,
    steps: usize,
) -> PianoRoll {
    let rows = grid.pitch_rows;
    let ink = resize_binarise(pixels, width, height, steps, rows, INK_THRESHOLD);
    let mut roll = PianoRoll::new(grid, steps);
    for (index, &on) in ink.iter().enumerate() {
        let (y, step) = (index / steps, index % steps);
        roll.set(step, rows - 1 - y, on);
    }
    roll
}

/// The binarised digits as on-unit lists in their own row-major order, for training on them.
pub fn binarised_on_units(digits: &Digits) -> Vec<Vec<u32>> {
    (0..digits.len())
        .map(|index| {
            (0..)
                .zip(digits.image(index))
                .filter(|(_, &pixel)| pixel >= INK_THRESHOLD)
                .map(|(unit, _)| unit)
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two 2 x 2 images (a diagonal and its mirror) with labels 7 and 3, as IDX bytes.
    fn tiny_idx() -> (Vec<u8>, Vec<u8>) {
        let mut images = vec![0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2];
        images.extend([255, 0, 0, 200, 0, 127, 128, 0]);
        let labels = vec![0, 0, 8, 1, 0, 0, 0, 2, 7, 3];
        (images, labels)
    }

    #[test]
    fn idx_files_parse_and_are_checked() {
        let (images, labels) = tiny_idx();
        let digits = parse_idx(&images, &labels).expect("valid IDX");
        assert_eq!((digits.width, digits.height, digits.len()), (2, 2, 2));
        assert_eq!(digits.image(1), &[0, 127, 128, 0]);
        assert_eq!(digits.first_of(3), Some(1));
        assert_eq!(digits.first_of(5), None);
        assert_eq!(binarised_on_units(&digits), vec![vec![0, 3], vec![2]]);
        assert!(parse_idx(&labels, &images).is_err());
        assert!(parse_idx(&images[..20], &labels).is_err());
    }

    #[test]
    fn resizing_repeats_each_pixel_into_its_block() {
        // [[255, 0], [0, 200]] to 3 wide, 4 high: columns 0, 0, 1 and rows 0, 0, 1, 1.
        let ink = resize_binarise(&[255, 0, 0, 200], 2, 2, 3, 4, INK_THRESHOLD);
        let expected = [
            true, true, false, //
            true, true, false, //
            false, false, true, //
            false, false, true,
        ];
        assert_eq!(ink, expected);
    }

    #[test]
    fn a_digit_roll_has_its_top_row_at_the_highest_pitch() {
        // Ink only in the top-left pixel of a 2 x 2 image, on the paper's 72 x 192 grid: the
        // top 36 rows (pitches 60..95) of the first 96 steps.
        let roll = digit_roll(&[255, 0, 0, 0], 2, 2, Grid::PAPER, 192);
        assert_eq!(roll.ones(), 36 * 96);
        assert!(roll.get(0, 71) && roll.get(95, 36));
        assert!(!roll.get(96, 71) && !roll.get(0, 35));
    }
}
