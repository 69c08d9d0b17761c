//! The model the plugin composes with: the built-in Bach model or a weight file made by the
//! trainer, loaded and checked on a background thread so that neither the audio thread nor the
//! editor ever waits for it.
//!
//! A file that fails to load leaves the current model playing and says why; a project whose
//! model file is gone falls back to the built-in model and says so.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use continuo_model::weights::{self, ModelCard};
use continuo_model::{Grid, Rbm};

/// Where a model came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelSource {
    BuiltIn,
    File(PathBuf),
}

/// A model ready to compose with.
#[derive(Debug)]
pub struct LoadedModel {
    pub rbm: Rbm,
    pub card: ModelCard,
    pub source: ModelSource,
}

impl LoadedModel {
    /// One line about the model for the editor: name, size and training.
    pub fn summary(&self) -> String {
        let card = &self.card;
        let mut summary = format!(
            "{} - {} hidden units, {} epochs",
            card.name, card.hidden_units, card.epochs
        );
        if let Some(corpus) = &card.corpus {
            summary += &format!(
                ", {} pieces ({} images) of {}",
                corpus.pieces, corpus.images, corpus.dataset
            );
        }
        if let Some(metrics) = &card.metrics {
            summary += &format!(
                ", free energy {:.1} (training images)",
                metrics.train_free_energy
            );
        }
        summary
    }
}

/// What the editor should say about the model, besides its card.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum ModelNotice {
    #[default]
    None,
    Loading(String),
    /// A problem worth a warning colour (a file that did not load, a missing file).
    Problem(String),
}

/// The current model, shared by the composer and recorder threads and the editor.
#[derive(Debug, Default)]
pub struct ModelShelf {
    current: RwLock<Option<Arc<LoadedModel>>>,
    /// Increases with every model put on the shelf; the composer rebuilds when it changes.
    generation: AtomicU64,
    notice: RwLock<ModelNotice>,
    /// The source asked for last, so that repeated asks (hosts activate plugins several times in
    /// a row) start one load, and a slow load finishing late does not undo a newer choice.
    wanted: Mutex<Option<ModelSource>>,
}

