"""The real-recording sources of the stand-in corpus and the pool.

Each event class (:data:`STANDIN_CLASSES`) is defined by regular
expressions over the paths of files in Debian packages
(:mod:`sed.corpora.debian`); :data:`BACKGROUND` and :data:`POOL` likewise.
A file belongs to the first class whose pattern finds it (``re.search``,
case-insensitive) unless :data:`EXCLUDE` finds it (synthetic material: UI
sounds, beeps, lasers, magic). Files with identical content are kept once.
Licences come from each package's Debian copyright file
(:data:`LICENCES`); OpenSFX samples carry their own.

Material tiers: :data:`FULL_PACKAGES` (the corpus; about 3.9 GB of
``.deb``) and :data:`SMALL_PACKAGES` (92 MB: the tests and CI build
small corpora from them through the same code; classes without material
there are left out and listed in ``metadata.json``).

Example:
    >>> [c.label for c in STANDIN_CLASSES][:3]
    ['speech', 'music', 'keyboard_typing']
    >>> classify("scratch", "usr/share/scratch/Media/Sounds/Animal/Owl.wav")
    'bird'
"""

import re
from dataclasses import dataclass

_0AD = r"public\.zip!audio/"
_MG = r"games/megaglest/"
_WL = r"widelands/data/sound/"
_STK = r"supertuxkart/data/"
_RE = r"redeclipse/data/sounds/"
_WN = r"wesnoth/1\.16/data/core/sounds/"
_SC = r"scratch/Media/Sounds/"
_SP = r"sonic-pi/samples/"
_SFX = r"opensfx\.cat#"


@dataclass(frozen=True)
class StandinClass:
    """An event class: what it is and which files feed it.

    Attributes:
        label: the event label.
        description: what it sounds like.
        patterns: package -> regular expression over the file's
            ``source_path``.
        seconds: the range of event durations drawn; longer material is
            excerpted, shorter clips are used whole.
        gaps: for sequences (speech, typing): silences between clips joined
            into one event; None for single clips.
    """

    label: str
    description: str
    patterns: dict
    seconds: tuple = (1.0, 6.0)
    gaps: tuple = None


