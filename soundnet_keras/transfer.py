"""Transfer learning: a clip classifier built on a frozen SoundNet, as a
Keras app (docs: "Transfer learning"; notebook
``transfer_learning.ipynb``).

The recipe of Keras' own transfer-learning guide, in three steps:

1. :func:`embedding_model`: the pretrained network, frozen, cut at a layer
   and averaged over time: waveform in [-1, 1] -> one vector per clip.
   :func:`log_mel_embedding` is the baseline of the same shape of app: 128
   log-mel energies' mean and standard deviation over time.
2. :func:`classifier_head`: a small head (standardisation, one hidden
   layer, dropout, softmax) trained by ``model.fit`` on the embeddings,
   computed once.
3. :func:`fine_tune`: backbone and head joined, the top layers of the
   backbone unfrozen (batch norm stays frozen, in inference mode), trained
   end to end on the waveforms at a learning rate 100 times lower.

Everything is Keras 3 (``keras.ops``, Keras layers): it runs under the
TensorFlow, JAX and PyTorch backends.

Example:
    >>> import numpy as np
    >>> from soundnet_keras import SoundNet8
    >>> embed = embedding_model(SoundNet8(include_top=False, weights=None,
    ...                                   pooling="avg"))
    >>> embed.predict(np.zeros((2, 22050), "float32"), verbose=0).shape
    (2, 1024)
    >>> head = classifier_head(np.random.rand(8, 1024), 17)
    >>> head.output_shape, head.count_params()
    ((None, 17), 268818)
"""

import keras
from keras import layers, ops

from .audio import INPUT_SCALE
from .features import keras_layer_name

#: The head's training (step 2) and fine-tuning (step 3).
HEAD = dict(hidden=256, dropout=0.5, learning_rate=1e-3, batch_size=32,
            epochs=300, patience=30)
FINE_TUNE = dict(learning_rate=1e-5, batch_size=16, epochs=20, patience=5)


def embedding_model(backbone, layer=None, name=None):
    """Waveform ``(batch, samples)`` in [-1, 1] -> ``(batch, features)``:
    ``backbone``'s output (or its feature layer ``layer``, e.g.
    ``"conv5"``) averaged over time, frozen.

    The input is scaled to the network's range inside the model (as
    :func:`soundnet_keras.preprocess_input`), so the app takes audio as
    read.
    """
    if layer is None:
        features = backbone.output
    else:
        features = backbone.get_layer(
            keras_layer_name(backbone.name, layer)).output
    cut = keras.Model(backbone.input, features, name=backbone.name)
    waveform = keras.Input((None,), name="waveform")
    x = layers.Reshape((-1, 1))(waveform)
    x = layers.Rescaling(INPUT_SCALE)(x)
    x = cut(x, training=False)          # batch norm in inference mode
    if len(x.shape) == 3:
        x = layers.GlobalAveragePooling1D()(x)
    model = keras.Model(waveform, x, name=name or f"{backbone.name}_"
                        f"{layer or 'output'}_embedding")
    model.trainable = False
    return model


@keras.saving.register_keras_serializable(package="soundnet_keras")
class LogMelStatistics(layers.Layer):
    """``(batch, bands, frames)`` power -> ``(batch, 2 * bands)``: the mean
    and standard deviation over time of ``log(power + 1e-6)`` (registered,
    so that a saved app loads with ``keras.saving.load_model`` once
    ``soundnet_keras.transfer`` is imported)."""

    def call(self, power):
        x = ops.log(power + 1e-6)
        return ops.concatenate([ops.mean(x, axis=-1), ops.std(x, axis=-1)],
                               axis=-1)


def log_mel_embedding(sample_rate=16000, bands=128):
    """The baseline's embedding: waveform ``(batch, samples)`` ->
    ``(batch, 2 * bands)``, the mean and standard deviation over time of
    ``bands`` log-mel energies of 25 ms frames every 10 ms (nothing
    trained)."""
    waveform = keras.Input((None,), name="waveform")
    power = layers.MelSpectrogram(
        fft_length=1 << (int(0.025 * sample_rate) - 1).bit_length(),
        sequence_length=int(0.025 * sample_rate),
        sequence_stride=int(0.010 * sample_rate), sampling_rate=sample_rate,
        num_mel_bins=bands, power_to_db=False)(waveform)
    return keras.Model(waveform, LogMelStatistics()(power),
                       name="log_mel_embedding")