impl ModelShelf {
    pub fn current(&self) -> Option<Arc<LoadedModel>> {
        self.current.read().ok().and_then(|model| model.clone())
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub fn notice(&self) -> ModelNotice {
        self.notice
            .read()
            .map(|notice| notice.clone())
            .unwrap_or_default()
    }

    /// Makes sure the model the project asks for (`path`, or the built-in one for `None`) is
    /// loaded or loading. A path whose file is gone means the built-in model, with a notice.
    pub fn ensure(self: &Arc<Self>, path: Option<&str>) {
        let (wanted, notice) = match path {
            Some(path) if Path::new(path).is_file() => {
                (ModelSource::File(PathBuf::from(path)), ModelNotice::None)
            }
            Some(path) => (
                ModelSource::BuiltIn,
                ModelNotice::Problem(format!(
                    "The project's model file {path} is gone; playing the built-in model."
                )),
            ),
            None => (ModelSource::BuiltIn, ModelNotice::None),
        };
        let already = self.current().is_some_and(|model| model.source == wanted);
        let asked = self
            .wanted
            .lock()
            .map(|asked| asked.as_ref() == Some(&wanted))
            .unwrap_or(false);
        if !(already || asked) {
            self.load_in_background(wanted, notice, |_| {});
        } else if notice != ModelNotice::None {
            self.set_notice(notice);
        }
    }

    /// Loads a model on a new thread; once it plays, the editor shows `notice`. `done` gets
    /// `Ok(())` once it plays, or the reason it does not (the current model then stays).
    pub fn load_in_background(
        self: &Arc<Self>,
        source: ModelSource,
        notice: ModelNotice,
        done: impl FnOnce(Result<(), String>) + Send + 'static,
    ) {
        if let Ok(mut wanted) = self.wanted.lock() {
            *wanted = Some(source.clone());
        }
        let label = match &source {
            ModelSource::BuiltIn => String::from("Loading the built-in model..."),
            ModelSource::File(path) => format!("Loading {}...", path.display()),
        };
        self.set_notice(ModelNotice::Loading(label));
        let shelf = Arc::clone(self);
        let spawned = std::thread::Builder::new()
            .name(String::from("continuo-model-loader"))
            .spawn(move || {
                let outcome = shelf.load_now(source, notice);
                done(outcome);
            });
        if let Err(error) = spawned {
            self.set_notice(ModelNotice::Problem(format!(
                "Could not start loading the model: {error}"
            )));
        }
    }

    /// Loads and checks a model on this thread and puts it on the shelf; `notice` is what the
    /// editor says once it plays.
    pub fn load_now(&self, source: ModelSource, notice: ModelNotice) -> Result<(), String> {
        let loaded = match &source {
            ModelSource::BuiltIn => built_in_model(),
            ModelSource::File(path) => weights::load(path).map_err(|error| error.to_string()),
        }
        .and_then(|(rbm, card)| check_fits_the_plugin(&card).map(|()| (rbm, card)));

        let still_wanted = self
            .wanted
            .lock()
            .map(|wanted| wanted.as_ref().is_none_or(|wanted| *wanted == source))
            .unwrap_or(true);
        match loaded {
            Ok((rbm, card)) if still_wanted => {
                let model = LoadedModel { rbm, card, source };
                if let Ok(mut current) = self.current.write() {
                    *current = Some(Arc::new(model));
                }
                self.generation.fetch_add(1, Ordering::AcqRel);
                self.set_notice(notice);
                Ok(())
            }
            Ok(_) => Ok(()), // Superseded by a newer choice while loading.
            Err(reason) => {
                let what = match &source {
                    ModelSource::BuiltIn => String::from("The built-in model"),
                    ModelSource::File(path) => path.display().to_string(),
                };
                let kept = if self.current().is_some() {
                    "; the current model keeps playing"
                } else {
                    ""
                };
                self.set_notice(ModelNotice::Problem(format!(
                    "{what} did not load: {reason}{kept}."
                )));
                Err(reason)
            }
        }
    }

    fn set_notice(&self, notice: ModelNotice) {
        if let Ok(mut current) = self.notice.write() {
            *current = notice;
        }
    }
}

/// The plugin records and plays on the paper's grid only.
fn check_fits_the_plugin(card: &ModelCard) -> Result<(), String> {
    let grid = card.geometry.grid;
    if grid != Grid::PAPER {
        return Err(format!(
            "the model uses a grid of {} pitches from MIDI {}, {} steps per quarter and {} \
             quarters per measure; the plugin plays 72 pitches from MIDI 24 (C1), 24 steps per \
             quarter, 4 quarters",
            grid.pitch_rows, grid.lowest_pitch, grid.steps_per_quarter, grid.quarters_per_measure
        ));
    }
    if card.geometry.measures == 0 {
        return Err(String::from("the model's images are zero measures long"));
    }
    Ok(())
}

/// The Bach model built into the plugin (decoded from the bytes compiled in).
fn built_in_model() -> Result<(Rbm, ModelCard), String> {
    continuo_model::bundled::default_model().map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_file_leaves_the_current_model_and_says_why() {
        let shelf = Arc::new(ModelShelf::default());
        shelf
            .load_now(ModelSource::BuiltIn, ModelNotice::None)
            .expect("built-in model");
        let first = shelf.generation();

        let dir = std::env::temp_dir().join(format!("continuo-shelf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bad = dir.join("broken.safetensors");
        std::fs::write(&bad, b"not a weight file").unwrap();
        let source = ModelSource::File(bad.clone());
        *shelf.wanted.lock().unwrap() = Some(source.clone());
        assert!(shelf.load_now(source, ModelNotice::None).is_err());

        assert_eq!(shelf.generation(), first);
        assert_eq!(shelf.current().unwrap().source, ModelSource::BuiltIn);
        match shelf.notice() {
            ModelNotice::Problem(text) => {
                assert!(text.contains("broken.safetensors"), "{text}");
                assert!(text.contains("current model keeps playing"), "{text}");
            }
            other => panic!("expected a problem notice, got {other:?}"),
        }
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn a_missing_project_file_means_the_built_in_model_with_a_notice() {
        let shelf = Arc::new(ModelShelf::default());
        shelf.ensure(Some("/nonexistent/continuo/model.safetensors"));
        for _ in 0..500 {
            if shelf.current().is_some() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(shelf.current().unwrap().source, ModelSource::BuiltIn);
        assert!(matches!(shelf.notice(), ModelNotice::Problem(text) if text.contains("gone")));
    }
}