#: The 17 event classes, in class order.
STANDIN_CLASSES = [
    StandinClass("speech", "one to three spoken prompts, words or names "
                 "(English telephony prompts; object names in ~27 "
                 "languages)",
                 {"asterisk-core-sounds-en-wav":
                  r"en_US_f_Allison/(?!silence)",
                  "ktuberling-data": r"ktuberling/sounds/"},
                 (1.0, 8.0), gaps=(0.15, 0.6)),
    StandinClass("music", "excerpts of music tracks",
                 {"asterisk-moh-opsound-wav": r"asterisk/moh/",
                  "megaglest-data": _MG + r".*/music/",
                  "supertuxkart-data": _STK + r"music/"}, (3.0, 12.0)),
    StandinClass("keyboard_typing", "mechanical keyboard key presses and "
                 "releases in sequence",
                 {"bucklespring-data": r"buckle/wav/",
                  "scratch": _SC + r"Effects/Typing"},
                 (1.0, 6.0), gaps=(0.03, 0.25)),
    StandinClass("farm_animal", "cattle, sheep, goats, pigs, horses, "
                 "donkeys, camels",
                 {"0ad-data": _0AD + r"actor/(fauna/animal/(cattle|horse|pig|"
                  r"sheep|camel)|fauna/death/(goat|death_camel)|mounted/death"
                  r"/death_horse)",
                  "megaglest-data": _MG + r"(commondata/sounds/(cow|pig)_|"
                  r"units/(bull|wild_sow|sheep)/sounds/)",
                  "widelands-data": _WL + r"farm/(donkey|farm_animal|horse|"
                  r"ox|sheep)",
                  "supertuxkart-data": _STK + r"tracks/(black_forest/cow|"
                  r"scotland/sheep)",
                  "scratch": _SC + r"Animal/Horse",
                  "tuxpaint-stamps-default": r"stamps/animals/mammals/.*(pig|"
                  r"cow|sheep|horse|goat|donkey|bull|ox)[^/]*\.ogg$",
                  "wesnoth-1.16-data": _WN + r"horse-",
                  "openttd-opensfx": _SFX + r"3[678]$"}),
    StandinClass("animal_call", "wild and pet mammals and frogs: wolves, "
                 "coyotes, lions, elephants, boars, deer, dogs, cats",
                 {"0ad-data": _0AD + r"(actor/fauna/animal/(elephant|lion)|"
                  r"voice/global/civ_dog)",
                  "megaglest-data": _MG + r"(units/elephant/sounds/|"
                  r"tilesets/[^/]+/sounds/wolf)",
                  "widelands-data": _WL + r"animals/(boar|coyote|frog|moose|"
                  r"stag|wolf)",
                  "wesnoth-1.16-data": _WN + r"(wolf|tusker)-",
                  "scratch": _SC + r"Animal/(Cat|Dog|Kitten|Meow|SeaLion|"
                  r"WolfHowl)",
                  "openttd-opensfx": _SFX + r"6[78]$",
                  "tuxpaint-stamps-default": r"stamps/animals/(mammals|"
                  r"amphibians|marsupials)/"}),
    StandinClass("bird", "bird calls: songbirds, chickens, ducks, owls, "
                 "eagles, tropical birds",
                 {"0ad-data": _0AD + r"actor/fauna/animal/(chicken|flamingo|"
                  r"peacock)",
                  "megaglest-data": _MG + r"(units/chicken/|units/thunderbird"
                  r"/sounds/eagle|sounds/(owl|rooster|chicken|hawk)\.)",
                  "widelands-data": _WL + r"animals/bird\d|critters/duck/",
                  "supertuxkart-data": _STK + r"sfx/exotic-birds",
                  "wesnoth-1.16-data": _WN + r"ambient/birds",
                  "scratch": _SC + r"Animal/(Bird|Duck|Goose|Owl|Rooster)",
                  "sonic-pi-samples": _SP + r"misc_crow",
                  "openttd-opensfx": _SFX + r"(66|72)$",
                  "tuxpaint-stamps-default": r"stamps/animals/birds/"}),
    StandinClass("rain", "rain and thunder",
                 {"0ad-data": _0AD + r"ambient/weather/(rain|thunder)",
                  "megaglest-data": _MG + r"tilesets/[^/]+/sounds/rain",
                  "redeclipse-data": _RE + r"ambience/morph/(rain|stormrain|"
                  r"stormbolts)",
                  "supertuxkart-data": _STK + r"sfx/(rain|thunder)\.",
                  "wesnoth-1.16-data": _WN + r"lightning\."}),
    StandinClass("wind", "wind, gusts, storms, wind in leaves",
                 {"0ad-data": _0AD + r"ambient/weather/(wind|snowstorm)",
                  "megaglest-data": _MG + r"tilesets/winter[^/]*/sounds/wind",
                  "redeclipse-data": _RE + r"ambience/(morph/)?[a-z]*wind",
                  "openttd-opensfx": _SFX + r"5[27]$"}),
    StandinClass("water", "rivers, waterfalls, waves, splashes, bubbling",
                 {"0ad-data": _0AD + r"ambient/water/",
                  "megaglest-data": _MG + r"water_sounds/",
                  "redeclipse-data": _RE + r"(ambience/(creek|river|water|"
                  r"cavedrip)|sfx/splash)",
                  "supertuxkart-data": _STK + r"sfx/(river_loop|"
                  r"waterfall_loop|splash)",
                  "scratch": _SC + r"Effects/(Bubbles|Plunge|Ripples|"
                  r"WaterDrop|WaterRunning)"}),
    StandinClass("fire", "burning fires, torches, a furnace",
                 {"0ad-data": _0AD + r"attack/fire/",
                  "redeclipse-data": _RE + r"ambience/fire",
                  "wesnoth-1.16-data": _WN + r"(ambient/campfire|(fire|torch|"
                  r"flame-big)\.)",
                  "widelands-data": _WL + r"metal/furnace",
                  "megaglest-data": _MG + r"firearrowhit"}),
    StandinClass("crowd", "crowds: markets, harbours, taverns, a "
                 "restaurant, applause",
                 {"0ad-data": _0AD + r"ambient/building/amb_(farm|port|trade)",
                  "supertuxkart-data": _STK + r"sfx/(lenautile_restaurant|"
                  r"goal_scored)",
                  "widelands-data": _WL + r"[a-z]+/taverns/",
                  "scratch": _SC + r"Human/PartyNoise",
                  "openttd-opensfx": _SFX + r"(29|30)$"}),
    StandinClass("vehicle", "engines, cars, motorcycles, trains, planes, "
                 "buses, ships",
                 {"supertuxkart-data": _STK + r"(sfx/(airplane_jetEngine|"
                  r"car_|engine_)|steamLocomotive)",
                  "scratch": _SC + r"Effects/(CarPassing|MotorcyclePassing)",
                  "0ad-data": _0AD + r"actor/ship/(ship_move|smove|"
                  r"warship_move)",
                  "redeclipse-data": _RE + r"ambience/distant_cars",
                  "openttd-opensfx": _SFX + r"(0[4-9]|10|2[4-8]|59|61|65|69|"
                  r"70|71)$"}),
    StandinClass("tools", "hand and power tools on wood, metal and stone: "
                 "chopping, sawing, chainsaws, hammering, mining, smithing, "
                 "a jackhammer",
                 {"0ad-data": _0AD + r"resource/(lumbering|mining|"
                  r"construction/)",
                  "widelands-data": _WL + r"(saw|sawmill|woodcutting|"
                  r"hammering|smiths|stonecutting|[a-z]+/cutting)/",
                  "megaglest-data": _MG + r"sounds/(anvil|worker_mine|"
                  r"worker_harvest_wood)",
                  "supertuxkart-data": _STK + r"sfx/(anvil|hammer)\.",
                  "openttd-opensfx": _SFX + r"(33|39|40|54|55|56)$"}),
    StandinClass("footsteps", "footsteps walking and running on grass, "
                 "gravel, rock, sand, snow and wood; hooves",
                 {"0ad-data": _0AD + r"actor/(singlesteps/|human/movement/|"
                  r"mounted/movement/)",
                  "scratch": _SC + r"Human/Footsteps",
                  "redeclipse-data": _RE + r"player/footstep",
                  "wesnoth-1.16-data": _WN + r"horse-(elf-)?canter"},
                 (1.0, 6.0), gaps=(0.1, 0.5)),
    StandinClass("human_vocal", "non-speech human sounds: screams, groans, "
                 "pain, laughter, coughs, sneezes, a baby crying",
                 {"0ad-data": _0AD + r"actor/human/death/",
                  "megaglest-data": _MG + r"(commondata/sounds/(archer|"
                  r"axe_thrower|guard|horseman|swordman|technician|worker)_die"
                  r"|units/(spearman|archer|fire_archer|horseman|shaman|"
                  r"stickfighter|cudgel_lady|swordman|swordman_berserk|"
                  r"spearman_berserk|fakir)/sounds/[a-z_]*_die)",
                  "redeclipse-data": _RE + r"player/(death|pain)",
                  "scratch": _SC + r"Human/(BabyCry|Cough|Laugh|Scream|"
                  r"Sneeze)",
                  "supertuxkart-data": _STK + r"sfx/(WilhelmScream|ugh)",
                  "wesnoth-1.16-data": _WN + r"((dwarf|elf|human|"
                  r"human-female|human-old)-(die|hit)|dwarf-laugh|groan|ugg|"
                  r"wail)"}),
    StandinClass("impact", "weapons and impacts: blows, sword clashes, "
                 "bows and slings, arrows striking, crashes, collapses, "
                 "explosions",
                 {"0ad-data": _0AD + r"attack/(impact|destruction|weapon|"
                  r"siege)/",
                  "megaglest-data": _MG + r"commondata/sounds/(arrow_hit|"
                  r"swordman_attack|guard_attack)",
                  "wesnoth-1.16-data": _WN + r"(axe|club|flail|fist|mace|"
                  r"sword|hatchet|explosion|cave-in)[^/]*\.(ogg|wav)$",
                  "openttd-opensfx": _SFX + r"(1[5-9]|53|58)$"}),
    StandinClass("drum", "single drum and percussion strokes (kit, tabla, "
                 "cymbals, gong) in sequence",
                 {"sonic-pi-samples": _SP + r"(drum_|tabla_|perc_(bell|"
                  r"impact|snap))",
                  "scratch": _SC + r"Percussion/"},
                 (1.0, 5.0), gaps=(0.05, 0.5)),
]

