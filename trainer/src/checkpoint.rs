//! The training state beside a model file, so that `--resume` continues where a run stopped.
//!
//! `model.safetensors` is the product (possibly stored in f16); `model.safetensors.state` holds
//! what resuming needs besides it, always in f32: the parameters, their momentum, the
//! persistent chains, and the position of the run (epochs, batches, seconds). Both are written
//! after every epoch through a temporary file and a rename, so each is always whole.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use ndarray::{Array1, Array2};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use serde::{Deserialize, Serialize};

use continuo_model::weights::write_atomically;
use continuo_model::Rbm;

use crate::cpu::{CpuTrainer, Velocity};

const STATE_KEY: &str = "continuo.training_state";

/// Where a run stands, stored as JSON in the state file's metadata.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunPosition {
    pub epochs: usize,
    pub batches_done: u64,
    pub training_seconds: f64,
    /// SHA-256 of the dataset the run trains on; resuming on other data is refused.
    pub dataset_sha256: String,
}

/// The state file that belongs to a model file.
pub fn state_path(model: &Path) -> PathBuf {
    let mut path = model.as_os_str().to_owned();
    path.push(".state");
    PathBuf::from(path)
}

pub fn save(path: &Path, trainer: &CpuTrainer, position: &RunPosition) -> anyhow::Result<()> {
    let rbm = &trainer.rbm;
    let velocity = &trainer.velocity;
    let chain_lengths: Vec<u32> = trainer
        .persistent_chains
        .iter()
        .map(|chain| chain.len() as u32)
        .collect();
    let chain_units: Vec<u32> = trainer.persistent_chains.concat();

    let floats = |values: &mut dyn Iterator<Item = &f32>| -> Vec<u8> {
        values.flat_map(|x| x.to_le_bytes()).collect()
    };
    let integers =
        |values: &[u32]| -> Vec<u8> { values.iter().flat_map(|x| x.to_le_bytes()).collect() };
    let (visible, hidden) = (rbm.visible_units(), rbm.hidden_units());
    let buffers = [
        (
            "W",
            Dtype::F32,
            vec![visible, hidden],
            floats(&mut rbm.w.iter()),
        ),
        ("b", Dtype::F32, vec![visible], floats(&mut rbm.b.iter())),
        ("c", Dtype::F32, vec![hidden], floats(&mut rbm.c.iter())),
        (
            "velocity_W",
            Dtype::F32,
            vec![visible, hidden],
            floats(&mut velocity.w.iter()),
        ),
        (
            "velocity_b",
            Dtype::F32,
            vec![visible],
            floats(&mut velocity.b.iter()),
        ),
        (
            "velocity_c",
            Dtype::F32,
            vec![hidden],
            floats(&mut velocity.c.iter()),
        ),
        (
            "chain_lengths",
            Dtype::U32,
            vec![chain_lengths.len()],
            integers(&chain_lengths),
        ),
        (
            "chain_units",
            Dtype::U32,
            vec![chain_units.len()],
            integers(&chain_units),
        ),
    ];
    let mut views = Vec::new();
    for (name, dtype, shape, bytes) in &buffers {
        views.push((*name, TensorView::new(*dtype, shape.clone(), bytes)?));
    }
    let metadata = HashMap::from([(STATE_KEY.to_string(), serde_json::to_string(position)?)]);
    let bytes = safetensors::serialize(views, Some(metadata))?;
    write_atomically(path, &bytes)?;
    Ok(())
}

