//! Weight files: an [`Rbm`] and its model card in the safetensors format.
//!
//! A file holds three tensors, little-endian, in `F32` or (to halve the file) `F16`:
//! `"W"` (visible x hidden, row-major), `"b"` (visible) and `"c"` (hidden). The model card, a
//! JSON document saying what the model is and how it was trained, is stored as one string
//! under the key [`CARD_KEY`] of the safetensors `__metadata__` map, so that any safetensors
//! reader (Python's `safetensors` package among them) opens the file and can print the card.
//!
//! Loading trusts nothing: every way a file can be broken (not safetensors at all, cut short,
//! missing a tensor or the card, a card of an unknown version, shapes that disagree with the
//! card's geometry, a value that is not finite) is reported as its own [`WeightFileError`].

use std::collections::HashMap;
use std::path::Path;

use ndarray::{Array1, Array2};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::{Deserialize, Serialize};

pub use crate::files::write_atomically;
use crate::geometry::Geometry;
use crate::rbm::Rbm;
use crate::ModelError;

/// The card format this code writes and the only one it reads.
pub const FORMAT_VERSION: u32 = 1;

/// The `__metadata__` key under which the model card's JSON is stored.
pub const CARD_KEY: &str = "continuo.card";

/// safetensors refuses headers above 100 MB; a length field above that is not a header.
const MAX_HEADER_BYTES: u64 = 100_000_000;

/// What a weight file says about its model, in a form a person can read with any JSON tool.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelCard {
    /// [`FORMAT_VERSION`] when written; a reader refuses versions it does not know.
    pub format_version: u32,
    /// A short name to show in the plugin and in logs, e.g. `continuo-bach`.
    pub name: String,
    /// The image shape the weights were trained on; loading checks the tensors against it.
    pub geometry: Geometry,
    pub hidden_units: usize,
    /// How the model was trained; `None` for a model that did not come from the trainer.
    pub hyperparameters: Option<Hyperparameters>,
    /// Epochs of training the weights have seen (a resumed run counts on from its checkpoint).
    pub epochs: usize,
    /// The data the model was trained on; `None` for a model that did not come from the trainer.
    pub corpus: Option<CorpusSummary>,
    /// The monitoring figures of the last epoch trained.
    pub metrics: Option<EpochMetrics>,
    /// Wall-clock seconds spent training, summed over resumed runs.
    pub training_seconds: f64,
}

/// The settings of contrastive-divergence training, recorded so that a model can be remade.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hyperparameters {
    /// Step size applied to the gradient *averaged* over the images of a batch (weights and
    /// both biases alike). A learning rate `x` of a trainer that sums the weight gradient over
    /// the batch equals `x * batch_size` here.
    pub learning_rate: f32,
    /// Fraction of the previous update added to the current one.
    pub momentum: f32,
    pub batch_size: usize,
    /// L2 penalty on the weights (not the biases): `lr * weight_decay * W` is subtracted.
    pub weight_decay: f32,
    /// Gibbs steps of the negative phase, the `k` of CD-k.
    pub cd_steps: usize,
    /// Persistent contrastive divergence: negative chains carry over from batch to batch
    /// instead of restarting at the data.
    pub persistent: bool,
    /// Seeds the initial weights, the held-out split, the batch order and every random draw.
    pub seed: u64,
    /// Fraction of the images, taken as whole pieces, kept out of training for monitoring.
    pub holdout_fraction: f32,
    /// How the visible biases started (the weights start Xavier-uniform, the hidden biases 0).
    pub visible_bias_init: VisibleBiasInit,
}

/// The starting visible biases.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VisibleBiasInit {
    Zero,
    /// `ln(p_i / (1 - p_i))` of each unit's frequency `p_i` in the training images (clamped
    /// away from 0 and 1), so that from the first batch the reconstructions are as sparse as
    /// the data; from zero they start half on, and the first epoch spends its updates
    /// pushing every weight down.
    DataLogOdds,
}

/// The training corpus in brief: enough to tell two models' data apart.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CorpusSummary {
    /// File name of the dataset the model was trained on (without its directory).
    pub dataset: String,
    /// SHA-256 of the dataset file, hex.
    pub dataset_sha256: String,
    /// Distinct source pieces (MIDI files) in the dataset.
    pub pieces: usize,
    pub images: usize,
    pub training_images: usize,
    pub heldout_images: usize,
    /// The source files whose images were held out.
    pub heldout_pieces: Vec<String>,
}

