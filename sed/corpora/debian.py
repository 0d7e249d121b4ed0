"""Real recordings from Debian packages: fetch, unpack, list, decode.

Packages are fetched without installing them: ``apt-get download`` puts the
``.deb`` in a cache folder and ``dpkg-deb --fsys-tarfile`` unpacks only its
audio files, containers and copyright files beside it. Audio inside
containers is read in place: zip archives (0 A.D.'s ``public.zip``, UFO:AI's
``0music.pk3``) and OpenTTD's OpenSFX sound bank (``opensfx.cat``).

The cache is ``$SOUNDNET_KERAS_CACHE/debian``, by default
``$XDG_CACHE_HOME/soundnet-keras/debian`` (``~/.cache/...``)::

    <cache>/debs/<package>_<version>_all.deb
    <cache>/root/<package>/usr/...        the unpacked files
    <cache>/root/<package>/.complete      written last: the version

A source file is named by ``(package, source_path)``; ``source_path`` is
relative to the package root, with ``!`` before a path inside an archive
(``usr/share/games/0ad/mods/public/public.zip!audio/ambient/...``) and
``#<index>`` after the OpenSFX bank for one of its samples.

Example:
    >>> member_path("a/b.zip", "c/d.ogg")
    'a/b.zip!c/d.ogg'
"""

import functools
import io
import os
import struct
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

import soundfile

from soundnet_keras.audio import read_waveform

AUDIO_SUFFIXES = (".wav", ".ogg", ".oga", ".flac", ".mp3")
ARCHIVE_SUFFIXES = (".zip", ".pk3")
OPENSFX_BANK = "usr/share/games/openttd/baseset/opensfx/opensfx.cat"
_EXTRACT = ["*.wav", "*.ogg", "*.oga", "*.flac", "*.mp3", "*.zip", "*.pk3",
            "*.cat", "*/copyright"]


def cache_dir():
    """The cache folder of fetched packages (see the module docstring)."""
    root = os.environ.get("SOUNDNET_KERAS_CACHE")
    if not root:
        base = os.environ.get("XDG_CACHE_HOME") or \
            os.path.join(os.path.expanduser("~"), ".cache")
        root = os.path.join(base, "soundnet-keras")
    return Path(root) / "debian"


def member_path(archive, member):
    """The ``source_path`` of a file inside an archive."""
    return f"{archive}!{member}"


def is_fetched(package, cache=None):
    """Whether a package is unpacked in the cache (nothing is fetched)."""
    cache = Path(cache) if cache else cache_dir()
    return (cache / "root" / package / ".complete").is_file()


def package_root(package, cache=None):
    """The unpacked package's folder; fetches the package if needed.

    Raises:
        RuntimeError: ``apt-get download`` or ``dpkg-deb`` failed; the
            message says what to run.
    """
    cache = Path(cache) if cache else cache_dir()
    root = cache / "root" / package
    if (root / ".complete").is_file():
        return root
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    found = sorted(debs.glob(f"{package}_*.deb"))
    if not found:
        done = subprocess.run(["apt-get", "download", "-q", package],
                              cwd=debs, capture_output=True, text=True)
        found = sorted(debs.glob(f"{package}_*.deb"))
        if done.returncode or not found:
            raise RuntimeError(
                f"Could not download the Debian package {package!r} "
                f"(apt-get download: {done.stderr.strip()[-300:]}). Run "
                "`sudo apt-get update`, check that the archive lists it "
                f"(`apt-cache policy {package}`), or put its .deb in {debs}.")
    deb = found[-1]
    tmp = root.with_name(root.name + ".partial")
    subprocess.run(["rm", "-rf", str(tmp)], check=True)
    tmp.mkdir(parents=True)
    tar = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)],
                           stdout=subprocess.PIPE)
    untar = subprocess.run(["tar", "-x", "-C", str(tmp), "--wildcards",
                            *_EXTRACT],
                           stdin=tar.stdout, capture_output=True, text=True)
    tar.stdout.close()
    if tar.wait() or untar.returncode not in (0, 2):
        raise RuntimeError(f"Could not unpack {deb}: {untar.stderr[-300:]}")
    version = deb.name.split("_")[1].replace("%3a", ":")
    (tmp / ".complete").write_text(version + "\n")
    subprocess.run(["rm", "-rf", str(root)], check=True)
    tmp.rename(root)
    return root


def package_version(package, cache=None):
    """The version of a fetched package (from its ``.complete`` marker)."""
    return (package_root(package, cache) / ".complete").read_text().strip()


