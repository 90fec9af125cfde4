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
# tests/test_docker.py lints this file with hadolint, checks its invariants, and replays
# the builder's install steps in a fresh virtual environment.

# ---------------------------------------------------------------------------------------
# builder: a virtual environment holding the project and its dependencies
# ---------------------------------------------------------------------------------------
FROM python:3.11.14-slim-bookworm AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1

RUN python -m venv /opt/venv

WORKDIR /src
COPY pyproject.toml README.md LICENSE NOTICE ./
COPY bot/ ./bot/
COPY knowledge/ ./knowledge/

# A regular (non-editable) install, built as a wheel: the package goes to site-packages
# with the knowledge folder inside it as bot/knowledge_data/, where
# bot.config.bundled_knowledge() finds it; LICENSE and NOTICE go to its .dist-info.
RUN /opt/venv/bin/pip install --no-cache-dir /src

# ---------------------------------------------------------------------------------------
# runtime: the venv (code and knowledge), an unprivileged user; no compilers, no pip cache
# ---------------------------------------------------------------------------------------
FROM python:3.11.14-slim-bookworm AS runtime

LABEL org.opencontainers.image.title="eln-qa-bot" \
      org.opencontainers.image.description="Discord Q&A bot on the ELN's December 2020 NATO-Russia military risk-reduction recommendations" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.base.name="docker.io/library/python:3.11.14-slim-bookworm"

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