/// Monitoring figures of one epoch, the row the trainer writes to its metrics CSV.
///
/// Both figures are taken after the epoch on two fixed samples of images, one from the
/// training images and one from the held-out ones, the same samples every epoch.
///
/// Reconstruction error: the mean, over images and visible units, of `(v - p)^2`, where `v`
/// is the data and `p = p(v = 1 | h)` for a binary `h` drawn from `p(h | v)`. Free energy:
/// the mean of `F(v) = -b'v - sum_j softplus(c_j + (v'W)_j)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// 1-based count of epochs trained when the figures were taken.
    pub epoch: usize,
    /// On the fixed training sample, measured like the held-out one.
    pub train_reconstruction_error: f32,
    /// On the fixed held-out sample; `None` when nothing is held out.
    pub heldout_reconstruction_error: Option<f32>,
    /// Mean free energy of the fixed training sample.
    pub train_free_energy: f32,
    /// Mean free energy of the fixed held-out sample.
    pub heldout_free_energy: Option<f32>,
    /// Held-out minus training mean free energy: grows when the model overfits.
    pub free_energy_gap: Option<f32>,
}

impl ModelCard {
    /// A card for a model that did not come from the trainer (tests, hand-made models).
    pub fn untrained(name: &str, geometry: Geometry, hidden_units: usize) -> Self {
        ModelCard {
            format_version: FORMAT_VERSION,
            name: name.to_string(),
            geometry,
            hidden_units,
            hyperparameters: None,
            epochs: 0,
            corpus: None,
            metrics: None,
            training_seconds: 0.0,
        }
    }
}

/// How the tensors are stored. Computation is always in `f32`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    F32,
    /// IEEE half precision: half the file, about three decimal digits per weight.
    F16,
}

/// Everything that can be wrong with a weight file, each with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum WeightFileError {
    #[error("not a safetensors file ({0})")]
    NotSafetensors(String),
    #[error("the file is cut short: {actual_bytes} bytes where its header promises {expected_bytes}; copy or download it again")]
    Truncated {
        expected_bytes: u64,
        actual_bytes: u64,
    },
    #[error("the safetensors file is corrupt: {0}")]
    Corrupt(String),
    #[error("the tensor \"{0}\" is missing; a Continuo weight file holds \"W\", \"b\" and \"c\"")]
    MissingTensor(&'static str),
    #[error("the tensor \"{tensor}\" is stored as {dtype}; only F32 and F16 are read")]
    UnsupportedDtype { tensor: &'static str, dtype: String },
    #[error("the model card (metadata key \"{CARD_KEY}\") is missing; this is not a Continuo weight file")]
    MissingCard,
    #[error("the model card is not valid: {0}")]
    BadCard(String),
    #[error(
        "the model card has format version {found}; this build reads version {FORMAT_VERSION} only"
    )]
    UnknownVersion { found: u64 },
    #[error("the tensor \"{tensor}\" has shape {actual:?} but the card's geometry and hidden units need {expected:?}")]
    WrongShape {
        tensor: &'static str,
        expected: Vec<usize>,
        actual: Vec<usize>,
    },
    #[error("the tensor \"{tensor}\" holds a value that is not finite ({value}) at index {index}; the model diverged while training")]
    NotFinite {
        tensor: &'static str,
        index: usize,
        value: f32,
    },
}

/// Encodes a model and its card as the bytes of a safetensors file.
pub fn to_bytes(rbm: &Rbm, card: &ModelCard, precision: Precision) -> Result<Vec<u8>, ModelError> {
    let w_bytes = encode(rbm.w.iter().copied(), precision);
    let b_bytes = encode(rbm.b.iter().copied(), precision);
    let c_bytes = encode(rbm.c.iter().copied(), precision);
    let dtype = match precision {
        Precision::F32 => Dtype::F32,
        Precision::F16 => Dtype::F16,
    };
    let tensors = [
        (
            "W",
            view(
                dtype,
                vec![rbm.visible_units(), rbm.hidden_units()],
                &w_bytes,
            )?,
        ),
        ("b", view(dtype, vec![rbm.visible_units()], &b_bytes)?),
        ("c", view(dtype, vec![rbm.hidden_units()], &c_bytes)?),
    ];

    let card_json = serde_json::to_string(card).map_err(|e| ModelError::Weights(e.to_string()))?;
    let metadata = HashMap::from([(CARD_KEY.to_string(), card_json)]);
    safetensors::serialize(tensors, Some(metadata)).map_err(|e| ModelError::Weights(e.to_string()))
}

