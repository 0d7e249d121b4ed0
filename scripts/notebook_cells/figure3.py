"""Figure 3: activations of SN-F and SN-R at a change of sound
(figure3_activations.ipynb)."""

from . import code, md, SETUP

CELLS = [
    md("""
# Figure 3: what the higher layers of SN-F and SN-R see

The paper explains why features from the recurrent layers of SN-R get worse with
depth (Table 4: gru3 gives 96% validation TER) by looking at activations on a
recording with a clear change of sound at 4.5 s. In SN-F the change stays sharp in
fc1, fc2 and fc3: each fully connected layer sees only its own 0.34 s frame. In
SN-R it blurs at gru2 and disappears at gru3: a bidirectional recurrent layer mixes
in information from far away, and loses the local detail a detector of onsets and
offsets needs.
"""),
    md("""
**What is run here.** A 10 s recording that changes from one real sound to another
at 4.5 s (`sed.corpora.transition_recording`, from the stand-in corpus's material;
built-in synthetic sounds where its Debian packages are missing), through the
pretrained-trunk SN-F and SN-R (GRU) presets distilled on the real-audio pool
(`snf_trunk_pool`, `snr_trunk_pool`, see Figure 1; conv1-conv5 are SoundNet-8's). Rows are units, columns are 10 Hz frames; each
unit is shown as its deviation from its own mean over the recording (in standard
deviations), so that changes over time stand out; the dashed line marks 4.5 s.
"""),
    code(SETUP),
    code("""
from sed.corpora import standin_available, transition_recording
from soundnet_keras import plots

WEIGHTS = {"snf": "snf_trunk_pool", "snr": "snr_trunk_pool"}


def student_panels(x, weights):
    # Figure 3's layers of both students, one panel per layer.
    f, t = plots.layer_activations(x, "snf", plots.FIGURE3_LAYERS["snf"],
                                   weights=weights["snf"])
    r, _ = plots.layer_activations(x, "snr", plots.FIGURE3_LAYERS["snr"],
                                   weights=weights["snr"])
    return {**{f"SN-F {k}": v for k, v in f.items()},
            **{f"SN-R {k.replace('_bn', '-BN')}": v for k, v in r.items()}}, t


if standin_available():
    before, after = "music", "tools"
else:
    print("The stand-in packages are missing: using synthetic sounds.")
    before, after = "harmonic_buzz", "white_noise"
waveform, events = transition_recording(before, after, at=4.5, seconds=10.0)
events
"""),
    code("""
panels, times = student_panels(waveform, WEIGHTS)
fig = plots.plot_activations(panels, times, transition=4.5, standardise=True)
""", figure="figure3_activations"),
    md("""
The same activations raw (no standardisation), as the paper shows them.
"""),
    code("""
fig = plots.plot_activations(panels, times, transition=4.5, standardise=False)
""", figure="figure3_activations_raw"),
    md("""
**Measuring the blur.** `transition_contrast` divides the distance between the
mean activations of the second before and the second after 4.5 s by the mean
distance between neighbouring frames: a sharp, lasting change scores high, a
change no bigger than the frame-to-frame jitter scores about 1.
"""),
    code("""
pd.Series({name: plots.transition_contrast(values, times, 4.5)
           for name, values in panels.items()}, name="transition contrast").to_frame()
"""),
    md("""
**The paper-faithful students.** The same recording through the students trained
from scratch on the pool, as the paper trained its own (`snf_scratch_pool`,
`snr_scratch_pool`; far fewer epochs than the paper's, see Figure 1).
"""),
    code("""
SCRATCH = {"snf": "snf_scratch_pool", "snr": "snr_scratch_pool"}
scratch_panels, _ = student_panels(waveform, SCRATCH)
fig = plots.plot_activations(scratch_panels, times, transition=4.5, standardise=True)
""", figure="figure3_activations_scratch"),
    md("""
One recording is one example. The same measure over a few more pairs of sounds
(each row a recording, each column a student's layer) shows how much it depends on
the sounds, and whether the recurrent layers blur the change more than the fully
connected ones, as the paper saw, for both kinds of students: the pretrained-trunk
ones keep SoundNet-8's convolutions and learned only their upper layers, the
from-scratch ones learned everything (Figure 1).
"""),
    code("""
pairs = ([("music", "tools"), ("wind", "vehicle"), ("crowd", "music"),
          ("rain", "bird")] if standin_available() else
         [("harmonic_buzz", "white_noise"), ("low_tone", "rumble")])
rows = {}
for first, second in pairs:
    x, _ = transition_recording(first, second, at=4.5, seconds=10.0)
    for kind, weights in (("trunk", WEIGHTS), ("scratch", SCRATCH)):
        layers, t = student_panels(x, weights)
        rows[(kind, f"{first} -> {second}")] = {
            name: plots.transition_contrast(v, t, 4.5) for name, v in layers.items()}
pd.DataFrame(rows).T.round(2)
"""),
]