#: Ambience for the backgrounds: none of the event classes (night
#: insects, desert and cave air, machine hum).
BACKGROUND = {
    "megaglest-data": _MG + r"tilesets/[^/]+/sounds/(night|nightime|"
                      r"desertday|hell)\.",
    "wesnoth-1.16-data": _WN + r"ambient/night\.",
    "redeclipse-data": _RE + r"ambience/(hum|machine|lavarumble|"
                       r"morph/machine)",
}

#: Unlabelled audio of the distillation pool (:mod:`sed.corpora.pool`):
#: ``(package, kind, pattern)``; none of it is detection corpus material.
POOL = [
    ("ufoai-music", "music", r"0music\.pk3!"),
    ("0ad-data", "music", _0AD + r"music/"),
    ("widelands-data", "music", r"widelands/data/music/"),
    ("klettres-data", "speech", r"klettres/"),
    ("tuxpaint-stamps-default", "speech", r"tuxpaint/stamps/.*_desc_"),
    ("redeclipse-data", "ambience", _RE + r"ambience/forest"),
    ("0ad-data", "ambience", _0AD + r"ambient/dayscape/"),
    ("megaglest-data", "ambience", _MG + r"tilesets/[^/]+/sounds/(day|"
     r"sunny_day)\."),
]

#: Synthetic or unusable material, never used.
EXCLUDE = re.compile(r"(elec_|laser|magic|beep|/ui/|/interface/|silence/|"
                     r"_desc_)",
                     re.IGNORECASE)

