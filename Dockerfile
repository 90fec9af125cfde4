# eln-qa-bot: a Discord bot answering questions about the ELN's December 2020
# recommendations on NATO-Russia military risk reduction.
#
#   docker build -t eln-qa-bot .
#   docker run -d --name eln-qa-bot --restart unless-stopped \
#     -e DISCORD_TOKEN_FILE=/run/secrets/discord_token \
#     -v /path/to/discord_token:/run/secrets/discord_token:ro \
#     -v eln-data:/data eln-qa-bot
#
# The token is never baked in: pass DISCORD_TOKEN at run time or, better, mount it as a
# file and point DISCORD_TOKEN_FILE at it. Moderator edits, usage records and the
# heartbeat live in the /data volume; the shipped knowledge is installed with the package
# (bot/knowledge_data/ in site-packages), owned by root and read-only to the bot.
#
# Dependencies come from requirements.lock: every package pinned, with the sha256 of every
# file of its release, installed with --require-hashes and --no-deps, so the image gets
# exactly the files that were locked, on linux/amd64 and linux/arm64 alike. After changing
# pyproject.toml's dependencies, regenerate it on Linux with CPython 3.11 (the image's
# platform) with `scripts/lock.sh` (pip-tools' pip-compile --generate-hashes; the lock's
# header says more); tests/test_lock.py fails until the two agree.
#
# The base image is pinned by tag and by the digest of the tag's multi-arch index
# (sha256:65a93d69fa75...), so every build starts from the same bytes on amd64 and arm64. The
# registry could not be reached from where this was written; the digest was taken from
# several independent public Dockerfiles that pin the same tag to it (December 2026).
# Check it where the registry is reachable with
#   docker buildx imagetools inspect python:3.11.14-slim-bookworm   (the "Digest:" line)
#
# tests/test_docker.py lints this file with hadolint, checks its invariants, and replays
# the builder's install steps in a fresh virtual environment.

# ---------------------------------------------------------------------------------------
# builder: a virtual environment holding the project and its dependencies
# ---------------------------------------------------------------------------------------
FROM python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1

RUN python -m venv /opt/venv

WORKDIR /src

# The locked dependencies and build backend first (their own layer, rebuilt only when the
# lock changes). --require-hashes refuses any file whose sha256 is not in the lock;
# --no-deps installs nothing the lock does not list. The lock's setuptools replaces the
# older one that Python 3.11's venv comes with.
COPY requirements.lock ./
RUN /opt/venv/bin/pip install --no-cache-dir --require-hashes --no-deps -r requirements.lock

COPY pyproject.toml README.md LICENSE NOTICE ./
COPY bot/ ./bot/
COPY knowledge/ ./knowledge/

# Then the project alone: a regular (non-editable) install, built as a wheel by the locked
# setuptools (--no-build-isolation: no unhashed download of a build backend). The package
# goes to site-packages with the knowledge folder inside it as bot/knowledge_data/, where
# bot.config.bundled_knowledge() finds it; LICENSE and NOTICE go to its .dist-info.
# `pip check` fails the build if the lock lacks a dependency of anything installed.
RUN /opt/venv/bin/pip install --no-cache-dir --no-deps --no-build-isolation /src \
    && /opt/venv/bin/pip check

# ---------------------------------------------------------------------------------------
# runtime: the venv (code and knowledge), an unprivileged user; no compilers, no pip cache
# ---------------------------------------------------------------------------------------
FROM python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d AS runtime

LABEL org.opencontainers.image.title="eln-qa-bot" \
      org.opencontainers.image.description="Discord Q&A bot on the ELN's December 2020 NATO-Russia military risk-reduction recommendations" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.base.name="docker.io/library/python:3.11.14-slim-bookworm" \
      org.opencontainers.image.base.digest="sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d"

# A fixed uid/gid so a bind-mounted /data can be chowned on the host (chown 10001:10001).
RUN groupadd --system --gid 10001 eln \
    && useradd --system --no-log-init --uid 10001 --gid eln \
       --home-dir /data --shell /usr/sbin/nologin eln \
    && mkdir -p /data \
    && chown eln:eln /data \
    && chmod 0750 /data

COPY --from=builder /opt/venv /opt/venv

# No ELN_KNOWLEDGE: the bot reads the knowledge installed with it. To serve another file,
# mount it and set ELN_KNOWLEDGE at run time.
ENV PATH="/opt/venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ELN_DATA_DIR=/data

WORKDIR /app
USER 10001:10001
VOLUME ["/data"]

# `eln-bot health` reads /data/heartbeat.json, which the bot rewrites every 10 s while its
# gateway connection is up; the start period covers knowledge loading and the first login.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["eln-bot", "health", "--max-age", "90"]

# Exec form: eln-bot is PID 1 and receives SIGTERM itself; run_bot() traps SIGTERM/SIGINT,
# closes the gateway and flushes usage records. It starts no child processes, so there are
# no zombies to reap and no init (tini, `docker run --init`) is needed.
STOPSIGNAL SIGTERM
ENTRYPOINT ["eln-bot"]
CMD ["run"]