/// Decodes a weight file's bytes, checking everything listed on [`WeightFileError`].
pub fn from_bytes(bytes: &[u8]) -> Result<(Rbm, ModelCard), ModelError> {
    check_framing(bytes)?;
    let file = SafeTensors::deserialize(bytes)
        .map_err(|e| WeightFileError::Corrupt(format!("the safetensors reader says: {e}")))?;

    let card = read_card(bytes)?;
    let visible_units = card.geometry.visible_units();
    let w = read_tensor(&file, "W", &[visible_units, card.hidden_units])?;
    let b = read_tensor(&file, "b", &[visible_units])?;
    let c = read_tensor(&file, "c", &[card.hidden_units])?;

    let w = Array2::from_shape_vec((visible_units, card.hidden_units), w)
        .map_err(|e| ModelError::Weights(e.to_string()))?;
    let rbm = Rbm::from_parts(card.geometry, w, Array1::from(b), Array1::from(c))?;
    Ok((rbm, card))
}

/// Writes a weight file so that `path` always holds a complete file: the bytes go to a
/// temporary file beside it, which then replaces `path` in one rename.
pub fn save(
    path: &Path,
    rbm: &Rbm,
    card: &ModelCard,
    precision: Precision,
) -> Result<(), ModelError> {
    let bytes = to_bytes(rbm, card, precision).map_err(|e| e.in_file(path))?;
    write_atomically(path, &bytes)
}

/// Reads a weight file; every error names the file.
pub fn load(path: &Path) -> Result<(Rbm, ModelCard), ModelError> {
    // Any size: the framing check compares it with what the header declares.
    let bytes = crate::files::read_regular_file(path, u64::MAX)?;
    from_bytes(&bytes).map_err(|e| e.in_file(path))
}

fn view(dtype: Dtype, shape: Vec<usize>, bytes: &[u8]) -> Result<TensorView<'_>, ModelError> {
    TensorView::new(dtype, shape, bytes).map_err(|e| ModelError::Weights(e.to_string()))
}

fn encode(values: impl Iterator<Item = f32>, precision: Precision) -> Vec<u8> {
    match precision {
        Precision::F32 => values.flat_map(f32::to_le_bytes).collect(),
        Precision::F16 => values
            .flat_map(|x| half::f16::from_f32(x).to_le_bytes())
            .collect(),
    }
}

/// Tells a file that is not safetensors from one that was cut short, before the safetensors
/// reader (which reports both as a bad header or buffer) sees it.
fn check_framing(bytes: &[u8]) -> Result<(), WeightFileError> {
    let actual_bytes = bytes.len() as u64;
    let Some(length_field) = bytes.get(..8) else {
        if bytes.is_empty() {
            return Err(WeightFileError::NotSafetensors("the file is empty".into()));
        }
        return Err(WeightFileError::Truncated {
            expected_bytes: 8,
            actual_bytes,
        });
    };
    let header_bytes = u64::from_le_bytes(length_field.try_into().unwrap_or([0xff; 8]));
    if header_bytes == 0 || header_bytes > MAX_HEADER_BYTES {
        return Err(WeightFileError::NotSafetensors(format!(
            "its first 8 bytes give a header of {header_bytes} bytes"
        )));
    }
    let header_end = 8 + header_bytes;
    match bytes.get(8) {
        Some(b'{') => {}
        Some(_) => {
            return Err(WeightFileError::NotSafetensors(
                "the header does not start with a JSON object".into(),
            ))
        }
        None => {
            return Err(WeightFileError::Truncated {
                expected_bytes: header_end,
                actual_bytes,
            })
        }
    }
    if header_end > actual_bytes {
        return Err(WeightFileError::Truncated {
            expected_bytes: header_end,
            actual_bytes,
        });
    }

    let header: serde_json::Value = std::str::from_utf8(&bytes[8..header_end as usize])
        .ok()
        .and_then(|text| serde_json::from_str(text).ok())
        .ok_or_else(|| WeightFileError::NotSafetensors("the header is not JSON".into()))?;
    let data_bytes = header
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(_, info)| info.get("data_offsets")?.get(1)?.as_u64())
        .max()
        .unwrap_or(0);
    let expected_bytes = header_end.saturating_add(data_bytes);
    if expected_bytes > actual_bytes {
        return Err(WeightFileError::Truncated {
            expected_bytes,
            actual_bytes,
        });
    }
    if expected_bytes < actual_bytes {
        return Err(WeightFileError::Corrupt(format!(
            "{} bytes follow the last tensor",
            actual_bytes - expected_bytes
        )));
    }
    Ok(())
}