def classifier_head(embeddings, classes, hidden=HEAD["hidden"],
                    dropout=HEAD["dropout"]):
    """Embedding -> class probabilities: each feature standardised (a
    ``Normalization`` layer adapted to the training ``embeddings``), one
    ReLU layer of ``hidden`` units, dropout, softmax; compiled (Adam,
    sparse categorical cross-entropy, accuracy)."""
    norm = layers.Normalization(name="standardise")
    norm.adapt(embeddings)
    head = keras.Sequential([
        keras.Input((embeddings.shape[1],), name="embedding"), norm,
        layers.Dense(hidden, activation="relu"),
        layers.Dropout(dropout),
        layers.Dense(classes, activation="softmax")], name="head")
    head.compile(optimizer=keras.optimizers.Adam(HEAD["learning_rate"]),
                 loss="sparse_categorical_crossentropy",
                 metrics=["accuracy"])
    return head


def _fit(model, train, val, recipe, seed, epochs, verbose):
    """``model.fit`` with ``recipe``'s batch size, at most ``epochs``
    (default the recipe's), early stopping on ``val``'s loss with the best
    epoch's weights kept."""
    keras.utils.set_random_seed(seed)
    stop = keras.callbacks.EarlyStopping(patience=recipe["patience"],
                                         restore_best_weights=True)
    return model.fit(*train, validation_data=val,
                     epochs=epochs or recipe["epochs"],
                     batch_size=recipe["batch_size"], callbacks=[stop],
                     verbose=verbose)


def fit_head(head, train, val, seed=0, epochs=None, verbose=0):
    """Trains ``head`` on ``train = (embeddings, labels)`` for at most
    ``epochs`` (default ``HEAD["epochs"]``) with early stopping on
    ``val``'s loss (the best epoch's weights kept); returns the Keras
    history."""
    return _fit(head, train, val, HEAD, seed, epochs, verbose)


def fine_tune(embedding, head, first="conv6"):
    """The whole app, ``embedding`` then ``head``, with the backbone's
    layers from ``first`` on trainable (batch norm excepted: it stays
    frozen and in inference mode), compiled at
    ``FINE_TUNE["learning_rate"]``.

    Example:
        >>> import numpy as np
        >>> from soundnet_keras import SoundNet8
        >>> embed = embedding_model(SoundNet8(include_top=False,
        ...                                   weights=None, pooling="avg"))
        >>> app = fine_tune(embed, classifier_head(np.ones((2, 1024)), 17))
        >>> sorted({w.path.split("/")[0] for w in app.trainable_weights})
        ['conv6', 'conv7', 'head']
    """
    backbone = next(layer for layer in embedding.layers
                    if isinstance(layer, keras.Model))
    embedding.trainable = True
    names = [layer.name for layer in backbone.layers]
    if first not in names:
        raise ValueError(f"{backbone.name} has no layer {first!r}; its "
                         f"layers: {names}")
    start = names.index(first)
    for k, layer in enumerate(backbone.layers):
        layer.trainable = k >= start and \
            not isinstance(layer, layers.BatchNormalization)
    app = keras.Sequential([embedding, head], name="clip_classifier")
    app.compile(optimizer=keras.optimizers.Adam(FINE_TUNE["learning_rate"]),
                loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return app


def fit_app(app, train, val, seed=0, epochs=None, verbose=0):
    """Fine-tunes ``app`` (:func:`fine_tune`) on ``train = (waveforms,
    labels)`` for at most ``epochs`` (default ``FINE_TUNE["epochs"]``),
    early stopping on ``val``'s loss; returns the history."""
    return _fit(app, train, val, FINE_TUNE, seed, epochs, verbose)


__all__ = ["FINE_TUNE", "HEAD", "LogMelStatistics", "classifier_head",
           "embedding_model", "fine_tune", "fit_app", "fit_head",
           "log_mel_embedding"]