SMALL_PACKAGES = ["openttd-opensfx", "bucklespring-data",
                  "asterisk-core-sounds-en-wav", "asterisk-moh-opsound-wav",
                  "scratch", "sonic-pi-samples"]

FULL_PACKAGES = SMALL_PACKAGES + [
    "wesnoth-1.16-data", "megaglest-data", "widelands-data",
    "ktuberling-data", "supertuxkart-data", "redeclipse-data", "0ad-data",
    "tuxpaint-stamps-default"]

#: Licence of each package's material (Debian copyright files, summarised;
#: each file's own licence is in the package's copyright file).
LICENCES = {
    "openttd-opensfx": "CC-BY-SA-3.0 (per sample: its own licence)",
    "bucklespring-data": "GPL-2+ (Ico Doornekamp)",
    "asterisk-core-sounds-en-wav": "CC-BY-SA-3.0 (Allison Smith, Digium)",
    "asterisk-moh-opsound-wav": "CC-BY-SA-3.0 (Macroform, Manolo Camp, "
                                "Reno Project)",
    "scratch": "CC-BY-SA-3.0 (Scratch media library, MIT Media Lab)",
    "sonic-pi-samples": "CC0-1.0 (most samples; a few CC-BY-SA-4.0)",
    "wesnoth-1.16-data": "GPL-2+ (The Battle for Wesnoth Project)",
    "megaglest-data": "CC-BY-SA-3.0 (MegaGlest data)",
    "widelands-data": "GPL-2+ (some CC-BY-SA-3.0)",
    "ktuberling-data": "GPL-2+ (some CC0, CC-BY)",
    "klettres-data": "GPL-2+",
    "supertuxkart-data": "CC-BY-SA-3.0, CC-BY, CC0 or PD (per file)",
    "redeclipse-data": "CC-BY-SA-3.0, CC-BY-3.0 or CC0 (per file)",
    "0ad-data": "CC-BY-SA-3.0 (Wildfire Games)",
    "tuxpaint-stamps-default": "GPL-2+ (Tux Paint stamps)",
    "ufoai-music": "GPL-2+, CC-BY-3.0, CC-BY-SA-3.0 or PD (per file)",
}


def classify(package, source_path):
    """The event class a file feeds, ``"background"``, or None.

    Example:
        >>> classify("0ad-data", "x/public.zip!audio/interface/ui/beep.ogg")
    """
    if EXCLUDE.search(source_path):
        return None
    for spec in STANDIN_CLASSES:
        pattern = spec.patterns.get(package)
        if pattern and re.search(pattern, source_path, re.IGNORECASE):
            return spec.label
    pattern = BACKGROUND.get(package)
    if pattern and re.search(pattern, source_path, re.IGNORECASE):
        return "background"
    return None


def licence(source):
    """The licence recorded for a :class:`sed.corpora.debian.SourceFile`."""
    if source.description():
        from .debian import opensfx_licence
        return opensfx_licence(source.description())
    return LICENCES[source.package]


__all__ = ["BACKGROUND", "EXCLUDE", "FULL_PACKAGES", "LICENCES", "POOL",
           "SMALL_PACKAGES", "STANDIN_CLASSES",
           "StandinClass", "classify", "licence"]