fn read_card(bytes: &[u8]) -> Result<ModelCard, WeightFileError> {
    let (_, metadata) =
        SafeTensors::read_metadata(bytes).map_err(|e| WeightFileError::Corrupt(e.to_string()))?;
    let card_json = metadata
        .metadata()
        .as_ref()
        .and_then(|map| map.get(CARD_KEY))
        .ok_or(WeightFileError::MissingCard)?;

    // The version is read on its own first, so that a newer card is refused as newer rather
    // than as malformed.
    let raw: serde_json::Value = serde_json::from_str(card_json)
        .map_err(|e| WeightFileError::BadCard(format!("not JSON: {e}")))?;
    let version = raw
        .get("format_version")
        .and_then(|v| v.as_u64())
        .ok_or_else(|| WeightFileError::BadCard("no format_version".into()))?;
    if version != u64::from(FORMAT_VERSION) {
        return Err(WeightFileError::UnknownVersion { found: version });
    }
    let card: ModelCard =
        serde_json::from_value(raw).map_err(|e| WeightFileError::BadCard(e.to_string()))?;
    card.geometry
        .check_plausible()
        .map_err(WeightFileError::BadCard)?;
    if card.hidden_units == 0 {
        return Err(WeightFileError::BadCard(
            "the model has no hidden units".into(),
        ));
    }
    Ok(card)
}

