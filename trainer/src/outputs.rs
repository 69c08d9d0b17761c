//! Writing the command line's output files so that a mistake or a failure costs no work: an
//! output may not be one of the command's inputs, a file is replaced only once its new content
//! is complete, and an image too large to hold is refused before it is drawn.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use image::{GrayImage, ImageFormat};

use continuo_model::files::write_atomically;

/// The most pixels an image may have: 256 Mi grey pixels, 256 MiB to draw. A piece of 1,000
/// measures at the default 2 pixels a cell is 192,000 x 144 = 27.6 M.
pub const MAX_IMAGE_PIXELS: u64 = 1 << 28;

/// Writes `bytes` to `path` atomically and says so in the log.
pub fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_atomically(path, bytes)?;
    log::info!("wrote {}", path.display());
    Ok(())
}

/// Refuses a path that cannot take a PNG, before anything is computed or written: the image
/// crate would pick the format from the extension, and a `.jpg` of a grey roll, say, fails only
/// after the file was created.
pub fn check_png_path(path: &Path) -> anyhow::Result<()> {
    match ImageFormat::from_path(path) {
        Ok(ImageFormat::Png) => Ok(()),
        _ => bail!(
            "{}: images are written as PNG; name the file .png",
            path.display()
        ),
    }
}

/// Encodes `image` as PNG and writes it atomically.
pub fn save_png(path: &Path, image: &GrayImage) -> anyhow::Result<()> {
    check_png_path(path)?;
    let mut bytes = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut bytes, ImageFormat::Png)
        .with_context(|| format!("encoding {}", path.display()))?;
    write_file(path, bytes.get_ref())
}

/// Refuses an image of more than [`MAX_IMAGE_PIXELS`], before it is allocated.
pub fn check_image_size(width_px: u64, height_px: u64) -> anyhow::Result<()> {
    let pixels = width_px.saturating_mul(height_px);
    if pixels > MAX_IMAGE_PIXELS {
        bail!(
            "the image would be {width_px} x {height_px} pixels, more than the {} million \
             allowed: lower --scale or draw fewer measures",
            MAX_IMAGE_PIXELS >> 20
        );
    }
    Ok(())
}

/// A file a command reads or writes, with the option that named it (`--out`, `--data`), for
/// messages.
pub type NamedPath<'a> = (&'a str, &'a Path);

/// Refuses outputs that are the same file as an input or as each other, which would destroy
/// the input (a `continue` written over its own phrase, a model over its dataset) or one of the
/// outputs. Two spellings of one path count as the same file.
pub fn check_distinct_files(inputs: &[NamedPath], outputs: &[NamedPath]) -> anyhow::Result<()> {
    for (index, &(flag, output)) in outputs.iter().enumerate() {
        let output_id = file_identity(output);
        if let Some((input_flag, input)) = inputs
            .iter()
            .find(|(_, input)| file_identity(input) == output_id)
        {
            bail!(
                "{flag} {} is also the {input_flag} {}: the command would overwrite it",
                output.display(),
                input.display()
            );
        }
        if let Some((other_flag, _)) = outputs[..index]
            .iter()
            .find(|(_, other)| file_identity(other) == output_id)
        {
            bail!(
                "{flag} and {other_flag} are the same file, {}: give each output its own",
                output.display()
            );
        }
    }
    Ok(())
}

/// The path a file is known by once links and `..` are resolved; for a file not written yet,
/// its resolved folder and its name. (Hard links to one file still count as two files.)
pub fn file_identity(path: &Path) -> PathBuf {
    if let Ok(resolved) = path.canonicalize() {
        return resolved;
    }
    match (folder_of(path).canonicalize(), path.file_name()) {
        (Ok(folder), Some(name)) => folder.join(name),
        _ => path.to_path_buf(),
    }
}

/// The folder a file is in; `.` for a bare file name.
pub fn folder_of(file: &Path) -> &Path {
    match file.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("continuo-outputs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch folder");
        dir
    }

    #[test]
    fn an_output_may_not_be_an_input_or_another_output() {
        let dir = scratch();
        let phrase = dir.join("phrase.mid");
        std::fs::write(&phrase, b"MThd").expect("input file");
        // The same file by another spelling.
        let same = dir.join(".").join("phrase.mid");
        let error =
            check_distinct_files(&[("phrase", &phrase)], &[("-o", &same)]).expect_err("same file");
        assert!(error.to_string().starts_with("-o"), "{error}");
        assert!(error.to_string().contains("is also the phrase"), "{error}");

        let answer = dir.join("answer.mid");
        let picture = dir.join("answer.png");
        let inputs = [("phrase", phrase.as_path())];
        assert!(check_distinct_files(&inputs, &[("-o", &answer), ("--png", &picture)]).is_ok());
        let error = check_distinct_files(&inputs, &[("-o", &answer), ("--png", &answer)])
            .expect_err("twice");
        assert!(
            error
                .to_string()
                .starts_with("--png and -o are the same file"),
            "{error}"
        );
    }

    #[test]
    fn a_png_is_refused_before_writing_when_the_name_says_another_format() {
        let dir = scratch();
        let photo = dir.join("photo.jpg");
        std::fs::write(&photo, b"precious").expect("existing file");
        let image = GrayImage::new(4, 2);
        assert!(save_png(&photo, &image).is_err());
        assert_eq!(std::fs::read(&photo).expect("kept"), b"precious");

        let roll = dir.join("roll.png");
        save_png(&roll, &image).expect("a png");
        let back = image::open(&roll).expect("readable png").to_luma8();
        assert_eq!(back.dimensions(), (4, 2));
    }

    #[test]
    fn images_past_the_pixel_limit_are_refused() {
        assert!(check_image_size(1 << 14, 1 << 14).is_ok());
        assert!(check_image_size((1 << 14) + 1, 1 << 14).is_err());
        assert!(check_image_size(u64::MAX, u64::MAX).is_err());
    }
}