/// Restores a trainer's parameters, momentum and chains from a state file written for a model
/// of `template`'s shape; returns the run's position.
pub fn load(path: &Path, trainer: &mut CpuTrainer) -> anyhow::Result<RunPosition> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let context = || format!("the training state {} is unreadable", path.display());
    let file = SafeTensors::deserialize(&bytes).with_context(context)?;
    let (_, metadata) = SafeTensors::read_metadata(&bytes).with_context(context)?;
    let position: RunPosition = metadata
        .metadata()
        .as_ref()
        .and_then(|map| map.get(STATE_KEY))
        .map(|json| serde_json::from_str(json))
        .transpose()
        .with_context(|| format!("{}: the run position is malformed", path.display()))?
        .with_context(context)?;

    let (visible, hidden) = (trainer.rbm.visible_units(), trainer.rbm.hidden_units());
    let floats = |name: &str, shape: &[usize]| -> anyhow::Result<Vec<f32>> {
        let tensor = file.tensor(name).with_context(context)?;
        if tensor.dtype() != Dtype::F32 || tensor.shape() != shape {
            bail!(
                "{}: \"{name}\" is not f32 of shape {shape:?}",
                path.display()
            );
        }
        Ok(tensor
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    };
    let integers = |name: &str| -> anyhow::Result<Vec<u32>> {
        let tensor = file.tensor(name).with_context(context)?;
        if tensor.dtype() != Dtype::U32 {
            bail!("{}: \"{name}\" is not u32", path.display());
        }
        Ok(tensor
            .data()
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    };

    let rbm = Rbm::from_parts(
        trainer.rbm.geometry,
        Array2::from_shape_vec((visible, hidden), floats("W", &[visible, hidden])?)?,
        Array1::from(floats("b", &[visible])?),
        Array1::from(floats("c", &[hidden])?),
    )
    .with_context(context)?;
    let velocity = Velocity {
        w: Array2::from_shape_vec((visible, hidden), floats("velocity_W", &[visible, hidden])?)?,
        b: Array1::from(floats("velocity_b", &[visible])?),
        c: Array1::from(floats("velocity_c", &[hidden])?),
    };
    // A non-finite velocity would turn the weights into NaN at the first batch.
    let velocity_parts = [
        ("velocity_W", velocity.w.iter().find(|x| !x.is_finite())),
        ("velocity_b", velocity.b.iter().find(|x| !x.is_finite())),
        ("velocity_c", velocity.c.iter().find(|x| !x.is_finite())),
    ];
    for (name, bad) in velocity_parts {
        if let Some(bad) = bad {
            bail!(
                "{}: \"{name}\" holds a value that is not finite ({bad}); the run that wrote it \
                 diverged, so it cannot be resumed",
                path.display()
            );
        }
    }
    let lengths = integers("chain_lengths")?;
    let units = integers("chain_units")?;
    if lengths.iter().map(|&n| n as usize).sum::<usize>() != units.len()
        || units.iter().any(|&unit| unit as usize >= visible)
    {
        bail!("{}: the persistent chains are inconsistent", path.display());
    }
    let mut chains = Vec::with_capacity(lengths.len());
    let mut rest = units.as_slice();
    for length in lengths {
        let (chain, tail) = rest.split_at(length as usize);
        chains.push(chain.to_vec());
        rest = tail;
    }

    trainer.rbm = rbm;
    trainer.velocity = velocity;
    trainer.persistent_chains = chains;
    trainer.batches_done = position.batches_done;
    Ok(position)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::tests::{settings, tiny_geometry};

    #[test]
    fn state_round_trip_restores_everything() {
        let mut trainer = CpuTrainer::new(Rbm::xavier(tiny_geometry(), 4, 1), settings(2));
        let mut persistent = settings(2);
        persistent.persistent = true;
        trainer.settings = persistent;
        for _ in 0..3 {
            trainer.train_batch(&[&[0, 1], &[2, 5, 7]]);
        }
        let position = RunPosition {
            epochs: 3,
            batches_done: trainer.batches_done,
            training_seconds: 1.5,
            dataset_sha256: "abc".into(),
        };
        let dir = std::env::temp_dir().join(format!("continuo-state-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("m.safetensors.state");
        save(&path, &trainer, &position).expect("save state");

        let mut restored = CpuTrainer::new(Rbm::xavier(tiny_geometry(), 4, 99), settings(2));
        let loaded = load(&path, &mut restored).expect("load state");
        assert_eq!(loaded, position);
        assert_eq!(restored.rbm, trainer.rbm);
        assert_eq!(restored.velocity, trainer.velocity);
        assert_eq!(restored.persistent_chains, trainer.persistent_chains);
        assert_eq!(restored.batches_done, 3);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_state_with_a_non_finite_velocity_is_refused() {
        let mut trainer = CpuTrainer::new(Rbm::xavier(tiny_geometry(), 4, 1), settings(2));
        trainer.velocity.w[[3, 1]] = f32::NAN;
        let position = RunPosition {
            epochs: 1,
            batches_done: 0,
            training_seconds: 0.5,
            dataset_sha256: "abc".into(),
        };
        let dir = std::env::temp_dir().join(format!("continuo-nan-state-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("m.safetensors.state");
        save(&path, &trainer, &position).expect("save state");

        let mut restored = CpuTrainer::new(Rbm::xavier(tiny_geometry(), 4, 99), settings(2));
        let error = load(&path, &mut restored)
            .expect_err("NaN velocity")
            .to_string();
        std::fs::remove_dir_all(&dir).ok();
        assert!(error.contains("m.safetensors.state"), "{error}");
        assert!(
            error.contains("velocity_W") && error.contains("not finite"),
            "{error}"
        );
        assert_eq!(restored.velocity, Velocity::zeros(&restored.rbm));
    }

    #[test]
    fn a_malformed_position_names_the_file() {
        let zeros = [0u8; 4];
        let tensor = TensorView::new(Dtype::F32, vec![1], &zeros).expect("tensor");
        let metadata = HashMap::from([(STATE_KEY.to_string(), r#"{"epochs":"x"}"#.to_string())]);
        let bytes = safetensors::serialize([("W", tensor)], Some(metadata)).expect("serialize");
        let dir = std::env::temp_dir().join(format!("continuo-bad-json-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("m.safetensors.state");
        std::fs::write(&path, bytes).expect("write state");

        let mut trainer = CpuTrainer::new(Rbm::xavier(tiny_geometry(), 4, 1), settings(2));
        let error = load(&path, &mut trainer)
            .expect_err("malformed JSON")
            .to_string();
        std::fs::remove_dir_all(&dir).ok();
        assert!(error.contains("m.safetensors.state"), "{error}");
        assert!(error.contains("run position is malformed"), "{error}");
    }
}