/// One tensor as `f32`, after checking its type, its shape and that every value is finite.
fn read_tensor(
    file: &SafeTensors<'_>,
    name: &'static str,
    expected_shape: &[usize],
) -> Result<Vec<f32>, WeightFileError> {
    let tensor = file
        .tensor(name)
        .map_err(|_| WeightFileError::MissingTensor(name))?;
    if tensor.shape() != expected_shape {
        return Err(WeightFileError::WrongShape {
            tensor: name,
            expected: expected_shape.to_vec(),
            actual: tensor.shape().to_vec(),
        });
    }
    let values: Vec<f32> = match tensor.dtype() {
        Dtype::F32 => tensor
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        Dtype::F16 => tensor
            .data()
            .chunks_exact(2)
            .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        other => {
            return Err(WeightFileError::UnsupportedDtype {
                tensor: name,
                dtype: format!("{other:?}"),
            })
        }
    };
    if let Some((index, &value)) = values.iter().enumerate().find(|(_, x)| !x.is_finite()) {
        return Err(WeightFileError::NotFinite {
            tensor: name,
            index,
            value,
        });
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::Grid;

    /// 2 pitch rows x 4 steps, one measure: 8 visible units.
    fn tiny_geometry() -> Geometry {
        Geometry {
            grid: Grid {
                lowest_pitch: 60,
                pitch_rows: 2,
                steps_per_quarter: 1,
                quarters_per_measure: 4,
            },
            measures: 1,
        }
    }

    fn tiny_model() -> (Rbm, ModelCard) {
        let geometry = tiny_geometry();
        let mut rbm = Rbm::xavier(geometry, 4, 3);
        rbm.b = Array1::from_iter((0..8).map(|i| 0.25 * i as f32 - 1.0));
        rbm.c = Array1::from(vec![0.5, -0.5, 1.0e-3, 3.0]);
        let mut card = ModelCard::untrained("tiny", geometry, 4);
        card.epochs = 3;
        card.metrics = Some(EpochMetrics {
            epoch: 3,
            train_reconstruction_error: 0.125,
            heldout_reconstruction_error: None,
            train_free_energy: -2.5,
            heldout_free_energy: None,
            free_energy_gap: None,
        });
        (rbm, card)
    }

    fn weight_error(result: Result<(Rbm, ModelCard), ModelError>) -> WeightFileError {
        match result {
            Err(ModelError::WeightFile(e)) => e,
            other => panic!("expected a weight-file error, got {other:?}"),
        }
    }

    /// Builds a file by hand from raw tensors and a card string, to make broken files.
    fn hand_made(tensors: &[(&str, Vec<usize>, Vec<f32>)], card: Option<String>) -> Vec<u8> {
        let data: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
            .iter()
            .map(|(name, shape, values)| {
                let bytes = values.iter().flat_map(|x| x.to_le_bytes()).collect();
                (name.to_string(), shape.clone(), bytes)
            })
            .collect();
        let views: Vec<(String, TensorView<'_>)> = data
            .iter()
            .map(|(name, shape, bytes)| {
                let view = TensorView::new(Dtype::F32, shape.clone(), bytes).expect("tensor view");
                (name.clone(), view)
            })
            .collect();
        let metadata = card.map(|json| HashMap::from([(CARD_KEY.to_string(), json)]));
        safetensors::serialize(views, metadata).expect("serialize")
    }

    #[test]
    fn f32_round_trip_is_exact() {
        let (rbm, card) = tiny_model();
        let bytes = to_bytes(&rbm, &card, Precision::F32).expect("encode");
        let (loaded, loaded_card) = from_bytes(&bytes).expect("decode");
        assert_eq!(loaded, rbm);
        assert_eq!(loaded_card, card);
    }

    #[test]
    fn f16_round_trip_is_within_half_precision_and_half_the_size() {
        let (rbm, card) = tiny_model();
        let f32_bytes = to_bytes(&rbm, &card, Precision::F32).expect("encode f32");
        let f16_bytes = to_bytes(&rbm, &card, Precision::F16).expect("encode f16");
        let (loaded, _) = from_bytes(&f16_bytes).expect("decode f16");
        // f16 has 11 significant bits: a relative error of at most 2^-11 for normal values.
        for (a, b) in loaded
            .w
            .iter()
            .chain(&loaded.b)
            .zip(rbm.w.iter().chain(&rbm.b))
        {
            assert!((a - b).abs() <= b.abs() * 4.9e-4 + 1e-7, "{a} vs {b}");
        }
        // 0.001 = 1.024 * 2^-10 is not an f16 value; with 10 fraction bits the nearest is
        // 1049/1024 * 2^-10.
        assert_eq!(loaded.c[2], 1049.0 / 1024.0 / 1024.0);
        assert_eq!(loaded.c[3], 3.0);
        // The data part (after the 8-byte length and the header) holds 44 values: 8x4 W, 8 b,
        // 4 c; 4 bytes each in f32, 2 in f16.
        let data_bytes = |bytes: &[u8]| {
            let header = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
            bytes.len() - 8 - header as usize
        };
        assert_eq!(data_bytes(&f32_bytes), 176);
        assert_eq!(data_bytes(&f16_bytes), 88);
    }

    #[test]
    fn save_and_load_name_the_file() {
        let (rbm, card) = tiny_model();
        let dir = std::env::temp_dir().join(format!("continuo-weights-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("tiny.safetensors");
        save(&path, &rbm, &card, Precision::F32).expect("save");
        assert_eq!(load(&path).expect("load").0, rbm);

        std::fs::write(&path, b"hello").expect("write junk");
        let message = load(&path).expect_err("junk must not load").to_string();
        assert!(message.contains("tiny.safetensors"), "{message}");
        let missing = load(&dir.join("absent.safetensors")).expect_err("absent");
        assert!(missing.to_string().contains("absent.safetensors"));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn every_truncation_is_reported_as_truncation() {
        let (rbm, card) = tiny_model();
        let bytes = to_bytes(&rbm, &card, Precision::F32).expect("encode");
        for cut in 1..bytes.len() {
            match weight_error(from_bytes(&bytes[..cut])) {
                WeightFileError::Truncated {
                    expected_bytes,
                    actual_bytes,
                } => {
                    assert_eq!(actual_bytes, cut as u64);
                    assert!(expected_bytes > actual_bytes);
                }
                other => panic!("cut at {cut}: {other}"),
            }
        }
        assert!(matches!(
            weight_error(from_bytes(&[])),
            WeightFileError::NotSafetensors(_)
        ));
    }

    #[test]
    fn random_bytes_are_refused_without_panicking() {
        // A fixed linear congruential sequence: the same "random" files on every run.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for length in [1usize, 7, 8, 9, 64, 1000, 5000] {
            for _ in 0..20 {
                let bytes: Vec<u8> = (0..length)
                    .map(|_| {
                        state = state
                            .wrapping_mul(6_364_136_223_846_793_005)
                            .wrapping_add(1);
                        (state >> 56) as u8
                    })
                    .collect();
                assert!(from_bytes(&bytes).is_err());
            }
        }
        // A plausible length field followed by non-JSON.
        let mut fake = 16u64.to_le_bytes().to_vec();
        fake.extend_from_slice(b"{not json at all");
        assert!(matches!(
            weight_error(from_bytes(&fake)),
            WeightFileError::NotSafetensors(_)
        ));
    }

    #[test]
    fn a_nan_is_found_and_located() {
        let (mut rbm, card) = tiny_model();
        rbm.w[[2, 1]] = f32::NAN;
        let bytes = to_bytes(&rbm, &card, Precision::F32).expect("encode");
        match weight_error(from_bytes(&bytes)) {
            WeightFileError::NotFinite { tensor, index, .. } => {
                assert_eq!(tensor, "W");
                // Row 2, column 1 of a 4-column row-major matrix.
                assert_eq!(index, 9);
            }
            other => panic!("{other}"),
        }
    }

    #[test]
    fn shapes_tensors_card_and_version_are_each_checked() {
        let (rbm, card) = tiny_model();
        let card_json = serde_json::to_string(&card).expect("card json");
        let w = rbm.w.iter().copied().collect::<Vec<_>>();
        let b = rbm.b.to_vec();
        let c = rbm.c.to_vec();

        let wrong_shape = hand_made(
            &[
                ("W", vec![4, 8], w.clone()),
                ("b", vec![8], b.clone()),
                ("c", vec![4], c.clone()),
            ],
            Some(card_json.clone()),
        );
        match weight_error(from_bytes(&wrong_shape)) {
            WeightFileError::WrongShape {
                tensor,
                expected,
                actual,
            } => {
                assert_eq!(tensor, "W");
                assert_eq!(expected, vec![8, 4]);
                assert_eq!(actual, vec![4, 8]);
            }
            other => panic!("{other}"),
        }

        let no_c = hand_made(
            &[("W", vec![8, 4], w.clone()), ("b", vec![8], b.clone())],
            Some(card_json.clone()),
        );
        assert!(matches!(
            weight_error(from_bytes(&no_c)),
            WeightFileError::MissingTensor("c")
        ));

        let full = [("W", vec![8, 4], w), ("b", vec![8], b), ("c", vec![4], c)];
        assert!(matches!(
            weight_error(from_bytes(&hand_made(&full, None))),
            WeightFileError::MissingCard
        ));

        let future = card_json.replace("\"format_version\":1", "\"format_version\":7");
        assert!(matches!(
            weight_error(from_bytes(&hand_made(&full, Some(future)))),
            WeightFileError::UnknownVersion { found: 7 }
        ));

        let garbled = card_json.replace("\"hidden_units\":4", "\"hidden_units\":\"four\"");
        assert!(matches!(
            weight_error(from_bytes(&hand_made(&full, Some(garbled)))),
            WeightFileError::BadCard(_)
        ));

        assert!(from_bytes(&hand_made(&full, Some(card_json))).is_ok());
    }

    #[test]
    fn geometries_no_image_can_have_are_refused_before_sizing_anything() {
        let (rbm, card) = tiny_model();
        let full = [
            ("W", vec![8, 4], rbm.w.iter().copied().collect::<Vec<_>>()),
            ("b", vec![8], rbm.b.to_vec()),
            ("c", vec![4], rbm.c.to_vec()),
        ];
        let with_card = |edit: &dyn Fn(&mut ModelCard)| {
            let mut edited = card.clone();
            edit(&mut edited);
            let json = serde_json::to_string(&edited).expect("card json");
            weight_error(from_bytes(&hand_made(&full, Some(json))))
        };
        type CardEdit = dyn Fn(&mut ModelCard);
        let refusals: [(&str, &CardEdit); 5] = [
            // Rows above MIDI pitch 127 (the highest pitch would overflow a u8).
            ("rows past pitch 127", &|c| {
                c.geometry.grid.lowest_pitch = 250
            }),
            // Sizes whose products overflow, even when the tensors match the wrapped product.
            ("2^62 rows", &|c| c.geometry.grid.pitch_rows = 1 << 62),
            ("2^56 measures", &|c| c.geometry.measures = 1 << 56),
            ("no steps", &|c| c.geometry.grid.steps_per_quarter = 0),
            ("no hidden units", &|c| c.hidden_units = 0),
        ];
        for (case, edit) in refusals {
            match with_card(edit) {
                WeightFileError::BadCard(reason) => {
                    assert!(!reason.is_empty(), "{case}: the reason is said")
                }
                other => panic!("{case}: {other}"),
            }
        }
    }

    #[test]
    fn trailing_bytes_are_corruption() {
        let (rbm, card) = tiny_model();
        let mut bytes = to_bytes(&rbm, &card, Precision::F32).expect("encode");
        bytes.extend_from_slice(&[0; 4]);
        assert!(matches!(
            weight_error(from_bytes(&bytes)),
            WeightFileError::Corrupt(_)
        ));
    }
}