@dataclass(frozen=True)
class SourceFile:
    """One audio file of a package (possibly inside an archive)."""

    package: str
    source_path: str
    root: Path

    def read_bytes(self):
        """The file's bytes."""
        path, _, member = self.source_path.partition("!")
        if member:
            return _zip(str(self.root / path)).read(member)
        path, _, index = path.partition("#")
        if index:
            return read_opensfx(self.root / path)[int(index)][1]
        return (self.root / path).read_bytes()

    def read(self, sample_rate):
        """Mono float32 samples at ``sample_rate`` (the audio policy of
        :func:`soundnet_keras.audio.read_waveform`)."""
        return read_waveform(io.BytesIO(self.read_bytes()), sample_rate,
                             name=f"{self.package}:{self.source_path}")

    def description(self):
        """An OpenSFX sample's description (title, original, author,
        licence); empty for other files."""
        path, _, index = self.source_path.partition("#")
        return read_opensfx(self.root / path)[int(index)][0] if index \
            else ""

    def info(self):
        """``soundfile.info`` of the file."""
        return soundfile.info(io.BytesIO(self.read_bytes()))


@functools.lru_cache(maxsize=8)
def _zip(path):
    return zipfile.ZipFile(path)


def list_audio(package, cache=None):
    """The package's audio files as :class:`SourceFile`, sorted by path.

    Archives (``.zip``, ``.pk3``) are listed member by member; the OpenSFX
    bank sample by sample (``#<index>``, see :meth:`SourceFile.description`).
    """
    root = package_root(package, cache)
    out = []
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(root).as_posix()
        suffix = path.suffix.lower()
        if suffix in AUDIO_SUFFIXES:
            out.append(SourceFile(package, rel, root))
        elif suffix in ARCHIVE_SUFFIXES:
            with zipfile.ZipFile(path) as archive:
                out += [SourceFile(package, member_path(rel, m), root)
                        for m in sorted(archive.namelist())
                        if m.lower().endswith(AUDIO_SUFFIXES)]
        elif rel == OPENSFX_BANK:
            out += [SourceFile(package, f"{rel}#{i:02d}", root)
                    for i, (_, wav) in enumerate(read_opensfx(path))
                    if len(wav) > 44]
    return out


_OPENSFX = {}


def read_opensfx(path):
    """OpenSFX's sound bank: ``(description, RIFF WAV bytes)`` per sample.

    The container (OpenTTD's format) starts with a table of ``(offset,
    size)`` little-endian uint32 pairs; the first offset, masked, is the
    table's size (8 bytes per entry), bit 31 of each offset flags the "new
    format". At each offset: one byte ``n``, a NUL-terminated description of
    ``n`` bytes (title, original, author, licence), then the WAV.
    """
    path = str(path)
    if path not in _OPENSFX:
        data = Path(path).read_bytes()
        count = (struct.unpack_from("<I", data, 0)[0] & 0x7FFFFFFF) // 8
        entries = []
        for i in range(count):
            offset, size = struct.unpack_from("<II", data, 8 * i)
            offset &= 0x7FFFFFFF
            n = data[offset]
            text = data[offset + 1:offset + 1 + n].rstrip(b"\0") \
                .decode("utf-8")
            entries.append((text.replace("/", "-"),
                            data[offset + 1 + n:offset + 1 + n + size]))
        _OPENSFX[path] = entries
    return _OPENSFX[path]


def opensfx_licence(description):
    """An OpenSFX sample's own licence, from its description."""
    marker = "License: "
    text = description.split(marker, 1)[1] if marker in description else ""
    own = text.strip().rstrip(".") or "see the OpenSFX readme"
    return f"{own} (OpenSFX collection: CC-BY-SA-3.0)"


def content_key(data):
    """The md5 of a file's bytes (to drop duplicates across packages)."""
    import hashlib
    return hashlib.md5(data).hexdigest()


def unseen(source, seen):
    """Whether a file's bytes are new (their md5 not in the set ``seen``,
    to which they are added)."""
    key = content_key(source.read_bytes())
    if key in seen:
        return False
    seen.add(key)
    return True


def read_cropped(source, sample_rate, crop_db=-60.0):
    """A file's samples at ``sample_rate``, cropped to its 10 ms frames
    within ``crop_db`` of its loudest (digital silence off), and the first
    sample kept."""
    from .mixer import energy_span
    x = source.read(sample_rate)
    start, stop = energy_span(x, sample_rate, crop_db)
    return x[start:stop], start


__all__ = ["SourceFile", "cache_dir", "content_key", "is_fetched",
           "list_audio",
           "read_cropped", "unseen",
           "member_path", "opensfx_licence", "package_root",
           "package_version", "read_opensfx"]
